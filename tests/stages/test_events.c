/*
 * test_events.c - call events and the per-leg timeline against the corpus labels
 * (../shared/corpus/calls/labels.json, MANIFEST.md), and call-progress tones the corpus does
 * not have, synthesised with sox.
 *
 *   - every corpus file and leg: DTMF digits exact where labelled; ringback, busy, SIT named
 *     where labelled; hold within 1 s of the labels; and no tone, DTMF or hold event anywhere
 *     else (hold_music/ files are music: a hold there is expected);
 *   - music and tone precision and recall >= 0.9 over the labelled calls, time-weighted, with
 *     speech = label clip (speech or ivr) intersected with the reference VAD; the confusion
 *     matrix is printed (docs/events.md quotes it);
 *   - UK and European ringback and busy, congestion, fax CNG and CED made with sox are found,
 *     with the right region and signal;
 *   - the live decisions (cq_classify_params.live) on synthetic legs with the VAD's
 *     probabilities given: a long greeting and its beep, a short one and a pause, a person
 *     after a quiet handover from hold music, none after a short quiet; the same events whatever
 *     the sizes of the pushes.
 */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>

#include "callqa/callqa.h"
#include "golden_util.h"

static cq_engine *g_engine;

static int setup(void **state)
{
    cq_engine_params p = cq_engine_default_params();
    p.analyzers = CQ_AN_EVENTS;
    p.model_dir = getenv("CALLQA_MODEL_DIR");
    int err = 0;
    g_engine = cq_engine_create(&p, &err);
    if (!g_engine)
        return -1;
    return tu_group_setup(state);
}

static int teardown(void **state)
{
    cq_engine_destroy(g_engine);
    return tu_group_teardown(state);
}

static cq_report *analyze_path(const char *path)
{
    cq_call_src src = {.path = path};
    cq_report *r = NULL;
    cq_err err;
    cq_err_clear(&err);
    if (cq_engine_analyze(g_engine, &src, &r, &err) != CQ_OK)
        fail_msg("%s: %s", path, err.msg);
    return r;
}

static char *corpus(const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/corpus/%s", tu_shared_dir(), rel) < 0)
        fail();
    return p;
}

/* ---- the corpus sweep ------------------------------------------------------------------------ */

typedef struct expect {
    const char *file;
    int leg; /* 0 inbound (channel 1, customer), 1 outbound */
    cq_event_type type;
    const char *digits; /* dtmf */
    const char *signal; /* busy */
    double start, end;  /* hold: labelled span (checked within 1 s); others: -1 */
} expect;

/* From calls/labels.json and MANIFEST.md (tones/). */
static const expect k_expect[] = {
    {"calls/call04_hold_music.wav", 1, CQ_EV_HOLD, NULL, NULL, 28.9342, 64.9343},
    {"calls/call05_ringback_answer.wav", 0, CQ_EV_RINGBACK, NULL, NULL, -1, -1},
    {"calls/call06_ivr_dtmf.wav", 0, CQ_EV_DTMF, "8275#", NULL, -1, -1},
    {"calls/call06_ivr_dtmf.wav", 1, CQ_EV_HOLD, NULL, NULL, 35.7009, 50.7009},
    {"calls/call10_busy.wav", 0, CQ_EV_BUSY, NULL, "busy", -1, -1},
    {"calls/call11_sit_intercept.wav", 0, CQ_EV_SIT, NULL, NULL, -1, -1},
    {"calls/call14_vicidial-out.wav", 0, CQ_EV_HOLD, NULL, NULL, 28.4032, 57.4032},
    {"calls/call14_vicidial-all.mp3", 0, CQ_EV_HOLD, NULL, NULL, 28.4032, 57.4032},
    {"tones/baresip_busy_us.wav", 0, CQ_EV_BUSY, NULL, "busy", -1, -1},
    {"tones/baresip_ringback_us.wav", 0, CQ_EV_RINGBACK, NULL, NULL, -1, -1},
    {"tones/baresip_dtmf_0.wav", 0, CQ_EV_DTMF, "0", NULL, -1, -1},
    {"tones/baresip_dtmf_1.wav", 0, CQ_EV_DTMF, "1", NULL, -1, -1},
    {"tones/baresip_dtmf_2.wav", 0, CQ_EV_DTMF, "2", NULL, -1, -1},
    {"tones/baresip_dtmf_3.wav", 0, CQ_EV_DTMF, "3", NULL, -1, -1},
    {"tones/baresip_dtmf_4.wav", 0, CQ_EV_DTMF, "4", NULL, -1, -1},
    {"tones/baresip_dtmf_star.wav", 0, CQ_EV_DTMF, "*", NULL, -1, -1},
};
#define N_EXPECT (sizeof(k_expect) / sizeof(k_expect[0]))

static int is_audio(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && (!strcmp(d, ".wav") || !strcmp(d, ".gsm") || !strcmp(d, ".mp3"));
}

