/*
 * store_ro_sqlite.c - read-only queries over a SQLite store, for a caller that runs SQL it did not
 * write (POST /ask's QA-store source; docs/ask/sources.md). Writes are impossible by construction,
 * in layers that each hold on their own, the database engine's first:
 *
 *   open           a connection of its own, SQLITE_OPEN_READONLY, PRAGMA query_only,
 *                  SQLITE_DBCONFIG_DEFENSIVE, no extension loading, no fts3_tokenizer, no
 *                  attached database (SQLITE_LIMIT_ATTACHED 0), trusted_schema off;
 *   authorizer     only SELECT, reads of the allow-listed table.column pairs of the main
 *                  database (a name that is none of its tables or views is a CTE's or a
 *                  subquery's, whose own reads are checked one by one), the allow-listed
 *                  functions, recursive CTEs (cut off by the time limit); everything else
 *                  (ATTACH, PRAGMA, writes, transactions, DDL) denied while the statement is
 *                  prepared;
 *   one_statement  exactly one statement: nothing but white space and comments after it;
 *   readonly       sqlite3_stmt_readonly;
 *   timeout        a progress handler that interrupts the statement past its time, every 100
 *                  steps of the program; a step that calls a function is one step, so no call
 *                  may take long on its own (below);
 *   size           every value at most STORE_RO_VALUE_BYTES (SQLITE_LIMIT_LENGTH): a function
 *                  of the list whose time grows with one argument's length is linear in it;
 *                  the few whose time grows with the product of two arguments' lengths
 *                  (k_product: instr, replace, trim with a set, LIKE, GLOB) run through a
 *                  bounded call of SQLite's own, refused when the product at its measured
 *                  cost would pass STORE_RO_CALL_SEC, and past the query's time;
 *   scope          a caller with a scope (limits.scope) is refused: nothing here narrows rows;
 *   rows, bytes    the answer cut at its caps (said, not failed).
 *
 * The refusing layer is named in the result. This file is the store's: only store code includes a
 * database header.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_ro_int.h"
#include "callqa/cq_clock.h"

typedef struct ro_sqlite {
    store_ro base; /* first: a store_ro * is a ro_sqlite * */
    sqlite3 *h;
    char **allow; /* "table.column" or "table.*", lower case */
    size_t n_allow;
    char denied[200]; /* the authorizer's last reason */
    char **tables;    /* the store's tables and views now (a name not among them is a CTE's or
                         a subquery's, whose own reads are authorized one by one) */
    size_t n_tables;
    double deadline; /* monotonic seconds; the progress handler's */
    sqlite3 *fn_db;  /* a private in-memory connection: SQLite's own product functions */
    struct bounded {
        struct ro_sqlite *r;
        const struct product_fn *f;
        sqlite3_stmt *st; /* "SELECT f(?1, ...)" on fn_db */
    } bounded[8];
} ro_sqlite;

/* What one call of a function costs, as the time limit sees it: the progress handler runs
 * between the program's steps, never inside a call, so every function a query may call must end
 * soon on its own. LINEAR: in the length of its arguments and its result (each at most
 * STORE_RO_VALUE_BYTES); PRODUCT: in the product of two arguments' lengths (a search of one
 * text in another, a pattern over a text): run through k_product's bounded call. */
typedef enum fn_cost { FN_LINEAR, FN_PRODUCT } fn_cost;

/* the functions a query may call: aggregates, scalars over values, dates; nothing that reads
 * files, loads code, allocates at will (zeroblob, randomblob) or reaches the engine's state.
 * A function added here states its cost; a PRODUCT one needs its rows in k_product. */
