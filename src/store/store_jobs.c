/*
 * store_jobs.c - a job's life (store_jobs.h): its states, the claim and lease, each stage's
 * result stored with the state it leads to, failure, skip, requeue and the queue's counts.
 * Workers and ingest leases: store_jobs_ingest.c; counters, the event feed and the roll-ups:
 * store_jobs_stats.c.
 *
 * DESIGN
 * A job is claimed by setting its lease (owner, expiry, and a fencing token bumped on every
 * claim) in one statement: the lease is the lock, and nothing is held while the work runs.
 * Every later write by the worker names its token and requires the lease unexpired, so a
 * worker that lost its job (paused past its lease, or its job taken back) cannot write. A job
 * whose lease expired mid-way is claimable again from the state it reached; taking it back
 * from a worker that lost it counts a retry. A result is written in the same transaction as the
 * state it leads to and the day's roll-up, so a crash leaves either all of it or none.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store_int.h"

static const char *const k_states[JOB_N_STATES] = {"pending",     "analysing", "transcribing",
                                                   "transcribed", "scoring",   "complete",
                                                   "skipped",     "error"};

const char *job_state_name(job_state st)
{
    return (unsigned)st < JOB_N_STATES ? k_states[st] : "unknown";
}

int job_state_parse(const char *name)
{
    for (int i = 0; name && i < JOB_N_STATES; i++)
        if (!strcmp(name, k_states[i]))
            return i;
    return -1;
}

static bool terminal(job_state st)
{
    return st == JOB_COMPLETE || st == JOB_SKIPPED || st == JOB_ERROR;
}

typedef struct claim_args {
    const char *worker;
    double now, lease_sec;
    store_lease *out;
    bool found;
} claim_args;

static int claim_tx(store *s, void *arg)
{
    claim_args *a = arg;
    a->found = false; /* a transaction run again starts afresh (in_tx) */
#define CLAIM_SQL(lock)                                                                            \
    "UPDATE jobs SET state = CASE WHEN state = 'pending' THEN 'analysing' ELSE state END, "        \
    "retry_count = retry_count + CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END, "            \
    "lease_owner = $1, lease_expires = $2 + $3, lease_token = lease_token + 1, heartbeat = $2, "   \
    "started = COALESCE(started, $2), updated = $2 WHERE id = (SELECT id FROM jobs WHERE state "   \
    "IN ('pending', 'analysing', 'transcribing', 'transcribed', 'scoring') AND next_attempt <= "   \
    "$2 AND (lease_owner IS NULL OR lease_expires < $2) ORDER BY priority, id LIMIT 1" lock ") "   \
    "RETURNING id, call_id, state, lease_token, retry_count"
    /* PostgreSQL: workers claim at the same time, each skipping the rows another is taking
     * (SQLite's one writer needs no such clause) */
    db_stmt *st = store__stmt(s, Q_JOB_CLAIM,
                              STORE_SQL(s, CLAIM_SQL(""), CLAIM_SQL(" FOR UPDATE SKIP LOCKED")));
    if (!st)
        return STORE_ERR;
    db_bind_text(st, 1, a->worker);
    db_bind_double(st, 2, a->now);
    db_bind_double(st, 3, a->lease_sec);
    int rc = db_step(st);
    store_lease *out = a->out;
    if (rc == DB_ROW) {
        memset(out, 0, sizeof(*out));
        out->job_id = db_col_int(st, 0);
        out->call_id = db_col_int(st, 1);
        out->state = (job_state)job_state_parse(db_col_text(st, 2));
        out->token = db_col_int(st, 3);
        out->retry_count = (int)db_col_int(st, 4);
        snprintf(out->worker, sizeof(out->worker), "%s", a->worker);
        a->found = true;
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "claiming a job");
    /* the event feed shows the job taken up (analysing, or where a lost worker left it) */
    return a->found && store__event(s, out->call_id, out->state, a->now) != 0 ? STORE_ERR
                                                                              : STORE_OK;
}

