/*
 * store_calls.c - calls and what is stored about each (store_calls.h): the service's stored
 * results, a call's row and its job's first state, level envelopes, redaction, pause marks,
 * transcripts, supervisors' score overrides and the LLM's requests. What a job's stages store
 * with its state: store_jobs.c.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

/* ---- stored results ------------------------------------------------------------------------ */

#define RESULT_COLS                                                                                \
    "id, server, file, identity, engine, source, validators, created, checked, report"

static int read_result(db_stmt *st, store_result *r)
{
    memset(r, 0, sizeof(*r));
    r->id = db_col_int(st, 0);
    store__col_copy(st, 1, r->server, sizeof(r->server));
    store__col_copy(st, 2, r->file, sizeof(r->file));
    store__col_copy(st, 3, r->identity, sizeof(r->identity));
    store__col_copy(st, 4, r->engine, sizeof(r->engine));
    store__col_copy(st, 5, r->source, sizeof(r->source));
    store__col_copy(st, 6, r->validators, sizeof(r->validators));
    r->created = db_col_double(st, 7);
    r->checked = db_col_double(st, 8);
    const char *rep = db_col_text(st, 9);
    r->report = strdup(rep ? rep : "null");
    return r->report ? 0 : -1;
}

void store_result_free(store_result *r)
{
    free(r->report);
    r->report = NULL;
}

static int one_result(store *s, db_stmt *st, store_result *out)
{
    int rc = db_step(st);
    int res = rc == DB_ROW    ? (read_result(st, out) == 0 ? 1 : -1)
              : rc == DB_DONE ? 0
                              : store__fail(s, "reading a stored result");
    store__end(s, st);
    return res;
}

