/*
 * kernels_int.h - the per-sample loops of the level and silence analyzers (used by level.c and
 * silence.c), and the Goertzel filters of the tone and DTMF receivers (tones.c, dtmf.c); all
 * written in kernels.c.
 *
 * Each kernel has a plain scalar version (`_ref`, the specification) and a fast version used by
 * the analyzers. The fast versions use GNU C vector extensions (gcc, clang); on x86-64 with gcc
 * they are compiled twice, for the baseline and for x86-64-v3 (AVX2 + FMA), and the CPU picks
 * at load time. The Goertzel kernels compute exactly what their scalar versions do, in the same
 * order and without fused multiply-adds (the receivers' readings do not depend on the CPU).
 * tests/dsp/test_kernels.c checks fast against scalar on real and random audio.
 *
 * The room src/dsp/ holds the analyzers of one leg's samples: levels (level.c, with these
 * kernels), silence, the VAD's DSP fallback (vad_dsp.c) and speech segments from the VAD's
 * probabilities (speech.c), tones and DTMF (tones.c, dtmf.c), quality indicators, the timeline
 * and call events (classify.c), and two legs compared (xleg.c). It calls base only, with FFTW
 * (libfftw3f: classify.c, quality.c, xleg.c) and libspandsp (tones.c). It is on floor 1 because
 * it works on samples in memory: no files, no models, no network, so each analyzer is tested on
 * synthetic and recorded signals and the stages (src/stages/) feed it block by block through
 * the public headers. Above it only nn includes one of its headers (vad_int.h).
 */
#ifndef CQ_KERNELS_INT_H
#define CQ_KERNELS_INT_H

#include <stddef.h>
#include <stdint.h>

/* Running sums of one stream. */
typedef struct cq__stats {
    double sum;   /* sum of x */
    double sumsq; /* sum of x^2 */
    float max;    /* largest x (-inf before any sample) */
    float min;    /* smallest x (+inf before any sample) */
} cq__stats;

/* Add x[0..n) to the sums. The fast version sums runs of 256 samples in float before adding
 * them to the double sums (relative difference from the scalar version below 1e-6). */
void cq__k_stats(const float *x, size_t n, cq__stats *acc);
void cq__k_stats_ref(const float *x, size_t n, cq__stats *acc);

/* State of the two-stage P.56 envelope. */
typedef struct cq__env {
    float p, q;       /* carried between calls */
    float qmin, qmax; /* OUT: smallest and largest q of the last call */
} cq__env;

/*
 * Two-stage envelope of P.56: p = g p + b |x|; q = g q + b p, for each sample; q written to
 * q_out[0..n), n >= 1. Float arithmetic; the fast version evaluates the recurrences as 8-sample
 * prefix scans (same values within ~1e-6 relative).
 */
void cq__k_envelope(const float *x, size_t n, float g, float b, cq__env *e, float *q_out);
void cq__k_envelope_ref(const float *x, size_t n, float g, float b, cq__env *e, float *q_out);

/* Index of the first q[i] outside [lo, hi) (q[i] < lo or q[i] >= hi), or n if none. */
size_t cq__k_find_outside(const float *q, size_t n, float lo, float hi);
size_t cq__k_find_outside_ref(const float *q, size_t n, float lo, float hi);

/*
 * Silence scan: walk x[0..n) keeping *run = length of the current run of samples with
 * |x| < thr. Stops at the first non-silent sample that ends a run of at least `need` samples
 * and returns its index, with *run = the length of that run (the caller records the silence,
 * then continues at index + 1 with *run = 0). Returns n when the block ends first.
 */
size_t cq__k_silence_next(const float *x, size_t n, float thr, uint64_t need, uint64_t *run);
size_t cq__k_silence_next_ref(const float *x, size_t n, float thr, uint64_t need, uint64_t *run);

/*
 * Goertzel filter at one frequency, in double: for each sample, v = w[i] x[i] (x[i] when w is
 * NULL), s = v + c s1 - s2, then s2 = s1, s1 = s; c = 2 cos(2 pi f / rate). The state *s1, *s2
 * is carried between calls (0, 0 at the start of a window). At the window's end the DFT at f,
 * with the phase taken at its last sample, is s1 - e^{-jw} s2. One recurrence, whose latency
 * bounds it: the scalar loop is the fast version.
 */
void cq__k_goertzel(const float *x, const float *w, size_t n, double c, double *s1, double *s2);
void cq__k_goertzel_ref(const float *x, const float *w, size_t n, double c, double *s1, double *s2);

/*
 * nk single Goertzel filters (cq__k_goertzel) over the same stretch: lane k with c[k] and the
 * state s1[k], s2[k]. The lanes' chains are independent: the fast version runs them side by
 * side, 4 to a vector, and equals cq__k_goertzel on each lane bit for bit.
 */
void cq__k_goertzel_many(const float *x, const float *w, size_t n, const double *c, size_t nk,
                         double *s1, double *s2);
void cq__k_goertzel_many_ref(const float *x, const float *w, size_t n, const double *c, size_t nk,
                             double *s1, double *s2);

/*
 * A bank of nk Goertzel filters (lanes) over one windowed stretch, in float: for each sample,
 * v = x[i] w[i]; *e += v^2 when e is not NULL; then for each lane k, s = v g + c[k] s1[k] -
 * s2[k], s2[k] = s1[k], s1[k] = s, where g is the lane's gain for that sample: g[r nk + k] for
 * the samples r gseg ... (r + 1) gseg - 1 (rows of nk gains, gseg >= 1), or no gain (v) when g
 * is NULL. s1[0..nk), s2[0..nk) and *e are carried between calls. The fast version keeps the
 * lanes in registers, 8 to a vector, and equals the scalar version bit for bit.
 */
void cq__k_goertzel_bank(const float *x, const float *w, size_t n, const float *c, size_t nk,
                         const float *g, size_t gseg, float *s1, float *s2, float *e);
void cq__k_goertzel_bank_ref(const float *x, const float *w, size_t n, const float *c, size_t nk,
                             const float *g, size_t gseg, float *s1, float *s2, float *e);

#endif /* CQ_KERNELS_INT_H */
