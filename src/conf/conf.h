/*
 * The settings: one table in conf_table.c declares every key with its type,
 * default, bounds and one line of help; docs/config.md lists the same
 * table.  conf_load() reads "key = value" lines; an unknown key or a bad
 * value is an error naming file:line.
 */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_DEFAULT_PATH "/etc/tern/tern.conf"

struct conf {
	char *path;                 /* the file it was read from */
	char *hostname;             /* default: gethostname() */
	char *state_dir;
	char *user;
	char *listen_smtp;          /* "" disables */
	uint64_t max_message_size;  /* bytes */
	unsigned max_recipients;
	unsigned smtpd_timeout;     /* seconds */
	unsigned smtpd_timeout_stress;
	unsigned smtpd_command_deadline; /* seconds; 0: smtpd_timeout */
	unsigned smtpd_min_data_rate;   /* bytes/s inside DATA; 0: none */
	int log_level;              /* enum log_level */
	char *log_file;             /* "auto", a path, or "" for none */
	uint64_t log_file_size;     /* bytes before a rotation */
	unsigned log_file_keep;     /* rotations kept */
	int syslog;                 /* 0 no, 1 yes */

	/* limits and stress mode; read the _stress twins through conf_now() */
	unsigned max_sessions;      /* restart only: smtpd's slots */
	unsigned smtpd_hard_error_limit;
	unsigned smtpd_hard_error_limit_stress;
	unsigned smtpd_junk_command_limit;
	unsigned smtpd_junk_command_limit_stress;
	unsigned smtpd_starttls_timeout;        /* seconds */
	unsigned smtpd_starttls_timeout_stress;
	int stress;                 /* CONF_STRESS_AUTO, _ON, _OFF */
	unsigned stress_high_water; /* percent */
	unsigned stress_low_water;  /* percent */
	unsigned stress_hold_time;  /* seconds */

	/* submission, TLS and authentication */
	char *listen_submission;    /* STARTTLS; "" disables */
	char *listen_submissions;   /* implicit TLS; "" disables */
	char *tls_cert;             /* "" for the self-signed one */
	char *tls_key;
	int smtpd_auth_on_smtp;     /* 0 no, 1 yes */
	int reject_unauthenticated_local_sender;
	char *login_pattern;
	unsigned password_min_length;
	unsigned auth_fail_limit;
	unsigned auth_fail_window;  /* seconds */
	unsigned auth_fail_delay;   /* seconds; 0: failures never slow */
	unsigned auth_fail_delay_max;
	unsigned auth_known_client_ttl;
	unsigned auth_known_client_max;
	int login_case;             /* CONF_ENFORCE or CONF_WARN */
	int sender_binding;
	unsigned audit_max_rows;

	/* the screen in front of port 25 */
	unsigned screen_greet_wait; /* seconds */
	unsigned screen_greet_wait_stress;
	int screen_pregreet_action; /* CONF_SCREEN_ENFORCE, _DROP, _IGNORE */
	char *screen_access;        /* "permit NET..., reject NET..." */
	unsigned screen_max_clients;
	unsigned screen_ipv6_prefix_length;

	/* the queue and outbound delivery */
	unsigned queue_retry_min;   /* seconds */
	unsigned queue_retry_max;
	unsigned queue_lifetime;
	unsigned queue_scan_interval; /* seconds between reads of the queue folder */
	unsigned smtp_destination_limit;
	unsigned smtp_total_limit;
	unsigned smtp_port;
	char *dns_servers;          /* "" for /etc/resolv.conf */
	char *relayhost;            /* "" for MX routing */
	char *relayhost_password_file;
	char *relay_networks;       /* CIDR list */
	int smtp_tls_policy;        /* CONF_TLS_MAY, _ENCRYPT, _VERIFY */
	char *smtp_tls_ca_file;
	unsigned smtp_connect_timeout;
	unsigned smtp_command_timeout;
	unsigned smtp_data_timeout;
	unsigned smtp_reply_deadline;   /* the final dot's; others get half */

