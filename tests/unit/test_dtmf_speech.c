/*
 * test_dtmf_speech.c - DTMF under speech, and talk-off, on the corpus (../shared).
 *
 * Sequences of all 16 symbols (0-9 * # A-D), 50 ms tones with 50 ms gaps, are mixed into
 * corpus speech at 0, -7 and -12 dB: the tone's RMS (both frequencies, equal levels) relative
 * to the speech file's ITU-T P.56 active level (cq_level, at 8 kHz). A sequence is placed every
 * 1.9 s along each file, its first symbol rotating, so the digits meet speech, pauses and
 * breaths alike. Each sequence is scored in order: found = the longest run of the expected
 * symbols the detector reports in order; wrong = every other digit it reports (a wrong or an
 * extra digit, anywhere in the file).
 *   - never a wrong digit at any level; at 0 and -7 dB no fewer digits than measured when the
 *     DTMF band filter went in (76 % and 60 %; the goal of every sequence 16/16 at 0 dB and
 *     15/16 at -7 dB is not met, and the test prints whether it is); -12 dB: counts printed.
 *   - talk-off: no digit on any speech, conversation, quality, VAD, prompt, format or hold
 *     music file of the corpus, nor on any call leg but call06's customer, who keys 8275#
 *     (each channel).
 * Exit 77 (skip) without ../shared.
 */
#include "testutil.h"

#include <dirent.h>

#include "callqa/callqa.h"

#define RATE 8000
#define TONE (RATE / 20) /* 50 ms */
#define SEQ_STRIDE 1.9   /* s between sequence starts */

static const char k_symbols[] = "0123456789*#ABCD";

/* Row and column frequencies of a symbol. */
static void dtmf_freqs(char c, double *lo, double *hi)
{
    static const char keys[] = "123A456B789C*0#D";
    static const double row[4] = {697, 770, 852, 941}, col[4] = {1209, 1336, 1477, 1633};
    int i = (int)(strchr(keys, c) - keys);
    *lo = row[i / 4];
    *hi = col[i % 4];
}

/* A recording's channel `ch` at 8 kHz (resampled when needed); *n samples. */
static float *load8k(const char *path, int ch, size_t *n, int *channels)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        fail_msg("%s", err.msg);
    const cq_audio_info *info = cq_audio_get_info(a);
    int nc = info->channels, rate = info->sample_rate_hz;
    if (channels)
        *channels = nc;
    size_t cap = 1 << 16, len = 0;
    float *x = malloc(cap * sizeof(float)), buf[4096 * 2];
    int64_t got;
    while ((got = cq_audio_read(a, buf, 4096, &err)) > 0) {
        if (len + (size_t)got > cap) {
            cap = 2 * (len + (size_t)got);
            x = realloc(x, cap * sizeof(float));
        }
        for (int64_t i = 0; i < got; i++)
            x[len++] = buf[i * nc + ch];
    }
    assert_true(got == 0);
    cq_audio_close(a);
    if (rate == RATE) {
        *n = len;
        return x;
    }
    int e = 0;
    cq_resample *r = cq_resample_create(rate, RATE, &e);
    assert_non_null(r);
    size_t ocap = (size_t)((double)len * RATE / rate) + 8192, olen = 0;
    float *y = malloc(ocap * sizeof(float));
    long k = cq_resample_process(r, x, len, y, ocap);
    assert_true(k >= 0);
    olen = (size_t)k;
    while ((k = cq_resample_process(r, NULL, 0, y + olen, ocap - olen)) > 0)
        olen += (size_t)k;
    assert_true(k == 0);
    cq_resample_destroy(r);
    free(x);
    *n = olen;
    return y;
}

/* The DTMF digits cq_tones finds in x, in order, with the time each ends (from the open event
 * handed out as each digit ends). */
static size_t detect(const float *x, size_t n, char *digits, double *at, size_t max)
{
    int e = 0;
    cq_tones *t = cq_tones_create(&e);
    assert_non_null(t);
    size_t nd = 0;
    for (size_t i = 0; i <= n; i += 800) {
        const cq_tone_event *ev;
        size_t nev;
        if (i < n)
            assert_int_equal(cq_tones_push(t, x + i, n - i < 800 ? n - i : 800), CQ_OK);
        else
            assert_int_equal(cq_tones_finish(t, &ev, &nev), CQ_OK);
        assert_int_equal(cq_tones_poll(t, &ev, &nev), CQ_OK);
        for (size_t k = 0; k < nev; k++)
            if (ev[k].kind == CQ_TONE_DTMF && ev[k].open && nd < max) {
                at[nd] = ev[k].end_sec;
                digits[nd++] = ev[k].digits[strlen(ev[k].digits) - 1];
            }
    }
    digits[nd] = 0;
    cq_tones_destroy(t);
    return nd;
}

