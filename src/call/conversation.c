/*
 * conversation.c - talk, overtalk, interruptions, dead air, turns, one-way audio from the two
 * legs' speech segments and events (see cq_conversation.h).
 *
 * DESIGN
 * Everything is arithmetic on sorted, disjoint span sets: talk = speech - excluded,
 * overtalk = talk0 & talk1, dead air = gaps of (talk0 | talk1 | excluded0 | excluded1). The
 * sets are small (a segment every few seconds), so the operations are linear merges and the
 * whole stage costs microseconds per call. Turns and monologues are one pass over both legs'
 * talk in start order.
 *
 * ROOM
 * src/call/ is this file alone. It calls base (allocation) and reads the per-leg analyzers'
 * results in their public types (speech spans; cq_classify.h's events and timelines); no
 * library but libm. It is on floor 2 because it sees both legs at once and no audio: it works
 * on what the analyzers below it found, so it is tested on hand-made spans
 * (tests/call/test_conversation.c), and the conversation stage (src/stages/stage_conversation.c)
 * feeds it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_conversation.h"

typedef struct sset {
    cq_conv_span *v;
    size_t n, cap;
} sset;

static int sset_add(sset *s, double a, double b)
{
    if (!(b > a))
        return CQ_OK;
    if (s->n && a <= s->v[s->n - 1].end_sec) { /* spans come in start order: merge */
        if (b > s->v[s->n - 1].end_sec)
            s->v[s->n - 1].end_sec = b;
        return CQ_OK;
    }
    if (cq__grow((void **)&s->v, &s->cap, s->n + 1, sizeof(cq_conv_span)) != CQ_OK)
        return CQ_ERR_NOMEM;
    s->v[s->n++] = (cq_conv_span){a, b};
    return CQ_OK;
}

static int cmp_span(const void *a, const void *b)
{
    const cq_conv_span *x = a, *y = b;
    return (x->start_sec > y->start_sec) - (x->start_sec < y->start_sec);
}

/* A set from spans in any order. */
static int sset_from(sset *s, cq_conv_span *v, size_t n)
{
    if (n)
        qsort(v, n, sizeof(*v), cmp_span);
    for (size_t i = 0; i < n; i++)
        if (sset_add(s, v[i].start_sec, v[i].end_sec) != CQ_OK)
            return CQ_ERR_NOMEM;
    return CQ_OK;
}

static int sset_union(sset *out, const sset *a, const sset *b)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        const cq_conv_span *x = j >= b->n || (i < a->n && a->v[i].start_sec <= b->v[j].start_sec)
                                    ? &a->v[i++]
                                    : &b->v[j++];
        if (sset_add(out, x->start_sec, x->end_sec) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

static int sset_intersect(sset *out, const sset *a, const sset *b)
{
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        double lo = fmax(a->v[i].start_sec, b->v[j].start_sec);
        double hi = fmin(a->v[i].end_sec, b->v[j].end_sec);
        if (hi > lo && sset_add(out, lo, hi) != CQ_OK)
            return CQ_ERR_NOMEM;
        if (a->v[i].end_sec < b->v[j].end_sec)
            i++;
        else
            j++;
    }
    return CQ_OK;
}

