/*
 * svc_qa.c - the QA API under /api/qa: the old QA service's endpoints with their parameters,
 * limits, rounding and shapes (../shared/reference/compat-api.md), the figures callqa adds
 * beside them, and the new routes (calls, workers, the upload). Everything comes from the store
 * (store_query); a figure that needs scores is null until scores exist, never 0.
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

#include "svc.h"
#include "../jobs/jobs.h"
#include "../scoring/scoring.h"
#include "../transcript/transcript.h"

static const char *const k_cats[8] = {"greeting",      "customer_id", "needs",   "product",
                                      "communication", "resolution",  "closing", "compliance"};

/* ---- answers ------------------------------------------------------------------------------- */

static enum MHD_Result send_json(req *r, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    svc_answer(r, s ? status : 500, s, "application/json");
    return svc_send(r);
}

static enum MHD_Result store_failed(req *r)
{
    svc_answer_error(r, 500, "store", "the store could not answer: %s", store_errmsg(r->s->store));
    return svc_send(r);
}

static json_t *round_or_null(bool has, double v, int decimals)
{
    if (!has || !isfinite(v))
        return json_null();
    double m = pow(10.0, decimals);
    double x = round(v * m) / m;
    return json_real(x == 0 ? 0 : x);
}

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_seq(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xf0 && p[0] <= 0xf4  ? 4
            : p[0] >= 0xe0                ? 3
            : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
                                          : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0; /* overlong, a surrogate, beyond U+10FFFF */
    return n;
}

/* Text as a JSON string. Dialer databases hold UTF-8, or Latin-1 in older installations: bytes
 * that are not UTF-8 are read as Latin-1, so that a name is shown rather than dropped. */
json_t *svc_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s), k = 0;
    char *o = malloc(2 * n + 1);
    if (!o)
        return json_null();
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = utf8_seq(p);
        if (len) {
            memcpy(o + k, p, (size_t)len);
            k += (size_t)len, p += len;
        } else {
            o[k++] = (char)(0xc0 | (*p >> 6)), o[k++] = (char)(0x80 | (*p & 0x3f));
            p++;
        }
    }
    j = json_stringn(o, k);
    free(o);
    return j ? j : json_null();
}

/* A stored message as an answer shows it: no server path, no URL (svc_redact). */
static json_t *redacted(const char *s)
{
    char out[1200];
    svc_redact(s, out, sizeof(out));
    return svc_json_text(out);
}

/* A row value as JSON; prec >= 0 rounds reals. */
static json_t *val_json(const store_val *v, int prec)
{
    switch (v->t) {
    case SV_INT: return json_integer((json_int_t)v->i);
    case SV_REAL: return prec >= 0 ? round_or_null(true, v->d, prec) : json_real(v->d);
    case SV_TEXT: return svc_json_text(v->s);
    default: return json_null();
    }
}

static const store_val *col(const store_val *cols, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name))
            return &cols[i];
    return NULL;
}

static double num(const store_val *cols, int n, const char *name)
{
    const store_val *v = col(cols, n, name);
    return !v ? 0 : v->t == SV_INT ? (double)v->i : v->t == SV_REAL ? v->d : 0;
}

static bool is_null(const store_val *cols, int n, const char *name)
{
    const store_val *v = col(cols, n, name);
    return !v || v->t == SV_NULL;
}

/* ---- arguments ----------------------------------------------------------------------------- */

static const char *arg(req *r, const char *k)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, k);
}

/* An integer argument within [lo, hi] (default when absent). -1 with a 400 answer. */
static int int_arg(req *r, const char *k, long dflt, long lo, long hi, long *out)
{
    const char *v = arg(r, k);
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

static bool valid_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    return end && !*end && strlen(s) == 10;
}

/* The date `back` days before today (local), as YYYY-MM-DD. */
static void day_back(int back, char out[11])
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
static void day_next(const char *d, char out[11])
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

typedef struct rows {
    json_t *arr;
    json_t *(*shape)(const store_val *cols, int n, void *u);
    void *u;
} rows;

static int collect(void *user, const store_val *cols, int n)
{
    rows *r = user;
    json_t *o = r->shape(cols, n, r->u);
    return o ? json_array_append_new(r->arr, o) : 0;
}

static json_t *query(req *r, store_qid q, const store_val *p, int np,
                     json_t *(*shape)(const store_val *, int, void *), void *u)
{
    rows rs = {json_array(), shape, u};
    if (store_query(r->s->store, q, p, np, collect, &rs) != 0) {
        json_decref(rs.arr);
        return NULL;
    }
    return rs.arr;
}

/* ---- figures of a day (or a period) -------------------------------------------------------- */

static json_t *categories(const store_val *c, int n)
{
    json_t *o = json_object();
    for (int k = 0; k < 8; k++) {
        char s[40], m[40];
        snprintf(s, sizeof(s), "%s_sum", k_cats[k]);
        snprintf(m, sizeof(m), "%s_n", k_cats[k]);
        double cnt = num(c, n, m);
        json_object_set_new(o, k_cats[k], round_or_null(cnt > 0, num(c, n, s) / cnt, 2));
    }
    return o;
}

static json_t *null_categories(void)
{
    json_t *o = json_object();
    for (int k = 0; k < 8; k++)
        json_object_set_new(o, k_cats[k], json_null());
    return o;
}

/* What callqa adds to a day's (or period's) figures: the analysis. */
static void analysis_figures(json_t *o, const store_val *c, int n)
{
    json_object_set_new(o, "analysed_calls", json_integer((json_int_t)num(c, n, "analysed")));
    json_object_set_new(o, "skipped_calls", json_integer((json_int_t)num(c, n, "skipped")));
    json_object_set_new(o, "error_calls", json_integer((json_int_t)num(c, n, "errors")));
    /* times and one-way calls are of the analysed calls: none analysed, no figure */
    bool any = num(c, n, "analysed") > 0;
    json_object_set_new(o, "talk_sec", round_or_null(any, num(c, n, "talk_sec"), 1));
    json_object_set_new(o, "hold_sec", round_or_null(any, num(c, n, "hold_sec"), 1));
    json_object_set_new(o, "dead_air_sec", round_or_null(any, num(c, n, "dead_air_sec"), 1));
    json_object_set_new(o, "one_way_calls",
                        any ? json_integer((json_int_t)num(c, n, "one_way_calls")) : json_null());
    double mn = num(c, n, "mos_n");
    json_object_set_new(o, "avg_mos", round_or_null(mn > 0, num(c, n, "mos_sum") / mn, 2));
}

/* What callqa adds to the scores: the partial scores (normalised over the categories scored),
 * which calls scored without an LLM have where the total is null. */
static void partial_figures(json_t *o, const store_val *c, int n)
{
    double pn = num(c, n, "partial_n");
    json_object_set_new(o, "partial_scored_calls", json_integer((json_int_t)pn));
    json_object_set_new(o, "avg_partial_score",
                        round_or_null(pn > 0, num(c, n, "partial_sum") / pn, 1));
}

typedef struct day_best {
    char day[11];
    char top[65], bottom[65]; /* agent ids */
    double top_avg, bottom_avg;
    bool have;
} day_best;

typedef struct best_list {
    day_best *d;
    int n, cap;
} best_list;

/* The best and worst agent of each day among those with enough scored calls. */
static int best_row(void *user, const store_val *c, int n)
{
    best_list *b = user;
    const store_val *day = col(c, n, "day"), *ag = col(c, n, "agent_user");
    double cnt = num(c, n, "n");
    if (!day || day->t != SV_TEXT || !ag || ag->t != SV_TEXT || cnt <= 0)
        return 0;
    double avg = num(c, n, "score_sum") / cnt;
    day_best *d = b->n && !strcmp(b->d[b->n - 1].day, day->s) ? &b->d[b->n - 1] : NULL;
    for (int i = 0; !d && i < b->n; i++) /* the rows come grouped by day: the last one first */
        if (!strcmp(b->d[i].day, day->s))
            d = &b->d[i];
    if (!d) {
        if (b->n == b->cap) {
            int cap = b->cap ? 2 * b->cap : 16;
            day_best *nd = realloc(b->d, (size_t)cap * sizeof(*nd));
            if (!nd)
                return 1;
            b->d = nd, b->cap = cap;
        }
        d = &b->d[b->n++];
        memset(d, 0, sizeof(*d));
        snprintf(d->day, sizeof(d->day), "%s", day->s);
    }
    if (!d->have || avg > d->top_avg || (avg == d->top_avg && strcmp(ag->s, d->top) < 0)) {
        snprintf(d->top, sizeof(d->top), "%s", ag->s);
        d->top_avg = avg;
    }
    if (!d->have || avg < d->bottom_avg || (avg == d->bottom_avg && strcmp(ag->s, d->bottom) < 0)) {
        snprintf(d->bottom, sizeof(d->bottom), "%s", ag->s);
        d->bottom_avg = avg;
    }
    d->have = true;
    return 0;
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
    h->total = (int64_t)num(c, n, "total_calls");
    h->complete = (int64_t)num(c, n, "complete_calls");
    h->scored = (int64_t)num(c, n, "total_scored");
    h->flagged = (int64_t)num(c, n, "total_flagged");
    h->have_last = !is_null(c, n, "last_processed");
    h->last = num(c, n, "last_processed");
    return 0;
}

