/*
 * sources.c - which source gives a scored call's summary and its sentiment trend (jobs.h): the
 * one place the worker (and `callqa score`, through qa_score_text) chooses between the LLM and
 * the methods that need none (docs/llm.md, docs/report.md).
 *
 *   summary    the LLM's, when one was asked and its summary passed every check
 *              (sc_summary_from_answer); else the deterministic assessment of the report
 *              (sc_assess_report), "source": "deterministic", with why the LLM's is not there;
 *              no report either: none. Never an invented summary.
 *   sentiment  the LLM's, when one was asked and at least one of its figures passed the checks
 *              (sc_sentiment_from_answer); else the lexicon's (the VADER path), when there is
 *              one; else none (null). The figures of one call come from one source, and each
 *              speaker's entry names it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "jobs.h"

int qa_summary_choose(const char *report_json, sc_call *call, char *why, size_t n)
{
    if (call->summary.source == SC_SUMMARY_LLM)
        return 0;
    return sc_summary_rules(report_json, &call->summary, why, n);
}

void qa_sentiment_choose(sc_call *call, sc_sentiment *lexicon)
{
    sc_sentiment_free(&call->sentiment);
    if (call->sentiment_llm.present) {
        call->sentiment = call->sentiment_llm;
        memset(&call->sentiment_llm, 0, sizeof(call->sentiment_llm));
        call->sentiment_checks.used = true;
        call->sentiment_checks.why[0] = 0;
        return;
    }
    if (lexicon && lexicon->present) {
        call->sentiment = *lexicon;
        memset(lexicon, 0, sizeof(*lexicon));
    }
}
