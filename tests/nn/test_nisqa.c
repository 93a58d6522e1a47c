/*
 * test_nisqa.c - NISQA: chunking does not change the scores, windowed mode on the timeline,
 * corrupted checkpoints made from a copy at run time (truncated zip, wrong tensor shape,
 * unsupported architecture, not a zip). File-mode parity with the reference on all 123 legs is
 * in test_golden.
 */
#include "testutil.h"

#include "callqa/callqa.h"

static char *model_path(void)
{
    const char *md = getenv("CALLQA_MODEL_DIR");
    char *p = NULL;
    if (md && *md) {
        if (asprintf(&p, "%s/nisqa/nisqa.tar", md) < 0)
            return NULL;
    } else if (asprintf(&p, "%s/models/nisqa/nisqa.tar", tu_shared_dir()) < 0) {
        return NULL;
    }
    return p;
}

static float *corpus_mono(const char *rel, size_t *n, int *rate)
{
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/%s", tu_shared_dir(), rel) < 0)
        return NULL;
    SF_INFO in = {0};
    SNDFILE *f = sf_open(p, SFM_READ, &in);
    if (!f)
        fail_msg("%s", p);
    float *x = malloc((size_t)in.frames * (size_t)in.channels * sizeof(float));
    sf_readf_float(f, x, in.frames);
    sf_close(f);
    for (sf_count_t i = 0; i < in.frames; i++) /* first channel */
        x[i] = x[i * in.channels];
    *n = (size_t)in.frames;
    *rate = in.samplerate;
    free(p);
    return x;
}

static void test_chunking_invariance(void **state)
{
    (void)state;
    char *mp = model_path();
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load(mp, &err);
    if (!m)
        fail_msg("%s", err.msg);
    size_t n = 0;
    int rate = 0;
    float *x = corpus_mono("speech/ps_cards_001.wav", &n, &rate);
    cq_nisqa *s = cq_nisqa_create(m, rate, 600, NULL);
    assert_non_null(s);
    assert_int_equal(cq_nisqa_push(s, x, n), CQ_OK);
    cq_nisqa_scores a, b;
    assert_int_equal(cq_nisqa_finish(s, &a), CQ_OK);
    cq_nisqa_reset(s);
    tu_rng rng = tu_rng_seed("nisqa chunking");
    for (size_t off = 0; off < n;) {
        size_t k = 1 + (size_t)(tu_uniform(&rng) * 3000);
        k = k > n - off ? n - off : k;
        assert_int_equal(cq_nisqa_push(s, x + off, k), CQ_OK);
        off += k;
    }
    assert_int_equal(cq_nisqa_finish(s, &b), CQ_OK);
    print_message("one block: mos %.6f; random blocks: mos %.6f (%zu segments)\n", a.mos, b.mos,
                  a.n_segments);
    assert_true(a.mos == b.mos && a.noisiness == b.noisiness && a.loudness == b.loudness);
    assert_int_equal(a.n_segments, b.n_segments);
    /* too short: under 15 frames */
    cq_nisqa_reset(s);
    assert_int_equal(cq_nisqa_push(s, x, (size_t)rate / 20), CQ_OK);
    assert_int_equal(cq_nisqa_finish(s, &b), CQ_ERR_EMPTY);
    /* a clip longer than the stream allows */
    cq_nisqa_destroy(s);
    s = cq_nisqa_create(m, rate, 1.0, NULL);
    assert_int_equal(cq_nisqa_push(s, x, (size_t)rate * 2), CQ_ERR_TOO_LARGE);
    cq_nisqa_destroy(s);
    cq_nisqa_model_free(m);
    free(x), free(mp);
}

/* The network's thread pool: the same scores with 1, 2 and 3 threads (each thread owns whole
 * rows of the products, so the sums are the same operations in the same order). */
static void test_threads(void **state)
{
    (void)state;
    char *mp = model_path();
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load(mp, &err);
    if (!m)
        fail_msg("%s", err.msg);
    size_t n = 0;
    int rate = 0;
    float *x = corpus_mono("speech/ps_librivox_0870.wav", &n, &rate);
    cq_nisqa_scores sc[3];
    for (int t = 1; t <= 3; t++) {
        cq_nisqa *s = cq_nisqa_create(m, rate, 600, NULL);
        assert_non_null(s);
        cq_nisqa_set_threads(s, t);
        assert_int_equal(cq_nisqa_push(s, x, n), CQ_OK);
        assert_int_equal(cq_nisqa_finish(s, &sc[t - 1]), CQ_OK);
        cq_nisqa_destroy(s);
    }
    print_message("mos with 1, 2, 3 threads: %.6f %.6f %.6f\n", sc[0].mos, sc[1].mos, sc[2].mos);
    for (int t = 1; t < 3; t++) {
        assert_true(sc[t].mos == sc[0].mos && sc[t].noisiness == sc[0].noisiness);
        assert_true(sc[t].coloration == sc[0].coloration && sc[t].loudness == sc[0].loudness);
        assert_true(sc[t].discontinuity == sc[0].discontinuity);
    }
    cq_nisqa_model_free(m);
    free(x), free(mp);
}

