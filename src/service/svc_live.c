/*
 * svc_live.c - the calls in progress, from the event lines `callqa live --events FILE` writes
 * (docs/live.md, "Event lines"; the setting live_events): GET /api/live/calls (the active and
 * recently ended calls, the counts, the file and its lag) and GET /api/live/events (the lines as
 * server-sent events, ?call=ID for one call, Last-Event-ID to resume within the ring).
 *
 * One thread (the follower) reads the file four times a second from where it left off: at start
 * from its last LIVE_BACKLOG bytes, so that the calls in progress are known at once; a file that
 * is not there yet is waited for, a file shorter than what was read (truncated) is read again
 * from its start, and a new file under the name (rotated by rename: another inode) is read from
 * its start once the old one is read to its end. Each line is parsed (jansson) and applied to the
 * state: the active calls (LIVE_MAX_CALLS), the recently ended ones (LIVE_ENDED, a ring) and the
 * recent events (LIVE_RING; numbered on from the process's start time x 10^6, so that an id of an
 * earlier process is told apart: the stream's ids). A line longer
 * than LIVE_MAX_LINE, not a JSON object, or whose call is not a printable id of at most
 * LIVE_CALL_MAX bytes, is counted and skipped. Fields the service does not know are kept as they
 * are in the events served; keyed digits are masked on the way in when asked (live_mask_digits,
 * or any redacted campaign), so no unmasked digit is held.
 *
 * The stream's subscribers are served as svc_events.c serves its own: a suspended connection is
 * resumed when the follower appends to it, a comment line after events_heartbeat_sec without an
 * event, and a client more than LIVE_SUB_BUFFER behind is ended (it reconnects with
 * Last-Event-ID). The lines name no agent or campaign: the routes are for callers who see every
 * call (svc_routes.c: supervisor, limited callers refused).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../pipeline/pipeline.h"
#include "svc.h"

#define LIVE_MAX_CALLS 2048       /* active calls held; more are counted, not held */
#define LIVE_ENDED 64             /* recently ended calls kept */
#define LIVE_RING 2048            /* recent events kept for resuming streams */
#define LIVE_MAX_LINE 16384       /* bytes of one line; longer ones are skipped */
#define LIVE_CALL_MAX 128         /* bytes of a call id */
#define LIVE_BACKLOG (1 << 20)    /* bytes read back at start */
#define LIVE_STALE_SEC 3600.0     /* an active call without a line this long is dropped */
#define LIVE_SUB_BUFFER (1 << 20) /* bytes a stream may fall behind */
#define LIVE_RECENT 50            /* events in GET /api/live/calls */
#define LIVE_TEXT 32              /* bytes of a type, state, source, reason or wall kept */

typedef struct live_call {
    char id[LIVE_CALL_MAX + 1];
    char source[LIVE_TEXT], started[LIVE_TEXT], last_wall[LIVE_TEXT];
    char last_type[LIVE_TEXT], last_state[LIVE_TEXT], decision[LIVE_TEXT];
    char reason[LIVE_TEXT], ended[LIVE_TEXT]; /* call_end's */
    bool beep;
    double seen; /* monotonic s of its last line */
    double call_sec, audio_sec;
    int64_t events, dtmf;
} live_call;

typedef struct live_ev {
    uint64_t id;
    char call[LIVE_CALL_MAX + 1];
    char *data; /* the line as served (compact JSON, digits masked when asked) */
} live_ev;

typedef struct live_sub {
    struct svc_live *h;
    svc_sse st;                   /* what it has not been sent yet */
    char call[LIVE_CALL_MAX + 1]; /* "" every call */
    uint64_t after;
    double last_write;
    struct live_sub *next;
} live_sub;