static void local_time(double t, char out[20])
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
        return store_failed(r);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    int64_t bytes = store_size_bytes(r->s->store);
    json_object_set_new(o, "db_size_mb", round_or_null(bytes >= 0, (double)bytes / 1048576.0, 2));
    json_object_set_new(o, "total_scored", json_integer(h.scored));
    json_object_set_new(o, "total_flagged", json_integer(h.flagged));
    char t[20];
    if (h.have_last)
        local_time(h.last, t);
    json_object_set_new(o, "last_processed", h.have_last ? json_string(t) : json_null());
    json_object_set_new(o, "total_calls", json_integer(h.total));
    json_object_set_new(o, "complete_calls", json_integer(h.complete));
    return send_json(r, 200, o);
}

/* ---- GET /api/qa/daily-summary, /api/qa/trends ---------------------------------------------- */

typedef struct day_rows {
    json_t *by_day; /* day -> the row's figures as an object of raw values */
} day_rows;

static int keep_day(void *user, const store_val *c, int n)
{
    day_rows *d = user;
    const store_val *day = col(c, n, "day");
    if (!day || day->t != SV_TEXT)
        return 0;
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, c[i].name, val_json(&c[i], -1));
    json_object_set_new(d->by_day, day->s, o);
    return 0;
}

/* A day's raw figures back as store values (for the shaping helpers). */
static int vals_of(json_t *o, store_val *v, int max)
{
    int n = 0;
    const char *k;
    json_t *x;
    json_object_foreach(o, k, x)
    {
        if (n == max)
            break;
        v[n] = (store_val){.name = k};
        if (json_is_integer(x))
            v[n].t = SV_INT, v[n].i = json_integer_value(x);
        else if (json_is_real(x))
            v[n].t = SV_REAL, v[n].d = json_real_value(x);
        else if (json_is_string(x))
            v[n].t = SV_TEXT, v[n].s = json_string_value(x);
        n++;
    }
    return n;
}

/* The period [from, to] (both YYYY-MM-DD) from `date` or `days`; -1 with a 400 answer. */
static int period(req *r, long dflt, long lo, long hi, char from[11], char to[11])
{
    const char *date = arg(r, "date");
    if (date) {
        if (!valid_date(date)) {
            svc_answer_error(r, 400, "bad_argument", "date must be YYYY-MM-DD");
            return -1;
        }
        snprintf(from, 11, "%s", date);
        snprintf(to, 11, "%s", date);
        return 0;
    }
    long days;
    if (int_arg(r, "days", dflt, lo, hi, &days))
        return -1;
    day_back((int)days - 1, from);
    day_back(0, to);
    return 0;
}

static enum MHD_Result days_answer(req *r, bool trends)
{
    char from[11], to[11];
    if (period(r, trends ? 30 : 7, trends ? 7 : 1, trends ? 365 : 90, from, to))
        return svc_send(r);
    const char *campaign = trends ? arg(r, "campaign") : NULL;
    day_rows d = {json_object()};
    store_val p[3] = {SV_S(from), SV_S(to), SV_S(campaign)};
    if (store_query(r->s->store, SQ_DAILY, p, 3, keep_day, &d) != 0) {
        json_decref(d.by_day);
        return store_failed(r);
    }
    best_list best = {0};
    store_val p3[3] = {SV_S(from), SV_S(to), SV_I(3)};
    if (!trends && store_query(r->s->store, SQ_DAY_AGENTS, p3, 3, best_row, &best) != 0) {
        json_decref(d.by_day);
        free(best.d);
        return store_failed(r);
    }
    json_t *arr = json_array();
    char day[11];
    snprintf(day, sizeof(day), "%s", from);
    for (int guard = 0; strcmp(day, to) <= 0 && guard < 400; guard++) {
        json_t *raw = json_object_get(d.by_day, day);
        store_val v[64];
        int n = raw ? vals_of(raw, v, 64) : 0;
        double scored = num(v, n, "scored"), calls = num(v, n, "total_calls");
        json_t *o = json_object();
        json_object_set_new(o, "date", json_string(day));
        if (trends) {
            json_object_set_new(o, "calls", json_integer((json_int_t)calls));
            json_object_set_new(o, "avg_score",
                                round_or_null(scored > 0, num(v, n, "score_sum") / scored, 1));
            json_object_set_new(o, "flagged", json_integer((json_int_t)num(v, n, "flagged")));
            json_object_set_new(o, "categories", raw ? categories(v, n) : null_categories());
        } else {
            json_object_set_new(o, "total_calls", json_integer((json_int_t)calls));
            json_object_set_new(o, "scored_calls", json_integer((json_int_t)scored));
            json_object_set_new(o, "avg_score",
                                round_or_null(scored > 0, num(v, n, "score_sum") / scored, 1));
            json_object_set_new(o, "flagged_calls", json_integer((json_int_t)num(v, n, "flagged")));
            const day_best *b = NULL;
            for (int i = 0; i < best.n; i++)
                if (!strcmp(best.d[i].day, day))
                    b = &best.d[i];
            json_object_set_new(o, "top_agent", b ? svc_json_text(b->top) : json_null());
            json_object_set_new(o, "top_score", round_or_null(b != NULL, b ? b->top_avg : 0, 1));
            json_object_set_new(o, "bottom_agent", b ? svc_json_text(b->bottom) : json_null());
            json_object_set_new(o, "bottom_score",
                                round_or_null(b != NULL, b ? b->bottom_avg : 0, 1));
            json_object_set_new(o, "category_averages", raw ? categories(v, n) : null_categories());
        }
        partial_figures(o, v, n);
        analysis_figures(o, v, n);
        json_array_append_new(arr, o);
        day_next(day, day);
    }
    json_decref(d.by_day);
    free(best.d);
    return send_json(r, 200, arr);
}

enum MHD_Result svc_qa_daily(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return days_answer(r, false);
}

enum MHD_Result svc_qa_trends(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return days_answer(r, true);
}

/* ---- GET /api/qa/agent/{agent_user} -------------------------------------------------------- */

typedef struct agent_acc {
    json_t *trend;
    double calls, scored, score_sum, flagged, min, max;
    bool have_min;
    json_t *cat_raw; /* sums and counts */
    double mos_sum, mos_n, analysed, skipped, errors, talk, hold, dead, one_way;
    double partial_n, partial_sum;
} agent_acc;

static int agent_day(void *user, const store_val *c, int n)
{
    agent_acc *a = user;
    double calls = num(c, n, "total_calls"), scored = num(c, n, "scored");
    a->calls += calls, a->scored += scored, a->score_sum += num(c, n, "score_sum");
    a->flagged += num(c, n, "flagged");
    if (!is_null(c, n, "score_min") && (!a->have_min || num(c, n, "score_min") < a->min))
        a->min = num(c, n, "score_min");
    if (!is_null(c, n, "score_max") && (!a->have_min || num(c, n, "score_max") > a->max))
        a->max = num(c, n, "score_max");
    a->have_min = a->have_min || !is_null(c, n, "score_min");
    for (int i = 0; i < n; i++)
        if (strstr(c[i].name, "_sum") ||
            (strlen(c[i].name) > 2 && !strcmp(c[i].name + strlen(c[i].name) - 2, "_n"))) {
            json_t *prev = json_object_get(a->cat_raw, c[i].name);
            double v = (prev ? json_number_value(prev) : 0) + num(c, n, c[i].name);
            json_object_set_new(a->cat_raw, c[i].name, json_real(v));
        }
    a->analysed += num(c, n, "analysed"), a->skipped += num(c, n, "skipped");
    a->errors += num(c, n, "errors"), a->talk += num(c, n, "talk_sec");
    a->hold += num(c, n, "hold_sec"), a->dead += num(c, n, "dead_air_sec");
    a->one_way += num(c, n, "one_way_calls");
    a->mos_sum += num(c, n, "mos_sum"), a->mos_n += num(c, n, "mos_n");
    a->partial_n += num(c, n, "partial_n"), a->partial_sum += num(c, n, "partial_sum");
    json_t *t = json_object();
    const store_val *day = col(c, n, "day");
    json_object_set_new(t, "date", day ? val_json(day, -1) : json_null());
    json_object_set_new(t, "calls", json_integer((json_int_t)calls));
    json_object_set_new(t, "avg_score",
                        round_or_null(scored > 0, num(c, n, "score_sum") / scored, 1));
    json_array_append_new(a->trend, t);
    return 0;
}

