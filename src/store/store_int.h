/*
 * store_int.h - the store's insides, for the files of src/store/: the object, statement keys
 * and small helpers, with every header of the store's interface (store.h and the headers of its
 * callers, store_calls.h to store_users.h) that those files implement. Nothing outside
 * src/store/ includes it.
 */
#ifndef CQ_STORE_INT_H
#define CQ_STORE_INT_H

#include <pthread.h>
#include <stddef.h>

#include "db.h"
#include "store.h"
#include "store_calls.h"
#include "store_copy.h"
#include "store_jobs.h"
#include "store_query.h"
#include "store_retain.h"
#include "store_users.h"

struct store {
    db *d;
    pthread_mutex_t mu;
    char err[512];
};

/* Statement keys: one per SQL text (db_stmt_get). */
enum {
    Q_SCHEMA_VERSION = 1,
    Q_PING,
    Q_RES_LATEST,
    Q_RES_PUT,
    Q_RES_TOUCH,
    Q_RES_GET,
    Q_RES_LIST,
    Q_RES_DEL_ONE,
    Q_RES_DEL_ALL,
    Q_CALL_INSERT,
    Q_CALL_UPDATE,
    Q_CALL_ID,
    Q_JOB_INSERT,
    Q_CALL_GET,
    Q_CALL_FIND,
    Q_CALL_FIND_ANY,
    Q_JOB_CLAIM,
    Q_JOB_RENEW,
    Q_JOB_ADVANCE,
    Q_JOB_STAGES,
    Q_JOB_RELEASE,
    Q_JOB_RETRY,
    Q_JOB_ERROR,
    Q_JOB_SKIP,
    Q_JOB_FENCE,
    Q_ANALYSIS_UPSERT,
    Q_EVENT_INSERT,
    Q_CALL_ROW,
    Q_ROLLUP_DELETE,
    Q_ROLLUP_INSERT,
    Q_ROLLUP_GROUP_DELETE,
    Q_ROLLUP_GROUP_INSERT,
    Q_SUMMARY_DELETE,
    Q_SUMMARY_INSERT,
    Q_REQUEUE,
    Q_JOB_GET,
    Q_JOB_COUNTS,
    Q_JOB_RECENT,
    Q_WORKER_PUT,
    Q_WORKER_LIST,
    Q_INGEST_ENSURE,
    Q_INGEST_LEASE,
    Q_INGEST_RELEASE,
    Q_INGEST_MARK,
    Q_INGEST_SET_MARK,
    Q_ROOT_ADD,
    Q_ROOT_LIST,
    Q_INGEST_OPEN,
    Q_EVENTS_SINCE,
    Q_EVENTS_LAST,
    Q_EVENTS_PRUNE,
    Q_COUNTER_ADD,
    Q_COUNTERS,
    Q_JOB_QUEUED,
    Q_JOB_UNHOLD,
    Q_JOB_SKIP_HELD,
    Q_TX_PUT,
    Q_TX_FTS_DEL,
    Q_TX_FTS_PUT,
    Q_SCORE_PUT,
    Q_SCORE_REDAY,
    Q_OVR_HAS,
    Q_OVR_PUT,
    Q_LLM_PUT,
    Q_LLM_DAY,
    Q_ASK_PUT,
    Q_SCHEMA_TABLE,
    Q_PG_EVENT_LOCK,
    Q_PG_DAY_LOCK,
    Q_ENV_PUT,
    Q_ENV_DEL,
    Q_ENV_GET,
    Q_REDACTION_GET,
    Q_REDACT_CALLS,
    Q_REPORT_SET,
    Q_SCORE_DETAIL_SET,
    Q_MARK_ADD,
    Q_MARKS_GET,
    Q_USER_ADD,
    Q_USER_BY_NAME,
    Q_USER_BY_ID,
    Q_USER_LIST,
    Q_USER_DISABLE,
    Q_USER_PASSWORD,
    Q_TOKEN_ADD,
    Q_TOKEN_USER,
    Q_AUDIT_ADD,
    Q_AUDIT_LIST,
    Q_VP_GET,
    Q_VP_LOCK,
    Q_VP_AGENT,
    Q_VP_PUT,
    Q_VP_DEL,
    Q_VP_LOG,
    Q_TOKEN_LIST,
    Q_TOKEN_REVOKE,
    Q_AUDIT_ADD8,  /* an INSERT of 8 audit entries (Q_AUDIT_ADD: of one) */
    Q_AUDIT_ADD64, /* of 64 */
    Q_WAL_CHECKPOINT,
    Q_ROUTE_LINK,         /* a call joined to its dialer attempt (store_routes.c) */
    Q_INT_LAST,           /* below Q_QUERY_FIRST */
    Q_QUERY_FIRST = 104,  /* the API's queries (store_query.c) */
    Q_COPY_FIRST = 128,   /* store_copy.c's statements: 6 per table and 7, up to 308 */
    Q_CALLS_FIRST = 320,  /* store_calls' orders (store_query.c): 2 x STORE_SORT_N, up to 335 */
    Q_RETAIN_FIRST = 352, /* retention's and erasure's (store_retain_int.h), up to 407 */
    Q_ROUTES_FIRST = 416  /* the routes' (store_routes.c), below DB_MAX_STMTS */
};

