/*
 * svc_http.h - the request and its answer, which every route uses: the service's state (svc), a
 * route as the table declares it (svc_route), one request from its headers to its completion
 * (req) with its caller, the answer left on it and queued with the service's headers
 * (svc_http.c), and request bodies (svc_body.c). Below the routes and their handlers; above the
 * text, the metrics, the guard and the sessions, which know no request.
 */
#ifndef CQ_SVC_HTTP_H
#define CQ_SVC_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "callqa/cq_base.h"
#include "../access/access.h"
#include "../clients/llm.h"
#include "../clients/recording.h"
#include "../config/config.h"
#include "../pipeline/pl_service.h"
#include "../store/store.h"
#include "svc_text.h"
#include "../store/store_calls.h"

/* ---- the service --------------------------------------------------------------------------- */

typedef struct svc {
    const cfg_settings *cfg;
    pl_analyser *an; /* the engine, and the analysis host (src/pipeline/) */
    store *store;
    struct svc_events *events; /* GET /api/qa/events (svc_events.c) */
    struct svc_live *live;     /* /api/live (svc_live.c); NULL: no live_events file */
    char engine_version[32];
    llm_client *llm;     /* GET /ai-analyze's LLM; NULL: the assessment by rules */
    char ai_engine[32];  /* the stored assessments' engine: "ai-rules" or "ai-llm-<hash>" */
    struct ask *ask;     /* POST /ask (svc_ask.c); NULL: no LLM (503) */
    pl_pool *requests;   /* suspended requests and the analysis threads (thread k: slot k) */
    pthread_mutex_t mu;  /* pending, stopping, and pushing onto requests */
    struct req *pending; /* GET /analyze requests queued or running (coalescing), linked by next */
    int stopping;
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
    struct svc_log *log;       /* the requests' log lines on their way to stderr */
} svc;

typedef struct req req; /* one request (below) */

/* ---- a route, as the table declares it (svc_routes.c) -------------------------------------- */

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

/* ---- one request ---------------------------------------------------------------------------- */

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
struct req {
    svc *s;
    struct MHD_Connection *conn;
    const struct svc_route *rt; /* NULL: no such route */
    char id[24];
    int slot; /* of the analysis thread running it */
    char method[8];
    char path[256];    /* as sent (percent-encoded; no query) */
    bool started;      /* its headers were seen (on_request's first call) */
    bool close;        /* the connection is closed after the answer */
    bool body_coming;  /* the guard was told its body is coming (svc_guard_body) */
    const char *param; /* the route's path parameter ({id}) in param_buf, or NULL */
    char param_buf[256];
    const char *route; /* name for the logs and metrics */
    double t0;
    /* the answer */
    int status;
    char *body;
    const char *ctype;
    /* or a body kept elsewhere, sent without a copy (svc_answer_shared): shared_len bytes at
     * shared, given back with shared_release(shared_cls) once sent (libmicrohttpd calls it) */
    const char *shared;
    size_t shared_len;
    void (*shared_release)(void *cls);
    void *shared_cls;
    const char *cache; /* "hit", "revalidated", "miss", or NULL */
    /* GET /analyze */
    const cfg_server *srv;
    char file[256];
    int refresh;
    store_result cached;
    int have_cached;
    struct svc_hot_body *hot; /* cached's report is this kept one's (svc_hot.c), not its own */
    /* GET /ai-analyze: the assessment of the report (svc_ai.c) */
    int ai;
    int report_fresh; /* cached is fresh: no fetch, only the assessment */
    /* POST /analyze */
    svc_work work;
    void (*run)(req *r); /* its work on an analysis thread (svc_enqueue), NULL: the kind's */
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
};

/* ---- its answer (svc_http.c) ----------------------------------------------------------------- */

/* Leave the answer on the request (body taken), or an error {"error", "code"}. */
void svc_answer(req *r, int status, char *body, const char *ctype);
/* Leave a body that is not the request's own: len bytes, sent as they are, and release(cls)
 * once they were sent (or when the request ends unanswered, or another answer replaces it). */
void svc_answer_shared(req *r, int status, const char *body, size_t len, void (*release)(void *cls),
                       void *cls, const char *ctype);
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

/* ---- its body (svc_body.c) ------------------------------------------------------------------ */

/* Request bodies: start (the headers are in: multipart set up, a declared size over the limit
 * answered), each piece, and the end (parts closed; -1 with the answer set when the body was
 * too large or malformed). */
enum MHD_Result svc_body_start(req *r);
/* The connection's idle limit while a body comes: the nearer of upload_idle_sec and what is left
 * of upload_timeout_sec from the headers (every route's body, svc_server.c; each piece again). */
void svc_body_deadline(req *r);
enum MHD_Result svc_body_piece(req *r, const char *data, size_t *size);
int svc_body_done(req *r);

#endif /* CQ_SVC_HTTP_H */
