/*
 * svc_hub.c - the one hub of the service's server-sent-event streams: GET /api/qa/events (the
 * store's job events, svc_events.c) and GET /api/live/events (the lines of `callqa live`, the
 * live room's follower, svc_live.c). A producer hands each event to the hub in order of its id;
 * the hub appends it to every stream that has not had it and takes its key (an agent's stream:
 * their calls' events; a call's stream: that call's), and wakes the streams. Each stream keeps
 * what it has not been sent yet; a stream with nothing to send is suspended by libmicrohttpd's
 * content reader and resumed by the hub when it has. A comment line goes to a stream that has
 * had nothing for heartbeat_sec, so that proxies keep the connection and a vanished client is
 * noticed; a stream more than max_buffer behind is ended (the client reconnects with
 * Last-Event-ID and resumes where the producer still holds the events). What a stream is given
 * when it joins (a replay from the store or from the follower's ring) is the producer's: it
 * sends it to the one stream, under its own lock, before the next event is published.
 *
 * One mutex, the hub's: producers take their own lock first (the events' feed, the follower's),
 * then the hub's; the content reader takes the hub's only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_hub.h"

/* What one stream has not been sent yet: filled under the hub's lock, handed to libmicrohttpd
 * by the content reader. */
struct svc_hub_sub {
    svc_hub *h;
    struct MHD_Connection *conn;
    char *buf;
    size_t len, cap, off;
    bool suspended, overflow;
    int64_t after;     /* the last event id it has been given, or passed over */
    double last_write; /* monotonic s */
    char key[160];     /* "" every event; else only the events of this key */
    struct svc_hub_sub *next;
};

struct svc_hub {
    pthread_mutex_t mu;
    char event[16]; /* the events' name: "job", "live" */
    size_t max_buffer;
    double heartbeat_sec;
    int max_clients;
    bool stopping;
    svc_hub_sub *subs;
    int n_subs;
};

/* ---- a stream's pending bytes ------------------------------------------------------------- */

/* Append n bytes (under the hub's lock); -1 and overflow when more than max_buffer would wait,
 * or no memory. */
static int sse_append(svc_hub_sub *t, const char *text, size_t n)
{
    if (t->len - t->off + n > t->h->max_buffer) {
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

/* Resume a suspended stream that has bytes, overflowed, or is to end (under the hub's lock). */
static void sse_wake(svc_hub_sub *t, bool ending)
{
    if (t->suspended && (t->len > t->off || t->overflow || ending)) {
        t->suspended = false;
        MHD_resume_connection(t->conn);
    }
}

/* libmicrohttpd asks for more of the stream (in one of its threads): bytes, the end of the
 * stream (overflow, or the hub stops), or 0 with the connection suspended until sse_wake. */
static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    svc_hub_sub *t = cls;
    pthread_mutex_lock(&t->h->mu);
    ssize_t n;
    if (t->len > t->off) {
        size_t k = t->len - t->off < max ? t->len - t->off : max;
        memcpy(buf, t->buf + t->off, k);
        t->off += k;
        n = (ssize_t)k;
    } else if (t->h->stopping || t->overflow) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* nothing yet: the hub resumes the connection when there is */
        t->suspended = true;
        MHD_suspend_connection(t->conn);
        n = 0;
    }
    pthread_mutex_unlock(&t->h->mu);
    return n;
}

/* The stream is over (the client left, or the service stops). */
static void reader_done(void *cls)
{
    svc_hub_sub *u = cls;
    svc_hub *h = u->h;
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub **p = &h->subs; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            h->n_subs--;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    free(u->buf);
    free(u);
}

/* ---- the hub ------------------------------------------------------------------------------- */

