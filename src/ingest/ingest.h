/*
 * ingest.h - calls into the store from the dialer that recorded them: the ViciDial ingest
 * (vicidial.c) reads recording_log with the call logs of a ViciDial database and enqueues every
 * recording (ingest_call_create), incrementally by a high-water mark; source.c holds what needs no
 * database: the database URI, time zones, where a recording's audio is (on local disk or on a
 * configured recording server). docs/pipeline/ingest.md, "ViciDial ingest". The folder watch
 * (watch.c) enqueues the recordings written into a folder, once each is complete, pairing -in/-out
 * legs; docs/pipeline/ingest.md, "Folder watch". Each creates its calls through ingest_call_create
 * (intake.c), as an upload to the service does.
 *
 * It calls the store (calls enqueued, the source's lease and mark, the folders it registers) and
 * the settings (config.h: the password file, the recording servers), with libmariadb
 * (vicidial.c), inotify (watch.c) and nettle (an upload's hash, intake.c); of the public API only
 * cq_legs.h's size of a failed-recording stub. It is on floor 8: it fills the store the worker
 * reads and never analyses, fetches or serves a recording, so it runs as a command of its own
 * (`callqa ingest`; `callqa serve` and `callqa worker` schedule the ViciDial one).
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

#include "callqa/cq_status.h"
#include "../config/config.h"
#include "../store/store_calls.h"

/* ---- a call created: every source's one way (intake.c) ------------------------------------ */

/* An upload's parts (POST /api/qa/calls), in the order of the request's. */
enum { INGEST_PART_IN = 0, INGEST_PART_OUT, INGEST_PART_MIX, INGEST_PART_CAPTURE, INGEST_N_PARTS };

/* The files an upload brings: each part a temporary file of the request (NULL or "": none), the
 * audio either MIX or both IN and OUT, the capture optional. A part moved into the upload folder
 * is emptied here (part[i][0] = 0), so that the request does not remove it. */
typedef struct ingest_upload {
    const cfg_settings *cfg; /* upload_dir (rec_upload_dir) */
    char *part[INGEST_N_PARTS];
} ingest_upload;

typedef struct ingest_created {
    int64_t id;   /* the call's id in the store */
    bool created; /* new to the store (else known: put again, or an upload's known call kept
                     as it was) */
    bool capture; /* an upload's capture kept beside its audio */
} ingest_created;

/* Call c created in st, or put again when the store knows it (source and recording_id), and
 * queued for the worker: the one way the folder watch, the ViciDial ingest and an upload create a
 * call (docs/pipeline.md). up NULL: c's audio is where it lies, c is put as it is. up: an upload,
 * c its metadata: what it left out filled in (source "upload"; recording_id "u-" and 16 hex
 * digits of the audio's sha256, so that the same recording uploaded twice is one call; call_date
 * now; call_epoch from call_date in c->tz, else the system's zone); a call the store knows keeps
 * the audio it has (nothing moved); a new one gets its files moved into the upload folder
 * (UPLOADS/SOURCE/ID[-in|-out].rec, the capture as ID.pcap or ID.pcapng) before it is queued,
 * each recorded as the call's. 0 with *out, or -1 with err: CQ_ERR_STORE (the store failed:
 * store_errmsg's message), CQ_ERR_UNSUPPORTED (no upload folder: upload_dir), CQ_ERR_RANGE
 * (upload_dir too long), CQ_ERR_IO (a file that could not be read back or moved). */
int ingest_call_create(store *st, store_call *c, ingest_upload *up, ingest_created *out,
                       cq_err *err);

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
int ingest_audio_remote(const cfg_settings *cfg, const char *location, char *ref, size_t refsz,
                        char *why, size_t whysz);

/* ---- logs (source.c): one JSON line per event ------------------------------------------- */

/* s as a JSON string (its quotes included) into buf (n >= 16 bytes; cut to fit): bytes that are
 * not UTF-8 are read as Latin-1, so that every line is JSON. Returns buf. */
const char *ingest_json_str(const char *s, char *buf, size_t n);
/* One line on stderr: {"ts", "level", "msg", "source", then `more` (JSON members, or NULL)}. */
void ingest_log(const char *level, const char *source, const char *msg, const char *more);

