/*
 * test_vad.c - Silero VAD in C against the official TorchScript models (v5.1.2 at 8 kHz, v6.2
 * and v5.1.2 at 16 kHz: tests/golden/silero_*.txt, made by scripts/make-vad-reference; v6.2 at
 * 8 kHz is covered by test_golden), batching and reset, broken model files made from a copy
 * at run time, the STFT on a basis it cannot fold, and the DSP fallback.
 */
#include "testutil.h"

#include "callqa/cq_vad.h"

static char *model_path(const char *version)
{
    const char *md = getenv("CALLQA_MODEL_DIR");
    char *p = NULL;
    if (md && *md) {
        if (asprintf(&p, "%s/silero_vad/%s/silero_vad.onnx", md, version) < 0)
            return NULL;
    } else if (asprintf(&p, "%s/models/silero_vad/%s/silero_vad.onnx", tu_shared_dir(), version) <
               0) {
        return NULL;
    }
    return p;
}

static cq_vad_model *load(const char *version)
{
    char *p = model_path(version);
    cq_err err;
    cq_vad_model *m = cq_vad_model_load(p, &err);
    if (!m)
        fail_msg("%s", err.msg);
    free(p);
    return m;
}

/* Mono samples of one channel of a corpus file. */
static float *corpus_leg(const char *rel, int channel, size_t *n, int *rate)
{
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/%s", tu_shared_dir(), rel) < 0)
        return NULL;
    SF_INFO in = {0};
    SNDFILE *f = sf_open(p, SFM_READ, &in);
    if (!f)
        fail_msg("%s: %s", p, sf_strerror(NULL));
    float *all = malloc((size_t)in.frames * (size_t)in.channels * sizeof(float));
    sf_readf_float(f, all, in.frames);
    sf_close(f);
    float *x = calloc((size_t)in.frames + 1024, sizeof(float));
    for (sf_count_t i = 0; i < in.frames; i++)
        x[i] = all[i * in.channels + (channel - 1)];
    free(all);
    free(p);
    *n = (size_t)in.frames;
    *rate = in.samplerate;
    return x;
}

static void compare_with_reference(const char *version, const char *corpus, int channel,
                                   const char *ref_name, int expect_rate)
{
    cq_vad_model *m = load(version);
    size_t n = 0;
    int rate = 0;
    float *x = corpus_leg(corpus, channel, &n, &rate);
    assert_int_equal(rate, expect_rate);
    cq_vad *v = cq_vad_create(m, rate, NULL);
    assert_non_null(v);
    size_t ch = cq_vad_chunk_samples(v), nc = (n + ch - 1) / ch;
    float *p = malloc(nc * sizeof(float));
    assert_int_equal(cq_vad_process(v, x, nc, p), CQ_OK); /* tail zero-padded by calloc */
    size_t bytes = 0;
    char *refp = NULL;
    if (asprintf(&refp, "%s/tests/golden/%s", CQ_SOURCE_DIR, ref_name) < 0)
        fail();
    char *txt = (char *)tu_read_file(refp, &bytes);
    assert_non_null(txt);
    txt = realloc(txt, bytes + 1);
    txt[bytes] = 0;
    size_t k = 0;
    double worst = 0;
    for (char *s = txt, *e; *s; s = e) {
        double r = strtod(s, &e);
        if (e == s)
            break;
        assert_true(k < nc);
        double d = fabs(r - p[k++]);
        worst = d > worst ? d : worst;
    }
    print_message("%s %d Hz %s: %zu chunks, worst difference from PyTorch %.3g\n", version, rate,
                  corpus, k, worst);
    assert_int_equal(k, nc);
    assert_true(worst < 1e-4);
    free(txt), free(refp), free(p), free(x);
    cq_vad_destroy(v);
    cq_vad_model_free(m);
}

static void test_v5_8k(void **state)
{
    (void)state;
    compare_with_reference("v5.1.2", "calls/call01_normal.wav", 1,
                           "silero_v5.1.2_8k_call01_ch1.txt", 8000);
}

