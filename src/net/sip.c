/*
 * sip.c - SIP messages out of a capture: a datagram on any port whose first line is a SIP
 * request or status line (RFC 3261 section 7.1-7.2: "METHOD URI SIP/2.0", "SIP/2.0 CODE
 * REASON"), and the messages of a TCP stream put back together from its segments (headers up to
 * the empty line, then Content-Length bytes of body: several messages in one segment, or one
 * across several). Each message is kept whole, with its first line and the headers a dialog
 * needs parsed out (compact forms included: i, f, t, v, m, c, l).
 *
 * Bounds: NET_SIP_MAX bytes a message, net_limits.max_sip messages and max_sip_bytes of text
 * and of TCP buffers in all; what does not fit is counted (sip_dropped), never cut silently. A
 * TCP stream with a hole in its bytes starts again at the next segment that opens a message.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

/* ---- the first line ------------------------------------------------------------------------- */

/* Is [p, p+k) a SIP request or status line? *request, and the method's or the code's place. */
static bool first_line(const char *p, long k, bool *request)
{
    if (k < 12 || !isprint((unsigned char)p[0]) || memchr(p, 0, (size_t)k))
        return false;
    const char *sp1 = memchr(p, ' ', (size_t)k);
    if (!sp1)
        return false;
    if (sp1 - p == 7 && !memcmp(p, "SIP/2.0", 7)) { /* a status line: three digits, then space */
        const char *c = sp1 + 1;
        if (p + k - c < 3 || !isdigit((unsigned char)c[0]) || !isdigit((unsigned char)c[1]) ||
            !isdigit((unsigned char)c[2]) || (p + k - c > 3 && c[3] != ' '))
            return false;
        *request = false;
        return true;
    }
    const char *uri = sp1 + 1;
    const char *sp2 = memchr(uri, ' ', (size_t)(p + k - uri));
    if (!sp2 || sp2 - uri < 3 || !memchr(uri + 1, ':', (size_t)(sp2 - uri - 1)))
        return false;
    if (p + k - (sp2 + 1) != 7 || memcmp(sp2 + 1, "SIP/2.0", 7))
        return false;
    *request = true;
    return true;
}

/* ---- headers -------------------------------------------------------------------------------- */

/* The end of the header block: the offset of the body, or 0 when the empty line is not in n. */
static size_t headers_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i + 1] == '\n')
            return i + 2;
        if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* ---- keeping a message ----------------------------------------------------------------------
 *
 * A message is one allocation: its text, then each parsed string after it (a capture keeps up
 * to max_sip of them: a dozen small allocations each would cost more than the text). */

void net__sip_msg_free(net_sip_msg *m)
{
    free(m->text);
    m->text = NULL;
}

bool net__sip_copy(net_sip_msg *to, const net_sip_msg *m)
{
    /* the block ends with CSeq's method, the last string put in it (keep) */
    size_t n = (size_t)(m->cseq_method - m->text) + strlen(m->cseq_method) + 1;
    *to = *m;
    if (!(to->text = malloc(n)))
        return false;
    memcpy(to->text, m->text, n);
    char **f[] = {&to->method,     &to->uri,          &to->reason,     &to->call_id,
                  &to->from,       &to->to,           &to->via,        &to->contact,
                  &to->user_agent, &to->content_type, &to->reason_hdr, &to->cseq_method};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (*f[i])
            *f[i] = to->text + (*f[i] - m->text);
    if (m->body)
        to->body = to->text + (m->body - m->text);
    return true;
}

/* Keep the message [p, p+n) whose body starts at `body` (n when none); false when a limit or
 * memory refused it (counted). */
