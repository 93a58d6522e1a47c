/*
 * vad_run.c - per-leg speech activity inside the engine (see vad_run.h).
 */
#include <string.h>

#include "../base/base_int.h"
#include "vad_run.h"

#define BATCH_CHUNKS 32

int cq__vad_run_init(cq__vad_run *r, const cq_vad_model *m, int in_rate, size_t max_block)
{
    memset(r, 0, sizeof(*r));
    int err = CQ_OK;
    r->vad = cq_vad_create(m, CQ__VAD_RATE, &err);
    if (!r->vad)
        return err;
    size_t chunk = cq_vad_chunk_samples(r->vad);
    r->pend_cap = chunk * BATCH_CHUNKS;
    r->pend = cq__malloc(r->pend_cap * sizeof(float));
    if (!r->pend)
        return CQ_ERR_NOMEM;
    if (in_rate != CQ__VAD_RATE) {
        r->rs = cq_resample_create(in_rate, CQ__VAD_RATE, &err);
        if (!r->rs)
            return err;
        r->rs_cap = (size_t)((double)max_block * CQ__VAD_RATE / in_rate) + 1024;
        r->rsbuf = cq__malloc(r->rs_cap * sizeof(float));
        if (!r->rsbuf)
            return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

/* Run the whole chunks in pend (all of them when `all`, padding the last with zeros). */
static int run_pending(cq__vad_run *r, int all)
{
    size_t chunk = cq_vad_chunk_samples(r->vad);
    size_t whole = r->npend / chunk;
    if (all && r->npend % chunk) {
        memset(r->pend + r->npend, 0, (chunk - r->npend % chunk) * sizeof(float));
        whole++;
    }
    if (!whole)
        return CQ_OK;
    if (cq__grow((void **)&r->probs, &r->cap, r->nprobs + whole, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    int rc = cq_vad_process(r->vad, r->pend, whole, r->probs + r->nprobs);
    if (rc == CQ_OK && r->cls)
        rc = cq_classifier_push_vad(r->cls, r->probs + r->nprobs, whole);
    if (rc != CQ_OK)
        return rc;
    r->nprobs += whole;
    size_t used = whole * chunk;
    if (used < r->npend)
        memmove(r->pend, r->pend + used, (r->npend - used) * sizeof(float));
    r->npend = used < r->npend ? r->npend - used : 0;
    return CQ_OK;
}

static int feed(cq__vad_run *r, const float *x, size_t n)
{
    r->samples += n;
    if (r->xleg) {
        int rc = cq_xleg_push(r->xleg, r->xleg_leg, x, n);
        if (rc != CQ_OK)
            return rc;
    }
    if (r->cls) {
        int rc = cq_classifier_push_audio(r->cls, x, n);
        if (rc != CQ_OK)
            return rc;
    }
    while (n) {
        size_t k = r->pend_cap - r->npend < n ? r->pend_cap - r->npend : n;
        memcpy(r->pend + r->npend, x, k * sizeof(float));
        r->npend += k, x += k, n -= k;
        if (r->npend == r->pend_cap) {
            int rc = run_pending(r, 0);
            if (rc != CQ_OK)
                return rc;
        }
    }
    return CQ_OK;
}

int cq__vad_run_push(cq__vad_run *r, const float *x, size_t n)
{
    if (!r->rs)
        return feed(r, x, n);
    long got = cq_resample_process(r->rs, x, n, r->rsbuf, r->rs_cap);
    if (got < 0)
        return (int)got;
    return feed(r, r->rsbuf, (size_t)got);
}

int cq__vad_run_finish(cq__vad_run *r, const cq_speech_params *sp, cq_leg_report *l)
{
    int rc = CQ_OK;
    if (r->rs) { /* drain the resampler's tail */
        long got;
        while (rc == CQ_OK && (got = cq_resample_process(r->rs, NULL, 0, r->rsbuf, r->rs_cap)) > 0)
            rc = feed(r, r->rsbuf, (size_t)got);
    }
    if (rc == CQ_OK)
        rc = run_pending(r, 1);
    if (rc != CQ_OK)
        return rc;
    size_t chunk = cq_vad_chunk_samples(r->vad);
    rc = cq_speech_timestamps(r->probs, r->nprobs, chunk, CQ__VAD_RATE, r->samples, sp,
                              &l->speech, &l->n_speech);
    if (rc != CQ_OK)
        return rc;
    uint64_t speech = 0;
    for (size_t i = 0; i < l->n_speech; i++)
        speech += l->speech[i].end - l->speech[i].start;
    l->has_vad = true;
    l->vad_engine = cq_vad_get_engine(r->vad);
    l->vad_rate_hz = CQ__VAD_RATE;
    l->vad_samples = r->samples;
    l->vad_chunk = chunk;
    l->speech_pct = r->samples ? 100.0 * (double)speech / (double)r->samples : 0.0;
    if (r->cls) { /* the events and the timeline, moved into the report */
        if ((rc = cq_classifier_finish(r->cls)) != CQ_OK)
            return rc;
        size_t ne, nt;
        const cq_call_event *ev = cq_classifier_events(r->cls, &ne);
        const cq_class_seg *tl = cq_classifier_timeline(r->cls, &nt);
        if ((ne && !(l->events = cq__malloc(ne * sizeof(*ev)))) ||
            (nt && !(l->timeline = cq__malloc(nt * sizeof(*tl)))))
            return CQ_ERR_NOMEM;
        if (ne)
            memcpy(l->events, ev, ne * sizeof(*ev));
        if (nt)
            memcpy(l->timeline, tl, nt * sizeof(*tl));
        l->n_events = ne, l->n_timeline = nt;
        l->has_events = true;
    }
    l->vad_probs = r->probs; /* moved into the report */
    l->n_vad_probs = r->nprobs;
    r->probs = NULL;
    r->nprobs = r->cap = 0;
    return CQ_OK;
}

void cq__vad_run_uninit(cq__vad_run *r)
{
    cq_vad_destroy(r->vad);
    cq_classifier_destroy(r->cls);
    cq_resample_destroy(r->rs);
    cq__free(r->rsbuf);
    cq__free(r->pend);
    cq__free(r->probs);
    memset(r, 0, sizeof(*r));
}
