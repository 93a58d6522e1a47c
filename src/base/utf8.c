/*
 * utf8.c - one UTF-8 character read and checked (RFC 3629, section 4): what the privacy room's
 * normaliser and the command line's terminal escaping both read a text by.
 */
#include "base_int.h"

size_t cq__utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t k;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, v = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, v = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, v = c & 0x07u;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if ((k == 3 && v < 0x800) || (k == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    if (cp)
        *cp = v;
    return k;
}