static const struct allowed_fn {
    const char *name;
    fn_cost cost;
} k_functions[] = {
    {"count", FN_LINEAR},        {"sum", FN_LINEAR},       {"avg", FN_LINEAR},
    {"min", FN_LINEAR},          {"max", FN_LINEAR},       {"total", FN_LINEAR},
    {"group_concat", FN_LINEAR}, /* its result at most STORE_RO_VALUE_BYTES */
    {"round", FN_LINEAR},        {"abs", FN_LINEAR},       {"coalesce", FN_LINEAR},
    {"ifnull", FN_LINEAR},       {"nullif", FN_LINEAR},    {"iif", FN_LINEAR},
    {"lower", FN_LINEAR},        {"upper", FN_LINEAR},     {"length", FN_LINEAR},
    {"substr", FN_LINEAR},       {"substring", FN_LINEAR}, {"trim", FN_PRODUCT},
    {"ltrim", FN_PRODUCT},       {"rtrim", FN_PRODUCT},    {"replace", FN_PRODUCT},
    {"instr", FN_PRODUCT},       {"like", FN_PRODUCT},     {"glob", FN_PRODUCT},
    {"date", FN_LINEAR},         {"time", FN_LINEAR},      {"datetime", FN_LINEAR},
    {"julianday", FN_LINEAR},    {"strftime", FN_LINEAR},  {"unixepoch", FN_LINEAR},
    {"printf", FN_LINEAR}, /* its result at most STORE_RO_VALUE_BYTES, width and precision too */
    {"format", FN_LINEAR},       {"cast", FN_LINEAR},      {"typeof", FN_LINEAR},
};

/* The PRODUCT functions, each form whose cost is a product: the two arguments whose lengths
 * multiply (a and b), the CPU time of one unit of that product, and SQLite's own function
 * called on the private connection when the product at that cost is within STORE_RO_CALL_SEC
 * (trim(X) of one argument is linear: not replaced). The costs were measured with SQLite 3.40's
 * shell on the worst inputs (a needle or pattern that matches but for its last byte, a set whose
 * match is its last character) on a 2-core machine, and rounded up: instr 0.027 ns and replace
 * 0.031 ns a unit (memcmp), LIKE 2.47 ns, GLOB 1.76 ns (1.2 ns a byte of [classes]), trim
 * 4.6 ns. */
static const struct product_fn {
    const char *name;
    int nargs, a, b;
    double unit_ns;
    const char *sql;
} k_product[] = {
    {"instr", 2, 0, 1, 0.03, "SELECT instr(?1, ?2)"},
    {"replace", 3, 0, 1, 0.035, "SELECT replace(?1, ?2, ?3)"},
    {"trim", 2, 0, 1, 5.0, "SELECT trim(?1, ?2)"},
    {"ltrim", 2, 0, 1, 5.0, "SELECT ltrim(?1, ?2)"},
    {"rtrim", 2, 0, 1, 5.0, "SELECT rtrim(?1, ?2)"},
    {"like", 2, 0, 1, 2.5, "SELECT like(?1, ?2)"}, /* X LIKE Y is like(Y, X) */
    {"like", 3, 0, 1, 2.5, "SELECT like(?1, ?2, ?3)"},
    {"glob", 2, 0, 1, 2.0, "SELECT glob(?1, ?2)"},
};
#define N_PRODUCT (sizeof(k_product) / sizeof(k_product[0]))
#define N_FUNCTIONS (sizeof(k_functions) / sizeof(k_functions[0]))
static_assert(N_PRODUCT <= sizeof(((ro_sqlite *)0)->bounded) / sizeof(((ro_sqlite *)0)->bounded[0]),
              "a bounded call per k_product row");

static bool allowed_column(const ro_sqlite *r, const char *table, const char *column)
{
    char key[300];
    for (size_t i = 0; i < r->n_allow; i++) {
        const char *a = r->allow[i];
        snprintf(key, sizeof(key), "%s.*", table);
        if (!strcasecmp(a, key))
            return true;
        snprintf(key, sizeof(key), "%s.%s", table, column);
        if (column[0] && !strcasecmp(a, key))
            return true;
        /* count(*) reads no column: the table is enough when any of its columns is allowed */
        if (!column[0] && !strncasecmp(a, table, strlen(table)) && a[strlen(table)] == '.')
            return true;
    }
    return false;
}

static int authorize(void *u, int action, const char *a1, const char *a2, const char *db,
                     const char *trigger);
static int sqlite_query(store_ro *base, const char *sql, const store_ro_limits *lim,
                        store_ro_result *out);

/* A table or view of the store (or its schema table): not a CTE's or a subquery's name. */
static bool real_table(const ro_sqlite *r, const char *name)
{
    if (!strncasecmp(name, "sqlite_", 7))
        return true;
    for (size_t i = 0; i < r->n_tables; i++)
        if (!strcasecmp(r->tables[i], name))
            return true;
    return false;
}

