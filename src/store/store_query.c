/*
 * store_query.c - the API's read-only queries (store.h, store_query): each a fixed SQL text with
 * bound parameters, its rows handed to the caller column by column with their names, so that
 * the routes shape the JSON and no SQL leaves src/store/. Figures per day and agent come from
 * the roll-ups (daily_stats, and day_summary for whole days), so a query over 90 days reads
 * thousands of rows (or 90), not millions.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "store_int.h"

/* The calls list's filters (SQ_CALLS, SQ_CALLS_COUNT): a NULL parameter is no filter; its CAST
 * names its type for PostgreSQL, which cannot infer it from `$n IS NULL` alone. The filters on
 * the job, the analysis and the scores are EXISTS tests, so that a list without them reads
 * calls alone; `match` is the dialect's transcript search (SQ_SEARCH's). */
#define CALL_WHERE(match, a_idx, sc_idx, in_set)                                                   \
    " WHERE (CAST($1 AS TEXT) IS NULL OR c.day >= $1) AND (CAST($2 AS TEXT) IS NULL OR "           \
    "c.day <= $2) AND (CAST($3 AS TEXT) IS NULL OR c.agent_user = $3) AND (CAST($4 AS TEXT) IS "   \
    "NULL OR c.campaign_id = $4) AND (CAST($5 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM jobs j "   \
    "WHERE j.call_id = c.id AND j.state = $5)) AND ((CAST($6 AS INTEGER) IS NULL AND CAST($7 AS "  \
    "DOUBLE PRECISION) IS NULL AND CAST($8 AS DOUBLE PRECISION) IS NULL AND CAST($13 AS INTEGER) " \
    "IS NULL) OR EXISTS (SELECT 1 FROM analyses a" a_idx                                           \
    " WHERE a.call_id = c.id AND (CAST($6 AS "                                                     \
    "INTEGER) IS NULL OR a.one_way = $6) AND (CAST($7 AS DOUBLE PRECISION) IS NULL OR a.mos_in < " \
    "$7 OR a.mos_out < $7) AND (CAST($8 AS DOUBLE PRECISION) IS NULL OR a.dead_air_sec >= $8) "    \
    "AND (CAST($13 AS INTEGER) IS NULL OR (a.dtmf_count > 0) = ($13 = 1)))) AND (CAST($11 AS "     \
    "INTEGER) IS NULL OR EXISTS (SELECT 1 FROM scores sc" sc_idx " WHERE sc.call_id = c.id AND "   \
    "sc.flagged = "                                                                                \
    "$11)) AND (CAST($12 AS TEXT) IS NULL OR c.id IN (" match ")) AND (CAST($14 AS TEXT) IS NULL " \
    "OR c.campaign_id IN (" in_set("$14") "))"
/* SQLite's planner takes the unique analyses_call and the scores' rowid, which read the wide
 * rows, over the covering indexes unless told (PostgreSQL's costs find them) */
#define LITE_WHERE                                                                                 \
    CALL_WHERE(MATCH_LITE, " INDEXED BY analyses_list", " INDEXED BY scores_list", IN_SET_LITE)
#define PG_WHERE CALL_WHERE(MATCH_PG, "", "", IN_SET_PG)
/* A set of campaigns (a caller's scope): a JSON array of their ids, bound as one parameter. */
#define IN_SET_LITE(p) "SELECT value FROM json_each(" p ")"
#define IN_SET_PG(p) "SELECT jsonb_array_elements_text(CAST(" p " AS TEXT)::jsonb)"
#define MATCH_LITE "SELECT call_id FROM transcript_fts WHERE transcript_fts MATCH $12"
#define MATCH_PG                                                                                   \
    "SELECT call_id FROM transcript_segments WHERE tsv @@ websearch_to_tsquery('simple', $12)"

#define CALL_FROM                                                                                  \
    " FROM calls c JOIN jobs j ON j.call_id = c.id LEFT JOIN analyses a ON a.call_id = c.id "      \
    "LEFT JOIN scores sc ON sc.call_id = c.id LEFT JOIN transcripts t ON t.call_id = c.id"

