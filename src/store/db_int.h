/*
 * db_int.h - what a database backend gives db.c (db.h): its functions, in a table. Each backend
 * (db_sqlite.c, db_pg.c) keeps its own connection and statement types; every statement of a
 * backend starts with a pointer to that backend's table, so that db.c can route a statement's
 * calls without knowing whose it is. Only db.c and the db_*.c files include this header.
 */
#ifndef CQ_DB_INT_H
#define CQ_DB_INT_H

#include "db.h"

typedef struct db_ops {
    db_dialect dialect;
    void *(*open)(const char *uri, char *msg, size_t msgsz);
    void (*close)(void *h);
    const char *(*errmsg)(void *h);
    bool (*retryable)(void *h);
    int (*exec)(void *h, const char *sql);
    /* key: 0 to DB_MAX_STMTS - 1 (db.c checks it) */
    db_stmt *(*stmt_get)(void *h, int key, const char *sql);
    void (*bind_int)(db_stmt *s, int n, int64_t v);
    void (*bind_double)(db_stmt *s, int n, double v);
    void (*bind_text)(db_stmt *s, int n, const char *v);
    void (*bind_null)(db_stmt *s, int n);
    int (*step)(db_stmt *s);
    int64_t (*col_int)(db_stmt *s, int i);
    double (*col_double)(db_stmt *s, int i);
    const char *(*col_text)(db_stmt *s, int i);
    bool (*col_null)(db_stmt *s, int i);
    int (*col_count)(db_stmt *s);
    const char *(*col_name)(db_stmt *s, int i);
    int (*col_type)(db_stmt *s, int i);
    void (*reset)(db_stmt *s);
    int64_t (*changes)(void *h);
    int (*begin)(void *h);
    int (*commit)(void *h);
    void (*rollback)(void *h);
} db_ops;

/* The head of every backend's statement. */
struct db_stmt {
    const db_ops *ops;
};

extern const db_ops db_sqlite_ops;
extern const db_ops db_pg_ops;

#endif /* CQ_DB_INT_H */
