/*
 * test_kernels.c - the fast kernels against their scalar versions, on random signals and on
 * a real recording from the corpus when ../shared is present.
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
        {130, 4, 128}, {128, 4, 195},   {64, 2, 384}, {64, 1, 192}, {512, 1, 128}, {7, 3, 600},
        {5, 7, 513},   {130, 128, 128}, {33, 29, 17}, {4, 8, 1},    {1, 1, 1},     {9, 23, 70},
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_real_recording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
