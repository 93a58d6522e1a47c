/*
 * test_store.c - the store (src/store/): a wave-1 store migrated without loss; enqueueing is
 * idempotent; claims, leases and fencing (a late write is refused); retries with backoff, errors,
 * skips; crashed workers' jobs come back by themselves and count a retry; the ORIG deadline
 * orders claims; results and their state in one transaction, one result per call; roll-ups the
 * same however often they run, and a re-dated call leaves its old day; requeue; the ingest lease
 * and mark; the event feed; scores under the lease with their roll-ups, overrides and agreement,
 * LLM requests and their use; level envelopes with their analysis; two workers racing for the
 * same jobs each claim different ones. On
 * SQLite, or on PostgreSQL with $CALLQA_TEST_STORE_URI.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "../../src/store/db.h"
#include "../../src/store/store_calls.h"
#include "../../src/store/store_routes.h"
#include "../../src/store/store_jobs.h"
#include "../../src/store/store_query.h"
#include "../../src/store/store_users.h"

/* $CALLQA_TEST_STORE_URI (postgresql://...): every test on that database (emptied before each
 * one) instead of a SQLite file of its own; the tests that build a SQLite file by hand skip. */
static const char *pg_uri(void)
{
    const char *u = getenv("CALLQA_TEST_STORE_URI");
    return u && *u ? u : NULL;
}

/* The store named `name`: its file, or the PostgreSQL URI. */
static char *store_uri(const char *name)
{
    return pg_uri() ? strdup(pg_uri()) : tu_path(tu_dir(), name);
}

/* A statement's rows through the store's own database layer (either dialect): fields joined by
 * fsep, rows by ';', NULL as "null", a real number as SQLite writes it ("78.0", "0.024"). */
static char *sql_rows(const char *file, const char *sql, const char *fsep, int max_rows)
{
    char *u = store_uri(file), msg[600];
    db *d = db_open(u, msg, sizeof(msg));
    if (!d)
        fail_msg("%s", msg);
    db_stmt *st = db_stmt_get(d, 0, sql);
    if (!st)
        fail_msg("%s: %s", sql, db_errmsg(d));
    char out[4096] = "";
    int rc, rows = 0;
    while (rows < max_rows && (rc = db_step(st)) == DB_ROW) {
        size_t k = strlen(out);
        snprintf(out + k, sizeof(out) - k, "%s", rows++ ? ";" : "");
        for (int i = 0; i < db_col_count(st); i++) {
            char v[64];
            const char *t = v;
            switch (db_col_type(st, i)) {
            case DB_T_NULL: t = "null"; break;
            case DB_T_INT: snprintf(v, sizeof(v), "%lld", (long long)db_col_int(st, i)); break;
            case DB_T_REAL:
                snprintf(v, sizeof(v), "%.15g", db_col_double(st, i));
                if (!strpbrk(v, ".eni"))
                    strcat(v, ".0");
                break;
            default: t = db_col_text(st, i); break;
            }
            k = strlen(out);
            snprintf(out + k, sizeof(out) - k, "%s%s", i ? fsep : "", t);
        }
    }
    db_reset(st);
    db_close(d);
    free(u);
    return strdup(out);
}

/* The first row of a query on the store, its columns joined by '|' (NULL as "null"). */
static char *sql_row(const char *file, const char *sql)
{
    return sql_rows(file, sql, "|", 1);
}

static store *fresh(const char *name)
{
    char *p = store_uri(name), msg[600];
    if (pg_uri()) {
        db *d = db_open(p, msg, sizeof(msg));
        if (!d || db_exec(d, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") != DB_OK)
            fail_msg("emptying %s: %s", p, d ? db_errmsg(d) : msg);
        db_close(d);
    } else {
        unlink(p);
    }
    store *s = store_open(p, msg, sizeof(msg));
    if (!s)
        fail_msg("%s", msg);
    free(p);
    return s;
}

static store_call a_call(const char *source, const char *rid, const char *date, const char *agent)
{
    store_call c;
    memset(&c, 0, sizeof(c));
    snprintf(c.source, sizeof(c.source), "%s", source);
    snprintf(c.recording_id, sizeof(c.recording_id), "%s", rid);
    snprintf(c.call_date, sizeof(c.call_date), "%s", date);
    snprintf(c.agent_user, sizeof(c.agent_user), "%s", agent);
    snprintf(c.campaign_id, sizeof(c.campaign_id), "SALES");
    snprintf(c.audio, sizeof(c.audio), "/rec/%s-all.wav", rid);
    c.call_epoch = -1;
    c.length_sec = 60;
    return c;
}

/* A store as wave 1 made it (no version, one table with a row), opened now: migrated. */
static void test_migrate_wave1(void **state)
{
    (void)state;
    if (pg_uri()) {
        print_message("wave-1 migration: SQLite only (no wave-1 store was PostgreSQL)\n");
        skip();
    }
    char *p = tu_path(tu_dir(), "wave1.db");
    unlink(p);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "CREATE TABLE analyses (id INTEGER PRIMARY KEY, server TEXT NOT NULL, file "
                     "TEXT NOT NULL, identity TEXT NOT NULL, engine TEXT NOT NULL, source TEXT, "
                     "validators TEXT, created REAL NOT NULL, checked REAL NOT NULL, report TEXT "
                     "NOT NULL);"
                     "INSERT INTO analyses VALUES (7, 'uk', 'a-all.wav', 'sha', '0.1.0', 'ORIG "
                     "legs', '', 100, 100, '{\"duration\": 61.5, \"has_legs\": true, \"inbound\": "
                     "{\"speech_pct\": 40, \"nisqa\": {\"mos\": 3.5}}, \"outbound\": {\"nisqa\": "
                     "null}, \"one_way_audio\": false, \"conversation\": {\"dead_air\": "
                     "{\"total_sec\": 6.2}}}');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    char msg[600];
    store *s = store_open(p, msg, sizeof(msg));
    assert_non_null(s);
    assert_int_equal(store_schema_version(s), 22);
    store_result r;
    assert_int_equal(store_result_get(s, 7, &r), 1); /* the row, its report, unchanged */
    assert_string_equal(r.server, "uk");
    assert_non_null(strstr(r.report, "\"duration\": 61.5"));
    store_result_free(&r);
    assert_int_equal(store_result_latest(s, "uk", "a-all.wav", "0.1.0", &r), 1);
    store_result_free(&r);
    store_close(s);
    /* its queryable columns were filled from the report */
    assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT duration_sec, legs, mos_in, mos_out, one_way, "
                                        "dead_air_sec FROM analyses WHERE id = 7",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_double(st, 0) == 61.5);
    assert_int_equal(sqlite3_column_int(st, 1), 2);
    assert_true(sqlite3_column_double(st, 2) == 3.5);
    assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL); /* null stays null */
    assert_int_equal(sqlite3_column_int(st, 4), 0);
    assert_true(sqlite3_column_double(st, 5) == 6.2);
    sqlite3_finalize(st);
    sqlite3_close(h);
    /* a store newer than this callqa is refused */
    assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_null(store_open(p, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "newer than this callqa"));
    free(p);
}

static void test_enqueue_idempotent(void **state)
{
    (void)state;
    store *s = fresh("enq.db");
    store_call c = a_call("uk", "1001", "2026-11-20 10:00:00", "agent7");
    int64_t id1, id2;
    bool created;
    assert_int_equal(store_call_put(s, &c, 1000, &id1, &created), 0);
    assert_true(created);
    c.agent_user[0] = 0; /* a later scan that no longer says who: kept */
    snprintf(c.disposition, sizeof(c.disposition), "SALE");
    assert_int_equal(store_call_put(s, &c, 1001, &id2, &created), 0);
    assert_false(created);
    assert_int_equal(id1, id2);
    store_call got;
    assert_int_equal(store_call_get(s, id1, &got), 1);
    assert_string_equal(got.agent_user, "agent7");
    assert_string_equal(got.disposition, "SALE");
    /* the same recording id on another source is another call */
    store_call c2 = a_call("us", "1001", "2026-11-20 10:00:00", "agent9");
    assert_int_equal(store_call_put(s, &c2, 1002, &id2, &created), 0);
    assert_true(created);
    assert_true(id2 != id1);
    int64_t counts[JOB_N_STATES];
    assert_int_equal(store_job_counts(s, counts, 0, NULL), 0);
    assert_int_equal(counts[JOB_PENDING], 2); /* one job per call */
    store_close(s);
}

static void test_leases_and_fencing(void **state)
{
    (void)state;
    store *s = fresh("lease.db");
    store_call c = a_call("uk", "1", "2026-11-20 10:00:00", "a");
    int64_t id;
    bool created;
    assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    store_lease l1, l2;
    assert_int_equal(store_job_claim(s, "w1", 200, 30, &l1), 1);
    assert_int_equal(l1.state, JOB_ANALYSING);
    assert_int_equal(store_job_claim(s, "w2", 210, 30, &l2), 0);  /* held */
    assert_int_equal(store_job_renew(s, &l1, 220, 30), STORE_OK); /* until 250 */
    assert_int_equal(store_job_claim(s, "w2", 240, 30, &l2), 0);
    /* w1 stops answering: past its lease, w2 takes the call back (a retry counted) */
    assert_int_equal(store_job_claim(s, "w2", 251, 30, &l2), 1);
    assert_int_equal(l2.retry_count, 1);
    assert_true(l2.token > l1.token);
    /* w1's late writes are all refused */
    assert_int_equal(store_job_renew(s, &l1, 252, 30), STORE_FENCED);
    store_figures f = {.legs = 2, .one_way = 0, .mos = {NAN, NAN}};
    assert_int_equal(store_job_analysed(s, &l1, "e1", "{}", &f, JOB_TRANSCRIBING, 252),
                     STORE_FENCED);
    assert_int_equal(store_job_skip(s, &l1, "late", 252), STORE_FENCED);
    assert_int_equal(store_job_advance(s, &l1, JOB_COMPLETE, NULL, NULL, 252), STORE_FENCED);
    /* w2's own lease, expired but not yet taken: its write is refused as well */
    assert_int_equal(store_job_advance(s, &l2, JOB_TRANSCRIBING, NULL, NULL, 400), STORE_FENCED);
    store_job j;
    assert_int_equal(store_job_get(s, id, &j), 1);
    assert_int_equal(j.state, JOB_ANALYSING);
    store_close(s);
}

