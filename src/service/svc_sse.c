/*
 * svc_sse.c - a server-sent-event client's pending bytes, for the two hubs that stream (svc.h:
 * svc_sse; svc_events.c for /api/qa/events, svc_live.c for /api/live/events). A stream with
 * nothing to send is suspended by libmicrohttpd's content reader and resumed by its hub.
 */
#include <stdlib.h>
#include <string.h>

#include "svc.h"

int svc_sse_append(svc_sse *t, const char *text, size_t n, size_t max)
{
    if (t->len - t->off + n > max) {
        t->overflow = true;
        return -1;
    }
    if (t->off && t->off == t->len)
        t->off = t->len = 0;
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->overflow = true;
            return -1;
        }
        t->buf = b, t->cap = cap;
    }
    memcpy(t->buf + t->len, text, n);
    t->len += n;
    return 0;
}

void svc_sse_wake(svc_sse *t, bool ending)
{
    if (t->suspended && (t->len > t->off || t->overflow || ending)) {
        t->suspended = false;
        MHD_resume_connection(t->conn);
    }
}

ssize_t svc_sse_read(svc_sse *t, pthread_mutex_t *mu, const bool *ending, char *buf, size_t max)
{
    pthread_mutex_lock(mu);
    ssize_t n;
    if (t->len > t->off) {
        size_t k = t->len - t->off < max ? t->len - t->off : max;
        memcpy(buf, t->buf + t->off, k);
        t->off += k;
        n = (ssize_t)k;
    } else if (*ending || t->overflow) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* nothing yet: the hub resumes the connection when there is */
        t->suspended = true;
        MHD_suspend_connection(t->conn);
        n = 0;
    }
    pthread_mutex_unlock(mu);
    return n;
}
