/*
 * ingest.h - calls into the store from the dialer that recorded them: the ViciDial ingest
 * (vicidial.c) reads recording_log with the call logs of a ViciDial database and enqueues every
 * recording (store_call_put), incrementally by a high-water mark; source.c holds what needs no
 * database: the database URI, time zones, where a recording's audio is (on local disk or on a
 * configured recording server). docs/pipeline.md, "ViciDial ingest".
 *
 * Thread safety: the time-zone functions set the process's TZ while they run (the ingest is
 * single-threaded); the rest keeps no global state.
 */
#ifndef CQ_INGEST_H
#define CQ_INGEST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../service/svc.h"
#include "../store/store.h"

/* ---- the database URI (source.c) --------------------------------------------------------- */

/* mysql://USER@HOST[:PORT]/DB (or mariadb://): no password (it is read from a file). */
typedef struct ingest_db_uri {
    char user[129]; /* percent-decoded, 1-128 bytes, no control characters */
    char host[256]; /* a name or IPv4 address, or an IPv6 address without its brackets */
    unsigned port;  /* 1-65535; default 3306 */
    char db[65];    /* [A-Za-z0-9_$]{1,64} */
} ingest_db_uri;

/* Parse uri. 0, or -1 with msg saying what is wrong (a password in it is refused). */
int ingest_db_uri_parse(const char *uri, ingest_db_uri *out, char *msg, size_t msgsz);

/* A secret from a file that only its owner may read: a regular file of mode 0600 or stricter,
 * its first line (without the line end), 1 to n-1 bytes. 0, or -1 with msg (never the secret). */
int ingest_read_secret(const char *path, char *out, size_t n, char *msg, size_t msgsz);

/* ---- time zones (source.c) --------------------------------------------------------------- */

/* An IANA zone name that exists in the system's zone database ($TZDIR or
 * /usr/share/zoneinfo): 0, else -1. */
int ingest_tz_check(const char *tz);
/* The system's zone name ($TZ, /etc/timezone, the /etc/localtime link), "UTC" when none. */
void ingest_tz_system(char *out, size_t n);
/* "YYYY-MM-DD HH:MM:SS", the wall-clock time in zone tz, as UTC seconds. 0, or -1 when
 * malformed. */
int ingest_local_to_utc(const char *datetime, const char *tz, double *epoch);
/* UTC seconds as the wall-clock time in zone tz, "YYYY-MM-DD HH:MM:SS". 0 or -1. */
int ingest_utc_to_local(double epoch, const char *tz, char out[20]);

/* ---- where a recording is (source.c) ----------------------------------------------------- */

/* The audio fields of a call (store_call): paths relative to the recordings folder, or
 * "NAME:RELPATH" on recording server NAME. */
typedef struct ingest_audio {
    char audio[1024];
    char audio_in[1024], audio_out[1024]; /* the ORIG legs, when found */
} ingest_audio;

/* A dialer's file name (recording_log.filename) that names a file and nothing else: no '/',
 * no "..", no leading '.', no control characters, 1-200 bytes. */
bool ingest_file_name_ok(const char *name);
/* The recording `name` (a file name without extension, ingest_file_name_ok) under dir: the legs
 * ORIG/NAME-in.wav and ORIG/NAME-out.wav (both over the stub size), and the first mix of
 * NAME-all.wav, NAME-all.mp3, NAME-all.gsm, MP3/NAME-all.mp3. 1 when either was found (out
 * filled), 0 when nothing was. */
int ingest_audio_local(const char *dir, const char *name, ingest_audio *out);
/* The recording at URL `location` on one of the configured recording servers: the server whose
 * host is the URL's and whose base URL the URL's path is under; ref = "NAME:RELPATH" (RELPATH
 * after the base). 0, or -1 with why (a sentence: "recording on an unconfigured server HOST",
 * ...); nothing is fetched. */
int ingest_audio_remote(const svc_config *cfg, const char *location, char *ref, size_t refsz,
                        char *why, size_t whysz);

/* ---- the ViciDial ingest (vicidial.c) ----------------------------------------------------- */

#define INGEST_MAX_FILTER 64

typedef struct ingest_vicidial_config {
    ingest_db_uri db;          /* --vicidial */
    char password_file[1024];  /* --vicidial-password-file (mode 0600 or stricter) */
    char source[65];           /* the source's name in the store; default: the DB host */
    char recordings_dir[1024]; /* the dialer's recordings on local disk ("" none) */
    svc_config svc;            /* the recording servers (--recording-server NAME=URL) */
    char store[1024];          /* --db */
    int min_length_sec;        /* shorter calls are enqueued skipped (default 30) */
    char campaigns[INGEST_MAX_FILTER][21]; /* outbound calls of these campaigns only */
    int n_campaigns;
    char ingroups[INGEST_MAX_FILTER][21]; /* inbound calls of these in-groups only */
    int n_ingroups;
    char users[INGEST_MAX_FILTER][21]; /* calls of these agents only */
    int n_users;
    char tz[64];           /* the dialer's IANA time zone (default: the system's) */
    int batch;             /* rows per query (default 1000) */
    double open_row_hours; /* open rows are revisited this long (default 6) */
    bool once;             /* one scan, then exit */
    double interval_sec;   /* between scans (default 300) */
    double retry_sec;      /* a lost database connection is retried this long within a
                              scan, with backoff (default 300) */
    double lease_sec;      /* the source's scan lease, renewed every batch (default 120) */
    int64_t lookback;      /* rows up to this many ids below the mark that the store
                              does not have are taken too (default 1000; 0 none) */
} ingest_vicidial_config;

void ingest_vicidial_defaults(ingest_vicidial_config *c);

/* What one scan did. */
typedef struct ingest_scan_stats {
    int64_t rows;     /* dialer rows read (new rows and open rows revisited) */
    int64_t created;  /* calls new to the store */
    int64_t updated;  /* calls already known, put again */
    int64_t skipped;  /* put with a skip reason (too short, unconfigured server, ...) */
    int64_t filtered; /* not selected by the campaign, in-group or user filters */
    int64_t open;     /* put open (recording in progress) */
    int64_t closed;   /* open calls put closed (finished or aged out) */
    int64_t late;     /* rows found below the mark that the store did not have */
    int64_t retries;  /* database reconnections */
    int64_t mark;     /* the high-water mark after the scan */
    bool busy;        /* another process held the source's scan lease: nothing done */
} ingest_scan_stats;

typedef struct ingest_vicidial ingest_vicidial;

/* Connect to the database and open the store. `stop` (optional) is polled: non-zero ends a scan
 * between batches and a retry's wait. NULL with msg on failure (wrong credentials, an
 * unreachable server: msg names the server, never the password). */
ingest_vicidial *ingest_vicidial_create(const ingest_vicidial_config *c,
                                        volatile sig_atomic_t *stop, char *msg, size_t msgsz);
void ingest_vicidial_destroy(ingest_vicidial *v);
/* One scan: take the source's lease, revisit its open calls, read the rows past the mark in
 * batches, enqueue each, move the mark past what was stored. 0, or -1 with msg (the mark stays
 * where the last stored row put it). */
int ingest_vicidial_scan(ingest_vicidial *v, ingest_scan_stats *st, char *msg, size_t msgsz);

/* `callqa ingest vicidial`: scans until SIGTERM/SIGINT (or one with `once`). Exit status: 0, 1
 * on a database or store failure, 2 on a bad setting. */
int ingest_vicidial_run(const ingest_vicidial_config *c);

#endif /* CQ_INGEST_H */
