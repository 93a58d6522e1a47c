/*
 * svc_qa_scores.c - a call's scores as the API shows and changes them: a supervisor's
 * overrides (PATCH /api/qa/call/{id}/scores, checked against the call's scorecard), and GET
 * /api/qa/agreement (the supervisors' overrides against the machine's scores).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svc_qa.h"
#include "../pipeline/pl_service.h"
#include "../scoring/scoring.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "callqa/cq_clock.h"

/* ---- scores: a call's detail and overrides, PATCH .../scores, GET /api/qa/agreement -------- */

/* the newest override of each category: {category: {score, supervisor, comment, created}} */
static int override_row(void *user, const store_val *c, int n)
{
    json_t *o = user;
    const store_val *cat = svc_qa_col(c, n, "category");
    if (!cat || cat->t != SV_TEXT)
        return 0;
    json_t *v = json_object();
    json_object_set_new(v, "score", json_integer((json_int_t)llround(svc_qa_num(c, n, "score"))));
    json_object_set_new(v, "supervisor", svc_qa_val(svc_qa_col(c, n, "supervisor"), -1));
    json_object_set_new(v, "comment", svc_qa_val(svc_qa_col(c, n, "comment"), -1));
    char t[20];
    svc_qa_local_time(svc_qa_num(c, n, "created"), t);
    json_object_set_new(v, "created", json_string(t));
    json_object_set_new(o, cat->s, v);
    return 0;
}

json_t *svc_qa_overrides_of(req *r, int64_t call_id)
{
    json_t *o = json_object();
    store_val p[1] = {SV_I(call_id)};
    if (store_query(r->s->store, SQ_OVERRIDES, p, 1, override_row, o) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

typedef struct score_row {
    bool found;
    json_t *detail; /* parsed, or NULL */
} score_row;

static int keep_score(void *user, const store_val *c, int n)
{
    score_row *s = user;
    s->found = true;
    const store_val *d = svc_qa_col(c, n, "detail");
    s->detail = d && d->t == SV_TEXT ? json_loads(d->s, 0, NULL) : NULL;
    return 1;
}

/* The call's scores row: 1 (detail parsed or NULL), 0 none, -1 store error. */
int svc_qa_score_of(req *r, int64_t call_id, json_t **detail)
{
    score_row sr = {false, NULL};
    store_val p[1] = {SV_I(call_id)};
    if (store_query(r->s->store, SQ_SCORE, p, 1, keep_score, &sr) != 0) {
        json_decref(sr.detail);
        return -1;
    }
    *detail = sr.detail;
    return sr.found ? 1 : 0;
}

/* The call of r->param: its id, or -1 with a 404 answer set, or -2 when the store failed. With
 * row, the call as GET /api/qa/call/{id} shapes it too (the caller's reference; NULL unless the
 * id is returned). */
int64_t svc_qa_call_of(req *r, json_t **row)
{
    if (row)
        *row = NULL;
    store_val p[1] = {SV_S(r->param)};
    json_t *a = svc_qa_query(r, SQ_CALL, p, 1, svc_qa_call_shape, NULL);
    if (!a)
        return -2;
    json_t *id = json_object_get(json_array_get(a, 0), "call_id");
    int64_t v = json_is_integer(id) ? (int64_t)json_integer_value(id) : -1;
    if (row && v >= 0)
        *row = json_incref(json_array_get(a, 0));
    json_decref(a);
    if (v < 0)
        svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                         r->param);
    return v;
}

#define SCORES_MAX_BODY 65536
#define SCORES_MAX_NAME 128
#define SCORES_MAX_COMMENT 4000

enum MHD_Result svc_qa_scores_start(req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > SCORES_MAX_BODY) {
        svc_answer_error(r, 413, "too_large", "the body is over %d KiB", SCORES_MAX_BODY >> 10);
        return svc_send(r);
    }
    return svc_body_start(r);
}

/* The categories an override may name: those of the call's stored result, else the old eight.
 * A JSON object used as a set. */
