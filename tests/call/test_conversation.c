/*
 * test_conversation.c - the call-level stage against the corpus calls
 * (../shared/corpus/calls/labels.json: channel 1 = inbound = customer, 2 = outbound = agent):
 *   - one-way audio on the one-way call and on no other call (the SIT call is "not
 *     connected"; mono mixes cannot be judged);
 *   - dead air on the dead-air call (within 1 s of the label) and on no other call, so none
 *     inside labelled hold or ringback spans;
 *   - overtalk spans equal to the intersections of the two legs' reference VAD segments
 *     (../shared/reference/golden.jsonl) within 0.3 s, and none elsewhere;
 *   - the two-leg checks: silent on every corpus call; near-identical channels and a 10 %
 *     copy of one leg in the other 40 ms later, built here from a corpus call, are found;
 *   - span arithmetic, turns and latency on hand-made segments;
 *   - monologues on hand-made segments: a pause of monologue_pause_sec (2 s) or more splits
 *     one, a shorter one does not; a backchannel over the talker's speech does not end it,
 *     the other leg's talk in a pause does; dead air always ends it.
 */
#include "testutil.h"

#include <jansson.h>

#include "callqa/callqa.h"
#include "golden_util.h"

static cq_engine *g_engine;
static json_t *g_golden;

static int setup(void **state)
{
    cq_engine_params p = cq_engine_default_params();
    p.analyzers = CQ_AN_EVENTS | CQ_AN_CONVERSATION;
    p.model_dir = getenv("CALLQA_MODEL_DIR");
    int err = 0;
    if (!(g_engine = cq_engine_create(&p, &err)))
        return -1;
    g_golden = tu_golden_load(); /* the corpus group's; NULL without ../shared */
    return tu_group_setup(state);
}

static int teardown(void **state)
{
    cq_engine_destroy(g_engine);
    if (g_golden)
        json_decref(g_golden);
    return tu_group_teardown(state);
}

static char *corpus(const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/%s", tu_shared_dir(), rel) < 0)
        fail();
    return p;
}

static cq_report *analyze(const cq_call_src *src)
{
    cq_report *r = NULL;
    cq_err err;
    cq_err_clear(&err);
    if (cq_engine_analyze(g_engine, src, &r, &err) != CQ_OK)
        fail_msg("%s", err.msg);
    return r;
}

typedef struct call {
    const char *name;
    cq_report *r;
    const char *ref[2]; /* golden.jsonl source of each leg */
    int ref_ch[2];
} call;

/* The calls of the corpus (stereo files, mono mixes and the ViciDial leg pair); with `sample`,
 * the first call of each of these kinds of source. *listed is how many the labels list. */
static size_t load_calls(call *out, size_t max, int sample, size_t *listed)
{
    char *lp = corpus("calls/labels.json");
    json_error_t jerr;
    json_t *labels = json_load_file(lp, 0, &jerr);
    free(lp);
    assert_non_null(labels);
    size_t n = 0, i;
    unsigned kinds = 0; /* the kinds of source taken: 1 stereo, 2 mono, 4 leg files */
    json_t *c;
    *listed = json_array_size(json_object_get(labels, "calls"));
    json_array_foreach(json_object_get(labels, "calls"), i, c)
    {
        json_t *files = json_object_get(c, "files");
        const char *f0 = json_string_value(json_array_get(files, 0));
        const char *f1 = json_string_value(json_array_get(files, 1));
        const char *fmt = json_string_value(json_object_get(c, "format"));
        unsigned kind = f1 && strstr(f0, "-in.wav") ? 4 : strstr(fmt, "mono") ? 2 : 1;
        if (sample && (kinds & kind))
            continue;
        kinds |= kind;
        call *k = &out[n];
        memset(k, 0, sizeof(*k));
        k->name = strdup(json_string_value(json_object_get(c, "name")));
        if (f1 && strstr(f0, "-in.wav")) {
            char *a = corpus(f0), *b = corpus(f1);
            cq_call_src src = {.in_path = a, .out_path = b};
            k->r = analyze(&src);
            k->ref[0] = strdup(f0), k->ref[1] = strdup(f1);
            free(a);
            free(b);
        } else {
            char *a = corpus(f0);
            cq_call_src src = {.path = a};
            k->r = analyze(&src);
            free(a);
            k->ref[0] = strdup(f0), k->ref[1] = strdup(f0);
            k->ref_ch[0] = 1, k->ref_ch[1] = 2;
            if (strstr(fmt, "mono"))
                k->ref_ch[0] = k->ref_ch[1] = 0;
        }
        if (++n == max)
            break;
    }
    json_decref(labels);
    return n;
}

