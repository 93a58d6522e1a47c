/*
 * pipeline.h - one call's life, from its source to its score, written once: the QA worker, the
 * service's GET and POST /analyze, the recording of POST /investigate and the command line's
 * store commands all take a call through here (docs/pipeline.md). In the order a call lives it,
 * which is the order of this header:
 *
 *   0. its source       a call the store holds (the worker's job: a recording on disk beneath
 *                       the configured folders, or NAME:FILE on a recording server), a file on
 *                       a recording server (GET /analyze), an upload (POST /analyze), the
 *                       recording of an investigation (POST /investigate)       (fetch.c)
 *   1. fetch            downloaded from its recording server (rec_fetch) or opened beneath the
 *                       configured folders (rec_open), named in the report by its file's name
 *                                                                               (fetch.c)
 *   2. analyse          in a child process, through src/proc/: the worker's own children, or
 *                       the analysis host's for the service's threads, each thread with its
 *                       slot                                  (pl_host.c, analyser.c, pool.c)
 *   3. beside it        a capture and the live events of the call, held against the analysis
 *                                                                 (network.c, live_kept.c)
 *   4. redact and mask  the one path (pl_mask_report) for every report, whoever asked: the
 *                       keyed digits, cards and SSNs; the transcript's words, the audio copy
 *                                                                               (redact.c)
 *   5. store            the report as the store keeps it: the worker's under its lease, a
 *                       request's as a result row                     (worker.c, pl_life.c)
 *   6. transcribe       the speech the analysis kept, sent to the ASR     (stored_tx.c, pl_life.c)
 *   7. score            the card, the LLM, the summary and sentiment, the speakers' roles
 *                                                            (scored.c, sources.c, roles.c)
 *   and the worker's loop around it: the store's jobs, leases, production safety
 *                                                                     (worker.c, safety.c)
 *   and before all of it, a call as it happens: `callqa live`'s events followed (live_calls.c)
 *
 * It calls the engine (its public API, in the children only: the engine's header is read by
 * this room's files, not through this header, so that the service, which includes this one,
 * reads no engine header), the clients (recording.h: the call's audio opened or fetched;
 * asr.h: the transcription; llm.h: scoring's LLM categories), scoring, the transcript and
 * privacy rooms, the network room (a capture beside the recording; an investigation), the
 * store, proc (every child), the live room (its follower of `callqa live`'s events) and the
 * settings, with jansson. It is on floor 9, above every room it joins and below the service and
 * the command line, which use it.
 */
#ifndef CQ_PIPELINE_H
#define CQ_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "callqa/cq_report.h"
#include "../clients/llm.h"
#include "../scoring/scoring.h"
#include "../clients/recording.h"
#include "../config/config.h"
#include "../privacy/privacy.h"
#include "../store/store_calls.h"
#include "../live/live.h"

struct json_t;

/* ---- 0. a call's source, 1. its fetch (fetch.c) ---------------------------------------------- */

/* A call a request brings (the worker's calls are the store's: store_call). */
typedef enum pl_source_kind {
    PL_SOURCE_SERVER = 0, /* `file` on the recording server `srv` (GET /analyze): fetched */
    PL_SOURCE_UPLOAD,     /* the bytes data[0..size) (POST /analyze's body) */
    PL_SOURCE_UPLOAD_LEGS /* two leg files, in_path and out_path (POST /analyze's parts) */
} pl_source_kind;

typedef struct pl_source {
    pl_source_kind kind;
    const cfg_server *srv; /* SERVER: the configured server */
    const char *file;      /* SERVER: the name asked for (rec_check_file); else the upload's
                              name: what the report and the stored row name the call by */
    const void *data;      /* UPLOAD: size bytes */
    size_t size;
    const char *in_path, *out_path; /* UPLOAD_LEGS: the parts' files */
    const char *identity;           /* an upload's stored identity ("upload:<request id>"); a
                                       fetched file's is its content's */
} pl_source;

/* ---- 2. analyse in a child: the analyser, for threads (analyser.c, pl_host.c) ---------------- */

/* What the service's metrics keep of a report, taken where the report is (another process when
 * the analysis is isolated). */
