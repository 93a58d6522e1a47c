/*
 * store_query.h - the API's read queries on the store's own connection: a fixed table of SQL
 * (store_qid, store_query.c), each with its bound parameters in order, its rows handed to a
 * callback; the calls list in each of its orders; the store's size. Nothing here writes. (The
 * SQL a model writes for POST /ask runs elsewhere, on a read-only connection: store_ro.h.)
 *
 * Consumers: the service's QA routes and what they check (src/service: svc.h, svc_qa*.c,
 * svc_access.c, svc_audio.c, svc_envelope.c); the worker's reads of a stored report and
 * transcript (src/pipeline: worker.c, redact.c); `callqa transcribe`'s import (src/cli/
 * transcribe_cmd.c).
 */
#ifndef CQ_STORE_QUERY_H
#define CQ_STORE_QUERY_H

#include "store.h"

/* ---- read-only queries for the API (store_query.c) --------------------------------------- */

/* A value of a row or a parameter. */
typedef enum store_vtype { SV_NULL = 0, SV_INT, SV_REAL, SV_TEXT } store_vtype;
typedef struct store_val {
    const char *name; /* the column's name (rows) */
    store_vtype t;
    int64_t i;
    double d;
    const char *s;
} store_val;
#define SV_I(v) ((store_val){.t = SV_INT, .i = (v)})
#define SV_D(v) ((store_val){.t = SV_REAL, .d = (v)})
static inline store_val store_text_val(const char *s)
{
    return (store_val){.t = s ? SV_TEXT : SV_NULL, .s = s};
}
#define SV_S(v) store_text_val(v) /* NULL: SQL NULL */

/* The queries, each with its parameters in order ($1, $2, ...). Days are "YYYY-MM-DD". */
typedef enum store_qid {
    SQ_HEALTH = 0,  /* -: total_calls, complete_calls, last_processed (UTC s or null) */
    SQ_DAILY,       /* from, to[, campaign]: one row per day with calls: day, total_calls,
                       analysed, skipped, errors, talk_sec, hold_sec, dead_air_sec,
                       one_way_calls, mos_sum, mos_n, scored (calls with a total), score_sum,
                       score_min, score_max, flagged, KEY_sum and KEY_n of each category of
                       store_score_cats (only the calls that scored it), partial_n,
                       partial_sum (every call with a partial score, a total or not),
                       partial_only_n, partial_only_sum (the calls with a partial score and
                       no total) */
    SQ_AGENT,       /* agent: agent_name (the latest known) */
    SQ_AGENT_DAYS,  /* agent, from, to: day, calls, analysed, ... as SQ_DAILY, of one agent */
    SQ_CALL,        /* id: a call by recording_id (or uniqueid), with its job and analysis */
    SQ_CALLS,       /* from, to, agent, campaign, state, one_way, mos_below, dead_air_min,
                       limit, offset, flagged, match (the FTS5 query of SQ_SEARCH: calls with a
                       transcript segment that matches), dtmf (1: with DTMF digits, 0: analysed
                       without), campaigns (a JSON array of campaign ids: the calls of those
                       only, a caller's scope) (NULL: no filter): the calls, newest first
                       (store_calls for the other orders) */
    SQ_CALLS_COUNT, /* the same filters: total */
    SQ_QUEUE,       /* -: state, n */
    SQ_REPORT,      /* call id: report */
    SQ_FLAGGED,     /* from, to, agent, campaign, limit, campaigns (a JSON array, or NULL):
                       flagged calls, lowest total (or
                       partial score, without a total) first */
    SQ_LEADERBOARD, /* from, to, min_calls, partial (1 or 0): per agent with min_calls
                       calls with a total or more (partial 1: and every other agent with a
                       partial-only call): agent_user, agent_name, calls (with a total),
                       score_sum, score_min, score_max, flagged, partial_only_n,
                       partial_only_sum */
    SQ_DAY_SUMMARY, /* from, to: one row per day with calls: the figures of SQ_DAILY, and
                       top_agent, top_n, top_sum, bottom_agent, bottom_n, bottom_sum (of the
                       agents with at least 3 scored calls that day: the highest and the
                       lowest mean total score, top_sum / top_n; the smaller id on a tie;
                       NULL when no agent has 3) */
    SQ_TRANSCRIPT,  /* call id: text, detail, language, word_count, seconds */
    SQ_SEARCH,      /* match (FTS5), from, to, agent, campaign, limit, campaigns (a JSON array,
                       or NULL): the segments that
                       match, newest call first: call_id, recording_id, agent_user,
                       campaign_id, call_date, segment, speaker, start, end, text, marked (the
                       text with each hit between \x02 and \x03) */
    SQ_SCORE,       /* call id: the scores row: scorecard, backend, scorecard_hash,
                       provider_hash, topic_class, topic_subclass, detail (JSON text) */
    SQ_OVERRIDES,   /* call id: the newest override per category: category, score,
                       supervisor, comment, created (UTC s), ordered by category */
    SQ_AGREEMENT,   /* from, to: per category with overrides (the newest per call, of calls of
                       those days): category, n (calls overridden), compared (of those with an
                       automatic score), exact, within_one, abs_diff_sum */
    SQ_ERRORS,      /* since (UTC s): the jobs that ended in error since then, newest first:
                       call_id, recording_id, error_stage, error_message, finished */
    SQ_THROUGHPUT,  /* since (UTC s): jobs finished since then per UTC hour and final state
                       (complete, error, skipped): hour (the hour's start, UTC s), state, n */
    SQ_N
} store_qid;

/* Called for each row; non-zero stops the query. Values are valid during the call only. */
typedef int (*store_row_fn)(void *user, const store_val *cols, int n);
/* Run query q. 0, or -1 (store_errmsg). */
int store_query(store *s, store_qid q, const store_val *params, int n_params, store_row_fn fn,
                void *user);
/* The orders of the calls list (SQ_CALLS): each NULLS LAST in both directions, ties by call
 * id in the same direction. mos is the lower of the legs' MOS; duration and dead_air are the
 * analysis', call_length the dialer's length. */
typedef enum store_calls_sort {
    STORE_SORT_CALL_DATE = 0,
    STORE_SORT_AGENT_USER,
    STORE_SORT_CAMPAIGN_ID,
    STORE_SORT_TOTAL_SCORE,
    STORE_SORT_MOS,
    STORE_SORT_DURATION,
    STORE_SORT_DEAD_AIR,
    STORE_SORT_CALL_LENGTH,
    STORE_SORT_N
} store_calls_sort;
/* The sort's name as the API spells it ("call_date", ...); NULL out of range. */
const char *store_calls_sort_name(store_calls_sort k);
/* SQ_CALLS (its 14 parameters) in that order (asc: ascending). 0, or -1 (store_errmsg). */
int store_calls(store *s, store_calls_sort k, bool asc, const store_val *params, int n_params,
                store_row_fn fn, void *user);
/* The store's size on disk, bytes. */
int64_t store_size_bytes(store *s);

#endif /* CQ_STORE_QUERY_H */
