/*
 * What lookup's peers ask it and what it answers: the message types and
 * their layouts (u32 and str fields, encoded by net/ipc.h), the outcome of
 * a login, and whether a session may use a sender address.  smtpd may
 * ask RESOLVE, AUTH and SENDER; the queue RESOLVE and TLS_POLICY
 * (lookup_peer_may); anything else closes the asker's channel.
 */
#ifndef TERN_LOOKUP_PROTO_H
#define TERN_LOOKUP_PROTO_H

enum lookup_msg_type {
	/* smtpd, queue -> lookup */
	IPC_LOOKUP_RESOLVE = 10,    /* u32 id, str address */
	/* lookup -> the asker */
	IPC_LOOKUP_RESOLVED = 11,   /* u32 id, u32 status, u32 n, n x (u32 remote, str addr) */
	/* smtpd -> lookup, and back */
	IPC_LOOKUP_AUTH = 12,       /* u32 id, str login, str password, str client ip */
	IPC_LOOKUP_AUTHED = 13,     /* u32 id, u32 lookup_auth_result, u32 dir_auth_status, str existing login, u32 delay ms, u32 LOOKUP_AUTH_* flags */
	IPC_LOOKUP_SENDER = 14,     /* u32 id, str login ("" unauthenticated), str client ip, u32 n, n x str address */
	IPC_LOOKUP_SENDER_OK = 15,  /* u32 id, u32 lookup_sender_verdict, u32 first refused, u32 mask of refused */
	/* queue -> lookup, and back */
	IPC_LOOKUP_TLS_POLICY = 16, /* u32 id, str domain */
	IPC_LOOKUP_TLS_POLICIED = 17, /* u32 id, u32 found, u32 policy */
};

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
