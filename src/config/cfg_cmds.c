/*
 * cfg_cmds.c - every command's flags (config.h, "every command's flags"): one table per command
 * of callqa, its rows in the order of its --help page. A row is text printed as it is, the
 * flags of a group of settings (the analysis, the ASR client: config.c's `flag`s), a flag that
 * sets a setting (named by its key: its type, bounds, default, config key and CALLQA_* variable
 * are config.c's), or a flag of the command's own (a file, --json, --dry-run: a type, bounds and
 * default of its own, what the command does with it its business). From the tables come
 * getopt's options (here and nowhere else in src/: tests/config/test_cmd_flags.py), the range
 * checks, the reading of --config FILE and the environment for the commands that take
 * --config, and the --help pages (the man pages are made of them).
 *
 * A meaning may say {default}, {lo} and {hi}: the row's (or its setting's) default and bounds,
 * so that a number is written once; {analyzers} is the caller's list of --only names.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_status.h"
#include "cfg_int.h"
#include "config.h"

/* The type of a command's own flag. */
typedef enum own_type {
    A_FLAG, /* no value */
    A_TEXT, /* a value, the command checks it */
    A_NUM,  /* a number within [lo, hi] */
    A_INT   /* a whole number within [lo, hi] */
} own_type;

typedef struct row {
    const char *flag; /* without "--"; NULL: a text row, or a group's */
    char letter;      /* its one-letter form too ('j' for -j), or 0 */
    const char *key;  /* the setting it sets (config.c), or NULL: one of the command's own */
    unsigned group;   /* a row of the flags of these settings (CFG_FLAGS_*) */
    own_type type;    /* the command's own */
    double lo, hi;    /* A_NUM, A_INT */
    const char *dflt; /* the command's own: its default, for cfg_arg and {default} */
    const char *arg;  /* the value's name on the page ("N", "FILE"); NULL: none */
    const char *set;  /* a setting's flag without a value sets it to this ("false" for
                         --no-auth); NULL: "true" */
    const char *head; /* the page's head of the line when not "--flag ARG" */
    const char *help; /* the page: a text row's text; a flag's meaning, its lines split at
                         '\n' ('\n' first: below the head); NULL: the flag is not a line of
                         its own (the text around names it) */
} row;

typedef struct command {
    const char *name;  /* "live", "store purge" (what cfg_parse is given) */
    const char *alias; /* another name for the same flags ("store erase"), or NULL */
    const char *page;  /* the --help page it is printed on with the others of that page (the
                          ingest's two sources), or NULL: its name */
    int col;           /* where the meanings start on its page */
    const row *rows;   /* ending in a row of zeros */
} command;

#define TXT(t)                                                                                     \
    {                                                                                              \
        .help = (t)                                                                                \
    }
#define GROUP(g)                                                                                   \
    {                                                                                              \
        .group = (g)                                                                               \
    }
#define SET(f, k, a, h)                                                                            \
    {                                                                                              \
        .flag = (f), .key = (k), .arg = (a), .help = (h)                                           \
    }
#define ON(f, h)                                                                                   \
    {                                                                                              \
        .flag = (f), .type = A_FLAG, .help = (h)                                                   \
    }
#define TEXT(f, a, h)                                                                              \
    {                                                                                              \
        .flag = (f), .type = A_TEXT, .arg = (a), .help = (h)                                       \
    }
#define NUM(f, l, u, d, a, h)                                                                      \
    {                                                                                              \
        .flag = (f), .type = A_NUM, .lo = (l), .hi = (u), .dflt = (d), .arg = (a), .help = (h)     \
    }
#define INT(f, l, u, d, a, h)                                                                      \
    {                                                                                              \
        .flag = (f), .type = A_INT, .lo = (l), .hi = (u), .dflt = (d), .arg = (a), .help = (h)     \
    }
#define HELP_H                                                                                     \
    {                                                                                              \
        .flag = "help", .letter = 'h', .type = A_FLAG                                              \
    } /* -h too; no line of its own */
#define HELP                                                                                       \
    {                                                                                              \
        .flag = "help", .type = A_FLAG                                                             \
    }
#define END                                                                                        \
    {                                                                                              \
        .flag = NULL                                                                               \
    }

/* ---- callqa analyze, and the commands that analyse as it does ------------------------------ */

static const row k_analyze[] = {
    TXT("usage: callqa analyze [options] FILE|DIR...\n"
        "       callqa analyze [options] --in INBOUND.wav --out OUTBOUND.wav\n"
        "       callqa analyze --transcribe --asr-url URL [options] FILE...  (its own --help)\n"
        "       callqa analyze --pcap CAPTURE [options]                      (its own --help)\n"
        "\n"
        "Analyze call recordings: per-leg levels (RMS, peak, P.56 active level, clipping,\n"
        "DC offset), silences (FFmpeg silencedetect semantics), speech activity (Silero\n"
        "VAD, or a DSP fallback when the model is not installed), speech quality (NISQA,\n"
        "when installed), call events (DTMF, tones, hold music), and the conversation\n"
        "(talk, overtalk, dead air, one-way audio).\n"
        "\n"
        "options:\n"),
    ON("json", "one JSON object per call per line (docs/report.md)"),
    ON("transcribe", "send the speech to an ASR server too (callqa analyze\n"
                     "--transcribe --help; docs/transcription.md)"),
    TEXT("only", "LIST",
         "analyzers to run, from: {analyzers}\n(default: all but those run only on request)"),
    {.flag = "in",
     .type = A_TEXT,
     .arg = "FILE",
     .head = "--in FILE --out FILE",
     .help = "a call given as inbound (caller) and outbound (agent) legs"},
    TEXT("out", "FILE", NULL),
    NUM("max-duration", 0.001, 1e9, "86400", "S",
        "refuse recordings longer than this (default {default})"),
    INT("envelope", 1, 60000, NULL, "MS",
        "each leg's RMS level every MS ms in the report (the\nenvelope analyzer; default off)"),
    ON("profile", "where the time went, in the JSON report (engine.profile:\n"
                  "decoding, resampling, each analyzer; CPU seconds)"),
    ON("no-isolate", "batches: analyse in threads of this process, without a\n"
                     "child process per call (a decoder crash then ends the batch)"),
    {.flag = "jobs",
     .letter = 'j',
     .type = A_INT,
     .lo = 1,
     .hi = 256,
     .arg = "N",
     .help = "calls analysed in parallel (default: the CPUs it may use)"},
    {.flag = "quiet",
     .letter = 'q',
     .type = A_FLAG,
     .help = "no progress bar and no closing summary"},
    {.flag = "help", .letter = 'h', .type = A_FLAG, .help = "this text"},
    TXT("\n"
        "the analysis (the settings of docs/config.md under their flags; the models:\n"
        "$CALLQA_MODEL_DIR, else ~/.local/share/callqa/models, models/README.md):\n"),
    GROUP(CFG_FLAGS_ANALYSIS),
    TXT("\nExit status: 0 all calls analysed, 1 some failed, 2 usage error.\n"),
    TXT("\nExample: callqa analyze --json samples/sample-call.wav\n"),
    END};

