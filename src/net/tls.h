/*
 * TLS for the SMTP server: the one server context (OpenSSL 3, TLS 1.2 or
 * newer) built by master while it may still read a root-only key, and
 * inherited by smtpd across fork.  With no tls_cert configured, a
 * self-signed certificate is made once in state_dir/tls.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>

#include "conf/conf.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/* The server context, or NULL with a one-line reason in err. */
SSL_CTX *tls_server_ctx(const struct conf *conf, char *err, size_t errlen);

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)": what the
 * Received header and the log say of an established session. */
void tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
