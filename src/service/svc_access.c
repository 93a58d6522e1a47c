/*
 * svc_access.c - who a request is, what its route lets them do, and the audit trail.
 *
 * DESIGN
 * Every request passes svc_access once its route is found (svc_server.c), so that no handler can
 * forget it:
 * 1. The caller. Without auth (a trusted network) everyone is admin. With it: the shared bearer
 *    token (token_file: a small site's single credential) is admin; a user's API token
 *    ("cqt_...", only its hash is in the store) is that user; else the session cookie, the
 *    shared token's (admin) or a user's (v3: it names the user, who is read from the store on
 *    each request, so that disabling a user ends their sessions and tokens at once; and it
 *    carries the tag of the user's credential, so that a new password ends their sessions). Unsafe
 *    methods with a cookie need the CSRF value, as before. Wrong credentials count against the
 *    client in the guard (svc_guard.c), as wrong tokens always did.
 * 2. The route's role (svc_route.role): a lower role is 403 forbidden.
 * 3. The route's scope (svc_route.scope) when the caller's is limited: a call out of it answers
 *    as a call that does not exist (404), list and search arguments are replaced by the scope's,
 *    and a route that cannot be narrowed is refused (403 out_of_scope).
 * The routes with an audit action leave one row in the store's append-only audit trail when
 * they end (svc_audit), with the status they answered: refusals are kept too; an answer that
 * returned calls leaves one row per call too. The rows go through the audit queue
 * (svc_auditq.c), written in group commits off the request's path.
 */
#define _GNU_SOURCE
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc_access.h"
#include "svc_auditq.h"
#include "svc_guard.h"
#include "svc_qa.h"
#include "svc_session.h"
#include "../pipeline/pl_service.h"
#include "../store/store_query.h"
#include "../store/store_users.h"
#include "callqa/cq_clock.h"

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

static void as_admin(req *r, const char *name)
{
    r->who.role = ACC_ROLE_ADMIN;
    snprintf(r->who.name, sizeof(r->who.name), "%s", name);
}

/* r->who from a user of the store: 0, or -1 (disabled, or a role or scope that does not read) */
static int from_user(req *r, const store_user *u)
{
    acc_role role = acc_role_parse(u->role);
    char why[160];
    if (u->disabled || role == ACC_ROLE_NONE ||
        acc_scope_parse(u->scopes, role, u->name, &r->who.scope, why, sizeof(why)) != 0)
        return -1;
    r->who.role = role;
    r->who.user_id = u->id;
    snprintf(r->who.name, sizeof(r->who.name), "%s", u->name);
    return 0;
}

/* Whether a user's session was made under their credential as it is now (svc_session_cred): a
 * new password or a disable since has moved it. */
static bool session_cred_ok(const svc *s, const svc_session *ss, const store_user *u)
{
    char want[SVC_SESSION_CRED_LEN + 1];
    svc_session_cred(s->session_key, u->id, u->cred_epoch, u->password, want);
    return memeql_sec(want, ss->cred, SVC_SESSION_CRED_LEN) != 0;
}

