/*
 * The names in a Maildir++ tree, as the importer reads them from a tree it
 * does not trust (a copy of another server's mailboxes): folder names
 * (".Sent", ".Lists.tern") and message file names ("BASE:2,FLAGS", where
 * BASE may carry Dovecot's ",S=size" and ",W=vsize" fields).  Pure
 * functions: no file is touched here.
 */
#ifndef TERN_MAILDIR_NAME_H
#define TERN_MAILDIR_NAME_H

#include <stddef.h>
#include <sys/types.h>

#define MDNAME_MAX 255          /* bytes of one file name (NAME_MAX) */

/* 1 if name is a Maildir++ folder we take: a leading '.', then one or
 * more non-empty components separated by '.', no '/', no control bytes,
 * nothing that could leave the Maildir ("..", "." alone).  0 otherwise. */
int mdname_folder_ok(const char *name);

/* The folder as Dovecot's subscriptions file (version 2) names it: the
 * leading '.' dropped and each '.' written as a TAB.  0, or -1 if it does
 * not fit in out. */
int mdname_folder_subscription(const char *folder, char *out, size_t outlen);

struct mdname_msg {
	char base[MDNAME_MAX + 1];      /* before the ':' */
	char flags[8];          /* of D F P R S T, in ASCII order, once each */
	char keywords[27];      /* letters a-z, in order, once each */
	int has_info;           /* the name had a ":2," part */
};

/* Takes a message file name apart.  Info other than ":2,..." is dropped
 * (experimental ":1," semantics); within ":2," only the standard flags
 * DFPRST and the keyword letters a-z are kept.  0, or -1 for a name that
 * is not a message (empty, leading '.', '/', control bytes, too long). */
int mdname_msg_parse(const char *name, struct mdname_msg *m);

/* The key that says "the same message" across runs: the base with the
 * ",S=" and ",W=" fields taken out, so that a copy whose size fields were
 * corrected still matches its source.  0, or -1 if it does not fit. */
int mdname_msg_key(const char *base, char *out, size_t outlen);

/* base as the copy should be named, given the copy's real size: unchanged
 * when it has no ",S=" or the one it has is right; otherwise without its
 * ",S=" and ",W=" fields (Dovecot would trust a wrong size).  0, or -1 if
 * it does not fit. */
int mdname_msg_fix_size(const char *base, off_t size, char *out,
    size_t outlen);

/* The file name of a copy: base, then ":2," and the flags and keywords
 * when the source had info or the copy goes into cur/.  0, or -1 if it
 * does not fit. */
int mdname_msg_name(const char *base, const char *flags, const char *keywords,
    int with_info, char *out, size_t outlen);

#endif
