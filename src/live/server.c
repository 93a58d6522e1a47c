/*
 * server.c - `callqa live --audiosocket`: the AudioSocket server, its call sessions, the pool of
 * analysis threads and the writer of event lines (live.h, "the AudioSocket server"; docs/live.md,
 * "callqa live").
 *
 * Three kinds of thread, and what each may wait for:
 *   network   (the caller of lv_server_run) epoll over the listening socket, a wake-up eventfd
 *             and every connection, all non-blocking; it feeds each connection's bytes to its
 *             lv_as decoder and copies audio into the call's ring. It takes short locks only
 *             (a call's ring, the run queue, the event queue) and never waits for analysis or
 *             for the reader of the events: a full ring drops audio, a full event queue drops
 *             lines, both counted.
 *   analysis  `threads` of them take calls with work from the run queue (one thread per call
 *             at a time, at most about a second of audio per turn, then back to the tail), run
 *             VAD and the streaming classifier and queue the event lines; the one that finds a
 *             call ended with its ring empty finishes it and writes its call_end.
 *   writer    takes lines from the event queue and writes them to events_fd (non-blocking, with
 *             poll), then hands each to the sink (on_event) if there is one; at shutdown it is
 * given a few seconds to flush a stalled reader. A call is shared by the network thread and the
 * analysis side with a count of two references; the last to let go frees it. The server's `active`
 * count is the calls not yet freed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_classify.h"
#include "callqa/cq_resample.h"
#include "callqa/cq_vad.h"
#include "live_int.h"

#define TURN_SAMPLES 4096 /* input samples an analysis thread takes from a ring at once */
#define TURN_MAX 8        /* takes per turn before the call goes back to the queue's tail */
#define RS_CAP (TURN_SAMPLES + 1024)
#define LINE_MAX 1024
#define READ_BUF 65536

typedef enum end_reason {
    R_NONE = 0,
    R_HANGUP,
    R_PEER_CLOSED,
    R_MAX_DURATION,
    R_STALLED,
    R_ERROR,
    R_SHUTDOWN
} end_reason;
static const char *const k_reason[] = {"",        "hangup", "peer_closed", "max_duration",
                                       "stalled", "error",  "shutdown"};

typedef struct call call;
typedef struct worker worker;
struct call {
    lv_server *srv;
    /* network thread only */
    int fd;
    lv_as_dec *dec;
    bool has_uuid;
    double t_accept, t_last; /* monotonic seconds */
    uint64_t frames, dtmf;
    call *prev, *next; /* the network thread's list of open connections */
    call *next_closed; /* released after the epoll batch */
    char uuid[37];     /* set once, before the analysis side sees the call */
    /* shared, under mu */
    pthread_mutex_t mu;
    int refs;
    uint32_t rate; /* of the audio, set by the first audio frame */
    int16_t *ring; /* queue_sec of audio at rate */
    size_t cap, head, len;
    uint64_t rx_samples; /* audio received (at rate) */
    uint64_t dropped;    /* of it, dropped: the ring was full */
    bool ended;
    end_reason reason;
    char err[200];
    bool queued; /* in the run queue or in an analysis thread's hands */
    call *next_run;
    /* the analysis thread that holds it */
    cq_vad *vad;
    cq_classifier *cls;
    cq_resample *rs;
    float pend[CQ_CLASSIFY_FRAME];
    size_t npend;
    uint64_t pushed; /* 8 kHz samples given to the classifier */
    int werr;        /* the first analysis error: the rest of the audio is not analysed */
    bool started, finished;
};

/* What the sink is told about a line besides its text (lv_event). */
typedef struct meta {
    char call[37];
    char type[16];
    int state;
    const char *rule, *reason; /* static strings */
    double start, end, at, speech, quiet;
} meta;

typedef struct line {
    struct line *next;
    meta m;
    size_t len;
    char text[];
} line;

