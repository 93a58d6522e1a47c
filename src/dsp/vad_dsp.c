/*
 * vad_dsp.c - the DSP fallback speech detector (see vad_int.h for what it does and does not).
 */
#include <math.h>
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

float cq__vad_dsp_chunk(cq__vad_dsp *d, const float *x)
{
    double e = 0;
    for (int i = 0; i < d->chunk; i++) {
        float y = biquad_run(&d->lp, biquad_run(&d->hp, x[i]));
        e += (double)y * y;
    }
    float e_db = (float)(10.0 * log10(e / d->chunk + 1e-12));
    if (d->frames++ == 0 || e_db < d->noise_db)
        d->noise_db += (d->frames == 1 ? 1.0f : FLOOR_DOWN) * (e_db - d->noise_db);
    else
        d->noise_db = fminf(d->noise_db + FLOOR_UP_DB, e_db);
    if (d->noise_db < MIN_FLOOR_DB)
        d->noise_db = MIN_FLOOR_DB;
    float snr = e_db - d->noise_db;
    return logistic((snr - SNR_MID_DB) / SNR_SLOPE_DB) *
           logistic((e_db - ABS_MID_DB) / ABS_SLOPE_DB);
}
