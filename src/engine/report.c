/*
 * report.c - render a cq_report as JSON (jansson) or readable text; analyzer names.
 *
 * The JSON keeps the old service's fields and shapes (file, duration, has_legs, inbound,
 * outbound, one_way_audio, one_way_direction, nisqa, analysis_time_sec, per-leg rms_db,
 * peak_db, speech_pct, silence{}, speech_segments) and adds ours. Values of analyzers that
 * did not run are null. docs/report.md documents every field; tests keep the two in step.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/callqa.h"

static const struct {
    unsigned bit;
    const char *name;
} k_analyzers[] = {
    {CQ_AN_LEVELS, "levels"},
    {CQ_AN_SILENCE, "silence"},
    {CQ_AN_VAD, "vad"},
    {CQ_AN_NISQA, "nisqa"},
    {CQ_AN_QUALITY, "quality"},
    {CQ_AN_EVENTS, "events"},
    {CQ_AN_CONVERSATION, "conversation"},
};
#define N_ANALYZERS (sizeof(k_analyzers) / sizeof(k_analyzers[0]))

const char *cq_analyzer_name(unsigned bit)
{
    for (size_t i = 0; i < N_ANALYZERS; i++)
        if (k_analyzers[i].bit == bit)
            return k_analyzers[i].name;
    return NULL;
}

int cq_analyzers_parse(const char *list, unsigned *out, cq_err *err)
{
    unsigned bits = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < N_ANALYZERS && n; i++) {
            if (strlen(k_analyzers[i].name) == n && !strncmp(p, k_analyzers[i].name, n)) {
                bits |= k_analyzers[i].bit;
                found = true;
            }
        }
        if (!found)
            return cq__err_set(err, CQ_ERR_INVALID,
                               "unknown analyzer '%.*s' (available: levels, silence, vad, nisqa, quality)", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!bits)
        return cq__err_set(err, CQ_ERR_INVALID, "no analyzer named (available: levels, silence, vad, nisqa, quality)");
    *out = bits;
    return CQ_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* A number rounded to `decimals` places (so dumps read 12.3457, not 12.345700000000001). */
static json_t *num(double v, int decimals)
{
    if (!isfinite(v))
        return json_null();
    double m = pow(10.0, decimals);
    double r = round(v * m) / m;
    if (r == 0)
        r = 0; /* no "-0" */
    return json_real(r);
}

static json_t *num_or_null(bool has, double v, int decimals)
{
    return has ? num(v, decimals) : json_null();
}

static const char *engine_name(cq_vad_engine e)
{
    return e == CQ_VAD_SILERO ? "silero" : "dsp";
}

/* {engine, model, model_sha256}: which VAD produced speech_pct and speech_segments. */
static json_t *vad_json(const cq_report *r)
{
    json_t *v = json_object();
    json_object_set_new(v, "engine", json_string(engine_name(r->vad_engine)));
    if (r->vad_engine == CQ_VAD_SILERO) {
        char model[64];
        snprintf(model, sizeof(model), "silero_vad %s", r->vad_version);
        json_object_set_new(v, "model", json_string(model));
        json_object_set_new(v, "model_sha256", json_string(r->vad_sha256));
    } else {
        json_object_set_new(v, "model", json_null());
        json_object_set_new(v, "model_sha256", json_null());
    }
    return v;
}

static void scores_into(json_t *o, const cq_nisqa_scores *s)
{
    json_object_set_new(o, "mos", num(s->mos, 4));
    json_object_set_new(o, "noisiness", num(s->noisiness, 4));
    json_object_set_new(o, "discontinuity", num(s->discontinuity, 4));
    json_object_set_new(o, "coloration", num(s->coloration, 4));
    json_object_set_new(o, "loudness", num(s->loudness, 4));
}

static json_t *leg_nisqa_json(const cq_report *r, const cq_leg_report *l)
{
    if (!l->has_nisqa)
        return json_null();
    json_t *o = json_object();
    scores_into(o, &l->nisqa);
    json_object_set_new(o, "mode", json_string(r->nisqa_mode == CQ_NISQA_FILE ? "file" : "windowed"));
    json_object_set_new(o, "segments", json_integer((json_int_t)l->nisqa.n_segments));
    if (r->nisqa_mode == CQ_NISQA_WINDOWED) {
        json_object_set_new(o, "weighting", json_string(l->nisqa_uniform ? "uniform" : "speech"));
        json_t *ws = json_array();
        for (size_t i = 0; i < l->n_nisqa_windows; i++) {
            const cq_nisqa_window *w = &l->nisqa_windows[i];
            json_t *wo = json_object();
            json_object_set_new(wo, "start", num(w->start_sec, 6));
            json_object_set_new(wo, "end", num(w->end_sec, 6));
            json_object_set_new(wo, "speech_sec", num(w->speech_sec, 3));
            scores_into(wo, &w->scores);
            json_array_append_new(ws, wo);
        }
        json_object_set_new(o, "windows", ws);
    }
    return o;
}

