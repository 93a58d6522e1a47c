/*
 * store_jobs_stats.c - what the jobs add up to (store_jobs.h): the counters (Prometheus
 * families), the event feed of job states and the daily roll-ups, each also written inside the
 * transactions of store_jobs.c and store_calls.c (store_int.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* A statement that returns one row (or none) whose value is not read: a PostgreSQL lock. */
static int run_any(store *s, db_stmt *st, const char *what)
{
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, what);
}

/* PostgreSQL: the event feed reads events by id, so ids must become visible in their order;
 * a transaction that records an event takes this lock first and holds it to its commit (SQLite
 * has one writer at a time anyway). */
static int events_lock(store *s)
{
    if (db_get_dialect(s->d) != DB_PG)
        return 0;
    db_stmt *st = store__stmt(s, Q_PG_EVENT_LOCK, "SELECT pg_advisory_xact_lock(7461, 2)");
    return st ? run_any(s, st, "locking the event feed") : -1;
}

int store__event(store *s, int64_t call_id, job_state st, double now)
{
    if (events_lock(s) != 0)
        return -1;
    db_stmt *e = store__stmt(s, Q_EVENT_INSERT,
                             "INSERT INTO job_events (ts, call_id, state) VALUES ($1, $2, $3)");
    if (!e)
        return -1;
    db_bind_double(e, 1, now);
    db_bind_int(e, 2, call_id);
    db_bind_text(e, 3, job_state_name(st));
    return store__run(s, e, "recording a job event");
}

/* ---- counters ------------------------------------------------------------------------------ */

void store_reason_class(const char *message, char out[32])
{
    const char *colon = message ? strstr(message, ": ") : NULL;
    size_t n = colon ? (size_t)(colon - message) : 0;
    bool ok = n >= 1 && n <= 24;
    for (size_t i = 0; ok && i < n; i++)
        ok = (message[i] >= 'a' && message[i] <= 'z') || message[i] == ' ';
    snprintf(out, 32, "%.*s", ok ? (int)n : 5, ok ? message : "other");
}

/* Add v to a counter (under the lock, in the caller's transaction, if any). */
int store__counter_add(store *s, const char *name, const char *labels, double v)
{
    db_stmt *st = store__stmt(s, Q_COUNTER_ADD,
                              "INSERT INTO counters (name, labels, value) VALUES ($1, $2, $3) ON "
                              "CONFLICT (name, labels) DO UPDATE SET value = counters.value + "
                              "excluded.value");
    if (!st)
        return -1;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, labels);
    db_bind_double(st, 3, v);
    return store__run(s, st, "counting");
}

/* A job that ended: finished{state}, and what else its end counts. */
int store__count_end(store *s, job_state st, const char *stage, const char *message)
{
    char lab[128], why[32];
    snprintf(lab, sizeof(lab), "state=\"%s\"", job_state_name(st));
    if (store__counter_add(s, "qa_jobs_finished_total", lab, 1) != 0)
        return -1;
    store_reason_class(message, why);
    if (st == JOB_SKIPPED) {
        snprintf(lab, sizeof(lab), "reason=\"%s\"", why);
        return store__counter_add(s, "qa_skipped_total", lab, 1);
    }
    if (st == JOB_ERROR) {
        snprintf(lab, sizeof(lab), "stage=\"%s\",reason=\"%s\"", stage ? stage : "", why);
        return store__counter_add(s, "qa_errors_total", lab, 1);
    }
    return 0;
}

/* A job complete: its time from queued to complete into the histogram, and finished{complete},
 * in one statement (a round trip each would cost PostgreSQL more than the rest of the job's
 * counting): every bucket whose bound is at least the time, +Inf, _sum, _count. The bounds are
 * STORE_LATENCY_BUCKETS, written out. */
_Static_assert(sizeof((double[])STORE_LATENCY_BUCKETS) / sizeof(double) == 10,
               "the histogram's statement below names each bound of STORE_LATENCY_BUCKETS");
