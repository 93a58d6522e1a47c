/*
 * envelope.c - the `envelope` stage, run on request (cq_engine_params.envelope_ms): the RMS
 * level of each leg every envelope_ms, at the leg's own rate, for a timeline to draw.
 *
 * DESIGN
 * Step k of a leg covers its samples [floor(k R / 1000), floor((k + 1) R / 1000)), R = rate x
 * envelope_ms: the steps tile the leg exactly at any rate (11025 Hz and 50 ms included), and
 * there are ceil(duration / step) of them, the last one possibly shorter. A block adds its
 * squares to the open step and closes the steps it reaches the end of; each closed step is kept
 * as one int16, its level in tenths of a dB FS (20 log10 RMS, as the levels stage's rms_db),
 * floored at CQ_ENVELOPE_FLOOR_DB. Memory: two bytes per step, 40 bytes a second per leg at
 * 50 ms, whatever the rate. The leg report owns the values once the leg finished
 * (stage_data[slot]); the JSON has them per leg as {step_sec, dbfs: [..]} with 0.1 dB
 * precision, and nothing at all when the stage did not run, so that reports made without it
 * keep their shape.
 */
#include <math.h>
#include <stdint.h>

#include "stage.h"

extern const cq__stage cq__stage_envelope;

typedef struct cq__envelope {
    /* the product */
    double step_sec;
    int16_t *v; /* tenths of a dB FS, one per step */
    size_t n, cap;
    /* while streaming */
    uint64_t r;     /* rate x envelope_ms: step k starts at sample k r / 1000 */
    uint64_t k;     /* the open step */
    uint64_t pos;   /* samples seen */
    uint64_t end;   /* where the open step ends */
    double acc;     /* its sum of squares */
    uint64_t n_acc; /* and its samples */
    bool in_report; /* moved into its leg report, which frees it */
} cq__envelope;

static void product_free(cq__envelope *e)
{
    if (!e)
        return;
    cq__free(e->v);
    cq__free(e);
}

static int envelope_create(void **st, const cq__stage_ctx *c)
{
    cq__envelope *e = cq__calloc(1, sizeof(*e));
    if (!e)
        return CQ_ERR_NOMEM;
    *st = e;
    const int ms = c->engine->p.envelope_ms;
    e->r = (uint64_t)c->rate_hz * (uint64_t)ms;
    if (ms <= 0 || e->r < 1000) /* a step shorter than one sample */
        return CQ_ERR_INVALID;
    e->step_sec = ms / 1000.0;
    e->end = e->r / 1000;
    return CQ_OK;
}

/* The open step closes: its level joins the values. */
static int close_step(cq__envelope *e)
{
    if (cq__grow((void **)&e->v, &e->cap, e->n + 1, sizeof(int16_t)) != CQ_OK)
        return CQ_ERR_NOMEM;
    double ms = e->n_acc ? e->acc / (double)e->n_acc : 0;
    double db = ms > 0 ? 10.0 * log10(ms) : CQ_ENVELOPE_FLOOR_DB;
    if (!(db > CQ_ENVELOPE_FLOOR_DB))
        db = CQ_ENVELOPE_FLOOR_DB;
    if (db > 3276.0) /* a float file far over full scale */
        db = 3276.0;
    e->v[e->n++] = (int16_t)lround(db * 10.0);
    e->acc = 0;
    e->n_acc = 0;
    e->k++;
    e->end = (e->k + 1) * e->r / 1000;
    return CQ_OK;
}

static int envelope_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    cq__envelope *e = st;
    while (n) {
        uint64_t left = e->end - e->pos;
        size_t m = left < n ? (size_t)left : n;
        double acc = 0;
        for (size_t i = 0; i < m; i++)
            acc += (double)x[i] * (double)x[i];
        e->acc += acc;
        e->n_acc += m;
        e->pos += m;
        x += m, n -= m;
        if (e->pos == e->end) {
            int rc = close_step(e);
            if (rc != CQ_OK)
                return rc;
        }
    }
    return CQ_OK;
}

static int envelope_finish(void *st, int leg, cq_report *r)
{
    cq__envelope *e = st;
    if (e->n_acc) { /* the last, shorter step */
        int rc = close_step(e);
        if (rc != CQ_OK)
            return rc;
    }
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    l->stage_data[cq__stage_slot(&cq__stage_envelope)] = e;
    e->in_report = true;
    return CQ_OK;
}

/* A state that never reached its leg report (the call failed) is freed here; once there, the
 * report frees it. */
static void envelope_destroy(void *st)
{
    cq__envelope *e = st;
    if (e && !e->in_report)
        product_free(e);
}

static void envelope_free_leg(cq_leg_report *l)
{
    size_t slot = cq__stage_slot(&cq__stage_envelope);
    product_free(l->stage_data[slot]);
    l->stage_data[slot] = NULL;
}

const int16_t *cq_leg_envelope(const cq_leg_report *l, double *step_sec, size_t *n)
{
    const cq__envelope *e = l->stage_data[cq__stage_slot(&cq__stage_envelope)];
    *step_sec = e ? e->step_sec : 0;
    *n = e ? e->n : 0;
    return e ? e->v : NULL;
}

/* {"step_sec": 0.05, "dbfs": [-23.4, ...]}; no field at all when the stage did not run */
static void envelope_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    const cq__envelope *e = l->stage_data[cq__stage_slot(&cq__stage_envelope)];
    if (!e)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < e->n; i++)
        json_array_append_new(a, cq__jnum(e->v[i] / 10.0, 1));
    json_t *env = json_object();
    json_object_set_new(env, "step_sec", cq__jnum(e->step_sec, 3));
    json_object_set_new(env, "dbfs", a);
    json_object_set_new(o, "envelope", env);
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq__envelope *e = l->stage_data[cq__stage_slot(&cq__stage_envelope)];
    if (e)
        snprintf(c[0], CQ__TEXT_CELL, "%zu steps of %.0f ms", e->n, e->step_sec * 1000.0);
    else
        snprintf(c[0], CQ__TEXT_CELL, "-");
}

static void envelope_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"level envelope", NULL};
    cq__text_leg_rows(r, t, CQ_AN_ENVELOPE, rows, leg_cells);
}

const cq__stage cq__stage_envelope = {
    .name = "envelope",
    .bit = CQ_AN_ENVELOPE,
    .on_request = true,
    .stream = CQ__STREAM_NATIVE,
    .create = envelope_create,
    .push = envelope_push,
    .finish = envelope_finish,
    .destroy = envelope_destroy,
    .free_leg = envelope_free_leg,
    .json_leg = envelope_json_leg,
    .text_rows = envelope_text_rows,
};
