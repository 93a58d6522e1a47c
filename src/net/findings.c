/*
 * findings.c - what a capture's dialogs say went wrong (or right), as findings in the report's
 * shape (cq_finding: code, severity, message, values, evidence), each message built from the
 * dialog's facts (dialog.c) and each evidence a SIP message: its time and "frame N: <first
 * line>"; and what RTCP's receivers reported (loss, round trip, XR MOS), each evidence the
 * report's frame. The codes are stable and listed in docs/network.md; the thresholds are here,
 * named. The memory is this room's (malloc), freed by net_capture_free, never by cq_finding_clear.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

#define NET_SLOW_PDD_SEC 5.0 /* post-dial delay above this is slow (ITU-T E.721's 5-8 s) */
#define NET_AUTH_LOOP 3      /* challenges without a success: an authentication loop */
/* A stream's network loss, as RTCP's below: 3 % costs G.711 with concealment about 10 points of
 * R (G.113 Appendix I, Bpl 25.1), 10 % about 27 (R near 66: "many users dissatisfied"). */
#define NET_LOSS_MINOR_PCT 3.0
#define NET_LOSS_MAJOR_PCT 10.0
/* The network MOS behind the adaptive jitter buffer: G.107 Annex B puts
 * R 70 (MOS 3.6) at "some users dissatisfied" and R 60 (MOS 3.1) at "many". */
#define NET_MOS_MINOR 3.6
#define NET_MOS_MAJOR 3.1
/* RFC 3550 jitter: 30 ms is the usual planning ceiling (a 50-60 ms buffer absorbs it); 100 ms
 * outlasts most phones' adaptive buffers. */
#define NET_JITTER_MINOR_MS 30.0
#define NET_JITTER_MAJOR_MS 100.0
/* An answered call talks this long before missing media is said */
#define NET_MEDIA_MIN_TALK_SEC 2.0
#define NET_MEDIA_MIN_PACKETS 10 /* a stream with fewer does not carry a direction's voice */
/* RTCP (docs/network/sip.md "Findings" gives the reasons): a receiver's report of loss above 3 %
 * (G.711 with concealment, G.113 Appendix I's Bpl 25.1: about 10 points of R), above 10 %
 * major (about 27 points: R near 66, "many users dissatisfied" in G.109); a round trip above
 * 300 ms (G.114's 150 ms one-way, both ways), above 800 ms major (G.114's 400 ms one-way, past
 * which planning is unacceptable); an XR MOS-LQ below 3.6 (R 70 by G.107 Annex B, the lower
 * bound of "satisfied"), below 3.1 major (R 60). */
#define NET_RTCP_LOSS_PCT 3.0
#define NET_RTCP_LOSS_MAJOR_PCT 10.0
#define NET_RTCP_RTT_MS 300
#define NET_RTCP_RTT_MAJOR_MS 800
#define NET_XR_MOS_LQ 3.6
#define NET_XR_MOS_LQ_MAJOR 3.1

typedef struct builder {
    net_capture *c;
    const net_sip_dialog *d;
    size_t max; /* findings kept in all (net_limits.max_findings) */
} builder;

/* A message, figure or value that carries text off the wire (a reason phrase, a SIP message's
 * first line) stays a JSON string: when it is not UTF-8, each byte above 0x7f becomes U+FFFD,
 * as net_json_wire shows such a string (a string JSON cannot hold was written as null, and the
 * explanation built from the messages with it). s is freed when replaced; NULL on no memory. */
static char *wire_text(char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    if (j || !s) {
        json_decref(j);
        return s;
    }
    char *t = net__wire_copy(s);
    free(s);
    return t;
}

cq_finding *net__finding_vadd(net_flist *l, size_t dialog, const char *code, cq_severity sev,
                              const char *fmt, va_list ap)
{
    if (*l->n >= l->max) {
        if (l->dropped)
            (*l->dropped)++;
        return NULL;
    }
    if (*l->n % 16 == 0) {
        cq_finding *nf = realloc(*l->items, (*l->n + 16) * sizeof(*nf));
        if (!nf)
            return NULL;
        *l->items = nf;
        size_t *nd = realloc(*l->dialog, (*l->n + 16) * sizeof(*nd));
        if (!nd)
            return NULL;
        *l->dialog = nd;
    }
    cq_finding *f = &(*l->items)[*l->n];
    memset(f, 0, sizeof(*f));
    if (vasprintf(&f->message, fmt, ap) < 0)
        f->message = NULL;
    if (!(f->message = wire_text(f->message)))
        return NULL;
    f->code = code;
    f->severity = sev;
    (*l->dialog)[(*l->n)++] = dialog;
    return f;
}

cq_finding *net__finding_add(net_flist *l, size_t dialog, const char *code, cq_severity sev,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cq_finding *f = net__finding_vadd(l, dialog, code, sev, fmt, ap);
    va_end(ap);
    return f;
}

