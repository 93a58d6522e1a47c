/*
 * store_users.c - the service's users, their API tokens (hashes only), the audit trail and the
 * log of /ask requests (store_users.h). The audit trail has an INSERT and a SELECT here and nothing
 * else: no code path of the store changes or removes an entry, and the schema's triggers refuse it
 * (v14).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

_Static_assert(Q_INT_LAST < Q_QUERY_FIRST, "the store's statement keys stay below the API's");

#define USER_COLS "id, name, role, scopes, password, disabled, created, cred_epoch"

static void user_row(db_stmt *st, int c0, store_user *u)
{
    memset(u, 0, sizeof(*u));
    u->id = db_col_int(st, c0);
    store__col_copy(st, c0 + 1, u->name, sizeof(u->name));
    store__col_copy(st, c0 + 2, u->role, sizeof(u->role));
    store__col_copy(st, c0 + 3, u->scopes, sizeof(u->scopes));
    store__col_copy(st, c0 + 4, u->password, sizeof(u->password));
    u->disabled = db_col_int(st, c0 + 5) != 0;
    u->created = db_col_double(st, c0 + 6);
    u->cred_epoch = db_col_int(st, c0 + 7);
}

int store_user_add(store *s, const char *name, const char *role, const char *scopes,
                   const char *password, double now, int64_t *id)
{
    db_stmt *st = store__begin(s, Q_USER_ADD,
                               "INSERT INTO users (name, role, scopes, password, disabled, created)"
                               " VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (name) DO NOTHING"
                               " RETURNING id");
    if (!st)
        return -1;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, role);
    db_bind_text(st, 3, scopes ? scopes : "");
    db_bind_text(st, 4, password && *password ? password : NULL);
    db_bind_double(st, 5, now);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        if (id)
            *id = db_col_int(st, 0);
        res = 0;
    } else {
        res = rc == DB_DONE ? 1 : store__fail(s, "adding a user");
    }
    store__end(s, st);
    return res;
}

int store_user_get(store *s, const char *name, int64_t id, store_user *out)
{
    db_stmt *st =
        name ? store__begin(s, Q_USER_BY_NAME, "SELECT " USER_COLS " FROM users WHERE name = $1")
             : store__begin(s, Q_USER_BY_ID, "SELECT " USER_COLS " FROM users WHERE id = $1");
    if (!st)
        return -1;
    if (name)
        db_bind_text(st, 1, name);
    else
        db_bind_int(st, 1, id);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        user_row(st, 0, out);
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a user");
    }
    store__end(s, st);
    return res;
}

int store_user_list(store *s, store_user **out, int *n)
{
    *out = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, Q_USER_LIST, "SELECT " USER_COLS " FROM users ORDER BY name");
    if (!st)
        return -1;
    int rc, cap = 0, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            int nc = cap ? cap * 2 : 16;
            store_user *nu = realloc(*out, sizeof(**out) * (size_t)nc);
            if (!nu) {
                res = -1;
                snprintf(s->err, sizeof(s->err), "listing users: out of memory");
                break;
            }
            *out = nu, cap = nc;
        }
        user_row(st, 0, &(*out)[(*n)++]);
    }
    if (res == 0 && rc != DB_DONE)
        res = store__fail(s, "listing users");
    store__end(s, st);
    if (res) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return res;
}

/* An UPDATE of one user by name: 1 changed, 0 none, -1. */
static int user_update(store *s, int key, const char *sql, const char *name, const char *text,
                       int64_t v, const char *what)
{
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    db_bind_text(st, 1, name);
    if (text)
        db_bind_text(st, 2, text);
    else
        db_bind_int(st, 2, v);
    int rc = db_step(st);
    int res = rc == DB_DONE ? (db_changes(s->d) > 0 ? 1 : 0) : store__fail(s, what);
    store__end(s, st);
    return res;
}

/* Both move cred_epoch on: the sessions made before (svc_ui.c binds the epoch into the
 * cookie's MAC) end, and an enabled user does not get back the sessions of before the disable. */
int store_user_set_disabled(store *s, const char *name, bool disabled)
{
    return user_update(
        s, Q_USER_DISABLE,
        "UPDATE users SET disabled = $2, cred_epoch = cred_epoch + 1 WHERE name = $1", name, NULL,
        disabled ? 1 : 0, "disabling a user");
}

int store_user_set_password(store *s, const char *name, const char *password)
{
    return user_update(
        s, Q_USER_PASSWORD,
        "UPDATE users SET password = $2, cred_epoch = cred_epoch + 1 WHERE name = $1", name,
        password, 0, "setting a password");
}

