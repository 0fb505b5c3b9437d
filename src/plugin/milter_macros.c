/*
 * Macro values for milters (see milter_macros.h).  Every value comes from
 * the session's own state, already checked by the session (the HELO name,
 * the addresses, the login); none is sent longer than MILTER_MACRO_MAX.
 */
#include "plugin/milter_macros.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/hostport.h"
#include "smtpd/smtpd.h"
#include "util/buf.h"
#include "util/list_word.h"

#define MILTER_MACRO_MAX 1024

/* The domain of an address ("" when it has none). */
static const char *
milter_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* The address the client connected to, and its port. */
static const char *
milter_daemon_addr(struct session *s, int want_port, char *val,
    size_t vallen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[64];
	unsigned port = 0;
	int fd = s->bev != NULL ? bufferevent_getfd(s->bev) : -1;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return NULL;
	hostport_from_sockaddr((struct sockaddr *)&ss, ip, sizeof(ip), &port);
	if (want_port)
		snprintf(val, vallen, "%u", port);
	else
		snprintf(val, vallen, "%s", ip);
	return val;
}

static SSL *
milter_ssl(struct session *s)
{
	return s->tls && s->bev != NULL ? bufferevent_openssl_get_ssl(s->bev) :
	    NULL;
}

static const char *
milter_tls_value(struct session *s, const char *name, char *val,
    size_t vallen)
{
	SSL *ssl = milter_ssl(s);
	X509 *peer;
	int bits;

	if (ssl == NULL)
		return NULL;
	if (strcmp(name, "{tls_version}") == 0)
		snprintf(val, vallen, "%s", SSL_get_version(ssl));
	else if (strcmp(name, "{cipher}") == 0)
		snprintf(val, vallen, "%s", SSL_get_cipher_name(ssl));
	else if (strcmp(name, "{cipher_bits}") == 0) {
		bits = SSL_get_cipher_bits(ssl, NULL);
		snprintf(val, vallen, "%d", bits);
	} else if (strcmp(name, "{cert_subject}") == 0 ||
	    strcmp(name, "{cert_issuer}") == 0) {
		if ((peer = SSL_get_peer_certificate(ssl)) == NULL)
			return NULL;
		X509_NAME_oneline(name[6] == 's' ? X509_get_subject_name(peer) :
		    X509_get_issuer_name(peer), val, (int)vallen);
		X509_free(peer);
	} else
		return NULL;
	return val;
}

static const char *
milter_auth_value(struct session *s, const char *name, char *val,
    size_t vallen)
{
	if (!s->authenticated)
		return NULL;
	if (strcmp(name, "{auth_type}") == 0)
		snprintf(val, vallen, "%s", s->auth_mech);
	else if (strcmp(name, "{auth_authen}") == 0)
		snprintf(val, vallen, "%s", s->auth_login);
	else
		return NULL;
	return val;
}

/* Macros of the transaction: defined once MAIL was accepted (the queue
 * id is drawn then, before the milters are asked). */
static const char *
milter_envelope_value(struct session *s, const char *name, char *val,
    size_t vallen)
{
	if (s->env.id[0] == '\0')
		return NULL;
	if (strcmp(name, "i") == 0 && s->env.id[0] != '\0')
		snprintf(val, vallen, "%s", s->env.id);
	else if (strcmp(name, "{mail_addr}") == 0)
		snprintf(val, vallen, "%s", s->mail.addr);
	else if (strcmp(name, "{mail_host}") == 0 && s->mail.addr[0] != '\0')
		snprintf(val, vallen, "%s", milter_domain(s->mail.addr));
	else if (strcmp(name, "{rcpt_addr}") == 0 && s->rcpt_pending[0])
		snprintf(val, vallen, "%s", s->rcpt_pending);
	else if (strcmp(name, "{rcpt_host}") == 0 && s->rcpt_pending[0])
		snprintf(val, vallen, "%s", milter_domain(s->rcpt_pending));
	else
		return NULL;
	return val;
}

const char *
milter_macro_value(struct session *s, const char *name, char *val,
    size_t vallen)
{
	const struct conf *c = s->sd->conf;

	if (strcmp(name, "j") == 0 || strcmp(name, "{daemon_name}") == 0 ||
	    strcmp(name, "{if_name}") == 0)
		snprintf(val, vallen, "%s", c->hostname);
	else if (strcmp(name, "v") == 0)
		snprintf(val, vallen, "Tern");
	else if (strcmp(name, "_") == 0)
		snprintf(val, vallen, "unknown [%s]", s->client_ip);
	else if (strcmp(name, "{client_addr}") == 0)
		snprintf(val, vallen, "%s", s->client_ip);
	else if (strcmp(name, "{client_port}") == 0)
		snprintf(val, vallen, "%u", s->client_port);
	else if (strcmp(name, "{client_name}") == 0 ||
	    strcmp(name, "{client_ptr}") == 0)
		snprintf(val, vallen, "unknown");
	else if (strcmp(name, "{daemon_addr}") == 0 ||
	    strcmp(name, "{if_addr}") == 0)
		return milter_daemon_addr(s, 0, val, vallen);
	else if (strcmp(name, "{daemon_port}") == 0)
		return milter_daemon_addr(s, 1, val, vallen);
	else if (strcmp(name, "{auth_type}") == 0 ||
	    strcmp(name, "{auth_authen}") == 0)
		return milter_auth_value(s, name, val, vallen);
	else if (strncmp(name, "{tls_", 5) == 0 ||
	    strncmp(name, "{cipher", 7) == 0 || strncmp(name, "{cert_", 6) == 0)
		return milter_tls_value(s, name, val, vallen);
	else
		return milter_envelope_value(s, name, val, vallen);
	return val;
}

const char *
milter_macro_conf_list(const struct session *s, enum milter_macro_class cls)
{
	const struct conf *c = s->sd->conf;

	switch (cls) {
	case SMFIM_CONNECT: return c->milter_connect_macros;
	case SMFIM_HELO:    return c->milter_helo_macros;
	case SMFIM_ENVFROM: return c->milter_mail_macros;
	case SMFIM_ENVRCPT: return c->milter_rcpt_macros;
	case SMFIM_DATA:    return c->milter_data_macros;
	case SMFIM_EOM:     return c->milter_end_of_data_macros;
	case SMFIM_EOH:     return c->milter_end_of_header_macros;
	default:            return "";
	}
}

int
milter_macros_put(struct buf *out, struct session *s, char cmd,
    const char *list)
{
	char name[128], val[MILTER_MACRO_MAX];
	size_t start;
	int rc, any = 0;

	while ((rc = list_word(&list, name, sizeof(name))) != 0) {
		if (rc < 0 || milter_macro_value(s, name, val,
		    sizeof(val)) == NULL)
			continue;
		if (!any && milter_put_begin(out, SMFIC_MACRO, &start) < 0)
			return -1;
		if (!any && milter_put_bytes(out, &cmd, 1) < 0)
			return -1;
		any = 1;
		if (milter_put_str(out, name) < 0 || milter_put_str(out, val) < 0)
			return -1;
	}
	if (any)
		milter_put_end(out, start);
	return 0;
}
