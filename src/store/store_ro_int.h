/*
 * store_ro_int.h - the insides of the read-only query connections (store_ro*.c): each backend's
 * object starts with a store_ro, whose functions store_ro_query and store_ro_close call. Nothing
 * outside src/store/ includes it.
 */
#ifndef CQ_STORE_RO_INT_H
#define CQ_STORE_RO_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "callqa/cq_clock.h"
#include "store_ro.h"

struct store_ro {
    const char *kind; /* "sqlite", "postgresql", "mariadb" */
    /* out is zeroed; 0 with out->json, or -1 with out->layer and out->error */
    int (*query)(store_ro *r, const char *sql, const store_ro_limits *lim, store_ro_result *out);
    void (*close)(store_ro *r); /* frees r */
};

/* The SQLite source's bounds on one call of a function (store_ro_sqlite.c, docs/ask/sources.md): a
 * value (a text, a blob, a function's result) at most STORE_RO_VALUE_BYTES; a function whose time
 * grows with the product of two arguments' lengths refused when that product at its measured
 * cost a unit would pass STORE_RO_CALL_SEC of CPU; a row at most STORE_RO_MAX_COLUMNS
 * values. */
#define STORE_RO_VALUE_BYTES (1 << 20)
#define STORE_RO_CALL_SEC 0.1
#define STORE_RO_MAX_COLUMNS 100

/* A statement the server may not stop at its time: the limits hold between the steps of a
 * server's work, and none of the three engines stops inside one call of some functions
 * (PostgreSQL's strpos, replace, LIKE, btrim; MariaDB's LOCATE, LIKE, REPLACE;
 * docs/ask/sources.md). The watchdog bounds the caller's wait whatever the server does: at kill_at
 * (monotonic s) it calls kill(u) (the engine's own cancel, from a thread of its own), and at cut_at
 * it shuts the connection's socket, so that the read the caller is blocked in returns at once; the
 * caller then drops the connection (cut) and makes a new one. */
typedef struct store_ro_watch {
    int fd; /* the connection's socket */
    void (*kill)(void *u);
    void *u;
    double kill_at, cut_at;
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, fired, cut; /* fired: kill was called; cut: the socket was shut */
} store_ro_watch;
/* 0, or -1 when no thread could be started. */
int store_ro_watch_start(store_ro_watch *w, int fd, double kill_at, double cut_at,
                         void (*kill)(void *u), void *u);
/* The statement ended (or was given up): the thread joined; w->fired and w->cut say what it
 * did. */
void store_ro_watch_stop(store_ro_watch *w);
/* After a cut, the server's work may go on (a call it does not interrupt): the bound on the
 * caller's wait past the time limit, and how long a source keeps refusing while the server
 * still runs a statement it gave up on (STORE_RO_ABANDONED_SEC: then it is not asked again). */
#define STORE_RO_KILL_AFTER 0.3
#define STORE_RO_CUT_AFTER 0.8
#define STORE_RO_ABANDONED_SEC 3600.0

/* out->layer = layer, out->error = fmt with why; returns -1. */
int store_ro_refuse(store_ro_result *out, const char *layer, const char *fmt, const char *why);
/* The limits with their defaults filled in (50 rows, 1 MiB, 10 s, 1e6 estimated rows). */
store_ro_limits store_ro_limits_of(const store_ro_limits *lim);

#endif /* CQ_STORE_RO_INT_H */
