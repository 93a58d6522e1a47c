/*
 * config.h - the settings, on the ground floor: each one declared once in config.c's table (its
 * name, type, bounds, default, command-line flag and line of documentation), and from it the
 * defaults, the config file, the CALLQA_* environment, the flags of the subcommands that take
 * them, `--help-settings`, and what docs/config.md is checked against (tests/config/test_config.c).
 * Beside them the reading of secrets and small files, and the failure formatter (cfg_fail) of
 * the clients, the ingest and the service. It calls no other room, libc only, so that the
 * clients, the ingest, the jobs, the service and the command line can all stand on it; the
 * analysis settings reach the engine through cfg_engine.h, above it.
 */
#ifndef CQ_CONFIG_H
#define CQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CFG_MAX_SERVERS 64

/* The analysis: the engine's parameters that are settings, with the command line's flags. */
typedef struct cfg_analysis {
    double silence_noise_db, silence_min_duration_sec;
    int channel_map; /* 0 in,out; 1 out,in */
    char vad_model[32];
    float vad_threshold, vad_neg_threshold; /* neg < 0: threshold - 0.15 */
    int vad_min_speech_ms, vad_min_silence_ms, vad_speech_pad_ms;
    double vad_max_speech_sec; /* +inf: no limit */
    int nisqa_mode;            /* 0 windowed, 1 file */
    double nisqa_window_sec;
    int mos_model;   /* cq_mos_model: 0 auto, 1 dnsmos, 2 nisqa, 3 both */
    int dnsmos_mode; /* 0 windowed, 1 reference */
    bool dtmf_speech, dtmf_voice_cancel;
    char diarization_model[32]; /* "none": the MFCC method */
    bool voiceprints;           /* the report carries voice prints (biometric) */
} cfg_analysis;

typedef struct cfg_server {
    char name[65];   /* [A-Za-z0-9_-]{1,64} */
    char base[1024]; /* http(s)://host[:port]/path, no trailing slash */
    char host[256];  /* the host part, for the redirect rule */
} cfg_server;

