/*
 * dialog.c - a capture's SIP messages grouped into dialogs by Call-ID, what each dialog says
 * about its call (the caller and the callee, post-dial delay, the answer, the final response,
 * who hung up and why, challenges, retransmissions, a missing ACK, hold and resume, the SDP
 * offer and answer, DTMF sent in SIP INFO), and the findings those facts support, each with its
 * evidence: the messages' frames and times (docs/network.md names every code).
 *
 * Facts first, judgement second, both pure: the findings are in the report's shape (cq_finding)
 * but are this room's memory, freed by net_capture_free.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net_int.h"

/* ---- Q.850 --------------------------------------------------------------------------------- */

const char *net_q850_text(int cause)
{
    switch (cause) { /* ITU-T Q.850 (05/1998) Table 1 */
    case 1: return "unallocated (unassigned) number";
    case 2: return "no route to specified transit network";
    case 3: return "no route to destination";
    case 6: return "channel unacceptable";
    case 16: return "normal call clearing";
    case 17: return "user busy";
    case 18: return "no user responding";
    case 19: return "no answer from user (user alerted)";
    case 20: return "subscriber absent";
    case 21: return "call rejected";
    case 22: return "number changed";
    case 25: return "exchange routing error";
    case 27: return "destination out of order";
    case 28: return "invalid number format";
    case 29: return "facility rejected";
    case 31: return "normal, unspecified";
    case 34: return "no circuit/channel available";
    case 38: return "network out of order";
    case 41: return "temporary failure";
    case 42: return "switching equipment congestion";
    case 44: return "requested circuit/channel not available";
    case 47: return "resource unavailable, unspecified";
    case 55: return "incoming calls barred within CUG";
    case 57: return "bearer capability not authorized";
    case 58: return "bearer capability not presently available";
    case 63: return "service or option not available, unspecified";
    case 65: return "bearer capability not implemented";
    case 79: return "service or option not implemented, unspecified";
    case 88: return "incompatible destination";
    case 102: return "recovery on timer expiry";
    case 111: return "protocol error, unspecified";
    case 127: return "interworking, unspecified";
    default: return NULL;
    }
}

/* ---- grouping ------------------------------------------------------------------------------ */

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static bool has_to_tag(const char *to)
{
    const char *t = strcasestr(to, ";tag=");
    return t != NULL;
}

/* The Reason header: "Q.850;cause=16;text=\"...\"" into the cause and a text. */
static void read_reason(const char *v, int *cause, char *text, size_t n)
{
    const char *q = strcasestr(v, "Q.850");
    const char *c = q ? strcasestr(q, "cause=") : NULL;
    if (c) {
        *cause = atoi(c + 6);
        const char *t = strcasestr(q, "text=\"");
        if (t) {
            t += 6;
            const char *e = strchr(t, '"');
            snprintf(text, n, "%.*s", (int)(e ? e - t : (long)strlen(t)), t);
        } else {
            const char *m = net_q850_text(*cause);
            snprintf(text, n, "%s", m ? m : "");
        }
    } else if (*v && !text[0]) {
        snprintf(text, n, "%s", v);
    }
}

/* DTMF in a SIP INFO body: application/dtmf-relay ("Signal=5"), or application/dtmf ("5"). */
static char info_digit(const net_sip_msg *m)
{
    if (!m->body || !m->body_len)
        return 0;
    if (strcasestr(m->content_type, "dtmf-relay")) {
        const char *s = strcasestr(m->body, "Signal=");
        if (s) {
            s += 7;
            while (*s == ' ')
                s++;
            char d = (char)toupper((unsigned char)*s);
            if (isdigit((unsigned char)d) || d == '*' || d == '#' || (d >= 'A' && d <= 'D'))
                return d;
            if (!strncmp(s, "10", 2))
                return '*';
            if (!strncmp(s, "11", 2))
                return '#';
        }
    } else if (strcasestr(m->content_type, "application/dtmf")) {
        char d = (char)toupper((unsigned char)m->body[0]);
        if (isdigit((unsigned char)d) || d == '*' || d == '#' || (d >= 'A' && d <= 'D'))
            return d;
    }
    return 0;
}

