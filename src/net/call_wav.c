/*
 * call_wav.c - the call in a capture as a WAV file in memory (net.h, net_call_wav), so that a
 * captured call goes through the same per-leg analysis as a recording. Nothing is decoded here
 * when both legs use one G.711 law: the captured bytes go into a mu-law or A-law WAV as they
 * came, and the engine decodes them as it decodes any such file, so a capture and a recording
 * of the same bytes give the same report. Each packet is placed by its RTP timestamp from its
 * stream's first packet, and each stream's first packet by its arrival on the capture's clock;
 * a place no packet filled is G.711 silence, counted and said.
 */
#define _GNU_SOURCE
#include <bcg729/decoder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_audio.h"
#include "net_int.h"

#define WAV_MAX_SEC (6 * 3600) /* a capture's call longer than this is refused */
#define RATE 8000

static int by_seq(const void *a, const void *b)
{
    const net_rtp_rec *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The samples a packet carries: G.711 a byte each; G.729 80 a 10-byte frame, and 80 of comfort
 * noise for a 2-byte SID frame (G.729 Annex B). */
static int64_t samples_of(const net_rtp_rec *r)
{
    if (r->pt == 18)
        return (int64_t)(r->len / 10) * 80 + (r->len % 10 == 2 ? 80 : 0);
    return r->len;
}

typedef struct leg {
    const net_rtp_stream *s;
    net_rtp_rec *rec; /* a sorted copy */
    size_t n;
    const uint8_t *audio;
    int pt;              /* 0 mu-law, 8 A-law */
    int64_t base;        /* its first sample's place on the call's clock */
    uint64_t lost;       /* packets that never came (sequence gaps) */
    uint64_t suppressed; /* samples the sender sent no packet for (consecutive sequence
                            numbers, a timestamp jump: silence suppression) */
} leg;

static bool leg_of(const net_capture *c, const net_rtp_stream *s, leg *l)
{
    const net_rtp_rec *r;
    size_t n;
    const uint8_t *audio;
    net__rtp_audio(c, s, &r, &n, &audio);
    memset(l, 0, sizeof(*l));
    if (!n || !audio)
        return false;
    if (!(l->rec = malloc(n * sizeof(*r))))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].off != UINT32_MAX || !r[i].voice)
            l->rec[k++] = r[i];
    qsort(l->rec, k, sizeof(*r), by_seq);
    /* the voice packets only, numbered past the events and comfort noise between them: a gap
     * left is a packet lost; the time an event took is a timestamp jump (not sent) */
    size_t v = 0;
    int64_t skipped = 0;
    for (size_t i = 0; i < k; i++) {
        if (!l->rec[i].voice) {
            skipped += !i || l->rec[i].seq != l->rec[i - 1].seq;
            continue;
        }
        l->rec[v] = l->rec[i];
        l->rec[v++].seq -= skipped;
    }
    k = v;
    l->n = k;
    l->s = s;
    l->audio = audio;
    l->pt = k ? l->rec[0].pt : 0;
    return k > 0;
}

/* Was the stream's audio kept (G.711 or G.729, within the budget)? */
static bool has_audio(const net_capture *c, const net_rtp_stream *s)
{
    const net_rtp_rec *r;
    size_t n;
    const uint8_t *au;
    net__rtp_audio(c, s, &r, &n, &au);
    return au && n;
}

static bool reverse_of(const net_rtp_stream *a, const net_rtp_stream *b)
{
    return a->sport == b->dport && a->dport == b->sport && net_addr_equal(&a->src, &b->dst) &&
           net_addr_equal(&a->dst, &b->src);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff), put16(p + 2, v >> 16);
}

/* A G.729 leg decoded (libbcg729) into 16-bit PCM at its places: each 10-byte frame 80
 * samples; a lost packet's frames decoded as erased (the decoder conceals them). */
static int render_g729(leg *l, uint8_t *pcm, unsigned char *seen, int64_t total, int nl, int i)
{
    bcg729DecoderChannelContextStruct *d = initBcg729DecoderChannel();
    if (!d)
        return -1;
    int16_t out[80];
    static const uint8_t none[10]; /* an erased frame's bits are not read: given all the same */
    for (size_t k = 0; k < l->n; k++) {
        const net_rtp_rec *r = &l->rec[k];
        if (r->pt != 18)
            continue;
        int64_t at = l->base + (r->ts - l->rec[0].ts);
        if (k && r->seq > l->rec[k - 1].seq + 1) { /* lost: concealed, frame by frame */
            const net_rtp_rec *p = &l->rec[k - 1];
            int64_t from = l->base + (p->ts - l->rec[0].ts) + samples_of(p);
            for (int64_t x = from; x + 80 <= at && x - from < 8000; x += 80) {
                bcg729Decoder(d, none, 10, 1, 0, 0, out);
                for (int j = 0; j < 80; j++)
                    if (x + j >= 0 && x + j < total && !seen[(x + j) * nl + i]) {
                        seen[(x + j) * nl + i] = 1;
                        memcpy(pcm + ((size_t)(x + j) * (size_t)nl + (size_t)i) * 2, &out[j], 2);
                    }
            }
        }
        const uint8_t *b = l->audio + r->off;
        for (int f = 0; f * 10 + 2 <= r->len; f++) {
            bool sid = r->len - f * 10 == 2;
            bcg729Decoder(d, b + f * 10, sid ? 2 : 10, 0, sid, 0, out);
            int64_t x0 = at + (int64_t)f * 80;
            for (int j = 0; j < 80; j++) {
                int64_t x = x0 + j;
                if (x < 0 || x >= total || seen[x * nl + i])
                    continue;
                seen[x * nl + i] = 1;
                memcpy(pcm + ((size_t)x * (size_t)nl + (size_t)i) * 2, &out[j], 2);
            }
            if (sid)
                break;
        }
    }
    closeBcg729DecoderChannel(d);
    return 0;
}

