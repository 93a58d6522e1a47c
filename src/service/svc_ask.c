/*
 * svc_ask.c - POST /ask (docs/ask.md): the HTTP side of the ask room (src/ask/ask.h). At start,
 * with an LLM configured, each configured source is opened through its read-only layer. A ViciDial
 * source whose checks fail (an account that may write, a primary without ask_vicidial_primary)
 * stops the service with the reason; a replica that cannot be reached, or a QA store whose
 * read-only layer cannot be set up (a PostgreSQL account that may not make the views and the
 * role), leaves /ask without that source, with the reason in the log. Each source is
 * ask_concurrent connections, one per /ask that may run at once. The request's body is read here;
 * the loop runs on one of /ask's own ask_concurrent threads (never an analysis thread: a long
 * /ask holds neither GET /analyze nor /investigate up), at most ask_per_caller of one caller's
 * /ask running or waiting at once (429 ask_busy beyond), and each /ask is recorded in the store
 * (ask_log) with who asked, its queries and their refusals.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ask/ask.h"
#include "../ingest/ingest.h"
#include "svc_ai.h"
#include "svc_guard.h"
#include "../pipeline/pl_service.h"
#include "../store/store_ro.h"
#include "../store/store_users.h"
#include "../store/store.h"
#include "callqa/cq_clock.h"

/* The allow-lists live as long as the service: the schema text and the connections keep them. */
static char **g_store_allow, **g_vici_allow;

/* /ask's own threads and their queue (one service a process). */
static struct ask_pool {
    pl_pool *q;         /* the requests and /ask's threads (src/pipeline/pool.c) */
    int n;              /* its threads */
    pthread_mutex_t mu; /* callers, and pushing onto q */
    struct ask_caller {
        char key[96]; /* caller_key's */
        int n;        /* its /ask running or waiting */
    } * callers;
    int n_callers, cap;
    bool stopping; /* no more pushes */
} g_pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int open_store(const cfg_settings *c, store_ro **out, char *msg, size_t n)
{
    char err[600];
    if (!g_store_allow &&
        ask_allow_list(ask_store_allow_default, c->ask_allow, &g_store_allow, err, sizeof(err)))
        return cfg_fail(msg, n, "ask_allow: %s", err);
    const char *const *allow = (const char *const *)g_store_allow;
    if (!strncmp(c->db_path, "postgresql://", 13) || !strncmp(c->db_path, "postgres://", 11)) {
        store_ro_pg_config pc = {.conninfo = c->db_path,
                                 .allow = allow,
                                 .schema = c->ask_pg_schema,
                                 .role = c->ask_pg_role};
        *out = store_ro_open_pg(&pc, err, sizeof(err));
    } else {
        *out = store_ro_open_sqlite(c->db_path, allow, err, sizeof(err));
    }
    return *out ? 0 : cfg_fail(msg, n, "POST /ask's store source: %s", err);
}

static int open_vicidial(const cfg_settings *c, store_ro **out, char *msg, size_t n)
{
    char err[600], password[256];
    ingest_db_uri u;
    if (ingest_db_uri_parse(c->ask_vicidial, &u, err, sizeof(err)) != 0)
        return cfg_fail(msg, n, "ask_vicidial: %s", err);
    if (!c->ask_vicidial_password_file[0])
        return cfg_fail(msg, n, "ask_vicidial needs ask_vicidial_password_file%s", "");
    if (cfg_read_secret(c->ask_vicidial_password_file, password, sizeof(password), err,
                        sizeof(err)) != 0)
        return cfg_fail(msg, n, "ask_vicidial_password_file: %s", err);
    if (!g_vici_allow && ask_allow_list(ask_vicidial_allow_default, c->ask_vicidial_allow,
                                        &g_vici_allow, err, sizeof(err)))
        return cfg_fail(msg, n, "ask_vicidial_allow: %s", err);
    store_ro_my_config mc = {.host = u.host,
                             .port = u.port,
                             .user = u.user,
                             .password = password,
                             .db = u.db,
                             .allow = (const char *const *)g_vici_allow,
                             .never = NULL, /* store_ro_vicidial_never is always applied */
                             .primary = c->ask_vicidial_primary};
    *out = store_ro_open_mariadb(&mc, err, sizeof(err));
    explicit_bzero(password, sizeof(password));
    return *out ? 0 : cfg_fail(msg, n, "POST /ask's ViciDial source: %s", err);
}

