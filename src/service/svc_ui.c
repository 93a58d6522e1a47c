/*
 * svc_ui.c - the dashboard's files and the session routes (GET, POST, DELETE /api/session).
 *
 * FILES
 * The dashboard (ui/) is built by the project's build (node ui/build.mjs) and embedded in the
 * program (cmake/embed_ui.cmake writes svc_ui_assets.c): GET / is index.html, GET /assets/app.js
 * and /assets/app.css its script and stylesheet. They need no token (the login screen must
 * load); each has an ETag (its SHA-256), and Cache-Control: no-cache makes the browser ask again
 * each time, answered 304 while the program is the same.
 *
 * SESSIONS
 * POST /api/session exchanges the bearer token for a cookie (HttpOnly, SameSite=Strict, Path=/,
 * Max-Age session_ttl_sec). Nothing is stored: the cookie's value carries its expiry and a nonce
 * under an HMAC-SHA256 whose key is derived from the token, so sessions survive a restart and a
 * new token ends them all. A user's cookie carries a tag of their credential (an HMAC of their
 * password's hash and their credential epoch) under the same MAC: a new password, a disable or
 * an enable moves it, and every session made before ends. The CSRF value the page sends back in
 * X-CSRF-Token on unsafe methods is another HMAC of the nonce, which only the service can compute.
 * The cookie's making and checking are svc_session.c's; svc_access.c checks both on every
 * request.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "svc_access.h"
#include "svc_guard.h"
#include "svc_session.h"
#include "svc_ui.h"
#include "../store/store_users.h"
#include "callqa/cq_clock.h"

#define SESSION_BODY_MAX 8192 /* POST /api/session: a token in JSON */

/* ---- the session routes ------------------------------------------------------------------- */

static char *session_json(const svc *sv, bool authenticated, int64_t expires, const char *csrf,
                          const char *reason, const svc_caller *who)
{
    const cfg_settings *c = sv->cfg;
    char *b = NULL, exp[32], cs[80], rs[32];
    snprintf(exp, sizeof(exp), expires > 0 ? "%lld" : "null", (long long)expires);
    snprintf(cs, sizeof(cs), csrf ? "\"%s\"" : "null", csrf ? csrf : "");
    snprintf(rs, sizeof(rs), reason ? "\"%s\"" : "null", reason ? reason : "");
    /* who: the user's name and role, which the dashboard uses to hide what the role cannot use
     * (the routes refuse it all the same) */
    char *user = who ? svc_json_str(who->name) : NULL;
    if (asprintf(&b,
                 "{\"auth_required\":%s,\"authenticated\":%s,\"expires\":%s,\"csrf\":%s,"
                 "\"reason\":%s,\"user\":%s,\"role\":%s%s%s,\"scoped\":%s,\"live_feed\":%s}",
                 c->auth ? "true" : "false", authenticated ? "true" : "false", exp, cs, rs,
                 user ? user : "null", who ? "\"" : "", who ? acc_role_name(who->role) : "null",
                 who ? "\"" : "", who && who->scope.limited ? "true" : "false",
                 authenticated && sv->live ? "true" : "false") < 0)
        b = NULL;
    free(user);
    return b;
}

/* without auth: a CSRF value all the same (the page sends it; nothing checks it) */
static void noauth_csrf(const svc *s, char out[65])
{
    svc_session_noauth_csrf(s->session_key, out);
}

enum MHD_Result svc_session_get(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const cfg_settings *c = r->s->cfg;
    char *b;
    svc_caller who;
    bool known = svc_access_whoami(r, &who) == 0;
    if (!c->auth) {
        char csrf[65];
        noauth_csrf(r->s, csrf);
        b = session_json(r->s, true, 0, csrf, NULL, known ? &who : NULL);
    } else if (svc_bearer(r) != 0) {
        b = known ? session_json(r->s, true, 0, NULL, NULL, &who)
                  : session_json(r->s, false, 0, NULL, "invalid", NULL);
    } else {
        svc_session ss;
        const char *ck = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Cookie");
        svc_session_state st =
            svc_session_from_header(r->s->session_key, ck, (int64_t)cq_clock_wall_sec(), &ss);
        if (st == SVC_SESSION_VALID && !known) /* a user disabled since */
            st = SVC_SESSION_INVALID;
        b = st == SVC_SESSION_VALID ? session_json(r->s, true, ss.expires, ss.csrf, NULL, &who)
                                    : session_json(r->s, false, 0, NULL,
                                                   st == SVC_SESSION_EXPIRED   ? "expired"
                                                   : st == SVC_SESSION_INVALID ? "invalid"
                                                                               : "missing",
                                                   NULL);
    }
    svc_answer(r, 200, b, "application/json");
    return svc_send(r);
}