#define CALL_COLUMNS                                                                               \
    "c.id AS call_id, c.source, c.recording_id, c.uniqueid, c.vicidial_id, c.lead_id, "            \
    "c.agent_user, c.agent_name, c.campaign_id, c.campaign_name, c.direction, c.call_date, "       \
    "c.tz, c.call_epoch, c.length_sec AS call_length, c.disposition AS call_status, "              \
    "c.term_reason, "                                                                              \
    "j.state AS processing_status, j.stages, j.skip_reason, j.error_stage, j.error_message, "      \
    "j.retry_count, j.queued, j.finished, a.duration_sec, a.legs, a.speech_pct_in, "               \
    "a.speech_pct_out, a.mos_in, a.mos_out, a.one_way, a.talk_sec_in, a.talk_sec_out, "            \
    "a.dead_air_sec, a.overtalk_sec, a.hold_sec, a.hold_count, a.tone_count, a.dtmf_count, "       \
    "a.warning_codes, a.clipping_pct, a.level_db, a.mos_model, a.net_mos, a.net_mos_model, "       \
    "sc.total_score, sc.partial_score, sc.coverage, "                                              \
    "sc.flagged, "                                                                                 \
    "sc.flag_reason, sc.greeting, sc.customer_id, sc.needs, sc.product, sc.communication, "        \
    "sc.resolution, sc.closing, sc.compliance, sc.summary, sc.strengths, sc.improvements, "        \
    "sc.llm_provider, sc.llm_model, sc.created AS scored_at, sc.scorecard, sc.backend AS "         \
    "score_backend, sc.scorecard_hash, sc.provider_hash, sc.topic_class, sc.topic_subclass, "      \
    "t.text AS transcript, t.language, t.word_count, t.seconds AS transcription_time, "            \
    "c.carrier, c.server_ip, c.did, a.sip_trunk, a.sip_user_agent, a.sip_codec, a.sip_pdd_ms, "    \
    "a.net_loss_pct, a.net_jitter_ms, a.dropouts_per_min"

/* the agreement of overrides with the automatic scores; `auto` is the automatic score of an
 * overridden category: its column for the old eight, else the stored result's
 * (detail.categories.KEY.score; keys are [a-z0-9_]), read by each dialect's JSON functions */
/* The flagged calls, the lowest first (the total, or the partial score of a call without one),
 * ranked on the index scores_flagged_rank alone (flagged, day, that score, the call id): only the
 * rows kept are read from scores and calls. in_set: the campaigns of $6 in the dialect's form. */
#define FLAGGED_SQL(in_set)                                                                        \
    "SELECT c.recording_id, c.agent_user, c.agent_name, c.campaign_id, c.call_date, "              \
    "c.length_sec AS call_length, sc.total_score, sc.partial_score, sc.coverage, "                 \
    "sc.flag_reason, sc.summary, sc.greeting, sc.customer_id, sc.needs, sc.product, "              \
    "sc.communication, sc.resolution, sc.closing, sc.compliance FROM (SELECT call_id FROM scores " \
    "WHERE flagged = 1 AND day >= $1 AND day <= $2 AND (CAST($3 AS TEXT) IS NULL OR "              \
    "call_id IN (SELECT id FROM calls WHERE agent_user = $3)) AND (CAST($4 AS TEXT) "              \
    "IS NULL OR call_id IN "                                                                       \
    "(SELECT id FROM calls WHERE day >= $1 AND day <= $2 AND campaign_id = $4)) "                  \
    "AND (CAST($6 AS TEXT) IS NULL OR call_id IN (SELECT id FROM calls WHERE day "                 \
    ">= $1 AND day <= $2 AND campaign_id IN (" in_set "))) "                                       \
    "ORDER BY COALESCE(total_score, partial_score), call_id LIMIT $5) f JOIN scores "              \
    "sc ON sc.call_id = f.call_id JOIN calls c ON c.id = f.call_id ORDER BY "                      \
    "COALESCE(sc.total_score, sc.partial_score), c.id"

