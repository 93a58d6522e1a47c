/*
 * sc_text.c - a call's words for rules and evidence (scoring.h): the transcript's segments as
 * utterances in time order, phrases found on word boundaries, quotes checked as verbatim spans.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transcript/transcript.h"
#include "scoring.h"

bool sc_phrase_at(const char *norm, const char *phrase, size_t *at)
{
    size_t n = strlen(phrase);
    if (!norm || n == 0)
        return false;
    for (const char *p = strstr(norm, phrase); p; p = strstr(p + 1, phrase)) {
        bool left = p == norm || p[-1] == ' ', right = p[n] == '\0' || p[n] == ' ';
        if (left && right) {
            if (at)
                *at = (size_t)(p - norm);
            return true;
        }
    }
    return false;
}

/* the words of a text for rules: non-speech tags ("[noise]", "<unk>", "(music)") taken out,
 * then tx_normalize */
static char *words_of(const char *text)
{
    char *t = strdup(text);
    if (!t)
        return NULL;
    static const char open[] = "[<(", close[] = "]>)";
    for (char *p = t; *p; p++) {
        const char *o = strchr(open, *p);
        if (!o || !*p)
            continue;
        char *e = strchr(p, close[o - open]);
        if (!e)
            break;
        memset(p, ' ', (size_t)(e - p + 1));
        p = e;
    }
    char *n = tx_normalize(t);
    free(t);
    return n;
}

static int by_time(const void *a, const void *b)
{
    const sc_utt *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* one utterance of a text, from its pieces (text copied); 1 when it holds no words */
static int add_utt(sc_text *out, size_t *cap, const char *speaker, double start, double end,
                   const char *text)
{
    char *norm = words_of(text);
    if (!norm)
        return -1;
    if (!norm[0]) {
        free(norm);
        return 1;
    }
    if (out->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        sc_utt *nu = realloc(out->u, nc * sizeof(*nu));
        if (!nu) {
            free(norm);
            return -1;
        }
        out->u = nu, *cap = nc;
    }
    sc_utt *u = &out->u[out->n];
    memset(u, 0, sizeof(*u));
    snprintf(u->speaker, sizeof(u->speaker), "%s", speaker);
    u->start = start, u->end = end < start ? start : end; /* reversed times: a point */
    u->norm = norm;
    out->n++;
    if (!(u->text = strdup(text)))
        return -1;
    if (!strcmp(speaker, SC_MIXED))
        out->separated = false;
    else if (sc_role_unknown(speaker))
        out->roles_unknown = true;
    return 0;
}

bool sc_role_unknown(const char *speaker)
{
    return strcmp(speaker, SC_AGENT) && strcmp(speaker, SC_CUSTOMER) && strcmp(speaker, SC_MIXED);
}

/* whose words a leg of the block holds: its speaker (S1, S2 of a diarized mix) when it has one
 * of those, else its role */
static const char *block_speaker(const json_t *L, const char *role)
{
    const char *sp = json_string_value(json_object_get(L, "speaker"));
    if (sp && (!strcmp(sp, "S1") || !strcmp(sp, "S2")) && !strcmp(role, SC_MIXED))
        return sp;
    return role;
}

int sc_text_from_block(const char *block, double duration, sc_text *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    out->separated = true;
    json_error_t je;
    json_t *b = json_loads(block, 0, &je);
    const json_t *legs = json_object_get(b, "legs");
    if (!json_is_array(legs)) {
        snprintf(err, errsz, "the transcript block has no legs[]%s%s", b ? "" : ": ",
                 b ? "" : je.text);
        json_decref(b);
        return -1;
    }
    size_t cap = 0, i, k;
    const json_t *L, *sg;
    double last = 0;
    int rc = 0;
    json_array_foreach(legs, i, L)
    {
        const char *role = json_string_value(json_object_get(L, "role"));
        if (!role ||
            (strcmp(role, SC_AGENT) && strcmp(role, SC_CUSTOMER) && strcmp(role, SC_MIXED))) {
            snprintf(err, errsz, "legs[%zu]: role must be agent, customer or mixed", i);
            rc = -1;
            break;
        }
        json_array_foreach(json_object_get(L, "segments"), k, sg)
        {
            const json_t *a = json_object_get(sg, "start"), *e = json_object_get(sg, "end"),
                         *t = json_object_get(sg, "text");
            if (!json_is_number(a) || !json_is_number(e) || !json_is_string(t)) {
                snprintf(err, errsz, "legs[%zu].segments[%zu]: start, end and text needed", i, k);
                rc = -1;
                break;
            }
            int r = add_utt(out, &cap, block_speaker(L, role), json_number_value(a),
                            json_number_value(e), json_string_value(t));
            if (r < 0) {
                snprintf(err, errsz, "out of memory");
                rc = -1;
                break;
            }
            if (json_number_value(e) > last)
                last = json_number_value(e);
        }
        if (rc != 0)
            break;
    }
    json_decref(b);
    if (rc != 0) {
        sc_text_free(out);
        return -1;
    }
    if (out->n)
        qsort(out->u, out->n, sizeof(*out->u), by_time);
    out->duration = duration > 0 ? duration : last;
    return 0;
}

int sc_text_from_transcript(const tx_transcript *t, double duration, sc_text *out)
{
    memset(out, 0, sizeof(*out));
    out->separated = true;
    size_t cap = 0;
    double last = 0;
    for (int l = 0; l < t->n_legs; l++) {
        const tx_leg *L = &t->legs[l];
        const char *who = L->role == CQ_ROLE_AGENT                                   ? SC_AGENT
                          : L->role == CQ_ROLE_CUSTOMER                              ? SC_CUSTOMER
                          : (!strcmp(L->speaker, "S1") || !strcmp(L->speaker, "S2")) ? L->speaker
                                                                                     : SC_MIXED;
        for (size_t i = 0; i < L->n; i++) {
            const tx_segment *s = &L->segs[i];
            if (!s->text || !s->text[0])
                continue;
            if (add_utt(out, &cap, who, s->start, s->end, s->text) < 0)
                return -1;
            if (s->end > last)
                last = s->end;
        }
    }
    if (out->n)
        qsort(out->u, out->n, sizeof(*out->u), by_time);
    out->duration = duration > 0 ? duration : last;
    return 0;
}

void sc_text_answer(sc_text *t, const json_t *report)
{
    t->answer = 0;
    t->answer_after[0] = '\0';
    const json_t *ce = json_object_get(report, "call_events"),
                 *a = json_object_get(ce, "answer_sec"),
                 *after = json_object_get(ce, "answer_after");
    if (json_is_number(a) && json_number_value(a) > 0 && isfinite(json_number_value(a))) {
        t->answer = json_number_value(a);
        if (json_is_string(after))
            snprintf(t->answer_after, sizeof(t->answer_after), "%s", json_string_value(after));
    }
}

void sc_text_free(sc_text *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->u[i].text);
        free(t->u[i].norm);
    }
    free(t->u);
    memset(t, 0, sizeof(*t));
}

