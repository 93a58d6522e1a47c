/*
 * vad_dsp.c - the DSP fallback speech detector (see vad_int.h for what it does and does not).
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "../base/base_int.h"
#include "vad_int.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define FLOOR_DOWN 0.2f     /* fraction of the gap closed per chunk when the level falls */
#define FLOOR_UP_DB 0.02f   /* dB per chunk the floor may rise (about 0.6 dB/s at 8 kHz) */
#define MIN_FLOOR_DB -70.0f /* the floor never goes below this */
#define SNR_MID_DB 10.0f    /* score 0.5 at this many dB above the floor */
#define SNR_SLOPE_DB 2.5f
#define ABS_MID_DB -50.0f /* and at this absolute level */
#define ABS_SLOPE_DB 2.0f
/* the longest chunk whose spectrum may set the first floor (32 ms at 16 kHz) */
#define FIRST_MAX 512

/* RBJ cookbook 2nd-order high/low-pass, Q = 1/sqrt(2). */
static void biquad_design(cq__biquad *q, int highpass, double f0, double rate)
{
    double w = 2 * M_PI * f0 / rate, cw = cos(w), alpha = sin(w) / (2 * 0.70710678118654752440);
    double a0 = 1 + alpha;
    double b0 = highpass ? (1 + cw) / 2 : (1 - cw) / 2, b1 = highpass ? -(1 + cw) : 1 - cw;
    q->b0 = (float)(b0 / a0);
    q->b1 = (float)(b1 / a0);
    q->b2 = (float)(b0 / a0);
    q->a1 = (float)(-2 * cw / a0);
    q->a2 = (float)((1 - alpha) / a0);
    q->z1 = q->z2 = 0;
}

static float biquad_run(cq__biquad *q, float x)
{
    float y = q->b0 * x + q->z1;
    q->z1 = q->b1 * x - q->a1 * y + q->z2;
    q->z2 = q->b2 * x - q->a2 * y;
    return y;
}

int cq__vad_dsp_init(cq__vad_dsp *d, int rate, int chunk)
{
    if (rate <= 0 || chunk <= 0)
        return CQ_ERR_INVALID;
    memset(d, 0, sizeof(*d));
    d->rate = rate;
    d->chunk = chunk;
    biquad_design(&d->hp, 1, 200.0, rate);
    biquad_design(&d->lp, 0, 3400.0, rate);
    d->noise_db = MIN_FLOOR_DB;
    return CQ_OK;
}

void cq__vad_dsp_reset(cq__vad_dsp *d)
{
    cq__vad_dsp_init(d, d->rate, d->chunk);
}

static float logistic(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* The floor under a recording's first chunks, which may already be signal: a busy tone, a
 * ringback or a DTMF digit that begins with the recording. Their level would make the tone the
 * floor, and nothing of the tone would count until its first pause. A tone fills a few bins of
 * a chunk's spectrum (Hann window) and leaves the rest at the noise under it; noise, even
 * coloured, and speech spread over the band. The band's mean square is estimated from its
 * quieter bins alone (the lowest FIRST_LOW of them, scaled by what they hold of white noise's
 * power); where that is TONAL_DB or more under the chunk's level, the chunk is a tone over that
 * floor. The first FIRST_CHUNKS chunks are looked at, so that a tone starting inside the first
 * (its onset smeared by a codec) is met whole in the next. */
#define FIRST_CHUNKS 4
#define FIRST_LOW 0.8 /* the share of the band's bins, the quietest, that estimate the floor */
#define TONAL_DB 12.0f
static float tonal_floor_db(const float *y, int n, int rate, float e_db)
{
    static const float band_lo = 200.0f, band_hi = 3400.0f;
    float pw[FIRST_MAX / 2], c[FIRST_MAX], wy[FIRST_MAX];
    double wsum = 0;
    for (int i = 0; i < n; i++) {
        c[i] = (float)cos(2 * M_PI * i / n);
        const double w = 0.5 - 0.5 * c[i];
        wy[i] = (float)(w * y[i]);
        wsum += w * w;
    }
    int k_lo = (int)ceilf(band_lo * (float)n / (float)rate);
    int k_hi = (int)floorf(band_hi * (float)n / (float)rate);
    if (k_hi > n / 2 - 1)
        k_hi = n / 2 - 1;
    int m = 0;
    for (int k = k_lo; k <= k_hi; k++) {
        double re = 0, im = 0;
        for (int i = 0, j = 0; i < n; i++, j = (j + k) % n) {
            re += (double)wy[i] * c[j];
            im -= (double)wy[i] * c[(j + 3 * n / 4) % n]; /* sin(a) = cos(a - pi/2) */
        }
        pw[m++] = (float)(re * re + im * im);
    }
    if (m < 10)
        return e_db;
    /* insertion sort: a hundred bins, on a few chunks per stream */
    for (int i = 1; i < m; i++) {
        float v = pw[i];
        int j = i - 1;
        for (; j >= 0 && pw[j] > v; j--)
            pw[j + 1] = pw[j];
        pw[j + 1] = v;
    }
    const int low = (int)(FIRST_LOW * m);
    double sum = 0;
    for (int i = 0; i < low; i++)
        sum += pw[i];
    /* the quietest q of exponential (noise) bins hold q + (1 - q) ln(1 - q) of their power */
    const double q = (double)low / m, held = q + (1 - q) * log(1 - q);
    /* the band's mean square from its bins (one-sided: twice their sum), the window's energy */
    const double ms = 2.0 * (sum / held) / ((double)n * wsum);
    const float est = (float)(10.0 * log10(ms + 1e-12));
    return est <= e_db - TONAL_DB ? est : e_db;
}

float cq__vad_dsp_chunk(cq__vad_dsp *d, const float *x)
{
    double e = 0;
    float yb[FIRST_MAX];
    const bool at_first = d->frames < FIRST_CHUNKS && d->chunk <= FIRST_MAX;
    for (int i = 0; i < d->chunk; i++) {
        float y = biquad_run(&d->lp, biquad_run(&d->hp, x[i]));
        if (at_first)
            yb[i] = y;
        e += (double)y * y;
    }
    float e_db = (float)(10.0 * log10(e / d->chunk + 1e-12));
    if (d->frames++ == 0 || e_db < d->noise_db)
        d->noise_db += (d->frames == 1 ? 1.0f : FLOOR_DOWN) * (e_db - d->noise_db);
    else
        d->noise_db = fminf(d->noise_db + FLOOR_UP_DB, e_db);
    if (at_first)
        d->noise_db = fminf(d->noise_db, tonal_floor_db(yb, d->chunk, d->rate, e_db));
    if (d->noise_db < MIN_FLOOR_DB)
        d->noise_db = MIN_FLOOR_DB;
    float snr = e_db - d->noise_db;
    return logistic((snr - SNR_MID_DB) / SNR_SLOPE_DB) *
           logistic((e_db - ABS_MID_DB) / ABS_SLOPE_DB);
}