typedef struct pl_metric_figures {
    struct {
        bool present, has_mos, has_speech;
        double mos, speech_pct;
    } leg[2]; /* inbound, outbound */
} pl_metric_figures;

/* What the analyser tells its owner as a call goes, for its metrics (any member NULL: not
 * told). Called on the thread of the call. */
typedef struct pl_observer {
    void (*stage)(const char *stage, double seconds); /* "fetch", "analyze", "store",
                                                         "investigate": one stage's time */
    void (*analysis)(const pl_metric_figures *f, double seconds, bool ok); /* f NULL: none */
    void (*killed)(bool timeout); /* an analysis process crashed, or ran past its limit */
} pl_observer;

/* The engine of the settings (the analysis settings, the model directory, max_duration_sec)
 * and, with the `isolate` setting, the analysis host: one process, forked now, that forks a
 * child for each analysis of one of `slots` threads (analysis_timeout_sec each; a crash or a
 * runaway costs one request, never the caller). Start it before the process starts any thread.
 * Thread-safe after: each slot is used by one thread at a time (pl_pool gives each thread its
 * own). NULL with err (the engine: CQ_ERR_* of cq_engine_create; the host: CQ_ERR_IO). */
typedef struct pl_analyser pl_analyser;
pl_analyser *pl_analyser_start(const cfg_settings *c, int slots, const pl_observer *obs,
                               cq_err *err);
/* The engine's fingerprint (cq_engine_fingerprint): a stored result is reused only by an
 * analyser of the same one. Valid until pl_analyser_stop. */
const char *pl_analyser_id(const pl_analyser *a);
/* What GET /health says of the analyses. */
typedef struct pl_health {
    const char *vad, *nisqa, *dnsmos; /* NULL: the model is loaded; else why it is not */
    bool isolated;                    /* analyses run in the host's children */
    bool up;                          /* the host runs (always true when not isolated) */
} pl_health;
void pl_analyser_health(const pl_analyser *a, pl_health *h);
/* Close every slot, wait for the host to finish its analyses and exit; free the engine. NULL:
 * nothing. */
void pl_analyser_stop(pl_analyser *a);

/* How a request's call ended (pl_analyse, pl_investigate), with err's code and message. */
typedef enum pl_end {
    PL_END_OK = 0,   /* the report (or the answer) is there */
    PL_END_FETCH,    /* the recording was not fetched: err.code CQ_ERR_NOT_FOUND, TOO_LARGE,
                        TIMEOUT, REMOTE (a bad answer of the server) or INTERNAL */
    PL_END_DOWN,     /* no analysis host to ask (it died, or the slot broke) */
    PL_END_CRASHED,  /* the analysis process died (a signal, or a broken answer) */
    PL_END_TIMEOUT,  /* it ran past analysis_timeout_sec and was killed */
    PL_END_ANALYSIS, /* the analysis answered an error: err.code is the engine's status (an
                        investigation's capture that cannot be read: CQ_ERR_FORMAT) */
    PL_END_INTERNAL  /* the answer could not be read or masked (not JSON, out of memory):
                        nothing of it is kept */
} pl_end;

typedef struct pl_result {
    pl_end end;
    cq_err err;            /* the code and message of an end that is not PL_END_OK */
    char *report;          /* pl_analyse: the report as stored and answered (malloc'd) */
    struct json_t *answer; /* pl_investigate: the answer, masked (a JSON object, owned) */
    size_t bytes;          /* the report's or the answer's size as the analysis wrote it */
    int64_t id;            /* pl_analyse: the stored row's id */
    int put;               /* pl_analyse: store_result_put's status (0: stored) */
} pl_result;
void pl_result_free(pl_result *r);

/* A request's call through its whole life on slot `slot`: fetched (SERVER) or taken as given
 * (uploads), analysed in a child of the host (in this process without one), masked as every
 * report is (pl_mask_report, no campaign), and stored as a result row of (server name or
 * "upload", file, identity, this analyser) in st. 0 with out->end PL_END_OK and its report
 * (out->put says whether the store took it), or -1 with out's end and err. */
int pl_analyse(pl_analyser *a, int slot, const cfg_settings *c, store *st, const pl_source *src,
               pl_result *out);
