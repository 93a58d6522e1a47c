/*
 * stage_conversation.c - the `conversation` stage, one state per call: the two legs' 8 kHz audio
 * compared (near-identical channels, one leg bleeding into the other; cq_xleg.h), then talk,
 * overtalk, interruptions, dead air, turns, latency and one-way audio from the legs' speech
 * segments and events (cq_conversation.h), with the warnings they call for.
 */
#include "stage.h"

/* The two-leg checks need two legs: a mono mix gets no state (and no leg_checks). */
static int conversation_create(void **st, const cq__stage_ctx *c)
{
    *st = NULL;
    if (!c->report->has_legs)
        return CQ_OK;
    int rc = CQ_OK;
    *st = cq_xleg_create(&rc);
    return *st ? CQ_OK : rc;
}

static int conversation_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)r;
    return st ? cq_xleg_push(st, leg, x, n) : CQ_OK;
}

static void conversation_destroy(void *st)
{
    cq_xleg_destroy(st);
}

static int leg_checks(cq_xleg *xl, cq_report *r)
{
    int rc = cq_xleg_finish(xl, &r->xleg);
    if (rc != CQ_OK)
        return rc;
    r->has_xleg = true;
    return CQ_OK;
}

/* One party's input to the conversation analysis: `n` spans of its speech (allocated into
 * *sp, which the caller frees; span k from get(src, k)) with the events and timeline of the leg
 * lg that carries it (a leg of two, or the mono mix a diarized speaker speaks on). */
typedef cq_conv_span (*span_at)(const void *src, size_t k);

static int party_in(const cq_leg_report *lg, double speech_pct, const void *src, size_t n,
                    span_at get, cq_conv_span **sp, cq_conv_leg_in *in)
{
    if (n && !(*sp = cq__malloc(n * sizeof(cq_conv_span))))
        return CQ_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*sp)[i] = get(src, i);
    *in = (cq_conv_leg_in){.duration_sec = lg->duration_sec,
                           .speech_pct = speech_pct,
                           .speech = *sp,
                           .n_speech = n,
                           .events = lg->events,
                           .n_events = lg->n_events,
                           .timeline = lg->timeline,
                           .n_timeline = lg->n_timeline};
    return CQ_OK;
}

static cq_conv_span vad_span(const void *src, size_t k)
{
    const cq_leg_report *lg = src;
    return (cq_conv_span){(double)lg->speech[k].start / lg->vad_rate_hz,
                          (double)lg->speech[k].end / lg->vad_rate_hz};
}

static cq_conv_span diar_span(const void *src, size_t k)
{
    const cq_diar_speaker *d = src;
    return (cq_conv_span){d->segs[k].start_sec, d->segs[k].end_sec};
}

/* Talk, overtalk, dead air, one-way audio from the legs' results. */
static int conversation(cq_report *r)
{
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L), rc = CQ_OK;
    cq_conv_leg_in in[2];
    cq_conv_span *sp[2] = {NULL, NULL};
    memset(in, 0, sizeof(in));
    for (int l = 0; l < n && rc == CQ_OK; l++)
        rc = party_in(L[l], L[l]->speech_pct, L[l], L[l]->n_speech, vad_span, &sp[l], &in[l]);
    if (rc == CQ_OK && (rc = cq_conversation_analyze(in, n, NULL, &r->conversation)) == CQ_OK)
        r->has_conversation = true;
    cq__free(sp[0]);
    cq__free(sp[1]);
    return rc;
}

/* A mono mix diarized into two speakers: the conversation between them, each speaker taken as
 * a leg with the mix's events and timeline (an IVR or hold on the mix is neither's talk). */
