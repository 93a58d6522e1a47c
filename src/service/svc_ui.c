/*
 * svc_ui.c - the dashboard's files and its sessions.
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
 * svc_http.c checks both.
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

#include "svc.h"

#define SESSION_BODY_MAX 8192 /* POST /api/session: a token in JSON */

static const char k_hex[] = "0123456789abcdef";

static void to_hex(const uint8_t *b, size_t n, char *out /* 2n + 1 */)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = k_hex[b[i] >> 4];
        out[2 * i + 1] = k_hex[b[i] & 15];
    }
    out[2 * n] = 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* HMAC-SHA256 of the two pieces, concatenated, under key (klen bytes), as 64 hex digits */
static void hmac_hex(const uint8_t *key, size_t klen, const char *a, size_t alen, const char *b,
                     size_t blen, char out[65])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, klen, key);
    hmac_sha256_update(&ctx, alen, (const uint8_t *)a);
    hmac_sha256_update(&ctx, blen, (const uint8_t *)b);
    hmac_sha256_digest(&ctx, sizeof(mac), mac);
    to_hex(mac, sizeof(mac), out);
}

/* ---- sessions ----------------------------------------------------------------------------- */

void svc_session_key(const char *token, uint8_t key[32])
{
    static const char label[] = "callqa session key v1";
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, strlen(token), (const uint8_t *)token);
    hmac_sha256_update(&ctx, sizeof(label) - 1, (const uint8_t *)label);
    hmac_sha256_digest(&ctx, 32, key);
}

static void csrf_of(const uint8_t key[32], const char *nonce_hex, char out[65])
{
    hmac_hex(key, 32, "csrf.", 5, nonce_hex, 32, out);
}

int svc_session_issue(const uint8_t key[32], int64_t expires, const uint8_t nonce[16], char *value,
                      size_t n, svc_session *out)
{
    return svc_session_issue_user(key, expires, 0, NULL, nonce, value, n, out);
}

void svc_session_cred(const uint8_t key[32], int64_t user_id, int64_t epoch, const char *pwhash,
                      char out[SVC_SESSION_CRED_LEN + 1])
{
    char head[64], mac[65];
    int k = snprintf(head, sizeof(head), "cred.%lld.%lld.", (long long)user_id, (long long)epoch);
    hmac_hex(key, 32, head, (size_t)k, pwhash ? pwhash : "", pwhash ? strlen(pwhash) : 0, mac);
    memcpy(out, mac, SVC_SESSION_CRED_LEN);
    out[SVC_SESSION_CRED_LEN] = 0;
}

int svc_session_issue_user(const uint8_t key[32], int64_t expires, int64_t user_id,
                           const char *cred, const uint8_t nonce[16], char *value, size_t n,
                           svc_session *out)
{
    char nonce_hex[33], mac[65];
    to_hex(nonce, 16, nonce_hex);
    if (user_id > 0 && (!cred || strlen(cred) != SVC_SESSION_CRED_LEN))
        return -1;
    int k = user_id > 0 ? snprintf(value, n, "v3.%lld.%lld.%s.%s", (long long)expires,
                                   (long long)user_id, cred, nonce_hex)
                        : snprintf(value, n, "v1.%lld.%s", (long long)expires, nonce_hex);
    if (k < 0 || (size_t)k + 66 > n || n < SVC_SESSION_VALUE_MAX)
        return -1;
    hmac_hex(key, 32, value, (size_t)k, "", 0, mac);
    snprintf(value + k, n - (size_t)k, ".%s", mac);
    memset(out, 0, sizeof(*out));
    out->expires = expires;
    out->user_id = user_id > 0 ? user_id : 0;
    if (user_id > 0)
        memcpy(out->cred, cred, SVC_SESSION_CRED_LEN + 1);
    csrf_of(key, nonce_hex, out->csrf);
    return 0;
}

/* 1-max decimal digits without a leading zero at value[*i], up to a '.': the number, or -1 */
static int64_t number_at(const char *value, size_t len, size_t *i, int max)
{
    size_t i0 = *i;
    int64_t v = 0;
    if (*i >= len || value[*i] == '0')
        return -1;
    while (*i < len && *i - i0 < (size_t)max && value[*i] >= '0' && value[*i] <= '9')
        v = v * 10 + (value[(*i)++] - '0');
    return *i == i0 || *i >= len || value[*i] != '.' ? -1 : v;
}