/* An investigation (POST /investigate): its request (JSON: the capture, the SIP text, the
 * call_info, the status, the recording's files, the hint that picks the call, the answer's
 * bound) worked out in a child of the host on slot `slot`: the capture read, the recording
 * analysed, the two held together (net_investigate_run); masked as every report is. 0 with
 * out->answer, or -1 with out's end and err. */
int pl_investigate(pl_analyser *a, int slot, const cfg_settings *c, const char *request,
                   pl_result *out);

/* The threads of the service's long work (an analysis, an investigation, /ask): `threads`
 * threads, thread k with slot k of the analyser, each taking the next item of a FIFO of at most
 * `cap` and running run(item, slot, user); SIGTERM and SIGINT are blocked in them (the main
 * thread waits for those). NULL when no thread could be started (or out of memory). */
typedef struct pl_pool pl_pool;
pl_pool *pl_pool_start(int threads, size_t cap, void (*run)(void *item, int slot, void *user),
                       void *user);
/* The threads started (at least 1). */
int pl_pool_threads(const pl_pool *p);
/* Queue item: 0, or -1 when the queue is full or closed (nothing queued). Any thread. */
int pl_pool_push(pl_pool *p, void *item);
/* Items waiting (not yet taken by a thread). */
size_t pl_pool_len(pl_pool *p);
/* Take no more items; the threads run what is queued, then end. Any thread, once or more. */
void pl_pool_close(pl_pool *p);
/* Close, wait for the threads, free. NULL: nothing. */
void pl_pool_stop(pl_pool *p);

/* ---- 3. beside the recording: a capture (network.c), live events (live_kept.c) --------------- */

/* A call's capture beside its recording (rec_path; NULL: a recording not on local disk), else
 * its call in the HEP collector's folder hep_dir (NULL or "": none) matched by its metadata
 * (network.c): 1 with *out the investigation's answer for the report's `network` key and f's
 * network MOS and model set, and hep_used[hu_n] the name in hep_dir of the collector's capture
 * it read ("" for a capture beside the recording: the caller records it with the call);
 * 0 when there is none; -1 with why when it is there but cannot be opened or read. */
int pl_network_of(const rec_roots *roots, const char *rec_path, const char *hep_dir,
                  const store_call *call, const cq_report *rep, store_figures *f,
                  struct json_t **out, char *hep_used, size_t hu_n, char *why, size_t n);
/* hep_dir/name into out[n] when name is the name of a capture of the HEP collector
 * (hep-EPOCH-HASH[-N].pcap: no folder in it): 0, or -1 (another name, no hep_dir, too long). */
int pl_hep_capture_path(const char *hep_dir, const char *name, char *out, size_t n);

/* A recording's path without its extension (and, with `legs`, without a ViciDial leg's -in,
 * -out or -all), into base[n]: what files beside it are named from. 0, or -1 when there is no
 * name or it is too long. */
int pl_rec_base(const char *rec, bool legs, char *base, size_t n);
/* The capture paths beside a recording (base.pcap, base.pcapng): 2, or 0 for none. */
int pl_capture_paths(const char *rec, char out[2][4200]);

/* The live events beside a recording that `callqa live --record-dir` wrote (live_kept.c):
 * 1 with *out the report's `live` key (the lines, the decisions, the call_end, and the
 * classifier's events held against the batch analysis's: `agreement`), digits masked when
 * `mask`; 0 when there are none; -1 with why when they are there but cannot be read (or are
 * still being written). */
int pl_live_of(const rec_roots *roots, const char *rec_path, const cq_report *rep, bool mask,
               struct json_t **out, char *why, size_t n);
/* The lines of a live events file (text[0..len], text[len] writable, changed in place) as the
 * report's `live` key named `file`, held against rep; NULL when out of memory. */
struct json_t *pl_live_parse(char *text, size_t len, const char *file, const cq_report *rep,
                             bool mask);
/* Every digit, # and A-D of s as '*' (the keyed digits of a report, redact.c). */
void pl_redact_mask_str(char *s);
/* base.live.jsonl for a recording base.EXT: 0, or -1 when the name is too long. */
int pl_live_path(const char *rec, char *out, size_t n);

/* ---- 4. redaction and masking (redact.c; docs/privacy.md) ------------------------------------ */

