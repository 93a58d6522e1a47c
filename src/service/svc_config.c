/*
 * svc_config.c - the service's settings: one table lists each setting once (its name, type,
 * bounds, default and meaning), and drives the config file, the CALLQA_* environment, the
 * defaults, --help-settings and the check of docs/config.md; `NAME=URL` recording servers; the
 * bearer token file. The analysis settings (silence_*, vad_*, nisqa_*, channel_map) are the
 * engine's parameters, with the same names and defaults as the command line's flags, so that
 * `GET /analyze` and `callqa analyze` agree whatever they are set to.
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

#include "svc.h"

typedef enum kind {
    K_DOUBLE,  /* double */
    K_FLOAT,   /* float */
    K_INT,     /* int */
    K_MB,      /* size_t bytes, given in MiB */
    K_STR,     /* char[size] */
    K_BOOL,    /* bool */
    K_ENUM,    /* int, one of `names` */
    K_SERVER,  /* NAME=URL, repeatable */
    K_SEC_INF  /* double seconds, or "none" for no limit (+inf) */
} kind;

typedef struct setting {
    const char *key;
    kind kind;
    size_t off;     /* in svc_config */
    size_t size;    /* K_STR */
    double lo, hi;  /* numbers */
    const char *const *names; /* K_ENUM */
    const char *dflt;         /* as shown: the default */
    const char *help;
} setting;

#define F(field) offsetof(svc_config, field)

static const char *const k_nisqa_modes[] = {"windowed", "file", NULL};
static const char *const k_channel_maps[] = {"in,out", "out,in", NULL};
static const char *const k_asr_protocols[] = {"openai", "whispercpp", NULL};