int store__schema_latest(void);
/* The version the store is at (0: a new store), or -1. */
int store__schema_version(db *d);
int store__migrate(db *d, char *msg, size_t msgsz);

/* Lock the store and fetch statement `key` (prepared from sql on first use); NULL (unlocked,
 * err set) when it cannot be prepared. */
db_stmt *store__begin(store *s, int key, const char *sql);
/* Reset the statement and unlock. */
void store__end(store *s, db_stmt *st);
/* Keep the database's message for store_errmsg(). Returns -1. */
int store__fail(store *s, const char *what);

/* The SQL of a statement in the store's dialect: `lite` for SQLite, `pg` for PostgreSQL (the
 * same statement key always gets the same text on one connection). */
#define STORE_SQL(s, lite, pg) (db_get_dialect((s)->d) == DB_PG ? (pg) : (lite))

/* Test hook: when $CALLQA_TEST_KILL_AT is "KIND:LABEL", the process kills itself (SIGKILL)
 * right there, having said so on stderr. */
void store__kill_point(const char *kind, const char *label);

/* The helpers of the functions that run several statements under one lock (s->mu held):
 * statement `key` (prepared from sql on first use; NULL with s->err), and one run to its end
 * expecting no row (0, or -1 with s->err naming `what`). */
db_stmt *store__stmt(store *s, int key, const char *sql);
int store__run(store *s, db_stmt *st, const char *what);

/* A transaction around f under the lock, named `label` (its kill point "commit:LABEL"): what f
 * returns (STORE_OK, STORE_FENCED, STORE_ERR), STORE_ERR when the commit fails. f must start
 * afresh each time: it runs again when the connection was lost before the COMMIT (PostgreSQL,
 * up to about 16 s). */
int store__in_tx(store *s, const char *label, int (*f)(store *, void *), void *arg);

/* A transaction of the caller's own: store__tx_begin locks the store and begins it (0, or -1
 * unlocked with s->err); store__tx_end commits it when res is 0 (a failed commit: -1 with s->err
 * naming `what`), else rolls it back, and unlocks. Returns res. */
int store__tx_begin(store *s);
int store__tx_end(store *s, int res, const char *what);

/* A page of a feed read by id (takes the lock): statement `key` with $1 = after_id and $2 = max,
 * each row (up to max) read by row(st, out, i) into the caller's array. 0 with *n rows, or -1
 * with s->err naming `what`. */
int store__feed(store *s, int key, const char *sql, int64_t after_id, int max,
                void (*row)(db_stmt *st, void *out, int i), void *out, int *n, const char *what);

/* The local day of a time, YYYY-MM-DD, into day: 0, or -1 with s->err ("WHAT: its time is not a
 * date"; takes the lock). */
int store__local_day(store *s, double ts, char day[11], const char *what);

