/*
 * quality.c - model-free quality indicators of one leg (see cq_quality.h).
 *
 * DESIGN
 * Streaming, in non-overlapping frames of about 32 ms (a power of two in samples): each frame's
 * level is kept (one float), and its Hann-windowed power spectrum is added to the sum of its
 * 2 dB level class, so that at the end the long-term spectrum of the loud frames can be formed
 * without keeping any spectrum per frame. Dropouts are found sample by sample: a run of
 * near-digital silence (|x| <= 1e-4, about -80 dBFS) lasting 5-250 ms whose 20 ms before and
 * after are both louder than -50 dBFS. When the leg ends, the VAD's segments (or, without them,
 * the frame levels) say which frames are speech.
 */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_quality.h"

#define CLASSES 64 /* 2 dB level classes from -128 dBFS */
#define CLASS_DB 2.0
#define CLASS_FLOOR_DB -128.0
#define QUIET 1e-4f /* near digital silence */
#define DROP_MIN_SEC 0.005
#define DROP_MAX_SEC 0.250
#define EDGE_SEC 0.020 /* audio before/after a dropout must be louder than: */
#define EDGE_DB -50.0

typedef struct drop {
    double start_sec, len_sec;
} drop;

struct cq_quality {
    int rate, F, bins;
    float *win, *fin, *frame;
    fftwf_complex *fout;
    fftwf_plan plan;
    size_t nframe; /* samples in the current frame */
    float *levels; /* dB per frame */
    size_t nlev, caplev;
    double *spec; /* [CLASSES][bins] power sums */
    uint64_t count[CLASSES];
    /* dropouts */
    uint64_t pos; /* samples seen */
    int E;        /* samples in the 20 ms edges */
    double *ring; /* last E squares */
    double ring_sum;
    uint64_t run;   /* current quiet run */
    double pre_sum; /* sum of squares of the 20 ms before the current run */
    int pending;    /* a run waiting for its 20 ms after */
    uint64_t pend_start, pend_len, pend_after;
    double after_sum;
    drop *drops;
    size_t ndrops, capdrops;
};

cq_quality *cq_quality_create(int rate, int *err)
{
    int rc = CQ_OK;
    cq_quality *q = NULL;
    if (rate < 1000 || rate > 384000) {
        rc = CQ_ERR_INVALID;
        goto done;
    }
    q = cq__calloc(1, sizeof(*q));
    if (!q) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    q->rate = rate;
    q->F = 16;
    while (q->F < (int)(0.032 * rate))
        q->F *= 2;
    q->bins = q->F / 2 + 1;
    q->E = (int)(EDGE_SEC * rate) > 0 ? (int)(EDGE_SEC * rate) : 1;
    q->win = cq__malloc(sizeof(float) * (size_t)q->F);
    q->frame = cq__malloc(sizeof(float) * (size_t)q->F);
    q->fin = fftwf_alloc_real((size_t)q->F);
    q->fout = fftwf_alloc_complex((size_t)q->bins);
    q->spec = cq__calloc((size_t)CLASSES * (size_t)q->bins, sizeof(double));
    q->ring = cq__calloc((size_t)q->E, sizeof(double));
    if (!q->win || !q->frame || !q->fin || !q->fout || !q->spec || !q->ring) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < q->F; i++)
        q->win[i] = (float)(0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / q->F));
    cq__fft_lock();
    q->plan = fftwf_plan_dft_r2c_1d(q->F, q->fin, q->fout, FFTW_ESTIMATE);
    cq__fft_unlock();
    if (!q->plan)
        rc = CQ_ERR_NOMEM;
done:
    if (rc != CQ_OK) {
        cq_quality_destroy(q);
        q = NULL;
    }
    if (err)
        *err = rc;
    return q;
}

void cq_quality_destroy(cq_quality *q)
{
    if (!q)
        return;
    if (q->plan) {
        cq__fft_lock();
        fftwf_destroy_plan(q->plan);
        cq__fft_unlock();
    }
    cq__free(q->win), cq__free(q->frame), cq__free(q->levels), cq__free(q->spec);
    cq__free(q->ring), cq__free(q->drops);
    fftwf_free(q->fin);
    fftwf_free(q->fout);
    cq__free(q);
}