static json_t *allowed_categories(json_t *detail)
{
    json_t *set = json_object();
    json_t *cats = json_object_get(detail, "categories");
    if (json_is_object(cats) && json_object_size(cats)) {
        const char *k;
        json_t *v;
        json_object_foreach(cats, k, v) json_object_set_new(set, k, json_true());
    } else {
        for (int k = 0; k < 8; k++)
            json_object_set_new(set, svc_qa_cats[k], json_true());
    }
    return set;
}

static bool is_text(json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) <= max &&
           strlen(json_string_value(v)) == json_string_length(v); /* no NUL inside */
}

json_t *svc_qa_scores_parse(const char *body, size_t len, char *why, size_t n, const char **code)
{
    json_error_t je;
    json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    *code = "bad_json";
    if (!json_is_object(b)) {
        snprintf(why, n, "the body is not a JSON object%s%s", b ? "" : ": ", b ? "" : je.text);
        json_decref(b);
        return NULL;
    }
    const char *k;
    json_t *v;
    *code = "bad_field";
    json_object_foreach(b, k, v)
    {
        if (strcmp(k, "supervisor") && strcmp(k, "comment") && strcmp(k, "scores")) {
            snprintf(why, n, "unknown field '%.40s' (supervisor, comment, scores)", k);
            json_decref(b);
            return NULL;
        }
    }
    json_t *sup = json_object_get(b, "supervisor"), *com = json_object_get(b, "comment"),
           *scores = json_object_get(b, "scores");
    const char *bad = NULL;
    if (!sup || json_is_null(sup))
        bad = "supervisor (the name of who overrides) is required";
    else if (!is_text(sup, SCORES_MAX_NAME) || !json_string_length(sup))
        bad = "supervisor must be a non-empty string of at most 128 bytes";
    else if (com && !json_is_null(com) && !is_text(com, SCORES_MAX_COMMENT))
        bad = "comment must be a string of at most 4000 bytes";
    else if (!json_is_object(scores) || !json_object_size(scores))
        bad = "scores must be an object of at least one category: {\"greeting\": 4, ...}";
    else if (json_object_size(scores) > 32)
        bad = "scores: at most 32 categories";
    if (bad) {
        snprintf(why, n, "%s", bad);
        json_decref(b);
        return NULL;
    }
    *code = "bad_score";
    json_object_foreach(scores, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5) {
            snprintf(why, n, "scores.%.40s must be an integer from 1 to 5", k);
            json_decref(b);
            return NULL;
        }
    }
    *code = NULL;
    return b;
}

