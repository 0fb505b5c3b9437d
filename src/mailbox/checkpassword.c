/*
 * tern-checkpassword: Dovecot's passdb and userdb (driver checkpassword),
 * run by Dovecot's auth process once per login.  It asks tern's lookup
 * process over STATE_DIR/auth.sock, so that an IMAP or POP3 login gets
 * exactly the policy SMTP AUTH gets (mailbox/login_proto.h).
 *
 * Dovecot 2.3's side (src/auth/db-checkpassword.c): fd 3 carries
 * "login NUL password NUL timestamp NUL", at most 512 bytes; SERVICE and
 * TCPREMOTEIP are in the environment, and AUTHORIZED=1 for a lookup
 * without a password; argv[1] is the socket, and Dovecot appends the
 * path of its checkpassword-reply, which is ignored: this program writes
 * the reply's extra fields to fd 4 itself (TAB-separated, each escaped as
 * Dovecot's str_tabescape does) and exits 0 (logged in), 1 (login failed,
 * after the brake's delay), 2 and 3 for a userdb lookup (found, unknown)
 * or 111 (any trouble: socket down, timeout, a bad answer).  The user
 * field is the account's own login, so that a login let in by
 * login_case = warn lives under the real one.
 *
 * Trusts Dovecot as far as the format of fd 3; nothing in it is taken
 * longer than its bound.  libc only: it is forked for every login.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mailbox/login_proto.h"

#define CKPW_INPUT_MAX 512      /* Dovecot's CHECKPASSWORD_MAX_REQUEST_LEN */
#define CKPW_TIMEOUT   60       /* seconds for lookup's answer, at most */

#define CKPW_OK        0
#define CKPW_FAIL      1
#define CKPW_USER_OK   2
#define CKPW_USER_NONE 3
#define CKPW_TEMPFAIL  111

static void
ckpw_log(const char *msg)
{
	/* Dovecot's auth log takes our stderr. */
	fprintf(stderr, "tern-checkpassword: %s\n", msg);
}

/* Reads fd 3 to its end: the length, or -1 if it is over the bound. */
static long
ckpw_read_input(char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = read(3, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return (long)len;
		len += (size_t)n;
		if (len == cap)
			return -1;
	}
}

/* login NUL password NUL [timestamp NUL]: pointers into buf. */
static int
ckpw_split(char *buf, size_t len, const char **login_r,
    const char **password_r)
{
	char *nul1 = memchr(buf, '\0', len), *nul2;

	if (nul1 == NULL)
		return -1;
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - buf));
	if (nul2 == NULL)
		return -1;
	*login_r = buf;
	*password_r = nul1 + 1;
	return 0;
}

