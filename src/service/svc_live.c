/*
 * svc_live.c - the calls in progress, from the event lines `callqa live --events FILE` writes
 * (docs/live/server.md, "Event lines"; the setting live_events): GET /api/live/calls (the active
 * and recently ended calls, the counts, the file and its lag) and GET /api/live/events (the lines
 * as server-sent events, ?call=ID for one call, Last-Event-ID to resume within the ring).
 *
 * The file is followed by the live room's follower (lv_follow_*, whose header the service reads
 * through the pipeline's, pl_service.h: the service reaches the live room no other way), which
 * keeps the calls, the recent events and the counts; keyed digits are masked on the way in when
 * asked (live_mask_digits, or any redacted campaign) through the one walk of the pipeline room
 * (pl_redact_mask_report), so no unmasked digit is held. Its events go onto the service's hub of
 * streams (svc_hub.c), as /api/qa/events's do: a stream that joins is first given what the
 * follower's ring holds after its Last-Event-ID, under the follower's lock, so that no event is
 * lost or sent twice between the two. The lines name no agent or campaign: the routes are for
 * callers who see every call (svc_routes.c: supervisor, limited callers refused).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/pl_service.h"
#include "svc_hub.h"
#include "svc_live.h"
#include "svc_qa.h"

#define LIVE_SUB_BUFFER (1 << 20) /* bytes a stream may fall behind */
#define LIVE_RECENT 50            /* events in GET /api/live/calls */

struct svc_live {
    lv_follow *f;
    svc_hub *hub;
    unsigned types; /* what the one walk looks for beside keyed digits (pl_redact_types) */
};

/* ---- the follower's sink: its events onto the streams ---------------------------------------- */

static void on_event(void *arg, const lv_follow_event *e)
{
    struct svc_live *h = arg;
    svc_hub_publish(h->hub, (int64_t)e->id, e->call, e->data);
}

static void on_read(void *arg)
{
    svc_hub_wake(((struct svc_live *)arg)->hub);
}

static void on_tick(void *arg)
{
    svc_hub_tick(((struct svc_live *)arg)->hub);
}

static bool on_behind(void *arg)
{
    return svc_hub_behind(((struct svc_live *)arg)->hub);
}

/* A line through the one walk (pl_redact_mask_report): its "digits" and "digit" as '*', and
 * whatever quotes them. 0, or -1 (memory: the line is not kept). */
static int mask_digits(json_t *o, void *arg)
{
    return pl_redact_mask_report(o, ((struct svc_live *)arg)->types, NULL);
}

/* ---- the routes ------------------------------------------------------------------------------ */

/* The 'call' argument: NULL none, "" when bad (answered). */
static const char *call_arg(req *r)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, "call", 4, &v, &len) !=
            MHD_YES ||
        !v)
        return NULL;
    if (strlen(v) != len || !lv_follow_call_id(v)) {
        svc_answer_error(r, 400, "bad_argument",
                         "call: a call id, 1-%d printable characters without spaces",
                         LV_FOLLOW_CALL_MAX);
        return "";
    }
    return v;
}

/* A live route's start: the follower and the 'call' argument (*call: NULL for none), or NULL
 * with r answered (404 when no event file is followed, 400 for a bad call id). */
static struct svc_live *live_route(req *r, const char **call)
{
    struct svc_live *h = r->s->live;
    if (!h) {
        svc_answer_error(r, 404, "live_off",
                         "no live event file is followed (the live_events setting, docs/live.md)");
        return NULL;
    }
    *call = call_arg(r);
    return *call && !**call ? NULL : h;
}

/* The id of the first event the ring still holds. */
static uint64_t ring_first(const lv_follow_state *st)
{
    return st->next_id - st->base > LV_FOLLOW_RING ? st->next_id - LV_FOLLOW_RING : st->base + 1;
}

static json_t *text_or_null(const char *s)
{
    return s[0] ? svc_json_text(s) : json_null();
}

static json_t *call_json(const lv_follow_call *c, bool ended)
{
    json_t *o = json_object();
    json_object_set_new(o, "call", svc_json_text(c->id));
    json_object_set_new(o, "source", text_or_null(c->source));
    json_object_set_new(o, "started", text_or_null(c->started));
    json_object_set_new(o, "last_wall", text_or_null(c->last_wall));
    json_object_set_new(o, "last_type", text_or_null(c->last_type));
    json_object_set_new(o, "last_state", text_or_null(c->last_state));
    json_object_set_new(o, "decision", text_or_null(c->decision));
    json_object_set_new(o, "decision_rule", text_or_null(c->rule));
    json_object_set_new(o, "beep", json_boolean(c->beep));
    json_object_set_new(o, "probes", json_integer(c->probes));
    json_object_set_new(o, "reply_sec", c->replied ? json_real(c->reply_sec) : json_null());
    json_object_set_new(o, "dtmf", json_integer(c->dtmf));
    json_object_set_new(o, "events", json_integer(c->events));
    json_object_set_new(o, "call_sec", json_real(c->call_sec));
    if (ended) {
        json_object_set_new(o, "ended", text_or_null(c->ended));
        json_object_set_new(o, "reason", text_or_null(c->reason));
        json_object_set_new(o, "audio_sec", json_real(c->audio_sec));
    }
    return o;
}

