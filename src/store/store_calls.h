/*
 * store_calls.h - a call and what callqa knows of it, as analysis and QA write and read it: the
 * call's row (enqueued by the sources), the service's stored results of /analyze (calls of no
 * source), an analysis' queryable figures, its redaction and the pause marks it honours, the
 * level envelope, the transcript, the scores and supervisors' overrides, the LLM requests made
 * for it, and the agents' voice profiles made from calls. What the worker writes under a job's
 * lease is in store_jobs.h; the API's queries over all of it in store_query.h.
 *
 * Consumers: the worker and its stages (src/pipeline: pipeline.h, worker.c, redact.c, network.c,
 * roles.c, scored.c, stored_tx.c); the service's analyses and QA routes (src/service: svc.h and
 * the files that store or read results, calls, envelopes, transcripts, scores and marks); the
 * sources that enqueue (src/ingest: vicidial.c, watch.c); the command line (src/cli:
 * transcribe_cmd.c, redact_cmd.c, retain_cmd.c); the LLM client's records (src/clients:
 * llm_use.c).
 */
#ifndef CQ_STORE_CALLS_H
#define CQ_STORE_CALLS_H

#include "store.h"

/* ---- stored results of the service's /analyze (calls of no source) ------------------------- */

typedef struct store_result {
    int64_t id;
    char server[65], file[256];
    char identity[160], engine[32], source[64];
    char validators[512];
    double created, checked;
    char *report; /* JSON (owned; free with store_result_free) */
} store_result;

/* 1 found, 0 none, -1 error. */
int store_result_latest(store *s, const char *server, const char *file, const char *engine,
                        store_result *out);
int store_result_put(store *s, const store_result *r, int64_t *id);
int store_result_touch(store *s, int64_t id, double checked);
int store_result_get(store *s, int64_t id, store_result *out);
int store_result_list(store *s, double since, int limit, store_result **rows, int *n);
int64_t store_result_delete(store *s, const char *server, const char *file); /* NULLs: all */
void store_result_free(store_result *r);

/* ---- calls ------------------------------------------------------------------------------- */

/* A call as the dialer (or an upload, or a watched folder) describes it. Empty strings and
 * negative numbers are unknown (stored as NULL). */
typedef struct store_call {
    int64_t id;
    char source[65];       /* the configured name of the dialer, folder or "upload" */
    char recording_id[65]; /* unique within the source */
    char vicidial_id[65], uniqueid[65], lead_id[32];
    char agent_user[65], agent_name[256];
    char campaign_id[65]; /* the campaign (outbound) or in-group (inbound) */
    char campaign_name[256];
    char direction[16]; /* "inbound", "outbound" or "" */
    char call_date[20]; /* "YYYY-MM-DD HH:MM:SS", the dialer's local time */
    char tz[64];        /* the source's IANA time zone */
    double call_epoch;  /* UTC seconds; < 0 unknown */
    int length_sec;     /* < 0 unknown */
    char disposition[33], term_reason[33];
    char audio[1024]; /* the recording: a path, or NAME:RELATIVE on recording server NAME */
    char audio_in[1024], audio_out[1024]; /* its leg files, when known (paths or NAME:...) */
    double orig_deadline;  /* when the dialer deletes the leg files (UTC s); <= 0 none */
    bool open;             /* the dialer may still change the row (recording in progress):
                              the job cannot be claimed until the call is put closed */
    char skip_reason[128]; /* enqueue only: non-empty, the job starts `skipped` with it */
    /* the call's route (store_routes.h): "" unknown; a put keeps what it does not say, and a
     * call without a carrier takes its dialer attempt's (call_attempts, by uniqueid) */
    char carrier[65];   /* the dialer's channel's route, or a route pattern's name */
    char server_ip[48]; /* the dialer server */
    char did[33];       /* an inbound call's DID */
} store_call;

/* Enqueue, idempotently: a new call is inserted with a pending job (*created true); a call
 * already known (same source and recording_id) has its metadata updated (unknown fields keep
 * their stored value) and keeps its job. An open call's pending job is held (not claimable)
 * until the call is put closed: then it is claimable, or `skipped` when that put carries a
 * skip_reason. Returns 0 or -1. */
