/*
 * sc_topics.c - call topics (scoring.h): a topics file (class -> subclass, with weighted
 * phrases) loaded and checked, and a call classified by its phrases over the normalised words,
 * the customer's words counting more than the agent's. The format and the confidence are
 * documented in docs/topics.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transcript/transcript.h"
#include "sc_int.h"

#define TP_MAX_TOPICS 256
#define TP_MAX_PHRASES 64     /* per topic */
#define TP_MAX_PHRASE_LEN 200 /* bytes, as written */
#define TP_MAX_WEIGHT 100.0
#define TP_MAX_FILE (1u << 20)

/* what a phrase weighs, by who said it (docs/topics.md) */
#define TP_CUSTOMER 1.0
#define TP_MIXED 0.75
#define TP_AGENT 0.5
/* the best topic's weight at which the evidence counts as full (docs/topics.md) */
#define TP_FULL_EVIDENCE 2.0

typedef struct tp_phrase {
    char *norm;
    double weight;
} tp_phrase;

typedef struct tp_topic {
    char cls[64], sub[64];
    tp_phrase *p;
    size_t n;
} tp_topic;

struct sc_topics {
    char name[81];
    tp_topic *t;
    size_t n;
};

/* a name: 1-63 bytes, no control characters, not only spaces */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    bool seen = false;
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
        seen |= s[i] != ' ';
    }
    return seen;
}

static int weight_of(const json_t *w, double *out, const char *where, char *err, size_t errsz)
{
    *out = 1;
    if (!w)
        return 0;
    if (!json_is_number(w) || !(json_number_value(w) > 0) ||
        !(json_number_value(w) <= TP_MAX_WEIGHT))
        return cfg_fail(err, errsz, "%s: weight must be a number above 0 and at most %g", where,
                        TP_MAX_WEIGHT);
    *out = json_number_value(w);
    return 0;
}

static int phrase(const json_t *j, const char *where, tp_phrase *out, char *err, size_t errsz)
{
    static const char *const known[] = {"phrase", "weight", NULL};
    const json_t *s = j;
    out->weight = 1;
    if (json_is_object(j)) {
        if (sc_only_keys(j, known, where, err, errsz) != 0)
            return -1;
        s = json_object_get(j, "phrase");
        if (weight_of(json_object_get(j, "weight"), &out->weight, where, err, errsz) != 0)
            return -1;
    }
    if (!json_is_string(s))
        return cfg_fail(err, errsz,
                        "%s: a phrase is a string or {\"phrase\": string, \"weight\": "
                        "number}",
                        where);
    if (json_string_length(s) > TP_MAX_PHRASE_LEN)
        return cfg_fail(err, errsz, "%s: longer than %d bytes", where, TP_MAX_PHRASE_LEN);
    if (strlen(json_string_value(s)) != json_string_length(s))
        return cfg_fail(err, errsz, "%s: holds a NUL byte", where);
    out->norm = tx_normalize(json_string_value(s));
    if (!out->norm)
        return cfg_fail(err, errsz, "out of memory");
    if (!out->norm[0])
        return cfg_fail(err, errsz, "%s: empty once normalised (\"%.60s\" has no words)", where,
                        json_string_value(s));
    return 0;
}

static int topic(const json_t *j, size_t i, tp_topic *t, char *err, size_t errsz)
{
    static const char *const known[] = {"class", "subclass", "phrases", "weight", NULL};
    char where[200];
    snprintf(where, sizeof(where), "topics[%zu]", i);
    if (!json_is_object(j))
        return cfg_fail(err, errsz, "%s: not an object", where);
    const json_t *cls = json_object_get(j, "class"), *sub = json_object_get(j, "subclass"),
                 *ph = json_object_get(j, "phrases");
    if (!json_is_string(cls) || !name_ok(json_string_value(cls)))
        return cfg_fail(err, errsz, "%s: class must be a string of 1-63 bytes", where);
    if (!json_is_string(sub) || !name_ok(json_string_value(sub)))
        return cfg_fail(err, errsz, "%s: subclass must be a string of 1-63 bytes", where);
    snprintf(t->cls, sizeof(t->cls), "%s", json_string_value(cls));
    snprintf(t->sub, sizeof(t->sub), "%s", json_string_value(sub));
    snprintf(where, sizeof(where), "topic %s/%s", t->cls, t->sub);
    if (sc_only_keys(j, known, where, err, errsz) != 0)
        return -1;
    double tw;
    if (weight_of(json_object_get(j, "weight"), &tw, where, err, errsz) != 0)
        return -1;
    if (!json_is_array(ph) || json_array_size(ph) == 0 || json_array_size(ph) > TP_MAX_PHRASES)
        return cfg_fail(err, errsz, "%s: phrases must be an array of 1 to %d phrases", where,
                        TP_MAX_PHRASES);
    t->p = calloc(json_array_size(ph), sizeof(*t->p));
    if (!t->p)
        return cfg_fail(err, errsz, "out of memory");
    for (size_t k = 0; k < json_array_size(ph); k++) {
        char pw[240];
        snprintf(pw, sizeof(pw), "%s, phrases[%zu]", where, k);
        tp_phrase *p = &t->p[t->n];
        if (phrase(json_array_get(ph, k), pw, p, err, errsz) != 0) {
            free(p->norm);
            p->norm = NULL;
            return -1;
        }
        t->n++;
        p->weight *= tw;
        if (p->weight > TP_MAX_WEIGHT)
            return cfg_fail(err, errsz, "%s: the phrase's weight times the topic's is above %g", pw,
                            TP_MAX_WEIGHT);
        for (size_t q = 0; q + 1 < t->n; q++)
            if (!strcmp(t->p[q].norm, p->norm))
                return cfg_fail(err, errsz, "%s: \"%.60s\" is given twice", where, p->norm);
    }
    return 0;
}

