/*
 * The two files of a Maildir++ tree that Dovecot keeps beside the mail
 * and the importer must add to: a folder's dovecot-keywords (which name
 * each keyword letter a-z stands for) and the root's subscriptions.  Both
 * are changed the way Dovecot changes them, under its dotlock: FILE.lock
 * made with O_EXCL, the whole new content written into it, then renamed
 * over FILE, so that Dovecot, running beside us, never reads half a file
 * nor writes over our change.
 */
#ifndef TERN_MAILDIR_META_H
#define TERN_MAILDIR_META_H

#include <stddef.h>

#define MDMETA_KEYWORDS 26      /* letters a-z */
#define MDMETA_KEYWORD_MAX 128  /* bytes of a keyword's name */

struct mdmeta_keywords {
	char name[MDMETA_KEYWORDS][MDMETA_KEYWORD_MAX + 1];    /* "" unused */
};

/* Parses a dovecot-keywords file's content ("N NAME" lines); lines that
 * are not such (a bad index, a name that is not an IMAP atom) are left
 * out. */
void mdmeta_keywords_parse(const char *text, size_t len,
    struct mdmeta_keywords *kw);

/* Reads dovecot-keywords in the folder open as dirfd (not following a
 * symbolic link); a missing file is no keywords.  0, or -1 (errno). */
int mdmeta_keywords_read(int dirfd, struct mdmeta_keywords *kw);

/* Gives each keyword of src whose letter is in used (bit i: letter 'a'+i)
 * a letter in the target folder's dovecot-keywords: the one its name has
 * there, else the first free one, written into the file.  map_r[i] is the
 * target letter for source letter 'a'+i, or 0 when it is dropped (no name
 * in the source, or all 26 letters taken); *dropped_r counts the dropped
 * letters among used.  0, or -1 (errno) when the file cannot be updated. */
int mdmeta_keywords_merge(const char *folder, const struct mdmeta_keywords *src,
    unsigned used, char map_r[MDMETA_KEYWORDS], unsigned *dropped_r);

/* Adds the names (as mdname_folder_subscription writes them) to
 * MAILDIR/subscriptions (version 2, as Dovecot 2.3 writes it), those not
 * there yet.  1 if the file is in the old version-1 form (left alone), 0
 * done, -1 (errno) on error. */
int mdmeta_subscribe(const char *maildir, char *const *names, size_t n);

#endif
