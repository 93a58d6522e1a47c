/*
 * svc_hot.c - the stored results GET /analyze served in the last second, kept in memory: a
 * cached answer asked again within SVC_HOT_SEC is served without reading the store (a read of
 * the store was a quarter of a cached answer's CPU time). docs/service.md, "Cached results".
 *
 * DESIGN
 * SVC_HOT_SLOTS entries, each a copy of one stored row (store_result, its report included) with
 * the time it was read, found by a hash of (server, file, engine), under one mutex. An entry
 * serves for SVC_HOT_SEC after it was read from the store, then the store is read again; what
 * this process changes in the store is forgotten at once (a result stored or revalidated,
 * DELETE /cache), so only another process's change (another service on the same store, a
 * purge, an erasure) is seen up to SVC_HOT_SEC late. A report over SVC_HOT_MAX_REPORT bytes is
 * not kept, so the entries hold at most SVC_HOT_SLOTS x SVC_HOT_MAX_REPORT bytes; the service's
 * main loop frees the expired ones once a second, so an idle service holds none.
 *
 * A report is kept once, with a count of its holders: the entry and each answer that sends it
 * (libmicrohttpd sends it from there, and gives it back when sent), so that a cached answer
 * copies nothing; the last holder frees it (an answer may outlive its entry).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "svc_hot.h"
#include "svc_text.h"
#include "../store/store_calls.h"
#include "callqa/cq_clock.h"

#define SVC_HOT_SLOTS 64
#define SVC_HOT_SEC 1.0
#define SVC_HOT_MAX_REPORT ((size_t)256 << 10)

struct svc_hot_body {
    atomic_int holders;
    size_t len;
    char text[]; /* len bytes and a NUL */
};

typedef struct hot_entry {
    bool used;
    double loaded;      /* monotonic s: when it was read from the store */
    store_result row;   /* its report NULL: */
    svc_hot_body *body; /* the report */
} hot_entry;

struct svc_hot {
    pthread_mutex_t mu;
    uint64_t gen; /* moved on by each forget: a row read before it is not kept */
    hot_entry e[SVC_HOT_SLOTS];
};

svc_hot *svc_hot_create(void)
{
    svc_hot *h = calloc(1, sizeof(*h));
    if (h)
        pthread_mutex_init(&h->mu, NULL);
    return h;
}

size_t svc_hot_len(const svc_hot_body *b)
{
    return b->len;
}

void svc_hot_release(void *body)
{
    svc_hot_body *b = body;
    if (b && atomic_fetch_sub_explicit(&b->holders, 1, memory_order_acq_rel) == 1)
        free(b);
}

static void drop(hot_entry *e)
{
    svc_hot_release(e->body);
    e->body = NULL;
    e->used = false;
}

void svc_hot_destroy(svc_hot *h)
{
    if (!h)
        return;
    for (int i = 0; i < SVC_HOT_SLOTS; i++)
        if (h->e[i].used)
            drop(&h->e[i]);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static unsigned slot_of(const char *server, const char *file, const char *engine)
{
    uint32_t x = 2166136261u;
    const char *parts[3] = {server, file, engine};
    for (int k = 0; k < 3; k++) {
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            x = (x ^ *p) * 16777619u;
        x = (x ^ 0xff) * 16777619u; /* a separator no name holds */
    }
    return x % SVC_HOT_SLOTS;
}

static bool same(const store_result *r, const char *server, const char *file, const char *engine)
{
    return !strcmp(r->server, server) && !strcmp(r->file, file) && !strcmp(r->engine, engine);
}

int svc_hot_get(svc_hot *h, const char *server, const char *file, const char *engine,
                store_result *out, svc_hot_body **body)
{
    if (!h)
        return 0;
    int got = 0;
    pthread_mutex_lock(&h->mu);
    hot_entry *e = &h->e[slot_of(server, file, engine)];
    if (e->used && same(&e->row, server, file, engine)) {
        if (cq_clock_mono_sec() - e->loaded < SVC_HOT_SEC) {
            *out = e->row;
            out->report = e->body->text;
            atomic_fetch_add_explicit(&e->body->holders, 1, memory_order_relaxed);
            *body = e->body;
            got = 1;
        } else {
            drop(e);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

uint64_t svc_hot_gen(svc_hot *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    uint64_t g = h->gen;
    pthread_mutex_unlock(&h->mu);
    return g;
}

void svc_hot_put(svc_hot *h, const store_result *row, double loaded, uint64_t gen)
{
    size_t len = row->report ? strlen(row->report) : 0;
    if (!h || !row->report || len > SVC_HOT_MAX_REPORT)
        return;
    svc_hot_body *copy = malloc(sizeof(*copy) + len + 1);
    if (!copy)
        return;
    atomic_init(&copy->holders, 1);
    copy->len = len;
    memcpy(copy->text, row->report, len + 1);
    pthread_mutex_lock(&h->mu);
    if (h->gen != gen) { /* the store changed here since the row was read */
        pthread_mutex_unlock(&h->mu);
        free(copy);
        return;
    }
    hot_entry *e = &h->e[slot_of(row->server, row->file, row->engine)];
    if (e->used)
        drop(e);
    e->row = *row;
    e->row.report = NULL;
    e->body = copy;
    e->loaded = loaded;
    e->used = true;
    pthread_mutex_unlock(&h->mu);
}

void svc_hot_forget(svc_hot *h, const char *server, const char *file)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->gen++;
    for (int i = 0; i < SVC_HOT_SLOTS; i++)
        if (h->e[i].used && (!server || (!strcmp(h->e[i].row.server, server) &&
                                         (!file || !strcmp(h->e[i].row.file, file)))))
            drop(&h->e[i]);
    pthread_mutex_unlock(&h->mu);
}

void svc_hot_tick(svc_hot *h)
{
    if (!h)
        return;
    double now = cq_clock_mono_sec();
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < SVC_HOT_SLOTS; i++)
        if (h->e[i].used && now - h->e[i].loaded >= SVC_HOT_SEC)
            drop(&h->e[i]);
    pthread_mutex_unlock(&h->mu);
}
