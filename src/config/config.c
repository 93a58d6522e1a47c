/*
 * config.c - the settings (config.h): one table lists each setting once (its name, type,
 * bounds, default, flag and meaning), and drives the defaults, the config file, the CALLQA_*
 * environment, the subcommands' flags and their --help lines, --help-settings and the check of
 * docs/config.md; `NAME=URL` recording servers; the bearer token file; secrets and small files
 * read safely. The analysis settings (silence_*, vad_*, nisqa_*, channel_map, dtmf_*) are the
 * engine's parameters under the command line's flag names, so that `GET /analyze`, the worker
 * and `callqa analyze` agree whatever they are set to. It calls libc only.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdbool.h>

#include "cfg_int.h"
#include "config.h"

typedef enum kind {
    K_DOUBLE,  /* double */
    K_FLOAT,   /* float */
    K_INT,     /* int */
    K_MB,      /* size_t bytes, given in MiB */
    K_STR,     /* char[size] */
    K_BOOL,    /* bool */
    K_ENUM,    /* int, one of `names` */
    K_SERVER,  /* NAME=URL, repeatable */
    K_SEC_INF, /* double seconds, or "none" for no limit (+inf) */
    K_LIST     /* char[size]: a comma-separated list, each flag or line given adds to it */
} kind;

typedef struct setting {
    const char *key;
    kind kind;
    size_t off;               /* in cfg_settings */
    size_t size;              /* K_STR */
    double lo, hi;            /* numbers */
    const char *const *names; /* K_ENUM */
    const char *dflt;         /* the default as shown, and as set unless `value` is given */
    const char *help;
    const char *flag;  /* the command-line flag (without "--"), or NULL */
    unsigned groups;   /* CFG_FLAGS_*: the subcommands that take the flag */
    const char *value; /* the default as set when it differs from what is shown: "" (an
                          empty text, a 0), CPUS (the CPUs online), CPUS2 (twice that),
                          TMPDIR ($TMPDIR or /tmp); NULL: dflt */
    const char *arg;   /* the flag's argument in --help (NULL: from the type) */
} setting;

#define CPUS "\x01cpus"
#define CPUS2 "\x01cpus2" /* twice the CPUs online */
#define TMPDIR "\x01tmpdir"
#define AN(fl, a) .flag = fl, .groups = CFG_FLAGS_ANALYSIS, .arg = a
#define ASR(fl, a) .flag = fl, .groups = CFG_FLAGS_ASR, .arg = a

#define F(field) offsetof(cfg_settings, field)
#define SZ(field) sizeof(((cfg_settings *)0)->field)

static const char *const k_nisqa_modes[] = {"windowed", "file", NULL};
static const char *const k_mos_models[] = {"auto", "dnsmos", "nisqa", "both", NULL};
static const char *const k_dnsmos_modes[] = {"windowed", "reference", NULL};
static const char *const k_channel_maps[] = {"in,out", "out,in", NULL};
static const char *const k_asr_protocols[] = {"openai", "whispercpp", NULL};
static const char *const k_redact_audio[] = {"off", "mute", "tone", NULL};
static const char *const k_ws_rates[] = {"8000", "16000", NULL};
static const char *const k_ws_mixes[] = {"mono", "mixed", "stereo", NULL};
static const char *const k_live_modes[] = {"off", "hold", "amd", NULL};

