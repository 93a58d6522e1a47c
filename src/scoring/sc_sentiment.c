/*
 * sc_sentiment.c - the sentiment trend of a call (scoring.h, docs/sentiment.md): per speaker,
 * per quarter of the call, 5 x the duration-weighted mean of VADER's compound over the
 * speaker's utterances whose midpoint is in that quarter; the first and last known quarters,
 * the shift between them, and the customer's drop (from >= 0 to <= -2).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoring.h"

int sc_quarter_of(double start, double end, double duration)
{
    if (!(duration > 0) || !isfinite(start) || !isfinite(end))
        return 0;
    double mid = (start + end) / 2;
    int q = (int)floor(4 * mid / duration) + 1;
    return q < 1 ? 1 : q > 4 ? 4 : q;
}

void sc_sentiment_free(sc_sentiment *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n && i < SC_SENT_SPEAKERS; i++) {
        for (size_t q = 0; q < s->sp[i].n_quotes; q++)
            sc_quote_free(&s->sp[i].quotes[q]);
        free(s->sp[i].quotes);
    }
    memset(s, 0, sizeof(*s));
}

void sc_sentiment_finish(sc_sentiment *s)
{
    s->customer_drop = -1;
    for (int i = 0; i < s->n; i++) {
        sc_sent_speaker *p = &s->sp[i];
        int first = -1, last = -1;
        for (int q = 0; q < 4; q++)
            if (p->has_q[q]) {
                if (first < 0)
                    first = q;
                last = q;
            }
        p->has_first = first >= 0;
        p->first = p->has_first ? p->q[first] : 0;
        p->last = p->has_first ? p->q[last] : 0;
        p->shift = p->has_first ? p->last - p->first : 0;
        /* a drop needs a start and an end: two known quarters of the customer */
        if (!strcmp(p->speaker, SC_CUSTOMER) && first >= 0 && last > first)
            s->customer_drop = p->first >= 0 && p->last <= -2;
    }
}

/* the speakers in a fixed order: the customer, the agent, then the others as they come */
static int speaker_index(sc_sentiment *s, const char *who)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->sp[i].speaker, who))
            return i;
    if (s->n == SC_SENT_SPEAKERS)
        return -1;
    snprintf(s->sp[s->n].speaker, sizeof(s->sp[s->n].speaker), "%s", who);
    snprintf(s->sp[s->n].source, sizeof(s->sp[s->n].source), "%s", s->name);
    return s->n++;
}

