/*
 * nn.c - dense kernels (see nn_int.h).
 *
 * DESIGN
 * The models run batches of audio chunks through convolutions written as matrix products (on
 * rows given by pointers, cq__gemm_rows, or im2col), so the weights are read once per batch,
 * not once per chunk. The product walks B in panels of 16 columns (K x 16 floats, which stay
 * in the L1 cache) and passes every row of A over each panel, keeping a 6 x 16 tile of C in
 * registers: per step of K it loads 16 values of a row of B and broadcasts 6 values of A, 12
 * vector multiply-adds (12 independent chains, enough to cover the latency of both FMA
 * units). cq__gemm_rows does the same on rows of B given by pointers, starting from the bias
 * and applying the ReLU as it stores. Rows left over take tiles of 4, 2 and 1; columns left
 * over from panels of 16 and 8 take the scalar loop; under 8 columns (one chunk at a time)
 * each element is a dot product along K, 8 lanes wide. In the tiles every element is summed
 * along K in order, as the scalar version does. A K over 512 (attention over a long clip) is
 * taken 256 rows of B at a time, the blocks' products added into C, so the panel stays in L1. The
 * recurrent product (cq__gemv_t) runs 64 rows at a time, eight independent chains.
 *
 * The LSTM cell's gates (cq__lstm_cell) run 8 units a vector with their own e^x (a polynomial
 * after range reduction, see vexp) instead of libm's expf and tanhf one value at a time.
 *
 * 3x3 convolutions (cq__conv3x3_wino) use Winograd's F(2x2, 3x3): each 4 x 4 input tile and
 * each filter are transformed so that 2 x 2 outputs take 16 multiply-adds per channel pair
 * instead of 36, and the 16 products summed over the input channels are 16 matrix products
 * (cq__gemm, transformed weights [cout x cin] times transformed tiles [cin x tiles*lanes]).
 * Tiles are taken 64 columns (tiles x lanes) a round, so a round's transformed input and
 * products stay in the L2 cache. The direct convolution (cq__conv3x3_ref) is the specification.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "../base/base_int.h"
#include "nn_int.h"

void cq__gemm_ref(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int accumulate)
{
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            float s = accumulate ? C[i * ldc + j] : 0.0f;
            for (size_t k = 0; k < K; k++)
                s += A[i * lda + k] * B[k * ldb + j];
            C[i * ldc + j] = s;
        }
    }
}

void cq__gemm_rows_ref(size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *const *Brows, float *C, size_t ldc, const float *bias, int relu)
{
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            float s = bias ? bias[i] : 0.0f;
            for (size_t k = 0; k < K; k++)
                s += A[i * lda + k] * Brows[k][j];
            C[i * ldc + j] = relu && s < 0 ? 0.0f : s;
        }
    }
}

void cq__gemv_t_ref(size_t M, size_t K, const float *At, const float *x, float *y)
{
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < M; i++)
            y[i] += At[k * M + i] * x[k];
}

static float sigmoid_ref(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

float cq__lstm_cell_ref(size_t n, const float *g, float *c, float *h, const float *w)
{
    float acc = 0;
    for (size_t i = 0; i < n; i++) {
        const float ig = sigmoid_ref(g[i]), fg = sigmoid_ref(g[n + i]);
        const float gg = tanhf(g[2 * n + i]), og = sigmoid_ref(g[3 * n + i]);
        c[i] = fg * c[i] + ig * gg;
        h[i] = og * tanhf(c[i]);
        if (w)
            acc += w[i] * (h[i] > 0 ? h[i] : 0);
    }
    return acc;
}

double cq__exp_shifted_ref(float *v, size_t n)
{
    float mx = -HUGE_VALF;
    for (size_t i = 0; i < n; i++)
        mx = v[i] > mx ? v[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = expf(v[i] - mx);
        sum += v[i];
    }
    return sum;
}

float cq__dot_ref(size_t n, const float *a, const float *b)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void cq__adaptive_max_ref(size_t c, size_t nb, int H, int W, int oh, int ow, const float *in,
                          float *out)
{
    for (size_t ci = 0; ci < c; ci++) {
        const float *src = in + ci * (size_t)H * (size_t)W * nb;
        float *dst = out + ci * (size_t)oh * (size_t)ow * nb;
        for (int i = 0; i < oh; i++) {
            int y0 = i * H / oh, y1 = ((i + 1) * H + oh - 1) / oh;
            for (int j = 0; j < ow; j++) {
                int x0 = j * W / ow, x1 = ((j + 1) * W + ow - 1) / ow;
                float *d = dst + ((size_t)i * (size_t)ow + (size_t)j) * nb;
                for (size_t n = 0; n < nb; n++)
                    d[n] = -HUGE_VALF;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        const float *v = src + ((size_t)y * (size_t)W + (size_t)x) * nb;
                        for (size_t n = 0; n < nb; n++)
                            d[n] = v[n] > d[n] ? v[n] : d[n];
                    }
            }
        }
    }
}

void cq__magnitude_ref(size_t n, const float *re, const float *im, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = sqrtf(re[i] * re[i] + im[i] * im[i]);
}

void cq__conv3x3_ref(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *w,
                     const float *bias, int relu, const float *in, float *out)
{
    for (size_t co = 0; co < cout; co++)
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++)
                for (size_t n = 0; n < nb; n++) {
                    float s = bias ? bias[co] : 0.0f;
                    for (size_t a = 0; a < 3; a++)
                        for (size_t b = 0; b < 3; b++) {
                            if (y + a < 1 || y + a > H || x + b < 1 || x + b > W)
                                continue; /* the zero padding */
                            const float *wt = w + (co * 9 + a * 3 + b) * cin;
                            const float *src = in + ((y + a - 1) * W + (x + b - 1)) * nb + n;
                            for (size_t ci = 0; ci < cin; ci++)
                                s += wt[ci] * src[ci * H * W * nb];
                        }
                    out[((co * H + y) * W + x) * nb + n] = relu && s < 0 ? 0.0f : s;
                }
}