svc_hub *svc_hub_create(const char *event, size_t max_buffer, double heartbeat_sec, int max_clients)
{
    svc_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    snprintf(h->event, sizeof(h->event), "%s", event);
    h->max_buffer = max_buffer;
    h->heartbeat_sec = heartbeat_sec;
    h->max_clients = max_clients;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void svc_hub_stop(svc_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    for (svc_hub_sub *u = h->subs; u; u = u->next)
        sse_wake(u, true);
    pthread_mutex_unlock(&h->mu);
}

void svc_hub_free(svc_hub *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int svc_hub_after(req *r, int64_t *after)
{
    *after = -1;
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *from = last ? last : q;
    if (!from)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(from, &end, 10);
    if (errno || end == from || *end || v < 0) {
        svc_answer_error(r, 400, "bad_argument", "Last-Event-ID or after: an event id");
        return -1;
    }
    *after = v;
    return 0;
}

svc_hub_sub *svc_hub_join(svc_hub *h, req *r, const char *key, int64_t after)
{
    svc_hub_sub *u = calloc(1, sizeof(*u));
    if (!u) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    snprintf(u->key, sizeof(u->key), "%s", key ? key : "");
    u->h = h;
    u->conn = r->conn;
    u->last_write = svc_mono_sec();
    sse_append(u, "retry: 3000\n\n", 13);
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->n_subs >= h->max_clients) {
        bool stopping = h->stopping;
        pthread_mutex_unlock(&h->mu);
        free(u->buf);
        free(u);
        svc_answer_error(r, 503, stopping ? "stopping" : "busy",
                         stopping ? "the service is stopping" : "too many event streams open");
        return NULL;
    }
    u->after = after;
    u->next = h->subs;
    h->subs = u;
    h->n_subs++;
    pthread_mutex_unlock(&h->mu);
    return u;
}

enum MHD_Result svc_hub_answer(svc_hub_sub *u, req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, u, reader_done);
    if (!resp) {
        reader_done(u);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass it through */
    r->status = 200;
    return svc_queue(r, MHD_HTTP_OK, resp);
}

/* One event onto one stream, when it has not had it and takes its key (under the hub's lock). */
static void send_one(svc_hub *h, svc_hub_sub *u, int64_t id, const char *key, const char *data,
                     double now)
{
    if (u->overflow || id <= u->after)
        return;
    u->after = id;
    if (u->key[0] && strcmp(u->key, key))
        return; /* another call's, another agent's: not this stream's */
    char head[64 + sizeof(h->event)];
    int k = snprintf(head, sizeof(head), "id: %" PRId64 "\nevent: %s\ndata: ", id, h->event);
    size_t n = strlen(data);
    if (u->len - u->off + (size_t)k + n + 2 > h->max_buffer) { /* the whole event, or none */
        u->overflow = true;
        return;
    }
    if (sse_append(u, head, (size_t)k) == 0 && sse_append(u, data, n) == 0 &&
        sse_append(u, "\n\n", 2) == 0)
        u->last_write = now;
}

void svc_hub_send(svc_hub_sub *u, int64_t id, const char *key, const char *data)
{
    svc_hub *h = u->h;
    pthread_mutex_lock(&h->mu);
    send_one(h, u, id, key, data, svc_mono_sec());
    pthread_mutex_unlock(&h->mu);
}

void svc_hub_publish(svc_hub *h, int64_t id, const char *key, const char *data)
{
    double now = svc_mono_sec();
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub *u = h->subs; u; u = u->next)
        send_one(h, u, id, key, data, now);
    pthread_mutex_unlock(&h->mu);
}

int64_t svc_hub_oldest(svc_hub *h, int64_t last)
{
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub *u = h->subs; u; u = u->next)
        if (u->after < last)
            last = u->after;
    pthread_mutex_unlock(&h->mu);
    return last;
}

void svc_hub_wake(svc_hub *h)
{
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub *u = h->subs; u; u = u->next)
        sse_wake(u, h->stopping);
    pthread_mutex_unlock(&h->mu);
}

void svc_hub_tick(svc_hub *h)
{
    double now = svc_mono_sec();
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub *u = h->subs; u; u = u->next) {
        if (now - u->last_write >= h->heartbeat_sec && !u->overflow) {
            char hb[64];
            int k = snprintf(hb, sizeof(hb), ": heartbeat %.0f\n\n", svc_now_sec());
            if (sse_append(u, hb, (size_t)k) == 0)
                u->last_write = now;
        }
        sse_wake(u, h->stopping);
    }
    pthread_mutex_unlock(&h->mu);
}

bool svc_hub_behind(svc_hub *h)
{
    bool far = false;
    pthread_mutex_lock(&h->mu);
    for (svc_hub_sub *u = h->subs; u && !far; u = u->next)
        far = !u->overflow && u->len - u->off > h->max_buffer / 2;
    pthread_mutex_unlock(&h->mu);
    return far;
}

int svc_hub_clients(svc_hub *h)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    int n = h->n_subs;
    pthread_mutex_unlock(&h->mu);
    return n;
}
