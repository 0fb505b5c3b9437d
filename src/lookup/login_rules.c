/*
 * The format rules for new logins and passwords.  Trusts the config's
 * pattern to compile (conf_load checked it) but still reports it if it
 * does not; trusts nothing of the login or password, which are only
 * measured and matched.  A password never appears in a message.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lookup/login_rules.h"
#include "lookup/password.h"
#include "util/log.h"

#define LOGIN_SHOWN 256         /* room for a refused login in a message */

int
login_check(const struct conf *conf, const char *login, char *err,
    size_t errlen)
{
	char shown[LOGIN_SHOWN];
	regex_t re;
	int rc;

	if (regcomp(&re, conf->login_pattern, REG_EXTENDED | REG_NOSUB) != 0) {
		snprintf(err, errlen, "login_pattern %s does not compile",
		    conf->login_pattern);
		return -1;
	}
	rc = regexec(&re, login, 0, NULL, 0);
	regfree(&re);
	if (rc == 0)
		return 0;
	/* The login came from the command line: escaped, so that a
	 * control character cannot play tricks on the terminal. */
	log_escape(shown, sizeof(shown), login, strnlen(login,
	    sizeof(shown)));
	snprintf(err, errlen, "login '%s' does not match login_pattern %s",
	    shown, conf->login_pattern);
	return -1;
}

int
password_check(const struct conf *conf, const char *login,
    const char *password, char *err, size_t errlen)
{
	size_t len = strnlen(password, PASSWORD_MAX + 1);

	if (len < conf->password_min_length) {
		snprintf(err, errlen, "password too short: at least %u "
		    "characters (password_min_length)",
		    conf->password_min_length);
		return -1;
	}
	if (strcasecmp(password, login) == 0) {
		snprintf(err, errlen, "password must differ from the login");
		return -1;
	}
	return 0;
}