/* What is removed from one call: its campaign's types, the audio copy's mode, the DTMF marks. */
#define PL_MAX_MARKS 32
typedef struct pl_redact_plan {
    bool on; /* a type is enabled for the call's campaign */
    pv_settings pv;
    int audio; /* 0 off, 1 mute, 2 tone (the redact_audio setting; 0 when not on) */
    char pause[17], resume[17];
    /* pause and resume marks sent for the call (POST /api/qa/marks), on the recording's clock */
    int n_marks;
    double mark_sec[PL_MAX_MARKS];
    bool mark_pause[PL_MAX_MARKS];
    const char *marks_unplaced; /* non-NULL: marks that could not be placed, and why */
} pl_redact_plan;

/* The redaction settings checked (the types' names, the campaigns' map, the DTMF codes): 0, or
 * -1 with err naming the setting. */
int pl_redact_check(const cfg_settings *c, char *err, size_t n);
/* Whether any campaign has a type enabled. */
bool pl_redact_any(const cfg_settings *c);
/* The plan for a call of campaign (NULL or "": the `redact` setting alone). 0, or -1 on
 * settings pl_redact_check refuses. */
int pl_redact_plan_of(const cfg_settings *c, const char *campaign, pl_redact_plan *p);
/* The folder of the redacted copies: redact_dir, else redacted/ beside the store db. */
void pl_redact_dir(const cfg_settings *c, const char *db, char *out, size_t n);
/* The one walk (docs/privacy.md, "One walk"), in place, in time linear in the report's size:
 * every keyed digit field (a key ending in "digits", "digit", "in_band", "rfc4733",
 * "sip_info", "sent") as '*'s, its value collected; then every string whatever its key
 * through pv_masker_text with `types` (card, SSN, national id, IBAN of them): the collected
 * digits where they are quoted, keyed-digit runs, written and spoken card numbers and SSNs;
 * identifiers (uniqueids, Call-IDs, timestamps, addresses, URIs) left alone. *masked: the
 * strings changed. 0, or -1 (memory: the report is partly masked and must not be kept). */
int pl_redact_mask_report(struct json_t *report, unsigned types, size_t *masked);
/* The one masking path of a call's report or answer (docs/privacy.md, "One walk"), whoever
 * asked for it: plan is the call's (the worker's call: its campaign's plan, pl_redact_plan_of),
 * or NULL for a request that names no campaign (GET and POST /analyze, /investigate: the types
 * of every campaign, pl_redact_types). The walk (pl_redact_mask_report) runs when that plan
 * has a type on. 1 masked (*masked: the strings changed; may be NULL), 0 nothing to mask for
 * this call, -1 out of memory (the report is partly masked and must not be kept). */
int pl_mask_report(const cfg_settings *c, const pl_redact_plan *plan, struct json_t *report,
                   size_t *masked);
/* The types enabled for any campaign (the `redact` setting's and every campaign's of
 * `redact_campaigns`): what a masker of the service's answers looks for. */
unsigned pl_redact_types(const cfg_settings *c);
/* An audit detail (a query, a question: what a caller typed) as it may be kept: text itself
 * with redaction off or nothing in it to mask; else its masked copy (in *own, to free); ""
 * when memory ran out. */
const char *pl_redact_detail(const cfg_settings *c, const char *text, char **own);

/* An imported transcript of a stored call redacted as its campaign asks (the call's campaign
 * read from st): 1 redacted (*hits entities), 0 its campaign is not redacted, -1 with err (the
 * store, or memory: t must not be stored). The audio copy is not redone. */
int pl_redact_transcript_of(const cfg_settings *c, store *st, int64_t call_id, tx_transcript *t,
                            size_t *hits, char *err, size_t n);

/* A call stored before redaction was turned on, redacted now (callqa store redact): its
 * transcript (when it holds something to redact), the keyed digits of its report (with a
 * `redaction` object saying so), the strings of its score's detail (quotes, reasons). Its audio
 * copy is not made here (the call analysed again makes it). */