/* Model-free indicators; clipping_pct comes from the levels analyzer. */
static json_t *leg_quality_json(const cq_leg_report *l)
{
    if (!l->has_quality)
        return json_null();
    const cq_quality_result *q = &l->quality;
    json_t *o = json_object();
    json_object_set_new(o, "basis", json_string(q->basis));
    json_object_set_new(o, "noise_floor_db", num_or_null(q->has_noise_floor, q->noise_floor_db, 2));
    json_object_set_new(o, "speech_level_db", num_or_null(q->has_speech_level, q->speech_level_db, 2));
    json_object_set_new(o, "snr_db", num_or_null(q->has_snr, q->snr_db, 2));
    json_object_set_new(o, "bandwidth_hz", num_or_null(q->has_bandwidth, q->bandwidth_hz, 1));
    json_object_set_new(o, "clipping_pct",
                        l->has_level && l->level.samples
                            ? num(100.0 * (double)l->level.clipped_samples / (double)l->level.samples, 4)
                            : json_null());
    json_object_set_new(o, "dropouts", json_integer((json_int_t)q->dropouts));
    json_object_set_new(o, "dropout_ms", num(q->dropout_ms, 1));
    json_object_set_new(o, "dropouts_per_min", num(q->dropouts_per_min, 3));
    json_object_set_new(o, "level_drift_db", num_or_null(q->has_drift, q->level_drift_db, 2));
    json_object_set_new(o, "speech_sec", num(q->speech_sec, 3));
    return o;
}

static json_t *leg_timeline_json(const cq_leg_report *l)
{
    if (!l->has_events)
        return json_null();
    json_t *o = json_object(), *segs = json_array();
    double sec[CQ_CLS_COUNT] = {0};
    for (size_t i = 0; i < l->n_timeline; i++) {
        const cq_class_seg *s = &l->timeline[i];
        json_t *so = json_object();
        json_object_set_new(so, "class", json_string(cq_seg_class_name(s->cls)));
        json_object_set_new(so, "start", num(s->start_sec, 3));
        json_object_set_new(so, "end", num(s->end_sec, 3));
        json_object_set_new(so, "confidence", num(s->confidence, 2));
        json_array_append_new(segs, so);
        sec[s->cls] += s->end_sec - s->start_sec;
    }
    json_t *tot = json_object();
    for (int c = 0; c < CQ_CLS_COUNT; c++)
        json_object_set_new(tot, cq_seg_class_name((cq_seg_class)c), num(sec[c], 3));
    json_object_set_new(o, "seconds", tot);
    json_object_set_new(o, "frame_ms", json_integer(32));
    json_object_set_new(o, "segments", segs);
    return o;
}

static json_t *event_json(const cq_call_event *e, const char *leg)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(cq_event_type_name(e->type)));
    json_object_set_new(o, "leg", json_string(leg));
    json_object_set_new(o, "start", num(e->start_sec, 3));
    json_object_set_new(o, "end", num(e->end_sec, 3));
    if (e->type == CQ_EV_DTMF)
        json_object_set_new(o, "digits", json_string(e->digits));
    if (e->signal)
        json_object_set_new(o, "signal", json_string(e->signal));
    if (e->region)
        json_object_set_new(o, "region", json_string(e->region));
    if (e->type != CQ_EV_HOLD && e->type != CQ_EV_IVR)
        json_object_set_new(o, "cycles", json_integer(e->cycles));
    json_object_set_new(o, "confidence", num(e->confidence, 2));
    return o;
}

/* Both legs' events in time order, and the figures derived from them. */
static void events_into(json_t *o, const cq_report *r)
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    if (!r->inbound->has_events) {
        json_object_set_new(o, "events", json_null());
        json_object_set_new(o, "call_events", json_null());
        return;
    }
    json_t *arr = json_array();
    size_t k[2] = {0, 0};
    double ring_end = -1, hold_sec = 0, first_speech = -1;
    int holds = 0;
    for (;;) { /* merge the two sorted lists */
        int pick = -1;
        for (int i = 0; i < 2; i++)
            if (L[i] && k[i] < L[i]->n_events &&
                (pick < 0 || L[i]->events[k[i]].start_sec < L[pick]->events[k[pick]].start_sec))
                pick = i;
        if (pick < 0)
            break;
        const cq_call_event *e = &L[pick]->events[k[pick]++];
        json_array_append_new(arr, event_json(e, pick == 0 ? "inbound" : "outbound"));
        if (e->type == CQ_EV_RINGBACK && e->end_sec > ring_end)
            ring_end = e->end_sec;
        if (e->type == CQ_EV_HOLD)
            holds++, hold_sec += e->end_sec - e->start_sec;
    }
    json_object_set_new(o, "events", arr);
    /* time to answer: the first speech on either leg after the last ringback */
    for (int i = 0; ring_end >= 0 && i < 2; i++) {
        const cq_leg_report *l = L[i];
        for (size_t s = 0; l && l->has_vad && s < l->n_speech; s++) {
            double t = (double)l->speech[s].start / l->vad_rate_hz;
            if (t >= ring_end) {
                if (first_speech < 0 || t < first_speech)
                    first_speech = t;
                break;
            }
        }
    }
    json_t *ce = json_object();
    json_object_set_new(ce, "ringback", json_boolean(ring_end >= 0));
    json_object_set_new(ce, "time_to_answer_sec", first_speech >= 0 ? num(first_speech, 3)
                                                                    : json_null());
    json_object_set_new(ce, "hold_count", json_integer(holds));
    json_object_set_new(ce, "hold_total_sec", num(hold_sec, 3));
    json_object_set_new(o, "call_events", ce);
}