/* ---- a call's route (carrier.c) ----------------------------------------------------------- */

#define INGEST_ROUTE_MAX 64          /* bytes of a route's name */
#define INGEST_MAX_ROUTE_PATTERNS 32 /* route_patterns entries */
enum {
    INGEST_ROUTE_CHANNEL,
    INGEST_ROUTE_SERVER,
    INGEST_ROUTE_DID,
    INGEST_ROUTE_CAMPAIGN,
    INGEST_ROUTE_RECORDING,
    INGEST_ROUTE_FIELDS
};

/* The carrier an Asterisk channel or dial string names ("SIP/carrierA-0000001a" -> "carrierA",
 * "PJSIP/15551234@trunk2" -> "trunk2"; Local/ and the like name none) into out: 1, or 0. */
int ingest_carrier_of_channel(const char *channel, char *out, size_t n);

/* The settings' route_patterns: "NAME=FIELD:GLOB, ..." (FIELD: channel, server, did, campaign,
 * recording; GLOB: fnmatch(3)), tried in order. */
typedef struct ingest_route_pattern {
    char name[INGEST_ROUTE_MAX + 1];
    int field;
    char glob[128];
} ingest_route_pattern;
typedef struct ingest_route_patterns {
    ingest_route_pattern p[INGEST_MAX_ROUTE_PATTERNS];
    int n;
} ingest_route_patterns;
/* 0, or -1 with why naming the entry at fault. */
int ingest_route_patterns_parse(const char *spec, ingest_route_patterns *out, char *why,
                                size_t why_n);
/* The first pattern whose field (fields[INGEST_ROUTE_*], NULL or "" unknown) matches: its name
 * into out, 1; else 0. */
int ingest_route_name(const ingest_route_patterns *rp,
                      const char *const fields[INGEST_ROUTE_FIELDS], char *out, size_t n);

/* ---- the ViciDial ingest (vicidial.c) ----------------------------------------------------- */

#define INGEST_MAX_FILTER 64

