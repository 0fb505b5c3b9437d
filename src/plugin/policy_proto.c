/*
 * Postfix's policy delegation protocol: the request written, the reply
 * read, the action judged (see policy_proto.h).  The action's meaning
 * follows Postfix's check_table_result() (smtpd_check.c) word for word:
 * the default codes, enhanced codes and texts, the "<name>: Class
 * rejected: text" shape, smtpd_dsn_fix()'s address-status mapping, and
 * the enhanced code's first digit set to the reply code's class.  The
 * reply and its action come from the policy server: lengths are checked
 * before every copy and bytes a reply cannot carry become '?'.
 */
#include "plugin/policy_proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

static int
policy_put(struct buf *out, const char *name, const char *value,
    const char **bad_r)
{
	if (value == NULL)
		value = "";
	if (strchr(value, '\n') != NULL) {
		*bad_r = name;
		return -1;
	}
	if (buf_appendf(out, "%s=%s\n", name, value) < 0) {
		*bad_r = "request too long";
		return -1;
	}
	return 0;
}

static int
policy_put_num(struct buf *out, const char *name, uint64_t n,
    const char **bad_r)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, n);
	return policy_put(out, name, num, bad_r);
}

/* In the order Postfix's check_policy_service() sends them. */
int
policy_request_format(const struct policy_request *rq, struct buf *out,
    const char **bad_r)
{
	const struct { const char *name, *value; } head[] = {
		{ "request", "smtpd_access_policy" },
		{ "protocol_state", rq->protocol_state },
		{ "protocol_name", rq->protocol_name },
		{ "client_address", rq->client_address },
		{ "client_name", rq->client_name },
	}, mid[] = {
		{ "reverse_client_name", rq->reverse_client_name },
		{ "server_address", rq->server_address },
	}, who[] = {
		{ "helo_name", rq->helo_name },
		{ "queue_id", rq->queue_id },
		{ "sender", rq->sender },
		{ "recipient", rq->recipient },
	}, tail[] = {
		{ "etrn_domain", rq->etrn_domain },
		{ "stress", rq->stress },
		{ "sasl_method", rq->sasl_method },
		{ "sasl_username", rq->sasl_username },
		{ "sasl_sender", rq->sasl_sender },
		{ "ccert_subject", "" },
		{ "ccert_issuer", "" },
		{ "ccert_fingerprint", "" },
		{ "ccert_pubkey_fingerprint", "" },
		{ "encryption_protocol", rq->encryption_protocol },
		{ "encryption_cipher", rq->encryption_cipher },
	};
	size_t i;

#define POLICY_PUT_ALL(a) \
	for (i = 0; i < sizeof(a) / sizeof((a)[0]); i++) \
		if (policy_put(out, (a)[i].name, (a)[i].value, bad_r) < 0) \
			return -1
	POLICY_PUT_ALL(head);
	if (policy_put_num(out, "client_port", rq->client_port, bad_r) < 0)
		return -1;
	POLICY_PUT_ALL(mid);
	if (policy_put_num(out, "server_port", rq->server_port, bad_r) < 0)
		return -1;
	POLICY_PUT_ALL(who);
	if (policy_put_num(out, "recipient_count", rq->recipient_count,
	    bad_r) < 0 ||
	    policy_put(out, "instance", rq->instance, bad_r) < 0 ||
	    policy_put_num(out, "size", rq->size, bad_r) < 0)
		return -1;
	POLICY_PUT_ALL(tail);
	if (policy_put_num(out, "encryption_keysize", rq->encryption_keysize,
	    bad_r) < 0 ||
	    policy_put(out, "policy_context", rq->policy_context, bad_r) < 0)
		return -1;
#undef POLICY_PUT_ALL
	if (buf_append(out, "\n", 1) < 0) {
		*bad_r = "request too long";
		return -1;
	}
	return 0;
}

void
policy_reply_init(struct policy_reply *r)
{
	memset(r, 0, sizeof(*r));
}

