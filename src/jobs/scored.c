/*
 * scored.c - the worker's scoring stage (jobs.h, docs/scoring.md): the card and topics loaded
 * once at start, a call scored in the analysis child from its report and transcript, and the
 * result (the scoring module's JSON) turned into the store's row in the parent.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

static char *slurp(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s: cannot open it", path);
        return NULL;
    }
    char *b = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n < 0 || n > (16L << 20) || fseek(f, 0, SEEK_SET) != 0)
        snprintf(err, errsz, "%s: not a readable file of at most 16 MiB", path);
    else if (!(b = malloc((size_t)n + 1)))
        snprintf(err, errsz, "out of memory");
    else if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errsz, "%s: read error", path);
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    return b;
}

int qa_scoring_setup(const svc_config *c, qa_scoring *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    out->on = c->scoring;
    if (!out->on)
        return 0;
    size_t len = 0;
    char *text = c->scorecard[0] ? slurp(c->scorecard, &len, err, errsz) : NULL;
    if (c->scorecard[0] && !text)
        return -1;
    const char *card = text ? text : sc_default_card(&len);
    char why[400];
    int rc = sc_card_load(card, len, &out->card, why, sizeof(why));
    free(text);
    if (rc != 0) {
        snprintf(err, errsz, "scorecard %s: %s", c->scorecard[0] ? c->scorecard : "(default)",
                 why);
        return -1;
    }
    if (c->topics_file[0]) {
        char *t = slurp(c->topics_file, &len, err, errsz);
        if (!t) {
            qa_scoring_free(out);
            return -1;
        }
        out->topics = sc_topics_load(t, len, why, sizeof(why));
        free(t);
        if (!out->topics) {
            snprintf(err, errsz, "topics_file %s: %s", c->topics_file, why);
            qa_scoring_free(out);
            return -1;
        }
    }
    return 0;
}

void qa_scoring_free(qa_scoring *s)
{
    if (!s)
        return;
    sc_card_free(&s->card);
    sc_topics_free(s->topics);
    memset(s, 0, sizeof(*s));
}

char *qa_score_call(const qa_scoring *s, const char *report_json, const char *tx_block,
                    const char *llm_why, char *why, size_t n)
{
    double duration = 0;
    json_t *r = report_json ? json_loads(report_json, 0, NULL) : NULL;
    if (json_is_number(json_object_get(r, "duration")))
        duration = json_number_value(json_object_get(r, "duration"));
    json_decref(r);
    sc_text text = {0};
    bool have_text = false;
    if (tx_block && tx_block[0]) {
        if (sc_text_from_block(tx_block, duration, &text, why, n) != 0)
            return NULL;
        have_text = true;
    }
    sc_call call;
    char *js = NULL;
    if (sc_score(&s->card, report_json, have_text ? &text : NULL, s->topics, llm_why, &call, why,
                 n) == 0) {
        sc_finish(&s->card, &call);
        if (!(js = sc_call_to_json(&s->card, &call)))
            snprintf(why, n, "out of memory");
    }
    sc_call_free(&call);
    sc_text_free(&text);
    return js;
}

/* ---- the result as the store keeps it ------------------------------------------------------ */

static const char *str_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool num_of(const json_t *o, const char *k, double *v)
{
    const json_t *j = json_object_get(o, k);
    if (!json_is_number(j))
        return false;
    *v = json_number_value(j);
    return isfinite(*v);
}

int qa_stored_score_from_json(const char *detail, qa_stored_score *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loads(detail, 0, &je);
    if (!json_is_object(o) || !json_is_object(json_object_get(o, "categories"))) {
        json_decref(o);
        snprintf(err, errsz, "the score is not a scoring result: %s", je.text);
        return -1;
    }
    out->json = o;
    store_score *s = &out->s;
    s->has_total = num_of(o, "total_score", &s->total_score);
    s->has_partial = num_of(o, "partial_score", &s->partial_score);
    num_of(o, "coverage", &s->coverage);
    s->flagged = json_is_true(json_object_get(o, "flagged"));
    s->flag_reason = str_of(o, "flag_reason");
    const json_t *cats = json_object_get(o, "categories"), *card = json_object_get(o, "scorecard");
    for (int i = 0; i < STORE_SCORE_CATS; i++)
        s->has_cat[i] = num_of(json_object_get(cats, store_score_cats[i]), "score", &s->cat[i]);
    s->summary = str_of(o, "summary");
    out->strengths = json_dumps(json_object_get(o, "strengths"), JSON_COMPACT);
    out->improvements = json_dumps(json_object_get(o, "improvements"), JSON_COMPACT);
    s->strengths = out->strengths, s->improvements = out->improvements;
    s->llm_provider = str_of(o, "llm_provider");
    s->llm_model = str_of(o, "llm_model");
    s->scorecard = str_of(card, "name");
    s->scorecard_hash = str_of(card, "hash");
    s->provider_hash = str_of(o, "provider_hash");
    s->backend = s->llm_provider ? s->llm_provider : "rules";
    const json_t *topic = json_object_get(o, "topic");
    s->topic_class = str_of(topic, "class");
    s->topic_subclass = str_of(topic, "subclass");
    s->detail = detail;
    return 0;
}

void qa_stored_score_free(qa_stored_score *x)
{
    if (!x)
        return;
    json_decref(x->json);
    free(x->strengths);
    free(x->improvements);
    memset(x, 0, sizeof(*x));
}
