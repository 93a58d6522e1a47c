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
 */
#include "kernels_int.h"
#include "../base/base_int.h"

#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
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

#else /* no vector extensions: the scalar versions are the fast ones */

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