static int first_text(void *user, const store_val *c, int n)
{
    char *out = user;
    if (n > 0 && c[0].t == SV_TEXT)
        snprintf(out, 256, "%s", c[0].s);
    return 1;
}

enum MHD_Result svc_qa_agent(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    char from[11], to[11];
    long days;
    if (int_arg(r, "days", 30, 1, 365, &days))
        return svc_send(r);
    day_back((int)days - 1, from);
    day_back(0, to);
    const char *agent = r->param;
    char name[256] = "";
    store_val pa[1] = {SV_S(agent)};
    if (store_query(r->s->store, SQ_AGENT, pa, 1, first_text, name) != 0)
        return store_failed(r);
    agent_acc a = {.trend = json_array(), .cat_raw = json_object()};
    store_val p[3] = {SV_S(agent), SV_S(from), SV_S(to)};
    if (store_query(r->s->store, SQ_AGENT_DAYS, p, 3, agent_day, &a) != 0) {
        json_decref(a.trend), json_decref(a.cat_raw);
        return store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "agent_user", svc_json_text(agent));
    json_object_set_new(o, "agent_name", name[0] ? json_string(name) : json_null());
    json_object_set_new(o, "period_start", json_string(from));
    json_object_set_new(o, "period_end", json_string(to));
    json_object_set_new(o, "total_calls", json_integer((json_int_t)a.calls));
    json_object_set_new(o, "avg_score", round_or_null(a.scored > 0, a.score_sum / a.scored, 1));
    json_object_set_new(o, "min_score", round_or_null(a.have_min, a.min, 1));
    json_object_set_new(o, "max_score", round_or_null(a.have_min, a.max, 1));
    json_object_set_new(o, "flagged_calls", json_integer((json_int_t)a.flagged));
    store_val cv[40];
    int cn = vals_of(a.cat_raw, cv, 40);
    json_object_set_new(o, "category_averages", categories(cv, cn));
    json_object_set_new(o, "trend", a.trend);
    store_val pv[] = {{.name = "partial_n", .t = SV_REAL, .d = a.partial_n},
                      {.name = "partial_sum", .t = SV_REAL, .d = a.partial_sum}};
    partial_figures(o, pv, 2);
    store_val av[] = {{.name = "analysed", .t = SV_REAL, .d = a.analysed},
                      {.name = "skipped", .t = SV_REAL, .d = a.skipped},
                      {.name = "errors", .t = SV_REAL, .d = a.errors},
                      {.name = "talk_sec", .t = SV_REAL, .d = a.talk},
                      {.name = "hold_sec", .t = SV_REAL, .d = a.hold},
                      {.name = "dead_air_sec", .t = SV_REAL, .d = a.dead},
                      {.name = "one_way_calls", .t = SV_REAL, .d = a.one_way},
                      {.name = "mos_sum", .t = SV_REAL, .d = a.mos_sum},
                      {.name = "mos_n", .t = SV_REAL, .d = a.mos_n}};
    analysis_figures(o, av, 9);
    json_decref(a.cat_raw);
    return send_json(r, 200, o);
}

/* ---- GET /api/qa/flagged, /api/qa/leaderboard ---------------------------------------------- */

static json_t *flagged_shape(const store_val *c, int n, void *u)
{
    (void)u;
    json_t *o = json_object();
    static const char *const keys[] = {
        "recording_id", "agent_user",  "agent_name", "campaign_id",   "call_date", "call_length",
        "total_score",  "flag_reason", "summary",    "partial_score", "coverage"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const store_val *v = col(c, n, keys[k]);
        int prec = !strcmp(keys[k], "total_score") || !strcmp(keys[k], "partial_score") ? 1
                   : !strcmp(keys[k], "coverage")                                       ? 2
                                                                                        : -1;
        json_object_set_new(o, keys[k], v ? val_json(v, prec) : json_null());
    }
    json_t *sc = json_object();
    for (int k = 0; k < 8; k++) {
        const store_val *v = col(c, n, k_cats[k]);
        json_object_set_new(sc, k_cats[k], v ? val_json(v, -1) : json_null());
    }
    json_object_set_new(o, "scores", sc);
    return o;
}

enum MHD_Result svc_qa_flagged(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days, limit;
    if (int_arg(r, "days", 7, 1, 90, &days) || int_arg(r, "limit", 50, 1, 500, &limit))
        return svc_send(r);
    char from[11], to[11];
    day_back((int)days - 1, from);
    day_back(0, to);
    store_val p[5] = {SV_S(from), SV_S(to), SV_S(arg(r, "agent")), SV_S(arg(r, "campaign")),
                      SV_I(limit)};
    json_t *a = query(r, SQ_FLAGGED, p, 5, flagged_shape, NULL);
    return a ? send_json(r, 200, a) : store_failed(r);
}

static int cmp_leader(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    double sa = json_number_value(json_object_get(a, "avg_score"));
    double sb = json_number_value(json_object_get(b, "avg_score"));
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a, "agent_user")),
                  json_string_value(json_object_get(b, "agent_user")));
}

static json_t *leader_shape(const store_val *c, int n, void *u)
{
    (void)u;
    double calls = num(c, n, "calls");
    json_t *o = json_object();
    json_object_set_new(o, "agent_user", val_json(col(c, n, "agent_user"), -1));
    json_object_set_new(o, "agent_name", val_json(col(c, n, "agent_name"), -1));
    json_object_set_new(o, "calls", json_integer((json_int_t)calls));
    json_object_set_new(o, "avg_score",
                        round_or_null(calls > 0, num(c, n, "score_sum") / calls, 1));
    json_object_set_new(o, "min_score",
                        round_or_null(!is_null(c, n, "score_min"), num(c, n, "score_min"), 1));
    json_object_set_new(o, "max_score",
                        round_or_null(!is_null(c, n, "score_max"), num(c, n, "score_max"), 1));
    json_object_set_new(o, "flagged", json_integer((json_int_t)num(c, n, "flagged")));
    return o;
}

enum MHD_Result svc_qa_leaderboard(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days, min_calls;
    if (int_arg(r, "days", 7, 1, 90, &days) || int_arg(r, "min_calls", 5, 1, 100000, &min_calls))
        return svc_send(r);
    char from[11], to[11];
    day_back((int)days - 1, from);
    day_back(0, to);
    store_val p[3] = {SV_S(from), SV_S(to), SV_I(min_calls)};
    json_t *a = query(r, SQ_LEADERBOARD, p, 3, leader_shape, NULL);
    if (!a)
        return store_failed(r);
    size_t n = json_array_size(a);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(a, i));
    qsort(v, n, sizeof(*v), cmp_leader);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer((json_int_t)i + 1));
        json_object_update(o, v[i]);
        json_decref(v[i]);
        json_array_append_new(out, o);
    }
    free(v);
    json_decref(a);
    return send_json(r, 200, out);
}

/* ---- calls --------------------------------------------------------------------------------- */

/* The dashboard's problem badges' thresholds (docs/service.md, "The calls list") */
#define BADGE_DEAD_AIR_SEC 10.0 /* dead air in all, s */
#define BADGE_CLIPPING_PCT 0.1  /* clipped samples of a leg, % (the assessment's "clipping") */
#define BADGE_LEVEL_DB (-35.0)  /* a talking leg's speech level below it, dBFS ("too_quiet") */
#define BADGE_MOS 3.0           /* a leg's NISQA MOS below it */

static bool has_code(const char *codes, const char *code)
{
    size_t n = strlen(code);
    for (const char *t = codes; t && *t;) {
        size_t len = strcspn(t, ",");
        if (len == n && !strncmp(t, code, n))
            return true;
        t += len + (t[len] == ',');
    }
    return false;
}

/* The problems of an analysed call, from its stored figures and warning codes. */
static json_t *badges(const store_val *c, int n)
{
    json_t *b = json_array();
    const store_val *w = col(c, n, "warning_codes");
    const char *codes = w && w->t == SV_TEXT ? w->s : "";
    if (!is_null(c, n, "one_way") && num(c, n, "one_way") != 0)
        json_array_append_new(b, json_string("one_way"));
    if (!is_null(c, n, "dead_air_sec") && num(c, n, "dead_air_sec") >= BADGE_DEAD_AIR_SEC)
        json_array_append_new(b, json_string("dead_air"));
    if (!is_null(c, n, "clipping_pct") && num(c, n, "clipping_pct") >= BADGE_CLIPPING_PCT)
        json_array_append_new(b, json_string("clipping"));
    if (!is_null(c, n, "level_db") && num(c, n, "level_db") < BADGE_LEVEL_DB)
        json_array_append_new(b, json_string("low_level"));
    /* sample-identical channels, or channels that correlate at 0.95 or more: one signal */
    if (has_code(codes, "fake_stereo") || has_code(codes, "near_identical_legs"))
        json_array_append_new(b, json_string("fake_stereo"));
    if (has_code(codes, "legs_swapped"))
        json_array_append_new(b, json_string("swapped_legs"));
    if ((!is_null(c, n, "mos_in") && num(c, n, "mos_in") < BADGE_MOS) ||
        (!is_null(c, n, "mos_out") && num(c, n, "mos_out") < BADGE_MOS))
        json_array_append_new(b, json_string("mos_low"));
    return b;
}

