/*
 * svc_qa.c - the QA API under /api/qa, its common parts: the answers (JSON, the store's
 * failure), the arguments (integers in bounds, dates), the store's rows as JSON, the figures of
 * a day, and GET /api/qa/health. The resources are in files of their own: svc_qa_calls.c (the
 * calls list and its badges), svc_qa_call.c (one call: detail, report, transcript import),
 * svc_qa_scores.c (scores, overrides, agreement), svc_qa_summary.c (daily summaries, trends,
 * agents, flagged calls, the leaderboard, the operations view), svc_qa_search.c and
 * svc_qa_upload.c. They read the store only (store_query) and call the rooms below the service
 * (jobs for a transcript's import, scoring for the rules a badge or an override follows); the
 * old QA service's parameters, limits, rounding and shapes are kept
 * (../shared/reference/compat-api.md), and a figure that needs scores is null until scores
 * exist, never 0.
 *
 * Conventions (compat-api.md): dates are YYYY-MM-DD, a call's day is the first ten characters of
 * its call_date (the dialer's local time), `days=N` counts back from today (this machine's
 * local date); totals are rounded to 1 decimal, category averages to 2; top and bottom agents
 * need 3 scored calls that day.
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
#include "../store/store_query.h"
#include "../store/store.h"

const char *const svc_qa_cats[8] = {"greeting",      "customer_id", "needs",   "product",
                                    "communication", "resolution",  "closing", "compliance"};

/* ---- answers ------------------------------------------------------------------------------- */

enum MHD_Result svc_qa_send(req *r, int status, json_t *o)
{
    if (r->rows_left_out && json_is_object(o)) /* a list cut at max_answer_mb says so */
        json_object_set_new(o, "truncated",
                            json_pack("{s:I,s:I}", "rows", (json_int_t)r->rows_left_out,
                                      "max_bytes", (json_int_t)r->s->cfg->max_answer));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    svc_answer(r, s ? status : 500, s, "application/json");
    return svc_send(r);
}

enum MHD_Result svc_qa_store_failed(req *r)
{
    svc_answer_error(r, 500, "store", "the store could not answer: %s", store_errmsg(r->s->store));
    return svc_send(r);
}

json_t *svc_qa_round(bool has, double v, int decimals)
{
    if (!has || !isfinite(v))
        return json_null();
    double m = pow(10.0, decimals);
    double x = round(v * m) / m;
    return json_real(x == 0 ? 0 : x);
}

/* A stored message as an answer shows it: no server path, no URL (svc_redact). */
json_t *svc_qa_redacted(const char *s)
{
    char out[1200];
    svc_redact(s, out, sizeof(out));
    return svc_json_text(out);
}

/* One string with each absolute path (a word that starts with '/', after an opening quote or
 * bracket, and holds a second '/') as its file's name; NULL when nothing changes. A URL is left
 * as it is: this is for stored text that answers show as they are (a report). */
static char *unpath_str(const char *s)
{
    size_t n = strlen(s), k = 0;
    bool changed = false;
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        bool start = i == 0 || s[i - 1] == ' ' || strchr("'\"(<[=", s[i - 1]);
        size_t w = strcspn(s + i, " '\")>],;");
        const char *slash = start && s[i] == '/' && w > 1 ? memchr(s + i + 1, '/', w - 1) : NULL;
        if (slash) {
            size_t b = w;
            while (b > 0 && s[i + b - 1] != '/')
                b--;
            memcpy(o + k, s + i + b, w - b);
            k += w - b, i += w;
            changed = true;
        } else {
            o[k++] = s[i++];
        }
    }
    o[k] = 0;
    if (!changed) {
        free(o);
        return NULL;
    }
    return o;
}

/* A member v of an object or array: the string that takes its place (a path unpathed), or NULL
 * with v itself unpathed inside. */
static json_t *unpath_member(json_t *v)
{
    char *u = json_is_string(v) ? unpath_str(json_string_value(v)) : NULL;
    json_t *s = u ? svc_json_text(u) : NULL;
    if (!u)
        svc_qa_unpath(v);
    free(u);
    return s;
}

void svc_qa_unpath(json_t *j)
{
    const char *key;
    size_t i;
    json_t *v, *s;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if ((s = unpath_member(v)) != NULL)
                json_object_set_new(j, key, s);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if ((s = unpath_member(v)) != NULL)
                json_array_set_new(j, i, s);
        }
    }
}

/* A row value as JSON; prec >= 0 rounds reals. */
json_t *svc_qa_val(const store_val *v, int prec)
{
    switch (v->t) {
    case SV_INT: return json_integer((json_int_t)v->i);
    case SV_REAL: return prec >= 0 ? svc_qa_round(true, v->d, prec) : json_real(v->d);
    case SV_TEXT: return svc_json_text(v->s);
    default: return json_null();
    }
}

