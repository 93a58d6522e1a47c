/*
 * db.h - the thin database layer under the store (store.h): a connection, statements with bound
 * parameters, rows, transactions, for SQLite (db_sqlite.c) and PostgreSQL (db_pg.c) behind the
 * same functions (db.c picks by the URI). Only the files of src/store/ include this header, and
 * only the db_*.c files include a database library's header.
 *
 * SQL is written once where the dialects agree: parameters are $1, $2, ... (SQLite reads them as
 * named parameters, bound here by number), RETURNING, ON CONFLICT DO NOTHING/UPDATE. Where they
 * differ, the store picks by db_dialect(). Values are never put into SQL text.
 *
 * Thread safety: a connection belongs to one thread at a time (the store locks around it).
 */
#ifndef CQ_DB_H
#define CQ_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum db_dialect { DB_SQLITE = 1, DB_PG = 2 } db_dialect;

typedef struct db db;
typedef struct db_stmt db_stmt;

enum { DB_OK = 0, DB_ROW = 1, DB_DONE = 2, DB_ERROR = -1, DB_BUSY = -2 };

/* Open "PATH" or "sqlite:PATH" (SQLite: created when missing), or "postgresql://..." (a
 * libpq connection URI: the database must exist). NULL with msg on failure. */
db *db_open(const char *uri, char *msg, size_t msgsz);
/* Does the URI name a PostgreSQL store? */
bool db_uri_is_pg(const char *uri);
/* A PostgreSQL URI's password file (its passfile=, else PGPASSFILE), when there is one, must be
 * its owner's alone: libpq would only warn and ignore it. 0, or -1 with msg (also for a URI
 * libpq cannot parse). For the store's other connections (store_ro_pg.c). */
int db_pg_check_passfile(const char *uri, char *msg, size_t msgsz);
void db_close(db *d);
db_dialect db_get_dialect(const db *d);
/* The last error as a sentence. */
const char *db_errmsg(db *d);
/* The last failure was the connection lost before any COMMIT was sent: the transaction it was
 * in (if any) was rolled back by the server, so the same work may be run again once the
 * connection is back (SQLite: never). */
bool db_retryable(db *d);

/* Statements without parameters, several separated by ';' (schema). DB_OK or DB_ERROR. */
int db_exec(db *d, const char *sql);

/* A statement, prepared once and kept by the connection under `key` (an index below
 * DB_MAX_STMTS that names the statement: the same key must always name the same SQL). NULL on
 * error. */
#define DB_MAX_STMTS 512
db_stmt *db_stmt_get(db *d, int key, const char *sql);
/* Bind parameter $n (1-based). Text is copied. */
void db_bind_int(db_stmt *s, int n, int64_t v);
void db_bind_double(db_stmt *s, int n, double v);
void db_bind_text(db_stmt *s, int n, const char *v); /* NULL binds SQL NULL */
void db_bind_null(db_stmt *s, int n);
/* Run: DB_ROW with a row to read, DB_DONE at the end, DB_BUSY, DB_ERROR. */
int db_step(db_stmt *s);
/* The row's column i (0-based). Text is valid until the next step or reset; NULL for SQL NULL. */
int64_t db_col_int(db_stmt *s, int i);
double db_col_double(db_stmt *s, int i);
const char *db_col_text(db_stmt *s, int i);
bool db_col_null(db_stmt *s, int i);
/* The row's shape: how many columns, each one's name (its alias) and kind. */
int db_col_count(db_stmt *s);
const char *db_col_name(db_stmt *s, int i);
enum { DB_T_NULL = 0, DB_T_INT, DB_T_REAL, DB_T_TEXT };
int db_col_type(db_stmt *s, int i);
/* Done with the statement (its bindings cleared) until its next use. */
void db_reset(db_stmt *s);
/* Rows changed by the last statement. */
int64_t db_changes(db *d);

/* Transactions. begin: a write transaction taken at once (SQLite BEGIN IMMEDIATE). */
int db_begin(db *d);
int db_commit(db *d);
void db_rollback(db *d);

#endif /* CQ_DB_H */
