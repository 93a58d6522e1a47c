/*
 * test_kernels.c - the fast kernels against their scalar versions, on random signals and on
 * a real recording from the corpus when ../shared is present; the Goertzel kernels also on a
 * pure tone, whose power they must read.
 */
#include "testutil.h"

#include "../../src/dsp/kernels_int.h"
#include "../../src/nn/nn_int.h"

static float *signal(size_t n, tu_rng *rng)
{
    float *x = malloc(n * sizeof(float));
    double amp = 0.1;
    for (size_t i = 0; i < n; i++) {
        if (i % 397 == 0)
            amp = tu_uniform(rng) < 0.3 ? 0.001 : 0.6 * tu_uniform(rng);
        x[i] = tu_q16(amp * tu_gauss(rng));
    }
    return x;
}

/*
 * The Goertzel kernels against their scalar versions on frames of x: every block size of the
 * bank's fast version (lane counts up to 88, in vectors of 8 and a remainder), with and without
 * gains and energy, a frame read in two calls (the state carried), and an odd frame length (the
 * fast version reads two samples a round). Tolerance 0: the fast versions compute the scalar
 * versions' operations in their order, without fused multiply-adds, so they must agree bit
 * for bit (the receivers' readings, and so the reports, depend on it).
 */
static void check_goertzel(const float *x, size_t n, tu_rng *rng)
{
    enum { FRAME = 161, SEGS = 20, MAXK = 88, ROWS = FRAME / SEGS + 1 };
    float w[FRAME], c[MAXK], g[ROWS * MAXK];
    for (int i = 0; i < FRAME; i++)
        w[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / FRAME));
    for (int k = 0; k < MAXK; k++) /* 100 Hz to 3.6 kHz at 8 kHz, as the receivers' lanes */
        c[k] = (float)(2 * cos(2 * M_PI * (100 + 40 * k) / 8000.0));
    for (int i = 0; i < ROWS * MAXK; i++)
        g[i] = (float)(1.56 * tu_uniform(rng)); /* dtmf.c's comb gains: 0 to 1.56 */
    const size_t lanes[] = {1, 7, 8, 9, 16, 24, 31, 32, 40, 64, 71, 88};
    const size_t len = n < FRAME ? n : FRAME, step = n > len ? 1 + (n - len) / 16 : 1;
    size_t frames = 0;
    for (size_t off = 0; off + len <= n; off += step) {
        const float *xf = x + off;
        frames++;
        for (size_t l = 0; l < sizeof(lanes) / sizeof(lanes[0]); l++) {
            const size_t nk = lanes[l];
            for (int mode = 0; mode < 4; mode++) { /* bit 0: gains; bit 1: energy */
                const float *gm = mode & 1 ? g : NULL;
                float a1[MAXK] = {0}, a2[MAXK] = {0}, b1[MAXK] = {0}, b2[MAXK] = {0};
                float ea = 0.25f, eb = 0.25f;
                /* in two calls, split at a row of gains (3 rows of SEGS) */
                const size_t cut = len < 3 * SEGS ? len : 3 * SEGS;
                cq__k_goertzel_bank(xf, w, cut, c, nk, gm, SEGS, a1, a2, mode & 2 ? &ea : NULL);
                cq__k_goertzel_bank(xf + cut, w + cut, len - cut, c, nk, gm ? gm + 3 * nk : NULL,
                                    SEGS, a1, a2, mode & 2 ? &ea : NULL);
                cq__k_goertzel_bank_ref(xf, w, cut, c, nk, gm, SEGS, b1, b2, mode & 2 ? &eb : NULL);
                cq__k_goertzel_bank_ref(xf + cut, w + cut, len - cut, c, nk,
                                        gm ? gm + 3 * nk : NULL, SEGS, b1, b2,
                                        mode & 2 ? &eb : NULL);
                assert_memory_equal(a1, b1, sizeof(a1));
                assert_memory_equal(a2, b2, sizeof(a2));
                assert_memory_equal(&ea, &eb, sizeof(ea));
            }
        }
        /* the single Goertzel, windowed and not, at the lanes' frequencies */
        for (int k = 0; k < MAXK; k += 11) {
            for (int win = 0; win < 2; win++) {
                double a1 = 0, a2 = 0, b1 = 0, b2 = 0;
                cq__k_goertzel(xf, win ? w : NULL, len, c[k], &a1, &a2);
                cq__k_goertzel_ref(xf, win ? w : NULL, len, c[k], &b1, &b2);
                assert_memory_equal(&a1, &b1, sizeof(a1));
                assert_memory_equal(&a2, &b2, sizeof(a2));
            }
        }
        /* many single Goertzels side by side, in two calls, against each lane's scalar loop */
        for (size_t l = 0; l < sizeof(lanes) / sizeof(lanes[0]); l++) {
            const size_t nk = lanes[l];
            for (int win = 0; win < 2; win++) {
                double cd[MAXK], m1[MAXK] = {0}, m2[MAXK] = {0}, r1[MAXK] = {0}, r2[MAXK] = {0};
                for (size_t k = 0; k < nk; k++)
                    cd[k] = 2 * cos(2 * M_PI * (300 + 7.5 * k) / 8000.0);
                const size_t cut = len / 3;
                cq__k_goertzel_many(xf, win ? w : NULL, cut, cd, nk, m1, m2);
                cq__k_goertzel_many(xf + cut, win ? w + cut : NULL, len - cut, cd, nk, m1, m2);
                for (size_t k = 0; k < nk; k++) {
                    cq__k_goertzel_ref(xf, win ? w : NULL, cut, cd[k], &r1[k], &r2[k]);
                    cq__k_goertzel_ref(xf + cut, win ? w + cut : NULL, len - cut, cd[k], &r1[k],
                                       &r2[k]);
                }
                assert_memory_equal(m1, r1, sizeof(m1));
                assert_memory_equal(m2, r2, sizeof(m2));
            }
        }
        if (len == 0)
            break;
    }
    assert_true(frames > 0);
}