#define LE_ROW(v) "('qa_queue_to_complete_seconds_bucket', 'le=\"" #v "\"', " #v "), "
int store__count_complete(store *s, int64_t job_id, double now)
{
    db_stmt *st = store__stmt(
        s, Q_JOB_QUEUED,
        "INSERT INTO counters (name, labels, value) SELECT column1, column2, CASE WHEN column1 = "
        "'qa_queue_to_complete_seconds_sum' THEN COALESCE((SELECT CASE WHEN $2 > queued THEN $2 - "
        "queued ELSE 0 END FROM jobs WHERE id = $1), 0) ELSE 1 END FROM (VALUES " LE_ROW(60)
            LE_ROW(300) LE_ROW(900) LE_ROW(1800) LE_ROW(3600) LE_ROW(7200) LE_ROW(14400)
                LE_ROW(28800) LE_ROW(86400)
                    LE_ROW(172800) "('qa_queue_to_complete_seconds_bucket', 'le=\"+Inf\"', -1), "
                                   "('qa_queue_to_complete_seconds_sum', '', -1), "
                                   "('qa_queue_to_complete_seconds_count', '', -1), "
                                   "('qa_jobs_finished_total', 'state=\"complete\"', -1)) AS b "
                                   "WHERE column3 < 0 OR "
                                   "column3 >= COALESCE((SELECT CASE WHEN $2 > queued THEN $2 - "
                                   "queued ELSE 0 END FROM jobs "
                                   "WHERE id = $1), 0) ON CONFLICT (name, labels) DO UPDATE SET "
                                   "value = counters.value + excluded.value");
    if (!st)
        return -1;
    db_bind_int(st, 1, job_id);
    db_bind_double(st, 2, now);
    return store__run(s, st, "counting a completion");
}
#undef LE_ROW