int store_job_claim(store *s, const char *worker, double now, double lease_sec, store_lease *out)
{
    claim_args a = {worker, now, lease_sec, out, false};
    int rc = store__in_tx(s, "claim", claim_tx, &a);
    return rc != STORE_OK ? -1 : a.found ? 1 : 0;
}

int store_job_renew(store *s, const store_lease *l, double now, double lease_sec)
{
    db_stmt *st = store__begin(s, Q_JOB_RENEW,
                               "UPDATE jobs SET lease_expires = $3 + $4, heartbeat = $3 WHERE id "
                               "= $1 AND lease_token = $2 AND lease_owner = $5 AND lease_expires "
                               ">= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    db_bind_double(st, 4, lease_sec);
    db_bind_text(st, 5, l->worker);
    int rc = db_step(st);
    int res = rc != DB_DONE           ? store__fail(s, "renewing a lease")
              : db_changes(s->d) == 1 ? STORE_OK
                                      : STORE_FENCED;
    store__end(s, st);
    return res;
}

/* Under the lock, inside a transaction: the job moves to `to` (recording a stage's outcome),
 * or STORE_FENCED when the lease is no longer this worker's. */
/* The job's stages with `stage` set to `outcome` (its row read in the caller's transaction; the
 * fenced update that writes it refuses it when the lease moved on meanwhile): compact JSON in
 * the order the stages ran, on either database. NULL with the store's message on failure. */
static char *stages_with(store *s, int64_t job_id, const char *stage, const char *outcome)
{
    db_stmt *st = store__stmt(s, Q_JOB_STAGES, "SELECT stages FROM jobs WHERE id = $1");
    if (!st)
        return NULL;
    db_bind_int(st, 1, job_id);
    int rc = db_step(st);
    json_t *o =
        rc == DB_ROW ? json_loads(db_col_text(st, 0) ? db_col_text(st, 0) : "{}", 0, NULL) : NULL;
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE) {
        store__fail(s, "reading a job's stages");
        return NULL;
    }
    if (!o || !json_is_object(o)) { /* a job gone (DB_DONE), or stages not an object: anew */
        json_decref(o);
        o = json_object();
    }
    char *out = NULL;
    if (o && json_object_set_new(o, stage, json_string(outcome ? outcome : "")) == 0)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!out)
        snprintf(s->err, sizeof(s->err), "moving a job: out of memory");
    return out;
}

/* Under the lock, inside a transaction: the job moves to `to` (recording a stage's outcome),
 * or STORE_FENCED when the lease is no longer this worker's. */
static int fenced_move(store *s, const store_lease *l, job_state to, const char *stage,
                       const char *outcome, double now)
{
    char *stages = stage ? stages_with(s, l->job_id, stage, outcome) : NULL;
    if (stage && !stages)
        return STORE_ERR;
    db_stmt *st =
        store__stmt(s, Q_JOB_ADVANCE,
                    "UPDATE jobs SET state = $4, stages = COALESCE($5, stages), updated = $3, "
                    "finished = CASE WHEN $6 = 1 THEN $3 ELSE NULL END, lease_owner = CASE WHEN "
                    "$6 = 1 THEN NULL ELSE lease_owner END, lease_expires = CASE WHEN $6 = 1 "
                    "THEN NULL ELSE lease_expires END WHERE id = $1 AND lease_token = $2 AND "
                    "lease_expires >= $3");
    if (!st) {
        free(stages);
        return STORE_ERR;
    }
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    db_bind_text(st, 4, job_state_name(to));
    db_bind_text(st, 5, stages);
    db_bind_int(st, 6, terminal(to) ? 1 : 0);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    free(stages);
    if (rc != DB_DONE)
        return store__fail(s, "moving a job");
    return n == 1 ? STORE_OK : STORE_FENCED;
}

