/*
 * net_investigate.c - why did this call go wrong: the facts of a capture (or of SIP as text), the
 * dialer's status and, when the call's recording was analysed too, what the recording says,
 * joined into findings and 2 to 4 plain sentences that cite the codes and durations
 * (docs/network/investigate.md, "POST /investigate").
 *
 * The call looked at is one dialog: the one the caller names (match.c's, for a stored call),
 * else the INVITE dialog with the most severe finding (the first such; without an INVITE, the
 * first dialog). The cross-checks hold the recording against it:
 *
 *   one-way      the recording's one-way verdict (its conversation analysis) against the RTP
 *                each way: audio silent in the recording while RTP flowed both ways points to
 *                the media path inside the PBX or the recorder, not the network;
 *   windows      the recording's timeline starts at the dialog's first RTP packet (the
 *                recorder starts with the media: docs/network.md says where this does not
 *                hold); each 10 s interval of each stream (behind the 50 ms buffer) is lined
 *                up with the NISQA windows it overlaps that hold speech, speech-weighted; the
 *                stream is not matched to a leg: the worse leg with speech counts;
 *   DTMF         the digits sent as RFC 4733 events and in SIP INFO against the digits the
 *                recording's events analyzer heard in band.
 *
 * Pure: no network, no store. The memory of the findings is this room's.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "net_int.h"

/* NISQA's MOS (1-5) in a window: under LOW the speech was poor, from FINE it was fair or better.
 * NISQA scores narrowband telephone speech lower than wideband: these are its own scale's. */
#define XC_NISQA_LOW 2.5
#define XC_NISQA_FINE 3.0
/* The network in an interval: clean (under 0.5 % lost, MOS from 4.0) or at fault (loss from 3 %,
 * or MOS under 3.6: the thresholds of rtp_loss and rtp_low_mos). */
#define XC_NET_CLEAN_MOS 4.0
#define XC_NET_CLEAN_LOSS 0.5
#define XC_NET_BAD_LOSS 3.0
#define XC_NET_BAD_MOS 3.6
#define XC_MIN_SPEECH_SEC 1.0 /* of speech in a NISQA window for its score to count */

/* ---- sentences --------------------------------------------------------------------------------
 */

typedef struct text {
    char *buf;
    size_t n, cap;
    int sentences;
} text;