int store_result_latest(store *s, const char *server, const char *file, const char *engine,
                        store_result *out)
{
    db_stmt *st = store__begin(s, Q_RES_LATEST,
                               "SELECT " RESULT_COLS " FROM analyses WHERE server = $1 AND "
                               "file = $2 AND engine = $3 AND call_id IS NULL "
                               "ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    db_bind_text(st, 1, server);
    db_bind_text(st, 2, file);
    db_bind_text(st, 3, engine);
    return one_result(s, st, out);
}

int store_result_put(store *s, const store_result *r, int64_t *id)
{
    db_stmt *st = store__begin(s, Q_RES_PUT,
                               "INSERT INTO analyses (server, file, identity, engine, source, "
                               "validators, created, checked, report) VALUES ($1, $2, $3, $4, "
                               "$5, $6, $7, $8, $9) RETURNING id");
    if (!st)
        return -1;
    db_bind_text(st, 1, r->server);
    db_bind_text(st, 2, r->file);
    db_bind_text(st, 3, r->identity);
    db_bind_text(st, 4, r->engine);
    db_bind_text(st, 5, r->source);
    db_bind_text(st, 6, r->validators);
    db_bind_double(st, 7, r->created);
    db_bind_double(st, 8, r->checked);
    db_bind_text(st, 9, r->report);
    int rc = db_step(st);
    if (rc == DB_ROW && id)
        *id = db_col_int(st, 0);
    int res = rc == DB_ROW ? 0 : store__fail(s, "storing a result");
    store__end(s, st);
    return res;
}

int store_result_touch(store *s, int64_t id, double checked)
{
    db_stmt *st = store__begin(s, Q_RES_TOUCH, "UPDATE analyses SET checked = $2 WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    db_bind_double(st, 2, checked);
    int rc = db_step(st);
    store__end(s, st);
    return rc == DB_DONE ? 0 : -1;
}

int store_result_get(store *s, int64_t id, store_result *out)
{
    db_stmt *st = store__begin(s, Q_RES_GET, "SELECT " RESULT_COLS " FROM analyses WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    return one_result(s, st, out);
}

int store_result_list(store *s, double since, int limit, store_result **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_RES_LIST,
                               "SELECT " RESULT_COLS " FROM analyses WHERE created >= $1 "
                               "ORDER BY id DESC LIMIT $2");
    if (!st)
        return -1;
    db_bind_double(st, 1, since);
    db_bind_int(st, 2, limit);
    int rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        store_result *nr = realloc(*rows, (size_t)(*n + 1) * sizeof(store_result));
        if (!nr) {
            res = -1;
            break;
        }
        *rows = nr;
        if (read_result(st, &nr[*n]) != 0) {
            res = -1;
            break;
        }
        (*n)++;
    }
    if (rc != DB_DONE && rc != DB_ROW)
        res = store__fail(s, "listing results");
    store__end(s, st);
    return res;
}

int64_t store_result_delete(store *s, const char *server, const char *file)
{
    db_stmt *st =
        server ? store__begin(s, Q_RES_DEL_ONE,
                              "DELETE FROM analyses WHERE server = $1 AND file = $2 "
                              "AND call_id IS NULL")
               : store__begin(s, Q_RES_DEL_ALL, "DELETE FROM analyses WHERE call_id IS NULL");
    if (!st)
        return -1;
    if (server) {
        db_bind_text(st, 1, server);
        db_bind_text(st, 2, file);
    }
    int rc = db_step(st);
    int64_t n = rc == DB_DONE ? db_changes(s->d) : -1;
    store__end(s, st);
    return n;
}

/* ---- calls --------------------------------------------------------------------------------- */

#define CALL_COLS                                                                                  \
    "id, source, recording_id, vicidial_id, uniqueid, lead_id, agent_user, agent_name, "           \
    "campaign_id, campaign_name, direction, call_date, tz, call_epoch, length_sec, "               \
    "disposition, term_reason, audio, audio_in, audio_out, orig_deadline, open, carrier, "         \
    "server_ip, did"

static void read_call(db_stmt *st, store_call *c)
{
    memset(c, 0, sizeof(*c));
    c->id = db_col_int(st, 0);
    store__col_copy(st, 1, c->source, sizeof(c->source));
    store__col_copy(st, 2, c->recording_id, sizeof(c->recording_id));
    store__col_copy(st, 3, c->vicidial_id, sizeof(c->vicidial_id));
    store__col_copy(st, 4, c->uniqueid, sizeof(c->uniqueid));
    store__col_copy(st, 5, c->lead_id, sizeof(c->lead_id));
    store__col_copy(st, 6, c->agent_user, sizeof(c->agent_user));
    store__col_copy(st, 7, c->agent_name, sizeof(c->agent_name));
    store__col_copy(st, 8, c->campaign_id, sizeof(c->campaign_id));
    store__col_copy(st, 9, c->campaign_name, sizeof(c->campaign_name));
    store__col_copy(st, 10, c->direction, sizeof(c->direction));
    store__col_copy(st, 11, c->call_date, sizeof(c->call_date));
    store__col_copy(st, 12, c->tz, sizeof(c->tz));
    c->call_epoch = db_col_null(st, 13) ? -1 : db_col_double(st, 13);
    c->length_sec = db_col_null(st, 14) ? -1 : (int)db_col_int(st, 14);
    store__col_copy(st, 15, c->disposition, sizeof(c->disposition));
    store__col_copy(st, 16, c->term_reason, sizeof(c->term_reason));
    store__col_copy(st, 17, c->audio, sizeof(c->audio));
    store__col_copy(st, 18, c->audio_in, sizeof(c->audio_in));
    store__col_copy(st, 19, c->audio_out, sizeof(c->audio_out));
    c->orig_deadline = db_col_null(st, 20) ? 0 : db_col_double(st, 20);
    c->open = db_col_int(st, 21) != 0;
    store__col_copy(st, 22, c->carrier, sizeof(c->carrier));
    store__col_copy(st, 23, c->server_ip, sizeof(c->server_ip));
    store__col_copy(st, 24, c->did, sizeof(c->did));
}

/* The call's fields as $2..$25 ($1 is the id or the time, as the statement says). */
static void bind_call(db_stmt *st, const store_call *c)
{
    db_bind_text(st, 2, c->source);
    db_bind_text(st, 3, c->recording_id);
    store__bind_opt(st, 4, c->vicidial_id);
    store__bind_opt(st, 5, c->uniqueid);
    store__bind_opt(st, 6, c->lead_id);
    store__bind_opt(st, 7, c->agent_user);
    store__bind_opt(st, 8, c->agent_name);
    store__bind_opt(st, 9, c->campaign_id);
    store__bind_opt(st, 10, c->campaign_name);
    store__bind_opt(st, 11, c->direction);
    store__bind_opt(st, 12, c->call_date);
    store__bind_opt(st, 13, c->tz);
    if (c->call_epoch >= 0)
        db_bind_double(st, 14, c->call_epoch);
    else
        db_bind_null(st, 14);
    if (c->length_sec >= 0)
        db_bind_int(st, 15, c->length_sec);
    else
        db_bind_null(st, 15);
    store__bind_opt(st, 16, c->disposition);
    store__bind_opt(st, 17, c->term_reason);
    store__bind_opt(st, 18, c->audio);
    store__bind_opt(st, 19, c->audio_in);
    store__bind_opt(st, 20, c->audio_out);
    if (c->orig_deadline > 0)
        db_bind_double(st, 21, c->orig_deadline);
    else
        db_bind_null(st, 21);
    db_bind_int(st, 22, c->open ? 1 : 0);
    store__bind_opt(st, 23, c->carrier);
    store__bind_opt(st, 24, c->server_ip);
    store__bind_opt(st, 25, c->did);
}

/* The next_attempt of an open call's job: far in the future, so that it cannot be claimed
 * until the call is put closed (store_call_put resets it). */
#define OPEN_HOLD 1e15

/* A job's priority: calls whose leg files go soonest first (their deadline, in UTC seconds),
 * then the others in the order they came (after any deadline). */
static double priority_of(const store_call *c, double now)
{
    return c->orig_deadline > 0 ? c->orig_deadline : 4e9 + now;
}

/* A call held while open is put closed: its job becomes claimable (with the priority its leg
 * files now give), or `skipped` when the closed call carries a skip reason. Only a job still
 * held (pending, unclaimed, next_attempt at OPEN_HOLD) changes. Under the lock, in the caller's
 * transaction. */
static int release_held(store *s, int64_t call_id, const store_call *c, double now)
{
    bool skip = c->skip_reason[0] != 0;
    db_stmt *st =
        skip ? store__stmt(s, Q_JOB_SKIP_HELD,
                           "UPDATE jobs SET state = 'skipped', skip_reason = $3, finished = $2, "
                           "next_attempt = 0, updated = $2 WHERE call_id = $1 AND state = "
                           "'pending' AND lease_owner IS NULL AND next_attempt >= $4")
             : store__stmt(s, Q_JOB_UNHOLD,
                           "UPDATE jobs SET next_attempt = 0, priority = CASE WHEN $3 > 0 "
                           "THEN $3 ELSE priority END, updated = $2 WHERE call_id = $1 AND "
                           "state = 'pending' AND lease_owner IS NULL AND next_attempt >= $4");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    db_bind_double(st, 2, now);
    if (skip)
        db_bind_text(st, 3, c->skip_reason);
    else
        db_bind_double(st, 3, c->orig_deadline);
    db_bind_double(st, 4, OPEN_HOLD);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "releasing a closed call's job");
    if (!skip || n != 1)
        return 0;
    return store__event(s, call_id, JOB_SKIPPED, now) != 0 ||
                   store__count_end(s, JOB_SKIPPED, NULL, c->skip_reason) != 0
               ? -1
               : 0;
}

