/*
 * The screen's count of connections per client address, for
 * client_connection_limit and client_connection_rate on port 25: checked
 * when a client connects, before the teaser, so that a client over its
 * limit hears one plain 421.  A client counts while it waits and, once
 * handed over, until smtpd says its session has ended (IPC_SCREEN_CLOSED).
 * Those notices carry the generation of the table that counted the
 * client: the table starts anew when smtpd goes away (its sessions went
 * with it) or the IPv6 prefix changes, and a notice from before is
 * ignored rather than taken from a count it never added to.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "net/client_table.h"
#include "screen/screen.h"
#include "util/log.h"

void
screen_clients_start(struct screen *sc)
{
	sc->clients = client_table_new(CLIENT_TABLE_MAX);
	sc->clients_prefix = sc->conf->screen_ipv6_prefix_length;
	if (++sc->clients_gen == 0)
		sc->clients_gen = 1;
}

/* A new table; the clients still waiting are counted in it again (their
 * rate history is lost, once). */
void
screen_clients_reset(struct screen *sc)
{
	static const struct client_limits count_only = { UINT_MAX, 0 };
	struct client_table *old = sc->clients;
	uint64_t now = client_table_now_ms();
	struct screen_client *c;

	screen_clients_start(sc);
	TAILQ_FOREACH(c, &sc->waiting, entry) {
		struct client_admission a;
		struct client_key k;
		c->counted = NULL;
		if (client_key_from_ip(c->ip, sc->clients_prefix, &k) == 0 &&
		    client_table_admit(sc->clients, &k, &count_only, now, &a) ==
		    CLIENT_ADMITTED)
			c->counted = a.entry;
	}
	client_table_free(&old);
}

int
screen_clients_admit(struct screen *sc, int fd, const char *ip,
    unsigned port, struct client_entry **entry_r)
{
	const struct conf *conf = sc->conf;
	struct client_limits lim = { conf->client_connection_limit,
	    conf->client_connection_rate };
	struct client_admission a;
	struct client_key k;

	*entry_r = NULL;
	if (conf->screen_ipv6_prefix_length != sc->clients_prefix)
		screen_clients_reset(sc);
	if (client_key_from_ip(ip, sc->clients_prefix, &k) < 0)
		return 0;
	switch (client_table_admit(sc->clients, &k, &lim,
	    client_table_now_ms(), &a)) {
	case CLIENT_ADMITTED:
		*entry_r = a.entry;
		return 0;
	case CLIENT_UNTRACKED:
		return 0;
	case CLIENT_TOO_MANY:
		log_warn("[%s]:%u: too many connections from your address "
		    "count=%u limit=%u port=smtp", ip, port, a.count, a.limit);
		sc->count.per_client++;
		screen_refuse(fd, "421 4.7.0 Too many connections from your "
		    "address");
		return -1;
	case CLIENT_TOO_FAST:
		log_warn("[%s]:%u: too many connections, slow down count=%u "
		    "limit=%u window=60s port=smtp", ip, port, a.count, a.limit);
		sc->count.per_client++;
		screen_refuse(fd, "421 4.7.0 Too many connections, slow down");
		return -1;
	}
	bug("client table: verdict %d", (int)a.verdict);
}

void
screen_clients_release(struct screen *sc, struct client_entry **entry)
{
	client_table_release(sc->clients, entry, client_table_now_ms());
}

void
screen_clients_closed(struct screen *sc, const char *ip, uint32_t gen)
{
	struct client_entry *e;
	struct client_key k;

	if (gen != sc->clients_gen ||
	    client_key_from_ip(ip, sc->clients_prefix, &k) < 0)
		return;
	if ((e = client_table_entry(sc->clients, &k)) != NULL)
		screen_clients_release(sc, &e);
}

void
screen_clients_free(struct screen *sc)
{
	client_table_free(&sc->clients);
}