/* Check one file; returns the number of failures (printed). */
static int check_file(const char *rel)
{
    char *path = corpus(rel);
    cq_report *r = analyze_path(path);
    free(path);
    int bad = 0;
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    int hold_music_file = !strncmp(rel, "hold_music/", 11);
    for (int leg = 0; leg < 2; leg++) {
        const cq_leg_report *l = L[leg];
        if (!l)
            continue;
        if (!l->has_events) {
            print_message("%s: no events analysis\n", rel);
            bad++;
            continue;
        }
        int want_found[N_EXPECT] = {0};
        for (size_t k = 0; k < l->n_events; k++) {
            const cq_call_event *e = &l->events[k];
            if (e->type == CQ_EV_IVR)
                continue; /* context-only; accuracy in docs/events.md */
            int matched = 0;
            for (size_t x = 0; x < N_EXPECT; x++) {
                const expect *w = &k_expect[x];
                if (strcmp(w->file, rel) || w->leg != leg || w->type != e->type)
                    continue;
                int ok = 1;
                if (w->digits && strcmp(w->digits, e->digits))
                    ok = 0;
                if (w->signal && (!e->signal || strcmp(w->signal, e->signal)))
                    ok = 0;
                if (w->start >= 0 &&
                    (fabs(e->start_sec - w->start) > 1.0 || fabs(e->end_sec - w->end) > 1.0))
                    ok = 0;
                if (ok)
                    want_found[x]++, matched = 1;
                else
                    print_message("%s leg %d: %s %.3f-%.3f '%s' does not match the label "
                                  "(%.3f-%.3f '%s')\n",
                                  rel, leg, cq_event_type_name(e->type), e->start_sec, e->end_sec,
                                  e->digits, w->start, w->end, w->digits ? w->digits : "");
            }
            if (!matched && !(hold_music_file && e->type == CQ_EV_HOLD)) {
                print_message("%s leg %d: unexpected %s event %.3f-%.3f %s\n", rel, leg,
                              cq_event_type_name(e->type), e->start_sec, e->end_sec, e->digits);
                bad++;
            }
        }
        for (size_t x = 0; x < N_EXPECT; x++)
            if (!strcmp(k_expect[x].file, rel) && k_expect[x].leg == leg && want_found[x] != 1) {
                print_message("%s leg %d: expected one %s event, found %d\n", rel, leg,
                              cq_event_type_name(k_expect[x].type), want_found[x]);
                bad++;
            }
        if (hold_music_file) { /* music from end to end: one hold over most of it */
            double held = 0;
            for (size_t k = 0; k < l->n_events; k++)
                if (l->events[k].type == CQ_EV_HOLD)
                    held += l->events[k].end_sec - l->events[k].start_sec;
            if (held < 0.8 * l->duration_sec) {
                print_message("%s: hold covers %.1f of %.1f s\n", rel, held, l->duration_sec);
                bad++;
            }
        }
    }
    cq_report_destroy(r);
    return bad;
}

/* Every audio file of the corpus folders; in sample mode, the first of each folder. */
static void test_corpus_events(void **state)
{
    (void)state;
    static const char *const dirs[] = {"calls",   "tones", "hold_music", "ivr_prompts",  "speech",
                                       "quality", "vad",   "formats",    "conversations"};
    const int sample = tu_sample();
    int bad = 0, files = 0, listed = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char *dir = corpus(dirs[d]);
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
            fail_msg("cannot list %s", dir);
        const int before = files;
        for (int i = 0; i < n; i++) {
            char *rel = NULL;
            if (is_audio(names[i]->d_name) && (!sample || files == before)) {
                if (asprintf(&rel, "%s/%s", dirs[d], names[i]->d_name) < 0)
                    fail();
                bad += check_file(rel);
                files++;
                free(rel);
            }
            listed += is_audio(names[i]->d_name);
            free(names[i]);
        }
        free(names);
        free(dir);
    }
    print_message("corpus events: %d files, %d failures\n", files, bad);
    if (sample)
        print_message("sample: %d of %d files, the first of each folder (CQ_TEST_SAMPLE)\n", files,
                      listed);
    else /* the count over the whole corpus, checked in the full run (the Release build) */
        assert_true(files >= 100);
    assert_int_equal(bad, 0);
}

/* ---- timeline precision and recall ------------------------------------------------------------
 */

enum { T_SPEECH, T_MUSIC, T_TONE, T_OTHER, T_N };
static const char *const k_tname[T_N] = {"speech", "music", "tone", "other"};

typedef cq_conv_span span;

/* Tone on-times of the copies in the calls (MANIFEST.md, tones/: on-segments of each file). */
static const span k_ring_on[] = {{0.28, 2.29}, {6.31, 8.32}};
static const span k_busy_on[] = {{0.26, 0.76}, {1.25, 1.76}, {2.25, 2.76}, {3.25, 3.76},
                                 {4.25, 4.76}, {5.25, 5.76}, {6.25, 6.76}, {7.25, 7.76}};

/* Truth class at time t of a leg, from its label segments. */
static int truth_at(double t, json_t *segs, const span *vad, size_t nvad)
{
    size_t i;
    json_t *s;
    json_array_foreach(segs, i, s)
    {
        double a = json_number_value(json_object_get(s, "start"));
        double b = json_number_value(json_object_get(s, "end"));
        if (t < a || t >= b)
            continue;
        const char *type = json_string_value(json_object_get(s, "type"));
        if (!strcmp(type, "music"))
            return T_MUSIC;
        if (!strcmp(type, "speech") || !strcmp(type, "ivr")) {
            for (size_t k = 0; k < nvad; k++)
                if (t >= vad[k].start_sec && t < vad[k].end_sec)
                    return T_SPEECH;
            return T_OTHER;
        }
        if (!strcmp(type, "sit"))
            return T_TONE;
        if (!strcmp(type, "dtmf")) { /* 100 ms tones every 200 ms */
            double k = fmod(t - a, 0.2);
            return k < 0.1 && t - a < 1.0 ? T_TONE : T_OTHER;
        }
        if (!strcmp(type, "ringback") || !strcmp(type, "busy")) {
            const span *on = !strcmp(type, "busy") ? k_busy_on : k_ring_on;
            size_t n = !strcmp(type, "busy") ? 8 : 2;
            for (size_t k = 0; k < n; k++)
                if (t - a >= on[k].start_sec && t - a < on[k].end_sec)
                    return T_TONE;
            return T_OTHER;
        }
    }
    return T_OTHER;
}

static int pred_class(cq_seg_class c)
{
    switch (c) {
    case CQ_CLS_SPEECH: return T_SPEECH;
    case CQ_CLS_MUSIC: return T_MUSIC;
    case CQ_CLS_TONE: return T_TONE;
    default: return T_OTHER;
    }
}

/* The labelled calls' timelines against their labels; in sample mode, the first call of each
 * kind of source (a stereo file, a mono mix, a pair of leg files). */