static void check_all(const float *x, size_t n)
{
    /* stats */
    cq__stats a = {0, 0, -HUGE_VALF, HUGE_VALF}, b = a;
    cq__k_stats(x, n, &a);
    cq__k_stats_ref(x, n, &b);
    /* float partial sums over 256 samples: the bound is in units of the sum of |x| */
    double sabs = 0;
    for (size_t i = 0; i < n; i++)
        sabs += fabs(x[i]);
    assert_true(fabs(a.sum - b.sum) <= 1e-6 * (1e-9 + sabs));
    assert_true(fabs(a.sumsq - b.sumsq) <= 1e-6 * b.sumsq + 1e-12);
    assert_true(a.max == b.max && a.min == b.min);

    /* envelope, in pieces of odd sizes so tails and carries are exercised */
    float *qa = malloc(n * sizeof(float)), *qb = malloc(n * sizeof(float));
    const float g = (float)exp(-1.0 / (8000 * 0.03)), bb = 1.0f - g;
    cq__env ea = {0}, eb = {0};
    double worst = 0;
    for (size_t off = 0; off < n;) {
        size_t m = n - off < 253 ? n - off : 253;
        cq__k_envelope(x + off, m, g, bb, &ea, qa + off);
        cq__k_envelope_ref(x + off, m, g, bb, &eb, qb + off);
        float lo = HUGE_VALF, hi = -HUGE_VALF;
        for (size_t i = 0; i < m; i++) {
            lo = qa[off + i] < lo ? qa[off + i] : lo;
            hi = qa[off + i] > hi ? qa[off + i] : hi;
        }
        assert_true(ea.qmin == lo && ea.qmax == hi);
        off += m;
    }
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)qa[i] - qb[i]) / (1e-6 + fabs((double)qb[i]));
        worst = d > worst ? d : worst;
    }
    print_message("envelope: worst relative difference %.3g over %zu samples\n", worst, n);
    assert_true(worst < 1e-4); /* float roundoff of a pole at 0.996; does not grow with n */
    free(qa);
    free(qb);

    /* band search: the same first index for bands around the signal's levels */
    for (int j = 0; j < 16; j++) {
        float lo = ldexpf(1.0f, j - 16), hi = ldexpf(1.0f, j - 15);
        for (size_t off = 0; off < n; off += 1 + n / 64) {
            size_t fa = cq__k_find_outside(x + off, n - off, lo, hi);
            size_t fb = cq__k_find_outside_ref(x + off, n - off, lo, hi);
            assert_int_equal(fa, fb);
        }
    }

    /* silence scan: identical event sequence for several durations */
    const uint64_t needs[] = {1, 4, 8, 9, 100, 4000};
    for (size_t k = 0; k < sizeof(needs) / sizeof(needs[0]); k++) {
        uint64_t ra = 0, rb = 0;
        size_t ia = 0, ib = 0;
        size_t events = 0;
        while (ia < n || ib < n) {
            size_t ka = cq__k_silence_next(x + ia, n - ia, 0.0177f, needs[k], &ra);
            size_t kb = cq__k_silence_next_ref(x + ib, n - ib, 0.0177f, needs[k], &rb);
            assert_int_equal(ia + ka, ib + kb);
            assert_int_equal(ra, rb);
            if (ia + ka >= n)
                break;
            events++;
            ia += ka + 1, ib += kb + 1;
            ra = rb = 0;
        }
        (void)events;
    }

    tu_rng rng = tu_rng_seed("kernels goertzel gains");
    check_goertzel(x, n, &rng);
}

