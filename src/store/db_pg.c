/*
 * db_pg.c - db.h on PostgreSQL (libpq): one connection, statements sent with their values
 * (PQexecParams: every value as text, with its type, so that the server parses each one as what
 * it is and no value is ever part of the SQL), rows read from the whole result.
 *
 * The connection string is the URI as given (postgresql://USER@HOST:PORT/DB?sslmode=...): libpq
 * reads it, and with it PGPASSFILE, ~/.pgpass, a passfile= parameter and every TLS setting
 * (sslmode, sslrootcert, sslcert, sslkey, ...). A password file that others may read is refused
 * here with a sentence, where libpq would only warn and ignore it.
 *
 * A lost connection (the server restarted, the network dropped) is reconnected on the next use,
 * with a backoff between attempts (0.25 s doubling to 30 s) so that a dead server is not hammered;
 * in the meantime every call fails at once with the reason. pg_retryable() tells the store when
 * the failed work may simply be run again: the connection was lost before a COMMIT was sent, so
 * nothing of the transaction was kept.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "db_int.h"
#include "db_pg_oid.h"

#define MAX_STMTS DB_MAX_STMTS
#define MAX_PARAMS                                                                                 \
    64 /* a row of the widest table (daily_stats: 44 columns) copied by store migrate */

typedef struct pgdb pgdb;

typedef struct pg_stmt {
    db_stmt head; /* db_int.h */
    pgdb *d;
    char *sql;
    int n;                      /* the highest parameter bound */
    char *val[MAX_PARAMS];      /* NULL: SQL NULL */
    unsigned types[MAX_PARAMS]; /* 0: the server infers it (NULLs) */
    bool bound[MAX_PARAMS];     /* a slot never bound is a parameter the SQL does not use */
    PGresult *res;
    int row, rows; /* the row read (-1 before the first step) */
} pg_stmt;

struct pgdb {
    PGconn *c;
    char *uri;
    pg_stmt stmts[MAX_STMTS];
    int64_t changes;
    bool in_tx, lost, committing;
    double retry_at, backoff; /* the next reconnection attempt, and the wait after it */
    char err[512];
};

/* libpq's message, its first line (the lines after it quote the SQL or give hints). */
static void keep_err(pgdb *d, const char *what, const char *m)
{
    if (!m || !*m)
        m = "unknown error";
    int n = (int)strcspn(m, "\r\n");
    snprintf(d->err, sizeof(d->err), "%s%s%.*s", what ? what : "", what ? ": " : "", n, m);
}

/* The password file libpq will read, when there is one: it must be the owner's alone (db.h). */
int db_pg_check_passfile(const char *uri, char *msg, size_t msgsz)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &err);
    if (!opts) {
        snprintf(msg, msgsz, "the store URI is not valid: %s", err ? err : "out of memory");
        PQfreemem(err);
        return -1;
    }
    const char *pf = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "passfile") && o->val && *o->val)
            pf = o->val;
    if (!pf)
        pf = getenv("PGPASSFILE");
    int rc = 0;
    struct stat sb;
    if (pf && *pf && stat(pf, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf(msg, msgsz,
                 "the password file %s may be read by others (mode %03o): make it "
                 "0600",
                 pf, (unsigned)(sb.st_mode & 0777));
        rc = -1;
    }
    PQconninfoFree(opts);
    return rc;
}

static void pg_close(void *h);

static PGconn *connect_to(const char *uri)
{
    /* the URI's own settings win over these defaults (later keywords override earlier ones) */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"5", "callqa", uri, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs (e.g. "relation already exists, skipping") are not errors */
}

/* The session: UTC, no notices; and neither parallel query nor JIT compilation unless the
 * server's configuration or the URI's options= chose them: callqa's queries read thousands of
 * rows, where starting parallel workers costs more than it saves (the API's daily summary: 140
 * ms with two workers, 35 ms without, on a 2-CPU machine), and where compiling a plan costs
 * more than running it (the calls list filtered by DTMF and sorted by duration, 100,000 calls:
 * 526 ms with JIT, of which 244 ms compiling, 208 ms without; measured in BENCHMARKS.md's history,
 * git log -p BENCHMARKS.md). */
static int session_setup(pgdb *d)
{
    PQsetNoticeProcessor(d->c, quiet_notice, NULL);
    PGresult *r = PQexec(d->c, "SET client_min_messages = warning; SET TIME ZONE 'UTC'; SELECT "
                               "set_config(name, CASE name WHEN 'jit' THEN 'off' ELSE '0' END, "
                               "false) FROM pg_settings WHERE name IN "
                               "('max_parallel_workers_per_gather', 'jit') AND source = 'default'");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        keep_err(d, "setting up the session", PQerrorMessage(d->c));
    PQclear(r);
    return ok ? 0 : -1;
}

