/*
 * follow.c - the follower of `callqa live`'s event lines (live.h, lv_follow_*): one thread reads
 * the file four times a second from where it left off and applies each line to a bounded state
 * (the active calls, the recently ended ones, the recent events, the counts), handing each event
 * to the sink as it is applied; the service's /api/live routes read the state and stream the
 * events (src/service/svc_live.c).
 *
 * The file at start is read back from its last LV_FOLLOW_BACKLOG bytes, at a line's start; a
 * file that is not there yet is waited for, a file shorter than what was read (truncated) is read
 * again from its start, and a new file under the name (rotated by rename: another inode) is read
 * from its start once the old one is read to its end. A burst (a backlog, a writer that was
 * stalled) is read block by block, and before the next block the sink's readers more than half
 * behind get up to 20 ms to drain, so that a reader keeping up is not ended.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "live_int.h"

struct lv_follow {
    lv_follow_state st; /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stopping;
    char *path;
    int (*mask)(json_t *o, void *arg);
    void *mask_arg;
    lv_follow_sink sink;
    /* the follower's file (its thread only) */
    int fd;
    dev_t dev;
    ino_t ino;
    off_t pos;
    char *line;
    size_t line_len;
    bool line_over; /* the line being read is past LV_FOLLOW_MAX_LINE: skipped to its end */
    bool line_cut;  /* ... or began before the bytes read back at start: skipped, not counted */
};

/* ---- lines into the state ------------------------------------------------------------------- */

bool lv_follow_call_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= LV_FOLLOW_CALL_MAX || (unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0;
}

static void text_of(json_t *o, const char *k, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (v)
        snprintf(out, n, "%s", v);
}

static lv_follow_call *find_call(lv_follow *h, const char *id)
{
    for (int i = 0; i < h->st.n_calls; i++)
        if (!strcmp(h->st.calls[i].id, id))
            return &h->st.calls[i];
    return NULL;
}

/* An active call leaves for the recently ended ring. */
static void end_call(lv_follow *h, lv_follow_call *c)
{
    h->st.ended[h->st.ended_next] = *c;
    h->st.ended_next = (h->st.ended_next + 1) % LV_FOLLOW_ENDED;
    if (h->st.n_ended < LV_FOLLOW_ENDED)
        h->st.n_ended++;
    *c = h->st.calls[--h->st.n_calls];
}

double lv_follow_wall_sec(const char *w)
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
static void apply_line(lv_follow *h, const char *text, size_t len, double now)
{
    h->st.lines++;
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *jc = json_object_get(o, "call");
    const char *call = json_string_value(jc);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type || (jc && !call) || (call && !lv_follow_call_id(call))) {
        h->st.bad_lines++;
        json_decref(o);
        return;
    }
    text_of(o, "wall", h->st.last_wall, sizeof(h->st.last_wall));
    if (!call) { /* the server's own lines: stats, kept for /api/live/calls */
        if (!strcmp(type, "stats")) {
            char *s = json_dumps(o, JSON_COMPACT);
            if (s)
                free(h->st.stats), h->st.stats = s;
        }
        json_decref(o);
        return;
    }
    if (h->mask && h->mask(o, h->mask_arg) != 0) {
        h->st.bad_lines++;
        json_decref(o);
        return;
    }
    char *data = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!data) {
        h->st.bad_lines++;
        json_decref(o);
        return;
    }
    /* the call's summary */
    lv_follow_call *c = find_call(h, call);
    bool is_end = !strcmp(type, "call_end");
    if (!c && h->st.n_calls < LV_FOLLOW_MAX_CALLS) {
        c = &h->st.calls[h->st.n_calls++];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", call);
        text_of(o, "wall", c->started, sizeof(c->started));
    } else if (!c) {
        h->st.calls_over++;
    }
    if (c) {
        c->events++;
        /* when the line was written: a line read back from long ago leaves its call stale */
        const char *wall = json_string_value(json_object_get(o, "wall"));
        double w = wall ? lv_follow_wall_sec(wall) : -1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double age = w >= 0 ? (double)ts.tv_sec + ts.tv_nsec * 1e-9 - w : 0;
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
            if (!strcmp(type, "human") || !strcmp(type, "machine")) {
                snprintf(c->decision, sizeof(c->decision), "%s", type);
                text_of(o, "rule", c->rule, sizeof(c->rule));
                json_t *rs = json_object_get(o, "reply_sec");
                if ((c->replied = json_is_number(rs)))
                    c->reply_sec = json_number_value(rs);
            } else if (!strcmp(type, "beep")) {
                c->beep = true;
            } else if (!strcmp(type, "probe")) {
                c->probes++;
            }
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
    lv_follow_event *e = &h->st.ring[h->st.next_id % LV_FOLLOW_RING];
    free(e->data);
    e->id = h->st.next_id++;
    snprintf(e->call, sizeof(e->call), "%s", call);
    e->data = data;
    json_decref(o); /* call was its text */
    if (h->sink.event)
        h->sink.event(h->sink.arg, e);
}

/* Calls gone quiet for LV_FOLLOW_STALE_SEC (a `callqa live` that died without its call_end lines).
 */
static void expire(lv_follow *h, double now)
{
    for (int i = 0; i < h->st.n_calls;) {
        lv_follow_call *c = &h->st.calls[i];
        if (now - c->seen > LV_FOLLOW_STALE_SEC) {
            snprintf(c->reason, sizeof(c->reason), "stale");
            h->st.stale++;
            end_call(h, c);
        } else {
            i++;
        }
    }
}

/* ---- the file -------------------------------------------------------------------------------- */

