/*
 * stage.h - the analyzer stages of the engine: one descriptor per analyzer, one table of them.
 * Internal to the library (docs/tour/engine.md, "Adding an analyzer").
 *
 * DESIGN
 * The engine knows no analyzer by name. It decodes a call's legs in blocks and offers each block
 * on three streams: the leg's native rate, and shared 8 kHz and 16 kHz streams (made with libsoxr
 * once per leg, only when a selected stage reads them). A stage declares the stream it reads,
 * whether it keeps one state per leg or one for the whole call (two-leg stages see both legs'
 * audio), and which stages it needs (selected with it and run before it) or uses when they ran.
 * Everything a stage computes goes into the report (cq_report): the report is also where later
 * stages read earlier ones' results, while the audio streams in (the VAD's probabilities) and
 * once a leg ended (its speech segments).
 *
 * Per call, for each selected stage in table order:
 *   prepare(r)                                   once, before any audio
 *   create(state) ... push(state, leg, block)... finish(state, leg, r)   per leg, or per call
 *   summarize(r)                                 once every leg (and call state) finished
 *   destroy(state)
 * The report's renderers then ask every stage, selected or not, for its JSON fields (null when it
 * did not run) and its lines of text; cq_report_destroy asks it to free what it put there.
 *
 * ROOM
 * src/stages/ is one file per stage, the table (stages.c) and what the stages share (the report's
 * helpers in stage_report.c, the models in stage_model.c, the windows in stage_window.c). A stage
 * calls its analyzer through the public API: dsp's (cq_level.h, cq_silence.h, cq_speech.h,
 * cq_quality.h, cq_classify.h, cq_xleg.h), nn's (cq_vad.h, cq_nisqa.h) and call's
 * (cq_conversation.h); speech_audio.c is itself the code behind cq_speech_audio.h. It calls base
 * too, with jansson for the renderers. It is on floor 3, above the analyzers it wraps and below the
 * engine, which walks the table and owns struct cq_engine, declared here so that the stages can
 * read its parameters and the models they load into it.
 */
#ifndef CQ_STAGE_H
#define CQ_STAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/callqa.h"

/* The VAD's stream (vad.c): 8 kHz, as the reference pipeline; its probabilities in the leg
 * report are per chunk of l->vad_chunk samples of it. */
#define CQ__VAD_RATE 8000

/* The engine's object as the stages see it: the parameters they read, and the models the
 * stages that need one load into it at cq_engine_create (src/engine/engine.c, above them, owns
 * and frees it). */
struct cq_engine {
    cq_engine_params p; /* p.analyzers: the selection with every stage it needs */
    char *model_dir;    /* copies of the strings p points to */
    char *vad_model_name;
    char *tmp_dir;
    cq_vad_model *vad;       /* NULL: the VAD runs its DSP fallback */
    char *vad_status;        /* why, when vad is NULL and the VAD is selected */
    cq_nisqa_model *nisqa;   /* NULL: no NISQA scores */
    char *nisqa_status;      /* why, when nisqa is NULL and NISQA is selected */
    cq_dnsmos_model *dnsmos; /* NULL: no DNSMOS scores */
    char *dnsmos_status;     /* why, when dnsmos is NULL and DNSMOS is selected */
};

/* The audio a stage reads. */
typedef enum cq__stream {
    CQ__STREAM_NONE = 0, /* none: it works on other stages' results */
    CQ__STREAM_NATIVE,   /* the leg at its own rate */
    CQ__STREAM_8K,       /* the leg resampled to 8 kHz (as is when it is 8 kHz) */
    CQ__STREAM_16K       /* the leg resampled to 16 kHz */
} cq__stream;
#define CQ__N_STREAMS 4

