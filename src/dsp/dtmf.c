/*
 * dtmf.c - a DTMF receiver for digits under speech (the second receiver of cq_tones, beside
 * libspandsp's; see tones.c).
 *
 * DESIGN
 * Frames: 40 ms Hann windows every 5 ms, read (a bank of Goertzel lanes, kernels.c) at the 8
 * DTMF frequencies, 1.5 % either side of each, and 8 points 60-130 Hz either side of each (the
 * rest of the DTMF bands), at 4 kHz: a half-band filter (79 taps, -0.5 dB at 1.8 kHz, -78 dB
 * from 2.3 kHz) halves the rate first, which halves the cost.
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
 * peak. It is a digit when (each test measured on tests/dsp/test_dtmf_speech.c and the corpus;
 * docs/events/dtmf-speech.md):
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
 *
 * VOICE CANCELLING (dtmf_cancel.c; a receiver made with a twin; tones.c runs one of each kind)
 * Voiced speech is locally periodic. Every 5 ms the local period T (70-500 Hz) is the lag of
 * least symmetric comb residual sum (x[m] - (x[m - T] + x[m + T]) / 2)^2 over 20 ms of the
 * signal with the 8 DTMF frequencies notched (so the tones do not bias it) and differenced
 * (so the higher harmonics, those in the DTMF bands, weigh most), refined by a parabola; a
 * segment is voiced when that residual is under 0.35 of the signal's power. On voiced
 * segments y[m] = x[m] - (x[m - T] + x[m + T] + x[m - 2T] + x[m + 2T]) / 4 (a 32-tap
 * Kaiser-windowed sinc reads the fractional lags) removes every harmonic of the voice at once,
 * while a tone of frequency f passes with the real gain g = 1 - (cos(2 pi f T) +
 * cos(4 pi f T)) / 2, known per segment (0 to 1.56; two periods either side rather than one
 * narrow the gain's nulls around the harmonics: fewer tones are lost on them). Unvoiced: y = x.
 * The frames are read on y, each lane at the 8 frequencies and 1.5 % either side weighing its
 * samples by the gain at its nominal frequency and normalised by the window's sum of w g^2 (a
 * matched estimate: a steady tone reads its own power whatever T does); the points around them
 * read y as it is (what is left of the voice). A tone whose mean squared gain over a frame is
 * under 0.35 sits on a voice harmonic and is not judged in that frame. The runs are judged by
 * the tests above, now on the cancelled signal (the voice no longer lifts one tone and not the
 * other, nor hides the tone's rise), with three changes measured on the corpus: the tones rise
 * and fall together within 1.8 dB (the cancelled signal reads less steadily), each tone stands
 * 2 dB over the rest of its group on average, and each lies within 0.5 % of nominal (the
 * digits this receiver alone would take wrongly, or from music and speech, were voice
 * harmonics 0.3-0.8 % off; a digit further off is left to the other receivers).
 *
 * THE GATED FIT (the voice-cancelled receiver, on runs the tests refuse)
 * A key is two sines at fixed frequencies that start and stop together. A tone gated to
 * [a, b) comes through the canceller as e^{jwm} (g(m) - sum_p (g(m + pT) e^{jwpT} +
 * g(m - pT) e^{-jwpT}) / 4), g the gate: where the tone sits on a voice harmonic the comb nulls
 * it inside the gate, but within 2T of its ends the comb reads the tone on one side and not on
 * the other, so the gated tone is never all lost; a voice harmonic that goes on across the gate
 * is not gated. Each run of 5 frames or more that the tests refuse or are too short for, on the
 * signal (the twin's) or here, is kept; once the samples 25 ms past it are in, the cancelled
 * signal over its span and 2 TMAX around is high-passed at 500 Hz and fitted by least squares
 * with the 8 tones so gated (a cosine and a sine each, through the same high-pass), the gate's
 * ends sought from 10 ms outside the run's to 20 ms inside; a gate under 35 ms is no digit (Q.24:
 * 20 ms is none). It is a digit when row and column each stand 6 dB over the rest of their
 * groups, the weaker no more than 1 dB under what is left, each 9 dB over its own fit over 25 ms
 * before or after the gate (fitted beside the gate's tones, whose comb echoes reach into those
 * 25 ms), and the two do not both sit on voice harmonics (fit_accepts; a
 * voice makes both then). Reported over the gate. Measured on tests/dsp/test_dtmf_speech.c
 * and the corpus (docs/events/dtmf-speech.md): of the runs refused on the corpus's speech, music
 * and calls that pass the other three, the weaker tone stood at best 2.9 dB under what is left. A
 * pair that holds steady may stand lower, down to 10 dB under what is left: the fit is run again
 * with each tone's change across the gate (the tone times its distance from the gate's centre), and
 * each tone's change from the centre to the ends, |rho|, must be 0.3 or less. A key from a digital
 * generator is steady at its nominal frequency; what the comb leaves of a voice swells, fades or
 * sits a little off the DTMF frequency (over a 50 ms gate, 0.3 is a tone 1.9 Hz off: 0.1-0.3 %). Of
 * the corpus's runs that pass every other test but the level, the steadiest pair had |rho| 0.54. A
 * key further off nominal than that (Q.24 allows 1.5 %; keypad chips on a 3.58 MHz crystal are up
 * to 0.7 % off) is held to the 1 dB rule. The same reading settles a rival row (column) within 6 dB
 * of the key's: the key is taken when it leads it, both its tones hold within |rho| 0.2 and every
 * such rival changes by 0.5 or more (a voice harmonic; a real key on the rival row would be
 * steady). Among the runs of the test's mixtures that would have been wrong digits, the steadiest
 * key with an unsteady rival had |rho| 0.32.
 *
 * A TRAIN'S SLOTS (cq__dtmf_probe; tones.c finds the trains)
 * Where a train of digits sent at a fixed cadence has an empty slot, the gate is known: one
 * fit there (its ends sought 10 ms either way) needs less evidence than the search over every
 * run. The strongest row and column each 6 dB over the rest of their groups, the weaker tone
 * no more than 10 dB under what is left, both steady within |rho| 0.4 when it stands under
 * 3 dB, not both on harmonics of the voice (the runs' test) when it stands under -4 dB, each
 * 9 dB over its fit before or after the gate. A slot between two of the train's digits
 * (`between`), where a key is all but certain, may take a key that changes more or leads less:
 * the weaker tone no more than 6 dB under what is left, each 15 dB over its fit before or after
 * the gate, and either 6 dB clear with |rho| up to 1.0 or 3 dB clear with |rho| up to 0.5
 * (what is left of a voice near a tone moves the fit's slopes; a key sits in the gate alone).
 * Where the train's level is known (lv: its digits' row and column amplitudes), a key whose
 * tones each sound within 3 dB of it, every other tone of their groups 6.5 dB or more under
 * it, is taken with less: the weaker tone no more than 10 dB under what is left, both steady
 * within |rho| 0.6, each 6 dB over its fit before or after the gate (a dialer sends a train's
 * digits at one level; a voice harmonic seldom sounds there with the rest quiet).
 * Gates of 50 ms every 25 ms along the corpus's speech, music, prompts and calls: 8 of 98 803
 * pass as a train's end slots, 17 as slots between its digits; with the train's level 7 and
 * 12 dB under the speech's, 11 and 12, and 19 and 21 (docs/events/dtmf-speech.md). A digit that
 * makes a train is placed by its key's own span (cq__dtmf_refine: the same gate search, 20 ms
 * either way, for the reported key), which also reads its level.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "dtmf_int.h"
#include "dtmf_rx_int.h"
#include "kernels_int.h"

static const int k_freq[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
static const double k_far[NFAR] = {-130, -105, -80, -60, 60, 80, 105, 130};
static const char k_keys[] = "123A456B789C*0#D";

cq__dtmf *cq__dtmf_create(cq__dtmf_report report, void *user, const cq__dtmf *twin)
{
    cq__dtmf *d = cq__calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->report = report;
    d->user = user;
    d->twin = twin;
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
    for (int k = 0; k < 8; k++) {
        const double r = 0.95, c = cos(2 * PI * k_freq[k] / DRATE);
        d->nc[k][0] = (float)(-2 * c);
        d->nc[k][1] = (float)(-2 * r * c);
        d->nc[k][2] = (float)(r * r);
    }
    for (int i = 0; i < DNW; i++)
        d->wseg[i / SEG] += d->win[i];
    d->ypos = 2 * SEG * 8;
    if (twin && !(d->yhist = cq__calloc(YHIST, sizeof(float)))) {
        cq__free(d);
        return NULL;
    }
    if (twin)
        for (int i = 0; i <= FPH; i++)
            cq__dtmf_frac_taps_exact((double)i / FPH, d->ftab[i]);
    return d;
}

void cq__dtmf_destroy(cq__dtmf *d)
{
    if (d)
        cq__free(d->yhist);
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

/* Power at f (Hz) of x[0..n), already windowed by a window of sum ws, in the frames'
 * normalisation (Goertzel). */