static const setting k_settings[] = {
    /* listening and access */
    {"listen", K_STR, F(listen_addr), sizeof(((svc_config *)0)->listen_addr), 0, 0, NULL,
     "127.0.0.1", "the IPv4 or IPv6 address to listen on"},
    {"port", K_INT, F(listen_port), 0, 1, 65535, NULL, "8080", "TCP port"},
    {"recording_server", K_SERVER, 0, 0, 0, 0, NULL, "none",
     "a ViciDial recording server as NAME=URL (repeatable)"},
    {"db", K_STR, F(db_path), sizeof(((svc_config *)0)->db_path), 0, 0, NULL, "callqa.db",
     "the SQLite results store"},
    {"auth", K_BOOL, F(auth), 0, 0, 0, NULL, "true", "require the bearer token"},
    {"token_file", K_STR, F(token_file), sizeof(((svc_config *)0)->token_file), 0, 0, NULL, "",
     "the bearer token, in a file of mode 0600"},
    {"auth_metrics", K_BOOL, F(auth_metrics), 0, 0, 0, NULL, "false", "/metrics needs the token"},
    {"header_timeout_sec", K_DOUBLE, F(header_timeout_sec), 0, 0.5, 3600, NULL, "10",
     "a request's headers must all be in within this (else 408, the connection closed)"},
    {"max_pending_per_client", K_INT, F(max_pending_per_client), 0, 1, 100000, NULL, "16",
     "connections one address may hold still sending their headers; past it its oldest is "
     "cut with 503"},
    {"login_window_sec", K_DOUBLE, F(login_window_sec), 0, 1, 86400, NULL, "60",
     "failed logins (a wrong token, at /api/session or as a bearer) are counted over this"},
    {"login_max_failures", K_INT, F(login_max_failures), 0, 1, 1000000, NULL, "10",
     "failed logins from one address in the window, then 429 until it has passed"},
    {"login_max_failures_account", K_INT, F(login_max_failures_account), 0, 1, 1000000, NULL,
     "100", "failed logins to the one account (the token) from all addresses in the window"},
    {"trusted_proxies", K_STR, F(trusted_proxies), sizeof(((svc_config *)0)->trusted_proxies), 0,
     0, NULL, "", "addresses of proxies in front whose X-Forwarded-For names the client (for "
     "the login limits), comma-separated"},
    {"allowed_hosts", K_STR, F(allowed_hosts), sizeof(((svc_config *)0)->allowed_hosts), 0, 0,
     NULL, "", "Host names answered beside the listen address, localhost and the loopback "
     "addresses (others get 421), comma-separated"},
    {"session_ttl_sec", K_INT, F(session_ttl_sec), 0, 1, 366 * 86400, NULL, "28800",
     "the dashboard's session cookie expires after this"},
    {"session_cookie_secure", K_BOOL, F(session_cookie_secure), 0, 0, 0, NULL, "false",
     "mark the session cookie Secure (served over HTTPS, e.g. behind a TLS proxy)"},
    {"model_dir", K_STR, F(model_dir), sizeof(((svc_config *)0)->model_dir), 0, 0, NULL,
     "$CALLQA_MODEL_DIR", "Silero VAD and NISQA models"},
    {"tmp_dir", K_STR, F(tmp_dir), sizeof(((svc_config *)0)->tmp_dir), 0, 0, NULL, "$TMPDIR",
     "temporary files (fetched recordings, uploads)"},
    {"audio_dirs", K_STR, F(audio_dirs), sizeof(((svc_config *)0)->audio_dirs), 0, 0, NULL, "",
     "more folders recordings may be read from, comma-separated (recordings_dir, upload_dir and "
     "the watched folders are)"},
    {"upload_dir", K_STR, F(upload_dir), sizeof(((svc_config *)0)->upload_dir), 0, 0, NULL,
     "DB-uploads", "recordings uploaded to /api/qa/calls, kept for the worker"},
    {"events_heartbeat_sec", K_DOUBLE, F(events_heartbeat_sec), 0, 1, 3600, NULL, "15",
     "/api/qa/events: a comment line after this long without an event"},
    {"events_max_clients", K_INT, F(events_max_clients), 0, 1, 4096, NULL, "64",
     "/api/qa/events: streams open at once"},
    {"events_keep_days", K_DOUBLE, F(events_keep_days), 0, 0.01, 3650, NULL, "7",
     "job events kept for event-stream clients that reconnect"},
    /* the QA pipeline (docs/pipeline.md) */
    {"worker_jobs", K_INT, F(worker_jobs), 0, 0, 64, NULL, "0",
     "callqa serve: an embedded QA worker with this many slots (0: none)"},
    {"recordings_dir", K_STR, F(recordings_dir), sizeof(((svc_config *)0)->recordings_dir), 0, 0,
     NULL, "", "the dialer's recordings on local disk (the worker, the ingest)"},
    {"vicidial", K_STR, F(vicidial), sizeof(((svc_config *)0)->vicidial), 0, 0, NULL, "",
     "a ViciDial database, mysql://USER@HOST[:PORT]/DB, scanned on a schedule"},
    {"vicidial_password_file", K_STR, F(vicidial_password_file),
     sizeof(((svc_config *)0)->vicidial_password_file), 0, 0, NULL, "",
     "its password, in a file of mode 0600"},
    {"vicidial_source", K_STR, F(vicidial_source), sizeof(((svc_config *)0)->vicidial_source), 0,
     0, NULL, "the DB host", "the dialer's name in the store"},
    {"vicidial_tz", K_STR, F(vicidial_tz), sizeof(((svc_config *)0)->vicidial_tz), 0, 0, NULL,
     "the system's", "the dialer's IANA time zone"},
    {"vicidial_min_length_sec", K_INT, F(vicidial_min_length_sec), 0, 0, 86400, NULL, "30",
     "shorter calls are enqueued skipped"},
    {"ingest_interval_sec", K_DOUBLE, F(ingest_interval_sec), 0, 5, 86400, NULL, "300",
     "between the scheduled scans of the dialer"},
    /* transcription (docs/transcription.md) */
    {"asr_url", K_STR, F(asr_url), sizeof(((svc_config *)0)->asr_url), 0, 0, NULL, "",
     "a Whisper-class server: the worker transcribes each call's speech (\"\": no)"},
    {"asr_protocol", K_ENUM, F(asr_protocol), 0, 0, 0, k_asr_protocols, "openai",
     "openai (POST URL/audio/transcriptions) or whispercpp"},
    {"asr_model", K_STR, F(asr_model), sizeof(((svc_config *)0)->asr_model), 0, 0, NULL, "",
     "the model name (openai: required)"},
    {"asr_key_file", K_STR, F(asr_key_file), sizeof(((svc_config *)0)->asr_key_file), 0, 0, NULL,
     "", "the API key, in a file of mode 0600"},
    {"asr_language", K_STR, F(asr_language), sizeof(((svc_config *)0)->asr_language), 0, 0, NULL,
     "auto", "auto, or an ISO 639-1 code sent with each request"},
    {"asr_campaign_languages", K_STR, F(asr_campaign_languages),
     sizeof(((svc_config *)0)->asr_campaign_languages), 0, 0, NULL, "",
     "a language per campaign, CAMPAIGN=xx,... (ISO 639-1; others: asr_language)"},
    {"asr_prompt", K_STR, F(asr_prompt), sizeof(((svc_config *)0)->asr_prompt), 0, 0, NULL, "",
     "a vocabulary and style hint"},
    {"asr_timeout_sec", K_DOUBLE, F(asr_timeout_sec), 0, 1, 3600, NULL, "120", "per request"},
    {"asr_retries", K_INT, F(asr_retries), 0, 0, 20, NULL, "3", "after a request's first attempt"},
    {"asr_concurrency", K_INT, F(asr_concurrency), 0, 1, 32, NULL, "2",
     "requests at once for one call"},
    {"asr_include_ivr", K_BOOL, F(asr_include_ivr), 0, 0, 0, NULL, "false",
     "send IVR prompts too"},
    /* scoring (docs/scoring.md) */
    {"scoring", K_BOOL, F(scoring), 0, 0, 0, NULL, "true",
     "the worker scores each call on the scorecard (rules and acoustics; an LLM when set)"},
    {"scorecard", K_STR, F(scorecard), sizeof(((svc_config *)0)->scorecard), 0, 0, NULL, "",
     "the scorecard file (\"\": the shipped 8-category card)"},
    {"topics_file", K_STR, F(topics_file), sizeof(((svc_config *)0)->topics_file), 0, 0, NULL, "",
     "a topics file: each call's topic (\"\": none)"},
    /* the LLM (docs/llm.md): GET /ai-analyze's assessment */
    {"llm_provider", K_STR, F(llm_provider), sizeof(((svc_config *)0)->llm_provider), 0, 0, NULL,
     "", "anthropic, openai (any OpenAI-compatible server) or gemini (\"\": no LLM)"},
    {"llm_url", K_STR, F(llm_url), sizeof(((svc_config *)0)->llm_url), 0, 0, NULL, "",
     "the provider's base URL"},
    {"llm_model", K_STR, F(llm_model), sizeof(((svc_config *)0)->llm_model), 0, 0, NULL, "",
     "the model name"},
    {"llm_key_file", K_STR, F(llm_key_file), sizeof(((svc_config *)0)->llm_key_file), 0, 0, NULL,
     "", "the API key, in a file of mode 0600 (openai: optional)"},
    {"llm_connect_timeout_sec", K_DOUBLE, F(llm_connect_timeout_sec), 0, 0.1, 600, NULL, "10",
     "connect timeout to the LLM"},
    {"llm_timeout_sec", K_DOUBLE, F(llm_timeout_sec), 0, 0.1, 3600, NULL, "120", "per request"},
    {"llm_retries", K_INT, F(llm_retries), 0, 0, 10, NULL, "2",
     "after a request's first attempt (transport faults, 429, 408, 5xx)"},
    {"llm_max_tokens", K_INT, F(llm_max_tokens), 0, 1, 1000000, NULL, "2048",
     "the answer's token limit"},
    {"llm_temperature", K_DOUBLE, F(llm_temperature), 0, -1, 2, NULL, "0",
     "0-2; negative: none sent"},
    {"llm_price_in", K_DOUBLE, F(llm_price_in), 0, 0, 1e6, NULL, "0",
     "USD per million input tokens"},
    {"llm_price_out", K_DOUBLE, F(llm_price_out), 0, 0, 1e6, NULL, "0",
     "USD per million output tokens"},
    {"llm_fallback_provider", K_STR, F(llm_fallback_provider),
     sizeof(((svc_config *)0)->llm_fallback_provider), 0, 0, NULL, "",
     "a second provider, tried when the first fails (\"\": none)"},
    {"llm_fallback_url", K_STR, F(llm_fallback_url), sizeof(((svc_config *)0)->llm_fallback_url),
     0, 0, NULL, "", "its base URL"},
    {"llm_fallback_model", K_STR, F(llm_fallback_model),
     sizeof(((svc_config *)0)->llm_fallback_model), 0, 0, NULL, "", "its model"},
    {"llm_fallback_key_file", K_STR, F(llm_fallback_key_file),
     sizeof(((svc_config *)0)->llm_fallback_key_file), 0, 0, NULL, "", "its key file (0600)"},
    {"llm_fallback_price_in", K_DOUBLE, F(llm_fallback_price_in), 0, 0, 1e6, NULL, "0",
     "its USD per million input tokens"},
    {"llm_fallback_price_out", K_DOUBLE, F(llm_fallback_price_out), 0, 0, 1e6, NULL, "0",
     "its USD per million output tokens"},
    {"llm_daily_token_cap", K_DOUBLE, F(llm_daily_token_cap), 0, 0, 1e15, NULL, "0",
     "input + output tokens a day (0: no cap)"},
    {"llm_daily_cost_cap", K_DOUBLE, F(llm_daily_cost_cap), 0, 0, 1e12, NULL, "0",
     "USD a day (0: no cap)"},
    /* limits */
    {"freshness_sec", K_DOUBLE, F(freshness_sec), 0, 0, 86400 * 365, NULL, "60",
     "stored results served without asking the recording server"},
    {"max_concurrent", K_INT, F(max_concurrent), 0, 1, 256, NULL, "CPUs", "analyses at once"},
    {"max_queue", K_INT, F(max_queue), 0, 0, 100000, NULL, "32", "analyses waiting"},
    {"threads", K_INT, F(threads), 0, 1, 256, NULL, "CPUs", "HTTP event-loop threads"},
    {"max_body_mb", K_MB, F(max_body), 0, 1, 1 << 20, NULL, "100", "largest upload, MiB"},
    {"max_transcript_mb", K_MB, F(max_transcript), 0, 1, 1 << 20, NULL, "16",
     "largest transcript imported (POST /api/qa/call/{id}/transcript), MiB"},
    {"max_body_memory_mb", K_MB, F(max_body_memory), 0, 1, 1 << 20, NULL, "256",
     "request bodies held in memory by all requests together, MiB; past it 503"},
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
     "a whole upload must arrive within this"},
    {"upload_idle_sec", K_DOUBLE, F(upload_idle_sec), 0, 1, 3600, NULL, "30",
     "an upload that stops coming this long is dropped, its temporary files removed"},
    {"analysis_timeout_sec", K_DOUBLE, F(analysis_timeout_sec), 0, 0.1, 86400, NULL, "300",
     "one analysis; its process is killed beyond this"},
    {"isolate", K_BOOL, F(isolate), 0, 0, 0, NULL, "true",
     "each analysis in a child process of the analysis host"},
    /* the analysis: the engine's parameters, named as the command line's flags */
    {"silence_noise", K_DOUBLE, F(engine.silence_noise_db), 0, -199, -0.001, NULL, "-35",
     "silencedetect noise threshold, dBFS (--silence-noise)"},
    {"silence_duration", K_DOUBLE, F(engine.silence_min_duration_sec), 0, 0.001, 86399, NULL,
     "0.5", "shortest silence reported, s (--silence-duration)"},
    {"channel_map", K_ENUM, F(engine.channel_map), 0, 0, 0, k_channel_maps, "in,out",
     "stereo channels (--channel-map)"},
    {"vad_model", K_STR, F(vad_model), sizeof(((svc_config *)0)->vad_model), 0, 0, NULL, "v6.2",
     "Silero VAD version directory (--vad-model)"},
    {"vad_threshold", K_FLOAT, F(engine.speech.threshold), 0, 0.01, 0.99, NULL, "0.5",
     "speech probability threshold (--vad-threshold)"},
    {"vad_neg_threshold", K_FLOAT, F(engine.speech.neg_threshold), 0, 0, 0.99, NULL,
     "threshold - 0.15", "end-of-speech threshold (--vad-neg-threshold)"},
    {"vad_min_speech_ms", K_INT, F(engine.speech.min_speech_ms), 0, 0, 1000000, NULL, "250",
     "shortest speech segment (--vad-min-speech-ms)"},
    {"vad_min_silence_ms", K_INT, F(engine.speech.min_silence_ms), 0, 0, 1000000, NULL, "300",
     "shortest pause that ends a segment (--vad-min-silence-ms)"},
    {"vad_speech_pad_ms", K_INT, F(engine.speech.speech_pad_ms), 0, 0, 1000000, NULL, "30",
     "padding on each side of a segment (--vad-speech-pad-ms)"},
    {"vad_max_speech_sec", K_SEC_INF, F(engine.speech.max_speech_sec), 0, 0.1, 1e6, NULL,
     "none", "split longer segments (--vad-max-speech-sec)"},
    {"nisqa_mode", K_ENUM, F(engine.nisqa_mode), 0, 0, 0, k_nisqa_modes, "windowed",
     "NISQA over windows or the whole leg (--nisqa-mode)"},
    {"nisqa_window_sec", K_DOUBLE, F(engine.nisqa_window_sec), 0, 1, 600, NULL, "8",
     "NISQA window length (--nisqa-window-sec)"},
    {"dtmf_speech", K_BOOL, F(engine.dtmf_speech), 0, 0, 0, NULL, "false",
     "our DTMF receiver for digits under speech too (--dtmf-speech)"},
    {"dtmf_voice_cancel", K_BOOL, F(engine.dtmf_voice_cancel), 0, 0, 0, NULL, "false",
     "and ours on the voice-cancelled signal (--dtmf-voice-cancel)"},
};
#define N_SETTINGS (sizeof(k_settings) / sizeof(k_settings[0]))