static void test_retry_error_skip(void **state)
{
    (void)state;
    store *s = fresh("retry.db");
    int64_t id[2];
    bool created;
    store_call c = a_call("uk", "1", "2026-11-20 10:00:00", "a");
    assert_int_equal(store_call_put(s, &c, 100, &id[0], &created), 0);
    store_lease l, none;
    /* max 2 retries, backoff 10 s doubled: claimable again at 210, then 231 */
    const double at[3] = {200, 211, 232}, next[2] = {210, 231};
    for (int k = 0; k < 3; k++) {
        if (k)
            assert_int_equal(store_job_claim(s, "w", next[k - 1] - 0.5, 30, &none), 0);
        assert_int_equal(store_job_claim(s, "w", at[k], 30, &l), 1);
        assert_int_equal(l.retry_count, k);
        assert_int_equal(store_job_fail(s, &l, "analyse", "busy disk", true, 2, 10, at[k]),
                         STORE_OK);
    }
    store_job j;
    assert_int_equal(store_job_get(s, id[0], &j), 1);
    assert_int_equal(j.state, JOB_ERROR); /* the third failure: retries (2) spent */
    assert_string_equal(j.error_stage, "analyse");
    assert_string_equal(j.error_message, "busy disk");
    assert_int_equal(j.retry_count, 2);
    /* a skip, and a call enqueued skipped */
    store_call c2 = a_call("uk", "2", "2026-11-20 10:00:00", "a");
    assert_int_equal(store_call_put(s, &c2, 300, &id[1], &created), 0);
    assert_int_equal(store_job_claim(s, "w", 301, 30, &l), 1);
    assert_int_equal(store_job_skip(s, &l, "no audio: 0 frames", 302), STORE_OK);
    assert_int_equal(store_job_get(s, id[1], &j), 1);
    assert_int_equal(j.state, JOB_SKIPPED);
    assert_string_equal(j.skip_reason, "no audio: 0 frames");
    store_call c3 = a_call("uk", "3", "2026-11-20 10:00:00", "a");
    snprintf(c3.skip_reason, sizeof(c3.skip_reason), "too short: 4 s, under 30 s");
    int64_t id3;
    assert_int_equal(store_call_put(s, &c3, 303, &id3, &created), 0);
    assert_int_equal(store_job_get(s, id3, &j), 1);
    assert_int_equal(j.state, JOB_SKIPPED);
    assert_int_equal(store_job_claim(s, "w", 304, 30, &l), 0);
    store_close(s);
}

/* Two workers race for the same jobs: each job is claimed by exactly one of them (PostgreSQL:
 * FOR UPDATE SKIP LOCKED; SQLite: one writer at a time), none is lost. */
typedef struct racer {
    const char *name;
    int64_t got[64];
    int n;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    char *u = store_uri("race.db"), msg[600];
    store *s = store_open(u, msg, sizeof(msg));
    free(u);
    if (!s)
        return NULL;
    store_lease l;
    int rc;
    while (r->n < 64 && (rc = store_job_claim(s, r->name, 200, 30, &l)) == 1) {
        r->got[r->n++] = l.job_id;
        if (store_job_advance(s, &l, JOB_COMPLETE, "analyse", "done", 201) != STORE_OK)
            break;
    }
    store_close(s);
    return NULL;
}

static void test_claim_race(void **state)
{
    (void)state;
    store *s = fresh("race.db");
    enum { JOBS = 40 };
    for (int k = 0; k < JOBS; k++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "%d", k);
        store_call c = a_call("uk", rid, "2026-11-20 09:30:00", "ann");
        int64_t id;
        bool created;
        assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    }
    racer r[2] = {{.name = "w1"}, {.name = "w2"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    int seen[JOBS + 1] = {0};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < r[i].n; k++) {
            assert_true(r[i].got[k] >= 1 && r[i].got[k] <= JOBS);
            seen[r[i].got[k]]++;
        }
    for (int k = 1; k <= JOBS; k++)
        assert_int_equal(seen[k], 1);
    print_message("claim race: %d and %d of %d jobs, each once\n", r[0].n, r[1].n, JOBS);
    int64_t counts[JOB_N_STATES];
    assert_int_equal(store_job_counts(s, counts, 0, NULL), 0);
    assert_int_equal(counts[JOB_COMPLETE], JOBS);
    store_close(s);
}

static void test_priority(void **state)
{
    (void)state;
    store *s = fresh("prio.db");
    bool created;
    int64_t id[3];
    store_call a = a_call("uk", "a", "2026-11-20 10:00:00", "x"); /* no legs: after the others */
    store_call b = a_call("uk", "b", "2026-11-20 10:00:00", "x");
    b.orig_deadline = 5000; /* legs deleted at 5000 */
    store_call c = a_call("uk", "c", "2026-11-20 10:00:00", "x");
    c.orig_deadline = 3000; /* sooner */
    assert_int_equal(store_call_put(s, &a, 100, &id[0], &created), 0);
    assert_int_equal(store_call_put(s, &b, 101, &id[1], &created), 0);
    assert_int_equal(store_call_put(s, &c, 102, &id[2], &created), 0);
    store_lease l;
    int64_t order[3];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(store_job_claim(s, "w", 200, 30, &l), 1);
        order[k] = l.call_id;
    }
    assert_int_equal(order[0], id[2]);
    assert_int_equal(order[1], id[1]);
    assert_int_equal(order[2], id[0]);
    store_close(s);
}

static int64_t count_rows(store *s, const char *table)
{
    (void)s;
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    char *v = sql_row("roll.db", sql);
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Two speech-quality models' MOS are never averaged together: NISQA's in mos_sum / mos_n,
 * DNSMOS's P.835 OVRL in dnsmos_sum / dnsmos_n (schema v17). */
static void test_rollup_mos_models_apart(void **state)
{
    (void)state;
    store *s = fresh("mosmodels.db");
    bool created;
    int64_t id;
    for (int k = 0; k < 2; k++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "m%d", k);
        store_call c = a_call("uk", rid, "2026-11-21 10:00:00", "cat");
        assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    }
    store_lease l;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(store_job_claim(s, "w", 200, 30, &l), 1);
        store_figures f = {.duration_sec = 60, .legs = 2, .mos = {k ? 2.0 : 3.0, k ? 3.0 : 4.0}};
        snprintf(f.mos_model, sizeof(f.mos_model), "%s", k ? "DNSMOS P.835 OVRL" : "NISQA v2");
        assert_int_equal(store_job_analysed(s, &l, "e1", "{}", &f, JOB_COMPLETE, 201), STORE_OK);
    }
    char *rows = sql_rows("mosmodels.db",
                          "SELECT mos_sum, mos_n, dnsmos_sum, dnsmos_n FROM daily_stats WHERE "
                          "day = '2026-11-21'",
                          "|", 10);
    assert_string_equal(rows, "3.5|1|2.5|1");
    free(rows);
    store_close(s);
}

static void test_results_and_rollups(void **state)
{
    (void)state;
    store *s = fresh("roll.db");
    bool created;
    int64_t id;
    const char *agents[3] = {"ann", "ann", "bob"};
    for (int k = 0; k < 3; k++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "%d", k);
        store_call c = a_call("uk", rid, "2026-11-20 09:30:00", agents[k]);
        assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    }
    store_lease l;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(store_job_claim(s, "w", 200, 30, &l), 1);
        store_figures f = {.duration_sec = 60,
                           .legs = 2,
                           .mos = {3.0, k ? NAN : 4.0},
                           .mos_model = "NISQA v2",
                           .one_way = k,
                           .talk_sec = {10, 20},
                           .dead_air_sec = 5,
                           .overtalk_sec = 1,
                           .hold_sec = k ? 30 : 0};
        assert_int_equal(
            store_job_analysed(s, &l, "e1", "{\"duration\":60}", &f, JOB_TRANSCRIBING, 201),
            STORE_OK);
        /* a worker killed after its result, before the state's next step: a second result of
         * the same call replaces the first, never adds one */
        assert_int_equal(
            store_job_analysed(s, &l, "e1", "{\"duration\":60}", &f, JOB_TRANSCRIBING, 202),
            STORE_OK);
        assert_int_equal(
            store_job_advance(s, &l, JOB_TRANSCRIBED, "transcribe", "not_configured", 203),
            STORE_OK);
        assert_int_equal(store_job_advance(s, &l, JOB_COMPLETE, "score", "not_configured", 204),
                         STORE_OK);
    }
    assert_int_equal(count_rows(s, "analyses"), 2);
    /* the histogram: both queued at 100, complete at 204 (104 s): every bound from 300 s up */
    char *hist = sql_rows("roll.db",
                          "SELECT labels, value FROM counters WHERE name LIKE "
                          "'qa_queue_to_complete_seconds%' ORDER BY name, labels",
                          "=", 100);
    assert_string_equal(hist, "le=\"+Inf\"=2.0;le=\"14400\"=2.0;le=\"172800\"=2.0;"
                              "le=\"1800\"=2.0;le=\"28800\"=2.0;le=\"300\"=2.0;le=\"3600\"=2.0;"
                              "le=\"7200\"=2.0;le=\"86400\"=2.0;le=\"900\"=2.0;=2.0;=208.0");
    free(hist);
    store_job j;
    assert_int_equal(store_job_get(s, l.call_id, &j), 1);
    assert_string_equal(j.stages, "{\"analyse\":\"done\",\"transcribe\":\"not_configured\","
                                  "\"score\":\"not_configured\"}");
    /* ann: 2 queued, 2 analysed; talk 60 s; one one-way call; MOS (3.5 + 3.0) over 2 calls;
     * bob: no MOS, so mos_n 0, never a 0 MOS */
    char *rows = sql_rows("roll.db",
                          "SELECT agent_user, queued, analysed, talk_sec, hold_sec, dead_air_sec, "
                          "one_way_calls, mos_sum, mos_n FROM daily_stats WHERE day = "
                          "'2026-11-20' ORDER BY agent_user",
                          "|", 100);
    assert_string_equal(rows, "ann|2|2|60.0|30.0|10.0|1|6.5|2;bob|1|0|0.0|0.0|0.0|0|0.0|0");
    free(rows);
    /* recomputing the whole day gives the rows the calls' own roll-up rows were kept at */
    const char *dump = "SELECT day, agent_user, queued, analysed, talk_sec, mos_sum, mos_n FROM "
                       "daily_stats ORDER BY day, source, agent_user, campaign_id";
    char *before = sql_rows("roll.db", dump, "|", 100);
    assert_int_equal(store_rollup_day(s, "2026-11-20"), 0);
    assert_int_equal(store_rollup_day(s, "2026-11-20"), 0);
    char *after = sql_rows("roll.db", dump, "|", 100);
    assert_string_equal(before, after);
    free(before), free(after);
    /* requeue: the completed calls back to pending, the one not analysed left alone */
    assert_int_equal(store_requeue(s, 0, 300), 2);
    int64_t counts[JOB_N_STATES];
    assert_int_equal(store_job_counts(s, counts, 0, NULL), 0);
    assert_int_equal(counts[JOB_PENDING], 3);
    store_close(s);
}

