/*
 * term.c - text from outside made safe for a terminal (term.h): control bytes, DEL, C1 controls
 * and bytes that are not UTF-8 written as \xHH; a printf whose %s arguments are escaped; JSON
 * text with its raw DEL and C1 controls made \u escapes.
 */
#define _GNU_SOURCE
#include "term.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"

size_t cq_cli_term_escape(const char *s, size_t n, unsigned flags, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (!s)
        n = 0;
    size_t need = 0, o = 0;
    bool cut = cap == 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t take = 1, k = 0;
        char esc[4];
        bool escape;
        if (c < 0x80) {
            escape = c < 0x20 || c == 0x7f;
            if (escape && (flags & CQ_TERM_LINES) && (c == '\n' || c == '\t'))
                escape = false;
        } else if ((k = cq__utf8_len(p + i, n - i, NULL)) != 0) {
            take = k;
            escape = k == 2 && c == 0xc2 && p[i + 1] <= 0x9f; /* U+0080-U+009F: C1 */
        } else {
            escape = true; /* not UTF-8: a lone C1 byte (0x80-0x9f) among them */
        }
        if (escape) { /* each byte of it as \xHH (a C1 in UTF-8 is two) */
            for (size_t j = 0; j < take; j++) {
                esc[0] = '\\', esc[1] = 'x', esc[2] = hex[p[i + j] >> 4],
                esc[3] = hex[p[i + j] & 15];
                if (!cut && o + 4 < cap) {
                    memcpy(out + o, esc, 4);
                    o += 4;
                } else {
                    cut = true;
                }
                need += 4;
            }
        } else {
            if (!cut && o + take < cap) {
                memcpy(out + o, p + i, take);
                o += take;
            } else {
                cut = true;
            }
            need += take;
        }
        i += take;
    }
    if (cap)
        out[o] = 0;
    return need;
}

/* s[0..n) escaped, in a buffer of the caller's (small) or a new one (*heap, to be freed). */
static char *escaped(const char *s, size_t n, unsigned flags, char *small, size_t cap, char **heap)
{
    *heap = NULL;
    size_t need = cq_cli_term_escape(s, n, flags, small, cap);
    if (need < cap)
        return small;
    if (!(*heap = malloc(need + 1)))
        return small; /* cut, but still escaped */
    (void)cq_cli_term_escape(s, n, flags, *heap, need + 1);
    return *heap;
}

void cq_cli_term_put(FILE *f, const char *s, unsigned flags)
{
    if (!s)
        return;
    char small[1024], *heap;
    fputs(escaped(s, strlen(s), flags, small, sizeof(small), &heap), f);
    free(heap);
}

/* At most max bytes of s, cut back to the start of a UTF-8 character. */
static size_t prefix_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n == max && s[n] != 0)
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    return n;
}

