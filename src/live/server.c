/*
 * server.c - `callqa live`: the server of live calls over its three inputs (AudioSocket over TCP,
 * RTP over UDP, WebSocket over TCP) (live.h, "the server of `callqa live`"; docs/live.md,
 * "callqa live"). This file is its network thread (accept, the pending pool, a call's ring and
 * its end, the loop) and its create and destroy; the other pieces are server_*.c and probe.c.
 *
 * Three kinds of thread, and what each may wait for:
 *   network   (the caller of lv_server_run) epoll over the listening sockets, the RTP socket,
 *             a wake-up eventfd and every connection, all non-blocking; it feeds each
 *             connection's bytes to its decoder (lv_as, lv_ws), each datagram to the receiver
 *             of its SSRC (lv_rtp), and copies audio into the call's ring. It takes short
 *             locks only (a call's ring, the run queue, the event queue) and never waits for
 *             analysis or for the reader of the events: a full ring drops audio, a full event
 *             queue drops lines, both counted.
 *   analysis  `threads` of them take calls with work from the run queue (one thread per call
 *             at a time, at most about a second of audio per turn, then back to the tail), run
 *             VAD and the streaming classifier and queue the event lines; the one that finds a
 *             call ended with its ring empty finishes it and writes its call_end.
 *   writer    takes lines from the event queue and writes them to events_fd (non-blocking, with
 *             poll), then hands each to the sink (on_event) if there is one; at shutdown it
 *             is given a few seconds to flush a stalled reader.
 * A call is shared by the network thread and the analysis side with a count of two references;
 * the last to let go frees it. The server's `active` count is the calls not yet freed.
 *
 * Inputs. Every call, whatever its input, is a call (lv__call) on the network thread's list, with
 * the same ring, clocks and end. AudioSocket and WebSocket calls are connections (fd), each with
 * its session (server_as.c, server_ws.c); an RTP call is an SSRC on the one UDP socket, with its
 * own lv_rtp receiver, waiting in a pool of its own until it has shown it is a stream
 * (server_rtp.c). The probe is played back beside each input's audio (probe.c); the analysis
 * threads are server_analysis.c's, the recordings server_record.c's, the event lines and their
 * writer server_lines.c's. What the files share is server_int.h.
 *
 * Connections before their call. An AudioSocket or WebSocket connection is not a call until it
 * has identified one (the UUID frame; the Upgrade and a first message): until then it waits in
 * the pending pool (pending.c, shared with FastAGI; its rules in live_int.h), apart from
 * max_calls, for ident_sec from its accept at most, whatever it sends meanwhile (docs/live.md,
 * "Connections that send nothing"). max_calls is checked at the accept and again when the call
 * is identified.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

#define ACCEPT_BATCH 64 /* connections accepted per readiness event */

/* ---- calls: references ----------------------------------------------------------------------- */

void lv__call_release(lv__call *c)
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
        lv__rec_abandon(c, "not finished");
    if (c->rec_ev)
        fclose(c->rec_ev);
    free(c->early);
    free(c->delay);
    free(c->q8);
    lv_as_destroy(c->dec);
    lv_rtp_destroy(c->rtp);
    lv_ws_destroy(c->ws);
    free(c->hdr);
    pthread_mutex_destroy(&c->mu);
    free(c->ring);
    const bool counted = c->named; /* a call: it counted against max_calls until now */
    free(c);
    if (counted)
        atomic_fetch_sub(&s->active, 1);
}

/* ---- the network thread ------------------------------------------------------------------------
 */

