/*
 * store_retain.h - retention and erasure (store_retain.c, store_erase.c, store_retain_rows.c,
 * store_retain_files.c), and the files callqa keeps of a call (store_files.c): the periods and
 * their syntax, the purge and the erasure (each call in one transaction, checked and logged in
 * `deletions`), the log, and the names of a call's files, which the purge walks and the code
 * that writes or reads such a file takes from here.
 *
 * Consumers: `callqa store purge|erase` and the worker's purge loop (src/cli: retain_cmd.h,
 * retain_cmd.c, worker_cmd.c); the code that names a call's files (src/pipeline: network.c,
 * live_kept.c, redact.c; worker.c: a HEP capture a report was read from; src/service/svc_audio.c:
 * the transcode cache).
 */
#ifndef CQ_STORE_RETAIN_H
#define CQ_STORE_RETAIN_H

#include "store.h"

/* ---- retention and erasure (store_retain.c; docs/privacy/retention.md) ----------------------
 *
 * What callqa keeps of a call falls in four kinds, each kept for its own number of days from
 * the call's time (call_epoch, else when callqa learned of it), 0 meaning forever:
 *   audio       callqa's own copies of the recording: the files a file-path column names
 *               beneath one of the owned folders (the uploads; later the redacted copies),
 *               with the capture kept beside an upload; the column is set NULL. A path beneath
 *               a protected folder (the dialer's recordings) is never deleted.
 *   transcript  the transcript, its search rows (FTS5 / tsvector), and the transcript's words
 *               in the scores: evidence quotes and topic phrases
 *   report      the analysis JSON (replaced by STORE_REPORT_REMOVED; its figures stay, the
 *               roll-ups and calls list read them) and the level envelope
 *   llm         the call's LLM requests (llm_calls rows older than the period too: today's
 *               count against the daily caps) and the LLM's text in the scores (summary,
 *               strengths, improvements, the reasons of the categories it scored)
 * Scores, overrides, roll-ups, jobs and events outlive every period. Each deletion is one
 * transaction per call, checked before its commit (the rows are gone, the search finds none of
 * the transcript's words for the call, the files are gone) and logged in `deletions`. */
typedef enum store_keep {
    STORE_KEEP_AUDIO = 0,
    STORE_KEEP_TRANSCRIPT,
    STORE_KEEP_REPORT,
    STORE_KEEP_LLM,
    STORE_KEEP_N
} store_keep;
extern const char *const store_keep_names[STORE_KEEP_N]; /* "audio", "transcript", ... */

/* What an analysis' report becomes when its period is over. */
#define STORE_REPORT_REMOVED "{\"removed\":\"retention\"}"
#define STORE_RETAIN_MAX_DAYS 36500

/* One source's or campaign's periods; days < 0: not set (the next level's apply). */
typedef struct store_retain_rule {
    char name[65];
    int days[STORE_KEEP_N];
} store_retain_rule;

/* The periods: a campaign's rule first, then its source's, then the defaults. */
typedef struct store_retention {
    int days[STORE_KEEP_N]; /* the defaults, 0 forever */
    store_retain_rule *campaigns, *sources;
    int n_campaigns, n_sources;
} store_retention;

/* Parse "NAME=KIND:DAYS[+KIND:DAYS...][,NAME=...]" (KIND audio, transcript, report, llm or all;
 * DAYS 0-36500, 0 forever; NAME 1-64 bytes without '=', ',', spaces) into *rules (malloc'd,
 * *n of them; "" or NULL: none). `setting` names the text in messages. 0, or -1 with msg
 * saying which item is wrong and why. */
int store_retain_parse(const char *setting, const char *text, store_retain_rule **rules, int *n,
                       char *msg, size_t msgsz);
void store_retention_free(store_retention *r); /* the rules; the struct is the caller's */
/* Any period set (anything could ever be due)? */
bool store_retention_any(const store_retention *r);
/* The period of a kind for a call of this source and campaign, days (0 forever). */
int store_retention_days(const store_retention *r, const char *source, const char *campaign,
                         store_keep k);