#define AGREEMENT_SQL(detail_score)                                                                \
    "SELECT category, COUNT(*) AS n, COUNT(auto) AS compared, SUM(CASE WHEN auto = score THEN 1 "  \
    "ELSE 0 END) AS exact, SUM(CASE WHEN abs(auto - score) <= 1 THEN 1 ELSE 0 END) AS "            \
    "within_one, SUM(abs(auto - score)) AS abs_diff_sum FROM (SELECT o.category, o.score, CASE "   \
    "o.category WHEN 'greeting' THEN sc.greeting WHEN 'customer_id' THEN sc.customer_id WHEN "     \
    "'needs' THEN sc.needs WHEN 'product' THEN sc.product WHEN 'communication' THEN "              \
    "sc.communication WHEN 'resolution' THEN sc.resolution WHEN 'closing' THEN sc.closing WHEN "   \
    "'compliance' THEN sc.compliance ELSE " detail_score " END AS auto FROM score_overrides o "    \
    "JOIN calls c ON c.id = o.call_id JOIN scores sc ON sc.call_id = o.call_id WHERE c.day >= $1 " \
    "AND c.day <= $2 AND o.id = (SELECT MAX(id) FROM score_overrides o2 WHERE o2.call_id = "       \
    "o.call_id AND o2.category = o.category)) x GROUP BY category ORDER BY category"