static void conn_unlink(lv_server *s, lv__call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void lv__conn_link(lv_server *s, lv__call *c)
{
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
}

/* Best effort: a frame to a peer we are about to close (never waited for). */
void lv__send_frame(int fd, const uint8_t *b, size_t n)
{
    if (n)
        (void)send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void lv__send_error(int fd)
{
    uint8_t b[8];
    lv__send_frame(fd, b, lv_as_encode_error(b, sizeof(b), -1));
}

/* ---- the end of a call ------------------------------------------------------------------------
 */

/* The input's own counters as JSON fields for the call's call_end (network thread, at its end). */
static void input_summary(lv__call *c)
{
    lv__lbuf l = {.n = 0};
    if (c->input == LV_INPUT_AUDIOSOCKET)
        lv__as_summary(c, &l);
    else if (c->input == LV_INPUT_RTP)
        lv__rtp_summary(c, &l);
    else
        lv__ws_summary(c, &l);
    if (c->srv->p.probe_len) { /* asked for, and the seconds of it that went out */
        pthread_mutex_lock(&c->mu);
        const unsigned probes = c->probes;
        pthread_mutex_unlock(&c->mu);
        lv__put(&l, ",\"probes\":%u,\"probe_sec\":%.3f", probes,
                (double)c->probe_samples / CQ_CLASSIFY_RATE);
    }
    memcpy(c->extra, l.b, l.n < sizeof(c->extra) ? l.n : sizeof(c->extra) - 1);
    c->extra[l.n < sizeof(c->extra) ? l.n : sizeof(c->extra) - 1] = 0;
}

/* What a connection that never identified its call is told as it is closed for the pool's
 * sake or the cap's: AudioSocket an error frame; WebSocket before its Upgrade is through an
 * HTTP answer (408 too slow, 503 no room), after it a close frame (1008 too slow, 1013 no room,
 * try again later). */
static void send_refusal(lv__call *c, lv__end reason)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    static const char slow[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    if (c->input == LV_INPUT_AUDIOSOCKET) {
        lv__send_error(c->fd);
    } else if (c->hdr) {
        const char *a = reason == LV__END_IDENT_TIMEOUT ? slow : busy;
        lv__send_frame(c->fd, (const uint8_t *)a, strlen(a));
    } else {
        lv__ws_send_close(c, reason == LV__END_IDENT_TIMEOUT ? 1008 : 1013,
                          reason == LV__END_IDENT_TIMEOUT ? "no message in time"
                                                          : "no room, try again");
    }
}

/* End a connection or stream once: a call (named) is handed to the analysis side to finish,
 * with its reason; a connection that never named its call is refused. Its release waits for
 * the end of the epoll batch (*closed). */
void lv__conn_end(lv__call *c, lv__end reason, const char *err, lv__call **closed)
{
    lv_server *s = c->srv;
    if (!c->open)
        return;
    c->open = false;
    lv__pool_remove(&s->pool, &c->pend);
    if (c->input == LV_INPUT_RTP)
        lv__rtp_end(c, reason);
    if (c->fd >= 0) {
        if (reason == LV__END_FULL || reason == LV__END_IDENT_TIMEOUT || reason == LV__END_EVICTED)
            send_refusal(c, reason);
        else if (reason == LV__END_ERROR && c->input == LV_INPUT_AUDIOSOCKET)
            lv__send_error(c->fd);
        if (c->input == LV_INPUT_WEBSOCKET && reason != LV__END_PEER_CLOSED)
            lv__ws_send_close(c,
                              reason == LV__END_SHUTDOWN ? LV_WS_CLOSE_GOING_AWAY
                              : reason == LV__END_ERROR  ? LV_WS_CLOSE_INTERNAL
                                                         : LV_WS_CLOSE_NORMAL,
                              lv__reason[reason]);
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    conn_unlink(s, c);
    if (c->named) {
        input_summary(c);
        pthread_mutex_lock(&c->mu);
        c->ended = true;
        c->reason = reason;
        if (err)
            snprintf(c->err, sizeof(c->err), "%s", err);
        lv__schedule_locked(c);
        pthread_mutex_unlock(&c->mu);
    } else if (reason == LV__END_FULL) {
        atomic_fetch_add(&s->refused_full, 1);
    } else if (reason == LV__END_IDENT_TIMEOUT) {
        atomic_fetch_add(&s->pool.timeout, 1);
    } else if (reason == LV__END_EVICTED) {
        atomic_fetch_add(&s->pool.evicted, 1);
    } else if (c->input == LV_INPUT_WEBSOCKET) {
        atomic_fetch_add(&s->ws_refused, 1);
    } else {
        atomic_fetch_add(&s->refused_uuid, 1);
    }
    c->next_closed = *closed;
    *closed = c;
}

/* A frame of n samples went into the ring now: its arrival stamp (a full list extends the
 * newest stamp, whose time is earlier: the waits measured are never shorter than they were). */
static void stamp_locked(lv__call *c, size_t n)
{
    c->enqueued += n;
    if (c->st_len == LV__ST_CAP) {
        c->st[(c->st_head + LV__ST_CAP - 1) % LV__ST_CAP].end = c->enqueued;
        return;
    }
    c->st[(c->st_head + c->st_len) % LV__ST_CAP] =
        (struct stamp){.end = c->enqueued, .t = cq_clock_mono_sec()};
    c->st_len++;
}

/* n samples at rate into the call's ring, made at its first audio (queue_sec of it); what does
 * not fit is dropped and counted. Returns LV__END_NONE, or why the call is to end
 * (LV__END_MAX_DURATION; LV__END_ERROR with msg[160]: no memory, or a change of rate). */
lv__end lv__ring_put(lv__call *c, const int16_t *pcm, size_t count, uint32_t rate, char *msg)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    if (!c->rate) {
        size_t cap = (size_t)(s->p.queue_sec * rate);
        if (!(c->ring = malloc((cap ? cap : 1) * sizeof(int16_t)))) {
            pthread_mutex_unlock(&c->mu);
            snprintf(msg, 160, "out of memory for the call's audio queue");
            return LV__END_ERROR;
        }
        c->cap = cap ? cap : 1;
        c->rate = rate;
    } else if (c->rate != rate) {
        snprintf(msg, 160, "audio rate changed from %u to %u Hz within the call", (unsigned)c->rate,
                 (unsigned)rate);
        pthread_mutex_unlock(&c->mu);
        return LV__END_ERROR;
    }
    size_t space = c->cap - c->len, n = count < space ? count : space;
    size_t tail = (c->head + c->len) % c->cap, first = c->cap - tail < n ? c->cap - tail : n;
    memcpy(c->ring + tail, pcm, first * sizeof(int16_t)); /* to the ring's end, then its start */
    memcpy(c->ring, pcm + first, (n - first) * sizeof(int16_t));
    c->len += n;
    c->rx_samples += count;
    if (n)
        stamp_locked(c, n);
    if (n < count) {
        c->dropped += count - n;
        atomic_fetch_add(&s->audio_dropped, count - n);
    }
    bool over = (double)c->rx_samples / c->rate > s->p.max_call_sec;
    if (n)
        lv__schedule_locked(c);
    pthread_mutex_unlock(&c->mu);
    return over ? LV__END_MAX_DURATION : LV__END_NONE;
}

/* frames of little-endian L16 with ch channels (1, or 2 mixed to one: their mean) into the
 * ring, a block at a time. */
lv__end lv__ring_put_le(lv__call *c, const uint8_t *b, size_t frames, int ch, uint32_t rate,
                        char *msg)
{
    int16_t x[1024], a[1024], z[1024];
    int16_t *const planes[2] = {a, z};
    while (frames) {
        size_t k = frames < 1024 ? frames : 1024;
        if (ch == 1) {
            lv_pcm_s16le(b, k, x);
        } else {
            (void)lv_pcm_s16le_planar(b, k * 4, 2, planes);
            for (size_t i = 0; i < k; i++)
                x[i] = (int16_t)(((int)a[i] + (int)z[i]) / 2);
        }
        lv__end r = lv__ring_put(c, x, k, rate, msg);
        if (r != LV__END_NONE)
            return r;
        b += k * 2 * (size_t)ch, frames -= k;
    }
    return LV__END_NONE;
}

/* The connection has identified its call: it leaves the pending pool and counts against
 * max_calls, and the analysis side's reference is taken: from here on the call ends with a
 * call_end. False when max_calls calls are open: the connection is refused (ended). */
bool lv__become_call(lv__call *c, lv__call **closed)
{
    lv_server *s = c->srv;
    if (c->pend.in) {
        lv__pool_remove(&s->pool, &c->pend);
        if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls) {
            lv__conn_end(c, LV__END_FULL, NULL, closed);
            return false;
        }
    }
    c->named = true;
    c->refs++; /* the analysis side's: released when it has finished the call */
    atomic_fetch_add(&s->active, 1);
    atomic_fetch_add(&s->calls, 1);
    if (s->p.on_call) /* FastAGI: requests that name it are known */
        s->p.on_call(s->p.user, c->name);
    return true;
}

/* ---- connections (AudioSocket, WebSocket) ---------------------------------------------------- */

static void on_readable(lv__call *c, uint8_t *buf, lv__call **closed)
{
    for (int reads = 0; reads < 4 && c->open; reads++) {
        ssize_t k = recv(c->fd, buf, LV__READ_BUF, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            lv__conn_end(c, LV__END_PEER_CLOSED, strerror(errno), closed);
            return;
        }
        if (k == 0) {
            const char *why = NULL;
            if (c->input == LV_INPUT_WEBSOCKET)
                why = "the connection ended without a close frame";
            else if (!lv_as_at_boundary(c->dec))
                why = "the connection ended inside a frame";
            lv__conn_end(c, LV__END_PEER_CLOSED, why, closed);
            return;
        }
        if (c->pend.in)
            c->pend.got += (size_t)k;
        if (c->input == LV_INPUT_WEBSOCKET)
            lv__ws_bytes(c, buf, (size_t)k, closed);
        else
            lv__as_bytes(c, buf, (size_t)k, closed);
        if ((size_t)k < LV__READ_BUF)
            return; /* drained: the poll is level-triggered, so more to read is reported again */
    }
}

static void refuse(lv_server *s, int fd, lv_input in)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    atomic_fetch_add(&s->refused_full, 1); /* first: who hears the refusal sees it counted */
    if (in == LV_INPUT_WEBSOCKET)
        lv__send_frame(fd, (const uint8_t *)busy, sizeof(busy) - 1);
    else
        lv__send_error(fd);
    close(fd);
}

