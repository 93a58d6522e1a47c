/*
 * fuzz_net.c - libFuzzer harness over a capture as bytes (net_capture_read_mem: libpcap's pcap
 * and pcapng readers, then the link layers, IPv4 and IPv6, fragments, RTP streams and RTCP's
 * compound packets of src/net/), under small limits so that a run stays fast. Oracles: a
 * capture read is consistent (at most max_streams streams, each with at least one packet, lost
 * = expected - packets, a minimum never above its maximum, no figure NaN; frame times may go
 * backwards, so a stream's end may come before its start), every SIP message kept has its
 * fields and its text, every RTCP report's blocks are in the capture's arrays and link only to
 * a stream of their SSRC, and a refused capture says why; and the part an answer holds
 * (net_capture_view) names only its own items, counts the rest, and its JSON is within its bound.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/net/net.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_limits lim = {.max_packets = 20000,
                      .max_streams = 64,
                      .max_frag_bytes = 1 << 20,
                      .max_rtcp = 64,
                      .max_sip = 256,
                      .max_sip_bytes = 1 << 20,
                      .max_dialogs = 16,
                      .max_dialog_msgs = 16,
                      .max_dialog_streams = 4,
                      .max_findings = 64,
                      .max_answer_bytes = 1 << 20};
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
    /* RTCP: within the limit, each report's blocks inside the capture's arrays, each link to a
     * stream whose SSRC is the block's, unavailable XR fields only where 127 can stand */
    MUST(c->n_rtcp_reports <= lim.max_rtcp && c->n_rtcp_blocks <= lim.max_rtcp &&
         c->n_rtcp_voip <= lim.max_rtcp);
    for (size_t i = 0; i < c->n_rtcp_reports; i++) {
        const net_rtcp_report *r = &c->rtcp_reports[i];
        MUST(r->type == 200 || r->type == 201 || r->type == 207);
        MUST(r->first_block + r->n_blocks <= c->n_rtcp_blocks);
        MUST(r->first_voip + r->n_voip <= c->n_rtcp_voip);
        MUST(r->type == 207 ? r->n_blocks == 0 : r->n_voip == 0);
        MUST(memchr(r->cname, 0, sizeof(r->cname)) != NULL);
    }
    for (size_t i = 0; i < c->n_rtcp_blocks; i++) {
        const net_rtcp_block *b = &c->rtcp_blocks[i];
        MUST(b->cum_lost >= -(1 << 23) && b->cum_lost < (1 << 23));
        MUST(b->stream <= c->n_streams &&
             (!b->stream || c->streams[b->stream - 1].ssrc == b->ssrc));
        MUST(b->jitter_ms < 0 || (b->stream && c->streams[b->stream - 1].clock_rate));
    }
    for (size_t i = 0; i < c->n_rtcp_voip; i++) {
        const net_rtcp_voip *v = &c->rtcp_voip[i];
        MUST(v->stream <= c->n_streams &&
             (!v->stream || c->streams[v->stream - 1].ssrc == v->ssrc));
        MUST(v->plc <= 3 && v->jba <= 3 && v->jb_rate <= 15);
        MUST(v->mos_lq_x10 == NET_XR_NA || (v->mos_lq_x10 >= 0 && v->mos_lq_x10 <= 255));
    }
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtcp_remote *m = &c->streams[i].rtcp;
        MUST(!m->reports || m->last_report < c->n_rtcp_reports);
        MUST(m->max_fraction_lost_pct <= 100.0 && (!m->has_rtt || m->rtt_ms <= m->max_rtt_ms));
    }
    for (size_t i = 0; i < c->n_sip; i++) {
        const net_sip_msg *m = &c->sip[i];
        MUST(m->text && m->len <= NET_SIP_MAX && m->call_id && m->from && m->to && m->cseq_method);
        MUST(m->request ? m->method && m->uri : m->status >= 0 && m->status <= 999 && m->reason);
        MUST(!m->body || (m->body >= m->text && m->body + m->body_len == m->text + m->len));
    }
    /* the part an answer holds (answer.c): a capture of its own, every index naming one of its
     * items, what it left out counted; the capture freed first (the view owns its copies) */
    MUST(c->n_dialogs <= lim.max_dialogs && c->n_findings <= lim.max_findings);
    size_t nd = c->n_dialogs, ns = c->n_streams, nm = c->n_sip, focus = nd ? nd - 1 : SIZE_MAX;
    net_capture *v = NULL;
    size_t fv;
    size_t max = 16384; /* small, so that the seeds' lists are cut */
    int vrc = net_capture_view(c, focus, max, &v, &fv);
    net_capture_free(c);
    if (vrc != 0)
        return 0; /* out of memory */
    MUST(v->left_out && v->n_dialogs + v->left_out->dialogs == nd &&
         v->n_streams + v->left_out->streams == ns && v->n_sip + v->left_out->sip == nm);
    MUST(focus == SIZE_MAX ? fv == SIZE_MAX : fv < v->n_dialogs);
    for (size_t d = 0; d < v->n_dialogs; d++) {
        for (size_t k = 0; k < v->dialogs[d].n_msgs; k++)
            MUST(v->dialogs[d].msgs[k] < v->n_sip);
        for (size_t k = 0; k < v->dialogs[d].n_streams; k++)
            MUST(v->dialogs[d].streams[k] < v->n_streams);
    }
    for (size_t i = 0; i < v->n_findings; i++)
        MUST(v->finding_dialog[i] == SIZE_MAX || v->finding_dialog[i] < v->n_dialogs);
    for (size_t i = 0; i < v->n_rtcp_blocks; i++)
        MUST(v->rtcp_blocks[i].stream <= v->n_streams);
    json_t *j = net_capture_json(v, "fuzz", NULL);
    size_t lists = 0; /* the lists within the bound less the rest's share */
    static const char *const keys[] = {"dialogs", "sip", "streams", "findings", "rtcp"};
    for (size_t k = 0; j && k < sizeof(keys) / sizeof(*keys); k++)
        lists += json_dumpb(json_object_get(j, keys[k]), NULL, 0,
                            JSON_COMPACT | JSON_REAL_PRECISION(10));
    MUST(j && lists <= max - net_answer_reserve(max) + 5 * 2);
    json_decref(j);
    net_capture_view_free(v);
    return 0;
}
