/*
 * rtp_in.c - RTP as Asterisk's ARI externalMedia sends it to us: the header of RFC 3550 5.1
 * taken apart with every length checked, G.711 and L16 payloads (RFC 3551) decoded through a
 * per-stream payload map, and a per-stream reorder buffer that plays the packets out in
 * sequence as contiguous PCM.
 *
 * DESIGN: the streams of one UDP port are told apart by SSRC (at most max_streams; the packets
 * of a further SSRC are refused and counted). Sequence numbers and timestamps are extended past
 * their wraps against the highest seen (RFC 3550 A.1), so the buffer works on 64-bit values:
 *
 *   in order     a packet whose sequence number is the next to play is played at once, with
 *                the packets held behind it: an in-order stream adds no delay;
 *   reordered    a packet ahead of a missing one is held (max_pending slots, their PCM decoded
 *                into buffers made at create) until the missing one comes;
 *   lost         ... or until the newest audio is more than window_ms past the missing place
 *                (or the slots are full): the missing numbers are counted lost, and the hole in
 *                the timeline is filled with silence from the timestamps;
 *   duplicate    a number already held, or played within the last 64: dropped, counted;
 *   late         a number whose place was played or given up: dropped, counted;
 *   jumps        a sequence number more than 3000 ahead (RFC 3550 A.1's MAX_DROPOUT) restarts
 *                the stream's sequence, a timestamp gap beyond max_gap_ms its timeline: both
 *                counted as resyncs, neither filled.
 *
 * A payload type mapped to LV_CODEC_NONE (telephone-event, comfort noise) keeps its place in
 * the sequence and gives no samples; the timeline gap it leaves is filled like a loss. Audio at
 * another clock rate than the stream's first, or of a bad size, is counted and kept the same way.
 */
#include <string.h>

#include "../base/base_int.h"
#include "live_int.h"

#define MAX_DROPOUT 3000 /* RFC 3550 A.1: a jump ahead beyond this is a restart */
#define HIST_BITS 64     /* played sequence numbers remembered for duplicates */
#define ZERO_N 1024      /* samples of silence per block */

static const int16_t k_zero[ZERO_N];

typedef struct slot {
    bool used;
    bool audio;   /* false: a placeholder (not audio, bad rate or size): no samples */
    int64_t seq;  /* extended */
    int64_t ts;   /* extended */
    size_t n;     /* samples in pcm */
    int16_t *pcm; /* max_packet_samples */
} slot;

typedef struct stream {
    lv_rtp_stats st;
    lv_rtp_map map;
    bool seen;          /* a packet came (a stream may be made by lv_rtp_set_map first) */
    int64_t max_seq;    /* the highest extended sequence number received */
    int64_t max_ts;     /* the highest extended timestamp received */
    int64_t next_seq;   /* the next number to play */
    bool timeline;      /* next_ts holds: audio was played since the last restart */
    int64_t next_ts;    /* where the next audio should start */
    bool have_newest;   /* newest_ts holds */
    int64_t newest_ts;  /* the start of the highest-numbered audio packet received */
    uint64_t hist;      /* bit i: next_seq - 1 - i was played */
    bool probing;       /* a packet far from the sequence came: is the next one after it? */
    uint16_t probe_seq; /* the number that confirms a restart */
    int64_t window;     /* window_ms in samples (once the rate is known) */
    int64_t max_gap;    /* max_gap_ms in samples */
    slot *slots;        /* max_pending */
    size_t held;        /* slots used */
    int16_t *pcm;       /* max_pending * max_packet_samples */
} stream;

struct lv_rtp {
    lv_rtp_params p;
    stream *streams; /* max_streams */
    size_t n_streams;
    lv_rtp_rx_stats st;
    lv_error err;
};