/* Who sent r: 0 known (r->who), 1 no credential at all, -1 with the answer set. */
static int identify(req *r)
{
    svc *s = r->s;
    int bearer = svc_bearer(r);
    if (bearer != 0) { /* a token given: counted against its client when wrong (svc_guard.c) */
        double wait = svc_guard_login_wait(s->guard, r->conn, NULL);
        if (wait > 0) {
            svc_answer_error(r, 429, "too_many_logins",
                             "too many failed logins: try again in %.0f s", wait + 0.5);
            return -1;
        }
    }
    if (bearer > 0) {
        as_admin(r, "token");
        return 0;
    }
    if (bearer < 0) {
        const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
        char hash[ACC_TOKEN_HASH_LEN + 1];
        store_user u;
        int got = h && acc_token_hash(h + 7, strlen(h + 7), hash) == 0
                      ? store_token_user(s->store, hash, &u)
                      : 0;
        if (got < 0) {
            svc_answer_error(r, 503, "store", "the store could not check the token");
            return -1;
        }
        if (got == 1 && from_user(r, &u) == 0)
            return 0;
        svc_guard_login_failed(s->guard, r->conn, NULL);
        svc_answer_error(r, 401, "unauthorized", "the bearer token is wrong");
        return -1;
    }
    svc_session ss;
    const char *ck = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Cookie");
    switch (svc_session_from_header(s->session_key, ck, (int64_t)cq_clock_wall_sec(), &ss)) {
    case SVC_SESSION_VALID: break;
    case SVC_SESSION_EXPIRED:
        svc_answer_error(r, 401, "session_expired", "the session expired: log in again");
        return -1;
    case SVC_SESSION_INVALID:
        svc_answer_error(r, 401, "unauthorized",
                         "the session cookie is not valid (altered, or "
                         "made under another token): log in again");
        return -1;
    case SVC_SESSION_MISSING:
    default: return 1;
    }
    if (unsafe_method(r->method)) {
        const char *x = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!x || strlen(x) != 64 || !memeql_sec(x, ss.csrf, 64)) {
            svc_answer_error(r, 403, "csrf",
                             "X-CSRF-Token must carry the session's csrf value "
                             "(from POST or GET /api/session)");
            return -1;
        }
    }
    if (ss.user_id == 0) {
        as_admin(r, "token");
        return 0;
    }
    store_user u;
    int got = store_user_get(s->store, NULL, ss.user_id, &u);
    if (got < 0) {
        svc_answer_error(r, 503, "store", "the store could not check the session");
        return -1;
    }
    if (got == 1 && !session_cred_ok(s, &ss, &u)) {
        svc_answer_error(r, 401, "session_ended",
                         "the session ended: the user's password changed, or they were disabled, "
                         "since: log in again");
        return -1;
    }
    if (got == 1 && from_user(r, &u) == 0)
        return 0;
    svc_answer_error(r, 401, "unauthorized", "the session's user is disabled or gone: log in");
    return -1;
}

static int out_of_scope(req *r, const char *why)
{
    svc_answer_error(r, 403, "out_of_scope", "%s", why);
    return -1;
}

/* The scope's campaigns as a JSON array into out (the store's campaign-set parameter): 0, or -1
 * when it does not fit. */
static int campaigns_json(const acc_scope *sc, char *out, size_t n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < sc->n_campaigns; i++)
        json_array_append_new(a, json_string(sc->campaigns[i]));
    char *t = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    int rc = t && strlen(t) < n ? 0 : -1;
    if (rc == 0)
        memcpy(out, t, strlen(t) + 1);
    free(t);
    return rc;
}

/* The 'campaign' argument within a campaign-limited scope: one of the scope's; without it, a list
 * or search (set true) reads the scope's campaigns as a set, and other figures (set false) the
 * scope's one campaign (several: 400 campaign_required). */
static int campaign_arg(req *r, bool set)
{
    const acc_scope *sc = &r->who.scope;
    if (sc->n_campaigns == 0)
        return 0;
    const char *given = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "campaign");
    if (given && *given) {
        if (!acc_scope_has_campaign(sc, given))
            return out_of_scope(r, "that campaign is not in your scope");
        r->who.campaign_arg = given;
        return 0;
    }
    if (sc->n_campaigns == 1) {
        r->who.campaign_arg = sc->campaigns[0];
        return 0;
    }
    if (set) {
        if (campaigns_json(sc, r->who.campaigns, sizeof(r->who.campaigns)) == 0)
            return 0;
        svc_answer_error(r, 500, "internal", "the scope's campaigns could not be written");
        return -1;
    }
    svc_answer_error(r, 400, "campaign_required",
                     "your scope has several campaigns: name one with 'campaign'");
    return -1;
}

typedef struct call_owner {
    bool found;
    char agent[ACC_NAME_MAX], campaign[ACC_NAME_MAX];
} call_owner;

static int owner_row(void *user, const store_val *c, int n)
{
    call_owner *o = user;
    o->found = true;
    for (int i = 0; i < n; i++) {
        if (!c[i].name || c[i].t != SV_TEXT)
            continue;
        if (!strcmp(c[i].name, "agent_user"))
            snprintf(o->agent, sizeof(o->agent), "%s", c[i].s);
        else if (!strcmp(c[i].name, "campaign_id"))
            snprintf(o->campaign, sizeof(o->campaign), "%s", c[i].s);
    }
    return 1;
}

