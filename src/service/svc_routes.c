/*
 * svc_routes.c - the service's routes, declared once: method, path, auth and handler in one
 * table, from which the server dispatches. docs/openapi.json, compiled into the service, is the
 * API's description: it is checked against the table when the service starts (every route
 * documented with its auth, no operation without a route; `serve --check-openapi FILE` checks
 * another) and served as /openapi.json with this version (tests/service/test_openapi.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "svc_access.h"
#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_audio.h"
#include "svc_auditq.h"
#include "svc_events.h"
#include "svc_hot.h"
#include "svc_live.h"
#include "svc_metrics.h"
#include "svc_qa.h"
#include "svc_routes.h"
#include "svc_ui.h"
#include "../store/store.h"
#include "../store/store_calls.h"
#include "callqa/cq_clock.h"

#define UPLOAD_SERVER "upload"

static char *row_json(const store_result *row)
{
    char *srv = svc_json_str(row->server), *file = svc_json_str(row->file),
         *src = svc_json_str(row->source), *out = NULL;
    if (srv && file && src &&
        asprintf(&out,
                 "{\"id\":%lld,\"server\":%s,\"file\":%s,\"source\":%s,\"created\":%.3f,"
                 "\"checked\":%.3f,\"report\":%s}",
                 (long long)row->id, srv, file, src, row->created, row->checked, row->report) < 0)
        out = NULL;
    free(srv);
    free(file);
    free(src);
    return out;
}

/* ---- routes ------------------------------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

/* A query argument as MHD decoded it, refused if it holds a NUL (MHD keeps the length). */
static int arg_has_nul(struct MHD_Connection *c, const char *k)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, k, strlen(k), &v, &len) !=
            MHD_YES ||
        !v)
        return 0;
    return strlen(v) != len;
}

static int check_server_file(req *r, const char *server, const char *file)
{
    if (!server || !*server) {
        svc_answer_error(r, 400, "missing_server", "the 'server' argument is required");
        return -1;
    }
    if (!file || !*file) {
        svc_answer_error(r, 400, "missing_file", "the 'file' argument is required");
        return -1;
    }
    if (arg_has_nul(r->conn, "server") || arg_has_nul(r->conn, "file")) {
        svc_answer_error(r, 400, "bad_file", "arguments must not contain NUL bytes");
        return -1;
    }
    if (!(r->srv = cfg_find_server(r->s->cfg, server))) {
        char shown[80];
        snprintf(shown, sizeof(shown), "%.64s", server);
        svc_answer_error(r, 404, "unknown_server",
                         "unknown recording server '%s' (servers are "
                         "named in the configuration; URLs and addresses are not accepted)",
                         shown);
        return -1;
    }
    const char *why = NULL;
    if (rec_check_file(file, &why)) {
        svc_answer_error(r, 400, "bad_file", "%s", why);
        return -1;
    }
    snprintf(r->file, sizeof(r->file), "%s", file);
    return 0;
}

/* GET /analyze (ai false) and GET /ai-analyze (ai true): the same arguments, checks, store
 * and fetch/analysis job; /ai-analyze answers the report's assessment (svc_ai.c). */
static enum MHD_Result analyze_get(req *r, int ai)
{
    svc *s = r->s;
    r->ai = ai;
    if (check_server_file(r, arg(r->conn, "server"), arg(r->conn, "file")))
        return svc_send(r);
    const char *rf = arg(r->conn, "refresh");
    r->refresh = rf && (!strcmp(rf, "1") || !strcmp(rf, "true"));
    /* the row served in the last second (svc_hot.c), else the store's */
    int got = r->refresh ? 0
                         : svc_hot_get(s->hot, r->srv->name, r->file, s->engine_version, &r->cached,
                                       &r->hot);
    if (!got) {
        uint64_t gen = svc_hot_gen(s->hot);
        double t = cq_clock_mono_sec();
        got = store_result_latest(s->store, r->srv->name, r->file, s->engine_version, &r->cached);
        if (got == 1)
            svc_hot_put(s->hot, &r->cached, t, gen);
    }
    r->have_cached = got == 1;
    if (got < 0)
        fprintf(stderr, "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"store lookup failed\"}\n",
                r->id);
    if (r->have_cached && !r->refresh &&
        cq_clock_wall_sec() - r->cached.checked < s->cfg->freshness_sec) {
        svc_metrics_cache(true);
        if (ai) { /* the report is at hand: its stored assessment, or a job to make one */
            if (svc_ai_serve_stored(r, r->cached.id))
                return svc_send(r);
            r->report_fresh = 1;
            return svc_enqueue(r, SVC_WORK_FETCH, NULL);
        }
        r->cache = "hit";
        if (r->hot) { /* the kept report, sent as it is: the answer holds it */
            svc_answer_shared(r, 200, r->cached.report, svc_hot_len(r->hot), svc_hot_release,
                              r->hot, "application/json");
            r->hot = NULL;
        } else {
            svc_answer(r, 200, r->cached.report, "application/json"); /* the answer takes it */
        }
        r->cached.report = NULL;
        return svc_send(r);
    }
    return svc_enqueue(r, SVC_WORK_FETCH, NULL);
}

