/*
 * jobs.h - the QA worker: it claims jobs from the store, analyses each call in a child process
 * (src/proc/), transcribes and scores it when that is configured (and passes those stages when
 * not), and writes every result under its lease; and the production safety that keeps it from
 * hurting live calls on a dialer box (idle scheduling, a CPU set, a load ceiling, a processing
 * window). docs/pipeline.md.
 *
 * It calls the engine (its public API: the analysis, in the child), the clients (recording.h:
 * the call's audio opened or fetched; asr.h: the transcription; llm.h: scoring's LLM
 * categories), scoring, the transcript module (the transcript block as JSON), the network room
 * (a capture beside the recording: network.c), the store, proc
 * and the settings (config.h, cfg_engine.h), with jansson. It is on floor 8, above every room it
 * joins: the pipeline's order and its leases live here. The service reuses its transcript
 * import (qa_stored_tx), the command line that and its scoring (qa_scoring_setup).
 */
#ifndef CQ_JOBS_H
#define CQ_JOBS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "callqa/callqa.h"
#include "../clients/llm.h"
#include "../scoring/scoring.h"
#include "../clients/recording.h"
#include "../config/config.h"
#include "../privacy/privacy.h"
#include "../store/store_calls.h"

typedef struct qa_worker_config {
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
} qa_worker_config;

void qa_worker_defaults(qa_worker_config *c);

/* A call's capture beside its recording (network.c): 1 with *out the investigation's answer for
 * the report's `network` key and f's network MOS and model set; 0 when there is none; -1 with
 * why when it is there but cannot be opened or read. */
struct json_t;
int qa_network_of(const rec_roots *roots, const char *rec_path, const store_call *call,
                  const cq_report *rep, store_figures *f, struct json_t **out, char *why, size_t n);

/* A recording's path without its extension (and, with `legs`, without a ViciDial leg's -in,
 * -out or -all), into base[n]: what files beside it are named from. 0, or -1 when there is no
 * name or it is too long. */
int qa_rec_base(const char *rec, bool legs, char *base, size_t n);
/* The capture paths beside a recording (base.pcap, base.pcapng): 2, or 0 for none. */
int qa_capture_paths(const char *rec, char out[2][4200]);

/* The live events beside a recording that `callqa live --record-dir` wrote (live_kept.c):
 * 1 with *out the report's `live` key (the lines, the decisions, the call_end, and the
 * classifier's events held against the batch analysis's: `agreement`), digits masked when
 * `mask`; 0 when there are none; -1 with why when they are there but cannot be read (or are
 * still being written). */
int qa_live_of(const rec_roots *roots, const char *rec_path, const cq_report *rep, bool mask,
               struct json_t **out, char *why, size_t n);
/* The lines of a live events file (text[0..len], text[len] writable, changed in place) as the
 * report's `live` key named `file`, held against rep; NULL when out of memory. */
struct json_t *qa_live_parse(char *text, size_t len, const char *file, const cq_report *rep,
                             bool mask);
/* Every digit, # and A-D of s as '*' (the keyed digits of a report, redact.c). */
void qa_redact_mask_str(char *s);
/* base.live.jsonl for a recording base.EXT: 0, or -1 when the name is too long. */
int qa_live_path(const char *rec, char *out, size_t n);

/* Run until SIGTERM/SIGINT (or, with `once`, until nothing is claimable). Returns an exit
 * status: 0, 1 on a store or engine failure, 2 on a bad setting. */
int qa_worker_run(const qa_worker_config *c);

/* The queryable figures of a report (store_figures). */
void qa_figures_of(const cq_report *r, store_figures *f);

/* ---- redaction (redact.c; docs/privacy.md) ------------------------------------------------ */