int store_call_put(store *s, const store_call *c, double now, int64_t *id, bool *created)
{
    *created = false;
    if (store__tx_begin(s) != 0)
        return -1;
    int rc = -1;
    db_stmt *ins =
        store__stmt(s, Q_CALL_INSERT,
                    "INSERT INTO calls (source, recording_id, vicidial_id, uniqueid, lead_id, "
                    "agent_user, agent_name, campaign_id, campaign_name, direction, call_date, "
                    "day, hour, tz, call_epoch, length_sec, disposition, term_reason, audio, "
                    "audio_in, audio_out, orig_deadline, open, created, updated, carrier, "
                    "server_ip, did) VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                    "substr($12, 1, 10), substr($12, 1, 13), $13, $14, $15, $16, $17, $18, $19, "
                    "$20, $21, $22, $1, $1, $23, $24, $25) ON CONFLICT (source, recording_id) DO "
                    "NOTHING RETURNING id");
    if (!ins)
        goto fail;
    db_bind_double(ins, 1, now);
    bind_call(ins, c);
    int step = db_step(ins);
    if (step == DB_ROW) {
        *id = db_col_int(ins, 0);
        *created = true;
    }
    db_reset(ins);
    if (step != DB_ROW && step != DB_DONE) {
        store__fail(s, "adding a call");
        goto fail;
    }
    if (*created) {
        job_state first = c->skip_reason[0] ? JOB_SKIPPED : JOB_PENDING;
        db_stmt *job =
            store__stmt(s, Q_JOB_INSERT,
                        "INSERT INTO jobs (call_id, state, priority, skip_reason, queued, "
                        "finished, updated, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, "
                        "$5, $7)");
        if (!job)
            goto fail;
        db_bind_int(job, 1, *id);
        db_bind_text(job, 2, job_state_name(first));
        db_bind_double(job, 3, priority_of(c, now));
        store__bind_opt(job, 4, c->skip_reason);
        db_bind_double(job, 5, now);
        if (first == JOB_SKIPPED)
            db_bind_double(job, 6, now);
        else
            db_bind_null(job, 6);
        db_bind_double(job, 7, c->open && first == JOB_PENDING ? OPEN_HOLD : 0);
        if (store__run(s, job, "adding a job") != 0 || store__event(s, *id, first, now) != 0 ||
            store__route_link_call(s, *id) != 0 || store__rollup_call(s, *id) != 0 ||
            (first == JOB_SKIPPED && store__count_end(s, JOB_SKIPPED, NULL, c->skip_reason) != 0))
            goto fail;
    } else {
        /* known: what the dialer says now, keeping what it no longer says; the roll-up row it
         * counted in is recomputed too when its day, agent or campaign moved */
        store__rollup_key was;
        memset(&was, 0, sizeof(was));
        db_stmt *od = store__stmt(s, Q_CALL_ID,
                                  "SELECT id FROM calls WHERE source = $1 AND recording_id = $2");
        if (!od)
            goto fail;
        db_bind_text(od, 1, c->source);
        db_bind_text(od, 2, c->recording_id);
        int r1 = db_step(od);
        int64_t known = r1 == DB_ROW ? db_col_int(od, 0) : 0;
        db_reset(od);
        if (r1 != DB_ROW && r1 != DB_DONE) {
            store__fail(s, "reading a call");
            goto fail;
        }
        if (known && store__call_key(s, known, &was) != 0)
            goto fail;
        db_stmt *up = store__stmt(
            s, Q_CALL_UPDATE,
            "UPDATE calls SET vicidial_id = COALESCE($4, vicidial_id), uniqueid = "
            "COALESCE($5, uniqueid), lead_id = COALESCE($6, lead_id), agent_user = "
            "COALESCE($7, agent_user), agent_name = COALESCE($8, agent_name), "
            "campaign_id = COALESCE($9, campaign_id), campaign_name = "
            "COALESCE($10, campaign_name), direction = COALESCE($11, direction), "
            "call_date = COALESCE($12, call_date), day = COALESCE(substr($12, 1, "
            "10), day), hour = COALESCE(substr($12, 1, 13), hour), tz = COALESCE($13, "
            "tz), call_epoch = COALESCE($14, "
            "call_epoch), length_sec = COALESCE($15, length_sec), disposition = "
            "COALESCE($16, disposition), term_reason = COALESCE($17, term_reason), "
            "audio = COALESCE($18, audio), audio_in = COALESCE($19, audio_in), "
            "audio_out = COALESCE($20, audio_out), orig_deadline = COALESCE($21, "
            "orig_deadline), open = $22, updated = $1, carrier = COALESCE($23, carrier), "
            "server_ip = COALESCE($24, server_ip), did = COALESCE($25, did) WHERE "
            "source = $2 AND "
            "recording_id = $3 RETURNING id");
        if (!up)
            goto fail;
        db_bind_double(up, 1, now);
        bind_call(up, c);
        int r2 = db_step(up);
        if (r2 == DB_ROW)
            *id = db_col_int(up, 0);
        db_reset(up);
        if (r2 != DB_ROW) {
            store__fail(s, "updating a call");
            goto fail;
        }
        /* its scores row keeps the call's day (the flagged list ranks by it) */
        db_stmt *rd =
            store__stmt(s, Q_SCORE_REDAY,
                        "UPDATE scores SET day = (SELECT day FROM calls WHERE id = $1) WHERE "
                        "call_id = $1");
        if (!rd)
            goto fail;
        db_bind_int(rd, 1, *id);
        if (store__run(s, rd, "re-dating a call's scores") != 0)
            goto fail;
        store__rollup_key now_key;
        if ((!c->open && release_held(s, *id, c, now) != 0) ||
            store__route_link_call(s, *id) != 0 || store__call_key(s, *id, &now_key) != 0 ||
            store__rollup_group(s, &now_key) != 0 ||
            (memcmp(&was, &now_key, sizeof(was)) && store__rollup_group(s, &was) != 0))
            goto fail;
    }
    rc = 0;
fail:
    return store__tx_end(s, rc, "committing a call");
}