static void set_cookie(req *r, const char *value, long long max_age)
{
    snprintf(r->set_cookie, sizeof(r->set_cookie),
             SVC_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", value,
             max_age, r->s->cfg->session_cookie_secure ? "; Secure" : "");
}

enum MHD_Result svc_session_post_start(req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > SESSION_BODY_MAX) {
        svc_answer_error(r, 413, "too_large", "the body is over %d bytes", SESSION_BODY_MAX);
        return svc_send(r);
    }
    return MHD_YES;
}

enum MHD_Result svc_session_post(req *r, const char *data, size_t *size)
{
    if (*size) { /* more body */
        if (r->upload_len + *size > SESSION_BODY_MAX) {
            svc_answer_error(r, 413, "too_large", "the body is over %d bytes", SESSION_BODY_MAX);
        } else {
            char *nb = realloc(r->upload, r->upload_len + *size + 1);
            if (!nb) {
                svc_answer_error(r, 500, "internal", "out of memory");
            } else {
                r->upload = nb;
                memcpy(r->upload + r->upload_len, data, *size);
                r->upload_len += *size;
            }
        }
        *size = 0;
        return MHD_YES;
    }
    const cfg_settings *c = r->s->cfg;
    char csrf[65];
    if (!c->auth) { /* no token to exchange, no cookie: the page goes on */
        noauth_csrf(r->s, csrf);
        char *b = NULL;
        if (asprintf(&b,
                     "{\"authenticated\":true,\"auth_required\":false,\"csrf\":\"%s\","
                     "\"user\":\"-\",\"role\":\"admin\",\"live_feed\":%s}",
                     csrf, r->s->live ? "true" : "false") < 0)
            b = NULL;
        svc_answer(r, 200, b, "application/json");
        return svc_send(r);
    }
    json_error_t je;
    json_t *doc = r->upload_len ? json_loadb(r->upload, r->upload_len, 0, &je) : NULL;
    if (r->upload_len && !json_is_object(doc)) {
        json_decref(doc);
        svc_answer_error(r, 400, "bad_json",
                         "the body is not a JSON object: send {\"token\": \"<the API token>\"} "
                         "or {\"username\": ..., \"password\": ...}");
        return svc_send(r);
    }
    const char *username = json_string_value(json_object_get(doc, "username"));
    int64_t user_id = 0;
    store_user u;
    if (username) { /* a user of the store: the password against its argon2id hash */
        const char *pw = json_string_value(json_object_get(doc, "password"));
        int rc = svc_access_login(r, username, pw ? pw : "", &u);
        if (rc != 0) {
            json_decref(doc);
            return svc_send(r);
        }
        user_id = u.id;
        json_decref(doc);
    } else {
        snprintf(r->audit_target, sizeof(r->audit_target), "token");
        /* too many wrong tokens from this client, or to this account, of late: 429 until the
         * window has passed, whatever this one says (svc_guard.c) */
        double wait = svc_guard_login_wait(r->s->guard, r->conn, "token");
        if (wait > 0) {
            json_decref(doc);
            svc_answer_error(r, 429, "too_many_logins",
                             "too many failed logins: try again in %.0f s", wait + 0.5);
            return svc_send(r);
        }
        const char *t = json_string_value(json_object_get(doc, "token"));
        size_t tl = t ? json_string_length(json_object_get(doc, "token")) : 0,
               kl = strlen(c->token);
        /* constant time in the token's content; its length is not a secret worth hiding */
        bool ok = t && tl == kl && tl > 0 && memeql_sec(t, c->token, kl);
        json_decref(doc);
        if (!ok) {
            svc_guard_login_failed(r->s->guard, r->conn, "token");
            svc_answer_error(r, 401, "unauthorized", "the token is missing or wrong");
            return svc_send(r);
        }
        r->who.role = ACC_ROLE_ADMIN;
        snprintf(r->who.name, sizeof(r->who.name), "token");
    }
    uint8_t nonce[16];
    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
        svc_answer_error(r, 500, "internal", "no random bytes for the session");
        return svc_send(r);
    }
    int64_t ttl = c->session_ttl_sec, expires = (int64_t)cq_clock_wall_sec() + ttl;
    char value[SVC_SESSION_VALUE_MAX];
    svc_session ss;
    /* a user's session is bound to their credential: a new password, or a disable, ends it */
    char cred[SVC_SESSION_CRED_LEN + 1] = "";
    if (user_id > 0)
        svc_session_cred(r->s->session_key, user_id, u.cred_epoch, u.password, cred);
    if (svc_session_issue_user(r->s->session_key, expires, user_id, user_id > 0 ? cred : NULL,
                               nonce, value, sizeof(value), &ss)) {
        svc_answer_error(r, 500, "internal", "the session could not be made");
        return svc_send(r);
    }
    set_cookie(r, value, (long long)ttl);
    char *b = NULL, *name = svc_json_str(r->who.name);
    if (name && asprintf(&b,
                         "{\"authenticated\":true,\"auth_required\":true,\"expires\":%lld,"
                         "\"csrf\":\"%s\",\"user\":%s,\"role\":\"%s\",\"live_feed\":%s}",
                         (long long)expires, ss.csrf, name, acc_role_name(r->who.role),
                         r->s->live ? "true" : "false") < 0)
        b = NULL;
    free(name);
    svc_answer(r, 200, b, "application/json");
    return svc_send(r);
}

