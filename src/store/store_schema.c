/*
 * store_schema.c - the store's schema as an ordered list of migrations. The version lives in
 * the store itself (SQLite: PRAGMA user_version); each migration runs in one transaction with
 * the version bump, so a store is at one version or the next, never between. A store from any
 * earlier version is brought up to date on open (tests/store/test_store.c opens a wave-1 store:
 * every migration runs on it).
 *
 *   1  the service's stored results (wave 1): analyses(id, server, file, identity, engine,
 *      source, validators, created, checked, report)
 *   2  the QA pipeline: calls, jobs, workers, ingest positions, job events, scores (the
 *      scoring stage writes them; the API reads them), daily roll-ups; analyses gain a call and
 *      queryable columns, filled from the reports already stored
 *   3  counters: the pipeline's Prometheus counters (jobs finished, errors and retries by stage
 *      and reason, skips by reason, time from queued to complete, worker pauses), kept in the
 *      store so that every worker process adds to the same ones and they survive restarts
 *   4  transcripts, and their segments for full-text search
 *   5  scoring: each scores row keeps the hashes of the scorecard and of the LLM provider
 *      configuration that made it (scorecard_hash, provider_hash: `scorecard` stays the card's
 *      name and `backend` what judged it, "rules" or the LLM provider) and the call's topic;
 *      supervisors' overrides (score_overrides: every one kept, the newest per call and
 *      category shown); one row per LLM request (llm_calls) for the daily caps; roll-ups count
 *      the partial scores too (partial_n, partial_sum)
 *   6  level envelopes: call_envelopes, one row per call (the QA worker's analysis writes it
 *      with the analysis, in the same transaction): the step in seconds and the legs as one
 *      JSON object {leg: [level of each step in tenths of a dB FS, integers]}, kept apart from
 *      the report so that reading a report does not read its envelope
 *   7  the dashboard's calls list: analyses gain clipping_pct and level_db (for its problem
 *      badges; filled from the reports already stored, on SQLite), and the indexes that keep
 *      its orders fast (calls by date, campaign and length; covering indexes of the analysis'
 *      and the scores' figures it sorts and filters on) and the operations view's (jobs by
 *      their end).
 *   8  audio_roots: the folders recordings may be read from, as the ingests that put them there
 *      registered them (a watched folder, the upload folder), beside those the settings name:
 *      the worker and the service open a recording only beneath one of them
 *   9  every stored MOS names its model; 10  POST /ask's record (ask_log)
 *  11  a redacted call's state and the path of its redacted audio copy (analyses.redaction,
 *      redacted_audio; docs/privacy.md)
 *  13  redact_marks: pause and resume marks sent for a call while it was recorded
 *  12  deletions: one row per deletion by retention or erasure (store_retain_rows.c): when, the
 *      call (its id; its source and recording id for retention only: an erased call leaves no
 *      identifier but its number), what went, why, and what was removed and verified (JSON)
 *  14  users, their API tokens' hashes and the audit trail, append-only by triggers
 *      (store_users.c; docs/privacy/access.md, "Users, roles and access")
 *  15  the customer's sentiment per scored call (scores.customer_shift, customer_drop, from the
 *      result's sentiment trend; docs/sentiment.md) and its roll-ups (daily_stats.cust_shift_sum,
 *      cust_shift_n, cust_drops); rows rolled up before it count no shift until recomputed
 *  16  voice_profiles: an agent's voice profile per campaign (biometric data, only for the
 *      campaigns of voice_profile_campaigns): the running mean of the agent leg's voice prints
 *      of the agent's two-leg calls, the calls and speech it was made from, when it was last
 *      updated (store_profiles.c; docs/privacy/retention.md, "Agent voice profiles")
 *  18  who sent a pause mark (redact_marks.client, scope; `who` the user's name), and each user's
 *      credential epoch (users.cred_epoch), which their sessions are bound to
 *  19  call_files: every file callqa wrote for a call (the upload and its legs, its capture, the
 *      redacted copy, the service's transcode), by kind and path, as its writer recorded it: the
 *      purge and the erasure delete these whatever folders their settings name
 * (store_retain_files.c; docs/privacy/retention.md, "What callqa keeps of a call")
 *  20  day_summary: one row a day, the sums of its daily_stats rows and its top and bottom agent
 *      (store_int.h, STORE__SUMMARY_LITE), kept by the roll-ups in the transaction that changes
 *      the day's daily_stats (store_jobs_stats.c) and filled here from those already stored:
 *      the daily summary reads 90 rows for 90 days; and the index daily_stats_agents, the
 *      leaderboard's figures per day and agent, read without the rows (PostgreSQL: and
 *      scores_flagged_cover, the flagged calls' ranking without the rows)
 *  21  routes: each call's carrier (the dialer's channel, or a route pattern), dialer server and
 *      DID, and its local hour (calls.carrier, server_ip, did, hour); what a capture says of the
 *      call's network and far end (analyses.net_loss_pct, net_jitter_ms, sip_trunk,
 *      sip_user_agent, sip_codec, sip_pdd_ms) and its dropouts (analyses.dropouts_per_min); the
 *      dialer's call attempts with or without audio (call_attempts, from vicidial_carrier_log);
 *      the roll-ups per route and hour and per route and day (route_hourly, route_daily) and
 *      the attempts' hang-up causes per route and day (route_causes), kept by the roll-ups as
 *      daily_stats is (store_routes.c); the changes found in them (route_changes)
 *  22  the partial-only calls (a partial score and no total) counted and summed apart in the
 *      roll-ups and the days' summaries (daily_stats, day_summary: partial_only_n,
 *      partial_only_sum), filled from the scores already stored; the leaderboard's index
 *      (daily_stats_agents) covers them
 *
 * PostgreSQL runs the same migrations in its dialect (k_pgN): ids are identity columns, REAL is
 * double precision, the version is the one row of callqa_schema, and the search rows are
 * transcript_segments with a tsvector (the 'simple' configuration: lower-cased words, no
 * stemming, as FTS5's unicode61 tokenizer) under a GIN index. v2's filling of the new columns
 * from reports stored by wave 1 has no PostgreSQL form: no wave-1 store was ever PostgreSQL.
 * Migrations run under an advisory lock, so that workers starting together migrate once.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

typedef struct migration {
    int version;
    const char *const *steps; /* SQLite statements, NULL-terminated */
    const char *const *pg;    /* the same in PostgreSQL's dialect */
} migration;

static const char *const k_v1[] = {
    "CREATE TABLE IF NOT EXISTS analyses ("
    " id INTEGER PRIMARY KEY, server TEXT NOT NULL, file TEXT NOT NULL,"
    " identity TEXT NOT NULL, engine TEXT NOT NULL, source TEXT, validators TEXT,"
    " created REAL NOT NULL, checked REAL NOT NULL, report TEXT NOT NULL);",
    "CREATE INDEX IF NOT EXISTS analyses_key ON analyses (server, file, engine, id);",
    "CREATE INDEX IF NOT EXISTS analyses_created ON analyses (created);",
    NULL,
};

