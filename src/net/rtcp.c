/*
 * rtcp.c - RTCP: which datagrams are RTCP, their compound packets checked and taken apart (RFC
 * 3550 6.4-6.6: SR, RR, SDES's CNAME, BYE; APP and feedback skipped; RFC 3611's XR with its VoIP
 * Metrics block, 4.7), and each report block's round trip as Wireshark computes it, so that the
 * two tools agree figure for figure (docs/network/rtp.md "RTCP", tests/net/compare_rtcp.py).
 *
 *   which    a datagram whose first header is RTCP's (version 2, a packet type of 192-223) is
 *            RTCP when it goes to or from the port one above an SDP's RTP port, or the SDP's RTP
 *            port itself (rtcp-mux), or, anywhere, when it starts with an SR or an RR; then the
 *            whole compound must hold: every packet version 2, its length inside the datagram,
 *            the lengths adding up to the datagram's (less than a 4-byte header left after the
 *            last is ignored, as Wireshark ignores it), padding only on the last packet and
 *            within it, each packet's fixed part and blocks inside its length. One that fails
 *            is counted (rtcp_bad) and is not RTCP, nor RTP;
 *   RTT      an SR's NTP middle 32 bits are remembered for its direction (the last SR only);
 *            a report block sent the other way whose LSR equals them has the round trip
 *            (its arrival - the SR's capture) - DLSR, in whole ms, with Wireshark's integer
 *            arithmetic (seconds * 1000 + nanoseconds / 10^6, DLSR * 1000 / 65536 truncated).
 *
 * The reports, their blocks and their XR VoIP metrics are kept up to net_limits.max_rtcp each;
 * a report that does not fit is counted in rtcp_dropped. The memory is the capture's.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

#define PT_SR 200
#define PT_RR 201
#define PT_SDES 202
#define PT_BYE 203
#define PT_XR 207
#define XR_VOIP 7          /* RFC 3611 4.7's block type */
#define XR_VOIP_WORDS 8    /* its length field: 36 bytes less the 4-byte block header */
#define MAX_PER_PACKET 64  /* reports (SR, RR, XR) taken from one compound packet */
#define MAX_BLOCKS_PKT 256 /* report blocks and VoIP blocks taken from one compound packet */

/* ---- the last SR of each direction ---------------------------------------------------------- */

typedef struct last_sr {
    net_addr src, dst;
    uint16_t sport, dport;
    bool used;
    uint32_t lsr; /* NTP's middle 32 bits */
    uint64_t frame;
    int64_t sec, nsec;
} last_sr;

struct net_rtcp_state {
    last_sr *slot; /* open addressing on the direction */
    size_t cap;    /* a power of two, 0 before the first SR */
    size_t n;
    size_t cap_reports, cap_blocks, cap_voip;
};

static uint32_t dir_hash(const net_addr *s, const net_addr *d, uint16_t sp, uint16_t dp)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ s->a[i]) * 16777619u, h = (h ^ d->a[i]) * 16777619u;
    uint8_t k[5] = {s->family, (uint8_t)(sp >> 8), (uint8_t)sp, (uint8_t)(dp >> 8), (uint8_t)dp};
    for (int i = 0; i < 5; i++)
        h = (h ^ k[i]) * 16777619u; /* FNV-1a */
    return h;
}

