/*
 * test_audio_lazy.c - libsndfile is loaded only when a file needs it. This program does not
 * link libsndfile (test_audio does, to write its fixtures): WAV files of every encoding callqa
 * decodes itself are analysed without the library entering the process; a GSM file loads it;
 * when it cannot be loaded, the error names the library and the file; several threads that
 * need it at once load it once.
 */
#include "testutil.h"

#include <dlfcn.h>
#include <pthread.h>

#include "callqa/cq_audio.h"
#include "callqa/cq_engine.h"
#include "callqa/cq_report.h"
#include "../../src/audio/decode_int.h"
#include "wavbuild.h"

#define SNDFILE_SONAME "libsndfile.so.1"

static bool sndfile_in_process(void)
{
    void *h = dlopen(SNDFILE_SONAME, RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        dlclose(h); /* drops the reference NOLOAD took */
    return h != NULL;
}

/* 160 samples of raw GSM 6.10 (any 33 bytes are a frame). */
static uint8_t k_gsm[33 * 10];

static int64_t decode_count(cq_audio *a)
{
    float buf[4096];
    int64_t n = 0, got;
    cq_err err;
    while ((got = cq_audio_read(a, buf, 4096 / (size_t)cq_audio_get_info(a)->channels, &err)) > 0)
        n += got;
    assert_true(got == 0);
    return n;
}

static void test_wav_without_libsndfile(void **state)
{
    (void)state;
    const uint16_t EXT = 0xFFFE;
    const wav_parts cases[] = {
        {"u8", .tag = 1, .channels = 1, .block_align = 1, .bits = 8},
        {"s16", .tag = 1, .channels = 2, .block_align = 4, .bits = 16},
        {"s16_rifx", .riffx = true, .tag = 1, .channels = 1, .block_align = 2, .bits = 16},
        {"s24", .tag = 1, .channels = 2, .block_align = 6, .bits = 24},
        {"s32", .tag = 1, .channels = 1, .block_align = 4, .bits = 32},
        {"f32", .tag = 3, .channels = 1, .block_align = 4, .bits = 32},
        {"f64", .tag = 3, .channels = 2, .block_align = 16, .bits = 64},
        {"ulaw", .tag = 7, .channels = 2, .block_align = 2, .bits = 8},
        {"alaw", .tag = 6, .channels = 1, .block_align = 1, .bits = 8},
        {"ext_s24", .tag = EXT, .ext_sub = 1, .ext_valid = 24, .channels = 1, .block_align = 3,
         .bits = 24},
        {"ext_f32", .tag = EXT, .ext_sub = 3, .ext_valid = 32, .channels = 2, .block_align = 8,
         .bits = 32},
        {"ext_ulaw", .tag = EXT, .ext_sub = 7, .ext_valid = 8, .channels = 1, .block_align = 1,
         .bits = 8},
    };
    assert_false(sndfile_in_process());
    static uint8_t buf[20000];
    tu_rng rng = {1};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        wav_parts w = cases[k];
        w.payload = w.data_size = 8000;
        size_t n = build_wav(buf, &w, &rng);
        cq_err err;
        cq_audio *a = cq_audio_open_memory(buf, n, w.name, &err);
        if (!a)
            fail_msg("%s: %s", w.name, err.msg);
        assert_true(cq__audio_is_native(a));
        int64_t frames = decode_count(a);
        assert_int_equal(frames, 8000 / (w.block_align));
        cq_audio_close(a);
        print_message("%-9s %5lld frames decoded, libsndfile not loaded\n", w.name,
                      (long long)frames);
        assert_false(sndfile_in_process());
    }

    /* the whole engine on a WAV call: levels and silence */
    wav_parts call = {"call.wav", .tag = 1,           .channels = 2,   .block_align = 4,
                      .bits = 16, .data_size = 16000, .payload = 16000};
    size_t n = build_wav(buf, &call, &rng);
    cq_engine_params ep = cq_engine_default_params();
    ep.analyzers =
        CQ_AN_LEVELS | CQ_AN_SILENCE; /* what `callqa analyze --only levels,silence` runs */
    cq_err err;
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    cq_call_src src = {.data = buf, .size = n, .name = "call.wav"};
    cq_report *r = NULL;
    if (cq_engine_analyze(e, &src, &r, &err) != CQ_OK)
        fail_msg("analyze: %s", err.msg);
    cq_report_destroy(r);
    cq_engine_destroy(e);
    assert_false(sndfile_in_process());
    assert_false(cq__audio_sndfile_loaded());
    print_message("engine analysis of a WAV call: libsndfile not loaded\n");
}

static void test_missing_library_named(void **state)
{
    (void)state;
    cq__audio_set_sndfile_soname("libcallqa-test-absent.so.1");
    cq_err err;
    cq_audio *a = cq_audio_open_memory(k_gsm, sizeof(k_gsm), "agent.gsm", &err);
    assert_null(a);
    print_message("%s\n", err.msg);
    assert_int_equal(err.code, CQ_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "agent.gsm"));
    assert_non_null(strstr(err.msg, "libcallqa-test-absent.so.1"));
    /* a WAV file still decodes */
    static uint8_t buf[4000];
    tu_rng rng = {2};
    wav_parts w = {"x.wav",    .tag = 1,          .channels = 1,  .block_align = 2,
                   .bits = 16, .data_size = 2000, .payload = 2000};
    size_t n = build_wav(buf, &w, &rng);
    a = cq_audio_open_memory(buf, n, "x.wav", &err);
    assert_non_null(a);
    assert_int_equal(decode_count(a), 1000);
    cq_audio_close(a);
    assert_false(cq__audio_sndfile_loaded());
    cq__audio_set_sndfile_soname(SNDFILE_SONAME);
}

static void *open_gsm(void *arg)
{
    (void)arg;
    cq_err err;
    cq_audio *a = cq_audio_open_memory(k_gsm, sizeof(k_gsm), "t.gsm", &err);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return (void *)1;
    }
    int64_t frames = decode_count(a);
    cq_audio_close(a);
    return frames == 1600 ? NULL : (void *)1;
}

static void test_gsm_loads_libsndfile(void **state)
{
    (void)state;
    assert_false(sndfile_in_process());
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, open_gsm, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = NULL;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    assert_true(sndfile_in_process());
    assert_true(cq__audio_sndfile_loaded());
    print_message("4 threads decoded raw GSM (1600 frames each): libsndfile loaded on demand\n");
}

int main(void)
{
    for (size_t i = 0; i < sizeof(k_gsm); i++)
        k_gsm[i] = (uint8_t)(0xD0 | (i * 7 % 16)); /* GSM frames carry the 0xD signature */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_without_libsndfile),
        cmocka_unit_test(test_missing_library_named),
        cmocka_unit_test(test_gsm_loads_libsndfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
