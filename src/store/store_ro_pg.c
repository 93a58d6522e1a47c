/*
 * store_ro_pg.c - read-only queries over a PostgreSQL store, for a caller that runs SQL it did
 * not write (POST /ask's QA-store source; docs/ask/sources.md). Writes are impossible by
 * construction, in layers of the database engine that each hold on their own. The layer that
 * refused a query is named in its result:
 *
 *   (open)         the curated views: a schema (callqa_ask) of security_barrier views over the
 *                  allow-listed columns of the store's tables, each filtered by the caller's
 *                  scope, and a role (callqa_ask, NOLOGIN) with USAGE on that schema and SELECT
 *                  on those views, nothing else; set_config, the large objects (lo_*), dblink,
 *                  the server's files and every SECURITY DEFINER function outside pg_catalog out
 *                  of its reach. Then checked as facts of the catalog: the open is refused,
 *                  naming what the role can reach and the SQL an administrator must run;
 *   scope          the caller's scope, {"campaigns": [...]}, bound as a parameter;
 *   (each query)   BEGIN READ ONLY, SET LOCAL statement_timeout and lock_timeout (our own
 *                  integers), the scope set, SET LOCAL ROLE to the reader, search_path the
 *                  views' schema;
 *   explain        EXPLAIN (FORMAT JSON) of the statement, under the role: a statement that is
 *                  not a query that can be planned (SET, RESET, COPY, GRANT, CALL, DO, LOCK,
 *                  ...) never runs, nor one with a step of its plan estimated above
 *                  max_estimate rows;
 *   one_statement  the extended protocol (PQexecParams, PQprepare): one statement, never two;
 *   prepare        only a statement that returns rows runs (PQdescribePrepared);
 *   privilege      the role's privileges (42501): writes, the store's tables, the functions
 *                  out of its reach; checked at EXPLAIN already;
 *   allow_list     a table or column no view holds (42P01, 42703, 3F000);
 *   read_only_transaction  the transaction's (25006);
 *   timeout        statement_timeout (57014) and lock_timeout (55P03), kept by the server
 *                  between its steps, and a watchdog (store_ro_watch) that shuts the
 *                  connection 0.8 s past the time when the server still runs
 *                  the statement (inside one call of strpos, replace, LIKE or btrim the server
 *                  sees neither); a connection whose server still runs the statement given up
 *                  on takes no query until it ends;
 *   engine         any other error;
 *   caps           max_rows and max_bytes (said as truncated, not failed): single-row mode,
 *                  the rest of the statement cancelled, never buffered whole.
 * Then ROLLBACK and DISCARD ALL, always: nothing of the query outlives it (a session advisory
 * lock, a cursor, a prepared statement, a temporary table, a setting).
 *
 * DESIGN: one connection, as the store's own account, which owns the views (they read the
 * store's tables with its privileges) and takes the reader role with SET LOCAL ROLE inside each
 * transaction. A query could leave the role only by a utility statement (SET ROLE, RESET ROLE,
 * SET SESSION AUTHORIZATION: EXPLAIN refuses them, so they never run) or a function
 * (set_config('role', ...), a SECURITY DEFINER function: out of its reach; set_config is
 * revoked from PUBLIC and granted back to the store's other roles, whose sessions call it). The
 * scope rides in the setting callqa.scope, set in each transaction from a bound parameter
 * before the role is taken: "*" is every call, else {"campaigns": [...]}; the views read it,
 * and an unset or empty one shows nothing. A query can narrow its rows, never widen them, and
 * as security_barrier views run their own filter first, no condition of the query sees a row
 * the scope hides.
 *
 * This file is the store's: only store code includes a database header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "db.h"
#include "db_pg_oid.h"
#include "store_ro_int.h"
#include "callqa/cq_clock.h"

#define MAX_SQL 100000 /* bytes of a statement, as the SQLite backend's SQLITE_LIMIT_SQL_LENGTH */
/* the setup's advisory lock (store_schema.c's migration holds 7461, 1): opens one at a time */
#define SETUP_LOCK "7461, 2"

typedef struct ro_pg {
    store_ro base; /* first: a store_ro * is a ro_pg * */
    PGconn *c;
    char *schema, *role;     /* the views' schema and the reader role, as named */
    char *q_schema, *q_role; /* the same as quoted identifiers */
    int abandoned;           /* the backend of a connection given up on with its statement still
                                running (0: none) */
    double abandoned_at;     /* when (monotonic s) */
} ro_pg;

/* ---- a growing string (the setup's SQL, the messages) ------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || (b->n + (size_t)k + 1 > b->cap)) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + (k > 0 ? (size_t)k : 0);
        char *p = k < 0 ? NULL : realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static const char *sb_str(const sbuf *b)
{
    return b->oom ? "(out of memory)" : b->p ? b->p : "";
}

/* The first line of a server's or libpq's message. */
static void first_line(char *out, size_t n, const char *m)
{
    if (!m || !*m)
        m = "unknown error";
    snprintf(out, n, "%.*s", (int)strcspn(m, "\r\n"), m);
}

static char *quote_ident(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char *s = q ? strdup(q) : NULL;
    PQfreemem(q);
    return s;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs and WARNINGs of the setup ("no privileges could be revoked"): the
                      checks that follow say what holds */
}

/* The server's message of a failed result (its primary text), else libpq's. */
static void err_of(PGconn *c, const PGresult *r, char *out, size_t n)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    first_line(out, n, m ? m : PQerrorMessage(c));
}

/* A command of our own (no parameters); true when it ran. */
static bool run(PGconn *c, const char *sql, char *err, size_t n)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok && err)
        err_of(c, r, err, n);
    PQclear(r);
    return ok;
}

/* A query of our own with text parameters; the result (PGRES_TUPLES_OK) or NULL with err. */
static PGresult *rows_of(PGconn *c, const char *sql, int n, const char *const *vals, char *err,
                         size_t errn)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    err_of(c, r, err, errn);
    PQclear(r);
    return NULL;
}

/* A step of the setup under a savepoint: when the store's account may not take it, the
 * transaction goes on without it and the checks decide. */
