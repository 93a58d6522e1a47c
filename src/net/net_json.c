/*
 * net_json.c - a capture as JSON: its streams, SIP messages, dialogs, findings and RTCP reports,
 * under the keys docs/network.md names (`callqa sip --json`, POST /investigate). Strings off the
 * wire that are not UTF-8 have each byte above 0x7f shown as U+FFFD, as Wireshark shows them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "net_int.h"

/* "g711A, telephone-event": the names of a stream's payload types in increasing number, as
 * Wireshark writes them. */
void net_stream_payloads(const net_rtp_stream *s, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned pt = 0; pt < 128 && k < n; pt++)
        for (int i = 0; i < s->n_pts && k < n; i++) {
            if (s->pts[i] != pt)
                continue;
            char dyn[24];
            const char *name = s->pt_names[i];
            if (!name[0]) {
                snprintf(dyn, sizeof(dyn), "RTPType-%u", pt);
                name = dyn;
            }
            k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", name);
        }
}

static json_t *num_or_null(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

/* What the far end reported about a stream (net_rtcp_remote), null when nothing. */
static json_t *remote_json(const net_rtcp_remote *m)
{
    if (!m->reports && !m->xr_reports)
        return json_null();
    json_t *o = json_pack("{s:I,s:I,s:o}", "reports", (json_int_t)m->reports, "xr_reports",
                          (json_int_t)m->xr_reports, "last_report",
                          m->last_report != SIZE_MAX ? json_integer((json_int_t)m->last_report)
                                                     : json_null());
    json_object_set_new(o, "fraction_lost_pct", num_or_null(m->fraction_lost_pct));
    json_object_set_new(o, "max_fraction_lost_pct", num_or_null(m->max_fraction_lost_pct));
    json_object_set_new(o, "cumulative_lost", m->reports ? json_integer(m->cum_lost) : json_null());
    json_object_set_new(o, "jitter_ms", num_or_null(m->jitter_ms));
    json_object_set_new(o, "max_jitter_ms", num_or_null(m->max_jitter_ms));
    json_object_set_new(o, "rtt_ms", m->has_rtt ? json_integer(m->rtt_ms) : json_null());
    json_object_set_new(o, "max_rtt_ms", m->has_rtt ? json_integer(m->max_rtt_ms) : json_null());
    json_object_set_new(o, "mos_lq", num_or_null(m->mos_lq));
    json_object_set_new(o, "mos_cq", num_or_null(m->mos_cq));
    json_object_set_new(o, "min_mos_lq", num_or_null(m->min_mos_lq));
    return o;
}

json_t *net__stream_json(const net_rtp_stream *s)
{
    char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], ssrc[16], pl[160];
    snprintf(ssrc, sizeof(ssrc), "0x%08X", s->ssrc);
    net_stream_payloads(s, pl, sizeof(pl));
    json_t *pts = json_array();
    for (int i = 0; i < s->n_pts; i++)
        json_array_append_new(pts, json_integer(s->pts[i]));
    json_t *o = json_pack("{s:s,s:i,s:s,s:i,s:s,s:o,s:s,s:f,s:f,s:I,s:I,s:I,s:I}", "src",
                          net_addr_str(&s->src, a, sizeof(a)), "src_port", s->sport, "dst",
                          net_addr_str(&s->dst, b, sizeof(b)), "dst_port", s->dport, "ssrc", ssrc,
                          "payload_types", pts, "payload", pl, "start_sec", s->start_sec, "end_sec",
                          s->end_sec, "packets", (json_int_t)s->packets, "expected",
                          (json_int_t)s->expected, "lost", (json_int_t)s->lost, "sequence_errors",
                          (json_int_t)s->seq_errors);
    json_object_set_new(o, "lost_pct",
                        s->expected ? json_real(100.0 * (double)s->lost / (double)s->expected)
                                    : json_null());
    json_object_set_new(o, "min_delta_ms",
                        s->min_delta_ms >= 0 ? json_real(s->min_delta_ms) : json_null());
    json_object_set_new(o, "mean_delta_ms",
                        s->packets > 1 ? json_real(s->mean_delta_ms) : json_null());
    json_object_set_new(o, "max_delta_ms",
                        s->min_delta_ms >= 0 ? json_real(s->max_delta_ms) : json_null());
    json_object_set_new(o, "min_jitter_ms",
                        s->has_jitter ? json_real(s->min_jitter_ms) : json_null());
    json_object_set_new(o, "mean_jitter_ms",
                        s->has_jitter ? json_real(s->mean_jitter_ms) : json_null());
    json_object_set_new(o, "max_jitter_ms",
                        s->has_jitter ? json_real(s->max_jitter_ms) : json_null());
    json_object_set_new(o, "clock_rate", s->clock_rate ? json_integer(s->clock_rate) : json_null());
    json_object_set_new(o, "problem", json_boolean(s->problem));
    json_object_set_new(o, "sdp", json_boolean(s->sdp_bound));
    json_object_set_new(o, "digits", s->digits[0] ? json_string(s->digits) : json_null());
    json_t *lh = json_array(), *dh = json_array();
    for (int i = 0; i < NET_LOSS_BINS; i++)
        json_array_append_new(lh, json_integer(s->loss_hist[i]));
    for (int i = 0; i < NET_DV_BINS; i++)
        json_array_append_new(dh, json_integer(s->dv_hist[i]));
    json_object_set_new(o, "loss_runs", lh);
    json_object_set_new(o, "delay_variation_10ms", dh);
    json_t *q = json_null();
    if (s->has_mos) {
        static const char *const jb[NET_JB_N] = {"fixed_50ms", "fixed_200ms", "adaptive_500ms"};
        json_t *bufs = json_object();
        for (int i = 0; i < NET_JB_N; i++)
            json_object_set_new(bufs, jb[i],
                                json_pack("{s:f,s:f,s:f}", "mos", s->mos[i], "loss_pct",
                                          s->jb_loss_pct[i], "delay_ms", s->jb_delay_ms[i]));
        q = json_pack("{s:s,s:s,s:f,s:f,s:o,s:f,s:f}", "model", "ITU-T G.107 E-model", "codec",
                      s->mos_codec, "network_loss_pct", s->net_loss_pct, "burst_ratio",
                      s->burst_ratio, "jitter_buffers", bufs, "min_mos_10s", s->min_mos_10s,
                      "min_mos_at_sec", s->min_mos_at_sec);
        json_t *iv = json_array();
        for (size_t i = 0; i < s->n_intervals; i++)
            json_array_append_new(
                iv, json_pack("{s:f,s:f,s:f,s:f,s:f}", "start_sec", s->intervals[i].start_sec,
                              "end_sec", s->intervals[i].end_sec, "network_loss_pct",
                              s->intervals[i].net_loss_pct, "loss_pct", s->intervals[i].loss_pct,
                              "mos", s->intervals[i].mos));
        json_object_set_new(q, "intervals_10s", iv);
    }
    json_object_set_new(o, "network_mos", q);
    json_object_set_new(o, "rtcp", remote_json(&s->rtcp));
    return o;
}

