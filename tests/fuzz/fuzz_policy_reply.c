/*
 * libFuzzer harness for what tern reads from a policy server
 * (policy_proto.c): the input is split at LF, as policy_conn.c splits it,
 * fed to the reply reader, and each action it yields judged as at RCPT.
 * Checks that an action fits its buffer, and that a refusal is one line
 * of printable ASCII within the SMTP bound, beginning with a 4xx or 5xx
 * code and an enhanced code of the same class.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/policy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_action(const char *action)
{
	struct policy_action a;
	size_t len;

	policy_action_eval(action, "rcpt@example.org", "Recipient address", &a);
	if (a.act != POLICY_ACT_REPLY && a.act != POLICY_ACT_CLOSE) {
		if (a.reply[0] != '\0')
			abort();
		return;
	}
	len = strlen(a.reply);
	if (len < 10 || len > POLICY_SMTP_REPLY_MAX)
		abort();
	if ((a.reply[0] != '4' && a.reply[0] != '5') || a.reply[3] != ' ' ||
	    a.reply[4] != a.reply[0] || a.reply[5] != '.')
		abort();
	for (const char *p = a.reply; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_reply r;
	const char *why;
	size_t start = 0;

	policy_reply_init(&r);
	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		int rc = policy_reply_line(&r, (const char *)data + start,
		    i - start, &why);
		start = i + 1;
		if (rc < 0) {
			policy_reply_init(&r);
		} else if (rc == 1) {
			if (strlen(r.action) >= POLICY_LINE_MAX)
				abort();
			check_action(r.action);
			policy_reply_init(&r);
		}
	}
	return 0;
}
