/*
 * svc_qa_summary.c - the QA API's roll-ups: GET /api/qa/daily-summary and /trends (the stored
 * daily roll-ups: day_summary's row a day, daily_stats' rows for one campaign), /agent/{user},
 * /flagged, /leaderboard, and the operations view (/errors, /throughput, /queue-status,
 * /workers). Reads the store only; the shapes are the old service's (compat-api.md) with
 * callqa's figures beside them (svc_qa.c).
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

#include "svc_access.h"
#include "svc_qa.h"
#include "../pipeline/pl_service.h"
#include "../scoring/scoring.h"
#include "../store/store_jobs.h"
#include "../store/store_query.h"
#include "callqa/cq_clock.h"

/* ---- GET /api/qa/daily-summary, /api/qa/trends ---------------------------------------------- */

typedef struct day_rows {
    json_t *by_day; /* day -> the row's figures as an object of raw values */
} day_rows;

static int keep_day(void *user, const store_val *c, int n)
{
    day_rows *d = user;
    const store_val *day = svc_qa_col(c, n, "day");
    if (!day || day->t != SV_TEXT)
        return 0;
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, c[i].name, svc_qa_val(&c[i], -1));
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
    const char *date = svc_qa_arg(r, "date");
    if (date) {
        if (!svc_qa_valid_date(date)) {
            svc_answer_error(r, 400, "bad_argument", "date must be YYYY-MM-DD");
            return -1;
        }
        snprintf(from, 11, "%s", date);
        snprintf(to, 11, "%s", date);
        return 0;
    }
    long days;
    if (svc_qa_int_arg(r, "days", dflt, lo, hi, &days))
        return -1;
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    return 0;
}

static enum MHD_Result days_answer(req *r, bool trends)
{
    char from[11], to[11];
    if (period(r, trends ? 30 : 7, trends ? 7 : 1, trends ? 365 : 90, from, to))
        return svc_send(r);
    const char *campaign = trends ? svc_qa_arg(r, "campaign") : NULL;
    day_rows d = {json_object()};
    /* whole days: their summary rows (one a day, with the top and bottom agent); one campaign's
     * days: the roll-up rows of the campaign */
    store_val p[3] = {SV_S(from), SV_S(to), SV_S(campaign)};
    if (store_query(r->s->store, campaign ? SQ_DAILY : SQ_DAY_SUMMARY, p, campaign ? 3 : 2,
                    keep_day, &d) != 0) {
        json_decref(d.by_day);
        return svc_qa_store_failed(r);
    }
    json_t *arr = json_array();
    char day[11];
    snprintf(day, sizeof(day), "%s", from);
    for (int guard = 0; strcmp(day, to) <= 0 && guard < 400; guard++) {
        json_t *raw = json_object_get(d.by_day, day);
        store_val v[64];
        int n = raw ? vals_of(raw, v, 64) : 0;
        double scored = svc_qa_num(v, n, "scored"), calls = svc_qa_num(v, n, "total_calls");
        json_t *o = json_object();
        json_object_set_new(o, "date", json_string(day));
        if (trends) {
            json_object_set_new(o, "calls", json_integer((json_int_t)calls));
            json_object_set_new(
                o, "avg_score",
                svc_qa_round(scored > 0, svc_qa_num(v, n, "score_sum") / scored, 1));
            json_object_set_new(o, "flagged",
                                json_integer((json_int_t)svc_qa_num(v, n, "flagged")));
            json_object_set_new(o, "categories",
                                raw ? svc_qa_categories(v, n) : svc_qa_null_categories());
        } else {
            json_object_set_new(o, "total_calls", json_integer((json_int_t)calls));
            json_object_set_new(o, "scored_calls", json_integer((json_int_t)scored));
            json_object_set_new(
                o, "avg_score",
                svc_qa_round(scored > 0, svc_qa_num(v, n, "score_sum") / scored, 1));
            json_object_set_new(o, "flagged_calls",
                                json_integer((json_int_t)svc_qa_num(v, n, "flagged")));
            /* of the agents with 3 scored calls or more that day (SQ_DAY_SUMMARY) */
            const store_val *top = svc_qa_col(v, n, "top_agent");
            const store_val *bottom = svc_qa_col(v, n, "bottom_agent");
            bool have = top && top->t == SV_TEXT && bottom && bottom->t == SV_TEXT;
            double top_n = svc_qa_num(v, n, "top_n"), bottom_n = svc_qa_num(v, n, "bottom_n");
            have = have && top_n > 0 && bottom_n > 0;
            json_object_set_new(o, "top_agent", have ? svc_json_text(top->s) : json_null());
            json_object_set_new(
                o, "top_score",
                svc_qa_round(have, have ? svc_qa_num(v, n, "top_sum") / top_n : 0, 1));
            json_object_set_new(o, "bottom_agent", have ? svc_json_text(bottom->s) : json_null());
            json_object_set_new(
                o, "bottom_score",
                svc_qa_round(have, have ? svc_qa_num(v, n, "bottom_sum") / bottom_n : 0, 1));
            json_object_set_new(o, "category_averages",
                                raw ? svc_qa_categories(v, n) : svc_qa_null_categories());
        }
        svc_qa_partial_figures(o, v, n);
        svc_qa_sentiment_figures(o, v, n);
        svc_qa_analysis_figures(o, v, n);
        json_array_append_new(arr, o);
        svc_qa_day_next(day, day);
    }
    json_decref(d.by_day);
    return svc_qa_send(r, 200, arr);
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
    double dnsmos_sum, dnsmos_n; /* DNSMOS's MOS apart from NISQA's */
    double partial_n, partial_sum, partial_only_n, partial_only_sum;
    double shift_n, shift_sum, drops; /* the customers' sentiment */
} agent_acc;

