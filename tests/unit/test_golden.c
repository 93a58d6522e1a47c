/*
 * test_golden.c - parity with the reference pipeline on every leg of
 * ../shared/reference/golden.jsonl: rms_db within 0.05 dB of sox, the sample peak within
 * 0.05 dB of max(|Maximum|, |Minimum| amplitude), duration within 1 ms, the same number of
 * silences as ffmpeg silencedetect and each start/end within 10 ms. Fails below 123 legs.
 */
#include "testutil.h"

#include <jansson.h>

#include "callqa/callqa.h"

#define EXPECTED_LEGS 123

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
        print_message("%s ch%d: duration %.6f vs sox %.6f\n", src, channel, l->duration_sec,
                      dur);
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
            print_message("%s ch%d: silence %zu %.4f-%.4f vs ffmpeg %.4f-%.4f\n", src, channel,
                          i, l->silence.spans[i].start_sec, l->silence.spans[i].end_sec, gs, ge);
            bad++;
            break;
        }
    }
    return bad;
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
    cq_engine *e = cq_engine_create(&ep, NULL);
    assert_non_null(e);

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
    assert_true(compared >= EXPECTED_LEGS);
    assert_int_equal(passed, compared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
