/*
 * Reads the config file: "key = value" lines, '#' comments, blank lines,
 * each key at most once, every key known to the table in conf_table.c.
 * The file is the postmaster's, but it is still checked like input: lines
 * are bounded, numbers overflow-checked, values bounded by the table, and
 * an error names file:line.  Values quoted in errors are escaped.
 */
#include "conf/conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_table.h"
#include "net/hostport.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CONF_LINE_MAX   4096    /* bytes in one line, without the newline */
#define CONF_WHY_MAX    320     /* one error, without "file:line: " */
#define CONF_QUOTE_MAX  72      /* of a value quoted in an error */
#define CONF_NUM_MAX    32      /* a number formatted with its suffix */

/* Set by master's word (conf_stress_set); read by conf_now(). */
static int conf_stress;

void
conf_stress_set(int on)
{
	conf_stress = on != 0;
}

int
conf_stress_active(void)
{
	return conf_stress;
}

enum conf_line { CONF_LINE_OK, CONF_LINE_EOF, CONF_LINE_LONG, CONF_LINE_NUL,
	CONF_LINE_ERROR };

/* Strict decimal digits into a uint64_t: no sign, no spaces, no overflow.
 * Returns the number of digits read, 0 on none or overflow. */
static size_t
conf_digits(const char *s, uint64_t *n_r)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
	}
	*n_r = n;
	return i;
}

/* A number, then nothing or one suffix out of suffixes whose multipliers
 * are in mult; the result no more than max. */
static int
conf_parse_scaled(const char *s, const char *suffixes, const uint64_t *mult,
    uint64_t max, uint64_t *r)
{
	const char *suffix;
	uint64_t n, m = 1;
	size_t len = conf_digits(s, &n);

	if (len == 0)
		return -1;
	s += len;
	if (*s != '\0') {
		if (s[1] != '\0' || (suffix = strchr(suffixes, *s)) == NULL)
			return -1;
		m = mult[suffix - suffixes];
	}
	if (n > max / m)
		return -1;
	*r = n * m;
	return 0;
}

int
conf_parse_duration(const char *s, unsigned *secs_r)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };
	uint64_t secs;

	if (conf_parse_scaled(s, "smhd", mult, UINT_MAX, &secs) < 0)
		return -1;
	*secs_r = (unsigned)secs;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes_r)
{
	static const uint64_t mult[] = { 1ULL << 10, 1ULL << 10, 1ULL << 20,
	    1ULL << 20, 1ULL << 30, 1ULL << 30 };

	return conf_parse_scaled(s, "kKmMgG", mult, UINT64_MAX, bytes_r);
}

/* Bytes with the largest suffix that says them exactly: 50M, 1536K, 100. */
static void
conf_format_size(uint64_t n, char *dst, size_t len)
{
	static const char suffix[] = "GMK";
	static const unsigned shift[] = { 30, 20, 10 };
	const size_t nshift = sizeof(shift) / sizeof(shift[0]);

	for (size_t i = 0; n != 0 && i < nshift; i++) {
		if (n % (1ULL << shift[i]) == 0) {
			snprintf(dst, len, "%llu%c",
			    (unsigned long long)(n >> shift[i]), suffix[i]);
			return;
		}
	}
	snprintf(dst, len, "%llu", (unsigned long long)n);
}

/* A number of key's type as the file would say it. */
static void
conf_format_number(const struct conf_key *k, uint64_t n, char *dst,
    size_t len)
{
	if (k->type == CONF_SIZE)
		conf_format_size(n, dst, len);
	else if (k->type == CONF_DURATION)
		snprintf(dst, len, "%llus", (unsigned long long)n);
	else
		snprintf(dst, len, "%llu", (unsigned long long)n);
}

/* value escaped and shortened for an error message. */
static const char *
conf_quote(char dst[CONF_QUOTE_MAX], const char *value)
{
	return log_escape(dst, CONF_QUOTE_MAX, value, strlen(value));
}

static int
conf_check_bounds(const struct conf_key *k, const char *value, uint64_t n,
    char *why, size_t whylen)
{
	char q[CONF_QUOTE_MAX], bound[CONF_NUM_MAX];

	if (n < k->min) {
		conf_format_number(k, k->min, bound, sizeof(bound));
		snprintf(why, whylen, "%s: '%s' is below the minimum %s",
		    k->name, conf_quote(q, value), bound);
		return -1;
	}
	if (n > k->max) {
		conf_format_number(k, k->max, bound, sizeof(bound));
		snprintf(why, whylen, "%s: '%s' is above the maximum %s",
		    k->name, conf_quote(q, value), bound);
		return -1;
	}
	return 0;
}