static void test_random(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels random");
    const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 4096, 100003};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        float *x = signal(sizes[s], &rng);
        check_all(x, sizes[s]);
        free(x);
    }
}

static void test_real_recording(void **state)
{
    (void)state;
    char *path = NULL;
    if (asprintf(&path, "%s/corpus/calls/call01_normal.wav", tu_shared_dir()) < 0)
        fail();
    SF_INFO in = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &in);
    if (!f) {
        free(path);
        skip(); /* the corpus is optional for this test; test_golden requires it */
    }
    size_t n = (size_t)in.frames * (size_t)in.channels;
    float *x = malloc(n * sizeof(float));
    assert_int_equal(sf_readf_float(f, x, in.frames), in.frames);
    sf_close(f);
    check_all(x, n);
    free(x);
    free(path);
}

/* The networks' matrix product against its scalar version: every shape path (16- and 8-column
 * blocks, their remainders, the narrow case of under 8 columns with K up to 512 and beyond it,
 * rows left over from blocks of 4), strided operands, and accumulation. */
static void test_gemm(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels gemm");
    static const size_t shapes[][3] = {
        {130, 4, 128}, {128, 4, 195}, {64, 2, 384},    {64, 1, 192},   {512, 1, 128},
        {7, 3, 600},   {5, 7, 513},   {130, 128, 128}, {33, 29, 17},   {4, 8, 1},
        {1, 1, 1},     {9, 23, 70},   {70, 40, 1100},  {13, 64, 4497},
    };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const size_t lda = K + 3, ldb = N + 5, ldc = N + 2;
        float *A = malloc(M * lda * sizeof(float)), *B = malloc(K * ldb * sizeof(float));
        float *C1 = malloc(M * ldc * sizeof(float)), *C2 = malloc(M * ldc * sizeof(float));
        for (size_t i = 0; i < M * lda; i++)
            A[i] = (float)tu_gauss(&rng);
        for (size_t i = 0; i < K * ldb; i++)
            B[i] = (float)tu_gauss(&rng);
        for (int acc = 0; acc < 2; acc++) {
            for (size_t i = 0; i < M * ldc; i++)
                C1[i] = C2[i] = (float)i;
            cq__gemm(M, N, K, A, lda, B, ldb, C1, ldc, acc);
            cq__gemm_ref(M, N, K, A, lda, B, ldb, C2, ldc, acc);
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < ldc; j++) {
                    const float a = C1[i * ldc + j], b = C2[i * ldc + j];
                    /* sums of K products of unit normals: rounding within 1e-5 sqrt(K) */
                    assert_true(fabsf(a - b) <= 1e-5f * sqrtf((float)K) * (1 + fabsf(b)));
                    if (j >= N) /* nothing beyond the N columns is touched */
                        assert_true(a == (float)(i * ldc + j));
                }
        }
        free(A);
        free(B);
        free(C1);
        free(C2);
    }
}

