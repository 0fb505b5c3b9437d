/*
 * Unit tests of end-of-message changes: Postfix's index rules (insert
 * counts tern's Received, change does not), delete, change past the last
 * field adds one, folded values written with CRLF, malformed names and
 * values refused, the envelope's sender and recipients changed in order,
 * a new body with its line ends made CRLF, and the old body kept
 * byte for byte otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/directory.h"
#include "plugin/msg_edit.h"
#include "queue/queue_file.h"
#include "util/buf.h"

#define PREPEND  "X-Prepended: yes\r\n"
#define RECEIVED "Received: from x ([127.0.0.1])\r\n\tby tern; now\r\n"
#define HEADER   "From: a@example.org\r\nX-A: 1\r\nSubject: hi\r\nX-A: 2\r\n"
#define BODY     "line 1\r\n.line 2\r\n"

struct fx {
	struct queue_env env;
	struct msg_edits *e;
	int in, out;
	off_t header_at;
	char in_path[64], out_path[64];
	char result[8192];
};

/* A queue file: envelope, then PREPEND (field 0), RECEIVED (field 1, tern's
 * own), HEADER, the blank line, BODY. */
static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct buf b;

	if (fx == NULL)
		return -1;
	snprintf(fx->env.id, sizeof(fx->env.id), "ABCDEFGHJK");
	snprintf(fx->env.sender, sizeof(fx->env.sender), "a@example.org");
	queue_env_add_rcpt(&fx->env, "b@example.org", "b@example.org", 0);
	queue_env_add_rcpt(&fx->env, "c@example.net", "c@example.net", 1);
	buf_init(&b, 1 << 20);
	queue_env_format(&fx->env, &b);
	fx->header_at = (off_t)b.len;
	if (buf_appendf(&b, "%s%s%s\r\n%s", PREPEND, RECEIVED, HEADER, BODY) < 0)
		return -1;
	snprintf(fx->in_path, sizeof(fx->in_path), "/tmp/tern-edit-in.XXXXXX");
	snprintf(fx->out_path, sizeof(fx->out_path), "/tmp/tern-edit-out.XXXXXX");
	if ((fx->in = mkstemp(fx->in_path)) < 0 ||
	    (fx->out = mkstemp(fx->out_path)) < 0 ||
	    write(fx->in, b.data, b.len) != (ssize_t)b.len)
		return -1;
	buf_free(&b);
	fx->e = msg_edits_new(1 << 20);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	msg_edits_free(fx->e);
	queue_env_free(&fx->env);
	close(fx->in);
	close(fx->out);
	unlink(fx->in_path);
	unlink(fx->out_path);
	free(fx);
	return 0;
}

/* Applies the edits; the result's message part (after the envelope) in
 * fx->result, the envelope in env. */
static void
apply(struct fx *fx)
{
	ssize_t n;
	char *blank;

	assert_int_equal(msg_edits_apply(fx->e, &fx->env, fx->in,
	    fx->header_at, 1, fx->out, 1 << 20), 0);
	n = pread(fx->out, fx->result, sizeof(fx->result) - 1, 0);
	assert_true(n > 0);
	fx->result[n] = '\0';
	/* The envelope ends with its own blank line (LF only). */
	blank = strstr(fx->result, "\n\n");
	assert_non_null(blank);
	memmove(fx->result, blank + 2, strlen(blank + 2) + 1);
}

static void
test_nothing_changes_nothing(void **state)
{
	struct fx *fx = *state;

	apply(fx);
	assert_string_equal(fx->result, PREPEND RECEIVED HEADER "\r\n" BODY);
}

static void
test_insert_counts_our_received(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(msg_edit_header_insert(fx->e, 0, "DKIM-Signature",
	    "v=1; a=rsa-sha256;\n\tb=xyz"), 0);
	assert_int_equal(msg_edit_header_insert(fx->e, 3, "X-Three", "3"), 0);
	apply(fx);
	assert_string_equal(fx->result,
	    "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=xyz\r\n" PREPEND RECEIVED
	    "X-Three: 3\r\n" HEADER "\r\n" BODY);
}

static void
test_change_skips_our_received(void **state)
{
	struct fx *fx = *state;

	/* The first Received is tern's own: change 1 adds, as there is
	 * no other. */
	assert_int_equal(msg_edit_header_change(fx->e, 2, "x-a", "two"), 0);
	assert_int_equal(msg_edit_header_change(fx->e, 1, "Received", "new"), 0);
	assert_int_equal(msg_edit_header_change(fx->e, 1, "Subject", NULL), 0);
	apply(fx);
	assert_string_equal(fx->result, PREPEND RECEIVED
	    "From: a@example.org\r\nX-A: 1\r\nx-a: two\r\n"
	    "Received: new\r\n\r\n" BODY);
}

static void
test_add_goes_last_and_leading_space_kept(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(msg_edit_header_add(fx->e, "X-Spam", " yes"), 0);
	apply(fx);
	assert_string_equal(fx->result, PREPEND RECEIVED HEADER
	    "X-Spam: yes\r\n\r\n" BODY);
}

static void
test_malformed_changes_refused(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(msg_edit_header_add(fx->e, "Bad Name", "v"), -1);
	assert_int_equal(msg_edit_header_add(fx->e, "", "v"), -1);
	assert_int_equal(msg_edit_header_add(fx->e, "X", "a\nInjected: 1"), -1);
	assert_int_equal(msg_edit_header_add(fx->e, "X", "a\rb"), -1);
	assert_int_equal(msg_edit_rcpt_add(fx->e, "<a b@c>", ""), -1);
	assert_int_equal(msg_edit_rcpt_add(fx->e, "<>", ""), -1);
	assert_int_equal(msg_edits_count(fx->e), 0);
}

static void
test_envelope_changes_in_order(void **state)
{
	struct fx *fx = *state;
	const char *t[] = { "d@example.org" };
	const int remote[] = { 0 };
	size_t i = 0;

	assert_int_equal(msg_edit_sender(fx->e, "<bounce@example.org>", ""), 0);
	assert_int_equal(msg_edit_rcpt_add(fx->e, "<d@example.org>", ""), 0);
	assert_int_equal(msg_edit_rcpt_delete(fx->e, "<B@example.org>"), 0);
	assert_string_equal(msg_edits_rcpt_added(fx->e, &i), "d@example.org");
	msg_edits_resolved(fx->e, i, 0, t, remote, 1);
	i++;
	assert_null(msg_edits_rcpt_added(fx->e, &i));
	apply(fx);
	assert_string_equal(fx->env.sender, "bounce@example.org");
	assert_int_equal(fx->env.nrcpt, 2);
	assert_string_equal(fx->env.rcpts[0].addr, "d@example.org");
	assert_string_equal(fx->env.rcpts[1].addr, "c@example.net");
}

static void
test_body_replaced_with_crlf(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(msg_edit_body(fx->e, "old\n", 4), 0);
	msg_edits_body_restart(fx->e);
	assert_int_equal(msg_edit_body(fx->e, "new\nbo", 6), 0);
	assert_int_equal(msg_edit_body(fx->e, "dy\r\n", 4), 0);
	apply(fx);
	assert_string_equal(fx->result, PREPEND RECEIVED HEADER
	    "\r\nnew\r\nbody\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_counts_our_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_skips_our_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_goes_last_and_leading_space_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_changes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_changes_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_replaced_with_crlf, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