svc_session_state svc_session_verify(const uint8_t key[32], const char *value, size_t len,
                                     int64_t now, svc_session *out)
{
    memset(out, 0, sizeof(*out));
    /* v1.EXPIRY.NONCE.MAC (the shared token's) or v3.EXPIRY.USER.CRED.NONCE.MAC (a user's):
     * EXPIRY 1-12 and USER 1-18 digits without a leading zero, CRED 16, NONCE 32 and MAC 64
     * lower-case hex digits. A user's v2 value (before the credential was bound in) is no longer
     * valid. */
    bool v3 = len >= 3 && !memcmp(value, "v3.", 3);
    if (len < 3 + 1 + 1 + 32 + 1 + 64 ||
        len > 3 + 12 + 1 + 19 + SVC_SESSION_CRED_LEN + 1 + 32 + 1 + 64 ||
        (!v3 && memcmp(value, "v1.", 3)))
        return SVC_SESSION_INVALID;
    size_t i = 3;
    int64_t expires = number_at(value, len, &i, 12), user = 0;
    if (expires < 0)
        return SVC_SESSION_INVALID;
    const char *cred = NULL;
    if (v3) {
        i++;
        if ((user = number_at(value, len, &i, 18)) < 0)
            return SVC_SESSION_INVALID;
        cred = value + i + 1;
        i += 1 + SVC_SESSION_CRED_LEN;
        if (i >= len || value[i] != '.' || !is_lower_hex(cred, SVC_SESSION_CRED_LEN))
            return SVC_SESSION_INVALID;
    }
    if (i + 1 + 32 + 1 + 64 != len)
        return SVC_SESSION_INVALID;
    const char *nonce = value + i + 1, *mac = nonce + 32 + 1;
    if (nonce[32] != '.' || !is_lower_hex(nonce, 32) || !is_lower_hex(mac, 64))
        return SVC_SESSION_INVALID;
    char want[65];
    hmac_hex(key, 32, value, (size_t)(mac - 1 - value), "", 0, want);
    if (!memeql_sec(want, mac, 64))
        return SVC_SESSION_INVALID;
    out->expires = expires;
    out->user_id = user;
    if (cred)
        memcpy(out->cred, cred, SVC_SESSION_CRED_LEN);
    if (expires <= now)
        return SVC_SESSION_EXPIRED;
    csrf_of(key, nonce, out->csrf);
    return SVC_SESSION_VALID;
}

static int state_rank(svc_session_state s)
{
    return s == SVC_SESSION_VALID ? 3 : s == SVC_SESSION_EXPIRED ? 2 : s == SVC_SESSION_INVALID;
}

svc_session_state svc_session_from_header(const uint8_t key[32], const char *cookie, int64_t now,
                                          svc_session *out)
{
    svc_session_state best = SVC_SESSION_MISSING;
    memset(out, 0, sizeof(*out));
    if (!cookie)
        return best;
    static const char name[] = SVC_SESSION_COOKIE;
    const char *p = cookie;
    /* name=value pairs separated by ';' (RFC 6265 5.4), spaces and tabs around them; a value
     * may be in double quotes. At most 16 cookies of ours are looked at. */
    for (int seen = 0; *p && seen < 16;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *n0 = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t nlen = (size_t)(p - n0);
        while (nlen && (n0[nlen - 1] == ' ' || n0[nlen - 1] == '\t'))
            nlen--;
        if (*p != '=')
            continue; /* a pair without '=': not ours */
        const char *v = ++p;
        while (*p && *p != ';')
            p++;
        size_t vlen = (size_t)(p - v);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
            v++, vlen -= 2;
        if (nlen != sizeof(name) - 1 || memcmp(n0, name, nlen))
            continue;
        seen++;
        svc_session one;
        svc_session_state st = svc_session_verify(key, v, vlen, now, &one);
        if (state_rank(st) > state_rank(best)) {
            best = st;
            *out = one;
        }
    }
    return best;
}

/* host[:port] or [v6]:port at s (n bytes): the host (*h, *hl) and the port (0: none given).
 * 0, or -1 when malformed. */