static enum MHD_Result route_analyze_get(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return analyze_get(r, 0);
}

static enum MHD_Result route_ai_analyze(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return analyze_get(r, 1);
}

static enum MHD_Result route_cache_delete(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    svc *s = r->s;
    const char *server = arg(r->conn, "server"), *file = arg(r->conn, "file");
    int64_t n;
    if (server || file) {
        if (!server || !file) {
            svc_answer_error(r, 400, "missing_argument",
                             "give both 'server' and 'file', or neither "
                             "(to delete everything)");
            return svc_send(r);
        }
        const char *why = NULL;
        if (strcmp(server, UPLOAD_SERVER) && !cfg_find_server(s->cfg, server)) {
            svc_answer_error(r, 404, "unknown_server", "unknown recording server");
            return svc_send(r);
        }
        if (rec_check_file(file, &why)) {
            svc_answer_error(r, 400, "bad_file", "%s", why);
            return svc_send(r);
        }
        n = store_result_delete(s->store, server, file);
        svc_hot_forget(s->hot, server, file);
    } else {
        n = store_result_delete(s->store, NULL, NULL);
        svc_hot_forget(s->hot, NULL, NULL);
    }
    if (n < 0) {
        svc_answer_error(r, 500, "store", "the store could not delete");
        return svc_send(r);
    }
    char *b = NULL;
    if (asprintf(&b, "{\"deleted\":%lld}", (long long)n) < 0)
        b = NULL;
    svc_answer(r, 200, b, "application/json");
    return svc_send(r);
}

static enum MHD_Result calls(req *r, const char *id_part)
{
    svc *s = r->s;
    if (id_part) {
        char *end;
        errno = 0;
        long long id = strtoll(id_part, &end, 10);
        if (errno || end == id_part || *end || id < 1) {
            svc_answer_error(r, 400, "bad_id", "a call id is a positive integer");
            return svc_send(r);
        }
        store_result row;
        int got = store_result_get(s->store, id, &row);
        if (got == 1 && svc_ai_is_row(&row)) { /* an /ai-analyze assessment, not a call */
            store_result_free(&row);
            got = 0;
        }
        if (got != 1) {
            svc_answer_error(r, got == 0 ? 404 : 500, got == 0 ? "not_found" : "store",
                             "no stored call %lld", id);
            return svc_send(r);
        }
        svc_answer(r, 200, row_json(&row), "application/json");
        store_result_free(&row);
        return svc_send(r);
    }
    double since = 0;
    int limit = 50;
    const char *a = arg(r->conn, "since"), *l = arg(r->conn, "limit");
    char *end;
    if (a && (since = strtod(a, &end), end == a || *end || !(since >= 0))) {
        svc_answer_error(r, 400, "bad_since", "since is a Unix time in seconds");
        return svc_send(r);
    }
    if (l && (limit = (int)strtol(l, &end, 10), end == l || *end || limit < 1 || limit > 1000)) {
        svc_answer_error(r, 400, "bad_limit", "limit is 1 to 1000");
        return svc_send(r);
    }
    store_result *rows = NULL;
    int n = 0;
    /* the /ai-analyze assessments share the table and are left out: ask for more rows until
     * `limit` calls are in, or the store has no more */
    for (int want = limit;; want *= 4) {
        if (store_result_list(s->store, since, want, &rows, &n) != 0) {
            svc_answer_error(r, 500, "store", "the store could not list calls");
            for (int i = 0; i < n; i++)
                store_result_free(&rows[i]);
            free(rows);
            return svc_send(r);
        }
        int shown = 0;
        for (int i = 0; i < n; i++)
            shown += !svc_ai_is_row(&rows[i]);
        if (shown >= limit || n < want || want >= 1 << 20)
            break;
        for (int i = 0; i < n; i++)
            store_result_free(&rows[i]);
        free(rows);
        rows = NULL;
        n = 0;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "{\"calls\":[");
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!svc_ai_is_row(&rows[i]) && k < limit) {
            char num[24];
            snprintf(num, sizeof(num), "%lld", (long long)rows[i].id);
            svc_audit_call(r, num); /* a row per report returned (svc_audit) */
            char *j = row_json(&rows[i]);
            fprintf(f, "%s%s", k++ ? "," : "", j ? j : "null");
            free(j);
        }
        store_result_free(&rows[i]);
    }
    fprintf(f, "],\"count\":%d}", k);
    fclose(f);
    free(rows);
    svc_answer(r, 200, buf, "application/json");
    return svc_send(r);
}