/* Text column copied into a fixed buffer ("" for NULL). */
void store__col_copy(db_stmt *st, int col, char *dst, size_t n);
/* Bind text, "" as NULL. */
void store__bind_opt(db_stmt *st, int n, const char *v);
/* Bind a figure that is unknown when negative or not finite (NULL then). */
void store__bind_num(db_stmt *st, int n, double v);

/* Search rows of call c (SQLite's transcript_fts): rowids c * stride + the segment's index. */
#define STORE_TX_FTS_STRIDE 100000

/* In the caller's transaction, under the lock (store_calls.c): the call's envelope in place of
 * any earlier one (env NULL or env->legs NULL: the earlier one goes), and the transcript with
 * its search rows. STORE_OK or STORE_ERR with s->err. */
int store__envelope_put(store *s, int64_t call_id, const store_envelope *env, double now);
int store__transcript_put(store *s, const store_transcript *t, double now);
/* The call's search rows of its transcript deleted: how many, or -1 with s->err naming what. */
int64_t store__tx_search_delete(store *s, int64_t call_id, const char *what);

/* In the caller's transaction, under the lock (store_jobs_stats.c): a job event of the call
 * (the feed's lock taken first on PostgreSQL); v added to a counter; a job's end counted
 * (finished{state}, and skipped{reason} or errors{stage,reason}); a completion counted (its
 * queue-to-complete time into the histogram, and finished{complete}). 0, or -1 with s->err. */
int store__event(store *s, int64_t call_id, job_state st, double now);
int store__counter_add(store *s, const char *name, const char *labels, double v);
int store__count_end(store *s, job_state st, const char *stage, const char *message);
int store__count_complete(store *s, int64_t job_id, double now);

/* The roll-up row a call counts in, and its recomputation (store_jobs_stats.c; in the caller's
 * transaction, under the lock). 0, or -1 with s->err. */
typedef struct store__rollup_key {
    char day[16], source[65], agent[65], campaign[65];
    char hour[16]; /* its local hour, "YYYY-MM-DD HH": the routes' rows it counts in */
} store__rollup_key;
int store__rollup_group(store *s, const store__rollup_key *k);
/* The key of a call (day "" when it has no date; all "" when there is no such call; zeroed past
 * each string, so keys compare with memcmp), and the recomputation of its row. */
int store__call_key(store *s, int64_t call_id, store__rollup_key *k);
int store__rollup_call(store *s, int64_t call_id);
/* PostgreSQL: a day's roll-ups (the agents' and the routes') are recomputed by one transaction
 * at a time; held to the commit (SQLite: nothing to do). 0, or -1 with s->err. */
int store__day_lock(store *s, const char *day);
/* The routes' rows of a local hour ("YYYY-MM-DD HH") and of its day, every dimension, from the
 * calls and attempts (store_routes.c; under the day's lock, in the caller's transaction); a
 * call without a carrier or server given them by its dialer attempt, and the attempt joined to
 * it. 0, or -1 with s->err. */
int store__route_hour(store *s, const char *hour);
int store__route_link_call(store *s, int64_t call_id);
/* Every hour of a day recomputed (store_rollup_day). */
int store__route_day(store *s, const char *day);

/* A day's figures summed over its roll-up rows (daily_stats), as the API names them: the
 * columns of day_summary after its day (STORE__DAY_COLUMNS, in the same order) and of the
 * queries that sum daily_stats over days (store_query.c). The _V20 lists are day_summary's
 * columns as migration 20 made it (store_schema.c fills it with them); migration 22 added the
 * partial-only calls' count and sum (the calls with a partial score and no total). */