/* The 3x3 convolution by Winograd's F(2x2, 3x3) against the direct one: odd and even image
 * sizes (tiles cut by the border), one image up to more lanes than a round of tiles holds, few
 * and many channels, with and without bias and ReLU. The two round differently: within 1e-5
 * of the magnitude of the sum's terms. */
static void test_conv3x3(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels conv3x3");
    static const size_t shapes[][5] = {/* cin, cout, H, W, lanes */
                                       {16, 32, 24, 7, 16}, {64, 64, 12, 5, 16}, {64, 64, 6, 3, 7},
                                       {3, 5, 5, 4, 1},     {7, 9, 1, 1, 3},     {2, 3, 2, 3, 9},
                                       {33, 17, 6, 3, 70},  {1, 1, 3, 2, 2},     {5, 6, 7, 9, 33},
                                       {16, 32, 24, 7, 8},  {9, 13, 5, 5, 24},   {4, 4, 1, 2, 80}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const size_t cin = shapes[s][0], cout = shapes[s][1], H = shapes[s][2], W = shapes[s][3];
        const size_t nb = shapes[s][4], nin = cin * H * W * nb, nout = cout * H * W * nb;
        float *w = malloc(cout * 9 * cin * sizeof(float)), *b = malloc(cout * sizeof(float));
        float *in = malloc(nin * sizeof(float)), *U = malloc(16 * cout * cin * sizeof(float));
        float *o1 = malloc(nout * sizeof(float)), *o2 = malloc(nout * sizeof(float));
        float *sc = malloc(cq__wino_scratch(cin, cout, H, W, nb) * sizeof(float));
        for (size_t i = 0; i < cout * 9 * cin; i++)
            w[i] = (float)tu_gauss(&rng);
        for (size_t i = 0; i < cout; i++)
            b[i] = (float)tu_gauss(&rng);
        for (size_t i = 0; i < nin; i++)
            in[i] = (float)tu_gauss(&rng);
        cq__wino_weights(cin, cout, w, U);
        for (int mode = 0; mode < 2; mode++) { /* 0: no bias, no ReLU; 1: both */
            const float *bias = mode ? b : NULL;
            for (size_t i = 0; i < nout; i++)
                o1[i] = o2[i] = NAN;
            cq__conv3x3_wino(cin, cout, H, W, nb, U, bias, mode, in, o1, sc);
            cq__conv3x3_ref(cin, cout, H, W, nb, w, bias, mode, in, o2);
            for (size_t i = 0; i < nout; i++) {
                /* terms of unit normals: their magnitudes sum to about 9 cin */
                assert_false(isnan(o1[i]));
                assert_true(fabsf(o1[i] - o2[i]) <= 1e-5f * (float)(9 * cin + 1));
            }
        }
        free(w), free(b), free(in), free(U), free(o1), free(o2), free(sc);
    }
}

/* The softmax's e^(v - max v) against the scalar version (libm's expf): lengths around the
 * 8-lane vectors and up to an attention row of 3 minutes, spreads from 0.1 to 100 (values
 * that underflow to 0 or near it): each value within 4e-7 of 1 (at most 1, e^0), the sum
 * within 1e-6 relative. */