/* A string off the wire as JSON: as it is when it is UTF-8, else each byte above 0x7f as
 * U+FFFD (as Wireshark shows it). */
json_t *net_json_wire(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *t = net__wire_copy(s);
    if (!t)
        return json_string("");
    j = json_string(t);
    free(t);
    return j ? j : json_string("");
}

json_t *net__sip_json(const net_sip_msg *m)
{
    char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];
    json_t *o = json_pack("{s:I,s:f,s:s,s:i,s:s,s:i,s:s,s:I,s:I}", "frame", (json_int_t)m->frame,
                          "time_sec", m->rel_sec, "src", net_addr_str(&m->src, a, sizeof(a)),
                          "src_port", m->sport, "dst", net_addr_str(&m->dst, b, sizeof(b)),
                          "dst_port", m->dport, "transport", m->tcp ? "tcp" : "udp", "cseq",
                          (json_int_t)m->cseq, "body_bytes", (json_int_t)m->body_len);
    json_object_set_new(o, "call_id", net_json_wire(m->call_id));
    json_object_set_new(o, "cseq_method", net_json_wire(m->cseq_method));
    json_object_set_new(o, "from", net_json_wire(m->from));
    json_object_set_new(o, "to", net_json_wire(m->to));
    if (m->request) {
        json_object_set_new(o, "method", net_json_wire(m->method));
        json_object_set_new(o, "uri", net_json_wire(m->uri));
    } else {
        json_object_set_new(o, "status", json_integer(m->status));
        json_object_set_new(o, "reason", net_json_wire(m->reason));
    }
    return o;
}

#define METHOD_NAMES_MAX ((size_t)64 << 10) /* bytes of method names in sip_counts */