static bool step(PGconn *c, const char *sql, char *err, size_t n)
{
    run(c, "SAVEPOINT step", NULL, 0);
    if (run(c, sql, err, n)) {
        run(c, "RELEASE SAVEPOINT step", NULL, 0);
        return true;
    }
    run(c, "ROLLBACK TO SAVEPOINT step", NULL, 0);
    return false;
}

/* ---- what the reader role may reach --------------------------------------------------------- */

/* The functions out of the reader's reach: set_config (a query would leave the role, the time
 * limit or the scope with it), the server's files (pg_read_file, pg_ls_dir, ...), the large
 * objects (lo_*, loread, lowrite: lo_creat writes even in a read-only transaction), dblink,
 * adminpack's, reloading or rotating the server's configuration, logs and WAL, resetting its
 * statistics, and every SECURITY DEFINER function outside pg_catalog (it would run as its
 * owner). Those the role $1 can execute now, as "schema.name(args)" (regprocedure, with the
 * search_path pg_catalog alone: pg_catalog's prefixed), and whether it is set_config. */
static const char k_risky_sql[] =
    "SELECT CASE WHEN n.nspname = 'pg_catalog' THEN 'pg_catalog.' ELSE '' END ||"
    " p.oid::regprocedure::text, p.proname = 'set_config' AND n.nspname = 'pg_catalog'"
    " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE ((n.nspname = 'pg_catalog' AND (p.proname IN ('set_config', 'pg_read_file',"
    " 'pg_read_binary_file', 'pg_stat_file', 'loread', 'lowrite', 'pg_reload_conf',"
    " 'pg_rotate_logfile', 'pg_switch_wal', 'pg_promote') OR p.proname LIKE 'lo\\_%'"
    " OR p.proname LIKE 'pg\\_ls\\_%' OR p.proname LIKE 'pg\\_stat\\_reset%'))"
    " OR p.proname LIKE 'dblink%' OR p.proname LIKE 'pg\\_file\\_%' OR p.proname = 'pg_logdir_ls'"
    " OR (p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')))"
    " AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1";

/* The roles of the store other than the reader ($2) that are not superusers: its account
 * (session_user), the owners of its tables and those granted on them (schema $1). They keep
 * set_config when PUBLIC loses it (db_pg.c's session setup calls it). */
static const char k_store_roles_sql[] =
    "WITH t AS (SELECT relowner, relacl FROM pg_class WHERE relnamespace = (SELECT oid FROM"
    " pg_namespace WHERE nspname = $1))"
    " SELECT quote_ident(rolname) FROM pg_roles WHERE rolname <> $2 AND NOT rolsuper AND"
    " (rolname = session_user OR oid IN (SELECT relowner FROM t) OR oid IN (SELECT"
    " (aclexplode(relacl)).grantee FROM t)) ORDER BY 1";

/* The relations the role $1 holds any privilege on, beyond SELECT on the views of the
 * allow-list ($3: their names, comma-separated) in the views' schema ($2): column 1 says
 * whether it is one of those views (then it holds more than SELECT). */
static const char k_relations_sql[] =
    "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname = $2 AND"
    " c.relkind = 'v' AND c.relname = ANY (string_to_array($3, ','))"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND"
    " CASE WHEN c.relkind = 'S' THEN has_sequence_privilege($1, c.oid, 'USAGE, SELECT, UPDATE')"
    " WHEN n.nspname = $2 AND c.relkind = 'v' AND c.relname = ANY (string_to_array($3, ','))"
    " THEN has_table_privilege($1, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES,"
    " TRIGGER') OR has_any_column_privilege($1, c.oid, 'INSERT, UPDATE, REFERENCES')"
    " ELSE has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE,"
    " REFERENCES, TRIGGER') OR has_any_column_privilege($1, c.oid, 'SELECT, INSERT, UPDATE,"
    " REFERENCES') END ORDER BY 1";

/* ---- the views ----------------------------------------------------------------------------- */

typedef struct view_def {
    char *table;   /* the store's table (its name in the catalog) */
    sbuf columns;  /* the allowed ones, quoted, comma-separated, in the table's order */
    bool campaign; /* it has campaign_id: filtered on it */
    bool call;     /* else, it has call_id: filtered through its call's campaign */
} view_def;

static void views_free(view_def *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].table);
        free(v[i].columns.p);
    }
    free(v);
}

/* Does allow-list entry a ("table.column" or "table.*") name column col of table t? */
static bool names(const char *a, const char *t, const char *col)
{
    size_t tl = strlen(t);
    return !strncasecmp(a, t, tl) && a[tl] == '.' &&
           (!strcmp(a + tl + 1, "*") || !strcasecmp(a + tl + 1, col));
}

/* The views the allow-list asks for, checked against the store's columns (schema nsp).
 * NULL with msg when an entry names no column of the store (or no view would be made). */