/* The entries name their first nine fields in order and the rest (flag, groups, value, arg) by
 * designator where they have them: the others are zero on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const setting k_settings[] = {
    /* listening and access */
    {"listen", K_STR, F(listen_addr), sizeof(((cfg_settings *)0)->listen_addr), 0, 0, NULL,
     "127.0.0.1", "the IPv4 or IPv6 address to listen on"},
    {"port", K_INT, F(listen_port), 0, 1, 65535, NULL, "8080", "TCP port"},
    {"recording_server", K_SERVER, 0, 0, 0, 0, NULL, "none",
     "a ViciDial recording server as NAME=URL (repeatable)"},
    {"db", K_STR, F(db_path), sizeof(((cfg_settings *)0)->db_path), 0, 0, NULL, "callqa.db",
     "the SQLite results store"},
    {"auth", K_BOOL, F(auth), 0, 0, 0, NULL, "true", "require the bearer token"},
    {"token_file", K_STR, F(token_file), sizeof(((cfg_settings *)0)->token_file), 0, 0, NULL, "",
     "the bearer token, in a file of mode 0600"},
    {"auth_metrics", K_BOOL, F(auth_metrics), 0, 0, 0, NULL, "false", "/metrics needs the token"},
    {"header_timeout_sec", K_DOUBLE, F(header_timeout_sec), 0, 0.5, 3600, NULL, "10",
     "a request's headers must all be in within this (else 408, the connection closed)"},
    {"max_pending_per_client", K_INT, F(max_pending_per_client), 0, 1, 100000, NULL, "16",
     "connections one address may hold still sending their headers after 0.5 s; past it its "
     "oldest is cut with 503"},
    {"login_window_sec", K_DOUBLE, F(login_window_sec), 0, 1, 86400, NULL, "60",
     "failed logins (a wrong token, at /api/session or as a bearer) are counted over this"},
    {"login_max_failures", K_INT, F(login_max_failures), 0, 1, 1000000, NULL, "10",
     "failed logins from one address in the window, then 429 until it has passed"},
    {"login_max_failures_account", K_INT, F(login_max_failures_account), 0, 1, 1000000, NULL, "100",
     "failed logins to one account (the token, or a user) from all addresses in the window"},
    {"trusted_proxies", K_STR, F(trusted_proxies), sizeof(((cfg_settings *)0)->trusted_proxies), 0,
     0, NULL, "",
     "addresses of proxies in front whose X-Forwarded-For names the client (for "
     "the login limits), comma-separated"},
    {"allowed_hosts", K_STR, F(allowed_hosts), sizeof(((cfg_settings *)0)->allowed_hosts), 0, 0,
     NULL, "",
     "Host names answered beside the listen address, localhost and the loopback "
     "addresses (others get 421), comma-separated"},
    {"session_ttl_sec", K_INT, F(session_ttl_sec), 0, 1, 366 * 86400, NULL, "28800",
     "the dashboard's session cookie expires after this"},
    {"session_cookie_secure", K_BOOL, F(session_cookie_secure), 0, 0, 0, NULL, "false",
     "mark the session cookie Secure (served over HTTPS, e.g. behind a TLS proxy)"},
    {"audit_queue_rows", K_INT, F(audit_queue_rows), 0, 64, 1048576, NULL, "65536",
     "audit trail rows waiting to be written at most (a store that stalls is ridden out)"},
    {"audit_queue_wait_sec", K_DOUBLE, F(audit_queue_wait_sec), 0, 0, 60, NULL, "1",
     "a request waits this long for room in a full audit queue, then its rows are dropped "
     "(counted and logged)"},
    {"marks_per_minute", K_INT, F(marks_per_minute), 0, 1, 100000, NULL, "120",
     "POST /api/qa/marks: marks one sender (a user; the shared token or no auth: an address) "
     "may send per minute, then 429"},
    {"model_dir", K_STR, F(model_dir), sizeof(((cfg_settings *)0)->model_dir), 0, 0, NULL,
     "$CALLQA_MODEL_DIR", "Silero VAD, NISQA and VADER's lexicon", AN("model-dir", "DIR"),
     .value = ""},
    {"tmp_dir", K_STR, F(tmp_dir), sizeof(((cfg_settings *)0)->tmp_dir), 0, 0, NULL, "$TMPDIR",
     "temporary files (fetched recordings, uploads)", .value = TMPDIR},
    {"audio_dirs", K_STR, F(audio_dirs), sizeof(((cfg_settings *)0)->audio_dirs), 0, 0, NULL, "",
     "more folders recordings may be read from, comma-separated (recordings_dir, upload_dir and "
     "the watched folders are)"},
    {"upload_dir", K_STR, F(upload_dir), sizeof(((cfg_settings *)0)->upload_dir), 0, 0, NULL,
     "uploads beside the store", "recordings uploaded to /api/qa/calls, kept for the worker",
     .value = ""},
    {"events_heartbeat_sec", K_DOUBLE, F(events_heartbeat_sec), 0, 1, 3600, NULL, "15",
     "/api/qa/events: a comment line after this long without an event"},
    {"events_max_clients", K_INT, F(events_max_clients), 0, 1, 4096, NULL, "64",
     "/api/qa/events: streams open at once"},
    {"events_keep_days", K_DOUBLE, F(events_keep_days), 0, 0.01, 3650, NULL, "7",
     "job events kept for event-stream clients that reconnect"},
    {"live_events", K_STR, F(live_events), sizeof(((cfg_settings *)0)->live_events), 0, 0, NULL, "",
     "the event lines `callqa live --events` writes, followed for /api/live (none: off)"},
    {"live_mask_digits", K_BOOL, F(live_mask_digits), 0, 0, 0, NULL, "false",
     "keyed digits as * in /api/live (always so when a campaign is redacted)"},
    /* retention (docs/privacy/retention.md, "Retention and erasure") */
    {"retain_audio_days", K_INT, F(retain_days[0]), 0, 0, 36500, NULL, "0",
     "days callqa's own copies of recordings (uploads) are kept from the call (0: forever)"},
    {"retain_transcript_days", K_INT, F(retain_days[1]), 0, 0, 36500, NULL, "0",
     "days transcripts, their search rows and the scores' quotes are kept (0: forever)"},
    {"retain_report_days", K_INT, F(retain_days[2]), 0, 0, 36500, NULL, "0",
     "days analysis reports and level envelopes are kept (0: forever)"},
    {"retain_llm_days", K_INT, F(retain_days[3]), 0, 0, 36500, NULL, "0",
     "days LLM requests and the LLM's text in scores are kept (0: forever)"},
    {"retain_campaigns", K_STR, F(retain_campaigns), sizeof(((cfg_settings *)0)->retain_campaigns),
     0, 0, NULL, "", "periods per campaign: CAMPAIGN=KIND:DAYS[+KIND:DAYS...],..."},
    {"retain_sources", K_STR, F(retain_sources), sizeof(((cfg_settings *)0)->retain_sources), 0, 0,
     NULL, "", "periods per source: SOURCE=KIND:DAYS[+KIND:DAYS...],..."},
    {"retain_own_dirs", K_STR, F(retain_own_dirs), sizeof(((cfg_settings *)0)->retain_own_dirs), 0,
     0, NULL, "",
     "more folders callqa writes (callqa live --record-dir), whose files of a call purge deletes"},
    {"purge_interval_sec", K_DOUBLE, F(purge_interval_sec), 0, 60, 86400 * 7, NULL, "3600",
     "callqa worker: between purges of what is due, when a period is set"},
    {"route_scan_sec", K_DOUBLE, F(route_scan_sec), 0, 0, 86400, NULL, "900",
     "callqa worker: the change test over every route's roll-ups this often (0: never; `callqa "
     "store routes` runs it by hand)"},
    {"route_webhook", K_STR, F(route_webhook), SZ(route_webhook), 0, 0, NULL, "",
     "callqa worker: each change found in the worse direction in the last day is POSTed here as "
     "a signed event (route_change), as callqa live's webhooks"},
    {"route_webhook_secret_file", K_STR, F(route_webhook_secret_file),
     SZ(route_webhook_secret_file), 0, 0, NULL, "", "its HMAC key, in a file of mode 0600"},
    /* the QA pipeline (docs/pipeline.md) */
    {"worker_jobs", K_INT, F(worker_jobs), 0, 0, 64, NULL, "0",
     "callqa serve: an embedded QA worker with this many slots (0: none)"},
    {"recordings_dir", K_STR, F(recordings_dir), sizeof(((cfg_settings *)0)->recordings_dir), 0, 0,
     NULL, "", "the dialer's recordings on local disk (the worker, the ingest)"},
    {"vicidial", K_STR, F(vicidial), sizeof(((cfg_settings *)0)->vicidial), 0, 0, NULL, "",
     "a ViciDial database, mysql://USER@HOST[:PORT]/DB, scanned on a schedule"},
    {"vicidial_password_file", K_STR, F(vicidial_password_file),
     sizeof(((cfg_settings *)0)->vicidial_password_file), 0, 0, NULL, "",
     "its password, in a file of mode 0600"},
    {"vicidial_source", K_STR, F(vicidial_source), sizeof(((cfg_settings *)0)->vicidial_source), 0,
     0, NULL, "the database host", "the dialer's name in the store", .value = ""},
    {"vicidial_tz", K_STR, F(vicidial_tz), sizeof(((cfg_settings *)0)->vicidial_tz), 0, 0, NULL,
     "the system's", "the dialer's IANA time zone", .value = ""},
    {"vicidial_min_length_sec", K_INT, F(vicidial_min_length_sec), 0, 0, 86400, NULL, "30",
     "shorter calls are enqueued skipped"},
    {"ingest_interval_sec", K_DOUBLE, F(ingest_interval_sec), 0, 1, 86400, NULL, "300",
     "between the scheduled scans of the dialer"},
    {"attempts_lookback_sec", K_DOUBLE, F(attempts_lookback_sec), 0, 0, 604800, NULL, "7200",
     "the dialer's call attempts (vicidial_carrier_log) are read again this far back on each "
     "scan: a row is written when its call ends"},
    {"route_patterns", K_STR, F(route_patterns), sizeof(((cfg_settings *)0)->route_patterns), 0, 0,
     NULL, "",
     "routes named by patterns, NAME=FIELD:GLOB, ... (FIELD: channel, server, did, "
     "campaign, recording): a call the dialer names no carrier of takes the first match's"},
    /* transcription (docs/transcription.md) */
    {"asr_url", K_STR, F(asr_url), sizeof(((cfg_settings *)0)->asr_url), 0, 0, NULL, "",
     "a Whisper-class server: the worker transcribes each call's speech (\"\": no)",
     ASR("asr-url", "URL")},
    {"asr_protocol", K_ENUM, F(asr_protocol), 0, 0, 0, k_asr_protocols, "openai",
     "openai (POST URL/audio/transcriptions) or whispercpp", ASR("asr-protocol", "P")},
    {"asr_model", K_STR, F(asr_model), sizeof(((cfg_settings *)0)->asr_model), 0, 0, NULL, "",
     "the model name (openai: required)", ASR("asr-model", "NAME")},
    {"asr_key_file", K_STR, F(asr_key_file), sizeof(((cfg_settings *)0)->asr_key_file), 0, 0, NULL,
     "", "the API key, in a file of mode 0600", ASR("asr-key-file", "FILE")},
    {"asr_language", K_STR, F(asr_language), sizeof(((cfg_settings *)0)->asr_language), 0, 0, NULL,
     "auto", "auto, or an ISO 639-1 code sent with each request", ASR("asr-language", "LANG")},
    {"asr_campaign_languages", K_STR, F(asr_campaign_languages),
     sizeof(((cfg_settings *)0)->asr_campaign_languages), 0, 0, NULL, "",
     "a language per campaign, CAMPAIGN=xx,... (ISO 639-1; others: asr_language)"},
    {"asr_prompt", K_STR, F(asr_prompt), sizeof(((cfg_settings *)0)->asr_prompt), 0, 0, NULL, "",
     "a vocabulary and style hint", ASR("asr-prompt", "TEXT")},
    {"asr_timeout_sec", K_DOUBLE, F(asr_timeout_sec), 0, 1, 3600, NULL, "120", "per request",
     ASR("asr-timeout", "S")},
    {"asr_retries", K_INT, F(asr_retries), 0, 0, 20, NULL, "3", "after a request's first attempt",
     ASR("asr-retries", "N")},
    {"asr_concurrency", K_INT, F(asr_concurrency), 0, 1, 32, NULL, "2",
     "requests at once for one call", ASR("asr-concurrency", "N")},
    {"asr_include_ivr", K_BOOL, F(asr_include_ivr), 0, 0, 0, NULL, "false", "send IVR prompts too",
     ASR("asr-include-ivr", NULL)},
    /* redaction (docs/privacy.md) */
    {"redact", K_STR, F(redact), sizeof(((cfg_settings *)0)->redact), 0, 0, NULL, "none",
     "the entity types redacted from every campaign's transcripts before they are stored: card, "
     "cvv, expiry, ssn, national_id, iban, email, phone, dob, all or none",
     .value = ""},
    {"redact_campaigns", K_STR, F(redact_campaigns), sizeof(((cfg_settings *)0)->redact_campaigns),
     0, 0, NULL, "", "the types per campaign, CAMPAIGN=card+cvv,CAMPAIGN=all,... (others: redact)"},
    {"voice_profile_campaigns", K_STR, F(voice_profile_campaigns),
     sizeof(((cfg_settings *)0)->voice_profile_campaigns), 0, 0, NULL, "",
     "campaigns whose agents get a voice profile (biometric data), CAMPAIGN,CAMPAIGN,...; none "
     "by default"},
    {"redact_audio", K_ENUM, F(redact_audio), 0, 0, 0, k_redact_audio, "mute",
     "a redacted call's audio: its spans and keyed digits muted, or replaced by a tone, in a "
     "copy the dashboard serves; off: the recording is served as it is"},
    {"redact_dir", K_STR, F(redact_dir), sizeof(((cfg_settings *)0)->redact_dir), 0, 0, NULL,
     "redacted/ beside the store", "the folder of the redacted copies", .value = ""},
    {"redact_guard_sec", K_DOUBLE, F(redact_guard_sec), 0, 0, 5, NULL, "0.5",
     "keyed-digit runs widened by this in the audio, and a span's edge with no pause near it"},
    {"redact_pause_code", K_STR, F(redact_pause_code),
     sizeof(((cfg_settings *)0)->redact_pause_code), 0, 0, NULL, "",
     "keyed digits that pause the recording's audio (muted until the resume code)"},
    {"redact_resume_code", K_STR, F(redact_resume_code),
     sizeof(((cfg_settings *)0)->redact_resume_code), 0, 0, NULL, "",
     "keyed digits that end a pause (none: the pause lasts to the call's end)"},
    /* scoring (docs/scoring.md) */
    {"scoring", K_BOOL, F(scoring), 0, 0, 0, NULL, "true",
     "the worker scores each call on the scorecard (rules and acoustics; an LLM when set)"},
    {"scorecard", K_STR, F(scorecard), sizeof(((cfg_settings *)0)->scorecard), 0, 0, NULL,
     "the shipped card", "the scorecard file (\"\": the shipped 8-category card)", .value = ""},
    {"topics_file", K_STR, F(topics_file), sizeof(((cfg_settings *)0)->topics_file), 0, 0, NULL, "",
     "a topics file: each call's topic (\"\": none)"},
    /* the LLM (docs/llm.md): GET /ai-analyze's assessment */
    {"llm_provider", K_STR, F(llm_provider), sizeof(((cfg_settings *)0)->llm_provider), 0, 0, NULL,
     "", "anthropic, openai (any OpenAI-compatible server) or gemini (\"\": no LLM)"},
    {"llm_url", K_STR, F(llm_url), sizeof(((cfg_settings *)0)->llm_url), 0, 0, NULL, "",
     "the provider's base URL"},
    {"llm_model", K_STR, F(llm_model), sizeof(((cfg_settings *)0)->llm_model), 0, 0, NULL, "",
     "the model name"},
    {"llm_key_file", K_STR, F(llm_key_file), sizeof(((cfg_settings *)0)->llm_key_file), 0, 0, NULL,
     "", "the API key, in a file of mode 0600 (openai: optional)"},
    {"llm_connect_timeout_sec", K_DOUBLE, F(llm_connect_timeout_sec), 0, 0.1, 600, NULL, "10",
     "connect timeout to the LLM"},
    {"llm_timeout_sec", K_DOUBLE, F(llm_timeout_sec), 0, 0.1, 3600, NULL, "120", "per request"},
    {"llm_retries", K_INT, F(llm_retries), 0, 0, 10, NULL, "2",
     "after a request's first attempt (transport faults, 429, 408, 5xx)"},
    {"llm_max_tokens", K_INT, F(llm_max_tokens), 0, 1, 1000000, NULL, "2048",
     "the answer's token limit"},
    {"llm_context_tokens", K_INT, F(llm_context_tokens), 0, 1024, 10000000, NULL, "32768",
     "the model's context window: every request to the LLM within it, less llm_max_tokens (one "
     "token a byte)"},
    {"llm_temperature", K_DOUBLE, F(llm_temperature), 0, -1, 2, NULL, "0",
     "0-2; negative: none sent"},
    {"llm_price_in", K_DOUBLE, F(llm_price_in), 0, 0, 1e6, NULL, "0",
     "USD per million input tokens"},
    {"llm_price_out", K_DOUBLE, F(llm_price_out), 0, 0, 1e6, NULL, "0",
     "USD per million output tokens"},
    {"llm_fallback_provider", K_STR, F(llm_fallback_provider),
     sizeof(((cfg_settings *)0)->llm_fallback_provider), 0, 0, NULL, "",
     "a second provider, tried when the first fails (\"\": none)"},
    {"llm_fallback_url", K_STR, F(llm_fallback_url), sizeof(((cfg_settings *)0)->llm_fallback_url),
     0, 0, NULL, "", "its base URL"},
    {"llm_fallback_model", K_STR, F(llm_fallback_model),
     sizeof(((cfg_settings *)0)->llm_fallback_model), 0, 0, NULL, "", "its model"},
    {"llm_fallback_key_file", K_STR, F(llm_fallback_key_file),
     sizeof(((cfg_settings *)0)->llm_fallback_key_file), 0, 0, NULL, "", "its key file (0600)"},
    {"llm_fallback_price_in", K_DOUBLE, F(llm_fallback_price_in), 0, 0, 1e6, NULL, "0",
     "its USD per million input tokens"},
    {"llm_fallback_price_out", K_DOUBLE, F(llm_fallback_price_out), 0, 0, 1e6, NULL, "0",
     "its USD per million output tokens"},
    {"llm_daily_token_cap", K_DOUBLE, F(llm_daily_token_cap), 0, 0, 1e15, NULL, "0",
     "input + output tokens a day (0: no cap)"},
    {"llm_daily_cost_cap", K_DOUBLE, F(llm_daily_cost_cap), 0, 0, 1e12, NULL, "0",
     "USD a day (0: no cap)"},
    /* POST /ask (docs/ask.md) */
    {"ask_store", K_BOOL, F(ask_store), 0, 0, 0, NULL, "true",
     "POST /ask may read the QA store (source callqa)"},
    {"ask_allow", K_STR, F(ask_allow), sizeof(((cfg_settings *)0)->ask_allow), 0, 0, NULL, "",
     "store columns added to the default allow-list, table.column,... (never a credential)"},
    {"ask_pg_schema", K_STR, F(ask_pg_schema), sizeof(((cfg_settings *)0)->ask_pg_schema), 0, 0,
     NULL, "callqa_ask", "PostgreSQL store: the schema of the views /ask reads"},
    {"ask_pg_role", K_STR, F(ask_pg_role), sizeof(((cfg_settings *)0)->ask_pg_role), 0, 0, NULL,
     "callqa_ask", "PostgreSQL store: the role that reads them (SELECT on them only)"},
    {"ask_vicidial", K_STR, F(ask_vicidial), sizeof(((cfg_settings *)0)->ask_vicidial), 0, 0, NULL,
     "", "ViciDial's replica for /ask, mysql://USER@HOST[:PORT]/DB (a read-only account)"},
    {"ask_vicidial_password_file", K_STR, F(ask_vicidial_password_file),
     sizeof(((cfg_settings *)0)->ask_vicidial_password_file), 0, 0, NULL, "",
     "its password, in a file of mode 0600"},
    {"ask_vicidial_name", K_STR, F(ask_vicidial_name),
     sizeof(((cfg_settings *)0)->ask_vicidial_name), 0, 0, NULL, "vicidial",
     "its `server` in a mysql query"},
    {"ask_vicidial_primary", K_BOOL, F(ask_vicidial_primary), 0, 0, 0, NULL, "false",
     "allow a primary (not read-only): 2 s per statement"},
    {"ask_vicidial_allow", K_STR, F(ask_vicidial_allow),
     sizeof(((cfg_settings *)0)->ask_vicidial_allow), 0, 0, NULL, "",
     "ViciDial columns added to the default allow-list (never a credential)"},
    {"ask_prometheus", K_STR, F(ask_prometheus), sizeof(((cfg_settings *)0)->ask_prometheus), 0, 0,
     NULL, "", "Prometheus's base URL for /ask"},
    {"ask_max_rows", K_INT, F(ask_max_rows), 0, 1, 10000, NULL, "50", "rows of one query's answer"},
    {"ask_max_bytes", K_INT, F(ask_max_bytes), 0, 1024, 64 << 20, NULL, "1048576",
     "bytes of one query's values"},
    {"ask_timeout_sec", K_DOUBLE, F(ask_timeout_sec), 0, 0.1, 600, NULL, "10", "one query's time"},
    {"ask_max_estimate", K_DOUBLE, F(ask_max_estimate), 0, 1, 1e15, NULL, "1000000",
     "the planner's row estimate above which a query is refused (PostgreSQL, MariaDB)"},
    {"ask_max_rounds", K_INT, F(ask_max_rounds), 0, 1, 10, NULL, "3", "rounds of data"},
    {"ask_max_queries", K_INT, F(ask_max_queries), 0, 1, 50, NULL, "10", "queries a round"},
    {"ask_concurrent", K_INT, F(ask_concurrent), 0, 1, 16, NULL, "2",
     "/ask's own threads (never an analysis one), and connections per SQL source"},
    {"ask_per_caller", K_INT, F(ask_per_caller), 0, 1, 16, NULL, "1",
     "one caller's /ask running or waiting at once; beyond: 429"},
    {"ask_lexical", K_BOOL, F(ask_lexical), 0, 0, 0, NULL, "true",
     "the lexical pre-check first (the engine's layers hold without it)"},
    {"ask_tools", K_BOOL, F(ask_tools), 0, 0, 0, NULL, "true",
     "offer the provider's native tool calls beside <data_request>"},
    {"ask_prom_max_range_sec", K_DOUBLE, F(ask_prom_max_range_sec), 0, 60, 86400 * 400, NULL,
     "604800", "Prometheus: a range query's longest range"},
    {"ask_prom_min_step_sec", K_DOUBLE, F(ask_prom_min_step_sec), 0, 0.001, 86400, NULL, "60",
     "Prometheus: a range query's shortest step"},
    {"ask_prom_max_points", K_INT, F(ask_prom_max_points), 0, 1, 11000, NULL, "1100",
     "Prometheus: points per series of a range query"},
    {"ask_prom_max_series", K_INT, F(ask_prom_max_series), 0, 1, 10000, NULL, "50",
     "Prometheus: series in an answer"},
    /* limits */
    {"freshness_sec", K_DOUBLE, F(freshness_sec), 0, 0, 86400 * 365, NULL, "60",
     "stored results served without asking the recording server"},
    {"max_concurrent", K_INT, F(max_concurrent), 0, 1, 256, NULL, "CPUs", "analyses at once",
     .value = CPUS},
    {"max_queue", K_INT, F(max_queue), 0, 0, 100000, NULL, "32", "analyses waiting"},
    {"threads", K_INT, F(threads), 0, 1, 256, NULL, "CPUs", "HTTP event-loop threads",
     .value = CPUS},
    {"max_body_mb", K_MB, F(max_body), 0, 1, 1 << 20, NULL, "100", "largest upload, MiB"},
    {"max_transcript_mb", K_MB, F(max_transcript), 0, 1, 1 << 20, NULL, "16",
     "largest transcript imported (POST /api/qa/call/{id}/transcript), MiB"},
    {"max_body_memory_mb", K_MB, F(max_body_memory), 0, 1, 1 << 20, NULL, "256",
     "request bodies held in memory by all requests together, MiB; past it 503"},
    {"max_answer_mb", K_MB, F(max_answer), 0, 2, 4096, NULL, "16",
     "largest POST /investigate answer and QA API list, MiB: what does not fit is cut (truncated)"},
    {"max_duration_sec", K_DOUBLE, F(max_duration_sec), 0, 1, 86400 * 7, NULL, "14400",
     "longest recording analysed"},
    {"max_recording_mb", K_MB, F(max_recording), 0, 1, 1 << 20, NULL, "200",
     "largest file fetched, MiB"},
    {"fetch_connect_sec", K_DOUBLE, F(fetch_connect_sec), 0, 1, 600, NULL, "5",
     "connect timeout to a recording server"},
    {"fetch_timeout_sec", K_DOUBLE, F(fetch_timeout_sec), 0, 1, 86400, NULL, "60",
     "whole-download timeout"},
    {"request_timeout_sec", K_DOUBLE, F(request_timeout_sec), 0, 1, 86400, NULL, "300",
     "an idle client connection is closed after this"},
    {"upload_timeout_sec", K_DOUBLE, F(upload_timeout_sec), 0, 0.1, 86400, NULL, "120",
     "a whole upload must arrive within this (a silent client is let go by then)"},
    {"upload_idle_sec", K_DOUBLE, F(upload_idle_sec), 0, 1, 3600, NULL, "30",
     "an upload that stops coming this long is dropped, its temporary files removed"},
    {"analysis_timeout_sec", K_DOUBLE, F(analysis_timeout_sec), 0, 0.1, 86400, NULL, "300",
     "one analysis; its process is killed beyond this"},
    {"isolate", K_BOOL, F(isolate), 0, 0, 0, NULL, "true",
     "each analysis in a child process of the analysis host"},
    /* the analysis: the engine's parameters, named as the command line's flags */
    {"silence_noise", K_DOUBLE, F(analysis.silence_noise_db), 0, -199, -0.001, NULL, "-35",
     "silencedetect noise threshold, dBFS", AN("silence-noise", "DB")},
    {"silence_duration", K_DOUBLE, F(analysis.silence_min_duration_sec), 0, 0.001, 86399, NULL,
     "0.5", "shortest silence reported, s", AN("silence-duration", "S")},
    {"channel_map", K_ENUM, F(analysis.channel_map), 0, 0, 0, k_channel_maps, "in,out",
     "stereo channels", AN("channel-map", "MAP")},
    {"vad_model", K_STR, F(analysis.vad_model), sizeof(((cfg_settings *)0)->analysis.vad_model), 0,
     0, NULL, "v6.2", "Silero VAD version directory", AN("vad-model", "VERSION")},
    {"vad_threshold", K_FLOAT, F(analysis.vad_threshold), 0, 0.01, 0.99, NULL, "0.5",
     "speech probability threshold", AN("vad-threshold", "P")},
    {"vad_neg_threshold", K_FLOAT, F(analysis.vad_neg_threshold), 0, 0, 0.99, NULL,
     "threshold - 0.15", "end-of-speech threshold", AN("vad-neg-threshold", "P"), .value = "-1"},
    {"vad_min_speech_ms", K_INT, F(analysis.vad_min_speech_ms), 0, 0, 1000000, NULL, "250",
     "shortest speech segment", AN("vad-min-speech-ms", "N")},
    {"vad_min_silence_ms", K_INT, F(analysis.vad_min_silence_ms), 0, 0, 1000000, NULL, "300",
     "shortest pause that ends a segment", AN("vad-min-silence-ms", "N")},
    {"vad_speech_pad_ms", K_INT, F(analysis.vad_speech_pad_ms), 0, 0, 1000000, NULL, "30",
     "padding on each side of a segment", AN("vad-speech-pad-ms", "N")},
    {"vad_max_speech_sec", K_SEC_INF, F(analysis.vad_max_speech_sec), 0, 0.1, 1e6, NULL, "none",
     "split longer segments", AN("vad-max-speech-sec", "S")},
    {"nisqa_mode", K_ENUM, F(analysis.nisqa_mode), 0, 0, 0, k_nisqa_modes, "windowed",
     "NISQA over windows or the whole leg", AN("nisqa-mode", "MODE")},
    {"nisqa_window_sec", K_DOUBLE, F(analysis.nisqa_window_sec), 0, 1, 600, NULL, "8",
     "NISQA window length", AN("nisqa-window-sec", "S")},
    {"mos_model", K_ENUM, F(analysis.mos_model), 0, 0, 0, k_mos_models, "auto",
     "speech-quality model: auto (NISQA when installed, else DNSMOS), dnsmos, nisqa, both",
     AN("mos-model", "MODEL")},
    {"dnsmos_mode", K_ENUM, F(analysis.dnsmos_mode), 0, 0, 0, k_dnsmos_modes, "windowed",
     "DNSMOS over consecutive windows, or as the published script", AN("dnsmos-mode", "MODE")},
    {"dtmf_speech", K_BOOL, F(analysis.dtmf_speech), 0, 0, 0, NULL, "false",
     "our DTMF receiver for digits under speech too", AN("dtmf-speech", NULL)},
    {"dtmf_voice_cancel", K_BOOL, F(analysis.dtmf_voice_cancel), 0, 0, 0, NULL, "false",
     "and ours on the voice-cancelled signal", AN("dtmf-voice-cancel", NULL)},
    {"diarization_model", K_STR, F(analysis.diarization_model),
     sizeof(((cfg_settings *)0)->analysis.diarization_model), 0, 0, NULL, "none",
     "speaker-embedding model for diarization: none (the MFCC method; no model is built in)",
     AN("diarization-model", "NAME")},
    {"voiceprints", K_BOOL, F(analysis.voiceprints), 0, 0, 0, NULL, "false",
     "voice prints of the speakers in the report (biometric data)", AN("voiceprints", NULL)},
    /* callqa live (docs/config.md, "callqa live"); its flags are cfg_cmds.c's */
    {"live_audiosocket", K_STR, F(live_audiosocket), SZ(live_audiosocket), 0, 0, NULL, "",
     "HOST:PORT: Asterisk AudioSocket connections are listened for there"},
    {"live_rtp", K_STR, F(live_rtp), SZ(live_rtp), 0, 0, NULL, "",
     "HOST:PORT: RTP received there, as ARI externalMedia sends it"},
    {"live_rtp_pt", K_LIST, F(live_rtp_pt), SZ(live_rtp_pt), 0, 0, NULL, "",
     "payload types over the default map, PT=CODEC/RATE,..."},
    {"live_rtp_window_ms", K_INT, F(live_rtp_window_ms), 0, 1, 2000, NULL, "60",
     "how long a missing RTP packet is waited for"},
    {"live_rtp_max_pending", K_INT, F(live_rtp_max_pending), 0, 1, 100000, NULL, "16384",
     "RTP SSRCs waiting to show they are a stream, and KiB of their packets"},
    {"live_websocket", K_STR, F(live_websocket), SZ(live_websocket), 0, 0, NULL, "",
     "HOST:PORT: FreeSWITCH mod_audio_fork WebSocket connections are accepted there"},
    {"live_ws_rate", K_ENUM, F(live_ws_rate), 0, 0, 0, k_ws_rates, "8000",
     "a WebSocket call's L16 rate when its URL gives none"},
    {"live_ws_mix", K_ENUM, F(live_ws_mix), 0, 0, 0, k_ws_mixes, "mono",
     "a WebSocket call's channels when its URL gives none"},
    {"live_max_calls", K_INT, F(live_max_calls), 0, 1, 100000, NULL, "64",
     "calls at once, every input together"},
    {"live_ident_sec", K_DOUBLE, F(live_ident_sec), 0, 0.1, 3600, NULL, "5",
     "a connection or SSRC that has not identified its call within this is dropped"},
    {"live_max_pending", K_INT, F(live_max_pending), 0, 1, 100000, NULL, "1024",
     "connections waiting to identify their call, per listener"},
    {"live_max_pending_per_client", K_INT, F(live_max_pending_per_client), 0, 1, 100000, NULL,
     "128", "of them from one address (at most live_max_pending)"},
    {"live_max_call_sec", K_DOUBLE, F(live_max_call_sec), 0, 0.1, 86400 * 7, NULL, "14400",
     "a longer call is ended"},
    {"live_stall_sec", K_DOUBLE, F(live_stall_sec), 0, 0.1, 86400, NULL, "10",
     "a call whose connection or RTP stream is silent this long is ended"},
    {"live_queue_sec", K_DOUBLE, F(live_queue_sec), 0, 0.1, 600, NULL, "5",
     "audio one call may have waiting for analysis; more is dropped, counted"},
    {"live_threads", K_INT, F(live_threads), 0, 1, 256, NULL, "the CPUs this process may use",
     "analysis threads", .value = ""},
    {"live_vad_batch", K_INT, F(live_vad_batch), 0, 1, 256, NULL, "32",
     "calls an analysis thread takes at once, their VAD run as one batch"},
    {"live_batch_wait_ms", K_INT, F(live_batch_wait_ms), 0, 0, 1000, NULL, "10",
     "how long queued audio may wait for the batch to fill"},
    {"live_event_queue", K_INT, F(live_event_queue), 0, 16, 1000000, NULL, "65536",
     "event lines waiting for the writer; more are dropped, counted"},
    {"live_record_dir", K_STR, F(live_record_dir), SZ(live_record_dir), 0, 0, NULL, "",
     "each call's audio and event lines written into this folder"},
    {"live_mask_dtmf", K_BOOL, F(live_mask_dtmf), 0, 0, 0, NULL, "false",
     "keyed digits as * in callqa live's event lines, and DTMF muted in its recordings"},
    {"live_mode", K_ENUM, F(live_mode), 0, 0, 0, k_live_modes, "off",
     "live-call decisions: off, hold or amd"},
    {"live_probe", K_STR, F(live_probe), SZ(live_probe), 0, 0, NULL, "",
     "with live_mode hold: the probe played into a call to ask if a person is there "
     "(AudioSocket, RTP, WebSocket): default (a built-in \"Hello?\"), a WAV of at most 10 s, "
     "or empty (none)"},
    {"live_announce_file", K_STR, F(live_announce_file), SZ(live_announce_file), 0, 0, NULL, "",
     "with live_mode hold: the file of the hold announcements remembered per destination "
     "(fingerprints, no audio; empty: each call's own only)"},
    {"live_announce_days", K_DOUBLE, F(live_announce_days), 0, 0.01, 3650, NULL, "30",
     "a remembered announcement is forgotten this many days after it was learned"},
    {"live_silence_sec", K_DOUBLE, F(live_silence_sec), 0, 0, 3600, NULL, "5",
     "with live_mode: a silence event after this long (0: none)"},
    {"live_stats_sec", K_DOUBLE, F(live_stats_sec), 0, 0, 86400, NULL, "10",
     "a stats line this often (0: only at the end)"},
    {"live_fastagi", K_STR, F(live_fastagi), SZ(live_fastagi), 0, 0, NULL, "",
     "HOST:PORT: FastAGI requests answered there with the call's live decision"},
    {"live_fastagi_timeout_ms", K_INT, F(live_fastagi_timeout_ms), 0, 50, 14400000, NULL,
     "5000 (hold: 3600000)", "how long a FastAGI request waits for a decision", .value = ""},
    {"live_webhook", K_STR, F(live_webhook), SZ(live_webhook), 0, 0, NULL, "",
     "a URL each event line is POSTed to, signed"},
    {"live_webhook_secret_file", K_STR, F(live_webhook_secret_file), SZ(live_webhook_secret_file),
     0, 0, NULL, "", "the signing secret, in a file of mode 0600"},
    {"live_webhook_events", K_STR, F(live_webhook_events), SZ(live_webhook_events), 0, 0, NULL, "",
     "the event types POSTed, comma-separated (none: all but stats)"},
    {"live_webhook_attempts", K_INT, F(live_webhook_attempts), 0, 1, 100, NULL, "6",
     "tries per event, then a dead letter"},
    {"live_webhook_backoff_ms", K_INT, F(live_webhook_backoff_ms), 0, 1, 600000, NULL, "500",
     "the first wait between tries, doubled up to 30 s"},
    {"live_webhook_queue", K_INT, F(live_webhook_queue), 0, 1, 1000000, NULL, "4096",
     "events waiting to be sent; more are dropped"},
    {"live_webhook_timeout_sec", K_DOUBLE, F(live_webhook_timeout_sec), 0, 0.1, 600, NULL, "10",
     "one POST"},
    /* callqa sip --hep (docs/config.md, "callqa sip --hep"); the worker reads hep_dir */
    {"hep_listen", K_STR, F(hep_listen), SZ(hep_listen), 0, 0, NULL, "",
     "HOST:PORT: HEP received there over UDP and TCP, each call written to hep_dir"},
    {"hep_dir", K_STR, F(hep_dir), SZ(hep_dir), 0, 0, NULL, "",
     "the folder of the HEP collector's captures, one a call: written by callqa sip --hep, "
     "searched by the worker for a call with no capture beside it"},
    {"hep_allow", K_STR, F(hep_allow), SZ(hep_allow), 0, 0, NULL, "",
     "the senders allowed, ADDR[/BITS] comma-separated (none: the loopback addresses)"},
    {"hep_key_file", K_STR, F(hep_key_file), SZ(hep_key_file), 0, 0, NULL, "",
     "the HEP key every packet must carry, in a file of mode 0600 (none: no key)"},
    {"hep_idle_sec", K_DOUBLE, F(hep_idle_sec), 0, 1, 86400, NULL, "300",
     "a call never answered and silent this long is written"},
    {"hep_silent_sec", K_DOUBLE, F(hep_silent_sec), 0, 1, 86400 * 7, NULL, "3600",
     "a call answered and silent this long is written (its BYE lost or never sent)"},
    {"hep_max_call_sec", K_DOUBLE, F(hep_max_call_sec), 0, 1, 86400 * 7, NULL, "14400",
     "a call open this long is written (its BYE never seen)"},
    {"hep_max_calls", K_INT, F(hep_max_calls), 0, 1, 1000000, NULL, "10000",
     "calls open at once; a new one past it has the call silent longest written, counted"},
    {"hep_call_kib", K_INT, F(hep_call_kib), 0, 64, 1048576, NULL, "1024",
     "KiB of packets kept a call; more are dropped, counted"},
    {"hep_max_kib", K_INT, F(hep_max_kib), 0, 64, 67108864, NULL, "262144",
     "KiB kept for all open calls; past it the call silent longest is written early"},
    {"hep_max_conns", K_INT, F(hep_max_conns), 0, 1, 65536, NULL, "256",
     "TCP connections at once; past it, the one that has sent no whole packet for longest is "
     "closed, else the new one refused"},
    {"hep_conns_per_addr", K_INT, F(hep_conns_per_addr), 0, 1, 65536, NULL, "32",
     "TCP connections of one address that have sent no whole packet yet; past it that "
     "address's oldest is closed"},
    {"hep_conn_first_sec", K_DOUBLE, F(hep_conn_first_sec), 0, 0.1, 3600, NULL, "30",
     "a TCP connection that has sent no whole HEP packet this long after its accept is closed"},
    {"hep_conn_idle_sec", K_DOUBLE, F(hep_conn_idle_sec), 0, 1, 86400, NULL, "300",
     "a TCP connection without a whole HEP packet this long is closed"},
    {"hep_dir_max_mb", K_INT, F(hep_dir_max_mb), 0, 1, 1 << 30, NULL, "10240",
     "MiB of files in hep_dir at most: a capture that would pass it is not written, counted "
     "and said on stderr (nothing is deleted)"},
    /* callqa worker (docs/config.md, "callqa worker") */
    {"worker_max_load", K_DOUBLE, F(worker_max_load), 0, 0, 1e6, NULL, "2 x CPUs",
     "pause while the 1-minute load is above this (0: never)", .value = CPUS2},
    {"worker_window", K_STR, F(worker_window), SZ(worker_window), 0, 0, NULL, "",
     "work only then, HH:MM-HH:MM (none: always)"},
    {"worker_tz", K_STR, F(worker_tz), SZ(worker_tz), 0, 0, NULL, "the system's",
     "the window's time zone", .value = ""},
    {"worker_cpus", K_STR, F(worker_cpus), SZ(worker_cpus), 0, 0, NULL, "",
     "run on these CPUs, e.g. 1 or 2-3 (none: all)"},
    {"worker_idle", K_BOOL, F(worker_idle), 0, 0, 0, NULL, "true", "the idle CPU and I/O priority"},
    {"worker_min_length_sec", K_DOUBLE, F(worker_min_length_sec), 0, 0, 86400, NULL, "0",
     "skip calls shorter than this"},
    {"worker_lease_sec", K_DOUBLE, F(worker_lease_sec), 0, 3, 86400, NULL, "60", "a call's lease"},
    {"worker_max_retries", K_INT, F(worker_max_retries), 0, 0, 100, NULL, "3",
     "retries of a failing stage"},
    {"worker_backoff_sec", K_DOUBLE, F(worker_backoff_sec), 0, 0, 86400, NULL, "30",
     "the first retry's delay, doubled each time"},
    {"worker_analysis_timeout_sec", K_DOUBLE, F(worker_analysis_timeout_sec), 0, 0.1, 86400, NULL,
     "900", "an analysis is stopped past this"},
    /* callqa ingest vicidial's scan */
    {"vicidial_batch", K_INT, F(vicidial_batch), 0, 1, 100000, NULL, "1000", "rows per query"},
    {"vicidial_open_row_hours", K_DOUBLE, F(vicidial_open_row_hours), 0, 0, 24 * 366, NULL, "6",
     "open rows are revisited this long"},
    {"vicidial_retry_sec", K_DOUBLE, F(vicidial_retry_sec), 0, 0, 86400, NULL, "300",
     "a lost database connection is retried this long"},
    {"vicidial_lookback", K_INT, F(vicidial_lookback), 0, 0, 10000000, NULL, "1000",
     "rows up to this many ids below the mark that the store does not have are taken too"},
};
#pragma GCC diagnostic pop
#define N_SETTINGS (sizeof(k_settings) / sizeof(k_settings[0]))