static json_t *span_json(double a, double b)
{
    json_t *o = json_object();
    json_object_set_new(o, "start", num(a, 3));
    json_object_set_new(o, "end", num(b, 3));
    return o;
}

static const char *leg_name(int l)
{
    return l ? "outbound" : "inbound";
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
    json_object_set_new(o, "one_way_audio", c->one_way < 0 ? json_null()
                                                            : json_boolean(c->one_way == 1));
    json_object_set_new(o, "one_way_direction",
                        c->one_way == 1 ? json_string(c->one_way_silent_leg ? "outbound_silent"
                                                                            : "inbound_silent")
                                        : json_null());
    json_t *w = json_object();
    json_object_set_new(w, "rule", json_string(c->one_way_rule));
    json_object_set_new(w, "detail", json_string(c->one_way_detail));
    json_object_set_new(w, "silent_leg", c->one_way_silent_leg >= 0
                                             ? json_string(leg_name(c->one_way_silent_leg))
                                             : json_null());
    json_t *ev = json_array();
    for (size_t i = 0; i < c->n_evidence; i++) {
        const cq_evidence *e = &c->evidence[i];
        json_t *eo = span_json(e->start_sec, e->end_sec);
        json_object_set_new(eo, "silent_leg", json_string(leg_name(e->silent_leg)));
        json_object_set_new(eo, "silent_leg_carried",
                            e->carried_known ? json_string(cq_seg_class_name(e->carried))
                                             : json_null());
        json_array_append_new(ev, eo);
    }
    json_object_set_new(w, "evidence", ev);
    json_object_set_new(o, "one_way", w);
}

static json_t *conversation_json(const cq_report *r)
{
    if (!r->has_conversation)
        return json_null();
    const cq_conversation *c = &r->conversation;
    const int n = r->outbound ? 2 : 1;
    json_t *o = json_object();
    for (int l = 0; l < n; l++) {
        const cq_conv_leg *g = &c->leg[l];
        json_t *lo = json_object();
        json_object_set_new(lo, "talk_sec", num(g->talk_sec, 3));
        json_object_set_new(lo, "talk_pct", num(g->talk_pct, 3));
        json_object_set_new(lo, "excluded_speech_sec", num(g->excluded_sec, 3));
        json_object_set_new(lo, "excluded_sec", num(c->excluded_sec[l], 3));
        json_object_set_new(lo, "talk_listen_ratio",
                            g->talk_listen_ratio >= 0 ? num(g->talk_listen_ratio, 3) : json_null());
        json_object_set_new(lo, "longest_monologue_sec", num(g->longest_monologue_sec, 3));
        json_object_set_new(lo, "turns", json_integer((json_int_t)g->turns));
        json_object_set_new(lo, "interruptions", json_integer((json_int_t)g->interruptions));
        json_object_set_new(o, leg_name(l), lo);
    }
    if (n == 1)
        json_object_set_new(o, "outbound", json_null());
    json_t *ot = json_object();
    json_object_set_new(ot, "total_sec", num(c->overtalk_sec, 3));
    json_object_set_new(ot, "count", json_integer((json_int_t)c->n_overtalk));
    json_t *spans = json_array();
    for (size_t i = 0; i < c->n_overtalk; i++)
        json_array_append_new(spans, span_json(c->overtalk[i].start_sec, c->overtalk[i].end_sec));
    json_object_set_new(ot, "spans", spans);
    json_object_set_new(o, "overtalk", n == 2 ? ot : json_null());
    if (n == 1)
        json_decref(ot);
    json_t *it = json_array();
    for (size_t i = 0; i < c->n_interruptions; i++) {
        const cq_interruption *x = &c->interruptions[i];
        json_t *io = json_object();
        json_object_set_new(io, "by", json_string(leg_name(x->by)));
        json_object_set_new(io, "of", json_string(leg_name(!x->by)));
        json_object_set_new(io, "at", num(x->at_sec, 3));
        json_object_set_new(io, "overlap_sec", num(x->overlap_sec, 3));
        json_array_append_new(it, io);
    }
    json_object_set_new(o, "interruptions", it);
    json_t *da = json_object();
    json_object_set_new(da, "total_sec", num(c->dead_air_sec, 3));
    json_object_set_new(da, "count", json_integer((json_int_t)c->n_dead_air));
    json_t *dspans = json_array();
    for (size_t i = 0; i < c->n_dead_air; i++)
        json_array_append_new(dspans, span_json(c->dead_air[i].start_sec, c->dead_air[i].end_sec));
    json_object_set_new(da, "spans", dspans);
    json_object_set_new(da, "min_sec", num(cq_conv_default_params().dead_air_sec, 3));
    json_object_set_new(o, "dead_air", da);
    json_object_set_new(o, "turns", json_integer((json_int_t)c->turns));
    json_t *lat = json_object();
    json_object_set_new(lat, "count", json_integer((json_int_t)c->n_latencies));
    json_object_set_new(lat, "mean_sec", c->n_latencies ? num(c->latency_mean_sec, 3) : json_null());
    json_object_set_new(lat, "p90_sec", c->n_latencies ? num(c->latency_p90_sec, 3) : json_null());
    json_object_set_new(o, "response_latency", lat);
    json_object_set_new(o, "excludes", json_string(
        r->inbound->has_events ? "IVR prompts, hold music and tones (ringback, busy, SIT, DTMF, "
                                 "fax) are neither talk nor dead air"
                               : "nothing: the events analyzer did not run, so talk is all "
                                 "VAD speech"));
    return o;
}