static int day_row(void *user, const store_val *cols, int n)
{
    char *out = user;
    const char *day = NULL;
    int64_t calls = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(cols[i].name, "day"))
            day = cols[i].s;
        if (!strcmp(cols[i].name, "total_calls"))
            calls = cols[i].i;
    }
    char one[40];
    snprintf(one, sizeof(one), "%s=%lld;", day ? day : "?", (long long)calls);
    strncat(out, one, 255 - strlen(out));
    return 0;
}

/* A call the dialer re-dates leaves its old day's roll-up (the API's daily figures) */
static void test_call_moves_day(void **state)
{
    (void)state;
    store *s = fresh("move.db");
    bool created;
    int64_t id;
    store_call c = a_call("uk", "7", "2026-11-20 23:59:00", "ann");
    assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    store_call d = a_call("uk", "8", "2026-11-20 10:00:00", "ann");
    assert_int_equal(store_call_put(s, &d, 100, &id, &created), 0);
    char days[256] = "";
    store_val p[3] = {SV_S("2026-11-01"), SV_S("2026-11-30"), SV_S(NULL)};
    if (store_query(s, SQ_DAILY, p, 3, day_row, days) != 0)
        fail_msg("%s", store_errmsg(s));
    assert_string_equal(days, "2026-11-20=2;");
    snprintf(c.call_date, sizeof(c.call_date), "2026-11-21 00:01:00");
    assert_int_equal(store_call_put(s, &c, 101, &id, &created), 0);
    assert_false(created);
    days[0] = 0;
    assert_int_equal(store_query(s, SQ_DAILY, p, 3, day_row, days), 0);
    assert_string_equal(days, "2026-11-20=1;2026-11-21=1;");
    store_close(s);
}

/* An attempt of the dialer (vicidial_carrier_log's row). */
static store_attempt an_attempt(const char *uniq, const char *lead, const char *date,
                                const char *carrier, const char *status, double dial)
{
    store_attempt a;
    memset(&a, 0, sizeof(a));
    snprintf(a.source, sizeof(a.source), "uk");
    snprintf(a.uniqueid, sizeof(a.uniqueid), "%s", uniq);
    snprintf(a.lead_id, sizeof(a.lead_id), "%s", lead);
    snprintf(a.call_date, sizeof(a.call_date), "%s", date);
    snprintf(a.carrier, sizeof(a.carrier), "%s", carrier);
    snprintf(a.server_ip, sizeof(a.server_ip), "10.0.0.1");
    snprintf(a.dialstatus, sizeof(a.dialstatus), "%s", status);
    a.epoch = 1779271500;
    a.hangup_cause = strcmp(status, "BUSY") ? 16 : 17;
    a.sip_hangup_cause = strcmp(status, "BUSY") ? 0 : 486;
    a.dial_time = dial;
    a.answered_time = strcmp(status, "ANSWER") ? 0 : 60;
    return a;
}

/* The routes' roll-ups: attempts before their call (the call takes the attempt's carrier and
 * server, by uniqueid and lead; another lead does not join), attempts without audio counted,
 * hang-up causes, a call moved to another hour (both hours recomputed), attempts read again
 * unchanged (nothing recomputed differently), an erasure of the call's row. */
static void test_routes(void **state)
{
    (void)state;
    store *s = fresh("routes.db");
    store_attempt at[3] = {
        an_attempt("u1", "10", "2026-11-20 10:05:00", "telco", "ANSWER", 5),
        an_attempt("u2", "11", "2026-11-20 10:20:00", "telco", "BUSY", 3),
        an_attempt("u3", "99", "2026-11-20 10:30:00", "other", "ANSWER", 4),
    };
    int joined = -1;
    assert_int_equal(store_attempts_put(s, at, 3, 100, &joined), 0);
    assert_int_equal(joined, 0);
    store_call c1 = a_call("uk", "1", "2026-11-20 10:06:00", "ann");
    snprintf(c1.uniqueid, sizeof(c1.uniqueid), "u1");
    snprintf(c1.lead_id, sizeof(c1.lead_id), "10");
    store_call c3 = a_call("uk", "3", "2026-11-20 10:31:00", "bob");
    snprintf(c3.uniqueid, sizeof(c3.uniqueid), "u3");
    snprintf(c3.lead_id, sizeof(c3.lead_id), "30"); /* not the attempt's lead */
    int64_t id1, id3;
    bool created;
    assert_int_equal(store_call_put(s, &c1, 101, &id1, &created), 0);
    assert_int_equal(store_call_put(s, &c3, 101, &id3, &created), 0);
    const char *p = "routes.db";
    char *r;
    r = sql_row(p, "SELECT carrier, server_ip, hour FROM calls WHERE recording_id = '1'");
    assert_string_equal(r, "telco|10.0.0.1|2026-11-20 10");
    free(r);
    r = sql_row(p, "SELECT carrier, server_ip FROM calls WHERE recording_id = '3'");
    assert_string_equal(r, "null|null");
    free(r);
    r = sql_row(p, "SELECT COUNT(*), SUM(CASE WHEN call_id IS NULL THEN 0 ELSE 1 END) FROM "
                   "call_attempts");
    assert_string_equal(r, "3|1");
    free(r);
    /* the hour of carrier telco: one call, two attempts (one without audio), one answered */
    static const char q_hour[] =
        "SELECT calls, attempts, answered, dial_sum, dial_n FROM route_hourly WHERE dim = "
        "'carrier' AND name = 'telco' AND hour = '2026-11-20 10'";
    r = sql_row(p, q_hour);
    assert_string_equal(r, "1|2|1|8.0|2");
    free(r);
    r = sql_row(p, "SELECT calls, attempts FROM route_daily WHERE dim = 'carrier' AND name = "
                   "'telco' AND day = '2026-11-20'");
    assert_string_equal(r, "1|2");
    free(r);
    /* the campaign's hour: both calls; attempts say nothing of campaigns (null, not 0) */
    r = sql_row(p, "SELECT calls, attempts FROM route_hourly WHERE dim = 'campaign' AND name = "
                   "'SALES' AND hour = '2026-11-20 10'");
    assert_string_equal(r, "2|null");
    free(r);
    r = sql_rows(p,
                 "SELECT kind, cause, n FROM route_causes WHERE dim = 'carrier' AND name = "
                 "'telco' ORDER BY kind, cause",
                 ",", 10);
    assert_string_equal(r, "dialstatus,ANSWER,1;dialstatus,BUSY,1;q850,16,1;q850,17,1;sip,486,1");
    free(r);
    /* read again as they were: nothing changes */
    char *before = sql_rows(p,
                            "SELECT dim, name, hour, t, calls, attempts, answered, dial_sum, "
                            "one_way_n FROM route_hourly "
                            "ORDER BY dim, name, hour",
                            ",", 50);
    assert_int_equal(store_attempts_put(s, at, 3, 102, &joined), 0);
    char *after = sql_rows(p,
                           "SELECT dim, name, hour, t, calls, attempts, answered, dial_sum, "
                           "one_way_n FROM route_hourly "
                           "ORDER BY dim, name, hour",
                           ",", 50);
    assert_string_equal(before, after);
    free(before), free(after);
    /* the call moved an hour on: the old hour keeps the attempts, the new one has the call */
    snprintf(c1.call_date, sizeof(c1.call_date), "2026-11-20 11:02:00");
    assert_int_equal(store_call_put(s, &c1, 103, &id1, &created), 0);
    r = sql_row(p, q_hour);
    assert_string_equal(r, "0|2|1|8.0|2");
    free(r);
    r = sql_row(p, "SELECT calls, attempts FROM route_hourly WHERE dim = 'carrier' AND name = "
                   "'telco' AND hour = '2026-11-20 11'");
    assert_string_equal(r, "1|null");
    free(r);
    r = sql_row(p, "SELECT calls, attempts FROM route_daily WHERE dim = 'carrier' AND name = "
                   "'telco' AND day = '2026-11-20'");
    assert_string_equal(r, "1|2");
    free(r);
    /* a rebuild from the calls and attempts gives the same rows */
    before = sql_rows(
        p,
        "SELECT dim, name, day, calls, analysed, attempts, answered, dial_sum, dial_sq FROM "
        "route_daily ORDER BY dim, name, day",
        ",", 50);
    int days = 0;
    assert_int_equal(store_routes_rebuild(s, &days), 0);
    assert_int_equal(days, 1);
    after = sql_rows(
        p,
        "SELECT dim, name, day, calls, analysed, attempts, answered, dial_sum, dial_sq FROM "
        "route_daily ORDER BY dim, name, day",
        ",", 50);
    assert_string_equal(before, after);
    free(before), free(after);
    store_close(s);
}

typedef struct hits {
    int n;
    int64_t call[8];
    char marked[8][200], speaker[8][16];
} hits;

static int hit_row(void *user, const store_val *c, int n)
{
    hits *h = user;
    if (h->n >= 8)
        return 1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(c[i].name, "call_id"))
            h->call[h->n] = c[i].i;
        else if (!strcmp(c[i].name, "marked"))
            snprintf(h->marked[h->n], sizeof(h->marked[0]), "%s", c[i].s);
        else if (!strcmp(c[i].name, "speaker"))
            snprintf(h->speaker[h->n], sizeof(h->speaker[0]), "%s", c[i].s);
    }
    h->n++;
    return 0;
}

