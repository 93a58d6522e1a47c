/*
 * vad.c - the `vad` stage: speech activity of each leg on the shared 8 kHz stream, with Silero
 * VAD (or its DSP fallback when the model is missing), then Silero's speech timestamps.
 *
 * Chunks are gathered and run in batches; each batch's probabilities are appended to the leg
 * report at once (l->vad_probs), where the stages after this one (events) read them while the
 * audio still streams in. At the end of the leg the last chunk is zero-padded and the speech
 * segments are made from all the probabilities.
 */
#include <math.h>
#include <string.h>

#include "stage.h"

#define BATCH_CHUNKS 32

typedef struct vad_state {
    cq_vad *vad;
    float *pend; /* samples waiting for whole chunks */
    size_t npend, pend_cap;
    size_t probs_cap; /* of the leg report's vad_probs */
    uint64_t samples; /* at the VAD rate */
} vad_state;

static const cq__stage_model vad_model = {
    .kind = CQ__MODEL_VAD,
    .name = "Silero VAD",
    .no_dir = "no model directory given: speech activity from the DSP fallback, not Silero",
    .without = "speech activity from the DSP fallback",
    .install = "; scripts/fetch-models installs it",
    .log = true,
};

/* Load the Silero model the parameters name, or say why the DSP fallback will run. */
static int vad_load(cq_engine *e)
{
    char *file = cq__printf("silero_vad/%s/silero_vad.onnx", e->vad_model_name);
    if (!file)
        return CQ_ERR_NOMEM;
    int rc = cq__stage_model_load(e, &vad_model, file);
    cq__free(file);
    return rc;
}

static void vad_destroy(void *st)
{
    vad_state *v = st;
    if (!v)
        return;
    cq_vad_destroy(v->vad);
    cq__free(v->pend);
    cq__free(v);
}

static int vad_create(void **st, const cq__stage_ctx *c)
{
    vad_state *v = cq__calloc(1, sizeof(*v));
    if (!v)
        return CQ_ERR_NOMEM;
    *st = v;
    int err = CQ_OK;
    if (!(v->vad = cq_vad_create(c->engine->vad, CQ__VAD_RATE, &err)))
        return err;
    v->pend_cap = cq_vad_chunk_samples(v->vad) * BATCH_CHUNKS;
    return (v->pend = cq__malloc(v->pend_cap * sizeof(float))) ? CQ_OK : CQ_ERR_NOMEM;
}

/* Run the whole chunks pending (all of them when `all`, the last padded with zeros) and append
 * their probabilities to the leg report. */
static int run_pending(vad_state *v, cq_leg_report *l, bool all)
{
    size_t chunk = cq_vad_chunk_samples(v->vad);
    size_t whole = v->npend / chunk;
    if (all && v->npend % chunk) {
        memset(v->pend + v->npend, 0, (chunk - v->npend % chunk) * sizeof(float));
        whole++;
    }
    if (!whole)
        return CQ_OK;
    if (cq__grow((void **)&l->vad_probs, &v->probs_cap, l->n_vad_probs + whole, sizeof(float)) !=
        CQ_OK)
        return CQ_ERR_NOMEM;
    int rc = cq_vad_process(v->vad, v->pend, whole, l->vad_probs + l->n_vad_probs);
    if (rc != CQ_OK)
        return rc;
    l->n_vad_probs += whole;
    size_t used = whole * chunk;
    if (used < v->npend)
        memmove(v->pend, v->pend + used, (v->npend - used) * sizeof(float));
    v->npend = used < v->npend ? v->npend - used : 0;
    return CQ_OK;
}

static int vad_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    vad_state *v = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    l->vad_chunk = cq_vad_chunk_samples(v->vad);
    v->samples += n;
    while (n) {
        size_t k = v->pend_cap - v->npend < n ? v->pend_cap - v->npend : n;
        memcpy(v->pend + v->npend, x, k * sizeof(float));
        v->npend += k, x += k, n -= k;
        if (v->npend == v->pend_cap) {
            int rc = run_pending(v, l, false);
            if (rc != CQ_OK)
                return rc;
        }
    }
    return CQ_OK;
}

