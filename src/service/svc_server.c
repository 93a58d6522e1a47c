/*
 * svc_server.c - the HTTP server on libmicrohttpd: connections, the request's framing and Host,
 * the route table's dispatch and auth, request logs, and the service's life cycle.
 *
 * DESIGN
 * libmicrohttpd runs `threads` event-loop threads (epoll, keep-alive). When a request's headers
 * are in, its route is found in the table (svc_routes.c) and its auth checked; cheap routes
 * (health, metrics, cached results, the store) answer on the event-loop thread. A request that
 * needs the network or an analysis is suspended and handed to the workers (svc_analyses.c), which
 * leave the answer on it and resume it. Every response carries X-Request-Id (svc_http.c); every
 * request ends in one JSON log line on stderr and in the metrics. SIGTERM/SIGINT: stop accepting,
 * let the in-flight requests finish, exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <nettle/memops.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svc.h"
#include "svc_access.h"
#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_auditq.h"
#include "svc_events.h"
#include "svc_guard.h"
#include "svc_hot.h"
#include "svc_live.h"
#include "svc_log.h"
#include "svc_metrics.h"
#include "svc_routes.h"
#include "svc_session.h"
#include "../store/store.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

/* Whether the request may go on: 0, or -1 with its answer set.
 * - An unsafe method (POST, PUT, PATCH, DELETE) whose Origin is not the Host it was sent to
 *   (framing_check has made sure the Host is this service's), or whose Sec-Fetch-Site is
 *   another site's: 403 cross_origin (a page of another site; scripts send neither).
 * - Where the route needs a credential: the shared bearer token, a user's token, or else a valid
 *   session cookie (svc_session.c), which with an unsafe method also needs X-CSRF-Token: the
 *   session's CSRF value (403 csrf). An expired session: 401 session_expired; anything else:
 *   401 unauthorized. Then the route's role (403 forbidden) and scope (svc_access.c). */
static int access_check(req *r)
{
    bool unsafe = unsafe_method(r->method);
    if (unsafe) {
        const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
        const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
        /* a browser names where a request comes from (Origin; Sec-Fetch-Site): another
         * site's page may not change anything here, with or without auth (a script sends
         * neither) */
        const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
        if ((origin && !svc_same_origin(origin, host)) ||
            (site && strcmp(site, "same-origin") && strcmp(site, "none"))) {
            svc_answer_error(r, 403, "cross_origin", "a %s from another origin is refused",
                             r->method);
            return -1;
        }
    }
    /* who the caller is, and what the route lets them do (svc_access.c) */
    return svc_access(r);
}

/* The request line's target as sent, before libmicrohttpd decodes it: routes are matched on
 * it, so that an id holding an encoded '/' (a%2Fb) is one path segment. Its req is made here
 * (libmicrohttpd hands it to on_request and on_completed). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls, (void)conn;
    req *r = calloc(1, sizeof(*r));
    if (r)
        snprintf(r->path, sizeof(r->path), "%.*s", (int)strcspn(uri, "?"), uri);
    return r;
}

typedef struct framing {
    int content_length; /* Content-Length headers */
    char first_cl[32];
    bool cl_differ;        /* two of them disagree */
    int transfer_encoding; /* Transfer-Encoding headers */
    char te[64];           /* the first one's value */
    int hosts;             /* Host headers */
    bool bad_name;         /* a header name that is not a token (a space before its colon) */
} framing;

/* RFC 9110's tchar: what a header name is made of */
static bool token(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return false;
    return true;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (!token(key))
        f->bad_name = true;
    if (!strcasecmp(key, "Content-Length")) {
        if (f->content_length++ == 0)
            snprintf(f->first_cl, sizeof(f->first_cl), "%s", value ? value : "");
        else if (strcmp(f->first_cl, value ? value : ""))
            f->cl_differ = true;
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        if (f->transfer_encoding++ == 0)
            snprintf(f->te, sizeof(f->te), "%s", value ? value : "");
    } else if (!strcasecmp(key, "Host")) {
        f->hosts++;
    }
    return MHD_YES;
}

