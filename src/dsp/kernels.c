/*
 * kernels.c - scalar and fast versions of the per-sample loops (see kernels_int.h).
 *
 * DESIGN
 * The P.56 envelope is two first-order recurrences, y[i] = g y[i-1] + u[i]: a serial chain of
 * multiply-adds whose latency, not its arithmetic, limits a sample-by-sample loop. Over a block
 * of 8 samples the recurrence unrolls to y[i+k] = g^(k+1) y[i-1] + sum_{m<=k} g^(k-m) u[i+m];
 * the sum is a prefix scan done in three shift-and-multiply-add steps (shifts 1 and 2 within
 * each half of the block, then the lower half's end into the upper half), and only one scalar
 * multiply-add per block remains on the serial chain.
 * The silence scan tests 8 samples at a time and only looks at individual samples when a
 * block holds a sample at or above the threshold.
 * The Goertzel bank's lanes are independent recurrences, s = v g + c s1 - s2, each a serial
 * chain of a multiply, an add and a subtract per sample. The fast version keeps up to 8 vectors
 * of 8 lanes in registers through the whole stretch, so that their chains overlap, two samples
 * a round (the roles of s1 and s2 swap, no state moves) and a row of gains loaded once per row;
 * the count of vectors, the gain and the energy are constants of each instantiation of one
 * inlined loop. The single Goertzel is one such chain: its scalar loop is its fast version.
 * The Goertzel kernels took over loops of dtmf.c and tones.c, which gcc compiles without
 * contraction (-std=c11), and compute exactly what those did: gcc compiles them here without it
 * too (NO_CONTRACT), though the rest of this file may fuse multiply-adds. (clang's
 * -ffp-contract=fast overrides its pragmas: under clang they may fuse.)
 */
#include "kernels_int.h"
#include "../base/base_int.h"

#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The Goertzel kernels without fused multiply-adds (see the top of this file). */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_CONTRACT_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define NO_CONTRACT_END _Pragma("GCC pop_options")
#else
#define NO_CONTRACT_BEGIN
#define NO_CONTRACT_END
#endif

/* ---- scalar reference versions ------------------------------------------------------------- */

void cq__k_stats_ref(const float *x, size_t n, cq__stats *acc)
{
    for (size_t i = 0; i < n; i++) {
        acc->sum += x[i];
        acc->sumsq += (double)x[i] * x[i];
        acc->max = x[i] > acc->max ? x[i] : acc->max;
        acc->min = x[i] < acc->min ? x[i] : acc->min;
    }
}

void cq__k_envelope_ref(const float *x, size_t n, float g, float b, cq__env *e, float *q_out)
{
    float p = e->p, q = e->q, lo = HUGE_VALF, hi = -HUGE_VALF;
    for (size_t i = 0; i < n; i++) {
        p = g * p + b * fabsf(x[i]);
        q = g * q + b * p;
        q_out[i] = q;
        lo = q < lo ? q : lo;
        hi = q > hi ? q : hi;
    }
    e->p = p;
    e->q = q;
    e->qmin = lo;
    e->qmax = hi;
}

size_t cq__k_find_outside_ref(const float *q, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        if (q[i] < lo || q[i] >= hi)
            return i;
    return n;
}

size_t cq__k_silence_next_ref(const float *x, size_t n, float thr, uint64_t need, uint64_t *runp)
{
    uint64_t run = *runp;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(x[i]) < thr) {
            run++;
        } else {
            if (run >= need) {
                *runp = run;
                return i;
            }
            run = 0;
        }
    }
    *runp = run;
    return n;
}

NO_CONTRACT_BEGIN