/* How far the follower is behind: the bytes of the file not read yet (0 when not following),
 * and the wall time of the last line read (Unix s; -1: none yet). */
static void lag_of(const lv_follow_state *h, int64_t *bytes, double *wall)
{
    *bytes = h->open && h->size > h->done ? h->size - h->done : 0;
    *wall = h->last_wall[0] ? lv_follow_wall_sec(h->last_wall) : -1;
}

/* GET /api/live/calls's state, read under the follower's lock. */
typedef struct calls_view {
    const char *call;
    json_t *o, *active, *ended, *recent;
} calls_view;

static void calls_of(void *arg, const lv_follow_state *h)
{
    calls_view *v = arg;
    const char *call = v->call;
    json_t *o = v->o, *active = v->active, *ended = v->ended, *recent = v->recent;
    json_object_set_new(o, "following", json_boolean(h->open));
    json_object_set_new(o, "mask_digits", json_boolean(h->mask));
    int64_t lag;
    double w;
    lag_of(h, &lag, &w);
    json_t *lg = json_object();
    json_object_set_new(lg, "bytes", json_integer(lag));
    json_object_set_new(lg, "last_wall", text_or_null(h->last_wall));
    json_object_set_new(lg, "sec", w >= 0 ? json_real(svc_now_sec() - w) : json_null());
    json_object_set_new(o, "lag", lg);
    for (int i = 0; i < h->n_calls; i++)
        if (!call || !strcmp(call, h->calls[i].id))
            json_array_append_new(active, call_json(&h->calls[i], false));
    for (int i = 0; i < h->n_ended; i++) { /* the latest first */
        const lv_follow_call *c =
            &h->ended[(h->ended_next - 1 - i + LV_FOLLOW_ENDED) % LV_FOLLOW_ENDED];
        if (!call || !strcmp(call, c->id))
            json_array_append_new(ended, call_json(c, true));
    }
    const uint64_t first = ring_first(h);
    for (uint64_t id = h->next_id; id-- > first && json_array_size(recent) < LIVE_RECENT;) {
        const lv_follow_event *e = &h->ring[id % LV_FOLLOW_RING];
        if (call && strcmp(call, e->call))
            continue;
        json_t *ev = json_loads(e->data, 0, NULL);
        if (json_is_object(ev)) {
            json_object_set_new(ev, "event_id", json_integer((json_int_t)e->id));
            json_array_insert_new(recent, 0, ev);
        } else {
            json_decref(ev);
        }
    }
    json_t *counts = json_object();
    json_object_set_new(counts, "active", json_integer(h->n_calls));
    json_object_set_new(counts, "ended", json_integer(h->n_ended));
    json_object_set_new(counts, "lines", json_integer(h->lines));
    json_object_set_new(counts, "bad_lines", json_integer(h->bad_lines));
    json_object_set_new(counts, "long_lines", json_integer(h->long_lines));
    json_object_set_new(counts, "calls_over_limit", json_integer(h->calls_over));
    json_object_set_new(counts, "stale", json_integer(h->stale));
    json_object_set_new(counts, "truncations", json_integer(h->truncations));
    json_object_set_new(counts, "rotations", json_integer(h->rotations));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "last_event_id", json_integer((json_int_t)(h->next_id - 1)));
    json_object_set_new(o, "stats", h->stats ? json_loads(h->stats, 0, NULL) : json_null());
}

enum MHD_Result svc_live_calls(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const char *call;
    struct svc_live *h = live_route(r, &call);
    if (!h)
        return svc_send(r);
    json_t *o = json_object(), *active = json_array(), *ended = json_array(),
           *recent = json_array();
    const char *slash = strrchr(r->s->cfg->live_events, '/');
    json_object_set_new(o, "file", svc_json_text(slash ? slash + 1 : r->s->cfg->live_events));
    calls_view v = {call, o, active, ended, recent};
    lv_follow_read(h->f, calls_of, &v);
    json_object_set_new(o, "active", active);
    json_object_set_new(o, "ended", ended);
    json_object_set_new(o, "recent", recent);
    json_t *lim = json_object();
    json_object_set_new(lim, "max_calls", json_integer(LV_FOLLOW_MAX_CALLS));
    json_object_set_new(lim, "ended_kept", json_integer(LV_FOLLOW_ENDED));
    json_object_set_new(lim, "events_kept", json_integer(LV_FOLLOW_RING));
    json_object_set_new(lim, "max_line_bytes", json_integer(LV_FOLLOW_MAX_LINE));
    json_object_set_new(o, "limits", lim);
    return svc_qa_send(r, 200, o);
}

/* The follower's metrics, written under its lock. */
typedef struct metrics_view {
    FILE *f;
    int streams;
} metrics_view;