static void test_exp_shifted(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels exp_shifted");
    static const size_t sizes[] = {1, 7, 8, 9, 16, 63, 200, 4497};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int sp = 0; sp < 4; sp++) {
            const size_t n = sizes[s];
            const double spread = sp == 0 ? 0.1 : sp == 1 ? 3 : sp == 2 ? 20 : 100;
            float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
            for (size_t i = 0; i < n; i++)
                a[i] = b[i] = (float)(spread * tu_gauss(&rng) + 5);
            const double s1 = cq__exp_shifted(a, n), s2 = cq__exp_shifted_ref(b, n);
            for (size_t i = 0; i < n; i++)
                assert_true(fabsf(a[i] - b[i]) <= 4e-7f);
            assert_true(fabs(s1 - s2) <= 1e-6 * s2);
            free(a);
            free(b);
        }
}

/* The dot product against the scalar one: lengths around the 16- and 8-lane blocks; the sums
 * are grouped differently, so within 1e-6 of the sum of the products' magnitudes. */
static void test_dot(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels dot");
    static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 24, 25, 68, 300, 1001};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const size_t n = sizes[s];
        float *a = malloc((n + 1) * sizeof(float)), *b = malloc((n + 1) * sizeof(float));
        double mag = 0;
        for (size_t i = 0; i < n; i++) {
            a[i] = (float)tu_gauss(&rng), b[i] = (float)tu_uniform(&rng);
            mag += fabs((double)a[i] * b[i]);
        }
        assert_true(fabs((double)cq__dot(n, a, b) - cq__dot_ref(n, a, b)) <= 1e-6 * (mag + 1e-30));
        free(a);
        free(b);
    }
}

/* Adaptive max pooling against the scalar version: NISQA's three pools, bins that overlap
 * (sizes not multiples of the output), lanes in vectors of 8 and not; max is exact, so equal. */
static void test_adaptive_max(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels adaptive_max");
    static const int shapes[][6] = {
        /* c, lanes, H, W, oh, ow */
        {16, 16, 48, 15, 24, 7}, {32, 16, 24, 7, 12, 5}, {64, 8, 12, 5, 6, 3}, {3, 24, 7, 9, 3, 4},
        {5, 7, 12, 5, 6, 3},     {2, 16, 1, 1, 1, 1},    {4, 32, 5, 3, 7, 5},  {1, 1, 3, 3, 2, 2}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const size_t c = (size_t)shapes[s][0], nb = (size_t)shapes[s][1];
        const int H = shapes[s][2], W = shapes[s][3], oh = shapes[s][4], ow = shapes[s][5];
        const size_t nin = c * (size_t)(H * W) * nb, nout = c * (size_t)(oh * ow) * nb;
        float *in = malloc(nin * sizeof(float)), *o1 = malloc(nout * sizeof(float));
        float *o2 = malloc(nout * sizeof(float));
        for (size_t i = 0; i < nin; i++)
            in[i] = (float)tu_gauss(&rng);
        cq__adaptive_max(c, nb, H, W, oh, ow, in, o1);
        cq__adaptive_max_ref(c, nb, H, W, oh, ow, in, o2);
        assert_memory_equal(o1, o2, nout * sizeof(float));
        free(in), free(o1), free(o2);
    }
}

/* The spectrum's magnitude against its scalar version: lengths around the 8-lane vectors,
 * values from tiny to large; sqrt is correctly rounded, so only the fused multiply-add in
 * re^2 + im^2 can differ: within 2 ulp. */
static void test_magnitude(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels magnitude");
    static const size_t sizes[] = {8320, 1, 7, 8, 9, 65, 260};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const size_t n = sizes[s];
        float *re = malloc(n * sizeof(float)), *im = malloc(n * sizeof(float));
        float *m1 = malloc((n + 1) * sizeof(float)), *m2 = malloc((n + 1) * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            const double scale = i % 3 == 0 ? 1e-6 : i % 3 == 1 ? 1 : 1e4;
            re[i] = (float)(scale * tu_gauss(&rng));
            im[i] = i % 11 == 0 ? 0.0f : (float)(scale * tu_gauss(&rng));
        }
        m1[n] = m2[n] = -1.0f;
        cq__magnitude(n, re, im, m1);
        cq__magnitude_ref(n, re, im, m2);
        for (size_t i = 0; i < n; i++)
            assert_true(fabsf(m1[i] - m2[i]) <= 2.4e-7f * m2[i]);
        assert_true(m1[n] == -1.0f);
        free(re);
        free(im);
        free(m1);
        free(m2);
    }
}

