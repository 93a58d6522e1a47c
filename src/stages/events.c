/*
 * events.c - the `events` stage: DTMF, call-progress tones, fax, hold music and IVR on each leg,
 * and the leg's timeline (speech, music, tone, noise, silence), from the shared 8 kHz stream and
 * the VAD's probabilities as they come (cq_classify.h); then what the two legs' events add up
 * to: ringback, time to answer, holds.
 */
#include <stdlib.h>
#include <string.h>

#include "stage.h"

typedef struct events_state {
    cq_classifier *cls;
    size_t probs_seen; /* VAD probabilities already given to the classifier */
} events_state;

static int events_create(void **st, const cq__stage_ctx *c)
{
    events_state *s = cq__calloc(1, sizeof(*s));
    if (!s)
        return CQ_ERR_NOMEM;
    *st = s;
    int rc = CQ_OK;
    const cq_engine_params *ep = &c->engine->p;
    cq_classify_params p = cq_classify_default_params();
    p.tones.dtmf_speech = ep->dtmf_speech;
    p.tones.dtmf_voice_cancel = ep->dtmf_voice_cancel;
    s->cls = cq_classifier_create(&p, &rc);
    return s->cls ? CQ_OK : rc;
}

/* The probabilities the VAD appended to the leg report since the last call. */
static int take_probs(events_state *s, const cq_leg_report *l)
{
    size_t n = l->n_vad_probs - s->probs_seen;
    if (!n)
        return CQ_OK;
    int rc = cq_classifier_push_vad(s->cls, l->vad_probs + s->probs_seen, n);
    s->probs_seen = l->n_vad_probs;
    return rc;
}

static int events_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    events_state *s = st;
    int rc = cq_classifier_push_audio(s->cls, x, n);
    return rc == CQ_OK ? take_probs(s, leg ? r->outbound : r->inbound) : rc;
}

/* The events and the timeline, copied into the report. */
static int events_finish(void *st, int leg, cq_report *r)
{
    events_state *s = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    int rc = take_probs(s, l);
    if (rc == CQ_OK)
        rc = cq_classifier_finish(s->cls);
    if (rc != CQ_OK)
        return rc;
    size_t ne, nt;
    const cq_call_event *ev = cq_classifier_events(s->cls, &ne);
    const cq_class_seg *tl = cq_classifier_timeline(s->cls, &nt);
    if ((ne && !(l->events = cq__malloc(ne * sizeof(*ev)))) ||
        (nt && !(l->timeline = cq__malloc(nt * sizeof(*tl)))))
        return CQ_ERR_NOMEM;
    if (ne)
        memcpy(l->events, ev, ne * sizeof(*ev));
    if (nt)
        memcpy(l->timeline, tl, nt * sizeof(*tl));
    l->n_events = ne, l->n_timeline = nt;
    for (size_t i = 0; i < nt; i++)
        l->timeline_sec[tl[i].cls] += tl[i].end_sec - tl[i].start_sec;
    l->has_events = true;
    return CQ_OK;
}

static void events_destroy(void *st)
{
    events_state *s = st;
    if (!s)
        return;
    cq_classifier_destroy(s->cls);
    cq__free(s);
}

/* The answer: where the call starts for the people in it. A recording that starts at dial
 * starts with what comes before a person takes the call: a ringback, an IVR's prompts and the
 * keys pressed in them, queue music. Those events, in time order on either leg, are one chain
 * while each starts within ANSWER_GAP_SEC of the recording's start or of the chain's end; the
 * answer is the chain's end. Music or a prompt after ANSWER_TALK_SEC of speech that no event
 * of the chain covers is a hold inside the call, not a queue before it: the chain stops there.
 * An IVR with no music is seen by its keys: on a recording of two legs, keys pressed on one leg
 * while nobody spoke on it (the other leg's speech is the menu's prompts), the first within
 * ANSWER_IVR_FIRST_SEC of the chain so far, each next within ANSWER_IVR_GAP_SEC of the one
 * before, carry the chain to the last key's end. Nobody speaking after the chain's end: not
 * known (never answered). */
