/*
 * Unit tests of queue files and Maildir delivery: envelope round trip (with
 * and without the body type and SMTPUTF8 lines, and a file written before
 * those lines existed), recipient states surviving a reload, damaged files
 * refused, reply texts in the state file kept to one field, damaged
 * states refused, queue ids,
 * Maildir paths that cannot escape state_dir, and a delivered copy with its
 * headers in front and LF line ends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "queue/queue_file.h"
#include "util/buf.h"
#include "util/durable.h"

static char *
make_tmpdir(void)
{
	char *d = strdup("/tmp/tern-test-queue.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
remove_tree(const char *d)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

/* Writes an envelope and content as smtpd does, under dir/ID. */
static void
write_message(const char *dir, struct queue_env *env, const char *content)
{
	struct buf b;
	char path[PATH_MAX];
	int fd;

	buf_init(&b, 1 << 20);
	queue_env_format(env, &b);
	assert_int_equal(buf_append(&b, content, strlen(content)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, env->id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(durable_write_all(fd, b.data, b.len), 0);
	close(fd);
	buf_free(&b);
}

static void
test_queue_id(void **state)
{
	char a[QUEUE_ID_BUF], b[QUEUE_ID_BUF];

	(void)state;
	queue_id_new(a);
	queue_id_new(b);
	assert_true(queue_id_valid(a));
	assert_string_not_equal(a, b);
	assert_false(queue_id_valid("../etc/passw"));
	assert_false(queue_id_valid("ABC"));
	assert_false(queue_id_valid(""));
}

static void
test_envelope_round_trip(void **state)
{
	char *dir = make_tmpdir(), err[512];
	struct queue_env env, got;

	(void)state;
	memset(&env, 0, sizeof(env));
	queue_id_new(env.id);
	env.created = 1700000000;
	snprintf(env.sender, sizeof(env.sender), "\"a b\"@x.test");
	snprintf(env.client, sizeof(env.client), "::1");
	queue_env_add_rcpt(&env, "Alias@Example.TEST", "alice@example.test", 0);
	queue_env_add_rcpt(&env, "Alias@Example.TEST", "bob@remote.test", 1);
	write_message(dir, &env, "Subject: x\r\n\r\nbody\r\n");

	assert_int_equal(queue_env_load(dir, env.id, &got, err, sizeof(err)), 0);
	assert_string_equal(got.id, env.id);
	assert_int_equal(got.created, 1700000000);
	assert_string_equal(got.sender, "\"a b\"@x.test");
	assert_string_equal(got.client, "::1");
	assert_int_equal(got.nrcpt, 2);
	assert_string_equal(got.rcpts[0].orig, "Alias@Example.TEST");
	assert_string_equal(got.rcpts[0].addr, "alice@example.test");
	assert_int_equal(got.rcpts[0].remote, 0);
	assert_int_equal(got.rcpts[1].remote, 1);
	assert_int_equal(got.rcpts[1].state, QUEUE_RCPT_PENDING);
	assert_int_equal(got.file_size - got.content_offset,
	    (off_t)strlen("Subject: x\r\n\r\nbody\r\n"));
	assert_int_equal(got.body_8bit, 0);
	assert_int_equal(got.smtputf8, 0);

	/* States survive a reload. */
	got.rcpts[0].state = QUEUE_RCPT_DONE;
	got.rcpts[1].state = QUEUE_RCPT_DEFERRED;
	got.rcpts[1].attempts = 3;
	got.rcpts[1].next_attempt = 1700000300;
	snprintf(got.rcpts[1].last_error, sizeof(got.rcpts[1].last_error), "try later");
	assert_int_equal(queue_state_save(dir, &got), 0);
	queue_env_free(&got);
	assert_int_equal(queue_env_load(dir, env.id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.rcpts[0].state, QUEUE_RCPT_DONE);
	assert_int_equal(got.rcpts[1].state, QUEUE_RCPT_DEFERRED);
	assert_int_equal(got.rcpts[1].attempts, 3);
	assert_int_equal(got.rcpts[1].next_attempt, 1700000300);
	assert_string_equal(got.rcpts[1].last_error, "try later");
	queue_env_free(&got);

	assert_int_equal(queue_remove(dir, env.id), 0);
	assert_int_equal(queue_env_load(dir, env.id, &got, err, sizeof(err)), -1);
	queue_env_free(&env);
	remove_tree(dir);
	free(dir);
}

/* The flags survive a round trip, and appear in the file only when set. */
static void
test_envelope_body_flags(void **state)
{
	static const struct {
		int body_8bit, smtputf8;
	} cases[] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };
	char *dir = make_tmpdir(), err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_env env, got;
		struct buf b;

		memset(&env, 0, sizeof(env));
		queue_id_new(env.id);
		snprintf(env.sender, sizeof(env.sender), "a@x.test");
		env.body_8bit = cases[i].body_8bit;
		env.smtputf8 = cases[i].smtputf8;
		queue_env_add_rcpt(&env, "b@y.test", "b@y.test", 1);

		buf_init(&b, 1 << 16);
		queue_env_format(&env, &b);
		assert_int_equal(buf_append(&b, "", 1), 0);
		if ((strstr(b.data, "\nbody\t8bitmime\n") != NULL) != env.body_8bit)
			fail_msg("case %zu: body line %s, want it %s", i,
			    env.body_8bit ? "missing" : "written",
			    env.body_8bit ? "written" : "left out");
		if ((strstr(b.data, "\nsmtputf8\n") != NULL) != env.smtputf8)
			fail_msg("case %zu: smtputf8 line %s, want it %s", i,
			    env.smtputf8 ? "missing" : "written",
			    env.smtputf8 ? "written" : "left out");
		buf_free(&b);

		write_message(dir, &env, "Subject: x\r\n\r\nbody\r\n");
		assert_int_equal(queue_env_load(dir, env.id, &got, err, sizeof(err)), 0);
		if (got.body_8bit != env.body_8bit || got.smtputf8 != env.smtputf8)
			fail_msg("case %zu: got body_8bit=%d smtputf8=%d, want %d %d",
			    i, got.body_8bit, got.smtputf8, env.body_8bit, env.smtputf8);
		assert_int_equal(got.nrcpt, 1);
		queue_env_free(&got);
		queue_env_free(&env);
	}
	remove_tree(dir);
	free(dir);
}

/* A file written before the optional lines existed: 7bit, no SMTPUTF8. */
static void
test_envelope_without_flags_loads(void **state)
{
	char *dir = make_tmpdir(), id[QUEUE_ID_BUF], path[PATH_MAX], err[512];
	struct queue_env env;
	FILE *f;

	(void)state;
	queue_id_new(id);
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "tern-queue 1\nid\t%s\ncreated\t1700000000\nfrom\ta@x.test\n"
	    "client\t127.0.0.1\nrcpt\tb@y.test\tb@y.test\tremote\n\n"
	    "Subject: old\r\n\r\nbody\r\n", id);
	assert_int_equal(fclose(f), 0);
	if (queue_env_load(dir, id, &env, err, sizeof(err)) < 0)
		fail_msg("old queue file refused: %s", err);
	assert_string_equal(env.sender, "a@x.test");
	assert_int_equal(env.nrcpt, 1);
	assert_int_equal(env.body_8bit, 0);
	assert_int_equal(env.smtputf8, 0);
	queue_env_free(&env);
	remove_tree(dir);
	free(dir);
}

