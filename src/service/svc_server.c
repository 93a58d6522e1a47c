/*
 * svc_server.c - the HTTP service on libmicrohttpd.
 *
 * DESIGN
 * libmicrohttpd runs `threads` event-loop threads (epoll, keep-alive). Cheap requests (health,
 * metrics, cached results, the store) are answered on them. A request that needs the network
 * or an analysis is suspended and handed to a pool of `max_concurrent` workers through a
 * bounded queue (full: 503 at once); the worker fetches, analyses, stores, leaves the response
 * on the request and resumes it. Every response carries X-Request-Id; every request ends in
 * one JSON log line on stderr and in the metrics. SIGTERM/SIGINT: stop accepting, let the
 * in-flight requests finish, exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "openapi_json.h"
#include "svc.h"

#define UPLOAD_SERVER "upload"

/* The routes, as /openapi.json describes them (a test compares the two). */
const char *const svc_routes[][2] = {
    {"GET", "/health"},       {"GET", "/analyze"},      {"POST", "/analyze"},
    {"DELETE", "/cache"},     {"GET", "/calls"},        {"GET", "/calls/{id}"},
    {"GET", "/metrics"},      {"GET", "/openapi.json"}, {NULL, NULL},
};

typedef struct svc {
    const svc_config *cfg;
    cq_engine *engine;
    svc_isolate *iso; /* analyses in child processes; NULL: in this process */
    svc_store *store;
    char engine_version[32];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req **queue;
    struct req *pending;  /* GET /analyze jobs queued or running (coalescing), linked by next */
    int qhead, qlen;
    int stopping;
    pthread_t *workers;
    struct slot { struct svc *s; int k; } *slots; /* worker k owns analysis slot k */
    int nworkers;
    atomic_uint_fast64_t next_id;
    atomic_int inflight;
} svc;

typedef enum job_kind { JOB_NONE, JOB_FETCH, JOB_UPLOAD } job_kind;

typedef struct req {
    svc *s;
    struct MHD_Connection *conn;
    char id[24];
    int slot; /* of the worker running its job */
    char method[8];
    char path[256];
    const char *route;
    double t0;
    /* the answer */
    int status;
    char *body;
    const char *ctype;
    const char *cache; /* "hit", "revalidated", "miss", or NULL */
    /* GET /analyze */
    const svc_server *srv;
    char file[256];
    int refresh;
    svc_row cached;
    int have_cached;
    /* POST /analyze */
    job_kind job;
    char *upload;
    size_t upload_len, upload_cap;
    int upload_too_large;
    struct MHD_PostProcessor *pp;
    FILE *part[2];
    char part_path[2][1100];
    size_t part_len[2];
    int multipart, bad_multipart;
    char upload_name[256];
    int done; /* the worker left an answer */
    struct req *next;    /* in svc.pending */
    struct req *waiters; /* identical requests answered with this one's result */
} req;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double mono_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- answers ------------------------------------------------------------------------------ */

/* JSON string escaping into a malloc'd "..." */
static char *json_str(const char *s)
{
    size_t n = strlen(s), cap = n * 6 + 3, k = 0;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    o[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            o[k++] = '\\', o[k++] = (char)*p;
        else if (*p < 0x20)
            k += (size_t)sprintf(o + k, "\\u%04x", *p);
        else
            o[k++] = (char)*p;
    }
    o[k++] = '"';
    o[k] = 0;
    return o;
}

static void answer(req *r, int status, char *body /* taken */, const char *ctype)
{
    free(r->body);
    r->status = status;
    r->body = body;
    r->ctype = ctype;
}

