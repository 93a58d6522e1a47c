/*
 * svc_auditq.c - the audit trail's queue: a request leaves its rows here when it ends, and one
 * thread writes them to the store in group commits, off the requests' path (docs/privacy/access.md,
 * "The audit trail").
 *
 * DESIGN
 * A ring of at most audit_queue_rows rows, each a copy (one allocation holding its strings), under
 * one mutex. The writer takes what is queued, up to AUDITQ_BATCH rows, and appends them in one
 * transaction on a store connection of its own (store_audit_append_many), so that it never holds
 * the connection the requests read through; while it writes, the next rows gather, so that the
 * busier the service, the larger each commit. A row leaves the ring only once its transaction
 * committed: a store that fails (locked, restarting) keeps them queued, and the writer tries
 * again after a pause that doubles up to AUDITQ_RETRY_MAX_SEC.
 *
 * A full ring makes the request that ends wait for room, up to audit_queue_wait_sec (the service
 * slows down rather than lose rows); past that, its rows are dropped: counted in
 * callqa_audit_rows_total{outcome="dropped"} and said in one log line each time. At SIGTERM the
 * service stops taking requests, their rows are queued, and svc_auditq_stop writes every one
 * (trying for AUDITQ_DRAIN_SEC when the store fails; what it could not write is counted and
 * logged). What a crash (SIGKILL, power) can lose is what was queued and not committed yet.
 *
 * The checkpoints of SQLite's write-ahead log are a thread's of their own here, on a third
 * connection, and no other connection of the service makes one (store_wal_manual). A checkpoint
 * copies the log into the database with two fsyncs, and a commit that takes the log past 1000
 * pages would make it there and then: the audit trail's writer, sitting in those fsyncs (a
 * second and more on a busy disk), stopped draining the ring, which at tens of thousands of
 * requests a second filled, and every request waited for room (docs/service.md, "Requests
 * that stalled"). The checkpointer copies what was committed every CKPT_SEC without waiting
 * for anyone, while the writer goes on committing (a commit only writes the log, no fsync). The
 * log starts over only when everything in it was copied as a commit begins, which steady writes
 * never allow: past CKPT_RESTART_FRAMES the checkpointer asks the writer to pause (parked: its
 * rows gather in the ring), copies the rest, and the writer's next commit starts the log over.
 * A ring half full ends the pause at once: the log then grows until a later pause, and a request
 * never waits for a checkpoint.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_auditq.h"
#include "../store/store.h"
#include "../store/store_users.h"
#include "callqa/cq_clock.h"

#define AUDITQ_BATCH 4096        /* rows per transaction at most */
#define AUDITQ_GROUP_SEC 0.01    /* commits at most this often while rows keep coming */
#define AUDITQ_RETRY_MAX_SEC 5.0 /* the longest pause between tries on a failing store */
#define AUDITQ_DRAIN_SEC 10.0    /* at stop: how long a failing store is tried */
#define AUDITQ_TEXT_MAX 256      /* bytes of one field kept (target, ...), NUL included */
#define CKPT_SEC 1.0             /* the checkpointer copies the log this often */
#define CKPT_RESTART_FRAMES 8192 /* a log of more pages (32 MiB) is made to start over */
#define CKPT_PARK_WAIT_SEC 1.0   /* how long the checkpointer waits for the writer to pause */

/* One queued row: the strings follow the struct, in the same allocation. */
typedef struct qrow {
    double ts;
    int status;
    const char *who, *role, *action, *target, *client; /* into text[]; target, client may be NULL */
    char text[];
} qrow;