sc_topics *sc_topics_load(const char *text, size_t len, char *err, size_t errsz)
{
    static const char *const known[] = {"name", "topics", NULL};
    if (errsz)
        err[0] = 0;
    if (len > TP_MAX_FILE) {
        cfg_fail(err, errsz, "the topics file is larger than %u bytes", TP_MAX_FILE);
        return NULL;
    }
    sc_topics *out = calloc(1, sizeof(*out));
    if (!out) {
        cfg_fail(err, errsz, "out of memory");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!json_is_object(root)) {
        if (root)
            cfg_fail(err, errsz, "the topics file is not a JSON object");
        else
            cfg_fail(err, errsz, "the topics file is not JSON: %s (line %d)", je.text, je.line);
        goto done;
    }
    if (sc_only_keys(root, known, "the topics file", err, errsz) != 0)
        goto done;
    const json_t *name = json_object_get(root, "name"), *tops = json_object_get(root, "topics");
    if (name && (!json_is_string(name) || json_string_length(name) > 80)) {
        cfg_fail(err, errsz, "name must be a string of at most 80 bytes");
        goto done;
    }
    snprintf(out->name, sizeof(out->name), "%s", name ? json_string_value(name) : "topics");
    if (!json_is_array(tops) || json_array_size(tops) == 0 ||
        json_array_size(tops) > TP_MAX_TOPICS) {
        cfg_fail(err, errsz, "topics must be an array of 1 to %d topics", TP_MAX_TOPICS);
        goto done;
    }
    out->t = calloc(json_array_size(tops), sizeof(*out->t));
    if (!out->t) {
        cfg_fail(err, errsz, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(tops); i++) {
        tp_topic *t = &out->t[out->n++];
        if (topic(json_array_get(tops, i), i, t, err, errsz) != 0)
            goto done;
        for (size_t k = 0; k + 1 < out->n; k++) {
            const tp_topic *o = &out->t[k];
            if (!strcmp(o->cls, t->cls) && !strcmp(o->sub, t->sub)) {
                cfg_fail(err, errsz, "topic %s/%s is given twice", t->cls, t->sub);
                goto done;
            }
            /* a phrase in two topics cannot tell them apart */
            for (size_t a = 0; a < t->n; a++)
                for (size_t b = 0; b < o->n; b++)
                    if (!strcmp(t->p[a].norm, o->p[b].norm)) {
                        cfg_fail(err, errsz, "the phrase \"%.60s\" is in both %s/%s and %s/%s",
                                 t->p[a].norm, o->cls, o->sub, t->cls, t->sub);
                        goto done;
                    }
        }
    }
    rc = 0;
done:
    json_decref(root);
    if (rc != 0) {
        sc_topics_free(out);
        return NULL;
    }
    return out;
}

void sc_topics_free(sc_topics *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->t[i].n; k++)
            free(t->t[i].p[k].norm);
        free(t->t[i].p);
    }
    free(t->t);
    free(t);
}

char *sc_topics_list_json(const sc_topics *t)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        json_t *o = json_pack("{s:s, s:s}", "class", t->t[i].cls, "subclass", t->t[i].sub);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

bool sc_topics_has(const sc_topics *t, const char *cls, const char *subclass)
{
    if (!t || !cls || !subclass)
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->t[i].cls, cls) && !strcmp(t->t[i].sub, subclass))
            return true;
    return false;
}

/* ---- classifying --------------------------------------------------------------------------- */

static double speaker_weight(const char *speaker)
{
    if (!strcmp(speaker, SC_CUSTOMER))
        return TP_CUSTOMER;
    if (!strcmp(speaker, SC_AGENT))
        return TP_AGENT;
    return TP_MIXED;
}

/* The shortest run of whole words of `text` (split on white space) whose normalised form holds
 * the normalised phrase: a verbatim span of the text (malloc'd). The whole text when no run
 * does (it cannot happen for a phrase found in tx_normalize(text), but the fallback keeps the
 * answer verbatim). NULL: out of memory. */