/* A warning line of the log: what /ask runs without, and why (JSON-escaped). */
static void warn_without(const char *what, const char *why)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "level", "warn", "msg", what, "error", why);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    fprintf(stderr, "%s\n", line ? line : "{\"level\":\"warn\"}");
    free(line);
    json_decref(o);
}

static void close_all(store_ro **c)
{
    for (int i = 0; i < ASK_MAX_CONNECTIONS && c[i]; i++) {
        store_ro_close(c[i]);
        c[i] = NULL;
    }
}

static void pool_run(void *item, int slot, void *user);

/* /ask's threads, with SIGTERM and SIGINT blocked in them (the main thread's sigwait takes
 * them; this runs before the service blocks them for its own threads). 0, or -1. */
static int pool_start(const cfg_settings *c)
{
    int n = c->ask_concurrent < 1                     ? 1
            : c->ask_concurrent > ASK_MAX_CONNECTIONS ? ASK_MAX_CONNECTIONS
                                                      : c->ask_concurrent;
    g_pool.cap = n + c->max_queue;
    g_pool.callers = calloc((size_t)g_pool.cap, sizeof(*g_pool.callers));
    if (!g_pool.callers || !(g_pool.q = pl_pool_start(n, (size_t)g_pool.cap, pool_run, NULL)))
        return -1;
    g_pool.n = pl_pool_threads(g_pool.q);
    return 0;
}

/* ask_config.mask: a round's results through the one walk (pl_redact_mask_report), with the
 * redaction's types, so a number in a row of the dialer's database or of the store reaches the
 * LLM and the caller masked. */
static int mask_results(void *user, json_t *results)
{
    const cfg_settings *c = user;
    return pl_redact_mask_report(results, pl_redact_types(c), NULL);
}

