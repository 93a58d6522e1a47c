/*
 * svc_log.c - the requests' log lines, written to stderr in batches by a thread of their own: a
 * line was a write(2) of its request's, a tenth of a cached answer's time on the event loop.
 *
 * DESIGN
 * A first line after a quiet spell (no write in the last LOG_GROUP_SEC) is written at once by its
 * request, as before. Lines that come closer together go to a buffer of LOG_BUF bytes under one
 * mutex, and the request goes on: the writer lets them gather until LOG_GROUP_SEC after the last
 * write (or until the buffer is half full), swaps the buffer for a second one and writes what it
 * took in one write(2) (to the end, EINTR and short writes continued), outside the lock; so the
 * busier the service, the more lines a write carries, and a quiet one pays what it did. A line
 * that finds the buffer full waits until the writer took it (the writer is then in a write that
 * blocks: the request's own write would have blocked as well), so lines keep their order and none
 * is dropped. svc_log_stop writes what is left. What a crash can lose: the lines of the last
 * LOG_GROUP_SEC. Other log lines (warnings, errors) are written by their code at once, so one may
 * come before the line of a request that ended a moment earlier; each line has its time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc_log.h"
#include "callqa/cq_clock.h"

#define LOG_BUF ((size_t)64 << 10) /* bytes buffered at most: some 600 lines */
#define LOG_GROUP_SEC 0.002        /* a write at most this often while lines keep coming */

struct svc_log {
    pthread_mutex_t mu;
    pthread_cond_t has_lines; /* the writer waits on it */
    pthread_cond_t has_room;  /* a line that found the buffer full waits on it */
    char *buf;                /* the lines waiting: len bytes */
    size_t len;
    char *spare;    /* the writer's: what it writes, outside the lock */
    bool idle;      /* the writer waits for a first line: a line wakes it */
    bool gathering; /* the writer lets lines gather: a half-full buffer or the stop wakes it */
    bool stopping;
    double last; /* monotonic s: the last write */
    pthread_t thread;
};

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(STDERR_FILENO, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* stderr is gone: nothing to tell */
        p += k, n -= (size_t)k;
    }
}

static void *writer(void *arg)
{
    svc_log *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        l->idle = true;
        while (!l->len && !l->stopping)
            pthread_cond_wait(&l->has_lines, &l->mu);
        l->idle = false;
        if (!l->len)
            break; /* stopping, and every line written */
        double due = l->last + LOG_GROUP_SEC;
        if (cq_clock_mono_sec() < due && l->len < LOG_BUF / 2 && !l->stopping) {
            l->gathering = true;
            struct timespec until = cq_clock_timespec(due);
            while (l->len < LOG_BUF / 2 && !l->stopping &&
                   pthread_cond_timedwait(&l->has_lines, &l->mu, &until) != ETIMEDOUT) {
            }
            l->gathering = false;
        }
        char *b = l->buf;
        size_t n = l->len;
        l->buf = l->spare, l->len = 0, l->spare = NULL;
        pthread_cond_broadcast(&l->has_room);
        pthread_mutex_unlock(&l->mu);
        write_all(b, n);
        pthread_mutex_lock(&l->mu);
        l->last = cq_clock_mono_sec();
        l->spare = b;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* The log's locks and buffers, its thread joined or never started. */
static void log_free(svc_log *l)
{
    pthread_cond_destroy(&l->has_lines);
    pthread_cond_destroy(&l->has_room);
    pthread_mutex_destroy(&l->mu);
    free(l->buf);
    free(l->spare);
    free(l);
}

svc_log *svc_log_start(void)
{
    svc_log *l = calloc(1, sizeof(*l));
    if (!l || !(l->buf = malloc(LOG_BUF)) || !(l->spare = malloc(LOG_BUF))) {
        if (l)
            free(l->buf);
        free(l);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->has_lines, &ca);
    pthread_cond_init(&l->has_room, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->thread, NULL, writer, l) != 0) {
        log_free(l);
        return NULL;
    }
    return l;
}

void svc_log_line(svc_log *l, const char *line, size_t len)
{
    if (!l || len > LOG_BUF) {
        write_all(line, len);
        return;
    }
    pthread_mutex_lock(&l->mu);
    double now = cq_clock_mono_sec();
    if (l->idle && !l->len && now - l->last >= LOG_GROUP_SEC) { /* quiet: written at once */
        write_all(line, len);
        l->last = now;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    while (l->len + len > LOG_BUF) { /* full: the writer is in a write that blocks */
        pthread_cond_signal(&l->has_lines);
        pthread_cond_wait(&l->has_room, &l->mu);
    }
    memcpy(l->buf + l->len, line, len);
    l->len += len;
    if (l->idle || (l->gathering && l->len >= LOG_BUF / 2))
        pthread_cond_signal(&l->has_lines);
    pthread_mutex_unlock(&l->mu);
}

void svc_log_stop(svc_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->has_lines);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    log_free(l);
}
