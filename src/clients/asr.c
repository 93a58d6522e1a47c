/*
 * asr.c - the speech-recognition client (asr.h).
 */
#define _GNU_SOURCE
#include "asr.h"

#include <curl/curl.h>
#include <math.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "cl_http.h"

#define MAX_BACKOFF_SEC 30.0
#define MAX_RETRY_AFTER_SEC 120.0

struct asr_client {
    asr_config c;
    char key[512];
    atomic_bool no_words; /* the server refused word timestamps: segments only from now on */
    atomic_long requests;
};

/* What the settings do not set. */
static asr_config base_config(void)
{
    asr_config c;
    memset(&c, 0, sizeof(c));
    c.connect_timeout_sec = 10;
    c.backoff_sec = 1;
    c.max_response = (size_t)8 << 20;
    c.plan = tx_plan_default_params();
    return c;
}

static asr_config k_default;

static void defaults_once(void)
{
    static cfg_settings s;
    cfg_defaults(&s);
    (void)asr_config_from_settings(&s, &k_default);
}

asr_config asr_default_config(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, defaults_once); /* the settings' defaults (config.h), read once */
    return k_default;
}

int asr_config_from_settings(const cfg_settings *s, asr_config *out)
{
    *out = base_config();
#define COPY(dst, src)                                                                             \
    do {                                                                                           \
        size_t n_ = strnlen(src, sizeof(dst) - 1);                                                 \
        memcpy(dst, src, n_);                                                                      \
        dst[n_] = 0;                                                                               \
    } while (0)
    COPY(out->url, s->asr_url);
    COPY(out->model, s->asr_model);
    COPY(out->key_file, s->asr_key_file);
    COPY(out->language, s->asr_language[0] ? s->asr_language : "auto");
    COPY(out->prompt, s->asr_prompt);
    COPY(out->campaign_languages, s->asr_campaign_languages);
#undef COPY
    out->protocol = s->asr_protocol == 1 ? ASR_WHISPERCPP : ASR_OPENAI;
    out->timeout_sec = s->asr_timeout_sec;
    out->retries = s->asr_retries;
    out->concurrency = s->asr_concurrency;
    out->plan.include_ivr = s->asr_include_ivr;
    return out->url[0] != 0;
}

/* the next "NAME=xx" item of a map: name [*n, *nl), code [*c, *cl); the position after it */
static const char *map_item(const char *p, const char **n, size_t *nl, const char **c, size_t *cl)
{
    while (*p == ',' || *p == ' ')
        p++;
    if (!*p)
        return NULL;
    const char *end = p + strcspn(p, ",");
    const char *eq = memchr(p, '=', (size_t)(end - p));
    *n = p, *nl = eq ? (size_t)(eq - p) : (size_t)(end - p);
    *c = eq ? eq + 1 : end, *cl = eq ? (size_t)(end - eq - 1) : 0;
    while (*nl && (*n)[*nl - 1] == ' ')
        (*nl)--;
    while (*cl && **c == ' ')
        (*c)++, (*cl)--;
    while (*cl && (*c)[*cl - 1] == ' ')
        (*cl)--;
    return end;
}

int asr_campaign_languages_check(const char *map, char *err, size_t errsz)
{
    const char *n, *c;
    size_t nl, cl;
    for (const char *p = map; (p = map_item(p, &n, &nl, &c, &cl)) != NULL;) {
        char code[8], iso[3];
        snprintf(code, sizeof(code), "%.*s", (int)(cl < 7 ? cl : 7), c);
        if (!nl || cl != 2 || tx_language_code(code, iso) != 0) {
            snprintf(err, errsz,
                     "asr_campaign_languages: '%.*s' is not CAMPAIGN=xx with an ISO "
                     "639-1 code",
                     (int)(p - n < 80 ? p - n : 80), n);
            return -1;
        }
    }
    return 0;
}

int asr_campaign_language(const char *map, const char *campaign, char out[3])
{
    const char *n, *c;
    size_t nl, cl;
    out[0] = 0;
    if (!campaign || !*campaign)
        return 0;
    for (const char *p = map; (p = map_item(p, &n, &nl, &c, &cl)) != NULL;)
        if (nl == strlen(campaign) && !strncmp(n, campaign, nl) && cl == 2) {
            char code[3] = {c[0], c[1], 0};
            return tx_language_code(code, out) == 0;
        }
    return 0;
}

int asr_protocol_parse(const char *s, asr_protocol *out)
{
    if (!strcmp(s, "openai"))
        *out = ASR_OPENAI;
    else if (!strcmp(s, "whispercpp") || !strcmp(s, "whisper.cpp"))
        *out = ASR_WHISPERCPP;
    else
        return -1;
    return 0;
}

