/*
 * Policy delegation: Postfix's policy protocol (SMTPD_POLICY_README) as a
 * plugin kind, so that postgrey, policyd-rate-limit and the like plug in
 * unchanged.  policy.c asks the services at the stages policy_stages
 * names; policy_request.c fills the request from the session;
 * policy_conn.c holds the connections; policy_proto.c speaks the protocol.
 */
#ifndef TERN_POLICY_H
#define TERN_POLICY_H

#include "plugin/plugin.h"

extern const struct plugin_kind policy_kind;

#endif