/*
 * Winograd's F(2x2, 3x3) as correlation: for a 4 x 4 input tile d and 3 x 3 taps g, the 2 x 2
 * outputs are Y = At [(G g Gt) .* (Bt d B)] A with
 *   Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   At = [1 1 1 0; 0 1 -1 -1].
 * The 16 element-wise products of one tile, summed over the input channels, are 16 matrix
 * products U[xi] [cout x cin] * V[xi] [cin x (tiles x lanes)], which is where the work goes.
 */
void cq__wino_weights(size_t cin, size_t cout, const float *w, float *U)
{
    for (size_t co = 0; co < cout; co++)
        for (size_t ci = 0; ci < cin; ci++) {
            double g[3][3], t[4][3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    g[a][b] = w[(co * 9 + (size_t)(a * 3 + b)) * cin + ci];
            for (int b = 0; b < 3; b++) { /* G g */
                t[0][b] = g[0][b];
                t[1][b] = 0.5 * (g[0][b] + g[1][b] + g[2][b]);
                t[2][b] = 0.5 * (g[0][b] - g[1][b] + g[2][b]);
                t[3][b] = g[2][b];
            }
            for (int i = 0; i < 4; i++) { /* (G g) Gt */
                const double u[4] = {t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]),
                                     0.5 * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++)
                    U[((size_t)(i * 4 + j) * cout + co) * cin + ci] = (float)u[j];
            }
        }
}

#if defined(__GNUC__) && !defined(__clang__)
#define IVDEP _Pragma("GCC ivdep") /* the lanes are independent: vectorise without alias checks */
#else
#define IVDEP
#endif
#if defined(__GNUC__)
#define WINO_INLINE static inline __attribute__((always_inline)) /* into each clone */
#else
#define WINO_INLINE static inline
#endif

#define WINO_COLS 64 /* tiles x lanes transformed per round: V and the products stay in L2 */
#define WINO_SKEW 16 /* floats between blocks that would otherwise be a multiple of 4 KB apart */

static size_t wino_tiles(size_t nb)
{
    return nb >= WINO_COLS ? 1 : WINO_COLS / nb;
}

size_t cq__wino_scratch(size_t cin, size_t cout, size_t H, size_t W, size_t nb)
{
    /* V and the products of a round, the zero lanes, and the input with zero borders (the
     * 8-lane version) */
    const size_t padded = cin * ((H + 1) / 2 * 2 + 2) * ((W + 1) / 2 * 2 + 2) * nb;
    return 16 * (cin + cout) * (wino_tiles(nb) * nb + WINO_SKEW) + nb + padded;
}

/* V[xi][lane] = (Bt d B)[xi] for one tile of one channel, lane by lane: d[i * 4 + j] is the
 * input row/column (i, j) of the tile (nb lanes), V's 16 rows are `stride` apart. */
WINO_INLINE void wino_in(const float *const *d, size_t nb, float *V, size_t stride)
{
    IVDEP
    for (size_t n = 0; n < nb; n++) {
        float t[4][4];
        for (int j = 0; j < 4; j++) { /* Bt d: along the rows */
            const float d0 = d[j][n], d1 = d[4 + j][n], d2 = d[8 + j][n], d3 = d[12 + j][n];
            t[0][j] = d0 - d2;
            t[1][j] = d1 + d2;
            t[2][j] = d2 - d1;
            t[3][j] = d1 - d3;
        }
        for (int i = 0; i < 4; i++) { /* (Bt d) B: along the columns */
            V[(size_t)(i * 4 + 0) * stride + n] = t[i][0] - t[i][2];
            V[(size_t)(i * 4 + 1) * stride + n] = t[i][1] + t[i][2];
            V[(size_t)(i * 4 + 2) * stride + n] = t[i][2] - t[i][1];
            V[(size_t)(i * 4 + 3) * stride + n] = t[i][1] - t[i][3];
        }
    }
}

/* The 2 x 2 outputs of one tile of one output channel: At M A + bias (ReLU), M's 16 rows
 * `stride` apart; outputs outside the image (odd H or W) are not stored (o[k] NULL). */
