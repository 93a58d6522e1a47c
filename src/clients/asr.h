/*
 * asr.h - the speech-recognition client: a call's speech chunks to a Whisper-class server over
 * HTTP (libcurl), its answers into the call's transcript. docs/transcription.md.
 *
 * Two wire protocols:
 *   openai      POST {url}/audio/transcriptions (OpenAI, Groq, vLLM, faster-whisper servers):
 *               multipart file, model, language, prompt, response_format=verbose_json,
 *               timestamp_granularities[]=word and =segment (segments only after a server
 *               refuses word timestamps with a 400);
 *   whispercpp  POST {url}/inference (whisper.cpp's server): multipart file,
 *               response_format=verbose_json; GET {url}/health answers 503 while the model
 *               loads, and the client waits for it.
 * Only the configured URL is contacted: no redirects, no proxy from the environment, http and
 * https only. The key (Authorization: Bearer) is read from a file of mode 0600 and never written
 * to a log or a message. Each request is retried on a failed connection, a timeout, 429 (after
 * Retry-After when given), 5xx, and an answer that is not the protocol's JSON; a 401/403 or any
 * other 4xx is final. Answers over max_response bytes are refused.
 *
 * It calls the settings (config.h: the key file) and the transcript module (the plan, a chunk's
 * WAV, the servers' answers parsed), through cl_http.h, with libcurl and nettle (the
 * configuration's hash). It is in src/clients/, floor 6, with the other code that talks to
 * servers, so that the transcript module below it stays pure and the worker and the command line
 * above it share one client.
 *
 * Thread safety: asr_send may run on several threads with one client (asr_transcribe does, up
 * to `concurrency`).
 */
#ifndef CQ_ASR_H
#define CQ_ASR_H

#include <stdbool.h>
#include <stddef.h>

#include "../config/config.h"
#include "../transcript/transcript.h"

typedef enum asr_protocol { ASR_OPENAI = 0, ASR_WHISPERCPP = 1 } asr_protocol;

typedef struct asr_config {
    char url[512]; /* the server's base URL, e.g. http://10.0.0.5:8000/v1 (openai) */
    asr_protocol protocol;
    char model[128];               /* openai: the model name (required by the protocol) */
    char key_file[1024];           /* "" for none */
    char language[16];             /* "auto", or an ISO 639-1 code sent with each request */
    char campaign_languages[1024]; /* "CAMPAIGN=xx,...": the language of those campaigns' calls */
    char prompt[1024];             /* vocabulary and style hint ("" for none) */
    double connect_timeout_sec;    /* 10 */
    double timeout_sec;            /* per request, 120 */
    int retries;                   /* after the first attempt, 3 */
    double backoff_sec;            /* the first wait, doubled each time up to 30 s (1) */
    int concurrency;               /* requests at once for one call (2) */
    size_t max_response;           /* bytes (8 MiB) */
    tx_plan_params plan;
} asr_config;

asr_config asr_default_config(void);

/* The service's settings (asr_url, asr_protocol, ...: docs/config.md) as a client's
 * configuration: 1 when asr_url is set (transcription on), 0 when it is not. */
int asr_config_from_settings(const cfg_settings *s, asr_config *out);

/* A language per campaign, "CAMPAIGN=xx,CAMPAIGN=yy" (ISO 639-1 codes): 0 when well formed
 * (also ""), or -1 with err. */
int asr_campaign_languages_check(const char *map, char *err, size_t errsz);
/* The language of `campaign` in the map into out (3 bytes): 1, or 0 when it has none. */
int asr_campaign_language(const char *map, const char *campaign, char out[3]);

/* "openai" or "whispercpp" (also "whisper.cpp"). 0, or -1. */
int asr_protocol_parse(const char *s, asr_protocol *out);
const char *asr_protocol_name(asr_protocol p);

/* The configuration's identity (protocol, URL, model, languages, prompt; not the key): 64 hex
 * digits of SHA-256, stored with each transcript. */
void asr_config_hash(const asr_config *c, char out[65]);

typedef struct asr_client asr_client;

/* A client (the key read now). NULL with err. */
asr_client *asr_create(const asr_config *c, char *err, size_t errsz);
void asr_destroy(asr_client *a);

/* One chunk (a WAV file in memory, named `filename` in the request): its answer into res.
 * 0, or -1 with err after the retries (or at once for a final refusal). */
int asr_send(asr_client *a, const unsigned char *wav, size_t len, const char *filename,
             tx_result *res, char *err, size_t errsz);

/* The whole call: every chunk of t's legs (tx_transcript_init with a plan) read from the
 * report's speech audio (the speech_audio analyzer) and sent, then tx_finish. 0, or -1 with
 * err: the first chunk that failed, or every chunk answered empty. */
int asr_transcribe(asr_client *a, const cq_report *r, tx_transcript *t, char *err, size_t errsz);

/* The number of HTTP requests sent so far (retries included). */
long asr_requests(const asr_client *a);

#endif /* CQ_ASR_H */
