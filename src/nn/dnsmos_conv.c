/*
 * dnsmos_conv.c - the 3x3 convolutions of the DNSMOS networks (see dnsmos_int.h): the direct
 * evaluation and Winograd's F(4x4, 3x3).
 *
 * DESIGN
 * Images are stored row by row, one row per time frame, each row W + 2 columns of C channels
 * (channels innermost); columns 0 and W + 1 are the convolutions' zero padding.
 *
 * Direct: a 3x3 convolution with padding 1 needs no im2col copy: for an output row r and a run of
 * output columns, the input of kernel row dh is in_row(r + dh) starting at the column itself,
 * 3 C contiguous floats per output column (the three kernel columns side by side), consecutive
 * output columns C floats apart. So each kernel row is a matrix product whose left matrix is a
 * view of the input with overlapping rows (K = 3 C, row stride C) and whose right matrix is that
 * kernel row's weights, packed once at load into panels of 16 output channels
 * ([dh][panel][k][16]). The kernel keeps a 6-column x 16-channel tile in 12 AVX2 registers, one
 * fused multiply-add per broadcast input value and vector of weights; other CPUs run the same loop
 * in plain C. 9 multiply-adds per output and input channel.
 *
 * Winograd F(4x4, 3x3) (Lavin and Gray, 2016), as correlation: a 4 x 4 block of outputs from
 * the 6 x 6 block of inputs around it, Y = At [(G g Gt) .* (Bt d B)] A, with the points
 * 0, 1, -1, 2, -2 and infinity:
 *   Bt = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *         0 4 0 -5 0 1],
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   At = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Summed over the input channels, the 36 element-wise products of a block are 36 matrix
 * products V[xi] [blocks x cin] * U[xi] [cin x cout]: 36 / 16 = 2.25 multiply-adds per output
 * and input channel instead of 9. The weights are transformed (in double) and packed at load
 * as the direct kernel's are ([xi][panel][cin][16]); the transforms of the inputs and outputs
 * run 8 channels to a vector, channels being innermost; blocks are taken 12 at a time across the
 * image, rows of blocks one after the other, so that a round's transformed inputs and products
 * stay in the L2 cache. Bias and ReLU are applied in the output transform. Not exact: the
 * transforms round differently from the direct sums (tests/nn/test_dnsmos.c bounds the
 * difference on random images; docs/dnsmos.md gives its effect on the scores of every golden
 * leg). Only with AVX2 + FMA and 8 | cin; elsewhere the direct evaluation runs.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "../base/base_int.h"
#include "dnsmos_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

/* ---- the direct evaluation ------------------------------------------------------------------ */

void cq__dn_conv3_ref(const float *in, int R, int W, int cin, int cout, const float *w,
                      const float *bias, float *out)
{
    size_t ri = (size_t)(W + 2) * (size_t)cin, ro = (size_t)(W + 2) * (size_t)cout;
    for (int r = 0; r < R; r++) {
        float *o = out + (size_t)r * ro;
        memset(o, 0, sizeof(float) * (size_t)cout);
        memset(o + (size_t)(W + 1) * (size_t)cout, 0, sizeof(float) * (size_t)cout);
        for (int x = 0; x < W; x++) {
            for (int co = 0; co < cout; co++) {
                float s = bias[co];
                for (int dh = 0; dh < 3; dh++)
                    for (int dw = 0; dw < 3; dw++)
                        for (int ci = 0; ci < cin; ci++)
                            s += in[(size_t)(r + dh) * ri + (size_t)(x + dw) * (size_t)cin +
                                    (size_t)ci] *
                                 w[(((size_t)co * (size_t)cin + (size_t)ci) * 3 + (size_t)dh) * 3 +
                                   (size_t)dw];
                o[(size_t)(x + 1) * (size_t)cout + (size_t)co] = s > 0 ? s : 0;
            }
        }
    }
}

/* ---- Winograd F(4x4, 3x3): the weights ------------------------------------------------------ */

