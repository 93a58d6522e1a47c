/*
 * sc_score.c - a call scored (scoring.h): the report's figures by name, the acoustic and rules
 * categories judged, the LLM's left with why they were not, the totals, and the result as JSON.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_int.h"

/* ---- the call ------------------------------------------------------------------------------- */

static void cat_result_free(sc_cat_result *r)
{
    for (size_t i = 0; i < r->n_quotes; i++)
        sc_quote_free(&r->quotes[i]);
    free(r->quotes);
    free(r->metrics);
}

void sc_call_free(sc_call *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        cat_result_free(&c->cats[i]);
    sc_summary_free(&c->summary);
    sc_llm_sentiment_free(&c->sentiment_llm);
    sc_sent_checks_free(&c->sentiment_checks);
    for (int i = 0; i < c->n_strengths; i++)
        free(c->strengths[i]);
    for (int i = 0; i < c->n_improvements; i++)
        free(c->improvements[i]);
    sc_topic_free(&c->topic);
    sc_sentiment_free(&c->sentiment);
    memset(c, 0, sizeof(*c));
}

int sc_score(const sc_card *c, const char *report_json, const sc_text *text,
             const sc_topics *topics, const sc_vader *vader, const char *llm_why, sc_call *out,
             char *err, size_t errsz)
{
    json_t *report = NULL;
    json_error_t je;
    if (report_json && !(report = json_loads(report_json, 0, &je))) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errsz, "the report is not JSON: %s (line %d)", je.text, je.line);
        return -1;
    }
    int rc = sc_score_obj(c, report, text, topics, vader, llm_why, out, err, errsz);
    json_decref(report);
    return rc;
}

int sc_score_obj(const sc_card *c, const json_t *report, const sc_text *text,
                 const sc_topics *topics, const sc_vader *vader, const char *llm_why, sc_call *out,
                 char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_t *vars = NULL;
    json_error_t je;
    if (c->vars && !(vars = json_loads(c->vars, 0, &je))) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    snprintf(out->card_hash, sizeof(out->card_hash), "%s", c->hash);
    /* the sentiment first: the card's figures include the customer's drop and shift */
    if (sc_sentiment_vader(vader, text, &out->sentiment) != 0) {
        json_decref(vars);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < c->n && rc == 0; i++) {
        const sc_category *k = &c->cats[i];
        sc_cat_result *r = &out->cats[i];
        out->n = i + 1;
        r->method = k->method;
        if (k->method == SC_LLM) {
            snprintf(r->engine, sizeof(r->engine), "llm");
            snprintf(r->reason, sizeof(r->reason), "not scored: %s",
                     llm_why && llm_why[0] ? llm_why : "no LLM configured");
            continue;
        }
        sc_spec *s = sc_spec_compile(k, vars, err, errsz);
        if (!s) {
            rc = -1;
            break;
        }
        if (sc_spec_judge(s, k, report, &out->sentiment, text, r) != 0) {
            snprintf(err, errsz, "out of memory");
            rc = -1;
        }
        sc_spec_free(s);
    }
    if (rc == 0 && topics && text && sc_topics_classify(topics, text, &out->topic) != 0) {
        snprintf(err, errsz, "out of memory");
        rc = -1;
    }
    json_decref(vars);
    return rc;
}