static double seg_power(const float *x, int n, double ws, double f)
{
    const double c = 2 * cos(2 * PI * f / RATE);
    double s1 = 0, s2 = 0;
    cq__k_goertzel(x, NULL, (size_t)n, c, &s1, &s2);
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
    const uint64_t a = u->start, b = d->rec[u->last % NREC].centre;
    uint64_t s0 = a > NW / 4 ? a - NW / 4 : 0, e = b + NW / 4;
    if (e > d->pos)
        e = d->pos;
    if (d->pos - s0 > HIST) /* a long run: its last HIST samples */
        s0 = d->pos - HIST;
    if (e < s0 + NW / 2)
        return -99;
    const int n = (int)(e - s0);
    double ws = 0; /* under a Hann window */
    for (int i = 0; i < n; i++) {
        const double w = 0.5 - 0.5 * cos(2 * PI * (i + 0.5) / n);
        d->harm_x[i] = (float)(w * d->hist[(s0 + (uint64_t)i) % HIST]);
        ws += w;
    }
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
            pk += seg_power(d->harm_x, n, ws, j * f0);
            va += seg_power(d->harm_x, n, ws, (j + 0.5) * f0);
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

/* The voice canceller's real gain at DTMF frequency k for the period T (samples at DRATE):
 * 1 - 2 cp sum over p = 1..NPER of cos(p th), th = 2 pi f T, the cosines by their recurrence
 * (cp = 1 / (2 NPER), the weight of each of the 2 NPER periods). */
double cq__dtmf_comb_gain(int k, double T)
{
    const double cp = 0.5 / NPER, c1 = cos(2 * PI * k_freq[k] * T / DRATE);
    double gs = 1, cos_prev = 1, cos_p = c1;
    for (int p = 1; p <= NPER; p++) {
        gs -= 2 * cp * cos_p;
        const double cos_next = 2 * c1 * cos_p - cos_prev;
        cos_prev = cos_p, cos_p = cos_next;
    }
    return gs;
}

/* The cancelled signal's basis for the 8 tones gated to [ga, gb) at sample m (at DRATE): the
 * real and imaginary parts of e^{jwm} (g(m) - cp sum_p (g(m + pT) e^{jwpT} + g(m - pT)
 * e^{-jwpT})), g the gate, in v[k] and v[8 + k]; e[k] = e^{jwm} and, for the segment's T,
 * ep[k][p] = e^{jwpT}, are the caller's. */
static void fit_basis(double m, double T, double ga, double gb, const double (*e)[2],
                      const double (*ep)[NPER][2], double *v)
{
    const double cp = 0.5 / NPER;
    const int in = m >= ga && m < gb;
    for (int k = 0; k < 8; k++) {
        double sr = in, si = 0;
        for (int p = 0; p < NPER && T > 0; p++) {
            const double L = (p + 1) * T;
            if (m + L >= ga && m + L < gb)
                sr -= cp * ep[k][p][0], si -= cp * ep[k][p][1];
            if (m - L >= ga && m - L < gb)
                sr -= cp * ep[k][p][0], si += cp * ep[k][p][1];
        }
        v[k] = e[k][0] * sr - e[k][1] * si;
        v[8 + k] = e[k][1] * sr + e[k][0] * si;
    }
}

/* The same for each tone times u = (m - mc) / h, its change across the gate (mc the gate's
 * centre, h half its length), in v[16 + k] and v[24 + k]. Apart from fit_basis so that the
 * gate search's fits, which need no slopes, keep theirs inlined (with this loop inside it, gcc
 * stopped inlining fit_basis: the events analyzer 30 % slower on hold music, bench_events). */
static void fit_basis_slopes(double m, double T, double ga, double gb, const double (*e)[2],
                             const double (*ep)[NPER][2], double mc, double h, double *v)
{
    const double cp = 0.5 / NPER;
    for (int k = 0; k < 8; k++) {
        double tr = m >= ga && m < gb ? (m - mc) / h : 0, ti = 0;
        for (int p = 0; p < NPER && T > 0; p++) {
            const double L = (p + 1) * T;
            if (m + L >= ga && m + L < gb) {
                const double u = (m + L - mc) / h;
                tr -= cp * u * ep[k][p][0], ti -= cp * u * ep[k][p][1];
            }
            if (m - L >= ga && m - L < gb) {
                const double u = (m - L - mc) / h;
                tr -= cp * u * ep[k][p][0], ti += cp * u * ep[k][p][1];
            }
        }
        v[16 + k] = e[k][0] * tr - e[k][1] * ti;
        v[24 + k] = e[k][1] * tr + e[k][0] * ti;
    }
}

/* Solve the n x n normal equations G c = r in place (Cholesky, a small ridge); 0: singular. */
static int solve_fit(double (*G)[NFIT], double *r, int n)
{
    double tr = 0;
    for (int i = 0; i < n; i++)
        tr += G[i][i];
    for (int i = 0; i < n; i++)
        G[i][i] += 1e-9 * tr / n + 1e-30;
    for (int j = 0; j < n; j++) {
        double s = G[j][j];
        for (int k = 0; k < j; k++)
            s -= G[j][k] * G[j][k];
        if (s <= 0)
            return 0;
        G[j][j] = sqrt(s);
        for (int i = j + 1; i < n; i++) {
            double t = G[i][j];
            for (int k = 0; k < j; k++)
                t -= G[i][k] * G[j][k];
            G[i][j] = t / G[j][j];
        }
    }
    for (int i = 0; i < n; i++) { /* L z = r, then L' c = z */
        for (int k = 0; k < i; k++)
            r[i] -= G[i][k] * r[k];
        r[i] /= G[i][i];
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int k = i + 1; k < n; k++)
            r[i] -= G[k][i] * r[k];
        r[i] /= G[i][i];
    }
    return 1;
}

