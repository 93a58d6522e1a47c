/*
 * test_golden.c - parity with the reference pipeline on every leg of
 * ../shared/reference/golden.jsonl: rms_db within 0.05 dB of sox, the sample peak within
 * 0.05 dB of max(|Maximum|, |Minimum| amplitude), duration within 1 ms, the same number of
 * silences as ffmpeg silencedetect and each start/end within 10 ms. Fails below 123 legs.
 *
 * Speech quality (NISQA v2 from ../shared/models, file mode): all five scores within 0.01 of
 * the reference on every leg; the worst difference is printed.
 *
 * Speech activity (Silero VAD v6.2 from ../shared/models) on the 97 legs that are natively
 * 8 kHz: every per-chunk probability within 1e-4 of the reference's chunk_probs, and the
 * speech segments equal to the reference's (each boundary within one 32 ms chunk) on at least
 * 99 % of the legs.
 */
#include "testutil.h"

#include <jansson.h>

#include "callqa/callqa.h"

#define EXPECTED_LEGS 123
#define EXPECTED_VAD_LEGS 97

static const cq_leg_report *leg_of(const cq_report *r, int channel)
{
    return channel == 2 ? r->outbound : r->inbound; /* 0 = mono, 1 = inbound by default */
}

static int check_leg(const char *src, int channel, json_t *g, const cq_leg_report *l)
{
    int bad = 0;
    json_t *sox = json_object_get(g, "sox");
    json_t *rms = json_object_get(sox, "rms_db");
    if (json_is_null(rms)) {
        if (l->level.has_rms) {
            print_message("%s ch%d: rms %.3f, sox: digital silence\n", src, channel,
                          l->level.rms_db);
            bad++;
        }
    } else if (!l->level.has_rms || fabs(l->level.rms_db - json_number_value(rms)) > 0.05) {
        print_message("%s ch%d: rms %.4f vs sox %.4f\n", src, channel, l->level.rms_db,
                      json_number_value(rms));
        bad++;
    }
    double mx = fabs(json_number_value(json_object_get(sox, "max_amplitude")));
    double mn = fabs(json_number_value(json_object_get(sox, "min_amplitude")));
    double pk = mx > mn ? mx : mn;
    if (pk > 0 && (!l->level.has_peak || fabs(l->level.peak_db - 20 * log10(pk)) > 0.05)) {
        print_message("%s ch%d: peak %.4f vs sox %.4f\n", src, channel, l->level.peak_db,
                      20 * log10(pk));
        bad++;
    }
    double dur = json_number_value(json_object_get(sox, "duration"));
    if (fabs(l->duration_sec - dur) > 0.001) {
        print_message("%s ch%d: duration %.6f vs sox %.6f\n", src, channel, l->duration_sec, dur);
        bad++;
    }
    json_t *segs = json_object_get(json_object_get(g, "silence"), "segments");
    if (json_array_size(segs) != l->silence.count) {
        print_message("%s ch%d: %zu silences vs ffmpeg %zu\n", src, channel, l->silence.count,
                      json_array_size(segs));
        return bad + 1;
    }
    for (size_t i = 0; i < l->silence.count; i++) {
        json_t *s = json_array_get(segs, i);
        double gs = json_number_value(json_object_get(s, "start"));
        double ge = json_number_value(json_object_get(s, "end"));
        if (fabs(l->silence.spans[i].start_sec - gs) > 0.010 ||
            fabs(l->silence.spans[i].end_sec - ge) > 0.010) {
            print_message("%s ch%d: silence %zu %.4f-%.4f vs ffmpeg %.4f-%.4f\n", src, channel, i,
                          l->silence.spans[i].start_sec, l->silence.spans[i].end_sec, gs, ge);
            bad++;
            break;
        }
    }
    return bad;
}

/* VAD parity of one leg: returns 1 if every probability is within 1e-4; *seg_ok set when the
 * segments match within one chunk; *worst updated. */
