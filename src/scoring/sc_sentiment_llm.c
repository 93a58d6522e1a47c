/*
 * sc_sentiment_llm.c - the sentiment trend from the LLM (scoring.h): what is asked (per
 * speaker, per quarter of the call, a figure on -5..+5 with a quote of that speaker in that
 * quarter), each figure checked against the transcript, and the trend as the report's JSON
 * (docs/report/scored.md, "sentiment"), the shape the lexicon fills too.
 *
 * DESIGN: figures are checked one by one, not the answer as a whole: a figure out of range, or
 * whose quote is not that speaker's words in that quarter, is dropped with why, and that
 * quarter stays null (never 0); the others stand. The range is not in the answer's schema (the
 * client would send the whole answer back for repair, or fail it with the scorecard's scores);
 * it is checked here.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transcript/transcript.h"
#include "sc_int.h"

#define QUOTE_TOL_SEC 1.0 /* as the scorecard's evidence (sc_llm.c) */
#define MAX_ENTRIES 8     /* speakers, and figures per speaker, read from an answer */

const char sc_sentiment_ask[] =
    "Give the sentiment of each speaker in each quarter of the call in `sentiment`: the call's "
    "duration (the figures' `duration`, else the last line's end) split in four equal parts by "
    "time, a line counting in the quarter that holds its midpoint. For each speaker and each "
    "quarter in which they speak, `value` from -5 (very negative) through 0 (neutral) to +5 "
    "(very positive), and one `quote` of words copied verbatim from one line of that speaker in "
    "that quarter, with that line's start and end seconds. Leave out a quarter in which the "
    "speaker says nothing. A figure outside -5..+5, or whose quote is not that speaker's words "
    "in that quarter, is discarded.\n";

void sc_llm_sentiment_free(sc_llm_sentiment *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n && i < SC_SENT_SPEAKERS; i++)
        for (int q = 0; q < 4; q++)
            free(s->sp[i].quotes[q].quote);
    memset(s, 0, sizeof(*s));
}

void sc_sent_checks_free(sc_sent_checks *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_dropped; i++)
        free(c->dropped[i].quote);
    free(c->dropped);
    memset(c, 0, sizeof(*c));
}

/* the transcript's speakers, in the order they first speak (at most SC_SENT_SPEAKERS) */
static int speakers_of(const sc_text *t, char out[SC_SENT_SPEAKERS][10])
{
    int n = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = !strcmp(out[k], t->u[i].speaker);
        if (!seen && n < SC_SENT_SPEAKERS)
            snprintf(out[n++], 10, "%s", t->u[i].speaker);
    }
    return n;
}

/* ---- the request ------------------------------------------------------------------------- */