/* Messages per request method and per status code, retransmissions included, of the whole
 * capture (a view's too). The methods are named within METHOD_NAMES_MAX bytes (a status code has
 * three digits: there are at most 1,000): the requests of further methods are counted in *unnamed
 * and under no name. */
json_t *net__sip_counts(const net_capture *c, uint64_t *unnamed)
{
    json_t *methods = json_object(), *codes = json_object();
    size_t names = 0;
    for (size_t i = 0; i < c->n_sip; i++) {
        const net_sip_msg *m = &c->sip[i];
        char key[16];
        const char *k = m->method;
        if (!m->request) {
            snprintf(key, sizeof(key), "%d", m->status);
            k = key;
        }
        json_t *obj = m->request ? methods : codes, *name = net_json_wire(k);
        const char *kk = json_string_value(name);
        json_t *was = json_object_get(obj, kk);
        if (!was && m->request && names + strlen(kk) > METHOD_NAMES_MAX) {
            (*unnamed)++;
            json_decref(name);
            continue;
        }
        names += was || !m->request ? 0 : strlen(kk);
        json_object_set_new(obj, kk, json_integer(json_integer_value(was) + 1));
        json_decref(name);
    }
    return json_pack("{s:I,s:o,s:o}", "messages", (json_int_t)c->n_sip, "requests", methods,
                     "responses", codes);
}

static json_t *sdp_json(const net_sdp *sd)
{
    if (!sd->present)
        return json_null();
    char a[NET_ADDR_STRLEN] = "";
    json_t *codecs = json_array();
    for (int i = 0; i < sd->n_pts; i++)
        json_array_append_new(codecs,
                              json_pack("{s:i,s:o,s:o}", "pt", sd->pts[i], "name",
                                        net_json_wire(sd->names[i]), "rate",
                                        sd->rates[i] ? json_integer(sd->rates[i]) : json_null()));
    json_t *o = json_pack(
        "{s:o,s:i,s:o,s:o,s:o,s:s}", "address",
        sd->addr.family ? json_string(net_addr_str(&sd->addr, a, sizeof(a))) : json_null(), "port",
        sd->port, "proto", net_json_wire(sd->proto), "codecs", codecs, "ptime",
        sd->ptime ? json_integer(sd->ptime) : json_null(), "direction", sd->direction);
    json_object_set_new(o, "private", json_boolean(sd->addr.family && net_addr_private(&sd->addr)));
    return o;
}

json_t *net__dialog_json(const net_sip_dialog *d)
{
    static const char *const hang[] = {NULL, "caller", "callee", "rejected"};
    char a[NET_ADDR_STRLEN + 8], b[NET_ADDR_STRLEN + 8], t[NET_ADDR_STRLEN];
    snprintf(a, sizeof(a), "%s:%u", net_addr_str(&d->caller, t, sizeof(t)), d->caller_port);
    snprintf(b, sizeof(b), "%s:%u", net_addr_str(&d->callee, t, sizeof(t)), d->callee_port);
    json_t *msgs = json_array();
    for (size_t i = 0; i < d->n_msgs; i++)
        json_array_append_new(msgs, json_integer((json_int_t)d->msgs[i]));
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:s,s:s,s:f,s:f,s:o,s:o,s:o}", "call_id",
                          net_json_wire(d->call_id), "method", net_json_wire(d->method), "from",
                          net_json_wire(d->from), "to", net_json_wire(d->to), "caller", a, "callee",
                          b, "start_sec", d->start_sec, "end_sec", d->end_sec, "pdd_sec",
                          num_or_null(d->pdd_sec), "answer_sec", num_or_null(d->answer_sec),
                          "talk_sec", num_or_null(d->talk_sec));
    json_object_set_new(o, "final_status",
                        d->final_status ? json_integer(d->final_status) : json_null());
    json_object_set_new(o, "final_reason",
                        d->final_reason ? net_json_wire(d->final_reason) : json_null());
    json_object_set_new(o, "hangup", hang[d->hangup] ? json_string(hang[d->hangup]) : json_null());
    json_object_set_new(o, "cancelled", json_boolean(d->cancelled));
    json_object_set_new(o, "q850_cause",
                        d->q850_cause >= 0 ? json_integer(d->q850_cause) : json_null());
    json_object_set_new(o, "reason_text",
                        d->reason_text[0] ? net_json_wire(d->reason_text) : json_null());
    json_object_set_new(o, "challenges", json_integer(d->challenges));
    json_object_set_new(o, "retransmissions", json_integer(d->retransmissions));
    json_object_set_new(o, "ack_missing", json_boolean(d->ack_missing));
    json_object_set_new(o, "on_hold", json_boolean(d->on_hold));
    json_object_set_new(o, "resumed", json_boolean(d->resumed));
    json_object_set_new(o, "offer", sdp_json(&d->offer));
    json_object_set_new(o, "answer", sdp_json(&d->answer));
    json_object_set_new(o, "info_digits",
                        d->info_digits[0] ? json_string(d->info_digits) : json_null());
    /* the call it is a leg of (net_legs.c): the same call_ref on each of its legs */
    char ref[24];
    snprintf(ref, sizeof(ref), "%016llx", (unsigned long long)d->call_ref);
    json_object_set_new(o, "call_ref", d->call_ref ? json_string(ref) : json_null());
    json_object_set_new(o, "leg", d->call_ref ? json_integer(d->leg) : json_null());
    json_object_set_new(o, "legs", d->call_ref ? json_integer(d->n_legs) : json_null());
    json_object_set_new(o, "linked_by", d->linked_by ? json_string(d->linked_by) : json_null());
    json_object_set_new(o, "link_detail",
                        d->linked_by ? net_json_wire(d->link_detail) : json_null());
    json_object_set_new(o, "messages", msgs);
    json_t *st = json_array();
    for (size_t i = 0; i < d->n_streams; i++)
        json_array_append_new(st, json_integer((json_int_t)d->streams[i]));
    json_object_set_new(o, "streams", st);
    return o;
}