static char *verbatim_span(const char *text, const char *phrase)
{
    size_t n = 0, len = strlen(text);
    size_t *b = malloc((len / 2 + 2) * sizeof(*b)), *e = malloc((len / 2 + 2) * sizeof(*e));
    char *out = NULL;
    if (!b || !e)
        goto done;
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)text[i]))
            i++;
        if (i >= len)
            break;
        b[n] = i;
        while (i < len && !isspace((unsigned char)text[i]))
            i++;
        e[n++] = i;
    }
    /* the first end j whose prefix holds the phrase, then the last start i before it */
    for (size_t j = 0; j < n && !out; j++) {
        char *pre = strndup(text + b[0], e[j] - b[0]);
        if (!pre)
            goto done;
        char *np = tx_normalize(pre);
        free(pre);
        if (!np)
            goto done;
        bool has = sc_phrase_at(np, phrase, NULL);
        free(np);
        if (!has)
            continue;
        for (size_t i = j + 1; i-- > 0;) {
            char *win = strndup(text + b[i], e[j] - b[i]);
            if (!win)
                goto done;
            char *nw = tx_normalize(win);
            if (!nw) {
                free(win);
                goto done;
            }
            has = sc_phrase_at(nw, phrase, NULL);
            free(nw);
            if (has) {
                out = win;
                break;
            }
            free(win);
        }
        break;
    }
    if (!out)
        out = strdup(text);
done:
    free(b);
    free(e);
    return out;
}

typedef struct tp_hit {
    size_t phrase, utt;
    double value; /* phrase weight x speaker weight */
} tp_hit;

static int by_value(const void *a, const void *b)
{
    const tp_hit *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    if (x->utt != y->utt)
        return x->utt < y->utt ? -1 : 1;
    return x->phrase < y->phrase ? -1 : x->phrase > y->phrase;
}

/* each phrase of topic t at its best occurrence (the highest speaker weight, then the
 * earliest); hits has room for t->n. Returns the hits and their summed value. */
static size_t topic_hits(const tp_topic *t, const sc_text *text, tp_hit *hits, double *sum)
{
    size_t nh = 0;
    *sum = 0;
    for (size_t p = 0; p < t->n; p++) {
        double best = 0;
        size_t at = 0;
        for (size_t u = 0; u < text->n; u++) {
            double v = t->p[p].weight * speaker_weight(text->u[u].speaker);
            if (v > best && sc_phrase_at(text->u[u].norm, t->p[p].norm, NULL))
                best = v, at = u;
        }
        if (best > 0) {
            hits[nh++] = (tp_hit){p, at, best};
            *sum += best;
        }
    }
    return nh;
}

int sc_topics_classify(const sc_topics *t, const sc_text *text, sc_topic *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->engine, sizeof(out->engine), "rules");
    if (!t || !text || text->n == 0)
        return 0;
    size_t maxp = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->t[i].n > maxp)
            maxp = t->t[i].n;
    tp_hit *hits = calloc(maxp ? maxp : 1, sizeof(*hits));
    if (!hits)
        return -1;
    double total = 0, best = 0;
    size_t bi = 0;
    for (size_t i = 0; i < t->n; i++) {
        double s;
        topic_hits(&t->t[i], text, hits, &s);
        total += s;
        if (s > best) /* ties: the topic first in the file */
            best = s, bi = i;
    }
    int rc = 0;
    if (best > 0) {
        const tp_topic *w = &t->t[bi];
        double s;
        size_t nh = topic_hits(w, text, hits, &s);
        qsort(hits, nh, sizeof(*hits), by_value);
        out->known = true;
        snprintf(out->cls, sizeof(out->cls), "%s", w->cls);
        snprintf(out->subclass, sizeof(out->subclass), "%s", w->sub);
        double share = best / total,
               evidence = best >= TP_FULL_EVIDENCE ? 1 : best / TP_FULL_EVIDENCE;
        out->confidence = round(share * evidence * 1000) / 1000;
        if (out->confidence < 0.001) /* some evidence, however little: never shown as none */
            out->confidence = 0.001;
        for (size_t h = 0; h < nh && out->n_phrases < SC_MAX_TOPIC_PHRASES; h++) {
            char *span = verbatim_span(text->u[hits[h].utt].text, w->p[hits[h].phrase].norm);
            if (!span) {
                rc = -1;
                break;
            }
            bool dup = false;
            for (int k = 0; k < out->n_phrases && !dup; k++)
                dup = !strcmp(out->phrases[k], span);
            if (dup)
                free(span);
            else
                out->phrases[out->n_phrases++] = span;
        }
    }
    free(hits);
    if (rc != 0)
        sc_topic_free(out);
    return rc;
}

void sc_topic_free(sc_topic *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_phrases; i++)
        free(t->phrases[i]);
    memset(t, 0, sizeof(*t));
}
