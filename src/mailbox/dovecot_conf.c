/*
 * Dovecot's configuration, written from tern's settings into
 * state_dir/dovecot/dovecot.conf at every `tern serve` start: IMAP and
 * POP3 listeners, the same TLS certificate as SMTP, logins through a
 * Lua passdb that asks lookup (auth.lua beside it), the Maildirs tern
 * delivers into, and the postmaster's own lines last.  Dovecot 2.3 syntax.
 * Trusts the settings (conf_load checked them); refuses a path that
 * Dovecot's syntax would read otherwise than meant.
 */
#include "mailbox/dovecot.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/hostport.h"
#include "util/durable.h"
#include "util/privsep.h"

/* 64-bit FNV-1a: a short, stable name for the state_dir's base_dir. */
static uint64_t
dovecot_fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Dovecot's auth-worker processes at most (its default: 30). */
#define DOVECOT_AUTH_WORKERS 128

#define DOVECOT_PATH(field, ...) \
	(snprintf(p->field, sizeof(p->field), __VA_ARGS__) < (int)sizeof(p->field))

/* Dovecot's sockets live under base_dir, and state_dir may be long (the
 * tests' are): a short folder named by a hash of state_dir, in /run as
 * root, in /tmp otherwise (one per user and state_dir).  As root the
 * config Dovecot reads and its state are root's, beside base_dir; as an
 * ordinary user they stay in state_dir/dovecot. */
static int
dovecot_run_paths(const char *state_dir, struct dovecot_paths *p)
{
	unsigned long long h = (unsigned long long)dovecot_fnv(state_dir);

	if (!p->root)
		return DOVECOT_PATH(base_dir, "/tmp/tern-dovecot-%u-%016llx",
		    (unsigned)p->uid, h) && DOVECOT_PATH(run_conf, "%s",
		    p->conf) && DOVECOT_PATH(state, "%s/dovecot/state",
		    state_dir) ? 0 : -1;
	return DOVECOT_PATH(base_dir, DOVECOT_RUN_ROOT "/%016llx", h) &&
	    DOVECOT_PATH(run_name, "%016llx.conf", h) &&
	    DOVECOT_PATH(run_conf, DOVECOT_RUN_ROOT "/%s", p->run_name) &&
	    DOVECOT_PATH(state, DOVECOT_RUN_ROOT "/%016llx.state", h) ? 0 : -1;
}

static int
dovecot_ids(const struct conf *conf, struct dovecot_paths *p)
{
	struct passwd *pw;
	struct group *gr;

	p->root = geteuid() == 0;
	if (privsep_ids(conf->user, &p->uid, &p->gid) < 0)
		return -1;
	if ((pw = getpwuid(p->uid)) == NULL || (gr = getgrgid(p->gid)) == NULL)
		return -1;
	snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	snprintf(p->group, sizeof(p->group), "%s", gr->gr_name);
	return strlen(pw->pw_name) < sizeof(p->user) &&
	    strlen(gr->gr_name) < sizeof(p->group) ? 0 : -1;
}

int
dovecot_paths_init(const struct conf *conf, struct dovecot_paths *p,
    char *err, size_t errlen)
{
	int tls_own = conf->tls_cert[0] != '\0';

	memset(p, 0, sizeof(*p));
	if (dovecot_ids(conf, p) < 0) {
		snprintf(err, errlen, "dovecot: unknown user %s", conf->user);
		return -1;
	}
	if (!DOVECOT_PATH(dir, "%s/dovecot", conf->state_dir) ||
	    !DOVECOT_PATH(conf, "%s/dovecot/dovecot.conf", conf->state_dir) ||
	    !DOVECOT_PATH(lua, "%s/dovecot/auth.lua", conf->state_dir) ||
	    !DOVECOT_PATH(auth_sock, "%s/auth.sock", conf->state_dir) ||
	    !DOVECOT_PATH(cert, "%s", tls_own ? conf->tls_cert :
	    conf->state_dir) || !DOVECOT_PATH(key, "%s", tls_own ?
	    conf->tls_key : conf->state_dir) ||
	    dovecot_run_paths(conf->state_dir, p) < 0) {
		snprintf(err, errlen, "dovecot: a path is too long");
		return -1;
	}
	/* tls_server_ctx's self-signed pair, when none is configured. */
	if (!tls_own && (!DOVECOT_PATH(cert, "%s/tls/cert.pem", conf->state_dir) ||
	    !DOVECOT_PATH(key, "%s/tls/key.pem", conf->state_dir))) {
		snprintf(err, errlen, "dovecot: a path is too long");
		return -1;
	}
	return 0;
}

