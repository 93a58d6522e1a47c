/*
 * webhook.h - events POSTed to a URL, signed: the webhook sender of `callqa live --webhook`
 * (docs/live/hold-slayer.md, "Webhooks").
 *
 * Each event is one JSON body, POSTed with
 *   Content-Type: application/json
 *   X-Callqa-Timestamp: <Unix seconds of this attempt>
 *   X-Callqa-Signature: sha256=<hex HMAC-SHA256 under the shared secret of "<timestamp>.<body>">
 *   X-Callqa-Delivery: <the event's number, the same on every attempt>
 *   X-Callqa-Attempt: <1, 2, ...>
 * A 2xx answer delivers it. A connection failure, a timeout, 408, 425, 429 or 5xx is tried again
 * after a wait that doubles from backoff_sec up to max_backoff_sec (or the answer's Retry-After,
 * within the same bound), at most max_attempts tries in all; another answer (400, 401, 404, ...)
 * is not tried again. An event that is not delivered is a dead letter: counted, never kept.
 *
 * DESIGN: one sender thread, events in order, from a bounded queue that wh_post fills without
 * waiting (a full queue drops the event, counted), so the caller (the live server's writer
 * thread) is never held up by a slow or absent receiver. libcurl with cl_http's limits (only the
 * given URL, no redirects, no proxy from the environment, http and https only); the HMAC is
 * nettle's. The key is the caller's, read from a file of mode 0600 (cfg_read_secret).
 *
 * ROOM: src/clients/, floor 6, prefix wh_; libcurl and nettle, cl_http.h of its own room.
 *
 * Thread safety: wh_post and wh_get_stats from any thread; create and destroy from one.
 */
#ifndef CQ_WEBHOOK_H
#define CQ_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WH_SIG_LEN 71 /* "sha256=" and 64 hex digits */

typedef struct wh_params {
    const char *url;            /* http:// or https:// (copied) */
    const uint8_t *key;         /* the HMAC key (copied) */
    size_t key_len;             /* 1-1024 bytes */
    size_t queue;               /* events waiting (1-1000000) */
    int max_attempts;           /* tries per event (1-100) */
    double backoff_sec;         /* the wait before the second try, doubled after each (0.001-600) */
    double max_backoff_sec;     /* the longest wait (backoff_sec-3600) */
    double timeout_sec;         /* of one POST, connection included (0.1-600) */
    double connect_timeout_sec; /* of its connection (0.1-600) */
} wh_params;

/* queue 4096, 6 attempts, 0.5 s doubling to 30 s, 10 s a POST, 5 s to connect; url and key
 * unset. */
wh_params wh_default_params(void);

typedef struct wh_stats {
    uint64_t queued;  /* events taken by wh_post */
    uint64_t sent;    /* delivered (a 2xx answer) */
    uint64_t retries; /* tries after the first */
    uint64_t dead;    /* dead letters: not delivered after their tries, or refused (4xx) */
    uint64_t dropped; /* not taken (the queue was full), or still queued when destroy gave up */
    uint64_t pending; /* waiting now */
} wh_stats;

typedef struct wh_sender wh_sender;

/* Check the parameters and start the sender thread. NULL with err (never the key) on failure. */
wh_sender *wh_create(const wh_params *p, char *err, size_t errsz);
/* Queue one event (its body copied). False when the queue is full: the event is dropped. */
bool wh_post(wh_sender *w, const char *body, size_t len);
void wh_get_stats(wh_sender *w, wh_stats *out);
/* Let the queue go out for at most drain_sec (waits and tries shortened; whatever is left then
 * is counted in dropped), stop the thread, put the final counts in *final (may be NULL), free.
 * NULL: no-op. */
void wh_destroy(wh_sender *w, double drain_sec, wh_stats *final);

/* The signature header's value: "sha256=" and the hex HMAC-SHA256 under key of
 * "<timestamp>.<body>", into out[WH_SIG_LEN + 1]. */
void wh_sign(const uint8_t *key, size_t key_len, const char *timestamp, const char *body,
             size_t len, char out[WH_SIG_LEN + 1]);

#endif /* CQ_WEBHOOK_H */
