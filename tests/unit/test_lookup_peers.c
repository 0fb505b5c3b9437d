/*
 * Unit tests of lookup's table of who may ask what (lookup_peer_may):
 * smtpd resolves recipients, checks logins and senders; the queue
 * resolves bounce recipients and asks TLS policies; nobody else asks
 * anything, and nobody sends lookup its own answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lookup/lookup.h"
#include "lookup/lookup_proto.h"
#include "net/ipc.h"

static void
test_who_may_ask_what(void **state)
{
	static const struct {
		uint32_t peer, type;
		int want;
	} cases[] = {
		{ IPC_PEER_SMTPD, IPC_LOOKUP_RESOLVE, 1 },
		{ IPC_PEER_SMTPD, IPC_LOOKUP_AUTH, 1 },
		{ IPC_PEER_SMTPD, IPC_LOOKUP_SENDER, 1 },
		{ IPC_PEER_SMTPD, IPC_LOOKUP_TLS_POLICY, 0 },
		{ IPC_PEER_QUEUE, IPC_LOOKUP_RESOLVE, 1 },
		{ IPC_PEER_QUEUE, IPC_LOOKUP_TLS_POLICY, 1 },
		{ IPC_PEER_QUEUE, IPC_LOOKUP_AUTH, 0 },
		{ IPC_PEER_QUEUE, IPC_LOOKUP_SENDER, 0 },
		/* Answers, control and unknown types: from nobody. */
		{ IPC_PEER_SMTPD, IPC_LOOKUP_RESOLVED, 0 },
		{ IPC_PEER_SMTPD, IPC_LOOKUP_AUTHED, 0 },
		{ IPC_PEER_QUEUE, IPC_LOOKUP_TLS_POLICIED, 0 },
		{ IPC_PEER_SMTPD, IPC_CTL_PEER, 0 },
		{ IPC_PEER_QUEUE, 9999, 0 },
		/* lookup itself, or a kind nobody has. */
		{ IPC_PEER_LOOKUP, IPC_LOOKUP_RESOLVE, 0 },
		{ 0, IPC_LOOKUP_RESOLVE, 0 },
		{ 77, IPC_LOOKUP_AUTH, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = lookup_peer_may(cases[i].peer, cases[i].type);
		if (got != cases[i].want)
			fail_msg("peer %u, type %u: got %d, want %d", cases[i].peer,
			    cases[i].type, got, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_may_ask_what),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