static int speaker_conversation(cq_report *r)
{
    const cq_leg_report *m = r->inbound;
    if (r->has_legs || !m->has_diarization || m->diarization.n_speakers != 2)
        return CQ_OK;
    cq_conv_leg_in in[2];
    cq_conv_span *sp[2] = {NULL, NULL};
    int rc = CQ_OK;
    for (int s = 0; s < 2 && rc == CQ_OK; s++) {
        const cq_diar_speaker *d = &m->diarization.speaker[s];
        double pct = m->duration_sec > 0 ? 100.0 * d->talk_sec / m->duration_sec : 0;
        rc = party_in(m, pct, d, d->n_segs, diar_span, &sp[s], &in[s]);
    }
    if (rc == CQ_OK &&
        (rc = cq_conversation_analyze(in, 2, NULL, &r->speaker_conversation)) == CQ_OK)
        r->has_speaker_conversation = true;
    cq__free(sp[0]);
    cq__free(sp[1]);
    return rc;
}

static int warnings(cq_report *r)
{
    int rc = CQ_OK;
    if (r->conversation.swapped_suspected) {
        double hold = 0;
        for (size_t i = 0; i < r->inbound->n_events; i++)
            if (r->inbound->events[i].type == CQ_EV_HOLD)
                hold += r->inbound->events[i].end_sec - r->inbound->events[i].start_sec;
        cq_value v[] = {CQ_VNUM("inbound_hold_sec", hold, 3)};
        rc = cq__warn(r, "legs_swapped", v, 1,
                      "legs probably swapped: %s; if so, the customer is on the other %s",
                      r->conversation.swapped_detail,
                      !strcmp(r->layout, "stereo") ? "channel (channel map out,in)" : "leg file");
    }
    if (rc != CQ_OK || !r->has_xleg || r->fake_stereo)
        return rc;
    const cq_xleg_result *x = &r->xleg;
    if (x->near_identical) {
        cq_value v[] = {CQ_VNUM("correlation", x->corr_lag0, 4)};
        return cq__warn(r, "near_identical_legs", v, 1,
                        "near-identical legs: the two channels correlate at %.3f (lag 0); they "
                        "are probably one signal, and the legs cannot be told apart",
                        x->corr_lag0);
    }
    if (x->bleed_from >= 0) {
        cq_value v[] = {CQ_VSTR("from", cq__leg_name(x->bleed_from)),
                        CQ_VSTR("into", cq__leg_name(!x->bleed_from)),
                        CQ_VNUM("lag_ms", x->bleed_lag_ms, 1), CQ_VNUM("level_db", x->bleed_db, 2),
                        CQ_VNUM("correlation", x->bleed_corr, 4)};
        return cq__warn(r, "leg_bleed", v, 5,
                        "the %s leg carries the %s leg's audio %.0f ms later at %.1f dB "
                        "(correlation %.2f): echo or cross-talk",
                        x->bleed_from ? "inbound" : "outbound",
                        x->bleed_from ? "outbound" : "inbound", x->bleed_lag_ms, x->bleed_db,
                        x->bleed_corr);
    }
    return CQ_OK;
}

static int conversation_finish(void *st, int leg, cq_report *r)
{
    (void)leg;
    int rc = st ? leg_checks(st, r) : CQ_OK;
    if (rc == CQ_OK)
        rc = conversation(r);
    if (rc == CQ_OK)
        rc = speaker_conversation(r);
    return rc == CQ_OK ? warnings(r) : rc;
}

static void conversation_free_call(cq_report *r)
{
    cq_conversation_free(&r->conversation);
    cq_conversation_free(&r->speaker_conversation);
}

static const char *excludes(const cq_report *r)
{
    return r->inbound->has_events
               ? "IVR prompts, hold music and tones (ringback, busy, SIT, DTMF, fax) are neither "
                 "talk nor dead air"
               : "nothing: the events analyzer did not run, so talk is all VAD speech";
}