static int search(store *s, const char *match, const char *agent, hits *h)
{
    memset(h, 0, sizeof(*h));
    store_val p[7] = {SV_S(match), SV_S(NULL), SV_S(NULL), SV_S(agent),
                      SV_S(NULL),  SV_I(50),   SV_S(NULL)};
    return store_query(s, SQ_SEARCH, p, 7, hit_row, h);
}

/* A transcript stored under the lease (the job moves on), replaced by a second one (its search
 * rows too), an import beside it; search by words, with an agent filter. */
static void test_transcripts(void **state)
{
    (void)state;
    store *s = fresh("tx.db");
    store_call c1 = a_call("uk", "t1", "2026-11-20 10:00:00", "ann");
    store_call c2 = a_call("uk", "t2", "2026-11-20 11:00:00", "bob");
    int64_t id1, id2;
    bool created;
    assert_int_equal(store_call_put(s, &c1, 100, &id1, &created), 0);
    assert_int_equal(store_call_put(s, &c2, 100, &id2, &created), 0);
    store_lease l;
    assert_int_equal(store_job_claim(s, "w1", 200, 60, &l), 1);
    store_figures f = {.legs = 2, .one_way = 0, .mos = {NAN, NAN}};
    assert_int_equal(store_job_analysed(s, &l, "e1", "{}", &f, JOB_TRANSCRIBING, 201), STORE_OK);
    store_tx_segment segs[2] = {{"agent", 1.0, 3.5, "Thank you for calling ACME bank"},
                                {"customer", 4.0, 6.0, "I want to close my account"}};
    store_transcript t = {.call_id = l.call_id,
                          .engine = "openai",
                          .model = "whisper-1",
                          .language = "en",
                          .word_count = 12,
                          .seconds = 1.5,
                          .audio_sent_sec = 4.5,
                          .audio_recorded_sec = 120,
                          .hallucination_rate = 0,
                          .config_hash = "abc",
                          .text = "agent: Thank you for calling ACME bank\ncustomer: I want to "
                                  "close my account",
                          .detail = "{}",
                          .segs = segs,
                          .n_segs = 2};
    store_lease stale = l;
    stale.token--;
    assert_int_equal(store_job_transcribed(s, &stale, &t, 202), STORE_FENCED);
    assert_int_equal(store_job_transcribed(s, &l, &t, 202), STORE_OK);
    assert_int_equal(l.state, JOB_TRANSCRIBED);
    store_job j;
    assert_int_equal(store_job_get(s, l.call_id, &j), 1);
    assert_int_equal(j.state, JOB_TRANSCRIBED);
    hits h;
    assert_int_equal(search(s, "\"close\" \"account\"", NULL, &h), 0);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.call[0], l.call_id);
    assert_string_equal(h.speaker[0], "customer");
    assert_string_equal(h.marked[0], "I want to \x02"
                                     "close\x03 my \x02"
                                     "account\x03");
    /* again: replaced, the old words gone from search */
    segs[1].text = "I want to open a savings account";
    assert_int_equal(store_transcript_put(s, &t, 203), STORE_OK);
    assert_int_equal(search(s, "\"close\"", NULL, &h), 0);
    assert_int_equal(h.n, 0);
    assert_int_equal(search(s, "\"savings\"", NULL, &h), 0);
    assert_int_equal(h.n, 1);
    /* another call's import; an agent filter */
    int64_t other = l.call_id == id1 ? id2 : id1;
    store_tx_segment s2[1] = {{"mixed", 0.5, 2.0, "savings rates are up"}};
    store_transcript t2 = {.call_id = other,
                           .engine = "import",
                           .word_count = 4,
                           .seconds = NAN,
                           .audio_sent_sec = NAN,
                           .audio_recorded_sec = NAN,
                           .hallucination_rate = NAN,
                           .config_hash = "import",
                           .text = "mixed: savings rates are up",
                           .detail = "{}",
                           .segs = s2,
                           .n_segs = 1};
    assert_int_equal(store_transcript_put(s, &t2, 204), STORE_OK);
    assert_int_equal(search(s, "\"savings\"", NULL, &h), 0);
    assert_int_equal(h.n, 2);
    assert_int_equal(search(s, "\"savings\"", "bob", &h), 0);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.call[0], id2);
    store_close(s);
}

static void test_ingest_lease_and_events(void **state)
{
    (void)state;
    store *s = fresh("ingest.db");
    int64_t t1, t2, mark;
    assert_int_equal(store_ingest_lease(s, "uk", "scan1", 100, 60, &t1), 1);
    assert_int_equal(store_ingest_lease(s, "uk", "scan2", 110, 60, &t2), 0); /* one at a time */
    assert_int_equal(store_ingest_lease(s, "us", "scan2", 110, 60, &t2), 1); /* per source */
    assert_int_equal(store_ingest_set_mark(s, "uk", "scan1", t1, 500, 120), STORE_OK);
    assert_int_equal(store_ingest_mark(s, "uk", &mark), 0);
    assert_int_equal(mark, 500);
    /* scan1 stalls past its lease; scan2 takes the source; scan1's late mark is refused */
    assert_int_equal(store_ingest_lease(s, "uk", "scan2", 200, 60, &t2), 1);
    assert_int_equal(store_ingest_set_mark(s, "uk", "scan1", t1, 900, 201), STORE_FENCED);
    assert_int_equal(store_ingest_mark(s, "uk", &mark), 0);
    assert_int_equal(mark, 500);
    assert_int_equal(store_ingest_release(s, "uk", "scan2"), 0);
    assert_int_equal(store_ingest_lease(s, "uk", "scan3", 202, 60, &t1), 1);
    /* events: every state a job took, in order */
    store_call c = a_call("uk", "1", "2026-11-20 10:00:00", "a");
    int64_t id;
    bool created;
    assert_int_equal(store_call_put(s, &c, 300, &id, &created), 0);
    store_lease l;
    assert_int_equal(store_job_claim(s, "w", 301, 30, &l), 1);
    assert_int_equal(store_job_skip(s, &l, "stub", 302), STORE_OK);
    store_event ev[8];
    int n = 0;
    assert_int_equal(store_events_since(s, 0, ev, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ev[0].state, "pending");
    assert_string_equal(ev[1].state, "analysing"); /* the claim */
    assert_string_equal(ev[2].state, "skipped");
    assert_string_equal(ev[2].recording_id, "1");
    assert_string_equal(ev[2].source, "uk");
    assert_string_equal(ev[2].agent_user, "a");
    assert_int_equal(store_events_since(s, ev[0].id, ev, 8, &n), 0);
    assert_int_equal(n, 2);
    int64_t last;
    assert_int_equal(store_events_last(s, &last), 0);
    assert_int_equal(last, ev[1].id);
    /* forgetting the old ones: those before the skip */
    assert_int_equal(store_events_prune(s, 302), 2);
    assert_int_equal(store_events_since(s, 0, ev, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].state, "skipped");
    store_close(s);
}

#define ASSERT_ROW(file, sql, want)                                                                \
    do {                                                                                           \
        char *got_ = sql_row(file, sql);                                                           \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* ---- day_summary: the roll-up of whole days ------------------------------------------------ */

/* day_summary's figures, and the same from the calls, jobs and scores themselves (each day's
 * counts and sums; its top and bottom agent of those with 3 scored calls or more, by their mean
 * total, the smaller id on a tie) */
#define SUMMARY_DUMP                                                                               \
    "SELECT day, total_calls, analysed, skipped, errors, scored, score_sum, score_min, "           \
    "score_max, flagged, greeting_sum, greeting_n, partial_n, partial_sum, top_agent, top_n, "     \
    "top_sum, bottom_agent, bottom_n, bottom_sum FROM day_summary ORDER BY day"
#define BY_AGENT(order, what)                                                                      \
    "(SELECT " what " FROM calls c2 JOIN scores s2 ON s2.call_id = c2.id WHERE c2.day = c.day "    \
    "AND c2.agent_user IS NOT NULL AND c2.agent_user != '' AND s2.total_score IS NOT NULL GROUP "  \
    "BY c2.agent_user HAVING COUNT(*) >= 3 ORDER BY AVG(s2.total_score) " order                    \
    ", c2.agent_user LIMIT 1)"
#define SUMMARY_BY_HAND                                                                                                                                                                                                 \
    "SELECT c.day, COUNT(*), COUNT(a.id), SUM(CASE WHEN j.state = 'skipped' THEN 1 ELSE 0 END), "                                                                                                                       \
    "SUM(CASE WHEN j.state = 'error' THEN 1 ELSE 0 END), COUNT(sc.total_score), "                                                                                                                                       \
    "COALESCE(SUM(sc.total_score), 0.0), MIN(sc.total_score), MAX(sc.total_score), "                                                                                                                                    \
    "COALESCE(SUM(sc.flagged), 0), COALESCE(SUM(sc.greeting), 0.0), COUNT(sc.greeting), "                                                                                                                               \
    "COUNT(sc.partial_score), COALESCE(SUM(sc.partial_score), 0.0), " BY_AGENT(                                                                                                                                         \
        "DESC",                                                                                                                                                                                                         \
        "c2.agent_user") ", " BY_AGENT("DESC",                                                                                                                                                                          \
                                       "COUNT(*)") ", " BY_AGENT("DESC",                                                                                                                                                \
                                                                 "SUM(s2.total_"                                                                                                                                        \
                                                                 "score)") ", " BY_AGENT("ASC",                                                                                                                         \
                                                                                         "c2."                                                                                                                          \
                                                                                         "agent_"                                                                                                                       \
                                                                                         "user") ", " BY_AGENT("ASC",                                                                                                   \
                                                                                                               "COUNT(*)") ", " BY_AGENT("ASC",                                                                         \
                                                                                                                                         "SUM(s2.total_score)") " FROM calls c JOIN jobs j ON j.call_id = c.id LEFT "   \
                                                                                                                                                                "JOIN analyses a ON a.call_id = c.id LEFT JOIN scores " \
                                                                                                                                                                "sc ON sc.call_id = c.id GROUP BY c.day ORDER BY c.day"

/* Every job claimable now, through to its end: the call's total from totals[call id] (< 0: the
 * job skipped instead), flagged under 60, a greeting score, a partial score. */
static int work_all(store *s, const double *totals, int n_totals, double t)
{
    int done = 0;
    store_lease l;
    while (store_job_claim(s, "w", t, 60, &l) == 1) {
        assert_true(l.call_id >= 1 && l.call_id < n_totals);
        double total = totals[l.call_id];
        if (total < 0) {
            assert_int_equal(store_job_skip(s, &l, "too short: 5 s", t + 1), STORE_OK);
            done++;
            continue;
        }
        store_figures f = {.legs = 2, .mos = {NAN, NAN}, .duration_sec = 60};
        assert_int_equal(store_job_analysed(s, &l, "e1", "{}", &f, JOB_TRANSCRIBING, t + 1),
                         STORE_OK);
        assert_int_equal(
            store_job_advance(s, &l, JOB_TRANSCRIBED, "transcribe", "not_configured", t + 2),
            STORE_OK);
        assert_int_equal(store_job_advance(s, &l, JOB_SCORING, NULL, NULL, t + 3), STORE_OK);
        store_score sc = {.has_total = true,
                          .total_score = total,
                          .has_partial = true,
                          .partial_score = total,
                          .coverage = 1,
                          .flagged = total < 60,
                          .flag_reason = total < 60 ? "Score below 60" : NULL,
                          .scorecard = "default",
                          .backend = "rules"};
        sc.has_cat[0] = true, sc.cat[0] = total >= 80 ? 5 : 3;
        assert_int_equal(store_job_scored(s, &l, &sc, t + 4), STORE_OK);
        done++;
    }
    return done;
}

static void summary_agrees(const char *file, const char *want_best)
{
    char *kept = sql_rows(file, SUMMARY_DUMP, "|", 100);
    char *by_hand = sql_rows(file, SUMMARY_BY_HAND, "|", 100);
    assert_string_equal(kept, by_hand);
    free(kept), free(by_hand);
    char *best = sql_rows(file, "SELECT day, top_agent, bottom_agent FROM day_summary ORDER BY day",
                          "|", 100);
    assert_string_equal(best, want_best);
    free(best);
}

typedef struct summary_rows {
    char line[1024];
} summary_rows;

static int summary_row(void *user, const store_val *c, int n)
{
    summary_rows *o = user;
    const char *day = NULL, *top = NULL;
    int64_t calls = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(c[i].name, "day") && c[i].t == SV_TEXT)
            day = c[i].s;
        if (!strcmp(c[i].name, "top_agent") && c[i].t == SV_TEXT)
            top = c[i].s;
        if (!strcmp(c[i].name, "total_calls") && c[i].t == SV_INT)
            calls = c[i].i;
    }
    size_t k = strlen(o->line);
    snprintf(o->line + k, sizeof(o->line) - k, "%s=%lld,%s;", day ? day : "?", (long long)calls,
             top ? top : "null");
    return 0;
}