static cq_finding *add(builder *b, const char *code, cq_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cq_finding *add(builder *b, const char *code, cq_severity sev, const char *fmt, ...)
{
    net_capture *c = b->c;
    net_flist l = {&c->findings, &c->n_findings, &c->finding_dialog, b->max, &c->findings_dropped};
    va_list ap;
    va_start(ap, fmt);
    cq_finding *f =
        net__finding_vadd(&l, b->d ? (size_t)(b->d - c->dialogs) : SIZE_MAX, code, sev, fmt, ap);
    va_end(ap);
    return f;
}

void net__finding_value(cq_finding *f, cq_value v)
{
    if (!f)
        return;
    cq_value *nv = realloc(f->values, (f->n_values + 1) * sizeof(*nv));
    if (!nv)
        return;
    f->values = nv;
    if (v.type == CQ_VAL_STRING && !(v.str = wire_text(strdup(v.str ? v.str : ""))))
        v.type = CQ_VAL_NULL;
    f->values[f->n_values++] = v;
}

void net__finding_figure(cq_finding *f, double start, double end, const char *fmt, ...)
{
    char *fig = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (!f || vasprintf(&fig, fmt, ap) < 0)
        fig = NULL;
    va_end(ap);
    if (!(fig = wire_text(fig)))
        return;
    cq_finding_evidence *ne = realloc(f->evidence, (f->n_evidence + 1) * sizeof(*ne));
    if (!ne) {
        free(fig);
        return;
    }
    f->evidence = ne;
    f->evidence[f->n_evidence++] =
        (cq_finding_evidence){.start_sec = start, .end_sec = end, .figure = fig};
}

/* The evidence of a SIP message: its time, and "frame N: <its first line>". */
static void evidence(cq_finding *f, const net_sip_msg *m)
{
    if (!f || !m)
        return;
    const char *eol = strpbrk(m->text, "\r\n");
    int k = eol ? (int)(eol - m->text) : (int)strlen(m->text);
    net__finding_figure(f, m->rel_sec, m->rel_sec, "frame %llu: %.*s", (unsigned long long)m->frame,
                        k > 200 ? 200 : k, m->text);
}

/* The first message of the dialog that matches: a request of `method`, or a response of
 * `status` (0: any final failure >= 300) to it. */
static const net_sip_msg *find(const net_capture *c, const net_sip_dialog *d, const char *method,
                               int status)
{
    for (size_t i = 0; i < d->n_msgs; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        if (!status && method && m->request && !strcmp(m->method, method))
            return m;
        if (status && !m->request && (status < 0 ? m->status >= 300 : m->status == status))
            return m;
    }
    return NULL;
}

static const char *final_code(int st)
{
    switch (st) {
    case 486:
    case 600: return "sip_busy";
    case 487: return "sip_cancelled";
    case 408: return "sip_timeout";
    case 503: return "sip_service_unavailable";
    case 488:
    case 606: return "sip_codec_mismatch";
    case 404:
    case 604: return "sip_not_found";
    case 480: return "sip_unavailable";
    case 603: return "sip_declined";
    case 489: return "sip_bad_event";
    case 401:
    case 407: return "sip_auth_failed";
    default: return st >= 500 && st < 600 ? "sip_server_error" : "sip_rejected";
    }
}

static cq_severity final_severity(int st)
{
    switch (st) {
    case 486:
    case 600:
    case 603:
    case 480:
    case 404:
    case 604: return CQ_SEV_MINOR; /* the far end's answer, not a fault of the path */
    case 487:
    case 489: return CQ_SEV_INFO;
    default: return CQ_SEV_MAJOR;
    }
}

static void codecs_of(const net_sdp *s, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < s->n_pts && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "",
                              s->names[i][0] ? s->names[i] : "?");
}

