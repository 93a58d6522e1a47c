/*
 * store_copy.c - store_copy() (store.h): a SQLite store copied into a PostgreSQL one, resumable,
 * then verified by counts and checksums (`callqa store migrate`, docs/scale.md).
 *
 * DESIGN
 * The tables are listed once, below, in foreign-key order. A table is read from the source in
 * rowid order (every table of a SQLite store has one, the FTS5 table too), a batch at a time;
 * each batch is written to the target in one transaction together with the table's progress
 * row (callqa_copy: the last rowid copied and the rows written), so that the progress row
 * always says exactly what the target holds. A copy killed anywhere goes on, when run again,
 * after the last batch committed; a row is never written twice (and if it were, the target's
 * primary key would refuse it rather than keep two). The columns are the source table's own,
 * by name; the values are bound with the type the source holds (SQLite's dynamic typing may
 * keep an integral REAL in an INTEGER column: PostgreSQL's assignment casts take it).
 *
 * The source is held in one write transaction (BEGIN IMMEDIATE) from the start to the end of
 * the verification: nobody can change it meanwhile (a worker's write waits, then fails), so
 * that what is verified is what the source holds when the copy ends. The target is held by a
 * session advisory lock, so that two copies into one database cannot run at once.
 *
 * The checksum is computed here in C on both sides, from the rows in key order (text keys in
 * byte order: PostgreSQL's "C" collation, SQLite's BINARY), each value canonical: NULL, an
 * integer or an integral real as the integer, another real as %.17g, text as its length and
 * bytes. A value that changed type, digit or byte on the way changes the checksum.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "store_int.h"

/* A table of the store: its name on each side, its key (the checksum's order) on each side,
 * and whether its `id` is an identity column whose sequence must move past the rows copied. */
typedef struct copy_table {
    const char *lite, *pg;
    const char *order_lite, *order_pg;
    bool identity;
} copy_table;

/* Every table of the schema (store_schema.c), parents before the tables that refer to them. */
static const copy_table k_tables[] = {
    {"calls", "calls", "id", "id", true},
    {"jobs", "jobs", "id", "id", true},
    {"analyses", "analyses", "id", "id", true},
    {"call_envelopes", "call_envelopes", "call_id", "call_id", false},
    {"transcripts", "transcripts", "call_id", "call_id", false},
    {"transcript_fts", "transcript_segments", "call_id, seg", "call_id, seg", false},
    {"scores", "scores", "call_id", "call_id", false},
    {"score_overrides", "score_overrides", "id", "id", true},
    {"llm_calls", "llm_calls", "id", "id", true},
    {"ask_log", "ask_log", "id", "id", true},
    {"workers", "workers", "id", "id COLLATE \"C\"", false},
    {"ingest_sources", "ingest_sources", "source", "source COLLATE \"C\"", false},
    {"job_events", "job_events", "id", "id", true},
    {"daily_stats", "daily_stats", "day, source, agent_user, campaign_id",
     "day COLLATE \"C\", source COLLATE \"C\", agent_user COLLATE \"C\", campaign_id COLLATE \"C\"",
     false},
    {"day_summary", "day_summary", "day", "day COLLATE \"C\"", false},
    {"counters", "counters", "name, labels", "name COLLATE \"C\", labels COLLATE \"C\"", false},
    {"audio_roots", "audio_roots", "root", "root COLLATE \"C\"", false},
    {"deletions", "deletions", "id", "id", true},
    {"redact_marks", "redact_marks", "id", "id", true},
    {"users", "users", "id", "id", true},
    {"user_tokens", "user_tokens", "id", "id", true},
    {"audit_log", "audit_log", "id", "id", true},
    {"voice_profiles", "voice_profiles", "agent, campaign",
     "agent COLLATE \"C\", campaign COLLATE \"C\"", false},
    {"call_files", "call_files", "call_id, path", "call_id, path COLLATE \"C\"", false},
    {"call_attempts", "call_attempts", "source, uniqueid",
     "source COLLATE \"C\", uniqueid COLLATE \"C\"", false},
    {"route_hourly", "route_hourly", "dim, name, hour",
     "dim COLLATE \"C\", name COLLATE \"C\", hour COLLATE \"C\"", false},
    {"route_daily", "route_daily", "dim, name, day",
     "dim COLLATE \"C\", name COLLATE \"C\", day COLLATE \"C\"", false},
    {"route_causes", "route_causes", "dim, name, day, kind, cause",
     "dim COLLATE \"C\", name COLLATE \"C\", day COLLATE \"C\", kind COLLATE \"C\", cause "
     "COLLATE \"C\"",
     false},
    {"route_changes", "route_changes", "dim, name, figure, t_start",
     "dim COLLATE \"C\", name COLLATE \"C\", figure COLLATE \"C\", t_start", false},
};
#define N_TABLES (sizeof(k_tables) / sizeof(k_tables[0]))

