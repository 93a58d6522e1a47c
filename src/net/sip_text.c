/*
 * sip_text.c - SIP messages from text, in the forms people paste: sngrep's text export, Asterisk's
 * `pjsip set logger` and chan_sip's `sip set debug on` output (with or without the log's
 * "[date time]" prefix), and raw messages one after another. Each message becomes a message of
 * a capture (sip.c keeps it), so dialogs and findings come out as from a pcap. A log names only
 * the far end's address: the PBX's own side is 0.0.0.0:0. Without timestamps (raw messages)
 * times are unknown and the dialogs' durations are null.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_int.h"

typedef struct reader {
    net_capture *c;
    const net_limits *lim;
    char *msg; /* the message being gathered, lines joined by CR LF */
    size_t len, cap;
    bool open;
    net_addr src, dst;
    uint16_t sport, dport;
    bool tcp;
    double ts; /* epoch seconds, or -1 */
    double first_ts;
    uint64_t num;
} reader;

/* "10.0.0.1:5060", "[2001:db8::1]:5060", "UDP:10.0.0.1:5060" into an address and a port. */
static bool parse_hostport(const char *s, size_t n, net_addr *a, uint16_t *port, bool *tcp)
{
    char t[80];
    if (n >= sizeof(t))
        return false;
    memcpy(t, s, n);
    t[n] = 0;
    char *h = t;
    for (const char *pfx[] = {"UDP:", "TCP:", "TLS:", "WS:", "WSS:"}, **q = pfx; q < pfx + 5; q++)
        if (!strncasecmp(h, *q, strlen(*q))) {
            if (tcp)
                *tcp = strncasecmp(h, "UDP:", 4) != 0;
            h += strlen(*q);
            break;
        }
    char *colon = strrchr(h, ':');
    if (!colon)
        return false;
    *colon = 0;
    *port = (uint16_t)atoi(colon + 1);
    if (*h == '[') {
        h++;
        char *e = strchr(h, ']');
        if (e)
            *e = 0;
    }
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, h, a->a) == 1) {
        a->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, h, a->a) == 1) {
        a->family = 6;
        return true;
    }
    return false;
}

/* A leading "[YYYY-MM-DD HH:MM:SS(.fff)]" or "YYYY/MM/DD HH:MM:SS(.ffffff)": epoch seconds
 * (UTC, as written), or -1. */
