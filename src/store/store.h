/*
 * store.h - where callqa keeps what it knows: calls and their jobs, analyses and level
 * envelopes, transcripts, scores and supervisors' overrides, workers, ingest positions and the
 * folders recordings may be read from, job events, daily roll-ups, the pipeline's counters, LLM
 * requests, and the service's stored results. One interface for every part of the program
 * (service, worker, ingest, clients, command line); SQLite or PostgreSQL behind the same
 * functions (db.h: the URI picks). docs/pipeline.md describes the states and leases; the schema
 * is versioned (store_schema.c) and every older version is migrated on open.
 *
 * It calls no other room: SQLite (libsqlite3), PostgreSQL (libpq), jansson and nettle (the
 * copy's checksums). It is on the ground floor as the only code with a database header (only
 * src/store/ includes one), so that the SQL, the schema and the two dialects stay in one room and
 * the rooms above keep their state through one interface, none of them knowing which database
 * it is.
 *
 * Thread safety: a store is one connection under a mutex; share it between threads freely.
 * Several processes may open the same store (SQLite: WAL and a busy timeout).
 */
#ifndef CQ_STORE_H
#define CQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* Open (creating and migrating as needed) "PATH" or "sqlite:PATH". NULL with msg. */
store *store_open(const char *uri, char *msg, size_t msgsz);
void store_close(store *s);
int store_ping(store *s);           /* 0 reachable */
int store_schema_version(store *s); /* the version the store is at */
const char *store_errmsg(store *s); /* the last database error, for logs */

/* ---- stored results of the service's /analyze (calls of no source) ------------------------- */

typedef struct store_result {
    int64_t id;
    char server[65], file[256];
    char identity[160], engine[32], source[64];
    char validators[512];
    double created, checked;
    char *report; /* JSON (owned; free with store_result_free) */
} store_result;

/* 1 found, 0 none, -1 error. */
int store_result_latest(store *s, const char *server, const char *file, const char *engine,
                        store_result *out);
int store_result_put(store *s, const store_result *r, int64_t *id);
int store_result_touch(store *s, int64_t id, double checked);
int store_result_get(store *s, int64_t id, store_result *out);
int store_result_list(store *s, double since, int limit, store_result **rows, int *n);
int64_t store_result_delete(store *s, const char *server, const char *file); /* NULLs: all */
void store_result_free(store_result *r);

/* ---- calls ------------------------------------------------------------------------------- */

/* A call as the dialer (or an upload, or a watched folder) describes it. Empty strings and
 * negative numbers are unknown (stored as NULL). */
typedef struct store_call {
    int64_t id;
    char source[65];       /* the configured name of the dialer, folder or "upload" */
    char recording_id[65]; /* unique within the source */
    char vicidial_id[65], uniqueid[65], lead_id[32];
    char agent_user[65], agent_name[256];
    char campaign_id[65]; /* the campaign (outbound) or in-group (inbound) */
    char campaign_name[256];
    char direction[16]; /* "inbound", "outbound" or "" */
    char call_date[20]; /* "YYYY-MM-DD HH:MM:SS", the dialer's local time */
    char tz[64];        /* the source's IANA time zone */
    double call_epoch;  /* UTC seconds; < 0 unknown */
    int length_sec;     /* < 0 unknown */
    char disposition[33], term_reason[33];
    char audio[1024]; /* the recording: a path, or NAME:RELATIVE on recording server NAME */
    char audio_in[1024], audio_out[1024]; /* its leg files, when known (paths or NAME:...) */
    double orig_deadline;  /* when the dialer deletes the leg files (UTC s); <= 0 none */
    bool open;             /* the dialer may still change the row (recording in progress):
                              the job cannot be claimed until the call is put closed */
    char skip_reason[128]; /* enqueue only: non-empty, the job starts `skipped` with it */
} store_call;

/* Enqueue, idempotently: a new call is inserted with a pending job (*created true); a call
 * already known (same source and recording_id) has its metadata updated (unknown fields keep
 * their stored value) and keeps its job. An open call's pending job is held (not claimable)
 * until the call is put closed: then it is claimable, or `skipped` when that put carries a
 * skip_reason. Returns 0 or -1. */
int store_call_put(store *s, const store_call *c, double now, int64_t *id, bool *created);
int store_call_get(store *s, int64_t id, store_call *out); /* 1, 0, -1 */
/* By source and recording_id; source NULL: any source (the first by id). 1, 0, -1. */
int store_call_find(store *s, const char *source, const char *recording_id, store_call *out);

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

enum { STORE_OK = 0, STORE_FENCED = 1, STORE_ERR = -1 };

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

/* What the queryable columns of an analysis hold (from the report). Negative or NaN: unknown. */
typedef struct store_figures {
    double duration_sec;
    int legs;             /* 1 (a mono mix) or 2 */
    double speech_pct[2]; /* inbound, outbound */
    double mos[2];
    int one_way; /* 1, 0, or -1 unknown */
    double talk_sec[2];
    double dead_air_sec, overtalk_sec, hold_sec;
    int hold_count, tone_count, dtmf_count;
    char warning_codes[512];   /* comma-separated */
    bool has_clipping;         /* clipping_pct is known */
    double clipping_pct;       /* the larger of the legs' clipped samples, % */
    bool has_level;            /* level_db is known */
    double level_db;           /* the lower of the levels of the legs that talked: the P.56
                                  active speech level, else the RMS level, dBFS */
    char mos_model[32];        /* the model of mos[] ("NISQA v2", "DNSMOS P.835 OVRL": both legs
                                  from one model, cq_report_mos); "" when no leg has one */
    double net_mos;            /* the network's MOS (NaN: no capture, or no stream with one) */
    char net_mos_model[32];    /* its model ("ITU-T G.107 E-model") */
    char redaction[8];         /* "ok", "failed" (held back from playback), "" not redacted */
    char redacted_audio[1100]; /* the redacted copy of its audio, "" none */
} store_figures;