json_t *sc_sentiment_schema(const sc_text *t)
{
    char sp[SC_SENT_SPEAKERS][10];
    int n = speakers_of(t, sp);
    json_t *names = json_array();
    for (int i = 0; names && i < n; i++)
        json_array_append_new(names, json_string(sp[i]));
    if (names && n == 0) { /* no words: the three roles */
        json_array_append_new(names, json_string(SC_AGENT));
        json_array_append_new(names, json_string(SC_CUSTOMER));
        json_array_append_new(names, json_string(SC_MIXED));
    }
    json_t *fig = sc_schema_obj(), *spk = sc_schema_obj(), *root = sc_schema_obj();
    if (!names || !fig || !spk || !root ||
        sc_schema_prop(fig, "quarter",
                       json_pack("{s:s, s:i, s:i, s:s}", "type", "integer", "minimum", 1, "maximum",
                                 4, "description", "the quarter of the call, 1-4")) ||
        sc_schema_prop(fig, "value",
                       json_pack("{s:s, s:s}", "type", "number", "description",
                                 "from -5 (very negative) to +5 (very positive)")) ||
        sc_schema_prop(fig, "quote",
                       json_pack("{s:s, s:i, s:s}", "type", "string", "maxLength", 300,
                                 "description", "words copied verbatim from that line")) ||
        sc_schema_prop(fig, "start",
                       json_pack("{s:s, s:i, s:s}", "type", "number", "minimum", 0, "description",
                                 "seconds from the call's start")) ||
        sc_schema_prop(fig, "end", json_pack("{s:s, s:i}", "type", "number", "minimum", 0))) {
        json_decref(names);
        json_decref(fig);
        json_decref(spk);
        json_decref(root);
        return NULL;
    }
    if (sc_schema_prop(spk, "speaker", json_pack("{s:s, s:o}", "type", "string", "enum", names)) ||
        sc_schema_prop(
            spk, "quarters",
            json_pack("{s:s, s:i, s:o}", "type", "array", "maxItems", 4, "items", fig))) {
        json_decref(spk);
        json_decref(root);
        return NULL;
    }
    if (sc_schema_prop(root, "speakers",
                       json_pack("{s:s, s:i, s:o}", "type", "array", "maxItems", SC_SENT_SPEAKERS,
                                 "items", spk))) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- the answer -------------------------------------------------------------------------- */

static int drop(sc_sent_checks *c, const char *speaker, const json_t *quarter, const json_t *value,
                const char *quote, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int drop(sc_sent_checks *c, const char *speaker, const json_t *quarter, const json_t *value,
                const char *quote, const char *fmt, ...)
{
    sc_sent_drop *nd = realloc(c->dropped, (c->n_dropped + 1) * sizeof(*nd));
    if (!nd)
        return -1;
    c->dropped = nd;
    sc_sent_drop *d = &nd[c->n_dropped];
    memset(d, 0, sizeof(*d));
    snprintf(d->speaker, sizeof(d->speaker), "%s", speaker ? speaker : "");
    double qv = json_number_value(quarter);
    d->quarter = json_is_number(quarter) && isfinite(qv) && fabs(qv) < 1e6 ? (int)qv : 0;
    d->has_figure = json_is_number(value) && isfinite(json_number_value(value));
    d->figure = d->has_figure ? json_number_value(value) : 0;
    if (quote && !(d->quote = strdup(quote)))
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof(d->why), fmt, ap);
    va_end(ap);
    c->n_dropped++;
    return 0;
}

enum { M_OK, M_TIMES, M_QUARTER, M_SPEAKER, M_NONE };

/* where the quote was said: M_OK (by speaker, in quarter q, near the times; *at its line),
 * else the nearest miss (*at the line that shows it); -1 out of memory */
static int find(const sc_text *t, const char *speaker, int q, double start, double end,
                const char *quote, size_t *at)
{
    char *norm = tx_normalize(quote);
    if (!norm)
        return -1;
    int best = M_NONE;
    for (size_t i = 0; norm[0] && i < t->n && best != M_OK; i++) {
        const sc_utt *u = &t->u[i];
        if (!u->norm || !sc_phrase_at(u->norm, norm, NULL))
            continue;
        int m = M_SPEAKER;
        if (!strcmp(u->speaker, speaker)) {
            if (sc_quarter_of(u->start, u->end, t->duration) != q)
                m = M_QUARTER;
            else if (u->end < start - QUOTE_TOL_SEC || u->start > end + QUOTE_TOL_SEC)
                m = M_TIMES;
            else
                m = M_OK;
        }
        if (m < best)
            best = m, *at = i;
    }
    free(norm);
    return best;
}

static int speaker_index(sc_llm_sentiment *s, const char *speaker)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->sp[i].speaker, speaker))
            return i;
    return -1;
}

int sc_sentiment_from_answer(const sc_text *t, const json_t *sent, const char *model,
                             sc_llm_sentiment *out, sc_sent_checks *chk)
{
    memset(out, 0, sizeof(*out));
    sc_sent_checks_free(chk);
    chk->asked = true;
    snprintf(chk->model, sizeof(chk->model), "%s", model ? model : "");
    snprintf(out->model, sizeof(out->model), "%s", model ? model : "");
    char names[SC_SENT_SPEAKERS][10];
    out->n = speakers_of(t, names);
    for (int i = 0; i < out->n; i++)
        memcpy(out->sp[i].speaker, names[i], 10);
    const json_t *speakers = json_object_get(sent, "speakers");
    if (!t || !(t->duration > 0)) {
        snprintf(chk->why, sizeof(chk->why), "the call has no duration to split in quarters");
        return 0;
    }
    if (!json_is_array(speakers)) {
        snprintf(chk->why, sizeof(chk->why), "the answer has no sentiment");
        return 0;
    }
    size_t i, k;
    const json_t *e, *f;
    json_array_foreach(speakers, i, e)
    {
        if (i >= MAX_ENTRIES)
            break;
        const char *spk = json_string_value(json_object_get(e, "speaker"));
        json_array_foreach(json_object_get(e, "quarters"), k, f)
        {
            if (k >= MAX_ENTRIES)
                break;
            const json_t *jq = json_object_get(f, "quarter"), *jv = json_object_get(f, "value"),
                         *js = json_object_get(f, "start"), *je = json_object_get(f, "end");
            const char *quote = json_string_value(json_object_get(f, "quote"));
            double qd = json_number_value(jq), v = json_number_value(jv);
            int si = spk ? speaker_index(out, spk) : -1;
            int rc = 0;
            if (!json_is_number(jv) || !isfinite(v)) {
                rc = drop(chk, spk, jq, jv, quote, "no figure");
            } else if (!json_is_number(jq) || qd != floor(qd) || qd < 1 || qd > 4) {
                rc = drop(chk, spk, jq, jv, quote, "the quarter %g is not 1-4", qd);
            } else if (v < SC_SENT_MIN || v > SC_SENT_MAX) {
                rc = drop(chk, spk, jq, jv, quote, "the figure %g is outside -5..+5", v);
            } else if (si < 0) {
                rc = drop(chk, spk, jq, jv, quote, "no speaker '%.40s' in the transcript",
                          spk ? spk : "");
            } else if (!quote || !json_is_number(js) || !json_is_number(je)) {
                rc = drop(chk, spk, jq, jv, quote, "no quote with its times");
            } else {
                int q = (int)qd;
                size_t at = 0;
                int m = find(t, spk, q, json_number_value(js), json_number_value(je), quote, &at);
                const sc_utt *u = m >= 0 && m != M_NONE ? &t->u[at] : NULL;
                sc_llm_sent_speaker *S = &out->sp[si];
                if (m < 0)
                    rc = -1;
                else if (m == M_NONE)
                    rc = drop(chk, spk, jq, jv, quote, "the quote is not in the transcript");
                else if (m == M_SPEAKER)
                    rc = drop(chk, spk, jq, jv, quote, "the quote is the %s's words, not the %s's",
                              u->speaker, spk);
                else if (m == M_QUARTER)
                    rc = drop(chk, spk, jq, jv, quote,
                              "the quote is the %s's words in quarter %d, not quarter %d", spk,
                              sc_quarter_of(u->start, u->end, t->duration), q);
                else if (m == M_TIMES)
                    rc = drop(chk, spk, jq, jv, quote,
                              "the quote is the %s's words at %.2f-%.2f s, not at the times given",
                              spk, u->start, u->end);
                else if (S->known[q - 1])
                    rc = drop(chk, spk, jq, jv, quote, "a second figure for the %s's quarter %d",
                              spk, q);
                else {
                    S->known[q - 1] = true;
                    S->q[q - 1] = v;
                    S->quotes[q - 1].quarter = q;
                    S->quotes[q - 1].start = u->start;
                    S->quotes[q - 1].end = u->end;
                    if (!(S->quotes[q - 1].quote = strdup(quote)))
                        rc = -1;
                    out->n_figures++;
                }
            }
            if (rc != 0) {
                sc_llm_sentiment_free(out);
                return -1;
            }
        }
    }
    out->present = out->n_figures > 0;
    if (!out->present)
        snprintf(chk->why, sizeof(chk->why), "no figure of the LLM's passed the checks");
    return 0;
}