static int set_one(cfg_settings *c, const setting *st, const char *v, bool checked,
                   const char *name, char *msg, size_t msgsz);

static const char *type_name(kind k)
{
    static const char *const names[] = {"number",
                                        "number",
                                        "integer",
                                        "MiB",
                                        "text",
                                        "boolean",
                                        "choice",
                                        "server",
                                        "seconds or none",
                                        "comma-separated list"};
    return names[k];
}

/* The meaning as printed: the help, and the flag when the setting has one. */
static void meaning(const setting *st, char *out, size_t n)
{
    if (st->flag)
        snprintf(out, n, "%s (--%s)", st->help, st->flag);
    else
        snprintf(out, n, "%s", st->help);
}

void cfg_print(FILE *f)
{
    char m[400];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        meaning(&k_settings[i], m, sizeof(m));
        fprintf(f, "  %-22s %-18s %s\n", k_settings[i].key, k_settings[i].dflt, m);
    }
}

bool cfg_info_at(size_t i, cfg_info *out)
{
    if (i >= N_SETTINGS)
        return false;
    const setting *st = &k_settings[i];
    *out = (cfg_info){.key = st->key,
                      .flag = st->flag,
                      .type = type_name(st->kind),
                      .shown = st->dflt,
                      .help = st->help,
                      .lo = st->lo,
                      .hi = st->hi,
                      .groups = st->groups,
                      .computed = st->value != NULL};
    return true;
}

