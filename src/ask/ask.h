/*
 * ask.h - POST /ask (docs/ask.md): a question over the QA store, ViciDial's database and
 * Prometheus, answered by an LLM that asks for data. The model's queries run only through a
 * read-only layer per source, enforced by the database engine itself (src/store/store.h,
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

#include "../store/store.h"

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

#endif /* CQ_ASK_H */
