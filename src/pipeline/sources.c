/*
 * sources.c - which source gives a scored call's summary and its sentiment trend (pipeline.h): the
 * one place the worker (and `callqa score`, through pl_score_text) chooses between the LLM and
 * the methods that need none (docs/llm.md, docs/report.md).
 *
 *   summary    the LLM's, when one was asked and its summary passed every check
 *              (sc_summary_from_answer); else the deterministic assessment of the report
 *              (sc_assess_report), "source": "deterministic", with why the LLM's is not there;
 *              no report either: none. Never an invented summary.
 *   sentiment  the LLM's, when one was asked and at least one of its figures passed the checks
 *              (sc_sentiment_from_answer); else the lexicon's (sc_sentiment_vader, which
 *              sc_score ran), when it is installed; else none (null, with why). The figures of
 *              one call come from one source, and each speaker's entry names it. The card's
 *              sentiment figures (customer_sentiment_drop, _shift) are judged at sc_score, on
 *              the lexicon's trend.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "pipeline.h"

int pl_summary_choose(const struct json_t *report, sc_call *call, char *why, size_t n)
{
    if (call->summary.source == SC_SUMMARY_LLM)
        return 0;
    return sc_summary_rules_obj(report, &call->summary, why, n);
}

int pl_sentiment_choose(sc_call *call, const sc_text *t)
{
    if (!call->sentiment_llm.present)
        return 0; /* the lexicon's trend (sc_score), or none with why */
    sc_sentiment llm;
    if (sc_llm_sentiment_to(&call->sentiment_llm, t ? t->duration : 0, &llm) != 0)
        return -1;
    sc_sentiment_free(&call->sentiment);
    call->sentiment = llm;
    call->sentiment_checks.used = true;
    call->sentiment_checks.why[0] = 0;
    return 0;
}
