/*
 * svc_session.c - the session cookie, made and checked: stateless (nothing stored), its value
 * carries its expiry and a nonce under an HMAC-SHA256 whose key is derived from the bearer
 * token, and a user's carries the tag of their credential; its CSRF value is another HMAC of the
 * nonce (svc_session.h says the format). Also what a browser's Origin and Host headers must say
 * for the request to be this service's: the same origin, and a Host it answers to (not a name
 * another site's DNS points here: the rebinding attack). Pure functions of their arguments.
 */
#define _GNU_SOURCE
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc_session.h"

static const char k_hex[] = "0123456789abcdef";

static void to_hex(const uint8_t *b, size_t n, char *out /* 2n + 1 */)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = k_hex[b[i] >> 4];
        out[2 * i + 1] = k_hex[b[i] & 15];
    }
    out[2 * n] = 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* HMAC-SHA256 of the two pieces, concatenated, under key (klen bytes), as 64 hex digits */
static void hmac_hex(const uint8_t *key, size_t klen, const char *a, size_t alen, const char *b,
                     size_t blen, char out[65])
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, klen, key);
    hmac_sha256_update(&ctx, alen, (const uint8_t *)a);
    hmac_sha256_update(&ctx, blen, (const uint8_t *)b);
    hmac_sha256_digest(&ctx, sizeof(mac), mac);
    to_hex(mac, sizeof(mac), out);
}

/* ---- sessions ----------------------------------------------------------------------------- */

void svc_session_key(const char *token, uint8_t key[32])
{
    static const char label[] = "callqa session key v1";
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, strlen(token), (const uint8_t *)token);
    hmac_sha256_update(&ctx, sizeof(label) - 1, (const uint8_t *)label);
    hmac_sha256_digest(&ctx, 32, key);
}

static void csrf_of(const uint8_t key[32], const char *nonce_hex, char out[65])
{
    hmac_hex(key, 32, "csrf.", 5, nonce_hex, 32, out);
}

int svc_session_issue(const uint8_t key[32], int64_t expires, const uint8_t nonce[16], char *value,
                      size_t n, svc_session *out)
{
    return svc_session_issue_user(key, expires, 0, NULL, nonce, value, n, out);
}

void svc_session_cred(const uint8_t key[32], int64_t user_id, int64_t epoch, const char *pwhash,
                      char out[SVC_SESSION_CRED_LEN + 1])
{
    char head[64], mac[65];
    int k = snprintf(head, sizeof(head), "cred.%lld.%lld.", (long long)user_id, (long long)epoch);
    hmac_hex(key, 32, head, (size_t)k, pwhash ? pwhash : "", pwhash ? strlen(pwhash) : 0, mac);
    memcpy(out, mac, SVC_SESSION_CRED_LEN);
    out[SVC_SESSION_CRED_LEN] = 0;
}

int svc_session_issue_user(const uint8_t key[32], int64_t expires, int64_t user_id,
                           const char *cred, const uint8_t nonce[16], char *value, size_t n,
                           svc_session *out)
{
    char nonce_hex[33], mac[65];
    to_hex(nonce, 16, nonce_hex);
    if (user_id > 0 && (!cred || strlen(cred) != SVC_SESSION_CRED_LEN))
        return -1;
    int k = user_id > 0 ? snprintf(value, n, "v3.%lld.%lld.%s.%s", (long long)expires,
                                   (long long)user_id, cred, nonce_hex)
                        : snprintf(value, n, "v1.%lld.%s", (long long)expires, nonce_hex);
    if (k < 0 || (size_t)k + 66 > n || n < SVC_SESSION_VALUE_MAX)
        return -1;
    hmac_hex(key, 32, value, (size_t)k, "", 0, mac);
    snprintf(value + k, n - (size_t)k, ".%s", mac);
    memset(out, 0, sizeof(*out));
    out->expires = expires;
    out->user_id = user_id > 0 ? user_id : 0;
    if (user_id > 0)
        memcpy(out->cred, cred, SVC_SESSION_CRED_LEN + 1);
    csrf_of(key, nonce_hex, out->csrf);
    return 0;
}