static const char *const k_v2[] = {
    "CREATE TABLE calls ("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL, recording_id TEXT NOT NULL,"
    " vicidial_id TEXT, uniqueid TEXT, lead_id TEXT,"
    " agent_user TEXT, agent_name TEXT, campaign_id TEXT, campaign_name TEXT, direction TEXT,"
    " call_date TEXT, day TEXT, tz TEXT, call_epoch REAL, length_sec INTEGER,"
    " disposition TEXT, term_reason TEXT,"
    " audio TEXT, audio_in TEXT, audio_out TEXT,"
    " orig_deadline REAL, open INTEGER NOT NULL DEFAULT 0,"
    " created REAL NOT NULL, updated REAL NOT NULL,"
    " UNIQUE (source, recording_id));",
    "CREATE INDEX calls_day ON calls (day, agent_user);",
    "CREATE INDEX calls_campaign ON calls (day, campaign_id);",
    "CREATE INDEX calls_uniqueid ON calls (uniqueid);",
    "CREATE INDEX calls_recording ON calls (recording_id);",
    "CREATE INDEX calls_open ON calls (source, open, created);",
    "CREATE INDEX calls_agent ON calls (agent_user, id);",
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY, call_id INTEGER NOT NULL UNIQUE REFERENCES calls(id),"
    " state TEXT NOT NULL, priority REAL NOT NULL, next_attempt REAL NOT NULL DEFAULT 0,"
    " retry_count INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT, lease_expires REAL, lease_token INTEGER NOT NULL DEFAULT 0,"
    " heartbeat REAL, stages TEXT NOT NULL DEFAULT '{}',"
    " skip_reason TEXT, error_stage TEXT, error_message TEXT,"
    " queued REAL NOT NULL, started REAL, finished REAL, updated REAL NOT NULL);",
    "CREATE INDEX jobs_claim ON jobs (state, priority, id);",
    "CREATE INDEX jobs_queued ON jobs (queued);",
    "ALTER TABLE analyses ADD COLUMN call_id INTEGER REFERENCES calls(id);",
    "ALTER TABLE analyses ADD COLUMN duration_sec REAL;",
    "ALTER TABLE analyses ADD COLUMN legs INTEGER;",
    "ALTER TABLE analyses ADD COLUMN speech_pct_in REAL;",
    "ALTER TABLE analyses ADD COLUMN speech_pct_out REAL;",
    "ALTER TABLE analyses ADD COLUMN mos_in REAL;",
    "ALTER TABLE analyses ADD COLUMN mos_out REAL;",
    "ALTER TABLE analyses ADD COLUMN one_way INTEGER;",
    "ALTER TABLE analyses ADD COLUMN talk_sec_in REAL;",
    "ALTER TABLE analyses ADD COLUMN talk_sec_out REAL;",
    "ALTER TABLE analyses ADD COLUMN dead_air_sec REAL;",
    "ALTER TABLE analyses ADD COLUMN overtalk_sec REAL;",
    "ALTER TABLE analyses ADD COLUMN hold_sec REAL;",
    "ALTER TABLE analyses ADD COLUMN hold_count INTEGER;",
    "ALTER TABLE analyses ADD COLUMN tone_count INTEGER;",
    "ALTER TABLE analyses ADD COLUMN dtmf_count INTEGER;",
    "ALTER TABLE analyses ADD COLUMN warning_codes TEXT;",
    "CREATE UNIQUE INDEX analyses_call ON analyses (call_id) WHERE call_id IS NOT NULL;",
    /* the reports already stored give their columns */
    "UPDATE analyses SET"
    " duration_sec = json_extract(report, '$.duration'),"
    " legs = CASE WHEN json_extract(report, '$.has_legs') THEN 2 ELSE 1 END,"
    " speech_pct_in = json_extract(report, '$.inbound.speech_pct'),"
    " speech_pct_out = json_extract(report, '$.outbound.speech_pct'),"
    " mos_in = json_extract(report, '$.inbound.nisqa.mos'),"
    " mos_out = json_extract(report, '$.outbound.nisqa.mos'),"
    " one_way = json_extract(report, '$.one_way_audio'),"
    " talk_sec_in = json_extract(report, '$.conversation.inbound.talk_sec'),"
    " talk_sec_out = json_extract(report, '$.conversation.outbound.talk_sec'),"
    " dead_air_sec = json_extract(report, '$.conversation.dead_air.total_sec'),"
    " overtalk_sec = json_extract(report, '$.conversation.overtalk.total_sec'),"
    " hold_sec = json_extract(report, '$.call_events.hold_total_sec'),"
    " hold_count = json_extract(report, '$.call_events.hold_count')"
    " WHERE json_valid(report);",
    "CREATE TABLE workers ("
    " id TEXT PRIMARY KEY, host TEXT, pid INTEGER, started REAL, heartbeat REAL,"
    " state TEXT, pause_reason TEXT, jobs_done INTEGER NOT NULL DEFAULT 0,"
    " current_call INTEGER);",
    "CREATE TABLE ingest_sources ("
    " source TEXT PRIMARY KEY, mark INTEGER NOT NULL DEFAULT 0, last_scan REAL,"
    " lease_owner TEXT, lease_expires REAL, lease_token INTEGER NOT NULL DEFAULT 0);",
    "CREATE TABLE job_events ("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, call_id INTEGER NOT NULL, state TEXT NOT NULL);",
    /* scores: written by the scoring stage, read by the API (null until then) */
    "CREATE TABLE scores ("
    " call_id INTEGER PRIMARY KEY REFERENCES calls(id), day TEXT,"
    " scorecard TEXT, backend TEXT, total_score REAL, partial_score REAL, coverage REAL,"
    " flagged INTEGER NOT NULL DEFAULT 0, flag_reason TEXT,"
    " greeting REAL,"
    " customer_id REAL,"
    " needs REAL,"
    " product REAL,"
    " communication REAL,"
    " resolution REAL,"
    " closing REAL,"
    " compliance REAL,"
    " summary TEXT, strengths TEXT, improvements TEXT, llm_provider TEXT, llm_model TEXT,"
    " detail TEXT, created REAL);",
    "CREATE INDEX scores_flagged ON scores (flagged, day, total_score);",
    "CREATE TABLE daily_stats ("
    " day TEXT NOT NULL, source TEXT NOT NULL, agent_user TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL,"
    " queued INTEGER NOT NULL, analysed INTEGER NOT NULL, skipped INTEGER NOT NULL,"
    " errored INTEGER NOT NULL, talk_sec REAL NOT NULL, hold_sec REAL NOT NULL,"
    " dead_air_sec REAL NOT NULL, one_way_calls INTEGER NOT NULL,"
    " mos_sum REAL NOT NULL, mos_n INTEGER NOT NULL,"
    " scored INTEGER NOT NULL, score_sum REAL NOT NULL, score_min REAL, score_max REAL,"
    " flagged INTEGER NOT NULL,"
    " cat_greeting_sum REAL NOT NULL, cat_greeting_n INTEGER NOT NULL,"
    " cat_customer_id_sum REAL NOT NULL, cat_customer_id_n INTEGER NOT NULL,"
    " cat_needs_sum REAL NOT NULL, cat_needs_n INTEGER NOT NULL,"
    " cat_product_sum REAL NOT NULL, cat_product_n INTEGER NOT NULL,"
    " cat_communication_sum REAL NOT NULL, cat_communication_n INTEGER NOT NULL,"
    " cat_resolution_sum REAL NOT NULL, cat_resolution_n INTEGER NOT NULL,"
    " cat_closing_sum REAL NOT NULL, cat_closing_n INTEGER NOT NULL,"
    " cat_compliance_sum REAL NOT NULL, cat_compliance_n INTEGER NOT NULL,"
    " PRIMARY KEY (day, source, agent_user, campaign_id));",
    NULL,
};

static const char *const k_v3[] = {
    "CREATE TABLE counters ("
    " name TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '', value REAL NOT NULL,"
    " PRIMARY KEY (name, labels));",
    NULL,
};

/* v4: transcripts, and their segments for full-text search (rowid = call id * 100000 + the
 * segment's index, so that a call's rows are replaced by a rowid range, not a scan) */
static const char *const k_v4[] = {
    "CREATE TABLE transcripts ("
    " call_id INTEGER PRIMARY KEY REFERENCES calls(id),"
    " engine TEXT NOT NULL, model TEXT, language TEXT, word_count INTEGER NOT NULL,"
    " seconds REAL, audio_sent_sec REAL, audio_recorded_sec REAL, hallucination_rate REAL,"
    " config_hash TEXT NOT NULL, text TEXT NOT NULL, detail TEXT NOT NULL, created REAL NOT NULL);",
    "CREATE VIRTUAL TABLE transcript_fts USING fts5(text, speaker UNINDEXED, call_id UNINDEXED,"
    " seg UNINDEXED, t_start UNINDEXED, t_end UNINDEXED,"
    " tokenize = 'unicode61 remove_diacritics 2');",
    NULL,
};