/* The analysis of a held job, in one transaction with its next state: the row replaces any
 * earlier analysis of the call (one per call), the day's roll-up is recomputed. */
int store_job_analysed(store *s, store_lease *l, const char *engine, const char *report_json,
                       const store_figures *f, job_state next, double now);

/* A call's redaction as its analysis stored it: state "ok", "failed" or "" (not redacted), and
 * the redacted copy's path ("" none). 1, 0 (no analysis), -1. */
int store_redaction_get(store *s, int64_t call_id, char state[8], char *audio, size_t n);

/* The calls of call_date since_day ("YYYY-MM-DD") or later whose analysis has no redaction
 * state (or that have no analysis): *ids (malloc'd), *n. 0, or -1. */
int store_redact_candidates(store *s, const char *since_day, int64_t **ids, int *n);
/* A call's stored report, and its score's detail, replaced (callqa store redact): 1, 0 (no such
 * row), -1. */
int store_report_set(store *s, int64_t call_id, const char *report);
int store_score_detail_set(store *s, int64_t call_id, const char *detail);

/* Pause and resume marks (redact_marks): sent for a call while it was recorded, by the dialer's
 * id of the call (its uniqueid or recording id), at ts (UTC s). */
typedef struct store_mark {
    bool pause; /* else a resume */
    double ts;
} store_mark;
/* who: the sender (a user's name, "token", "-"); client: its address; scope: what of the calls
 * the sender may see, as access.h writes a scope ("agent:X", "campaign:A,campaign:B"), NULL
 * every call (v18). 0, -1. */
int store_mark_add(store *s, const char *call_ref, bool pause, double ts, double now,
                   const char *who, const char *client, const char *scope);
/* The marks of a call known by either id (NULL or "": none), in time order, those that keep
 * (NULL: every one) says apply: it is given each mark's sender's scope (NULL: every call, or a
 * mark stored before v18 kept it). At most max into out; the count of those kept (it may be
 * over max), or -1. keep runs with the store locked: it must not call the store. */
typedef bool (*store_mark_keep_fn)(void *user, const char *scope);
int store_marks_get(store *s, const char *ref1, const char *ref2, store_mark_keep_fn keep,
                    void *user, store_mark *out, int max);

/* A call's level envelope (call_envelopes, one per call): the step, s, and the legs as a JSON
 * object {leg: [tenths of a dB FS, integers]} (the report's leg names: inbound, outbound). */
typedef struct store_envelope {
    int64_t call_id;
    double step_sec;
    char *legs; /* get: malloc'd, the caller frees it */
} store_envelope;
/* store_job_analysed with the call's envelope stored in the same transaction (replacing any
 * earlier one); env NULL removes an earlier one, which no longer matches the analysis. */
int store_job_analysed_env(store *s, store_lease *l, const char *engine, const char *report_json,
                           const store_figures *f, const store_envelope *env, job_state next,
                           double now);
/* An envelope on its own, in place of any earlier one of the call: STORE_OK or STORE_ERR
 * (no such call, a step that is not > 0, legs NULL). */
int store_envelope_put(store *s, const store_envelope *env, double now);
/* The call's envelope: 1 (out filled, out->legs to free), 0 none, -1 error. */
int store_envelope_get(store *s, int64_t call_id, store_envelope *out);

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

/* ---- read-only queries (store_ro*.c; POST /ask, docs/ask.md) ----------------------------------
 *
 * A connection of its own on which no query can write, whoever wrote the query: each backend's
 * database engine refuses writes in layers that each hold on their own, and the refusing layer is
 * named in the result. The backends:
 *   sqlite      store_ro_sqlite.c: opened read-only and defensive, an authorizer that allows
 *               SELECT, the allow-listed columns ("table.column" or "table.*") and functions
 *               only, one statement, sqlite3_stmt_readonly, a time limit;
 *   postgresql  store_ro_pg.c: the QA store's curated views (a schema of views over the
 *               allow-listed columns, read by a role with SELECT on them only, set_config, the
 *               large objects, dblink and the server's files out of its reach, checked at
 *               open), BEGIN READ ONLY, SET LOCAL statement_timeout, the caller's scope as a
 *               bound parameter, one statement (the extended protocol) that returns rows, an
 *               EXPLAIN estimate cap;
 *   mariadb     store_ro_my.c: ViciDial's database on a replica: an account checked at open to
 *               hold no write or FILE privilege and no readable column outside the allow-list,
 *               a read-only transaction, no multi-statements, max_statement_time and a KILL
 *               QUERY watchdog, an EXPLAIN estimate cap.
 * Layer names: "authorizer", "prepare", "one_statement", "readonly", "explain", "privilege",
 * "read_only_server", "read_only_transaction", "timeout", "allow_list", "engine" (docs/ask.md
 * says which backend uses which).
 */