/* Each of the host:port specs in value, separated by commas or spaces. */
static int
conf_check_listen(const struct conf_key *k, const char *value, char *why,
    size_t whylen)
{
	char spec[HOSTPORT_SPEC_MAX], host[HOSTPORT_HOST_MAX];
	char q[CONF_QUOTE_MAX];
	const char *p = value, *reason;
	unsigned port, count = 0;
	int r;

	while ((r = hostport_list_next(&p, spec)) != 0) {
		if (r < 0)
			reason = "address too long";
		else if (hostport_parse(spec, host, &port, &reason) == 0)
			reason = NULL;
		if (reason != NULL) {
			snprintf(why, whylen, "%s: bad address '%s': %s",
			    k->name, log_escape(q, sizeof(q), spec, strlen(spec)),
			    reason);
			return -1;
		}
		count++;
	}
	if (count == 0 && *value != '\0') {
		snprintf(why, whylen, "%s: no address in '%s'", k->name,
		    conf_quote(q, value));
		return -1;
	}
	return 0;
}

static void
conf_set_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* Numbers of every kind: parsed by type, then bounded by the table. */
static int
conf_set_number(struct conf *c, const struct conf_key *k, const char *value,
    char *why, size_t whylen)
{
	char q[CONF_QUOTE_MAX];
	void *field = (char *)c + k->offset;
	uint64_t n;
	unsigned u;

	if (k->type == CONF_SIZE) {
		if (conf_parse_size(value, &n) < 0) {
			snprintf(why, whylen, "%s: bad size '%s' "
			    "(use e.g. 10k, 50M)", k->name,
			    conf_quote(q, value));
			return -1;
		}
	} else if (k->type == CONF_DURATION) {
		if (conf_parse_duration(value, &u) < 0) {
			snprintf(why, whylen, "%s: bad duration '%s' "
			    "(use e.g. 30s, 5m, 2h, 1d)", k->name,
			    conf_quote(q, value));
			return -1;
		}
		n = u;
	} else {
		if (conf_parse_scaled(value, "", NULL, UINT_MAX, &n) < 0) {
			snprintf(why, whylen, "%s: bad number '%s'", k->name,
			    conf_quote(q, value));
			return -1;
		}
	}
	if (conf_check_bounds(k, value, n, why, whylen) < 0)
		return -1;
	if (k->type == CONF_SIZE)
		*(uint64_t *)field = n;
	else
		*(unsigned *)field = (unsigned)n;
	return 0;
}

/* A signed decimal ("-2", "+3", "0") within the row's int64_t bounds. */
static int
conf_set_int(const struct conf_key *k, int *field, const char *value,
    char *why, size_t whylen)
{
	char q[CONF_QUOTE_MAX];
	const char *p = value + (*value == '-' || *value == '+');
	int64_t min = (int64_t)k->min, max = (int64_t)k->max, n;
	uint64_t u;
	size_t len = conf_digits(p, &u);

	if (len == 0 || p[len] != '\0' || u > (uint64_t)INT_MAX) {
		snprintf(why, whylen, "%s: bad number '%s'", k->name,
		    conf_quote(q, value));
		return -1;
	}
	n = *value == '-' ? -(int64_t)u : (int64_t)u;
	if (n < min || n > max) {
		snprintf(why, whylen, "%s: '%s' is %s the %s %lld", k->name,
		    conf_quote(q, value), n < min ? "below" : "above",
		    n < min ? "minimum" : "maximum",
		    (long long)(n < min ? min : max));
		return -1;
	}
	*field = (int)n;
	return 0;
}

