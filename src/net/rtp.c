/*
 * rtp.c - RTP streams: which datagrams are RTP, and each stream's packets, loss, delay and
 * jitter as Wireshark's RTP analysis (`tshark -z rtp,streams`) defines them, so that the two
 * tools agree figure for figure (docs/network.md gives the definitions and the tests that hold
 * them: tests/net/).
 *
 *   loss     the expected count runs from the first to the last sequence number, with a wrap
 *            counted each time the number falls below the first one (RFC 3550 A.1's cycles);
 *            lost = expected - received, negative when packets came twice;
 *   delta    the arrival time since the stream's previous packet;
 *   jitter   RFC 3550's J += (|D| - J) / 16, in ms, where D is the arrival time against the
 *            time the RTP timestamp says (the clock rate of the payload type), taken from the
 *            previous packet; a payload without a known clock rate has no jitter.
 *
 * The maxima and minima take only regular packets: not the first, not one with the marker bit
 * (a talk spurt's start), not comfort noise or the packet after it, not one whose timestamp
 * went backwards. Streams live in a table hashed on (source, destination, ports, SSRC), at
 * most net_limits.max_streams of them.
 *
 * Which flows are RTP (docs/network.md): a datagram of RTP's shape on a port that is never RTP
 * (DNS, DHCP, TFTP, NTP, NetBIOS, SNMP, syslog, SSDP, STUN/TURN, mDNS, LLMNR) is not, unless an
 * SDP names its address and port. Every other flow is read as a stream, and kept at the end
 * when an SDP names it, or when its packets behave as RTP's do, in arrival order:
 * RTP_MIN_PACKETS of them or more; sequence numbers that step forward by 1-100 (half the steps
 * at least; a repeat, as an event's last packet is sent three times, or a packet come late, is
 * not against it) and jump further either way on at most 1 step in 5; timestamps that go the
 * sequence numbers' way (RTP_STEADY of the steps); one payload type for RTP_STEADY of the
 * packets; and timestamps that advance with the packets' spacing at the payload's clock (half
 * to twice it; 4-100 kHz when the clock is not known), or, for a flow of telephone events (whose
 * timestamp stays on an event's start), every event payload of 4 bytes or more with its
 * reserved bit 0. The rest are counted (not_rtp_flows, not_rtp_packets) and left out: no
 * stream, no finding.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

typedef struct net_rtp_state {
    uint16_t start_seq, stop_seq, last_seq;
    uint32_t cycles;
    bool under;
    double t_last; /* ms since the capture's first frame: the last packet in time sequence */
    uint32_t ts_first;
    double last_nominal;
    int pt_cur;
    double delta, jitter;
    uint64_t total; /* packets before this one, of every kind */
    uint32_t hash;
    size_t sdp;       /* the SDP payload map bound at the first packet (net__sdp_find), 0 none */
    net_rtp_rec *rec; /* every voice packet, for the network MOS (rtp_quality.c) */
    size_t n_rec, cap_rec;
    bool rec_full;           /* the capture's record budget ran out */
    int64_t ext_seq, ext_ts; /* the last packet's, extended past their wraps */
    bool ext_init;
    uint8_t *audio; /* G.711 payloads, when kept */
    size_t audio_len, audio_cap;
    bool have_event;
    uint32_t event_ts; /* the RTP timestamp of the last telephone event */
    /* what tells RTP from other datagrams of its shape, in arrival order */
    uint16_t arr_seq;
    uint32_t arr_ts;
    uint32_t steps;             /* packets after the first */
    uint32_t seq_fwd;           /* those whose sequence number stepped forward by 1-100 */
    uint32_t seq_bad;           /* further than 100 either way (0: a repeat) */
    uint32_t ts_steps;          /* whose timestamp went the sequence number's way (a packet
                                   late is back in both; a repeat keeps its place) */
    uint32_t events;            /* telephone-event packets */
    uint32_t events_ok;         /* with an event's payload (4 bytes or more, its R bit 0) */
    double first_ms, last_ms;   /* the first and the last packet's arrival */
    int64_t ext_ts0;            /* the first packet's timestamp (extended) */
    uint32_t pt_n[NET_MAX_PTS]; /* packets of each of the stream's pts[] */
} net_rtp_state;

#define RTP_MIN_PACKETS 5
#define RTP_STEADY 0.8
#define RTP_SEQ_STEP_MAX 100

