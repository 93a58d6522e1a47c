/*
 * test_quality.c - model-free indicators: noise floor, SNR, bandwidth, dropouts and drift on
 * signals with known answers, and on the corpus calls whose labels give the truth (added noise
 * at 5 dB SNR, a customer leg of comfort noise at -65 dBFS, a customer at -45 dBFS).
 */
#include "testutil.h"

#include "callqa/callqa.h"

#define RATE 8000

/* Band-limited "speech": equal tones every 200 Hz from 300 to 2900 Hz with random phases
 * (a flat spectrum that stops at 2.9 kHz), bursts of 1.5 s every 2 s, at `db` dBFS RMS, over
 * white noise at `noise_db`. */
static float *make(size_t n, double db, double noise_db, double gain_slope_db_per_s, cq_span *spans,
                   size_t *nsp, tu_rng *rng)
{
    float *x = malloc(n * sizeof(float));
    double ph[14];
    for (int k = 0; k < 14; k++)
        ph[k] = 2 * M_PI * tu_uniform(rng);
    double amp = pow(10.0, db / 20.0) * sqrt(2.0 / 14.0), namp = pow(10.0, noise_db / 20.0);
    *nsp = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        double s = 0;
        if (fmod(t, 2.0) < 1.5)
            for (int k = 0; k < 14; k++)
                s += sin(2 * M_PI * (300.0 + 200.0 * k) * t + ph[k]);
        x[i] = (float)(s * amp * pow(10.0, gain_slope_db_per_s * t / 20.0) + namp * tu_gauss(rng));
    }
    for (double t = 0; t + 1.5 <= (double)n / RATE; t += 2.0)
        spans[(*nsp)++] = (cq_span){t, t + 1.5};
    return x;
}

static void test_noise_snr_bandwidth(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("quality snr");
    cq_span spans[64];
    size_t nsp, n = RATE * 20;
    float *x = make(n, -20, -60, 0, spans, &nsp, &rng);
    cq_quality *q = cq_quality_create(RATE, NULL);
    assert_int_equal(cq_quality_push(q, x, n), CQ_OK);
    cq_quality_result r;
    assert_int_equal(cq_quality_finish(q, spans, nsp, true, &r), CQ_OK);
    print_message("noise %.1f dBFS, speech %.1f dBFS, SNR %.1f dB, bandwidth %.0f Hz\n",
                  r.noise_floor_db, r.speech_level_db, r.snr_db, r.bandwidth_hz);
    assert_string_equal(r.basis, "vad");
    assert_true(fabs(r.noise_floor_db + 60) < 1.5);
    assert_true(fabs(r.speech_level_db + 20) < 1.0);
    assert_true(r.has_snr && fabs(r.snr_db - 40) < 1.5);
    assert_true(r.has_bandwidth && r.bandwidth_hz >= 2850 && r.bandwidth_hz <= 3100);
    assert_int_equal(r.dropouts, 0);
    assert_false(r.has_drift); /* 15 s of speech: under the 30 s needed */
    cq_quality_destroy(q);
    free(x);
}

static void test_dropouts(void **state)
{
    (void)state;
    size_t n = RATE * 4;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * 440.0 * (double)i / RATE));
    /* zero gaps inside speech: 20 ms x 3 (counted), 2 ms (too short), 400 ms (too long) */
    const double at[] = {0.5, 1.0, 1.5, 2.0, 2.5}, len[] = {0.02, 0.02, 0.02, 0.002, 0.4};
    for (int k = 0; k < 5; k++)
        memset(x + (size_t)(at[k] * RATE), 0, sizeof(float) * (size_t)(len[k] * RATE));
    cq_span sp = {0, 4.0};
    cq_quality *q = cq_quality_create(RATE, NULL);
    assert_int_equal(cq_quality_push(q, x, n), CQ_OK);
    cq_quality_result r;
    assert_int_equal(cq_quality_finish(q, &sp, 1, true, &r), CQ_OK);
    print_message("dropouts %zu, %.1f ms, %.1f per minute of speech\n", r.dropouts, r.dropout_ms,
                  r.dropouts_per_min);
    assert_int_equal(r.dropouts, 3);
    assert_true(fabs(r.dropout_ms - 60.0) < 1.0);
    /* the same gaps outside any speech span do not count */
    cq_quality_destroy(q);
    q = cq_quality_create(RATE, NULL);
    assert_int_equal(cq_quality_push(q, x, n), CQ_OK);
    cq_span none = {3.9, 4.0};
    assert_int_equal(cq_quality_finish(q, &none, 1, true, &r), CQ_OK);
    assert_int_equal(r.dropouts, 0);
    cq_quality_destroy(q);
    free(x);
}

