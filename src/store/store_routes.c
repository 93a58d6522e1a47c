/*
 * store_routes.c - the routes' rows (store_routes.h): the dialer's attempts, the roll-ups per
 * route and hour and per route and day, the hang-up causes, the changes found.
 *
 * DESIGN
 * The roll-ups are recomputed, never added to: a change of a call recomputes every route's row
 * of the call's local hour in each dimension (one statement a dimension: the hour's calls, a
 * few hundred at most, grouped by the dimension's value, beside the hour's attempts), then the
 * day's rows of each dimension from the day's hourly rows (24 a route). A call counts where it
 * is now and nowhere else, whatever happened before (a re-queue, a second analysis that found
 * another trunk, a call moved to another hour, an erasure), and the work is bounded by the hour,
 * not by the route's history. On PostgreSQL the day's lock (store__day_lock, the agents'
 * roll-ups' own) orders the transactions that recompute one day, so none misses another's
 * calls.
 *
 * Every figure is kept as a sum, a sum of squares and a count, so that a day, a week or a route
 * over a year sums exactly, and a change test knows how steady each hour's mean is.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_routes.h"

static const char *const k_dim_names[STORE_DIM_N] = {"carrier", "trunk", "server", "campaign"};

/* The column of a call that names its route in each dimension (c: calls, a: analyses). */
static const char *const k_dim_call_col[STORE_DIM_N] = {"c.carrier", "a.sip_trunk", "c.server_ip",
                                                        "c.campaign_id"};
/* The column of an attempt that does (NULL: attempts say nothing of it). */
static const char *const k_dim_attempt_col[STORE_DIM_N] = {"x.carrier", NULL, "x.server_ip", NULL};

const char *store_dim_name(store_dim d)
{
    return d >= 0 && d < STORE_DIM_N ? k_dim_names[d] : "";
}

int store_dim_parse(const char *s, store_dim *out)
{
    for (int d = 0; s && d < STORE_DIM_N; d++)
        if (!strcmp(s, k_dim_names[d])) {
            *out = (store_dim)d;
            return 0;
        }
    return -1;
}

/* Statement keys from Q_ROUTES_FIRST. */
enum {
    K_HOUR_DEL = Q_ROUTES_FIRST,
    K_HOUR_INS,                           /* + STORE_DIM_N */
    K_DAY_DEL = K_HOUR_INS + STORE_DIM_N, /* + STORE_DIM_N */
    K_DAY_INS = K_DAY_DEL + 1,
    K_CAUSE_DEL = K_DAY_INS + 1,
    K_CAUSE_INS, /* + STORE_DIM_N */
    K_ATT_PUT = K_CAUSE_INS + STORE_DIM_N,
    K_ATT_LINK,
    K_ATT_CALL,
    K_ATT_JOIN,
    K_ATT_SET,
    K_ATT_CALL_ID,
    K_DAYS,
    K_DAYS_ONE,
    K_DAYS_TOTAL,
    K_DAYS_TOTAL_ONE,
    K_HOURS,
    K_NAMES,
    K_CAUSES,
    K_CHANGE_PUT,
    K_CHANGES,
    K_CHANGES_ONE,
    K_HOURS_SUM,
    K_REBUILD_DAYS,
    K_EXAMPLES, /* + N_EXAMPLE_FIGS */
    K_END = K_EXAMPLES + 10
};
_Static_assert(K_END <= DB_MAX_STMTS, "statement keys past db.h's DB_MAX_STMTS");

/* ---- the roll-ups -------------------------------------------------------------------------- */

/* The figures' columns, in the order of store_route_figs and of every statement below. */
#define FIG_COLS                                                                                   \
    "calls, analysed, mos_sum, mos_sq, mos_n, dnsmos_sum, dnsmos_sq, dnsmos_n, net_mos_sum, "      \
    "net_mos_sq, net_mos_n, loss_sum, loss_sq, loss_n, jitter_sum, jitter_sq, jitter_n, "          \
    "pdd_sum, pdd_sq, pdd_n, one_way, one_way_n, dead_air, dead_air_n, dropouts_sum, "             \
    "dropouts_sq, dropouts_n, clipping, clipping_n, score_sum, score_sq, score_n, attempts, "      \
    "answered, dial_sum, dial_sq, dial_n"
#define N_FIGS 37
#define FIG_SUMS                                                                                   \
    "SUM(calls), SUM(analysed), SUM(mos_sum), SUM(mos_sq), SUM(mos_n), SUM(dnsmos_sum), "          \
    "SUM(dnsmos_sq), SUM(dnsmos_n), SUM(net_mos_sum), SUM(net_mos_sq), SUM(net_mos_n), "           \
    "SUM(loss_sum), SUM(loss_sq), SUM(loss_n), SUM(jitter_sum), SUM(jitter_sq), SUM(jitter_n), "   \
    "SUM(pdd_sum), SUM(pdd_sq), SUM(pdd_n), SUM(one_way), SUM(one_way_n), SUM(dead_air), "         \
    "SUM(dead_air_n), SUM(dropouts_sum), SUM(dropouts_sq), SUM(dropouts_n), SUM(clipping), "       \
    "SUM(clipping_n), SUM(score_sum), SUM(score_sq), SUM(score_n), SUM(attempts), "                \
    "SUM(answered), SUM(dial_sum), SUM(dial_sq), SUM(dial_n)"