WINO_INLINE void wino_out(const float *M, size_t stride, size_t nb, float bias, int relu,
                          float *const *o)
{
    float *o00 = o[0], *o01 = o[1], *o10 = o[2], *o11 = o[3];
    IVDEP
    for (size_t n = 0; n < nb; n++) {
        float t[2][4];
        for (int j = 0; j < 4; j++) { /* At M: along the rows */
            const float m0 = M[(size_t)j * stride + n], m1 = M[(size_t)(4 + j) * stride + n];
            const float m2 = M[(size_t)(8 + j) * stride + n], m3 = M[(size_t)(12 + j) * stride + n];
            t[0][j] = m0 + m1 + m2;
            t[1][j] = m1 - m2 - m3;
        }
        float y[4];
        for (int i = 0; i < 2; i++) {
            y[2 * i] = bias + (t[i][0] + t[i][1] + t[i][2]);
            y[2 * i + 1] = bias + (t[i][1] - t[i][2] - t[i][3]);
        }
        if (relu)
            for (int k = 0; k < 4; k++)
                y[k] = y[k] > 0.0f ? y[k] : 0.0f;
        o00[n] = y[0];
        if (o01)
            o01[n] = y[1];
        if (o10)
            o10[n] = y[2];
        if (o11)
            o11[n] = y[3];
    }
}

/* Any number of lanes: the tiles' inputs by pointers (zero lanes outside the image). */
static void wino_lanes(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *U,
                       const float *bias, int relu, const float *in, float *out, float *scratch)
{
    const size_t TW = (W + 1) / 2, T = (H + 1) / 2 * TW, Tc = wino_tiles(nb);
    float *V = scratch, *Mx = scratch + 16 * cin * Tc * nb, *zero = Mx + 16 * cout * Tc * nb;
    memset(zero, 0, nb * sizeof(float));
    for (size_t t0 = 0; t0 < T; t0 += Tc) {
        const size_t tc = T - t0 < Tc ? T - t0 : Tc, Nc = tc * nb;
        /* the input tiles of this round, transformed: V[xi][ci][tile][lane] */
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t t = 0; t < tc; t++) {
                const size_t y0 = (t0 + t) / TW * 2, x0 = (t0 + t) % TW * 2;
                const float *d[16];
                for (size_t i = 0; i < 4; i++)
                    for (size_t j = 0; j < 4; j++) {
                        /* input row y0 + i - 1, column x0 + j - 1 (zero outside) */
                        const int inside = y0 + i >= 1 && y0 + i <= H && x0 + j >= 1 && x0 + j <= W;
                        d[i * 4 + j] =
                            inside ? in + ((ci * H + y0 + i - 1) * W + x0 + j - 1) * nb : zero;
                    }
                wino_in(d, nb, V + ci * Nc + t * nb, cin * Nc);
            }
        for (size_t xi = 0; xi < 16; xi++)
            cq__gemm(cout, Nc, cin, U + xi * cout * cin, cin, V + xi * cin * Nc, Nc,
                     Mx + xi * cout * Nc, Nc, 0);
        for (size_t co = 0; co < cout; co++)
            for (size_t t = 0; t < tc; t++) {
                const size_t y0 = (t0 + t) / TW * 2, x0 = (t0 + t) % TW * 2;
                float *base = out + ((co * H + y0) * W + x0) * nb;
                float *o[4] = {base, x0 + 1 < W ? base + nb : NULL,
                               y0 + 1 < H ? base + W * nb : NULL,
                               x0 + 1 < W && y0 + 1 < H ? base + (W + 1) * nb : NULL};
                wino_out(Mx + co * Nc + t * nb, cout * Nc, nb, bias ? bias[co] : 0.0f, relu, o);
            }
    }
}

#if defined(__GNUC__)

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

/* Unaligned vector load/store as statements: helper functions taking or returning vectors would
 * have a different ABI in the AVX2 clone than in the baseline one when not inlined (-O0). */
#define LD(v, ptr) memcpy(&(v), (ptr), sizeof(v8f))
#define ST(ptr, v) memcpy((ptr), &(v), sizeof(v8f))

#define NARROW_K 512 /* the longest K the narrow case below takes */
#define KBLOCK 256   /* rows of B a pass of cq__gemm takes when K is long */

#define INLINE static inline __attribute__((always_inline))

/* One step k along K of an R x 8 nv tile (gemm_tile, rows_tile): t[r][h] += A[r][k] times the
 * 8 floats of row k of B at row + 8 h, one multiply-add each. */
INLINE void tile_step(const int R, const int nv, const float *A, size_t lda, size_t k,
                      const float *row, v8f t[6][2])
{
    v8f b[2];
    for (int h = 0; h < nv; h++)
        LD(b[h], row + 8 * h);
    for (int r = 0; r < R; r++) {
        const float a = A[(size_t)r * lda + k];
        for (int h = 0; h < nv; h++)
            t[r][h] += a * b[h];
    }
}

/* C[R x 8 nv] += or = A[R x K] * B[K x 8 nv]: R rows of A against 8 or 16 columns of B, the
 * tile in registers (R and nv are constants where this is inlined). Each element is summed
 * along K in order, one multiply-add a step, as cq__gemm_ref does. */