/* ---- as the call's trend ------------------------------------------------------------------ */

int sc_llm_sentiment_to(const sc_llm_sentiment *l, double duration, sc_sentiment *out)
{
    memset(out, 0, sizeof(*out));
    out->customer_drop = -1;
    out->known = true;
    out->duration = duration;
    snprintf(out->name, sizeof(out->name), "llm");
    snprintf(out->version, sizeof(out->version), "%s", l->model);
    for (int i = 0; i < l->n && i < SC_SENT_SPEAKERS; i++) {
        const sc_llm_sent_speaker *L = &l->sp[i];
        sc_sent_speaker *p = &out->sp[i];
        snprintf(p->speaker, sizeof(p->speaker), "%s", L->speaker);
        snprintf(p->source, sizeof(p->source), "llm");
        size_t nq = 0;
        for (int q = 0; q < 4; q++) {
            p->has_q[q] = L->known[q];
            p->q[q] = L->q[q];
            nq += L->quotes[q].quote != NULL;
        }
        out->n = i + 1;
        if (nq && !(p->quotes = calloc(nq, sizeof(*p->quotes)))) {
            sc_sentiment_free(out);
            return -1;
        }
        for (int q = 0; q < 4; q++) {
            if (!L->quotes[q].quote)
                continue;
            sc_quote *d = &p->quotes[p->n_quotes];
            snprintf(d->speaker, sizeof(d->speaker), "%s", L->speaker);
            d->start = L->quotes[q].start;
            d->end = L->quotes[q].end;
            if (!(d->quote = strdup(L->quotes[q].quote))) {
                sc_sentiment_free(out);
                return -1;
            }
            p->n_quotes++;
        }
    }
    sc_sentiment_finish(out);
    return 0;
}

json_t *sc_sent_checks_json(const sc_sent_checks *c)
{
    if (!c->asked)
        return json_null();
    json_t *d = json_array();
    for (size_t i = 0; d && i < c->n_dropped; i++) {
        const sc_sent_drop *x = &c->dropped[i];
        json_array_append_new(
            d, json_pack("{s:o,s:o,s:o,s:o,s:s}", "speaker",
                         x->speaker[0] ? json_string(x->speaker) : json_null(), "quarter",
                         x->quarter ? json_integer(x->quarter) : json_null(), "value",
                         x->has_figure ? json_real(x->figure) : json_null(), "quote",
                         x->quote ? json_string(x->quote) : json_null(), "why", x->why));
    }
    json_t *o =
        json_pack("{s:o,s:b,s:o,s:o}", "model", c->model[0] ? json_string(c->model) : json_null(),
                  "used", c->used, "why", c->why[0] ? json_string(c->why) : json_null(), "dropped",
                  d ? d : json_array());
    if (o && c->note[0]) /* its figures were read from a transcript cut to fit */
        json_object_set_new(o, "note", json_string(c->note));
    return o;
}