/* A value Dovecot reads as written: no space (args are split on it), no
 * '%' (variables), '$' (settings), '#', quote, backslash or control. */
static int
dovecot_plain(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c >= 0x7f || strchr("%$#\"\\<>", c) != NULL)
			return 0;
	}
	return 1;
}

static int
dovecot_check_paths(const struct conf *conf, const struct dovecot_paths *p,
    char *err, size_t errlen)
{
	const char *const paths[] = { p->conf, p->state, p->lua,
	    p->auth_sock, p->cert, p->key, conf->dovecot_extra_config };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!dovecot_plain(paths[i]) && paths[i][0] != '\0') {
			snprintf(err, errlen, "dovecot: path %.200s cannot be "
			    "written in Dovecot's configuration (spaces, %%, $, "
			    "#, quotes and backslashes are not allowed)",
			    paths[i]);
			return -1;
		}
	}
	return 0;
}

/* One inet_listener per address of a listen setting; the first takes
 * the name of Dovecot's built-in listener (imap, imaps...), which would
 * otherwise stay on its default port, and is port 0 (off) when the
 * setting is empty. */
static int
dovecot_listeners(FILE *f, const char *name, const char *list, int ssl,
    char *err, size_t errlen)
{
	char spec[HOSTPORT_SPEC_MAX], host[HOSTPORT_HOST_MAX];
	const char *why;
	unsigned port, i = 0;
	int r;

	while ((r = hostport_list_next(&list, spec)) != 0) {
		if (r < 0 || hostport_parse(spec, host, &port, &why) < 0) {
			snprintf(err, errlen, "dovecot: bad listen address %.100s",
			    spec);
			return -1;
		}
		if (i++ == 0)
			fprintf(f, "  inet_listener %s {\n", name);
		else
			fprintf(f, "  inet_listener %s_%u {\n", name, i);
		fprintf(f, "    address = %s\n    port = %u\n%s  }\n", host,
		    port, ssl ? "    ssl = yes\n" : "");
	}
	if (i == 0)
		fprintf(f, "  inet_listener %s {\n    port = 0\n  }\n", name);
	return 0;
}

static int
dovecot_service(FILE *f, const char *proto, const char *plain,
    const char *tls, const struct dovecot_paths *p, char *err, size_t errlen)
{
	char name[16];

	fprintf(f, "service %s-login {\n", proto);
	if (dovecot_listeners(f, proto, plain, 0, err, errlen) < 0)
		return -1;
	snprintf(name, sizeof(name), "%ss", proto);
	if (dovecot_listeners(f, name, tls, 1, err, errlen) < 0)
		return -1;
	/* An ordinary user cannot chroot. */
	if (!p->root)
		fprintf(f, "  chroot =\n");
	fprintf(f, "}\n");
	return 0;
}

static void
dovecot_head(FILE *f, const struct conf *conf, const struct dovecot_paths *p)
{
	int imap = conf->listen_imap[0] != '\0' || conf->listen_imaps[0] != '\0';
	int pop3 = conf->listen_pop3[0] != '\0' || conf->listen_pop3s[0] != '\0';

	fprintf(f, "# Written by tern serve at every start from tern's settings;\n"
	    "# do not edit (changes are lost): use dovecot_extra_config.\n\n");
	fprintf(f, "protocols =%s%s\n", imap ? " imap" : "", pop3 ? " pop3" : "");
	fprintf(f, "instance_name = tern-dovecot\n"
	    "# Short, whatever state_dir's length: sockets live here.\n"
	    "base_dir = %s\nstate_dir = %s\n", p->base_dir, p->state);
	/* tern's log carries these lines, with its own prefix. */
	fprintf(f, "log_path = /dev/stderr\nlog_timestamp =\n\n");
}

static void
dovecot_tls(FILE *f, const struct dovecot_paths *p)
{
	fprintf(f, "# The certificate SMTP uses; logins only inside TLS.\n"
	    "ssl = yes\nssl_cert = <%s\nssl_key = <%s\n"
	    "ssl_min_protocol = TLSv1.2\n"
	    "disable_plaintext_auth = yes\n\n", p->cert, p->key);
}