static void free_calls(call *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cq_report_destroy(c[i].r);
        free((char *)c[i].name);
        free((char *)c[i].ref[0]);
        free((char *)c[i].ref[1]);
    }
}

static void test_corpus_calls(void **state)
{
    (void)state;
    call calls[32];
    const int sample = tu_sample();
    size_t listed = 0, n = load_calls(calls, 32, sample, &listed);
    if (sample) {
        char names[256] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                     calls[i].name);
        print_message("sample: %zu of %zu corpus calls, the first of each kind of source: %s "
                      "(CQ_TEST_SAMPLE)\n",
                      n, listed, names);
    } else { /* the count over the whole corpus, checked in the full run (the Release build) */
        assert_true(n >= 14);
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const cq_report *r = calls[i].r;
        const char *name = calls[i].name;
        assert_true(r->has_conversation);
        const cq_conversation *c = &r->conversation;
        /* one-way audio */
        if (!r->has_legs) {
            if (c->one_way != -1)
                bad++, print_message("%s: mono mix judged one-way %d\n", name, c->one_way);
        } else if (!strcmp(name, "call02_one_way_audio")) {
            if (c->one_way != 1 || c->one_way_silent_leg != 0 || c->n_evidence == 0)
                bad++, print_message("%s: one-way not found (%d, leg %d, %zu evidence)\n", name,
                                     c->one_way, c->one_way_silent_leg, c->n_evidence);
        } else if (c->one_way != 0) {
            bad++, print_message("%s: one-way audio reported (%s)\n", name, c->one_way_detail);
        }
        if (!strcmp(name, "call11_sit_intercept") && strcmp(c->one_way_rule, "not connected"))
            bad++, print_message("%s: rule %s\n", name, c->one_way_rule);
        /* dead air: the labelled span on call03, nowhere else */
        if (!strcmp(name, "call03_dead_air")) {
            if (c->n_dead_air != 1 || fabs(c->dead_air[0].start_sec - 31.9159) > 1.0 ||
                fabs(c->dead_air[0].end_sec - 57.9159) > 1.0)
                bad++, print_message("%s: dead air %zu spans, first %.2f-%.2f\n", name,
                                     c->n_dead_air, c->n_dead_air ? c->dead_air[0].start_sec : 0,
                                     c->n_dead_air ? c->dead_air[0].end_sec : 0);
        } else if (r->has_legs && c->n_dead_air) {
            bad++, print_message("%s: dead air %.2f-%.2f\n", name, c->dead_air[0].start_sec,
                                 c->dead_air[0].end_sec);
        }
        if (!r->has_legs)
            continue;
        /* overtalk = the reference VAD's intersections */
        cq_conv_span a[512], b[512];
        size_t na = tu_ref_vad(g_golden, calls[i].ref[0], calls[i].ref_ch[0], a, 512);
        size_t nb = tu_ref_vad(g_golden, calls[i].ref[1], calls[i].ref_ch[1], b, 512);
        cq_conv_span want[512];
        size_t nw = 0;
        for (size_t x = 0; x < na; x++)
            for (size_t y = 0; y < nb; y++) {
                double lo = fmax(a[x].start_sec, b[y].start_sec);
                double hi = fmin(a[x].end_sec, b[y].end_sec);
                if (hi > lo && nw < 512)
                    want[nw++] = (cq_conv_span){lo, hi};
            }
        int ok = nw == c->n_overtalk;
        for (size_t k = 0; ok && k < nw; k++)
            ok = fabs(want[k].start_sec - c->overtalk[k].start_sec) <= 0.3 &&
                 fabs(want[k].end_sec - c->overtalk[k].end_sec) <= 0.3;
        if (!ok) {
            bad++;
            print_message("%s: overtalk %zu spans, the reference VAD intersects in %zu\n", name,
                          c->n_overtalk, nw);
            for (size_t k = 0; k < nw; k++)
                print_message("  ref %.3f-%.3f\n", want[k].start_sec, want[k].end_sec);
            for (size_t k = 0; k < c->n_overtalk; k++)
                print_message("  got %.3f-%.3f\n", c->overtalk[k].start_sec,
                              c->overtalk[k].end_sec);
        }
        if (!strcmp(name, "call12_overtalk"))
            assert_int_equal(c->n_overtalk, 3);
        /* the two-leg checks stay silent */
        if (c->swapped_suspected)
            bad++, print_message("%s: legs suspected swapped (%s)\n", name, c->swapped_detail);
        if (r->has_xleg && (r->xleg.near_identical || r->xleg.bleed_from >= 0))
            bad++, print_message("%s: leg check fired (corr %.3f, bleed from %d, %.1f ms)\n", name,
                                 r->xleg.corr_lag0, r->xleg.bleed_from, r->xleg.bleed_lag_ms);
        print_message("%s: one-way %s, %zu overtalk, %zu dead air, peak leg correlation "
                      "%.4f\n",
                      name, c->one_way_rule, c->n_overtalk, c->n_dead_air,
                      r->has_xleg && r->xleg.has ? r->xleg.peak_corr : 0.0);
    }
    free_calls(calls, n);
    assert_int_equal(bad, 0);
}