/* day_summary (one row a day, kept by the roll-ups) equals what a query over the calls, jobs and
 * scores gives, after the calls' first results, after a re-queue (the jobs pending again, their
 * old scores kept until replaced), and after they are scored again with other totals; a day
 * recomputed whole gives the same row; SQ_DAY_SUMMARY reads it. */
static void test_day_summary(void **state)
{
    (void)state;
    store *s = fresh("summary.db");
    static const struct {
        const char *day, *agent;
        double first, again; /* < 0: skipped */
    } k_calls[] = {
        /* 2026-11-20: dee best (90); ann and bob tied lowest (70): ann, the smaller id; cy has
         * 2 scored calls only, the call with no agent counts in the totals alone */
        {"2026-11-20 09:00:00", "ann", 60, 40},
        {"2026-11-20 09:05:00", "ann", 70, 50},
        {"2026-11-20 09:10:00", "ann", 80, 60},
        {"2026-11-20 10:00:00", "bob", 70, 100},
        {"2026-11-20 10:05:00", "bob", 70, 100},
        {"2026-11-20 10:10:00", "bob", 70, 100},
        {"2026-11-20 11:00:00", "cy", 99, 99},
        {"2026-11-20 11:05:00", "cy", 99, 99},
        {"2026-11-20 12:00:00", "dee", 90, 90},
        {"2026-11-20 12:05:00", "dee", 85, 85},
        {"2026-11-20 12:10:00", "dee", 95, 95},
        {"2026-11-20 13:00:00", "", 10, 10},
        {"2026-11-20 13:05:00", "ann", -1, -1},
        /* 2026-11-21: nobody with 3 scored calls */
        {"2026-11-21 09:00:00", "ann", 55, 55},
        {"2026-11-21 09:05:00", "bob", 65, 65},
        {"2026-11-21 09:10:00", "bob", -1, -1},
    };
    enum { N = sizeof(k_calls) / sizeof(k_calls[0]) };
    double first[N + 1], again[N + 1];
    for (int k = 0; k < N; k++) {
        char rid[16];
        snprintf(rid, sizeof(rid), "d%d", k);
        store_call c = a_call("uk", rid, k_calls[k].day, k_calls[k].agent);
        int64_t id;
        bool created;
        assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
        assert_true(id >= 1 && id <= N);
        first[id] = k_calls[k].first, again[id] = k_calls[k].again;
    }
    /* queued only: the days' calls, no agent ranked */
    summary_agrees("summary.db", "2026-11-20|null|null;2026-11-21|null|null");
    assert_int_equal(work_all(s, first, N + 1, 200), N);
    summary_agrees("summary.db", "2026-11-20|dee|ann;2026-11-21|null|null");
    ASSERT_ROW("summary.db",
               "SELECT total_calls, skipped, scored, score_sum, flagged, top_n, top_sum, bottom_n, "
               "bottom_sum FROM day_summary WHERE day = '2026-11-20'",
               "13|1|12|898.0|1|3|270.0|3|210.0");
    /* the whole day recomputed: the same row */
    char *before = sql_rows("summary.db", SUMMARY_DUMP, "|", 100);
    assert_int_equal(store_rollup_day(s, "2026-11-20"), 0);
    char *after = sql_rows("summary.db", SUMMARY_DUMP, "|", 100);
    assert_string_equal(before, after);
    free(before), free(after);
    /* re-queued: the jobs complete pending again (the two skipped stay skipped) */
    assert_int_equal(store_requeue(s, 0, 300), N - 2);
    int64_t counts[JOB_N_STATES];
    assert_int_equal(store_job_counts(s, counts, 0, NULL), 0);
    assert_int_equal(counts[JOB_PENDING], N - 2);
    summary_agrees("summary.db", "2026-11-20|dee|ann;2026-11-21|null|null");
    /* scored again: bob's 100s on top, ann's lower scores at the bottom, counted once */
    assert_int_equal(work_all(s, again, N + 1, 400), N - 2);
    summary_agrees("summary.db", "2026-11-20|bob|ann;2026-11-21|null|null");
    ASSERT_ROW("summary.db",
               "SELECT total_calls, scored, score_sum, flagged, top_n, top_sum, bottom_n, "
               "bottom_sum FROM day_summary WHERE day = '2026-11-20'",
               "13|12|928.0|3|3|300.0|3|150.0");
    /* the daily summary's query */
    summary_rows got = {""};
    store_val p[2] = {SV_S("2026-11-01"), SV_S("2026-11-30")};
    if (store_query(s, SQ_DAY_SUMMARY, p, 2, summary_row, &got) != 0)
        fail_msg("%s", store_errmsg(s));
    assert_string_equal(got.line, "2026-11-20=13,bob;2026-11-21=3,null;");
    store_close(s);
}

/* A claimed job analysed and moved to `scoring`, as the worker leaves it for the scorer. */
static void to_scoring(store *s, store_lease *l, double t)
{
    assert_int_equal(store_job_claim(s, "w", t, 60, l), 1);
    store_figures f = {.legs = 2, .one_way = 0, .mos = {NAN, NAN}, .duration_sec = 60};
    assert_int_equal(store_job_analysed(s, l, "e1", "{}", &f, JOB_TRANSCRIBING, t + 1), STORE_OK);
    assert_int_equal(
        store_job_advance(s, l, JOB_TRANSCRIBED, "transcribe", "not_configured", t + 2), STORE_OK);
    assert_int_equal(store_job_advance(s, l, JOB_SCORING, NULL, NULL, t + 3), STORE_OK);
}

typedef struct ovr_rows {
    int n;
    char line[8][120];
} ovr_rows;

static int ovr_row(void *user, const store_val *c, int n)
{
    ovr_rows *o = user;
    if (o->n >= 8)
        return 1;
    char *out = o->line[o->n++];
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(out);
        if (c[i].t == SV_TEXT)
            snprintf(out + k, 120 - k, "%s%s", i ? "|" : "", c[i].s);
        else if (c[i].t == SV_INT)
            snprintf(out + k, 120 - k, "%s%lld", i ? "|" : "", (long long)c[i].i);
        else if (c[i].t == SV_REAL)
            snprintf(out + k, 120 - k, "%s%g", i ? "|" : "", c[i].d);
        else
            snprintf(out + k, 120 - k, "%snull", i ? "|" : "");
    }
    return 0;
}

static int leader_row(void *user, const store_val *c, int n)
{
    char *out = user;
    size_t k = strlen(out);
    const store_val *a = NULL;
    double calls = -1, on = -1, os = -1;
    for (int i = 0; i < n; i++) {
        double v = c[i].t == SV_INT ? (double)c[i].i : c[i].t == SV_REAL ? c[i].d : -1;
        if (!strcmp(c[i].name, "agent_user"))
            a = &c[i];
        else if (!strcmp(c[i].name, "calls"))
            calls = v;
        else if (!strcmp(c[i].name, "partial_only_n"))
            on = v;
        else if (!strcmp(c[i].name, "partial_only_sum"))
            os = v;
    }
    snprintf(out + k, 200 - k, "%s=%g,%g,%g;", a && a->t == SV_TEXT ? a->s : "?", calls, on, os);
    return 0;
}

/* ann's two calls on 2026-11-20: one with a total (78), one partial-only (58). The leaderboard
 * lists her with min_calls 1 (her total) and with min_calls 2 only when asked for the agents of
 * partial-only calls; a store of before migration 22 (the partial-only figures' columns
 * dropped, the version set back) has them filled from its scores when opened. */