static void tables_free(ro_sqlite *r)
{
    for (size_t i = 0; i < r->n_tables; i++)
        free(r->tables[i]);
    free(r->tables);
    r->tables = NULL;
    r->n_tables = 0;
}

/* The store's tables and views, read again before each query (another process may have added
 * one since), with the authorizer off for this one statement of our own. -1 when they cannot be
 * read: the query is then refused. */
static int tables_load(ro_sqlite *r)
{
    tables_free(r);
    sqlite3_set_authorizer(r->h, NULL, NULL);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        r->h, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')", -1, &st, NULL);
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        char **nt = realloc(r->tables, (r->n_tables + 1) * sizeof(*nt));
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!nt || !name || !(nt[r->n_tables] = strdup(name))) {
            if (nt)
                r->tables = nt;
            rc = SQLITE_NOMEM;
            break;
        }
        r->tables = nt;
        r->n_tables++;
    }
    sqlite3_finalize(st);
    sqlite3_set_authorizer(r->h, authorize, r);
    return rc == SQLITE_OK ? 0 : -1;
}

static int authorize(void *u, int action, const char *a1, const char *a2, const char *db,
                     const char *trigger)
{
    (void)trigger;
    ro_sqlite *r = u;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_READ:
        if ((!db || !strcmp(db, "main")) && a1 &&
            (allowed_column(r, a1, a2 ? a2 : "") || !real_table(r, a1)))
            return SQLITE_OK;
        snprintf(r->denied, sizeof(r->denied), "reading %s.%s is not allowed", a1 ? a1 : "?",
                 a2 && *a2 ? a2 : "*");
        return SQLITE_DENY;
    case SQLITE_FUNCTION:
        for (size_t i = 0; i < N_FUNCTIONS; i++)
            if (a2 && !strcasecmp(a2, k_functions[i].name))
                return SQLITE_OK;
        snprintf(r->denied, sizeof(r->denied), "the function %s is not allowed", a2 ? a2 : "?");
        return SQLITE_DENY;
    default:
        snprintf(r->denied, sizeof(r->denied), "action %d (%s%s%s) is not allowed: only SELECT",
                 action, a1 ? a1 : "", a2 ? " " : "", a2 ? a2 : "");
        return SQLITE_DENY;
    }
}

static int progress(void *u)
{
    const ro_sqlite *r = u;
    return cq_clock_mono_sec() > r->deadline; /* non-zero interrupts the statement */
}

/* A PRODUCT function's call: refused past the query's time (the progress handler cannot see
 * inside a step, and one step may call several) and when it would take more than
 * STORE_RO_CALL_SEC, else SQLite's own function on the private connection, with the same
 * arguments, and its result or error. */
static void bounded_call(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct bounded *b = sqlite3_user_data(ctx);
    const struct product_fn *f = b->f;
    if (cq_clock_mono_sec() > b->r->deadline) {
        sqlite3_result_error(ctx, "interrupted", -1);
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
        return;
    }
    for (int i = 0; i < argc; i++) /* copies, with their types, before any conversion below */
        sqlite3_bind_value(b->st, i + 1, argv[i]);
    double na = sqlite3_value_bytes(argv[f->a]), nb = sqlite3_value_bytes(argv[f->b]);
    double sec = na * nb * f->unit_ns * 1e-9;
    if (sec > STORE_RO_CALL_SEC) {
        char m[200];
        snprintf(m, sizeof(m),
                 "%s() over %.0f and %.0f bytes: one call would take about %.2g s (its time grows "
                 "with the product of their lengths), past the bound of %g s",
                 f->name, na, nb, sec, STORE_RO_CALL_SEC);
        sqlite3_result_error(ctx, m, -1);
        sqlite3_result_error_code(ctx, SQLITE_TOOBIG);
    } else if (sqlite3_step(b->st) == SQLITE_ROW) {
        sqlite3_result_value(ctx, sqlite3_column_value(b->st, 0));
    } else {
        sqlite3_result_error(ctx, sqlite3_errmsg(b->r->fn_db), -1);
        sqlite3_result_error_code(ctx, sqlite3_errcode(b->r->fn_db));
    }
    sqlite3_reset(b->st);
    sqlite3_clear_bindings(b->st);
}