/* A stereo corpus call, read whole (interleaved, 8 kHz). */
static float *read_stereo(const char *rel, size_t *frames)
{
    char *p = corpus(rel);
    cq_err err;
    cq_audio *a = cq_audio_open(p, &err);
    free(p);
    assert_non_null(a);
    size_t cap = 1 << 20, n = 0;
    float *x = malloc(cap * 2 * sizeof(float));
    for (;;) {
        if (n + 4096 > cap)
            x = realloc(x, (cap *= 2) * 2 * sizeof(float));
        int64_t got = cq_audio_read(a, x + 2 * n, 4096, &err);
        assert_true(got >= 0);
        if (!got)
            break;
        n += (size_t)got;
    }
    cq_audio_close(a);
    *frames = n;
    return x;
}

static cq_report *analyze_stereo(const char *name, const float *x, size_t frames)
{
    char *p = tu_path(tu_dir(), name);
    assert_int_equal(tu_write(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, x, frames), 0);
    cq_call_src src = {.path = p};
    cq_report *r = analyze(&src);
    free(p);
    return r;
}

static void test_built_leg_checks(void **state)
{
    (void)state;
    size_t n;
    float *x = read_stereo("calls/call01_normal.wav", &n);
    float *y = malloc(n * 2 * sizeof(float));
    tu_rng rng = tu_rng_seed("leg checks");

    /* a duplicated leg: sample-identical, and re-leveled with a little noise */
    for (size_t i = 0; i < n; i++)
        y[2 * i] = y[2 * i + 1] = x[2 * i];
    cq_report *r = analyze_stereo("dup.wav", y, n);
    assert_true(r->fake_stereo);
    cq_report_destroy(r);
    for (size_t i = 0; i < n; i++)
        y[2 * i + 1] = 0.8f * x[2 * i] + (float)(1e-4 * tu_gauss(&rng));
    r = analyze_stereo("near.wav", y, n);
    assert_false(r->fake_stereo);
    assert_true(r->has_xleg && r->xleg.near_identical);
    print_message("near-identical: correlation %.4f\n", r->xleg.corr_lag0);
    cq_report_destroy(r);

    /* 10 % of the inbound leg in the outbound, 40 ms later */
    const size_t d = 320;
    for (size_t i = 0; i < n; i++) {
        y[2 * i] = x[2 * i];
        y[2 * i + 1] = x[2 * i + 1] + (i >= d ? 0.1f * x[2 * (i - d)] : 0.0f);
    }
    r = analyze_stereo("bleed.wav", y, n);
    assert_true(r->has_xleg);
    print_message("bleed: from %d, %.1f ms, %.2f dB, correlation %.3f\n", r->xleg.bleed_from,
                  r->xleg.bleed_lag_ms, r->xleg.bleed_db, r->xleg.bleed_corr);
    assert_int_equal(r->xleg.bleed_from, 0);
    assert_true(fabs(r->xleg.bleed_lag_ms - 40.0) <= 1.0);
    assert_true(fabs(r->xleg.bleed_db - -20.0) <= 2.0);
    assert_false(r->xleg.near_identical);
    int warned = 0;
    for (size_t i = 0; i < r->n_warnings; i++)
        warned |= strstr(r->warnings[i].message, "echo or cross-talk") != NULL;
    assert_true(warned);
    cq_report_destroy(r);

    /* the other way round: outbound into inbound */
    for (size_t i = 0; i < n; i++) {
        y[2 * i] = x[2 * i] + (i >= d ? 0.1f * x[2 * (i - d) + 1] : 0.0f);
        y[2 * i + 1] = x[2 * i + 1];
    }
    r = analyze_stereo("bleed2.wav", y, n);
    assert_int_equal(r->xleg.bleed_from, 1);
    assert_true(fabs(r->xleg.bleed_lag_ms - 40.0) <= 1.0);
    cq_report_destroy(r);
    free(x);
    free(y);
}

