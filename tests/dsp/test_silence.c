/*
 * test_silence.c - FFmpeg silencedetect semantics: boundaries, strict threshold, rounding of
 * the duration to samples, trailing silence closed at end of stream, block invariance.
 */
#include "testutil.h"

#include "callqa/cq_silence.h"

#define RATE 8000

static cq_silence_params params(void)
{
    cq_silence_params p = cq_silence_default_params();
    p.sample_rate_hz = RATE;
    return p;
}

/* Fill [a, b) seconds with an alternating +-0.5 square wave (every sample loud). */
static void loud(float *x, double a, double b)
{
    for (size_t i = (size_t)llround(a * RATE); i < (size_t)llround(b * RATE); i++)
        x[i] = (i & 1) ? 0.5f : -0.5f;
}

static void test_spans(void **state)
{
    (void)state;
    /* loud 0-1, silent 1-1.7, loud 1.7-2.7, silent 2.7-3.0 (too short), loud 3-4, silent 4-4.6 */
    size_t n = (size_t)(4.6 * RATE);
    float *x = calloc(n, sizeof(float));
    loud(x, 0, 1);
    loud(x, 1.7, 2.7);
    loud(x, 3.0, 4.0);
    cq_silence_params p = params();
    cq_silence_result r;
    assert_int_equal(cq_silence_compute(x, n, &p, &r), CQ_OK);
    assert_int_equal(r.count, 2);
    assert_true(fabs(r.spans[0].start_sec - 1.0) < 1e-9);
    assert_true(fabs(r.spans[0].end_sec - 1.7) < 1e-9);
    assert_true(fabs(r.spans[0].duration_sec - 0.7) < 1e-9);
    /* the trailing silence is closed at the end of the stream (FFmpeg 5.1) */
    assert_true(fabs(r.spans[1].start_sec - 4.0) < 1e-9);
    assert_true(fabs(r.spans[1].end_sec - 4.6) < 1e-9);
    assert_true(fabs(r.total_sec - 1.3) < 1e-9);
    assert_true(fabs(r.longest_ms - 700.0) < 1e-6);
    assert_true(fabs(r.ratio_pct - 1.3 / 4.6 * 100.0) < 1e-9);
    cq_silence_result_free(&r);
    free(x);
}

static void test_threshold_is_strict(void **state)
{
    (void)state;
    cq_silence_params p = params();
    p.scale = 1.0f;
    float thr = (float)pow(10.0, -35.0 / 20.0);
    size_t n = RATE; /* 1 s */
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (i & 1) ? thr : -thr; /* exactly at the threshold: not silent */
    cq_silence_result r;
    assert_int_equal(cq_silence_compute(x, n, &p, &r), CQ_OK);
    assert_int_equal(r.count, 0);
    cq_silence_result_free(&r);
    for (size_t i = 0; i < n; i++)
        x[i] = (i & 1) ? nextafterf(thr, 0) : -nextafterf(thr, 0); /* just below: silent */
    assert_int_equal(cq_silence_compute(x, n, &p, &r), CQ_OK);
    assert_int_equal(r.count, 1);
    assert_true(r.spans[0].start_sec == 0 && fabs(r.spans[0].end_sec - 1.0) < 1e-12);
    cq_silence_result_free(&r);
    free(x);
}

static void test_duration_in_samples(void **state)
{
    (void)state;
    cq_silence_params p = params(); /* 0.5 s at 8 kHz = 4000 samples */
    for (int quiet = 3998; quiet <= 4001; quiet++) {
        size_t n = (size_t)quiet + 20;
        float *x = calloc(n, sizeof(float));
        for (size_t i = 0; i < 10; i++)
            x[i] = x[n - 1 - i] = 0.5f;
        cq_silence_result r;
        assert_int_equal(cq_silence_compute(x, n, &p, &r), CQ_OK);
        assert_int_equal(r.count, quiet >= 4000 ? 1 : 0);
        if (r.count) {
            assert_true(fabs(r.spans[0].start_sec - 10.0 / RATE) < 1e-12);
            assert_true(fabs(r.spans[0].end_sec - (10.0 + quiet) / RATE) < 1e-12);
        }
        cq_silence_result_free(&r);
        free(x);
    }
}