int net_call_wav(const net_capture *c, uint8_t **wav, size_t *len, char *note, size_t note_n,
                 char *err, size_t err_n)
{
    *wav = NULL, *len = 0;
    note[0] = 0;
    /* the longest G.711 voice stream, and the one back */
    const net_rtp_stream *a = NULL, *b = NULL;
    for (size_t i = 0; i < c->n_streams; i++)
        if (has_audio(c, &c->streams[i]) && (!a || c->streams[i].packets > a->packets))
            a = &c->streams[i];
    if (!a) {
        snprintf(err, err_n,
                 "the capture holds no G.711 (PCMU, PCMA) or G.729 RTP stream to analyse");
        return -1;
    }
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        if (s != a && has_audio(c, s) && reverse_of(a, s) && (!b || s->packets > b->packets))
            b = s;
    }
    /* the caller's stream first: the one from the SDP offer's address and port */
    bool swap = b && b->start_sec < a->start_sec;
    for (size_t i = 0; b && i < c->n_dialogs; i++) {
        const net_sdp *o = &c->dialogs[i].offer;
        if (!o->present)
            continue;
        if (o->port == a->sport && net_addr_equal(&o->addr, &a->src)) {
            swap = false;
            break;
        }
        if (o->port == b->sport && net_addr_equal(&o->addr, &b->src)) {
            swap = true;
            break;
        }
    }
    if (swap) {
        const net_rtp_stream *t = a;
        a = b, b = t;
    }
    leg legs[2] = {0};
    int nl = b ? 2 : 1;
    bool ok0 = leg_of(c, a, &legs[0]), ok1 = !b || leg_of(c, b, &legs[1]);
    if (!ok0 || !ok1) {
        free(legs[0].rec), free(legs[1].rec);
        snprintf(err, err_n, "out of memory");
        return -1;
    }
    /* both legs on the capture's clock, from the earlier first packet */
    double t0 = legs[0].rec[0].arrival_ms;
    for (int i = 1; i < nl; i++)
        if (legs[i].rec[0].arrival_ms < t0)
            t0 = legs[i].rec[0].arrival_ms;
    int64_t total = 0;
    for (int i = 0; i < nl; i++) {
        leg *l = &legs[i];
        l->base = (int64_t)((l->rec[0].arrival_ms - t0) * RATE / 1000.0 + 0.5);
        const net_rtp_rec *last = &l->rec[l->n - 1];
        int64_t end = l->base + (last->ts - l->rec[0].ts) + samples_of(last);
        if (end > total)
            total = end;
    }
    if (total <= 0 || total > (int64_t)WAV_MAX_SEC * RATE) {
        for (int i = 0; i < nl; i++)
            free(legs[i].rec);
        snprintf(err, err_n, "the captured call spans %.0f s: more than the %d h analysed",
                 (double)total / RATE, WAV_MAX_SEC / 3600);
        return -1;
    }
    bool g729 = legs[0].pt == 18 || (nl == 2 && legs[1].pt == 18);
    bool same_law = !g729 && (nl == 1 || legs[0].pt == legs[1].pt);
    size_t bps = same_law ? 1 : 2, data = (size_t)total * (size_t)nl * bps;
    uint8_t *w = calloc(1, 58 + data);
    unsigned char *seen = calloc((size_t)total * (size_t)nl, 1);
    if (!w || !seen) {
        free(w), free(seen);
        for (int i = 0; i < nl; i++)
            free(legs[i].rec);
        snprintf(err, err_n, "out of memory for %.0f s of audio", (double)total / RATE);
        return -1;
    }
    uint8_t *pcm = w + 58;
    for (int i = 0; i < nl; i++) {
        leg *l = &legs[i];
        if (l->pt == 18) {
            if (render_g729(l, pcm, seen, total, nl, i) != 0) {
                free(w), free(seen);
                for (int j = 0; j < nl; j++)
                    free(legs[j].rec);
                snprintf(err, err_n, "the G.729 decoder (libbcg729) cannot start");
                return -1;
            }
            continue;
        }
        for (size_t k = 0; k < l->n; k++) {
            const net_rtp_rec *r = &l->rec[k];
            if (r->pt != l->pt)
                continue; /* a change of law mid-stream: not this leg's */
            int64_t at = l->base + (r->ts - l->rec[0].ts);
            for (uint16_t j = 0; j < r->len; j++) {
                int64_t x = at + j;
                if (x < 0 || x >= total || seen[x * nl + i])
                    continue; /* the first arrival of a sample wins */
                seen[x * nl + i] = 1;
                uint8_t v = l->audio[r->off + j];
                size_t o = ((size_t)x * (size_t)nl + (size_t)i) * bps;
                if (same_law) {
                    pcm[o] = v;
                } else {
                    int16_t s = l->pt == 0 ? cq_g711_ulaw_s16(v) : cq_g711_alaw_s16(v);
                    put16(pcm + o, (uint16_t)s);
                }
            }
        }
    }
    double first_loss = -1;
    for (int i = 0; i < nl; i++) { /* what no packet filled: the law's silence */
        leg *l = &legs[i];
        uint8_t sil = l->pt == 0 ? 0xff : 0xd5; /* (PCM: the zeroed buffer's 0) */
        for (int64_t x = 0; same_law && x < total; x++)
            if (!seen[x * nl + i])
                pcm[(size_t)x * (size_t)nl + (size_t)i] = sil;
        for (size_t k = 1; k < l->n; k++) { /* and why: lost, or never sent */
            const net_rtp_rec *p = &l->rec[k - 1], *r = &l->rec[k];
            if (r->seq > p->seq + 1) {
                l->lost += (uint64_t)(r->seq - p->seq - 1);
                double at = (double)(l->base + (p->ts - l->rec[0].ts) + samples_of(p)) / RATE;
                if (first_loss < 0 || at < first_loss)
                    first_loss = at;
            } else if (r->ts - p->ts > samples_of(p)) {
                l->suppressed += (uint64_t)(r->ts - p->ts - samples_of(p));
            }
        }
    }
    free(seen);
    /* the header: RIFF, fmt (18 bytes: format 7 mu-law, 6 A-law, 1 PCM), data */
    uint16_t fmt = same_law ? (legs[0].pt == 0 ? 7 : 6) : 1;
    static const char *const law[19] = {[0] = "PCMU", [8] = "PCMA", [18] = "G729"};
    memcpy(w, "RIFF", 4);
    put32(w + 4, (uint32_t)(38 + data));
    memcpy(w + 8, "WAVEfmt ", 8);
    put32(w + 16, 18);
    put16(w + 20, fmt);
    put16(w + 22, (uint16_t)nl);
    put32(w + 24, RATE);
    put32(w + 28, (uint32_t)(RATE * nl * bps));
    put16(w + 32, (uint16_t)(nl * bps));
    put16(w + 34, (uint16_t)(8 * bps));
    put16(w + 36, 0);
    memcpy(w + 38, "data", 4);
    put32(w + 42, (uint32_t)data);
    memmove(w + 46, pcm, data); /* the header is 46 bytes: close the space left for it */
    *wav = w;
    *len = 46 + data;
    char ad[2][NET_ADDR_STRLEN], bd[2][NET_ADDR_STRLEN];
    size_t k = (size_t)snprintf(note, note_n, "from a capture:");
    for (int i = 0; i < nl && k < note_n; i++) {
        const leg *l = &legs[i];
        k +=
            (size_t)snprintf(note + k, note_n - k,
                             "%s %s leg %s:%u -> %s:%u (SSRC 0x%08X, %s, %zu packets", i ? ";" : "",
                             nl == 1 ? "the"
                             : i     ? "outbound"
                                     : "inbound",
                             net_addr_str(&l->s->src, ad[i], sizeof(ad[i])), l->s->sport,
                             net_addr_str(&l->s->dst, bd[i], sizeof(bd[i])), l->s->dport,
                             l->s->ssrc, law[l->pt] ? law[l->pt] : "?", l->n);
        if (l->lost && k < note_n)
            k += (size_t)snprintf(note + k, note_n - k, ", %llu lost: %s in their place",
                                  (unsigned long long)l->lost,
                                  l->pt == 18 ? "the decoder's concealment" : "silence");
        if (l->suppressed && k < note_n)
            k += (size_t)snprintf(note + k, note_n - k,
                                  ", %.2f s not sent (silence suppression): silence",
                                  (double)l->suppressed / RATE);
        if (k < note_n)
            k += (size_t)snprintf(note + k, note_n - k, ")");
    }
    if (first_loss >= 0 && k < note_n)
        snprintf(note + k, note_n - k, "; the first loss at %.2f s", first_loss);
    for (int i = 0; i < nl; i++)
        free(legs[i].rec);
    return 0;
}
