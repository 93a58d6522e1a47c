/*
 * store.c - the store object (store.h) and the helpers every file of src/store/ runs its SQL
 * with (store_int.h): the lock, statements, one transaction with its retries and kill point.
 * SQL with bound parameters only; each function holds the store's lock for its statements, and
 * the ones that change several tables run in one transaction (store__in_tx).
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "store_int.h"

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

int store_wal_manual(store *s)
{
    if (db_get_dialect(s->d) != DB_SQLITE)
        return 0;
    pthread_mutex_lock(&s->mu);
    int rc = db_exec(s->d, "PRAGMA wal_autocheckpoint = 0") == DB_OK
                 ? 1
                 : store__fail(s, "turning the automatic checkpoints off");
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_checkpoint(store *s, int64_t *wal_frames, int64_t *copied)
{
    *wal_frames = *copied = 0;
    if (db_get_dialect(s->d) != DB_SQLITE)
        return 0;
    db_stmt *st = store__begin(s, Q_WAL_CHECKPOINT, "PRAGMA wal_checkpoint(PASSIVE)");
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc == DB_ROW)
        *wal_frames = db_col_int(st, 1), *copied = db_col_int(st, 2);
    int res = rc == DB_ROW ? 0 : store__fail(s, "checkpointing the write-ahead log");
    store__end(s, st);
    return res;
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
db_stmt *store__stmt(store *s, int key, const char *sql)
{
    db_stmt *st = db_stmt_get(s->d, key, sql);
    if (!st)
        store__fail(s, "preparing a statement");
    return st;
}

/* Run a statement that returns no rows; DB_DONE expected. */
int store__run(store *s, db_stmt *st, const char *what)
{
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, what);
}

int store__tx_begin(store *s)
{
    pthread_mutex_lock(&s->mu);
    if (db_begin(s->d) == DB_OK)
        return 0;
    store__fail(s, "starting a transaction");
    pthread_mutex_unlock(&s->mu);
    return -1;
}

int store__tx_end(store *s, int res, const char *what)
{
    if (res == 0 && db_commit(s->d) != DB_OK)
        res = store__fail(s, what);
    if (res != 0)
        db_rollback(s->d);
    pthread_mutex_unlock(&s->mu);
    return res;
}

int store__feed(store *s, int key, const char *sql, int64_t after_id, int max,
                void (*row)(db_stmt *st, void *out, int i), void *out, int *n, const char *what)
{
    *n = 0;
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_int(st, 2, max);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < max)
        row(st, out, (*n)++);
    int res = rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, what);
    store__end(s, st);
    return res;
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
void store__bind_num(db_stmt *st, int n, double v)
{
    if (v >= 0 && isfinite(v))
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

int store__local_day(store *s, double ts, char day[11], const char *what)
{
    struct tm lt;
    time_t t = isfinite(ts) ? (time_t)ts : 0;
    if (isfinite(ts) && localtime_r(&t, &lt) && strftime(day, 11, "%Y-%m-%d", &lt) == 10)
        return 0;
    pthread_mutex_lock(&s->mu);
    snprintf(s->err, sizeof(s->err), "%s: its time is not a date", what);
    pthread_mutex_unlock(&s->mu);
    return -1;
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
int store__in_tx(store *s, const char *label, int (*f)(store *, void *), void *arg)
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