static void test_16k(void **state)
{
    (void)state;
    compare_with_reference("v6.2", "speech/ps_goforward.wav", 1, "silero_v6.2_16k_ps_goforward.txt",
                           16000);
    compare_with_reference("v5.1.2", "speech/ps_goforward.wav", 1,
                           "silero_v5.1.2_16k_ps_goforward.txt", 16000);
}

static void test_model_identity(void **state)
{
    (void)state;
    cq_vad_model *m = load("v6.2");
    assert_string_equal(cq_vad_model_version(m), "v6.2");
    assert_string_equal(cq_vad_model_sha256(m),
                        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3");
    cq_vad_model_free(m);
}

/* One chunk at a time, odd batch sizes and whole-file batches give the same probabilities;
 * reset returns a stream to its initial state. */
static void test_batching_and_reset(void **state)
{
    (void)state;
    cq_vad_model *m = load("v6.2");
    size_t n = 0;
    int rate = 0;
    float *x = corpus_leg("calls/call01_normal.wav", 2, &n, &rate);
    size_t nc = 300; /* 9.6 s */
    float *a = malloc(nc * sizeof(float)), *b = malloc(nc * sizeof(float));
    cq_vad *v = cq_vad_create(m, 8000, NULL);
    assert_int_equal(cq_vad_process(v, x, nc, a), CQ_OK);
    cq_vad_reset(v);
    size_t done = 0, step = 1;
    while (done < nc) { /* 1, 2, 3, ... chunks per call */
        size_t k = nc - done < step ? nc - done : step;
        assert_int_equal(cq_vad_process(v, x + done * 256, k, b + done), CQ_OK);
        done += k;
        step++;
    }
    double worst = 0;
    for (size_t i = 0; i < nc; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    print_message("batched vs incremental: worst difference %.3g\n", worst);
    assert_true(worst < 1e-5);
    cq_vad_destroy(v);
    free(a), free(b), free(x);
    cq_vad_model_free(m);
}

/* Many streams at once (live calls) against each stream alone: five streams over three corpus
 * legs at different offsets, fed in turns of 0 to 5 chunks each (a stream may sit a turn out),
 * give each stream's probabilities within the batching tolerance and carry each stream's own
 * context and state (batches of one chunk per stream, whose recurrent product runs over all
 * their states at once, and batches with several chunks of a stream); streams that do not fit
 * together are refused. */
static void test_many_streams(void **state)
{
    (void)state;
    cq_vad_model *m = load("v6.2");
    size_t n1 = 0, n2 = 0;
    int rate = 0;
    float *x1 = corpus_leg("calls/call01_normal.wav", 1, &n1, &rate);
    float *x2 = corpus_leg("calls/call01_normal.wav", 2, &n2, &rate);
    enum { S = 5, NC = 200 };
    const float *src[S] = {x1, x2, x1 + 40000, x2 + 12345, x1 + 7};
    float alone[S][NC], many[S][NC];
    cq_vad *v[S];
    for (int i = 0; i < S; i++) {
        cq_vad *a = cq_vad_create(m, 8000, NULL);
        assert_int_equal(cq_vad_process(a, src[i], NC, alone[i]), CQ_OK);
        cq_vad_destroy(a);
        v[i] = cq_vad_create(m, 8000, NULL);
    }
    size_t done[S] = {0};
    for (int turn = 0;; turn++) {
        cq_vad_job jobs[S];
        size_t nj = 0;
        for (int i = 0; i < S; i++) {
            /* one chunk each for the first 40 turns (calls side by side, every lane its own
             * stream), then 0..5 chunks a turn */
            size_t k = turn < 40 ? 1 : (size_t)((turn * 7 + i * 3) % 6);
            if (k > NC - done[i])
                k = NC - done[i];
            if (!k)
                continue;
            jobs[nj++] = (cq_vad_job){
                .v = v[i], .x = src[i] + done[i] * 256, .n_chunks = k, .probs = many[i] + done[i]};
            done[i] += k;
        }
        if (!nj && turn > 46)
            break;
        assert_int_equal(cq_vad_process_many(jobs, nj), CQ_OK);
    }
    double worst = 0;
    for (int i = 0; i < S; i++) {
        assert_int_equal(done[i], NC);
        for (size_t j = 0; j < NC; j++)
            worst = fmax(worst, fabs((double)alone[i][j] - many[i][j]));
    }
    print_message("many streams vs each alone: worst difference %.3g\n", worst);
    assert_true(worst < 1e-5);
    /* refused: a stream twice, two rates, NULL samples with chunks */
    float p[2];
    cq_vad *w16 = cq_vad_create(m, 16000, NULL);
    cq_vad_job bad[2] = {{v[0], x1, 1, p}, {v[0], x1 + 256, 1, p + 1}};
    assert_int_equal(cq_vad_process_many(bad, 2), CQ_ERR_INVALID);
    bad[1] = (cq_vad_job){w16, x1, 1, p + 1};
    assert_int_equal(cq_vad_process_many(bad, 2), CQ_ERR_INVALID);
    bad[1] = (cq_vad_job){v[1], NULL, 1, p + 1};
    assert_int_equal(cq_vad_process_many(bad, 2), CQ_ERR_INVALID);
    assert_int_equal(cq_vad_process_many(NULL, 0), CQ_OK);
    cq_vad_destroy(w16);
    for (int i = 0; i < S; i++)
        cq_vad_destroy(v[i]);
    free(x1), free(x2);
    cq_vad_model_free(m);
}

static void expect_rejected(const void *bytes, size_t n, const char *what, const char *needle)
{
    cq_err err;
    char *path = tu_path(tu_dir(), "broken.onnx");
    assert_int_equal(tu_write_bytes(path, bytes, n), 0);
    cq_vad_model *m = cq_vad_model_load(path, &err);
    if (m)
        fail_msg("%s: the model was accepted", what);
    print_message("%-22s -> %s\n", what, err.msg);
    assert_true(err.code != CQ_OK);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, needle));
    free(path);
}