static const row k_transcribe[] = {
    TXT("usage: callqa analyze --transcribe --asr-url URL [options] FILE...\n"
        "       callqa analyze --transcribe --asr-url URL [options] --in IN.wav --out OUT.wav\n"
        "\n"
        "Analyze each call, send its legs' speech (VAD speech minus hold music, tones, DTMF,\n"
        "fax and IVR prompts, in chunks of at most 30 s, 16 kHz mono PCM16 WAV) to a\n"
        "Whisper-class server, and add the transcript to the report (docs/transcription.md).\n"
        "\n"
        "options:\n"),
    ON("transcribe", NULL),
    ON("json", "one JSON object per call per line (docs/report.md)"),
    {.flag = "in",
     .type = A_TEXT,
     .arg = "FILE",
     .head = "--in FILE --out FILE",
     .help = "a call given as inbound and outbound legs"},
    TEXT("out", "FILE", NULL),
    TEXT("only", "LIST",
         "analyzers (callqa analyze --help); the VAD, the events,\n"
         "the speech audio and the diarization always run"),
    {.flag = "quiet", .letter = 'q', .type = A_FLAG, .help = "no closing summary"},
    HELP_H,
    TXT("\n"
        "the server (the asr_* settings of docs/config.md; --asr-url: an OpenAI-compatible\n"
        "base URL, e.g. http://host:8000/v1, or whisper.cpp's, http://host:8080):\n"),
    GROUP(CFG_FLAGS_ASR),
    TXT("\nthe analysis (as callqa analyze):\n"),
    GROUP(CFG_FLAGS_ANALYSIS),
    TXT("\nExit status: 0 all calls transcribed, 1 some failed, 2 usage error.\n"),
    TXT("\nExample: callqa analyze --transcribe --asr-url http://127.0.0.1:8080 "
        "samples/sample-call.wav\n"),
    END};

static const row k_pcap[] = {
    TXT("usage: callqa analyze --pcap CAPTURE [--json] [--only LIST] [-q] [analysis options]\n"
        "  the call carried in a capture (its G.711 streams) through the same analysis\n"
        "  as a recording; lost packets are silence, and the report says where\n"),
    TEXT("pcap", "CAPTURE", NULL),
    ON("json", NULL),
    TEXT("only", "LIST", NULL),
    {.flag = "quiet", .letter = 'q', .type = A_FLAG},
    HELP_H,
    GROUP(CFG_FLAGS_ANALYSIS),
    TXT("\nExample: callqa analyze --pcap capture.pcap --json\n"),
    END};

static const row k_investigate[] = {
    TXT("usage: callqa investigate [--json] [--recording FILE | --in FILE --out FILE]\n"
        "                          [--status STATUS] [--call-info FILE] [--call-id ID]\n"
        "                          [--uniqueid ID] [--caller-code CODE] [--phone NUMBER]\n"
        "                          [--call-epoch SECONDS] [--length SECONDS]\n"
        "                          [--max-answer-mb N]\n"
        "                          [analysis options] CAPTURE\n"
        "  why the call went wrong: the capture's dialogs, streams and findings (CAPTURE:\n"
        "  pcap, pcapng, or SIP as text), held against the call's recording when given\n"),
    TEXT("recording", "FILE", "the call's recording (stereo or mono); --in/--out: its legs"),
    TEXT("in", "FILE", NULL),
    TEXT("out", "FILE", NULL),
    TEXT("status", "STATUS", "the dialer's status for the call"),
    TEXT("call-info", "FILE", "the dialer's call_info (carrier log, queue, DID) as text"),
    {.flag = "call-id",
     .type = A_TEXT,
     .arg = "ID",
     .head = "--call-id, --uniqueid, --caller-code, --phone, --call-epoch, --length",
     .help = "\nthe stored call (its SIP Call-ID, Asterisk uniqueid, ViciDial\n"
             "caller code, number, start in UTC epoch seconds, length in\n"
             "seconds): the dialog looked at is the one they match"},
    TEXT("uniqueid", "ID", NULL),
    TEXT("caller-code", "CODE", NULL),
    TEXT("phone", "NUMBER", NULL),
    NUM("call-epoch", 0, 1e10, NULL, "SECONDS", NULL),
    NUM("length", 0, 1e7, NULL, "SECONDS", NULL),
    ON("json", "the answer of POST /investigate (docs/network.md)"),
    SET("max-answer-mb", "max_answer_mb", "N",
        "the answer's bound, {lo} to {hi} MiB ({default}): `truncated` counts\n"
        "what a capture too big for it left out"),
    TEXT("only", "LIST", "the analyzers run on the recording (as callqa analyze --only)"),
    HELP_H,
    GROUP(CFG_FLAGS_ANALYSIS),
    TXT("\nExample: callqa investigate --json --recording call.wav capture.pcap\n"),
    END};

static const row k_classify[] = {
    TXT("usage: callqa classify [options] -|FILE...\n"
        "  -              raw signed 16-bit little-endian mono PCM on stdin\n"),
    {.flag = "rate",
     .letter = 'r',
     .type = A_INT,
     .lo = 1000,
     .hi = 384000,
     .dflt = "8000",
     .arg = "HZ",
     .head = "--rate HZ",
     .help = "sample rate of stdin PCM (default {default})"},
    {.flag = "channel",
     .letter = 'c',
     .type = A_INT,
     .lo = 1,
     .hi = 2,
     .dflt = "1",
     .arg = "N",
     .head = "--channel N",
     .help = "which channel of FILE (default {default})"},
    ON("timeline", "also print the speech/music/tone/noise/silence segments at the end"),
    SET("live", "live_mode", "hold|amd",
        "\nlive-call decisions: hold, a `human` event when a person takes the\n"
        "call after hold music; amd, the stream starting at the answer,\n"
        "`human` or `machine` on the greeting and the `beep` after it"),
    SET("silence-sec", "live_silence_sec", "S",
        "with --live: a silence event after S s of silence (default {default};\n0: none)"),
    SET("model-dir", "model_dir", "D", "where silero_vad/ lives (default $CALLQA_MODEL_DIR)"),
    {.flag = "dtmf-speech",
     .key = "dtmf_speech",
     .head = "--dtmf-speech, --dtmf-voice-cancel",
     .help = "\nthe DTMF receivers for digits under speech, as callqa analyze's\n(default off)"},
    SET("dtmf-voice-cancel", "dtmf_voice_cancel", NULL, NULL),
    HELP_H,
    TXT("Prints one JSON line per event as soon as it is decided; \"at\" is how much audio\n"
        "had been read then (seconds). \"state\":\"open\" once when an event is recognised (a\n"
        "hold, a tone cadence, a SIT, the first DTMF digit), \"update\" when more is known (the\n"
        "DTMF digits so far), \"closed\" once when it is complete; an event's lines share\n"
        "its \"id\". Several FILEs are classified one after the other, each on its own,\n"
        "and each line then starts with its \"file\".\n"),
    TXT("\nExample: callqa classify --timeline samples/sample-mono.wav\n"),
    END};

/* ---- callqa live ------------------------------------------------------------------------------
 */