/* What is removed from one call: its campaign's types, the audio copy's mode, the DTMF marks. */
#define QA_MAX_MARKS 32
typedef struct qa_redact_plan {
    bool on; /* a type is enabled for the call's campaign */
    pv_settings pv;
    int audio; /* 0 off, 1 mute, 2 tone (the redact_audio setting; 0 when not on) */
    char pause[17], resume[17];
    /* pause and resume marks sent for the call (POST /api/qa/marks), on the recording's clock */
    int n_marks;
    double mark_sec[QA_MAX_MARKS];
    bool mark_pause[QA_MAX_MARKS];
    const char *marks_unplaced; /* non-NULL: marks that could not be placed, and why */
} qa_redact_plan;

/* The redaction settings checked (the types' names, the campaigns' map, the DTMF codes): 0, or
 * -1 with err naming the setting. */
int qa_redact_check(const cfg_settings *c, char *err, size_t n);
/* Whether any campaign has a type enabled. */
bool qa_redact_any(const cfg_settings *c);
/* The plan for a call of campaign (NULL or "": the `redact` setting alone). 0, or -1 on
 * settings qa_redact_check refuses. */
int qa_redact_plan_of(const cfg_settings *c, const char *campaign, qa_redact_plan *p);
/* The folder of the redacted copies: redact_dir, else redacted/ beside the store db. */
void qa_redact_dir(const cfg_settings *c, const char *db, char *out, size_t n);
/* The one walk (docs/privacy.md, "One walk"), in place, in time linear in the report's size:
 * every keyed digit field (a key ending in "digits", "digit", "in_band", "rfc4733",
 * "sip_info", "sent") as '*'s, its value collected; then every string whatever its key
 * through pv_masker_text with `types` (card, SSN, national id, IBAN of them): the collected
 * digits where they are quoted, keyed-digit runs, written and spoken card numbers and SSNs;
 * identifiers (uniqueids, Call-IDs, timestamps, addresses, URIs) left alone. *masked: the
 * strings changed. 0, or -1 (memory: the report is partly masked and must not be kept). */
int qa_redact_mask_report(struct json_t *report, unsigned types, size_t *masked);
/* The types enabled for any campaign (the `redact` setting's and every campaign's of
 * `redact_campaigns`): what a masker of the service's answers looks for. */
unsigned qa_redact_types(const cfg_settings *c);
/* An audit detail (a query, a question: what a caller typed) as it may be kept: text itself
 * with redaction off or nothing in it to mask; else its masked copy (in *own, to free); ""
 * when memory ran out. */
const char *qa_redact_detail(const cfg_settings *c, const char *text, char **own);

/* An imported transcript of a stored call redacted as its campaign asks (the call's campaign
 * read from st): 1 redacted (*hits entities), 0 its campaign is not redacted, -1 with err (the
 * store, or memory: t must not be stored). The audio copy is not redone. */
int qa_redact_transcript_of(const cfg_settings *c, store *st, int64_t call_id, tx_transcript *t,
                            size_t *hits, char *err, size_t n);

/* A call stored before redaction was turned on, redacted now (callqa store redact): its
 * transcript (when it holds something to redact), the keyed digits of its report (with a
 * `redaction` object saying so), the strings of its score's detail (quotes, reasons). Its audio
 * copy is not made here (the call analysed again makes it). */
typedef struct qa_stored_redaction {
    bool redacted;                  /* its campaign is redacted */
    bool transcript, report, score; /* rewritten (or would be: dry) */
    size_t counts[PV_N_TYPES];      /* entities in the transcript and the score */
    size_t digits;                  /* report fields masked */
} qa_stored_redaction;
/* 1 done (or shown, dry), 0 its campaign is not redacted, -1 with err. */
int qa_redact_stored(const cfg_settings *c, store *st, int64_t call_id, bool dry,
                     qa_stored_redaction *out, char *err, size_t n);

typedef struct qa_redact_result {
    char state[8];    /* "ok", or "failed": held back from playback */
    char audio[1100]; /* the redacted copy, "" when none was written */
} qa_redact_result;
/* A redacted call's capture beside its recording (rec_path), when it lies in callqa's upload
 * folder: deleted, for its RTP holds the call's audio unredacted. 1 deleted, 0 none there (or
 * the dialer's, never touched), -1 with why. */