int svc_ask_start(svc *s, char *msg, size_t msgsz)
{
    const cfg_settings *c = s->cfg;
    if (pool_start(c) != 0) /* without an LLM too: the request is still read (400, 503) */
        return cfg_fail(msg, msgsz, "POST /ask: cannot start its threads%s", "");
    if (!s->llm) /* /ask answers 503 without an LLM: no source is opened */
        return 0;
    store_ro *st[ASK_MAX_CONNECTIONS] = {0}, *vici[ASK_MAX_CONNECTIONS] = {0};
    int n_conn = g_pool.n; /* one connection per /ask thread: a query never waits for another */
    ask_prom_config prom;
    ask_prom_defaults(&prom);
    /* the store source is on by default: when its read-only layer cannot be set up (a
     * PostgreSQL account that may not make the views and the role), /ask runs without it and the
     * log gives the reason and the SQL to run; the rest of the service is not held up by it.
     * An allow-list that names a credential column is a setting's error: it stops the service. */
    for (int i = 0; c->ask_store && i < n_conn; i++) {
        if (open_store(c, &st[i], msg, msgsz) == 0)
            continue;
        if (!strncmp(msg, "ask_allow", 9))
            return -1;
        if (i == 0)
            warn_without("POST /ask runs without the QA store", msg);
        else /* the first ones opened: /ask runs on them */
            warn_without("POST /ask's QA store has fewer connections", msg);
        st[i] = NULL;
        break;
    }
    for (int i = 0; c->ask_vicidial[0] && i < n_conn; i++) {
        if (open_vicidial(c, &vici[i], msg, msgsz) == 0)
            continue;
        /* a replica that cannot be reached now does not stop the service (POST /ask runs without
         * it); an account or a server that fails a check does */
        if (!strstr(msg, "cannot connect to the ViciDial database")) {
            close_all(st);
            close_all(vici);
            return -1;
        }
        warn_without(i ? "POST /ask's ViciDial has fewer connections"
                       : "POST /ask runs without ViciDial",
                     msg);
        vici[i] = NULL;
        break;
    }
    if (c->ask_prometheus[0]) {
        snprintf(prom.url, sizeof(prom.url), "%s", c->ask_prometheus);
        prom.max_range_sec = c->ask_prom_max_range_sec;
        prom.min_step_sec = c->ask_prom_min_step_sec;
        prom.max_points = c->ask_prom_max_points;
        prom.max_series = c->ask_prom_max_series;
        prom.timeout_sec = c->ask_timeout_sec;
    }
    char today[64] = "";
    time_t now = time(NULL);
    struct tm lt;
    if (localtime_r(&now, &lt))
        strftime(today, sizeof(today), "%Y-%m-%d (%Z)", &lt);
    ask_config ac = {.max_rounds = c->ask_max_rounds,
                     .max_queries = c->ask_max_queries,
                     .lim = {.max_rows = c->ask_max_rows,
                             .max_bytes = (size_t)c->ask_max_bytes,
                             .timeout_sec = c->ask_timeout_sec,
                             .max_estimate = c->ask_max_estimate},
                     .lexical = c->ask_lexical,
                     .tools = c->ask_tools,
                     .vicidial_name = c->ask_vicidial_name,
                     .today = today,
                     .mask = pl_redact_any(c) ? mask_results : NULL,
                     .mask_user = (void *)c};
    ask_sources src = {.store_allow = (const char *const *)g_store_allow,
                       .vicidial_allow = (const char *const *)g_vici_allow,
                       .prom = c->ask_prometheus[0] ? &prom : NULL};
    int n_st = 0, n_vici = 0;
    for (; n_st < n_conn && st[n_st]; n_st++)
        src.store[n_st] = st[n_st];
    for (; n_vici < n_conn && vici[n_vici]; n_vici++)
        src.vicidial[n_vici] = vici[n_vici];
    char err[600];
    if (!(s->ask = ask_create(&ac, &src, err, sizeof(err)))) {
        close_all(st);
        close_all(vici);
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"POST /ask has no source\"}\n");
        return 0;
    }
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"POST /ask\",\"store\":%s,\"vicidial\":%s,"
            "\"prometheus\":%s,\"lexical\":%s,\"threads\":%d,\"connections\":[%d,%d]}\n",
            n_st ? "true" : "false", n_vici ? "true" : "false",
            c->ask_prometheus[0] ? "true" : "false", c->ask_lexical ? "true" : "false", g_pool.n,
            n_st, n_vici);
    return 0;
}

void svc_ask_stop(svc *s)
{
    if (g_pool.q) { /* what is queued is answered, then the threads end */
        pthread_mutex_lock(&g_pool.mu);
        g_pool.stopping = true;
        pl_pool_close(g_pool.q);
        pthread_mutex_unlock(&g_pool.mu);
        pl_pool_stop(g_pool.q);
    }
    free(g_pool.callers);
    g_pool.q = NULL;
    g_pool.callers = NULL;
    g_pool.n = g_pool.n_callers = 0;
    g_pool.stopping = false;
    ask_destroy(s->ask);
    s->ask = NULL;
    ask_allow_free(g_store_allow);
    ask_allow_free(g_vici_allow);
    g_store_allow = g_vici_allow = NULL;
}

enum MHD_Result svc_ask_route_start(req *r)
{
    r->body_limit = (size_t)1 << 20; /* a question and a conversation (256 KiB of text) */
    return svc_body_start(r);
}

/* The caller's scope as the QA store's views bind it ({"campaigns": [...]}), or NULL (every
 * call); -1 with the answer set when a limited caller cannot be served: an agent (the views
 * narrow by campaign, not by agent), or any limited caller on a SQLite store (whose read-only
 * source refuses scopes). */
static int ask_scope(req *r, char **out)
{
    *out = NULL;
    const acc_scope *sc = &r->who.scope;
    if (!sc->limited)
        return 0;
    const char *db = r->s->cfg->db_path;
    bool pg = !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11);
    if (sc->agent[0] || !pg) {
        svc_answer_error(r, 403, "out_of_scope", "POST /ask is for callers who see every call%s",
                         pg ? ", or callers limited to campaigns" : " (on a SQLite store)");
        return -1;
    }
    json_t *a = json_array();
    for (int i = 0; i < sc->n_campaigns; i++)
        json_array_append_new(a, json_string(sc->campaigns[i]));
    json_t *o = json_pack("{s:o}", "campaigns", a);
    *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!*out) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return -1;
    }
    return 0;
}