static const row k_live[] = {
    TXT("usage: callqa live [--audiosocket HOST:PORT] [--rtp HOST:PORT] [--websocket HOST:PORT]\n"
        "                   [options]   (one input at least)\n"),
    SET("audiosocket", "live_audiosocket", "HOST:PORT",
        "listen for Asterisk AudioSocket connections (one per call;\n"
        "the dialplan's AudioSocket(${UUID},HOST:PORT) or\n"
        "Dial(AudioSocket/HOST:PORT/${UUID})); [::1]:PORT for IPv6; port 0\n"
        "picks one (printed on stderr)"),
    SET("rtp", "live_rtp", "HOST:PORT",
        "receive RTP on this UDP port, as ARI externalMedia sends it\n"
        "(external_host=HOST:PORT); each SSRC is a call named rtp-<ssrc hex>"),
    SET("rtp-pt", "live_rtp_pt", "PT=CODEC/RATE",
        "a payload type: CODEC PCMU, PCMA, L16 (network order),\n"
        "L16LE or none, e.g. 118=L16/16000 (the default map: 0 PCMU/8000,\n"
        "8 PCMA/8000, 118 L16/16000); repeatable"),
    SET("rtp-window-ms", "live_rtp_window_ms", "MS",
        "how long a missing packet is waited for (default {default})"),
    SET("rtp-max-pending", "live_rtp_max_pending", "N",
        "RTP SSRCs waiting to show they are a stream (5 packets in\n"
        "sequence), and N KiB of their packets (default {default}); until then\n"
        "an SSRC is no call (not counted against --max-calls), and past either\n"
        "bound the oldest of those that have shown the fewest is dropped"),
    SET("websocket", "live_websocket", "HOST:PORT",
        "accept FreeSWITCH mod_audio_fork WebSocket connections (one per\n"
        "call, named by the metadata's uuid or callId, else the URL's path)"),
    SET("ws-rate", "live_ws_rate", "8000|16000",
        "L16 rate when the URL gives no ?rate= (default {default})"),
    SET("ws-mix", "live_ws_mix", "mono|mixed|stereo",
        "channels when the URL gives no ?mix= (default {default})"),
    SET("max-calls", "live_max_calls", "N",
        "calls at once, every input together (default {default}); more are refused:\n"
        "an AudioSocket error frame, a WebSocket 503, an RTP stream's packets\n"
        "ignored"),
    SET("ident-sec", "live_ident_sec", "S",
        "a connection (AudioSocket, WebSocket, FastAGI) that has not identified\n"
        "its call within S seconds of connecting is closed (default {default}); until\n"
        "it does it waits apart and does not count against --max-calls; an\n"
        "RTP SSRC that has not shown a stream S seconds after its first packet\n"
        "is dropped"),
    SET("max-pending", "live_max_pending", "N",
        "connections waiting to identify, per listener (default {default}); past\n"
        "it the oldest is closed"),
    SET("max-pending-per-client", "live_max_pending_per_client", "N",
        "of them from one address (default {default}); past it that\n"
        "address's oldest is closed"),
    SET("max-call-sec", "live_max_call_sec", "S",
        "end a call longer than S seconds (default {default})"),
    SET("stall-sec", "live_stall_sec", "S",
        "end a call whose connection or RTP stream is silent S seconds\n(default {default})"),
    SET("queue-sec", "live_queue_sec", "S",
        "audio one call may have waiting for analysis; more is dropped and\n"
        "counted on its call_end (default {default})"),
    SET("threads", "live_threads", "N", "analysis threads (default: {default})"),
    SET("vad-batch", "live_vad_batch", "N",
        "calls an analysis thread takes at once, their VAD run as one batch\n"
        "(default {default}; 1: each call alone)"),
    SET("batch-wait-ms", "live_batch_wait_ms", "MS",
        "how long queued audio may wait for the batch to fill\n(default {default}; 0: never)"),
    SET("record-dir", "live_record_dir", "D",
        "write each call's audio as D/ID.wav (16-bit PCM at its rate) with\n"
        "its event lines as D/ID.live.jsonl, both renamed into place when the\n"
        "call ends (a folder `callqa ingest watch` watches queues them for QA)"),
    SET("mask-digits", "live_mask_dtmf", NULL,
        "keyed digits as * in the event lines, and DTMF muted in the\n"
        "recordings (written a second late for it)"),
    SET("live", "live_mode", "hold|amd", "live-call decisions, as callqa classify --live"),
    SET("silence-sec", "live_silence_sec", "S",
        "with --live: a silence event after S s of silence (default {default};\n0: none)"),
    SET("probe", "live_probe", "default|FILE",
        "with --live hold: ask the line when speech follows the hold music\n"
        "and pauses, by playing this probe back into the call (AudioSocket and\n"
        "RTP at 8 kHz, the WebSocket as mod_audio_fork's playAudio): default\n"
        "is a built-in \"Hello?\"; FILE a WAV of 10 s at most; speech that\n"
        "starts 0.26-1.28 s after it ends is a person's reply (docs/live.md)"),
    SET("announce-file", "live_announce_file", "FILE",
        "with --live hold: remember hold announcements per destination in\n"
        "FILE (fingerprints, no audio; the destination from mod_audio_fork's\n"
        "metadata or FastAGI's hold,UUID,DEST), so the next call to the same\n"
        "company knows them (docs/live.md)"),
    SET("announce-days", "live_announce_days", "D",
        "forget a remembered announcement D days after it was learned\n(default {default})"),
    SET("events", "live_events", "FILE|-",
        "where event lines go (default -: stdout); FILE is appended to"),
    SET("event-queue", "live_event_queue", "N",
        "event lines waiting to be written (default {default}); more are\n"
        "dropped, counted"),
    SET("stats-sec", "live_stats_sec", "S",
        "a stats line every S seconds (default {default}; 0: only at the end)"),
    SET("model-dir", "model_dir", "D", "where silero_vad/ lives (default $CALLQA_MODEL_DIR)"),
    TEXT("config", "FILE",
         "settings (docs/config.md: live_*, live_events, model_dir); the\n"
         "CALLQA_* variables override it, the flags both"),
    SET("fastagi", "live_fastagi", "HOST:PORT",
        "answer AGI(agi://HOST:PORT/amd,${UUID}) with the call's live\n"
        "AMD decision as AMD() sets AMDSTATUS and AMDCAUSE (implies --live amd);\n"
        "with --live hold, AGI(agi://HOST:PORT/hold,${UUID}) with HOLDSTATUS\n"
        "(HUMAN, ENDED, NOTSURE, HANGUP) and HOLDCAUSE once a person answers"),
    SET("fastagi-timeout-ms", "live_fastagi_timeout_ms", "MS",
        "wait this long for a decision, then NOTSURE (default 5000;\n"
        "with --live hold 3600000)"),
    SET("webhook", "live_webhook", "URL",
        "POST each event line there, signed (HMAC-SHA256, X-Callqa-Signature)"),
    SET("webhook-secret-file", "live_webhook_secret_file", "FILE",
        "the signing secret: the first line of FILE, mode 0600"),
    SET("webhook-events", "live_webhook_events", "LIST",
        "the types to POST, comma-separated (default: all but stats)"),
    SET("webhook-attempts", "live_webhook_attempts", "N",
        "tries per event (default {default}), then a dead letter (counted)"),
    SET("webhook-backoff-ms", "live_webhook_backoff_ms", "MS",
        "the first wait between tries, doubled each time up to\n30 s (default {default})"),
    SET("webhook-queue", "live_webhook_queue", "N",
        "events waiting to be sent (default {default}); more are dropped"),
    SET("webhook-timeout-sec", "live_webhook_timeout_sec", "S", "one POST (default {default})"),
    HELP_H,
    TXT("Prints one JSON line per event: callqa classify's lines with \"call\" (its name),\n"
        "\"input\" (audiosocket, rtp or websocket), \"call_sec\" (the call's audio seconds when\n"
        "decided) and \"wall\" (UTC), dtmf lines for AudioSocket DTMF frames, one call_end per\n"
        "call with its reason (hangup, peer_closed, max_duration, stalled, error, shutdown,\n"
        "ssrc_change) and its input's counters, and stats lines (with the audio analysed, the\n"
        "CPU seconds used, and the frames' waits for the analysis: p50, p99 and max in ms).\n"
        "SIGTERM or SIGINT: stop accepting, end every call (shutdown), flush, exit 0.\n"),
    TXT("\nExample: callqa live --audiosocket 127.0.0.1:9092 --live hold --events events.jsonl\n"),
    END};