/* Waits until fd is ready for events, by the deadline: 0, or -1. */
static int
ckpw_wait(int fd, short events, time_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	time_t now = time(NULL);
	int rc;

	if (now >= deadline)
		return -1;
	do
		rc = poll(&p, 1, (int)(deadline - now) * 1000);
	while (rc < 0 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

static int
ckpw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends the request line and reads the answer line: 0, or -1. */
static int
ckpw_ask(const char *path, const char *req, size_t reqlen,
    struct login_answer *a)
{
	char line[LOGIN_PROTO_ANSWER_MAX];
	time_t deadline = time(NULL) + CKPW_TIMEOUT;
	size_t len = 0, off = 0;
	int fd = ckpw_connect(path), rc = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (off < reqlen) {
		if (ckpw_wait(fd, POLLOUT, deadline) < 0 ||
		    (n = write(fd, req + off, reqlen - off)) <= 0)
			goto done;
		off += (size_t)n;
	}
	while (len < sizeof(line) && memchr(line, '\n', len) == NULL) {
		if (ckpw_wait(fd, POLLIN, deadline) < 0 ||
		    (n = read(fd, line + len, sizeof(line) - len)) <= 0)
			goto done;
		len += (size_t)n;
	}
	if (len > 0 && line[len - 1] == '\n')
		rc = login_answer_parse(line, len, a);
done:
	close(fd);
	return rc;
}

/* s escaped for Dovecot's t_strsplit_tabescaped: 0, or -1 if it does
 * not fit. */
static int
ckpw_tabescape(const char *s, char *out, size_t cap, size_t *pos)
{
	for (; *s != '\0'; s++) {
		char c = *s, e = c == '\001' ? '1' : c == '\t' ? 't' :
		    c == '\r' ? 'r' : c == '\n' ? 'n' : 0;
		if (*pos + 2 >= cap)
			return -1;
		if (e != 0) {
			out[(*pos)++] = '\001';
			c = e;
		}
		out[(*pos)++] = c;
	}
	return 0;
}

static int
ckpw_put(const char *s, char *out, size_t cap, size_t *pos)
{
	size_t len = strlen(s);

	if (*pos + len >= cap)
		return -1;
	memcpy(out + *pos, s, len);
	*pos += len;
	return 0;
}

/* The extra fields, to fd 4: 0, or -1. */
static int
ckpw_reply(const struct login_answer *a)
{
	char out[3 * LOGIN_PROTO_ANSWER_MAX];
	size_t pos = 0, off = 0;
	ssize_t n;

	if (ckpw_put("user=", out, sizeof(out), &pos) < 0 ||
	    ckpw_tabescape(a->login, out, sizeof(out), &pos) < 0 ||
	    ckpw_put("\tuserdb_home=", out, sizeof(out), &pos) < 0 ||
	    ckpw_tabescape(a->maildir, out, sizeof(out), &pos) < 0 ||
	    ckpw_put("\tuserdb_mail=maildir:~", out, sizeof(out), &pos) < 0)
		return -1;
	while (off < pos) {
		n = write(4, out + off, pos - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* The request from what Dovecot gave: 0, 1 (a login that cannot exist:
 * fail at once) or -1 (trouble). */
static int
ckpw_request(struct login_request *r, const char *login,
    const char *password, int authorized)
{
	const char *service = getenv("SERVICE"), *ip = getenv("TCPREMOTEIP");

	memset(r, 0, sizeof(*r));
	r->verb = authorized ? LOGIN_USER : LOGIN_AUTH;
	if (service == NULL || !login_service_ok(r->verb, service)) {
		if (r->verb == LOGIN_AUTH) {
			ckpw_log("refused: SERVICE is not imap or pop3");
			return 1;
		}
		service = "userdb";
	}
	if (strlen(login) == 0 || strlen(login) > LOGIN_PROTO_LOGIN_MAX ||
	    strlen(password) > LOGIN_PROTO_PASSWORD_MAX) {
		ckpw_log("refused: login or password too long or empty");
		return 1;
	}
	if (ip == NULL || strlen(ip) > LOGIN_PROTO_CLIENT_MAX)
		ip = "";
	memcpy(r->service, service, strlen(service) + 1);
	memcpy(r->client, ip, strlen(ip) + 1);
	memcpy(r->login, login, strlen(login) + 1);
	if (!authorized)
		memcpy(r->password, password, strlen(password) + 1);
	return 0;
}

/* The exit status for lookup's answer; the fields written when ok. */
static int
ckpw_outcome(const struct login_answer *a, int authorized)
{
	switch (a->result) {
	case LOGIN_OK:
		if (ckpw_reply(a) < 0) {
			ckpw_log("cannot write the reply fields to fd 4");
			return CKPW_TEMPFAIL;
		}
		if (a->delay > 0)
			sleep(a->delay);
		return authorized ? CKPW_USER_OK : CKPW_OK;
	case LOGIN_FAIL:
		if (a->delay > 0)
			sleep(a->delay);
		return CKPW_FAIL;
	case LOGIN_UNKNOWN:
		return authorized ? CKPW_USER_NONE : CKPW_FAIL;
	default:
		return CKPW_TEMPFAIL;
	}
}

int
main(int argc, char **argv)
{
	char input[CKPW_INPUT_MAX + 1], req[LOGIN_PROTO_REQUEST_MAX];
	const char *login, *password, *auth = getenv("AUTHORIZED");
	int authorized = auth != NULL && strcmp(auth, "1") == 0, rc;
	struct login_request r;
	struct login_answer a;
	long len, reqlen;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		ckpw_log("usage: tern-checkpassword SOCKET [reply-program]");
		return CKPW_TEMPFAIL;
	}
	len = ckpw_read_input(input, sizeof(input));
	if (len < 0 || ckpw_split(input, (size_t)len, &login, &password) < 0) {
		explicit_bzero(input, sizeof(input));
		ckpw_log("malformed input on fd 3");
		return CKPW_TEMPFAIL;
	}
	rc = ckpw_request(&r, login, password, authorized);
	explicit_bzero(input, sizeof(input));
	if (rc != 0) {
		explicit_bzero(&r, sizeof(r));
		return rc > 0 ? (authorized ? CKPW_USER_NONE : CKPW_FAIL) :
		    CKPW_TEMPFAIL;
	}
	reqlen = login_request_format(&r, req, sizeof(req));
	explicit_bzero(&r, sizeof(r));
	rc = reqlen < 0 ? -1 : ckpw_ask(argv[1], req, (size_t)reqlen, &a);
	explicit_bzero(req, sizeof(req));
	if (rc < 0) {
		ckpw_log(reqlen < 0 ? "cannot encode the request" :
		    "no answer from tern's lookup (is tern running?)");
		return CKPW_TEMPFAIL;
	}
	return ckpw_outcome(&a, authorized);
}