/* A call as the API shows it: the old service's fields, then callqa's. */
static json_t *call_shape(const store_val *c, int n, void *u)
{
    (void)u;
    json_t *o = json_object();
    static const char *const ids[] = {"recording_id", "uniqueid",    "agent_user",
                                      "agent_name",   "campaign_id", "call_date",
                                      "call_length",  "call_status", "processing_status"};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        const store_val *v = col(c, n, ids[k]);
        json_object_set_new(o, ids[k], v ? val_json(v, -1) : json_null());
    }
    /* the whole text, one "speaker: text" line per turn; null until transcribed */
    json_object_set_new(o, "transcript", val_json(col(c, n, "transcript"), -1));
    if (!is_null(c, n, "word_count")) {
        json_object_set_new(o, "language", val_json(col(c, n, "language"), -1));
        json_object_set_new(o, "word_count", val_json(col(c, n, "word_count"), -1));
        json_object_set_new(o, "transcription_time", val_json(col(c, n, "transcription_time"), 3));
    }
    /* scored: the call has a scores row (its total may still be null: a category not judged) */
    bool scored = !is_null(c, n, "scored_at");
    json_object_set_new(o, "total_score",
                        round_or_null(!is_null(c, n, "total_score"), num(c, n, "total_score"), 1));
    if (scored) {
        json_t *sc = json_object();
        for (int k = 0; k < 8; k++)
            json_object_set_new(sc, k_cats[k], val_json(col(c, n, k_cats[k]), -1));
        json_object_set_new(o, "scores", sc);
    } else {
        json_object_set_new(o, "scores", json_null());
    }
    static const char *const more[] = {"summary", "flag_reason", "llm_provider"};
    for (size_t k = 0; k < 3; k++)
        json_object_set_new(o, more[k], val_json(col(c, n, more[k]), -1));
    static const char *const lists[] = {"strengths", "improvements"};
    for (size_t k = 0; k < 2; k++) {
        const store_val *v = col(c, n, lists[k]);
        json_t *parsed = v && v->t == SV_TEXT ? json_loads(v->s, 0, NULL) : NULL;
        json_object_set_new(o, lists[k], parsed ? parsed : json_null());
    }
    json_object_set_new(o, "flagged", json_boolean(num(c, n, "flagged") != 0));
    /* callqa's */
    static const char *const ours[] = {
        "call_id",       "source",      "vicidial_id", "lead_id",
        "campaign_name", "direction",   "tz",          "call_epoch",
        "term_reason",   "skip_reason", "error_stage", "error_message",
        "retry_count",   "llm_model",   "scorecard",   "scorecard_hash",
        "provider_hash"};
    for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
        const store_val *v = col(c, n, ours[k]);
        if (v && v->t == SV_TEXT &&
            (!strcmp(ours[k], "error_message") || !strcmp(ours[k], "skip_reason")))
            json_object_set_new(o, ours[k], redacted(v->s));
        else
            json_object_set_new(o, ours[k], val_json(v, -1));
    }
    json_object_set_new(o, "partial_score", val_json(col(c, n, "partial_score"), 1));
    json_object_set_new(o, "coverage", val_json(col(c, n, "coverage"), 2));
    if (is_null(c, n, "topic_class")) {
        json_object_set_new(o, "topic", json_null());
    } else {
        json_t *tp = json_object();
        json_object_set_new(tp, "class", val_json(col(c, n, "topic_class"), -1));
        json_object_set_new(tp, "subclass", val_json(col(c, n, "topic_subclass"), -1));
        json_object_set_new(o, "topic", tp);
    }
    const store_val *stg = col(c, n, "stages");
    json_t *stages = stg && stg->t == SV_TEXT ? json_loads(stg->s, 0, NULL) : NULL;
    json_object_set_new(o, "stages", stages ? stages : json_object());
    if (is_null(c, n, "legs")) {
        json_object_set_new(o, "analysis", json_null());
        json_object_set_new(o, "badges", json_null());
        return o;
    }
    json_object_set_new(o, "badges", badges(c, n));
    json_t *a = json_object();
    static const char *const fig[] = {
        "duration_sec", "legs",        "speech_pct_in", "speech_pct_out", "mos_in",
        "mos_out",      "talk_sec_in", "talk_sec_out",  "dead_air_sec",   "overtalk_sec",
        "hold_sec",     "hold_count",  "tone_count",    "dtmf_count"};
    for (size_t k = 0; k < sizeof(fig) / sizeof(fig[0]); k++)
        json_object_set_new(a, fig[k], val_json(col(c, n, fig[k]), 2));
    json_object_set_new(a, "one_way",
                        is_null(c, n, "one_way") ? json_null()
                                                 : json_boolean(num(c, n, "one_way") != 0));
    const store_val *w = col(c, n, "warning_codes");
    json_t *codes = json_array();
    if (w && w->t == SV_TEXT && *w->s) {
        for (const char *t = w->s; *t;) {
            size_t len = strcspn(t, ",");
            if (len)
                json_array_append_new(codes, json_stringn(t, len));
            t += len + (t[len] == ',');
        }
    }
    json_object_set_new(a, "warning_codes", codes);
    json_object_set_new(o, "analysis", a);
    return o;
}

/* ---- scores: a call's detail and overrides, PATCH .../scores, GET /api/qa/agreement -------- */

/* the newest override of each category: {category: {score, supervisor, comment, created}} */
static int override_row(void *user, const store_val *c, int n)
{
    json_t *o = user;
    const store_val *cat = col(c, n, "category");
    if (!cat || cat->t != SV_TEXT)
        return 0;
    json_t *v = json_object();
    json_object_set_new(v, "score", json_integer((json_int_t)llround(num(c, n, "score"))));
    json_object_set_new(v, "supervisor", val_json(col(c, n, "supervisor"), -1));
    json_object_set_new(v, "comment", val_json(col(c, n, "comment"), -1));
    char t[20];
    local_time(num(c, n, "created"), t);
    json_object_set_new(v, "created", json_string(t));
    json_object_set_new(o, cat->s, v);
    return 0;
}

static json_t *overrides_of(req *r, int64_t call_id)
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
    const store_val *d = col(c, n, "detail");
    s->detail = d && d->t == SV_TEXT ? json_loads(d->s, 0, NULL) : NULL;
    return 1;
}

/* The call's scores row: 1 (detail parsed or NULL), 0 none, -1 store error. */
static int score_of(req *r, int64_t call_id, json_t **detail)
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
static int64_t call_of(req *r, json_t **row)
{
    if (row)
        *row = NULL;
    store_val p[1] = {SV_S(r->param)};
    json_t *a = query(r, SQ_CALL, p, 1, call_shape, NULL);
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
            json_object_set_new(set, k_cats[k], json_true());
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
    int64_t call_id = call_of(r, NULL);
    if (call_id < 0) {
        json_decref(b);
        return call_id == -2 ? store_failed(r) : svc_send(r);
    }
    json_t *detail = NULL;
    int got = score_of(r, call_id, &detail);
    if (got <= 0) {
        json_decref(b);
        if (got < 0)
            return store_failed(r);
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
    int rc =
        store_score_overrides(r->s->store, call_id, cats, vals, n, json_string_value(sup),
                              json_is_string(com) ? json_string_value(com) : NULL, svc_now_sec());
    json_decref(b);
    if (rc < 0)
        return store_failed(r);
    if (rc == 0) {
        svc_answer_error(r, 409, "not_scored", "call %.64s has no scores yet", r->param);
        return svc_send(r);
    }
    json_t *ov = overrides_of(r, call_id);
    if (!ov)
        return store_failed(r);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer(call_id));
    json_object_set_new(o, "overrides", ov);
    return send_json(r, 200, o);
}

static int agreement_row(void *user, const store_val *c, int n)
{
    json_t *cats = user;
    const store_val *cat = col(c, n, "category");
    if (!cat || cat->t != SV_TEXT)
        return 0;
    double cmp = num(c, n, "compared");
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)num(c, n, "n")));
    json_object_set_new(o, "compared", json_integer((json_int_t)cmp));
    json_object_set_new(o, "exact_rate", round_or_null(cmp > 0, num(c, n, "exact") / cmp, 3));
    json_object_set_new(o, "within_one_rate",
                        round_or_null(cmp > 0, num(c, n, "within_one") / cmp, 3));
    json_object_set_new(o, "mean_abs_diff",
                        round_or_null(cmp > 0, num(c, n, "abs_diff_sum") / cmp, 2));
    json_object_set_new(cats, cat->s, o);
    return 0;
}