/* Who a caller is, for ask_per_caller: a user of the store, else the credential's name (the
 * shared token, "-" without auth) with the client's address. */
static void caller_key(req *r, char *out, size_t n)
{
    char addr[64];
    if (r->who.user_id > 0) {
        snprintf(out, n, "user %lld", (long long)r->who.user_id);
        return;
    }
    svc_guard_client(r->s->cfg, r->conn, addr, sizeof(addr));
    snprintf(out, n, "%.20s %.60s", r->who.name, addr);
}

/* The caller's entry (made when add), or NULL; under g_pool.mu. */
static struct ask_caller *caller_of(const char *key, bool add)
{
    for (int i = 0; i < g_pool.n_callers; i++)
        if (!strcmp(g_pool.callers[i].key, key))
            return &g_pool.callers[i];
    if (!add || g_pool.n_callers >= g_pool.cap)
        return NULL;
    struct ask_caller *c = &g_pool.callers[g_pool.n_callers++];
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->n = 0;
    return c;
}

static void caller_done(const char *key)
{
    pthread_mutex_lock(&g_pool.mu);
    struct ask_caller *c = caller_of(key, false);
    if (c && --c->n <= 0) /* the last of it: its entry goes (the last one moves into it) */
        *c = g_pool.callers[--g_pool.n_callers];
    pthread_mutex_unlock(&g_pool.mu);
}

/* Suspend the request and queue it for /ask's threads: 429 past the caller's share, 503 when
 * the queue is full. */
static enum MHD_Result ask_enqueue(req *r)
{
    char key[96];
    caller_key(r, key, sizeof(key));
    pthread_mutex_lock(&g_pool.mu);
    struct ask_caller *c = g_pool.q ? caller_of(key, true) : NULL;
    int per = r->s->cfg->ask_per_caller > 0 ? r->s->cfg->ask_per_caller : 1;
    if (c && c->n >= per) {
        pthread_mutex_unlock(&g_pool.mu);
        svc_answer_error(r, 429, "ask_busy",
                         "%d of this caller's /ask %s running or waiting: one at a time "
                         "(ask_per_caller); try again when it is answered",
                         c->n, c->n == 1 ? "is" : "are");
        return svc_send(r);
    }
    if (!c || g_pool.stopping || pl_pool_len(g_pool.q) >= (size_t)g_pool.cap) {
        if (c && c->n == 0) /* made just now */
            *c = g_pool.callers[--g_pool.n_callers];
        pthread_mutex_unlock(&g_pool.mu);
        svc_answer_error(r, 503, "busy", "%d /ask are running or waiting; try again shortly",
                         g_pool.cap);
        return svc_send(r);
    }
    /* the only pusher, under the lock, with room seen and the queue open: the push holds */
    r->work = SVC_WORK_ASK;
    MHD_suspend_connection(r->conn);
    pl_pool_push(g_pool.q, r); /* suspended first: a thread may take it at once */
    c->n++;
    pthread_mutex_unlock(&g_pool.mu);
    return MHD_YES;
}

enum MHD_Result svc_ask_route(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    char *scope = NULL;
    if (ask_scope(r, &scope) != 0)
        return svc_send(r);
    free(scope);
    if (svc_body_done(r))
        return svc_send(r);
    if (r->multipart) {
        svc_answer_error(r, 415, "bad_content_type", "send a JSON object");
        return svc_send(r);
    }
    return ask_enqueue(r);
}

/* With redaction on, a JSON text through the one walk (pl_redact_mask_report): the masked text
 * (malloc'd), or NULL when it is not JSON or memory ran out. */
static char *masked_json(const svc *s, const char *text, size_t len)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    char *out = o && pl_redact_mask_report(o, pl_redact_types(s->cfg), NULL) == 0
                    ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10))
                    : NULL;
    json_decref(o);
    return out;
}