static void dialog_findings(net_capture *c, const net_sip_dialog *d, size_t max)
{
    builder b = {c, d, max};
    bool invite = !strcmp(d->method, "INVITE");
    char who[160], cause[140] = "";
    snprintf(who, sizeof(who), "%s %s", d->method, d->call_id);
    if (d->q850_cause >= 0)
        snprintf(cause, sizeof(cause), " (Q.850 cause %d: %s)", d->q850_cause, d->reason_text);
    char talk[40] = "";
    if (d->talk_sec >= 0)
        snprintf(talk, sizeof(talk), " after %.1f s", d->talk_sec);
    if (d->challenges) {
        cq_finding *f =
            add(&b, "sip_auth_challenge", CQ_SEV_INFO,
                "%s was challenged for credentials %d time%s (401/407)%s", who, d->challenges,
                d->challenges == 1 ? "" : "s",
                d->final_status >= 200 && d->final_status < 300 ? ", then accepted" : "");
        net__finding_value(f, CQ_VINT("challenges", d->challenges));
        for (size_t i = 0; i < d->n_msgs; i++) {
            const net_sip_msg *m = &c->sip[d->msgs[i]];
            if (!m->request && (m->status == 401 || m->status == 407))
                evidence(f, m);
        }
        if (d->challenges >= NET_AUTH_LOOP && (d->final_status < 200 || d->final_status >= 300)) {
            f = add(&b, "sip_auth_loop", CQ_SEV_MAJOR,
                    "%s was challenged %d times and never accepted: the credentials are wrong, "
                    "or the realm or nonce does not match",
                    who, d->challenges);
            net__finding_value(f, CQ_VINT("challenges", d->challenges));
            evidence(f, find(c, d, NULL, d->final_status));
        }
    }
    if (d->final_status >= 300) {
        const char *code = final_code(d->final_status);
        cq_finding *f;
        if (!strcmp(code, "sip_codec_mismatch")) {
            char offered[200];
            codecs_of(&d->offer, offered, sizeof(offered));
            f = add(&b, code, final_severity(d->final_status),
                    "%s was refused with %d %s: no codec in common (offered: %s)", who,
                    d->final_status, d->final_reason ? d->final_reason : "",
                    offered[0] ? offered : "none");
            net__finding_value(f, CQ_VSTR("offered", offered));
        } else if (!strcmp(code, "sip_cancelled")) {
            f = NULL; /* said once below, with the CANCEL */
        } else {
            f = add(&b, code, final_severity(d->final_status), "%s ended with %d %s%s", who,
                    d->final_status, d->final_reason ? d->final_reason : "", cause);
        }
        if (f) {
            net__finding_value(f, CQ_VINT("status", d->final_status));
            if (d->q850_cause >= 0)
                net__finding_value(f, CQ_VINT("q850_cause", d->q850_cause));
            evidence(f, find(c, d, NULL, d->final_status));
        }
    }
    if (d->cancelled || d->final_status == 487) {
        const net_sip_msg *cm = find(c, d, "CANCEL", 0);
        cq_finding *f = add(&b, "sip_cancelled", CQ_SEV_INFO,
                            d->answer_sec >= 0 && d->cancelled
                                ? "%s: a CANCEL ended a pending INVITE (another branch answered)"
                                : "%s was cancelled by the caller before it was answered",
                            who);
        if (cm && d->pdd_sec >= 0)
            net__finding_value(f, CQ_VNUM("ring_sec", cm->rel_sec - d->start_sec - d->pdd_sec, 3));
        evidence(f, cm);
        evidence(f, find(c, d, NULL, 487));
    }
    if (invite && d->pdd_sec > NET_SLOW_PDD_SEC) {
        cq_finding *f = add(&b, "sip_slow_pdd", CQ_SEV_MINOR,
                            "%s: %.1f s from the INVITE to the first ringing (post-dial delay)",
                            who, d->pdd_sec);
        net__finding_value(f, CQ_VNUM("pdd_sec", d->pdd_sec, 3));
        evidence(f, find(c, d, "INVITE", 0));
    }
    if (d->ack_missing) {
        cq_finding *f = add(&b, "sip_ack_missing", CQ_SEV_MAJOR,
                            "%s: a 2xx answer was never acknowledged (no ACK): the callee stops "
                            "resending it after 32 s and ends the call",
                            who);
        for (size_t i = 0; i < d->n_msgs; i++) {
            const net_sip_msg *m = &c->sip[d->msgs[i]];
            if (!m->request && m->status >= 200 && m->status < 300 &&
                !strcmp(m->cseq_method, "INVITE")) {
                evidence(f, m);
                break;
            }
        }
    }
    if (d->on_hold) {
        cq_finding *f = add(&b, "sip_hold", CQ_SEV_INFO, "%s: a re-INVITE put the call on hold%s",
                            who, d->resumed ? ", and a later one resumed it" : "");
        net__finding_value(f, CQ_VBOOL("resumed", d->resumed));
        for (size_t i = 0; i < d->n_msgs; i++) {
            const net_sip_msg *m = &c->sip[d->msgs[i]];
            if (m->request && !strcmp(m->method, "INVITE") && strcasestr(m->to, ";tag="))
                evidence(f, m);
        }
    }
    /* SDP that points media at a private address, arriving from a public one: a NAT rewrote the
     * packet's addresses but not the SDP (captured inside the NAT, an ALG or a media relay may
     * still fix it: not said) */
    for (size_t i = 0; i < d->n_msgs; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        net_sdp s;
        if (!m->body || !net_sdp_parse(m->body, m->body_len, &s) || s.hold_addr || !s.addr.family ||
            !net_addr_private(&s.addr) || net_addr_private(&m->src))
            continue;
        char a[NET_ADDR_STRLEN], from[NET_ADDR_STRLEN];
        cq_finding *f = add(&b, "sdp_private_address", CQ_SEV_MAJOR,
                            "%s: the SDP sent from %s points media at the private address %s:%u; "
                            "across a public network, audio sent there is lost (one-way audio "
                            "risk: NAT without SIP ALG or media relay)",
                            who, net_addr_str(&m->src, from, sizeof(from)),
                            net_addr_str(&s.addr, a, sizeof(a)), s.port);
        net__finding_value(f, CQ_VSTR("address", a));
        net__finding_value(f, CQ_VINT("port", s.port));
        evidence(f, m);
        break;
    }
    if (d->retransmissions) {
        cq_finding *f = add(&b, "sip_retransmissions", CQ_SEV_MINOR,
                            "%s: %d message%s sent again (a lost packet, or a peer slow to "
                            "answer)",
                            who, d->retransmissions, d->retransmissions == 1 ? " was" : "s were");
        net__finding_value(f, CQ_VINT("retransmissions", d->retransmissions));
    }
    if (d->mirrored) {
        cq_finding *f = add(&b, "sip_mirrored", CQ_SEV_INFO,
                            "%s: %d message%s captured twice within 50 ms, the same bytes (a "
                            "Max-Forwards one less aside): a tracer's mirror (Kamailio's "
                            "siptrace, say), not %s sent again",
                            who, d->mirrored, d->mirrored == 1 ? " was" : "s were",
                            d->mirrored == 1 ? "a message" : "messages");
        net__finding_value(f, CQ_VINT("mirrored", d->mirrored));
    }
    if (d->info_digits[0]) {
        cq_finding *f = add(&b, "sip_info_dtmf", CQ_SEV_INFO, "%s: DTMF sent in SIP INFO: %s", who,
                            d->info_digits);
        net__finding_value(f, CQ_VSTR("digits", d->info_digits));
        for (size_t i = 0; i < d->n_msgs; i++) {
            const net_sip_msg *m = &c->sip[d->msgs[i]];
            if (m->request && !strcmp(m->method, "INFO"))
                evidence(f, m);
        }
    }
    bool caller = d->hangup == NET_HANGUP_CALLER && !d->cancelled;
    if (invite && (caller || d->hangup == NET_HANGUP_CALLEE)) {
        const char *by = caller ? "caller" : "callee";
        cq_finding *f =
            add(&b, "sip_hangup", CQ_SEV_INFO, "%s: the %s hung up%s%s", who, by, talk, cause);
        net__finding_value(f, CQ_VSTR("by", by));
        net__finding_value(f, d->talk_sec >= 0
                                  ? CQ_VNUM("talk_sec", d->talk_sec, 3)
                                  : (cq_value){.key = "talk_sec", .type = CQ_VAL_NULL});
        evidence(f, find(c, d, "BYE", 0));
    }
}

