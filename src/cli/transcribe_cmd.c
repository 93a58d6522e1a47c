/*
 * transcribe_cmd.c - `callqa analyze --transcribe ...`: the analysis of each call, then its
 * speech sent to a Whisper-class server (src/clients/asr.h) and the transcript added to the
 * report. It runs in callqa-service (libcurl); `callqa analyze` hands over to it when
 * --transcribe is given. And `callqa transcript import`: a transcript made elsewhere, into the
 * store, by the pipeline's import (pl_tx_import, as POST /api/qa/call/{id}/transcript does).
 * docs/transcription.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../clients/asr.h"
#include "../config/cfg_engine.h"
#include "../pipeline/pipeline.h"
#include "cli_args.h"
#include "transcribe_cmd.h"
#include "term.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store.h"

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
    cq_report *rep = NULL;
    int rc = cq_cli_analyze_call(e, path, in, out, &lr, &rep, &err);
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
    static cfg_settings set; /* 110 KiB: not on the stack */
    cq_engine_params ep;
    cfg_args a;
    int rc = cq_cli_analysis_args("analyze --transcribe", "callqa", argc, argv, &set, &ep, &a);
    if (rc >= 0)
        return rc;
    int json = cfg_arg_given(&a, "json"), quiet = cfg_arg_given(&a, "quiet");
    const char *in = cfg_arg(&a, "in"), *out = cfg_arg(&a, "out");
    char msg[600];
    asr_config ac;
    (void)asr_config_from_settings(&set, &ac);
    if (!ac.url[0]) {
        fprintf(stderr, "callqa: --transcribe needs --asr-url\n");
        return 2;
    }
    if ((in != NULL) != (out != NULL) || ((in != NULL) == (a.next < argc))) {
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
    for (int i = a.next; i < argc; i++, n++)
        failed += one_call(e, asr, &ac, argv[i], NULL, NULL, json);
    if (!quiet)
        fprintf(stderr, "callqa: %d call%s, %d failed, %ld requests to the ASR server\n", n,
                n == 1 ? "" : "s", failed, asr_requests(asr));
    cq_engine_destroy(e);
    asr_destroy(asr);
    return failed ? 1 : 0;
}

/* ---- callqa transcript import ------------------------------------------------------------ */

/* SQ_CALL's row: the call's id. */
static int call_row(void *user, const store_val *c, int n)
{
    int64_t *id = user;
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, "call_id") && c[i].t == SV_INT)
            *id = c[i].i;
    return 1;
}

int cq_cli_transcript(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "import")) {
        bool help = argc >= 2 && !strcmp(argv[1], "--help");
        cq_cli_usage(help ? stdout : stderr, "transcript import");
        return help ? 0 : 2;
    }
    static cfg_settings set_; /* the redaction settings: --config FILE, then CALLQA_* */
    const cfg_settings *set = &set_;
    cfg_defaults(&set_);
    cfg_args a;
    int rc = cq_cli_args("transcript import", "callqa transcript", argc - 1, argv + 1, &set_, &a);
    if (rc >= 0)
        return rc;
    const char *db = cfg_arg(&a, "db"), *call = cfg_arg(&a, "call"),
               *speaker = cfg_arg(&a, "speaker");
    if (!db || !call || a.next + 1 != argc - 1) {
        cq_cli_usage(stderr, "transcript import");
        return 2;
    }
    const char *file = argv[a.next + 1];
    char err[600];
    if (pl_redact_check(set, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa transcript: %s\n", err);
        return 2;
    }
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
    int64_t call_id = 0;
    store_val p[1] = {SV_S(call)};
    rc = 1;
    pl_tx_imported x;
    if (store_query(st, SQ_CALL, p, 1, call_row, &call_id) != 0) {
        fprintf(stderr, "callqa transcript: store: %s\n", store_errmsg(st));
    } else if (!call_id) {
        fprintf(stderr, "callqa transcript: no call with recording_id or uniqueid %s\n", call);
    } else if (pl_tx_import(set, st, call_id, body, len, speaker, &x) != 0) {
        if (x.end == PL_TX_STORE)
            fprintf(stderr, "callqa transcript: store: %s\n", x.err.msg);
        else if (x.end == PL_TX_BAD)
            fprintf(stderr, "callqa transcript: %s: %s\n", file, x.err.msg);
        else if (x.end == PL_TX_REDACTION)
            fprintf(stderr, "callqa transcript: %s: not stored: %s\n", file, x.err.msg);
        else
            fprintf(stderr, "callqa transcript: %s\n", x.err.msg);
    } else {
        printf("call %lld: %zu words in %zu turns%s", (long long)call_id, x.words, x.turns,
               x.unchecked ? " (not checked: no analysis)\n" : "");
        if (!x.unchecked)
            printf(", %zu flagged, %zu dropped (rate %.1f %%)\n", x.flagged_words, x.dropped_words,
                   x.rate >= 0 ? 100 * x.rate : 0.0);
        if (x.redacted)
            printf("call %lld: %zu entities redacted\n", (long long)call_id, x.redacted);
        pl_tx_imported_free(&x);
        rc = 0;
    }
    free(body);
    store_close(st);
    return rc;
}