typedef struct cfg_settings {
    cfg_analysis analysis; /* the engine's settings (cfg_engine.h) */
    char listen_addr[64];
    int listen_port;
    cfg_server servers[CFG_MAX_SERVERS];
    int n_servers;
    char db_path[1024];
    bool auth;       /* bearer tokens required */
    char token[256]; /* the token (from token_file) */
    char token_file[1024];
    bool auth_metrics;              /* /metrics needs the token too */
    double header_timeout_sec;      /* a request's headers must all be in within this */
    int max_pending_per_client;     /* connections one address may hold still sending headers;
                                       past it its oldest is cut (503) */
    double login_window_sec;        /* failed logins counted over this */
    int login_max_failures;         /* per client address in the window, then 429 */
    int login_max_failures_account; /* per account (the token) from all addresses */
    char trusted_proxies[1024];     /* addresses of proxies whose X-Forwarded-For names the client
                                       (the login limits); comma-separated */
    char allowed_hosts[1024];       /* Host names answered beside the listen address, localhost
                                       and the loopback addresses; comma-separated */
    int session_ttl_sec;            /* the dashboard's session cookie lives this long */
    bool session_cookie_secure;     /* the cookie is marked Secure (HTTPS only) */
    int audit_queue_rows;           /* audit rows waiting to be written at most */
    double audit_queue_wait_sec;    /* a full audit queue is waited on this long, then rows drop */
    int marks_per_minute;           /* POST /api/qa/marks per sender and minute */
    size_t max_body;                /* bytes */
    size_t max_transcript;          /* bytes: the largest transcript imported */
    size_t max_body_memory;         /* bytes of request bodies held in memory by all requests
                                       together */
    size_t max_answer;              /* bytes: the largest POST /investigate answer */
    double max_duration_sec;
    int max_concurrent; /* analyses at once */
    int max_queue;      /* analyses waiting; beyond: 503 */
    double request_timeout_sec;
    double upload_timeout_sec;   /* a whole POST body; beyond: 408 and the connection closed */
    double upload_idle_sec;      /* a body that stops coming this long: the connection is
                                    closed (its temporary files removed) */
    double analysis_timeout_sec; /* one analysis; its process is killed beyond */
    bool isolate;                /* analyses in child processes */
    double fetch_timeout_sec;    /* whole download */
    double fetch_connect_sec;
    size_t max_recording;        /* bytes per fetched file */
    double freshness_sec;        /* cached results served without asking */
    int threads;                 /* HTTP threads */
    char model_dir[1024];        /* "" = $CALLQA_MODEL_DIR or the default */
    char tmp_dir[1024];          /* temp files */
    char audio_dirs[4096];       /* more folders recordings may be read from (watched folders
                                    register themselves in the store); comma-separated */
    char upload_dir[1024];       /* recordings uploaded to /api/qa/calls */
    double events_heartbeat_sec; /* /api/qa/events: a comment line after this long without an
                                    event */
    int events_max_clients;      /* event streams open at once */
    double events_keep_days;     /* job events kept for clients that reconnect */
    char live_events[1024];      /* the event lines `callqa live` writes, followed for /api/live
                                    ("" none) */
    bool live_mask_digits;       /* keyed digits as '*' in what /api/live serves */
    /* retention (docs/privacy.md): days per kind (audio, transcript, report, llm; 0 forever)
     * and the rules per campaign and source (store_retain_parse's syntax) */
    int retain_days[4];
    char retain_campaigns[2048];
    char retain_sources[2048];
    char retain_own_dirs[2048]; /* folders callqa writes besides uploads, redacted copies, cache */
    double purge_interval_sec;  /* callqa worker: between purges */
    double route_scan_sec;      /* callqa worker: between the routes' change scans; 0 none */
    char route_webhook[512];    /* a worse change found is POSTed here ("" none) */
    char route_webhook_secret_file[1024];
    /* the QA pipeline: what `callqa serve` and `callqa worker` run beside them */
    int worker_jobs;           /* serve: an embedded worker's slots */
    char recordings_dir[1024]; /* the dialer's recordings on local disk ("" none) */
    char vicidial[512];        /* a ViciDial database scanned on a schedule ("" none) */
    char vicidial_password_file[1024];
    char vicidial_source[65]; /* "" = the database host */
    char vicidial_tz[64];     /* "" = the system's zone */
    int vicidial_min_length_sec;
    double ingest_interval_sec;   /* between scheduled scans */
    double attempts_lookback_sec; /* the dialer's attempts read again this far back on a scan */
    char route_patterns[2048];    /* "NAME=FIELD:GLOB, ..." (docs/routes.md) */
    /* transcription (docs/transcription.md): the worker sends each call's speech when set */
    char asr_url[512]; /* "" = no transcription */
    int asr_protocol;  /* 0 openai, 1 whispercpp */
    char asr_model[128];
    char asr_key_file[1024];
    char asr_language[16];             /* "auto" or ISO 639-1 */
    char asr_campaign_languages[1024]; /* "CAMPAIGN=xx,...": a language per campaign */
    char asr_prompt[1024];
    double asr_timeout_sec; /* per request */
    int asr_retries;
    int asr_concurrency;
    bool asr_include_ivr;
    /* redaction (docs/privacy.md): what the worker removes before it stores */
    char redact[256];                   /* entity types for every campaign ("" or "none": off) */
    char redact_campaigns[2048];        /* "CAMPAIGN=card+cvv,...": the types per campaign */
    char voice_profile_campaigns[1024]; /* "CAMPAIGN,CAMPAIGN": agents' voice profiles (biometric
                                           data, docs/privacy.md); "" none */
    int redact_audio;                   /* 0 off, 1 mute, 2 tone */
    char redact_dir[1024];              /* the redacted copies ("" = redacted/ beside the store) */
    double redact_guard_sec;            /* spans widened by this on both sides in the audio */
    char redact_pause_code[17], redact_resume_code[17]; /* DTMF markers ("" none) */
    /* scoring (docs/scoring.md): the worker scores each call on the card */
    bool scoring;
    char scorecard[1024];   /* "" = the shipped default card */
    char topics_file[1024]; /* "" = no topics */
    /* the LLM (docs/llm.md): GET /ai-analyze, and scoring's llm categories; "" provider: none */
    char llm_provider[16]; /* anthropic, openai, gemini, or "" */
    char llm_url[512];
    char llm_model[128];
    char llm_key_file[1024];
    double llm_connect_timeout_sec;
    double llm_timeout_sec; /* per request */
    int llm_retries;
    int llm_max_tokens;
    int llm_context_tokens; /* the model's context: a prompt and its answer within it */
    double llm_temperature;
    double llm_price_in, llm_price_out; /* USD per million tokens */
    char llm_fallback_provider[16];
    char llm_fallback_url[512];
    char llm_fallback_model[128];
    char llm_fallback_key_file[1024];
    double llm_fallback_price_in, llm_fallback_price_out;
    double llm_daily_token_cap; /* input + output tokens a day; 0: none */
    double llm_daily_cost_cap;  /* USD a day; 0: none */
    /* POST /ask (docs/ask.md) */
    bool ask_store;          /* the QA store as the source "callqa" */
    char ask_allow[2048];    /* columns added to the store's default allow-list */
    char ask_pg_schema[64];  /* PostgreSQL: the curated views' schema */
    char ask_pg_role[64];    /* PostgreSQL: the role that reads them */
    char ask_vicidial[1024]; /* mysql://USER@HOST[:PORT]/DB: ViciDial's replica */
    char ask_vicidial_password_file[1024];
    char ask_vicidial_name[65];    /* its `server` key */
    bool ask_vicidial_primary;     /* allow a primary (2 s per statement) */
    char ask_vicidial_allow[2048]; /* columns added to ViciDial's default allow-list */
    char ask_prometheus[512];      /* Prometheus's base URL */
    int ask_max_rows;
    int ask_max_bytes;
    double ask_timeout_sec;
    double ask_max_estimate;
    int ask_max_rounds;
    int ask_max_queries;
    int ask_concurrent; /* /ask's own threads, and connections per SQL source */
    int ask_per_caller; /* one caller's /ask running or waiting at once; beyond: 429 */
    bool ask_lexical;
    bool ask_tools;
    double ask_prom_max_range_sec, ask_prom_min_step_sec;
    int ask_prom_max_points, ask_prom_max_series;
    /* callqa live (docs/config.md, "callqa live"): its inputs, bounds and sinks; its event lines
     * go to live_events ("" or "-": standard output), its VAD model is model_dir's */
    char live_audiosocket[300]; /* HOST:PORT or [HOST]:PORT ("" none) */
    char live_rtp[300];
    char live_rtp_pt[1024]; /* PT=CODEC/RATE,...: payload types over the default map */
    int live_rtp_window_ms;
    int live_rtp_max_pending;
    char live_websocket[300];
    int live_ws_rate; /* 0 8000 Hz, 1 16000 Hz */
    int live_ws_mix;  /* 0 mono, 1 mixed, 2 stereo */
    int live_max_calls;
    double live_ident_sec;
    int live_max_pending;
    int live_max_pending_per_client;
    double live_max_call_sec;
    double live_stall_sec;
    double live_queue_sec;
    int live_threads; /* 0: the CPUs the process may use */
    int live_vad_batch;
    int live_batch_wait_ms;
    int live_event_queue;
    char live_record_dir[1024];
    char live_probe[1024]; /* hold mode: "" none, "default" (espeak-ng's "Hello?"), or a WAV */
    char live_announce_file[1024]; /* hold mode: announcements remembered per destination */
    double live_announce_days;     /* each forgotten this long after it was learned */
    bool live_mask_dtmf; /* keyed digits as '*' in the event lines, DTMF muted in recordings */
    int live_mode;       /* cq_live_mode: 0 off, 1 hold, 2 amd */
    double live_silence_sec;
    double live_stats_sec;
    char live_fastagi[300];
    int live_fastagi_timeout_ms; /* 0: 5000, or 3600000 with live_mode hold */
    char live_webhook[1024];
    char live_webhook_secret_file[1024];
    char live_webhook_events[256];
    int live_webhook_attempts;
    int live_webhook_backoff_ms;
    int live_webhook_queue;
    double live_webhook_timeout_sec;
    /* callqa sip --hep (docs/config.md, "callqa sip --hep"); hep_dir is the worker's too */
    char hep_listen[300]; /* HOST:PORT ("" off) */
    char hep_dir[1024];   /* where each call's capture is written, and looked for */
    char hep_allow[1024]; /* ADDR[/BITS],... ("" loopback) */
    char hep_key_file[1024];
    double hep_idle_sec;
    double hep_silent_sec;
    double hep_max_call_sec;
    int hep_max_calls;
    int hep_call_kib;
    int hep_max_kib;
    int hep_max_conns;
    int hep_conns_per_addr;
    double hep_conn_first_sec;
    double hep_conn_idle_sec;
    int hep_dir_max_mb;
    /* callqa worker (docs/config.md, "callqa worker"): when and how it works */
    double worker_max_load; /* 0: never pauses */
    char worker_window[16]; /* HH:MM-HH:MM ("" always) */
    char worker_tz[64];
    char worker_cpus[128];
    bool worker_idle;
    double worker_min_length_sec;
    double worker_lease_sec;
    int worker_max_retries;
    double worker_backoff_sec;
    double worker_analysis_timeout_sec;
    /* callqa ingest vicidial: the scan's own bounds */
    int vicidial_batch;
    double vicidial_open_row_hours;
    double vicidial_retry_sec;
    int vicidial_lookback;
} cfg_settings;

