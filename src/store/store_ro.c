/*
 * store_ro.c - read-only query connections (POST /ask's SQL sources; docs/ask.md): what every
 * backend shares. Each backend (store_ro_sqlite.c, store_ro_pg.c, store_ro_my.c) makes writes
 * impossible by construction in layers of its database engine, and names the layer that refused
 * a query; this file calls them and holds their small common helpers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_ro_int.h"

double store_ro_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int store_ro_refuse(store_ro_result *out, const char *layer, const char *fmt, const char *why)
{
    snprintf(out->layer, sizeof(out->layer), "%s", layer);
    snprintf(out->error, sizeof(out->error), fmt, why);
    return -1;
}

store_ro_limits store_ro_limits_of(const store_ro_limits *lim)
{
    store_ro_limits l = lim ? *lim : (store_ro_limits){0};
    if (l.max_rows <= 0)
        l.max_rows = 50;
    if (!l.max_bytes)
        l.max_bytes = 1 << 20;
    if (l.timeout_sec <= 0)
        l.timeout_sec = 10;
    if (l.max_estimate <= 0)
        l.max_estimate = 1e6;
    return l;
}

const char *store_ro_kind(const store_ro *r)
{
    return r ? r->kind : "";
}

int store_ro_query(store_ro *r, const char *sql, const store_ro_limits *lim, store_ro_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!sql || !*sql)
        return store_ro_refuse(out, "one_statement", "%s", "no statement");
    store_ro_limits l = store_ro_limits_of(lim);
    return r->query(r, sql, &l, out);
}

void store_ro_result_free(store_ro_result *out)
{
    free(out->json);
    out->json = NULL;
}

void store_ro_close(store_ro *r)
{
    if (r)
        r->close(r);
}