struct svc_live {
    svc *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stopping, mask;
    unsigned types; /* what the one walk looks for beside keyed digits (pl_redact_types) */
    /* the follower's file (its thread only) */
    int fd;
    dev_t dev;
    ino_t ino;
    off_t pos;
    char *line;
    size_t line_len;
    bool line_over; /* the line being read is past LIVE_MAX_LINE: skipped to its end */
    bool line_cut;  /* ... or began before the bytes read back at start: skipped, not counted */
    /* the state (under mu) */
    bool open;
    int64_t size, done; /* the file's size when last looked at, and the bytes read of it */
    char last_wall[LIVE_TEXT];
    live_call *calls;
    int n_calls;
    live_call ended[LIVE_ENDED];
    int n_ended, ended_next;
    live_ev ring[LIVE_RING];
    uint64_t base;    /* this process's ids start after it: its start (Unix s) x 10^6 */
    uint64_t next_id; /* the next event's id */
    char *stats;      /* the last stats line (compact JSON) or NULL */
    int64_t lines, bad_lines, long_lines, calls_over, truncations, rotations, stale;
    live_sub *subs;
    int n_subs;
};

/* ---- lines into the state ------------------------------------------------------------------- */

/* A call id: 1-LIVE_CALL_MAX bytes, printable ASCII without space. */
static bool valid_call_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= LIVE_CALL_MAX || (unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0;
}

/* A line through the one walk (pl_redact_mask_report): its "digits" and "digit" as '*', and
 * whatever quotes them. 0, or -1 (memory: the line is not kept). */
static int mask_digits(json_t *o, unsigned types)
{
    return pl_redact_mask_report(o, types, NULL);
}

static void text_of(json_t *o, const char *k, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (v)
        snprintf(out, n, "%s", v);
}

/* One event of the ring onto a subscriber, when its filter takes it. */
static void sub_send(live_sub *u, const live_ev *e, double now)
{
    if (u->st.overflow || e->id <= u->after)
        return;
    u->after = e->id;
    if (u->call[0] && strcmp(u->call, e->call))
        return;
    char head[64];
    int k = snprintf(head, sizeof(head), "id: %" PRIu64 "\nevent: live\ndata: ", e->id);
    if (svc_sse_append(&u->st, head, (size_t)k, LIVE_SUB_BUFFER) == 0 &&
        svc_sse_append(&u->st, e->data, strlen(e->data), LIVE_SUB_BUFFER) == 0 &&
        svc_sse_append(&u->st, "\n\n", 2, LIVE_SUB_BUFFER) == 0)
        u->last_write = now;
}

static live_call *find_call(struct svc_live *h, const char *id)
{
    for (int i = 0; i < h->n_calls; i++)
        if (!strcmp(h->calls[i].id, id))
            return &h->calls[i];
    return NULL;
}

/* An active call leaves for the recently ended ring. */
static void end_call(struct svc_live *h, live_call *c)
{
    h->ended[h->ended_next] = *c;
    h->ended_next = (h->ended_next + 1) % LIVE_ENDED;
    if (h->n_ended < LIVE_ENDED)
        h->n_ended++;
    *c = h->calls[--h->n_calls];
}

