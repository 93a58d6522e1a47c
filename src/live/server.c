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
 *             poll); at shutdown it is given a few seconds to flush a stalled reader.
 * A call is shared by the network thread and the analysis side with a count of two references;
 * the last to let go frees it. The server's `active` count is the calls not yet freed.
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
#define RS_CAP (TURN_SAMPLES + 1024)
#define Q8_CAP (RS_CAP + CQ_CLASSIFY_FRAME) /* a take at 8 kHz and a chunk's remainder */
#define REC_DELAY_SEC 1.0  /* with mask_digits: how long samples wait before they are written */
#define MUTE_GUARD_SEC 0.1 /* muted before and after each DTMF digit's span */
#define MUTE_MAX 16        /* spans to mute a call keeps; an older one is merged into the next */
#define EARLY_MAX 16384    /* bytes of a call's lines kept until its recording opens */
#define ST_CAP 64          /* arrival stamps of the frames a call has queued */
#define LAT_BUCKETS 1001   /* the frames' waits in 1 ms buckets; the last is 1 s and more */
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
    uint64_t enqueued, taken; /* samples put in the ring, and taken out for analysis */
    struct stamp {
        uint64_t end; /* the frame's last sample, counted as `enqueued` counts */
        double t;     /* when it came off the socket (monotonic) */
    } st[ST_CAP];     /* the frames in the ring, oldest first (a full ring extends the last) */
    size_t st_head, st_len;
    FILE *rec_ev; /* the recording's event lines (record_dir), under mu: two threads write */
    char *early;  /* lines of the call before its recording opened (at most EARLY_MAX bytes) */
    size_t early_len;
    bool rec_started; /* the recording was opened, or could not be */
    struct span {
        uint64_t from, to; /* samples of the call at its rate; to = UINT64_MAX: still open */
    } mute[MUTE_MAX];      /* DTMF to be muted in the recording (mask_digits), under mu */
    size_t nmute;
    bool queued;     /* in the run queue or in an analysis thread's hands */
    double t_queued; /* when it last went on the run queue (monotonic) */
    call *next_run;
    /* the analysis thread that holds it */
    cq_vad *vad;
    cq_classifier *cls;
    cq_resample *rs;
    float *q8; /* 8 kHz samples waiting for the VAD (Q8_CAP) */
    size_t nq8;
    size_t taking;        /* samples of the current take */
    uint64_t pushed;      /* 8 kHz samples given to the classifier */
    FILE *rec;            /* the recording being written (record_dir), NULL when none */
    uint64_t rec_samples; /* written to it */
    int16_t *delay;       /* mask_digits: the samples not yet written (REC_DELAY_SEC) */
    size_t delay_cap, delay_len;
    char rec_name[72];  /* its name in record_dir, without the extension */
    char rec_note[200]; /* why the recording was given up, for the call_end line */
    int werr;           /* the first analysis error: the rest of the audio is not analysed */
    bool started, finished;
};

typedef struct line {
    struct line *next;
    size_t len;
    char text[];
} line;