static const char *const k_sql[SQ_N] = {
    [SQ_HEALTH] = "SELECT COUNT(*) AS total_calls, COALESCE(SUM(CASE WHEN state = 'complete' "
                  "THEN 1 ELSE 0 END), 0) AS complete_calls, MAX(CASE WHEN state = 'complete' "
                  "THEN finished END) AS last_processed, (SELECT COUNT(*) FROM scores WHERE "
                  "total_score IS NOT NULL) AS total_scored, (SELECT COUNT(*) FROM scores WHERE "
                  "flagged = 1) AS total_flagged FROM jobs",
    [SQ_DAILY] =
        "SELECT day, " STORE__DAY_FIGURES " FROM daily_stats WHERE day >= $1 AND day <= $2 AND "
        "(CAST($3 AS TEXT) IS NULL OR campaign_id = $3) GROUP BY day ORDER BY day",
    [SQ_AGENT] = "SELECT agent_name FROM calls WHERE agent_user = $1 AND agent_name IS NOT NULL "
                 "ORDER BY id DESC LIMIT 1",
    [SQ_AGENT_DAYS] =
        "SELECT day, " STORE__DAY_FIGURES " FROM daily_stats WHERE agent_user = $1 AND "
        "day >= $2 AND day <= $3 GROUP BY day ORDER BY day",
    [SQ_CALL] = "SELECT " CALL_COLUMNS CALL_FROM " WHERE c.recording_id = $1 OR c.uniqueid = $1 "
                "ORDER BY c.id LIMIT 1",
    /* SQ_CALLS: store_calls */
    [SQ_CALLS_COUNT] = "SELECT COUNT(*) AS total FROM calls c" LITE_WHERE,
    [SQ_QUEUE] = "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state",
    [SQ_REPORT] = "SELECT report FROM analyses WHERE call_id = $1",
    [SQ_FLAGGED] = FLAGGED_SQL(IN_SET_LITE("$6")),
    [SQ_LEADERBOARD] = "SELECT d.agent_user, (SELECT agent_name FROM calls WHERE agent_user = "
                       "d.agent_user AND agent_name IS NOT NULL ORDER BY id DESC LIMIT 1) AS "
                       "agent_name, SUM(d.scored) AS calls, SUM(d.score_sum) AS score_sum, "
                       "MIN(d.score_min) AS score_min, MAX(d.score_max) AS score_max, "
                       "SUM(d.flagged) AS flagged, SUM(d.partial_only_n) AS partial_only_n, "
                       "SUM(d.partial_only_sum) AS partial_only_sum FROM daily_stats d WHERE "
                       "d.day >= $1 AND d.day <= $2 AND d.agent_user != '' GROUP BY "
                       "d.agent_user HAVING (SUM(d.scored) >= $3 AND SUM(d.scored) > 0) OR "
                       "(CAST($4 AS INTEGER) = 1 AND SUM(d.partial_only_n) > 0)",
    /* the days' figures and their top and bottom agents, kept by the roll-ups (day_summary:
     * one row a day) */
    [SQ_DAY_SUMMARY] = "SELECT day, " STORE__DAY_COLUMNS ", top_agent, top_n, top_sum, "
                       "bottom_agent, bottom_n, bottom_sum FROM day_summary WHERE day >= $1 AND "
                       "day <= $2 ORDER BY day",
    [SQ_TRANSCRIPT] = "SELECT text, detail, language, word_count, seconds FROM transcripts WHERE "
                      "call_id = $1",
    [SQ_SEARCH] = "SELECT c.id AS call_id, c.recording_id, c.agent_user, c.campaign_id, "
                  "c.call_date, f.seg AS segment, f.speaker, f.t_start AS start, f.t_end AS "
                  "\"end\", f.text, highlight(transcript_fts, 0, char(2), char(3)) AS marked FROM "
                  "transcript_fts f JOIN calls c ON c.id = f.call_id WHERE transcript_fts MATCH $1 "
                  "AND ($2 IS NULL OR c.day >= $2) AND ($3 IS NULL OR c.day <= $3) AND ($4 IS NULL "
                  "OR c.agent_user = $4) AND ($5 IS NULL OR c.campaign_id = $5) AND ($7 IS NULL "
                  "OR c.campaign_id IN (" IN_SET_LITE(
                      "$7") ")) ORDER BY "
                            "c.call_date DESC NULLS LAST, c.id DESC, f.rowid LIMIT $6",
    [SQ_SCORE] = "SELECT scorecard, backend, scorecard_hash, provider_hash, topic_class, "
                 "topic_subclass, detail FROM scores WHERE call_id = $1",
    [SQ_OVERRIDES] = "SELECT o.category, o.score, o.supervisor, o.comment, o.created FROM "
                     "score_overrides o WHERE o.call_id = $1 AND o.id = (SELECT MAX(id) FROM "
                     "score_overrides o2 WHERE o2.call_id = o.call_id AND o2.category = "
                     "o.category) ORDER BY o.category",
    [SQ_AGREEMENT] = AGREEMENT_SQL("CASE WHEN json_valid(sc.detail) THEN json_extract(sc.detail, "
                                   "'$.categories.' || o.category || '.score') END"),
    /* read on the index jobs_finished (v7) */
    [SQ_ERRORS] = "SELECT j.call_id, c.recording_id, j.error_stage, j.error_message, j.finished "
                  "FROM jobs j JOIN calls c ON c.id = j.call_id WHERE j.finished >= $1 AND "
                  "j.state = 'error' ORDER BY j.finished DESC, j.id DESC",
    [SQ_THROUGHPUT] =
        "SELECT CAST(finished / 3600 AS INTEGER) * 3600 AS hour, state, COUNT(*) AS n "
        "FROM jobs WHERE finished >= $1 AND state IN ('complete', 'error', "
        "'skipped') GROUP BY 1, 2 ORDER BY 1, 2",
};

/* PostgreSQL's form of the queries whose SQLite form it does not read (NULL: the same). The search
 * reads transcript_segments' tsvector: the match is the FTS5 query the API makes of the words
 * (each word or "phrase" quoted, all required), which websearch_to_tsquery reads the same way
 * and never refuses; ts_headline marks every hit in the whole text. */