#define PT_CN 13
#define PT_CN_OLD 19

/* ---- which datagrams are RTP ---------------------------------------------------------------- */

/* The well-known ports of protocols that are never RTP (docs/network.md). */
static bool never_rtp_port(uint16_t p)
{
    switch (p) {
    case 53: /* DNS */
    case 67: /* DHCP */
    case 68:
    case 69:  /* TFTP */
    case 123: /* NTP */
    case 137: /* NetBIOS name, datagram, session */
    case 138:
    case 139:
    case 161: /* SNMP, traps */
    case 162:
    case 514:  /* syslog */
    case 1900: /* SSDP */
    case 3478: /* STUN, TURN; over TLS/DTLS */
    case 5349:
    case 5353: /* mDNS */
    case 5355: /* LLMNR */ return true;
    default: return false;
    }
}

bool net__rtp_looks_like(const uint8_t *p, size_t n)
{
    if (n < 12 || (p[0] >> 6) != 2)
        return false;
    unsigned pt = p[1] & 0x7f;
    if (pt >= 72 && pt <= 76) /* RTCP's packet types 200-204 with the marker bit */
        return false;
    if ((p[1] & 0x80) && pt >= 64 && pt <= 95) /* RTCP's 192-223 (RTCP multiplexed, RFC 5761) */
        return false;
    size_t hdr = 12 + (size_t)(p[0] & 15) * 4;
    if (hdr > n)
        return false;
    if (p[0] & 0x10) { /* a header extension: its length must fit */
        if (hdr + 4 > n)
            return false;
        hdr += 4 + (size_t)(p[hdr + 2] << 8 | p[hdr + 3]) * 4;
        if (hdr > n)
            return false;
    }
    if (p[0] & 0x20) { /* padding: the last byte counts it, header excluded */
        if (p[n - 1] == 0 || hdr + p[n - 1] > n)
            return false;
    }
    return true;
}

/* ---- the streams ---------------------------------------------------------------------------- */

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u; /* FNV-1a */
    return h;
}