static view_def *views_of(ro_pg *r, const char *nsp, const char *const *allow, size_t *nv,
                          char *msg, size_t n)
{
    char err[300];
    const char *p[1] = {nsp};
    PGresult *cols = rows_of(r->c,
                             "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON"
                             " c.oid = a.attrelid WHERE c.relnamespace = (SELECT oid FROM"
                             " pg_namespace WHERE nspname = $1) AND c.relkind IN ('r', 'p') AND"
                             " a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
                             1, p, err, sizeof(err));
    if (!cols) {
        snprintf(msg, n, "cannot read the store's columns: %s", err);
        return NULL;
    }
    int nr = PQntuples(cols);
    for (const char *const *a = allow; *a; a++) {
        bool found = false;
        for (int i = 0; i < nr && !found; i++)
            found = names(*a, PQgetvalue(cols, i, 0), PQgetvalue(cols, i, 1));
        if (!found) {
            snprintf(msg, n,
                     "the allow-list's \"%s\" is no column of the store's tables (\"table.column\" "
                     "or \"table.*\")",
                     *a);
            PQclear(cols);
            return NULL;
        }
    }
    view_def *v = NULL;
    *nv = 0;
    for (int i = 0; i < nr; i++) {
        const char *t = PQgetvalue(cols, i, 0), *col = PQgetvalue(cols, i, 1);
        if (*nv == 0 || strcmp(v[*nv - 1].table, t)) {
            view_def *grown = realloc(v, (*nv + 1) * sizeof(*v));
            if (!grown)
                goto oom;
            v = grown;
            memset(&v[*nv], 0, sizeof(*v));
            if (!(v[(*nv)++].table = strdup(t)))
                goto oom;
        }
        view_def *d = &v[*nv - 1];
        d->campaign |= !strcmp(col, "campaign_id");
        d->call |= !strcmp(col, "call_id");
        bool allowed = false;
        for (const char *const *a = allow; *a && !allowed; a++)
            allowed = names(*a, t, col);
        if (allowed) {
            char *q = quote_ident(r->c, col);
            sb_add(&d->columns, "%s%s", d->columns.n ? ", " : "", q ? q : "");
            free(q);
            if (!q || d->columns.oom)
                goto oom;
        }
    }
    PQclear(cols);
    /* a view for each table with a column allowed */
    size_t k = 0;
    for (size_t i = 0; i < *nv; i++) {
        if (v[i].columns.n) {
            v[k++] = v[i];
        } else {
            free(v[i].table);
            free(v[i].columns.p);
        }
    }
    *nv = k;
    return v;
oom:
    PQclear(cols);
    views_free(v, *nv);
    snprintf(msg, n, "out of memory");
    return NULL;
}

/* The scope's condition on a view of the store's table (the store's schema qs, quoted): its
 * campaign, its call's campaign, or, for a table of neither, the whole scope only. */
static void scope_predicate(sbuf *b, const view_def *d, const char *qs)
{
    static const char all[] = "current_setting('callqa.scope', true) = '*'";
    static const char campaigns[] =
        "SELECT jsonb_array_elements_text(NULLIF(current_setting('callqa.scope', true), "
        "'')::jsonb -> 'campaigns')";
    if (d->campaign)
        sb_add(b, "%s OR campaign_id IN (%s)", all, campaigns);
    else if (d->call)
        sb_add(b, "%s OR call_id IN (SELECT id FROM %s.calls WHERE campaign_id IN (%s))", all, qs,
               campaigns);
    else
        sb_add(b, "%s", all);
}

/* Create or replace one view; dropped first when its columns changed (CREATE OR REPLACE may
 * only add columns at the end). */
static bool view_make(ro_pg *r, const view_def *d, const char *qs, char *err, size_t n)
{
    char *qt = quote_ident(r->c, d->table);
    sbuf b = {0};
    sb_add(&b,
           "CREATE OR REPLACE VIEW %s.%s WITH (security_barrier) AS SELECT %s FROM %s.%s WHERE ",
           r->q_schema, qt ? qt : "", d->columns.p, qs, qt ? qt : "");
    scope_predicate(&b, d, qs);
    bool ok = qt && !b.oom && step(r->c, b.p, err, n);
    if (!ok && qt && !b.oom) {
        sbuf again = {0};
        sb_add(&again, "DROP VIEW IF EXISTS %s.%s; %s", r->q_schema, qt, b.p);
        ok = !again.oom && step(r->c, again.p, err, n);
        free(again.p);
    }
    if (!qt || b.oom)
        snprintf(err, n, "out of memory");
    free(b.p);
    free(qt);
    return ok;
}

/* ---- setup and checks at open ------------------------------------------------------------- */