struct lv_server {
    lv_server_params p;
    int lfd, efd, ep, port;
    call *conns; /* open connections (network thread) */
    double last_stats, last_timers;
    int events_fl; /* events_fd's flags before it was made non-blocking (-1: unknown) */
    /* run queue */
    pthread_mutex_t rq_mu;
    pthread_cond_t rq_cv;
    call *rq_head, *rq_tail;
    bool rq_quit;
    pthread_t *workers;
    worker *wks;
    int nworkers;
    /* event queue */
    pthread_mutex_t eq_mu;
    pthread_cond_t eq_cv;
    line *eq_head, *eq_tail;
    size_t eq_len;
    bool eq_quit;
    double eq_abandon_at; /* monotonic; 0: not yet */
    pthread_t writer;
    bool writer_up;
    /* counters */
    _Atomic uint64_t accepted, calls, refused_full, refused_uuid, active, events, events_dropped,
        audio_dropped;
};

/* ---- clocks and lines --------------------------------------------------------------------------
 */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ISO 8601 UTC with milliseconds into buf[32]. */
static const char *wall_now(char buf[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, 32 - k, ".%03dZ", (int)(ts.tv_nsec / 1000000));
    return buf;
}

/* Queue one line (a '\n' is added); dropped and counted when the queue is full. */
static void emit(lv_server *s, const meta *m, const char *text, size_t len)
{
    line *l = NULL;
    pthread_mutex_lock(&s->eq_mu);
    if (s->eq_len < s->p.event_queue && (l = malloc(sizeof(*l) + len + 1))) {
        l->m = *m;
        memcpy(l->text, text, len);
        l->text[len] = '\n';
        l->len = len + 1;
        l->next = NULL;
        if (s->eq_tail)
            s->eq_tail->next = l;
        else
            s->eq_head = l;
        s->eq_tail = l;
        s->eq_len++;
        pthread_cond_signal(&s->eq_cv);
    }
    pthread_mutex_unlock(&s->eq_mu);
    if (l)
        atomic_fetch_add(&s->events, 1);
    else
        atomic_fetch_add(&s->events_dropped, 1);
}

/* Append to a line being built (never past its end). */
typedef struct lbuf {
    char b[LINE_MAX];
    size_t n;
} lbuf;

static void LV__PRINTF(2, 3) put(lbuf *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->n < sizeof(l->b)) {
        int k = vsnprintf(l->b + l->n, sizeof(l->b) - l->n, fmt, ap);
        if (k > 0)
            l->n = l->n + (size_t)k < sizeof(l->b) ? l->n + (size_t)k : sizeof(l->b) - 1;
    }
    va_end(ap);
}

/* A JSON string's body: quotes, backslashes and control bytes escaped. */
static void put_str(lbuf *l, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            put(l, "\\%c", ch);
        else if (ch < 0x20)
            put(l, "\\u%04x", ch);
        else
            put(l, "%c", ch);
    }
}

static void put_tail(lbuf *l, double call_sec)
{
    char w[32];
    put(l, ",\"call_sec\":%.3f,\"wall\":\"%s\"}", call_sec, wall_now(w));
}

/* The classifier's event, as `callqa classify` prints it, with call, call_sec and wall. */
static void emit_event(call *c, const cq_call_event *e)
{
    double at = (double)c->pushed / CQ_CLASSIFY_RATE;
    char fields[1024];
    cq_call_event_fields(e, at, fields, sizeof(fields));
    lbuf l = {.n = 0};
    put(&l, "{\"call\":\"%s\",%s", c->uuid, fields);
    put_tail(&l, at);
    meta m = {.state = (int)e->state,
              .rule = e->rule,
              .start = e->start_sec,
              .end = e->end_sec > e->start_sec ? e->end_sec : e->start_sec,
              .at = at,
              .speech = e->speech_sec,
              .quiet = e->quiet_sec};
    memcpy(m.call, c->uuid, sizeof(m.call));
    snprintf(m.type, sizeof(m.type), "%s", cq_event_type_name(e->type));
    emit(c->srv, &m, l.b, l.n);
}

static void emit_stats(lv_server *s, bool final)
{
    lbuf l = {.n = 0};
    char w[32];
    put(&l,
        "{\"type\":\"stats\",\"final\":%s,\"accepted\":%llu,\"calls\":%llu,\"active\":%llu,"
        "\"refused_full\":%llu,\"refused_uuid\":%llu,\"events\":%llu,\"events_dropped\":%llu,"
        "\"audio_dropped_samples\":%llu,\"wall\":\"%s\"}",
        final ? "true" : "false", (unsigned long long)s->accepted, (unsigned long long)s->calls,
        (unsigned long long)s->active, (unsigned long long)s->refused_full,
        (unsigned long long)s->refused_uuid, (unsigned long long)s->events,
        (unsigned long long)s->events_dropped, (unsigned long long)s->audio_dropped, wall_now(w));
    if (s->p.on_stats && l.n > 0 && l.n < sizeof(l.b)) { /* the sink's fields before the '}' */
        char more[512];
        size_t k = s->p.on_stats(s->p.user, more, sizeof(more));
        if (k > 0 && k < sizeof(more) && l.n + k < sizeof(l.b)) {
            l.n--;
            put(&l, "%.*s}", (int)k, more);
        }
    }
    meta m = {.type = "stats"};
    emit(s, &m, l.b, l.n);
}