/* v5: scoring (see the list at the top) */
static const char *const k_v5[] = {
    "ALTER TABLE scores ADD COLUMN scorecard_hash TEXT;",
    "ALTER TABLE scores ADD COLUMN provider_hash TEXT;",
    "ALTER TABLE scores ADD COLUMN topic_class TEXT;",
    "ALTER TABLE scores ADD COLUMN topic_subclass TEXT;",
    /* the flagged list's order: the total, or the partial score when there is no total */
    "CREATE INDEX scores_flagged_rank ON scores (flagged, day, COALESCE(total_score, "
    "partial_score), call_id);",
    "CREATE TABLE score_overrides ("
    " id INTEGER PRIMARY KEY, call_id INTEGER NOT NULL REFERENCES calls(id),"
    " category TEXT NOT NULL, score REAL NOT NULL, supervisor TEXT NOT NULL, comment TEXT,"
    " created REAL NOT NULL);",
    "CREATE INDEX score_overrides_call ON score_overrides (call_id, category, id);",
    "CREATE TABLE llm_calls ("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL, call_id INTEGER,"
    " purpose TEXT NOT NULL, provider TEXT NOT NULL, model TEXT, input_tokens INTEGER,"
    " output_tokens INTEGER, latency_sec REAL, cost_usd REAL, outcome TEXT NOT NULL);",
    "CREATE INDEX llm_calls_day ON llm_calls (day);",
    "CREATE INDEX llm_calls_call ON llm_calls (call_id) WHERE call_id IS NOT NULL;",
    "ALTER TABLE daily_stats ADD COLUMN partial_n INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE daily_stats ADD COLUMN partial_sum REAL NOT NULL DEFAULT 0;",
    NULL,
};

/* v6: level envelopes (see the list at the top) */
static const char *const k_v6[] = {
    "CREATE TABLE call_envelopes ("
    " call_id INTEGER PRIMARY KEY REFERENCES calls(id), step_sec REAL NOT NULL,"
    " legs TEXT NOT NULL, created REAL NOT NULL);",
    NULL,
};

/* v7: the calls list (see the list at the top). A leg's level is its P.56 active speech level,
 * else its RMS level, counted only for a leg with 5 % speech or more (as the worker does) */
#define V7_LEVEL(leg)                                                                              \
    "CASE WHEN json_extract(report, '$." leg ".speech_pct') >= 5 THEN COALESCE("                   \
    "json_extract(report, '$." leg ".active_level_db'), json_extract(report, '$." leg              \
    ".rms_db')) "                                                                                  \
    "END"
static const char *const k_v7[] = {
    "ALTER TABLE analyses ADD COLUMN clipping_pct REAL;",
    "ALTER TABLE analyses ADD COLUMN level_db REAL;",
    "UPDATE analyses SET"
    " clipping_pct = CASE WHEN json_extract(report, '$.outbound.quality.clipping_pct') >"
    " COALESCE(json_extract(report, '$.inbound.quality.clipping_pct'), -1) THEN"
    " json_extract(report, '$.outbound.quality.clipping_pct') ELSE"
    " json_extract(report, '$.inbound.quality.clipping_pct') END,"
    " level_db = CASE WHEN " V7_LEVEL("outbound") " < COALESCE(" V7_LEVEL(
        "inbound") ", 1e9)"
                   " THEN " V7_LEVEL("outbound") " ELSE " V7_LEVEL(
                       "inbound") " END"
                                  " WHERE call_id IS NOT NULL AND json_valid(report);",
    "CREATE INDEX calls_date ON calls (call_date);",
    "CREATE INDEX calls_campaign_id ON calls (campaign_id);",
    "CREATE INDEX calls_length ON calls (length_sec);",
    "CREATE INDEX analyses_list ON analyses (call_id, one_way, dtmf_count, dead_air_sec,"
    " duration_sec, mos_in, mos_out) WHERE call_id IS NOT NULL;",
    "CREATE INDEX scores_list ON scores (call_id, total_score, flagged);",
    "CREATE INDEX jobs_finished ON jobs (finished);",
    NULL,
};
#undef V7_LEVEL

/* ---- PostgreSQL ------------------------------------------------------------------------------ */

static const char *const k_pg1[] = {
    "CREATE TABLE IF NOT EXISTS analyses ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, server TEXT NOT NULL,"
    " file TEXT NOT NULL, identity TEXT NOT NULL, engine TEXT NOT NULL, source TEXT,"
    " validators TEXT, created DOUBLE PRECISION NOT NULL, checked DOUBLE PRECISION NOT NULL,"
    " report TEXT NOT NULL);",
    "CREATE INDEX IF NOT EXISTS analyses_key ON analyses (server, file, engine, id);",
    "CREATE INDEX IF NOT EXISTS analyses_created ON analyses (created);",
    NULL,
};