enum MHD_Result svc_session_delete(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    set_cookie(r, "", 0);
    char *b = NULL;
    if (asprintf(&b, "{\"authenticated\":%s,\"auth_required\":%s}",
                 r->s->cfg->auth ? "false" : "true", r->s->cfg->auth ? "true" : "false") < 0)
        b = NULL;
    svc_answer(r, 200, b, "application/json");
    return svc_send(r);
}

/* ---- the files ---------------------------------------------------------------------------- */

/* If-None-Match: "*", or a list of entity tags (weak ones compared weakly) */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *t = p;
        while (*p && *p != ',')
            p++;
        size_t tl = (size_t)(p - t);
        while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
            tl--;
        if (tl == 1 && t[0] == '*')
            return true;
        if (tl > 2 && t[0] == 'W' && t[1] == '/')
            t += 2, tl -= 2;
        if (tl == el && !memcmp(t, etag, el))
            return true;
    }
    return false;
}

static enum MHD_Result serve_asset(req *r, const svc_ui_asset *a)
{
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    bool same = inm && etag_matches(inm, a->etag);
    struct MHD_Response *resp =
        same ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
             : MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (!same)
        MHD_add_response_header(resp, "Content-Type", a->ctype);
    MHD_add_response_header(resp, "ETag", a->etag);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    r->status = same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    return svc_queue(r, (unsigned)r->status, resp);
}

static const svc_ui_asset *find_asset(const char *name)
{
    size_t n = 0;
    const svc_ui_asset *a = svc_ui_assets(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].name, name))
            return &a[i];
    return NULL;
}

enum MHD_Result svc_ui_index(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const svc_ui_asset *a = find_asset("index.html");
    if (a)
        return serve_asset(r, a);
    svc_answer(r, 200,
               strdup("callqa: the dashboard was not built into this program (it was built with "
                      "-DCQ_DASHBOARD=OFF).\nThe API is described at /openapi.json.\n"),
               "text/plain; charset=utf-8");
    return svc_send(r);
}

enum MHD_Result svc_ui_asset_get(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const svc_ui_asset *a = NULL;
    if (r->param && (!strcmp(r->param, "app.js") || !strcmp(r->param, "app.css")))
        a = find_asset(r->param);
    if (a)
        return serve_asset(r, a);
    svc_answer_error(r, 404, "not_found", "no such file of the dashboard");
    return svc_send(r);
}
