/*
 * The metrics page's request check: the verdict on a request head from
 * its bytes so far, without copying or keeping anything.  The bytes are
 * a network client's: every one is checked before it is believed, and
 * the verdict is reached as soon as the request line is complete or
 * already wrong.  Separate from the server (metrics_http.c) so that the
 * unit tests and the fuzzer reach it alone.
 */
#ifndef TERN_METRICS_REQUEST_H
#define TERN_METRICS_REQUEST_H

#include <stddef.h>

#define METRICS_REQUEST_MAX  4096       /* bytes of a request head */
#define METRICS_REQUEST_PATH "/metrics"

/* The answer a request head deserves, from its first len bytes: 0 while
 * more is needed, else the HTTP status (200, 400, 404, 405, 431, 505).
 * GET only; HTTP/1.0 and 1.1; a query string is ignored; the header
 * lines after the request line are not looked at. */
int metrics_request_status(const char *req, size_t len);

#endif