struct svc_auditq {
    store *st; /* the writer's own connection */
    store *ck; /* the checkpointer's (NULL: PostgreSQL, no checkpointer) */
    pthread_mutex_t mu;
    pthread_cond_t has_rows; /* the writer waits on it */
    pthread_cond_t has_room; /* requests wait on it when the ring is full */
    pthread_cond_t progress; /* svc_auditq_sync waits on it */
    pthread_cond_t ck_wake;  /* the checkpointer waits on it: its period, the writer parked */
    qrow **ring;
    size_t cap, head, n; /* the rows queued: ring[(head + i) % cap], i < n */
    double wait_sec;
    bool stopping;
    bool idle;      /* the writer waits for a first row: a put wakes it */
    bool gathering; /* the writer lets rows gather (AUDITQ_GROUP_SEC): only a half-full ring
                       or the stop wakes it */
    bool hold;      /* the checkpointer asks the writer to pause */
    bool parked;    /* the writer pauses (no commit of its is under way) */
    int syncing;    /* svc_auditq_sync callers waiting: a pause ends for them */
    pthread_t thread, ck_thread;
    bool started, ck_started;
    /* counters (under mu) */
    uint64_t queued;   /* rows taken into the ring */
    uint64_t done;     /* rows that left it: written, or dropped at stop */
    uint64_t written;  /* rows committed */
    uint64_t dropped;  /* rows refused on a full ring, or not written at stop */
    uint64_t batches;  /* transactions committed */
    uint64_t failures; /* transactions that failed (tried again) */
    size_t high;       /* the most rows queued at once */
    double waited_sec; /* time requests spent waiting for room */
};

/* a CLOCK_MONOTONIC deadline for pthread_cond_timedwait (the conds are made with that clock) */
static struct timespec deadline_in(double sec)
{
    return cq_clock_timespec(cq_clock_mono_sec() + (sec > 0 ? sec : 0));
}

static size_t field_len(const char *s)
{
    return s ? strnlen(s, AUDITQ_TEXT_MAX - 1) + 1 : 0;
}

static char *put_field(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = field_len(s) - 1;
    char *out = *p;
    memcpy(out, s, n);
    out[n] = 0;
    *p += n + 1;
    return out;
}

static qrow *row_copy(const store_audit_row *a)
{
    const char *who = a->who ? a->who : "-", *role = a->role ? a->role : "none",
               *action = a->action ? a->action : "-";
    size_t n = field_len(who) + field_len(role) + field_len(action) + field_len(a->target) +
               field_len(a->client);
    qrow *r = malloc(sizeof(*r) + n);
    if (!r)
        return NULL;
    char *p = r->text;
    r->ts = a->ts;
    r->status = a->status;
    r->who = put_field(&p, who);
    r->role = put_field(&p, role);
    r->action = put_field(&p, action);
    r->target = put_field(&p, a->target);
    r->client = put_field(&p, a->client);
    return r;
}