/* call04 with its channels swapped: the hold music is now on the inbound leg. */
static void test_swapped_legs(void **state)
{
    (void)state;
    size_t n;
    float *x = read_stereo("calls/call04_hold_music.wav", &n);
    for (size_t i = 0; i < n; i++) {
        float t = x[2 * i];
        x[2 * i] = x[2 * i + 1];
        x[2 * i + 1] = t;
    }
    cq_report *r = analyze_stereo("swapped.wav", x, n);
    assert_true(r->conversation.swapped_suspected);
    int warned = 0;
    for (size_t i = 0; i < r->n_warnings; i++)
        warned |= strstr(r->warnings[i].message, "legs probably swapped") != NULL;
    assert_true(warned);
    print_message("swapped call04: %s\n", r->conversation.swapped_detail);
    cq_report_destroy(r);
    free(x);
}

/* Hand-made segments: talk, overtalk, interruptions, turns, latency, dead air, one-way. */
static void test_rules_by_hand(void **state)
{
    (void)state;
    /* inbound talks 0-4, 10-12; outbound 3.5-8 (cuts in at 3.5), 20-30 */
    cq_conv_span s0[] = {{0, 4}, {10, 12}}, s1[] = {{3.5, 8}, {20, 30}};
    cq_conv_leg_in in[2] = {
        {.duration_sec = 40, .speech_pct = 15, .speech = s0, .n_speech = 2},
        {.duration_sec = 40, .speech_pct = 36, .speech = s1, .n_speech = 2},
    };
    cq_conversation c;
    assert_int_equal(cq_conversation_analyze(in, 2, NULL, &c), CQ_OK);
    assert_int_equal(c.n_overtalk, 1);
    assert_true(fabs(c.overtalk_sec - 0.5) < 1e-9);
    assert_int_equal(c.n_interruptions, 1);
    assert_int_equal(c.interruptions[0].by, 1);
    assert_true(fabs(c.leg[0].talk_sec - 6) < 1e-9 && fabs(c.leg[1].talk_sec - 14.5) < 1e-9);
    /* turns: in 0-4, out 3.5-8 (latency 0), in 10-12 (2), out 20-30 (8) */
    assert_int_equal(c.turns, 4);
    assert_int_equal(c.n_latencies, 3);
    assert_true(fabs(c.latency_mean_sec - 10.0 / 3) < 1e-9);
    assert_true(fabs(c.latency_p90_sec - 8) < 1e-9);
    assert_true(fabs(c.leg[1].longest_monologue_sec - 10) < 1e-9);
    /* dead air: 12-20 (8 s) only; 8-10 is 2 s */
    assert_int_equal(c.n_dead_air, 1);
    assert_true(fabs(c.dead_air[0].start_sec - 12) < 1e-9 &&
                fabs(c.dead_air[0].end_sec - 20) < 1e-9);
    assert_int_equal(c.one_way, 0);
    cq_conversation_free(&c);

    /* a hold on the outbound leg over 12-20 is not dead air; an IVR over 20-30 is not talk */
    cq_call_event ev[] = {{.type = CQ_EV_HOLD, .start_sec = 12, .end_sec = 20},
                          {.type = CQ_EV_IVR, .start_sec = 20, .end_sec = 30}};
    in[1].events = ev, in[1].n_events = 2;
    assert_int_equal(cq_conversation_analyze(in, 2, NULL, &c), CQ_OK);
    assert_int_equal(c.n_dead_air, 0);
    assert_true(fabs(c.leg[1].talk_sec - 4.5) < 1e-9);
    assert_true(fabs(c.leg[1].excluded_sec - 10) < 1e-9);
    cq_conversation_free(&c);

    /* one-way: inbound silent, outbound talking; DTMF on the silent leg vetoes it */
    cq_conv_span none[1], lots[] = {{1, 20}, {20.5, 39}};
    cq_conv_leg_in ow[2] = {
        {.duration_sec = 40, .speech_pct = 0, .speech = none, .n_speech = 0},
        {.duration_sec = 40, .speech_pct = 93.75, .speech = lots, .n_speech = 2},
    };
    assert_int_equal(cq_conversation_analyze(ow, 2, NULL, &c), CQ_OK);
    assert_int_equal(c.one_way, 1);
    assert_int_equal(c.one_way_silent_leg, 0);
    assert_string_equal(c.one_way_rule, "baseline");
    assert_int_equal(c.n_evidence, 1); /* 1-39, its 0.5 s pause joined */
    cq_conversation_free(&c);
    cq_call_event dtmf = {.type = CQ_EV_DTMF, .start_sec = 5, .end_sec = 6};
    ow[0].events = &dtmf, ow[0].n_events = 1;
    assert_int_equal(cq_conversation_analyze(ow, 2, NULL, &c), CQ_OK);
    assert_int_equal(c.one_way, 0);
    assert_string_equal(c.one_way_rule, "dtmf");
    cq_conversation_free(&c);
    /* a mono mix cannot be judged */
    assert_int_equal(cq_conversation_analyze(ow, 1, NULL, &c), CQ_OK);
    assert_int_equal(c.one_way, -1);
    cq_conversation_free(&c);
    assert_int_equal(cq_conversation_analyze(ow, 3, NULL, &c), CQ_ERR_INVALID);
}