static enum MHD_Result route_health(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    svc *s = r->s;
    pl_health h;
    pl_analyser_health(s->an, &h);
    const char *vad = h.vad, *nq = h.nisqa, *dm = h.dnsmos;
    char *v = svc_json_str(vad ? vad : "Silero VAD loaded"),
         *n = svc_json_str(nq ? nq : "NISQA v2 loaded"),
         *d = svc_json_str(dm ? dm : "DNSMOS loaded"), *b = NULL;
    int store_ok = store_ping(s->store) == 0;
    int host_ok = h.up;
    int ok = store_ok && host_ok;
    if (v && n && d &&
        asprintf(&b,
                 "{\"status\":\"%s\",\"version\":\"%s\",\"models\":{\"vad\":%s,\"vad_loaded\":"
                 "%s,\"nisqa\":%s,\"nisqa_loaded\":%s,\"dnsmos\":%s,\"dnsmos_loaded\":%s},"
                 "\"store\":\"%s\",\"analyses\":\"%s\",\"servers\":%d}",
                 ok ? "ok" : "degraded", cq_version(), v, vad ? "false" : "true", n,
                 nq ? "false" : "true", d, dm ? "false" : "true", store_ok ? "ok" : "unreachable",
                 !h.isolated ? "in-process"
                 : host_ok   ? "isolated"
                             : "host down",
                 s->cfg->n_servers) < 0)
        b = NULL;
    free(v);
    free(n);
    free(d);
    svc_answer(r, ok ? 200 : 503, b, "application/json");
    return svc_send(r);
}

static enum MHD_Result route_analyze_post(req *r, const char *data, size_t *size)
{
    if (*size) /* more body */
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    if (!r->multipart && r->upload_len == 0) {
        svc_answer_error(r, 400, "empty",
                         "the upload is empty (send the recording as the body, "
                         "or multipart/form-data with 'in' and 'out' parts)");
        return svc_send(r);
    }
    return svc_enqueue(r, SVC_WORK_UPLOAD, NULL);
}

static enum MHD_Result route_analyze_post_start(req *r)
{
    const char *name = arg(r->conn, "name");
    const char *why = NULL;
    if (name && rec_check_file(name, &why)) {
        svc_answer_error(r, 400, "bad_file", "name: %s", why);
        return svc_send(r);
    }
    snprintf(r->upload_name, sizeof(r->upload_name), "%s", name ? name : "upload.wav");
    return svc_body_start(r);
}

static enum MHD_Result route_calls(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return calls(r, NULL);
}

static enum MHD_Result route_call(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    return calls(r, r->param);
}

static enum MHD_Result route_metrics(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    /* the service's series, the store's figures, the live follower's, the audit queue's */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
        svc_metrics_write(f, r->s->store);
        svc_live_metrics(r->s, f);
        svc_auditq_metrics(r->s->auditq, f);
        fclose(f);
    }
    svc_answer(r, 200, buf, "text/plain; version=0.0.4");
    return svc_send(r);
}

static enum MHD_Result route_openapi(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    char msg[200];
    svc_answer(r, 200, svc_openapi(msg, sizeof(msg)), "application/json");
    return svc_send(r);
}