void cq__k_goertzel_ref(const float *x, const float *w, size_t n, double c, double *s1p,
                        double *s2p)
{
    double s1 = *s1p, s2 = *s2p;
    for (size_t i = 0; i < n; i++) {
        const double v = w ? (double)w[i] * x[i] : x[i];
        const double s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    *s1p = s1;
    *s2p = s2;
}

void cq__k_goertzel_many_ref(const float *x, const float *w, size_t n, const double *c, size_t nk,
                             double *s1, double *s2)
{
    for (size_t k = 0; k < nk; k++)
        cq__k_goertzel_ref(x, w, n, c[k], &s1[k], &s2[k]);
}

void cq__k_goertzel_bank_ref(const float *x, const float *w, size_t n, const float *c, size_t nk,
                             const float *g, size_t gseg, float *s1, float *s2, float *e)
{
    for (size_t i = 0; i < n; i++) {
        const float v = x[i] * w[i];
        const float *gi = g ? g + i / gseg * nk : NULL; /* this sample's row of gains */
        if (e)
            *e += v * v;
        for (size_t k = 0; k < nk; k++) {
            const float s = (gi ? v * gi[k] : v) + c[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s;
        }
    }
}

NO_CONTRACT_END

/* ---- fast versions ------------------------------------------------------------------------- */

#if defined(__GNUC__)

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

/* Shifts within each half of 8 lanes (zeros in), and lane 3 copied to every lane. The in-half
 * shifts compile to single byte-shift instructions where the target has them. */
#if defined(__clang__)
#define SHIFT1H(v, z) __builtin_shufflevector(v, z, 8, 0, 1, 2, 8, 4, 5, 6)
#define SHIFT2H(v, z) __builtin_shufflevector(v, z, 8, 8, 0, 1, 8, 8, 4, 5)
#define LANE3(v) __builtin_shufflevector(v, v, 3, 3, 3, 3, 3, 3, 3, 3)
#else
#define SHIFT1H(v, z) __builtin_shuffle(v, z, (v8i){8, 0, 1, 2, 8, 4, 5, 6})
#define SHIFT2H(v, z) __builtin_shuffle(v, z, (v8i){8, 8, 0, 1, 8, 8, 4, 5})
#define LANE3(v) __builtin_shuffle(v, (v8i){3, 3, 3, 3, 3, 3, 3, 3})
#endif

/* |v| by clearing the sign bits */
#define VABS8(v) ((v8f)((v8i)(v)&0x7fffffff))
#define VABS4(v) ((v4f)((v4i)(v)&0x7fffffff))
/* lane-wise max/min of 4 floats (SSE where present, else a select) */
#if defined(__SSE__)
#define VMAX4(a, b) ((v4f)__builtin_ia32_maxps((a), (b)))
#define VMIN4(a, b) ((v4f)__builtin_ia32_minps((a), (b)))
#else
#define VMAX4(a, b) VSEL4((a) > (b), a, b)
#define VMIN4(a, b) VSEL4((a) < (b), a, b)
#endif
/* lane-wise select: m is all-ones or all-zeros per lane */
#define VSEL4(m, a, b) ((v4f)(((v4i)(a) & (m)) | ((v4i)(b) & ~(m))))
#define VSEL8(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))

#define STATS_CHUNK 256 /* samples summed in float before the partial sums go to double */

CQ_CLONES
void cq__k_stats(const float *x, size_t n, cq__stats *acc)
{
    v4d s = {0}, q = {0};
    v8f mx = {0}, mn = {0};
    mx += acc->max;
    mn += acc->min;
    size_t i = 0;
    while (i + 8 <= n) {
        /* float partials over at most 32 vectors per lane: relative error below 2e-6 before
         * they join the double sums, so long calls do not drift */
        size_t end = n - i < STATS_CHUNK ? i + (n - i) / 8 * 8 : i + STATS_CHUNK;
        v8f fs = {0}, fq = {0};
        for (; i < end; i += 8) {
            v8f v;
            memcpy(&v, x + i, sizeof(v));
            fs += v;
            fq += v * v;
            mx = VSEL8(v > mx, v, mx);
            mn = VSEL8(v < mn, v, mn);
        }
        v4f lo = {fs[0], fs[1], fs[2], fs[3]}, hi = {fs[4], fs[5], fs[6], fs[7]};
        s += __builtin_convertvector(lo, v4d) + __builtin_convertvector(hi, v4d);
        v4f qlo = {fq[0], fq[1], fq[2], fq[3]}, qhi = {fq[4], fq[5], fq[6], fq[7]};
        q += __builtin_convertvector(qlo, v4d) + __builtin_convertvector(qhi, v4d);
    }
    acc->sum += (s[0] + s[1]) + (s[2] + s[3]);
    acc->sumsq += (q[0] + q[1]) + (q[2] + q[3]);
    for (int l = 0; l < 8; l++) {
        acc->max = mx[l] > acc->max ? mx[l] : acc->max;
        acc->min = mn[l] < acc->min ? mn[l] : acc->min;
    }
    cq__k_stats_ref(x + i, n - i, acc);
}

/* In-block prefix scan of y[k] = g y[k-1] + u[k] with y[-1] = 0: a 4-sample scan in each half,
 * then the end of the lower half carried into the upper half (gup = {0,0,0,0,g,g2,g3,g4}). */
#define SCAN8(v, z, g, g2, gup)                                                                    \
    do {                                                                                           \
        (v) += (g)*SHIFT1H(v, z);                                                                  \
        (v) += (g2)*SHIFT2H(v, z);                                                                 \
        (v) += (gup)*LANE3(v);                                                                     \
    } while (0)

CQ_CLONES
void cq__k_envelope(const float *x, size_t n, float g, float b, cq__env *e, float *q_out)
{
    const v8f z = {0};
    const float g2 = g * g, g4 = g2 * g2, g8 = g4 * g4;
    v8f gpow; /* g^(k+1): how y[i-1] reaches lane k */
    float gk = g;
    for (int k = 0; k < 8; k++, gk *= g)
        gpow[k] = gk;
    const v8f gup = {0, 0, 0, 0, gpow[0], gpow[1], gpow[2], gpow[3]};
    v8f lo = z + HUGE_VALF, hi = z - HUGE_VALF;
    float p = e->p, q = e->q;
    size_t i = 0;
    /* The carries p and q move from block to block by one scalar multiply-add each
     * (y_end = g^8 y_prev + scan[7]); the vector work of a block hangs off them, not on them. */
    for (; i + 8 <= n; i += 8) {
        v8f v;
        memcpy(&v, x + i, sizeof(v));
        v = VABS8(v) * b;
        SCAN8(v, z, g, g2, gup);
        v8f pv = v + gpow * p; /* p-envelope of the 8 samples */
        p = g8 * p + v[7];
        v8f w = pv * b;
        SCAN8(w, z, g, g2, gup);
        v8f qv = w + gpow * q; /* q-envelope */
        q = g8 * q + w[7];
        memcpy(q_out + i, &qv, sizeof(qv));
        lo = VSEL8(qv < lo, qv, lo);
        hi = VSEL8(qv > hi, qv, hi);
    }
    e->p = p;
    e->q = q;
    float mn = HUGE_VALF, mx = -HUGE_VALF;
    for (int l = 0; l < 8; l++) {
        mn = lo[l] < mn ? lo[l] : mn;
        mx = hi[l] > mx ? hi[l] : mx;
    }
    if (i < n) {
        cq__k_envelope_ref(x + i, n - i, g, b, e, q_out + i);
        mn = e->qmin < mn ? e->qmin : mn;
        mx = e->qmax > mx ? e->qmax : mx;
    }
    e->qmin = mn;
    e->qmax = mx;
}

CQ_CLONES
size_t cq__k_find_outside(const float *q, size_t n, float lo, float hi)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 l = _mm_set1_ps(lo), h = _mm_set1_ps(hi);
    for (; i + 8 <= n; i += 8) {
        __m128 a = _mm_loadu_ps(q + i), b = _mm_loadu_ps(q + i + 4);
        __m128 out = _mm_or_ps(_mm_or_ps(_mm_cmplt_ps(a, l), _mm_cmpge_ps(a, h)),
                               _mm_or_ps(_mm_cmplt_ps(b, l), _mm_cmpge_ps(b, h)));
        if (_mm_movemask_ps(out))
            break; /* the sample itself is found below */
    }
#endif
    return i + cq__k_find_outside_ref(q + i, n - i, lo, hi);
}

/* Bit k set when |x[k]| >= thr, for 8 samples. */
static inline unsigned loud_mask8(const float *x, float thr)
{
#if defined(__SSE2__)
    const __m128 sign = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 t = _mm_set1_ps(thr);
    __m128 a = _mm_and_ps(_mm_loadu_ps(x), sign), b = _mm_and_ps(_mm_loadu_ps(x + 4), sign);
    return (unsigned)_mm_movemask_ps(_mm_cmpge_ps(a, t)) |
           (unsigned)_mm_movemask_ps(_mm_cmpge_ps(b, t)) << 4;
#else
    unsigned m = 0;
    for (int k = 0; k < 8; k++)
        m |= (unsigned)(fabsf(x[k]) >= thr) << k;
    return m;
#endif
}

CQ_CLONES
size_t cq__k_silence_next(const float *x, size_t n, float thr, uint64_t need, uint64_t *runp)
{
    uint64_t run = *runp;
    size_t i = 0;
    if (need >= 8) { /* a qualifying run cannot fit between two loud samples of one block */
        for (; i + 8 <= n; i += 8) {
            unsigned m = loud_mask8(x + i, thr);
            if (m == 0) {
                run += 8;
                continue;
            }
            unsigned first = (unsigned)__builtin_ctz(m);
            if (run + first >= need) {
                *runp = run + first;
                return i + first;
            }
            run = 7u - (31u - (unsigned)__builtin_clz(m)); /* quiet samples after the last loud */
        }
    }
    *runp = run;
    size_t r = cq__k_silence_next_ref(x + i, n - i, thr, need, runp);
    return i + r;
}

NO_CONTRACT_BEGIN

#define INLINE static inline __attribute__((always_inline))

/* One sample v through nv vectors of lanes: b = v g + c a - b, so b becomes the new s1 and a
 * is the new s2 (the caller swaps the roles of a and b instead of moving the state). */
INLINE void bank_step(float v, const v8f *a, v8f *b, const v8f *cv, const v8f *gv, const int nv,
                      const int gained)
{
    for (int j = 0; j < nv; j++) {
        if (gained)
            b[j] = v * gv[j] + cv[j] * a[j] - b[j];
        else
            b[j] = v + cv[j] * a[j] - b[j]; /* v in every lane */
    }
}

/* Lanes [0, 8 nv) of the bank over x[0..n), two samples a round; nv, gained (g is not NULL)
 * and summed (e is not NULL) are constants where it is inlined. The arithmetic is the scalar
 * version's, lane by lane and in its order. */
INLINE void bank_block(const float *x, const float *w, size_t n, const float *c, size_t nk,
                       const float *g, size_t gseg, float *s1, float *s2, float *e, const int nv,
                       const int gained, const int summed)
{
    v8f a[8], b[8], cv[8], gv[8];
    for (int j = 0; j < nv; j++) {
        memcpy(&a[j], s1 + 8 * j, sizeof(v8f));
        memcpy(&b[j], s2 + 8 * j, sizeof(v8f));
        memcpy(&cv[j], c + 8 * j, sizeof(v8f));
    }
    float es = summed ? *e : 0;
    const size_t run = gained ? gseg : n; /* samples under one row of gains */
    for (size_t i0 = 0; i0 < n; i0 += run, g += gained ? nk : 0) {
        const size_t end = n - i0 < run ? n : i0 + run;
        if (gained)
            for (int j = 0; j < nv; j++)
                memcpy(&gv[j], g + 8 * j, sizeof(v8f));
        size_t i = i0;
        for (; i + 2 <= end; i += 2) {
            const float v0 = x[i] * w[i], v1 = x[i + 1] * w[i + 1];
            if (summed) {
                es += v0 * v0;
                es += v1 * v1;
            }
            bank_step(v0, a, b, cv, gv, nv, gained);
            bank_step(v1, b, a, cv, gv, nv, gained);
        }
        if (i < end) {
            const float v = x[i] * w[i];
            if (summed)
                es += v * v;
            bank_step(v, a, b, cv, gv, nv, gained);
            for (int j = 0; j < nv; j++) {
                const v8f t = a[j];
                a[j] = b[j];
                b[j] = t;
            }
        }
    }
    for (int j = 0; j < nv; j++) {
        memcpy(s1 + 8 * j, &a[j], sizeof(v8f));
        memcpy(s2 + 8 * j, &b[j], sizeof(v8f));
    }
    if (summed)
        *e = es;
}

/* bank_block with the gain and the energy as the caller has them */
INLINE void bank_vectors(const float *x, const float *w, size_t n, const float *c, size_t nk,
                         const float *g, size_t gseg, float *s1, float *s2, float *e, const int nv)
{
    if (g && e)
        bank_block(x, w, n, c, nk, g, gseg, s1, s2, e, nv, 1, 1);
    else if (g)
        bank_block(x, w, n, c, nk, g, gseg, s1, s2, e, nv, 1, 0);
    else if (e)
        bank_block(x, w, n, c, nk, g, gseg, s1, s2, e, nv, 0, 1);
    else
        bank_block(x, w, n, c, nk, g, gseg, s1, s2, e, nv, 0, 0);
}

/* nv vectors of 4 double lanes of cq__k_goertzel_many, in registers through the stretch: the
 * scalar version's operations per lane, in its order (no contraction here) */
static inline __attribute__((always_inline)) void many_vectors(const float *x, const float *w,
                                                               size_t n, const double *c,
                                                               double *s1, double *s2, int nv)
{
    v4d a[4], b[4], cc[4];
    for (int j = 0; j < nv; j++) {
        memcpy(&a[j], s1 + 4 * j, sizeof(v4d));
        memcpy(&b[j], s2 + 4 * j, sizeof(v4d));
        memcpy(&cc[j], c + 4 * j, sizeof(v4d));
    }
    for (size_t i = 0; i < n; i++) {
        const double v = w ? (double)w[i] * x[i] : x[i];
        const v4d vv = {v, v, v, v};
        for (int j = 0; j < nv; j++) {
            const v4d s = vv + cc[j] * a[j] - b[j];
            b[j] = a[j];
            a[j] = s;
        }
    }
    for (int j = 0; j < nv; j++) {
        memcpy(s1 + 4 * j, &a[j], sizeof(v4d));
        memcpy(s2 + 4 * j, &b[j], sizeof(v4d));
    }
}

CQ_CLONES
void cq__k_goertzel_many(const float *x, const float *w, size_t n, const double *c, size_t nk,
                         double *s1, double *s2)
{
    size_t k = 0;
    while (nk - k >= 4) {
        const size_t left = (nk - k) / 4;
        switch (left >= 4 ? 4 : left) {
        case 4: many_vectors(x, w, n, c + k, s1 + k, s2 + k, 4), k += 16; break;
        case 3: many_vectors(x, w, n, c + k, s1 + k, s2 + k, 3), k += 12; break;
        case 2: many_vectors(x, w, n, c + k, s1 + k, s2 + k, 2), k += 8; break;
        default: many_vectors(x, w, n, c + k, s1 + k, s2 + k, 1), k += 4; break;
        }
    }
    for (; k < nk; k++) /* the lanes that fill no vector */
        cq__k_goertzel_ref(x, w, n, c[k], &s1[k], &s2[k]);
}

CQ_CLONES
void cq__k_goertzel_bank(const float *x, const float *w, size_t n, const float *c, size_t nk,
                         const float *g, size_t gseg, float *s1, float *s2, float *e)
{
    /* the lanes in blocks of 8, 4 or fewer vectors */
    size_t k = 0;
    while (nk - k >= 8) {
        const size_t left = (nk - k) / 8, nv = left >= 8 ? 8 : left >= 4 ? 4 : left;
        const float *gk = g ? g + k : NULL;
        float *a = s1 + k, *b = s2 + k;
        switch (nv) {
        case 8: bank_vectors(x, w, n, c + k, nk, gk, gseg, a, b, e, 8); break;
        case 4: bank_vectors(x, w, n, c + k, nk, gk, gseg, a, b, e, 4); break;
        case 3: bank_vectors(x, w, n, c + k, nk, gk, gseg, a, b, e, 3); break;
        case 2: bank_vectors(x, w, n, c + k, nk, gk, gseg, a, b, e, 2); break;
        default: bank_vectors(x, w, n, c + k, nk, gk, gseg, a, b, e, 1); break;
        }
        e = NULL; /* summed once */
        k += 8 * nv;
    }
    /* then the lanes that fill no vector, one at a time */
    for (; k < nk; k++) {
        float a = s1[k], b = s2[k];
        for (size_t i = 0; i < n; i++) {
            const float v = x[i] * w[i];
            if (e)
                *e += v * v;
            const float s = (g ? v * g[i / gseg * nk + k] : v) + c[k] * a - b;
            b = a;
            a = s;
        }
        s1[k] = a;
        s2[k] = b;
        e = NULL;
    }
}

NO_CONTRACT_END

#else /* no vector extensions: the scalar versions are the fast ones */

void cq__k_goertzel_many(const float *x, const float *w, size_t n, const double *c, size_t nk,
                         double *s1, double *s2)
{
    cq__k_goertzel_many_ref(x, w, n, c, nk, s1, s2);
}

void cq__k_goertzel_bank(const float *x, const float *w, size_t n, const float *c, size_t nk,
                         const float *g, size_t gseg, float *s1, float *s2, float *e)
{
    cq__k_goertzel_bank_ref(x, w, n, c, nk, g, gseg, s1, s2, e);
}

void cq__k_stats(const float *x, size_t n, cq__stats *acc)
{
    cq__k_stats_ref(x, n, acc);
}

void cq__k_envelope(const float *x, size_t n, float g, float b, cq__env *e, float *q_out)
{
    cq__k_envelope_ref(x, n, g, b, e, q_out);
}

size_t cq__k_silence_next(const float *x, size_t n, float thr, uint64_t need, uint64_t *run)
{
    return cq__k_silence_next_ref(x, n, thr, need, run);
}

size_t cq__k_find_outside(const float *q, size_t n, float lo, float hi)
{
    return cq__k_find_outside_ref(q, n, lo, hi);
}

#endif

/* One recurrence: the scalar loop is the fast version (see the top of this file). */
void cq__k_goertzel(const float *x, const float *w, size_t n, double c, double *s1, double *s2)
{
    cq__k_goertzel_ref(x, w, n, c, s1, s2);
}