static bool keep(net_capture *c, const net_limits *lim, const net_udp *u, bool tcp, const char *p,
                 size_t n, size_t body)
{
    if (c->n_sip >= lim->max_sip || c->sip_bytes + n > lim->max_sip_bytes || n > NET_SIP_MAX) {
        c->sip_dropped++;
        return false;
    }
    if (c->n_sip % 256 == 0) {
        net_sip_msg *ns = realloc(c->sip, (c->n_sip + 256) * sizeof(*ns));
        if (!ns) {
            c->sip_dropped++;
            return false;
        }
        c->sip = ns;
    }
    /* the first line and the headers, read from the text where it lies */
    net_sip_msg tmp = {.text = (char *)p, .len = n, .body = body < n ? p + body : NULL};
    long k = net__line_len(p, n);
    bool request = false;
    first_line(p, k, &request);
    const char *sp1 = memchr(p, ' ', (size_t)k);
    const char *part[2] = {NULL, NULL}; /* method and URI, or the reason phrase */
    size_t plen[2] = {0, 0};
    int status = 0;
    if (request) {
        const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(p + k - sp1 - 1));
        part[0] = p, plen[0] = (size_t)(sp1 - p);
        part[1] = sp1 + 1, plen[1] = (size_t)(sp2 - sp1 - 1);
    } else {
        status = atoi(sp1 + 1);
        const char *r = sp1 + 4;
        while (r < p + k && *r == ' ')
            r++;
        part[0] = r, plen[0] = (size_t)(p + k > r ? p + k - r : 0);
    }
    static const struct {
        const char *name;
        char compact;
    } hdr[] = {{"Call-ID", 'i'}, {"From", 'f'},     {"To", 't'},           {"Via", 'v'},
               {"Contact", 'm'}, {"User-Agent", 0}, {"Content-Type", 'c'}, {"Reason", 0}};
    enum { NH = sizeof(hdr) / sizeof(hdr[0]) };
    char val[NH][1024];
    size_t vlen[NH], total = n + 1 + plen[0] + 1 + plen[1] + 1;
    for (int h = 0; h < NH; h++) {
        if (!net_sip_header(&tmp, hdr[h].name, hdr[h].compact, val[h], sizeof(val[h])))
            val[h][0] = 0;
        vlen[h] = strlen(val[h]);
        total += vlen[h] + 1;
    }
    char cs[128];
    const char *cv = net_sip_header(&tmp, "CSeq", 0, cs, sizeof(cs));
    char meth[64] = "";
    unsigned long num = 0;
    if (cv && sscanf(cv, "%lu %63s", &num, meth) < 1)
        num = 0;
    total += strlen(meth) + 1;
    char *block = malloc(total);
    if (!block) {
        c->sip_dropped++;
        return false;
    }
    net_sip_msg *m = &c->sip[c->n_sip];
    *m = (net_sip_msg){.frame = u->num,
                       .rel_sec = u->rel,
                       .src = u->src,
                       .dst = u->dst,
                       .sport = u->sport,
                       .dport = u->dport,
                       .tcp = tcp,
                       .request = request,
                       .status = status,
                       .cseq = (uint32_t)num,
                       .text = block,
                       .len = n};
    memcpy(block, p, n);
    block[n] = 0;
    char *w = block + n + 1;
#define PUT(dst, src, len)                                                                         \
    do {                                                                                           \
        memcpy(w, (src), (len));                                                                   \
        w[(len)] = 0;                                                                              \
        (dst) = w;                                                                                 \
        w += (len) + 1;                                                                            \
    } while (0)
    if (request) {
        PUT(m->method, part[0], plen[0]);
        PUT(m->uri, part[1], plen[1]);
    } else {
        PUT(m->reason, part[0], plen[0]);
    }
    char **field[NH] = {&m->call_id, &m->from,       &m->to,           &m->via,
                        &m->contact, &m->user_agent, &m->content_type, &m->reason_hdr};
    for (int h = 0; h < NH; h++)
        PUT(*field[h], val[h], vlen[h]);
    PUT(m->cseq_method, meth, strlen(meth));
#undef PUT
    if (body < n) {
        m->body = m->text + body;
        m->body_len = n - body;
    }
    c->n_sip++;
    c->sip_bytes += n;
    net_sdp sdp; /* an offer, or an answer below 400: media to its address maps its types */
    if (m->body && (request || m->status < 400) && strcasestr(m->content_type, "application/sdp") &&
        net_sdp_parse(m->body, m->body_len, &sdp))
        net__sdp_seen(c, &sdp);
    return true;
}