static int one_call(store *s, db_stmt *st, store_call *out)
{
    int rc = db_step(st);
    if (rc == DB_ROW)
        read_call(st, out);
    int res = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : store__fail(s, "reading a call");
    store__end(s, st);
    return res;
}

int store_call_get(store *s, int64_t id, store_call *out)
{
    db_stmt *st = store__begin(s, Q_CALL_GET, "SELECT " CALL_COLS " FROM calls WHERE id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, id);
    return one_call(s, st, out);
}

int store_call_find(store *s, const char *source, const char *recording_id, store_call *out)
{
    db_stmt *st = source ? store__begin(s, Q_CALL_FIND,
                                        "SELECT " CALL_COLS " FROM calls WHERE source = $1 AND "
                                        "recording_id = $2")
                         : store__begin(s, Q_CALL_FIND_ANY,
                                        "SELECT " CALL_COLS " FROM calls WHERE recording_id = $2 "
                                        "OR uniqueid = $2 ORDER BY id LIMIT 1");
    if (!st)
        return -1;
    if (source)
        db_bind_text(st, 1, source);
    db_bind_text(st, 2, recording_id);
    return one_call(s, st, out);
}

/* the call's envelope in place of any earlier one (in the caller's transaction); env->legs NULL:
 * the earlier one goes */
int store__envelope_put(store *s, int64_t call_id, const store_envelope *env, double now)
{
    if (!env || !env->legs) {
        db_stmt *st = store__stmt(s, Q_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1");
        if (!st)
            return STORE_ERR;
        db_bind_int(st, 1, call_id);
        return store__run(s, st, "removing a level envelope") ? STORE_ERR : STORE_OK;
    }
    db_stmt *st =
        store__stmt(s, Q_ENV_PUT,
                    "INSERT INTO call_envelopes (call_id, step_sec, legs, created) SELECT id, "
                    "$2, $3, $4 FROM calls WHERE id = $1 ON CONFLICT (call_id) DO UPDATE SET "
                    "step_sec = excluded.step_sec, legs = excluded.legs, created = "
                    "excluded.created");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, call_id);
    db_bind_double(st, 2, env->step_sec);
    db_bind_text(st, 3, env->legs);
    db_bind_double(st, 4, now);
    if (store__run(s, st, "storing a level envelope") != 0)
        return STORE_ERR;
    if (db_changes(s->d) != 1) {
        snprintf(s->err, sizeof(s->err), "storing a level envelope: no call %lld",
                 (long long)call_id);
        return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct env_args {
    const store_envelope *env;
    double now;
} env_args;

static int env_put_tx(store *s, void *arg)
{
    env_args *a = arg;
    return store__envelope_put(s, a->env->call_id, a->env, a->now);
}

int store_envelope_put(store *s, const store_envelope *env, double now)
{
    if (!env->legs || !(env->step_sec > 0) || !isfinite(env->step_sec)) {
        snprintf(s->err, sizeof(s->err), "a level envelope needs legs and a step > 0");
        return STORE_ERR;
    }
    env_args a = {env, now};
    return store__in_tx(s, "envelope", env_put_tx, &a);
}

int store_envelope_get(store *s, int64_t call_id, store_envelope *out)
{
    memset(out, 0, sizeof(*out));
    db_stmt *st =
        store__begin(s, Q_ENV_GET, "SELECT step_sec, legs FROM call_envelopes WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        const char *legs = db_col_text(st, 1);
        out->call_id = call_id;
        out->step_sec = db_col_double(st, 0);
        out->legs = strdup(legs ? legs : "{}");
        res = out->legs ? 1 : -1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a level envelope");
    }
    store__end(s, st);
    return res;
}

int store_redaction_get(store *s, int64_t call_id, char state[8], char *audio, size_t n)
{
    state[0] = 0;
    if (n)
        audio[0] = 0;
    db_stmt *st = store__begin(s, Q_REDACTION_GET,
                               "SELECT redaction, redacted_audio FROM analyses WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        store__col_copy(st, 0, state, 8);
        store__col_copy(st, 1, audio, n);
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a call's redaction");
    }
    store__end(s, st);
    return res;
}

int store_redact_candidates(store *s, const char *since_day, int64_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_REDACT_CALLS,
                               "SELECT c.id FROM calls c LEFT JOIN analyses a ON a.call_id = c.id "
                               "WHERE substr(c.call_date, 1, 10) >= $1 AND a.redaction IS NULL "
                               "ORDER BY c.id");
    if (!st)
        return -1;
    db_bind_text(st, 1, since_day);
    int rc, cap = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *v = realloc(*ids, (size_t)cap * sizeof(*v));
            if (!v) {
                store__end(s, st);
                free(*ids);
                *ids = NULL, *n = 0;
                snprintf(s->err, sizeof(s->err), "out of memory");
                return -1;
            }
            *ids = v;
        }
        (*ids)[(*n)++] = db_col_int(st, 0);
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "listing the calls to redact");
    store__end(s, st);
    if (res != 0) {
        free(*ids);
        *ids = NULL, *n = 0;
    }
    return res;
}