static last_sr *dir_find(struct net_rtcp_state *st, const net_addr *s, const net_addr *d,
                         uint16_t sp, uint16_t dp, bool add)
{
    if (!st->cap) {
        if (!add || !(st->slot = calloc(64, sizeof(*st->slot))))
            return NULL;
        st->cap = 64;
    }
    if (add && (st->n + 1) * 2 > st->cap) {
        size_t nc = st->cap * 2;
        last_sr *ns = calloc(nc, sizeof(*ns));
        if (!ns)
            return NULL;
        for (size_t i = 0; i < st->cap; i++) {
            if (!st->slot[i].used)
                continue;
            const last_sr *o = &st->slot[i];
            size_t k = dir_hash(&o->src, &o->dst, o->sport, o->dport) & (nc - 1);
            while (ns[k].used)
                k = (k + 1) & (nc - 1);
            ns[k] = *o;
        }
        free(st->slot);
        st->slot = ns, st->cap = nc;
    }
    for (size_t k = dir_hash(s, d, sp, dp) & (st->cap - 1);; k = (k + 1) & (st->cap - 1)) {
        last_sr *e = &st->slot[k];
        if (!e->used) {
            if (!add)
                return NULL;
            *e = (last_sr){.src = *s, .dst = *d, .sport = sp, .dport = dp, .used = true};
            st->n++;
            return e;
        }
        if (e->sport == sp && e->dport == dp && net_addr_equal(&e->src, s) &&
            net_addr_equal(&e->dst, d))
            return e;
    }
}

/* ---- checking a compound packet ------------------------------------------------------------- */

/* The items of an SDES packet's chunks (RFC 3550 6.5): each chunk an SSRC, items of type,
 * length, text, a null item, then zeros to the next 32-bit boundary; all within `n` bytes.
 * The CNAME of `ssrc` into cname (cname_n bytes) when given. */
static bool sdes_ok(const uint8_t *p, size_t n, unsigned chunks, uint32_t ssrc, char *cname,
                    size_t cname_n)
{
    size_t off = 0;
    for (unsigned c = 0; c < chunks; c++) {
        if (off + 4 > n)
            return false;
        uint32_t who = net__be32(p + off);
        off += 4;
        for (;;) {
            if (off >= n)
                return false;
            uint8_t type = p[off];
            if (type == 0)
                break;
            if (off + 2 > n || off + 2 + p[off + 1] > n)
                return false;
            if (type == 1 && cname && who == ssrc) {
                size_t k = p[off + 1] < cname_n - 1 ? p[off + 1] : cname_n - 1;
                for (size_t i = 0; i < k; i++) /* printable ASCII; anything else as '?' */
                    cname[i] = p[off + 2 + i] >= 0x20 && p[off + 2 + i] < 0x7f
                                   ? (char)p[off + 2 + i]
                                   : '?';
                cname[k] = 0;
            }
            off += 2 + (size_t)p[off + 1];
        }
        off = (off + 4) & ~(size_t)3; /* the null item and the padding up to the boundary */
        if (off > n)
            return false;
    }
    return true;
}

/* The body of one packet of a compound (its header's 4 bytes included, padding excluded): are
 * its fixed part and blocks within it? */
static bool packet_ok(const uint8_t *p, size_t n)
{
    unsigned count = p[0] & 31, pt = p[1];
    switch (pt) {
    case PT_SR: return n >= 28 + 24 * (size_t)count;
    case PT_RR: return n >= 8 + 24 * (size_t)count;
    case PT_SDES: return sdes_ok(p + 4, n - 4, count, 0, NULL, 0);
    case PT_BYE:
        if (n < 4 + 4 * (size_t)count)
            return false;
        if (n > 4 + 4 * (size_t)count) /* a reason: its length, then its text */
            return 4 + 4 * (size_t)count + 1 + p[4 + 4 * count] <= n;
        return true;
    case PT_XR: {
        if (n < 8)
            return false;
        for (size_t off = 8; off < n;) {
            if (off + 4 > n)
                return false;
            size_t len = (size_t)net__be16(p + off + 2) * 4;
            if (off + 4 + len > n || (p[off] == XR_VOIP && len != 4 * XR_VOIP_WORDS))
                return false;
            off += 4 + len;
        }
        return true;
    }
    default: return n >= 4; /* APP, feedback, others: skipped whole */
    }
}

/* The whole compound: true when every packet holds (see the file's comment); `first_any`: the
 * first packet may be any RTCP type (a port said it is RTCP), else it must be an SR or RR. */