/* The Content-Length of a header block (compact "l"), or -1 when absent or not a number. */
static long content_length(const char *p, size_t hdr_end)
{
    net_sip_msg tmp = {.text = (char *)p, .len = hdr_end, .body = p + hdr_end};
    char buf[32];
    const char *v = net_sip_header(&tmp, "Content-Length", 'l', buf, sizeof(buf));
    if (!v || !isdigit((unsigned char)v[0]))
        return -1;
    char *e;
    long n = strtol(v, &e, 10);
    return *e == 0 && n >= 0 && n <= NET_SIP_MAX ? n : -1;
}

/* ---- UDP ------------------------------------------------------------------------------------ */

/* A message of [u->data, +len) when its first line is SIP's: a datagram is kept whole (its
 * body is the rest, as on the wire); text from elsewhere is cut at its Content-Length. */
static bool one_message(net_capture *c, const net_limits *lim, const net_udp *u, bool tcp, bool cut)
{
    const char *p = (const char *)u->data;
    long k = net__line_len(p, u->len);
    bool request;
    if (k < 0 || !first_line(p, k, &request))
        return false;
    size_t he = headers_end(p, u->len);
    long cl = cut && he ? content_length(p, he) : -1;
    size_t n = cl >= 0 && he + (size_t)cl <= u->len ? he + (size_t)cl : u->len;
    keep(c, lim, u, tcp, p, n, he ? he : n);
    return true;
}

bool net__sip_udp(net_capture *c, const net_limits *lim, const net_udp *u)
{
    return one_message(c, lim, u, false, false);
}

bool net__sip_message(net_capture *c, const net_limits *lim, const net_udp *u, bool tcp)
{
    return one_message(c, lim, u, tcp, true);
}

/* ---- TCP ------------------------------------------------------------------------------------ */

typedef struct tcp_flow {
    net_addr src, dst;
    uint16_t sport, dport;
    uint32_t next_seq;
    bool live; /* in step with a message boundary */
    char *buf; /* bytes not yet a whole message */
    size_t len, cap;
    uint32_t hash;
} tcp_flow;

struct net_tcp_flows {
    tcp_flow *f;
    size_t n, cap;
    size_t *slot; /* index + 1 */
    size_t nslot;
    size_t bytes; /* held in the buffers */
};

static uint32_t flow_hash(const net_udp *u)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ u->src.a[i]) * 16777619u, h = (h ^ u->dst.a[i]) * 16777619u;
    h = (h ^ u->sport) * 16777619u;
    return (h ^ u->dport) * 16777619u;
}

static tcp_flow *flow_of(net_capture *c, const net_limits *lim, const net_udp *u)
{
    struct net_tcp_flows *t = c->tcp_flows;
    if (!t && !(t = c->tcp_flows = calloc(1, sizeof(*t))))
        return NULL;
    uint32_t h = flow_hash(u);
    for (size_t k = t->nslot ? h & (t->nslot - 1) : 0; t->nslot && t->slot[k];
         k = (k + 1) & (t->nslot - 1)) {
        tcp_flow *f = &t->f[t->slot[k] - 1];
        if (f->hash == h && f->sport == u->sport && f->dport == u->dport &&
            net_addr_equal(&f->src, &u->src) && net_addr_equal(&f->dst, &u->dst))
            return f;
    }
    if (t->n >= lim->max_streams)
        return NULL;
    if ((t->n + 1) * 2 > t->nslot) {
        size_t ns = t->nslot ? t->nslot * 2 : 64;
        size_t *sl = calloc(ns, sizeof(size_t));
        if (!sl)
            return NULL;
        for (size_t i = 0; i < t->n; i++) {
            size_t k = t->f[i].hash & (ns - 1);
            while (sl[k])
                k = (k + 1) & (ns - 1);
            sl[k] = i + 1;
        }
        free(t->slot);
        t->slot = sl, t->nslot = ns;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        tcp_flow *nf = realloc(t->f, nc * sizeof(*nf));
        if (!nf)
            return NULL;
        t->f = nf, t->cap = nc;
    }
    tcp_flow *f = &t->f[t->n];
    *f = (tcp_flow){.src = u->src, .dst = u->dst, .sport = u->sport, .dport = u->dport, .hash = h};
    size_t k = h & (t->nslot - 1);
    while (t->slot[k])
        k = (k + 1) & (t->nslot - 1);
    t->slot[k] = ++t->n;
    return f;
}

