/*
 * Unit tests of the policy delegation protocol's pure part: the request
 * as Postfix writes it, a value with a newline refused, the reply read a
 * line (and a byte) at a time with its bounds, and each action turned
 * into the reply Postfix's check_table_result() would give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plugin/plugin.h"
#include "plugin/policy_conf.h"
#include "plugin/policy_conn.h"
#include "plugin/policy_proto.h"
#include "util/buf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_request(void **state)
{
	struct policy_request rq = {
		.protocol_state = "RCPT", .protocol_name = "ESMTP",
		.client_address = "192.0.2.1", .client_name = "unknown",
		.client_port = 4321, .reverse_client_name = "unknown",
		.server_address = "127.0.0.1", .server_port = 25,
		.helo_name = "mx.example.org", .queue_id = "ABC",
		.sender = "a@example.org", .recipient = "b@example.net",
		.instance = "1.2.3.4", .size = 1234, .stress = "",
	};
	const char *bad = NULL;
	struct buf b;

	(void)state;
	buf_init(&b, POLICY_REQUEST_MAX);
	assert_int_equal(policy_request_format(&rq, &b, &bad), 0);
	assert_non_null(strstr(b.data, "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\nprotocol_name=ESMTP\n"
	    "client_address=192.0.2.1\nclient_name=unknown\n"
	    "client_port=4321\nreverse_client_name=unknown\n"
	    "server_address=127.0.0.1\nserver_port=25\n"
	    "helo_name=mx.example.org\nqueue_id=ABC\n"
	    "sender=a@example.org\nrecipient=b@example.net\n"
	    "recipient_count=0\ninstance=1.2.3.4\nsize=1234\n"
	    "etrn_domain=\nstress=\nsasl_method=\n"));
	assert_non_null(strstr(b.data, "encryption_keysize=0\n"
	    "policy_context=\n\n"));
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_int_equal(b.data[b.len - 2], '\n');
	assert_null(strstr(b.data, "\n\n\n"));

	buf_reset(&b);
	rq.helo_name = "evil\nrecipient=x@y";
	assert_int_equal(policy_request_format(&rq, &b, &bad), -1);
	assert_string_equal(bad, "helo_name");
	buf_free(&b);
}

/* Feeds text split at LF, as policy_conn.c does; the result of the last
 * line fed. */
static int
feed(struct policy_reply *r, const char *text, const char **why)
{
	int rc = 0;

	policy_reply_init(r);
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		rc = policy_reply_line(r, text, len, why);
		if (rc != 0)
			return rc;
		text += len + (nl != NULL);
	}
	return rc;
}

static void
test_reply(void **state)
{
	struct policy_reply r;
	const char *why = NULL;
	char big[POLICY_LINE_MAX + 16];

	(void)state;
	assert_int_equal(feed(&r, "action=DUNNO\n\n", &why), 1);
	assert_string_equal(r.action, "DUNNO");
	assert_int_equal(feed(&r, "x=1\naction=REJECT no\naction=OK\n\n",
	    &why), 1);
	assert_string_equal(r.action, "REJECT no");
	assert_int_equal(feed(&r, "action=OK\n", &why), 0);
	assert_int_equal(feed(&r, "\n", &why), -1);
	assert_string_equal(why, "reply without action");
	assert_int_equal(feed(&r, "garbage\n\n", &why), -1);
	assert_int_equal(feed(&r, "=x\n\n", &why), -1);

	memset(big, 'a', sizeof(big));
	memcpy(big, "action=", 7);
	assert_int_equal(policy_reply_line(&r, big, POLICY_LINE_MAX, &why), -1);
	assert_string_equal(why, "reply line too long");
	policy_reply_init(&r);
	assert_int_equal(policy_reply_line(&r, big, POLICY_LINE_MAX - 1, &why),
	    0);
	assert_int_equal(strlen(r.action), POLICY_LINE_MAX - 8);

	policy_reply_init(&r);
	for (int i = 0; i < POLICY_ATTRS_MAX; i++)
		assert_int_equal(policy_reply_line(&r, "a=b", 3, &why), 0);
	assert_int_equal(policy_reply_line(&r, "a=b", 3, &why), -1);
	assert_string_equal(why, "too many reply attributes");
	policy_reply_init(&r);
	assert_int_equal(policy_reply_line(&r, "action=O\0K", 10, &why), -1);
}

