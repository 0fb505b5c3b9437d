/*
 * Runs isync's mbsync for one account.  What it trusts: the job's values
 * (checked by the command: the host by imap_url_parse, the rest here for
 * control bytes, since one would end a line of mbsync's configuration).
 * What it does not: mbsync's output, read with a bound and only counted
 * and quoted in the error line; its state files, read with a bound and
 * only counted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mailbox/mbsync.h"
#include "util/durable.h"

#define MBSYNC_CONFIG_MAX 8192
#define MBSYNC_LINE_MAX 512
/* More lines than this from one run are read and dropped, not counted:
 * the run has failed long before. */
#define MBSYNC_LINES_MAX 10000

/* What the state files say: copied (near UID > 0) and not copied. */
struct mbsync_count {
	unsigned long copied, skipped;
};

/* Appends value to out as one quoted mbsync argument: '"' and '\' are
 * escaped with '\'; a control byte is refused. */
static int
mbsync_quote(char *out, size_t outlen, size_t *o, const char *value)
{
	if (*o + 1 >= outlen)
		return -1;
	out[(*o)++] = '"';
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || *o + 3 >= outlen)
			return -1;
		if (c == '"' || c == '\\')
			out[(*o)++] = '\\';
		out[(*o)++] = (char)c;
	}
	out[(*o)++] = '"';
	out[*o] = '\0';
	return 0;
}

/* Appends "KEY VALUE\n", the value quoted. */
static int
mbsync_line(char *out, size_t outlen, size_t *o, const char *key,
    const char *value)
{
	int n = snprintf(out + *o, outlen - *o, "%s ", key);

	if (n < 0 || (size_t)n >= outlen - *o)
		return -1;
	*o += (size_t)n;
	if (mbsync_quote(out, outlen, o, value) < 0 || *o + 2 > outlen)
		return -1;
	out[(*o)++] = '\n';
	out[*o] = '\0';
	return 0;
}

/* Appends fixed text. */
static int
mbsync_text(char *out, size_t outlen, size_t *o, const char *text)
{
	size_t n = strlen(text);

	if (n >= outlen - *o)
		return -1;
	memcpy(out + *o, text, n + 1);
	*o += n;
	return 0;
}

int
mbsync_config(const struct mbsync_job *job, char *out, size_t outlen)
{
	char port[16], state[4096];
	size_t o = 0;

	snprintf(port, sizeof(port), "%u", job->port);
	/* SyncState names a folder only with its trailing '/'. */
	if ((size_t)snprintf(state, sizeof(state), "%s/", job->state) >=
	    sizeof(state) || outlen == 0)
		return -1;
	out[0] = '\0';
	if (mbsync_text(out, outlen, &o, "IMAPAccount old\n") < 0 ||
	    mbsync_line(out, outlen, &o, "Host", job->host) < 0 ||
	    mbsync_line(out, outlen, &o, "Port", port) < 0 ||
	    mbsync_line(out, outlen, &o, "User", job->user) < 0 ||
	    mbsync_line(out, outlen, &o, "Pass", job->password) < 0 ||
	    /* TLS from the first byte, at least 1.2, certificate verified
	     * against the system's CAs and the --ca-file. */
	    mbsync_text(out, outlen, &o, "SSLType IMAPS\n"
	        "SSLVersions TLSv1.2 TLSv1.3\n") < 0 ||
	    (job->ca_file != NULL && mbsync_line(out, outlen, &o,
	        "CertificateFile", job->ca_file) < 0) ||
	    mbsync_text(out, outlen, &o, "\nIMAPStore far\nAccount old\n\n"
	        "MaildirStore near\nSubFolders Maildir++\n"
	        /* UIDs in a database per folder, not ",U=N" in file names:
	         * Dovecot's MOVE keeps a file's name, and a name carrying
	         * INBOX's UID into another folder there is a duplicate UID
	         * that fails the next run. */
	        "AltMap yes\n") < 0 ||
	    mbsync_line(out, outlen, &o, "Inbox", job->maildir) < 0 ||
	    /* Pull only, new messages and flag changes: a deletion on the
	     * old server is not carried over, nothing is ever pushed back,
	     * and a file tern delivered is never renamed.  The arrival date
	     * becomes the file's mtime, which Dovecot shows as INTERNALDATE. */
	    mbsync_text(out, outlen, &o, "\nChannel old\nFar :far:\n"
	        "Near :near:\nPatterns *\nCreate Near\nSync Pull New Flags\n"
	        "Expunge None\nRemove None\nCopyArrivalDate yes\n") < 0 ||
	    mbsync_line(out, outlen, &o, "SyncState", state) < 0)
		return -1;
	return 0;
}

/* Creates the Maildir's tmp, new and cur, and the state folder. */
static int
mbsync_prepare(const struct mbsync_job *job, char *err, size_t errlen)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[4096];

	for (size_t i = 0; i < 3; i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", job->maildir,
		    sub[i]) >= sizeof(p) || durable_mkdirs(p, 0700) < 0) {
			snprintf(err, errlen, "cannot create %s: %s",
			    job->maildir, strerror(errno));
			return -1;
		}
	}
	if (durable_mkdirs(job->state, 0700) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", job->state,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Counts the entries of one state file: after the header and its blank
 * line, "FARUID NEARUID FLAGS" per message of the old server. */
static void
mbsync_count_file(int dirfd, const char *name, struct mbsync_count *c)
{
	char line[MBSYNC_LINE_MAX];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int body = 0;
	FILE *f;

	if (fd < 0)
		return;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		long far, near;

		if (!body) {
			body = line[0] == '\n';
			continue;
		}
		if (sscanf(line, "%ld %ld", &far, &near) != 2)
			continue;
		if (near > 0)
			c->copied++;
		else
			c->skipped++;
	}
	fclose(f);
}

