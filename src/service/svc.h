/*
 * svc.h - the service (`callqa serve`), internal to the program: the HTTP layer only. The server
 * on libmicrohttpd with its guard and sessions (svc_http.c, svc_guard.c, svc_ui.c), the route
 * table, checked against docs/openapi.json (svc_routes.c), the QA API's handlers (svc_qa*.c,
 * svc_audio.c, svc_envelope.c, svc_events.c, svc_live.c, svc_sse.c), GET /analyze's and
 * /ai-analyze's queue and its analysis threads (svc_analyses.c, svc_ai.c), analyses in child
 * processes (svc_isolate.c) and the metrics (svc_metrics.c). The library (include/callqa) knows
 * nothing of it; it calls cq_engine_analyze like the CLI.
 *
 * It calls the engine (its public API: analyses, and cq_audio to transcode a recording for the
 * browser), jobs (a transcript imported as the worker stores it), scoring (the assessment, the
 * badges), the transcript module, the clients (recording.h: names, local folders, recording
 * servers; llm.h: /ai-analyze's LLM), the store, proc (the analysis host) and the settings
 * (config.h, cfg_engine.h), with libmicrohttpd, jansson and nettle (sessions' HMAC, ETags). It
 * is on floor 9 because the work on a call (analysis, recordings, transcripts, scores, the store)
 * is done in the rooms below it, which the command line and the worker use without HTTP;
 * outside src/service/ only src/cli/serve_cmd.c and src/cli/service_main.c may include this
 * header (tests/arch/check_includes.py).
 *
 *   request -> svc_http.c (auth, route table) -> svc_routes.c (checks, store: cached?)
 *           -> svc_analyses.c (queue, threads: rec_fetch, isolated analysis, store) -> response;
 *   metrics all along.
 */
#ifndef CQ_SVC_H
#define CQ_SVC_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "callqa/callqa.h"
#include "callqa/cq_clock.h"
#include "../access/access.h"
#include "../clients/llm.h"
#include "../clients/recording.h"
#include "../config/config.h"
#include "../proc/proc.h"
#include "../store/store.h"

/* ---- isolated analyses (svc_isolate.c) ---------------------------------------------------- */

/* What the metrics keep of a report (taken where the report is, possibly another process). */
typedef struct svc_figures {
    struct {
        bool present, has_mos, has_speech;
        double mos, speech_pct;
    } leg[2]; /* inbound, outbound */
} svc_figures;

/* Analyse src in this process: the engine's status; CQ_OK gives *json (malloc'd) and fig,
 * anything else a reason in msg. The isolated children run the same function. */
int svc_analyze_here(const cq_engine *e, const cq_call_src *src, char **json, svc_figures *fig,
                     char *msg, size_t msgsz);

typedef enum svc_iso_outcome {
    SVC_ISO_DONE = 0, /* the analysis ran: see rc */
    SVC_ISO_CRASHED,  /* its process died (a signal, or a broken answer) */
    SVC_ISO_TIMEOUT,  /* it ran past analysis_timeout_sec and was killed */
    SVC_ISO_DOWN      /* no analysis host to ask (it died, or the slot broke) */
} svc_iso_outcome;

/* Fork the analysis host with `slots` slots (one per worker thread). Call it before the
 * process starts any thread. NULL with msg on failure. */
typedef struct svc_isolate svc_isolate;
/* An investigation's request (svc_investigate.c) worked out here: CQ_OK with *json (malloc'd),
 * the answer before the LLM's part; CQ_ERR_FORMAT when its capture or SIP text cannot be read,
 * with msg. */
int svc_investigate_here(const cq_engine *e, const void *request, size_t len, char **json,
                         char *msg, size_t msgsz);
svc_isolate *svc_isolate_start(const cq_engine *e, int slots, double timeout_sec, size_t max_data,
                               char *msg, size_t msgsz);
/* Analyse src in a child of the host; only the worker owning `slot` calls this with it.
 * DONE: *rc is the engine's status; CQ_OK gives *json (malloc'd) and fig; else msg says. */
svc_iso_outcome svc_isolate_analyze(svc_isolate *h, int slot, const cq_call_src *src, int *rc,
                                    char **json, svc_figures *fig, char *msg, size_t msgsz);
/* The same for an investigation (svc_investigate.c): request its JSON; DONE: *rc CQ_OK gives
 * *json, the answer before the LLM's part; else msg says. */
svc_iso_outcome svc_isolate_investigate(svc_isolate *h, int slot, const char *request, int *rc,
                                        char **json, char *msg, size_t msgsz);
bool svc_isolate_up(const svc_isolate *h);
/* Close every slot and wait for the host to finish its analyses and exit. */
void svc_isolate_stop(svc_isolate *h);

/* ---- metrics (svc_metrics.c) ------------------------------------------------------------- */

/* Every route of the table (and "other") with its series from the start: requests{status 200}
 * and the latency histogram at 0, so that a dashboard has a line and rate() a first sample. */
void svc_metrics_routes(void);
void svc_metrics_request(const char *route, int status, double seconds);
void svc_metrics_analysis(const svc_figures *f, double seconds, bool ok);
/* An analysis process that crashed (timeout false) or was stopped at its time limit. */
void svc_metrics_analysis_killed(bool timeout);
void svc_metrics_cache(bool hit);
/* Time of one stage of an analysis request: "fetch", "analyze" or "store". */
void svc_metrics_stage(const char *stage, double seconds);
void svc_metrics_inflight(int delta);
/* A GET /ai-analyze answer: its engine ("rules" or the provider's name), served from the store
 * or made now, and whether an LLM failure (or a cap) sent it to the rules. */