static void test_timeline_precision_recall(void **state)
{
    (void)state;
    const int sample = tu_sample();
    unsigned kinds = 0; /* the kinds of source taken: 1 stereo, 2 mono, 4 leg files */
    char taken[256] = "";
    size_t ncalls = 0, ntaken = 0;
    char *lp = corpus("calls/labels.json");
    json_error_t jerr;
    json_t *labels = json_load_file(lp, 0, &jerr);
    assert_non_null(labels);
    json_t *golden = tu_golden_load();
    assert_non_null(golden);

    const double dt = 0.008; /* time grid for the measure */
    double conf[T_N][T_N] = {{0}};
    size_t ci;
    json_t *call;
    json_array_foreach(json_object_get(labels, "calls"), ci, call)
    {
        json_t *files = json_object_get(call, "files");
        const char *file = json_string_value(json_array_get(files, 0));
        const char *file2 = json_string_value(json_array_get(files, 1));
        json_t *legs = json_object_get(call, "legs");
        int leg_files = file2 && strstr(file, "-in.wav") && strstr(file2, "-out.wav");
        const char *fmt = json_string_value(json_object_get(call, "format"));
        unsigned kind = leg_files ? 4 : fmt && strstr(fmt, "mono") ? 2 : 1;
        ncalls++;
        if (sample && (kinds & kind))
            continue;
        kinds |= kind;
        ntaken++;
        if (sample)
            snprintf(taken + strlen(taken), sizeof(taken) - strlen(taken), "%s%s",
                     *taken ? ", " : "", json_string_value(json_object_get(call, "name")));
        cq_report *r = NULL;
        if (leg_files) { /* ViciDial legs: -in customer, -out agent */
            char *a = corpus(file), *b = corpus(file2);
            cq_call_src src = {.in_path = a, .out_path = b};
            cq_err err;
            if (cq_engine_analyze(g_engine, &src, &r, &err) != CQ_OK)
                fail_msg("%s", err.msg);
            free(a);
            free(b);
        } else {
            char *path = corpus(file);
            r = analyze_path(path);
            free(path);
        }
        int stereo = r->outbound != NULL;
        const char *leg_names[2] = {"customer", "agent"};
        for (int leg = 0; leg < (stereo ? 2 : 1); leg++) {
            const cq_leg_report *l = leg == 0 ? r->inbound : r->outbound;
            span vad[512];
            size_t nvad = leg_files ? tu_ref_vad(golden, leg ? file2 : file, 0, vad, 512)
                          : stereo  ? tu_ref_vad(golden, file, leg + 1, vad, 512)
                                    : tu_ref_vad(golden, file, 0, vad, 512);
            json_t *segs = json_object_get(legs, leg_names[leg]);
            json_t *both = NULL;
            if (!stereo) { /* a mono mix carries both parties' labels */
                both = json_array();
                json_array_extend(both, json_object_get(legs, "customer"));
                json_array_extend(both, json_object_get(legs, "agent"));
                segs = both;
            }
            for (size_t k = 0; k < l->n_timeline; k++) {
                const cq_class_seg *s = &l->timeline[k];
                int p = pred_class(s->cls);
                for (double t = s->start_sec + dt / 2; t < s->end_sec; t += dt)
                    conf[truth_at(t, segs, vad, nvad)][p] += dt;
            }
            json_decref(both);
        }
        cq_report_destroy(r);
    }
    print_message("timeline confusion (seconds; rows truth, columns predicted):\n"
                  "%-8s %9s %9s %9s %9s\n",
                  "", k_tname[0], k_tname[1], k_tname[2], k_tname[3]);
    for (int a = 0; a < T_N; a++)
        print_message("%-8s %9.2f %9.2f %9.2f %9.2f\n", k_tname[a], conf[a][0], conf[a][1],
                      conf[a][2], conf[a][3]);
    for (int c = T_MUSIC; c <= T_TONE; c++) {
        double tp = conf[c][c], pred = 0, truth = 0;
        for (int k = 0; k < T_N; k++)
            pred += conf[k][c], truth += conf[c][k];
        double prec = pred > 0 ? tp / pred : 0, rec = truth > 0 ? tp / truth : 0;
        print_message("%s: precision %.3f recall %.3f (%.1f s labelled)\n", k_tname[c], prec, rec,
                      truth);
        if (sample) /* measures over the whole set, checked in the full run (the Release build) */
            continue;
        assert_true(prec >= 0.9);
        assert_true(rec >= 0.9);
    }
    if (sample)
        print_message("sample: %zu of %zu labelled calls, the first of each kind of source: %s "
                      "(CQ_TEST_SAMPLE)\n",
                      ntaken, ncalls, taken);
    json_decref(golden);
    json_decref(labels);
    free(lp);
}

/* ---- synthesised cadences ---------------------------------------------------------------------
 */

/* Bursts of f1(+f2) Hz: on/off pairs, `n` times, made with sox; returns the file. */
static char *synth(const char *name, double f1, double f2, const double *cad, int ncad, int n)
{
    char *out = tu_path(tu_dir(), name);
    char *list = NULL;
    size_t k = 0;
    char *cmd = NULL;
    for (int rep = 0; rep < n; rep++)
        for (int c = 0; c < ncad; c += 2, k++) {
            char part[64];
            snprintf(part, sizeof(part), "%s.%zu.wav", name, k);
            char *pp = tu_path(tu_dir(), part);
            char mix[64] = "";
            if (f2 > 0)
                snprintf(mix, sizeof(mix), "sine %g", f2);
            if (asprintf(&cmd,
                         "sox -n -r 8000 -b 16 -c 1 -e signed %s synth %g sine %g %s "
                         "remix - gain -n -12 pad 0 %g 2>/dev/null",
                         pp, cad[c], f1, mix, cad[c + 1]) < 0 ||
                system(cmd) != 0)
                fail_msg("sox failed: %s", cmd);
            free(cmd);
            char *nl = NULL;
            if (asprintf(&nl, "%s %s", list ? list : "", pp) < 0)
                fail();
            free(list);
            list = nl;
            free(pp);
        }
    if (asprintf(&cmd, "sox %s %s 2>/dev/null", list, out) < 0 || system(cmd) != 0)
        fail_msg("sox failed: %s", cmd);
    free(cmd);
    free(list);
    return out;
}

static void expect_one(const char *path, cq_event_type type, const char *region, const char *signal)
{
    cq_report *r = analyze_path(path);
    const cq_leg_report *l = r->inbound;
    int found = 0, other = 0;
    for (size_t k = 0; k < l->n_events; k++) {
        const cq_call_event *e = &l->events[k];
        if (e->type == type && (!region || (e->region && !strcmp(e->region, region))) &&
            (!signal || (e->signal && !strcmp(e->signal, signal))))
            found++;
        else
            other++;
        print_message("  %s: %s %.2f-%.2f %s %s\n", strrchr(path, '/') + 1,
                      cq_event_type_name(e->type), e->start_sec, e->end_sec,
                      e->region ? e->region : "", e->signal ? e->signal : "");
    }
    assert_int_equal(found, 1);
    assert_int_equal(other, 0);
    cq_report_destroy(r);
}