/* ---- the table ---------------------------------------------------------------------------- */

static const svc_route k_routes[] = {
    {.method = "GET",
     .path = "/health",
     .auth = SVC_AUTH_NONE,
     .name = "health",
     .role = SVC_ROLE_OPEN,
     .handle = route_health},
    /* the dashboard (svc_ui.c): its files need no token, so that its login screen loads */
    {.method = "GET",
     .path = "/",
     .auth = SVC_AUTH_NONE,
     .name = "ui",
     .role = SVC_ROLE_OPEN,
     .handle = svc_ui_index},
    {.method = "GET",
     .path = "/assets/{name}",
     .auth = SVC_AUTH_NONE,
     .name = "ui_asset",
     .role = SVC_ROLE_OPEN,
     .handle = svc_ui_asset_get},
    {.method = "GET",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session",
     .role = SVC_ROLE_OPEN,
     .handle = svc_session_get},
    {.method = "POST",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session_login",
     .role = SVC_ROLE_OPEN,
     .audit = "login",
     .body = true,
     .start = svc_session_post_start,
     .handle = svc_session_post},
    {.method = "DELETE",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session_logout",
     .role = SVC_ROLE_OPEN,
     .handle = svc_session_delete},
    {.method = "GET",
     .path = "/analyze",
     .name = "analyze",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "analyze",
     .handle = route_analyze_get},
    {.method = "GET",
     .path = "/ai-analyze",
     .name = "ai_analyze",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "analyze",
     .handle = route_ai_analyze},
    {.method = "POST",
     .path = "/analyze",
     .name = "analyze_upload",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .body = true,
     .start = route_analyze_post_start,
     .handle = route_analyze_post},
    {.method = "POST",
     .path = "/investigate",
     .name = "investigate",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .body = true,
     .start = svc_investigate_start,
     .handle = svc_investigate},
    {.method = "POST",
     .path = "/ask",
     .name = "ask",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_HANDLER,
     .audit = "ask",
     .body = true,
     .start = svc_ask_route_start,
     .handle = svc_ask_route},
    {.method = "DELETE",
     .path = "/cache",
     .name = "cache",
     .role = SVC_ROLE_ADMIN,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "purge",
     .handle = route_cache_delete},
    {.method = "GET",
     .path = "/calls",
     .name = "calls",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "list",
     .handle = route_calls},
    {.method = "GET",
     .path = "/calls/{id}",
     .name = "call",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "view",
     .handle = route_call},
    {.method = "GET",
     .path = "/metrics",
     .auth = SVC_AUTH_METRICS,
     .name = "metrics",
     .role = SVC_ROLE_ADMIN,
     .scope = SVC_SCOPE_ANY,
     .handle = route_metrics},
    {.method = "GET",
     .path = "/api/qa/health",
     .name = "qa_health",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_ANY,
     .handle = svc_qa_health},
    {.method = "GET",
     .path = "/api/qa/daily-summary",
     .name = "qa_daily_summary",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_qa_daily},
    {.method = "GET",
     .path = "/api/qa/agent/{agent_user}",
     .name = "qa_agent",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_AGENT,
     .handle = svc_qa_agent},
    {.method = "GET",
     .path = "/api/qa/flagged",
     .name = "qa_flagged",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_FILTER,
     .audit = "list",
     .handle = svc_qa_flagged},
    {.method = "GET",
     .path = "/api/qa/call/{id}",
     .name = "qa_call",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_CALL,
     .audit = "view",
     .handle = svc_qa_call},
    {.method = "GET",
     .path = "/api/qa/call/{id}/report",
     .name = "qa_report",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_CALL,
     .audit = "download",
     .handle = svc_qa_report},
    {.method = "GET",
     .path = "/api/qa/call/{id}/audio",
     .name = "qa_audio",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_CALL,
     .audit = "listen",
     .handle = svc_qa_audio},
    {.method = "GET",
     .path = "/api/qa/call/{id}/envelope",
     .name = "qa_envelope",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_CALL,
     .audit = "envelope",
     .handle = svc_qa_envelope},
    {.method = "POST",
     .path = "/api/qa/call/{id}/transcript",
     .name = "qa_transcript",
     .role = SVC_ROLE_SUPERVISOR,
     .scope = SVC_SCOPE_CALL,
     .audit = "import",
     .body = true,
     .start = svc_qa_transcript_start,
     .handle = svc_qa_transcript},
    {.method = "PATCH",
     .path = "/api/qa/call/{id}/scores",
     .name = "qa_scores",
     .role = SVC_ROLE_SUPERVISOR,
     .scope = SVC_SCOPE_CALL,
     .audit = "override",
     .body = true,
     .start = svc_qa_scores_start,
     .handle = svc_qa_scores},
    {.method = "GET",
     .path = "/api/qa/agreement",
     .name = "qa_agreement",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_qa_agreement},
    {.method = "GET",
     .path = "/api/qa/search",
     .name = "qa_search",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_FILTER,
     .audit = "search",
     .handle = svc_qa_search},
    {.method = "GET",
     .path = "/api/qa/trends",
     .name = "qa_trends",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_CAMPAIGN,
     .handle = svc_qa_trends},
    {.method = "GET",
     .path = "/api/qa/leaderboard",
     .name = "qa_leaderboard",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_qa_leaderboard},
    {.method = "GET",
     .path = "/api/qa/routes",
     .name = "qa_routes",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_qa_routes},
    {.method = "GET",
     .path = "/api/qa/route/{id}",
     .name = "qa_route",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "view", /* it names calls (the worst, the examples): who looked is kept */
     .handle = svc_qa_route},
    {.method = "GET",
     .path = "/api/qa/queue-status",
     .name = "qa_queue_status",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_ANY,
     .handle = svc_qa_queue},
    {.method = "GET",
     .path = "/api/qa/calls",
     .name = "qa_calls",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_FILTER,
     .audit = "list",
     .handle = svc_qa_calls},
    {.method = "GET",
     .path = "/api/qa/badges",
     .name = "qa_badges",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_ANY,
     .handle = svc_qa_badges},
    {.method = "POST",
     .path = "/api/qa/calls",
     .name = "qa_upload",
     .role = SVC_ROLE_SUPERVISOR,
     .scope = SVC_SCOPE_REFUSED,
     .audit = "upload",
     .body = true,
     .start = svc_qa_upload_start,
     .handle = svc_qa_upload},
    /* marks only ever mute more of a call, and say nothing of one: an agent's desktop places
     * them on the call in progress, which may not be stored yet. The handler refuses a stored
     * call outside the sender's scope and keeps the scope with the mark (the worker applies it
     * only to a call the scope holds) */
    {.method = "POST",
     .path = "/api/qa/marks",
     .name = "qa_marks",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_HANDLER,
     .audit = "mark",
     .body = true,
     .start = svc_qa_marks_start,
     .handle = svc_qa_marks},
    {.method = "GET",
     .path = "/api/qa/workers",
     .name = "qa_workers",
     .role = SVC_ROLE_ADMIN,
     .scope = SVC_SCOPE_REFUSED, /* names calls of every scope */
     .handle = svc_qa_workers},
    {.method = "GET",
     .path = "/api/qa/errors",
     .name = "qa_errors",
     .role = SVC_ROLE_ADMIN,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_qa_errors},
    {.method = "GET",
     .path = "/api/qa/throughput",
     .name = "qa_throughput",
     .role = SVC_ROLE_ANALYST,
     .scope = SVC_SCOPE_ANY,
     .handle = svc_qa_throughput},
    {.method = "GET",
     .path = "/api/qa/events",
     .name = "qa_events",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_HANDLER,
     .handle = svc_qa_events},
    /* the calls in progress (svc_live.c): the lines name no agent or campaign, so a limited
     * caller is refused */
    {.method = "GET",
     .path = "/api/live/calls",
     .name = "live_calls",
     .role = SVC_ROLE_SUPERVISOR,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_live_calls},
    {.method = "GET",
     .path = "/api/live/events",
     .name = "live_events",
     .role = SVC_ROLE_SUPERVISOR,
     .scope = SVC_SCOPE_REFUSED,
     .handle = svc_live_events},
    {.method = "GET",
     .path = "/api/qa/audit",
     .name = "qa_audit",
     .role = SVC_ROLE_ADMIN,
     .scope = SVC_SCOPE_REFUSED, /* names calls of every scope */
     .handle = svc_qa_audit},
    {.method = "GET",
     .path = "/openapi.json",
     .name = "openapi.json",
     .role = SVC_ROLE_AGENT,
     .scope = SVC_SCOPE_ANY,
     .handle = route_openapi},
    {.method = NULL},
};