int qa_redact_capture(const cfg_settings *c, const char *rec_path, char *why, size_t n);

/* A call's redaction after its analysis and transcript (in the analysis child): the audio copy
 * written under redact_dir (beside db when unset) and verified, the transcript (tx, already
 * redacted, with tr its spans; tx NULL without a transcript) scanned again. Returns the report's
 * `redaction` object (NULL when out of memory) and *res. */
struct json_t *qa_redact_call(const qa_redact_plan *p, const cfg_settings *c, const char *db,
                              int64_t call_id, const cq_call_src *src, const cq_report *rep,
                              const tx_transcript *tx, const pv_redaction *tr, size_t digits_masked,
                              qa_redact_result *res);

/* ---- transcripts into the store (stored_tx.c) --------------------------------------------- */

/* A transcript block (JSON) as the store keeps it; the pointers in `t` are into the block and
 * the buffers here, valid until qa_stored_tx_free. */
typedef struct qa_stored_tx {
    store_transcript t;
    store_tx_segment *segs;
    char *text, *detail;
    void *json; /* the parsed block (jansson) */
} qa_stored_tx;

/* 0, or -1 with err (not a JSON object, out of memory). */
int qa_stored_tx_from_json(const char *detail, const char *config_hash, int64_t call_id,
                           qa_stored_tx *out, char *err, size_t errsz);
void qa_stored_tx_free(qa_stored_tx *x);

/* ---- the scoring stage (scored.c, docs/scoring.md) ----------------------------------------- */

typedef struct qa_scoring {
    bool on;           /* the `scoring` setting */
    sc_card card;      /* the configured card, or the shipped default */
    sc_topics *topics; /* NULL without a topics_file */
    bool llm_on;       /* an LLM is configured (llm_provider) */
    llm_config llm;
    char llm_hash[65]; /* llm_config_hash, stored with each result */
    sc_vader *vader;   /* VADER's lexicon from the model directory, or NULL: vader_why says why */
    char vader_why[400];
} qa_scoring;

/* The card, topics and LLM of the settings, loaded and checked (a bad card or topics file, LLM
 * settings that cannot work, a key file that cannot be read: -1 with err, and the worker does
 * not start). Scoring off: 0 with on false. VADER's lexicon is read from the model directory
 * (model_dir, else $CALLQA_MODEL_DIR or the default) when it is there: a missing or bad one
 * leaves the sentiment null with vader_why, and the worker starts. */
int qa_scoring_setup(const cfg_settings *c, qa_scoring *out, char *err, size_t errsz);
void qa_scoring_free(qa_scoring *s);

/* A call scored from its words (NULL: no transcript) and report (JSON, or NULL): rules and
 * acoustics, then the LLM's categories when one is configured (budget: today's use; each
 * attempt is appended to *attempts, a JSON array text (malloc'd) for store_llm_record, when
 * attempts is not NULL). An LLM that fails, refuses or is at a cap leaves its categories "not
 * scored: <why>": the call is still scored. The result's JSON (malloc'd), or NULL with why. */
char *qa_score_text(const qa_scoring *s, const char *report_json, const sc_text *text,
                    const llm_budget *budget, char **attempts, char *why, size_t n);

/* Which source gives the call's summary and sentiment (sources.c, the one place this is
 * chosen). qa_summary_choose: the LLM's checked summary when it passed, else the deterministic
 * assessment of the report (none without a report); 0, or -1 with why (the report could not be
 * assessed: no summary). qa_sentiment_choose: the LLM's figures when at least one passed its
 * checks, else lexicon's (taken over; NULL or not present: none) into call->sentiment. */
int qa_summary_choose(const char *report_json, sc_call *call, char *why, size_t n);
int qa_sentiment_choose(sc_call *call, const sc_text *t);