static json_t *leg_checks_json(const cq_report *r)
{
    if (!r->has_xleg)
        return json_null();
    const cq_xleg_result *x = &r->xleg;
    json_t *o = json_object();
    json_object_set_new(o, "compared", json_boolean(x->has));
    json_object_set_new(o, "correlation_lag0", x->has ? num(x->corr_lag0, 4) : json_null());
    json_object_set_new(o, "near_identical", json_boolean(x->near_identical));
    json_object_set_new(o, "peak_correlation", x->has ? num(x->peak_corr, 4) : json_null());
    json_object_set_new(o, "peak_lag_ms", x->has ? num(x->peak_lag_ms, 1) : json_null());
    const bool sw = r->has_conversation && r->conversation.swapped_suspected;
    json_object_set_new(o, "swapped_suspected", json_boolean(sw));
    json_object_set_new(o, "swapped_detail",
                        sw ? json_string(r->conversation.swapped_detail) : json_null());
    if (x->bleed_from >= 0) {
        json_t *b = json_object();
        json_object_set_new(b, "from", json_string(leg_name(x->bleed_from)));
        json_object_set_new(b, "into", json_string(leg_name(!x->bleed_from)));
        json_object_set_new(b, "lag_ms", num(x->bleed_lag_ms, 1));
        json_object_set_new(b, "level_db", num(x->bleed_db, 2));
        json_object_set_new(b, "correlation", num(x->bleed_corr, 4));
        json_object_set_new(o, "bleed", b);
    } else {
        json_object_set_new(o, "bleed", json_null());
    }
    return o;
}