/* ---- RTCP ---------------------------------------------------------------------------------- */

static json_t *ssrc_json(uint32_t ssrc)
{
    char b[16];
    snprintf(b, sizeof(b), "0x%08X", ssrc);
    return json_string(b);
}

static json_t *stream_ref(size_t stream)
{
    return stream ? json_integer((json_int_t)(stream - 1)) : json_null();
}

/* An RFC 3611 4.7 field that may be unavailable (127), scaled. */
static json_t *xr_val(int16_t v, double scale)
{
    if (v == NET_XR_NA)
        return json_null();
    return scale == 1 ? json_integer(v) : json_real(v * scale);
}

static json_t *block_json(const net_rtcp_block *b)
{
    json_t *o = json_pack("{s:o,s:o,s:i,s:f,s:i,s:I,s:I}", "ssrc", ssrc_json(b->ssrc), "stream",
                          stream_ref(b->stream), "fraction_lost", b->fraction_lost,
                          "fraction_lost_pct", 100.0 * b->fraction_lost / 256.0, "cumulative_lost",
                          b->cum_lost, "extended_highest_seq", (json_int_t)b->ext_high_seq,
                          "jitter", (json_int_t)b->jitter);
    json_object_set_new(o, "jitter_ms", num_or_null(b->jitter_ms));
    json_object_set_new(o, "lsr", json_integer(b->lsr));
    json_object_set_new(o, "dlsr", json_integer(b->dlsr));
    json_object_set_new(o, "dlsr_sec", json_real(b->dlsr / 65536.0));
    json_object_set_new(o, "rtt_ms", b->has_rtt ? json_integer(b->rtt_ms) : json_null());
    json_object_set_new(o, "rtt_sr_frame",
                        b->has_rtt ? json_integer((json_int_t)b->rtt_sr_frame) : json_null());
    return o;
}