/* Who asked: the credential's kind and the client's address. */
static void who_of(req *r, char *out, size_t n)
{
    char addr[64];
    svc_guard_client(r->s->cfg, r->conn, addr, sizeof(addr));
    const char *kind = !r->s->cfg->auth ? "open" : svc_bearer(r) > 0 ? "token" : "session";
    snprintf(out, n, "%s %s", kind, addr[0] ? addr : "-");
}

void svc_ask_run(req *r)
{
    svc *s = r->s;
    ask_result res;
    memset(&res, 0, sizeof(res));
    llm_store_rec rec = {s->store, "ask", 0};
    char *scope = NULL;
    if (ask_scope(r, &scope) != 0) /* checked when the body came: cannot fail here but for memory */
        return;
    ask_llm l = {.client = s->llm, .rec = llm_record_to_store, .rec_user = &rec, .scope = scope};
    if (s->llm && llm_budget_today(s->cfg, s->store, cq_clock_wall_sec(), &l.budget) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM's use today is not known "
                "(the store); the caps count from 0\"}\n",
                r->id);
    double now = cq_clock_wall_sec();
    /* with redaction on, the question reaches the LLM, the store and the audit trail masked */
    char *masked = pl_redact_any(s->cfg) ? masked_json(s, r->upload, r->upload_len) : NULL;
    const char *body = masked ? masked : r->upload;
    size_t body_len = masked ? strlen(masked) : r->upload_len;
    if (!s->ask && s->llm) {
        res.status = 503;
        snprintf(res.code, sizeof(res.code), "no_sources");
        snprintf(res.error, sizeof(res.error),
                 "POST /ask has no source to read: ask_store is off and neither ask_vicidial nor "
                 "ask_prometheus is set (docs/ask.md)");
    } else if (!s->ask) {
        /* no LLM: the request is still read (a bad one is 400), then 503 no_llm */
        ask_run(NULL, NULL, body, body_len, now, &res);
    } else {
        ask_run(s->ask, &l, body, body_len, now, &res);
    }
    free(masked);
    free(scope);
    snprintf(r->audit_target, sizeof(r->audit_target), "%.250s", res.question ? res.question : "");
    char who[160];
    who_of(r, who, sizeof(who));
    store_ask_row row = {.ts = now,
                         .who = who,
                         .question = res.question ? res.question : "",
                         .status = res.status,
                         .rounds = res.rounds,
                         .queries = res.executed + res.refused,
                         .refused = res.refused,
                         .elapsed_sec = cq_clock_mono_sec() - r->t0,
                         .error = res.status == 200 ? NULL : res.error,
                         .detail = res.queries ? res.queries : "[]"};
    if (store_ask_record(s->store, &row) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store did not record the /ask: "
                "%s\"}\n",
                r->id, store_errmsg(s->store));
    if (res.status == 200 && pl_redact_any(s->cfg)) { /* the answer through the one walk */
        char *m = masked_json(s, res.json, strlen(res.json));
        free(res.json);
        res.json = m;
        if (!m)
            res.status = 500, snprintf(res.error, sizeof(res.error), "out of memory");
    }
    if (res.status == 200) {
        svc_answer(r, 200, res.json, "application/json");
        res.json = NULL;
    } else if (!strcmp(res.code, "no_llm") || !strcmp(res.code, "no_sources")) {
        /* our own sentences, whose /api/qa paths the redaction of svc_answer_error would cut */
        json_t *o = json_pack("{s:s,s:s}", "error", res.error, "code", res.code);
        char *b = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (b)
            svc_answer(r, res.status, b, "application/json");
        else
            svc_answer_error(r, 500, "internal", "out of memory");
    } else {
        svc_answer_error(r, res.status ? res.status : 500, res.code[0] ? res.code : "internal",
                         "%s", res.error[0] ? res.error : "the request failed");
    }
    ask_result_free(&res);
}

/* One request on one of /ask's threads: run, its caller's count given back, its connection
 * resumed with the answer. */
static void pool_run(void *item, int slot, void *user)
{
    (void)slot, (void)user;
    req *r = item;
    char key[96];
    caller_key(r, key, sizeof(key));
    svc_ask_run(r);
    caller_done(key);
    pthread_mutex_lock(&g_pool.mu);
    r->done = 1;
    pthread_mutex_unlock(&g_pool.mu);
    MHD_resume_connection(r->conn);
}
