/*
 * host.c - the child host and the in-memory queue (see proc.h).
 *
 * The host is the one loop that turns waiting work into children: the CLI's isolated batches,
 * the QA worker and the service's analysis host each give it their queue (`next`), what to do
 * with an ending (`done`), and their housekeeping (`tick`), and nothing else of theirs forks,
 * waits or kills. The loop is a turn of: tick; start tasks while a child is free; wait for a
 * child, a watched descriptor or the tick's time; hand over the endings. It runs on one thread,
 * and that thread must be the only one of its process when it forks (proc.h).
 *
 * The queue is a ring of pointers under one mutex, with one condition for waiting pops.
 *
 * libc and pthreads only, like the rest of src/proc/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "callqa/cq_clock.h"
#include "proc.h"

struct proc_host {
    proc_pool *pool;
};

void proc_host_kill(proc_host *h, uint64_t tag)
{
    proc_pool_kill(h->pool, tag);
}

int proc_host_running(const proc_host *h)
{
    return proc_pool_running(h->pool);
}

int proc_host_run(const proc_limits *lim, const proc_host_ops *ops, void *ctx)
{
    proc_host h = {.pool = proc_pool_create(lim->children, lim->max_answer)};
    proc_done *done = calloc((size_t)(lim->children > 0 ? lim->children : 1), sizeof(*done));
    if (!h.pool || !done) {
        proc_pool_destroy(h.pool);
        free(done);
        return -1;
    }
    int rc = 0, drained = 0;
    for (;;) {
        int wait_ms = ops->tick ? ops->tick(ctx, &h) : -1;
        while (!drained && proc_pool_running(h.pool) < lim->children) {
            proc_task t = {0};
            proc_next nx = ops->next(ctx, &t);
            if (nx == PROC_NEXT_DRAINED)
                drained = 1;
            if (nx != PROC_NEXT_TASK)
                break;
            if (proc_pool_spawn(h.pool, t.tag, lim->timeout_sec, t.fn, t.arg, t.close_fds,
                                t.n_close) != 0) {
                proc_done d = {.tag = t.tag, .outcome = PROC_NOT_STARTED, .code = errno};
                ops->done(ctx, &d);
            }
        }
        if (drained && !proc_pool_running(h.pool))
            break;
        struct pollfd *pf = NULL;
        int npf = ops->watch ? ops->watch(ctx, &pf) : 0;
        if (!proc_pool_running(h.pool) && npf == 0) {
            if (wait_ms < 0) { /* nothing could ever wake this loop */
                rc = -1;
                break;
            }
            cq_clock_sleep(wait_ms / 1000.0); /* a signal ends it early: the next tick sees why */
            continue;
        }
        int n = proc_pool_wait(h.pool, pf, npf, done, lim->children, wait_ms);
        for (int i = 0; i < n; i++) {
            ops->done(ctx, &done[i]);
            free(done[i].data);
        }
    }
    proc_pool_destroy(h.pool);
    free(done);
    return rc;
}

/* ---- the in-memory queue ------------------------------------------------------------------ */

struct proc_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void **ring;
    size_t cap, head, len;
    int closed;
};

proc_queue *proc_queue_create(size_t cap)
{
    proc_queue *q = calloc(1, sizeof(*q));
    if (!q || cap < 1 || !(q->ring = calloc(cap, sizeof(void *)))) {
        free(q);
        return NULL;
    }
    q->cap = cap;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

int proc_queue_push(proc_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    int ok = !q->closed && q->len < q->cap;
    if (ok) {
        q->ring[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return ok ? 0 : -1;
}

void *proc_queue_pop(proc_queue *q, int wait)
{
    pthread_mutex_lock(&q->mu);
    while (wait && !q->len && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    void *item = NULL;
    if (q->len) {
        item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

size_t proc_queue_len(proc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void proc_queue_close(proc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void proc_queue_destroy(proc_queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->ring);
    free(q);
}
