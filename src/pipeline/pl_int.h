/*
 * pl_int.h - the pipeline's internals shared by its files: the engine's settings, the analysis
 * host (pl_host.c) and the child's work for an investigation (investigate.c), the fetch of a
 * call's recording (fetch.c), the worker's and a request's, and the one sequence of a call's
 * life (pl_life.c) that both run. Only src/pipeline/ includes it (and the tests that reach in):
 * it reads the engine's API, which pipeline.h leaves out.
 */
#ifndef CQ_PL_INT_H
#define CQ_PL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "callqa/callqa.h"
#include "callqa/cq_clock.h"
#include "pipeline.h"
#include "../clients/asr.h"

/* ---- the engine (analyser.c) ----------------------------------------------------------------- */

/* An engine's parameters from the settings, as every analysis of callqa has them: the defaults,
 * analyzers (CQ_AN_*; 0: the engine's default), the analysis settings (cfg_engine_params), the
 * model directory (the default one into dir[n] when none is set), max_duration_sec. */
void pl__engine_params(const cfg_settings *c, unsigned analyzers, cq_engine_params *ep, char *dir,
                       size_t n);

/* ---- the analysis host (pl_host.c) ----------------------------------------------------------- */

typedef enum pl__host_outcome {
    PL__HOST_DONE = 0, /* the analysis ran: see rc */
    PL__HOST_CRASHED,  /* its process died (a signal, or a broken answer) */
    PL__HOST_TIMEOUT,  /* it ran past its time limit and was killed */
    PL__HOST_DOWN      /* no analysis host to ask (it died, or the slot broke) */
} pl__host_outcome;

/* Analyse src in this process: the engine's status; CQ_OK gives *json (malloc'd) and fig,
 * anything else a reason in msg. The host's children run the same function. */
int pl__analyse_here(const cq_engine *e, const cq_call_src *src, char **json,
                     pl_metric_figures *fig, char *msg, size_t msgsz);
/* An investigation's request (investigate.c) worked out here: CQ_OK with *json (malloc'd), the
 * answer before the LLM's part; CQ_ERR_FORMAT when its capture or SIP text cannot be read, with
 * msg. */
int pl__investigate_here(const cq_engine *e, const void *request, size_t len, char **json,
                         char *msg, size_t msgsz);

/* Fork the analysis host with `slots` slots (one per thread). Call it before the process starts
 * any thread. NULL with msg on failure. */
typedef struct pl__host pl__host;
pl__host *pl__host_start(const cq_engine *e, int slots, double timeout_sec, size_t max_data,
                         char *msg, size_t msgsz);
/* Analyse src in a child of the host; only the thread owning `slot` calls this with it. DONE:
 * *rc is the engine's status; CQ_OK gives *json (malloc'd) and fig; else msg says. */
pl__host_outcome pl__host_analyse(pl__host *h, int slot, const cq_call_src *src, int *rc,
                                  char **json, pl_metric_figures *fig, char *msg, size_t msgsz);
/* The same for an investigation: request its JSON; DONE: *rc CQ_OK gives *json, the answer
 * before the LLM's part; else msg says. */
pl__host_outcome pl__host_investigate(pl__host *h, int slot, const char *request, int *rc,
                                      char **json, char *msg, size_t msgsz);
bool pl__host_up(const pl__host *h);
/* Close every slot and wait for the host to finish its analyses and exit. */
void pl__host_stop(pl__host *h);

/* A request's analysis of src on slot (analyser.c): in a child of a's host, or in this process
 * without one; its time and figures told to a's observer. 0 with *json (malloc'd), or -1 with
 * out's end (DOWN, CRASHED, TIMEOUT, ANALYSIS) and err. */
int pl__analyser_analyse(pl_analyser *a, int slot, const cq_call_src *src, char **json,
                         pl_result *out);
/* One stage's time told to a's observer ("fetch", "store"). */
void pl__analyser_stage(const pl_analyser *a, const char *name, double seconds);

/* ---- a request's recording (fetch.c) --------------------------------------------------------- */

/* A request's call as the engine reads it: the files fetched (removed by pl__fetched_free) or
 * the upload as given, named as the caller named them. */