void svc_config_defaults(svc_config *c)
{
    memset(c, 0, sizeof(*c));
    c->engine = cq_engine_default_params();
    snprintf(c->vad_model, sizeof(c->vad_model), "%s", c->engine.vad_model);
    c->engine.vad_model = c->vad_model;
    snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->db_path, sizeof(c->db_path), "callqa.db");
    c->auth = true;
    c->session_ttl_sec = 8 * 3600;
    c->header_timeout_sec = 10;
    c->max_pending_per_client = 16;
    c->login_window_sec = 60;
    c->login_max_failures = 10;
    c->login_max_failures_account = 100;
    c->max_body = 100u << 20;
    c->max_body_memory = 256u << 20;
    c->max_transcript = 16u << 20;
    c->max_duration_sec = 4 * 3600.0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->max_concurrent = cpus > 0 ? (int)cpus : 2;
    c->threads = c->max_concurrent;
    c->max_queue = 32;
    c->request_timeout_sec = 300;
    c->analysis_timeout_sec = 300;
    c->upload_timeout_sec = 120;
    c->upload_idle_sec = 30;
    c->isolate = true;
    c->fetch_timeout_sec = 60;
    c->fetch_connect_sec = 5;
    c->max_recording = 200u << 20;
    c->freshness_sec = 60;
    c->events_heartbeat_sec = 15;
    c->events_max_clients = 64;
    c->events_keep_days = 7;
    c->vicidial_min_length_sec = 30;
    c->ingest_interval_sec = 300;
    snprintf(c->asr_language, sizeof(c->asr_language), "auto");
    c->asr_timeout_sec = 120;
    c->asr_retries = 3;
    c->asr_concurrency = 2;
    c->scoring = true;
    c->llm_connect_timeout_sec = 10;
    c->llm_timeout_sec = 120;
    c->llm_retries = 2;
    c->llm_max_tokens = 2048;
    const char *t = getenv("TMPDIR");
    snprintf(c->tmp_dir, sizeof(c->tmp_dir), "%s", t && *t ? t : "/tmp");
}