static const char *const k_pg2[] = {
    "CREATE TABLE calls ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " source TEXT NOT NULL, recording_id TEXT NOT NULL,"
    " vicidial_id TEXT, uniqueid TEXT, lead_id TEXT,"
    " agent_user TEXT, agent_name TEXT, campaign_id TEXT, campaign_name TEXT, direction TEXT,"
    " call_date TEXT, day TEXT, tz TEXT, call_epoch DOUBLE PRECISION, length_sec INTEGER,"
    " disposition TEXT, term_reason TEXT,"
    " audio TEXT, audio_in TEXT, audio_out TEXT,"
    " orig_deadline DOUBLE PRECISION, open INTEGER NOT NULL DEFAULT 0,"
    " created DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,"
    " UNIQUE (source, recording_id));",
    "CREATE INDEX calls_day ON calls (day, agent_user);",
    "CREATE INDEX calls_campaign ON calls (day, campaign_id);",
    "CREATE INDEX calls_uniqueid ON calls (uniqueid);",
    "CREATE INDEX calls_recording ON calls (recording_id);",
    "CREATE INDEX calls_open ON calls (source, open, created);",
    "CREATE INDEX calls_agent ON calls (agent_user, id);",
    "CREATE TABLE jobs ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " call_id BIGINT NOT NULL UNIQUE REFERENCES calls(id),"
    " state TEXT NOT NULL, priority DOUBLE PRECISION NOT NULL,"
    " next_attempt DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " retry_count INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT, lease_expires DOUBLE PRECISION, lease_token BIGINT NOT NULL DEFAULT 0,"
    " heartbeat DOUBLE PRECISION, stages TEXT NOT NULL DEFAULT '{}',"
    " skip_reason TEXT, error_stage TEXT, error_message TEXT,"
    " queued DOUBLE PRECISION NOT NULL, started DOUBLE PRECISION, finished DOUBLE PRECISION,"
    " updated DOUBLE PRECISION NOT NULL);",
    "CREATE INDEX jobs_claim ON jobs (state, priority, id);",
    "CREATE INDEX jobs_queued ON jobs (queued);",
    "ALTER TABLE analyses ADD COLUMN call_id BIGINT REFERENCES calls(id),"
    " ADD COLUMN duration_sec DOUBLE PRECISION, ADD COLUMN legs INTEGER,"
    " ADD COLUMN speech_pct_in DOUBLE PRECISION, ADD COLUMN speech_pct_out DOUBLE PRECISION,"
    " ADD COLUMN mos_in DOUBLE PRECISION, ADD COLUMN mos_out DOUBLE PRECISION,"
    " ADD COLUMN one_way INTEGER, ADD COLUMN talk_sec_in DOUBLE PRECISION,"
    " ADD COLUMN talk_sec_out DOUBLE PRECISION, ADD COLUMN dead_air_sec DOUBLE PRECISION,"
    " ADD COLUMN overtalk_sec DOUBLE PRECISION, ADD COLUMN hold_sec DOUBLE PRECISION,"
    " ADD COLUMN hold_count INTEGER, ADD COLUMN tone_count INTEGER, ADD COLUMN dtmf_count INTEGER,"
    " ADD COLUMN warning_codes TEXT;",
    "CREATE UNIQUE INDEX analyses_call ON analyses (call_id) WHERE call_id IS NOT NULL;",
    "CREATE TABLE workers ("
    " id TEXT PRIMARY KEY, host TEXT, pid INTEGER, started DOUBLE PRECISION,"
    " heartbeat DOUBLE PRECISION, state TEXT, pause_reason TEXT,"
    " jobs_done BIGINT NOT NULL DEFAULT 0, current_call BIGINT);",
    "CREATE TABLE ingest_sources ("
    " source TEXT PRIMARY KEY, mark BIGINT NOT NULL DEFAULT 0, last_scan DOUBLE PRECISION,"
    " lease_owner TEXT, lease_expires DOUBLE PRECISION, lease_token BIGINT NOT NULL DEFAULT 0);",
    "CREATE TABLE job_events ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts DOUBLE PRECISION NOT NULL,"
    " call_id BIGINT NOT NULL, state TEXT NOT NULL);",
    "CREATE INDEX job_events_ts ON job_events (ts);",
    "CREATE TABLE scores ("
    " call_id BIGINT PRIMARY KEY REFERENCES calls(id), day TEXT,"
    " scorecard TEXT, backend TEXT, total_score DOUBLE PRECISION,"
    " partial_score DOUBLE PRECISION, coverage DOUBLE PRECISION,"
    " flagged INTEGER NOT NULL DEFAULT 0, flag_reason TEXT,"
    " greeting DOUBLE PRECISION, customer_id DOUBLE PRECISION, needs DOUBLE PRECISION,"
    " product DOUBLE PRECISION, communication DOUBLE PRECISION, resolution DOUBLE PRECISION,"
    " closing DOUBLE PRECISION, compliance DOUBLE PRECISION,"
    " summary TEXT, strengths TEXT, improvements TEXT, llm_provider TEXT, llm_model TEXT,"
    " detail TEXT, created DOUBLE PRECISION);",
    "CREATE INDEX scores_flagged ON scores (flagged, day, total_score);",
    "CREATE TABLE daily_stats ("
    " day TEXT NOT NULL, source TEXT NOT NULL, agent_user TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL,"
    " queued BIGINT NOT NULL, analysed BIGINT NOT NULL, skipped BIGINT NOT NULL,"
    " errored BIGINT NOT NULL, talk_sec DOUBLE PRECISION NOT NULL,"
    " hold_sec DOUBLE PRECISION NOT NULL, dead_air_sec DOUBLE PRECISION NOT NULL,"
    " one_way_calls BIGINT NOT NULL, mos_sum DOUBLE PRECISION NOT NULL, mos_n BIGINT NOT NULL,"
    " scored BIGINT NOT NULL, score_sum DOUBLE PRECISION NOT NULL,"
    " score_min DOUBLE PRECISION, score_max DOUBLE PRECISION, flagged BIGINT NOT NULL,"
    " cat_greeting_sum DOUBLE PRECISION NOT NULL, cat_greeting_n BIGINT NOT NULL,"
    " cat_customer_id_sum DOUBLE PRECISION NOT NULL, cat_customer_id_n BIGINT NOT NULL,"
    " cat_needs_sum DOUBLE PRECISION NOT NULL, cat_needs_n BIGINT NOT NULL,"
    " cat_product_sum DOUBLE PRECISION NOT NULL, cat_product_n BIGINT NOT NULL,"
    " cat_communication_sum DOUBLE PRECISION NOT NULL, cat_communication_n BIGINT NOT NULL,"
    " cat_resolution_sum DOUBLE PRECISION NOT NULL, cat_resolution_n BIGINT NOT NULL,"
    " cat_closing_sum DOUBLE PRECISION NOT NULL, cat_closing_n BIGINT NOT NULL,"
    " cat_compliance_sum DOUBLE PRECISION NOT NULL, cat_compliance_n BIGINT NOT NULL,"
    " PRIMARY KEY (day, source, agent_user, campaign_id));",
    NULL,
};

static const char *const k_pg3[] = {
    "CREATE TABLE counters ("
    " name TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '', value DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (name, labels));",
    NULL,
};

static const char *const k_pg4[] = {
    "CREATE TABLE transcripts ("
    " call_id BIGINT PRIMARY KEY REFERENCES calls(id),"
    " engine TEXT NOT NULL, model TEXT, language TEXT, word_count BIGINT NOT NULL,"
    " seconds DOUBLE PRECISION, audio_sent_sec DOUBLE PRECISION,"
    " audio_recorded_sec DOUBLE PRECISION, hallucination_rate DOUBLE PRECISION,"
    " config_hash TEXT NOT NULL, text TEXT NOT NULL, detail TEXT NOT NULL,"
    " created DOUBLE PRECISION NOT NULL);",
    "CREATE TABLE transcript_segments ("
    " call_id BIGINT NOT NULL, seg INTEGER NOT NULL, speaker TEXT,"
    " t_start DOUBLE PRECISION, t_end DOUBLE PRECISION, text TEXT NOT NULL,"
    " tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,"
    " PRIMARY KEY (call_id, seg));",
    "CREATE INDEX transcript_segments_tsv ON transcript_segments USING GIN (tsv);",
    NULL,
};

static const char *const k_pg5[] = {
    "ALTER TABLE scores ADD COLUMN scorecard_hash TEXT, ADD COLUMN provider_hash TEXT,"
    " ADD COLUMN topic_class TEXT, ADD COLUMN topic_subclass TEXT;",
    "CREATE INDEX scores_flagged_rank ON scores (flagged, day, COALESCE(total_score, "
    "partial_score), call_id);",
    "CREATE TABLE score_overrides ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " call_id BIGINT NOT NULL REFERENCES calls(id),"
    " category TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, supervisor TEXT NOT NULL,"
    " comment TEXT, created DOUBLE PRECISION NOT NULL);",
    "CREATE INDEX score_overrides_call ON score_overrides (call_id, category, id);",
    "CREATE TABLE llm_calls ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts DOUBLE PRECISION NOT NULL,"
    " day TEXT NOT NULL, call_id BIGINT, purpose TEXT NOT NULL, provider TEXT NOT NULL,"
    " model TEXT, input_tokens BIGINT, output_tokens BIGINT, latency_sec DOUBLE PRECISION,"
    " cost_usd DOUBLE PRECISION, outcome TEXT NOT NULL);",
    "CREATE INDEX llm_calls_day ON llm_calls (day);",
    "CREATE INDEX llm_calls_call ON llm_calls (call_id) WHERE call_id IS NOT NULL;",
    "ALTER TABLE daily_stats ADD COLUMN partial_n BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN partial_sum DOUBLE PRECISION NOT NULL DEFAULT 0;",
    NULL,
};

static const char *const k_pg6[] = {
    "CREATE TABLE call_envelopes ("
    " call_id BIGINT PRIMARY KEY REFERENCES calls(id), step_sec DOUBLE PRECISION NOT NULL,"
    " legs TEXT NOT NULL, created DOUBLE PRECISION NOT NULL);",
    NULL,
};

/* v7: no filling of the new columns from stored reports (a report is TEXT, and one that is not
 * JSON would stop the migration): calls analysed before it show no clipping or low-level badge
 * until analysed again. PostgreSQL's indexes name the call id, which SQLite's carry anyway. */
static const char *const k_pg7[] = {
    "ALTER TABLE analyses ADD COLUMN clipping_pct DOUBLE PRECISION,"
    " ADD COLUMN level_db DOUBLE PRECISION;",
    "CREATE INDEX calls_date ON calls (call_date, id);",
    "CREATE INDEX calls_campaign_id ON calls (campaign_id, id);",
    "CREATE INDEX calls_length ON calls (length_sec, id);",
    "CREATE INDEX analyses_list ON analyses (call_id, one_way, dtmf_count, dead_air_sec,"
    " duration_sec, mos_in, mos_out) WHERE call_id IS NOT NULL;",
    "CREATE INDEX scores_list ON scores (call_id, total_score, flagged);",
    "CREATE INDEX jobs_finished ON jobs (finished);",
    NULL,
};