#define STORE__DAY_FIGURES_V20                                                                     \
    "SUM(queued) AS total_calls, SUM(analysed) AS analysed, SUM(skipped) AS skipped, "             \
    "SUM(errored) AS errors, SUM(talk_sec) AS talk_sec, SUM(hold_sec) AS hold_sec, "               \
    "SUM(dead_air_sec) AS dead_air_sec, SUM(one_way_calls) AS one_way_calls, SUM(mos_sum) AS "     \
    "mos_sum, SUM(mos_n) AS mos_n, SUM(scored) AS scored, SUM(score_sum) AS score_sum, "           \
    "MIN(score_min) AS score_min, MAX(score_max) AS score_max, SUM(flagged) AS flagged, "          \
    "SUM(cat_greeting_sum) AS greeting_sum, SUM(cat_greeting_n) AS greeting_n, "                   \
    "SUM(cat_customer_id_sum) AS customer_id_sum, SUM(cat_customer_id_n) AS customer_id_n, "       \
    "SUM(cat_needs_sum) AS needs_sum, SUM(cat_needs_n) AS needs_n, "                               \
    "SUM(cat_product_sum) AS product_sum, SUM(cat_product_n) AS product_n, "                       \
    "SUM(cat_communication_sum) AS communication_sum, SUM(cat_communication_n) AS "                \
    "communication_n, SUM(cat_resolution_sum) AS resolution_sum, SUM(cat_resolution_n) AS "        \
    "resolution_n, SUM(cat_closing_sum) AS closing_sum, SUM(cat_closing_n) AS closing_n, "         \
    "SUM(cat_compliance_sum) AS compliance_sum, SUM(cat_compliance_n) AS compliance_n, "           \
    "SUM(partial_n) AS partial_n, SUM(partial_sum) AS partial_sum, "                               \
    "SUM(cust_shift_sum) AS customer_shift_sum, SUM(cust_shift_n) AS customer_shift_n, "           \
    "SUM(cust_drops) AS customer_drops, SUM(dnsmos_sum) AS dnsmos_sum, SUM(dnsmos_n) AS dnsmos_n"
#define STORE__DAY_FIGURES                                                                         \
    STORE__DAY_FIGURES_V20 ", SUM(partial_only_n) AS partial_only_n, SUM(partial_only_sum) AS "    \
                           "partial_only_sum"
#define STORE__DAY_COLUMNS_V20                                                                     \
    "total_calls, analysed, skipped, errors, talk_sec, hold_sec, dead_air_sec, one_way_calls, "    \
    "mos_sum, mos_n, scored, score_sum, score_min, score_max, flagged, greeting_sum, greeting_n, " \
    "customer_id_sum, customer_id_n, needs_sum, needs_n, product_sum, product_n, "                 \
    "communication_sum, communication_n, resolution_sum, resolution_n, closing_sum, closing_n, "   \
    "compliance_sum, compliance_n, partial_n, partial_sum, customer_shift_sum, customer_shift_n, " \
    "customer_drops, dnsmos_sum, dnsmos_n"
#define STORE__DAY_COLUMNS STORE__DAY_COLUMNS_V20 ", partial_only_n, partial_only_sum"
/* The day_summary rows of the days of a CTE `days` (day), from their daily_stats rows: the
 * day's figures, and its top and bottom agent: of the agents (not '') with at least 3 scored
 * calls that day, the highest and the lowest mean total score (score_sum / scored), the
 * smaller id first on a tie (bytewise: COLLATE "C" on PostgreSQL), with their scored calls and
 * score sum. Prefixed by "WITH days AS (...), ": one day (the roll-ups, store_jobs_stats.c) or
 * every day (the migration that made the table, store_schema.c). `IN (SELECT day FROM days)`,
 * not a join: SQLite then reads the day's rows on the index (with a join it scanned all of
 * daily_stats_agents, 18 ms a day at 1,000,000 calls, against 1.2 ms). */
#define STORE__SUMMARY_AGENTS                                                                      \
    "agents AS (SELECT d.day, d.agent_user, SUM(d.scored) AS n, SUM(d.score_sum) AS s FROM "       \
    "daily_stats d WHERE d.day IN (SELECT day FROM days) AND d.agent_user != '' GROUP BY d.day, "  \
    "d.agent_user HAVING SUM(d.scored) >= 3), ranked AS (SELECT day, agent_user, n, s, "           \
    "ROW_NUMBER() OVER (PARTITION BY day ORDER BY s / CAST(n AS DOUBLE PRECISION) DESC, "          \
    "agent_user"
#define STORE__SUMMARY_RANK                                                                        \
    ") AS top_rank, ROW_NUMBER() OVER (PARTITION BY day ORDER BY "                                 \
    "s / CAST(n AS DOUBLE PRECISION), agent_user"
