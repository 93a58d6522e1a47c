/*
 * score_cmd.c - `callqa score`: one call scored on a scorecard (docs/scoring.md) from its
 * transcript (callqa's format or an OpenAI verbose_json answer) and, when given, its analysis
 * report. Rules and acoustics always; the card's `llm` categories are reported as not scored
 * when no LLM is configured.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/pipeline.h"
#include "../scoring/scoring.h"
#include "../transcript/transcript.h"
#include "cli_args.h"
#include "score_cmd.h"
#include "term.h"

static char *load(const char *what, const char *path, size_t *len)
{
    char err[600];
    char *b = cfg_read_file(path, (size_t)64 << 20, len, err, sizeof(err));
    if (!b)
        fprintf(stderr, "callqa score: %s: %s\n", what, err);
    return b;
}

/* a figure of the sentiment trend, signed, or "-" when null */
static void signed_or_dash(const json_t *v)
{
    if (json_is_number(v))
        printf(" %+6.2f", json_number_value(v));
    else
        printf("      -");
}

/* the sentiment trend (docs/sentiment.md): each speaker's quarters and shift, the drop */
static void print_sentiment(const json_t *o)
{
    const json_t *s = json_object_get(o, "sentiment");
    const char *st = json_string_value(json_object_get(o, "sentiment_status"));
    if (!json_is_object(s)) {
        cq_cli_tprintf(stdout, "sentiment        not measured: %s\n",
                       st ? st : "no sentiment in the result");
        return;
    }
    cq_cli_tprintf(stdout, "sentiment        %s, -5..+5 per quarter of the call\n", st ? st : "");
    cq_cli_tprintf(stdout, "  %-16s     Q1     Q2     Q3     Q4  shift\n", "speaker");
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(s, "speakers"), i, p)
    {
        cq_cli_tprintf(stdout, "  %-16s", json_string_value(json_object_get(p, "speaker")));
        for (size_t q = 0; q < 4; q++)
            signed_or_dash(json_array_get(json_object_get(p, "quarters"), q));
        signed_or_dash(json_object_get(p, "shift"));
        cq_cli_tprintf(stdout, "\n");
    }
    const json_t *d = json_object_get(s, "customer_drop");
    cq_cli_tprintf(stdout, "  customer drop  %s\n",
                   json_is_true(d)    ? "yes: from >= 0 to <= -2"
                   : json_is_false(d) ? "no"
                                      : "not known (no customer, or fewer than "
                                        "two of its quarters)");
}

/* The text form, from the result's JSON. 0, or -1 (out of memory). */
static int print_text(const char *result)
{
    json_t *o = json_loads(result, 0, NULL);
    if (!o)
        return -1;
    const json_t *tot = json_object_get(o, "total_score"),
                 *part = json_object_get(o, "partial_score");
    if (json_is_number(tot))
        cq_cli_tprintf(stdout, "total score      %.1f\n", json_number_value(tot));
    else
        cq_cli_tprintf(stdout, "total score      not given (%.0f %% of the card scored)\n",
                       100 * json_number_value(json_object_get(o, "coverage")));
    if (json_is_number(part))
        cq_cli_tprintf(stdout, "partial score    %.1f\n", json_number_value(part));
    const char *why = json_string_value(json_object_get(o, "flag_reason"));
    cq_cli_tprintf(stdout, "flagged          %s%s\n",
                   json_is_true(json_object_get(o, "flagged")) ? "yes: " : "no", why ? why : "");
    const char *cut =
        json_string_value(json_object_get(json_object_get(o, "transcript_cut"), "note"));
    if (cut) /* what the LLM's prompt left out to fit the model's context */
        cq_cli_tprintf(stdout, "llm prompt       %s\n", cut);
    const char *k;
    const json_t *c;
    json_object_foreach(json_object_get(o, "categories"), k, c)
    {
        const json_t *sc = json_object_get(c, "score");
        if (json_is_number(sc))
            cq_cli_tprintf(stdout, "  %-16s %g   %s: %s\n", k, json_number_value(sc),
                           json_string_value(json_object_get(c, "engine")),
                           json_string_value(json_object_get(c, "reason")));
        else
            cq_cli_tprintf(stdout, "  %-16s -   %s\n", k,
                           json_string_value(json_object_get(c, "reason")));
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(c, "evidence"), i, e)
        {
            if (json_object_get(e, "quote"))
                cq_cli_tprintf(stdout, "      %s %.2f-%.2f \"%s\"\n",
                               json_string_value(json_object_get(e, "speaker")),
                               json_number_value(json_object_get(e, "start")),
                               json_number_value(json_object_get(e, "end")),
                               json_string_value(json_object_get(e, "quote")));
            else if (json_is_number(json_object_get(e, "value")))
                cq_cli_tprintf(stdout, "      %s = %g\n",
                               json_string_value(json_object_get(e, "metric")),
                               json_number_value(json_object_get(e, "value")));
            else
                cq_cli_tprintf(stdout, "      %s = null (not measured)\n",
                               json_string_value(json_object_get(e, "metric")));
        }
    }
    const json_t *t = json_object_get(o, "topic");
    if (json_is_object(t))
        cq_cli_tprintf(stdout, "topic            %s / %s (%.2f, %s)\n",
                       json_string_value(json_object_get(t, "class")),
                       json_string_value(json_object_get(t, "subclass")),
                       json_number_value(json_object_get(t, "confidence")),
                       json_string_value(json_object_get(t, "engine")));
    print_sentiment(o);
    json_decref(o);
    return 0;
}