static void test_synthetic_cadences(void **state)
{
    (void)state;
    static const double uk_ring[] = {0.4, 0.2, 0.4, 2.0}, uk_busy[] = {0.375, 0.375},
                        eu_ring[] = {1.0, 4.0}, eu_busy[] = {0.5, 0.5}, congestion[] = {0.25, 0.25},
                        cng[] = {0.5, 3.0}, ced[] = {3.3, 0.5}, na_ring[] = {2.0, 4.0},
                        na_busy[] = {0.5, 0.5};
    char *p;
    expect_one(p = synth("uk_ring.wav", 400, 450, uk_ring, 4, 3), CQ_EV_RINGBACK, "uk", NULL);
    free(p);
    expect_one(p = synth("uk_busy.wav", 400, 0, uk_busy, 2, 6), CQ_EV_BUSY, "uk", "busy");
    free(p);
    expect_one(p = synth("eu_ring.wav", 425, 0, eu_ring, 2, 3), CQ_EV_RINGBACK, "eu", NULL);
    free(p);
    expect_one(p = synth("eu_busy.wav", 425, 0, eu_busy, 2, 6), CQ_EV_BUSY, "eu", "busy");
    free(p);
    expect_one(p = synth("eu_cong.wav", 425, 0, congestion, 2, 8), CQ_EV_BUSY, "eu", "congestion");
    free(p);
    expect_one(p = synth("na_ring.wav", 440, 480, na_ring, 2, 3), CQ_EV_RINGBACK, "na", NULL);
    free(p);
    expect_one(p = synth("na_busy.wav", 480, 620, na_busy, 2, 6), CQ_EV_BUSY, "na", "busy");
    free(p);
    expect_one(p = synth("cng.wav", 1100, 0, cng, 2, 3), CQ_EV_FAX, "itu", "cng");
    free(p);
    expect_one(p = synth("ced.wav", 2100, 0, ced, 2, 1), CQ_EV_FAX, "itu", "ced");
    free(p);
}

/* A tone alone is not a cadence: one 1 kHz beep, a 425 Hz tone of 3 s, nothing. */
static void test_lone_tones_are_not_events(void **state)
{
    (void)state;
    static const double beep[] = {0.5, 1.0}, long_tone[] = {3.0, 1.0};
    char *p = synth("beep.wav", 1000, 0, beep, 2, 1);
    cq_report *r = analyze_path(p);
    assert_int_equal(r->inbound->n_events, 0);
    cq_report_destroy(r);
    free(p);
    p = synth("long425.wav", 425, 0, long_tone, 2, 1);
    r = analyze_path(p);
    assert_int_equal(r->inbound->n_events, 0);
    cq_report_destroy(r);
    free(p);
}

/* ---- live decisions on synthetic legs ----------------------------------------------------------
 */

typedef struct live_leg {
    float *x, *vad;
    size_t n, nf;
} live_leg;

/* Append `sec` of: 0 quiet (-70 dBFS noise), 1 "speech" (noise at -25 dBFS, VAD 0.9), 2 a
 * 1 kHz tone at -20 dBFS, 3 a three-note chord at -20 dBFS, 4 the DTMF key 5 (770 + 1336 Hz,
 * each at -16 dBFS) (VAD 0). */
static void live_put(live_leg *g, int what, double sec, unsigned *seed)
{
    size_t k = (size_t)(sec * CQ_CLASSIFY_RATE);
    g->x = realloc(g->x, (g->n + k) * sizeof(float));
    assert_non_null(g->x);
    for (size_t i = 0; i < k; i++) {
        double t = (double)(g->n + i) / CQ_CLASSIFY_RATE, r;
        *seed = *seed * 1103515245u + 12345u;
        r = ((double)(*seed >> 8 & 0xffff) / 65535.0 - 0.5) * 3.46; /* unit power */
        double v = what == 0                ? 3e-4 * r
                   : what == 1 || what == 5 ? 0.056 * r
                   : what == 2              ? 0.14 * sin(2 * M_PI * 1000 * t)
                   : what == 4 ? 0.22 * (sin(2 * M_PI * 770 * t) + sin(2 * M_PI * 1336 * t))
                               : 0.08 * (sin(2 * M_PI * 440 * t) + sin(2 * M_PI * 554 * t) +
                                         sin(2 * M_PI * 659 * t)) +
                                     3e-4 * r;
        g->x[g->n + i] = (float)v;
    }
    g->n += k;
    size_t nf = g->n / CQ_CLASSIFY_FRAME;
    g->vad = realloc(g->vad, (nf + 1) * sizeof(float));
    assert_non_null(g->vad);
    for (size_t f = g->nf; f < nf; f++)
        g->vad[f] = what == 1 ? 0.9f : 0.01f;
    g->nf = nf;
}

/* The finished classifier's live events (human and the types after it) into ev, at most 16. */
static size_t live_decided(const cq_classifier *c, cq_call_event *ev)
{
    size_t ne, n = 0;
    const cq_call_event *e = cq_classifier_events(c, &ne);
    for (size_t i = 0; i < ne; i++)
        if (e[i].type >= CQ_EV_HUMAN && n < 16)
            ev[n++] = e[i];
    return n;
}

/* The leg's closed events (type, start, end) pushed `step` samples at a time, the VAD's
 * probabilities a frame behind; returns how many, into ev (at most 16). */
static double g_probe_sec; /* the hold mode's probe (0: none) */

static size_t live_run(const live_leg *g, cq_live_mode mode, size_t step, cq_call_event *ev)
{
    cq_classify_params p = cq_classify_default_params();
    p.live = mode;
    p.probe_sec = mode == CQ_LIVE_HOLD ? g_probe_sec : 0;
    int rc;
    cq_classifier *c = cq_classifier_create(&p, &rc);
    assert_non_null(c);
    size_t sent = 0, vsent = 0;
    while (sent < g->n) {
        size_t k = g->n - sent < step ? g->n - sent : step;
        assert_int_equal(cq_classifier_push_audio(c, g->x + sent, k), CQ_OK);
        sent += k;
        size_t want = sent / CQ_CLASSIFY_FRAME;
        want = want > 0 ? want - 1 : 0;
        if (want > g->nf)
            want = g->nf;
        if (want > vsent) {
            assert_int_equal(cq_classifier_push_vad(c, g->vad + vsent, want - vsent), CQ_OK);
            vsent = want;
        }
    }
    if (g->nf > vsent)
        assert_int_equal(cq_classifier_push_vad(c, g->vad + vsent, g->nf - vsent), CQ_OK);
    assert_int_equal(cq_classifier_finish(c), CQ_OK);
    const size_t n = live_decided(c, ev);
    cq_classifier_destroy(c);
    return n;
}