/* What a stage's state is created with. */
typedef struct cq__stage_ctx {
    const cq_engine *engine;   /* parameters and loaded models (struct cq_engine) */
    cq_report *report;         /* the report being filled (legs exist, results not yet) */
    int leg;                   /* per-leg state: 0 inbound, 1 outbound; per call: -1 */
    const cq_audio_info *info; /* per leg: the leg's source format */
    int rate_hz;               /* the rate of the stream the stage reads (per leg) */
    size_t max_block;          /* the largest push the state will get, in samples */
} cq__stage_ctx;

/* Rows of the text report's leg table: one label, one cell per leg. */
/* The text report being written: its buffer, and whether it has two leg columns. */
typedef struct cq__text {
    cq__sb *b;
    int n_legs;
} cq__text;
void cq__text_row(cq__text *t, const char *label, const char *cell[2]);
/* A stage's rows of the leg table, when the stage (its bit) was selected: the labels of rows[]
 * (NULL after the last, at most CQ__TEXT_ROWS), each followed by one cell a leg; cells(l, c)
 * writes leg l's cell of row k into c[k] (CQ__TEXT_CELL bytes, empty before). */
#define CQ__TEXT_ROWS 8
#define CQ__TEXT_CELL 64
void cq__text_leg_rows(const cq_report *r, cq__text *t, unsigned bit, const char *const rows[],
                       void (*cells)(const cq_leg_report *l, char c[][CQ__TEXT_CELL]));

typedef struct cq__stage {
    const char *name;  /* `--only` name, engine.analyzers[], the docs */
    unsigned bit;      /* its selection bit (CQ_AN_*) */
    unsigned needs;    /* stages it cannot run without: selected with it, run before it */
    unsigned uses;     /* stages whose results it reads when they ran (run before it) */
    bool on_request;   /* left out of the default selection */
    cq__stream stream; /* the audio it reads */
    /* the audio it reads with this engine, when that depends on the parameters (optional; e.g.
     * `dnsmos` reads the native rate in reference mode, to resample it as SoX does) */
    cq__stream (*stream_for)(const cq_engine *e);
    bool per_call; /* one state for the call, pushed both legs' audio; else one per leg */

    /* a stage backed by a model file (optional; stage_model.c): the engine unloads its model,
     * copies the model's identity, or the status saying why it is not loaded, into each report
     * before the stage's prepare, and frees that copy with the report */
    const struct cq__stage_model *model;
    /* model loading, once per engine (optional): CQ_OK also when the model is missing (the
     * stage then states why in the report); the engine unloads it (model) */
    int (*load)(cq_engine *e);
    /* true when the selected stage will read no audio with this engine (optional; e.g. its
     * model is missing): the engine then makes no stream for it (no resampling) */
    bool (*idle)(const cq_engine *e);
    /* before any audio of a call (optional): fill what the report states about this stage */
    int (*prepare)(const cq_engine *e, cq_report *r);
    /* the state (optional for stages without a stream): CQ_OK with *st set */
    int (*create)(void **st, const cq__stage_ctx *c);
    int (*push)(void *st, int leg, const float *x, size_t n, cq_report *r);
    /* a leg's audio ended (per-leg state), or every leg's did (per-call state, leg = -1):
     * move the results into the report */
    int (*finish)(void *st, int leg, cq_report *r);
    void (*destroy)(void *st);
    /* after every leg and call state finished (optional): call-level figures */
    int (*summarize)(const cq_engine *e, cq_report *r);
    /* free what the stage put into the report (optional) */
    void (*free_leg)(cq_leg_report *l);
    void (*free_call)(cq_report *r);

    /* rendering: called for every stage, selected or not (emit null when it did not run) */
    void (*json_leg)(const cq_report *r, const cq_leg_report *l, int leg, json_t *o);
    void (*json_call)(const cq_report *r, json_t *o);
    void (*json_engine)(const cq_report *r, json_t *eng);
    void (*text_rows)(const cq_report *r, cq__text *t);  /* rows of the leg table */
    void (*text_section)(const cq_report *r, cq__sb *b); /* lines after the table */
} cq__stage;

