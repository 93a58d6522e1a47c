/*
 * silence.c - silence detection with FFmpeg `silencedetect` semantics (see cq_silence.h).
 *
 * FFmpeg counts consecutive samples with -noise < x < noise, announces silence_start once the
 * count reaches the duration in samples (av_rescale, i.e. rounded) and dates it back to the
 * first sample of the run; the first louder sample ends it. We keep the same integer sample
 * positions and turn them into seconds only at the end, so block boundaries cannot move them.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "kernels_int.h"
#include "callqa/cq_silence.h"

cq_silence_params cq_silence_default_params(void)
{
    cq_silence_params p = {
        .sample_rate_hz = 8000,
        .noise_db = -35.0,
        .min_duration_sec = 0.5,
        .scale = 32767.0f / 32768.0f,
    };
    return p;
}

int cq_silence_init(cq_silence *st, const cq_silence_params *p)
{
    memset(st, 0, sizeof(*st));
    if (p->sample_rate_hz <= 0 || !(p->noise_db < 0.0) || !(p->noise_db > -200.0) ||
        !(p->min_duration_sec > 0.0) || !(p->min_duration_sec < 86400.0) || !(p->scale > 0.0f))
        return CQ_ERR_INVALID;
    st->p = *p;
    st->thr = (float)(pow(10.0, p->noise_db / 20.0) * p->scale);
    /* av_rescale(duration_us, rate, 1e6): round half away from zero */
    st->need = (uint64_t)llround(p->min_duration_sec * p->sample_rate_hz);
    if (st->need == 0)
        st->need = 1;
    return CQ_OK;
}

static int add_span(cq_silence *st, uint64_t start, uint64_t end)
{
    if (cq__grow((void **)&st->spans, &st->cap, st->count + 1, sizeof(*st->spans)) != CQ_OK)
        return st->status = CQ_ERR_NOMEM;
    const double rate = st->p.sample_rate_hz;
    cq_silence_span *s = &st->spans[st->count++];
    s->start_sec = (double)start / rate;
    s->end_sec = (double)end / rate;
    s->duration_sec = (double)(end - start) / rate;
    return CQ_OK;
}

int cq_silence_push(cq_silence *st, const float *x, size_t n)
{
    if (st->status != CQ_OK)
        return st->status;
    size_t i = 0;
    while (i < n) {
        uint64_t run = st->run;
        size_t k = cq__k_silence_next(x + i, n - i, st->thr, st->need, &run);
        if (k == n - i) {
            st->run = run;
            break;
        }
        /* x[i + k] is loud and ends a silence of `run` samples */
        uint64_t end = st->pos + i + k;
        if (add_span(st, end - run, end) != CQ_OK)
            return st->status;
        st->run = 0;
        i += k + 1;
    }
    st->pos += n;
    return CQ_OK;
}

int cq_silence_finish(cq_silence *st, cq_silence_result *out)
{
    memset(out, 0, sizeof(*out));
    if (st->status == CQ_OK && st->run >= st->need) /* FFmpeg 5.1 closes it at end of file */
        add_span(st, st->pos - st->run, st->pos);
    st->run = 0;
    if (st->status != CQ_OK)
        return st->status;
    double total = 0, longest = 0;
    for (size_t i = 0; i < st->count; i++) {
        total += st->spans[i].duration_sec;
        longest = fmax(longest, st->spans[i].duration_sec);
    }
    out->spans = st->spans;
    out->count = st->count;
    out->total_sec = total;
    double dur = (double)st->pos / st->p.sample_rate_hz;
    out->ratio_pct = dur > 0 ? total / dur * 100.0 : 0.0;
    out->longest_ms = longest * 1000.0;
    st->spans = NULL;
    st->count = st->cap = 0;
    return CQ_OK;
}

void cq_silence_uninit(cq_silence *st)
{
    if (!st)
        return;
    cq__free(st->spans);
    st->spans = NULL;
    st->count = st->cap = 0;
}

void cq_silence_result_free(cq_silence_result *r)
{
    if (!r)
        return;
    cq__free(r->spans);
    memset(r, 0, sizeof(*r));
}

int cq_silence_compute(const float *x, size_t n, const cq_silence_params *p, cq_silence_result *out)
{
    cq_silence st;
    int rc = cq_silence_init(&st, p);
    if (rc == CQ_OK && n)
        rc = cq_silence_push(&st, x, n);
    if (rc == CQ_OK)
        rc = cq_silence_finish(&st, out);
    else
        memset(out, 0, sizeof(*out));
    cq_silence_uninit(&st);
    return rc;
}