const char *asr_protocol_name(asr_protocol p)
{
    return p == ASR_WHISPERCPP ? "whispercpp" : "openai";
}

void asr_config_hash(const asr_config *c, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    char pad[32];
    snprintf(pad, sizeof(pad), "%.3f", c->plan.pad_sec);
    const char *parts[] = {asr_protocol_name(c->protocol),
                           c->url,
                           c->model,
                           c->language,
                           c->campaign_languages,
                           c->prompt,
                           c->plan.include_ivr ? "ivr" : "no-ivr",
                           pad};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        sha256_update(&ctx, strlen(parts[i]) + 1, (const uint8_t *)parts[i]); /* with the NUL */
    sha256_digest(&ctx, sizeof(d), d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

asr_client *asr_create(const asr_config *c, char *err, size_t errsz)
{
    if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8)) {
        snprintf(err, errsz, "the ASR URL must begin with http:// or https:// (got '%.200s')",
                 c->url);
        return NULL;
    }
    if (c->protocol == ASR_OPENAI && !c->model[0]) {
        snprintf(err, errsz, "the openai protocol needs a model name (--asr-model, asr_model)");
        return NULL;
    }
    char code[3];
    if (strcmp(c->language, "auto") &&
        (strlen(c->language) != 2 || tx_language_code(c->language, code) != 0)) {
        snprintf(err, errsz, "the ASR language must be auto or an ISO 639-1 code (got '%.20s')",
                 c->language);
        return NULL;
    }
    if (asr_campaign_languages_check(c->campaign_languages, err, errsz) != 0)
        return NULL;
    asr_client *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    a->c = *c;
    size_t ul = strlen(a->c.url);
    while (ul && a->c.url[ul - 1] == '/')
        a->c.url[--ul] = 0;
    if (a->c.concurrency < 1)
        a->c.concurrency = 1;
    if (c->key_file[0] && cfg_read_secret(c->key_file, a->key, sizeof(a->key), err, errsz) != 0) {
        free(a);
        return NULL;
    }
    atomic_init(&a->no_words, false);
    atomic_init(&a->requests, 0);
    return a;
}

void asr_destroy(asr_client *a)
{
    if (!a)
        return;
    memset(a->key, 0, sizeof(a->key));
    free(a);
}

long asr_requests(const asr_client *a)
{
    return atomic_load(&a->requests);
}

/* ---- one HTTP exchange --------------------------------------------------------------------- */

typedef enum verdict { V_OK, V_RETRY, V_FINAL } verdict;

/* One POST of the chunk (or GET when wav is NULL, for /health). */
static verdict exchange(asr_client *a, const char *url, const unsigned char *wav, size_t len,
                        const char *filename, bool words, long *code, cl_body *b, cl_hdrs *h,
                        char *err, size_t errsz)
{
    CURL *k = curl_easy_init();
    if (!k) {
        snprintf(err, errsz, "cannot start an HTTP transfer");
        return V_FINAL;
    }
    curl_mime *mime = NULL;
    struct curl_slist *hl = NULL;
    char auth[600];
    if (a->key[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->key);
        hl = curl_slist_append(hl, auth);
        memset(auth, 0, sizeof(auth));
    }
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    if (wav) {
        mime = curl_mime_init(k);
        curl_mimepart *p = curl_mime_addpart(mime);
        curl_mime_name(p, "file");
        curl_mime_filename(p, filename);
        curl_mime_type(p, "audio/wav");
        curl_mime_data(p, (const char *)wav, len);
#define FIELD(name, value)                                                                         \
    do {                                                                                           \
        curl_mimepart *f = curl_mime_addpart(mime);                                                \
        curl_mime_name(f, name);                                                                   \
        curl_mime_data(f, value, CURL_ZERO_TERMINATED);                                            \
    } while (0)
        if (a->c.protocol == ASR_OPENAI && a->c.model[0])
            FIELD("model", a->c.model);
        if (strcmp(a->c.language, "auto"))
            FIELD("language", a->c.language);
        if (a->c.prompt[0])
            FIELD("prompt", a->c.prompt);
        FIELD("response_format", "verbose_json");
        FIELD("temperature", "0");
        if (a->c.protocol == ASR_OPENAI) {
            if (words)
                FIELD("timestamp_granularities[]", "word");
            FIELD("timestamp_granularities[]", "segment");
        }
#undef FIELD
        curl_easy_setopt(k, CURLOPT_MIMEPOST, mime);
    }
    cl_limits lim = {a->c.connect_timeout_sec, a->c.timeout_sec, a->c.max_response};
    cl_http_setup(k, url, &lim, b, h);
    atomic_fetch_add(&a->requests, 1);
    CURLcode rc = cl_http_perform(k, hl, code);
    curl_mime_free(mime);
    if (b->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errsz, "the ASR server's answer is over the %zu KiB limit",
                 a->c.max_response >> 10);
        return V_FINAL;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errsz, "timeout: the ASR server did not answer within %.0f s",
                 a->c.timeout_sec);
        return V_RETRY;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errsz, "the ASR server could not be reached: %s", curl_easy_strerror(rc));
        return V_RETRY;
    }
    char sm[300];
    cl_server_message(b, sm, sizeof(sm));
    cl_scrub(a->key, sm);
    if (*code == 401 || *code == 403) {
        snprintf(err, errsz, "the ASR server refused the key (HTTP %ld%s%s): check the key file",
                 *code, sm[0] ? ": " : "", sm);
        return V_FINAL;
    }
    if (*code == 429) {
        snprintf(err, errsz, "the ASR server is rate limiting (HTTP 429%s%s)", sm[0] ? ": " : "",
                 sm);
        return V_RETRY;
    }
    if (*code >= 500 || *code == 408) {
        snprintf(err, errsz, "the ASR server failed (HTTP %ld%s%s)", *code, sm[0] ? ": " : "", sm);
        return V_RETRY;
    }
    if (*code == 404) {
        snprintf(err, errsz,
                 "no such endpoint on the ASR server (HTTP 404 for %s): check the URL "
                 "and the protocol",
                 url);
        return V_FINAL;
    }
    if (*code != 200) {
        snprintf(err, errsz, "the ASR server refused the request (HTTP %ld%s%s)", *code,
                 sm[0] ? ": " : "", sm);
        return V_FINAL;
    }
    if (cl_looks_html(b, h)) {
        snprintf(err, errsz,
                 "the ASR server answered an HTML page, not JSON (a proxy or a wrong "
                 "URL?)");
        return V_RETRY;
    }
    return V_OK;
}

