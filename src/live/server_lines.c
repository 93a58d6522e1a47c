/*
 * server_lines.c - the event lines of `callqa live` (server_int.h): each built in a bounded
 * buffer, queued (a full queue drops it, counted: the audio never waits for the reader), and
 * written by one writer thread to events_fd, then handed to the sink (on_event); a call's lines
 * go to its recording's event file too. The stats line every stats_sec and at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

#define EARLY_MAX 16384 /* bytes of a call's lines kept until its recording opens */

const char *const lv__reason[] = {"",        "hangup",        "peer_closed", "max_duration",
                                  "stalled", "error",         "shutdown",    "ssrc_change",
                                  "full",    "ident_timeout", "evicted"};
const char *const lv__input_name[] = {"audiosocket", "rtp", "websocket"};

/* The wall clock as ISO 8601 UTC with milliseconds into buf[32]. */
static const char *wall_now(char buf[32])
{
    double t = cq_clock_wall_sec();
    time_t sec = (time_t)t;
    int ms = (int)((t - (double)sec) * 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t k = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, 32 - k, ".%03dZ", ms < 999 ? ms : 999);
    return buf;
}

/* Queue one line (a '\n' is added); dropped and counted when the queue is full. */
static void emit(lv_server *s, const lv__meta *m, const char *text, size_t len)
{
    lv__line *l = NULL;
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

/* A line of one call: to the event queue, and to the call's recorded events when it records. */
void lv__call_emit(lv__call *c, const lv__meta *m, const char *text, size_t len)
{
    /* under the call's lock, so that the recorded lines keep the stream's order */
    pthread_mutex_lock(&c->mu);
    emit(c->srv, m, text, len);
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

void lv__put(lv__lbuf *l, const char *fmt, ...)
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
void lv__put_str(lv__lbuf *l, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            lv__put(l, "\\%c", ch);
        else if (ch < 0x20)
            lv__put(l, "\\u%04x", ch);
        else
            lv__put(l, "%c", ch);
    }
}

void lv__put_tail(lv__lbuf *l, double call_sec)
{
    char w[32];
    lv__put(l, ",\"call_sec\":%.3f,\"wall\":\"%s\"}", call_sec, wall_now(w));
}

/* The start of a call's line: its name and its input (both JSON-safe by construction). */
void lv__put_head(lv__lbuf *l, const lv__call *c)
{
    lv__put(l, "{\"call\":\"%s\",\"input\":\"%s\",", c->name, lv__input_name[c->input]);
}

/* The classifier's event, as `callqa classify` prints it, with call, input, call_sec and wall. */
void lv__emit_event(lv__call *c, const cq_call_event *e)
{
    double at = (double)c->pushed / CQ_CLASSIFY_RATE;
    cq_call_event ev = *e;
    if (c->srv->p.mask_digits && ev.type == CQ_EV_DTMF) {
        for (char *d = ev.digits; *d; d++) /* as the privacy redaction masks keyed digits */
            *d = '*';
        if (c->rate) { /* its span muted in the recording, open until the event closes */
            const double g = LV__MUTE_GUARD_SEC;
            const uint64_t from = ev.start_sec > g ? (uint64_t)((ev.start_sec - g) * c->rate) : 0;
            const uint64_t to =
                ev.state == CQ_EVENT_CLOSED ? (uint64_t)((ev.end_sec + g) * c->rate) : UINT64_MAX;
            pthread_mutex_lock(&c->mu);
            lv__mute_locked(c, from, to);
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (ev.type == CQ_EV_PROBE) { /* played from the network thread's next received frame */
        pthread_mutex_lock(&c->mu);
        c->probe_on = true;
        c->probe_pos = 0;
        c->probes++;
        pthread_mutex_unlock(&c->mu);
    }
    char fields[1024];
    cq_call_event_fields(&ev, at, fields, sizeof(fields));
    lv__lbuf l = {.n = 0};
    lv__put_head(&l, c);
    lv__put(&l, "%s", fields);
    lv__put_tail(&l, at);
    lv__meta m = {.state = (int)e->state,
                  .rule = e->rule,
                  .start = e->start_sec,
                  .end = e->end_sec > e->start_sec ? e->end_sec : e->start_sec,
                  .at = at,
                  .speech = e->speech_sec,
                  .quiet = e->quiet_sec,
                  .reply = e->reply_sec};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    snprintf(m.type, sizeof(m.type), "%s", cq_event_type_name(e->type));
    lv__call_emit(c, &m, l.b, l.n);
}

/* The p-quantile (0-1) of the frames' waits, in ms (the bucket's upper edge); -1 with none. */
static int lat_quantile(const uint64_t *h, uint64_t total, double q)
{
    if (!total)
        return -1;
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int b = 0; b < LV__LAT_BUCKETS; b++)
        if ((acc += h[b]) > want)
            return b + 1;
    return LV__LAT_BUCKETS;
}

void lv__emit_stats(lv_server *s, bool final)
{
    lv__lbuf l = {.n = 0};
    char w[32];
    uint64_t h[LV__LAT_BUCKETS], frames = 0;
    int worst = -1;
    for (int b = 0; b < LV__LAT_BUCKETS; b++) {
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
    lv__put(&l,
            "{\"type\":\"stats\",\"final\":%s,\"accepted\":%llu,\"calls\":%llu,\"active\":%llu,"
            "\"refused_full\":%llu,\"refused_uuid\":%llu,\"events\":%llu,\"events_dropped\":%llu,"
            "\"audio_dropped_samples\":%llu,\"rtp_datagrams\":%llu,\"rtp_malformed\":%llu,"
            "\"rtp_refused\":%llu,\"rtp_after_end\":%llu,\"ws_refused\":%llu,"
            "\"unidentified\":%llu,\"unidentified_timeout\":%llu,\"unidentified_evicted\":%llu,"
            "\"rtp_unidentified\":%llu,\"rtp_unidentified_timeout\":%llu,"
            "\"rtp_unidentified_evicted\":%llu,\"rtp_unidentified_dropped\":%llu,"
            "\"audio_analysed_sec\":%.3f,\"cpu_sec\":%.3f,"
            "\"vad_chunks_per_run\":%.1f,\"frames\":%llu,\"wait_ms\":{\"p50\":%d,\"p99\":%d,"
            "\"max\":%d},\"wall\":\"%s\"}",
            final ? "true" : "false", (unsigned long long)s->accepted, (unsigned long long)s->calls,
            (unsigned long long)s->active, (unsigned long long)s->refused_full,
            (unsigned long long)s->refused_uuid, (unsigned long long)s->events,
            (unsigned long long)s->events_dropped, (unsigned long long)s->audio_dropped,
            (unsigned long long)s->rtp_datagrams, (unsigned long long)s->rtp_malformed,
            (unsigned long long)s->rtp_refused, (unsigned long long)s->rtp_after_end,
            (unsigned long long)s->ws_refused, (unsigned long long)s->pool.n,
            (unsigned long long)s->pool.timeout, (unsigned long long)s->pool.evicted,
            (unsigned long long)s->rtp_unidentified, (unsigned long long)s->rtp_ident_timeout,
            (unsigned long long)s->rtp_ident_evicted, (unsigned long long)s->rtp_ident_dropped,
            (double)atomic_load(&s->analysed_us) / 1e6, cpu,
            runs ? (double)atomic_load(&s->vad_chunks) / (double)runs : 0.0,
            (unsigned long long)frames, lat_quantile(h, frames, 0.5), lat_quantile(h, frames, 0.99),
            worst, wall_now(w));
    if (s->p.on_stats && l.n > 0 && l.n < sizeof(l.b)) { /* the sink's fields before the '}' */
        char more[1024];
        size_t k = s->p.on_stats(s->p.user, more, sizeof(more));
        if (k > 0 && k < sizeof(more) && l.n + k < sizeof(l.b)) {
            l.n--;
            lv__put(&l, "%.*s}", (int)k, more);
        }
    }
    lv__meta m = {.type = "stats"};
    emit(s, &m, l.b, l.n);
}

/* ---- the writer and the sink
 * --------------------------------------------------------------------------------
 */

void *lv__writer_main(void *arg)
{
    lv_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->eq_mu);
        while (!s->eq_head && !s->eq_quit)
            pthread_cond_wait(&s->eq_cv, &s->eq_mu);
        lv__line *l = s->eq_head;
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
        if (abandon > 0 && cq_clock_mono_sec() > abandon)
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
            if (abandon > 0 && cq_clock_mono_sec() > abandon)
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
                           .reply_sec = l->m.reply,
                           .reason = l->m.reason};
            s->p.on_event(s->p.user, &ev);
        }
        free(l);
    }
}

