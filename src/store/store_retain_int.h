/*
 * store_retain_int.h - the insides shared by the files of retention and erasure
 * (store_retain.c, store_erase.c, store_retain_rows.c, store_retain_files.c): their statement
 * keys, a call's files and the helpers over a call's rows. Only those files include it.
 */
#ifndef CQ_STORE_RETAIN_INT_H
#define CQ_STORE_RETAIN_INT_H

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "store_int.h"

/* Statement keys. */
enum {
    R_CANDIDATES = Q_RETAIN_FIRST,
    R_LOCK_CALL,
    R_TX_TEXT,
    R_TX_DEL,
    R_TX_LEFT,
    R_FTS_MATCH,
    R_SCORE_GET,
    R_SCORE_SET,
    R_REPORT_HAS,
    R_REPORT_SET,
    R_ENV_DEL,
    R_LLM_COUNT,
    R_LLM_DEL,
    R_LOG,
    R_DELETIONS,
    R_ERASE_LEAD,
    R_ERASE_IDS,
    R_DEL_OVR,
    R_DEL_SCORES,
    R_DEL_ANALYSES,
    R_DEL_EVENTS,
    R_DEL_JOBS,
    R_DEL_CALL,
    R_DEL_LLM_ALL,
    R_CALL_LEFT,
    R_RESULT_SCAN,
    R_RESULT_DEL,
    R_RESULT_LEFT,
    R_LOG_FORGET,
    R_REC_PUT,
    R_REC_LIST,
    R_REC_DEL,
    R_REC_DEL_ALL,
    R_AUDIO_GONE,
    R_SCRUB_FTS,
    R_SCRUB_WAL,
    R_FILE_FIRST, /* two per kind of store_files.c's list (its columns': read, clear) */
    R_END = R_FILE_FIRST + 2 * STORE_FILE_KINDS
};
static_assert((int)R_END <= (int)Q_ROUTES_FIRST, "statement keys past the routes' first");

/* ---- the files of a call (store_retain_files.c) ------------------------------------------- */

/* What a path found for a call is, by the real path of its folder (the file itself is not
 * followed). */
typedef enum store__file_class {
    STORE__F_NOT_OURS =
        0,             /* not beneath an owned folder (the dialer's, a recording server's): kept */
    STORE__F_OURS,     /* a regular file beneath an owned folder: deleted */
    STORE__F_GONE,     /* beneath an owned folder, already gone: only its column is cleared */
    STORE__F_PROTECTED /* beneath an owned folder but also a protected one, or not a regular file:
                   kept */
} store__file_class;

/* The files of one call, as store_files.c's list finds them. */
#define MAX_CALL_FILES 48
#define MAX_RECORDED 24 /* of call_files' rows read for a call */
typedef struct store__call_file {
    store_file_kind kind;
    store__file_class cls; /* STORE__F_OURS: deleted; STORE__F_PROTECTED, STORE__F_NOT_OURS: kept */
    char path[PATH_MAX];   /* real (its folder's real path), or as the row names it (not ours) */
} store__call_file;
typedef struct store__call_files {
    bool clear[STORE_FILE_KINDS]; /* a column kind's column names a file of ours (there or gone) */
    store__call_file f[MAX_CALL_FILES];
    int n;
    int del;                          /* files to delete (STORE__F_OURS) */
    int kept;                         /* files of the list kept */
    int del_kind[STORE_FILE_KINDS];   /* del by kind */
    int kept_kind[STORE_FILE_KINDS];  /* kept by kind */
    char rec[MAX_RECORDED][PATH_MAX]; /* the paths call_files records for the call */
    int nrec;
} store__call_files;

/* Every file of the call that store_files.c's list finds: those its writers recorded, the column
 * kinds' from the rows, then those found from them. 0, or -1 with s->err. */
int store__files_of(store *s, int64_t call, const store_file_roots *roots, store__call_files *f);
/* Does a column of the call name a file of ours (there or gone)? */
bool store__files_any_clear(const store__call_files *f);
/* Clear the columns of ours (in the transaction): rows changed, or -1 with s->err. */
int64_t store__files_clear(store *s, int64_t call, const store__call_files *f);
/* Delete the files of ours, then check that every one is gone, and that no unfinished redacted
 * copy of the call is left either (*checked: the paths checked); the call's recorded files that
 * are gone are forgotten. 0, or -1 with s->err. */
int store__files_delete(store *s, int64_t call, const store_file_roots *roots,
                        const store__call_files *f, int *checked);
/* The path the column of a column kind names for the call, into ref[n] ("" when none): 0, or -1
 * with s->err. */
int store__file_column(store *s, int64_t call, store_file_kind k, char *ref, size_t n);

/* ---- the rows of a call (store_retain_rows.c) ---------------------------------------------- */

#define MATCH_WORDS 5 /* words of a transcript searched for after its deletion */

/* Up to MATCH_WORDS distinct words (letters and digits, 4 bytes or more, the longest first) of
 * a text, for searching after its deletion. */
typedef struct store__words {
    char w[MATCH_WORDS][64];
    int n;
} store__words;

/* A statement with the call bound as $1 (and p2 as $2, when given) run to its end: rows
 * changed, or -1 with s->err naming `what`. */
int64_t store__by_call(store *s, int key, const char *sql, int64_t call, const store_val *p2,
                       const char *what);
/* One integer (column col) from a statement with $1 = call and the optional $2, $3 (NULL:
 * unbound). -1 on error. */
int64_t store__count_call(store *s, int key, const char *sql, int64_t call, const store_val *p2,
                          const store_val *p3, int col);
/* The call's transcript rows (col 0) or its search rows (col 1); -1 on error. */
int64_t store__tx_rows(store *s, int64_t call, int col);
/* The words of a text to search for after its deletion. */
void store__words_of(const char *text, store__words *out);
/* How many of the words the search still finds among the call's rows; -1 on error. */
int64_t store__search_finds(store *s, int64_t call, const store__words *w);
/* The transcript's text (malloc'd; NULL when there is none): 0, or -1 on error. */
int store__tx_text(store *s, int64_t call, char **text);
/* A row of the deletions' log (call 0: none): 0, or -1 with s->err. */
int store__log_row(store *s, double now, int64_t call, const char *source, const char *rec,
                   const char *what, const char *why, const char *detail);
/* Lock the call for the transaction: 1 there, 0 gone, -1 error. */
int store__lock_call(store *s, int64_t call);
/* A call in a transaction of its own (takes the lock): f's work kept unless dry or failed;
 * on failure d->error says why. 0, or what f returned. */
typedef int (*store__call_fn)(store *s, void *arg, store_deletion *d);
int store__call_tx(store *s, bool dry, store__call_fn f, void *arg, store_deletion *d);
/* A call's deletion added to the totals. */
void store__purge_total(store_purge_totals *t, const store_deletion *d);

#endif /* CQ_STORE_RETAIN_INT_H */
