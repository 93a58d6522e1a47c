/*
 * recording.h - where recordings come from, for the worker, the ingest and the service alike:
 * the names a request or the dialer may give (a ViciDial file name, never a path; a configured
 * server, never a URL), the ViciDial candidates for a name and their download from a recording
 * server with limits and revalidation (rec_fetch.c, libcurl), the names uploads are stored
 * under, and the opening of a recording on local disk beneath the configured folders only, with
 * no symbolic link below them and never a FIFO (rec_names.c). It stands on the settings and the
 * store (the folders the ingests registered); nothing here knows HTTP serving.
 *
 * It calls config.h (the configured servers and folders) and the store (store_roots), with
 * libcurl and nettle (a fetched file's identity) in rec_fetch.c. It is in src/clients/, floor 6,
 * with the other code that talks to servers, below the worker and the service, which open and
 * fetch recordings the same way through it.
 */
#ifndef CQ_RECORDING_H
#define CQ_RECORDING_H

#include <stdbool.h>
#include <stddef.h>

#include "../config/config.h"
#include "../store/store.h"

/* ---- names and folders (rec_names.c) -------------------------------------------------------- */

/* A recording file name as ViciDial writes them: 1-255 of [A-Za-z0-9._+-], not starting
 * with '.', no "..", ending in an audio extension. 0 ok, -1 with a reason. */
int rec_check_file(const char *file, const char **why);

/* The files to try for a requested name, in order. */
typedef struct rec_candidate {
    char rel[2][600]; /* one file, or the in/out pair (rel[1] != "") */
    const char *what; /* "ORIG legs", "-all.wav", "MP3/-all.mp3", "as named" (static) */
    bool mixed;       /* a mix of both parties */
} rec_candidate;
int rec_candidates(const char *file, rec_candidate *out, int max);

/* A name (a source, a recording id: up to 64 bytes) as a file name: A-Z a-z 0-9 _ - and '.'
 * (not first) as they are, every other byte as %XX. Reversible, so two names never share a
 * file. */
#define REC_NAME_ENC (64 * 3 + 1)
void rec_name_encode(const char *in, char *out, size_t n);
/* Where uploads are kept: upload_dir, else uploads/ beside the store's file; "" for a store
 * that is no file (PostgreSQL), which needs upload_dir set. */
void rec_upload_dir(const cfg_settings *c, char *out, size_t n);

/* The folders recordings may be read from: recordings_dir, upload_dir, audio_dirs and the
 * roots the ingests registered in the store (each its real path; one that does not exist is
 * left out). */
#define REC_MAX_ROOTS 64
typedef struct rec_roots {
    char dir[REC_MAX_ROOTS][4096];
    int n;
} rec_roots;
/* more: one folder more (the worker's recordings_dir) or NULL; st may be NULL */
void rec_roots_load(rec_roots *r, const cfg_settings *c, const char *more, store *st);
/* Open a recording that a caller or the dialer placed, for reading: it must lie beneath one of
 * the roots, be reached with no symbolic link below the root, and be a regular file (opened
 * without waiting, so a FIFO never blocks). The fd, or -1 with why[] set. */
int rec_open(const rec_roots *r, const char *path, char *why, size_t n);

/* ---- retrieval from a recording server (rec_fetch.c) ----------------------------------------- */

typedef enum rec_fetch_status {
    REC_FETCH_OK = 0,
    REC_FETCH_NOT_FOUND, /* no candidate exists */
    REC_FETCH_NOT_MODIFIED,
    REC_FETCH_TOO_LARGE,
    REC_FETCH_TIMEOUT,
    REC_FETCH_BAD_UPSTREAM, /* HTML, a redirect, a 5xx, a broken connection */
    REC_FETCH_INTERNAL
} rec_fetch_status;

typedef struct rec_fetched {
    rec_candidate cand; /* what was used */
    char path[2][1100]; /* temp files (removed by rec_fetched_cleanup) */
    char url[2][1700];
    char validators[512]; /* ETag / Last-Modified of the files, for revalidation */
    char identity[160];   /* content identity: validators, else the files' sha256 */
} rec_fetched;

/* Fetch the recording named `file` from `srv`: the first candidate that exists (legs over
 * 100 bytes each). msg says why on failure. */
rec_fetch_status rec_fetch(const cfg_settings *c, const cfg_server *srv, const char *file,
                           rec_fetched *out, char *msg, size_t msgsz);
/* Ask whether the files behind `validators` changed (conditional GETs, bodies not kept). */
rec_fetch_status rec_revalidate(const cfg_settings *c, const cfg_server *srv,
                                const char *validators, char *msg, size_t msgsz);
void rec_fetched_cleanup(rec_fetched *f);
void rec_fetch_global_init(void);

/* A temporary file of this process in tmp_dir, created (mkstemp, mode 0600) and open:
 * tmp_dir/callqa-KIND-PID-XXXXXX in out; its descriptor, or -1 with errno. Whoever makes one
 * removes it on every ending of its work; a file whose process is gone (killed, crashed) is
 * removed by rec_tmp_sweep. */
int rec_tmp_make(const cfg_settings *c, const char *kind, char *out, size_t n);
/* Remove tmp_dir's temporary files (rec_tmp_make) whose process is gone. How many. */
int rec_tmp_sweep(const cfg_settings *c);

#endif /* CQ_RECORDING_H */