static void
test_actions(void **state)
{
	static const struct {
		const char *action, *name, *class;
		enum policy_act act;
		const char *reply;
	} cases[] = {
		{ "DUNNO", "b@x", "Recipient address", POLICY_ACT_DUNNO, "" },
		{ "dunno extra", "b@x", "Recipient address", POLICY_ACT_DUNNO, "" },
		{ "OK", "b@x", "Recipient address", POLICY_ACT_OK, "" },
		{ "12345", "b@x", "Recipient address", POLICY_ACT_OK, "" },
		{ "450", "b@x", "Recipient address", POLICY_ACT_OK, "" },
		{ "REJECT", "b@x", "Recipient address", POLICY_ACT_REPLY,
		  "554 5.7.1 <b@x>: Recipient address rejected: Access denied" },
		{ "reject go away", "a@x", "Sender address", POLICY_ACT_REPLY,
		  "554 5.7.1 <a@x>: Sender address rejected: go away" },
		{ "REJECT 5.1.1 no such", "a@x", "Sender address",
		  POLICY_ACT_REPLY,
		  "554 5.1.0 <a@x>: Sender address rejected: no such" },
		{ "DEFER later", "b@x", "Recipient address", POLICY_ACT_REPLY,
		  "450 4.7.1 <b@x>: Recipient address rejected: later" },
		{ "DEFER_IF_PERMIT 4.2.0 Greylisted, see x", "b@x",
		  "Recipient address", POLICY_ACT_REPLY,
		  "450 4.2.0 <b@x>: Recipient address rejected: Greylisted, see x" },
		{ "DEFER_IF_PERMIT", "b@x", "Recipient address", POLICY_ACT_REPLY,
		  "450 4.7.1 <b@x>: Recipient address rejected: "
		  "Service unavailable" },
		{ "DEFER_IF_REJECT why", "b@x", "Recipient address",
		  POLICY_ACT_DEFER_IF_REJECT, "" },
		{ "550 5.1.1 gone", "b@x", "Recipient address", POLICY_ACT_REPLY,
		  "550 5.1.1 <b@x>: Recipient address rejected: gone" },
		{ "550 4.7.0 wrong class", "b@x", "Recipient address",
		  POLICY_ACT_REPLY,
		  "550 5.7.0 <b@x>: Recipient address rejected: wrong class" },
		{ "452 too many", "b@x", "Recipient address", POLICY_ACT_REPLY,
		  "452 4.7.1 <b@x>: Recipient address rejected: too many" },
		{ "550 5.1.1 helo", "h.example", "Helo command", POLICY_ACT_REPLY,
		  "550 5.0.0 <h.example>: Helo command rejected: helo" },
		{ "421 bye now", "unknown[192.0.2.1]", "Client host",
		  POLICY_ACT_CLOSE,
		  "421 4.7.1 <unknown[192.0.2.1]>: Client host rejected: bye now" },
		{ "521 5.7.0 go", "DATA", "Data command", POLICY_ACT_CLOSE,
		  "521 5.7.0 <DATA>: Data command rejected: go" },
		{ "REJECT bad\001byte\xff", "b@x", "Recipient address",
		  POLICY_ACT_REPLY,
		  "554 5.7.1 <b@x>: Recipient address rejected: bad?byte?" },
		{ "HOLD", "b@x", "Recipient address", POLICY_ACT_HOLD, "" },
		{ "DISCARD spam", "b@x", "Recipient address", POLICY_ACT_DISCARD, "" },
		{ "PREPEND X-Greylist: delayed 3 seconds", "b@x",
		  "Recipient address", POLICY_ACT_PREPEND, "" },
		{ "PREPEND not a header", "b@x", "Recipient address",
		  POLICY_ACT_UNSUPPORTED, "" },
		{ "PREPEND X-A: b\rX-Evil: c", "b@x", "Recipient address",
		  POLICY_ACT_UNSUPPORTED, "" },
		{ "PREPEND X-A:\tb", "b@x", "Recipient address",
		  POLICY_ACT_PREPEND, "" },
		{ "WARN look", "b@x", "Recipient address", POLICY_ACT_WARN, "" },
		{ "INFO note", "b@x", "Recipient address", POLICY_ACT_INFO, "" },
		{ "FILTER smtp:x", "b@x", "Recipient address",
		  POLICY_ACT_UNSUPPORTED, "" },
		{ "", "b@x", "Recipient address", POLICY_ACT_UNSUPPORTED, "" },
		{ "350 odd", "b@x", "Recipient address", POLICY_ACT_UNSUPPORTED, "" },
	};
	struct policy_action a;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		policy_action_eval(cases[i].action, cases[i].name,
		    cases[i].class, &a);
		if (a.act != cases[i].act)
			fail_msg("%s: got %s, want %s", cases[i].action,
			    policy_act_name(a.act),
			    policy_act_name(cases[i].act));
		if (strcmp(a.reply, cases[i].reply) != 0)
			fail_msg("%s: got reply '%s', want '%s'",
			    cases[i].action, a.reply, cases[i].reply);
	}
	policy_action_eval("PREPEND X-Greylist: delayed", "b", "c", &a);
	assert_string_equal(a.text, "X-Greylist: delayed");
	policy_action_eval("HOLD", "b", "c", &a);
	assert_string_equal(a.text, "triggers HOLD action");
}

