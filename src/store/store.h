/*
 * store.h - where callqa keeps what it knows: calls and their jobs, analyses and level
 * envelopes, transcripts, scores and supervisors' overrides, workers, ingest positions and the
 * folders recordings may be read from, job events, daily roll-ups, the pipeline's counters, LLM
 * requests, users and the audit trail, and the service's stored results. SQLite or PostgreSQL
 * behind the same functions (db.h: the URI picks). docs/pipeline.md describes the states and
 * leases; the schema is versioned (store_schema.c) and every older version is migrated on open.
 *
 * This header is the store itself: the handle, opening and closing it, and the answers its
 * writes share. What a caller does with the store has a header of its own, and a file includes
 * only the ones it calls (each of them includes this one; this one alone is for a file that
 * only holds a store: src/clients/llm.h, src/clients/recording.h):
 *   store_calls.h   calls and what is known of each: the service's stored results, analyses'
 *                   figures, redaction, pause marks, level envelopes, transcripts, scores and
 *                   overrides, LLM requests, agents' voice profiles
 *   store_jobs.h    the job queue: states, leases and the worker's writes under them, job rows
 *                   and counts, workers, the sources (ingest leases and marks, the folders
 *                   recordings may be read from), job events, roll-ups, the pipeline's counters
 *   store_query.h   the API's read queries on the store's connection
 *   store_retain.h  retention and erasure, and the files callqa keeps of a call
 *   store_users.h   users, their tokens, the audit trail, and the record of POST /ask
 *   store_ro.h      read-only connections for the SQL of POST /ask (no store handle)
 *   store_copy.h    moving a SQLite store to PostgreSQL (by URIs, no store handle)
 * store_int.h and store_ro_int.h are the room's insides: nothing outside src/store/ includes
 * them.
 *
 * It calls no other room: SQLite (libsqlite3), PostgreSQL (libpq), jansson and nettle (the
 * copy's checksums). It is on the ground floor as the only code with a database header (only
 * src/store/ includes one), so that the SQL, the schema and the two dialects stay in one room and
 * the rooms above keep their state through one interface, none of them knowing which database
 * it is.
 *
 * Thread safety: a store is one connection under a mutex; share it between threads freely.
 * Several processes may open the same store (SQLite: WAL and a busy timeout).
 */
#ifndef CQ_STORE_H
#define CQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* Open (creating and migrating as needed) "PATH" or "sqlite:PATH". NULL with msg. */
store *store_open(const char *uri, char *msg, size_t msgsz);
void store_close(store *s);
int store_ping(store *s);           /* 0 reachable */
int store_schema_version(store *s); /* the version the store is at */
const char *store_errmsg(store *s); /* the last database error, for logs */
/* SQLite's write-ahead log: by default the connection whose commit takes the log past 1000 pages
 * copies it into the database there and then (a checkpoint, with two fsyncs), holding its lock
 * meanwhile. store_wal_manual leaves this connection's checkpoints to store_checkpoint (run by
 * a thread of its own): 1 so, 0 where there is no such log (PostgreSQL), -1 on an error.
 * store_checkpoint copies what it can without waiting for anyone (PRAGMA wal_checkpoint
 * (PASSIVE)): 0 with the log's frames and those of them in the database now, -1 on an error;
 * PostgreSQL: 0 and none. */
int store_wal_manual(store *s);
int store_checkpoint(store *s, int64_t *wal_frames, int64_t *copied);

/* What a write answers where it can be fenced (store_jobs.h: a write under a job's lease that
 * was lost) or only succeed or fail (store_envelope_put, store_transcript_put). */
enum { STORE_OK = 0, STORE_FENCED = 1, STORE_ERR = -1 };

#endif /* CQ_STORE_H */