static const setting *find(const char *key);

bool cfg_info_of(const char *key, cfg_info *out)
{
    const setting *st = find(key);
    return st && cfg_info_at((size_t)(st - k_settings), out);
}

/* ---- flags ---------------------------------------------------------------------------------- */

void cfg_flag_help(FILE *f, unsigned groups)
{
    enum { COL = 25, WIDTH = 92 };
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting *st = &k_settings[i];
        if (!st->flag || !(st->groups & groups))
            continue;
        char head[64], text[400];
        snprintf(head, sizeof(head), "--%s%s%s", st->flag, st->arg ? " " : "",
                 st->arg ? st->arg : "");
        snprintf(text, sizeof(text), "%s (default %s)", st->help,
                 st->kind == K_BOOL ? "off"
                 : *st->dflt        ? st->dflt
                                    : "none");
        int col = fprintf(f, "  %s", head);
        const char *p = text;
        while (*p) { /* the words from column COL, wrapped before WIDTH */
            size_t w = strcspn(p, " ");
            if (col >= COL && col + 1 + (int)w > WIDTH) {
                fputc('\n', f);
                col = 0;
            }
            col += fprintf(f, "%*s%.*s", col < COL ? COL - col : 1, "", (int)w, p);
            p += w;
            while (*p == ' ')
                p++;
        }
        fputc('\n', f);
    }
}

