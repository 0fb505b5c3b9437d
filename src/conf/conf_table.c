/*
 * Every setting of tern, declared once: name (the same as its field in
 * struct conf), type, default, bounds and one line of help.  Adding a key
 * is one row here and one field in struct conf; docs/config.md lists the
 * same rows.  Trusts gethostname() for the one computed default.
 */
#include "conf/conf_table.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lookup/password.h"
#include "master/logger.h"
#include "net/hostport.h"
#include "plugin/milter_conf.h"
#include "plugin/policy_conf.h"
#include "plugin/filter_conf.h"
#include "screen/screen_access.h"
#include "smtpd/smtp_forbidden.h"
#include "screen/dnsbl_site.h"
#include "util/cidr.h"
#include "util/xmalloc.h"

/*
 * A row whose type does not match its field would make conf.c write past
 * the field, so the match is checked when this file compiles.
 */
#define CONF_FIELD_FITS(field, type) _Generic(((struct conf *)0)->field, \
	char *:   (type) == CONF_STRING || (type) == CONF_LISTEN ||      \
	          (type) == CONF_TEXT || (type) == CONF_REGEX,           \
	unsigned: (type) == CONF_DURATION || (type) == CONF_UINT,        \
	uint64_t: (type) == CONF_SIZE,                                   \
	int:      (type) == CONF_ENUM || (type) == CONF_INT)