/* One of the table's words, without regard to case. */
static int
conf_set_enum(const struct conf_key *k, int *field, const char *value,
    char *why, size_t whylen)
{
	char q[CONF_QUOTE_MAX], list[256] = "";
	size_t n = 0;

	for (; k->words[n] != NULL; n++) {
		if (strcasecmp(value, k->words[n]) == 0) {
			*field = (int)n;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", k->words[i]);
	}
	snprintf(why, whylen, "%s: bad value '%s' (use %s)", k->name,
	    conf_quote(q, value), list);
	return -1;
}

static int
conf_check_regex(const struct conf_key *k, const char *value, char *why,
    size_t whylen)
{
	char q[CONF_QUOTE_MAX], msg[128];
	regex_t re;
	int rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);

	if (rc == 0) {
		regfree(&re);
		return 0;
	}
	regerror(rc, &re, msg, sizeof(msg));
	snprintf(why, whylen, "%s: bad regular expression '%s': %s", k->name,
	    conf_quote(q, value), msg);
	return -1;
}

/* Sets key k of c from value, or says why not (without file:line). */
static int
conf_set(struct conf *c, const struct conf_key *k, const char *value,
    char *why, size_t whylen)
{
	void *field = (char *)c + k->offset;

	switch (k->type) {
	case CONF_STRING:
		if (*value == '\0') {
			snprintf(why, whylen, "%s: may not be empty", k->name);
			return -1;
		}
		conf_set_string(field, value);
		return 0;
	case CONF_LISTEN:
		if (conf_check_listen(k, value, why, whylen) < 0)
			return -1;
		conf_set_string(field, value);
		return 0;
	case CONF_TEXT:
		if (k->check != NULL && *value != '\0') {
			char reason[256];
			if (k->check(value, reason, sizeof(reason)) < 0) {
				snprintf(why, whylen, "%s: %s", k->name, reason);
				return -1;
			}
		}
		conf_set_string(field, value);
		return 0;
	case CONF_REGEX:
		if (conf_check_regex(k, value, why, whylen) < 0)
			return -1;
		conf_set_string(field, value);
		return 0;
	case CONF_DURATION:
	case CONF_SIZE:
	case CONF_UINT:
		return conf_set_number(c, k, value, why, whylen);
	case CONF_ENUM:
		return conf_set_enum(k, field, value, why, whylen);
	case CONF_INT:
		return conf_set_int(k, field, value, why, whylen);
	}
	bug("conf_set: %s has unknown type %d", k->name, (int)k->type);
}

/* The stress value of k (a KEY_STRESS row): parsed and bounded like the
 * normal one, through a copy of the row naming NAME_stress and its field. */
static int
conf_set_stress(struct conf *c, const struct conf_key *k, const char *value,
    char *why, size_t whylen)
{
	char name[128];
	struct conf_key twin = *k;

	/* conf_now() and conf_print read the twin as an unsigned. */
	if (k->stress_def == NULL || k->stress_offset == 0 ||
	    (k->type != CONF_DURATION && k->type != CONF_UINT))
		bug("conf_set_stress: %s has no stress value", k->name);
	snprintf(name, sizeof(name), "%s%s", k->name, CONF_STRESS_SUFFIX);
	twin.name = name;
	twin.offset = k->stress_offset;
	return conf_set(c, &twin, value, why, whylen);
}

/* The defaults go through conf_set like any value, so a bad one in the
 * table is caught the first time anything loads a config. */
static void
conf_set_defaults(struct conf *c)
{
	char why[CONF_WHY_MAX];
	char *computed;
	int r;

	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (k->compute != NULL) {
			computed = k->compute();
			r = conf_set(c, k, computed, why, sizeof(why));
			free(computed);
		} else
			r = conf_set(c, k, k->def, why, sizeof(why));
		if (r < 0)
			bug("default of %s: %s", k->name, why);
		if (k->stress_def != NULL && conf_set_stress(c, k, k->stress_def,
		    why, sizeof(why)) < 0)
			bug("stress default of %s: %s", k->name, why);
	}
}

/* One line into line (size bytes), without its newline. */
static enum conf_line
conf_read_line(FILE *f, char *line, size_t size)
{
	size_t len = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return CONF_LINE_NUL;
		if (len + 1 >= size)
			return CONF_LINE_LONG;
		line[len++] = (char)ch;
	}
	line[len] = '\0';
	if (ch == EOF && ferror(f))
		return CONF_LINE_ERROR;
	if (ch == EOF && len == 0)
		return CONF_LINE_EOF;
	return CONF_LINE_OK;
}

/* A '#' that starts the line or follows a blank starts a comment, so that
 * values may hold a '#' of their own ("a#b"). */
