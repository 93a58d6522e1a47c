/*
 * audiosocket.c - Asterisk's AudioSocket over TCP (docs.asterisk.org, Configuration / Channel
 * Drivers / AudioSocket, "Protocol definition"): each frame is a 1-byte kind, a 16-bit
 * big-endian payload length and the payload.
 *
 * DESIGN: a small state machine over the bytes as they come: the three header bytes are
 * gathered first (they may arrive one at a time); the kind and length are checked as soon as the
 * header is whole, before any payload is waited for, so a bad frame is refused at once and a
 * huge length never makes us wait for (or hold) bytes we will not take. The payload is then
 * copied into one buffer of max_payload bytes made at create, and the frame handed out when it
 * is whole. An error stops the decoder for good (the stream has lost its framing: there is no
 * way to find the next frame), until lv_as_reset.
 */
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "live_int.h"

struct lv_as_dec {
    lv_as_params p;
    uint8_t hdr[LV_AS_HEADER]; /* the header being gathered */
    size_t hdr_have;           /* its bytes so far (0-3) */
    uint8_t *buf;              /* max_payload bytes: the payload being gathered */
    size_t want, have;         /* the payload's length and its bytes so far */
    uint64_t offset;           /* stream offset of the frame being gathered */
    bool failed;
    lv_as_stats st;
    lv_error err;
};

static const struct {
    int kind;
    uint32_t rate_hz;
    const char *name;
} k_audio[] = {
    {LV_AS_SLIN, 8000, "slin"},           {LV_AS_SLIN_12K, 12000, "slin12"},
    {LV_AS_SLIN_16K, 16000, "slin16"},    {LV_AS_SLIN_24K, 24000, "slin24"},
    {LV_AS_SLIN_32K, 32000, "slin32"},    {LV_AS_SLIN_44K, 44100, "slin44"},
    {LV_AS_SLIN_48K, 48000, "slin48"},    {LV_AS_SLIN_96K, 96000, "slin96"},
    {LV_AS_SLIN_192K, 192000, "slin192"},
};
#define N_AUDIO (sizeof(k_audio) / sizeof(k_audio[0]))

uint32_t lv_as_kind_rate(int kind)
{
    for (size_t i = 0; i < N_AUDIO; i++)
        if (k_audio[i].kind == kind)
            return k_audio[i].rate_hz;
    return 0;
}

int lv_as_rate_kind(uint32_t rate_hz)
{
    for (size_t i = 0; i < N_AUDIO; i++)
        if (k_audio[i].rate_hz == rate_hz)
            return k_audio[i].kind;
    return -1;
}

const char *lv_as_kind_name(int kind)
{
    switch (kind) {
    case LV_AS_HANGUP: return "hangup";
    case LV_AS_UUID: return "uuid";
    case LV_AS_DTMF: return "dtmf";
    case LV_AS_ERROR: return "error";
    default: break;
    }
    for (size_t i = 0; i < N_AUDIO; i++)
        if (k_audio[i].kind == kind)
            return k_audio[i].name;
    return "unknown";
}

static bool dtmf_digit(int c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D') ||
           (c >= 'a' && c <= 'd');
}

lv_as_params lv_as_default_params(void)
{
    return (lv_as_params){.max_payload = 16384};
}

lv_as_dec *lv_as_create(const lv_as_params *p, int *err)
{
    lv_as_params def = lv_as_default_params();
    if (!p)
        p = &def;
    if (p->max_payload < 16 || p->max_payload > LV_AS_MAX_PAYLOAD) {
        if (err)
            *err = LV_ERR_ARG;
        return NULL;
    }
    lv_as_dec *d = cq__calloc(1, sizeof(*d));
    if (!d || !(d->buf = cq__malloc(p->max_payload))) {
        cq__free(d);
        if (err)
            *err = LV_ERR_NOMEM;
        return NULL;
    }
    d->p = *p;
    if (err)
        *err = LV_OK;
    return d;
}

void lv_as_destroy(lv_as_dec *d)
{
    if (!d)
        return;
    cq__free(d->buf);
    cq__free(d);
}

void lv_as_reset(lv_as_dec *d)
{
    d->hdr_have = d->want = d->have = 0;
    d->offset = 0;
    d->failed = false;
    memset(&d->st, 0, sizeof(d->st));
    lv__clear(&d->err);
}

