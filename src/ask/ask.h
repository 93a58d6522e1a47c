/*
 * ask.h - POST /ask (docs/ask.md): a question over the QA store, ViciDial's database and
 * Prometheus, answered by an LLM that asks for data. The model's queries run only through a
 * read-only layer per source, enforced by the database engine itself (src/store/store_ro.h,
 * store_ro_*), with the lexical pre-check of this room as a first filter only.
 *
 * The room sits on its own floor between the clients and scoring (below) and the jobs, ingest and
 * the service (above): it uses the LLM and HTTP clients and the store, and knows nothing of HTTP
 * serving.
 */
#ifndef CQ_ASK_H
#define CQ_ASK_H

#include <stdbool.h>
#include <stddef.h>

#include "../clients/llm.h"
#include "../store/store_ro.h"

struct json_t; /* <jansson.h> */

/* ---- the lexical pre-check (ask_lex.c) ------------------------------------------------------- */

/* 0 when sql reads as exactly one SELECT or WITH statement with none of the words of writes,
 * files, locks, sleeps or settings outside its string literals, as SQLite, PostgreSQL and
 * MariaDB each read it; -1 with why (NUL-terminated, cut to n bytes; why may be NULL). A first
 * filter only: every engine layer holds with it switched off (ask_lexical = false). Thread-safe
 * (no state). */
int ask_lex_check(const char *sql, char *why, size_t n);
/* The same over len bytes, which may hold a NUL (refused): for text that came with a length. */
int ask_lex_check_len(const char *sql, size_t len, char *why, size_t n);

/* ---- Prometheus (ask_prom.c) ----------------------------------------------------------------- */

typedef struct ask_prom_config {
    char url[512];        /* the server's base URL, http(s)://host:port[/prefix] */
    double max_range_sec; /* query_range: end - start at most this (default 7 days) */
    double min_step_sec;  /* query_range: a step at least this (default 60 s) */
    int max_points;       /* query_range: (end - start) / step at most this (default 1100) */
    int max_series;       /* series in an answer (default 50); more: cut, truncated */
    double timeout_sec;   /* per query (default 10), also sent as the query's timeout */
    size_t max_bytes;     /* of the server's answer (default 4 MiB) */
} ask_prom_config;

void ask_prom_defaults(ask_prom_config *c);

typedef struct ask_prom_query {
    const char *query; /* PromQL */
    const char *start; /* NULL or "" for an instant query; else a Unix time, RFC 3339, "now" or
                          "now-DURATION" (5m, 2h, 1d...) */
    const char *end;   /* likewise; NULL or "": now */
    const char *step;  /* a duration (30s, 5m) or seconds */
    const char *time;  /* an instant query's time (as start); NULL or "": now */
    double now;        /* the Unix time "now" means */
} ask_prom_query;

/* Run q on /api/v1/query (no start) or /api/v1/query_range: one GET, its parameters escaped,
 * with the limits of cl_http.h (no redirects, no proxy from the environment). 0 with out->json
 * ({"resultType": ..., "series": [{"metric": {...}, "values": [[t, "v"], ...]}],
 * "truncated": bool}: an instant vector's sample, a scalar or a string as a one-element values;
 * at most max_series series, truncated when there were more) and out->rows (the series kept);
 * -1 with out->layer and out->error:
 *   "source"      the URL (http(s) with a host), the limits, an empty query or one over 4000
 *                 bytes;
 *   "range"       a time that cannot be read, end before start, a range over max_range_sec;
 *   "step"        a range query's step missing, unreadable or under min_step_sec;
 *   "points"      (end - start) / step over max_points;
 *   "timeout"     no answer within timeout_sec (+ 0.5 s), or Prometheus's own timeout;
 *   "prometheus"  unreachable, an HTTP error or redirect, Prometheus's error (its errorType and
 *                 message), an answer over max_bytes ("answer too large") or not its JSON.
 * The first four are refused before anything is sent. Free out->json with
 * store_ro_result_free. Thread-safe (libcurl initialised by the program). */
int ask_prom_run(const ask_prom_config *c, const ask_prom_query *q, store_ro_result *out);

/* ---- what the model may read (ask_policy.c) ------------------------------------------------ */

/* The default allow-lists ("table.column" or "table.*", NULL-terminated; docs/ask.md). */
extern const char *const ask_store_allow_default[];
extern const char *const ask_vicidial_allow_default[];
/* true when table.column is a credential column: one of ViciDial's named ones
 * (store_ro_vicidial_never: passwords, secrets, a lead's security phrase, the URL templates that
 * carry API credentials), or a name that reads as a credential (pass, *_pass, *password*,
 * *secret*, *token*, *_key). Never readable. */
