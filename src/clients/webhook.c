/*
 * webhook.c - the signed webhook sender (webhook.h): a bounded queue of event bodies, one
 * thread that POSTs them in order with libcurl, retries with a doubling wait, dead letters
 * counted.
 */
#define _GNU_SOURCE
#include "webhook.h"

#include <errno.h>
#include <nettle/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "cl_http.h"

typedef struct item {
    struct item *next;
    uint64_t id;
    size_t len;
    char body[];
} item;

struct wh_sender {
    wh_params p;
    char *url;
    uint8_t *key;
    pthread_t thread;
    bool thread_up;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an item came, or stop */
    item *head, *tail;
    size_t len;
    uint64_t next_id;
    bool quit;
    double give_up_at; /* monotonic; 0: not stopping */
    _Atomic uint64_t queued, sent, retries, dead, dropped;
};

wh_params wh_default_params(void)
{
    wh_params p = {.url = NULL,
                   .key = NULL,
                   .key_len = 0,
                   .queue = 4096,
                   .max_attempts = 6,
                   .backoff_sec = 0.5,
                   .max_backoff_sec = 30,
                   .timeout_sec = 10,
                   .connect_timeout_sec = 5};
    return p;
}

void wh_sign(const uint8_t *key, size_t key_len, const char *timestamp, const char *body,
             size_t len, char out[WH_SIG_LEN + 1])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, key_len, key);
    hmac_sha256_update(&ctx, strlen(timestamp), (const uint8_t *)timestamp);
    hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
    hmac_sha256_update(&ctx, len, (const uint8_t *)body);
    hmac_sha256_digest(&ctx, sizeof(mac), mac);
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256=", 7);
    for (size_t i = 0; i < sizeof(mac); i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[WH_SIG_LEN] = 0;
    memset(&ctx, 0, sizeof(ctx));
}

/* The outcome of one try. */
typedef enum outcome { O_SENT, O_RETRY, O_REFUSED } outcome;

static outcome post_once(wh_sender *w, const item *it, int attempt, double *retry_after)
{
    CURL *k = curl_easy_init();
    if (!k)
        return O_RETRY;
    char ts[32], sig[WH_SIG_LEN + 1], h_ts[64], h_sig[128], h_id[64], h_at[64];
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    wh_sign(w->key, w->p.key_len, ts, it->body, it->len, sig);
    snprintf(h_ts, sizeof(h_ts), "X-Callqa-Timestamp: %s", ts);
    snprintf(h_sig, sizeof(h_sig), "X-Callqa-Signature: %s", sig);
    snprintf(h_id, sizeof(h_id), "X-Callqa-Delivery: %llu", (unsigned long long)it->id);
    snprintf(h_at, sizeof(h_at), "X-Callqa-Attempt: %d", attempt);
    struct curl_slist *hs = NULL, *t;
    const char *lines[] = {"Content-Type: application/json", h_ts, h_sig, h_id, h_at, "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!(t = curl_slist_append(hs, lines[i]))) {
            curl_slist_free_all(hs);
            curl_easy_cleanup(k);
            return O_RETRY;
        }
        hs = t;
    }
    cl_body b = {.max = 65536};
    cl_hdrs h = {.retry_after = -1};
    cl_limits lim = {.connect_timeout_sec = w->p.connect_timeout_sec,
                     .timeout_sec = w->p.timeout_sec,
                     .max_response = 65536};
    pthread_mutex_lock(&w->mu);
    double left = w->give_up_at > 0 ? w->give_up_at - cq_clock_mono_sec() : -1;
    pthread_mutex_unlock(&w->mu);
    if (left >= 0) { /* stopping: a try never outlasts the time destroy gave */
        lim.timeout_sec = left < 0.1 ? 0.1 : left < lim.timeout_sec ? left : lim.timeout_sec;
        if (lim.connect_timeout_sec > lim.timeout_sec)
            lim.connect_timeout_sec = lim.timeout_sec;
    }
    cl_http_setup(k, w->url, &lim, &b, &h);
    curl_easy_setopt(k, CURLOPT_POST, 1L);
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, (const char *)it->body);
    curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    long code;
    CURLcode rc = cl_http_perform(k, hs, &code);
    free(b.p);
    *retry_after = h.retry_after;
    if (rc == CURLE_OK && code >= 200 && code < 300)
        return O_SENT;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && b.too_large))
        return O_RETRY; /* no answer: connection refused, reset, timeout */
    if (code == 408 || code == 425 || code == 429 || code >= 500)
        return O_RETRY;
    return code >= 200 && code < 300 ? O_SENT : O_REFUSED;
}

/* Wait s seconds unless stopping makes the wait pointless. Returns false when the sender gave
 * up (past give_up_at). */
