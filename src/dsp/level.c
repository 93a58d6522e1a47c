/*
 * level.c - RMS / peak / DC / clipping / crest and the ITU-T P.56 active speech level.
 *
 * DESIGN
 * Sums run in double (sox stat also accumulates in double) in the vector kernels of
 * kernels.c. Clipping runs are only scanned once the stream's peak has reached the clip
 * level, which is never on good audio.
 *
 * P.56 method B: a two-stage envelope q(i) of |x| (time constant 30 ms) is compared with 16
 * thresholds c_j = 2^(j-15); a sample is active for c_j when q >= c_j or within the 200 ms
 * hangover after the last such sample. The active level for c_j is A_j = 10 log10(sum x^2 /
 * a_j); the result is where A_j - 20 log10(c_j) crosses the margin M = 15.9 dB, interpolated.
 * The standard formulation updates 16 hangover counters per sample. Because the thresholds
 * are nested, the envelope exceeds exactly the k lowest of them, and we only do work when k
 * changes: a run of samples below c_j that ends after L samples contributes max(0, L - I)
 * inactive samples (L for the run before c_j is first exceeded), I being the hangover.
 * Same counts, one compare per sample instead of sixteen.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "kernels_int.h"
#include "callqa/cq_level.h"

#define P56_TIME_CONSTANT_SEC 0.03
#define P56_HANGOVER_SEC 0.2
#define P56_MARGIN_DB 15.9

/* c_j = 2^(j-15); c[16] is a sentinel no envelope reaches. */
static const float k_thr[CQ_P56_THRESHOLDS + 1] = {
    1.0 / 32768, 1.0 / 16384, 1.0 / 8192, 1.0 / 4096, 1.0 / 2048, 1.0 / 1024,
    1.0 / 512,   1.0 / 256,   1.0 / 128,  1.0 / 64,   1.0 / 32,   1.0 / 16,
    1.0 / 8,     1.0 / 4,     1.0 / 2,    1.0,        HUGE_VALF};

cq_level_params cq_level_default_params(void)
{
    cq_level_params p = {
        .sample_rate_hz = 8000,
        .clip_level = 32767.0f / 32768.0f,
        .clip_min_run = 3,
        .p56 = true,
    };
    return p;
}

int cq_level_init(cq_level *st, const cq_level_params *p)
{
    if (p->sample_rate_hz <= 0 || !(p->clip_level > 0.0f) || p->clip_min_run < 1)
        return CQ_ERR_INVALID;
    memset(st, 0, sizeof(*st));
    st->p = *p;
    st->maxv = -HUGE_VALF;
    st->minv = HUGE_VALF;
    st->g = (float)exp(-1.0 / ((double)p->sample_rate_hz * P56_TIME_CONSTANT_SEC));
    st->b = 1.0f - st->g;
    st->hang = (uint64_t)lround(P56_HANGOVER_SEC * p->sample_rate_hz);
    return CQ_OK;
}

/* Count samples in runs of >= min_run at |x| >= clip; runs may span blocks. */
static void scan_clipping(cq_level *st, const float *x, size_t n)
{
    const float clip = st->p.clip_level;
    const uint32_t min_run = (uint32_t)st->p.clip_min_run;
    uint32_t run = st->clip_run;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(x[i]) >= clip) {
            run++;
            if (run == min_run) {
                st->clipped += min_run;
                st->clip_runs++;
            } else if (run > min_run) {
                st->clipped++;
            }
        } else {
            run = 0;
        }
    }
    st->clip_run = run;
}

/* Close the below-threshold run of c_j at absolute sample `at`. */
static void p56_close_run(cq_level *st, int j, uint64_t at)
{
    uint64_t len = at - st->below_start[j];
    if (st->exceeded[j])
        st->inactive[j] += len > st->hang ? len - st->hang : 0;
    else
        st->inactive[j] += len;
    st->exceeded[j] = true;
}

/* Handle the envelope crossing from band k to the band of q at absolute sample `at`. */
static int p56_move(cq_level *st, int k, float q, uint64_t at)
{
    int k2 = k;
    while (k2 < CQ_P56_THRESHOLDS && q >= k_thr[k2])
        k2++;
    while (k2 > 0 && q < k_thr[k2 - 1])
        k2--;
    for (int j = k; j < k2; j++) /* rose above c_j: its run below ends here */
        p56_close_run(st, j, at);
    for (int j = k2; j < k; j++) /* fell below c_j: a run below starts here */
        st->below_start[j] = at;
    return k2;
}

#define P56_SUB 256 /* envelope sub-block, samples */