typedef struct pl_stored_redaction {
    bool redacted;                  /* its campaign is redacted */
    bool transcript, report, score; /* rewritten (or would be: dry) */
    size_t counts[PV_N_TYPES];      /* entities in the transcript and the score */
    size_t digits;                  /* report fields masked */
} pl_stored_redaction;
/* 1 done (or shown, dry), 0 its campaign is not redacted, -1 with err. */
int pl_redact_stored(const cfg_settings *c, store *st, int64_t call_id, bool dry,
                     pl_stored_redaction *out, char *err, size_t n);

typedef struct pl_redact_result {
    char state[8];    /* "ok", or "failed": held back from playback */
    char audio[1100]; /* the redacted copy, "" when none was written */
} pl_redact_result;
/* A redacted call's capture beside its recording (rec_path), when it lies in callqa's upload
 * folder: deleted, for its RTP holds the call's audio unredacted. 1 deleted, 0 none there (or
 * the dialer's, never touched), -1 with why. */
int pl_redact_capture(const cfg_settings *c, const char *rec_path, char *why, size_t n);

/* A call's redaction after its analysis and transcript (in the analysis child): the audio copy
 * written under redact_dir (beside db when unset) and verified, the transcript (tx, already
 * redacted, with tr its spans; tx NULL without a transcript) scanned again. Returns the report's
 * `redaction` object (NULL when out of memory) and *res. */
struct json_t *pl_redact_call(const pl_redact_plan *p, const cfg_settings *c, const char *db,
                              int64_t call_id, const cq_call_src *src, const cq_report *rep,
                              const tx_transcript *tx, const pv_redaction *tr, size_t digits_masked,
                              pl_redact_result *res);

/* ---- 5. the report as the store keeps it ----------------------------------------------------- */

/* The queryable figures of a report (store_figures). */
void pl_figures_of(const cq_report *r, store_figures *f);

/* ---- 6. transcripts into the store (stored_tx.c) --------------------------------------------- */

/* A transcript block (JSON) as the store keeps it; the pointers in `t` are into the block and
 * the buffers here, valid until pl_stored_tx_free. */
typedef struct pl_stored_tx {
    store_transcript t;
    store_tx_segment *segs;
    char *text, *detail;
    void *json; /* the parsed block (jansson) */
} pl_stored_tx;

/* 0, or -1 with err (not a JSON object, out of memory). */
int pl_stored_tx_from_json(const char *detail, const char *config_hash, int64_t call_id,
                           pl_stored_tx *out, char *err, size_t errsz);
void pl_stored_tx_free(pl_stored_tx *x);

/* ---- 7. the scoring stage (scored.c, sources.c; docs/scoring.md) ----------------------------- */

typedef struct pl_scoring {
    bool on;           /* the `scoring` setting */
    sc_card card;      /* the configured card, or the shipped default */
    sc_topics *topics; /* NULL without a topics_file */
    bool llm_on;       /* an LLM is configured (llm_provider) */
    llm_config llm;
    char llm_hash[65]; /* llm_config_hash, stored with each result */
    sc_vader *vader;   /* VADER's lexicon from the model directory, or NULL: vader_why says why */
    char vader_why[400];
} pl_scoring;

/* The card, topics and LLM of the settings, loaded and checked (a bad card or topics file, LLM
 * settings that cannot work, a key file that cannot be read: -1 with err, and the worker does
 * not start). Scoring off: 0 with on false. VADER's lexicon is read from the model directory
 * (model_dir, else $CALLQA_MODEL_DIR or the default) when it is there: a missing or bad one
 * leaves the sentiment null with vader_why, and the worker starts. */
int pl_scoring_setup(const cfg_settings *c, pl_scoring *out, char *err, size_t errsz);
void pl_scoring_free(pl_scoring *s);

/* A call scored from its words (NULL: no transcript) and report (JSON, or NULL): rules and
 * acoustics, then the LLM's categories when one is configured (budget: today's use; each
 * attempt is appended to *attempts, a JSON array text (malloc'd) for store_llm_record, when
 * attempts is not NULL). An LLM that fails, refuses or is at a cap leaves its categories "not
 * scored: <why>": the call is still scored. The result's JSON (malloc'd), or NULL with why. */
char *pl_score_text(const pl_scoring *s, const char *report_json, const sc_text *text,
                    const llm_budget *budget, char **attempts, char *why, size_t n);

