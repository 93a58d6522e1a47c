/*
 * store_ro.c - read-only query connections (POST /ask's SQL sources; docs/ask/sources.md): what
 * every backend shares. Each backend (store_ro_sqlite.c, store_ro_pg.c, store_ro_my.c) makes writes
 * impossible by construction in layers of its database engine, and names the layer that refused
 * a query; this file calls them and holds their small common helpers, and the watchdog that
 * bounds a caller's wait on a server that does not stop a statement at its time.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "store_ro_int.h"
#include "callqa/cq_clock.h"

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

/* ---- the watchdog ------------------------------------------------------------------------- */

static void wait_until(store_ro_watch *w, double t)
{
    while (!w->done && cq_clock_mono_sec() < t) {
        struct timespec ts = cq_clock_timespec(t); /* the cond's clock is CLOCK_MONOTONIC */
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
}

static void *watch_run(void *u)
{
    store_ro_watch *w = u;
    pthread_mutex_lock(&w->mu);
    wait_until(w, w->kill_at);
    if (!w->done) {
        w->fired = true;
        pthread_mutex_unlock(&w->mu);
        if (w->kill)
            w->kill(w->u);
        pthread_mutex_lock(&w->mu);
        wait_until(w, w->cut_at);
        if (!w->done) { /* the server did not stop: the blocked read returns now */
            shutdown(w->fd, SHUT_RDWR);
            w->cut = true;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int store_ro_watch_start(store_ro_watch *w, int fd, double kill_at, double cut_at,
                         void (*kill)(void *u), void *u)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->kill = kill;
    w->u = u;
    w->kill_at = kill_at;
    w->cut_at = cut_at;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->t, NULL, watch_run, w)) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        return -1;
    }
    return 0;
}

void store_ro_watch_stop(store_ro_watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->t, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}