/* make_room's last read of a connection waiting in the pool, and its end. */
typedef struct room_ctx {
    uint8_t *buf;
    lv__call **closed;
} room_ctx;

static lv__call *call_of(lv__pend *e)
{
    return (lv__call *)(void *)((char *)e - offsetof(lv__call, pend));
}

static void room_read(void *user, lv__pend *e)
{
    room_ctx *r = user;
    on_readable(call_of(e), r->buf, r->closed);
}

static void room_evict(void *user, lv__pend *e)
{
    room_ctx *r = user;
    lv__conn_end(call_of(e), LV__END_EVICTED, NULL, r->closed);
}

static void on_accept(lv_server *s, int lfd, lv_input in, uint8_t *buf, lv__call **closed)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) { /* then the other sockets get their turn */
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "callqa live: accept: %s (connections wait in the backlog)\n",
                        strerror(errno));
            return;
        }
        atomic_fetch_add(&s->accepted, 1);
        if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls) {
            refuse(s, fd, in);
            continue;
        }
        room_ctx room = {.buf = buf, .closed = closed}; /* the pool's rules: live_int.h */
        lv__pool_make_room(&s->pool, &peer, room_read, room_evict, &room);
        lv_as_params ap = {.max_payload = s->p.max_payload};
        lv__call *c = calloc(1, sizeof(*c));
        bool made = c && pthread_mutex_init(&c->mu, NULL) == 0;
        if (made && in == LV_INPUT_AUDIOSOCKET)
            made = (c->dec = lv_as_create(&ap, NULL)) != NULL;
        else if (made) /* its frame decoder once the Upgrade is through */
            made = (c->hdr = malloc(LV__WS_HEADER_MAX)) != NULL;
        if (!made) {
            if (c) {
                lv_as_destroy(c->dec);
                pthread_mutex_destroy(&c->mu);
            }
            free(c);
            refuse(s, fd, in);
            continue;
        }
        c->srv = s;
        c->input = in;
        c->fd = fd;
        c->open = true;
        c->refs = 1;
        c->src = peer;
        c->src_len = pl;
        c->t_accept = c->t_last = cq_clock_mono_sec();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            lv_as_destroy(c->dec);
            free(c->hdr);
            pthread_mutex_destroy(&c->mu);
            free(c);
            close(fd);
            continue;
        }
        lv__conn_link(s, c);
        lv__pool_add(&s->pool, &c->pend, &peer, c->t_accept);
    }
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static void release_closed(lv__call **closed)
{
    while (*closed) {
        lv__call *c = *closed;
        *closed = c->next_closed;
        lv__call_release(c);
    }
}