/* G's rows (G g Gt, the weights' transform) */
static const double k_g[6][3] = {{1.0 / 4, 0, 0},
                                 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                 {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                 {0, 0, 1}};

/* U = G g Gt of every (output, input) channel pair, packed [xi][panel][cin][16]. */
static int wino_pack(cq__dn_conv *c)
{
    size_t cin = (size_t)c->cin, P = (size_t)c->cout / 16;
    c->wino = cq__malloc(sizeof(float) * 36 * P * cin * 16);
    if (!c->wino)
        return CQ_ERR_NOMEM;
    for (size_t co = 0; co < (size_t)c->cout; co++)
        for (size_t ci = 0; ci < cin; ci++) {
            const float *g = c->w + (co * cin + ci) * 9;
            double t[6][3]; /* G g */
            for (int i = 0; i < 6; i++)
                for (int b = 0; b < 3; b++)
                    t[i][b] = k_g[i][0] * g[b] + k_g[i][1] * g[3 + b] + k_g[i][2] * g[6 + b];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    double u = t[i][0] * k_g[j][0] + t[i][1] * k_g[j][1] + t[i][2] * k_g[j][2];
                    size_t xi = (size_t)(i * 6 + j);
                    c->wino[((xi * P + co / 16) * cin + ci) * 16 + co % 16] = (float)u;
                }
        }
    return CQ_OK;
}

