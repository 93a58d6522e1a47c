/*
 * test_engine.c - the pipeline end to end on files the test writes: stereo, channel map,
 * fake stereo, mono mix, leg files, analyzer selection, limits, out-of-memory unwinding, and
 * the shapes of the old service's JSON fields (tests/engine/test_report_doc.sh checks every field
 * against docs/report.md).
 */
#include "testutil.h"

#include <jansson.h>

#include "callqa/callqa.h"

#define RATE 8000

/* Two legs: inbound talks in the first half at 0.3, outbound in the second at 0.05. */
static char *write_call(const char *name, int channels, int identical, int format)
{
    size_t n = RATE * 4;
    float *x = calloc(n * (size_t)channels, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        float a = t < 2 ? (float)(0.3 * sin(2 * M_PI * 300 * t)) : 0;
        float b = t >= 2 ? (float)(0.05 * sin(2 * M_PI * 500 * t)) : 0;
        if (channels == 1)
            x[i] = a + b;
        else {
            x[2 * i] = a;
            x[2 * i + 1] = identical ? a : b;
        }
    }
    char *p = tu_path(tu_dir(), name);
    assert_int_equal(tu_write(p, format, RATE, channels, x, n), 0);
    free(x);
    return p;
}

static cq_report *analyze(const cq_engine_params *ep, const cq_call_src *src)
{
    cq_engine *e = cq_engine_create(ep, NULL);
    assert_non_null(e);
    cq_report *r = NULL;
    cq_err err;
    int rc = cq_engine_analyze(e, src, &r, &err);
    if (rc != CQ_OK)
        fail_msg("analyze: %s", err.msg);
    cq_engine_destroy(e);
    return r;
}

static int has_warning(const cq_report *r, const char *needle)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strstr(r->warnings[i].message, needle))
            return 1;
    return 0;
}

static void test_stereo_and_channel_map(void **state)
{
    (void)state;
    char *p = write_call("stereo.wav", 2, 0, SF_FORMAT_WAV | SF_FORMAT_ULAW);
    cq_engine_params ep = cq_engine_default_params();
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&ep, &src);
    assert_true(r->has_legs);
    assert_string_equal(r->layout, "stereo");
    assert_non_null(r->outbound);
    assert_int_equal(r->inbound->channel, 1);
    assert_int_equal(r->outbound->channel, 2);
    /* inbound is the loud leg (0.3 ~ -13.5 dB RMS over its 2 s), outbound the quiet one */
    assert_true(r->inbound->level.peak_db > -11 && r->outbound->level.peak_db < -25);
    assert_true(fabs(r->duration_sec - 4.0) < 1e-9);
    assert_false(r->fake_stereo);
    assert_int_equal(r->inbound->silence.count, 1); /* the second half */
    assert_true(fabs(r->inbound->silence.spans[0].start_sec - 2.0) < 0.01);
    assert_int_equal(r->inbound->format.encoding, CQ_ENC_ULAW);
    assert_int_equal(r->inbound->role, CQ_ROLE_CUSTOMER);
    assert_int_equal(r->outbound->role, CQ_ROLE_AGENT);
    double in_peak = r->inbound->level.peak_db;
    cq_report_destroy(r);

    ep.channel_map = CQ_MAP_OUT_IN; /* customer on the right */
    r = analyze(&ep, &src);
    assert_int_equal(r->inbound->channel, 2);
    assert_int_equal(r->outbound->channel, 1);
    assert_int_equal(r->inbound->role, CQ_ROLE_CUSTOMER); /* the map decides, once */
    assert_string_equal(cq_role_name(r->outbound->role), "agent");
    assert_true(r->outbound->level.peak_db == in_peak);
    cq_report_destroy(r);
    free(p);
}

static void test_fake_stereo(void **state)
{
    (void)state;
    char *p = write_call("fake.wav", 2, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&ep, &src);
    assert_true(r->fake_stereo);
    assert_true(has_warning(r, "fake stereo"));
    cq_report_destroy(r);
    free(p);
}