/* Find `pat` in buf. */
static unsigned char *find(unsigned char *buf, size_t n, const unsigned char *pat, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(buf + i, pat, m))
            return buf + i;
    return NULL;
}

static void test_broken_models(void **state)
{
    (void)state;
    char *p = model_path("v6.2");
    size_t n = 0;
    unsigned char *good = tu_read_file(p, &n);
    assert_non_null(good);
    free(p);

    expect_rejected(good, n / 2, "truncated (half)", "not a valid ONNX model");
    expect_rejected(good, 100, "truncated (100 bytes)", "not a valid ONNX model");
    const char *text = "this is not an ONNX file, just text with the right name\n";
    expect_rejected(text, strlen(text), "text", "not a valid ONNX model");
    unsigned char wav[64] = "RIFF\x24\0\0\0WAVEfmt ";
    expect_rejected(wav, sizeof(wav), "a WAV header", "not a valid ONNX model");
    expect_rejected(good, 0, "empty", "bytes");

    /* wrong tensor shape: decoder.rnn.weight_hh stored as 512 x 128 becomes 128 x 512 (same
     * size, so the protobuf stays valid). Its dims (field 1) precede its name (field 8), as
     * two varints 08 80 04 08 80 01 or packed 0a 04 80 04 80 01. */
    unsigned char *bad = malloc(n);
    memcpy(bad, good, n);
    /* the TensorProto's name field: key 0x42 (field 8, bytes), length 21 */
    const unsigned char name[] = "\x42\x15"
                                 "decoder.rnn.weight_hh";
    const unsigned char dims[] = {0x08, 0x80, 0x04, 0x08, 0x80, 0x01};
    const unsigned char packed[] = {0x0a, 0x04, 0x80, 0x04, 0x80, 0x01};
    unsigned char *at = find(bad, n, name, sizeof(name) - 1);
    assert_non_null(at);
    unsigned char *d = find(at - 64, 64, dims, sizeof(dims));
    if (d) {
        d[2] = 0x01, d[5] = 0x04;
    } else {
        d = find(at - 64, 64, packed, sizeof(packed));
        assert_non_null(d);
        d[3] = 0x01, d[5] = 0x04;
    }
    expect_rejected(bad, n, "wrong tensor shape", "has shape 128x512");

    /* a tensor renamed: the model lacks a weight it needs */
    memcpy(bad, good, n);
    at = find(bad, n, name, sizeof(name) - 1);
    at[2] = 'X';
    expect_rejected(bad, n, "missing tensor", "no tensor 'decoder.rnn.weight_hh'");
    free(bad);
    free(good);
}

