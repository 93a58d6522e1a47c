/*
 * test_audio.c - the decoder: every supported encoding against libsndfile's own whole-file
 * read (in blocks and from memory), GSM whole-block ends, and bad input of every kind.
 */
#include "testutil.h"

#include <errno.h>

#include "callqa/cq_audio.h"

#define RATE 8000
#define FRAMES 4000

static float *test_signal(size_t frames, int channels)
{
    tu_rng rng = {12345};
    float *x = malloc(frames * (size_t)channels * sizeof(float));
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            x[i * (size_t)channels + (size_t)c] =
                tu_q16(0.3 * sin(2 * M_PI * (300 + 200 * c) * (double)i / RATE) +
                       0.05 * tu_gauss(&rng));
    return x;
}

/* Decode `path` with cq_audio in blocks of `blk` frames; returns frames, fills *out. */
static int64_t decode_all(cq_audio *a, size_t blk, float **out)
{
    const cq_audio_info *in = cq_audio_get_info(a);
    size_t cap = 1024, n = 0;
    float *buf = malloc(cap * (size_t)in->channels * sizeof(float));
    for (;;) {
        if (n + blk > cap) {
            while (n + blk > cap)
                cap *= 2;
            buf = realloc(buf, cap * (size_t)in->channels * sizeof(float));
        }
        cq_err err;
        int64_t got = cq_audio_read(a, buf + n * (size_t)in->channels, blk, &err);
        if (got < 0) {
            free(buf);
            return got;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *out = buf;
    return (int64_t)n;
}

typedef struct fmt_case {
    const char *name;
    int sf_format;
    int channels;
    cq_encoding enc;
    float clip;
} fmt_case;

static void test_formats_match_libsndfile(void **state)
{
    (void)state;
    const fmt_case cases[] = {
        {"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, CQ_ENC_PCM_16, 32767.0f / 32768.0f},
        {"pcm16s.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, CQ_ENC_PCM_16, 32767.0f / 32768.0f},
        {"pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1, CQ_ENC_PCM_24, 8388607.0f / 8388608.0f},
        {"pcm32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1, CQ_ENC_PCM_32, 1.0f},
        {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1, CQ_ENC_PCM_U8, 127.0f / 128.0f},
        {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, CQ_ENC_FLOAT, 1.0f},
        {"f64.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 1, CQ_ENC_DOUBLE, 1.0f},
        {"ulaw.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 2, CQ_ENC_ULAW, 32124.0f / 32768.0f},
        {"alaw.wav", SF_FORMAT_WAV | SF_FORMAT_ALAW, 1, CQ_ENC_ALAW, 32256.0f / 32768.0f},
        {"gsm.wav", SF_FORMAT_WAV | SF_FORMAT_GSM610, 1, CQ_ENC_GSM610, 32767.0f / 32768.0f},
        {"raw.gsm", SF_FORMAT_RAW | SF_FORMAT_GSM610, 1, CQ_ENC_GSM610, 32767.0f / 32768.0f},
        {"x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1, CQ_ENC_FLAC_16, 32767.0f / 32768.0f},
        {"x.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1, CQ_ENC_VORBIS, 32767.0f / 32768.0f},
        {"x.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 1, CQ_ENC_ULAW, 32124.0f / 32768.0f},
        {"x.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 1, CQ_ENC_MPEG,
         32767.0f / 32768.0f},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const fmt_case *c = &cases[k];
        char *path = tu_path(tu_dir(), c->name);
        float *x = test_signal(FRAMES, c->channels);
        if (tu_write(path, c->sf_format, RATE, c->channels, x, FRAMES) != 0) {
            /* an encoder this libsndfile lacks (MP3 needs LAME) is not a decoder failure */
            print_message("%s: libsndfile cannot write it here; decode not tested\n", c->name);
            free(x);
            free(path);
            continue;
        }
        /* the reference: libsndfile's own float read of the whole file */
        SF_INFO in = {0};
        if ((c->sf_format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW)
            in = (SF_INFO){.samplerate = RATE, .channels = 1, .format = c->sf_format};
        SNDFILE *f = sf_open(path, SFM_READ, &in);
        assert_non_null(f);
        float *ref = malloc((size_t)(in.frames + 1) * (size_t)c->channels * sizeof(float));
        sf_count_t nref = sf_readf_float(f, ref, in.frames);
        sf_close(f);

        cq_err err;
        cq_audio *a = cq_audio_open(path, &err);
        if (!a)
            fail_msg("%s: %s", c->name, err.msg);
        const cq_audio_info *info = cq_audio_get_info(a);
        assert_int_equal(info->sample_rate_hz, RATE);
        assert_int_equal(info->channels, c->channels);
        assert_int_equal(info->encoding, c->enc);
        assert_true(info->clip_level == c->clip);
        const char *enc_name = info->encoding_name; /* a static string */
        float *got = NULL;
        int64_t n = decode_all(a, 1000, &got);
        cq_audio_close(a);
        if (c->enc == CQ_ENC_GSM610 && (c->sf_format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV)
            nref = (FRAMES + 319) / 320 * 320; /* the whole 65-byte blocks written, as sox */
        assert_int_equal(n, nref);
        size_t ns = (size_t)n * (size_t)c->channels;
        for (size_t i = 0; i < ns; i++)
            if (got[i] != ref[i])
                fail_msg("%s: sample %zu: %g vs libsndfile %g", c->name, i, got[i], ref[i]);

        /* the same bytes from memory decode identically */
        size_t bytes = 0;
        unsigned char *mem = tu_read_file(path, &bytes);
        cq_audio *m = cq_audio_open_memory(mem, bytes, c->name, &err);
        if (!m)
            fail_msg("%s (memory): %s", c->name, err.msg);
        float *got2 = NULL;
        assert_int_equal(decode_all(m, 333, &got2), n);
        assert_memory_equal(got, got2, ns * sizeof(float));
        cq_audio_close(m);

        /* planar reads hold the same samples, channel by channel */
        cq_audio *pl = cq_audio_open(path, &err);
        assert_non_null(pl);
        float *ch0 = malloc((size_t)n * sizeof(float) + 4), *ch1 = malloc((size_t)n * sizeof(float) + 4);
        size_t at = 0;
        for (;;) {
            float *const planes[2] = {ch0 + at, ch1 + at};
            size_t want = (size_t)n - at < 700 ? (size_t)n - at : 700;
            int64_t kk = cq_audio_read_planar(pl, planes, want ? want : 1, &err);
            assert_true(kk >= 0);
            if (kk == 0)
                break;
            at += (size_t)kk;
        }
        assert_int_equal(at, n);
        for (size_t fr = 0; fr < (size_t)n; fr++) {
            assert_true(ch0[fr] == got[fr * (size_t)c->channels]);
            if (c->channels == 2)
                assert_true(ch1[fr] == got[fr * 2 + 1]);
        }
        cq_audio_close(pl);
        free(ch0), free(ch1);
        print_message("%-11s %-10s %lld frames ok\n", c->name, enc_name,
                      (long long)n);
        free(got2);
        free(mem);
        free(got);
        free(ref);
        free(x);
        free(path);
    }
}

/* sox-written GSM WAV has a partial last block that libsndfile decodes and sox drops. */
static void test_gsm_wav_whole_blocks(void **state)
{
    (void)state;
    char *path = NULL;
    if (asprintf(&path, "%s/corpus/formats/ast_en_basic_pbx_ivr_main_gsm.wav",
                 tu_shared_dir()) < 0)
        fail();
    if (!tu_exists(path)) {
        free(path);
        skip();
    }
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    assert_non_null(a);
    assert_int_equal(cq_audio_get_info(a)->frames, 203200); /* sox: 635 blocks of 320 */
    float *x = NULL;
    assert_int_equal(decode_all(a, 4096, &x), 203200);
    free(x);
    cq_audio_close(a);
    free(path);
}

/* Build a minimal PCM16 WAV in memory with the given header fields. */
static size_t make_wav(unsigned char *b, unsigned channels, unsigned rate, uint32_t data_size,
                       size_t payload)
{
    unsigned align = channels ? channels * 2 : 2;
    uint32_t v;
    memcpy(b, "RIFF", 4);
    v = (uint32_t)(36 + payload);
    memcpy(b + 4, &v, 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    v = 16;
    memcpy(b + 16, &v, 4);
    uint16_t h = 1;
    memcpy(b + 20, &h, 2);
    h = (uint16_t)channels;
    memcpy(b + 22, &h, 2);
    v = rate;
    memcpy(b + 24, &v, 4);
    v = rate * align;
    memcpy(b + 28, &v, 4);
    h = (uint16_t)align;
    memcpy(b + 32, &h, 2);
    h = 16;
    memcpy(b + 34, &h, 2);
    memcpy(b + 36, "data", 4);
    memcpy(b + 40, &data_size, 4);
    for (size_t i = 0; i < payload; i++)
        b[44 + i] = (unsigned char)(i * 37);
    return 44 + payload;
}

typedef struct bad_case {
    const char *what;
    unsigned channels, rate;
    uint32_t data_size;
    size_t payload, keep; /* keep: truncate the file to this many bytes (0 = all) */
    int code;
    const char *msg;
} bad_case;

static void test_bad_headers(void **state)
{
    (void)state;
    const bad_case cases[] = {
        {"channels 0", 0, 8000, 800, 800, 0, CQ_ERR_FORMAT, "0 channels"},
        {"channels 65535", 65535, 8000, 800, 800, 0, CQ_ERR_UNSUPPORTED, "65535 channels"},
        {"channels 3", 3, 8000, 804, 804, 0, CQ_ERR_UNSUPPORTED, "3 channels"},
        {"rate 0", 1, 0, 800, 800, 0, CQ_ERR_FORMAT, "sample rate 0"},
        {"rate 4e9", 1, 4000000000u, 800, 800, 0, CQ_ERR_UNSUPPORTED, "outside"},
        {"truncated header", 1, 8000, 800, 800, 30, CQ_ERR_FORMAT, "truncated"},
        {"riff only", 1, 8000, 800, 800, 10, CQ_ERR_FORMAT, "truncated WAV header"},
        {"no data", 1, 8000, 0, 0, 36, CQ_ERR_FORMAT, "no data chunk"},
        {"empty data", 1, 8000, 0, 0, 0, CQ_ERR_EMPTY, "no audio"},
    };
    unsigned char buf[2048];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const bad_case *c = &cases[k];
        size_t n = make_wav(buf, c->channels, c->rate, c->data_size, c->payload);
        if (c->keep)
            n = c->keep;
        char *path = tu_path(tu_dir(), "bad.wav");
        assert_int_equal(tu_write_bytes(path, buf, n), 0);
        cq_err err;
        cq_audio *a = cq_audio_open(path, &err);
        if (a)
            fail_msg("%s: opened", c->what);
        print_message("%-16s -> %s\n", c->what, err.msg);
        assert_int_equal(err.code, c->code);
        assert_non_null(strstr(err.msg, c->msg));
        assert_non_null(strstr(err.msg, path)); /* the message names the file */
        /* and from memory */
        a = cq_audio_open_memory(buf, n, "upload.wav", &err);
        assert_null(a);
        assert_int_equal(err.code, c->code);
        free(path);
    }
}

static void test_data_size_beyond_file(void **state)
{
    (void)state;
    unsigned char buf[2048];
    const uint32_t sizes[] = {0x7fffff00u, 0xffffffffu, 0};
    for (size_t k = 0; k < 3; k++) {
        size_t n = make_wav(buf, 1, 8000, sizes[k], 1000);
        cq_err err;
        cq_audio *a = cq_audio_open_memory(buf, n, "claims.wav", &err);
        if (!a)
            fail_msg("data size %#x: %s", sizes[k], err.msg);
        assert_true(cq_audio_warning_count(a) >= 1);
        print_message("data size %#x -> %s\n", sizes[k], cq_audio_warning(a, 0));
        float *x = NULL;
        assert_int_equal(decode_all(a, 256, &x), 500); /* what is really there */
        free(x);
        cq_audio_close(a);
    }
    /* a data chunk cut mid-sample decodes the whole samples */
    size_t n = make_wav(buf, 1, 8000, 1001, 1001);
    cq_err err;
    cq_audio *a = cq_audio_open_memory(buf, n, "odd.wav", &err);
    assert_non_null(a);
    float *x = NULL;
    assert_int_equal(decode_all(a, 256, &x), 500);
    free(x);
    cq_audio_close(a);
}

static void test_nonfinite_floats(void **state)
{
    (void)state;
    float x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = 0.1f;
    x[10] = NAN;
    x[20] = INFINITY;
    x[30] = -INFINITY;
    char *path = tu_path(tu_dir(), "nan.wav");
    SF_INFO in = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &in);
    assert_non_null(f);
    assert_int_equal(sf_writef_float(f, x, 1000), 1000);
    sf_close(f);
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    assert_non_null(a);
    float *y = NULL;
    assert_int_equal(decode_all(a, 100, &y), 1000);
    assert_int_equal(cq_audio_nonfinite_count(a), 3);
    assert_true(y[10] == 0 && y[20] == 0 && y[30] == 0 && y[11] == 0.1f);
    free(y);
    cq_audio_close(a);
    free(path);
}

static void expect_open_error(const char *path, int code, const char *msg)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (a)
        fail_msg("%s: opened", path);
    print_message("%s -> %s\n", path, err.msg);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.msg, msg));
}

static void test_not_audio(void **state)
{
    (void)state;
    char *empty = tu_path(tu_dir(), "empty.wav");
    assert_int_equal(tu_write_bytes(empty, "", 0), 0);
    expect_open_error(empty, CQ_ERR_EMPTY, "empty file (0 bytes)");

    char *text = tu_path(tu_dir(), "notes.wav");
    const char *t = "This is a text file that someone named .wav by mistake.\n";
    assert_int_equal(tu_write_bytes(text, t, strlen(t)), 0);
    expect_open_error(text, CQ_ERR_FORMAT, "not a recognised audio file");

    char *riff = tu_path(tu_dir(), "avi.wav");
    assert_int_equal(tu_write_bytes(riff, "RIFF\x10\0\0\0AVI LIST\0\0\0\0", 20), 0);
    expect_open_error(riff, CQ_ERR_FORMAT, "avi.wav");

    expect_open_error(tu_dir(), CQ_ERR_INVALID, "is a directory");

    char *missing = tu_path(tu_dir(), "missing.wav");
    expect_open_error(missing, CQ_ERR_NOT_FOUND, "No such file");

    char *tiny_gsm = tu_path(tu_dir(), "tiny.gsm");
    assert_int_equal(tu_write_bytes(tiny_gsm, "abc", 3), 0);
    expect_open_error(tiny_gsm, CQ_ERR_EMPTY, "shorter than one frame");

    free(empty), free(text), free(riff), free(missing), free(tiny_gsm);
}

static void test_no_permission(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("running as root: file permissions do not apply, not tested\n");
        skip();
    }
    char *path = tu_path(tu_dir(), "locked.wav");
    float x[100] = {0};
    assert_int_equal(tu_write(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, x, 100), 0);
    assert_int_equal(chmod(path, 0), 0);
    expect_open_error(path, CQ_ERR_IO, "Permission denied");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_match_libsndfile),
        cmocka_unit_test(test_gsm_wav_whole_blocks),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_data_size_beyond_file),
        cmocka_unit_test(test_nonfinite_floats),
        cmocka_unit_test(test_not_audio),
        cmocka_unit_test(test_no_permission),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