/* ---- the QA system: serve, worker, requeue, ingest ---------------------------------------- */

static const row k_serve[] = {
    TXT("usage: callqa serve [options]\n"),
    TEXT("config", "FILE", "settings file (key = value; docs/config.md)"),
    TEXT("listen", "ADDR:PORT", "default 127.0.0.1:8080 ([::1]:8080 for IPv6)"),
    SET("recording-server", "recording_server", "NAME=URL",
        "a ViciDial recording server (repeatable)"),
    SET("db", "db", "STORE",
        "the store: a SQLite path (default ./callqa.db) or a\npostgresql:// URI (docs/scale.md)"),
    SET("token-file", "token_file", "PATH", "bearer token (a file of mode 0600)"),
    {.flag = "no-auth",
     .key = "auth",
     .set = "false",
     .help = "no token required (trusted networks, tests)"},
    SET("model-dir", "model_dir", "DIR", "models (default $CALLQA_MODEL_DIR)"),
    SET("freshness-sec", "freshness_sec", "S",
        "serve stored results this long unasked (default {default})"),
    SET("max-concurrent", "max_concurrent", "N", "analyses at once (default: {default})"),
    SET("live-events", "live_events", "FILE",
        "follow the event lines of `callqa live --events FILE`\nfor /api/live (docs/live.md)"),
    ON("list-routes", "print the routes and exit"),
    ON("openapi", "print /openapi.json and exit"),
    TEXT("check-openapi", "FILE",
         "check an API description against the route table (every\n"
         "route documented with its auth, nothing else) and exit"),
    ON("help-settings", "every setting of the config file, with its default"),
    HELP_H,
    TXT("Environment: CALLQA_<SETTING> overrides the file (e.g. CALLQA_PORT=9000).\n"),
    TXT("\nExample: callqa serve --listen 127.0.0.1:8080 --db callqa.db --token-file token\n"),
    END};

static const row k_worker[] = {
    TXT("usage: callqa worker --db STORE [options]\n"),
    SET("db", "db", "STORE", "the store: SQLite path or postgresql:// URI"),
    INT("jobs", 1, 64, "1", "N", "calls analysed at once (default {default})"),
    ON("once", "drain the queue, then exit (cron, tests)"),
    SET("recording-server", "recording_server", "NAME=URL", "a recording server (repeatable)"),
    SET("recordings-dir", "recordings_dir", "DIR",
        "where relative recording paths are (default: the\nrecordings_dir setting)"),
    TEXT("config", "FILE",
         "settings (docs/config.md): the analysis, fetching,\n"
         "and the dialer scanned on a schedule (vicidial*)"),
    SET("model-dir", "model_dir", "DIR", "models (default $CALLQA_MODEL_DIR)"),
    SET("max-load", "worker_max_load", "L",
        "pause while the 1-minute load is above L (default:\n2 x CPUs; 0 never pauses)"),
    SET("window", "worker_window", "HH:MM-HH:MM", "work only then (default: always)"),
    SET("tz", "worker_tz", "ZONE", "the window's time zone (default: {default})"),
    SET("cpus", "worker_cpus", "LIST", "run on these CPUs, e.g. 1 or 2-3 (default: all)"),
    {.flag = "no-idle",
     .key = "worker_idle",
     .set = "false",
     .help = "keep the normal CPU and I/O priority (default: idle)"},
    SET("min-length", "worker_min_length_sec", "S",
        "skip calls shorter than S seconds (default {default})"),
    SET("lease-sec", "worker_lease_sec", "S", "a call's lease (default {default})"),
    SET("max-retries", "worker_max_retries", "N", "retries of a failing stage (default {default})"),
    SET("backoff-sec", "worker_backoff_sec", "S",
        "the first retry's delay, doubled each time (default {default})"),
    SET("analysis-timeout-sec", "worker_analysis_timeout_sec", "S",
        "an analysis is stopped past S (default {default})"),
    TEXT("id", "ID", "the worker's name in the store (default HOST:PID)"),
    TEXT("only", "LIST", "the analyzers to run (as callqa analyze --only;\ndefault all)"),
    ON("no-ingest", "leave the dialer of the settings (vicidial) to another\n"
                    "process (default: scan it, every ingest_interval_sec)"),
    HELP_H,
    TXT("\nExample: callqa worker --db callqa.db --jobs 2 --once\n"),
    END};

static const row k_requeue[] = {
    TXT("usage: callqa requeue --db STORE --since YYYY-MM-DD[THH:MM:SS]\n"
        "  completed and failed calls queued since then are analysed again\n"),
    TEXT("db", "STORE", NULL),
    TEXT("since", "DAY", NULL),
    HELP,
    TXT("\nExample: callqa requeue --db callqa.db --since 2024-06-01\n"),
    END};

static const row k_ingest_vicidial[] = {
    TXT("usage: callqa ingest vicidial --vicidial mysql://USER@HOST[:PORT]/DB\n"
        "                              --vicidial-password-file F --db STORE [options]\n"),
    SET("vicidial", "vicidial", "URI", "the ViciDial database (a read-only account)"),
    SET("vicidial-password-file", "vicidial_password_file", "F",
        "its password (a file of mode 0600 or stricter)"),
    SET("db", "db", "STORE",
        "the store: SQLite path or postgresql:// URI (default:\nthe db setting)"),
    TEXT("config", "FILE",
         "settings (docs/config.md: vicidial, vicidial_*, ...);\nthe flags override them"),
    SET("source", "vicidial_source", "NAME",
        "the dialer's name in the store (default: the DB host)"),
    SET("recordings-dir", "recordings_dir", "DIR",
        "the dialer's recordings on local disk (looked at first)"),
    SET("recording-server", "recording_server", "NAME=URL",
        "a recording server (repeatable); a location on\nanother host is never fetched"),
    SET("min-length", "vicidial_min_length_sec", "S",
        "shorter calls are skipped (default {default})"),
    TEXT("campaign", "C", "outbound calls of campaign C only (repeatable)"),
    TEXT("ingroup", "G", "inbound calls of in-group G only (repeatable)"),
    TEXT("user", "U", "calls of agent U only (repeatable)"),
    SET("tz", "vicidial_tz", "ZONE", "the dialer's IANA time zone (default: {default})"),
    SET("batch", "vicidial_batch", "N", "rows per query (default {default})"),
    SET("open-row-hours", "vicidial_open_row_hours", "H",
        "open rows are revisited this long (default {default})"),
    ON("once", "one scan, then exit"),
    SET("interval-sec", "ingest_interval_sec", "S", "between scans (default {default})"),
    SET("retry-sec", "vicidial_retry_sec", "S",
        "a lost database connection is retried this long\n(default {default})"),
    SET("lookback", "vicidial_lookback", "N",
        "rows up to N ids below the mark that the store does\n"
        "not have are taken too (default {default}; 0 none)"),
    HELP_H,
    END};