/*
 * The STFT without folding: the official basis is symmetric about the frame's middle, bit for
 * bit, so it runs folded (half the products; silero.c, fold_basis). A copy of the model with
 * one weight of the 8 kHz basis moved by one unit in the last place breaks that symmetry and
 * runs on the whole basis: its probabilities must match the official model's within 1e-5.
 */
static void test_unfolded_basis(void **state)
{
    (void)state;
    char *p = model_path("v6.2");
    size_t n = 0;
    unsigned char *bytes = tu_read_file(p, &n);
    assert_non_null(bytes);
    free(p);
    /* the tensor's name (field 8), then its raw data (field 9) of 130 x 128 floats */
    const unsigned char key[] = "\x42\x19stft.forward_basis_buffer\x4a\x80\x88\x04";
    unsigned char *at = find(bytes, n, key, sizeof(key) - 1);
    assert_non_null(at);
    unsigned char *w = at + sizeof(key) - 1 + 127 * 4; /* row 0 (cos, bin 0), sample 127 */
    w[0] ^= 1;                                         /* its lowest mantissa bit */
    cq_err err;
    cq_vad_model *odd = cq_vad_model_load_memory(bytes, n, "unfolded", &err);
    assert_non_null(odd);
    cq_vad_model *m = load("v6.2");
    size_t len = 0;
    int rate = 0;
    float *x = corpus_leg("calls/call01_normal.wav", 1, &len, &rate);
    const size_t nc = 400;
    float *a = malloc(nc * sizeof(float)), *b = malloc(nc * sizeof(float));
    cq_vad *va = cq_vad_create(m, 8000, NULL), *vb = cq_vad_create(odd, 8000, NULL);
    assert_int_equal(cq_vad_process(va, x, nc, a), CQ_OK);
    assert_int_equal(cq_vad_process(vb, x, nc, b), CQ_OK);
    double worst = 0;
    for (size_t i = 0; i < nc; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    print_message("folded vs whole basis: worst difference %.3g\n", worst);
    assert_true(worst < 1e-5);
    cq_vad_destroy(va);
    cq_vad_destroy(vb);
    cq_vad_model_free(m);
    cq_vad_model_free(odd);
    free(a), free(b), free(x), free(bytes);
}

static void test_dsp_fallback(void **state)
{
    (void)state;
    int err = 0;
    cq_vad *v = cq_vad_create(NULL, 8000, &err);
    assert_non_null(v);
    assert_int_equal(cq_vad_get_engine(v), CQ_VAD_DSP);
    /* 2 s of -70 dB noise, 2 s of a speech-band signal at -20 dB, 2 s of noise again */
    tu_rng rng = tu_rng_seed("dsp fallback");
    size_t n = 6 * 8000;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / 8000;
        double s = (t >= 2 && t < 4)
                       ? 0.1 * sin(2 * M_PI * 500 * t) * (1 + 0.5 * sin(2 * M_PI * 4 * t))
                       : 0;
        x[i] = (float)(s + 3e-4 * tu_gauss(&rng));
    }
    size_t nc = n / 256;
    float *p = malloc(nc * sizeof(float));
    assert_int_equal(cq_vad_process(v, x, nc, p), CQ_OK);
    double in = 0, out = 0;
    int nin = 0, nout = 0;
    for (size_t i = 0; i < nc; i++) {
        double t = (double)i * 256 / 8000;
        if (t > 2.1 && t < 3.9)
            in += p[i], nin++;
        else if (t < 1.9 || t > 4.3)
            out += p[i], nout++;
    }
    print_message("DSP fallback: mean score %.3f in the signal, %.3f in the noise\n", in / nin,
                  out / nout);
    assert_true(in / nin > 0.9);
    assert_true(out / nout < 0.1);
    assert_null(cq_vad_create(NULL, 44100, &err));
    assert_int_equal(err, CQ_ERR_INVALID);
    cq_vad_destroy(v);
    free(x), free(p);
}

