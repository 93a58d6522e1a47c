/*
 * xleg.c - near-identical legs and bleed between legs by cross-correlation (see cq_xleg.h).
 *
 * DESIGN
 * Each leg is decimated by 8 (mean of 8 samples) to 1 kHz. Outbound is cut into blocks of
 * BLK samples; block k is correlated with inbound over [kBLK - LAG, (k+1)BLK + LAG) by one
 * FFT of NFFT >= BLK + 2 LAG points each (no circular wrap for the lags kept):
 *   R[lag] += sum_t out[t] in[t - lag],   lag in [-LAG, LAG], lag > 0: outbound lags inbound.
 * Both buffers start with LAG zeros so block 0 has its history; consumed samples are dropped,
 * so memory is a few blocks plus however far one leg runs ahead of the other.
 */
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_xleg.h"

#define DEC 8
#define BLK 1536
#define LAG 250 /* 250 ms at 1 kHz */
#define NFFT 2048
#define NBIN (NFFT / 2 + 1)

struct cq_xleg {
    float acc[2];
    int nacc[2];
    float *buf[2]; /* 2 kHz samples from absolute index `base` on */
    size_t len[2], cap[2];
    int64_t base;
    int64_t next; /* absolute index of the next outbound block */
    double R[2 * LAG + 1];
    double e[2]; /* energies over the blocks */
    float *fa, *fb, *fr;
    fftwf_complex *FA, *FB;
    fftwf_plan pa, pb, pr;
};

cq_xleg *cq_xleg_create(int *err)
{
    int rc = CQ_ERR_NOMEM;
    cq_xleg *x = cq__calloc(1, sizeof(*x));
    if (!x)
        goto done;
    x->base = -LAG;
    for (int l = 0; l < 2; l++) {
        x->cap[l] = 4 * BLK;
        if (!(x->buf[l] = cq__calloc(x->cap[l], sizeof(float))))
            goto done;
        x->len[l] = LAG; /* zeros before the first sample */
    }
    x->fa = fftwf_alloc_real(NFFT);
    x->fb = fftwf_alloc_real(NFFT);
    x->fr = fftwf_alloc_real(NFFT);
    x->FA = fftwf_alloc_complex(NBIN);
    x->FB = fftwf_alloc_complex(NBIN);
    if (!x->fa || !x->fb || !x->fr || !x->FA || !x->FB)
        goto done;
    cq__fft_lock();
    x->pa = fftwf_plan_dft_r2c_1d(NFFT, x->fa, x->FA, FFTW_ESTIMATE);
    x->pb = fftwf_plan_dft_r2c_1d(NFFT, x->fb, x->FB, FFTW_ESTIMATE);
    x->pr = fftwf_plan_dft_c2r_1d(NFFT, x->FA, x->fr, FFTW_ESTIMATE);
    cq__fft_unlock();
    if (x->pa && x->pb && x->pr)
        rc = CQ_OK;
done:
    if (rc != CQ_OK) {
        cq_xleg_destroy(x);
        x = NULL;
    }
    if (err)
        *err = rc;
    return x;
}

void cq_xleg_destroy(cq_xleg *x)
{
    if (!x)
        return;
    cq__fft_lock();
    if (x->pa)
        fftwf_destroy_plan(x->pa);
    if (x->pb)
        fftwf_destroy_plan(x->pb);
    if (x->pr)
        fftwf_destroy_plan(x->pr);
    cq__fft_unlock();
    fftwf_free(x->fa);
    fftwf_free(x->fb);
    fftwf_free(x->fr);
    fftwf_free(x->FA);
    fftwf_free(x->FB);
    cq__free(x->buf[0]);
    cq__free(x->buf[1]);
    cq__free(x);
}

