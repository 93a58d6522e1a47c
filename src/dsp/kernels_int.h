/*
 * kernels_int.h - the per-sample loops of the level and silence analyzers (written in kernels.c,
 * used by level.c and silence.c).
 *
 * Each kernel has a plain scalar version (`_ref`, the specification) and a fast version used by
 * the analyzers. The fast versions use GNU C vector extensions (gcc, clang); on x86-64 with gcc
 * they are compiled twice, for the baseline and for x86-64-v3 (AVX2 + FMA), and the CPU picks
 * at load time. tests/unit/test_kernels.c checks fast against scalar on real and random audio.
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

#endif /* CQ_KERNELS_INT_H */