int svc_access_call_allowed(req *r, const char *id)
{
    const acc_scope *sc = &r->who.scope;
    if (!sc->limited)
        return 1;
    call_owner o;
    memset(&o, 0, sizeof(o));
    store_val p[1] = {SV_S(id)};
    if (store_query(r->s->store, SQ_CALL, p, 1, owner_row, &o) != 0)
        return -1;
    return !o.found || acc_scope_allows(sc, o.agent, o.campaign) ? 1 : 0;
}

static int scope_check(req *r)
{
    const acc_scope *sc = &r->who.scope;
    if (!sc->limited)
        return 0;
    switch (r->rt->scope) {
    case SVC_SCOPE_ANY:
    case SVC_SCOPE_HANDLER: return 0;
    case SVC_SCOPE_CALL: {
        if (!r->param)
            return 0;
        call_owner o;
        memset(&o, 0, sizeof(o));
        store_val p[1] = {SV_S(r->param)};
        if (store_query(r->s->store, SQ_CALL, p, 1, owner_row, &o) != 0) {
            svc_answer_error(r, 500, "store", "the store could not be read");
            return -1;
        }
        /* a call out of the scope is answered as one that does not exist */
        if (o.found && !acc_scope_allows(sc, o.agent, o.campaign)) {
            svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                             r->param);
            return -1;
        }
        return 0;
    }
    case SVC_SCOPE_AGENT:
        if (sc->n_campaigns || !r->param || strcmp(r->param, sc->agent))
            return out_of_scope(r, "an agent's figures are theirs and their supervisors' only");
        return 0;
    case SVC_SCOPE_FILTER:
        if (sc->agent[0])
            r->who.agent_arg = sc->agent;
        return campaign_arg(r, true);
    case SVC_SCOPE_CAMPAIGN:
        if (sc->agent[0])
            return out_of_scope(r, "these figures span agents: not for an agent's scope");
        return campaign_arg(r, false);
    case SVC_SCOPE_REFUSED:
    default:
        return out_of_scope(r, "this route is not limited to a scope: it needs a caller who may "
                               "see every call");
    }
}

int svc_access(req *r)
{
    const cfg_settings *c = r->s->cfg;
    /* r->who is zero: the request was allocated so (on_uri), and this runs once for it */
    svc_auth need = r->rt ? r->rt->auth : SVC_AUTH_TOKEN;
    if (!c->auth) {
        as_admin(r, "-");
    } else if (need == SVC_AUTH_NONE || (need == SVC_AUTH_METRICS && !c->auth_metrics)) {
        return 0;
    } else {
        int rc = identify(r);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            svc_answer_error(r, 401, "unauthorized",
                             "a valid 'Authorization: Bearer <token>' "
                             "header or a session cookie is required");
            return -1;
        }
    }
    if (!r->rt)
        return 0;
    if (r->who.role < r->rt->role) {
        svc_answer_error(r, 403, "forbidden", "this needs the %s role (you are %s)",
                         acc_role_name(r->rt->role), acc_role_name(r->who.role));
        return -1;
    }
    return scope_check(r);
}