/* ISO 8601 UTC (what the lines' "wall" holds) as Unix seconds; -1 when it is not one. */
static double wall_sec(const char *w)
{
    struct tm tm = {0};
    double frac = 0;
    int n = 0;
    if (sscanf(w, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (w[n] == '.')
        frac = strtod(w + n, NULL);
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    return (double)timegm(&tm) + frac;
}

/* One line (NUL-terminated, len bytes) into the state (under mu). */
static void apply_line(struct svc_live *h, const char *text, size_t len, double now)
{
    h->lines++;
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *jc = json_object_get(o, "call");
    const char *call = json_string_value(jc);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type || (jc && !call) || (call && !valid_call_id(call))) {
        h->bad_lines++;
        json_decref(o);
        return;
    }
    text_of(o, "wall", h->last_wall, sizeof(h->last_wall));
    if (!call) { /* the server's own lines: stats, kept for /api/live/calls */
        if (!strcmp(type, "stats")) {
            char *s = json_dumps(o, JSON_COMPACT);
            if (s)
                free(h->stats), h->stats = s;
        }
        json_decref(o);
        return;
    }
    if (h->mask && mask_digits(o, h->types) != 0) {
        h->bad_lines++;
        json_decref(o);
        return;
    }
    char *data = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!data) {
        h->bad_lines++;
        json_decref(o);
        return;
    }
    /* the call's summary */
    live_call *c = find_call(h, call);
    bool is_end = !strcmp(type, "call_end");
    if (!c && h->n_calls < LIVE_MAX_CALLS) {
        c = &h->calls[h->n_calls++];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", call);
        text_of(o, "wall", c->started, sizeof(c->started));
    } else if (!c) {
        h->calls_over++;
    }
    if (c) {
        c->events++;
        /* when the line was written: a line read back from long ago leaves its call stale */
        const char *wall = json_string_value(json_object_get(o, "wall"));
        double w = wall ? wall_sec(wall) : -1;
        double age = w >= 0 ? svc_now_sec() - w : 0;
        c->seen = now - (age > 0 ? age : 0);
        text_of(o, "wall", c->last_wall, sizeof(c->last_wall));
        text_of(o, "source", c->source, sizeof(c->source));
        json_t *cs = json_object_get(o, "call_sec");
        if (json_is_number(cs))
            c->call_sec = json_number_value(cs);
        if (!strcmp(type, "dtmf")) {
            const char *st = json_string_value(json_object_get(o, "state"));
            if (!st || !strcmp(st, "closed")) /* a DTMF frame, or the classifier's closed run */
                c->dtmf++;
        } else if (!is_end) {
            snprintf(c->last_type, sizeof(c->last_type), "%s", type);
            c->last_state[0] = 0;
            text_of(o, "state", c->last_state, sizeof(c->last_state));
            if (!strcmp(type, "human") || !strcmp(type, "machine"))
                snprintf(c->decision, sizeof(c->decision), "%s", type);
            else if (!strcmp(type, "beep"))
                c->beep = true;
        }
        if (is_end) {
            snprintf(c->reason, sizeof(c->reason), "unknown");
            text_of(o, "reason", c->reason, sizeof(c->reason));
            text_of(o, "wall", c->ended, sizeof(c->ended));
            json_t *as = json_object_get(o, "audio_sec");
            if (json_is_number(as))
                c->audio_sec = json_number_value(as);
            end_call(h, c);
        }
    }
    /* the event, into the ring and onto the streams */
    live_ev *e = &h->ring[h->next_id % LIVE_RING];
    free(e->data);
    e->id = h->next_id++;
    snprintf(e->call, sizeof(e->call), "%s", call);
    e->data = data;
    json_decref(o); /* call was its text */
    for (live_sub *u = h->subs; u; u = u->next)
        sub_send(u, e, now);
}

/* Calls gone quiet for LIVE_STALE_SEC (a `callqa live` that died without its call_end lines). */
static void expire(struct svc_live *h, double now)
{
    for (int i = 0; i < h->n_calls;) {
        live_call *c = &h->calls[i];
        if (now - c->seen > LIVE_STALE_SEC) {
            snprintf(c->reason, sizeof(c->reason), "stale");
            h->stale++;
            end_call(h, c);
        } else {
            i++;
        }
    }
}

/* ---- the file -------------------------------------------------------------------------------- */

/* Bytes read into lines: each complete one applied (under mu). */
static void take_bytes(struct svc_live *h, const char *b, size_t n, double now)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (b + i)) : n - i;
        if (!h->line_over && !h->line_cut) {
            if (h->line_len + k > LIVE_MAX_LINE) {
                h->line_over = true;
            } else {
                memcpy(h->line + h->line_len, b + i, k);
                h->line_len += k;
            }
        }
        i += k;
        if (!nl)
            break;
        i++; /* the newline: the line is complete */
        if (h->line_cut) {
            h->line_cut = false;
        } else if (h->line_over) {
            h->long_lines++;
            h->lines++;
        } else if (h->line_len > 0) {
            h->line[h->line_len] = 0;
            apply_line(h, h->line, h->line_len, now);
        }
        h->line_len = 0;
        h->line_over = false;
    }
}

static void close_file(struct svc_live *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->line_len = 0;
    h->line_over = h->line_cut = false;
}

/* Open the file, when it is there (a regular file): from `from` bytes before its end (the start
 * when it is shorter), at a line's start. */
