/*
 * libFuzzer harness for end-of-message changes (plugin/msg_edit.c): the
 * names, values, indexes and addresses come from milters and filters,
 * programs outside tern.  The input is a list of changes, one per line
 * (`OP INDEX NAME VALUE`, fields split at the first spaces), a NUL, then the
 * message (its header and body).  Checks that every change is taken or
 * refused without a crash, and that the rewritten message never holds a
 * line that is not CRLF-terminated inside its header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plugin/msg_edit.h"
#include "queue/queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_change(struct msg_edits *e, char *line)
{
	char *op = line, *index, *name, *value;

	if ((index = strchr(op, ' ')) == NULL)
		return;
	*index++ = '\0';
	if ((name = strchr(index, ' ')) == NULL)
		return;
	*name++ = '\0';
	value = strchr(name, ' ');
	if (value != NULL)
		*value++ = '\0';
	size_t n = strtoul(index, NULL, 10) % 64;
	switch (op[0]) {
	case 'a': (void)msg_edit_header_add(e, name, value ? value : ""); break;
	case 'i': (void)msg_edit_header_insert(e, n, name, value ? value : ""); break;
	case 'c': (void)msg_edit_header_change(e, n, name, value); break;
	case 's': (void)msg_edit_sender(e, name, value); break;
	case 'r': (void)msg_edit_rcpt_add(e, name, value); break;
	case 'd': (void)msg_edit_rcpt_delete(e, name); break;
	case 'b': (void)msg_edit_body(e, name, strlen(name)); break;
	case 'B': msg_edits_body_restart(e); break;
	}
}

/* Every header line of the result ends in CRLF, up to the blank line. */
static void
check_header(int fd)
{
	char buf[1 << 16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *p;

	if (n < 0)
		abort();
	buf[n] = '\0';
	if ((p = strstr(buf, "\n\n")) == NULL)
		abort();        /* the envelope always ends so */
	for (p += 2; *p != '\0'; p++) {
		if (*p == '\n' && p[-1] != '\r')
			abort();
		if (*p == '\n' && p[1] == '\r' && p[2] == '\n')
			break;
	}
}

/* The message as smtpd writes it: CRLF line ends only. */
static void
write_message(int fd, const uint8_t *p, size_t n)
{
	char *m = malloc(2 * n + 1);
	size_t len = 0;

	if (m == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n')
			m[len++] = '\r';
		m[len++] = p[i] == '\r' ? ' ' : (char)p[i];
	}
	if (write(fd, m, len) != (ssize_t)len)
		abort();
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct queue_env env;
	struct msg_edits *e;
	char *changes, *line, *save;
	size_t nchanges;
	int in, out;

	if (nul == NULL)
		return 0;
	nchanges = (size_t)(nul - data);
	memset(&env, 0, sizeof(env));
	snprintf(env.id, sizeof(env.id), "FZZ2345BCDFG");
	queue_env_add_rcpt(&env, "a@b", "a@b", 0);
	if ((in = memfd_create("in", 0)) < 0 || (out = memfd_create("out", 0)) < 0)
		abort();
	write_message(in, nul + 1, size - nchanges - 1);
	e = msg_edits_new(1 << 16);
	changes = strndup((const char *)data, nchanges);
	for (line = strtok_r(changes, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		one_change(e, line);
	/* Recipients added are left unresolved: they add nothing. */
	if (msg_edits_apply(e, &env, in, 0, 0, out, 1 << 16) == 0) {
		/* The message given holds no envelope: only the header's
		 * CRLF discipline is checked, after the new envelope. */
		check_header(out);
	}
	free(changes);
	msg_edits_free(e);
	queue_env_free(&env);
	close(in);
	close(out);
	return 0;
}