void svc_config_print(FILE *f)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        fprintf(f, "  %-22s %-18s %s\n", k_settings[i].key, k_settings[i].dflt,
                k_settings[i].help);
}

static int err(char *msg, size_t n, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, n, fmt, a, b ? b : "");
    return -1;
}

int svc_config_add_server(svc_config *c, const char *spec, char *msg, size_t msgsz)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || eq - spec > 64)
        return err(msg, msgsz, "recording server '%s': expected NAME=URL%s", spec, NULL);
    if (c->n_servers == SVC_MAX_SERVERS)
        return err(msg, msgsz, "recording server '%s': more than 64 servers%s", spec, NULL);
    svc_server *s = &c->servers[c->n_servers];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, spec, (size_t)(eq - spec));
    for (const char *p = s->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return err(msg, msgsz, "recording server name '%s': use [A-Za-z0-9_-]%s", s->name, NULL);
    if (svc_find_server(c, s->name))
        return err(msg, msgsz, "recording server '%s' given twice%s", s->name, NULL);
    const char *url = eq + 1;
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip)
        return err(msg, msgsz, "recording server '%s': the URL must start with http:// or "
                               "https://%s", s->name, NULL);
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

/* One setting by its key (file) name. */
static int set_key(svc_config *c, const char *k, const char *v, char *msg, size_t msgsz)
{
    const setting *st = NULL;
    for (size_t i = 0; i < N_SETTINGS && !st; i++)
        if (!strcmp(k, k_settings[i].key))
            st = &k_settings[i];
    if (!st)
        return err(msg, msgsz, "unknown setting '%s'%s", k, NULL);
    char *dst = (char *)c + st->off;
    double d;
    switch (st->kind) {
    case K_SERVER: return svc_config_add_server(c, v, msg, msgsz);
    case K_STR:
        if (strlen(v) >= st->size)
            return err(msg, msgsz, "%s: '%s' is too long", k, v);
        snprintf(dst, st->size, "%s", v);
        return 0;
    case K_BOOL: {
        bool on = !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes");
        if (!on && strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "no"))
            return err(msg, msgsz, "%s: expected true or false, not '%s'", k, v);
        *(bool *)dst = on;
        return 0;
    }
    case K_ENUM:
        for (int i = 0; st->names[i]; i++)
            if (!strcmp(v, st->names[i])) {
                *(int *)dst = i;
                return 0;
            }
        return err(msg, msgsz, "%s: '%s' is not one of the accepted values", k, v);
    case K_SEC_INF:
        if (!strcmp(v, "none")) {
            *(double *)dst = INFINITY;
            return 0;
        }
        break;
    default: break;
    }
    if (parse_num(v, st->lo, st->hi, &d))
        return err(msg, msgsz, "%s: '%s' is out of range", k, v);
    switch (st->kind) {
    case K_FLOAT: *(float *)dst = (float)d; break;
    case K_INT: *(int *)dst = (int)d; break;
    case K_MB: *(size_t *)dst = (size_t)(d * 1048576.0); break;
    default: *(double *)dst = d; break;
    }
    return 0;
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

