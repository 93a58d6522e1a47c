/*
 * server_rtp.c - RTP sessions of `callqa live` (server_int.h): the one UDP socket's datagrams,
 * each to the receiver (lv_rtp) of its SSRC's call, found through a hash of SSRCs.
 *
 * Every RTP call is an SSRC on the one socket, with its own lv_rtp receiver (one stream). An RTP
 * stream has no connection to close: when its call ends over max_duration or on an error, its
 * SSRC is kept in a small table of ended streams while it keeps sending, so that its packets are
 * ignored and counted, not taken for a new call; after an SSRC change the old SSRC is kept a
 * moment, for its late packets. A stream that stalled and comes back is a new call.
 *
 * RTP streams before their call. A datagram names no call, and anyone who can reach the port can
 * send one with any SSRC and any source address. So a new SSRC is not a call until it has shown
 * it is a stream: LV_RTP_IDENT_PACKETS (5) packets, each at most RTP_IDENT_GAP sequence numbers
 * ahead of the last that counted, of the same audio payload type, its timestamp ahead by at most
 * RTP_IDENT_SAMPLES per sequence number (a packet that does not follow starts the count again
 * from itself, as RFC 3550 A.1's probation does). Until then it waits in a pool of its own
 * (rpend), apart from max_calls: its datagrams are kept (the newest RTP_KEEP, RTP_KEEP_DGRAM
 * bytes each at most) and played into its receiver, in the order they came, once it is a call,
 * so its call's audio is what it would have been; it is dropped ident_sec after its first
 * packet; when the pool holds rtp_max_pending SSRCs, or as many KiB of datagrams, the oldest of
 * those that have shown the fewest packets in sequence is dropped, never the new datagram. A
 * made-up SSRC's one packet, re-sent as often as anyone likes, so never takes a call's place,
 * and never ends an open call as an SSRC change either (that waits for the new stream too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

#define RTP_BATCH 256 /* datagrams read per readiness event */
/* RTP SSRCs before their call (the pool's rules above): a packet that counts is at most
 * RTP_IDENT_GAP sequence numbers ahead of the last that did, its timestamp at most
 * RTP_IDENT_SAMPLES ahead per number (lv_rtp's largest packet, 40 ms at 48 kHz); a waiting SSRC
 * keeps its newest RTP_KEEP datagrams, of RTP_KEEP_DGRAM bytes at most (1920 L16 samples, 15
 * CSRCs and a 170-byte extension fit); the pool's datagrams take rtp_max_pending KiB at most,
 * and RTP_POOL_MIN_KIB are always allowed. */
#define RTP_IDENT_GAP 16
#define RTP_IDENT_SAMPLES 1920
#define RTP_KEEP 8
#define RTP_KEEP_DGRAM 4096
#define RTP_POOL_MIN_KIB 64

/* An RTP SSRC that has not yet shown it is a stream (network thread only). */
struct lv__rpend {
    uint32_t ssrc;
    uint8_t shown; /* packets counted in sequence (0 .. LV_RTP_IDENT_PACKETS - 1) */
    uint8_t pt;    /* the payload type of those */
    uint16_t seq;  /* the last counted packet's sequence number and timestamp */
    uint32_t ts;
    double t_first; /* its first packet (monotonic) */
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } src; /* where its first packet came from */
    socklen_t src_len;
    lv__rpend *hnext;         /* the pool's hash chain */
    lv__rpend *aprev, *anext; /* every waiting SSRC, by first packet (ident_sec) */
    lv__rpend *lprev, *lnext; /* those that have shown as many packets, by when they did (room) */
    uint8_t *kept; /* the datagrams kept, each a 2-byte length (big-endian) and its bytes */
    size_t kept_len, kept_cap;
    unsigned nkept;
};
static size_t ssrc_slot(const lv_server *s, uint32_t ssrc)
{
    return (size_t)(uint32_t)(ssrc * 2654435761u) & s->ssrc_mask;
}

static lv__call *ssrc_find(lv_server *s, uint32_t ssrc)
{
    for (lv__call *c = s->ssrc_tab[ssrc_slot(s, ssrc)]; c; c = c->hnext)
        if (c->ssrc == ssrc)
            return c;
    return NULL;
}