static const char *const k_v8[] = {
    "CREATE TABLE audio_roots (root TEXT PRIMARY KEY, source TEXT NOT NULL, added REAL NOT NULL);",
    NULL,
};

static const char *const k_pg8[] = {
    "CREATE TABLE audio_roots (root TEXT PRIMARY KEY, source TEXT NOT NULL,"
    " added DOUBLE PRECISION NOT NULL);",
    NULL,
};

/* v9: every stored MOS names its model: the speech quality's (mos_in, mos_out: NISQA, which is
 * all earlier rows hold) and the network's (net_mos: the E-model's, of a call analysed with its
 * capture; docs/pipeline.md). */
static const char *const k_v9[] = {
    "ALTER TABLE analyses ADD COLUMN mos_model TEXT;",
    "ALTER TABLE analyses ADD COLUMN net_mos REAL;",
    "ALTER TABLE analyses ADD COLUMN net_mos_model TEXT;",
    "UPDATE analyses SET mos_model = 'NISQA v2' WHERE mos_in IS NOT NULL OR mos_out IS NOT NULL;",
    NULL,
};

static const char *const k_pg9[] = {
    "ALTER TABLE analyses ADD COLUMN mos_model TEXT, ADD COLUMN net_mos DOUBLE PRECISION,"
    " ADD COLUMN net_mos_model TEXT;",
    "UPDATE analyses SET mos_model = 'NISQA v2' WHERE mos_in IS NOT NULL OR mos_out IS NOT NULL;",
    NULL,
};

/* v10: each POST /ask with who asked, its question, its queries as run and their refusals
 * (docs/ask.md). */
static const char *const k_v10[] = {
    "CREATE TABLE ask_log ("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL, who TEXT NOT NULL,"
    " question TEXT NOT NULL, status INTEGER NOT NULL, rounds INTEGER NOT NULL,"
    " queries INTEGER NOT NULL, refused INTEGER NOT NULL, elapsed_sec REAL NOT NULL,"
    " error TEXT, detail TEXT NOT NULL);",
    "CREATE INDEX ask_log_day ON ask_log (day);",
    NULL,
};

static const char *const k_pg10[] = {
    "CREATE TABLE ask_log ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts DOUBLE PRECISION NOT NULL,"
    " day TEXT NOT NULL, who TEXT NOT NULL, question TEXT NOT NULL, status INTEGER NOT NULL,"
    " rounds INTEGER NOT NULL, queries INTEGER NOT NULL, refused INTEGER NOT NULL,"
    " elapsed_sec DOUBLE PRECISION NOT NULL, error TEXT, detail TEXT NOT NULL);",
    "CREATE INDEX ask_log_day ON ask_log (day);",
    NULL,
};

/* v11: a redacted call's state ("ok", or "failed": held back from playback) and its redacted
 * audio copy (docs/privacy.md). */
static const char *const k_v11[] = {
    "ALTER TABLE analyses ADD COLUMN redaction TEXT;",
    "ALTER TABLE analyses ADD COLUMN redacted_audio TEXT;",
    NULL,
};

static const char *const k_pg11[] = {
    "ALTER TABLE analyses ADD COLUMN redaction TEXT, ADD COLUMN redacted_audio TEXT;",
    NULL,
};

/* v12: the deletions' log (see the list at the top). No reference to calls: an erased call's
 * rows stay. */
static const char *const k_v12[] = {
    "CREATE TABLE deletions ("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, call_id INTEGER, source TEXT, recording_id TEXT,"
    " what TEXT NOT NULL, why TEXT NOT NULL, detail TEXT NOT NULL);",
    "CREATE INDEX deletions_call ON deletions (call_id);",
    "CREATE INDEX deletions_ts ON deletions (ts);",
    NULL,
};

static const char *const k_pg12[] = {
    "CREATE TABLE deletions ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts DOUBLE PRECISION NOT NULL,"
    " call_id BIGINT, source TEXT, recording_id TEXT, what TEXT NOT NULL, why TEXT NOT NULL,"
    " detail TEXT NOT NULL);",
    "CREATE INDEX deletions_call ON deletions (call_id);",
    "CREATE INDEX deletions_ts ON deletions (ts);",
    NULL,
};

/* v13: pause and resume marks sent for a call while it was recorded (POST /api/qa/marks;
 * docs/privacy.md): the dialer's id of the call, the mark, its time (UTC s). */
static const char *const k_v13[] = {
    "CREATE TABLE redact_marks ("
    " id INTEGER PRIMARY KEY, call_ref TEXT NOT NULL, mark TEXT NOT NULL, ts REAL NOT NULL,"
    " created REAL NOT NULL, who TEXT NOT NULL);",
    "CREATE INDEX redact_marks_ref ON redact_marks (call_ref);",
    NULL,
};

static const char *const k_pg13[] = {
    "CREATE TABLE redact_marks ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, call_ref TEXT NOT NULL,"
    " mark TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, created DOUBLE PRECISION NOT NULL,"
    " who TEXT NOT NULL);",
    "CREATE INDEX redact_marks_ref ON redact_marks (call_ref);",
    NULL,
};

/* v14: the users of the service (a password's argon2id string, never the password), their API
 * tokens (a hash of each, never the token) and the audit trail, which the store only appends to:
 * a trigger refuses every UPDATE and DELETE of it (docs/privacy/access.md, "Users, roles and
 * access").
 */
static const char *const k_v14[] = {
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " scopes TEXT NOT NULL DEFAULT '', password TEXT, disabled INTEGER NOT NULL DEFAULT 0,"
    " created REAL NOT NULL);",
    "CREATE TABLE user_tokens ("
    " id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    " hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '', created REAL NOT NULL);",
    "CREATE TABLE audit_log ("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL,"
    " action TEXT NOT NULL, target TEXT, client TEXT, status INTEGER NOT NULL);",
    "CREATE INDEX audit_log_ts ON audit_log (ts);",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    NULL,
};

static const char *const k_pg14[] = {
    "CREATE TABLE users ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL, scopes TEXT NOT NULL DEFAULT '', password TEXT,"
    " disabled INTEGER NOT NULL DEFAULT 0, created DOUBLE PRECISION NOT NULL);",
    "CREATE TABLE user_tokens ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " user_id BIGINT NOT NULL REFERENCES users(id), hash TEXT NOT NULL UNIQUE,"
    " label TEXT NOT NULL DEFAULT '', created DOUBLE PRECISION NOT NULL);",
    "CREATE TABLE audit_log ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts DOUBLE PRECISION NOT NULL,"
    " who TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, target TEXT, client TEXT,"
    " status INTEGER NOT NULL);",
    "CREATE INDEX audit_log_ts ON audit_log (ts);",
    "CREATE FUNCTION callqa_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION callqa_audit_refuse();",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION callqa_audit_refuse();",
    NULL,
};

/* v15: the customer's sentiment shift (-10..10, NULL: not measured) and drop (1, 0, NULL) of a
 * scored call, and their sums in the roll-ups (docs/sentiment.md). */
static const char *const k_v15[] = {
    "ALTER TABLE scores ADD COLUMN customer_shift REAL;",
    "ALTER TABLE scores ADD COLUMN customer_drop INTEGER;",
    "ALTER TABLE daily_stats ADD COLUMN cust_shift_sum REAL NOT NULL DEFAULT 0;",
    "ALTER TABLE daily_stats ADD COLUMN cust_shift_n INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE daily_stats ADD COLUMN cust_drops INTEGER NOT NULL DEFAULT 0;",
    NULL,
};

static const char *const k_pg15[] = {
    "ALTER TABLE scores ADD COLUMN customer_shift DOUBLE PRECISION,"
    " ADD COLUMN customer_drop INTEGER;",
    "ALTER TABLE daily_stats ADD COLUMN cust_shift_sum DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " ADD COLUMN cust_shift_n BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN cust_drops BIGINT NOT NULL DEFAULT 0;",
    NULL,
};

/* v16: agents' voice profiles (store_profiles.c): the print is a JSON array of numbers, the
 * running mean over `calls` calls. */