static int check_vad(const char *src, int channel, json_t *g, const cq_leg_report *l, int *seg_ok,
                     double *worst)
{
    json_t *v = json_object_get(g, "vad");
    json_t *cp = json_object_get(v, "chunk_probs");
    size_t n = json_array_size(cp);
    int ok = l->has_vad && l->vad_engine == CQ_VAD_SILERO && n == l->n_vad_probs;
    double w = 0;
    for (size_t i = 0; ok && i < n; i++) {
        double d = fabs(l->vad_probs[i] - json_number_value(json_array_get(cp, i)));
        w = d > w ? d : w;
    }
    if (w > *worst)
        *worst = w;
    if (!ok || w > 1e-4)
        print_message("%s ch%d: VAD probabilities: %zu vs %zu chunks, worst %.3g\n", src, channel,
                      l->n_vad_probs, n, w);
    json_t *ts = json_object_get(v, "timestamps_samples");
    *seg_ok = l->has_vad && json_array_size(ts) == l->n_speech;
    for (size_t i = 0; *seg_ok && i < l->n_speech; i++) {
        json_t *t = json_array_get(ts, i);
        double a = (double)json_integer_value(json_array_get(t, 0));
        double b = (double)json_integer_value(json_array_get(t, 1));
        *seg_ok = fabs((double)l->speech[i].start - a) <= 256 &&
                  fabs((double)l->speech[i].end - b) <= 256;
    }
    if (!*seg_ok)
        print_message("%s ch%d: %zu speech segments vs %zu in the reference\n", src, channel,
                      l->n_speech, json_array_size(ts));
    return ok && w <= 1e-4;
}

