/*
 * master's stress decision: see master_stress.h.  Trusts the figures it
 * is given: master_loop took them from ipc_ctl_load_parse, which checked
 * that each count is within its limit.
 */
#include "master/master_stress.h"

#include <stdint.h>

#include "util/log.h"

/* n reaches pct percent of max (never for a limit not reported). */
static int
master_stress_over(unsigned n, unsigned max, unsigned pct)
{
	return max > 0 && (uint64_t)n * 100 >= (uint64_t)pct * max;
}

static int
master_stress_under(unsigned n, unsigned max, unsigned pct)
{
	return max == 0 || (uint64_t)n * 100 < (uint64_t)pct * max;
}

/* What auto mode wants now, given what it had. */
static int
master_stress_auto(struct master_stress *st, const struct conf *conf,
    const struct master_load *l, time_t now)
{
	int high = master_stress_over(l->sessions, l->sessions_max,
	    conf->stress_high_water) || master_stress_over(l->screen,
	    l->screen_max, conf->stress_high_water);
	int low = master_stress_under(l->sessions, l->sessions_max,
	    conf->stress_low_water) && master_stress_under(l->screen,
	    l->screen_max, conf->stress_low_water);

	if (!st->on)
		return high;
	/* Still at the high mark never leaves, even with stress_low_water
	 * set above stress_high_water: that would flap. */
	if (!low || high) {
		st->below_since = 0;
		return 1;
	}
	if (st->below_since == 0)
		st->below_since = now;
	return now - st->below_since < (time_t)conf->stress_hold_time;
}

int
master_stress_update(struct master_stress *st, const struct conf *conf,
    const struct master_load *l, time_t now)
{
	const char *forced = conf->stress == CONF_STRESS_ON ? " stress=on" :
	    conf->stress == CONF_STRESS_OFF ? " stress=off" : "";
	int want;

	if (conf->stress == CONF_STRESS_ON)
		want = 1;
	else if (conf->stress == CONF_STRESS_OFF)
		want = 0;
	else
		want = master_stress_auto(st, conf, l, now);
	if (want == st->on)
		return 0;
	if (want) {
		log_warn("stress: entering stress mode sessions=%u/%u "
		    "screen=%u/%u%s", l->sessions, l->sessions_max, l->screen,
		    l->screen_max, forced);
		st->since = now;
		st->entered = *l;
	} else {
		log_info("stress: leaving stress mode after %llds "
		    "sessions=%u/%u screen=%u/%u%s",
		    (long long)(now - st->since), l->sessions,
		    l->sessions_max, l->screen, l->screen_max, forced);
	}
	st->on = want;
	st->below_since = 0;
	return 1;
}
