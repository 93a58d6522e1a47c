/*
 * sc_summary.c - the call's summary (scoring.h): what the LLM is asked for (2-4 sentences, the
 * reason for the call, the outcome, quotes backing the reason and the outcome), the answer
 * checked against the transcript, and the deterministic assessment in its place when there is
 * no LLM summary (docs/llm.md, "The summary").
 *
 * DESIGN: a summary is refused whole, never repaired or trimmed: one quote that is not in the
 * transcript, a sentence count outside 2-4, an outcome outside the four, a reason or an outcome
 * that no quote backs. The model's text cannot be checked word by word (it is its own words);
 * what it claims about the call (why they called, how it ended) is what the quotes must show.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sc_int.h"

#define QUOTE_TOL_SEC 1.0 /* as the scorecard's evidence (sc_llm.c) */

static const char *const k_outcomes[] = {"resolved", "follow_up", "transferred", "unresolved"};

const char sc_summary_ask[] =
    "Summarise the call in `summary`: `text` is 2 to 4 sentences for a supervisor; `reason` "
    "is why the customer called, in a few words; `outcome` is exactly one of resolved, "
    "follow_up, transferred, unresolved; `quotes` are words copied verbatim from one line of "
    "the transcript each, with that line's speaker and its start and end seconds, and `backs` "
    "saying whether the quote shows the reason or the outcome: give at least one of each. A "
    "summary with a quote that is not in the transcript, with fewer than 2 or more than 4 "
    "sentences, or with another outcome is discarded.\n";

bool sc_summary_outcome_ok(const char *o)
{
    for (size_t i = 0; o && i < sizeof(k_outcomes) / sizeof(k_outcomes[0]); i++)
        if (!strcmp(o, k_outcomes[i]))
            return true;
    return false;
}

void sc_summary_free(sc_summary *s)
{
    if (!s)
        return;
    free(s->text);
    free(s->reason);
    for (size_t i = 0; i < s->n_quotes; i++)
        sc_quote_free(&s->quotes[i]);
    free(s->quotes);
    free(s->backs_outcome);
    memset(s, 0, sizeof(*s));
}

/* ---- sentences --------------------------------------------------------------------------- */

/* does the word ending just before p (exclusive) read as an abbreviation that takes a '.'? */
static bool abbreviation(const char *text, const char *dot)
{
    static const char *const k[] = {"mr", "mrs", "ms",  "dr",  "st",  "jr",  "sr",
                                    "vs", "e.g", "i.e", "a.m", "p.m", "etc."};
    const char *b = dot;
    while (b > text && !isspace((unsigned char)b[-1]) && b[-1] != '(' && b[-1] != '"')
        b--;
    size_t n = (size_t)(dot - b);
    if (n == 0 || n > 4)
        return false;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (strlen(k[i]) == n && !strncasecmp(b, k[i], n))
            return strcmp(k[i], "etc.") != 0;
    /* "No. 5": a number sign */
    if (n == 2 && !strncasecmp(b, "no", 2)) {
        const char *a = dot + 1;
        while (*a == ' ')
            a++;
        return isdigit((unsigned char)*a);
    }
    return false;
}

int sc_sentences(const char *text)
{
    if (!text)
        return 0;
    int n = 0;
    bool words = false; /* words since the last end */
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.' || c == '!' || c == '?') {
            if (c == '.' && p > text && isdigit((unsigned char)p[-1]) &&
                isdigit((unsigned char)p[1]))
                continue; /* 3.5 */
            if (c == '.' && abbreviation(text, p))
                continue;
            const char *e = p;
            while (e[1] == '.' || e[1] == '!' || e[1] == '?')
                e++;
            while (e[1] == '"' || e[1] == '\'' || e[1] == ')' || e[1] == ']')
                e++;
            /* a closing curly quote (U+2019, U+201D) */
            while ((unsigned char)e[1] == 0xE2 && (unsigned char)e[2] == 0x80 &&
                   ((unsigned char)e[3] == 0x99 || (unsigned char)e[3] == 0x9D))
                e += 3;
            if (e[1] == 0 || isspace((unsigned char)e[1])) {
                if (words)
                    n++;
                words = false;
                p = e;
            }
            continue;
        }
        if (isalnum(c) || c >= 0x80)
            words = true;
    }
    return n + (words ? 1 : 0);
}

