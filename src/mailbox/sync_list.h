/*
 * The account list of `tern mailbox sync --all FILE`: one account a line,
 * "LOGIN OLDLOGIN PASSWORD-FILE" separated by spaces or tabs; a '#' at the
 * start of a word begins a comment to the end of the line; blank lines
 * are skipped.  The file is the postmaster's, read with bounds all the
 * same.
 */
#ifndef TERN_SYNC_LIST_H
#define TERN_SYNC_LIST_H

#include <stddef.h>

#define SYNC_LIST_LINE_MAX 4096         /* bytes of one line */
#define SYNC_LIST_MAX 100000            /* accounts in one file */

struct sync_entry {
	char *login, *old_user, *password_file;
	unsigned line;                  /* in the file, for messages */
};

struct sync_list {
	struct sync_entry *v;
	size_t n;
};

/* Reads path into list.  0, or -1 with "PATH:LINE: reason" (or the
 * reason the file cannot be read) in err. */
int sync_list_read(const char *path, struct sync_list *list, char *err,
    size_t errlen);

/* Parses one line (NUL-terminated, without its newline): 1 with the three
 * words pointing into line (which is cut up), 0 for a blank or comment
 * line, -1 for a line with another number of words. */
int sync_list_parse_line(char *line, char **words_r);

void sync_list_free(struct sync_list *list);

#endif