/* The evidence of a stream: its span, and "stream N 0xSSRC a:p -> b:p" (N its index in the
 * capture's streams, as the JSON lists them). */
void net__stream_evidence(cq_finding *f, const net_capture *c, const net_rtp_stream *s)
{
    char a[NET_ADDR_STRLEN], d[NET_ADDR_STRLEN];
    net__finding_figure(f, s->start_sec, s->end_sec, "stream %zu 0x%08X %s:%u -> %s:%u",
                        (size_t)(s - c->streams), s->ssrc, net_addr_str(&s->src, a, sizeof(a)),
                        s->sport, net_addr_str(&s->dst, d, sizeof(d)), s->dport);
}

/* "10.0.0.1:4000 -> 10.0.0.2:5000" of a stream, into buf. */
static const char *stream_path(const net_rtp_stream *s, char *buf, size_t n)
{
    char a[NET_ADDR_STRLEN], d[NET_ADDR_STRLEN];
    snprintf(buf, n, "%s:%u -> %s:%u", net_addr_str(&s->src, a, sizeof(a)), s->sport,
             net_addr_str(&s->dst, d, sizeof(d)), s->dport);
    return buf;
}

/* What the network did to each stream: DTMF as RFC 4733 events, loss, jitter, the network MOS. */
/* The dialog of each stream (the first whose SDP names it), or NULL: owner[i] for stream i. */
static const net_sip_dialog *dialog_of_stream(const net_capture *c, const size_t *owner, size_t i)
{
    return owner && owner[i] < c->n_dialogs ? &c->dialogs[owner[i]] : NULL;
}