int
mbsync_state_file(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] != '.' && (dot == NULL ||
	    (strcmp(dot, ".journal") != 0 && strcmp(dot, ".new") != 0 &&
	    strcmp(dot, ".lock") != 0));
}

/* Sums every state file of the folder. */
static void
mbsync_count(const char *state, struct mbsync_count *c)
{
	DIR *d = opendir(state);
	struct dirent *e;

	memset(c, 0, sizeof(*c));
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (mbsync_state_file(e->d_name))
			mbsync_count_file(dirfd(d), e->d_name, c);
	}
	closedir(d);
}

/* The child: configuration on stdin, errors into the pipe, nothing else
 * inherited; a clean environment (HOME is the state folder, so that
 * nothing of the calling user's is read). */
static void
mbsync_exec(int cfg, int out, const char *state)
{
	char home[4200];
	char *argv[] = { "mbsync", "-c", "/dev/stdin", "-a", NULL };
	char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", home, "LC_ALL=C",
	    NULL };
	int null = open("/dev/null", O_RDWR);

	snprintf(home, sizeof(home), "HOME=%s", state);
	if (null < 0 || dup2(cfg, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	execvpe(argv[0], argv, envp);
	dprintf(2, "cannot run mbsync: %s\n", strerror(errno));
	_exit(127);
}

/* A line of mbsync's that is only a notice or a warning (a new
 * UIDVALIDITY file, a folder it creates). */
static int
mbsync_benign(const char *line)
{
	return strstr(line, "notice") != NULL ||
	    strstr(line, "Notice") != NULL ||
	    strncmp(line, "Warning", 7) == 0;
}

/* Reads mbsync's stderr to its end: counts error lines and keeps the
 * first one, its control bytes made '?'. */
static void
mbsync_read_errors(int fd, struct mbsync_result *r, char *first,
    size_t firstlen)
{
	char line[MBSYNC_LINE_MAX];
	unsigned long lines = 0;
	FILE *f = fdopen(fd, "r");

	first[0] = '\0';
	if (f == NULL) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (++lines > MBSYNC_LINES_MAX || line[0] == '\0' ||
		    mbsync_benign(line))
			continue;
		r->errors++;
		if (first[0] == '\0') {
			for (char *p = line; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20)
					*p = '?';
			snprintf(first, firstlen, "%s", line);
		}
	}
	fclose(f);
}

/* Starts mbsync with the configuration written into its stdin; *out_r is
 * the read end of its stderr.  The pid, or -1. */
static pid_t
mbsync_start(const struct mbsync_job *job, const char *config, int *out_r)
{
	int cfg[2], out[2];
	pid_t pid;

	if (pipe2(cfg, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(cfg[0]);
		close(cfg[1]);
		return -1;
	}
	if ((pid = fork()) == 0)
		mbsync_exec(cfg[0], out[1], job->state);
	close(cfg[0]);
	close(out[1]);
	/* The configuration is a few hundred bytes: it fits in the pipe
	 * whether or not mbsync reads it (if it died, the write fails). */
	if (pid < 0 || durable_write_all(cfg[1], config, strlen(config)) < 0) {
		close(cfg[1]);
		close(out[0]);
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
		return -1;
	}
	close(cfg[1]);
	*out_r = out[0];
	return pid;
}

int
mbsync_run(const struct mbsync_job *job, struct mbsync_result *r, char *err,
    size_t errlen)
{
	char config[MBSYNC_CONFIG_MAX], first[300];
	struct mbsync_count before, after;
	int out, status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (mbsync_config(job, config, sizeof(config)) < 0) {
		snprintf(err, errlen, "a control byte in the old login, the "
		    "password or a path");
		r->errors = 1;
		return -1;
	}
	if (mbsync_prepare(job, err, errlen) < 0) {
		r->errors = 1;
		return -1;
	}
	mbsync_count(job->state, &before);
	/* mbsync dying before it read its configuration must not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	pid = mbsync_start(job, config, &out);
	explicit_bzero(config, sizeof(config));
	if (pid < 0) {
		snprintf(err, errlen, "cannot run mbsync: %s", strerror(errno));
		r->errors = 1;
		return -1;
	}
	mbsync_read_errors(out, r, first, sizeof(first));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	mbsync_count(job->state, &after);
	r->copied = after.copied > before.copied ?
	    after.copied - before.copied : 0;
	r->skipped = after.skipped > before.skipped ?
	    after.skipped - before.skipped : 0;
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (mbsync_subscribe(job, err, errlen) == 0)
			return 0;
		r->errors++;
		return -1;
	}
	if (r->errors == 0)
		r->errors = 1;
	if (first[0] != '\0')
		snprintf(err, errlen, "%s", first);
	else
		snprintf(err, errlen, "mbsync failed (status %d)", status);
	return -1;
}