/* Length of the longest common subsequence of a and b. */
static size_t lcs(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    size_t *row = calloc(nb + 1, sizeof(size_t)), *prev = calloc(nb + 1, sizeof(size_t));
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++)
            row[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1
                                          : (prev[j] > row[j - 1] ? prev[j] : row[j - 1]);
        memcpy(prev, row, (nb + 1) * sizeof(size_t));
    }
    size_t r = prev[nb];
    free(row);
    free(prev);
    return r;
}

typedef struct level_stats {
    int sequences, perfect, min_found;
    long found, expected, wrong;
} level_stats;

static const char *const k_speech[] = {
    "speech/codec2_vk5qi.wav",     /* off-air HF radio speech, noisy */
    "speech/ps_librivox_0870.wav", /* read audiobook speech */
    "speech/ps_librivox_0890.wav",
    "conversations/pyannote_sample.wav",         /* a telephone conversation */
    "conversations/paa_diarizationexample2.wav", /* six speakers in turn */
    "ivr_prompts/ast_en_basic_pbx_ivr_main.wav", /* a recorded IVR menu */
    "quality/p862_or105.wav",                    /* ITU-T P.862 reference speech */
};
#define N_SPEECH (sizeof(k_speech) / sizeof(k_speech[0]))
static const double k_levels[] = {0, -7, -12};
#define N_LEVELS 3

static void test_dtmf_under_speech(void **state)
{
    (void)state;
    level_stats all[N_LEVELS];
    for (int l = 0; l < N_LEVELS; l++)
        all[l] = (level_stats){.min_found = 16};
    print_message("%-42s %7s %6s %5s  %-22s %-22s %-22s\n", "speech file", "active", "secs", "seqs",
                  "0 dB found/exp wrong", "-7 dB", "-12 dB");
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
        assert_true(lr.has_active_level);
        const size_t seq_len = 32 * TONE;
        size_t nseq = 0;
        for (double s = 0.3; (size_t)((s + 0.2) * RATE) + seq_len <= n; s += SEQ_STRIDE)
            nseq++;
        assert_true(nseq >= 2);
        char cell[N_LEVELS][64];
        for (int l = 0; l < N_LEVELS; l++) {
            const double amp = pow(10, (lr.active_level_db + k_levels[l]) / 20);
            float *x = malloc(n * sizeof(float));
            memcpy(x, sp, n * sizeof(float));
            char want[1024] = "";
            double seq_at[64];
            assert_true(nseq <= 63);
            for (size_t q = 0; q < nseq; q++) {
                size_t s0 = (size_t)((0.3 + (double)q * SEQ_STRIDE) * RATE);
                seq_at[q] = (double)s0 / RATE;
                for (int d = 0; d < 16; d++) {
                    char c = k_symbols[(d + q) % 16];
                    double lo, hi;
                    dtmf_freqs(c, &lo, &hi);
                    size_t a = s0 + (size_t)d * 2 * TONE;
                    for (size_t i = 0; i < TONE; i++) {
                        double tt = (double)i / RATE;
                        double v = amp * (sin(2 * M_PI * lo * tt) + sin(2 * M_PI * hi * tt));
                        double y = x[a + i] + v; /* each sine at amp: their sum's RMS is amp */
                        x[a + i] = (float)(y > 1 ? 1 : y < -1 ? -1 : y);
                    }
                    want[q * 16 + (size_t)d] = c;
                }
            }
            want[nseq * 16] = 0;
            char got[512];
            double at[512];
            size_t nd = detect(x, n, got, at, sizeof(got) - 1);
            /* score each sequence on the digits that end within its span (and 0.15 s after) */
            long found = 0;
            int perfect = 0, min_found = 16;
            for (size_t q = 0; q < nseq; q++) {
                char mine[128];
                size_t nm = 0;
                for (size_t k = 0; k < nd; k++)
                    if (at[k] >= seq_at[q] && at[k] <= seq_at[q] + 1.75 && nm < sizeof(mine) - 1)
                        mine[nm++] = got[k];
                mine[nm] = 0;
                char exp[17];
                memcpy(exp, want + q * 16, 16);
                exp[16] = 0;
                int fq = (int)lcs(exp, mine);
                found += fq;
                perfect += fq == 16;
                if (fq < min_found)
                    min_found = fq;
            }
            long wrong = (long)nd - found; /* extras inside spans and anything outside */
            all[l].sequences += (int)nseq;
            all[l].perfect += perfect;
            all[l].found += found;
            all[l].expected += (long)nseq * 16;
            all[l].wrong += wrong;
            if (min_found < all[l].min_found)
                all[l].min_found = min_found;
            snprintf(cell[l], sizeof(cell[l]), "%4ld/%-4ld %3ld (min %2d)", found, (long)nseq * 16,
                     wrong, min_found);
            free(x);
        }
        print_message("%-42s %6.1fdB %6.1f %5zu  %-22s %-22s %-22s\n", k_speech[f],
                      lr.active_level_db, (double)n / RATE, nseq, cell[0], cell[1], cell[2]);
        free(sp);
    }
    for (int l = 0; l < N_LEVELS; l++)
        print_message("DTMF under speech at %+g dB: %ld/%ld digits (%.0f %%), %d/%d sequences "
                      "16/16, worst sequence %d/16, %ld wrong digits\n",
                      k_levels[l], all[l].found, all[l].expected,
                      100.0 * (double)all[l].found / (double)all[l].expected, all[l].perfect,
                      all[l].sequences, all[l].min_found, all[l].wrong);
    /* the goal (issue 12): every sequence 16/16 at 0 dB and 15/16 at -7 dB */
    print_message("goal 16/16 at 0 dB: %s; 15/16 at -7 dB: %s (docs/events.md)\n",
                  all[0].min_found == 16 ? "met" : "NOT MET",
                  all[1].min_found >= 15 ? "met" : "NOT MET");
    /* what holds now: never a wrong digit, and no fewer digits than measured when the band
     * filter went in (76 % at 0 dB, 60 % at -7 dB; spandsp alone found 52 % and 39 %) */
    for (int l = 0; l < N_LEVELS; l++)
        assert_int_equal(all[l].wrong, 0);
    assert_true((double)all[0].found >= 0.74 * (double)all[0].expected);
    assert_true((double)all[1].found >= 0.58 * (double)all[1].expected);
}