typedef struct advance_args {
    store_lease *l;
    job_state to;
    const char *stage, *outcome;
    double now;
} advance_args;

static int advance_tx(store *s, void *arg)
{
    advance_args *a = arg;
    int rc = fenced_move(s, a->l, a->to, a->stage, a->outcome, a->now);
    if (rc == STORE_OK && store__event(s, a->l->call_id, a->to, a->now) != 0)
        rc = STORE_ERR;
    if (rc == STORE_OK && terminal(a->to) && store__rollup_call(s, a->l->call_id) != 0)
        rc = STORE_ERR;
    if (rc == STORE_OK && a->to == JOB_COMPLETE &&
        store__count_complete(s, a->l->job_id, a->now) != 0)
        rc = STORE_ERR;
    return rc;
}

int store_job_advance(store *s, store_lease *l, job_state to, const char *stage,
                      const char *stage_outcome, double now)
{
    advance_args a = {l, to, stage, stage_outcome, now};
    int rc = store__in_tx(s, job_state_name(to), advance_tx, &a);
    if (rc == STORE_OK)
        l->state = to;
    return rc;
}

int store_job_release(store *s, const store_lease *l, double now)
{
    db_stmt *st = store__begin(s, Q_JOB_RELEASE,
                               "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL, "
                               "updated = $3 WHERE id = $1 AND lease_token = $2");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, now);
    int rc = db_step(st);
    int res = rc != DB_DONE           ? store__fail(s, "releasing a job")
              : db_changes(s->d) == 1 ? STORE_OK
                                      : STORE_FENCED;
    store__end(s, st);
    return res;
}

typedef struct fail_args {
    const store_lease *l;
    const char *stage, *message;
    bool retry;
    double next, now;
} fail_args;

static int fail_tx(store *s, void *arg)
{
    fail_args *a = arg;
    const store_lease *l = a->l;
    db_stmt *st =
        a->retry ? store__stmt(s, Q_JOB_RETRY,
                               "UPDATE jobs SET retry_count = retry_count + 1, next_attempt = $4, "
                               "error_stage = $5, error_message = $6, lease_owner = NULL, "
                               "lease_expires = NULL, updated = $3 WHERE id = $1 AND lease_token = "
                               "$2 AND lease_expires >= $3")
                 : store__stmt(s, Q_JOB_ERROR,
                               "UPDATE jobs SET state = 'error', error_stage = $5, error_message = "
                               "$6, lease_owner = NULL, lease_expires = NULL, finished = $3, "
                               "updated = $3, next_attempt = $4 WHERE id = $1 AND lease_token = $2 "
                               "AND lease_expires >= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, l->job_id);
    db_bind_int(st, 2, l->token);
    db_bind_double(st, 3, a->now);
    db_bind_double(st, 4, a->next);
    db_bind_text(st, 5, a->stage);
    db_bind_text(st, 6, a->message);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "failing a job");
    if (n != 1)
        return STORE_FENCED;
    if (!a->retry && (store__event(s, l->call_id, JOB_ERROR, a->now) != 0 ||
                      store__rollup_call(s, l->call_id) != 0 ||
                      store__count_end(s, JOB_ERROR, a->stage, a->message) != 0))
        return STORE_ERR;
    if (a->retry) {
        char lab[128], why[32];
        store_reason_class(a->message, why);
        snprintf(lab, sizeof(lab), "stage=\"%s\",reason=\"%s\"", a->stage, why);
        if (store__counter_add(s, "qa_retries_total", lab, 1) != 0)
            return STORE_ERR;
    }
    return STORE_OK;
}

int store_job_fail(store *s, const store_lease *l, const char *stage, const char *message,
                   bool retryable, int max_retries, double backoff_sec, double now)
{
    bool retry = retryable && l->retry_count < max_retries;
    fail_args a = {
        l, stage, message, retry, retry ? now + backoff_sec * pow(2, l->retry_count) : now, now};
    return store__in_tx(s, "fail", fail_tx, &a);
}