/* The tables SQLite keeps for an FTS5 table T (T_data, ...): not copied (the target has its
 * own index). */
static const char *const k_fts_shadow[] = {"_data", "_idx", "_content", "_docsize", "_config"};

/* Statement keys: six per table, then the copy's own. */
enum { K_COLS, K_COUNT, K_READ, K_INSERT, K_SUM, K_SETVAL, K_PER_TABLE };
#define TKEY(t, k) (Q_COPY_FIRST + (int)(t)*K_PER_TABLE + (k))
enum {
    K_LOCK = Q_COPY_FIRST + (int)N_TABLES * K_PER_TABLE,
    K_TABLES,
    K_PROGRESS,
    K_PROGRESS_PUT,
    K_OTHER_SOURCE,
    K_FETCH,
    K_USER_VERSION,
    K_END
};
static_assert(Q_QUERY_FIRST + SQ_N < Q_COPY_FIRST, "statement keys overlap");
static_assert((int)K_END <= (int)Q_CALLS_FIRST &&
                  (int)Q_CALLS_FIRST + 2 * (int)STORE_SORT_N <= (int)Q_RETAIN_FIRST,
              "statement keys overlap");
static_assert(K_END <= DB_MAX_STMTS, "statement keys past db.h's DB_MAX_STMTS");

/* The advisory lock of a copy into a database (store_schema.c's migration lock is 7461, 1). */
#define PG_COPY_LOCK "7461, 2"
#define MAX_COLS 64
#define FETCH_ROWS 1000
#define FETCH_SQL "FETCH 1000 FROM callqa_verify" /* FETCH_ROWS rows */

typedef struct table_state {
    int ncol;           /* the source's columns */
    char collist[3072]; /* their names, "\"a\", \"b\", ...", in the source's order: the same on
                           both sides */
    bool have_progress;
    int64_t last_rowid; /* the progress row: the last source rowid copied */
    int64_t done_rows;  /*   and the rows the copy wrote */
} table_state;

typedef struct copier {
    store *src, *dst;
    db *s, *d;
    int batch;
    store_copy_progress_fn fn;
    void *user;
    char source[PATH_MAX]; /* the source file's real path, kept in the progress rows */
    table_state t[N_TABLES];
    char *msg;
    size_t msgsz;
} copier;

__attribute__((format(printf, 2, 3))) static int fail(copier *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

static void report(copier *c, size_t ti, const char *phase, int64_t rows, int64_t source_rows,
                   int64_t copied, double sec, const char *sha)
{
    if (!c->fn)
        return;
    store_copy_progress p = {.table = k_tables[ti].lite,
                             .phase = phase,
                             .rows = rows,
                             .source_rows = source_rows,
                             .copied = copied,
                             .sec = sec,
                             .sha256 = sha};
    c->fn(c->user, &p);
}

/* One integer from a statement's first row (param: NULL, or text bound as $1). 0 or -1. */
static int scalar(db *d, int key, const char *sql, const char *param, int64_t *out)
{
    db_stmt *st = db_stmt_get(d, key, sql);
    if (!st)
        return -1;
    if (param)
        db_bind_text(st, 1, param);
    int rc = db_step(st);
    if (rc == DB_ROW)
        *out = db_col_int(st, 0);
    db_reset(st);
    return rc == DB_ROW ? 0 : -1;
}

/* A column name the copy may put into SQL: lower-case letters, digits and '_'. */
static bool ident_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
            return false;
    return true;
}