static const char *const k_sql_pg[SQ_N] = {
    [SQ_FLAGGED] = FLAGGED_SQL(IN_SET_PG("$6")),
    [SQ_SEARCH] = "SELECT c.id AS call_id, c.recording_id, c.agent_user, c.campaign_id, "
                  "c.call_date, f.seg AS segment, f.speaker, f.t_start AS start, f.t_end AS "
                  "\"end\", f.text, ts_headline('simple', f.text, q, 'StartSel=' || chr(2) || "
                  "', StopSel=' || chr(3) || ', HighlightAll=true') AS marked FROM "
                  "transcript_segments f JOIN calls c ON c.id = f.call_id, "
                  "websearch_to_tsquery('simple', $1) q WHERE f.tsv @@ q "
                  "AND ($2::text IS NULL OR c.day >= $2) AND ($3::text IS NULL OR c.day <= $3) AND "
                  "($4::text IS NULL OR c.agent_user = $4) AND ($5::text IS NULL OR c.campaign_id "
                  "= $5) AND ($7::text IS NULL OR c.campaign_id IN (" IN_SET_PG(
                      "$7") ")) ORDER BY "
                            "c.call_date DESC NULLS LAST, c.id DESC, f.seg LIMIT $6",
    [SQ_AGREEMENT] = AGREEMENT_SQL("CASE WHEN jsonb_typeof(sc.detail::jsonb -> 'categories' -> "
                                   "o.category -> 'score') = 'number' THEN (sc.detail::jsonb -> "
                                   "'categories' -> o.category ->> 'score')::double precision END"),
    [SQ_CALLS_COUNT] = "SELECT COUNT(*) AS total FROM calls c" PG_WHERE,
    /* CAST AS bigint rounds in PostgreSQL: floor() for the hour's start */
    [SQ_THROUGHPUT] = "SELECT CAST(floor(finished / 3600) * 3600 AS BIGINT) AS hour, state, "
                      "COUNT(*) AS n FROM jobs WHERE finished >= $1 AND state IN ('complete', "
                      "'error', 'skipped') GROUP BY 1, 2 ORDER BY 1, 2",
};

/* Run statement `key` (prepared from sql on first use) with the parameters, each row to fn. */
static int run_query(store *s, int key, const char *sql, const store_val *params, int n_params,
                     store_row_fn fn, void *user)
{
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    for (int i = 0; i < n_params; i++) {
        const store_val *p = &params[i];
        if (p->t == SV_INT)
            db_bind_int(st, i + 1, p->i);
        else if (p->t == SV_REAL)
            db_bind_double(st, i + 1, p->d);
        else if (p->t == SV_TEXT)
            db_bind_text(st, i + 1, p->s);
        else
            db_bind_null(st, i + 1);
    }
    int rc;
    store_val cols[96];
    while ((rc = db_step(st)) == DB_ROW) {
        int n = db_col_count(st);
        if (n > 96)
            n = 96;
        for (int i = 0; i < n; i++) {
            store_val *v = &cols[i];
            v->name = db_col_name(st, i);
            switch (db_col_type(st, i)) {
            case DB_T_INT: v->t = SV_INT, v->i = db_col_int(st, i); break;
            case DB_T_REAL: v->t = SV_REAL, v->d = db_col_double(st, i); break;
            case DB_T_TEXT: v->t = SV_TEXT, v->s = db_col_text(st, i); break;
            default: v->t = SV_NULL; break;
            }
        }
        if (fn(user, cols, n) != 0) {
            rc = DB_DONE;
            break;
        }
    }
    int res = rc == DB_DONE ? 0 : store__fail(s, "querying");
    store__end(s, st);
    return res;
}

int store_query(store *s, store_qid q, const store_val *params, int n_params, store_row_fn fn,
                void *user)
{
    if ((unsigned)q >= SQ_N)
        return -1;
    if (q == SQ_CALLS)
        return store_calls(s, STORE_SORT_CALL_DATE, false, params, n_params, fn, user);
    const char *sql = k_sql[q];
    if (db_get_dialect(s->d) == DB_PG && k_sql_pg[q])
        sql = k_sql_pg[q];
    return run_query(s, Q_QUERY_FIRST + (int)q, sql, params, n_params, fn, user);
}

/* ---- the calls list in its orders ---------------------------------------------------------- */

/* Each order's key: a column of calls (read on its index, v7), or the figure of the analysis or
 * the scores row. SQLite reads that figure per call on the covering indexes (v7); PostgreSQL
 * joins the table once (`pg_join`: a hash join, where a look-up per call of a filtered list
 * cost it 200 ms at 100,000 calls; BENCHMARKS.md's history, git log -p BENCHMARKS.md). */
#define A_KEY(idx, expr) "(SELECT " expr " FROM analyses a" idx " WHERE a.call_id = c.id)"
#define MOS_OF(t)                                                                                  \
    "CASE WHEN " t ".mos_out IS NULL OR " t ".mos_in < " t ".mos_out THEN " t ".mos_in ELSE " t    \
    ".mos_out END"