static void
test_damaged_files_refused(void **state)
{
	static const char *const bad[] = {
		"tern-queue 2\nid\t%s\n\n",                     /* unknown version */
		"tern-queue 1\nid\t%s\nfrom\tx@y\n\n",          /* no recipient */
		"tern-queue 1\nid\t%s\nrcpt\ta@b\tc@d\tmoon\n\n", /* bad kind */
		"tern-queue 1\nid\t%s\nrcpt\ta@b\tc@d\tlocal\n",  /* no blank line */
		"tern-queue 1\nid\t%s\nbogus\t1\nrcpt\ta@b\tc@d\tlocal\n\n",
		"tern-queue 1\nid\t%s\nbody\tbinarymime\nrcpt\ta@b\tc@d\tlocal\n\n",
		"tern-queue 1\nid\t%s\nbody\nrcpt\ta@b\tc@d\tlocal\n\n",
		"tern-queue 1\nid\t%s\nsmtputf8\tyes\nrcpt\ta@b\tc@d\tlocal\n\n",
	};
	char *dir = make_tmpdir(), id[QUEUE_ID_BUF], path[PATH_MAX], err[512];
	struct queue_env env;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		queue_id_new(id);
		snprintf(path, sizeof(path), "%s/%s", dir, id);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, bad[i], id);
		fclose(f);
		if (queue_env_load(dir, id, &env, err, sizeof(err)) == 0)
			fail_msg("case %zu: damaged file loaded; want an error", i);
		if (strstr(err, "damaged") == NULL)
			fail_msg("case %zu: got error '%s', want 'damaged'", i, err);
	}
	remove_tree(dir);
	free(dir);
}