static const char *const k_v16[] = {
    "CREATE TABLE voice_profiles ("
    " agent TEXT NOT NULL, campaign TEXT NOT NULL, print TEXT NOT NULL,"
    " calls INTEGER NOT NULL, speech_sec REAL NOT NULL, updated REAL NOT NULL,"
    " PRIMARY KEY (agent, campaign));",
    NULL,
};

static const char *const k_pg16[] = {
    "CREATE TABLE voice_profiles ("
    " agent TEXT NOT NULL, campaign TEXT NOT NULL, print TEXT NOT NULL,"
    " calls BIGINT NOT NULL, speech_sec DOUBLE PRECISION NOT NULL,"
    " updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (agent, campaign));",
    NULL,
};

/* v17: the roll-ups keep each speech-quality model's MOS apart: mos_sum / mos_n are NISQA's
 * (analyses.mos_model 'NISQA v2', all a store held before DNSMOS), dnsmos_sum / dnsmos_n
 * DNSMOS's P.835 OVRL ('DNSMOS P.835 OVRL'); two models' scales are never averaged together. */
static const char *const k_v17[] = {
    "ALTER TABLE daily_stats ADD COLUMN dnsmos_sum REAL NOT NULL DEFAULT 0;",
    "ALTER TABLE daily_stats ADD COLUMN dnsmos_n INTEGER NOT NULL DEFAULT 0;",
    NULL,
};

static const char *const k_pg17[] = {
    "ALTER TABLE daily_stats ADD COLUMN dnsmos_sum DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " ADD COLUMN dnsmos_n BIGINT NOT NULL DEFAULT 0;",
    NULL,
};

/* v18: who sent a pause mark (the user's name in `who`, their address in `client`, what of the
 * calls they may see in `scope`: NULL every call, and for the marks stored before), and each
 * user's credential epoch, moved on by a new password and by disable or enable, which their
 * session cookies are bound to (docs/privacy/access.md, "Users, roles and access"). */
static const char *const k_v18[] = {
    "ALTER TABLE redact_marks ADD COLUMN client TEXT;",
    "ALTER TABLE redact_marks ADD COLUMN scope TEXT;",
    "ALTER TABLE users ADD COLUMN cred_epoch INTEGER NOT NULL DEFAULT 0;",
    NULL,
};

static const char *const k_pg18[] = {
    "ALTER TABLE redact_marks ADD COLUMN client TEXT, ADD COLUMN scope TEXT;",
    "ALTER TABLE users ADD COLUMN cred_epoch BIGINT NOT NULL DEFAULT 0;",
    NULL,
};

/* v19: the files callqa wrote for a call, recorded by their writers (store_file_record): the
 * kind (store_file_name) and the path (its folder's real path and its name). */
static const char *const k_v19[] = {
    "CREATE TABLE call_files ("
    " call_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, created REAL NOT NULL,"
    " PRIMARY KEY (call_id, path));",
    NULL,
};

static const char *const k_pg19[] = {
    "CREATE TABLE call_files ("
    " call_id BIGINT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,"
    " created DOUBLE PRECISION NOT NULL, PRIMARY KEY (call_id, path));",
    NULL,
};

/* v20: the days' figures and their best and worst agents, one row a day (day_summary), kept by
 * the roll-ups (store_jobs_stats.c, summary_day) and filled here from the roll-ups stored; the
 * leaderboard's figures per day and agent in an index of their own (daily_stats_agents). */
#define V20_INDEX                                                                                  \
    "CREATE INDEX daily_stats_agents ON daily_stats (day, agent_user, scored, score_sum, "         \
    "score_min, score_max, flagged);"
#define V20_DAYS "WITH days AS (SELECT DISTINCT day FROM daily_stats), "
static const char *const k_v20[] = {
    "CREATE TABLE day_summary (day TEXT PRIMARY KEY,"
    " total_calls INTEGER NOT NULL, analysed INTEGER NOT NULL, skipped INTEGER NOT NULL,"
    " errors INTEGER NOT NULL, talk_sec REAL NOT NULL, hold_sec REAL NOT NULL,"
    " dead_air_sec REAL NOT NULL, one_way_calls INTEGER NOT NULL, mos_sum REAL NOT NULL,"
    " mos_n INTEGER NOT NULL, scored INTEGER NOT NULL, score_sum REAL NOT NULL,"
    " score_min REAL, score_max REAL, flagged INTEGER NOT NULL, greeting_sum REAL NOT NULL,"
    " greeting_n INTEGER NOT NULL, customer_id_sum REAL NOT NULL,"
    " customer_id_n INTEGER NOT NULL, needs_sum REAL NOT NULL, needs_n INTEGER NOT NULL,"
    " product_sum REAL NOT NULL, product_n INTEGER NOT NULL, communication_sum REAL NOT NULL,"
    " communication_n INTEGER NOT NULL, resolution_sum REAL NOT NULL,"
    " resolution_n INTEGER NOT NULL, closing_sum REAL NOT NULL, closing_n INTEGER NOT NULL,"
    " compliance_sum REAL NOT NULL, compliance_n INTEGER NOT NULL, partial_n INTEGER NOT NULL,"
    " partial_sum REAL NOT NULL, customer_shift_sum REAL NOT NULL,"
    " customer_shift_n INTEGER NOT NULL, customer_drops INTEGER NOT NULL,"
    " dnsmos_sum REAL NOT NULL, dnsmos_n INTEGER NOT NULL, top_agent TEXT, top_n INTEGER,"
    " top_sum REAL, bottom_agent TEXT, bottom_n INTEGER, bottom_sum REAL);",
    V20_DAYS STORE__SUMMARY_LITE_V20 ";",
    V20_INDEX,
    NULL,
};

static const char *const k_pg20[] = {
    "CREATE TABLE day_summary (day TEXT PRIMARY KEY,"
    " total_calls BIGINT NOT NULL, analysed BIGINT NOT NULL, skipped BIGINT NOT NULL,"
    " errors BIGINT NOT NULL, talk_sec DOUBLE PRECISION NOT NULL,"
    " hold_sec DOUBLE PRECISION NOT NULL, dead_air_sec DOUBLE PRECISION NOT NULL,"
    " one_way_calls BIGINT NOT NULL, mos_sum DOUBLE PRECISION NOT NULL, mos_n BIGINT NOT NULL,"
    " scored BIGINT NOT NULL, score_sum DOUBLE PRECISION NOT NULL, score_min DOUBLE PRECISION,"
    " score_max DOUBLE PRECISION, flagged BIGINT NOT NULL,"
    " greeting_sum DOUBLE PRECISION NOT NULL, greeting_n BIGINT NOT NULL,"
    " customer_id_sum DOUBLE PRECISION NOT NULL, customer_id_n BIGINT NOT NULL,"
    " needs_sum DOUBLE PRECISION NOT NULL, needs_n BIGINT NOT NULL,"
    " product_sum DOUBLE PRECISION NOT NULL, product_n BIGINT NOT NULL,"
    " communication_sum DOUBLE PRECISION NOT NULL, communication_n BIGINT NOT NULL,"
    " resolution_sum DOUBLE PRECISION NOT NULL, resolution_n BIGINT NOT NULL,"
    " closing_sum DOUBLE PRECISION NOT NULL, closing_n BIGINT NOT NULL,"
    " compliance_sum DOUBLE PRECISION NOT NULL, compliance_n BIGINT NOT NULL,"
    " partial_n BIGINT NOT NULL, partial_sum DOUBLE PRECISION NOT NULL,"
    " customer_shift_sum DOUBLE PRECISION NOT NULL, customer_shift_n BIGINT NOT NULL,"
    " customer_drops BIGINT NOT NULL, dnsmos_sum DOUBLE PRECISION NOT NULL,"
    " dnsmos_n BIGINT NOT NULL, top_agent TEXT, top_n BIGINT, top_sum DOUBLE PRECISION,"
    " bottom_agent TEXT, bottom_n BIGINT, bottom_sum DOUBLE PRECISION);",
    V20_DAYS STORE__SUMMARY_PG_V20 ";",
    V20_INDEX,
    /* the flagged calls ranked on an index alone: PostgreSQL reads no expression's value from
     * an index-only scan (scores_flagged_rank), so the scores' two columns themselves */
    "CREATE INDEX scores_flagged_cover ON scores (flagged, day, total_score, partial_score,"
    " call_id);",
    NULL,
};
#undef V20_INDEX
#undef V20_DAYS