static void *writer(void *arg)
{
    svc_auditq *q = arg;
    store_audit_row *batch = malloc(sizeof(*batch) * AUDITQ_BATCH);
    double pause = 0.1, stop_since = 0, last_commit = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        q->idle = true;
        while (q->n == 0 && !q->stopping)
            pthread_cond_wait(&q->has_rows, &q->mu);
        q->idle = false;
        if (q->n == 0)
            break; /* stopping, and every row written */
        /* paused for the checkpointer while the ring has room (a request never waits for it) */
        if (q->hold && q->n < q->cap / 2 && !q->stopping && !q->syncing) {
            q->parked = true;
            pthread_cond_broadcast(&q->ck_wake);
            while (q->hold && q->n < q->cap / 2 && !q->stopping && !q->syncing)
                pthread_cond_wait(&q->has_rows, &q->mu);
            q->parked = false;
        }
        /* a group commit: within AUDITQ_GROUP_SEC of the last one, the rows gather until then
         * (a crash loses what gathered); a first row after a quiet spell is written at once */
        double due = last_commit + AUDITQ_GROUP_SEC;
        if (cq_clock_mono_sec() < due && q->n < q->cap / 2 && !q->stopping) {
            q->gathering = true;
            struct timespec until = deadline_in(due - cq_clock_mono_sec());
            while (q->n < q->cap / 2 && !q->stopping &&
                   pthread_cond_timedwait(&q->has_rows, &q->mu, &until) != ETIMEDOUT) {
            }
            q->gathering = false;
        }
        /* the rows at the head stay in the ring until committed: requests only add at the tail */
        size_t k = q->n < AUDITQ_BATCH ? q->n : AUDITQ_BATCH, head = q->head;
        if (!batch)
            k = 0;
        for (size_t i = 0; i < k; i++) {
            const qrow *r = q->ring[(head + i) % q->cap];
            batch[i] = (store_audit_row){.ts = r->ts,
                                         .who = r->who,
                                         .role = r->role,
                                         .action = r->action,
                                         .target = r->target,
                                         .client = r->client,
                                         .status = r->status};
        }
        pthread_mutex_unlock(&q->mu);
        last_commit = cq_clock_mono_sec();
        int rc = k ? store_audit_append_many(q->st, batch, (int)k) : -1;
        if (rc != 0) {
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"the audit trail could not be written: its "
                    "rows stay queued and are tried again\",\"rows\":%zu,\"error\":\"%s\"}\n",
                    k, batch ? store_errmsg(q->st) : "out of memory");
        }
        pthread_mutex_lock(&q->mu);
        if (rc == 0) {
            for (size_t i = 0; i < k; i++)
                free(q->ring[(head + i) % q->cap]);
            q->head = (head + k) % q->cap;
            q->n -= k;
            q->done += k;
            q->written += k;
            q->batches++;
            pause = 0.1;
            pthread_cond_broadcast(&q->has_room);
            pthread_cond_broadcast(&q->progress);
            continue;
        }
        q->failures++;
        if (q->stopping) { /* draining: give the store AUDITQ_DRAIN_SEC, then count the loss */
            if (!stop_since)
                stop_since = cq_clock_mono_sec();
            if (cq_clock_mono_sec() - stop_since > AUDITQ_DRAIN_SEC) {
                size_t lost = q->n;
                for (size_t i = 0; i < q->n; i++)
                    free(q->ring[(q->head + i) % q->cap]);
                q->head = 0, q->n = 0;
                q->done += lost, q->dropped += lost;
                pthread_cond_broadcast(&q->progress);
                fprintf(stderr,
                        "{\"level\":\"error\",\"msg\":\"audit rows lost at stop: the store "
                        "could not be written for %.0f s\",\"dropped\":%zu}\n",
                        AUDITQ_DRAIN_SEC, lost);
                break;
            }
        }
        pthread_mutex_unlock(&q->mu);
        cq_clock_sleep_all(pause);
        pause = pause * 2 < AUDITQ_RETRY_MAX_SEC ? pause * 2 : AUDITQ_RETRY_MAX_SEC;
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    return NULL;
}

/* The log copied into the database every CKPT_SEC; past CKPT_RESTART_FRAMES, once more with
 * the writer paused, so that its next commit starts the log over. */