static void open_file(struct svc_live *h, off_t back)
{
    int fd = open(h->s->cfg->live_events, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    h->fd = fd;
    h->dev = st.st_dev, h->ino = st.st_ino;
    pthread_mutex_lock(&h->mu);
    h->open = true;
    h->size = (int64_t)st.st_size;
    h->done = (int64_t)h->pos;
    pthread_mutex_unlock(&h->mu);
    h->pos = back >= 0 && st.st_size > back ? st.st_size - back : 0;
    h->line_len = 0;
    h->line_over = false;
    h->line_cut = h->pos > 0; /* read back from the middle of a line: skip to its end */
    if (h->pos > 0) {
        /* the byte before pos: a newline means pos is at a line's start */
        char c;
        if (pread(fd, &c, 1, h->pos - 1) == 1 && c == '\n')
            h->line_cut = false;
    }
}

static void wake(struct svc_live *h)
{
    for (live_sub *u = h->subs; u; u = u->next)
        svc_sse_wake(&u->st, h->stopping);
}

/* Whether a stream has more than half its bound waiting (under mu). */
static bool behind(struct svc_live *h)
{
    for (live_sub *u = h->subs; u; u = u->next)
        if (!u->st.overflow && u->st.len - u->st.off > LIVE_SUB_BUFFER / 2)
            return true;
    return false;
}

/* Read what was added (returns when nothing more is there); the lock is taken per block. */
static void read_more(struct svc_live *h, char *block, size_t cap)
{
    for (;;) {
        ssize_t k = pread(h->fd, block, cap, h->pos);
        if (k <= 0)
            return;
        h->pos += k;
        pthread_mutex_lock(&h->mu);
        take_bytes(h, block, (size_t)k, svc_mono_sec());
        h->done = (int64_t)h->pos;
        struct stat st;
        h->size = fstat(h->fd, &st) == 0 && st.st_size > h->done ? (int64_t)st.st_size : h->done;
        wake(h); /* the streams get each block's events as it is read */
        /* a burst (a backlog, a writer that was stalled): up to 20 ms for streams more than
         * half full to drain before the next block, so that a client keeping up is not ended */
        for (int i = 0; i < 4 && behind(h); i++) {
            pthread_mutex_unlock(&h->mu);
            usleep(5000);
            pthread_mutex_lock(&h->mu);
        }
        pthread_mutex_unlock(&h->mu);
        if (h->stopping)
            return;
    }
}

/* One look at the file: opened, rotated, truncated, grown. */
static void follow(struct svc_live *h, char *block, size_t cap, bool first)
{
    struct stat st;
    bool there = stat(h->s->cfg->live_events, &st) == 0;
    if (there && h->fd >= 0 && st.st_ino == h->ino && st.st_dev == h->dev) {
        pthread_mutex_lock(&h->mu);
        h->size = (int64_t)st.st_size; /* the lag while a burst is read */
        pthread_mutex_unlock(&h->mu);
    }
    if (h->fd < 0) {
        if (there)
            open_file(h, first ? LIVE_BACKLOG : -1);
    } else if (!there || st.st_dev != h->dev || st.st_ino != h->ino) {
        read_more(h, block, cap); /* the old file to its end, then the new one */
        close_file(h);
        pthread_mutex_lock(&h->mu);
        h->rotations++;
        pthread_mutex_unlock(&h->mu);
        if (there)
            open_file(h, -1);
    }
    struct stat now;
    if (h->fd >= 0 && fstat(h->fd, &now) == 0 && now.st_size < h->pos) {
        pthread_mutex_lock(&h->mu);
        h->truncations++;
        pthread_mutex_unlock(&h->mu);
        h->pos = 0, h->line_len = 0, h->line_over = h->line_cut = false;
    }
    if (h->fd >= 0)
        read_more(h, block, cap);
    pthread_mutex_lock(&h->mu);
    h->open = h->fd >= 0;
    h->done = (int64_t)h->pos;
    h->size = h->fd >= 0 && fstat(h->fd, &now) == 0 ? (int64_t)now.st_size : 0;
    pthread_mutex_unlock(&h->mu);
}

static void *follower(void *arg)
{
    struct svc_live *h = arg;
    size_t cap = 65536;
    char *block = malloc(cap);
    bool first = true;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping && block) {
        pthread_mutex_unlock(&h->mu);
        follow(h, block, cap, first);
        first = false;
        double now = svc_mono_sec();
        pthread_mutex_lock(&h->mu);
        expire(h, now);
        for (live_sub *u = h->subs; u; u = u->next)
            if (now - u->last_write >= h->s->cfg->events_heartbeat_sec && !u->st.overflow) {
                char hb[64];
                int k = snprintf(hb, sizeof(hb), ": heartbeat %.0f\n\n", svc_now_sec());
                if (svc_sse_append(&u->st, hb, (size_t)k, LIVE_SUB_BUFFER) == 0)
                    u->last_write = now;
            }
        wake(h);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
    }
    wake(h);
    pthread_mutex_unlock(&h->mu);
    free(block);
    return NULL;
}