const lv_as_stats *lv_as_get_stats(const lv_as_dec *d)
{
    return &d->st;
}

const lv_error *lv_as_last_error(const lv_as_dec *d)
{
    return &d->err;
}

bool lv_as_at_boundary(const lv_as_dec *d)
{
    return !d->failed && d->hdr_have == 0;
}

/* The header is whole: is this a frame we take? LV_OK or the error. */
static int check_header(lv_as_dec *d, int kind, size_t len)
{
    uint64_t at = d->offset;
    bool known = kind == LV_AS_HANGUP || kind == LV_AS_UUID || kind == LV_AS_DTMF ||
                 kind == LV_AS_ERROR || lv_as_kind_rate(kind) != 0;
    if (!known)
        return lv__fail(&d->err, LV_ERR_AS_KIND, at, "AudioSocket kind 0x%02x is not defined",
                        (unsigned)kind);
    if (len > d->p.max_payload)
        return lv__fail(&d->err, LV_ERR_AS_TOO_BIG, at,
                        "AudioSocket %s frame of %zu bytes, over the maximum of %zu",
                        lv_as_kind_name(kind), len, d->p.max_payload);
    switch (kind) {
    case LV_AS_HANGUP:
        if (len != 0)
            return lv__fail(&d->err, LV_ERR_AS_LENGTH, at,
                            "AudioSocket hangup frame with a payload of %zu bytes (none allowed)",
                            len);
        return LV_OK;
    case LV_AS_UUID:
        if (len != 16)
            return lv__fail(&d->err, LV_ERR_AS_LENGTH, at,
                            "AudioSocket UUID frame of %zu bytes (16 expected)", len);
        return LV_OK;
    case LV_AS_DTMF:
        if (len != 1)
            return lv__fail(&d->err, LV_ERR_AS_LENGTH, at,
                            "AudioSocket DTMF frame of %zu bytes (1 expected)", len);
        return LV_OK;
    case LV_AS_ERROR:
        if (len > 1)
            return lv__fail(&d->err, LV_ERR_AS_LENGTH, at,
                            "AudioSocket error frame of %zu bytes (a 1-byte code at most)", len);
        return LV_OK;
    default: break;
    }
    if (len % 2)
        return lv__fail(&d->err, LV_ERR_AS_LENGTH, at,
                        "AudioSocket %s frame of %zu bytes (16-bit samples: an even length)",
                        lv_as_kind_name(kind), len);
    return LV_OK;
}

/* The frame is whole: fill *out. LV_OK, 1 or an error. */
static int emit(lv_as_dec *d, lv_as_frame *out)
{
    int kind = d->hdr[0];
    memset(out, 0, sizeof(*out));
    out->kind = (lv_as_kind)kind;
    out->payload = d->want ? d->buf : NULL;
    out->len = d->want;
    out->offset = d->offset;
    out->error_code = -1;
    switch (kind) {
    case LV_AS_UUID: memcpy(out->uuid, d->buf, 16); break;
    case LV_AS_DTMF:
        if (!dtmf_digit(d->buf[0])) {
            d->failed = true;
            return lv__fail(&d->err, LV_ERR_AS_DTMF, d->offset,
                            "AudioSocket DTMF frame with byte 0x%02x (0-9, *, #, A-D expected)",
                            (unsigned)d->buf[0]);
        }
        out->digit = (char)d->buf[0];
        d->st.dtmf++;
        break;
    case LV_AS_ERROR:
        out->error_code = d->want ? d->buf[0] : -1;
        d->st.errors++;
        break;
    case LV_AS_HANGUP: break;
    default:
        out->rate_hz = lv_as_kind_rate(kind);
        out->samples = d->want / 2;
        d->st.audio_frames++;
        d->st.audio_bytes += d->want;
        break;
    }
    d->st.frames++;
    d->offset += LV_AS_HEADER + d->want;
    d->hdr_have = d->want = d->have = 0;
    return 1;
}

