/*
 * store.c - see store.h. SQL with bound parameters only; each function holds the store's lock
 * for its statements, and the ones that change several tables run in one transaction.
 *
 * DESIGN (jobs)
 * A job is claimed by setting its lease (owner, expiry, and a fencing token bumped on every
 * claim) in one statement: the lease is the lock, and nothing is held while the work runs.
 * Every later write by the worker names its token and requires the lease unexpired, so a
 * worker that lost its job (paused past its lease, or its job taken back) cannot write. A job
 * whose lease expired mid-way is claimable again from the state it reached; taking it back
 * from a worker that lost it counts a retry. A result is written in the same transaction as the
 * state it leads to and the day's roll-up, so a crash leaves either all of it or none.
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "callqa/cq_clock.h"
#include "store_int.h"

static const char *const k_states[JOB_N_STATES] = {"pending",     "analysing", "transcribing",
                                                   "transcribed", "scoring",   "complete",
                                                   "skipped",     "error"};

const char *job_state_name(job_state st)
{
    return (unsigned)st < JOB_N_STATES ? k_states[st] : "unknown";
}

int job_state_parse(const char *name)
{
    for (int i = 0; name && i < JOB_N_STATES; i++)
        if (!strcmp(name, k_states[i]))
            return i;
    return -1;
}

static bool terminal(job_state st)
{
    return st == JOB_COMPLETE || st == JOB_SKIPPED || st == JOB_ERROR;
}

/* ---- the object ---------------------------------------------------------------------------- */

store *store_open(const char *uri, char *msg, size_t msgsz)
{
    store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    if (!(s->d = db_open(uri, msg, msgsz))) {
        free(s);
        return NULL;
    }
    if (store__migrate(s->d, msg, msgsz) != 0) {
        db_close(s->d);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    db_close(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *store_errmsg(store *s)
{
    return s->err;
}

int store__fail(store *s, const char *what)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, db_errmsg(s->d));
    return -1;
}

db_stmt *store__begin(store *s, int key, const char *sql)
{
    pthread_mutex_lock(&s->mu);
    db_stmt *st = db_stmt_get(s->d, key, sql);
    if (!st) {
        store__fail(s, "preparing a statement");
        pthread_mutex_unlock(&s->mu);
    }
    return st;
}

void store__end(store *s, db_stmt *st)
{
    if (st)
        db_reset(st);
    pthread_mutex_unlock(&s->mu);
}

void store__col_copy(db_stmt *st, int col, char *dst, size_t n)
{
    const char *t = db_col_text(st, col);
    snprintf(dst, n, "%s", t ? t : "");
}

void store__bind_opt(db_stmt *st, int n, const char *v)
{
    db_bind_text(st, n, v && *v ? v : NULL);
}

/* Unlocked helpers for the functions that run several statements under one lock. */
static db_stmt *stmt(store *s, int key, const char *sql)
{
    db_stmt *st = db_stmt_get(s->d, key, sql);
    if (!st)
        store__fail(s, "preparing a statement");
    return st;
}

/* Run a statement that returns no rows; DB_DONE expected. */
static int run(store *s, db_stmt *st, const char *what)
{
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, what);
}

int store_ping(store *s)
{
    db_stmt *st = store__begin(s, Q_PING, "SELECT 1");
    if (!st)
        return -1;
    int rc = db_step(st);
    store__end(s, st);
    return rc == DB_ROW ? 0 : -1;
}