struct lv_server {
    lv_server_params p;
    int lfd, efd, ep, port;
    int rec_dir; /* record_dir, open (O_PATH | O_DIRECTORY); -1 when not recording */
    call *conns; /* open connections (network thread) */
    double last_stats, last_timers;
    int events_fl; /* events_fd's flags before it was made non-blocking (-1: unknown) */
    /* run queue */
    pthread_mutex_t rq_mu;
    pthread_cond_t rq_cv;
    call *rq_head, *rq_tail;
    size_t rq_len;
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
    _Atomic uint64_t analysed_us;          /* call audio taken into the analysis, microseconds */
    _Atomic uint64_t vad_runs, vad_chunks; /* VAD batches run over calls, and their chunks */
    _Atomic uint64_t lat[LAT_BUCKETS];     /* frames by their wait for the analysis, 1 ms buckets */
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
static void emit(lv_server *s, const char *text, size_t len)
{
    line *l = NULL;
    pthread_mutex_lock(&s->eq_mu);
    if (s->eq_len < s->p.event_queue && (l = malloc(sizeof(*l) + len + 1))) {
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

/* Mute [from, to) in the recording (mask_digits); an open DTMF event's span has to =
 * UINT64_MAX until it closes (the same start). Caller holds c->mu. */
static void mute_locked(call *c, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < c->nmute; i++)
        if (c->mute[i].from == from) { /* the open span of the same DTMF event, now closed */
            c->mute[i].to = to;
            return;
        }
    if (c->nmute == MUTE_MAX) { /* the two oldest become one (muting what lies between) */
        c->mute[1].from = c->mute[0].from;
        memmove(c->mute, c->mute + 1, (MUTE_MAX - 1) * sizeof(c->mute[0]));
        c->nmute--;
    }
    c->mute[c->nmute++] = (struct span){from, to};
}

/* A line of one call: to the event queue, and to the call's recorded events when it records. */
static void call_emit(call *c, const char *text, size_t len)
{
    /* under the call's lock, so that the recorded lines keep the stream's order */
    pthread_mutex_lock(&c->mu);
    emit(c->srv, text, len);
    if (c->rec_ev) {
        fwrite(text, 1, len, c->rec_ev);
        fputc('\n', c->rec_ev);
    } else if (c->srv->rec_dir >= 0 && !c->rec_started && c->early_len + len + 1 <= EARLY_MAX) {
        /* a line before the recording opens (a DTMF frame before the first audio is taken) */
        char *e = realloc(c->early, c->early_len + len + 1);
        if (e) {
            memcpy(e + c->early_len, text, len);
            e[c->early_len + len] = '\n';
            c->early = e;
            c->early_len += len + 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
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
    cq_call_event ev = *e;
    if (c->srv->p.mask_digits && ev.type == CQ_EV_DTMF) {
        for (char *d = ev.digits; *d; d++) /* as the privacy redaction masks keyed digits */
            *d = '*';
        if (c->rate) { /* its span muted in the recording, open until the event closes */
            const double g = MUTE_GUARD_SEC;
            const uint64_t from = ev.start_sec > g ? (uint64_t)((ev.start_sec - g) * c->rate) : 0;
            const uint64_t to =
                ev.state == CQ_EVENT_CLOSED ? (uint64_t)((ev.end_sec + g) * c->rate) : UINT64_MAX;
            pthread_mutex_lock(&c->mu);
            mute_locked(c, from, to);
            pthread_mutex_unlock(&c->mu);
        }
    }
    char fields[1024];
    cq_call_event_fields(&ev, at, fields, sizeof(fields));
    lbuf l = {.n = 0};
    put(&l, "{\"call\":\"%s\",%s", c->uuid, fields);
    put_tail(&l, at);
    call_emit(c, l.b, l.n);
}

/* The p-quantile (0-1) of the frames' waits, in ms (the bucket's upper edge); -1 with none. */
static int lat_quantile(const uint64_t *h, uint64_t total, double q)
{
    if (!total)
        return -1;
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int b = 0; b < LAT_BUCKETS; b++)
        if ((acc += h[b]) > want)
            return b + 1;
    return LAT_BUCKETS;
}

static void emit_stats(lv_server *s, bool final)
{
    lbuf l = {.n = 0};
    char w[32];
    uint64_t h[LAT_BUCKETS], frames = 0;
    int worst = -1;
    for (int b = 0; b < LAT_BUCKETS; b++) {
        frames += h[b] = atomic_load(&s->lat[b]);
        if (h[b])
            worst = b + 1;
    }
    const uint64_t runs = atomic_load(&s->vad_runs);
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    put(&l,
        "{\"type\":\"stats\",\"final\":%s,\"accepted\":%llu,\"calls\":%llu,\"active\":%llu,"
        "\"refused_full\":%llu,\"refused_uuid\":%llu,\"events\":%llu,\"events_dropped\":%llu,"
        "\"audio_dropped_samples\":%llu,\"audio_analysed_sec\":%.3f,\"cpu_sec\":%.3f,"
        "\"vad_chunks_per_run\":%.1f,\"frames\":%llu,\"wait_ms\":{\"p50\":%d,\"p99\":%d,"
        "\"max\":%d},\"wall\":\"%s\"}",
        final ? "true" : "false", (unsigned long long)s->accepted, (unsigned long long)s->calls,
        (unsigned long long)s->active, (unsigned long long)s->refused_full,
        (unsigned long long)s->refused_uuid, (unsigned long long)s->events,
        (unsigned long long)s->events_dropped, (unsigned long long)s->audio_dropped,
        (double)atomic_load(&s->analysed_us) / 1e6, cpu,
        runs ? (double)atomic_load(&s->vad_chunks) / (double)runs : 0.0, (unsigned long long)frames,
        lat_quantile(h, frames, 0.5), lat_quantile(h, frames, 0.99), worst, wall_now(w));
    emit(s, l.b, l.n);
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
        free(l);
    }
}

/* ---- recordings (record_dir) ---------------------------------------------------------------- */

/* A 16-bit mono PCM WAV header for n samples at rate. */
static void wav_header(uint8_t h[44], uint32_t rate, uint64_t n)
{
    const uint32_t data = n * 2 > 0xffffffd3u ? 0xffffffd3u : (uint32_t)(n * 2);
    const uint32_t v[] = {36 + data, 16, rate, rate * 2, data};
    memcpy(h, "RIFF\0\0\0\0WAVEfmt \0\0\0\0\1\0\1\0\0\0\0\0\0\0\0\0\2\0\20\0data\0\0\0\0", 44);
    const int at[] = {4, 16, 24, 28, 40};
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 4; b++)
            h[at[i] + b] = (uint8_t)(v[i] >> (8 * b));
}

/* The recording's name: the call's id with anything but letters, digits, '-' and '_' made '_'
 * (an id from a PBX's metadata never becomes a path). */
static void rec_name_of(const char *id, char *out, size_t cap)
{
    size_t k = 0;
    for (; id[k] && k + 1 < cap && k < 64; k++) {
        const char ch = id[k];
        out[k] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '-' || ch == '_'
                     ? ch
                     : '_';
    }
    out[k] = 0;
    if (!k)
        snprintf(out, cap, "call");
}

/* Give the recording up: the partial files removed, the reason kept for call_end. */
static void rec_abandon(call *c, const char *why)
{
    lv_server *s = c->srv;
    if (!c->rec_note[0])
        snprintf(c->rec_note, sizeof(c->rec_note), "%s", why);
    if (c->rec)
        fclose(c->rec);
    c->rec = NULL;
    char part[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    (void)unlinkat(s->rec_dir, part, 0);
}

/* Open NAME.wav.part and NAME.live.jsonl.part in record_dir (created, never an existing file or
 * a link followed), with the header of an empty WAV. */
static void rec_open_files(call *c, uint32_t rate);

/* The recording opened once, when the analysis starts the call; the lines kept until then go
 * into its event file (or are let go when it could not be made). */
static void rec_open(call *c, uint32_t rate)
{
    if (c->srv->rec_dir < 0)
        return;
    rec_open_files(c, rate);
    pthread_mutex_lock(&c->mu);
    c->rec_started = true;
    free(c->early);
    c->early = NULL;
    c->early_len = 0;
    pthread_mutex_unlock(&c->mu);
}

static void rec_open_files(call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    rec_name_of(c->uuid, c->rec_name, sizeof(c->rec_name));
    char part[96], evp[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(evp, sizeof(evp), "%s.live.jsonl.part", c->rec_name);
    const int fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(s->rec_dir, part, fl, 0640);
    if (fd < 0 || !(c->rec = fdopen(fd, "wb"))) {
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot create %.90s: %.60s", part,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    uint8_t h[44];
    wav_header(h, rate, 0);
    if (fwrite(h, 1, 44, c->rec) != 44) {
        rec_abandon(c, "cannot write the recording");
        return;
    }
    int efd = openat(s->rec_dir, evp, fl, 0640);
    FILE *ev = efd >= 0 ? fdopen(efd, "w") : NULL;
    if (!ev) {
        if (efd >= 0)
            close(efd);
        rec_abandon(c, "cannot create the recording's event file");
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->rec_ev = ev;
    if (c->early_len)
        fwrite(c->early, 1, c->early_len, ev);
    pthread_mutex_unlock(&c->mu);
}

/* n samples to the file (little-endian), those inside a span to be muted as zeros; `at` is the
 * call's sample index of pcm[0]. */
static void rec_put(call *c, const int16_t *pcm, size_t n, uint64_t at)
{
    uint8_t b[2 * TURN_SAMPLES];
    while (n && c->rec) {
        size_t k = n < TURN_SAMPLES ? n : TURN_SAMPLES;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < k; i++) {
            int16_t v = pcm[i];
            for (size_t m = 0; m < c->nmute; m++)
                if (at + i >= c->mute[m].from && at + i < c->mute[m].to)
                    v = 0;
            b[2 * i] = (uint8_t)((uint16_t)v & 0xff);
            b[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
        }
        pthread_mutex_unlock(&c->mu);
        if (fwrite(b, 2, k, c->rec) != k) {
            rec_abandon(c, "writing the recording failed (disk full?)");
            return;
        }
        c->rec_samples += k;
        pcm += k, n -= k, at += k;
    }
}

/* n samples taken for analysis, on their way to the recording: at once, or with mask_digits
 * after REC_DELAY_SEC, by when the DTMF among them has been recognised and can be muted. */
static void rec_write(call *c, const int16_t *pcm, size_t n)
{
    if (!c->rec)
        return;
    if (!c->srv->p.mask_digits) {
        rec_put(c, pcm, n, c->rec_samples);
        return;
    }
    if (!c->delay) {
        c->delay_cap = (size_t)(REC_DELAY_SEC * c->rate) + TURN_SAMPLES;
        if (!(c->delay = malloc(c->delay_cap * sizeof(int16_t)))) {
            rec_abandon(c, "out of memory for the recording's delay");
            return;
        }
    }
    /* the oldest samples out first, so that the newest REC_DELAY_SEC stay */
    const size_t keep = (size_t)(REC_DELAY_SEC * c->rate);
    if (c->delay_len + n > keep) {
        size_t out = c->delay_len + n - keep;
        if (out > c->delay_len)
            out = c->delay_len;
        rec_put(c, c->delay, out, c->rec_samples);
        memmove(c->delay, c->delay + out, (c->delay_len - out) * sizeof(int16_t));
        c->delay_len -= out;
    }
    while (n && c->rec) { /* n may exceed the delay (a take larger than it): through it */
        size_t room = c->delay_cap - c->delay_len, k = n < room ? n : room;
        memcpy(c->delay + c->delay_len, pcm, k * sizeof(int16_t));
        c->delay_len += k, pcm += k, n -= k;
        if (n) {
            rec_put(c, c->delay, c->delay_len, c->rec_samples);
            c->delay_len = 0;
        }
    }
}

/* The call's audio is all written: the header's sizes, the data on disk, NAME.wav. */
static void rec_close(call *c)
{
    lv_server *s = c->srv;
    if (c->rec && c->delay_len)
        rec_put(c, c->delay, c->delay_len, c->rec_samples);
    c->delay_len = 0;
    if (!c->rec)
        return;
    uint8_t h[44];
    wav_header(h, c->rate, c->rec_samples);
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
    if (fflush(c->rec) != 0 || fseek(c->rec, 0, SEEK_SET) != 0 || fwrite(h, 1, 44, c->rec) != 44 ||
        fflush(c->rec) != 0 || fsync(fileno(c->rec)) != 0) {
        rec_abandon(c, "writing the recording failed (disk full?)");
        return;
    }
    fclose(c->rec);
    c->rec = NULL;
    if (renameat(s->rec_dir, part, s->rec_dir, fin) != 0)
        rec_abandon(c, "cannot rename the recording into place");
}

/* After the call_end line: the event lines closed and put beside the recording. */
static void rec_events_close(call *c)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    FILE *ev = c->rec_ev;
    c->rec_ev = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!ev)
        return;
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.live.jsonl.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.live.jsonl", c->rec_name);
    bool ok = fflush(ev) == 0 && fsync(fileno(ev)) == 0;
    fclose(ev);
    if (!ok || renameat(s->rec_dir, part, s->rec_dir, fin) != 0)
        (void)unlinkat(s->rec_dir, part, 0);
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
    if (c->rec)
        rec_abandon(c, "not finished");
    if (c->rec_ev)
        fclose(c->rec_ev);
    free(c->early);
    free(c->delay);
    free(c->q8);
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
    c->t_queued = mono_now();
    lv_server *s = c->srv;
    pthread_mutex_lock(&s->rq_mu);
    c->next_run = NULL;
    if (s->rq_tail)
        s->rq_tail->next_run = c;
    else
        s->rq_head = c;
    s->rq_tail = c;
    /* a thread is woken when the queue starts (its wait for a batch begins) and when a batch
     * is full, not for every call in between */
    if (++s->rq_len == 1 || s->rq_len == (size_t)s->p.vad_batch)
        pthread_cond_signal(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
}

/* ---- analysis ----------------------------------------------------------------------------------
 */

/* Per worker: a take's samples on their way to 8 kHz, and the VAD jobs of a group. */
typedef struct wbuf {
    int16_t pcm[TURN_SAMPLES];
    float x[TURN_SAMPLES];
    float y[RS_CAP];
} wbuf;

struct worker {
    lv_server *s;
    wbuf w;
    call *group[LV_VAD_BATCH_MAX];
    cq_vad_job jobs[LV_VAD_BATCH_MAX];
    float probs[LV_VAD_BATCH_MAX * (Q8_CAP / CQ_CLASSIFY_FRAME)];
};

static int drain(call *c)
{
    const cq_call_event *ev;
    size_t n;
    int rc = cq_classifier_poll(c->cls, &ev, &n);
    for (size_t i = 0; rc == CQ_OK && i < n; i++)
        emit_event(c, &ev[i]);
    return rc;
}

/* 8 kHz samples into the classifier and onto the call's queue for the VAD (whole chunks go to
 * the VAD with the group's, in group_vad). */
static int feed8k(call *c, const float *x, size_t n)
{
    int rc = cq_classifier_push_audio(c->cls, x, n);
    if (rc != CQ_OK)
        return rc;
    c->pushed += n;
    if (c->nq8 + n > Q8_CAP)
        return CQ_ERR_INTERNAL; /* a take never holds more than RS_CAP samples */
    memcpy(c->q8 + c->nq8, x, n * sizeof(float));
    c->nq8 += n;
    return CQ_OK;
}

/* The probabilities of the call's whole chunks (computed), into the classifier; the chunks
 * off the queue. */
static int after_vad(call *c, const float *probs, size_t k)
{
    int rc = cq_classifier_push_vad(c->cls, probs, k);
    size_t used = k * CQ_CLASSIFY_FRAME;
    memmove(c->q8, c->q8 + used, (c->nq8 - used) * sizeof(float));
    c->nq8 -= used;
    return rc == CQ_OK ? drain(c) : rc;
}

static int start(call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    cq_classify_params cp = cq_classify_default_params();
    cp.live = (cq_live_mode)s->p.live_mode;
    int rc = CQ_OK;
    c->started = true;
    if (!(c->q8 = malloc(Q8_CAP * sizeof(float))))
        return CQ_ERR_NOMEM;
    rec_open(c, rate);
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

/* The end of a call's audio: the resampler's tail, the last chunk zero-padded (as the engine
 * does), the classifier's last events. The VAD runs on this call alone. */
static int finish(call *c, wbuf *w)
{
    int rc = CQ_OK;
    long got;
    while (c->rs && rc == CQ_OK && (got = cq_resample_process(c->rs, NULL, 0, w->y, RS_CAP)) > 0) {
        rc = feed8k(c, w->y, (size_t)got);
        size_t k = c->nq8 / CQ_CLASSIFY_FRAME;
        float p[Q8_CAP / CQ_CLASSIFY_FRAME];
        if (rc == CQ_OK && k && (rc = cq_vad_process(c->vad, c->q8, k, p)) == CQ_OK)
            rc = after_vad(c, p, k);
    }
    if (rc == CQ_OK && c->nq8) {
        float p;
        memset(c->q8 + c->nq8, 0, (CQ_CLASSIFY_FRAME - c->nq8) * sizeof(float));
        c->nq8 = CQ_CLASSIFY_FRAME;
        if ((rc = cq_vad_process(c->vad, c->q8, 1, &p)) == CQ_OK)
            rc = after_vad(c, &p, 1);
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
    if (c->rec_name[0] && !c->rec_note[0]) {
        put(&l, ",\"recording\":\"");
        put_str(&l, c->rec_name);
        put(&l, ".wav\"");
    } else if (c->rec_note[0]) {
        put(&l, ",\"recording_error\":\"");
        put_str(&l, c->rec_note);
        put(&l, "\"");
    }
    put_tail(&l, call_sec);
    call_emit(c, l.b, l.n);
    rec_events_close(c);
}

/* The frames whose samples the analysis has now taken in: how long each waited since it came
 * off the socket, into the server's histogram. Caller holds c->mu. */
static void stamps_done_locked(call *c, double now)
{
    lv_server *s = c->srv;
    while (c->st_len && c->st[c->st_head].end <= c->taken) {
        double ms = (now - c->st[c->st_head].t) * 1000.0;
        size_t b = ms < 0 ? 0 : ms >= LAT_BUCKETS - 1 ? LAT_BUCKETS - 1 : (size_t)ms;
        atomic_fetch_add(&s->lat[b], 1);
        c->st_head = (c->st_head + 1) % ST_CAP;
        c->st_len--;
    }
}

/* A call's share of a group's turn, before the VAD: one take of its queued audio (a bounded
 * amount) through the resampler into the classifier and its VAD queue. Sets *ended when the
 * call has ended and its audio is all taken; returns false when it had nothing to do (it is
 * off the run queue until audio comes). */
static bool take(call *c, wbuf *w, bool *ended)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->len < TURN_SAMPLES ? c->len : TURN_SAMPLES;
    for (size_t i = 0; i < n; i++)
        w->pcm[i] = c->ring[(c->head + i) % c->cap];
    if (n) {
        c->head = (c->head + n) % c->cap;
        c->len -= n;
    }
    uint32_t rate = c->rate;
    *ended = c->ended && !c->len;
    if (!n && !*ended) {
        c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    pthread_mutex_unlock(&c->mu);
    if (!c->started && !c->werr)
        c->werr = start(c, rate);
    if (n)
        rec_write(c, w->pcm, n); /* recorded whether or not the analysis goes on */
    if (n && !c->werr)
        c->werr = analyse(c, w, n);
    c->taking = n;
    return true;
}

/* A group's turn: a take of each call, then one VAD run over the whole chunks of all of them
 * (cq_vad_process_many: the weights read once for the group), then each call's probabilities,
 * events and, for a call that has ended, its end. Calls with audio left go back to the run
 * queue's tail. */
static void group_turn(worker *wk, size_t n)
{
    lv_server *s = wk->s;
    bool ended[LV_VAD_BATCH_MAX], live[LV_VAD_BATCH_MAX];
    size_t nj = 0, np = 0, chunks[LV_VAD_BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        live[i] = take(wk->group[i], &wk->w, &ended[i]);
    for (size_t i = 0; i < n; i++) {
        call *c = wk->group[i];
        chunks[i] = live[i] && !c->werr ? c->nq8 / CQ_CLASSIFY_FRAME : 0;
        if (chunks[i]) {
            wk->jobs[nj++] = (cq_vad_job){
                .v = c->vad, .x = c->q8, .n_chunks = chunks[i], .probs = wk->probs + np};
            np += chunks[i];
        }
    }
    int vrc = cq_vad_process_many(wk->jobs, nj);
    if (nj) {
        atomic_fetch_add(&s->vad_runs, 1);
        atomic_fetch_add(&s->vad_chunks, np);
    }
    np = 0;
    call *back = NULL, *last = NULL;
    size_t nback = 0;
    const double now = mono_now();
    for (size_t i = 0; i < n; i++) {
        call *c = wk->group[i];
        if (!live[i])
            continue;
        if (chunks[i] && !c->werr)
            c->werr = vrc != CQ_OK ? vrc : after_vad(c, wk->probs + np, chunks[i]);
        np += chunks[i];
        pthread_mutex_lock(&c->mu);
        if (c->rate)
            atomic_fetch_add(&s->analysed_us, c->taking * 1000000u / c->rate);
        c->taken += c->taking;
        stamps_done_locked(c, now);
        bool more = c->len > 0 || c->ended;
        if (!more && !ended[i])
            c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        if (ended[i]) {
            if (!c->werr)
                c->werr = finish(c, &wk->w);
            rec_close(c);
            emit_end(c);
            c->finished = true;
            call_release(c); /* the analysis side's reference */
        } else if (more) {
            c->next_run = NULL;
            c->t_queued = now;
            if (last)
                last->next_run = c;
            else
                back = c;
            last = c;
            nback++;
        }
    }
    if (back) {
        pthread_mutex_lock(&s->rq_mu);
        if (s->rq_tail)
            s->rq_tail->next_run = back;
        else
            s->rq_head = back;
        s->rq_tail = last;
        s->rq_len += nback;
        pthread_cond_signal(&s->rq_cv);
        pthread_mutex_unlock(&s->rq_mu);
    }
}

/* Until the run queue holds a batch of calls, or its oldest call has waited batch_wait_sec, or
 * the server is stopping; false when stopping with nothing queued. Caller holds rq_mu. */
static bool wait_for_batch(lv_server *s)
{
    for (;;) {
        if (!s->rq_head) {
            if (s->rq_quit)
                return false;
            pthread_cond_wait(&s->rq_cv, &s->rq_mu);
            continue;
        }
        if (s->rq_len >= (size_t)s->p.vad_batch || s->rq_quit)
            return true;
        const double until = s->rq_head->t_queued + s->p.batch_wait_sec;
        if (mono_now() >= until)
            return true;
        struct timespec ts = {.tv_sec = (time_t)until};
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        (void)pthread_cond_timedwait(&s->rq_cv, &s->rq_mu, &ts);
    }
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    lv_server *s = wk->s;
    const size_t g = (size_t)s->p.vad_batch;
    for (;;) {
        pthread_mutex_lock(&s->rq_mu);
        if (!wait_for_batch(s)) {
            pthread_mutex_unlock(&s->rq_mu);
            return NULL;
        }
        size_t n = 0;
        while (s->rq_head && n < g) {
            call *c = s->rq_head;
            s->rq_head = c->next_run;
            wk->group[n++] = c;
        }
        s->rq_len -= n;
        if (!s->rq_head)
            s->rq_tail = NULL;
        else
            pthread_cond_signal(&s->rq_cv); /* more for another thread */
        pthread_mutex_unlock(&s->rq_mu);
        group_turn(wk, n);
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

/* A frame of n samples went into the ring now: its arrival stamp (a full list extends the
 * newest stamp, whose time is earlier: the waits measured are never shorter than they were). */
static void stamp_locked(call *c, size_t n)
{
    c->enqueued += n;
    if (c->st_len == ST_CAP) {
        c->st[(c->st_head + ST_CAP - 1) % ST_CAP].end = c->enqueued;
        return;
    }
    c->st[(c->st_head + c->st_len) % ST_CAP] = (struct stamp){.end = c->enqueued, .t = mono_now()};
    c->st_len++;
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
    if (n)
        stamp_locked(c, n);
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
    const bool mask = c->srv->p.mask_digits;
    pthread_mutex_lock(&c->mu);
    double at = c->rate ? (double)c->rx_samples / c->rate : 0;
    if (mask && c->rate) /* the frame comes as the digit ends: the half second before it muted */
        mute_locked(c, c->rx_samples > c->rate / 2 ? c->rx_samples - c->rate / 2 : 0,
                    c->rx_samples + (uint64_t)(MUTE_GUARD_SEC * c->rate));
    pthread_mutex_unlock(&c->mu);
    lbuf l = {.n = 0};
    put(&l, "{\"call\":\"%s\",\"type\":\"dtmf\",\"source\":\"audiosocket\",\"digit\":\"%c\"",
        c->uuid, mask ? '*' : digit); /* 0-9 * # A-D only: the decoder checked */
    put(&l, ",\"start\":%.3f", at);
    put_tail(&l, at);
    call_emit(c, l.b, l.n);
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
                          .vad_batch = 32,
                          .batch_wait_sec = 0.010,
                          .record_dir = NULL,
                          .mask_digits = false};
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
        p->events_fd < 0 || p->vad_batch < 1 || p->vad_batch > LV_VAD_BATCH_MAX ||
        !(p->batch_wait_sec >= 0) || p->batch_wait_sec > 1) {
        lv__fail(e, LV_ERR_ARG, 0, "a server setting out of its range");
        return NULL;
    }
    lv_server *s = calloc(1, sizeof(*s));
    if (!s) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->lfd = s->efd = s->ep = s->events_fl = s->rec_dir = -1;
    pthread_mutex_init(&s->rq_mu, NULL);
    pthread_condattr_t ca; /* the run queue's waits are timed on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->rq_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->eq_mu, NULL);
    pthread_cond_init(&s->eq_cv, NULL);
    raise_fd_limit(p->max_calls);
    s->events_fl = fcntl(p->events_fd, F_GETFL);
    if (s->events_fl >= 0)
        (void)fcntl(p->events_fd, F_SETFL, s->events_fl | O_NONBLOCK);
    if (p->record_dir && (s->rec_dir = open(p->record_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lv__fail(e, LV_ERR_ARG, 0, "record_dir %s: %s", p->record_dir, strerror(errno));
        goto fail;
    }
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
    if (s->rec_dir >= 0)
        close(s->rec_dir);
    free(s->workers);
    free(s->wks);
    pthread_mutex_destroy(&s->rq_mu);
    pthread_cond_destroy(&s->rq_cv);
    pthread_mutex_destroy(&s->eq_mu);
    pthread_cond_destroy(&s->eq_cv);
    free(s);
}