/* Was this message seen before in the dialog: the same direction, CSeq and method or status? */
static bool seen_before(const net_capture *c, const net_sip_dialog *d, size_t upto,
                        const net_sip_msg *m)
{
    for (size_t i = 0; i < upto; i++) {
        const net_sip_msg *o = &c->sip[d->msgs[i]];
        if (o->request == m->request && o->cseq == m->cseq &&
            !strcmp(o->cseq_method, m->cseq_method) && o->status == m->status &&
            o->sport == m->sport && o->dport == m->dport && net_addr_equal(&o->src, &m->src) &&
            net_addr_equal(&o->dst, &m->dst) && (!m->request || !strcmp(o->method, m->method)) &&
            (m->request || m->status >= 200))
            return true;
    }
    return false;
}

/* Is this message a copy of one captured just before it: the same bytes (but for Max-Forwards,
 * same_message) between the same addresses and ports within NET_MIRROR_SEC? A tracer that mirrors
 * each message twice makes such copies (Kamailio's siptrace, called in its script with its core
 * events on, sends a request twice: 0.2 to 1.7 ms apart in tests/net/test_sipnet.sh, more on a busy
 * proxy); an agent sending again waits its timer first (T1, 500 ms by default): a tenth of it tells
 * them apart. */
#define NET_MIRROR_SEC 0.050

/* The value of a message's Max-Forwards header, its span in *at and *end; -1 without one. */
static long max_forwards(const char *t, size_t len, size_t *at, size_t *end)
{
    static const char name[] = "\nMax-Forwards:";
    const size_t n = sizeof name - 1;
    for (size_t i = 0; i + n <= len; i++) {
        if (t[i] != '\n' || strncasecmp(t + i, name, n))
            continue;
        size_t j = i + n;
        while (j < len && (t[j] == ' ' || t[j] == '\t'))
            j++;
        size_t k = j;
        long v = 0;
        while (k < len && isdigit((unsigned char)t[k]) && v < 1000)
            v = v * 10 + (t[k++] - '0');
        if (k == j)
            return -1;
        *at = j, *end = k;
        return v;
    }
    return -1;
}

/* Is b the message a, byte for byte, but for a Max-Forwards one less? A proxy that traces a
 * request from its script after checking Max-Forwards (Kamailio's mf_process_maxfwd_header
 * lowers it where it lies) mirrors it so. */
static bool same_message(const net_sip_msg *a, const net_sip_msg *b)
{
    if (a->len == b->len && !memcmp(a->text, b->text, a->len))
        return true;
    size_t a0, a1, b0, b1;
    long va = max_forwards(a->text, a->len, &a0, &a1);
    long vb = max_forwards(b->text, b->len, &b0, &b1);
    if (va < 0 || vb < 0 || (vb != va - 1 && va != vb - 1) || a0 != b0 ||
        a->len - a1 != b->len - b1)
        return false;
    return !memcmp(a->text, b->text, a0) && !memcmp(a->text + a1, b->text + b1, a->len - a1);
}

static bool mirrored(const net_capture *c, const net_sip_dialog *d, size_t upto,
                     const net_sip_msg *m)
{
    for (size_t i = upto; i-- > 0;) {
        const net_sip_msg *o = &c->sip[d->msgs[i]];
        if (m->rel_sec - o->rel_sec > NET_MIRROR_SEC)
            return false;
        if (o->sport == m->sport && o->dport == m->dport && net_addr_equal(&o->src, &m->src) &&
            net_addr_equal(&o->dst, &m->dst) && same_message(o, m))
            return true;
    }
    return false;
}