static void say(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(text *t, const char *fmt, ...)
{
    if (t->sentences >= 4 || t->n + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (t->n)
        t->buf[t->n++] = ' ';
    int k = vsnprintf(t->buf + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->n += (size_t)k < t->cap - t->n ? (size_t)k : t->cap - t->n - 1;
    t->sentences++;
}

/* The user part of a From or To header ("<sip:100@host>;tag=x" -> "100"), into buf. */
static const char *user_of(const char *hdr, char *buf, size_t n)
{
    const char *p = hdr ? strcasestr(hdr, "sip:") : NULL;
    if (!p)
        p = hdr ? strcasestr(hdr, "tel:") : NULL;
    if (!p) {
        snprintf(buf, n, "?");
        return buf;
    }
    p += 4;
    size_t k = strcspn(p, "@;>: ");
    snprintf(buf, n, "%.*s", (int)(k < 64 ? k : 64), p);
    return buf;
}

static const cq_finding *worst_of(const net_capture *c, size_t d, const char *prefix,
                                  const char *const skip[])
{
    const cq_finding *w = NULL;
    for (size_t k = 0; c && k < c->n_findings; k++) {
        const cq_finding *f = &c->findings[k];
        if ((d != SIZE_MAX && c->finding_dialog[k] != d) ||
            strncmp(f->code, prefix, strlen(prefix)))
            continue;
        bool skipped = false;
        for (const char *const *s = skip; s && *s; s++)
            skipped |= !strcmp(*s, f->code);
        if (!skipped && f->severity > CQ_SEV_INFO && (!w || f->severity > w->severity))
            w = f;
    }
    return w;
}

/* Decimals for a duration in a sentence: 0.1 s, and 0.01 s under a second (a 20 ms answer is
 * not "0.0 s"). */
#define DEC(v) ((v) < 1 ? 2 : 1)

/* The call's outcome: who, what answer, how long. */
static void say_outcome(text *t, const net_capture *c, const net_sip_dialog *d)
{
    char from[80], to[80], cause[160] = "";
    user_of(d->from, from, sizeof(from));
    user_of(d->to, to, sizeof(to));
    if (d->q850_cause >= 0)
        snprintf(cause, sizeof(cause), ", Q.850 cause %d (%s)", d->q850_cause, d->reason_text);
    if (d->final_status >= 200 && d->final_status < 300) {
        char pdd[48] = "", end[200];
        if (d->pdd_sec >= 0)
            snprintf(pdd, sizeof(pdd), " (post-dial delay %.*f s)", DEC(d->pdd_sec), d->pdd_sec);
        if (d->hangup == NET_HANGUP_CALLER || d->hangup == NET_HANGUP_CALLEE)
            snprintf(end, sizeof(end), "; the %s hung up after %.*f s of talk%s",
                     d->hangup == NET_HANGUP_CALLER ? "caller" : "callee", DEC(d->talk_sec),
                     d->talk_sec >= 0 ? d->talk_sec : 0, cause);
        else
            snprintf(end, sizeof(end), " and was still up when the capture ended");
        if (c->times_unknown)
            say(t, "The call %s from %s to %s was answered with %d %s%s.", d->call_id, from, to,
                d->final_status, d->final_reason ? d->final_reason : "",
                d->hangup == NET_HANGUP_NONE ? "" : " and ended with a BYE");
        else
            say(t, "The call %s from %s to %s was answered with %d %s %.*f s after the INVITE%s%s.",
                d->call_id, from, to, d->final_status, d->final_reason ? d->final_reason : "",
                DEC(d->answer_sec), d->answer_sec >= 0 ? d->answer_sec : 0, pdd, end);
    } else if (d->final_status == 487 || (d->cancelled && d->final_status < 200)) {
        say(t,
            "The caller cancelled the call %s from %s to %s before it was answered (487, "
            "sip_cancelled)%s.",
            d->call_id, from, to, cause);
    } else if (d->final_status >= 300) {
        const cq_finding *f = worst_of(c, (size_t)(d - c->dialogs), "sip_", NULL);
        char secs[48] = "";
        if (!c->times_unknown && d->end_sec >= d->start_sec)
            snprintf(secs, sizeof(secs), " after %.*f s", DEC(d->end_sec - d->start_sec),
                     d->end_sec - d->start_sec);
        say(t, "The call %s from %s to %s ended with SIP %d %s%s%s%s%s%s.", d->call_id, from, to,
            d->final_status, d->final_reason ? d->final_reason : "", secs, cause, f ? " (" : "",
            f ? f->code : "", f ? ")" : "");
    } else {
        say(t,
            "The INVITE %s from %s to %s got no final answer in what was captured (%zu "
            "message%s).",
            d->call_id, from, to, d->n_msgs, d->n_msgs == 1 ? "" : "s");
    }
}

/* The media of the dialog each way. */
static void say_media(text *t, const net_capture *c, const net_sip_dialog *d)
{
    uint64_t pk[2];
    const net_rtp_stream *first[2];
    net__dialog_media(c, d, pk, first);
    if (!first[0]) {
        if (d->final_status >= 200 && d->final_status < 300 && !c->times_unknown && c->n_streams)
            say(t, "None of the call's RTP is in the capture (rtp_none).");
        return;
    }
    char part[2][240];
    for (int i = 0; i < 2; i++) {
        const net_rtp_stream *s = first[i];
        if (!s)
            continue;
        char a[NET_ADDR_STRLEN], mos[48] = "";
        if (s->has_mos)
            snprintf(mos, sizeof(mos), ", network MOS %.2f", s->mos[2]);
        double loss = s->has_mos    ? s->net_loss_pct
                      : s->expected ? 100.0 * (double)s->lost / (double)s->expected
                                    : 0;
        snprintf(part[i], sizeof(part[i]),
                 "from the %s (%s) %llu packets, %.1f %% lost, jitter up "
                 "to %.1f ms%s",
                 net__side_of(d, &s->src), net_addr_str(&s->src, a, sizeof(a)),
                 (unsigned long long)pk[i], loss, s->has_jitter ? s->max_jitter_ms : 0, mos);
    }
    const cq_finding *bad =
        worst_of(c, (size_t)(d - c->dialogs), "rtp_", (const char *const[]){"rtp_one_way", NULL});
    char codes[80] = "";
    if (bad)
        snprintf(codes, sizeof(codes), " (%s)", bad->code);
    bool said_one_way = false; /* the finding, when the dialog's facts support it */
    for (size_t k = 0; c && k < c->n_findings; k++)
        said_one_way |= c->finding_dialog[k] == (size_t)(d - c->dialogs) &&
                        !strcmp(c->findings[k].code, "rtp_one_way");
    if (first[1])
        say(t, "RTP flowed both ways: %s; %s%s.", part[0], part[1], codes);
    else
        say(t, "RTP flowed one way only, %s, and none came back%s%s.", part[0],
            said_one_way ? " (rtp_one_way)" : "", bad ? codes : "");
}

/* ---- the cross-checks ------------------------------------------------------------------------ */

typedef struct xcheck {
    net_flist out;
    const net_capture *c;
    size_t d;
    uint64_t windows_dropped; /* past NET_XC_MAX_WINDOWS */
} xcheck;

/* The recording's one-way verdict against the RTP each way. */
static json_t *xc_one_way(xcheck *x, const cq_report *r, const net_sip_dialog *d)
{
    if (!r->has_conversation)
        return json_null();
    const cq_conversation *cv = &r->conversation;
    uint64_t pk[2] = {0, 0};
    const net_rtp_stream *first[2] = {NULL, NULL};
    if (d)
        net__dialog_media(x->c, d, pk, first);
    const char *leg = cv->one_way_silent_leg == 0 ? "inbound" : "outbound";
    json_t *o =
        json_pack("{s:o,s:o,s:I,s:I}", "recording_one_way",
                  cv->one_way < 0 ? json_null() : json_boolean(cv->one_way == 1), "silent_leg",
                  cv->one_way == 1 ? json_string(leg) : json_null(), "rtp_packets_forward",
                  (json_int_t)pk[0], "rtp_packets_back", (json_int_t)pk[1]);
    if (cv->one_way != 1 || !first[0])
        goto done;
    if (first[1]) {
        cq_finding *f = net__finding_add(
            &x->out, x->d, "xcheck_recording_one_way", CQ_SEV_MAJOR,
            "the recording's %s leg is silent while RTP flowed both ways (%llu and %llu "
            "packets): the audio was lost between the network and the recorder (the PBX's media "
            "path: a transcoder, a bridge, a NAT before the recorder) or in the recorder, not on "
            "the network",
            leg, (unsigned long long)pk[0], (unsigned long long)pk[1]);
        net__finding_value(f, CQ_VSTR("silent_leg", leg));
        net__finding_value(f, CQ_VINT("rtp_packets_forward", (int64_t)pk[0]));
        net__finding_value(f, CQ_VINT("rtp_packets_back", (int64_t)pk[1]));
        net__stream_evidence(f, x->c, first[0]);
        net__stream_evidence(f, x->c, first[1]);
    } else {
        char a[NET_ADDR_STRLEN];
        cq_finding *f = net__finding_add(
            &x->out, x->d, "xcheck_network_one_way", CQ_SEV_MAJOR,
            "the recording's %s leg is silent and no RTP came back to %s in the capture: the "
            "audio was lost on the network (look at NAT and the SDP addresses)",
            leg, net_addr_str(&first[0]->src, a, sizeof(a)));
        net__finding_value(f, CQ_VSTR("silent_leg", leg));
        net__stream_evidence(f, x->c, first[0]);
    }
done:
    if (cv->one_way == 0 && first[0] && !first[1]) {
        cq_finding *f = net__finding_add(
            &x->out, x->d, "xcheck_capture_one_way", CQ_SEV_INFO,
            "the recording holds both voices while the capture has RTP one way only: the "
            "capture point saw one direction (asymmetric routing), the call itself was two-way");
        net__stream_evidence(f, x->c, first[0]);
    }
    return o;
}

/* The speech-weighted NISQA MOS of a leg's windows overlapping [a, b) of its timeline that hold
 * speech (a window without it scores the line's noise, not a voice); -1 none. */
static double nisqa_in(const cq_leg_report *L, double a, double b)
{
    double w = 0, sum = 0;
    for (size_t i = 0; L && i < L->n_nisqa_windows; i++) {
        const cq_nisqa_window *nw = &L->nisqa_windows[i];
        double ov = fmin(b, nw->end_sec) - fmax(a, nw->start_sec);
        if (ov <= 0 || !nw->scored || nw->speech_sec < XC_MIN_SPEECH_SEC)
            continue;
        double wt = ov * nw->speech_sec;
        w += wt, sum += wt * nw->scores.mos;
    }
    return w > 0 ? sum / w : -1;
}

static json_t *num_or_null(double v)
{
    return v >= 0 ? json_real(round(v * 1000) / 1000) : json_null();
}

/* A finding of the cross-check over n intervals of 10 s: "in N intervals of 10 s", (at not
 * NULL) where the first lies on the recording, then the sentence of fmt; the count, and (at) the
 * first interval's figure from *at. */
static void xc_intervals(xcheck *x, const char *code, cq_severity sev, int n, const double *at,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void xc_intervals(xcheck *x, const char *code, cq_severity sev, int n, const double *at,
                         const char *fmt, ...)
{
    char first[64] = "", rest[512];
    if (at)
        snprintf(first, sizeof(first), " (the first at %.0f s of the recording)", *at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    cq_finding *f = net__finding_add(&x->out, x->d, code, sev, "in %d interval%s of 10 s%s %s", n,
                                     n == 1 ? "" : "s", first, rest);
    net__finding_value(f, CQ_VINT("intervals", n));
    if (at)
        net__finding_figure(f, *at, *at + 10, "recording %.0f-%.0f s", *at, *at + 10);
}

/* Each 10 s interval of the dialog's streams against the recording's NISQA windows. */
static json_t *xc_windows(xcheck *x, const cq_report *r, const net_sip_dialog *d)
{
    json_t *a = json_array();
    if (!d || !d->n_streams)
        return a;
    double t0 = -1; /* the recording's start, capture time: the dialog's first packet */
    for (size_t i = 0; i < d->n_streams; i++) {
        const net_rtp_stream *s = &x->c->streams[d->streams[i]];
        if (t0 < 0 || s->start_sec < t0)
            t0 = s->start_sec;
    }
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    const char *leg_name[2] = {r->has_legs ? "inbound" : "mixed", "outbound"};
    int before = 0, heard = 0, unheard = 0;
    double before_at = -1, heard_at = -1;
    for (size_t i = 0; i < d->n_streams; i++) {
        const net_rtp_stream *s = &x->c->streams[d->streams[i]];
        for (size_t k = 0; k < s->n_intervals; k++) {
            const net_rtp_interval *iv = &s->intervals[k];
            double ra = iv->start_sec - t0, rb = iv->end_sec - t0;
            double q[2] = {nisqa_in(L[0], ra, rb), nisqa_in(L[1], ra, rb)};
            json_t *o = json_pack("{s:I,s:f,s:f,s:o,s:o,s:o}", "stream", (json_int_t)d->streams[i],
                                  "recording_start_sec", round(ra * 1000) / 1000,
                                  "recording_end_sec", round(rb * 1000) / 1000, "network_loss_pct",
                                  num_or_null(iv->net_loss_pct), "network_mos",
                                  num_or_null(iv->mos), "nisqa_mos", json_object());
            for (int l = 0; l < 2; l++)
                if (L[l])
                    json_object_set_new(json_object_get(o, "nisqa_mos"), leg_name[l],
                                        num_or_null(q[l]));
            if (json_array_size(a) < NET_XC_MAX_WINDOWS) /* each interval still counts below */
                json_array_append_new(a, o);
            else
                json_decref(o), x->windows_dropped++;
            double worst = q[0] < 0 ? q[1] : q[1] < 0 ? q[0] : fmin(q[0], q[1]);
            if (worst < 0)
                continue;
            bool clean = iv->mos >= XC_NET_CLEAN_MOS && iv->net_loss_pct < XC_NET_CLEAN_LOSS;
            bool bad = iv->net_loss_pct >= XC_NET_BAD_LOSS || iv->mos < XC_NET_BAD_MOS;
            if (clean && worst < XC_NISQA_LOW && !before++)
                before_at = ra;
            if (bad && worst < XC_NISQA_FINE && !heard++)
                heard_at = ra;
            unheard += bad && worst >= XC_NISQA_FINE;
        }
    }
    if (before)
        xc_intervals(x, "xcheck_quality_not_network", CQ_SEV_MINOR, before, &before_at,
                     "the speech quality was low (NISQA under %.1f) while the network delivered "
                     "its packets (network MOS %.1f or more): the cause is in the audio itself "
                     "(its source, a transcoder, levels, echo), not the network",
                     XC_NISQA_LOW, XC_NET_CLEAN_MOS);
    if (heard)
        xc_intervals(x, "xcheck_network_heard", CQ_SEV_MINOR, heard, &heard_at,
                     "the network lost packets or its MOS fell under %.1f, and the recording's "
                     "speech quality fell with it (NISQA under %.1f): the network explains what "
                     "was heard",
                     XC_NET_BAD_MOS, XC_NISQA_FINE);
    if (unheard)
        xc_intervals(x, "xcheck_network_not_heard", CQ_SEV_INFO, unheard, NULL,
                     "the network lost packets but the recording's speech quality held (NISQA "
                     "%.1f or more): the loss was concealed, or the recorder sits before the "
                     "network on that path",
                     XC_NISQA_FINE);
    return a;
}

/* The digits of the recording's DTMF events, in time order across the legs, into buf. */
static void in_band_digits(const cq_report *r, char *buf, size_t n)
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    size_t k = 0, at[2] = {0, 0};
    buf[0] = 0;
    for (;;) {
        int pick = -1;
        const cq_call_event *best = NULL;
        for (int l = 0; l < 2; l++) {
            while (L[l] && at[l] < L[l]->n_events &&
                   (L[l]->events[at[l]].type != CQ_EV_DTMF ||
                    L[l]->events[at[l]].state != CQ_EVENT_CLOSED))
                at[l]++;
            if (L[l] && at[l] < L[l]->n_events &&
                (!best || L[l]->events[at[l]].start_sec < best->start_sec))
                best = &L[l]->events[at[l]], pick = l;
        }
        if (pick < 0)
            break;
        k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s", best->digits);
        if (k >= n) {
            buf[n - 1] = 0;
            break;
        }
        at[pick]++;
    }
}

static bool offers_events(const net_sdp *s)
{
    for (int i = 0; s->present && i < s->n_pts; i++)
        if (!strcasecmp(s->names[i], "telephone-event"))
            return true;
    return false;
}

/* RFC 4733 and SIP INFO digits against those heard in band. */
static json_t *xc_dtmf(xcheck *x, const cq_report *r, const net_sip_dialog *d)
{
    char rfc[128] = "", band[256];
    size_t k = 0;
    for (size_t i = 0; i < x->c->n_streams; i++) {
        const net_rtp_stream *s = &x->c->streams[i];
        bool mine = !d;
        for (size_t j = 0; d && j < d->n_streams; j++)
            mine |= d->streams[j] == i;
        if (mine && s->digits[0] && k < sizeof(rfc))
            k += (size_t)snprintf(rfc + k, sizeof(rfc) - k, "%s", s->digits);
    }
    in_band_digits(r, band, sizeof(band));
    const char *info = d ? d->info_digits : "";
    json_t *o = json_pack("{s:s,s:s,s:s}", "rfc4733", rfc, "sip_info", info, "in_band", band);
    if (!(r->analyzers & CQ_AN_EVENTS)) {
        json_object_set_new(o, "in_band", json_null());
        return o;
    }
    const char *sent = rfc[0] ? rfc : info;
    if (sent[0] && band[0] && strcmp(sent, band)) {
        cq_finding *f = net__finding_add(
            &x->out, x->d, "xcheck_dtmf_mismatch", CQ_SEV_MINOR,
            "the digits sent %s were %s but the recording's audio holds %s: digits were lost or "
            "doubled between the signalling and the audio (a gateway regenerating tones, or "
            "both in-band and RFC 4733 sent)",
            rfc[0] ? "as RFC 4733 events" : "in SIP INFO", sent, band);
        net__finding_value(f, CQ_VSTR("sent", sent));
        net__finding_value(f, CQ_VSTR("in_band", band));
    } else if (!sent[0] && band[0] && d && offers_events(&d->offer) && offers_events(&d->answer)) {
        cq_finding *f = net__finding_add(
            &x->out, x->d, "xcheck_dtmf_in_band_only", CQ_SEV_MINOR,
            "digits %s were heard in the audio, but none was sent as an RFC 4733 event though "
            "both ends agreed on telephone-event: an IVR listening for events would not get them",
            band);
        net__finding_value(f, CQ_VSTR("in_band", band));
    }
    json_object_set_new(o, "agree",
                        sent[0] && band[0] ? json_boolean(!strcmp(sent, band)) : json_null());
    return o;
}

/* ---- the investigation ----------------------------------------------------------------------- */

void net_investigation_free(net_investigation *inv)
{
    if (!inv)
        return;
    net__finding_list_free(inv->findings, inv->n_findings);
    free(inv->finding_dialog);
    json_decref(inv->cross_checks);
    free(inv->explanation);
    memset(inv, 0, sizeof(*inv));
}

/* What the dialer's carrier log says, in one sentence: the first row's dial status, Q.850 and
 * SIP causes, and the call_info's worst finding. */
static void say_carrier(text *t, const net_call_info *ci)
{
    if (!ci || !ci->n_rows)
        return;
    const net_carrier_row *r = &ci->rows[0];
    char dial[160] = "", q850[160] = "", sip[160] = "", code[64] = "";
    if (r->dial != NET_DIAL_NONE)
        snprintf(dial, sizeof(dial), " %s: %s", net_dialstatus_name(r->dial),
                 net_dialstatus_meaning(r->dial));
    if (r->hangup_cause.valid && r->hangup_cause.num > 0)
        snprintf(q850, sizeof(q850), "; hangup cause %.0f%s%s%s", r->hangup_cause.num,
                 r->hangup_text ? " (" : "", r->hangup_text ? r->hangup_text : "",
                 r->hangup_text ? ")" : "");
    if (r->sip_hangup_cause.valid && r->sip_hangup_cause.num > 0)
        snprintf(sip, sizeof(sip), "; SIP %.0f%s%s", r->sip_hangup_cause.num,
                 r->sip_phrase ? " " : "", r->sip_phrase ? r->sip_phrase : "");
    const cq_finding *w = NULL;
    for (size_t k = 0; k < ci->n_findings; k++)
        if (!w || ci->findings[k].severity > w->severity)
            w = &ci->findings[k];
    if (w && w->severity > CQ_SEV_INFO)
        snprintf(code, sizeof(code), " (%s)", w->code);
    if (dial[0] || q850[0] || sip[0])
        say(t, "The dialer's carrier log says%s%s%s%s.", dial[0] ? dial : " the call ended", q850,
            sip, code);
}

int net_investigate(const net_capture *c, const cq_report *rec, const net_call_info *ci,
                    const char *status, net_investigation *out)
{
    return net_investigate_dialog(c, SIZE_MAX, rec, ci, status, out);
}

int net_investigate_dialog(const net_capture *c, size_t dialog, const cq_report *rec,
                           const net_call_info *ci, const char *status, net_investigation *out)
{
    memset(out, 0, sizeof(*out));
    out->dialog = c && dialog < c->n_dialogs ? dialog : net_primary_dialog(c);
    const net_sip_dialog *d = out->dialog != SIZE_MAX ? &c->dialogs[out->dialog] : NULL;
    xcheck x = {{&out->findings, &out->n_findings, &out->finding_dialog, SIZE_MAX, NULL},
                c,
                out->dialog,
                0};
    if (rec && c) {
        out->cross_checks = json_object();
        json_object_set_new(out->cross_checks, "recording_starts_at_capture_sec", json_null());
        if (d && d->n_streams) {
            double t0 = -1;
            for (size_t i = 0; i < d->n_streams; i++)
                if (t0 < 0 || c->streams[d->streams[i]].start_sec < t0)
                    t0 = c->streams[d->streams[i]].start_sec;
            json_object_set_new(out->cross_checks, "recording_starts_at_capture_sec",
                                json_real(t0));
        }
        json_object_set_new(out->cross_checks, "one_way", xc_one_way(&x, rec, d));
        json_object_set_new(out->cross_checks, "windows", xc_windows(&x, rec, d));
        json_object_set_new(out->cross_checks, "dtmf", xc_dtmf(&x, rec, d));
        out->windows_dropped = x.windows_dropped;
    }
    text t = {.cap = 2048};
    if (!(t.buf = calloc(1, t.cap)))
        return -1;
    if (d) {
        say_outcome(&t, c, d);
        const char *const shown[] = {"sip_busy",         "sip_cancelled",
                                     "sip_timeout",      "sip_service_unavailable",
                                     "sip_server_error", "sip_codec_mismatch",
                                     "sip_not_found",    "sip_unavailable",
                                     "sip_declined",     "sip_bad_event",
                                     "sip_auth_failed",  "sip_rejected",
                                     "sip_hangup",       NULL};
        const cq_finding *sig = worst_of(c, out->dialog, "s", shown); /* sip_, sdp_ */
        if (sig)
            say(&t, "%c%s (%s).",
                sig->message[0] >= 'a' && sig->message[0] <= 'z' ? sig->message[0] - 'a' + 'A'
                                                                 : sig->message[0],
                sig->message + 1, sig->code);
        say_media(&t, c, d);
    } else if (c && c->n_streams) {
        const net_rtp_stream *s = &c->streams[0];
        char a[NET_ADDR_STRLEN];
        say(&t,
            "The capture holds no SIP dialog, only RTP: the first stream, from %s, carried "
            "%llu packets with %.1f %% lost.",
            net_addr_str(&s->src, a, sizeof(a)), (unsigned long long)s->packets,
            s->expected ? 100.0 * (double)s->lost / (double)s->expected : 0.0);
    }
    /* the recording's word, or the dialer's */
    const cq_finding *xf = NULL;
    for (size_t k = 0; k < out->n_findings; k++)
        if (!strncmp(out->findings[k].code, "xcheck_", 7) &&
            (!xf || out->findings[k].severity > xf->severity))
            xf = &out->findings[k];
    if (xf && xf->severity > CQ_SEV_INFO)
        say(&t, "The recording: %s (%s).", xf->message, xf->code);
    say_carrier(&t, ci);
    if (status && *status && t.sentences < 4)
        say(&t, "The dialer's status for the call is %s.", status);
    if (t.sentences < 2)
        say(&t, "%s",
            c ? "Nothing else in the capture points at a fault."
              : "No SIP trace or capture was given, so the network side could not be "
                "checked.");
    out->explanation = t.buf;
    return 0;
}

/* The investigation as JSON: the explanation, the dialog looked at, every finding (the capture's
 * and the investigation's, each with its Call-ID), the dialogs, streams and SIP counts, and the
 * cross-checks (docs/network.md). */
json_t *net_investigation_json(const net_capture *c, const net_investigation *inv)
{
    json_t *cap = c ? net_capture_json(c, "", NULL) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "explanation", net_json_wire(inv->explanation ? inv->explanation : ""));
    json_object_set_new(
        o, "dialog", inv->dialog != SIZE_MAX ? json_integer((json_int_t)inv->dialog) : json_null());
    json_t *fs = cap ? json_incref(json_object_get(cap, "findings")) : json_array();
    char *s = cq_findings_to_json(inv->findings, inv->n_findings);
    json_t *more = s ? json_loads(s, 0, NULL) : NULL;
    cq_report_free_string(s);
    for (size_t i = 0; json_is_array(more) && i < json_array_size(more); i++) {
        json_t *f = json_array_get(more, i);
        size_t d = inv->finding_dialog[i];
        json_object_set_new(f, "call_id",
                            c && d < c->n_dialogs ? net_json_wire(c->dialogs[d].call_id)
                                                  : json_null());
        json_array_append(fs, f);
    }
    json_decref(more);
    json_object_set_new(o, "findings", fs);
    static const char *const keys[] = {"dialogs", "streams", "sip_counts", "sip", "counts"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
        json_object_set(o, keys[k],
                        cap && json_object_get(cap, keys[k])
                            ? json_object_get(cap, keys[k])
                            : (k < 2 || k == 3 ? json_array() : json_null()));
    json_object_set_new(o, "cross_checks",
                        inv->cross_checks ? json_incref(inv->cross_checks) : json_null());
    json_t *cut = json_object_get(cap, "truncated"); /* a view's: what the answer left out */
    if (json_is_object(cut))
        json_object_set_new(cut, "windows", json_integer((json_int_t)inv->windows_dropped));
    json_object_set(o, "truncated", cut ? cut : json_null());
    json_decref(cap);
    return o;
}

/* ---- an LLM's explanation, held to the facts ---------------------------------------------------
 */

/* The facts an LLM is given, from an investigation's answer, within max_bytes of compact JSON
 * (a prompt's share of the model's context): the explanation built from them, the status, the
 * recording in brief, then the call looked at (its dialog and streams in brief, its findings,
 * the cross-checks and their windows), the call_info, then the other findings, dialogs and
 * streams one of each in turn; an item that does not fit is left out, and `left_out` counts
 * them. NULL when even the frame does not fit (or out of memory). */

typedef struct facts_budget {
    json_t *f;
    size_t used, max;
    uint64_t left[5]; /* findings, dialogs, streams, windows, call_info */
} facts_budget;

static size_t jlen(const json_t *j)
{
    return j ? json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(6)) : 4;
}

/* Item v (a new reference, taken) into array `arr` of the facts, when it fits; counted in
 * left[k] when it does not. */
static void put_item(facts_budget *b, json_t *arr, json_t *v, int k)
{
    size_t n = jlen(v) + 1;
    if (v && b->used + n <= b->max) {
        b->used += n;
        json_array_append_new(arr, v);
        return;
    }
    json_decref(v);
    b->left[k]++;
}

/* Key and value (taken) into the facts object, when they fit; false (freed) otherwise. */
static bool put_key(facts_budget *b, json_t *obj, const char *key, json_t *v)
{
    size_t n = jlen(v) + strlen(key) + 4;
    if (!v || b->used + n > b->max) {
        json_decref(v);
        return false;
    }
    b->used += n;
    json_object_set_new(obj, key, v);
    return true;
}

static json_t *finding_brief(const json_t *v)
{
    return json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?}", "code", json_object_get(v, "code"), "severity",
                     json_object_get(v, "severity"), "message", json_object_get(v, "message"),
                     "values", json_object_get(v, "values"), "call_id",
                     json_object_get(v, "call_id"));
}

static json_t *dialog_brief(const json_t *v)
{
    static const char *const dk[] = {"call_id",      "from",         "to",         "caller",
                                     "callee",       "pdd_sec",      "answer_sec", "talk_sec",
                                     "final_status", "final_reason", "hangup",     "q850_cause",
                                     "reason_text",  "on_hold",      "streams"};
    json_t *d = json_object();
    for (size_t k = 0; d && k < sizeof(dk) / sizeof(*dk); k++)
        json_object_set(d, dk[k], json_object_get(v, dk[k]));
    return d;
}

/* A stream in brief, with its index in the answer's `streams` (the dialogs' `streams` name it). */
static json_t *stream_brief(const json_t *v, size_t index)
{
    static const char *const sk[] = {
        "src",     "src_port", "dst",          "dst_port",      "payload",        "packets",
        "lost",    "lost_pct", "max_delta_ms", "max_jitter_ms", "mean_jitter_ms", "start_sec",
        "end_sec", "digits"};
    json_t *s = json_pack("{s:I}", "stream", (json_int_t)index);
    for (size_t k = 0; s && k < sizeof(sk) / sizeof(*sk); k++)
        json_object_set(s, sk[k], json_object_get(v, sk[k]));
    const json_t *m = json_object_get(v, "network_mos");
    if (s && json_is_object(m))
        json_object_set_new(
            s, "network_mos",
            json_pack(
                "{s:O?,s:O?,s:O?,s:O?}", "model", json_object_get(m, "model"), "adaptive_buffer",
                json_object_get(
                    json_object_get(json_object_get(m, "jitter_buffers"), "adaptive_500ms"), "mos"),
                "min_mos_10s", json_object_get(m, "min_mos_10s"), "network_loss_pct",
                json_object_get(m, "network_loss_pct")));
    return s;
}

static json_t *facts_of(const json_t *answer, size_t max_bytes, bool *too_small)
{
    facts_budget b = {.f = json_object(), .max = max_bytes};
    *too_small = false;
    json_t *fs = json_array(), *ds = json_array(), *ss = json_array();
    if (!b.f || !fs || !ds || !ss)
        goto fail;
    json_object_set(b.f, "explanation_from_facts", json_object_get(answer, "explanation"));
    json_object_set_new(b.f, "findings", fs);
    json_object_set_new(b.f, "dialogs", ds);
    json_object_set_new(b.f, "streams", ss);
    /* the frame: these keys, and left_out with room for its counts */
    b.used = jlen(b.f) + 160;
    if (b.used > b.max) {
        *too_small = true;
        goto fail;
    }
    const json_t *fa = json_object_get(answer, "findings"),
                 *da = json_object_get(answer, "dialogs"), *sa = json_object_get(answer, "streams");
    size_t nf = json_array_size(fa), nd = json_array_size(da), ns = json_array_size(sa);
    const json_t *ld =
        json_array_get(da, (size_t)json_integer_value(json_object_get(answer, "dialog")));
    if (!json_is_integer(json_object_get(answer, "dialog")))
        ld = NULL;
    const char *ld_id = json_string_value(json_object_get(ld, "call_id"));
    uint8_t *done = calloc((nf + nd + ns) ? nf + nd + ns : 1, 1); /* findings, dialogs, streams */
    if (!done)
        goto fail;
    static const char *const small[] = {"status", "recording"};
    for (size_t k = 0; k < 2; k++)
        if (json_object_get(answer, small[k]))
            put_key(&b, b.f, small[k], json_incref(json_object_get(answer, small[k])));
    /* the call looked at */
    if (ld) {
        put_item(&b, ds, dialog_brief(ld), 1);
        done[nf + (size_t)json_integer_value(json_object_get(answer, "dialog"))] = 1;
        size_t i;
        const json_t *v;
        json_array_foreach(json_object_get(ld, "streams"), i, v)
        {
            size_t si = (size_t)json_integer_value(v);
            if (json_is_integer(v) && si < ns && !done[nf + nd + si]) {
                done[nf + nd + si] = 1;
                put_item(&b, ss, stream_brief(json_array_get(sa, si), si), 2);
            }
        }
        json_array_foreach(fa, i, v)
        {
            const char *id = json_string_value(json_object_get(v, "call_id"));
            if (ld_id && id && !strcmp(id, ld_id)) {
                done[i] = 1;
                put_item(&b, fs, finding_brief(v), 0);
            }
        }
    }
    const json_t *xc = json_object_get(answer, "cross_checks");
    if (json_is_object(xc)) {
        json_t *x = json_deep_copy(xc);
        json_t *wins = json_incref(json_object_get(x, "windows"));
        json_object_set_new(x, "windows", json_array());
        json_t *into = json_object_get(x, "windows");
        if (put_key(&b, b.f, "cross_checks", x)) {
            size_t i;
            json_t *v;
            json_array_foreach(wins, i, v) put_item(&b, into, json_incref(v), 3);
        } else {
            b.left[3] += json_array_size(wins);
        }
        json_decref(wins);
    }
    const json_t *ci = json_object_get(answer, "call_info");
    if (ci && !put_key(&b, b.f, "call_info", json_incref((json_t *)ci)) && !json_is_null(ci))
        b.left[4]++;
    /* the rest, one of each in turn */
    size_t at[3] = {0, 0, 0};
    const json_t *list[3] = {fa, da, sa};
    size_t n[3] = {nf, nd, ns}, base[3] = {0, nf, nf + nd};
    json_t *into[3] = {fs, ds, ss};
    for (bool more = true; more;) {
        more = false;
        for (int k = 0; k < 3; k++) {
            while (at[k] < n[k] && done[base[k] + at[k]])
                at[k]++;
            if (at[k] >= n[k])
                continue;
            const json_t *v = json_array_get(list[k], at[k]);
            put_item(&b, into[k],
                     k == 0   ? finding_brief(v)
                     : k == 1 ? dialog_brief(v)
                              : stream_brief(v, at[k]),
                     k);
            at[k]++;
            more = true;
        }
    }
    free(done);
    json_object_set_new(b.f, "left_out",
                        json_pack("{s:I,s:I,s:I,s:I,s:b}", "findings", (json_int_t)b.left[0],
                                  "dialogs", (json_int_t)b.left[1], "streams",
                                  (json_int_t)b.left[2], "windows", (json_int_t)b.left[3],
                                  "call_info", b.left[4] > 0));
    return b.f;
fail:
    json_decref(b.f);
    json_decref(fs), json_decref(ds), json_decref(ss);
    return NULL;
}

static const char k_explain_system[] =
    "You explain to a call-center operations manager why a phone call went wrong, from the "
    "facts of its SIP signalling, its RTP media and its recording that you are given as "
    "JSON. Write 2 to 4 plain sentences, no lists, no markdown. Say what happened to the "
    "call, who ended it and why, and where the fault most likely lies (the carrier, the "
    "network, the PBX, the recorder, the far end). Use only the facts given: every number "
    "you write must appear in the facts as it is written there or rounded, and cite finding "
    "codes exactly as given, in parentheses. When the facts do not show a cause, say so; "
    "left_out counts what did not fit.";
static const char k_explain_user[] = "The facts of the call:\n";

/* The facts' share of a prompt of max_tokens, counted as one token per byte (a tokenizer puts
 * at least one byte in each token), less the instructions and the messages' framing. */
static size_t facts_bytes(size_t max_tokens)
{
    size_t fixed = sizeof(k_explain_system) + sizeof(k_explain_user) + NET_PROMPT_FRAMING;
    return max_tokens > fixed ? max_tokens - fixed : 0;
}

int net_explanation_prompt(const json_t *answer, size_t max_tokens, char **system, char **user,
                           char *why, size_t whysz)
{
    *system = *user = NULL;
    bool too_small;
    json_t *f = facts_of(answer, facts_bytes(max_tokens), &too_small);
    char *dump =
        f ? json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(f);
    if (!dump) {
        if (too_small)
            snprintf(why, whysz,
                     "a prompt of %zu tokens cannot hold the instructions and the call's facts",
                     max_tokens);
        else
            snprintf(why, whysz, "out of memory");
        return -1;
    }
    *system = strdup(k_explain_system);
    if (asprintf(user, "%s%s\n", k_explain_user, dump) < 0)
        *user = NULL;
    free(dump);
    if (!*system || !*user) {
        free(*system), free(*user);
        *system = *user = NULL;
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    return 0;
}

/* The numbers written in a text (digits, with a decimal part), appended to nums. */
static void numbers_in(const char *s, double **nums, size_t *n, size_t *cap)
{
    for (const char *p = s; p && *p;) {
        if (!(*p >= '0' && *p <= '9')) {
            p++;
            continue;
        }
        char *end;
        double v = strtod(p, &end);
        if (end == p) {
            p++;
            continue;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            double *nn = realloc(*nums, nc * sizeof(*nn));
            if (!nn)
                return;
            *nums = nn, *cap = nc;
        }
        (*nums)[(*n)++] = v;
        p = end;
    }
}

/* Every number in the facts (values and the numbers inside strings), and every finding code. */
static void facts_walk(const json_t *j, double **nums, size_t *n, size_t *cap, json_t *codes)
{
    if (json_is_number(j)) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%.10g", json_number_value(j));
        numbers_in(buf, nums, n, cap);
    } else if (json_is_string(j)) {
        numbers_in(json_string_value(j), nums, n, cap);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) facts_walk(v, nums, n, cap, codes);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            if (!strcmp(k, "code") && json_is_string(v))
                json_object_set_new(codes, json_string_value(v), json_true());
            facts_walk(v, nums, n, cap, codes);
        }
    }
}