/* The clocks: connections that did not identify their call in time, stalled connections and
 * streams, calls over their time. */
static void check_timers(lv_server *s, double now, lv__call **closed)
{
    while (s->pool.head && now - s->pool.head->t_accept > s->p.ident_sec)
        lv__conn_end(call_of(s->pool.head), LV__END_IDENT_TIMEOUT, NULL, closed); /* oldest first */
    lv__rtp_timers(s, now); /* SSRCs that have not shown a stream */
    for (lv__call *c = s->conns, *nx; c; c = nx) {
        nx = c->next;
        if (now - c->t_last > s->p.stall_sec) {
            char msg[80];
            snprintf(msg, sizeof(msg), "no %s for %.1f s",
                     c->input == LV_INPUT_RTP ? "packet" : "bytes", now - c->t_last);
            lv__conn_end(c, LV__END_STALLED, msg, closed);
        } else if (c->named && now - c->t_accept > s->p.max_call_sec) {
            lv__conn_end(c, LV__END_MAX_DURATION, NULL, closed);
        }
    }
}

int lv_server_run(lv_server *s)
{
    uint8_t *buf = malloc(LV__READ_BUF);
    if (!buf)
        return LV_ERR_NOMEM;
    bool stopping = false;
    s->last_stats = cq_clock_mono_sec();
    double polled = 0;
    int n = 0;
    while (!stopping) {
        struct epoll_event evs[256];
        /* a round that did not fill the list: the next poll no sooner than LV__POLL_GAP_SEC
         * after this one, so that the frames of many calls come out of one wake-up */
        double gap = polled + LV__POLL_GAP_SEC - cq_clock_mono_sec();
        if (n < 256 && gap > 0)
            (void)cq_clock_sleep(gap);
        polled = cq_clock_mono_sec();
        n = epoll_wait(s->ep, evs, 256, 100);
        lv__call *closed = NULL;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &s->lfd) {
                on_accept(s, s->lfd, LV_INPUT_AUDIOSOCKET, buf, &closed);
            } else if (ptr == &s->ws_fd) {
                on_accept(s, s->ws_fd, LV_INPUT_WEBSOCKET, buf, &closed);
            } else if (ptr == &s->rtp_fd) {
                lv__rtp_readable(s, buf, &closed);
            } else if (ptr == &s->efd) {
                uint64_t v;
                if (read(s->efd, &v, sizeof(v)) > 0)
                    stopping = true;
            } else {
                lv__call *c = ptr;
                if (c->open && c->fd >= 0)
                    on_readable(c, buf, &closed);
            }
        }
        double now = cq_clock_mono_sec();
        if (now - s->last_timers >= 0.1) {
            s->last_timers = now;
            check_timers(s, now, &closed);
        }
        release_closed(&closed);
        if (s->p.stats_sec > 0 && now - s->last_stats >= s->p.stats_sec) {
            s->last_stats = now;
            lv__emit_stats(s, false);
        }
    }
    free(buf);
    /* shutdown: no new connection or packet, every call ended, its analysis finished */
    int *lfds[] = {&s->lfd, &s->ws_fd, &s->rtp_fd};
    for (size_t i = 0; i < sizeof(lfds) / sizeof(lfds[0]); i++) {
        if (*lfds[i] >= 0) {
            epoll_ctl(s->ep, EPOLL_CTL_DEL, *lfds[i], NULL);
            close(*lfds[i]);
            *lfds[i] = -1;
        }
    }
    lv__call *closed = NULL;
    lv__rtp_drop_all(s); /* SSRCs that never became calls: nothing to finish */
    while (s->conns)
        lv__conn_end(s->conns, LV__END_SHUTDOWN, NULL, &closed);
    release_closed(&closed);
    while (atomic_load(&s->active) > 0) {
        cq_clock_sleep(0.005);
    }
    lv__emit_stats(s, true);
    return LV_OK;
}