typedef struct store_ro store_ro;
typedef struct store_ro_limits {
    int max_rows;        /* 0: 50 */
    size_t max_bytes;    /* of the values; 0: 1 MiB */
    double timeout_sec;  /* 0: 10 */
    double max_estimate; /* the planner's row estimate above which a query is refused ("explain",
                            PostgreSQL and MariaDB); 0: 1e6 */
    const char *scope;   /* the caller's scope (JSON text, a bound parameter of the views), or
                            NULL: every call. PostgreSQL: {"campaigns": ["id", ...]}, the calls
                            of those campaigns and the rows of those calls (refused, layer
                            "scope", when it is anything else) */
} store_ro_limits;
typedef struct store_ro_result {
    char *json;      /* {"columns": [...], "rows": [[...]], "truncated": bool} (free with
                        store_ro_result_free) */
    int rows;        /* rows returned */
    bool truncated;  /* cut at max_rows or max_bytes */
    char layer[24];  /* refused: the layer's name (above) */
    char error[300]; /* why */
} store_ro_result;

/* SQLite: the store's file, the allow-list (NULL-terminated). NULL with msg. */
store_ro *store_ro_open_sqlite(const char *path, const char *const *allow, char *msg, size_t n);

/* PostgreSQL: the QA store through its curated views, made (or brought up to date) at open by
 * the store's account, with the role, then checked; NULL with msg naming what the role can
 * reach and the SQL an administrator must run when the account may not do it all. */
typedef struct store_ro_pg_config {
    const char *conninfo;     /* the store's PostgreSQL URI (its password from PGPASSFILE or
                                 the URI's password_file handling of db_pg.c) */
    const char *const *allow; /* the views' columns: "table.column" or "table.*" */
    const char *schema;       /* the views' schema; NULL: "callqa_ask" */
    const char *role;         /* the role that reads them; NULL: "callqa_ask" */
} store_ro_pg_config;
store_ro *store_ro_open_pg(const store_ro_pg_config *c, char *msg, size_t n);

/* MariaDB: ViciDial's database, on a replica. */
typedef struct store_ro_my_config {
    const char *host;
    unsigned port; /* 0: 3306 */
    const char *user, *password, *db;
    const char *const *allow; /* "table.column" or "table.*": the columns the account may read */
    const char *const *never; /* "table.column": credential columns, refused whatever allow says */
    bool primary; /* true: the server may be a primary (not read-only): 2 s per statement */
} store_ro_my_config;
store_ro *store_ro_open_mariadb(const store_ro_my_config *c, char *msg, size_t n);
/* ViciDial's credential columns ("table.column", NULL-terminated; docs/ask.md): refused by
 * store_ro_open_mariadb whatever the allow-list and c->never say. */
extern const char *const store_ro_vicidial_never[];

/* The backend: "sqlite", "postgresql" or "mariadb". */
const char *store_ro_kind(const store_ro *r);
/* 0 with out->json; -1 refused or failed, out->layer and out->error say which and why. */
int store_ro_query(store_ro *r, const char *sql, const store_ro_limits *lim, store_ro_result *out);
void store_ro_result_free(store_ro_result *out);
void store_ro_close(store_ro *r);

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

/* ---- transcripts ------------------------------------------------------------------------- */

/* One segment of a transcript, for search. */
typedef struct store_tx_segment {
    const char *speaker; /* "agent", "customer", "mixed" */
    double start, end;   /* on the call's clock */
    const char *text;
} store_tx_segment;

typedef struct store_transcript {
    int64_t call_id;
    const char *engine;           /* "openai", "whispercpp", "import" */
    const char *model, *language; /* NULL when unknown */
    int64_t word_count;
    double seconds; /* transcription time; NaN when unknown */
    double audio_sent_sec, audio_recorded_sec, hallucination_rate; /* NaN when unknown */
    const char *config_hash; /* the backend configuration's (asr_config_hash), or "import" */
    const char *text;        /* the whole text: one "speaker: text" line per turn */
    const char *detail;      /* the report's transcript block (JSON) */
    const store_tx_segment *segs;
    size_t n_segs;
} store_transcript;

/* The transcription stage's result under the lease: the transcript (replacing any earlier one
 * of the call, its search rows too) and the job moved to `transcribed`, in one transaction.
 * STORE_OK, STORE_FENCED, STORE_ERR. */
int store_job_transcribed(store *s, store_lease *l, const store_transcript *t, double now);
/* A transcript made elsewhere (an import): stored, replacing any earlier one; the job is not
 * moved. STORE_OK or STORE_ERR. */
int store_transcript_put(store *s, const store_transcript *t, double now);

/* ---- scores ------------------------------------------------------------------------------ */

/* The old scorecard's eight categories, the scores table's columns (compat-api.md). */
#define STORE_SCORE_CATS 8
extern const char *const store_score_cats[STORE_SCORE_CATS]; /* "greeting", "customer_id", "needs",
                                                               "product", "communication",
                                                               "resolution", "closing",
                                                               "compliance" */
/* The index of one of those keys, or -1. */
int store_score_cat(const char *key);

/* A call's scores as the scoring stage made them. Every number has its has_ flag: a zeroed
 * struct is "nothing scored", and a value without its flag is stored as NULL, never 0. Texts
 * may be NULL (or "") for none. */
