/*
 * svc_text.c - the service's text and clocks, which every layer of it uses and which call nothing
 * of it: the wall and monotonic clocks, a string as a JSON literal, text as a JSON string (bytes
 * that are not UTF-8 read as Latin-1), a message made fit for an answer (no server path, no URL),
 * a path parameter percent-decoded.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "svc_text.h"

/* ---- clocks (cq_clock.h's, under the service's names) ---------------------------------------- */

double svc_now_sec(void)
{
    return cq_clock_wall_sec();
}

double svc_mono_sec(void)
{
    return cq_clock_mono_sec();
}

/* ---- text ------------------------------------------------------------------------------------ */

/* JSON string escaping into a malloc'd "..." */
char *svc_json_str(const char *s)
{
    size_t n = strlen(s), cap = n * 6 + 3, k = 0;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    o[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            o[k++] = '\\', o[k++] = (char)*p;
        else if (*p < 0x20)
            k += (size_t)sprintf(o + k, "\\u%04x", *p);
        else
            o[k++] = (char)*p;
    }
    o[k++] = '"';
    o[k] = 0;
    return o;
}

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_seq(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xf0 && p[0] <= 0xf4  ? 4
            : p[0] >= 0xe0                ? 3
            : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
                                          : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0; /* overlong, a surrogate, beyond U+10FFFF */
    return n;
}

/* Text as a JSON string. Dialer databases hold UTF-8, or Latin-1 in older installations: bytes
 * that are not UTF-8 are read as Latin-1, so that a name is shown rather than dropped. */
json_t *svc_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s), k = 0;
    char *o = malloc(2 * n + 1);
    if (!o)
        return json_null();
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = utf8_seq(p);
        if (len) {
            memcpy(o + k, p, (size_t)len);
            k += (size_t)len, p += len;
        } else {
            o[k++] = (char)(0xc0 | (*p >> 6)), o[k++] = (char)(0x80 | (*p & 0x3f));
            p++;
        }
    }
    j = json_stringn(o, k);
    free(o);
    return j ? j : json_null();
}

void svc_redact(const char *in, char *out, size_t n)
{
    size_t k = 0;
    const char *p = in;
    while (*p && k + 1 < n) {
        if (*p == ' ' || (p > in && p[-1] != ' ')) { /* inside a word, or a space: as it is */
            out[k++] = *p++;
            continue;
        }
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        size_t wl = (size_t)(e - p), lead = 0;
        while (lead < wl && strchr("'\"(<[", p[lead]))
            lead++;
        size_t tail = 0;
        while (tail < wl - lead && strchr("'\")>],;:.", p[wl - 1 - tail]))
            tail++;
        const char *w = p + lead;
        size_t core = wl - lead - tail;
        const char *scheme = core >= 3 ? memmem(w, core, "://", 3) : NULL;
        const char *slash = core > 1 && w[0] == '/' ? memchr(w + 1, '/', core - 1) : NULL;
        char rep[300];
        if (scheme) { /* a URL: the recording server's, which the log names */
            snprintf(rep, sizeof(rep), "%.*s(the recording server)%.*s", (int)lead, p, (int)tail,
                     w + core);
        } else if (slash) { /* an absolute path: its file name only */
            const char *base = w + core;
            while (base > w && base[-1] != '/')
                base--;
            snprintf(rep, sizeof(rep), "%.*s%.*s%.*s", (int)lead, p, (int)(w + core - base), base,
                     (int)tail, w + core);
        } else {
            snprintf(rep, sizeof(rep), "%.*s", (int)(wl < sizeof(rep) - 1 ? wl : sizeof(rep) - 1),
                     p);
        }
        for (const char *q = rep; *q && k + 1 < n; q++)
            out[k++] = *q;
        p = e;
    }
    out[k] = 0;
}

int svc_pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 1 >= cap)
            return -1;
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        int v = 0;
        for (int d = 1; d <= 2; d++) {
            char c = i + (size_t)d < n ? s[i + (size_t)d] : 0;
            int x = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (x < 0)
                return -1;
            v = v * 16 + x;
        }
        if (!v)
            return -1;
        out[k++] = (char)v;
        i += 2;
    }
    out[k] = 0;
    return 0;
}