static void answer_error(req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void answer_error(req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *m = json_str(msg), *body = NULL;
    if (!m || asprintf(&body, "{\"error\":%s,\"code\":\"%s\"}", m, code) < 0)
        body = NULL;
    free(m);
    answer(r, status, body, "application/json");
}

static enum MHD_Result send_answer(req *r)
{
    const char *b = r->body ? r->body : "{\"error\":\"out of memory\",\"code\":\"internal\"}";
    if (!r->body)
        r->status = 500, r->ctype = "application/json";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", r->ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->status == 503 || r->status == 429)
        MHD_add_response_header(resp, "Retry-After", "5");
    if (r->cache)
        MHD_add_response_header(resp, "X-Cache", r->cache);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- analysis ----------------------------------------------------------------------------- */

static char *row_json(const svc_row *row)
{
    char *srv = json_str(row->server), *file = json_str(row->file), *src = json_str(row->source),
         *out = NULL;
    if (srv && file && src &&
        asprintf(&out, "{\"id\":%lld,\"server\":%s,\"file\":%s,\"source\":%s,\"created\":%.3f,"
                       "\"checked\":%.3f,\"report\":%s}",
                 (long long)row->id, srv, file, src, row->created, row->checked, row->report) < 0)
        out = NULL;
    free(srv);
    free(file);
    free(src);
    return out;
}

/* The analysis of fetched files (or an upload) into the answer, and the store. */
static void analyze_into(req *r, const cq_call_src *src, const char *server, const char *file,
                         const char *identity, const char *validators, const char *source)
{
    svc *s = r->s;
    double t0 = mono_sec();
    char *js = NULL, msg[600];
    int rc;
    svc_figures fig;
    if (s->iso) {
        svc_iso_outcome how =
            svc_isolate_analyze(s->iso, r->slot, src, &rc, &js, &fig, msg, sizeof(msg));
        if (how != SVC_ISO_DONE) {
            svc_metrics_analysis(NULL, mono_sec() - t0, false);
            svc_metrics_stage("analyze", mono_sec() - t0);
            if (how == SVC_ISO_DOWN) {
                answer_error(r, 503, "analysis_unavailable", "%s", msg);
                return;
            }
            svc_metrics_analysis_killed(how == SVC_ISO_TIMEOUT);
            if (how == SVC_ISO_TIMEOUT)
                answer_error(r, 504, "analysis_timeout", "%s: %s", file, msg);
            else
                answer_error(r, 500, "analysis_crashed", "%s: %s on this recording; the service "
                             "goes on", file, msg);
            return;
        }
    } else {
        rc = svc_analyze_here(s->engine, src, &js, &fig, msg, sizeof(msg));
    }
    svc_metrics_analysis(rc == CQ_OK ? &fig : NULL, mono_sec() - t0, rc == CQ_OK);
    svc_metrics_stage("analyze", mono_sec() - t0);
    if (rc != CQ_OK) {
        int st = rc == CQ_ERR_NOMEM || rc == CQ_ERR_INTERNAL ? 500
                 : rc == CQ_ERR_TOO_LARGE                    ? 413
                                                             : 422;
        answer_error(r, st, st == 422 ? "bad_recording" : cq_status_name(rc), "%s", msg);
        free(js);
        return;
    }
    svc_row row = {0};
    snprintf(row.server, sizeof(row.server), "%s", server);
    snprintf(row.file, sizeof(row.file), "%s", file);
    snprintf(row.identity, sizeof(row.identity), "%s", identity);
    snprintf(row.engine, sizeof(row.engine), "%s", s->engine_version);
    snprintf(row.source, sizeof(row.source), "%s", source);
    snprintf(row.validators, sizeof(row.validators), "%s", validators);
    row.created = row.checked = now_sec();
    row.report = js;
    double ts = mono_sec();
    int put = s->store->ops->put(s->store, &row, NULL);
    svc_metrics_stage("store", mono_sec() - ts);
    if (put != 0)
        fprintf(stderr, "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused a "
                        "result\"}\n", r->id);
    answer(r, 200, js, "application/json");
}

static void run_fetch_job(req *r)
{
    svc *s = r->s;
    const svc_config *c = s->cfg;
    char msg[700];
    if (r->have_cached && !r->refresh) {
        svc_fetch_status st = svc_revalidate(c, r->srv, r->cached.validators, msg, sizeof(msg));
        if (st == SVC_FETCH_NOT_MODIFIED) {
            s->store->ops->touch(s->store, r->cached.id, now_sec());
            r->cache = "revalidated";
            svc_metrics_cache(true);
            answer(r, 200, strdup(r->cached.report), "application/json");
            return;
        }
    }
    svc_metrics_cache(false);
    r->cache = "miss";
    svc_fetched f;
    double tf = mono_sec();
    svc_fetch_status st = svc_fetch(c, r->srv, r->file, &f, msg, sizeof(msg));
    svc_metrics_stage("fetch", mono_sec() - tf);
    switch (st) {
    case SVC_FETCH_OK: break;
    case SVC_FETCH_NOT_FOUND: answer_error(r, 404, "not_found", "%s", msg); return;
    case SVC_FETCH_TOO_LARGE: answer_error(r, 502, "recording_too_large", "%s", msg); return;
    case SVC_FETCH_TIMEOUT: answer_error(r, 504, "upstream_timeout", "%s", msg); return;
    case SVC_FETCH_BAD_UPSTREAM: answer_error(r, 502, "bad_upstream", "%s", msg); return;
    default: answer_error(r, 500, "internal", "%s", msg); return;
    }
    char note[1600] = "";
    if (f.cand.rel[1][0])
        snprintf(note, sizeof(note), "%s: analysed the ViciDial legs %s and %s", r->file,
                 f.cand.rel[0], f.cand.rel[1]);
    else if (f.cand.mixed)
        snprintf(note, sizeof(note), "%s: only the mixed recording %s was found (ViciDial "
                 "removes the ORIG legs after a day): one-way audio cannot be judged",
                 r->file, f.cand.rel[0]);
    else
        snprintf(note, sizeof(note), "%s: analysed %s", r->file, f.cand.rel[0]);
    cq_call_src src = {.name = r->file, .note = note};
    if (f.cand.rel[1][0]) {
        src.in_path = f.path[0], src.out_path = f.path[1];
        src.in_name = f.url[0], src.out_name = f.url[1];
    } else {
        src.path = f.path[0], src.source_name = f.url[0];
    }
    analyze_into(r, &src, r->srv->name, r->file, f.identity, f.validators, f.cand.what);
    svc_fetched_cleanup(&f);
}

static void run_upload_job(req *r)
{
    svc_metrics_cache(false);
    char hex[80];
    snprintf(hex, sizeof(hex), "upload:%s", r->id);
    if (r->multipart) {
        if (!r->part_path[0][0] || !r->part_path[1][0]) {
            answer_error(r, 400, "bad_multipart", "multipart upload needs both an 'in' and an "
                                                  "'out' part");
            return;
        }
        cq_call_src src = {.in_path = r->part_path[0], .out_path = r->part_path[1],
                           .name = r->upload_name, .in_name = "upload:in",
                           .out_name = "upload:out"};
        analyze_into(r, &src, UPLOAD_SERVER, r->upload_name, hex, "", "upload legs");
    } else {
        cq_call_src src = {.data = r->upload, .size = r->upload_len, .name = r->upload_name,
                           .source_name = "upload"};
        analyze_into(r, &src, UPLOAD_SERVER, r->upload_name, hex, "", "upload");
    }
}

static void *worker(void *arg)
{
    struct slot *me = arg;
    svc *s = me->s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->qlen && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->qlen && s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        req *r = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % (s->cfg->max_queue + s->cfg->max_concurrent);
        s->qlen--;
        pthread_mutex_unlock(&s->mu);
        r->slot = me->k;
        if (r->job == JOB_FETCH)
            run_fetch_job(r);
        else
            run_upload_job(r);
        pthread_mutex_lock(&s->mu);
        for (req **pp = &s->pending; *pp; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        req *w = r->waiters;
        r->waiters = NULL;
        r->done = 1;
        pthread_mutex_unlock(&s->mu);
        while (w) { /* the same answer for everyone who asked for the same call meanwhile */
            req *nx = w->next;
            answer(w, r->status, r->body ? strdup(r->body) : NULL, r->ctype);
            w->cache = "shared";
            w->done = 1;
            MHD_resume_connection(w->conn);
            w = nx;
        }
        MHD_resume_connection(r->conn);
    }
}

/* Queue r for a worker (the connection is suspended), or answer 503. A GET /analyze for a
 * call that is already being fetched and analysed waits for that job instead. */
static enum MHD_Result enqueue(req *r, job_kind kind)
{
    svc *s = r->s;
    int cap = s->cfg->max_queue + s->cfg->max_concurrent;
    pthread_mutex_lock(&s->mu);
    if (kind == JOB_FETCH && !s->stopping)
        for (req *p = s->pending; p; p = p->next)
            if (p->srv == r->srv && !strcmp(p->file, r->file)) {
                r->job = kind;
                MHD_suspend_connection(r->conn);
                r->next = p->waiters;
                p->waiters = r;
                pthread_mutex_unlock(&s->mu);
                return MHD_YES;
            }
    if (s->qlen >= cap || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        answer_error(r, 503, "busy", "%d analyses are running or waiting; try again shortly",
                     s->qlen);
        return send_answer(r);
    }
    r->job = kind;
    MHD_suspend_connection(r->conn);
    if (kind == JOB_FETCH) {
        r->next = s->pending;
        s->pending = r;
    }
    s->queue[(s->qhead + s->qlen) % cap] = r;
    s->qlen++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
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
        answer_error(r, 400, "missing_server", "the 'server' argument is required");
        return -1;
    }
    if (!file || !*file) {
        answer_error(r, 400, "missing_file", "the 'file' argument is required");
        return -1;
    }
    if (arg_has_nul(r->conn, "server") || arg_has_nul(r->conn, "file")) {
        answer_error(r, 400, "bad_file", "arguments must not contain NUL bytes");
        return -1;
    }
    if (!(r->srv = svc_find_server(r->s->cfg, server))) {
        char shown[80];
        snprintf(shown, sizeof(shown), "%.64s", server);
        answer_error(r, 404, "unknown_server", "unknown recording server '%s' (servers are "
                     "named in the configuration; URLs and addresses are not accepted)", shown);
        return -1;
    }
    const char *why = NULL;
    if (svc_check_file(file, &why)) {
        answer_error(r, 400, "bad_file", "%s", why);
        return -1;
    }
    snprintf(r->file, sizeof(r->file), "%s", file);
    return 0;
}

static enum MHD_Result route_analyze_get(req *r)
{
    svc *s = r->s;
    if (check_server_file(r, arg(r->conn, "server"), arg(r->conn, "file")))
        return send_answer(r);
    const char *rf = arg(r->conn, "refresh");
    r->refresh = rf && (!strcmp(rf, "1") || !strcmp(rf, "true"));
    int got = s->store->ops->latest(s->store, r->srv->name, r->file, s->engine_version, &r->cached);
    r->have_cached = got == 1;
    if (got < 0)
        fprintf(stderr, "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"store lookup failed\"}\n",
                r->id);
    if (r->have_cached && !r->refresh && now_sec() - r->cached.checked < s->cfg->freshness_sec) {
        r->cache = "hit";
        svc_metrics_cache(true);
        answer(r, 200, strdup(r->cached.report), "application/json");
        return send_answer(r);
    }
    return enqueue(r, JOB_FETCH);
}

static enum MHD_Result route_cache_delete(req *r)
{
    svc *s = r->s;
    const char *server = arg(r->conn, "server"), *file = arg(r->conn, "file");
    int64_t n;
    if (server || file) {
        if (!server || !file) {
            answer_error(r, 400, "missing_argument", "give both 'server' and 'file', or neither "
                                                     "(to delete everything)");
            return send_answer(r);
        }
        const char *why = NULL;
        if (strcmp(server, UPLOAD_SERVER) && !svc_find_server(s->cfg, server)) {
            answer_error(r, 404, "unknown_server", "unknown recording server");
            return send_answer(r);
        }
        if (svc_check_file(file, &why)) {
            answer_error(r, 400, "bad_file", "%s", why);
            return send_answer(r);
        }
        n = s->store->ops->delete(s->store, server, file);
    } else {
        n = s->store->ops->delete(s->store, NULL, NULL);
    }
    if (n < 0) {
        answer_error(r, 500, "store", "the store could not delete");
        return send_answer(r);
    }
    char *b = NULL;
    if (asprintf(&b, "{\"deleted\":%lld}", (long long)n) < 0)
        b = NULL;
    answer(r, 200, b, "application/json");
    return send_answer(r);
}

static enum MHD_Result route_calls(req *r, const char *id_part)
{
    svc *s = r->s;
    if (id_part) {
        char *end;
        errno = 0;
        long long id = strtoll(id_part, &end, 10);
        if (errno || end == id_part || *end || id < 1) {
            answer_error(r, 400, "bad_id", "a call id is a positive integer");
            return send_answer(r);
        }
        svc_row row;
        int got = s->store->ops->get(s->store, id, &row);
        if (got != 1) {
            answer_error(r, got == 0 ? 404 : 500, got == 0 ? "not_found" : "store",
                         "no stored call %lld", id);
            return send_answer(r);
        }
        answer(r, 200, row_json(&row), "application/json");
        svc_row_free(&row);
        return send_answer(r);
    }
    double since = 0;
    int limit = 50;
    const char *a = arg(r->conn, "since"), *l = arg(r->conn, "limit");
    char *end;
    if (a && (since = strtod(a, &end), end == a || *end || !(since >= 0))) {
        answer_error(r, 400, "bad_since", "since is a Unix time in seconds");
        return send_answer(r);
    }
    if (l && (limit = (int)strtol(l, &end, 10), end == l || *end || limit < 1 || limit > 1000)) {
        answer_error(r, 400, "bad_limit", "limit is 1 to 1000");
        return send_answer(r);
    }
    svc_row *rows = NULL;
    int n = 0;
    if (s->store->ops->list(s->store, since, limit, &rows, &n) != 0) {
        answer_error(r, 500, "store", "the store could not list calls");
        for (int i = 0; i < n; i++)
            svc_row_free(&rows[i]);
        free(rows);
        return send_answer(r);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "{\"calls\":[");
    for (int i = 0; i < n; i++) {
        char *j = row_json(&rows[i]);
        fprintf(f, "%s%s", i ? "," : "", j ? j : "null");
        free(j);
        svc_row_free(&rows[i]);
    }
    fprintf(f, "],\"count\":%d}", n);
    fclose(f);
    free(rows);
    answer(r, 200, buf, "application/json");
    return send_answer(r);
}

static enum MHD_Result route_health(req *r)
{
    svc *s = r->s;
    const char *vad = cq_engine_vad_status(s->engine), *nq = cq_engine_nisqa_status(s->engine);
    char *v = json_str(vad ? vad : "Silero VAD loaded"),
         *n = json_str(nq ? nq : "NISQA v2 loaded"), *b = NULL;
    int store_ok = s->store->ops->ping(s->store) == 0;
    int host_ok = !s->iso || svc_isolate_up(s->iso);
    int ok = store_ok && host_ok;
    if (v && n &&
        asprintf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"models\":{\"vad\":%s,\"vad_loaded\":"
                     "%s,\"nisqa\":%s,\"nisqa_loaded\":%s},\"store\":\"%s\",\"analyses\":\"%s\","
                     "\"servers\":%d}",
                 ok ? "ok" : "degraded", cq_version(), v, vad ? "false" : "true", n,
                 nq ? "false" : "true", store_ok ? "ok" : "unreachable",
                 !s->iso ? "in-process" : host_ok ? "isolated" : "host down",
                 s->cfg->n_servers) < 0)
        b = NULL;
    free(v);
    free(n);
    answer(r, ok ? 200 : 503, b, "application/json");
    return send_answer(r);
}