typedef struct store_score {
    bool has_total;
    double total_score; /* 0-100, when every category was scored */
    bool has_partial;
    double partial_score; /* 0-100 over the categories scored */
    double coverage;      /* the weight scored, 0-1 */
    bool flagged;
    const char *flag_reason;
    bool has_cat[STORE_SCORE_CATS];
    double cat[STORE_SCORE_CATS]; /* by store_score_cats; the card's other categories live in
                                     detail only */
    const char *summary;
    const char *strengths, *improvements; /* JSON arrays of strings */
    const char *llm_provider, *llm_model; /* the LLM that answered */
    const char *scorecard;                /* the card's name */
    const char *backend;                  /* what judged it: "rules", or the LLM provider */
    const char *scorecard_hash;           /* SHA-256 of the card's text */
    const char *provider_hash;            /* SHA-256 of the LLM configuration ("" without one) */
    const char *topic_class, *topic_subclass;
    bool has_customer_shift;
    double customer_shift;  /* the customer's sentiment, last - first quarter, -10..10 */
    bool has_customer_drop; /* false: not known (NULL) */
    bool customer_drop;     /* the customer went from >= 0 to <= -2 */
    const char *detail;     /* the whole result (sc_call_to_json): a JSON object */
} store_score;

/* The scoring stage's result under the lease: the scores row (replacing any earlier one of the
 * call), the job moved to `complete` (stages.score = "done"), and the call's roll-up row, in one
 * transaction. A number that is not finite, or a JSON field that is not what it should be,
 * refuses the whole (STORE_ERR, store_errmsg says which). STORE_OK, STORE_FENCED, STORE_ERR.
 * (No scorecard configured: store_job_advance(..., JOB_COMPLETE, "score", "not_configured").) */
int store_job_scored(store *s, store_lease *l, const store_score *sc, double now);

/* A supervisor's scores for categories of a scored call, kept beside the automatic ones (the
 * newest per category is shown; the automatic scores and the roll-ups do not change). Each
 * score is 1-5; supervisor is required, comment may be NULL. All of them or none are stored.
 * 1 stored, 0 the call has no scores yet (or no such call), -1 error. */
int store_score_overrides(store *s, int64_t call_id, const char *const *categories,
                          const int *scores, size_t n, const char *supervisor, const char *comment,
                          double now);
/* The same for one category. */
int store_score_override(store *s, int64_t call_id, const char *category, int score,
                         const char *supervisor, const char *comment, double now);

/* ---- LLM requests ------------------------------------------------------------------------- */

/* One attempt at an LLM (a retry is another row). Negative numbers are unknown (NULL). */
typedef struct store_llm_call {
    double ts;            /* when it was sent, UTC s */
    int64_t call_id;      /* the call it was for; <= 0 none (/ai-analyze, /ask) */
    const char *purpose;  /* "score", "topic", "ai-analyze", "ask", ... */
    const char *provider; /* the configured provider's name */
    const char *model;
    int64_t input_tokens, output_tokens;
    double latency_sec, cost_usd;
    const char *outcome; /* "ok", or the failure's class: "timeout", "http_429", "refusal" */
} store_llm_call;

/* Record it, with the counters (docs/pipeline.md, "Metrics"): qa_llm_requests_total{purpose,
 * provider,outcome}, qa_llm_tokens_total{provider,direction}, qa_llm_cost_usd_total{provider},
 * qa_llm_latency_seconds_sum/_count{provider}. Its day is the local date of ts. 0 or -1. */
int store_llm_record(store *s, const store_llm_call *c);
/* The tokens (input + output) and cost of one day's requests (local date, YYYY-MM-DD): for the
 * daily caps. Unknown figures count 0. 0 or -1. */
int store_llm_usage_day(store *s, const char *day, long long *tokens, double *cost);

/* ---- POST /ask's record (docs/ask.md) ---------------------------------------------------------
 */

typedef struct store_ask_row {
    double ts;            /* when it was asked, UTC s */
    const char *who;      /* who asked: the credential's kind and the client ("token 10.0.0.5") */
    const char *question; /* the question, or the conversation's last user turn */
    int status;           /* the HTTP status answered */
    int rounds, queries, refused;
    double elapsed_sec;
    const char *error;  /* the failure, or NULL */
    const char *detail; /* JSON: the queries as run, each with its source, rows, time, refusal */
} store_ask_row;
/* Record one /ask (its day: the local date of ts). 0 or -1. */
int store_ask_record(store *s, const store_ask_row *a);

/* ---- retention and erasure (store_retain.c; docs/privacy.md, "Retention and erasure") ------
 *
 * What callqa keeps of a call falls in four kinds, each kept for its own number of days from
 * the call's time (call_epoch, else when callqa learned of it), 0 meaning forever:
 *   audio       callqa's own copies of the recording: the files a file-path column names
 *               beneath one of the owned folders (the uploads; later the redacted copies),
 *               with the capture kept beside an upload; the column is set NULL. A path beneath
 *               a protected folder (the dialer's recordings) is never deleted.
 *   transcript  the transcript, its search rows (FTS5 / tsvector), and the transcript's words
 *               in the scores: evidence quotes and topic phrases
 *   report      the analysis JSON (replaced by STORE_REPORT_REMOVED; its figures stay, the
 *               roll-ups and calls list read them) and the level envelope
 *   llm         the call's LLM requests (llm_calls rows older than the period too: today's
 *               count against the daily caps) and the LLM's text in the scores (summary,
 *               strengths, improvements, the reasons of the categories it scored)
 * Scores, overrides, roll-ups, jobs and events outlive every period. Each deletion is one
 * transaction per call, checked before its commit (the rows are gone, the search finds none of
 * the transcript's words for the call, the files are gone) and logged in `deletions`. */
typedef enum store_keep {
    STORE_KEEP_AUDIO = 0,
    STORE_KEEP_TRANSCRIPT,
    STORE_KEEP_REPORT,
    STORE_KEEP_LLM,
    STORE_KEEP_N
} store_keep;
extern const char *const store_keep_names[STORE_KEEP_N]; /* "audio", "transcript", ... */

