/*
 * The format rules for new logins and new passwords, from the config:
 * login_pattern and password_min_length.  Applied by the admin commands
 * when a login is created or a password set; logins that exist already
 * are never judged again.
 */
#ifndef TERN_LOGIN_RULES_H
#define TERN_LOGIN_RULES_H

#include <stddef.h>

#include "conf/conf.h"

/* 0 when login matches conf->login_pattern; else -1 with a message that
 * names the rule in err ("login 'X' does not match login_pattern ..."). */
int login_check(const struct conf *conf, const char *login, char *err,
    size_t errlen);

/* 0 when password is at least password_min_length bytes long and differs
 * from the login, in any case; else -1 with the broken rule in err. */
int password_check(const struct conf *conf, const char *login,
    const char *password, char *err, size_t errlen);

#endif