static int agent_day(void *user, const store_val *c, int n)
{
    agent_acc *a = user;
    double calls = svc_qa_num(c, n, "total_calls"), scored = svc_qa_num(c, n, "scored");
    a->calls += calls, a->scored += scored, a->score_sum += svc_qa_num(c, n, "score_sum");
    a->flagged += svc_qa_num(c, n, "flagged");
    if (!svc_qa_is_null(c, n, "score_min") &&
        (!a->have_min || svc_qa_num(c, n, "score_min") < a->min))
        a->min = svc_qa_num(c, n, "score_min");
    if (!svc_qa_is_null(c, n, "score_max") &&
        (!a->have_min || svc_qa_num(c, n, "score_max") > a->max))
        a->max = svc_qa_num(c, n, "score_max");
    a->have_min = a->have_min || !svc_qa_is_null(c, n, "score_min");
    for (int i = 0; i < n; i++)
        if (strstr(c[i].name, "_sum") ||
            (strlen(c[i].name) > 2 && !strcmp(c[i].name + strlen(c[i].name) - 2, "_n"))) {
            json_t *prev = json_object_get(a->cat_raw, c[i].name);
            double v = (prev ? json_number_value(prev) : 0) + svc_qa_num(c, n, c[i].name);
            json_object_set_new(a->cat_raw, c[i].name, json_real(v));
        }
    a->analysed += svc_qa_num(c, n, "analysed"), a->skipped += svc_qa_num(c, n, "skipped");
    a->errors += svc_qa_num(c, n, "errors"), a->talk += svc_qa_num(c, n, "talk_sec");
    a->hold += svc_qa_num(c, n, "hold_sec"), a->dead += svc_qa_num(c, n, "dead_air_sec");
    a->one_way += svc_qa_num(c, n, "one_way_calls");
    a->mos_sum += svc_qa_num(c, n, "mos_sum"), a->mos_n += svc_qa_num(c, n, "mos_n");
    a->dnsmos_sum += svc_qa_num(c, n, "dnsmos_sum"), a->dnsmos_n += svc_qa_num(c, n, "dnsmos_n");
    a->partial_n += svc_qa_num(c, n, "partial_n"),
        a->partial_sum += svc_qa_num(c, n, "partial_sum");
    a->partial_only_n += svc_qa_num(c, n, "partial_only_n");
    a->partial_only_sum += svc_qa_num(c, n, "partial_only_sum");
    a->shift_n += svc_qa_num(c, n, "customer_shift_n");
    a->shift_sum += svc_qa_num(c, n, "customer_shift_sum");
    a->drops += svc_qa_num(c, n, "customer_drops");
    json_t *t = json_object();
    const store_val *day = svc_qa_col(c, n, "day");
    json_object_set_new(t, "date", day ? svc_qa_val(day, -1) : json_null());
    json_object_set_new(t, "calls", json_integer((json_int_t)calls));
    json_object_set_new(t, "avg_score",
                        svc_qa_round(scored > 0, svc_qa_num(c, n, "score_sum") / scored, 1));
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
    if (svc_qa_int_arg(r, "days", 30, 1, 365, &days))
        return svc_send(r);
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    const char *agent = r->param;
    char name[256] = "";
    store_val pa[1] = {SV_S(agent)};
    if (store_query(r->s->store, SQ_AGENT, pa, 1, first_text, name) != 0)
        return svc_qa_store_failed(r);
    agent_acc a = {.trend = json_array(), .cat_raw = json_object()};
    store_val p[3] = {SV_S(agent), SV_S(from), SV_S(to)};
    if (store_query(r->s->store, SQ_AGENT_DAYS, p, 3, agent_day, &a) != 0) {
        json_decref(a.trend), json_decref(a.cat_raw);
        return svc_qa_store_failed(r);
    }
    json_t *o = json_object();
    json_object_set_new(o, "agent_user", svc_json_text(agent));
    json_object_set_new(o, "agent_name", name[0] ? json_string(name) : json_null());
    json_object_set_new(o, "period_start", json_string(from));
    json_object_set_new(o, "period_end", json_string(to));
    json_object_set_new(o, "total_calls", json_integer((json_int_t)a.calls));
    json_object_set_new(o, "avg_score", svc_qa_round(a.scored > 0, a.score_sum / a.scored, 1));
    json_object_set_new(o, "min_score", svc_qa_round(a.have_min, a.min, 1));
    json_object_set_new(o, "max_score", svc_qa_round(a.have_min, a.max, 1));
    json_object_set_new(o, "flagged_calls", json_integer((json_int_t)a.flagged));
    store_val cv[40];
    int cn = vals_of(a.cat_raw, cv, 40);
    json_object_set_new(o, "category_averages", svc_qa_categories(cv, cn));
    json_object_set_new(o, "trend", a.trend);
    store_val pv[] = {{.name = "partial_n", .t = SV_REAL, .d = a.partial_n},
                      {.name = "partial_sum", .t = SV_REAL, .d = a.partial_sum},
                      {.name = "partial_only_n", .t = SV_REAL, .d = a.partial_only_n},
                      {.name = "partial_only_sum", .t = SV_REAL, .d = a.partial_only_sum}};
    svc_qa_partial_figures(o, pv, 4);
    store_val sv[] = {{.name = "customer_shift_n", .t = SV_REAL, .d = a.shift_n},
                      {.name = "customer_shift_sum", .t = SV_REAL, .d = a.shift_sum},
                      {.name = "customer_drops", .t = SV_REAL, .d = a.drops}};
    svc_qa_sentiment_figures(o, sv, 3);
    store_val av[] = {{.name = "analysed", .t = SV_REAL, .d = a.analysed},
                      {.name = "skipped", .t = SV_REAL, .d = a.skipped},
                      {.name = "errors", .t = SV_REAL, .d = a.errors},
                      {.name = "talk_sec", .t = SV_REAL, .d = a.talk},
                      {.name = "hold_sec", .t = SV_REAL, .d = a.hold},
                      {.name = "dead_air_sec", .t = SV_REAL, .d = a.dead},
                      {.name = "one_way_calls", .t = SV_REAL, .d = a.one_way},
                      {.name = "mos_sum", .t = SV_REAL, .d = a.mos_sum},
                      {.name = "mos_n", .t = SV_REAL, .d = a.mos_n},
                      {.name = "dnsmos_sum", .t = SV_REAL, .d = a.dnsmos_sum},
                      {.name = "dnsmos_n", .t = SV_REAL, .d = a.dnsmos_n}};
    svc_qa_analysis_figures(o, av, 11);
    json_decref(a.cat_raw);
    return svc_qa_send(r, 200, o);
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
        const store_val *v = svc_qa_col(c, n, keys[k]);
        int prec = !strcmp(keys[k], "total_score") || !strcmp(keys[k], "partial_score") ? 1
                   : !strcmp(keys[k], "coverage")                                       ? 2
                                                                                        : -1;
        json_object_set_new(o, keys[k], v ? svc_qa_val(v, prec) : json_null());
    }
    json_t *sc = json_object();
    for (int k = 0; k < 8; k++) {
        const store_val *v = svc_qa_col(c, n, svc_qa_cats[k]);
        json_object_set_new(sc, svc_qa_cats[k], v ? svc_qa_val(v, -1) : json_null());
    }
    json_object_set_new(o, "scores", sc);
    return o;
}