/* Every setting at its default (the table's; "CPUs" and $TMPDIR read now). */
void cfg_defaults(cfg_settings *c);
/* The same for settings that are all zero already (static storage not yet written, or calloc):
 * only the settings whose default is not empty are written. The struct is 140 KiB; zeroing it
 * again would touch every page of it, each a page fault in a process that has just started. */
void cfg_defaults_zeroed(cfg_settings *c);
/* One setting by its name (as in the config file). 0, or -1 with msg. */
int cfg_set(cfg_settings *c, const char *key, const char *value, char *msg, size_t msgsz);
/* One config file (key = value lines, see docs/config.md), then the CALLQA_* environment. */
int cfg_load_file(cfg_settings *c, const char *path, char *msg, size_t msgsz);
int cfg_load_env(cfg_settings *c, char *msg, size_t msgsz);
/* Every setting with its default and meaning, as docs/config.md lists them (--help-settings). */
void cfg_print(FILE *f);
/* "NAME=URL": add a recording server. 0, or -1 with msg. */
int cfg_add_server(cfg_settings *c, const char *spec, char *msg, size_t msgsz);
/* The configured server of that name, or NULL (names only: never a URL or an address). */
const cfg_server *cfg_find_server(const cfg_settings *c, const char *name);
/* Read the bearer token from token_file (must be a regular file of mode 0600 or stricter). */
int cfg_read_token(cfg_settings *c, char *msg, size_t msgsz);

