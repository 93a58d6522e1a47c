/*
 * store_copy.h - moving a SQLite store to PostgreSQL and verifying the copy (store_copy.c). It
 * opens both stores itself, from their URIs: it needs no store handle.
 *
 * Consumer: `callqa store migrate` (src/cli/store_cmd.c).
 */
#ifndef CQ_STORE_COPY_H
#define CQ_STORE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- moving a store to PostgreSQL (store_copy.c) ------------------------------------------ */

typedef struct store_copy_opts {
    bool verify_only; /* compare the two stores only: nothing is copied */
    int batch_rows;   /* rows per transaction on the target, 1-100000 (0: 1000) */
} store_copy_opts;

/* What the copy has done, for the caller's log. */
typedef struct store_copy_progress {
    const char *table;   /* the table's name in the source (SQLite) */
    const char *phase;   /* "batch": a batch committed; "copied": the table is copied;
                            "verified": its count and checksum agree on both sides */
    int64_t rows;        /* the rows of the table the target holds */
    int64_t source_rows; /* the rows of the table in the source */
    int64_t copied;      /* the rows this run wrote ("batch", "copied") */
    double sec;          /* the time this run spent on the table in this phase */
    const char *sha256;  /* "verified": the checksum (64 hex digits) */
} store_copy_progress;
typedef void (*store_copy_progress_fn)(void *user, const store_copy_progress *p);

/* Copy every row of the SQLite store `from` (a path or sqlite:PATH, which must exist) into the
 * PostgreSQL store `to` (a postgresql:// URI of an existing database), then verify it. Both
 * are opened (and migrated to the latest schema) first; any other pair is refused.
 *
 * The tables go in foreign-key order, each in the source's row order, in batches of
 * opts->batch_rows rows: each batch is one transaction on the target, with its progress row
 * (the table callqa_copy on the target), so that a copy stopped anywhere (even kill -9) and run
 * again goes on after the last batch committed, never writing a row twice. Rows keep their
 * ids; the target's id sequences are then moved past the largest id. A target table holding
 * rows this copy did not write is refused, as is a copy from another source into the same
 * target. The source is locked against writes while it is copied (readers go on).
 *
 * Verification (also opts->verify_only alone): per table, the row count and a SHA-256 over
 * the rows in key order (each value canonical: NULL, integers and integral reals as integers,
 * other reals as %.17g, text as its bytes), computed the same way on both sides.
 *
 * Returns 0 when every table was verified; 1 when a table differs (msg names each one that
 * does); -1 on any other failure (msg says what; a copy that failed may simply be run again).
 * fn (may be NULL) is called as the work goes on. Runs on the calling thread. */
int store_copy(const char *from, const char *to, const store_copy_opts *opts,
               store_copy_progress_fn fn, void *user, char *msg, size_t msgsz);

#endif /* CQ_STORE_COPY_H */
