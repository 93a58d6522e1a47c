/*
 * pool.c - the threads of a process's long work (the service's analyses, investigations and
 * /ask): a bounded FIFO (src/proc/'s proc_queue, the queue a batch's calls wait in) and the
 * threads that take from it, thread k running with slot k of the analyser (pipeline.h), so that
 * the analysis host answers each thread on a socket of its own. A full queue refuses at once:
 * the caller answers 503. The queue's lock is never held while an item runs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "../proc/proc.h"
#include "pl_int.h"

struct pool_slot {
    pl_pool *p;
    int k;
};

struct pl_pool {
    proc_queue *q;
    pthread_t *t;
    struct pool_slot *slots; /* thread i runs with slots[i] */
    int n;                   /* threads started */
    void (*run)(void *item, int slot, void *user);
    void *user;
};

static void *pool_thread(void *arg)
{
    const struct pool_slot *me = arg;
    pl_pool *p = me->p;
    void *item;
    while ((item = proc_queue_pop(p->q, 1))) /* NULL: closed, and nothing left */
        p->run(item, me->k, p->user);
    return NULL;
}

pl_pool *pl_pool_start(int threads, size_t cap, void (*run)(void *item, int slot, void *user),
                       void *user)
{
    pl_pool *p = calloc(1, sizeof(*p));
    if (!p || threads < 1 || !(p->q = proc_queue_create(cap)) ||
        !(p->t = calloc((size_t)threads, sizeof(pthread_t))) ||
        !(p->slots = calloc((size_t)threads, sizeof(*p->slots)))) {
        pl_pool_stop(p);
        return NULL;
    }
    p->run = run;
    p->user = user;
    /* SIGTERM and SIGINT are the main thread's (its sigwait): blocked in every thread here */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    for (int i = 0; i < threads; i++) {
        p->slots[i] = (struct pool_slot){p, i};
        if (pthread_create(&p->t[p->n], NULL, pool_thread, &p->slots[i]) == 0)
            p->n++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!p->n) {
        pl_pool_stop(p);
        return NULL;
    }
    return p;
}

int pl_pool_threads(const pl_pool *p)
{
    return p ? p->n : 0;
}

int pl_pool_push(pl_pool *p, void *item)
{
    return proc_queue_push(p->q, item);
}

size_t pl_pool_len(pl_pool *p)
{
    return proc_queue_len(p->q);
}

void pl_pool_close(pl_pool *p)
{
    if (p && p->q)
        proc_queue_close(p->q);
}

void pl_pool_stop(pl_pool *p)
{
    if (!p)
        return;
    pl_pool_close(p); /* the threads finish what is queued, then end */
    for (int i = 0; i < p->n; i++)
        pthread_join(p->t[i], NULL);
    proc_queue_destroy(p->q);
    free(p->t);
    free(p->slots);
    free(p);
}
