/*
 * The TLS server context: see tls.h.  The certificate and key are read
 * from files the postmaster configured, or made here: an EC P-256 key and
 * a self-signed certificate for the hostname, valid ten years, written to
 * state_dir/tls with the key readable by the server's user only.
 */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/privsep.h"

static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
	ERR_clear_error();
}

/* Writes a PEM file owned by the server's user: key 0600, cert 0644. */
static int
tls_write_pem(const struct conf *conf, const char *path, mode_t mode,
    EVP_PKEY *key, X509 *cert)
{
	uid_t uid;
	gid_t gid;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return -1;
	if (geteuid() == 0 && (privsep_ids(conf->user, &uid, &gid) < 0 ||
	    fchown(fd, uid, gid) < 0)) {
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		ok = 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static X509 *
tls_self_signed(const struct conf *conf, EVP_PKEY *key)
{
	X509 *cert = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	char san[300];

	if (cert == NULL)
		return NULL;
	snprintf(san, sizeof(san), "DNS:%s", conf->hostname);
	if (!X509_set_version(cert, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)time(NULL)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 86400) ||
	    !X509_set_pubkey(cert, key) ||
	    (name = X509_get_subject_name(cert)) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)conf->hostname, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name))
		goto fail;
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (!X509_sign(cert, key, EVP_sha256()))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

/* Makes state_dir/tls/{key,cert}.pem unless they are there. */
static int
tls_ensure_self_signed(const struct conf *conf, const char *dir,
    const char *keypath, const char *certpath, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r = -1;

	if (access(keypath, F_OK) == 0 && access(certpath, F_OK) == 0)
		return 0;
	if (privsep_mkdir_owned(dir, conf->user, 0700, PRIVSEP_NOFOLLOW) < 0) {
		snprintf(err, errlen, "cannot create %s", dir);
		return -1;
	}
	unlink(keypath);
	unlink(certpath);
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		tls_error(err, errlen, "cannot make a TLS key");
		goto done;
	}
	if ((cert = tls_self_signed(conf, key)) == NULL) {
		tls_error(err, errlen, "cannot make a certificate");
		goto done;
	}
	if (tls_write_pem(conf, keypath, 0600, key, NULL) < 0 ||
	    tls_write_pem(conf, certpath, 0644, NULL, cert) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", dir, strerror(errno));
		unlink(keypath);
		unlink(certpath);
		goto done;
	}
	log_warn("no tls_cert configured: made a self-signed certificate for %s in %s",
	    conf->hostname, dir);
	r = 0;
done:
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

SSL_CTX *
tls_server_ctx(const struct conf *conf, char *err, size_t errlen)
{
	char dir[PATH_MAX], keypath[PATH_MAX + 16], certpath[PATH_MAX + 16];
	const char *cert = conf->tls_cert, *key = conf->tls_key;
	SSL_CTX *ctx;

	if (*cert == '\0' || *key == '\0') {
		if (*cert != '\0' || *key != '\0') {
			snprintf(err, errlen, "tls_cert and tls_key go together: set both or neither");
			return NULL;
		}
		snprintf(dir, sizeof(dir), "%s/tls", conf->state_dir);
		snprintf(keypath, sizeof(keypath), "%s/key.pem", dir);
		snprintf(certpath, sizeof(certpath), "%s/cert.pem", dir);
		if (tls_ensure_self_signed(conf, dir, keypath, certpath, err, errlen) < 0)
			return NULL;
		cert = certpath;
		key = keypath;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_error(err, errlen, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen, key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tls_describe(SSL *ssl, char *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;

	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), c ? SSL_CIPHER_get_name(c) : "?", bits, alg);
}