/* The live events of g, the same pushed whole and in small pieces. */
static size_t live_events(const live_leg *g, cq_live_mode mode, cq_call_event *ev)
{
    cq_call_event other[16];
    size_t n = live_run(g, mode, g->n, ev), m = live_run(g, mode, 100, other);
    assert_int_equal(n, m);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].type, other[i].type);
        assert_true(fabs(ev[i].start_sec - other[i].start_sec) < 1e-9);
        assert_true(fabs(ev[i].end_sec - other[i].end_sec) < 1e-9);
        assert_string_equal(ev[i].rule, other[i].rule);
    }
    return n;
}

static const cq_call_event *live_find(const cq_call_event *ev, size_t n, cq_event_type t)
{
    for (size_t i = 0; i < n; i++)
        if (ev[i].type == t)
            return &ev[i];
    return NULL;
}

static void test_live_decisions(void **state)
{
    (void)state;
    cq_call_event ev[16];
    unsigned seed = 1;
    /* a machine: a 3 s greeting (a person's may last 3.5 s: no decision on it), then the beep
     * after a pause: the beep decides (docs/live-decisions.md) */
    live_leg g = {0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 3.0, &seed), live_put(&g, 0, 0.3, &seed);
    live_put(&g, 2, 0.5, &seed), live_put(&g, 0, 1.0, &seed);
    size_t n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].type, CQ_EV_MACHINE);
    assert_string_equal(ev[0].rule, "beep_after_greeting");
    assert_true(fabs(ev[0].start_sec - 0.5) < 0.05);
    assert_true(fabs(ev[0].end_sec - 3.8) < 0.05);
    assert_int_equal(ev[1].type, CQ_EV_BEEP);
    assert_true(fabs(ev[1].start_sec - 3.8) < 0.05 && fabs(ev[1].end_sec - 4.3) < 0.05);
    assert_true(fabs(ev[1].freq_hz - 1000) < 20);
    /* ... and the moment to leave the message: the beep's end */
    assert_int_equal(ev[2].type, CQ_EV_MESSAGE_END);
    assert_string_equal(ev[2].rule, "beep");
    assert_true(ev[2].start_sec == ev[1].end_sec && ev[2].end_sec == ev[1].end_sec);
    /* ... and in hold mode, nothing (no hold before it) */
    assert_int_equal(live_events(&g, CQ_LIVE_HOLD, ev), 0);
    free(g.x), free(g.vad);
    /* a machine with no beep: a greeting longer than a person's (4.5 s), decided at 3.52 s of
     * it; the message ends 3.0 s after the greeting's last sound */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 4.5, &seed), live_put(&g, 0, 3.5, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].type, CQ_EV_MACHINE);
    assert_string_equal(ev[0].rule, "long_greeting");
    assert_true(ev[0].end_sec > 3.9 && ev[0].end_sec < 4.1);
    assert_int_equal(ev[1].type, CQ_EV_MESSAGE_END);
    assert_string_equal(ev[1].rule, "silence_after_greeting");
    assert_true(fabs(ev[1].start_sec - 8.0) < 0.05);
    free(g.x), free(g.vad);
    /* a person who greets at length (3.0 s, "Hello, Smith residence, Anna speaking") and waits:
     * a person, 1.6 s after the greeting (a machine at 1.82 s of greeting before) */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 3.0, &seed), live_put(&g, 0, 3.0, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_HUMAN);
    assert_string_equal(ev[0].rule, "short_then_pause");
    assert_true(ev[0].end_sec > 5.05 && ev[0].end_sec < 5.2);
    free(g.x), free(g.vad);
    /* ... who says "hello?" again after 1.1 s: a person when they speak again, not a greeting
     * of 4.9 s (a machine) */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 3.0, &seed), live_put(&g, 0, 1.1, &seed);
    live_put(&g, 1, 0.8, &seed), live_put(&g, 0, 2.0, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_HUMAN);
    assert_true(ev[0].end_sec > 4.55 && ev[0].end_sec < 4.7);
    assert_true(fabs(ev[0].quiet_sec - 1.1) < 0.05);
    free(g.x), free(g.vad);
    /* a machine whose beep comes 1.2 s after a short greeting: the beep decides, though the
     * pause before it is a person's; its first frame, not yet read as a tone, is no "hello?"
     * again (it was, on dev calls) */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 2.0, &seed), live_put(&g, 0, 1.2, &seed);
    live_put(&g, 2, 0.45, &seed), live_put(&g, 0, 1.0, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_true(n >= 1);
    assert_int_equal(ev[0].type, CQ_EV_MACHINE);
    assert_string_equal(ev[0].rule, "beep_after_greeting");
    free(g.x), free(g.vad);
    /* a person: a short "hello?" and a pause */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 0.8, &seed), live_put(&g, 0, 2.0, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_HUMAN);
    assert_string_equal(ev[0].rule, "short_then_pause");
    assert_true(ev[0].end_sec < 3.0);
    /* ... then 6 s more of quiet: silence from the end of the "hello?" (5 s of it open it) */
    live_put(&g, 0, 6.0, &seed);
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 2);
    assert_int_equal(ev[1].type, CQ_EV_SILENCE);
    assert_true(fabs(ev[1].start_sec - 1.3) < 0.05 && fabs(ev[1].end_sec - 9.3) < 0.05);
    free(g.x), free(g.vad);
    /* hold music, 1.6 s of quiet, a person */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.0, &seed);
    live_put(&g, 0, 0.5, &seed);
    n = live_events(&g, CQ_LIVE_HOLD, ev);
    assert_int_equal(n, 2);
    const cq_call_event *who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_string_equal(who->rule, "quiet_handover");
    assert_true(fabs(who->start_sec - 7.6) < 0.05 && who->end_sec < 7.8);
    /* the wait is over, from the music's end */
    const cq_call_event *over = live_find(ev, n, CQ_EV_HOLD_ENDED);
    assert_non_null(over);
    assert_string_equal(over->rule, "human");
    assert_true(fabs(over->start_sec - 6.0) < 0.1 && over->end_sec == who->end_sec);
    assert_int_equal(live_events(&g, CQ_LIVE_OFF, ev), 0);
    free(g.x), free(g.vad);
    /* hold music, 0.5 s of quiet, speech, the music again: an announcement, no person */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 2.0, &seed);
    live_put(&g, 3, 4.0, &seed);
    n = live_events(&g, CQ_LIVE_HOLD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_ANNOUNCE);
    assert_string_equal(ev[0].rule, "music_returned");
    assert_true(fabs(ev[0].start_sec - 6.5) < 0.05 && fabs(ev[0].end_sec - 8.5) < 0.05);
    assert_true(fabs(ev[0].speech_sec - 2.0) < 0.05);
    free(g.x), free(g.vad);
    /* a prompt, then two keys pressed: the prompt is told by the keys */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 2.0, &seed), live_put(&g, 0, 1.0, &seed);
    live_put(&g, 4, 0.1, &seed), live_put(&g, 0, 0.1, &seed), live_put(&g, 4, 0.1, &seed);
    live_put(&g, 0, 2.0, &seed);
    n = live_events(&g, CQ_LIVE_HOLD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_PROMPT);
    assert_string_equal(ev[0].rule, "dtmf_after");
    assert_true(fabs(ev[0].start_sec - 0.5) < 0.05 && fabs(ev[0].end_sec - 2.5) < 0.05);
    /* ... in AMD mode no prompt: a greeting of 2 s that leaves a pause of 1 s is a person's, and
     * is decided before the keys */
    n = live_events(&g, CQ_LIVE_AMD, ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].type, CQ_EV_HUMAN);
    assert_true(ev[0].end_sec < 3.6);
    free(g.x), free(g.vad);
    /* a prompt leading into hold music, which then stops for good: the prompt is told by the
     * music; 30 s with no music and no hold end the wait (and 5 s of it are a silence) */
    g = (live_leg){0};
    live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 2.0, &seed), live_put(&g, 0, 1.5, &seed);
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 32.0, &seed);
    n = live_events(&g, CQ_LIVE_HOLD, ev);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].type, CQ_EV_PROMPT);
    assert_string_equal(ev[0].rule, "hold_after");
    assert_true(fabs(ev[0].start_sec - 0.5) < 0.05 && fabs(ev[0].end_sec - 2.5) < 0.05);
    const cq_call_event *sil = live_find(ev, n, CQ_EV_SILENCE);
    over = live_find(ev, n, CQ_EV_HOLD_ENDED);
    assert_non_null(sil);
    assert_non_null(over);
    assert_true(fabs(sil->start_sec - 10.0) < 0.1 && fabs(sil->end_sec - 42.0) < 0.1);
    assert_string_equal(over->rule, "no_music");
    assert_true(fabs(over->start_sec - 10.0) < 0.1 && fabs(over->end_sec - 40.0) < 0.1);
    free(g.x), free(g.vad);
}