typedef struct ingest_vicidial_config {
    ingest_db_uri db;          /* --vicidial */
    char password_file[1024];  /* --vicidial-password-file (mode 0600 or stricter) */
    char source[65];           /* the source's name in the store; default: the DB host */
    char recordings_dir[1024]; /* the dialer's recordings on local disk ("" none) */
    cfg_settings svc;          /* the recording servers (--recording-server NAME=URL) */
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
    int64_t rows;            /* dialer rows read (new rows and open rows revisited) */
    int64_t created;         /* calls new to the store */
    int64_t updated;         /* calls already known, put again */
    int64_t skipped;         /* put with a skip reason (too short, unconfigured server, ...) */
    int64_t filtered;        /* not selected by the campaign, in-group or user filters */
    int64_t open;            /* put open (recording in progress) */
    int64_t closed;          /* open calls put closed (finished or aged out) */
    int64_t late;            /* rows found below the mark that the store did not have */
    int64_t retries;         /* database reconnections */
    int64_t mark;            /* the high-water mark after the scan */
    int64_t attempts;        /* the dialer's call attempts read (vicidial_carrier_log) */
    int64_t attempts_joined; /* of them, those joined to a stored call */
    bool busy;               /* another process held the source's scan lease: nothing done */
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

/* ---- the folder watch (watch.c) ------------------------------------------------------------ */

/* What a watched file is, by its name (ViciDial's: NAME-in / NAME-out legs, NAME-all mix). */
enum {
    INGEST_WATCH_IN = 1,    /* NAME-in.EXT: the inbound (caller) leg */
    INGEST_WATCH_OUT = 2,   /* NAME-out.EXT: the outbound (agent) leg */
    INGEST_WATCH_MIX = 4,   /* NAME-all.EXT: the two legs mixed */
    INGEST_WATCH_PLAIN = 8, /* NAME.EXT: one recording (stereo legs or a mono mix) */
    INGEST_WATCH_KNOWN = 16 /* (ingest_watch_decide's `known`) the call is in the store */
};

/* A recording's file name, parsed. */
typedef struct ingest_watch_name {
    char recording_id[65]; /* the name without extension and -in/-out/-all: a longer one is its
                              first 47 bytes (not cutting a UTF-8 sequence), '~' and 16 hex
                              digits of its 64-bit FNV-1a hash */
    int kind;              /* INGEST_WATCH_IN, _OUT, _MIX or _PLAIN */
    char call_date[20];    /* ViciDial's FULLDATE_CUSTPHONE[_AGENT] name: its date, "YYYY-MM-DD
                              HH:MM:SS" (the dialer's wall clock); "" unknown */
    char agent_user[21];   /* ..._AGENT of that name: the agent; "" unknown */
} ingest_watch_name;

/* Parse a file name (no directory). 1: an audio file (.wav, .mp3, .gsm in any case) to take,
 * *out filled; 0: not taken, *why (optional) a static sentence: not audio, a temporary name
 * (a leading '.', .part, .tmp: taken once renamed), no name before the suffix, a '/' or a
 * control character... Bytes that are not UTF-8 are kept as they are. Pure. */
int ingest_watch_parse_name(const char *name, ingest_watch_name *out, const char **why);

/* What to do with the files of one recording. */
typedef enum ingest_watch_action {
    INGEST_WATCH_NOTHING = 0, /* nothing (the store has the call, and no pair completes it) */
    INGEST_WATCH_WAIT,        /* wait for the other leg until *wake_sec */
    INGEST_WATCH_PAIR,        /* enqueue both legs (with the mix or plain file when there) */
    INGEST_WATCH_WHOLE,       /* enqueue the plain file, or the mix once the wait is over */
    INGEST_WATCH_LONE,        /* enqueue the one leg as the call's audio: the other did not come */
    INGEST_WATCH_STUB         /* enqueue a stub (only stubs came): the worker skips it */
} ingest_watch_action;

/* The decision for a recording whose complete files are `have` (INGEST_WATCH_* bits) plus
 * `stubs` (files under the minimum size: not counted as legs), the first of them complete at
 * first_sec; `known`: what the store has of the call (INGEST_WATCH_KNOWN, with _IN|_OUT when it
 * has both legs). Legs pair at once; a plain file goes at once; a mix or a lone leg waits
 * pair_wait_sec from first_sec for legs. A call the store has changes only when a pair
 * completes it. Pure. */
ingest_watch_action ingest_watch_decide(unsigned have, unsigned stubs, unsigned known,
                                        double first_sec, double now_sec, double pair_wait_sec,
                                        double *wake_sec);

/* A file seen growing: its size and mtime at the last look, and since when they hold. */
typedef struct ingest_watch_obs {
    long long size;
    int64_t mtime_ns;
    double since_sec; /* when size and mtime were last seen to change (or first seen) */
    int looks;        /* how often it was looked at */
} ingest_watch_obs;

/* Look at a file again (size, mtime_ns now): 1 when it has not changed for settle_sec, seen at
 * two looks at least; 0 not yet. Pure. */
int ingest_watch_settle(ingest_watch_obs *o, long long size, int64_t mtime_ns, double now_sec,
                        double settle_sec);

typedef struct ingest_watch_config {
    char dir[1024];       /* --dir: the folder watched, with its subfolders */
    char store[1024];     /* --db */
    char source[65];      /* --source (default "watch") */
    char tz[64];          /* --tz: the zone of the dates in file names (default: the system's) */
    double settle_sec;    /* --settle-sec: a file unchanged this long is complete (default 5) */
    double pair_wait_sec; /* --pair-wait-sec: the wait for a second leg (default 120) */
    long long min_size;   /* --min-size: smaller files are stubs (default 100) */
    double rescan_sec;    /* --rescan-sec: the tree read again (NFS; default 60, 0 never) */
    double lease_sec;     /* the source's lease, renewed every third (default 60) */
    bool once;            /* --once: the files there now (and what settles meanwhile), then exit */
} ingest_watch_config;

void ingest_watch_defaults(ingest_watch_config *c);

/* `callqa ingest watch`: watches until SIGTERM/SIGINT (or, with `once`, until what was there is
 * taken). Exit status: 0; 1 on a store failure or when another process watches the source; 2 on
 * a bad setting (a folder that cannot be read). */
int ingest_watch_run(const ingest_watch_config *c);

#endif /* CQ_INGEST_H */
