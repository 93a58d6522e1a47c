/*
 * llm.h - the LLM client: one interface over three providers' HTTP APIs (libcurl, jansson),
 * used by the worker's scoring (src/pipeline/scored.c) and the service's GET /ai-analyze
 * (src/service/svc_ai.c). docs/llm.md.
 *
 *   anthropic  POST {url}/v1/messages, x-api-key + anthropic-version: 2023-06-01; the answer's
 *              schema in output_config.format {type: json_schema, schema}; stop_reason
 *              end_turn | max_tokens | refusal | tool_use; usage input_tokens/output_tokens.
 *   openai     POST {url}/chat/completions (OpenAI, Groq, llama.cpp's server, Ollama, vLLM:
 *              url ends in /v1), Authorization: Bearer (no key: none sent, for local
 *              servers); response_format {type: json_schema, json_schema: {name, strict: true,
 *              schema}}; finish_reason stop | length | content_filter | tool_calls;
 *              message.refusal; usage prompt_tokens/completion_tokens.
 *   gemini     POST {url}/v1beta/models/{model}:generateContent, x-goog-api-key; contents with
 *              roles user/model, systemInstruction, generationConfig {responseMimeType:
 *              application/json, responseJsonSchema}; finishReason STOP | MAX_TOKENS | SAFETY
 *              | RECITATION | ..., promptFeedback.blockReason; usageMetadata
 *              promptTokenCount/candidatesTokenCount.
 *
 * A request is a system prompt, turns (user, assistant with optional tool calls, tool
 * results), optional tools (name, description, JSON schema of the arguments) and an optional
 * answer schema (js.h's subset). The answer is text (JSON text when a schema was given,
 * checked against it) or tool calls.
 *
 * Behaviour of llm_call, per provider (the primary, then the fallback when the primary
 * failed): a failed connection, a timeout, 429, 408 and 5xx are retried (Retry-After honoured,
 * seconds or an HTTP date, else exponential backoff), `retries` times; a refusal, a truncated
 * answer, an answer that is not JSON or not of the schema gets one repair turn (the bad answer
 * as the assistant's, then a user turn with what was wrong); 401/403/other 4xx are final for
 * that provider. Every HTTP attempt is reported to the caller's record callback (provider,
 * model, tokens, latency, cost, outcome), never with the key. Daily caps: when the tokens or
 * the cost already used today (the caller's count, plus what this call has used) reach a cap,
 * no request is sent and LLM_CAP is returned with the reason.
 *
 * Every request within the model's context (docs/llm.md "Every prompt within the context"): a
 * request's body, as it would be sent, is at most context_tokens less max_tokens bytes, counted
 * as one token a byte (every tokenizer puts at least one byte in a token, and the body holds
 * every byte of the prompt: system, turns, tools, schema, with the JSON around them). A longer
 * one is never sent: LLM_TOO_LARGE with both figures, and the attempt is recorded (outcome
 * prompt_too_large). A repair turn that would not fit carries less of the bad answer, or is not
 * made. The builders fit their prompts to llm_prompt_max beforehand, so this is the last guard.
 *
 * Only the configured URL is contacted: no redirects, no proxy from the environment. Keys are
 * read from files of mode 0600 (cfg_read_secret) and never appear in a message or a record.
 *
 * It calls the settings (config.h: providers, key files, caps), the store (llm_use.c: today's
 * use, a record of each attempt) and the schema checker (src/schema/js.h), through cl_http.h,
 * with libcurl, jansson and nettle (the configuration's hash). It is in src/clients/, floor 6,
 * with the other code that talks to servers: scoring, beside it, writes the requests and reads
 * the answers without any network, and the worker and the service, above both, join the two.
 *
 * Thread safety: a client is read-only after llm_create; llm_call may run on several threads.
 */
#ifndef CQ_LLM_H
#define CQ_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../store/store.h"

typedef enum llm_provider { LLM_ANTHROPIC = 0, LLM_OPENAI = 1, LLM_GEMINI = 2 } llm_provider;

/* "anthropic", "openai" or "gemini": 0, or -1. */
int llm_provider_parse(const char *s, llm_provider *out);
const char *llm_provider_name(llm_provider p);