/* One of the setup's steps, its SQL formatted (step() under a savepoint). */
static void step_f(ro_pg *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step_f(ro_pg *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = NULL;
    int k = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (k >= 0) {
        char err[300];
        step(r->c, sql, err, sizeof(err));
        free(sql);
    }
}

/* The setup, as the store's account, in one transaction under an advisory lock (services
 * opening together set up one at a time): the schema, the role, the views, the role's
 * privileges, the functions out of its reach. A step the account may not take is skipped: the
 * checks (verify) then name what an administrator must run; views it cannot make are named in
 * what, with the SQL in fix. -1 with msg for what no administrator's SQL fixes (no store, an
 * allow-list naming nothing of it); else 0, with *nsp (the store's schema) and *views (the
 * views' names, comma-separated) to free. */
static int setup(ro_pg *r, const char *const *allow, char **nsp, char **views, sbuf *what,
                 sbuf *fix, char *msg, size_t n)
{
    char err[300];
    if (!run(r->c,
             "BEGIN; SET LOCAL lock_timeout = '10s'; SELECT pg_advisory_xact_lock(" SETUP_LOCK ")",
             err, sizeof(err))) {
        snprintf(msg, n, "cannot begin the setup: %s", err);
        return -1;
    }
    /* the store: the schema of its version table, on its account's search_path */
    PGresult *st = rows_of(r->c,
                           "SELECT n.nspname, quote_ident(n.nspname), quote_ident(session_user)"
                           " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE"
                           " c.oid = to_regclass('callqa_schema')",
                           0, NULL, err, sizeof(err));
    if (!st || PQntuples(st) != 1) {
        snprintf(msg, n, "not a callqa store: %s (open it once with store_open)",
                 st ? "no table callqa_schema on its account's search_path" : err);
        PQclear(st);
        run(r->c, "ROLLBACK", NULL, 0);
        return -1;
    }
    *nsp = strdup(PQgetvalue(st, 0, 0));
    char *qs = strdup(PQgetvalue(st, 0, 1)), *account = strdup(PQgetvalue(st, 0, 2));
    PQclear(st);
    /* from here every name is qualified, or pg_catalog's: the views' functions and types are
     * bound at creation, never to a namesake in another schema */
    run(r->c, "SET LOCAL search_path = pg_catalog", NULL, 0);
    size_t nv = 0;
    view_def *v = *nsp && qs && account ? views_of(r, *nsp, allow, &nv, msg, n) : NULL;
    if (!*nsp || !qs || !account)
        snprintf(msg, n, "out of memory");
    int rc = v ? 0 : -1;
    const char *pr[1] = {r->role};
    if (!rc) {
        step_f(r, "CREATE SCHEMA IF NOT EXISTS %s", r->q_schema);
        PGresult *role = rows_of(r->c,
                                 "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR"
                                 " rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = $1",
                                 1, pr, err, sizeof(err));
        if (role && PQntuples(role) == 0)
            step_f(r, "CREATE ROLE %s NOLOGIN", r->q_role);
        else if (role && PQgetvalue(role, 0, 0)[0] == 't')
            step_f(r, "ALTER ROLE %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
                   r->q_role);
        PQclear(role);
        /* the store's account takes the role with SET ROLE: a member of it */
        PGresult *m = rows_of(r->c,
                              "SELECT 1 FROM pg_roles WHERE rolname = $1 AND NOT pg_has_role("
                              "session_user, oid, 'MEMBER')",
                              1, pr, err, sizeof(err));
        if (m && PQntuples(m) == 1)
            step_f(r, "GRANT %s TO SESSION_USER", r->q_role);
        PQclear(m);
        /* and the role is a member of nothing (pg_read_server_files, the account, ...) */
        m = rows_of(r->c,
                    "SELECT quote_ident(b.rolname) FROM pg_auth_members m JOIN pg_roles b ON"
                    " b.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname ="
                    " $1)",
                    1, pr, err, sizeof(err));
        for (int i = 0; m && i < PQntuples(m); i++)
            step_f(r, "REVOKE %s FROM %s", PQgetvalue(m, i, 0), r->q_role);
        PQclear(m);
        /* the views, made by the store's account in their schema */
        for (size_t i = 0; i < nv; i++)
            if (!view_make(r, &v[i], qs, err, sizeof(err))) {
                sb_add(what, ", cannot be given its views (%s.%s: %s)", r->schema, v[i].table, err);
                sb_add(fix,
                       " CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s; GRANT USAGE, CREATE ON "
                       "SCHEMA %s TO %s;",
                       r->q_schema, account, r->q_schema, account);
                break;
            }
    }
    sbuf list = {0};
    for (size_t i = 0; !rc && i < nv; i++)
        sb_add(&list, "%s%s", i ? "," : "", v[i].table);
    if (!rc) {
        /* the views no longer on the allow-list */
        const char *ps[2] = {r->schema, sb_str(&list)};
        PGresult *old = rows_of(r->c,
                                "SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'v' AND"
                                " relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)"
                                " AND relname <> ALL (string_to_array($2, ','))",
                                2, ps, err, sizeof(err));
        for (int i = 0; old && i < PQntuples(old); i++)
            step_f(r, "DROP VIEW %s.%s", r->q_schema, PQgetvalue(old, i, 0));
        PQclear(old);
        /* the role's privileges: USAGE on the schema and SELECT on the views, nothing else */
        step_f(r, "REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s", r->q_schema, r->q_role);
        step_f(r, "REVOKE ALL ON SCHEMA %s FROM %s", r->q_schema, r->q_role);
        step_f(r, "GRANT USAGE ON SCHEMA %s TO %s", r->q_schema, r->q_role);
        for (size_t i = 0; i < nv; i++) {
            char *qt = quote_ident(r->c, v[i].table);
            if (qt)
                step_f(r, "GRANT SELECT ON %s.%s TO %s", r->q_schema, qt, r->q_role);
            free(qt);
        }
        step_f(r, "REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s", qs, r->q_role);
        step_f(r, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA %s FROM %s", qs, r->q_role);
        /* the functions out of its reach: revoked from PUBLIC (every role is in it) and from
         * itself; set_config granted back to the store's other roles */
        PGresult *fn = rows_of(r->c, k_risky_sql, 1, pr, err, sizeof(err));
        const char *pst[2] = {*nsp, r->role};
        PGresult *roles = rows_of(r->c, k_store_roles_sql, 2, pst, err, sizeof(err));
        for (int i = 0; fn && i < PQntuples(fn); i++) {
            const char *f = PQgetvalue(fn, i, 0);
            step_f(r, "REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, %s", f, r->q_role);
            sbuf to = {0};
            for (int k = 0; roles && k < PQntuples(roles); k++)
                sb_add(&to, "%s%s", k ? ", " : "", PQgetvalue(roles, k, 0));
            if (PQgetvalue(fn, i, 1)[0] == 't' && to.n)
                step_f(r, "GRANT EXECUTE ON FUNCTION %s TO %s", f, sb_str(&to));
            free(to.p);
        }
        PQclear(fn);
        PQclear(roles);
        if (!run(r->c, "COMMIT", err, sizeof(err))) {
            snprintf(msg, n, "cannot commit the setup: %s", err);
            rc = -1;
        }
    }
    if (rc)
        run(r->c, "ROLLBACK", NULL, 0);
    if (!rc && list.oom) {
        snprintf(msg, n, "out of memory");
        rc = -1;
    }
    if (!rc)
        *views = list.p;
    else
        free(list.p);
    views_free(v, nv);
    free(qs);
    free(account);
    return rc;
}

/* The checks at open, as facts of the catalog read after the setup: the role exists, is no
 * superuser (nor may create roles or databases, replicate or bypass row security), is a member
 * of no role (pg_read_server_files, pg_write_server_files, pg_execute_server_program,
 * pg_read_all_data, the store's account, ...), the store's account may take it (SET ROLE), it
 * can execute none of the functions of k_risky_sql, it holds no privilege on any relation but
 * SELECT on the views, and it can read the views. 0, or -1 with msg naming what it can reach
 * and the SQL an administrator must run. */
static int verify(ro_pg *r, const char *nsp, const char *views, sbuf *what_, sbuf *fix_, char *msg,
                  size_t n)
{
    char err[300];
    sbuf what = *what_, fix = *fix_; /* the setup's findings first */
    *what_ = (sbuf){0};
    *fix_ = (sbuf){0};
    const char *pr[1] = {r->role};
    int rc = 0;
    if (!run(r->c, "BEGIN READ ONLY; SET LOCAL search_path = pg_catalog", err, sizeof(err))) {
        snprintf(msg, n, "cannot check the role: %s", err);
        return -1;
    }
    PGresult *a = rows_of(r->c,
                          "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR"
                          " rolbypassrls, rolname = session_user, (SELECT rolsuper FROM pg_roles"
                          " WHERE rolname = session_user) OR pg_has_role(session_user, oid,"
                          " 'MEMBER'), quote_ident(session_user), has_function_privilege("
                          "session_user, 'pg_catalog.set_config(text,text,boolean)', 'EXECUTE')"
                          " FROM pg_roles WHERE rolname = $1",
                          1, pr, err, sizeof(err));
    if (!a) {
        snprintf(msg, n, "cannot check the role: %s", err);
        rc = -1;
        goto done;
    }
    if (PQntuples(a) == 0) {
        PQclear(a);
        a = rows_of(r->c, "SELECT quote_ident(session_user)", 0, NULL, err, sizeof(err));
        sb_add(&what, ", does not exist");
        sb_add(&fix, " CREATE ROLE %s NOLOGIN; GRANT %s TO %s;", r->q_role, r->q_role,
               a ? PQgetvalue(a, 0, 0) : "SESSION_USER");
        PQclear(a);
        goto report;
    }
    if (PQgetvalue(a, 0, 1)[0] == 't') {
        snprintf(msg, n, "the reader role %s is the store's account: name another (NOLOGIN) role",
                 r->role);
        PQclear(a);
        rc = -1;
        goto done;
    }
    if (PQgetvalue(a, 0, 0)[0] == 't') {
        sb_add(&what, ", is a superuser or may create roles or databases, replicate or bypass "
                      "row security");
        sb_add(&fix,
               " ALTER ROLE %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;",
               r->q_role);
    }
    if (PQgetvalue(a, 0, 2)[0] != 't') {
        sb_add(&what, ", cannot be taken by the store's account %s (SET ROLE)",
               PQgetvalue(a, 0, 3));
        sb_add(&fix, " GRANT %s TO %s;", r->q_role, PQgetvalue(a, 0, 3));
    }
    if (PQgetvalue(a, 0, 4)[0] != 't') {
        /* the account binds the scope with it, as itself */
        sb_add(&what,
               ", cannot be given its scope: the store's account %s cannot execute "
               "set_config",
               PQgetvalue(a, 0, 3));
        sb_add(&fix, " GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text,text,boolean) TO %s;",
               PQgetvalue(a, 0, 3));
    }
    PQclear(a);
    PGresult *m = rows_of(r->c,
                          "SELECT quote_ident(b.rolname) FROM pg_auth_members m JOIN pg_roles b ON"
                          " b.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE"
                          " rolname = $1) ORDER BY 1",
                          1, pr, err, sizeof(err));
    for (int i = 0; m && i < PQntuples(m); i++) {
        sb_add(&what, ", is a member of %s", PQgetvalue(m, i, 0));
        sb_add(&fix, " REVOKE %s FROM %s;", PQgetvalue(m, i, 0), r->q_role);
    }
    PQclear(m);
    PGresult *fn = rows_of(r->c, k_risky_sql, 1, pr, err, sizeof(err));
    const char *pst[2] = {nsp, r->role};
    PGresult *roles = rows_of(r->c, k_store_roles_sql, 2, pst, err, sizeof(err));
    for (int i = 0; fn && i < PQntuples(fn); i++) {
        const char *f = PQgetvalue(fn, i, 0);
        sb_add(&what, ", can execute %s", f);
        sb_add(&fix, " REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, %s;", f, r->q_role);
        if (PQgetvalue(fn, i, 1)[0] == 't' && roles && PQntuples(roles) > 0) {
            sb_add(&fix, " GRANT EXECUTE ON FUNCTION %s TO", f);
            for (int k = 0; k < PQntuples(roles); k++)
                sb_add(&fix, "%s %s", k ? "," : "", PQgetvalue(roles, k, 0));
            sb_add(&fix, ";");
        }
    }
    PQclear(roles);
    const char *prv[3] = {r->role, r->schema, views};
    PGresult *rel = rows_of(r->c, k_relations_sql, 3, prv, err, sizeof(err));
    for (int i = 0; rel && i < PQntuples(rel); i++) {
        const char *t = PQgetvalue(rel, i, 0);
        bool view = PQgetvalue(rel, i, 1)[0] == 't';
        sb_add(&what, ", holds %s on %s", view ? "more than SELECT" : "privileges", t);
        sb_add(&fix, " REVOKE ALL ON %s FROM PUBLIC, %s;", t, r->q_role);
        if (view)
            sb_add(&fix, " GRANT SELECT ON %s TO %s;", t, r->q_role);
    }
    PGresult *rd = rows_of(r->c,
                           "SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = (SELECT"
                           " oid FROM pg_namespace WHERE nspname = $2) AND relname = ANY"
                           " (string_to_array($3, ',')) AND NOT (has_schema_privilege($1,"
                           " relnamespace, 'USAGE') AND has_table_privilege($1, oid, 'SELECT'))"
                           " ORDER BY 1",
                           3, prv, err, sizeof(err));
    for (int i = 0; rd && i < PQntuples(rd); i++) {
        sb_add(&what, ", cannot read the view %s.%s", r->schema, PQgetvalue(rd, i, 0));
        sb_add(&fix, " GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON %s.%s TO %s;", r->q_schema,
               r->q_role, r->q_schema, PQgetvalue(rd, i, 0), r->q_role);
    }
    if (!fn || !rel || !rd) {
        snprintf(msg, n, "cannot check the role: %s", err);
        rc = -1;
    }
    PQclear(fn);
    PQclear(rel);
    PQclear(rd);
report:
    if (!rc && (what.n || what.oom)) {
        snprintf(msg, n, "the role %s%s; an administrator must run:%s", r->role,
                 what.oom ? " (out of memory)" : sb_str(&what) + 1, sb_str(&fix));
        rc = -1;
    }
done:
    run(r->c, "ROLLBACK", NULL, 0);
    free(what.p);
    free(fix.p);
    return rc;
}

/* ---- a query ------------------------------------------------------------------------------- */

/* The scope as the views read it: "*" (every call) or the caller's {"campaigns": [...]}
 * written again compactly; NULL (out refused, layer "scope") when it is not that. */
static char *scope_text(const char *scope, store_ro_result *out)
{
    if (!scope)
        return strdup("*");
    json_error_t e;
    json_t *j = json_loads(scope, JSON_REJECT_DUPLICATES, &e);
    json_t *camps = json_is_object(j) ? json_object_get(j, "campaigns") : NULL;
    bool ok = json_is_array(camps) && json_object_size(j) == 1;
    for (size_t i = 0; ok && i < json_array_size(camps); i++)
        ok = json_is_string(json_array_get(camps, i));
    char *s = ok ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        store_ro_refuse(out, "scope", "%s",
                        ok ? "out of memory"
                           : "the scope is not {\"campaigns\": [\"campaign id\", ...]}");
    return s;
}

static bool sqlstate_is(const PGresult *res, const char *code)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s && !strcmp(s, code);
}

/* A failed step's result: refused by the layer its SQLSTATE names; at the EXPLAIN step, a
 * syntax error is the statement's not being a query EXPLAIN takes (SET, COPY, GRANT, ...):
 * "explain". Clears res; returns -1. */
static int refused(PGconn *c, PGresult *res, bool explain, const store_ro_limits *lim,
                   store_ro_result *out)
{
    char why[300];
    err_of(c, res, why, sizeof(why));
    const char *layer = "engine"; /* also a failure that is not the server's: a lost connection */
    if (sqlstate_is(res, "42501"))
        layer = "privilege";
    else if (sqlstate_is(res, "25006"))
        layer = "read_only_transaction";
    else if (sqlstate_is(res, "57014") || sqlstate_is(res, "55P03"))
        layer = "timeout";
    else if (sqlstate_is(res, "42601") && strstr(why, "multiple commands"))
        layer = "one_statement";
    else if (sqlstate_is(res, "42601") && explain)
        layer = "explain";
    else if (sqlstate_is(res, "42P01") || sqlstate_is(res, "42703") || sqlstate_is(res, "3F000"))
        layer = "allow_list"; /* no such view or column: the curated views do not hold it */
    PQclear(res);
    if (!strcmp(layer, "timeout")) {
        char t[400];
        snprintf(t, sizeof(t), "%.1f s (%s)", lim->timeout_sec, why);
        return store_ro_refuse(out, layer, "cut off after its %s", t);
    }
    return store_ro_refuse(out, layer, "%s", why);
}

/* The largest row estimate of any node of an EXPLAIN (FORMAT JSON) plan. */
static double plan_rows(const json_t *plan)
{
    double m = json_number_value(json_object_get(plan, "Plan Rows"));
    const json_t *kids = json_object_get(plan, "Plans");
    for (size_t i = 0; i < json_array_size(kids); i++) {
        double k = plan_rows(json_array_get(kids, i));
        m = k > m ? k : m;
    }
    return m;
}

/* One value as JSON: integers and numeric without a fraction as integers, the other numbers
 * as reals (NaN, infinities and numerics beyond a double as their text), booleans, NULL as
 * null, bytea as {"blob_bytes": n}, anything else as its text (bytes that are not UTF-8: null). */
static json_t *value_of(const PGresult *x, int i, size_t *bytes)
{
    if (PQgetisnull(x, 0, i))
        return json_null();
    const char *v = PQgetvalue(x, 0, i);
    size_t len = (size_t)PQgetlength(x, 0, i);
    Oid t = PQftype(x, i);
    char *end;
    switch (t) {
    case DB_PG_OID_BOOL: *bytes += 8; return json_boolean(v[0] == 't');
    case DB_PG_OID_INT2:
    case DB_PG_OID_INT4:
    case DB_PG_OID_INT8:
    case DB_PG_OID_OID:
    case DB_PG_OID_NUMERIC:
    case DB_PG_OID_FLOAT4:
    case DB_PG_OID_FLOAT8: {
        *bytes += 8;
        errno = 0;
        long long k = strtoll(v, &end, 10);
        if (t != DB_PG_OID_FLOAT4 && t != DB_PG_OID_FLOAT8 && end != v && !*end && !errno)
            return json_integer(k);
        double d = strtod(v, &end);
        if (end != v && !*end && isfinite(d))
            return json_real(d);
        return json_string(v);
    }
    case DB_PG_OID_BYTEA: /* hex format: \x and two digits a byte */
        *bytes += 8;
        return json_pack("{s:I}", "blob_bytes", (json_int_t)(len >= 2 ? (len - 2) / 2 : 0));
    default: {
        *bytes += len;
        json_t *s = json_stringn(v, len);
        return s ? s : json_null();
    }
    }
}

/* Ask the server to stop the statement (its rows beyond the caps are not wanted). */
static void cancel(PGconn *c)
{
    PGcancel *k = PQgetCancel(c);
    char e[256];
    if (k) {
        PQcancel(k, e, sizeof(e));
        PQfreeCancel(k);
    }
}

/* The transaction of one query, up to its answer (the caller ends it). */
static int query_tx(ro_pg *r, const char *sql, const store_ro_limits *lim, const char *scope,
                    store_ro_result *out, bool *sent)
{
    char err[300], cmd[400];
    double ms = ceil(lim->timeout_sec * 1000);
    long t_ms = ms < 1 ? 1 : ms > INT_MAX ? INT_MAX : (long)ms;
    snprintf(cmd, sizeof(cmd),
             "BEGIN READ ONLY; SET LOCAL statement_timeout = %ld; SET LOCAL lock_timeout = %ld",
             t_ms, t_ms);
    if (!run(r->c, cmd, err, sizeof(err)))
        return store_ro_refuse(out, "engine", "%s", err);
    /* the scope, a bound parameter, set as the store's account (set_config is not the role's) */
    const char *pv[1] = {scope};
    PGresult *s = PQexecParams(r->c, "SELECT set_config('callqa.scope', $1, true)", 1, NULL, pv,
                               NULL, NULL, 0);
    if (PQresultStatus(s) != PGRES_TUPLES_OK)
        return refused(r->c, s, false, lim, out);
    PQclear(s);
    snprintf(cmd, sizeof(cmd), "SET LOCAL ROLE %s; SET LOCAL search_path = %s", r->q_role,
             r->q_schema);
    if (!run(r->c, cmd, err, sizeof(err)))
        return store_ro_refuse(out, "engine", "%s", err);
    /* explain: a query that can be planned, its estimates under the cap */
    *sent = true;
    size_t len = strlen(sql);
    char *ex = malloc(len + 32);
    if (!ex)
        return store_ro_refuse(out, "engine", "%s", "out of memory");
    memcpy(ex, "EXPLAIN (FORMAT JSON) ", 22);
    memcpy(ex + 22, sql, len + 1);
    PGresult *e = PQexecParams(r->c, ex, 0, NULL, NULL, NULL, NULL, 0);
    free(ex);
    if (PQresultStatus(e) != PGRES_TUPLES_OK)
        return refused(r->c, e, true, lim, out);
    json_t *plan = PQntuples(e) == 1 ? json_loads(PQgetvalue(e, 0, 0), 0, NULL) : NULL;
    PQclear(e);
    const json_t *top = json_object_get(json_array_get(plan, 0), "Plan");
    double est = top ? plan_rows(top) : -1;
    json_decref(plan);
    if (est < 0)
        return store_ro_refuse(out, "explain", "%s", "the plan cannot be read");
    if (est > lim->max_estimate) {
        snprintf(err, sizeof(err),
                 "the planner estimates %.0f rows at a step of the plan, above "
                 "the cap of %.0f",
                 est, lim->max_estimate);
        return store_ro_refuse(out, "explain", "%s", err);
    }
    /* one statement (the extended protocol), which returns rows */
    PGresult *p = PQprepare(r->c, "", sql, 0, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        return refused(r->c, p, false, lim, out);
    PQclear(p);
    PGresult *d = PQdescribePrepared(r->c, "");
    if (PQresultStatus(d) != PGRES_COMMAND_OK)
        return refused(r->c, d, false, lim, out);
    int nc = PQnfields(d);
    json_t *cols = json_array(), *rows = json_array();
    for (int i = 0; i < nc; i++) {
        json_t *name = json_string(PQfname(d, i));
        json_array_append_new(cols, name ? name : json_string("?"));
    }
    PQclear(d);
    if (nc == 0) {
        json_decref(cols);
        json_decref(rows);
        return store_ro_refuse(out, "prepare", "%s", "not a query: the statement returns no rows");
    }
    /* run, a row at a time: past the caps, the rest cancelled and dropped */
    if (!PQsendQueryPrepared(r->c, "", 0, NULL, NULL, NULL, 0) || !PQsetSingleRowMode(r->c)) {
        json_decref(cols);
        json_decref(rows);
        first_line(err, sizeof(err), PQerrorMessage(r->c));
        while ((p = PQgetResult(r->c)))
            PQclear(p);
        return store_ro_refuse(out, "engine", "%s", err);
    }
    size_t bytes = 0;
    bool stopped = false;
    PGresult *fail = NULL;
    for (PGresult *x; (x = PQgetResult(r->c));) {
        ExecStatusType st = PQresultStatus(x);
        if (st == PGRES_SINGLE_TUPLE) {
            if (out->rows >= lim->max_rows || bytes > lim->max_bytes) {
                out->truncated = true;
                if (!stopped)
                    cancel(r->c);
                stopped = true;
            } else {
                json_t *row = json_array();
                for (int i = 0; i < nc; i++)
                    json_array_append_new(row, value_of(x, i, &bytes));
                json_array_append_new(rows, row);
                out->rows++;
            }
        } else if (st != PGRES_TUPLES_OK && !fail) {
            fail = x; /* kept: the first failure */
            continue;
        }
        PQclear(x);
    }
    if (fail && !(stopped && sqlstate_is(fail, "57014"))) {
        json_decref(cols);
        json_decref(rows);
        out->rows = 0;
        out->truncated = false;
        return refused(r->c, fail, false, lim, out);
    }
    PQclear(fail);
    json_t *o =
        json_pack("{s:o,s:o,s:b}", "columns", cols, "rows", rows, "truncated", out->truncated);
    out->json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out->json ? 0 : store_ro_refuse(out, "engine", "%s", "out of memory");
}

/* After every query, whatever happened: ROLLBACK, then DISCARD ALL (a session advisory lock,
 * a cursor, a prepared statement, a temporary table or a setting the query left goes with it).
 * A connection left in any other state is made anew. */
static void query_end(ro_pg *r)
{
    if (PQstatus(r->c) != CONNECTION_OK)
        return; /* lost, or shut by the watchdog: made again at the next query */
    for (int i = 0;
         i < 3 && PQstatus(r->c) == CONNECTION_OK && PQtransactionStatus(r->c) != PQTRANS_IDLE; i++)
        run(r->c, "ROLLBACK", NULL, 0);
    bool ok = PQstatus(r->c) == CONNECTION_OK && PQtransactionStatus(r->c) == PQTRANS_IDLE &&
              (run(r->c, "DISCARD ALL", NULL, 0) || run(r->c, "DISCARD ALL", NULL, 0));
    if (!ok)
        PQreset(r->c);
}

/* Does the server still run the statement of the connection given up on (r->abandoned, its
 * backend's pid)? Asked on r->c as the store's account. 1 yes, 0 no (then forgotten), -1
 * unknown. Past STORE_RO_ABANDONED_SEC it is forgotten unasked. */
static int abandoned_running(ro_pg *r)
{
    if (!r->abandoned)
        return 0;
    if (cq_clock_mono_sec() - r->abandoned_at > STORE_RO_ABANDONED_SEC) {
        r->abandoned = 0;
        return 0;
    }
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", r->abandoned);
    const char *pv[1] = {pid};
    int running = -1;
    for (int i = 0; i < 2; i++) { /* twice: a backend that has just ended is gone in a moment */
        if (i)
            cq_clock_sleep(0.2);
        PGresult *x = PQexecParams(r->c, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", 1,
                                   NULL, pv, NULL, NULL, 0);
        running = PQresultStatus(x) == PGRES_TUPLES_OK && PQntuples(x) == 1
                      ? strcmp(PQgetvalue(x, 0, 0), "0") != 0
                      : -1;
        PQclear(x);
        if (running != 1)
            break;
    }
    if (running == 0)
        r->abandoned = 0;
    return running;
}

/* One try of the query under the watchdog, on a connection that answers. *cut: the watchdog
 * shut the connection (the server did not stop the statement at its time). */
static int query_watched(ro_pg *r, const char *sql, const store_ro_limits *lim, const char *scope,
                         store_ro_result *out, bool *sent, bool *cut)
{
    double t0 = cq_clock_mono_sec();
    int pid = PQbackendPID(r->c);
    store_ro_watch w; /* no kill of its own: statement_timeout is the server's cancel already */
    if (store_ro_watch_start(&w, PQsocket(r->c), t0 + lim->timeout_sec + STORE_RO_KILL_AFTER,
                             t0 + lim->timeout_sec + STORE_RO_CUT_AFTER, NULL, NULL))
        return store_ro_refuse(out, "engine", "%s", "cannot start the watchdog thread");
    int rc = query_tx(r, sql, lim, scope, out, sent);
    query_end(r);
    store_ro_watch_stop(&w);
    *cut = w.cut;
    if (w.cut) { /* the backend may still run it: this connection waits for its end */
        r->abandoned = pid;
        r->abandoned_at = cq_clock_mono_sec();
        store_ro_result_free(out);
        memset(out, 0, sizeof(*out));
        char t[64];
        snprintf(t, sizeof(t), "%.1f", lim->timeout_sec);
        return store_ro_refuse(out, "timeout",
                               "cut off after its %s s by the watchdog: the server did not stop "
                               "it (PostgreSQL does not check its time limit inside one call of "
                               "strpos, replace, LIKE or btrim): the connection was shut, and the "
                               "server may still be running it",
                               t);
    }
    return rc;
}

static int pg_query(store_ro *base, const char *sql, const store_ro_limits *lim,
                    store_ro_result *out)
{
    ro_pg *r = (ro_pg *)base;
    if (strlen(sql) > MAX_SQL)
        return store_ro_refuse(out, "prepare", "%s", "the statement is longer than 100000 bytes");
    char *scope = scope_text(lim->scope, out);
    if (!scope)
        return -1;
    int rc = -1;
    bool sent = false, cut = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (PQstatus(r->c) != CONNECTION_OK)
            PQreset(r->c); /* lost since the last query, or shut by the watchdog */
        if (PQstatus(r->c) != CONNECTION_OK) {
            char err[300];
            first_line(err, sizeof(err), PQerrorMessage(r->c));
            rc = store_ro_refuse(out, "engine", "the store is unreachable: %s", err);
            break;
        }
        /* one statement the server would not stop at a time per connection, at most */
        if (abandoned_running(r) == 1) {
            char ago[32];
            snprintf(ago, sizeof(ago), "%.0f", cq_clock_mono_sec() - r->abandoned_at);
            rc = store_ro_refuse(out, "timeout",
                                 "the server still runs the statement given up on %s s ago "
                                 "(PostgreSQL does not check its time limit inside one call of "
                                 "strpos, replace, LIKE or btrim): no query here until it ends",
                                 ago);
            break;
        }
        memset(out, 0, sizeof(*out));
        rc = query_watched(r, sql, lim, scope, out, &sent, &cut);
        /* once more only when the connection was lost before the statement was sent (the
         * server restarted, the backend was ended) */
        if (!rc || sent || cut)
            break;
    }
    free(scope);
    return rc;
}

static void pg_close(store_ro *base)
{
    ro_pg *r = (ro_pg *)base;
    PQfinish(r->c);
    free(r->schema);
    free(r->role);
    free(r->q_schema);
    free(r->q_role);
    free(r);
}

store_ro *store_ro_open_pg(const store_ro_pg_config *c, char *msg, size_t n)
{
    if (!c || !c->conninfo || !c->allow || !c->allow[0]) {
        snprintf(msg, n, "the PostgreSQL store's URI and an allow-list are needed");
        return NULL;
    }
    if (db_pg_check_passfile(c->conninfo, msg, n) != 0)
        return NULL;
    ro_pg *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(msg, n, "out of memory");
        return NULL;
    }
    r->base.kind = "postgresql";
    r->base.query = pg_query;
    r->base.close = pg_close;
    r->schema = strdup(c->schema && *c->schema ? c->schema : "callqa_ask");
    r->role = strdup(c->role && *c->role ? c->role : "callqa_ask");
    /* the URI's own settings win over these, but for the encoding (later keywords win) */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                                NULL};
    const char *const vals[] = {"5", "callqa-ask", c->conninfo, "UTF8", NULL};
    r->c = PQconnectdbParams(keys, vals, 1);
    if (!r->c || PQstatus(r->c) != CONNECTION_OK) {
        char err[300];
        first_line(err, sizeof(err), r->c ? PQerrorMessage(r->c) : "out of memory");
        snprintf(msg, n, "cannot connect to the PostgreSQL store: %s", err);
        pg_close(&r->base);
        return NULL;
    }
    PQsetNoticeProcessor(r->c, quiet_notice, NULL);
    r->q_schema = r->schema ? quote_ident(r->c, r->schema) : NULL;
    r->q_role = r->role ? quote_ident(r->c, r->role) : NULL;
    char *nsp = NULL, *views = NULL;
    sbuf what = {0}, fix = {0};
    int rc = -1;
    if (!r->q_schema || !r->q_role)
        snprintf(msg, n, "out of memory");
    else if (setup(r, c->allow, &nsp, &views, &what, &fix, msg, n) == 0)
        rc = verify(r, nsp, views, &what, &fix, msg, n);
    free(what.p);
    free(fix.p);
    free(nsp);
    free(views);
    if (rc != 0) {
        pg_close(&r->base);
        return NULL;
    }
    return &r->base;
}