/* A call's MOS: the mean of its legs', or the one leg's, of one model (as daily_stats). */
#define MOS_MEAN                                                                                   \
    "(CASE WHEN a.mos_in IS NOT NULL AND a.mos_out IS NOT NULL THEN (a.mos_in + a.mos_out) / 2 "   \
    "ELSE COALESCE(a.mos_in, a.mos_out) END)"
#define NISQA "(CASE WHEN a.mos_model = 'NISQA v2' THEN " MOS_MEAN " END)"
#define DNSMOS "(CASE WHEN a.mos_model = 'DNSMOS P.835 OVRL' THEN " MOS_MEAN " END)"
/* clang-format off */
#define F3(x, n)                                                                                   \
    "COALESCE(SUM(" x "), 0) AS " n "_sum, COALESCE(SUM((" x ") * (" x ")), 0) AS " n "_sq, "     \
    "COUNT(" x ") AS " n "_n"
/* A dimension's calls of the hour by route (%s: its column; %g: the dead air's and clipping's
 * bounds), every figure named as route_hourly's column. */
#define CALLS_ARM                                                                                  \
    "SELECT %s AS name, MIN(COALESCE(c.call_epoch, c.created)) AS t, COUNT(*) AS calls, "         \
    "COUNT(a.id) AS analysed, " F3(NISQA, "mos") ", " F3(DNSMOS, "dnsmos") ", "                   \
    F3("a.net_mos", "net_mos") ", " F3("a.net_loss_pct", "loss") ", "                             \
    F3("a.net_jitter_ms", "jitter") ", " F3("a.sip_pdd_ms", "pdd") ", "                           \
    "SUM(CASE WHEN a.one_way = 1 THEN 1 ELSE 0 END) AS one_way, "                                 \
    "COUNT(CASE WHEN a.one_way >= 0 THEN 1 END) AS one_way_n, "                                   \
    "SUM(CASE WHEN a.dead_air_sec >= %g THEN 1 ELSE 0 END) AS dead_air, "                         \
    "COUNT(CASE WHEN a.dead_air_sec >= 0 THEN 1 END) AS dead_air_n, "                             \
    F3("a.dropouts_per_min", "dropouts") ", "                                                     \
    "SUM(CASE WHEN a.clipping_pct >= %g THEN 1 ELSE 0 END) AS clipping, "                         \
    "COUNT(a.clipping_pct) AS clipping_n, " F3("sc.total_score", "score") ", "                    \
    "CAST(NULL AS BIGINT) AS attempts, CAST(NULL AS BIGINT) AS answered, "                        \
    "CAST(NULL AS DOUBLE PRECISION) AS dial_sum, CAST(NULL AS DOUBLE PRECISION) AS dial_sq, "     \
    "CAST(NULL AS BIGINT) AS dial_n "                                                             \
    "FROM calls c LEFT JOIN analyses a ON a.call_id = c.id LEFT JOIN scores sc ON "              \
    "sc.call_id = c.id WHERE c.hour = $1 AND %s IS NOT NULL AND %s <> '' GROUP BY %s"
/* The attempts of the hour by route (%s: the attempts' column), in the calls' columns. */
#define ATTEMPTS_ARM                                                                               \
    " UNION ALL SELECT %s, MIN(x.epoch), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "  \
    "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*), SUM(CASE WHEN x.dialstatus = 'ANSWER' "  \
    "OR x.answered_time > 0 THEN 1 ELSE 0 END), " F3("x.dial_time", "dial") " FROM "             \
    "call_attempts x WHERE x.hour = $1 AND %s IS NOT NULL AND %s <> '' GROUP BY %s"
/* clang-format on */

/* The SQL of a dimension's hourly rows ($1 the hour, $2 the dimension's name): the calls of the
 * hour grouped by the dimension's column, beside the attempts of the hour grouped the same way
 * where attempts name it. Made once (the texts depend on the dimension only). */
static char *g_hour_sql[STORE_DIM_N];
static char *g_cause_sql[STORE_DIM_N];
static pthread_once_t g_sql_once = PTHREAD_ONCE_INIT;