static void *checkpointer(void *arg)
{
    svc_auditq *q = arg;
    bool failed = false;
    pthread_mutex_lock(&q->mu);
    while (!q->stopping) {
        struct timespec until = deadline_in(CKPT_SEC);
        while (!q->stopping && pthread_cond_timedwait(&q->ck_wake, &q->mu, &until) != ETIMEDOUT) {
        }
        if (q->stopping)
            break;
        pthread_mutex_unlock(&q->mu);
        int64_t frames = 0, copied = 0;
        int rc = store_checkpoint(q->ck, &frames, &copied);
        pthread_mutex_lock(&q->mu);
        if (rc != 0 && !failed) /* said once until it works again */
            fprintf(stderr,
                    "{\"level\":\"warn\",\"msg\":\"the write-ahead log could not be "
                    "checkpointed: tried again every second\",\"error\":\"%s\"}\n",
                    store_errmsg(q->ck));
        failed = rc != 0;
        if (rc != 0 || frames < CKPT_RESTART_FRAMES)
            continue;
        /* the log goes on growing under steady commits: the writer pauses after its commit
         * under way (an idle one commits nothing), the rest is copied, and its next commit
         * starts the log over */
        q->hold = true;
        pthread_cond_broadcast(&q->has_rows);
        until = deadline_in(CKPT_PARK_WAIT_SEC);
        while (!q->parked && !q->idle && !q->stopping &&
               pthread_cond_timedwait(&q->ck_wake, &q->mu, &until) != ETIMEDOUT) {
        }
        if (q->parked || q->idle) {
            pthread_mutex_unlock(&q->mu);
            store_checkpoint(q->ck, &frames, &copied);
            pthread_mutex_lock(&q->mu);
        }
        q->hold = false;
        pthread_cond_broadcast(&q->has_rows);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

svc_auditq *svc_auditq_start(const cfg_settings *c, char *msg, size_t msgsz)
{
    svc_auditq *q = calloc(1, sizeof(*q));
    if (!q || !(q->ring = calloc((size_t)c->audit_queue_rows, sizeof(*q->ring)))) {
        snprintf(msg, msgsz, "the audit queue: out of memory");
        free(q);
        return NULL;
    }
    q->cap = (size_t)c->audit_queue_rows;
    q->wait_sec = c->audit_queue_wait_sec;
    char why[1000];
    /* SQLite: the checkpoints are the checkpointer's, on a connection of its own */
    int manual = -1;
    if (!(q->st = store_open(c->db_path, why, sizeof(why))))
        snprintf(msg, msgsz, "the audit trail's connection to the store: %s", why);
    else if ((manual = store_wal_manual(q->st)) < 0)
        snprintf(msg, msgsz, "the audit trail's connection to the store: %s", store_errmsg(q->st));
    else if (manual == 1 && !(q->ck = store_open(c->db_path, why, sizeof(why))))
        snprintf(msg, msgsz, "the checkpointer's connection to the store: %s", why);
    if (!q->st || manual < 0 || (manual == 1 && !q->ck)) {
        store_close(q->st);
        free(q->ring);
        free(q);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->has_rows, &ca);
    pthread_cond_init(&q->has_room, &ca);
    pthread_cond_init(&q->progress, &ca);
    pthread_cond_init(&q->ck_wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        snprintf(msg, msgsz, "the audit trail's writer: no thread");
        svc_auditq_stop(q);
        return NULL;
    }
    q->started = true;
    if (q->ck && pthread_create(&q->ck_thread, NULL, checkpointer, q) != 0) {
        snprintf(msg, msgsz, "the store's checkpointer: no thread");
        svc_auditq_stop(q);
        return NULL;
    }
    q->ck_started = q->ck != NULL;
    return q;
}

int svc_auditq_put(svc_auditq *q, const store_audit_row *rows, int n)
{
    int dropped = 0, i = 0;
    double t0 = 0;
    pthread_mutex_lock(&q->mu);
    for (; i < n; i++) {
        if (q->n == q->cap) { /* full: wait for room, up to audit_queue_wait_sec from the first */
            if (!t0)
                t0 = cq_clock_mono_sec();
            struct timespec until = deadline_in(q->wait_sec - (cq_clock_mono_sec() - t0));
            while (q->n == q->cap && !q->stopping &&
                   pthread_cond_timedwait(&q->has_room, &q->mu, &until) != ETIMEDOUT) {
            }
            if (q->n == q->cap)
                break;
        }
        qrow *r = row_copy(&rows[i]);
        if (!r)
            break;
        q->ring[(q->head + q->n) % q->cap] = r;
        q->n++;
        q->queued++;
        if (q->n > q->high)
            q->high = q->n;
    }
    dropped = n - i;
    q->dropped += (uint64_t)dropped;
    if (t0)
        q->waited_sec += cq_clock_mono_sec() - t0;
    uint64_t total = q->dropped;
    size_t queued = q->n;
    /* the writer is woken by a first row, or by a ring half full while rows gather or it is
     * parked */
    if (i && (q->idle || ((q->gathering || q->parked) && q->n >= q->cap / 2)))
        pthread_cond_signal(&q->has_rows);
    pthread_mutex_unlock(&q->mu);
    if (dropped)
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"audit rows dropped: the audit queue stayed full "
                "(or no memory) for audit_queue_wait_sec\",\"rows\":%d,\"action\":\"%s\","
                "\"queued\":%zu,\"dropped_total\":%llu}\n",
                dropped, rows[0].action ? rows[0].action : "-", queued, (unsigned long long)total);
    return dropped;
}

int svc_auditq_sync(svc_auditq *q, double timeout_sec)
{
    pthread_mutex_lock(&q->mu);
    uint64_t want = q->queued;
    struct timespec until = deadline_in(timeout_sec);
    int rc = 0;
    q->syncing++;
    if (q->parked)
        pthread_cond_broadcast(&q->has_rows);
    while (q->done < want && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->progress, &q->mu, &until);
    q->syncing--;
    bool ok = q->done >= want;
    pthread_mutex_unlock(&q->mu);
    return ok ? 0 : -1;
}

void svc_auditq_stop(svc_auditq *q)
{
    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        q->stopping = true;
        pthread_cond_broadcast(&q->has_rows);
        pthread_cond_broadcast(&q->has_room);
        pthread_cond_broadcast(&q->ck_wake);
        pthread_mutex_unlock(&q->mu);
        if (q->ck_started)
            pthread_join(q->ck_thread, NULL);
        pthread_join(q->thread, NULL);
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"the audit queue is drained\",\"written\":%llu,"
                "\"dropped\":%llu,\"batches\":%llu}\n",
                (unsigned long long)q->written, (unsigned long long)q->dropped,
                (unsigned long long)q->batches);
    }
    for (size_t i = 0; i < q->n; i++)
        free(q->ring[(q->head + i) % q->cap]);
    store_close(q->ck);
    store_close(q->st);
    pthread_cond_destroy(&q->ck_wake);
    pthread_cond_destroy(&q->has_rows);
    pthread_cond_destroy(&q->has_room);
    pthread_cond_destroy(&q->progress);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q);
}