/* ---- the routes -------------------------------------------------------------------------------
 */

static enum MHD_Result live_off(req *r)
{
    svc_answer_error(r, 404, "live_off",
                     "no live event file is followed (the live_events setting, docs/live.md)");
    return svc_send(r);
}

/* The 'call' argument: NULL none, "" when bad (answered). */
static const char *call_arg(req *r)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, "call", 4, &v, &len) !=
            MHD_YES ||
        !v)
        return NULL;
    if (strlen(v) != len || !valid_call_id(v)) {
        svc_answer_error(r, 400, "bad_argument",
                         "call: a call id, 1-%d printable characters without spaces",
                         LIVE_CALL_MAX);
        return "";
    }
    return v;
}

static json_t *text_or_null(const char *s)
{
    return s[0] ? svc_json_text(s) : json_null();
}

static json_t *call_json(const live_call *c, bool ended)
{
    json_t *o = json_object();
    json_object_set_new(o, "call", svc_json_text(c->id));
    json_object_set_new(o, "source", text_or_null(c->source));
    json_object_set_new(o, "started", text_or_null(c->started));
    json_object_set_new(o, "last_wall", text_or_null(c->last_wall));
    json_object_set_new(o, "last_type", text_or_null(c->last_type));
    json_object_set_new(o, "last_state", text_or_null(c->last_state));
    json_object_set_new(o, "decision", text_or_null(c->decision));
    json_object_set_new(o, "beep", json_boolean(c->beep));
    json_object_set_new(o, "dtmf", json_integer(c->dtmf));
    json_object_set_new(o, "events", json_integer(c->events));
    json_object_set_new(o, "call_sec", json_real(c->call_sec));
    if (ended) {
        json_object_set_new(o, "ended", text_or_null(c->ended));
        json_object_set_new(o, "reason", text_or_null(c->reason));
        json_object_set_new(o, "audio_sec", json_real(c->audio_sec));
    }
    return o;
}

/* How far the follower is behind (under mu): the bytes of the file not read yet (0 when not
 * following), and the wall time of the last line read (Unix s; -1: none yet). */
static void lag_of(const struct svc_live *h, int64_t *bytes, double *wall)
{
    *bytes = h->open && h->size > h->done ? h->size - h->done : 0;
    *wall = h->last_wall[0] ? wall_sec(h->last_wall) : -1;
}