/* ---- the files of a call (store_files.c; docs/privacy/retention.md) -------------------------
 * Every file callqa keeps of a call, by kind ("What callqa keeps of a call"): the purge, the
 * erasure and their verification walk this list (and the columns that name its files), and the
 * code that writes or reads a file found from another takes its name from here. */
typedef enum store_file_kind {
    STORE_FILE_RECORDING,     /* calls.audio: the mix or the stereo file (an upload as sent) */
    STORE_FILE_LEG_IN,        /* calls.audio_in */
    STORE_FILE_LEG_OUT,       /* calls.audio_out */
    STORE_FILE_REDACTED,      /* analyses.redacted_audio: the redacted copy */
    STORE_FILE_CAPTURE,       /* beside a recording: BASE.pcap (BASE: no extension, no leg) */
    STORE_FILE_CAPTURE_NG,    /* BASE.pcapng */
    STORE_FILE_LIVE,          /* beside a recording: BASE.live.jsonl (callqa live --record-dir) */
    STORE_FILE_LIVE_PART,     /* BASE.live.jsonl.part: one whose writer stopped */
    STORE_FILE_REDACTED_PART, /* the redacted copies' folder: .ID.wav.PID, a copy unfinished */
    STORE_FILE_TRANSCODE,     /* the service's transcode cache of a file named by a column */
    STORE_FILE_KINDS
} store_file_kind;
/* The kind as the purge's report and docs/privacy/retention.md name it. */
const char *store_file_name(store_file_kind k);
/* A recording's path without its extension (and, with `legs`, without a ViciDial leg's -in,
 * -out or -all), into base[n]: what the files beside it are named from. 0, or -1 when there is
 * no name or it is too long. */
int store_file_base(const char *rec, bool legs, char *base, size_t n);
/* The file of kind k (a STORE_FILE_CAPTURE* or STORE_FILE_LIVE* kind) beside the recording
 * rec. 0, or -1 (another kind, no name, too long). */
int store_file_beside(const char *rec, store_file_kind k, char *out, size_t n);
/* The redacted copy of a call in dir (pid 0: DIR/ID.wav), or the one a writer of that pid is
 * making (DIR/.ID.wav.PID, renamed into place when verified). 0, or -1 when too long. */
int store_file_redacted(const char *dir, int64_t call_id, long pid, char *out, size_t n);
/* The service's transcode cache file of the recording at `path` (as the service opens it; st its
 * stat): hex, its name's 32 hex digits, from the path, size, mtime, inode and device, and
 * cache_dir/hex.wav into out (NULL: the name only). 0, or -1 when too long. */
struct stat;
int store_file_transcode(const char *cache_dir, const char *path, const struct stat *st,
                         char hex[33], char *out, size_t n);

/* The folders of files: owned (callqa made the files: they may be deleted) and protected (the
 * dialer's: never, even beneath an owned folder). NULL-terminated lists of paths; NULL none. */
typedef struct store_file_roots {
    const char *const *owned;
    const char *const *protect;
    const char *recordings_dir; /* a relative path in a row is beneath it (NULL: the cwd) */
    const char *redact_dir;     /* the redacted copies' folder (NULL: none but the copies') */
    const char *transcode_dir;  /* the service's transcode cache (NULL: none) */
} store_file_roots;

/* What was (or, in a dry run, would be) deleted of one call. */
typedef struct store_deletion {
    int64_t call_id;
    char source[65], recording_id[65], campaign_id[65]; /* "" for an erased call's log */
    double age_days;                                    /* since the call's time */
    unsigned kinds;      /* bits 1 << store_keep (erasure: all, and the call's row) */
    int64_t rows;        /* rows deleted, all tables together */
    int64_t search_rows; /* of those, the transcript's search rows */
    int files;           /* files deleted */
    int files_kept;      /* files of the list kept: beneath a protected folder, outside callqa's
                            folders (the dialer's recording), not a regular file */
    int deleted_kind[STORE_FILE_KINDS]; /* of files, by kind */
    int kept_kind[STORE_FILE_KINDS];    /* of files_kept, by kind */
    int checked;                        /* the paths of the list checked gone afterwards */
    int quotes;                         /* transcript quotes and phrases taken out of the scores */
    int llm_texts;                      /* LLM texts taken out of the scores */
    bool erased;                        /* an erasure: the call and every row of it */
    int status;      /* 0 done (or due, dry run); -1 failed, nothing of it changed */
    char error[512]; /* why it failed */
} store_deletion;
typedef void (*store_deletion_fn)(void *user, const store_deletion *d);