static void sql_make(void)
{
    for (int d = 0; d < STORE_DIM_N; d++) {
        const char *col = k_dim_call_col[d], *att = k_dim_attempt_col[d];
        char *calls = NULL, *atts = NULL;
        if (asprintf(&calls, CALLS_ARM, col, STORE_ROUTE_DEAD_AIR_SEC, STORE_ROUTE_CLIPPING_PCT,
                     col, col, col) < 0)
            calls = NULL;
        if (att && asprintf(&atts, ATTEMPTS_ARM, att, att, att, att) < 0)
            atts = NULL;
        if (!calls || (att && !atts) ||
            asprintf(&g_hour_sql[d],
                     "INSERT INTO route_hourly (dim, name, hour, t, " FIG_COLS
                     ") SELECT $2, name, $1, MIN(t), " FIG_SUMS " FROM (%s%s) u GROUP BY name",
                     calls, atts ? atts : "") < 0)
            g_hour_sql[d] = NULL;
        if (att &&
            asprintf(&g_cause_sql[d],
                     "INSERT INTO route_causes (dim, name, day, kind, cause, n) SELECT $2, %s, "
                     "$1, 'dialstatus', x.dialstatus, COUNT(*) FROM call_attempts x WHERE x.hour "
                     ">= $1 AND x.hour < $3 AND %s IS NOT NULL AND %s <> '' AND x.dialstatus IS "
                     "NOT NULL GROUP BY %s, x.dialstatus UNION ALL SELECT $2, %s, $1, 'q850', "
                     "CAST(x.hangup_cause AS TEXT), COUNT(*) FROM call_attempts x WHERE x.hour >= "
                     "$1 AND x.hour < $3 AND %s IS NOT NULL AND %s <> '' AND x.hangup_cause > 0 "
                     "GROUP BY %s, x.hangup_cause UNION ALL SELECT $2, %s, $1, 'sip', "
                     "CAST(x.sip_hangup_cause AS TEXT), COUNT(*) FROM call_attempts x WHERE "
                     "x.hour >= $1 AND x.hour < $3 AND %s IS NOT NULL AND %s <> '' AND "
                     "x.sip_hangup_cause > 0 GROUP BY %s, x.sip_hangup_cause",
                     att, att, att, att, att, att, att, att, att, att, att, att) < 0)
            g_cause_sql[d] = NULL;
        free(calls);
        free(atts);
    }
}

static int oom(store *s)
{
    snprintf(s->err, sizeof(s->err), "the routes' roll-ups: out of memory");
    return -1;
}

/* The end of a day's hours for a range on "YYYY-MM-DD HH": "YYYY-MM-DD~" ('~' after ' '). */
static void day_end(const char *day, char out[16])
{
    snprintf(out, 16, "%.10s~", day);
}

/* One dimension's rows of a period replaced: statement del_sql ($1 the period, $2 the dimension)
 * run, then ins_sql (the same, and $3 end when not NULL), under the caller's lock and
 * transaction. 0, or -1 with s->err naming `what`. */
static int refill(store *s, int del_key, const char *del_sql, int ins_key, const char *ins_sql,
                  const char *period, int d, const char *end, const char *what)
{
    db_stmt *del = store__stmt(s, del_key, del_sql);
    if (!del)
        return -1;
    db_bind_text(del, 1, period);
    db_bind_text(del, 2, k_dim_names[d]);
    if (store__run(s, del, what) != 0)
        return -1;
    db_stmt *ins = store__stmt(s, ins_key, ins_sql);
    if (!ins)
        return -1;
    db_bind_text(ins, 1, period);
    db_bind_text(ins, 2, k_dim_names[d]);
    if (end)
        db_bind_text(ins, 3, end);
    return store__run(s, ins, what);
}

/* One hour's rows in every dimension. */
static int hour_rows(store *s, const char *hour)
{
    for (int d = 0; d < STORE_DIM_N; d++)
        if (refill(s, K_HOUR_DEL, "DELETE FROM route_hourly WHERE dim = $2 AND hour = $1",
                   K_HOUR_INS + d, g_hour_sql[d], hour, d, NULL, "computing a route's hour") != 0)
            return -1;
    return 0;
}

/* A day's rows in every dimension, from its hourly rows. */
static int day_rows(store *s, const char *day)
{
    char end[16];
    day_end(day, end);
    for (int d = 0; d < STORE_DIM_N; d++)
        if (refill(s, K_DAY_DEL, "DELETE FROM route_daily WHERE dim = $2 AND day = $1", K_DAY_INS,
                   "INSERT INTO route_daily (dim, name, day, " FIG_COLS
                   ") SELECT dim, name, $1, " FIG_SUMS
                   " FROM route_hourly WHERE dim = $2 AND hour >= $1 AND hour < $3 "
                   "GROUP BY dim, name",
                   day, d, end, "computing a route's day") != 0)
            return -1;
    return 0;
}

int store__route_hour(store *s, const char *hour)
{
    if (!hour || strlen(hour) != 13)
        return 0; /* a call without a date counts in no hour */
    pthread_once(&g_sql_once, sql_make);
    for (int d = 0; d < STORE_DIM_N; d++)
        if (!g_hour_sql[d])
            return oom(s);
    char day[11];
    snprintf(day, sizeof(day), "%.10s", hour);
    return hour_rows(s, hour) != 0 ? -1 : day_rows(s, day);
}

/* A day's hang-up causes, in the dimensions attempts name. */
static int cause_rows(store *s, const char *day)
{
    char end[16];
    day_end(day, end);
    for (int d = 0; d < STORE_DIM_N; d++) {
        if (!k_dim_attempt_col[d])
            continue;
        if (!g_cause_sql[d])
            return oom(s);
        if (refill(s, K_CAUSE_DEL, "DELETE FROM route_causes WHERE dim = $2 AND day = $1",
                   K_CAUSE_INS + d, g_cause_sql[d], day, d, end, "counting a route's causes") != 0)
            return -1;
    }
    return 0;
}