/* The request's framing and Host, before anything else: 0, or -1 with the answer set (and the
 * connection to be closed after it). RFC 9112 (section numbers below):
 * - Two Content-Length headers that differ, or Content-Length with Transfer-Encoding: 400
 *   ambiguous_framing (a proxy in front that reads the framing the other way would see the
 *   bytes after it as a second request: smuggling; 6.3). Two Host headers: 400 too (3.2).
 * - A header name with a space before its colon, or any byte a name may not hold: 400
 *   bad_header (5.1: the library would take "Content-Length :" for another header).
 * - Transfer-Encoding other than one "chunked" (6.1, 6.3), or on an HTTP/1.0 request: 400
 *   ambiguous_framing (the body's end could not be told).
 * - An HTTP/1.1 request without Host: 400 missing_host (3.2); HTTP/1.0 needs none.
 * - A Host that is not this service (svc_host_allowed): 421 misdirected (a browser sent here by
 *   another site's DNS, the rebinding attack, names that site).
 * A malformed Content-Length (-1, +5, 0x10, "2, 3", past 2^64) never gets here: libmicrohttpd
 * refuses it while reading the headers, and the guard writes that answer (svc_guard.c). */
static int framing_check(req *r, const char *version)
{
    framing f;
    memset(&f, 0, sizeof(f));
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
    bool http10 = !strcmp(version, MHD_HTTP_VERSION_1_0);
    const char *why = f.hosts > 1   ? "two Host headers"
                      : f.cl_differ ? "two Content-Length headers that differ"
                      : f.content_length && f.transfer_encoding
                          ? "Content-Length and Transfer-Encoding together"
                      : f.transfer_encoding > 1       ? "two Transfer-Encoding headers"
                      : f.transfer_encoding && http10 ? "Transfer-Encoding on an HTTP/1.0 request"
                      : f.transfer_encoding && strcasecmp(f.te, "chunked")
                          ? "a Transfer-Encoding other than chunked"
                          : NULL;
    if (why) {
        r->close = true;
        svc_answer_error(r, 400, "ambiguous_framing", "%s", why);
        return -1;
    }
    if (f.bad_name) {
        r->close = true;
        svc_answer_error(r, 400, "bad_header",
                         "a header name holds a space or a byte a name may not hold "
                         "(RFC 9112 5.1: no space before the colon)");
        return -1;
    }
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    if (!host && !http10) {
        r->close = true;
        svc_answer_error(r, 400, "missing_host", "an HTTP/1.1 request needs a Host header");
        return -1;
    }
    if (host && !svc_host_allowed(r->s->cfg, host)) {
        r->close = true;
        svc_answer_error(r, 421, "misdirected",
                         "this service does not answer for that Host "
                         "(the setting allowed_hosts names the ones it does)");
        return -1;
    }
    if (f.content_length || f.transfer_encoding) { /* a body follows, on any route */
        svc_body_deadline(r);
        r->body_coming = true;
        svc_guard_body(r->s->guard, r->conn, true);
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    svc *s = cls;
    req *r = *con_cls;
    if (!r && !(r = *con_cls = on_uri(NULL, url, conn)))
        return MHD_NO;
    if (!r->started) { /* the headers are in */
        if (!svc_guard_headers(s->guard, conn))
            return MHD_NO; /* the guard cut it already (its deadline, its client's cap) */
        r->started = true;
        r->s = s;
        r->conn = conn;
        r->t0 = svc_mono_sec();
        snprintf(r->id, sizeof(r->id), "%08llx",
                 (unsigned long long)atomic_fetch_add(&s->next_id, 1));
        snprintf(r->method, sizeof(r->method), "%.7s", method);
        bool path_known = false;
        const char *param = NULL;
        size_t param_len = 0;
        r->rt = svc_route_find(!strcmp(method, "HEAD") ? "GET" : method, r->path, &param,
                               &param_len, &path_known);
        r->route = r->rt ? r->rt->name : "other";
        atomic_fetch_add(&s->inflight, 1);
        svc_metrics_inflight(1);
        if (framing_check(r, version))
            return svc_send(r);
        if (param) { /* its own string, decoded: it may hold any byte but NUL */
            if (svc_pct_decode(param, param_len, r->param_buf, sizeof(r->param_buf))) {
                svc_answer_error(r, 400, "bad_path",
                                 "the path's parameter is not "
                                 "percent-encoded properly (or holds a NUL byte)");
                return svc_send(r);
            }
            r->param = r->param_buf;
        }
        if (access_check(r))
            return svc_send(r);
        if (!r->rt) {
            if (path_known)
                svc_answer_error(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method,
                                 r->path);
            else
                svc_answer_error(r, 404, "no_route", "no such endpoint: %s", r->path);
            return svc_send(r);
        }
        if (r->rt->start)
            return r->rt->start(r);
        return MHD_YES; /* a body, if any, follows; answer on the next call */
    }
    if (!*upload_data_size && r->body_coming) { /* the body is whole (the library's last call) */
        r->body_coming = false;
        svc_guard_body(s->guard, conn, false);
    }
    if (r->status) { /* answered already: a resumed job, or an early error while uploading */
        if (*upload_data_size) { /* drain the rest of an upload we refused, within the limit */
            *upload_data_size = 0;
            return svc_mono_sec() - r->t0 > s->cfg->upload_timeout_sec ? MHD_NO : MHD_YES;
        }
        return svc_send(r);
    }
    if (r->work) /* resumed before its analysis finished: cannot happen, be safe */
        return MHD_YES;
    if (*upload_data_size) {
        /* a body is whole within upload_timeout_sec of its headers on every route, the login
         * and those that read none included: one that trickles in is cut (closed: libmicrohttpd
         * 0.9.75 cannot answer before the body is complete; logged and counted as 408), and
         * until then the connection's idle limit shrinks toward that moment */
        if (svc_mono_sec() - r->t0 > s->cfg->upload_timeout_sec) {
            svc_answer_error(r, 408, "upload_timeout", "the request's body took longer than %.0f s",
                             s->cfg->upload_timeout_sec);
            return MHD_NO;
        }
        svc_body_deadline(r);
    }
    if (*upload_data_size && !r->rt->body) {
        *upload_data_size = 0; /* bodies of other routes are ignored */
        return MHD_YES;
    }
    return r->rt->handle(r, upload_data, upload_data_size);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    svc *s = cls;
    req *r = *con_cls;
    if (!r)
        return;
    if (!r->started) { /* the request line came, never the rest of its headers */
        free(r);
        *con_cls = NULL;
        return;
    }
    svc_guard_request_done(s->guard, conn);
    svc_audit(r);
    double dt = svc_mono_sec() - r->t0;
    int status = r->status ? r->status : 499;
    svc_metrics_request(r->route, status, dt);
    /* the request's log line, its times printed as integers (cheaper than fprintf's float
     * conversions), handed to the log's writer (svc_log.c): a request makes no write */
    long long ts_ms = llround(svc_now_sec() * 1000), hundredths = llround(dt * 100000);
    char line[400];
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":%lld.%03lld,\"id\":\"%s\",\"method\":\"%s\",\"route\":\"%s\","
                     "\"status\":%d,\"ms\":%lld.%02lld%s%s%s%s}\n",
                     ts_ms / 1000, ts_ms % 1000, r->id, r->method, r->route, status,
                     hundredths / 100, hundredths % 100, r->cache ? ",\"cache\":\"" : "",
                     r->cache ? r->cache : "", r->cache ? "\"" : "",
                     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (len)
        svc_log_line(s->log, line, len);
    for (int p = 0; p < SVC_N_PARTS; p++) {
        if (r->part[p])
            fclose(r->part[p]);
        if (r->part_path[p][0])
            unlink(r->part_path[p]);
    }
    free(r->meta);
    for (int f = 0; f < SVC_N_FIELDS; f++)
        free(r->field[f]);
    free(r->inv_request);
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    if (r->hot) /* cached's report was the kept one's */
        r->cached.report = NULL, svc_hot_release(r->hot);
    if (r->shared) /* an answer never sent */
        r->shared_release(r->shared_cls);
    if (r->have_cached)
        store_result_free(&r->cached);
    if (r->upload_cap)
        atomic_fetch_sub(&s->body_bytes, r->upload_cap);
    if (r->field_bytes)
        atomic_fetch_sub(&s->body_bytes, r->field_bytes);
    free(r->upload);
    free(r->body);
    bool trim = r->trim;
    free(r->audit_calls);
    free(r);
    *con_cls = NULL;
    if (trim) /* a large answer's memory back to the system, not kept by the allocator */
        malloc_trim(0);
    atomic_fetch_sub(&s->inflight, 1);
    svc_metrics_inflight(-1);
}

/* ---- life cycle --------------------------------------------------------------------------- */

int svc_run(const cfg_settings *c, void (*tick)(void *arg), void *tick_arg)
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
    char *doc = svc_openapi(msg, sizeof(msg)); /* docs/openapi.json and the route table agree */
    if (!doc) {
        fprintf(stderr, "callqa serve: %s\n", msg);
        return 1;
    }
    free(doc);
    if (acc_init() != 0) {
        fprintf(stderr, "callqa serve: libsodium cannot be set up\n");
        return 1;
    }
    rec_fetch_global_init();
    /* the temporary files (uploads, fetches) a killed service or worker left behind */
    int swept = rec_tmp_sweep(c);
    if (swept > 0)
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"removed the temporary files of processes "
                "that are gone\",\"files\":%d}\n",
                swept);
    for (const svc_route *rt = svc_route_table(); rt->method; rt++)
        svc_metrics_route(rt->name);
    svc_metrics_route("other");
    /* the engine, and the analysis host forked now, while this process has no thread and no
     * open store (src/pipeline/) */
    pl_observer obs = {.stage = svc_metrics_stage,
                       .analysis = svc_metrics_analysis,
                       .killed = svc_metrics_analysis_killed};
    cq_err perr;
    cq_err_clear(&perr);
    if (!(s.an = pl_analyser_start(c, c->max_concurrent, &obs, &perr))) {
        fprintf(stderr, "callqa serve: %s\n", perr.msg);
        return 1;
    }
    snprintf(s.engine_version, sizeof(s.engine_version), "%s", pl_analyser_id(s.an));
    if (!(s.store = store_open(c->db_path, msg, sizeof(msg)))) {
        fprintf(stderr, "callqa serve: store: %s\n", msg);
        pl_analyser_stop(s.an);
        return 1;
    }
    /* the folders recordings are read from; the upload folder is one, registered for the
     * worker (which may run with other settings) */
    if (!(s.roots = malloc(sizeof(*s.roots)))) {
        fprintf(stderr, "callqa serve: out of memory\n");
        store_close(s.store);
        pl_analyser_stop(s.an);
        return 1;
    }
    pthread_mutex_init(&s.roots_mu, NULL);
    if (!(s.guard = svc_guard_create(c, &s.next_id))) {
        fprintf(stderr, "callqa serve: out of memory, or libmicrohttpd's own answers cannot be "
                        "taken over (callqa is linked so that the library does not call its "
                        "MHD_queue_response)\n");
        free(s.roots);
        store_close(s.store);
        pl_analyser_stop(s.an);
        return 1;
    }
    char updir[1024], up[4096];
    rec_upload_dir(c, updir, sizeof(updir));
    if (updir[0] && (mkdir(updir, 0750) == 0 || errno == EEXIST) && realpath(updir, up))
        store_root_add(s.store, up, "upload", svc_now_sec());
    rec_roots_load(s.roots, c, NULL, s.store);
    s.roots_loaded = svc_mono_sec();
    /* GET /ai-analyze's LLM (none: by rules); bad LLM settings stop the service here */
    if (svc_ai_start(&s, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa serve: %s\n", msg);
        svc_guard_destroy(s.guard);
        free(s.roots);
        store_close(s.store);
        pl_analyser_stop(s.an);
        return 1;
    }
    /* POST /ask's sources (with an LLM only): a source whose read-only checks fail stops the
     * service here, with the reason */
    if (svc_ask_start(&s, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa serve: %s\n", msg);
        svc_ask_stop(&s);
        svc_ai_stop(&s);
        svc_guard_destroy(s.guard);
        free(s.roots);
        store_close(s.store);
        pl_analyser_stop(s.an);
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
    /* the audit trail's writer, on a connection of its own, and the checkpoints of SQLite's
     * write-ahead log on another, so that no request waits for one (svc_auditq.c); the results
     * served in the last second (svc_hot.c) */
    if (store_wal_manual(s.store) < 0) {
        fprintf(stderr, "callqa serve: store: %s\n", store_errmsg(s.store));
        return 1;
    }
    if (!(s.auditq = svc_auditq_start(c, msg, sizeof(msg))) || !(s.hot = svc_hot_create())) {
        fprintf(stderr, "callqa serve: %s\n", s.auditq ? "out of memory" : msg);
        return 1;
    }
    s.log = svc_log_start(); /* NULL: each line written by its request */
    if (svc_analyses_start(&s) != 0 || svc_events_start(&s) != 0 || svc_live_start(&s) != 0) {
        fprintf(stderr,
                "callqa serve: cannot start the workers or the event stream (out of "
                "memory, or the store: %s)\n",
                store_errmsg(s.store));
        return 1;
    }

    /* the session cookies' key: from the token; without auth a random one (nothing checks the
     * sessions then) */
    if (c->auth)
        svc_session_key(c->token, s.session_key);
    else if (getrandom(s.session_key, sizeof(s.session_key), 0) != (ssize_t)sizeof(s.session_key))
        memset(s.session_key, 0, sizeof(s.session_key));
    /* the listening socket is ours: SO_REUSEADDR (a restart binds while the last run's
     * connections are in TIME_WAIT) and never SO_REUSEPORT, so that a second service on the same
     * port is refused instead of sharing it */
    int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        (v6 && setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
        bind(lfd, (struct sockaddr *)&addr,
             v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ||
        listen(lfd, SOMAXCONN)) {
        int e2 = errno;
        fprintf(stderr, "callqa serve: cannot listen on %s: %s\n", shown,
                e2 == EADDRINUSE ? "port in use (another program, or another callqa serve, "
                                   "listens there)"
                                 : strerror(e2));
        if (lfd >= 0)
            close(lfd);
        return 1;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | v6,
        (uint16_t)c->listen_port, NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER,
        svc_guard_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)c->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->request_timeout_sec,
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s, MHD_OPTION_NOTIFY_CONNECTION, svc_guard_notify,
        s.guard, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "callqa serve: cannot listen on %s: %s\n", shown, strerror(errno));
        close(lfd);
        return 1;
    }
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"listening\",\"addr\":\"%s\",\"version\":"
            "\"%s\",\"auth\":%s,\"servers\":%d}\n",
            shown, cq_version(), c->auth ? "true" : "false", c->n_servers);
    int sig = 0;
    for (;;) {
        svc_guard_tick(s.guard);
        svc_hot_tick(s.hot);
        if (tick)
            tick(tick_arg);
        sig = sigtimedwait(&sigs, NULL, &(struct timespec){1, 0});
        if (sig > 0)
            break;
    }
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopping\",\"signal\":%d,\"inflight\":%d}\n",
            sig, atomic_load(&s.inflight));
    /* no new connections (the socket closed: the port is free); the open ones finish */
    MHD_socket quiet = MHD_quiesce_daemon(d);
    if (quiet != MHD_INVALID_SOCKET)
        close(quiet);
    svc_events_stop(&s); /* the event streams end */
    svc_live_stop(&s);
    for (int i = 0; i < 600 && atomic_load(&s.inflight) > 0; i++)
        usleep(100000);
    MHD_stop_daemon(d);
    svc_auditq_stop(s.auditq); /* every request has ended: their audit rows are written */
    svc_log_stop(s.log);       /* and their log lines */
    s.log = NULL;
    s.auditq = NULL;
    svc_hot_destroy(s.hot);
    s.hot = NULL;
    svc_guard_destroy(s.guard);
    svc_events_free(&s);
    svc_live_free(&s);
    svc_analyses_stop(&s);
    pl_analyser_stop(s.an);
    svc_ask_stop(&s);
    svc_ai_stop(&s);
    store_close(s.store);
    free(s.roots);
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopped\"}\n");
    return 0;
}