void svc_auditq_metrics(svc_auditq *q, FILE *f)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    uint64_t written = q->written, dropped = q->dropped, batches = q->batches,
             failures = q->failures;
    size_t n = q->n, cap = q->cap, high = q->high;
    double waited = q->waited_sec;
    pthread_mutex_unlock(&q->mu);
    fprintf(
        f,
        "# HELP callqa_audit_rows_total Audit trail rows: written to the store, or dropped "
        "(the queue stayed full past audit_queue_wait_sec, or the store failed at stop).\n"
        "# TYPE callqa_audit_rows_total counter\n"
        "callqa_audit_rows_total{outcome=\"written\"} %llu\n"
        "callqa_audit_rows_total{outcome=\"dropped\"} %llu\n"
        "# HELP callqa_audit_commits_total Transactions (group commits) of the audit trail.\n"
        "# TYPE callqa_audit_commits_total counter\ncallqa_audit_commits_total %llu\n"
        "# HELP callqa_audit_write_failures_total Audit commits that failed (their rows "
        "stayed queued and were tried again).\n"
        "# TYPE callqa_audit_write_failures_total counter\n"
        "callqa_audit_write_failures_total %llu\n"
        "# HELP callqa_audit_queue_rows Audit rows queued, not written yet.\n"
        "# TYPE callqa_audit_queue_rows gauge\ncallqa_audit_queue_rows %zu\n"
        "# HELP callqa_audit_queue_capacity The audit queue's size (audit_queue_rows).\n"
        "# TYPE callqa_audit_queue_capacity gauge\ncallqa_audit_queue_capacity %zu\n"
        "# HELP callqa_audit_queue_high_rows The most audit rows queued at once.\n"
        "# TYPE callqa_audit_queue_high_rows gauge\ncallqa_audit_queue_high_rows %zu\n"
        "# HELP callqa_audit_wait_seconds_total Time requests waited for room in a full "
        "audit queue.\n"
        "# TYPE callqa_audit_wait_seconds_total counter\ncallqa_audit_wait_seconds_total %.6f\n",
        (unsigned long long)written, (unsigned long long)dropped, (unsigned long long)batches,
        (unsigned long long)failures, n, cap, high, waited);
}
