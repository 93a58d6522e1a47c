/*
 * score_cmd.c - `callqa score`: one call scored on a scorecard (docs/scoring.md) from its
 * transcript (callqa's format or an OpenAI verbose_json answer) and, when given, its analysis
 * report. Rules and acoustics always; the card's `llm` categories are reported as not scored
 * when no LLM is configured.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/scoring.h"
#include "../transcript/transcript.h"
#include "serve_cmd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: callqa score --transcript FILE [--report FILE] [--scorecard FILE]\n"
            "                    [--topics FILE] [--speaker S] [--json]\n"
            "\n"
            "Score one call on a scorecard (docs/scoring.md): rules over the transcript,\n"
            "acoustic thresholds over the analysis report, an LLM's rubric when one is\n"
            "configured. Every score comes with its evidence; what was not scored says why.\n"
            "\n"
            "options:\n"
            "  --transcript FILE   callqa's transcript format, or an OpenAI verbose_json answer\n"
            "                      (then --speaker says whose leg it is); - for standard input\n"
            "  --report FILE       the call's report (callqa analyze --json); without it the\n"
            "                      acoustic categories are not scored\n"
            "  --scorecard FILE    the card (default: the shipped 8-category card)\n"
            "  --topics FILE       a topics file (docs/topics.md): the call's topic by rules\n"
            "  --speaker S         agent, customer or mixed (a verbose_json transcript)\n"
            "  --json              the result as JSON\n"
            "\n"
            "Exit status: 0 scored (flagged or not), 1 bad input, 2 usage error.\n");
}

static char *load(const char *what, const char *path, size_t *len)
{
    char err[600];
    char *b = cq_cli_read_file(path, len, err, sizeof(err));
    if (!b)
        fprintf(stderr, "callqa score: %s: %s\n", what, err);
    return b;
}

static void print_text(const sc_card *c, const sc_call *call)
{
    const sc_totals *t = &call->totals;
    if (t->has_total)
        printf("total score      %.1f\n", t->total);
    else
        printf("total score      not given (%.0f %% of the card scored)\n", 100 * t->coverage);
    if (t->has_partial)
        printf("partial score    %.1f\n", t->partial);
    printf("flagged          %s%s%s\n", t->flagged ? "yes: " : "no", t->flag_reason,
           "");
    for (int i = 0; i < c->n; i++) {
        const sc_cat_result *r = &call->cats[i];
        if (r->r.scored)
            printf("  %-16s %g   %s: %s\n", c->cats[i].key, r->r.score, r->engine, r->reason);
        else
            printf("  %-16s -   %s\n", c->cats[i].key, r->reason);
        for (size_t q = 0; q < r->n_quotes; q++)
            printf("      %s %.2f-%.2f \"%s\"\n", r->quotes[q].speaker, r->quotes[q].start,
                   r->quotes[q].end, r->quotes[q].quote);
        for (size_t m = 0; m < r->n_metrics; m++) {
            if (r->metrics[m].known)
                printf("      %s = %g\n", r->metrics[m].name, r->metrics[m].value);
            else
                printf("      %s = null (not measured)\n", r->metrics[m].name);
        }
    }
    if (call->topic.known)
        printf("topic            %s / %s (%.2f, %s)\n", call->topic.cls, call->topic.subclass,
               call->topic.confidence, call->topic.engine);
}

int cq_cli_score(int argc, char **argv)
{
    static const struct option opts[] = {
        {"transcript", required_argument, NULL, 't'}, {"report", required_argument, NULL, 'r'},
        {"scorecard", required_argument, NULL, 'c'},  {"topics", required_argument, NULL, 'T'},
        {"speaker", required_argument, NULL, 's'},    {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    const char *tpath = NULL, *rpath = NULL, *cpath = NULL, *topath = NULL, *speaker = NULL;
    bool json = false;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 't': tpath = optarg; break;
        case 'r': rpath = optarg; break;
        case 'c': cpath = optarg; break;
        case 'T': topath = optarg; break;
        case 's': speaker = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!tpath || optind != argc) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    char err[600];
    size_t tlen = 0, rlen = 0, clen = 0, olen = 0;
    char *tbody = NULL, *report = NULL, *cbody = NULL, *tobody = NULL;
    sc_card card = {0};
    sc_topics *topics = NULL;
    tx_transcript tx = {0};
    bool tx_made = false;
    sc_text text = {0};
    sc_call call = {0};
    if (!(tbody = load("transcript", tpath, &tlen)) ||
        (rpath && !(report = load("report", rpath, &rlen))) ||
        (cpath && !(cbody = load("scorecard", cpath, &clen))) ||
        (topath && !(tobody = load("topics", topath, &olen))))
        goto done;
    const char *ctext = cbody;
    if (!ctext)
        ctext = sc_default_card(&clen);
    if (sc_card_load(ctext, clen, &card, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa score: scorecard %s: %s\n", cpath ? cpath : "(default)", err);
        goto done;
    }
    if (tobody && !(topics = sc_topics_load(tobody, olen, err, sizeof(err)))) {
        fprintf(stderr, "callqa score: topics %s: %s\n", topath, err);
        goto done;
    }
    double duration = 0;
    if (report) {
        json_error_t je;
        json_t *r = json_loads(report, 0, &je);
        if (!json_is_object(r)) {
            fprintf(stderr, "callqa score: report %s: not a JSON object (%s)\n", rpath, je.text);
            json_decref(r);
            goto done;
        }
        if (json_is_number(json_object_get(r, "duration")))
            duration = json_number_value(json_object_get(r, "duration"));
        json_decref(r);
    }
    if (tx_import(tbody, tlen, speaker, report, &tx, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa score: transcript %s: %s\n", tpath, err);
        goto done;
    }
    tx_made = true;
    if (sc_text_from_transcript(&tx, duration, &text) != 0 ||
        sc_score(&card, report, &text, topics, NULL, &call, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa score: %s\n", text.u || !text.n ? err : "out of memory");
        goto done;
    }
    sc_finish(&card, &call);
    if (json) {
        char *s = sc_call_to_json(&card, &call);
        if (!s) {
            fprintf(stderr, "callqa score: out of memory\n");
            goto done;
        }
        puts(s);
        free(s);
    } else {
        print_text(&card, &call);
    }
    rc = 0;
done:
    sc_call_free(&call);
    sc_text_free(&text);
    if (tx_made)
        tx_transcript_free(&tx);
    sc_topics_free(topics);
    sc_card_free(&card);
    free(tbody);
    free(report);
    free(cbody);
    free(tobody);
    return rc;
}