static void test_custom_params_and_short_need(void **state)
{
    (void)state;
    /* -20 dB, 2 ms (16 samples, and the scalar path below 8 samples with 0.5 ms) */
    float x[200];
    for (int i = 0; i < 200; i++)
        x[i] = (i / 20) % 2 ? 0.05f : 0.5f; /* 20 loud, 20 at -26 dB, ... */
    cq_silence_params p = params();
    p.noise_db = -20;
    p.min_duration_sec = 0.002;
    cq_silence_result r;
    assert_int_equal(cq_silence_compute(x, 200, &p, &r), CQ_OK);
    assert_int_equal(r.count, 5);
    assert_true(fabs(r.spans[0].start_sec - 20.0 / RATE) < 1e-12);
    cq_silence_result_free(&r);
    p.min_duration_sec = 0.0005; /* 4 samples */
    assert_int_equal(cq_silence_compute(x, 200, &p, &r), CQ_OK);
    assert_int_equal(r.count, 5);
    cq_silence_result_free(&r);
    p.noise_db = -30; /* 0.05 is -26 dB: nothing is silent */
    assert_int_equal(cq_silence_compute(x, 200, &p, &r), CQ_OK);
    assert_int_equal(r.count, 0);
    cq_silence_result_free(&r);
}

static void test_block_invariance(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("silence block invariance");
    size_t n = (size_t)RATE * 30;
    float *x = malloc(n * sizeof(float));
    double amp = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 2000 == 0)
            amp = tu_uniform(&rng) < 0.5 ? 0.002 : 0.3;
        x[i] = (float)(amp * tu_gauss(&rng));
    }
    cq_silence_params p = params();
    cq_silence_result one;
    assert_int_equal(cq_silence_compute(x, n, &p, &one), CQ_OK);
    assert_true(one.count > 3);
    cq_silence st;
    assert_int_equal(cq_silence_init(&st, &p), CQ_OK);
    for (size_t off = 0; off < n;) {
        size_t m = 1 + (size_t)(tu_uniform(&rng) * 5000);
        if (m > n - off)
            m = n - off;
        assert_int_equal(cq_silence_push(&st, x + off, m), CQ_OK);
        off += m;
    }
    cq_silence_result many;
    assert_int_equal(cq_silence_finish(&st, &many), CQ_OK);
    cq_silence_uninit(&st);
    assert_int_equal(one.count, many.count);
    for (size_t i = 0; i < one.count; i++) {
        assert_true(one.spans[i].start_sec == many.spans[i].start_sec);
        assert_true(one.spans[i].end_sec == many.spans[i].end_sec);
    }
    cq_silence_result_free(&one);
    cq_silence_result_free(&many);
    free(x);
}

static void test_invalid_params(void **state)
{
    (void)state;
    cq_silence st;
    cq_silence_params p = params();
    p.noise_db = 0;
    assert_int_equal(cq_silence_init(&st, &p), CQ_ERR_INVALID);
    p = params();
    p.min_duration_sec = 0;
    assert_int_equal(cq_silence_init(&st, &p), CQ_ERR_INVALID);
    p = params();
    p.sample_rate_hz = -8000;
    assert_int_equal(cq_silence_init(&st, &p), CQ_ERR_INVALID);
    p = params();
    p.noise_db = NAN;
    assert_int_equal(cq_silence_init(&st, &p), CQ_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_threshold_is_strict),
        cmocka_unit_test(test_duration_in_samples),
        cmocka_unit_test(test_custom_params_and_short_need),
        cmocka_unit_test(test_block_invariance),
        cmocka_unit_test(test_invalid_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