int cq_cli_score(int argc, char **argv)
{
    static cfg_settings cfg; /* --config FILE, CALLQA_*, then --scorecard and --topics */
    cfg_defaults(&cfg);
    cfg_args a;
    int rc = cq_cli_args("score", "callqa score", argc, argv, &cfg, &a);
    if (rc >= 0)
        return rc;
    const char *tpath = cfg_arg(&a, "transcript"), *rpath = cfg_arg(&a, "report"),
               *speaker = cfg_arg(&a, "speaker");
    bool json = cfg_arg_given(&a, "json");
    if (!tpath || a.next != argc) {
        cq_cli_usage(stderr, "score");
        return 2;
    }
    rc = 1;
    char err[600];
    size_t tlen = 0, rlen = 0;
    char *tbody = NULL, *report = NULL, *result = NULL, *attempts = NULL;
    pl_scoring sc = {0};
    tx_transcript tx = {0};
    bool tx_made = false;
    sc_text text = {0};
    json_t *rj = NULL; /* the report, parsed */
    cfg.scoring = true;
    if (!(tbody = load("transcript", tpath, &tlen)) ||
        (rpath && !(report = load("report", rpath, &rlen))))
        goto done;
    if (pl_scoring_setup(&cfg, &sc, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa score: %s\n", err);
        goto done;
    }
    double duration = 0;
    if (report) {
        json_error_t je;
        rj = json_loads(report, 0, &je);
        if (!json_is_object(rj)) {
            fprintf(stderr, "callqa score: report %s: not a JSON object (%s)\n", rpath, je.text);
            goto done;
        }
        if (json_is_number(json_object_get(rj, "duration")))
            duration = json_number_value(json_object_get(rj, "duration"));
    }
    if (tx_import_obj(tbody, tlen, speaker, rj, &tx, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa score: transcript %s: %s\n", tpath, err);
        goto done;
    }
    tx_made = true;
    if (sc_text_from_transcript(&tx, duration, &text) != 0) {
        fprintf(stderr, "callqa score: out of memory\n");
        goto done;
    }
    sc_text_answer(&text, rj);
    /* no store here: no daily caps, and the attempts are not kept */
    if (!(result = pl_score_text(&sc, rj, &text, NULL, &attempts, err, sizeof(err)))) {
        fprintf(stderr, "callqa score: %s\n", err);
        goto done;
    }
    if (json) {
        puts(result);
    } else if (print_text(result) != 0) {
        fprintf(stderr, "callqa score: out of memory\n");
        goto done;
    }
    rc = 0;
done:
    json_decref(rj);
    sc_text_free(&text);
    if (tx_made)
        tx_transcript_free(&tx);
    pl_scoring_free(&sc);
    free(tbody);
    free(report);
    free(result);
    free(attempts);
    return rc;
}