#define ANSWER_GAP_SEC 4.5 /* a North American ringback's silence is 4 s */
#define ANSWER_TALK_SEC 0.5
#define ANSWER_IVR_FIRST_SEC 60.0
#define ANSWER_IVR_GAP_SEC 30.0

typedef struct lead_ev {
    double start, end;
    cq_event_type type;
    int leg;
} lead_ev;

static int lead_cmp(const void *a, const void *b)
{
    const lead_ev *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* seconds of speech on either leg between from and to (what a chain ending at `from` leaves
 * uncovered before an event at `to`), the longest one segment has */
static double talk_between(const cq_leg_report *const *L, int n, double from, double to)
{
    double most = 0;
    for (int i = 0; i < n; i++)
        for (size_t s = 0; L[i]->has_vad && s < L[i]->n_speech; s++) {
            double a = (double)L[i]->speech[s].start / L[i]->vad_rate_hz,
                   b = (double)L[i]->speech[s].end / L[i]->vad_rate_hz;
            a = a > from ? a : from;
            b = b < to ? b : to;
            if (b - a > most)
                most = b - a;
        }
    return most;
}

static int find_answer(const cq_leg_report *const *L, int n, cq_call_events_summary *ce)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += L[i]->n_events;
    lead_ev *ev = total ? cq__malloc(total * sizeof(*ev)) : NULL;
    if (total && !ev)
        return CQ_ERR_NOMEM;
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < L[i]->n_events; j++)
            ev[k++] = (lead_ev){L[i]->events[j].start_sec, L[i]->events[j].end_sec,
                                L[i]->events[j].type, i};
    if (k > 1)
        qsort(ev, k, sizeof(*ev), lead_cmp);
    double end = 0;
    cq_event_type last = 0;
    bool refused = false; /* a busy tone or a SIT before anyone spoke: never answered */
    int key_leg = -1;     /* the leg an IVR's keys are pressed on */
    for (size_t j = 0; j < k; j++) {
        cq_event_type t = ev[j].type;
        if (t == CQ_EV_DTMF) { /* an IVR's menu: keys on one leg, silent but for them */
            if (n != 2 || (key_leg >= 0 && ev[j].leg != key_leg) ||
                ev[j].start > end + (key_leg < 0 ? ANSWER_IVR_FIRST_SEC : ANSWER_IVR_GAP_SEC) ||
                talk_between(&L[ev[j].leg], 1, key_leg < 0 ? 0 : end, ev[j].start) >=
                    ANSWER_TALK_SEC)
                break;
            key_leg = ev[j].leg;
        } else if (ev[j].start > end + ANSWER_GAP_SEC) {
            break;
        } else if (t == CQ_EV_BUSY || t == CQ_EV_SIT) {
            refused = talk_between(L, n, end, ev[j].start) < ANSWER_TALK_SEC;
            if (refused)
                last = t;
            break;
        } else if (t != CQ_EV_RINGBACK && t != CQ_EV_IVR && t != CQ_EV_HOLD) {
            break;
        } else if (t != CQ_EV_RINGBACK && talk_between(L, n, end, ev[j].start) >= ANSWER_TALK_SEC) {
            break;
        }
        if (ev[j].end > end)
            end = ev[j].end, last = t;
    }
    cq__free(ev);
    ce->answer_after = last;
    ce->answer_sec = end;
    ce->has_answer = !last;                         /* the recording starts at the answer */
    for (int i = 0; last && !refused && i < n; i++) /* someone spoke after the chain */
        for (size_t s = 0; L[i]->has_vad && s < L[i]->n_speech && !ce->has_answer; s++)
            ce->has_answer = (double)L[i]->speech[s].end / L[i]->vad_rate_hz > end;
    return CQ_OK;
}

/* Ringback, time to answer (the first speech on either leg after the last ringback), the
 * answer, holds. */