static json_t *leg_json(const cq_report *r, const cq_leg_report *l)
{
    json_t *o = json_object();
    const cq_level_result *lv = &l->level;
    bool lev = l->has_level;
    /* the old service's fields first, in its order */
    json_object_set_new(o, "rms_db", num_or_null(lev && lv->has_rms, lv->rms_db, 3));
    json_object_set_new(o, "peak_db", num_or_null(lev && lv->has_peak, lv->peak_db, 3));
    json_object_set_new(o, "speech_pct", l->has_vad ? num(l->speech_pct, 3) : json_null());
    if (l->has_silence) {
        const cq_silence_result *s = &l->silence;
        json_t *sum = json_object();
        json_object_set_new(sum, "count", json_integer((json_int_t)s->count));
        json_object_set_new(sum, "total_sec", num(s->total_sec, 6));
        json_object_set_new(sum, "ratio_pct", num(s->ratio_pct, 3));
        json_object_set_new(sum, "longest_ms", num(s->longest_ms, 3));
        json_object_set_new(o, "silence", sum);
    } else {
        json_object_set_new(o, "silence", json_null());
    }
    if (l->has_vad) {
        json_t *segs = json_array();
        const double rate = l->vad_rate_hz;
        for (size_t i = 0; i < l->n_speech; i++) {
            json_t *so = json_object();
            json_object_set_new(so, "start", num((double)l->speech[i].start / rate, 6));
            json_object_set_new(so, "end", num((double)l->speech[i].end / rate, 6));
            json_array_append_new(segs, so);
        }
        json_object_set_new(o, "speech_segments", segs);
    } else {
        json_object_set_new(o, "speech_segments", json_null());
    }
    /* ours */
    json_object_set_new(o, "duration", num(l->duration_sec, 6));
    json_object_set_new(o, "source", json_string(l->source));
    json_object_set_new(o, "channel", json_integer(l->channel));
    json_object_set_new(o, "sample_rate", json_integer(l->format.sample_rate_hz));
    json_object_set_new(o, "samples", json_integer((json_int_t)l->frames));
    json_object_set_new(o, "max_amplitude", num_or_null(lev, lv->max_amplitude, 6));
    json_object_set_new(o, "min_amplitude", num_or_null(lev, lv->min_amplitude, 6));
    json_object_set_new(o, "dc_offset", num_or_null(lev, lv->dc_offset, 7));
    json_object_set_new(o, "crest_factor_db", num_or_null(lev && lv->has_crest, lv->crest_db, 3));
    json_object_set_new(o, "clipped_samples",
                        lev ? json_integer((json_int_t)lv->clipped_samples) : json_null());
    json_object_set_new(o, "clipped_runs",
                        lev ? json_integer((json_int_t)lv->clipped_runs) : json_null());
    json_object_set_new(o, "active_level_db",
                        num_or_null(lev && lv->has_active_level, lv->active_level_db, 3));
    json_object_set_new(o, "activity_pct",
                        num_or_null(lev && lv->has_active_level, lv->activity_pct, 3));
    json_object_set_new(o, "vad", l->has_vad ? vad_json(r) : json_null());
    json_object_set_new(o, "nisqa", leg_nisqa_json(r, l));
    json_object_set_new(o, "nisqa_note", l->nisqa_note ? json_string(l->nisqa_note) : json_null());
    json_object_set_new(o, "quality", leg_quality_json(l));
    json_object_set_new(o, "timeline", leg_timeline_json(l));
    if (l->has_silence) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->silence.count; i++) {
            const cq_silence_span *s = &l->silence.spans[i];
            json_t *so = json_object();
            json_object_set_new(so, "start", num(s->start_sec, 6));
            json_object_set_new(so, "end", num(s->end_sec, 6));
            json_object_set_new(so, "duration", num(s->duration_sec, 6));
            json_array_append_new(arr, so);
        }
        json_object_set_new(o, "silences", arr);
    } else {
        json_object_set_new(o, "silences", json_null());
    }
    return o;
}