/* ---- the header ------------------------------------------------------------------------------ */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int lv_rtp_parse(const uint8_t *pkt, size_t n, lv_rtp_header *h, lv_error *e)
{
    memset(h, 0, sizeof(*h));
    if (n < 12)
        return lv__fail(e, LV_ERR_RTP_SHORT, 0, "RTP packet of %zu bytes (12 at least)", n);
    h->version = pkt[0] >> 6;
    if (h->version != 2)
        return lv__fail(e, LV_ERR_RTP_VERSION, 0, "RTP version %u (2 expected)",
                        (unsigned)h->version);
    h->padding = (pkt[0] & 0x20) != 0;
    h->extension = (pkt[0] & 0x10) != 0;
    h->cc = pkt[0] & 0x0f;
    h->marker = (pkt[1] & 0x80) != 0;
    h->pt = pkt[1] & 0x7f;
    h->seq = be16(pkt + 2);
    h->ts = be32(pkt + 4);
    h->ssrc = be32(pkt + 8);
    size_t off = 12;
    if (n - off < 4u * h->cc)
        return lv__fail(e, LV_ERR_RTP_SHORT, 0, "RTP packet of %zu bytes cannot hold its %u CSRCs",
                        n, (unsigned)h->cc);
    for (unsigned i = 0; i < h->cc; i++, off += 4)
        h->csrc[i] = be32(pkt + off);
    if (h->extension) {
        if (n - off < 4)
            return lv__fail(e, LV_ERR_RTP_SHORT, 0,
                            "RTP packet of %zu bytes cannot hold its extension header", n);
        h->ext_profile = be16(pkt + off);
        h->ext_len = 4u * be16(pkt + off + 2);
        off += 4;
        if (n - off < h->ext_len)
            return lv__fail(e, LV_ERR_RTP_SHORT, 0,
                            "RTP packet of %zu bytes cannot hold its %zu-byte extension", n,
                            h->ext_len);
        off += h->ext_len;
    }
    size_t rest = n - off;
    if (h->padding) {
        size_t pad = rest ? pkt[n - 1] : 0;
        if (pad == 0 || pad > rest)
            return lv__fail(e, LV_ERR_RTP_PADDING, 0,
                            "RTP padding count %zu with %zu bytes after the header", pad, rest);
        h->pad_len = pad;
        rest -= pad;
    }
    h->payload = rest ? pkt + off : NULL;
    h->payload_len = rest;
    return LV_OK;
}