int store_token_add(store *s, int64_t user_id, const char *hash, const char *label, double now)
{
    db_stmt *st = store__begin(s, Q_TOKEN_ADD,
                               "INSERT INTO user_tokens (user_id, hash, label, created) VALUES "
                               "($1, $2, $3, $4)");
    if (!st)
        return -1;
    db_bind_int(st, 1, user_id);
    db_bind_text(st, 2, hash);
    db_bind_text(st, 3, label ? label : "");
    db_bind_double(st, 4, now);
    int rc = db_step(st);
    int res = rc == DB_DONE ? 0 : store__fail(s, "keeping a token");
    store__end(s, st);
    return res;
}

int store_token_user(store *s, const char *hash, store_user *out)
{
    db_stmt *st = store__begin(s, Q_TOKEN_USER,
                               "SELECT u.id, u.name, u.role, u.scopes, u.password, u.disabled, "
                               "u.created, u.cred_epoch FROM user_tokens t JOIN users u ON "
                               "u.id = t.user_id WHERE t.hash = $1");
    if (!st)
        return -1;
    db_bind_text(st, 1, hash);
    int rc = db_step(st), res;
    if (rc == DB_ROW) {
        user_row(st, 0, out);
        res = 1;
    } else {
        res = rc == DB_DONE ? 0 : store__fail(s, "reading a token");
    }
    store__end(s, st);
    return res;
}

int store_token_list(store *s, int64_t user_id, store_token_fn fn, void *user)
{
    db_stmt *st = store__begin(s, Q_TOKEN_LIST,
                               "SELECT id, label, created FROM user_tokens WHERE user_id = $1 "
                               "ORDER BY id");
    if (!st)
        return -1;
    db_bind_int(st, 1, user_id);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *label = db_col_text(st, 1);
        if (fn(user, db_col_int(st, 0), label ? label : "", db_col_double(st, 2))) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "listing tokens");
    store__end(s, st);
    return res;
}

int store_token_revoke(store *s, int64_t user_id, int64_t token_id)
{
    db_stmt *st = store__begin(
        s, Q_TOKEN_REVOKE, "DELETE FROM user_tokens WHERE user_id = $1 AND ($2 = 0 OR id = $2)");
    if (!st)
        return -1;
    db_bind_int(st, 1, user_id);
    db_bind_int(st, 2, token_id);
    int rc = db_step(st);
    int res = rc == DB_DONE ? (int)db_changes(s->d) : store__fail(s, "revoking tokens");
    store__end(s, st);
    return res;
}

/* The INSERTs of 1, 8 and 64 entries in one statement, made once: fewer statements (and, on
 * PostgreSQL, round trips) per group commit. */
#define AUDIT_COLS 7
static const struct {
    int rows, key;
} k_audit_sizes[3] = {{64, Q_AUDIT_ADD64}, {8, Q_AUDIT_ADD8}, {1, Q_AUDIT_ADD}};
static char *g_audit_sql[3];
static pthread_once_t g_audit_once = PTHREAD_ONCE_INIT;

static void audit_sql_make(void)
{
    static const char head[] =
        "INSERT INTO audit_log (ts, who, role, action, target, client, status) VALUES ";
    for (int k = 0; k < 3; k++) {
        int rows = k_audit_sizes[k].rows;
        size_t cap = sizeof(head) + (size_t)rows * 64, len;
        char *q = malloc(cap);
        if (!q)
            continue; /* audit_insert says so */
        len = (size_t)snprintf(q, cap, "%s", head);
        for (int r = 0; r < rows; r++) {
            int b = r * AUDIT_COLS;
            len += (size_t)snprintf(q + len, cap - len, "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d)",
                                    r ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7);
        }
        g_audit_sql[k] = q;
    }
}

/* INSERT the k_audit_sizes[k].rows entries at a in one statement, the store locked. */
static int audit_insert(store *s, const store_audit_row *a, int k)
{
    pthread_once(&g_audit_once, audit_sql_make);
    if (!g_audit_sql[k]) {
        snprintf(s->err, sizeof(s->err), "appending to the audit trail: out of memory");
        return -1;
    }
    db_stmt *st = db_stmt_get(s->d, k_audit_sizes[k].key, g_audit_sql[k]);
    if (!st)
        return store__fail(s, "preparing a statement");
    for (int r = 0; r < k_audit_sizes[k].rows; r++) {
        int b = r * AUDIT_COLS;
        db_bind_double(st, b + 1, a[r].ts);
        db_bind_text(st, b + 2, a[r].who ? a[r].who : "-");
        db_bind_text(st, b + 3, a[r].role ? a[r].role : "none");
        db_bind_text(st, b + 4, a[r].action);
        db_bind_text(st, b + 5, a[r].target);
        db_bind_text(st, b + 6, a[r].client);
        db_bind_int(st, b + 7, a[r].status);
    }
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "appending to the audit trail");
}