static void test_mono_mix(void **state)
{
    (void)state;
    char *p = write_call("mono.wav", 1, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&ep, &src);
    assert_false(r->has_legs);
    assert_string_equal(r->layout, "mono_mix");
    assert_null(r->outbound);
    assert_int_equal(r->inbound->channel, 0);
    assert_int_equal(r->inbound->role, CQ_ROLE_MIXED);
    assert_true(has_warning(r, "hides one-way audio"));
    assert_string_equal(r->warnings[r->n_warnings - 1].code, "mono_mix");
    char *js = cq_report_to_json(r);
    assert_non_null(strstr(js, "\"role\":\"mixed\""));
    assert_non_null(strstr(js, "\"warning_details\":[{\"code\":\"mono_mix\",\"message\":"));
    assert_non_null(strstr(js, "\"schema_version\":1,"));
    cq_report_free_string(js);
    cq_report_destroy(r);
    free(p);
}

static void test_leg_files(void **state)
{
    (void)state;
    char *in = write_call("x-in.wav", 1, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    char *out = write_call("x-out.wav", 1, 0, SF_FORMAT_WAV | SF_FORMAT_GSM610);
    cq_engine_params ep = cq_engine_default_params();
    cq_call_src src = {.in_path = in, .out_path = out, .note = "chosen by the test"};
    cq_report *r = analyze(&ep, &src);
    assert_true(r->has_legs);
    assert_string_equal(r->layout, "leg_files");
    assert_string_equal(r->inbound->source, in);
    assert_string_equal(r->outbound->source, out);
    assert_string_equal(r->warnings[0].message, "chosen by the test");
    assert_int_equal(r->outbound->format.encoding, CQ_ENC_GSM610);
    assert_string_equal(r->file, in);
    cq_report_destroy(r);
    free(in), free(out);
}

static void test_only_and_memory(void **state)
{
    (void)state;
    char *p = write_call("only.wav", 2, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    cq_err err;
    assert_int_equal(cq_analyzers_parse("levels", &ep.analyzers, &err), CQ_OK);
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&ep, &src);
    assert_true(r->inbound->has_level);
    assert_false(r->inbound->has_silence);
    char *js = cq_report_to_json(r);
    json_t *o = json_loads(js, 0, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(o, "inbound"), "silence")));
    assert_true(json_is_null(json_object_get(json_object_get(o, "inbound"), "silences")));
    json_decref(o);
    cq_report_free_string(js);
    double rms = r->inbound->level.rms_db;
    cq_report_destroy(r);

    assert_int_equal(cq_analyzers_parse("levels,mos", &ep.analyzers, &err), CQ_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'mos'"));
    assert_int_equal(cq_analyzers_parse("", &ep.analyzers, &err), CQ_ERR_INVALID);

    /* the same recording from memory gives the same numbers */
    size_t n = 0;
    unsigned char *bytes = tu_read_file(p, &n);
    cq_call_src msrc = {.data = bytes, .size = n, .name = "upload.wav"};
    ep = cq_engine_default_params();
    r = analyze(&ep, &msrc);
    assert_string_equal(r->file, "upload.wav");
    assert_true(r->inbound->level.rms_db == rms);
    cq_report_destroy(r);
    free(bytes);
    free(p);
}

