/*
 * The policy settings: what a service list, policy_stages and
 * policy_default_action may hold.  Trusts only the config file, and
 * checks it like any other input.
 */
#include "plugin/policy_conf.h"

#include <stdio.h>
#include <string.h>

#include "plugin/plugin.h"
#include "plugin/policy_conn.h"
#include "plugin/policy_proto.h"
#include "util/list_word.h"

/* The config's names of the stages, as Postfix's protocol_state but in
 * lower case: "end-of-message" for PLUGIN_EOM. */
static const char *const policy_stage_words[PLUGIN_STAGES] = {
	[PLUGIN_CONNECT] = "connect", [PLUGIN_HELO] = "helo",
	[PLUGIN_MAIL] = "mail", [PLUGIN_RCPT] = "rcpt",
	[PLUGIN_DATA] = "data", [PLUGIN_EOM] = "end-of-message",
};

int
policy_services_check(const char *value, char *why, size_t whylen)
{
	char word[POLICY_SPEC_MAX + 8];
	int rc;

	while ((rc = list_word(&value, word, sizeof(word))) != 0) {
		if (rc < 0) {
			snprintf(why, whylen, "policy service too long: %.40s...",
			    word);
			return -1;
		}
		if (policy_spec_check(word, why, whylen) < 0)
			return -1;
	}
	return 0;
}

static int
policy_stage_word(const char *word)
{
	for (int i = 0; i < PLUGIN_STAGES; i++)
		if (strcmp(word, policy_stage_words[i]) == 0)
			return i;
	return -1;
}

unsigned
policy_stages_mask(const char *value)
{
	char word[32];
	unsigned mask = 0;
	int rc, stage;

	while ((rc = list_word(&value, word, sizeof(word))) != 0) {
		if (rc < 0 || (stage = policy_stage_word(word)) < 0)
			return 0;
		mask |= 1u << stage;
	}
	return mask;
}

int
policy_stages_check(const char *value, char *why, size_t whylen)
{
	char word[32];
	int rc;

	while ((rc = list_word(&value, word, sizeof(word))) != 0) {
		if (rc < 0 || policy_stage_word(word) < 0) {
			snprintf(why, whylen, "'%s' is not a stage: want connect, "
			    "helo, mail, rcpt, data or end-of-message", word);
			return -1;
		}
	}
	return 0;
}

/* The default action is judged like a reply's: it must mean something
 * (a refusal, most likely), not be an action tern does not support. */
int
policy_action_check(const char *value, char *why, size_t whylen)
{
	struct policy_action a;

	if (strlen(value) >= POLICY_LINE_MAX) {
		snprintf(why, whylen, "too long");
		return -1;
	}
	policy_action_eval(value, "x", "Recipient address", &a);
	if (a.act == POLICY_ACT_UNSUPPORTED) {
		snprintf(why, whylen, "'%s' is not an action tern takes: "
		    "want e.g. 451 4.3.5 text, DEFER text, DUNNO", value);
		return -1;
	}
	return 0;
}