static json_t *report_json(const cq_report *r)
{
    json_t *o = json_object();
    const cq_audio_info *f = &r->inbound->format;
    json_object_set_new(o, "file", json_string(r->file));
    json_object_set_new(o, "duration", num(r->duration_sec, 6));
    json_object_set_new(o, "has_legs", json_boolean(r->has_legs));
    json_object_set_new(o, "inbound", leg_json(r, r->inbound));
    json_object_set_new(o, "outbound", r->outbound ? leg_json(r, r->outbound) : json_null());
    one_way_into(o, r);
    /* the old service's nisqa{}: the mean of the legs' scores, and each leg's MOS */
    const cq_leg_report *in = r->inbound, *out = r->outbound;
    int n_legs = (in->has_nisqa ? 1 : 0) + (out && out->has_nisqa ? 1 : 0);
    if (n_legs) {
        cq_nisqa_scores avg = {0};
        const cq_leg_report *legs[2] = {in, out};
        for (int i = 0; i < 2; i++) {
            if (!legs[i] || !legs[i]->has_nisqa)
                continue;
            avg.mos += legs[i]->nisqa.mos / n_legs;
            avg.noisiness += legs[i]->nisqa.noisiness / n_legs;
            avg.discontinuity += legs[i]->nisqa.discontinuity / n_legs;
            avg.coloration += legs[i]->nisqa.coloration / n_legs;
            avg.loudness += legs[i]->nisqa.loudness / n_legs;
        }
        json_t *nq = json_object();
        scores_into(nq, &avg);
        json_object_set_new(nq, "mos_in", in->has_nisqa ? num(in->nisqa.mos, 4) : json_null());
        json_object_set_new(nq, "mos_out",
                            out && out->has_nisqa ? num(out->nisqa.mos, 4) : json_null());
        json_object_set_new(o, "nisqa", nq);
    } else {
        json_object_set_new(o, "nisqa", json_null());
    }
    json_object_set_new(o, "analysis_time_sec", num(r->analysis_time_sec, 6));

    json_t *fmt = json_object();
    json_object_set_new(fmt, "layout", json_string(r->layout));
    json_object_set_new(fmt, "container", json_string(f->container));
    json_object_set_new(fmt, "encoding", json_string(f->encoding_name));
    json_object_set_new(fmt, "sample_rate", json_integer(f->sample_rate_hz));
    json_object_set_new(fmt, "channels", json_integer(f->channels));
    json_object_set_new(fmt, "bits_per_sample",
                        f->bits_per_sample ? json_integer(f->bits_per_sample) : json_null());
    json_object_set_new(fmt, "channel_map",
                        !strcmp(r->layout, "stereo")
                            ? json_string(r->channel_map == CQ_MAP_IN_OUT ? "in,out" : "out,in")
                            : json_null());
    json_object_set_new(fmt, "fake_stereo", json_boolean(r->fake_stereo));
    json_object_set_new(o, "format", fmt);

    json_t *w = json_array();
    for (size_t i = 0; i < r->n_warnings; i++)
        json_array_append_new(w, json_string(r->warnings[i]));
    json_object_set_new(o, "warnings", w);
    events_into(o, r);
    json_object_set_new(o, "conversation", conversation_json(r));
    json_object_set_new(o, "leg_checks", leg_checks_json(r));

    json_t *eng = json_object();
    json_object_set_new(eng, "version", json_string(cq_version()));
    json_t *an = json_array();
    for (size_t i = 0; i < N_ANALYZERS; i++)
        if (r->analyzers & k_analyzers[i].bit)
            json_array_append_new(an, json_string(k_analyzers[i].name));
    json_object_set_new(eng, "analyzers", an);
    json_t *sd = json_object();
    json_object_set_new(sd, "noise_db", num(r->silence_noise_db, 3));
    json_object_set_new(sd, "duration_sec", num(r->silence_min_duration_sec, 6));
    json_object_set_new(eng, "silencedetect", sd);
    if (r->analyzers & CQ_AN_VAD) {
        json_t *v = vad_json(r);
        json_object_set_new(v, "version", r->vad_engine == CQ_VAD_SILERO
                                              ? json_string(r->vad_version)
                                              : json_null());
        json_object_set_new(v, "status", r->vad_status ? json_string(r->vad_status)
                                                       : json_string("Silero VAD loaded"));
        json_object_set_new(v, "rate", json_integer(8000));
        const cq_speech_params *sp = &r->speech_params;
        json_t *pp = json_object();
        json_object_set_new(pp, "threshold", num(sp->threshold, 6));
        json_object_set_new(pp, "neg_threshold",
                            num(sp->neg_threshold >= 0 ? sp->neg_threshold
                                                       : fmax(sp->threshold - 0.15, 0.01),
                                6));
        json_object_set_new(pp, "min_speech_ms", json_integer(sp->min_speech_ms));
        json_object_set_new(pp, "min_silence_ms", json_integer(sp->min_silence_ms));
        json_object_set_new(pp, "speech_pad_ms", json_integer(sp->speech_pad_ms));
        json_object_set_new(pp, "max_speech_sec",
                            isinf(sp->max_speech_sec) ? json_null() : num(sp->max_speech_sec, 3));
        json_object_set_new(v, "params", pp);
        json_object_set_new(eng, "vad", v);
    } else {
        json_object_set_new(eng, "vad", json_null());
    }
    if (!(r->analyzers & CQ_AN_NISQA)) {
        json_object_set_new(eng, "nisqa_status", json_string("not selected (--only)"));
        json_object_set_new(eng, "nisqa", json_null());
    } else if (!r->nisqa_loaded) {
        json_object_set_new(eng, "nisqa_status", json_string(r->nisqa_status));
        json_object_set_new(eng, "nisqa", json_null());
    } else {
        json_object_set_new(eng, "nisqa_status", json_string("NISQA v2 loaded"));
        json_t *n = json_object();
        json_object_set_new(n, "model", json_string("nisqa.tar (NISQA v2, NISQA_DIM)"));
        json_object_set_new(n, "model_sha256", json_string(r->nisqa_sha256));
        json_object_set_new(n, "licence", json_string("weights CC BY-NC-SA 4.0 (non-commercial); "
                                                      "code MIT; Gabriel Mittag et al."));
        json_object_set_new(n, "mode", json_string(r->nisqa_mode == CQ_NISQA_FILE ? "file"
                                                                                   : "windowed"));
        json_object_set_new(n, "window_sec", r->nisqa_mode == CQ_NISQA_FILE
                                                 ? json_null()
                                                 : num(r->nisqa_window_sec, 3));
        json_object_set_new(eng, "nisqa", n);
    }
    json_object_set_new(o, "engine", eng);
    return o;
}

char *cq_report_to_json(const cq_report *r)
{
    json_t *o = report_json(r);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!s)
        return NULL;
    char *copy = cq__strdup(s); /* hand out memory of our own funnel */
    free(s);
    return copy;
}

void cq_report_free_string(char *s)
{
    cq__free(s);
}

/* ---- text ---------------------------------------------------------------------------------- */

static void fmt_db(char *buf, size_t n, bool has, double v, const char *unit)
{
    if (has)
        snprintf(buf, n, "%.1f %s", v, unit);
    else
        snprintf(buf, n, "-");
}

static void row(cq__sb *b, const char *label, const char *in, const char *out)
{
    if (out)
        cq__sb_printf(b, "  %-26s %-22s %s\n", label, in, out);
    else
        cq__sb_printf(b, "  %-26s %s\n", label, in);
}