static void facts(const net_capture *c, net_sip_dialog *d)
{
    const net_sip_msg *first = &c->sip[d->msgs[0]];
    d->call_id = first->call_id;
    d->start_sec = first->rel_sec;
    d->end_sec = c->sip[d->msgs[d->n_msgs - 1]].rel_sec;
    d->pdd_sec = d->answer_sec = d->talk_sec = -1;
    d->q850_cause = -1;
    const net_sip_msg *req = NULL;
    for (size_t i = 0; i < d->n_msgs && !req; i++)
        if (c->sip[d->msgs[i]].request)
            req = &c->sip[d->msgs[i]];
    if (!req)
        req = first;
    d->method = req->request ? req->method : req->cseq_method;
    d->from = req->from, d->to = req->to;
    d->caller = req->request ? req->src : req->dst;
    d->callee = req->request ? req->dst : req->src;
    d->caller_port = req->request ? req->sport : req->dport;
    d->callee_port = req->request ? req->dport : req->sport;
    double t_invite = NAN, t_answer = NAN; /* not yet seen (a time may be < 0: HEP's own times
                                              can come before the capture's first frame) */
    bool answered = false;
    int n_info = 0;
    for (size_t i = 0; i < d->n_msgs; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        bool again = seen_before(c, d, i, m);
        bool copy = again && mirrored(c, d, i, m);
        d->retransmissions += again && !copy;
        d->mirrored += copy;
        bool invite = !strcmp(m->cseq_method, "INVITE");
        if (m->request && !strcmp(m->method, "INVITE")) {
            net_sdp sdp;
            bool has_sdp = m->body && net_sdp_parse(m->body, m->body_len, &sdp);
            if (!has_to_tag(m->to)) { /* an initial INVITE (or one sent again, challenged) */
                if (isnan(t_invite))
                    t_invite = m->rel_sec;
                if (has_sdp && !d->offer.present)
                    d->offer = sdp;
            } else if (has_sdp && !again) { /* a re-INVITE: hold or resume */
                bool hold = !strcmp(sdp.direction, "sendonly") ||
                            !strcmp(sdp.direction, "inactive") || sdp.hold_addr;
                if (hold)
                    d->on_hold = true;
                else if (d->on_hold)
                    d->resumed = true;
            }
        }
        if (!m->request && invite && !answered) {
            if (m->status >= 180 && m->status < 190 && d->pdd_sec < 0 && !isnan(t_invite))
                d->pdd_sec = m->rel_sec - t_invite;
            if (m->status == 183 && m->body && !d->answer.present)
                net_sdp_parse(m->body, m->body_len, &d->answer);
            if (m->status == 401 || m->status == 407)
                d->challenges += !again;
            if (m->status >= 200 && m->status < 300) {
                answered = true;
                t_answer = m->rel_sec;
                d->final_status = m->status;
                d->final_reason = m->reason;
                if (!isnan(t_invite))
                    d->answer_sec = m->rel_sec - t_invite;
                if (m->body) {
                    net_sdp sdp;
                    if (net_sdp_parse(m->body, m->body_len, &sdp))
                        d->answer = sdp;
                }
            } else if (m->status >= 300) {
                d->final_status = m->status;
                d->final_reason = m->reason;
                if (m->reason_hdr[0])
                    read_reason(m->reason_hdr, &d->q850_cause, d->reason_text,
                                sizeof(d->reason_text));
            }
        } else if (!m->request && !invite && !strcmp(d->method, m->cseq_method)) {
            if (m->status == 401 || m->status == 407)
                d->challenges += !again;
            if (m->status >= 200 && !d->final_status)
                d->final_status = m->status, d->final_reason = m->reason;
            else if (m->status >= 200 && d->final_status >= 300)
                d->final_status = m->status, d->final_reason = m->reason;
        }
        if (m->request && !strcmp(m->method, "ACK") && answered && !d->offer.present && m->body) {
            net_sdp sdp; /* a late offer: the INVITE had none, the ACK answers the 2xx's */
            if (net_sdp_parse(m->body, m->body_len, &sdp))
                d->offer = sdp;
        }
        if (m->request && !strcmp(m->method, "CANCEL") && !again) {
            d->cancelled = true; /* a pending INVITE (a branch, when another answered) */
            if (!answered)
                d->hangup = NET_HANGUP_CALLER;
            if (m->reason_hdr[0])
                read_reason(m->reason_hdr, &d->q850_cause, d->reason_text, sizeof(d->reason_text));
        }
        if (m->request && !strcmp(m->method, "BYE") && d->hangup == NET_HANGUP_NONE) {
            d->hangup = net_addr_equal(&m->src, &d->caller) ? NET_HANGUP_CALLER : NET_HANGUP_CALLEE;
            if (!isnan(t_answer))
                d->talk_sec = m->rel_sec - t_answer;
            if (m->reason_hdr[0])
                read_reason(m->reason_hdr, &d->q850_cause, d->reason_text, sizeof(d->reason_text));
        }
        if (m->request && !strcmp(m->method, "INFO") && !again) {
            char dg = info_digit(m);
            if (dg && n_info < (int)sizeof(d->info_digits) - 1)
                d->info_digits[n_info++] = dg;
        }
    }
    if (d->hangup == NET_HANGUP_NONE && !answered && d->final_status >= 300 &&
        !strcmp(d->method, "INVITE"))
        d->hangup = NET_HANGUP_REJECTED;
    if (c->times_unknown) /* SIP text without timestamps */
        d->pdd_sec = d->answer_sec = d->talk_sec = -1;
    /* a 2xx to an INVITE wants an ACK with its CSeq number (RFC 3261 section 13.2.2.4) */
    for (size_t i = 0; i < d->n_msgs; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        if (m->request || m->status < 200 || m->status >= 300 || strcmp(m->cseq_method, "INVITE"))
            continue;
        bool acked = false;
        for (size_t j = i + 1; j < d->n_msgs && !acked; j++) {
            const net_sip_msg *a = &c->sip[d->msgs[j]];
            acked = a->request && !strcmp(a->method, "ACK") && a->cseq == m->cseq;
        }
        if (!acked)
            d->ack_missing = true;
    }
}