/* A sample of the 8 kHz signal at the fit's rate (DRATE, the half-band filter's delay counted),
 * and back. */
static uint64_t half_rate(uint64_t x)
{
    return (x + DELAY) / 2;
}

static uint64_t full_rate(uint64_t g)
{
    return 2 * g > DELAY ? 2 * g - DELAY : 0;
}

/* Are the samples a fit over [wa, wb) reads kept (the comb's reach and the high-pass's warm-up
 * around it)? */
static int fit_kept(const cq__dtmf *d, uint64_t wa, uint64_t wb)
{
    return wa >= FIT_REACH + FIT_WARM + 2 * SEG && wb + FIT_REACH <= d->ypos &&
           d->ypos - (wa - FIT_REACH - FIT_WARM) <= YHIST - 2 * SEG;
}

/*
 * The gated fit: the voice-cancelled signal over [ga, gb) and FIT_REACH around it, fitted by
 * least squares with the 8 tones gated to [ga, gb) as they come through the canceller
 * (fit_basis; near the gate's ends the comb reads a tone on one side and not the other, so a
 * tone that sits on a voice harmonic is not nulled there). amp[k]: the tones' amplitudes; *res:
 * the power of what is left over the gate, high-passed at 500 Hz (the voice under the DTMF
 * bands is no measure of what competes with the tones). With `beside` ({ka, kb}; nc = NFIT),
 * the 8 tones gated to [ka, kb) are fitted beside them (the window then covers both gates).
 * With `rho` (not NULL; nc = NFIT) each tone's change across the gate is fitted as well
 * (fit_basis_slopes): rho[k] = D / C, C the tone's complex amplitude and D its
 * slope's, so that the tone at the gate's ends is C (1 +- rho): a key held steady at its
 * nominal frequency has rho near 0, a tone df off turns by 2 pi df (gb - ga) / 2 radians there
 * (Im rho), one that swells or fades by Re rho. 0: the samples are no longer (or not yet) kept.
 */