enum MHD_Result svc_qa_agreement(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days;
    if (int_arg(r, "days", 30, 1, 365, &days))
        return svc_send(r);
    char from[11], to[11];
    day_back((int)days - 1, from);
    day_back(0, to);
    json_t *cats = json_object();
    for (int k = 0; k < 8; k++) {
        json_t *o = json_object();
        json_object_set_new(o, "n", json_integer(0));
        json_object_set_new(o, "compared", json_integer(0));
        json_object_set_new(o, "exact_rate", json_null());
        json_object_set_new(o, "within_one_rate", json_null());
        json_object_set_new(o, "mean_abs_diff", json_null());
        json_object_set_new(cats, k_cats[k], o);
    }
    store_val p[2] = {SV_S(from), SV_S(to)};
    if (store_query(r->s->store, SQ_AGREEMENT, p, 2, agreement_row, cats) != 0) {
        json_decref(cats);
        return store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "period_start", json_string(from));
    json_object_set_new(o, "period_end", json_string(to));
    json_object_set_new(o, "categories", cats);
    return send_json(r, 200, o);
}

/* the stored transcript block, parsed */
static json_t *detail_row(const store_val *c, int n, void *u)
{
    (void)u;
    const store_val *d = col(c, n, "detail");
    json_t *v = d && d->t == SV_TEXT ? json_loads(d->s, 0, NULL) : NULL;
    return v ? v : json_null();
}

enum MHD_Result svc_qa_call(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    store_val p[1] = {SV_S(r->param)};
    json_t *a = query(r, SQ_CALL, p, 1, call_shape, NULL);
    if (!a)
        return store_failed(r);
    if (!json_array_size(a)) {
        json_decref(a);
        svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                         r->param);
        return svc_send(r);
    }
    json_t *o = json_incref(json_array_get(a, 0));
    json_decref(a);
    /* the transcript's segments, words, turns and guard (docs/transcription.md) */
    json_t *id = json_object_get(o, "call_id");
    if (json_is_integer(id) && !json_is_null(json_object_get(o, "transcript"))) {
        store_val q[1] = {SV_I(json_integer_value(id))};
        json_t *t = query(r, SQ_TRANSCRIPT, q, 1, detail_row, NULL);
        json_t *d = t && json_array_size(t) ? json_incref(json_array_get(t, 0)) : NULL;
        json_decref(t);
        json_object_set_new(o, "transcript_detail", d ? d : json_null());
    }
    /* the stored result in full, and the supervisors' overrides beside the automatic scores */
    json_t *detail = NULL, *ov = NULL;
    int got = json_is_integer(id) ? score_of(r, json_integer_value(id), &detail) : 0;
    if (got >= 0 && json_is_integer(id))
        ov = overrides_of(r, json_integer_value(id));
    if (got < 0 || !ov) {
        json_decref(detail);
        json_decref(o);
        return store_failed(r);
    }
    json_object_set_new(o, "score_detail", detail ? detail : json_null());
    json_object_set_new(o, "overrides", ov);
    /* the recordings GET /api/qa/call/{id}/audio can serve (svc_audio.c) */
    json_t *audio = json_is_integer(id) ? svc_audio_legs(r, json_integer_value(id)) : NULL;
    if (!audio) {
        json_decref(o);
        return store_failed(r);
    }
    json_object_set_new(o, "audio", audio);
    return send_json(r, 200, o);
}

/* ---- POST /api/qa/call/{id}/transcript --------------------------------------------------- */

static json_t *report_row(const store_val *c, int n, void *u)
{
    (void)u;
    const store_val *v = col(c, n, "report");
    return v && v->t == SV_TEXT ? json_string(v->s) : json_null();
}

/* A call's stored report in full (docs/report.md), for the timeline and the raw download, with
 * the assessment by rules made from it (docs/assess.md): {call_id, recording_id, report,
 * assessment: {engine, text, findings}}. 404 until the call is analysed. */
enum MHD_Result svc_qa_report(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    json_t *row;
    int64_t call_id = call_of(r, &row);
    if (call_id < 0)
        return call_id == -2 ? store_failed(r) : svc_send(r);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer((json_int_t)call_id));
    json_object_set(o, "recording_id", json_object_get(row, "recording_id"));
    json_decref(row);
    store_val q[1] = {SV_I(call_id)};
    json_t *rep = query(r, SQ_REPORT, q, 1, report_row, NULL);
    if (!rep) {
        json_decref(o);
        return store_failed(r);
    }
    const char *text = json_string_value(json_array_get(rep, 0));
    json_error_t jerr;
    json_t *report = text ? json_loads(text, 0, &jerr) : NULL;
    if (!report) {
        json_decref(rep);
        json_decref(o);
        svc_answer_error(r, 404, "not_analysed", "call %.64s has no stored analysis yet", r->param);
        return svc_send(r);
    }
    char *verdict = NULL, *findings = NULL, err[300];
    json_t *as = json_object();
    if (sc_assess_report(text, &verdict, &findings, err, sizeof(err)) == 0) {
        json_object_set_new(as, "engine", json_string("rules"));
        json_object_set_new(as, "text", json_string(verdict));
        json_t *f = json_loads(findings, 0, &jerr);
        json_object_set_new(as, "findings", f ? f : json_array());
    } else {
        json_object_set_new(as, "engine", json_null());
        json_object_set_new(as, "error", json_string(err));
    }
    free(verdict);
    free(findings);
    json_decref(rep);
    json_object_set_new(o, "report", report);
    json_object_set_new(o, "assessment", as);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    svc_answer(r, 200, body, "application/json");
    return svc_send(r);
}

/* A transcript made elsewhere (docs/transcription.md, "Import"), checked against the call's
 * analysed speech when there is one, stored in place of any earlier one. */
/* The import of r's transcript, its answer set (never sent: the event-loop thread sends it when
 * the connection is resumed). */
static void transcript_answer(req *r)
{
    json_t *row = NULL;
    int64_t call_id = call_of(r, &row);
    json_decref(row);
    if (call_id < 0) {
        if (call_id == -2)
            svc_answer_error(r, 500, "store", "the store could not answer: %s",
                             store_errmsg(r->s->store));
        return;
    }
    store_val q[1] = {SV_I(call_id)};
    json_t *rep = query(r, SQ_REPORT, q, 1, report_row, NULL);
    if (!rep) {
        svc_answer_error(r, 500, "store", "the store could not answer: %s",
                         store_errmsg(r->s->store));
        return;
    }
    const char *report = json_string_value(json_array_get(rep, 0));
    tx_transcript t;
    char err[400];
    if (tx_import(r->upload, r->upload_len, arg(r, "speaker"), report, &t, err, sizeof(err)) != 0) {
        json_decref(rep);
        svc_answer_error(r, 400, "bad_transcript", "%s", err);
        return;
    }
    json_decref(rep);
    char *js = tx_to_json(&t);
    tx_transcript_free(&t);
    qa_stored_tx st;
    int rc = js ? qa_stored_tx_from_json(js, "import", call_id, &st, err, sizeof(err)) : -1;
    if (rc == 0) {
        rc = store_transcript_put(r->s->store, &st.t, svc_now_sec()) == STORE_OK ? 0 : -2;
        qa_stored_tx_free(&st);
    }
    if (rc != 0) {
        free(js);
        if (rc == -2)
            svc_answer_error(r, 500, "store", "the store could not answer: %s",
                             store_errmsg(r->s->store));
        else
            svc_answer_error(r, 500, "internal", "out of memory");
        return;
    }
    svc_answer(r, 200, js, "application/json");
}

#define MAX_IMPORTS 2 /* transcripts imported at once; more wait their turn with 503 */
static atomic_int g_imports;

static void *transcript_job(void *arg)
{
    req *r = arg;
    transcript_answer(r);
    /* a big transcript's parse takes hundreds of MiB: given back now, not at exit */
    free(r->upload);
    atomic_fetch_sub(&r->s->body_bytes, r->upload_cap);
    r->upload = NULL, r->upload_len = r->upload_cap = 0;
    malloc_trim(0);
    atomic_fetch_sub(&g_imports, 1);
    MHD_resume_connection(r->conn);
    return NULL;
}

enum MHD_Result svc_qa_transcript_start(req *r)
{
    r->body_limit = r->s->cfg->max_transcript;
    return svc_body_start(r);
}

/* POST /api/qa/call/{id}/transcript: the body read here; the import, which may take seconds
 * and hundreds of MiB for a big transcript, on a thread of its own while the connection
 * waits (the event-loop threads keep answering everyone else). */