int
policy_reply_line(struct policy_reply *r, const char *line, size_t len,
    const char **why_r)
{
	const char *eq;

	if (len == 0) {
		if (!r->have_action) {
			*why_r = "reply without action";
			return -1;
		}
		return 1;
	}
	if (len >= POLICY_LINE_MAX) {
		*why_r = "reply line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why_r = "NUL in reply";
		return -1;
	}
	if (++r->nattrs > POLICY_ATTRS_MAX) {
		*why_r = "too many reply attributes";
		return -1;
	}
	if ((eq = memchr(line, '=', len)) == NULL) {
		*why_r = "reply line without '='";
		return -1;
	}
	if (eq == line) {
		*why_r = "reply attribute without a name";
		return -1;
	}
	if (!r->have_action && eq - line == 6 && memcmp(line, "action", 6) == 0) {
		size_t vlen = len - 7;  /* fits: len < POLICY_LINE_MAX */
		memcpy(r->action, eq + 1, vlen);
		r->action[vlen] = '\0';
		r->have_action = 1;
	}
	return 0;
}

/* The length of an RFC 3463 status at the start of text ("4.7.1"), as
 * Postfix's dsn_valid(): class 2, 4 or 5, then 1-3 and 1-3 digits, then
 * the end or a blank; 0 when there is none. */
static size_t
policy_dsn_len(const char *text)
{
	size_t i = 0, n;

	if (text[0] != '2' && text[0] != '4' && text[0] != '5')
		return 0;
	if (text[1] != '.')
		return 0;
	i = 2;
	for (n = 0; n < 3 && isdigit((unsigned char)text[i]); n++)
		i++;
	if (n == 0 || text[i] != '.')
		return 0;
	i++;
	for (n = 0; n < 3 && isdigit((unsigned char)text[i]); n++)
		i++;
	if (n == 0 || isdigit((unsigned char)text[i]))
		return 0;
	if (text[i] != '\0' && text[i] != ' ' && text[i] != '\t')
		return 0;
	return i;
}

/* Postfix's smtpd_dsn_fix(): an address status (x.1.y) is mapped to the
 * kind of thing refused. */
static void
policy_dsn_fix(char dsn[16], const char *reply_class)
{
	static const struct { char micro; const char *snd, *rcpt; } map[] = {
		{ '1', "4.1.0", "4.1.1" }, { '2', "4.1.8", "4.1.2" },
		{ '3', "4.1.7", "4.1.3" }, { '4', "4.1.0", "4.1.4" },
		{ '5', "4.1.0", "4.1.5" }, { '6', "4.1.0", "4.1.6" },
		{ '7', "4.1.7", "4.1.3" }, { '8', "4.1.8", "4.1.2" },
	};
	const char *fixed = "4.1.0";
	int sender = strcmp(reply_class, "Sender address") == 0;
	int rcpt = strcmp(reply_class, "Recipient address") == 0;

	if (strncmp(dsn + 1, ".1.", 3) != 0)
		return;
	if (!sender && !rcpt) {
		fixed = "4.0.0";
	} else {
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (dsn[4] == map[i].micro && dsn[5] == '\0')
				fixed = sender ? map[i].snd : map[i].rcpt;
	}
	memcpy(dsn + 1, fixed + 1, strlen(fixed));      /* keeps the class */
}

/* A refusal: "CODE D.S.N <name>: class rejected: text", text defaulting
 * to def_text, a status at its start kept (def_dsn otherwise), the
 * status' class made the code's, every byte a reply cannot carry '?'. */