int svc_config_load_file(svc_config *c, const char *path, char *msg, size_t msgsz)
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
        if (set_key(c, trim(s), trim(eq + 1), m, sizeof(m))) {
            snprintf(msg, msgsz, "%s:%d: %s", path, no, m);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int svc_config_load_env(svc_config *c, char *msg, size_t msgsz)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (k_settings[i].kind == K_SERVER)
            continue; /* servers come from the file or the flags */
        char env[64] = "CALLQA_";
        for (size_t k = 0; k_settings[i].key[k] && k < 50; k++)
            env[7 + k] = (char)toupper((unsigned char)k_settings[i].key[k]), env[8 + k] = 0;
        const char *v = getenv(env);
        if (v && set_key(c, k_settings[i].key, v, msg, msgsz))
            return -1;
    }
    return 0;
}

int svc_config_read_token(svc_config *c, char *msg, size_t msgsz)
{
    if (!c->token_file[0])
        return err(msg, msgsz, "authentication is on but no token_file is set (or run with "
                               "--no-auth on a trusted network)%s%s", "", NULL);
    struct stat st;
    FILE *f = fopen(c->token_file, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return err(msg, msgsz, "%s: %s", c->token_file, strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        fclose(f);
        return err(msg, msgsz, "%s: the token file must be a regular file of mode 0600 (others "
                               "must not read it)%s", c->token_file, NULL);
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

int svc_fail(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

char *svc_read_file(const char *path, size_t max, size_t *len, char *err, size_t errsz)
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

int svc_read_secret(const char *path, char *out, size_t n, char *msg, size_t msgsz)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return svc_fail(msg, msgsz, "%s: %s", path,
                        e == ELOOP ? "a symbolic link (refused)" : strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        close(fd);
        return svc_fail(msg, msgsz,
                        "%s: a key or password file must be a regular file of mode 0600 or "
                        "stricter (others must not read it)",
                        path);
    }
    char buf[1024];
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got < 0)
        return svc_fail(msg, msgsz, "%s: %s", path, strerror(errno));
    buf[got] = 0;
    size_t len = strcspn(buf, "\r\n");
    buf[len] = 0;
    if (len == 0 || len >= n || memchr(buf, 0, len) != NULL) {
        memset(buf, 0, sizeof(buf));
        return svc_fail(msg, msgsz,
                        "%s: a key or password file's first line must hold it "
                        "(1-%zu bytes)",
                        path, n - 1);
    }
    memcpy(out, buf, len + 1);
    memset(buf, 0, sizeof(buf));
    return 0;
}