/* The same from the transcript block (NULL: none), as the worker's child has it. */
char *qa_score_call(const qa_scoring *s, const char *report_json, const char *tx_block,
                    const llm_budget *budget, char **attempts, char *why, size_t n);

/* Each attempt of *attempts (qa_score_text's JSON array; NULL or "": none) recorded with
 * store_llm_record for call (<= 0: none) and purpose. 0, or -1 when one was refused. */
int qa_record_llm(store *st, int64_t call, const char *purpose, const char *attempts);

/* A result (JSON) as the store keeps it; the pointers in `s` are into the parsed result and
 * the buffers here, valid until qa_stored_score_free. */
typedef struct qa_stored_score {
    store_score s;
    char *strengths, *improvements;
    void *json;
} qa_stored_score;

int qa_stored_score_from_json(const char *detail, qa_stored_score *out, char *err, size_t errsz);
void qa_stored_score_free(qa_stored_score *x);

/* ---- roles of a diarized mix, agents' voice profiles (roles.c) ----------------------------- */

/* The least voiced speech (the print's speech_sec) of an agent leg whose print is added to the
 * agent's profile, s: an 8 s P.862 recording has about 2 s. */
#define QA_PROFILE_MIN_SPEECH_SEC 3.0

/* Is campaign one of voice_profile_campaigns (agents' voice profiles on)? */
bool qa_profile_campaign(const cfg_settings *c, const char *campaign);

/* A transcript speaker's label under the roles decided: "S1"/"S2" become "agent" or "customer"
 * when that speaker's role is decided, and stay as they are otherwise (any other label too). */
const char *qa_roles_speaker_label(const sc_roles *r, const char *speaker);
/* Every speaker label of a transcript block (legs' role, segments' and turns' speaker) mapped
 * by qa_roles_speaker_label, in place. */
void qa_roles_label_transcript(struct json_t *tx, const sc_roles *r);

/* The roles of a mono mix with two diarized speakers (the report's speakers[]): each speaker's
 * words from the transcript block tx (NULL: none; a segment labelled S1/S2 is that speaker's,
 * else the speaker whose diarized speech it overlaps most), its similarity to prof (NULL: no
 * profile; needs the speakers' prints in the report), the call's direction, the answer time
 * (call_events.time_to_answer_sec). Sets the report's `roles`, and labels tx's S1/S2 by them.
 * 1 done, 0 not a two-speaker mix (nothing changed), -1 out of memory. */
int qa_roles_of_call(struct json_t *report, struct json_t *tx, const store_call *call,
                     const store_voice_profile *prof, sc_roles *out);

/* The agent leg's voice print of a two-leg call (the leg whose role is agent) into v (*dim
 * numbers) and *speech_sec: 1, or 0 when the report has none. strip: every print is taken out
 * of the report too (legs' `voiceprint` removed, speakers' set to null). */
int qa_voiceprint_take(struct json_t *report, bool strip, double *v, int *dim, double *speech_sec);

/* Test hooks: when $CALLQA_TEST_KILL_AT names this point, the process kills itself (SIGKILL)
 * right there; when $CALLQA_TEST_STOP_AT does, it stops itself (SIGSTOP) there, the first time.
 * The store's commits have points too: "commit:LABEL" (store.c). */
void qa_kill_point(const char *name);

/* ---- production safety (safety.c) --------------------------------------------------------- */

/* SCHED_IDLE (else nice 19) and the idle I/O class; the CPU list when not empty. What was set
 * goes into note (for the log). 0, or -1 with note saying what failed. */
int qa_safety_apply(bool idle, const char *cpus, char *note, size_t n);
/* The 1-minute load average (/proc/loadavg, or the file $CALLQA_TEST_LOADAVG_FILE names). */
double qa_load_avg(void);
/* Inside "HH:MM-HH:MM" (which may wrap midnight) at `when` in zone tz ("" the system's)?
 * An empty window is always inside. -1 when the window is malformed. */
int qa_in_window(const char *window, const char *tz, time_t when);

#endif /* CQ_JOBS_H */
