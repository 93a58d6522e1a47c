/*
 * pv_norm.c - a text read as the detectors read it, before they look at it: the same number
 * written in another script or with other separators reads the same.
 *
 * DESIGN
 * A text is decoded as UTF-8 and each character is looked up in a table generated from the
 * Unicode database (pv_unicode.c, scripts/make-pv-unicode.py):
 *   - a digit of any script (Nd: full-width, Arabic-Indic, Devanagari, ...; and those with a
 *     digit value: superscripts, circled digits) becomes the ASCII digit;
 *   - a dash (Pd: hyphen, en and em dash, figure dash, ...) or a minus sign becomes '-';
 *   - a space separator (NBSP, narrow NBSP, thin, hair and ideographic spaces, line and
 *     paragraph separators) becomes ' ';
 *   - an invisible character (format characters: zero-width space, joiners, word joiner, byte
 *     order mark, soft hyphen, bidi marks; combining marks: variation selectors, the keycap)
 *     is left out, so "4111<ZWSP>1111" reads 41111111;
 *   - a compatibility form of an ASCII character (full-width letters and signs, small forms)
 *     becomes that character.
 * Everything else is kept as it is, and an invalid byte is a character of its own. The view is
 * never longer than the text, and each of its bytes knows the character it came from, so a
 * span found in the view is a span of the text: what is masked is the text as it was written.
 * One pass, a binary search per character above U+007F: linear in the text.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "pv_int.h"

/* The code point at s[*i] (UTF-8), *i advanced past it; an invalid or truncated sequence, an
 * overlong form or a surrogate is its first byte alone (returned as 0xFFFFFFFF). */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *i)
{
    uint32_t cp = s[*i];
    size_t len = cp < 0x80 ? 1 : cq__utf8_len(s + *i, n - *i, &cp);
    if (!len) {
        (*i)++;
        return 0xFFFFFFFFu;
    }
    *i += len;
    return cp;
}

static const pv__urange *lookup(uint32_t cp)
{
    size_t lo = 0, hi = pv__n_unicode;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < pv__unicode[mid].lo)
            hi = mid;
        else if (cp > pv__unicode[mid].hi)
            lo = mid + 1;
        else
            return &pv__unicode[mid];
    }
    return NULL;
}

size_t pv__norm(const char *text, size_t n, char *out, size_t *src)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, k = 0;
    while (i < n) {
        size_t at = i;
        uint32_t cp = next_cp(s, n, &i);
        const pv__urange *r = cp >= 0x80 && cp != 0xFFFFFFFFu ? lookup(cp) : NULL;
        if (!r) { /* as it is: ASCII, or the character's bytes */
            for (size_t b = at; b < i; b++) {
                if (src)
                    src[k] = at;
                out[k++] = (char)s[b];
            }
            continue;
        }
        char c;
        switch (r->kind) {
        case PV__U_DIGIT: c = (char)('0' + r->val + (cp - r->lo)); break;
        case PV__U_SPACE: c = ' '; break;
        case PV__U_DASH: c = '-'; break;
        case PV__U_ASCII: c = (char)(r->val + (cp - r->lo)); break;
        default: continue; /* PV__U_DROP */
        }
        if (src)
            src[k] = at;
        out[k++] = c;
    }
    out[k] = 0;
    if (src)
        src[k] = n;
    return k;
}

char *pv_normalize(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    char *out = malloc(n + 1);
    if (out)
        pv__norm(text ? text : "", n, out, NULL);
    return out;
}