/* Which source gives the call's summary and sentiment (sources.c, the one place this is
 * chosen). pl_summary_choose: the LLM's checked summary when it passed, else the deterministic
 * assessment of the report (none without a report); 0, or -1 with why (the report could not be
 * assessed: no summary). pl_sentiment_choose: the LLM's figures when at least one passed its
 * checks, else lexicon's (taken over; NULL or not present: none) into call->sentiment. */
int pl_summary_choose(const char *report_json, sc_call *call, char *why, size_t n);
int pl_sentiment_choose(sc_call *call, const sc_text *t);

/* The same from the transcript block (NULL: none), as a call's life has it: the report as its
 * one object (NULL: none) and the text it was rendered to. */
char *pl_score_call(const pl_scoring *s, const struct json_t *report, const char *report_json,
                    const char *tx_block, const llm_budget *budget, char **attempts, char *why,
                    size_t n);

/* Each attempt of *attempts (pl_score_text's JSON array; NULL or "": none) recorded with
 * store_llm_record for call (<= 0: none) and purpose. 0, or -1 when one was refused. */
int pl_record_llm(store *st, int64_t call, const char *purpose, const char *attempts);

/* A result (JSON) as the store keeps it; the pointers in `s` are into the parsed result and
 * the buffers here, valid until pl_stored_score_free. */
typedef struct pl_stored_score {
    store_score s;
    char *strengths, *improvements;
    void *json;
} pl_stored_score;

int pl_stored_score_from_json(const char *detail, pl_stored_score *out, char *err, size_t errsz);
void pl_stored_score_free(pl_stored_score *x);

/* ---- 7. roles of a diarized mix, agents' voice profiles (roles.c) ---------------------------- */

/* The least voiced speech (the print's speech_sec) of an agent leg whose print is added to the
 * agent's profile, s: an 8 s P.862 recording has about 2 s. */
#define PL_PROFILE_MIN_SPEECH_SEC 3.0

/* Is campaign one of voice_profile_campaigns (agents' voice profiles on)? */
bool pl_profile_campaign(const cfg_settings *c, const char *campaign);

/* A transcript speaker's label under the roles decided: "S1"/"S2" become "agent" or "customer"
 * when that speaker's role is decided, and stay as they are otherwise (any other label too). */
const char *pl_roles_speaker_label(const sc_roles *r, const char *speaker);
/* Every speaker label of a transcript block (legs' role, segments' and turns' speaker) mapped
 * by pl_roles_speaker_label, in place. */
void pl_roles_label_transcript(struct json_t *tx, const sc_roles *r);

/* The roles of a mono mix with two diarized speakers (the report's speakers[]): each speaker's
 * words from the transcript block tx (NULL: none; a segment labelled S1/S2 is that speaker's,
 * else the speaker whose diarized speech it overlaps most), its similarity to prof (NULL: no
 * profile; needs the speakers' prints in the report), the call's direction, the answer time
 * (call_events.time_to_answer_sec). Sets the report's `roles`, and labels tx's S1/S2 by them.
 * 1 done, 0 not a two-speaker mix (nothing changed), -1 out of memory. */
int pl_roles_of_call(struct json_t *report, struct json_t *tx, const store_call *call,
                     const store_voice_profile *prof, sc_roles *out);

/* The agent leg's voice print of a two-leg call (the leg whose role is agent) into v (*dim
 * numbers) and *speech_sec: 1, or 0 when the report has none. strip: every print is taken out
 * of the report too (legs' `voiceprint` removed, speakers' set to null). */
int pl_voiceprint_take(struct json_t *report, bool strip, double *v, int *dim, double *speech_sec);

/* ---- the QA worker: the store's jobs, leases, each call in a child (worker.c) ---------------- */