int store_call_put(store *s, const store_call *c, double now, int64_t *id, bool *created);
int store_call_get(store *s, int64_t id, store_call *out); /* 1, 0, -1 */
/* By source and recording_id; source NULL: any source (the first by id). 1, 0, -1. */
int store_call_find(store *s, const char *source, const char *recording_id, store_call *out);

/* ---- analyses: their figures, redaction, pause marks and level envelopes -------------------- */

/* What the queryable columns of an analysis hold (from the report). Negative or NaN: unknown. */
typedef struct store_figures {
    double duration_sec;
    int legs;             /* 1 (a mono mix) or 2 */
    double speech_pct[2]; /* inbound, outbound */
    double mos[2];
    int one_way; /* 1, 0, or -1 unknown */
    double talk_sec[2];
    double dead_air_sec, overtalk_sec, hold_sec;
    int hold_count, tone_count, dtmf_count;
    char warning_codes[512]; /* comma-separated */
    bool has_clipping;       /* clipping_pct is known */
    double clipping_pct;     /* the larger of the legs' clipped samples, % */
    bool has_level;          /* level_db is known */
    double level_db;         /* the lower of the levels of the legs that talked: the P.56
                                active speech level, else the RMS level, dBFS */
    char mos_model[32];      /* the model of mos[] ("NISQA v2", "DNSMOS P.835 OVRL": both legs
                                from one model, cq_report_mos); "" when no leg has one */
    double net_mos;          /* the network's MOS (NaN: no capture, or no stream with one) */
    char net_mos_model[32];  /* its model ("ITU-T G.107 E-model") */
    /* what a capture of the call says (network.c; false when none was found): the worst
     * stream's loss and mean jitter, the post-dial delay, the far end (the carrier's side: the
     * callee of an outbound call, the caller of an inbound one), its User-Agent or Server
     * header, and the codec the answer chose */
    bool has_net;              /* net_loss_pct and net_jitter_ms are measured */
    double net_loss_pct;       /* %, lost / expected of the worst stream */
    double net_jitter_ms;      /* the largest of the streams' mean jitter, ms (NaN: none) */
    bool has_sip;              /* a SIP dialog was matched: sip_* below */
    double sip_pdd_ms;         /* INVITE to the first 18x, ms (NaN: no 18x seen) */
    char sip_trunk[64];        /* the far end's address */
    char sip_user_agent[128];  /* its User-Agent or Server header */
    char sip_codec[24];        /* the answer's first encoding name */
    bool has_dropouts;         /* dropouts_per_min is measured */
    double dropouts_per_min;   /* the worse leg's dropouts per minute of speech */
    char redaction[8];         /* "ok", "failed" (held back from playback), "" not redacted */
    char redacted_audio[1100]; /* the redacted copy of its audio, "" none */
} store_figures;

/* A call's redaction as its analysis stored it: state "ok", "failed" or "" (not redacted), and
 * the redacted copy's path ("" none). 1, 0 (no analysis), -1. */
int store_redaction_get(store *s, int64_t call_id, char state[8], char *audio, size_t n);

/* The calls of call_date since_day ("YYYY-MM-DD") or later whose analysis has no redaction
 * state (or that have no analysis): *ids (malloc'd), *n. 0, or -1. */
int store_redact_candidates(store *s, const char *since_day, int64_t **ids, int *n);
/* A call's stored report, and its score's detail, replaced (callqa store redact): 1, 0 (no such
 * row), -1. */
int store_report_set(store *s, int64_t call_id, const char *report);
int store_score_detail_set(store *s, int64_t call_id, const char *detail);

/* Pause and resume marks (redact_marks): sent for a call while it was recorded, by the dialer's
 * id of the call (its uniqueid or recording id), at ts (UTC s). */
typedef struct store_mark {
    bool pause; /* else a resume */
    double ts;
} store_mark;
/* who: the sender (a user's name, "token", "-"); client: its address; scope: what of the calls
 * the sender may see, as access.h writes a scope ("agent:X", "campaign:A,campaign:B"), NULL
 * every call (v18). 0, -1. */