void svc_metrics_ai(const char *engine, bool hit, bool fallback);
/* Prometheus text exposition, with the pipeline's figures from the store (queue, workers and
 * the store's counters: every worker's work) when the service has one, and the live follower's
 * (svc_live_metrics); an allocated string. */
struct svc;
char *svc_metrics_render(struct svc *s);

/* ---- the server (svc_http.c) --------------------------------------------------------------- */

typedef struct svc {
    const cfg_settings *cfg;
    cq_engine *engine;
    svc_isolate *iso; /* analyses in child processes; NULL: in this process */
    store *store;
    struct svc_events *events; /* GET /api/qa/events (svc_events.c) */
    struct svc_live *live;     /* /api/live (svc_live.c); NULL: no live_events file */
    char engine_version[32];
    llm_client *llm;      /* GET /ai-analyze's LLM; NULL: the assessment by rules */
    char ai_engine[32];   /* the stored assessments' engine: "ai-rules" or "ai-llm-<hash>" */
    struct ask *ask;      /* POST /ask (svc_ask.c); NULL: no LLM (503) */
    proc_queue *requests; /* suspended requests waiting for an analysis thread */
    pthread_mutex_t mu;   /* pending, stopping, and pushing onto requests */
    struct req *pending;  /* GET /analyze requests queued or running (coalescing), linked by next */
    int stopping;
    pthread_t *workers;
    struct slot {
        struct svc *s;
        int k;
    } * slots; /* worker k owns analysis slot k */
    int nworkers;
    atomic_uint_fast64_t next_id;
    atomic_int inflight;
    uint8_t session_key[32];  /* the session cookies' HMAC key (svc_session_key) */
    rec_roots *roots;         /* the folders recordings are read from (rec_open) */
    struct svc_guard *guard;  /* pending connections and logins (svc_guard.c) */
    atomic_size_t body_bytes; /* request bodies held in memory now (max_body_memory) */
    pthread_mutex_t roots_mu;
    double roots_loaded;       /* when (monotonic s): a miss reloads them at most once a second */
    struct svc_auditq *auditq; /* the audit trail's rows on their way to the store */
    struct svc_hot *hot;       /* the results GET /analyze served in the last second */
} svc;

/* ---- the guard (svc_guard.c) ----------------------------------------------------------------- */

typedef struct svc_guard svc_guard;
/* NULL: out of memory, or libmicrohttpd's own answers cannot be taken over (the program is
 * linked so that its MHD_queue_response is not the one the library calls). */
svc_guard *svc_guard_create(const cfg_settings *c, atomic_uint_fast64_t *next_id);
void svc_guard_destroy(svc_guard *g);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard) */
void svc_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);
/* A request's headers are in: false when the guard has cut the connection already. */
bool svc_guard_headers(svc_guard *g, struct MHD_Connection *conn);
/* A request ended: the connection, kept alive, waits for the next one's headers. */
void svc_guard_request_done(svc_guard *g, struct MHD_Connection *conn);
/* Once a second: the header deadline; the refused connections' lingering. */
void svc_guard_tick(svc_guard *g);
/* libmicrohttpd's MHD_queue_response: every answer of the service is queued through here (the
 * name MHD_queue_response is the guard's: it answers the library's own refusals). */
enum MHD_Result svc_guard_queue(struct MHD_Connection *conn, unsigned int status,
                                struct MHD_Response *resp);
/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages as JSON lines on stderr. */
void svc_guard_mhd_log(void *cls, const char *fmt, va_list ap);
/* Seconds before a login from this client (or to this account; NULL: the client only) may be
 * tried again; 0 now. */
double svc_guard_login_wait(svc_guard *g, struct MHD_Connection *conn, const char *account);
void svc_guard_login_failed(svc_guard *g, struct MHD_Connection *conn, const char *account);
/* The client's address: the peer, or, when the peer is a trusted proxy (nginx in front: every
 * client would be 127.0.0.1), the last address its X-Forwarded-For adds. */
void svc_guard_client(const cfg_settings *c, struct MHD_Connection *conn, char *out, size_t n);
void svc_metrics_guard(const char *reason);

typedef enum svc_work {
    SVC_WORK_NONE,
    SVC_WORK_FETCH,
    SVC_WORK_UPLOAD,
    SVC_WORK_INVESTIGATE,
    SVC_WORK_ASK
} svc_work;

/* Multipart parts streamed to files (their index in req.part[]) and text fields kept in memory
 * (req.field[]): docs/service.md names them. */
enum { SVC_PART_IN, SVC_PART_OUT, SVC_PART_AUDIO, SVC_PART_CAPTURE, SVC_N_PARTS };
enum { SVC_FIELD_SIP_TRACE, SVC_FIELD_CALL_INFO, SVC_FIELD_STATUS, SVC_N_FIELDS };
#define SVC_MAX_FIELD ((size_t)4 << 20) /* bytes of one text field */