/* a minus b */
static int sset_subtract(sset *out, const sset *a, const sset *b)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        double lo = a->v[i].start_sec, hi = a->v[i].end_sec;
        while (j < b->n && b->v[j].end_sec <= lo)
            j++;
        for (size_t k = j; k < b->n && b->v[k].start_sec < hi; k++) {
            if (b->v[k].start_sec > lo && sset_add(out, lo, b->v[k].start_sec) != CQ_OK)
                return CQ_ERR_NOMEM;
            lo = fmax(lo, b->v[k].end_sec);
        }
        if (hi > lo && sset_add(out, lo, hi) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

static double sset_total(const sset *s)
{
    double t = 0;
    for (size_t i = 0; i < s->n; i++)
        t += s->v[i].end_sec - s->v[i].start_sec;
    return t;
}

static void sset_free(sset *s)
{
    cq__free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Append one element to a short result array (a few per call): *arr grows by one. */
static void *append(void **arr, size_t n, size_t elem)
{
    char *p = cq__realloc(*arr, (n + 1) * elem);
    if (!p)
        return NULL;
    *arr = p;
    return p + n * elem;
}

cq_conv_params cq_conv_default_params(void)
{
    return (cq_conv_params){.dead_air_sec = 5.0,
                            .interrupt_min_sec = 0.5,
                            .one_way_low_pct = 5.0,
                            .one_way_high_pct = 20.0,
                            .evidence_min_sec = 2.0,
                            .monologue_pause_sec = 2.0};
}

void cq_conversation_free(cq_conversation *c)
{
    if (!c)
        return;
    cq__free(c->overtalk);
    cq__free(c->interruptions);
    cq__free(c->dead_air);
    cq__free(c->evidence);
    memset(c, 0, sizeof(*c));
}

static int is_tone_event(cq_event_type t)
{
    return t == CQ_EV_DTMF || t == CQ_EV_RINGBACK || t == CQ_EV_BUSY || t == CQ_EV_SIT ||
           t == CQ_EV_FAX;
}

/* The leg's spans that are neither talk nor dead air: IVR, hold, tone events. */
static int excluded_of(const cq_conv_leg_in *l, sset *out)
{
    cq_conv_span *v = l->n_events ? cq__malloc(l->n_events * sizeof(*v)) : NULL;
    size_t n = 0;
    if (l->n_events && !v)
        return CQ_ERR_NOMEM;
    for (size_t i = 0; i < l->n_events; i++) {
        const cq_call_event *e = &l->events[i];
        if (e->type == CQ_EV_IVR || e->type == CQ_EV_HOLD || is_tone_event(e->type))
            v[n++] = (cq_conv_span){e->start_sec, e->end_sec};
    }
    int rc = sset_from(out, v, n);
    cq__free(v);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct utt {
    int leg;
    double start, end;
} utt;

static int cmp_utt(const void *a, const void *b)
{
    const utt *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* A monologue of `leg` over [a, b) ended: keep the leg's longest. */
static void monologue_end(cq_conversation *c, int leg, double a, double b)
{
    if (b - a > c->leg[leg].longest_monologue_sec)
        c->leg[leg].longest_monologue_sec = b - a;
}

/*
 * Turns, monologues and response latencies from the talk of both legs. A monologue is a stretch
 * of one turn's own talk with no pause of monologue_pause_sec or more: such a pause ends it
 * (the turn goes on), and so does the end of the turn.
 */
static int turns_of(const sset talk[2], const cq_conv_params *p, cq_conversation *c)
{
    size_t n = talk[0].n + talk[1].n, k = 0;
    if (!n)
        return CQ_OK;
    utt *u = cq__malloc(n * sizeof(*u));
    double *lat = cq__malloc(n * sizeof(double));
    if (!u || !lat) {
        cq__free(u);
        cq__free(lat);
        return CQ_ERR_NOMEM;
    }
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < talk[l].n; i++)
            u[k++] = (utt){l, talk[l].v[i].start_sec, talk[l].v[i].end_sec};
    qsort(u, n, sizeof(*u), cmp_utt);
    int cur = u[0].leg;
    double ms = u[0].start, te = u[0].end; /* the monologue's start, the turn's talk so far */
    size_t nl = 0;
    c->turns = 1;
    c->leg[cur].turns = 1;
    for (size_t i = 1; i < n; i++) {
        if (u[i].leg == cur) {
            if (u[i].start - te >= p->monologue_pause_sec) { /* a long pause: same turn */
                monologue_end(c, cur, ms, te);
                ms = u[i].start;
            }
            te = fmax(te, u[i].end);
            continue;
        }
        if (u[i].end <= te)
            continue; /* inside the other's turn: backchannel or overtalk, not the floor */
        monologue_end(c, cur, ms, te);
        lat[nl++] = fmax(0.0, u[i].start - te);
        cur = u[i].leg;
        ms = u[i].start, te = u[i].end;
        c->turns++;
        c->leg[cur].turns++;
    }
    monologue_end(c, cur, ms, te);
    if (nl) {
        double sum = 0;
        for (size_t i = 0; i < nl; i++)
            sum += lat[i];
        qsort(lat, nl, sizeof(double), cmp_double);
        size_t r = (size_t)ceil(0.9 * (double)nl); /* nearest rank */
        c->latency_mean_sec = sum / (double)nl;
        c->latency_p90_sec = lat[r ? r - 1 : 0];
    }
    c->n_latencies = nl;
    cq__free(u);
    cq__free(lat);
    return CQ_OK;
}

/* The class the leg's timeline shows most over [a, b). */
static int carried_over(const cq_conv_leg_in *l, double a, double b, cq_seg_class *cls)
{
    if (!l->n_timeline)
        return 0;
    double sec[CQ_CLS_COUNT] = {0};
    for (size_t i = 0; i < l->n_timeline; i++) {
        double lo = fmax(a, l->timeline[i].start_sec), hi = fmin(b, l->timeline[i].end_sec);
        if (hi > lo)
            sec[l->timeline[i].cls] += hi - lo;
    }
    int best = 0;
    for (int k = 1; k < CQ_CLS_COUNT; k++)
        if (sec[k] > sec[best])
            best = k;
    *cls = (cq_seg_class)best;
    return 1;
}

/* Spans of >= evidence_min_sec where `talker` talks and the other leg carries no talk. */
static int evidence_of(const cq_conv_leg_in *legs, const sset talk[2], int silent,
                       const cq_conv_params *p, cq_conversation *c)
{
    sset only = {0}, joined = {0};
    int rc = sset_subtract(&only, &talk[!silent], &talk[silent]);
    for (size_t i = 0; rc == CQ_OK && i < only.n; i++) {
        /* pauses of the talker under 1 s do not split the evidence */
        if (joined.n && only.v[i].start_sec - joined.v[joined.n - 1].end_sec < 1.0)
            joined.v[joined.n - 1].end_sec = only.v[i].end_sec;
        else
            rc = sset_add(&joined, only.v[i].start_sec, only.v[i].end_sec);
    }
    for (size_t i = 0; rc == CQ_OK && i < joined.n; i++) {
        const cq_conv_span *s = &joined.v[i];
        if (s->end_sec - s->start_sec < p->evidence_min_sec)
            continue;
        cq_evidence *e = append((void **)&c->evidence, c->n_evidence, sizeof(*e));
        if (!e) {
            rc = CQ_ERR_NOMEM;
            break;
        }
        c->n_evidence++;
        *e = (cq_evidence){.start_sec = s->start_sec, .end_sec = s->end_sec, .silent_leg = silent};
        e->carried_known = carried_over(&legs[silent], s->start_sec, s->end_sec, &e->carried);
    }
    sset_free(&only);
    sset_free(&joined);
    return rc;
}

static int has_event(const cq_conv_leg_in *l, cq_event_type t, double *at)
{
    for (size_t i = 0; i < l->n_events; i++)
        if (l->events[i].type == t) {
            if (at)
                *at = l->events[i].start_sec;
            return 1;
        }
    return 0;
}

static int one_way(const cq_conv_leg_in *legs, int n_legs, const sset talk[2],
                   const cq_conv_params *p, cq_conversation *c)
{
    c->one_way = 0;
    c->one_way_silent_leg = -1;
    c->one_way_rule = "none";
    if (n_legs == 1) {
        c->one_way = -1;
        c->one_way_rule = "mixed audio";
        snprintf(c->one_way_detail, sizeof(c->one_way_detail),
                 "both parties are mixed in one channel: one-way audio cannot be judged");
        return CQ_OK;
    }
    /* a call that never connected is not one-way audio */
    double at = 0, ring_end = -1;
    for (int l = 0; l < 2; l++) {
        if (has_event(&legs[l], CQ_EV_SIT, &at) || has_event(&legs[l], CQ_EV_BUSY, &at)) {
            c->one_way_rule = "not connected";
            snprintf(c->one_way_detail, sizeof(c->one_way_detail),
                     "%s on the %s leg at %.2f s: the call did not connect",
                     has_event(&legs[l], CQ_EV_SIT, NULL) ? "special information tone"
                                                          : "busy tone",
                     l ? "outbound" : "inbound", at);
            return CQ_OK;
        }
        for (size_t i = 0; i < legs[l].n_events; i++)
            if (legs[l].events[i].type == CQ_EV_RINGBACK && legs[l].events[i].end_sec > ring_end)
                ring_end = legs[l].events[i].end_sec;
    }
    if (ring_end >= 0) {
        int talk_after = 0;
        for (int l = 0; l < 2; l++)
            talk_after |= talk[l].n && talk[l].v[talk[l].n - 1].end_sec > ring_end;
        if (!talk_after) {
            c->one_way_rule = "not connected";
            snprintf(c->one_way_detail, sizeof(c->one_way_detail),
                     "ringback until %.2f s and no talk after it: the call was not answered",
                     ring_end);
            return CQ_OK;
        }
    }
    /* the old design's rule */
    double pct[2] = {legs[0].speech_pct, legs[1].speech_pct};
    int silent = pct[0] <= pct[1] ? 0 : 1;
    if (!(pct[silent] < p->one_way_low_pct && pct[!silent] > p->one_way_high_pct))
        return CQ_OK;
    int rc = evidence_of(legs, talk, silent, p, c);
    if (rc != CQ_OK)
        return rc;
    c->one_way_silent_leg = silent;
    const char *sname = silent ? "outbound" : "inbound", *tname = silent ? "inbound" : "outbound";
    if (has_event(&legs[silent], CQ_EV_DTMF, &at)) {
        c->one_way_rule = "dtmf";
        snprintf(c->one_way_detail, sizeof(c->one_way_detail),
                 "%s has %.1f %% speech, but its DTMF at %.2f s reached the recording: that "
                 "direction carried audio",
                 sname, pct[silent], at);
        return CQ_OK;
    }
    double talk_pct = legs[!silent].duration_sec > 0
                          ? 100.0 * sset_total(&talk[!silent]) / legs[!silent].duration_sec
                          : 0;
    if (!(talk_pct > p->one_way_high_pct)) {
        c->one_way_rule = "prompts only";
        snprintf(c->one_way_detail, sizeof(c->one_way_detail),
                 "%s has %.1f %% speech but only %.1f %% is talk (the rest IVR, hold, tones): "
                 "a caller listening to prompts is not one-way audio",
                 tname, pct[!silent], talk_pct);
        return CQ_OK;
    }
    c->one_way = 1;
    c->one_way_rule = "baseline";
    snprintf(c->one_way_detail, sizeof(c->one_way_detail),
             "%s has %.1f %% speech (< %g %%) while %s has %.1f %% (> %g %%)", sname, pct[silent],
             p->one_way_low_pct, tname, pct[!silent], p->one_way_high_pct);
    return CQ_OK;
}

int cq_conversation_analyze(const cq_conv_leg_in *legs, int n_legs, const cq_conv_params *p,
                            cq_conversation *out)
{
    memset(out, 0, sizeof(*out));
    cq_conv_params dp = cq_conv_default_params();
    if (!p)
        p = &dp;
    if (n_legs < 1 || n_legs > 2 || !(p->dead_air_sec > 0) || !(p->interrupt_min_sec >= 0) ||
        !(p->monologue_pause_sec > 0))
        return CQ_ERR_INVALID;
    sset speech[2] = {{0}}, excl[2] = {{0}}, talk[2] = {{0}}, over = {0}, act = {0}, tmp = {0},
         tmp2 = {0};
    int rc = CQ_OK;
    for (int l = 0; l < n_legs && rc == CQ_OK; l++) {
        for (size_t i = 0; rc == CQ_OK && i < legs[l].n_speech; i++)
            rc = sset_add(&speech[l], legs[l].speech[i].start_sec, legs[l].speech[i].end_sec);
        if (rc == CQ_OK)
            rc = excluded_of(&legs[l], &excl[l]);
        if (rc == CQ_OK)
            rc = sset_subtract(&talk[l], &speech[l], &excl[l]);
    }
    if (rc != CQ_OK)
        goto done;
    for (int l = 0; l < n_legs; l++) {
        cq_conv_leg *cl = &out->leg[l];
        cl->talk_sec = sset_total(&talk[l]);
        cl->talk_pct = legs[l].duration_sec > 0 ? 100.0 * cl->talk_sec / legs[l].duration_sec : 0;
        cl->excluded_sec = sset_total(&speech[l]) - cl->talk_sec;
        out->excluded_sec[l] = sset_total(&excl[l]);
    }
    for (int l = 0; l < n_legs; l++)
        out->leg[l].talk_listen_ratio = n_legs == 2 && out->leg[!l].talk_sec > 0
                                            ? out->leg[l].talk_sec / out->leg[!l].talk_sec
                                            : -1;
    /* overtalk and interruptions */
    if (n_legs == 2) {
        if ((rc = sset_intersect(&over, &talk[0], &talk[1])) != CQ_OK)
            goto done;
        out->overtalk_sec = sset_total(&over);
        for (size_t i = 0; i < over.n; i++) {
            const cq_conv_span *o = &over.v[i];
            if (o->end_sec - o->start_sec < p->interrupt_min_sec)
                continue;
            double st[2] = {0, 0}; /* the talk segment of each leg that holds the overlap */
            for (int l = 0; l < 2; l++)
                for (size_t k = 0; k < talk[l].n; k++)
                    if (talk[l].v[k].start_sec <= o->start_sec &&
                        talk[l].v[k].end_sec > o->start_sec)
                        st[l] = talk[l].v[k].start_sec;
            int by = st[1] > st[0] ? 1 : 0;
            cq_interruption *it =
                append((void **)&out->interruptions, out->n_interruptions, sizeof(*it));
            if (!it) {
                rc = CQ_ERR_NOMEM;
                goto done;
            }
            out->n_interruptions++;
            *it = (cq_interruption){by, st[by], o->end_sec - o->start_sec};
            out->leg[by].interruptions++;
        }
        out->overtalk = over.v, out->n_overtalk = over.n;
        over.v = NULL;
    }
    /* dead air: gaps in everything that is a sign of life, inside the first and last of it */
    if ((rc = sset_union(&tmp, &talk[0], &talk[1])) != CQ_OK ||
        (rc = sset_union(&tmp2, &tmp, &excl[0])) != CQ_OK)
        goto done;
    if ((rc = sset_union(&act, &tmp2, &excl[1])) != CQ_OK)
        goto done;
    for (size_t i = 1; i < act.n; i++) {
        double a = act.v[i - 1].end_sec, b = act.v[i].start_sec;
        if (b - a < p->dead_air_sec)
            continue;
        cq_conv_span *d = append((void **)&out->dead_air, out->n_dead_air, sizeof(*d));
        if (!d) {
            rc = CQ_ERR_NOMEM;
            goto done;
        }
        out->n_dead_air++;
        *d = (cq_conv_span){a, b};
        out->dead_air_sec += b - a;
    }
    if ((rc = turns_of(talk, p, out)) != CQ_OK)
        goto done;
    if (n_legs == 2) { /* hold music is the agent side's */
        double hold[2] = {0, 0};
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < legs[l].n_events; i++)
                if (legs[l].events[i].type == CQ_EV_HOLD)
                    hold[l] += legs[l].events[i].end_sec - legs[l].events[i].start_sec;
        if (hold[0] > 0 && hold[1] == 0) {
            out->swapped_suspected = true;
            snprintf(out->swapped_detail, sizeof(out->swapped_detail),
                     "the inbound leg carries %.1f s of hold music and the outbound leg none; "
                     "hold music comes from the agent's side",
                     hold[0]);
        }
    }
    rc = one_way(legs, n_legs, talk, p, out);
done:
    for (int l = 0; l < 2; l++) {
        sset_free(&speech[l]);
        sset_free(&excl[l]);
        sset_free(&talk[l]);
    }
    sset_free(&over);
    sset_free(&act);
    sset_free(&tmp);
    sset_free(&tmp2);
    if (rc != CQ_OK)
        cq_conversation_free(out);
    return rc;
}