static void text_legs(cq__sb *b, const cq_report *r)
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    int n = r->outbound ? 2 : 1;
    char c[2][64];
    if (n == 2)
        row(b, "", "inbound (caller)", "outbound (agent)");
    else
        row(b, "", "mixed (both parties)", NULL);
#define ROW(label, expr)                                                                          \
    do {                                                                                          \
        for (int i = 0; i < n; i++) {                                                             \
            const cq_leg_report *l = L[i];                                                        \
            const cq_level_result *lv = &l->level;                                                \
            (void)lv;                                                                             \
            expr;                                                                                 \
        }                                                                                         \
        row(b, label, c[0], n == 2 ? c[1] : NULL);                                                \
    } while (0)

    ROW("duration", snprintf(c[i], 64, "%.2f s", l->duration_sec));
    if (r->analyzers & CQ_AN_LEVELS) {
        ROW("RMS level", fmt_db(c[i], 64, lv->has_rms, lv->rms_db, "dBFS"));
        ROW("peak (sample)", fmt_db(c[i], 64, lv->has_peak, lv->peak_db, "dBFS"));
        ROW("active speech level (P.56)",
            if (lv->has_active_level) snprintf(c[i], 64, "%.1f dBFS, %.0f%% active",
                                               lv->active_level_db, lv->activity_pct);
            else snprintf(c[i], 64, "-"));
        ROW("crest factor", fmt_db(c[i], 64, lv->has_crest, lv->crest_db, "dB"));
        ROW("DC offset", snprintf(c[i], 64, "%.5f", lv->dc_offset));
        ROW("clipped samples",
            snprintf(c[i], 64, "%llu in %llu runs", (unsigned long long)lv->clipped_samples,
                     (unsigned long long)lv->clipped_runs));
    }
    if (r->analyzers & CQ_AN_VAD) {
        ROW("speech (VAD)", snprintf(c[i], 64, "%.1f%%, %zu segments", l->speech_pct,
                                     l->n_speech));
    }
    if (r->analyzers & CQ_AN_NISQA && r->nisqa_loaded) {
        ROW("MOS (NISQA)", if (l->has_nisqa) snprintf(c[i], 64, "%.2f", l->nisqa.mos);
            else snprintf(c[i], 64, "-"));
        ROW("noisiness / discont.", if (l->has_nisqa) snprintf(c[i], 64, "%.2f / %.2f",
                                                               l->nisqa.noisiness,
                                                               l->nisqa.discontinuity);
            else snprintf(c[i], 64, "-"));
        ROW("coloration / loudness", if (l->has_nisqa) snprintf(c[i], 64, "%.2f / %.2f",
                                                                l->nisqa.coloration,
                                                                l->nisqa.loudness);
            else snprintf(c[i], 64, "-"));
    }
    if (r->analyzers & CQ_AN_QUALITY) {
        ROW("noise floor / SNR",
            if (l->quality.has_noise_floor && l->quality.has_snr)
                snprintf(c[i], 64, "%.1f dBFS / %.1f dB", l->quality.noise_floor_db,
                         l->quality.snr_db);
            else snprintf(c[i], 64, "-"));
        ROW("bandwidth", if (l->quality.has_bandwidth) snprintf(c[i], 64, "%.0f Hz",
                                                                l->quality.bandwidth_hz);
            else snprintf(c[i], 64, "-"));
        ROW("dropouts", snprintf(c[i], 64, "%zu (%.0f ms)", l->quality.dropouts,
                                 l->quality.dropout_ms));
    }
    if (r->analyzers & CQ_AN_SILENCE) {
        ROW("silences", snprintf(c[i], 64, "%zu, %.1f s (%.0f%%)", l->silence.count,
                                 l->silence.total_sec, l->silence.ratio_pct));
        ROW("longest silence", snprintf(c[i], 64, "%.2f s", l->silence.longest_ms / 1000.0));
    }
#undef ROW
    if (r->analyzers & CQ_AN_SILENCE) {
        for (int i = 0; i < n; i++) {
            const cq_silence_result *s = &L[i]->silence;
            if (!s->count)
                continue;
            cq__sb_printf(b, "\n  silences on %s (start-end, seconds):\n",
                          n == 2 ? (i == 0 ? "inbound" : "outbound") : "the mix");
            const size_t show = 12;
            for (size_t k = 0; k < s->count && k < show; k++)
                cq__sb_printf(b, "    %9.2f - %9.2f  (%.2f s)\n", s->spans[k].start_sec,
                              s->spans[k].end_sec, s->spans[k].duration_sec);
            if (s->count > show)
                cq__sb_printf(b, "    ... %zu more (see --json)\n", s->count - show);
        }
    }
}