static void
test_long_reply(void **state)
{
	char action[POLICY_LINE_MAX];
	struct policy_action a;

	(void)state;
	memset(action, 'x', sizeof(action) - 1);
	action[sizeof(action) - 1] = '\0';
	memcpy(action, "REJECT ", 7);
	policy_action_eval(action, "b@x", "Recipient address", &a);
	assert_int_equal(a.act, POLICY_ACT_REPLY);
	assert_int_equal(strlen(a.reply), POLICY_SMTP_REPLY_MAX);
}

static void
test_settings(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(policy_services_check("", why, sizeof(why)), 0);
	assert_int_equal(policy_services_check("inet:127.0.0.1:10023, "
	    "inet:[::1]:10023 unix:/run/policy inet:localhost:1", why,
	    sizeof(why)), 0);
	assert_int_equal(policy_services_check("inet:127.0.0.1", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_services_check("inet:127.0.0.1:0", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_services_check("inet:127.0.0.1:65536", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_services_check("inet:[::1:25", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_services_check("unix:relative/path", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_services_check("tcp:1.2.3.4:5", why,
	    sizeof(why)), -1);
	assert_int_equal(policy_stages_mask("rcpt"), 1u << PLUGIN_RCPT);
	assert_int_equal(policy_stages_mask("connect, end-of-message"),
	    (1u << PLUGIN_CONNECT) | (1u << PLUGIN_EOM));
	assert_int_equal(policy_stages_mask("rcpt bogus"), 0);
	assert_int_equal(policy_stages_check("helo mail data", why,
	    sizeof(why)), 0);
	assert_int_equal(policy_stages_check("RCPT", why, sizeof(why)), -1);
	assert_int_equal(policy_action_check("451 4.3.5 Server configuration "
	    "problem", why, sizeof(why)), 0);
	assert_int_equal(policy_action_check("DUNNO", why, sizeof(why)), 0);
	assert_int_equal(policy_action_check("FROB", why, sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_long_reply),
		cmocka_unit_test(test_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