static void stream_findings(net_capture *c, const size_t *owner, size_t max)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        builder b = {c, dialog_of_stream(c, owner, i), max}; /* its call's, when an SDP names it */
        char path[2 * NET_ADDR_STRLEN + 20];
        stream_path(s, path, sizeof(path));
        if (s->digits[0]) {
            cq_finding *f = add(&b, "rtp_dtmf", CQ_SEV_INFO,
                                "DTMF sent as RFC 4733 telephone events from %s (SSRC 0x%08X): %s",
                                path, s->ssrc, s->digits);
            net__finding_value(f, CQ_VSTR("digits", s->digits));
            net__stream_evidence(f, c, s);
        }
        if (s->packets < NET_MEDIA_MIN_PACKETS)
            continue;
        double loss = s->has_mos        ? s->net_loss_pct
                      : s->expected > 0 ? 100.0 * (double)s->lost / (double)s->expected
                                        : 0;
        if (loss >= NET_LOSS_MINOR_PCT) {
            cq_finding *f =
                add(&b, "rtp_loss", loss >= NET_LOSS_MAJOR_PCT ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                    "%.1f %% of the RTP packets from %s were lost in the network (%lld of %lld)",
                    loss, path, (long long)s->lost, (long long)s->expected);
            net__finding_value(f, CQ_VNUM("loss_pct", loss, 2));
            net__finding_value(f, CQ_VINT("lost", s->lost));
            net__finding_value(f, CQ_VINT("expected", s->expected));
            if (s->has_mos)
                net__finding_value(f, CQ_VNUM("burst_ratio", s->burst_ratio, 2));
            net__stream_evidence(f, c, s);
        }
        if (s->has_jitter && s->max_jitter_ms >= NET_JITTER_MINOR_MS) {
            cq_finding *f = add(
                &b, "rtp_jitter",
                s->max_jitter_ms >= NET_JITTER_MAJOR_MS ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                "RTP from %s: jitter up to %.1f ms (mean %.1f ms), more than a %s jitter buffer "
                "absorbs",
                path, s->max_jitter_ms, s->mean_jitter_ms,
                s->max_jitter_ms >= NET_JITTER_MAJOR_MS ? "phone's adaptive" : "50 ms");
            net__finding_value(f, CQ_VNUM("max_jitter_ms", s->max_jitter_ms, 2));
            net__finding_value(f, CQ_VNUM("mean_jitter_ms", s->mean_jitter_ms, 2));
            net__stream_evidence(f, c, s);
        }
        /* behind the adaptive buffer, as a phone plays it (the fixed 50 ms buffer's 10 s
         * figures are VoIPmonitor's, kept as values: a stream that drifts fails them alone) */
        double mos = s->has_mos ? s->mos[2] : 5;
        if (s->has_mos && mos < NET_MOS_MINOR) {
            cq_finding *f =
                add(&b, "rtp_low_mos", mos < NET_MOS_MAJOR ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                    "RTP from %s: network MOS %.2f (%s, E-model behind an adaptive jitter buffer); "
                    "behind a fixed 50 ms buffer, %.2f in its worst 10 s at %.1f s",
                    path, mos, s->mos_codec, s->min_mos_10s, s->min_mos_at_sec);
            net__finding_value(f, CQ_VNUM("mos", mos, 2));
            net__finding_value(f, CQ_VNUM("min_mos_10s", s->min_mos_10s, 2));
            net__finding_value(f, CQ_VNUM("min_mos_at_sec", s->min_mos_at_sec, 3));
            net__finding_value(f, CQ_VSTR("model", "ITU-T G.107 E-model"));
            net__stream_evidence(f, c, s);
        }
    }
}

/* The packets of a dialog's streams each way between two hosts: [0] from the host that sent
 * the first stream, [1] back to it (by address: a sender need not send from the port it receives
 * on). first[] the first stream each way. */
void net__dialog_media(const net_capture *c, const net_sip_dialog *d, uint64_t pk[2],
                       const net_rtp_stream *first[2])
{
    pk[0] = pk[1] = 0;
    first[0] = first[1] = NULL;
    for (size_t i = 0; i < d->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[d->streams[i]];
        if (s->packets < NET_MEDIA_MIN_PACKETS)
            continue;
        int dir = first[0] && net_addr_equal(&s->src, &first[0]->dst) &&
                  net_addr_equal(&s->dst, &first[0]->src);
        if (first[0] && !dir && !net_addr_equal(&s->src, &first[0]->src))
            continue; /* another pair of hosts (a third party): not this question */
        pk[dir] += s->packets;
        if (!first[dir])
            first[dir] = s;
    }
}

/* Who a host is in a dialog: "caller" when it is the caller's media (offer) or signalling
 * address, else "callee". */
const char *net__side_of(const net_sip_dialog *d, const net_addr *a)
{
    if (d->offer.present && net_addr_equal(a, &d->offer.addr))
        return "caller";
    if (d->answer.present && net_addr_equal(a, &d->answer.addr))
        return "callee";
    return net_addr_equal(a, &d->caller) ? "caller" : "callee";
}

/* An answered call whose media went one way only, or whose capture holds none of it; a stream
 * whose SSRC changed mid-call. */