/* Hold mode with a probe of g_probe_sec, as a host plays it: the leg pushed a frame at a time
 * (its VAD probability with it), each `probe` event polled as it comes and its start told back
 * `lag` s after the event asked for it (cq_classifier_probe_played); the closed live events
 * into ev (at most 16). */
static size_t probe_run(const live_leg *g, double lag, cq_call_event *ev)
{
    cq_classify_params p = cq_classify_default_params();
    p.live = CQ_LIVE_HOLD;
    p.probe_sec = g_probe_sec;
    int rc;
    cq_classifier *c = cq_classifier_create(&p, &rc);
    assert_non_null(c);
    for (size_t f = 0; f < g->nf; f++) {
        assert_int_equal(
            cq_classifier_push_audio(c, g->x + f * CQ_CLASSIFY_FRAME, CQ_CLASSIFY_FRAME), CQ_OK);
        assert_int_equal(cq_classifier_push_vad(c, g->vad + f, 1), CQ_OK);
        const cq_call_event *pe;
        size_t np;
        assert_int_equal(cq_classifier_poll(c, &pe, &np), CQ_OK);
        for (size_t k = 0; k < np; k++)
            if (pe[k].type == CQ_EV_PROBE)
                assert_int_equal(cq_classifier_probe_played(c, pe[k].start_sec + lag), CQ_OK);
    }
    assert_int_equal(cq_classifier_finish(c), CQ_OK);
    const size_t n = live_decided(c, ev);
    cq_classifier_destroy(c);
    return n;
}

/* Hold mode with a probe of 0.5 s (docs/live-decisions.md): the line's speech after the music
 * pauses 0.42 s, the probe goes out; speech 0.26-1.5 s after its end, after a pause, is a
 * reply; 0.77 s after it pauses a second probe goes, and a second reply (within 1.28 s) makes a
 * person; speech that runs on through a probe, or none, is no reply, and the next pause sends
 * the next probe while enough are left to confirm (three at most, two unanswered end it). The
 * passive quiet_handover does not decide. */