static json_t *voip_json(const net_rtcp_voip *v)
{
    static const char *const plc[] = {"unspecified", "disabled", "enhanced", "standard"};
    static const char *const jba[] = {"unknown", "reserved", "non-adaptive", "adaptive"};
    json_t *o = json_pack(
        "{s:o,s:o,s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i}", "ssrc", ssrc_json(v->ssrc), "stream",
        stream_ref(v->stream), "loss_rate_pct", 100.0 * v->loss_rate / 256.0, "discard_rate_pct",
        100.0 * v->discard_rate / 256.0, "burst_density_pct", 100.0 * v->burst_density / 256.0,
        "gap_density_pct", 100.0 * v->gap_density / 256.0, "burst_duration_ms", v->burst_ms,
        "gap_duration_ms", v->gap_ms, "round_trip_delay_ms", v->round_trip_ms,
        "end_system_delay_ms", v->end_system_ms);
    json_object_set_new(o, "signal_level_dbm", xr_val(v->signal_dbm, 1));
    json_object_set_new(o, "noise_level_dbm", xr_val(v->noise_dbm, 1));
    json_object_set_new(o, "rerl_db", xr_val(v->rerl_db, 1));
    json_object_set_new(o, "gmin", json_integer(v->gmin));
    json_object_set_new(o, "r_factor", xr_val(v->r_factor, 1));
    json_object_set_new(o, "ext_r_factor", xr_val(v->ext_r_factor, 1));
    json_object_set_new(o, "mos_lq", xr_val(v->mos_lq_x10, 0.1));
    json_object_set_new(o, "mos_cq", xr_val(v->mos_cq_x10, 0.1));
    json_object_set_new(o, "plc", json_string(plc[v->plc & 3]));
    json_object_set_new(o, "jba", json_string(jba[v->jba & 3]));
    json_object_set_new(o, "jb_rate", json_integer(v->jb_rate));
    json_object_set_new(o, "jb_nominal_ms", json_integer(v->jb_nominal_ms));
    json_object_set_new(o, "jb_max_ms", json_integer(v->jb_max_ms));
    json_object_set_new(o, "jb_abs_max_ms", json_integer(v->jb_abs_max_ms));
    return o;
}

json_t *net__report_json(const net_capture *c, const net_rtcp_report *r)
{
    static const char *const how[] = {"sdp", "rtcp-mux", "heuristic"};
    char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];
    json_t *o = json_pack("{s:I,s:f,s:s,s:i,s:s,s:i,s:s,s:o,s:s}", "frame", (json_int_t)r->frame,
                          "time_sec", r->rel_sec, "src", net_addr_str(&r->src, a, sizeof(a)),
                          "src_port", r->sport, "dst", net_addr_str(&r->dst, b, sizeof(b)),
                          "dst_port", r->dport, "type",
                          r->type == 200   ? "SR"
                          : r->type == 201 ? "RR"
                                           : "XR",
                          "ssrc", ssrc_json(r->ssrc), "found_by", how[r->how]);
    json_object_set_new(o, "cname", r->cname[0] ? json_string(r->cname) : json_null());
    json_t *snd = json_null();
    if (r->type == 200)
        snd = json_pack("{s:I,s:I,s:f,s:I,s:I,s:I}", "ntp_msw", (json_int_t)r->ntp_msw, "ntp_lsw",
                        (json_int_t)r->ntp_lsw, "ntp_sec",
                        (double)r->ntp_msw + r->ntp_lsw / 4294967296.0, "rtp_timestamp",
                        (json_int_t)r->rtp_ts, "packets", (json_int_t)r->sender_packets, "octets",
                        (json_int_t)r->sender_octets);
    json_object_set_new(o, "sender", snd);
    json_t *blocks = json_array(), *voip = json_array();
    for (size_t k = 0; k < r->n_blocks; k++)
        json_array_append_new(blocks, block_json(&c->rtcp_blocks[r->first_block + k]));
    for (size_t k = 0; k < r->n_voip; k++)
        json_array_append_new(voip, voip_json(&c->rtcp_voip[r->first_voip + k]));
    json_object_set_new(o, "blocks", blocks);
    json_object_set_new(o, "voip_metrics", voip);
    return o;
}

/* Finding i in the report's shape (cq_findings_to_json), with its dialog's Call-ID; NULL out of
 * memory. */
json_t *net__finding_json(const net_capture *c, size_t i)
{
    char *s = cq_findings_to_json(&c->findings[i], 1);
    json_t *a = s ? json_loads(s, 0, NULL) : NULL;
    cq_report_free_string(s);
    json_t *f = json_incref(json_array_get(a, 0));
    json_decref(a);
    if (f)
        json_object_set_new(f, "call_id",
                            c->finding_dialog[i] < c->n_dialogs
                                ? net_json_wire(c->dialogs[c->finding_dialog[i]].call_id)
                                : json_null());
    return f;
}

/* The findings, each with its dialog's Call-ID. */
static json_t *findings_json(const net_capture *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_findings; i++) {
        json_t *f = net__finding_json(c, i);
        if (f)
            json_array_append_new(a, f);
    }
    return a;
}