/* The old service's one_way_audio and one_way_direction, and what decided them. */
static void one_way_into(json_t *o, const cq_report *r)
{
    const cq_conversation *c = &r->conversation;
    if (!r->has_conversation) {
        json_object_set_new(o, "one_way_audio", json_null());
        json_object_set_new(o, "one_way_direction", json_null());
        json_object_set_new(o, "one_way", json_null());
        return;
    }
    json_object_set_new(o, "one_way_audio",
                        c->one_way < 0 ? json_null() : json_boolean(c->one_way == 1));
    json_object_set_new(
        o, "one_way_direction",
        c->one_way == 1 ? json_string(c->one_way_silent_leg ? "outbound_silent" : "inbound_silent")
                        : json_null());
    json_t *w = json_object();
    json_object_set_new(w, "rule", json_string(c->one_way_rule));
    json_object_set_new(w, "detail", json_string(c->one_way_detail));
    json_object_set_new(w, "silent_leg",
                        c->one_way_silent_leg >= 0
                            ? json_string(cq__leg_name(c->one_way_silent_leg))
                            : json_null());
    json_t *ev = json_array();
    for (size_t i = 0; i < c->n_evidence; i++) {
        const cq_evidence *e = &c->evidence[i];
        json_t *eo = cq__jspan(e->start_sec, e->end_sec);
        json_object_set_new(eo, "silent_leg", json_string(cq__leg_name(e->silent_leg)));
        json_object_set_new(eo, "silent_leg_carried",
                            e->carried_known ? json_string(cq_seg_class_name(e->carried))
                                             : json_null());
        json_array_append_new(ev, eo);
    }
    json_object_set_new(w, "evidence", ev);
    json_object_set_new(o, "one_way", w);
}

static json_t *spans_json(const cq_conv_span *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, cq__jspan(s[i].start_sec, s[i].end_sec));
    return a;
}

/* A party's talk: its seconds and share, then (when excluded_sec is given: a leg's, not a
 * diarized speaker's) the speech and time not counted as talk, then its ratio, longest
 * monologue and turns. */
static json_t *talk_json(const cq_conv_leg *g, const double *excluded_sec)
{
    json_t *o = json_object();
    json_object_set_new(o, "talk_sec", cq__jnum(g->talk_sec, 3));
    json_object_set_new(o, "talk_pct", cq__jnum(g->talk_pct, 3));
    if (excluded_sec) {
        json_object_set_new(o, "excluded_speech_sec", cq__jnum(g->excluded_sec, 3));
        json_object_set_new(o, "excluded_sec", cq__jnum(*excluded_sec, 3));
    }
    json_object_set_new(o, "talk_listen_ratio",
                        cq__jnum_or_null(g->talk_listen_ratio >= 0, g->talk_listen_ratio, 3));
    json_object_set_new(o, "longest_monologue_sec", cq__jnum(g->longest_monologue_sec, 3));
    json_object_set_new(o, "turns", json_integer((json_int_t)g->turns));
    return o;
}

/* response_latency{}: how long the turns' changes took. */
static json_t *latency_json(const cq_conversation *c)
{
    json_t *lat = json_object();
    json_object_set_new(lat, "count", json_integer((json_int_t)c->n_latencies));
    json_object_set_new(lat, "mean_sec", cq__jnum_or_null(c->n_latencies, c->latency_mean_sec, 3));
    json_object_set_new(lat, "p90_sec", cq__jnum_or_null(c->n_latencies, c->latency_p90_sec, 3));
    return lat;
}

/* The diarized speakers' conversation: what works per leg, per speaker (no overtalk). */
static json_t *speakers_json(const cq_report *r)
{
    if (!r->has_speaker_conversation)
        return json_null();
    const cq_conversation *c = &r->speaker_conversation;
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string("diarization"));
    json_object_set_new(o, "confidence", cq__jnum(r->inbound->diarization.confidence, 3));
    for (int s = 0; s < 2; s++)
        json_object_set_new(o, s ? "S2" : "S1", talk_json(&c->leg[s], NULL));
    json_object_set_new(o, "turns", json_integer((json_int_t)c->turns));
    json_object_set_new(o, "response_latency", latency_json(c));
    json_object_set_new(o, "overtalk", json_null());
    json_object_set_new(o, "interruptions", json_null());
    json_object_set_new(o, "note",
                        json_string("from diarization of the mono mix: overlapped speech is not "
                                    "detected, so overtalk and interruptions are not measured; "
                                    "dead air is the mix's"));
    return o;
}

