/*
 * transcribe_cmd.c - `callqa analyze --transcribe ...`: the analysis of each call, then its
 * speech sent to a Whisper-class server (src/clients/asr.h) and the transcript added to the
 * report. It runs in callqa-service (libcurl); `callqa analyze` hands over to it when
 * --transcribe is given. And `callqa transcript import`: a transcript made elsewhere, into the
 * store. docs/transcription.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../clients/asr.h"
#include "../config/cfg_engine.h"
#include "../jobs/jobs.h"
#include "cli_common.h"
#include "serve_cmd.h"
#include "term.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: callqa analyze --transcribe --asr-url URL [options] FILE...\n"
            "       callqa analyze --transcribe --asr-url URL [options] --in IN.wav --out OUT.wav\n"
            "\n"
            "Analyze each call, send its legs' speech (VAD speech minus hold music, tones, DTMF,\n"
            "fax and IVR prompts, in chunks of at most 30 s, 16 kHz mono PCM16 WAV) to a\n"
            "Whisper-class server, and add the transcript to the report (docs/transcription.md).\n"
            "\n"
            "options:\n"
            "  --json                 one JSON object per call per line (docs/report.md)\n"
            "  --in FILE --out FILE   a call given as inbound and outbound legs\n"
            "  --only LIST            analyzers (callqa analyze --help); the VAD, the events,\n"
            "                         the speech audio and the diarization always run\n"
            "  -q, --quiet            no closing summary\n"
            "\n"
            "the server (the asr_* settings of docs/config.md; --asr-url: an OpenAI-compatible\n"
            "base URL, e.g. http://host:8000/v1, or whisper.cpp's, http://host:8080):\n");
    cfg_flag_help(f, CFG_FLAGS_ASR);
    fprintf(f, "\nthe analysis (as callqa analyze):\n");
    cfg_flag_help(f, CFG_FLAGS_ANALYSIS);
    fprintf(f, "\n"
               "Exit status: 0 all calls transcribed, 1 some failed, 2 usage error.\n");
}

/* The text form: the report's text, then the dialogue. */
static void print_text(const cq_report *r, const tx_transcript *t)
{
    char *s = cq_report_to_text(r);
    cq_cli_term_put(stdout, s, CQ_TERM_LINES);
    cq_report_free_string(s);
    cq_cli_tprintf(
        stdout, "transcript (%s%s%s, language %s, %d requests, %.1f s of %.1f s sent):\n",
        t->engine, t->model[0] ? " " : "", t->model, t->language[0] ? t->language : "unknown",
        t->requests, t->legs[0].plan.sent_sec + (t->n_legs > 1 ? t->legs[1].plan.sent_sec : 0),
        t->recorded_sec);
    if (t->diarized)
        cq_cli_tprintf(
            stdout,
            "  speakers S1 and S2 from diarization (confidence %.2f), their roles not known\n",
            t->diar_confidence);
    for (size_t i = 0; i < t->n_turns; i++)
        cq_cli_tprintf(stdout, "  [%7.2f-%7.2f] %-8s %s\n", t->turns[i].start, t->turns[i].end,
                       t->turns[i].speaker[0] ? t->turns[i].speaker
                                              : cq_role_name(t->turns[i].role),
                       t->turns[i].text);
    double rate = tx_hallucination_rate(t);
    if (rate >= 0)
        cq_cli_tprintf(
            stdout, "  guard: %zu words, %zu flagged, %zu dropped in %zu segments (rate %.1f %%)\n",
            t->words, t->flagged_words, t->dropped_words, t->dropped_segments, 100 * rate);
    for (int i = 0; i < t->n_warnings; i++)
        cq_cli_tprintf(stdout, "  warning: %s\n", t->warnings[i]);
}