enum MHD_Result svc_qa_transcript(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    if (r->multipart || !r->upload_len) {
        svc_answer_error(r, 400, "empty",
                         "send the transcript as a JSON body (callqa's segments "
                         "with speakers, or OpenAI verbose_json with ?speaker=)");
        return svc_send(r);
    }
    if (atomic_fetch_add(&g_imports, 1) >= MAX_IMPORTS) {
        atomic_fetch_sub(&g_imports, 1);
        svc_answer_error(r, 503, "busy",
                         "%d transcripts are being imported already: try again "
                         "in a few seconds",
                         MAX_IMPORTS);
        return svc_send(r);
    }
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    MHD_suspend_connection(r->conn);
    if (pthread_create(&t, &at, transcript_job, r) != 0) {
        atomic_fetch_sub(&g_imports, 1);
        svc_answer_error(r, 503, "busy", "no thread could be started for the import");
        MHD_resume_connection(r->conn);
    }
    pthread_attr_destroy(&at);
    return MHD_YES; /* answered when the import is done (on_request sends it) */
}

/* ---- GET /api/qa/search -------------------------------------------------------------------- */

/* q as an FTS5 query: each word, and each "quoted phrase", a string of its own (so that no
 * character of q is FTS5 syntax); all of them must match. "" when q has no word. */
static void fts_query(const char *q, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    while (*q && k + 8 < n) {
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q)
            break;
        bool phrase = *q == '"';
        if (phrase)
            q++;
        const char *e = q;
        while (*e && (phrase ? *e != '"' : *e != ' ' && *e != '\t'))
            e++;
        if (e > q) {
            if (k)
                out[k++] = ' ';
            out[k++] = '"';
            for (const char *c = q; c < e && k + 4 < n; c++)
                if (*c != '"')
                    out[k++] = *c;
            out[k++] = '"';
            out[k] = 0;
        }
        q = *e ? e + 1 : e;
    }
}

/* the hits of a segment as character offsets: the text marked with \x02 ... \x03 */
static json_t *offsets(const char *marked)
{
    json_t *a = json_array();
    long pos = 0, start = -1;
    for (const unsigned char *p = (const unsigned char *)marked; *p; p++) {
        if (*p == 2)
            start = pos;
        else if (*p == 3 && start >= 0)
            json_array_append_new(a, json_pack("[II]", (json_int_t)start, (json_int_t)pos)),
                start = -1;
        else if ((*p & 0xC0) != 0x80)
            pos++; /* a character: not a UTF-8 continuation byte */
    }
    return a;
}

typedef struct search_acc {
    json_t *calls; /* [{call..., hits: [...]}] */
    json_t *last;
    int64_t last_id;
    size_t max_calls;
} search_acc;

static int search_row(void *user, const store_val *c, int n)
{
    search_acc *a = user;
    int64_t id = (int64_t)num(c, n, "call_id");
    if (!a->last || id != a->last_id) {
        if (json_array_size(a->calls) >= a->max_calls)
            return 1;
        a->last = json_object();
        json_object_set_new(a->last, "call_id", json_integer(id));
        static const char *const k[] = {"recording_id", "agent_user", "campaign_id", "call_date"};
        for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
            json_object_set_new(a->last, k[i], val_json(col(c, n, k[i]), -1));
        json_object_set_new(a->last, "hits", json_array());
        json_array_append_new(a->calls, a->last);
        a->last_id = id;
    }
    const store_val *m = col(c, n, "marked");
    json_t *h = json_object();
    json_object_set_new(h, "segment", val_json(col(c, n, "segment"), -1));
    json_object_set_new(h, "speaker", val_json(col(c, n, "speaker"), -1));
    json_object_set_new(h, "start", val_json(col(c, n, "start"), 3));
    json_object_set_new(h, "end", val_json(col(c, n, "end"), 3));
    json_object_set_new(h, "text", val_json(col(c, n, "text"), -1));
    json_object_set_new(h, "offsets", offsets(m && m->t == SV_TEXT ? m->s : ""));
    json_array_append_new(json_object_get(a->last, "hits"), h);
    return 0;
}

enum MHD_Result svc_qa_search(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long limit;
    if (int_arg(r, "limit", 50, 1, 500, &limit))
        return svc_send(r);
    const char *q = arg(r, "q"), *from = arg(r, "from"), *to = arg(r, "to");
    char match[1200];
    fts_query(q ? q : "", match, sizeof(match));
    if (!match[0] || strlen(q) > 1000) {
        svc_answer_error(r, 400, "bad_argument",
                         "q: one or more words to find (at most 1000 "
                         "bytes; \"a phrase\" in double quotes)");
        return svc_send(r);
    }
    if ((from && !valid_date(from)) || (to && !valid_date(to))) {
        svc_answer_error(r, 400, "bad_argument", "from and to must be YYYY-MM-DD");
        return svc_send(r);
    }
    search_acc acc = {.calls = json_array(), .max_calls = (size_t)limit};
    store_val p[6] = {
        SV_S(match),     SV_S(from), SV_S(to), SV_S(arg(r, "agent")), SV_S(arg(r, "campaign")),
        SV_I(limit * 50)};
    if (store_query(r->s->store, SQ_SEARCH, p, 6, search_row, &acc) != 0) {
        json_decref(acc.calls);
        return store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "query", json_string(q));
    json_object_set_new(o, "calls", acc.calls);
    return send_json(r, 200, o);
}

static int count_row(void *user, const store_val *c, int n)
{
    *(int64_t *)user = n > 0 ? (int64_t)num(c, n, c[0].name) : 0;
    return 1;
}

enum MHD_Result svc_qa_calls(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long limit, offset;
    if (int_arg(r, "limit", 50, 1, 500, &limit) || int_arg(r, "offset", 0, 0, 100000000, &offset))
        return svc_send(r);
    const char *from = arg(r, "from"), *to = arg(r, "to"), *state = arg(r, "state");
    if ((from && !valid_date(from)) || (to && !valid_date(to))) {
        svc_answer_error(r, 400, "bad_argument", "from and to must be YYYY-MM-DD");
        return svc_send(r);
    }
    if (state && job_state_parse(state) < 0) {
        svc_answer_error(r, 400, "bad_argument",
                         "state must be a job state (pending, "
                         "analysing, ..., complete, skipped, error)");
        return svc_send(r);
    }
    const char *sort = arg(r, "sort"), *order = arg(r, "order");
    store_calls_sort key = STORE_SORT_CALL_DATE;
    if (sort) {
        key = STORE_SORT_N;
        for (int k = 0; k < STORE_SORT_N; k++)
            if (!strcmp(sort, store_calls_sort_name((store_calls_sort)k)))
                key = (store_calls_sort)k;
        if (key == STORE_SORT_N) {
            svc_answer_error(r, 400, "bad_argument",
                             "sort must be call_date, agent_user, campaign_id, total_score, mos, "
                             "duration, dead_air or call_length");
            return svc_send(r);
        }
    }
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        svc_answer_error(r, 400, "bad_argument", "order must be asc or desc");
        return svc_send(r);
    }
    bool asc = order && !strcmp(order, "asc");
    /* q: the words of /api/qa/search, as its FTS5 query (PostgreSQL reads it the same way) */
    const char *q = arg(r, "q");
    char match[1200] = "";
    if (q) {
        fts_query(q, match, sizeof(match));
        if (!match[0] || strlen(q) > 1000) {
            svc_answer_error(r, 400, "bad_argument",
                             "q: one or more words to find in the "
                             "transcript (at most 1000 bytes; \"a "
                             "phrase\" in double quotes)");
            return svc_send(r);
        }
    }
    store_val p[13] = {SV_S(from), SV_S(to), SV_S(arg(r, "agent")), SV_S(arg(r, "campaign")),
                       SV_S(state)};
    p[11] = SV_S(q ? match : NULL);
    const char *ow = arg(r, "one_way"), *mos = arg(r, "mos_below"), *da = arg(r, "dead_air"),
               *fl = arg(r, "flagged"), *dt = arg(r, "dtmf");
    struct {
        const char *v;
        int idx;
        bool boolean;
    } opt[] = {{ow, 5, true}, {mos, 6, false}, {da, 7, false}, {fl, 10, true}, {dt, 12, true}};
    for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
        if (!opt[k].v)
            continue;
        if (opt[k].boolean) {
            bool t = !strcmp(opt[k].v, "true") || !strcmp(opt[k].v, "1");
            if (!t && strcmp(opt[k].v, "false") && strcmp(opt[k].v, "0")) {
                svc_answer_error(r, 400, "bad_argument",
                                 "one_way, flagged and dtmf are true or false (1 or 0)");
                return svc_send(r);
            }
            p[opt[k].idx] = SV_I(t ? 1 : 0);
        } else {
            char *end;
            double x = strtod(opt[k].v, &end);
            if (end == opt[k].v || *end || !isfinite(x)) {
                svc_answer_error(r, 400, "bad_argument", "mos_below and dead_air are numbers");
                return svc_send(r);
            }
            p[opt[k].idx] = SV_D(x);
        }
    }
    p[8] = SV_I(limit);
    p[9] = SV_I(offset);
    rows rs = {json_array(), call_shape, NULL};
    int64_t total = 0;
    if (store_calls(r->s->store, key, asc, p, 13, collect, &rs) != 0 ||
        store_query(r->s->store, SQ_CALLS_COUNT, p, 13, count_row, &total) != 0) {
        json_decref(rs.arr);
        return store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "calls", rs.arr);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "limit", json_integer(limit));
    json_object_set_new(o, "offset", json_integer(offset));
    json_object_set_new(o, "sort", json_string(store_calls_sort_name(key)));
    json_object_set_new(o, "order", json_string(asc ? "asc" : "desc"));
    return send_json(r, 200, o);
}