static void p56_push(cq_level *st, const float *x, size_t n)
{
    float qb[P56_SUB];
    cq__env env = {.p = st->p1, .q = st->q1};
    int k = st->k;
    for (size_t off = 0; off < n; off += P56_SUB) {
        size_t m = n - off < P56_SUB ? n - off : P56_SUB;
        cq__k_envelope(x + off, m, st->g, st->b, &env, qb);
        float hi = k_thr[k], lo = k > 0 ? k_thr[k - 1] : -1.0f;
        if (env.qmin >= lo && env.qmax < hi)
            continue; /* the usual case: no threshold crossed in this sub-block */
        const uint64_t base = st->n + off;
        for (size_t i = cq__k_find_outside(qb, m, lo, hi); i < m;
             i += 1 + cq__k_find_outside(qb + i + 1, m - i - 1, lo, hi)) {
            k = p56_move(st, k, qb[i], base + i);
            hi = k_thr[k];
            lo = k > 0 ? k_thr[k - 1] : -1.0f;
        }
    }
    st->p1 = env.p;
    st->q1 = env.q;
    st->k = k;
}

void cq_level_push(cq_level *st, const float *x, size_t n)
{
    if (n == 0)
        return;
    cq__stats acc = {st->sum, st->sumsq, st->maxv, st->minv};
    cq__k_stats(x, n, &acc);
    st->sum = acc.sum;
    st->sumsq = acc.sumsq;
    st->maxv = acc.max;
    st->minv = acc.min;
    /* clipping runs are only scanned once the stream reaches the clip level */
    if (acc.max >= st->p.clip_level || -acc.min >= st->p.clip_level)
        scan_clipping(st, x, n);
    if (st->p.p56)
        p56_push(st, x, n);
    st->n += n;
}
/* P.56 result from the counts; false when no threshold gives a defined level. */
static bool p56_finish(const cq_level *st, double *level_db, double *activity)
{
    if (st->n == 0 || !(st->sumsq > 0))
        return false;
    double a[CQ_P56_THRESHOLDS], A[CQ_P56_THRESHOLDS], d[CQ_P56_THRESHOLDS];
    for (int j = 0; j < CQ_P56_THRESHOLDS; j++) {
        uint64_t inactive = st->inactive[j];
        if (j >= st->k) { /* still below c_j: close the open run at the end of the stream */
            uint64_t len = st->n - st->below_start[j];
            inactive += st->exceeded[j] ? (len > st->hang ? len - st->hang : 0) : len;
        }
        a[j] = (double)(st->n - inactive);
        if (a[j] <= 0)
            return false; /* activity ran out before the margin was reached */
        A[j] = 10.0 * log10(st->sumsq / a[j]);
        d[j] = A[j] - 20.0 * log10(k_thr[j]);
        if (d[j] <= P56_MARGIN_DB) {
            double lvl = A[j];
            if (j > 0) {
                double t = (d[j - 1] - P56_MARGIN_DB) / (d[j - 1] - d[j]);
                lvl = A[j - 1] + t * (A[j] - A[j - 1]);
            }
            *level_db = lvl;
            *activity = st->sumsq / ((double)st->n * pow(10.0, lvl / 10.0));
            return true;
        }
    }
    return false;
}

void cq_level_finish(const cq_level *st, cq_level_result *r)
{
    memset(r, 0, sizeof(*r));
    r->samples = st->n;
    r->duration_sec = (double)st->n / st->p.sample_rate_hz;
    r->clipped_samples = st->clipped;
    r->clipped_runs = st->clip_runs;
    if (st->n == 0)
        return;
    r->dc_offset = st->sum / (double)st->n;
    r->max_amplitude = st->maxv;
    r->min_amplitude = st->minv;
    r->rms = sqrt(st->sumsq / (double)st->n);
    r->has_rms = r->rms > 0;
    if (r->has_rms)
        r->rms_db = 20.0 * log10(r->rms);
    r->peak = fmax(fabs((double)st->maxv), fabs((double)st->minv));
    r->has_peak = r->peak > 0;
    if (r->has_peak)
        r->peak_db = 20.0 * log10(r->peak);
    r->has_crest = r->has_rms && r->has_peak;
    if (r->has_crest)
        r->crest_db = r->peak_db - r->rms_db;
    if (st->p.p56) {
        double lvl = 0, act = 0;
        r->has_active_level = p56_finish(st, &lvl, &act);
        if (r->has_active_level) {
            r->active_level_db = lvl;
            r->activity_pct = act * 100.0;
        }
    }
}

int cq_level_compute(const float *x, size_t n, const cq_level_params *p, cq_level_result *out)
{
    cq_level st;
    int rc = cq_level_init(&st, p);
    if (rc != CQ_OK)
        return rc;
    if (n)
        cq_level_push(&st, x, n);
    cq_level_finish(&st, out);
    return CQ_OK;
}
