/*
 * The policy settings' checks (conf_table.c) and their parsed forms:
 * service lists, policy_stages, policy_default_action.
 */
#ifndef TERN_POLICY_CONF_H
#define TERN_POLICY_CONF_H

#include <stddef.h>

/* Config checks: 0, or -1 with why filled. */
int policy_services_check(const char *value, char *why, size_t whylen);
int policy_stages_check(const char *value, char *why, size_t whylen);
int policy_action_check(const char *value, char *why, size_t whylen);

/* policy_stages as a mask of 1 << enum plugin_stage; 0 when a word is
 * not a stage (the check refused it already). */
unsigned policy_stages_mask(const char *value);

#endif
