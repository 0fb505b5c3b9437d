/*
 * smtpd's side of stress mode.  master decides it from the session count,
 * which smtpd reports (net/load_report.c).  master's IPC_CTL_STRESS sets
 * the process's flag, which conf_now() reads; the sessions already open
 * take the new timeouts at once.  Trusts master as far as
 * ipc_ctl_stress_parse checks its message.
 */
#include "net/ipc.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

void
smtpd_stress_msg(struct smtpd *sd, const struct ipc_msg *msg)
{
	if (child_stress_msg(msg) <= 0)
		return;
	log_info("stress mode %s: sessions=%zu/%zu",
	    conf_stress_active() ? "on" : "off",
	    sd->nsessions, sd->nslots);
	for (size_t i = 0; i < sd->nslots; i++) {
		struct session *s = sd->slots[i];
		if (s != NULL && s->state != SESSION_CLOSING)
			session_set_timeouts(s);
	}
}