/* Authorization: Bearer <token>, compared in constant time. */
static int authorized(req *r)
{
    const svc_config *c = r->s->cfg;
    if (!c->auth)
        return 1;
    if (!strcmp(r->path, "/health") || (!strcmp(r->path, "/metrics") && !c->auth_metrics))
        return 1;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    const char *t = h + 7;
    size_t a = strlen(t), b = strlen(c->token);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(i < a ? t[i] : 0) ^ (unsigned char)c->token[i];
    return diff == 0;
}

/* multipart parts 'in' and 'out' stream to temporary files */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *ctype, const char *enc,
                               const char *data, uint64_t off, size_t size)
{
    (void)kind, (void)filename, (void)ctype, (void)enc, (void)off;
    req *r = cls;
    int p = !strcmp(key, "in") ? 0 : !strcmp(key, "out") ? 1 : -1;
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
    if (r->part_len[0] + r->part_len[1] > r->s->cfg->max_body) {
        r->upload_too_large = 1;
        return MHD_NO;
    }
    return size && fwrite(data, 1, size, r->part[p]) != size ? MHD_NO : MHD_YES;
}

static enum MHD_Result route_analyze_post(req *r, const char *data, size_t *size)
{
    if (*size && mono_sec() - r->t0 > r->s->cfg->upload_timeout_sec) {
        /* a body that trickles in is cut: libmicrohttpd 0.9.75 cannot send an answer before the
         * body is complete, so the connection is closed (logged and counted as 408) */
        answer_error(r, 408, "upload_timeout", "the upload took longer than %.0f s",
                     r->s->cfg->upload_timeout_sec);
        return MHD_NO;
    }
    if (*size) { /* more body */
        if (r->multipart) {
            if (!r->upload_too_large && !r->bad_multipart &&
                MHD_post_process(r->pp, data, *size) != MHD_YES && !r->upload_too_large)
                r->bad_multipart = 1;
        } else if (!r->upload_too_large) {
            if (r->upload_len + *size > r->s->cfg->max_body) {
                r->upload_too_large = 1;
            } else {
                if (r->upload_len + *size > r->upload_cap) {
                    size_t cap = (r->upload_len + *size) * 2;
                    if (cap > r->s->cfg->max_body)
                        cap = r->s->cfg->max_body;
                    char *nb = realloc(r->upload, cap);
                    if (!nb) {
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
    /* the whole body is in */
    for (int p = 0; p < 2; p++)
        if (r->part[p]) {
            fclose(r->part[p]);
            r->part[p] = NULL;
        }
    if (r->upload_too_large) {
        answer_error(r, 413, "too_large", "the upload is over the %zu MiB limit",
                     r->s->cfg->max_body >> 20);
        return send_answer(r);
    }
    if (r->bad_multipart) {
        answer_error(r, 400, "bad_multipart", "the multipart body could not be parsed");
        return send_answer(r);
    }
    if (!r->multipart && r->upload_len == 0) {
        answer_error(r, 400, "empty", "the upload is empty (send the recording as the body, or "
                                      "multipart/form-data with 'in' and 'out' parts)");
        return send_answer(r);
    }
    return enqueue(r, JOB_UPLOAD);
}

static enum MHD_Result start_post(req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    const char *name = arg(r->conn, "name");
    const char *why = NULL;
    if (name && svc_check_file(name, &why)) {
        answer_error(r, 400, "bad_file", "name: %s", why);
        return send_answer(r);
    }
    snprintf(r->upload_name, sizeof(r->upload_name), "%s", name ? name : "upload.wav");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > r->s->cfg->max_body) {
        answer_error(r, 413, "too_large", "the upload is over the %zu MiB limit",
                     r->s->cfg->max_body >> 20);
        return send_answer(r);
    }
    if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->multipart = 1;
        if (!(r->pp = MHD_create_post_processor(r->conn, 65536, on_part, r))) {
            answer_error(r, 400, "bad_multipart", "multipart/form-data without a boundary");
            return send_answer(r);
        }
    }
    return MHD_YES;
}

static enum MHD_Result route(req *r, const char *method, const char *data, size_t *size)
{
    const char *p = r->path;
    if (!strcmp(p, "/analyze") && !strcmp(method, "POST"))
        return route_analyze_post(r, data, size);
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
        if (!strcmp(p, "/health"))
            return route_health(r);
        if (!strcmp(p, "/analyze"))
            return route_analyze_get(r);
        if (!strcmp(p, "/calls"))
            return route_calls(r, NULL);
        if (!strncmp(p, "/calls/", 7))
            return route_calls(r, p + 7);
        if (!strcmp(p, "/metrics")) {
            answer(r, 200, svc_metrics_render(), "text/plain; version=0.0.4");
            return send_answer(r);
        }
        if (!strcmp(p, "/openapi.json")) {
            answer(r, 200, strdup(k_openapi_json), "application/json");
            return send_answer(r);
        }
    }
    if (!strcmp(p, "/cache") && !strcmp(method, "DELETE"))
        return route_cache_delete(r);
    for (int i = 0; svc_routes[i][0]; i++)
        if (!strcmp(svc_routes[i][1], p)) {
            answer_error(r, 405, "method_not_allowed", "%s is not allowed on %s", method, p);
            return send_answer(r);
        }
    answer_error(r, 404, "no_route", "no such endpoint: %s", p);
    return send_answer(r);
}

static const char *route_name(const char *method, const char *path)
{
    if (!strcmp(path, "/analyze"))
        return !strcmp(method, "POST") ? "analyze_upload" : "analyze";
    if (!strncmp(path, "/calls/", 7))
        return "call";
    static const char *const known[] = {"/health", "/calls", "/cache", "/metrics",
                                        "/openapi.json"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(path, known[i]))
            return known[i] + 1;
    return "other";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    svc *s = cls;
    req *r = *con_cls;
    if (!r) { /* the headers are in */
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        *con_cls = r;
        r->s = s;
        r->conn = conn;
        r->t0 = mono_sec();
        snprintf(r->id, sizeof(r->id), "%08llx",
                 (unsigned long long)atomic_fetch_add(&s->next_id, 1));
        snprintf(r->method, sizeof(r->method), "%.7s", method);
        snprintf(r->path, sizeof(r->path), "%.255s", url);
        r->route = route_name(method, r->path);
        atomic_fetch_add(&s->inflight, 1);
        svc_metrics_inflight(1);
        if (!authorized(r)) {
            answer_error(r, 401, "unauthorized", "a valid 'Authorization: Bearer <token>' "
                                                 "header is required");
            return send_answer(r);
        }
        if (!strcmp(url, "/analyze") && !strcmp(method, "POST"))
            return start_post(r);
        return MHD_YES; /* a body, if any, follows; answer on the next call */
    }
    if (r->status) { /* answered already: a resumed job, or an early error while uploading */
        if (*upload_data_size) { /* drain the rest of an upload we refused, within the limit */
            *upload_data_size = 0;
            return mono_sec() - r->t0 > s->cfg->upload_timeout_sec ? MHD_NO : MHD_YES;
        }
        return send_answer(r);
    }
    if (r->job) /* resumed before the worker finished: cannot happen, be safe */
        return MHD_YES;
    if (*upload_data_size && strcmp(r->path, "/analyze")) {
        *upload_data_size = 0; /* bodies of other routes are ignored */
        return MHD_YES;
    }
    return route(r, method, upload_data, upload_data_size);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    svc *s = cls;
    req *r = *con_cls;
    if (!r)
        return;
    double dt = mono_sec() - r->t0;
    int status = r->status ? r->status : 499;
    svc_metrics_request(r->route, status, dt);
    fprintf(stderr, "{\"ts\":%.3f,\"id\":\"%s\",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,"
                    "\"ms\":%.2f%s%s%s%s}\n",
            now_sec(), r->id, r->method, r->route, status, dt * 1000,
            r->cache ? ",\"cache\":\"" : "", r->cache ? r->cache : "", r->cache ? "\"" : "",
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
    for (int p = 0; p < 2; p++) {
        if (r->part[p])
            fclose(r->part[p]);
        if (r->part_path[p][0])
            unlink(r->part_path[p]);
    }
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    if (r->have_cached)
        svc_row_free(&r->cached);
    free(r->upload);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
    svc_metrics_inflight(-1);
}

/* ---- life cycle --------------------------------------------------------------------------- */

int svc_run(const svc_config *c)
{
    svc s;
    memset(&s, 0, sizeof(s));
    s.cfg = c;
    char msg[1200];
    /* the address first: a typo should not cost a model load */
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    unsigned v6 = 0;
    if (inet_pton(AF_INET, c->listen_addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)c->listen_port);
    } else if (inet_pton(AF_INET6, c->listen_addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)c->listen_port);
        v6 = MHD_USE_IPv6;
    } else {
        fprintf(stderr, "callqa serve: --listen: '%s' is not an IPv4 or IPv6 address\n",
                c->listen_addr);
        return 2;
    }
    char shown[80]; /* ADDR:PORT, [ADDR]:PORT for IPv6 */
    snprintf(shown, sizeof(shown), v6 ? "[%s]:%d" : "%s:%d", c->listen_addr, c->listen_port);
    svc_fetch_global_init();
    cq_engine_params ep = cq_engine_default_params();
    char dir[4096];
    if (c->model_dir[0])
        ep.model_dir = c->model_dir;
    else if (cq_model_dir_default(dir, sizeof(dir)) == CQ_OK)
        ep.model_dir = dir;
    ep.max_duration_sec = c->max_duration_sec;
    int e = 0;
    if (!(s.engine = cq_engine_create(&ep, &e))) {
        fprintf(stderr, "callqa serve: cannot start the engine: %s\n", cq_strerror(e));
        return 1;
    }
    snprintf(s.engine_version, sizeof(s.engine_version), "%s", cq_version());
    /* the analysis host is forked now, while this process has no thread and no open store */
    if (c->isolate &&
        !(s.iso = svc_isolate_start(s.engine, c->max_concurrent, c->analysis_timeout_sec,
                                    c->max_body, msg, sizeof(msg)))) {
        fprintf(stderr, "callqa serve: %s\n", msg);
        cq_engine_destroy(s.engine);
        return 1;
    }
    if (!(s.store = svc_store_open_sqlite(c->db_path, msg, sizeof(msg)))) {
        fprintf(stderr, "callqa serve: store: %s\n", msg);
        svc_isolate_stop(s.iso);
        cq_engine_destroy(s.engine);
        return 1;
    }
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.queue = calloc((size_t)(c->max_queue + c->max_concurrent), sizeof(req *));
    s.workers = calloc((size_t)c->max_concurrent, sizeof(pthread_t));
    s.slots = calloc((size_t)c->max_concurrent, sizeof(*s.slots));
    if (!s.queue || !s.workers || !s.slots) {
        fprintf(stderr, "callqa serve: out of memory\n");
        return 1;
    }
    /* SIGTERM/SIGINT go to the main thread's sigwait only: blocked before any thread starts,
     * so that every thread (workers, libmicrohttpd's) inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < c->max_concurrent; i++) {
        s.slots[i] = (struct slot){&s, i};
        if (pthread_create(&s.workers[s.nworkers], NULL, worker, &s.slots[i]) == 0)
            s.nworkers++;
    }

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | v6,
        (uint16_t)c->listen_port, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->request_timeout_sec,
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "callqa serve: cannot listen on %s: %s\n", shown, strerror(errno));
        return 1;
    }
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"listening\",\"addr\":\"%s\",\"version\":"
                    "\"%s\",\"auth\":%s,\"servers\":%d}\n",
            shown, cq_version(), c->auth ? "true" : "false", c->n_servers);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopping\",\"signal\":%d,\"inflight\":%d}\n",
            sig, atomic_load(&s.inflight));
    MHD_quiesce_daemon(d); /* no new connections; the open ones finish */
    for (int i = 0; i < 600 && atomic_load(&s.inflight) > 0; i++)
        usleep(100000);
    MHD_stop_daemon(d);
    pthread_mutex_lock(&s.mu);
    s.stopping = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    for (int i = 0; i < s.nworkers; i++)
        pthread_join(s.workers[i], NULL);
    svc_isolate_stop(s.iso);
    s.store->ops->close(s.store);
    cq_engine_destroy(s.engine);
    free(s.queue);
    free(s.workers);
    free(s.slots);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopped\"}\n");
    return 0;
}