int cq__dn_conv_pack(cq__dn_conv *c, const float *w, const float *b, int cin, int cout)
{
    if (cout % 16)
        return CQ_ERR_INVALID;
    c->cin = cin, c->cout = cout, c->w = w, c->b = b;
    size_t K = 3 * (size_t)cin, P = (size_t)cout / 16;
    c->packed = cq__malloc(sizeof(float) * 3 * P * K * 16);
    if (!c->packed)
        return CQ_ERR_NOMEM;
    for (size_t dh = 0; dh < 3; dh++)
        for (size_t p = 0; p < P; p++)
            for (size_t dw = 0; dw < 3; dw++)
                for (size_t ci = 0; ci < (size_t)cin; ci++)
                    for (size_t j = 0; j < 16; j++) {
                        size_t co = p * 16 + j, k = dw * (size_t)cin + ci;
                        c->packed[((dh * P + p) * K + k) * 16 + j] =
                            w[((co * (size_t)cin + ci) * 3 + dh) * 3 + dw];
                    }
    c->wino = NULL;
    if (cin % 8 == 0 && wino_pack(c) != CQ_OK) {
        cq__dn_conv_free(c);
        return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

void cq__dn_conv_free(cq__dn_conv *c)
{
    cq__free(c->packed);
    cq__free(c->wino);
    c->packed = NULL, c->wino = NULL;
}

#define MR 6 /* output columns per tile */

/* Rows [r0, r1) of the convolution, plain C. */
static void conv_rows_c(const cq__dn_conv *c, const float *in, int r0, int r1, int W, float *out)
{
    size_t cin = (size_t)c->cin, cout = (size_t)c->cout, K = 3 * cin, P = cout / 16;
    size_t ri = (size_t)(W + 2) * cin, ro = (size_t)(W + 2) * cout;
    for (int r = r0; r < r1; r++) {
        float *o = out + (size_t)r * ro;
        memset(o, 0, sizeof(float) * cout);
        memset(o + (size_t)(W + 1) * cout, 0, sizeof(float) * cout);
        for (size_t p = 0; p < P; p++) {
            for (int x0 = 0; x0 < W; x0 += MR) {
                int m = W - x0 < MR ? W - x0 : MR;
                float acc[MR][16];
                for (int i = 0; i < MR; i++)
                    for (int j = 0; j < 16; j++)
                        acc[i][j] = c->b[p * 16 + (size_t)j];
                for (size_t dh = 0; dh < 3; dh++) {
                    const float *bp = c->packed + (dh * P + p) * K * 16;
                    const float *a = in + ((size_t)r + dh) * ri + (size_t)x0 * cin;
                    for (int i = 0; i < m; i++)
                        for (size_t k = 0; k < K; k++) {
                            float av = a[(size_t)i * cin + k];
                            for (int j = 0; j < 16; j++)
                                acc[i][j] += av * bp[k * 16 + (size_t)j];
                        }
                }
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < 16; j++)
                        o[(size_t)(x0 + i + 1) * cout + p * 16 + (size_t)j] =
                            acc[i][j] > 0 ? acc[i][j] : 0;
            }
        }
    }
}

#ifdef HAVE_AVX2_PATH
/* acc[2 i + h] += row i of A (rows lda apart; rows past m read row 0 again) times B [K x 16]
 * (h: the two halves of 16 columns): the 6 x 16 tile of both evaluations, in 12 registers once
 * inlined. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile_6x16(int m, size_t K, const float *A, size_t lda, const float *B, __m256 acc[12])
{
    const float *a0 = A, *a1 = A + (m > 1 ? lda : 0), *a2 = A + (m > 2 ? 2 * lda : 0);
    const float *a3 = A + (m > 3 ? 3 * lda : 0), *a4 = A + (m > 4 ? 4 * lda : 0);
    const float *a5 = A + (m > 5 ? 5 * lda : 0);
    __m256 c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3], c20 = acc[4], c21 = acc[5];
    __m256 c30 = acc[6], c31 = acc[7], c40 = acc[8], c41 = acc[9], c50 = acc[10], c51 = acc[11];
    for (size_t k = 0; k < K; k++, B += 16) {
        __m256 w0 = _mm256_loadu_ps(B), w1 = _mm256_loadu_ps(B + 8), v;
        v = _mm256_broadcast_ss(a0 + k);
        c00 = _mm256_fmadd_ps(v, w0, c00), c01 = _mm256_fmadd_ps(v, w1, c01);
        v = _mm256_broadcast_ss(a1 + k);
        c10 = _mm256_fmadd_ps(v, w0, c10), c11 = _mm256_fmadd_ps(v, w1, c11);
        v = _mm256_broadcast_ss(a2 + k);
        c20 = _mm256_fmadd_ps(v, w0, c20), c21 = _mm256_fmadd_ps(v, w1, c21);
        v = _mm256_broadcast_ss(a3 + k);
        c30 = _mm256_fmadd_ps(v, w0, c30), c31 = _mm256_fmadd_ps(v, w1, c31);
        v = _mm256_broadcast_ss(a4 + k);
        c40 = _mm256_fmadd_ps(v, w0, c40), c41 = _mm256_fmadd_ps(v, w1, c41);
        v = _mm256_broadcast_ss(a5 + k);
        c50 = _mm256_fmadd_ps(v, w0, c50), c51 = _mm256_fmadd_ps(v, w1, c51);
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11, acc[4] = c20, acc[5] = c21;
    acc[6] = c30, acc[7] = c31, acc[8] = c40, acc[9] = c41, acc[10] = c50, acc[11] = c51;
}

/* The same with AVX2 and FMA: a 6 x 16 tile in 12 registers. Columns past the row's end in the
 * last tile read column x0 again (nothing is read outside the image) and are not stored. */
__attribute__((target("avx2,fma"))) static void
conv_rows_avx2(const cq__dn_conv *c, const float *in, int r0, int r1, int W, float *out)
{
    size_t cin = (size_t)c->cin, cout = (size_t)c->cout, K = 3 * cin, P = cout / 16;
    size_t ri = (size_t)(W + 2) * cin, ro = (size_t)(W + 2) * cout;
    const __m256 zero = _mm256_setzero_ps();
    for (int r = r0; r < r1; r++) {
        float *o = out + (size_t)r * ro;
        memset(o, 0, sizeof(float) * cout);
        memset(o + (size_t)(W + 1) * cout, 0, sizeof(float) * cout);
        for (size_t p = 0; p < P; p++) {
            const __m256 b0 = _mm256_loadu_ps(c->b + p * 16),
                         b1 = _mm256_loadu_ps(c->b + p * 16 + 8);
            for (int x0 = 0; x0 < W; x0 += MR) {
                int m = W - x0 < MR ? W - x0 : MR;
                __m256 t[2 * MR];
                for (int i = 0; i < MR; i++)
                    t[2 * i] = b0, t[2 * i + 1] = b1;
                for (size_t dh = 0; dh < 3; dh++)
                    tile_6x16(m, K, in + ((size_t)r + dh) * ri + (size_t)x0 * cin, cin,
                              c->packed + (dh * P + p) * K * 16, t);
                for (int i = 0; i < m; i++) {
                    float *d = o + (size_t)(x0 + i + 1) * cout + p * 16;
                    _mm256_storeu_ps(d, _mm256_max_ps(t[2 * i], zero));
                    _mm256_storeu_ps(d + 8, _mm256_max_ps(t[2 * i + 1], zero));
                }
            }
        }
    }
}

/* The CPU's features, as libgcc's constructor read them (no state of ours: no race). */
static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static int g_force_c; /* tests: the plain C loop even where AVX2 runs */

void cq__dn_force_plain(int on)
{
    g_force_c = on;
}

int cq__dn_simd_available(void)
{
#ifdef HAVE_AVX2_PATH
    return have_avx2();
#else
    return 0;
#endif
}

#ifdef HAVE_AVX2_PATH
/* ---- Winograd F(4x4, 3x3): the evaluation ---------------------------------------------------- */

#define WB 12 /* blocks per round: their transformed inputs and products stay in L2 */
#define SKEW                                                                                       \
    16 /* floats between the 36 planes of a round, which would otherwise be a multiple of          \
        * 4 KB apart and fall in one set of the L1 cache */

/* t = Bt d for one column (or row) of 6 vectors */
#define BT(d0, d1, d2, d3, d4, d5, t)                                                              \
    do {                                                                                           \
        const __m256 f4 = _mm256_set1_ps(4), f5 = _mm256_set1_ps(5), f2 = _mm256_set1_ps(2);       \
        (t)[0] = _mm256_fmadd_ps(f4, d0, _mm256_fnmadd_ps(f5, d2, d4));                            \
        (t)[1] = _mm256_fnmadd_ps(f4, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4));               \
        (t)[2] = _mm256_fmadd_ps(f4, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3));                \
        (t)[3] = _mm256_fmadd_ps(f2, _mm256_sub_ps(d3, d1), _mm256_sub_ps(d4, d2));                \
        (t)[4] = _mm256_fmadd_ps(f2, _mm256_sub_ps(d1, d3), _mm256_sub_ps(d4, d2));                \
        (t)[5] = _mm256_fmadd_ps(f4, d1, _mm256_fnmadd_ps(f5, d3, d5));                            \
    } while (0)