/* ---- the request ------------------------------------------------------------------------- */

json_t *sc_summary_schema(void)
{
    json_t *q = sc_schema_obj(), *o = sc_schema_obj();
    if (!q || !o ||
        sc_schema_prop(q, "speaker",
                       json_pack("{s:s, s:[sss]}", "type", "string", "enum", SC_AGENT, SC_CUSTOMER,
                                 SC_MIXED)) ||
        sc_schema_prop(q, "start",
                       json_pack("{s:s, s:i, s:s}", "type", "number", "minimum", 0, "description",
                                 "seconds from the call's start")) ||
        sc_schema_prop(q, "end", json_pack("{s:s, s:i}", "type", "number", "minimum", 0)) ||
        sc_schema_prop(q, "quote",
                       json_pack("{s:s, s:i, s:s}", "type", "string", "maxLength", 300,
                                 "description", "words copied verbatim from that line")) ||
        sc_schema_prop(q, "backs",
                       json_pack("{s:s, s:[ss]}", "type", "string", "enum", "reason", "outcome"))) {
        json_decref(q);
        json_decref(o);
        return NULL;
    }
    json_t *quotes = json_pack("{s:s, s:i, s:o}", "type", "array", "maxItems",
                               SC_SUMMARY_MAX_QUOTES, "items", q);
    /* the outcome is a string, not an enum: another value refuses the summary here, not the
     * whole answer in the client's schema check */
    if (!quotes ||
        sc_schema_prop(o, "text",
                       json_pack("{s:s, s:i, s:s}", "type", "string", "maxLength", 1000,
                                 "description", "2 to 4 sentences")) ||
        sc_schema_prop(o, "reason",
                       json_pack("{s:s, s:i, s:s}", "type", "string", "maxLength", 300,
                                 "description", "why the customer called")) ||
        sc_schema_prop(o, "outcome",
                       json_pack("{s:s, s:i, s:s}", "type", "string", "maxLength", 20,
                                 "description",
                                 "one of resolved, follow_up, transferred, unresolved")) ||
        sc_schema_prop(o, "quotes", quotes)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the answer -------------------------------------------------------------------------- */

static int refuse(sc_summary *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(sc_summary *out, const char *fmt, ...)
{
    char why[sizeof(out->refused)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    sc_summary_free(out);
    snprintf(out->refused, sizeof(out->refused), "%s", why);
    return 0;
}

int sc_summary_from_answer(const sc_text *t, const json_t *sm, const char *model, sc_summary *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(sm))
        return refuse(out, "the answer has no summary");
    const char *text = json_string_value(json_object_get(sm, "text")),
               *reason = json_string_value(json_object_get(sm, "reason")),
               *outcome = json_string_value(json_object_get(sm, "outcome"));
    const json_t *quotes = json_object_get(sm, "quotes");
    int ns = sc_sentences(text);
    char shown[64];
    if (!text || !ns)
        return refuse(out, "the summary has no text");
    if (ns < SC_SUMMARY_MIN_SENTENCES || ns > SC_SUMMARY_MAX_SENTENCES)
        return refuse(out, "the summary has %d sentence%s (%d to %d asked)", ns, ns == 1 ? "" : "s",
                      SC_SUMMARY_MIN_SENTENCES, SC_SUMMARY_MAX_SENTENCES);
    if (!reason || !reason[strspn(reason, " \t\n")])
        return refuse(out, "the summary gives no reason for the call");
    if (!sc_summary_outcome_ok(outcome)) {
        sc_copy_utf8(shown, sizeof(shown), outcome ? outcome : "");
        return refuse(out,
                      "the outcome '%s' is not one of resolved, follow_up, transferred, "
                      "unresolved",
                      shown);
    }
    size_t nq = json_is_array(quotes) ? json_array_size(quotes) : 0;
    if (nq > SC_SUMMARY_MAX_QUOTES)
        nq = SC_SUMMARY_MAX_QUOTES;
    if (nq && (!(out->quotes = calloc(nq, sizeof(sc_quote))) ||
               !(out->backs_outcome = calloc(nq, sizeof(bool))))) {
        sc_summary_free(out);
        return -1;
    }
    bool backs[2] = {false, false};
    for (size_t i = 0; i < nq; i++) {
        const json_t *e = json_array_get(quotes, i);
        const char *sp = json_string_value(json_object_get(e, "speaker")),
                   *qt = json_string_value(json_object_get(e, "quote")),
                   *bk = json_string_value(json_object_get(e, "backs"));
        const json_t *st = json_object_get(e, "start"), *en = json_object_get(e, "end");
        bool is_outcome = bk && !strcmp(bk, "outcome");
        if (!sp || !qt || !json_is_number(st) || !json_is_number(en) || !bk ||
            (!is_outcome && strcmp(bk, "reason")))
            return refuse(out, "quote %zu of the summary is incomplete", i + 1);
        int m = t ? sc_quote_check(t, sp, json_number_value(st), json_number_value(en), qt,
                                   QUOTE_TOL_SEC, &out->quotes[out->n_quotes])
                  : 1;
        if (m < 0) {
            sc_summary_free(out);
            return -1;
        }
        if (m != 0) {
            sc_copy_utf8(shown, sizeof(shown), qt);
            return refuse(out,
                          "the summary's quote \"%s\" (%s, %.2f-%.2f s) is not in the "
                          "transcript",
                          shown, sp, json_number_value(st), json_number_value(en));
        }
        out->backs_outcome[out->n_quotes++] = is_outcome;
        backs[is_outcome] = true;
    }
    if (!backs[0])
        return refuse(out, "no quote of the transcript backs the summary's reason for the call");
    if (!backs[1])
        return refuse(out, "no quote of the transcript backs the summary's outcome");
    if (!(out->text = strdup(text)) || !(out->reason = strdup(reason))) {
        sc_summary_free(out);
        return -1;
    }
    snprintf(out->outcome, sizeof(out->outcome), "%s", outcome);
    snprintf(out->model, sizeof(out->model), "%s", model ? model : "");
    out->source = SC_SUMMARY_LLM;
    return 0;
}

int sc_summary_rules_obj(const json_t *report, sc_summary *s, char *err, size_t errsz)
{
    if (s->source != SC_SUMMARY_NONE || !report)
        return 0;
    char *text = NULL;
    if (sc_assess_report_obj(report, &text, NULL, err, errsz) != 0)
        return -1;
    char refused[sizeof(s->refused)];
    memcpy(refused, s->refused, sizeof(refused));
    sc_summary_free(s);
    memcpy(s->refused, refused, sizeof(refused));
    s->text = text;
    s->source = SC_SUMMARY_RULES;
    return 0;
}

int sc_summary_rules(const char *report_json, sc_summary *s, char *err, size_t errsz)
{
    json_t *r = NULL;
    if (s->source == SC_SUMMARY_NONE && report_json &&
        !(r = sc_report_parse(report_json, err, errsz)))
        return -1;
    int rc = sc_summary_rules_obj(r, s, err, errsz);
    json_decref(r);
    return rc;
}

/* ---- as JSON ----------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *sc_summary_json(const sc_summary *s)
{
    if (s->source == SC_SUMMARY_NONE && !s->refused[0])
        return json_null();
    json_t *q = json_array();
    for (size_t i = 0; q && i < s->n_quotes; i++)
        json_array_append_new(q, json_pack("{s:s,s:f,s:f,s:s,s:s}", "speaker", s->quotes[i].speaker,
                                           "start", round(s->quotes[i].start * 1000) / 1000, "end",
                                           round(s->quotes[i].end * 1000) / 1000, "quote",
                                           s->quotes[i].quote, "backs",
                                           s->backs_outcome[i] ? "outcome" : "reason"));
    const char *src = s->source == SC_SUMMARY_LLM     ? "llm"
                      : s->source == SC_SUMMARY_RULES ? "deterministic"
                                                      : NULL;
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "source", str_or_null(src), "model",
                          s->source == SC_SUMMARY_LLM ? str_or_null(s->model) : json_null(), "text",
                          str_or_null(s->text), "reason", str_or_null(s->reason), "outcome",
                          str_or_null(s->outcome), "quotes", q ? q : json_array(), "refused",
                          str_or_null(s->refused));
    if (o && s->source == SC_SUMMARY_LLM && s->note[0]) /* made from a transcript cut to fit */
        json_object_set_new(o, "note", json_string(s->note));
    return o;
}