int store_schema_version(store *s)
{
    pthread_mutex_lock(&s->mu);
    int v = store__schema_version(s->d);
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* ---- stored results ------------------------------------------------------------------------ */

#define RESULT_COLS                                                                                \
    "id, server, file, identity, engine, source, validators, created, checked, report"

static int read_result(db_stmt *st, store_result *r)
{
    memset(r, 0, sizeof(*r));
    r->id = db_col_int(st, 0);
    store__col_copy(st, 1, r->server, sizeof(r->server));
    store__col_copy(st, 2, r->file, sizeof(r->file));
    store__col_copy(st, 3, r->identity, sizeof(r->identity));
    store__col_copy(st, 4, r->engine, sizeof(r->engine));
    store__col_copy(st, 5, r->source, sizeof(r->source));
    store__col_copy(st, 6, r->validators, sizeof(r->validators));
    r->created = db_col_double(st, 7);
    r->checked = db_col_double(st, 8);
    const char *rep = db_col_text(st, 9);
    r->report = strdup(rep ? rep : "null");
    return r->report ? 0 : -1;
}

void store_result_free(store_result *r)
{
    free(r->report);
    r->report = NULL;
}

static int one_result(store *s, db_stmt *st, store_result *out)
{
    int rc = db_step(st);
    int res = rc == DB_ROW    ? (read_result(st, out) == 0 ? 1 : -1)
              : rc == DB_DONE ? 0
                              : store__fail(s, "reading a stored result");
    store__end(s, st);
    return res;
}

int store_result_latest(store *s, const char *server, const char *file, const char *engine,
                        store_result *out)
{
    db_stmt *st = store__begin(s, Q_RES_LATEST,
                               "SELECT " RESULT_COLS " FROM analyses WHERE server = $1 AND "
                               "file = $2 AND engine = $3 AND call_id IS NULL "
                               "ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    db_bind_text(st, 1, server);
    db_bind_text(st, 2, file);
    db_bind_text(st, 3, engine);
    return one_result(s, st, out);
}

int store_result_put(store *s, const store_result *r, int64_t *id)
{
    db_stmt *st = store__begin(s, Q_RES_PUT,
                               "INSERT INTO analyses (server, file, identity, engine, source, "
                               "validators, created, checked, report) VALUES ($1, $2, $3, $4, "
                               "$5, $6, $7, $8, $9) RETURNING id");
    if (!st)
        return -1;
    db_bind_text(st, 1, r->server);
    db_bind_text(st, 2, r->file);
    db_bind_text(st, 3, r->identity);
    db_bind_text(st, 4, r->engine);
    db_bind_text(st, 5, r->source);
    db_bind_text(st, 6, r->validators);
    db_bind_double(st, 7, r->created);
    db_bind_double(st, 8, r->checked);
    db_bind_text(st, 9, r->report);
    int rc = db_step(st);
    if (rc == DB_ROW && id)
        *id = db_col_int(st, 0);
    int res = rc == DB_ROW ? 0 : store__fail(s, "storing a result");
    store__end(s, st);
    return res;
}

int store_result_touch(store *s, int64_t id, double checked)
{
    db_stmt *st = store__begin(s, Q_RES_TOUCH, "UPDATE analyses SET checked = $2 WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    db_bind_double(st, 2, checked);
    int rc = db_step(st);
    store__end(s, st);
    return rc == DB_DONE ? 0 : -1;
}

int store_result_get(store *s, int64_t id, store_result *out)
{
    db_stmt *st = store__begin(s, Q_RES_GET, "SELECT " RESULT_COLS " FROM analyses WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    return one_result(s, st, out);
}

int store_result_list(store *s, double since, int limit, store_result **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_RES_LIST,
                               "SELECT " RESULT_COLS " FROM analyses WHERE created >= $1 "
                               "ORDER BY id DESC LIMIT $2");
    if (!st)
        return -1;
    db_bind_double(st, 1, since);
    db_bind_int(st, 2, limit);
    int rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        store_result *nr = realloc(*rows, (size_t)(*n + 1) * sizeof(store_result));
        if (!nr) {
            res = -1;
            break;
        }
        *rows = nr;
        if (read_result(st, &nr[*n]) != 0) {
            res = -1;
            break;
        }
        (*n)++;
    }
    if (rc != DB_DONE && rc != DB_ROW)
        res = store__fail(s, "listing results");
    store__end(s, st);
    return res;
}

int64_t store_result_delete(store *s, const char *server, const char *file)
{
    db_stmt *st =
        server ? store__begin(s, Q_RES_DEL_ONE,
                              "DELETE FROM analyses WHERE server = $1 AND file = $2 "
                              "AND call_id IS NULL")
               : store__begin(s, Q_RES_DEL_ALL, "DELETE FROM analyses WHERE call_id IS NULL");
    if (!st)
        return -1;
    if (server) {
        db_bind_text(st, 1, server);
        db_bind_text(st, 2, file);
    }
    int rc = db_step(st);
    int64_t n = rc == DB_DONE ? db_changes(s->d) : -1;
    store__end(s, st);
    return n;
}

/* ---- calls --------------------------------------------------------------------------------- */

#define CALL_COLS                                                                                  \
    "id, source, recording_id, vicidial_id, uniqueid, lead_id, agent_user, agent_name, "           \
    "campaign_id, campaign_name, direction, call_date, tz, call_epoch, length_sec, "               \
    "disposition, term_reason, audio, audio_in, audio_out, orig_deadline, open"

static void read_call(db_stmt *st, store_call *c)
{
    memset(c, 0, sizeof(*c));
    c->id = db_col_int(st, 0);
    store__col_copy(st, 1, c->source, sizeof(c->source));
    store__col_copy(st, 2, c->recording_id, sizeof(c->recording_id));
    store__col_copy(st, 3, c->vicidial_id, sizeof(c->vicidial_id));
    store__col_copy(st, 4, c->uniqueid, sizeof(c->uniqueid));
    store__col_copy(st, 5, c->lead_id, sizeof(c->lead_id));
    store__col_copy(st, 6, c->agent_user, sizeof(c->agent_user));
    store__col_copy(st, 7, c->agent_name, sizeof(c->agent_name));
    store__col_copy(st, 8, c->campaign_id, sizeof(c->campaign_id));
    store__col_copy(st, 9, c->campaign_name, sizeof(c->campaign_name));
    store__col_copy(st, 10, c->direction, sizeof(c->direction));
    store__col_copy(st, 11, c->call_date, sizeof(c->call_date));
    store__col_copy(st, 12, c->tz, sizeof(c->tz));
    c->call_epoch = db_col_null(st, 13) ? -1 : db_col_double(st, 13);
    c->length_sec = db_col_null(st, 14) ? -1 : (int)db_col_int(st, 14);
    store__col_copy(st, 15, c->disposition, sizeof(c->disposition));
    store__col_copy(st, 16, c->term_reason, sizeof(c->term_reason));
    store__col_copy(st, 17, c->audio, sizeof(c->audio));
    store__col_copy(st, 18, c->audio_in, sizeof(c->audio_in));
    store__col_copy(st, 19, c->audio_out, sizeof(c->audio_out));
    c->orig_deadline = db_col_null(st, 20) ? 0 : db_col_double(st, 20);
    c->open = db_col_int(st, 21) != 0;
}

/* The call's fields as $2..$22 ($1 is the id or the time, as the statement says). */
static void bind_call(db_stmt *st, const store_call *c)
{
    db_bind_text(st, 2, c->source);
    db_bind_text(st, 3, c->recording_id);
    store__bind_opt(st, 4, c->vicidial_id);
    store__bind_opt(st, 5, c->uniqueid);
    store__bind_opt(st, 6, c->lead_id);
    store__bind_opt(st, 7, c->agent_user);
    store__bind_opt(st, 8, c->agent_name);
    store__bind_opt(st, 9, c->campaign_id);
    store__bind_opt(st, 10, c->campaign_name);
    store__bind_opt(st, 11, c->direction);
    store__bind_opt(st, 12, c->call_date);
    store__bind_opt(st, 13, c->tz);
    if (c->call_epoch >= 0)
        db_bind_double(st, 14, c->call_epoch);
    else
        db_bind_null(st, 14);
    if (c->length_sec >= 0)
        db_bind_int(st, 15, c->length_sec);
    else
        db_bind_null(st, 15);
    store__bind_opt(st, 16, c->disposition);
    store__bind_opt(st, 17, c->term_reason);
    store__bind_opt(st, 18, c->audio);
    store__bind_opt(st, 19, c->audio_in);
    store__bind_opt(st, 20, c->audio_out);
    if (c->orig_deadline > 0)
        db_bind_double(st, 21, c->orig_deadline);
    else
        db_bind_null(st, 21);
    db_bind_int(st, 22, c->open ? 1 : 0);
}

/* The next_attempt of an open call's job: far in the future, so that it cannot be claimed
 * until the call is put closed (store_call_put resets it). */
#define OPEN_HOLD 1e15

/* A job's priority: calls whose leg files go soonest first (their deadline, in UTC seconds),
 * then the others in the order they came (after any deadline). */
static double priority_of(const store_call *c, double now)
{
    return c->orig_deadline > 0 ? c->orig_deadline : 4e9 + now;
}

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
    db_stmt *st = stmt(s, Q_PG_EVENT_LOCK, "SELECT pg_advisory_xact_lock(7461, 2)");
    return st ? run_any(s, st, "locking the event feed") : -1;
}

static int event(store *s, int64_t call_id, job_state st, double now)
{
    if (events_lock(s) != 0)
        return -1;
    db_stmt *e =
        stmt(s, Q_EVENT_INSERT, "INSERT INTO job_events (ts, call_id, state) VALUES ($1, $2, $3)");
    if (!e)
        return -1;
    db_bind_double(e, 1, now);
    db_bind_int(e, 2, call_id);
    db_bind_text(e, 3, job_state_name(st));
    return run(s, e, "recording a job event");
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
static int counter_add(store *s, const char *name, const char *labels, double v)
{
    db_stmt *st = stmt(s, Q_COUNTER_ADD,
                       "INSERT INTO counters (name, labels, value) VALUES ($1, $2, $3) ON "
                       "CONFLICT (name, labels) DO UPDATE SET value = counters.value + "
                       "excluded.value");
    if (!st)
        return -1;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, labels);
    db_bind_double(st, 3, v);
    return run(s, st, "counting");
}

/* A job that ended: finished{state}, and what else its end counts. */
static int count_end(store *s, job_state st, const char *stage, const char *message)
{
    char lab[128], why[32];
    snprintf(lab, sizeof(lab), "state=\"%s\"", job_state_name(st));
    if (counter_add(s, "qa_jobs_finished_total", lab, 1) != 0)
        return -1;
    store_reason_class(message, why);
    if (st == JOB_SKIPPED) {
        snprintf(lab, sizeof(lab), "reason=\"%s\"", why);
        return counter_add(s, "qa_skipped_total", lab, 1);
    }
    if (st == JOB_ERROR) {
        snprintf(lab, sizeof(lab), "stage=\"%s\",reason=\"%s\"", stage ? stage : "", why);
        return counter_add(s, "qa_errors_total", lab, 1);
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
static int count_complete(store *s, int64_t job_id, double now)
{
    db_stmt *st = stmt(
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
    return run(s, st, "counting a completion");
}
#undef LE_ROW

int store_counter_add(store *s, const char *name, const char *labels, double v)
{
    pthread_mutex_lock(&s->mu);
    int rc = counter_add(s, name, labels ? labels : "", v);
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

/* Which roll-up row a call counts in: its day, source, agent and campaign. */
typedef store__rollup_key rollup_key;

static int rollup_group(store *s, const rollup_key *k);

int store__call_row_get(store *s, int64_t call_id, store__call_row *out)
{
    memset(out, 0, sizeof(*out));
    db_stmt *st = stmt(s, Q_CALL_ROW,
                       "SELECT day, source, COALESCE(agent_user, ''), COALESCE(campaign_id, ''), "
                       "recording_id, COALESCE(call_epoch, created) FROM calls WHERE id = $1");
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
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a call");
    return rc == DB_ROW;
}

/* The roll-up row of a call (day "" when the call has no date; all "" when there is no such
 * call). */
static int call_key(store *s, int64_t call_id, rollup_key *k)
{
    store__call_row r;
    if (store__call_row_get(s, call_id, &r) < 0)
        return -1;
    *k = r.key; /* zeroed past each string: rollup keys are compared with memcmp */
    return 0;
}

int store__rollup_group(store *s, const store__rollup_key *k)
{
    return rollup_group(s, k);
}

static int rollup_call(store *s, int64_t call_id)
{
    rollup_key k;
    return call_key(s, call_id, &k) != 0 ? -1 : rollup_group(s, &k);
}

/* A call held while open is put closed: its job becomes claimable (with the priority its leg
 * files now give), or `skipped` when the closed call carries a skip reason. Only a job still
 * held (pending, unclaimed, next_attempt at OPEN_HOLD) changes. Under the lock, in the caller's
 * transaction. */
static int release_held(store *s, int64_t call_id, const store_call *c, double now)
{
    bool skip = c->skip_reason[0] != 0;
    db_stmt *st = skip ? stmt(s, Q_JOB_SKIP_HELD,
                              "UPDATE jobs SET state = 'skipped', skip_reason = $3, finished = $2, "
                              "next_attempt = 0, updated = $2 WHERE call_id = $1 AND state = "
                              "'pending' AND lease_owner IS NULL AND next_attempt >= $4")
                       : stmt(s, Q_JOB_UNHOLD,
                              "UPDATE jobs SET next_attempt = 0, priority = CASE WHEN $3 > 0 "
                              "THEN $3 ELSE priority END, updated = $2 WHERE call_id = $1 AND "
                              "state = 'pending' AND lease_owner IS NULL AND next_attempt >= $4");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    db_bind_double(st, 2, now);
    if (skip)
        db_bind_text(st, 3, c->skip_reason);
    else
        db_bind_double(st, 3, c->orig_deadline);
    db_bind_double(st, 4, OPEN_HOLD);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "releasing a closed call's job");
    if (!skip || n != 1)
        return 0;
    return event(s, call_id, JOB_SKIPPED, now) != 0 ||
                   count_end(s, JOB_SKIPPED, NULL, c->skip_reason) != 0
               ? -1
               : 0;
}

int store_call_put(store *s, const store_call *c, double now, int64_t *id, bool *created)
{
    *created = false;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (db_begin(s->d) != DB_OK) {
        store__fail(s, "starting a transaction");
        goto out;
    }
    db_stmt *ins = stmt(s, Q_CALL_INSERT,
                        "INSERT INTO calls (source, recording_id, vicidial_id, uniqueid, lead_id, "
                        "agent_user, agent_name, campaign_id, campaign_name, direction, call_date, "
                        "day, tz, call_epoch, length_sec, disposition, term_reason, audio, "
                        "audio_in, audio_out, orig_deadline, open, created, updated) VALUES ($2, "
                        "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, substr($12, 1, 10), $13, $14, "
                        "$15, $16, $17, $18, $19, $20, $21, $22, $1, $1) ON CONFLICT (source, "
                        "recording_id) DO NOTHING RETURNING id");
    if (!ins)
        goto fail;
    db_bind_double(ins, 1, now);
    bind_call(ins, c);
    int step = db_step(ins);
    if (step == DB_ROW) {
        *id = db_col_int(ins, 0);
        *created = true;
    }
    db_reset(ins);
    if (step != DB_ROW && step != DB_DONE) {
        store__fail(s, "adding a call");
        goto fail;
    }
    if (*created) {
        job_state first = c->skip_reason[0] ? JOB_SKIPPED : JOB_PENDING;
        db_stmt *job = stmt(s, Q_JOB_INSERT,
                            "INSERT INTO jobs (call_id, state, priority, skip_reason, queued, "
                            "finished, updated, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, "
                            "$5, $7)");
        if (!job)
            goto fail;
        db_bind_int(job, 1, *id);
        db_bind_text(job, 2, job_state_name(first));
        db_bind_double(job, 3, priority_of(c, now));
        store__bind_opt(job, 4, c->skip_reason);
        db_bind_double(job, 5, now);
        if (first == JOB_SKIPPED)
            db_bind_double(job, 6, now);
        else
            db_bind_null(job, 6);
        db_bind_double(job, 7, c->open && first == JOB_PENDING ? OPEN_HOLD : 0);
        if (run(s, job, "adding a job") != 0 || event(s, *id, first, now) != 0 ||
            rollup_call(s, *id) != 0 ||
            (first == JOB_SKIPPED && count_end(s, JOB_SKIPPED, NULL, c->skip_reason) != 0))
            goto fail;
    } else {
        /* known: what the dialer says now, keeping what it no longer says; the roll-up row it
         * counted in is recomputed too when its day, agent or campaign moved */
        rollup_key was;
        memset(&was, 0, sizeof(was));
        db_stmt *od =
            stmt(s, Q_CALL_ID, "SELECT id FROM calls WHERE source = $1 AND recording_id = $2");
        if (!od)
            goto fail;
        db_bind_text(od, 1, c->source);
        db_bind_text(od, 2, c->recording_id);
        int r1 = db_step(od);
        int64_t known = r1 == DB_ROW ? db_col_int(od, 0) : 0;
        db_reset(od);
        if (r1 != DB_ROW && r1 != DB_DONE) {
            store__fail(s, "reading a call");
            goto fail;
        }
        if (known && call_key(s, known, &was) != 0)
            goto fail;
        db_stmt *up = stmt(s, Q_CALL_UPDATE,
                           "UPDATE calls SET vicidial_id = COALESCE($4, vicidial_id), uniqueid = "
                           "COALESCE($5, uniqueid), lead_id = COALESCE($6, lead_id), agent_user = "
                           "COALESCE($7, agent_user), agent_name = COALESCE($8, agent_name), "
                           "campaign_id = COALESCE($9, campaign_id), campaign_name = "
                           "COALESCE($10, campaign_name), direction = COALESCE($11, direction), "
                           "call_date = COALESCE($12, call_date), day = COALESCE(substr($12, 1, "
                           "10), day), tz = COALESCE($13, tz), call_epoch = COALESCE($14, "
                           "call_epoch), length_sec = COALESCE($15, length_sec), disposition = "
                           "COALESCE($16, disposition), term_reason = COALESCE($17, term_reason), "
                           "audio = COALESCE($18, audio), audio_in = COALESCE($19, audio_in), "
                           "audio_out = COALESCE($20, audio_out), orig_deadline = COALESCE($21, "
                           "orig_deadline), open = $22, updated = $1 WHERE source = $2 AND "
                           "recording_id = $3 RETURNING id");
        if (!up)
            goto fail;
        db_bind_double(up, 1, now);
        bind_call(up, c);
        int r2 = db_step(up);
        if (r2 == DB_ROW)
            *id = db_col_int(up, 0);
        db_reset(up);
        if (r2 != DB_ROW) {
            store__fail(s, "updating a call");
            goto fail;
        }
        /* its scores row keeps the call's day (the flagged list ranks by it) */
        db_stmt *rd = stmt(s, Q_SCORE_REDAY,
                           "UPDATE scores SET day = (SELECT day FROM calls WHERE id = $1) WHERE "
                           "call_id = $1");
        if (!rd)
            goto fail;
        db_bind_int(rd, 1, *id);
        if (run(s, rd, "re-dating a call's scores") != 0)
            goto fail;
        rollup_key now_key;
        if ((!c->open && release_held(s, *id, c, now) != 0) || call_key(s, *id, &now_key) != 0 ||
            rollup_group(s, &now_key) != 0 ||
            (memcmp(&was, &now_key, sizeof(was)) && rollup_group(s, &was) != 0))
            goto fail;
    }
    if (db_commit(s->d) != DB_OK) {
        store__fail(s, "committing a call");
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    db_rollback(s->d);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int one_call(store *s, db_stmt *st, store_call *out)
{
    int rc = db_step(st);
    if (rc == DB_ROW)
        read_call(st, out);
    int res = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : store__fail(s, "reading a call");
    store__end(s, st);
    return res;
}

int store_call_get(store *s, int64_t id, store_call *out)
{
    db_stmt *st = store__begin(s, Q_CALL_GET, "SELECT " CALL_COLS " FROM calls WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    return one_call(s, st, out);
}

int store_call_find(store *s, const char *source, const char *recording_id, store_call *out)
{
    db_stmt *st = source ? store__begin(s, Q_CALL_FIND,
                                        "SELECT " CALL_COLS " FROM calls WHERE source = $1 AND "
                                        "recording_id = $2")
                         : store__begin(s, Q_CALL_FIND_ANY,
                                        "SELECT " CALL_COLS " FROM calls WHERE recording_id = $2 "
                                        "OR uniqueid = $2 ORDER BY id LIMIT 1");
    if (!st)
        return -1;
    if (source)
        db_bind_text(st, 1, source);
    db_bind_text(st, 2, recording_id);
    return one_call(s, st, out);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static int in_tx(store *s, const char *label, int (*f)(store *, void *), void *arg);

typedef struct claim_args {
    const char *worker;
    double now, lease_sec;
    store_lease *out;
    bool found;
} claim_args;

static int claim_tx(store *s, void *arg)
{
    claim_args *a = arg;
    a->found = false; /* a transaction run again starts afresh (in_tx) */
#define CLAIM_SQL(lock)                                                                            \
    "UPDATE jobs SET state = CASE WHEN state = 'pending' THEN 'analysing' ELSE state END, "        \
    "retry_count = retry_count + CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END, "            \
    "lease_owner = $1, lease_expires = $2 + $3, lease_token = lease_token + 1, heartbeat = $2, "   \
    "started = COALESCE(started, $2), updated = $2 WHERE id = (SELECT id FROM jobs WHERE state "   \
    "IN ('pending', 'analysing', 'transcribing', 'transcribed', 'scoring') AND next_attempt <= "   \
    "$2 AND (lease_owner IS NULL OR lease_expires < $2) ORDER BY priority, id LIMIT 1" lock ") "   \
    "RETURNING id, call_id, state, lease_token, retry_count"
    /* PostgreSQL: workers claim at the same time, each skipping the rows another is taking
     * (SQLite's one writer needs no such clause) */
    db_stmt *st =
        stmt(s, Q_JOB_CLAIM, STORE_SQL(s, CLAIM_SQL(""), CLAIM_SQL(" FOR UPDATE SKIP LOCKED")));
    if (!st)
        return STORE_ERR;
    db_bind_text(st, 1, a->worker);
    db_bind_double(st, 2, a->now);
    db_bind_double(st, 3, a->lease_sec);
    int rc = db_step(st);
    store_lease *out = a->out;
    if (rc == DB_ROW) {
        memset(out, 0, sizeof(*out));
        out->job_id = db_col_int(st, 0);
        out->call_id = db_col_int(st, 1);
        out->state = (job_state)job_state_parse(db_col_text(st, 2));
        out->token = db_col_int(st, 3);
        out->retry_count = (int)db_col_int(st, 4);
        snprintf(out->worker, sizeof(out->worker), "%s", a->worker);
        a->found = true;
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "claiming a job");
    /* the event feed shows the job taken up (analysing, or where a lost worker left it) */
    return a->found && event(s, out->call_id, out->state, a->now) != 0 ? STORE_ERR : STORE_OK;
}

int store_job_claim(store *s, const char *worker, double now, double lease_sec, store_lease *out)
{
    claim_args a = {worker, now, lease_sec, out, false};
    int rc = in_tx(s, "claim", claim_tx, &a);
    return rc != STORE_OK ? -1 : a.found ? 1 : 0;
}

int store_job_renew(store *s, const store_lease *l, double now, double lease_sec)
{
    db_stmt *st = store__begin(s, Q_JOB_RENEW,
                               "UPDATE jobs SET lease_expires = $3 + $4, heartbeat = $3 WHERE id "
                               "= $1 AND lease_token = $2 AND lease_owner = $5 AND lease_expires "
                               ">= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    db_bind_double(st, 4, lease_sec);
    db_bind_text(st, 5, l->worker);
    int rc = db_step(st);
    int res = rc != DB_DONE           ? store__fail(s, "renewing a lease")
              : db_changes(s->d) == 1 ? STORE_OK
                                      : STORE_FENCED;
    store__end(s, st);
    return res;
}

/* Under the lock, inside a transaction: the job moves to `to` (recording a stage's outcome),
 * or STORE_FENCED when the lease is no longer this worker's. */
/* The job's stages with `stage` set to `outcome` (its row read in the caller's transaction; the
 * fenced update that writes it refuses it when the lease moved on meanwhile): compact JSON in
 * the order the stages ran, on either database. NULL with the store's message on failure. */
static char *stages_with(store *s, int64_t job_id, const char *stage, const char *outcome)
{
    db_stmt *st = stmt(s, Q_JOB_STAGES, "SELECT stages FROM jobs WHERE id = $1");
    if (!st)
        return NULL;
    db_bind_int(st, 1, job_id);
    int rc = db_step(st);
    json_t *o =
        rc == DB_ROW ? json_loads(db_col_text(st, 0) ? db_col_text(st, 0) : "{}", 0, NULL) : NULL;
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE) {
        store__fail(s, "reading a job's stages");
        return NULL;
    }
    if (!o || !json_is_object(o)) { /* a job gone (DB_DONE), or stages not an object: anew */
        json_decref(o);
        o = json_object();
    }
    char *out = NULL;
    if (o && json_object_set_new(o, stage, json_string(outcome ? outcome : "")) == 0)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!out)
        snprintf(s->err, sizeof(s->err), "moving a job: out of memory");
    return out;
}

/* Under the lock, inside a transaction: the job moves to `to` (recording a stage's outcome),
 * or STORE_FENCED when the lease is no longer this worker's. */
static int fenced_move(store *s, const store_lease *l, job_state to, const char *stage,
                       const char *outcome, double now)
{
    char *stages = stage ? stages_with(s, l->job_id, stage, outcome) : NULL;
    if (stage && !stages)
        return STORE_ERR;
    db_stmt *st = stmt(s, Q_JOB_ADVANCE,
                       "UPDATE jobs SET state = $4, stages = COALESCE($5, stages), updated = $3, "
                       "finished = CASE WHEN $6 = 1 THEN $3 ELSE NULL END, lease_owner = CASE WHEN "
                       "$6 = 1 THEN NULL ELSE lease_owner END, lease_expires = CASE WHEN $6 = 1 "
                       "THEN NULL ELSE lease_expires END WHERE id = $1 AND lease_token = $2 AND "
                       "lease_expires >= $3");
    if (!st) {
        free(stages);
        return STORE_ERR;
    }
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    db_bind_text(st, 4, job_state_name(to));
    db_bind_text(st, 5, stages);
    db_bind_int(st, 6, terminal(to) ? 1 : 0);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    free(stages);
    if (rc != DB_DONE)
        return store__fail(s, "moving a job");
    return n == 1 ? STORE_OK : STORE_FENCED;
}

/* store_int.h. $CALLQA_TEST_KILL_AT = "commit:LABEL" kills the process just before the commit
 * of that transaction (tests/pipeline/ kills workers at every commit step); store_copy.c has
 * points of its own kind too. */
void store__kill_point(const char *kind, const char *label)
{
    const char *at = getenv("CALLQA_TEST_KILL_AT");
    size_t k = strlen(kind);
    if (at && !strncmp(at, kind, k) && at[k] == ':' && !strcmp(at + k + 1, label)) {
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"kill point\",\"at\":\"%s\"}\n", at);
        fflush(stderr);
        raise(SIGKILL);
    }
}

/* How long a transaction waits for a lost connection (PostgreSQL) before it gives up: tries
 * after 0.25, 0.5, 1, 2, 4 and 8 s. */
#define TX_RETRIES 6

/* A transaction around f, named `label` (its kill point); what f returns, STORE_ERR when the
 * commit fails. f must start afresh each time: when the connection is lost before the COMMIT
 * was sent, nothing of the transaction was kept and it runs again once the connection is back
 * (a loss during the COMMIT is not retried: the transaction may have been kept, and the fencing
 * token refuses a second write of it anyway). */
static int in_tx(store *s, const char *label, int (*f)(store *, void *), void *arg)
{
    pthread_mutex_lock(&s->mu);
    int rc;
    for (int attempt = 0;; attempt++) {
        if (db_begin(s->d) != DB_OK) {
            rc = store__fail(s, "starting a transaction");
        } else if ((rc = f(s, arg)) != STORE_OK) {
            db_rollback(s->d);
        } else if (store__kill_point("commit", label), db_commit(s->d) != DB_OK) {
            rc = store__fail(s, "committing");
            db_rollback(s->d);
        }
        if (rc != STORE_ERR || !db_retryable(s->d) || attempt >= TX_RETRIES)
            break;
        long ms = 250L << attempt;
        cq_clock_sleep(ms / 1000.0);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

typedef struct advance_args {
    store_lease *l;
    job_state to;
    const char *stage, *outcome;
    double now;
} advance_args;

static int advance_tx(store *s, void *arg)
{
    advance_args *a = arg;
    int rc = fenced_move(s, a->l, a->to, a->stage, a->outcome, a->now);
    if (rc == STORE_OK && event(s, a->l->call_id, a->to, a->now) != 0)
        rc = STORE_ERR;
    if (rc == STORE_OK && terminal(a->to) && rollup_call(s, a->l->call_id) != 0)
        rc = STORE_ERR;
    if (rc == STORE_OK && a->to == JOB_COMPLETE && count_complete(s, a->l->job_id, a->now) != 0)
        rc = STORE_ERR;
    return rc;
}

int store_job_advance(store *s, store_lease *l, job_state to, const char *stage,
                      const char *stage_outcome, double now)
{
    advance_args a = {l, to, stage, stage_outcome, now};
    int rc = in_tx(s, job_state_name(to), advance_tx, &a);
    if (rc == STORE_OK)
        l->state = to;
    return rc;
}

int store_job_release(store *s, const store_lease *l, double now)
{
    db_stmt *st = store__begin(s, Q_JOB_RELEASE,
                               "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL, "
                               "updated = $3 WHERE id = $1 AND lease_token = $2");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    int rc = db_step(st);
    int res = rc != DB_DONE           ? store__fail(s, "releasing a job")
              : db_changes(s->d) == 1 ? STORE_OK
                                      : STORE_FENCED;
    store__end(s, st);
    return res;
}

typedef struct fail_args {
    const store_lease *l;
    const char *stage, *message;
    bool retry;
    double next, now;
} fail_args;

static int fail_tx(store *s, void *arg)
{
    fail_args *a = arg;
    const store_lease *l = a->l;
    db_stmt *st = a->retry
                      ? stmt(s, Q_JOB_RETRY,
                             "UPDATE jobs SET retry_count = retry_count + 1, next_attempt = $4, "
                             "error_stage = $5, error_message = $6, lease_owner = NULL, "
                             "lease_expires = NULL, updated = $3 WHERE id = $1 AND lease_token = "
                             "$2 AND lease_expires >= $3")
                      : stmt(s, Q_JOB_ERROR,
                             "UPDATE jobs SET state = 'error', error_stage = $5, error_message = "
                             "$6, lease_owner = NULL, lease_expires = NULL, finished = $3, "
                             "updated = $3, next_attempt = $4 WHERE id = $1 AND lease_token = $2 "
                             "AND lease_expires >= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, a->now);
    db_bind_double(st, 4, a->next);
    db_bind_text(st, 5, a->stage);
    db_bind_text(st, 6, a->message);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "failing a job");
    if (n != 1)
        return STORE_FENCED;
    if (!a->retry &&
        (event(s, l->call_id, JOB_ERROR, a->now) != 0 || rollup_call(s, l->call_id) != 0 ||
         count_end(s, JOB_ERROR, a->stage, a->message) != 0))
        return STORE_ERR;
    if (a->retry) {
        char lab[128], why[32];
        store_reason_class(a->message, why);
        snprintf(lab, sizeof(lab), "stage=\"%s\",reason=\"%s\"", a->stage, why);
        if (counter_add(s, "qa_retries_total", lab, 1) != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

int store_job_fail(store *s, const store_lease *l, const char *stage, const char *message,
                   bool retryable, int max_retries, double backoff_sec, double now)
{
    bool retry = retryable && l->retry_count < max_retries;
    fail_args a = {
        l, stage, message, retry, retry ? now + backoff_sec * pow(2, l->retry_count) : now, now};
    return in_tx(s, "fail", fail_tx, &a);
}

typedef struct skip_args {
    const store_lease *l;
    const char *reason;
    double now;
} skip_args;

static int skip_tx(store *s, void *arg)
{
    skip_args *a = arg;
    db_stmt *st = stmt(s, Q_JOB_SKIP,
                       "UPDATE jobs SET state = 'skipped', skip_reason = $4, lease_owner = NULL, "
                       "lease_expires = NULL, finished = $3, updated = $3 WHERE id = $1 AND "
                       "lease_token = $2 AND lease_expires >= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->l->job_id);
    db_bind_int(st, 2, a->l->token);
    db_bind_double(st, 3, a->now);
    db_bind_text(st, 4, a->reason);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "skipping a job");
    if (n != 1)
        return STORE_FENCED;
    if (event(s, a->l->call_id, JOB_SKIPPED, a->now) != 0 || rollup_call(s, a->l->call_id) != 0 ||
        count_end(s, JOB_SKIPPED, NULL, a->reason) != 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_skip(store *s, const store_lease *l, const char *reason, double now)
{
    skip_args a = {l, reason, now};
    return in_tx(s, "skip", skip_tx, &a);
}

static void bind_num(db_stmt *st, int n, double v)
{
    if (v >= 0 && isfinite(v))
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

typedef struct analysed_args {
    store_lease *l;
    const char *engine, *report;
    const store_figures *f;
    job_state next;
    double now;
    const store_envelope *env;
} analysed_args;

/* the call's envelope in place of any earlier one (in the caller's transaction); env->legs NULL:
 * the earlier one goes */
static int envelope_put(store *s, int64_t call_id, const store_envelope *env, double now)
{
    if (!env || !env->legs) {
        db_stmt *st = stmt(s, Q_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1");
        if (!st)
            return STORE_ERR;
        db_bind_int(st, 1, call_id);
        return run(s, st, "removing a level envelope") ? STORE_ERR : STORE_OK;
    }
    db_stmt *st = stmt(s, Q_ENV_PUT,
                       "INSERT INTO call_envelopes (call_id, step_sec, legs, created) SELECT id, "
                       "$2, $3, $4 FROM calls WHERE id = $1 ON CONFLICT (call_id) DO UPDATE SET "
                       "step_sec = excluded.step_sec, legs = excluded.legs, created = "
                       "excluded.created");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, call_id);
    db_bind_double(st, 2, env->step_sec);
    db_bind_text(st, 3, env->legs);
    db_bind_double(st, 4, now);
    if (run(s, st, "storing a level envelope") != 0)
        return STORE_ERR;
    if (db_changes(s->d) != 1) {
        snprintf(s->err, sizeof(s->err), "storing a level envelope: no call %lld",
                 (long long)call_id);
        return STORE_ERR;
    }
    return STORE_OK;
}

static int analysed_tx(store *s, void *arg)
{
    analysed_args *a = arg;
    int rc = fenced_move(s, a->l, a->next, "analyse", "done", a->now);
    if (rc != STORE_OK)
        return rc;
    db_stmt *st =
        stmt(s, Q_ANALYSIS_UPSERT,
             "INSERT INTO analyses (call_id, server, file, identity, engine, source, "
             "validators, created, checked, report, duration_sec, legs, speech_pct_in, "
             "speech_pct_out, mos_in, mos_out, one_way, talk_sec_in, talk_sec_out, "
             "dead_air_sec, overtalk_sec, hold_sec, hold_count, tone_count, dtmf_count, "
             "warning_codes, clipping_pct, level_db, mos_model, net_mos, net_mos_model, redaction, "
             "redacted_audio) "
             "SELECT id, source, recording_id, '', "
             "$2, 'pipeline', '', $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
             "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27 FROM calls "
             "WHERE id = $1 "
             "ON CONFLICT "
             "(call_id) WHERE "
             "call_id IS NOT NULL DO UPDATE SET engine = excluded.engine, created = "
             "excluded.created, checked = excluded.checked, report = excluded.report, "
             "duration_sec = excluded.duration_sec, legs = excluded.legs, "
             "speech_pct_in = excluded.speech_pct_in, speech_pct_out = "
             "excluded.speech_pct_out, mos_in = excluded.mos_in, mos_out = "
             "excluded.mos_out, one_way = excluded.one_way, talk_sec_in = "
             "excluded.talk_sec_in, talk_sec_out = excluded.talk_sec_out, dead_air_sec "
             "= excluded.dead_air_sec, overtalk_sec = excluded.overtalk_sec, hold_sec = "
             "excluded.hold_sec, hold_count = excluded.hold_count, tone_count = "
             "excluded.tone_count, dtmf_count = excluded.dtmf_count, warning_codes = "
             "excluded.warning_codes, clipping_pct = excluded.clipping_pct, level_db = "
             "excluded.level_db, mos_model = excluded.mos_model, net_mos = excluded.net_mos, "
             "net_mos_model = excluded.net_mos_model, redaction = excluded.redaction, "
             "redacted_audio = excluded.redacted_audio");
    if (!st)
        return STORE_ERR;
    const store_figures *f = a->f;
    db_bind_int(st, 1, a->l->call_id);
    db_bind_text(st, 2, a->engine);
    db_bind_double(st, 3, a->now);
    db_bind_text(st, 4, a->report);
    bind_num(st, 5, f->duration_sec);
    db_bind_int(st, 6, f->legs);
    bind_num(st, 7, f->speech_pct[0]);
    bind_num(st, 8, f->speech_pct[1]);
    /* MOS may be below 0 in principle: NaN is what says unknown */
    if (isfinite(f->mos[0]))
        db_bind_double(st, 9, f->mos[0]);
    else
        db_bind_null(st, 9);
    if (isfinite(f->mos[1]))
        db_bind_double(st, 10, f->mos[1]);
    else
        db_bind_null(st, 10);
    if (f->one_way >= 0)
        db_bind_int(st, 11, f->one_way);
    else
        db_bind_null(st, 11);
    bind_num(st, 12, f->talk_sec[0]);
    bind_num(st, 13, f->talk_sec[1]);
    bind_num(st, 14, f->dead_air_sec);
    bind_num(st, 15, f->overtalk_sec);
    bind_num(st, 16, f->hold_sec);
    db_bind_int(st, 17, f->hold_count);
    db_bind_int(st, 18, f->tone_count);
    db_bind_int(st, 19, f->dtmf_count);
    db_bind_text(st, 20, f->warning_codes);
    if (f->has_clipping && isfinite(f->clipping_pct))
        db_bind_double(st, 21, f->clipping_pct);
    else
        db_bind_null(st, 21);
    if (f->has_level && isfinite(f->level_db))
        db_bind_double(st, 22, f->level_db);
    else
        db_bind_null(st, 22);
    /* each MOS with its model; a model without its figure is not stored */
    if (f->mos_model[0] && (isfinite(f->mos[0]) || isfinite(f->mos[1])))
        db_bind_text(st, 23, f->mos_model);
    else
        db_bind_null(st, 23);
    if (isfinite(f->net_mos) && f->net_mos_model[0]) {
        db_bind_double(st, 24, f->net_mos);
        db_bind_text(st, 25, f->net_mos_model);
    } else {
        db_bind_null(st, 24);
        db_bind_null(st, 25);
    }
    if (f->redaction[0])
        db_bind_text(st, 26, f->redaction);
    else
        db_bind_null(st, 26);
    if (f->redacted_audio[0])
        db_bind_text(st, 27, f->redacted_audio);
    else
        db_bind_null(st, 27);
    /* the redacted copy the worker wrote, recorded as the call's file in the same transaction */
    if (run(s, st, "storing an analysis") != 0 ||
        (f->redacted_audio[0] && store__file_record(s, a->l->call_id, STORE_FILE_REDACTED,
                                                    f->redacted_audio, a->now) != 0) ||
        event(s, a->l->call_id, a->next, a->now) != 0 || rollup_call(s, a->l->call_id) != 0 ||
        envelope_put(s, a->l->call_id, a->env, a->now) != STORE_OK)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_analysed_env(store *s, store_lease *l, const char *engine, const char *report_json,
                           const store_figures *f, const store_envelope *env, job_state next,
                           double now)
{
    analysed_args a = {l, engine, report_json, f, next, now, env};
    int rc = in_tx(s, "analysis", analysed_tx, &a);
    if (rc == STORE_OK)
        l->state = next;
    return rc;
}

int store_job_analysed(store *s, store_lease *l, const char *engine, const char *report_json,
                       const store_figures *f, job_state next, double now)
{
    return store_job_analysed_env(s, l, engine, report_json, f, NULL, next, now);
}

typedef struct env_args {
    const store_envelope *env;
    double now;
} env_args;

static int env_put_tx(store *s, void *arg)
{
    env_args *a = arg;
    return envelope_put(s, a->env->call_id, a->env, a->now);
}

int store_envelope_put(store *s, const store_envelope *env, double now)
{
    if (!env->legs || !(env->step_sec > 0) || !isfinite(env->step_sec)) {
        snprintf(s->err, sizeof(s->err), "a level envelope needs legs and a step > 0");
        return STORE_ERR;
    }
    env_args a = {env, now};
    return in_tx(s, "envelope", env_put_tx, &a);
}

int store_envelope_get(store *s, int64_t call_id, store_envelope *out)
{
    memset(out, 0, sizeof(*out));
    db_stmt *st =
        store__begin(s, Q_ENV_GET, "SELECT step_sec, legs FROM call_envelopes WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        const char *legs = db_col_text(st, 1);
        out->call_id = call_id;
        out->step_sec = db_col_double(st, 0);
        out->legs = strdup(legs ? legs : "{}");
        res = out->legs ? 1 : -1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a level envelope");
    }
    store__end(s, st);
    return res;
}

int store_redaction_get(store *s, int64_t call_id, char state[8], char *audio, size_t n)
{
    state[0] = 0;
    if (n)
        audio[0] = 0;
    db_stmt *st = store__begin(s, Q_REDACTION_GET,
                               "SELECT redaction, redacted_audio FROM analyses WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        store__col_copy(st, 0, state, 8);
        store__col_copy(st, 1, audio, n);
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a call's redaction");
    }
    store__end(s, st);
    return res;
}

int store_redact_candidates(store *s, const char *since_day, int64_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_REDACT_CALLS,
                               "SELECT c.id FROM calls c LEFT JOIN analyses a ON a.call_id = c.id "
                               "WHERE substr(c.call_date, 1, 10) >= $1 AND a.redaction IS NULL "
                               "ORDER BY c.id");
    if (!st)
        return -1;
    db_bind_text(st, 1, since_day);
    int rc, cap = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *v = realloc(*ids, (size_t)cap * sizeof(*v));
            if (!v) {
                store__end(s, st);
                free(*ids);
                *ids = NULL, *n = 0;
                snprintf(s->err, sizeof(s->err), "out of memory");
                return -1;
            }
            *ids = v;
        }
        (*ids)[(*n)++] = db_col_int(st, 0);
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "listing the calls to redact");
    store__end(s, st);
    if (res != 0) {
        free(*ids);
        *ids = NULL, *n = 0;
    }
    return res;
}

/* one UPDATE of a text column by call id: 1 (a row changed), 0 (none), -1 */
static int set_text(store *s, int q, const char *sql, int64_t call_id, const char *v,
                    const char *what)
{
    db_stmt *st = stmt(s, q, sql);
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    db_bind_text(st, 2, v);
    if (run(s, st, what) != 0)
        return -1;
    return db_changes(s->d) > 0;
}

int store_report_set(store *s, int64_t call_id, const char *report)
{
    return set_text(s, Q_REPORT_SET, "UPDATE analyses SET report = $2 WHERE call_id = $1", call_id,
                    report, "replacing a report");
}

int store_score_detail_set(store *s, int64_t call_id, const char *detail)
{
    return set_text(s, Q_SCORE_DETAIL_SET, "UPDATE scores SET detail = $2 WHERE call_id = $1",
                    call_id, detail, "replacing a score's detail");
}

int store_mark_add(store *s, const char *call_ref, bool pause, double ts, double now,
                   const char *who, const char *client, const char *scope)
{
    db_stmt *st =
        store__begin(s, Q_MARK_ADD,
                     "INSERT INTO redact_marks (call_ref, mark, ts, created, who, client, "
                     "scope) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    if (!st)
        return -1;
    db_bind_text(st, 1, call_ref);
    db_bind_text(st, 2, pause ? "pause" : "resume");
    db_bind_double(st, 3, ts);
    db_bind_double(st, 4, now);
    db_bind_text(st, 5, who);
    db_bind_text(st, 6, client);
    db_bind_text(st, 7, scope);
    int rc = db_step(st);
    int res = rc == DB_DONE ? 0 : store__fail(s, "storing a pause mark");
    store__end(s, st);
    return res;
}

int store_marks_get(store *s, const char *ref1, const char *ref2, store_mark_keep_fn keep,
                    void *user, store_mark *out, int max)
{
    db_stmt *st = store__begin(s, Q_MARKS_GET,
                               "SELECT mark, ts, scope FROM redact_marks WHERE call_ref = $1 OR "
                               "call_ref = $2 ORDER BY ts, id");
    if (!st)
        return -1;
    db_bind_text(st, 1, ref1 && *ref1 ? ref1 : "\x01");
    db_bind_text(st, 2, ref2 && *ref2 ? ref2 : "\x01");
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (keep && !keep(user, db_col_null(st, 2) ? NULL : db_col_text(st, 2)))
            continue; /* a sender whose scope does not hold the call */
        if (n < max) {
            const char *m = db_col_text(st, 0);
            out[n].pause = m && !strcmp(m, "pause");
            out[n].ts = db_col_double(st, 1);
        }
        n++;
    }
    int res = rc == DB_DONE ? n : store__fail(s, "reading a call's pause marks");
    store__end(s, st);
    return res;
}

/* ---- transcripts --------------------------------------------------------------------------- */

#define TX_FTS_STRIDE 100000 /* search rows of call c: rowids c * stride + segment index */

/* the transcript and its search rows (in the caller's transaction) */
static int transcript_put(store *s, const store_transcript *t, double now)
{
    db_stmt *st = stmt(s, Q_TX_PUT,
                       "INSERT INTO transcripts (call_id, engine, model, language, word_count, "
                       "seconds, audio_sent_sec, audio_recorded_sec, hallucination_rate, "
                       "config_hash, text, detail, created) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                       "$8, $9, $10, $11, $12, $13) ON CONFLICT (call_id) DO UPDATE SET engine = "
                       "excluded.engine, model = excluded.model, language = excluded.language, "
                       "word_count = excluded.word_count, seconds = excluded.seconds, "
                       "audio_sent_sec = excluded.audio_sent_sec, audio_recorded_sec = "
                       "excluded.audio_recorded_sec, hallucination_rate = "
                       "excluded.hallucination_rate, config_hash = excluded.config_hash, text = "
                       "excluded.text, detail = excluded.detail, created = excluded.created");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, t->call_id);
    db_bind_text(st, 2, t->engine);
    db_bind_text(st, 3, t->model);
    db_bind_text(st, 4, t->language);
    db_bind_int(st, 5, t->word_count);
    bind_num(st, 6, t->seconds);
    bind_num(st, 7, t->audio_sent_sec);
    bind_num(st, 8, t->audio_recorded_sec);
    bind_num(st, 9, t->hallucination_rate);
    db_bind_text(st, 10, t->config_hash);
    db_bind_text(st, 11, t->text);
    db_bind_text(st, 12, t->detail);
    db_bind_double(st, 13, now);
    if (run(s, st, "storing a transcript") != 0)
        return STORE_ERR;
    /* SQLite: the FTS5 table, its rows by rowid range; PostgreSQL: transcript_segments, whose
     * tsvector the server computes from the text */
    bool pg = db_get_dialect(s->d) == DB_PG;
    st = stmt(s, Q_TX_FTS_DEL,
              STORE_SQL(s, "DELETE FROM transcript_fts WHERE rowid >= $1 AND rowid < $2",
                        "DELETE FROM transcript_segments WHERE call_id = $1"));
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, pg ? t->call_id : t->call_id * TX_FTS_STRIDE);
    if (!pg)
        db_bind_int(st, 2, (t->call_id + 1) * TX_FTS_STRIDE);
    if (run(s, st, "clearing a transcript's search rows") != 0)
        return STORE_ERR;
    for (size_t i = 0; i < t->n_segs && i < TX_FTS_STRIDE; i++) {
        const store_tx_segment *g = &t->segs[i];
        st = stmt(s, Q_TX_FTS_PUT,
                  STORE_SQL(s,
                            "INSERT INTO transcript_fts (rowid, text, speaker, call_id, seg, "
                            "t_start, t_end) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            "INSERT INTO transcript_segments (seg, text, speaker, call_id, "
                            "t_start, t_end) VALUES ($1, $2, $3, $4, $6, $7)"));
        if (!st)
            return STORE_ERR;
        /* the PostgreSQL statement has no $5: the segment's index is $1 there */
        db_bind_int(st, 1, pg ? (int64_t)i : t->call_id * TX_FTS_STRIDE + (int64_t)i);
        db_bind_text(st, 2, g->text ? g->text : "");
        db_bind_text(st, 3, g->speaker);
        db_bind_int(st, 4, t->call_id);
        if (!pg)
            db_bind_int(st, 5, (int64_t)i);
        db_bind_double(st, 6, g->start);
        db_bind_double(st, 7, g->end);
        if (run(s, st, "indexing a transcript") != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct tx_args {
    store_lease *l;
    const store_transcript *t;
    double now;
} tx_args;

static int transcribed_tx(store *s, void *arg)
{
    tx_args *a = arg;
    int rc = fenced_move(s, a->l, JOB_TRANSCRIBED, "transcribe", "done", a->now);
    if (rc == STORE_OK)
        rc = transcript_put(s, a->t, a->now);
    if (rc == STORE_OK && event(s, a->l->call_id, JOB_TRANSCRIBED, a->now) != 0)
        rc = STORE_ERR;
    return rc;
}

int store_job_transcribed(store *s, store_lease *l, const store_transcript *t, double now)
{
    tx_args a = {l, t, now};
    int rc = in_tx(s, "transcribed", transcribed_tx, &a);
    if (rc == STORE_OK)
        l->state = JOB_TRANSCRIBED;
    return rc;
}

static int put_tx(store *s, void *arg)
{
    tx_args *a = arg;
    return transcript_put(s, a->t, a->now);
}

int store_transcript_put(store *s, const store_transcript *t, double now)
{
    tx_args a = {NULL, t, now};
    return in_tx(s, "transcript", put_tx, &a);
}

/* ---- scores -------------------------------------------------------------------------------- */

const char *const store_score_cats[STORE_SCORE_CATS] = {"greeting", "customer_id",   "needs",
                                                        "product",  "communication", "resolution",
                                                        "closing",  "compliance"};

int store_score_cat(const char *key)
{
    for (int i = 0; key && i < STORE_SCORE_CATS; i++)
        if (!strcmp(key, store_score_cats[i]))
            return i;
    return -1;
}

/* A number of a score: finite and within [lo, hi], or the reason it is not. */
static const char *bad_number(bool has, double v, double lo, double hi)
{
    if (!has)
        return NULL;
    if (!isfinite(v))
        return "not a finite number";
    return v < lo || v > hi ? "out of range" : NULL;
}

static void bind_has(db_stmt *st, int n, bool has, double v)
{
    if (has)
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

/* Is the text JSON of that kind (NULL or "": none, which is fine)? */
static bool json_is(const char *text, json_type type)
{
    if (!text || !*text)
        return true;
    json_t *j = json_loads(text, 0, NULL);
    bool ok = j && json_typeof(j) == type;
    json_decref(j);
    return ok;
}

/* The score's JSON fields are what they should be (strengths and improvements arrays, detail
 * an object); STORE_ERR with the field named. */
static int check_score_json(store *s, const store_score *sc)
{
    const char *why = !json_is(sc->strengths, JSON_ARRAY)      ? "strengths is not a JSON array"
                      : !json_is(sc->improvements, JSON_ARRAY) ? "improvements is not a JSON array"
                      : !json_is(sc->detail, JSON_OBJECT)      ? "detail is not a JSON object"
                                                               : NULL;
    if (why) {
        snprintf(s->err, sizeof(s->err), "storing scores: %s", why);
        return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct scored_args {
    store_lease *l;
    const store_score *sc;
    double now;
} scored_args;

static int scored_tx(store *s, void *arg)
{
    scored_args *a = arg;
    const store_score *sc = a->sc;
    const char *bad = NULL, *which = NULL;
    if ((bad = bad_number(sc->has_total, sc->total_score, 0, 100)))
        which = "total_score";
    else if ((bad = bad_number(sc->has_partial, sc->partial_score, 0, 100)))
        which = "partial_score";
    else if ((bad = bad_number(true, sc->coverage, 0, 1)))
        which = "coverage";
    for (int k = 0; !bad && k < STORE_SCORE_CATS; k++)
        if ((bad = bad_number(sc->has_cat[k], sc->cat[k], -1e9, 1e9)))
            which = store_score_cats[k];
    if (!bad && (bad = bad_number(sc->has_customer_shift, sc->customer_shift, -10, 10)))
        which = "customer_shift";
    if (bad) {
        snprintf(s->err, sizeof(s->err), "storing scores: %s is %s", which, bad);
        return STORE_ERR;
    }
    int rc = check_score_json(s, sc);
    if (rc == STORE_OK)
        rc = fenced_move(s, a->l, JOB_COMPLETE, "score", "done", a->now);
    if (rc != STORE_OK)
        return rc;
    db_stmt *st =
        stmt(s, Q_SCORE_PUT,
             "INSERT INTO scores (call_id, day, scorecard, backend, total_score, "
             "partial_score, coverage, flagged, flag_reason, greeting, customer_id, "
             "needs, product, communication, resolution, closing, compliance, summary, "
             "strengths, improvements, llm_provider, llm_model, detail, created, "
             "scorecard_hash, provider_hash, topic_class, topic_subclass, "
             "customer_shift, customer_drop) SELECT id, "
             "day, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
             "$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 FROM calls WHERE id "
             "= $1 ON CONFLICT (call_id) DO UPDATE SET day = excluded.day, scorecard = "
             "excluded.scorecard, backend = excluded.backend, total_score = "
             "excluded.total_score, partial_score = excluded.partial_score, coverage = "
             "excluded.coverage, flagged = excluded.flagged, flag_reason = "
             "excluded.flag_reason, greeting = excluded.greeting, customer_id = "
             "excluded.customer_id, needs = excluded.needs, product = excluded.product, "
             "communication = excluded.communication, resolution = "
             "excluded.resolution, closing = excluded.closing, compliance = "
             "excluded.compliance, summary = excluded.summary, strengths = "
             "excluded.strengths, improvements = excluded.improvements, llm_provider = "
             "excluded.llm_provider, llm_model = excluded.llm_model, detail = "
             "excluded.detail, created = excluded.created, scorecard_hash = "
             "excluded.scorecard_hash, provider_hash = excluded.provider_hash, "
             "topic_class = excluded.topic_class, topic_subclass = "
             "excluded.topic_subclass, customer_shift = excluded.customer_shift, "
             "customer_drop = excluded.customer_drop");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->l->call_id);
    store__bind_opt(st, 2, sc->scorecard);
    store__bind_opt(st, 3, sc->backend);
    bind_has(st, 4, sc->has_total, sc->total_score);
    bind_has(st, 5, sc->has_partial, sc->partial_score);
    db_bind_double(st, 6, sc->coverage);
    db_bind_int(st, 7, sc->flagged ? 1 : 0);
    store__bind_opt(st, 8, sc->flag_reason);
    for (int k = 0; k < STORE_SCORE_CATS; k++)
        bind_has(st, 9 + k, sc->has_cat[k], sc->cat[k]);
    store__bind_opt(st, 17, sc->summary);
    store__bind_opt(st, 18, sc->strengths);
    store__bind_opt(st, 19, sc->improvements);
    store__bind_opt(st, 20, sc->llm_provider);
    store__bind_opt(st, 21, sc->llm_model);
    store__bind_opt(st, 22, sc->detail);
    db_bind_double(st, 23, a->now);
    store__bind_opt(st, 24, sc->scorecard_hash);
    store__bind_opt(st, 25, sc->provider_hash);
    store__bind_opt(st, 26, sc->topic_class);
    store__bind_opt(st, 27, sc->topic_subclass);
    bind_has(st, 28, sc->has_customer_shift, sc->customer_shift);
    if (sc->has_customer_drop)
        db_bind_int(st, 29, sc->customer_drop ? 1 : 0);
    else
        db_bind_null(st, 29);
    if (run(s, st, "storing scores") != 0 || event(s, a->l->call_id, JOB_COMPLETE, a->now) != 0 ||
        rollup_call(s, a->l->call_id) != 0 || count_complete(s, a->l->job_id, a->now) != 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_scored(store *s, store_lease *l, const store_score *sc, double now)
{
    scored_args a = {l, sc, now};
    /* labelled as the transaction that completes the job (the test hook's commit:complete) */
    int rc = in_tx(s, "complete", scored_tx, &a);
    if (rc == STORE_OK)
        l->state = JOB_COMPLETE;
    return rc;
}

typedef struct override_args {
    int64_t call_id;
    const char *const *cats;
    const int *scores;
    size_t n;
    const char *supervisor, *comment;
    double now;
    bool scored;
} override_args;

/* A category key as the scorecard allows them: [a-z0-9_]{1,32}. */
static bool valid_key(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return false;
    return true;
}

static int override_tx(store *s, void *arg)
{
    override_args *a = arg;
    a->scored = false;
    db_stmt *st = stmt(s, Q_OVR_HAS, "SELECT 1 FROM scores WHERE call_id = $1");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->call_id);
    int rc = db_step(st);
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a call's scores");
    if (rc == DB_DONE)
        return STORE_OK; /* not scored: nothing stored */
    a->scored = true;
    for (size_t i = 0; i < a->n; i++) {
        st = stmt(s, Q_OVR_PUT,
                  "INSERT INTO score_overrides (call_id, category, score, supervisor, comment, "
                  "created) VALUES ($1, $2, $3, $4, $5, $6)");
        if (!st)
            return STORE_ERR;
        db_bind_int(st, 1, a->call_id);
        db_bind_text(st, 2, a->cats[i]);
        db_bind_double(st, 3, a->scores[i]);
        db_bind_text(st, 4, a->supervisor);
        store__bind_opt(st, 5, a->comment);
        db_bind_double(st, 6, a->now);
        if (run(s, st, "storing an override") != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

int store_score_overrides(store *s, int64_t call_id, const char *const *categories,
                          const int *scores, size_t n, const char *supervisor, const char *comment,
                          double now)
{
    const char *why = !supervisor || !*supervisor ? "the supervisor's name is required"
                      : n == 0                    ? "no category given"
                                                  : NULL;
    for (size_t i = 0; !why && i < n; i++)
        why = !valid_key(categories[i])        ? "a category key is [a-z0-9_]{1,32}"
              : scores[i] < 1 || scores[i] > 5 ? "a score is 1 to 5"
                                               : NULL;
    if (why) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->err, sizeof(s->err), "storing overrides: %s", why);
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    override_args a = {call_id, categories, scores, n, supervisor, comment, now, false};
    int rc = in_tx(s, "override", override_tx, &a);
    return rc != STORE_OK ? -1 : a.scored ? 1 : 0;
}

int store_score_override(store *s, int64_t call_id, const char *category, int score,
                         const char *supervisor, const char *comment, double now)
{
    const char *cats[1] = {category};
    int scores[1] = {score};
    return store_score_overrides(s, call_id, cats, scores, 1, supervisor, comment, now);
}

/* ---- LLM requests -------------------------------------------------------------------------- */

/* A label value from configuration text: [A-Za-z0-9_.:-], others as '_', at most 48 bytes. */
static void label_value(const char *v, char out[49])
{
    size_t k = 0;
    for (; v && v[k] && k < 48; k++) {
        char c = v[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        out[k] = ok ? c : '_';
    }
    out[k] = 0;
}

typedef struct llm_args {
    const store_llm_call *c;
    char day[11];
} llm_args;

static int llm_tx(store *s, void *arg)
{
    llm_args *a = arg;
    const store_llm_call *c = a->c;
    db_stmt *st = stmt(s, Q_LLM_PUT,
                       "INSERT INTO llm_calls (ts, day, call_id, purpose, provider, model, "
                       "input_tokens, output_tokens, latency_sec, cost_usd, outcome) VALUES ($1, "
                       "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    if (!st)
        return STORE_ERR;
    db_bind_double(st, 1, c->ts);
    db_bind_text(st, 2, a->day);
    if (c->call_id > 0)
        db_bind_int(st, 3, c->call_id);
    else
        db_bind_null(st, 3);
    db_bind_text(st, 4, c->purpose ? c->purpose : "");
    db_bind_text(st, 5, c->provider ? c->provider : "");
    store__bind_opt(st, 6, c->model);
    if (c->input_tokens >= 0)
        db_bind_int(st, 7, c->input_tokens);
    else
        db_bind_null(st, 7);
    if (c->output_tokens >= 0)
        db_bind_int(st, 8, c->output_tokens);
    else
        db_bind_null(st, 8);
    bind_num(st, 9, c->latency_sec);
    bind_num(st, 10, c->cost_usd);
    db_bind_text(st, 11, c->outcome ? c->outcome : "");
    if (run(s, st, "recording an LLM request") != 0)
        return STORE_ERR;
    char pu[49], pr[49], oc[49], lab[200];
    label_value(c->purpose, pu);
    label_value(c->provider, pr);
    label_value(c->outcome, oc);
    snprintf(lab, sizeof(lab), "purpose=\"%s\",provider=\"%s\",outcome=\"%s\"", pu, pr, oc);
    if (counter_add(s, "qa_llm_requests_total", lab, 1) != 0)
        return STORE_ERR;
    static const char *const dir[2] = {"input", "output"};
    int64_t tok[2] = {c->input_tokens, c->output_tokens};
    for (int i = 0; i < 2; i++) {
        snprintf(lab, sizeof(lab), "provider=\"%s\",direction=\"%s\"", pr, dir[i]);
        if (tok[i] > 0 && counter_add(s, "qa_llm_tokens_total", lab, (double)tok[i]) != 0)
            return STORE_ERR;
    }
    snprintf(lab, sizeof(lab), "provider=\"%s\"", pr);
    if (c->cost_usd > 0 && isfinite(c->cost_usd) &&
        counter_add(s, "qa_llm_cost_usd_total", lab, c->cost_usd) != 0)
        return STORE_ERR;
    if (c->latency_sec >= 0 && isfinite(c->latency_sec) &&
        (counter_add(s, "qa_llm_latency_seconds_sum", lab, c->latency_sec) != 0 ||
         counter_add(s, "qa_llm_latency_seconds_count", lab, 1) != 0))
        return STORE_ERR;
    return STORE_OK;
}

int store_llm_record(store *s, const store_llm_call *c)
{
    llm_args a = {c, ""};
    time_t t = (time_t)c->ts;
    struct tm lt;
    if (!isfinite(c->ts) || !localtime_r(&t, &lt) ||
        strftime(a.day, sizeof(a.day), "%Y-%m-%d", &lt) != 10) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->err, sizeof(s->err), "recording an LLM request: its time is not a date");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    return in_tx(s, "llm", llm_tx, &a) == STORE_OK ? 0 : -1;
}

typedef struct ask_args {
    const store_ask_row *a;
    char day[11];
} ask_args;

static int ask_tx(store *s, void *arg)
{
    const ask_args *x = arg;
    const store_ask_row *a = x->a;
    db_stmt *st = stmt(s, Q_ASK_PUT,
                       "INSERT INTO ask_log (ts, day, who, question, status, rounds, queries, "
                       "refused, elapsed_sec, error, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                       "$8, $9, $10, $11)");
    if (!st)
        return STORE_ERR;
    db_bind_double(st, 1, a->ts);
    db_bind_text(st, 2, x->day);
    db_bind_text(st, 3, a->who ? a->who : "");
    db_bind_text(st, 4, a->question ? a->question : "");
    db_bind_int(st, 5, a->status);
    db_bind_int(st, 6, a->rounds);
    db_bind_int(st, 7, a->queries);
    db_bind_int(st, 8, a->refused);
    bind_num(st, 9, a->elapsed_sec >= 0 ? a->elapsed_sec : 0);
    store__bind_opt(st, 10, a->error);
    db_bind_text(st, 11, a->detail ? a->detail : "[]");
    if (run(s, st, "recording an /ask") != 0)
        return STORE_ERR;
    char lab[64];
    snprintf(lab, sizeof(lab), "status=\"%d\"", a->status);
    if (counter_add(s, "qa_ask_requests_total", lab, 1) != 0 ||
        (a->refused > 0 &&
         counter_add(s, "qa_ask_queries_refused_total", "", (double)a->refused) != 0))
        return STORE_ERR;
    return STORE_OK;
}

int store_ask_record(store *s, const store_ask_row *a)
{
    ask_args x = {a, ""};
    time_t t = (time_t)a->ts;
    struct tm lt;
    if (!isfinite(a->ts) || !localtime_r(&t, &lt) ||
        strftime(x.day, sizeof(x.day), "%Y-%m-%d", &lt) != 10) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->err, sizeof(s->err), "recording an /ask: its time is not a date");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    return in_tx(s, "ask", ask_tx, &x) == STORE_OK ? 0 : -1;
}

int store_llm_usage_day(store *s, const char *day, long long *tokens, double *cost)
{
    *tokens = 0;
    *cost = 0;
    db_stmt *st = store__begin(s, Q_LLM_DAY,
                               "SELECT COALESCE(SUM(COALESCE(input_tokens, 0) + "
                               "COALESCE(output_tokens, 0)), 0), COALESCE(SUM(cost_usd), 0) FROM "
                               "llm_calls WHERE day = $1");
    if (!st)
        return -1;
    db_bind_text(st, 1, day);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *tokens = (long long)db_col_int(st, 0);
        *cost = db_col_double(st, 1);
    }
    int res = rc == DB_ROW ? 0 : store__fail(s, "reading a day's LLM use");
    store__end(s, st);
    return res;
}

int64_t store_requeue(store *s, double since, double now)
{
    db_stmt *st = store__begin(s, Q_REQUEUE,
                               "UPDATE jobs SET state = 'pending', retry_count = 0, next_attempt "
                               "= 0, stages = '{}', error_stage = NULL, error_message = NULL, "
                               "finished = NULL, updated = $2 WHERE queued >= $1 AND state IN "
                               "('complete', 'error') AND lease_owner IS NULL");
    if (!st)
        return -1;
    db_bind_double(st, 1, since);
    db_bind_double(st, 2, now);
    int rc = db_step(st);
    int64_t n = rc == DB_DONE ? db_changes(s->d) : store__fail(s, "requeueing");
    store__end(s, st);
    return n;
}

int store_job_get(store *s, int64_t call_id, store_job *out)
{
    db_stmt *st = store__begin(s, Q_JOB_GET,
                               "SELECT id, call_id, state, retry_count, stages, skip_reason, "
                               "error_stage, error_message, queued, started, finished, updated, "
                               "lease_owner FROM jobs WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        memset(out, 0, sizeof(*out));
        out->id = db_col_int(st, 0);
        out->call_id = db_col_int(st, 1);
        out->state = (job_state)job_state_parse(db_col_text(st, 2));
        out->retry_count = (int)db_col_int(st, 3);
        store__col_copy(st, 4, out->stages, sizeof(out->stages));
        store__col_copy(st, 5, out->skip_reason, sizeof(out->skip_reason));
        store__col_copy(st, 6, out->error_stage, sizeof(out->error_stage));
        store__col_copy(st, 7, out->error_message, sizeof(out->error_message));
        out->queued = db_col_double(st, 8);
        out->started = db_col_null(st, 9) ? 0 : db_col_double(st, 9);
        out->finished = db_col_null(st, 10) ? 0 : db_col_double(st, 10);
        out->updated = db_col_double(st, 11);
        store__col_copy(st, 12, out->worker, sizeof(out->worker));
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a job");
    }
    store__end(s, st);
    return res;
}

int store_job_counts(store *s, int64_t counts[JOB_N_STATES], double queued_since,
                     int64_t *queued_recent)
{
    memset(counts, 0, JOB_N_STATES * sizeof(*counts));
    db_stmt *st = store__begin(s, Q_JOB_COUNTS, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    if (!st)
        return -1;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int k = job_state_parse(db_col_text(st, 0));
        if (k >= 0)
            counts[k] = db_col_int(st, 1);
    }
    store__end(s, st);
    if (rc != DB_DONE)
        return -1;
    if (!queued_recent)
        return 0;
    st = store__begin(s, Q_JOB_RECENT, "SELECT COUNT(*) FROM jobs WHERE queued >= $1");
    if (!st)
        return -1;
    db_bind_double(st, 1, queued_since);
    rc = db_step(st);
    *queued_recent = rc == DB_ROW ? db_col_int(st, 0) : 0;
    store__end(s, st);
    return rc == DB_ROW ? 0 : -1;
}

/* ---- workers ------------------------------------------------------------------------------- */

int store_worker_put(store *s, const store_worker *w)
{
    db_stmt *st = store__begin(s, Q_WORKER_PUT,
                               "INSERT INTO workers (id, host, pid, started, heartbeat, state, "
                               "pause_reason, jobs_done, current_call) VALUES ($1, $2, $3, $4, $5, "
                               "$6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET heartbeat = "
                               "excluded.heartbeat, state = excluded.state, pause_reason = "
                               "excluded.pause_reason, jobs_done = excluded.jobs_done, "
                               "current_call = excluded.current_call");
    if (!st)
        return -1;
    db_bind_text(st, 1, w->id);
    db_bind_text(st, 2, w->host);
    db_bind_int(st, 3, w->pid);
    db_bind_double(st, 4, w->started);
    db_bind_double(st, 5, w->heartbeat);
    db_bind_text(st, 6, w->state);
    store__bind_opt(st, 7, w->pause_reason);
    db_bind_int(st, 8, w->jobs_done);
    if (w->current_call > 0)
        db_bind_int(st, 9, w->current_call);
    else
        db_bind_null(st, 9);
    int rc = db_step(st);
    int res = rc == DB_DONE ? 0 : store__fail(s, "recording a worker");
    store__end(s, st);
    return res;
}

const char *store_worker_status(const store_worker *w, double now)
{
    if (!strcmp(w->state, "stopped"))
        return "stopped";
    return now - w->heartbeat < STORE_WORKER_GONE_SEC ? w->state : "gone";
}

int store_worker_list(store *s, store_worker **out, int *n)
{
    *out = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_WORKER_LIST,
                               "SELECT id, host, pid, started, heartbeat, state, pause_reason, "
                               "jobs_done, current_call FROM workers ORDER BY heartbeat DESC");
    if (!st)
        return -1;
    int rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        store_worker *nw = realloc(*out, (size_t)(*n + 1) * sizeof(*nw));
        if (!nw) {
            res = -1;
            break;
        }
        *out = nw;
        store_worker *w = &nw[(*n)++];
        memset(w, 0, sizeof(*w));
        store__col_copy(st, 0, w->id, sizeof(w->id));
        store__col_copy(st, 1, w->host, sizeof(w->host));
        w->pid = (int)db_col_int(st, 2);
        w->started = db_col_double(st, 3);
        w->heartbeat = db_col_double(st, 4);
        store__col_copy(st, 5, w->state, sizeof(w->state));
        store__col_copy(st, 6, w->pause_reason, sizeof(w->pause_reason));
        w->jobs_done = db_col_int(st, 7);
        w->current_call = db_col_null(st, 8) ? 0 : db_col_int(st, 8);
    }
    if (rc != DB_DONE && res == 0)
        res = store__fail(s, "listing workers");
    store__end(s, st);
    return res;
}

/* ---- ingest -------------------------------------------------------------------------------- */

int store_ingest_lease(store *s, const char *source, const char *owner, double now,
                       double lease_sec, int64_t *token)
{
    pthread_mutex_lock(&s->mu);
    int res = -1;
    db_stmt *ins = stmt(s, Q_INGEST_ENSURE,
                        "INSERT INTO ingest_sources (source) VALUES ($1) ON CONFLICT (source) "
                        "DO NOTHING");
    if (!ins)
        goto out;
    db_bind_text(ins, 1, source);
    if (run(s, ins, "adding a source") != 0)
        goto out;
    db_stmt *st = stmt(s, Q_INGEST_LEASE,
                       "UPDATE ingest_sources SET lease_owner = $2, lease_expires = $3 + $4, "
                       "lease_token = lease_token + 1 WHERE source = $1 AND (lease_owner IS NULL "
                       "OR lease_expires < $3 OR lease_owner = $2) RETURNING lease_token");
    if (!st)
        goto out;
    db_bind_text(st, 1, source);
    db_bind_text(st, 2, owner);
    db_bind_double(st, 3, now);
    db_bind_double(st, 4, lease_sec);
    int rc = db_step(st);
    if (rc == DB_ROW)
        *token = db_col_int(st, 0);
    res = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : store__fail(s, "taking a source's lease");
    db_reset(st);
out:
    pthread_mutex_unlock(&s->mu);
    return res;
}

int store_ingest_release(store *s, const char *source, const char *owner)
{
    db_stmt *st = store__begin(s, Q_INGEST_RELEASE,
                               "UPDATE ingest_sources SET lease_owner = NULL, lease_expires = "
                               "NULL WHERE source = $1 AND lease_owner = $2");
    if (!st)
        return -1;
    db_bind_text(st, 1, source);
    db_bind_text(st, 2, owner);
    int rc = db_step(st);
    store__end(s, st);
    return rc == DB_DONE ? 0 : -1;
}

int store_ingest_mark(store *s, const char *source, int64_t *mark)
{
    *mark = 0;
    db_stmt *st =
        store__begin(s, Q_INGEST_MARK, "SELECT mark FROM ingest_sources WHERE source = $1");
    if (!st)
        return -1;
    db_bind_text(st, 1, source);
    int rc = db_step(st);
    if (rc == DB_ROW)
        *mark = db_col_int(st, 0);
    store__end(s, st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int store_root_add(store *s, const char *root, const char *source, double now)
{
    db_stmt *st = store__begin(s, Q_ROOT_ADD,
                               "INSERT INTO audio_roots (root, source, added) VALUES ($1, $2, $3) "
                               "ON CONFLICT (root) DO NOTHING");
    if (!st)
        return -1;
    db_bind_text(st, 1, root);
    db_bind_text(st, 2, source);
    db_bind_double(st, 3, now);
    int rc = db_step(st);
    store__end(s, st);
    return rc == DB_DONE ? 0 : -1;
}

int store_roots(store *s, char (**roots)[4096], int *n)
{
    *roots = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_ROOT_LIST, "SELECT root FROM audio_roots ORDER BY root");
    if (!st)
        return -1;
    int rc, cap = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *r = db_col_text(st, 0);
        if (!r || strlen(r) >= sizeof(**roots))
            continue;
        if (*n == cap) {
            char(*nr)[4096] = realloc(*roots, (size_t)(cap = cap ? 2 * cap : 8) * sizeof(**roots));
            if (!nr) {
                rc = DB_ERROR;
                break;
            }
            *roots = nr;
        }
        snprintf((*roots)[(*n)++], sizeof(**roots), "%s", r);
    }
    store__end(s, st);
    if (rc != DB_DONE) {
        free(*roots);
        *roots = NULL, *n = 0;
        return -1;
    }
    return 0;
}

int store_ingest_set_mark(store *s, const char *source, const char *owner, int64_t token,
                          int64_t mark, double now)
{
    db_stmt *st = store__begin(s, Q_INGEST_SET_MARK,
                               "UPDATE ingest_sources SET mark = $4, last_scan = $5 WHERE source "
                               "= $1 AND lease_owner = $2 AND lease_token = $3 AND lease_expires "
                               ">= $5");
    if (!st)
        return STORE_ERR;
    db_bind_text(st, 1, source);
    db_bind_text(st, 2, owner);
    db_bind_int(st, 3, token);
    db_bind_int(st, 4, mark);
    db_bind_double(st, 5, now);
    int rc = db_step(st);
    int res = rc != DB_DONE           ? store__fail(s, "moving a source's mark")
              : db_changes(s->d) == 1 ? STORE_OK
                                      : STORE_FENCED;
    store__end(s, st);
    return res;
}

int store_ingest_open_calls(store *s, const char *source, double since, char (**ids)[65], int *n)
{
    *ids = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_INGEST_OPEN,
                               "SELECT recording_id FROM calls WHERE source = $1 AND open = 1 AND "
                               "created >= $2 ORDER BY id");
    if (!st)
        return -1;
    db_bind_text(st, 1, source);
    db_bind_double(st, 2, since);
    int rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        char(*ni)[65] = realloc(*ids, (size_t)(*n + 1) * sizeof(**ids));
        if (!ni) {
            res = -1;
            break;
        }
        *ids = ni;
        store__col_copy(st, 0, ni[*n], sizeof(ni[*n]));
        (*n)++;
    }
    if (rc != DB_DONE && res == 0)
        res = store__fail(s, "listing open calls");
    store__end(s, st);
    return res;
}

/* ---- events -------------------------------------------------------------------------------- */

int store_events_since(store *s, int64_t after_id, store_event *out, int max, int *n)
{
    *n = 0;
    db_stmt *st = store__begin(s, Q_EVENTS_SINCE,
                               "SELECT e.id, e.ts, e.call_id, e.state, c.source, "
                               "c.recording_id, c.agent_user FROM job_events e LEFT JOIN calls "
                               "c ON c.id = e.call_id WHERE e.id > $1 ORDER BY e.id LIMIT $2");
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_int(st, 2, max);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < max) {
        store_event *e = &out[(*n)++];
        e->id = db_col_int(st, 0);
        e->ts = db_col_double(st, 1);
        e->call_id = db_col_int(st, 2);
        store__col_copy(st, 3, e->state, sizeof(e->state));
        store__col_copy(st, 4, e->source, sizeof(e->source));
        store__col_copy(st, 5, e->recording_id, sizeof(e->recording_id));
        store__col_copy(st, 6, e->agent_user, sizeof(e->agent_user));
    }
    int res = rc == DB_DONE || rc == DB_ROW ? 0 : store__fail(s, "reading job events");
    store__end(s, st);
    return res;
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
    "partial_n, partial_sum, cust_shift_sum, cust_shift_n, cust_drops, dnsmos_sum, dnsmos_n) "     \
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
    "COUNT(CASE WHEN a.mos_model = 'DNSMOS P.835 OVRL' THEN COALESCE(a.mos_in, a.mos_out) END) "   \
    "FROM calls c JOIN jobs j ON j.call_id = c.id LEFT JOIN analyses a ON a.call_id = c.id "       \
    "LEFT JOIN scores sc ON sc.call_id = c.id "
#define ROLLUP_GROUP_BY                                                                            \
    " GROUP BY c.day, c.source, COALESCE(c.agent_user, ''), COALESCE(c.campaign_id, '')"

/* PostgreSQL: a day's roll-up rows are recomputed by one transaction at a time, each after the
 * previous one's commit, so that calls of one day completed together by several workers are
 * all counted (each recomputation reads what the others committed). Held to the commit. */
static int day_lock(store *s, const char *day)
{
    if (db_get_dialect(s->d) != DB_PG)
        return 0;
    db_stmt *st = stmt(s, Q_PG_DAY_LOCK, "SELECT pg_advisory_xact_lock(7462, hashtext($1))");
    if (!st)
        return -1;
    db_bind_text(st, 1, day);
    return run_any(s, st, "locking a day's roll-up");
}

/* The day's rows, all of them (under the lock, in the caller's transaction). */
static int rollup_day(store *s, const char *day)
{
    if (day_lock(s, day) != 0)
        return -1;
    db_stmt *del = stmt(s, Q_ROLLUP_DELETE, "DELETE FROM daily_stats WHERE day = $1");
    if (!del)
        return -1;
    db_bind_text(del, 1, day);
    if (run(s, del, "clearing a day's roll-up") != 0)
        return -1;
    db_stmt *ins = stmt(s, Q_ROLLUP_INSERT, ROLLUP_SELECT "WHERE c.day = $1" ROLLUP_GROUP_BY);
    if (!ins)
        return -1;
    db_bind_text(ins, 1, day);
    return run(s, ins, "computing a day's roll-up");
}

/* One row of a day: a source's agent and campaign. The same figures rollup_day gives that row,
 * at the cost of the group's calls rather than the day's. */
static int rollup_group(store *s, const rollup_key *k)
{
    if (!k->day[0])
        return 0;
    if (day_lock(s, k->day) != 0)
        return -1;
    db_stmt *del = stmt(s, Q_ROLLUP_GROUP_DELETE,
                        "DELETE FROM daily_stats WHERE day = $1 AND source = $2 AND agent_user "
                        "= $3 AND campaign_id = $4");
    if (!del)
        return -1;
    db_bind_text(del, 1, k->day);
    db_bind_text(del, 2, k->source);
    db_bind_text(del, 3, k->agent);
    db_bind_text(del, 4, k->campaign);
    if (run(s, del, "clearing a roll-up row") != 0)
        return -1;
        /* `agent_user IS NULLIF($3, '')` (a call's empty fields are stored NULL, store__bind_opt)
         * lets SQLite find the group's calls on the index calls_day (day, agent_user): with the
         * agent inside COALESCE it ranked them on calls_open (source), every call of the source */
#define ROLLUP_GROUP_SQL(is)                                                                       \
    ROLLUP_SELECT "WHERE c.day = $1 AND c.agent_user " is " NULLIF($3, '') AND c.source = $2 AND " \
                  "COALESCE(c.campaign_id, '') = $4" ROLLUP_GROUP_BY
    db_stmt *ins =
        stmt(s, Q_ROLLUP_GROUP_INSERT,
             STORE_SQL(s, ROLLUP_GROUP_SQL("IS"), ROLLUP_GROUP_SQL("IS NOT DISTINCT FROM")));
    if (!ins)
        return -1;
    db_bind_text(ins, 1, k->day);
    db_bind_text(ins, 2, k->source);
    db_bind_text(ins, 3, k->agent);
    db_bind_text(ins, 4, k->campaign);
    return run(s, ins, "computing a roll-up row");
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
    return in_tx(s, "rollup", rollup_tx, &a) == STORE_OK ? 0 : -1;
}
