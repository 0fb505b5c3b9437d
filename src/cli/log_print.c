/*
 * How `tern log` prints a line: the line as the file has it, a failure's
 * summary (--failures), or one JSON object per line (--json).  The bytes
 * come from the log file: JSON escapes quotes, backslashes and control
 * bytes, and writes any byte above 0x7f as U+FFFD; the server escaped
 * client bytes before it logged them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/log_int.h"
#include "util/log_stamp.h"

const char *
log_group_name(const struct log_group *g, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%.*s", g->key[0] == 's' ? "session" : "queue",
	    (int)g->klen - 1, g->key + 1);
	return buf;
}

static void
log_json_str(const char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else if (c >= 0x80)
			/* tern escapes what it logs (\\xNN): a raw byte
			 * here came from elsewhere, and JSON wants UTF-8. */
			printf("\\ufffd");
		else
			putchar(c);
	}
	putchar('"');
}

static void
log_json_field(const char *name, const char *p, size_t n, int *first)
{
	printf("%s\"%s\":", *first ? "" : ",", name);
	log_json_str(p, n);
	*first = 0;
}

/* Every key=value word of the message, as "fields". */
static void
log_json_fields(const struct log_line *l)
{
	const char *p = l->msg, *end = l->msg + l->msg_len;
	int first = 1;

	printf(",\"fields\":{");
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *we = sp ? sp : end, *eq = memchr(p, '=', (size_t)(we - p));
		size_t klen = eq ? (size_t)(eq - p) : 0;
		int ok = klen > 0 && klen < 32;
		for (size_t i = 0; ok && i < klen; i++)
			ok = (p[i] >= 'a' && p[i] <= 'z') || p[i] == '_';
		if (ok) {
			const char *v;
			size_t vn;
			char key[32];
			struct log_line one = *l;
			one.msg = p;
			one.msg_len = (size_t)(end - p);
			snprintf(key, sizeof(key), "%.*s", (int)klen, p);
			if (log_line_value(&one, key, &v, &vn))
				log_json_field(key, v, vn, &first);
		}
		p = we + 1;
	}
	putchar('}');
}

static void
log_json_failure(const struct log_line *l, const char *reason)
{
	static const char *const keys[] = { "login", "existing", "action", "proto" };
	char ip[64];
	const char *v;
	size_t n;
	int first = 1;

	printf(",\"failure\":{");
	log_json_field("reason", reason, strlen(reason), &first);
	if (log_line_client(l, ip, sizeof(ip)))
		log_json_field("client", ip, strlen(ip), &first);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (log_line_value(l, keys[i], &v, &n))
			log_json_field(keys[i], v, n, &first);
	if (!log_line_value(l, "proto", &v, &n))
		log_json_field("proto", "smtp", 4, &first);
	putchar('}');
}

static void
log_print_json(const struct log_line *l, const char *group, const char *reason)
{
	int first = 0;
	time_t when;

	printf("{\"group\":");
	if (group)
		log_json_str(group, strlen(group));
	else
		printf("null");
	if (log_line_time(l, &when) == 0) {
		log_json_field("time", l->text, LOG_STAMP_LEN, &first);
		printf(",\"epoch\":%lld", (long long)when);
	}
	if (l->proc) {
		log_json_field("proc", l->proc, l->proc_len, &first);
		log_json_field("pid", l->pid, l->pid_len, &first);
	}
	log_json_field("level", l->level, strlen(l->level), &first);
	if (l->id)
		log_json_field("id", l->id, l->id_len, &first);
	log_json_field("message", l->msg, l->msg_len, &first);
	log_json_fields(l);
	if (reason)
		log_json_failure(l, reason);
	log_json_field("line", l->text, l->len, &first);
	printf("}\n");
}

/* "STAMP  proto  client  reason  login=L existing=E action=A  id=ID" */
static void
log_print_failure(const struct log_line *l, const char *reason)
{
	static const char *const keys[] = { "login", "existing", "from",
	    "address", "action" };
	char ip[64] = "-";
	const char *v;
	size_t n;

	if (!log_line_client(l, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "-");
	printf("%.*s ", l->len > LOG_STAMP_LEN ? LOG_STAMP_LEN : 0, l->text);
	if (log_line_value(l, "proto", &v, &n))
		printf("%.*s", (int)n, v);
	else
		printf("smtp");
	printf(" client=%s reason=%s", ip, reason);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (log_line_value(l, keys[i], &v, &n))
			printf(" %s=%.*s", keys[i], (int)n, v);
	if (l->id)
		printf(" id=%.*s", (int)l->id_len, l->id);
	putchar('\n');
}

void
log_print_line(const struct log_opts *o, const struct log_line *l,
    const char *group)
{
	char reason[64];
	int failure = o->f.failures && log_line_failure(l, reason, sizeof(reason));

	if (o->json)
		log_print_json(l, group, failure ? reason : NULL);
	else if (failure)
		log_print_failure(l, reason);
	else
		printf("%.*s\n", (int)l->len, l->text);
}
