/*
 * pl_service.h - the pipeline as the service's routes call it, and nothing more: a request's call
 * through its life (pl_analyse: GET and POST /analyze; pl_investigate_answer: POST /investigate,
 * its LLM's explanation and its stored row), the analyser and the threads that run them, the
 * /ai-analyze assessment made and stored (pl_assess), a transcript imported into the store
 * (pl_tx_import), the masking of an answer, and a call as it happens (the live room's follower
 * of `callqa live`'s events, lv_follow_*, whose header is read through this one: the service
 * reaches the live room through the pipeline only). pipeline.h, the whole room's header for the
 * worker and the command line, includes it.
 *
 * The report is named, never included: no header of the engine (include/callqa/ but cq_status.h,
 * cq_base.h, cq_clock.h; src/engine, stages, dsp, nn) is read through this one, so that the
 * service, which includes it, reads none (tests/arch/check_includes.py reads the compiler's
 * dependency files to hold that). What it includes: the settings, the store, the LLM client
 * (clients/llm.h), the live room's header (its follower).
 */
#ifndef CQ_PL_SERVICE_H
#define CQ_PL_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_status.h"
#include "../clients/llm.h"
#include "../config/config.h"
#include "../live/live.h"
#include "../store/store.h"

struct json_t;
struct cq_report; /* the engine's report (callqa/cq_report.h): named, not read, here */

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

/* ---- masking an answer (redact.c; docs/privacy.md), a call's audio held back (pl_tx_import.c) */

/* Whether any campaign has a type enabled. */
bool pl_redact_any(const cfg_settings *c);
/* The one walk (docs/privacy/pipeline.md, "One walk"), in place, in time linear in the report's
 * size: every keyed digit field (a key ending in "digits", "digit", "in_band", "rfc4733",
 * "sip_info", "sent") as '*'s, its value collected; then every string whatever its key
 * through pv_masker_text with `types` (card, SSN, national id, IBAN of them): the collected
 * digits where they are quoted, keyed-digit runs, written and spoken card numbers and SSNs;
 * identifiers (uniqueids, Call-IDs, timestamps, addresses, URIs) left alone. *masked: the
 * strings changed. 0, or -1 (memory: the report is partly masked and must not be kept). */
int pl_redact_mask_report(struct json_t *report, unsigned types, size_t *masked);
/* The types enabled for any campaign (the `redact` setting's and every campaign's of
 * `redact_campaigns`): what a masker of the service's answers looks for. */
unsigned pl_redact_types(const cfg_settings *c);
/* An audit detail (a query, a question: what a caller typed) as it may be kept: text itself
 * with redaction off or nothing in it to mask; else its masked copy (in *own, to free); ""
 * when memory ran out. */
const char *pl_redact_detail(const cfg_settings *c, const char *text, char **own);
/* Whether a stored call of campaign (NULL or "": none) has its audio held back until its
 * redacted copy is made: its campaign's plan redacts the audio, or the redaction settings cannot
 * make a plan (pl_redact_plan_of refuses them). */
bool pl_redact_audio_pending(const cfg_settings *c, const char *campaign);

/* ---- the LLM's work of the service's routes (pl_assess.c, pl_investigate.c) ------------------ */

/* What the LLM's work of a request needs: the settings (the LLM's daily caps), the store (the
 * LLM's records and budget, the rows stored), the LLM client (NULL: none is configured: the
 * assessment by rules, the explanation from the facts), the stored rows' engine ("ai-rules",
 * or "ai-llm-" and the LLM configuration's hash) and the request's id (its log lines). */
typedef struct pl_ai {
    const cfg_settings *cfg;
    store *st;
    llm_client *llm;
    const char *engine;
    const char *id;
} pl_ai;

/* The LLM client of the routes' work from the settings, and the stored rows' engine: 1 with
 * *llm (pl_ai_client_close frees it) and engine "ai-llm-" and 16 hex digits of the LLM
 * configuration's hash; 0 with *llm NULL and engine "ai-rules" (no LLM configured: the
 * assessment by rules); -1 with msg (LLM settings that cannot work). */
int pl_ai_client_open(const cfg_settings *c, llm_client **llm, char *engine, size_t n, char *msg,
                      size_t msgsz);
/* NULL: nothing. */
void pl_ai_client_close(llm_client *llm);

/* /ai-analyze's assessment of a stored report (docs/service.md): the LLM's text (or the rules'),
 * the model that answered, the engine (its provider's name, or "rules"), the rules' findings. */