	/* the screen: remembered clients */
	unsigned screen_pass_ttl;       /* seconds */
	unsigned screen_fail_ttl;       /* seconds */
	unsigned screen_cache_size;     /* entries */
	char *screen_forbidden_commands; /* words; "" for none */
	/* the screen: DNS blocklists */
	char *screen_dnsbl_sites;   /* "" for none */
	int screen_dnsbl_threshold;
	int screen_dnsbl_allowlist_threshold; /* 0: off */
	int screen_dnsbl_action;    /* CONF_SCREEN_ENFORCE, _DROP, _IGNORE */
	unsigned screen_dnsbl_timeout;  /* seconds */
	unsigned screen_dnsbl_min_ttl;  /* seconds */
	unsigned screen_dnsbl_max_ttl;  /* seconds */
	/* per-client limits */
	unsigned client_connection_limit;   /* open at once; 0: none */
	unsigned client_connection_rate;    /* new per minute; 0: none */
	unsigned client_ipv6_prefix_length; /* bits of an IPv6 client's key */
	/* the metrics page */
	char *metrics_listen;       /* restart only; "" disables */
	char *metrics_allow;        /* CIDR list */
	/* IMAP and POP3 through Dovecot */
	int mailbox_server;         /* CONF_MAILBOX_DOVECOT or _NONE */
	char *listen_imap;          /* STARTTLS; "" disables */
	char *listen_imaps;         /* implicit TLS; "" disables */
	char *listen_pop3;          /* STLS; "" disables */
	char *listen_pop3s;         /* implicit TLS; "" disables */
	char *dovecot_extra_config; /* "" for none */
	unsigned mailbox_max_connections; /* per account and client address */
	/* milters (plugin/milter*.c) */
	char *smtpd_milters;        /* port 25; "" for none; restart only */
	char *submission_milters;   /* 587 and 465; restart only */
	unsigned milter_connect_timeout;  /* seconds */
	unsigned milter_command_timeout;
	unsigned milter_content_timeout;
	int milter_default_action;  /* CONF_MILTER_TEMPFAIL, ... */
	char *milter_connect_macros;
	char *milter_helo_macros;
	char *milter_mail_macros;
	char *milter_rcpt_macros;
	char *milter_data_macros;
	char *milter_end_of_header_macros;
	char *milter_end_of_data_macros;
	/* policy delegation (Postfix's policy protocol): plugin/policy*.c */
	char *smtpd_policy_services;    /* port 25; "" for none */
	char *submission_policy_services; /* 587 and 465; "" for none */
	char *policy_stages;            /* connect helo mail rcpt data end-of-message */
	unsigned policy_timeout;        /* seconds */
	unsigned policy_try_limit;
	unsigned policy_retry_delay;    /* seconds */
	char *policy_default_action;
	unsigned policy_max_idle;       /* seconds */
	unsigned policy_max_ttl;        /* seconds */
	/* tern's filter protocol (plugin/filter_conf.h) */
	char *filters;              /* NAME PATH [ARG...], ...; "" none */
	char *filter_timeout;       /* DURATION and NAME=DURATION items */
	char *filter_default_action; /* ACTION and NAME=ACTION items */
};

/* The values of smtp_tls_policy (and of per-domain policies). */
enum { CONF_TLS_MAY = 0, CONF_TLS_ENCRYPT = 1, CONF_TLS_VERIFY = 2 };

/* What the screen does with a client that failed a test. */
enum { CONF_SCREEN_ENFORCE = 0, CONF_SCREEN_DROP = 1, CONF_SCREEN_IGNORE = 2 };
/* The values of mailbox_server. */
enum { CONF_MAILBOX_DOVECOT = 0, CONF_MAILBOX_NONE = 1 };
/* The values of milter_default_action. */
enum { CONF_MILTER_TEMPFAIL = 0, CONF_MILTER_ACCEPT = 1,
    CONF_MILTER_REJECT = 2, CONF_MILTER_SHUTDOWN = 3 };
/* The values of stress. */
enum { CONF_STRESS_AUTO = 0, CONF_STRESS_ON = 1, CONF_STRESS_OFF = 2 };

/* max_sessions' bound: a session's slot is 16 bits of its reference. */
#define CONF_SESSIONS_MAX 65536

/*
 * Stress mode is a property of the process, not of a config: master
 * decides it and tells each child, which sets it here; a reload does not
 * touch it.  A child forked later inherits master's flag.  conf_now()
 * reads a setting declared with KEY_STRESS, picking its stress value
 * while the flag is set.
 */
void conf_stress_set(int on);
int conf_stress_active(void);
#define conf_now(c, field) \
	(conf_stress_active() ? (c)->field##_stress : (c)->field)

/* The values of login_case and sender_binding. */
enum { CONF_ENFORCE = 0, CONF_WARN = 1 };

/* Fills c with the defaults, then reads path over them.  Returns 0, or -1
 * with a one-line "file:line: message" (or "file: message") in err. */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/* Prints every setting as "key = value", in table order. */
void conf_print(const struct conf *c, FILE *f);

void conf_free(struct conf *c);

/* conf_reload.c: a reload keeps the running value of each setting only a
 * restart can change (listen_*, tls_cert, tls_key, dns_servers, user,
 * state_dir, max_sessions).  For each of them that fresh (just read) holds
 * differently from running, calls changed (when not NULL) with its name and both
 * values, then puts running's value into fresh and fresh's into running,
 * so that running may be freed and replaced by fresh.  Returns how many
 * differed. */
typedef void conf_changed_fn(const char *name, const char *running,
    const char *file, void *arg);
size_t conf_keep_restart_only(struct conf *fresh, struct conf *running,
    conf_changed_fn *changed, void *arg);
/* The i-th restart-only setting's name, NULL past the last. */
const char *conf_restart_only_name(size_t i);

/* "30s", "5m", "2h", "1d" or plain seconds. 0 or -1. */
int conf_parse_duration(const char *s, unsigned *secs_r);
/* "10k", "50M", "1G" (powers of 1024) or plain bytes. 0 or -1. */
int conf_parse_size(const char *s, uint64_t *bytes_r);

#endif
