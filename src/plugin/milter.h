/*
 * The milter client: tern talks to milters (OpenDKIM, rspamd, ...) with
 * the Sendmail milter protocol, version 6, as Postfix does.  One
 * connection per milter per SMTP session, opened at its start and closed
 * at its end, as libmilter expects.
 */
#ifndef TERN_MILTER_H
#define TERN_MILTER_H

#include "plugin/plugin.h"

extern const struct plugin_kind milter_kind;

#endif