/* The totals of a run. */
typedef struct store_purge_totals {
    int calls, failed;
    int64_t rows, search_rows;
    int files, quotes;
} store_purge_totals;

/* Delete what is due at `now` (UTC s) under the periods: per call, in one transaction, checked
 * and logged (why "retention"); dry_run: only say what is due. fn (may be NULL) is called for
 * each call with something due. 0 when every due call was done (or nothing was due), -1 when
 * one or more failed (each failure said to fn, the others done) or the store failed
 * (store_errmsg). */
int store_purge(store *s, const store_retention *r, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot);
/* The same a part at a time, for a loop that must not stop long: the calls after *cursor (0: from
 * the first) until budget_sec has passed (0: no limit); *cursor is then where to go on, or 0 when
 * the last call was seen. Adds to *tot (the caller zeroes it at the start of a run). 0, or -1
 * when the store failed (a call's failure is said to fn and counted in tot->failed). */
int store_purge_step(store *s, const store_retention *r, const store_file_roots *roots, double now,
                     bool dry_run, double budget_sec, int64_t *cursor, store_deletion_fn fn,
                     void *user, store_purge_totals *tot);

/* One caller's calls, by one of: the lead id, or the phone number (its digits, 6 to 20: a run
 * of exactly those digits in the name of a recording file of the call, as ViciDial names
 * them). */
typedef struct store_erase_who {
    const char *lead_id; /* NULL: not by lead */
    const char *phone;   /* NULL: not by number */
} store_erase_who;
/* Erase every row of the caller's calls (the call, its job, analysis, envelope, transcript and
 * search rows, scores, overrides, LLM requests, events; its day's roll-up recomputed without
 * it), callqa's own files of it, and the service's stored results (calls of no source) whose
 * recording file name carries the number; each call in one transaction, checked and logged
 * (why "erasure", with no identifier of the caller). Returns as store_purge. */
int store_erase(store *s, const store_erase_who *who, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot);

/* Record a file callqa wrote for a call (its writer, once the file is in place): its kind and
 * path, the path's folder resolved to its real path. The purge and the erasure delete every
 * recorded file of a call whatever folders their settings name. 0, or -1 (store_errmsg). */
int store_file_record(store *s, int64_t call_id, store_file_kind k, const char *path, double now);
/* Did retention delete the call's audio (a deletions row of what 'audio')? 1, 0, or -1. */
int store_audio_deleted(store *s, int64_t call_id);
/* After a deletion or a redaction, what it leaves in a SQLite store's files scrubbed: with
 * `search`, the search index rewritten whole (FTS5's optimize: a deleted transcript's words
 * leave its segments), then the write-ahead log checkpointed and truncated to nothing (the
 * deleted rows' pages were zeroed by secure_delete). PostgreSQL: nothing
 * (docs/privacy/retention.md). 0, or -1 with msg (the log not emptied: another connection kept
 * reading, writing or checkpointing it for 30 s, tries included). */
int store_scrub(store *s, bool search, char *msg, size_t n);

/* A phone number's digits (spaces, dashes, dots, brackets and a leading '+' dropped): 0, or -1
 * when it has anything else or fewer than 6 / more than 20 digits. */
int store_phone_digits(const char *phone, char out[24]);

/* The deletions' log, oldest first: ts, call_id, source, recording_id, what, why, detail. */
typedef struct store_deletion_row {
    int64_t id, call_id; /* call_id 0: none */
    double ts;
    char source[65], recording_id[65], what[16], why[16];
    char detail[512];
} store_deletion_row;
int store_deletions(store *s, int64_t after_id, store_deletion_row *out, int max, int *n);

#endif /* CQ_STORE_RETAIN_H */