/* ---- GET /api/qa/errors, /api/qa/throughput (the operations view) -------------------------- */

/* The window of `hours` clock hours (UTC) that ends with the current one: its first hour's
 * start. -1 with a 400 answer. */
static int window_start(req *r, long *hours, double *since)
{
    if (int_arg(r, "hours", 24, 1, 720, hours))
        return -1;
    double hour = floor(svc_now_sec() / 3600.0) * 3600.0;
    *since = hour - (double)(*hours - 1) * 3600.0;
    return 0;
}

typedef struct err_acc {
    json_t *groups; /* {"stage\x01reason": group} */
    json_t *list;   /* the groups, first seen (newest) first */
} err_acc;

static int error_row(void *user, const store_val *c, int n)
{
    err_acc *a = user;
    const store_val *st = col(c, n, "error_stage"), *msg = col(c, n, "error_message");
    const char *stage = st && st->t == SV_TEXT ? st->s : "";
    const char *m = msg && msg->t == SV_TEXT ? msg->s : "";
    char why[32], key[96];
    store_reason_class(m, why);
    snprintf(key, sizeof(key), "%.60s\x01%s", stage, why);
    json_t *g = json_object_get(a->groups, key);
    if (!g) {
        g = json_object();
        json_object_set_new(g, "stage", svc_json_text(stage));
        json_object_set_new(g, "reason", json_string(why));
        json_object_set_new(g, "n", json_integer(0));
        json_object_set_new(g, "last_ts", val_json(col(c, n, "finished"), 3));
        json_t *ex = json_object();
        json_object_set_new(ex, "call_id", val_json(col(c, n, "call_id"), -1));
        json_object_set_new(ex, "recording_id", val_json(col(c, n, "recording_id"), -1));
        json_object_set_new(ex, "message", redacted(m));
        json_object_set_new(g, "example", ex);
        json_object_set(a->groups, key, g);
        json_array_append_new(a->list, g);
    }
    json_object_set_new(g, "n", json_integer(json_integer_value(json_object_get(g, "n")) + 1));
    return 0;
}

static int cmp_group(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "n"));
    json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "n"));
    return a < b ? 1 : a > b ? -1 : 0;
}

/* qa_retries_total{stage="...",reason="..."}: {stage, reason, n} */
static int retry_counter(void *user, const char *name, const char *labels, double v)
{
    if (strcmp(name, "qa_retries_total"))
        return 0;
    char stage[64] = "", reason[64] = "";
    const char *p = strstr(labels, "stage=\""), *q = strstr(labels, "reason=\"");
    if (p)
        snprintf(stage, sizeof(stage), "%.*s", (int)strcspn(p + 7, "\""), p + 7);
    if (q)
        snprintf(reason, sizeof(reason), "%.*s", (int)strcspn(q + 8, "\""), q + 8);
    json_t *o = json_object();
    json_object_set_new(o, "stage", svc_json_text(stage));
    json_object_set_new(o, "reason", svc_json_text(reason));
    json_object_set_new(o, "n", json_integer((json_int_t)v));
    json_array_append_new(user, o);
    return 0;
}

enum MHD_Result svc_qa_errors(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long hours;
    double since;
    if (window_start(r, &hours, &since))
        return svc_send(r);
    err_acc a = {json_object(), json_array()};
    store_val p[1] = {SV_D(since)};
    json_t *retries = json_array();
    int rc = store_query(r->s->store, SQ_ERRORS, p, 1, error_row, &a);
    if (rc == 0)
        rc = store_counters(r->s->store, retry_counter, retries);
    json_decref(a.groups);
    if (rc != 0) {
        json_decref(a.list);
        json_decref(retries);
        return store_failed(r);
    }
    /* the most frequent first; among equals the newest first (qsort is not stable: by index) */
    size_t ng = json_array_size(a.list);
    json_t **g = ng ? malloc(ng * sizeof(*g)) : NULL;
    json_t *sorted = json_array();
    if (ng && g) {
        for (size_t i = 0; i < ng; i++)
            g[i] = json_array_get(a.list, i);
        for (size_t i = 1; i < ng; i++) /* insertion sort: stable, and the groups are few */
            for (size_t k = i; k > 0 && cmp_group(&g[k - 1], &g[k]) > 0; k--) {
                json_t *t = g[k];
                g[k] = g[k - 1];
                g[k - 1] = t;
            }
        for (size_t i = 0; i < ng; i++)
            json_array_append(sorted, g[i]);
    }
    free(g);
    json_decref(a.list);
    json_int_t total = 0;
    size_t i;
    json_t *v;
    json_array_foreach(sorted, i, v) total += json_integer_value(json_object_get(v, "n"));
    json_t *o = json_object();
    json_object_set_new(o, "hours", json_integer(hours));
    json_object_set_new(o, "since", json_integer((json_int_t)since));
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "errors", sorted);
    json_object_set_new(o, "retries", retries);
    return send_json(r, 200, o);
}

typedef struct tp_acc {
    double since;
    long hours;
    json_int_t (*n)[3]; /* per hour: complete, error, skipped */
} tp_acc;

static int throughput_row(void *user, const store_val *c, int n)
{
    tp_acc *a = user;
    long h = (long)floor((num(c, n, "hour") - a->since) / 3600.0 + 0.5);
    const store_val *st = col(c, n, "state");
    if (h < 0 || h >= a->hours || !st || st->t != SV_TEXT)
        return 0;
    int k = !strcmp(st->s, "complete") ? 0 : !strcmp(st->s, "error") ? 1 : 2;
    a->n[h][k] += (json_int_t)num(c, n, "n");
    return 0;
}

enum MHD_Result svc_qa_throughput(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long hours;
    double since;
    if (window_start(r, &hours, &since))
        return svc_send(r);
    tp_acc a = {since, hours, calloc((size_t)hours, sizeof(*a.n))};
    if (!a.n) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    store_val p[1] = {SV_D(since)};
    if (store_query(r->s->store, SQ_THROUGHPUT, p, 1, throughput_row, &a) != 0) {
        free(a.n);
        return store_failed(r);
    }
    json_t *arr = json_array();
    json_int_t tot[3] = {0, 0, 0};
    for (long h = 0; h < hours; h++) {
        json_t *b = json_object();
        json_object_set_new(b, "hour", json_integer((json_int_t)since + (json_int_t)h * 3600));
        static const char *const names[3] = {"complete", "error", "skipped"};
        for (int k = 0; k < 3; k++) {
            json_object_set_new(b, names[k], json_integer(a.n[h][k]));
            tot[k] += a.n[h][k];
        }
        json_array_append_new(arr, b);
    }
    free(a.n);
    json_t *o = json_object();
    json_object_set_new(o, "hours", json_integer(hours));
    json_object_set_new(o, "since", json_integer((json_int_t)since));
    json_object_set_new(o, "buckets", arr);
    json_object_set_new(
        o, "totals", json_pack("{sIsIsI}", "complete", tot[0], "error", tot[1], "skipped", tot[2]));
    return send_json(r, 200, o);
}

/* ---- GET /api/qa/queue-status, /api/qa/workers --------------------------------------------- */

enum MHD_Result svc_qa_queue(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    int64_t counts[JOB_N_STATES], today = 0;
    char d[11];
    day_back(0, d);
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    strptime(d, "%Y-%m-%d", &tm);
    tm.tm_isdst = -1;
    double midnight = (double)mktime(&tm);
    if (store_job_counts(r->s->store, counts, midnight, &today) != 0)
        return store_failed(r);
    json_t *sc = json_object();
    int64_t total = 0;
    for (int k = 0; k < JOB_N_STATES; k++) {
        json_object_set_new(sc, job_state_name((job_state)k), json_integer(counts[k]));
        total += counts[k];
    }
    json_t *o = json_object();
    json_object_set_new(o, "status_counts", sc);
    json_object_set_new(o, "today_queued", json_integer(today));
    json_object_set_new(o, "total", json_integer(total));
    return send_json(r, 200, o);
}