static void test_windowed_engine(void **state)
{
    (void)state;
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/calls/call04_hold_music.wav", tu_shared_dir()) < 0)
        fail();
    cq_engine_params ep = cq_engine_default_params();
    ep.model_dir = getenv("CALLQA_MODEL_DIR");
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    if (cq_engine_nisqa_status(e))
        fail_msg("%s", cq_engine_nisqa_status(e));
    cq_call_src src = {.path = p};
    cq_report *r = NULL;
    cq_err err;
    assert_int_equal(cq_engine_analyze(e, &src, &r, &err), CQ_OK);
    const cq_leg_report *l = r->outbound;
    assert_true(l->has_nisqa);
    /* 87.5 s in 8 s windows: 10 full ones and a last of 7.5 s (over half a window) */
    assert_int_equal(l->n_nisqa_windows, 11);
    double prev_end = 0, wsum = 0, acc = 0;
    size_t let_go = 0;
    for (size_t i = 0; i < l->n_nisqa_windows; i++) {
        const cq_nisqa_window *w = &l->nisqa_windows[i];
        assert_true(fabs(w->start_sec - prev_end) < 1e-9);
        prev_end = w->end_sec;
        if (!w->scored) { /* not computed: no speech in it, so no weight */
            assert_true(w->speech_sec == 0 && isnan(w->scores.mos));
            let_go++;
            continue;
        }
        wsum += w->speech_sec;
        acc += w->speech_sec * w->scores.mos;
    }
    assert_true(fabs(prev_end - l->duration_sec) < 1e-3);
    assert_false(l->nisqa_uniform);
    assert_true(fabs(acc / wsum - l->nisqa.mos) < 1e-9); /* the speech-weighted mean */
    /* the hold music (36-63 s) holds no speech: windows there are not computed */
    assert_true(let_go >= 2);
    print_message("windowed: %zu windows (%zu without speech not computed), speech-weighted "
                  "MOS %.3f\n",
                  l->n_nisqa_windows, let_go, l->nisqa.mos);
    cq_report_destroy(r);
    cq_engine_destroy(e);
    free(p);
}

static void expect_rejected(const void *bytes, size_t n, const char *what, const char *needle)
{
    char *path = tu_path(tu_dir(), "broken.tar");
    assert_int_equal(tu_write_bytes(path, bytes, n), 0);
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load(path, &err);
    if (m)
        fail_msg("%s: accepted", what);
    print_message("%-24s -> %s\n", what, err.msg);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, needle));
    free(path);
}

static unsigned char *find(unsigned char *buf, size_t n, const void *pat, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(buf + i, pat, m))
            return buf + i;
    return NULL;
}

static void test_broken_checkpoints(void **state)
{
    (void)state;
    char *mp = model_path();
    size_t n = 0;
    unsigned char *good = tu_read_file(mp, &n), *bad = malloc(n);
    assert_non_null(good);
    expect_rejected(good, n / 2, "truncated zip (half)", "truncated");
    expect_rejected(good, n - 100, "truncated zip (end)", "truncated");
    const char *text = "not a checkpoint at all, just some text in a file named nisqa.tar\n";
    expect_rejected(text, strlen(text), "text", "not a valid PyTorch checkpoint");
    /* wrong tensor shape: conv1.weight's size (16, 1, 3, 3) pickled as MARK K16 K1 K3 K3 TUPLE
     * after its name becomes (15, 1, 3, 3) */
    memcpy(bad, good, n);
    unsigned char *at = find(bad, n, "cnn.model.conv1.weight", 22);
    assert_non_null(at);
    const unsigned char shape[] = {0x28, 0x4b, 0x10, 0x4b, 0x01, 0x4b, 0x03, 0x4b, 0x03, 0x74};
    unsigned char *sh = find(at, 200, shape, sizeof(shape));
    assert_non_null(sh);
    sh[2] = 0x0f;
    expect_rejected(bad, n, "wrong tensor shape", "has shape 15x1x3x3; the model needs 16x1x3x3");
    /* another architecture in args */
    memcpy(bad, good, n);
    at = find(bad, n, "NISQA_DIM", 9);
    assert_non_null(at);
    memcpy(at, "NISQA_XYZ", 9);
    expect_rejected(bad, n, "unsupported architecture", "NISQA_DIM");
    free(bad), free(good), free(mp);
}

static const struct CMUnitTest k_logic[] = {
    TU_NONE,
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_chunking_invariance),
    cmocka_unit_test(test_threads),
    cmocka_unit_test(test_windowed_engine),
    cmocka_unit_test(test_broken_checkpoints),
};
TU_MAIN(k_logic, k_corpus)
