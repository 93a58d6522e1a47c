/*
 * fuzz_net.c - libFuzzer harness over a capture as bytes (net_capture_read_mem: libpcap's pcap
 * and pcapng readers, then the link layers, IPv4 and IPv6, fragments and RTP streams of
 * src/net/), under small limits so that a run stays fast. Oracles: a capture read is
 * consistent (at most max_streams streams, each with at least one packet, lost = expected -
 * packets, a minimum never above its maximum, no figure NaN; frame times may go backwards, so
 * a stream's end may come before its start), every SIP message kept has its fields and its
 * text, and a refused capture says why.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/net/net.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_limits lim = {.max_packets = 20000, .max_streams = 64, .max_frag_bytes = 1 << 20};
    net_capture *c = NULL;
    char err[512];
    if (net_capture_read_mem(data, size, &lim, &c, err, sizeof(err)) != 0) {
        MUST(!c && err[0]);
        return 0;
    }
    MUST(c && c->n_streams <= lim.max_streams && c->packets <= lim.max_packets);
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        MUST(s->packets >= 1 && !isnan(s->mean_delta_ms) && !isnan(s->mean_jitter_ms));
        MUST(s->lost == s->expected - (int64_t)s->packets);
        MUST(s->min_delta_ms < 0 || s->min_delta_ms <= s->max_delta_ms);
        MUST(!s->has_jitter || s->min_jitter_ms <= s->max_jitter_ms);
        MUST(s->n_pts >= 1 && s->n_pts <= NET_MAX_PTS);
    }
    for (size_t i = 0; i < c->n_sip; i++) {
        const net_sip_msg *m = &c->sip[i];
        MUST(m->text && m->len <= NET_SIP_MAX && m->call_id && m->from && m->to && m->cseq_method);
        MUST(m->request ? m->method && m->uri : m->status >= 0 && m->status <= 999 && m->reason);
        MUST(!m->body || (m->body >= m->text && m->body + m->body_len == m->text + m->len));
    }
    net_capture_free(c);
    return 0;
}