/* ---- the streams of the dialogs -------------------------------------------------------------
 *
 * A dialog's streams are those sent to or from the address and port of its SDP offer or answer.
 * Every address and port a stream uses is an endpoint with the list of its streams (in capture
 * order), so that a dialog reads the lists of its two endpoints, not every stream: the work is
 * the streams plus, per dialog, what it keeps. */

typedef struct ep_index {
    net_addr *addr; /* each endpoint's address and port */
    uint16_t *port;
    size_t n, nslot;
    size_t *slot;  /* endpoint + 1, open addressing */
    size_t *start; /* CSR: the streams of endpoint e are list[start[e] .. start[e + 1]) */
    size_t *list;
    size_t *pair_slot; /* the streams between two endpoints: (a, b) with a < b, counted */
    uint64_t *pair_key;
    size_t *pair_n;
    size_t npair_slot;
} ep_index;

static uint32_t ep_hash(const net_addr *a, uint16_t port)
{
    uint32_t h = 2166136261u ^ a->family;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->a[i]) * 16777619u;
    return (h ^ port) * 16777619u;
}

/* The endpoint of a:port, SIZE_MAX when none has it (add: made when missing). */
static size_t ep_find(ep_index *x, const net_addr *a, uint16_t port, bool add)
{
    for (size_t k = ep_hash(a, port) & (x->nslot - 1);; k = (k + 1) & (x->nslot - 1)) {
        size_t e = x->slot[k];
        if (!e) {
            if (!add)
                return SIZE_MAX;
            x->addr[x->n] = *a;
            x->port[x->n] = port;
            x->slot[k] = ++x->n;
            return x->n - 1;
        }
        if (x->port[e - 1] == port && net_addr_equal(&x->addr[e - 1], a))
            return e - 1;
    }
}

/* The slot of the pair (a, b), a < b: its count in pair_n (add: made when missing). */
static size_t *pair_of(ep_index *x, size_t a, size_t b, bool add)
{
    uint64_t key = (uint64_t)a << 32 | (uint64_t)b;
    for (size_t k = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (x->npair_slot - 1);;
         k = (k + 1) & (x->npair_slot - 1)) {
        if (!x->pair_slot[k]) {
            if (!add)
                return NULL;
            x->pair_slot[k] = 1;
            x->pair_key[k] = key;
            x->pair_n[k] = 0;
            return &x->pair_n[k];
        }
        if (x->pair_key[k] == key)
            return &x->pair_n[k];
    }
}

static void ep_free(ep_index *x)
{
    free(x->addr), free(x->port), free(x->slot), free(x->start), free(x->list);
    free(x->pair_slot), free(x->pair_key), free(x->pair_n);
}

