/*
 * test_envelope.c - the level envelope (src/stages/envelope.c) on files the test writes: a sine
 * of known amplitude gives its RMS level in each step within 0.1 dB, digital silence the floor,
 * ceil(duration / step) steps at 8000 and 11025 Hz, the same values whatever the decode block,
 * the JSON per leg (and no field when the stage is off), the parameter's limits.
 */
#include "testutil.h"

#include <jansson.h>

#include "callqa/callqa.h"

/* frames of a stereo (or mono) float WAV: channel 1 a sine of amplitude amp, channel 2 silence
 * (stereo only) */
static char *write_sine(const char *name, int rate, size_t frames, int channels, double amp)
{
    float *x = calloc(frames * (size_t)channels, sizeof(float));
    assert_non_null(x);
    for (size_t i = 0; i < frames; i++)
        x[i * (size_t)channels] = (float)(amp * sin(2 * M_PI * 1000.0 * (double)i / rate));
    char *p = tu_path(tu_dir(), name);
    assert_int_equal(tu_write(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, channels, x, frames), 0);
    free(x);
    return p;
}

static cq_report *analyze(const char *path, int envelope_ms, unsigned analyzers, size_t block)
{
    cq_engine_params ep = cq_engine_default_params();
    ep.analyzers = analyzers;
    ep.envelope_ms = envelope_ms;
    if (block)
        ep.block_frames = block;
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    cq_report *r = NULL;
    cq_err err;
    cq_call_src src = {.path = path};
    int rc = cq_engine_analyze(e, &src, &r, &err);
    if (rc != CQ_OK)
        fail_msg("analyze: %s", err.msg);
    cq_engine_destroy(e);
    return r;
}

static size_t ceil_steps(size_t frames, int rate, int ms)
{
    double d = (double)frames / rate / (ms / 1000.0);
    return (size_t)ceil(d - 1e-9);
}

static void test_sine_and_silence(void **state)
{
    (void)state;
    const int rate = 8000;
    const size_t frames = 16240; /* 2.03 s: 40 steps of 50 ms and one of 30 ms */
    char *p = write_sine("sine.wav", rate, frames, 2, 0.5);
    cq_report *r = analyze(p, 50, CQ_AN_LEVELS, 0);
    assert_true(r->analyzers & CQ_AN_ENVELOPE);
    double step = 0;
    size_t n = 0;
    const int16_t *v = cq_leg_envelope(r->inbound, &step, &n);
    assert_non_null(v);
    assert_true(fabs(step - 0.05) < 1e-12);
    assert_int_equal(n, 41);
    assert_int_equal(n, ceil_steps(frames, rate, 50));
    const double want = 20 * log10(0.5 / sqrt(2)); /* -9.031 dB FS */
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i] / 10.0 - want) > 0.1)
            fail_msg("step %zu: %.1f dB FS, want %.3f", i, v[i] / 10.0, want);
    /* the levels stage's RMS of the same leg agrees */
    assert_true(fabs(r->inbound->level.rms_db - want) < 0.01);
    /* digital silence: the floor, never -inf */
    const int16_t *s = cq_leg_envelope(r->outbound, &step, &n);
    assert_non_null(s);
    assert_int_equal(n, 41);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s[i], (int)(CQ_ENVELOPE_FLOOR_DB * 10));
    cq_report_destroy(r);
    free(p);
}

/* a quieter sine, 11025 Hz (a step is 551.25 samples), lengths around step boundaries */
static void test_rates_and_lengths(void **state)
{
    (void)state;
    const int rate = 11025;
    const size_t lens[] = {551, 552, 1102, 1103, 11025, 11025 * 3 + 17};
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        char name[32];
        snprintf(name, sizeof(name), "r%zu.wav", k);
        char *p = write_sine(name, rate, lens[k], 1, 0.01);
        cq_report *r = analyze(p, 50, CQ_AN_LEVELS, 0);
        double step;
        size_t n;
        const int16_t *v = cq_leg_envelope(r->inbound, &step, &n);
        assert_non_null(v);
        /* 551 frames: one step (its first 551 samples); 552: two */
        assert_int_equal(n, ceil_steps(lens[k], rate, 50));
        const double want = 20 * log10(0.01 / sqrt(2)); /* -43.01 dB FS */
        /* every full step; the last one may be too short to hold whole periods */
        for (size_t i = 0; i + 1 < n; i++)
            if (fabs(v[i] / 10.0 - want) > 0.1)
                fail_msg("%zu frames, step %zu: %.1f dB FS, want %.3f", lens[k], i, v[i] / 10.0,
                         want);
        cq_report_destroy(r);
        free(p);
    }
    /* other steps: 20 ms and 1 s over 2.03 s at 8000 Hz */
    char *p = write_sine("steps.wav", 8000, 16240, 1, 0.25);
    const int steps[] = {20, 1000, 7};
    for (size_t k = 0; k < 3; k++) {
        cq_report *r = analyze(p, steps[k], CQ_AN_LEVELS, 0);
        double step;
        size_t n;
        assert_non_null(cq_leg_envelope(r->inbound, &step, &n));
        assert_int_equal(n, ceil_steps(16240, 8000, steps[k]));
        assert_true(fabs(step - steps[k] / 1000.0) < 1e-12);
        cq_report_destroy(r);
    }
    free(p);
}

