/*
 * svc_ask.c - POST /ask (docs/ask.md): the HTTP side of the ask room (src/ask/ask.h). At start,
 * with an LLM configured, each configured source is opened through its read-only layer. A ViciDial
 * source whose checks fail (an account that may write, a primary without ask_vicidial_primary)
 * stops the service with the reason; a replica that cannot be reached, or a QA store whose
 * read-only layer cannot be set up (a PostgreSQL account that may not make the views and the
 * role), leaves /ask without that source, with the reason in the log. The request's
 * body is read here; the loop runs on an analysis thread, and each /ask is recorded in the store
 * (ask_log) with who asked, its queries and their refusals.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ask/ask.h"
#include "../ingest/ingest.h"
#include "svc.h"
#include "../jobs/jobs.h"

/* The allow-lists live as long as the service: the schema text and the connections keep them. */
static char **g_store_allow, **g_vici_allow;

static int open_store(const cfg_settings *c, store_ro **out, char *msg, size_t n)
{
    char err[600];
    if (ask_allow_list(ask_store_allow_default, c->ask_allow, &g_store_allow, err, sizeof(err)))
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
    if (ask_allow_list(ask_vicidial_allow_default, c->ask_vicidial_allow, &g_vici_allow, err,
                       sizeof(err)))
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

int svc_ask_start(svc *s, char *msg, size_t msgsz)
{
    const cfg_settings *c = s->cfg;
    if (!s->llm) /* /ask answers 503 without an LLM: no source is opened */
        return 0;
    store_ro *st = NULL, *vici = NULL;
    ask_prom_config prom;
    ask_prom_defaults(&prom);
    /* the store source is on by default: when its read-only layer cannot be set up (a
     * PostgreSQL account that may not make the views and the role), /ask runs without it and the
     * log gives the reason and the SQL to run; the rest of the service is not held up by it.
     * An allow-list that names a credential column is a setting's error: it stops the service. */
    if (c->ask_store && open_store(c, &st, msg, msgsz) != 0) {
        if (!strncmp(msg, "ask_allow", 9))
            return -1;
        warn_without("POST /ask runs without the QA store", msg);
        st = NULL;
    }
    if (c->ask_vicidial[0] && open_vicidial(c, &vici, msg, msgsz) != 0) {
        /* a replica that cannot be reached now does not stop the service (POST /ask runs without
         * it); an account or a server that fails a check does */
        if (!strstr(msg, "cannot connect to the ViciDial database")) {
            store_ro_close(st);
            return -1;
        }
        warn_without("POST /ask runs without ViciDial", msg);
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
                     .today = today};
    ask_sources src = {.store = st,
                       .store_allow = (const char *const *)g_store_allow,
                       .vicidial = vici,
                       .vicidial_allow = (const char *const *)g_vici_allow,
                       .prom = c->ask_prometheus[0] ? &prom : NULL};
    char err[600];
    if (!(s->ask = ask_create(&ac, &src, err, sizeof(err)))) {
        store_ro_close(st);
        store_ro_close(vici);
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"POST /ask has no source\"}\n");
        return 0;
    }
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"POST /ask\",\"store\":%s,\"vicidial\":%s,"
            "\"prometheus\":%s,\"lexical\":%s}\n",
            st ? "true" : "false", vici ? "true" : "false", c->ask_prometheus[0] ? "true" : "false",
            c->ask_lexical ? "true" : "false");
    return 0;
}

void svc_ask_stop(svc *s)
{
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
    return svc_enqueue(r, SVC_WORK_ASK);
}

/* With redaction on, a JSON text through the one walk (qa_redact_mask_report): the masked text
 * (malloc'd), or NULL when it is not JSON or memory ran out. */
static char *masked_json(const svc *s, const char *text, size_t len)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    char *out = o && qa_redact_mask_report(o, qa_redact_types(s->cfg), NULL) == 0
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
    if (s->llm && llm_budget_today(s->cfg, s->store, svc_now_sec(), &l.budget) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM's use today is not known "
                "(the store); the caps count from 0\"}\n",
                r->id);
    double now = svc_now_sec();
    /* with redaction on, the question reaches the LLM, the store and the audit trail masked */
    char *masked = qa_redact_any(s->cfg) ? masked_json(s, r->upload, r->upload_len) : NULL;
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
                         .elapsed_sec = svc_mono_sec() - r->t0,
                         .error = res.status == 200 ? NULL : res.error,
                         .detail = res.queries ? res.queries : "[]"};
    if (store_ask_record(s->store, &row) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store did not record the /ask: "
                "%s\"}\n",
                r->id, store_errmsg(s->store));
    if (res.status == 200 && qa_redact_any(s->cfg)) { /* the answer through the one walk */
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