static bool compound_ok(const uint8_t *p, size_t n, bool first_any)
{
    if (n < 8 || (!first_any && (p[1] != PT_SR && p[1] != PT_RR)))
        return false;
    if (!first_any && n % 4) /* found by its shape alone: whole 32-bit words, as Wireshark's
                                heuristic asks */
        return false;
    for (size_t off = 0; off + 4 <= n;) { /* less than a header after the last: left, as
                                             Wireshark leaves it */
        if ((p[off] >> 6) != 2 || p[off + 1] < 192 || p[off + 1] > 223)
            return false;
        size_t len = ((size_t)net__be16(p + off + 2) + 1) * 4;
        if (off + len > n)
            return false;
        size_t body = len;
        if (p[off] & 0x20) { /* padding: on the last packet only, its count in the last byte */
            uint8_t pad = p[off + len - 1];
            if (off + len + 4 <= n || pad == 0 || pad > len - 4)
                return false;
            body = len - pad;
        }
        if (!packet_ok(p + off, body))
            return false;
        off += len;
    }
    return true;
}

/* ---- keeping what a compound packet says ---------------------------------------------------- */

/* The packet of a compound compound_ok accepted at *off: its header, with its body's length
 * (header included, padding excluded) in *body; *off moves past it. NULL past the last. */
static const uint8_t *next_packet(const uint8_t *p, size_t n, size_t *off, size_t *body)
{
    if (*off + 4 > n)
        return NULL;
    const uint8_t *h = p + *off;
    size_t len = ((size_t)net__be16(h + 2) + 1) * 4;
    *body = h[0] & 0x20 ? len - h[len - 1] : len;
    *off += len;
    return h;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem, size_t limit)
{
    if (need <= *cap)
        return true;
    if (need > limit)
        return false;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    if (nc > limit)
        nc = limit;
    void *na = realloc(*arr, nc * elem);
    if (!na)
        return false;
    *arr = na, *cap = nc;
    return true;
}

/* An RFC 3611 4.7 block (b: its header, then the SSRC, then the fields in order); a field
 * whose 127 says "unavailable" is NET_XR_NA then. */
static void decode_voip(const uint8_t *b, net_rtcp_voip *v)
{
    const uint8_t *f = b + 8;
    int8_t sig = (int8_t)f[12], noise = (int8_t)f[13];
    *v = (net_rtcp_voip){.ssrc = net__be32(b + 4),
                         .loss_rate = f[0],
                         .discard_rate = f[1],
                         .burst_density = f[2],
                         .gap_density = f[3],
                         .burst_ms = net__be16(f + 4),
                         .gap_ms = net__be16(f + 6),
                         .round_trip_ms = net__be16(f + 8),
                         .end_system_ms = net__be16(f + 10),
                         .signal_dbm = sig == 127 ? NET_XR_NA : sig,
                         .noise_dbm = noise == 127 ? NET_XR_NA : noise,
                         .rerl_db = f[14] == 127 ? NET_XR_NA : f[14],
                         .gmin = f[15],
                         .r_factor = f[16] == 127 ? NET_XR_NA : f[16],
                         .ext_r_factor = f[17] == 127 ? NET_XR_NA : f[17],
                         .mos_lq_x10 = f[18] == 127 ? NET_XR_NA : f[18],
                         .mos_cq_x10 = f[19] == 127 ? NET_XR_NA : f[19],
                         .plc = f[20] >> 6,
                         .jba = (f[20] >> 4) & 3,
                         .jb_rate = f[20] & 15,
                         .jb_nominal_ms = net__be16(f + 22),
                         .jb_max_ms = net__be16(f + 24),
                         .jb_abs_max_ms = net__be16(f + 26)};
}

/* Wireshark's round trip: whole ms between the two capture times (seconds * 1000 + the
 * nanoseconds' difference / 10^6, truncated), less DLSR in whole ms. */
