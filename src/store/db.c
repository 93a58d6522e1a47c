/*
 * db.c - db.h: the backend a URI names (postgresql:// or postgres://: PostgreSQL; a path or
 * sqlite:PATH: SQLite), and every call routed to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

struct db {
    const db_ops *ops;
    void *h;
};

bool db_uri_is_pg(const char *uri)
{
    return uri && (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11));
}

db *db_open(const char *uri, char *msg, size_t msgsz)
{
    db *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    d->ops = db_uri_is_pg(uri) ? &db_pg_ops : &db_sqlite_ops;
    if (!(d->h = d->ops->open(uri, msg, msgsz))) {
        free(d);
        return NULL;
    }
    return d;
}

void db_close(db *d)
{
    if (!d)
        return;
    d->ops->close(d->h);
    free(d);
}

db_dialect db_get_dialect(const db *d)
{
    return d->ops->dialect;
}

const char *db_errmsg(db *d)
{
    return d->ops->errmsg(d->h);
}

bool db_retryable(db *d)
{
    return d->ops->retryable(d->h);
}

int db_exec(db *d, const char *sql)
{
    return d->ops->exec(d->h, sql);
}

db_stmt *db_stmt_get(db *d, int key, const char *sql)
{
    if (key < 0 || key >= DB_MAX_STMTS)
        return NULL;
    return d->ops->stmt_get(d->h, key, sql);
}

void db_bind_int(db_stmt *s, int n, int64_t v)
{
    s->ops->bind_int(s, n, v);
}

void db_bind_double(db_stmt *s, int n, double v)
{
    s->ops->bind_double(s, n, v);
}

void db_bind_text(db_stmt *s, int n, const char *v)
{
    s->ops->bind_text(s, n, v);
}

void db_bind_null(db_stmt *s, int n)
{
    s->ops->bind_null(s, n);
}

int db_step(db_stmt *s)
{
    return s->ops->step(s);
}

int64_t db_col_int(db_stmt *s, int i)
{
    return s->ops->col_int(s, i);
}

double db_col_double(db_stmt *s, int i)
{
    return s->ops->col_double(s, i);
}

const char *db_col_text(db_stmt *s, int i)
{
    return s->ops->col_text(s, i);
}

bool db_col_null(db_stmt *s, int i)
{
    return s->ops->col_null(s, i);
}

int db_col_count(db_stmt *s)
{
    return s->ops->col_count(s);
}

const char *db_col_name(db_stmt *s, int i)
{
    return s->ops->col_name(s, i);
}

int db_col_type(db_stmt *s, int i)
{
    return s->ops->col_type(s, i);
}

void db_reset(db_stmt *s)
{
    s->ops->reset(s);
}

int64_t db_changes(db *d)
{
    return d->ops->changes(d->h);
}

int db_begin(db *d)
{
    return d->ops->begin(d->h);
}

int db_commit(db *d)
{
    return d->ops->commit(d->h);
}

void db_rollback(db *d)
{
    d->ops->rollback(d->h);
}