int store__route_link_call(store *s, int64_t call_id)
{
    db_stmt *st = store__stmt(
        s, Q_ROUTE_LINK,
        "UPDATE calls SET carrier = COALESCE(carrier, (SELECT x.carrier FROM call_attempts x WHERE "
        "x.source = calls.source AND x.uniqueid = calls.uniqueid AND (x.lead_id IS NULL OR "
        "calls.lead_id IS NULL OR x.lead_id = calls.lead_id))), server_ip = COALESCE(server_ip, "
        "(SELECT x.server_ip FROM call_attempts x WHERE x.source = calls.source AND x.uniqueid = "
        "calls.uniqueid AND (x.lead_id IS NULL OR calls.lead_id IS NULL OR x.lead_id = "
        "calls.lead_id))) WHERE id = $1 AND uniqueid IS NOT NULL AND (carrier IS NULL OR "
        "server_ip IS NULL)");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    if (store__run(s, st, "joining a call to its attempt") != 0)
        return -1;
    db_stmt *at = store__stmt(
        s, K_ATT_CALL,
        "UPDATE call_attempts SET call_id = $1 WHERE call_id IS NULL AND (source, uniqueid) IN "
        "(SELECT c.source, c.uniqueid FROM calls c WHERE c.id = $1 AND c.uniqueid IS NOT NULL) "
        "AND (lead_id IS NULL OR lead_id = (SELECT COALESCE(c.lead_id, call_attempts.lead_id) "
        "FROM calls c WHERE c.id = $1))");
    if (!at)
        return -1;
    db_bind_int(at, 1, call_id);
    return store__run(s, at, "joining an attempt to its call");
}

/* ---- attempts ------------------------------------------------------------------------------ */