static void media_findings(net_capture *c, const net_sip_dialog *d, size_t max)
{
    builder b = {c, d, max};
    if (strcmp(d->method, "INVITE") || d->final_status < 200 || d->final_status >= 300 ||
        c->times_unknown || (d->talk_sec >= 0 && d->talk_sec < NET_MEDIA_MIN_TALK_SEC))
        return;
    uint64_t pk[2];
    const net_rtp_stream *first[2];
    net__dialog_media(c, d, pk, first);
    if (!first[0]) {
        if (c->n_streams) { /* a capture with media, but none of this call's (a capture of
                               SIP and other UDP that is not RTP says nothing of the media) */
            cq_finding *f = add(&b, "rtp_none", CQ_SEV_MINOR,
                                "%s %s was answered but none of its RTP is in the capture (the "
                                "media took another path, or was not captured)",
                                d->method, d->call_id);
            evidence(f, find(c, d, NULL, d->final_status));
        }
        return;
    }
    if (first[0] && !first[1]) {
        char a[NET_ADDR_STRLEN], q[NET_ADDR_STRLEN];
        const char *talker = net__side_of(d, &first[0]->src),
                   *quiet = net__side_of(d, &first[0]->dst);
        if (!strcmp(talker, quiet))
            quiet = strcmp(talker, "caller") ? "caller" : "callee";
        cq_finding *f =
            add(&b, "rtp_one_way", CQ_SEV_MAJOR,
                "%s %s: RTP flowed from the %s (%s, %llu packets) but none came back from the %s "
                "(%s): one-way audio on the network, or a capture point that saw one direction "
                "only",
                d->method, d->call_id, talker, net_addr_str(&first[0]->src, a, sizeof(a)),
                (unsigned long long)pk[0], quiet, net_addr_str(&first[0]->dst, q, sizeof(q)));
        net__finding_value(f, CQ_VSTR("silent", quiet));
        net__finding_value(f, CQ_VINT("packets", (int64_t)pk[0]));
        net__stream_evidence(f, c, first[0]);
    }
    /* a second SSRC on the same path */
    for (size_t i = 0; i < d->n_streams; i++)
        for (size_t j = 0; j < i; j++) {
            const net_rtp_stream *x = &c->streams[d->streams[j]], *y = &c->streams[d->streams[i]];
            if (x->ssrc == y->ssrc || x->sport != y->sport || x->dport != y->dport ||
                !net_addr_equal(&x->src, &y->src) || !net_addr_equal(&x->dst, &y->dst))
                continue;
            char path[2 * NET_ADDR_STRLEN + 20];
            cq_finding *f = add(&b, "rtp_ssrc_change", CQ_SEV_INFO,
                                "RTP from %s changed SSRC from 0x%08X to 0x%08X at %.1f s (a "
                                "transfer, a media server taking over, or a restarted sender)",
                                stream_path(y, path, sizeof(path)), x->ssrc, y->ssrc, y->start_sec);
            net__stream_evidence(f, c, x);
            net__stream_evidence(f, c, y);
            break; /* once per new stream */
        }
}

/* ---- RTCP ---------------------------------------------------------------------------------- */

/* The evidence of an RTCP report: its time, and "frame N: RTCP RR from A:P (SSRC ...) about
 * SSRC ...: <what>". */
static void rtcp_evidence(cq_finding *f, const net_rtcp_report *r, uint32_t about, const char *what)
{
    char a[NET_ADDR_STRLEN];
    net__finding_figure(f, r->rel_sec, r->rel_sec,
                        "frame %llu: RTCP %s from %s:%u (SSRC 0x%08X) about SSRC 0x%08X: %s",
                        (unsigned long long)r->frame,
                        r->type == 200   ? "SR"
                        : r->type == 201 ? "RR"
                                         : "XR",
                        net_addr_str(&r->src, a, sizeof(a)), r->sport, r->ssrc, about, what);
}

/* The worst a receiver reported of one source: by its stream when the stream was captured,
 * else by the SSRC and the reporter's address. */
typedef struct worst {
    size_t stream; /* + 1; 0 none */
    uint32_t ssrc;
    net_addr by;
    uint16_t by_port;
    size_t loss_rep, loss_blk; /* the report and block of the largest fraction lost */
    size_t rtt_rep, rtt_blk;   /* of the largest round trip */
    size_t mos_rep, mos_blk;   /* of the lowest MOS-LQ */
    bool has_loss, has_rtt, has_mos;
} worst;

/* The subject of a report: a captured stream's slot (w[stream - 1]), else one of the `extra`
 * slots after the streams' (by SSRC and the reporter's address and port); NULL when those are
 * all taken (*over counts it). */