static const row k_ingest_watch[] = {
    TXT("\nusage: callqa ingest watch --dir DIR --db STORE [options]\n"),
    TEXT("dir", "DIR", "the folder watched, with its subfolders"),
    TEXT("db", "STORE", "the store: SQLite path or postgresql:// URI"),
    {.flag = "source",
     .type = A_TEXT,
     .dflt = "watch",
     .arg = "NAME",
     .help = "the folder's name in the store (default {default})"},
    NUM("settle-sec", 0.2, 86400, "5", "S",
        "a file unchanged this long is complete (default {default})"),
    NUM("pair-wait-sec", 0, 86400, "120", "S", "the wait for a second leg (default {default})"),
    NUM("min-size", 0, 1e9, "100", "BYTES",
        "smaller files are stubs, not legs (default {default})"),
    TEXT("tz", "ZONE", "the zone of dates in file names (default: the system's)"),
    NUM("rescan-sec", 0, 86400, "60", "S",
        "the tree read again this often (default {default}; 0 never)"),
    ON("once", "what is there now, then exit"),
    HELP_H,
    TXT("\nExample: callqa ingest vicidial --vicidial mysql://qa@10.0.0.5/asterisk \\\n"
        "           --vicidial-password-file vici.pw --db callqa.db --once\n"
        "Example: callqa ingest watch --dir /var/spool/asterisk/monitor --db callqa.db --once\n"),
    END};

/* ---- transcripts and scores ---------------------------------------------------------------- */

static const row k_transcript[] = {
    TXT("usage: callqa transcript import --db STORE --call ID [--speaker S] [--config FILE] "
        "FILE|-\n"
        "Attach a transcript made elsewhere to a call of the store (ID: its recording_id or\n"
        "uniqueid), in place of any earlier one: callqa's format {\"segments\": [{\"speaker\",\n"
        "\"start\", \"end\", \"text\", \"words\"?}]}, or OpenAI verbose_json for the leg of\n"
        "--speaker agent|customer|mixed|S1|S2. It is checked against the call's analysed speech\n"
        "when there is one (docs/transcription.md). It is redacted as the call's campaign asks\n"
        "(the redact settings of --config FILE and CALLQA_*; docs/privacy.md) before it is\n"
        "stored.\n"),
    TEXT("db", "STORE", NULL),
    TEXT("call", "ID", NULL),
    TEXT("speaker", "S", NULL),
    TEXT("config", "FILE", NULL),
    HELP_H,
    TXT("\nExample: callqa transcript import --db callqa.db --call 1700000000.42 "
        "transcript.json\n"),
    END};

static const row k_score[] = {
    TXT("usage: callqa score --transcript FILE [--report FILE] [--scorecard FILE]\n"
        "                    [--topics FILE] [--speaker S] [--config FILE] [--json]\n"
        "\n"
        "Score one call on a scorecard (docs/scoring.md): rules over the transcript,\n"
        "acoustic thresholds over the analysis report, an LLM's rubric when one is\n"
        "configured. Every score comes with its evidence; what was not scored says why.\n"
        "\n"
        "options:\n"),
    TEXT("transcript", "FILE",
         "callqa's transcript format, or an OpenAI verbose_json answer\n"
         "(then --speaker says whose leg it is); - for standard input"),
    TEXT("report", "FILE",
         "the call's report (callqa analyze --json); without it the\n"
         "acoustic categories are not scored"),
    SET("scorecard", "scorecard", "FILE", "the card (default: the shipped 8-category card)"),
    SET("topics", "topics_file", "FILE",
        "a topics file (docs/topics.md): the call's topic by rules"),
    TEXT("speaker", "S", "agent, customer or mixed (a verbose_json transcript)"),
    TEXT("config", "FILE",
         "settings (docs/config.md): the llm_* settings ask an LLM\n"
         "for the card's llm categories (also CALLQA_LLM_* variables)"),
    ON("json", "the result as JSON"),
    HELP_H,
    TXT("\nExit status: 0 scored (flagged or not), 1 bad input, 2 usage error.\n"),
    TXT("\nExample: callqa score --json --transcript samples/sample-mono.transcript.json\n"),
    END};

/* ---- the store ----------------------------------------------------------------------------- */

static const row k_store_migrate[] = {
    TXT("usage: callqa store migrate --from SQLITE_PATH --to postgresql://... [options]\n"
        "       callqa store redact --db STORE --since DAY [--config FILE] [--dry-run]\n"
        "       callqa store purge [--dry-run] [--now TIME]    (callqa store purge --help)\n"
        "       callqa store erase (--phone NUMBER | --lead ID) [--dry-run]\n"
        "       callqa store audit --db STORE [--jsonl] [--since UNIX_S] [--after ID]\n"
        "       callqa store routes --db STORE [--rebuild]\n"
        "\n"
        "Copy every row of a SQLite store into a PostgreSQL store, then verify both hold the\n"
        "same (per table: the row count and a checksum). Run it again after an interruption:\n"
        "it goes on after the last batch committed. Stop the workers, ingest and service\n"
        "that write to the SQLite store first (docs/scale.md).\n"
        "\n"),
    TEXT("from", "PATH", "the SQLite store"),
    TEXT("to", "URI",
         "the PostgreSQL store (an existing, empty database; the\nschema is made there)"),
    ON("verify-only", "compare the two stores only, copying nothing"),
    INT("batch", 1, 100000, "1000", "N", "rows per transaction on the target (default {default})"),
    HELP,
    TXT("\nExit status: 0 copied and verified, 1 failed or not verified, 2 usage error.\n"),
    TXT("\nExample: callqa store migrate --from callqa.db --to "
        "postgresql://callqa@localhost/callqa\n"),
    END};

static const row k_store_redact[] = {
    TXT("usage: callqa store redact --db STORE --since DAY [--config FILE] [--dry-run]\n"
        "\n"
        "Redact the calls of DAY (YYYY-MM-DD) and later that were stored before redaction was\n"
        "turned on for their campaign (the redact settings of --config FILE and CALLQA_*;\n"
        "docs/privacy.md): their transcript, the keyed digits of their report, the quotes of\n"
        "their score. Their redacted audio is made when they are analysed again (callqa\n"
        "requeue); until then the service holds their audio back.\n"
        "\n"),
    TEXT("db", "STORE", NULL),
    TEXT("since", "DAY", NULL),
    TEXT("config", "FILE", NULL),
    ON("dry-run", "show what would be redacted, change nothing"),
    HELP_H,
    TXT("\nExit status: 0 done, 1 a call failed (the others are done), 2 usage error.\n"),
    TXT("\nExample: callqa store redact --db callqa.db --since 2024-06-01 --config callqa.conf "
        "--dry-run\n"),
    END};