/* A message with two recipients in dir; its id in id. */
static void
write_two_rcpts(const char *dir, char id[QUEUE_ID_BUF])
{
	struct queue_env env;

	memset(&env, 0, sizeof(env));
	queue_id_new(env.id);
	snprintf(env.sender, sizeof(env.sender), "a@x.test");
	queue_env_add_rcpt(&env, "b@y.test", "b@y.test", 1);
	queue_env_add_rcpt(&env, "c@y.test", "c@y.test", 1);
	write_message(dir, &env, "Subject: x\r\n\r\nbody\r\n");
	memcpy(id, env.id, QUEUE_ID_BUF);
	queue_env_free(&env);
}

static void
write_state(const char *dir, const char *id, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.state", dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A reply text with tabs, CR and LF (a server's, or our own reason) is
 * written as one field of one line: it cannot add or change the state
 * of another recipient. */
static void
test_state_reply_cleaned(void **state)
{
	char *dir = make_tmpdir(), id[QUEUE_ID_BUF], err[512];
	struct queue_env got;

	(void)state;
	write_two_rcpts(dir, id);
	assert_int_equal(queue_env_load(dir, id, &got, err, sizeof(err)), 0);
	got.rcpts[0].state = QUEUE_RCPT_DEFERRED;
	got.rcpts[0].attempts = 1;
	got.rcpts[0].next_attempt = 1700000300;
	snprintf(got.rcpts[0].last_error, sizeof(got.rcpts[0].last_error),
	    "451 a\tb\r\n1\tdone\t0\t0\tforged\x7f\x1b[2J");
	assert_int_equal(queue_state_save(dir, &got), 0);
	queue_env_free(&got);
	assert_int_equal(queue_env_load(dir, id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.rcpts[0].state, QUEUE_RCPT_DEFERRED);
	assert_string_equal(got.rcpts[0].last_error,
	    "451 a b  1 done 0 0 forged  [2J");
	if (got.rcpts[1].state != QUEUE_RCPT_PENDING)
		fail_msg("the reply text of recipient 0 changed recipient 1: %s",
		    queue_rcpt_state_name(got.rcpts[1].state));
	queue_env_free(&got);

	/* Written by hand (or by an older tern): cleaned when read. */
	write_state(dir, id, "0\tdeferred\t1700000300\t2\t451 a\tb\rc\n");
	assert_int_equal(queue_env_load(dir, id, &got, err, sizeof(err)), 0);
	assert_int_equal(got.rcpts[0].attempts, 2);
	assert_string_equal(got.rcpts[0].last_error, "451 a b c");
	queue_env_free(&got);
	remove_tree(dir);
	free(dir);
}

static void
test_damaged_state_refused(void **state)
{
	static const char *const bad[] = {
		"2\tdone\t0\t0\tx\n",               /* no such recipient */
		"-1\tdone\t0\t0\tx\n",
		"0\tgone\t0\t0\tx\n",
		"0\tdeferred\tsoon\t0\tx\n",
		"0\tdeferred\t-5\t0\tx\n",
		"0\tdeferred\t5\t\tx\n",
		"0\tdeferred\t5\t99999999999\tx\n",
		"0\tdeferred\t5\t1 \tx\n",
		"0\tdeferred\t5\t1\n",               /* four fields */
	};
	char *dir = make_tmpdir(), id[QUEUE_ID_BUF], err[512];
	struct queue_env env;

	(void)state;
	write_two_rcpts(dir, id);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_state(dir, id, bad[i]);
		if (queue_env_load(dir, id, &env, err, sizeof(err)) == 0) {
			queue_env_free(&env);
			fail_msg("case %zu: damaged state loaded; want an error", i);
		}
		if (strstr(err, "damaged") == NULL)
			fail_msg("case %zu: got error '%s', want 'damaged'", i, err);
	}
	remove_tree(dir);
	free(dir);
}

static void
test_maildir_path(void **state)
{
	static const struct {
		const char *mailbox, *want;
	} cases[] = {
		{ "alice@example.test", "/s/mail/example.test/alice" },
		{ "Alice@Example.TEST", "/s/mail/example.test/alice" },
		{ "a/b@example.test", "/s/mail/example.test/a%2Fb" },
		{ "..@example.test", "/s/mail/example.test/%2E." },
		{ ".hidden@example.test", "/s/mail/example.test/%2Ehidden" },
		{ "\"a b\"@example.test", "/s/mail/example.test/%22a%20b%22" },
	};
	char out[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(maildir_path("/s", cases[i].mailbox, out, sizeof(out)), 0);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].mailbox, out, cases[i].want);
	}
	assert_int_equal(maildir_path("/s", "nodomain", out, sizeof(out)), -1);
	assert_int_equal(maildir_path("/s", "a@b.test", out, 12), -1);
}