/* ---- what the two stores hold ------------------------------------------------------------ */

/* The source is a callqa store: its schema version, or one of callqa's tables (a store of
 * wave 1 had no version). Checked before store_open, which would add callqa's tables to any
 * SQLite file. */
static int check_source_is_store(copier *c, const char *from, const char *path)
{
    char m[512];
    db *d = db_open(from, m, sizeof(m));
    if (!d)
        return fail(c, "the source store %s: %s", path, m);
    int64_t version = 0, tables = 0;
    int rc = scalar(d, K_USER_VERSION, "PRAGMA user_version", NULL, &version);
    if (rc == 0)
        rc = scalar(d, K_TABLES,
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('analyses', 'calls')",
                    NULL, &tables);
    if (rc != 0)
        fail(c, "the source store %s: %s", path, db_errmsg(d));
    else if (version == 0 && tables == 0)
        rc = fail(c, "the source %s is not a callqa store (it has none of callqa's tables)", path);
    db_close(d);
    return rc;
}

/* Every table of the source is one the copy knows: nothing is left behind. */
static int check_source_tables(copier *c)
{
    db_stmt *st = db_stmt_get(c->s, K_TABLES,
                              "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    if (!st)
        return fail(c, "reading the source's tables: %s", db_errmsg(c->s));
    int rc;
    char unknown[128] = "";
    while ((rc = db_step(st)) == DB_ROW) {
        const char *n = db_col_text(st, 0);
        if (!n || !strncmp(n, "sqlite_", 7))
            continue;
        bool known = false;
        for (size_t i = 0; i < N_TABLES && !known; i++) {
            size_t len = strlen(k_tables[i].lite);
            if (!strcmp(n, k_tables[i].lite))
                known = true;
            for (size_t k = 0; !known && k < sizeof(k_fts_shadow) / sizeof(k_fts_shadow[0]); k++)
                known = !strncmp(n, k_tables[i].lite, len) && !strcmp(n + len, k_fts_shadow[k]);
        }
        if (!known && !unknown[0])
            snprintf(unknown, sizeof(unknown), "%s", n);
    }
    db_reset(st);
    if (rc != DB_DONE)
        return fail(c, "reading the source's tables: %s", db_errmsg(c->s));
    if (unknown[0])
        return fail(c,
                    "the source has a table %s that is not one of callqa's: the copy would leave "
                    "it behind (drop it from the source, or copy it by other means first)",
                    unknown);
    return 0;
}

/* The source table's columns (its order), and the same names on the target. */
static int load_columns(copier *c, size_t ti)
{
    const copy_table *t = &k_tables[ti];
    table_state *ts = &c->t[ti];
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT * FROM %s LIMIT 0", t->lite);
    db_stmt *st = db_stmt_get(c->s, TKEY(ti, K_COLS), sql);
    if (!st)
        return fail(c, "reading the columns of %s in the source: %s", t->lite, db_errmsg(c->s));
    int rc = db_step(st);
    int n = db_col_count(st);
    if (rc != DB_DONE || n <= 0 || n > MAX_COLS) {
        db_reset(st);
        return fail(c, "reading the columns of %s in the source: %s", t->lite,
                    rc != DB_DONE ? db_errmsg(c->s) : "too many columns");
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const char *name = db_col_name(st, i);
        if (!ident_ok(name)) {
            db_reset(st);
            return fail(c, "the source's %s has a column named '%s', which callqa's schema has not",
                        t->lite, name ? name : "");
        }
        int w =
            snprintf(ts->collist + at, sizeof(ts->collist) - at, "%s\"%s\"", i ? ", " : "", name);
        if (w < 0 || (size_t)w >= sizeof(ts->collist) - at) {
            db_reset(st);
            return fail(c, "the source's %s has too many columns", t->lite);
        }
        at += (size_t)w;
    }
    ts->ncol = n;
    db_reset(st);
    /* the same columns on the target (it may have more: transcript_segments' tsvector) */
    char *q = NULL;
    if (asprintf(&q, "SELECT %s FROM %s LIMIT 0", ts->collist, t->pg) < 0)
        return fail(c, "out of memory");
    st = db_stmt_get(c->d, TKEY(ti, K_COLS), q);
    rc = st ? db_step(st) : DB_ERROR;
    if (st)
        db_reset(st);
    free(q);
    if (rc != DB_DONE)
        return fail(c, "the target's %s lacks columns of the source's %s: %s", t->pg, t->lite,
                    db_errmsg(c->d));
    return 0;
}

static int count_rows(copier *c, bool target, size_t ti, int64_t *n)
{
    const copy_table *t = &k_tables[ti];
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", target ? t->pg : t->lite);
    db *d = target ? c->d : c->s;
    if (scalar(d, TKEY(ti, K_COUNT), sql, NULL, n) != 0)
        return fail(c, "counting the rows of %s in the %s: %s", target ? t->pg : t->lite,
                    target ? "target" : "source", db_errmsg(d));
    return 0;
}

/* ---- the copy ------------------------------------------------------------------------------ */

static int read_progress(copier *c, size_t ti)
{
    table_state *ts = &c->t[ti];
    db_stmt *st =
        db_stmt_get(c->d, K_PROGRESS, "SELECT last_rowid, n_rows FROM callqa_copy WHERE tbl = $1");
    if (!st)
        return fail(c, "reading the copy's progress: %s", db_errmsg(c->d));
    db_bind_text(st, 1, k_tables[ti].lite);
    int rc = db_step(st);
    ts->have_progress = rc == DB_ROW;
    ts->last_rowid = rc == DB_ROW ? db_col_int(st, 0) : INT64_MIN;
    ts->done_rows = rc == DB_ROW ? db_col_int(st, 1) : 0;
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return fail(c, "reading the copy's progress: %s", db_errmsg(c->d));
    return 0;
}

/* The target holds only what this copy wrote (or nothing), and no copy of another source. */
static int check_target(copier *c)
{
    db_stmt *st = db_stmt_get(c->d, K_OTHER_SOURCE,
                              "SELECT source FROM callqa_copy WHERE source <> $1 LIMIT 1");
    if (!st)
        return fail(c, "reading the copy's progress: %s", db_errmsg(c->d));
    db_bind_text(st, 1, c->source);
    int rc = db_step(st);
    char other[PATH_MAX + 1] = "";
    if (rc == DB_ROW)
        store__col_copy(st, 0, other, sizeof(other));
    db_reset(st);
    if (rc == DB_ROW)
        return fail(c,
                    "the target holds a copy from %s, not from %s: resume it with that source, "
                    "or copy into an empty database",
                    other, c->source);
    if (rc != DB_DONE)
        return fail(c, "reading the copy's progress: %s", db_errmsg(c->d));
    for (size_t ti = 0; ti < N_TABLES; ti++) {
        int64_t n = 0;
        if (read_progress(c, ti) != 0 || count_rows(c, true, ti, &n) != 0)
            return -1;
        const table_state *ts = &c->t[ti];
        if (n != ts->done_rows && !ts->have_progress)
            return fail(c,
                        "the target's %s already holds %" PRId64 " row%s that this copy did "
                        "not write (a store in use?): copy into an empty database",
                        k_tables[ti].pg, n, n == 1 ? "" : "s");
        if (n != ts->done_rows)
            return fail(c,
                        "the target's %s holds %" PRId64 " rows where this copy wrote %" PRId64
                        ": something else wrote to it since; copy into an empty database",
                        k_tables[ti].pg, n, ts->done_rows);
    }
    return 0;
}

/* The value of column i of `from` bound as parameter n of `to`, with its type. */
static void bind_from(db_stmt *to, int n, db_stmt *from, int i)
{
    switch (db_col_type(from, i)) {
    case DB_T_INT: db_bind_int(to, n, db_col_int(from, i)); break;
    case DB_T_REAL: db_bind_double(to, n, db_col_double(from, i)); break;
    case DB_T_TEXT: db_bind_text(to, n, db_col_text(from, i)); break;
    default: db_bind_null(to, n);
    }
}

/* One batch: up to c->batch rows after the progress row's rowid, with the progress row, in one
 * transaction left open for the caller to commit. The rows written, with *last the rowid of the
 * last one (0: the table is done, nothing open), or -1. */
static int copy_batch(copier *c, size_t ti, const char *read_sql, const char *ins_sql,
                      int64_t *last_out)
{
    const copy_table *t = &k_tables[ti];
    table_state *ts = &c->t[ti];
    db_stmt *rd = db_stmt_get(c->s, TKEY(ti, K_READ), read_sql);
    if (!rd)
        return fail(c, "reading %s from the source: %s", t->lite, db_errmsg(c->s));
    db_bind_int(rd, 1, ts->last_rowid);
    db_bind_int(rd, 2, c->batch);
    if (db_begin(c->d) != DB_OK) {
        db_reset(rd);
        return fail(c, "copying %s: starting a transaction on the target: %s", t->lite,
                    db_errmsg(c->d));
    }
    int n = 0, rc;
    int64_t last = ts->last_rowid;
    while ((rc = db_step(rd)) == DB_ROW) {
        int64_t rowid = db_col_int(rd, 0);
        db_stmt *ins = db_stmt_get(c->d, TKEY(ti, K_INSERT), ins_sql);
        if (!ins)
            break;
        for (int i = 0; i < ts->ncol; i++)
            bind_from(ins, i + 1, rd, i + 1);
        int irc = db_step(ins);
        db_reset(ins);
        if (irc != DB_DONE) {
            db_reset(rd);
            fail(c, "copying %s: the source's row %" PRId64 ": %s", t->lite, rowid,
                 db_errmsg(c->d));
            db_rollback(c->d);
            return -1;
        }
        last = rowid;
        n++;
    }
    db_reset(rd);
    if (rc != DB_DONE) {
        if (rc == DB_ROW)
            fail(c, "copying %s: %s", t->lite, db_errmsg(c->d));
        else
            fail(c, "reading %s from the source: %s", t->lite, db_errmsg(c->s));
        db_rollback(c->d);
        return -1;
    }
    if (n == 0) {
        db_rollback(c->d);
        return 0;
    }
    db_stmt *pr = db_stmt_get(c->d, K_PROGRESS_PUT,
                              "INSERT INTO callqa_copy (tbl, source, last_rowid, n_rows, started, "
                              "updated) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (tbl) DO "
                              "UPDATE SET last_rowid = excluded.last_rowid, n_rows = "
                              "excluded.n_rows, updated = excluded.updated");
    int prc = DB_ERROR;
    if (pr) {
        db_bind_text(pr, 1, t->lite);
        db_bind_text(pr, 2, c->source);
        db_bind_int(pr, 3, last);
        db_bind_int(pr, 4, ts->done_rows + n);
        db_bind_double(pr, 5, cq_clock_wall_sec());
        prc = db_step(pr);
        db_reset(pr);
    }
    if (prc != DB_DONE) {
        fail(c, "copying %s: writing the progress row: %s", t->lite, db_errmsg(c->d));
        db_rollback(c->d);
        return -1;
    }
    *last_out = last;
    return n;
}

static int copy_table_rows(copier *c, size_t ti)
{
    const copy_table *t = &k_tables[ti];
    table_state *ts = &c->t[ti];
    int64_t total = 0;
    if (count_rows(c, false, ti, &total) != 0)
        return -1;
    char *read_sql = NULL, *ins_sql = NULL;
    char params[MAX_COLS * 6 + 1];
    size_t at = 0;
    for (int i = 0; i < ts->ncol; i++)
        at += (size_t)snprintf(params + at, sizeof(params) - at, "%s$%d", i ? ", " : "", i + 1);
    if (asprintf(&read_sql, "SELECT rowid, %s FROM %s WHERE rowid > $1 ORDER BY rowid LIMIT $2",
                 ts->collist, t->lite) < 0)
        return fail(c, "out of memory");
    if (asprintf(&ins_sql, "INSERT INTO %s (%s) VALUES (%s)", t->pg, ts->collist, params) < 0) {
        free(read_sql);
        return fail(c, "out of memory");
    }
    double t0 = cq_clock_mono_sec();
    int64_t copied = 0;
    int rc = 0;
    for (int batches = 1;; batches++) {
        int64_t last = 0;
        int n = copy_batch(c, ti, read_sql, ins_sql, &last);
        if (n <= 0) {
            rc = n;
            break;
        }
        char label[96];
        snprintf(label, sizeof(label), "copy:%s:%d", t->lite, batches);
        store__kill_point("commit", label); /* "commit:copy:TABLE:N": before the commit */
        if (db_commit(c->d) != DB_OK) {
            rc = fail(c, "copying %s: committing a batch: %s", t->lite, db_errmsg(c->d));
            db_rollback(c->d);
            break;
        }
        store__kill_point("copy", label + 5); /* "copy:TABLE:N": after it */
        ts->have_progress = true;
        ts->last_rowid = last;
        ts->done_rows += n;
        copied += n;
        report(c, ti, "batch", ts->done_rows, total, copied, cq_clock_mono_sec() - t0, NULL);
        if (n < c->batch)
            break;
    }
    free(read_sql);
    free(ins_sql);
    if (rc != 0) {
        size_t len = strlen(c->msg);
        snprintf(c->msg + len, c->msgsz - len,
                 " (the batches committed stay: once the cause is fixed, the same command goes "
                 "on from there)");
    }
    if (rc == 0)
        report(c, ti, "copied", ts->done_rows, total, copied, cq_clock_mono_sec() - t0, NULL);
    return rc;
}

/* The id sequence past the largest id (a new row on the target must not take a copied id). */
static int move_sequence(copier *c, size_t ti)
{
    const copy_table *t = &k_tables[ti];
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM "
             "%s), 0) + 1, false)",
             t->pg, t->pg);
    int64_t v;
    if (scalar(c->d, TKEY(ti, K_SETVAL), sql, NULL, &v) != 0)
        return fail(c, "moving the id sequence of %s: %s", t->pg, db_errmsg(c->d));
    return 0;
}