/* What an analysis' report becomes when its period is over. */
#define STORE_REPORT_REMOVED "{\"removed\":\"retention\"}"
#define STORE_RETAIN_MAX_DAYS 36500

/* One source's or campaign's periods; days < 0: not set (the next level's apply). */
typedef struct store_retain_rule {
    char name[65];
    int days[STORE_KEEP_N];
} store_retain_rule;

/* The periods: a campaign's rule first, then its source's, then the defaults. */
typedef struct store_retention {
    int days[STORE_KEEP_N]; /* the defaults, 0 forever */
    store_retain_rule *campaigns, *sources;
    int n_campaigns, n_sources;
} store_retention;

/* Parse "NAME=KIND:DAYS[+KIND:DAYS...][,NAME=...]" (KIND audio, transcript, report, llm or all;
 * DAYS 0-36500, 0 forever; NAME 1-64 bytes without '=', ',', spaces) into *rules (malloc'd,
 * *n of them; "" or NULL: none). `setting` names the text in messages. 0, or -1 with msg
 * saying which item is wrong and why. */
int store_retain_parse(const char *setting, const char *text, store_retain_rule **rules, int *n,
                       char *msg, size_t msgsz);
void store_retention_free(store_retention *r); /* the rules; the struct is the caller's */
/* Any period set (anything could ever be due)? */
bool store_retention_any(const store_retention *r);
/* The period of a kind for a call of this source and campaign, days (0 forever). */
int store_retention_days(const store_retention *r, const char *source, const char *campaign,
                         store_keep k);

/* ---- the files of a call (store_files.c; docs/privacy.md, "What callqa keeps of a call") ----
 * Every file callqa keeps of a call, by kind: the purge, the erasure and their verification
 * walk this list (and the columns that name its files), and the code that writes or reads a
 * file found from another takes its name from here. */
typedef enum store_file_kind {
    STORE_FILE_RECORDING,     /* calls.audio: the mix or the stereo file (an upload as sent) */
    STORE_FILE_LEG_IN,        /* calls.audio_in */
    STORE_FILE_LEG_OUT,       /* calls.audio_out */
    STORE_FILE_REDACTED,      /* analyses.redacted_audio: the redacted copy */
    STORE_FILE_CAPTURE,       /* beside a recording: BASE.pcap (BASE: no extension, no leg) */
    STORE_FILE_CAPTURE_NG,    /* BASE.pcapng */
    STORE_FILE_LIVE,          /* beside a recording: BASE.live.jsonl (callqa live --record-dir) */
    STORE_FILE_LIVE_PART,     /* BASE.live.jsonl.part: one whose writer stopped */
    STORE_FILE_REDACTED_PART, /* the redacted copies' folder: .ID.wav.PID, a copy unfinished */
    STORE_FILE_TRANSCODE,     /* the service's transcode cache of a file named by a column */
    STORE_FILE_KINDS
} store_file_kind;
/* The kind as the purge's report and docs/privacy.md name it. */
const char *store_file_name(store_file_kind k);
/* A recording's path without its extension (and, with `legs`, without a ViciDial leg's -in,
 * -out or -all), into base[n]: what the files beside it are named from. 0, or -1 when there is
 * no name or it is too long. */
int store_file_base(const char *rec, bool legs, char *base, size_t n);
/* The file of kind k (a STORE_FILE_CAPTURE* or STORE_FILE_LIVE* kind) beside the recording
 * rec. 0, or -1 (another kind, no name, too long). */
int store_file_beside(const char *rec, store_file_kind k, char *out, size_t n);
/* The redacted copy of a call in dir (pid 0: DIR/ID.wav), or the one a writer of that pid is
 * making (DIR/.ID.wav.PID, renamed into place when verified). 0, or -1 when too long. */
int store_file_redacted(const char *dir, int64_t call_id, long pid, char *out, size_t n);
/* The service's transcode cache file of the recording at `path` (as the service opens it; st its
 * stat): hex, its name's 32 hex digits, from the path, size, mtime, inode and device, and
 * cache_dir/hex.wav into out (NULL: the name only). 0, or -1 when too long. */
struct stat;
int store_file_transcode(const char *cache_dir, const char *path, const struct stat *st,
                         char hex[33], char *out, size_t n);

/* The folders of files: owned (callqa made the files: they may be deleted) and protected (the
 * dialer's: never, even beneath an owned folder). NULL-terminated lists of paths; NULL none. */
typedef struct store_file_roots {
    const char *const *owned;
    const char *const *protect;
    const char *recordings_dir; /* a relative path in a row is beneath it (NULL: the cwd) */
    const char *redact_dir;     /* the redacted copies' folder (NULL: none but the copies') */
    const char *transcode_dir;  /* the service's transcode cache (NULL: none) */
} store_file_roots;

/* What was (or, in a dry run, would be) deleted of one call. */
typedef struct store_deletion {
    int64_t call_id;
    char source[65], recording_id[65], campaign_id[65]; /* "" for an erased call's log */
    double age_days;                                    /* since the call's time */
    unsigned kinds;      /* bits 1 << store_keep (erasure: all, and the call's row) */
    int64_t rows;        /* rows deleted, all tables together */
    int64_t search_rows; /* of those, the transcript's search rows */
    int files;           /* files deleted */
    int files_kept;      /* files of the list kept: beneath a protected folder, outside callqa's
                            folders (the dialer's recording), not a regular file */
    int deleted_kind[STORE_FILE_KINDS]; /* of files, by kind */
    int kept_kind[STORE_FILE_KINDS];    /* of files_kept, by kind */
    int checked;                        /* the paths of the list checked gone afterwards */
    int quotes;                         /* transcript quotes and phrases taken out of the scores */
    int llm_texts;                      /* LLM texts taken out of the scores */
    bool erased;                        /* an erasure: the call and every row of it */
    int status;      /* 0 done (or due, dry run); -1 failed, nothing of it changed */
    char error[512]; /* why it failed */
} store_deletion;
typedef void (*store_deletion_fn)(void *user, const store_deletion *d);

