/*
 * fuzz_rtpin.c - libFuzzer harness over live RTP (src/live/rtp_in.c): the header parser and
 * the per-SSRC reorder buffer. The input is a run of datagrams, each behind a 1-byte length;
 * its first bytes set the window, the slots and the payload map. Oracles: a parsed header's
 * parts lie inside the datagram; every block of PCM continues its stream where the last one
 * ended, silence is zeros, and each stream's counters add up (samples handed out, packets
 * played and dropped against those taken) after a flush has played everything held.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/live/live.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sink {
    uint64_t next[8];
    uint64_t samples[8];
} sink;

static void on_pcm(void *user, const lv_rtp_block *b)
{
    sink *s = user;
    MUST(b->stream < 8 && b->first == s->next[b->stream] && b->rate_hz > 0 && b->n > 0);
    s->next[b->stream] += b->n;
    s->samples[b->stream] += b->n;
    if (b->silence)
        for (size_t i = 0; i < b->n; i++)
            MUST(b->pcm[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    sink s;
    memset(&s, 0, sizeof(s));
    lv_rtp_params p = lv_rtp_default_params();
    p.window_ms = 1 + data[0] % 200;
    p.max_pending = 2 + data[1] % 40;
    p.max_streams = 1 + data[2] % 8;
    p.max_packet_samples = 1 + (size_t)(data[3] % 64) * 16;
    p.max_gap_ms = 50;
    p.on_pcm = on_pcm;
    p.user = &s;
    MUST(lv_rtp_map_set(&p.map, 96, LV_CODEC_L16_LE, 8000) == LV_OK);
    MUST(lv_rtp_map_set(&p.map, 97, LV_CODEC_L16, 48000) == LV_OK);
    lv_rtp *r = lv_rtp_create(&p, NULL);
    MUST(r);
    size_t pos = 4, datagrams = 0;
    while (pos < size) {
        size_t n = data[pos++];
        if (n > size - pos)
            n = size - pos;
        lv_rtp_header h;
        if (lv_rtp_parse(data + pos, n, &h, NULL) == LV_OK) {
            MUST(h.version == 2 && h.cc <= 15 && h.pt < 128);
            MUST(12 + 4u * h.cc + (h.extension ? 4 + h.ext_len : 0) + h.payload_len + h.pad_len ==
                 n);
            MUST(!h.payload_len ||
                 (h.payload >= data + pos && h.payload + h.payload_len <= data + pos + n));
        }
        int rc = lv_rtp_push(r, data + pos, n);
        MUST(rc == 0 || rc == 1 || rc <= LV_ERR_RTP_SHORT);
        datagrams++;
        pos += n;
    }
    lv_rtp_flush(r);
    const lv_rtp_rx_stats *rx = lv_rtp_get_stats(r);
    MUST(rx->datagrams == datagrams);
    uint64_t taken = 0;
    for (size_t i = 0; i < lv_rtp_stream_count(r); i++) {
        const lv_rtp_stats *st = lv_rtp_stream_stats(r, i);
        MUST(st->samples == s.samples[i] && st->silence_samples <= st->samples);
        MUST(st->played == st->packets); /* everything held was played by the flush */
        taken += st->packets + st->duplicates + st->late;
    }
    MUST(taken + rx->malformed + rx->streams_refused == datagrams);
    lv_rtp_destroy(r);
    return 0;
}