enum MHD_Result svc_qa_flagged(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days, limit;
    if (svc_qa_int_arg(r, "days", 7, 1, 90, &days) ||
        svc_qa_int_arg(r, "limit", 50, 1, 500, &limit))
        return svc_send(r);
    char from[11], to[11];
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    store_val p[6] = {SV_S(from),
                      SV_S(to),
                      SV_S(svc_qa_arg(r, "agent")),
                      SV_S(svc_qa_arg(r, "campaign")),
                      SV_I(limit),
                      SV_S(svc_qa_campaigns(r))};
    json_t *a = svc_qa_query(r, SQ_FLAGGED, p, 6, flagged_shape, NULL);
    if (!a)
        return svc_qa_store_failed(r);
    svc_audit_calls(r, a); /* a row per call returned (svc_audit) */
    return svc_qa_send(r, 200, a);
}

/* The ranked agents (a rank is given to the agents with min_calls totals or more) by their mean
 * total, the highest first; then the agents ranked on no total, by their id. */
static int cmp_leader(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    bool ra = json_is_true(json_object_get(a, "ranked")),
         rb = json_is_true(json_object_get(b, "ranked"));
    if (ra != rb)
        return ra ? -1 : 1;
    double sa = json_number_value(json_object_get(a, "avg_score"));
    double sb = json_number_value(json_object_get(b, "avg_score"));
    if (ra && sa != sb)
        return sa > sb ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a, "agent_user")),
                  json_string_value(json_object_get(b, "agent_user")));
}