/* the values do not depend on how the audio is cut into blocks */
static void test_blocks(void **state)
{
    (void)state;
    const int rate = 8000;
    const size_t frames = 9001;
    float *x = calloc(frames, sizeof(float));
    tu_rng g = tu_rng_seed("envelope blocks");
    for (size_t i = 0; i < frames; i++) /* noise growing louder, then a silent tail */
        x[i] = i < 8000 ? (float)(tu_gauss(&g) * 0.1 * (double)i / 8000) : 0;
    char *p = tu_path(tu_dir(), "blocks.wav");
    assert_int_equal(tu_write(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, 1, x, frames), 0);
    free(x);
    cq_report *a = analyze(p, 50, CQ_AN_LEVELS, 64), *b = analyze(p, 50, CQ_AN_LEVELS, 65536);
    double sa, sb;
    size_t na, nb;
    const int16_t *va = cq_leg_envelope(a->inbound, &sa, &na);
    const int16_t *vb = cq_leg_envelope(b->inbound, &sb, &nb);
    assert_int_equal(na, 23); /* 1.125 s */
    assert_int_equal(na, nb);
    assert_memory_equal(va, vb, na * sizeof(int16_t));
    assert_true(va[2] < va[10] && va[10] < va[18]);                 /* louder along the noise */
    assert_int_equal(va[na - 1], (int)(CQ_ENVELOPE_FLOOR_DB * 10)); /* the silent tail */
    cq_report_destroy(a);
    cq_report_destroy(b);
    free(p);
}

static void test_json(void **state)
{
    (void)state;
    char *p = write_sine("json.wav", 8000, 4000, 2, 0.5); /* 0.5 s */
    cq_report *r = analyze(p, 100, CQ_AN_LEVELS, 0);
    char *js = cq_report_to_json(r);
    json_error_t je;
    json_t *o = json_loads(js, 0, &je);
    assert_non_null(o);
    json_t *env = json_object_get(json_object_get(o, "inbound"), "envelope");
    assert_true(json_is_object(env));
    assert_true(fabs(json_number_value(json_object_get(env, "step_sec")) - 0.1) < 1e-12);
    json_t *d = json_object_get(env, "dbfs");
    assert_int_equal(json_array_size(d), 5);
    assert_true(fabs(json_number_value(json_array_get(d, 0)) - -9.0) < 1e-9); /* 0.1 dB */
    json_t *silent =
        json_object_get(json_object_get(json_object_get(o, "outbound"), "envelope"), "dbfs");
    assert_int_equal(json_array_size(silent), 5);
    assert_true(json_number_value(json_array_get(silent, 4)) == CQ_ENVELOPE_FLOOR_DB);
    json_t *an = json_object_get(json_object_get(o, "engine"), "analyzers");
    assert_string_equal(json_string_value(json_array_get(an, 1)), "envelope");
    json_decref(o);
    cq_report_free_string(js);
    char *tx = cq_report_to_text(r);
    assert_non_null(strstr(tx, "5 steps of 100 ms"));
    cq_report_free_string(tx);
    cq_report_destroy(r);

    /* off by default: no field at all, no analyzer named */
    r = analyze(p, 0, CQ_AN_LEVELS, 0);
    double step;
    size_t n;
    assert_null(cq_leg_envelope(r->inbound, &step, &n));
    assert_int_equal(n, 0);
    js = cq_report_to_json(r);
    assert_null(strstr(js, "envelope"));
    cq_report_free_string(js);
    cq_report_destroy(r);

    /* a mono mix: one leg, inbound as the report names it */
    char *m = write_sine("mono.wav", 8000, 4000, 1, 0.5);
    r = analyze(m, 50, CQ_AN_LEVELS, 0);
    assert_false(r->has_legs);
    assert_non_null(cq_leg_envelope(r->inbound, &step, &n));
    assert_int_equal(n, 10);
    cq_report_destroy(r);
    free(m);
    free(p);
}

static void test_params(void **state)
{
    (void)state;
    cq_engine_params ep = cq_engine_default_params();
    assert_int_equal(ep.envelope_ms, 0);
    assert_false(ep.analyzers & CQ_AN_ENVELOPE);
    int err = 0;
    ep.envelope_ms = -1;
    assert_null(cq_engine_create(&ep, &err));
    assert_int_equal(err, CQ_ERR_INVALID);
    ep.envelope_ms = 60001;
    assert_null(cq_engine_create(&ep, &err));
    /* named alone: 50 ms */
    ep.envelope_ms = 0;
    ep.analyzers = CQ_AN_ENVELOPE;
    cq_engine *e = cq_engine_create(&ep, &err);
    assert_non_null(e);
    assert_int_equal(cq_engine_get_params(e)->envelope_ms, 50);
    char fa[64], fb[64];
    assert_int_equal(cq_engine_fingerprint(e, fa, sizeof(fa)), CQ_OK);
    cq_engine_destroy(e);
    /* the step is part of the fingerprint */
    ep.envelope_ms = 100;
    e = cq_engine_create(&ep, &err);
    assert_int_equal(cq_engine_fingerprint(e, fb, sizeof(fb)), CQ_OK);
    assert_string_not_equal(fa, fb);
    cq_engine_destroy(e);
    unsigned bits = 0;
    cq_err ce;
    assert_int_equal(cq_analyzers_parse("envelope", &bits, &ce), CQ_OK);
    assert_int_equal(bits, CQ_AN_ENVELOPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sine_and_silence), cmocka_unit_test(test_rates_and_lengths),
        cmocka_unit_test(test_blocks),           cmocka_unit_test(test_json),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