static bool wait_sec(wh_sender *w, double s)
{
    pthread_mutex_lock(&w->mu);
    double until = cq_clock_mono_sec() + s;
    while (!(w->give_up_at > 0 && cq_clock_mono_sec() >= w->give_up_at)) {
        double now = cq_clock_mono_sec(), end = until;
        if (w->give_up_at > 0 && w->give_up_at < end)
            end = w->give_up_at;
        if (now >= end)
            break;
        struct timespec ts = cq_clock_timespec(cq_clock_wall_sec() + (end - now)); /* cv's clock */
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    bool go = !(w->give_up_at > 0 && cq_clock_mono_sec() >= w->give_up_at);
    pthread_mutex_unlock(&w->mu);
    return go;
}

static void *sender_main(void *arg)
{
    wh_sender *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        item *it = w->head;
        bool give_up = w->give_up_at > 0 && cq_clock_mono_sec() >= w->give_up_at;
        pthread_mutex_unlock(&w->mu);
        if (!it || give_up)
            return NULL; /* stopped: what is left is counted by destroy */
        double wait = w->p.backoff_sec;
        bool done = false;
        for (int attempt = 1; !done; attempt++) {
            double ra = -1;
            outcome o = post_once(w, it, attempt, &ra);
            if (o == O_SENT) {
                atomic_fetch_add(&w->sent, 1);
                done = true;
            } else if (o == O_REFUSED || attempt >= w->p.max_attempts) {
                atomic_fetch_add(&w->dead, 1);
                fprintf(stderr, "callqa: webhook: event %llu %s: a dead letter\n",
                        (unsigned long long)it->id,
                        o == O_REFUSED ? "refused by the receiver"
                                       : "not delivered after its attempts");
                done = true;
            } else {
                double d = ra >= 0 ? ra : wait;
                if (d > w->p.max_backoff_sec)
                    d = w->p.max_backoff_sec;
                wait = wait * 2 < w->p.max_backoff_sec ? wait * 2 : w->p.max_backoff_sec;
                if (!wait_sec(w, d))
                    return NULL; /* given up while waiting: it stays queued, counted by destroy */
                atomic_fetch_add(&w->retries, 1);
            }
        }
        pthread_mutex_lock(&w->mu);
        w->head = it->next;
        if (!w->head)
            w->tail = NULL;
        w->len--;
        pthread_mutex_unlock(&w->mu);
        free(it);
    }
}

static int fail(char *err, size_t n, const char *msg)
{
    if (err && n)
        snprintf(err, n, "%s", msg);
    return -1;
}

wh_sender *wh_create(const wh_params *p, char *err, size_t errsz)
{
    if (!p || !p->url || (strncmp(p->url, "http://", 7) != 0 && strncmp(p->url, "https://", 8)) ||
        strlen(p->url) > 2048) {
        fail(err, errsz,
             "the webhook URL must start with http:// or https:// (2048 bytes at most)");
        return NULL;
    }
    for (const char *c = p->url; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            fail(err, errsz, "the webhook URL has a space or a control byte");
            return NULL;
        }
    if (!p->key || p->key_len < 1 || p->key_len > 1024 || p->queue < 1 || p->queue > 1000000 ||
        p->max_attempts < 1 || p->max_attempts > 100 || !(p->backoff_sec >= 0.001) ||
        p->backoff_sec > 600 || !(p->max_backoff_sec >= p->backoff_sec) ||
        p->max_backoff_sec > 3600 || !(p->timeout_sec >= 0.1) || p->timeout_sec > 600 ||
        !(p->connect_timeout_sec >= 0.1) || p->connect_timeout_sec > 600) {
        fail(err, errsz, "a webhook setting out of its range");
        return NULL;
    }
    wh_sender *w = calloc(1, sizeof(*w));
    if (!w || !(w->url = strdup(p->url)) || !(w->key = malloc(p->key_len))) {
        if (w)
            free(w->url);
        free(w);
        fail(err, errsz, "out of memory");
        return NULL;
    }
    w->p = *p;
    w->p.url = w->url;
    memcpy(w->key, p->key, p->key_len);
    w->p.key = w->key;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&w->thread, NULL, sender_main, w) != 0) {
        fail(err, errsz, "no thread for the webhook sender");
        wh_destroy(w, 0, NULL);
        return NULL;
    }
    w->thread_up = true;
    return w;
}

bool wh_post(wh_sender *w, const char *body, size_t len)
{
    item *it = NULL;
    pthread_mutex_lock(&w->mu);
    if (!w->quit && w->len < w->p.queue && (it = malloc(sizeof(*it) + len + 1))) {
        it->next = NULL;
        it->id = ++w->next_id;
        it->len = len;
        memcpy(it->body, body, len);
        it->body[len] = 0;
        if (w->tail)
            w->tail->next = it;
        else
            w->head = it;
        w->tail = it;
        w->len++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    atomic_fetch_add(it ? &w->queued : &w->dropped, 1);
    return it != NULL;
}

void wh_get_stats(wh_sender *w, wh_stats *o)
{
    pthread_mutex_lock(&w->mu);
    o->pending = w->len;
    pthread_mutex_unlock(&w->mu);
    o->queued = w->queued;
    o->sent = w->sent;
    o->retries = w->retries;
    o->dead = w->dead;
    o->dropped = w->dropped;
}

void wh_destroy(wh_sender *w, double drain_sec, wh_stats *final)
{
    if (!w)
        return;
    if (w->thread_up) {
        pthread_mutex_lock(&w->mu);
        w->quit = true;
        w->give_up_at = cq_clock_mono_sec() + (drain_sec > 0 ? drain_sec : 0.000001);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    for (item *it = w->head, *nx; it; it = nx) {
        nx = it->next;
        atomic_fetch_add(&w->dropped, 1);
        free(it);
    }
    w->head = w->tail = NULL;
    w->len = 0;
    if (final)
        wh_get_stats(w, final);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    memset(w->key, 0, w->p.key_len);
    free(w->key);
    free(w->url);
    free(w);
}
