/*
 * store_ro_int.h - the insides of the read-only query connections (store_ro*.c): each backend's
 * object starts with a store_ro, whose functions store_ro_query and store_ro_close call. Nothing
 * outside src/store/ includes it.
 */
#ifndef CQ_STORE_RO_INT_H
#define CQ_STORE_RO_INT_H

#include "store.h"

struct store_ro {
    const char *kind; /* "sqlite", "postgresql", "mariadb" */
    /* out is zeroed; 0 with out->json, or -1 with out->layer and out->error */
    int (*query)(store_ro *r, const char *sql, const store_ro_limits *lim, store_ro_result *out);
    void (*close)(store_ro *r); /* frees r */
};

/* The SQLite source's bounds on one call of a function (store_ro_sqlite.c, docs/ask.md): a value
 * (a text, a blob, a function's result) at most STORE_RO_VALUE_BYTES; a function whose time
 * grows with the product of two arguments' lengths refused past STORE_RO_MAX_WORK of it (0.25
 * s at the slowest, trim's 4.6 ns a unit); a row at most STORE_RO_MAX_COLUMNS values. */
#define STORE_RO_VALUE_BYTES (1 << 20)
#define STORE_RO_MAX_WORK 5e7
#define STORE_RO_MAX_COLUMNS 100

/* out->layer = layer, out->error = fmt with why; returns -1. */
int store_ro_refuse(store_ro_result *out, const char *layer, const char *fmt, const char *why);
/* Monotonic seconds. */
double store_ro_mono(void);
/* The limits with their defaults filled in (50 rows, 1 MiB, 10 s, 1e6 estimated rows). */
store_ro_limits store_ro_limits_of(const store_ro_limits *lim);

#endif /* CQ_STORE_RO_INT_H */
