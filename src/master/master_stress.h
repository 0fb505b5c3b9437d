/*
 * The stress decision, apart from the loop that feeds it, so that it can
 * be tested alone.  master sums what its children report (smtpd's
 * sessions against max_sessions, the screen's waiting clients against
 * screen_max_clients) and asks master_stress_update() after each report,
 * each turn of its loop and each reload.
 */
#ifndef TERN_MASTER_STRESS_H
#define TERN_MASTER_STRESS_H

#include <time.h>

#include "conf/conf.h"

/* The load as the children last reported it; a max of 0: not reported. */
struct master_load {
	unsigned sessions, sessions_max;
	unsigned screen, screen_max;
};

struct master_stress {
	int on;
	time_t since;           /* when it was entered (monotonic seconds) */
	time_t below_since;     /* both below stress_low_water since; 0: not */
	struct master_load entered; /* the load when it was entered */
};

/*
 * Enters stress mode when either count reaches stress_high_water percent
 * of its limit; leaves when both have stayed below stress_low_water for
 * stress_hold_time.  stress = on or off overrides the counts.  Logs each
 * transition with the figures.  now is monotonic seconds, above 0.
 * Returns 1 when st->on changed (the children must be told), else 0.
 */
int master_stress_update(struct master_stress *st, const struct conf *conf,
    const struct master_load *load, time_t now);

#endif