static void test_limits_and_misuse(void **state)
{
    (void)state;
    char *p = write_call("long.wav", 1, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    ep.max_duration_sec = 3.0;
    cq_engine *e = cq_engine_create(&ep, NULL);
    cq_report *r = NULL;
    cq_err err;
    cq_call_src src = {.path = p};
    assert_int_equal(cq_engine_analyze(e, &src, &r, &err), CQ_ERR_TOO_LARGE);
    assert_null(r);
    assert_non_null(strstr(err.msg, "limit"));
    cq_call_src both = {.path = p, .in_path = p, .out_path = p};
    assert_int_equal(cq_engine_analyze(e, &both, &r, &err), CQ_ERR_INVALID);
    cq_call_src half = {.in_path = p};
    assert_int_equal(cq_engine_analyze(e, &half, &r, &err), CQ_ERR_INVALID);
    cq_call_src none = {0};
    assert_int_equal(cq_engine_analyze(e, &none, &r, &err), CQ_ERR_INVALID);
    cq_engine_destroy(e);

    int code = 0;
    ep = cq_engine_default_params();
    ep.analyzers = 0;
    assert_null(cq_engine_create(&ep, &code));
    assert_int_equal(code, CQ_ERR_INVALID);
    ep = cq_engine_default_params();
    ep.silence_noise_db = 3;
    assert_null(cq_engine_create(&ep, &code));
    free(p);
}

/* Without models: the VAD says it is the DSP fallback, NISQA is null, and both say why. */
static void test_models_missing(void **state)
{
    (void)state;
    char *p = write_call("nomodel.wav", 2, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = "/nonexistent/models";
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    assert_non_null(strstr(cq_engine_vad_status(e), "not installed"));
    assert_non_null(strstr(cq_engine_nisqa_status(e), "CC BY-NC-SA"));
    cq_call_src src = {.path = p};
    cq_report *r = NULL;
    assert_int_equal(cq_engine_analyze(e, &src, &r, NULL), CQ_OK);
    assert_int_equal(r->vad_engine, CQ_VAD_DSP);
    assert_true(r->inbound->has_vad);
    assert_false(r->nisqa_loaded);
    assert_false(r->inbound->has_nisqa);
    char *js = cq_report_to_json(r);
    json_t *o = json_loads(js, 0, NULL);
    assert_true(json_is_null(json_object_get(o, "nisqa")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(o, "inbound"), "vad"), "engine")),
                        "dsp");
    json_decref(o);
    cq_report_free_string(js);
    cq_report_destroy(r);
    cq_engine_destroy(e);
    free(p);
}

/* Out of memory: fail the Nth allocation for N = 1, 2, ... until the call succeeds. */
static long g_fail_at, g_count;

static void *failing_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    if (++g_count == g_fail_at)
        return NULL;
    return realloc(ptr, size);
}

static void plain_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    char *p = write_call("oom.wav", 2, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    cq_allocator al = {failing_realloc, plain_free, NULL};
    long n;
    int failures = 0;
    for (n = 1; n < 10000; n++) {
        g_fail_at = n;
        g_count = 0;
        cq_set_allocator(&al);
        cq_engine *e = cq_engine_create(&ep, NULL);
        cq_report *r = NULL;
        cq_err err;
        int rc = CQ_ERR_NOMEM;
        if (e) {
            cq_call_src src = {.path = p};
            rc = cq_engine_analyze(e, &src, &r, &err);
            if (rc == CQ_OK) {
                char *js = cq_report_to_json(r);
                char *tx = cq_report_to_text(r);
                if (!js || !tx)
                    rc = CQ_ERR_NOMEM;
                cq_report_free_string(js);
                cq_report_free_string(tx);
            }
        }
        cq_report_destroy(r);
        cq_engine_destroy(e);
        cq_set_allocator(NULL);
        if (rc == CQ_OK && g_count < n)
            break; /* every allocation succeeded */
        assert_true(rc == CQ_ERR_NOMEM || rc == CQ_OK);
        if (rc == CQ_ERR_NOMEM)
            failures++;
    }
    print_message("out of memory: %d allocation points unwound cleanly\n", failures);
    assert_true(failures > 10);
    free(p);
}