static int fit_columns(const cq__dtmf *d, uint64_t ga, uint64_t gb, const uint64_t *beside,
                       const int nc, double *amp, double *res, double (*rho)[2])
{
    const uint64_t wa = beside && beside[0] < ga ? beside[0] : ga,
                   wb = beside && beside[1] > gb ? beside[1] : gb;
    if (!fit_kept(d, wa, wb))
        return 0;
    const uint64_t lo = wa - FIT_REACH, hi = wb + FIT_REACH, l0 = lo - FIT_WARM;
    const double fa = (double)ga - 0.5, fb = (double)gb - 0.5;
    /* a 4th-order high-pass at 500 Hz (a Butterworth biquad twice) on the signal and on every
     * column of the basis alike: the voice under the DTMF bands, what the comb leaves of it
     * the strongest, is kept out of the fit and of what is left */
    const double c5 = cos(2 * PI * 500 / DRATE), al = sin(2 * PI * 500 / DRATE) / sqrt(2.0);
    const double hb0 = (1 + c5) / 2 / (1 + al), hb1 = -(1 + c5) / (1 + al),
                 ha1 = -2 * c5 / (1 + al), ha2 = (1 - al) / (1 + al);
    const double mc = ((double)ga + (double)gb - 1) / 2, hh = ((double)gb - (double)ga) / 2;
    double G[NFIT][NFIT], r[NFIT] = {0}, e[8][2], rot[8][2], ep[8][NPER][2], v[NFIT + 1];
    for (int i = 0; i < nc; i++)
        memset(G[i], 0, sizeof(double) * (size_t)(i + 1));
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 8; k++) {
            const double w = 2 * PI * k_freq[k] / DRATE; /* phases from l0: amplitudes count */
            e[k][0] = 1, e[k][1] = 0;
            rot[k][0] = cos(w), rot[k][1] = sin(w);
        }
        double z[NFIT + 1][2][4]; /* per column: x1 x2 y1 y2 per stage */
        memset(z, 0, sizeof(z[0]) * (size_t)(nc + 1));
        double acc = 0, Tprev = -1;
        for (uint64_t m = l0; m < hi; m++) {
            const double T = d->tper[(m / SEG) % NSEGR];
            if (T != Tprev) {
                for (int k = 0; k < 8; k++)
                    for (int p = 0; p < NPER; p++) {
                        const double th = 2 * PI * k_freq[k] * (p + 1) * T / DRATE;
                        ep[k][p][0] = cos(th), ep[k][p][1] = sin(th);
                    }
                Tprev = T;
            }
            fit_basis((double)m, T, fa, fb, (const double(*)[2])e, (const double(*)[NPER][2])ep, v);
            if (beside)
                fit_basis((double)m, T, (double)beside[0] - 0.5, (double)beside[1] - 0.5,
                          (const double(*)[2])e, (const double(*)[NPER][2])ep, v + 16);
            else if (nc > 16)
                fit_basis_slopes((double)m, T, fa, fb, (const double(*)[2])e,
                                 (const double(*)[NPER][2])ep, mc, hh, v);
            v[nc] = d->yhist[m % YHIST];
            for (int i = 0; i <= nc; i++)
                for (int st = 0; st < 2; st++) {
                    double *q = z[i][st];
                    const double h = hb0 * (v[i] + q[1]) + hb1 * q[0] - ha1 * q[2] - ha2 * q[3];
                    q[1] = q[0], q[0] = v[i], q[3] = q[2], q[2] = h;
                    v[i] = h;
                }
            for (int k = 0; k < 8; k++) {
                const double c = e[k][0] * rot[k][0] - e[k][1] * rot[k][1];
                e[k][1] = e[k][0] * rot[k][1] + e[k][1] * rot[k][0];
                e[k][0] = c;
            }
            if (m < lo)
                continue;
            if (!pass) {
                for (int i = 0; i < nc; i++) {
                    r[i] += v[i] * v[nc];
                    for (int j = 0; j <= i; j++)
                        G[i][j] += v[i] * v[j];
                }
            } else if (m >= ga && m < gb) {
                double q = v[nc];
                for (int i = 0; i < nc; i++)
                    q -= r[i] * v[i];
                acc += q * q;
            }
        }
        if (!pass) {
            for (int i = 0; i < nc; i++)
                for (int j = i + 1; j < nc; j++)
                    G[i][j] = G[j][i];
            if (!solve_fit(G, r, nc))
                return 0;
        } else {
            *res = acc / (double)(gb - ga);
        }
    }
    for (int k = 0; k < 8; k++) {
        amp[k] = hypot(r[k], r[8 + k]);
        if (rho) { /* D / C, C = r[k] - j r[8 + k] and D = r[16 + k] - j r[24 + k] */
            const double cr = r[k], ci = -r[8 + k], dr = r[16 + k], di = -r[24 + k];
            const double n2 = cr * cr + ci * ci + 1e-30;
            rho[k][0] = (dr * cr + di * ci) / n2;
            rho[k][1] = (di * cr - dr * ci) / n2;
        }
    }
    return 1;
}

/* The gated fit of the 8 tones alone (fit_columns without their slopes). */
static int gated_fit(const cq__dtmf *d, uint64_t ga, uint64_t gb, double *amp, double *res)
{
    return fit_columns(d, ga, gb, NULL, 16, amp, res, NULL);
}

/* The mean squared comb gain at DTMF frequency k over [ga, gb), every half segment (1 where
 * unvoiced; near 0 on a voice harmonic). */
static double gate_gain(const cq__dtmf *d, int k, uint64_t ga, uint64_t gb)
{
    double gs = 0;
    int ns = 0;
    for (uint64_t m = ga; m < gb; m += SEG / 2, ns++) {
        const double T = d->tper[(m / SEG) % NSEGR], gain = T > 0 ? cq__dtmf_comb_gain(k, T) : 1;
        gs += gain * gain;
    }
    return ns ? gs / ns : 0;
}

/* Do the key u's two tones both sit on harmonics of the voice over [ga, gb) (the mean squared
 * comb gain of the better placed one under FIT_GAIN)? A voice makes both then. */
static int on_harmonics(const cq__dtmf *d, const run *u, uint64_t ga, uint64_t gb)
{
    return fmax(gate_gain(d, u->r, ga, gb), gate_gain(d, u->c, ga, gb)) < FIT_GAIN;
}

/* The tests of fit_accepts on the fit amp / res of the gate [ga, gb) that need no other fit:
 * the key's dominance in its groups (dB, the lesser of the two) and its weaker tone against
 * what is left (dB). */
static void fit_reading(const run *u, const double *amp, double res, double *dom, double *snr)
{
    const int ks[2] = {u->r, u->c};
    *dom = 1e9;
    for (int g = 0; g < 2; g++) {
        double other = 0;
        for (int k = 4 * g; k < 4 * g + 4; k++)
            if (k != ks[g])
                other = fmax(other, amp[k]);
        *dom = fmin(*dom, db(amp[ks[g]] * amp[ks[g]]) - db(other * other));
    }
    const double weak = fmin(amp[u->r], amp[u->c]);
    *snr = db(weak * weak / 2) - db(res);
}

/* How much the key's two tones change over the gate [ga, gb), from its centre to its ends: the
 * larger |rho| of the two (fit_columns with the tones' slopes; at their nominal frequencies),
 * every tone's rho in `rho`. -1: the samples are no longer (or not yet) kept. */