static void
test_maildir_deliver(void **state)
{
	char *dir = make_tmpdir(), src[PATH_MAX], md[PATH_MAX], err[256], buf[256];
	struct maildir_batch *batch = maildir_batch_new();
	const char content[] = "Subject: x\r\n\r\nline 1\r\nline 2\r\n";
	struct dirent *de;
	int fd;

	(void)state;
	snprintf(src, sizeof(src), "%s/src", dir);
	fd = open(src, O_RDWR | O_CREAT, 0600);
	assert_int_equal(durable_write_all(fd, "ENVELOPE\n", 9), 0);
	assert_int_equal(durable_write_all(fd, content, sizeof(content) - 1), 0);
	snprintf(md, sizeof(md), "%s/mail/example.test/alice", dir);
	int ok = -1;
	assert_int_equal(maildir_deliver(md, "Delivered-To: alice@example.test\n", 33,
	    fd, 9, (off_t)(9 + sizeof(content) - 1), batch, &ok, err,
	    sizeof(err)), 0);
	assert_int_equal(ok, 0);        /* not before the commit */
	assert_int_equal(maildir_batch_commit(batch), 0);
	assert_int_equal(ok, 1);
	close(fd);

	char newdir[PATH_MAX + 8];
	snprintf(newdir, sizeof(newdir), "%s/new", md);
	DIR *d = opendir(newdir);
	assert_non_null(d);
	int n = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char p[PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/%s", newdir, de->d_name);
		FILE *f = fopen(p, "r");
		assert_non_null(f);
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		buf[len] = '\0';
		fclose(f);
		assert_string_equal(buf, "Delivered-To: alice@example.test\n"
		    "Subject: x\n\nline 1\nline 2\n");
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	maildir_batch_free(&batch);
	remove_tree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_id),
		cmocka_unit_test(test_envelope_round_trip),
		cmocka_unit_test(test_envelope_body_flags),
		cmocka_unit_test(test_envelope_without_flags_loads),
		cmocka_unit_test(test_damaged_files_refused),
		cmocka_unit_test(test_state_reply_cleaned),
		cmocka_unit_test(test_damaged_state_refused),
		cmocka_unit_test(test_maildir_path),
		cmocka_unit_test(test_maildir_deliver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