static void test_live_probe(void **state)
{
    (void)state;
    cq_call_event ev[16];
    unsigned seed = 7;
    g_probe_sec = 0.5;
    /* music, 1.6 s of quiet (a handover, passively), a greeting of 1.5 s, a pause, a reply 0.6 s
     * after the probe's end, and the same to the second probe */
    live_leg g = {0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.5, &seed);
    live_put(&g, 0, 0.42 + 0.5 + 0.6, &seed), live_put(&g, 1, 0.8, &seed);
    live_put(&g, 0, 0.77 + 0.5 + 0.6, &seed), live_put(&g, 1, 0.8, &seed);
    live_put(&g, 0, 1.0, &seed);
    size_t n = probe_run(&g, 0, ev);
    const cq_call_event *pr = live_find(ev, n, CQ_EV_PROBE), *who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(pr);
    assert_non_null(who);
    assert_int_equal(pr->cycles, 1);
    assert_true(fabs(pr->start_sec - (9.1 + 0.42)) < 0.07);
    assert_true(fabs(pr->end_sec - pr->start_sec - 0.5) < 0.04);
    assert_string_equal(who->rule, "probe_reply");
    assert_int_equal(who->cycles, 2);
    assert_true(fabs(who->start_sec - 7.6) < 0.05);
    assert_true(fabs(who->reply_sec - 0.6) < 0.07);
    assert_true(who->end_sec > 13.3 && who->end_sec < 13.3 + 0.2);
    char buf[512];
    cq_call_event_fields(who, who->end_sec, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"rule\":\"probe_reply\",\"speech_sec\""));
    assert_non_null(strstr(buf, "\"probe\":2,\"reply_sec\":"));
    cq_call_event_fields(pr, pr->start_sec, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"type\":\"probe\""));
    /* the host starts the probe 0.4 s late (its analysis lags its input): the reply, 0.6 s after
     * the probe's end as asked, comes 0.2 s after the probe as played, inside it: no reply to
     * it, then none to the second probe either; a probe never confirmed is never answered */
    {
        cq_call_event e2[16];
        size_t n2 = probe_run(&g, 0.4, e2);
        const cq_call_event *h2 = live_find(e2, n2, CQ_EV_HUMAN);
        assert_true(!h2 || strcmp(h2->rule, "probe_reply") != 0);
        n2 = live_events(&g, CQ_LIVE_HOLD, e2);
        h2 = live_find(e2, n2, CQ_EV_HUMAN);
        assert_true(!h2 || strcmp(h2->rule, "probe_reply") != 0);
    }
    free(g.x), free(g.vad);
    /* an announcement that pauses 0.6 s between its sentences runs on through the probe, then
     * the music returns: one probe, no reply, no person */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 2.0, &seed);
    live_put(&g, 0, 0.6, &seed), live_put(&g, 1, 2.0, &seed), live_put(&g, 0, 0.3, &seed);
    live_put(&g, 3, 6.0, &seed);
    n = probe_run(&g, 0, ev);
    assert_null(live_find(ev, n, CQ_EV_HUMAN));
    assert_non_null(live_find(ev, n, CQ_EV_ANNOUNCE));
    size_t probes = 0;
    for (size_t i = 0; i < n; i++)
        probes += ev[i].type == CQ_EV_PROBE;
    assert_true(probes >= 1 && probes <= 2);
    free(g.x), free(g.vad);
    /* a person who says nothing to either probe: two probes, then the passive fallback after
     * 10.5 s of no music (no_music_after) */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.0, &seed);
    live_put(&g, 0, 12.0, &seed);
    n = probe_run(&g, 0, ev);
    probes = 0;
    for (size_t i = 0; i < n; i++)
        probes += ev[i].type == CQ_EV_PROBE;
    assert_int_equal(probes, 2);
    who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_string_equal(who->rule, "no_music_after");
    free(g.x), free(g.vad);
    /* a person whose greeting goes on over the first two probes (pausing 0.5 s): not heard in
     * quiet, they do not count against the three; the next two are answered: a person, the
     * fourth probe sent confirming */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.0, &seed);
    for (int k = 0; k < 2; k++)
        live_put(&g, 0, 0.5, &seed), live_put(&g, 1, 1.2, &seed);
    live_put(&g, 0, 0.42 + 0.5 + 0.6, &seed), live_put(&g, 1, 0.8, &seed);
    live_put(&g, 0, 0.77 + 0.5 + 0.6, &seed), live_put(&g, 1, 0.8, &seed);
    live_put(&g, 0, 1.0, &seed);
    n = probe_run(&g, 0, ev);
    who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_string_equal(who->rule, "probe_reply");
    assert_int_equal(who->cycles, 4);
    free(g.x), free(g.vad);
    /* a second reply whose sound starts 1.1 s after the probe, pauses 0.06 s between syllables
     * (its next sound past the 1.28 s window) and whose VAD rises 0.5 s after its first sound:
     * the reply starts at its first sound */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.5, &seed);
    live_put(&g, 0, 0.42 + 0.5 + 0.6, &seed), live_put(&g, 1, 0.8, &seed);
    live_put(&g, 0, 0.77 + 0.5 + 1.1, &seed), live_put(&g, 5, 0.15, &seed);
    live_put(&g, 0, 0.06, &seed), live_put(&g, 5, 0.3, &seed);
    live_put(&g, 1, 0.8, &seed), live_put(&g, 0, 1.0, &seed);
    n = probe_run(&g, 0, ev);
    who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_string_equal(who->rule, "probe_reply");
    assert_int_equal(who->cycles, 2);
    assert_true(fabs(who->reply_sec - 1.1) < 0.07);
    free(g.x), free(g.vad);
    /* without the probe the same first call is a person by the passive rule */
    g_probe_sec = 0;
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed), live_put(&g, 1, 1.5, &seed);
    live_put(&g, 0, 1.5, &seed);
    n = live_events(&g, CQ_LIVE_HOLD, ev);
    assert_null(live_find(ev, n, CQ_EV_PROBE));
    who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_string_equal(who->rule, "quiet_handover");
    free(g.x), free(g.vad);
}

/* Append x[0..n) * gain as the line's "speech" (VAD 0.9), after `lead` zero samples (another
 * 32 ms grid than the first time it was heard). */
static void live_put_x(live_leg *g, const float *x, size_t n, float gain, size_t lead)
{
    g->x = realloc(g->x, (g->n + lead + n) * sizeof(float));
    assert_non_null(g->x);
    for (size_t i = 0; i < lead; i++)
        g->x[g->n + i] = 0;
    for (size_t i = 0; i < n; i++)
        g->x[g->n + lead + i] = x[i] * gain;
    g->n += lead + n;
    size_t nf = g->n / CQ_CLASSIFY_FRAME;
    g->vad = realloc(g->vad, (nf + 1) * sizeof(float));
    assert_non_null(g->vad);
    for (size_t f = g->nf; f < nf; f++)
        g->vad[f] = f * CQ_CLASSIFY_FRAME >= g->n - n ? 0.9f : 0.01f;
    g->nf = nf;
}

/* 3 s of voiced syllables: the harmonics of f0 (Hz) shaped by two formants that glide (their
 * rates set by `voice`), under a 4 Hz envelope, plus a little noise: one recording. */
