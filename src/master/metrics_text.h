/*
 * The metrics page's body: Prometheus's text exposition format (0.0.4),
 * rendered from what master knows for tern status (master_status.h):
 * every child's last report and master's stress decision.  The names
 * and labels are ours, fixed here; docs/operations.md lists them.  A
 * child that is not running, or has not reported yet, has its families
 * listed without samples.
 */
#ifndef TERN_METRICS_TEXT_H
#define TERN_METRICS_TEXT_H

#include "master/master_status.h"
#include "util/buf.h"

/* 0, or -1 when b's bound is reached. */
int metrics_text_render(struct buf *b, const struct master_status *st);

#endif
