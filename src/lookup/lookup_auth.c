/*
 * Logins and sender addresses.  One login policy for every door: a login
 * from smtpd (SMTP AUTH, over its channel) and one from Dovecot (IMAP,
 * POP3, through Dovecot's Lua passdb and auth.sock, lookup_sock.c) go
 * through the same lookup_login(), which alone decides; each door only
 * carries the answer back and logs it.  The password arrives from the
 * network: it is wiped as soon as it is checked.
 * The password check itself runs on the crypt pool's
 * threads, so that logins never stall recipient lookups.  This is where
 * login_case = warn lets a miscased login in (never with a
 * wrong password), where the brute-force brake holds (auth_throttle.c;
 * its counts are shared by every protocol; the delay it asks for is
 * waited out by the door, smtpd on a timer, the Lua passdb by
 * sleeping), where a
 * client that logged in is remembered as known to that login, and where
 * every event the postmaster audits before a switch-over is counted,
 * with the protocol it came through.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lookup/lookup.h"
#include "lookup/lookup_counts.h"
#include "lookup/lookup_proto.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* let_in: warn mode lets this event through (tern audit --ready). */
static void
lookup_audit_as(struct lookup *lk, int let_in, const char *kind,
    const char *login, const char *existing, const char *address,
    const char *client, const char *proto)
{
	if ((let_in ? dir_audit_let_in : dir_audit_record)(lk->dir, kind,
	    login, existing, address, client, proto,
	    lk->conf->audit_max_rows) < 0)
		log_warn("cannot count a %s event for tern audit", kind);
}

static void
lookup_audit(struct lookup *lk, const char *kind, const char *login,
    const char *existing, const char *address, const char *client,
    const char *proto)
{
	lookup_audit_as(lk, 0, kind, login, existing, address, client, proto);
}

/* A login being checked: the crypt job first, so the pool frees it all. */
struct lookup_login_job {
	struct crypt_job crypt;
	struct lookup *lk;
	lookup_login_done_fn *done;
	uint64_t ref;           /* the asker, as its door knows it */
	uint32_t id;
	enum dir_auth_status found;
	int known;              /* the client logged in to this login before */
	long long known_last;   /* when, last */
	struct auth_attempt attempt;
	const char *proto;      /* smtp, imap, pop3 (a static string) */
	char login[DIR_LOGIN_MAX];
	char existing[DIR_LOGIN_MAX];
	char client[LOOKUP_CLIENT_MAX];
};

/* What the directory said, turned into what the door does. */
static enum lookup_auth_result
lookup_auth_decide(struct lookup *lk, const struct lookup_login_job *job,
    enum dir_auth_status st, int password_ok)
{
	int let_in;

	switch (st) {
	case DIR_AUTH_OK:
		return LOOKUP_AUTH_OK;
	case DIR_AUTH_CASE_MISMATCH:
		let_in = password_ok && lk->conf->login_case == CONF_WARN;
		lookup_audit_as(lk, let_in, "case-mismatch", job->login,
		    job->existing, "", job->client, job->proto);
		if (let_in)
			return LOOKUP_AUTH_OK;
		if (!password_ok)
			lookup_audit(lk, "auth-failure", job->login,
			    job->existing, "", job->client, job->proto);
		return LOOKUP_AUTH_FAIL;
	case DIR_AUTH_UNKNOWN:
	case DIR_AUTH_PASSWORD:
		lookup_audit(lk, "auth-failure", job->login, "", "",
		    job->client, job->proto);
		return LOOKUP_AUTH_FAIL;
	case DIR_AUTH_TEMPFAIL:
		break;
	}
	return LOOKUP_AUTH_TEMPFAIL;
}

static void
lookup_login_answer(struct lookup *lk, struct lookup_login_job *job,
    const struct lookup_login_answer *a)
{
	lookup_count_login(job->proto, a);
	job->done(lk, job->ref, job->id, a);
}

static void
lookup_auth_limits(const struct lookup *lk, struct auth_throttle_limits *lim)
{
	lim->limit = lk->conf->auth_fail_limit;
	lim->window = lk->conf->auth_fail_window;
	lim->delay = lk->conf->auth_fail_delay;
	lim->delay_max = lk->conf->auth_fail_delay_max;
}

/* The client has just logged in as account: remembered as known to it,
 * or its last time refreshed once a good part of the ttl has passed (not
 * at every login: each is a synced write to tern.db). */
static void
lookup_auth_remember(struct lookup *lk, const struct lookup_login_job *job,
    const char *account, time_t now)
{
	long long refresh = lk->conf->auth_known_client_ttl / 2;

	if (refresh > 3600)
		refresh = 3600;
	if (job->known && strcmp(account, job->login) == 0 &&
	    now - job->known_last < refresh)
		return;
	if (dir_known_client_seen(lk->dir, account, job->client,
	    lk->conf->auth_known_client_ttl,
	    lk->conf->auth_known_client_max) < 0)
		log_warn("cannot remember a known client");
}

/*
 * The brake's say on a checked login, with the failures counted before
 * it (so that its own outcome does not set its delay, which would tell
 * a failure by its wait).  Checked again here and not only on arrival:
 * attempts sent side by side all pass the first check before any has
 * failed.  A refused login hears "throttled" whatever its password was.
 */
