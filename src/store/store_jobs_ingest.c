/*
 * store_jobs_ingest.c - the workers' heartbeat rows and the ingest sources' leases, marks and
 * audio roots (store_jobs.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

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
    db_stmt *ins =
        store__stmt(s, Q_INGEST_ENSURE,
                    "INSERT INTO ingest_sources (source) VALUES ($1) ON CONFLICT (source) "
                    "DO NOTHING");
    if (!ins)
        goto out;
    db_bind_text(ins, 1, source);
    if (store__run(s, ins, "adding a source") != 0)
        goto out;
    db_stmt *st =
        store__stmt(s, Q_INGEST_LEASE,
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