int svc_access_whoami(req *r, svc_caller *out)
{
    req tmp = *r;
    memset(&tmp.who, 0, sizeof(tmp.who));
    if (!r->s->cfg->auth) {
        as_admin(&tmp, "-");
    } else {
        /* quietly: GET /api/session says "not logged in" rather than failing */
        svc_session ss;
        int bearer = svc_bearer(r);
        const char *ck = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Cookie");
        if (bearer > 0) {
            as_admin(&tmp, "token");
        } else if (bearer == 0 &&
                   svc_session_from_header(r->s->session_key, ck, (int64_t)cq_clock_wall_sec(),
                                           &ss) == SVC_SESSION_VALID) {
            store_user u;
            if (ss.user_id == 0)
                as_admin(&tmp, "token");
            else if (store_user_get(r->s->store, NULL, ss.user_id, &u) != 1 ||
                     !session_cred_ok(r->s, &ss, &u) || from_user(&tmp, &u) != 0)
                return -1;
        } else if (bearer < 0) {
            const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
            char hash[ACC_TOKEN_HASH_LEN + 1];
            store_user u;
            if (!h || acc_token_hash(h + 7, strlen(h + 7), hash) != 0 ||
                store_token_user(r->s->store, hash, &u) != 1 || from_user(&tmp, &u) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    *out = tmp.who;
    return 0;
}

int svc_access_login(req *r, const char *username, const char *password, store_user *user)
{
    svc *s = r->s;
    snprintf(r->audit_target, sizeof(r->audit_target), "%.64s", username ? username : "");
    /* the limits of failed logins per client and per account (svc_guard.c) */
    double wait = svc_guard_login_wait(s->guard, r->conn, username);
    if (wait > 0) {
        svc_answer_error(r, 429, "too_many_logins", "too many failed logins: try again in %.0f s",
                         wait + 0.5);
        return 1;
    }
    int got = acc_user_name_ok(username) ? store_user_get(s->store, username, 0, user) : 0;
    if (got < 0) {
        svc_answer_error(r, 503, "store", "the store could not check the login");
        return 1;
    }
    /* the same work whether the user exists or not */
    bool ok =
        acc_password_verify(got == 1 && user->password[0] ? user->password : acc_password_dummy(),
                            password) &&
        got == 1;
    req probe = *r;
    if (ok && from_user(&probe, user) != 0)
        ok = false; /* disabled, or a role or scope that does not read */
    if (!ok) {
        svc_guard_login_failed(s->guard, r->conn, username);
        svc_answer_error(r, 401, "unauthorized", "the user name or password is wrong");
        return 1;
    }
    r->who = probe.who;
    return 0;
}

/* ---- the audit trail ------------------------------------------------------------------------ */

void svc_audit_call(req *r, const char *id)
{
    size_t n = id ? strnlen(id, 255) : 0;
    if (!n)
        return;
    if (r->audit_calls_len + n + 1 > r->audit_calls_cap) {
        size_t cap = r->audit_calls_cap ? r->audit_calls_cap * 2 : 1024;
        while (cap < r->audit_calls_len + n + 1)
            cap *= 2;
        char *b = realloc(r->audit_calls, cap);
        if (!b) { /* the request's row is written all the same (svc_audit) */
            r->audit_n_calls = -1;
            return;
        }
        r->audit_calls = b, r->audit_calls_cap = cap;
    }
    memcpy(r->audit_calls + r->audit_calls_len, id, n);
    r->audit_calls[r->audit_calls_len + n] = 0;
    r->audit_calls_len += n + 1;
    if (r->audit_n_calls >= 0)
        r->audit_n_calls++;
}

void svc_audit_calls(req *r, const json_t *calls)
{
    size_t i;
    const json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "recording_id"));
        if (!id || !*id)
            id = json_string_value(json_object_get(c, "uniqueid"));
        char num[24];
        const json_t *k = json_object_get(c, "call_id");
        if (!json_is_integer(k))
            k = json_object_get(c, "id");
        if ((!id || !*id) && json_is_integer(k)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(k));
            id = num;
        }
        svc_audit_call(r, id ? id : "?");
    }
}

/* The rows leave on the audit queue (svc_auditq.c): the request waits for the store only when
 * the queue is full. */
