/*
 * svc_routes.c - the service's routes, declared once: method, path, auth, handler and OpenAPI
 * fragment in one table, from which the server dispatches and /openapi.json is built
 * (docs/openapi.json is that document, checked by tests/service/test_service.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "svc.h"

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
    int got = store_result_latest(s->store, r->srv->name, r->file, s->engine_version, &r->cached);
    r->have_cached = got == 1;
    if (got < 0)
        fprintf(stderr, "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"store lookup failed\"}\n",
                r->id);
    if (r->have_cached && !r->refresh &&
        svc_now_sec() - r->cached.checked < s->cfg->freshness_sec) {
        svc_metrics_cache(true);
        if (ai) { /* the report is at hand: its stored assessment, or a job to make one */
            if (svc_ai_serve_stored(r, r->cached.id))
                return svc_send(r);
            r->report_fresh = 1;
            return svc_enqueue(r, JOB_FETCH);
        }
        r->cache = "hit";
        svc_answer(r, 200, strdup(r->cached.report), "application/json");
        return svc_send(r);
    }
    return svc_enqueue(r, JOB_FETCH);
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
    } else {
        n = store_result_delete(s->store, NULL, NULL);
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
    const char *vad = cq_engine_vad_status(s->engine), *nq = cq_engine_nisqa_status(s->engine);
    char *v = svc_json_str(vad ? vad : "Silero VAD loaded"),
         *n = svc_json_str(nq ? nq : "NISQA v2 loaded"), *b = NULL;
    int store_ok = store_ping(s->store) == 0;
    int host_ok = !s->iso || svc_isolate_up(s->iso);
    int ok = store_ok && host_ok;
    if (v && n &&
        asprintf(&b,
                 "{\"status\":\"%s\",\"version\":\"%s\",\"models\":{\"vad\":%s,\"vad_loaded\":"
                 "%s,\"nisqa\":%s,\"nisqa_loaded\":%s},\"store\":\"%s\",\"analyses\":\"%s\","
                 "\"servers\":%d}",
                 ok ? "ok" : "degraded", cq_version(), v, vad ? "false" : "true", n,
                 nq ? "false" : "true", store_ok ? "ok" : "unreachable",
                 !s->iso   ? "in-process"
                 : host_ok ? "isolated"
                           : "host down",
                 s->cfg->n_servers) < 0)
        b = NULL;
    free(v);
    free(n);
    svc_answer(r, ok ? 200 : 503, b, "application/json");
    return svc_send(r);
}

/* multipart parts 'in', 'out' and 'audio' stream to temporary files, 'metadata' to memory */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *ctype, const char *enc,
                               const char *data, uint64_t off, size_t size)
{
    (void)kind, (void)filename, (void)ctype, (void)enc;
    req *r = cls;
    /* a part begins at offset 0: a second part of a name already seen is refused (50,000
     * 'audio' parts were joined into one file) */
    const int idx = !strcmp(key, "metadata") ? 3
                    : !strcmp(key, "in")     ? 0
                    : !strcmp(key, "out")    ? 1
                    : !strcmp(key, "audio")  ? 2
                                             : -1;
    if (idx >= 0 && off == 0) {
        if (r->part_seen & (1u << idx)) {
            r->bad_multipart = 1, r->duplicate_part = 1;
            return MHD_NO;
        }
        r->part_seen |= 1u << idx;
    }
    if (!strcmp(key, "metadata")) {
        if (r->meta_len + size > SVC_MAX_METADATA) {
            r->bad_multipart = 1;
            return MHD_NO;
        }
        char *nm = realloc(r->meta, r->meta_len + size + 1);
        if (!nm)
            return MHD_NO;
        r->meta = nm;
        memcpy(r->meta + r->meta_len, data, size);
        r->meta_len += size;
        r->meta[r->meta_len] = 0;
        return MHD_YES;
    }
    int p = !strcmp(key, "in") ? 0 : !strcmp(key, "out") ? 1 : !strcmp(key, "audio") ? 2 : -1;
    if (p < 0)
        return MHD_YES; /* other fields are ignored */
    if (!r->part[p]) {
        if (r->part_path[p][0]) { /* a second part of the same name */
            r->bad_multipart = 1;
            return MHD_NO;
        }
        snprintf(r->part_path[p], sizeof(r->part_path[p]), "%s/callqa-upload-XXXXXX",
                 r->s->cfg->tmp_dir);
        int fd = mkstemp(r->part_path[p]);
        if (fd < 0 || !(r->part[p] = fdopen(fd, "wb"))) {
            if (fd >= 0)
                close(fd);
            r->part_path[p][0] = 0;
            return MHD_NO;
        }
    }
    r->part_len[p] += size;
    if (r->part_len[0] + r->part_len[1] + r->part_len[2] > r->s->cfg->max_body) {
        r->upload_too_large = 1;
        return MHD_NO;
    }
    return size && fwrite(data, 1, size, r->part[p]) != size ? MHD_NO : MHD_YES;
}

enum MHD_Result svc_body_start(req *r)
{
    /* a client that stops sending a body is let go after upload_idle_sec of silence (its
     * temporary files go with the request), not after the connection's idle limit */
    MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)(r->s->cfg->upload_idle_sec + 0.999));
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (!r->body_limit)
        r->body_limit = r->s->cfg->max_body;
    if (cl && strtoull(cl, NULL, 10) > r->body_limit) {
        r->close = true; /* its body is not read */
        svc_answer_error(r, 413, "too_large", "the body is over the %zu MiB limit",
                         r->body_limit >> 20);
        return svc_send(r);
    }
    if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->multipart = 1;
        if (!(r->pp = MHD_create_post_processor(r->conn, 65536, on_part, r))) {
            svc_answer_error(r, 400, "bad_multipart", "multipart/form-data without a boundary");
            return svc_send(r);
        }
    }
    return MHD_YES;
}

