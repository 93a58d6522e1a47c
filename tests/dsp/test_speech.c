/*
 * test_speech.c - speech segments from probabilities: hysteresis, minimum durations, padding,
 * splitting at max speech, the open segment at the end (get_speech_timestamps semantics; the
 * 123 reference legs are checked end to end in test_golden).
 */
#include "testutil.h"

#include "callqa/cq_speech.h"

#define W 256 /* chunk */

/* probabilities from a pattern: '#' = 0.9, '-' = 0.0, '~' = 0.4 (between the thresholds) */
static size_t pattern(const char *pat, float *p)
{
    size_t n = strlen(pat);
    for (size_t i = 0; i < n; i++)
        p[i] = pat[i] == '#' ? 0.9f : pat[i] == '~' ? 0.4f : 0.0f;
    return n;
}

static size_t segs_of(const char *pat, const cq_speech_params *sp, cq_speech_seg **s)
{
    float p[512];
    size_t n = pattern(pat, p), m = 0;
    assert_int_equal(cq_speech_timestamps(p, n, W, 8000, (uint64_t)n * W, sp, s, &m), CQ_OK);
    return m;
}

static void test_basic_and_padding(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    cq_speech_seg *s;
    /* 20 silent chunks, 20 speech, 40 silent: one segment, padded by 240 samples each side */
    char pat[81];
    memset(pat, '-', 80), pat[80] = 0;
    memset(pat + 20, '#', 20);
    assert_int_equal(segs_of(pat, &sp, &s), 1);
    assert_int_equal(s[0].start, 20 * W - 240);
    assert_int_equal(s[0].end, 40 * W + 240);
    cq_speech_free(s);
}

static void test_min_durations(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    cq_speech_seg *s;
    /* 7 chunks = 224 ms of speech: under 250 ms, dropped */
    char a[81];
    memset(a, '-', 80), a[80] = 0;
    memset(a + 10, '#', 7);
    assert_int_equal(segs_of(a, &sp, &s), 0);
    cq_speech_free(s);
    /* 8 chunks = 256 ms: kept */
    memset(a + 10, '#', 8);
    assert_int_equal(segs_of(a, &sp, &s), 1);
    cq_speech_free(s);
    /* A pause ends a segment when a silent chunk starts min_silence (2400 samples) or more
     * after the pause began: a pause of 10 chunks (its last chunk starts 2304 samples in) does
     * not split the speech, a pause of 11 chunks (2560) does. */
    char b[101];
    memset(b, '-', 100), b[100] = 0;
    memset(b + 10, '#', 20), memset(b + 40, '#', 20);
    assert_int_equal(segs_of(b, &sp, &s), 1);
    cq_speech_free(s);
    memset(b, '-', 100);
    memset(b + 10, '#', 20), memset(b + 41, '#', 20);
    assert_int_equal(segs_of(b, &sp, &s), 2);
    /* the gap (11 chunks) is over twice the pad: each side gets 240 samples */
    assert_int_equal(s[0].end, 30 * W + 240);
    assert_int_equal(s[1].start, 41 * W - 240);
    cq_speech_free(s);
}

static void test_hysteresis(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    cq_speech_seg *s;
    /* values between neg_threshold and threshold neither start nor end speech */
    char a[101];
    memset(a, '-', 100), a[100] = 0;
    memset(a + 10, '~', 30);
    assert_int_equal(segs_of(a, &sp, &s), 0);
    cq_speech_free(s);
    memset(a + 10, '#', 10), memset(a + 20, '~', 30); /* speech continues through the 0.4s */
    assert_int_equal(segs_of(a, &sp, &s), 1);
    assert_int_equal(s[0].end, 50 * W + 240);
    cq_speech_free(s);
}

static void test_end_of_stream_and_edges(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    cq_speech_seg *s;
    /* speech from the first chunk to the end: clamped to [0, n_samples] */
    char a[41];
    memset(a, '#', 40), a[40] = 0;
    assert_int_equal(segs_of(a, &sp, &s), 1);
    assert_int_equal(s[0].start, 0);
    assert_int_equal(s[0].end, 40 * W);
    cq_speech_free(s);
    /* nothing at all */
    size_t m = 7;
    assert_int_equal(cq_speech_timestamps(NULL, 0, W, 8000, 0, &sp, &s, &m), CQ_OK);
    assert_int_equal(m, 0);
    cq_speech_free(s);
    /* close neighbours (gap under 2 pad after the pause rule): the gap is split at its middle */
    cq_speech_params sp2 = sp;
    sp2.min_silence_ms = 0;
    sp2.speech_pad_ms = 100; /* 800 samples: gaps of 1 chunk (256) are under 2 pad */
    char b[61];
    memset(b, '-', 60), b[60] = 0;
    memset(b + 10, '#', 10), memset(b + 21, '#', 10);
    assert_int_equal(segs_of(b, &sp2, &s), 2);
    assert_int_equal(s[0].end, 20 * W + W / 2);
    assert_int_equal(s[1].start, 21 * W - W / 2);
    cq_speech_free(s);
}

static void test_max_speech(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    sp.max_speech_sec = 1.0; /* 8000 - 256 - 480 samples */
    cq_speech_seg *s;
    char a[201];
    memset(a, '-', 200), a[200] = 0;
    memset(a + 10, '#', 100); /* 3.2 s of speech without a pause: cut into pieces */
    size_t m = segs_of(a, &sp, &s);
    print_message("3.2 s of speech with max 1 s: %zu segments\n", m);
    assert_true(m >= 3);
    for (size_t i = 0; i < m; i++)
        assert_true(s[i].end - s[i].start <= 8000 + 2 * 240 + W);
    cq_speech_free(s);
}

/* Silero v6: a segment past max_speech is cut at its longest pause over 98 ms. */
static void test_max_speech_cuts_at_longest_pause(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    sp.max_speech_sec = 2.0; /* 16000 - 256 - 480 = 15264 samples */
    sp.speech_pad_ms = 0;
    cq_speech_seg *s;
    char a[201];
    memset(a, '-', 200), a[200] = 0;
    memset(a + 10, '#', 60);
    memset(a + 25, '-', 5); /* a 160 ms pause at chunk 25 */
    memset(a + 40, '-', 8); /* a 256 ms pause at chunk 40: the longest */
    size_t m = segs_of(a, &sp, &s);
    assert_true(m >= 2);
    assert_int_equal(s[0].start, 10 * W);
    assert_int_equal(s[0].end, 40 * W);   /* cut where the longest pause began */
    assert_int_equal(s[1].start, 48 * W); /* and resumed where it ended */
    cq_speech_free(s);
}

static void test_invalid(void **state)
{
    (void)state;
    cq_speech_params sp = cq_speech_default_params();
    cq_speech_seg *s;
    size_t m;
    float p[1] = {0};
    sp.threshold = 1.5f;
    assert_int_equal(cq_speech_timestamps(p, 1, W, 8000, W, &sp, &s, &m), CQ_ERR_INVALID);
    sp = cq_speech_default_params();
    sp.min_speech_ms = -1;
    assert_int_equal(cq_speech_timestamps(p, 1, W, 8000, W, &sp, &s, &m), CQ_ERR_INVALID);
    sp = cq_speech_default_params();
    assert_int_equal(cq_speech_timestamps(p, 1, 0, 8000, W, &sp, &s, &m), CQ_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_padding),
        cmocka_unit_test(test_min_durations),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_end_of_stream_and_edges),
        cmocka_unit_test(test_max_speech),
        cmocka_unit_test(test_max_speech_cuts_at_longest_pause),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