json_t *net_capture_json(const net_capture *c, const char *file, const char *warning)
{
    json_t *streams = json_array();
    for (size_t i = 0; i < c->n_streams; i++)
        json_array_append_new(streams, net__stream_json(&c->streams[i]));
    json_t *sip = json_array();
    for (size_t i = 0; i < c->n_sip; i++)
        json_array_append_new(sip, net__sip_json(&c->sip[i]));
    json_t *o = json_pack(
        "{s:s,s:i,s:I,s:I,s:f,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b},s:o}", "file", file,
        "linktype", c->linktype, "packets", (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
        "duration_sec", c->packets ? c->last_ts - c->first_ts : 0.0, "counts", "udp",
        (json_int_t)c->udp, "tcp", (json_int_t)c->tcp, "not_ip", (json_int_t)c->not_ip, "truncated",
        (json_int_t)c->truncated, "fragments", (json_int_t)c->fragments, "reassembled",
        (json_int_t)c->reassembled, "fragments_dropped", (json_int_t)c->frag_dropped,
        "streams_dropped", (json_int_t)c->streams_dropped, "cut", c->cut, "streams", streams);
    json_t *counts = json_object_get(o, "counts");
    json_object_set_new(counts, "not_rtp_flows", json_integer((json_int_t)c->not_rtp_flows));
    json_object_set_new(counts, "not_rtp_packets", json_integer((json_int_t)c->not_rtp_packets));
    json_object_set_new(counts, "tunnelled", json_integer((json_int_t)c->tunnelled));
    json_object_set_new(counts, "hep", json_integer((json_int_t)c->hep));
    json_object_set_new(counts, "hep_bad", json_integer((json_int_t)c->hep_bad));
    json_object_set_new(counts, "hep_unread", json_integer((json_int_t)c->hep_unread));
    json_object_set_new(o, "warning", warning && *warning ? json_string(warning) : json_null());
    json_object_set_new(o, "sip", sip);
    json_t *dialogs = json_array();
    for (size_t i = 0; i < c->n_dialogs; i++)
        json_array_append_new(dialogs, net__dialog_json(&c->dialogs[i]));
    json_object_set_new(o, "dialogs", dialogs);
    json_object_set_new(o, "findings", findings_json(c));
    uint64_t unnamed = 0; /* a view holds its capture's */
    json_object_set_new(o, "sip_counts",
                        c->sip_counts ? json_incref(c->sip_counts) : net__sip_counts(c, &unnamed));
    json_object_set_new(o, "truncated", net_cut_json(c->left_out));
    json_object_set_new(json_object_get(o, "counts"), "sip_dropped",
                        json_integer((json_int_t)c->sip_dropped));
    json_object_set_new(json_object_get(o, "counts"), "tcp_gaps",
                        json_integer((json_int_t)c->tcp_gaps));
    json_object_set_new(json_object_get(o, "counts"), "rtcp", json_integer((json_int_t)c->rtcp));
    json_object_set_new(json_object_get(o, "counts"), "rtcp_bad",
                        json_integer((json_int_t)c->rtcp_bad));
    json_object_set_new(json_object_get(o, "counts"), "rtcp_dropped",
                        json_integer((json_int_t)c->rtcp_dropped));
    static const char *const dropped[] = {"dialogs_dropped", "dialog_messages_dropped",
                                          "dialog_streams_dropped", "findings_dropped"};
    const uint64_t n_dropped[] = {c->dialogs_dropped, c->dialog_msgs_dropped,
                                  c->dialog_streams_dropped, c->findings_dropped};
    for (size_t k = 0; k < sizeof(dropped) / sizeof(*dropped); k++)
        json_object_set_new(json_object_get(o, "counts"), dropped[k],
                            json_integer((json_int_t)n_dropped[k]));
    json_t *rtcp = json_array();
    for (size_t i = 0; i < c->n_rtcp_reports; i++)
        json_array_append_new(rtcp, net__report_json(c, &c->rtcp_reports[i]));
    json_object_set_new(o, "rtcp", rtcp);
    return o;
}

json_t *net_cut_json(const net_cut *t)
{
    if (!t)
        return json_null();
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "max_bytes", (json_int_t)t->max_bytes,
        "dialogs", (json_int_t)t->dialogs, "sip", (json_int_t)t->sip, "streams",
        (json_int_t)t->streams, "findings", (json_int_t)t->findings, "rtcp_reports",
        (json_int_t)t->rtcp_reports, "dialog_messages", (json_int_t)t->dialog_messages,
        "dialog_streams", (json_int_t)t->dialog_streams, "sip_methods", (json_int_t)t->sip_methods,
        "windows", (json_int_t)t->windows, "status_bytes", (json_int_t)t->status_bytes);
}