const store_val *svc_qa_col(const store_val *cols, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name))
            return &cols[i];
    return NULL;
}

double svc_qa_num(const store_val *cols, int n, const char *name)
{
    const store_val *v = svc_qa_col(cols, n, name);
    return !v ? 0 : v->t == SV_INT ? (double)v->i : v->t == SV_REAL ? v->d : 0;
}

bool svc_qa_is_null(const store_val *cols, int n, const char *name)
{
    const store_val *v = svc_qa_col(cols, n, name);
    return !v || v->t == SV_NULL;
}

/* ---- arguments ----------------------------------------------------------------------------- */

const char *svc_qa_arg(req *r, const char *k)
{
    /* a limited caller's list and search arguments are their scope's (svc_access.c) */
    if (r->who.agent_arg && !strcmp(k, "agent"))
        return r->who.agent_arg;
    if (r->who.campaign_arg && !strcmp(k, "campaign"))
        return r->who.campaign_arg;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, k);
}

const char *svc_qa_campaigns(req *r)
{
    return r->who.campaigns[0] ? r->who.campaigns : NULL;
}

/* An integer argument within [lo, hi] (default when absent). -1 with a 400 answer. */
int svc_qa_int_arg(req *r, const char *k, long dflt, long lo, long hi, long *out)
{
    const char *v = svc_qa_arg(r, k);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        svc_answer_error(r, 400, "bad_argument", "%s must be an integer from %ld to %ld", k, lo,
                         hi);
        return -1;
    }
    *out = x;
    return 0;
}

bool svc_qa_valid_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    return end && !*end && strlen(s) == 10;
}

/* The date `back` days before today (local), as YYYY-MM-DD. */
void svc_qa_day_back(int back, char out[11])
{
    time_t t = time(NULL);
    struct tm lt;
    localtime_r(&t, &lt);
    lt.tm_mday -= back;
    lt.tm_hour = 12; /* clear of DST edges */
    mktime(&lt);
    strftime(out, 11, "%Y-%m-%d", &lt);
}