/* whisper.cpp answers 503 on /health while its model loads: wait for it (up to the timeout). */
static int wait_ready(asr_client *a, char *err, size_t errsz)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/health", a->c.url);
    double waited = 0, step = fmax(0.2, a->c.backoff_sec);
    for (;;) {
        cl_body b = {.max = 65536};
        cl_hdrs h = {.retry_after = -1};
        long code = 0;
        verdict v = exchange(a, url, NULL, 0, NULL, false, &code, &b, &h, err, errsz);
        free(b.p);
        if (v == V_OK || code == 404)
            return 0; /* ready (or a server without /health: the request will tell) */
        if (v == V_FINAL && code != 503)
            return -1;
        if (waited >= a->c.timeout_sec) {
            snprintf(err, errsz, "the whisper.cpp server was not ready after %.0f s (%s)", waited,
                     code == 503 ? "still loading its model" : "no answer");
            return -1;
        }
        cq_clock_sleep_all(step);
        waited += step;
        step = fmin(step * 2, MAX_BACKOFF_SEC);
    }
}

int asr_send(asr_client *a, const unsigned char *wav, size_t len, const char *filename,
             tx_result *res, char *err, size_t errsz)
{
    char url[600];
    snprintf(url, sizeof(url), "%s%s", a->c.url,
             a->c.protocol == ASR_OPENAI ? "/audio/transcriptions" : "/inference");
    double wait = a->c.backoff_sec;
    err[0] = 0;
    for (int attempt = 0;; attempt++) {
        cl_body b = {.max = a->c.max_response};
        cl_hdrs h = {.retry_after = -1};
        long code = 0;
        bool words = a->c.protocol == ASR_OPENAI && !atomic_load(&a->no_words);
        verdict v = exchange(a, url, wav, len, filename, words, &code, &b, &h, err, errsz);
        if (v == V_FINAL && code == 400 && words && strstr(err, "timestamp_granularities")) {
            atomic_store(&a->no_words, true); /* Groq-like: segments only, at once */
            free(b.p);
            attempt--;
            continue;
        }
        if (v == V_OK) {
            char perr[300];
            int rc = a->c.protocol == ASR_OPENAI
                         ? tx_parse_openai(b.p, b.n, res, perr, sizeof(perr))
                         : tx_parse_whispercpp(b.p, b.n, res, perr, sizeof(perr));
            if (rc == 0) {
                free(b.p);
                return 0;
            }
            cl_scrub(a->key, perr);
            snprintf(err, errsz, "the ASR server's answer is unusable: %s", perr);
            v = V_RETRY;
        }
        free(b.p);
        if (v == V_FINAL || attempt >= a->c.retries) {
            if (v == V_RETRY && attempt > 0) {
                size_t l = strlen(err);
                snprintf(err + l, errsz - l, " (after %d attempts)", attempt + 1);
            }
            return -1;
        }
        double w = fmin(wait, MAX_BACKOFF_SEC);
        if (h.retry_after >= 0)
            w = fmax(w, fmin(h.retry_after, MAX_RETRY_AFTER_SEC));
        cq_clock_sleep_all(w);
        wait *= 2;
        if (a->c.protocol == ASR_WHISPERCPP && code == 503 && wait_ready(a, err, errsz) != 0)
            return -1;
    }
}