static int events_summarize(const cq_engine *e, cq_report *r)
{
    (void)e;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    cq_call_events_summary *ce = &r->call_events;
    memset(ce, 0, sizeof(*ce));
    double ring_end = -1;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < L[i]->n_events; k++) {
            const cq_call_event *ev = &L[i]->events[k];
            if (ev->type == CQ_EV_RINGBACK && ev->end_sec > ring_end)
                ring_end = ev->end_sec;
            if (ev->type == CQ_EV_HOLD)
                ce->hold_count++, ce->hold_total_sec += ev->end_sec - ev->start_sec;
        }
    ce->ringback = ring_end >= 0;
    for (int i = 0; ce->ringback && i < n; i++) {
        const cq_leg_report *l = L[i];
        for (size_t s = 0; l->has_vad && s < l->n_speech; s++) {
            double t = (double)l->speech[s].start / l->vad_rate_hz;
            if (t >= ring_end) {
                if (!ce->has_time_to_answer || t < ce->time_to_answer_sec)
                    ce->time_to_answer_sec = t;
                ce->has_time_to_answer = true;
                break;
            }
        }
    }
    int rc = find_answer(L, n, ce);
    r->has_call_events = rc == CQ_OK;
    return rc;
}

static void events_free_leg(cq_leg_report *l)
{
    cq__free(l->events);
    cq__free(l->timeline);
}

/* The DTMF receivers, shown whether the stage ran or not (null: it did not). */
static void events_json_engine(const cq_report *r, json_t *eng)
{
    if (!(r->analyzers & CQ_AN_EVENTS)) {
        json_object_set_new(eng, "events", json_null());
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "dtmf_speech", json_boolean(r->dtmf_speech));
    json_object_set_new(o, "dtmf_voice_cancel", json_boolean(r->dtmf_voice_cancel));
    json_object_set_new(eng, "events", o);
}

static void events_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    if (!l->has_events) {
        json_object_set_new(o, "timeline", json_null());
        return;
    }
    json_t *tlo = json_object(), *segs = json_array();
    for (size_t i = 0; i < l->n_timeline; i++) {
        const cq_class_seg *s = &l->timeline[i];
        json_t *so = json_object();
        json_object_set_new(so, "class", json_string(cq_seg_class_name(s->cls)));
        json_object_set_new(so, "start", cq__jnum(s->start_sec, 3));
        json_object_set_new(so, "end", cq__jnum(s->end_sec, 3));
        json_object_set_new(so, "confidence", cq__jnum(s->confidence, 2));
        json_array_append_new(segs, so);
    }
    json_t *tot = json_object();
    for (int c = 0; c < CQ_CLS_COUNT; c++)
        json_object_set_new(tot, cq_seg_class_name((cq_seg_class)c),
                            cq__jnum(l->timeline_sec[c], 3));
    json_object_set_new(tlo, "seconds", tot);
    json_object_set_new(tlo, "frame_ms", json_integer(CQ_CLASSIFY_FRAME * 1000 / CQ_CLASSIFY_RATE));
    json_object_set_new(tlo, "segments", segs);
    json_object_set_new(o, "timeline", tlo);
}

static json_t *event_json(const cq_call_event *e, const char *leg)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(cq_event_type_name(e->type)));
    json_object_set_new(o, "leg", json_string(leg));
    json_object_set_new(o, "start", cq__jnum(e->start_sec, 3));
    json_object_set_new(o, "end", cq__jnum(e->end_sec, 3));
    if (e->type == CQ_EV_DTMF)
        json_object_set_new(o, "digits", json_string(e->digits));
    if (e->signal)
        json_object_set_new(o, "signal", json_string(e->signal));
    if (e->region)
        json_object_set_new(o, "region", json_string(e->region));
    if (e->type != CQ_EV_HOLD && e->type != CQ_EV_IVR && e->type < CQ_EV_HUMAN)
        json_object_set_new(o, "cycles", json_integer(e->cycles));
    if (e->rule)
        json_object_set_new(o, "rule", json_string(e->rule));
    if (e->type == CQ_EV_HUMAN || e->type == CQ_EV_MACHINE) {
        json_object_set_new(o, "speech_sec", cq__jnum(e->speech_sec, 3));
        json_object_set_new(o, "quiet_sec", cq__jnum(e->quiet_sec, 3));
    }
    if (e->type == CQ_EV_HUMAN && e->music_sec > 0)
        json_object_set_new(o, "music_sec", cq__jnum(e->music_sec, 3));
    if (e->type == CQ_EV_BEEP)
        json_object_set_new(o, "freq_hz", cq__jnum(e->freq_hz, 0));
    json_object_set_new(o, "confidence", cq__jnum(e->confidence, 2));
    return o;
}