/* Who made a request (svc_access.c): filled by the central check before the route's handler. */
typedef struct svc_caller {
    acc_role role;            /* ACC_ROLE_NONE: no credential (open routes only) */
    char name[65];            /* the user's name; "token": the shared token; "-": no auth */
    int64_t user_id;          /* 0: not a user of the store */
    acc_scope scope;          /* what of the calls it may see */
    const char *agent_arg;    /* the 'agent' argument as the scope makes it (FILTER), or NULL */
    const char *campaign_arg; /* the 'campaign' argument as the scope makes it, or NULL */
    char campaigns[ACC_MAX_CAMPAIGNS * (ACC_NAME_MAX * 2 + 3) + 3]; /* the scope's campaigns as
                                a JSON array, for the lists' campaign set; "" none */
} svc_caller;

/* One request, from its headers to its completion (libmicrohttpd's con_cls). */
typedef struct req {
    svc *s;
    struct MHD_Connection *conn;
    const struct svc_route *rt; /* NULL: no such route */
    char id[24];
    int slot; /* of the analysis thread running it */
    char method[8];
    char path[256];    /* as sent (percent-encoded; no query) */
    bool started;      /* its headers were seen (on_request's first call) */
    bool close;        /* the connection is closed after the answer */
    const char *param; /* the route's path parameter ({id}) in param_buf, or NULL */
    char param_buf[256];
    const char *route; /* name for the logs and metrics */
    double t0;
    /* the answer */
    int status;
    char *body;
    const char *ctype;
    const char *cache; /* "hit", "revalidated", "miss", or NULL */
    /* GET /analyze */
    const cfg_server *srv;
    char file[256];
    int refresh;
    store_result cached;
    int have_cached;
    /* GET /ai-analyze: the assessment of the report (svc_ai.c) */
    int ai;
    int report_fresh; /* cached is fresh: no fetch, only the assessment */
    /* POST /analyze */
    svc_work work;
    char *upload;
    size_t upload_len, upload_cap;
    int upload_too_large;
    struct MHD_PostProcessor *pp;
    FILE *part[SVC_N_PARTS]; /* multipart files: 'in', 'out', 'audio' (or 'recording'),
                                'capture' */
    char part_path[SVC_N_PARTS][1100];
    size_t part_len[SVC_N_PARTS];
    char *meta; /* multipart 'metadata' */
    size_t meta_len;
    char *field[SVC_N_FIELDS]; /* multipart text: 'sip_trace', 'call_info', 'status' */
    size_t field_len[SVC_N_FIELDS];
    size_t field_bytes; /* the multipart text parts' bytes, counted in svc.body_bytes */
    char *inv_request;  /* POST /investigate: its request (svc_investigate.c) */
    bool trim; /* a large answer: the allocator gives its free memory back when it is sent */
    long rows_left_out; /* rows of a list past max_answer_mb, not in the answer (svc_qa_collect) */
    int multipart, bad_multipart, duplicate_part, over_budget;
    size_t body_limit;  /* this route's largest body (0: max_body) */
    unsigned part_seen; /* the parts begun: in, out, audio, metadata, capture, sip_trace,
                           call_info, status (bits 0-7) */
    char upload_name[256];
    int done;               /* the worker left an answer */
    struct req *next;       /* in svc.pending */
    struct req *waiters;    /* identical requests answered with this one's result */
    char set_cookie[320];   /* a Set-Cookie header for the answer ("" none): the session routes */
    svc_caller who;         /* the caller (svc_access.c) */
    char audit_target[256]; /* what the audit trail names (a query, a question, a user); "": the
                               path's parameter */
    char *audit_calls;      /* the calls the answer returned (svc_audit_call), each id followed by
                               a NUL; malloc'd */
    size_t audit_calls_len, audit_calls_cap;
    int audit_n_calls;
} req;

/* Run until SIGTERM/SIGINT; in-flight requests finish. tick (optional) is called about once a
 * second on the main thread while the service runs (the command's sidecars). Returns a process
 * exit status. */
int svc_run(const cfg_settings *c, void (*tick)(void *arg), void *tick_arg);

/* The clock is cq_clock.h's; svc_analyses.c, svc_audio.c and svc_live.c read it under these
 * names still. */
static inline double svc_now_sec(void) /* wall clock, s */
{
    return cq_clock_wall_sec();
}
static inline double svc_mono_sec(void) /* monotonic, s */
{
    return cq_clock_mono_sec();
}
/* s as a JSON string literal, malloc'd. */
char *svc_json_str(const char *s);
/* Text as a JSON string; bytes that are not UTF-8 read as Latin-1 (what dialers store), never
 * refused. */
json_t *svc_json_text(const char *s);
/* Percent-decode s[0..n) into out (NUL-terminated): -1 on a malformed escape, an encoded NUL
 * or no room. */
int svc_pct_decode(const char *s, size_t n, char *out, size_t cap);
/* A message fit for an answer: each absolute path becomes its file name, each URL "(the
 * recording server)"; the log keeps the message whole. */
