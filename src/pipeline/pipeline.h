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
 *   and before all of it, a call as it happens: `callqa live`'s events followed (the live
 *   room's follower, read by the service through pl_service.h)
 *
 * It calls the engine (its public API, in the children only: the engine's header is read by
 * this room's files, not through this header, so that the service, which includes this one,
 * reads no engine header), the clients (recording.h: the call's audio opened or fetched;
 * asr.h: the transcription; llm.h: scoring's LLM categories), scoring, the transcript and
 * privacy rooms, the network room (a capture beside the recording; an investigation), the
 * store, proc (every child), the live room (its header, for the follower of `callqa live`'s
 * events the service reads through pl_service.h) and the settings, with jansson. It is on floor 9,
 * above every room it joins and below the service and the command line, which use it.
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

/* ---- what the service's routes call: its own header (pl_service.h) -------------------------- */

/* A request's source and its life (pl_analyse, pl_investigate), the analyser, the service's
 * threads, the masking of an answer, the LLM's work of the routes (/ai-analyze's assessment,
 * /investigate's explanation and stored row), a transcript's import, and the live room's
 * follower: declared there, so that the service reads no header of the engine. */
#include "pl_service.h"

struct json_t;

/* ---- 0-2. a request's source, the analyser, the service's threads: pl_service.h ---------- */

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
/* The plan for a call of campaign (NULL or "": the `redact` setting alone). 0, or -1 on
 * settings pl_redact_check refuses. */
int pl_redact_plan_of(const cfg_settings *c, const char *campaign, pl_redact_plan *p);
/* The folder of the redacted copies: redact_dir, else redacted/ beside the store db. */
void pl_redact_dir(const cfg_settings *c, const char *db, char *out, size_t n);
/* The one masking path of a call's report or answer (docs/privacy/pipeline.md, "One walk"), whoever
 * asked for it: plan is the call's (the worker's call: its campaign's plan, pl_redact_plan_of),
 * or NULL for a request that names no campaign (GET and POST /analyze, /investigate: the types
 * of every campaign, pl_redact_types). The walk (pl_redact_mask_report) runs when that plan
 * has a type on. 1 masked (*masked: the strings changed; may be NULL), 0 nothing to mask for
 * this call, -1 out of memory (the report is partly masked and must not be kept). */
int pl_mask_report(const cfg_settings *c, const pl_redact_plan *plan, struct json_t *report,
                   size_t *masked);

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

/* A call scored from its words (NULL: no transcript) and report (parsed, or NULL): rules and
 * acoustics, then the LLM's categories when one is configured (budget: today's use; each
 * attempt is appended to *attempts, a JSON array text (malloc'd) for store_llm_record, when
 * attempts is not NULL). An LLM that fails, refuses or is at a cap leaves its categories "not
 * scored: <why>": the call is still scored. The result's JSON (malloc'd), or NULL with why. */
char *pl_score_text(const pl_scoring *s, const struct json_t *report, const sc_text *text,
                    const llm_budget *budget, char **attempts, char *why, size_t n);

/* Which source gives the call's summary and sentiment (sources.c, the one place this is
 * chosen). pl_summary_choose: the LLM's checked summary when it passed, else the deterministic
 * assessment of the report (none without a report); 0, or -1 with why (the report could not be
 * assessed: no summary). pl_sentiment_choose: the LLM's figures when at least one passed its
 * checks, else lexicon's (taken over; NULL or not present: none) into call->sentiment. */
int pl_summary_choose(const struct json_t *report, sc_call *call, char *why, size_t n);
int pl_sentiment_choose(sc_call *call, const sc_text *t);

/* The same from the transcript block (NULL: none), as a call's life has it: the report as its
 * one object (NULL: none). */
char *pl_score_call(const pl_scoring *s, const struct json_t *report, const char *tx_block,
                    const llm_budget *budget, char **attempts, char *why, size_t n);

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

/* ---- what changed on each route (pl_routes.c, docs/routes.md) ------------------------------ */

typedef struct pl_routes_stats {
    int routes;      /* routes read */
    int series;      /* figures tested (a route's figure with values) */
    int changes;     /* changes found */
    int new_changes; /* of them, not stored before (each is stored once) */
} pl_routes_stats;
struct store_route_change;
typedef void (*pl_route_change_fn)(void *user, const struct store_route_change *c);
/* Every route's figures through the change test (src/fleet), from its first hour (400 days at
 * most), each change stored with its worst calls; on_new (may be NULL) is told of each change
 * stored for the first time. 0, or -1 with why. */
int pl_routes_scan(store *s, double now, pl_route_change_fn on_new, void *user, pl_routes_stats *st,
                   char *why, size_t n);
/* A change as a webhook event's body (JSON, malloc'd): {"event": "route_change", ...}. */
char *pl_route_change_json(const struct store_route_change *c);
/* The figures' names ("mos", "loss", "one_way", ...; NULL past the last) and which way is worse:
 * +1 up, -1 down, 0 not a figure. */
const char *pl_route_figure_name(int f);
int pl_route_figure_worse(const char *name);

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

#endif /* CQ_PIPELINE_H */