/* y = At m for one column (or row) of 6 vectors */
#define AT(m0, m1, m2, m3, m4, m5, y)                                                              \
    do {                                                                                           \
        const __m256 a_ = _mm256_add_ps(m1, m2), b_ = _mm256_sub_ps(m1, m2);                       \
        const __m256 c_ = _mm256_add_ps(m3, m4), d_ = _mm256_sub_ps(m3, m4);                       \
        (y)[0] = _mm256_add_ps(_mm256_add_ps(m0, a_), c_);                                         \
        (y)[1] = _mm256_fmadd_ps(_mm256_set1_ps(2), d_, b_);                                       \
        (y)[2] = _mm256_fmadd_ps(_mm256_set1_ps(4), c_, a_);                                       \
        (y)[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8), d_, b_), m5);                    \
    } while (0)

/* The whole convolution (R output rows); V and M the transformed inputs and the products of
 * a round, E a block's inputs at the image's end. */
__attribute__((target("avx2,fma"))) static void conv_wino_avx2(const cq__dn_conv *c,
                                                               const float *in, int R, int W,
                                                               float *out, float *V, float *M,
                                                               float *E)
{
    const size_t cin = (size_t)c->cin, cout = (size_t)c->cout, P = cout / 16;
    const size_t ri = (size_t)(W + 2) * cin, ro = (size_t)(W + 2) * cout;
    const size_t vs = WB * cin + SKEW, ms = WB * cout + SKEW; /* the planes' strides */
    const int TW = (W + 3) / 4, T = TW * ((R + 3) / 4);
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < R; r++) { /* the padding columns */
        memset(out + (size_t)r * ro, 0, sizeof(float) * cout);
        memset(out + (size_t)r * ro + (size_t)(W + 1) * cout, 0, sizeof(float) * cout);
    }
    for (int k0 = 0; k0 < T; k0 += WB) {
        const int nb = T - k0 < WB ? T - k0 : WB;
        /* the inputs' transform: V[xi][block][cin] */
        for (int b = 0; b < nb; b++) {
            const int y0 = (k0 + b) / TW * 4, x0 = (k0 + b) % TW * 4;
            const float *src = in + (size_t)y0 * ri + (size_t)x0 * cin;
            size_t rs = ri;                         /* the block's row stride */
            if (y0 + 6 > R + 2 || x0 + 6 > W + 2) { /* at the image's end: a copy, zeros past it */
                const int nr = R + 2 - y0 < 6 ? R + 2 - y0 : 6,
                          nc = W + 2 - x0 < 6 ? W + 2 - x0 : 6;
                memset(E, 0, sizeof(float) * 36 * cin);
                for (int i = 0; i < nr; i++)
                    memcpy(E + (size_t)i * 6 * cin, src + (size_t)i * ri,
                           sizeof(float) * (size_t)nc * cin);
                src = E, rs = 6 * cin;
            }
            float *v = V + (size_t)b * cin;
            for (size_t cc = 0; cc < cin; cc += 8) {
                __m256 t[6][6];
                for (int j = 0; j < 6; j++) { /* Bt d, column by column */
                    const float *q = src + (size_t)j * cin + cc;
                    __m256 u[6];
                    BT(_mm256_loadu_ps(q), _mm256_loadu_ps(q + rs), _mm256_loadu_ps(q + 2 * rs),
                       _mm256_loadu_ps(q + 3 * rs), _mm256_loadu_ps(q + 4 * rs),
                       _mm256_loadu_ps(q + 5 * rs), u);
                    for (int i = 0; i < 6; i++)
                        t[i][j] = u[i];
                }
                for (int i = 0; i < 6; i++) { /* (Bt d) B, row by row */
                    __m256 u[6];
                    BT(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], u);
                    for (int j = 0; j < 6; j++)
                        _mm256_storeu_ps(v + (size_t)(i * 6 + j) * vs + cc, u[j]);
                }
            }
        }
        /* the 36 products: M[xi][block][cout] = V[xi] U[xi] */
        for (size_t xi = 0; xi < 36; xi++)
            for (size_t p = 0; p < P; p++)
                for (int g = 0; g < nb; g += 6) {
                    const int m = nb - g < 6 ? nb - g : 6;
                    __m256 t[12];
                    for (int i = 0; i < 12; i++)
                        t[i] = _mm256_setzero_ps();
                    tile_6x16(m, cin, V + xi * vs + (size_t)g * cin, cin,
                              c->wino + (xi * P + p) * cin * 16, t);
                    float *C = M + xi * ms + (size_t)g * cout + p * 16;
                    for (int i = 0; i < m; i++) {
                        _mm256_storeu_ps(C + (size_t)i * cout, t[2 * i]);
                        _mm256_storeu_ps(C + (size_t)i * cout + 8, t[2 * i + 1]);
                    }
                }
        /* the outputs' transform, the bias and ReLU */
        for (int b = 0; b < nb; b++) {
            const int y0 = (k0 + b) / TW * 4, x0 = (k0 + b) % TW * 4;
            const int nr = R - y0 < 4 ? R - y0 : 4, nc = W - x0 < 4 ? W - x0 : 4;
            for (size_t co = 0; co < cout; co += 8) {
                const float *m = M + (size_t)b * cout + co;
                const __m256 bias = _mm256_loadu_ps(c->b + co);
                __m256 s[4][6];
                for (int j = 0; j < 6; j++) {
                    __m256 y[4];
                    AT(_mm256_loadu_ps(m + (size_t)j * ms),
                       _mm256_loadu_ps(m + (size_t)(6 + j) * ms),
                       _mm256_loadu_ps(m + (size_t)(12 + j) * ms),
                       _mm256_loadu_ps(m + (size_t)(18 + j) * ms),
                       _mm256_loadu_ps(m + (size_t)(24 + j) * ms),
                       _mm256_loadu_ps(m + (size_t)(30 + j) * ms), y);
                    for (int i = 0; i < 4; i++)
                        s[i][j] = y[i];
                }
                for (int i = 0; i < nr; i++) {
                    __m256 y[4];
                    AT(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5], y);
                    float *o = out + (size_t)(y0 + i) * ro + (size_t)(x0 + 1) * cout + co;
                    for (int j = 0; j < nc; j++)
                        _mm256_storeu_ps(o + (size_t)j * cout,
                                         _mm256_max_ps(_mm256_add_ps(y[j], bias), zero));
                }
            }
        }
    }
}
#endif