/* Calls `fn` for both legs' events in time order. */
static void merged(const cq_report *r, void (*fn)(const cq_call_event *, int leg, void *), void *u)
{
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    size_t k[2] = {0, 0};
    for (;;) {
        int pick = -1;
        for (int i = 0; i < n; i++)
            if (k[i] < L[i]->n_events &&
                (pick < 0 || L[i]->events[k[i]].start_sec < L[pick]->events[k[pick]].start_sec))
                pick = i;
        if (pick < 0)
            return;
        fn(&L[pick]->events[k[pick]++], pick, u);
    }
}

static void append_event(const cq_call_event *e, int leg, void *arr)
{
    json_array_append_new(arr, event_json(e, cq__leg_name(leg)));
}

static void events_json_call(const cq_report *r, json_t *o)
{
    if (!r->has_call_events) {
        json_object_set_new(o, "events", json_null());
        json_object_set_new(o, "call_events", json_null());
        return;
    }
    json_t *arr = json_array();
    merged(r, append_event, arr);
    json_object_set_new(o, "events", arr);
    const cq_call_events_summary *s = &r->call_events;
    json_t *ce = json_object();
    json_object_set_new(ce, "ringback", json_boolean(s->ringback));
    json_object_set_new(ce, "time_to_answer_sec",
                        cq__jnum_or_null(s->has_time_to_answer, s->time_to_answer_sec, 3));
    json_object_set_new(ce, "answer_sec", cq__jnum_or_null(s->has_answer, s->answer_sec, 3));
    json_object_set_new(ce, "answer_after",
                        s->answer_after ? json_string(cq_event_type_name(s->answer_after))
                                        : json_null());
    json_object_set_new(ce, "hold_count", json_integer(s->hold_count));
    json_object_set_new(ce, "hold_total_sec", cq__jnum(s->hold_total_sec, 3));
    json_object_set_new(o, "call_events", ce);
}

static void events_text_section(const cq_report *r, cq__sb *b)
{
    if (!r->has_call_events)
        return;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += L[i]->n_events;
    cq__sb_printf(b, "\n  call events: %s\n", total ? "" : "none (no tones, DTMF, hold music)");
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < L[i]->n_events; k++) {
            const cq_call_event *e = &L[i]->events[k];
            cq__sb_printf(b, "    %9.2f - %9.2f  %-8s %-8s", e->start_sec, e->end_sec,
                          cq_event_type_name(e->type), n == 1 ? "mix" : cq__leg_name(i));
            if (e->type == CQ_EV_DTMF)
                cq__sb_printf(b, " digits %s", e->digits);
            if (e->signal)
                cq__sb_printf(b, " %s", e->signal);
            if (e->region)
                cq__sb_printf(b, " (%s)", e->region);
            cq__sb_printf(b, "\n");
        }
}

const cq__stage cq__stage_events = {
    .name = "events",
    .bit = CQ_AN_EVENTS,
    .needs = CQ_AN_VAD,
    .stream = CQ__STREAM_8K,
    .create = events_create,
    .push = events_push,
    .finish = events_finish,
    .destroy = events_destroy,
    .summarize = events_summarize,
    .free_leg = events_free_leg,
    .json_leg = events_json_leg,
    .json_engine = events_json_engine,
    .json_call = events_json_call,
    .text_section = events_text_section,
};