static void *pg_open(const char *uri, char *msg, size_t msgsz)
{
    if (db_pg_check_passfile(uri, msg, msgsz) != 0)
        return NULL;
    pgdb *d = calloc(1, sizeof(*d));
    if (!d || !(d->uri = strdup(uri))) {
        free(d);
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    d->c = connect_to(uri);
    if (!d->c || PQstatus(d->c) != CONNECTION_OK || session_setup(d) != 0) {
        snprintf(msg, msgsz, "cannot connect to the PostgreSQL store: %s",
                 d->c ? PQerrorMessage(d->c) : "out of memory");
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = *(p + 1) ? ' ' : 0;
        pg_close(d);
        return NULL;
    }
    d->backoff = 0.25;
    return d;
}

static void stmt_clear(pg_stmt *s)
{
    for (int i = 0; i < MAX_PARAMS; i++) {
        free(s->val[i]);
        s->val[i] = NULL;
        s->types[i] = 0;
        s->bound[i] = false;
    }
    s->n = 0;
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->rows = 0;
}

static void pg_close(void *h)
{
    pgdb *d = h;
    if (!d)
        return;
    for (int i = 0; i < MAX_STMTS; i++) {
        stmt_clear(&d->stmts[i]);
        free(d->stmts[i].sql);
    }
    PQfinish(d->c);
    free(d->uri);
    free(d);
}

static const char *pg_errmsg(void *h)
{
    pgdb *d = h;
    return d->err[0] ? d->err : "no error";
}

static bool pg_retryable(void *h)
{
    pgdb *d = h;
    return d->lost && !d->committing;
}

/* The connection, back if it was lost and the backoff allows a try now. 0 or -1 (err set). */
static int alive(pgdb *d)
{
    if (PQstatus(d->c) == CONNECTION_OK)
        return 0;
    double now = cq_clock_mono_sec();
    if (now < d->retry_at) {
        keep_err(d,
                 "the PostgreSQL store is unreachable (the connection was lost; the next "
                 "attempt is due)",
                 PQerrorMessage(d->c));
        return -1;
    }
    PQreset(d->c);
    if (PQstatus(d->c) != CONNECTION_OK || session_setup(d) != 0) {
        keep_err(d, "the PostgreSQL store is unreachable", PQerrorMessage(d->c));
        d->retry_at = now + d->backoff;
        d->backoff = d->backoff * 2 > 30 ? 30 : d->backoff * 2;
        return -1;
    }
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"reconnected to the PostgreSQL store\"}\n");
    d->backoff = 0.25;
    d->retry_at = 0;
    return 0;
}

/* A failed command's result r: its message kept, a lost connection noted (the transaction, if
 * any, is gone with it; the first reconnection is tried at once); DB_BUSY for a serialization
 * failure, a deadlock or a lock not available, else DB_ERROR. */