/* The table, in execution order. */
/* A model's message without the server's folders: every "MODEL_DIR/" in msg dropped, so that it
 * names a model's file within the model directory only (a report and the service's /health
 * answer name no server path). Allocated; NULL on failure. */
char *cq__model_msg(const char *model_dir, const char *msg);
size_t cq__stage_count(void);
const cq__stage *cq__stage_at(size_t i);
/* A stage's position in the table: its slot in cq_leg_report.stage_data and cq_report.stage_data
 * for results without a field of their own. */
size_t cq__stage_slot(const cq__stage *s);
/* Every known bit, and the default selection (all but the on-request stages). */
unsigned cq__stages_known(void);
unsigned cq__stages_default(void);
/* A selection with every `needs` added, transitively. */
unsigned cq__stages_close(unsigned bits);

/* ---- helpers for the stages' renderers (report.c) ------------------------------------------ */

/* A number rounded to `decimals` places; null when not finite. */
json_t *cq__jnum(double v, int decimals);
json_t *cq__jnum_or_null(bool has, double v, int decimals);
json_t *cq__jstr(const char *s);                     /* a string, or null for NULL */
json_t *cq__jspan(double start_sec, double end_sec); /* {start, end}, ms precision */
/* {start, end} to `decimals` places: a model's window (NISQA's, DNSMOS's), its scores added after.
 */
json_t *cq__jspan_to(double start_sec, double end_sec, int decimals);
const char *cq__leg_name(int leg); /* "inbound", "outbound" */
/* The legs of a report as an array: L[0] inbound, L[1] outbound (NULL for a mono mix). */
int cq__report_legs(const cq_report *r, const cq_leg_report *L[2]);

/* A warning into the report: its code, a sentence, and the figures in it (see cq_report.h). */
int cq__warn(cq_report *r, const char *code, const cq_value *values, size_t n_values,
             const char *fmt, ...) CQ__PRINTF(5, 6);

/* ---- the model stages' windows (vad.c, nisqa.c, dnsmos.c, speech_audio.c): stage_window.c -- */

/* Seconds of the leg's speech segments (the VAD's) inside [a, b): how much a quality model's
 * window weighs (NISQA's and DNSMOS's windowed modes). */
double cq__speech_in(const cq_leg_report *l, double a, double b);
/* Silero's end-of-speech threshold of p (neg_threshold, or its default from threshold), and how
 * far a speech segment reaches from a chunk at or over it: the padding plus the shortest pause
 * that ends a segment, and 100 ms more, in ms (speech_audio.c keeps audio that near, stage_nisqa.c
 * lets windows further go). */
double cq__speech_neg(const cq_speech_params *p);
int cq__speech_reach_ms(const cq_speech_params *p);

/* A leg's scores from its windows in a quality model's windowed mode (nisqa.c, dnsmos.c): the
 * mean of the scored windows, each weighted by the seconds of VAD speech in its span; when no
 * window holds speech (or the VAD did not run) each weighs 1, a plain mean ("uniform"). A window
 * not scored (let go: no speech in it) counts for nothing. Started with the speech of every
 * window, then given each scored window's scores, in order. */
#define CQ__WINDOW_SCORES 8
typedef struct cq__window_mean {
    bool uniform;                  /* no window holds speech: each weighs 1 */
    double sum[CQ__WINDOW_SCORES]; /* the weighted scores */
    double weight;                 /* their weights' sum */
} cq__window_mean;
void cq__window_mean_start(cq__window_mean *m, double speech_sec);
/* A scored window of speech_sec seconds of speech, with k (at most CQ__WINDOW_SCORES) scores. */
void cq__window_mean_add(cq__window_mean *m, double speech_sec, const double *score, int k);
/* The mean of score j. */
double cq__window_mean_of(const cq__window_mean *m, int j);

/* ---- stages backed by a model file (vad.c, stage_nisqa.c, stage_dnsmos.c): stage_model.c - */

/* The engine's models, one a model-backed stage: which of struct cq_engine's models and
 * statuses a cq__stage_model loads into, with which loader (stage_model.c). */