/* The next calendar day after d. */
void svc_qa_day_next(const char *d, char out[11])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    strptime(d, "%Y-%m-%d", &tm);
    tm.tm_mday++;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    mktime(&tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- collecting rows ----------------------------------------------------------------------- */

int svc_qa_collect(void *user, const store_val *cols, int n)
{
    svc_qa_rows *r = user;
    if (r->r) { /* the answer's bound: each column's text, and a little for its JSON around it */
        size_t row = 0;
        for (int k = 0; k < n; k++)
            row += 32 + (cols[k].t == SV_TEXT && cols[k].s ? strlen(cols[k].s) : 0);
        if (json_array_size(r->arr) && r->bytes + row > r->r->s->cfg->max_answer) {
            r->r->rows_left_out++;
            return 0;
        }
        r->bytes += row;
    }
    json_t *o = r->shape(cols, n, r->u);
    return o ? json_array_append_new(r->arr, o) : 0;
}

json_t *svc_qa_query(req *r, store_qid q, const store_val *p, int np,
                     json_t *(*shape)(const store_val *, int, void *), void *u)
{
    svc_qa_rows rs = {.arr = json_array(), .shape = shape, .u = u, .r = r};
    if (store_query(r->s->store, q, p, np, svc_qa_collect, &rs) != 0) {
        json_decref(rs.arr);
        return NULL;
    }
    return rs.arr;
}

/* ---- figures of a day (or a period) -------------------------------------------------------- */

json_t *svc_qa_categories(const store_val *c, int n)
{
    json_t *o = json_object();
    for (int k = 0; k < 8; k++) {
        char s[40], m[40];
        snprintf(s, sizeof(s), "%s_sum", svc_qa_cats[k]);
        snprintf(m, sizeof(m), "%s_n", svc_qa_cats[k]);
        double cnt = svc_qa_num(c, n, m);
        json_object_set_new(o, svc_qa_cats[k], svc_qa_round(cnt > 0, svc_qa_num(c, n, s) / cnt, 2));
    }
    return o;
}

json_t *svc_qa_null_categories(void)
{
    json_t *o = json_object();
    for (int k = 0; k < 8; k++)
        json_object_set_new(o, svc_qa_cats[k], json_null());
    return o;
}

/* What callqa adds to a day's (or period's) figures: the analysis. */
void svc_qa_analysis_figures(json_t *o, const store_val *c, int n)
{
    json_object_set_new(o, "analysed_calls",
                        json_integer((json_int_t)svc_qa_num(c, n, "analysed")));
    json_object_set_new(o, "skipped_calls", json_integer((json_int_t)svc_qa_num(c, n, "skipped")));
    json_object_set_new(o, "error_calls", json_integer((json_int_t)svc_qa_num(c, n, "errors")));
    /* times and one-way calls are of the analysed calls: none analysed, no figure */
    bool any = svc_qa_num(c, n, "analysed") > 0;
    json_object_set_new(o, "talk_sec", svc_qa_round(any, svc_qa_num(c, n, "talk_sec"), 1));
    json_object_set_new(o, "hold_sec", svc_qa_round(any, svc_qa_num(c, n, "hold_sec"), 1));
    json_object_set_new(o, "dead_air_sec", svc_qa_round(any, svc_qa_num(c, n, "dead_air_sec"), 1));
    json_object_set_new(o, "one_way_calls",
                        any ? json_integer((json_int_t)svc_qa_num(c, n, "one_way_calls"))
                            : json_null());
    /* each model's mean apart: NISQA's (avg_mos, as before) and DNSMOS's P.835 OVRL */
    double mn = svc_qa_num(c, n, "mos_n"), dn = svc_qa_num(c, n, "dnsmos_n");
    json_object_set_new(o, "avg_mos", svc_qa_round(mn > 0, svc_qa_num(c, n, "mos_sum") / mn, 2));
    json_object_set_new(o, "avg_mos_model", json_string("NISQA v2"));
    json_object_set_new(o, "avg_dnsmos_ovrl",
                        svc_qa_round(dn > 0, svc_qa_num(c, n, "dnsmos_sum") / dn, 2));
}

/* The customers' sentiment over the calls (docs/sentiment.md): how many scored calls measured
 * the customer's shift, its mean (-10..10 on the -5..+5 scale; null when none), and how many
 * calls had the customer's drop. */
void svc_qa_sentiment_figures(json_t *o, const store_val *c, int n)
{
    double sn = svc_qa_num(c, n, "customer_shift_n");
    json_object_set_new(o, "customer_shift_calls", json_integer((json_int_t)sn));
    json_object_set_new(o, "avg_customer_shift",
                        svc_qa_round(sn > 0, svc_qa_num(c, n, "customer_shift_sum") / sn, 2));
    json_object_set_new(o, "customer_drop_calls",
                        json_integer((json_int_t)svc_qa_num(c, n, "customer_drops")));
}

/* What callqa adds to the scores: the partial scores (normalised over the categories scored),
 * which calls scored without an LLM have where the total is null. partial_scored_calls counts
 * every call with a partial score (a call with a total has one too); partial_only_calls those
 * without a total, the calls the scored figures leave out, with their mean apart. */
void svc_qa_partial_figures(json_t *o, const store_val *c, int n)
{
    double pn = svc_qa_num(c, n, "partial_n");
    json_object_set_new(o, "partial_scored_calls", json_integer((json_int_t)pn));
    json_object_set_new(o, "avg_partial_score",
                        svc_qa_round(pn > 0, svc_qa_num(c, n, "partial_sum") / pn, 1));
    double on = svc_qa_num(c, n, "partial_only_n");
    json_object_set_new(o, "partial_only_calls", json_integer((json_int_t)on));
    json_object_set_new(o, "avg_partial_only_score",
                        svc_qa_round(on > 0, svc_qa_num(c, n, "partial_only_sum") / on, 1));
}

/* ---- GET /api/qa/health -------------------------------------------------------------------- */

typedef struct health {
    int64_t total, complete, scored, flagged;
    double last;
    bool have_last;
} health;

static int health_row(void *user, const store_val *c, int n)
{
    health *h = user;
    h->total = (int64_t)svc_qa_num(c, n, "total_calls");
    h->complete = (int64_t)svc_qa_num(c, n, "complete_calls");
    h->scored = (int64_t)svc_qa_num(c, n, "total_scored");
    h->flagged = (int64_t)svc_qa_num(c, n, "total_flagged");
    h->have_last = !svc_qa_is_null(c, n, "last_processed");
    h->last = svc_qa_num(c, n, "last_processed");
    return 0;
}

void svc_qa_local_time(double t, char out[20])
{
    time_t tt = (time_t)t;
    struct tm lt;
    localtime_r(&tt, &lt);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &lt);
}

enum MHD_Result svc_qa_health(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    health h = {0};
    if (store_query(r->s->store, SQ_HEALTH, NULL, 0, health_row, &h) != 0)
        return svc_qa_store_failed(r);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    int64_t bytes = store_size_bytes(r->s->store);
    json_object_set_new(o, "db_size_mb", svc_qa_round(bytes >= 0, (double)bytes / 1048576.0, 2));
    json_object_set_new(o, "total_scored", json_integer(h.scored));
    json_object_set_new(o, "total_flagged", json_integer(h.flagged));
    char t[20];
    if (h.have_last)
        svc_qa_local_time(h.last, t);
    json_object_set_new(o, "last_processed", h.have_last ? json_string(t) : json_null());
    json_object_set_new(o, "total_calls", json_integer(h.total));
    json_object_set_new(o, "complete_calls", json_integer(h.complete));
    return svc_qa_send(r, 200, o);
}