static void bind_num_opt(db_stmt *st, int n, double v)
{
    if (v >= 0)
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

static void bind_int_opt(db_stmt *st, int n, int v)
{
    if (v >= 0)
        db_bind_int(st, n, v);
    else
        db_bind_null(st, n);
}

static int hour_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

typedef struct att_args {
    const store_attempt *a;
    int n;
    double now;
    int joined;
    char (*hours)[16]; /* the hours touched, then the calls' hours too */
    int n_hours, cap_hours;
} att_args;

static int add_hour(att_args *g, const char *hour)
{
    if (!hour || strlen(hour) != 13)
        return 0;
    for (int i = 0; i < g->n_hours; i++)
        if (!strcmp(g->hours[i], hour))
            return 0;
    if (g->n_hours == g->cap_hours) {
        int cap = g->cap_hours ? 2 * g->cap_hours : 32;
        char(*h)[16] = realloc(g->hours, (size_t)cap * sizeof(*h));
        if (!h)
            return -1;
        g->hours = h;
        g->cap_hours = cap;
    }
    snprintf(g->hours[g->n_hours++], 16, "%s", hour);
    return 0;
}

static int attempts_tx(store *s, void *arg)
{
    att_args *g = arg;
    g->joined = 0;
    g->n_hours = 0;
    for (int i = 0; i < g->n; i++) {
        const store_attempt *a = &g->a[i];
        char hour[16] = "";
        if (strlen(a->call_date) >= 13)
            snprintf(hour, sizeof(hour), "%.13s", a->call_date);
        /* the hour it was in before, if the dialer changed it */
        db_stmt *was = store__stmt(
            s, K_ATT_LINK, "SELECT hour FROM call_attempts WHERE source = $1 AND uniqueid = $2");
        if (!was)
            return STORE_ERR;
        db_bind_text(was, 1, a->source);
        db_bind_text(was, 2, a->uniqueid);
        int rc = db_step(was);
        char old[16] = "";
        if (rc == DB_ROW)
            store__col_copy(was, 0, old, sizeof(old));
        db_reset(was);
        if (rc != DB_ROW && rc != DB_DONE)
            return store__fail(s, "reading an attempt"), STORE_ERR;
        db_stmt *put = store__stmt(
            s, K_ATT_PUT,
            "INSERT INTO call_attempts (source, uniqueid, call_date, day, hour, epoch, server_ip, "
            "lead_id, channel, carrier, dialstatus, hangup_cause, sip_hangup_cause, "
            "sip_hangup_reason, dial_time, answered_time, caller_code, created) VALUES ($1, $2, "
            "$3, substr($3, 1, 10), substr($3, 1, 13), $4, $5, $6, $7, $8, $9, $10, $11, $12, "
            "$13, $14, $15, $16) ON CONFLICT (source, uniqueid) DO UPDATE SET call_date = "
            "excluded.call_date, day = excluded.day, hour = excluded.hour, epoch = "
            "excluded.epoch, server_ip = excluded.server_ip, lead_id = excluded.lead_id, channel "
            "= excluded.channel, carrier = excluded.carrier, dialstatus = excluded.dialstatus, "
            "hangup_cause = excluded.hangup_cause, sip_hangup_cause = excluded.sip_hangup_cause, "
            "sip_hangup_reason = excluded.sip_hangup_reason, dial_time = excluded.dial_time, "
            "answered_time = excluded.answered_time, caller_code = excluded.caller_code WHERE "
            "(call_attempts.call_date, call_attempts.epoch, call_attempts.server_ip, "
            "call_attempts.lead_id, call_attempts.channel, call_attempts.carrier, "
            "call_attempts.dialstatus, call_attempts.hangup_cause, "
            "call_attempts.sip_hangup_cause, call_attempts.sip_hangup_reason, "
            "call_attempts.dial_time, call_attempts.answered_time, call_attempts.caller_code) IS "
            "DISTINCT FROM (excluded.call_date, excluded.epoch, excluded.server_ip, "
            "excluded.lead_id, excluded.channel, excluded.carrier, excluded.dialstatus, "
            "excluded.hangup_cause, excluded.sip_hangup_cause, excluded.sip_hangup_reason, "
            "excluded.dial_time, excluded.answered_time, excluded.caller_code)");
        if (!put)
            return STORE_ERR;
        db_bind_text(put, 1, a->source);
        db_bind_text(put, 2, a->uniqueid);
        store__bind_opt(put, 3, a->call_date);
        bind_num_opt(put, 4, a->epoch);
        store__bind_opt(put, 5, a->server_ip);
        store__bind_opt(put, 6, a->lead_id);
        store__bind_opt(put, 7, a->channel);
        store__bind_opt(put, 8, a->carrier);
        store__bind_opt(put, 9, a->dialstatus);
        bind_int_opt(put, 10, a->hangup_cause);
        bind_int_opt(put, 11, a->sip_hangup_cause);
        store__bind_opt(put, 12, a->sip_hangup_reason);
        bind_num_opt(put, 13, a->dial_time);
        bind_num_opt(put, 14, a->answered_time);
        store__bind_opt(put, 15, a->caller_code);
        db_bind_double(put, 16, g->now);
        if (store__run(s, put, "storing an attempt") != 0)
            return STORE_ERR;
        if (db_changes(s->d) == 0)
            continue; /* read again as it was: nothing to count again */
        if (add_hour(g, hour) != 0 || add_hour(g, old) != 0)
            return oom(s), STORE_ERR;
        /* its call, by uniqueid (and lead): joined, and given the route it lacked */
        db_stmt *call = store__stmt(
            s, K_ATT_JOIN,
            "SELECT id, hour FROM calls WHERE source = $1 AND uniqueid = $2 AND (lead_id IS NULL "
            "OR CAST($3 AS TEXT) IS NULL OR lead_id = $3) ORDER BY id LIMIT 1");
        if (!call)
            return STORE_ERR;
        db_bind_text(call, 1, a->source);
        db_bind_text(call, 2, a->uniqueid);
        store__bind_opt(call, 3, a->lead_id);
        rc = db_step(call);
        int64_t id = 0;
        char call_hour[16] = "";
        if (rc == DB_ROW) {
            id = db_col_int(call, 0);
            store__col_copy(call, 1, call_hour, sizeof(call_hour));
        }
        db_reset(call);
        if (rc != DB_ROW && rc != DB_DONE)
            return store__fail(s, "finding an attempt's call"), STORE_ERR;
        if (!id)
            continue;
        g->joined++;
        if (add_hour(g, call_hour) != 0)
            return oom(s), STORE_ERR;
        db_stmt *up = store__stmt(s, K_ATT_SET,
                                  "UPDATE calls SET carrier = COALESCE(carrier, $2), server_ip = "
                                  "COALESCE(server_ip, $3) WHERE id = $1");
        if (!up)
            return STORE_ERR;
        db_bind_int(up, 1, id);
        store__bind_opt(up, 2, a->carrier);
        store__bind_opt(up, 3, a->server_ip);
        if (store__run(s, up, "giving a call its route") != 0)
            return STORE_ERR;
        db_stmt *ln = store__stmt(
            s, K_ATT_CALL_ID,
            "UPDATE call_attempts SET call_id = $3 WHERE source = $1 AND uniqueid = $2");
        if (!ln)
            return STORE_ERR;
        db_bind_text(ln, 1, a->source);
        db_bind_text(ln, 2, a->uniqueid);
        db_bind_int(ln, 3, id);
        if (store__run(s, ln, "joining an attempt to its call") != 0)
            return STORE_ERR;
    }
    /* the hours touched, in order, each day's lock taken once in that order (PostgreSQL) */
    if (g->n_hours > 1)
        qsort(g->hours, (size_t)g->n_hours, sizeof(*g->hours), hour_cmp);
    char day[11] = "";
    for (int i = 0; i < g->n_hours; i++)
        if (strncmp(g->hours[i], day, 10)) {
            snprintf(day, sizeof(day), "%.10s", g->hours[i]);
            if (store__day_lock(s, day) != 0)
                return STORE_ERR;
        }
    for (int i = 0; i < g->n_hours; i++)
        if (hour_rows(s, g->hours[i]) != 0)
            return STORE_ERR;
    day[0] = 0;
    for (int i = 0; i < g->n_hours; i++)
        if (strncmp(g->hours[i], day, 10)) {
            snprintf(day, sizeof(day), "%.10s", g->hours[i]);
            if (day_rows(s, day) != 0 || cause_rows(s, day) != 0)
                return STORE_ERR;
        }
    return STORE_OK;
}

int store_attempts_put(store *s, const store_attempt *a, int n, double now, int *joined)
{
    if (n <= 0) {
        if (joined)
            *joined = 0;
        return 0;
    }
    pthread_once(&g_sql_once, sql_make);
    att_args g = {.a = a, .n = n, .now = now};
    int rc = store__in_tx(s, "attempts", attempts_tx, &g);
    free(g.hours);
    if (joined)
        *joined = g.joined;
    return rc == STORE_OK ? 0 : -1;
}

/* A day's routes recomputed, every hour of it (store_rollup_day; under the day's lock). */
int store__route_day(store *s, const char *day)
{
    pthread_once(&g_sql_once, sql_make);
    for (int d = 0; d < STORE_DIM_N; d++)
        if (!g_hour_sql[d])
            return oom(s);
    for (int h = 0; h < 24; h++) {
        char hour[16];
        snprintf(hour, sizeof(hour), "%.10s %02d", day, h);
        if (hour_rows(s, hour) != 0)
            return -1;
    }
    return day_rows(s, day) != 0 ? -1 : cause_rows(s, day);
}

typedef struct rebuild_args {
    const char *day;
} rebuild_args;

static int rebuild_tx(store *s, void *arg)
{
    const char *day = ((rebuild_args *)arg)->day;
    return store__day_lock(s, day) == 0 && store__route_day(s, day) == 0 ? STORE_OK : STORE_ERR;
}

int store_routes_rebuild(store *s, int *days)
{
    *days = 0;
    /* the days of the calls and of the attempts */
    db_stmt *st = store__begin(s, K_REBUILD_DAYS,
                               "SELECT day FROM calls WHERE day IS NOT NULL UNION SELECT day FROM "
                               "call_attempts WHERE day IS NOT NULL ORDER BY 1");
    if (!st)
        return -1;
    char(*list)[16] = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 512;
            char(*l)[16] = realloc(list, (size_t)cap * sizeof(*l));
            if (!l) {
                rc = DB_ERROR;
                break;
            }
            list = l;
        }
        store__col_copy(st, 0, list[n++], 16);
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "reading the days of the calls");
    store__end(s, st);
    for (int i = 0; res == 0 && i < n; i++) {
        if (strlen(list[i]) != 10)
            continue;
        rebuild_args a = {list[i]};
        res = store__in_tx(s, "routes", rebuild_tx, &a) == STORE_OK ? 0 : -1;
        *days += res == 0;
    }
    free(list);
    return res;
}

