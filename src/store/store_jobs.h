/*
 * store_jobs.h - the job queue: a call's job and its states, the leases workers claim it under
 * (every write under a lease fenced), the worker's writes of a call's results under the lease,
 * job rows and counts, the workers' rows, the sources (a source's scan lease and high-water
 * mark, the folders recordings may be read from, its open calls), the job events, the daily
 * roll-ups and the pipeline's counters. docs/pipeline.md describes the states and leases. The
 * results' types are a call's (store_calls.h, included).
 *
 * Consumers: the worker (src/jobs/worker.c, src/cli/worker_cmd.c: requeue); the sources
 * (src/ingest: vicidial.c, watch.c); the readable folders (src/clients/rec_names.c); the
 * service's queue, metrics and event routes (src/service: svc_metrics.c, svc_qa_summary.c,
 * svc_qa_calls.c, svc_qa_upload.c, svc_events.c, svc_http.c: the upload folder).
 */
#ifndef CQ_STORE_JOBS_H
#define CQ_STORE_JOBS_H

#include "store.h"
#include "store_calls.h"

/* ---- jobs -------------------------------------------------------------------------------- */

/* The states of a call's job (docs/pipeline.md). */
typedef enum job_state {
    JOB_PENDING = 0,
    JOB_ANALYSING,
    JOB_TRANSCRIBING,
    JOB_TRANSCRIBED,
    JOB_SCORING,
    JOB_COMPLETE,
    JOB_SKIPPED,
    JOB_ERROR,
    JOB_N_STATES
} job_state;

const char *job_state_name(job_state st);
int job_state_parse(const char *name); /* -1 when unknown */

/* A job held by a worker: every write under it is refused once the lease is lost (expired, or
 * taken by another worker: the fencing token moved on). */
typedef struct store_lease {
    int64_t job_id, call_id;
    int64_t token; /* the fencing token of this claim */
    char worker[65];
    job_state state; /* where the job stands */
    int retry_count;
} store_lease;

/* Claim the most urgent claimable job (pending, or mid-way with its lease expired, its next
 * attempt due): calls whose leg files the dialer deletes soonest first, then in order queued.
 * 1 with *out, 0 none, -1 error. A job taken back from a worker that lost it counts a retry. */
int store_job_claim(store *s, const char *worker, double now, double lease_sec, store_lease *out);
/* Extend the lease (heartbeat). STORE_OK, STORE_FENCED, STORE_ERR. */
int store_job_renew(store *s, const store_lease *l, double now, double lease_sec);
/* Move to `to`, recording a stage's outcome (`stage` may be NULL) in the call's stages:
 * "done", "not_configured", ... STORE_OK, STORE_FENCED, STORE_ERR. */
int store_job_advance(store *s, store_lease *l, job_state to, const char *stage,
                      const char *stage_outcome, double now);
/* Give the job back (shutdown): claimable again at once, no retry counted. */
int store_job_release(store *s, const store_lease *l, double now);
/* The stage failed: retried after backoff_sec * 2^retry_count, or `error` after max_retries
 * (also at once when !retryable). */
int store_job_fail(store *s, const store_lease *l, const char *stage, const char *message,
                   bool retryable, int max_retries, double backoff_sec, double now);
/* Nothing to analyse (too short, a stub, no audio): `skipped` with the reason. */
int store_job_skip(store *s, const store_lease *l, const char *reason, double now);

/* ---- a call's results under its job's lease (the worker's writes) --------------------------- */

/* The analysis of a held job, in one transaction with its next state: the row replaces any
 * earlier analysis of the call (one per call), the day's roll-up is recomputed. */
int store_job_analysed(store *s, store_lease *l, const char *engine, const char *report_json,
                       const store_figures *f, job_state next, double now);

/* store_job_analysed with the call's envelope stored in the same transaction (replacing any
 * earlier one); env NULL removes an earlier one, which no longer matches the analysis. */
int store_job_analysed_env(store *s, store_lease *l, const char *engine, const char *report_json,
                           const store_figures *f, const store_envelope *env, job_state next,
                           double now);

/* The transcription stage's result under the lease: the transcript (replacing any earlier one
 * of the call, its search rows too) and the job moved to `transcribed`, in one transaction.
 * STORE_OK, STORE_FENCED, STORE_ERR. */
int store_job_transcribed(store *s, store_lease *l, const store_transcript *t, double now);

/* The scoring stage's result under the lease: the scores row (replacing any earlier one of the
 * call), the job moved to `complete` (stages.score = "done"), and the call's roll-up row, in one
 * transaction. A number that is not finite, or a JSON field that is not what it should be,
 * refuses the whole (STORE_ERR, store_errmsg says which). STORE_OK, STORE_FENCED, STORE_ERR.
 * (No scorecard configured: store_job_advance(..., JOB_COMPLETE, "score", "not_configured").) */
int store_job_scored(store *s, store_lease *l, const store_score *sc, double now);