static json_t *leader_shape(const store_val *c, int n, void *u)
{
    long min_calls = *(const long *)u;
    double calls = svc_qa_num(c, n, "calls"), on = svc_qa_num(c, n, "partial_only_n");
    json_t *o = json_object();
    json_object_set_new(o, "agent_user", svc_qa_val(svc_qa_col(c, n, "agent_user"), -1));
    json_object_set_new(o, "agent_name", svc_qa_val(svc_qa_col(c, n, "agent_name"), -1));
    json_object_set_new(o, "calls", json_integer((json_int_t)calls));
    json_object_set_new(o, "avg_score",
                        svc_qa_round(calls > 0, svc_qa_num(c, n, "score_sum") / calls, 1));
    json_object_set_new(
        o, "min_score",
        svc_qa_round(!svc_qa_is_null(c, n, "score_min"), svc_qa_num(c, n, "score_min"), 1));
    json_object_set_new(
        o, "max_score",
        svc_qa_round(!svc_qa_is_null(c, n, "score_max"), svc_qa_num(c, n, "score_max"), 1));
    json_object_set_new(o, "flagged", json_integer((json_int_t)svc_qa_num(c, n, "flagged")));
    json_object_set_new(o, "partial_only_calls", json_integer((json_int_t)on));
    json_object_set_new(o, "avg_partial_only_score",
                        svc_qa_round(on > 0, svc_qa_num(c, n, "partial_only_sum") / on, 1));
    /* a sorting mark, taken off before the answer */
    json_object_set_new(o, "ranked", json_boolean(calls > 0 && calls >= (double)min_calls));
    return o;
}