/* ---- readers ------------------------------------------------------------------------------- */

/* The figures of a row from column `at` on (FIG_COLS' order). */
static void read_figs(db_stmt *st, int at, store_route_figs *f)
{
    int i = at;
#define I64(x) f->x = db_col_int(st, i++)
#define DBL(x) f->x = db_col_double(st, i++)
    I64(calls);
    I64(analysed);
    DBL(mos_sum);
    DBL(mos_sq);
    I64(mos_n);
    DBL(dnsmos_sum);
    DBL(dnsmos_sq);
    I64(dnsmos_n);
    DBL(net_mos_sum);
    DBL(net_mos_sq);
    I64(net_mos_n);
    DBL(loss_sum);
    DBL(loss_sq);
    I64(loss_n);
    DBL(jitter_sum);
    DBL(jitter_sq);
    I64(jitter_n);
    DBL(pdd_sum);
    DBL(pdd_sq);
    I64(pdd_n);
    I64(one_way);
    I64(one_way_n);
    I64(dead_air);
    I64(dead_air_n);
    DBL(dropouts_sum);
    DBL(dropouts_sq);
    I64(dropouts_n);
    I64(clipping);
    I64(clipping_n);
    DBL(score_sum);
    DBL(score_sq);
    I64(score_n);
    f->has_attempts = !db_col_null(st, i);
    I64(attempts);
    I64(answered);
    DBL(dial_sum);
    DBL(dial_sq);
    I64(dial_n);
#undef I64
#undef DBL
}
_Static_assert(N_FIGS == 37, "read_figs reads FIG_COLS' 37 columns");

/* Run st (bound, from store__begin) to its end, each row's name (col 0), key (col 1) and
 * figures (from col 2, t at col `tcol` when >= 0) into fn. */
static int each_row(store *s, db_stmt *st, int tcol, store_route_fn fn, void *user,
                    const char *what)
{
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        store_route_figs f;
        memset(&f, 0, sizeof(f));
        read_figs(st, 2, &f);
        if (tcol >= 0)
            f.t = db_col_double(st, tcol);
        char name[65], key[24];
        store__col_copy(st, 0, name, sizeof(name));
        store__col_copy(st, 1, key, sizeof(key));
        if (fn(user, name, key, &f) != 0) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, what);
    store__end(s, st);
    return res;
}