static float *syllables(double f0, double voice, unsigned seed)
{
    const size_t n = 3 * CQ_CLASSIFY_RATE;
    float *x = malloc(n * sizeof(float));
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        const double t = (double)i / CQ_CLASSIFY_RATE;
        const double f1 = 500 + 250 * sin(2 * M_PI * 2.1 * voice * t);
        const double f2 = 1500 + 500 * sin(2 * M_PI * 1.3 * voice * t + 1);
        double v = 0;
        for (double f = f0; f < 3400; f += f0) {
            const double g1 = 1 / (1 + pow((f - f1) / 120, 2)),
                         g2 = 1 / (1 + pow((f - f2) / 180, 2));
            v += (g1 + 0.5 * g2 + 0.02) * sin(2 * M_PI * f * t);
        }
        seed = seed * 1103515245u + 12345u;
        const double r = ((double)(seed >> 8 & 0xffff) / 65535.0 - 0.5) * 3.46;
        const double env = 0.55 + 0.45 * sin(2 * M_PI * 4.0 * t);
        x[i] = (float)(0.05 * v * env + 0.001 * r);
    }
    return x;
}

/* A hold classifier run over g, remembering the announcement `mem` (NULL: none); its live events
 * into ev, and what it learned into *learned (malloc'd, NULL when nothing). */
static size_t memory_run(const live_leg *g, const uint16_t *mem, size_t nmem, cq_call_event *ev,
                         uint16_t **learned, size_t *nlearned)
{
    cq_classify_params p = cq_classify_default_params();
    p.live = CQ_LIVE_HOLD;
    int rc;
    cq_classifier *c = cq_classifier_create(&p, &rc);
    assert_non_null(c);
    if (mem)
        assert_int_equal(cq_classifier_remember(c, mem, nmem), CQ_OK);
    assert_int_equal(cq_classifier_push_audio(c, g->x, g->n), CQ_OK);
    assert_int_equal(cq_classifier_push_vad(c, g->vad, g->nf), CQ_OK);
    assert_int_equal(cq_classifier_finish(c), CQ_OK);
    size_t frames;
    const size_t n = live_decided(c, ev);
    const uint16_t *b = cq_classifier_learned(c, 0, &frames);
    *learned = NULL, *nlearned = 0;
    if (b) {
        *learned = malloc(frames * sizeof(uint16_t));
        memcpy(*learned, b, frames * sizeof(uint16_t));
        *nlearned = frames;
    }
    assert_null(cq_classifier_learned(c, 1, &frames));
    cq_classifier_destroy(c);
    return n;
}

/* Remembered announcements (docs/live.md): an announcement after which the music returns is
 * learned; heard again on a later call, after 1.6 s of quiet, at another level and on another
 * 32 ms grid, it is no person for the passive rule (without the memory it is one: the false
 * human this exists for), while a person with another voice after the same quiet still is. */
static void test_live_memory(void **state)
{
    (void)state;
    cq_call_event ev[16];
    unsigned seed = 11;
    float *a = syllables(118, 1.0, 777), *person = syllables(205, 1.7, 999);
    const size_t na = 3 * CQ_CLASSIFY_RATE;
    /* the first call: music, the announcement, the music again */
    live_leg g = {0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 0.5, &seed), live_put_x(&g, a, na, 1.0f, 0);
    live_put(&g, 0, 0.3, &seed), live_put(&g, 3, 6.0, &seed);
    uint16_t *fp, *none;
    size_t nfp, nnone;
    size_t n = memory_run(&g, NULL, 0, ev, &fp, &nfp);
    const cq_call_event *an = live_find(ev, n, CQ_EV_ANNOUNCE);
    assert_non_null(an);
    assert_string_equal(an->rule, "music_returned");
    assert_null(live_find(ev, n, CQ_EV_HUMAN));
    assert_non_null(fp);
    assert_true(nfp >= 80 && nfp <= 100); /* its 3 s of speech, 32 ms a word */
    free(g.x), free(g.vad);
    /* the next call: music, 1.6 s of quiet, the announcement 6 dB down and 100 samples later on
     * the grid, the music, 1.6 s of quiet, then a person */
    g = (live_leg){0};
    live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed);
    const double a_start = (double)(g.n + 100) / CQ_CLASSIFY_RATE;
    live_put_x(&g, a, na, 0.5f, 100);
    live_put(&g, 0, 0.3, &seed), live_put(&g, 3, 6.0, &seed), live_put(&g, 0, 1.6, &seed);
    const double p_start = (double)g.n / CQ_CLASSIFY_RATE;
    live_put_x(&g, person, na, 1.0f, 0);
    live_put(&g, 0, 1.0, &seed);
    n = memory_run(&g, fp, nfp, ev, &none, &nnone);
    an = live_find(ev, n, CQ_EV_ANNOUNCE);
    const cq_call_event *who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(an);
    assert_string_equal(an->rule, "remembered");
    assert_true(an->confidence > 0.3); /* 1 - 2 x the differing bits' share */
    assert_true(fabs(an->start_sec - a_start) < 0.1);
    assert_non_null(who);
    assert_string_equal(who->rule, "quiet_handover");
    assert_true(who->start_sec >= p_start - 0.05);
    assert_true(who->end_sec - p_start < 1.2); /* decided once the comparison is made (1.02 s) */
    free(none);
    /* without the memory, the same call's announcement is taken for a person */
    n = memory_run(&g, NULL, 0, ev, &none, &nnone);
    who = live_find(ev, n, CQ_EV_HUMAN);
    assert_non_null(who);
    assert_true(who->start_sec < p_start - 1);
    free(none);
    /* a bad argument */
    cq_classify_params p = cq_classify_default_params();
    int rc;
    cq_classifier *c = cq_classifier_create(&p, &rc);
    assert_int_equal(cq_classifier_remember(c, NULL, 3), CQ_ERR_INVALID);
    assert_int_equal(cq_classifier_remember(c, fp, 0), CQ_ERR_INVALID);
    cq_classifier_destroy(c);
    free(g.x), free(g.vad), free(fp), free(a), free(person);
}

static const struct CMUnitTest k_logic[] = {
    cmocka_unit_test(test_live_decisions),
    cmocka_unit_test(test_live_probe),
    cmocka_unit_test(test_live_memory),
    cmocka_unit_test(test_synthetic_cadences),
    cmocka_unit_test(test_lone_tones_are_not_events),
};
static const struct CMUnitTest k_corpus[] = {
    cmocka_unit_test(test_corpus_events),
    cmocka_unit_test(test_timeline_precision_recall),
};
TU_MAIN_SETUP(k_logic, k_corpus, setup, teardown)