/* The private connection and SQLite's own PRODUCT functions over it, then the connection's
 * functions of those names replaced by their bounded calls. 0, or -1. */
static int bounded_setup(ro_sqlite *r)
{
    for (size_t i = 0; i < N_FUNCTIONS; i++) { /* every PRODUCT function has its bounded call */
        bool found = k_functions[i].cost == FN_LINEAR;
        for (size_t j = 0; j < N_PRODUCT && !found; j++)
            found = !strcmp(k_product[j].name, k_functions[i].name);
        assert(found);
        if (!found)
            return -1;
    }
    if (sqlite3_open_v2(":memory:", &r->fn_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return -1;
    sqlite3_limit(r->fn_db, SQLITE_LIMIT_LENGTH, STORE_RO_VALUE_BYTES);
    for (size_t i = 0; i < N_PRODUCT; i++) {
        struct bounded *b = &r->bounded[i];
        b->r = r;
        b->f = &k_product[i];
        if (sqlite3_prepare_v3(r->fn_db, k_product[i].sql, -1, SQLITE_PREPARE_PERSISTENT, &b->st,
                               NULL) != SQLITE_OK ||
            sqlite3_create_function_v2(r->h, k_product[i].name, k_product[i].nargs,
                                       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, b,
                                       bounded_call, NULL, NULL, NULL) != SQLITE_OK)
            return -1;
    }
    return 0;
}

static void sqlite_close(store_ro *base)
{
    ro_sqlite *r = (ro_sqlite *)base;
    sqlite3_close(r->h);
    for (size_t i = 0; i < N_PRODUCT; i++)
        sqlite3_finalize(r->bounded[i].st);
    sqlite3_close(r->fn_db);
    tables_free(r);
    for (size_t i = 0; i < r->n_allow; i++)
        free(r->allow[i]);
    free(r->allow);
    free(r);
}

store_ro *store_ro_open_sqlite(const char *path, const char *const *allow, char *msg, size_t n)
{
    ro_sqlite *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(msg, n, "out of memory");
        return NULL;
    }
    r->base.kind = "sqlite";
    r->base.query = sqlite_query;
    r->base.close = sqlite_close;
    for (const char *const *a = allow; a && *a; a++)
        r->n_allow++;
    r->allow = calloc(r->n_allow + 1, sizeof(char *));
    for (size_t i = 0; r->allow && i < r->n_allow; i++)
        if (!(r->allow[i] = strdup(allow[i])))
            r->n_allow = i;
    int on = 0;
    if (!r->allow ||
        sqlite3_open_v2(path, &r->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_db_config(r->h, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on ||
        sqlite3_db_config(r->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on) != SQLITE_OK || on ||
        sqlite3_db_config(r->h, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, &on) != SQLITE_OK || on ||
        sqlite3_db_config(r->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) != SQLITE_OK || on ||
        sqlite3_exec(r->h, "PRAGMA query_only = 1;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(r->h, 2000) != SQLITE_OK) {
        snprintf(msg, n, "%s: %s", path, r->h ? sqlite3_errmsg(r->h) : "out of memory");
        sqlite_close(&r->base);
        return NULL;
    }
    if (bounded_setup(r) != 0) {
        snprintf(msg, n, "%s: the bounded functions: %s", path,
                 r->fn_db ? sqlite3_errmsg(r->fn_db) : "out of memory");
        sqlite_close(&r->base);
        return NULL;
    }
    sqlite3_limit(r->h, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(r->h, SQLITE_LIMIT_SQL_LENGTH, 100000);
    sqlite3_limit(r->h, SQLITE_LIMIT_LENGTH, STORE_RO_VALUE_BYTES);
    /* set last: the pragmas above ran before it */
    sqlite3_set_authorizer(r->h, authorize, r);
    sqlite3_progress_handler(r->h, 100, progress, r);
    return &r->base;
}

/* One value as JSON: integer, real, text (bytes that are not UTF-8 are refused by jansson:
 * null then), a blob as its length. */
static json_t *value_of(sqlite3_stmt *st, int i, size_t *bytes)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: *bytes += 8; return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: *bytes += 8; return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT: {
        int len = sqlite3_column_bytes(st, i);
        *bytes += (size_t)len;
        json_t *s = json_stringn((const char *)sqlite3_column_text(st, i), (size_t)len);
        return s ? s : json_null();
    }
    case SQLITE_BLOB:
        *bytes += 8;
        return json_pack("{s:i}", "blob_bytes", sqlite3_column_bytes(st, i));
    default: return json_null();
    }
}

static int sqlite_query(store_ro *base, const char *sql, const store_ro_limits *lim,
                        store_ro_result *out)
{
    ro_sqlite *r = (ro_sqlite *)base;
    r->denied[0] = 0;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    /* no curated views here to narrow the rows to a caller's campaigns: a scoped caller is
     * refused, never shown every call (PostgreSQL's views take the scope) */
    if (lim->scope && strcmp(lim->scope, "*"))
        return store_ro_refuse(out, "scope", "%s",
                               "the SQLite store cannot narrow a query to the caller's scope "
                               "(the PostgreSQL store's views do)");
    r->deadline = cq_clock_mono_sec() + (lim->timeout_sec > 0 ? lim->timeout_sec : 10);
    if (tables_load(r) != 0)
        return store_ro_refuse(out, "authorizer", "%s", "the store's tables cannot be listed");
    int rc = sqlite3_prepare_v3(r->h, sql, -1, 0, &st, &tail);
    if (rc != SQLITE_OK) {
        const char *why = r->denied[0] ? r->denied : sqlite3_errmsg(r->h);
        bool auth = rc == SQLITE_AUTH || r->denied[0];
        return store_ro_refuse(out, auth ? "authorizer" : "prepare", "%s", why);
    }
    if (!st)
        return store_ro_refuse(out, "one_statement", "%s", "no statement");
    /* nothing after the one statement but white space and comments */
    for (const char *p = tail; p && *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            sqlite3_finalize(st);
            return store_ro_refuse(out, "one_statement", "%s", "more than one statement");
        }
    }
    if (!sqlite3_stmt_readonly(st)) {
        sqlite3_finalize(st);
        return store_ro_refuse(out, "readonly", "%s", "the statement would write");
    }
    int nc = sqlite3_column_count(st);
    if (nc > STORE_RO_MAX_COLUMNS) { /* each value up to STORE_RO_VALUE_BYTES, held at once */
        sqlite3_finalize(st);
        return store_ro_refuse(out, "size", "%s", "more than 100 columns in a row");
    }
    json_t *cols = json_array(), *rows = json_array();
    for (int i = 0; i < nc; i++)
        json_array_append_new(cols, json_string(sqlite3_column_name(st, i)));
    size_t bytes = 0;
    int max_rows = lim->max_rows > 0 ? lim->max_rows : 50;
    size_t max_bytes = lim->max_bytes ? lim->max_bytes : 1 << 20;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->rows >= max_rows || bytes > max_bytes) {
            out->truncated = true;
            break;
        }
        json_t *row = json_array();
        for (int i = 0; i < nc; i++)
            json_array_append_new(row, value_of(st, i, &bytes));
        json_array_append_new(rows, row);
        out->rows++;
    }
    int failed = rc != SQLITE_ROW && rc != SQLITE_DONE;
    bool interrupted = (rc & 0xff) == SQLITE_INTERRUPT, too_big = (rc & 0xff) == SQLITE_TOOBIG;
    char why[300];
    snprintf(why, sizeof(why), "%s", sqlite3_errmsg(r->h));
    sqlite3_finalize(st);
    if (failed) {
        json_decref(cols);
        json_decref(rows);
        if (interrupted) {
            char t[64];
            snprintf(t, sizeof(t), "%.1f", lim->timeout_sec > 0 ? lim->timeout_sec : 10.0);
            return store_ro_refuse(out, "timeout", "cut off after its %s s", t);
        }
        if (too_big)
            return store_ro_refuse(out, "size", "%s", why);
        return store_ro_refuse(out, "engine", "%s", why);
    }
    json_t *o =
        json_pack("{s:o,s:o,s:b}", "columns", cols, "rows", rows, "truncated", out->truncated);
    out->json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out->json ? 0 : store_ro_refuse(out, "engine", "%s", "out of memory");
}
