/*
 * resample.c - streaming mono resampler over libsoxr (SOXR_HQ, linear phase, float in/out).
 */
#include <soxr.h>

#include "../base/base_int.h"
#include "callqa/cq_resample.h"

struct cq_resample {
    soxr_t s;
};

cq_resample *cq_resample_create(double in_rate_hz, double out_rate_hz, int *err)
{
    if (!(in_rate_hz > 0) || !(out_rate_hz > 0)) {
        if (err)
            *err = CQ_ERR_INVALID;
        return NULL;
    }
    cq_resample *r = cq__calloc(1, sizeof(*r));
    if (!r) {
        if (err)
            *err = CQ_ERR_NOMEM;
        return NULL;
    }
    soxr_error_t e = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, SOXR_LINEAR_PHASE);
    r->s = soxr_create(in_rate_hz, out_rate_hz, 1, &e, &io, &q, NULL);
    if (!r->s || e) {
        cq__log(CQ_LOG_ERROR, "soxr_create: %s", e ? e : "failed");
        cq_resample_destroy(r);
        if (err)
            *err = CQ_ERR_NOMEM;
        return NULL;
    }
    if (err)
        *err = CQ_OK;
    return r;
}

long cq_resample_process(cq_resample *r, const float *in, size_t n_in, float *out, size_t max_out)
{
    size_t odone_total = 0;
    if (!in || !n_in) { /* flush, then drain what the filter still holds */
        size_t odone = 0;
        soxr_error_t e = soxr_process(r->s, NULL, 0, NULL, out, max_out, &odone);
        if (e) {
            cq__log(CQ_LOG_ERROR, "soxr_process: %s", e);
            return CQ_ERR_INTERNAL;
        }
        return (long)odone;
    }
    size_t consumed = 0;
    while (consumed < n_in) {
        size_t idone = 0, odone = 0;
        soxr_error_t e = soxr_process(r->s, in + consumed, n_in - consumed, &idone,
                                      out + odone_total, max_out - odone_total, &odone);
        if (e) {
            cq__log(CQ_LOG_ERROR, "soxr_process: %s", e);
            return CQ_ERR_INTERNAL;
        }
        consumed += idone;
        odone_total += odone;
        if (idone == 0 && odone == 0)
            return CQ_ERR_INVALID; /* no room left in `out` for this block */
    }
    return (long)odone_total;
}

void cq_resample_destroy(cq_resample *r)
{
    if (!r)
        return;
    if (r->s)
        soxr_delete(r->s);
    cq__free(r);
}