/* v21: routes (docs/routes.md): the call's route fields, what a capture says of its network and
 * far end, the dialer's call attempts, the roll-ups per route (dim: carrier, trunk, server,
 * campaign; name: its value) by local hour ("YYYY-MM-DD HH", the dialer's clock as calls.day)
 * and by day, the attempts' hang-up causes, and the changes found. Each figure keeps its sum,
 * its sum of squares and its count (a change test weighs an hour by its calls); the attempts'
 * figures are NULL where no attempt can be joined to the route (trunk, campaign). */
#define V21_CALLS(T)                                                                               \
    "ALTER TABLE calls ADD COLUMN carrier TEXT;", "ALTER TABLE calls ADD COLUMN server_ip TEXT;",  \
        "ALTER TABLE calls ADD COLUMN did TEXT;", "ALTER TABLE calls ADD COLUMN hour TEXT;",       \
        "UPDATE calls SET hour = substr(call_date, 1, 13) WHERE call_date IS NOT NULL;",           \
        "CREATE INDEX calls_hour ON calls (hour);",                                                \
        "ALTER TABLE analyses ADD COLUMN net_loss_pct " T ";",                                     \
        "ALTER TABLE analyses ADD COLUMN net_jitter_ms " T ";",                                    \
        "ALTER TABLE analyses ADD COLUMN dropouts_per_min " T ";",                                 \
        "ALTER TABLE analyses ADD COLUMN sip_trunk TEXT;",                                         \
        "ALTER TABLE analyses ADD COLUMN sip_user_agent TEXT;",                                    \
        "ALTER TABLE analyses ADD COLUMN sip_codec TEXT;",                                         \
        "ALTER TABLE analyses ADD COLUMN sip_pdd_ms " T ";"
/* The figures of a route's roll-up row (route_hourly, route_daily: store_routes.h's
 * store_route_figs, in its order), R the type of a sum, I of a count; the attempts' may be NULL. */
#define ROUTE_FIGS(R, I)                                                                           \
    " calls " I " NOT NULL,"                                                                       \
    " analysed " I " NOT NULL,"                                                                    \
    " mos_sum " R " NOT NULL,"                                                                     \
    " mos_sq " R " NOT NULL,"                                                                      \
    " mos_n " I " NOT NULL,"                                                                       \
    " dnsmos_sum " R " NOT NULL,"                                                                  \
    " dnsmos_sq " R " NOT NULL,"                                                                   \
    " dnsmos_n " I " NOT NULL,"                                                                    \
    " net_mos_sum " R " NOT NULL,"                                                                 \
    " net_mos_sq " R " NOT NULL,"                                                                  \
    " net_mos_n " I " NOT NULL,"                                                                   \
    " loss_sum " R " NOT NULL,"                                                                    \
    " loss_sq " R " NOT NULL,"                                                                     \
    " loss_n " I " NOT NULL,"                                                                      \
    " jitter_sum " R " NOT NULL,"                                                                  \
    " jitter_sq " R " NOT NULL,"                                                                   \
    " jitter_n " I " NOT NULL,"                                                                    \
    " pdd_sum " R " NOT NULL,"                                                                     \
    " pdd_sq " R " NOT NULL,"                                                                      \
    " pdd_n " I " NOT NULL,"                                                                       \
    " one_way " I " NOT NULL,"                                                                     \
    " one_way_n " I " NOT NULL,"                                                                   \
    " dead_air " I " NOT NULL,"                                                                    \
    " dead_air_n " I " NOT NULL,"                                                                  \
    " dropouts_sum " R " NOT NULL,"                                                                \
    " dropouts_sq " R " NOT NULL,"                                                                 \
    " dropouts_n " I " NOT NULL,"                                                                  \
    " clipping " I " NOT NULL,"                                                                    \
    " clipping_n " I " NOT NULL,"                                                                  \
    " score_sum " R " NOT NULL,"                                                                   \
    " score_sq " R " NOT NULL,"                                                                    \
    " score_n " I " NOT NULL,"                                                                     \
    " attempts " I ","                                                                             \
    " answered " I ","                                                                             \
    " dial_sum " R ","                                                                             \
    " dial_sq " R ","                                                                              \
    " dial_n " I ","
static const char *const k_v21[] = {
    V21_CALLS("REAL"),
    "CREATE TABLE call_attempts ("
    " source TEXT NOT NULL, uniqueid TEXT NOT NULL, call_date TEXT, day TEXT, hour TEXT,"
    " epoch REAL, server_ip TEXT, lead_id TEXT, channel TEXT, carrier TEXT, dialstatus TEXT,"
    " hangup_cause INTEGER, sip_hangup_cause INTEGER, sip_hangup_reason TEXT, dial_time REAL,"
    " answered_time REAL, caller_code TEXT, call_id INTEGER, created REAL NOT NULL,"
    " PRIMARY KEY (source, uniqueid));",
    "CREATE INDEX call_attempts_hour ON call_attempts (hour, carrier);",
    "CREATE INDEX call_attempts_call ON call_attempts (call_id);",
    "CREATE INDEX call_attempts_lead ON call_attempts (lead_id, call_date);",
    "CREATE TABLE route_hourly ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, hour TEXT NOT NULL, t REAL NOT NULL," ROUTE_FIGS(
        "REAL", "INTEGER") " PRIMARY KEY (dim, name, hour));",
    "CREATE INDEX route_hourly_day ON route_hourly (dim, hour);",
    "CREATE TABLE route_daily ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, day TEXT NOT NULL," ROUTE_FIGS(
        "REAL", "INTEGER") " PRIMARY KEY (dim, name, day));",
    "CREATE INDEX route_daily_day ON route_daily (dim, day);",
    "CREATE TABLE route_causes ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,"
    " cause TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dim, name, day, kind, cause));",
    "CREATE INDEX route_causes_day ON route_causes (dim, day);",
    "CREATE TABLE route_changes ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, figure TEXT NOT NULL, t_start REAL NOT NULL,"
    " t_found REAL NOT NULL, level_before REAL NOT NULL, level_after REAL NOT NULL,"
    " calls REAL NOT NULL, direction TEXT NOT NULL, method TEXT NOT NULL, examples TEXT, found "
    "REAL NOT NULL,"
    " PRIMARY KEY (dim, name, figure, t_start));",
    "CREATE INDEX route_changes_found ON route_changes (t_found);",
    NULL,
};