/* The totals of a run. */
typedef struct store_purge_totals {
    int calls, failed;
    int64_t rows, search_rows;
    int files, quotes;
} store_purge_totals;

/* Delete what is due at `now` (UTC s) under the periods: per call, in one transaction, checked
 * and logged (why "retention"); dry_run: only say what is due. fn (may be NULL) is called for
 * each call with something due. 0 when every due call was done (or nothing was due), -1 when
 * one or more failed (each failure said to fn, the others done) or the store failed
 * (store_errmsg). */
int store_purge(store *s, const store_retention *r, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot);
/* The same a part at a time, for a loop that must not stop long: the calls after *cursor (0: from
 * the first) until budget_sec has passed (0: no limit); *cursor is then where to go on, or 0 when
 * the last call was seen. Adds to *tot (the caller zeroes it at the start of a run). 0, or -1
 * when the store failed (a call's failure is said to fn and counted in tot->failed). */
int store_purge_step(store *s, const store_retention *r, const store_file_roots *roots, double now,
                     bool dry_run, double budget_sec, int64_t *cursor, store_deletion_fn fn,
                     void *user, store_purge_totals *tot);

/* One caller's calls, by one of: the lead id, or the phone number (its digits, 6 to 20: a run
 * of exactly those digits in the name of a recording file of the call, as ViciDial names
 * them). */
typedef struct store_erase_who {
    const char *lead_id; /* NULL: not by lead */
    const char *phone;   /* NULL: not by number */
} store_erase_who;
/* Erase every row of the caller's calls (the call, its job, analysis, envelope, transcript and
 * search rows, scores, overrides, LLM requests, events; its day's roll-up recomputed without
 * it), callqa's own files of it, and the service's stored results (calls of no source) whose
 * recording file name carries the number; each call in one transaction, checked and logged
 * (why "erasure", with no identifier of the caller). Returns as store_purge. */
int store_erase(store *s, const store_erase_who *who, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot);

/* A phone number's digits (spaces, dashes, dots, brackets and a leading '+' dropped): 0, or -1
 * when it has anything else or fewer than 6 / more than 20 digits. */
int store_phone_digits(const char *phone, char out[24]);

/* The deletions' log, oldest first: ts, call_id, source, recording_id, what, why, detail. */
typedef struct store_deletion_row {
    int64_t id, call_id; /* call_id 0: none */
    double ts;
    char source[65], recording_id[65], what[16], why[16];
    char detail[512];
} store_deletion_row;
int store_deletions(store *s, int64_t after_id, store_deletion_row *out, int max, int *n);
/* ---- users, their tokens and the audit trail (store_users.c) ----------------------------------
 * The store keeps what src/access/ makes: a password's argon2id string and a token's hash, never
 * a password or a token. The audit trail is only appended to (and a trigger refuses any UPDATE
 * or DELETE of it): this API has no way to change or remove a row. */

typedef struct store_user {
    int64_t id;
    char name[65];
    char role[16];      /* "admin", "supervisor", "analyst", "agent" */
    char scopes[2400];  /* "" or "campaign:A,campaign:B" or "agent:X" (access.h) */
    char password[128]; /* the argon2id string; "" when the user has none (tokens only) */
    bool disabled;
    double created;     /* UTC s */
    int64_t cred_epoch; /* moved on by every new password and every disable or enable (v18): a
                           session made before is no longer the user's */
} store_user;

/* A new user: 0 (*id set when id is not NULL), 1 when the name is taken, -1 on error. password:
 * the hash string, or NULL. */
int store_user_add(store *s, const char *name, const char *role, const char *scopes,
                   const char *password, double now, int64_t *id);
/* A user by name (name not NULL) or else by id: 1 found, 0 none, -1 error. */
int store_user_get(store *s, const char *name, int64_t id, store_user *out);
/* Every user, by name (*out malloc'd, *n of them; free(*out)). 0 or -1. */
int store_user_list(store *s, store_user **out, int *n);

/* ---- agents' voice profiles (store_profiles.c; docs/privacy.md, "Agent voice profiles") -------
 * Biometric data: an agent's voice profile per campaign, the running mean of the voice prints
 * of the agent leg of the agent's two-leg calls (the worker adds them only for the campaigns of
 * voice_profile_campaigns). */
#define STORE_VP_MAX_DIM 64
typedef struct store_voice_profile {
    char agent[65], campaign[65];
    double v[STORE_VP_MAX_DIM]; /* the mean print */
    int dim;
    int64_t calls;     /* the calls it was made from */
    double speech_sec; /* their speech, s */
    double updated;    /* UTC s */
} store_voice_profile;

/* The profile of agent in campaign: 1, 0 (none), -1. */
int store_voice_profile_get(store *s, const char *agent, const char *campaign,
                            store_voice_profile *out);
/* One call's print (dim numbers, made from speech_sec of speech) added to agent's profile in
 * campaign, in one transaction: the profile becomes the mean over its calls (created with this
 * print when there is none; a print of another dim replaces it). *calls (when not NULL) gets
 * the calls it now holds. An existing row is locked while it is updated (PostgreSQL: FOR
 * UPDATE); two workers creating the same agent's first profile at once keep one of the two
 * prints. 0, or -1. */
