/*
 * RFC 3339 timestamps for the log file: see log_stamp.h.  The parser is
 * by fixed positions (the logger always writes the same width), so that
 * `tern log` can stamp-check lines of a large file cheaply.
 */
#include "util/log_stamp.h"

#include <stdio.h>
#include <string.h>

int
log_stamp_format(const struct timespec *ts, char *dst, size_t dstlen)
{
	struct tm tm;
	long off;
	int n;

	if (dstlen < LOG_STAMP_LEN + 1)
		return -1;
	if (localtime_r(&ts->tv_sec, &tm) == NULL) {
		snprintf(dst, dstlen, "1970-01-01T00:00:00.000+00:00");
		return -1;
	}
	off = tm.tm_gmtoff / 60;
	n = snprintf(dst, dstlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts->tv_nsec / 1000000, off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	return n == LOG_STAMP_LEN ? n : -1;
}

/* n decimal digits at s, or -1. */
static long
log_stamp_digits(const char *s, size_t n)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm per line. */
static long long
log_stamp_days(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (long long)era * 146097 + doe - 719468;
}

int
log_stamp_parse(const char *s, size_t len, time_t *when_r)
{
	long y, mo, d, h, mi, sec, oh, om;

	if (len < LOG_STAMP_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' ||
	    (s[23] != '+' && s[23] != '-') || s[26] != ':')
		return -1;
	y = log_stamp_digits(s, 4);
	mo = log_stamp_digits(s + 5, 2);
	d = log_stamp_digits(s + 8, 2);
	h = log_stamp_digits(s + 11, 2);
	mi = log_stamp_digits(s + 14, 2);
	sec = log_stamp_digits(s + 17, 2);
	oh = log_stamp_digits(s + 24, 2);
	om = log_stamp_digits(s + 27, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60 || oh < 0 || oh > 23 ||
	    om < 0 || om > 59 || log_stamp_digits(s + 20, 3) < 0)
		return -1;
	long long t = log_stamp_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	long long off = oh * 3600 + om * 60;
	*when_r = (time_t)(s[23] == '+' ? t - off : t + off);
	return 0;
}