void svc_audit(req *r)
{
    if (!r->rt || !r->rt->audit || !r->status)
        return;
    char client[64];
    svc_guard_client(r->s->cfg, r->conn, client, sizeof(client));
    /* what it was about: a handler's word (a question, a user), else the call id of the path,
     * else the search's query */
    const char *target = r->audit_target[0] ? r->audit_target
                         : r->param         ? r->param
                                            : svc_qa_arg(r, "q");
    /* with redaction on, what was typed (a card number searched for) masked as answers are */
    char *masked = NULL;
    target = pl_redact_detail(r->s->cfg, target, &masked);
    store_audit_row a = {.ts = cq_clock_wall_sec(),
                         .who = r->who.name[0] ? r->who.name : "-",
                         .role = acc_role_name(r->who.role),
                         .action = r->rt->audit,
                         .target = target,
                         .client = client[0] ? client : NULL,
                         .status = r->status};
    /* an answer that returned calls: one row per call ("list", the call's id), beside the
     * request's own row; a route whose own action is "list" says nothing more than its calls'
     * rows, and writes its own only when it returned none */
    int n = r->audit_n_calls > 0 && r->status < 300 ? r->audit_n_calls : 0;
    bool own = !n || strcmp(r->rt->audit, "list");
    store_audit_row one[1], *rows = n ? malloc(sizeof(*rows) * (size_t)(n + 1)) : one;
    if (!rows) { /* no memory for the calls' rows: the request's own row says what it was */
        rows = one, n = 0, own = true;
    }
    int k = 0;
    if (own)
        rows[k++] = a;
    const char *id = r->audit_calls;
    for (int i = 0; i < n; i++, id += strlen(id) + 1) {
        rows[k] = a;
        rows[k].action = "list";
        rows[k++].target = id;
    }
    if (r->s->auditq)
        svc_auditq_put(r->s->auditq, rows, k);
    else
        for (int i = 0; i < k; i++)
            if (store_audit_append(r->s->store, &rows[i]) != 0)
                fprintf(stderr,
                        "{\"level\":\"error\",\"id\":\"%s\",\"msg\":\"the audit trail could not "
                        "be written\"}\n",
                        r->id);
    if (rows != one)
        free(rows);
    free(masked);
}

typedef struct audit_out {
    json_t *arr;
    FILE *lines;
} audit_out;

static json_t *audit_json(const store_audit_row *a)
{
    return json_pack("{s:I,s:f,s:s,s:s,s:s,s:s?,s:s?,s:i}", "id", (json_int_t)a->id, "ts", a->ts,
                     "who", a->who ? a->who : "", "role", a->role ? a->role : "", "action",
                     a->action ? a->action : "", "target", a->target, "client", a->client, "status",
                     a->status);
}

static int audit_row(void *user, const store_audit_row *a)
{
    audit_out *o = user;
    json_t *j = audit_json(a);
    if (!j)
        return 1;
    if (o->lines) {
        char *t = json_dumps(j, JSON_COMPACT);
        if (t)
            fprintf(o->lines, "%s\n", t);
        free(t);
        json_decref(j);
    } else {
        json_array_append_new(o->arr, j);
    }
    return 0;
}

enum MHD_Result svc_qa_audit(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long after = 0, limit = 1000;
    if (svc_qa_int_arg(r, "after", 0, 0, 0x7fffffffffffffffL, &after) ||
        svc_qa_int_arg(r, "limit", 1000, 1, 100000, &limit))
        return svc_send(r);
    const char *since_s = svc_qa_arg(r, "since");
    double since = 0;
    if (since_s) {
        char *end;
        since = strtod(since_s, &end);
        if (end == since_s || *end || !(since >= 0)) {
            svc_answer_error(r, 400, "bad_since", "since is a Unix time in seconds");
            return svc_send(r);
        }
    }
    const char *fmt = svc_qa_arg(r, "format");
    bool jsonl = fmt && !strcmp(fmt, "jsonl");
    if (fmt && !jsonl && strcmp(fmt, "json")) {
        svc_answer_error(r, 400, "bad_format", "format is json or jsonl");
        return svc_send(r);
    }
    /* the rows of the requests that ended before this one are in what it reads */
    if (r->s->auditq && svc_auditq_sync(r->s->auditq, 5.0) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the audit queue was not written "
                "within 5 s: the answer may miss its newest rows\"}\n",
                r->id);
    audit_out o = {0};
    char *buf = NULL;
    size_t len = 0;
    if (jsonl)
        o.lines = open_memstream(&buf, &len);
    else
        o.arr = json_array();
    int rc = store_audit_list(r->s->store, after, since, (int)limit, audit_row, &o);
    if (o.lines)
        fclose(o.lines);
    if (rc != 0) {
        free(buf);
        json_decref(o.arr);
        return svc_qa_store_failed(r);
    }
    if (jsonl) {
        svc_answer(r, 200, buf, "application/x-ndjson");
        return svc_send(r);
    }
    json_t *out = json_object();
    json_object_set_new(out, "count", json_integer((json_int_t)json_array_size(o.arr)));
    json_object_set_new(out, "entries", o.arr);
    return svc_qa_send(r, 200, out);
}