void svc_redact(const char *in, char *out, size_t n);
/* Leave the answer on the request (body taken), or an error {"error", "code"}. */
void svc_answer(req *r, int status, char *body, const char *ctype);
void svc_answer_error(req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queue the answer on the connection. */
enum MHD_Result svc_send(req *r);
/* The request's Authorization: Bearer header against the token, in constant time: 1 the token,
 * -1 another, 0 no such header. */
int svc_bearer(const req *r);
/* Queue resp (taken: destroyed here) with the headers every answer carries: X-Request-Id, the
 * Content-Security-Policy and the other security headers, r->set_cookie. Every response of the
 * service goes through here (svc_send, the event stream, the dashboard's assets). */
enum MHD_Result svc_queue(req *r, unsigned status, struct MHD_Response *resp);

/* ---- routes (svc_routes.c) ---------------------------------------------------------------- */

typedef enum svc_auth {
    SVC_AUTH_TOKEN = 0, /* the bearer token, unless the service runs without auth */
    SVC_AUTH_NONE,      /* never */
    SVC_AUTH_METRICS    /* only with auth_metrics */
} svc_auth;

/* The least role a route needs (access.h's order: agent < analyst < supervisor < admin). */
#define SVC_ROLE_OPEN ACC_ROLE_NONE /* no credential: the routes of auth SVC_AUTH_NONE */
#define SVC_ROLE_AGENT ACC_ROLE_AGENT
#define SVC_ROLE_ANALYST ACC_ROLE_ANALYST
#define SVC_ROLE_SUPERVISOR ACC_ROLE_SUPERVISOR
#define SVC_ROLE_ADMIN ACC_ROLE_ADMIN

/* How a route meets a caller whose scope is limited (agents; supervisors and analysts of some
 * campaigns), checked in one place (svc_access.c) before its handler. */
typedef enum svc_scope {
    SVC_SCOPE_REFUSED = 0, /* a limited caller is refused (403 out_of_scope): the default */
    SVC_SCOPE_ANY,         /* nothing of a call: any caller of the role */
    SVC_SCOPE_CALL,        /* {id} is a call: one out of the scope is 404, as one that is not */
    SVC_SCOPE_AGENT,       /* {agent_user}: an agent's own only; campaign-limited: refused */
    SVC_SCOPE_FILTER,      /* the 'agent' and 'campaign' arguments are the scope's */
    SVC_SCOPE_CAMPAIGN,    /* the 'campaign' argument is the scope's; agents refused */
    SVC_SCOPE_HANDLER      /* the handler applies the scope itself (events, /ask) */
} svc_scope;

/* One route: everything the server, the logs and /openapi.json know of it. */
typedef struct svc_route {
    const char *method; /* "GET" (HEAD is served as GET), "POST", "PATCH", "DELETE" */
    const char *path;   /* "/calls/{id}": a path parameter only as the last segment */
    svc_auth auth;
    acc_role role; /* the least role it needs: required of every route not SVC_AUTH_NONE */
    svc_scope scope;
    const char *audit; /* the audit trail's action (listen, search, ...), or NULL: not audited */
    const char *name;  /* for the logs and the metrics */
    bool body;         /* takes a request body (others' bodies are ignored) */
    /* the headers are in (optional): refuse early, or prepare for a body */
    enum MHD_Result (*start)(req *r);
    /* the body is in (with a body: called with each piece, then with *size 0) */
    enum MHD_Result (*handle)(req *r, const char *data, size_t *size);
} svc_route;

#define SVC_MAX_METADATA 65536

/* Request bodies: start (the headers are in: multipart set up, a declared size over the limit
 * answered), each piece, and the end (parts closed; -1 with the answer set when the body was
 * too large or malformed). */
enum MHD_Result svc_body_start(req *r);
enum MHD_Result svc_body_piece(req *r, const char *data, size_t *size);
int svc_body_done(req *r);

/* The route for method and path; NULL, with *path_known set when another method has it. A
 * route's path parameter ({id}, one segment) is at *param, *param_len bytes, inside path. */
const svc_route *svc_route_find(const char *method, const char *path, const char **param,
                                size_t *param_len, bool *path_known);
/* The routes, in order, NULL-terminated by a route with method NULL. */
const svc_route *svc_route_table(void);
/* /openapi.json: docs/openapi.json as the build compiled it in, with this version, malloc'd; NULL
 * (with msg) when it is not valid JSON, or when it and the route table differ: a route it does
 * not document, an operation no route has, a route whose auth or role (x-callqa-role: "none",
 * "agent", "analyst", "supervisor", "admin") it gives otherwise, or a route without its role. */
char *svc_openapi(char *msg, size_t msgsz);
/* The same check of another document (text[0..len)): `callqa serve --check-openapi FILE`. */
char *svc_openapi_check(const char *text, size_t len, char *msg, size_t msgsz);

/* ---- the QA API (svc_qa*.c): handlers of the /api/qa routes ---------------------------------- */

/* The parts the resources share (svc_qa.c): the old eight categories, answers, arguments, the
 * store's rows as JSON, the figures of a day. */
extern const char *const svc_qa_cats[8];
/* A list's rows as JSON, within max_answer_mb: a row whose columns would take the list past it
 * is left out and counted in r->rows_left_out (the first row is always kept: one row is bounded
 * by what the store keeps of it); svc_qa_send then says so in the answer's `truncated`. */
typedef struct svc_qa_rows {
    json_t *arr;
    json_t *(*shape)(const store_val *cols, int n, void *u);
    void *u;
    req *r;       /* the request (its settings' max_answer, its count); NULL: no bound */
    size_t bytes; /* the rows' columns so far */
} svc_qa_rows;

typedef struct svc_qa_day_best {
    char day[11];
    char top[65], bottom[65]; /* agent ids */
    double top_avg, bottom_avg;
    bool have;
} svc_qa_day_best;

typedef struct svc_qa_best_list {
    svc_qa_day_best *d;
    int n, cap;
} svc_qa_best_list;

enum MHD_Result svc_qa_send(req *r, int status, json_t *o);
enum MHD_Result svc_qa_store_failed(req *r);
json_t *svc_qa_round(bool has, double v, int decimals);
json_t *svc_qa_redacted(const char *s);
/* Every string of a JSON tree with each absolute path as its file's name (a URL left alone):
 * stored reports as answers show them, those stored before reports named no server path. */
void svc_qa_unpath(json_t *j);
json_t *svc_qa_val(const store_val *v, int prec);
const store_val *svc_qa_col(const store_val *cols, int n, const char *name);
double svc_qa_num(const store_val *cols, int n, const char *name);
bool svc_qa_is_null(const store_val *cols, int n, const char *name);
const char *svc_qa_arg(req *r, const char *k);
/* The campaigns a list or search is limited to by the caller's scope: a JSON array of their ids
 * (the store's campaign-set parameter), or NULL (no limit, or one campaign given as 'campaign'). */
const char *svc_qa_campaigns(req *r);
int svc_qa_int_arg(req *r, const char *k, long dflt, long lo, long hi, long *out);
bool svc_qa_valid_date(const char *s);
void svc_qa_day_back(int back, char out[11]);
void svc_qa_day_next(const char *d, char out[11]);
int svc_qa_collect(void *user, const store_val *cols, int n);
json_t *svc_qa_query(req *r, store_qid q, const store_val *p, int np,
                     json_t *(*shape)(const store_val *, int, void *), void *u);
json_t *svc_qa_categories(const store_val *c, int n);
json_t *svc_qa_null_categories(void);
void svc_qa_analysis_figures(json_t *o, const store_val *c, int n);
void svc_qa_partial_figures(json_t *o, const store_val *c, int n);
/* avg_customer_shift, customer_shift_calls, customer_drop_calls from the roll-ups' sums. */
void svc_qa_sentiment_figures(json_t *o, const store_val *c, int n);
int svc_qa_best_row(void *user, const store_val *c, int n);
void svc_qa_local_time(double t, char out[20]);
json_t *svc_qa_call_shape(const store_val *c, int n, void *u);
json_t *svc_qa_overrides_of(req *r, int64_t call_id);
int svc_qa_score_of(req *r, int64_t call_id, json_t **detail);
int64_t svc_qa_call_of(req *r, json_t **row);
void svc_qa_fts_query(const char *q, char *out, size_t n);

enum MHD_Result svc_qa_health(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_daily(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_trends(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_agent(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_flagged(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_leaderboard(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_call(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_envelope(req *r, const char *data, size_t *size); /* svc_envelope.c */
enum MHD_Result svc_qa_calls(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_badges(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_search(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_transcript(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_transcript_start(req *r);
enum MHD_Result svc_qa_report(req *r, const char *data, size_t *size);
/* A body of PATCH /api/qa/call/{id}/scores, checked: a JSON object of supervisor (1-128
 * bytes), comment (optional, up to 4000), scores ({key: integer 1-5}, 1-32 of them), nothing
 * else. The object (the caller's), or NULL with a sentence in why and the error's code
 * (bad_json, bad_field, bad_score). The categories are checked against the call's later. */
struct json_t;
struct json_t *svc_qa_scores_parse(const char *body, size_t len, char *why, size_t n,
                                   const char **code);
enum MHD_Result svc_qa_marks_start(req *r);
enum MHD_Result svc_qa_marks(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_scores_start(req *r);
enum MHD_Result svc_qa_scores(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_agreement(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_queue(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_workers(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_errors(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_throughput(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_upload_start(req *r);
enum MHD_Result svc_qa_upload(req *r, const char *data, size_t *size);

/* ---- a call's recording (svc_audio.c): GET /api/qa/call/{id}/audio ------------------------ */

/* Transcodes (PCM16 WAV) kept under tmp_dir/callqa-audio, at most this many bytes in all: the
 * least recently served are removed first. */
#define SVC_AUDIO_CACHE_BYTES ((uint64_t)1 << 30)

typedef enum svc_range {
    SVC_RANGE_NONE = 0,     /* no Range, or one to ignore: the whole body (200) */
    SVC_RANGE_OK,           /* one range, [*first, *last] inside the body (206) */
    SVC_RANGE_UNSATISFIABLE /* it starts past the end, a suffix of 0, an empty body (416) */
} svc_range;
/* A Range header (h; NULL: none) against a body of size bytes (RFC 9110 14.1.2): "bytes=a-b"
 * (b past the end: to the end), "bytes=a-", "bytes=-n" (the last n bytes). Another unit,
 * several ranges, b < a, numbers past 2^64 or anything malformed: SVC_RANGE_NONE. Pure. */
svc_range svc_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last);

typedef enum svc_audio_kind {
    SVC_AUDIO_DECODE = 0, /* something else: transcoded if the decoder reads it */
    SVC_AUDIO_WAV,        /* RIFF/WAVE of PCM, float, A-law or u-law: served as it is */
    SVC_AUDIO_MP3,
    SVC_AUDIO_FLAC,
    SVC_AUDIO_OGG,
    SVC_AUDIO_RAW_GSM /* headerless GSM 06.10 frames: transcoded */
} svc_audio_kind;
/* What a recording holds, from its first n bytes (h) and its size: never from its name. A
 * WAV of GSM 06.10 (WAV49) or any encoding but PCM, float and G.711 is SVC_AUDIO_DECODE. Pure. */
svc_audio_kind svc_audio_sniff(const uint8_t *h, size_t n, uint64_t size);
const char *svc_audio_ctype(svc_audio_kind k); /* "audio/wav", "audio/mpeg", ... */
enum MHD_Result svc_qa_audio(req *r, const char *data, size_t *size);
/* GET /api/qa/call/{id}'s "audio": {"legs": the legs that can be asked for now (in, out,
 * mix: in the call's row, on local disk), "default": mix, else in, else out, else null}; NULL
 * when the store failed. */
struct json_t *svc_audio_legs(req *r, int64_t call_id);

/* ---- a server-sent-event stream's pending bytes (svc_sse.c) -------------------------------- */

/* What one SSE client has not been sent yet: filled by its hub under the hub's lock, handed to
 * libmicrohttpd by the hub's content reader through svc_sse_read. A client that falls more than
 * the hub's limit behind is marked overflow, and its stream ends (it reconnects and resumes). */
typedef struct svc_sse {
    struct MHD_Connection *conn;
    char *buf;
    size_t len, cap, off;
    bool suspended, overflow;
} svc_sse;

/* Append n bytes (under the hub's lock); -1 and overflow when more than max would wait, or no
 * memory. */
int svc_sse_append(svc_sse *t, const char *text, size_t n, size_t max);
/* Resume a suspended stream that has bytes, overflowed, or is to end (under the hub's lock). */
void svc_sse_wake(svc_sse *t, bool ending);
/* libmicrohttpd's content reader: bytes, the end of the stream (overflow, or *ending), or 0
 * with the connection suspended until svc_sse_wake. Takes mu. */
ssize_t svc_sse_read(svc_sse *t, pthread_mutex_t *mu, const bool *ending, char *buf, size_t max);

/* ---- the event stream (svc_events.c): GET /api/qa/events ----------------------------------- */

enum MHD_Result svc_qa_events(req *r, const char *data, size_t *size);
/* Start the hub (after the store is open); stop it (every stream ends: call before waiting for
 * the requests in flight); free it (after the HTTP server stopped). */
int svc_events_start(svc *s);
void svc_events_stop(svc *s);
void svc_events_free(svc *s);
int svc_events_clients(svc *s); /* streams open */

/* ---- the calls in progress (svc_live.c): GET /api/live/calls, GET /api/live/events -------- */

enum MHD_Result svc_live_calls(req *r, const char *data, size_t *size);
enum MHD_Result svc_live_events(req *r, const char *data, size_t *size);
/* Start following the live_events file (nothing to do without it; -1: out of memory or no
 * thread); stop (every stream ends: before waiting for the requests in flight); free (after the
 * HTTP server stopped). */
int svc_live_start(svc *s);
void svc_live_stop(svc *s);
void svc_live_free(svc *s);
/* The follower's metrics in the Prometheus text format (callqa_live_*), onto f; nothing without
 * a live_events file. */
void svc_live_metrics(svc *s, FILE *f);

/* ---- the dashboard and its sessions (svc_ui.c) ---------------------------------------------- */

/* One file of the dashboard, embedded at build time (cmake/embed_ui.cmake writes the table from
 * ui/build.mjs's output). */
typedef struct svc_ui_asset {
    const char *name;          /* "index.html", "app.js", "app.css" */
    const char *ctype;         /* its Content-Type */
    const unsigned char *data; /* len bytes (static) */
    size_t len;
    const char *etag; /* "\"<32 hex digits of its SHA-256>\"" */
} svc_ui_asset;
/* The embedded files, *n of them; NULL and 0 in a build without the dashboard (CQ_DASHBOARD
 * OFF). Generated: svc_ui_assets.c in the build directory. */
const svc_ui_asset *svc_ui_assets(size_t *n);
/* GET / (index.html; without the dashboard, a plain page that says so) and GET /assets/{name}
 * (app.js, app.css; others 404): ETag, If-None-Match (304), Cache-Control: no-cache. */
enum MHD_Result svc_ui_index(req *r, const char *data, size_t *size);
enum MHD_Result svc_ui_asset_get(req *r, const char *data, size_t *size);

/* Sessions: the bearer token exchanged for a cookie, stateless (nothing stored: a restart keeps
 * them, a new token ends them all). The cookie's value is v1.<expiry>.<nonce>.<mac>: expiry in
 * Unix seconds (decimal), the nonce 16 random bytes (32 lower-case hex digits), mac the
 * HMAC-SHA256 of "v1.<expiry>.<nonce>" under the session key (64 hex digits). The session's CSRF
 * value is the HMAC-SHA256 of "csrf.<nonce>" under the same key (64 hex digits). A user's
 * session, v3.<expiry>.<user id>.<cred>.<nonce>.<mac>, names the user and carries the tag of
 * their credential (svc_session_cred), which the request checks against the user's row: a new
 * password or a disable moves it, so that every session made before ends. */
#define SVC_SESSION_COOKIE "callqa_session"
#define SVC_SESSION_VALUE_MAX 160 /* bytes of a value we make, NUL included */
#define SVC_SESSION_CRED_LEN 16   /* hex digits of a credential's tag */
typedef enum svc_session_state {
    SVC_SESSION_VALID = 0,
    SVC_SESSION_MISSING, /* no callqa_session cookie */
    SVC_SESSION_INVALID, /* malformed, or a MAC that is not ours (another token, a forgery) */
    SVC_SESSION_EXPIRED  /* ours, past its expiry */
} svc_session_state;
typedef struct svc_session {
    int64_t expires;                     /* Unix s */
    int64_t user_id;                     /* the store's user (v3), or 0: the shared token's (v1) */
    char cred[SVC_SESSION_CRED_LEN + 1]; /* a user's credential tag (v3); "" for v1 */
    char csrf[65];                       /* 64 hex digits */
} svc_session;
/* The session key from the bearer token: HMAC-SHA256(token, "callqa session key v1"). */
void svc_session_key(const char *token, uint8_t key[32]);
/* A cookie value expiring at `expires` with that nonce into value (n >= SVC_SESSION_VALUE_MAX),
 * and its session. 0, or -1 when value is too small. */
int svc_session_issue(const uint8_t key[32], int64_t expires, const uint8_t nonce[16], char *value,
                      size_t n, svc_session *out);
/* The same for a user of the store (user_id > 0: a v3 value bound to cred, their
 * svc_session_cred; 0: as svc_session_issue, cred NULL). */
int svc_session_issue_user(const uint8_t key[32], int64_t expires, int64_t user_id,
                           const char *cred, const uint8_t nonce[16], char *value, size_t n,
                           svc_session *out);
/* A user's credential tag: the first SVC_SESSION_CRED_LEN hex digits of the HMAC-SHA256 of
 * "cred.<user id>.<epoch>.<password hash>" under the session key. */
void svc_session_cred(const uint8_t key[32], int64_t user_id, int64_t epoch, const char *pwhash,
                      char out[SVC_SESSION_CRED_LEN + 1]);
/* Check one cookie value of len bytes (any bytes): VALID (out filled), INVALID or EXPIRED (out's
 * expiry filled). MACs are compared in constant time. */
svc_session_state svc_session_verify(const uint8_t key[32], const char *value, size_t len,
                                     int64_t now, svc_session *out);
/* The session of a Cookie header (NULL: none): every callqa_session cookie in it is checked and
 * the best state wins (VALID, then EXPIRED, then INVALID); MISSING when there is none. */
svc_session_state svc_session_from_header(const uint8_t key[32], const char *cookie, int64_t now,
                                          svc_session *out);
/* Whether an Origin header (scheme://host[:port]) names the host and port of a Host header
 * (host[:port]); a default port (80 for http, 443 for https) may be left out on either side.
 * "null", a malformed Origin or a missing Host: false. */
bool svc_same_origin(const char *origin, const char *host);
/* Whether a request's Host names this service: the listen address, localhost, the loopback
 * addresses or an allowed_hosts name, with the listening port or none (a name a browser was
 * pointed at by another site's DNS, the rebinding attack, is not). */
bool svc_host_allowed(const cfg_settings *c, const char *host);
/* GET, POST, DELETE /api/session (docs/service.md#sessions). */
enum MHD_Result svc_session_get(req *r, const char *data, size_t *size);
enum MHD_Result svc_session_post_start(req *r);
enum MHD_Result svc_session_post(req *r, const char *data, size_t *size);
enum MHD_Result svc_session_delete(req *r, const char *data, size_t *size);

/* ---- users, roles, scopes and the audit trail (svc_access.c) -------------------------------- */

/* Who the request is (r->who) and whether the route lets them in: its role, then its scope
 * (svc_scope). 0, or -1 with the answer set (401, 403, 404, 429). Called once the route is
 * found, for every request. */
int svc_access(req *r);
/* The route's audit rows, when it has an action and an answer (on the request's end), handed to
 * the audit queue: one per call the answer returned (svc_audit_call), and the request's own. */
void svc_audit(req *r);
/* The answer being made returns this call (its recording id, uniqueid or number): an audit row
 * names it. svc_audit_calls: each object of the array, by its recording_id, else uniqueid, else
 * call_id or id. */
void svc_audit_call(req *r, const char *id);
void svc_audit_calls(req *r, const json_t *calls);
/* Whether a call known by either id (a recording id or uniqueid) is one the caller may see: 1 it
 * is, or no such call is stored; 0 it is outside the caller's scope; -1 the store failed. */
int svc_access_call_allowed(req *r, const char *id);

/* ---- the results served in the last second (svc_hot.c) ---------------------------------------
 * GET /analyze's stored rows kept in memory for 1 s after they were read, so that a result asked
 * again is served without the store; what this process changes in the store is forgotten at
 * once. Any thread; NULL (none made) serves nothing. */
typedef struct svc_hot svc_hot;
svc_hot *svc_hot_create(void);
void svc_hot_destroy(svc_hot *h);
/* The row of (server, file, engine) read within the last second: 1 with *out (its report
 * malloc'd: store_result_free), or 0. */
int svc_hot_get(svc_hot *h, const char *server, const char *file, const char *engine,
                store_result *out);
/* The generation to give svc_hot_put: take it before reading the store. */
uint64_t svc_hot_gen(svc_hot *h);
/* Keep a copy of a row read from the store at `loaded` (monotonic s), unless a forget came
 * since gen was taken or its report is over 256 KiB. */
void svc_hot_put(svc_hot *h, const store_result *row, double loaded, uint64_t gen);
/* Forget the rows of (server, file) (file NULL: of the server; server NULL: all): the store
 * changed here. */
void svc_hot_forget(svc_hot *h, const char *server, const char *file);
/* Free the rows past their second (the main loop, once a second). */
void svc_hot_tick(svc_hot *h);

/* ---- the audit trail's queue (svc_auditq.c) ---------------------------------------------------
 * Requests hand their rows over; one thread writes them in group commits on a store connection
 * of its own (docs/privacy.md, "The audit trail"). */
typedef struct svc_auditq svc_auditq;
/* The queue (audit_queue_rows) and its writer on a connection of its own to db_path: NULL with
 * msg when the store cannot be opened or no thread started. */
svc_auditq *svc_auditq_start(const cfg_settings *c, char *msg, size_t msgsz);
/* Queue copies of n rows. A full queue is waited on for audit_queue_wait_sec; the rows it has no
 * room for then are dropped, counted (callqa_audit_rows_total{outcome="dropped"}) and logged.
 * Returns the rows dropped (0: all queued). Any thread. */
int svc_auditq_put(svc_auditq *q, const store_audit_row *rows, int n);
/* Wait until every row queued before this call is written (or dropped), at most timeout_sec:
 * 0, or -1 at the timeout. */
int svc_auditq_sync(svc_auditq *q, double timeout_sec);
/* Write what is queued (a failing store is tried for 10 s; what is left is counted and logged),
 * stop the writer and free the queue. Call after the HTTP server stopped. NULL: nothing. */
void svc_auditq_stop(svc_auditq *q);
/* The queue's metrics (callqa_audit_*) in the Prometheus text format onto f. */
void svc_auditq_metrics(svc_auditq *q, FILE *f);
/* GET /api/qa/audit: the audit trail (admin), JSON or JSON lines (?format=jsonl). */
enum MHD_Result svc_qa_audit(req *r, const char *data, size_t *size);
/* POST /api/session with {"username", "password"}: the user's session, or the answer set.
 * Returns 0 with *user filled when the password is right (the caller issues the cookie), 1 when
 * the answer was set (401, 429, 500). */
int svc_access_login(req *r, const char *username, const char *password, store_user *user);
/* The role and scope of a session or token's user, for GET /api/session: 0, or -1 (none). */
int svc_access_whoami(req *r, svc_caller *out);

/* ---- GET /ai-analyze (svc_ai.c) --------------------------------------------------------- */

/* The LLM client from the settings (none: the assessment by rules) and the stored
 * assessments' engine string. 0, or -1 with msg (bad LLM settings: the service does not
 * start). */
int svc_ai_start(svc *s, char *msg, size_t msgsz);
void svc_ai_stop(svc *s);
/* The stored assessment of that report (row report_id), answered on r: 1, or 0 when there is
 * none (or it is of another report). Quick: any thread. */
int svc_ai_serve_stored(req *r, int64_t report_id);
/* The assessment of the report (row report_id; 0: not stored) made now, stored, and answered
 * on r. The LLM is called here: a worker only. */
void svc_ai_answer(req *r, const char *report, int64_t report_id);
/* One LLM request of the service (svc_ai.c): today's budget, the call recorded in the store under
 * `purpose`, the answer's text trimmed. 0 with *text and *model (malloc'd) and the provider's
 * name in provider (NULL: not wanted), or -1 with why. On an analysis thread only. */
int svc_llm_text(req *r, const char *purpose, const char *system, const char *user, char **text,
                 char **model, char *provider, size_t provsz, char *why, size_t whysz);
/* A one-turn request's body as the LLM client (client) sends it, in bytes (sc_fit's measure:
 * llm_request_size), for a prompt held within the model's context. */
size_t svc_llm_measure(void *client, const char *system, const char *text, const char *schema);
/* POST /investigate (svc_investigate.c): the route's start and body, and its work on an analysis
 * thread. */
enum MHD_Result svc_investigate_start(req *r);
enum MHD_Result svc_investigate(req *r, const char *data, size_t *size);
void svc_investigate_run(req *r);
/* POST /ask (svc_ask.c): its sources opened from the settings when an LLM is configured (0, or -1
 * with msg: a source's check failed, the service does not start), the route, and its work on an
 * analysis thread. */
int svc_ask_start(svc *s, char *msg, size_t msgsz);
void svc_ask_stop(svc *s);
enum MHD_Result svc_ask_route_start(req *r);
enum MHD_Result svc_ask_route(req *r, const char *data, size_t *size);
void svc_ask_run(req *r);
/* A stored row that is an assessment or an investigation (svc_investigate.c), not a report
 * (GET /calls leaves it out). */
bool svc_ai_is_row(const store_result *row);

/* ---- the queue of analyses (svc_analyses.c) ------------------------------------------------ */

/* Queue r for an analysis thread (the connection is suspended), or answer 503. A GET /analyze
 * for a call that is already being fetched and analysed waits for that analysis instead. */
enum MHD_Result svc_enqueue(req *r, svc_work kind);
/* Start, stop the analysis threads (max_concurrent). */
int svc_analyses_start(svc *s);
void svc_analyses_stop(svc *s);

#endif /* CQ_SVC_H */