static void ssrc_remove(lv_server *s, lv__call *c)
{
    lv__call **pp = &s->ssrc_tab[ssrc_slot(s, c->ssrc)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    c->hnext = NULL;
}

/* Remember an ended stream: after an SSRC change for a moment (its late packets), stall_sec
 * and no longer; after max_duration or an error as long as it keeps sending. A stream that
 * stalled or was shut down is not remembered: if it sends again, that is a new call. */
static void tomb_add(lv_server *s, uint32_t ssrc, lv__end why, double now)
{
    if (why == LV__END_STALLED || why == LV__END_SHUTDOWN)
        return;
    bool change = why == LV__END_SSRC_CHANGE;
    double keep = change && s->p.stall_sec > 2 ? 2 : s->p.stall_sec;
    s->tombs[s->ntomb % LV__TOMBS] =
        (struct tomb){.ssrc = ssrc, .until = now + keep, .refresh = !change};
    s->ntomb++;
}

/* True when ssrc is an ended stream that is still sending (its packets are ignored). */
static bool tomb_hit(lv_server *s, uint32_t ssrc, double now)
{
    size_t n = s->ntomb < LV__TOMBS ? s->ntomb : LV__TOMBS;
    for (size_t i = 0; i < n; i++) {
        if (s->tombs[i].ssrc == ssrc && s->tombs[i].until > now) {
            if (s->tombs[i].refresh)
                s->tombs[i].until = now + s->p.stall_sec;
            return true;
        }
    }
    return false;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

/* ---- RTP --------------------------------------------------------------------------------------
 */

/* The receiver's PCM, in playout order, into the ring. Runs inside lv_rtp_push or _flush, so an
 * end it calls for waits until the receiver has returned (pend_end). */
static void rtp_pcm(void *user, const lv_rtp_block *b)
{
    lv__call *c = user;
    if (c->pend_end != LV__END_NONE)
        return;
    lv__end r = lv__ring_put(c, b->pcm, b->n, b->rate_hz, c->pend_msg);
    if (r != LV__END_NONE)
        c->pend_end = r;
}

/* A call for an SSRC that has shown it is a stream, from its first packet at `first` (the
 * clock of max_call_sec); NULL when max_calls is reached or memory is short. A stream that came
 * from the same source address before it has ended: an SSRC change ends that call. */
static lv__call *rtp_call_new(lv_server *s, uint32_t ssrc, const struct sockaddr_storage *src,
                              socklen_t sl, double first, lv__call **closed)
{
    char prev[16] = "";
    for (lv__call *o = s->conns; o; o = o->next) {
        if (o->input == LV_INPUT_RTP && same_addr(&o->src, src)) {
            memcpy(prev, o->name, sizeof(prev) - 1); /* "rtp-" and 8 hex digits */
            lv__conn_end(o, LV__END_SSRC_CHANGE, NULL, closed);
            break;
        }
    }
    if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls)
        return NULL;
    lv__call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    lv_rtp_params rp = lv_rtp_default_params();
    rp.map = s->p.rtp_map;
    rp.window_ms = s->p.rtp_window_ms;
    rp.max_streams = 1;
    rp.on_pcm = rtp_pcm;
    rp.user = c;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (!(c->rtp = lv_rtp_create(&rp, NULL))) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    c->srv = s;
    c->input = LV_INPUT_RTP;
    c->fd = -1;
    c->open = true;
    c->refs = 1;
    c->ssrc = ssrc;
    c->src = *src;
    c->src_len = sl;
    c->t_accept = c->t_last = first;
    snprintf(c->name, sizeof(c->name), "rtp-%08x", ssrc);
    memcpy(c->prev_name, prev, sizeof(prev));
    size_t slot = ssrc_slot(s, ssrc);
    c->hnext = s->ssrc_tab[slot];
    s->ssrc_tab[slot] = c;
    lv__conn_link(s, c);
    (void)lv__become_call(c, closed); /* it waited in the RTP pool, not on the pending list */
    return c;
}

/*
 * The media source of an RTP call: the address (IP and port) its packets come from. It starts as
 * the one the packets that showed the stream came from (all five from one address) and follows
 * the stream: a packet that carried the stream forward (lv_rtp took it: not a duplicate, not
 * late) from another address counts for that address, and LV_RTP_IDENT_PACKETS of them in a row,
 * with none from the source between them, make it the source (src_changes). A packet from the
 * source starts the count again; one from a third address starts it for that one. The probe
 * goes only to the source, and only beside a packet that came from it (rtp_readable): nothing
 * is sent to an address that did not send the call's last packet, and a forger gets at most one
 * packet back, of as many samples, for each packet of the call it sends from its own address.
 */
static void rtp_follow(lv__call *c, const struct sockaddr_storage *from, socklen_t len)
{
    if (same_addr(from, &c->src)) {
        c->cand_n = 0;
        return;
    }
    if (!c->cand_n || !same_addr(from, &c->cand)) {
        memcpy(&c->cand, from, len < sizeof(c->cand) ? len : sizeof(c->cand));
        c->cand_len = len;
        c->cand_n = 0;
    }
    if (++c->cand_n < LV_RTP_IDENT_PACKETS)
        return;
    c->src = c->cand;
    c->src_len = c->cand_len;
    c->cand_n = 0;
    c->src_changes++;
}

/* ---- SSRCs before their call (the pool's rules at the top of this file) --------------------- */

static size_t rp_slot(const lv_server *s, uint32_t ssrc)
{
    return (size_t)(uint32_t)(ssrc * 2654435761u) & s->rp_mask;
}

static lv__rpend *rp_find(lv_server *s, uint32_t ssrc)
{
    for (lv__rpend *e = s->rp_tab[rp_slot(s, ssrc)]; e; e = e->hnext)
        if (e->ssrc == ssrc)
            return e;
    return NULL;
}

/* Onto the tail of the list of those that have shown as many packets as e. */
static void rp_level_link(lv_server *s, lv__rpend *e)
{
    e->lnext = NULL;
    e->lprev = s->rp_ltail[e->shown];
    if (e->lprev)
        e->lprev->lnext = e;
    else
        s->rp_lhead[e->shown] = e;
    s->rp_ltail[e->shown] = e;
}

static void rp_level_unlink(lv_server *s, lv__rpend *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        s->rp_lhead[e->shown] = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        s->rp_ltail[e->shown] = e->lprev;
    e->lprev = e->lnext = NULL;
}

typedef enum rp_end { RP_CALL, RP_REFUSED, RP_TIMEOUT, RP_EVICTED, RP_SHUTDOWN } rp_end;

/* An SSRC leaves the pool: a call now (its datagrams played into it), refused, or dropped with
 * what it kept (counted). */
static void rp_drop(lv_server *s, lv__rpend *e, rp_end why)
{
    lv__rpend **pp = &s->rp_tab[rp_slot(s, e->ssrc)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->aprev)
        e->aprev->anext = e->anext;
    else
        s->rp_ahead = e->anext;
    if (e->anext)
        e->anext->aprev = e->aprev;
    else
        s->rp_atail = e->aprev;
    rp_level_unlink(s, e);
    s->rp_n--;
    s->rp_bytes -= e->kept_cap;
    atomic_fetch_sub(&s->rtp_unidentified, 1);
    if (why == RP_TIMEOUT || why == RP_EVICTED) {
        atomic_fetch_add(why == RP_TIMEOUT ? &s->rtp_ident_timeout : &s->rtp_ident_evicted, 1);
        atomic_fetch_add(&s->rtp_ident_dropped, e->nkept);
    }
    free(e->kept);
    free(e);
}

/* Room for `bytes` more datagram bytes and, with `add`, one more SSRC: while there is none, of
 * the SSRCs that have shown the fewest packets in sequence the one that has shown that many the
 * longest is dropped (never `self`). A real stream shows a packet every 20 ms, so what is
 * dropped is what shows nothing: one packet of a made-up SSRC, re-sent or not. False when only
 * `self` is left. */
static bool rp_room(lv_server *s, size_t bytes, bool add, const lv__rpend *self)
{
    while ((add && s->rp_n >= (size_t)s->p.rtp_max_pending) || s->rp_bytes + bytes > s->rp_budget) {
        lv__rpend *v = NULL;
        for (int l = 0; l < LV_RTP_IDENT_PACKETS && !v; l++) {
            lv__rpend *h = s->rp_lhead[l];
            v = h && h == self ? h->lnext : h;
        }
        if (!v)
            return false;
        rp_drop(s, v, RP_EVICTED);
    }
    return true;
}

static lv__rpend *rp_new(lv_server *s, uint32_t ssrc, const struct sockaddr_storage *src,
                         socklen_t sl, double now)
{
    (void)rp_room(s, 0, true, NULL); /* never false: there is no self */
    lv__rpend *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ssrc = ssrc;
    e->t_first = now;
    e->src_len = sl < sizeof(e->src) ? sl : sizeof(e->src);
    memcpy(&e->src, src, e->src_len);
    size_t slot = rp_slot(s, ssrc);
    e->hnext = s->rp_tab[slot];
    s->rp_tab[slot] = e;
    e->aprev = s->rp_atail;
    if (s->rp_atail)
        s->rp_atail->anext = e;
    else
        s->rp_ahead = e;
    s->rp_atail = e;
    rp_level_link(s, e);
    s->rp_n++;
    atomic_fetch_add(&s->rtp_unidentified, 1);
    return e;
}

/* Whether this packet takes the SSRC on to being a stream; true when it has shown
 * LV_RTP_IDENT_PACKETS packets in sequence. A payload type that is not audio (telephone-event,
 * comfort noise) neither counts nor breaks the count, nor does a packet at or behind the last
 * that counted (a duplicate, or reordered); any other that does not follow the last, or that
 * came from another address than the last that counted (moved), starts the count again from
 * itself: the packets that show a stream all come from one address, its media source. */
static bool rp_shows(lv_server *s, lv__rpend *e, const lv_rtp_header *h, bool moved, bool *restart)
{
    *restart = false;
    if (s->p.rtp_map.codec[h->pt] == LV_CODEC_NONE)
        return false;
    if (e->shown && h->pt == e->pt && !moved) {
        const int dseq = (int16_t)(uint16_t)(h->seq - e->seq);
        const uint32_t dts = h->ts - e->ts; /* modulo 2^32, as the timestamps wrap */
        if (dseq > 0 && dseq <= RTP_IDENT_GAP && dts > 0 &&
            dts <= (uint32_t)dseq * RTP_IDENT_SAMPLES) {
            e->seq = h->seq;
            e->ts = h->ts;
            if (e->shown + 1 >= LV_RTP_IDENT_PACKETS)
                return true;
            rp_level_unlink(s, e);
            e->shown++;
            rp_level_link(s, e);
            return false;
        }
        if (dseq <= 0 && dseq >= -RTP_IDENT_GAP)
            return false;
    }
    rp_level_unlink(s, e);
    *restart = true;
    e->shown = 1;
    e->pt = h->pt;
    e->seq = h->seq;
    e->ts = h->ts;
    rp_level_link(s, e);
    return false;
}

/* Keep a datagram of a waiting SSRC: not one whose sequence number it keeps already (a
 * duplicate its call would drop), the oldest making way past RTP_KEEP. */
static void rp_keep(lv_server *s, lv__rpend *e, const uint8_t *d, size_t n)
{
    size_t off = 0;
    for (unsigned i = 0; i < e->nkept; i++) {
        const uint8_t *k = e->kept + off;
        if (k[4] == d[2] && k[5] == d[3]) {
            atomic_fetch_add(&s->rtp_ident_dropped, 1);
            return;
        }
        off += 2 + (size_t)(k[0] << 8 | k[1]);
    }
    if (e->nkept == RTP_KEEP) {
        const size_t first = 2 + (size_t)(e->kept[0] << 8 | e->kept[1]);
        memmove(e->kept, e->kept + first, e->kept_len - first);
        e->kept_len -= first;
        e->nkept--;
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
    }
    const size_t want = e->kept_len + 2 + n;
    uint8_t *k = NULL;
    if (!rp_room(s, want > e->kept_cap ? want - e->kept_cap : 0, false, e) ||
        !(k = realloc(e->kept, want))) {
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
        return;
    }
    s->rp_bytes = s->rp_bytes - e->kept_cap + want;
    e->kept = k;
    e->kept_cap = want;
    k[e->kept_len] = (uint8_t)(n >> 8);
    k[e->kept_len + 1] = (uint8_t)n;
    memcpy(k + e->kept_len + 2, d, n);
    e->kept_len = want;
    e->nkept++;
}

/* The SSRC has shown it is a stream: a call (an open one from its source address ends as an
 * SSRC change), its datagrams played into it in the order they came; with max_calls calls
 * open it is refused, its datagrams counted, and waits again from its next packet. */
static void rp_identified(lv_server *s, lv__rpend *e, double now, lv__call **closed)
{
    struct sockaddr_storage src;
    memset(&src, 0, sizeof(src));
    memcpy(&src, &e->src, e->src_len);
    lv__call *c = rtp_call_new(s, e->ssrc, &src, e->src_len, e->t_first, closed);
    if (!c) {
        atomic_fetch_add(&s->rtp_refused, e->nkept);
        rp_drop(s, e, RP_REFUSED);
        return;
    }
    c->t_last = now;
    size_t off = 0;
    for (unsigned i = 0; i < e->nkept; i++) {
        const size_t n = (size_t)(e->kept[off] << 8 | e->kept[off + 1]);
        if (!c->open) { /* ended (max_duration) while its datagrams were played */
            atomic_fetch_add(&s->rtp_after_end, 1);
        } else {
            if (lv_rtp_push(c->rtp, e->kept + off + 2, n) < 0)
                atomic_fetch_add(&s->rtp_malformed, 1);
            if (c->pend_end != LV__END_NONE)
                lv__conn_end(c, c->pend_end, c->pend_msg[0] ? c->pend_msg : NULL, closed);
        }
        off += 2 + n;
    }
    rp_drop(s, e, RP_CALL);
}

/* A datagram of an SSRC that is no call: ignored when its call ended (a tomb); else into the
 * pool, where it may make its SSRC a call. */
static void rtp_waiting(lv_server *s, const lv_rtp_header *h, const uint8_t *d, size_t n,
                        const struct sockaddr_storage *src, socklen_t sl, double now,
                        lv__call **closed)
{
    lv__rpend *e = rp_find(s, h->ssrc);
    if (!e && tomb_hit(s, h->ssrc, now)) {
        atomic_fetch_add(&s->rtp_after_end, 1);
        return;
    }
    if (n > RTP_KEEP_DGRAM || (!e && !(e = rp_new(s, h->ssrc, src, sl, now)))) {
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
        return;
    }
    struct sockaddr_storage was;
    memset(&was, 0, sizeof(was));
    memcpy(&was, &e->src, e->src_len);
    const bool moved = e->shown && !same_addr(&was, src);
    bool restart;
    const bool stream = rp_shows(s, e, h, moved, &restart);
    if (restart) { /* the count starts here: its source is this packet's */
        e->src_len = sl < sizeof(e->src) ? sl : sizeof(e->src);
        memcpy(&e->src, src, e->src_len);
    }
    rp_keep(s, e, d, n);
    if (stream)
        rp_identified(s, e, now, closed);
}

/* The packets an RTP call's receiver has taken into its stream (duplicates and late ones not). */
static uint64_t rtp_taken(const lv__call *c)
{
    return lv_rtp_stream_count(c->rtp) ? lv_rtp_stream_stats(c->rtp, 0)->packets : 0;
}

void lv__rtp_readable(lv_server *s, uint8_t *buf, lv__call **closed)
{
    double now = cq_clock_mono_sec();
    for (int i = 0; i < RTP_BATCH; i++) {
        struct sockaddr_storage src;
        socklen_t sl = sizeof(src);
        ssize_t k =
            recvfrom(s->rtp_fd, buf, LV__READ_BUF, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        atomic_fetch_add(&s->rtp_datagrams, 1);
        lv_rtp_header h;
        /* not RTP; or RTCP sent to this port (its packet types 200-204 read as RTP payload
         * types 72-76 with the marker set, RFC 5761 4): nothing to play, no call to make */
        if (lv_rtp_parse(buf, (size_t)k, &h, NULL) != LV_OK || (h.pt >= 72 && h.pt <= 76)) {
            atomic_fetch_add(&s->rtp_malformed, 1);
            continue;
        }
        lv__call *c = ssrc_find(s, h.ssrc);
        if (!c) {
            rtp_waiting(s, &h, buf, (size_t)k, &src, sl, now, closed);
            continue;
        }
        const uint64_t had = rtp_taken(c);
        if (lv_rtp_push(c->rtp, buf, (size_t)k) < 0)
            atomic_fetch_add(&s->rtp_malformed, 1);
        const bool took = rtp_taken(c) > had; /* it carried the stream forward */
        if (took) {
            c->t_last = now;
            rtp_follow(c, &src, sl);
        }
        if (c->pend_end != LV__END_NONE)
            lv__conn_end(c, c->pend_end, c->pend_msg[0] ? c->pend_msg : NULL, closed);
        else if (s->p.probe_len && took && same_addr(&src, &c->src))
            lv__probe_rtp_out(s, c, &h);
    }
}

void lv__rtp_summary(const lv__call *c, lv__lbuf *l)
{
    char host[64] = "?", serv[16] = "?";
    (void)getnameinfo((const struct sockaddr *)&c->src, c->src_len, host, sizeof(host), serv,
                      sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    const lv_rtp_stats *st = lv_rtp_stream_count(c->rtp) ? lv_rtp_stream_stats(c->rtp, 0) : NULL;
    lv_rtp_stats z = {.ssrc = c->ssrc};
    if (!st)
        st = &z;
    lv__put(l, ",\"ssrc\":\"%08x\",\"source\":\"%s%s%s:%s\"", c->ssrc, strchr(host, ':') ? "[" : "",
            host, strchr(host, ':') ? "]" : "", serv);
    lv__put(l,
            ",\"packets\":%llu,\"lost\":%llu,\"duplicates\":%llu,\"late\":%llu,"
            "\"reordered\":%llu,\"not_audio\":%llu,\"bad_rate\":%llu,\"bad_payload\":%llu,"
            "\"resyncs\":%llu,\"silence_sec\":%.3f",
            (unsigned long long)st->packets, (unsigned long long)st->lost,
            (unsigned long long)st->duplicates, (unsigned long long)st->late,
            (unsigned long long)st->reordered, (unsigned long long)st->not_audio,
            (unsigned long long)st->bad_rate, (unsigned long long)st->bad_payload,
            (unsigned long long)st->resyncs,
            st->rate_hz ? (double)st->silence_samples / st->rate_hz : 0.0);
    lv__put(l, ",\"source_changes\":%llu", (unsigned long long)c->src_changes);
    if (c->prev_name[0])
        lv__put(l, ",\"ssrc_change_from\":\"%s\"", c->prev_name);
}

void lv__rtp_end(lv__call *c, lv__end reason)
{
    lv_rtp_flush(c->rtp); /* what it held is played out, the holes as silence */
    ssrc_remove(c->srv, c);
    tomb_add(c->srv, c->ssrc, reason, cq_clock_mono_sec());
}

void lv__rtp_timers(lv_server *s, double now)
{
    while (s->rp_ahead && now - s->rp_ahead->t_first > s->p.ident_sec)
        rp_drop(s, s->rp_ahead, RP_TIMEOUT);
}

void lv__rtp_drop_all(lv_server *s)
{
    while (s->rp_ahead)
        rp_drop(s, s->rp_ahead, RP_SHUTDOWN);
}

int lv__rtp_tables(lv_server *s, lv_error *e)
{
    const lv_server_params *p = &s->p;
    size_t nb = 64;
    while (nb < (size_t)p->max_calls && nb < 65536)
        nb *= 2;
    if (!(s->ssrc_tab = calloc(nb, sizeof(lv__call *))))
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    s->ssrc_mask = nb - 1;
    for (nb = 64; nb < (size_t)p->rtp_max_pending && nb < 65536;)
        nb *= 2;
    if (!(s->rp_tab = calloc(nb, sizeof(lv__rpend *))))
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    s->rp_mask = nb - 1;
    s->rp_budget =
        (size_t)(p->rtp_max_pending > RTP_POOL_MIN_KIB ? p->rtp_max_pending : RTP_POOL_MIN_KIB) *
        1024;
    return LV_OK;
}