enum MHD_Result svc_body_piece(req *r, const char *data, size_t *size)
{
    if (!r->body_limit)
        r->body_limit = r->s->cfg->max_body;
    if (svc_mono_sec() - r->t0 > r->s->cfg->upload_timeout_sec) {
        /* a body that trickles in is cut: libmicrohttpd 0.9.75 cannot send an answer before the
         * body is complete, so the connection is closed (logged and counted as 408) */
        svc_answer_error(r, 408, "upload_timeout", "the upload took longer than %.0f s",
                         r->s->cfg->upload_timeout_sec);
        return MHD_NO;
    }
    if (r->multipart) {
        if (!r->upload_too_large && !r->bad_multipart &&
            MHD_post_process(r->pp, data, *size) != MHD_YES && !r->upload_too_large)
            r->bad_multipart = 1;
    } else if (!r->upload_too_large && !r->over_budget) {
        if (r->upload_len + *size > r->body_limit) {
            r->upload_too_large = 1;
        } else {
            if (r->upload_len + *size > r->upload_cap) {
                size_t cap = (r->upload_len + *size) * 2;
                if (cap > r->body_limit)
                    cap = r->body_limit;
                /* the bodies held in memory by all requests together stay within
                 * max_body_memory_mb: past it, this one is drained and answered 503 */
                size_t more = cap - r->upload_cap;
                if (atomic_fetch_add(&r->s->body_bytes, more) + more > r->s->cfg->max_body_memory) {
                    atomic_fetch_sub(&r->s->body_bytes, more);
                    r->over_budget = 1;
                    *size = 0;
                    return MHD_YES;
                }
                char *nb = realloc(r->upload, cap);
                if (!nb) {
                    atomic_fetch_sub(&r->s->body_bytes, more);
                    r->upload_too_large = 1;
                    *size = 0;
                    return MHD_YES;
                }
                r->upload = nb, r->upload_cap = cap;
            }
            memcpy(r->upload + r->upload_len, data, *size);
            r->upload_len += *size;
        }
    }
    *size = 0;
    return MHD_YES;
}