/* mean score of the chunks whose centres lie in [a, b) s */
static double mean_in(const float *p, size_t nc, double a, double b)
{
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < nc; i++) {
        const double t = ((double)i + 0.5) * 256 / 8000;
        if (t >= a && t < b)
            s += p[i], n++;
    }
    return n ? s / n : -1;
}

/* The DSP fallback on a tone that begins with the recording: a North American busy tone
 * (480 + 620 Hz, 0.5 s on, 0.5 s off, -20 dBFS peak over -65 dBFS noise) from its first
 * sample, and 20 ms in, scores its first burst as it scores the others (the first chunk's level
 * was the floor, and the first burst scored 0); a line that starts with steady noise, white or
 * low-passed, 30 dB above that, does not score its start (the noise is the floor). */
static void test_dsp_tone_at_start(void **state)
{
    (void)state;
    int err = 0;
    tu_rng rng = tu_rng_seed("dsp tone at start");
    const size_t n = 3 * 8000, nc = n / 256;
    float *x = malloc(n * sizeof(float)), *p = malloc(nc * sizeof(float));
    for (int lead = 0; lead <= 160; lead += 160) {
        for (size_t i = 0; i < n; i++) {
            const double t = ((double)i - lead) / 8000;
            const double on = t >= 0 && fmod(t, 1.0) < 0.5;
            x[i] = (float)(on * 0.05 * (sin(2 * M_PI * 480 * t) + sin(2 * M_PI * 620 * t)) +
                           5.6e-4 * tu_gauss(&rng) / 1.732);
        }
        cq_vad *v = cq_vad_create(NULL, 8000, &err);
        assert_non_null(v);
        assert_int_equal(cq_vad_process(v, x, nc, p), CQ_OK);
        const double lo = lead / 8000.0;
        const double b1 = mean_in(p, nc, lo + 0.04, lo + 0.46),
                     g1 = mean_in(p, nc, lo + 0.6, lo + 0.9);
        const double b2 = mean_in(p, nc, lo + 1.04, lo + 1.46);
        print_message("DSP fallback, busy tone %d ms in: first burst %.3f, gap %.3f, second burst "
                      "%.3f\n",
                      lead / 8, b1, g1, b2);
        assert_true(b1 > 0.9);
        assert_true(b2 > 0.9);
        assert_true(g1 < 0.1);
        cq_vad_destroy(v);
    }
    for (int lp = 0; lp <= 1; lp++) {
        double z = 0;
        for (size_t i = 0; i < n; i++) {
            const double g = 0.018 * tu_gauss(&rng);
            z = lp ? 0.9 * z + 0.1 * g * 4 : g; /* low-passed: most of its power under 500 Hz */
            x[i] = (float)z;
        }
        cq_vad *v = cq_vad_create(NULL, 8000, &err);
        assert_non_null(v);
        assert_int_equal(cq_vad_process(v, x, nc, p), CQ_OK);
        const double s = mean_in(p, nc, 0, 3);
        print_message("DSP fallback, %s noise from the start: mean score %.3f\n",
                      lp ? "low-passed" : "white", s);
        assert_true(s < 0.1);
        cq_vad_destroy(v);
    }
    free(x), free(p);
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_dsp_fallback),
    cmocka_unit_test(test_dsp_tone_at_start),
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_v5_8k),          cmocka_unit_test(test_16k),
    cmocka_unit_test(test_model_identity), cmocka_unit_test(test_batching_and_reset),
    cmocka_unit_test(test_many_streams),   cmocka_unit_test(test_broken_models),
    cmocka_unit_test(test_unfolded_basis),
};
TU_MAIN(k_logic, k_corpus)
