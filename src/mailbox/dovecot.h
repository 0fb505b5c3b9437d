/*
 * Dovecot as tern's IMAP and POP3 server: the configuration tern writes
 * for it (dovecot_conf.c), the check of its version (dovecot_version.c)
 * and the process that runs and restarts it (dovecot_run.c).  Dovecot
 * itself is trusted as the mail server postmasters trust; what it prints
 * is escaped before it reaches tern's log.
 */
#ifndef TERN_DOVECOT_H
#define TERN_DOVECOT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/conf.h"

#define DOVECOT_BIN "/usr/sbin/dovecot"
/* Debian's dovecot-auth-lua: the passdb and userdb driver lua. */
#define DOVECOT_LUA_MODULE "/usr/lib/dovecot/modules/auth/libauthdb_lua.so"

/* Dovecot binds unix sockets under base_dir (sockaddr_un: 108 bytes with
 * the NUL) with names of up to ~40 bytes ("token-login/tokenlogin",
 * "replication-notify-fifo"): base_dir stays below this. */
#define DOVECOT_BASE_DIR_MAX 60

/* Root's folder for Dovecot's runtime files when tern runs as root. */
#define DOVECOT_RUN_ROOT "/run/tern-dovecot"

/* Where the generated config puts things, and who runs what.  As root,
 * what Dovecot's master (root) reads and writes lies outside state_dir,
 * which tern's user owns and could rearrange: it reads a root-owned copy
 * of the config, run_conf, and keeps its state in /run too. */
struct dovecot_paths {
	char dir[PATH_MAX];             /* state_dir/dovecot */
	char conf[PATH_MAX];            /* state_dir/dovecot/dovecot.conf */
	char run_conf[PATH_MAX];        /* the file Dovecot reads */
	char run_name[32];              /* its name in DOVECOT_RUN_ROOT */
	char state[PATH_MAX];           /* Dovecot's own state_dir */
	char base_dir[DOVECOT_BASE_DIR_MAX + 1];
	char lua[PATH_MAX];             /* state_dir/dovecot/auth.lua */
	char auth_sock[PATH_MAX];       /* lookup's socket for logins */
	char cert[PATH_MAX], key[PATH_MAX];
	char user[64], group[64];       /* tern's user and its group */
	uid_t uid;
	gid_t gid;
	int root;                       /* Dovecot's master runs as root */
};

/* The Lua script of Dovecot's passdb and userdb (dovecot_auth.lua, built
 * in by the Makefile): it asks lookup over auth.sock about every login. */
extern const char dovecot_auth_lua[];

/* Fills p from conf; 0, or -1 with err. */
int dovecot_paths_init(const struct conf *conf, struct dovecot_paths *p,
    char *err, size_t errlen);

/* The text of dovecot.conf into a malloc'd *text_r (its length in
 * *len_r); 0, or -1 with err (a path Dovecot's syntax cannot hold). */
int dovecot_conf_text(const struct conf *conf, const struct dovecot_paths *p,
    char **text_r, size_t *len_r, char *err, size_t errlen);

/* Creates Dovecot's folders and writes dovecot.conf; 0, or -1 with err. */
int dovecot_conf_write(const struct conf *conf, const struct dovecot_paths *p,
    char *err, size_t errlen);

/* Runs `bin --version`: 0 for a 2.3, -1 with err for anything else
 * (missing, or 2.4 and later, whose configuration syntax differs). */
int dovecot_version_check(const char *bin, char *err, size_t errlen);
/* "2.3.19.1 (9b53102964)" -> 2, 3; 0 or -1. */
int dovecot_version_parse(const char *text, unsigned *major_r,
    unsigned *minor_r);

/* Checks the version, writes the config and forks the process that runs
 * Dovecot (while master may still be root: Dovecot's master binds its
 * ports and switches users itself).  The pid of that process (0: no
 * listener, none started), or -1 with err.  *ctl_r is master's end of a
 * pipe to it: closing it stops Dovecot (master may not signal a process
 * that is root); every other process of tern must close it. */
pid_t dovecot_start(const struct conf *conf, int *ctl_r, char *err,
    size_t errlen);

#endif