/* 1-max decimal digits without a leading zero at value[*i], up to a '.': the number, or -1 */
static int64_t number_at(const char *value, size_t len, size_t *i, int max)
{
    size_t i0 = *i;
    int64_t v = 0;
    if (*i >= len || value[*i] == '0')
        return -1;
    while (*i < len && *i - i0 < (size_t)max && value[*i] >= '0' && value[*i] <= '9')
        v = v * 10 + (value[(*i)++] - '0');
    return *i == i0 || *i >= len || value[*i] != '.' ? -1 : v;
}

svc_session_state svc_session_verify(const uint8_t key[32], const char *value, size_t len,
                                     int64_t now, svc_session *out)
{
    memset(out, 0, sizeof(*out));
    /* v1.EXPIRY.NONCE.MAC (the shared token's) or v3.EXPIRY.USER.CRED.NONCE.MAC (a user's):
     * EXPIRY 1-12 and USER 1-18 digits without a leading zero, CRED 16, NONCE 32 and MAC 64
     * lower-case hex digits. A user's v2 value (before the credential was bound in) is no longer
     * valid. */
    bool v3 = len >= 3 && !memcmp(value, "v3.", 3);
    if (len < 3 + 1 + 1 + 32 + 1 + 64 ||
        len > 3 + 12 + 1 + 19 + SVC_SESSION_CRED_LEN + 1 + 32 + 1 + 64 ||
        (!v3 && memcmp(value, "v1.", 3)))
        return SVC_SESSION_INVALID;
    size_t i = 3;
    int64_t expires = number_at(value, len, &i, 12), user = 0;
    if (expires < 0)
        return SVC_SESSION_INVALID;
    const char *cred = NULL;
    if (v3) {
        i++;
        if ((user = number_at(value, len, &i, 18)) < 0)
            return SVC_SESSION_INVALID;
        cred = value + i + 1;
        i += 1 + SVC_SESSION_CRED_LEN;
        if (i >= len || value[i] != '.' || !is_lower_hex(cred, SVC_SESSION_CRED_LEN))
            return SVC_SESSION_INVALID;
    }
    if (i + 1 + 32 + 1 + 64 != len)
        return SVC_SESSION_INVALID;
    const char *nonce = value + i + 1, *mac = nonce + 32 + 1;
    if (nonce[32] != '.' || !is_lower_hex(nonce, 32) || !is_lower_hex(mac, 64))
        return SVC_SESSION_INVALID;
    char want[65];
    hmac_hex(key, 32, value, (size_t)(mac - 1 - value), "", 0, want);
    if (!memeql_sec(want, mac, 64))
        return SVC_SESSION_INVALID;
    out->expires = expires;
    out->user_id = user;
    if (cred)
        memcpy(out->cred, cred, SVC_SESSION_CRED_LEN);
    if (expires <= now)
        return SVC_SESSION_EXPIRED;
    csrf_of(key, nonce, out->csrf);
    return SVC_SESSION_VALID;
}

static int state_rank(svc_session_state s)
{
    return s == SVC_SESSION_VALID ? 3 : s == SVC_SESSION_EXPIRED ? 2 : s == SVC_SESSION_INVALID;
}