static int err(char *msg, size_t n, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, n, fmt, a, b ? b : "");
    return -1;
}

int cfg_add_server(cfg_settings *c, const char *spec, char *msg, size_t msgsz)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || eq - spec > 64)
        return err(msg, msgsz, "recording server '%s': expected NAME=URL%s", spec, NULL);
    if (c->n_servers == CFG_MAX_SERVERS)
        return err(msg, msgsz, "recording server '%s': more than 64 servers%s", spec, NULL);
    cfg_server *s = &c->servers[c->n_servers];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, spec, (size_t)(eq - spec));
    for (const char *p = s->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return err(msg, msgsz, "recording server name '%s': use [A-Za-z0-9_-]%s", s->name,
                       NULL);
    if (cfg_find_server(c, s->name))
        return err(msg, msgsz, "recording server '%s' given twice%s", s->name, NULL);
    const char *url = eq + 1;
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip)
        return err(msg, msgsz,
                   "recording server '%s': the URL must start with http:// or "
                   "https://%s",
                   s->name, NULL);
    size_t hl = strcspn(url + skip, "/:?#");
    if (hl == 0 || hl >= sizeof(s->host) || strpbrk(url, "?#@ \t"))
        return err(msg, msgsz, "recording server '%s': bad URL '%s'", s->name, url);
    memcpy(s->host, url + skip, hl);
    snprintf(s->base, sizeof(s->base), "%s", url);
    size_t bl = strlen(s->base);
    while (bl > skip && s->base[bl - 1] == '/')
        s->base[--bl] = 0;
    c->n_servers++;
    return 0;
}

