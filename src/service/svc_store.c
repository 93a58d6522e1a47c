/*
 * svc_store.c - the results store behind svc_store_ops, on SQLite (WAL).
 *
 * One table: analyses(id, server, file, identity, engine, source, validators, created,
 * checked, report). A result is found by server + file + engine version (the newest row);
 * its identity (ETag/Last-Modified or sha256 of the recording) says which recording it
 * analysed. One connection, its statements prepared once, used under a mutex: a lookup is a
 * few microseconds, far below an HTTP request's cost. A PostgreSQL backend implements the
 * same svc_store_ops.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

enum { Q_LATEST, Q_PUT, Q_TOUCH, Q_GET, Q_LIST, Q_DEL_ONE, Q_DEL_ALL, Q_PING, N_Q };

static const char *const k_sql[N_Q] = {
    [Q_LATEST] = "SELECT id, server, file, identity, engine, source, validators, created, "
                 "checked, report FROM analyses WHERE server = ?1 AND file = ?2 AND engine = ?3 "
                 "ORDER BY id DESC LIMIT 1",
    [Q_PUT] = "INSERT INTO analyses (server, file, identity, engine, source, validators, "
              "created, checked, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_TOUCH] = "UPDATE analyses SET checked = ?2 WHERE id = ?1",
    [Q_GET] = "SELECT id, server, file, identity, engine, source, validators, created, checked, "
              "report FROM analyses WHERE id = ?1",
    [Q_LIST] = "SELECT id, server, file, identity, engine, source, validators, created, "
               "checked, report FROM analyses WHERE created >= ?1 ORDER BY id DESC LIMIT ?2",
    [Q_DEL_ONE] = "DELETE FROM analyses WHERE server = ?1 AND file = ?2",
    [Q_DEL_ALL] = "DELETE FROM analyses",
    [Q_PING] = "SELECT 1",
};

typedef struct sq_store {
    svc_store base;
    sqlite3 *db;
    sqlite3_stmt *q[N_Q];
    pthread_mutex_t mu;
} sq_store;

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static int read_row(sqlite3_stmt *st, svc_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, r->server, sizeof(r->server));
    copy_col(st, 2, r->file, sizeof(r->file));
    copy_col(st, 3, r->identity, sizeof(r->identity));
    copy_col(st, 4, r->engine, sizeof(r->engine));
    copy_col(st, 5, r->source, sizeof(r->source));
    copy_col(st, 6, r->validators, sizeof(r->validators));
    r->created = sqlite3_column_double(st, 7);
    r->checked = sqlite3_column_double(st, 8);
    const unsigned char *rep = sqlite3_column_text(st, 9);
    r->report = strdup(rep ? (const char *)rep : "null");
    return r->report ? 0 : -1;
}

void svc_row_free(svc_row *r)
{
    free(r->report);
    r->report = NULL;
}

static sqlite3_stmt *begin(sq_store *s, int q)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_reset(s->q[q]);
    sqlite3_clear_bindings(s->q[q]);
    return s->q[q];
}

static void end(sq_store *s, int q)
{
    sqlite3_reset(s->q[q]);
    pthread_mutex_unlock(&s->mu);
}

static int sq_latest(svc_store *b, const char *server, const char *file, const char *engine,
                     svc_row *out)
{
    sq_store *s = (sq_store *)b;
    sqlite3_stmt *st = begin(s, Q_LATEST);
    sqlite3_bind_text(st, 1, server, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, engine, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int res = rc == SQLITE_ROW ? (read_row(st, out) == 0 ? 1 : -1) : rc == SQLITE_DONE ? 0 : -1;
    end(s, Q_LATEST);
    return res;
}

static int sq_put(svc_store *b, const svc_row *r, int64_t *id)
{
    sq_store *s = (sq_store *)b;
    sqlite3_stmt *st = begin(s, Q_PUT);
    sqlite3_bind_text(st, 1, r->server, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->identity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->engine, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->validators, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, r->created);
    sqlite3_bind_double(st, 8, r->checked);
    sqlite3_bind_text(st, 9, r->report, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (id)
        *id = sqlite3_last_insert_rowid(s->db);
    end(s, Q_PUT);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_touch(svc_store *b, int64_t id, double checked)
{
    sq_store *s = (sq_store *)b;
    sqlite3_stmt *st = begin(s, Q_TOUCH);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_double(st, 2, checked);
    int rc = sqlite3_step(st);
    end(s, Q_TOUCH);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_get(svc_store *b, int64_t id, svc_row *out)
{
    sq_store *s = (sq_store *)b;
    sqlite3_stmt *st = begin(s, Q_GET);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int res = rc == SQLITE_ROW ? (read_row(st, out) == 0 ? 1 : -1) : rc == SQLITE_DONE ? 0 : -1;
    end(s, Q_GET);
    return res;
}

static int sq_list(svc_store *b, double since, int limit, svc_row **rows, int *n)
{
    sq_store *s = (sq_store *)b;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = begin(s, Q_LIST);
    sqlite3_bind_double(st, 1, since);
    sqlite3_bind_int(st, 2, limit);
    int rc, res = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        svc_row *nr = realloc(*rows, (size_t)(*n + 1) * sizeof(svc_row));
        if (!nr || read_row(st, &nr[*n]) != 0) {
            if (nr)
                *rows = nr;
            res = -1;
            break;
        }
        *rows = nr;
        (*n)++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        res = -1;
    end(s, Q_LIST);
    return res;
}

static int64_t sq_delete(svc_store *b, const char *server, const char *file)
{
    sq_store *s = (sq_store *)b;
    int q = server ? Q_DEL_ONE : Q_DEL_ALL;
    sqlite3_stmt *st = begin(s, q);
    if (server) {
        sqlite3_bind_text(st, 1, server, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_DONE ? sqlite3_changes64(s->db) : -1;
    end(s, q);
    return n;
}

static int sq_ping(svc_store *b)
{
    sq_store *s = (sq_store *)b;
    sqlite3_stmt *st = begin(s, Q_PING);
    int rc = sqlite3_step(st);
    end(s, Q_PING);
    return rc == SQLITE_ROW ? 0 : -1;
}

static void sq_close(svc_store *b)
{
    sq_store *s = (sq_store *)b;
    if (!s)
        return;
    for (int i = 0; i < N_Q; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const svc_store_ops k_sqlite_ops = {sq_latest, sq_put,    sq_touch, sq_get,
                                           sq_list,   sq_delete, sq_ping,  sq_close};

svc_store *svc_store_open_sqlite(const char *path, char *msg, size_t msgsz)
{
    sq_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    s->base.ops = &k_sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    static const char *const schema =
        "PRAGMA journal_mode = WAL;"
        "PRAGMA synchronous = NORMAL;"
        "PRAGMA busy_timeout = 5000;"
        "CREATE TABLE IF NOT EXISTS analyses ("
        " id INTEGER PRIMARY KEY, server TEXT NOT NULL, file TEXT NOT NULL,"
        " identity TEXT NOT NULL, engine TEXT NOT NULL, source TEXT, validators TEXT,"
        " created REAL NOT NULL, checked REAL NOT NULL, report TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS analyses_key ON analyses (server, file, engine, id);"
        "CREATE INDEX IF NOT EXISTS analyses_created ON analyses (created);";
    char *e = NULL;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, &e) != SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", path, e ? e : sqlite3_errmsg(s->db));
        sqlite3_free(e);
        sq_close(&s->base);
        return NULL;
    }
    for (int i = 0; i < N_Q; i++)
        if (sqlite3_prepare_v3(s->db, k_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
            SQLITE_OK) {
            snprintf(msg, msgsz, "%s: %s", path, sqlite3_errmsg(s->db));
            sq_close(&s->base);
            return NULL;
        }
    return &s->base;
}
