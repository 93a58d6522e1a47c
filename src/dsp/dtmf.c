/*
 * dtmf.c - a DTMF receiver for digits under speech (the second receiver of cq_tones, beside
 * libspandsp's; see tones.c).
 *
 * DESIGN
 * Frames: 40 ms Hann windows every 5 ms, read (Goertzel) at the 8 DTMF frequencies, 1.5 %
 * either side of each, and 8 points 60-130 Hz either side of each (the rest of the DTMF bands),
 * at 4 kHz: a half-band filter (79 taps, -0.5 dB at 1.8 kHz, -78 dB from 2.3 kHz) halves the
 * rate first, which halves the cost.
 *   - A symbol is *plausible* in a frame when its row and its column each peak within 1.5 % of
 *     nominal (Q.24's tolerance; a parabola through the three readings), both are above
 *     -60 dBFS, the twist is within Q.24's limits (column up to 8 dB under the row, up to 4 dB
 *     over it) and the two carry 5 % of the frame's power. Nothing is asked of the other
 *     frequencies here: under speech, a louder voice harmonic 80 Hz away does not hide a tone
 *     that is clean at its own frequency, and speech within 25 Hz of a tone is rare.
 *   - Each of the 16 symbols keeps its own run of plausible frames (two implausible frames, or
 *     a level 12 dB under the run's peak, end it), so a voice harmonic that makes another
 *     symbol plausible for a few frames does not cut a digit in pieces.
 * A closed run is judged on its core, the frames where both tones are within 6 dB of the run's
 * peak. It is a digit when (each test measured on tests/unit/test_dtmf_speech.c and the corpus;
 * docs/events.md):
 *   - it has 6 frames or more, and so has its core (a 20 ms tone has 5, a 40 ms tone 7-8);
 *   - the pair holds 12 % of the power read across the DTMF bands, and its row and its column
 *     are, on average, the strongest of their groups;
 *   - row and column rise and fall together: where either is within 3 dB of its peak, their
 *     levels relative to their peaks differ by less than 1 dB on average (one key makes both;
 *     two voice harmonics follow their formants);
 *   - each tone stands 12 dB over its level before or after the run (a key is pressed and
 *     released; a vowel fades);
 *   - each holds its frequency: measured from the phase advance over 10 ms, it moves less than
 *     0.5 % between the core's halves (voices glide);
 *   - no other row (column) that holds its frequency too peaks within 6 dB of the tone in 20 %
 *     of the core (a voice harmonic on another row makes the key ambiguous: no digit rather
 *     than a wrong one);
 *   - the two are not harmonics of one voice: when the tones, at their measured frequencies,
 *     are the n-th and m-th multiples of one f0 (70-450 Hz, within 0.8 %), that f0's other
 *     harmonics must not stand 15 dB over the points halfway between them.
 * Two digits that overlap in time: the longer one is kept.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "dtmf_int.h"

#define RATE 8000
#define PI 3.14159265358979323846
#define NW 320     /* window, samples (40 ms) */
#define DRATE 4000 /* the frames are read at half the rate (every band is under 1.8 kHz) */
#define DNW (NW / 2)
#define NHB 79 /* taps of the half-band filter before it */
#define DELAY ((NHB - 1) / 2)
#define DHIST 256 /* samples kept at DRATE */
#define HOP 40    /* 5 ms */
#define NFAR 8
#define NF (24 + 8 * NFAR) /* nominal, -1.5 %, +1.5 %, then the points around each */
#define NFP 96             /* NF padded for the vector loop */
#define NREC 64            /* frames kept */
#define HIST 2048          /* samples kept: the window, and a run for the harmonic test */
#define NPEND 16
#define FTOL 0.015 /* Q.24: accept +-1.5 % */
#define MIN_DB -60.0
#define TWIST_NORMAL_DB 8.0 /* column under row */
#define TWIST_REVERSE_DB 4.0
#define FRAME_SHARE 0.05
#define GAP_FRAMES 2
#define DIP_DB 12.0
#define PRE_A 12 /* the level before a run: frames PRE_A..PRE_B before it */
#define PRE_B 5
#define POST 8 /* and after it: frames PRE_B..POST after it */
#define MIN_FRAMES 6
#define CORE_DB 6.0
#define MIN_CORE 6 /* frames in the core: 5 for a 20 ms tone, 7-8 for 40 ms */
#define MAX_COMOD_DB 1.0
#define MIN_BAND_SHARE 0.12
#define MIN_EDGE_DB 12.0
#define MAX_GLIDE_PCT 0.5
#define AMB_GLIDE_PCT 0.3
#define AMB_DB 6.0
#define MAX_AMB 0.2
#define MAX_HARM_DB 15.0
#define HARM_TOL 0.008

