/*
 * fuzz_audio.c - libFuzzer harness over what GET /api/qa/call/{id}/audio reads from a request
 * and a file: the Range header (svc_range_parse) and a recording's first bytes
 * (md_sniff). The first byte picks the parser; for Range the next 8 bytes are the
 * body's size (little-endian), the rest the header. Oracles: a range served lies inside the
 * body, first <= last, and its canonical form ("bytes=first-last") parses again to the same;
 * a suffix range ("bytes=-n") ends at the last byte; a header with a comma is never a range;
 * 416 only for an empty body, a suffix of 0 or a start at or past the end. A kind sniffed is
 * one of the kinds, and each says what its bytes hold (WAV: RIFF/WAVE; raw GSM: whole 33-byte
 * frames opening with 0xD; MP3: ID3 or a frame sync; FLAC, Ogg: their magic).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/media/media.h"
#include "../../src/service/svc_audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_range(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t body = 0;
    for (int i = 0; i < 8; i++)
        body |= (uint64_t)data[i] << (8 * i);
    if (data[0] & 1) /* half the time a size of a real recording */
        body &= 0xFFFFFF;
    char *h = malloc(size - 8 + 1);
    if (!h)
        return;
    memcpy(h, data + 8, size - 8);
    h[size - 8] = 0;
    uint64_t a, b;
    svc_range k = svc_range_parse(h, body, &a, &b);
    if (k != SVC_RANGE_NONE && k != SVC_RANGE_OK && k != SVC_RANGE_UNSATISFIABLE)
        __builtin_trap();
    if (k != SVC_RANGE_NONE && strchr(h, ','))
        __builtin_trap();
    if (k == SVC_RANGE_OK) {
        if (a > b || b >= body)
            __builtin_trap();
        char canon[64];
        uint64_t a2, b2;
        snprintf(canon, sizeof(canon), "bytes=%" PRIu64 "-%" PRIu64, a, b);
        if (svc_range_parse(canon, body, &a2, &b2) != SVC_RANGE_OK || a2 != a || b2 != b)
            __builtin_trap();
        const char *eq = strchr(h, '=');
        const char *p = eq ? eq + 1 : h;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '-' && b != body - 1)
            __builtin_trap();
    }
    if (k == SVC_RANGE_UNSATISFIABLE && body > 0) {
        /* a suffix of 0, or a first byte at or past the end */
        const char *eq = strchr(h, '=');
        if (!eq)
            __builtin_trap();
        const char *p = eq + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '-') {
            char *end;
            if (strtoull(p + 1, &end, 10) != 0)
                __builtin_trap();
        } else if (strtoull(p, NULL, 10) < body) {
            __builtin_trap();
        }
    }
    free(h);
}

static void check_sniff(const uint8_t *h, size_t n)
{
    uint64_t total = n + (n ? h[0] % 2 : 0) * 33; /* the file may go on past its head */
    md_kind k = md_sniff(h, n, total);
    if (!md_ctype(k))
        __builtin_trap();
    switch (k) {
    case MD_WAV:
        if (n < 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
            __builtin_trap();
        break;
    case MD_MP3:
        if (n < 4 || (memcmp(h, "ID3", 3) && (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0)))
            __builtin_trap();
        break;
    case MD_FLAC:
        if (n < 4 || memcmp(h, "fLaC", 4))
            __builtin_trap();
        break;
    case MD_OGG:
        if (n < 4 || memcmp(h, "OggS", 4))
            __builtin_trap();
        break;
    case MD_RAW_GSM:
        if (total < 33 || total % 33)
            __builtin_trap();
        for (size_t i = 0; i < n; i += 33)
            if ((h[i] & 0xF0) != 0xD0)
                __builtin_trap();
        break;
    case MD_DECODE: break;
    default: __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    if (data[0] % 2 == 0)
        check_range(data + 1, size - 1);
    else
        check_sniff(data + 1, size - 1);
    return 0;
}