typedef struct skip_args {
    const store_lease *l;
    const char *reason;
    double now;
} skip_args;

static int skip_tx(store *s, void *arg)
{
    skip_args *a = arg;
    db_stmt *st =
        store__stmt(s, Q_JOB_SKIP,
                    "UPDATE jobs SET state = 'skipped', skip_reason = $4, lease_owner = NULL, "
                    "lease_expires = NULL, finished = $3, updated = $3 WHERE id = $1 AND "
                    "lease_token = $2 AND lease_expires >= $3");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->l->job_id);
    db_bind_int(st, 2, a->l->token);
    db_bind_double(st, 3, a->now);
    db_bind_text(st, 4, a->reason);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    if (rc != DB_DONE)
        return store__fail(s, "skipping a job");
    if (n != 1)
        return STORE_FENCED;
    if (store__event(s, a->l->call_id, JOB_SKIPPED, a->now) != 0 ||
        store__rollup_call(s, a->l->call_id) != 0 ||
        store__count_end(s, JOB_SKIPPED, NULL, a->reason) != 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_skip(store *s, const store_lease *l, const char *reason, double now)
{
    skip_args a = {l, reason, now};
    return store__in_tx(s, "skip", skip_tx, &a);
}

typedef struct analysed_args {
    store_lease *l;
    const char *engine, *report;
    const store_figures *f;
    job_state next;
    double now;
    const store_envelope *env;
} analysed_args;

/* A figure bound when it was measured and is finite, else NULL. */
static void bind_known(db_stmt *st, int n, bool known, double v)
{
    if (known && isfinite(v))
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

static int analysed_tx(store *s, void *arg)
{
    analysed_args *a = arg;
    int rc = fenced_move(s, a->l, a->next, "analyse", "done", a->now);
    if (rc != STORE_OK)
        return rc;
    db_stmt *st = store__stmt(
        s, Q_ANALYSIS_UPSERT,
        "INSERT INTO analyses (call_id, server, file, identity, engine, source, "
        "validators, created, checked, report, duration_sec, legs, speech_pct_in, "
        "speech_pct_out, mos_in, mos_out, one_way, talk_sec_in, talk_sec_out, "
        "dead_air_sec, overtalk_sec, hold_sec, hold_count, tone_count, dtmf_count, "
        "warning_codes, clipping_pct, level_db, mos_model, net_mos, net_mos_model, redaction, "
        "redacted_audio, net_loss_pct, net_jitter_ms, sip_pdd_ms, sip_trunk, sip_user_agent, "
        "sip_codec, dropouts_per_min) "
        "SELECT id, source, recording_id, '', "
        "$2, 'pipeline', '', $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
        "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, "
        "$31, $32, $33, $34 FROM calls "
        "WHERE id = $1 "
        "ON CONFLICT "
        "(call_id) WHERE "
        "call_id IS NOT NULL DO UPDATE SET engine = excluded.engine, created = "
        "excluded.created, checked = excluded.checked, report = excluded.report, "
        "duration_sec = excluded.duration_sec, legs = excluded.legs, "
        "speech_pct_in = excluded.speech_pct_in, speech_pct_out = "
        "excluded.speech_pct_out, mos_in = excluded.mos_in, mos_out = "
        "excluded.mos_out, one_way = excluded.one_way, talk_sec_in = "
        "excluded.talk_sec_in, talk_sec_out = excluded.talk_sec_out, dead_air_sec "
        "= excluded.dead_air_sec, overtalk_sec = excluded.overtalk_sec, hold_sec = "
        "excluded.hold_sec, hold_count = excluded.hold_count, tone_count = "
        "excluded.tone_count, dtmf_count = excluded.dtmf_count, warning_codes = "
        "excluded.warning_codes, clipping_pct = excluded.clipping_pct, level_db = "
        "excluded.level_db, mos_model = excluded.mos_model, net_mos = excluded.net_mos, "
        "net_mos_model = excluded.net_mos_model, redaction = excluded.redaction, "
        "redacted_audio = excluded.redacted_audio, net_loss_pct = excluded.net_loss_pct, "
        "net_jitter_ms = excluded.net_jitter_ms, sip_pdd_ms = excluded.sip_pdd_ms, sip_trunk = "
        "excluded.sip_trunk, sip_user_agent = excluded.sip_user_agent, sip_codec = "
        "excluded.sip_codec, dropouts_per_min = excluded.dropouts_per_min");
    if (!st)
        return STORE_ERR;
    const store_figures *f = a->f;
    db_bind_int(st, 1, a->l->call_id);
    db_bind_text(st, 2, a->engine);
    db_bind_double(st, 3, a->now);
    db_bind_text(st, 4, a->report);
    store__bind_num(st, 5, f->duration_sec);
    db_bind_int(st, 6, f->legs);
    store__bind_num(st, 7, f->speech_pct[0]);
    store__bind_num(st, 8, f->speech_pct[1]);
    /* MOS may be below 0 in principle: NaN is what says unknown */
    if (isfinite(f->mos[0]))
        db_bind_double(st, 9, f->mos[0]);
    else
        db_bind_null(st, 9);
    if (isfinite(f->mos[1]))
        db_bind_double(st, 10, f->mos[1]);
    else
        db_bind_null(st, 10);
    if (f->one_way >= 0)
        db_bind_int(st, 11, f->one_way);
    else
        db_bind_null(st, 11);
    store__bind_num(st, 12, f->talk_sec[0]);
    store__bind_num(st, 13, f->talk_sec[1]);
    store__bind_num(st, 14, f->dead_air_sec);
    store__bind_num(st, 15, f->overtalk_sec);
    store__bind_num(st, 16, f->hold_sec);
    db_bind_int(st, 17, f->hold_count);
    db_bind_int(st, 18, f->tone_count);
    db_bind_int(st, 19, f->dtmf_count);
    db_bind_text(st, 20, f->warning_codes);
    if (f->has_clipping && isfinite(f->clipping_pct))
        db_bind_double(st, 21, f->clipping_pct);
    else
        db_bind_null(st, 21);
    if (f->has_level && isfinite(f->level_db))
        db_bind_double(st, 22, f->level_db);
    else
        db_bind_null(st, 22);
    /* each MOS with its model; a model without its figure is not stored */
    if (f->mos_model[0] && (isfinite(f->mos[0]) || isfinite(f->mos[1])))
        db_bind_text(st, 23, f->mos_model);
    else
        db_bind_null(st, 23);
    if (isfinite(f->net_mos) && f->net_mos_model[0]) {
        db_bind_double(st, 24, f->net_mos);
        db_bind_text(st, 25, f->net_mos_model);
    } else {
        db_bind_null(st, 24);
        db_bind_null(st, 25);
    }
    if (f->redaction[0])
        db_bind_text(st, 26, f->redaction);
    else
        db_bind_null(st, 26);
    if (f->redacted_audio[0])
        db_bind_text(st, 27, f->redacted_audio);
    else
        db_bind_null(st, 27);
    /* what a capture said; NULL where none was found (never a 0 that was not measured) */
    bind_known(st, 28, f->has_net, f->net_loss_pct);
    bind_known(st, 29, f->has_net, f->net_jitter_ms);
    bind_known(st, 30, f->has_sip, f->sip_pdd_ms);
    store__bind_opt(st, 31, f->has_sip ? f->sip_trunk : "");
    store__bind_opt(st, 32, f->has_sip ? f->sip_user_agent : "");
    store__bind_opt(st, 33, f->has_sip ? f->sip_codec : "");
    bind_known(st, 34, f->has_dropouts, f->dropouts_per_min);
    /* the redacted copy the worker wrote, recorded as the call's file in the same transaction */
    if (store__run(s, st, "storing an analysis") != 0 ||
        (f->redacted_audio[0] && store__file_record(s, a->l->call_id, STORE_FILE_REDACTED,
                                                    f->redacted_audio, a->now) != 0) ||
        store__event(s, a->l->call_id, a->next, a->now) != 0 ||
        store__rollup_call(s, a->l->call_id) != 0 ||
        store__envelope_put(s, a->l->call_id, a->env, a->now) != STORE_OK)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_analysed_env(store *s, store_lease *l, const char *engine, const char *report_json,
                           const store_figures *f, const store_envelope *env, job_state next,
                           double now)
{
    analysed_args a = {l, engine, report_json, f, next, now, env};
    int rc = store__in_tx(s, "analysis", analysed_tx, &a);
    if (rc == STORE_OK)
        l->state = next;
    return rc;
}

int store_job_analysed(store *s, store_lease *l, const char *engine, const char *report_json,
                       const store_figures *f, job_state next, double now)
{
    return store_job_analysed_env(s, l, engine, report_json, f, NULL, next, now);
}

typedef struct tx_args {
    store_lease *l;
    const store_transcript *t;
    double now;
} tx_args;

static int transcribed_tx(store *s, void *arg)
{
    tx_args *a = arg;
    int rc = fenced_move(s, a->l, JOB_TRANSCRIBED, "transcribe", "done", a->now);
    if (rc == STORE_OK)
        rc = store__transcript_put(s, a->t, a->now);
    if (rc == STORE_OK && store__event(s, a->l->call_id, JOB_TRANSCRIBED, a->now) != 0)
        rc = STORE_ERR;
    return rc;
}

int store_job_transcribed(store *s, store_lease *l, const store_transcript *t, double now)
{
    tx_args a = {l, t, now};
    int rc = store__in_tx(s, "transcribed", transcribed_tx, &a);
    if (rc == STORE_OK)
        l->state = JOB_TRANSCRIBED;
    return rc;
}

/* A number of a score: finite and within [lo, hi], or the reason it is not. */
static const char *bad_number(bool has, double v, double lo, double hi)
{
    if (!has)
        return NULL;
    if (!isfinite(v))
        return "not a finite number";
    return v < lo || v > hi ? "out of range" : NULL;
}

static void bind_has(db_stmt *st, int n, bool has, double v)
{
    if (has)
        db_bind_double(st, n, v);
    else
        db_bind_null(st, n);
}

/* Is the text JSON of that kind (NULL or "": none, which is fine)? */
static bool json_is(const char *text, json_type type)
{
    if (!text || !*text)
        return true;
    json_t *j = json_loads(text, 0, NULL);
    bool ok = j && json_typeof(j) == type;
    json_decref(j);
    return ok;
}

/* The score's JSON fields are what they should be (strengths and improvements arrays, detail
 * an object); STORE_ERR with the field named. */
static int check_score_json(store *s, const store_score *sc)
{
    const char *why = !json_is(sc->strengths, JSON_ARRAY)      ? "strengths is not a JSON array"
                      : !json_is(sc->improvements, JSON_ARRAY) ? "improvements is not a JSON array"
                      : !json_is(sc->detail, JSON_OBJECT)      ? "detail is not a JSON object"
                                                               : NULL;
    if (why) {
        snprintf(s->err, sizeof(s->err), "storing scores: %s", why);
        return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct scored_args {
    store_lease *l;
    const store_score *sc;
    double now;
} scored_args;

static int scored_tx(store *s, void *arg)
{
    scored_args *a = arg;
    const store_score *sc = a->sc;
    const char *bad = NULL, *which = NULL;
    if ((bad = bad_number(sc->has_total, sc->total_score, 0, 100)))
        which = "total_score";
    else if ((bad = bad_number(sc->has_partial, sc->partial_score, 0, 100)))
        which = "partial_score";
    else if ((bad = bad_number(true, sc->coverage, 0, 1)))
        which = "coverage";
    for (int k = 0; !bad && k < STORE_SCORE_CATS; k++)
        if ((bad = bad_number(sc->has_cat[k], sc->cat[k], -1e9, 1e9)))
            which = store_score_cats[k];
    if (!bad && (bad = bad_number(sc->has_customer_shift, sc->customer_shift, -10, 10)))
        which = "customer_shift";
    if (bad) {
        snprintf(s->err, sizeof(s->err), "storing scores: %s is %s", which, bad);
        return STORE_ERR;
    }
    int rc = check_score_json(s, sc);
    if (rc == STORE_OK)
        rc = fenced_move(s, a->l, JOB_COMPLETE, "score", "done", a->now);
    if (rc != STORE_OK)
        return rc;
    db_stmt *st = store__stmt(
        s, Q_SCORE_PUT,
        "INSERT INTO scores (call_id, day, scorecard, backend, total_score, "
        "partial_score, coverage, flagged, flag_reason, greeting, customer_id, "
        "needs, product, communication, resolution, closing, compliance, summary, "
        "strengths, improvements, llm_provider, llm_model, detail, created, "
        "scorecard_hash, provider_hash, topic_class, topic_subclass, "
        "customer_shift, customer_drop) SELECT id, "
        "day, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
        "$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 FROM calls WHERE id "
        "= $1 ON CONFLICT (call_id) DO UPDATE SET day = excluded.day, scorecard = "
        "excluded.scorecard, backend = excluded.backend, total_score = "
        "excluded.total_score, partial_score = excluded.partial_score, coverage = "
        "excluded.coverage, flagged = excluded.flagged, flag_reason = "
        "excluded.flag_reason, greeting = excluded.greeting, customer_id = "
        "excluded.customer_id, needs = excluded.needs, product = excluded.product, "
        "communication = excluded.communication, resolution = "
        "excluded.resolution, closing = excluded.closing, compliance = "
        "excluded.compliance, summary = excluded.summary, strengths = "
        "excluded.strengths, improvements = excluded.improvements, llm_provider = "
        "excluded.llm_provider, llm_model = excluded.llm_model, detail = "
        "excluded.detail, created = excluded.created, scorecard_hash = "
        "excluded.scorecard_hash, provider_hash = excluded.provider_hash, "
        "topic_class = excluded.topic_class, topic_subclass = "
        "excluded.topic_subclass, customer_shift = excluded.customer_shift, "
        "customer_drop = excluded.customer_drop");
    if (!st)
        return STORE_ERR;
    db_bind_int(st, 1, a->l->call_id);
    store__bind_opt(st, 2, sc->scorecard);
    store__bind_opt(st, 3, sc->backend);
    bind_has(st, 4, sc->has_total, sc->total_score);
    bind_has(st, 5, sc->has_partial, sc->partial_score);
    db_bind_double(st, 6, sc->coverage);
    db_bind_int(st, 7, sc->flagged ? 1 : 0);
    store__bind_opt(st, 8, sc->flag_reason);
    for (int k = 0; k < STORE_SCORE_CATS; k++)
        bind_has(st, 9 + k, sc->has_cat[k], sc->cat[k]);
    store__bind_opt(st, 17, sc->summary);
    store__bind_opt(st, 18, sc->strengths);
    store__bind_opt(st, 19, sc->improvements);
    store__bind_opt(st, 20, sc->llm_provider);
    store__bind_opt(st, 21, sc->llm_model);
    store__bind_opt(st, 22, sc->detail);
    db_bind_double(st, 23, a->now);
    store__bind_opt(st, 24, sc->scorecard_hash);
    store__bind_opt(st, 25, sc->provider_hash);
    store__bind_opt(st, 26, sc->topic_class);
    store__bind_opt(st, 27, sc->topic_subclass);
    bind_has(st, 28, sc->has_customer_shift, sc->customer_shift);
    if (sc->has_customer_drop)
        db_bind_int(st, 29, sc->customer_drop ? 1 : 0);
    else
        db_bind_null(st, 29);
    if (store__run(s, st, "storing scores") != 0 ||
        store__event(s, a->l->call_id, JOB_COMPLETE, a->now) != 0 ||
        store__rollup_call(s, a->l->call_id) != 0 ||
        store__count_complete(s, a->l->job_id, a->now) != 0)
        return STORE_ERR;
    return STORE_OK;
}

int store_job_scored(store *s, store_lease *l, const store_score *sc, double now)
{
    scored_args a = {l, sc, now};
    /* labelled as the transaction that completes the job (the test hook's commit:complete) */
    int rc = store__in_tx(s, "complete", scored_tx, &a);
    if (rc == STORE_OK)
        l->state = JOB_COMPLETE;
    return rc;
}

int64_t store_requeue(store *s, double since, double now)
{
    db_stmt *st = store__begin(s, Q_REQUEUE,
                               "UPDATE jobs SET state = 'pending', retry_count = 0, next_attempt "
                               "= 0, stages = '{}', error_stage = NULL, error_message = NULL, "
                               "finished = NULL, updated = $2 WHERE queued >= $1 AND state IN "
                               "('complete', 'error') AND lease_owner IS NULL");
    if (!st)
        return -1;
    db_bind_double(st, 1, since);
    db_bind_double(st, 2, now);
    int rc = db_step(st);
    int64_t n = rc == DB_DONE ? db_changes(s->d) : store__fail(s, "requeueing");
    store__end(s, st);
    return n;
}

int store_job_get(store *s, int64_t call_id, store_job *out)
{
    db_stmt *st = store__begin(s, Q_JOB_GET,
                               "SELECT id, call_id, state, retry_count, stages, skip_reason, "
                               "error_stage, error_message, queued, started, finished, updated, "
                               "lease_owner FROM jobs WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        memset(out, 0, sizeof(*out));
        out->id = db_col_int(st, 0);
        out->call_id = db_col_int(st, 1);
        out->state = (job_state)job_state_parse(db_col_text(st, 2));
        out->retry_count = (int)db_col_int(st, 3);
        store__col_copy(st, 4, out->stages, sizeof(out->stages));
        store__col_copy(st, 5, out->skip_reason, sizeof(out->skip_reason));
        store__col_copy(st, 6, out->error_stage, sizeof(out->error_stage));
        store__col_copy(st, 7, out->error_message, sizeof(out->error_message));
        out->queued = db_col_double(st, 8);
        out->started = db_col_null(st, 9) ? 0 : db_col_double(st, 9);
        out->finished = db_col_null(st, 10) ? 0 : db_col_double(st, 10);
        out->updated = db_col_double(st, 11);
        store__col_copy(st, 12, out->worker, sizeof(out->worker));
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a job");
    }
    store__end(s, st);
    return res;
}

int store_job_counts(store *s, int64_t counts[JOB_N_STATES], double queued_since,
                     int64_t *queued_recent)
{
    memset(counts, 0, JOB_N_STATES * sizeof(*counts));
    db_stmt *st = store__begin(s, Q_JOB_COUNTS, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    if (!st)
        return -1;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int k = job_state_parse(db_col_text(st, 0));
        if (k >= 0)
            counts[k] = db_col_int(st, 1);
    }
    store__end(s, st);
    if (rc != DB_DONE)
        return -1;
    if (!queued_recent)
        return 0;
    st = store__begin(s, Q_JOB_RECENT, "SELECT COUNT(*) FROM jobs WHERE queued >= $1");
    if (!st)
        return -1;
    db_bind_double(st, 1, queued_since);
    rc = db_step(st);
    *queued_recent = rc == DB_ROW ? db_col_int(st, 0) : 0;
    store__end(s, st);
    return rc == DB_ROW ? 0 : -1;
}