static int32_t rtt_ms(const net_udp *u, const last_sr *sr, uint32_t dlsr)
{
    int64_t gap = (u->sec - sr->sec) * 1000 + (u->nsec - sr->nsec) / 1000000;
    int64_t d = (int64_t)((double)dlsr / 65536.0 * 1000.0);
    int64_t r = gap - d;
    return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

/* Take a valid compound packet apart: its SR, RR and XR into the capture (all of them, or
 * none when the limit is reached), the SRs remembered for the round trip. */
static void keep(net_capture *c, const net_limits *lim, const net_udp *u, net_rtcp_how how)
{
    struct net_rtcp_state *st = c->rtcp_st;
    const uint8_t *p = u->data;
    size_t n = u->len;
    /* first count what this packet adds, so that it is kept whole or not at all */
    size_t n_rep = 0, n_blk = 0, n_voip = 0;
    size_t off = 0, body;
    for (const uint8_t *h; (h = next_packet(p, n, &off, &body));) {
        unsigned pt = h[1];
        if (pt == PT_SR || pt == PT_RR) {
            n_rep++, n_blk += h[0] & 31;
        } else if (pt == PT_XR) {
            n_rep++;
            for (size_t k = 8; k + 4 <= body; k += 4 + (size_t)net__be16(h + k + 2) * 4)
                n_voip += h[k] == XR_VOIP;
        }
    }
    if (!n_rep)
        return;
    if (n_rep > MAX_PER_PACKET || n_blk + n_voip > MAX_BLOCKS_PKT ||
        !grow((void **)&c->rtcp_reports, &st->cap_reports, c->n_rtcp_reports + n_rep,
              sizeof(net_rtcp_report), lim->max_rtcp) ||
        !grow((void **)&c->rtcp_blocks, &st->cap_blocks, c->n_rtcp_blocks + n_blk,
              sizeof(net_rtcp_block), lim->max_rtcp) ||
        !grow((void **)&c->rtcp_voip, &st->cap_voip, c->n_rtcp_voip + n_voip, sizeof(net_rtcp_voip),
              lim->max_rtcp)) {
        c->rtcp_dropped += n_rep;
        return;
    }
    size_t first_rep = c->n_rtcp_reports;
    off = 0;
    for (const uint8_t *h; (h = next_packet(p, n, &off, &body));) {
        unsigned pt = h[1], count = h[0] & 31;
        if (pt != PT_SR && pt != PT_RR && pt != PT_XR)
            continue;
        net_rtcp_report *rep = &c->rtcp_reports[c->n_rtcp_reports++];
        *rep = (net_rtcp_report){.frame = u->num,
                                 .rel_sec = u->rel,
                                 .src = u->src,
                                 .dst = u->dst,
                                 .sport = u->sport,
                                 .dport = u->dport,
                                 .type = (uint8_t)pt,
                                 .how = how,
                                 .ssrc = net__be32(h + 4),
                                 .first_block = c->n_rtcp_blocks,
                                 .first_voip = c->n_rtcp_voip};
        size_t blk = 8;
        if (pt == PT_SR) {
            rep->ntp_msw = net__be32(h + 8), rep->ntp_lsw = net__be32(h + 12),
            rep->rtp_ts = net__be32(h + 16);
            rep->sender_packets = net__be32(h + 20), rep->sender_octets = net__be32(h + 24);
            last_sr *e = dir_find(st, &u->src, &u->dst, u->sport, u->dport, true);
            if (e) {
                e->lsr = rep->ntp_msw << 16 | rep->ntp_lsw >> 16;
                e->frame = u->num, e->sec = u->sec, e->nsec = u->nsec;
            }
            blk = 28;
        }
        if (pt == PT_XR) {
            for (size_t k = 8; k + 4 <= body; k += 4 + (size_t)net__be16(h + k + 2) * 4)
                if (h[k] == XR_VOIP) {
                    decode_voip(h + k, &c->rtcp_voip[c->n_rtcp_voip++]);
                    rep->n_voip++;
                }
            continue;
        }
        /* the reports about the sources the sender receives: the round trip from the last SR
         * sent the other way (an LSR of 0 says no SR was received: none) */
        const last_sr *back = dir_find(st, &u->dst, &u->src, u->dport, u->sport, false);
        for (unsigned i = 0; i < count; i++, blk += 24) {
            const uint8_t *b = h + blk;
            uint32_t cum = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
            net_rtcp_block *o = &c->rtcp_blocks[c->n_rtcp_blocks++];
            *o = (net_rtcp_block){.ssrc = net__be32(b),
                                  .fraction_lost = b[4],
                                  .cum_lost =
                                      cum & 0x800000 ? (int32_t)cum - 0x1000000 : (int32_t)cum,
                                  .ext_high_seq = net__be32(b + 8),
                                  .jitter = net__be32(b + 12),
                                  .jitter_ms = -1,
                                  .lsr = net__be32(b + 16),
                                  .dlsr = net__be32(b + 20)};
            if (back && o->lsr && back->lsr == o->lsr) {
                o->has_rtt = true;
                o->rtt_ms = rtt_ms(u, back, o->dlsr);
                o->rtt_sr_frame = back->frame;
            }
            rep->n_blocks++;
        }
    }
    /* the senders' CNAMEs, from the SDES packets anywhere in the compound */
    off = 0;
    for (const uint8_t *h; (h = next_packet(p, n, &off, &body));) {
        if (h[1] != PT_SDES)
            continue;
        for (size_t r = first_rep; r < c->n_rtcp_reports; r++) {
            net_rtcp_report *rep = &c->rtcp_reports[r];
            if (!rep->cname[0])
                sdes_ok(h + 4, body - 4, h[0] & 31, rep->ssrc, rep->cname, sizeof(rep->cname));
        }
    }
}

bool net__rtcp_udp(net_capture *c, const net_limits *lim, const net_udp *u)
{
    const uint8_t *p = u->data;
    size_t n = u->len;
    if (n < 4 || (p[0] >> 6) != 2 || p[1] < 192 || p[1] > 223)
        return false; /* not RTCP's header: RTP or something else */
    net_rtcp_how how = NET_RTCP_BY_SHAPE;
    if ((u->dport && net__sdp_at(c, &u->dst, (uint16_t)(u->dport - 1))) ||
        (u->sport && net__sdp_at(c, &u->src, (uint16_t)(u->sport - 1))))
        how = NET_RTCP_BY_SDP;
    else if (net__sdp_at(c, &u->dst, u->dport) || net__sdp_at(c, &u->src, u->sport))
        how = NET_RTCP_BY_MUX;
    else if (p[1] != PT_SR && p[1] != PT_RR)
        return false; /* no port says RTCP, and it does not start as a compound must */
    if (!compound_ok(p, n, how != NET_RTCP_BY_SHAPE)) {
        c->rtcp_bad++;
        return true;
    }
    if (!c->rtcp_st && !(c->rtcp_st = calloc(1, sizeof(*c->rtcp_st)))) {
        c->rtcp_dropped++;
        return true;
    }
    c->rtcp++;
    keep(c, lim, u, how);
    return true;
}

/* ---- the streams reported on ---------------------------------------------------------------- */

typedef struct by_ssrc {
    uint32_t ssrc;
    size_t idx;
} by_ssrc;

static int cmp_ssrc(const void *a, const void *b)
{
    const by_ssrc *x = a, *y = b;
    if (x->ssrc != y->ssrc)
        return x->ssrc < y->ssrc ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The stream of `ssrc` that report `r` is about: of the streams with that SSRC, the one sent
 * to the report's sender (by address, then by port: the RTCP port less one, or the same), from
 * the report's destination; the first to start among equals. An index + 1, 0 none. */
static size_t stream_of(const net_capture *c, const by_ssrc *ix, size_t n, uint32_t ssrc,
                        const net_rtcp_report *r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix[mid].ssrc < ssrc)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t best = 0;
    int best_score = -1;
    for (size_t i = lo; i < n && ix[i].ssrc == ssrc; i++) {
        const net_rtp_stream *s = &c->streams[ix[i].idx];
        int score = (net_addr_equal(&s->dst, &r->src) ? 4 : 0) +
                    (net_addr_equal(&s->src, &r->dst) ? 2 : 0) +
                    (s->dport == r->sport || s->dport + 1 == r->sport ? 1 : 0);
        if (score > best_score)
            best = ix[i].idx + 1, best_score = score;
    }
    return best;
}

void net__rtcp_finish(net_capture *c)
{
    for (size_t i = 0; i < c->n_streams; i++)
        c->streams[i].rtcp = (net_rtcp_remote){.fraction_lost_pct = -1,
                                               .max_fraction_lost_pct = -1,
                                               .jitter_ms = -1,
                                               .max_jitter_ms = -1,
                                               .mos_lq = -1,
                                               .mos_cq = -1,
                                               .min_mos_lq = -1};
    if (!c->n_rtcp_reports || !c->n_streams)
        return;
    by_ssrc *ix = malloc(c->n_streams * sizeof(*ix));
    if (!ix)
        return;
    for (size_t i = 0; i < c->n_streams; i++)
        ix[i] = (by_ssrc){c->streams[i].ssrc, i};
    qsort(ix, c->n_streams, sizeof(*ix), cmp_ssrc);
    for (size_t r = 0; r < c->n_rtcp_reports; r++) {
        const net_rtcp_report *rep = &c->rtcp_reports[r];
        for (size_t k = 0; k < rep->n_blocks; k++) {
            net_rtcp_block *b = &c->rtcp_blocks[rep->first_block + k];
            b->stream = stream_of(c, ix, c->n_streams, b->ssrc, rep);
            if (!b->stream)
                continue;
            net_rtp_stream *s = &c->streams[b->stream - 1];
            net_rtcp_remote *m = &s->rtcp;
            if (s->clock_rate)
                b->jitter_ms = (double)b->jitter * 1000.0 / (double)s->clock_rate;
            m->reports++;
            m->last_report = r;
            m->fraction_lost_pct = 100.0 * b->fraction_lost / 256.0;
            if (m->fraction_lost_pct > m->max_fraction_lost_pct)
                m->max_fraction_lost_pct = m->fraction_lost_pct;
            m->cum_lost = b->cum_lost;
            m->jitter_ms = b->jitter_ms;
            if (b->jitter_ms > m->max_jitter_ms)
                m->max_jitter_ms = b->jitter_ms;
            if (b->has_rtt) {
                if (!m->has_rtt || b->rtt_ms > m->max_rtt_ms)
                    m->max_rtt_ms = b->rtt_ms;
                m->has_rtt = true;
                m->rtt_ms = b->rtt_ms;
            }
        }
        for (size_t k = 0; k < rep->n_voip; k++) {
            net_rtcp_voip *v = &c->rtcp_voip[rep->first_voip + k];
            v->stream = stream_of(c, ix, c->n_streams, v->ssrc, rep);
            if (!v->stream)
                continue;
            net_rtcp_remote *m = &c->streams[v->stream - 1].rtcp;
            m->xr_reports++;
            m->last_report = r;
            m->mos_lq = v->mos_lq_x10 == NET_XR_NA ? -1 : v->mos_lq_x10 / 10.0;
            m->mos_cq = v->mos_cq_x10 == NET_XR_NA ? -1 : v->mos_cq_x10 / 10.0;
            if (m->mos_lq >= 0 && (m->min_mos_lq < 0 || m->mos_lq < m->min_mos_lq))
                m->min_mos_lq = m->mos_lq;
        }
    }
    free(ix);
}

void net__rtcp_free(net_capture *c)
{
    if (c->rtcp_st)
        free(c->rtcp_st->slot);
    free(c->rtcp_st);
    free(c->rtcp_reports);
    free(c->rtcp_blocks);
    free(c->rtcp_voip);
}
