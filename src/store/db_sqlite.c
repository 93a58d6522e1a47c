/*
 * db_sqlite.c - db.h's SQLite backend (db_int.h): WAL, a busy timeout (several processes share one
 * file: the service, workers, ingest), statements prepared once per connection.
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

#define MAX_STMTS DB_MAX_STMTS

typedef struct lite lite;

typedef struct lite_stmt {
    db_stmt head; /* db_int.h */
    sqlite3_stmt *st;
    lite *d;
    bool in_order; /* its parameters are $1, $2, ... in that order: $n is index n */
} lite_stmt;

struct lite {
    sqlite3 *h;
    lite_stmt stmts[MAX_STMTS];
};

#define L(s) ((lite_stmt *)(s))

static void lite_close(void *h);

static void *lite_open(const char *uri, char *msg, size_t msgsz)
{
    const char *path = !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri;
    if (!*path) {
        snprintf(msg, msgsz, "no store path given");
        return NULL;
    }
    lite *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &d->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(d->h, 10000) != SQLITE_OK ||
        sqlite3_exec(d->h,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                     "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", path, d->h ? sqlite3_errmsg(d->h) : "cannot open");
        lite_close(d);
        return NULL;
    }
    return d;
}

static void lite_close(void *h)
{
    lite *d = h;
    if (!d)
        return;
    for (int i = 0; i < MAX_STMTS; i++)
        sqlite3_finalize(d->stmts[i].st);
    sqlite3_close(d->h);
    free(d);
}

static const char *lite_errmsg(void *h)
{
    lite *d = h;
    return sqlite3_errmsg(d->h);
}

static int lite_exec(void *h, const char *sql)
{
    lite *d = h;
    return sqlite3_exec(d->h, sql, NULL, NULL, NULL) == SQLITE_OK ? DB_OK : DB_ERROR;
}

static db_stmt *lite_stmt_get(void *h, int key, const char *sql)
{
    lite *d = h;
    lite_stmt *s = &d->stmts[key];
    if (!s->st) {
        if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) !=
            SQLITE_OK) {
            s->st = NULL;
            return NULL;
        }
        /* once, when prepared: whether $n is the n-th parameter throughout, so that binding
         * needs no look-up (each is a walk of the names: quadratic in a statement of many
         * rows' values) */
        s->in_order = true;
        for (int i = 1, n = sqlite3_bind_parameter_count(s->st); i <= n && s->in_order; i++) {
            char name[16];
            const char *at = sqlite3_bind_parameter_name(s->st, i);
            snprintf(name, sizeof(name), "$%d", i);
            s->in_order = at && !strcmp(at, name);
        }
    }
    s->head.ops = &db_sqlite_ops;
    s->d = d;
    return &s->head;
}

/* $n's index in the statement (SQLite numbers named parameters by first appearance): n itself
 * when they appear in order (lite_stmt_get), as in most of the store's SQL, else by name. */
static int param(lite_stmt *s, int n)
{
    if (s->in_order)
        return n;
    char name[16];
    snprintf(name, sizeof(name), "$%d", n);
    return sqlite3_bind_parameter_index(s->st, name);
}

static void lite_bind_int(db_stmt *s, int n, int64_t v)
{
    sqlite3_bind_int64(L(s)->st, param(L(s), n), v);
}

static void lite_bind_double(db_stmt *s, int n, double v)
{
    sqlite3_bind_double(L(s)->st, param(L(s), n), v);
}

static void lite_bind_text(db_stmt *s, int n, const char *v)
{
    if (v)
        sqlite3_bind_text(L(s)->st, param(L(s), n), v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(L(s)->st, param(L(s), n));
}

static void lite_bind_null(db_stmt *s, int n)
{
    sqlite3_bind_null(L(s)->st, param(L(s), n));
}

static int lite_step(db_stmt *s)
{
    int rc = sqlite3_step(L(s)->st);
    return rc == SQLITE_ROW                           ? DB_ROW
           : rc == SQLITE_DONE                        ? DB_DONE
           : rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? DB_BUSY
                                                      : DB_ERROR;
}

static int64_t lite_col_int(db_stmt *s, int i)
{
    return sqlite3_column_int64(L(s)->st, i);
}

static double lite_col_double(db_stmt *s, int i)
{
    return sqlite3_column_double(L(s)->st, i);
}

static const char *lite_col_text(db_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(L(s)->st, i);
}

static bool lite_col_null(db_stmt *s, int i)
{
    return sqlite3_column_type(L(s)->st, i) == SQLITE_NULL;
}

static int lite_col_count(db_stmt *s)
{
    return sqlite3_column_count(L(s)->st);
}

static const char *lite_col_name(db_stmt *s, int i)
{
    return sqlite3_column_name(L(s)->st, i);
}

static int lite_col_type(db_stmt *s, int i)
{
    switch (sqlite3_column_type(L(s)->st, i)) {
    case SQLITE_INTEGER: return DB_T_INT;
    case SQLITE_FLOAT: return DB_T_REAL;
    case SQLITE_NULL: return DB_T_NULL;
    default: return DB_T_TEXT;
    }
}

static void lite_reset(db_stmt *s)
{
    sqlite3_reset(L(s)->st);
    sqlite3_clear_bindings(L(s)->st);
}

static int64_t lite_changes(void *h)
{
    lite *d = h;
    return sqlite3_changes64(d->h);
}

static int lite_begin(void *h)
{
    return lite_exec(h, "BEGIN IMMEDIATE");
}

static int lite_commit(void *h)
{
    return lite_exec(h, "COMMIT");
}

static void lite_rollback(void *h)
{
    lite *d = h;
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

static bool lite_retryable(void *h)
{
    (void)h;
    return false; /* a file: nothing is lost between calls */
}

const db_ops db_sqlite_ops = {
    .dialect = DB_SQLITE,
    .open = lite_open,
    .close = lite_close,
    .errmsg = lite_errmsg,
    .retryable = lite_retryable,
    .exec = lite_exec,
    .stmt_get = lite_stmt_get,
    .bind_int = lite_bind_int,
    .bind_double = lite_bind_double,
    .bind_text = lite_bind_text,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .col_int = lite_col_int,
    .col_double = lite_col_double,
    .col_text = lite_col_text,
    .col_null = lite_col_null,
    .col_count = lite_col_count,
    .col_name = lite_col_name,
    .col_type = lite_col_type,
    .reset = lite_reset,
    .changes = lite_changes,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
};