static void
lookup_auth_brake(struct lookup *lk, struct lookup_login_job *job,
    struct lookup_login_answer *a)
{
	struct auth_throttle_limits lim;
	struct auth_verdict v;
	time_t now = time(NULL);

	/* Before the check, which notes a window's first refusal. */
	if (a->res == LOOKUP_AUTH_TEMPFAIL)
		return;
	lookup_auth_limits(lk, &lim);
	auth_throttle_check(lk->throttle, &job->attempt, job->known, &lim, now,
	    &v);
	if (a->res == LOOKUP_AUTH_FAIL &&
	    !auth_throttle_fail(lk->throttle, &job->attempt, &lim, now))
		a->flags |= LOOKUP_AUTH_REPEAT;
	if (v.refused) {
		if (v.first_refusal)
			lookup_audit(lk, "auth-refused", job->login, "", "",
			    job->client, job->proto);
		if (a->res == LOOKUP_AUTH_OK)
			a->st = DIR_AUTH_TEMPFAIL;      /* not a failure */
		a->res = LOOKUP_AUTH_THROTTLED;
		a->delay = v.delay;
		return;
	}
	if (v.delay > 0)
		lookup_audit(lk, "auth-slowed", job->login, "", "",
		    job->client, job->proto);
	a->delay = v.delay;
	if (a->res == LOOKUP_AUTH_OK) {
		auth_throttle_ok(lk->throttle, &job->attempt);
		lookup_auth_remember(lk, job, a->st == DIR_AUTH_CASE_MISMATCH ?
		    job->existing : job->login, now);
	}
}

/* Back on the loop with the password checked. */
static void
lookup_auth_done(struct crypt_job *cj, void *arg)
{
	struct lookup_login_job *job = arg;
	struct lookup *lk = job->lk;
	struct lookup_login_answer a = { 0 };
	int password_ok;

	a.st = dir_auth_result(job->found, cj->verified, &password_ok);
	a.res = lookup_auth_decide(lk, job, a.st, password_ok);
	a.existing = job->existing;
	a.login = a.st == DIR_AUTH_CASE_MISMATCH ? job->existing : job->login;
	lookup_auth_brake(lk, job, &a);
	if (a.st == DIR_AUTH_TEMPFAIL || a.res != LOOKUP_AUTH_OK)
		a.login = "";
	lookup_login_answer(lk, job, &a);
	explicit_bzero(&job->attempt, sizeof(job->attempt));
}

/* On arrival: refused at once, without a password check, when the
 * failures counted so far say so.  1 if refused (and answered). */
static int
lookup_auth_refused(struct lookup *lk, struct lookup_login_job *job)
{
	struct auth_throttle_limits lim;
	struct auth_verdict v;
	struct lookup_login_answer a = { LOOKUP_AUTH_THROTTLED,
	    DIR_AUTH_TEMPFAIL, "", "", 0, 0 };

	job->known = dir_known_client_get(lk->dir, job->login, job->client,
	    lk->conf->auth_known_client_ttl, &job->known_last) == 1;
	lookup_auth_limits(lk, &lim);
	auth_throttle_check(lk->throttle, &job->attempt, job->known, &lim,
	    time(NULL), &v);
	if (!v.refused)
		return 0;
	if (v.first_refusal)
		lookup_audit(lk, "auth-refused", job->login, "", "",
		    job->client, job->proto);
	a.delay = v.delay;
	lookup_login_answer(lk, job, &a);
	return 1;
}

static void
lookup_login_tempfail(struct lookup *lk, struct lookup_login_job *job)
{
	struct lookup_login_answer a = { LOOKUP_AUTH_TEMPFAIL,
	    DIR_AUTH_TEMPFAIL, "", "", 0, 0 };

	lookup_login_answer(lk, job, &a);
}

void
lookup_login(struct lookup *lk, const struct lookup_login_req *req,
    lookup_login_done_fn *done, uint64_t ref, uint32_t id)
{
	struct lookup_login_job *job = xcalloc(1, sizeof(*job));

	job->lk = lk;
	job->done = done;
	job->ref = ref;
	job->id = id;
	job->proto = req->proto;
	if (strlen(req->login) >= sizeof(job->login) ||
	    strlen(req->password) >= sizeof(job->crypt.password) ||
	    strlen(req->client) >= sizeof(job->client))
		bug("lookup_login: a door let an over-long field through");
	memcpy(job->login, req->login, strlen(req->login) + 1);
	memcpy(job->crypt.password, req->password, strlen(req->password) + 1);
	memcpy(job->client, req->client, strlen(req->client) + 1);
	auth_throttle_attempt(lk->throttle, job->client, job->login,
	    job->crypt.password, &job->attempt);
	if (lookup_auth_refused(lk, job))
		goto drop;
	job->found = dir_auth_lookup(lk->dir, job->login, job->crypt.hash,
	    job->existing);
	if (job->found == DIR_AUTH_TEMPFAIL) {
		lookup_login_tempfail(lk, job);
		goto drop;
	}
	job->crypt.done = lookup_auth_done;
	job->crypt.arg = job;
	if (crypt_pool_submit(lk->crypt, &job->crypt) == 0)
		return;
	log_warn("too many logins waiting for a password check: "
	    "a temporary failure for one");
	lookup_login_tempfail(lk, job);
drop:
	explicit_bzero(job, sizeof(*job));
	free(job);
}