typedef struct llm_provider_config {
    llm_provider provider;
    char url[512]; /* base URL: https://api.anthropic.com, https://api.openai.com/v1,
                      https://generativelanguage.googleapis.com, http://127.0.0.1:8080/v1 */
    char model[128];
    char key_file[1024];        /* "" for none (local openai-compatible servers only) */
    double connect_timeout_sec; /* 10 */
    double timeout_sec;         /* per request, 120 */
    int retries;                /* after the first attempt, for transport faults, 429 and 5xx (2) */
    double backoff_sec;         /* the first wait, doubled up to 30 s (1) */
    int max_tokens;             /* the answer's limit (2048) */
    double temperature;         /* 0-2, or < 0: not sent (0) */
    double price_in;            /* USD per million input tokens (0: cost not known, counted 0) */
    double price_out;           /* USD per million output tokens */
    size_t max_response;        /* bytes (4 MiB) */
    int context_tokens;         /* the model's context window (32768): a request's body at most
                                   this less max_tokens bytes (llm_body_max) */
} llm_provider_config;

typedef struct llm_config {
    llm_provider_config primary;
    bool has_fallback;
    llm_provider_config fallback;
} llm_config;

llm_provider_config llm_default_provider_config(void);

/* The configuration's identity (each provider's name, URL, model, max_tokens, temperature;
 * not the key, timeouts, retries or prices): 64 hex digits of SHA-256, stored with results. */
void llm_config_hash(const llm_config *c, char out[65]);

/* ---- a request ------------------------------------------------------------------------------ */

typedef enum llm_role { LLM_USER = 0, LLM_ASSISTANT = 1, LLM_TOOL_RESULT = 2 } llm_role;

typedef struct llm_tool_call {
    char *id; /* the provider's id (Gemini gives none: "call_N" made here) */
    char *name;
    char *arguments; /* JSON text of an object */
} llm_tool_call;

typedef struct llm_message {
    llm_role role;
    const char *text;           /* the turn's text; a tool result's content (JSON or text) */
    const llm_tool_call *calls; /* LLM_ASSISTANT: the tool calls it made (may be 0) */
    size_t n_calls;
    const char *tool_call_id; /* LLM_TOOL_RESULT: the call answered */
    const char *tool_name;    /* LLM_TOOL_RESULT: its tool's name (Gemini needs it) */
} llm_message;

typedef struct llm_tool {
    const char *name; /* [A-Za-z0-9_-]{1,64} */
    const char *description;
    const char *parameters; /* JSON schema text of the arguments (an object) */
} llm_tool;

typedef struct llm_request {
    const char *system;          /* NULL for none */
    const llm_message *messages; /* at least one; the first is the user's */
    size_t n_messages;
    const llm_tool *tools;
    size_t n_tools;
    const char *schema;      /* the answer's JSON schema (js.h subset), or NULL: text */
    const char *schema_name; /* [A-Za-z0-9_-]{1,64}, OpenAI's json_schema.name ("answer") */
} llm_request;

/* ---- the answer and its records ------------------------------------------------------------- */

typedef struct llm_response {
    char *text;           /* the answer's text (JSON text with a schema); NULL with calls */
    llm_tool_call *calls; /* tool calls, when the model asked for them */
    size_t n_calls;
    char provider[16], model[128];    /* who answered */
    long input_tokens, output_tokens; /* summed over every attempt of the call */
    double cost_usd;                  /* likewise */
    int attempts;                     /* HTTP requests sent */
    bool repaired;                    /* the answer came from the repair turn */
} llm_response;

void llm_response_free(llm_response *r);

/* One HTTP attempt, as reported to the caller (the strings live during the callback only). */
typedef struct llm_attempt {
    const char *provider, *model;
    long input_tokens, output_tokens; /* 0 when the answer carried none */
    double latency_sec;
    double cost_usd;
    const char *outcome; /* ok, http_429, http_500 (any status), timeout, network, too_large,
                            bad_response, refused, truncated, invalid_json, schema_invalid,
                            prompt_too_large (not sent: over llm_body_max) */
    int http_status;     /* 0 when there was no answer */
    bool fallback;       /* the fallback provider's attempt */
    bool repair;         /* the repair turn */
} llm_attempt;

typedef void (*llm_record_fn)(const llm_attempt *a, void *user);

/* What has been used today, by the caller's count, and the caps (0: no cap). */
typedef struct llm_budget {
    long tokens_today;
    double cost_today_usd;
    long token_cap;
    double cost_cap_usd;
} llm_budget;