static void flow_reset(struct net_tcp_flows *t, tcp_flow *f)
{
    t->bytes -= f->len;
    f->len = 0;
    f->live = false;
}

/* The whole messages at the front of the flow's buffer, out. */
static void drain(net_capture *c, const net_limits *lim, tcp_flow *f, const net_udp *u)
{
    struct net_tcp_flows *t = c->tcp_flows;
    size_t off = 0;
    while (off < f->len) {
        /* keep-alive CRLFs between messages (RFC 5626) */
        while (off < f->len && (f->buf[off] == '\r' || f->buf[off] == '\n'))
            off++;
        const char *p = f->buf + off;
        size_t n = f->len - off;
        long k = net__line_len(p, n);
        bool request;
        if (k < 0)
            break;                         /* the first line is not all here yet */
        if (!first_line(p, k, &request)) { /* out of step: wait for the next message's start */
            off = f->len;
            f->live = false;
            break;
        }
        size_t he = headers_end(p, n);
        if (!he)
            break;
        long cl = content_length(p, he);
        size_t total = he + (size_t)(cl > 0 ? cl : 0);
        if (total > n)
            break;
        keep(c, lim, u, true, p, total, cl > 0 ? he : total);
        off += total;
    }
    if (off) {
        memmove(f->buf, f->buf + off, f->len - off);
        f->len -= off;
        t->bytes -= off;
    }
    if (f->len > NET_SIP_MAX) { /* no message ends within the limit: drop it, count it */
        c->sip_dropped++;
        flow_reset(t, f);
    }
}

void net__sip_tcp(net_capture *c, const net_limits *lim, const net_tcp *seg)
{
    const net_udp *u = &seg->u;
    if (!u->len)
        return;
    tcp_flow *f = flow_of(c, lim, u);
    if (!f)
        return;
    struct net_tcp_flows *t = c->tcp_flows;
    const char *p = (const char *)u->data;
    size_t n = u->len;
    if (f->live) {
        int32_t d = (int32_t)(seg->seq - f->next_seq);
        if (d < 0) { /* a retransmission, whole or in part */
            if ((size_t) - (int64_t)d >= n)
                return;
            p += -d, n -= (size_t)-d;
        } else if (d > 0) { /* a hole: what was waiting cannot be completed */
            c->tcp_gaps++;
            flow_reset(t, f);
        }
    }
    if (!f->live) { /* start at a segment that opens a message */
        long k = net__line_len(p, n);
        bool request;
        if (k < 0 || !first_line(p, k, &request))
            return;
        f->live = true;
    }
    f->next_seq = seg->seq + (uint32_t)u->len;
    if (t->bytes + n > lim->max_sip_bytes) {
        c->sip_dropped++;
        flow_reset(t, f);
        return;
    }
    if (f->len + n > f->cap) {
        size_t nc = (f->len + n) * 2;
        char *nb = realloc(f->buf, nc);
        if (!nb) {
            flow_reset(t, f);
            return;
        }
        f->buf = nb, f->cap = nc;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    t->bytes += n;
    drain(c, lim, f, u);
}

void net__sip_free(net_capture *c)
{
    for (size_t i = 0; i < c->n_sip; i++)
        net__sip_msg_free(&c->sip[i]);
    free(c->sip);
    struct net_tcp_flows *t = c->tcp_flows;
    if (t) {
        for (size_t i = 0; i < t->n; i++)
            free(t->f[i].buf);
        free(t->f);
        free(t->slot);
        free(t);
    }
}