int svc_body_done(req *r)
{
    for (int p = 0; p < 3; p++)
        if (r->part[p]) {
            fclose(r->part[p]);
            r->part[p] = NULL;
        }
    /* the parser, done with: it says whether the body reached its closing boundary */
    bool unfinished = false;
    if (r->pp) {
        unfinished = MHD_destroy_post_processor(r->pp) != MHD_YES;
        r->pp = NULL;
    }
    if (r->upload_too_large)
        svc_answer_error(r, 413, "too_large", "the body is over the %zu MiB limit",
                         (r->body_limit ? r->body_limit : r->s->cfg->max_body) >> 20);
    else if (r->over_budget)
        svc_answer_error(r, 503, "busy",
                         "the uploads being received hold the %zu MiB they may "
                         "hold in memory: try again in a few seconds",
                         r->s->cfg->max_body_memory >> 20);
    else if (r->duplicate_part)
        svc_answer_error(r, 400, "bad_multipart",
                         "a part of the same name came twice ('in', "
                         "'out', 'audio' and 'metadata' come once)");
    else if (r->bad_multipart)
        svc_answer_error(r, 400, "bad_multipart", "the multipart body could not be parsed");
    else if (unfinished && r->multipart)
        svc_answer_error(r, 400, "bad_multipart",
                         "the multipart body ended before its closing "
                         "boundary (a cut upload)");
    else
        return 0;
    return -1;
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
    return svc_enqueue(r, JOB_UPLOAD);
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
    svc_answer(r, 200, svc_metrics_render(r->s->store), "text/plain; version=0.0.4");
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
     .handle = route_health,
     .openapi =
         "{\"summary\":\"Liveness, version, models loaded, store reachable\","
         "\"responses\":{"
         "\"200\":{\"description\":\"ok\"},"
         "\"503\":{\"description\":\"the store is unreachable, or the analysis host is down\"}"
         "}}"},
    /* the dashboard (svc_ui.c): its files need no token, so that its login screen loads */
    {.method = "GET",
     .path = "/",
     .auth = SVC_AUTH_NONE,
     .name = "ui",
     .handle = svc_ui_index,
     .openapi = "{\"summary\":\"The dashboard's page (text/html); without the dashboard built in, "
                "a plain-text note that says so\","
                "\"responses\":{"
                "\"200\":{\"description\":\"index.html, with an ETag\",\"content\":{"
                "\"text/html\":{}}},"
                "\"304\":{\"description\":\"If-None-Match named its ETag\"}"
                "}}"},
    {.method = "GET",
     .path = "/assets/{name}",
     .auth = SVC_AUTH_NONE,
     .name = "ui_asset",
     .handle = svc_ui_asset_get,
     .openapi = "{\"summary\":\"The dashboard's script and stylesheet\","
                "\"parameters\":["
                "{\"name\":\"name\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
                "\"string\",\"enum\":[\"app.js\",\"app.css\"]}}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"the file, with an ETag\"},"
                "\"304\":{\"description\":\"If-None-Match named its ETag\"},"
                "\"404\":{\"description\":\"no such file\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session",
     .handle = svc_session_get,
     .openapi = "{\"summary\":\"The dashboard's session: whether the service needs auth, whether "
                "this request is authenticated (the bearer token, or the session cookie), when the "
                "session expires, its CSRF value, and why it is not authenticated\","
                "\"responses\":{"
                "\"200\":{\"description\":\"{auth_required, authenticated, expires: Unix s or "
                "null, csrf: string or null, reason: null, expired, invalid or missing}\"}"
                "}}"},
    {.method = "POST",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session_login",
     .body = true,
     .start = svc_session_post_start,
     .handle = svc_session_post,
     .openapi = "{\"summary\":\"Exchange the bearer token for a session cookie (callqa_session: "
                "HttpOnly, SameSite=Strict, Path=/, Max-Age session_ttl_sec; Secure with "
                "session_cookie_secure). Requests with the cookie are authenticated as with the "
                "token; their POST, PATCH and DELETE also need X-CSRF-Token: the csrf value\","
                "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"type\":"
                "\"object\",\"required\":[\"token\"],\"properties\":{\"token\":{\"type\":"
                "\"string\"}}}}}},"
                "\"responses\":{"
                "\"200\":{\"description\":\"{authenticated: true, auth_required, expires, csrf} "
                "and Set-Cookie (without auth: no cookie, no expires)\"},"
                "\"400\":{\"description\":\"the body is not a JSON object\"},"
                "\"401\":{\"description\":\"the token is missing or wrong\"},"
                "\"403\":{\"description\":\"cross_origin: sent from a page of another "
                "origin\"},"
                "\"413\":{\"description\":\"a body over 8 KiB\"}"
                "}}"},
    {.method = "DELETE",
     .path = "/api/session",
     .auth = SVC_AUTH_NONE,
     .name = "session_logout",
     .handle = svc_session_delete,
     .openapi = "{\"summary\":\"Log out: the session cookie is cleared (Max-Age=0). Sessions are "
                "not stored: a copy of the cookie stays valid until it expires, or until the token "
                "changes\","
                "\"responses\":{"
                "\"200\":{\"description\":\"{authenticated: false, auth_required}\"}"
                "}}"},
    {.method = "GET",
     .path = "/analyze",
     .name = "analyze",
     .handle = route_analyze_get,
     .openapi =
         "{\"summary\":\"Fetch a recording from a configured ViciDial recording server, analyse it "
         "(or serve the stored result), return the report\","
         "\"parameters\":["
         "{\"name\":\"server\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":\"string\"},"
         "\"description\":\"a configured recording server name\"},"
         "{\"name\":\"file\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":\"string\"},"
         "\"description\":\"the recording's file name, e.g. 20240101-120000_5551234-all.wav; "
         "-in/-out legs under ORIG/ are preferred, then -all.wav, MP3/-all.mp3, the name as "
         "given\"},"
         "{\"name\":\"refresh\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":[\"0\","
         "\"1\"]},\"description\":\"1: analyse again, ignoring the store\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"the report; X-Cache: hit, revalidated, miss, or shared (the "
         "answer of an identical request being analysed at that "
         "moment)\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/"
         "Report\"}}}},"
         "\"400\":{\"description\":\"bad or missing arguments\"},"
         "\"401\":{\"description\":\"no or wrong token\"},"
         "\"404\":{\"description\":\"unknown server, or no such recording\"},"
         "\"422\":{\"description\":\"not a recording callqa can decode\"},"
         "\"500\":{\"description\":\"analysis_crashed: the analysis process died on this recording "
         "(the service goes on)\"},"
         "\"502\":{\"description\":\"the recording server failed (HTML, error, too large)\"},"
         "\"503\":{\"description\":\"too many analyses waiting, or no analysis host "
         "(analysis_unavailable)\"},"
         "\"504\":{\"description\":\"the recording server did not answer in time "
         "(upstream_timeout), or the analysis ran past analysis_timeout_sec (analysis_timeout)\"}"
         "}}"},
    {.method = "GET",
     .path = "/ai-analyze",
     .name = "ai_analyze",
     .handle = route_ai_analyze,
     .openapi =
         "{\"summary\":\"The call's assessment for a supervisor (the old service's shape): a "
         "one-sentence verdict and 2-3 bullets citing the report's figures, by the configured LLM "
         "or, without one (or when it fails), by rules; with the rules' findings. The report is "
         "fetched and analysed as GET /analyze does (or the stored one is used); the assessment "
         "is stored apart and served again for the same report\","
         "\"parameters\":["
         "{\"name\":\"server\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":\"string\"},"
         "\"description\":\"a configured recording server name\"},"
         "{\"name\":\"file\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":\"string\"},"
         "\"description\":\"the recording's file name, as for GET /analyze\"},"
         "{\"name\":\"refresh\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":[\"0\","
         "\"1\"]},\"description\":\"1: fetch and analyse again, and assess again\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"the assessment; X-Cache: hit or revalidated (the stored "
         "assessment of the stored report), miss (made now), or shared\",\"content\":{"
         "\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Assessment\"}}}},"
         "\"400\":{\"description\":\"bad or missing arguments\"},"
         "\"401\":{\"description\":\"no or wrong token\"},"
         "\"404\":{\"description\":\"unknown server, or no such recording\"},"
         "\"422\":{\"description\":\"not a recording callqa can decode\"},"
         "\"500\":{\"description\":\"analysis_crashed, or the report could not be assessed "
         "(never an LLM failure: that falls back to rules)\"},"
         "\"502\":{\"description\":\"the recording server failed (HTML, error, too large)\"},"
         "\"503\":{\"description\":\"too many analyses waiting, or no analysis host\"},"
         "\"504\":{\"description\":\"upstream_timeout or analysis_timeout\"}"
         "}}"},
    {.method = "POST",
     .path = "/analyze",
     .name = "analyze_upload",
     .body = true,
     .start = route_analyze_post_start,
     .handle = route_analyze_post,
     .openapi = "{\"summary\":\"Analyse an uploaded recording: the body is the file, or "
                "multipart/form-data with 'in' and 'out' leg parts\","
                "\"parameters\":["
                "{\"name\":\"name\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"the report's file name (default upload.wav)\"}"
                "],"
                "\"requestBody\":{\"content\":{\"application/octet-stream\":{},\"audio/"
                "wav\":{},\"multipart/form-data\":{}}},"
                "\"responses\":{"
                "\"200\":{\"description\":\"the report\"},"
                "\"400\":{\"description\":\"empty or malformed upload\"},"
                "\"413\":{\"description\":\"over the size limit\"},"
                "\"422\":{\"description\":\"not a recording callqa can decode\"},"
                "\"500\":{\"description\":\"analysis_crashed: the analysis process died on this "
                "recording\"},"
                "\"503\":{\"description\":\"too many analyses waiting, or no analysis host\"},"
                "\"504\":{\"description\":\"analysis_timeout\"}"
                "}}"},
    {.method = "DELETE",
     .path = "/cache",
     .name = "cache",
     .handle = route_cache_delete,
     .openapi = "{\"summary\":\"Delete stored results: all, or those of one server and file\","
                "\"parameters\":["
                "{\"name\":\"server\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
                "{\"name\":\"file\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{\\\"deleted\\\": n}\"},"
                "\"400\":{\"description\":\"only one of server and file\"}"
                "}}"},
    {.method = "GET",
     .path = "/calls",
     .name = "calls",
     .handle = route_calls,
     .openapi = "{\"summary\":\"Stored results, newest first\","
                "\"parameters\":["
                "{\"name\":\"since\",\"in\":\"query\",\"schema\":{\"type\":\"number\"},"
                "\"description\":\"Unix time (s)\"},"
                "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":"
                "1,\"maximum\":1000,\"default\":50}}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{\\\"calls\\\": [StoredCall], \\\"count\\\": n}\"}"
                "}}"},
    {.method = "GET",
     .path = "/calls/{id}",
     .name = "call",
     .handle = route_call,
     .openapi =
         "{\"summary\":\"One stored result\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"integer\"}}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"a "
         "StoredCall\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/"
         "schemas/StoredCall\"}}}},"
         "\"404\":{\"description\":\"no such call\"}"
         "}}"},
    {.method = "GET",
     .path = "/metrics",
     .auth = SVC_AUTH_METRICS,
     .name = "metrics",
     .handle = route_metrics,
     .openapi = "{\"summary\":\"Prometheus metrics (text format)\","
                "\"responses\":{"
                "\"200\":{\"description\":\"text/plain; version=0.0.4\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/health",
     .name = "qa_health",
     .handle = svc_qa_health,
     .openapi =
         "{\"summary\":\"The QA store: size, calls scored and flagged, the last call completed\","
         "\"responses\":{"
         "\"200\":{\"description\":\"{status, db_size_mb, total_scored, total_flagged, "
         "last_processed (YYYY-MM-DD HH:MM:SS local, or null), total_calls, complete_calls}\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/daily-summary",
     .name = "qa_daily_summary",
     .handle = svc_qa_daily,
     .openapi =
         "{\"summary\":\"One object per day: calls queued, scored, average score, flagged, top and "
         "bottom agent (3 scored calls or more), category averages, and the analysis figures\","
         "\"parameters\":["
         "{\"name\":\"date\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},\"description\":"
         "\"one day, YYYY-MM-DD\"},"
         "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":7,"
         "\"minimum\":1,\"maximum\":90},\"description\":\"days back from today\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"[{date, total_calls, scored_calls, avg_score, flagged_calls, "
         "top_agent, top_score, bottom_agent, bottom_score, category_averages, "
         "partial_scored_calls, "
         "avg_partial_score, analysed, skipped, errors, talk_sec, hold_sec, dead_air_sec, "
         "one_way_calls, avg_mos}], oldest first; null "
         "where there is no data\"},"
         "\"400\":{\"description\":\"an argument out of range or malformed\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/agent/{agent_user}",
     .name = "qa_agent",
     .handle = svc_qa_agent,
     .openapi = "{\"summary\":\"One agent over a period: calls, scores, category averages, a daily "
                "trend\","
                "\"parameters\":["
                "{\"name\":\"agent_user\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
                "\"string\"}},"
                "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "30,\"minimum\":1,\"maximum\":365},\"description\":\"days back from today\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{agent_user, agent_name, period_start, period_end, "
                "total_calls, avg_score, min_score, max_score, flagged_calls, category_averages, "
                "trend:[{date, calls, avg_score}], partial_scored_calls, avg_partial_score}\"},"
                "\"400\":{\"description\":\"an argument out of range or malformed\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/flagged",
     .name = "qa_flagged",
     .handle = svc_qa_flagged,
     .openapi = "{\"summary\":\"Flagged calls, lowest total (or partial score, without a "
                "total) first\","
                "\"parameters\":["
                "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "7,\"minimum\":1,\"maximum\":90},\"description\":\"days back from today\"},"
                "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "50,\"minimum\":1,\"maximum\":500},\"description\":\"at most\"},"
                "{\"name\":\"agent\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"one agent_user\"},"
                "{\"name\":\"campaign\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"one campaign or in-group\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"[{recording_id, agent_user, agent_name, campaign_id, "
                "call_date, call_length, total_score, flag_reason, summary, scores, partial_score, "
                "coverage}]\"},"
                "\"400\":{\"description\":\"an argument out of range or malformed\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/call/{id}",
     .name = "qa_call",
     .handle = svc_qa_call,
     .openapi =
         "{\"summary\":\"One call by recording_id or uniqueid: the dialer fields, its state, "
         "transcript and scores (null until they exist), the scoring result in full "
         "(score_detail), the supervisors' overrides (the newest per category), and its "
         "analysis\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"the call\"},"
         "\"404\":{\"description\":\"no such call\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/call/{id}/report",
     .name = "qa_report",
     .handle = svc_qa_report,
     .openapi =
         "{\"summary\":\"A call's stored report in full (docs/report.md) and the assessment "
         "by rules made from it (docs/assess.md)\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"},"
         "\"description\":\"recording_id or uniqueid\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"{call_id, recording_id, report, assessment: {engine: "
         "rules, text, findings}}\"},"
         "\"404\":{\"description\":\"no such call, or not analysed yet\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/call/{id}/audio",
     .name = "qa_audio",
     .handle = svc_qa_audio,
     .openapi =
         "{\"summary\":\"A call's recording (by recording_id or uniqueid) for a player: WAV of "
         "PCM, u-law or A-law, MP3, FLAC and Ogg as they are; GSM 06.10 (WAV49 or raw) and "
         "other encodings transcoded to PCM16 WAV (kept in a cache under tmp_dir). One byte "
         "range (Range: bytes=a-b, a-, -n) gives 206; several ranges or a malformed header, "
         "the whole recording. ETag and If-None-Match; HEAD. Recordings on a recording server "
         "(NAME:path) are not served (404 remote_audio)\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}},"
         "{\"name\":\"leg\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":[\"in\","
         "\"out\",\"mix\"]},\"description\":\"in: the caller's leg file, out: the agent's, mix: "
         "the mixed or stereo file; default mix when the call has one, else in\"},"
         "{\"name\":\"Range\",\"in\":\"header\",\"schema\":{\"type\":\"string\"}},"
         "{\"name\":\"If-None-Match\",\"in\":\"header\",\"schema\":{\"type\":\"string\"}}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"the recording\",\"content\":{\"audio/wav\":{},"
         "\"audio/mpeg\":{},\"audio/flac\":{},\"audio/ogg\":{}}},"
         "\"206\":{\"description\":\"one range of it, with Content-Range\"},"
         "\"304\":{\"description\":\"If-None-Match matches its ETag\"},"
         "\"400\":{\"description\":\"leg is not in, out or mix (bad_leg)\"},"
         "\"404\":{\"description\":\"no such call (not_found), the call has no such leg "
         "(no_such_leg) or no recording (no_audio), the file is gone (audio_missing), or it is "
         "on a recording server (remote_audio)\"},"
         "\"415\":{\"description\":\"the decoder cannot read it (audio_unsupported)\"},"
         "\"416\":{\"description\":\"the range starts past the end; Content-Range: bytes */size\"},"
         "\"422\":{\"description\":\"a recording to transcode is longer than max_duration "
         "(audio_too_long)\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/call/{id}/envelope",
     .name = "qa_envelope",
     .handle = svc_qa_envelope,
     .openapi =
         "{\"summary\":\"A call's level envelope (by recording_id or uniqueid), for a timeline: "
         "each leg's RMS level in dBFS (0.1 dB, floored at -100) every step_sec, as the QA worker "
         "stored it (every 50 ms, source_step_sec); a leg with more steps than points is "
         "decimated to equal runs of steps, each the largest of its run\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}},"
         "{\"name\":\"points\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
         "2000,\"minimum\":100,\"maximum\":20000},\"description\":\"at most this many values "
         "per leg\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"{call_id, recording_id, duration_sec, source_step_sec, "
         "step_sec, legs: {inbound, outbound (or the mono leg, inbound): [dBFS]}}\"},"
         "\"400\":{\"description\":\"points out of range or malformed\"},"
         "\"404\":{\"description\":\"no such call (not_found), or no envelope (no_envelope): "
         "not analysed yet, or analysed before envelopes were kept\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "POST",
     .path = "/api/qa/call/{id}/transcript",
     .name = "qa_transcript",
     .body = true,
     .start = svc_qa_transcript_start,
     .handle = svc_qa_transcript,
     .openapi =
         "{\"summary\":\"Attach a transcript made elsewhere to a call (by recording_id or "
         "uniqueid), in place of any earlier one: callqa's format {segments: [{speaker, start, "
         "end, text, words?}]}, or OpenAI verbose_json for one leg with ?speaker=; checked against "
         "the call's analysed speech when there is one\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}},"
         "{\"name\":\"speaker\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":["
         "\"agent\",\"customer\",\"mixed\"]},\"description\":\"whose leg an OpenAI verbose_json "
         "transcript is\"}"
         "],"
         "\"requestBody\":{\"content\":{\"application/json\":{}}},"
         "\"responses\":{"
         "\"200\":{\"description\":\"the transcript block as stored (docs/transcription.md)\"},"
         "\"400\":{\"description\":\"not a transcript of either format\"},"
         "\"404\":{\"description\":\"no such call\"},"
         "\"413\":{\"description\":\"over the size limit\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "PATCH",
     .path = "/api/qa/call/{id}/scores",
     .name = "qa_scores",
     .body = true,
     .start = svc_qa_scores_start,
     .handle = svc_qa_scores,
     .openapi =
         "{\"summary\":\"A supervisor's scores for categories of a scored call (by recording_id "
         "or uniqueid), kept beside the automatic ones: the call shows the newest per category "
         "under overrides; its scores and the roll-ups stay the automatic ones\","
         "\"parameters\":["
         "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}"
         "],"
         "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
         "\"type\":\"object\",\"required\":[\"supervisor\",\"scores\"],\"additionalProperties\":"
         "false,\"properties\":{\"supervisor\":{\"type\":\"string\",\"minLength\":1,"
         "\"maxLength\":128},\"comment\":{\"type\":\"string\",\"maxLength\":4000},\"scores\":{"
         "\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":{\"type\":"
         "\"integer\",\"minimum\":1,\"maximum\":5}}}}}}},"
         "\"responses\":{"
         "\"200\":{\"description\":\"{call_id, overrides: {category: {score, supervisor, comment, "
         "created}}}: the newest per category\"},"
         "\"400\":{\"description\":\"not JSON, an unknown field, no supervisor, a category the "
         "call's scorecard does not have, a score that is not an integer from 1 to 5\"},"
         "\"404\":{\"description\":\"no such call\"},"
         "\"409\":{\"description\":\"the call has no scores yet\"},"
         "\"413\":{\"description\":\"a body over 64 KiB\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/agreement",
     .name = "qa_agreement",
     .handle = svc_qa_agreement,
     .openapi =
         "{\"summary\":\"Automatic against human scores, per category, over the calls of a period "
         "that a supervisor overrode (the newest override of each call and category)\","
         "\"parameters\":["
         "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":30,"
         "\"minimum\":1,\"maximum\":365},\"description\":\"days back from today (the calls' "
         "days)\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"{period_start, period_end, categories: {category: {n (calls "
         "overridden), compared (of those with an automatic score), exact_rate, within_one_rate, "
         "mean_abs_diff}}}: the old eight categories always, others when overridden; rates and "
         "differences null when nothing was compared\"},"
         "\"400\":{\"description\":\"an argument out of range or malformed\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/search",
     .name = "qa_search",
     .handle = svc_qa_search,
     .openapi = "{\"summary\":\"Calls whose transcript holds the words (SQLite FTS5), newest "
                "first, each with its hits: the segment, its speaker and times, its text and the "
                "character offsets of the words found\","
                "\"parameters\":["
                "{\"name\":\"q\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":"
                "\"string\"},\"description\":\"words, all of which must be in a segment; \\\"a "
                "phrase\\\" in double quotes\"},"
                "{\"name\":\"agent\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"one agent_user\"},"
                "{\"name\":\"campaign\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"one campaign or in-group\"},"
                "{\"name\":\"from\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"format\":"
                "\"date\"},\"description\":\"first day (YYYY-MM-DD)\"},"
                "{\"name\":\"to\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"format\":"
                "\"date\"},\"description\":\"last day (YYYY-MM-DD)\"},"
                "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "50,\"minimum\":1,\"maximum\":500},\"description\":\"calls at most\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{query, calls: [{call_id, recording_id, agent_user, "
                "campaign_id, call_date, hits: [{segment, speaker, start, end, text, offsets: "
                "[[first, past_last], ...]}]}]}\"},"
                "\"400\":{\"description\":\"no words to find, or a malformed date\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/trends",
     .name = "qa_trends",
     .handle = svc_qa_trends,
     .openapi = "{\"summary\":\"One object per day, oldest first: calls, average score, flagged, "
                "category averages\","
                "\"parameters\":["
                "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "30,\"minimum\":7,\"maximum\":365},\"description\":\"days back from today\"},"
                "{\"name\":\"campaign\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"one campaign or in-group\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"[{date, calls, avg_score, flagged, categories, "
                "partial_scored_calls, avg_partial_score, ...}]\"},"
                "\"400\":{\"description\":\"an argument out of range or malformed\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/leaderboard",
     .name = "qa_leaderboard",
     .handle = svc_qa_leaderboard,
     .openapi =
         "{\"summary\":\"Agents by average score, best first, among those with min_calls scored "
         "calls or more\","
         "\"parameters\":["
         "{\"name\":\"days\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":7,"
         "\"minimum\":1,\"maximum\":90},\"description\":\"days back from today\"},"
         "{\"name\":\"min_calls\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":5,"
         "\"minimum\":1,\"maximum\":100000},\"description\":\"scored calls at least\"}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"[{rank, agent_user, agent_name, calls, avg_score, min_score, "
         "max_score, flagged}]\"},"
         "\"400\":{\"description\":\"an argument out of range or malformed\"},"
         "\"503\":{\"description\":\"the store is unreachable\"}"
         "}}"},
    {.method = "GET",
     .path = "/api/qa/queue-status",
     .name = "qa_queue_status",
     .handle = svc_qa_queue,
     .openapi = "{\"summary\":\"Jobs per state\","
                "\"responses\":{"
                "\"200\":{\"description\":\"{status_counts:{state:n}, today_queued, total}\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/calls",
     .name = "qa_calls",
     .handle = svc_qa_calls,
     .openapi = "{\"summary\":\"Calls, newest first (or in the order asked), filtered and paged; "
                "each with its problem badges (one_way, dead_air, clipping, low_level, "
                "fake_stereo, swapped_legs, mos_low; null when not analysed) and call_epoch\","
                "\"parameters\":["
                "{\"name\":\"from\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"first call day, YYYY-MM-DD\"},"
                "{\"name\":\"to\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"last call day, YYYY-MM-DD\"},"
                "{\"name\":\"agent\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"agent_user\"},"
                "{\"name\":\"campaign\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"campaign or in-group\"},"
                "{\"name\":\"state\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"the job state: pending, analysing, transcribing, transcribed, "
                "scoring, complete, skipped, error\"},"
                "{\"name\":\"one_way\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"1 or 0\"},"
                "{\"name\":\"mos_below\",\"in\":\"query\",\"schema\":{\"type\":\"number\"},"
                "\"description\":\"a leg with MOS under this\"},"
                "{\"name\":\"dead_air\",\"in\":\"query\",\"schema\":{\"type\":\"number\"},"
                "\"description\":\"dead air of at least this many seconds\"},"
                "{\"name\":\"flagged\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"1 or 0\"},"
                "{\"name\":\"dtmf\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"1: calls with DTMF digits; 0: analysed calls without\"},"
                "{\"name\":\"q\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
                "\"description\":\"calls whose transcript holds these words (as /api/qa/search: "
                "every word, \\\"a phrase\\\" in double quotes)\"},"
                "{\"name\":\"sort\",\"in\":\"query\",\"schema\":{\"type\":\"string\","
                "\"enum\":[\"call_date\",\"agent_user\",\"campaign_id\",\"total_score\",\"mos\","
                "\"duration\",\"dead_air\",\"call_length\"],\"default\":\"call_date\"},"
                "\"description\":\"the order's key (mos: the lower leg's); nulls last, ties by "
                "call id\"},"
                "{\"name\":\"order\",\"in\":\"query\",\"schema\":{\"type\":\"string\","
                "\"enum\":[\"asc\",\"desc\"],\"default\":\"desc\"}},"
                "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"default\":"
                "50,\"minimum\":1,\"maximum\":500},\"description\":\"page size\"},"
                "{\"name\":\"offset\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
                "\"default\":0,\"minimum\":0},\"description\":\"rows to skip\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{calls:[call], total, limit, offset, sort, order}\"},"
                "\"400\":{\"description\":\"an argument out of range or malformed\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "POST",
     .path = "/api/qa/calls",
     .name = "qa_upload",
     .body = true,
     .start = svc_qa_upload_start,
     .handle = svc_qa_upload,
     .openapi = "{\"summary\":\"Queue an uploaded call: multipart/form-data with a metadata JSON "
                "part (source, recording_id, uniqueid, vicidial_id, lead_id, agent_user, "
                "agent_name, campaign_id, campaign_name, direction, call_date, tz, length_sec, "
                "disposition, term_reason) and an audio part, or in and out leg parts\","
                "\"responses\":{"
                "\"201\":{\"description\":\"{call_id, source, recording_id, created: true, "
                "processing_status}: queued\"},"
                "\"200\":{\"description\":\"the call was known (same source and recording_id): "
                "nothing changed\"},"
                "\"400\":{\"description\":\"malformed multipart or metadata\"},"
                "\"413\":{\"description\":\"over the size limit\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/workers",
     .name = "qa_workers",
     .handle = svc_qa_workers,
     .openapi = "{\"summary\":\"The workers: host, pid, heartbeat, state, pause reason, calls "
                "done, the call in hand\","
                "\"responses\":{"
                "\"200\":{\"description\":\"{workers:[worker]}\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/errors",
     .name = "qa_errors",
     .handle = svc_qa_errors,
     .openapi = "{\"summary\":\"Jobs that ended in error within the last hours, by stage and "
                "reason (the message's words before its first ': '), the most frequent first, "
                "each with n, last_ts and the newest example {call_id, recording_id, message}; "
                "and the retries by stage and reason since the store began (qa_retries_total)\","
                "\"parameters\":["
                "{\"name\":\"hours\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
                "\"default\":24,\"minimum\":1,\"maximum\":720},\"description\":\"the window: "
                "this many clock hours (UTC), the current one last\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{hours, since, total, errors:[{stage, reason, n, "
                "last_ts, example}], retries:[{stage, reason, n}]}\"},"
                "\"400\":{\"description\":\"hours out of range\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/throughput",
     .name = "qa_throughput",
     .handle = svc_qa_throughput,
     .openapi = "{\"summary\":\"Jobs finished per UTC hour (complete, error, skipped), every "
                "hour of the window present, the oldest first\","
                "\"parameters\":["
                "{\"name\":\"hours\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
                "\"default\":24,\"minimum\":1,\"maximum\":720},\"description\":\"the window: "
                "this many clock hours (UTC), the current one last\"}"
                "],"
                "\"responses\":{"
                "\"200\":{\"description\":\"{hours, since, buckets:[{hour (its start, UTC s), "
                "complete, error, skipped}], totals}\"},"
                "\"400\":{\"description\":\"hours out of range\"},"
                "\"503\":{\"description\":\"the store is unreachable\"}"
                "}}"},
    {.method = "GET",
     .path = "/api/qa/events",
     .name = "qa_events",
     .handle = svc_qa_events,
     .openapi =
         "{\"summary\":\"Job state changes as server-sent events (text/event-stream): each event "
         "has id: (the store's event number), event: job and data: {id, call_id, source, "
         "recording_id, agent_user, state, ts}; a comment line every events_heartbeat_sec without "
         "events. Reconnect with Last-Event-ID to miss nothing the store still holds\","
         "\"parameters\":["
         "{\"name\":\"after\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":0},"
         "\"description\":\"start after this event id (Last-Event-ID wins); default: only new "
         "events\"},"
         "{\"name\":\"Last-Event-ID\",\"in\":\"header\",\"schema\":{\"type\":\"integer\","
         "\"minimum\":0}}"
         "],"
         "\"responses\":{"
         "\"200\":{\"description\":\"the stream, until the client or the service "
         "leaves\",\"content\":{\"text/event-stream\":{}}},"
         "\"400\":{\"description\":\"a malformed event id\"},"
         "\"503\":{\"description\":\"events_max_clients streams open already, or the service is "
         "stopping\"}"
         "}}"},
    {.method = "GET",
     .path = "/openapi.json",
     .name = "openapi.json",
     .handle = route_openapi,
     .openapi = "{\"summary\":\"This document\","
                "\"responses\":{"
                "\"200\":{\"description\":\"OpenAPI 3\"}"
                "}}"},
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

/* What every document has around the paths. */
static const char k_openapi_base[] =
    "{\"openapi\":\"3.0.3\","
    "\"info\":{\"title\":\"callqa\",\"version\":\"\","
    "\"description\":\"Call-recording analysis. Reports are the JSON of `callqa analyze --json` "
    "(docs/report.md). Errors are {\\\"error\\\": message, \\\"code\\\": name}. Every route but "
    "/health, "
    "/metrics, the dashboard's files and /api/session needs `Authorization: Bearer <token>` (or "
    "the "
    "dashboard's session cookie, see POST /api/session) unless the service runs with --no-auth.\"},"
    "\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\"}},"
    "\"schemas\":{"
    "\"Error\":{\"type\":\"object\",\"required\":[\"error\",\"code\"],"
    "\"properties\":{\"error\":{\"type\":\"string\"},\"code\":{\"type\":\"string\"}}},"
    "\"Report\":{\"type\":\"object\",\"description\":\"docs/report.md\",\"required\":[\"file\","
    "\"duration\",\"has_legs\",\"inbound\",\"outbound\",\"one_way_audio\",\"one_way_direction\","
    "\"nisqa\",\"analysis_time_sec\"]},"
    "\"Assessment\":{\"type\":\"object\",\"description\":\"docs/service.md, docs/assess.md\","
    "\"required\":[\"ai_analysis\",\"model\",\"has_legs\",\"analysis_time_sec\",\"engine\","
    "\"findings\"],\"properties\":{"
    "\"ai_analysis\":{\"type\":\"string\",\"description\":\"a verdict and 2-3 bullets\"},"
    "\"model\":{\"type\":\"string\",\"nullable\":true,\"description\":\"the LLM's model that "
    "answered; null by rules\"},"
    "\"has_legs\":{\"type\":\"boolean\"},"
    "\"analysis_time_sec\":{\"type\":\"number\",\"description\":\"this request's time\"},"
    "\"engine\":{\"type\":\"string\",\"enum\":[\"rules\",\"anthropic\",\"openai\",\"gemini\"]},"
    "\"findings\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"code\","
    "\"message\",\"values\"]},\"description\":\"by rules, the most serious first\"},"
    "\"cached\":{\"type\":\"boolean\",\"description\":\"the stored assessment\"},"
    "\"llm_error\":{\"type\":\"string\",\"description\":\"why the LLM's answer is not used "
    "(llm_cap: ... at a daily cap); the text is then by rules\"}}},"
    "\"StoredCall\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"server\":{\"type\":\"string\"},\"file\":{\"type\":\"string\"},\"source\":{\"type\":"
    "\"string\"},"
    "\"created\":{\"type\":\"number\"},\"checked\":{\"type\":\"number\"},"
    "\"report\":{\"$ref\":\"#/components/schemas/Report\"}}}}},"
    "\"security\":[{\"bearer\":[]}],\"paths\":{}}";

char *svc_openapi(char *msg, size_t msgsz)
{
    json_error_t je;
    json_t *doc = json_loads(k_openapi_base, 0, &je);
    if (!doc) {
        snprintf(msg, msgsz, "openapi: the base document: %s", je.text);
        return NULL;
    }
    json_object_set_new(json_object_get(doc, "info"), "version", json_string(cq_version()));
    json_t *paths = json_object_get(doc, "paths");
    for (const svc_route *r = k_routes; r->method; r++) {
        json_t *op = json_loads(r->openapi, 0, &je);
        if (!op || !json_is_object(op)) {
            snprintf(msg, msgsz, "openapi: %s %s: %s", r->method, r->path,
                     op ? "not an object" : je.text);
            json_decref(op);
            json_decref(doc);
            return NULL;
        }
        if (r->auth != SVC_AUTH_TOKEN) /* open by default */
            json_object_set_new(op, "security", json_array());
        json_t *item = json_object_get(paths, r->path);
        if (!item)
            json_object_set_new(paths, r->path, item = json_object());
        char m[8];
        size_t i = 0;
        for (; r->method[i] && i < sizeof(m) - 1; i++)
            m[i] = (char)(r->method[i] | 0x20); /* lower case */
        m[i] = 0;
        json_object_set_new(item, m, op);
    }
    char *s = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (!s)
        snprintf(msg, msgsz, "out of memory");
    return s;
}