#define STORE__SUMMARY_INSERT_HEAD ") AS bottom_rank FROM agents) INSERT INTO day_summary (day, "
#define STORE__SUMMARY_INSERT_MID                                                                  \
    ", top_agent, top_n, top_sum, bottom_agent, bottom_n, bottom_sum) SELECT t.*, ta.agent_user, " \
    "ta.n, ta.s, ba.agent_user, ba.n, ba.s FROM (SELECT d.day, "
#define STORE__SUMMARY_INSERT_TAIL                                                                 \
    " FROM daily_stats d WHERE d.day IN (SELECT day FROM days) GROUP BY d.day) t "                 \
    "LEFT JOIN ranked ta ON ta.day = t.day AND ta.top_rank = 1 "                                   \
    "LEFT JOIN ranked ba ON ba.day = t.day AND ba.bottom_rank = 1"
#define STORE__SUMMARY_INSERT                                                                      \
    STORE__SUMMARY_INSERT_HEAD STORE__DAY_COLUMNS STORE__SUMMARY_INSERT_MID STORE__DAY_FIGURES     \
        STORE__SUMMARY_INSERT_TAIL
#define STORE__SUMMARY_INSERT_V20                                                                  \
    STORE__SUMMARY_INSERT_HEAD STORE__DAY_COLUMNS_V20 STORE__SUMMARY_INSERT_MID                    \
        STORE__DAY_FIGURES_V20 STORE__SUMMARY_INSERT_TAIL
#define STORE__SUMMARY_LITE STORE__SUMMARY_AGENTS STORE__SUMMARY_RANK STORE__SUMMARY_INSERT
#define STORE__SUMMARY_PG                                                                          \
    STORE__SUMMARY_AGENTS " COLLATE \"C\"" STORE__SUMMARY_RANK                                     \
                          " COLLATE \"C\"" STORE__SUMMARY_INSERT
#define STORE__SUMMARY_LITE_V20 STORE__SUMMARY_AGENTS STORE__SUMMARY_RANK STORE__SUMMARY_INSERT_V20
#define STORE__SUMMARY_PG_V20                                                                      \
    STORE__SUMMARY_AGENTS " COLLATE \"C\"" STORE__SUMMARY_RANK                                     \
                          " COLLATE \"C\"" STORE__SUMMARY_INSERT_V20

/* One call's row as the store's own code reads it by id (store_jobs_stats.c): the roll-up row it
 * counts in, its recording id and its time. */
typedef struct store__call_row {
    store__rollup_key key; /* day ("" when the call has no date), source, agent, campaign */
    char recording_id[65];
    double t; /* call_epoch, else when callqa learned of the call (UTC s) */
} store__call_row;
/* Read it, in the caller's transaction, under the lock: 1 found, 0 no such call (*out zeroed),
 * -1 with s->err. */
int store__call_row_get(store *s, int64_t call_id, store__call_row *out);

/* One row of store_files.c's list of a call's files. */
typedef enum store__file_from {
    STORE__FROM_COLUMN,        /* named by table.column of the row where key = the call */
    STORE__FROM_BESIDE,        /* beside each recording (a column's with `recording`) */
    STORE__FROM_REDACTED_PART, /* the redacted copies' folder: .ID.wav.* */
    STORE__FROM_TRANSCODE      /* the service's transcode cache of each file named by a column */
} store__file_from;
typedef struct store__file_def {
    store_file_kind kind;
    const char *name;
    store__file_from from;
    const char *table, *key, *column; /* STORE__FROM_COLUMN */
    const char *suffix;               /* STORE__FROM_BESIDE: BASE + suffix */
    bool legs;                        /* STORE__FROM_BESIDE: a leg's -in, -out, -all off BASE */
    bool recording;                   /* STORE__FROM_COLUMN: files lie beside it */
} store__file_def;
const store__file_def *store__file_def_of(store_file_kind k); /* NULL: no such kind */
/* store_file_record in the caller's transaction (s->mu held): 0, or -1 with s->err. */
int store__file_record(store *s, int64_t call_id, store_file_kind k, const char *path, double now);

#endif /* CQ_STORE_INT_H */