typedef struct pl_assessment {
    char *text;              /* ai_analysis (malloc'd) */
    char *model;             /* the model that answered (malloc'd); NULL: the rules' */
    bool has_legs;           /* the report's has_legs */
    char engine[16];         /* the LLM provider that answered, or "rules" */
    struct json_t *findings; /* the rules' findings (a JSON array, owned) */
    struct json_t *left_out; /* what of the report the LLM's prompt left out to fit its
                                context (a JSON object, owned); NULL: nothing */
    bool fallback;           /* the LLM failed (or is at a cap): the rules' text, why says why */
    char why[600];
} pl_assessment;
void pl_assessment_free(pl_assessment *a);

/* The stored assessment of the report stored as (server, file) in row report_id: 1 with *out,
 * or 0 when there is none (or it is of another report, or of another engine). Quick. */
int pl_assess_stored(const pl_ai *ai, const char *server, const char *file, int64_t report_id,
                     pl_assessment *out);
/* The assessment of report (JSON) made now: the rules' findings and text, then, with an LLM,
 * its text from the report held within the model's context (each attempt recorded in the store
 * under "ai-analyze", today's budget); stored as a result row of (server, file, identity
 * "report:<report_id>", ai->engine, source "ai-analyze") unless report_id <= 0 or the LLM
 * failed (the next request asks it again). 0 with *out, or -1 with err (the report could not be
 * assessed: nothing in *out). The LLM is called here: a worker thread only. */
int pl_assess(const pl_ai *ai, const char *server, const char *file, const char *report,
              int64_t report_id, pl_assessment *out, cq_err *err);
/* Whether a stored row is an assessment or an investigation, not a report (GET /calls leaves
 * them out). */
bool pl_assess_is_row(const char *source);

/* A text of an investigation's request as JSON: as it is when UTF-8, else each byte above 0x7f
 * as U+FFFD (the SIP and call_info readers take ASCII; a name in Latin-1 stays readable). NULL
 * when out of memory. */
struct json_t *pl_investigate_text(const char *text, size_t len);

/* POST /investigate's answer (docs/network.md): the stored answer of the same input (its key: a
 * hash of the request's texts and its files' bytes; the program's version; ai->engine), else
 * the request worked out on slot `slot` (pl_investigate: in a child of the host, masked), the
 * LLM's explanation asked for with the facts and kept only when every number and code it cites
 * is in them (the explanation from the facts beside it), and the answer stored unless the LLM
 * failed. res is pl_investigate's: 0 with res.answer (res.bytes: its size, for the caller's
 * trim), or -1 with res's end and err. */
typedef struct pl_inquiry {
    pl_result res;
    bool cached; /* the answer is the store's */
} pl_inquiry;
int pl_investigate_answer(pl_analyser *a, int slot, const pl_ai *ai, const char *request,
                          pl_inquiry *out);

/* ---- a transcript made elsewhere, into the store (pl_tx_import.c; docs/transcription.md) ---- */

/* How an import ended. */
typedef enum pl_tx_end {
    PL_TX_OK = 0,
    PL_TX_STORE,     /* the store failed (reading the call's report, or storing): err's message */
    PL_TX_BAD,       /* the transcript cannot be read (a 400): err's message */
    PL_TX_REDACTION, /* its redaction failed: not stored */
    PL_TX_INTERNAL   /* out of memory, or the block not as the store keeps it */
} pl_tx_end;

/* What an import stored. */
typedef struct pl_tx_imported {
    pl_tx_end end;
    cq_err err;
    char *block; /* the transcript block as stored (JSON, malloc'd) */
    size_t words, turns, flagged_words, dropped_words;
    double rate;     /* the hallucination guard's rate, -1 unknown */
    bool unchecked;  /* not checked against an analysis (the call has none) */
    size_t redacted; /* entities redacted (its campaign's redaction) */
} pl_tx_imported;
/* The transcript text[0..len) of stored call call_id (callqa's segments with speakers, or
 * OpenAI's verbose_json with `speaker` naming the whole file's speaker; NULL: none) checked
 * against the call's stored analysis (its speech) when there is one, redacted as its campaign
 * asks, and stored in place of any earlier one. 0 with out->block, or -1 with out->end and
 * out->err. The same for `callqa transcript import` and POST /api/qa/call/{id}/transcript. */
int pl_tx_import(const cfg_settings *c, store *st, int64_t call_id, const char *text, size_t len,
                 const char *speaker, pl_tx_imported *out);
void pl_tx_imported_free(pl_tx_imported *x);

/* ---- routes (pl_routes.c) ------------------------------------------------------------------- */

struct store_route_change;
/* A change found on a route as the API and the webhook name it (a new JSON object): figure,
 * direction, since and found (ISO 8601 UTC), before, after, size, calls, method, examples. */
struct json_t *pl_route_change_object(const struct store_route_change *c);

#endif /* CQ_PL_SERVICE_H */