void sc_finish(const sc_card *c, sc_call *call)
{
    sc_result r[SC_MAX_CATEGORIES];
    for (int i = 0; i < c->n; i++) {
        r[i] = call->cats[i].r;
        /* a score with no evidence at all (no quote, no figure) is marked as such */
        if (r[i].scored && call->cats[i].n_quotes == 0 && call->cats[i].n_metrics == 0 &&
            call->cats[i].method == SC_LLM)
            call->cats[i].no_evidence = true;
    }
    sc_totals_of(c, r, &call->totals);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *num_or_null(bool known, double v)
{
    return known ? json_real(round(v * 1e6) / 1e6) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static const char *method_name(sc_method m)
{
    return m == SC_ACOUSTIC ? "acoustic" : m == SC_RULES ? "rules" : "llm";
}

char *sc_call_to_json(const sc_card *c, const sc_call *call)
{
    json_t *o = json_object(), *cats = json_object();
    if (!o || !cats)
        goto oom;
    const sc_totals *t = &call->totals;
    json_object_set_new(o, "total_score", num_or_null(t->has_total, t->total));
    json_object_set_new(o, "partial_score", num_or_null(t->has_partial, t->partial));
    json_object_set_new(o, "coverage", json_real(t->coverage));
    json_object_set_new(o, "flagged", json_boolean(t->flagged));
    json_object_set_new(o, "flag_reason", str_or_null(t->flag_reason));
    json_object_set_new(o, "scorecard",
                        json_pack("{s:s,s:s,s:f}", "name", c->name, "hash", call->card_hash,
                                  "flag_threshold", c->flag_threshold));
    json_object_set_new(o, "provider_hash", str_or_null(call->provider_hash));
    json_object_set_new(o, "llm_provider", str_or_null(call->llm_provider));
    json_object_set_new(o, "llm_model", str_or_null(call->llm_model));
    const sc_prompt_cut *cut = &call->llm_cut;
    if (sc_prompt_was_cut(cut)) { /* what the LLM's prompt left out of the call */
        char note[200];
        sc_prompt_cut_note(cut, note, sizeof(note));
        json_object_set_new(o, "transcript_cut",
                            json_pack("{s:I,s:I,s:f,s:I,s:b,s:s}", "turns", (json_int_t)cut->turns,
                                      "turns_left_out", (json_int_t)cut->turns_left_out,
                                      "seconds_left_out", round(cut->seconds_left_out * 100) / 100,
                                      "bytes_left_out", (json_int_t)cut->bytes_left_out,
                                      "figures_left_out", cut->figures_left_out, "note", note));
    } else {
        json_object_set_new(o, "transcript_cut", json_null());
    }
    json_t *not_scored = json_array();
    for (int i = 0; i < call->n && i < c->n; i++) {
        const sc_cat_result *r = &call->cats[i];
        json_t *ev = json_array(), *jc = json_object();
        for (size_t q = 0; q < r->n_quotes; q++)
            json_array_append_new(
                ev, json_pack("{s:s,s:f,s:f,s:s}", "speaker", r->quotes[q].speaker, "start",
                              round(r->quotes[q].start * 1000) / 1000, "end",
                              round(r->quotes[q].end * 1000) / 1000, "quote", r->quotes[q].quote));
        for (size_t m = 0; m < r->n_metrics; m++)
            json_array_append_new(ev,
                                  json_pack("{s:s,s:o}", "metric", r->metrics[m].name, "value",
                                            num_or_null(r->metrics[m].known, r->metrics[m].value)));
        json_object_set_new(jc, "name", json_string(c->cats[i].name));
        json_object_set_new(jc, "weight", json_real(c->cats[i].weight));
        json_object_set_new(jc, "score", num_or_null(r->r.scored, r->r.score));
        json_object_set_new(jc, "method", json_string(method_name(r->method)));
        json_object_set_new(jc, "engine", json_string(r->engine));
        json_object_set_new(jc, "reason", json_string(r->reason));
        json_object_set_new(jc, "evidence", ev);
        json_object_set_new(jc, "critical", json_boolean(c->cats[i].critical));
        if (r->r.critical_failed)
            json_object_set_new(jc, "critical_failed", json_true());
        if (r->quotes_dropped)
            json_object_set_new(jc, "quotes_dropped", json_integer(r->quotes_dropped));
        if (r->no_evidence)
            json_object_set_new(jc, "no_evidence", json_true());
        json_object_set_new(cats, c->cats[i].key, jc);
        if (!r->r.scored)
            json_array_append_new(
                not_scored, json_pack("{s:s,s:s}", "category", c->cats[i].key, "why", r->reason));
    }
    json_object_set_new(o, "categories", cats);
    json_object_set_new(o, "not_scored", not_scored);
    const sc_topic *tp = &call->topic;
    if (tp->known) {
        json_t *ph = json_array();
        for (int i = 0; i < tp->n_phrases; i++)
            json_array_append_new(ph, json_string(tp->phrases[i]));
        json_object_set_new(o, "topic",
                            json_pack("{s:s,s:s,s:f,s:s,s:o}", "class", tp->cls, "subclass",
                                      tp->subclass, "confidence",
                                      round(tp->confidence * 1000) / 1000, "engine", tp->engine,
                                      "phrases", ph));
    } else {
        json_object_set_new(o, "topic", json_null());
    }
    json_t *sent = sc_sentiment_json(&call->sentiment);
    if (!sent)
        goto oom_o;
    json_object_set_new(o, "sentiment", sent);
    char status[260];
    snprintf(status, sizeof(status), "%s %s", call->sentiment.name, call->sentiment.version);
    json_object_set_new(o, "sentiment_status",
                        json_string(call->sentiment.known ? status : call->sentiment.why));
    json_object_set_new(o, "summary", sc_summary_json(&call->summary));
    json_t *st = json_array(), *im = json_array();
    for (int i = 0; i < call->n_strengths; i++)
        json_array_append_new(st, json_string(call->strengths[i]));
    for (int i = 0; i < call->n_improvements; i++)
        json_array_append_new(im, json_string(call->improvements[i]));
    json_object_set_new(o, "strengths", st);
    json_object_set_new(o, "improvements", im);
    json_object_set_new(o, "sentiment_llm", sc_sent_checks_json(&call->sentiment_checks));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
oom:
    json_decref(cats);
oom_o:
    json_decref(o);
    return NULL;
}