svc_session_state svc_session_from_header(const uint8_t key[32], const char *cookie, int64_t now,
                                          svc_session *out)
{
    svc_session_state best = SVC_SESSION_MISSING;
    memset(out, 0, sizeof(*out));
    if (!cookie)
        return best;
    static const char name[] = SVC_SESSION_COOKIE;
    const char *p = cookie;
    /* name=value pairs separated by ';' (RFC 6265 5.4), spaces and tabs around them; a value
     * may be in double quotes. At most 16 cookies of ours are looked at. */
    for (int seen = 0; *p && seen < 16;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *n0 = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t nlen = (size_t)(p - n0);
        while (nlen && (n0[nlen - 1] == ' ' || n0[nlen - 1] == '\t'))
            nlen--;
        if (*p != '=')
            continue; /* a pair without '=': not ours */
        const char *v = ++p;
        while (*p && *p != ';')
            p++;
        size_t vlen = (size_t)(p - v);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
            v++, vlen -= 2;
        if (nlen != sizeof(name) - 1 || memcmp(n0, name, nlen))
            continue;
        seen++;
        svc_session one;
        svc_session_state st = svc_session_verify(key, v, vlen, now, &one);
        if (state_rank(st) > state_rank(best)) {
            best = st;
            *out = one;
        }
    }
    return best;
}

/* host[:port] or [v6]:port at s (n bytes): the host (*h, *hl) and the port (0: none given).
 * 0, or -1 when malformed. */
static int split_host(const char *s, size_t n, const char **h, size_t *hl, unsigned *port)
{
    size_t i = 0;
    *port = 0;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -1;
        i = (size_t)(close - s) + 1;
    } else {
        while (i < n && s[i] != ':')
            i++;
    }
    *h = s, *hl = i;
    if (!i)
        return -1;
    for (size_t k = 0; k < i; k++)
        if ((unsigned char)s[k] <= ' ' || s[k] == '/' || s[k] == '@' || s[k] == 0x7f)
            return -1;
    if (i == n)
        return 0;
    if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return -1;
    unsigned v = 0;
    for (size_t k = i + 1; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[k] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

bool svc_same_origin(const char *origin, const char *host)
{
    if (!origin || !host)
        return false;
    unsigned dflt;
    const char *o;
    if (!strncasecmp(origin, "http://", 7))
        o = origin + 7, dflt = 80;
    else if (!strncasecmp(origin, "https://", 8))
        o = origin + 8, dflt = 443;
    else
        return false; /* "null", another scheme, nonsense */
    const char *oh, *hh;
    size_t ohl, hhl;
    unsigned op, hp;
    if (split_host(o, strlen(o), &oh, &ohl, &op) || split_host(host, strlen(host), &hh, &hhl, &hp))
        return false;
    if (!op)
        op = dflt;
    if (!hp)
        hp = dflt;
    return ohl == hhl && !strncasecmp(oh, hh, ohl) && op == hp;
}

/* Whether a comma-separated list holds the name h (hl bytes) in any case, its items trimmed of
 * spaces (an empty item names nothing): read in place, on every request. */
static bool listed(const char *list, const char *h, size_t hl)
{
    for (const char *a = list; a;) {
        const char *end = strchr(a, ',');
        size_t al = end ? (size_t)(end - a) : strlen(a);
        const char *next = end ? end + 1 : NULL;
        if (al) {
            while (al && *a == ' ')
                a++, al--;
            while (al && a[al - 1] == ' ')
                al--;
            if (al == hl && !strncasecmp(a, h, hl))
                return true;
        }
        a = next;
    }
    return false;
}

bool svc_host_allowed(const cfg_settings *c, const char *host)
{
    const char *h;
    size_t hl;
    unsigned port;
    if (!host || split_host(host, strlen(host), &h, &hl, &port))
        return false;
    if (hl >= 2 && h[0] == '[') /* [::1] */
        h++, hl -= 2;
    if (port && port != (unsigned)c->listen_port)
        return false;
    /* localhost and the loopback addresses, the listen address, and the allowed_hosts */
    return listed("localhost,127.0.0.1,::1", h, hl) || listed(c->listen_addr, h, hl) ||
           listed(c->allowed_hosts, h, hl);
}

void svc_session_noauth_csrf(const uint8_t key[32], char out[65])
{
    hmac_hex(key, 32, "csrf.", 5, "no-auth", 7, out);
}