INLINE void gemm_tile(const int R, const int nv, size_t K, const float *A, size_t lda,
                      const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    v8f t[6][2];
    for (int r = 0; r < R; r++)
        for (int h = 0; h < nv; h++)
            t[r][h] = (v8f){0};
    for (size_t k = 0; k < K; k++, B += ldb)
        tile_step(R, nv, A, lda, k, B, t);
    for (int r = 0; r < R; r++)
        for (int h = 0; h < nv; h++) {
            float *c = C + (size_t)r * ldc + 8 * (size_t)h;
            if (accumulate) {
                v8f old;
                LD(old, c);
                t[r][h] += old;
            }
            ST(c, t[r][h]);
        }
}

/* All M rows against one panel of 8 nv columns: blocks of 6 rows (12 accumulators), then 4, 2
 * and 1 for the rows left over. */
INLINE void gemm_panel(size_t M, const int nv, size_t K, const float *A, size_t lda, const float *B,
                       size_t ldb, float *C, size_t ldc, int accumulate)
{
    size_t i = 0;
    for (; i + 6 <= M; i += 6)
        gemm_tile(6, nv, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
    if (i + 4 <= M) {
        gemm_tile(4, nv, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
        i += 4;
    }
    if (i + 2 <= M) {
        gemm_tile(2, nv, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
        i += 2;
    }
    if (i < M)
        gemm_tile(1, nv, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
}

/* s[r] = row r of A (R rows from a, lda apart) times bb[0..K): 8 lanes wide, the lanes summed
 * in order, then the last K % 8 products. R (1 or 4) is a constant where this is inlined: four
 * rows at a time share each load of bb and keep four chains of multiply-adds going. */
INLINE void narrow_dot(const int R, const float *a, size_t lda, const float *bb, size_t K, float *s)
{
    v8f acc[4];
    for (int r = 0; r < R; r++)
        acc[r] = (v8f){0};
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        v8f vb;
        LD(vb, bb + k);
        for (int r = 0; r < R; r++) {
            v8f va;
            LD(va, a + (size_t)r * lda + k);
            acc[r] += va * vb;
        }
    }
    for (int r = 0; r < R; r++) {
        float sum = 0;
        for (int h = 0; h < 8; h++)
            sum += acc[r][h];
        for (size_t q = k; q < K; q++)
            sum += a[(size_t)r * lda + q] * bb[q];
        s[r] = sum;
    }
}

/* The narrow case of cq__gemm and cq__gemm_rows (N < 8 columns, K <= NARROW_K): s[q][c] = row
 * r + q of A times column c of B, gathered contiguous in bt (column c at bt + c K), for the R
 * rows from row r (4 while four are left, else 1; returned). */
INLINE int narrow_rows(size_t M, size_t r, size_t N, size_t K, const float *A, size_t lda,
                       const float *bt, float s[4][7])
{
    const int R = M - r >= 4 ? 4 : 1;
    for (size_t c = 0; c < N; c++) {
        float s4[4];
        if (R == 4)
            narrow_dot(4, A + r * lda, lda, bt + c * K, K, s4);
        else
            narrow_dot(1, A + r * lda, lda, bt + c * K, K, s4);
        for (int q = 0; q < R; q++)
            s[q][c] = s4[q];
    }
    return R;
}

CQ_CLONES
void cq__gemm(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
              float *C, size_t ldc, int accumulate)
{
    if (N < 8 && K <= NARROW_K) {
        /* under 8 columns (a network run on one chunk at a time, as a live stream is): each
         * element a dot product along K, 8 lanes wide, the columns of B copied contiguous */
        float bt[7 * NARROW_K];
        for (size_t c = 0; c < N; c++)
            for (size_t k = 0; k < K; k++)
                bt[c * K + k] = B[k * ldb + c];
        for (size_t r = 0; r < M;) {
            float s[4][7];
            const int R = narrow_rows(M, r, N, K, A, lda, bt, s);
            for (int q = 0; q < R; q++)
                for (size_t c = 0; c < N; c++) {
                    float *cp = C + (r + (size_t)q) * ldc + c;
                    *cp = accumulate ? *cp + s[q][c] : s[q][c];
                }
            r += (size_t)R;
        }
        return;
    }
    if (K > 2 * KBLOCK) {
        /* a long K (attention over minutes of segments): blocks of KBLOCK rows of B, so that a
         * panel of B stays in the L1 cache, their products added up in C */
        for (size_t k0 = 0; k0 < K; k0 += KBLOCK)
            cq__gemm(M, N, K - k0 < KBLOCK ? K - k0 : KBLOCK, A + k0, lda, B + k0 * ldb, ldb, C,
                     ldc, accumulate || k0 > 0);
        return;
    }
    /* column panels of B (K x 16 floats) stay in cache while every row of A passes over them */
    size_t j = 0;
    for (; j + 16 <= N; j += 16)
        gemm_panel(M, 2, K, A, lda, B + j, ldb, C + j, ldc, accumulate);
    if (j + 8 <= N) {
        gemm_panel(M, 1, K, A, lda, B + j, ldb, C + j, ldc, accumulate);
        j += 8;
    }
    if (j < N)
        cq__gemm_ref(M, N - j, K, A, lda, B + j, ldb, C + j, ldc, accumulate);
}

/* cq__gemm_rows' tile: C[R x 8 nv] = relu?(bias + A[R x K] * B) with row k of B at
 * Brows[k] + j; as gemm_tile, each element summed along K in order after its bias. */
INLINE void rows_tile(const int R, const int nv, size_t K, const float *A, size_t lda,
                      const float *const *Brows, size_t j, float *C, size_t ldc, const float *bias,
                      int relu)
{
    const v8f z = {0};
    v8f t[6][2];
    for (int r = 0; r < R; r++)
        for (int h = 0; h < nv; h++)
            t[r][h] = z + (bias ? bias[r] : 0.0f);
    for (size_t k = 0; k < K; k++)
        tile_step(R, nv, A, lda, k, Brows[k] + j, t);
    for (int r = 0; r < R; r++)
        for (int h = 0; h < nv; h++) {
            if (relu)
                t[r][h] = (v8f)((v8i)t[r][h] & (v8i)(t[r][h] > z));
            ST(C + (size_t)r * ldc + 8 * (size_t)h, t[r][h]);
        }
}

INLINE void rows_panel(size_t M, const int nv, size_t K, const float *A, size_t lda,
                       const float *const *Brows, size_t j, float *C, size_t ldc, const float *bias,
                       int relu)
{
    size_t i = 0;
    for (; i + 6 <= M; i += 6)
        rows_tile(6, nv, K, A + i * lda, lda, Brows, j, C + i * ldc, ldc, bias ? bias + i : NULL,
                  relu);
    if (i + 4 <= M) {
        rows_tile(4, nv, K, A + i * lda, lda, Brows, j, C + i * ldc, ldc, bias ? bias + i : NULL,
                  relu);
        i += 4;
    }
    if (i + 2 <= M) {
        rows_tile(2, nv, K, A + i * lda, lda, Brows, j, C + i * ldc, ldc, bias ? bias + i : NULL,
                  relu);
        i += 2;
    }
    if (i < M)
        rows_tile(1, nv, K, A + i * lda, lda, Brows, j, C + i * ldc, ldc, bias ? bias + i : NULL,
                  relu);
}

CQ_CLONES
void cq__gemm_rows(size_t M, size_t N, size_t K, const float *A, size_t lda,
                   const float *const *Brows, float *C, size_t ldc, const float *bias, int relu)
{
    if (N < 8 && K <= NARROW_K) {
        /* under 8 columns (one chunk at a time): dot products along K, 8 lanes wide, on the
         * columns of B gathered contiguous */
        float bt[7 * NARROW_K];
        for (size_t c = 0; c < N; c++)
            for (size_t k = 0; k < K; k++)
                bt[c * K + k] = Brows[k][c];
        for (size_t r = 0; r < M;) {
            float s[4][7];
            const int R = narrow_rows(M, r, N, K, A, lda, bt, s);
            for (int q = 0; q < R; q++)
                for (size_t c = 0; c < N; c++) {
                    const float sum = s[q][c] + (bias ? bias[r + (size_t)q] : 0.0f);
                    C[(r + (size_t)q) * ldc + c] = relu && sum < 0 ? 0.0f : sum;
                }
            r += (size_t)R;
        }
        return;
    }
    /* panels of 16 columns, as cq__gemm */
    size_t j = 0;
    for (; j + 16 <= N; j += 16)
        rows_panel(M, 2, K, A, lda, Brows, j, C + j, ldc, bias, relu);
    if (j + 8 <= N) {
        rows_panel(M, 1, K, A, lda, Brows, j, C + j, ldc, bias, relu);
        j += 8;
    }
    for (; j < N; j++) /* columns left over */
        for (size_t i = 0; i < M; i++) {
            float s2 = bias ? bias[i] : 0.0f;
            for (size_t k = 0; k < K; k++)
                s2 += A[i * lda + k] * Brows[k][j];
            C[i * ldc + j] = relu && s2 < 0 ? 0.0f : s2;
        }
}

/* y[i0 .. i0 + 8 nv) of cq__gemv_t: nv accumulators, the rows of At read 8 nv floats at a time
 * (nv is a constant where this is inlined). Each element is summed along K in order. */
INLINE void gemv_t_block(const int nv, size_t M, size_t K, const float *At, const float *x,
                         float *y)
{
    v8f acc[8];
    for (int h = 0; h < nv; h++)
        LD(acc[h], y + 8 * h);
    for (size_t k = 0; k < K; k++, At += M) {
        const float xk = x[k];
        for (int h = 0; h < nv; h++) {
            v8f a;
            LD(a, At + 8 * h);
            acc[h] += xk * a;
        }
    }
    for (int h = 0; h < nv; h++)
        ST(y + 8 * h, acc[h]);
}

CQ_CLONES
void cq__gemv_t(size_t M, size_t K, const float *At, const float *x, float *y)
{
    /* 64 rows at a time: eight independent chains of multiply-adds keep both FMA units busy */
    size_t i = 0;
    for (; i + 64 <= M; i += 64)
        gemv_t_block(8, M, K, At + i, x, y + i);
    for (; i + 8 <= M; i += 8)
        gemv_t_block(1, M, K, At + i, x, y + i);
    for (; i < M; i++)
        for (size_t k = 0; k < K; k++)
            y[i] += At[k * M + i] * x[k];
}

/*
 * e^x in each lane, for the LSTM's gates: x clamped to [-87, 88] (the result stays a normal
 * float), split as x = n ln2 + r with n an integer and |r| <= ln2 / 2 (ln2 in two parts, the
 * first exact in float, so r is exact), e^r by its Taylor series to degree 7 (the remainder is
 * under 6e-9 of e^r), times 2^n built in the exponent field. Rounding x log2(e) to the nearest
 * integer: adding 1.5 * 2^23 leaves n in the low bits of the sum.
 */
INLINE void vexp(v8f *y, const v8f *xp)
{
    v8f x = *xp;
    const v8f lo = (v8f){0} - 87.0f, hi = (v8f){0} + 88.0f;
    v8i m = (v8i)(x < lo);
    x = (v8f)((m & (v8i)lo) | (~m & (v8i)x));
    m = (v8i)(x > hi);
    x = (v8f)((m & (v8i)hi) | (~m & (v8i)x));
    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    const v8f t = x * 1.44269504088896341f + shifter;
    const v8f nf = t - shifter;
    const v8i n = (v8i)t - (v8i)((v8f){0} + shifter);
    const v8f r = (x - nf * 0.693359375f) - nf * -2.12194440054690583e-4f;
    v8f p = (v8f){0} + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    *y = p * (v8f)((n + 127) << 23);
}

/* 1 / (1 + e^-x) and tanh x = 1 - 2 / (1 + e^2x), lane by lane */
INLINE void vsigmoid(v8f *y, const v8f *x)
{
    const v8f m = -*x;
    v8f e;
    vexp(&e, &m);
    *y = 1.0f / (1.0f + e);
}

INLINE void vtanh(v8f *y, const v8f *x)
{
    const v8f x2 = *x + *x;
    v8f e;
    vexp(&e, &x2);
    *y = 1.0f - 2.0f / (1.0f + e);
}

CQ_CLONES
float cq__lstm_cell(size_t n, const float *g, float *c, float *h, const float *w)
{
    const v8f z = {0};
    v8f acc = z;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f gi, gf, gg, go, cv, ig, fg, tg, og, tc;
        LD(gi, g + i), LD(gf, g + n + i), LD(gg, g + 2 * n + i), LD(go, g + 3 * n + i);
        LD(cv, c + i);
        vsigmoid(&ig, &gi);
        vsigmoid(&fg, &gf);
        vtanh(&tg, &gg);
        vsigmoid(&og, &go);
        cv = fg * cv + ig * tg;
        vtanh(&tc, &cv);
        const v8f hv = og * tc;
        ST(c + i, cv);
        ST(h + i, hv);
        if (w) {
            v8f wv;
            LD(wv, w + i);
            acc += wv * (v8f)((v8i)hv & (v8i)(hv > z));
        }
    }
    float sum = 0;
    for (int k = 0; k < 8; k++)
        sum += acc[k];
    if (i < n) {
        /* the last n % 8 units: the reference on views that keep its gate offsets */
        float gt[4 * 7];
        const size_t rest = n - i;
        for (size_t q = 0; q < 4; q++)
            memcpy(gt + q * rest, g + q * n + i, rest * sizeof(float));
        sum += cq__lstm_cell_ref(rest, gt, c + i, h + i, w ? w + i : NULL);
    }
    return sum;
}

CQ_CLONES
double cq__exp_shifted(float *v, size_t n)
{
    size_t i = 0;
    float mx = -HUGE_VALF;
    if (n >= 8) {
        v8f m;
        LD(m, v);
        for (i = 8; i + 8 <= n; i += 8) {
            v8f x;
            LD(x, v + i);
            m = (v8f)(((v8i)(x > m) & (v8i)x) | (~(v8i)(x > m) & (v8i)m));
        }
        for (int k = 0; k < 8; k++)
            mx = m[k] > mx ? m[k] : mx;
    }
    for (; i < n; i++)
        mx = v[i] > mx ? v[i] : mx;
    v8f acc = {0};
    for (i = 0; i + 8 <= n; i += 8) {
        v8f x, e;
        LD(x, v + i);
        x -= mx;
        vexp(&e, &x);
        ST(v + i, e);
        acc += e;
    }
    double sum = 0;
    for (int k = 0; k < 8; k++)
        sum += acc[k];
    for (; i < n; i++) {
        v[i] = expf(v[i] - mx);
        sum += v[i];
    }
    return sum;
}

CQ_CLONES
void cq__adaptive_max(size_t c, size_t nb, int H, int W, int oh, int ow, const float *in,
                      float *out)
{
    if (nb % 8) {
        cq__adaptive_max_ref(c, nb, H, W, oh, ow, in, out);
        return;
    }
    /* the bins' row and column ranges once; then per bin, 8 lanes a vector */
    int y0[64], y1[64], x0[64], x1[64];
    if (oh > 64 || ow > 64) {
        cq__adaptive_max_ref(c, nb, H, W, oh, ow, in, out);
        return;
    }
    for (int i = 0; i < oh; i++)
        y0[i] = i * H / oh, y1[i] = ((i + 1) * H + oh - 1) / oh;
    for (int j = 0; j < ow; j++)
        x0[j] = j * W / ow, x1[j] = ((j + 1) * W + ow - 1) / ow;
    const size_t rs = (size_t)W * nb;
    for (size_t ci = 0; ci < c; ci++) {
        const float *src = in + ci * (size_t)H * rs;
        float *d = out + ci * (size_t)oh * (size_t)ow * nb;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++, d += nb)
                for (size_t n = 0; n < nb; n += 8) {
                    v8f m = (v8f){0} - HUGE_VALF;
                    for (int y = y0[i]; y < y1[i]; y++) {
                        const float *v = src + (size_t)y * rs + (size_t)x0[j] * nb + n;
                        for (int x = x0[j]; x < x1[j]; x++, v += nb) {
                            v8f t;
                            LD(t, v);
                            const v8i gt = (v8i)(t > m);
                            m = (v8f)((gt & (v8i)t) | (~gt & (v8i)m));
                        }
                    }
                    ST(d + n, m);
                }
    }
}

CQ_CLONES
float cq__dot(size_t n, const float *a, const float *b)
{
    v8f s0 = {0}, s1 = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v8f a0, a1, b0, b1;
        LD(a0, a + i), LD(a1, a + i + 8), LD(b0, b + i), LD(b1, b + i + 8);
        s0 += a0 * b0;
        s1 += a1 * b1;
    }
    if (i + 8 <= n) {
        v8f a0, b0;
        LD(a0, a + i), LD(b0, b + i);
        s0 += a0 * b0;
        i += 8;
    }
    s0 += s1;
    float s = 0;
    for (int k = 0; k < 8; k++)
        s += s0[k];
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

CQ_CLONES
void cq__magnitude(size_t n, const float *re, const float *im, float *out)
{
    /* the same loop: compiled for AVX2 and without errno, it becomes vsqrtps on 8 lanes */
    for (size_t i = 0; i < n; i++)
        out[i] = sqrtf(re[i] * re[i] + im[i] * im[i]);
}

/*
 * cq__conv3x3_wino for lanes in multiples of 8: the input copied once into an image with zero
 * borders (whole tiles), so every tile reads its 4 x 4 inputs at fixed offsets, 8 lanes a
 * vector. V is [xi][ci][tile][lane] (each xi one matrix product's B, rows Nc apart), the
 * products [co][xi][tile][lane] (C rows 16 Nc apart), so one tile's 16 products of an output
 * channel are read from one block.
 */
INLINE void wino_tile_in(const float *p, size_t rs, size_t cs, float *v, size_t vs)
{
    v8f t[4][4];
    for (int j = 0; j < 4; j++) { /* Bt d: along the rows */
        v8f d0, d1, d2, d3;
        LD(d0, p + (size_t)j * cs), LD(d1, p + rs + (size_t)j * cs);
        LD(d2, p + 2 * rs + (size_t)j * cs), LD(d3, p + 3 * rs + (size_t)j * cs);
        t[0][j] = d0 - d2, t[1][j] = d1 + d2, t[2][j] = d2 - d1, t[3][j] = d1 - d3;
    }
    for (int i = 0; i < 4; i++) { /* (Bt d) B: along the columns */
        const v8f a = t[i][0] - t[i][2], b = t[i][1] + t[i][2], c = t[i][2] - t[i][1],
                  d = t[i][1] - t[i][3];
        ST(v + (size_t)(i * 4) * vs, a), ST(v + (size_t)(i * 4 + 1) * vs, b);
        ST(v + (size_t)(i * 4 + 2) * vs, c), ST(v + (size_t)(i * 4 + 3) * vs, d);
    }
}

INLINE void wino_tile_out(const float *m, size_t ms, float bias, int relu, float *o, size_t rs,
                          size_t cs, int two_rows, int two_cols)
{
    v8f t[2][4];
    for (int j = 0; j < 4; j++) { /* At M: along the rows */
        v8f m0, m1, m2, m3;
        LD(m0, m + (size_t)j * ms), LD(m1, m + (size_t)(4 + j) * ms);
        LD(m2, m + (size_t)(8 + j) * ms), LD(m3, m + (size_t)(12 + j) * ms);
        t[0][j] = m0 + m1 + m2, t[1][j] = m1 - m2 - m3;
    }
    const v8f z = {0};
    for (int i = 0; i < 1 + two_rows; i++) {
        v8f y0 = bias + (t[i][0] + t[i][1] + t[i][2]), y1 = bias + (t[i][1] - t[i][2] - t[i][3]);
        if (relu) {
            y0 = (v8f)((v8i)y0 & (v8i)(y0 > z));
            y1 = (v8f)((v8i)y1 & (v8i)(y1 > z));
        }
        ST(o + (size_t)i * rs, y0);
        if (two_cols)
            ST(o + (size_t)i * rs + cs, y1);
    }
}

CQ_CLONES
void cq__conv3x3_wino(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *U,
                      const float *bias, int relu, const float *in, float *out, float *scratch)
{
    if (nb % 8) {
        wino_lanes(cin, cout, H, W, nb, U, bias, relu, in, out, scratch);
        return;
    }
    const size_t TW = (W + 1) / 2, TH = (H + 1) / 2, T = TH * TW, Tc = wino_tiles(nb);
    const size_t Hp = 2 * TH + 2, Wp = 2 * TW + 2;
    /* V's 16 blocks and the products' rows are skewed by WINO_SKEW floats: at a multiple of
     * 4 KB apart (cin x 64 columns) the 16 stores of a tile, or a tile of C, would all fall in
     * one set of the L1 cache */
    const size_t vs = cin * Tc * nb + WINO_SKEW, ms = 16 * Tc * nb + WINO_SKEW;
    float *V = scratch, *Mx = V + 16 * vs, *P = Mx + cout * ms + nb;
    /* P [ci][Hp][Wp][lane]: the input at row 1, column 1, zeros around */
    memset(P, 0, sizeof(float) * cin * Hp * Wp * nb);
    for (size_t ci = 0; ci < cin; ci++)
        for (size_t y = 0; y < H; y++)
            memcpy(P + ((ci * Hp + y + 1) * Wp + 1) * nb, in + (ci * H + y) * W * nb,
                   sizeof(float) * W * nb);
    const size_t rs = Wp * nb; /* P's row stride */
    for (size_t t0 = 0; t0 < T; t0 += Tc) {
        const size_t tc = T - t0 < Tc ? T - t0 : Tc, Nc = tc * nb;
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t t = 0; t < tc; t++) {
                const size_t y0 = (t0 + t) / TW * 2, x0 = (t0 + t) % TW * 2;
                const float *p = P + ((ci * Hp + y0) * Wp + x0) * nb;
                float *v = V + ci * Nc + t * nb;
                for (size_t n = 0; n < nb; n += 8)
                    wino_tile_in(p + n, rs, nb, v + n, vs);
            }
        for (size_t xi = 0; xi < 16; xi++)
            cq__gemm(cout, Nc, cin, U + xi * cout * cin, cin, V + xi * vs, Nc, Mx + xi * Nc, ms, 0);
        for (size_t co = 0; co < cout; co++) {
            const float b = bias ? bias[co] : 0.0f;
            for (size_t t = 0; t < tc; t++) {
                const size_t y0 = (t0 + t) / TW * 2, x0 = (t0 + t) % TW * 2;
                float *o = out + ((co * H + y0) * W + x0) * nb;
                const float *m = Mx + co * ms + t * nb;
                const int r2 = y0 + 1 < H, c2 = x0 + 1 < W;
                for (size_t n = 0; n < nb; n += 8)
                    wino_tile_out(m + n, Nc, b, relu, o + n, W * nb, nb, r2, c2);
            }
        }
    }
}