/* ---- the writer --------------------------------------------------------------------------------
 */

static void *writer_main(void *arg)
{
    lv_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->eq_mu);
        while (!s->eq_head && !s->eq_quit)
            pthread_cond_wait(&s->eq_cv, &s->eq_mu);
        line *l = s->eq_head;
        if (l) {
            s->eq_head = l->next;
            if (!s->eq_head)
                s->eq_tail = NULL;
            s->eq_len--;
        }
        double abandon = s->eq_abandon_at;
        pthread_mutex_unlock(&s->eq_mu);
        if (!l)
            return NULL; /* quit, and nothing left */
        size_t off = 0;
        if (abandon > 0 && mono_now() > abandon)
            off = l->len + 1; /* given up on the reader: the rest is dropped, counted */
        while (off < l->len) {
            ssize_t k = write(s->p.events_fd, l->text + off, l->len - off);
            if (k > 0) {
                off += (size_t)k;
                continue;
            }
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                break; /* the reader went away: the line is lost */
            struct pollfd pf = {.fd = s->p.events_fd, .events = POLLOUT};
            (void)poll(&pf, 1, 100);
            pthread_mutex_lock(&s->eq_mu);
            abandon = s->eq_abandon_at;
            pthread_mutex_unlock(&s->eq_mu);
            if (abandon > 0 && mono_now() > abandon)
                break;
        }
        if (off != l->len)
            atomic_fetch_add(&s->events_dropped, 1);
        if (s->p.on_event) { /* after the queue: a slow sink never holds up the audio */
            lv_event ev = {.call = l->m.call,
                           .type = l->m.type,
                           .json = l->text,
                           .len = l->len - 1,
                           .state = l->m.state,
                           .rule = l->m.rule,
                           .start_sec = l->m.start,
                           .end_sec = l->m.end,
                           .at_sec = l->m.at,
                           .speech_sec = l->m.speech,
                           .quiet_sec = l->m.quiet,
                           .reason = l->m.reason};
            s->p.on_event(s->p.user, &ev);
        }
        free(l);
    }
}

/* ---- calls: references, the run queue -------------------------------------------------------- */

static void call_release(call *c)
{
    pthread_mutex_lock(&c->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left)
        return;
    lv_server *s = c->srv;
    cq_classifier_destroy(c->cls);
    cq_vad_destroy(c->vad);
    cq_resample_destroy(c->rs);
    lv_as_destroy(c->dec);
    pthread_mutex_destroy(&c->mu);
    free(c->ring);
    free(c);
    atomic_fetch_sub(&s->active, 1);
}