int store_voice_profile_add(store *s, const char *agent, const char *campaign, const double *v,
                            int dim, double speech_sec, double now, int64_t *calls);
/* Erase every voice profile of agent (every campaign), logged in the deletions table (what
 * "voice_profile", why "erasure", the campaigns and rows in its detail; no print). dry_run:
 * only count. *n gets the profiles (that would be) deleted. 0, or -1. */
int store_voice_profile_erase(store *s, const char *agent, bool dry_run, double now, int *n);
/* Disable (or enable again) a user and so their sessions and tokens: 1 done, 0 no such user,
 * -1 error. */
int store_user_set_disabled(store *s, const char *name, bool disabled);
/* A user's new password hash: 1 done, 0 no such user, -1 error. Each of the two moves the user's
 * cred_epoch on, so that the sessions made before end. */
int store_user_set_password(store *s, const char *name, const char *password);
/* Keep a token's hash for a user, with a label (may be ""): 0 or -1. */
int store_token_add(store *s, int64_t user_id, const char *hash, const char *label, double now);
/* The user a token hash belongs to: 1 found (out filled), 0 none, -1 error. */
int store_token_user(store *s, const char *hash, store_user *out);
/* A user's tokens, oldest first (never their hashes): fn for each (non-zero stops). 0 or -1. */
typedef int (*store_token_fn)(void *user, int64_t id, const char *label, double created);
int store_token_list(store *s, int64_t user_id, store_token_fn fn, void *user);
/* Revoke a user's token by its id, or every token of theirs (token_id 0): the tokens revoked
 * (0: none such), or -1. */
int store_token_revoke(store *s, int64_t user_id, int64_t token_id);

/* One entry of the audit trail. */
typedef struct store_audit_row {
    int64_t id;         /* given by the store (0 when appending) */
    double ts;          /* UTC s */
    const char *who;    /* the user's name, or "token" (the shared token), or "-" */
    const char *role;   /* the caller's role then */
    const char *action; /* listen, download, search, override, ask, purge, erase, login, ... */
    const char *target; /* the call id, the query, the user logging in; NULL none */
    const char *client; /* the client's address; NULL unknown */
    int status;         /* the HTTP status answered */
} store_audit_row;
/* Append one entry: 0 or -1. */
int store_audit_append(store *s, const store_audit_row *a);
/* Append n entries in one transaction (a group commit): 0, or -1 with none of them kept. */
int store_audit_append_many(store *s, const store_audit_row *a, int n);
/* Called for each entry, oldest first; non-zero stops. Runs with the store locked: it must not
 * call the store. The strings are valid during the call only. */
typedef int (*store_audit_fn)(void *user, const store_audit_row *a);
/* The entries with an id above after_id and a time at or after since (UTC s), at most limit
 * (<= 0: all), oldest first. 0 or -1. */
int store_audit_list(store *s, int64_t after_id, double since, int limit, store_audit_fn fn,
                     void *user);

/* ---- read-only queries for the API (store_query.c) --------------------------------------- */

/* A value of a row or a parameter. */
typedef enum store_vtype { SV_NULL = 0, SV_INT, SV_REAL, SV_TEXT } store_vtype;
typedef struct store_val {
    const char *name; /* the column's name (rows) */
    store_vtype t;
    int64_t i;
    double d;
    const char *s;
} store_val;
#define SV_I(v) ((store_val){.t = SV_INT, .i = (v)})
#define SV_D(v) ((store_val){.t = SV_REAL, .d = (v)})
static inline store_val store_text_val(const char *s)
{
    return (store_val){.t = s ? SV_TEXT : SV_NULL, .s = s};
}
#define SV_S(v) store_text_val(v) /* NULL: SQL NULL */

/* The queries, each with its parameters in order ($1, $2, ...). Days are "YYYY-MM-DD". */
typedef enum store_qid {
    SQ_HEALTH = 0,  /* -: total_calls, complete_calls, last_processed (UTC s or null) */
    SQ_DAILY,       /* from, to[, campaign]: one row per day with calls: day, total_calls,
                       analysed, skipped, errors, talk_sec, hold_sec, dead_air_sec,
                       one_way_calls, mos_sum, mos_n, scored (calls with a total), score_sum,
                       score_min, score_max, flagged, KEY_sum and KEY_n of each category of
                       store_score_cats (only the calls that scored it), partial_n,
                       partial_sum */
    SQ_AGENT,       /* agent: agent_name (the latest known) */
    SQ_AGENT_DAYS,  /* agent, from, to: day, calls, analysed, ... as SQ_DAILY, of one agent */
    SQ_CALL,        /* id: a call by recording_id (or uniqueid), with its job and analysis */
    SQ_CALLS,       /* from, to, agent, campaign, state, one_way, mos_below, dead_air_min,
                       limit, offset, flagged, match (the FTS5 query of SQ_SEARCH: calls with a
                       transcript segment that matches), dtmf (1: with DTMF digits, 0: analysed
                       without), campaigns (a JSON array of campaign ids: the calls of those
                       only, a caller's scope) (NULL: no filter): the calls, newest first
                       (store_calls for the other orders) */
    SQ_CALLS_COUNT, /* the same filters: total */
    SQ_QUEUE,       /* -: state, n */
    SQ_REPORT,      /* call id: report */
    SQ_FLAGGED,     /* from, to, agent, campaign, limit, campaigns (a JSON array, or NULL):
                       flagged calls, lowest total (or
                       partial score, without a total) first */
    SQ_LEADERBOARD, /* from, to, min_calls: per agent: agent_user, agent_name, calls,
                       score_sum, score_min, score_max, flagged */
    SQ_DAY_AGENTS,  /* from, to, min_calls: per day and agent with scored calls: day,
                       agent_user, n, score_sum */
    SQ_TRANSCRIPT,  /* call id: text, detail, language, word_count, seconds */
    SQ_SEARCH,      /* match (FTS5), from, to, agent, campaign, limit, campaigns (a JSON array,
                       or NULL): the segments that
                       match, newest call first: call_id, recording_id, agent_user,
                       campaign_id, call_date, segment, speaker, start, end, text, marked (the
                       text with each hit between \x02 and \x03) */
    SQ_SCORE,       /* call id: the scores row: scorecard, backend, scorecard_hash,
                       provider_hash, topic_class, topic_subclass, detail (JSON text) */
    SQ_OVERRIDES,   /* call id: the newest override per category: category, score,
                       supervisor, comment, created (UTC s), ordered by category */
    SQ_AGREEMENT,   /* from, to: per category with overrides (the newest per call, of calls of
                       those days): category, n (calls overridden), compared (of those with an
                       automatic score), exact, within_one, abs_diff_sum */
    SQ_ERRORS,      /* since (UTC s): the jobs that ended in error since then, newest first:
                       call_id, recording_id, error_stage, error_message, finished */
    SQ_THROUGHPUT,  /* since (UTC s): jobs finished since then per UTC hour and final state
                       (complete, error, skipped): hour (the hour's start, UTC s), state, n */
    SQ_N
} store_qid;