/* Monologues on hand-made segments: pauses against the limit, backchannels, dead air. */
static double longest(const cq_conv_span *s0, size_t n0, const cq_conv_span *s1, size_t n1,
                      const cq_conv_params *p, int leg, size_t *turns)
{
    cq_conv_leg_in in[2] = {
        {.duration_sec = 60, .speech_pct = 20, .speech = s0, .n_speech = n0},
        {.duration_sec = 60, .speech_pct = 20, .speech = s1, .n_speech = n1},
    };
    cq_conversation c;
    assert_int_equal(cq_conversation_analyze(in, 2, p, &c), CQ_OK);
    double m = c.leg[leg].longest_monologue_sec;
    if (turns)
        *turns = c.turns;
    cq_conversation_free(&c);
    return m;
}

static void test_monologue(void **state)
{
    (void)state;
    cq_conv_params dp = cq_conv_default_params();
    assert_true(dp.monologue_pause_sec == 2.0);
    size_t turns;
    /* the outbound leg alone: a 1.5 s pause does not split, 3 s does, exactly 2 s does */
    cq_conv_span joined[] = {{0, 4}, {5.5, 9}}, split[] = {{0, 4}, {7, 9}}, at[] = {{0, 4}, {6, 9}};
    assert_true(fabs(longest(NULL, 0, joined, 2, NULL, 1, &turns) - 9) < 1e-9);
    assert_true(fabs(longest(NULL, 0, split, 2, NULL, 1, &turns) - 4) < 1e-9);
    assert_int_equal(turns, 1); /* a pause alone does not pass the floor */
    assert_true(fabs(longest(NULL, 0, at, 2, NULL, 1, NULL) - 4) < 1e-9);
    /* the limit is a parameter: 3.5 s keeps the 3 s pause inside */
    cq_conv_params p = dp;
    p.monologue_pause_sec = 3.5;
    assert_true(fabs(longest(NULL, 0, split, 2, &p, 1, NULL) - 9) < 1e-9);
    /* a long talk with pauses under the limit, then one over it, then more talk */
    cq_conv_span talk[] = {{0, 5}, {6, 11}, {12.5, 20}, {23, 26}};
    assert_true(fabs(longest(NULL, 0, talk, 4, NULL, 1, NULL) - 20) < 1e-9);

    /* a backchannel of the other leg over the talker's speech does not end the monologue,
       nor is it a turn or a monologue of its own */
    cq_conv_span agent[] = {{0, 5}, {6, 10}}, mhm[] = {{3, 3.6}}, in_pause[] = {{5.2, 5.7}};
    assert_true(fabs(longest(mhm, 1, agent, 2, NULL, 1, &turns) - 10) < 1e-9);
    assert_int_equal(turns, 1);
    assert_true(longest(mhm, 1, agent, 2, NULL, 0, NULL) == 0);
    /* the other leg's talk in the talker's pause takes the floor: it ends the monologue */
    assert_true(fabs(longest(in_pause, 1, agent, 2, NULL, 1, &turns) - 5) < 1e-9);
    assert_int_equal(turns, 3);

    /* the old sample call: the agent talks 10.4-15.0 and 19.7-24.5 with 4.7 s of silence
       between (under the dead-air rule): two monologues, not one of 14.1 s */
    cq_conv_span caller[] = {{6.2, 10.2}, {24.6, 26.5}},
                 dana[] = {{1.1, 5.8}, {10.4, 15.0}, {19.7, 24.5}};
    assert_true(fabs(longest(caller, 2, dana, 3, NULL, 1, NULL) - 4.8) < 1e-9);
    /* dead air (7 s) inside one leg's turn always ends its monologue */
    cq_conv_span dead[] = {{0, 6}, {13, 17}};
    p = dp;
    assert_true(p.monologue_pause_sec < p.dead_air_sec);
    assert_true(fabs(longest(NULL, 0, dead, 2, NULL, 1, NULL) - 6) < 1e-9);
    /* a mono mix: the mix's talk, split the same way */
    cq_conv_leg_in mono = {.duration_sec = 20, .speech_pct = 50, .speech = split, .n_speech = 2};
    cq_conversation c;
    assert_int_equal(cq_conversation_analyze(&mono, 1, NULL, &c), CQ_OK);
    assert_true(fabs(c.leg[0].longest_monologue_sec - 4) < 1e-9);
    cq_conversation_free(&c);
    /* the limit must be positive */
    p.monologue_pause_sec = 0;
    assert_int_equal(cq_conversation_analyze(&mono, 1, &p, &c), CQ_ERR_INVALID);
    p.monologue_pause_sec = INFINITY; /* a monologue is then the whole turn */
    assert_true(fabs(longest(NULL, 0, dead, 2, &p, 1, NULL) - 17) < 1e-9);
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_rules_by_hand),
    cmocka_unit_test(test_monologue),
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_built_leg_checks),
    cmocka_unit_test(test_swapped_legs),
    cmocka_unit_test(test_corpus_calls),
};
TU_MAIN_SETUP(k_logic, k_corpus, setup, teardown)
