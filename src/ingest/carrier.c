/*
 * carrier.c - a call's route from what the dialer says of it (ingest.h): the carrier an
 * Asterisk channel names, and the names the settings give routes by patterns
 * (route_patterns, docs/routes.md "Naming routes").
 *
 * DESIGN
 * An Asterisk channel is TECH/RESOURCE-SUFFIX ("SIP/carrierA-0000001a", "PJSIP/trunk_b-00000012",
 * "IAX2/provider-1234"), and a dial string TECH/PEER/NUMBER or PJSIP/NUMBER@ENDPOINT: the
 * carrier is the peer (or the PJSIP endpoint), without the channel's sequence suffix. Local/
 * channels and Asterisk's own (a conference, a recording) name no carrier. What is kept is a
 * word of [A-Za-z0-9_.+:-], 1-64 bytes; anything else is no carrier, never a guess.
 *
 * A pattern names a route NAME for the calls whose FIELD matches GLOB (fnmatch(3), no flags),
 * tried in order, the first match winning; it gives a carrier only to calls the dialer gave
 * none. The list is parsed once when the settings are read: a malformed entry is an error that
 * says which, not a pattern skipped.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"

static bool word_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '+' || c == ':' || c == '-';
}

/* s[0..n) as a route word into out: 1, or 0 when it is not one. */
static int word(const char *s, size_t n, char *out, size_t out_n)
{
    if (n == 0 || n > INGEST_ROUTE_MAX || n >= out_n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!word_char(s[i]))
            return 0;
    memcpy(out, s, n);
    out[n] = 0;
    return 1;
}

/* A channel's sequence suffix: 4 or more hex digits ("-0000001a"; "-b" is part of a name). */
static bool all_hex(const char *s, size_t n)
{
    if (n < 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

int ingest_carrier_of_channel(const char *channel, char *out, size_t n)
{
    if (n)
        out[0] = 0;
    if (!channel || !n)
        return 0;
    const char *slash = strchr(channel, '/');
    if (!slash || slash == channel)
        return 0;
    size_t tech = (size_t)(slash - channel);
    static const char *const k_techs[] = {"SIP", "PJSIP", "IAX2", "DAHDI", "H323", "UNISTIM"};
    bool known = false;
    for (size_t i = 0; i < sizeof(k_techs) / sizeof(k_techs[0]); i++)
        if (strlen(k_techs[i]) == tech && !strncasecmp(channel, k_techs[i], tech))
            known = true;
    if (!known)
        return 0; /* Local/, Agent/, a conference: no carrier */
    const char *res = slash + 1;
    size_t len = strcspn(res, "/;,");
    /* PJSIP/NUMBER@ENDPOINT (a dial string): the endpoint */
    const char *at = memchr(res, '@', len);
    if (at) {
        const char *ep = at + 1;
        size_t ep_len = len - (size_t)(ep - res);
        return word(ep, ep_len, out, n);
    }
    /* TECH/PEER-SUFFIX (a channel): the peer, without its hex sequence number; a dial string's
     * TECH/PEER/NUMBER stopped at its second slash above */
    const char *dash = NULL;
    for (const char *p = res; p < res + len; p++)
        if (*p == '-')
            dash = p;
    if (dash && all_hex(dash + 1, (size_t)(res + len - dash - 1)))
        len = (size_t)(dash - res);
    return word(res, len, out, n); /* DAHDI/i1/...: the span or group */
}

static const char *const k_fields[INGEST_ROUTE_FIELDS] = {"channel", "server", "did", "campaign",
                                                          "recording"};

int ingest_route_patterns_parse(const char *spec, ingest_route_patterns *out, char *why,
                                size_t why_n)
{
    memset(out, 0, sizeof(*out));
    if (why_n)
        why[0] = 0;
    if (!spec)
        return 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        if (out->n == INGEST_MAX_ROUTE_PATTERNS) {
            snprintf(why, why_n, "route_patterns: more than %d patterns",
                     INGEST_MAX_ROUTE_PATTERNS);
            return -1;
        }
        ingest_route_pattern *r = &out->p[out->n];
        const char *eq = memchr(p, '=', len);
        const char *colon = eq ? memchr(eq, ':', len - (size_t)(eq - p)) : NULL;
        if (!eq || !colon) {
            snprintf(why, why_n, "route_patterns: '%.*s' is not NAME=FIELD:GLOB", (int)len, p);
            return -1;
        }
        if (!word(p, (size_t)(eq - p), r->name, sizeof(r->name))) {
            snprintf(why, why_n,
                     "route_patterns: '%.*s': a route's name is 1-%d bytes of letters, digits "
                     "and _.+:-",
                     (int)(eq - p), p, INGEST_ROUTE_MAX);
            return -1;
        }
        size_t flen = (size_t)(colon - eq - 1);
        r->field = -1;
        for (int f = 0; f < INGEST_ROUTE_FIELDS; f++)
            if (strlen(k_fields[f]) == flen && !strncmp(eq + 1, k_fields[f], flen))
                r->field = f;
        if (r->field < 0) {
            snprintf(why, why_n,
                     "route_patterns: '%.*s': the field is one of channel, server, did, "
                     "campaign, recording",
                     (int)flen, eq + 1);
            return -1;
        }
        size_t glen = len - (size_t)(colon + 1 - p);
        if (glen == 0 || glen >= sizeof(r->glob)) {
            snprintf(why, why_n, "route_patterns: '%.*s': the pattern is 1-%zu bytes", (int)len, p,
                     sizeof(r->glob) - 1);
            return -1;
        }
        memcpy(r->glob, colon + 1, glen);
        r->glob[glen] = 0;
        out->n++;
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

int ingest_route_name(const ingest_route_patterns *rp,
                      const char *const fields[INGEST_ROUTE_FIELDS], char *out, size_t n)
{
    if (n)
        out[0] = 0;
    for (int i = 0; rp && i < rp->n; i++) {
        const char *v = fields[rp->p[i].field];
        if (v && *v && fnmatch(rp->p[i].glob, v, 0) == 0) {
            snprintf(out, n, "%s", rp->p[i].name);
            return 1;
        }
    }
    return 0;
}
