/*
 * test_redact_audio.c - the keyed digits of a recording muted in its redacted copy
 * (pl_redact_call, src/pipeline/redact.c; docs/privacy.md), measured against the truth.
 *
 * Each set: a recording whose digits' true spans are known, analysed by the engine (its events:
 * the report's DTMF runs), then redacted with the mute mode and no transcript; the copy must be
 * digital silence over every true digit span (a digit counts as muted only when every sample of
 * its span is 0 on every channel), and the check stored with it must pass.
 *   - call06_ivr_dtmf (../shared): the corpus call whose customer keys 8275# (labels.json: 100 ms
 *     tones, 100 ms gaps, 26.1019-27.0019 s);
 *   - under speech: the DTMF-under-speech set of test_dtmf_speech.c (its protocol: sequences of
 *     the 16 symbols, 50 ms tones and 50 ms gaps, one every 1.9 s, mixed into seven corpus
 *     speech files at 0, -7 and -12 dB against the speech's P.56 active level); here the digits
 *     muted are counted per level and printed, with a floor: what was measured;
 *   - keyed alone: the same sequences on a quiet line (-60 dBFS noise), every digit muted.
 * Each copy is also analysed again by the engine: no DTMF event may be left in it.
 *   test_redact_audio          the keyed-alone set (no corpus needed)
 *   test_redact_audio corpus   call06 and the under-speech set; 77 (skip) without ../shared
 */
#include "testutil.h"

#include <jansson.h>
#include <sys/stat.h>

#include "callqa/callqa.h"
#include "../../src/pipeline/pipeline.h"
#include "dtmf_util.h"

#define RATE 8000
#define TONE (RATE / 20) /* 50 ms */
#define SEQ_STRIDE 1.9

static const char k_symbols[] = "0123456789*#ABCD";

