/*
 * db_sqlite.c - db.h on SQLite: WAL, a busy timeout (several processes share one file: the
 * service, workers, ingest), statements prepared once per connection.
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define MAX_STMTS 256

struct db_stmt {
    sqlite3_stmt *st;
    db *d;
};

struct db {
    sqlite3 *h;
    db_stmt stmts[MAX_STMTS];
};

db *db_open(const char *uri, char *msg, size_t msgsz)
{
    const char *path = !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri;
    if (!*path) {
        snprintf(msg, msgsz, "no store path given");
        return NULL;
    }
    db *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                         SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(d->h, 10000) != SQLITE_OK ||
        sqlite3_exec(d->h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                           "PRAGMA foreign_keys = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", path, d->h ? sqlite3_errmsg(d->h) : "cannot open");
        db_close(d);
        return NULL;
    }
    return d;
}

void db_close(db *d)
{
    if (!d)
        return;
    for (int i = 0; i < MAX_STMTS; i++)
        sqlite3_finalize(d->stmts[i].st);
    sqlite3_close(d->h);
    free(d);
}

db_dialect db_get_dialect(const db *d)
{
    (void)d;
    return DB_SQLITE;
}

const char *db_errmsg(db *d)
{
    return sqlite3_errmsg(d->h);
}

int db_exec(db *d, const char *sql)
{
    return sqlite3_exec(d->h, sql, NULL, NULL, NULL) == SQLITE_OK ? DB_OK : DB_ERROR;
}

db_stmt *db_stmt_get(db *d, int key, const char *sql)
{
    if (key < 0 || key >= MAX_STMTS)
        return NULL;
    db_stmt *s = &d->stmts[key];
    if (!s->st &&
        sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) != SQLITE_OK) {
        s->st = NULL;
        return NULL;
    }
    s->d = d;
    return s;
}

/* $n's index in the statement (SQLite numbers named parameters by first appearance). */
static int param(db_stmt *s, int n)
{
    char name[16];
    snprintf(name, sizeof(name), "$%d", n);
    return sqlite3_bind_parameter_index(s->st, name);
}

void db_bind_int(db_stmt *s, int n, int64_t v)
{
    sqlite3_bind_int64(s->st, param(s, n), v);
}

void db_bind_double(db_stmt *s, int n, double v)
{
    sqlite3_bind_double(s->st, param(s, n), v);
}

void db_bind_text(db_stmt *s, int n, const char *v)
{
    if (v)
        sqlite3_bind_text(s->st, param(s, n), v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s->st, param(s, n));
}

void db_bind_null(db_stmt *s, int n)
{
    sqlite3_bind_null(s->st, param(s, n));
}

int db_step(db_stmt *s)
{
    int rc = sqlite3_step(s->st);
    return rc == SQLITE_ROW    ? DB_ROW
           : rc == SQLITE_DONE ? DB_DONE
           : rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? DB_BUSY
                                                       : DB_ERROR;
}

int64_t db_col_int(db_stmt *s, int i)
{
    return sqlite3_column_int64(s->st, i);
}

double db_col_double(db_stmt *s, int i)
{
    return sqlite3_column_double(s->st, i);
}

const char *db_col_text(db_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s->st, i);
}

bool db_col_null(db_stmt *s, int i)
{
    return sqlite3_column_type(s->st, i) == SQLITE_NULL;
}

int db_col_count(db_stmt *s)
{
    return sqlite3_column_count(s->st);
}

const char *db_col_name(db_stmt *s, int i)
{
    return sqlite3_column_name(s->st, i);
}

int db_col_type(db_stmt *s, int i)
{
    switch (sqlite3_column_type(s->st, i)) {
    case SQLITE_INTEGER: return DB_T_INT;
    case SQLITE_FLOAT: return DB_T_REAL;
    case SQLITE_NULL: return DB_T_NULL;
    default: return DB_T_TEXT;
    }
}

void db_reset(db_stmt *s)
{
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
}

int64_t db_changes(db *d)
{
    return sqlite3_changes64(d->h);
}

int db_begin(db *d)
{
    return db_exec(d, "BEGIN IMMEDIATE");
}

int db_commit(db *d)
{
    return db_exec(d, "COMMIT");
}

void db_rollback(db *d)
{
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}