static double key_change(const cq__dtmf *d, const run *u, uint64_t ga, uint64_t gb,
                         double (*rho)[2])
{
    double a2[8], res;
    if (!fit_columns(d, ga, gb, NULL, NFIT, a2, &res, rho))
        return -1;
    return fmax(hypot(rho[u->r][0], rho[u->r][1]), hypot(rho[u->c][0], rho[u->c][1]));
}

/* Do the key's two tones hold steady over the gate [ga, gb): does each change by at most
 * `limit` (key_change)? With amp (the gated fit's amplitudes), also: does every other tone of
 * their groups that comes within FIT_DOM_DB of the key's change by FIT_UNSTEADY or more (a voice
 * harmonic, not a key)? */
static int fit_steady(const cq__dtmf *d, const run *u, uint64_t ga, uint64_t gb, double limit,
                      const double *amp)
{
    double rho[8][2];
    const double change = key_change(d, u, ga, gb, rho);
    if (change < 0 || change > limit)
        return 0;
    const int ks[2] = {u->r, u->c};
    for (int g = 0; g < 2; g++) {
        for (int k = 4 * g; k < 4 * g + 4 && amp; k++)
            if (k != ks[g] && db(amp[ks[g]] * amp[ks[g]]) - db(amp[k] * amp[k]) < FIT_DOM_DB &&
                hypot(rho[k][0], rho[k][1]) < FIT_UNSTEADY)
                return 0;
    }
    return 1;
}

/* Does each of the key's tones (amp: the gated fit on [ga, gb)) stand FIT_EDGE_DB over its own
 * fit over FIT_EDGE before or after the gate (a key is pressed and released)? Those windows are
 * fitted beside the gate's own tones, whose comb echoes reach 2 TMAX into them. */
static int fit_edges(const cq__dtmf *d, const run *u, uint64_t ga, uint64_t gb, const double *amp,
                     double edge_db)
{
    double pre[8], post[8], r2;
    const uint64_t key[2] = {ga, gb};
    const int okp = fit_columns(d, ga - FIT_EDGE, ga, key, NFIT, pre, &r2, NULL),
              okq = fit_columns(d, gb, gb + FIT_EDGE, key, NFIT, post, &r2, NULL);
    const int ks[2] = {u->r, u->c};
    for (int g = 0; g < 2; g++) {
        const double around = okp && okq ? fmin(pre[ks[g]], post[ks[g]])
                              : okp      ? pre[ks[g]]
                              : okq      ? post[ks[g]]
                                         : 0;
        if (db(amp[ks[g]] * amp[ks[g]]) - db(around * around) < edge_db)
            return 0;
    }
    return 1;
}

/* The key of the strongest row and column of a fit's amplitudes. */
static run strongest(const double *amp)
{
    run u = {.r = 0, .c = 4};
    for (int k = 1; k < 4; k++) {
        u.r = amp[k] > amp[u.r] ? k : u.r;
        u.c = amp[4 + k] > amp[u.c] ? 4 + k : u.c;
    }
    u.sym = k_keys[4 * u.r + u.c - 4];
    return u;
}

/* Seek the gate [*ga, *gb)'s ends, one after the other, from `out` outside to `in` inside in
 * steps of `step`, where the key's two tones explain the most (amplitude squared times the
 * gate's length: a gate too long dilutes them, one too short leaves part out); gates under
 * min_gate are not tried. u: the key, or NULL for the strongest row and column of each gate.
 * best_amp / best_res: the gated fit of the gate found (the last end's best). 0: no gate could
 * be fitted. */
static int gate_search(const cq__dtmf *d, const run *u, int out, int in, int step, int min_gate,
                       uint64_t *ga, uint64_t *gb, double *best_amp, double *best_res)
{
    double amp[8], res;
    for (int end = 0; end < 2; end++) {
        double best = -1;
        const uint64_t at0 = end ? *gb : *ga;
        uint64_t at = at0;
        for (int s = end ? -in : -out; s <= (end ? out : in); s += step) {
            const uint64_t x = s < 0 ? at0 - (uint64_t)-s : at0 + (uint64_t)s;
            const uint64_t a = end ? *ga : x, b = end ? x : *gb;
            if (b < a + (uint64_t)min_gate || !gated_fit(d, a, b, amp, &res))
                continue;
            const run v = u ? *u : strongest(amp);
            const double sc = (amp[v.r] * amp[v.r] + amp[v.c] * amp[v.c]) * (double)(b - a);
            if (sc > best) {
                best = sc, at = x;
                memcpy(best_amp, amp, sizeof(amp));
                *best_res = res;
            }
        }
        if (best < 0)
            return 0;
        *(end ? gb : ga) = at;
    }
    return 1;
}

/*
 * Is a run the tests refused a digit by the gated fit? The gate starts as the run's span (its
 * first and last frames' centres, NW / 4 either side); each end is then sought from FIT_SHIFT
 * outside to twice that inside (gate_search). A gate under FIT_MIN_TONE is no digit. On that
 * gate:
 *   - the row and the column are each FIT_DOM_DB over the rest of their groups, or lead them
 *     and hold within FIT_STEADY_KEY while every rival within FIT_DOM_DB does not (fit_steady);
 *   - the weaker stands FIT_SNR_DB over what is left of the signal over the gate, or
 *     FIT_STEADY_SNR_DB when both hold steady (fit_steady);
 *   - each stands FIT_EDGE_DB over its fitted level over FIT_EDGE before or after the gate (a
 *     key is pressed and released);
 *   - the two do not both sit on harmonics of the voice under them (the mean squared comb gain
 *     of the one further from them at least FIT_GAIN): a voice makes both then.
 * b8: the run's last frame's centre. On a yes, *dg is the digit over the gate.
 */