int store_routes_days(store *s, store_dim d, const char *name, const char *from, const char *to,
                      bool per_day, store_route_fn fn, void *user)
{
    bool one = name && *name;
    int key = per_day ? (one ? K_DAYS_ONE : K_DAYS) : (one ? K_DAYS_TOTAL_ONE : K_DAYS_TOTAL);
    const char *sql =
        per_day ? (one ? "SELECT name, day, " FIG_COLS " FROM route_daily WHERE dim = $1 AND "
                         "name = $4 AND day >= $2 AND day <= $3 ORDER BY day"
                       : "SELECT name, day, " FIG_COLS " FROM route_daily WHERE dim = $1 AND day "
                         ">= $2 AND day <= $3 ORDER BY name, day")
                : (one ? "SELECT name, '', " FIG_SUMS " FROM route_daily WHERE dim = $1 AND name "
                         "= $4 AND day >= $2 AND day <= $3 GROUP BY name"
                       : "SELECT name, '', " FIG_SUMS " FROM route_daily WHERE dim = $1 AND day >= "
                         "$2 AND day <= $3 GROUP BY name ORDER BY name");
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_text(st, 2, from);
    db_bind_text(st, 3, to);
    if (one)
        db_bind_text(st, 4, name);
    return each_row(s, st, -1, fn, user, "reading the routes' days");
}

int store_route_hours(store *s, store_dim d, const char *name, const char *from, const char *to,
                      store_route_fn fn, void *user)
{
    db_stmt *st = store__begin(s, K_HOURS,
                               "SELECT name, hour, " FIG_COLS ", t FROM route_hourly WHERE dim = "
                               "$1 AND name = $2 AND hour >= $3 AND hour <= $4 ORDER BY hour");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_text(st, 2, name);
    db_bind_text(st, 3, from);
    db_bind_text(st, 4, to);
    return each_row(s, st, 2 + N_FIGS, fn, user, "reading a route's hours");
}

int store_routes_hours_sum(store *s, store_dim d, const char *from, const char *to,
                           store_route_fn fn, void *user)
{
    db_stmt *st = store__begin(s, K_HOURS_SUM,
                               "SELECT name, '', " FIG_SUMS " FROM route_hourly WHERE dim = $1 AND "
                               "hour >= $2 AND hour <= $3 GROUP BY name ORDER BY name");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_text(st, 2, from);
    db_bind_text(st, 3, to);
    return each_row(s, st, -1, fn, user, "reading the routes' hours");
}

int store_route_names(store *s, store_dim d, const char *from, store_route_fn fn, void *user)
{
    db_stmt *st = store__begin(s, K_NAMES,
                               "SELECT DISTINCT name FROM route_daily WHERE dim = $1 AND day >= "
                               "$2 ORDER BY name");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_text(st, 2, from);
    int rc;
    store_route_figs zero;
    memset(&zero, 0, sizeof(zero));
    while ((rc = db_step(st)) == DB_ROW) {
        char name[65];
        store__col_copy(st, 0, name, sizeof(name));
        if (fn(user, name, "", &zero) != 0) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "reading the routes");
    store__end(s, st);
    return res;
}

int store_route_causes(store *s, store_dim d, const char *name, const char *from, const char *to,
                       store_cause_fn fn, void *user)
{
    db_stmt *st = store__begin(s, K_CAUSES,
                               "SELECT kind, cause, SUM(n) FROM route_causes WHERE dim = $1 AND "
                               "name = $2 AND day >= $3 AND day <= $4 GROUP BY kind, cause ORDER "
                               "BY kind, SUM(n) DESC, cause");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_text(st, 2, name);
    db_bind_text(st, 3, from);
    db_bind_text(st, 4, to);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        char kind[16], cause[64];
        store__col_copy(st, 0, kind, sizeof(kind));
        store__col_copy(st, 1, cause, sizeof(cause));
        if (fn(user, kind, cause, db_col_int(st, 2)) != 0) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "reading a route's causes");
    store__end(s, st);
    return res;
}

/* ---- changes ------------------------------------------------------------------------------- */

int store_route_change_put(store *s, const store_route_change *c)
{
    db_stmt *st = store__begin(
        s, K_CHANGE_PUT,
        "INSERT INTO route_changes (dim, name, figure, t_start, t_found, level_before, "
        "level_after, calls, method, examples, found, direction) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, "
        "$8, $9, $10, $11, $12) ON CONFLICT (dim, name, figure, t_start) DO NOTHING");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(c->dim));
    db_bind_text(st, 2, c->name);
    db_bind_text(st, 3, c->figure);
    db_bind_double(st, 4, c->t_start);
    db_bind_double(st, 5, c->t_found);
    db_bind_double(st, 6, c->before);
    db_bind_double(st, 7, c->after);
    db_bind_double(st, 8, c->calls);
    db_bind_text(st, 9, c->method);
    store__bind_opt(st, 10, c->examples);
    db_bind_double(st, 11, c->found);
    db_bind_text(st, 12, c->direction);
    int rc = db_step(st);
    int res = rc == DB_DONE ? db_changes(s->d) > 0 : store__fail(s, "storing a route's change");
    store__end(s, st);
    return res;
}