static void test_golden_parity(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    char *gpath = NULL;
    if (asprintf(&gpath, "%s/reference/golden.jsonl", shared) < 0)
        fail();
    FILE *f = fopen(gpath, "r");
    if (!f)
        fail_msg("%s: %s (set CALLQA_SHARED_DIR to the shared folder)", gpath, strerror(errno));
    cq_engine_params ep = cq_engine_default_params();
    char *models = NULL; /* $CALLQA_MODEL_DIR, else the shared folder's models/ */
    const char *md = getenv("CALLQA_MODEL_DIR");
    if (md && *md)
        models = strdup(md);
    else if (asprintf(&models, "%s/models", shared) < 0)
        models = NULL;
    assert_non_null(models);
    ep.model_dir = models;
    ep.nisqa_mode = CQ_NISQA_FILE; /* the reference scores each leg whole */
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);
    if (cq_engine_vad_status(e))
        fail_msg("%s", cq_engine_vad_status(e)); /* the reference needs the real models */
    if (cq_engine_nisqa_status(e))
        fail_msg("%s", cq_engine_nisqa_status(e));
    int nisqa_ok = 0;
    double worst_nisqa = 0;
    char worst_nisqa_src[256] = "";
    int vad_legs = 0, vad_probs_ok = 0, vad_segs_ok = 0;
    double worst_prob = 0;

    char *line = NULL;
    size_t cap = 0;
    int compared = 0, passed = 0;
    char last_src[1024] = "";
    cq_report *rep = NULL;
    double worst_rms = 0, worst_sil = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *g = json_loads(line, 0, &jerr);
        if (!g)
            fail_msg("golden.jsonl: %s", jerr.text);
        const char *src = json_string_value(json_object_get(g, "source"));
        int channel = (int)json_integer_value(json_object_get(g, "channel"));
        if (strcmp(src, last_src) != 0) { /* legs of one file come together: analyze once */
            cq_report_destroy(rep);
            rep = NULL;
            char *path = NULL;
            if (asprintf(&path, "%s/corpus/%s", shared, src) < 0)
                fail();
            cq_call_src cs = {.path = path};
            cq_err err;
            if (cq_engine_analyze(e, &cs, &rep, &err) != CQ_OK)
                print_message("%s\n", err.msg);
            free(path);
            snprintf(last_src, sizeof(last_src), "%s", src);
        }
        compared++;
        if (rep &&
            json_integer_value(json_object_get(json_object_get(g, "format"), "sr")) == 8000) {
            int seg_ok = 0;
            vad_legs++;
            vad_probs_ok += check_vad(src, channel, g, leg_of(rep, channel), &seg_ok, &worst_prob);
            vad_segs_ok += seg_ok;
        }
        if (rep) {
            const cq_leg_report *l = leg_of(rep, channel);
            json_t *gn = json_object_get(g, "nisqa");
            static const char *const keys[] = {"mos", "noisiness", "discontinuity", "coloration",
                                               "loudness"};
            double got[5] = {l->nisqa.mos, l->nisqa.noisiness, l->nisqa.discontinuity,
                             l->nisqa.coloration, l->nisqa.loudness};
            double w = l->has_nisqa ? 0 : HUGE_VAL;
            for (int k = 0; k < 5 && l->has_nisqa; k++)
                w = fmax(w, fabs(got[k] - json_number_value(json_object_get(gn, keys[k]))));
            if (w > worst_nisqa) {
                worst_nisqa = w;
                snprintf(worst_nisqa_src, sizeof(worst_nisqa_src), "%s ch%d", src, channel);
            }
            if (w <= 0.01)
                nisqa_ok++;
            else
                print_message("%s ch%d: NISQA off by %.4f\n", src, channel, w);
        }
        if (rep && check_leg(src, channel, g, leg_of(rep, channel)) == 0) {
            passed++;
            const cq_leg_report *l = leg_of(rep, channel);
            json_t *rms = json_object_get(json_object_get(g, "sox"), "rms_db");
            if (!json_is_null(rms) && fabs(l->level.rms_db - json_number_value(rms)) > worst_rms)
                worst_rms = fabs(l->level.rms_db - json_number_value(rms));
            json_t *segs = json_object_get(json_object_get(g, "silence"), "segments");
            for (size_t i = 0; i < l->silence.count; i++) {
                json_t *s = json_array_get(segs, i);
                double d1 = fabs(l->silence.spans[i].start_sec -
                                 json_number_value(json_object_get(s, "start")));
                double d2 = fabs(l->silence.spans[i].end_sec -
                                 json_number_value(json_object_get(s, "end")));
                worst_sil = d1 > worst_sil ? d1 : worst_sil;
                worst_sil = d2 > worst_sil ? d2 : worst_sil;
            }
        }
        json_decref(g);
    }
    cq_report_destroy(rep);
    free(line);
    fclose(f);
    cq_engine_destroy(e);
    free(gpath);
    print_message("golden parity: %d legs compared, %d passed (worst rms %.4f dB, worst silence "
                  "boundary %.4f s)\n",
                  compared, passed, worst_rms, worst_sil);
    print_message("VAD parity: %d legs at 8 kHz, probabilities within 1e-4 on %d (worst %.3g), "
                  "segments equal within one chunk on %d (%.1f %%)\n",
                  vad_legs, vad_probs_ok, worst_prob, vad_segs_ok,
                  vad_legs ? 100.0 * vad_segs_ok / vad_legs : 0.0);
    print_message("NISQA parity (file mode): %d of %d legs with all five scores within 0.01, "
                  "worst difference %.5f (%s)\n",
                  nisqa_ok, compared, worst_nisqa, worst_nisqa_src);
    free(models);
    assert_int_equal(nisqa_ok, compared);
    assert_true(worst_nisqa <= 0.01);
    assert_true(compared >= EXPECTED_LEGS);
    assert_int_equal(passed, compared);
    assert_int_equal(vad_legs, EXPECTED_VAD_LEGS);
    assert_int_equal(vad_probs_ok, vad_legs);
    assert_true(vad_segs_ok * 100 >= vad_legs * 99);
}

static const struct CMUnitTest k_logic[] = {
    TU_NONE,
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_golden_parity),
};
TU_MAIN(k_logic, k_corpus)