typedef enum llm_status {
    LLM_OK = 0,
    LLM_ERROR = -1,    /* every provider failed: err says why (the last one's reason) */
    LLM_CAP = -2,      /* a daily cap is reached: nothing (more) was sent; err: the reason */
    LLM_TOO_LARGE = -3 /* the request is over the context's room (llm_body_max): nothing was
                          sent; err: "prompt_too_large: ..." with its size and the room */
} llm_status;

typedef struct llm_client llm_client;

/* A client (keys read now, from 0600 files). NULL with err. */
llm_client *llm_create(const llm_config *c, char *err, size_t errsz);
void llm_destroy(llm_client *c);

/* The request answered (see the top of this file). rec may be NULL; budget may be NULL (no
 * caps). out is filled on LLM_OK (llm_response_free after); on an error it holds the tokens and
 * cost spent and nothing else, and must be freed too. */
llm_status llm_call(llm_client *c, const llm_request *rq, const llm_budget *budget,
                    llm_record_fn rec, void *user, llm_response *out, char *err, size_t errsz);

/* ---- the context's room ------------------------------------------------------------------- */

/* The bytes a request's body may have for llm_call to send it: context_tokens less max_tokens,
 * the smaller over the providers (0: none fits). */
size_t llm_body_max(const llm_client *c);
/* The room kept beside a prompt for the repair turn (what was wrong, the head of the bad answer):
 * LLM_REPAIR_ROOM bytes, or a quarter of llm_body_max when that is less. */
#define LLM_REPAIR_ROOM 1024
/* What a prompt builder holds its request's body to: llm_body_max less the repair's room. */
size_t llm_prompt_max(const llm_client *c);
/* The bytes of rq's body as llm_call would send it (the longest over the providers), or 0 when
 * it cannot be built (llm_call then says why). */
size_t llm_request_size(const llm_client *c, const llm_request *rq);

/* ---- the wire formats, for tests and fuzzing ------------------------------------------------- */

typedef enum llm_stop {
    LLM_STOP_DONE = 0,  /* end_turn / stop / STOP */
    LLM_STOP_TOOLS = 1, /* the answer is tool calls */
    LLM_STOP_TRUNCATED = 2,
    LLM_STOP_REFUSED = 3
} llm_stop;

typedef struct llm_parsed {
    char *text; /* the text blocks joined (NULL when none) */
    llm_tool_call *calls;
    size_t n_calls;
    llm_stop stop;
    char why[160]; /* refusal/truncation detail: the stop reason, the refusal text */
    long input_tokens, output_tokens;
} llm_parsed;

/* A provider's 200 answer body parsed. 0, or -1 with err (not the protocol's JSON); out is
 * left empty on -1 and must be freed with llm_parsed_free on 0. */
int llm_parse_answer(llm_provider p, const char *body, size_t n, llm_parsed *out, char *err,
                     size_t errsz);
void llm_parsed_free(llm_parsed *p);

/* The request body (JSON text, malloc'd) that llm_call sends for rq to the provider pc, or NULL
 * with err (a malformed tool or schema, out of memory). */
char *llm_request_body(const llm_provider_config *pc, const llm_request *rq, char *err,
                       size_t errsz);

/* ---- the settings, the daily budget and the store's records (llm_use.c) -------------------- */

/* The LLM client's configuration from the settings (llm_* keys): 1 configured, 0 not
 * configured (no llm_provider and no other llm_ setting that needs one), -1 bad settings (err
 * says which). The deeper checks (URL, model name, key file) are llm_create's. */
int llm_config_from_settings(const cfg_settings *c, llm_config *out, char *err, size_t errsz);
/* Today's use (local date, from the store's LLM records) and the daily caps. 0, or -1 when the
 * store could not say (then the budget holds the caps and no use). */
int llm_budget_today(const cfg_settings *c, store *st, double now, llm_budget *out);
/* An llm_record_fn: each attempt into the store (store_llm_record) with this purpose. */
typedef struct llm_store_rec {
    store *st;
    const char *purpose; /* "ai-analyze", "score", ... */
    int64_t call_id;     /* <= 0 none */
} llm_store_rec;
void llm_record_to_store(const llm_attempt *a, void *user);

#endif /* CQ_LLM_H */