void lv_server_destination(lv_server *s, const char *name, const char *dest)
{
    if (!s->p.announce || !lv_fps_dest_ok(dest))
        return;
    pthread_mutex_lock(&s->dest_mu);
    struct dest_note *n = &s->dests[s->ndest++ % LV__DEST_RING];
    snprintf(n->call, sizeof(n->call), "%s", name);
    snprintf(n->dest, sizeof(n->dest), "%s", dest);
    pthread_mutex_unlock(&s->dest_mu);
    atomic_fetch_add(&s->dest_gen, 1);
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
                          .ident_sec = 5,
                          .max_pending = 1024,
                          .max_pending_per_client = 128,
                          .rtp_max_pending = 16384,
                          .max_call_sec = 4 * 3600,
                          .stall_sec = 10,
                          .queue_sec = 5,
                          .stats_sec = 10,
                          .threads = cpus_usable(),
                          .live_mode = CQ_LIVE_OFF,
                          .silence_sec = 5,
                          .max_payload = 16384,
                          .event_queue = 65536,
                          .events_fd = 1,
                          .vad_model = NULL,
                          .vad_batch = 32,
                          .batch_wait_sec = 0.010,
                          .record_dir = NULL,
                          .mask_digits = false,
                          .rtp_host = NULL,
                          .rtp_port = "0",
                          .rtp_map = lv_rtp_default_map(),
                          .rtp_window_ms = 60,
                          .ws_host = NULL,
                          .ws_port = "0",
                          .ws_rate_hz = 8000,
                          .ws_channels = 1,
                          .ws_max_message = 262144,
                          .on_event = NULL,
                          .on_stats = NULL,
                          .user = NULL};
    return p;
}