static void test_json_report_shapes(void **state)
{
    (void)state;
    char *p = write_call("doc.wav", 2, 0, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    cq_engine_params ep = cq_engine_default_params();
    /* with the models (ctest sets CALLQA_MODEL_DIR), so that their fields appear too */
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&ep, &src);
    char *js = cq_report_to_json(r);
    assert_null(strchr(js, '\n'));
    json_error_t jerr;
    json_t *o = json_loads(js, 0, &jerr);
    assert_non_null(o);
    /* the old service's fields, with their shapes */
    assert_true(json_is_string(json_object_get(o, "file")));
    assert_true(json_is_number(json_object_get(o, "duration")));
    assert_true(json_is_boolean(json_object_get(o, "has_legs")));
    assert_true(json_is_boolean(json_object_get(o, "one_way_audio")));
    json_t *owd = json_object_get(o, "one_way_direction");
    assert_true(json_is_null(owd) || json_is_string(owd));
    assert_true(json_is_string(json_object_get(json_object_get(o, "one_way"), "rule")));
    assert_true(json_is_object(json_object_get(o, "conversation")));
    assert_true(json_is_object(json_object_get(o, "leg_checks")));
    json_t *nq = json_object_get(o, "nisqa");
    assert_true(json_is_null(nq) || json_is_number(json_object_get(nq, "mos")));
    assert_true(json_is_number(json_object_get(o, "analysis_time_sec")));
    const char *legs[] = {"inbound", "outbound"};
    for (int i = 0; i < 2; i++) {
        json_t *l = json_object_get(o, legs[i]);
        assert_true(json_is_object(l));
        assert_true(json_is_number(json_object_get(l, "rms_db")));
        assert_true(json_is_number(json_object_get(l, "peak_db")));
        assert_true(json_is_number(json_object_get(l, "speech_pct")));
        assert_true(json_is_array(json_object_get(l, "speech_segments")));
        assert_non_null(json_string_value(json_object_get(json_object_get(l, "vad"), "engine")));
        json_t *s = json_object_get(l, "silence");
        assert_true(json_is_integer(json_object_get(s, "count")));
        assert_true(json_is_number(json_object_get(s, "total_sec")));
        assert_true(json_is_number(json_object_get(s, "ratio_pct")));
        assert_true(json_is_number(json_object_get(s, "longest_ms")));
        assert_true(json_is_array(json_object_get(l, "silences")));
        assert_true(json_is_integer(json_object_get(l, "clipped_samples")));
        assert_true(json_is_number(json_object_get(l, "dc_offset")));
        assert_true(json_is_number(json_object_get(l, "active_level_db")));
    }
    assert_true(json_is_array(json_object_get(o, "warnings")));
    assert_true(json_is_array(json_object_get(o, "events")));
    assert_true(json_is_integer(json_object_get(json_object_get(o, "call_events"), "hold_count")));
    assert_true(json_is_object(json_object_get(json_object_get(o, "inbound"), "timeline")));
    assert_true(json_is_string(json_object_get(json_object_get(o, "engine"), "version")));

    char *tx = cq_report_to_text(r);
    assert_non_null(strstr(tx, "inbound (caller)"));
    assert_non_null(strstr(tx, "RMS level"));
    assert_non_null(strstr(tx, "active speech level (P.56)"));
    cq_report_free_string(tx);
    json_decref(o);
    cq_report_free_string(js);
    cq_report_destroy(r);
    free(p);
}

/* The finding type every later judgement reuses, as JSON: a measured figure and a quote, a null
 * figure stays null. */
static void test_findings_json(void **state)
{
    (void)state;
    cq_finding_evidence ev[2] = {
        {.start_sec = 12.5, .end_sec = 15.75, .role = "agent", .figure = "overtalk 3.2 s"},
        {.start_sec = -1, .end_sec = -1, .role = NULL, .quote = "thank you for calling"},
    };
    cq_value v[2] = {CQ_VNUM("overtalk_sec", 3.25, 2), {.key = "mos", .type = CQ_VAL_NULL}};
    cq_finding f = {.code = "overtalk",
                    .severity = CQ_SEV_MAJOR,
                    .message = "talked over",
                    .values = v,
                    .n_values = 2,
                    .evidence = ev,
                    .n_evidence = 2};
    char *js = cq_findings_to_json(&f, 1);
    assert_string_equal(js, "[{\"code\":\"overtalk\",\"severity\":\"major\",\"message\":"
                            "\"talked over\",\"values\":{\"overtalk_sec\":3.25,\"mos\":null},"
                            "\"evidence\":[{\"start\":12.5,\"end\":15.75,\"role\":\"agent\","
                            "\"quote\":null,\"figure\":\"overtalk 3.2 s\"},{\"start\":null,"
                            "\"end\":null,\"role\":null,\"quote\":\"thank you for calling\","
                            "\"figure\":null}]}]");
    cq_report_free_string(js);
    js = cq_findings_to_json(NULL, 0);
    assert_string_equal(js, "[]");
    cq_report_free_string(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stereo_and_channel_map),
        cmocka_unit_test(test_fake_stereo),
        cmocka_unit_test(test_mono_mix),
        cmocka_unit_test(test_leg_files),
        cmocka_unit_test(test_only_and_memory),
        cmocka_unit_test(test_limits_and_misuse),
        cmocka_unit_test(test_models_missing),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_json_report_shapes),
        cmocka_unit_test(test_findings_json),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