enum MHD_Result svc_live_calls(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    struct svc_live *h = r->s->live;
    if (!h)
        return live_off(r);
    const char *call = call_arg(r);
    if (call && !*call)
        return svc_send(r);
    json_t *o = json_object(), *active = json_array(), *ended = json_array(),
           *recent = json_array();
    const char *slash = strrchr(r->s->cfg->live_events, '/');
    json_object_set_new(o, "file", svc_json_text(slash ? slash + 1 : r->s->cfg->live_events));
    pthread_mutex_lock(&h->mu);
    json_object_set_new(o, "following", json_boolean(h->open));
    json_object_set_new(o, "mask_digits", json_boolean(h->mask));
    int64_t lag;
    double w;
    lag_of(h, &lag, &w);
    json_t *lg = json_object();
    json_object_set_new(lg, "bytes", json_integer(lag));
    json_object_set_new(lg, "last_wall", text_or_null(h->last_wall));
    json_object_set_new(lg, "sec", w >= 0 ? json_real(svc_now_sec() - w) : json_null());
    json_object_set_new(o, "lag", lg);
    for (int i = 0; i < h->n_calls; i++)
        if (!call || !strcmp(call, h->calls[i].id))
            json_array_append_new(active, call_json(&h->calls[i], false));
    for (int i = 0; i < h->n_ended; i++) { /* the latest first */
        const live_call *c = &h->ended[(h->ended_next - 1 - i + LIVE_ENDED) % LIVE_ENDED];
        if (!call || !strcmp(call, c->id))
            json_array_append_new(ended, call_json(c, true));
    }
    uint64_t first = h->next_id - h->base > LIVE_RING ? h->next_id - LIVE_RING : h->base + 1;
    for (uint64_t id = h->next_id; id-- > first && json_array_size(recent) < LIVE_RECENT;) {
        const live_ev *e = &h->ring[id % LIVE_RING];
        if (call && strcmp(call, e->call))
            continue;
        json_t *ev = json_loads(e->data, 0, NULL);
        if (json_is_object(ev)) {
            json_object_set_new(ev, "event_id", json_integer((json_int_t)e->id));
            json_array_insert_new(recent, 0, ev);
        } else {
            json_decref(ev);
        }
    }
    json_t *counts = json_object();
    json_object_set_new(counts, "active", json_integer(h->n_calls));
    json_object_set_new(counts, "ended", json_integer(h->n_ended));
    json_object_set_new(counts, "lines", json_integer(h->lines));
    json_object_set_new(counts, "bad_lines", json_integer(h->bad_lines));
    json_object_set_new(counts, "long_lines", json_integer(h->long_lines));
    json_object_set_new(counts, "calls_over_limit", json_integer(h->calls_over));
    json_object_set_new(counts, "stale", json_integer(h->stale));
    json_object_set_new(counts, "truncations", json_integer(h->truncations));
    json_object_set_new(counts, "rotations", json_integer(h->rotations));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "last_event_id", json_integer((json_int_t)(h->next_id - 1)));
    json_object_set_new(o, "stats", h->stats ? json_loads(h->stats, 0, NULL) : json_null());
    pthread_mutex_unlock(&h->mu);
    json_object_set_new(o, "active", active);
    json_object_set_new(o, "ended", ended);
    json_object_set_new(o, "recent", recent);
    json_t *lim = json_object();
    json_object_set_new(lim, "max_calls", json_integer(LIVE_MAX_CALLS));
    json_object_set_new(lim, "ended_kept", json_integer(LIVE_ENDED));
    json_object_set_new(lim, "events_kept", json_integer(LIVE_RING));
    json_object_set_new(lim, "max_line_bytes", json_integer(LIVE_MAX_LINE));
    json_object_set_new(o, "limits", lim);
    return svc_qa_send(r, 200, o);
}

void svc_live_metrics(svc *s, FILE *f)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    static const char *const counters[][2] = {
        {"lines", "Lines read from the live_events file."},
        {"bad_lines", "Lines of the live_events file that were not an event of a call."},
        {"long_lines", "Lines over the length limit, skipped."},
        {"calls_over_limit", "Events of calls beyond the calls followed at once, not kept."},
        {"stale", "Calls dropped after no line for a while (no call_end came)."},
        {"truncations", "Times the live_events file shrank (read again from its start)."},
        {"rotations", "Times the live_events file was replaced (followed anew)."},
    };
    pthread_mutex_lock(&h->mu);
    const int64_t v[] = {h->lines, h->bad_lines,   h->long_lines, h->calls_over,
                         h->stale, h->truncations, h->rotations};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        fprintf(f,
                "# HELP callqa_live_%s_total %s\n# TYPE callqa_live_%s_total counter\n"
                "callqa_live_%s_total %lld\n",
                counters[i][0], counters[i][1], counters[i][0], counters[i][0], (long long)v[i]);
    int64_t lag;
    double w;
    lag_of(h, &lag, &w);
    fprintf(f,
            "# HELP callqa_live_following Whether the live_events file is open.\n"
            "# TYPE callqa_live_following gauge\ncallqa_live_following %d\n"
            "# HELP callqa_live_calls Calls followed, by state (ended: the recent ones kept).\n"
            "# TYPE callqa_live_calls gauge\n"
            "callqa_live_calls{state=\"active\"} %d\ncallqa_live_calls{state=\"ended\"} %d\n"
            "# HELP callqa_live_lag_bytes Bytes of the live_events file not read yet.\n"
            "# TYPE callqa_live_lag_bytes gauge\ncallqa_live_lag_bytes %lld\n"
            "# HELP callqa_live_event_streams Streams of GET /api/live/events open.\n"
            "# TYPE callqa_live_event_streams gauge\ncallqa_live_event_streams %d\n",
            h->open, h->n_calls, h->n_ended, (long long)lag, h->n_subs);
    if (w >= 0) /* no line with a time yet: no sample, rather than a made-up age */
        fprintf(f,
                "# HELP callqa_live_last_line_age_seconds Seconds since the wall time of the "
                "last line read.\n# TYPE callqa_live_last_line_age_seconds gauge\n"
                "callqa_live_last_line_age_seconds %.3f\n",
                svc_now_sec() - w);
    pthread_mutex_unlock(&h->mu);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    live_sub *u = cls;
    return svc_sse_read(&u->st, &u->h->mu, &u->h->stopping, buf, max);
}