static int fit_accepts(const cq__dtmf *d, const run *u, uint64_t b8, cq__dtmf_digit *dg)
{
    const uint64_t a8 = u->start;
    uint64_t ga = half_rate(a8 > NW / 4 ? a8 - NW / 4 : 0), gb = half_rate(b8 + NW / 4);
    if (gb <= ga || gb - ga > FIT_MAX_SPAN || ga < FIT_SHIFT)
        return 0;
    /* first, what needs no search: both tones on voice harmonics, or a fit on the run's own
     * span too far from the limits for 10 ms either way to reach them (the 1 dB limit, not a
     * steady pair's 10 dB: searching down to that took 1-2 more of 880 digits at -7 and -12 dB
     * for 30 % more CPU on hold music, whose notes make many such runs) */
    double amp[8], res = 0, dom, snr;
    if (on_harmonics(d, u, ga, gb) || !gated_fit(d, ga, gb, amp, &res))
        return 0;
    fit_reading(u, amp, res, &dom, &snr);
    if (dom < FIT_DOM_DB - FIT_HOPE_DB || snr < FIT_SNR_DB - FIT_HOPE_DB)
        return 0;
    /* out by FIT_SHIFT, in by twice that (a run's frames outlast a short tone) */
    if (!gate_search(d, u, FIT_SHIFT, 2 * FIT_SHIFT, FIT_STEP, FIT_MIN_GATE, &ga, &gb, amp, &res) ||
        gb < ga + FIT_MIN_TONE)
        return 0;
    fit_reading(u, amp, res, &dom, &snr);
    if (dom < 0 || snr < FIT_STEADY_SNR_DB || on_harmonics(d, u, ga, gb))
        return 0;
    const int rival = dom < FIT_DOM_DB; /* (FIT_STEADY_KEY < FIT_STEADY) */
    if ((rival || snr < FIT_SNR_DB) &&
        !fit_steady(d, u, ga, gb, rival ? FIT_STEADY_KEY : FIT_STEADY, rival ? amp : NULL))
        return 0;
    if (!fit_edges(d, u, ga, gb, amp, FIT_EDGE_DB))
        return 0;
    *dg = (cq__dtmf_digit){u->sym, full_rate(ga), full_rate(gb)};
    return 1;
}

/* Is the closed run u a digit? (The tests in the header comment.) 1 yes, 0 no, -1 too short for
 * any of them. */