#else

void cq__conv3x3_wino(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *U,
                      const float *bias, int relu, const float *in, float *out, float *scratch)
{
    wino_lanes(cin, cout, H, W, nb, U, bias, relu, in, out, scratch);
}

void cq__gemm(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
              float *C, size_t ldc, int accumulate)
{
    cq__gemm_ref(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void cq__gemv_t(size_t M, size_t K, const float *At, const float *x, float *y)
{
    cq__gemv_t_ref(M, K, At, x, y);
}

void cq__gemm_rows(size_t M, size_t N, size_t K, const float *A, size_t lda,
                   const float *const *Brows, float *C, size_t ldc, const float *bias, int relu)
{
    cq__gemm_rows_ref(M, N, K, A, lda, Brows, C, ldc, bias, relu);
}

float cq__lstm_cell(size_t n, const float *g, float *c, float *h, const float *w)
{
    return cq__lstm_cell_ref(n, g, c, h, w);
}

void cq__magnitude(size_t n, const float *re, const float *im, float *out)
{
    cq__magnitude_ref(n, re, im, out);
}

double cq__exp_shifted(float *v, size_t n)
{
    return cq__exp_shifted_ref(v, n);
}

float cq__dot(size_t n, const float *a, const float *b)
{
    return cq__dot_ref(n, a, b);
}

void cq__adaptive_max(size_t c, size_t nb, int H, int W, int oh, int ow, const float *in,
                      float *out)
{
    cq__adaptive_max_ref(c, nb, H, W, oh, ow, in, out);
}

#endif

/* ---- a parallel loop ------------------------------------------------------------------------ */

typedef struct par_share {
    cq__range_fn fn;
    void *ctx;
    size_t begin, end;
    int worker;
    double cpu_sec; /* what the helper thread that ran it used */
} par_share;

static void *par_run(void *arg)
{
    par_share *j = arg;
    j->fn(j->ctx, j->begin, j->end, j->worker);
    j->cpu_sec = cq__thread_cpu_sec(); /* a thread of its own: all of it is this share's */
    return NULL;
}

#define MAX_THREADS 64

void cq__parallel(int threads, size_t n, cq__range_fn fn, void *ctx)
{
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads < 1 || (size_t)threads > n)
        threads = n ? (int)(n < (size_t)threads ? n : (size_t)threads) : 1;
    if (threads <= 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    par_share shares[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < threads; t++)
        shares[t] = (par_share){
            fn, ctx, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads,
            t,  0.0};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, par_run, &shares[t]) == 0;
    fn(ctx, shares[0].begin, shares[0].end, 0);
    for (int t = 1; t < threads; t++) {
        if (started[t]) {
            pthread_join(tid[t], NULL);
            cq__thread_cpu_credit(shares[t].cpu_sec); /* the caller's CPU account has it */
        } else {
            fn(ctx, shares[t].begin, shares[t].end, t); /* could not start: run it here */
        }
    }
}