const svc_route *svc_route_table(void)
{
    return k_routes;
}

/* path against a route's: equal, or equal up to a last segment "{name}" that matches any
 * non-empty segment (its value in *param). */
/* PREFIX{id}SUFFIX: the parameter is one non-empty segment (no '/') between them */
static bool path_match(const char *want, const char *path, const char **param, size_t *len)
{
    const char *brace = strchr(want, '{');
    *param = NULL, *len = 0;
    if (!brace)
        return !strcmp(want, path);
    size_t n = (size_t)(brace - want);
    const char *suffix = strchr(brace, '}') + 1;
    size_t sl = strlen(suffix), pl = strlen(path);
    if (strncmp(want, path, n) || pl <= n + sl || strcmp(path + pl - sl, suffix))
        return false;
    const char *slash = memchr(path + n, '/', pl - sl - n);
    if (slash)
        return false;
    *param = path + n, *len = pl - sl - n;
    return true;
}

const svc_route *svc_route_find(const char *method, const char *path, const char **param,
                                size_t *param_len, bool *path_known)
{
    *path_known = false;
    for (const svc_route *r = k_routes; r->method; r++) {
        if (!path_match(r->path, path, param, param_len))
            continue;
        if (!strcmp(r->method, method)) {
            *path_known = false;
            return r;
        }
        *path_known = true;
    }
    *param = NULL, *param_len = 0;
    return NULL;
}

