/*
 * wavbuild.h - WAV files built byte by byte for the decoder tests: any fmt field, extra and
 * repeated chunks, pad bytes, wrong sizes, RIFX and WAVE_FORMAT_EXTENSIBLE. Random payloads
 * come from a tu_rng (testutil.h).
 */
#ifndef CQ_WAVBUILD_H
#define CQ_WAVBUILD_H

#include "testutil.h"

#define WAVE_FORMAT_GSM610_TAG 0x0031
#define WAVBUILD_RATE 8000

/* A WAV file from its parts: the fmt chunk body, chunks before and after data, the payload. */
typedef struct wav_parts {
    const char *name;
    bool riffx; /* big-endian RIFX */
    uint16_t tag, channels, block_align, bits;
    const uint8_t *fmt_extra; /* bytes after the 16-byte fmt body (cbSize and on) */
    size_t fmt_extra_n;
    bool second_fmt;    /* a second, different fmt chunk before data (we ignore it;
                           libsndfile stops reading the header there) */
    bool list_before;   /* an odd-sized LIST chunk (with its pad byte) before data */
    uint32_t data_size; /* the size field (0: an unfinished recording, which we repair
                           and libsndfile reads as empty); the payload is `payload` bytes */
    size_t payload;
    const char *payload_head; /* 4 bytes to start the payload with, or NULL */
    bool list_after;          /* a LIST chunk after data (after the pad byte of an odd size) */
    uint16_t ext_sub;         /* WAVE_FORMAT_EXTENSIBLE sub-format tag (0: use fmt_extra) */
    uint16_t ext_valid;       /* and its valid bits */
    bool own;                 /* expected: callqa decodes it (else libsndfile) */
    bool refused;             /* expected: libsndfile and callqa refuse it */
} wav_parts;

static inline void put16(uint8_t *p, uint16_t v, bool be)
{
    p[be ? 1 : 0] = (uint8_t)v;
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v, bool be)
{
    for (int k = 0; k < 4; k++)
        p[be ? 3 - k : k] = (uint8_t)(v >> (8 * k));
}

static inline size_t put_chunk(uint8_t *b, const char *id, const uint8_t *body, size_t n, bool be)
{
    memcpy(b, id, 4);
    put32(b + 4, (uint32_t)n, be);
    memcpy(b + 8, body, n);
    if (n & 1)
        b[8 + n++] = 0;
    return 8 + n;
}

static inline size_t build_wav(uint8_t *b, const wav_parts *w, tu_rng *rng)
{
    const bool be = w->riffx;
    size_t at = 12;
    uint8_t fmt[64];
    put16(fmt, w->tag, be);
    put16(fmt + 2, w->channels, be);
    put32(fmt + 4, WAVBUILD_RATE, be);
    put32(fmt + 8, (uint32_t)(WAVBUILD_RATE * w->block_align), be);
    put16(fmt + 12, w->block_align, be);
    put16(fmt + 14, w->bits, be);
    size_t extra = w->fmt_extra_n;
    if (w->ext_sub) {
        /* cbSize, valid bits, channel mask, GUID {000000tt-0000-0010-8000-00aa00389b71} */
        static const uint8_t tail[8] = {0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
        put16(fmt + 16, 22, be);
        put16(fmt + 18, w->ext_valid, be);
        put32(fmt + 20, w->channels == 1 ? 0x4 : 0x3, be);
        put32(fmt + 24, w->ext_sub, be);
        put16(fmt + 28, 0x0000, be);
        put16(fmt + 30, 0x0010, be);
        memcpy(fmt + 32, tail, 8);
        extra = 24;
    } else if (extra) {
        memcpy(fmt + 16, w->fmt_extra, extra);
    }
    at += put_chunk(b + at, "fmt ", fmt, 16 + extra, be);
    if (w->second_fmt) {
        uint8_t other[16];
        memcpy(other, fmt, 16);
        put16(other, WAVE_FORMAT_GSM610_TAG, be);
        put16(other + 2, 1, be);
        at += put_chunk(b + at, "fmt ", other, 16, be);
    }
    if (w->list_before)
        at += put_chunk(b + at, "LIST", (const uint8_t *)"INFOISFT\3\0\0\0ab", 15, be);
    memcpy(b + at, "data", 4);
    put32(b + at + 4, w->data_size, be);
    at += 8;
    for (size_t i = 0; i < w->payload; i++)
        b[at + i] = (uint8_t)(tu_uniform(rng) * 256.0);
    if (w->payload_head)
        memcpy(b + at, w->payload_head, 4);
    at += w->payload;
    if (w->payload & 1)
        b[at++] = 0x55; /* the pad byte: not a sample */
    if (w->list_after)
        at += put_chunk(b + at, "LIST", (const uint8_t *)"INFO", 4, be);
    memcpy(b, be ? "RIFX" : "RIFF", 4);
    put32(b + 4, (uint32_t)(at - 8), be);
    memcpy(b + 8, "WAVE", 4);
    return at;
}

#endif /* CQ_WAVBUILD_H */