/* One call: 0, or 1 (its error printed). */
static int one_call(const cq_engine *e, asr_client *asr, const asr_config *ac, const char *path,
                    const char *in, const char *out, int json)
{
    cq_err err;
    cq_err_clear(&err);
    cq_legs_resolved lr;
    memset(&lr, 0, sizeof(lr));
    cq_report *rep = NULL;
    int rc;
    if (path) {
        rc = cq_legs_resolve(path, &lr, &err);
        if (rc == CQ_OK) {
            cq_call_src src = {.path = lr.path,
                               .in_path = lr.in_path,
                               .out_path = lr.out_path,
                               .name = lr.name,
                               .note = lr.note};
            rc = cq_engine_analyze(e, &src, &rep, &err);
        }
    } else {
        cq_call_src src = {.in_path = in, .out_path = out};
        rc = cq_engine_analyze(e, &src, &rep, &err);
    }
    const char *name = path ? path : in;
    if (rc != CQ_OK) {
        fprintf(stderr, "callqa: %s\n", err.msg[0] ? err.msg : cq_strerror(rc));
        cq_legs_resolved_free(&lr);
        return 1;
    }
    tx_transcript t;
    char msg[600];
    int bad = 0;
    if (tx_transcript_init(&t, rep, &ac->plan) != 0) {
        snprintf(msg, sizeof(msg), "out of memory");
        bad = 1;
    } else if (asr_transcribe(asr, rep, &t, msg, sizeof(msg)) != 0) {
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "callqa: %s: transcription failed: %s\n", name, msg);
    } else if (json) {
        char *rj = cq_report_to_json(rep);
        char *all = rj ? tx_report_with_transcript(rj, &t, msg, sizeof(msg)) : NULL;
        cq_report_free_string(rj);
        if (all)
            printf("%s\n", all);
        else
            fprintf(stderr, "callqa: %s: %s\n", name, rj ? msg : "out of memory");
        bad = !all;
        free(all);
    } else {
        print_text(rep, &t);
    }
    tx_transcript_free(&t);
    cq_report_destroy(rep);
    cq_legs_resolved_free(&lr);
    return bad;
}

int cq_cli_transcribe(int argc, char **argv)
{
    enum { O_TR = 256, O_JSON, O_IN, O_OUT, O_ONLY, O_CFG = 1000 };
    static const struct option own[] = {
        {"transcribe", no_argument, NULL, O_TR},   {"json", no_argument, NULL, O_JSON},
        {"in", required_argument, NULL, O_IN},     {"out", required_argument, NULL, O_OUT},
        {"only", required_argument, NULL, O_ONLY}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
    };
    enum { N_OWN = sizeof(own) / sizeof(own[0]) };
    struct option opts[N_OWN + 64]; /* ours, then the settings' flags (config.h) */
    if (cfg_flag_options(own, N_OWN, CFG_FLAGS_ANALYSIS | CFG_FLAGS_ASR, opts, N_OWN + 64, O_CFG) <
        0) {
        fprintf(stderr, "callqa: too many flags\n");
        return 2;
    }
    static cfg_settings set; /* 110 KiB: not on the stack */
    cfg_defaults(&set);
    cq_engine_params ep = cq_engine_default_params();
    int json = 0, quiet = 0, c;
    const char *in = NULL, *out = NULL;
    char msg[600];
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case O_TR: break;
        case O_JSON: json = 1; break;
        case O_IN: in = optarg; break;
        case O_OUT: out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            if (cq_cli_analysis_flag(c, O_ONLY, O_CFG, optarg, &set, &ep, usage))
                return 2;
        }
    }
    cfg_engine_params(&set, &ep);
    asr_config ac;
    (void)asr_config_from_settings(&set, &ac);
    if (!ac.url[0]) {
        fprintf(stderr, "callqa: --transcribe needs --asr-url\n");
        return 2;
    }
    if ((in != NULL) != (out != NULL) || ((in != NULL) == (optind < argc))) {
        fprintf(stderr, "callqa: give FILE... or --in and --out\n");
        return 2;
    }
    asr_client *asr = asr_create(&ac, msg, sizeof(msg));
    if (!asr) {
        fprintf(stderr, "callqa: %s\n", msg);
        return 2;
    }
    /* a mono mix's two speakers are transcribed apart (docs/transcription.md) */
    ep.analyzers |= CQ_AN_SPEECH_AUDIO | CQ_AN_EVENTS | CQ_AN_DIARIZE;
    char model_dir[4096];
    if (!ep.model_dir && cq_model_dir_default(model_dir, sizeof(model_dir)) == CQ_OK)
        ep.model_dir = model_dir;
    int err = 0;
    cq_engine *e = cq_engine_create(&ep, &err);
    if (!e) {
        fprintf(stderr, "callqa: cannot start the engine: %s\n", cq_strerror(err));
        asr_destroy(asr);
        return 1;
    }
    rec_fetch_global_init();
    int failed = 0, n = 0;
    if (in) {
        failed += one_call(e, asr, &ac, NULL, in, out, json);
        n++;
    }
    for (int i = optind; i < argc; i++, n++)
        failed += one_call(e, asr, &ac, argv[i], NULL, NULL, json);
    if (!quiet)
        fprintf(stderr, "callqa: %d call%s, %d failed, %ld requests to the ASR server\n", n,
                n == 1 ? "" : "s", failed, asr_requests(asr));
    cq_engine_destroy(e);
    asr_destroy(asr);
    return failed ? 1 : 0;
}

/* ---- callqa transcript import ------------------------------------------------------------ */

typedef struct found {
    int64_t call_id;
    char *report;
} found;