/* The document, docs/openapi.json, compiled in by the build (svc_openapi_doc.c). */
const char *svc_openapi_doc(size_t *len);

/* The method as an OpenAPI operation key: lower case. */
static void op_key(const char *method, char out[8])
{
    size_t i = 0;
    for (; method[i] && i < 7; i++)
        out[i] = (char)(method[i] | 0x20);
    out[i] = 0;
}

char *svc_openapi(char *msg, size_t msgsz)
{
    size_t len;
    const char *text = svc_openapi_doc(&len);
    return svc_openapi_check(text, len, msg, msgsz);
}

char *svc_openapi_check(const char *text, size_t len, char *msg, size_t msgsz)
{
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    json_t *paths = doc ? json_object_get(doc, "paths") : NULL;
    if (!json_is_object(paths)) {
        snprintf(msg, msgsz, "openapi: %s", doc ? "no paths" : je.text);
        json_decref(doc);
        return NULL;
    }
    json_object_set_new(json_object_get(doc, "info"), "version", json_string(cq_version()));
    /* the document and the table name the same operations, with the same auth: a route is open
     * when its operation says "security": [] */
    int n_ops = 0, n_routes = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op) n_ops++;
    }
    for (const svc_route *r = k_routes; r->method; r++, n_routes++) {
        char m[8];
        op_key(r->method, m);
        json_t *op = json_object_get(json_object_get(paths, r->path), m);
        json_t *sec = json_object_get(op, "security");
        bool open = json_is_array(sec) && json_array_size(sec) == 0;
        /* each route names the least role it needs (none only for the open ones), and the
         * document says the same in the operation's x-callqa-role */
        const char *role = json_string_value(json_object_get(op, "x-callqa-role"));
        bool role_ok = (r->auth == SVC_AUTH_NONE) == (r->role == SVC_ROLE_OPEN);
        const char *why = !role_ok              ? "has no required role in the route table"
                          : !json_is_object(op) ? "is not documented"
                          : open != (r->auth != SVC_AUTH_TOKEN) ? "has another auth there"
                          : !role || strcmp(role, acc_role_name(r->role))
                              ? "has another x-callqa-role there (or none)"
                              : NULL;
        if (why) {
            snprintf(msg, msgsz, "openapi: %s %s %s", r->method, r->path, why);
            json_decref(doc);
            return NULL;
        }
    }
    if (n_ops != n_routes) {
        snprintf(msg, msgsz, "openapi: the document has %d operations, the route table %d routes",
                 n_ops, n_routes);
        json_decref(doc);
        return NULL;
    }
    char *s = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (!s)
        snprintf(msg, msgsz, "out of memory");
    return s;
}
