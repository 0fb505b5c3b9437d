/*
 * The metrics page: the HTTP request check (master/metrics_request.c), fed
 * whole and one byte at a time, must give the same verdict at the same
 * byte either way; and the page (master/metrics_text.c) from known
 * reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "master/metrics_request.h"
#include "master/metrics_text.h"

/* The verdict, and how many bytes it took: fed one byte more each time,
 * as the slowest client sends it. */
static int
status_bytewise(const char *req, size_t len, size_t *used_r)
{
	for (size_t n = 1; n <= len; n++) {
		int st = metrics_request_status(req, n);
		if (st != 0) {
			*used_r = n;
			return st;
		}
	}
	*used_r = len;
	return 0;
}

static void
test_request_status(void **state)
{
	static const struct {
		const char *req;
		int want;
	} cases[] = {
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.1\n", 200 },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n", 200 },
		{ "GET /metricsx HTTP/1.1\r\n", 404 },
		{ "GET / HTTP/1.1\r\n", 404 },
		{ "GET /metrics/ HTTP/1.1\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\n", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n", 405 },
		{ "POST /other HTTP/1.1\r\n", 404 },
		{ "GET /metrics HTTP/2.0\r\n", 505 },
		{ "GET /metrics HTTP/0.9\r\n", 505 },
		{ "GET /metrics HTTP/1.10\r\n", 400 },
		{ "GET /metrics\r\n", 400 },
		{ "GET  /metrics HTTP/1.1\r\n", 400 },
		{ "GET /metrics HTTP/1.1 x\r\n", 400 },
		{ "GET /metrics HTTP/1.1 \r\n", 400 },
		{ " GET /metrics HTTP/1.1\r\n", 400 },
		{ "get /metrics HTTP/1.1\r\n", 400 },
		{ "GET /me\rtrics HTTP/1.1\r\n", 400 },
		{ "GET /me\ttrics HTTP/1.1\r\n", 400 },
		{ "GET /m\xc3\xa9trics HTTP/1.1\r\n", 400 },
		{ "\x16\x03\x01", 400 },
		{ "\r\n", 400 },
		{ "GET /metrics HTTP/1.1", 0 },
		{ "GET /metrics HTTP/1.1\r", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *req = cases[i].req;
		size_t len = strlen(req), used;
		int whole = metrics_request_status(req, len);
		int bytewise = status_bytewise(req, len, &used);
		if (whole != cases[i].want || bytewise != cases[i].want)
			fail_msg("case %zu %.30s: got %d whole, %d byte by "
			    "byte, want %d", i, req, whole, bytewise,
			    cases[i].want);
	}
}

/* A bad byte is answered at once, not after the line ends. */
static void
test_garbage_answered_at_once(void **state)
{
	size_t used;

	(void)state;
	assert_int_equal(status_bytewise("GET /\x01xxxxxxxx", 14, &used), 400);
	assert_int_equal(used, 6);
	assert_int_equal(status_bytewise("xGET", 4, &used), 400);
	assert_int_equal(used, 1);
}

/* A line without an end is cut at the bound. */
static void
test_request_bound(void **state)
{
	static char req[METRICS_REQUEST_MAX + 1];

	(void)state;
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', sizeof(req) - 5);
	assert_int_equal(metrics_request_status(req, METRICS_REQUEST_MAX - 1),
	    0);
	assert_int_equal(metrics_request_status(req, METRICS_REQUEST_MAX), 431);
}

static void
test_page_from_reports(void **state)
{
	static const struct master_stress stress = { .on = 1 };
	struct stats smtpd = { 0 }, lookup = { 0 };
	struct master_status st = { .pid = 1, .started = 1700000000,
	    .stress = &stress, .nprocs = 3 };
	struct buf b;

	(void)state;
	stats_add(&smtpd, "smtp", 2);
	stats_add(&smtpd, "accepted", 7);
	stats_add(&smtpd, "rejected_unknown_recipient", 3);
	stats_add(&lookup, "login_imap_case_mismatch", 4);
	st.procs[0] = (struct master_status_proc){ "smtpd", 10, &smtpd };
	st.procs[1] = (struct master_status_proc){ "lookup", 11, &lookup };
	/* Not running: its last figures are not shown. */
	st.procs[2] = (struct master_status_proc){ "queue", 0, &lookup };
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_text_render(&b, &st), 0);
	assert_non_null(strstr(b.data, "\ntern_stress_mode 1\n"));
	assert_non_null(strstr(b.data,
	    "\ntern_start_time_seconds 1700000000\n"));
	assert_non_null(strstr(b.data, "\ntern_sessions{port=\"smtp\"} 2\n"));
	assert_null(strstr(b.data, "tern_sessions{port=\"submission\"}"));
	assert_non_null(strstr(b.data, "\ntern_messages_accepted_total 7\n"));
	assert_non_null(strstr(b.data,
	    "\ntern_rejected_total{reason=\"unknown-recipient\"} 3\n"));
	assert_non_null(strstr(b.data, "\ntern_logins_total{protocol=\"imap\","
	    "result=\"case-mismatch\"} 4\n"));
	assert_non_null(strstr(b.data,
	    "\ntern_process_up{process=\"queue\"} 0\n"));
	assert_non_null(strstr(b.data, "# TYPE tern_queue_messages gauge\n"));
	assert_null(strstr(b.data, "\ntern_queue_messages "));
	assert_non_null(strstr(b.data, "# TYPE tern_rejected_total counter\n"));
	/* Too small a buffer fails, it does not cut the page short. */
	buf_free(&b);
	buf_init(&b, 100);
	assert_int_equal(metrics_text_render(&b, &st), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_status),
		cmocka_unit_test(test_garbage_answered_at_once),
		cmocka_unit_test(test_request_bound),
		cmocka_unit_test(test_page_from_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