static worst *worst_of(worst *w, size_t n_streams, size_t *n_extra, size_t extra, size_t stream,
                       uint32_t ssrc, const net_rtcp_report *r, size_t *over)
{
    if (stream) {
        w[stream - 1].stream = stream;
        w[stream - 1].ssrc = ssrc;
        return &w[stream - 1];
    }
    worst *x = w + n_streams;
    for (size_t i = 0; i < *n_extra; i++)
        if (x[i].ssrc == ssrc && x[i].by_port == r->sport && net_addr_equal(&x[i].by, &r->src))
            return &x[i];
    if (*n_extra == extra) {
        (*over)++;
        return NULL;
    }
    x[*n_extra] = (worst){.ssrc = ssrc, .by = r->src, .by_port = r->sport};
    return &x[(*n_extra)++];
}

static void rtcp_findings(net_capture *c, const size_t *owner, size_t max)
{
    /* a slot per stream, and a few for sources whose stream was not captured */
    enum { EXTRA = 1024 };
    worst *w = calloc(c->n_streams + EXTRA, sizeof(*w));
    size_t n_extra = 0, over = 0;
    if (!w)
        return;
    for (size_t ri = 0; ri < c->n_rtcp_reports; ri++) {
        const net_rtcp_report *r = &c->rtcp_reports[ri];
        for (size_t k = 0; k < r->n_blocks; k++) {
            const net_rtcp_block *b = &c->rtcp_blocks[r->first_block + k];
            double pct = 100.0 * b->fraction_lost / 256.0;
            const net_rtp_stream *s = b->stream ? &c->streams[b->stream - 1] : NULL;
            bool cum = s && s->expected > 0 &&
                       100.0 * b->cum_lost / (double)s->expected > NET_RTCP_LOSS_PCT;
            bool loss = pct > NET_RTCP_LOSS_PCT || cum;
            bool rtt = b->has_rtt && b->rtt_ms > NET_RTCP_RTT_MS;
            if (!loss && !rtt)
                continue;
            worst *x = worst_of(w, c->n_streams, &n_extra, EXTRA, b->stream, b->ssrc, r, &over);
            if (!x)
                continue;
            const net_rtcp_block *lb = x->has_loss ? &c->rtcp_blocks[x->loss_blk] : NULL;
            if (loss && (!lb || b->fraction_lost > lb->fraction_lost ||
                         (b->fraction_lost == lb->fraction_lost && b->cum_lost > lb->cum_lost)))
                x->has_loss = true, x->loss_rep = ri, x->loss_blk = r->first_block + k;
            if (rtt && (!x->has_rtt || b->rtt_ms > c->rtcp_blocks[x->rtt_blk].rtt_ms))
                x->has_rtt = true, x->rtt_rep = ri, x->rtt_blk = r->first_block + k;
        }
        for (size_t k = 0; k < r->n_voip; k++) {
            const net_rtcp_voip *v = &c->rtcp_voip[r->first_voip + k];
            if (v->mos_lq_x10 == NET_XR_NA || v->mos_lq_x10 / 10.0 >= NET_XR_MOS_LQ)
                continue;
            worst *x = worst_of(w, c->n_streams, &n_extra, EXTRA, v->stream, v->ssrc, r, &over);
            if (x && (!x->has_mos || v->mos_lq_x10 < c->rtcp_voip[x->mos_blk].mos_lq_x10))
                x->has_mos = true, x->mos_rep = ri, x->mos_blk = r->first_voip + k;
        }
    }
    for (size_t i = 0; i < c->n_streams + n_extra; i++) {
        const worst *x = &w[i];
        if (!x->has_loss && !x->has_rtt && !x->has_mos)
            continue;
        builder b = {c, x->stream ? dialog_of_stream(c, owner, x->stream - 1) : NULL, max};
        char subject[160], a[NET_ADDR_STRLEN], d[NET_ADDR_STRLEN], what[160];
        if (x->stream) {
            const net_rtp_stream *s = &c->streams[x->stream - 1];
            snprintf(subject, sizeof(subject), "the stream from %s:%u to %s:%u (SSRC 0x%08X)",
                     net_addr_str(&s->src, a, sizeof(a)), s->sport,
                     net_addr_str(&s->dst, d, sizeof(d)), s->dport, s->ssrc);
        } else {
            snprintf(subject, sizeof(subject), "SSRC 0x%08X (its stream not captured)", x->ssrc);
        }
        if (x->has_loss) {
            const net_rtcp_report *r = &c->rtcp_reports[x->loss_rep];
            const net_rtcp_block *bl = &c->rtcp_blocks[x->loss_blk];
            double pct = 100.0 * bl->fraction_lost / 256.0;
            cq_finding *f =
                add(&b, "rtcp_loss", pct > NET_RTCP_LOSS_MAJOR_PCT ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                    "its receiver %s:%u reported %.1f %% of %s lost (%d lost in all)",
                    net_addr_str(&r->src, a, sizeof(a)), r->sport, pct, subject, bl->cum_lost);
            net__finding_value(f, CQ_VNUM("fraction_lost_pct", pct, 2));
            net__finding_value(f, CQ_VINT("cumulative_lost", bl->cum_lost));
            snprintf(what, sizeof(what), "fraction lost %u/256 (%.1f %%), cumulative %d",
                     bl->fraction_lost, pct, bl->cum_lost);
            rtcp_evidence(f, r, bl->ssrc, what);
        }
        if (x->has_rtt) {
            const net_rtcp_report *r = &c->rtcp_reports[x->rtt_rep];
            const net_rtcp_block *bl = &c->rtcp_blocks[x->rtt_blk];
            cq_finding *f = add(&b, "rtcp_rtt",
                                bl->rtt_ms > NET_RTCP_RTT_MAJOR_MS ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                                "a round trip of %d ms between %s:%u and the sender of %s (RTCP "
                                "LSR/DLSR; ITU-T G.114 plans for 150 ms one way)",
                                bl->rtt_ms, net_addr_str(&r->src, a, sizeof(a)), r->sport, subject);
            net__finding_value(f, CQ_VINT("rtt_ms", bl->rtt_ms));
            net__finding_value(f, CQ_VINT("sr_frame", (long long)bl->rtt_sr_frame));
            snprintf(what, sizeof(what), "round trip %d ms (DLSR %.3f s, SR frame %llu)",
                     bl->rtt_ms, bl->dlsr / 65536.0, (unsigned long long)bl->rtt_sr_frame);
            rtcp_evidence(f, r, bl->ssrc, what);
        }
        if (x->has_mos) {
            const net_rtcp_report *r = &c->rtcp_reports[x->mos_rep];
            const net_rtcp_voip *v = &c->rtcp_voip[x->mos_blk];
            double mos = v->mos_lq_x10 / 10.0;
            cq_finding *f =
                add(&b, "rtcp_xr_low_mos", mos < NET_XR_MOS_LQ_MAJOR ? CQ_SEV_MAJOR : CQ_SEV_MINOR,
                    "its receiver %s:%u rated %s at MOS-LQ %.1f (RTCP XR VoIP "
                    "metrics)",
                    net_addr_str(&r->src, a, sizeof(a)), r->sport, subject, mos);
            net__finding_value(f, CQ_VNUM("mos_lq", mos, 1));
            if (v->mos_cq_x10 != NET_XR_NA)
                net__finding_value(f, CQ_VNUM("mos_cq", v->mos_cq_x10 / 10.0, 1));
            if (v->r_factor != NET_XR_NA)
                net__finding_value(f, CQ_VINT("r_factor", v->r_factor));
            snprintf(what, sizeof(what), "MOS-LQ %.1f, loss rate %.1f %%, discard rate %.1f %%",
                     mos, 100.0 * v->loss_rate / 256.0, 100.0 * v->discard_rate / 256.0);
            rtcp_evidence(f, r, v->ssrc, what);
        }
    }
    if (over) {
        builder b = {c, NULL, max};
        cq_finding *f = add(&b, "rtcp_more", CQ_SEV_INFO,
                            "RTCP reports about %zu more sources not captured as streams crossed "
                            "a threshold; they are not listed one by one",
                            over);
        net__finding_value(f, CQ_VINT("reports", over));
    }
    free(w);
}