/* ---- settings as command-line flags -------------------------------------------------------- */

/* The groups of settings whose flags (the table's `flag`) a command takes all of, in the table's
 * order: the analysis commands' and the ASR client's. */
enum { CFG_FLAGS_ANALYSIS = 1, CFG_FLAGS_ASR = 2 };
/* The flags' lines of a command's --help: "  --FLAG ARG  meaning (default ...)". */
void cfg_flag_help(FILE *f, unsigned groups);

/* ---- every command's flags (cfg_cmds.c) ----------------------------------------------------- */

/* Each command of callqa has a table in cfg_cmds.c: its flags in the order of its --help, each
 * either a setting's (the setting's name, and so its type, bounds, default, config key and
 * CALLQA_* variable, in config.c's table) or the command's own (a file, --json, --dry-run: a
 * type, bounds and default of its own), with the text of --help around them. From it come
 * getopt's options, the range checks, the reading of --config FILE and the environment (the
 * commands that take --config) and the --help page. No other file declares a getopt option
 * (tests/config/test_cmd_flags.py). */

#define CFG_MAX_ARGS 256 /* the ingest's three filters take 64 values each */

/* What a command line gave beside the settings: the command's own flags in the order given. */
typedef struct cfg_args {
    const void *cmd; /* the command's table */
    int n;
    struct {
        const char *flag;  /* its name, without "--" */
        const char *value; /* "" for a flag without a value */
    } got[CFG_MAX_ARGS];
    int next;   /* argv[next..argc): the operands (getopt's optind) */
    bool usage; /* the error is the command line's own (an unknown flag, a value missing) */
} cfg_args;