int cq_cli_tprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int total = 0;
    const char *p = fmt;
    while (*p) {
        const char *pct = strchr(p, '%');
        size_t lit = pct ? (size_t)(pct - p) : strlen(p);
        if (lit) {
            if (fwrite(p, 1, lit, f) != lit)
                goto fail;
            total += (int)lit;
        }
        if (!pct)
            break;
        /* one conversion: %[flags][width][.precision][length]conv, '*' taken from the args */
        char spec[64];
        size_t k = 0;
        const char *q = pct + 1;
        spec[k++] = '%';
        bool left = false;
        while (*q && strchr("-+ #0'", *q) && k < 16) {
            left |= *q == '-';
            spec[k++] = *q++;
        }
        int width = -1, prec = -1;
        if (*q == '*') {
            width = va_arg(ap, int);
            if (width < 0)
                left = true, width = -width;
            q++;
        } else {
            for (width = 0; *q >= '0' && *q <= '9'; q++)
                width = width * 10 + (*q - '0');
            if (q[-1] < '0' || q[-1] > '9')
                width = -1;
        }
        if (*q == '.') {
            q++;
            if (*q == '*') {
                prec = va_arg(ap, int);
                q++;
            } else {
                for (prec = 0; *q >= '0' && *q <= '9'; q++)
                    prec = prec * 10 + (*q - '0');
            }
        }
        if (width >= 0)
            k += (size_t)snprintf(spec + k, sizeof(spec) - k, "%d", width);
        if (prec >= 0)
            k += (size_t)snprintf(spec + k, sizeof(spec) - k, ".%d", prec);
        char len[3] = "";
        size_t ln = 0;
        while (*q && strchr("hlLqjzt", *q) && ln < 2)
            len[ln++] = *q++;
        len[ln] = 0;
        char conv = *q ? *q++ : 0;
        memcpy(spec + k, len, ln);
        k += ln;
        spec[k++] = conv;
        spec[k] = 0;
        int w = 0;
        switch (conv) {
        case '%': w = fputc('%', f) == EOF ? -1 : 1; break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = prec >= 0 ? prefix_len(s, (size_t)prec) : strlen(s);
            char small[1024], *heap;
            const char *e = escaped(s, n, 0, small, sizeof(small), &heap);
            size_t el = strlen(e), pad = width > 0 && (size_t)width > el ? (size_t)width - el : 0;
            w = (int)(el + pad);
            for (size_t i = 0; !left && i < pad; i++)
                fputc(' ', f);
            fputs(e, f);
            for (size_t i = 0; left && i < pad; i++)
                fputc(' ', f);
            free(heap);
            break;
        }
        case 'c': w = fprintf(f, spec, va_arg(ap, int)); break;
        case 'd':
        case 'i':
            if (!strcmp(len, "ll"))
                w = fprintf(f, spec, va_arg(ap, long long));
            else if (!strcmp(len, "l"))
                w = fprintf(f, spec, va_arg(ap, long));
            else if (!strcmp(len, "z") || !strcmp(len, "t"))
                w = fprintf(f, spec, va_arg(ap, ptrdiff_t));
            else if (!strcmp(len, "j"))
                w = fprintf(f, spec, va_arg(ap, intmax_t));
            else
                w = fprintf(f, spec, va_arg(ap, int));
            break;
        case 'u':
        case 'o':
        case 'x':
        case 'X':
            if (!strcmp(len, "ll"))
                w = fprintf(f, spec, va_arg(ap, unsigned long long));
            else if (!strcmp(len, "l"))
                w = fprintf(f, spec, va_arg(ap, unsigned long));
            else if (!strcmp(len, "z") || !strcmp(len, "t"))
                w = fprintf(f, spec, va_arg(ap, size_t));
            else if (!strcmp(len, "j"))
                w = fprintf(f, spec, va_arg(ap, uintmax_t));
            else
                w = fprintf(f, spec, va_arg(ap, unsigned));
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            if (!strcmp(len, "L"))
                w = fprintf(f, spec, va_arg(ap, long double));
            else
                w = fprintf(f, spec, va_arg(ap, double));
            break;
        case 'p': w = fprintf(f, spec, va_arg(ap, void *)); break;
        default: goto fail; /* %n, or a conversion printf does not have */
        }
        if (w < 0)
            goto fail;
        total += w;
        p = q;
    }
    va_end(ap);
    return total;
fail:
    va_end(ap);
    return -1;
}

void cq_cli_json_put(FILE *f, const char *json)
{
    if (!json)
        return;
    const unsigned char *p = (const unsigned char *)json;
    const unsigned char *run = p;
    for (; *p; p++) {
        unsigned cp;
        size_t skip;
        if (*p == 0x7f)
            cp = 0x7f, skip = 1;
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            cp = p[1], skip = 2;
        else
            continue;
        fwrite(run, 1, (size_t)(p - run), f);
        fprintf(f, "\\u%04x", cp);
        p += skip - 1;
        run = p + 1;
    }
    fwrite(run, 1, (size_t)(p - run), f);
    fputc('\n', f);
}
