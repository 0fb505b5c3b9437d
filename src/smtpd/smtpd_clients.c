/*
 * Per-client connection limits in smtpd (client_connection_limit,
 * client_connection_rate): each new connection is counted against its
 * client address (net/client_table.h) before a session is made for it,
 * and one over a limit hears 421 and is closed, on every port.  The
 * address comes from accept(); nothing the client sends is read here.
 * The settings are read at each connection, so a reload applies at once.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/client_table.h"
#include "smtpd/smtpd.h"
#include "util/cidr.h"
#include "util/log.h"

static const char smtpd_too_many[] =
    "421 4.7.0 Too many connections from your address\r\n";
static const char smtpd_too_fast[] =
    "421 4.7.0 Too many connections, slow down\r\n";

void
smtpd_clients_init(struct smtpd *sd)
{
	sd->clients = client_table_new(CLIENT_TABLE_MAX);
}

void
smtpd_clients_free(struct smtpd *sd)
{
	client_table_free(&sd->clients);
}

/*
 * Clients the limits do not apply to: relay_networks (the postmaster's
 * own machines, which may hold many connections by design) and clients
 * the screen permitted (screen_access; h: what the screen said, NULL
 * when the client did not come through it).  The one place to add more.
 */
int
smtpd_client_exempt(const struct smtpd *sd, const char *ip,
    const struct screen_handoff *h)
{
	return cidr_list_match(sd->relay_nets, ip) ||
	    (h != NULL && h->verdict == SCREEN_PERMIT);
}

/* As session_refuse_busy: 421 on ports 25 and 587; on 465 a TLS client
 * would read plain text as garbage, so it is closed without a word. */
static void
smtpd_client_refuse(int fd, enum listen_kind kind, const char *reply)
{
	if (kind != LISTEN_SUBMISSIONS &&
	    write(fd, reply, strlen(reply)) < 0)
		log_debug("refusal not sent: %s", strerror(errno));
	close(fd);
}

static const char *
smtpd_kind_name(enum listen_kind kind)
{
	return kind == LISTEN_SMTP ? "smtp" : kind == LISTEN_SUBMISSION ?
	    "submission" : "submissions";
}

/* The table is full of clients holding connections: a new one gets in
 * uncounted.  Said once a minute at most, or a flood would fill the log. */
static void
smtpd_clients_full(struct smtpd *sd, uint64_t now)
{
	if (sd->clients_full_logged != 0 &&
	    now - sd->clients_full_logged < CLIENT_RATE_WINDOW_MS)
		return;
	sd->clients_full_logged = now != 0 ? now : 1;
	log_warn("client table full (%d clients with connections open): new "
	    "clients are not counted", CLIENT_TABLE_MAX);
}

int
smtpd_client_admit(struct smtpd *sd, int fd, const char *ip, unsigned port,
    enum listen_kind kind, const struct screen_handoff *h,
    struct client_entry **entry_r)
{
	const struct conf *c = sd->conf;
	struct client_limits lim = { c->client_connection_limit,
	    c->client_connection_rate };
	/* The screen counted and checked it already: counted here too, so
	 * that the submission ports see it, but never refused twice. */
	if (h != NULL && h->count_gen != 0)
		lim = (struct client_limits){ UINT_MAX, 0 };
	struct client_admission a;
	struct client_key k;
	uint64_t now = client_table_now_ms();

	*entry_r = NULL;
	if (smtpd_client_exempt(sd, ip, h) ||
	    client_key_from_ip(ip, c->client_ipv6_prefix_length, &k) < 0)
		return 0;
	switch (client_table_admit(sd->clients, &k, &lim, now, &a)) {
	case CLIENT_ADMITTED:
		*entry_r = a.entry;
		return 0;
	case CLIENT_UNTRACKED:
		if (lim.max_conns != 0 || lim.rate != 0)
			smtpd_clients_full(sd, now);
		return 0;
	case CLIENT_TOO_MANY:
		log_warn("[%s]:%u: too many connections from your address "
		    "count=%u limit=%u port=%s", ip, port, a.count, a.limit,
		    smtpd_kind_name(kind));
		smtpd_client_refuse(fd, kind, smtpd_too_many);
		return -1;
	case CLIENT_TOO_FAST:
		log_warn("[%s]:%u: too many connections, slow down count=%u "
		    "limit=%u window=60s port=%s", ip, port, a.count, a.limit,
		    smtpd_kind_name(kind));
		smtpd_client_refuse(fd, kind, smtpd_too_fast);
		return -1;
	}
	bug("client table: verdict %d", (int)a.verdict);
}

void
smtpd_client_release(struct smtpd *sd, struct client_entry **entry)
{
	client_table_release(sd->clients, entry, client_table_now_ms());
}