int lv_as_next(lv_as_dec *d, const uint8_t *data, size_t n, size_t *used, lv_as_frame *out)
{
    size_t i = 0;
    *used = 0;
    if (d->failed)
        return LV_ERR_FAILED;
    if (!data && n)
        return LV_ERR_ARG;
    /* a frame handed out last time is not kept: a header starts here */
    for (;;) {
        if (d->hdr_have < LV_AS_HEADER) {
            while (d->hdr_have < LV_AS_HEADER && i < n)
                d->hdr[d->hdr_have++] = data[i++];
            if (d->hdr_have < LV_AS_HEADER)
                break;
            size_t len = ((size_t)d->hdr[1] << 8) | d->hdr[2];
            int rc = check_header(d, d->hdr[0], len);
            if (rc != LV_OK) {
                d->failed = true;
                d->st.bytes += i;
                *used = i;
                return rc;
            }
            d->want = len;
            d->have = 0;
        }
        size_t take = d->want - d->have;
        if (take > n - i)
            take = n - i;
        if (take) {
            memcpy(d->buf + d->have, data + i, take);
            d->have += take;
            i += take;
        }
        if (d->have < d->want)
            break;
        d->st.bytes += i;
        *used = i;
        return emit(d, out);
    }
    d->st.bytes += i;
    *used = i;
    return 0;
}

/* ---- encoders -------------------------------------------------------------------------------- */

static size_t put_frame(uint8_t *out, size_t cap, int kind, const uint8_t *payload, size_t len)
{
    if (!out || len > LV_AS_MAX_PAYLOAD || cap < LV_AS_HEADER + len || (len && !payload))
        return 0;
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    if (len)
        memcpy(out + LV_AS_HEADER, payload, len);
    return LV_AS_HEADER + len;
}

size_t lv_as_encode(uint8_t *out, size_t cap, int kind, const uint8_t *payload, size_t len)
{
    switch (kind) {
    case LV_AS_HANGUP:
        if (len)
            return 0;
        break;
    case LV_AS_UUID:
        if (len != 16)
            return 0;
        break;
    case LV_AS_DTMF:
        if (len != 1 || !payload || !dtmf_digit(payload[0]))
            return 0;
        break;
    case LV_AS_ERROR:
        if (len > 1)
            return 0;
        break;
    default:
        if (lv_as_kind_rate(kind) == 0 || len % 2)
            return 0;
        break;
    }
    return put_frame(out, cap, kind, payload, len);
}

size_t lv_as_encode_hangup(uint8_t *out, size_t cap)
{
    return put_frame(out, cap, LV_AS_HANGUP, NULL, 0);
}

size_t lv_as_encode_uuid(uint8_t *out, size_t cap, const uint8_t uuid[16])
{
    return uuid ? put_frame(out, cap, LV_AS_UUID, uuid, 16) : 0;
}

size_t lv_as_encode_dtmf(uint8_t *out, size_t cap, char digit)
{
    uint8_t b = (uint8_t)digit;
    return lv_as_encode(out, cap, LV_AS_DTMF, &b, 1);
}

size_t lv_as_encode_error(uint8_t *out, size_t cap, int code)
{
    uint8_t b = (uint8_t)code;
    if (code > 255)
        return 0;
    return code < 0 ? put_frame(out, cap, LV_AS_ERROR, NULL, 0)
                    : put_frame(out, cap, LV_AS_ERROR, &b, 1);
}

size_t lv_as_encode_slin(uint8_t *out, size_t cap, uint32_t rate_hz, const int16_t *pcm, size_t n)
{
    int kind = lv_as_rate_kind(rate_hz);
    if (kind < 0 || !out || (n && !pcm) || n > LV_AS_MAX_PAYLOAD / 2 || cap < LV_AS_HEADER + 2 * n)
        return 0;
    size_t len = 2 * n;
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)pcm[i];
        out[LV_AS_HEADER + 2 * i] = (uint8_t)v;
        out[LV_AS_HEADER + 2 * i + 1] = (uint8_t)(v >> 8);
    }
    return LV_AS_HEADER + len;
}

const char *lv_as_uuid_str(const uint8_t uuid[16], char buf[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[k++] = '-';
        buf[k++] = hex[uuid[i] >> 4];
        buf[k++] = hex[uuid[i] & 15];
    }
    buf[k] = '\0';
    return buf;
}