/* The product on rows given by pointers (a convolution without im2col) against its scalar
 * version: panels of 16 and 8 columns, columns left over, the narrow case under 8 columns,
 * rows left over from tiles of 6; with and without bias and ReLU; rows of B taken from shifted
 * and repeated places of one buffer, as the convolutions take them. */
static void test_gemm_rows(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels gemm_rows");
    static const size_t shapes[][3] = {{128, 32, 195}, {64, 32, 256}, {128, 25, 128}, {64, 1, 384},
                                       {64, 2, 192},   {7, 3, 600},   {5, 7, 13},     {33, 29, 17},
                                       {1, 1, 1},      {9, 23, 70},   {130, 16, 64},  {2, 8, 5}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const size_t lda = K + 3, ldc = N + 2, nbuf = 4 * N + 64;
        float *A = malloc(M * lda * sizeof(float)), *buf = malloc(nbuf * sizeof(float));
        float *bias = malloc(M * sizeof(float));
        float *C1 = malloc(M * ldc * sizeof(float)), *C2 = malloc(M * ldc * sizeof(float));
        const float **rows = malloc(K * sizeof(*rows));
        for (size_t i = 0; i < M * lda; i++)
            A[i] = (float)tu_gauss(&rng);
        for (size_t i = 0; i < nbuf; i++)
            buf[i] = (float)tu_gauss(&rng);
        for (size_t i = 0; i < M; i++)
            bias[i] = (float)tu_gauss(&rng);
        for (size_t k = 0; k < K; k++)
            rows[k] = buf + (size_t)(tu_uniform(&rng) * (double)(nbuf - N));
        for (int v = 0; v < 4; v++) {
            const float *b = v & 1 ? bias : NULL;
            const int relu = v >> 1;
            for (size_t i = 0; i < M * ldc; i++)
                C1[i] = C2[i] = (float)i;
            cq__gemm_rows(M, N, K, A, lda, rows, C1, ldc, b, relu);
            cq__gemm_rows_ref(M, N, K, A, lda, rows, C2, ldc, b, relu);
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < ldc; j++) {
                    const float x = C1[i * ldc + j], y = C2[i * ldc + j];
                    assert_true(fabsf(x - y) <= 1e-5f * sqrtf((float)K) * (1 + fabsf(y)));
                    if (j >= N)
                        assert_true(x == (float)(i * ldc + j));
                    else if (relu)
                        assert_true(x >= 0);
                }
        }
        free(A);
        free(buf);
        free(bias);
        free(C1);
        free(C2);
        free(rows);
    }
}

/* The recurrent product y += At^T x against its scalar version: blocks of 64 and 8 rows and
 * the rows left over, K from 1 up; the same order of summation, so within rounding of FMA. */
static void test_gemv_t(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels gemv_t");
    static const size_t shapes[][2] = {{512, 128}, {513, 128}, {200, 3}, {64, 1},
                                       {71, 17},   {7, 9},     {1, 300}, {129, 65}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const size_t M = shapes[s][0], K = shapes[s][1];
        float *At = malloc(M * K * sizeof(float)), *x = malloc(K * sizeof(float));
        float *y1 = malloc((M + 1) * sizeof(float)), *y2 = malloc((M + 1) * sizeof(float));
        for (size_t i = 0; i < M * K; i++)
            At[i] = (float)tu_gauss(&rng);
        for (size_t k = 0; k < K; k++)
            x[k] = (float)tu_gauss(&rng);
        for (size_t i = 0; i <= M; i++)
            y1[i] = y2[i] = (float)tu_gauss(&rng);
        const float guard = y1[M];
        cq__gemv_t(M, K, At, x, y1);
        cq__gemv_t_ref(M, K, At, x, y2);
        for (size_t i = 0; i < M; i++)
            assert_true(fabsf(y1[i] - y2[i]) <= 1e-5f * sqrtf((float)K) * (1 + fabsf(y2[i])));
        assert_true(y1[M] == guard); /* nothing beyond the M rows is touched */
        free(At);
        free(x);
        free(y1);
        free(y2);
    }
}