bool ask_never(const char *table, const char *column);
/* defaults plus extra ("table.column,table.*", from the settings) as a NULL-terminated malloc'd
 * list (ask_allow_free). 0, or -1 with err: a malformed entry, or a credential column. */
int ask_allow_list(const char *const *defaults, const char *extra, char ***out, char *err,
                   size_t n);
void ask_allow_free(char **l);
/* Each table of an allow-list once, in the list's order, with its columns in the list's order
 * ("*" for table.*): fn(user, table, columns, n). 0, or -1 (out of memory). */
typedef void (*ask_table_fn)(void *user, const char *table, const char *const *columns, size_t n);
int ask_allow_tables(const char *const *allow, ask_table_fn fn, void *user);

/* The description of what may be read, given to the model in place of the raw schema. */
typedef struct ask_schema_in {
    const char *const *store_allow;    /* NULL: no QA store source */
    const char *store_dialect;         /* "SQLite" or "PostgreSQL" */
    const char *const *vicidial_allow; /* NULL: no ViciDial source */
    const char *vicidial_name;
    bool prometheus;
} ask_schema_in;
char *ask_schema_text(const ask_schema_in *in); /* malloc'd, or NULL */

/* ---- the loop (ask.c) ---------------------------------------------------------------------- */

typedef struct ask_config {
    int max_rounds;            /* rounds of data (3) */
    int max_queries;           /* queries per round (10); more are refused ("limit") */
    store_ro_limits lim;       /* per SQL query: rows, bytes, time, estimate, scope */
    bool lexical;              /* the lexical pre-check first (true) */
    bool tools;                /* offer the provider's native tool calls beside <data_request> */
    const char *vicidial_name; /* the mysql source's `server` ("vicidial") */
    size_t max_conversation;   /* bytes of a conversation sent back (256 KiB) */
    const char *today;         /* "YYYY-MM-DD (time zone)" for the model, or NULL */
    /* Every round's results (the rows and series the model is shown, in the conversation given
     * back too), the model's requests once they ran, and the queries recorded pass through this
     * first when set: the service's masking walk with redaction on, so a card number in a
     * dialer's row reaches neither the LLM, the caller nor the record. 0, or -1 (out of memory:
     * the request ends 500 with nothing of the round sent). */
    int (*mask)(void *user, struct json_t *results);
    void *mask_user;
} ask_config;

/* The sources, each optional. Each SQL source is a few connections of its own, one per /ask
 * that may run at once (a query takes a free one: none waits behind another's query).
 * ask_create takes the connections (ask_destroy closes them). */
#define ASK_MAX_CONNECTIONS 16
typedef struct ask_sources {
    store_ro *store[ASK_MAX_CONNECTIONS];    /* type "callqa": the QA store; NULL-terminated (or
                                                ASK_MAX_CONNECTIONS of them) */
    const char *const *store_allow;          /* what its description lists */
    store_ro *vicidial[ASK_MAX_CONNECTIONS]; /* type "mysql": ViciDial's replica, likewise */
    const char *const *vicidial_allow;
    const ask_prom_config *prom; /* type "prometheus" */
} ask_sources;

typedef struct ask ask;
ask *ask_create(const ask_config *c, const ask_sources *src, char *err, size_t n);
void ask_destroy(ask *a);
/* The model's schema description (for the docs and tests). */
const char *ask_schema(const ask *a);

typedef struct ask_llm {
    llm_client *client;
    llm_budget budget; /* today's use and the caps; counted on by each call */
    llm_record_fn rec;
    void *rec_user;
    const char *scope; /* the caller's scope, {"campaigns": [...]} (the QA store's views bind it;
                          the dialer's database and Prometheus, which have none, are refused);
                          NULL: every call */
} ask_llm;

typedef struct ask_result {
    int status;    /* the HTTP status: 200, 400 (bad request), 502 (the LLM failed), 503 (no
                      LLM, a daily cap) */
    char *json;    /* 200: the answer */
    char code[32]; /* otherwise: the error's code and message */
    char error[600];
    /* for the record (store_ask_row), whatever the status */
    char *question; /* the question asked (the conversation's last user turn) */
    char *queries;  /* JSON: queries[] */
    int rounds, executed, refused;
} ask_result;
void ask_result_free(ask_result *r);

/* One POST /ask body: {"question"} or {"conversation": [{role, content}...]} (or both: the
 * question continues the conversation). Queries come only from the model's answers in this
 * request, never from the conversation given. Thread safe: each query takes one of its
 * source's connections, and waits only when every one is taken. a or l NULL (no LLM): the
 * request is read (400 when bad), then 503 no_llm. */
void ask_run(ask *a, ask_llm *l, const char *body, size_t len, double now, ask_result *out);

#endif /* CQ_ASK_H */
