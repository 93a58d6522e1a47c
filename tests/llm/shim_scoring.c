/*
 * shim_scoring.c - TEMPORARY, test-only stand-ins for scoring functions that other modules of
 * src/scoring/ own (sc_text.c: quotes and phrases; sc_topics.c: the topics file; sc_call.c:
 * freeing a call), so that sc_llm.c can be tested before they are in the tree. CMake compiles
 * each part only while its real file is missing (CQ_SHIM_TEXT, CQ_SHIM_TOPICS, CQ_SHIM_CALL);
 * once the real ones are there, the tests use them and this file adds nothing.
 *
 * The stand-ins are deliberately simple: a quote is matched on tx_normalize'd words inside one
 * utterance of that speaker overlapping the times (within tol); a topics file here is
 * {"topics": [{"class", "subclass"}]}.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

#ifdef CQ_SHIM_TEXT
bool sc_phrase_at(const char *norm, const char *phrase, size_t *at)
{
    size_t pl = strlen(phrase);
    if (!pl)
        return false;
    for (const char *p = norm; (p = strstr(p, phrase)) != NULL; p++) {
        bool left = p == norm || p[-1] == ' ', right = p[pl] == 0 || p[pl] == ' ';
        if (left && right) {
            if (at)
                *at = (size_t)(p - norm);
            return true;
        }
    }
    return false;
}

int sc_quote_check(const sc_text *t, const char *speaker, double start, double end,
                   const char *quote, double tol, sc_quote *out)
{
    char *nq = tx_normalize(quote);
    if (!nq)
        return -1;
    int rc = 1;
    for (size_t i = 0; i < t->n && rc == 1; i++) {
        const sc_utt *u = &t->u[i];
        if (strcmp(u->speaker, speaker) || u->end < start - tol || u->start > end + tol ||
            !*nq || !sc_phrase_at(u->norm, nq, NULL))
            continue;
        rc = 0;
        if (out) {
            memset(out, 0, sizeof(*out));
            strncpy(out->speaker, u->speaker, sizeof(out->speaker) - 1);
            out->start = u->start, out->end = u->end;
            if (!(out->quote = strdup(quote)))
                rc = -1;
        }
    }
    free(nq);
    return rc;
}

void sc_quote_free(sc_quote *q)
{
    if (q) {
        free(q->quote);
        q->quote = NULL;
    }
}

void sc_text_free(sc_text *t)
{
    for (size_t i = 0; t && i < t->n; i++) {
        free(t->u[i].text);
        free(t->u[i].norm);
    }
    if (t) {
        free(t->u);
        t->u = NULL, t->n = 0;
    }
}
#endif

#ifdef CQ_SHIM_TOPICS
struct sc_topics {
    json_t *list; /* [{"class", "subclass"}] */
};

sc_topics *sc_topics_load(const char *text, size_t len, char *err, size_t errsz)
{
    json_t *j = json_loadb(text, len, 0, NULL), *l = json_object_get(j, "topics");
    if (!json_is_array(l)) {
        snprintf(err, errsz, "a topics file (test stand-in) is {\"topics\": [...]}");
        json_decref(j);
        return NULL;
    }
    sc_topics *t = calloc(1, sizeof(*t));
    if (t)
        t->list = json_incref(l);
    json_decref(j);
    return t;
}

void sc_topics_free(sc_topics *t)
{
    if (t)
        json_decref(t->list);
    free(t);
}

char *sc_topics_list_json(const sc_topics *t)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(t->list, i, e)
        json_array_append_new(out, json_pack("{s:O, s:O}", "class", json_object_get(e, "class"),
                                             "subclass", json_object_get(e, "subclass")));
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return s;
}

bool sc_topics_has(const sc_topics *t, const char *cls, const char *subclass)
{
    size_t i;
    json_t *e;
    json_array_foreach(t->list, i, e) {
        const char *c = json_string_value(json_object_get(e, "class")),
                   *s = json_string_value(json_object_get(e, "subclass"));
        if (c && s && !strcmp(c, cls) && !strcmp(s, subclass))
            return true;
    }
    return false;
}

void sc_topic_free(sc_topic *t)
{
    for (int i = 0; t && i < t->n_phrases; i++)
        free(t->phrases[i]);
    if (t)
        t->n_phrases = 0;
}
#endif

#ifdef CQ_SHIM_CALL
void sc_call_free(sc_call *c)
{
    for (int i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->cats[i].n_quotes; k++)
            sc_quote_free(&c->cats[i].quotes[k]);
        free(c->cats[i].quotes);
        free(c->cats[i].metrics);
    }
    free(c->summary);
    for (int i = 0; i < c->n_strengths; i++)
        free(c->strengths[i]);
    for (int i = 0; i < c->n_improvements; i++)
        free(c->improvements[i]);
    sc_topic_free(&c->topic);
    memset(c, 0, sizeof(*c));
}
#endif
