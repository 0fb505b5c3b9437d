/*
 * The macros tern sends a milter before each command (SMFIC_MACRO), with
 * the names and meanings Postfix gives them: j, _, v, i, {daemon_name},
 * {daemon_addr}, {auth_type}, {tls_version}, ...  A macro with no value
 * at that point of the session (i before MAIL, {auth_type} without AUTH)
 * is not sent, as Postfix does.
 */
#ifndef TERN_MILTER_MACROS_H
#define TERN_MILTER_MACROS_H

#include <stddef.h>

#include "plugin/milter_proto.h"

struct session;
struct buf;

/* The value of macro name ("j", "{auth_type}") in session s, in val
 * (vallen bytes), or NULL when it has none now. */
const char *milter_macro_value(struct session *s, const char *name,
    char *val, size_t vallen);

/* The config's list for a class (milter_connect_macros, ...). */
const char *milter_macro_conf_list(const struct session *s,
    enum milter_macro_class cls);

/* Appends an SMFIC_MACRO packet for command cmd with the macros of list
 * that have a value; nothing when none has.  0, or -1 when out is full. */
int milter_macros_put(struct buf *out, struct session *s, char cmd,
    const char *list);

#endif
