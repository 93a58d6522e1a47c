/*
 * ask_int.h - the ask room's insides shared by its files (ask.c, ask_prom.c). Nothing outside
 * src/ask/ includes it.
 */
#ifndef CQ_ASK_INT_H
#define CQ_ASK_INT_H

#include "ask.h"

/* A refusal: out->layer = layer, out->error = the formatted reason; returns -1. */
int ask_refuse(store_ro_result *out, const char *layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CQ_ASK_INT_H */