/* ---- the checksums ------------------------------------------------------------------------ */

static void hash_value(struct sha256_ctx *h, db_stmt *st, int i)
{
    char b[48];
    int n;
    switch (db_col_type(st, i)) {
    case DB_T_NULL: sha256_update(h, 1, (const uint8_t *)"N"); return;
    case DB_T_INT: n = snprintf(b, sizeof(b), "I%" PRId64 ";", db_col_int(st, i)); break;
    case DB_T_REAL: {
        double v = db_col_double(st, i);
        if (isfinite(v) && v == trunc(v) && fabs(v) < 9.2e18)
            n = snprintf(b, sizeof(b), "I%lld;", (long long)v);
        else
            n = snprintf(b, sizeof(b), "R%.17g;", v);
        break;
    }
    default: {
        const char *t = db_col_text(st, i);
        size_t len = t ? strlen(t) : 0;
        n = snprintf(b, sizeof(b), "T%zu:", len);
        sha256_update(h, (size_t)n, (const uint8_t *)b);
        sha256_update(h, len, (const uint8_t *)(t ? t : ""));
        return;
    }
    }
    sha256_update(h, (size_t)n, (const uint8_t *)b);
}

/* Rows of a result hashed, up to its end; the number of rows, or -1 (DB error). */
static int64_t hash_rows(struct sha256_ctx *h, db_stmt *st, int ncol)
{
    int64_t n = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        for (int i = 0; i < ncol; i++)
            hash_value(h, st, i);
        n++;
    }
    return rc == DB_DONE ? n : -1;
}

