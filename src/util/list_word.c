/*
 * The words of a list setting: see list_word.h.
 */
#include "util/list_word.h"

#include <string.h>

#define LIST_WORD_SEPS ", \t"

int
list_word(const char **list, char *word, size_t size)
{
	const char *p = *list + strspn(*list, LIST_WORD_SEPS);
	size_t n = strcspn(p, LIST_WORD_SEPS);

	*list = p + n;
	if (n == 0)
		return 0;
	if (n >= size) {
		memcpy(word, p, size - 1);
		word[size - 1] = '\0';
		return -1;
	}
	memcpy(word, p, n);
	word[n] = '\0';
	return 1;
}