/* one UPDATE of a text column by call id: 1 (a row changed), 0 (none), -1 */
static int set_text(store *s, int q, const char *sql, int64_t call_id, const char *v,
                    const char *what)
{
    db_stmt *st = store__stmt(s, q, sql);
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    db_bind_text(st, 2, v);
    if (store__run(s, st, what) != 0)
        return -1;
    return db_changes(s->d) > 0;
}

int store_report_set(store *s, int64_t call_id, const char *report)
{
    return set_text(s, Q_REPORT_SET, "UPDATE analyses SET report = $2 WHERE call_id = $1", call_id,
                    report, "replacing a report");
}

int store_score_detail_set(store *s, int64_t call_id, const char *detail)
{
    return set_text(s, Q_SCORE_DETAIL_SET, "UPDATE scores SET detail = $2 WHERE call_id = $1",
                    call_id, detail, "replacing a score's detail");
}

int store_mark_add(store *s, const char *call_ref, bool pause, double ts, double now,
                   const char *who, const char *client, const char *scope)
{
    db_stmt *st =
        store__begin(s, Q_MARK_ADD,
                     "INSERT INTO redact_marks (call_ref, mark, ts, created, who, client, "
                     "scope) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    if (!st)
        return -1;
    db_bind_text(st, 1, call_ref);
    db_bind_text(st, 2, pause ? "pause" : "resume");
    db_bind_double(st, 3, ts);
    db_bind_double(st, 4, now);
    db_bind_text(st, 5, who);
    db_bind_text(st, 6, client);
    db_bind_text(st, 7, scope);
    int rc = db_step(st);
    int res = rc == DB_DONE ? 0 : store__fail(s, "storing a pause mark");
    store__end(s, st);
    return res;
}

int store_marks_get(store *s, const char *ref1, const char *ref2, store_mark_keep_fn keep,
                    void *user, store_mark *out, int max)
{
    db_stmt *st = store__begin(s, Q_MARKS_GET,
                               "SELECT mark, ts, scope FROM redact_marks WHERE call_ref = $1 OR "
                               "call_ref = $2 ORDER BY ts, id");
    if (!st)
        return -1;
    db_bind_text(st, 1, ref1 && *ref1 ? ref1 : "\x01");
    db_bind_text(st, 2, ref2 && *ref2 ? ref2 : "\x01");
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (keep && !keep(user, db_col_null(st, 2) ? NULL : db_col_text(st, 2)))
            continue; /* a sender whose scope does not hold the call */
        if (n < max) {
            const char *m = db_col_text(st, 0);
            out[n].pause = m && !strcmp(m, "pause");
            out[n].ts = db_col_double(st, 1);
        }
        n++;
    }
    int res = rc == DB_DONE ? n : store__fail(s, "reading a call's pause marks");
    store__end(s, st);
    return res;
}