static void
conf_strip_comment(char *line)
{
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static char *
conf_trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* One line of the file; set_on[i] is the line that set conf_keys[i],
 * set_on[conf_nkeys + i] the one that set its stress value. */
static int
conf_parse_line(struct conf *c, char *line, unsigned lineno,
    unsigned *set_on, char *why, size_t whylen)
{
	const struct conf_key *k;
	char q[CONF_QUOTE_MAX];
	char *s, *eq, *key;
	size_t at;
	int stress = 0;

	conf_strip_comment(line);
	s = conf_trim(line);
	if (*s == '\0')
		return 0;
	if ((eq = strchr(s, '=')) == NULL) {
		snprintf(why, whylen, "line without '='");
		return -1;
	}
	*eq = '\0';
	key = conf_trim(s);
	if (*key == '\0') {
		snprintf(why, whylen, "missing key before '='");
		return -1;
	}
	if ((k = conf_key_find(key)) == NULL &&
	    (k = conf_key_find_stress(key)) != NULL)
		stress = 1;
	if (k == NULL) {
		snprintf(why, whylen, "unknown key '%s'", conf_quote(q, key));
		return -1;
	}
	at = (size_t)(k - conf_keys) + (stress ? conf_nkeys : 0);
	if (set_on[at] != 0) {
		snprintf(why, whylen, "duplicate key '%s' "
		    "(first set on line %u)", key, set_on[at]);
		return -1;
	}
	set_on[at] = lineno;
	if (stress)
		return conf_set_stress(c, k, conf_trim(eq + 1), why, whylen);
	return conf_set(c, k, conf_trim(eq + 1), why, whylen);
}

static int
conf_read(struct conf *c, FILE *f, const char *path, char *err,
    size_t errlen)
{
	char line[CONF_LINE_MAX + 1], why[CONF_WHY_MAX];
	unsigned *set_on = xcalloc(conf_nkeys, 2 * sizeof(*set_on));
	unsigned lineno = 0;
	enum conf_line r;
	int rc = -1;

	while ((r = conf_read_line(f, line, sizeof(line))) != CONF_LINE_EOF) {
		lineno++;
		if (r == CONF_LINE_ERROR) {
			snprintf(err, errlen, "%s: read error: %s", path,
			    strerror(errno));
			goto done;
		}
		if (r == CONF_LINE_LONG)
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    CONF_LINE_MAX);
		else if (r == CONF_LINE_NUL)
			snprintf(why, sizeof(why), "NUL byte in line");
		if (r != CONF_LINE_OK || conf_parse_line(c, line, lineno,
		    set_on, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto done;
		}
	}
	rc = 0;
done:
	free(set_on);
	return rc;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	conf_set_defaults(c);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		conf_free(c);
		return -1;
	}
	rc = conf_read(c, f, path, err, errlen);
	fclose(f);
	if (rc < 0)
		conf_free(c);
	return rc;
}

void
conf_print(const struct conf *c, FILE *f)
{
	char num[CONF_NUM_MAX];

	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		const void *field = (const char *)c + k->offset;
		const char *value = num;

		switch (k->type) {
		case CONF_STRING:
		case CONF_LISTEN:
		case CONF_TEXT:
		case CONF_REGEX:
			value = *(char *const *)field;
			break;
		case CONF_SIZE:
			conf_format_number(k, *(const uint64_t *)field, num,
			    sizeof(num));
			break;
		case CONF_DURATION:
		case CONF_UINT:
			conf_format_number(k, *(const unsigned *)field, num,
			    sizeof(num));
			break;
		case CONF_ENUM:
			value = k->words[*(const int *)field];
			break;
		case CONF_INT:
			snprintf(num, sizeof(num), "%d", *(const int *)field);
			break;
		}
		fprintf(f, "%s =%s%s\n", k->name, *value ? " " : "", value);
		if (k->stress_offset != 0) {
			conf_format_number(k, *(const unsigned *)
			    ((const char *)c + k->stress_offset), num,
			    sizeof(num));
			fprintf(f, "%s%s = %s\n", k->name, CONF_STRESS_SUFFIX,
			    num);
		}
	}
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		char **field = (char **)((char *)c + k->offset);

		if (k->type == CONF_STRING || k->type == CONF_LISTEN ||
		    k->type == CONF_TEXT || k->type == CONF_REGEX) {
			free(*field);
			*field = NULL;
		}
	}
	free(c->path);
	c->path = NULL;
}