typedef enum cq__model_kind {
    CQ__MODEL_VAD,   /* e->vad, e->vad_status: cq_vad_model_load */
    CQ__MODEL_NISQA, /* e->nisqa, e->nisqa_status: cq_nisqa_model_load */
    CQ__MODEL_DNSMOS /* e->dnsmos, e->dnsmos_status: cq_dnsmos_model_load */
} cq__model_kind;

/* A stage's model: which of the engine's it is, and the words of the status that says why the
 * stage runs without it (its figures null, or the VAD's from its DSP fallback). The status is the
 * engine's (vad_status, nisqa_status, dnsmos_status: cq_engine_*_status, the service's /health),
 * copied into each report by the stage's prepare. A missing model's status is "<name> model not
 * installed (<file> in the model directory): <without><install>", a rejected one's "<name> model
 * rejected: <the loader's reason>; <without>". */
typedef struct cq__stage_model {
    cq__model_kind kind;
    const char *name;    /* "Silero VAD", "NISQA", "DNSMOS" */
    const char *no_dir;  /* the whole status when the engine has no model directory */
    const char *without; /* what the stage gives without it: "its scores are null" */
    const char *install; /* after a missing model's status: how it is installed */
    /* a missing model's status names what the loader found missing (its model is a folder of
     * files) instead of <file>: "(in the model directory: <the loader's reason>)" */
    bool names_missing;
    bool log; /* a model that did not load is logged too, with the whole path */
} cq__stage_model;

/* Load the model `file` (a path within the engine's model directory) into the engine: its model
 * (e->vad, e->nisqa or e->dnsmos, as m->kind says), or NULL with its status saying why. CQ_OK
 * also when it is missing or rejected; CQ_ERR_NOMEM. */
int cq__stage_model_load(cq_engine *e, const cq__stage_model *m, const char *file);
/* Free what cq__stage_model_load kept (the model may be NULL); both are NULL after. */
void cq__stage_model_unload(cq_engine *e, const cq__stage_model *m);
/* Before any audio of a call: the report's copy of the engine's model, its identity (vad_engine,
 * vad_version and vad_sha256; nisqa_loaded and nisqa_sha256; dnsmos_loaded and dnsmos_sha256[])
 * when it is loaded, else the engine's status saying why not. CQ_OK, or CQ_ERR_NOMEM. */
int cq__stage_model_prepare(const cq_engine *e, const cq__stage_model *m, cq_report *r);
/* Free the report's copy of the status (cq_report_destroy). */
void cq__stage_model_free_call(cq_report *r, const cq__stage_model *m);
/* A leg's note when the model gave it no scores (rc is not CQ_OK): too_large when rc is
 * CQ_ERR_TOO_LARGE and too_large is not NULL (the leg is past the stage's limit), else "<name>
 * failed: <rc's words>". CQ_OK, or CQ_ERR_NOMEM. */
int cq__stage_model_leg_note(char **note, const cq__stage_model *m, int rc, const char *too_large);
/* The report text of a model stage that did not run with its model: nothing when it was not
 * selected, else the line `without` (a format of one %s: the report's status). True when that is
 * all the stage writes; false when it ran with its model and writes its own line. */
bool cq__stage_model_text(const cq_report *r, const cq__stage_model *m, cq__sb *b,
                          const char *without) CQ__PRINTF(4, 0);
/* *dst = a copy of text (a stage's status, a leg's note): CQ_OK, or CQ_ERR_NOMEM. */
int cq__note(char **dst, const char *text);
/* The engine's fields of a model-backed stage that gives no figures: "<key>_status" says why
 * ("not selected", or the status when its model is not loaded) and "<key>" is null. False, with
 * nothing written, when the stage is selected and its model loaded. */
bool cq__stage_model_json_null(json_t *eng, const char *key, bool selected, bool loaded,
                               const char *status);

#endif /* CQ_STAGE_H */