static void write_wav(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t data = (uint32_t)(n * 2);
    uint8_t h[44] = {'R', 'I', 'F', 'F', 0,  0, 0,   0,   'W', 'A',  'V',  'E', 'f', 'm',  't',
                     ' ', 16,  0,   0,   0,  1, 0,   1,   0,   0x40, 0x1f, 0,   0,   0x80, 0x3e,
                     0,   0,   2,   0,   16, 0, 'd', 'a', 't', 'a',  0,    0,   0,   0};
    uint32_t riff = 36 + data;
    memcpy(h + 4, &riff, 4);
    memcpy(h + 40, &data, 4);
    assert_int_equal(fwrite(h, 1, 44, f), 44);
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 32768.0f;
        int16_t s = v >= 32767 ? 32767 : v <= -32768 ? -32768 : (int16_t)lrintf(v);
        assert_int_equal(fwrite(&s, 2, 1, f), 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* the copy's samples (all channels interleaved), *ch */
static int16_t *read_copy(const char *path, size_t *frames, int *ch)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        fail_msg("%s", err.msg);
    *ch = cq_audio_get_info(a)->channels;
    size_t cap = 1 << 16, len = 0;
    int16_t *x = malloc(cap * sizeof(int16_t) * (size_t)*ch);
    float buf[4096 * 2];
    int64_t got;
    while ((got = cq_audio_read(a, buf, 4096, &err)) > 0) {
        if (len + (size_t)got > cap) {
            cap = 2 * (len + (size_t)got);
            x = realloc(x, cap * sizeof(int16_t) * (size_t)*ch);
        }
        for (int64_t i = 0; i < got * *ch; i++)
            x[len * (size_t)*ch + (size_t)i] = (int16_t)lrintf(buf[i] * 32768.0f);
        len += (size_t)got;
    }
    cq_audio_close(a);
    *frames = len;
    return x;
}

typedef struct truth {
    double start, end; /* a digit's tone */
} truth;

/* Redact path (its DTMF only), then count the digits of t whose span is silent in the copy;
 * the copy must pass its check and hold no DTMF event when analysed again. */
static double g_covered; /* the last copy's seconds covered */

static size_t redact_and_count(const cq_engine *e, const char *dir, const char *path,
                               const truth *t, size_t nt, int64_t id)
{
    cq_call_src src = {.path = path, .name = path};
    cq_report *rep = NULL;
    cq_err err;
    assert_int_equal(cq_engine_analyze(e, &src, &rep, &err), CQ_OK);
    static cfg_settings c;
    cfg_defaults(&c);
    snprintf(c.redact_dir, sizeof(c.redact_dir), "%s", dir);
    pl_redact_plan p = {.on = true, .pv = pv_default_settings(), .audio = 1};
    p.pv.types = 0; /* no transcript here: the keyed digits alone */
    pl_redact_result res;
    json_t *o = pl_redact_call(&p, &c, "x.db", id, &src, rep, NULL, NULL, 0, &res);
    assert_non_null(o);
    json_t *v = json_object_get(o, "verify");
    if (!json_is_true(json_object_get(v, "ok"))) {
        char *s = json_dumps(o, 0);
        fail_msg("%s: the check failed: %s", path, s);
    }
    cq_report_destroy(rep);
    g_covered = json_number_value(json_object_get(json_object_get(o, "audio"), "covered_sec"));
    json_decref(o);
    size_t frames;
    int ch;
    int16_t *x = read_copy(res.audio, &frames, &ch);
    size_t muted = 0;
    for (size_t k = 0; k < nt; k++) {
        size_t a = (size_t)(t[k].start * RATE), b = (size_t)(t[k].end * RATE);
        bool silent = b <= frames;
        for (size_t i = a; i < b && i < frames && silent; i++)
            for (int c2 = 0; c2 < ch; c2++)
                silent = silent && x[i * (size_t)ch + (size_t)c2] == 0;
        muted += silent;
    }
    free(x);
    /* the copy through the engine again: no keyed digits */
    cq_call_src again = {.path = res.audio, .name = res.audio};
    assert_int_equal(cq_engine_analyze(e, &again, &rep, &err), CQ_OK);
    for (size_t i = 0; i < rep->inbound->n_events; i++)
        assert_int_not_equal(rep->inbound->events[i].type, CQ_EV_DTMF);
    for (size_t i = 0; rep->outbound && i < rep->outbound->n_events; i++)
        assert_int_not_equal(rep->outbound->events[i].type, CQ_EV_DTMF);
    cq_report_destroy(rep);
    unlink(res.audio);
    return muted;
}

static cq_engine *events_engine(void)
{
    cq_engine_params ep = cq_engine_default_params();
    ep.analyzers = CQ_AN_EVENTS;
    int e = 0;
    cq_engine *eng = cq_engine_create(&ep, &e);
    assert_non_null(eng);
    return eng;
}

/* sequences of 16 symbols mixed into x (n samples) at amp per sine, from 0.3 s every 1.9 s:
 * their digits' spans into t (at most max) */
static size_t mix_sequences(float *x, size_t n, double amp, truth *t, size_t max)
{
    size_t nt = 0;
    for (size_t q = 0;; q++) {
        size_t s0 = (size_t)((0.3 + (double)q * SEQ_STRIDE) * RATE);
        if (s0 + 32 * TONE + (size_t)(0.2 * RATE) > n)
            break;
        for (int d = 0; d < 16 && nt < max; d++) {
            char c = k_symbols[(d + (int)q) % 16];
            double lo, hi;
            dtmf_freqs(c, &lo, &hi);
            size_t a = s0 + (size_t)d * 2 * TONE;
            for (size_t i = 0; i < TONE; i++) {
                double tt = (double)i / RATE;
                double y = x[a + i] + amp * (sin(2 * M_PI * lo * tt) + sin(2 * M_PI * hi * tt));
                x[a + i] = (float)(y > 1 ? 1 : y < -1 ? -1 : y);
            }
            t[nt++] = (truth){(double)a / RATE, (double)(a + TONE) / RATE};
        }
    }
    return nt;
}

static void test_keyed_alone(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cq_engine *e = events_engine();
    size_t n = 30 * RATE;
    float *x = malloc(n * sizeof(float));
    unsigned seed = 7;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)(2e-3 * ((double)(seed >> 8 & 0xffff) / 65536.0 - 0.5)); /* -60 dBFS */
    }
    truth t[512];
    size_t nt = mix_sequences(x, n, pow(10, -16.0 / 20), t, 512);
    char path[600];
    snprintf(path, sizeof(path), "%s/alone.wav", dir);
    write_wav(path, x, n);
    size_t muted = redact_and_count(e, dir, path, t, nt, 1);
    print_message("keyed alone (-13 dBFS, 50 ms tones): %zu of %zu digits muted\n", muted, nt);
    assert_int_equal(muted, nt);
    free(x);
    cq_engine_destroy(e);
    tu_rmdir(dir);
}