/* A supervisor's scores: {"supervisor": name, "comment": text?, "scores": {key: 1-5, ...}}. */
enum MHD_Result svc_qa_scores(req *r, const char *data, size_t *size)
{
    if (*size) {
        if (r->upload_len + *size > SCORES_MAX_BODY) {
            r->upload_too_large = 1; /* the rest is read and dropped */
            *size = 0;
            return MHD_YES;
        }
        return svc_body_piece(r, data, size);
    }
    if (r->upload_too_large && !r->multipart) {
        svc_answer_error(r, 413, "too_large", "the body is over %d KiB", SCORES_MAX_BODY >> 10);
        return svc_send(r);
    }
    if (svc_body_done(r))
        return svc_send(r);
    if (r->multipart || !r->upload_len) {
        svc_answer_error(r, 400, "empty",
                         "send a JSON body: {\"supervisor\": name, \"comment\": "
                         "text, \"scores\": {category: 1-5, ...}}");
        return svc_send(r);
    }
    char why[200];
    const char *code = NULL;
    json_t *b = svc_qa_scores_parse(r->upload, r->upload_len, why, sizeof(why), &code);
    if (!b) {
        svc_answer_error(r, 400, code, "%s", why);
        return svc_send(r);
    }
    json_t *sup = json_object_get(b, "supervisor"), *com = json_object_get(b, "comment"),
           *scores = json_object_get(b, "scores");
    const char *k;
    json_t *v;
    int64_t call_id = svc_qa_call_of(r, NULL);
    if (call_id < 0) {
        json_decref(b);
        return call_id == -2 ? svc_qa_store_failed(r) : svc_send(r);
    }
    json_t *detail = NULL;
    int got = svc_qa_score_of(r, call_id, &detail);
    if (got <= 0) {
        json_decref(b);
        if (got < 0)
            return svc_qa_store_failed(r);
        svc_answer_error(r, 409, "not_scored",
                         "call %.64s has no scores yet: there is nothing "
                         "to override",
                         r->param);
        return svc_send(r);
    }
    json_t *allowed = allowed_categories(detail);
    json_decref(detail);
    const char *cats[32];
    int vals[32];
    size_t n = 0;
    json_object_foreach(scores, k, v)
    {
        if (!json_object_get(allowed, k)) {
            char list[600] = "";
            const char *a;
            json_t *x;
            json_object_foreach(allowed, a, x)
            {
                size_t len = strlen(list);
                snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", a);
            }
            svc_answer_error(r, 400, "unknown_category",
                             "'%.40s' is not a category of this call's scorecard (%s)", k, list);
            json_decref(allowed);
            json_decref(b);
            return svc_send(r);
        }
        cats[n] = k, vals[n] = (int)json_integer_value(v), n++;
    }
    json_decref(allowed);
    int rc = store_score_overrides(r->s->store, call_id, cats, vals, n, json_string_value(sup),
                                   json_is_string(com) ? json_string_value(com) : NULL,
                                   cq_clock_wall_sec());
    json_decref(b);
    if (rc < 0)
        return svc_qa_store_failed(r);
    if (rc == 0) {
        svc_answer_error(r, 409, "not_scored", "call %.64s has no scores yet", r->param);
        return svc_send(r);
    }
    json_t *ov = svc_qa_overrides_of(r, call_id);
    if (!ov)
        return svc_qa_store_failed(r);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer(call_id));
    json_object_set_new(o, "overrides", ov);
    return svc_qa_send(r, 200, o);
}

static int agreement_row(void *user, const store_val *c, int n)
{
    json_t *cats = user;
    const store_val *cat = svc_qa_col(c, n, "category");
    if (!cat || cat->t != SV_TEXT)
        return 0;
    double cmp = svc_qa_num(c, n, "compared");
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)svc_qa_num(c, n, "n")));
    json_object_set_new(o, "compared", json_integer((json_int_t)cmp));
    json_object_set_new(o, "exact_rate", svc_qa_round(cmp > 0, svc_qa_num(c, n, "exact") / cmp, 3));
    json_object_set_new(o, "within_one_rate",
                        svc_qa_round(cmp > 0, svc_qa_num(c, n, "within_one") / cmp, 3));
    json_object_set_new(o, "mean_abs_diff",
                        svc_qa_round(cmp > 0, svc_qa_num(c, n, "abs_diff_sum") / cmp, 2));
    json_object_set_new(cats, cat->s, o);
    return 0;
}

enum MHD_Result svc_qa_agreement(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days;
    if (svc_qa_int_arg(r, "days", 30, 1, 365, &days))
        return svc_send(r);
    char from[11], to[11];
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    json_t *cats = json_object();
    for (int k = 0; k < 8; k++) {
        json_t *o = json_object();
        json_object_set_new(o, "n", json_integer(0));
        json_object_set_new(o, "compared", json_integer(0));
        json_object_set_new(o, "exact_rate", json_null());
        json_object_set_new(o, "within_one_rate", json_null());
        json_object_set_new(o, "mean_abs_diff", json_null());
        json_object_set_new(cats, svc_qa_cats[k], o);
    }
    store_val p[2] = {SV_S(from), SV_S(to)};
    if (store_query(r->s->store, SQ_AGREEMENT, p, 2, agreement_row, cats) != 0) {
        json_decref(cats);
        return svc_qa_store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "period_start", json_string(from));
    json_object_set_new(o, "period_end", json_string(to));
    json_object_set_new(o, "categories", cats);
    return svc_qa_send(r, 200, o);
}