static int judge_tests(cq__dtmf *d, const run *u)
{
    if (u->frames < MIN_FRAMES)
        return -1;
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
        return -1; /* under about 22 ms (Q.24: a tone of 20 ms or less is no digit) */
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
    const double min_dom = d->twin ? CANCEL_DOM_DB * span : 0;
    if (bshare / span <= MIN_BAND_SHARE || dom[0] <= min_dom || dom[1] <= min_dom)
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
    if (!ncm || comod / ncm >= (d->twin ? CANCEL_COMOD_DB : MAX_COMOD_DB))
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
        if (d->twin && fabs(0.5 * (f2[0] + f2[1])) > CANCEL_FTOL_PCT)
            return 0;
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

/* Does the key u sound at the train's level lv (its row's and column's amplitudes): each of its
 * tones within SLOT_LEVEL_DB of it, every other tone of their groups SLOT_LEVEL_REST_DB or more
 * under it? */
static int at_level(const run *u, const double *amp, const double *lv)
{
    const int ks[2] = {u->r, u->c};
    for (int g = 0; g < 2; g++)
        for (int k = 4 * g; k < 4 * g + 4; k++) {
            const double rel = db(amp[k] * amp[k]) - db(lv[g] * lv[g]);
            if (k == ks[g] ? fabs(rel) > SLOT_LEVEL_DB : rel > -SLOT_LEVEL_REST_DB)
                return 0;
        }
    return 1;
}

/* A slot of a train (tones.c): is there a key over the gate [a, b) (8 kHz samples)? Where the
 * neighbours place a digit, the gate is known and one fit is tried, not the search over every
 * run: the tests are those of fit_accepts, looser, and looser still `between` two digits of the
 * train (measured in docs/events/dtmf-speech.md). */
int cq__dtmf_probe(const cq__dtmf *d, uint64_t a, uint64_t b, int between, const double *lv)
{
    uint64_t ga = half_rate(a), gb = half_rate(b);
    double amp[8], res, dom, snr;
    if (!d->twin || ga < FIT_EDGE + SLOT_SHIFT ||
        !fit_kept(d, ga - FIT_EDGE - SLOT_SHIFT, gb + FIT_EDGE + SLOT_SHIFT))
        return -1; /* the samples are not (or no longer) kept */
    /* each end sought SLOT_SHIFT either way, where the strongest row and column explain most */
    if (!gate_search(d, NULL, SLOT_SHIFT, SLOT_SHIFT, SLOT_STEP, FIT_MIN_TONE, &ga, &gb, amp, &res))
        return 0;
    const run u = strongest(amp);
    fit_reading(&u, amp, res, &dom, &snr);
    double rho[8][2], change = -2; /* key_change, once it is read (-2: not yet) */
    if (lv && snr >= SLOT_LEVEL_SNR_DB && at_level(&u, amp, lv)) {
        change = key_change(d, &u, ga, gb, rho);
        if (change >= 0 && change <= SLOT_LEVEL_STEADY &&
            fit_edges(d, &u, ga, gb, amp, SLOT_LEVEL_EDGE_DB))
            return u.sym;
    }
    if (snr < SLOT_SNR_DB || dom < SLOT_IN_DOM_DB ||
        (snr < SLOT_HARM_DB && on_harmonics(d, &u, ga, gb)))
        return 0;
    const int clear = dom >= SLOT_DOM_DB, loose = between && snr >= SLOT_IN_SNR_DB;
    if (clear && snr >= SLOT_FREE_SNR_DB)
        return fit_edges(d, &u, ga, gb, amp, FIT_EDGE_DB) ? u.sym : 0;
    if (!clear && !loose)
        return 0;
    if (change < -1)
        change = key_change(d, &u, ga, gb, rho);
    if (change < 0)
        return 0;
    if (clear && change <= SLOT_STEADY)
        return fit_edges(d, &u, ga, gb, amp, FIT_EDGE_DB) ? u.sym : 0;
    /* between two digits: a key that changes more (what is left of a voice near its tones
     * moves the fit's slopes), or leads its groups by less, but stands clearer of the gate's
     * surroundings */
    if (!loose || change > (clear ? SLOT_IN_STEADY : SLOT_IN_KEY_STEADY))
        return 0;
    return fit_edges(d, &u, ga, gb, amp, SLOT_IN_EDGE_DB) ? u.sym : 0;
}

int cq__dtmf_refine(const cq__dtmf *d, char sym, uint64_t *a, uint64_t *b, double *lv)
{
    const char *k = strchr(k_keys, sym);
    uint64_t ga = half_rate(*a), gb = half_rate(*b);
    double amp[8], res;
    if (!sym || !k || !d->twin || ga < REFINE_SHIFT)
        return 0;
    if (gb + REFINE_SHIFT + FIT_REACH > d->ypos)
        return -1; /* not yet */
    if (!fit_kept(d, ga - REFINE_SHIFT, gb + REFINE_SHIFT))
        return 0;
    const run u = {.sym = sym, .r = (int)(k - k_keys) / 4, .c = 4 + (int)(k - k_keys) % 4};
    if (!gate_search(d, &u, REFINE_SHIFT, REFINE_SHIFT, SLOT_STEP, REFINE_MIN, &ga, &gb, amp, &res))
        return 0;
    *a = full_rate(ga);
    *b = full_rate(gb);
    lv[0] = amp[u.r], lv[1] = amp[u.c];
    return 1;
}

/* Is the closed run u a digit by the tests? One of FIT_MIN_FRAMES that they refuse, or that is
 * too short for them, is kept for the gated fit (take_refused). */
static int judge(cq__dtmf *d, const run *u)
{
    const int t = judge_tests(d, u);
    if (t == 0 || (t < 0 && u->frames >= FIT_MIN_FRAMES)) {
        d->refused[d->nrefused % NREFUSED].u = *u;
        d->refused[d->nrefused++ % NREFUSED].end = d->rec[u->last % NREC].centre;
    }
    return t > 0;
}

static void report(cq__dtmf *d, const run *u, int final)
{
    const uint64_t q = NW / 4;
    uint64_t a = u->start, b = d->rec[u->last % NREC].centre;
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

/* The first of t's refused runs from `taken` on that its ring still holds (an overrun loses the
 * oldest). */
static uint64_t refused_kept(const cq__dtmf *t, uint64_t taken)
{
    return t->nrefused - taken > NREFUSED ? t->nrefused - NREFUSED : taken;
}

/* The runs that either receiver refused, fitted here once the samples after them are in
 * (voice-cancelled receiver): a digit the fit accepts is reported over the gate it found. A
 * ring overrun (more than NREFUSED waiting) loses the oldest. */
static void take_refused(cq__dtmf *d, int final)
{
    const cq__dtmf *const rings[2] = {d->twin, d};
    for (int w = 0; w < 2; w++) {
        const cq__dtmf *t = rings[w];
        uint64_t *taken = w ? &d->ntaken_own : &d->ntaken;
        *taken = refused_kept(t, *taken);
        while (*taken < t->nrefused) {
            const run *u = &t->refused[*taken % NREFUSED].u;
            const uint64_t end = t->refused[*taken % NREFUSED].end;
            if (!final && half_rate(end + NW / 4) + FIT_AFTER > d->ypos)
                break;
            (*taken)++;
            cq__dtmf_digit dg;
            if (fit_accepts(d, u, end, &dg))
                d->report(d->user, &dg);
        }
    }
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

/* The readings of the window x at the 8 frequencies and 1.5 % either side (a bank of Goertzel
 * lanes, one per frequency: cq__k_goertzel_bank): powers pw[0..NEAR); the DFT at the 8
 * frequencies, with the phase taken at the window's last sample, in re[8], im[8]; the window's
 * power in *e. */
static void read_frame(const cq__dtmf *d, const float *x, double *pw, double *e, double *re,
                       double *im)
{
    float s1[NEAR] = {0}, s2[NEAR] = {0}, es = 0;
    cq__k_goertzel_bank(x, d->win, DNW, d->coef, NEAR, NULL, 0, s1, s2, &es);
    for (int k = 0; k < NEAR; k++) {
        double a = s1[k], b = s2[k];
        pw[k] = d->norm * (a * a + b * b - 2 * d->cosw[k] * a * b);
        if (k < 8) { /* s1 - e^{-jw} s2 */
            re[k] = a - d->cosw[k] * b;
            im[k] = d->sinw[k] * b;
        }
    }
    *e = es / d->w2sum;
}

/* The readings of the window x at the points around each frequency, pw[NEAR..NF): only the
 * frames that can be part of a run read them (the band share; `frame`). */
static void read_far(const cq__dtmf *d, const float *x, double *pw)
{
    float s1[NF - NEAR] = {0}, s2[NF - NEAR] = {0};
    cq__k_goertzel_bank(x, d->win, DNW, d->coef + NEAR, NF - NEAR, NULL, 0, s1, s2, NULL);
    for (int k = 0; k < NF - NEAR; k++) {
        double a = s1[k], b = s2[k];
        pw[NEAR + k] = d->norm * (a * a + b * b - 2 * d->cosw[NEAR + k] * a * b);
    }
}

/* read_frame on the voice-cancelled signal: lane k weighs each sample by its segment's tone
 * gain (a matched estimate of a tone through the canceller: the bank's rows of gains, one per
 * segment) and is normalised by the window's sum of the squared gains. (The points around read
 * the cancelled signal as it is: read_far.) */
static void read_frame_g(const cq__dtmf *d, const float *x, const float (*g)[NEAR], double *pw,
                         double *e, double *re, double *im, double *gm)
{
    float s1[NEAR] = {0}, s2[NEAR] = {0}, es = 0;
    cq__k_goertzel_bank(x, d->win, DNW, d->coef, NEAR, g[0], SEG, s1, s2, &es);
    double wsum = 0;
    for (int sgi = 0; sgi < DNW / SEG; sgi++)
        wsum += d->wseg[sgi];
    for (int k = 0; k < NEAR; k++) {
        double sg = 0;
        for (int sgi = 0; sgi < DNW / SEG; sgi++)
            sg += d->wseg[sgi] * (double)g[sgi][k] * g[sgi][k];
        if (k < 8)
            gm[k] = sg / wsum;
        if (sg < GFLOOR * wsum)
            sg = GFLOOR * wsum;
        double a = s1[k], b = s2[k];
        pw[k] = 2 * (a * a + b * b - 2 * d->cosw[k] * a * b) / (sg * sg);
        if (k < 8) {
            re[k] = (a - d->cosw[k] * b) * wsum / sg;
            im[k] = d->sinw[k] * b * wsum / sg;
        }
    }
    *e = es / d->w2sum;
}

static void frame(cq__dtmf *d)
{
    float x[DNW];
    double pw[NF], e, rex[8], imx[8], gm[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    uint64_t wend = d->dpos; /* the window's end (samples at DRATE) */
    if (d->twin) {
        if (d->dpos < d->ypos + AHEAD)
            return;
        cq__dtmf_cancel_segment(d);
        d->ypos += SEG;
        wend = d->ypos;
        float g[DNW / SEG][NEAR];
        for (int i = 0; i < DNW; i++)
            x[i] = d->yhist[(wend - DNW + (uint64_t)i) % YHIST];
        for (int sgi = 0; sgi < DNW / SEG; sgi++)
            memcpy(g[sgi], d->g[((wend - DNW) / SEG + (uint64_t)sgi) % 8], sizeof(g[0]));
        read_frame_g(d, x, (const float(*)[NEAR])g, pw, &e, rex, imx, gm);
    } else {
        for (int i = 0; i < DNW; i++)
            x[i] = d->dhist[(d->dpos - DNW + (uint64_t)i) % DHIST];
        read_frame(d, x, pw, &e, rex, imx);
    }
    int tonal[8];
    for (int k = 0; k < 8; k++)
        tonal[k] = pw[k] >= d->min_pw && peaks_here(pw, k) && gm[k] >= GAIN_MIN;
    /* the points around the frequencies, for the band share of a run's frames: read when the
     * frame has a tonal row and column (a run starts or goes on) or a run is open (it may span
     * this frame) */
    int far =
        (tonal[0] | tonal[1] | tonal[2] | tonal[3]) && (tonal[4] | tonal[5] | tonal[6] | tonal[7]);
    for (int q = 0; q < 16 && !far; q++)
        far = d->act[q].sym != 0;
    frec *fr = &d->rec[d->nfr % NREC];
    fr->band = 0;
    if (far)
        read_far(d, x, pw);
    for (int k = 0; k < 8; k++) {
        fr->pw[k] = (float)pw[k];
        fr->band += (float)pw[k];
        for (int j = 0; j < NFAR && far; j++)
            fr->band += (float)pw[NEAR + NFAR * k + j];
    }
    fr->centre = d->pos - DELAY - NW / 2 - 2 * (d->dpos - wend);
    fr->tonal = 0;
    for (int k = 0; k < 8; k++)
        fr->tonal |= (unsigned char)(tonal[k] << k);
    /* times e^{-j w last}, last the window's last sample: the phase from the stream's start
     * (frames are HOP / 2 samples apart at DRATE: the factor turns by a fixed step) */
    for (int k = 0; k < 8; k++) {
        if (!d->nfr || d->nfr % 1024 == 0) { /* anew now and then: no drift */
            const uint64_t last = wend - 1;
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
                *u = (run){k_keys[q], i, j, idx, idx, fr->centre, 1, (float)lvl};
            }
        } else if (u->sym && ++d->off[q] >= GAP_FRAMES) {
            end_run(d, q);
        }
    }
    judge_pending(d, 0);
    if (d->twin)
        take_refused(d, 0);
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
        if (!d->twin) {
            d->fir[d->firw] = d->fir[d->firw + NHB] = x[i];
            d->firw = d->firw + 1 == NHB ? 0 : d->firw + 1;
        }
        if (d->pos & 1)
            continue;
        /* the twin was given these samples first: its output for this one is in its ring */
        const float hv = d->twin ? d->twin->dhist[d->dpos % DHIST] : halfband(d);
        if (d->twin) { /* the DTMF frequencies notched, for the pitch estimate */
            float v = hv;
            for (int k = 0; k < 8; k++) {
                float y = v + d->nz[k][0];
                d->nz[k][0] = d->nc[k][0] * v - d->nc[k][1] * y + d->nz[k][1];
                d->nz[k][1] = v - d->nc[k][2] * y;
                v = y;
            }
            d->nhist[d->dpos % DHIST] = v - d->nprev;
            d->nprev = v;
        }
        d->dhist[d->dpos++ % DHIST] = hv;
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
    if (d->twin)
        take_refused(d, 1);
}

int cq__dtmf_active(const cq__dtmf *d)
{
    for (int q = 0; q < 16; q++)
        if (d->act[q].sym && d->act[q].frames >= MIN_FRAMES)
            return 1;
    return d->npend > 0 || d->held.sym ||
           (d->twin && (d->ntaken < d->twin->nrefused || d->ntaken_own < d->nrefused));
}

uint64_t cq__dtmf_floor(const cq__dtmf *d)
{
    if (!d->nfr)
        return 0;
    uint64_t f = d->rec[(d->nfr - 1) % NREC].centre;
    for (int q = 0; q < 16; q++)
        if (d->act[q].sym && d->act[q].start < f)
            f = d->act[q].start;
    for (int i = 0; i < d->npend; i++)
        if (d->pend[i].start < f)
            f = d->pend[i].start;
    if (d->held.sym && d->held.start < f)
        f = d->held.start;
    for (int w = 0; w < 2 && d->twin; w++) { /* the refused runs not yet fitted */
        const cq__dtmf *t = w ? d : d->twin;
        for (uint64_t i = refused_kept(t, w ? d->ntaken_own : d->ntaken); i < t->nrefused; i++)
            if (t->refused[i % NREFUSED].u.start < f)
                f = t->refused[i % NREFUSED].u.start;
    }
    return f > NW / 4 + FIT_SHIFT * 2 ? f - NW / 4 - FIT_SHIFT * 2 : 0;
}