/* Jobs of calls queued since `since` (UTC s) back to pending, for a new configuration: those
 * not held by a worker. Returns how many, or -1. */
int64_t store_requeue(store *s, double since, double now);

/* A job's row, for the API. */
typedef struct store_job {
    int64_t id, call_id;
    job_state state;
    int retry_count;
    char stages[512]; /* JSON object */
    char skip_reason[256], error_stage[32], error_message[512];
    double queued, started, finished, updated; /* <= 0 unknown */
    char worker[65];
} store_job;
int store_job_get(store *s, int64_t call_id, store_job *out); /* 1, 0, -1 */
/* Jobs per state: counts[JOB_N_STATES]; queued_since: those queued since then (UTC s). */
int store_job_counts(store *s, int64_t counts[JOB_N_STATES], double queued_since,
                     int64_t *queued_recent);

/* ---- workers ------------------------------------------------------------------------------ */

typedef struct store_worker {
    char id[65], host[128];
    int pid;
    double started, heartbeat;
    char state[16]; /* "running", "paused", "stopped" */
    char pause_reason[128];
    int64_t jobs_done;
    int64_t current_call; /* <= 0 none */
} store_worker;
int store_worker_put(store *s, const store_worker *w);
int store_worker_list(store *s, store_worker **out, int *n);
/* What a worker's row means at `now`: its state ("running", "paused", "stopped"), or "gone"
 * when it has not beaten for STORE_WORKER_GONE_SEC (killed, or its machine is down). */
#define STORE_WORKER_GONE_SEC 30
const char *store_worker_status(const store_worker *w, double now);

/* ---- ingest ------------------------------------------------------------------------------- */

/* A source's scan lease: only one scan per source at a time across processes. 1 taken, 0 held
 * by another, -1 error. */
int store_ingest_lease(store *s, const char *source, const char *owner, double now,
                       double lease_sec, int64_t *token);
int store_ingest_release(store *s, const char *source, const char *owner);
/* The source's high-water mark (the last recording id read); 0 when none. */
int store_ingest_mark(store *s, const char *source, int64_t *mark);
int store_ingest_set_mark(store *s, const char *source, const char *owner, int64_t token,
                          int64_t mark, double now); /* STORE_FENCED when the lease moved on */
/* The folders recordings may be read from (migration 8): `root`, an absolute real path, as
 * `source` registered it (a watched folder, the upload folder). */
int store_root_add(store *s, const char *root, const char *source, double now);
/* All of them: *roots (free()) holds *n paths. */
int store_roots(store *s, char (**roots)[4096], int *n);
/* Calls of the source still open (their dialer row may change) that are younger than
 * `since` (UTC s): their recording ids. */
int store_ingest_open_calls(store *s, const char *source, double since, char (**ids)[65], int *n);

/* ---- job events (the service's event stream) ---------------------------------------------- */

typedef struct store_event {
    int64_t id, call_id;
    double ts;
    char state[16];
    char source[65], recording_id[65], agent_user[65]; /* of the call ("" unknown) */
} store_event;
/* Events after `after_id`, at most max, oldest first. */
int store_events_since(store *s, int64_t after_id, store_event *out, int max, int *n);
/* The id of the latest event (0 when none). */
int store_events_last(store *s, int64_t *id);
/* Forget the events older than `before` (UTC s): how many, or -1. */
int64_t store_events_prune(store *s, double before);

/* ---- roll-ups ----------------------------------------------------------------------------- */

/* Recompute the daily roll-ups of one day (all sources, agents and campaigns) from the calls,
 * jobs and analyses: the same rows however often it runs. */
int store_rollup_day(store *s, const char *day);

/* ---- counters (the pipeline's metrics) ----------------------------------------------------- */

/* The store keeps these counters itself, in the transaction of each change (docs/pipeline.md):
 *   qa_jobs_finished_total{state}        complete, skipped, error
 *   qa_errors_total{stage,reason}        jobs ended in error
 *   qa_retries_total{stage,reason}       failures retried
 *   qa_skipped_total{reason}             jobs skipped
 *   qa_queue_to_complete_seconds         a histogram (_bucket{le}, _sum, _count)
 * A reason is the class a message starts with ("missing: ...": missing), else "other". */
#define STORE_LATENCY_BUCKETS                                                                      \
    {                                                                                              \
        60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800                                \
    }
/* Add v to counter name{labels} (labels: Prometheus label pairs, "" none): the worker's pauses. */
int store_counter_add(store *s, const char *name, const char *labels, double v);
typedef int (*store_counter_fn)(void *user, const char *name, const char *labels, double v);
/* Every counter, ordered by name and labels. 0 or -1. */
int store_counters(store *s, store_counter_fn fn, void *user);
/* The class of a failure message: its lower-case prefix before ": " (1-24 of [a-z ]), else
 * "other". */
void store_reason_class(const char *message, char out[32]);

#endif /* CQ_STORE_JOBS_H */
