/*
 * svc_events.c - GET /api/qa/events: the job state changes as server-sent events, for the
 * dashboard. One thread (the feed) reads the store's event feed every second, from wherever the
 * slowest stream stands, and publishes each event on the service's hub of streams (svc_hub.c),
 * which appends it to the streams that have not had it, sends heartbeats and wakes them.
 *
 * Events are numbered by the store (`id:`), so a client that reconnects with Last-Event-ID
 * misses nothing the store still holds (events_keep_days): its stream starts there, and the feed
 * reads from the oldest stream's place. A client that falls more than SVC_EVENTS_MAX_BUFFER
 * behind is ended by the hub; it reconnects and catches up from the store.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_events.h"
#include "svc_hub.h"
#include "../store/store_jobs.h"
#include "callqa/cq_clock.h"

#define SVC_EVENTS_MAX_BUFFER (1 << 20)
#define SVC_EVENTS_PAGE 512

struct svc_events {
    svc *s;
    svc_hub *hub;
    pthread_mutex_t mu; /* last, stopping; taken before the hub's */
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    int64_t last; /* the latest event id the feed has read */
};

/* One event's data as the stream carries it (its JSON); -1 when the event, framed, would not
 * fit in n bytes. */
static int format_event(const store_event *e, char *out, size_t n)
{
    char *src = svc_json_str(e->source), *rid = svc_json_str(e->recording_id),
         *ag = svc_json_str(e->agent_user);
    char ts[32];
    time_t t = (time_t)e->ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* the frame around it: "id: N\nevent: job\ndata: " and "\n\n" */
    int frame = snprintf(NULL, 0, "id: %" PRId64 "\nevent: job\ndata: \n\n", e->id);
    int k = src && rid && ag ? snprintf(out, n,
                                        "{\"id\":%" PRId64 ",\"call_id\":%" PRId64
                                        ",\"source\":%s,\"recording_id\":%s,"
                                        "\"agent_user\":%s,\"state\":\"%s\",\"ts\":\"%s\"}",
                                        e->id, e->call_id, e->source[0] ? src : "null",
                                        e->recording_id[0] ? rid : "null",
                                        e->agent_user[0] ? ag : "null", e->state, ts)
                             : -1;
    free(src), free(rid), free(ag);
    return k > 0 && (size_t)k + (size_t)frame < n ? k : -1;
}

static void *feed(void *arg)
{
    struct svc_events *h = arg;
    double last_prune = 0;
    store_event *ev = malloc(sizeof(store_event) * SVC_EVENTS_PAGE);
    pthread_mutex_lock(&h->mu);
    while (!h->stopping && ev) {
        int64_t from = svc_hub_oldest(h->hub, h->last);
        pthread_mutex_unlock(&h->mu);
        int n = 0;
        if (store_events_since(h->s->store, from, ev, SVC_EVENTS_PAGE, &n) != 0) {
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"events: the store\",\"error\":%s}\n",
                    "\"cannot read the job events\"");
            n = 0;
        }
        if (svc_now_sec() - last_prune > 3600) { /* events are the dashboard's, not history */
            last_prune = svc_now_sec();
            store_events_prune(h->s->store, last_prune - h->s->cfg->events_keep_days * 86400.0);
        }
        pthread_mutex_lock(&h->mu);
        char text[1024];
        for (int i = 0; i < n; i++) {
            if (format_event(&ev[i], text, sizeof(text)) > 0)
                svc_hub_publish(h->hub, ev[i].id, ev[i].agent_user, text);
            if (ev[i].id > h->last)
                h->last = ev[i].id;
        }
        svc_hub_tick(h->hub); /* heartbeats; the streams with bytes woken */
        if (n == SVC_EVENTS_PAGE)
            continue; /* more to read at once */
        struct timespec until = cq_clock_timespec(cq_clock_wall_sec() + 1);
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
    }
    pthread_mutex_unlock(&h->mu);
    free(ev);
    return NULL;
}

enum MHD_Result svc_qa_events(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    struct svc_events *h = r->s->events;
    int64_t after;
    if (svc_hub_after(r, &after))
        return svc_send(r);
    /* a limited caller's stream (svc_access.c): an agent's carries their calls' events only;
     * the events name no campaign, so a caller limited to campaigns has none */
    if (r->who.scope.n_campaigns > 0) {
        svc_answer_error(r, 403, "out_of_scope",
                         "the event stream is for callers who see every call, or agents");
        return svc_send(r);
    }
    pthread_mutex_lock(&h->mu);
    svc_hub_sub *u = svc_hub_join(h->hub, r, r->who.scope.agent, after >= 0 ? after : h->last);
    if (u)
        pthread_cond_signal(&h->cv); /* a stream from further back: read for it now */
    pthread_mutex_unlock(&h->mu);
    return u ? svc_hub_answer(u, r) : svc_send(r);
}

int svc_events_start(svc *s)
{
    struct svc_events *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->s = s;
    if (!(h->hub = svc_hub_create("job", SVC_EVENTS_MAX_BUFFER, s->cfg->events_heartbeat_sec,
                                  s->cfg->events_max_clients))) {
        free(h);
        return -1;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (store_events_last(s->store, &h->last) != 0 ||
        pthread_create(&h->thread, NULL, feed, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        svc_hub_free(h->hub);
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
    svc_hub_stop(h->hub); /* every suspended stream ends */
}

void svc_events_free(svc *s)
{
    struct svc_events *h = s->events;
    if (!h)
        return;
    svc_hub_free(h->hub);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    s->events = NULL;
}

int svc_events_clients(svc *s)
{
    return s->events ? svc_hub_clients(s->events->hub) : 0;
}