/* Logins as typed (tern compares them exactly, and allows '+'), no
 * cache (a deleted account is refused at once), the Lua script asking
 * lookup.  blocking=yes: the script waits on lookup's socket and sleeps
 * out the brake's delay, which must not stall Dovecot's auth process, so
 * it runs in auth-worker processes, as tern's user, who alone may reach
 * auth.sock.  A worker waiting out a delay is busy meanwhile: Dovecot's
 * default of 30 workers is raised so that a few slowed clients cannot
 * hold them all. */
static void
dovecot_auth(FILE *f, const struct dovecot_paths *p)
{
	fprintf(f, "auth_mechanisms = plain login\n"
	    "auth_username_format = %%u\nauth_username_chars =\n"
	    "auth_cache_size = 0\nauth_worker_max_count = %u\n",
	    DOVECOT_AUTH_WORKERS);
	fprintf(f, "passdb {\n  driver = lua\n  args = file=%s blocking=yes\n"
	    "}\n", p->lua);
	fprintf(f, "userdb {\n  driver = prefetch\n}\n");
	fprintf(f, "userdb {\n  driver = lua\n  args = file=%s blocking=yes\n"
	    "}\n", p->lua);
	fprintf(f, "service auth {\n  user = %s\n}\n", p->user);
	fprintf(f, "service auth-worker {\n  user = %s\n"
	    "  unix_listener auth-worker {\n    user = %s\n    mode = 0600\n"
	    "  }\n}\n\n", p->user, p->user);
}

/* anvil: no auth penalty of Dovecot's own, since tern's brake decides
 * (Dovecot's would slow by address alone, every colleague behind one NAT
 * with it, which tern's known clients are spared); and as root, its
 * socket for tern's user, who runs `doveadm kick` for `tern user del`
 * (kick signals only processes of that user: mail runs as it). */
static void
dovecot_anvil(FILE *f, const struct dovecot_paths *p)
{
	fprintf(f, "service anvil {\n");
	if (p->root)
		fprintf(f, "  unix_listener anvil {\n    user = %s\n"
		    "    mode = 0600\n  }\n", p->user);
	else
		fprintf(f, "  chroot =\n");
	fprintf(f, "  unix_listener anvil-auth-penalty {\n    mode = 0\n"
	    "  }\n}\n");
}

/* Who runs what.  As root: logins as dovenull, internal services as
 * dovecot (Debian's users), mail as tern's user.  As an ordinary user:
 * everything as that user, and no chroot. */
static void
dovecot_users(FILE *f, const struct dovecot_paths *p)
{
	fprintf(f, "mail_uid = %s\nmail_gid = %s\nfirst_valid_uid = %u\n"
	    "first_valid_gid = %u\n", p->user, p->group, (unsigned)p->uid,
	    (unsigned)p->gid);
	if (p->root) {
		fprintf(f, "default_login_user = dovenull\n"
		    "default_internal_user = dovecot\n\n");
		dovecot_anvil(f, p);
		fprintf(f, "\n");
		return;
	}
	fprintf(f, "default_login_user = %s\ndefault_internal_user = %s\n"
	    "default_internal_group = %s\n", p->user, p->user, p->group);
	dovecot_anvil(f, p);
	fprintf(f, "service ipc {\n  chroot =\n}\n"
	    "service old-stats {\n  chroot =\n}\n\n");
}

/* Every account's home is its Maildir (the userdb answer); INBOX is the
 * Maildir itself, folders are Maildir++ (.Sent, .Sub.Folder). */
static void
dovecot_mail(FILE *f, const struct conf *conf)
{
	static const char *const special[] = { "Drafts", "Sent", "Trash",
	    "Junk", "Archive" };

	fprintf(f, "mail_location = maildir:~\n"
	    "# Stable across restarts: IMAP UID and UIDVALIDITY, kept in the\n"
	    "# Maildir's dovecot-uidlist.\n"
	    "pop3_uidl_format = %%08Xu%%08Xv\n");
	fprintf(f, "namespace inbox {\n  inbox = yes\n");
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		fprintf(f, "  mailbox %s {\n    special_use = \\%s\n"
		    "    auto = subscribe\n  }\n", special[i], special[i]);
	fprintf(f, "}\n");
	/* IDLE, UIDPLUS, MOVE, CONDSTORE, QRESYNC, SPECIAL-USE, LITERAL+
	 * and ENABLE are in Dovecot 2.3's default capabilities. */
	fprintf(f, "protocol imap {\n  mail_max_userip_connections = %u\n}\n",
	    conf->mailbox_max_connections);
	fprintf(f, "protocol pop3 {\n  mail_max_userip_connections = %u\n}\n\n",
	    conf->mailbox_max_connections);
}

