/*
 * test_audio.c - the decoder: every supported encoding against libsndfile's own whole-file
 * read (in blocks and from memory), GSM whole-block ends, and bad input of every kind.
 */
#include "testutil.h"

#include <errno.h>

#include "callqa/cq_audio.h"
#include "../../src/audio/decode_int.h"
#include "wavbuild.h"

#define RATE 8000
#define FRAMES 4000

/*
 * A test signal: two tones and noise. `fine`: full float precision (for 24/32-bit PCM and
 * float files), with full scale, its negative and tiny values at the start; otherwise on int16
 * steps, as a 16-bit recording holds it.
 */
static float *test_signal(size_t frames, int channels, bool fine)
{
    tu_rng rng = {12345};
    float *x = malloc(frames * (size_t)channels * sizeof(float));
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++) {
            double v =
                0.3 * sin(2 * M_PI * (300 + 200 * c) * (double)i / RATE) + 0.05 * tu_gauss(&rng);
            x[i * (size_t)channels + (size_t)c] = fine ? (float)v : tu_q16(v);
        }
    if (fine && frames >= 4) {
        const float edge[4] = {1.0f, -1.0f, 1e-7f, -0.9999999f};
        for (size_t i = 0; i < 4; i++)
            x[i * (size_t)channels] = edge[i];
    }
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

/* libsndfile's own float read of the whole file (the reference); NULL if it cannot open it.
 * `raw_format`: the SF_FORMAT of a headerless file, else 0. */
static float *libsndfile_read(const char *path, int raw_format, SF_INFO *in, int64_t *frames)
{
    memset(in, 0, sizeof(*in));
    if (raw_format)
        *in = (SF_INFO){.samplerate = RATE, .channels = 1, .format = raw_format};
    SNDFILE *f = sf_open(path, SFM_READ, in);
    if (!f)
        return NULL;
    float *ref = malloc((size_t)(in->frames + 1) * (size_t)in->channels * sizeof(float));
    *frames = sf_readf_float(f, ref, in->frames);
    sf_close(f);
    return ref;
}

/*
 * Decode `path` with cq_audio three ways - from the file in blocks of 1000 frames, from memory
 * in blocks of 333, planar in blocks of 700 - and check all three give the same samples and
 * that the handle is decoded by callqa's own WAV reader exactly when `own`. Returns the frames
 * and the interleaved samples (*got, caller frees).
 */
static int64_t decode_three_ways(const char *path, const char *label, bool own, float **got)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        fail_msg("%s: %s", label, err.msg);
    const cq_audio_info *info = cq_audio_get_info(a);
    const size_t ch = (size_t)info->channels;
    if (cq__audio_is_native(a) != own)
        fail_msg("%s: decoded by %s, expected %s", label,
                 cq__audio_is_native(a) ? "callqa" : "libsndfile", own ? "callqa" : "libsndfile");
    int64_t n = decode_all(a, 1000, got);
    assert_true(n >= 0);
    if (info->frames >= 0)
        assert_int_equal(info->frames, n); /* the announced count is what is delivered */
    cq_audio_close(a);
    const size_t ns = (size_t)n * ch;

    /* the same bytes from memory decode identically */
    size_t bytes = 0;
    unsigned char *mem = tu_read_file(path, &bytes);
    cq_audio *m = cq_audio_open_memory(mem, bytes, label, &err);
    if (!m)
        fail_msg("%s (memory): %s", label, err.msg);
    assert_int_equal(cq__audio_is_native(m), own);
    float *got2 = NULL;
    assert_int_equal(decode_all(m, 333, &got2), n);
    assert_memory_equal(*got, got2, ns * sizeof(float));
    cq_audio_close(m);
    free(got2);
    free(mem);

    /* planar reads hold the same samples, channel by channel */
    cq_audio *pl = cq_audio_open(path, &err);
    assert_non_null(pl);
    float *ch0 = malloc((size_t)n * sizeof(float) + 4),
          *ch1 = malloc((size_t)n * sizeof(float) + 4);
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
        assert_memory_equal(&ch0[fr], &(*got)[fr * ch], sizeof(float));
        if (ch == 2)
            assert_memory_equal(&ch1[fr], &(*got)[fr * 2 + 1], sizeof(float));
    }
    cq_audio_close(pl);
    free(ch0), free(ch1);
    return n;
}

