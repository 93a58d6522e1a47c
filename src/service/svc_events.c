/*
 * svc_events.c - GET /api/qa/events: the job state changes as server-sent events, for the
 * dashboard. One thread (the hub) reads the store's event feed every second, from wherever the
 * slowest subscriber stands, and appends each event to the subscribers that have not had it;
 * every subscriber gets a comment line when it has had nothing for heartbeat_sec, so that proxies
 * keep the connection and a vanished client is noticed.
 *
 * A subscriber's connection is suspended while it has nothing to send (libmicrohttpd's content
 * reader suspends it and returns 0) and resumed by the hub when it has. Events are numbered by
 * the store (`id:`), so a client that reconnects with Last-Event-ID misses nothing the store still
 * holds (events_keep_days). A client that falls more than SVC_EVENTS_MAX_BUFFER behind is ended;
 * it reconnects and catches up from the store.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc.h"

#define SVC_EVENTS_MAX_BUFFER (1 << 20)
#define SVC_EVENTS_PAGE 512

typedef struct sub {
    struct svc_events *h;
    svc_sse st;               /* what it has not been sent yet */
    int64_t after;            /* the last event id it has been given */
    double last_write;        /* monotonic s */
    char agent[ACC_NAME_MAX]; /* non-empty: an agent's stream, only their calls' events */
    struct sub *next;
} sub;

struct svc_events {
    svc *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    sub *subs;
    int n_subs;
    int64_t last; /* the latest event id the hub has read */
    double heartbeat_sec;
};

/* One event as the stream carries it. */
static int format_event(const store_event *e, char *out, size_t n)
{
    char *src = svc_json_str(e->source), *rid = svc_json_str(e->recording_id),
         *ag = svc_json_str(e->agent_user);
    char ts[32];
    time_t t = (time_t)e->ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int k = src && rid && ag
                ? snprintf(out, n,
                           "id: %" PRId64 "\nevent: job\ndata: {\"id\":%" PRId64
                           ",\"call_id\":%" PRId64 ",\"source\":%s,\"recording_id\":%s,"
                           "\"agent_user\":%s,\"state\":\"%s\",\"ts\":\"%s\"}\n\n",
                           e->id, e->id, e->call_id, e->source[0] ? src : "null",
                           e->recording_id[0] ? rid : "null", e->agent_user[0] ? ag : "null",
                           e->state, ts)
                : -1;
    free(src), free(rid), free(ag);
    return k > 0 && (size_t)k < n ? k : -1;
}

/* Wake the subscribers that have something to send (under the lock). */
static void wake(struct svc_events *h)
{
    for (sub *u = h->subs; u; u = u->next)
        svc_sse_wake(&u->st, h->stopping);
}

static void *hub(void *arg)
{
    struct svc_events *h = arg;
    double last_prune = 0;
    store_event *ev = malloc(sizeof(store_event) * SVC_EVENTS_PAGE);
    pthread_mutex_lock(&h->mu);
    while (!h->stopping && ev) {
        int64_t from = h->last;
        for (sub *u = h->subs; u; u = u->next)
            if (u->after < from)
                from = u->after;
        pthread_mutex_unlock(&h->mu);
        int n = 0;
        if (store_events_since(h->s->store, from, ev, SVC_EVENTS_PAGE, &n) != 0) {
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"events: the store\",\"error\":%s}\n",
                    "\"cannot read the job events\"");
            n = 0;
        }
        double now = cq_clock_mono_sec();
        if (cq_clock_wall_sec() - last_prune > 3600) { /* events are the dashboard's, not history */
            last_prune = cq_clock_wall_sec();
            store_events_prune(h->s->store, last_prune - h->s->cfg->events_keep_days * 86400.0);
        }
        pthread_mutex_lock(&h->mu);
        char text[1024];
        for (int i = 0; i < n; i++) {
            int k = format_event(&ev[i], text, sizeof(text));
            for (sub *u = h->subs; u && k > 0; u = u->next)
                if (ev[i].id > u->after && !u->st.overflow) {
                    if (u->agent[0] && strcmp(u->agent, ev[i].agent_user))
                        u->after = ev[i].id; /* another agent's call: not theirs to see */
                    else if (svc_sse_append(&u->st, text, (size_t)k, SVC_EVENTS_MAX_BUFFER) == 0)
                        u->after = ev[i].id, u->last_write = now;
                }
            if (ev[i].id > h->last)
                h->last = ev[i].id;
        }
        for (sub *u = h->subs; u; u = u->next)
            if (now - u->last_write >= h->heartbeat_sec && !u->st.overflow) {
                char hb[64];
                int k = snprintf(hb, sizeof(hb), ": heartbeat %.0f\n\n", cq_clock_wall_sec());
                if (svc_sse_append(&u->st, hb, (size_t)k, SVC_EVENTS_MAX_BUFFER) == 0)
                    u->last_write = now;
            }
        wake(h);
        if (n == SVC_EVENTS_PAGE)
            continue; /* more to read at once */
        struct timespec until = cq_clock_timespec(cq_clock_wall_sec() + 1);
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
    }
    wake(h); /* stopping: every suspended subscriber ends its stream */
    pthread_mutex_unlock(&h->mu);
    free(ev);
    return NULL;
}