int store_route_changes(store *s, store_dim d, const char *name, double since, int limit,
                        store_change_fn fn, void *user)
{
    bool one = name && *name;
    db_stmt *st = store__begin(
        s, one ? K_CHANGES_ONE : K_CHANGES,
        one ? "SELECT name, figure, t_start, t_found, level_before, level_after, calls, method, "
              "examples, found, direction FROM route_changes WHERE dim = $1 AND t_found >= $2 AND "
              "name = $4 "
              "ORDER BY t_found DESC, figure LIMIT $3"
            : "SELECT name, figure, t_start, t_found, level_before, level_after, calls, method, "
              "examples, found, direction FROM route_changes WHERE dim = $1 AND t_found >= $2 "
              "ORDER "
              "BY "
              "t_found DESC, name, figure LIMIT $3");
    if (!st)
        return -1;
    db_bind_text(st, 1, store_dim_name(d));
    db_bind_double(st, 2, since);
    db_bind_int(st, 3, limit > 0 ? limit : 1000);
    if (one)
        db_bind_text(st, 4, name);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        store_route_change c;
        memset(&c, 0, sizeof(c));
        c.dim = d;
        store__col_copy(st, 0, c.name, sizeof(c.name));
        store__col_copy(st, 1, c.figure, sizeof(c.figure));
        c.t_start = db_col_double(st, 2);
        c.t_found = db_col_double(st, 3);
        c.before = db_col_double(st, 4);
        c.after = db_col_double(st, 5);
        c.calls = db_col_double(st, 6);
        store__col_copy(st, 7, c.method, sizeof(c.method));
        store__col_copy(st, 8, c.examples, sizeof(c.examples));
        c.found = db_col_double(st, 9);
        store__col_copy(st, 10, c.direction, sizeof(c.direction));
        if (fn(user, &c) != 0) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "reading the routes' changes");
    store__end(s, st);
    return res;
}

/* The figures a route's worst calls are ranked by: the value (NULL: the call does not show the
 * figure: a MOS of the other model, a call without one-way audio or dead air), and whether low
 * is worse. A rate's calls are those that have it, the longest dead air first (10 s and 0.1 %:
 * STORE_ROUTE_DEAD_AIR_SEC and STORE_ROUTE_CLIPPING_PCT, written out). */
static const struct {
    const char *figure, *expr;
    bool low_worse;
} k_example_figs[] = {
    {"mos", NISQA, true},
    {"dnsmos", DNSMOS, true},
    {"net_mos", "a.net_mos", true},
    {"loss", "a.net_loss_pct", false},
    {"jitter", "a.net_jitter_ms", false},
    {"one_way", "(CASE WHEN a.one_way = 1 THEN c.length_sec END)", false},
    {"dead_air", "(CASE WHEN a.dead_air_sec >= 10 THEN a.dead_air_sec END)", false},
    {"dropouts", "a.dropouts_per_min", false},
    {"score", "sc.total_score", true},
    {"clipping", "(CASE WHEN a.clipping_pct >= 0.1 THEN a.clipping_pct END)", false},
};
#define N_EXAMPLE_FIGS (int)(sizeof(k_example_figs) / sizeof(k_example_figs[0]))
_Static_assert(sizeof(k_example_figs) / sizeof(k_example_figs[0]) == 10,
               "K_EXAMPLES has room for 10 figures' statements");

int store_route_examples(store *s, store_dim d, const char *name, const char *figure,
                         const char *from, const char *to, char (*ids)[65], int max, int *n)
{
    *n = 0;
    int f = 0;
    while (f < N_EXAMPLE_FIGS && strcmp(k_example_figs[f].figure, figure))
        f++;
    if (f == N_EXAMPLE_FIGS || d < 0 || d >= STORE_DIM_N) {
        snprintf(s->err, sizeof(s->err), "no such figure of a route's calls: %s", figure);
        return -1;
    }
    /* the statement for this figure and dimension: made on first use, kept by the connection
     * under its key (one key a figure: the dimension is bound, not written, by a CASE) */
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT c.recording_id FROM calls c LEFT JOIN analyses a ON a.call_id = c.id LEFT "
             "JOIN scores "
             "sc ON sc.call_id = c.id WHERE c.hour >= $1 AND c.hour <= $2 AND (CASE $3 WHEN "
             "'carrier' THEN c.carrier "
             "WHEN 'trunk' THEN a.sip_trunk WHEN 'server' THEN c.server_ip ELSE c.campaign_id END) "
             "= $4 AND %s IS NOT NULL ORDER BY %s %s, c.id LIMIT $5",
             k_example_figs[f].expr, k_example_figs[f].expr,
             k_example_figs[f].low_worse ? "ASC" : "DESC");
    db_stmt *st = store__begin(s, K_EXAMPLES + f, sql);
    if (!st)
        return -1;
    db_bind_text(st, 1, from);
    db_bind_text(st, 2, to);
    db_bind_text(st, 3, store_dim_name(d));
    db_bind_text(st, 4, name);
    db_bind_int(st, 5, max);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < max)
        store__col_copy(st, 0, ids[(*n)++], 65);
    int res = rc == DB_DONE || rc == DB_ROW ? 0 : store__fail(s, "reading a route's calls");
    store__end(s, st);
    return res;
}