const cfg_server *cfg_find_server(const cfg_settings *c, const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < c->n_servers; i++)
        if (strcmp(c->servers[i].name, name) == 0)
            return &c->servers[i];
    return NULL;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

static const setting *find(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (!strcmp(key, k_settings[i].key))
            return &k_settings[i];
    return NULL;
}

/* cfg_int.h */
const char *cfg__num_text(double d, char *buf, size_t n)
{
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(buf, n, "%.0f", d);
    else
        snprintf(buf, n, "%g", d);
    return buf;
}

/* One setting's value from its text; `checked`: within its bounds (a default may lie outside,
 * as vad_neg_threshold's -1, "threshold - 0.15"). A failure names `name` (the setting's key,
 * or the flag that gave the value) and the value: "max_calls 0: out of range 1..100000". */
static int set_one(cfg_settings *c, const setting *st, const char *v, bool checked,
                   const char *name, char *msg, size_t msgsz)
{
    const char *k = name ? name : st->key;
    char *dst = (char *)c + st->off;
    char lo[32], hi[32];
    double d;
    switch (st->kind) {
    case K_SERVER: return cfg_add_server(c, v, msg, msgsz);
    case K_STR:
        if (strlen(v) >= st->size)
            return cfg_fail(msg, msgsz, "%s: '%s' is too long (at most %zu bytes)", k, v,
                            st->size - 1);
        snprintf(dst, st->size, "%s", v);
        return 0;
    case K_LIST: { /* each value given adds to the list; "" empties it */
        size_t have = *v ? strlen(dst) : 0;
        if (have + 1 + strlen(v) >= st->size)
            return cfg_fail(msg, msgsz, "%s: '%s' makes the list too long (at most %zu bytes)", k,
                            v, st->size - 1);
        snprintf(dst + have, st->size - have, "%s%s", have ? "," : "", v);
        return 0;
    }
    case K_BOOL: {
        bool on = !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes");
        if (!on && strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "no"))
            return cfg_fail(msg, msgsz, "%s: expected true or false, not '%s'", k, v);
        *(bool *)dst = on;
        return 0;
    }
    case K_ENUM: {
        char list[200] = "";
        for (int i = 0; st->names[i]; i++) {
            if (!strcmp(v, st->names[i])) {
                *(int *)dst = i;
                return 0;
            }
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                     i ? (st->names[i + 1] ? ", " : " or ") : "", st->names[i]);
        }
        return cfg_fail(msg, msgsz, "%s '%s': expected %s", k, v, list);
    }
    case K_SEC_INF:
        if (!strcmp(v, "none")) {
            *(double *)dst = INFINITY;
            return 0;
        }
        break;
    default: break;
    }
    if (parse_num(v, -INFINITY, INFINITY, &d))
        return cfg_fail(msg, msgsz, "%s '%s': not a number (%s..%s%s)", k, v,
                        cfg__num_text(st->lo, lo, sizeof(lo)),
                        cfg__num_text(st->hi, hi, sizeof(hi)),
                        st->kind == K_SEC_INF ? " seconds, or none" : "");
    if (checked && !(d >= st->lo && d <= st->hi))
        return cfg_fail(msg, msgsz, "%s %s: out of range %s..%s%s", k, v,
                        cfg__num_text(st->lo, lo, sizeof(lo)),
                        cfg__num_text(st->hi, hi, sizeof(hi)),
                        st->kind == K_SEC_INF ? " seconds, or none" : "");
    switch (st->kind) {
    case K_FLOAT: *(float *)dst = (float)d; break;
    case K_INT: *(int *)dst = (int)d; break;
    case K_MB: *(size_t *)dst = (size_t)(d * 1048576.0); break;
    default: *(double *)dst = d; break;
    }
    return 0;
}