/* Our samples equal libsndfile's bit for bit, non-finite ones aside (they become 0). */
static void expect_same_samples(const char *label, const float *got, const float *ref, size_t ns)
{
    for (size_t i = 0; i < ns; i++) {
        float want = isfinite(ref[i]) ? ref[i] : 0.0f;
        if (memcmp(&got[i], &want, sizeof(float)) != 0)
            fail_msg("%s: sample %zu: %.9g vs libsndfile %.9g", label, i, got[i], ref[i]);
    }
}

typedef struct fmt_case {
    const char *name;
    int sf_format;
    int channels;
    cq_encoding enc;
    float clip;
    bool own; /* decoded by callqa's WAV reader; the others by libsndfile */
} fmt_case;

#define WAV_ SF_FORMAT_WAV
#define WAVX SF_FORMAT_WAVEX
#define RIFX (SF_FORMAT_WAV | SF_ENDIAN_BIG)
#define C16 (32767.0f / 32768.0f)
#define C24 (8388607.0f / 8388608.0f)
#define CMU (32124.0f / 32768.0f)
#define CA (32256.0f / 32768.0f)

static void test_formats_match_libsndfile(void **state)
{
    (void)state;
    const fmt_case cases[] = {
        {"pcm16.wav", WAV_ | SF_FORMAT_PCM_16, 1, CQ_ENC_PCM_16, C16, true},
        {"pcm16s.wav", WAV_ | SF_FORMAT_PCM_16, 2, CQ_ENC_PCM_16, C16, true},
        {"pcm16_be.wav", RIFX | SF_FORMAT_PCM_16, 2, CQ_ENC_PCM_16, C16, true},
        {"pcm24.wav", WAV_ | SF_FORMAT_PCM_24, 1, CQ_ENC_PCM_24, C24, true},
        {"pcm24s.wav", WAV_ | SF_FORMAT_PCM_24, 2, CQ_ENC_PCM_24, C24, true},
        {"pcm24_be.wav", RIFX | SF_FORMAT_PCM_24, 1, CQ_ENC_PCM_24, C24, true},
        {"pcm32.wav", WAV_ | SF_FORMAT_PCM_32, 1, CQ_ENC_PCM_32, 1.0f, true},
        {"pcm32s.wav", WAV_ | SF_FORMAT_PCM_32, 2, CQ_ENC_PCM_32, 1.0f, true},
        {"pcm32_be.wav", RIFX | SF_FORMAT_PCM_32, 2, CQ_ENC_PCM_32, 1.0f, true},
        {"u8.wav", WAV_ | SF_FORMAT_PCM_U8, 1, CQ_ENC_PCM_U8, 127.0f / 128.0f, true},
        {"u8s.wav", WAV_ | SF_FORMAT_PCM_U8, 2, CQ_ENC_PCM_U8, 127.0f / 128.0f, true},
        {"f32.wav", WAV_ | SF_FORMAT_FLOAT, 1, CQ_ENC_FLOAT, 1.0f, true},
        {"f32s.wav", WAV_ | SF_FORMAT_FLOAT, 2, CQ_ENC_FLOAT, 1.0f, true},
        {"f32_be.wav", RIFX | SF_FORMAT_FLOAT, 1, CQ_ENC_FLOAT, 1.0f, true},
        {"f64.wav", WAV_ | SF_FORMAT_DOUBLE, 1, CQ_ENC_DOUBLE, 1.0f, true},
        {"f64s.wav", WAV_ | SF_FORMAT_DOUBLE, 2, CQ_ENC_DOUBLE, 1.0f, true},
        {"f64_be.wav", RIFX | SF_FORMAT_DOUBLE, 2, CQ_ENC_DOUBLE, 1.0f, true},
        {"ulaw.wav", WAV_ | SF_FORMAT_ULAW, 2, CQ_ENC_ULAW, CMU, true},
        {"ulaw1.wav", WAV_ | SF_FORMAT_ULAW, 1, CQ_ENC_ULAW, CMU, true},
        {"ulaw_be.wav", RIFX | SF_FORMAT_ULAW, 1, CQ_ENC_ULAW, CMU, true},
        {"alaw.wav", WAV_ | SF_FORMAT_ALAW, 1, CQ_ENC_ALAW, CA, true},
        {"alaw2.wav", WAV_ | SF_FORMAT_ALAW, 2, CQ_ENC_ALAW, CA, true},
        {"x16.wav", WAVX | SF_FORMAT_PCM_16, 2, CQ_ENC_PCM_16, C16, true},
        {"x24.wav", WAVX | SF_FORMAT_PCM_24, 1, CQ_ENC_PCM_24, C24, true},
        {"x32.wav", WAVX | SF_FORMAT_PCM_32, 2, CQ_ENC_PCM_32, 1.0f, true},
        {"xu8.wav", WAVX | SF_FORMAT_PCM_U8, 1, CQ_ENC_PCM_U8, 127.0f / 128.0f, true},
        {"xf32.wav", WAVX | SF_FORMAT_FLOAT, 1, CQ_ENC_FLOAT, 1.0f, true},
        {"xf64.wav", WAVX | SF_FORMAT_DOUBLE, 2, CQ_ENC_DOUBLE, 1.0f, true},
        {"xulaw.wav", WAVX | SF_FORMAT_ULAW, 2, CQ_ENC_ULAW, CMU, true},
        {"xalaw.wav", WAVX | SF_FORMAT_ALAW, 1, CQ_ENC_ALAW, CA, true},
        {"gsm.wav", WAV_ | SF_FORMAT_GSM610, 1, CQ_ENC_GSM610, C16, false},
        {"raw.gsm", SF_FORMAT_RAW | SF_FORMAT_GSM610, 1, CQ_ENC_GSM610, C16, false},
        {"x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1, CQ_ENC_FLAC_16, C16, false},
        {"x.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1, CQ_ENC_VORBIS, C16, false},
        {"x.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 1, CQ_ENC_ULAW, CMU, false},
        {"x.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 1, CQ_ENC_MPEG, C16, false},
    };
    int own = 0, other = 0;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const fmt_case *c = &cases[k];
        char *path = tu_path(tu_dir(), c->name);
        int sub = c->sf_format & SF_FORMAT_SUBMASK;
        bool fine = sub == SF_FORMAT_PCM_24 || sub == SF_FORMAT_PCM_32 || sub == SF_FORMAT_FLOAT ||
                    sub == SF_FORMAT_DOUBLE;
        float *x = test_signal(FRAMES, c->channels, fine);
        if (tu_write(path, c->sf_format, RATE, c->channels, x, FRAMES) != 0) {
            if (c->own) /* every WAV encoding is writable by libsndfile 1.2 */
                fail_msg("%s: libsndfile cannot write it", c->name);
            /* an encoder this libsndfile lacks (MP3 needs LAME) is not a decoder failure */
            print_message("%s: libsndfile cannot write it here; decode not tested\n", c->name);
            free(x);
            free(path);
            continue;
        }
        /* the reference: libsndfile's own float read of the whole file */
        SF_INFO in;
        int64_t nref = 0;
        int raw = (c->sf_format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW ? c->sf_format : 0;
        float *ref = libsndfile_read(path, raw, &in, &nref);
        assert_non_null(ref);
        assert_int_equal(in.format, c->sf_format); /* the file is what the case says */

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
        const char *container = info->container;
        cq_audio_close(a);

        float *got = NULL;
        int64_t n = decode_three_ways(path, c->name, c->own, &got);
        if (c->enc == CQ_ENC_GSM610 && (c->sf_format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV)
            nref = (FRAMES + 319) / 320 * 320; /* the whole 65-byte blocks written, as sox */
        assert_int_equal(n, nref);
        expect_same_samples(c->name, got, ref, (size_t)n * (size_t)c->channels);
        print_message("%-12s %-4s %-8s %d ch %lld frames, equal to libsndfile's (%s)\n", c->name,
                      container, enc_name, c->channels, (long long)n,
                      c->own ? "own decoder" : "libsndfile");
        own += c->own;
        other += !c->own;
        free(got);
        free(ref);
        free(x);
        free(path);
    }
    print_message("%d files decoded by callqa, %d by libsndfile, all equal to libsndfile's read\n",
                  own, other);
}

/*
 * Headers libsndfile reads in its own way, and our reader must read the same: odd bit depths,
 * a block align that disagrees, extra and repeated chunks, pad bytes, sizes beyond the file,
 * WAVE_FORMAT_EXTENSIBLE by hand, and the cases left to libsndfile. Random payloads (float
 * ones hold NaN and Inf, which become 0).
 */
static void test_wav_headers_match_libsndfile(void **state)
{
    (void)state;
    static const uint8_t ext_ambi[] = {22,   0,    16,   0,    4,    0,    0,    0,    1,
                                       0,    0,    0,    0x21, 0x07, 0xd3, 0x11, 0x86, 0x44,
                                       0xc8, 0xc1, 0xca, 0,    0,    0}; /* Ambisonic B */
    static const uint8_t cb0[] = {0, 0};
    const uint16_t EXT = 0xFFFE;
    const wav_parts cases[] = {
        {"cbsize0", .tag = 1, .channels = 1, .block_align = 2, .bits = 16, .fmt_extra = cb0,
         .fmt_extra_n = 2, .data_size = 2000, .payload = 2000, .own = true},
        {"12bit", .tag = 1, .channels = 2, .block_align = 4, .bits = 12, .data_size = 4000,
         .payload = 4000, .own = true},
        {"20bit", .tag = 1, .channels = 1, .block_align = 3, .bits = 20, .data_size = 3000,
         .payload = 3000, .own = true},
        {"align4_16bit", .tag = 1, .channels = 1, .block_align = 4, .bits = 16, .data_size = 2000,
         .payload = 2000, .own = true},
        {"list_before", .tag = 1, .channels = 2, .block_align = 8, .bits = 32, .list_before = true,
         .data_size = 4000, .payload = 4000, .list_after = true, .own = true},
        {"second_fmt", .tag = 7, .channels = 1, .block_align = 1, .bits = 8, .fmt_extra = cb0,
         .fmt_extra_n = 2, .second_fmt = true, .data_size = 999, .payload = 999, .list_after = true,
         .own = true},
        {"u8_odd_pad", .tag = 1, .channels = 1, .block_align = 1, .bits = 8, .data_size = 1001,
         .payload = 1001, .list_after = true, .own = true},
        {"s16_odd_pad", .tag = 1, .channels = 1, .block_align = 2, .bits = 16, .data_size = 1001,
         .payload = 1001, .list_after = true, .own = true},
        {"s24_beyond", .tag = 1, .channels = 2, .block_align = 6, .bits = 24,
         .data_size = 0x7fffff00u, .payload = 3000, .own = true},
        {"f32_unfinished", .tag = 3, .channels = 1, .block_align = 4, .bits = 32, .data_size = 0,
         .payload = 4000, .own = true},
        {"f64_riffx", .riffx = true, .tag = 3, .channels = 2, .block_align = 16, .bits = 64,
         .list_before = true, .data_size = 8000, .payload = 8000, .own = true},
        {"ext_24in32", .tag = EXT, .ext_sub = 1, .ext_valid = 24, .channels = 2, .block_align = 8,
         .bits = 32, .data_size = 4000, .payload = 4000, .own = true},
        {"ext_float_riffx", .riffx = true, .tag = EXT, .ext_sub = 3, .ext_valid = 32, .channels = 1,
         .block_align = 4, .bits = 32, .list_before = true, .data_size = 4000, .payload = 4000,
         .list_after = true, .own = true},
        {"ext_alaw", .tag = EXT, .ext_sub = 6, .ext_valid = 8, .channels = 2, .block_align = 2,
         .bits = 8, .data_size = 2000, .payload = 2000, .own = true},
        {"ext_ulaw_riffx", .riffx = true, .tag = EXT, .ext_sub = 7, .ext_valid = 8, .channels = 1,
         .block_align = 1, .bits = 8, .data_size = 2000, .payload = 2000, .own = true},
        {"ext_s16_riffx", .riffx = true, .tag = EXT, .ext_sub = 1, .ext_valid = 16, .channels = 2,
         .block_align = 4, .bits = 16, .data_size = 2000, .payload = 2000, .own = true},
        /* left to libsndfile, which decodes them */
        {"pcm24_align4", .tag = 1, .channels = 1, .block_align = 4, .bits = 24, .data_size = 4000,
         .payload = 4000, .own = false},
        {"ext_ambisonic", .tag = EXT, .channels = 1, .block_align = 2, .bits = 16,
         .fmt_extra = ext_ambi, .fmt_extra_n = 24, .data_size = 2000, .payload = 2000,
         .own = false},
        /* ... or refuses, as we then do */
        {"float16", .tag = 3, .channels = 1, .block_align = 2, .bits = 16, .data_size = 2000,
         .payload = 2000, .refused = true},
        {"ogg_in_data", .tag = 1, .channels = 1, .block_align = 2, .bits = 16, .data_size = 2000,
         .payload = 2000, .payload_head = "OggS", .refused = true},
        {"ext_short_fmt", .tag = EXT, .channels = 1, .block_align = 2, .bits = 16, .fmt_extra = cb0,
         .fmt_extra_n = 2, .data_size = 2000, .payload = 2000, .refused = true},
    };
    tu_rng seed = tu_rng_seed("test_wav_headers_match_libsndfile");
    static uint8_t buf[20000];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const wav_parts *w = &cases[k];
        tu_rng rng = {seed.s + k};
        char *path = tu_path(tu_dir(), "hdr.wav");
        SF_INFO in;
        int64_t nref = 0;
        float *ref = NULL;
        /* where we read more than libsndfile on purpose, its reference is the repaired file */
        bool repaired = w->second_fmt || w->data_size == 0;
        if (repaired) {
            wav_parts fixed = *w;
            fixed.second_fmt = false;
            fixed.data_size = (uint32_t)w->payload;
            assert_int_equal(tu_write_bytes(path, buf, build_wav(buf, &fixed, &rng)), 0);
            ref = libsndfile_read(path, 0, &in, &nref);
            rng = (tu_rng){seed.s + k};
        }
        size_t n = build_wav(buf, w, &rng);
        assert_int_equal(tu_write_bytes(path, buf, n), 0);
        if (!repaired)
            ref = libsndfile_read(path, 0, &in, &nref);
        cq_err err;
        cq_audio *a = cq_audio_open(path, &err);
        if (w->refused) {
            if (a)
                fail_msg("%s: opened", w->name);
            assert_null(ref); /* libsndfile refuses it too */
            print_message("%-16s refused, as by libsndfile: %s\n", w->name, err.msg);
            free(path);
            continue;
        }
        if (!a)
            fail_msg("%s: %s", w->name, err.msg);
        if (!ref)
            fail_msg("%s: libsndfile cannot open it: %s", w->name, sf_strerror(NULL));
        int enc = cq_audio_get_info(a)->encoding;
        cq_audio_close(a);
        float *got = NULL;
        int64_t frames = decode_three_ways(path, w->name, w->own, &got);
        assert_int_equal(frames, nref);
        expect_same_samples(w->name, got, ref, (size_t)frames * (size_t)in.channels);
        print_message("%-16s %lld frames (encoding %d), equal to libsndfile's (%s)\n", w->name,
                      (long long)frames, enc, w->own ? "own decoder" : "libsndfile");
        free(got);
        free(ref);
        free(path);
    }
}

/* sox-written GSM WAV has a partial last block that libsndfile decodes and sox drops. */
static void test_gsm_wav_whole_blocks(void **state)
{
    (void)state;
    char *path = NULL;
    if (asprintf(&path, "%s/corpus/formats/ast_en_basic_pbx_ivr_main_gsm.wav", tu_shared_dir()) < 0)
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

/* Headerless GSM 06.10 is known by its frames as well as by its .gsm name: an upload the service
 * keeps as NAME.rec decodes as the same file named .gsm does; bytes that only have the size of
 * whole frames are not taken for GSM. */
static void test_raw_gsm_by_content(void **state)
{
    (void)state;
    char *gsm = tu_path(tu_dir(), "bycontent.gsm"), *rec = tu_path(tu_dir(), "bycontent.rec");
    float *x = test_signal(FRAMES, 1, false);
    assert_int_equal(tu_write(gsm, SF_FORMAT_RAW | SF_FORMAT_GSM610, RATE, 1, x, FRAMES), 0);
    size_t n = 0;
    unsigned char *bytes = tu_read_file(gsm, &n);
    assert_non_null(bytes);
    assert_int_equal(tu_write_bytes(rec, bytes, n), 0);
    float *a = NULL, *b = NULL;
    int64_t na = decode_three_ways(gsm, "bycontent.gsm", false, &a);
    int64_t nb = decode_three_ways(rec, "bycontent.rec", false, &b);
    assert_int_equal(na, nb);
    assert_true(na > 0);
    assert_memory_equal(a, b, (size_t)na * sizeof(float));
    cq_err err;
    cq_audio *h = cq_audio_open(rec, &err);
    assert_non_null(h);
    assert_int_equal(cq_audio_get_info(h)->encoding, CQ_ENC_GSM610);
    cq_audio_close(h);
    print_message("raw GSM named .rec: %lld frames, equal to the same file named .gsm\n",
                  (long long)nb);
    /* whole frames, but one frame lacks the signature: not GSM, not audio */
    bytes[5 * 33] = 0x10;
    assert_int_equal(tu_write_bytes(rec, bytes, n), 0);
    expect_open_error(rec, CQ_ERR_FORMAT, "not a recognised audio file");
    free(a), free(b), free(bytes), free(x), free(gsm), free(rec);
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
        cmocka_unit_test(test_wav_headers_match_libsndfile),
        cmocka_unit_test(test_gsm_wav_whole_blocks),
        cmocka_unit_test(test_raw_gsm_by_content),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_data_size_beyond_file),
        cmocka_unit_test(test_nonfinite_floats),
        cmocka_unit_test(test_not_audio),
        cmocka_unit_test(test_no_permission),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