static int failed(pgdb *d, const PGresult *r)
{
    const char *m = PQresultErrorMessage(r);
    keep_err(d, NULL, m && *m ? m : PQerrorMessage(d->c));
    if (PQstatus(d->c) != CONNECTION_OK) {
        d->lost = true;
        d->in_tx = false;
        d->retry_at = 0;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
               ? DB_BUSY
               : DB_ERROR;
}

/* A command without parameters or rows. */
static int command(pgdb *d, const char *sql)
{
    if (alive(d) != 0) {
        d->lost = true;
        return DB_ERROR;
    }
    PGresult *r = PQexec(d->c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? DB_OK : failed(d, r);
    if (rc == DB_OK)
        d->lost = false;
    PQclear(r);
    return rc;
}

static int pg_exec(void *h, const char *sql)
{
    pgdb *d = h;
    return command(d, sql);
}

static db_stmt *pg_stmt_get(void *h, int key, const char *sql)
{
    pgdb *d = h;
    pg_stmt *s = &d->stmts[key];
    if (!s->sql) {
        if (!(s->sql = strdup(sql))) {
            keep_err(d, NULL, "out of memory");
            return NULL;
        }
        s->row = -1;
    }
    s->head.ops = &db_pg_ops;
    s->d = d;
    return &s->head;
}

static void bind(pg_stmt *s, int n, char *v, unsigned type)
{
    if (n < 1 || n > MAX_PARAMS) {
        free(v);
        return;
    }
    free(s->val[n - 1]);
    s->val[n - 1] = v;
    s->types[n - 1] = v ? type : 0;
    s->bound[n - 1] = true;
    if (n > s->n)
        s->n = n;
}

static void pg_bind_int(db_stmt *ds, int n, int64_t v)
{
    pg_stmt *s = (pg_stmt *)ds;
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64, v);
    bind(s, n, strdup(b), DB_PG_OID_INT8);
}

static void pg_bind_double(db_stmt *ds, int n, double v)
{
    pg_stmt *s = (pg_stmt *)ds;
    char b[40];
    if (isnan(v))
        snprintf(b, sizeof(b), "NaN");
    else if (isinf(v))
        snprintf(b, sizeof(b), "%sInfinity", v < 0 ? "-" : "");
    else
        snprintf(b, sizeof(b), "%.17g", v);
    bind(s, n, strdup(b), DB_PG_OID_FLOAT8);
}

static void pg_bind_text(db_stmt *ds, int n, const char *v)
{
    pg_stmt *s = (pg_stmt *)ds;
    bind(s, n, v ? strdup(v) : NULL, DB_PG_OID_TEXT);
}

static void pg_bind_null(db_stmt *ds, int n)
{
    pg_stmt *s = (pg_stmt *)ds;
    bind(s, n, NULL, 0);
}

static int pg_step(db_stmt *ds)
{
    pg_stmt *s = (pg_stmt *)ds;
    pgdb *d = s->d;
    if (!s->res) {
        if (alive(d) != 0) {
            d->lost = true;
            return DB_ERROR;
        }
        for (int i = 0; i < s->n; i++)
            if (!s->bound[i])
                s->types[i] = DB_PG_OID_TEXT; /* unused by this dialect's SQL: any type will do */
        s->res =
            PQexecParams(d->c, s->sql, s->n, s->types, (const char *const *)s->val, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(s->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            int rc = failed(d, s->res);
            PQclear(s->res);
            s->res = NULL;
            return rc;
        }
        d->lost = false;
        const char *t = PQcmdTuples(s->res);
        d->changes = t && *t ? strtoll(t, NULL, 10) : 0;
        s->rows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
        s->row = -1;
    }
    if (s->row + 1 < s->rows) {
        s->row++;
        return DB_ROW;
    }
    s->row = s->rows;
    return DB_DONE;
}

static bool have_row(pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->rows && i >= 0 && i < PQnfields(s->res);
}

static const char *pg_col_text(db_stmt *ds, int i)
{
    pg_stmt *s = (pg_stmt *)ds;
    if (!have_row(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static bool is_bool(db_stmt *ds, int i)
{
    return PQftype(((pg_stmt *)ds)->res, i) == DB_PG_OID_BOOL;
}

static int64_t pg_col_int(db_stmt *ds, int i)
{
    const char *v = pg_col_text(ds, i);
    if (!v)
        return 0;
    if (is_bool(ds, i))
        return v[0] == 't';
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') /* a real column read as an integer */
        return (int64_t)strtod(v, NULL);
    return (int64_t)x;
}

static double pg_col_double(db_stmt *ds, int i)
{
    const char *v = pg_col_text(ds, i);
    if (!v)
        return 0;
    if (is_bool(ds, i))
        return v[0] == 't';
    return strtod(v, NULL);
}

static bool pg_col_null(db_stmt *ds, int i)
{
    pg_stmt *s = (pg_stmt *)ds;
    return !have_row(s, i) || PQgetisnull(s->res, s->row, i);
}

static int pg_col_count(db_stmt *ds)
{
    pg_stmt *s = (pg_stmt *)ds;
    return s->res ? PQnfields(s->res) : 0;
}

static const char *pg_col_name(db_stmt *ds, int i)
{
    pg_stmt *s = (pg_stmt *)ds;
    return s->res ? PQfname(s->res, i) : NULL;
}

static int pg_col_type(db_stmt *ds, int i)
{
    pg_stmt *s = (pg_stmt *)ds;
    if (pg_col_null(ds, i))
        return DB_T_NULL;
    switch (PQftype(s->res, i)) {
    case DB_PG_OID_BOOL:
    case DB_PG_OID_INT2:
    case DB_PG_OID_INT4:
    case DB_PG_OID_INT8:
    case DB_PG_OID_OID: return DB_T_INT;
    case DB_PG_OID_FLOAT4:
    case DB_PG_OID_FLOAT8: return DB_T_REAL;
    case DB_PG_OID_NUMERIC: {
        /* a sum of integers is numeric: an integer when it has no fraction, as SQLite gives */
        const char *v = PQgetvalue(s->res, s->row, i);
        return strpbrk(v, ".eEN") ? DB_T_REAL : DB_T_INT;
    }
    default: return DB_T_TEXT;
    }
}

static void pg_reset(db_stmt *ds)
{
    pg_stmt *s = (pg_stmt *)ds;
    stmt_clear(s);
}

static int64_t pg_changes(void *h)
{
    pgdb *d = h;
    return d->changes;
}

static int pg_begin(void *h)
{
    pgdb *d = h;
    d->committing = false; /* a COMMIT lost earlier says nothing about this transaction */
    int rc = command(d, "BEGIN");
    d->in_tx = rc == DB_OK;
    return rc;
}

static int pg_commit(void *h)
{
    pgdb *d = h;
    d->committing = true;
    int rc = command(d, "COMMIT");
    d->committing = rc != DB_OK && d->lost; /* lost during COMMIT: its outcome is unknown */
    d->in_tx = false;
    return rc;
}

static void pg_rollback(void *h)
{
    pgdb *d = h;
    if (PQstatus(d->c) == CONNECTION_OK && PQtransactionStatus(d->c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(d->c, "ROLLBACK");
        PQclear(r);
    }
    d->in_tx = false;
}

const db_ops db_pg_ops = {
    .dialect = DB_PG,
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .retryable = pg_retryable,
    .exec = pg_exec,
    .stmt_get = pg_stmt_get,
    .bind_int = pg_bind_int,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_int = pg_col_int,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .reset = pg_reset,
    .changes = pg_changes,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
};