static bool speaker_matches(const sc_text *t, const sc_utt *u, const char *speaker)
{
    if (!speaker || !speaker[0] || !strcmp(speaker, "any"))
        return true;
    if (!strcmp(u->speaker, speaker))
        return true;
    /* a diarized speaker whose role is not known: whoever was named may have said it */
    if (sc_role_unknown(u->speaker))
        return true;
    /* one leg holding both parties: whoever was named may have said it */
    return !t->separated && !strcmp(u->speaker, SC_MIXED);
}

int sc_quote_check(const sc_text *t, const char *speaker, double start, double end,
                   const char *quote, double tol, sc_quote *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!quote)
        return 1;
    char *q = words_of(quote);
    if (!q)
        return -1;
    int rc = 1;
    if (q[0]) {
        for (size_t i = 0; i < t->n && rc == 1; i++) {
            const sc_utt *u = &t->u[i];
            if (u->end < start - tol || u->start > end + tol || !speaker_matches(t, u, speaker))
                continue;
            if (!sc_phrase_at(u->norm, q, NULL))
                continue;
            rc = 0;
            if (out) {
                snprintf(out->speaker, sizeof(out->speaker), "%s", u->speaker);
                out->start = u->start, out->end = u->end;
                out->quote = strdup(quote);
                if (!out->quote)
                    rc = -1;
            }
        }
    }
    free(q);
    return rc;
}

void sc_quote_free(sc_quote *q)
{
    if (q) {
        free(q->quote);
        q->quote = NULL;
    }
}
