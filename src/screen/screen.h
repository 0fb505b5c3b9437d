/*
 * The screen process: the front door of port 25.  It greets each new
 * client with the first line of a multi-line greeting (the teaser), waits
 * screen_greet_wait for a client that talks too early, and hands the
 * socket of one that behaved to smtpd, which sends the last line.  It
 * never reads past the greeting and never proxies.  Private to screen/:
 * screen.c is the process, screen_client.c one waiting client.
 */
#ifndef TERN_SCREEN_H
#define TERN_SCREEN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event_struct.h>

#include "conf/conf.h"
#include "master/child.h"
#include "net/load_report.h"
#include "net/stats.h"
#include "screen/dnsbl_site.h"
#include "screen/screen_access.h"
#include "screen/screen_proto.h"

struct event_base;
struct event;
struct evconnlistener;
struct screen_cache;
struct client_entry;
struct client_table;
struct dns;
struct dnsbl;
struct dnsbl_check;
struct ipc_chan;
struct cidr_list;

#define SCREEN_TEASER_FMT "220-%s ESMTP\r\n"
#define SCREEN_PEEK_MAX   64    /* bytes of a pregreet shown in the log */

/* One client waiting in the screen: a few hundred bytes. */
struct screen_client {
	TAILQ_ENTRY(screen_client) entry;
	struct screen *sc;
	int fd;
	struct event ev;                /* its socket, and the greet wait */
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	struct timespec start;          /* monotonic */
	int listening;                  /* ev watches the socket for a pregreet */
	int waited;                     /* the greet wait is over */
	enum screen_verdict failed;     /* SCREEN_ENFORCE or _IGNORED once a test failed */
	char reason[SCREEN_REASON_MAX]; /* of the failure */
	struct dnsbl_check *check;      /* the DNS lists' answers are due */
	struct client_entry *counted;   /* in sc->clients */
	int dnsbl_score;
	unsigned dnsbl_ttl;             /* how long the answers hold; 0: unknown */
	char dnsbl_zone[DNSBL_ZONE_MAX + 1]; /* the heaviest listing */
};

TAILQ_HEAD(screen_clients, screen_client);

/* What the screen counts since it started (tern status shows them). */
struct screen_counters {
	uint64_t pass_new, pass_old, permitted, rejected, pregreet, failed_old;
	uint64_t reported;              /* failures smtpd reported */
	uint64_t dnsbl_listed, dnsbl_allowed;
	uint64_t per_client;            /* 421: client_connection_limit, _rate */
	uint64_t busy;                  /* 421: screen_max_clients reached */
	uint64_t server_busy;           /* 421: smtpd could not take it */
};

struct screen {
	struct conf *conf;
	struct event_base *base;
	struct ipc_chan *ctl;
	struct ipc_chan *smtpd;         /* NULL while smtpd restarts */
	struct evconnlistener *listeners[CHILD_MAX_LISTENERS];
	size_t nlisteners;
	struct screen_access access;
	struct cidr_list *relay_nets;
	struct screen_clients waiting;
	size_t nwaiting;
	struct load_report load;        /* nwaiting, to master */
	struct stats_report *stats;     /* for tern status */
	struct screen_counters count;
	struct screen_cache *cache;     /* the clients remembered */
	struct client_table *clients;   /* connections per address */
	uint32_t clients_gen;           /* of that table, never 0 */
	unsigned clients_prefix;        /* the IPv6 prefix of its keys */
	struct dns *dns;
	struct dnsbl *dnsbl;            /* NULL without screen_dnsbl_sites */
	struct event *tick_ev;          /* purges and saves the store */
	time_t saved_at;
	int stopping;
};

/* screen.c: remembers a client that failed until screen_fail_ttl (reason
 * "pregreet", "dnsbl", or one of smtpd's reports). */
void screen_remember_fail(struct screen *sc, const char *ip, const char *reason);

/* screen_clients.c: client_connection_limit and _rate on port 25.
 * admit: 0 and the client counted (*entry_r; NULL when not), or -1 when
 * refused: 421 said, fd closed and logged. */
void screen_clients_start(struct screen *sc);
void screen_clients_reset(struct screen *sc);
int screen_clients_admit(struct screen *sc, int fd, const char *ip,
    unsigned port, struct client_entry **entry_r);
void screen_clients_release(struct screen *sc, struct client_entry **entry);
/* smtpd says a client the table of generation gen counted has gone. */
void screen_clients_closed(struct screen *sc, const char *ip, uint32_t gen);
void screen_clients_free(struct screen *sc);

/* screen_client.c */
/* A line to a client turned away, and its close. */
void screen_refuse(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void screen_client_accept(struct screen *sc, int fd, const struct sockaddr *sa);
/* The DNS lists were set up again: clients whose wait is over and that
 * waited only for their answers go on. */
void screen_client_checks_ended(struct screen *sc);
/* Stopping: the client hears 421 and goes. */
void screen_client_shutdown(struct screen_client *c);

#endif