/* Put a call with work on the run queue unless it is there or being run. Caller holds c->mu. */
static void schedule_locked(call *c)
{
    if (c->queued)
        return;
    c->queued = true;
    lv_server *s = c->srv;
    pthread_mutex_lock(&s->rq_mu);
    c->next_run = NULL;
    if (s->rq_tail)
        s->rq_tail->next_run = c;
    else
        s->rq_head = c;
    s->rq_tail = c;
    pthread_cond_signal(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
}

/* ---- analysis ----------------------------------------------------------------------------------
 */

typedef struct wbuf {
    int16_t pcm[TURN_SAMPLES];
    float x[TURN_SAMPLES];
    float y[RS_CAP];
} wbuf;

static int drain(call *c)
{
    const cq_call_event *ev;
    size_t n;
    int rc = cq_classifier_poll(c->cls, &ev, &n);
    for (size_t i = 0; rc == CQ_OK && i < n; i++)
        emit_event(c, &ev[i]);
    return rc;
}

/* 8 kHz samples into the VAD (whole chunks) and the classifier, as `callqa classify` does. */
static int feed8k(call *c, const float *x, size_t n)
{
    int rc = cq_classifier_push_audio(c->cls, x, n);
    c->pushed += n;
    while (rc == CQ_OK && n) {
        size_t k = CQ_CLASSIFY_FRAME - c->npend < n ? CQ_CLASSIFY_FRAME - c->npend : n;
        memcpy(c->pend + c->npend, x, k * sizeof(float));
        c->npend += k, x += k, n -= k;
        if (c->npend == CQ_CLASSIFY_FRAME) {
            float p;
            c->npend = 0;
            if ((rc = cq_vad_process(c->vad, c->pend, 1, &p)) == CQ_OK)
                rc = cq_classifier_push_vad(c->cls, &p, 1);
        }
    }
    return rc == CQ_OK ? drain(c) : rc;
}

static int start(call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    cq_classify_params cp = cq_classify_default_params();
    cp.live = (cq_live_mode)s->p.live_mode;
    int rc = CQ_OK;
    c->started = true;
    if (!(c->vad = cq_vad_create(s->p.vad_model, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (!(c->cls = cq_classifier_create(&cp, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (rate && rate != CQ_CLASSIFY_RATE &&
        !(c->rs = cq_resample_create((double)rate, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    return CQ_OK;
}

static int analyse(call *c, wbuf *w, size_t n)
{
    lv_pcm_to_float(w->pcm, n, w->x);
    if (!c->rs)
        return feed8k(c, w->x, n);
    long got = cq_resample_process(c->rs, w->x, n, w->y, RS_CAP);
    return got < 0 ? (int)got : feed8k(c, w->y, (size_t)got);
}

static int finish(call *c, wbuf *w)
{
    int rc = CQ_OK;
    long got;
    while (c->rs && rc == CQ_OK && (got = cq_resample_process(c->rs, NULL, 0, w->y, RS_CAP)) > 0)
        rc = feed8k(c, w->y, (size_t)got);
    if (rc == CQ_OK && c->npend) { /* the last chunk, zero-padded, as the engine does */
        float p;
        memset(c->pend + c->npend, 0, (CQ_CLASSIFY_FRAME - c->npend) * sizeof(float));
        if ((rc = cq_vad_process(c->vad, c->pend, 1, &p)) == CQ_OK)
            rc = cq_classifier_push_vad(c->cls, &p, 1);
    }
    if (rc == CQ_OK && (rc = cq_classifier_finish(c->cls)) == CQ_OK)
        rc = drain(c);
    return rc;
}

static void emit_end(call *c)
{
    pthread_mutex_lock(&c->mu);
    uint32_t rate = c->rate;
    uint64_t rx = c->rx_samples, dropped = c->dropped;
    end_reason reason = c->reason;
    char err[sizeof(c->err)];
    memcpy(err, c->err, sizeof(err));
    pthread_mutex_unlock(&c->mu);
    double call_sec = rate ? (double)rx / rate : 0;
    lbuf l = {.n = 0};
    put(&l, "{\"call\":\"%s\",\"type\":\"call_end\",\"reason\":\"%s\"", c->uuid, k_reason[reason]);
    if (c->werr && !err[0])
        snprintf(err, sizeof(err), "analysis: %s", cq_strerror(c->werr));
    if (err[0]) {
        put(&l, ",\"error\":\"");
        put_str(&l, err);
        put(&l, "\"");
    }
    put(&l, ",\"rate_hz\":%u,\"audio_sec\":%.3f,\"analysed_sec\":%.3f,\"audio_dropped_sec\":%.3f",
        rate, call_sec, (double)c->pushed / CQ_CLASSIFY_RATE, rate ? (double)dropped / rate : 0);
    put_tail(&l, call_sec);
    meta m = {.type = "call_end", .reason = k_reason[reason], .at = call_sec};
    memcpy(m.call, c->uuid, sizeof(m.call));
    emit(c->srv, &m, l.b, l.n);
}

/* One turn of a call: its queued audio, a bounded amount; its end when it has ended. Returns
 * true when the call is to go back to the run queue. */
static bool turn(call *c, wbuf *w)
{
    for (int t = 0; t < TURN_MAX; t++) {
        pthread_mutex_lock(&c->mu);
        size_t n = c->len < TURN_SAMPLES ? c->len : TURN_SAMPLES;
        for (size_t i = 0; i < n; i++)
            w->pcm[i] = c->ring[(c->head + i) % c->cap];
        if (n) {
            c->head = (c->head + n) % c->cap;
            c->len -= n;
        }
        uint32_t rate = c->rate;
        bool ended = c->ended && !c->len;
        if (!n && !ended) {
            c->queued = false; /* audio that comes now schedules it again */
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        pthread_mutex_unlock(&c->mu);
        if (!c->started && !c->werr)
            c->werr = start(c, rate);
        if (n && !c->werr)
            c->werr = analyse(c, w, n);
        if (ended) {
            if (!c->werr)
                c->werr = finish(c, w);
            emit_end(c);
            c->finished = true;
            call_release(c); /* the analysis side's reference */
            return false;
        }
    }
    return true;
}

typedef struct worker {
    lv_server *s;
    wbuf w;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    lv_server *s = wk->s;
    for (;;) {
        pthread_mutex_lock(&s->rq_mu);
        while (!s->rq_head && !s->rq_quit)
            pthread_cond_wait(&s->rq_cv, &s->rq_mu);
        call *c = s->rq_head;
        if (c) {
            s->rq_head = c->next_run;
            if (!s->rq_head)
                s->rq_tail = NULL;
        }
        pthread_mutex_unlock(&s->rq_mu);
        if (!c)
            return NULL;
        if (turn(c, &wk->w)) {
            pthread_mutex_lock(&s->rq_mu);
            c->next_run = NULL;
            if (s->rq_tail)
                s->rq_tail->next_run = c;
            else
                s->rq_head = c;
            s->rq_tail = c;
            pthread_mutex_unlock(&s->rq_mu);
        }
    }
}

/* ---- the network thread ------------------------------------------------------------------------
 */

static void conn_unlink(lv_server *s, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Best effort: a frame to a peer we are about to close (never waited for). */
static void send_frame(int fd, const uint8_t *b, size_t n)
{
    if (n)
        (void)send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void send_error(int fd)
{
    uint8_t b[8];
    send_frame(fd, b, lv_as_encode_error(b, sizeof(b), -1));
}

/* End a connection once: a call (UUID given) is handed to the analysis side to finish, with
 * its reason; a connection that never named its call is refused. Its release waits for the
 * end of the epoll batch (*closed). */
static void conn_end(call *c, end_reason reason, const char *err, call **closed)
{
    lv_server *s = c->srv;
    if (c->fd < 0)
        return;
    if (reason == R_ERROR)
        send_error(c->fd);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    conn_unlink(s, c);
    if (c->has_uuid) {
        pthread_mutex_lock(&c->mu);
        c->ended = true;
        c->reason = reason;
        if (err)
            snprintf(c->err, sizeof(c->err), "%s", err);
        schedule_locked(c);
        pthread_mutex_unlock(&c->mu);
    } else {
        atomic_fetch_add(&s->refused_uuid, 1);
    }
    c->next_closed = *closed;
    *closed = c;
}

static void on_audio(call *c, const lv_as_frame *f, call **closed)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    if (!c->rate) {
        size_t cap = (size_t)(s->p.queue_sec * f->rate_hz);
        if (!(c->ring = malloc((cap ? cap : 1) * sizeof(int16_t)))) {
            pthread_mutex_unlock(&c->mu);
            conn_end(c, R_ERROR, "out of memory for the call's audio queue", closed);
            return;
        }
        c->cap = cap ? cap : 1;
        c->rate = f->rate_hz;
    } else if (c->rate != f->rate_hz) {
        char msg[120];
        snprintf(msg, sizeof(msg), "audio rate changed from %u to %u Hz within the call",
                 (unsigned)c->rate, (unsigned)f->rate_hz);
        pthread_mutex_unlock(&c->mu);
        conn_end(c, R_ERROR, msg, closed);
        return;
    }
    size_t space = c->cap - c->len, n = f->samples < space ? f->samples : space;
    size_t tail = (c->head + c->len) % c->cap;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = f->payload + 2 * i;
        c->ring[(tail + i) % c->cap] = (int16_t)(uint16_t)(b[0] | (unsigned)b[1] << 8);
    }
    c->len += n;
    c->rx_samples += f->samples;
    if (n < f->samples) {
        c->dropped += f->samples - n;
        atomic_fetch_add(&s->audio_dropped, f->samples - n);
    }
    bool over = (double)c->rx_samples / c->rate > s->p.max_call_sec;
    if (n)
        schedule_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (over)
        conn_end(c, R_MAX_DURATION, NULL, closed);
}

static void on_dtmf(call *c, char digit)
{
    pthread_mutex_lock(&c->mu);
    double at = c->rate ? (double)c->rx_samples / c->rate : 0;
    pthread_mutex_unlock(&c->mu);
    lbuf l = {.n = 0};
    put(&l, "{\"call\":\"%s\",\"type\":\"dtmf\",\"source\":\"audiosocket\",\"digit\":\"%c\"",
        c->uuid, digit); /* 0-9 * # A-D only: the decoder checked */
    put(&l, ",\"start\":%.3f", at);
    put_tail(&l, at);
    meta m = {.type = "dtmf", .start = at, .end = at, .at = at};
    memcpy(m.call, c->uuid, sizeof(m.call));
    emit(c->srv, &m, l.b, l.n);
}

/* One whole frame. */
static void on_frame(call *c, const lv_as_frame *f, call **closed)
{
    lv_server *s = c->srv;
    char msg[160];
    c->frames++;
    if (!c->has_uuid) {
        if (f->kind != LV_AS_UUID) {
            fprintf(stderr,
                    "callqa live: refused a connection whose first frame is %s, not a UUID\n",
                    lv_as_kind_name(f->kind));
            conn_end(c, R_ERROR, NULL, closed);
            return;
        }
        lv_as_uuid_str(f->uuid, c->uuid);
        c->has_uuid = true;
        c->refs++; /* the analysis side's: released when it has finished the call */
        atomic_fetch_add(&s->calls, 1);
        return;
    }
    switch (f->kind) {
    case LV_AS_HANGUP: conn_end(c, R_HANGUP, NULL, closed); return;
    case LV_AS_UUID: conn_end(c, R_ERROR, "a second UUID frame within the call", closed); return;
    case LV_AS_DTMF:
        c->dtmf++;
        on_dtmf(c, f->digit);
        return;
    case LV_AS_ERROR:
        if (f->error_code < 0)
            snprintf(msg, sizeof(msg), "the peer sent an error frame");
        else
            snprintf(msg, sizeof(msg), "the peer sent error code 0x%02x%s%s%s", f->error_code,
                     f->error_code & LV_AS_ERR_HANGUP ? " (the calling party hung up)" : "",
                     f->error_code & LV_AS_ERR_FRAME ? " (frame forwarding error)" : "",
                     f->error_code & LV_AS_ERR_MEMORY ? " (memory error)" : "");
        conn_end(c, f->error_code == LV_AS_ERR_HANGUP ? R_HANGUP : R_ERROR, msg, closed);
        return;
    default:
        if (f->rate_hz)
            on_audio(c, f, closed);
        return;
    }
}

static void on_readable(call *c, uint8_t *buf, call **closed)
{
    for (int reads = 0; reads < 4 && c->fd >= 0; reads++) {
        ssize_t k = recv(c->fd, buf, READ_BUF, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            conn_end(c, R_PEER_CLOSED, strerror(errno), closed);
            return;
        }
        if (k == 0) {
            conn_end(c, R_PEER_CLOSED,
                     lv_as_at_boundary(c->dec) ? NULL : "the connection ended inside a frame",
                     closed);
            return;
        }
        c->t_last = mono_now();
        size_t off = 0;
        while (off < (size_t)k && c->fd >= 0) {
            size_t used = 0;
            lv_as_frame f;
            int r = lv_as_next(c->dec, buf + off, (size_t)k - off, &used, &f);
            off += used;
            if (r == 0)
                break;
            if (r < 0) {
                const lv_error *e = lv_as_last_error(c->dec);
                if (!c->has_uuid)
                    fprintf(stderr, "callqa live: refused a connection: %s\n", e->msg);
                conn_end(c, R_ERROR, e->msg[0] ? e->msg : lv_strerror(r), closed);
                return;
            }
            on_frame(c, &f, closed);
        }
    }
}

static void on_accept(lv_server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "callqa live: accept: %s (connections wait in the backlog)\n",
                        strerror(errno));
            return;
        }
        atomic_fetch_add(&s->accepted, 1);
        if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls) {
            send_error(fd);
            close(fd);
            atomic_fetch_add(&s->refused_full, 1);
            continue;
        }
        lv_as_params ap = {.max_payload = s->p.max_payload};
        call *c = calloc(1, sizeof(*c));
        if (!c || !(c->dec = lv_as_create(&ap, NULL)) || pthread_mutex_init(&c->mu, NULL) != 0) {
            if (c)
                lv_as_destroy(c->dec);
            free(c);
            send_error(fd);
            close(fd);
            atomic_fetch_add(&s->refused_full, 1);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        c->refs = 1;
        c->t_accept = c->t_last = mono_now();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            lv_as_destroy(c->dec);
            pthread_mutex_destroy(&c->mu);
            free(c);
            close(fd);
            continue;
        }
        atomic_fetch_add(&s->active, 1);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
    }
}

static void release_closed(call **closed)
{
    while (*closed) {
        call *c = *closed;
        *closed = c->next_closed;
        call_release(c);
    }
}

/* The clocks: stalled connections, calls over their time. */
static void check_timers(lv_server *s, double now, call **closed)
{
    for (call *c = s->conns, *nx; c; c = nx) {
        nx = c->next;
        if (now - c->t_last > s->p.stall_sec) {
            char msg[80];
            snprintf(msg, sizeof(msg), "no bytes for %.1f s", now - c->t_last);
            conn_end(c, R_STALLED, msg, closed);
        } else if (c->has_uuid && now - c->t_accept > s->p.max_call_sec) {
            conn_end(c, R_MAX_DURATION, NULL, closed);
        }
    }
}

int lv_server_run(lv_server *s)
{
    uint8_t *buf = malloc(READ_BUF);
    if (!buf)
        return LV_ERR_NOMEM;
    bool stopping = false;
    s->last_stats = mono_now();
    while (!stopping) {
        struct epoll_event evs[256];
        int n = epoll_wait(s->ep, evs, 256, 100);
        call *closed = NULL;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &s->lfd) {
                on_accept(s);
            } else if (ptr == &s->efd) {
                uint64_t v;
                if (read(s->efd, &v, sizeof(v)) > 0)
                    stopping = true;
            } else {
                call *c = ptr;
                if (c->fd >= 0)
                    on_readable(c, buf, &closed);
            }
        }
        double now = mono_now();
        if (now - s->last_timers >= 0.1) {
            s->last_timers = now;
            check_timers(s, now, &closed);
        }
        release_closed(&closed);
        if (s->p.stats_sec > 0 && now - s->last_stats >= s->p.stats_sec) {
            s->last_stats = now;
            emit_stats(s, false);
        }
    }
    free(buf);
    /* shutdown: no new connection, every call ended, its analysis finished */
    epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
    close(s->lfd);
    s->lfd = -1;
    call *closed = NULL;
    while (s->conns)
        conn_end(s->conns, R_SHUTDOWN, NULL, &closed);
    release_closed(&closed);
    while (atomic_load(&s->active) > 0) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    emit_stats(s, true);
    return LV_OK;
}

void lv_server_stop(lv_server *s)
{
    uint64_t one = 1;
    if (s && write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter is already set: a stop is pending */
    }
}

/* ---- create, destroy ---------------------------------------------------------------------------
 */

static int cpus_usable(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

lv_server_params lv_server_default_params(void)
{
    lv_server_params p = {.host = "127.0.0.1",
                          .port = "9092",
                          .max_calls = 64,
                          .max_call_sec = 4 * 3600,
                          .stall_sec = 10,
                          .queue_sec = 5,
                          .stats_sec = 10,
                          .threads = cpus_usable(),
                          .live_mode = CQ_LIVE_OFF,
                          .max_payload = 16384,
                          .event_queue = 65536,
                          .events_fd = 1,
                          .vad_model = NULL,
                          .on_event = NULL,
                          .on_stats = NULL,
                          .user = NULL};
    return p;
}

/* Enough descriptors for max_calls connections, the refused ones in flight and our own. */
static void raise_fd_limit(int max_calls)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_calls + 256;
    if (want < 4096)
        want = 4096;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int listen_on(lv_server *s, lv_error *e)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(s->p.host, s->p.port, &hints, &res);
    if (g != 0)
        return lv__fail(e, LV_ERR_ARG, 0, "%s:%s: %s", s->p.host, s->p.port, gai_strerror(g));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return lv__fail(e, LV_ERR_ARG, 0, "listen on %s:%s: %s", s->p.host, s->p.port,
                        strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char port[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, sizeof(port), NI_NUMERICSERV) ==
            0)
            s->port = atoi(port);
    }
    s->lfd = fd;
    return LV_OK;
}

lv_server *lv_server_create(const lv_server_params *p, lv_error *e)
{
    lv__clear(e);
    if (!p->host || !p->port || p->max_calls < 1 || p->max_calls > 100000 ||
        !(p->max_call_sec > 0) || !(p->stall_sec > 0) || !(p->queue_sec >= 0.1) ||
        p->queue_sec > 600 || p->stats_sec < 0 || p->threads < 1 || p->threads > 256 ||
        p->live_mode < CQ_LIVE_OFF || p->live_mode > CQ_LIVE_AMD || p->max_payload < 16 ||
        p->max_payload > LV_AS_MAX_PAYLOAD || p->event_queue < 16 || p->event_queue > 1000000 ||
        p->events_fd < 0) {
        lv__fail(e, LV_ERR_ARG, 0, "a server setting out of its range");
        return NULL;
    }
    lv_server *s = calloc(1, sizeof(*s));
    if (!s) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->lfd = s->efd = s->ep = s->events_fl = -1;
    pthread_mutex_init(&s->rq_mu, NULL);
    pthread_cond_init(&s->rq_cv, NULL);
    pthread_mutex_init(&s->eq_mu, NULL);
    pthread_cond_init(&s->eq_cv, NULL);
    raise_fd_limit(p->max_calls);
    s->events_fl = fcntl(p->events_fd, F_GETFL);
    if (s->events_fl >= 0)
        (void)fcntl(p->events_fd, F_SETFL, s->events_fl | O_NONBLOCK);
    if (listen_on(s, e) != LV_OK)
        goto fail;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->efd < 0 || s->ep < 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &s->lfd};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = &s->efd};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &le) != 0 ||
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->efd, &we) != 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
        goto fail;
    }
    s->workers = calloc((size_t)p->threads, sizeof(pthread_t));
    s->wks = calloc((size_t)p->threads, sizeof(worker));
    if (!s->workers || !s->wks) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "no thread for the event writer");
        goto fail;
    }
    s->writer_up = true;
    for (int i = 0; i < p->threads; i++) {
        s->wks[i].s = s;
        if (pthread_create(&s->workers[i], NULL, worker_main, &s->wks[i]) != 0) {
            lv__fail(e, LV_ERR_NOMEM, 0, "no thread for analysis %d", i);
            goto fail;
        }
        s->nworkers++;
    }
    return s;