static void
policy_refuse(struct policy_action *out, int code, const char *def_dsn,
    const char *text, const char *def_text, const char *reply_name,
    const char *reply_class)
{
	char dsn[16];
	size_t dlen = policy_dsn_len(text);

	if (dlen > 0 && dlen < sizeof(dsn)) {
		memcpy(dsn, text, dlen);
		dsn[dlen] = '\0';
		text += dlen;
		while (*text == ' ' || *text == '\t')
			text++;
	} else {
		snprintf(dsn, sizeof(dsn), "%s", def_dsn);
	}
	policy_dsn_fix(dsn, reply_class);
	dsn[0] = (char)('0' + code / 100);
	snprintf(out->reply, sizeof(out->reply), "%d %s <%s>: %s rejected: %s",
	    code, dsn, reply_name, reply_class, *text ? text : def_text);
	for (char *p = out->reply; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	out->act = (code == 421 || code == 521) ? POLICY_ACT_CLOSE :
	    POLICY_ACT_REPLY;
}

int
policy_is_header(const char *text)
{
	const char *p = text;

	while (*p > ' ' && *p < 0x7f && *p != ':')
		p++;
	if (p == text)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return 0;
	/* The value goes into the message as one line: a CR or another
	 * control byte would break it (or start a new field). */
	for (; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static int
policy_all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void
policy_text(struct policy_action *out, enum policy_act act, const char *text)
{
	out->act = act;
	snprintf(out->text, sizeof(out->text), "%s", text);
}

void
policy_action_eval(const char *action, const char *reply_name,
    const char *reply_class, struct policy_action *out)
{
	size_t cmd_len = strcspn(action, " \t");
	const char *text = action + cmd_len;

	memset(out, 0, sizeof(*out));
	while (*text == ' ' || *text == '\t')
		text++;
#define POLICY_IS(word) \
	(cmd_len == strlen(word) && strncasecmp(action, word, cmd_len) == 0)
	if (POLICY_IS("DUNNO"))
		out->act = POLICY_ACT_DUNNO;
	else if (POLICY_IS("OK") || POLICY_IS("RELAY") || policy_all_digits(action))
		out->act = POLICY_ACT_OK;
	else if (POLICY_IS("REJECT"))
		policy_refuse(out, 554, "5.7.1", text, "Access denied",
		    reply_name, reply_class);
	else if (POLICY_IS("DEFER"))
		policy_refuse(out, 450, "4.7.1", text, "Access denied",
		    reply_name, reply_class);
	else if (POLICY_IS("DEFER_IF_PERMIT"))
		policy_refuse(out, 450, "4.7.1", text, "Service unavailable",
		    reply_name, reply_class);
	else if (POLICY_IS("DEFER_IF_REJECT"))
		policy_text(out, POLICY_ACT_DEFER_IF_REJECT, text);
	else if (cmd_len == 3 && *text != '\0' &&
	    (action[0] == '4' || action[0] == '5') &&
	    isdigit((unsigned char)action[1]) && isdigit((unsigned char)action[2]))
		policy_refuse(out, (action[0] - '0') * 100 +
		    (action[1] - '0') * 10 + (action[2] - '0'),
		    action[0] == '4' ? "4.7.1" : "5.7.1", text,
		    "Access denied", reply_name, reply_class);
	else if (POLICY_IS("HOLD"))
		policy_text(out, POLICY_ACT_HOLD, *text ? text :
		    "triggers HOLD action");
	else if (POLICY_IS("DISCARD"))
		policy_text(out, POLICY_ACT_DISCARD, *text ? text :
		    "triggers DISCARD action");
	else if (POLICY_IS("PREPEND") && policy_is_header(text))
		policy_text(out, POLICY_ACT_PREPEND, text);
	else if (POLICY_IS("PREPEND"))
		policy_text(out, POLICY_ACT_UNSUPPORTED,
		    "PREPEND requires header: text");
	else if (POLICY_IS("WARN"))
		policy_text(out, POLICY_ACT_WARN, text);
	else if (POLICY_IS("INFO"))
		policy_text(out, POLICY_ACT_INFO, text);
	else
		policy_text(out, POLICY_ACT_UNSUPPORTED, "unsupported action");
#undef POLICY_IS
}

const char *
policy_act_name(enum policy_act act)
{
	static const char *const names[] = {
		[POLICY_ACT_DUNNO] = "dunno", [POLICY_ACT_OK] = "ok",
		[POLICY_ACT_REPLY] = "reply", [POLICY_ACT_CLOSE] = "close",
		[POLICY_ACT_HOLD] = "hold", [POLICY_ACT_DISCARD] = "discard",
		[POLICY_ACT_PREPEND] = "prepend", [POLICY_ACT_WARN] = "warn",
		[POLICY_ACT_INFO] = "info",
		[POLICY_ACT_DEFER_IF_REJECT] = "defer_if_reject",
		[POLICY_ACT_UNSUPPORTED] = "unsupported",
	};

	if ((size_t)act >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[act];
}