static void hex(const uint8_t *d, char out[2 * SHA256_DIGEST_SIZE + 1])
{
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The source table's rows and checksum (in the source's transaction). */
static int sum_source(copier *c, size_t ti, int64_t *rows, char sha[65])
{
    const copy_table *t = &k_tables[ti];
    char *sql = NULL;
    if (asprintf(&sql, "SELECT %s FROM %s ORDER BY %s", c->t[ti].collist, t->lite, t->order_lite) <
        0)
        return fail(c, "out of memory");
    db_stmt *st = db_stmt_get(c->s, TKEY(ti, K_SUM), sql);
    free(sql);
    if (!st)
        return fail(c, "reading %s from the source: %s", t->lite, db_errmsg(c->s));
    struct sha256_ctx h;
    sha256_init(&h);
    *rows = hash_rows(&h, st, c->t[ti].ncol);
    db_reset(st);
    if (*rows < 0)
        return fail(c, "reading %s from the source: %s", t->lite, db_errmsg(c->s));
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&h, sizeof(d), d);
    hex(d, sha);
    return 0;
}

/* The target table's rows and checksum, through a cursor (a result is read whole by db_pg.c:
 * a table of millions of rows is read FETCH_ROWS at a time). */
static int sum_target(copier *c, size_t ti, int64_t *rows, char sha[65])
{
    const copy_table *t = &k_tables[ti];
    char *sql = NULL;
    if (asprintf(&sql, "DECLARE callqa_verify NO SCROLL CURSOR FOR SELECT %s FROM %s ORDER BY %s",
                 c->t[ti].collist, t->pg, t->order_pg) < 0)
        return fail(c, "out of memory");
    int rc = db_begin(c->d) == DB_OK && db_exec(c->d, sql) == DB_OK ? 0 : -1;
    free(sql);
    if (rc != 0) {
        fail(c, "reading %s from the target: %s", t->pg, db_errmsg(c->d));
        db_rollback(c->d);
        return -1;
    }
    struct sha256_ctx h;
    sha256_init(&h);
    *rows = 0;
    for (;;) {
        db_stmt *st = db_stmt_get(c->d, K_FETCH, FETCH_SQL);
        int64_t n = st ? hash_rows(&h, st, c->t[ti].ncol) : -1;
        if (st)
            db_reset(st);
        if (n < 0) {
            fail(c, "reading %s from the target: %s", t->pg, db_errmsg(c->d));
            db_rollback(c->d);
            return -1;
        }
        *rows += n;
        if (n < FETCH_ROWS)
            break;
    }
    db_rollback(c->d); /* read only: the cursor goes with the transaction */
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&h, sizeof(d), d);
    hex(d, sha);
    return 0;
}