/* Enough descriptors for max_calls connections, those waiting to identify their call, the
 * refused ones in flight and our own. */
static void raise_fd_limit(int max_calls, int max_pending)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_calls + (rlim_t)max_pending + 256;
    if (want < 4096)
        want = 4096;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A parameter outside [lo, hi] (NaN too), named: "max_calls 0: out of range 1..100000". */
static bool out_of(cq_err *err, const char *name, double v, double lo, double hi)
{
    if (v >= lo && v <= hi)
        return false;
    cq_err_set(err, CQ_ERR_RANGE, "%s %.15g: out of range %.15g..%.15g", name, v, lo, hi);
    return true;
}

/* The parameters' checks: 0, or CQ_ERR_RANGE / CQ_ERR_INVALID with err naming the one out of
 * its range. */
static int check_params(const lv_server_params *p, cq_err *err)
{
    if (!p->host && !p->rtp_host && !p->ws_host)
        return cq_err_set(err, CQ_ERR_INVALID, "no input: an AudioSocket, RTP or WebSocket host");
    if ((p->host && !p->port) || (p->rtp_host && !p->rtp_port) || (p->ws_host && !p->ws_port))
        return cq_err_set(err, CQ_ERR_INVALID, "an input's host without its port");
    if (p->ws_rate_hz != 8000 && p->ws_rate_hz != 16000)
        return cq_err_set(err, CQ_ERR_RANGE, "ws_rate_hz %u: 8000 or 16000", p->ws_rate_hz);
    if (out_of(err, "rtp_window_ms", p->rtp_window_ms, 1, 2000) ||
        out_of(err, "ws_channels", p->ws_channels, 1, 2) ||
        out_of(err, "ws_max_message", (double)p->ws_max_message, 1024, 64u << 20) ||
        out_of(err, "max_calls", p->max_calls, 1, 100000) ||
        out_of(err, "ident_sec", p->ident_sec, 0.1, 3600) ||
        out_of(err, "max_pending", p->max_pending, 1, 100000) ||
        out_of(err, "max_pending_per_client", p->max_pending_per_client, 1, p->max_pending) ||
        out_of(err, "max_call_sec", p->max_call_sec, 1e-9, INFINITY) ||
        out_of(err, "stall_sec", p->stall_sec, 1e-9, INFINITY) ||
        out_of(err, "queue_sec", p->queue_sec, 0.1, 600) ||
        out_of(err, "stats_sec", p->stats_sec, 0, INFINITY) ||
        out_of(err, "threads", p->threads, 1, 256) ||
        out_of(err, "live_mode", p->live_mode, CQ_LIVE_OFF, CQ_LIVE_AMD) ||
        out_of(err, "silence_sec", p->silence_sec, 0, 3600) ||
        out_of(err, "max_payload", (double)p->max_payload, 16, LV_AS_MAX_PAYLOAD) ||
        out_of(err, "event_queue", (double)p->event_queue, 16, 1000000) ||
        out_of(err, "events_fd", p->events_fd, 0, 1e9) ||
        out_of(err, "vad_batch", p->vad_batch, 1, LV_VAD_BATCH_MAX) ||
        out_of(err, "batch_wait_sec", p->batch_wait_sec, 0, 1) ||
        out_of(err, "rtp_max_pending", p->rtp_max_pending, 1, 100000) ||
        out_of(err, "probe_len", (double)p->probe_len, 0, 10 * CQ_CLASSIFY_RATE))
        return CQ_ERR_RANGE;
    if (p->probe_len && !p->probe)
        return cq_err_set(err, CQ_ERR_INVALID, "probe_len %zu without probe samples", p->probe_len);
    return CQ_OK;
}