static void partial_only_leaderboard(store *s)
{
    char got[200] = "";
    store_val p[4] = {SV_S("2026-11-01"), SV_S("2026-11-30"), SV_I(1), SV_I(0)};
    assert_int_equal(store_query(s, SQ_LEADERBOARD, p, 4, leader_row, got), 0);
    assert_string_equal(got, "ann=1,1,58;");
    got[0] = 0, p[2] = SV_I(2);
    assert_int_equal(store_query(s, SQ_LEADERBOARD, p, 4, leader_row, got), 0);
    assert_string_equal(got, "");
    p[3] = SV_I(1);
    assert_int_equal(store_query(s, SQ_LEADERBOARD, p, 4, leader_row, got), 0);
    assert_string_equal(got, "ann=1,1,58;");
}

static void partial_only_migrated(const char *file, const char *day_row)
{
    /* back to version 21 (the store closed), then opened again */
    char *u = store_uri(file), msg[600];
    db *d = db_open(u, msg, sizeof(msg));
    if (!d)
        fail_msg("%s", msg);
    bool pg = db_get_dialect(d) == DB_PG;
    if (db_exec(d,
                "DROP INDEX daily_stats_agents; ALTER TABLE daily_stats DROP COLUMN "
                "partial_only_n; ALTER TABLE daily_stats DROP COLUMN partial_only_sum; "
                "ALTER TABLE day_summary DROP COLUMN partial_only_n; ALTER TABLE day_summary "
                "DROP COLUMN partial_only_sum; CREATE INDEX daily_stats_agents ON daily_stats "
                "(day, agent_user, scored, score_sum, score_min, score_max, flagged)") != DB_OK ||
        db_exec(d, pg ? "UPDATE callqa_schema SET version = 21" : "PRAGMA user_version = 21") !=
            DB_OK)
        fail_msg("%s", db_errmsg(d));
    db_close(d);
    store *again = store_open(u, msg, sizeof(msg));
    if (!again)
        fail_msg("%s", msg);
    free(u);
    ASSERT_ROW(file, day_row, "1|78.0|2|136.0|1|58.0");
    ASSERT_ROW(file,
               "SELECT partial_only_n, partial_only_sum FROM daily_stats WHERE agent_user = "
               "'ann'",
               "1|58.0");
    store_close(again);
}

/* Scores under the lease: fencing, refused values, NULL categories kept NULL, the job complete,
 * the roll-up's category sums and counts of the scored categories only; the pass-through without
 * a scorecard; overrides and the agreement figures; LLM requests and a day's use. */
static void test_scores(void **state)
{
    (void)state;
    store *s = fresh("scores.db");
    int64_t id;
    bool created;
    const char *agents[3] = {"ann", "ann", "bob"};
    for (int k = 0; k < 3; k++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "s%d", k);
        store_call c = a_call("uk", rid, "2026-11-20 09:30:00", agents[k]);
        assert_int_equal(store_call_put(s, &c, 100, &id, &created), 0);
    }
    /* A: every category (total 20 x 3.9 = 78) */
    store_lease la;
    to_scoring(s, &la, 200);
    store_score a = {.has_total = true,
                     .total_score = 78,
                     .has_partial = true,
                     .partial_score = 78,
                     .coverage = 1,
                     .summary = "Fine call.",
                     .strengths = "[\"warm greeting\"]",
                     .improvements = "[]",
                     .llm_provider = "anthropic",
                     .llm_model = "m1",
                     .scorecard = "default",
                     .backend = "anthropic",
                     .scorecard_hash = "c0ffee",
                     .provider_hash = "beef",
                     .topic_class = "cards",
                     .topic_subclass = "lost card",
                     .detail = "{\"categories\":{\"greeting\":{\"score\":4}}}"};
    const double sa[8] = {4, 5, 3, 4, 4, 3, 5, 5};
    for (int k = 0; k < 8; k++)
        a.has_cat[k] = true, a.cat[k] = sa[k];
    store_lease stale = la;
    stale.token--;
    assert_int_equal(store_job_scored(s, &stale, &a, 210), STORE_FENCED);
    ASSERT_ROW("scores.db", "SELECT COUNT(*) FROM scores", "0");
    /* refused whole: malformed JSON, a number that is not one; nothing stored, the job waits */
    store_score bad = a;
    bad.strengths = "warm greeting";
    assert_int_equal(store_job_scored(s, &la, &bad, 210), STORE_ERR);
    assert_non_null(strstr(store_errmsg(s), "strengths is not a JSON array"));
    bad = a;
    bad.cat[2] = NAN;
    assert_int_equal(store_job_scored(s, &la, &bad, 210), STORE_ERR);
    assert_non_null(strstr(store_errmsg(s), "needs is not a finite number"));
    bad = a;
    bad.coverage = 1.5;
    assert_int_equal(store_job_scored(s, &la, &bad, 210), STORE_ERR);
    ASSERT_ROW("scores.db", "SELECT COUNT(*), (SELECT state FROM jobs WHERE id = 1) FROM scores",
               "0|scoring");
    assert_int_equal(store_job_scored(s, &la, &a, 210), STORE_OK);
    assert_int_equal(la.state, JOB_COMPLETE);
    /* B: rules only; needs, product and resolution not scored: NULL, never 0 */
    store_lease lb;
    to_scoring(s, &lb, 300);
    store_score b = {.has_partial = true,
                     .partial_score = 58,
                     .coverage = 0.5,
                     .flagged = true,
                     .flag_reason = "Score 58 below 60; critical: greeting, closing",
                     .scorecard = "default",
                     .backend = "rules",
                     .scorecard_hash = "c0ffee",
                     .detail = "{\"categories\":{\"needs\":{\"score\":null}}}"};
    const double sb[8] = {2, 3, NAN, NAN, 4, NAN, 1, 5};
    for (int k = 0; k < 8; k++)
        b.has_cat[k] = !isnan(sb[k]), b.cat[k] = b.has_cat[k] ? sb[k] : 0;
    assert_int_equal(store_job_scored(s, &lb, &b, 310), STORE_OK);
    /* C: no scorecard configured: the pass-through, no scores row */
    store_lease lc;
    to_scoring(s, &lc, 400);
    assert_int_equal(store_job_advance(s, &lc, JOB_COMPLETE, "score", "not_configured", 410),
                     STORE_OK);
    char q[600];
    snprintf(q, sizeof(q),
             "SELECT total_score, partial_score, coverage, flagged, flag_reason, greeting, "
             "needs, product, resolution, closing, summary, strengths, llm_provider, "
             "scorecard_hash, provider_hash, topic_class, day FROM scores WHERE call_id = %lld",
             (long long)lb.call_id);
    ASSERT_ROW("scores.db", q,
               "null|58.0|0.5|1|Score 58 below 60; critical: greeting, closing|2.0|null|null|"
               "null|1.0|null|null|null|c0ffee|null|null|2026-11-20");
    snprintf(q, sizeof(q),
             "SELECT total_score, needs, strengths, improvements, llm_model, topic_subclass, "
             "provider_hash FROM scores WHERE call_id = %lld",
             (long long)la.call_id);
    ASSERT_ROW("scores.db", q, "78.0|3.0|[\"warm greeting\"]|[]|m1|lost card|beef");
    snprintf(q, sizeof(q), "SELECT state, stages FROM jobs WHERE call_id = %lld",
             (long long)la.call_id);
    ASSERT_ROW("scores.db", q,
               "complete|{\"analyse\":\"done\",\"transcribe\":\"not_configured\",\"score\":"
               "\"done\"}");
    snprintf(q, sizeof(q), "SELECT state, stages FROM jobs WHERE call_id = %lld",
             (long long)lc.call_id);
    ASSERT_ROW("scores.db", q,
               "complete|{\"analyse\":\"done\",\"transcribe\":\"not_configured\",\"score\":"
               "\"not_configured\"}");
    /* ann's roll-up: one total (78), both partial scores (78 + 58), each category over the
     * calls that scored it: greeting (4 + 2) / 2, needs 3 / 1, closing (5 + 1) / 2 */
    const char *roll = "SELECT scored, score_sum, flagged, cat_greeting_sum, cat_greeting_n, "
                       "cat_needs_sum, cat_needs_n, cat_product_n, cat_resolution_sum, "
                       "cat_resolution_n, cat_closing_sum, cat_closing_n, cat_compliance_sum, "
                       "cat_compliance_n, partial_n, partial_sum, partial_only_n, "
                       "partial_only_sum FROM daily_stats WHERE agent_user = '%s'";
    /* and apart, the partial-only call (58, no total) */
    snprintf(q, sizeof(q), roll, "ann");
    ASSERT_ROW("scores.db", q, "1|78.0|1|6.0|2|3.0|1|1|3.0|1|6.0|2|10.0|2|2|136.0|1|58.0");
    snprintf(q, sizeof(q), roll, "bob");
    ASSERT_ROW("scores.db", q, "0|0.0|0|0.0|0|0.0|0|0|0.0|0|0.0|0|0.0|0|0|0.0|0|0.0");
    const char *day_row = "SELECT scored, score_sum, partial_n, partial_sum, partial_only_n, "
                          "partial_only_sum FROM day_summary WHERE day = '2026-11-20'";
    ASSERT_ROW("scores.db", day_row, "1|78.0|2|136.0|1|58.0");
    partial_only_leaderboard(s);
    /* recomputing the day gives the same rows */
    const char *dump = "SELECT agent_user, scored, score_sum, cat_greeting_sum, cat_greeting_n, "
                       "cat_needs_n, partial_n, partial_sum FROM daily_stats ORDER BY agent_user";
    char *before = sql_rows("scores.db", dump, "|", 100);
    assert_int_equal(store_rollup_day(s, "2026-11-20"), 0);
    char *after = sql_rows("scores.db", dump, "|", 100);
    assert_string_equal(before, after);
    free(before), free(after);
    ASSERT_ROW("scores.db",
               "SELECT value FROM counters WHERE name = 'qa_jobs_finished_total' AND labels = "
               "'state=\"complete\"'",
               "3.0");

    /* overrides: not on a call without scores; 1-5 only; the newest per category shown */
    assert_int_equal(store_score_override(s, lc.call_id, "greeting", 3, "sue", NULL, 500), 0);
    assert_int_equal(store_score_override(s, la.call_id, "greeting", 6, "sue", NULL, 500), -1);
    assert_int_equal(store_score_override(s, la.call_id, "greeting", 3, "", NULL, 500), -1);
    assert_int_equal(store_score_override(s, la.call_id, "Greeting!", 3, "sue", NULL, 500), -1);
    assert_int_equal(store_score_override(s, la.call_id, "greeting", 3, "sue", "too kind", 500), 1);
    const char *cats[2] = {"greeting", "customer_id"};
    const int sc2[2] = {4, 5};
    assert_int_equal(store_score_overrides(s, la.call_id, cats, sc2, 2, "tom", NULL, 501), 1);
    const char *cb[2] = {"needs", "closing"};
    const int sb2[2] = {3, 3};
    assert_int_equal(store_score_overrides(s, lb.call_id, cb, sb2, 2, "tom", "listened", 502), 1);
    ovr_rows o = {0};
    store_val p1[1] = {SV_I(la.call_id)};
    assert_int_equal(store_query(s, SQ_OVERRIDES, p1, 1, ovr_row, &o), 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.line[0], "customer_id|5|tom|null|501");
    assert_string_equal(o.line[1], "greeting|4|tom|null|501");
    /* the automatic scores are unchanged */
    snprintf(q, sizeof(q), "SELECT greeting, customer_id FROM scores WHERE call_id = %lld",
             (long long)la.call_id);
    ASSERT_ROW("scores.db", q, "4.0|5.0");
    /* agreement: greeting 4 = 4, customer_id 5 = 5; closing 3 against 1; needs has no
     * automatic score to compare */
    memset(&o, 0, sizeof(o));
    store_val p2[2] = {SV_S("2026-11-01"), SV_S("2026-11-30")};
    assert_int_equal(store_query(s, SQ_AGREEMENT, p2, 2, ovr_row, &o), 0);
    assert_int_equal(o.n, 4);
    assert_string_equal(o.line[0], "closing|1|1|0|0|2");
    assert_string_equal(o.line[1], "customer_id|1|1|1|1|0");
    assert_string_equal(o.line[2], "greeting|1|1|1|1|0");
    assert_string_equal(o.line[3], "needs|1|0|0|0|null");
    memset(&o, 0, sizeof(o));
    store_val p3[2] = {SV_S("2026-12-01"), SV_S("2026-12-31")};
    assert_int_equal(store_query(s, SQ_AGREEMENT, p3, 2, ovr_row, &o), 0);
    assert_int_equal(o.n, 0);

    /* LLM requests: one row each, a day's use for the caps, the counters */
    struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = 20, .tm_hour = 12, .tm_isdst = -1};
    double noon = (double)mktime(&tm);
    store_llm_call r1 = {.ts = noon,
                         .call_id = la.call_id,
                         .purpose = "score",
                         .provider = "anthropic",
                         .model = "m1",
                         .input_tokens = 1200,
                         .output_tokens = 300,
                         .latency_sec = 2.5,
                         .cost_usd = 0.012,
                         .outcome = "ok"};
    store_llm_call r2 = {.ts = noon + 60,
                         .purpose = "ai-analyze",
                         .provider = "my \"llm\"",
                         .input_tokens = -1,
                         .output_tokens = -1,
                         .latency_sec = 30,
                         .cost_usd = -1,
                         .outcome = "timeout"};
    store_llm_call r3 = r1;
    r3.ts = noon + 86400;
    assert_int_equal(store_llm_record(s, &r1), 0);
    assert_int_equal(store_llm_record(s, &r2), 0);
    assert_int_equal(store_llm_record(s, &r3), 0);
    long long tokens;
    double cost;
    assert_int_equal(store_llm_usage_day(s, "2026-11-20", &tokens, &cost), 0);
    assert_int_equal(tokens, 1500);
    assert_true(fabs(cost - 0.012) < 1e-12);
    assert_int_equal(store_llm_usage_day(s, "2026-11-19", &tokens, &cost), 0);
    assert_int_equal(tokens, 0);
    assert_true(cost == 0);
    ASSERT_ROW("scores.db",
               "SELECT call_id, input_tokens, cost_usd, outcome, day FROM llm_calls WHERE "
               "purpose = 'ai-analyze'",
               "null|null|null|timeout|2026-11-20");
    char *llm_counters = sql_rows("scores.db",
                                  "SELECT name || '{' || labels || '}=', value FROM counters "
                                  "WHERE name LIKE 'qa_llm%' ORDER BY name, labels",
                                  "", 100);
    assert_string_equal(
        llm_counters,
        "qa_llm_cost_usd_total{provider=\"anthropic\"}=0.024;"
        "qa_llm_latency_seconds_count{provider=\"anthropic\"}=2.0;"
        "qa_llm_latency_seconds_count{provider=\"my__llm_\"}=1.0;"
        "qa_llm_latency_seconds_sum{provider=\"anthropic\"}=5.0;"
        "qa_llm_latency_seconds_sum{provider=\"my__llm_\"}=30.0;"
        "qa_llm_requests_total{purpose=\"ai-analyze\",provider=\"my__llm_\",outcome="
        "\"timeout\"}=1.0;"
        "qa_llm_requests_total{purpose=\"score\",provider=\"anthropic\",outcome=\"ok\"}=2.0;"
        "qa_llm_tokens_total{provider=\"anthropic\",direction=\"input\"}=2400.0;"
        "qa_llm_tokens_total{provider=\"anthropic\",direction=\"output\"}=600.0");
    free(llm_counters);
    store_close(s);
    partial_only_migrated("scores.db", day_row);
}