static int split_host(const char *s, size_t n, const char **h, size_t *hl, unsigned *port)
{
    size_t i = 0;
    *port = 0;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -1;
        i = (size_t)(close - s) + 1;
    } else {
        while (i < n && s[i] != ':')
            i++;
    }
    *h = s, *hl = i;
    if (!i)
        return -1;
    for (size_t k = 0; k < i; k++)
        if ((unsigned char)s[k] <= ' ' || s[k] == '/' || s[k] == '@' || s[k] == 0x7f)
            return -1;
    if (i == n)
        return 0;
    if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return -1;
    unsigned v = 0;
    for (size_t k = i + 1; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[k] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

bool svc_same_origin(const char *origin, const char *host)
{
    if (!origin || !host)
        return false;
    unsigned dflt;
    const char *o;
    if (!strncasecmp(origin, "http://", 7))
        o = origin + 7, dflt = 80;
    else if (!strncasecmp(origin, "https://", 8))
        o = origin + 8, dflt = 443;
    else
        return false; /* "null", another scheme, nonsense */
    const char *oh, *hh;
    size_t ohl, hhl;
    unsigned op, hp;
    if (split_host(o, strlen(o), &oh, &ohl, &op) || split_host(host, strlen(host), &hh, &hhl, &hp))
        return false;
    if (!op)
        op = dflt;
    if (!hp)
        hp = dflt;
    return ohl == hhl && !strncasecmp(oh, hh, ohl) && op == hp;
}

bool svc_host_allowed(const cfg_settings *c, const char *host)
{
    const char *h;
    size_t hl;
    unsigned port;
    if (!host || split_host(host, strlen(host), &h, &hl, &port))
        return false;
    if (hl >= 2 && h[0] == '[') /* [::1] */
        h++, hl -= 2;
    if (port && port != (unsigned)c->listen_port)
        return false;
    /* the listen address, localhost and the loopback addresses, and the allowed_hosts */
    char list[sizeof(c->allowed_hosts) + 128];
    snprintf(list, sizeof(list), "localhost,127.0.0.1,::1,%s,%s", c->listen_addr, c->allowed_hosts);
    for (char *save = NULL, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        while (*a == ' ')
            a++;
        size_t al = strlen(a);
        while (al && a[al - 1] == ' ')
            al--;
        if (al == hl && !strncasecmp(a, h, hl))
            return true;
    }
    return false;
}

/* ---- the session routes ------------------------------------------------------------------- */

static char *session_json(const cfg_settings *c, bool authenticated, int64_t expires,
                          const char *csrf, const char *reason, const svc_caller *who)
{
    char *b = NULL, exp[32], cs[80], rs[32];
    snprintf(exp, sizeof(exp), expires > 0 ? "%lld" : "null", (long long)expires);
    snprintf(cs, sizeof(cs), csrf ? "\"%s\"" : "null", csrf ? csrf : "");
    snprintf(rs, sizeof(rs), reason ? "\"%s\"" : "null", reason ? reason : "");
    /* who: the user's name and role, which the dashboard uses to hide what the role cannot use
     * (the routes refuse it all the same) */
    char *user = who ? svc_json_str(who->name) : NULL;
    if (asprintf(&b,
                 "{\"auth_required\":%s,\"authenticated\":%s,\"expires\":%s,\"csrf\":%s,"
                 "\"reason\":%s,\"user\":%s,\"role\":%s%s%s,\"scoped\":%s}",
                 c->auth ? "true" : "false", authenticated ? "true" : "false", exp, cs, rs,
                 user ? user : "null", who ? "\"" : "", who ? acc_role_name(who->role) : "null",
                 who ? "\"" : "", who && who->scope.limited ? "true" : "false") < 0)
        b = NULL;
    free(user);
    return b;
}

/* without auth: a CSRF value all the same (the page sends it; nothing checks it) */
static void noauth_csrf(const svc *s, char out[65])
{
    hmac_hex(s->session_key, 32, "csrf.", 5, "no-auth", 7, out);
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
        b = session_json(c, true, 0, csrf, NULL, known ? &who : NULL);
    } else if (svc_bearer(r) != 0) {
        b = known ? session_json(c, true, 0, NULL, NULL, &who)
                  : session_json(c, false, 0, NULL, "invalid", NULL);
    } else {
        svc_session ss;
        const char *ck = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Cookie");
        svc_session_state st =
            svc_session_from_header(r->s->session_key, ck, (int64_t)cq_clock_wall_sec(), &ss);
        if (st == SVC_SESSION_VALID && !known) /* a user disabled since */
            st = SVC_SESSION_INVALID;
        b = st == SVC_SESSION_VALID ? session_json(c, true, ss.expires, ss.csrf, NULL, &who)
                                    : session_json(c, false, 0, NULL,
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
                     "\"user\":\"-\",\"role\":\"admin\"}",
                     csrf) < 0)
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
                         "\"csrf\":\"%s\",\"user\":%s,\"role\":\"%s\"}",
                         (long long)expires, ss.csrf, name, acc_role_name(r->who.role)) < 0)
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
