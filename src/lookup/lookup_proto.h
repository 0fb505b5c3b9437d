/*
 * The answers lookup gives smtpd beyond recipient resolution (the message
 * layouts are in net/ipc.h): the outcome of a login, and whether a session
 * may use a sender address.
 */
#ifndef TERN_LOOKUP_PROTO_H
#define TERN_LOOKUP_PROTO_H

/* How a login went; dir_auth_status travels beside it for the log. */
enum lookup_auth_result {
	LOOKUP_AUTH_OK = 0,         /* in, perhaps only because login_case = warn */
	LOOKUP_AUTH_FAIL,           /* 535 */
	LOOKUP_AUTH_THROTTLED,      /* too many failures: 454 after a delay */
	LOOKUP_AUTH_TEMPFAIL,       /* 454 */
};

/* Flags of a login's answer. */
#define LOOKUP_AUTH_REPEAT 0x1      /* failed as before from this client: not counted */

/* The longest wait lookup may ask before an answer is given (seconds). */
#define LOOKUP_AUTH_DELAY_MAX 120

enum lookup_sender_verdict {
	LOOKUP_SENDER_OK = 0,
	LOOKUP_SENDER_NOT_OWNED,    /* outside the account's addresses and grants */
	LOOKUP_SENDER_LOCAL_UNAUTH, /* unauthenticated, in one of our domains */
	LOOKUP_SENDER_TEMPFAIL,
};

/* Most addresses one sender check carries (header From and Sender): the
 * answer marks the refused ones in a 32-bit mask. */
#define LOOKUP_SENDER_MAX 32

#endif