char *cq_report_to_text(const cq_report *r)
{
    cq__sb b = {0};
    const cq_audio_info *f = &r->inbound->format;
    cq__sb_printf(&b, "%s\n", r->file);
    cq__sb_printf(&b, "  %s %s, %d Hz, %s, %.2f s\n", f->container, f->encoding_name,
                  f->sample_rate_hz,
                  !strcmp(r->layout, "stereo")      ? "stereo (two legs)"
                  : !strcmp(r->layout, "leg_files") ? "separate leg files"
                                                    : "mono (mixed)",
                  r->duration_sec);
    if (!strcmp(r->layout, "stereo"))
        cq__sb_printf(&b, "  channel 1 = %s, channel 2 = %s\n",
                      r->channel_map == CQ_MAP_IN_OUT ? "inbound" : "outbound",
                      r->channel_map == CQ_MAP_IN_OUT ? "outbound" : "inbound");
    cq__sb_printf(&b, "\n");
    text_legs(&b, r);
    if (r->n_warnings) {
        cq__sb_printf(&b, "\n  warnings:\n");
        for (size_t i = 0; i < r->n_warnings; i++)
            cq__sb_printf(&b, "    - %s\n", r->warnings[i]);
    }
    if (r->analyzers & CQ_AN_VAD) {
        if (r->vad_engine == CQ_VAD_SILERO)
            cq__sb_printf(&b, "\n  speech activity: Silero VAD %s (sha256 %.12s...)\n",
                          r->vad_version, r->vad_sha256);
        else
            cq__sb_printf(&b, "\n  speech activity: DSP fallback (%s)\n", r->vad_status);
    }
    if (r->analyzers & CQ_AN_NISQA) {
        if (r->nisqa_loaded)
            cq__sb_printf(&b, "  speech quality: NISQA v2, %s mode (weights CC BY-NC-SA 4.0)\n",
                          r->nisqa_mode == CQ_NISQA_FILE ? "file" : "windowed");
        else
            cq__sb_printf(&b, "  speech quality: %s\n", r->nisqa_status);
    }
    if (r->inbound->has_events) {
        const cq_leg_report *L[2] = {r->inbound, r->outbound};
        size_t n = 0;
        for (int i = 0; i < 2; i++)
            n += L[i] ? L[i]->n_events : 0;
        cq__sb_printf(&b, "\n  call events: %s\n", n ? "" : "none (no tones, DTMF, hold music)");
        for (int i = 0; i < 2; i++)
            for (size_t k = 0; L[i] && k < L[i]->n_events; k++) {
                const cq_call_event *e = &L[i]->events[k];
                cq__sb_printf(&b, "    %9.2f - %9.2f  %-8s %-8s", e->start_sec, e->end_sec,
                              cq_event_type_name(e->type),
                              !r->outbound ? "mix" : i == 0 ? "inbound" : "outbound");
                if (e->type == CQ_EV_DTMF)
                    cq__sb_printf(&b, " digits %s", e->digits);
                if (e->signal)
                    cq__sb_printf(&b, " %s", e->signal);
                if (e->region)
                    cq__sb_printf(&b, " (%s)", e->region);
                cq__sb_printf(&b, "\n");
            }
    }
    if (r->has_conversation) {
        const cq_conversation *c = &r->conversation;
        cq__sb_printf(&b, "\n  conversation:\n");
        cq__sb_printf(&b, "    one-way audio: %s (%s%s%s)\n",
                      c->one_way < 0 ? "cannot be judged" : c->one_way ? "YES" : "no",
                      c->one_way_rule, c->one_way_detail[0] ? ": " : "", c->one_way_detail);
        for (int l = 0; l < (r->outbound ? 2 : 1); l++)
            cq__sb_printf(&b, "    %-9s talk %.1f s (%.0f%%), %zu turns, longest %.1f s, "
                          "%zu interruptions\n",
                          r->outbound ? (l ? "outbound" : "inbound") : "mix",
                          c->leg[l].talk_sec, c->leg[l].talk_pct, c->leg[l].turns,
                          c->leg[l].longest_monologue_sec, c->leg[l].interruptions);
        if (r->outbound)
            cq__sb_printf(&b, "    overtalk  %.1f s in %zu spans\n", c->overtalk_sec,
                          c->n_overtalk);
        cq__sb_printf(&b, "    dead air  %.1f s in %zu spans", c->dead_air_sec, c->n_dead_air);
        for (size_t i = 0; i < c->n_dead_air && i < 4; i++)
            cq__sb_printf(&b, "%s%.1f-%.1f", i ? ", " : ": ", c->dead_air[i].start_sec,
                          c->dead_air[i].end_sec);
        cq__sb_printf(&b, "\n");
        if (c->n_latencies)
            cq__sb_printf(&b, "    response latency: mean %.2f s, p90 %.2f s over %zu turn "
                          "changes\n", c->latency_mean_sec, c->latency_p90_sec, c->n_latencies);
    }
    cq__sb_printf(&b, "  analysed in %.3f s (callqa %s)\n", r->analysis_time_sec, cq_version());
    char *s = cq__sb_take(&b);
    return s;
}