/* Every table compared; 0 all equal, 1 some differ (msg names them), -1 error. */
static int verify(copier *c)
{
    char bad[1024] = "";
    size_t at = 0;
    for (size_t ti = 0; ti < N_TABLES; ti++) {
        const copy_table *t = &k_tables[ti];
        int64_t ns = 0, nt = 0;
        char ss[65], st[65];
        double t0 = cq_clock_mono_sec();
        if (sum_source(c, ti, &ns, ss) != 0 || sum_target(c, ti, &nt, st) != 0)
            return -1;
        if (ns == nt && !strcmp(ss, st)) {
            report(c, ti, "verified", nt, ns, 0, cq_clock_mono_sec() - t0, ss);
            continue;
        }
        char why[160];
        if (ns != nt)
            snprintf(why, sizeof(why),
                     "%s: %" PRId64 " rows in the source, %" PRId64 " in the target", t->lite, ns,
                     nt);
        else
            snprintf(why, sizeof(why), "%s: %" PRId64 " rows on each side, their checksums differ",
                     t->lite, ns);
        int w = snprintf(bad + at, sizeof(bad) - at, "%s%s", at ? "; " : "", why);
        if (w > 0 && (size_t)w < sizeof(bad) - at)
            at += (size_t)w;
    }
    if (!at)
        return 0;
    snprintf(c->msg, c->msgsz, "not verified: %s", bad);
    return 1;
}