int sc_sentiment_vader(const sc_vader *v, const sc_text *t, sc_sentiment *out)
{
    memset(out, 0, sizeof(*out));
    out->customer_drop = -1;
    if (!v) {
        snprintf(out->why, sizeof(out->why),
                 "the VADER lexicon is not installed (scripts/fetch-models puts it in the model "
                 "directory as %s)",
                 SC_VADER_FILE);
        return 0;
    }
    if (!t || t->n == 0) {
        snprintf(out->why, sizeof(out->why), "no transcript");
        return 0;
    }
    double dur = t->duration, last = 0;
    for (size_t i = 0; i < t->n; i++)
        last = t->u[i].end > last ? t->u[i].end : last;
    if (!(dur > 0))
        dur = last; /* no recording's length: the last word's end */
    if (!(dur > 0) || !isfinite(dur)) {
        snprintf(out->why, sizeof(out->why), "the call's duration is not known");
        return 0;
    }
    out->duration = dur;
    snprintf(out->name, sizeof(out->name), "vader");
    snprintf(out->version, sizeof(out->version), "%s", sc_vader_version(v));
    snprintf(out->licence, sizeof(out->licence), "%s", SC_VADER_LICENCE);
    /* the fixed order first, so that the customer leads whenever it speaks */
    bool has[2] = {false, false};
    for (size_t i = 0; i < t->n; i++) {
        has[0] |= !strcmp(t->u[i].speaker, SC_CUSTOMER);
        has[1] |= !strcmp(t->u[i].speaker, SC_AGENT);
    }
    if (has[0])
        speaker_index(out, SC_CUSTOMER);
    if (has[1])
        speaker_index(out, SC_AGENT);
    double wsum[SC_SENT_SPEAKERS][4] = {{0}}, w[SC_SENT_SPEAKERS][4] = {{0}};
    double sum[SC_SENT_SPEAKERS][4] = {{0}};
    int cnt[SC_SENT_SPEAKERS][4] = {{0}};
    for (size_t i = 0; i < t->n; i++) {
        const sc_utt *u = &t->u[i];
        if (!u->text || !u->norm || !u->norm[0] || !isfinite(u->start) || !isfinite(u->end))
            continue; /* nothing said (a tag alone: [noise]), or no time to place it */
        int k = speaker_index(out, u->speaker);
        if (k < 0)
            continue;
        sc_vader_scores sv;
        if (sc_vader_score(v, u->text, strlen(u->text), &sv) != 0) {
            sc_sentiment_free(out);
            return -1;
        }
        double at = floor((u->start / 2 + u->end / 2) / (dur / 4)); /* the midpoint's quarter */
        int q = !(at >= 0) ? 0 : at > 3 ? 3 : (int)at;
        double d = u->end - u->start;
        d = d > 0 && isfinite(d) ? d : 0;
        wsum[k][q] += d * sv.compound;
        w[k][q] += d;
        sum[k][q] += sv.compound;
        cnt[k][q]++;
    }
    for (int k = 0; k < out->n; k++)
        for (int q = 0; q < 4; q++) {
            if (!cnt[k][q])
                continue;
            /* utterances without a length (a transcript without times) count equally */
            double mean = w[k][q] > 0 ? wsum[k][q] / w[k][q] : sum[k][q] / cnt[k][q];
            if (!isfinite(mean))
                mean = sum[k][q] / cnt[k][q];
            out->sp[k].has_q[q] = true;
            /* kept as shown (3 decimals), so that shift = last - first holds on the figures */
            out->sp[k].q[q] = round(SC_SENT_SCALE * mean * 1000) / 1000;
        }
    out->known = true;
    sc_sentiment_finish(out);
    return 0;
}

static json_t *num3(bool known, double v)
{
    return known && isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

void *sc_sentiment_json(const sc_sentiment *s)
{
    if (!s->known)
        return json_null();
    json_t *o = json_object(), *sp = json_array();
    if (!o || !sp) {
        json_decref(o);
        json_decref(sp);
        return NULL;
    }
    json_object_set_new(o, "scale", json_pack("[i,i]", -(int)SC_SENT_SCALE, (int)SC_SENT_SCALE));
    json_object_set_new(o, "source",
                        !strcmp(s->name, "llm")
                            ? json_pack("{s:s,s:s}", "name", s->name, "model", s->version)
                            : json_pack("{s:s,s:s,s:s}", "name", s->name, "version", s->version,
                                        "licence", s->licence));
    for (int i = 0; i < s->n; i++) {
        const sc_sent_speaker *p = &s->sp[i];
        json_t *qs = json_array(), *quotes = json_array();
        for (int q = 0; q < 4; q++)
            json_array_append_new(qs, num3(p->has_q[q], p->q[q]));
        for (size_t q = 0; q < p->n_quotes; q++)
            json_array_append_new(
                quotes,
                json_pack("{s:o,s:s,s:f,s:f,s:s}", "quarter",
                          s->duration > 0 ? json_integer(sc_quarter_of(
                                                p->quotes[q].start, p->quotes[q].end, s->duration))
                                          : json_null(),
                          "speaker", p->quotes[q].speaker, "start",
                          round(p->quotes[q].start * 1000) / 1000, "end",
                          round(p->quotes[q].end * 1000) / 1000, "quote", p->quotes[q].quote));
        json_array_append_new(sp, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "speaker", p->speaker,
                                            "source", p->source, "quarters", qs, "first",
                                            num3(p->has_first, p->first), "last",
                                            num3(p->has_first, p->last), "shift",
                                            num3(p->has_first, p->shift), "quotes", quotes));
    }
    json_object_set_new(o, "speakers", sp);
    json_object_set_new(o, "customer_drop",
                        s->customer_drop < 0 ? json_null() : json_boolean(s->customer_drop));
    return o;
}