void lv__emit_end(lv__call *c)
{
    pthread_mutex_lock(&c->mu);
    uint32_t rate = c->rate;
    uint64_t rx = c->rx_samples, dropped = c->dropped;
    lv__end reason = c->reason;
    char err[sizeof(c->err)];
    memcpy(err, c->err, sizeof(err));
    pthread_mutex_unlock(&c->mu);
    double call_sec = rate ? (double)rx / rate : 0;
    lv__lbuf l = {.n = 0};
    lv__put_head(&l, c);
    lv__put(&l, "\"type\":\"call_end\",\"reason\":\"%s\"", lv__reason[reason]);
    if (c->werr && !err[0])
        snprintf(err, sizeof(err), "analysis: %s", cq_strerror(c->werr));
    if (err[0]) {
        lv__put(&l, ",\"error\":\"");
        lv__put_str(&l, err);
        lv__put(&l, "\"");
    }
    lv__put(
        &l, ",\"rate_hz\":%u,\"audio_sec\":%.3f,\"analysed_sec\":%.3f,\"audio_dropped_sec\":%.3f",
        rate, call_sec, (double)c->pushed / CQ_CLASSIFY_RATE, rate ? (double)dropped / rate : 0);
    lv__put(&l, "%s", c->extra); /* the input's counters: written before the call ended */
    if (c->srv->p.announce && c->an_dest[0]) { /* remembered announcements (docs/live.md) */
        size_t frames, learned = 0;
        while (c->cls && cq_classifier_learned(c->cls, learned, &frames))
            learned++;
        lv__put(&l, ",\"destination\":\"");
        lv__put_str(&l, c->an_dest);
        lv__put(&l, "\",\"announcements_remembered\":%u,\"announcements_learned\":%zu",
                c->remembered, learned);
    }
    if (c->rec_name[0] && !c->rec_note[0]) {
        lv__put(&l, ",\"recording\":\"");
        lv__put_str(&l, c->rec_name);
        lv__put(&l, ".wav\"");
    } else if (c->rec_note[0]) {
        lv__put(&l, ",\"recording_error\":\"");
        lv__put_str(&l, c->rec_note);
        lv__put(&l, "\"");
    }
    lv__put_tail(&l, call_sec);
    lv__meta m = {.type = "call_end", .reason = lv__reason[reason], .at = call_sec};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    lv__call_emit(c, &m, l.b, l.n);
    lv__rec_events_close(c);
}
