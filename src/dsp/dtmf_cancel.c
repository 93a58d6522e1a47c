/*
 * dtmf_cancel.c - the voice canceller of the receiver for digits under speech (dtmf.c, "VOICE
 * CANCELLING"): each 5 ms segment's pitch period found on the DTMF-notched signal, and the
 * comb of NPER periods either side (fractional delays from a Kaiser-windowed sinc) subtracted
 * where the segment is voiced; the twin receiver reads what is left.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "dtmf_rx_int.h"

/* The modified Bessel function I0 (its series), for the Kaiser window. */
static double bessel_i0(double x)
{
    double s = 1, t = 1;
    for (int k = 1; k < 25; k++) {
        t *= (x / (2 * k)) * (x / (2 * k));
        s += t;
    }
    return s;
}

/* Kaiser-windowed sinc taps for reading a signal at floor + frac (frac in [0, 1]): h[i] weighs
 * sample floor + i - (NTAP / 2 - 1). */
void cq__dtmf_frac_taps_exact(double frac, float *h)
{
    const double beta = 4.0, half = NTAP / 2.0;
    double sum = 0, hh[NTAP];
    for (int i = 0; i < NTAP; i++) {
        double t = frac - (i - (NTAP / 2 - 1));
        double sc = fabs(t) < 1e-9 ? 1 : sin(PI * t) / (PI * t);
        double u = t / half;
        double w = fabs(u) >= 1 ? 0 : bessel_i0(beta * sqrt(1 - u * u)) / bessel_i0(beta);
        hh[i] = sc * w;
        sum += hh[i];
    }
    for (int i = 0; i < NTAP; i++)
        h[i] = (float)(hh[i] / sum);
}

/* The taps for frac, from the table of FPH + 1 phases (the nearest: at most 1/(2 FPH) of a
 * sample off, which leaves a harmonic at 1.7 kHz 45 dB down). */
static const float *frac_taps(const cq__dtmf *d, double frac)
{
    return d->ftab[(int)lround(frac * FPH)];
}

/* out[i] = x(m + L) + x(m - L) for m = m0 + i, i < n: the ring x read at fractional lags */
CQ_CLONES static void pair_sum(const cq__dtmf *d, const float *x, uint64_t m0, int n, double L,
                               float *out)
{
    const int ti = (int)floor(L);
    const double f = L - ti;
    /* x(m + L): floor m + ti, frac f; x(m - L): floor m - ti - 1, 1 - f */
    const float *ha = frac_taps(d, f), *hb = frac_taps(d, 1 - f);
    float xa[SEG + NTAP], xb[SEG + NTAP]; /* the samples they read, in a row */
    const uint64_t a0 = m0 + (uint64_t)ti - (NTAP / 2 - 1),
                   b0 = m0 - (uint64_t)ti - 1 - (NTAP / 2 - 1);
    for (int i = 0; i < n + NTAP - 1; i++) {
        xa[i] = x[(a0 + (uint64_t)i) % DHIST];
        xb[i] = x[(b0 + (uint64_t)i) % DHIST];
    }
    for (int i = 0; i < n; i++)
        out[i] = 0;
    for (int k = 0; k < NTAP; k++) /* the lanes i are independent: vectorises */
        for (int i = 0; i < n; i++)
            out[i] += ha[k] * xa[i + k] + hb[k] * xb[i + k];
}

/* dn[tau] = sum over the pitch window of (x[j] - (x[j - tau] + x[j + tau]) / 2)^2 / en, for tau
 * TMIN - 1 ... TMAX + 1 (8 partial sums: vectorises). */
CQ_CLONES static void comb_residuals(const float *xc, double en, double *dn)
{
    for (int tau = TMIN - 1; tau <= TMAX + 1; tau++) {
        float acc[8] = {0};
        for (int j = 0; j < PW; j += 8)
            for (int q = 0; q < 8; q++) {
                const float r = xc[j + q] - 0.5f * (xc[j + q - tau] + xc[j + q + tau]);
                acc[q] += r * r;
            }
        const float sum =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        dn[tau] = sum / (en + 1e-12);
    }
}

/* The local pitch period of the pitch window xc (power en): the first local minimum of the
 * comb residual under VOICED, TMIN ... TMAX, refined by a parabola; 0 when there is none
 * (unvoiced). */
static double pitch_period(const float *xc, double en)
{
    double dn[TMAX + 2];
    comb_residuals(xc, en, dn);
    for (int tau = TMIN; tau <= TMAX; tau++) {
        if (dn[tau] < VOICED && dn[tau] <= dn[tau - 1] && dn[tau] <= dn[tau + 1]) {
            double a = dn[tau - 1], b = dn[tau], e = dn[tau + 1], den = a - 2 * b + e;
            double off = den > 0 ? 0.5 * (a - e) / den : 0;
            return tau + fmin(0.5, fmax(-0.5, off));
        }
    }
    return 0;
}

/* One segment of the voice canceller: the local pitch period T of the notched signal (the lag
 * of least symmetric comb residual), then y[m] = x[m] minus the mean of x at m +- T, m +- 2T,
 * which removes every harmonic of a voice of period T and passes a tone of frequency f with
 * the gain 1 - (cos(2 pi f T) + cos(4 pi f T)) / 2, known per segment (header comment).
 * Unvoiced: y = x, gain 1. */
void cq__dtmf_cancel_segment(cq__dtmf *d)
{
    const uint64_t m0 = d->ypos, c = m0 + SEG / 2;
    const uint64_t b0 = c - PW / 2 - (TMAX + 1);
    float xs[PW + 2 * (TMAX + 1)];
    for (int i = 0; i < PW + 2 * (TMAX + 1); i++)
        xs[i] = d->nhist[(b0 + (uint64_t)i) % DHIST];
    const float *xc = xs + TMAX + 1;
    double en = 0;
    for (int j = 0; j < PW; j++)
        en += (double)xc[j] * xc[j];
    const double T = en > PW * 1e-9 ? pitch_period(xc, en) : 0;
    float *g = d->g[(m0 / SEG) % 8];
    d->tper[(m0 / SEG) % NSEGR] = (float)T;
    if (T <= 0) {
        for (int k = 0; k < NEAR; k++)
            g[k] = 1;
        for (int i = 0; i < SEG; i++)
            d->yhist[(m0 + (uint64_t)i) % YHIST] = d->dhist[(m0 + (uint64_t)i) % DHIST];
        return;
    }
    const double cp = 0.5 / NPER; /* the weight of each of the 2 NPER periods */
    /* the nominal lanes and those 1.5 % either side: the gain at the nominal frequency (a
     * tone near it passes with about that gain; its peak is sought at the same weights) */
    double gain[8];
    for (int k = 0; k < 8; k++)
        gain[k] = cq__dtmf_comb_gain(k, T);
    for (int k = 0; k < NEAR; k++)
        g[k] = (float)gain[k % 8];
    float yv[SEG], us[SEG];
    for (int i = 0; i < SEG; i++)
        yv[i] = d->dhist[(m0 + (uint64_t)i) % DHIST];
    for (int p = 1; p <= NPER; p++) {
        pair_sum(d, d->dhist, m0, SEG, p * T, us);
        for (int i = 0; i < SEG; i++)
            yv[i] -= (float)cp * us[i];
    }
    for (int i = 0; i < SEG; i++) {
        const uint64_t m = m0 + (uint64_t)i;
        d->yhist[m % YHIST] = yv[i];
    }
}
