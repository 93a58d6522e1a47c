/*
 * test_level.c - RMS, peak, DC, clipping, crest and the P.56 active speech level.
 */
#include "testutil.h"

#include "callqa/cq_level.h"

#define RATE 8000

static cq_level_params params(void)
{
    cq_level_params p = cq_level_default_params();
    p.sample_rate_hz = RATE;
    return p;
}

static void test_sine_levels(void **state)
{
    (void)state;
    size_t n = RATE; /* 1 s of a 1 kHz sine at 0.5 */
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * cos(2 * M_PI * 1000.0 * (double)i / RATE));
    cq_level_params p = params();
    cq_level_result r;
    assert_int_equal(cq_level_compute(x, n, &p, &r), CQ_OK);
    assert_true(r.has_rms && r.has_peak && r.has_crest);
    assert_true(fabs(r.rms_db - 20 * log10(0.5 / sqrt(2))) < 1e-4);
    assert_true(fabs(r.peak_db - 20 * log10(0.5)) < 1e-5);
    assert_true(fabs(r.crest_db - 3.0103) < 1e-3);
    assert_true(fabs(r.dc_offset) < 1e-7);
    assert_true(fabs(r.duration_sec - 1.0) < 1e-12);
    assert_int_equal(r.clipped_samples, 0);
    /* a continuous tone is active throughout: P.56 level = RMS level, activity ~100 % */
    assert_true(r.has_active_level);
    assert_true(fabs(r.active_level_db - r.rms_db) < 0.2);
    assert_true(r.activity_pct > 97.0 && r.activity_pct <= 100.0 + 1e-9);
    free(x);
}

static void test_negative_peak_and_dc(void **state)
{
    (void)state;
    float x[6] = {0.1f, 0.2f, -0.8f, 0.1f, 0.1f, 0.3f};
    cq_level_params p = params();
    p.p56 = false;
    cq_level_result r;
    assert_int_equal(cq_level_compute(x, 6, &p, &r), CQ_OK);
    /* the sample peak takes negative samples into account; sox's "Maximum amplitude" did not */
    assert_true(fabs(r.peak - 0.8) < 1e-7);
    assert_true(fabs(r.max_amplitude - 0.3) < 1e-7);
    assert_true(fabs(r.min_amplitude + 0.8) < 1e-7);
    assert_true(fabs(r.dc_offset - 0.0) < 1e-7);
    assert_false(r.has_active_level);
}

static void test_digital_silence(void **state)
{
    (void)state;
    float x[1000] = {0};
    cq_level_params p = params();
    cq_level_result r;
    assert_int_equal(cq_level_compute(x, 1000, &p, &r), CQ_OK);
    assert_false(r.has_rms);
    assert_false(r.has_peak);
    assert_false(r.has_crest);
    assert_false(r.has_active_level);
    assert_int_equal(r.samples, 1000);
    /* and no samples at all */
    assert_int_equal(cq_level_compute(NULL, 0, &p, &r), CQ_OK);
    assert_false(r.has_rms);
    assert_int_equal(r.samples, 0);
}

static void test_clipping_runs(void **state)
{
    (void)state;
    const float c = 32767.0f / 32768.0f;
    /* runs of 2 (not clipping), 3 (+3) and 5 (-5, negative full scale counts too) */
    float x[40] = {0};
    x[2] = x[3] = c;
    x[10] = x[11] = x[12] = c;
    for (int i = 20; i < 25; i++)
        x[i] = -1.0f;
    cq_level_params p = params();
    cq_level_result r;
    assert_int_equal(cq_level_compute(x, 40, &p, &r), CQ_OK);
    assert_int_equal(r.clipped_samples, 8);
    assert_int_equal(r.clipped_runs, 2);

    /* a run split across pushes counts once */
    cq_level st;
    assert_int_equal(cq_level_init(&st, &p), CQ_OK);
    for (int i = 0; i < 40; i++)
        cq_level_push(&st, &x[i], 1);
    cq_level_result r2;
    cq_level_finish(&st, &r2);
    assert_int_equal(r2.clipped_samples, 8);
    assert_int_equal(r2.clipped_runs, 2);

    /* u-law full scale is 32124/32768: a lower clip level */
    float u[4] = {32124.0f / 32768.0f, 32124.0f / 32768.0f, 32124.0f / 32768.0f, 0};
    p.clip_level = 32124.0f / 32768.0f;
    assert_int_equal(cq_level_compute(u, 4, &p, &r), CQ_OK);
    assert_int_equal(r.clipped_samples, 3);
}

