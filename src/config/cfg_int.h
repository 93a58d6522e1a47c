/*
 * cfg_int.h - what the files of src/config/ share among themselves and nothing outside reads:
 * a setting set from a flag, its failure naming the flag, and a bound as it is written (config.c,
 * for cfg_cmds.c).
 */
#ifndef CQ_CFG_INT_H
#define CQ_CFG_INT_H

#include <stddef.h>

#include "config.h"

/* The setting `key` set to value within its bounds, as cfg_set, a failure naming `name` (the
 * flag, "--max-calls") and the value: "--max-calls 0: out of range 1..100000". 0, or -1 with
 * msg. */
int cfg__set_as(cfg_settings *c, const char *key, const char *name, const char *value, char *msg,
                size_t msgsz);

/* A number as a person writes it: 100000, not 1e+05 (a bound in a message or on a page). */
const char *cfg__num_text(double d, char *buf, size_t n);

#endif /* CQ_CFG_INT_H */