static int vad_finish(void *st, int leg, cq_report *r)
{
    vad_state *v = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    int rc = run_pending(v, l, true);
    if (rc != CQ_OK)
        return rc;
    size_t chunk = cq_vad_chunk_samples(v->vad);
    rc = cq_speech_timestamps(l->vad_probs, l->n_vad_probs, chunk, CQ__VAD_RATE, v->samples,
                              &r->speech_params, &l->speech, &l->n_speech);
    if (rc != CQ_OK)
        return rc;
    uint64_t speech = 0;
    for (size_t i = 0; i < l->n_speech; i++)
        speech += l->speech[i].end - l->speech[i].start;
    l->has_vad = true;
    l->vad_engine = cq_vad_get_engine(v->vad);
    l->vad_rate_hz = CQ__VAD_RATE;
    l->vad_samples = v->samples;
    l->vad_chunk = chunk;
    l->speech_pct = v->samples ? 100.0 * (double)speech / (double)v->samples : 0.0;
    return CQ_OK;
}

static void vad_free_leg(cq_leg_report *l)
{
    cq_speech_free(l->speech);
    cq__free(l->vad_probs);
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

static void vad_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)leg;
    if (!l->has_vad) {
        json_object_set_new(o, "speech_pct", json_null());
        json_object_set_new(o, "speech_segments", json_null());
        json_object_set_new(o, "vad", json_null());
        return;
    }
    json_object_set_new(o, "speech_pct", cq__jnum(l->speech_pct, 3));
    json_t *segs = json_array();
    const double rate = l->vad_rate_hz;
    for (size_t i = 0; i < l->n_speech; i++) {
        json_t *so = json_object();
        json_object_set_new(so, "start", cq__jnum((double)l->speech[i].start / rate, 6));
        json_object_set_new(so, "end", cq__jnum((double)l->speech[i].end / rate, 6));
        json_array_append_new(segs, so);
    }
    json_object_set_new(o, "speech_segments", segs);
    json_object_set_new(o, "vad", vad_json(r));
}

static void vad_json_engine(const cq_report *r, json_t *eng)
{
    if (!(r->analyzers & CQ_AN_VAD)) {
        json_object_set_new(eng, "vad", json_null());
        return;
    }
    json_t *v = vad_json(r);
    json_object_set_new(v, "version",
                        r->vad_engine == CQ_VAD_SILERO ? json_string(r->vad_version) : json_null());
    json_object_set_new(
        v, "status", r->vad_status ? json_string(r->vad_status) : json_string("Silero VAD loaded"));
    json_object_set_new(v, "rate", json_integer(CQ__VAD_RATE));
    const cq_speech_params *sp = &r->speech_params;
    json_t *pp = json_object();
    json_object_set_new(pp, "threshold", cq__jnum(sp->threshold, 6));
    json_object_set_new(pp, "neg_threshold", cq__jnum(cq__speech_neg(sp), 6));
    json_object_set_new(pp, "min_speech_ms", json_integer(sp->min_speech_ms));
    json_object_set_new(pp, "min_silence_ms", json_integer(sp->min_silence_ms));
    json_object_set_new(pp, "speech_pad_ms", json_integer(sp->speech_pad_ms));
    json_object_set_new(pp, "max_speech_sec",
                        isinf(sp->max_speech_sec) ? json_null() : cq__jnum(sp->max_speech_sec, 3));
    json_object_set_new(v, "params", pp);
    json_object_set_new(eng, "vad", v);
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    snprintf(c[0], CQ__TEXT_CELL, "%.1f%%, %zu segments", l->speech_pct, l->n_speech);
}

static void vad_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"speech (VAD)", NULL};
    cq__text_leg_rows(r, t, CQ_AN_VAD, rows, leg_cells);
}

static void vad_text_section(const cq_report *r, cq__sb *b)
{
    if (!cq__stage_model_text(r, &vad_model, b, "\n  speech activity: DSP fallback (%s)\n"))
        cq__sb_printf(b, "\n  speech activity: Silero VAD %s (sha256 %.12s...)\n", r->vad_version,
                      r->vad_sha256);
}

const cq__stage cq__stage_vad = {
    .name = "vad",
    .bit = CQ_AN_VAD,
    .stream = CQ__STREAM_8K,
    .model = &vad_model,
    .load = vad_load,
    .create = vad_create,
    .push = vad_push,
    .finish = vad_finish,
    .destroy = vad_destroy,
    .free_leg = vad_free_leg,
    .json_leg = vad_json_leg,
    .json_engine = vad_json_engine,
    .text_rows = vad_text_rows,
    .text_section = vad_text_section,
};