static void test_drift_and_level_basis(void **state)
{
    (void)state;
    tu_rng rng = tu_rng_seed("quality drift");
    cq_span spans[64];
    size_t nsp, n = RATE * 60;
    float *x = make(n, -30, -70, 0.1, spans, &nsp, &rng); /* +6 dB over the minute */
    cq_quality *q = cq_quality_create(RATE, NULL);
    assert_int_equal(cq_quality_push(q, x, n), CQ_OK);
    cq_quality_result r;
    assert_int_equal(cq_quality_finish(q, spans, nsp, true, &r), CQ_OK);
    print_message("drift %.2f dB over %.0f s of speech\n", r.level_drift_db, r.speech_sec);
    assert_true(r.has_drift && r.level_drift_db > 3.0 && r.level_drift_db < 5.0);
    /* without VAD segments speech is judged from the levels */
    assert_int_equal(cq_quality_finish(q, NULL, 0, false, &r), CQ_OK);
    assert_string_equal(r.basis, "level");
    assert_true(r.has_snr && r.snr_db > 25);
    cq_quality_destroy(q);
    free(x);
}

static const cq_leg_report *analyze_leg(cq_engine *e, const char *rel, int inbound,
                                        cq_report **keep)
{
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/%s", tu_shared_dir(), rel) < 0)
        fail();
    cq_call_src src = {.path = p};
    cq_err err;
    if (cq_engine_analyze(e, &src, keep, &err) != CQ_OK)
        fail_msg("%s", err.msg);
    free(p);
    return inbound ? (*keep)->inbound : (*keep)->outbound;
}

static void test_corpus_labels(void **state)
{
    (void)state;
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    ep.analyzers = CQ_AN_LEVELS | CQ_AN_VAD | CQ_AN_QUALITY;
    cq_engine *e = cq_engine_create(&ep, NULL);
    cq_report *r = NULL;
    /* call09: pink noise added to the customer leg at 5 dB SNR */
    const cq_leg_report *l = analyze_leg(e, "calls/call09_noise.wav", 1, &r);
    print_message("call09 customer: SNR %.1f dB (label 5 dB)\n", l->quality.snr_db);
    assert_true(l->quality.has_snr && fabs(l->quality.snr_db - 5.0) < 3.0);
    cq_report_destroy(r);
    /* call02: the customer leg is comfort noise at -65 dBFS */
    l = analyze_leg(e, "calls/call02_one_way_audio.wav", 1, &r);
    print_message("call02 customer: noise floor %.1f dBFS (label -65)\n",
                  l->quality.noise_floor_db);
    assert_true(l->quality.has_noise_floor && fabs(l->quality.noise_floor_db + 65.0) < 2.0);
    cq_report_destroy(r);
    /* call08: the customer speaks at -45 dBFS (active RMS) */
    l = analyze_leg(e, "calls/call08_low_level.wav", 1, &r);
    print_message("call08 customer: speech level %.1f dBFS (label -45)\n",
                  l->quality.speech_level_db);
    assert_true(l->quality.has_speech_level && fabs(l->quality.speech_level_db + 45.0) < 2.5);
    cq_report_destroy(r);
    cq_engine_destroy(e);
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_noise_snr_bandwidth),
    cmocka_unit_test(test_dropouts),
    cmocka_unit_test(test_drift_and_level_basis),
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_corpus_labels),
};
TU_MAIN(k_logic, k_corpus)