/* The command line of the command named cmd ("live", "store purge", "analyze --transcribe":
 * cfg_cmds.c's names; argv[0] the command's last word) over what c holds (the caller's
 * cfg_defaults): for a command that takes --config FILE, that file and then the CALLQA_*
 * environment first, then every flag in order, each setting checked against its bounds. CQ_OK,
 * or an error code with err's message naming the flag or the setting and the value
 * ("--max-calls 0: out of range 1..100000"); a->usage says the usage should be shown. */
struct cq_err; /* callqa/cq_status.h */
int cfg_parse(const char *cmd, int argc, char **argv, cfg_settings *c, cfg_args *a,
              struct cq_err *err);
/* One of the command's own flags (the program stops on a name the command does not have): its
 * last value, else its default, else NULL; given or not; its value as a number (the default
 * when not given; NAN when it has none). */
const char *cfg_arg(const cfg_args *a, const char *flag);
bool cfg_arg_given(const cfg_args *a, const char *flag);
double cfg_arg_num(const cfg_args *a, const char *flag);
/* The values of a repeated flag in the order given: *i starts at 0; NULL after the last. */
const char *cfg_arg_each(const cfg_args *a, const char *flag, int *i);
/* The --help page of the command (that of `callqa ingest` holds both of its sources', ...).
 * `analyzers`: the --only names, for the analysis commands' pages (NULL: none). */
void cfg_usage(FILE *f, const char *cmd, const char *analyzers);

/* For the tests: the i-th command's name (NULL past the last), and its j-th flag (NULL past
 * the last): its name, the setting it sets (NULL: the command's own), its one-letter form (0:
 * none), and whether it is one of a group's (CFG_FLAGS_*). */
const char *cfg_cmd_at(size_t i);
const char *cfg_cmd_flag_at(const char *cmd, size_t j, const char **key, char *letter,
                            bool *grouped);

/* ---- test hooks (cfg_hooks.c) ------------------------------------------------------------- */

/* The value of the test hook NAME, $CALLQA_TEST_<NAME>, or NULL when it is not set: the one way
 * production code reads one (the program stops on a name cfg_hooks.c's table does not list).
 * The hooks make a test's fault happen at a chosen point (docs/config.md, "Test hooks"). */
const char *cfg_test_hook(const char *name);
/* The i-th hook's name and meaning (NULL past the last). */
const char *cfg_test_hook_at(size_t i, const char **meaning);

/* ---- the table, read by the tests ---------------------------------------------------------- */

typedef struct cfg_info {
    const char *key;   /* the name in a config file */
    const char *flag;  /* the command-line flag without "--", or NULL */
    const char *type;  /* "number", "integer", "MiB", "text", "boolean", "choice", "server",
                          "seconds or none" */
    const char *shown; /* the default as the docs show it */
    const char *help;
    double lo, hi;   /* numbers */
    unsigned groups; /* CFG_FLAGS_* */
    bool computed;   /* the default is worked out (CPUs, $TMPDIR, ""), not `shown` parsed */
} cfg_info;
/* The i-th setting, or false past the last; the setting named key, or false. */
bool cfg_info_at(size_t i, cfg_info *out);
bool cfg_info_of(const char *key, cfg_info *out);

/* ---- secrets, files, messages -------------------------------------------------------------- */

/* msg = the formatted sentence; returns -1 (for `return cfg_fail(msg, n, "...", ...)`). */
int cfg_fail(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A secret (a password, an API key) from a file that only its owner may read: a regular file of
 * mode 0600 or stricter, not a symbolic link, its first line (without the line end), 1 to n-1
 * bytes. 0, or -1 with msg (never the secret). */
int cfg_read_secret(const char *path, char *out, size_t n, char *msg, size_t msgsz);
/* A whole file ("-": standard input) of at most max bytes, NUL-terminated (malloc'd; *len
 * bytes), or NULL with msg: a scorecard, a topics file, a transcript, a report. */
char *cfg_read_file(const char *path, size_t max, size_t *len, char *msg, size_t msgsz);

#endif /* CQ_CONFIG_H */