/* ---- transcripts --------------------------------------------------------------------------- */

/* SQLite: the FTS5 table, its rows by rowid range; PostgreSQL: transcript_segments, whose
 * tsvector the server computes from the text */
int64_t store__tx_search_delete(store *s, int64_t call_id, const char *what)
{
    bool pg = db_get_dialect(s->d) == DB_PG;
    db_stmt *st =
        store__stmt(s, Q_TX_FTS_DEL,
                    STORE_SQL(s, "DELETE FROM transcript_fts WHERE rowid >= $1 AND rowid < $2",
                              "DELETE FROM transcript_segments WHERE call_id = $1"));
    if (!st)
        return -1;
    db_bind_int(st, 1, pg ? call_id : call_id * STORE_TX_FTS_STRIDE);
    if (!pg)
        db_bind_int(st, 2, (call_id + 1) * STORE_TX_FTS_STRIDE);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    return rc == DB_DONE ? n : store__fail(s, what);
}

/* the transcript and its search rows (in the caller's transaction) */
int store__transcript_put(store *s, const store_transcript *t, double now)
{
    db_stmt *st =
        store__stmt(s, Q_TX_PUT,
                    "INSERT INTO transcripts (call_id, engine, model, language, word_count, "
                    "seconds, audio_sent_sec, audio_recorded_sec, hallucination_rate, "
                    "config_hash, text, detail, created) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                    "$8, $9, $10, $11, $12, $13) ON CONFLICT (call_id) DO UPDATE SET engine = "
                    "excluded.engine, model = excluded.model, language = excluded.language, "
                    "word_count = excluded.word_count, seconds = excluded.seconds, "
                    "audio_sent_sec = excluded.audio_sent_sec, audio_recorded_sec = "
                    "excluded.audio_recorded_sec, hallucination_rate = "
                    "excluded.hallucination_rate, config_hash = excluded.config_hash, text = "
                    "excluded.text, detail = excluded.detail, created = excluded.created");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, t->call_id);
    db_bind_text(st, 2, t->engine);
    db_bind_text(st, 3, t->model);
    db_bind_text(st, 4, t->language);
    db_bind_int(st, 5, t->word_count);
    store__bind_num(st, 6, t->seconds);
    store__bind_num(st, 7, t->audio_sent_sec);
    store__bind_num(st, 8, t->audio_recorded_sec);
    store__bind_num(st, 9, t->hallucination_rate);
    db_bind_text(st, 10, t->config_hash);
    db_bind_text(st, 11, t->text);
    db_bind_text(st, 12, t->detail);
    db_bind_double(st, 13, now);
    if (store__run(s, st, "storing a transcript") != 0)
        return STORE_ERR;
    if (store__tx_search_delete(s, t->call_id, "clearing a transcript's search rows") < 0)
        return STORE_ERR;
    bool pg = db_get_dialect(s->d) == DB_PG;
    for (size_t i = 0; i < t->n_segs && i < STORE_TX_FTS_STRIDE; i++) {
        const store_tx_segment *g = &t->segs[i];
        st =
            store__stmt(s, Q_TX_FTS_PUT,
                        STORE_SQL(s,
                                  "INSERT INTO transcript_fts (rowid, text, speaker, call_id, seg, "
                                  "t_start, t_end) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                  "INSERT INTO transcript_segments (seg, text, speaker, call_id, "
                                  "t_start, t_end) VALUES ($1, $2, $3, $4, $6, $7)"));
        if (!st)
            return STORE_ERR;
        /* the PostgreSQL statement has no $5: the segment's index is $1 there */
        db_bind_int(st, 1, pg ? (int64_t)i : t->call_id * STORE_TX_FTS_STRIDE + (int64_t)i);
        db_bind_text(st, 2, g->text ? g->text : "");
        db_bind_text(st, 3, g->speaker);
        db_bind_int(st, 4, t->call_id);
        if (!pg)
            db_bind_int(st, 5, (int64_t)i);
        db_bind_double(st, 6, g->start);
        db_bind_double(st, 7, g->end);
        if (store__run(s, st, "indexing a transcript") != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct tx_put_args {
    const store_transcript *t;
    double now;
} tx_put_args;

static int put_tx(store *s, void *arg)
{
    tx_put_args *a = arg;
    return store__transcript_put(s, a->t, a->now);
}

int store_transcript_put(store *s, const store_transcript *t, double now)
{
    tx_put_args a = {t, now};
    return store__in_tx(s, "transcript", put_tx, &a);
}

/* ---- scores -------------------------------------------------------------------------------- */

const char *const store_score_cats[STORE_SCORE_CATS] = {"greeting", "customer_id",   "needs",
                                                        "product",  "communication", "resolution",
                                                        "closing",  "compliance"};

int store_score_cat(const char *key)
{
    for (int i = 0; key && i < STORE_SCORE_CATS; i++)
        if (!strcmp(key, store_score_cats[i]))
            return i;
    return -1;
}

typedef struct override_args {
    int64_t call_id;
    const char *const *cats;
    const int *scores;
    size_t n;
    const char *supervisor, *comment;
    double now;
    bool scored;
} override_args;

/* A category key as the scorecard allows them: [a-z0-9_]{1,32}. */
static bool valid_key(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return false;
    return true;
}

static int override_tx(store *s, void *arg)
{
    override_args *a = arg;
    a->scored = false;
    db_stmt *st = store__stmt(s, Q_OVR_HAS, "SELECT 1 FROM scores WHERE call_id = $1");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->call_id);
    int rc = db_step(st);
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a call's scores");
    if (rc == DB_DONE)
        return STORE_OK; /* not scored: nothing stored */
    a->scored = true;
    for (size_t i = 0; i < a->n; i++) {
        st = store__stmt(
            s, Q_OVR_PUT,
            "INSERT INTO score_overrides (call_id, category, score, supervisor, comment, "
            "created) VALUES ($1, $2, $3, $4, $5, $6)");
        if (!st)
            return STORE_ERR;
        db_bind_int(st, 1, a->call_id);
        db_bind_text(st, 2, a->cats[i]);
        db_bind_double(st, 3, a->scores[i]);
        db_bind_text(st, 4, a->supervisor);
        store__bind_opt(st, 5, a->comment);
        db_bind_double(st, 6, a->now);
        if (store__run(s, st, "storing an override") != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

int store_score_overrides(store *s, int64_t call_id, const char *const *categories,
                          const int *scores, size_t n, const char *supervisor, const char *comment,
                          double now)
{
    const char *why = !supervisor || !*supervisor ? "the supervisor's name is required"
                      : n == 0                    ? "no category given"
                                                  : NULL;
    for (size_t i = 0; !why && i < n; i++)
        why = !valid_key(categories[i])        ? "a category key is [a-z0-9_]{1,32}"
              : scores[i] < 1 || scores[i] > 5 ? "a score is 1 to 5"
                                               : NULL;
    if (why) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->err, sizeof(s->err), "storing overrides: %s", why);
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    override_args a = {call_id, categories, scores, n, supervisor, comment, now, false};
    int rc = store__in_tx(s, "override", override_tx, &a);
    return rc != STORE_OK ? -1 : a.scored ? 1 : 0;
}

int store_score_override(store *s, int64_t call_id, const char *category, int score,
                         const char *supervisor, const char *comment, double now)
{
    const char *cats[1] = {category};
    int scores[1] = {score};
    return store_score_overrides(s, call_id, cats, scores, 1, supervisor, comment, now);
}

/* ---- LLM requests -------------------------------------------------------------------------- */

/* A label value from configuration text: [A-Za-z0-9_.:-], others as '_', at most 48 bytes. */
static void label_value(const char *v, char out[49])
{
    size_t k = 0;
    for (; v && v[k] && k < 48; k++) {
        char c = v[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        out[k] = ok ? c : '_';
    }
    out[k] = 0;
}

typedef struct llm_args {
    const store_llm_call *c;
    char day[11];
} llm_args;

static int llm_tx(store *s, void *arg)
{
    llm_args *a = arg;
    const store_llm_call *c = a->c;
    db_stmt *st =
        store__stmt(s, Q_LLM_PUT,
                    "INSERT INTO llm_calls (ts, day, call_id, purpose, provider, model, "
                    "input_tokens, output_tokens, latency_sec, cost_usd, outcome) VALUES ($1, "
                    "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    if (!st)
        return STORE_ERR;
    db_bind_double(st, 1, c->ts);
    db_bind_text(st, 2, a->day);
    if (c->call_id > 0)
        db_bind_int(st, 3, c->call_id);
    else
        db_bind_null(st, 3);
    db_bind_text(st, 4, c->purpose ? c->purpose : "");
    db_bind_text(st, 5, c->provider ? c->provider : "");
    store__bind_opt(st, 6, c->model);
    if (c->input_tokens >= 0)
        db_bind_int(st, 7, c->input_tokens);
    else
        db_bind_null(st, 7);
    if (c->output_tokens >= 0)
        db_bind_int(st, 8, c->output_tokens);
    else
        db_bind_null(st, 8);
    store__bind_num(st, 9, c->latency_sec);
    store__bind_num(st, 10, c->cost_usd);
    db_bind_text(st, 11, c->outcome ? c->outcome : "");
    if (store__run(s, st, "recording an LLM request") != 0)
        return STORE_ERR;
    char pu[49], pr[49], oc[49], lab[200];
    label_value(c->purpose, pu);
    label_value(c->provider, pr);
    label_value(c->outcome, oc);
    snprintf(lab, sizeof(lab), "purpose=\"%s\",provider=\"%s\",outcome=\"%s\"", pu, pr, oc);
    if (store__counter_add(s, "qa_llm_requests_total", lab, 1) != 0)
        return STORE_ERR;
    static const char *const dir[2] = {"input", "output"};
    int64_t tok[2] = {c->input_tokens, c->output_tokens};
    for (int i = 0; i < 2; i++) {
        snprintf(lab, sizeof(lab), "provider=\"%s\",direction=\"%s\"", pr, dir[i]);
        if (tok[i] > 0 && store__counter_add(s, "qa_llm_tokens_total", lab, (double)tok[i]) != 0)
            return STORE_ERR;
    }
    snprintf(lab, sizeof(lab), "provider=\"%s\"", pr);
    if (c->cost_usd > 0 && isfinite(c->cost_usd) &&
        store__counter_add(s, "qa_llm_cost_usd_total", lab, c->cost_usd) != 0)
        return STORE_ERR;
    if (c->latency_sec >= 0 && isfinite(c->latency_sec) &&
        (store__counter_add(s, "qa_llm_latency_seconds_sum", lab, c->latency_sec) != 0 ||
         store__counter_add(s, "qa_llm_latency_seconds_count", lab, 1) != 0))
        return STORE_ERR;
    return STORE_OK;
}

int store_llm_record(store *s, const store_llm_call *c)
{
    llm_args a = {c, ""};
    if (store__local_day(s, c->ts, a.day, "recording an LLM request") != 0)
        return -1;
    return store__in_tx(s, "llm", llm_tx, &a) == STORE_OK ? 0 : -1;
}

int store_llm_usage_day(store *s, const char *day, long long *tokens, double *cost)
{
    *tokens = 0;
    *cost = 0;
    db_stmt *st = store__begin(s, Q_LLM_DAY,
                               "SELECT COALESCE(SUM(COALESCE(input_tokens, 0) + "
                               "COALESCE(output_tokens, 0)), 0), COALESCE(SUM(cost_usd), 0) FROM "
                               "llm_calls WHERE day = $1");
    if (!st)
        return -1;
    db_bind_text(st, 1, day);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *tokens = (long long)db_col_int(st, 0);
        *cost = db_col_double(st, 1);
    }
    int res = rc == DB_ROW ? 0 : store__fail(s, "reading a day's LLM use");
    store__end(s, st);
    return res;
}