/*
 * The LSTM cell's gates against the scalar version (libm's expf and tanhf): unit counts in
 * vectors of 8 and a remainder, pre-activations from small to saturating (|g| up to 100), ten
 * steps carrying c and h. The vector e^x is within a few ulp of libm's: h and c within 2e-6,
 * the output layer's sum within 1e-5 (relative to the sum of |w|).
 */
static void test_lstm_cell(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("kernels lstm_cell");
    static const size_t sizes[] = {128, 1, 7, 8, 13, 64, 131, 200};
    float worst_h = 0, worst_c = 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const size_t n = sizes[s];
        float *g = malloc(4 * n * sizeof(float)), *w = malloc(n * sizeof(float));
        float *c1 = calloc(n, sizeof(float)), *h1 = calloc(n, sizeof(float));
        float *c2 = calloc(n, sizeof(float)), *h2 = calloc(n, sizeof(float));
        float wsum = 0;
        for (size_t i = 0; i < n; i++) {
            w[i] = (float)tu_gauss(&rng);
            wsum += fabsf(w[i]);
        }
        for (int step = 0; step < 10; step++) {
            const double scale = step < 3 ? 1 : step < 6 ? 4 : step < 9 ? 12 : 100;
            for (size_t i = 0; i < 4 * n; i++)
                g[i] = (float)(scale * tu_gauss(&rng));
            const float o1 = cq__lstm_cell(n, g, c1, h1, step % 2 ? NULL : w);
            const float o2 = cq__lstm_cell_ref(n, g, c2, h2, step % 2 ? NULL : w);
            for (size_t i = 0; i < n; i++) {
                assert_true(fabsf(c1[i] - c2[i]) <= 2e-6f * (1 + fabsf(c2[i])));
                assert_true(fabsf(h1[i] - h2[i]) <= 2e-6f);
                worst_c = fmaxf(worst_c, fabsf(c1[i] - c2[i]) / (1 + fabsf(c2[i])));
                worst_h = fmaxf(worst_h, fabsf(h1[i] - h2[i]));
                /* both carry the reference's state on, so errors do not build up */
                c1[i] = c2[i], h1[i] = h2[i];
            }
            if (step % 2)
                assert_true(o1 == 0 && o2 == 0);
            else
                assert_true(fabsf(o1 - o2) <= 1e-5f * (1 + wsum));
        }
        free(g);
        free(w);
        free(c1);
        free(h1);
        free(c2);
        free(h2);
    }
    print_message("lstm cell: worst h difference %.3g, c %.3g (relative)\n", worst_h, worst_c);
}

/* Power of a Goertzel state in the receivers' normalisation: a sine of power P under a window
 * of sum ws reads P. */
static double goertzel_power(double s1, double s2, double c, double ws)
{
    return 2 * (s1 * s1 + s2 * s2 - c * s1 * s2) / (ws * ws);
}

/*
 * A pure tone reads its power: a sine of amplitude 0.5 (power 0.125) at 1 kHz, 100 whole
 * periods under a periodic Hann window (and under none), sits on a bin, so the reading at its
 * frequency is exact but for rounding: within 1e-6 relative for the double Goertzel, 1e-4 for
 * the float bank (float rounding over 800 samples; it reads 1e-6 off). In the bank, a lane
 * with gain 0.5 reads a quarter of it; lanes 2 bins (20 Hz) or far off read under 1e-5 of it
 * (the window's nulls and sidelobes), lanes 1.5 bins off the window's leak there, 0.0288 of
 * it (within 1e-4); the energy is the windowed samples' sum of squares within 1e-5 relative,
 * and each lane reads what the double Goertzel reads at its (float) frequency within 1e-4 of
 * the tone's power.
 */