static double parse_time(const char *s)
{
    struct tm tm = {0};
    double frac = 0;
    int n = 0;
    if (*s == '[')
        s++;
    if (sscanf(s, "%4d%*[-/]%2d%*[-/]%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (s[n] == '.') {
        double f = 0.1;
        for (const char *q = s + n + 1; isdigit((unsigned char)*q); q++, f /= 10)
            frac += (*q - '0') * f;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + frac;
}

static void add_line(reader *r, const char *p, size_t n)
{
    if (r->len + n + 2 > NET_SIP_MAX * 2) /* longer than any message: kept to the limit */
        return;
    if (r->len + n + 2 > r->cap) {
        size_t nc = (r->len + n + 2) * 2;
        char *nm = realloc(r->msg, nc);
        if (!nm)
            return;
        r->msg = nm, r->cap = nc;
    }
    memcpy(r->msg + r->len, p, n);
    r->len += n;
    r->msg[r->len++] = '\r';
    r->msg[r->len++] = '\n';
}

/* The gathered message, out: its trailing blank lines dropped, unless it has a body. */
static void flush(reader *r)
{
    if (!r->open)
        return;
    r->open = false;
    size_t n = r->len;
    /* leading blank lines */
    size_t off = 0;
    while (off < n && (r->msg[off] == '\r' || r->msg[off] == '\n'))
        off++;
    if (off >= n)
        return;
    net_udp u = {.src = r->src,
                 .dst = r->dst,
                 .sport = r->sport,
                 .dport = r->dport,
                 .data = (const uint8_t *)r->msg + off,
                 .len = n - off,
                 .num = ++r->num};
    if (r->ts >= 0) {
        if (r->first_ts < 0)
            r->first_ts = r->ts;
        u.ts = r->ts;
        u.rel = r->ts - r->first_ts;
        u.rel_ms = u.rel * 1000;
        if (!r->c->packets)
            r->c->first_ts = r->ts;
        r->c->last_ts = r->ts;
    }
    r->c->packets++;
    r->c->bytes += u.len;
    net__sip_message(r->c, r->lim, &u, r->tcp);
}

static void start(reader *r, double ts, bool tcp)
{
    flush(r);
    r->open = true;
    r->len = 0;
    r->ts = ts;
    r->tcp = tcp;
}

static const net_addr k_local = {.family = 4};

/* A marker line of one of the log forms: start a message and say where it went. */
static bool marker(reader *r, const char *line, size_t n)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1), line);
    double ts = parse_time(buf);
    const char *m;
    net_addr a;
    uint16_t port = 0;
    bool tcp = false;
    /* sngrep: "2021/03/01 12:00:00.123456 10.0.0.1:5060 -> 10.0.0.2:5060" */
    if (ts >= 0 && (m = strstr(buf, " -> "))) {
        const char *sp = m;
        while (sp > buf && sp[-1] != ' ')
            sp--;
        const char *d = m + 4, *de = d;
        while (*de && !isspace((unsigned char)*de))
            de++;
        net_addr b;
        uint16_t bp = 0;
        if (parse_hostport(sp, (size_t)(m - sp), &a, &port, NULL) &&
            parse_hostport(d, (size_t)(de - d), &b, &bp, NULL)) {
            start(r, ts, false);
            r->src = a, r->sport = port, r->dst = b, r->dport = bp;
            return true;
        }
    }
    /* pjsip: "<--- Received SIP request (1098 bytes) from UDP:10.0.0.1:5060 --->"
     *        "<--- Transmitting SIP response (523 bytes) to UDP:10.0.0.1:5060 --->" */
    bool rx = (m = strstr(buf, "<--- Received SIP ")) != NULL;
    bool tx = !rx && (m = strstr(buf, "<--- Transmitting SIP ")) != NULL;
    /* chan_sip: "<--- SIP read from UDP:10.0.0.1:5060 --->"
     *           "<--- Transmitting (no NAT) to 10.0.0.1:5060 --->",
     *           "<--- Reliably Transmitting (NAT) to 10.0.0.1:5060 --->" */
    if (!rx && !tx) {
        rx = (m = strstr(buf, "<--- SIP read from ")) != NULL;
        tx = !rx && ((m = strstr(buf, "<--- Transmitting")) != NULL ||
                     (m = strstr(buf, "<--- Reliably Transmitting")) != NULL);
    }
    if (!rx && !tx)
        return false;
    const char *at = strstr(m, rx ? " from " : " to ");
    const char *end = at ? strstr(at, " --->") : NULL;
    if (!at || !end)
        return false;
    at += rx ? 6 : 4;
    if (!parse_hostport(at, (size_t)(end - at), &a, &port, &tcp))
        return false;
    start(r, ts, tcp);
    if (rx) {
        r->src = a, r->sport = port, r->dst = k_local, r->dport = 0;
    } else {
        r->src = k_local, r->sport = 0, r->dst = a, r->dport = port;
    }
    return true;
}

static bool is_sip_first_line(const char *p, size_t n)
{
    if (n >= 8 && !strncmp(p, "SIP/2.0 ", 8))
        return true;
    const char *e = p + n;
    return n > 8 && !memcmp(e - 8, " SIP/2.0", 8) && isupper((unsigned char)p[0]);
}

int net_sip_text_read(const char *text, size_t len, const net_limits *lim, net_capture **out,
                      char *err, size_t errsz)
{
    net_limits dl = net_default_limits();
    if (!lim)
        lim = &dl;
    *out = NULL;
    err[0] = 0;
    net_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    reader r = {.c = c, .lim = lim, .ts = -1, .first_ts = -1};
    bool any_marker = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        const char *next = eol ? eol + 1 : end;
        if (n && p[n - 1] == '\r')
            n--;
        if (memchr(p, 0, n)) { /* binary: not a text export */
            free(r.msg);
            net_capture_free(c);
            snprintf(err, errsz,
                     "not SIP text: it holds NUL bytes (a capture libpcap cannot "
                     "read?)");
            return -1;
        }
        if (marker(&r, p, n)) {
            any_marker = true;
        } else if (n >= 4 && !strncmp(p, "<---", 4)) { /* chan_sip's end line "<------------>" */
            flush(&r);
        } else if (!any_marker && is_sip_first_line(p, n)) { /* raw messages one after another */
            start(&r, -1, false);
            r.src = r.dst = k_local;
            add_line(&r, p, n);
        } else if (r.open) {
            add_line(&r, p, n);
        }
        p = next;
    }
    flush(&r);
    free(r.msg);
    if (!c->n_sip) {
        net_capture_free(c);
        snprintf(err, errsz,
                 "no SIP message found (raw messages, sngrep's text export, "
                 "`pjsip set logger` or `sip set debug` output)");
        return -1;
    }
    c->times_unknown = r.first_ts < 0;
    net__dialogs(c);
    net__findings(c);
    *out = c;
    return 0;
}