int store_audit_append(store *s, const store_audit_row *a)
{
    pthread_mutex_lock(&s->mu);
    int res = audit_insert(s, a, 2);
    pthread_mutex_unlock(&s->mu);
    return res;
}

int store_audit_append_many(store *s, const store_audit_row *a, int n)
{
    if (n <= 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    int res = db_begin(s->d) == DB_OK ? 0 : store__fail(s, "starting a transaction");
    /* 64 at a time, then 8 at a time, then one by one */
    for (int i = 0, k = 0; i < n && res == 0;) {
        while (i + k_audit_sizes[k].rows > n)
            k++;
        res = audit_insert(s, a + i, k);
        i += k_audit_sizes[k].rows;
    }
    if (res == 0 && db_commit(s->d) != DB_OK)
        res = store__fail(s, "committing the audit trail");
    if (res != 0)
        db_rollback(s->d);
    pthread_mutex_unlock(&s->mu);
    return res;
}

int store_audit_list(store *s, int64_t after_id, double since, int limit, store_audit_fn fn,
                     void *user)
{
    db_stmt *st = store__begin(s, Q_AUDIT_LIST,
                               "SELECT id, ts, who, role, action, target, client, status FROM "
                               "audit_log WHERE id > $1 AND ts >= $2 ORDER BY id LIMIT $3");
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_double(st, 2, since);
    db_bind_int(st, 3, limit > 0 ? limit : INT64_MAX);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        store_audit_row a = {
            .id = db_col_int(st, 0),
            .ts = db_col_double(st, 1),
            .who = db_col_text(st, 2),
            .role = db_col_text(st, 3),
            .action = db_col_text(st, 4),
            .target = db_col_null(st, 5) ? NULL : db_col_text(st, 5),
            .client = db_col_null(st, 6) ? NULL : db_col_text(st, 6),
            .status = (int)db_col_int(st, 7),
        };
        if (fn(user, &a)) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "reading the audit trail");
    store__end(s, st);
    return res;
}

/* ---- /ask requests -------------------------------------------------------------------------- */

typedef struct ask_args {
    const store_ask_row *a;
    char day[11];
} ask_args;

static int ask_tx(store *s, void *arg)
{
    const ask_args *x = arg;
    const store_ask_row *a = x->a;
    db_stmt *st =
        store__stmt(s, Q_ASK_PUT,
                    "INSERT INTO ask_log (ts, day, who, question, status, rounds, queries, "
                    "refused, elapsed_sec, error, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                    "$8, $9, $10, $11)");
    if (!st)
        return STORE_ERR;
    db_bind_double(st, 1, a->ts);
    db_bind_text(st, 2, x->day);
    db_bind_text(st, 3, a->who ? a->who : "");
    db_bind_text(st, 4, a->question ? a->question : "");
    db_bind_int(st, 5, a->status);
    db_bind_int(st, 6, a->rounds);
    db_bind_int(st, 7, a->queries);
    db_bind_int(st, 8, a->refused);
    store__bind_num(st, 9, a->elapsed_sec >= 0 ? a->elapsed_sec : 0);
    store__bind_opt(st, 10, a->error);
    db_bind_text(st, 11, a->detail ? a->detail : "[]");
    if (store__run(s, st, "recording an /ask") != 0)
        return STORE_ERR;
    char lab[64];
    snprintf(lab, sizeof(lab), "status=\"%d\"", a->status);
    if (store__counter_add(s, "qa_ask_requests_total", lab, 1) != 0 ||
        (a->refused > 0 &&
         store__counter_add(s, "qa_ask_queries_refused_total", "", (double)a->refused) != 0))
        return STORE_ERR;
    return STORE_OK;
}

int store_ask_record(store *s, const store_ask_row *a)
{
    ask_args x = {a, ""};
    if (store__local_day(s, a->ts, x.day, "recording an /ask") != 0)
        return -1;
    return store__in_tx(s, "ask", ask_tx, &x) == STORE_OK ? 0 : -1;
}
