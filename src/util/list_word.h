/*
 * The words of a list setting (listen addresses, networks, access
 * lists): separated by commas, blanks or tabs, in any mix.
 */
#ifndef TERN_LIST_WORD_H
#define TERN_LIST_WORD_H

#include <stddef.h>

/* The next word of *list into word (size bytes), *list moved past it.
 * 1: a word; 0: the end; -1: a word too long (cut to fit, still
 * terminated, and skipped). */
int list_word(const char **list, char *word, size_t size);

#endif