int store_mark_add(store *s, const char *call_ref, bool pause, double ts, double now,
                   const char *who, const char *client, const char *scope);
/* The marks of a call known by either id (NULL or "": none), in time order, those that keep
 * (NULL: every one) says apply: it is given each mark's sender's scope (NULL: every call, or a
 * mark stored before v18 kept it). At most max into out; the count of those kept (it may be
 * over max), or -1. keep runs with the store locked: it must not call the store. */
typedef bool (*store_mark_keep_fn)(void *user, const char *scope);
int store_marks_get(store *s, const char *ref1, const char *ref2, store_mark_keep_fn keep,
                    void *user, store_mark *out, int max);

/* A call's level envelope (call_envelopes, one per call): the step, s, and the legs as a JSON
 * object {leg: [tenths of a dB FS, integers]} (the report's leg names: inbound, outbound). */
typedef struct store_envelope {
    int64_t call_id;
    double step_sec;
    char *legs; /* get: malloc'd, the caller frees it */
} store_envelope;
/* An envelope on its own, in place of any earlier one of the call: STORE_OK or STORE_ERR
 * (no such call, a step that is not > 0, legs NULL). */
int store_envelope_put(store *s, const store_envelope *env, double now);
/* The call's envelope: 1 (out filled, out->legs to free), 0 none, -1 error. */
int store_envelope_get(store *s, int64_t call_id, store_envelope *out);

/* ---- transcripts ------------------------------------------------------------------------- */

/* One segment of a transcript, for search. */
typedef struct store_tx_segment {
    const char *speaker; /* "agent", "customer", "mixed" */
    double start, end;   /* on the call's clock */
    const char *text;
} store_tx_segment;

typedef struct store_transcript {
    int64_t call_id;
    const char *engine;           /* "openai", "whispercpp", "import" */
    const char *model, *language; /* NULL when unknown */
    int64_t word_count;
    double seconds; /* transcription time; NaN when unknown */
    double audio_sent_sec, audio_recorded_sec, hallucination_rate; /* NaN when unknown */
    const char *config_hash; /* the backend configuration's (asr_config_hash), or "import" */
    const char *text;        /* the whole text: one "speaker: text" line per turn */
    const char *detail;      /* the report's transcript block (JSON) */
    const store_tx_segment *segs;
    size_t n_segs;
} store_transcript;

/* A transcript made elsewhere (an import): stored, replacing any earlier one; the job is not
 * moved. STORE_OK or STORE_ERR. */
int store_transcript_put(store *s, const store_transcript *t, double now);

/* ---- scores ------------------------------------------------------------------------------ */

/* The old scorecard's eight categories, the scores table's columns (compat-api.md). */
#define STORE_SCORE_CATS 8
extern const char *const store_score_cats[STORE_SCORE_CATS]; /* "greeting", "customer_id", "needs",
                                                               "product", "communication",
                                                               "resolution", "closing",
                                                               "compliance" */
/* The index of one of those keys, or -1. */
int store_score_cat(const char *key);

/* A call's scores as the scoring stage made them. Every number has its has_ flag: a zeroed
 * struct is "nothing scored", and a value without its flag is stored as NULL, never 0. Texts
 * may be NULL (or "") for none. */
typedef struct store_score {
    bool has_total;
    double total_score; /* 0-100, when every category was scored */
    bool has_partial;
    double partial_score; /* 0-100 over the categories scored */
    double coverage;      /* the weight scored, 0-1 */
    bool flagged;
    const char *flag_reason;
    bool has_cat[STORE_SCORE_CATS];
    double cat[STORE_SCORE_CATS]; /* by store_score_cats; the card's other categories live in
                                     detail only */
    const char *summary;
    const char *strengths, *improvements; /* JSON arrays of strings */
    const char *llm_provider, *llm_model; /* the LLM that answered */
    const char *scorecard;                /* the card's name */
    const char *backend;                  /* what judged it: "rules", or the LLM provider */
    const char *scorecard_hash;           /* SHA-256 of the card's text */
    const char *provider_hash;            /* SHA-256 of the LLM configuration ("" without one) */
    const char *topic_class, *topic_subclass;
    bool has_customer_shift;
    double customer_shift;  /* the customer's sentiment, last - first quarter, -10..10 */
    bool has_customer_drop; /* false: not known (NULL) */
    bool customer_drop;     /* the customer went from >= 0 to <= -2 */
    const char *detail;     /* the whole result (sc_call_to_json): a JSON object */
} store_score;