static const char *const k_pg21[] = {
    V21_CALLS("DOUBLE PRECISION"),
    "CREATE TABLE call_attempts ("
    " source TEXT NOT NULL, uniqueid TEXT NOT NULL, call_date TEXT, day TEXT, hour TEXT,"
    " epoch DOUBLE PRECISION, server_ip TEXT, lead_id TEXT, channel TEXT, carrier TEXT,"
    " dialstatus TEXT,"
    " hangup_cause BIGINT, sip_hangup_cause BIGINT, sip_hangup_reason TEXT,"
    " dial_time DOUBLE PRECISION, answered_time DOUBLE PRECISION, caller_code TEXT,"
    " call_id BIGINT, created DOUBLE PRECISION NOT NULL, PRIMARY KEY (source, uniqueid));",
    "CREATE INDEX call_attempts_hour ON call_attempts (hour, carrier);",
    "CREATE INDEX call_attempts_call ON call_attempts (call_id);",
    "CREATE INDEX call_attempts_lead ON call_attempts (lead_id, call_date);",
    "CREATE TABLE route_hourly ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, hour TEXT NOT NULL, t DOUBLE PRECISION NOT "
    "NULL," ROUTE_FIGS("DOUBLE PRECISION", "BIGINT") " PRIMARY KEY (dim, name, hour));",
    "CREATE INDEX route_hourly_day ON route_hourly (dim, hour);",
    "CREATE TABLE route_daily ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, day TEXT NOT NULL," ROUTE_FIGS(
        "DOUBLE PRECISION", "BIGINT") " PRIMARY KEY (dim, name, day));",
    "CREATE INDEX route_daily_day ON route_daily (dim, day);",
    "CREATE TABLE route_causes ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,"
    " cause TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, name, day, kind, cause));",
    "CREATE INDEX route_causes_day ON route_causes (dim, day);",
    "CREATE TABLE route_changes ("
    " dim TEXT NOT NULL, name TEXT NOT NULL, figure TEXT NOT NULL,"
    " t_start DOUBLE PRECISION NOT NULL, t_found DOUBLE PRECISION NOT NULL,"
    " level_before DOUBLE PRECISION NOT NULL, level_after DOUBLE PRECISION NOT NULL,"
    " calls DOUBLE PRECISION NOT NULL, direction TEXT NOT NULL, method TEXT NOT NULL,"
    " examples TEXT,"
    " found DOUBLE PRECISION NOT NULL, PRIMARY KEY (dim, name, figure, t_start));",
    "CREATE INDEX route_changes_found ON route_changes (t_found);",
    NULL,
};
#undef V21_CALLS
#undef ROUTE_FIGS

/* v22: the partial-only calls' count and sum (a partial score and no total: the scorecard's
 * categories that need an LLM left unscored), in the roll-ups and the days' summaries, filled
 * from the scores already stored; the leaderboard's index covers them. */
#define V22_FILL                                                                                   \
    "UPDATE daily_stats SET (partial_only_n, partial_only_sum) = (SELECT "                         \
    "COUNT(sc.partial_score), COALESCE(SUM(sc.partial_score), 0) FROM calls c JOIN jobs j ON "     \
    "j.call_id = c.id JOIN scores sc ON sc.call_id = c.id WHERE c.day = daily_stats.day AND "      \
    "c.source = daily_stats.source AND COALESCE(c.agent_user, '') = daily_stats.agent_user AND "   \
    "COALESCE(c.campaign_id, '') = daily_stats.campaign_id AND sc.total_score IS NULL) WHERE "     \
    "partial_n > 0;",                                                                              \
        "UPDATE day_summary SET (partial_only_n, partial_only_sum) = (SELECT "                     \
        "COALESCE(SUM(d.partial_only_n), 0), COALESCE(SUM(d.partial_only_sum), 0) FROM "           \
        "daily_stats d WHERE d.day = day_summary.day);",                                           \
        "DROP INDEX daily_stats_agents;",                                                          \
        "CREATE INDEX daily_stats_agents ON daily_stats (day, agent_user, scored, score_sum, "     \
        "score_min, score_max, flagged, partial_only_n, partial_only_sum);"
static const char *const k_v22[] = {
    "ALTER TABLE daily_stats ADD COLUMN partial_only_n INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE daily_stats ADD COLUMN partial_only_sum REAL NOT NULL DEFAULT 0;",
    "ALTER TABLE day_summary ADD COLUMN partial_only_n INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE day_summary ADD COLUMN partial_only_sum REAL NOT NULL DEFAULT 0;",
    V22_FILL,
    NULL,
};

static const char *const k_pg22[] = {
    "ALTER TABLE daily_stats ADD COLUMN partial_only_n BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN partial_only_sum DOUBLE PRECISION NOT NULL DEFAULT 0;",
    "ALTER TABLE day_summary ADD COLUMN partial_only_n BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN partial_only_sum DOUBLE PRECISION NOT NULL DEFAULT 0;",
    V22_FILL,
    NULL,
};
#undef V22_FILL

static const migration k_migrations[] = {
    {1, k_v1, k_pg1},    {2, k_v2, k_pg2},    {3, k_v3, k_pg3},    {4, k_v4, k_pg4},
    {5, k_v5, k_pg5},    {6, k_v6, k_pg6},    {7, k_v7, k_pg7},    {8, k_v8, k_pg8},
    {9, k_v9, k_pg9},    {10, k_v10, k_pg10}, {11, k_v11, k_pg11}, {12, k_v12, k_pg12},
    {13, k_v13, k_pg13}, {14, k_v14, k_pg14}, {15, k_v15, k_pg15}, {16, k_v16, k_pg16},
    {17, k_v17, k_pg17}, {18, k_v18, k_pg18}, {19, k_v19, k_pg19}, {20, k_v20, k_pg20},
    {21, k_v21, k_pg21}, {22, k_v22, k_pg22}};
#define N_MIGRATIONS (sizeof(k_migrations) / sizeof(k_migrations[0]))

int store__schema_latest(void)
{
    return k_migrations[N_MIGRATIONS - 1].version;
}

/* The key of the migration's advisory lock (any constant no other program of the database uses). */
#define PG_MIGRATE_LOCK "7461, 1"

int store__schema_version(db *d)
{
    bool pg = db_get_dialect(d) == DB_PG;
    if (pg) {
        /* a store not yet migrated has no version table (and a role that may not create
         * tables must still be able to open a store that is up to date) */
        db_stmt *t =
            db_stmt_get(d, Q_SCHEMA_TABLE, "SELECT to_regclass('callqa_schema') IS NOT NULL");
        int rc = t ? db_step(t) : DB_ERROR;
        bool have = rc == DB_ROW && db_col_int(t, 0);
        if (t)
            db_reset(t);
        if (rc != DB_ROW)
            return -1;
        if (!have)
            return 0;
    }
    db_stmt *st = db_stmt_get(d, Q_SCHEMA_VERSION,
                              pg ? "SELECT COALESCE(MAX(version), 0) FROM callqa_schema"
                                 : "PRAGMA user_version");
    int v = -1;
    if (st && db_step(st) == DB_ROW)
        v = (int)db_col_int(st, 0);
    if (st)
        db_reset(st);
    return v;
}

static int migrate_locked(db *d, char *msg, size_t msgsz)
{
    bool pg = db_get_dialect(d) == DB_PG;
    int have = store__schema_version(d);
    if (have < 0) {
        snprintf(msg, msgsz, "cannot read the schema version: %s", db_errmsg(d));
        return -1;
    }
    if (have > store__schema_latest()) {
        snprintf(msg, msgsz,
                 "the store is at schema version %d, newer than this callqa knows "
                 "(%d): use a newer callqa",
                 have, store__schema_latest());
        return -1;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const migration *m = &k_migrations[i];
        if (m->version <= have)
            continue;
        char bump[160];
        if (pg)
            snprintf(bump, sizeof(bump),
                     "CREATE TABLE IF NOT EXISTS callqa_schema (version "
                     "INTEGER NOT NULL); DELETE FROM callqa_schema; INSERT INTO callqa_schema "
                     "VALUES (%d)",
                     m->version);
        else
            snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
        const char *const *steps = pg ? m->pg : m->steps;
        int rc = db_begin(d);
        for (size_t k = 0; rc == DB_OK && steps[k]; k++)
            rc = db_exec(d, steps[k]);
        if (rc != DB_OK || db_exec(d, bump) != DB_OK || db_commit(d) != DB_OK) {
            snprintf(msg, msgsz, "migrating the store to schema version %d: %s%s", m->version,
                     db_errmsg(d),
                     pg && strstr(db_errmsg(d), "permission denied")
                         ? " (the schema is changed by the store's owner role: open it once with "
                           "that role's URI; docs/scale.md)"
                         : "");
            db_rollback(d);
            return -1;
        }
    }
    return 0;
}

int store__migrate(db *d, char *msg, size_t msgsz)
{
    if (db_get_dialect(d) != DB_PG)
        return migrate_locked(d, msg, msgsz);
    if (db_exec(d, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")") != DB_OK) {
        snprintf(msg, msgsz, "cannot lock the store for its migration: %s", db_errmsg(d));
        return -1;
    }
    int rc = migrate_locked(d, msg, msgsz);
    db_exec(d, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")");
    return rc;
}
