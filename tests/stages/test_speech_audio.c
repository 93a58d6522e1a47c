/*
 * test_speech_audio.c - each leg's speech at 16 kHz, handed over with the report on request
 * (cq_speech_audio.h), on the sample call: only when asked; the spans are the VAD's segments;
 * the samples around them are those of an independent decode and resampling of the same leg,
 * and audio away from speech is not kept; spilled to a file past the memory limit with the same
 * samples read back, the file never visible in the temporary directory; a temporary directory
 * that cannot be written is a clear error.
 */
#include "testutil.h"

#include <dirent.h>

#include "callqa/callqa.h"

#define SAMPLE CQ_SOURCE_DIR "/samples/sample-call.wav"

static cq_report *analyze(const cq_engine_params *ep, cq_err *err)
{
    int ecode = 0;
    cq_engine *e = cq_engine_create(ep, &ecode);
    assert_non_null(e);
    cq_call_src src = {.path = SAMPLE};
    cq_report *r = NULL;
    int rc = cq_engine_analyze(e, &src, &r, err);
    cq_engine_destroy(e);
    return rc == CQ_OK ? r : NULL;
}

/* Channel `ch` (0 or 1) of the sample call, decoded and resampled to 16 kHz in the engine's
 * blocks, as PCM16. */
static int16_t *reference_leg(int ch, size_t *n)
{
    cq_err err;
    cq_audio *a = cq_audio_open(SAMPLE, &err);
    assert_non_null(a);
    int rc = CQ_OK;
    cq_resample *rs = cq_resample_create(8000, 16000, &rc);
    assert_non_null(rs);
    float in[2][4096], out[4096 * 2 + 1024];
    float *planes[2] = {in[0], in[1]};
    size_t cap = 1 << 20, k = 0;
    int16_t *pcm = malloc(cap * sizeof(int16_t));
    for (int end = 0; !end;) {
        int64_t got = cq_audio_read_planar(a, planes, 4096, &err);
        assert_true(got >= 0);
        long m = got ? cq_resample_process(rs, in[ch], (size_t)got, out, sizeof(out) / 4)
                     : cq_resample_process(rs, NULL, 0, out, sizeof(out) / 4);
        assert_true(m >= 0);
        end = got == 0 && m == 0;
        for (long i = 0; i < m && k < cap; i++) {
            float v = roundf(out[i] * 32768.0f);
            pcm[k++] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    cq_resample_destroy(rs);
    cq_audio_close(a);
    *n = k;
    return pcm;
}

static size_t files_in(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void check_legs(cq_report *r)
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    for (int l = 0; l < 2; l++) {
        const cq_speech_audio *a = L[l]->speech_audio;
        assert_non_null(a);
        size_t ns = 0;
        const cq_speech_span *sp = cq_speech_audio_spans(a, &ns);
        assert_int_equal(ns, L[l]->n_speech);
        assert_true(ns > 0);
        for (size_t i = 0; i < ns; i++) {
            assert_true(fabs(sp[i].start_sec - L[l]->speech[i].start / 8000.0) < 1e-9);
            assert_true(fabs(sp[i].end_sec - L[l]->speech[i].end / 8000.0) < 1e-9);
        }
        size_t nref = 0;
        int16_t *ref = reference_leg(L[l]->channel - 1, &nref);
        assert_int_equal(cq_speech_audio_samples(a), nref);
        assert_true(labs((long)nref - 2 * (long)L[l]->frames) <= 1);
        int16_t *buf = malloc(nref * sizeof(int16_t));
        size_t compared = 0;
        for (size_t i = 0; i < ns; i++) { /* each span, and 0.3 s around it, as the reference */
            double a0 = sp[i].start_sec - 0.3 > 0 ? sp[i].start_sec - 0.3 : 0;
            double a1 = sp[i].end_sec + 0.3;
            size_t got = 0;
            assert_int_equal(cq_speech_audio_read(a, a0, a1, buf, nref, &got), CQ_OK);
            size_t s0 = (size_t)llround(a0 * 16000);
            assert_true(got > 0 && s0 + got <= nref);
            assert_true(s0 + got == nref || got == (size_t)llround(a1 * 16000) - s0);
            assert_memory_equal(buf, ref + s0, got * sizeof(int16_t));
            compared += got;
        }
        uint64_t kept = cq_speech_audio_kept_samples(a);
        assert_true(kept >= compared / 2 && kept < nref); /* near speech only */
        size_t got = 0;
        assert_int_equal(cq_speech_audio_read(a, 0, 1e9, buf, nref, &got), CQ_ERR_NOT_FOUND);
        assert_int_equal(cq_speech_audio_read(a, 2, 1, buf, nref, &got), CQ_ERR_INVALID);
        print_message("%s: %zu spans, %zu samples around them compared, %llu of %zu kept\n",
                      cq_role_name(L[l]->role), ns, compared, (unsigned long long)kept, nref);
        free(buf);
        free(ref);
    }
}

static void test_only_on_request(void **state)
{
    (void)state;
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    assert_false(ep.analyzers & CQ_AN_SPEECH_AUDIO);
    cq_err err;
    cq_report *r = analyze(&ep, &err);
    assert_non_null(r);
    assert_null(r->inbound->speech_audio);
    assert_null(r->outbound->speech_audio);
    cq_report_destroy(r);
}

static void test_in_memory(void **state)
{
    (void)state;
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    assert_int_equal(cq_analyzers_parse("speech_audio", &ep.analyzers, NULL), CQ_OK);
    cq_err err;
    cq_report *r = analyze(&ep, &err);
    assert_non_null(r);
    assert_true(r->analyzers & CQ_AN_VAD); /* it needs the VAD */
    check_legs(r);
    assert_int_equal(cq_speech_audio_spilled_bytes(r->inbound->speech_audio), 0);
    assert_int_equal(cq_speech_audio_memory_bytes(r->inbound->speech_audio),
                     cq_speech_audio_kept_samples(r->inbound->speech_audio) * 2);
    cq_report_destroy(r);
}

static void test_spilled(void **state)
{
    (void)state;
    char *tmp = tu_path(tu_dir(), "spill");
    assert_int_equal(mkdir(tmp, 0700), 0);
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    ep.analyzers = CQ_AN_SPEECH_AUDIO | CQ_AN_LEVELS;
    ep.speech_audio_mem_bytes = 50000; /* 1.6 s of the 28 s legs */
    ep.tmp_dir = tmp;
    cq_err err;
    cq_report *r = analyze(&ep, &err);
    assert_non_null(r);
    for (int l = 0; l < 2; l++) {
        const cq_speech_audio *a = l ? r->outbound->speech_audio : r->inbound->speech_audio;
        assert_int_equal(cq_speech_audio_memory_bytes(a), 50000);
        assert_int_equal(cq_speech_audio_spilled_bytes(a) + 50000,
                         cq_speech_audio_kept_samples(a) * 2);
    }
    check_legs(r);
    assert_int_equal(files_in(tmp), 0); /* unlinked as soon as created */
    cq_report_destroy(r);
    assert_int_equal(files_in(tmp), 0);
    rmdir(tmp);
    free(tmp);
}

static void test_unwritable_tmp(void **state)
{
    (void)state;
    cq_engine_params ep = cq_engine_default_params();
    ep.analyzers = CQ_AN_SPEECH_AUDIO;
    ep.tmp_dir = "/nonexistent/callqa-tmp";
    cq_err err;
    cq_report *r = analyze(&ep, &err);
    assert_null(r);
    assert_int_equal(err.code, CQ_ERR_IO);
    assert_non_null(strstr(err.msg, "speech_audio"));
    print_message("%s\n", err.msg);
}

/* Every speech segment of every corpus call lies inside what was kept (in sample mode, of the
 * first call listed). */
static void test_corpus_spans_kept(void **state)
{
    (void)state;
    char *dir = NULL;
    if (asprintf(&dir, "%s/corpus/calls", tu_shared_dir()) < 0 || !tu_exists(dir)) {
        free(dir);
        skip();
    }
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    ep.analyzers = CQ_AN_SPEECH_AUDIO;
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    struct dirent **names = NULL; /* in name order: the sample is the same call everywhere */
    const int nn = scandir(dir, &names, NULL, alphasort);
    assert_true(nn >= 0);
    const int sample = tu_sample();
    size_t calls = 0, spans = 0, listed = 0;
    uint64_t kept = 0, total = 0;
    static int16_t buf[16000 * 120];
    char first[256] = "";
    for (int k = 0; k < nn; k++) {
        const struct dirent *de = names[k];
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".wav") || strstr(de->d_name, "-in.") ||
            strstr(de->d_name, "-out."))
            continue;
        listed++;
        if (sample && calls)
            continue;
        snprintf(first, sizeof(first), "%s", de->d_name);
        char *p = tu_path(dir, de->d_name);
        cq_call_src src = {.path = p};
        cq_report *r = NULL;
        cq_err err;
        assert_int_equal(cq_engine_analyze(e, &src, &r, &err), CQ_OK);
        const cq_leg_report *L[2] = {r->inbound, r->outbound};
        for (int l = 0; l < 2 && L[l]; l++) {
            size_t n = 0, got = 0;
            const cq_speech_span *sp = cq_speech_audio_spans(L[l]->speech_audio, &n);
            for (size_t i = 0; i < n; i++, spans++)
                assert_int_equal(cq_speech_audio_read(L[l]->speech_audio, sp[i].start_sec,
                                                      sp[i].end_sec, buf, sizeof(buf) / 2, &got),
                                 CQ_OK);
            kept += cq_speech_audio_kept_samples(L[l]->speech_audio);
            total += cq_speech_audio_samples(L[l]->speech_audio);
        }
        cq_report_destroy(r);
        free(p);
        calls++;
    }
    for (int k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    cq_engine_destroy(e);
    free(dir);
    print_message("%zu corpus calls: all %zu speech segments inside the kept audio; %.1f %% of "
                  "the legs' audio kept\n",
                  calls, spans, 100.0 * (double)kept / (double)total);
    if (sample)
        print_message("sample: %zu of %zu corpus calls, %s (CQ_TEST_SAMPLE)\n", calls, listed,
                      first);
    else /* the counts over the whole corpus, checked in the full run (the Release build) */
        assert_true(calls >= 13 && spans > 50);
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_only_on_request),
    cmocka_unit_test(test_in_memory),
    cmocka_unit_test(test_spilled),
    cmocka_unit_test(test_unwritable_tmp),
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_corpus_spans_kept),
};
TU_MAIN(k_logic, k_corpus)