/* Called for each row; non-zero stops the query. Values are valid during the call only. */
typedef int (*store_row_fn)(void *user, const store_val *cols, int n);
/* Run query q. 0, or -1 (store_errmsg). */
int store_query(store *s, store_qid q, const store_val *params, int n_params, store_row_fn fn,
                void *user);
/* The orders of the calls list (SQ_CALLS): each NULLS LAST in both directions, ties by call
 * id in the same direction. mos is the lower of the legs' MOS; duration and dead_air are the
 * analysis', call_length the dialer's length. */
typedef enum store_calls_sort {
    STORE_SORT_CALL_DATE = 0,
    STORE_SORT_AGENT_USER,
    STORE_SORT_CAMPAIGN_ID,
    STORE_SORT_TOTAL_SCORE,
    STORE_SORT_MOS,
    STORE_SORT_DURATION,
    STORE_SORT_DEAD_AIR,
    STORE_SORT_CALL_LENGTH,
    STORE_SORT_N
} store_calls_sort;
/* The sort's name as the API spells it ("call_date", ...); NULL out of range. */
const char *store_calls_sort_name(store_calls_sort k);
/* SQ_CALLS (its 14 parameters) in that order (asc: ascending). 0, or -1 (store_errmsg). */
int store_calls(store *s, store_calls_sort k, bool asc, const store_val *params, int n_params,
                store_row_fn fn, void *user);
/* The store's size on disk, bytes. */
int64_t store_size_bytes(store *s);

/* ---- moving a store to PostgreSQL (store_copy.c) ------------------------------------------ */

typedef struct store_copy_opts {
    bool verify_only; /* compare the two stores only: nothing is copied */
    int batch_rows;   /* rows per transaction on the target, 1-100000 (0: 1000) */
} store_copy_opts;

/* What the copy has done, for the caller's log. */
typedef struct store_copy_progress {
    const char *table;   /* the table's name in the source (SQLite) */
    const char *phase;   /* "batch": a batch committed; "copied": the table is copied;
                            "verified": its count and checksum agree on both sides */
    int64_t rows;        /* the rows of the table the target holds */
    int64_t source_rows; /* the rows of the table in the source */
    int64_t copied;      /* the rows this run wrote ("batch", "copied") */
    double sec;          /* the time this run spent on the table in this phase */
    const char *sha256;  /* "verified": the checksum (64 hex digits) */
} store_copy_progress;
typedef void (*store_copy_progress_fn)(void *user, const store_copy_progress *p);

/* Copy every row of the SQLite store `from` (a path or sqlite:PATH, which must exist) into the
 * PostgreSQL store `to` (a postgresql:// URI of an existing database), then verify it. Both
 * are opened (and migrated to the latest schema) first; any other pair is refused.
 *
 * The tables go in foreign-key order, each in the source's row order, in batches of
 * opts->batch_rows rows: each batch is one transaction on the target, with its progress row
 * (the table callqa_copy on the target), so that a copy stopped anywhere (even kill -9) and run
 * again goes on after the last batch committed, never writing a row twice. Rows keep their
 * ids; the target's id sequences are then moved past the largest id. A target table holding
 * rows this copy did not write is refused, as is a copy from another source into the same
 * target. The source is locked against writes while it is copied (readers go on).
 *
 * Verification (also opts->verify_only alone): per table, the row count and a SHA-256 over
 * the rows in key order (each value canonical: NULL, integers and integral reals as integers,
 * other reals as %.17g, text as its bytes), computed the same way on both sides.
 *
 * Returns 0 when every table was verified; 1 when a table differs (msg names each one that
 * does); -1 on any other failure (msg says what; a copy that failed may simply be run again).
 * fn (may be NULL) is called as the work goes on. Runs on the calling thread. */
int store_copy(const char *from, const char *to, const store_copy_opts *opts,
               store_copy_progress_fn fn, void *user, char *msg, size_t msgsz);

#endif /* CQ_STORE_H */