typedef struct pl__fetched {
    cq_call_src src;
    rec_fetched f; /* SERVER: what rec_fetch fetched */
    bool have_f;
    char note[1600];
    char name[2][680];    /* the legs' (or the recording's) names: SERVER:FILE */
    const char *server;   /* the stored row's server: the server's name, or "upload" */
    const char *what;     /* its source: the candidate used, "upload", "upload legs" */
    const char *identity; /* its identity: the fetched files', or the upload's */
    const char *validators;
} pl__fetched;
/* src's recording fetched or taken: 0, or -1 with err (PL_END_FETCH's codes). */
int pl__fetch(const cfg_settings *c, const pl_source *src, pl__fetched *out, cq_err *err);
void pl__fetched_free(pl__fetched *f);

/* ---- a stored call's recording, in the worker's child (fetch.c) ------------------------------ */

/* How a call's child ends (its answer's first field). */
enum { PL__OUT_DONE = 0, PL__OUT_SKIP = 1, PL__OUT_RETRY = 2, PL__OUT_FAIL = 3 };

/* A stored call's audio as the engine reads it, in the worker's child. */
typedef struct pl__call_audio {
    cq_call_src src;
    const char *rec_path; /* the call's recording as named (the mix, else the inbound leg): what
                             lies beside it is named from it */
    bool fetched;         /* from a recording server (nothing lies beside it) */
    rec_fetched f;
    cq_legs_resolved lr;
    char p_in[2100], p_out[2100], p_mix[2100];
    char note[4800], shown[4800];
    char fd_path[3][40]; /* /proc/self/fd/N of each file opened */
} pl__call_audio;
/* Find call's audio (c: recordings_dir, the servers; roots: the folders it may be read from):
 * fetched from its recording server (the files opened and their names removed at once, so that
 * a child killed at its limit leaves nothing behind), else on disk (the legs, else the mix and
 * its ViciDial legs), each file opened beneath the roots. PL__OUT_DONE with a->src ready (close
 * it with pl__call_audio_close), or the child's ending (SKIP: a failed recording's stub; FAIL:
 * missing, refused; RETRY: a fetch that may work later) with msg, nothing left to close. */
int pl__call_audio_open(pl__call_audio *a, const cfg_settings *svc, const char *recordings_dir,
                        const rec_roots *roots, const store_call *call, char *msg, size_t n);
/* An engine error about a's files names each file as the call names it, not the descriptor it
 * was read by (err->msg rewritten in place). */
void pl__call_audio_name_error(const pl__call_audio *a, cq_err *err);
void pl__call_audio_close(pl__call_audio *a);

/* ---- one call's life (pl_life.c) ------------------------------------------------------------- */

/* The steps a caller turns on, in the order pl__life_run takes them; the fetch and the analysis
 * always run (docs/ARCHITECTURE.md, section 8a, lists each caller's). */
enum {
    PL_STEP_NETWORK = 1u << 0,    /* a capture beside the recording, or the HEP collector's */
    PL_STEP_LIVE = 1u << 1,       /* `callqa live`'s events beside the recording */
    PL_STEP_TRANSCRIBE = 1u << 2, /* the speech to the ASR, or the imported transcript checked */
    PL_STEP_REDACT = 1u << 3,     /* the call's campaign's plan: the report, the transcript, the
                                     audio copy, an uploaded capture */
    PL_STEP_MASK = 1u << 4,       /* a report of no campaign masked with every campaign's types */
    PL_STEP_ROLES = 1u << 5,      /* a diarized mix's roles; the agent leg's voice print */
    PL_STEP_SCORE = 1u << 6,      /* the card, the LLM */
    PL_STEP_STORE = 1u << 7       /* a request's result row (the worker's parent stores its
                                     call's under the lease) */
};

/* A transcript's or a score's outcome in the life (the worker's answer carries it). */
enum { PL__TX_NONE = 0, PL__TX_OK = 1, PL__TX_FAILED = 2 };

/* One call and what its life needs: its source (a stored call, or a request's), where it is
 * analysed, and each step's inputs. */