/* libmicrohttpd asks for more of the stream (in one of its threads). */
static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sub *u = cls;
    return svc_sse_read(&u->st, &u->h->mu, &u->h->stopping, buf, max);
}

/* The stream is over (the client left, or the service stops). */
static void reader_done(void *cls)
{
    sub *u = cls;
    struct svc_events *h = u->h;
    pthread_mutex_lock(&h->mu);
    for (sub **p = &h->subs; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            h->n_subs--;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    free(u->st.buf);
    free(u);
}

enum MHD_Result svc_qa_events(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    struct svc_events *h = r->s->events;
    int64_t after = -1;
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *from = last ? last : q;
    if (from) {
        char *end;
        errno = 0;
        long long v = strtoll(from, &end, 10);
        if (errno || end == from || *end || v < 0) {
            svc_answer_error(r, 400, "bad_argument", "Last-Event-ID or after: an event id");
            return svc_send(r);
        }
        after = v;
    }
    /* a limited caller's stream (svc_access.c): an agent's carries their calls' events only;
     * the events name no campaign, so a caller limited to campaigns has none */
    if (r->who.scope.n_campaigns > 0) {
        svc_answer_error(r, 403, "out_of_scope",
                         "the event stream is for callers who see every call, or agents");
        return svc_send(r);
    }
    sub *u = calloc(1, sizeof(*u));
    if (!u) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    snprintf(u->agent, sizeof(u->agent), "%s", r->who.scope.agent);
    u->h = h;
    u->st.conn = r->conn;
    u->last_write = cq_clock_mono_sec();
    svc_sse_append(&u->st, "retry: 3000\n\n", 13, SVC_EVENTS_MAX_BUFFER);
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->n_subs >= r->s->cfg->events_max_clients) {
        bool stopping = h->stopping;
        pthread_mutex_unlock(&h->mu);
        free(u->st.buf);
        free(u);
        svc_answer_error(r, 503, stopping ? "stopping" : "busy",
                         stopping ? "the service is stopping" : "too many event streams open");
        return svc_send(r);
    }
    u->after = after >= 0 ? after : h->last;
    u->next = h->subs;
    h->subs = u;
    h->n_subs++;
    pthread_cond_signal(&h->cv); /* a subscriber from further back: read for it now */
    pthread_mutex_unlock(&h->mu);
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

int svc_events_start(svc *s)
{
    struct svc_events *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->s = s;
    h->heartbeat_sec = s->cfg->events_heartbeat_sec;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (store_events_last(s->store, &h->last) != 0 ||
        pthread_create(&h->thread, NULL, hub, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        return -1;
    }
    h->running = true;
    s->events = h;
    return 0;
}

void svc_events_stop(svc *s)
{
    struct svc_events *h = s->events;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
}

void svc_events_free(svc *s)
{
    struct svc_events *h = s->events;
    if (!h)
        return;
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    s->events = NULL;
}

int svc_events_clients(svc *s)
{
    struct svc_events *h = s->events;
    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    int n = h->n_subs;
    pthread_mutex_unlock(&h->mu);
    return n;
}
