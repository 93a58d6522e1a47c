/*
 * store_ro.h - read-only connections for the SQL of POST /ask (docs/ask/sources.md): to the QA
 * store and to ViciDial's database, each refusing writes in layers its database engine holds. It
 * needs no store handle: a connection is opened from a path, a URI or a server's address.
 *
 * Consumers: the /ask loop (src/ask: ask.h, ask.c, ask_policy.c, ask_prom.c: the result type);
 * the service, which opens the connections (src/service/svc_ask.c).
 */
#ifndef CQ_STORE_RO_H
#define CQ_STORE_RO_H

#include <stdbool.h>
#include <stddef.h>

/* ---- read-only queries (store_ro*.c; POST /ask, docs/ask/sources.md) ------------------------
 *
 * A connection of its own on which no query can write, whoever wrote the query: each backend's
 * database engine refuses writes in layers that each hold on their own, and the refusing layer is
 * named in the result. The backends:
 *   sqlite      store_ro_sqlite.c: opened read-only and defensive, an authorizer that allows
 *               SELECT, the allow-listed columns ("table.column" or "table.*") and functions
 *               only, one statement, sqlite3_stmt_readonly, a time limit;
 *   postgresql  store_ro_pg.c: the QA store's curated views (a schema of views over the
 *               allow-listed columns, read by a role with SELECT on them only, set_config, the
 *               large objects, dblink and the server's files out of its reach, checked at
 *               open), BEGIN READ ONLY, SET LOCAL statement_timeout, the caller's scope as a
 *               bound parameter, one statement (the extended protocol) that returns rows, an
 *               EXPLAIN estimate cap;
 *   mariadb     store_ro_my.c: ViciDial's database on a replica: an account checked at open to
 *               hold no write or FILE privilege and no readable column outside the allow-list,
 *               a read-only transaction, no multi-statements, max_statement_time and a KILL
 *               QUERY watchdog, an EXPLAIN estimate cap.
 * Layer names: "authorizer", "prepare", "one_statement", "readonly", "explain", "privilege",
 * "read_only_server", "read_only_transaction", "timeout", "allow_list", "engine"
 * (docs/ask/sources.md says which backend uses which).
 */
typedef struct store_ro store_ro;
typedef struct store_ro_limits {
    int max_rows;        /* 0: 50 */
    size_t max_bytes;    /* of the values; 0: 1 MiB */
    double timeout_sec;  /* 0: 10 */
    double max_estimate; /* the planner's row estimate above which a query is refused ("explain",
                            PostgreSQL and MariaDB); 0: 1e6 */
    const char *scope;   /* the caller's scope (JSON text, a bound parameter of the views), or
                            NULL: every call. PostgreSQL: {"campaigns": ["id", ...]}, the calls
                            of those campaigns and the rows of those calls (refused, layer
                            "scope", when it is anything else) */
} store_ro_limits;
typedef struct store_ro_result {
    char *json;      /* {"columns": [...], "rows": [[...]], "truncated": bool} (free with
                        store_ro_result_free) */
    int rows;        /* rows returned */
    bool truncated;  /* cut at max_rows or max_bytes */
    char layer[24];  /* refused: the layer's name (above) */
    char error[300]; /* why */
} store_ro_result;

/* SQLite: the store's file, the allow-list (NULL-terminated). NULL with msg. */
store_ro *store_ro_open_sqlite(const char *path, const char *const *allow, char *msg, size_t n);

/* PostgreSQL: the QA store through its curated views, made (or brought up to date) at open by
 * the store's account, with the role, then checked; NULL with msg naming what the role can
 * reach and the SQL an administrator must run when the account may not do it all. */
typedef struct store_ro_pg_config {
    const char *conninfo;     /* the store's PostgreSQL URI (its password from PGPASSFILE or
                                 the URI's password_file handling of db_pg.c) */
    const char *const *allow; /* the views' columns: "table.column" or "table.*" */
    const char *schema;       /* the views' schema; NULL: "callqa_ask" */
    const char *role;         /* the role that reads them; NULL: "callqa_ask" */
} store_ro_pg_config;
store_ro *store_ro_open_pg(const store_ro_pg_config *c, char *msg, size_t n);

/* MariaDB: ViciDial's database, on a replica. */
typedef struct store_ro_my_config {
    const char *host;
    unsigned port; /* 0: 3306 */
    const char *user, *password, *db;
    const char *const *allow; /* "table.column" or "table.*": the columns the account may read */
    const char *const *never; /* "table.column": credential columns, refused whatever allow says */
    bool primary; /* true: the server may be a primary (not read-only): 2 s per statement */
} store_ro_my_config;
store_ro *store_ro_open_mariadb(const store_ro_my_config *c, char *msg, size_t n);
/* ViciDial's credential columns ("table.column", NULL-terminated; docs/ask/sources.md): refused by
 * store_ro_open_mariadb whatever the allow-list and c->never say. */
extern const char *const store_ro_vicidial_never[];

/* The backend: "sqlite", "postgresql" or "mariadb". */
const char *store_ro_kind(const store_ro *r);
/* 0 with out->json; -1 refused or failed, out->layer and out->error say which and why. */
int store_ro_query(store_ro *r, const char *sql, const store_ro_limits *lim, store_ro_result *out);
void store_ro_result_free(store_ro_result *out);
void store_ro_close(store_ro *r);

#endif /* CQ_STORE_RO_H */