int cfg_set(cfg_settings *c, const char *key, const char *value, char *msg, size_t msgsz)
{
    const setting *st = find(key);
    if (!st)
        return err(msg, msgsz, "unknown setting '%s'%s", key, NULL);
    return set_one(c, st, value, true, NULL, msg, msgsz);
}

/* cfg_int.h */
int cfg__set_as(cfg_settings *c, const char *key, const char *name, const char *value, char *msg,
                size_t msgsz)
{
    const setting *st = find(key);
    if (!st)
        return err(msg, msgsz, "unknown setting '%s'%s", key, NULL);
    return set_one(c, st, value, true, name, msg, msgsz);
}

void cfg_defaults(cfg_settings *c)
{
    memset(c, 0, sizeof(*c));
    cfg_defaults_zeroed(c);
}

/* Only the settings whose default is not "" are written: the pages of the others stay untouched
 * (in static storage, not even mapped). */
void cfg_defaults_zeroed(cfg_settings *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char n[32], msg[200];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting *st = &k_settings[i];
        const char *v = st->value ? st->value : st->dflt;
        if (st->kind == K_SERVER || !*v)
            continue; /* no server; "" is the zeroed value */
        if (!strcmp(v, CPUS) || !strcmp(v, CPUS2)) {
            snprintf(n, sizeof(n), "%ld", (cpus > 0 ? cpus : 2) * (strcmp(v, CPUS2) ? 1 : 2));
            v = n;
        } else if (!strcmp(v, TMPDIR)) {
            v = getenv("TMPDIR");
            if (!v || !*v)
                v = "/tmp";
        }
        (void)set_one(c, st, v, false, NULL, msg, sizeof(msg)); /* the table's own: test_config */
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int cfg_load_file(cfg_settings *c, const char *path, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err(msg, msgsz, "%s: %s", path, strerror(errno));
    char line[2048];
    int no = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        no++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(msg, msgsz, "%s:%d: expected key = value", path, no);
            rc = -1;
            break;
        }
        *eq = 0;
        char m[512];
        if (cfg_set(c, trim(s), trim(eq + 1), m, sizeof(m))) {
            snprintf(msg, msgsz, "%s:%d: %s", path, no, m);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int cfg_load_env(cfg_settings *c, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (k_settings[i].kind == K_SERVER)
            continue; /* servers come from the file or the flags */
        char env[64] = "CALLQA_";
        for (size_t k = 0; k_settings[i].key[k] && k < 50; k++)
            env[7 + k] = (char)toupper((unsigned char)k_settings[i].key[k]), env[8 + k] = 0;
        const char *v = getenv(env);
        if (v && set_one(c, &k_settings[i], v, true, NULL, msg, msgsz))
            return -1;
    }
    return 0;
}

int cfg_read_token(cfg_settings *c, char *msg, size_t msgsz)
{
    if (!c->token_file[0])
        return err(msg, msgsz,
                   "authentication is on but no token_file is set (or run with "
                   "--no-auth on a trusted network)%s%s",
                   "", NULL);
    struct stat st;
    FILE *f = fopen(c->token_file, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return err(msg, msgsz, "%s: %s", c->token_file, strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        fclose(f);
        return err(msg, msgsz,
                   "%s: the token file must be a regular file of mode 0600 (others "
                   "must not read it)%s",
                   c->token_file, NULL);
    }
    char buf[512];
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = 0;
    char *t = trim(buf);
    if (strlen(t) < 16 || strlen(t) >= sizeof(c->token))
        return err(msg, msgsz, "%s: the token must be 16 to 255 characters%s", c->token_file, NULL);
    snprintf(c->token, sizeof(c->token), "%s", t);
    return 0;
}

/* ---- secrets, and messages ------------------------------------------------------------------ */

int cfg_fail(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

char *cfg_read_file(const char *path, size_t max, size_t *len, char *err, size_t errsz)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    if (!b)
        snprintf(err, errsz, "out of memory");
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = cap < max ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                b = NULL;
                snprintf(err, errsz, "%s: over %zu MiB, or out of memory", path, max >> 20);
                break;
            }
            b = nb, cap *= 2;
        }
    }
    if (b && ferror(f)) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        free(b);
        b = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (b)
        b[n] = '\0'; /* n < cap: the buffer grows when it is full */
    *len = n;
    return b;
}

int cfg_read_secret(const char *path, char *out, size_t n, char *msg, size_t msgsz)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cfg_fail(msg, msgsz, "%s: %s", path,
                        e == ELOOP ? "a symbolic link (refused)" : strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        close(fd);
        return cfg_fail(msg, msgsz,
                        "%s: a key or password file must be a regular file of mode 0600 or "
                        "stricter (others must not read it)",
                        path);
    }
    char buf[1024];
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got < 0)
        return cfg_fail(msg, msgsz, "%s: %s", path, strerror(errno));
    buf[got] = 0;
    size_t len = strcspn(buf, "\r\n");
    buf[len] = 0;
    if (len == 0 || len >= n || memchr(buf, 0, len) != NULL) {
        memset(buf, 0, sizeof(buf));
        return cfg_fail(msg, msgsz,
                        "%s: a key or password file's first line must hold it "
                        "(1-%zu bytes)",
                        path, n - 1);
    }
    memcpy(out, buf, len + 1);
    memset(buf, 0, sizeof(buf));
    return 0;
}