static json_t *conversation_json(const cq_report *r)
{
    if (!r->has_conversation)
        return json_null();
    const cq_conversation *c = &r->conversation;
    const int n = r->outbound ? 2 : 1;
    json_t *o = json_object();
    for (int l = 0; l < n; l++) {
        json_t *lo = talk_json(&c->leg[l], &c->excluded_sec[l]);
        json_object_set_new(lo, "interruptions", json_integer((json_int_t)c->leg[l].interruptions));
        json_object_set_new(o, cq__leg_name(l), lo);
    }
    if (n == 1) {
        json_object_set_new(o, "outbound", json_null());
        json_object_set_new(o, "overtalk", json_null());
    } else {
        json_t *ot = json_object();
        json_object_set_new(ot, "total_sec", cq__jnum(c->overtalk_sec, 3));
        json_object_set_new(ot, "count", json_integer((json_int_t)c->n_overtalk));
        json_object_set_new(ot, "spans", spans_json(c->overtalk, c->n_overtalk));
        json_object_set_new(o, "overtalk", ot);
    }
    json_t *it = json_array();
    for (size_t i = 0; i < c->n_interruptions; i++) {
        const cq_interruption *x = &c->interruptions[i];
        json_t *io = json_object();
        json_object_set_new(io, "by", json_string(cq__leg_name(x->by)));
        json_object_set_new(io, "of", json_string(cq__leg_name(!x->by)));
        json_object_set_new(io, "at", cq__jnum(x->at_sec, 3));
        json_object_set_new(io, "overlap_sec", cq__jnum(x->overlap_sec, 3));
        json_array_append_new(it, io);
    }
    json_object_set_new(o, "interruptions", it);
    json_t *da = json_object();
    json_object_set_new(da, "total_sec", cq__jnum(c->dead_air_sec, 3));
    json_object_set_new(da, "count", json_integer((json_int_t)c->n_dead_air));
    json_object_set_new(da, "spans", spans_json(c->dead_air, c->n_dead_air));
    json_object_set_new(da, "min_sec", cq__jnum(cq_conv_default_params().dead_air_sec, 3));
    json_object_set_new(o, "dead_air", da);
    json_object_set_new(o, "turns", json_integer((json_int_t)c->turns));
    json_object_set_new(o, "response_latency", latency_json(c));
    json_object_set_new(o, "excludes", json_string(excludes(r)));
    json_object_set_new(o, "speakers", speakers_json(r));
    return o;
}

static json_t *leg_checks_json(const cq_report *r)
{
    if (!r->has_xleg)
        return json_null();
    const cq_xleg_result *x = &r->xleg;
    json_t *o = json_object();
    json_object_set_new(o, "compared", json_boolean(x->has));
    json_object_set_new(o, "correlation_lag0", cq__jnum_or_null(x->has, x->corr_lag0, 4));
    json_object_set_new(o, "near_identical", json_boolean(x->near_identical));
    json_object_set_new(o, "peak_correlation", cq__jnum_or_null(x->has, x->peak_corr, 4));
    json_object_set_new(o, "peak_lag_ms", cq__jnum_or_null(x->has, x->peak_lag_ms, 1));
    const bool sw = r->has_conversation && r->conversation.swapped_suspected;
    json_object_set_new(o, "swapped_suspected", json_boolean(sw));
    json_object_set_new(o, "swapped_detail",
                        sw ? json_string(r->conversation.swapped_detail) : json_null());
    if (x->bleed_from >= 0) {
        json_t *b = json_object();
        json_object_set_new(b, "from", json_string(cq__leg_name(x->bleed_from)));
        json_object_set_new(b, "into", json_string(cq__leg_name(!x->bleed_from)));
        json_object_set_new(b, "lag_ms", cq__jnum(x->bleed_lag_ms, 1));
        json_object_set_new(b, "level_db", cq__jnum(x->bleed_db, 2));
        json_object_set_new(b, "correlation", cq__jnum(x->bleed_corr, 4));
        json_object_set_new(o, "bleed", b);
    } else {
        json_object_set_new(o, "bleed", json_null());
    }
    return o;
}