static void test_goertzel_tone(void **state)
{
    (void)state;
    enum { N = 800 };
    const double amp = 0.5, P = amp * amp / 2, f = 1000, rate = 8000;
    float x[N], w[N];
    double ws = 0, e2 = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(amp * cos(2 * M_PI * f * i / rate + 0.3));
        w[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / N));
        ws += w[i];
        e2 += ((double)x[i] * w[i]) * ((double)x[i] * w[i]);
    }
    /* the double Goertzel, under the window and under none */
    const double c = 2 * cos(2 * M_PI * f / rate);
    double s1 = 0, s2 = 0;
    cq__k_goertzel(x, w, N, c, &s1, &s2);
    const double pw = goertzel_power(s1, s2, c, ws);
    s1 = s2 = 0;
    cq__k_goertzel(x, NULL, N, c, &s1, &s2);
    const double pr = goertzel_power(s1, s2, c, N);
    print_message("goertzel: tone of power %.6f reads %.9f (Hann), %.9f (none)\n", P, pw, pr);
    assert_true(fabs(pw - P) <= 1e-6 * P);
    assert_true(fabs(pr - P) <= 1e-6 * P);
    /* the bank: at the tone (gain 1 and 0.5), 2 bins off, 1.5 bins off; in rows of 100 */
    enum { K = 8, SEG = 100 };
    const double lf[K] = {f, f, f + 20, f - 20, f + 15, f - 15, 2 * f, 600};
    float cb[K], g[N / SEG * K], b1[K] = {0}, b2[K] = {0}, e = 0;
    for (int k = 0; k < K; k++)
        cb[k] = (float)(2 * cos(2 * M_PI * lf[k] / rate));
    for (int r = 0; r < N / SEG; r++)
        for (int k = 0; k < K; k++)
            g[r * K + k] = k == 1 ? 0.5f : 1.0f;
    cq__k_goertzel_bank(x, w, N, cb, K, g, SEG, b1, b2, &e);
    double p[K];
    for (int k = 0; k < K; k++)
        p[k] = goertzel_power(b1[k], b2[k], cb[k], ws);
    print_message("goertzel bank: %.7f %.7f %.3g %.3g %.5f %.5f %.3g %.3g; energy %.7g of %.7g\n",
                  p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], e, e2);
    assert_true(fabs(p[0] - P) <= 1e-4 * P);
    assert_true(fabs(p[1] - 0.25 * P) <= 1e-4 * P);
    assert_true(p[2] <= 1e-5 * P && p[3] <= 1e-5 * P && p[6] <= 1e-5 * P && p[7] <= 1e-5 * P);
    assert_true(fabs(p[4] - 0.0288 * P) <= 1e-4 * P && fabs(p[5] - 0.0288 * P) <= 1e-4 * P);
    assert_true(fabs(e - e2) <= 1e-5 * e2);
    /* each lane against the double Goertzel at the lane's own coefficient */
    for (int k = 0; k < K; k++) {
        double d1 = 0, d2 = 0;
        cq__k_goertzel(x, w, N, cb[k], &d1, &d2);
        const double pd = goertzel_power(d1, d2, cb[k], ws) * (k == 1 ? 0.25 : 1);
        assert_true(fabs(p[k] - pd) <= 1e-4 * P);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_rows),     cmocka_unit_test(test_gemv_t),
        cmocka_unit_test(test_magnitude),     cmocka_unit_test(test_lstm_cell),
        cmocka_unit_test(test_goertzel_tone), cmocka_unit_test(test_real_recording),
        cmocka_unit_test(test_conv3x3),       cmocka_unit_test(test_exp_shifted),
        cmocka_unit_test(test_dot),           cmocka_unit_test(test_adaptive_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
