/*
 * Unit tests of master's stress decision (master_stress.c): entering at
 * the high water mark of either count, leaving only after both stayed
 * below the low one for stress_hold_time, and stress = on / off.  The
 * clock is passed in, so no test waits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "master/master_stress.h"

/* The defaults (80%, 60%, 60s, auto), with an empty config file. */
static void
load_defaults(struct conf *c)
{
	char path[64] = "/tmp/tern-test-stress.XXXXXX", err[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	if (conf_load(c, path, err, sizeof(err)) < 0)
		fail_msg("conf_load: %s", err);
	assert_int_equal(unlink(path), 0);
}

static void
test_enter_at_high_water(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 79, 100, 0, 0 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	assert_int_equal(master_stress_update(&st, &c, &l, 10), 0);
	assert_false(st.on);
	l.sessions = 80;
	assert_int_equal(master_stress_update(&st, &c, &l, 11), 1);
	assert_true(st.on);
	assert_int_equal(st.since, 11);
	/* Still high: no change to report. */
	assert_int_equal(master_stress_update(&st, &c, &l, 12), 0);
	conf_free(&c);
}

/* The screen's count alone is enough; a limit not reported never is. */
static void
test_screen_counts_too(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 0, 100, 9, 10 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	assert_int_equal(master_stress_update(&st, &c, &l, 5), 1);
	assert_true(st.on);
	st.on = 0;
	l = (struct master_load){ 0, 0, 0, 0 };
	assert_int_equal(master_stress_update(&st, &c, &l, 6), 0);
	conf_free(&c);
}

static void
test_leave_after_hold(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 90, 100, 0, 0 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	assert_int_equal(master_stress_update(&st, &c, &l, 100), 1);
	/* Between the marks: stays on, the hold does not start. */
	l.sessions = 70;
	assert_int_equal(master_stress_update(&st, &c, &l, 200), 0);
	assert_int_equal(st.below_since, 0);
	/* Below the low mark: on until 60s have passed... */
	l.sessions = 59;
	assert_int_equal(master_stress_update(&st, &c, &l, 300), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 359), 0);
	/* ...unless it rises again meanwhile, which starts the hold over. */
	l.sessions = 60;
	assert_int_equal(master_stress_update(&st, &c, &l, 359), 0);
	l.sessions = 10;
	assert_int_equal(master_stress_update(&st, &c, &l, 360), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 419), 0);
	assert_true(st.on);
	assert_int_equal(master_stress_update(&st, &c, &l, 420), 1);
	assert_false(st.on);
	conf_free(&c);
}

/* The screen being busy keeps it on however low the sessions are. */
static void
test_both_must_be_low(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 90, 100, 7, 10 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	assert_int_equal(master_stress_update(&st, &c, &l, 1), 1);
	l.sessions = 0;
	assert_int_equal(master_stress_update(&st, &c, &l, 2), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 1000), 0);
	assert_true(st.on);
	conf_free(&c);
}

/* A low mark above the high one does not make it flap. */
static void
test_low_above_high_does_not_flap(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 50, 100, 0, 0 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	c.stress_high_water = 50;
	c.stress_low_water = 90;
	assert_int_equal(master_stress_update(&st, &c, &l, 1), 1);
	assert_int_equal(master_stress_update(&st, &c, &l, 1000), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 1100), 0);
	assert_true(st.on);
	l.sessions = 49;
	assert_int_equal(master_stress_update(&st, &c, &l, 1001), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 1061), 1);
	assert_false(st.on);
	conf_free(&c);
}

static void
test_forced(void **state)
{
	struct master_stress st = { .on = 0 };
	struct master_load l = { 0, 100, 0, 0 };
	struct conf c;

	(void)state;
	load_defaults(&c);
	c.stress = CONF_STRESS_ON;
	assert_int_equal(master_stress_update(&st, &c, &l, 1), 1);
	assert_true(st.on);
	assert_int_equal(master_stress_update(&st, &c, &l, 1000), 0);
	c.stress = CONF_STRESS_OFF;
	l.sessions = 100;
	assert_int_equal(master_stress_update(&st, &c, &l, 1001), 1);
	assert_false(st.on);
	assert_int_equal(master_stress_update(&st, &c, &l, 1002), 0);
	/* Back to auto with the load high: on at once. */
	c.stress = CONF_STRESS_AUTO;
	assert_int_equal(master_stress_update(&st, &c, &l, 1003), 1);
	/* Forced on, then back to auto with no load: the hold applies. */
	c.stress = CONF_STRESS_ON;
	l.sessions = 0;
	assert_int_equal(master_stress_update(&st, &c, &l, 1004), 0);
	c.stress = CONF_STRESS_AUTO;
	assert_int_equal(master_stress_update(&st, &c, &l, 1005), 0);
	assert_int_equal(master_stress_update(&st, &c, &l, 1065), 1);
	assert_false(st.on);
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enter_at_high_water),
		cmocka_unit_test(test_screen_counts_too),
		cmocka_unit_test(test_leave_after_hold),
		cmocka_unit_test(test_both_must_be_low),
		cmocka_unit_test(test_low_above_high_does_not_flap),
		cmocka_unit_test(test_forced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