static const row k_store_purge[] = {
    TXT("usage: callqa store purge [--dry-run] [--now TIME] [--db STORE] [--config FILE]\n"
        "       callqa store erase (--phone NUMBER | --lead ID) [--dry-run] [--db STORE]\n"
        "                          [--config FILE]\n"
        "       callqa store erase --agent ID [--dry-run] [--db STORE] [--config FILE]\n"
        "\n"
        "purge: delete what the retention settings (retain_*, docs/privacy.md) say is due:\n"
        "per call, in one transaction, checked and logged in the store's deletions table.\n"
        "erase: delete every row of one caller's calls, and callqa's own files of them;\n"
        "with --agent, an agent's voice profiles (every campaign's; the agent's calls stay).\n"
        "The dialer's recordings and database are never touched.\n"
        "\n"),
    ON("dry-run", "say what would go; change nothing"),
    TEXT("now", "TIME", "purge as at TIME: YYYY-MM-DD[THH:MM:SS[Z]] (UTC) or @EPOCH"),
    TEXT("phone", "NUMBER",
         "the caller's number (6-20 digits): calls whose recording\n"
         "file name holds exactly these digits"),
    TEXT("lead", "ID", "the caller's lead id in the dialer"),
    TEXT("agent", "ID", "the agent's user id in the dialer: its voice profiles"),
    SET("db", "db", "STORE", "the store (default: the db setting)"),
    TEXT("config", "FILE", "settings (docs/config.md)"),
    HELP,
    TXT("\nExit status: 0 done and verified, 1 a call failed (nothing of it changed), 2 usage.\n"),
    TXT("\nExample: callqa store purge --dry-run --db callqa.db\n"
        "Example: callqa store erase --phone 15551234567 --dry-run --db callqa.db\n"),
    END};

static const row k_store_audit[] = {
    TXT("usage: callqa store audit --db STORE [--config FILE] [--jsonl] [--since UNIX_S]\n"
        "                          [--after ID]\n"
        "  the audit trail, oldest first, one JSON object a line\n"),
    SET("db", "db", "STORE", NULL),
    TEXT("config", "FILE", NULL),
    ON("jsonl", NULL),
    NUM("since", 0, 1e12, NULL, "UNIX_S", NULL),
    INT("after", 0, 9e15, NULL, "ID", NULL),
    HELP,
    TXT("\nExample: callqa store audit --db callqa.db --since 1717200000\n"),
    END};

static const row k_user[] = {
    TXT("usage: callqa user COMMAND [NAME] [options]\n"
        "\n"
        "  add NAME --role ROLE [--scope SCOPE] [--password-file FILE | --password-stdin]\n"
        "      a user: ROLE admin, supervisor, analyst or agent; SCOPE campaign:A,campaign:B\n"
        "      (a supervisor's or analyst's campaigns; none: every call) or agent:X (an\n"
        "      agent's agent_user when it is not their user name)\n"
        "  list [--json]                       the users (never their passwords)\n"
        "  disable NAME | enable NAME          a disabled user's sessions and tokens stop (an\n"
        "                                      enabled user logs in again)\n"
        "  password NAME --password-file FILE | --password-stdin\n"
        "                                      a new password; the user's sessions end, their\n"
        "                                      API tokens stay (revoke them)\n"
        "  token NAME [--label TEXT]           a new API token, printed once\n"
        "  tokens NAME [--json]                the user's API tokens: id, label, made (never\n"
        "                                      the token)\n"
        "  revoke NAME --token ID | --all      revoke one of the user's API tokens, or all\n"
        "\n"),
    SET("db", "db", "STORE",
        "the store (a SQLite path or postgresql://...); else the db setting of\n"
        "--config FILE or CALLQA_DB"),
    TEXT("config", "FILE", NULL),
    TEXT("role", "ROLE", NULL),
    TEXT("scope", "SCOPE", NULL),
    TEXT("password-file", "FILE", NULL),
    ON("password-stdin", NULL),
    TEXT("label", "TEXT", NULL),
    ON("json", NULL),
    INT("token", 1, 9e15, NULL, "ID", NULL),
    ON("all", NULL),
    HELP,
    TXT("\n"
        "A password file must be of mode 0600; its first line is the password (10 to 1000\n"
        "bytes). Exit status: 0 done, 1 failed, 2 usage error.\n"),
    TXT("\nExample: callqa user add alice --role analyst --password-stdin --db callqa.db\n"),
    END};

/* ---- captures, and POST /ask's grants ------------------------------------------------------ */

static const row k_sip[] = {
    TXT("usage: callqa sip [--json] [--call-info FILE] [--max-answer-mb N]\n"
        "                 CAPTURE.pcap|CAPTURE.pcapng|SIP.txt\n"
        "       callqa sip [--json] --call-info FILE\n"
        "       callqa sip --hep HOST:PORT --hep-dir DIR [options]\n"
        "  a capture's SIP messages, dialogs, findings and RTP streams; or SIP as text\n"
        "  (sngrep's text export, pjsip set logger, sip set debug, raw messages,\n"
        "  tshark -V's packet details)\n"),
    ON("json", "one JSON object (docs/network.md)"),
    TEXT("call-info", "FILE",
         "the dialer's call_info (CARRIER LOG:, QUEUE DATA:, DID\n"
         "ROUTING: blocks) or vicidial_carrier_log rows as mysql\n"
         "prints them: its fields and findings (key call_info)"),
    SET("max-answer-mb", "max_answer_mb", "N",
        "the answer's bound, {lo} to {hi} MiB ({default}): a capture whose\n"
        "lists do not fit is cut, and `truncated` counts what was\n"
        "left out (docs/network.md \"Bounds\")"),
    TXT("a HEP collector (docs/hep.md):\n"),
    SET("hep", "hep_listen", "HOST:PORT",
        "collect HEP there (UDP: HEP3, versions 1 and 2; TCP: HEP3),\n"
        "as Asterisk's res_hep and res_hep_rtcp, FreeSWITCH, Kamailio\n"
        "and OpenSIPS send it; each call with an INVITE written, when it\n"
        "ends, as DIR/hep-EPOCH-HASH.pcap (EPOCH: its arrival), and one\n"
        "JSON line on stdout;\n"
        "port 0 picks one (printed on stderr)"),
    SET("hep-dir", "hep_dir", "DIR", "where each call's capture is written"),
    SET("hep-allow", "hep_allow", "LIST",
        "the senders allowed: ADDR[/BITS],... (default: loopback only)"),
    SET("hep-key-file", "hep_key_file", "FILE",
        "the key each packet must carry (HEP3 chunk 14), first line of\n"
        "a file of mode 0600"),
    SET("hep-idle-sec", "hep_idle_sec", "S",
        "a call never answered, silent S seconds, is written ({default})"),
    SET("hep-silent-sec", "hep_silent_sec", "S",
        "a call answered, silent S seconds, is written ({default})"),
    SET("hep-max-call-sec", "hep_max_call_sec", "S",
        "a call open S seconds is written ({default})"),
    SET("hep-max-calls", "hep_max_calls", "N",
        "calls open at once ({default}); past it the call silent\n"
        "longest is written"),
    SET("hep-call-kib", "hep_call_kib", "K", "KiB kept a call ({default}); more dropped"),
    SET("hep-max-kib", "hep_max_kib", "K",
        "KiB kept in all ({default}); past it the call silent longest\n"
        "is written"),
    SET("hep-max-conns", "hep_max_conns", "N", "TCP connections at once ({default})"),
    SET("hep-conns-per-addr", "hep_conns_per_addr", "N",
        "of them from one address before a whole packet ({default})"),
    SET("hep-conn-first-sec", "hep_conn_first_sec", "S",
        "a TCP connection without a whole packet S s after its\n"
        "accept is closed ({default})"),
    SET("hep-conn-idle-sec", "hep_conn_idle_sec", "S",
        "a TCP connection without a whole packet for S s is closed\n"
        "({default})"),
    SET("hep-dir-max-mb", "hep_dir_max_mb", "N",
        "MiB of files in DIR at most ({default}); past it no capture\n"
        "is written (counted, said on stderr; nothing deleted)"),
    TEXT("config", "FILE",
         "settings (docs/config.md: hep_*, max_answer_mb); the CALLQA_*\n"
         "variables override it, the flags both"),
    HELP_H,
    TXT("\nExample: callqa sip --json capture.pcap\n"
        "Example: callqa sip --hep 0.0.0.0:9060 --hep-dir /tmp --hep-allow 10.0.0.0/8\n"),
    END};