size_t lv_rtp_encode(uint8_t *out, size_t cap, unsigned pt, bool marker, uint16_t seq, uint32_t ts,
                     uint32_t ssrc, const uint8_t *payload, size_t len)
{
    if (!out || pt > 127 || cap < 12 || cap - 12 < len || (len && !payload))
        return 0;
    out[0] = 0x80;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        out[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    if (len)
        memcpy(out + 12, payload, len);
    return 12 + len;
}

/* ---- the payload map ------------------------------------------------------------------------- */

lv_rtp_map lv_rtp_default_map(void)
{
    lv_rtp_map m;
    memset(&m, 0, sizeof(m));
    m.codec[0] = LV_CODEC_PCMU, m.rate_hz[0] = 8000;
    m.codec[8] = LV_CODEC_PCMA, m.rate_hz[8] = 8000;
    m.codec[118] = LV_CODEC_L16, m.rate_hz[118] = 16000;
    return m;
}

int lv_rtp_map_set(lv_rtp_map *m, unsigned pt, lv_codec codec, uint32_t rate_hz)
{
    if (!m || pt > 127 || (unsigned)codec > LV_CODEC_L16_LE ||
        (codec != LV_CODEC_NONE && (rate_hz < 1000 || rate_hz > 192000)))
        return LV_ERR_ARG;
    m->codec[pt] = (uint8_t)codec;
    m->rate_hz[pt] = codec == LV_CODEC_NONE ? 0 : rate_hz;
    return LV_OK;
}

static bool map_ok(const lv_rtp_map *m)
{
    for (int i = 0; i < 128; i++) {
        if (m->codec[i] > LV_CODEC_L16_LE)
            return false;
        if (m->codec[i] != LV_CODEC_NONE && (m->rate_hz[i] < 1000 || m->rate_hz[i] > 192000))
            return false;
    }
    return true;
}

/* ---- the receiver ---------------------------------------------------------------------------- */

lv_rtp_params lv_rtp_default_params(void)
{
    return (lv_rtp_params){.map = lv_rtp_default_map(),
                           .window_ms = 60,
                           .max_streams = 4,
                           .max_pending = 32,
                           .max_packet_samples = 1920,
                           .max_gap_ms = 1000};
}

lv_rtp *lv_rtp_create(const lv_rtp_params *p, int *err)
{
    int rc = LV_ERR_ARG;
    lv_rtp *r = NULL;
    if (!p || !p->on_pcm || p->window_ms < 1 || p->window_ms > 2000 || p->max_streams < 1 ||
        p->max_streams > 64 || p->max_pending < 2 || p->max_pending > 256 ||
        p->max_packet_samples < 1 || p->max_packet_samples > 16384 || p->max_gap_ms < 1 ||
        p->max_gap_ms > 60000 || !map_ok(&p->map))
        goto fail;
    rc = LV_ERR_NOMEM;
    if (!(r = cq__calloc(1, sizeof(*r))))
        goto fail;
    r->p = *p;
    if (!(r->streams = cq__calloc(p->max_streams, sizeof(stream))))
        goto fail;
    for (size_t i = 0; i < p->max_streams; i++) {
        stream *s = &r->streams[i];
        s->slots = cq__calloc(p->max_pending, sizeof(slot));
        s->pcm = cq__calloc(p->max_pending * p->max_packet_samples, sizeof(int16_t));
        if (!s->slots || !s->pcm)
            goto fail;
        for (size_t k = 0; k < p->max_pending; k++)
            s->slots[k].pcm = s->pcm + k * p->max_packet_samples;
    }
    if (err)
        *err = LV_OK;
    return r;
fail:
    lv_rtp_destroy(r);
    if (err)
        *err = rc;
    return NULL;
}

void lv_rtp_destroy(lv_rtp *r)
{
    if (!r)
        return;
    if (r->streams)
        for (size_t i = 0; i < r->p.max_streams; i++) {
            cq__free(r->streams[i].slots);
            cq__free(r->streams[i].pcm);
        }
    cq__free(r->streams);
    cq__free(r);
}

size_t lv_rtp_stream_count(const lv_rtp *r)
{
    return r->n_streams;
}

const lv_rtp_stats *lv_rtp_stream_stats(const lv_rtp *r, size_t i)
{
    return i < r->n_streams ? &r->streams[i].st : NULL;
}

const lv_rtp_rx_stats *lv_rtp_get_stats(const lv_rtp *r)
{
    return &r->st;
}

const lv_error *lv_rtp_last_error(const lv_rtp *r)
{
    return &r->err;
}

static stream *find_stream(lv_rtp *r, uint32_t ssrc)
{
    for (size_t i = 0; i < r->n_streams; i++)
        if (r->streams[i].st.ssrc == ssrc)
            return &r->streams[i];
    return NULL;
}

/* A stream for a new SSRC, NULL when every slot is taken. */
static stream *new_stream(lv_rtp *r, uint32_t ssrc)
{
    if (r->n_streams == r->p.max_streams)
        return NULL;
    stream *s = &r->streams[r->n_streams++];
    slot *slots = s->slots;
    int16_t *pcm = s->pcm;
    memset(s, 0, sizeof(*s));
    s->slots = slots, s->pcm = pcm;
    for (size_t k = 0; k < r->p.max_pending; k++)
        s->slots[k].used = false;
    s->st.ssrc = ssrc;
    s->map = r->p.map;
    return s;
}

int lv_rtp_set_map(lv_rtp *r, uint32_t ssrc, const lv_rtp_map *m)
{
    if (!map_ok(m))
        return LV_ERR_ARG;
    stream *s = find_stream(r, ssrc);
    if (!s && !(s = new_stream(r, ssrc)))
        return lv__fail(&r->err, LV_ERR_RTP_STREAMS, r->st.datagrams,
                        "no room for the stream of SSRC 0x%08x (%zu streams at most)",
                        (unsigned)ssrc, r->p.max_streams);
    if (s->st.rate_hz)
        for (int i = 0; i < 128; i++)
            if (m->codec[i] != LV_CODEC_NONE && m->rate_hz[i] != s->st.rate_hz)
                return LV_ERR_ARG;
    s->map = *m;
    return LV_OK;
}

/* ---- playout --------------------------------------------------------------------------------- */

static void emit(lv_rtp *r, stream *s, const int16_t *pcm, size_t n, bool silence)
{
    lv_rtp_block b = {.stream = (size_t)(s - r->streams),
                      .ssrc = s->st.ssrc,
                      .rate_hz = s->st.rate_hz,
                      .pcm = pcm,
                      .n = n,
                      .first = s->st.samples,
                      .silence = silence,
                      .seq = (uint64_t)s->next_seq};
    s->st.samples += n;
    if (silence)
        s->st.silence_samples += n;
    r->p.on_pcm(r->p.user, &b);
}

static void emit_silence(lv_rtp *r, stream *s, int64_t n)
{
    while (n > 0) {
        size_t k = n > ZERO_N ? ZERO_N : (size_t)n;
        emit(r, s, k_zero, k, true);
        n -= (int64_t)k;
    }
}

static void shift_hist(stream *s, int64_t k, bool played)
{
    s->hist = k >= HIST_BITS ? 0 : s->hist << k;
    if (played)
        s->hist |= 1;
}

/* Play one held packet: the timeline's gap before it as silence, then its samples. */
static void play(lv_rtp *r, stream *s, slot *h)
{
    if (h->audio) {
        if (s->timeline) {
            int64_t gap = h->ts - s->next_ts;
            if (gap > 0 && gap <= s->max_gap)
                emit_silence(r, s, gap);
            else if (gap > s->max_gap || gap < -s->max_gap)
                s->st.resyncs++;
        }
        if (h->n)
            emit(r, s, h->pcm, h->n, false);
        s->next_ts = h->ts + (int64_t)h->n;
        s->timeline = true;
    }
    s->st.played++;
    s->next_seq = h->seq + 1;
    shift_hist(s, 1, true);
    h->used = false;
    s->held--;
}

static slot *held_seq(stream *s, size_t cap, int64_t seq)
{
    for (size_t k = 0; k < cap; k++)
        if (s->slots[k].used && s->slots[k].seq == seq)
            return &s->slots[k];
    return NULL;
}

static slot *held_min(stream *s, size_t cap)
{
    slot *m = NULL;
    for (size_t k = 0; k < cap; k++)
        if (s->slots[k].used && (!m || s->slots[k].seq < m->seq))
            m = &s->slots[k];
    return m;
}

/* Play what can be played: the next packet when it is held; past a missing one when the
 * window passed, the slots are full, or with force (then everything held). */
static void release(lv_rtp *r, stream *s, bool force)
{
    size_t cap = r->p.max_pending;
    for (;;) {
        slot *h = held_seq(s, cap, s->next_seq);
        if (h) {
            play(r, s, h);
            continue;
        }
        if (s->held == 0)
            return;
        bool waited =
            s->timeline && s->have_newest && s->window > 0 && s->newest_ts - s->next_ts > s->window;
        if (!force && !waited && s->held < cap)
            return;
        slot *m = held_min(s, cap);
        int64_t lost = m->seq - s->next_seq;
        s->st.lost += (uint64_t)lost;
        shift_hist(s, lost, false);
        s->next_seq = m->seq;
        play(r, s, m);
    }
}

/* The sender restarted its numbering at this packet: what is held plays, then the stream's
 * sequence and timeline start again from (seq, ts). */
static void restart(lv_rtp *r, stream *s, uint16_t seq, uint32_t ts)
{
    release(r, s, true);
    s->st.resyncs++;
    s->timeline = false;
    s->have_newest = false;
    s->hist = 0;
    s->max_seq = s->next_seq = seq;
    s->max_ts = ts;
}

void lv_rtp_flush(lv_rtp *r)
{
    for (size_t i = 0; i < r->n_streams; i++)
        release(r, &r->streams[i], true);
}

/* Decode the payload into a slot. LV_OK or LV_ERR_RTP_PAYLOAD (the slot is then a
 * placeholder). */
static int decode(lv_rtp *r, stream *s, const lv_rtp_header *h, slot *sl)
{
    lv_codec c = (lv_codec)s->map.codec[h->pt];
    sl->audio = false;
    sl->n = 0;
    if (c == LV_CODEC_NONE) {
        s->st.not_audio++;
        return LV_OK;
    }
    uint32_t rate = s->map.rate_hz[h->pt];
    if (s->st.rate_hz && rate != s->st.rate_hz) {
        s->st.bad_rate++;
        return LV_OK;
    }
    bool l16 = c == LV_CODEC_L16 || c == LV_CODEC_L16_LE;
    size_t n = l16 ? h->payload_len / 2 : h->payload_len;
    if ((l16 && h->payload_len % 2) || n > r->p.max_packet_samples) {
        s->st.bad_payload++;
        return lv__fail(&r->err, LV_ERR_RTP_PAYLOAD, r->st.datagrams - 1,
                        "RTP payload of %zu bytes (PT %u, SSRC 0x%08x): %s", h->payload_len,
                        (unsigned)h->pt, (unsigned)h->ssrc,
                        l16 && h->payload_len % 2 ? "odd for 16-bit samples"
                                                  : "more samples than a packet may carry");
    }
    if (!s->st.rate_hz) {
        s->st.rate_hz = rate;
        s->window = (int64_t)r->p.window_ms * rate / 1000;
        s->max_gap = (int64_t)r->p.max_gap_ms * rate / 1000;
    }
    switch (c) {
    case LV_CODEC_PCMU: lv_g711_s16(h->payload, n, true, sl->pcm); break;
    case LV_CODEC_PCMA: lv_g711_s16(h->payload, n, false, sl->pcm); break;
    case LV_CODEC_L16: lv_pcm_s16be(h->payload, n, sl->pcm); break;
    default: lv_pcm_s16le(h->payload, n, sl->pcm); break;
    }
    sl->audio = true;
    sl->n = n;
    return LV_OK;
}

int lv_rtp_push(lv_rtp *r, const uint8_t *pkt, size_t n)
{
    lv_rtp_header h;
    uint64_t num = r->st.datagrams++;
    int rc = lv_rtp_parse(pkt, n, &h, &r->err);
    if (rc != LV_OK) {
        r->err.offset = num;
        r->st.malformed++;
        return rc;
    }
    stream *s = find_stream(r, h.ssrc);
    if (!s) {
        bool others = false;
        for (size_t i = 0; i < r->n_streams; i++)
            others = others || r->streams[i].seen;
        if (!(s = new_stream(r, h.ssrc))) {
            r->st.streams_refused++;
            return lv__fail(&r->err, LV_ERR_RTP_STREAMS, num,
                            "RTP packet of a new SSRC 0x%08x with %zu streams followed already",
                            (unsigned)h.ssrc, r->p.max_streams);
        }
        if (others)
            r->st.ssrc_changes++;
    }
    int first = 0;
    int64_t seq, ts;
    if (!s->seen) {
        s->seen = true;
        first = 1;
        s->max_seq = s->next_seq = h.seq;
        s->max_ts = h.ts;
    } else {
        seq = s->max_seq + (int16_t)(uint16_t)(h.seq - (uint16_t)s->max_seq);
        if (seq - s->next_seq > MAX_DROPOUT || s->next_seq - seq > MAX_DROPOUT) {
            /* far from the stream (RFC 3550 A.1): a restart once the next packet follows it */
            if (!s->probing || h.seq != s->probe_seq) {
                s->probing = true;
                s->probe_seq = (uint16_t)(h.seq + 1);
                s->st.late++;
                return first;
            }
            restart(r, s, h.seq, h.ts);
        }
    }
    s->probing = false;
    seq = s->max_seq + (int16_t)(uint16_t)(h.seq - (uint16_t)s->max_seq);
    ts = s->max_ts + (int32_t)(h.ts - (uint32_t)s->max_ts);
    bool newest = seq >= s->max_seq;
    if (seq > s->max_seq) {
        if ((seq >> 16) > (s->max_seq >> 16))
            s->st.seq_wraps++;
        s->max_seq = seq;
    }
    if (ts > s->max_ts) {
        if ((ts >> 32) > (s->max_ts >> 32))
            s->st.ts_wraps++;
        s->max_ts = ts;
    }
    /* too old: a duplicate of a played packet, or late */
    if (seq < s->next_seq) {
        int64_t back = s->next_seq - seq;
        if (back <= HIST_BITS && (s->hist >> (back - 1)) & 1)
            s->st.duplicates++;
        else
            s->st.late++;
        return first;
    }
    size_t cap = r->p.max_pending;
    if (held_seq(s, cap, seq)) {
        s->st.duplicates++;
        return first;
    }
    /* release() leaves a slot free: it gives up waiting when the slots fill */
    slot *sl = NULL;
    for (size_t k = 0; k < cap && !sl; k++)
        if (!s->slots[k].used)
            sl = &s->slots[k];
    if (!sl) { /* cannot happen: release() keeps one slot free */
        release(r, s, true);
        if (seq < s->next_seq) {
            s->st.late++;
            return first;
        }
        sl = &s->slots[0];
    }
    rc = decode(r, s, &h, sl);
    sl->used = true;
    sl->seq = seq;
    sl->ts = ts;
    s->held++;
    s->st.packets++;
    if (!newest)
        s->st.reordered++;
    if (sl->audio && newest) {
        s->newest_ts = ts;
        s->have_newest = true;
    }
    release(r, s, false);
    return rc != LV_OK ? rc : first;
}