/* The endpoints of the capture's streams (the streams are fewer than 2^32: net_limits). */
static bool ep_build(const net_capture *c, ep_index *x)
{
    size_t ns = c->n_streams;
    memset(x, 0, sizeof(*x));
    x->nslot = 64;
    while (x->nslot < ns * 4)
        x->nslot *= 2;
    x->npair_slot = x->nslot / 2;
    size_t *ep = malloc((ns ? ns : 1) * 2 * sizeof(size_t));
    x->addr = malloc((ns ? ns : 1) * 2 * sizeof(net_addr));
    x->port = malloc((ns ? ns : 1) * 2 * sizeof(uint16_t));
    x->slot = calloc(x->nslot, sizeof(size_t));
    x->pair_slot = calloc(x->npair_slot, sizeof(size_t));
    x->pair_key = malloc(x->npair_slot * sizeof(uint64_t));
    x->pair_n = malloc(x->npair_slot * sizeof(size_t));
    if (!ep || !x->addr || !x->port || !x->slot || !x->pair_slot || !x->pair_key || !x->pair_n) {
        free(ep);
        ep_free(x);
        return false;
    }
    for (size_t i = 0; i < ns; i++) {
        const net_rtp_stream *s = &c->streams[i];
        ep[2 * i] = ep_find(x, &s->src, s->sport, true);
        ep[2 * i + 1] = ep_find(x, &s->dst, s->dport, true);
        size_t a = ep[2 * i], b = ep[2 * i + 1];
        if (a != b)
            ++*pair_of(x, a < b ? a : b, a < b ? b : a, true);
    }
    x->start = calloc(x->n + 1, sizeof(size_t));
    x->list = malloc((ns ? ns : 1) * 2 * sizeof(size_t));
    if (!x->start || !x->list) {
        free(ep);
        ep_free(x);
        return false;
    }
    for (size_t i = 0; i < ns; i++) { /* a stream from and to the same endpoint is listed once */
        x->start[ep[2 * i] + 1]++;
        if (ep[2 * i + 1] != ep[2 * i])
            x->start[ep[2 * i + 1] + 1]++;
    }
    for (size_t e = 0; e < x->n; e++)
        x->start[e + 1] += x->start[e];
    size_t *fill = calloc(x->n ? x->n : 1, sizeof(size_t));
    if (!fill) {
        free(ep);
        ep_free(x);
        return false;
    }
    for (size_t i = 0; i < ns; i++) {
        size_t a = ep[2 * i], b = ep[2 * i + 1];
        x->list[x->start[a] + fill[a]++] = i;
        if (b != a)
            x->list[x->start[b] + fill[b]++] = i;
    }
    free(fill);
    free(ep);
    return true;
}

/* The endpoint of an SDP's media, SIZE_MAX when no stream uses it. */
static size_t sdp_ep(ep_index *x, const net_sdp *sd)
{
    return sd->present ? ep_find(x, &sd->addr, sd->port, false) : SIZE_MAX;
}

/* A dialog's streams: the two endpoints' lists merged in capture order, at most max of them;
 * the rest counted. */
static void link_streams(net_capture *c, ep_index *x, net_sip_dialog *d, size_t max)
{
    size_t e[2] = {sdp_ep(x, &d->offer), sdp_ep(x, &d->answer)};
    if (e[0] == e[1])
        e[1] = SIZE_MAX;
    if (e[0] == SIZE_MAX)
        e[0] = e[1], e[1] = SIZE_MAX;
    if (e[0] == SIZE_MAX)
        return;
    size_t n[2], *l[2], total = 0;
    for (int k = 0; k < 2; k++) {
        n[k] = e[k] == SIZE_MAX ? 0 : x->start[e[k] + 1] - x->start[e[k]];
        l[k] = e[k] == SIZE_MAX ? NULL : x->list + x->start[e[k]];
        total += n[k];
    }
    if (e[1] != SIZE_MAX) { /* a stream between the two is in both lists */
        size_t *both = pair_of(x, e[0] < e[1] ? e[0] : e[1], e[0] < e[1] ? e[1] : e[0], false);
        total -= both ? *both : 0;
    }
    size_t keep = total < max ? total : max;
    if (!keep || !(d->streams = malloc(keep * sizeof(size_t))))
        return;
    size_t i = 0, j = 0;
    while (d->n_streams < keep) {
        size_t a = i < n[0] ? l[0][i] : SIZE_MAX, b = j < n[1] ? l[1][j] : SIZE_MAX;
        d->streams[d->n_streams++] = a < b ? a : b;
        i += a <= b, j += b <= a;
    }
    c->dialog_streams_dropped += total - keep;
}