static int call_row(void *user, const store_val *c, int n)
{
    found *f = user;
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, "call_id") && c[i].t == SV_INT)
            f->call_id = c[i].i;
    return 1;
}

static int report_row(void *user, const store_val *c, int n)
{
    found *f = user;
    if (n > 0 && c[0].t == SV_TEXT && c[0].s[0])
        f->report = strdup(c[0].s);
    return 1;
}

int cq_cli_transcript(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: callqa transcript import --db STORE --call ID [--speaker S] [--config FILE] "
        "FILE|-\n"
        "Attach a transcript made elsewhere to a call of the store (ID: its recording_id or\n"
        "uniqueid), in place of any earlier one: callqa's format {\"segments\": [{\"speaker\",\n"
        "\"start\", \"end\", \"text\", \"words\"?}]}, or OpenAI verbose_json for the leg of\n"
        "--speaker agent|customer|mixed|S1|S2. It is checked against the call's analysed speech\n"
        "when there is one (docs/transcription.md). It is redacted as the call's campaign asks\n"
        "(the redact settings of --config FILE and CALLQA_*; docs/privacy.md) before it is\n"
        "stored.\n";
    if (argc < 2 || strcmp(argv[1], "import")) {
        fputs(usage_text, argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"call", required_argument, NULL, 'c'},
        {"speaker", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *db = NULL, *call = NULL, *speaker = NULL, *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': call = optarg; break;
        case 's': speaker = optarg; break;
        case 'f': config = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (!db || !call || optind + 1 != argc - 1) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *file = argv[optind + 1];
    char err[600];
    static cfg_settings set_; /* the redaction settings */
    const cfg_settings *set = &set_;
    cfg_defaults(&set_);
    if ((config ? cfg_load_file(&set_, config, err, sizeof(err))
                : cfg_load_env(&set_, err, sizeof(err))) != 0 ||
        qa_redact_check(set, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa transcript: %s\n", err);
        return 2;
    }
    size_t hits = 0;
    size_t len = 0;
    char *body = cfg_read_file(file, (size_t)64 << 20, &len, err, sizeof(err));
    if (!body) {
        fprintf(stderr, "callqa transcript: %s\n", err);
        return 1;
    }
    store *st = store_open(db, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "callqa transcript: store: %s\n", err);
        free(body);
        return 1;
    }
    found f = {0};
    store_val p[1] = {SV_S(call)};
    int rc = 1;
    if (store_query(st, SQ_CALL, p, 1, call_row, &f) != 0) {
        fprintf(stderr, "callqa transcript: store: %s\n", store_errmsg(st));
    } else if (!f.call_id) {
        fprintf(stderr, "callqa transcript: no call with recording_id or uniqueid %s\n", call);
    } else {
        store_val q[1] = {SV_I(f.call_id)};
        tx_transcript t;
        if (store_query(st, SQ_REPORT, q, 1, report_row, &f) != 0) {
            fprintf(stderr, "callqa transcript: store: %s\n", store_errmsg(st));
        } else if (tx_import(body, len, speaker, f.report, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "callqa transcript: %s: %s\n", file, err);
        } else if (qa_redact_transcript_of(set, st, f.call_id, &t, &hits, err, sizeof(err)) < 0) {
            fprintf(stderr, "callqa transcript: %s: not stored: %s\n", file, err);
            tx_transcript_free(&t);
        } else {
            char *js = tx_to_json(&t);
            qa_stored_tx sx;
            if (js && qa_stored_tx_from_json(js, "import", f.call_id, &sx, err, sizeof(err)) == 0) {
                if (store_transcript_put(st, &sx.t, (double)time(NULL)) == STORE_OK) {
                    double rate = tx_hallucination_rate(&t);
                    printf("call %lld: %zu words in %zu turns%s", (long long)f.call_id, t.words,
                           t.n_turns, t.unchecked ? " (not checked: no analysis)\n" : "");
                    if (!t.unchecked)
                        printf(", %zu flagged, %zu dropped (rate %.1f %%)\n", t.flagged_words,
                               t.dropped_words, rate >= 0 ? 100 * rate : 0.0);
                    if (hits)
                        printf("call %lld: %zu entities redacted\n", (long long)f.call_id, hits);
                    rc = 0;
                } else {
                    fprintf(stderr, "callqa transcript: store: %s\n", store_errmsg(st));
                }
                qa_stored_tx_free(&sx);
            } else {
                fprintf(stderr, "callqa transcript: %s\n", js ? err : "out of memory");
            }
            free(js);
            tx_transcript_free(&t);
        }
    }
    free(f.report);
    free(body);
    store_close(st);
    return rc;
}