static void reader_done(void *cls)
{
    live_sub *u = cls;
    struct svc_live *h = u->h;
    pthread_mutex_lock(&h->mu);
    for (live_sub **p = &h->subs; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            h->n_subs--;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    free(u->st.buf);
    free(u);
}

enum MHD_Result svc_live_events(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    struct svc_live *h = r->s->live;
    if (!h)
        return live_off(r);
    const char *call = call_arg(r);
    if (call && !*call)
        return svc_send(r);
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *from = last ? last : q;
    int64_t after = -1;
    if (from) {
        char *end;
        errno = 0;
        long long v = strtoll(from, &end, 10);
        if (errno || end == from || *end || v < 0) {
            svc_answer_error(r, 400, "bad_argument", "Last-Event-ID or after: an event id");
            return svc_send(r);
        }
        after = v;
    }
    live_sub *u = calloc(1, sizeof(*u));
    if (!u) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    if (call)
        snprintf(u->call, sizeof(u->call), "%s", call);
    u->h = h;
    u->st.conn = r->conn;
    u->last_write = svc_mono_sec();
    svc_sse_append(&u->st, "retry: 3000\n\n", 13, LIVE_SUB_BUFFER);
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->n_subs >= r->s->cfg->events_max_clients) {
        bool stopping = h->stopping;
        pthread_mutex_unlock(&h->mu);
        free(u->st.buf);
        free(u);
        svc_answer_error(r, 503, stopping ? "stopping" : "busy",
                         stopping ? "the service is stopping" : "too many event streams open");
        return svc_send(r);
    }
    /* from the event after `after` while the ring holds it (an id of an earlier process, or
     * past the last: from now); without one, from now */
    uint64_t last_id = h->next_id - 1;
    u->after = after >= 0 && (uint64_t)after >= h->base && (uint64_t)after <= last_id
                   ? (uint64_t)after
                   : last_id;
    uint64_t first = h->next_id - h->base > LIVE_RING ? h->next_id - LIVE_RING : h->base + 1;
    double now = svc_mono_sec();
    for (uint64_t id = u->after + 1 > first ? u->after + 1 : first; id < h->next_id; id++)
        sub_send(u, &h->ring[id % LIVE_RING], now);
    u->after = last_id;
    u->next = h->subs;
    h->subs = u;
    h->n_subs++;
    pthread_mutex_unlock(&h->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, u, reader_done);
    if (!resp) {
        reader_done(u);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    r->status = 200;
    return svc_queue(r, MHD_HTTP_OK, resp);
}

/* ---- start, stop ------------------------------------------------------------------------------
 */

int svc_live_start(svc *s)
{
    if (!s->cfg->live_events[0])
        return 0;
    struct svc_live *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->s = s;
    h->fd = -1;
    h->base = (uint64_t)time(NULL) * 1000000u; /* an id of an earlier process is below it */
    h->next_id = h->base + 1;
    h->mask = s->cfg->live_mask_digits || pl_redact_any(s->cfg);
    h->types = pl_redact_types(s->cfg);
    h->calls = calloc(LIVE_MAX_CALLS, sizeof(live_call));
    h->line = malloc(LIVE_MAX_LINE + 1);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (!h->calls || !h->line || pthread_create(&h->thread, NULL, follower, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h->calls);
        free(h->line);
        free(h);
        return -1;
    }
    s->live = h;
    return 0;
}

void svc_live_stop(svc *s)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
}

void svc_live_free(svc *s)
{
    struct svc_live *h = s->live;
    if (!h)
        return;
    close_file(h);
    for (int i = 0; i < LIVE_RING; i++)
        free(h->ring[i].data);
    free(h->stats);
    free(h->calls);
    free(h->line);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    s->live = NULL;
}