/* ---- grouping -------------------------------------------------------------------------------- */

#define DROPPED ((size_t)1 << (sizeof(size_t) * 8 - 1)) /* a slot of a Call-ID not kept */

void net__dialogs(net_capture *c, const net_limits *lim)
{
    if (!c->n_sip)
        return;
    size_t nslot = 64;
    while (nslot < c->n_sip * 2)
        nslot *= 2;
    /* slot: a dialog's index + 1; or, for a Call-ID past max_dialogs, DROPPED | its first
     * message's index + 1 (each Call-ID is counted once) */
    size_t *slot = calloc(nslot, sizeof(size_t));
    size_t *of = malloc(c->n_sip * sizeof(size_t)); /* each message's dialog, SIZE_MAX none */
    size_t *count = NULL, cap = 0;
    if (!slot || !of)
        goto done;
    for (size_t i = 0; i < c->n_sip; i++) { /* each message's dialog, by Call-ID */
        const char *id = c->sip[i].call_id;
        size_t k = str_hash(id) & (nslot - 1);
        for (;; k = (k + 1) & (nslot - 1)) {
            size_t v = slot[k];
            if (!v) {
                if (c->n_dialogs >= lim->max_dialogs) {
                    slot[k] = DROPPED | (i + 1);
                    c->dialogs_dropped++;
                    break;
                }
                if (c->n_dialogs == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    net_sip_dialog *nd = realloc(c->dialogs, nc * sizeof(*nd));
                    size_t *nn = nd ? realloc(count, nc * sizeof(*nn)) : NULL;
                    if (nd)
                        c->dialogs = nd;
                    if (!nn) { /* out of memory: no dialog rather than half of them */
                        c->n_dialogs = 0;
                        goto done;
                    }
                    count = nn, cap = nc;
                }
                memset(&c->dialogs[c->n_dialogs], 0, sizeof(net_sip_dialog));
                c->dialogs[c->n_dialogs].call_id = id;
                count[c->n_dialogs] = 0;
                slot[k] = ++c->n_dialogs;
                break;
            }
            const char *other =
                v & DROPPED ? c->sip[(v & ~DROPPED) - 1].call_id : c->dialogs[v - 1].call_id;
            if (!strcmp(other, id))
                break;
        }
        of[i] = slot[k] & DROPPED ? SIZE_MAX : slot[k] - 1;
        if (of[i] != SIZE_MAX && count[of[i]] >= lim->max_dialog_msgs) {
            c->dialog_msgs_dropped++;
            of[i] = SIZE_MAX;
        } else if (of[i] != SIZE_MAX) {
            count[of[i]]++;
        }
    }
    for (size_t d = 0; d < c->n_dialogs; d++)
        c->dialogs[d].msgs = malloc((count[d] ? count[d] : 1) * sizeof(size_t));
    for (size_t i = 0; i < c->n_sip; i++) {
        net_sip_dialog *d = of[i] != SIZE_MAX ? &c->dialogs[of[i]] : NULL;
        if (d && d->msgs)
            d->msgs[d->n_msgs++] = i;
    }
    ep_index x;
    bool have_ep = c->n_streams && ep_build(c, &x);
    for (size_t d = 0; d < c->n_dialogs; d++)
        if (c->dialogs[d].n_msgs) {
            facts(c, &c->dialogs[d]);
            if (have_ep)
                link_streams(c, &x, &c->dialogs[d], lim->max_dialog_streams);
        }
    if (have_ep)
        ep_free(&x);
    net__legs(c);
done:
    free(slot), free(of), free(count);
}

void net__dialogs_free(net_capture *c)
{
    for (size_t d = 0; d < c->n_dialogs; d++) {
        free(c->dialogs[d].msgs);
        free(c->dialogs[d].streams);
    }
    free(c->dialogs);
}