static int is_audio(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && (!strcmp(d, ".wav") || !strcmp(d, ".gsm") || !strcmp(d, ".mp3"));
}

static void test_talk_off(void **state)
{
    (void)state;
    static const char *const dirs[] = {"speech",      "conversations", "quality",    "vad",
                                       "ivr_prompts", "formats",       "hold_music", "calls"};
    int files = 0, legs = 0, bad = 0;
    double secs = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char *dir = NULL;
        if (asprintf(&dir, "%s/corpus/%s", tu_shared_dir(), dirs[d]) < 0)
            fail();
        struct dirent **names = NULL;
        int nn = scandir(dir, &names, NULL, alphasort);
        assert_true(nn >= 0);
        for (int i = 0; i < nn; i++) {
            if (is_audio(names[i]->d_name)) {
                char *path = tu_path(dir, names[i]->d_name);
                int nc = 1;
                for (int ch = 0; ch < nc; ch++) {
                    size_t n;
                    float *x = load8k(path, ch, &n, &nc);
                    if (!strcmp(names[i]->d_name, "call06_ivr_dtmf.wav") && ch == 0) {
                        free(x); /* the customer keys 8275# here (calls/labels.json) */
                        continue;
                    }
                    char got[256];
                    double at[256];
                    size_t nd = detect(x, n, got, at, sizeof(got) - 1);
                    if (nd) {
                        print_message("talk-off: %s/%s channel %d: '%s' at %.2f s\n", dirs[d],
                                      names[i]->d_name, ch + 1, got, at[0]);
                        bad += (int)nd;
                    }
                    secs += (double)n / RATE;
                    legs++;
                    free(x);
                }
                files++;
                free(path);
            }
            free(names[i]);
        }
        free(names);
        free(dir);
    }
    print_message("talk-off: %d digits on %d files (%d channels, %.0f s of speech, prompts, "
                  "music and calls)\n",
                  bad, files, legs, secs);
    assert_true(files >= 80);
    assert_int_equal(bad, 0);
}

int main(void)
{
    char *corpus = NULL;
    if (asprintf(&corpus, "%s/corpus/speech", tu_shared_dir()) < 0)
        return 1;
    int have = tu_exists(corpus);
    free(corpus);
    if (!have) {
        fprintf(stderr, "SKIP: test_dtmf_speech needs %s/corpus (the shared corpus)\n",
                tu_shared_dir());
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtmf_under_speech),
        cmocka_unit_test(test_talk_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