/* ---- a whole call ---------------------------------------------------------------------------- */

typedef struct job {
    int leg;
    size_t chunk;
    tx_result res;
    int rc;
    char err[400];
} job;

typedef struct run {
    asr_client *a;
    const cq_report *r;
    tx_transcript *t;
    job *jobs;
    size_t n;
    atomic_size_t next;
    atomic_bool failed;
} run;

static void one(run *u, job *j)
{
    const cq_leg_report *lg = u->t->legs[j->leg].src == 0 ? u->r->inbound : u->r->outbound;
    const tx_chunk *c = &u->t->legs[j->leg].plan.chunks[j->chunk];
    unsigned char *wav = NULL;
    size_t len = 0;
    if (!lg || !lg->speech_audio) {
        snprintf(j->err, sizeof(j->err), "the report holds no speech audio for the %s leg",
                 u->t->legs[j->leg].name);
        j->rc = -1;
        return;
    }
    j->rc = tx_chunk_wav(lg->speech_audio, c, &wav, &len, j->err, sizeof(j->err));
    if (j->rc == 0)
        j->rc = asr_send(u->a, wav, len, c->file, &j->res, j->err, sizeof(j->err));
    free(wav);
}

static void *worker(void *arg)
{
    run *u = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&u->next, 1);
        if (i >= u->n || atomic_load(&u->failed))
            return NULL;
        one(u, &u->jobs[i]);
        if (u->jobs[i].rc != 0)
            atomic_store(&u->failed, true); /* the call fails: send no more */
    }
}

int asr_transcribe(asr_client *a, const cq_report *r, tx_transcript *t, char *err, size_t errsz)
{
    double t0 = cq_clock_mono_sec();
    snprintf(t->engine, sizeof(t->engine), "%s", asr_protocol_name(a->c.protocol));
    snprintf(t->model, sizeof(t->model), "%s", a->c.model);
    if (strcmp(a->c.language, "auto"))
        (void)tx_language_code(a->c.language, t->language); /* checked in asr_create */
    run u = {.a = a, .r = r, .t = t};
    for (int i = 0; i < t->n_legs; i++)
        u.n += t->legs[i].plan.n;
    if (u.n && !(u.jobs = calloc(u.n, sizeof(*u.jobs)))) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (int i = 0; i < t->n_legs; i++)
        for (size_t c = 0; c < t->legs[i].plan.n; c++)
            u.jobs[k].leg = i, u.jobs[k++].chunk = c;
    atomic_init(&u.next, 0);
    atomic_init(&u.failed, false);
    int rc = 0;
    if (u.n && a->c.protocol == ASR_WHISPERCPP && wait_ready(a, err, errsz) != 0)
        rc = -1;
    if (rc == 0 && u.n) {
        int nt = a->c.concurrency < (int)u.n ? a->c.concurrency : (int)u.n;
        pthread_t th[64];
        int started = 0;
        for (int i = 1; i < nt && i < 64; i++)
            if (pthread_create(&th[started], NULL, worker, &u) == 0)
                started++;
        worker(&u);
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
    }
    size_t empty = 0, answered = 0;
    for (size_t i = 0; rc == 0 && i < u.n; i++) {
        job *j = &u.jobs[i];
        if (j->rc != 0) {
            if (!j->err[0])
                continue; /* not sent: another chunk failed first */
            snprintf(err, errsz, "%s (chunk %s)", j->err,
                     t->legs[j->leg].plan.chunks[j->chunk].file);
            rc = -1;
            break;
        }
        answered++;
        if (j->res.n == 0)
            empty++;
    }
    if (rc == 0 && answered && empty == answered) {
        double s = 0;
        for (int i = 0; i < t->n_legs; i++)
            s += t->legs[i].plan.sent_sec;
        snprintf(err, errsz,
                 "the ASR server answered empty text for all %zu chunks of speech "
                 "(%.1f s sent)",
                 answered, s);
        rc = -1;
    }
    for (size_t i = 0; i < u.n; i++) {
        job *j = &u.jobs[i];
        if (rc == 0 && tx_add_chunk(t, j->leg, j->chunk, &j->res) != 0) {
            snprintf(err, errsz, "out of memory");
            rc = -1;
        }
        tx_result_free(&j->res);
    }
    free(u.jobs);
    if (rc == 0 && tx_finish(t) != 0) {
        snprintf(err, errsz, "out of memory");
        rc = -1;
    }
    t->seconds = cq_clock_mono_sec() - t0;
    return rc;
}