/* Bursts of a tone separated by silence: P.56 measures the level of the bursts. */
static void test_p56_bursts(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("test_p56_bursts");
    size_t n = (size_t)RATE * 32;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        int on = ((int)t % 8) < 4; /* 4 s on, 4 s off */
        double v = on ? 0.3 * sin(2 * M_PI * 440.0 * t) : 0;
        x[i] = tu_q16(v + 1e-4 * tu_gauss(&rng)); /* a -80 dB noise floor */
    }
    cq_level_params p = params();
    cq_level_result r;
    assert_int_equal(cq_level_compute(x, n, &p, &r), CQ_OK);
    double burst_db = 20 * log10(0.3 / sqrt(2));
    print_message("P.56 bursts: active %.3f dB (burst %.3f dB), activity %.2f %%, rms %.3f dB\n",
                  r.active_level_db, burst_db, r.activity_pct, r.rms_db);
    assert_true(r.has_active_level);
    /* 50 % on, plus the 0.2 s hangover and the envelope's decay after each burst, which
     * P.56 counts as active: the active level sits a little under the burst level */
    assert_true(r.activity_pct > 50.0 && r.activity_pct < 56.0);
    assert_true(r.active_level_db < burst_db + 0.05 && r.active_level_db > burst_db - 0.5);
    /* the long-term RMS sits 3 dB lower: half the time is silence */
    assert_true(fabs(r.rms_db - (burst_db - 3.01)) < 0.1);

    /* a gain shifts the active level by the same amount */
    for (size_t i = 0; i < n; i++)
        x[i] *= 0.1f;
    cq_level_result r2;
    assert_int_equal(cq_level_compute(x, n, &p, &r2), CQ_OK);
    assert_true(fabs((r.active_level_db - r2.active_level_db) - 20.0) < 0.3);
    free(x);
}

/* The same stream cut into blocks of any size gives the same results. */
static void test_block_invariance(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("test_block_invariance");
    size_t n = (size_t)RATE * 7 + 13;
    float *x = malloc(n * sizeof(float));
    double env = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 800 == 0)
            env = tu_uniform(&rng) < 0.4 ? 0.0 : 0.05 + 0.4 * tu_uniform(&rng);
        x[i] = tu_q16(env * tu_gauss(&rng) * 0.5);
    }
    x[100] = x[101] = x[102] = 1.0f; /* a clipped run */
    cq_level_params p = params();
    cq_level_result one;
    assert_int_equal(cq_level_compute(x, n, &p, &one), CQ_OK);
    cq_level st;
    assert_int_equal(cq_level_init(&st, &p), CQ_OK);
    for (size_t off = 0; off < n;) {
        size_t m = 1 + (size_t)(tu_uniform(&rng) * 700);
        if (m > n - off)
            m = n - off;
        cq_level_push(&st, x + off, m);
        off += m;
    }
    cq_level_result many;
    cq_level_finish(&st, &many);
    assert_int_equal(one.samples, many.samples);
    assert_true(fabs(one.rms_db - many.rms_db) < 1e-4); /* float partial sums per block */
    assert_true(one.peak == many.peak);
    assert_int_equal(one.clipped_samples, many.clipped_samples);
    assert_int_equal(one.clipped_runs, 1);
    assert_true(one.has_active_level && many.has_active_level);
    assert_true(fabs(one.active_level_db - many.active_level_db) < 1e-3);
    free(x);
}

static void test_invalid_params(void **state)
{
    (void)state;
    cq_level st;
    cq_level_params p = params();
    p.sample_rate_hz = 0;
    assert_int_equal(cq_level_init(&st, &p), CQ_ERR_INVALID);
    p = params();
    p.clip_min_run = 0;
    assert_int_equal(cq_level_init(&st, &p), CQ_ERR_INVALID);
    p = params();
    p.clip_level = 0;
    assert_int_equal(cq_level_init(&st, &p), CQ_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sine_levels),     cmocka_unit_test(test_negative_peak_and_dc),
        cmocka_unit_test(test_digital_silence), cmocka_unit_test(test_clipping_runs),
        cmocka_unit_test(test_p56_bursts),      cmocka_unit_test(test_block_invariance),
        cmocka_unit_test(test_invalid_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