#define CONF_OFFSET(field, type) (offsetof(struct conf, field) +         \
	0 * sizeof(struct { int unused; _Static_assert(                   \
	    CONF_FIELD_FITS(field, type),                                 \
	    #field ": type does not match its field in struct conf"); }))

#define KEY(field, type, def, min, max, help)                             \
	{ #field, type, CONF_OFFSET(field, type), def, NULL, min, max, NULL,  \
	  NULL, help, 0, NULL }
/* A number with a second value for stress mode, like Postfix's
 * ${stress?{10}:{300}}: its field is field##_stress, of the same type,
 * bounded alike, set in the file as NAME_stress. */
#define KEY_STRESS(field, type, def, stress_def, min, max, help)          \
	{ #field, type, CONF_OFFSET(field, type), def, NULL, min, max, NULL,  \
	  NULL, help, CONF_OFFSET(field##_stress, type), stress_def }
#define KEY_COMPUTED(field, type, compute, help)                          \
	{ #field, type, CONF_OFFSET(field, type), "", compute, 0, 0, NULL,    \
	  NULL, help, 0, NULL }
#define KEY_ENUM(field, words, def, help)                                 \
	{ #field, CONF_ENUM, CONF_OFFSET(field, CONF_ENUM), def, NULL, 0, 0,  \
	  words, NULL, help, 0, NULL }
/* A signed number: the bounds are stored as int64_t in the uint64_t
 * fields, and conf.c reads them back so. */
#define KEY_INT(field, def, min, max, help)                               \
	{ #field, CONF_INT, CONF_OFFSET(field, CONF_INT), def, NULL,          \
	  (uint64_t)(int64_t)(min), (uint64_t)(int64_t)(max), NULL, NULL, help, \
	  0, NULL }
#define KEY_CHECKED(field, def, check, help)                              \
	{ #field, CONF_TEXT, CONF_OFFSET(field, CONF_TEXT), def, NULL, 0, 0,  \
	  NULL, check, help, 0, NULL }

/* The words of each enumerated setting, in the order of their values. */
static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const yes_no[] = { "no", "yes", NULL };
static const char *const enforce_warn[] = { "enforce", "warn", NULL };
static const char *const tls_policies[] = { "may", "encrypt", "verify", NULL };
static const char *const screen_actions[] = { "enforce", "drop", "ignore", NULL };
static const char *const stress_modes[] = { "auto", "on", "off", NULL };
static const char *const mailbox_servers[] = { "dovecot", "none", NULL };
static const char *const milter_actions[] = { "tempfail", "accept", "reject",
	"shutdown", NULL };

static char *conf_default_hostname(void);

const struct conf_key conf_keys[] = {
	KEY_COMPUTED(hostname, CONF_STRING, conf_default_hostname,
	    "name the server gives itself in greetings and headers"),
	KEY(state_dir, CONF_STRING, "/var/lib/tern", 0, 0,
	    "directory holding tern.db, the queue and the mailboxes"),
	KEY(user, CONF_STRING, "tern", 0, 0,
	    "system account the server's processes run as when started "
	    "by root"),
	KEY(listen_smtp, CONF_LISTEN, "0.0.0.0:25", 0, 0,
	    "addresses for SMTP from other servers, host:port, [v6]:port; "
	    "empty disables"),
	KEY(max_message_size, CONF_SIZE, "50M", 1024, CONF_NOMAX,
	    "largest message accepted, in bytes"),
	KEY(max_recipients, CONF_UINT, "1000", 1, 100000,
	    "most recipients accepted for one message"),
	KEY_STRESS(smtpd_timeout, CONF_DURATION, "300s", "10s", 1, 3600,
	    "how long an SMTP client may stay silent"),
	KEY(smtpd_command_deadline, CONF_DURATION, "0", 0, 3600,
	    "most time for one command line, from its first byte, and the "
	    "start of DATA's allowance; 0: smtpd_timeout"),
	KEY(smtpd_min_data_rate, CONF_UINT, "500", 0, 1000000000,
	    "bytes/s a DATA must average after its first "
	    "smtpd_command_deadline; 0: no limit"),

	/* limits and stress mode */
	KEY(max_sessions, CONF_UINT, "4096", 1, CONF_SESSIONS_MAX,
	    "most SMTP sessions at once, all ports; more are refused "
	    "(restart only)"),
	KEY_STRESS(smtpd_hard_error_limit, CONF_UINT, "20", "1", 1, 100000,
	    "4xx/5xx replies to one session's commands before 421 and close"),
	KEY_STRESS(smtpd_junk_command_limit, CONF_UINT, "100", "1", 1, 100000,
	    "NOOP, RSET, VRFY, HELP and repeated HELO/EHLO a session may "
	    "send before each counts as an error"),
	KEY_STRESS(smtpd_starttls_timeout, CONF_DURATION, "300s", "10s", 1,
	    3600, "time for a TLS handshake and the first command after it"),
	KEY_ENUM(stress, stress_modes, "auto",
	    "stress mode: auto (by load), on or off (forced)"),
	KEY(stress_high_water, CONF_UINT, "80", 1, 100,
	    "percent of max_sessions (or of screen_max_clients) that enters "
	    "stress mode"),
	KEY(stress_low_water, CONF_UINT, "60", 0, 100,
	    "percent both must stay below for stress_hold_time to leave it"),
	KEY(stress_hold_time, CONF_DURATION, "60s", 1, 86400,
	    "how long the load must stay below stress_low_water before "
	    "stress mode ends"),

	KEY_ENUM(log_level, log_levels, "info",
	    "least severe messages logged: debug, info, warn or error"),
	KEY_CHECKED(log_file, "auto", logger_file_check,
	    "log file, relative to state_dir unless absolute; auto: "
	    "state_dir/log/tern.log when stderr is not a terminal; empty: "
	    "none (restart only)"),
	KEY(log_file_size, CONF_SIZE, "100M", 64 * 1024, CONF_NOMAX,
	    "size at which log_file is rotated (restart only)"),
	KEY(log_file_keep, CONF_UINT, "10", 1, 1000,
	    "rotations of log_file kept: tern.log.1 (newest) to "
	    "tern.log.N (restart only)"),
	KEY_ENUM(syslog, yes_no, "no",
	    "also send every line to syslog, facility mail (restart only)"),

	/* Submission, TLS and authentication. */
	KEY(listen_submission, CONF_LISTEN, "0.0.0.0:587", 0, 0,
	    "addresses for submission with STARTTLS; empty disables"),
	KEY(listen_submissions, CONF_LISTEN, "0.0.0.0:465", 0, 0,
	    "addresses for submission over implicit TLS; empty disables"),
	KEY(tls_cert, CONF_TEXT, "", 0, 0,
	    "certificate chain (PEM); empty: a self-signed one in state_dir/tls"),
	KEY(tls_key, CONF_TEXT, "", 0, 0,
	    "private key of tls_cert (PEM), read by master before it drops root"),
	KEY_ENUM(smtpd_auth_on_smtp, yes_no, "no",
	    "offer AUTH on port 25 too (inside TLS): yes or no"),
	KEY_ENUM(reject_unauthenticated_local_sender, yes_no, "yes",
	    "refuse, on port 25, MAIL FROM in a local domain without AUTH"),
	KEY(login_pattern, CONF_REGEX, "^[a-z0-9._+-]+(@[a-z0-9.-]+)?$", 0, 0,
	    "extended regular expression every new login must match"),
	KEY(password_min_length, CONF_UINT, "10", 1, PASSWORD_MAX,
	    "shortest password accepted for a new account or a new password"),
	KEY(auth_fail_limit, CONF_UINT, "5", 1, 100000,
	    "distinct failed logins from one client or against one login "
	    "before 454"),
	KEY(auth_fail_window, CONF_DURATION, "10m", 1, 86400,
	    "how long failed logins count toward auth_fail_limit"),
	KEY(auth_fail_delay, CONF_DURATION, "1s", 0, 60,
	    "wait before answering after the second failure; doubles with "
	    "each more; 0 never"),
	KEY(auth_fail_delay_max, CONF_DURATION, "15s", 0, 120,
	    "longest wait of a slowed login, and the wait before 454"),
	KEY(auth_known_client_ttl, CONF_DURATION, "30d", 1, 365 * 86400,
	    "how long a client address that logged in to a login stays "
	    "known to it"),
	KEY(auth_known_client_max, CONF_UINT, "100000", 1, 10000000,
	    "most known (client, login) pairs kept; the least recent go "
	    "first"),
	KEY_ENUM(login_case, enforce_warn, "enforce",
	    "enforce: a login in the wrong case fails; warn: it succeeds, logged"),
	KEY_ENUM(sender_binding, enforce_warn, "enforce",
	    "enforce: senders outside the account are refused; warn: logged"),
	KEY(audit_max_rows, CONF_UINT, "10000", 100, 10000000,
	    "most rows tern audit keeps; the oldest go first"),

	/* The screen in front of port 25. */
	KEY_STRESS(screen_greet_wait, CONF_DURATION, "6s", "2s", 0, 60,
	    "how long a new client on port 25 waits between the first and "
	    "the last line of the greeting; 0: no wait"),
	KEY_ENUM(screen_pregreet_action, screen_actions, "enforce",
	    "a client that talks before the greeting ends: enforce (every "
	    "RCPT refused), drop (521) or ignore (logged)"),
	KEY_CHECKED(screen_access, "", screen_access_check,
	    "'permit NETWORK...' and 'reject NETWORK...', first match wins: "
	    "let in at once or turn away before any test"),
	KEY(screen_max_clients, CONF_UINT, "1000", 1, 100000,
	    "most clients waiting in the screen at once; more hear 421"),
	KEY(screen_ipv6_prefix_length, CONF_UINT, "64", 1, 128,
	    "IPv6 clients in one network of this prefix count as one for "
	    "the per-client limits on port 25"),

	/* The queue and outbound delivery. */
	KEY(queue_retry_min, CONF_DURATION, "5m", 1, 86400,
	    "wait before the first retry of a deferred recipient"),
	KEY(queue_retry_max, CONF_DURATION, "1h", 1, 86400,
	    "longest wait between retries (the wait doubles up to it)"),
	KEY(queue_lifetime, CONF_DURATION, "5d", 1, 60 * 86400,
	    "how long a recipient is retried before it bounces"),
	KEY(queue_scan_interval, CONF_DURATION, "1m", 1, 3600,
	    "how often the queue reads its folder for messages never "
	    "announced to it"),
	KEY(smtp_destination_limit, CONF_UINT, "20", 1, 1000,
	    "most connections at once to one destination domain"),
	KEY(smtp_total_limit, CONF_UINT, "100", 1, 10000,
	    "most outbound connections at once"),
	KEY(smtp_port, CONF_UINT, "25", 1, 65535,
	    "port the SMTP client connects to on MX hosts"),
	KEY_CHECKED(dns_servers, "", hostport_check_dns_servers,
	    "DNS servers, ip[:port] or [ipv6]:port, several separated by "
	    "commas or spaces; empty: /etc/resolv.conf"),
	KEY_CHECKED(relayhost, "", hostport_check_relayhost,
	    "send all remote mail through this smarthost: host[:port], "
	    "[host][:port] without MX lookup; empty: MX routing"),
	KEY(relayhost_password_file, CONF_TEXT, "", 0, 0,
	    "file with 'login password' for AUTH PLAIN at the relayhost "
	    "(only over TLS)"),
	KEY_CHECKED(relay_networks, "", cidr_list_check,
	    "client networks (CIDR) that may relay without AUTH, like "
	    "Postfix's mynetworks"),
	KEY_ENUM(smtp_tls_policy, tls_policies, "may",
	    "outbound TLS: may (opportunistic), encrypt, verify (chain and "
	    "MX name)"),
	KEY(smtp_tls_ca_file, CONF_TEXT, "", 0, 0,
	    "CA certificates (PEM) for verify; empty: the system's store"),
	KEY(smtp_connect_timeout, CONF_DURATION, "30s", 1, 3600,
	    "outbound: time to connect"),
	KEY(smtp_command_timeout, CONF_DURATION, "300s", 1, 3600,
	    "outbound: time for the greeting and each command's reply"),
	KEY(smtp_data_timeout, CONF_DURATION, "600s", 1, 7200,
	    "outbound: time to send the message and hear the final reply"),
	KEY(smtp_reply_deadline, CONF_DURATION, "10m", 2, 7200,
	    "outbound: most time for the whole reply to the final dot, "
	    "however slowly it trickles in; every other reply: half"),

	/* the screen: remembered clients */
	KEY(screen_pass_ttl, CONF_DURATION, "1d", 1, 365 * 86400,
	    "how long a client that passed the screen is handed straight "
	    "through"),
	KEY(screen_fail_ttl, CONF_DURATION, "10m", 1, 30 * 86400,
	    "how long a client that failed the screen is refused at once"),
	KEY(screen_cache_size, CONF_UINT, "100000", 1, 10000000,
	    "most clients the screen remembers; the least recently written "
	    "go first"),
	KEY_CHECKED(screen_forbidden_commands, "CONNECT GET POST",
	    smtp_forbidden_check,
	    "commands that end the session at once, as do lines shaped like "
	    "a header (Word:)"),
	/* the screen: DNS blocklists */
	KEY_CHECKED(screen_dnsbl_sites, "", dnsbl_sites_check,
	    "DNS lists asked about each port-25 client: zone[=filter][*weight], "
	    "separated by commas or blanks; negative weights allow"),
	KEY_INT(screen_dnsbl_threshold, "1", 1, DNSBL_SCORE_MAX,
	    "a client whose DNSBL score reaches this fails the test"),
	KEY_INT(screen_dnsbl_allowlist_threshold, "0", -DNSBL_SCORE_MAX, 0,
	    "a client whose score is at or below this (e.g. -1) passes at "
	    "once; 0: off"),
	KEY_ENUM(screen_dnsbl_action, screen_actions, "enforce",
	    "a listed client: enforce (every RCPT refused), drop (521) or "
	    "ignore (logged)"),
	KEY(screen_dnsbl_timeout, CONF_DURATION, "10s", 1, 60,
	    "a DNS list that has not answered by then does not list the "
	    "client (and is logged)"),
	KEY(screen_dnsbl_min_ttl, CONF_DURATION, "60s", 0, 86400,
	    "DNS list answers are kept at least this long, whatever their TTL"),
	KEY(screen_dnsbl_max_ttl, CONF_DURATION, "1h", 1, 7 * 86400,
	    "DNS list answers are kept at most this long"),
	/* per-client limits */
	KEY(client_connection_limit, CONF_UINT, "50", 0, 100000,
	    "most connections open at once from one client address (IPv4, "
	    "IPv6 prefix); 0: no limit"),
	KEY(client_connection_rate, CONF_UINT, "120", 0, 100000,
	    "most new connections per minute from one client address; "
	    "0: no limit"),
	KEY(client_ipv6_prefix_length, CONF_UINT, "64", 1, 128,
	    "IPv6 clients in one network of this prefix count as one "
	    "client address"),

	/* The metrics page (master/metrics_http.c). */
	KEY(metrics_listen, CONF_LISTEN, "", 0, 0,
	    "addresses serving Prometheus metrics at /metrics over HTTP; "
	    "empty disables"),
	KEY_CHECKED(metrics_allow, "127.0.0.0/8, ::1", cidr_list_check,
	    "client networks (CIDR) that may read the metrics page"),

	/* IMAP and POP3: Dovecot, configured and run by tern (restart only) */
	KEY_ENUM(mailbox_server, mailbox_servers, "dovecot",
	    "who serves IMAP and POP3: dovecot (run by tern) or none"),
	KEY(listen_imap, CONF_LISTEN, "0.0.0.0:143", 0, 0,
	    "addresses for IMAP with STARTTLS; empty disables"),
	KEY(listen_imaps, CONF_LISTEN, "0.0.0.0:993", 0, 0,
	    "addresses for IMAP over implicit TLS; empty disables"),
	KEY(listen_pop3, CONF_LISTEN, "0.0.0.0:110", 0, 0,
	    "addresses for POP3 with STLS; empty disables"),
	KEY(listen_pop3s, CONF_LISTEN, "0.0.0.0:995", 0, 0,
	    "addresses for POP3 over implicit TLS; empty disables"),
	KEY(dovecot_extra_config, CONF_TEXT, "", 0, 0,
	    "file of the postmaster's own Dovecot lines, included last; "
	    "empty: none"),
	KEY(mailbox_max_connections, CONF_UINT, "20", 1, 10000,
	    "most IMAP (and POP3) connections of one account from one "
	    "client address"),

	/* milters, as Postfix speaks to them (plugin/milter*.c) */
	KEY_CHECKED(smtpd_milters, "", milter_list_check,
	    "milters for port 25, in order: inet:HOST:PORT or unix:PATH "
	    "(restart only)"),
	KEY_CHECKED(submission_milters, "", milter_list_check,
	    "milters for ports 587 and 465, in order (restart only)"),
	KEY(milter_connect_timeout, CONF_DURATION, "30s", 1, 3600,
	    "time to connect to a milter and negotiate"),
	KEY(milter_command_timeout, CONF_DURATION, "30s", 1, 3600,
	    "time for a milter's reply to a command"),
	KEY(milter_content_timeout, CONF_DURATION, "300s", 1, 7200,
	    "time for a milter's reply to a header, the body or its end"),
	KEY_ENUM(milter_default_action, milter_actions, "tempfail",
	    "a milter unreachable, too slow or broken: tempfail, accept, "
	    "reject or shutdown"),
	KEY(milter_connect_macros, CONF_TEXT,
	    "j {daemon_name} {daemon_addr} v _", 0, 0,
	    "macros sent to milters at connect"),
	KEY(milter_helo_macros, CONF_TEXT,
	    "{tls_version} {cipher} {cipher_bits} {cert_subject} "
	    "{cert_issuer}", 0, 0, "macros sent to milters at HELO/EHLO"),
	KEY(milter_mail_macros, CONF_TEXT,
	    "i {auth_type} {auth_authen} {auth_author} {mail_addr} "
	    "{mail_host} {mail_mailer}", 0, 0,
	    "macros sent to milters at MAIL FROM"),
	KEY(milter_rcpt_macros, CONF_TEXT,
	    "i {rcpt_addr} {rcpt_host} {rcpt_mailer}", 0, 0,
	    "macros sent to milters at RCPT TO"),
	KEY(milter_data_macros, CONF_TEXT, "i", 0, 0,
	    "macros sent to milters at DATA"),
	KEY(milter_end_of_header_macros, CONF_TEXT, "i", 0, 0,
	    "macros sent to milters with the header"),
	KEY(milter_end_of_data_macros, CONF_TEXT, "i", 0, 0,
	    "macros sent to milters with the body and its end"),
	/* policy delegation: Postfix's policy protocol (postgrey, ...) */
	KEY_CHECKED(smtpd_policy_services, "", policy_services_check,
	    "policy services asked on port 25: inet:HOST:PORT or "
	    "unix:PATH, in order; empty: none"),
	KEY_CHECKED(submission_policy_services, "", policy_services_check,
	    "policy services asked on the submission ports (587, 465); "
	    "empty: none"),
	KEY_CHECKED(policy_stages, "rcpt", policy_stages_check,
	    "when policy services are asked: any of connect, helo, mail, "
	    "rcpt, data, end-of-message"),
	KEY(policy_timeout, CONF_DURATION, "100s", 1, 3600,
	    "policy: time to connect, send a request and read its reply"),
	KEY(policy_try_limit, CONF_UINT, "2", 1, 10,
	    "policy: attempts at a request before policy_default_action"),
	KEY(policy_retry_delay, CONF_DURATION, "1s", 0, 600,
	    "policy: wait between two attempts at a request"),
	KEY_CHECKED(policy_default_action,
	    "451 4.3.5 Server configuration problem", policy_action_check,
	    "policy: the action taken when a service cannot answer"),
	KEY(policy_max_idle, CONF_DURATION, "300s", 1, 86400,
	    "policy: an unused connection to a service is closed after this"),
	KEY(policy_max_ttl, CONF_DURATION, "1000s", 1, 86400,
	    "policy: a connection to a service is not used after this"),
	/* tern's filter protocol (docs/filters.md) */
	KEY_CHECKED(filters, "", filter_conf_check,
	    "filter programs master runs: NAME PATH [ARG...], several "
	    "separated by commas (restart only)"),
	KEY_CHECKED(filter_timeout, "30s", filter_timeout_check,
	    "time a filter has to answer a hook or the handshake: DURATION "
	    "for all, NAME=DURATION for one"),
	KEY_CHECKED(filter_default_action, "defer", filter_default_check,
	    "what a hook gets from a filter that times out, is down or "
	    "breaks the protocol: proceed, defer or reject; NAME=ACTION for one"),
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const struct conf_key *
conf_key_find(const char *name)
{
	for (size_t i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

const struct conf_key *
conf_key_find_stress(const char *name)
{
	const size_t slen = strlen(CONF_STRESS_SUFFIX);
	size_t len = strlen(name);

	if (len <= slen || strcmp(name + len - slen, CONF_STRESS_SUFFIX) != 0)
		return NULL;
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->stress_def != NULL && strlen(k->name) == len - slen &&
		    strncmp(k->name, name, len - slen) == 0)
			return k;
	}
	return NULL;
}

/* This machine's name; "localhost" rather than failing to start. */
static char *
conf_default_hostname(void)
{
	char name[HOST_NAME_MAX + 1];

	if (gethostname(name, sizeof(name)) < 0)
		return xstrdup("localhost");
	name[sizeof(name) - 1] = '\0';
	if (name[0] == '\0')
		return xstrdup("localhost");
	return xstrdup(name);
}