static int end_frame(cq_quality *q)
{
    double p = 0;
    for (int i = 0; i < q->F; i++) {
        p += (double)q->frame[i] * q->frame[i];
        q->fin[i] = q->frame[i] * q->win[i];
    }
    double db = 10.0 * log10(p / q->F + 1e-13);
    if (cq__grow((void **)&q->levels, &q->caplev, q->nlev + 1, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    q->levels[q->nlev++] = (float)db;
    int c = (int)floor((db - CLASS_FLOOR_DB) / CLASS_DB);
    c = c < 0 ? 0 : c >= CLASSES ? CLASSES - 1 : c;
    fftwf_execute(q->plan);
    double *s = q->spec + (size_t)c * (size_t)q->bins;
    for (int b = 0; b < q->bins; b++)
        s[b] += (double)q->fout[b][0] * q->fout[b][0] + (double)q->fout[b][1] * q->fout[b][1];
    q->count[c]++;
    q->nframe = 0;
    return CQ_OK;
}

static int dropout_sample(cq_quality *q, float x)
{
    const double x2 = (double)x * x;
    const int quiet = fabsf(x) <= QUIET;
    const double thr = pow(10.0, EDGE_DB / 10.0) * q->E; /* sum of squares over an edge */
    if (q->pending) { /* collecting the 20 ms after a candidate */
        q->after_sum += x2;
        if (++q->pend_after == (uint64_t)q->E) {
            if (q->pre_sum >= thr && q->after_sum >= thr) {
                if (cq__grow((void **)&q->drops, &q->capdrops, q->ndrops + 1, sizeof(drop)) !=
                    CQ_OK)
                    return CQ_ERR_NOMEM;
                q->drops[q->ndrops++] =
                    (drop){(double)q->pend_start / q->rate, (double)q->pend_len / q->rate};
            }
            q->pending = 0;
        }
    }
    if (quiet) {
        if (q->run == 0)
            q->pre_sum = q->ring_sum; /* the 20 ms before the run */
        q->run++;
    } else if (q->run) {
        double len = (double)q->run / q->rate;
        if (!q->pending && len >= DROP_MIN_SEC && len <= DROP_MAX_SEC) {
            q->pending = 1;
            q->pend_start = q->pos - q->run;
            q->pend_len = q->run;
            q->pend_after = 1;
            q->after_sum = x2;
        }
        q->run = 0;
    }
    size_t slot = (size_t)(q->pos % (uint64_t)q->E);
    q->ring_sum += x2 - q->ring[slot];
    q->ring[slot] = x2;
    q->pos++;
    return CQ_OK;
}

int cq_quality_push(cq_quality *q, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        q->frame[q->nframe++] = x[i];
        if (q->nframe == (size_t)q->F && end_frame(q) != CQ_OK)
            return CQ_ERR_NOMEM;
        if (dropout_sample(q, x[i]) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int in_spans(const cq_span *s, size_t n, double t)
{
    for (size_t i = 0; i < n; i++)
        if (t >= s[i].start_sec && t < s[i].end_sec)
            return 1;
    return 0;
}

int cq_quality_finish(cq_quality *q, const cq_span *speech, size_t nsp, bool use_speech,
                      cq_quality_result *r)
{
    memset(r, 0, sizeof(*r));
    r->basis = use_speech ? "vad" : "level";
    const size_t N = q->nlev;
    const double fdur = (double)q->F / q->rate;
    if (N == 0)
        return CQ_OK;
    unsigned char *is_sp = cq__malloc(N);
    float *tmp = cq__malloc(sizeof(float) * N);
    if (!is_sp || !tmp) {
        cq__free(is_sp), cq__free(tmp);
        return CQ_ERR_NOMEM;
    }
    if (use_speech) {
        for (size_t i = 0; i < N; i++)
            is_sp[i] = (unsigned char)in_spans(speech, nsp, ((double)i + 0.5) * fdur);
    } else { /* active: within 30 dB of the loudest 1 % and above -70 dBFS */
        memcpy(tmp, q->levels, sizeof(float) * N);
        qsort(tmp, N, sizeof(float), cmp_f);
        float top = tmp[(size_t)((double)(N - 1) * 0.99)];
        for (size_t i = 0; i < N; i++)
            is_sp[i] = q->levels[i] >= top - 30.0f && q->levels[i] >= -70.0f;
    }
    size_t ns = 0, nn = 0;
    double psum = 0;
    for (size_t i = 0; i < N; i++) {
        if (is_sp[i]) {
            psum += pow(10.0, q->levels[i] / 10.0);
            ns++;
        } else {
            tmp[nn++] = q->levels[i];
        }
    }
    r->speech_sec = (double)ns * fdur;
    if (nn >= 10) { /* power mean of the non-speech frames, the loudest 10 % left out */
        qsort(tmp, nn, sizeof(float), cmp_f);
        size_t keep = nn - nn / 10;
        double pn = 0;
        for (size_t i = 0; i < keep; i++)
            pn += pow(10.0, tmp[i] / 10.0);
        r->has_noise_floor = true;
        r->noise_floor_db = 10.0 * log10(pn / (double)keep);
    }
    if (ns >= 10) {
        r->has_speech_level = true;
        r->speech_level_db = 10.0 * log10(psum / (double)ns);
    }
    if (r->has_noise_floor && r->has_speech_level) {
        /* the speech frames carry the noise too: take its power out before the ratio */
        double ps = pow(10.0, r->speech_level_db / 10.0), pn = pow(10.0, r->noise_floor_db / 10.0);
        r->has_snr = true;
        r->snr_db = ps > pn ? 10.0 * log10((ps - pn) / pn) : 0.0;
    }
    /* level drift: the last third of the speech frames against the first */
    if (r->speech_sec >= 30.0) {
        double third[3] = {0, 0, 0};
        size_t cnt[3] = {0, 0, 0}, k = 0;
        for (size_t i = 0; i < N; i++) {
            if (!is_sp[i])
                continue;
            int t = (int)(3 * k / ns);
            third[t] += pow(10.0, q->levels[i] / 10.0);
            cnt[t]++;
            k++;
        }
        if (cnt[0] && cnt[2]) {
            r->has_drift = true;
            r->level_drift_db =
                10.0 * log10(third[2] / (double)cnt[2]) - 10.0 * log10(third[0] / (double)cnt[0]);
        }
    }
    /* bandwidth: long-term spectrum of the frames within 10 dB of the speech level */
    if (r->has_speech_level) {
        double *ltas = cq__calloc((size_t)q->bins, sizeof(double));
        if (!ltas) {
            cq__free(is_sp), cq__free(tmp);
            return CQ_ERR_NOMEM;
        }
        uint64_t frames = 0;
        for (int c = 0; c < CLASSES; c++) {
            double lo = CLASS_FLOOR_DB + c * CLASS_DB;
            if (lo + CLASS_DB < r->speech_level_db - 10.0 || !q->count[c])
                continue;
            for (int b = 0; b < q->bins; b++)
                ltas[b] += q->spec[(size_t)c * (size_t)q->bins + (size_t)b];
            frames += q->count[c];
        }
        if ((double)frames * fdur >= 1.0) {
            /* dB, smoothed over 5 bins; the peak above 150 Hz; the highest bin within 20 dB */
            const double hz = (double)q->rate / q->F;
            double peak = -HUGE_VAL, *db = cq__malloc(sizeof(double) * (size_t)q->bins);
            if (!db) {
                cq__free(ltas), cq__free(is_sp), cq__free(tmp);
                return CQ_ERR_NOMEM;
            }
            for (int b = 0; b < q->bins; b++) {
                double s = 0;
                int m = 0;
                for (int k = b - 2; k <= b + 2; k++)
                    if (k >= 0 && k < q->bins)
                        s += ltas[k], m++;
                db[b] = 10.0 * log10(s / m + 1e-30);
                if (b * hz >= 150.0 && db[b] > peak)
                    peak = db[b];
            }
            int top = -1;
            for (int b = 0; b < q->bins; b++)
                if (b * hz >= 150.0 && db[b] >= peak - 20.0)
                    top = b;
            if (top >= 0) {
                r->has_bandwidth = true;
                r->bandwidth_hz = top * hz;
            }
            cq__free(db);
        }
        cq__free(ltas);
    }
    /* dropouts inside speech */
    for (size_t i = 0; i < q->ndrops; i++) {
        double mid = q->drops[i].start_sec + q->drops[i].len_sec / 2;
        size_t fi = (size_t)(mid / fdur);
        if (fi < N && is_sp[fi]) {
            r->dropouts++;
            r->dropout_ms += q->drops[i].len_sec * 1000.0;
        }
    }
    r->dropouts_per_min = r->speech_sec > 0 ? r->dropouts / (r->speech_sec / 60.0) : 0;
    cq__free(is_sp);
    cq__free(tmp);
    return CQ_OK;
}
