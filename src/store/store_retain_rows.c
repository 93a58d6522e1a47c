/*
 * store_retain_rows.c - the rows of a call that the purge (store_retain.c) and the erasure
 * (store_erase.c) delete and check gone: statements by call, the transcript's search rows and
 * its words searched for after the deletion; the call's lock and transaction; the deletions'
 * log (migration 12); and what a deletion leaves (store_scrub). See store_retain_int.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_retain_int.h"
#include "callqa/cq_clock.h"

/* store_scrub: how long a checkpoint kept busy by others is tried again, and how often */
#define SCRUB_WAIT_SEC 30.0
#define SCRUB_RETRY_SEC 0.05

/* ---- rows ----------------------------------------------------------------------------------- */

/* $1 = call and the optional $2, $3 (NULL: unbound). */
static void bind_call(db_stmt *st, int64_t call, const store_val *p2, const store_val *p3)
{
    db_bind_int(st, 1, call);
    const store_val *ps[2] = {p2, p3};
    for (int i = 0; i < 2; i++) {
        if (!ps[i])
            continue;
        if (ps[i]->t == SV_INT)
            db_bind_int(st, 2 + i, ps[i]->i);
        else if (ps[i]->t == SV_REAL)
            db_bind_double(st, 2 + i, ps[i]->d);
        else
            db_bind_text(st, 2 + i, ps[i]->s);
    }
}

int64_t store__by_call(store *s, int key, const char *sql, int64_t call, const store_val *p2,
                       const char *what)
{
    db_stmt *st = store__stmt(s, key, sql);
    if (!st)
        return -1;
    bind_call(st, call, p2, NULL);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    return rc == DB_DONE ? n : store__fail(s, what);
}

int64_t store__count_call(store *s, int key, const char *sql, int64_t call, const store_val *p2,
                          const store_val *p3, int col)
{
    db_stmt *st = store__stmt(s, key, sql);
    if (!st)
        return -1;
    bind_call(st, call, p2, p3);
    int rc = db_step(st);
    int64_t v = rc == DB_ROW ? db_col_int(st, col) : -1;
    db_reset(st);
    if (rc != DB_ROW)
        return store__fail(s, "counting a call's rows");
    return v;
}

static bool is_pg(store *s)
{
    return db_get_dialect(s->d) == DB_PG;
}

int64_t store__tx_rows(store *s, int64_t call, int col)
{
    store_val lo = SV_I(call * STORE_TX_FTS_STRIDE), hi = SV_I((call + 1) * STORE_TX_FTS_STRIDE);
    return store__count_call(
        s, R_TX_LEFT,
        STORE_SQL(s,
                  "SELECT (SELECT COUNT(*) FROM transcripts WHERE call_id = $1), "
                  "(SELECT COUNT(*) FROM transcript_fts WHERE rowid >= $2 AND rowid < "
                  "$3)",
                  "SELECT (SELECT COUNT(*) FROM transcripts WHERE call_id = $1), "
                  "(SELECT COUNT(*) FROM transcript_segments WHERE call_id = $1)"),
        call, is_pg(s) ? NULL : &lo, is_pg(s) ? NULL : &hi, col);
}

void store__words_of(const char *text, store__words *out)
{
    out->n = 0;
    for (const char *p = text ? text : ""; *p;) {
        while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        const char *b = p;
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        size_t n = (size_t)(p - b);
        if (n < 4 || n >= sizeof(out->w[0]))
            continue;
        bool dup = false;
        for (int i = 0; i < out->n && !dup; i++)
            dup = strlen(out->w[i]) == n && !strncmp(out->w[i], b, n);
        if (dup)
            continue;
        int at = out->n;
        if (out->n == MATCH_WORDS) { /* replace the shortest when longer */
            at = 0;
            for (int i = 1; i < out->n; i++)
                if (strlen(out->w[i]) < strlen(out->w[at]))
                    at = i;
            if (strlen(out->w[at]) >= n)
                continue;
        } else {
            out->n++;
        }
        memcpy(out->w[at], b, n);
        out->w[at][n] = 0;
    }
}

/* How many of the words the search still finds among the call's rows. -1 on error. */
int64_t store__search_finds(store *s, int64_t call, const store__words *w)
{
    int64_t found = 0;
    for (int i = 0; i < w->n; i++) {
        char q[80];
        snprintf(q, sizeof(q), is_pg(s) ? "%s" : "\"%s\"", w->w[i]);
        db_stmt *st = store__stmt(
            s, R_FTS_MATCH,
            STORE_SQL(s,
                      "SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts MATCH $1 AND "
                      "rowid >= $2 AND rowid < $3",
                      "SELECT COUNT(*) FROM transcript_segments WHERE tsv @@ "
                      "plainto_tsquery('simple', $1) AND call_id = $2"));
        if (!st)
            return -1;
        db_bind_text(st, 1, q);
        db_bind_int(st, 2, is_pg(s) ? call : call * STORE_TX_FTS_STRIDE);
        if (!is_pg(s))
            db_bind_int(st, 3, (call + 1) * STORE_TX_FTS_STRIDE);
        int rc = db_step(st);
        if (rc == DB_ROW)
            found += db_col_int(st, 0);
        db_reset(st);
        if (rc != DB_ROW)
            return store__fail(s, "searching for a deleted transcript's words");
    }
    return found;
}