typedef struct pl__life {
    unsigned steps; /* PL_STEP_* */
    const cfg_settings *c;
    /* the source: call, or src */
    const store_call *call;     /* a stored call (the worker's job, in its child) */
    const char *recordings_dir; /* call: relative paths under it */
    const rec_roots *roots;     /* call: the folders it may be read from */
    const pl_source *src;       /* a request's */
    /* the analysis: with e in this process, the report kept for the steps beside it (call);
     * else on an's slot (a request's) */
    const cq_engine *e;
    pl_analyser *an;
    int slot;
    double min_length_sec; /* call: shorter is skipped (0: never) */
    /* the steps' inputs */
    const char *db;                  /* REDACT: the audio copies go beside this store */
    const store_mark *marks;         /* REDACT: the call's pause and resume marks */
    int n_marks;                     /* those that apply; -1: not read */
    const asr_config *asr;           /* TRANSCRIBE: NULL, no ASR */
    const char *imported;            /* TRANSCRIBE: the imported block, used in place of the ASR */
    const pl_scoring *scoring;       /* SCORE */
    const llm_budget *budget;        /* SCORE: today's LLM use */
    bool profiles;                   /* ROLES: the campaign has agents' voice profiles on */
    const store_voice_profile *prof; /* ROLES: the agent's profile, or NULL */
    store *st;                       /* STORE */
} pl__life;

/* How a call's life ended and what it made. */
typedef struct pl__life_out {
    pl_result res;      /* a request's end and err; the report (both) as rendered once, and a
                           request's stored row */
    int outcome;        /* a stored call's: PL__OUT_* */
    char msg[4800];     /* a stored call's: why it did not end PL__OUT_DONE */
    bool has_f;         /* a stored call's figures (analysed) */
    store_figures f;    /* ... */
    int32_t tx;         /* PL__TX_*: the transcript block tx_text, or why */
    char *tx_text;      /* (malloc'd) */
    char tx_why[800];   /* ... */
    int32_t sc;         /* PL__TX_*: the score's JSON, or why */
    char *score;        /* (malloc'd) */
    char sc_why[600];   /* ... */
    char *attempts;     /* the LLM's attempts (a JSON array, malloc'd), or NULL */
    char *print;        /* the agent leg's print for its profile ({v, speech_sec}), or NULL */
    char hep_file[128]; /* the HEP collector's capture the network was read from, or "" */
} pl__life_out;

/* Run call l's life: fetch, analyse, then each step l turns on, over one report parsed once
 * (when a step first needs it as an object) and rendered once (after the last step that
 * changes it; the engine's text when none did). 0 with out->res.report (and, a request, its
 * end PL_END_OK; a stored call, outcome PL__OUT_DONE), or -1 with out's end and err (a
 * request) or its outcome and msg (a stored call). Free out with pl__life_out_free. */
int pl__life_run(const pl__life *l, pl__life_out *out);
void pl__life_out_free(pl__life_out *out);

/* ---- the LLM's requests and stored rows of the service's routes (pl_assess.c)
 * ------------------------------- */

/* One LLM request of a route (ai's client): today's budget, the call recorded in the store under
 * `purpose`, the answer's text trimmed. 0 with *text and *model (malloc'd) and the provider's
 * name in provider (NULL: not wanted), or -1 with why. */
int pl__llm_text(const pl_ai *ai, const char *purpose, const char *system, const char *user,
                 char **text, char **model, char *provider, size_t provsz, char *why, size_t whysz);
/* A one-turn request's body as the LLM client (client) sends it, in bytes (sc_fit's measure:
 * llm_request_size), for a prompt held within the model's context. */
size_t pl__llm_measure(void *client, const char *system, const char *text, const char *schema);
/* A route's answer js (JSON text; NULL: out of memory) stored as the result row (server, file,
 * identity, ai->engine, source); one the store refuses is logged under ai->id as "the store
 * refused an <what>". */
void pl__ai_store(const pl_ai *ai, const char *server, const char *file, const char *identity,
                  const char *source, const char *js, const char *what);

#endif /* CQ_PL_INT_H */