static const row k_ask_grants[] = {
    TXT("usage: callqa ask grants [--user NAME] [--host HOST] [--db DB] "
        "[--allow table.column,...]\n"),
    {.flag = "user", .type = A_TEXT, .dflt = "callqa_ask", .arg = "NAME"},
    {.flag = "host", .type = A_TEXT, .dflt = "%", .arg = "HOST"},
    {.flag = "db", .type = A_TEXT, .dflt = "asterisk", .arg = "DB"},
    {.flag = "allow", .type = A_TEXT, .dflt = "", .arg = "LIST"},
    HELP,
    TXT("\nExample: callqa ask grants --host 10.0.0.5 > grants.sql\n"),
    END};

static const command k_commands[] = {
    {"analyze", NULL, NULL, 25, k_analyze},
    {"analyze --transcribe", NULL, NULL, 25, k_transcribe},
    {"analyze --pcap", NULL, NULL, 25, k_pcap},
    {"investigate", NULL, NULL, 21, k_investigate},
    {"classify", NULL, NULL, 17, k_classify},
    {"live", NULL, NULL, 17, k_live},
    {"serve", NULL, NULL, 29, k_serve},
    {"worker", NULL, NULL, 29, k_worker},
    {"requeue", NULL, NULL, 29, k_requeue},
    {"ingest vicidial", NULL, "ingest", 29, k_ingest_vicidial},
    {"ingest watch", NULL, "ingest", 29, k_ingest_watch},
    {"transcript import", NULL, NULL, 22, k_transcript},
    {"score", NULL, NULL, 22, k_score},
    {"store migrate", NULL, NULL, 21, k_store_migrate},
    {"store redact", NULL, NULL, 14, k_store_redact},
    {"store purge", "store erase", NULL, 21, k_store_purge},
    {"store audit", NULL, NULL, 21, k_store_audit},
    {"user", NULL, NULL, 19, k_user},
    {"sip", NULL, NULL, 25, k_sip},
    {"ask grants", NULL, NULL, 21, k_ask_grants},
};
#define N_COMMANDS (sizeof(k_commands) / sizeof(k_commands[0]))

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(k_commands[i].name, name) ||
            (k_commands[i].alias && !strcmp(k_commands[i].alias, name)))
            return &k_commands[i];
    return NULL;
}

static bool is_end(const row *r)
{
    return !r->flag && !r->help && !r->group;
}

/* ---- a command's flags, flat: its rows' and its groups' ----------------------------------- */

#define MAX_FLAGS 160

typedef struct opt {
    const row *r; /* NULL: a group's setting */
    cfg_info in;  /* the setting (a setting's flag) */
    bool setting; /* it sets a setting */
    bool value;   /* it takes a value */
    const char *name;
} opt;

/* The flags of command k into f[max]: how many, or -1 when they do not fit. */
static int flags_of(const command *k, opt *f, int max)
{
    int n = 0;
    for (const row *r = k->rows; !is_end(r); r++) {
        if (r->group) {
            cfg_info in;
            for (size_t i = 0; cfg_info_at(i, &in); i++) {
                if (!in.flag || !(in.groups & r->group))
                    continue;
                if (n == max)
                    return -1;
                f[n++] = (opt){.r = NULL,
                               .in = in,
                               .setting = true,
                               .value = strcmp(in.type, "boolean") != 0,
                               .name = in.flag};
            }
            continue;
        }
        if (!r->flag)
            continue;
        if (n == max)
            return -1;
        opt *x = &f[n++];
        *x = (opt){.r = r, .name = r->flag};
        if (r->key) {
            if (!cfg_info_of(r->key, &x->in)) {
                fprintf(stderr, "callqa: the flag --%s of `%s` names no setting '%s'\n", r->flag,
                        k->name, r->key);
                abort(); /* the table is wrong: tests/config catches it */
            }
            x->setting = true;
            x->value = strcmp(x->in.type, "boolean") != 0;
        } else {
            x->value = r->type != A_FLAG;
        }
    }
    return n;
}

/* ---- the --help page ----------------------------------------------------------------------- */

/* text with {default}, {lo}, {hi} (of row r, or of its setting) and {analyzers} filled in */
static void fill(const char *text, const row *r, const char *analyzers, char *out, size_t n)
{
    cfg_info in;
    bool have = r && r->key && cfg_info_of(r->key, &in);
    size_t k = 0;
    out[0] = 0;
    for (const char *p = text; *p && k + 1 < n;) {
        char num[40];
        const char *put = NULL;
        size_t skip = 0;
        if (!strncmp(p, "{default}", 9)) {
            put = have ? in.shown : r && r->dflt ? r->dflt : "";
            skip = 9;
        } else if (!strncmp(p, "{lo}", 4) || !strncmp(p, "{hi}", 4)) {
            double v = p[1] == 'l' ? (have ? in.lo
                                      : r  ? r->lo
                                           : 0)
                                   : (have ? in.hi
                                      : r  ? r->hi
                                           : 0);
            put = cfg__num_text(v, num, sizeof(num));
            skip = 4;
        } else if (!strncmp(p, "{analyzers}", 11)) {
            put = analyzers ? analyzers : "";
            skip = 11;
        }
        if (put) {
            k += (size_t)snprintf(out + k, n - k, "%s", put);
            if (k >= n)
                k = n - 1;
            p += skip;
        } else {
            out[k++] = *p++;
            out[k] = 0;
        }
    }
}

static void print_row(FILE *f, const command *k, const row *r, const char *analyzers)
{
    char text[4096];
    if (r->group) {
        cfg_flag_help(f, r->group);
        return;
    }
    if (!r->flag) {
        fill(r->help, NULL, analyzers, text, sizeof(text));
        fputs(text, f);
        return;
    }
    if (!r->help)
        return;
    char head[200];
    if (r->head)
        snprintf(head, sizeof(head), "%s", r->head);
    else if (r->letter)
        snprintf(head, sizeof(head), "-%c, --%s%s%s", r->letter, r->flag, r->arg ? " " : "",
                 r->arg ? r->arg : "");
    else
        snprintf(head, sizeof(head), "--%s%s%s", r->flag, r->arg ? " " : "", r->arg ? r->arg : "");
    fill(r->help, r, analyzers, text, sizeof(text));
    int col = fprintf(f, "  %s", head);
    const char *p = text;
    if (*p == '\n') { /* the meaning below the head */
        fputc('\n', f);
        col = 0;
        p++;
    }
    fprintf(f, "%*s", col + 2 <= k->col ? k->col - col : 2, ""); /* two spaces at least */
    for (;;) {
        size_t len = strcspn(p, "\n");
        fprintf(f, "%.*s\n", (int)len, p);
        if (!p[len])
            break;
        p += len + 1;
        fprintf(f, "%*s", k->col, "");
    }
}