static uint32_t key_hash(const net_udp *u, uint32_t ssrc)
{
    uint32_t h = 2166136261u;
    h = mix(h, u->src.a, 16);
    h = mix(h, u->dst.a, 16);
    uint8_t k[9] = {u->src.family,         (uint8_t)(u->sport >> 8),
                    (uint8_t)u->sport,     (uint8_t)(u->dport >> 8),
                    (uint8_t)u->dport,     (uint8_t)(ssrc >> 24),
                    (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
                    (uint8_t)ssrc};
    return mix(h, k, sizeof(k));
}

static bool same_stream(const net_rtp_stream *s, const net_udp *u, uint32_t ssrc)
{
    return s->ssrc == ssrc && s->sport == u->sport && s->dport == u->dport &&
           net_addr_equal(&s->src, &u->src) && net_addr_equal(&s->dst, &u->dst);
}

/* The capture's streams by their key: open addressing, stream index + 1 (0: empty). */
struct net_rtp_index {
    size_t *slot;
    size_t cap; /* a power of two */
    size_t cap_streams;
};

static struct net_rtp_index *table_of(net_capture *c, bool create)
{
    if (!c->rtp_index && create)
        c->rtp_index = calloc(1, sizeof(*c->rtp_index));
    return c->rtp_index;
}

/* the slots rebuilt at twice the capacity (64 at first), and at least twice the streams */
static bool grow_table(struct net_rtp_index *tb, net_capture *c)
{
    size_t ncap = tb->cap ? tb->cap * 2 : 64;
    while (ncap < c->n_streams * 2)
        ncap *= 2;
    size_t *ns = calloc(ncap, sizeof(size_t));
    if (!ns)
        return false;
    for (size_t i = 0; i < c->n_streams; i++) {
        size_t k = c->streams[i].st->hash & (ncap - 1);
        while (ns[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = i + 1;
    }
    free(tb->slot);
    tb->slot = ns;
    tb->cap = ncap;
    return true;
}

static net_rtp_stream *find_or_add(net_capture *c, const net_limits *lim, const net_udp *u,
                                   uint32_t ssrc)
{
    struct net_rtp_index *tb = table_of(c, true);
    if (!tb)
        return NULL;
    uint32_t h = key_hash(u, ssrc);
    if (tb->cap) {
        for (size_t k = h & (tb->cap - 1); tb->slot[k]; k = (k + 1) & (tb->cap - 1)) {
            net_rtp_stream *s = &c->streams[tb->slot[k] - 1];
            if (s->st->hash == h && same_stream(s, u, ssrc))
                return s;
        }
    }
    if (c->n_streams >= lim->max_streams)
        return NULL;
    if ((c->n_streams + 1) * 2 > tb->cap && !grow_table(tb, c))
        return NULL;
    if (c->n_streams == tb->cap_streams) {
        /* by half again, never past the limit: 100,000 streams of about 1 KiB each leave no
         * room for a doubling's slack */
        size_t nc = tb->cap_streams ? tb->cap_streams + tb->cap_streams / 2 : 16;
        if (nc > lim->max_streams)
            nc = lim->max_streams;
        net_rtp_stream *ns = realloc(c->streams, nc * sizeof(*ns));
        if (!ns)
            return NULL;
        c->streams = ns;
        tb->cap_streams = nc;
    }
    net_rtp_state *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->hash = h;
    /* an SDP seen before the stream's first packet maps its dynamic types for good; one seen
     * after does not (as Wireshark binds a flow to its conversation at the first packet) */
    st->sdp = net__sdp_find(c, &u->dst, u->dport, &u->src, u->sport);
    net_rtp_stream *s = &c->streams[c->n_streams];
    *s = (net_rtp_stream){.src = u->src,
                          .dst = u->dst,
                          .sport = u->sport,
                          .dport = u->dport,
                          .ssrc = ssrc,
                          .min_delta_ms = -1,
                          .min_jitter_ms = -1,
                          .sdp_bound = st->sdp != 0,
                          .st = st};
    size_t k = h & (tb->cap - 1);
    while (tb->slot[k])
        k = (k + 1) & (tb->cap - 1);
    tb->slot[k] = ++c->n_streams;
    return s;
}

/* A payload type's name and clock rate for this stream: static types by RFC 3551; dynamic ones
 * from the stream's SDP map (a telephone event has no clock: no jitter), and without a map by
 * Wireshark's defaults (100 and 101 events, 99 RFC 2198). *event: RFC 4733 events. */
static uint32_t pt_info_of(const net_capture *c, const net_rtp_state *st, int pt, const char **name,
                           bool *event)
{
    *event = false;
    if (pt < 96) {
        *name = net_pt_name((unsigned)pt);
        return net_pt_clock_rate((unsigned)pt);
    }
    if (st->sdp) {
        uint32_t rate;
        if (!net__sdp_pt(c, st->sdp, pt, name, &rate)) {
            *name = NULL; /* a map without it: RTPType-N */
            return 0;
        }
        if (!strncasecmp(*name, "telephone-event", 15)) {
            *event = true;
            return 0;
        }
        return rate;
    }
    *name = net_pt_name((unsigned)pt);
    *event = pt == 100 || pt == 101;
    return 0;
}

/* the payload type noted in the stream's list, and its packet counted */
static void note_pt(net_rtp_stream *s, int pt, const char *name)
{
    for (int i = 0; i < s->n_pts; i++)
        if (s->pts[i] == pt) {
            s->st->pt_n[i]++;
            return;
        }
    if (s->n_pts < NET_MAX_PTS) {
        snprintf(s->pt_names[s->n_pts], sizeof(s->pt_names[0]), "%.23s", name ? name : "");
        s->st->pt_n[s->n_pts] = 1;
        s->pts[s->n_pts++] = (uint8_t)pt;
    }
}

/* An RFC 4733 event packet: a new event (a new timestamp) with a DTMF code adds its digit. */
static void event_packet(net_rtp_stream *s, net_rtp_state *st, const uint8_t *p, size_t n,
                         uint32_t ts)
{
    size_t off = 12 + (size_t)(p[0] & 15) * 4;
    if ((p[0] & 0x10) && off + 4 <= n)
        off += 4 + (size_t)(p[off + 2] << 8 | p[off + 3]) * 4;
    if (off + 4 > n || p[off] > 15 || (st->have_event && st->event_ts == ts))
        return;
    st->have_event = true;
    st->event_ts = ts;
    size_t k = strlen(s->digits);
    if (k + 1 < sizeof(s->digits))
        s->digits[k] = "0123456789*#ABCD"[p[off]], s -> digits[k + 1] = 0;
}

/* ---- one packet ----------------------------------------------------------------------------- */

/* Is the timestamp ahead of the stream's first one, by less than half the 32-bit range? */
static bool in_time_sequence(uint32_t ts, uint32_t first)
{
    if (ts >= first)
        return ts - first < 0x80000000u;
    return (uint64_t)(0xffffffffu - first) + ts < 0x80000000u;
}

/* Where a packet's payload starts (the header, its CSRCs and extension); its padding is left in
 * (G.711 voice is not padded). */
static size_t payload_offset(const uint8_t *p, size_t n)
{
    size_t off = 12 + (size_t)(p[0] & 15) * 4;
    if ((p[0] & 0x10) && off + 4 <= n)
        off += 4 + (size_t)(p[off + 2] << 8 | p[off + 3]) * 4;
    return off <= n ? off : n;
}

/* One packet's record for the network MOS: sequence and timestamp extended past their wraps
 * (the nearest to the previous packet's), arrival in ms. Bounded by max_rtp_bytes. */
static void record(net_capture *c, const net_limits *lim, net_rtp_state *st, uint16_t seq,
                   uint32_t ts, double now, int pt, bool voice, const uint8_t *payload, size_t plen)
{
    if (!st->ext_init) {
        st->ext_init = true;
        st->ext_seq = seq;
        st->ext_ts = ts;
    } else {
        st->ext_seq += (int16_t)(uint16_t)(seq - (uint16_t)st->ext_seq);
        st->ext_ts += (int32_t)(uint32_t)(ts - (uint32_t)st->ext_ts);
    }
    if (st->rec_full)
        return;
    if (st->n_rec == st->cap_rec) {
        size_t nc =
            st->cap_rec ? st->cap_rec * 2 : 8; /* most streams of a hostile capture are short */
        size_t more = (nc - st->cap_rec) * sizeof(net_rtp_rec);
        net_rtp_rec *nr = c->rtp_rec_bytes + more <= lim->max_rtp_bytes
                              ? realloc(st->rec, nc * sizeof(*nr))
                              : NULL;
        if (!nr) {
            st->rec_full = true;
            return;
        }
        c->rtp_rec_bytes += more;
        st->rec = nr, st->cap_rec = nc;
    }
    net_rtp_rec r = {.seq = st->ext_seq,
                     .ts = st->ext_ts,
                     .arrival_ms = now,
                     .off = UINT32_MAX,
                     .pt = (uint8_t)pt,
                     .voice = voice};
    if (lim->keep_audio && voice && (pt == 0 || pt == 8 || pt == 18) && plen && plen <= 65535 &&
        st->audio_len + plen <= UINT32_MAX) {
        if (st->audio_len + plen > st->audio_cap) {
            size_t nc = (st->audio_len + plen) * 2;
            uint8_t *na = c->rtp_rec_bytes + (nc - st->audio_cap) <= lim->max_rtp_bytes
                              ? realloc(st->audio, nc)
                              : NULL;
            if (!na) {
                st->rec_full = true;
                return;
            }
            c->rtp_rec_bytes += nc - st->audio_cap;
            st->audio = na, st->audio_cap = nc;
        }
        memcpy(st->audio + st->audio_len, payload, plen);
        r.off = (uint32_t)st->audio_len;
        r.len = (uint16_t)plen;
        st->audio_len += plen;
    }
    st->rec[st->n_rec++] = r;
}

void net__rtp_packet(net_capture *c, const net_limits *lim, const net_udp *u)
{
    const uint8_t *p = u->data;
    if ((never_rtp_port(u->sport) || never_rtp_port(u->dport)) &&
        !net__sdp_find(c, &u->dst, u->dport, &u->src, u->sport)) {
        c->not_rtp_packets++;
        return;
    }
    uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    net_rtp_stream *s = find_or_add(c, lim, u, ssrc);
    if (!s) {
        c->streams_dropped++;
        return;
    }
    net_rtp_state *st = s->st;
    bool marker = p[1] & 0x80;
    int pt = p[1] & 0x7f;
    int seq = p[2] << 8 | p[3];
    uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    double now = u->rel_ms;
    const char *pt_name;
    bool event;
    uint32_t rate = pt_info_of(c, st, pt, &pt_name, &event);
    note_pt(s, pt, pt_name);
    if (event) {
        event_packet(s, st, p, u->len, ts);
        size_t off = payload_offset(p, u->len);
        st->events++;
        st->events_ok += u->len - off >= 4 && !(p[off + 1] & 0x40);
    }
    /* every packet fills its sequence number; the voice packets are what the jitter buffer
     * plays */
    bool voice = !event && pt != PT_CN && pt != PT_CN_OLD;
    record(c, lim, st, (uint16_t)seq, ts, now, pt, voice, p + payload_offset(p, u->len),
           u->len - payload_offset(p, u->len));
    s->packets++;
    s->end_sec = u->rel;
    if (s->packets == 1) {
        st->first_ms = st->last_ms = now;
        st->ext_ts0 = st->ext_ts;
        st->arr_seq = (uint16_t)seq, st->arr_ts = ts;
    } else {
        st->steps++;
        int step = (int16_t)(uint16_t)((uint16_t)seq - st->arr_seq);
        int32_t dts = (int32_t)(ts - st->arr_ts);
        st->seq_fwd += step >= 1 && step <= RTP_SEQ_STEP_MAX;
        st->seq_bad += abs(step) > RTP_SEQ_STEP_MAX;
        st->ts_steps += step > 0 ? dts >= 0 : step < 0 ? dts <= 0 : 1;
        st->arr_seq = (uint16_t)seq, st->arr_ts = ts;
        st->last_ms = now;
    }
    if (s->packets == 1) {
        st->start_seq = st->stop_seq = st->last_seq = (uint16_t)seq;
        st->t_last = now;
        st->ts_first = ts;
        st->pt_cur = pt;
        st->total = 1;
        s->start_sec = u->rel;
        return;
    }
    bool in_seq = in_time_sequence(ts, st->ts_first);
    bool wrong = !in_seq; /* a timestamp more than half the range behind the first one */
    /* wraps, for the expected count: the number fell below the first one */
    if (in_seq && seq < st->start_seq && !st->under) {
        st->cycles++;
        st->under = true;
    } else if (in_seq && seq == 0 && st->stop_seq == 65535 && !st->under) {
        st->cycles++;
        st->under = true;
    } else if (in_seq && seq > st->start_seq && st->under) {
        st->under = false;
    }
    /* the sequence: the next one; a jump forward (lost) or far back (a wrap whose packets were
     * lost); or late and duplicated */
    int last = st->last_seq;
    if (in_seq && (last + 1 == seq || (last == 65535 && seq == 0))) {
        st->last_seq = (uint16_t)seq;
    } else if (in_seq && (last + 1 < seq || last - seq > 0xff00)) {
        st->last_seq = (uint16_t)seq;
        s->seq_errors++;
        wrong = true;
    } else if (last + 1 > seq) {
        s->seq_errors++;
        wrong = true;
    }
    if (wrong)
        s->problem = true;
    bool cn = pt == PT_CN || pt == PT_CN_OLD;
    bool follows_cn = st->pt_cur == PT_CN || st->pt_cur == PT_CN_OLD;
    st->pt_cur = pt;
    double cur_jitter = 0;
    if (in_seq) {
        st->delta = now - st->t_last;
        if (rate) {
            /* the clock in whole kHz, as Wireshark divides (44100 Hz: 44) */
            double nominal = (double)(uint32_t)(ts - st->ts_first) / (double)(rate / 1000);
            double expected = st->t_last + (nominal - st->last_nominal);
            st->jitter = (15 * st->jitter + fabs(now - expected)) / 16;
            cur_jitter = st->jitter;
            st->last_nominal = nominal;
            s->clock_rate = rate;
        }
    }
    if (!marker && !cn && !follows_cn && in_seq) { /* a regular packet */
        double n = (double)st->total;
        if (st->delta > s->max_delta_ms)
            s->max_delta_ms = st->delta;
        if (s->min_delta_ms < 0 || st->delta < s->min_delta_ms)
            s->min_delta_ms = st->delta;
        /* a running mean whose divisor counts every earlier packet, regular or not */
        s->mean_delta_ms = (s->mean_delta_ms * (n - 1) + st->delta) / n;
        if (rate) {
            s->has_jitter = true;
            if (st->jitter > s->max_jitter_ms)
                s->max_jitter_ms = st->jitter;
            if (s->min_jitter_ms < 0 || st->jitter < s->min_jitter_ms)
                s->min_jitter_ms = st->jitter;
            s->mean_jitter_ms = (s->mean_jitter_ms * (n - 1) + cur_jitter) / n;
        }
    }
    if (in_seq)
        st->t_last = now;
    st->stop_seq = (uint16_t)seq;
    st->total++;
}

/* Does the flow behave as RTP (the file's head)? An SDP that names it settles it. */
static bool is_rtp(const net_capture *c, const net_rtp_stream *s)
{
    const net_rtp_state *st = s->st;
    if (s->sdp_bound || net__sdp_find(c, &s->dst, s->dport, &s->src, s->sport))
        return true;
    if (s->packets < RTP_MIN_PACKETS || st->seq_fwd < 0.5 * st->steps ||
        st->seq_bad > (1 - RTP_STEADY) * st->steps || st->ts_steps < RTP_STEADY * st->steps)
        return false;
    int top = 0;
    for (int i = 1; i < s->n_pts; i++)
        if (st->pt_n[i] > st->pt_n[top])
            top = i;
    if (st->pt_n[top] < RTP_STEADY * (double)s->packets)
        return false;
    if (st->events >= RTP_STEADY * (double)s->packets) /* telephone events alone */
        return st->events_ok == st->events;
    double elapsed = st->last_ms - st->first_ms, span = (double)(st->ext_ts - st->ext_ts0);
    if (!(elapsed > 0) || !(span > 0))
        return false;
    double per_ms = span / elapsed; /* the timestamp's ticks per ms of arrival */
    uint32_t rate = s->clock_rate ? s->clock_rate : net_pt_clock_rate(s->pts[top]);
    if (rate)
        return per_ms >= rate / 2000.0 && per_ms <= rate / 500.0;
    return per_ms >= 4 && per_ms <= 100;
}

/* The flows that are not RTP out of the capture's streams, counted (before any index into the
 * streams is taken: RTCP's and the dialogs' links are made after). */
static void keep_rtp(net_capture *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        net_rtp_stream *s = &c->streams[i];
        if (is_rtp(c, s)) {
            if (k != i)
                c->streams[k] = *s;
            k++;
            continue;
        }
        c->not_rtp_flows++;
        c->not_rtp_packets += s->packets;
        free(s->st->rec);
        free(s->st->audio);
        free(s->st);
        free(s->intervals);
    }
    if (k == c->n_streams)
        return;
    c->n_streams = k;
    struct net_rtp_index *tb = table_of(c, false);
    if (tb) { /* the slots named the old places: made again (none when out of memory) */
        free(tb->slot);
        tb->slot = NULL;
        tb->cap = 0;
        (void)grow_table(tb, c);
    }
}

void net__rtp_finish(net_capture *c, const net_limits *lim)
{
    keep_rtp(c);
    for (size_t i = 0; i < c->n_streams; i++) {
        net_rtp_stream *s = &c->streams[i];
        net_rtp_state *st = s->st;
        s->expected = (int64_t)st->stop_seq + (int64_t)st->cycles * 65536 - st->start_seq + 1;
        s->lost = s->expected - (int64_t)s->packets;
        net__rtp_quality(lim, s, st->rec, &st->n_rec, st->rec_full);
        if (!lim->keep_audio) { /* the figures are made: the records and the state go */
            free(st->rec);
            free(st->audio);
            free(st);
            s->st = NULL;
        }
    }
    struct net_rtp_index *tb = table_of(c, false);
    if (tb && !lim->keep_audio) { /* no packet comes after the last: the index goes too */
        free(tb->slot);
        tb->slot = NULL;
        tb->cap = 0;
    }
}

void net__rtp_audio(const net_capture *c, const net_rtp_stream *s, const net_rtp_rec **rec,
                    size_t *n, const uint8_t **audio)
{
    (void)c;
    *rec = s->st->rec;
    *n = s->st->rec_full ? 0 : s->st->n_rec;
    *audio = s->st->audio;
}

void net__rtp_free(net_capture *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i].st) {
            free(c->streams[i].st->rec);
            free(c->streams[i].st->audio);
        }
        free(c->streams[i].st);
        free(c->streams[i].intervals);
    }
    free(c->streams);
    struct net_rtp_index *tb = table_of(c, false);
    if (tb)
        free(tb->slot);
    free(tb);
}