/* Level envelopes: stored with the analysis in its transaction (a fenced write stores none),
 * replaced by the next one, removed by an analysis without one; put on their own, refused for
 * a call that does not exist. */
static void test_envelopes(void **state)
{
    (void)state;
    store *s = fresh("env.db");
    store_call c1 = a_call("uk", "e1", "2026-11-20 10:00:00", "ann");
    int64_t id1;
    bool created;
    assert_int_equal(store_call_put(s, &c1, 100, &id1, &created), 0);
    store_envelope got;
    assert_int_equal(store_envelope_get(s, id1, &got), 0);
    assert_null(got.legs);
    store_lease l;
    assert_int_equal(store_job_claim(s, "w1", 200, 60, &l), 1);
    store_figures f = {.legs = 2, .one_way = 0, .mos = {NAN, NAN}};
    const char *legs = "{\"inbound\":[-1000,-231,-45],\"outbound\":[-1000,-1000,-600]}";
    store_envelope env = {.call_id = l.call_id, .step_sec = 0.05, .legs = (char *)legs};
    store_lease stale = l;
    stale.token--;
    assert_int_equal(store_job_analysed_env(s, &stale, "e1", "{}", &f, &env, JOB_TRANSCRIBING, 201),
                     STORE_FENCED);
    assert_int_equal(store_envelope_get(s, id1, &got), 0);
    assert_int_equal(store_job_analysed_env(s, &l, "e1", "{}", &f, &env, JOB_TRANSCRIBING, 201),
                     STORE_OK);
    assert_int_equal(store_envelope_get(s, id1, &got), 1);
    assert_int_equal(got.call_id, id1);
    assert_true(got.step_sec == 0.05);
    assert_string_equal(got.legs, legs);
    free(got.legs);
    char *row = sql_row("env.db", "SELECT call_id, step_sec, created FROM call_envelopes");
    char want[64];
    snprintf(want, sizeof(want), "%lld|0.05|201.0", (long long)id1);
    assert_string_equal(row, want);
    free(row);
    /* on its own: replaced */
    store_envelope e2 = {.call_id = id1, .step_sec = 0.1, .legs = "{\"inbound\":[-300]}"};
    assert_int_equal(store_envelope_put(s, &e2, 300), STORE_OK);
    assert_int_equal(store_envelope_get(s, id1, &got), 1);
    assert_true(got.step_sec == 0.1);
    assert_string_equal(got.legs, "{\"inbound\":[-300]}");
    free(got.legs);
    /* refused: no such call, no step, no legs */
    store_envelope bad = e2;
    bad.call_id = id1 + 1000;
    assert_int_equal(store_envelope_put(s, &bad, 300), STORE_ERR);
    assert_non_null(strstr(store_errmsg(s), "no call"));
    bad = e2;
    bad.step_sec = 0;
    assert_int_equal(store_envelope_put(s, &bad, 300), STORE_ERR);
    bad = e2;
    bad.legs = NULL;
    assert_int_equal(store_envelope_put(s, &bad, 300), STORE_ERR);
    /* the call analysed again, without an envelope: the old one goes with the old analysis */
    assert_int_equal(store_job_advance(s, &l, JOB_COMPLETE, "score", "not_configured", 250),
                     STORE_OK);
    assert_int_equal(store_requeue(s, 0, 400), 1);
    assert_int_equal(store_job_claim(s, "w1", 401, 60, &l), 1);
    assert_int_equal(store_job_analysed(s, &l, "e2", "{}", &f, JOB_TRANSCRIBING, 402), STORE_OK);
    assert_int_equal(store_envelope_get(s, id1, &got), 0);
    store_close(s);
}

/* v14: users, their tokens' hashes, and the audit trail that the database itself keeps
 * append-only (a trigger refuses UPDATE and DELETE, in SQLite and PostgreSQL alike). */