/* Bytes read into lines: each complete one applied (under mu). */
static void take_bytes(lv_follow *h, const char *b, size_t n, double now)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (b + i)) : n - i;
        if (!h->line_over && !h->line_cut) {
            if (h->line_len + k > LV_FOLLOW_MAX_LINE) {
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
            h->st.long_lines++;
            h->st.lines++;
        } else if (h->line_len > 0) {
            h->line[h->line_len] = 0;
            apply_line(h, h->line, h->line_len, now);
        }
        h->line_len = 0;
        h->line_over = false;
    }
}

static void close_file(lv_follow *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->line_len = 0;
    h->line_over = h->line_cut = false;
}

/* Open the file, when it is there (a regular file): from `from` bytes before its end (the start
 * when it is shorter), at a line's start. */
static void open_file(lv_follow *h, off_t back)
{
    int fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
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
    h->st.open = true;
    h->st.size = (int64_t)st.st_size;
    h->st.done = (int64_t)h->pos;
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

/* Read what was added (returns when nothing more is there); the lock is taken per block. */
static void read_more(lv_follow *h, char *block, size_t cap)
{
    for (;;) {
        ssize_t k = pread(h->fd, block, cap, h->pos);
        if (k <= 0)
            return;
        h->pos += k;
        pthread_mutex_lock(&h->mu);
        take_bytes(h, block, (size_t)k, cq_clock_mono_sec());
        h->st.done = (int64_t)h->pos;
        struct stat st;
        h->st.size =
            fstat(h->fd, &st) == 0 && st.st_size > h->st.done ? (int64_t)st.st_size : h->st.done;
        if (h->sink.read) /* the readers get each block's events as it is read */
            h->sink.read(h->sink.arg);
        /* a burst (a backlog, a writer that was stalled): up to 20 ms for streams more than
         * half full to drain before the next block, so that a client keeping up is not ended */
        for (int i = 0; i < 4 && h->sink.behind && h->sink.behind(h->sink.arg); i++) {
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
static void follow(lv_follow *h, char *block, size_t cap, bool first)
{
    struct stat st;
    bool there = stat(h->path, &st) == 0;
    if (there && h->fd >= 0 && st.st_ino == h->ino && st.st_dev == h->dev) {
        pthread_mutex_lock(&h->mu);
        h->st.size = (int64_t)st.st_size; /* the lag while a burst is read */
        pthread_mutex_unlock(&h->mu);
    }
    if (h->fd < 0) {
        if (there)
            open_file(h, first ? LV_FOLLOW_BACKLOG : -1);
    } else if (!there || st.st_dev != h->dev || st.st_ino != h->ino) {
        read_more(h, block, cap); /* the old file to its end, then the new one */
        close_file(h);
        pthread_mutex_lock(&h->mu);
        h->st.rotations++;
        pthread_mutex_unlock(&h->mu);
        if (there)
            open_file(h, -1);
    }
    struct stat now;
    if (h->fd >= 0 && fstat(h->fd, &now) == 0 && now.st_size < h->pos) {
        pthread_mutex_lock(&h->mu);
        h->st.truncations++;
        pthread_mutex_unlock(&h->mu);
        h->pos = 0, h->line_len = 0, h->line_over = h->line_cut = false;
    }
    if (h->fd >= 0)
        read_more(h, block, cap);
    pthread_mutex_lock(&h->mu);
    h->st.open = h->fd >= 0;
    h->st.done = (int64_t)h->pos;
    h->st.size = h->fd >= 0 && fstat(h->fd, &now) == 0 ? (int64_t)now.st_size : 0;
    pthread_mutex_unlock(&h->mu);
}

static void *follower(void *arg)
{
    lv_follow *h = arg;
    size_t cap = 65536;
    char *block = malloc(cap);
    bool first = true;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping && block) {
        pthread_mutex_unlock(&h->mu);
        follow(h, block, cap, first);
        first = false;
        double now = cq_clock_mono_sec();
        pthread_mutex_lock(&h->mu);
        expire(h, now);
        if (h->sink.tick)
            h->sink.tick(h->sink.arg);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
    }
    pthread_mutex_unlock(&h->mu);
    free(block);
    return NULL;
}

/* ---- start, stop, read -------------------------------------------------------------------- */

lv_follow *lv_follow_start(const lv_follow_params *p)
{
    lv_follow *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->fd = -1;
    h->st.base = (uint64_t)time(NULL) * 1000000u; /* an id of an earlier process is below it */
    h->st.next_id = h->st.base + 1;
    h->st.mask = p->mask != NULL;
    h->mask = p->mask, h->mask_arg = p->mask_arg;
    h->sink = p->sink;
    h->path = strdup(p->path ? p->path : "");
    h->st.calls = calloc(LV_FOLLOW_MAX_CALLS, sizeof(lv_follow_call));
    h->line = malloc(LV_FOLLOW_MAX_LINE + 1);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (!h->path || !h->st.calls || !h->line ||
        pthread_create(&h->thread, NULL, follower, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h->path);
        free(h->st.calls);
        free(h->line);
        free(h);
        return NULL;
    }
    return h;
}

void lv_follow_stop(lv_follow *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
}

void lv_follow_free(lv_follow *h)
{
    if (!h)
        return;
    close_file(h);
    for (int i = 0; i < LV_FOLLOW_RING; i++)
        free(h->st.ring[i].data);
    free(h->st.stats);
    free(h->st.calls);
    free(h->line);
    free(h->path);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

void lv_follow_read(lv_follow *h, void (*fn)(void *arg, const lv_follow_state *st), void *arg)
{
    pthread_mutex_lock(&h->mu);
    fn(arg, &h->st);
    pthread_mutex_unlock(&h->mu);
}