int store_counter_add(store *s, const char *name, const char *labels, double v)
{
    pthread_mutex_lock(&s->mu);
    int rc = store__counter_add(s, name, labels ? labels : "", v);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The series every family has from the start, at 0 until its first event (so that a dashboard
 * has a line and rate() a first sample): the known label values; a reason's own series starts
 * with its first event, beside the stage's "other". */
static const char *const k_zero_series[][2] = {
    {"qa_errors_total", "stage=\"analyse\",reason=\"other\""},
    {"qa_errors_total", "stage=\"score\",reason=\"other\""},
    {"qa_errors_total", "stage=\"transcribe\",reason=\"other\""},
    {"qa_jobs_finished_total", "state=\"complete\""},
    {"qa_jobs_finished_total", "state=\"error\""},
    {"qa_jobs_finished_total", "state=\"skipped\""},
    {"qa_queue_to_complete_seconds_bucket", "le=\"+Inf\""}, /* and one per bound, below */
    {"qa_queue_to_complete_seconds_count", ""},
    {"qa_queue_to_complete_seconds_sum", ""},
    {"qa_retries_total", "stage=\"analyse\",reason=\"other\""},
    {"qa_retries_total", "stage=\"score\",reason=\"other\""},
    {"qa_retries_total", "stage=\"transcribe\",reason=\"other\""},
    {"qa_skipped_total", "reason=\"other\""},
    {"qa_worker_pauses_total", "reason=\"load\""},
    {"qa_worker_pauses_total", "reason=\"window\""},
};
#define N_ZERO (sizeof(k_zero_series) / sizeof(k_zero_series[0]))
static const double k_latency_bounds[] = STORE_LATENCY_BUCKETS;
#define N_BOUNDS (sizeof(k_latency_bounds) / sizeof(k_latency_bounds[0]))

typedef struct counter_row {
    char *name, *labels;
    double v;
} counter_row;

static int row_cmp(const void *a, const void *b)
{
    const counter_row *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

int store_counters(store *s, store_counter_fn fn, void *user)
{
    db_stmt *st = store__begin(s, Q_COUNTERS,
                               "SELECT name, labels, value FROM counters ORDER BY name, labels");
    if (!st)
        return -1;
    counter_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc, oom = 0;
    while ((rc = db_step(st)) == DB_ROW && !oom) {
        if (n == cap) {
            counter_row *nr = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof(*rows));
            if (!nr) {
                oom = 1;
                break;
            }
            rows = nr;
        }
        rows[n] = (counter_row){strdup(db_col_text(st, 0)), strdup(db_col_text(st, 1)),
                                db_col_double(st, 2)};
        oom = !rows[n].name || !rows[n].labels;
        n++;
    }
    int res = rc == DB_DONE && !oom ? 0 : store__fail(s, "reading the counters");
    store__end(s, st);
    /* the known series that have not had their first event yet, at 0 */
    size_t have = n;
    counter_row *nr = res == 0 ? realloc(rows, (n + N_ZERO + N_BOUNDS + 1) * sizeof(*rows)) : NULL;
    if (nr) {
        rows = nr;
        for (size_t z = 0; z < N_ZERO + N_BOUNDS; z++) {
            char le[40]; /* the histogram's bounds as count_complete writes them */
            if (z >= N_ZERO)
                snprintf(le, sizeof(le), "le=\"%g\"", k_latency_bounds[z - N_ZERO]);
            counter_row key = {z < N_ZERO ? (char *)k_zero_series[z][0]
                                          : "qa_queue_to_complete_seconds_bucket",
                               z < N_ZERO ? (char *)k_zero_series[z][1] : le, 0};
            bool found = false;
            for (size_t i = 0; i < have && !found; i++)
                found = row_cmp(&rows[i], &key) == 0;
            if (!found)
                rows[n++] = (counter_row){strdup(key.name), strdup(key.labels), 0};
        }
        qsort(rows, n, sizeof(*rows), row_cmp);
    } else if (res == 0) {
        res = store__fail(s, "reading the counters (out of memory)");
    }
    for (size_t i = 0; i < n && res == 0; i++)
        if (rows[i].name && rows[i].labels && fn(user, rows[i].name, rows[i].labels, rows[i].v))
            break;
    for (size_t i = 0; i < n; i++)
        free(rows[i].name), free(rows[i].labels);
    free(rows);
    return res;
}

int store__call_row_get(store *s, int64_t call_id, store__call_row *out)
{
    memset(out, 0, sizeof(*out));
    db_stmt *st =
        store__stmt(s, Q_CALL_ROW,
                    "SELECT day, source, COALESCE(agent_user, ''), COALESCE(campaign_id, ''), "
                    "recording_id, COALESCE(call_epoch, created), hour FROM calls WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        store__col_copy(st, 0, out->key.day, sizeof(out->key.day));
        store__col_copy(st, 1, out->key.source, sizeof(out->key.source));
        store__col_copy(st, 2, out->key.agent, sizeof(out->key.agent));
        store__col_copy(st, 3, out->key.campaign, sizeof(out->key.campaign));
        store__col_copy(st, 4, out->recording_id, sizeof(out->recording_id));
        out->t = db_col_double(st, 5);
        store__col_copy(st, 6, out->key.hour, sizeof(out->key.hour));
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a call");
    return rc == DB_ROW;
}

/* The roll-up row of a call (day "" when the call has no date; all "" when there is no such
 * call). */
int store__call_key(store *s, int64_t call_id, store__rollup_key *k)
{
    store__call_row r;
    if (store__call_row_get(s, call_id, &r) < 0)
        return -1;
    *k = r.key; /* zeroed past each string: rollup keys are compared with memcmp */
    return 0;
}

int store__rollup_call(store *s, int64_t call_id)
{
    store__rollup_key k;
    return store__call_key(s, call_id, &k) != 0 ? -1 : store__rollup_group(s, &k);
}

/* ---- events -------------------------------------------------------------------------------- */

static void event_row(db_stmt *st, void *out, int i)
{
    store_event *e = (store_event *)out + i;
    e->id = db_col_int(st, 0);
    e->ts = db_col_double(st, 1);
    e->call_id = db_col_int(st, 2);
    store__col_copy(st, 3, e->state, sizeof(e->state));
    store__col_copy(st, 4, e->source, sizeof(e->source));
    store__col_copy(st, 5, e->recording_id, sizeof(e->recording_id));
    store__col_copy(st, 6, e->agent_user, sizeof(e->agent_user));
}

int store_events_since(store *s, int64_t after_id, store_event *out, int max, int *n)
{
    return store__feed(s, Q_EVENTS_SINCE,
                       "SELECT e.id, e.ts, e.call_id, e.state, c.source, c.recording_id, "
                       "c.agent_user FROM job_events e LEFT JOIN calls c ON c.id = e.call_id WHERE "
                       "e.id > $1 ORDER BY e.id LIMIT $2",
                       after_id, max, event_row, out, n, "reading job events");
}

int store_events_last(store *s, int64_t *id)
{
    *id = 0;
    db_stmt *st = store__begin(s, Q_EVENTS_LAST, "SELECT COALESCE(MAX(id), 0) FROM job_events");
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc == DB_ROW)
        *id = db_col_int(st, 0);
    int res = rc == DB_ROW ? 0 : store__fail(s, "reading the last job event");
    store__end(s, st);
    return res;
}

int64_t store_events_prune(store *s, double before)
{
    db_stmt *st = store__begin(s, Q_EVENTS_PRUNE, "DELETE FROM job_events WHERE ts < $1");
    if (!st)
        return -1;
    db_bind_double(st, 1, before);
    int rc = db_step(st);
    int64_t n = rc == DB_DONE ? db_changes(s->d) : store__fail(s, "forgetting old job events");
    store__end(s, st);
    return n;
}

/* ---- roll-ups ------------------------------------------------------------------------------ */

/* A call's MOS: the mean of its legs', or the one leg's. Each model's apart (mos_sum / mos_n
 * NISQA's, dnsmos_sum / dnsmos_n DNSMOS's): their scales differ, never averaged together. */
#define MOS_MEAN                                                                                   \
    "(CASE WHEN a.mos_in IS NOT NULL AND a.mos_out IS NOT NULL THEN (a.mos_in + a.mos_out) / 2 "   \
    "ELSE COALESCE(a.mos_in, a.mos_out) END)"
/* A roll-up row from the calls, jobs and analyses it covers; the WHERE clause follows. */
#define ROLLUP_SELECT                                                                              \
    "INSERT INTO daily_stats (day, source, agent_user, campaign_id, queued, analysed, skipped, "   \
    "errored, talk_sec, hold_sec, dead_air_sec, one_way_calls, mos_sum, mos_n, scored, "           \
    "score_sum, score_min, score_max, flagged, cat_greeting_sum, cat_greeting_n, "                 \
    "cat_customer_id_sum, cat_customer_id_n, cat_needs_sum, cat_needs_n, cat_product_sum, "        \
    "cat_product_n, cat_communication_sum, cat_communication_n, cat_resolution_sum, "              \
    "cat_resolution_n, cat_closing_sum, cat_closing_n, cat_compliance_sum, cat_compliance_n, "     \
    "partial_n, partial_sum, cust_shift_sum, cust_shift_n, cust_drops, dnsmos_sum, dnsmos_n, "     \
    "partial_only_n, partial_only_sum) "                                                           \
    "SELECT c.day, c.source, COALESCE(c.agent_user, ''), COALESCE(c.campaign_id, ''), "            \
    "COUNT(*), COUNT(a.id), SUM(CASE WHEN j.state = 'skipped' THEN 1 ELSE 0 END), "                \
    "SUM(CASE WHEN j.state = 'error' THEN 1 ELSE 0 END), "                                         \
    "COALESCE(SUM(COALESCE(a.talk_sec_in, 0) + COALESCE(a.talk_sec_out, 0)), 0), "                 \
    "COALESCE(SUM(a.hold_sec), 0), COALESCE(SUM(a.dead_air_sec), 0), "                             \
    "SUM(CASE WHEN a.one_way = 1 THEN 1 ELSE 0 END), "                                             \
    "COALESCE(SUM(CASE WHEN a.mos_model = 'NISQA v2' THEN " MOS_MEAN " END), 0), "                 \
    "COUNT(CASE WHEN a.mos_model = 'NISQA v2' THEN COALESCE(a.mos_in, a.mos_out) END), "           \
    "COUNT(sc.total_score), COALESCE(SUM(sc.total_score), 0), MIN(sc.total_score), "               \
    "MAX(sc.total_score), COALESCE(SUM(sc.flagged), 0), "                                          \
    "COALESCE(SUM(sc.greeting), 0), COUNT(sc.greeting), "                                          \
    "COALESCE(SUM(sc.customer_id), 0), COUNT(sc.customer_id), "                                    \
    "COALESCE(SUM(sc.needs), 0), COUNT(sc.needs), "                                                \
    "COALESCE(SUM(sc.product), 0), COUNT(sc.product), "                                            \
    "COALESCE(SUM(sc.communication), 0), COUNT(sc.communication), "                                \
    "COALESCE(SUM(sc.resolution), 0), COUNT(sc.resolution), "                                      \
    "COALESCE(SUM(sc.closing), 0), COUNT(sc.closing), "                                            \
    "COALESCE(SUM(sc.compliance), 0), COUNT(sc.compliance), "                                      \
    "COUNT(sc.partial_score), COALESCE(SUM(sc.partial_score), 0), "                                \
    "COALESCE(SUM(sc.customer_shift), 0), COUNT(sc.customer_shift), "                              \
    "COALESCE(SUM(sc.customer_drop), 0), "                                                         \
    "COALESCE(SUM(CASE WHEN a.mos_model = 'DNSMOS P.835 OVRL' THEN " MOS_MEAN " END), 0), "        \
    "COUNT(CASE WHEN a.mos_model = 'DNSMOS P.835 OVRL' THEN COALESCE(a.mos_in, a.mos_out) END), "  \
    "COUNT(CASE WHEN sc.total_score IS NULL THEN sc.partial_score END), "                          \
    "COALESCE(SUM(CASE WHEN sc.total_score IS NULL THEN sc.partial_score END), 0) "                \
    "FROM calls c JOIN jobs j ON j.call_id = c.id LEFT JOIN analyses a ON a.call_id = c.id "       \
    "LEFT JOIN scores sc ON sc.call_id = c.id "
#define ROLLUP_GROUP_BY                                                                            \
    " GROUP BY c.day, c.source, COALESCE(c.agent_user, ''), COALESCE(c.campaign_id, '')"

/* PostgreSQL: a day's roll-up rows are recomputed by one transaction at a time, each after the
 * previous one's commit, so that calls of one day completed together by several workers are
 * all counted (each recomputation reads what the others committed). Held to the commit. */
int store__day_lock(store *s, const char *day)
{
    if (db_get_dialect(s->d) != DB_PG)
        return 0;
    db_stmt *st = store__stmt(s, Q_PG_DAY_LOCK, "SELECT pg_advisory_xact_lock(7462, hashtext($1))");
    if (!st)
        return -1;
    db_bind_text(st, 1, day);
    return run_any(s, st, "locking a day's roll-up");
}

/* The day's row of day_summary, from its daily_stats rows as they are now (under the day's
 * lock, in the transaction that changed them, so the two never disagree): a few hundred rows a
 * day (one per source, agent and campaign), not the day's calls. No row when the day has none. */
#define SUMMARY_DELETE "DELETE FROM day_summary WHERE day = $1"
#define SUMMARY_DAY "WITH days AS (SELECT CAST($1 AS TEXT) AS day), "
static int summary_day(store *s, const char *day)
{
    db_stmt *del = store__stmt(s, Q_SUMMARY_DELETE, SUMMARY_DELETE);
    if (!del)
        return -1;
    db_bind_text(del, 1, day);
    if (store__run(s, del, "clearing a day's summary") != 0)
        return -1;
    db_stmt *ins =
        store__stmt(s, Q_SUMMARY_INSERT,
                    STORE_SQL(s, SUMMARY_DAY STORE__SUMMARY_LITE, SUMMARY_DAY STORE__SUMMARY_PG));
    if (!ins)
        return -1;
    db_bind_text(ins, 1, day);
    return store__run(s, ins, "computing a day's summary");
}

/* The day's rows, all of them, and its summary (under the lock, in the caller's transaction). */
static int rollup_day(store *s, const char *day)
{
    if (store__day_lock(s, day) != 0)
        return -1;
    db_stmt *del = store__stmt(s, Q_ROLLUP_DELETE, "DELETE FROM daily_stats WHERE day = $1");
    if (!del)
        return -1;
    db_bind_text(del, 1, day);
    if (store__run(s, del, "clearing a day's roll-up") != 0)
        return -1;
    db_stmt *ins =
        store__stmt(s, Q_ROLLUP_INSERT, ROLLUP_SELECT "WHERE c.day = $1" ROLLUP_GROUP_BY);
    if (!ins)
        return -1;
    db_bind_text(ins, 1, day);
    if (store__run(s, ins, "computing a day's roll-up") != 0)
        return -1;
    return summary_day(s, day) != 0 ? -1 : store__route_day(s, day);
}

/* One row of a day: a source's agent and campaign, and the day's summary. The same figures
 * rollup_day gives that row, at the cost of the group's calls rather than the day's. */
int store__rollup_group(store *s, const store__rollup_key *k)
{
    if (!k->day[0])
        return 0;
    if (store__day_lock(s, k->day) != 0)
        return -1;
    db_stmt *del =
        store__stmt(s, Q_ROLLUP_GROUP_DELETE,
                    "DELETE FROM daily_stats WHERE day = $1 AND source = $2 AND agent_user "
                    "= $3 AND campaign_id = $4");
    if (!del)
        return -1;
    db_bind_text(del, 1, k->day);
    db_bind_text(del, 2, k->source);
    db_bind_text(del, 3, k->agent);
    db_bind_text(del, 4, k->campaign);
    if (store__run(s, del, "clearing a roll-up row") != 0)
        return -1;
        /* `agent_user IS NULLIF($3, '')` (a call's empty fields are stored NULL, store__bind_opt)
         * lets SQLite find the group's calls on the index calls_day (day, agent_user): with the
         * agent inside COALESCE it ranked them on calls_open (source), every call of the source */
#define ROLLUP_GROUP_SQL(is)                                                                       \
    ROLLUP_SELECT "WHERE c.day = $1 AND c.agent_user " is " NULLIF($3, '') AND c.source = $2 AND " \
                  "COALESCE(c.campaign_id, '') = $4" ROLLUP_GROUP_BY
    db_stmt *ins =
        store__stmt(s, Q_ROLLUP_GROUP_INSERT,
                    STORE_SQL(s, ROLLUP_GROUP_SQL("IS"), ROLLUP_GROUP_SQL("IS NOT DISTINCT FROM")));
    if (!ins)
        return -1;
    db_bind_text(ins, 1, k->day);
    db_bind_text(ins, 2, k->source);
    db_bind_text(ins, 3, k->agent);
    db_bind_text(ins, 4, k->campaign);
    if (store__run(s, ins, "computing a roll-up row") != 0)
        return -1;
    if (summary_day(s, k->day) != 0)
        return -1;
    return store__route_hour(s, k->hour);
}

typedef struct day_args {
    const char *day;
} day_args;

static int rollup_tx(store *s, void *arg)
{
    return rollup_day(s, ((day_args *)arg)->day) == 0 ? STORE_OK : STORE_ERR;
}

int store_rollup_day(store *s, const char *day)
{
    day_args a = {day};
    return store__in_tx(s, "rollup", rollup_tx, &a) == STORE_OK ? 0 : -1;
}