/* ---- store_copy ------------------------------------------------------------------------- */

static int run(copier *c, const store_copy_opts *o)
{
    int64_t locked = 0;
    if (scalar(c->d, K_LOCK, "SELECT pg_try_advisory_lock(" PG_COPY_LOCK ")::int", NULL, &locked) !=
        0)
        return fail(c, "locking the target: %s", db_errmsg(c->d));
    if (!locked)
        return fail(c, "another copy into the target database is running");
    /* the source held still, for the copy and its verification */
    if ((o->verify_only ? db_exec(c->s, "BEGIN") : db_begin(c->s)) != DB_OK)
        return fail(c,
                    "cannot hold the source store still for the copy (%s): stop the workers, "
                    "ingest and service that write to it first",
                    db_errmsg(c->s));
    if (check_source_tables(c) != 0)
        return -1;
    for (size_t ti = 0; ti < N_TABLES; ti++)
        if (load_columns(c, ti) != 0)
            return -1;
    if (!o->verify_only) {
        if (db_exec(c->d, "CREATE TABLE IF NOT EXISTS callqa_copy (tbl TEXT PRIMARY KEY, "
                          "source TEXT NOT NULL, last_rowid BIGINT NOT NULL, n_rows BIGINT NOT "
                          "NULL, started DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION "
                          "NOT NULL)") != DB_OK)
            return fail(c, "creating the copy's progress table on the target: %s", db_errmsg(c->d));
        if (check_target(c) != 0)
            return -1;
        for (size_t ti = 0; ti < N_TABLES; ti++)
            if (copy_table_rows(c, ti) != 0)
                return -1;
        for (size_t ti = 0; ti < N_TABLES; ti++)
            if (k_tables[ti].identity && move_sequence(c, ti) != 0)
                return -1;
    }
    return verify(c);
}