static const int k_freq[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
static const double k_far[NFAR] = {-130, -105, -80, -60, 60, 80, 105, 130};
static const char k_keys[] = "123A456B789C*0#D";

typedef struct frec {
    float pw[8];         /* power at the 8 frequencies (a sine of power P reads P) */
    float band;          /* sum of the powers read across the DTMF bands */
    float re[8], im[8];  /* the DFT at the 8 frequencies, phase from the stream's start */
    unsigned char tonal; /* bit k: frequency k peaks within FTOL of nominal, above MIN_DB */
    uint64_t centre;
} frec;

typedef struct run {
    char sym;
    int r, c;             /* row 0-3, column 4-7 */
    uint64_t first, last; /* frame indices */
    int frames;
    float peak; /* highest min(row, column) power */
} run;

struct cq__dtmf {
    cq__dtmf_report report;
    void *user;
    float coef[NFP]; /* 2 cos(w) of each lane (Goertzel) */
    double cosw[NF], sinw[NF];
    float win[DNW];
    float
        hb[NHB + 1]; /* half-band low-pass (Blackman-windowed sinc): 1.8 kHz -0.5 dB, 2.3 kHz -78 */
    float fir[2 * NHB + 1]; /* the last NHB samples twice over, so that they lie in a row */
    int firw;
    float dhist[DHIST];
    uint64_t dpos;                /* samples at DRATE */
    double rot[8][2], step[8][2]; /* e^{-j w last} of the last frame; e^{-j w HOP / 2} */
    double w2sum, norm;
    double min_pw, twist_rev, twist_norm, dip; /* the dB limits as power ratios */
    float hist[HIST];
    uint64_t pos;
    int nbuf;
    frec rec[NREC];
    uint64_t nfr;
    run act[16]; /* per symbol: its run under way (sym 0: none) */
    int off[16];
    run pend[NPEND]; /* closed runs waiting for the frames after them */
    int npend;
    run held; /* an accepted digit not reported yet (sym 0: none) */
    float harm_x[HIST];
};

cq__dtmf *cq__dtmf_create(cq__dtmf_report report, void *user)
{
    cq__dtmf *d = cq__calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->report = report;
    d->user = user;
    double fr[NF], wsum = 0;
    for (int k = 0; k < 8; k++) {
        fr[k] = k_freq[k];
        fr[8 + k] = k_freq[k] * (1 - FTOL);
        fr[16 + k] = k_freq[k] * (1 + FTOL);
        for (int j = 0; j < NFAR; j++)
            fr[24 + NFAR * k + j] = k_freq[k] + k_far[j];
    }
    for (int i = 0; i < DNW; i++) {
        double w = 0.5 - 0.5 * cos(2 * PI * (i + 0.5) / DNW);
        d->win[i] = (float)w;
        wsum += w;
        d->w2sum += w * w;
    }
    for (int k = 0; k < NF; k++) {
        d->cosw[k] = cos(2 * PI * fr[k] / DRATE);
        d->sinw[k] = sin(2 * PI * fr[k] / DRATE);
        d->coef[k] = (float)(2 * d->cosw[k]);
    }
    double hsum = 0, h[NHB];
    for (int n = 0; n < NHB; n++) {
        double t = n - DELAY;
        h[n] = (t == 0 ? 0.5 : sin(PI * t / 2) / (PI * t)) *
               (0.42 - 0.5 * cos(2 * PI * n / (NHB - 1)) + 0.08 * cos(4 * PI * n / (NHB - 1)));
        hsum += h[n];
    }
    for (int n = 0; n < NHB; n++)
        d->hb[n] = (float)(h[n] / hsum);
    for (int k = 0; k < 8; k++) {
        d->step[k][0] = cos(2 * PI * k_freq[k] * (HOP / 2) / DRATE);
        d->step[k][1] = -sin(2 * PI * k_freq[k] * (HOP / 2) / DRATE);
    }
    d->norm = 2 / (wsum * wsum);
    d->min_pw = pow(10, MIN_DB / 10);
    d->twist_rev = pow(10, TWIST_REVERSE_DB / 10);
    d->twist_norm = pow(10, TWIST_NORMAL_DB / 10);
    d->dip = pow(10, -DIP_DB / 10);
    return d;
}

void cq__dtmf_destroy(cq__dtmf *d)
{
    cq__free(d);
}

static float rec_pw(const cq__dtmf *d, uint64_t i, int k)
{
    return d->rec[i % NREC].pw[k];
}

static double db(double p)
{
    return 10 * log10(p + 1e-20);
}

/* Power at f (Hz) of x[0..n) under a Hann window, in the frames' normalisation. */
static double seg_power(const float *x, int n, double f)
{
    const double c = 2 * cos(2 * PI * f / RATE);
    double s1 = 0, s2 = 0, ws = 0;
    for (int i = 0; i < n; i++) {
        double w = 0.5 - 0.5 * cos(2 * PI * (i + 0.5) / n);
        double v = w * x[i] + c * s1 - s2;
        s2 = s1;
        s1 = v;
        ws += w;
    }
    double re = s1 - s2 * c / 2, im = s2 * sin(2 * PI * f / RATE);
    return 2 * (re * re + im * im) / (ws * ws);
}

/* Does frequency k peak within FTOL of nominal? A parabola through the readings (dB) at
 * -FTOL, 0 and +FTOL has its top between the outer two when 4 y0 >= 3 y- + y+ and
 * 4 y0 >= y- + 3 y+ (its slope changes sign between them); here in powers, without logs. */
static int peaks_here(const double *pw, int k)
{
    const double p0 = pw[k] * pw[k] * pw[k] * pw[k], m = pw[8 + k], p = pw[16 + k];
    return p0 >= m * m * m * p && p0 >= m * p * p * p;
}

/*
 * Voiced speech can put two of its harmonics on a row and a column frequency. When the run's
 * tones are the n-th and m-th harmonics of one f0 (70-450 Hz) within HARM_TOL, read that f0's
 * other harmonics over the run, against the points halfway between them: the largest ratio
 * (dB) over the f0s that fit; -99 when none fits. Read over the run (its last HIST samples
 * when it is longer).
 */
static double harmonic_db(cq__dtmf *d, const run *u, const double *fmeas)
{
    const uint64_t a = d->rec[u->first % NREC].centre, b = d->rec[u->last % NREC].centre;
    uint64_t s0 = a > NW / 4 ? a - NW / 4 : 0, e = b + NW / 4;
    if (e > d->pos)
        e = d->pos;
    if (d->pos - s0 > HIST) /* a long run: its last HIST samples */
        s0 = d->pos - HIST;
    if (e < s0 + NW / 2)
        return -99;
    const int n = (int)(e - s0);
    for (int i = 0; i < n; i++)
        d->harm_x[i] = d->hist[(s0 + (uint64_t)i) % HIST];
    const double fr = fmeas[0], fc = fmeas[1];
    double best = -99;
    for (int h = 2; h <= 10; h++) {
        double f0 = fr / h;
        int m = (int)lround(fc / f0);
        if (f0 < 70 || f0 > 450 || fabs(fc - m * f0) > HARM_TOL * fc)
            continue;
        double pk = 0, va = 0;
        for (int j = 1; j <= m + 2 && (j + 0.5) * f0 < 3800; j++) {
            if (j == h || j == m)
                continue;
            pk += seg_power(d->harm_x, n, j * f0);
            va += seg_power(d->harm_x, n, (j + 0.5) * f0);
        }
        if (va > 0)
            best = fmax(best, db(pk) - db(va));
    }
    return best;
}

/* Frequency offsets (%) of frequency k over the first and the second half of the frames of w,
 * from the phase advance over 10 ms (a tone 1.5 % off turns at most 0.25 turn in that time). */
static void halves(const cq__dtmf *d, const run *w, int k, double *f2)
{
    const uint64_t mid = (w->first + w->last) / 2;
    for (int h = 0; h < 2; h++) {
        uint64_t i0 = h ? mid : w->first + 2, i1 = h ? w->last : mid;
        double nr = 0, ni = 0;
        for (uint64_t i = i0 < w->first + 2 ? w->first + 2 : i0; i <= i1; i++) {
            const frec *f = &d->rec[i % NREC], *q = &d->rec[(i - 2) % NREC];
            nr += (double)f->re[k] * q->re[k] + (double)f->im[k] * q->im[k];
            ni += (double)f->im[k] * q->re[k] - (double)f->re[k] * q->im[k];
        }
        f2[h] = atan2(ni, nr) / (2 * PI * 2 * HOP / RATE) / k_freq[k] * 100;
    }
}

/* The level of a run's weaker tone in frame i. */
static double pair_level(const cq__dtmf *d, const run *u, uint64_t i)
{
    return fmin(rec_pw(d, i, u->r), rec_pw(d, i, u->c));
}

/* Is the closed run u a digit? (The tests in the header comment.) */
static int judge(cq__dtmf *d, const run *u)
{
    if (u->frames < MIN_FRAMES)
        return 0;
    const int ks[2] = {u->r, u->c};
    /* the core: the frames where the pair is within CORE_DB of its peak */
    run w = *u;
    double peak = 0;
    for (uint64_t i = u->first; i <= u->last; i++)
        peak = fmax(peak, pair_level(d, u, i));
    while (w.first < w.last && db(pair_level(d, u, w.first)) < db(peak) - CORE_DB)
        w.first++;
    while (w.last > w.first && db(pair_level(d, u, w.last)) < db(peak) - CORE_DB)
        w.last--;
    const double span = (double)(w.last - w.first + 1);
    if (span < MIN_CORE)
        return 0; /* under about 22 ms (Q.24: a tone of 20 ms or less is no digit) */
    double bshare = 0, dom[2] = {0, 0}, pmax[2] = {0, 0};
    for (uint64_t i = w.first; i <= w.last; i++) {
        const frec *f = &d->rec[i % NREC];
        bshare += (f->pw[u->r] + f->pw[u->c]) / (f->band + 1e-20);
        for (int g = 0; g < 2; g++) {
            double other = 0;
            for (int k = 4 * g; k < 4 * g + 4; k++)
                if (k != ks[g])
                    other = fmax(other, f->pw[k]);
            dom[g] += db(f->pw[ks[g]]) - db(other);
            pmax[g] = fmax(pmax[g], f->pw[ks[g]]);
        }
    }
    if (bshare / span <= MIN_BAND_SHARE || dom[0] <= 0 || dom[1] <= 0)
        return 0;
    /* row and column rise and fall together */
    double comod = 0;
    int ncm = 0;
    for (uint64_t i = w.first; i <= w.last; i++) {
        double a = db(rec_pw(d, i, u->r) / pmax[0]), b = db(rec_pw(d, i, u->c) / pmax[1]);
        if (a < -3 && b < -3)
            continue;
        comod += fabs(fmax(a, -6) - fmax(b, -6));
        ncm++;
    }
    if (!ncm || comod / ncm >= MAX_COMOD_DB)
        return 0;
    /* each tone stands clear of its level before or after the run */
    for (int g = 0; g < 2; g++) {
        double pre = 1e9, post = 1e9;
        for (uint64_t i = u->first > PRE_A ? u->first - PRE_A : 0; i + PRE_B <= u->first; i++)
            pre = fmin(pre, rec_pw(d, i, ks[g]));
        for (uint64_t i = u->last + PRE_B; i <= u->last + POST && i < d->nfr; i++)
            post = fmin(post, rec_pw(d, i, ks[g]));
        if (db(pmax[g]) - db(fmin(pre, post)) < MIN_EDGE_DB)
            return 0;
    }
    /* each tone holds its frequency; measured there, are they two harmonics of one voice? */
    double fmeas[2];
    for (int g = 0; g < 2; g++) {
        double f2[2];
        halves(d, &w, ks[g], f2);
        if (fabs(f2[1] - f2[0]) >= MAX_GLIDE_PCT)
            return 0;
        fmeas[g] = k_freq[ks[g]] * (1 + 0.5 * (f2[0] + f2[1]) / 100);
    }
    /* no other row (column) that holds its frequency peaks within AMB_DB of the tone */
    int steady[8];
    for (int k = 0; k < 8; k++) {
        double f2[2];
        halves(d, &w, k, f2);
        steady[k] = fabs(f2[1] - f2[0]) < AMB_GLIDE_PCT;
    }
    int amb = 0;
    for (uint64_t i = w.first; i <= w.last; i++) {
        const frec *f = &d->rec[i % NREC];
        int a = 0;
        for (int g = 0; g < 2; g++)
            for (int k = 4 * g; k < 4 * g + 4; k++)
                a |= k != ks[g] && steady[k] && (f->tonal >> k & 1) &&
                     db(f->pw[k]) >= db(f->pw[ks[g]]) - AMB_DB;
        amb += a;
    }
    if (amb >= MAX_AMB * span)
        return 0;
    return harmonic_db(d, u, fmeas) < MAX_HARM_DB;
}

static void report(cq__dtmf *d, const run *u, int final)
{
    const uint64_t q = NW / 4;
    uint64_t a = d->rec[u->first % NREC].centre, b = d->rec[u->last % NREC].centre;
    cq__dtmf_digit dg = {u->sym, a > q ? a - q : 0, final ? d->pos : b + q};
    if (dg.end > d->pos)
        dg.end = d->pos;
    d->report(d->user, &dg);
}

/* The held digit is reported once no run that began before its end is still open. */
static void release(cq__dtmf *d, int final)
{
    if (!d->held.sym)
        return;
    if (!final) {
        for (int s = 0; s < 16; s++)
            if (d->act[s].sym && d->act[s].first <= d->held.last)
                return;
        for (int i = 0; i < d->npend; i++)
            if (d->pend[i].first <= d->held.last)
                return;
    }
    report(d, &d->held, final && d->held.last + GAP_FRAMES >= d->nfr);
    d->held.sym = 0;
}

static void accept(cq__dtmf *d, const run *u)
{
    if (d->held.sym && u->first <= d->held.last && d->held.first <= u->last) {
        if (u->frames > d->held.frames) /* two digits at once: the longer one */
            d->held = *u;
        return;
    }
    if (d->held.sym)
        release(d, 1);
    d->held = *u;
}

static void judge_pending(cq__dtmf *d, int final)
{
    int w = 0;
    for (int i = 0; i < d->npend; i++) {
        if (final || d->nfr > d->pend[i].last + POST) {
            if (judge(d, &d->pend[i]))
                accept(d, &d->pend[i]);
        } else {
            d->pend[w++] = d->pend[i];
        }
    }
    d->npend = w;
    release(d, final);
}

static void end_run(cq__dtmf *d, int q)
{
    if (!d->act[q].sym)
        return;
    if (d->npend == NPEND) { /* full (16 runs closing at once): judge the oldest now */
        if (judge(d, &d->pend[0]))
            accept(d, &d->pend[0]);
        memmove(d->pend, d->pend + 1, sizeof(run) * (NPEND - 1));
        d->npend--;
    }
    d->pend[d->npend++] = d->act[q];
    d->act[q].sym = 0;
}

/* The readings of the window x (Goertzel, one lane per frequency: the lanes are independent,
 * so the inner loop vectorises): powers pw[NF]; the DFT at the 8 frequencies, with the phase
 * taken at the window's last sample, in re[8], im[8]; the window's power in *e. */
CQ_CLONES static void read_frame(const cq__dtmf *d, const float *x, double *pw, double *e,
                                 double *re, double *im)
{
    float s1[NFP] = {0}, s2[NFP] = {0}, es = 0;
    for (int i = 0; i < DNW; i++) {
        const float v = x[i] * d->win[i];
        es += v * v;
        for (int k = 0; k < NFP; k++) {
            float s = v + d->coef[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s;
        }
    }
    for (int k = 0; k < NF; k++) {
        double a = s1[k], b = s2[k];
        pw[k] = d->norm * (a * a + b * b - 2 * d->cosw[k] * a * b);
        if (k < 8) { /* s1 - e^{-jw} s2 */
            re[k] = a - d->cosw[k] * b;
            im[k] = d->sinw[k] * b;
        }
    }
    *e = es / d->w2sum;
}

static void frame(cq__dtmf *d)
{
    float x[DNW];
    for (int i = 0; i < DNW; i++)
        x[i] = d->dhist[(d->dpos - DNW + (uint64_t)i) % DHIST];
    double pw[NF], e, rex[8], imx[8];
    read_frame(d, x, pw, &e, rex, imx);
    int tonal[8];
    for (int k = 0; k < 8; k++)
        tonal[k] = pw[k] >= d->min_pw && peaks_here(pw, k);
    frec *fr = &d->rec[d->nfr % NREC];
    fr->band = 0;
    for (int k = 0; k < 8; k++) {
        fr->pw[k] = (float)pw[k];
        fr->band += (float)pw[k];
        for (int j = 0; j < NFAR; j++)
            fr->band += (float)pw[24 + NFAR * k + j];
    }
    fr->centre = d->pos - DELAY - NW / 2;
    fr->tonal = 0;
    for (int k = 0; k < 8; k++)
        fr->tonal |= (unsigned char)(tonal[k] << k);
    /* times e^{-j w last}, last the window's last sample: the phase from the stream's start
     * (frames are HOP / 2 samples apart at DRATE: the factor turns by a fixed step) */
    for (int k = 0; k < 8; k++) {
        if (!d->nfr || d->nfr % 1024 == 0) { /* anew now and then: no drift */
            const uint64_t last = d->dpos - 1;
            double ph = -2 * PI * (double)(((uint64_t)k_freq[k] * (last % DRATE)) % DRATE) / DRATE;
            d->rot[k][0] = cos(ph), d->rot[k][1] = sin(ph);
        } else {
            double c = d->rot[k][0] * d->step[k][0] - d->rot[k][1] * d->step[k][1];
            d->rot[k][1] = d->rot[k][0] * d->step[k][1] + d->rot[k][1] * d->step[k][0];
            d->rot[k][0] = c;
        }
        const double c = d->rot[k][0], sn = d->rot[k][1];
        fr->re[k] = (float)(rex[k] * c - imx[k] * sn);
        fr->im[k] = (float)(rex[k] * sn + imx[k] * c);
    }
    const uint64_t idx = d->nfr++;
    for (int q = 0; q < 16; q++) {
        const int i = q / 4, j = 4 + q % 4;
        const double lvl = fmin(pw[i], pw[j]);
        int ok = tonal[i] && tonal[j] && pw[j] <= pw[i] * d->twist_rev &&
                 pw[i] <= pw[j] * d->twist_norm && pw[i] + pw[j] >= FRAME_SHARE * e;
        run *u = &d->act[q];
        if (ok && u->sym && lvl < u->peak * d->dip)
            ok = 0; /* a dip: the key was released, what is left is other sound */
        if (ok) {
            d->off[q] = 0;
            if (u->sym) {
                u->frames++;
                u->last = idx;
                u->peak = fmaxf(u->peak, (float)lvl);
            } else {
                *u = (run){k_keys[q], i, j, idx, idx, 1, (float)lvl};
            }
        } else if (u->sym && ++d->off[q] >= GAP_FRAMES) {
            end_run(d, q);
        }
    }
    judge_pending(d, 0);
}

/* The half-band filter's output at the last sample (the filter is symmetric: the order of
 * the taps does not matter, only that the NHB samples lie in a row). */
CQ_CLONES static float halfband(const cq__dtmf *d)
{
    const float *x = d->fir + d->firw; /* the oldest of the last NHB samples, then the rest */
    float acc[8] = {0};
    for (int k = 0; k < NHB + 1; k += 8) /* 8 partial sums: vectorises; hb[NHB] is 0 */
        for (int j = 0; j < 8; j++)
            acc[j] += d->hb[k + j] * x[k + j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void cq__dtmf_push(cq__dtmf *d, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        d->hist[d->pos % HIST] = x[i];
        d->pos++;
        d->fir[d->firw] = d->fir[d->firw + NHB] = x[i];
        d->firw = d->firw + 1 == NHB ? 0 : d->firw + 1;
        if (d->pos & 1)
            continue;
        d->dhist[d->dpos++ % DHIST] = halfband(d);
        d->nbuf += 2;
        if (d->nbuf >= HOP && d->dpos >= DNW + NHB) {
            d->nbuf = 0;
            frame(d);
        }
    }
}

void cq__dtmf_finish(cq__dtmf *d)
{
    for (int q = 0; q < 16; q++)
        end_run(d, q);
    judge_pending(d, 1);
}

int cq__dtmf_active(const cq__dtmf *d)
{
    for (int q = 0; q < 16; q++)
        if (d->act[q].sym && d->act[q].frames >= MIN_FRAMES)
            return 1;
    return d->npend > 0 || d->held.sym;
}