typedef struct pl_worker_config {
    char db[1024];               /* the store */
    char id[65];                 /* the worker's id; "" = HOST:PID */
    int jobs;                    /* analyses at once (default 1) */
    bool once;                   /* drain the queue and exit (cron, tests) */
    double lease_sec;            /* a job's lease, renewed every third of it (default 60) */
    int max_retries;             /* retries of a failing stage before `error` (default 3) */
    double backoff_sec;          /* the first retry's delay, doubled each time (default 30) */
    double max_load;             /* pause while the 1-minute load average is above (default
                                    2 x cores; 0 never pauses) */
    char window[16];             /* "HH:MM-HH:MM": process only then (default: always) */
    char tz[64];                 /* the window's time zone (default: the system's) */
    char cpus[128];              /* CPUs to run on, "0-1,3" (default: all) */
    bool idle;                   /* SCHED_IDLE and the idle I/O class (default true) */
    double min_length_sec;       /* calls shorter than this are skipped (default 0: the
                                    ingest's rule decides) */
    double analysis_timeout_sec; /* an analysis child is killed past it (default 900) */
    char recordings_dir[1024];   /* relative audio paths resolve under it */
    cfg_settings svc;            /* recording servers, fetch limits, tmp_dir, the analysis */
    unsigned analyzers;          /* CQ_AN_* of --only; 0: the engine's default */
    double stop_grace_sec;       /* on SIGTERM, running calls get this long to finish before
                                    they are released (default 30) */
    void (*tick)(void *arg);     /* when set, called every turn of the loop (about once a
                                    second): the command's own chores (its sidecars) */
    void *tick_arg;
} pl_worker_config;

void pl_worker_defaults(pl_worker_config *c);

/* Run until SIGTERM/SIGINT (or, with `once`, until nothing is claimable). Returns an exit
 * status: 0, 1 on a store or engine failure, 2 on a bad setting. */
int pl_worker_run(const pl_worker_config *c);

/* Test hooks (cfg_test_hook): when $CALLQA_TEST_KILL_AT names this point, the process kills
 * itself (SIGKILL) right there; when $CALLQA_TEST_STOP_AT does, it stops itself (SIGSTOP) there,
 * the first time. The store's commits have points too: "commit:LABEL" (store.c). */
void pl_kill_point(const char *name);

/* ---- production safety (safety.c) ------------------------------------------------------------ */

/* SCHED_IDLE (else nice 19) and the idle I/O class; the CPU list when not empty. What was set
 * goes into note (for the log). 0, or -1 with note saying what failed. */
int pl_safety_apply(bool idle, const char *cpus, char *note, size_t n);
/* The 1-minute load average (/proc/loadavg, or the file $CALLQA_TEST_LOADAVG_FILE names). */
double pl_load_avg(void);
/* Inside "HH:MM-HH:MM" (which may wrap midnight) at `when` in zone tz ("" the system's)?
 * An empty window is always inside. -1 when the window is malformed. */
int pl_in_window(const char *window, const char *tz, time_t when);

/* ---- a call as it happens: `callqa live`'s events followed (live_calls.c) ------------------ */

/* The live room's follower of the event file `callqa live --events` writes, as a reader of calls
 * takes it: the calls in progress, those just ended and the latest events, under its lock
 * (src/live/live.h, lv_follow_*, says what each holds and its bounds). */
typedef lv_follow pl_live;
typedef lv_follow_params pl_live_params;
typedef lv_follow_state pl_live_state;
typedef lv_follow_call pl_live_call;
typedef lv_follow_event pl_live_event;
#define PL_LIVE_MAX_CALLS LV_FOLLOW_MAX_CALLS
#define PL_LIVE_ENDED LV_FOLLOW_ENDED
#define PL_LIVE_RING LV_FOLLOW_RING
#define PL_LIVE_MAX_LINE LV_FOLLOW_MAX_LINE
#define PL_LIVE_CALL_MAX LV_FOLLOW_CALL_MAX
/* Start following (a thread of its own): NULL when out of memory or no thread started. */
pl_live *pl_live_start(const pl_live_params *p) CQ_NONNULL(1);
/* Stop the thread (waits for it); free after the stop. NULL: no-op. */
void pl_live_stop(pl_live *f);
void pl_live_free(pl_live *f);
/* Call fn with the state, under the follower's lock (keep it short). */
void pl_live_read(pl_live *f, void (*fn)(void *arg, const pl_live_state *st), void *arg)
    CQ_NONNULL(1, 2);
/* Whether s is a call id of the lines; an ISO 8601 UTC "wall" as Unix seconds (-1: not one). */
bool pl_live_call_id(const char *s) CQ_NONNULL(1);
double pl_live_wall_sec(const char *w) CQ_NONNULL(1);

#endif /* CQ_PIPELINE_H */