int cq__dn_wino_available(const cq__dn_conv *c)
{
#ifdef HAVE_AVX2_PATH
    return c->wino && !g_force_c && have_avx2();
#else
    (void)c;
    return 0;
#endif
}

size_t cq__dn_wino_scratch(int cin, int cout)
{
#ifdef HAVE_AVX2_PATH
    return 36 * ((WB * (size_t)cin + SKEW) + (WB * (size_t)cout + SKEW)) + 36 * (size_t)cin;
#else
    (void)cin, (void)cout;
    return 0;
#endif
}

void cq__dn_conv3(const cq__dn_conv *c, int wino, const float *in, int R, int W, float *out,
                  float *scratch)
{
#ifdef HAVE_AVX2_PATH
    if (wino && cq__dn_wino_available(c)) {
        size_t nv = 36 * (WB * (size_t)c->cin + SKEW), nm = 36 * (WB * (size_t)c->cout + SKEW);
        float *V =
            scratch ? scratch : cq__malloc(sizeof(float) * cq__dn_wino_scratch(c->cin, c->cout));
        if (V) { /* else the direct evaluation, which needs no memory */
            conv_wino_avx2(c, in, R, W, out, V, V + nv, V + nv + nm);
            if (V != scratch)
                cq__free(V);
            return;
        }
    }
    if (!g_force_c && have_avx2()) {
        conv_rows_avx2(c, in, 0, R, W, out);
        return;
    }
#else
    (void)wino, (void)scratch;
#endif
    conv_rows_c(c, in, 0, R, W, out);
}