void net__findings(net_capture *c, const net_limits *lim)
{
    size_t max = lim->max_findings;
    for (size_t i = 0; i < c->n_dialogs; i++)
        if (c->dialogs[i].n_msgs) {
            dialog_findings(c, &c->dialogs[i], max);
            media_findings(c, &c->dialogs[i], max);
        }
    /* each stream's dialog, once (NULL when out of memory: the findings name no dialog) */
    size_t *owner = malloc((c->n_streams ? c->n_streams : 1) * sizeof(*owner));
    for (size_t i = 0; owner && i < c->n_streams; i++)
        owner[i] = SIZE_MAX;
    for (size_t i = c->n_dialogs; owner && i-- > 0;) /* the first dialog naming it wins */
        for (size_t k = 0; k < c->dialogs[i].n_streams; k++)
            owner[c->dialogs[i].streams[k]] = i;
    stream_findings(c, owner, max);
    rtcp_findings(c, owner, max);
    free(owner);
}

void net__findings_free(net_capture *c)
{
    net__finding_list_free(c->findings, c->n_findings);
    free(c->finding_dialog);
}

void net__finding_list_free(cq_finding *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cq_finding *f = &list[i];
        free(f->message);
        for (size_t k = 0; k < f->n_values; k++)
            if (f->values[k].type == CQ_VAL_STRING)
                free(f->values[k].str);
        free(f->values);
        for (size_t k = 0; k < f->n_evidence; k++) {
            free(f->evidence[k].quote);
            free(f->evidence[k].figure);
        }
        free(f->evidence);
    }
    free(list);
}