lv_server *lv_server_create(const lv_server_params *p, cq_err *err)
{
    cq_err_clear(err);
    if (check_params(p, err) != CQ_OK)
        return NULL;
    lv_error fail_why, *e = &fail_why;
    lv__clear(e);
    lv_server *s = calloc(1, sizeof(*s));
    if (!s)
        return cq_err_set(err, CQ_ERR_NOMEM, "out of memory"), NULL;
    s->p = *p;
    lv__pool_init(&s->pool, p->max_pending, p->max_pending_per_client);
    s->lfd = s->efd = s->ep = s->events_fl = s->rtp_fd = s->ws_fd = s->rec_dir = -1;
    pthread_mutex_init(&s->rq_mu, NULL);
    pthread_condattr_t ca; /* the run queue's waits are timed on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->rq_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->eq_mu, NULL);
    pthread_cond_init(&s->eq_cv, NULL);
    pthread_mutex_init(&s->dest_mu, NULL);
    raise_fd_limit(p->max_calls, p->max_pending);
    s->events_fl = fcntl(p->events_fd, F_GETFL);
    if (s->events_fl >= 0)
        (void)fcntl(p->events_fd, F_SETFL, s->events_fl | O_NONBLOCK);
    if (p->record_dir && (s->rec_dir = open(p->record_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lv__fail(e, LV_ERR_ARG, 0, "record_dir %s: %s", p->record_dir, strerror(errno));
        goto fail;
    }
    if (p->host && lv__listen(p->host, p->port, SOCK_STREAM, &s->lfd, &s->port, e) != LV_OK)
        goto fail;
    if (p->ws_host &&
        lv__listen(p->ws_host, p->ws_port, SOCK_STREAM, &s->ws_fd, &s->ws_port, e) != LV_OK)
        goto fail;
    if (p->ws_host && p->probe_len &&
        !(s->ws_probe =
              lv_ws_play_audio(p->probe, p->probe_len, CQ_CLASSIFY_RATE, &s->ws_probe_len))) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (p->rtp_host) {
        if (lv__listen(p->rtp_host, p->rtp_port, SOCK_DGRAM, &s->rtp_fd, &s->rtp_port, e) != LV_OK)
            goto fail;
        if (lv__rtp_tables(s, e) != LV_OK)
            goto fail;
    }
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->efd < 0 || s->ep < 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
        goto fail;
    }
    int *fds[] = {&s->lfd, &s->ws_fd, &s->rtp_fd, &s->efd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        struct epoll_event le = {.events = EPOLLIN, .data.ptr = fds[i]};
        if (*fds[i] >= 0 && epoll_ctl(s->ep, EPOLL_CTL_ADD, *fds[i], &le) != 0) {
            lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
            goto fail;
        }
    }
    if (pthread_create(&s->writer, NULL, lv__writer_main, s) != 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "no thread for the event writer");
        goto fail;
    }
    s->writer_up = true;
    if (lv__analysis_start(s, e) != LV_OK)
        goto fail;
    return s;
fail:
    lv_server_destroy(s);
    cq_err_set(err, e->code == LV_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_ERR_IO, "%s", e->msg);
    return NULL;
}

int lv_server_port(const lv_server *s)
{
    return s->lfd >= 0 ? s->port : 0;
}

int lv_server_input_port(const lv_server *s, lv_input in)
{
    switch (in) {
    case LV_INPUT_AUDIOSOCKET: return s->lfd >= 0 ? s->port : 0;
    case LV_INPUT_RTP: return s->rtp_fd >= 0 ? s->rtp_port : 0;
    case LV_INPUT_WEBSOCKET: return s->ws_fd >= 0 ? s->ws_port : 0;
    }
    return 0;
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
    o->rtp_datagrams = s->rtp_datagrams;
    o->rtp_malformed = s->rtp_malformed;
    o->rtp_refused = s->rtp_refused;
    o->rtp_after_end = s->rtp_after_end;
    o->ws_refused = s->ws_refused;
    lv__pool_stats(&s->pool, &o->ident);
    o->rtp_pending = s->rtp_unidentified;
    o->rtp_timeout = s->rtp_ident_timeout;
    o->rtp_evicted = s->rtp_ident_evicted;
    o->rtp_dropped = s->rtp_ident_dropped;
}

void lv_server_destroy(lv_server *s)
{
    if (!s)
        return;
    lv__analysis_stop(s);
    if (s->writer_up) {
        pthread_mutex_lock(&s->eq_mu);
        s->eq_quit = true;
        s->eq_abandon_at = cq_clock_mono_sec() + 3.0; /* a stalled reader gets this long */
        pthread_cond_broadcast(&s->eq_cv);
        pthread_mutex_unlock(&s->eq_mu);
        pthread_join(s->writer, NULL);
    }
    if (s->events_fl >= 0) /* stdout is the caller's again as it was */
        (void)fcntl(s->p.events_fd, F_SETFL, s->events_fl);
    for (lv__line *l = s->eq_head, *nx; l; l = nx) {
        nx = l->next;
        free(l);
    }
    const int fds[] = {s->lfd, s->rtp_fd, s->ws_fd, s->efd, s->ep, s->rec_dir};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    lv__rtp_drop_all(s); /* when lv_server_run never ran */
    free(s->rp_tab);
    free(s->ssrc_tab);
    free(s->ws_probe);
    pthread_mutex_destroy(&s->dest_mu);
    pthread_mutex_destroy(&s->rq_mu);
    pthread_cond_destroy(&s->rq_cv);
    pthread_mutex_destroy(&s->eq_mu);
    pthread_cond_destroy(&s->eq_cv);
    free(s);
}