fail:
    lv_server_destroy(s);
    return NULL;
}

int lv_server_port(const lv_server *s)
{
    return s->port;
}

void lv_server_get_stats(lv_server *s, lv_server_stats *o)
{
    o->accepted = s->accepted;
    o->calls = s->calls;
    o->refused_full = s->refused_full;
    o->refused_uuid = s->refused_uuid;
    o->active = s->active;
    o->events = s->events;
    o->events_dropped = s->events_dropped;
    o->audio_dropped = s->audio_dropped;
}

void lv_server_destroy(lv_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->rq_mu);
    s->rq_quit = true;
    pthread_cond_broadcast(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    if (s->writer_up) {
        pthread_mutex_lock(&s->eq_mu);
        s->eq_quit = true;
        s->eq_abandon_at = mono_now() + 3.0; /* a stalled reader gets this long */
        pthread_cond_broadcast(&s->eq_cv);
        pthread_mutex_unlock(&s->eq_mu);
        pthread_join(s->writer, NULL);
    }
    if (s->events_fl >= 0) /* stdout is the caller's again as it was */
        (void)fcntl(s->p.events_fd, F_SETFL, s->events_fl);
    for (line *l = s->eq_head, *nx; l; l = nx) {
        nx = l->next;
        free(l);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->efd >= 0)
        close(s->efd);
    if (s->ep >= 0)
        close(s->ep);
    free(s->workers);
    free(s->wks);
    pthread_mutex_destroy(&s->rq_mu);
    pthread_cond_destroy(&s->rq_cv);
    pthread_mutex_destroy(&s->eq_mu);
    pthread_cond_destroy(&s->eq_cv);
    free(s);
}