/* keys (100 ms tones, 100 ms gaps) into x at t0, at amp per sine */
static void key(float *x, size_t n, double t0, const char *keys, double amp)
{
    for (size_t d = 0; keys[d]; d++) {
        double lo, hi;
        dtmf_freqs(keys[d], &lo, &hi);
        size_t a = (size_t)((t0 + 0.2 * (double)d) * RATE);
        for (size_t i = 0; i < (size_t)(0.1 * RATE) && a + i < n; i++) {
            double tt = (double)i / RATE;
            x[a + i] += (float)(amp * (sin(2 * M_PI * lo * tt) + sin(2 * M_PI * hi * tt)));
        }
    }
}

/* The pause and resume codes: everything from the run holding the pause code to the end of
 * the run holding the resume code is muted, the rest kept; without a resume, to the end. */
static void test_pause_codes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cq_engine *e = events_engine();
    size_t n = 20 * RATE;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) /* a steady 300 Hz hum at -30 dBFS: never silent */
        x[i] = (float)(0.045 * sin(2 * M_PI * 300 * (double)i / RATE));
    key(x, n, 3.0, "*7", 0.2);
    key(x, n, 12.0, "*8", 0.2);
    char path[600];
    snprintf(path, sizeof(path), "%s/pause.wav", dir);
    write_wav(path, x, n);
    static cfg_settings c;
    cfg_defaults(&c);
    snprintf(c.redact_dir, sizeof(c.redact_dir), "%s", dir);
    for (int with_resume = 1; with_resume >= 0; with_resume--) {
        pl_redact_plan p = {.on = true, .pv = pv_default_settings(), .audio = 1};
        p.pv.types = 0;
        snprintf(p.pause, sizeof(p.pause), "*7");
        snprintf(p.resume, sizeof(p.resume), "%s", with_resume ? "*8" : "");
        cq_call_src src = {.path = path, .name = path};
        cq_report *rep = NULL;
        cq_err err;
        assert_int_equal(cq_engine_analyze(e, &src, &rep, &err), CQ_OK);
        pl_redact_result res;
        json_t *o = pl_redact_call(&p, &c, "x.db", 3 + with_resume, &src, rep, NULL, NULL, 0, &res);
        assert_non_null(o);
        assert_true(json_is_true(json_object_get(json_object_get(o, "verify"), "ok")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "audio"), "pauses")),
                         1);
        json_decref(o);
        cq_report_destroy(rep);
        size_t frames;
        int ch;
        int16_t *y = read_copy(res.audio, &frames, &ch);
        assert_int_equal(frames, n);
        /* muted: from the pause's run (3.0 s, less the guard) to the resume's end (12.3 s, plus
         * the guard, less 20 ms for where the receiver puts the run's end), or to the end */
        double end = with_resume ? 12.3 + 0.25 - 0.02 : 20.0;
        size_t loud_in = 0, silent_out = 0;
        for (size_t i = 0; i < frames; i++) {
            double t = (double)i / RATE;
            bool in = t >= 3.0 && t < end;
            bool sure_out = t < 2.7 || t > end + 0.07; /* away from the edges */
            if (in && y[i] != 0 && loud_in++ == 0)
                print_message("first sound inside at %.3f s\n", t);
            if (sure_out && y[i] == 0 && (i == 0 || y[i - 1] == 0) && i + 1 < frames &&
                y[i + 1] == 0)
                silent_out++;
        }
        print_message("pause *7 at 3.0 s, %s: %zu samples sound inside, %zu runs of silence "
                      "outside\n",
                      with_resume ? "resume *8 at 12.0 s" : "no resume", loud_in, silent_out);
        assert_int_equal(loud_in, 0);
        assert_int_equal(silent_out, 0);
        free(y);
        unlink(res.audio);
    }
    free(x);
    cq_engine_destroy(e);
    tu_rmdir(dir);
}

