/*
 * libFuzzer harness for the metrics page's request check: the input is a
 * request head as a client sends it (at most what the server reads).
 * Checks what the verdict promises: one of the statuses the server
 * answers; fed one byte more at a time, the first verdict reached is the
 * verdict on the whole, so a slow client hears what a fast one hears;
 * and a 200 only for GET /metrics over HTTP/1.0 or 1.1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/metrics_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *req = (const char *)data;
	int whole, first = 0;

	if (size > METRICS_REQUEST_MAX)
		size = METRICS_REQUEST_MAX;
	whole = metrics_request_status(req, size);
	if (whole != 0 && whole != 200 && whole != 400 && whole != 404 &&
	    whole != 405 && whole != 431 && whole != 505)
		abort();
	for (size_t n = 0; n <= size && first == 0; n++)
		first = metrics_request_status(req, n);
	if (first != whole)
		abort();
	if (whole == 200 && (size < 13 ||
	    memcmp(req, "GET " METRICS_REQUEST_PATH, 12) != 0 ||
	    (req[12] != ' ' && req[12] != '?')))
		abort();
	return 0;
}