static void test_users_and_audit(void **state)
{
    (void)state;
    store *s = fresh("users.db");
    int64_t id = 0, id2 = 0;
    assert_int_equal(store_user_add(s, "ann", "agent", "", "$argon2id$fake", 100, &id), 0);
    assert_true(id > 0);
    assert_int_equal(store_user_add(s, "ann", "admin", "", NULL, 101, &id2), 1); /* taken */
    assert_int_equal(store_user_add(s, "sue", "supervisor", "campaign:C1", NULL, 102, &id2), 0);
    store_user u;
    assert_int_equal(store_user_get(s, "ann", 0, &u), 1);
    assert_int_equal(u.id, id);
    assert_string_equal(u.role, "agent");
    assert_string_equal(u.password, "$argon2id$fake");
    assert_false(u.disabled);
    assert_int_equal(store_user_get(s, NULL, id2, &u), 1);
    assert_string_equal(u.name, "sue");
    assert_string_equal(u.scopes, "campaign:C1");
    assert_string_equal(u.password, ""); /* none */
    assert_int_equal(store_user_get(s, "nobody", 0, &u), 0);
    store_user *all = NULL;
    int n = 0;
    assert_int_equal(store_user_list(s, &all, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "ann");
    assert_string_equal(all[1].name, "sue");
    free(all);
    assert_int_equal(u.cred_epoch, 0);
    assert_int_equal(store_user_set_disabled(s, "ann", true), 1);
    assert_int_equal(store_user_set_disabled(s, "nobody", true), 0);
    assert_int_equal(store_user_get(s, "ann", 0, &u), 1);
    assert_true(u.disabled);
    assert_int_equal(u.cred_epoch, 1); /* v18: a disable ends the sessions made before */
    assert_int_equal(store_user_set_password(s, "sue", "$argon2id$other"), 1);
    assert_int_equal(store_token_add(s, id2, "ab12", "ci", 103), 0);
    assert_int_equal(store_token_user(s, "ab12", &u), 1);
    assert_string_equal(u.name, "sue");
    assert_string_equal(u.password, "$argon2id$other");
    assert_int_equal(u.cred_epoch, 1); /* and so does a new password */
    assert_int_equal(store_token_user(s, "ab13", &u), 0);
    assert_int_not_equal(store_token_add(s, id2, "ab12", "again", 104), 0); /* hashes unique */
    /* tokens are revoked one by one or all together, never by a new password */
    assert_int_equal(store_token_add(s, id2, "cd34", "second", 105), 0);
    assert_int_equal(store_token_add(s, id, "ef56", "ann's", 106), 0);
    assert_int_equal(store_token_revoke(s, id2, 999), 0);
    assert_int_equal(store_token_revoke(s, id, 1), 0); /* sue's first token is not ann's */
    assert_int_equal(store_token_user(s, "ab12", &u), 1);
    assert_int_equal(store_token_revoke(s, id2, 1), 1);
    assert_int_equal(store_token_user(s, "ab12", &u), 0);
    assert_int_equal(store_token_user(s, "cd34", &u), 1);
    assert_int_equal(store_token_revoke(s, id2, 0), 1);
    assert_int_equal(store_token_user(s, "cd34", &u), 0);
    assert_int_equal(store_token_user(s, "ef56", &u), 1);

    store_audit_row a = {.ts = 200,
                         .who = "sue",
                         .role = "supervisor",
                         .action = "listen",
                         .target = "R1",
                         .client = "127.0.0.1",
                         .status = 200};
    assert_int_equal(store_audit_append(s, &a), 0);
    a.ts = 201, a.action = "search", a.target = "refund", a.client = NULL, a.status = 200;
    assert_int_equal(store_audit_append(s, &a), 0);
    /* a group commit: every entry or none */
    store_audit_row many[3] = {a, a, a};
    many[0].action = "list", many[0].target = "R7";
    many[1].action = "list", many[1].target = "R8";
    many[2].action = "list", many[2].target = "R9";
    assert_int_equal(store_audit_append_many(s, many, 3), 0);
    many[1].action = NULL; /* NOT NULL: the second fails, the first is not kept either */
    assert_int_not_equal(store_audit_append_many(s, many, 2), 0);
    char *rows = sql_rows("users.db",
                          "SELECT who, action, target, client FROM audit_log ORDER BY id", "|", 10);
    assert_string_equal(rows, "sue|listen|R1|127.0.0.1;sue|search|refund|null;sue|list|R7|null;"
                              "sue|list|R8|null;sue|list|R9|null");
    free(rows);
    /* the database refuses to change or remove an entry, whoever asks */
    char *u_ = store_uri("users.db"), msg[600];
    db *d = db_open(u_, msg, sizeof(msg));
    assert_non_null(d);
    assert_int_not_equal(db_exec(d, "UPDATE audit_log SET who = 'x'"), DB_OK);
    assert_non_null(strstr(db_errmsg(d), "append-only"));
    assert_int_not_equal(db_exec(d, "DELETE FROM audit_log"), DB_OK);
    assert_non_null(strstr(db_errmsg(d), "append-only"));
    db_close(d);
    free(u_);
    rows = sql_rows("users.db", "SELECT COUNT(*), MIN(who), MAX(who) FROM audit_log", "|", 1);
    assert_string_equal(rows, "5|sue|sue");
    free(rows);
    store_close(s);
}

/* v18: a pause mark keeps who sent it and the scope they sent it under; the reader applies only
 * those its filter keeps, counted before the cap (an out-of-scope sender cannot crowd out the
 * marks that apply). */
static bool keep_not_x(void *user, const char *scope)
{
    (*(int *)user)++;
    return !scope || strcmp(scope, "agent:x");
}

static void test_marks_senders(void **state)
{
    (void)state;
    store *s = fresh("marks.db");
    assert_int_equal(store_mark_add(s, "U1", true, 10, 100, "x", "10.0.0.9", "agent:x"), 0);
    assert_int_equal(store_mark_add(s, "U1", true, 11, 100, "x", "10.0.0.9", "agent:x"), 0);
    assert_int_equal(store_mark_add(s, "R1", true, 20, 100, "ann", "10.0.0.5", "agent:ann"), 0);
    assert_int_equal(store_mark_add(s, "U1", false, 30, 100, "token", "10.0.0.6", NULL), 0);
    assert_int_equal(store_mark_add(s, "U2", true, 40, 100, "ann", "10.0.0.5", "agent:ann"), 0);
    store_mark m[1];
    int calls = 0;
    /* R1 and U1 name the same call: four marks, two of x's left out, then a cap of one */
    assert_int_equal(store_marks_get(s, "R1", "U1", keep_not_x, &calls, m, 1), 2);
    assert_int_equal(calls, 4);
    assert_true(m[0].pause);
    assert_float_equal(m[0].ts, 20, 1e-9);
    assert_int_equal(store_marks_get(s, "R1", "U1", NULL, NULL, m, 1), 4);
    char *rows =
        sql_rows("marks.db", "SELECT who, client, scope FROM redact_marks ORDER BY id", "|", 10);
    assert_string_equal(rows, "x|10.0.0.9|agent:x;x|10.0.0.9|agent:x;ann|10.0.0.5|agent:ann;"
                              "token|10.0.0.6|null;ann|10.0.0.5|agent:ann");
    free(rows);
    store_close(s);
}

/* v16: agents' voice profiles: the running mean per agent and campaign, one transaction per
 * call; erased with the agent (every campaign), logged without the print. */
static void test_voice_profiles(void **state)
{
    (void)state;
    store *s = fresh("vp.db");
    store_voice_profile p;
    assert_int_equal(store_voice_profile_get(s, "ann", "BANK", &p), 0);
    double a[3] = {1, 2, 3}, b[3] = {3, 4, 5}, c[3] = {5, 0, 1};
    int64_t calls = 0;
    assert_int_equal(store_voice_profile_add(s, "ann", "BANK", a, 3, 4.0, 100, &calls), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(store_voice_profile_add(s, "ann", "BANK", b, 3, 6.0, 200, &calls), 0);
    assert_int_equal(store_voice_profile_add(s, "ann", "BANK", c, 3, 2.0, 300, &calls), 0);
    assert_int_equal(calls, 3);
    assert_int_equal(store_voice_profile_get(s, "ann", "BANK", &p), 1);
    assert_int_equal(p.dim, 3);
    assert_int_equal(p.calls, 3);
    assert_float_equal(p.v[0], 3.0, 1e-9); /* (1 + 3 + 5) / 3 */
    assert_float_equal(p.v[1], 2.0, 1e-9);
    assert_float_equal(p.v[2], 3.0, 1e-9);
    assert_float_equal(p.speech_sec, 12.0, 1e-9);
    assert_float_equal(p.updated, 300, 1e-9);
    /* another campaign, another agent: profiles of their own */
    assert_int_equal(store_voice_profile_add(s, "ann", "SALES", c, 3, 2.0, 300, NULL), 0);
    assert_int_equal(store_voice_profile_add(s, "bob", "BANK", c, 3, 2.0, 300, NULL), 0);
    assert_int_equal(store_voice_profile_get(s, "ann", "SALES", &p), 1);
    assert_int_equal(p.calls, 1);
    /* refused: no agent, a number that is not finite */
    double bad[1] = {NAN};
    assert_int_equal(store_voice_profile_add(s, "", "BANK", a, 3, 1, 1, NULL), -1);
    assert_int_equal(store_voice_profile_add(s, "ann", "BANK", bad, 1, 1, 1, NULL), -1);
    /* erasure: a dry run counts, the erasure deletes every campaign's and logs it */
    int n = 0;
    assert_int_equal(store_voice_profile_erase(s, "ann", true, 400, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_voice_profile_get(s, "ann", "BANK", &p), 1);
    assert_int_equal(store_voice_profile_erase(s, "ann", false, 400, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_voice_profile_get(s, "ann", "BANK", &p), 0);
    assert_int_equal(store_voice_profile_get(s, "ann", "SALES", &p), 0);
    assert_int_equal(store_voice_profile_get(s, "bob", "BANK", &p), 1);
    store_close(s);
    char *rows =
        sql_rows("vp.db", "SELECT what, why, call_id IS NULL, detail FROM deletions", "|", 5);
    assert_string_equal(rows, "voice_profile|erasure|1|{\"what\":\"voice_profile\",\"campaigns\":"
                              "[\"BANK\",\"SALES\"],\"profiles\":2,\"calls_in_them\":4}");
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_wave1),
        cmocka_unit_test(test_enqueue_idempotent),
        cmocka_unit_test(test_leases_and_fencing),
        cmocka_unit_test(test_retry_error_skip),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_results_and_rollups),
        cmocka_unit_test(test_rollup_mos_models_apart),
        cmocka_unit_test(test_call_moves_day),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_day_summary),
        cmocka_unit_test(test_ingest_lease_and_events),
        cmocka_unit_test(test_transcripts),
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_users_and_audit),
        cmocka_unit_test(test_marks_senders),
        cmocka_unit_test(test_voice_profiles),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