#define A_JOIN " LEFT JOIN analyses ka ON ka.call_id = c.id"
static const struct {
    const char *name, *key, *key_lite, *pg_join;
} k_sorts[STORE_SORT_N] = {
    [STORE_SORT_CALL_DATE] = {"call_date", "c.call_date", NULL, NULL},
    [STORE_SORT_AGENT_USER] = {"agent_user", "c.agent_user", NULL, NULL},
    [STORE_SORT_CAMPAIGN_ID] = {"campaign_id", "c.campaign_id", NULL, NULL},
    [STORE_SORT_TOTAL_SCORE] =
        {"total_score", "ks.total_score",
         "(SELECT sc.total_score FROM scores sc INDEXED BY scores_list WHERE sc.call_id = c.id)",
         " LEFT JOIN scores ks ON ks.call_id = c.id"},
    [STORE_SORT_MOS] = {"mos", MOS_OF("ka"), A_KEY(" INDEXED BY analyses_list", MOS_OF("a")),
                        A_JOIN},
    [STORE_SORT_DURATION] = {"duration", "ka.duration_sec",
                             A_KEY(" INDEXED BY analyses_list", "a.duration_sec"), A_JOIN},
    [STORE_SORT_DEAD_AIR] = {"dead_air", "ka.dead_air_sec",
                             A_KEY(" INDEXED BY analyses_list", "a.dead_air_sec"), A_JOIN},
    [STORE_SORT_CALL_LENGTH] = {"call_length", "c.length_sec", NULL, NULL},
};
#undef A_KEY
#undef MOS_OF
#undef A_JOIN

const char *store_calls_sort_name(store_calls_sort k)
{
    return (unsigned)k < STORE_SORT_N ? k_sorts[k].name : NULL;
}

int store_calls(store *s, store_calls_sort k, bool asc, const store_val *params, int n_params,
                store_row_fn fn, void *user)
{
    if ((unsigned)k >= STORE_SORT_N)
        return -1;
    /* the page's call ids first, on the key alone; then their rows */
    const char *dir = asc ? "ASC" : "DESC";
    bool pg = db_get_dialect(s->d) == DB_PG;
    char sql[6144];
    int len = snprintf(sql, sizeof(sql),
                       "SELECT " CALL_COLUMNS " FROM (SELECT c.id AS pid, %s AS k FROM calls c%s%s "
                       "ORDER BY k %s NULLS LAST, c.id %s LIMIT $9 OFFSET $10) p JOIN calls c ON "
                       "c.id = p.pid JOIN jobs j ON j.call_id = c.id LEFT JOIN analyses a ON "
                       "a.call_id = c.id LEFT JOIN scores sc ON sc.call_id = c.id LEFT JOIN "
                       "transcripts t ON t.call_id = c.id ORDER BY p.k %s NULLS LAST, p.pid %s",
                       !pg && k_sorts[k].key_lite ? k_sorts[k].key_lite : k_sorts[k].key,
                       pg && k_sorts[k].pg_join ? k_sorts[k].pg_join : "",
                       pg ? PG_WHERE : LITE_WHERE, dir, dir, dir, dir);
    if (len < 0 || (size_t)len >= sizeof(sql))
        return -1;
    int key = k == STORE_SORT_CALL_DATE && !asc ? Q_QUERY_FIRST + (int)SQ_CALLS
                                                : Q_CALLS_FIRST + 2 * (int)k + (asc ? 1 : 0);
    return run_query(s, key, sql, params, n_params, fn, user);
}

int64_t store_size_bytes(store *s)
{
    db_stmt *st = store__begin(s, Q_QUERY_FIRST + SQ_N,
                               STORE_SQL(s,
                                         "SELECT page_count * page_size FROM pragma_page_count(), "
                                         "pragma_page_size()",
                                         "SELECT pg_database_size(current_database())"));
    if (!st)
        return -1;
    int64_t n = db_step(st) == DB_ROW ? db_col_int(st, 0) : -1;
    store__end(s, st);
    return n;
}