static int append(cq_xleg *x, int l, float v)
{
    if (x->len[l] == x->cap[l] &&
        cq__grow((void **)&x->buf[l], &x->cap[l], x->len[l] + 1, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    x->buf[l][x->len[l]++] = v;
    return CQ_OK;
}

/* Correlate the outbound block at x->next with inbound around it. */
static void run_block(cq_xleg *x)
{
    const float *in = x->buf[0] + (x->next - LAG - x->base);
    const float *out = x->buf[1] + (x->next - x->base);
    memcpy(x->fa, in, (BLK + 2 * LAG) * sizeof(float));
    memset(x->fa + BLK + 2 * LAG, 0, (NFFT - BLK - 2 * LAG) * sizeof(float));
    memcpy(x->fb, out, BLK * sizeof(float));
    memset(x->fb + BLK, 0, (NFFT - BLK) * sizeof(float));
    for (int i = 0; i < BLK; i++) {
        x->e[0] += (double)in[LAG + i] * in[LAG + i];
        x->e[1] += (double)out[i] * out[i];
    }
    fftwf_execute(x->pa);
    fftwf_execute(x->pb);
    for (int k = 0; k < NBIN; k++) { /* FA * conj(FB) */
        float ar = x->FA[k][0], ai = x->FA[k][1], br = x->FB[k][0], bi = x->FB[k][1];
        x->FA[k][0] = ar * br + ai * bi;
        x->FA[k][1] = ai * br - ar * bi;
    }
    fftwf_execute(x->pr);
    /* fr[m] = sum_t in[t + m] out[t] (in starting LAG early): lag = LAG - m */
    for (int m = 0; m <= 2 * LAG; m++)
        x->R[2 * LAG - m] += (double)x->fr[m] / NFFT;
    x->next += BLK;
}

/* Run every block both legs have data for; drop what no block needs any more. */
static void run_ready(cq_xleg *x)
{
    while ((int64_t)x->len[1] + x->base >= x->next + BLK &&
           (int64_t)x->len[0] + x->base >= x->next + BLK + LAG)
        run_block(x);
    int64_t keep_from = x->next - LAG; /* the next block's inbound history */
    size_t drop = (size_t)(keep_from - x->base);
    if (drop >= 2 * BLK && drop <= x->len[0] && drop <= x->len[1]) {
        for (int l = 0; l < 2; l++) {
            memmove(x->buf[l], x->buf[l] + drop, (x->len[l] - drop) * sizeof(float));
            x->len[l] -= drop;
        }
        x->base += (int64_t)drop;
    }
}

int cq_xleg_push(cq_xleg *x, int leg, const float *s, size_t n)
{
    if (leg != 0 && leg != 1)
        return CQ_ERR_INVALID;
    if (cq__grow((void **)&x->buf[leg], &x->cap[leg], x->len[leg] + n / DEC + 1, sizeof(float)) !=
        CQ_OK)
        return CQ_ERR_NOMEM;
    float *dst = x->buf[leg] + x->len[leg];
    size_t i = 0;
    while (i < n && x->nacc[leg]) { /* finish the group the last push left open */
        x->acc[leg] += s[i++];
        if (++x->nacc[leg] == DEC) {
            *dst++ = x->acc[leg] / DEC;
            x->acc[leg] = 0;
            x->nacc[leg] = 0;
        }
    }
    for (; i + DEC <= n; i += DEC) { /* whole groups */
        float sum = 0;
        for (int k = 0; k < DEC; k++)
            sum += s[i + k];
        *dst++ = sum / DEC;
    }
    for (; i < n; i++) { /* the start of the next group */
        x->acc[leg] += s[i];
        x->nacc[leg]++;
    }
    x->len[leg] = (size_t)(dst - x->buf[leg]);
    run_ready(x);
    return CQ_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

int cq_xleg_finish(cq_xleg *x, cq_xleg_result *r)
{
    memset(r, 0, sizeof(*r));
    r->bleed_from = -1;
    /* pad both legs with zeros to the end of the last block */
    int64_t end = (int64_t)(x->len[0] > x->len[1] ? x->len[0] : x->len[1]) + x->base;
    int64_t blocks_end = x->next + ((end - x->next + BLK - 1) / BLK) * BLK;
    for (int l = 0; l < 2; l++)
        while ((int64_t)x->len[l] + x->base < blocks_end + LAG)
            if (append(x, l, 0) != CQ_OK)
                return CQ_ERR_NOMEM;
    run_ready(x);
    const double floor_e = 1e-6 * (double)(x->next > 0 ? x->next : 1); /* about -60 dBFS */
    if (!(x->e[0] > floor_e && x->e[1] > floor_e))
        return CQ_OK; /* a silent leg: nothing to compare */
    r->has = true;
    const double norm = sqrt(x->e[0] * x->e[1]);
    double mags[2 * LAG + 1];
    int best = 0;
    for (int i = 0; i <= 2 * LAG; i++) {
        mags[i] = fabs(x->R[i]) / norm;
        if (mags[i] > mags[best])
            best = i;
    }
    r->corr_lag0 = x->R[LAG] / norm;
    r->near_identical = r->corr_lag0 >= 0.95;
    r->peak_corr = mags[best];
    r->peak_lag_ms = (double)(best - LAG) * 1000.0 * DEC / CQ_XLEG_RATE;
    qsort(mags, 2 * LAG + 1, sizeof(double), cmp_double);
    double median = mags[LAG];
    if (r->near_identical || r->peak_corr < 0.05 || r->peak_corr < 5 * median)
        return CQ_OK;
    /* B = g A(t - lag) + own: g = R / E_A. Lag > 0: inbound's audio appears in outbound. */
    int lag = best - LAG;
    int from = lag > 0 ? 0 : lag < 0 ? 1 : (x->e[0] >= x->e[1] ? 0 : 1);
    double g = fabs(x->R[best]) / x->e[from];
    r->bleed_from = from;
    r->bleed_lag_ms = fabs(r->peak_lag_ms);
    r->bleed_db = 20 * log10(g + 1e-12);
    r->bleed_corr = r->peak_corr;
    return CQ_OK;
}