enum MHD_Result svc_qa_leaderboard(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long days, min_calls, partial;
    if (svc_qa_int_arg(r, "days", 7, 1, 90, &days) ||
        svc_qa_int_arg(r, "min_calls", 5, 1, 100000, &min_calls) ||
        svc_qa_int_arg(r, "partial", 0, 0, 1, &partial))
        return svc_send(r);
    char from[11], to[11];
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    store_val p[4] = {SV_S(from), SV_S(to), SV_I(min_calls), SV_I(partial)};
    json_t *a = svc_qa_query(r, SQ_LEADERBOARD, p, 4, leader_shape, &min_calls);
    if (!a)
        return svc_qa_store_failed(r);
    size_t n = json_array_size(a);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(a, i));
    qsort(v, n, sizeof(*v), cmp_leader);
    json_t *out = json_array();
    json_int_t rank = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        /* an agent without min_calls totals (partial=1 lists them) has no rank */
        bool ranked = json_is_true(json_object_get(v[i], "ranked"));
        json_object_set_new(o, "rank", ranked ? json_integer(++rank) : json_null());
        json_object_update(o, v[i]);
        json_object_del(o, "ranked");
        json_decref(v[i]);
        json_array_append_new(out, o);
    }
    free(v);
    json_decref(a);
    return svc_qa_send(r, 200, out);
}

/* ---- GET /api/qa/errors, /api/qa/throughput (the operations view) -------------------------- */

/* The window of `hours` clock hours (UTC) that ends with the current one: its first hour's
 * start. -1 with a 400 answer. */
static int window_start(req *r, long *hours, double *since)
{
    if (svc_qa_int_arg(r, "hours", 24, 1, 720, hours))
        return -1;
    double hour = floor(cq_clock_wall_sec() / 3600.0) * 3600.0;
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
    const store_val *st = svc_qa_col(c, n, "error_stage"), *msg = svc_qa_col(c, n, "error_message");
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
        json_object_set_new(g, "last_ts", svc_qa_val(svc_qa_col(c, n, "finished"), 3));
        json_t *ex = json_object();
        json_object_set_new(ex, "call_id", svc_qa_val(svc_qa_col(c, n, "call_id"), -1));
        json_object_set_new(ex, "recording_id", svc_qa_val(svc_qa_col(c, n, "recording_id"), -1));
        json_object_set_new(ex, "message", svc_qa_redacted(m));
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
        return svc_qa_store_failed(r);
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
    return svc_qa_send(r, 200, o);
}

typedef struct tp_acc {
    double since;
    long hours;
    json_int_t (*n)[3]; /* per hour: complete, error, skipped */
} tp_acc;

static int throughput_row(void *user, const store_val *c, int n)
{
    tp_acc *a = user;
    long h = (long)floor((svc_qa_num(c, n, "hour") - a->since) / 3600.0 + 0.5);
    const store_val *st = svc_qa_col(c, n, "state");
    if (h < 0 || h >= a->hours || !st || st->t != SV_TEXT)
        return 0;
    int k = !strcmp(st->s, "complete") ? 0 : !strcmp(st->s, "error") ? 1 : 2;
    a->n[h][k] += (json_int_t)svc_qa_num(c, n, "n");
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
        return svc_qa_store_failed(r);
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
    return svc_qa_send(r, 200, o);
}

/* ---- GET /api/qa/queue-status, /api/qa/workers --------------------------------------------- */

enum MHD_Result svc_qa_queue(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    int64_t counts[JOB_N_STATES], today = 0;
    char d[11];
    svc_qa_day_back(0, d);
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    strptime(d, "%Y-%m-%d", &tm);
    tm.tm_isdst = -1;
    double midnight = (double)mktime(&tm);
    if (store_job_counts(r->s->store, counts, midnight, &today) != 0)
        return svc_qa_store_failed(r);
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
    return svc_qa_send(r, 200, o);
}

enum MHD_Result svc_qa_workers(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    store_worker *w = NULL;
    int n = 0;
    if (store_worker_list(r->s->store, &w, &n) != 0)
        return svc_qa_store_failed(r);
    double now = cq_clock_wall_sec();
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(w[i].id));
        json_object_set_new(o, "host", json_string(w[i].host));
        json_object_set_new(o, "pid", json_integer(w[i].pid));
        char t[20];
        svc_qa_local_time(w[i].started, t);
        json_object_set_new(o, "started", json_string(t));
        svc_qa_local_time(w[i].heartbeat, t);
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
    return svc_qa_send(r, 200, o);
}