void cfg_usage(FILE *f, const char *cmd, const char *analyzers)
{
    const command *k = find_command(cmd);
    if (!k)
        return;
    const char *page = k->page ? k->page : k->name;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const command *c = &k_commands[i];
        if (strcmp(c->page ? c->page : c->name, page))
            continue;
        for (const row *r = c->rows; !is_end(r); r++)
            print_row(f, c, r, analyzers);
    }
}

/* ---- the command line ---------------------------------------------------------------------- */

static bool takes_config(const command *k)
{
    for (const row *r = k->rows; !is_end(r); r++)
        if (r->flag && !r->key && !strcmp(r->flag, "config"))
            return true;
    return false;
}

/* A number of the command's own flag r within its bounds: 0, or -1 with msg. */
static int own_number(const row *r, const char *v, char *msg, size_t n)
{
    char *end, lo[40], hi[40];
    double d = strtod(v, &end);
    cfg__num_text(r->lo, lo, sizeof(lo));
    cfg__num_text(r->hi, hi, sizeof(hi));
    if (end == v || *end || !isfinite(d))
        return cfg_fail(msg, n, "--%s '%s': not a number (%s..%s)", r->flag, v, lo, hi);
    if (r->type == A_INT && d != floor(d))
        return cfg_fail(msg, n, "--%s %s: not a whole number (%s..%s)", r->flag, v, lo, hi);
    if (!(d >= r->lo && d <= r->hi))
        return cfg_fail(msg, n, "--%s %s: out of range %s..%s", r->flag, v, lo, hi);
    return 0;
}

int cfg_parse(const char *cmd, int argc, char **argv, cfg_settings *c, cfg_args *a,
              struct cq_err *err)
{
    memset(a, 0, sizeof(*a));
    const command *k = find_command(cmd);
    if (!k)
        return cq_err_set(err, CQ_ERR_INTERNAL, "no command '%s' in the settings' tables", cmd);
    a->cmd = k;
    static opt f[MAX_FLAGS]; /* one command line a process: the program's start */
    static struct option opts[MAX_FLAGS + 1];
    char shorts[2 * MAX_FLAGS + 2] = ":", msg[1200];
    int n = flags_of(k, f, MAX_FLAGS);
    if (n < 0)
        return cq_err_set(err, CQ_ERR_INTERNAL, "%s: more than %d flags", cmd, MAX_FLAGS);
    for (int i = 0; i < n; i++) {
        opts[i] = (struct option){f[i].name, f[i].value ? required_argument : no_argument, NULL,
                                  1000 + i};
        if (f[i].r && f[i].r->letter) {
            size_t l = strlen(shorts);
            shorts[l] = f[i].r->letter;
            shorts[l + 1] = f[i].value ? ':' : 0;
            shorts[l + 2] = 0;
        }
    }
    opts[n] = (struct option){NULL, 0, NULL, 0};
    /* the settings file first, the environment over it, then the flags over both */
    if (takes_config(k)) {
        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
            const char *path = !strncmp(argv[i], "--config=", 9)              ? argv[i] + 9
                               : !strcmp(argv[i], "--config") && i + 1 < argc ? argv[++i]
                                                                              : NULL;
            if (path && cfg_load_file(c, path, msg, sizeof(msg)) != 0)
                return cq_err_set(err, CQ_ERR_INVALID, "%s", msg);
        }
        if (cfg_load_env(c, msg, sizeof(msg)) != 0)
            return cq_err_set(err, CQ_ERR_INVALID, "environment: %s", msg);
    }
    opterr = 0;
    optind = 0; /* glibc: a whole new scan, whatever an earlier one left */
    int o;
    while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        if (o == '?' || o == ':') {
            a->usage = true;
            const char *what = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
            char one[3] = {'-', (char)optopt, 0};
            if (optopt > 0 && optopt < 256 && strncmp(what, "--", 2))
                what = one;
            return cq_err_set(err, CQ_ERR_INVALID,
                              o == ':' ? "%s needs a value" : "unknown flag %s", what);
        }
        const opt *x = NULL;
        if (o >= 1000 && o < 1000 + n)
            x = &f[o - 1000];
        for (int i = 0; !x && i < n; i++)
            if (f[i].r && f[i].r->letter == o)
                x = &f[i];
        if (!x)
            return cq_err_set(err, CQ_ERR_INTERNAL, "getopt answered %d", o);
        if (x->setting) {
            char name[80];
            snprintf(name, sizeof(name), "--%s", x->name);
            const char *v = x->value ? optarg : x->r && x->r->set ? x->r->set : "true";
            if (cfg__set_as(c, x->in.key, name, v, msg, sizeof(msg)) != 0)
                return cq_err_set(err, CQ_ERR_RANGE, "%s", msg);
            continue;
        }
        if ((x->r->type == A_NUM || x->r->type == A_INT) &&
            own_number(x->r, optarg, msg, sizeof(msg)) != 0)
            return cq_err_set(err, CQ_ERR_RANGE, "%s", msg);
        if (a->n == CFG_MAX_ARGS)
            return cq_err_set(err, CQ_ERR_RANGE, "more than %d flags", CFG_MAX_ARGS);
        a->got[a->n].flag = x->r->flag;
        a->got[a->n++].value = x->value ? optarg : "";
    }
    a->next = optind;
    return CQ_OK;
}

/* The row of the command's own flag, or the program stops: a name the table does not have is
 * the calling code's mistake. */
static const row *own_row(const cfg_args *a, const char *flag)
{
    const command *k = a->cmd;
    for (const row *r = k ? k->rows : NULL; r && !is_end(r); r++)
        if (r->flag && !r->key && !strcmp(r->flag, flag))
            return r;
    fprintf(stderr, "callqa: `%s` has no flag --%s of its own in the settings' tables\n",
            k ? k->name : "?", flag);
    abort();
}

const char *cfg_arg(const cfg_args *a, const char *flag)
{
    const row *r = own_row(a, flag);
    for (int i = a->n - 1; i >= 0; i--)
        if (!strcmp(a->got[i].flag, flag))
            return a->got[i].value;
    return r->dflt;
}

bool cfg_arg_given(const cfg_args *a, const char *flag)
{
    (void)own_row(a, flag);
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->got[i].flag, flag))
            return true;
    return false;
}

double cfg_arg_num(const cfg_args *a, const char *flag)
{
    const char *v = cfg_arg(a, flag);
    return v && *v ? strtod(v, NULL) : NAN;
}

const char *cfg_arg_each(const cfg_args *a, const char *flag, int *i)
{
    (void)own_row(a, flag);
    for (; *i < a->n; (*i)++)
        if (!strcmp(a->got[*i].flag, flag))
            return a->got[(*i)++].value;
    return NULL;
}

/* ---- for the tests ------------------------------------------------------------------------- */

const char *cfg_cmd_at(size_t i)
{
    return i < N_COMMANDS ? k_commands[i].name : NULL;
}

const char *cfg_cmd_flag_at(const char *cmd, size_t j, const char **key, char *letter,
                            bool *grouped)
{
    const command *k = find_command(cmd);
    static opt f[MAX_FLAGS];
    int n = k ? flags_of(k, f, MAX_FLAGS) : -1;
    if (n < 0 || j >= (size_t)n)
        return NULL;
    if (key)
        *key = f[j].setting ? f[j].in.key : NULL;
    if (letter)
        *letter = f[j].r ? f[j].r->letter : 0;
    if (grouped)
        *grouped = !f[j].r;
    return f[j].name;
}