/* The transcript's text (malloc'd; NULL with *have false when there is none). -1 on error. */
int store__tx_text(store *s, int64_t call, char **text)
{
    *text = NULL;
    db_stmt *st = store__stmt(s, R_TX_TEXT, "SELECT text FROM transcripts WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        const char *t = db_col_text(st, 0);
        *text = strdup(t ? t : "");
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a transcript");
    return 0;
}

/* ---- the log ------------------------------------------------------------------------------- */

int store__log_row(store *s, double now, int64_t call, const char *source, const char *rec,
                   const char *what, const char *why, const char *detail)
{
    db_stmt *st =
        store__stmt(s, R_LOG,
                    "INSERT INTO deletions (ts, call_id, source, recording_id, what, why, "
                    "detail) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    if (!st)
        return -1;
    db_bind_double(st, 1, now);
    if (call > 0)
        db_bind_int(st, 2, call);
    else
        db_bind_null(st, 2);
    store__bind_opt(st, 3, source);
    store__bind_opt(st, 4, rec);
    db_bind_text(st, 5, what);
    db_bind_text(st, 6, why);
    db_bind_text(st, 7, detail);
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "logging a deletion");
}

static void deletion_row(db_stmt *st, void *out, int i)
{
    store_deletion_row *r = (store_deletion_row *)out + i;
    memset(r, 0, sizeof(*r));
    r->id = db_col_int(st, 0);
    r->ts = db_col_double(st, 1);
    r->call_id = db_col_null(st, 2) ? 0 : db_col_int(st, 2);
    store__col_copy(st, 3, r->source, sizeof(r->source));
    store__col_copy(st, 4, r->recording_id, sizeof(r->recording_id));
    store__col_copy(st, 5, r->what, sizeof(r->what));
    store__col_copy(st, 6, r->why, sizeof(r->why));
    store__col_copy(st, 7, r->detail, sizeof(r->detail));
}

int store_deletions(store *s, int64_t after_id, store_deletion_row *out, int max, int *n)
{
    return store__feed(s, R_DELETIONS,
                       "SELECT id, ts, call_id, source, recording_id, what, why, detail FROM "
                       "deletions WHERE id > $1 ORDER BY id LIMIT $2",
                       after_id, max, deletion_row, out, n, "reading the deletions");
}

/* Lock the call for the transaction: 1 there, 0 gone, -1 error. */
int store__lock_call(store *s, int64_t call)
{
    int64_t n =
        store__count_call(s, R_LOCK_CALL,
                          STORE_SQL(s, "SELECT COUNT(*) FROM calls WHERE id = $1",
                                    "SELECT COUNT(*) FROM (SELECT id FROM calls WHERE id = $1 FOR "
                                    "UPDATE) c"),
                          call, NULL, NULL, 0);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

int store__call_tx(store *s, bool dry, store__call_fn f, void *arg, store_deletion *d)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (db_begin(s->d) != DB_OK) {
        store__fail(s, "starting a transaction");
    } else if ((rc = f(s, arg, d)) != 0 || dry) {
        db_rollback(s->d);
    } else if (store__kill_point("commit", "purge"), db_commit(s->d) != DB_OK) {
        rc = store__fail(s, "committing");
        db_rollback(s->d);
    }
    if (rc != 0)
        snprintf(d->error, sizeof(d->error), "%s", s->err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void store__purge_total(store_purge_totals *t, const store_deletion *d)
{
    t->calls++;
    t->failed += d->status != 0;
    if (d->status == 0) {
        t->rows += d->rows;
        t->search_rows += d->search_rows;
        t->files += d->files;
        t->quotes += d->quotes;
    }
}

int store_audio_deleted(store *s, int64_t call_id)
{
    db_stmt *st = store__begin(s, R_AUDIO_GONE,
                               "SELECT COUNT(*) FROM deletions WHERE call_id = $1 AND what = "
                               "'audio'");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st);
    int res = rc == DB_ROW ? db_col_int(st, 0) > 0 : store__fail(s, "reading the deletions");
    store__end(s, st);
    return res;
}

int store_scrub(store *s, bool search, char *msg, size_t n)
{
    if (is_pg(s))
        return 0; /* dead rows and WAL: docs/deletion.md, "What the store keeps of a deleted row" */
    if (search) {
        db_stmt *st = store__begin(s, R_SCRUB_FTS,
                                   "INSERT INTO transcript_fts(transcript_fts) VALUES('optimize')");
        if (!st)
            return snprintf(msg, n, "%s", s->err), -1;
        int rc = db_step(st);
        store__end(s, st);
        if (rc != DB_DONE) {
            snprintf(msg, n, "rewriting the search index: %s", db_errmsg(s->d));
            return -1;
        }
    }
    /* A checkpoint another connection is making (the service's checkpointer makes one every
     * second) is not waited for by SQLite's busy handler: this one is then BUSY at once. It
     * is tried again until SCRUB_WAIT_SEC has passed; readers and a writer are waited for by
     * the busy handler within each try. */
    const double until = cq_clock_mono_sec() + SCRUB_WAIT_SEC;
    int64_t busy;
    for (;;) {
        db_stmt *st = store__begin(s, R_SCRUB_WAL, "PRAGMA wal_checkpoint(TRUNCATE)");
        if (!st)
            return snprintf(msg, n, "%s", s->err), -1;
        int rc = db_step(st);
        busy = rc == DB_ROW ? db_col_int(st, 0) : -1;
        store__end(s, st);
        if (busy != 1 || cq_clock_mono_sec() >= until)
            break;
        cq_clock_sleep_all(SCRUB_RETRY_SEC);
    }
    if (busy != 0) {
        snprintf(msg, n,
                 "the write-ahead log could not be emptied (%s): another connection kept "
                 "reading, writing or checkpointing it for %.0f s; run the command again when "
                 "it is idle",
                 busy < 0 ? db_errmsg(s->d) : "busy", SCRUB_WAIT_SEC);
        return -1;
    }
    return 0;
}