int
dovecot_conf_text(const struct conf *conf, const struct dovecot_paths *p,
    char **text_r, size_t *len_r, char *err, size_t errlen)
{
	FILE *f;
	int r = -1;

	*text_r = NULL;
	*len_r = 0;
	if (dovecot_check_paths(conf, p, err, errlen) < 0)
		return -1;
	if ((f = open_memstream(text_r, len_r)) == NULL) {
		snprintf(err, errlen, "dovecot: %s", strerror(errno));
		return -1;
	}
	dovecot_head(f, conf, p);
	dovecot_tls(f, p);
	dovecot_auth(f, p);
	dovecot_users(f, p);
	dovecot_mail(f, conf);
	if (dovecot_service(f, "imap", conf->listen_imap, conf->listen_imaps,
	    p, err, errlen) < 0 || dovecot_service(f, "pop3",
	    conf->listen_pop3, conf->listen_pop3s, p, err, errlen) < 0)
		goto done;
	/* Last, so that the postmaster's lines win. */
	if (conf->dovecot_extra_config[0] != '\0')
		fprintf(f, "\n!include_try %s\n", conf->dovecot_extra_config);
	r = 0;
done:
	if (fclose(f) != 0 && r == 0) {
		snprintf(err, errlen, "dovecot: %s", strerror(errno));
		r = -1;
	}
	if (r < 0) {
		free(*text_r);
		*text_r = NULL;
	}
	return r;
}

/* A folder of ours, not a link someone put there (state_dir is the
 * user's): as root it is root's, so the user cannot change what
 * Dovecot's master reads in it. */
static int
dovecot_mkdir(const char *dir, const struct dovecot_paths *p)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return errno = ENOTDIR, -1;
	if (st.st_uid != geteuid() && (!p->root || chown(dir, 0, 0) < 0))
		return errno = EPERM, -1;
	return chmod(dir, 0755);
}

/* The login script, after a line naming lookup's socket: a path that
 * dovecot_check_paths let through (no quote, backslash or control byte)
 * stands in a Lua string as it is.  In the folder of the config, so
 * root's when tern runs as root; readable by tern's user, who runs it. */
static int
dovecot_lua_write(const struct dovecot_paths *p)
{
	char *text = NULL;
	int n = asprintf(&text, "local TERN_AUTH_SOCK = \"%s\"\n%s",
	    p->auth_sock, dovecot_auth_lua);
	int r;

	if (n < 0)
		return -1;
	r = durable_replace(p->dir, "auth.lua", text, (size_t)n);
	if (r == 0)
		r = chmod(p->lua, 0644);
	free(text);
	return r;
}

int
dovecot_conf_write(const struct conf *conf, const struct dovecot_paths *p,
    char *err, size_t errlen)
{
	char *text;
	size_t len;
	int r;

	if (dovecot_conf_text(conf, p, &text, &len, err, errlen) < 0)
		return -1;
	if (dovecot_mkdir(p->dir, p) < 0 ||
	    (p->root && dovecot_mkdir(DOVECOT_RUN_ROOT, p) < 0) ||
	    dovecot_mkdir(p->state, p) < 0 || dovecot_mkdir(p->base_dir, p) < 0) {
		snprintf(err, errlen, "dovecot: cannot create its folders "
		    "(%s, %s): %s", p->dir, p->base_dir, strerror(errno));
		free(text);
		return -1;
	}
	/* The copy in state_dir is for the postmaster's eyes, and for the
	 * doveadm that `tern user del` runs as tern's user, when Dovecot
	 * reads root's: readable by all (it names the TLS key, never holds
	 * it). */
	if (dovecot_lua_write(p) < 0) {
		snprintf(err, errlen, "dovecot: cannot write %s: %s", p->lua,
		    strerror(errno));
		free(text);
		return -1;
	}
	r = durable_replace(p->dir, "dovecot.conf", text, len);
	if (r == 0 && (r = chmod(p->conf, 0644)) < 0)
		r = -1;
	if (r < 0)
		snprintf(err, errlen, "dovecot: cannot write %s: %s", p->conf,
		    strerror(errno));
	if (r == 0 && p->root && (r = durable_replace(DOVECOT_RUN_ROOT,
	    p->run_name, text, len)) < 0)
		snprintf(err, errlen, "dovecot: cannot write %s: %s",
		    p->run_conf, strerror(errno));
	free(text);
	return r;
}