enum MHD_Result svc_qa_workers(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    store_worker *w = NULL;
    int n = 0;
    if (store_worker_list(r->s->store, &w, &n) != 0)
        return store_failed(r);
    double now = svc_now_sec();
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(w[i].id));
        json_object_set_new(o, "host", json_string(w[i].host));
        json_object_set_new(o, "pid", json_integer(w[i].pid));
        char t[20];
        local_time(w[i].started, t);
        json_object_set_new(o, "started", json_string(t));
        local_time(w[i].heartbeat, t);
        json_object_set_new(o, "heartbeat", json_string(t));
        json_object_set_new(o, "state", json_string(store_worker_status(&w[i], now)));
        json_object_set_new(o, "pause_reason",
                            w[i].pause_reason[0] ? json_string(w[i].pause_reason) : json_null());
        json_object_set_new(o, "jobs_done", json_integer(w[i].jobs_done));
        json_object_set_new(o, "current_call",
                            w[i].current_call > 0 ? json_integer(w[i].current_call) : json_null());
        json_array_append_new(arr, o);
    }
    free(w);
    json_t *o = json_object();
    json_object_set_new(o, "workers", arr);
    return send_json(r, 200, o);
}

/* ---- POST /api/qa/calls -------------------------------------------------------------------- */

/* The metadata part into c; -1 with the reason. */
static int read_metadata(const char *text, store_call *c, char *why, size_t n)
{
    json_error_t je;
    json_t *m = json_loads(text, 0, &je);
    if (!m || !json_is_object(m)) {
        snprintf(why, n, "metadata is not a JSON object: %s", m ? "" : je.text);
        json_decref(m);
        return -1;
    }
    struct {
        const char *key;
        char *dst;
        size_t size;
    } texts[] = {
        {"source", c->source, sizeof(c->source)},
        {"recording_id", c->recording_id, sizeof(c->recording_id)},
        {"uniqueid", c->uniqueid, sizeof(c->uniqueid)},
        {"vicidial_id", c->vicidial_id, sizeof(c->vicidial_id)},
        {"lead_id", c->lead_id, sizeof(c->lead_id)},
        {"agent_user", c->agent_user, sizeof(c->agent_user)},
        {"agent_name", c->agent_name, sizeof(c->agent_name)},
        {"campaign_id", c->campaign_id, sizeof(c->campaign_id)},
        {"campaign_name", c->campaign_name, sizeof(c->campaign_name)},
        {"direction", c->direction, sizeof(c->direction)},
        {"call_date", c->call_date, sizeof(c->call_date)},
        {"tz", c->tz, sizeof(c->tz)},
        {"disposition", c->disposition, sizeof(c->disposition)},
        {"term_reason", c->term_reason, sizeof(c->term_reason)},
    };
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(m, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
            if (strcmp(k, texts[i].key))
                continue;
            known = true;
            if (json_is_null(v))
                break;
            if (!json_is_string(v) || strlen(json_string_value(v)) >= texts[i].size) {
                snprintf(why, n, "metadata.%s must be a string under %zu bytes", k, texts[i].size);
                rc = -1;
            } else {
                snprintf(texts[i].dst, texts[i].size, "%s", json_string_value(v));
            }
        }
        if (!strcmp(k, "length_sec")) {
            known = true;
            if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1 << 30)
                c->length_sec = (int)json_integer_value(v);
            else if (!json_is_null(v)) {
                snprintf(why, n, "metadata.length_sec must be a whole number of seconds");
                rc = -1;
            }
        }
        if (!known) {
            snprintf(why, n, "metadata: unknown key '%.40s'", k);
            rc = -1;
        }
        if (rc)
            break;
    }
    json_decref(m);
    if (rc == 0 && c->call_date[0]) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(c->call_date, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end || *end) {
            snprintf(why, n, "metadata.call_date must be YYYY-MM-DD HH:MM:SS");
            rc = -1;
        }
    }
    if (rc == 0 && c->direction[0] && strcmp(c->direction, "inbound") &&
        strcmp(c->direction, "outbound")) {
        snprintf(why, n, "metadata.direction is inbound or outbound");
        rc = -1;
    }
    return rc;
}

/* The sha256 of a file, the first 16 hex digits: an upload's identity. */
static int file_id(const char *path, char out[17])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        sha256_update(&ctx, got, buf);
    fclose(f);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof(d), d);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

enum MHD_Result svc_qa_upload_start(req *r)
{
    return svc_body_start(r);
}

enum MHD_Result svc_qa_upload(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    if (!r->multipart) {
        svc_answer_error(r, 400, "bad_multipart",
                         "send multipart/form-data: a 'metadata' JSON "
                         "part and 'audio', or 'in' and 'out'");
        return svc_send(r);
    }
    bool mix = r->part_path[2][0], legs = r->part_path[0][0] && r->part_path[1][0];
    if (mix == legs || (!legs && (r->part_path[0][0] || r->part_path[1][0]))) {
        svc_answer_error(r, 400, "bad_multipart",
                         "give either an 'audio' part or both 'in' and "
                         "'out'");
        return svc_send(r);
    }
    store_call c;
    memset(&c, 0, sizeof(c));
    c.call_epoch = -1;
    c.length_sec = -1;
    char why[300];
    if (r->meta && read_metadata(r->meta, &c, why, sizeof(why))) {
        svc_answer_error(r, 400, "bad_metadata", "%s", why);
        return svc_send(r);
    }
    if (!c.source[0])
        snprintf(c.source, sizeof(c.source), "upload");
    if (!c.recording_id[0]) { /* the same recording uploaded twice is one call */
        char id[17];
        if (file_id(r->part_path[mix ? 2 : 0], id) != 0) {
            svc_answer_error(r, 500, "internal", "the upload could not be read back");
            return svc_send(r);
        }
        snprintf(c.recording_id, sizeof(c.recording_id), "u-%s", id);
    }
    if (!c.call_date[0]) {
        time_t t = time(NULL);
        struct tm lt;
        localtime_r(&t, &lt);
        strftime(c.call_date, sizeof(c.call_date), "%Y-%m-%d %H:%M:%S", &lt);
    }
    /* keep the audio where the worker finds it: UPLOADS/SOURCE/ID[-in|-out].wav */
    char dir[1024], path[3][1024];
    rec_upload_dir(r->s->cfg, dir, sizeof(dir));
    if (!dir[0]) {
        svc_answer_error(r, 503, "unavailable",
                         "uploads need the upload_dir setting with a PostgreSQL store: a "
                         "directory every worker can read");
        return svc_send(r);
    }
    if (strlen(dir) + 2 * REC_NAME_ENC + 16 >= sizeof(path[0])) {
        svc_answer_error(r, 500, "internal", "upload_dir is too long a path");
        return svc_send(r);
    }
    mkdir(dir, 0750);
    /* one directory level per source and one file per recording, each named by a reversible
     * encoding of the name (rec_name_encode): two names never share a file */
    char sdir[1024], src_enc[REC_NAME_ENC], id_enc[REC_NAME_ENC];
    rec_name_encode(c.source, src_enc, sizeof(src_enc));
    rec_name_encode(c.recording_id, id_enc, sizeof(id_enc));
    snprintf(sdir, sizeof(sdir), "%s/%s", dir, src_enc);
    mkdir(sdir, 0750);
    static const char *const suffix[3] = {"-in", "-out", ""};
    for (int p = 0; p < 3; p++) {
        path[p][0] = 0;
        if (!r->part_path[p][0])
            continue;
        int k = snprintf(path[p], sizeof(path[p]), "%s/%s%s.rec", sdir, id_enc, suffix[p]);
        if (k < 0 || (size_t)k >= sizeof(path[p])) { /* checked above; never */
            svc_answer_error(r, 500, "internal", "upload_dir is too long a path");
            return svc_send(r);
        }
    }
    if (legs) {
        snprintf(c.audio_in, sizeof(c.audio_in), "%s", path[0]);
        snprintf(c.audio_out, sizeof(c.audio_out), "%s", path[1]);
    } else {
        snprintf(c.audio, sizeof(c.audio), "%s", path[2]);
    }
    /* a known call keeps the audio it has; a new one gets its files in place before it is
     * queued, so that no worker ever claims a call whose audio is not there yet */
    store_call known;
    int found = store_call_find(r->s->store, c.source, c.recording_id, &known);
    if (found < 0)
        return store_failed(r);
    for (int p = 0; p < 3 && !found; p++)
        if (path[p][0]) {
            if (rename(r->part_path[p], path[p]) != 0) {
                svc_answer_error(r, 500, "internal", "the upload could not be kept: %s",
                                 strerror(errno));
                return svc_send(r);
            }
            r->part_path[p][0] = 0; /* moved: not removed at the end of the request */
        }
    int64_t id = known.id;
    bool created = false;
    if (!found && store_call_put(r->s->store, &c, svc_now_sec(), &id, &created) != 0)
        return store_failed(r);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer(id));
    json_object_set_new(o, "source", json_string(c.source));
    json_object_set_new(o, "recording_id", json_string(c.recording_id));
    json_object_set_new(o, "created", json_boolean(created));
    store_job j;
    json_object_set_new(o, "processing_status",
                        store_job_get(r->s->store, id, &j) == 1
                            ? json_string(job_state_name(j.state))
                            : json_null());
    return send_json(r, created ? 201 : 200, o);
}