/* Is the number written as `tok` (its decimals d) one of the facts, as it is or rounded to d? */
static bool number_known(const char *tok, size_t len, const double *nums, size_t n)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 63 ? len : 63), tok);
    double a = strtod(buf, NULL);
    const char *dot = strchr(buf, '.');
    int d = dot ? (int)strlen(dot + 1) : 0;
    double scale = pow(10, d);
    for (size_t i = 0; i < n; i++)
        if (fabs(round(nums[i] * scale) - a * scale) < 0.5 || fabs(nums[i] - a) < 1e-9)
            return true;
    return false;
}

int net_explanation_check(const char *answer_text, const json_t *answer, size_t max_tokens,
                          char *why, size_t whysz)
{
    bool too_small;
    json_t *f = facts_of(answer, facts_bytes(max_tokens), &too_small), *codes = json_object();
    double *nums = NULL;
    size_t n = 0, cap = 0;
    if (strlen(answer_text) > NET_EXPLANATION_MAX) { /* not 2 to 4 sentences: not kept */
        json_decref(f);
        json_decref(codes);
        snprintf(why, whysz, "it is %zu bytes long, over %d", strlen(answer_text),
                 NET_EXPLANATION_MAX);
        return -1;
    }
    facts_walk(f, &nums, &n, &cap, codes);
    json_decref(f);
    int rc = 0;
    why[0] = 0;
    for (const char *p = answer_text; *p && !rc;) {
        /* a standard's name carries its own number: G.711, Q.850, RFC 3550, H.323, E.164 */
        if ((p[0] == 'G' || p[0] == 'Q' || p[0] == 'H' || p[0] == 'E' || p[0] == 'T' ||
             p[0] == 'Y') &&
            p[1] == '.' && p[2] >= '0' && p[2] <= '9' &&
            (p == answer_text || !isalnum((unsigned char)p[-1]))) {
            p += 2;
            while (isalnum((unsigned char)*p) || *p == '.')
                p++;
            continue;
        }
        if (!strncmp(p, "RFC ", 4) && p[4] >= '0' && p[4] <= '9') {
            p += 4;
            while (*p >= '0' && *p <= '9')
                p++;
            continue;
        }
        if (*p >= '0' && *p <= '9' && (p == answer_text || !isalpha((unsigned char)p[-1]))) {
            const char *s = p;
            while ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9'))
                p++;
            if (isalpha((unsigned char)*p) && *p != 's' && *p != 'x') { /* a name: "2xx", "G729a" */
                while (isalnum((unsigned char)*p))
                    p++;
                continue;
            }
            if (memchr(s, '.', (size_t)(p - s)) != memrchr(s, '.', (size_t)(p - s)))
                continue; /* an address or a version (10.0.0.1): not a figure */
            if (!number_known(s, (size_t)(p - s), nums, n)) {
                snprintf(why, whysz, "it cites %.*s, which is not in the facts",
                         (int)(p - s > 40 ? 40 : p - s), s);
                rc = -1;
            }
            continue;
        }
        if (*p >= 'a' && *p <= 'z' && (p == answer_text || !isalnum((unsigned char)p[-1]))) {
            const char *s = p;
            bool under = false;
            while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
                under |= *p++ == '_';
            char code[64];
            snprintf(code, sizeof(code), "%.*s", (int)(p - s < 63 ? p - s : 63), s);
            size_t cl = strlen(code);
            while (cl && code[cl - 1] == '_')
                code[--cl] = 0;
            if (under && cl && !json_object_get(codes, code)) {
                snprintf(why, whysz, "it cites the code %s, which is not among the findings", code);
                rc = -1;
            }
            continue;
        }
        p++;
    }
    free(nums);
    json_decref(codes);
    return rc;
}