int store_copy(const char *from, const char *to, const store_copy_opts *opts,
               store_copy_progress_fn fn, void *user, char *msg, size_t msgsz)
{
    copier *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(msg, msgsz, "out of memory");
        return -1;
    }
    store_copy_opts o = opts ? *opts : (store_copy_opts){0};
    c->batch = o.batch_rows > 0 ? o.batch_rows : 1000;
    c->fn = fn;
    c->user = user;
    c->msg = msg;
    c->msgsz = msgsz;
    int rc = -1;
    const char *path = from && !strncmp(from, "sqlite:", 7) ? from + 7 : from;
    struct stat sb;
    char m[600];
    if (!from || !*from || db_uri_is_pg(from)) {
        fail(c, "the source must be a SQLite store (a file), not %s",
             from && *from ? from : "nothing");
    } else if (!to || !db_uri_is_pg(to)) {
        fail(c, "the target must be a PostgreSQL store (a postgresql:// URI), not %s",
             to && *to ? to : "nothing");
    } else if (o.batch_rows < 0 || o.batch_rows > 100000) {
        fail(c, "a batch is 1 to 100000 rows, not %d", o.batch_rows);
    } else if (stat(path, &sb) != 0) {
        fail(c, "the source store %s: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        fail(c, "the source store %s is not a file", path);
    } else if (!realpath(path, c->source)) {
        fail(c, "the source store %s: %s", path, strerror(errno));
    } else if (check_source_is_store(c, from, path) != 0) {
        /* said */
    } else if (!(c->src = store_open(from, m, sizeof(m)))) {
        fail(c, "the source store: %s", m);
    } else if (!(c->dst = store_open(to, m, sizeof(m)))) {
        fail(c, "the target store: %s", m);
    } else if (store_schema_version(c->src) != store_schema_version(c->dst)) {
        fail(c, "the source is at schema version %d, the target at %d",
             store_schema_version(c->src), store_schema_version(c->dst));
    } else {
        c->s = c->src->d;
        c->d = c->dst->d;
        rc = run(c, &o);
        db_rollback(c->s); /* nothing was written to the source */
    }
    store_close(c->src);
    store_close(c->dst); /* the advisory lock goes with the session */
    free(c);
    return rc;
}
