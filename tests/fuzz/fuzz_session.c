/*
 * fuzz_session.c - libFuzzer harness over what a browser (or anyone) sends the dashboard's
 * sessions: a session cookie's value (svc_session_verify), a whole Cookie header
 * (svc_session_from_header) and an Origin against a Host (svc_same_origin); and a round trip of
 * svc_session_issue. The key is the one of the token "fuzz-token-0123456789", the time
 * 1700000000 (tests/fuzz/corpus/session holds cookies made under them).
 * Oracles: a value verified (VALID or EXPIRED) is exactly the value svc_session_issue makes for
 * its expiry and nonce, with the same CSRF value, and it expires after now exactly when VALID;
 * a Cookie header without "callqa_session" is MISSING, and one that is VALID holds a valid value;
 * an issued value verifies as VALID (or EXPIRED) with its CSRF value, inside any Cookie header
 * too, and no change of one of its bytes is VALID; two origins that pass are the same host.
 * The first byte picks the check; the rest is its input.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/service/svc_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000LL

static const uint8_t *key(void)
{
    static uint8_t k[32];
    static int done;
    if (!done) {
        svc_session_key("fuzz-token-0123456789", k);
        done = 1;
    }
    return k;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

/* a value that verified: it must be what issue makes of its expiry and nonce */
static void check_canonical(const char *v, size_t len, const svc_session *got)
{
    const char *dot = memchr(v + 3, '.', len - 3);
    if (!dot || (size_t)(dot - v) + 1 + 32 > len)
        __builtin_trap();
    uint8_t nonce[16];
    for (int i = 0; i < 16; i++)
        nonce[i] = (uint8_t)(hexval(dot[1 + 2 * i]) << 4 | hexval(dot[2 + 2 * i]));
    char again[SVC_SESSION_VALUE_MAX];
    svc_session s;
    if (svc_session_issue(key(), got->expires, nonce, again, sizeof(again), &s) ||
        strlen(again) != len || memcmp(again, v, len) || s.expires != got->expires)
        __builtin_trap();
    if (got->csrf[0] && strcmp(s.csrf, got->csrf))
        __builtin_trap();
}

static void check_value(const char *v, size_t len)
{
    svc_session s;
    svc_session_state st = svc_session_verify(key(), v, len, NOW, &s);
    switch (st) {
    case SVC_SESSION_VALID:
        if (s.expires <= NOW || strlen(s.csrf) != 64)
            __builtin_trap();
        check_canonical(v, len, &s);
        break;
    case SVC_SESSION_EXPIRED:
        if (s.expires > NOW || s.csrf[0])
            __builtin_trap();
        check_canonical(v, len, &s);
        break;
    case SVC_SESSION_INVALID:
        if (s.expires || s.csrf[0])
            __builtin_trap();
        break;
    default: __builtin_trap(); /* a value is never MISSING */
    }
}

static void check_header(const char *h)
{
    svc_session s;
    svc_session_state st = svc_session_from_header(key(), h, NOW, &s);
    if (!strstr(h, SVC_SESSION_COOKIE) && st != SVC_SESSION_MISSING)
        __builtin_trap();
    if (st == SVC_SESSION_VALID) {
        /* some value in it verifies on its own with the same session */
        int found = 0;
        for (const char *p = strstr(h, SVC_SESSION_COOKIE); p && !found;
             p = strstr(p + 1, SVC_SESSION_COOKIE)) {
            const char *v = p + sizeof(SVC_SESSION_COOKIE) - 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v++ != '=')
                continue;
            while (*v == ' ' || *v == '\t' || *v == '"')
                v++;
            svc_session one;
            size_t n = strcspn(v, "; \t\"");
            found = svc_session_verify(key(), v, n, NOW, &one) == SVC_SESSION_VALID &&
                    one.expires == s.expires && !strcmp(one.csrf, s.csrf);
        }
        if (!found)
            __builtin_trap();
    }
}

static void check_roundtrip(const uint8_t *d, size_t n)
{
    if (n < 24)
        return;
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e = e << 8 | d[i];
    int64_t expires = 1 + (int64_t)(e % 999999999999ULL); /* 1-12 digits */
    char v[SVC_SESSION_VALUE_MAX];
    svc_session s, back;
    if (svc_session_issue(key(), expires, d + 8, v, sizeof(v), &s))
        __builtin_trap();
    size_t len = strlen(v);
    svc_session_state st = svc_session_verify(key(), v, len, NOW, &back);
    if (st != (expires > NOW ? SVC_SESSION_VALID : SVC_SESSION_EXPIRED) ||
        back.expires != expires || (st == SVC_SESSION_VALID && strcmp(back.csrf, s.csrf)))
        __builtin_trap();
    /* in a Cookie header among others (the rest of the input, sanitised, as their values) */
    char h[600];
    size_t k = 0;
    for (size_t i = 24; i < n && k < 200; i++)
        h[k++] = isalnum(d[i]) || d[i] == '=' || d[i] == ' ' || d[i] == '.' ? (char)d[i] : ';';
    snprintf(h + k, sizeof(h) - k, "; " SVC_SESSION_COOKIE "=%s; z=1", v);
    if (svc_session_from_header(key(), h, NOW, &back) != st || back.expires != expires)
        __builtin_trap();
    /* no byte changed is accepted (at positions the input picks) */
    for (size_t i = 24; i < n && i < 40; i++) {
        char w[SVC_SESSION_VALUE_MAX];
        memcpy(w, v, len + 1);
        size_t at = d[i] % len;
        w[at] = (char)(w[at] ^ (1 + d[i] % 127));
        if (svc_session_verify(key(), w, len, NOW, &back) == SVC_SESSION_VALID)
            __builtin_trap();
    }
    /* another key: never ours */
    uint8_t other[32];
    svc_session_key("another-token-0123456789", other);
    if (svc_session_verify(other, v, len, NOW, &back) != SVC_SESSION_INVALID)
        __builtin_trap();
}

static void check_origin(char *s)
{
    char *nl = strchr(s, '\n');
    const char *origin = s, *host = nl ? nl + 1 : "";
    if (nl)
        *nl = 0;
    if (!svc_same_origin(origin, host))
        return;
    const char *a = !strncasecmp(origin, "http://", 7) ? origin + 7 : origin + 8;
    if (strncasecmp(origin, "http://", 7) && strncasecmp(origin, "https://", 8))
        __builtin_trap();
    /* the same host name on both sides (case aside), and nothing odd in it */
    size_t al = a[0] == '[' ? (size_t)(strchr(a, ']') - a) + 1 : strcspn(a, ":");
    size_t hl = host[0] == '[' ? (size_t)(strchr(host, ']') - host) + 1 : strcspn(host, ":");
    if (!al || al != hl || strncasecmp(a, host, al))
        __builtin_trap();
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '/' || *p == '@')
            __builtin_trap();
    /* and symmetric where both carry a port */
    if (a[al] == ':' && host[hl] == ':' &&
        strtoul(a + al + 1, NULL, 10) != strtoul(host + hl + 1, NULL, 10))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    switch (data[0] % 4) {
    case 0: check_value(s, size - 1); break; /* any bytes, NULs too */
    case 1: check_header(s); break;
    case 2: check_roundtrip(data + 1, size - 1); break;
    default: check_origin(s); break;
    }
    free(s);
    return 0;
}