/* A supervisor's scores for categories of a scored call, kept beside the automatic ones (the
 * newest per category is shown; the automatic scores and the roll-ups do not change). Each
 * score is 1-5; supervisor is required, comment may be NULL. All of them or none are stored.
 * 1 stored, 0 the call has no scores yet (or no such call), -1 error. */
int store_score_overrides(store *s, int64_t call_id, const char *const *categories,
                          const int *scores, size_t n, const char *supervisor, const char *comment,
                          double now);
/* The same for one category. */
int store_score_override(store *s, int64_t call_id, const char *category, int score,
                         const char *supervisor, const char *comment, double now);

/* ---- LLM requests ------------------------------------------------------------------------- */

/* One attempt at an LLM (a retry is another row). Negative numbers are unknown (NULL). */
typedef struct store_llm_call {
    double ts;            /* when it was sent, UTC s */
    int64_t call_id;      /* the call it was for; <= 0 none (/ai-analyze, /ask) */
    const char *purpose;  /* "score", "topic", "ai-analyze", "ask", ... */
    const char *provider; /* the configured provider's name */
    const char *model;
    int64_t input_tokens, output_tokens;
    double latency_sec, cost_usd;
    const char *outcome; /* "ok", or the failure's class: "timeout", "http_429", "refusal" */
} store_llm_call;

/* Record it, with the counters (docs/pipeline.md, "Metrics"): qa_llm_requests_total{purpose,
 * provider,outcome}, qa_llm_tokens_total{provider,direction}, qa_llm_cost_usd_total{provider},
 * qa_llm_latency_seconds_sum/_count{provider}. Its day is the local date of ts. 0 or -1. */
int store_llm_record(store *s, const store_llm_call *c);
/* The tokens (input + output) and cost of one day's requests (local date, YYYY-MM-DD): for the
 * daily caps. Unknown figures count 0. 0 or -1. */
int store_llm_usage_day(store *s, const char *day, long long *tokens, double *cost);

/* ---- agents' voice profiles (store_profiles.c; docs/privacy/retention.md) --------------------
 * Biometric data ("Agent voice profiles"): an agent's voice profile per campaign, the running
 * mean of the voice prints of the agent leg of the agent's two-leg calls (the worker adds them
 * only for the campaigns of voice_profile_campaigns). */
#define STORE_VP_MAX_DIM 64
typedef struct store_voice_profile {
    char agent[65], campaign[65];
    double v[STORE_VP_MAX_DIM]; /* the mean print */
    int dim;
    int64_t calls;     /* the calls it was made from */
    double speech_sec; /* their speech, s */
    double updated;    /* UTC s */
} store_voice_profile;

/* The profile of agent in campaign: 1, 0 (none), -1. */
int store_voice_profile_get(store *s, const char *agent, const char *campaign,
                            store_voice_profile *out);
/* One call's print (dim numbers, made from speech_sec of speech) added to agent's profile in
 * campaign, in one transaction: the profile becomes the mean over its calls (created with this
 * print when there is none; a print of another dim replaces it). *calls (when not NULL) gets
 * the calls it now holds. An existing row is locked while it is updated (PostgreSQL: FOR
 * UPDATE); two workers creating the same agent's first profile at once keep one of the two
 * prints. 0, or -1. */
int store_voice_profile_add(store *s, const char *agent, const char *campaign, const double *v,
                            int dim, double speech_sec, double now, int64_t *calls);
/* Erase every voice profile of agent (every campaign), logged in the deletions table (what
 * "voice_profile", why "erasure", the campaigns and rows in its detail; no print). dry_run:
 * only count. *n gets the profiles (that would be) deleted. 0, or -1. */
int store_voice_profile_erase(store *s, const char *agent, bool dry_run, double now, int *n);

#endif /* CQ_STORE_CALLS_H */