static void test_call06(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cq_engine *e = events_engine();
    char path[600];
    snprintf(path, sizeof(path), "%s/corpus/calls/call06_ivr_dtmf.wav", tu_shared_dir());
    truth t[5];
    for (int k = 0; k < 5; k++) /* labels.json: 100 ms tones, 100 ms gaps from 26.1019 s */
        t[k] = (truth){26.1019 + 0.2 * k, 26.1019 + 0.2 * k + 0.1};
    size_t muted = redact_and_count(e, dir, path, t, 5, 2);
    print_message("call06_ivr_dtmf (8275#): %zu of 5 digits muted\n", muted);
    assert_int_equal(muted, 5);
    cq_engine_destroy(e);
    tu_rmdir(dir);
}

static const char *const k_speech[] = {
    "speech/codec2_vk5qi.wav",
    "speech/ps_librivox_0870.wav",
    "speech/ps_librivox_0890.wav",
    "conversations/pyannote_sample.wav",
    "conversations/paa_diarizationexample2.wav",
    "ivr_prompts/ast_en_basic_pbx_ivr_main.wav",
    "quality/p862_or105.wav",
};
#define N_SPEECH (sizeof(k_speech) / sizeof(k_speech[0]))

static void test_under_speech(void **state)
{
    (void)state;
    static const double levels[3] = {0, -7, -12};
    /* measured (docs/privacy.md): every digit at each level */
    static const size_t floor_pct[3] = {100, 100, 100};
    char *dir = tu_tmpdir();
    cq_engine *e = events_engine();
    size_t all[3] = {0, 0, 0}, got[3] = {0, 0, 0};
    double cov[3] = {0, 0, 0}, keyed[3] = {0, 0, 0}, talk = 0, talk_sec = 0;
    int64_t id = 10;
    for (size_t f = 0; f < N_SPEECH; f++) {
        char *path = NULL;
        if (asprintf(&path, "%s/corpus/%s", tu_shared_dir(), k_speech[f]) < 0)
            fail();
        size_t n;
        float *sp = load8k(path, 0, &n, NULL);
        free(path);
        cq_level_params lp = cq_level_default_params();
        cq_level_result lr;
        assert_int_equal(cq_level_compute(sp, n, &lp, &lr), CQ_OK);
        char wav0[600];
        snprintf(wav0, sizeof(wav0), "%s/speech.wav", dir);
        write_wav(wav0, sp, n);
        redact_and_count(e, dir, wav0, NULL, 0, id++); /* talk-off: the speech alone */
        talk += g_covered, talk_sec += (double)n / RATE;
        for (int l = 0; l < 3; l++) {
            float *x = malloc(n * sizeof(float));
            memcpy(x, sp, n * sizeof(float));
            truth t[1024];
            size_t nt =
                mix_sequences(x, n, pow(10, (lr.active_level_db + levels[l]) / 20), t, 1024);
            char wav[600];
            snprintf(wav, sizeof(wav), "%s/mix.wav", dir);
            write_wav(wav, x, n);
            size_t m = redact_and_count(e, dir, wav, t, nt, id++);
            all[l] += nt, got[l] += m;
            cov[l] += g_covered;
            /* each sequence's span: first tone on to last tone off */
            for (size_t k = 0; k < nt; k += 16)
                keyed[l] += t[k + 15 < nt ? k + 15 : nt - 1].end - t[k].start;
            print_message("%-44s %4.0f dB: %zu of %zu digits muted\n", k_speech[f], levels[l], m,
                          nt);
            free(x);
        }
        free(sp);
    }
    print_message("talk-off: %.1f s muted in %.1f s of speech without keyed digits\n", talk,
                  talk_sec);
    assert_true(talk == 0);
    for (int l = 0; l < 3; l++) {
        print_message("under speech at %.0f dB: %zu of %zu digits muted (%.1f %%); %.1f s "
                      "covered for %.1f s of sequences\n",
                      levels[l], got[l], all[l], 100.0 * (double)got[l] / (double)all[l], cov[l],
                      keyed[l]);
        assert_true(100 * got[l] >= floor_pct[l] * all[l]);
    }
    cq_engine_destroy(e);
    tu_rmdir(dir);
}

static const struct CMUnitTest k_logic[] = {cmocka_unit_test(test_keyed_alone),
                                            cmocka_unit_test(test_pause_codes)};
static const struct CMUnitTest k_corpus[] = {cmocka_unit_test(test_call06),
                                             cmocka_unit_test(test_under_speech)};
TU_MAIN(k_logic, k_corpus)