static void metrics_of(void *arg, const lv_follow_state *h)
{
    metrics_view *v = arg;
    FILE *f = v->f;
    static const char *const counters[][2] = {
        {"lines", "Lines read from the live_events file."},
        {"bad_lines", "Lines of the live_events file that were not an event of a call."},
        {"long_lines", "Lines over the length limit, skipped."},
        {"calls_over_limit", "Events of calls beyond the calls followed at once, not kept."},
        {"stale", "Calls dropped after no line for a while (no call_end came)."},
        {"truncations", "Times the live_events file shrank (read again from its start)."},
        {"rotations", "Times the live_events file was replaced (followed anew)."},
    };
    const int64_t c[] = {h->lines, h->bad_lines,   h->long_lines, h->calls_over,
                         h->stale, h->truncations, h->rotations};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        fprintf(f,
                "# HELP callqa_live_%s_total %s\n# TYPE callqa_live_%s_total counter\n"
                "callqa_live_%s_total %lld\n",
                counters[i][0], counters[i][1], counters[i][0], counters[i][0], (long long)c[i]);
    int64_t lag;
    double w;
    lag_of(h, &lag, &w);
    fprintf(f,
            "# HELP callqa_live_following Whether the live_events file is open.\n"
            "# TYPE callqa_live_following gauge\ncallqa_live_following %d\n"
            "# HELP callqa_live_calls Calls followed, by state (ended: the recent ones kept).\n"
            "# TYPE callqa_live_calls gauge\n"
            "callqa_live_calls{state=\"active\"} %d\ncallqa_live_calls{state=\"ended\"} %d\n"
            "# HELP callqa_live_lag_bytes Bytes of the live_events file not read yet.\n"
            "# TYPE callqa_live_lag_bytes gauge\ncallqa_live_lag_bytes %lld\n"
            "# HELP callqa_live_event_streams Streams of GET /api/live/events open.\n"
            "# TYPE callqa_live_event_streams gauge\ncallqa_live_event_streams %d\n",
            h->open, h->n_calls, h->n_ended, (long long)lag, v->streams);
    if (w >= 0) /* no line with a time yet: no sample, rather than a made-up age */
        fprintf(f,
                "# HELP callqa_live_last_line_age_seconds Seconds since the wall time of the "
                "last line read.\n# TYPE callqa_live_last_line_age_seconds gauge\n"
                "callqa_live_last_line_age_seconds %.3f\n",
                svc_now_sec() - w);
}

void svc_live_metrics(svc *s, FILE *f)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    metrics_view v = {f, svc_hub_clients(h->hub)};
    lv_follow_read(h->f, metrics_of, &v);
}

/* A stream joins under the follower's lock: from the event after `after` while the ring holds
 * it (an id of an earlier process, or past the last: from now); without one, from now. */
typedef struct join_view {
    struct svc_live *h;
    req *r;
    const char *call;
    int64_t after;
    svc_hub_sub *u;
} join_view;

static void join_at(void *arg, const lv_follow_state *st)
{
    join_view *v = arg;
    uint64_t last_id = st->next_id - 1;
    uint64_t after =
        v->after >= 0 && (uint64_t)v->after >= st->base && (uint64_t)v->after <= last_id
            ? (uint64_t)v->after
            : last_id;
    if (!(v->u = svc_hub_join(v->h->hub, v->r, v->call, (int64_t)after)))
        return;
    const uint64_t first = ring_first(st);
    for (uint64_t id = after + 1 > first ? after + 1 : first; id < st->next_id; id++) {
        const lv_follow_event *e = &st->ring[id % LV_FOLLOW_RING];
        svc_hub_send(v->u, (int64_t)e->id, e->call, e->data);
    }
}

enum MHD_Result svc_live_events(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const char *call;
    struct svc_live *h = live_route(r, &call);
    if (!h)
        return svc_send(r);
    int64_t after;
    if (svc_hub_after(r, &after))
        return svc_send(r);
    join_view v = {h, r, call, after, NULL};
    lv_follow_read(h->f, join_at, &v);
    return v.u ? svc_hub_answer(v.u, r) : svc_send(r);
}

/* ---- start, stop ----------------------------------------------------------------------------- */

int svc_live_start(svc *s)
{
    if (!s->cfg->live_events[0])
        return 0;
    struct svc_live *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->types = pl_redact_types(s->cfg);
    bool mask = s->cfg->live_mask_digits || pl_redact_any(s->cfg);
    lv_follow_params p = {.path = s->cfg->live_events,
                          .mask = mask ? mask_digits : NULL,
                          .mask_arg = h,
                          .sink = {on_event, on_read, on_tick, on_behind, h}};
    if (!(h->hub = svc_hub_create("live", LIVE_SUB_BUFFER, s->cfg->events_heartbeat_sec,
                                  s->cfg->events_max_clients)) ||
        !(h->f = lv_follow_start(&p))) {
        svc_hub_free(h->hub);
        free(h);
        return -1;
    }
    s->live = h;
    return 0;
}

void svc_live_stop(svc *s)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    lv_follow_stop(h->f);
    svc_hub_stop(h->hub); /* every suspended stream ends */
}

void svc_live_free(svc *s)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    lv_follow_free(h->f);
    svc_hub_free(h->hub);
    free(h);
    s->live = NULL;
}