/* ---- SMTP AUTH: smtpd asks over its channel ---- */

/* The answer goes only to the very channel that asked: the smtpd may be
 * gone, and a restarted one reuse its session refs. */
static void
lookup_auth_smtpd_done(struct lookup *lk, uint64_t ref, uint32_t id,
    const struct lookup_login_answer *a)
{
	struct ipc_chan *chan = ipc_chan_set_find(&lk->smtpds, ref);
	struct buf out;

	if (chan == NULL)
		return;
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u32(&out, id);
	ipc_put_u32(&out, (uint32_t)a->res);
	ipc_put_u32(&out, (uint32_t)a->st);
	ipc_put_str(&out, a->st == DIR_AUTH_TEMPFAIL ? "" : a->existing);
	ipc_put_u32(&out, a->delay * 1000);
	ipc_put_u32(&out, a->flags);
	ipc_chan_send(chan, IPC_LOOKUP_AUTHED, out.data, out.len, -1);
	buf_free(&out);
}

void
lookup_auth(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg)
{
	char login[DIR_LOGIN_MAX], password[PASSWORD_MAX + 1];
	char client[LOOKUP_CLIENT_MAX];
	struct lookup_login_req req = { "smtp", login, password, client };
	struct ipc_reader r;
	uint32_t id;

	ipc_reader_init(&r, msg);
	id = ipc_get_u32(&r);
	ipc_get_str(&r, login, sizeof(login));
	ipc_get_str(&r, password, sizeof(password));
	ipc_get_str(&r, client, sizeof(client));
	if (ipc_reader_end(&r) < 0)
		log_warn("malformed login request ignored");
	else
		lookup_login(lk, &req, lookup_auth_smtpd_done,
		    ipc_chan_serial(chan), id);
	explicit_bzero(password, sizeof(password));
}

/* One address: may this session use it as a sender? */
static enum lookup_sender_verdict
lookup_sender_one(struct lookup *lk, const char *login, const char *address,
    const char *client)
{
	if (*login == '\0') {
		/* Unauthenticated: only our own domains are in question. */
		const char *domain = addr_domain(address);
		if (*domain == '\0')
			return LOOKUP_SENDER_OK;
		switch (dir_is_local_domain(lk->dir, domain)) {
		case 0:
			return LOOKUP_SENDER_OK;
		case 1:
			return LOOKUP_SENDER_LOCAL_UNAUTH;
		default:
			return LOOKUP_SENDER_TEMPFAIL;
		}
	}
	switch (dir_sender_allowed(lk->dir, login, address)) {
	case 1:
		return LOOKUP_SENDER_OK;
	case 0:
		/* smtpd lets it through in warn mode, by the same setting. */
		lookup_audit_as(lk, lk->conf->sender_binding == CONF_WARN,
		    "sender-outside-binding", login, "",
		    *address ? address : "<>", client, "smtp");
		return LOOKUP_SENDER_NOT_OWNED;
	default:
		return LOOKUP_SENDER_TEMPFAIL;
	}
}

void
lookup_sender(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg)
{
	char login[DIR_LOGIN_MAX], client[LOOKUP_CLIENT_MAX];
	char addrs[LOOKUP_SENDER_MAX][ADDR_BUF];
	enum lookup_sender_verdict v = LOOKUP_SENDER_OK;
	struct ipc_reader r;
	uint32_t n, i = 0;
	struct buf out;

	ipc_reader_init(&r, msg);
	uint32_t id = ipc_get_u32(&r);
	ipc_get_str(&r, login, sizeof(login));
	ipc_get_str(&r, client, sizeof(client));
	n = ipc_get_u32(&r);
	for (uint32_t k = 0; k < n && k < LOOKUP_SENDER_MAX; k++)
		ipc_get_str(&r, addrs[k], sizeof(addrs[k]));
	if (n > LOOKUP_SENDER_MAX || ipc_reader_end(&r) < 0) {
		log_warn("malformed sender request ignored");
		return;
	}
	/* Every address is checked (and counted for tern audit), not only
	 * up to the first refusal: warn mode must show them all. */
	uint32_t first = n, refused = 0;
	for (i = 0; i < n; i++) {
		enum lookup_sender_verdict vi = lookup_sender_one(lk, login,
		    addrs[i], client);
		if (vi == LOOKUP_SENDER_OK)
			continue;
		refused |= 1u << i;
		if (first == n) {
			first = i;
			v = vi;
		}
	}
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u32(&out, id);
	ipc_put_u32(&out, (uint32_t)v);
	ipc_put_u32(&out, first);
	ipc_put_u32(&out, refused);
	ipc_chan_send(chan, IPC_LOOKUP_SENDER_OK, out.data, out.len, -1);
	buf_free(&out);
}
