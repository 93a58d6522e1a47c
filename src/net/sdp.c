/*
 * sdp.c - the audio of an SDP body (RFC 4566; offer and answer, RFC 3264): the connection
 * address (media level over session level), the audio m= line's port, protocol and payload
 * types, their rtpmap names and rates, ptime, and the direction (a hold is sendonly, inactive
 * or the old c=0.0.0.0). Only the first audio m= line is read.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

static bool parse_addr(const char *v, net_addr *a)
{
    char t[64];
    if (sscanf(v, "IN IP4 %63s", t) == 1) {
        char *slash = strchr(t, '/'); /* multicast TTL */
        if (slash)
            *slash = 0;
        a->family = 4;
        return inet_pton(AF_INET, t, a->a) == 1;
    }
    if (sscanf(v, "IN IP6 %63s", t) == 1) {
        a->family = 6;
        return inet_pton(AF_INET6, t, a->a) == 1;
    }
    return false;
}

bool net_sdp_parse(const char *body, size_t len, net_sdp *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->direction, sizeof(out->direction), "sendrecv");
    net_addr session = {0};
    bool have_session = false, in_audio = false, have_media_c = false, done = false;
    bool media_dir = false;
    char session_dir[10] = "";
    const char *p = body, *end = body + len;
    while (p < end && !done) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        size_t n = (size_t)(eol - p);
        if (n && p[n - 1] == '\r')
            n--;
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
        p = eol < end ? eol + 1 : end;
        if (strlen(line) < 2 || line[1] != '=')
            continue;
        const char *v = line + 2;
        switch (line[0]) {
        case 'm':
            if (in_audio) { /* the next m= line ends the audio's description */
                done = true;
                break;
            }
            if (!strncmp(v, "audio ", 6)) {
                in_audio = out->present = true;
                unsigned port = 0;
                int used = 0;
                if (sscanf(v + 6, "%u%*[^ ] %23s %n", &port, out->proto, &used) < 2 &&
                    sscanf(v + 6, "%u %23s %n", &port, out->proto, &used) < 2)
                    break;
                out->port = (uint16_t)port;
                const char *q = v + 6 + used;
                while (*q && out->n_pts < NET_SDP_MAX_PT) {
                    char *e;
                    long pt = strtol(q, &e, 10);
                    if (e == q)
                        break;
                    if (pt >= 0 && pt < 128) {
                        int k = out->n_pts++;
                        out->pts[k] = (int)pt;
                        const char *nm = net_pt_name((unsigned)pt);
                        if (pt < 35 && nm) { /* RFC 3551's static names */
                            static const char *const mime[35] = {
                                [0] = "PCMU", [3] = "GSM", [4] = "G723", [8] = "PCMA",
                                [9] = "G722", [13] = "CN", [18] = "G729"};
                            snprintf(out->names[k], sizeof(out->names[k]), "%s",
                                     mime[pt] ? mime[pt] : nm);
                            out->rates[k] = net_pt_clock_rate((unsigned)pt);
                        }
                    }
                    q = e;
                    while (*q == ' ')
                        q++;
                }
            }
            break;
        case 'c':
            if (in_audio) {
                have_media_c = parse_addr(v, &out->addr);
            } else if (!out->present) {
                have_session = parse_addr(v, &session);
            }
            break;
        case 'a':
            if (!strcmp(v, "sendonly") || !strcmp(v, "recvonly") || !strcmp(v, "inactive") ||
                !strcmp(v, "sendrecv")) {
                if (in_audio) {
                    snprintf(out->direction, sizeof(out->direction), "%.8s", v);
                    media_dir = true;
                } else if (!out->present) {
                    snprintf(session_dir, sizeof(session_dir), "%.8s", v);
                }
            } else if (in_audio && !strncmp(v, "rtpmap:", 7)) {
                int pt = -1;
                char enc[64] = "";
                unsigned rate = 0;
                if (sscanf(v + 7, "%d %63[^/]/%u", &pt, enc, &rate) >= 2)
                    for (int k = 0; k < out->n_pts; k++)
                        if (out->pts[k] == pt) {
                            snprintf(out->names[k], sizeof(out->names[k]), "%s", enc);
                            out->rates[k] = rate;
                        }
            } else if (in_audio && !strncmp(v, "ptime:", 6)) {
                out->ptime = atoi(v + 6);
            }
            break;
        default: break;
        }
    }
    if (!out->present)
        return false;
    if (!have_media_c && have_session)
        out->addr = session;
    if (session_dir[0] && !media_dir)
        snprintf(out->direction, sizeof(out->direction), "%s", session_dir);
    static const uint8_t zero[16];
    out->hold_addr = out->addr.family == 4 && !memcmp(out->addr.a, zero, 4);
    return true;
}

/* ---- the maps of a capture ------------------------------------------------------------------ */

struct net_sdp_maps {
    net_sdp *m;
    size_t n, cap;
};

void net__sdp_seen(net_capture *c, const net_sdp *sdp)
{
    if (!sdp->present || !sdp->port || !sdp->addr.family)
        return;
    struct net_sdp_maps *t = c->sdp_maps;
    if (!t && !(t = c->sdp_maps = calloc(1, sizeof(*t))))
        return;
    for (size_t i = 0; i < t->n; i++) /* a later SDP for the same address and port replaces it */
        if (t->m[i].port == sdp->port && net_addr_equal(&t->m[i].addr, &sdp->addr)) {
            t->m[i] = *sdp;
            return;
        }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        net_sdp *nm = realloc(t->m, nc * sizeof(*nm));
        if (!nm)
            return;
        t->m = nm, t->cap = nc;
    }
    t->m[t->n++] = *sdp;
}

static size_t find_one(const struct net_sdp_maps *t, const net_addr *a, uint16_t port)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (t->m[i].port == port && net_addr_equal(&t->m[i].addr, a))
            return i + 1;
    return 0;
}

size_t net__sdp_find(const net_capture *c, const net_addr *dst, uint16_t dport, const net_addr *src,
                     uint16_t sport)
{
    size_t k = find_one(c->sdp_maps, dst, dport);
    return k ? k : find_one(c->sdp_maps, src, sport);
}

size_t net__sdp_at(const net_capture *c, const net_addr *addr, uint16_t port)
{
    return find_one(c->sdp_maps, addr, port);
}

bool net__sdp_pt(const net_capture *c, size_t idx, int pt, const char **name, uint32_t *rate)
{
    if (!idx || !c->sdp_maps || idx > c->sdp_maps->n)
        return false;
    const net_sdp *s = &c->sdp_maps->m[idx - 1];
    for (int i = 0; i < s->n_pts; i++)
        if (s->pts[i] == pt && s->names[i][0]) {
            *name = s->names[i];
            *rate = s->rates[i];
            return true;
        }
    return false;
}

void net__sdp_free(net_capture *c)
{
    if (c->sdp_maps)
        free(c->sdp_maps->m);
    free(c->sdp_maps);
}