static void conversation_json_call(const cq_report *r, json_t *o)
{
    one_way_into(o, r);
    json_object_set_new(o, "conversation", conversation_json(r));
    json_object_set_new(o, "leg_checks", leg_checks_json(r));
}

static void conversation_text_section(const cq_report *r, cq__sb *b)
{
    if (!r->has_conversation)
        return;
    const cq_conversation *c = &r->conversation;
    const int n = r->outbound ? 2 : 1;
    cq__sb_printf(b, "\n  conversation:\n");
    cq__sb_printf(b, "    one-way audio: %s (%s%s%s)\n",
                  c->one_way < 0 ? "cannot be judged"
                  : c->one_way   ? "YES"
                                 : "no",
                  c->one_way_rule, c->one_way_detail[0] ? ": " : "", c->one_way_detail);
    for (int l = 0; l < n; l++)
        cq__sb_printf(b,
                      "    %-9s talk %.1f s (%.0f%%), %zu turns, longest %.1f s, "
                      "%zu interruptions\n",
                      n == 2 ? cq__leg_name(l) : "mix", c->leg[l].talk_sec, c->leg[l].talk_pct,
                      c->leg[l].turns, c->leg[l].longest_monologue_sec, c->leg[l].interruptions);
    if (n == 2)
        cq__sb_printf(b, "    overtalk  %.1f s in %zu spans\n", c->overtalk_sec, c->n_overtalk);
    cq__sb_printf(b, "    dead air  %.1f s in %zu spans", c->dead_air_sec, c->n_dead_air);
    for (size_t i = 0; i < c->n_dead_air && i < 4; i++)
        cq__sb_printf(b, "%s%.1f-%.1f", i ? ", " : ": ", c->dead_air[i].start_sec,
                      c->dead_air[i].end_sec);
    cq__sb_printf(b, "\n");
    if (c->n_latencies)
        cq__sb_printf(b, "    response latency: mean %.2f s, p90 %.2f s over %zu turn changes\n",
                      c->latency_mean_sec, c->latency_p90_sec, c->n_latencies);
    if (r->has_speaker_conversation) {
        const cq_conversation *s = &r->speaker_conversation;
        cq__sb_printf(b, "    by speaker (diarization, confidence %.2f; no overtalk measured):\n",
                      r->inbound->diarization.confidence);
        for (int k = 0; k < 2; k++)
            cq__sb_printf(b, "      S%d talk %.1f s (%.0f%%), %zu turns, longest %.1f s\n", k + 1,
                          s->leg[k].talk_sec, s->leg[k].talk_pct, s->leg[k].turns,
                          s->leg[k].longest_monologue_sec);
        if (s->n_latencies)
            cq__sb_printf(b, "      response latency: mean %.2f s, p90 %.2f s over %zu changes\n",
                          s->latency_mean_sec, s->latency_p90_sec, s->n_latencies);
    }
}

const cq__stage cq__stage_conversation = {
    .name = "conversation",
    .bit = CQ_AN_CONVERSATION,
    .needs = CQ_AN_VAD,
    .uses = CQ_AN_EVENTS | CQ_AN_DIARIZE,
    .stream = CQ__STREAM_8K,
    .per_call = true,
    .create = conversation_create,
    .push = conversation_push,
    .finish = conversation_finish,
    .destroy = conversation_destroy,
    .free_call = conversation_free_call,
    .json_call = conversation_json_call,
    .text_section = conversation_text_section,
};
