/*
 * live.c - what the three wire formats share: the error texts and the PCM helpers (byte order,
 * float, G.711 through the one expansion of cq_audio.h, and back through libspandsp's), and the
 * listening socket every server of the room opens.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spandsp.h>

#include "callqa/cq_audio.h"
#include "live_int.h"

typedef struct err_text {
    int code;
    const char *name, *text;
} err_text;

static const err_text k_err[] = {
    {LV_OK, "LV_OK", "no error"},
    {LV_ERR_ARG, "LV_ERR_ARG", "bad argument"},
    {LV_ERR_NOMEM, "LV_ERR_NOMEM", "out of memory"},
    {LV_ERR_FAILED, "LV_ERR_FAILED", "the decoder stopped at an earlier error"},
    {LV_ERR_AS_KIND, "LV_ERR_AS_KIND", "unknown AudioSocket kind"},
    {LV_ERR_AS_LENGTH, "LV_ERR_AS_LENGTH", "AudioSocket payload length wrong for its kind"},
    {LV_ERR_AS_TOO_BIG, "LV_ERR_AS_TOO_BIG", "AudioSocket payload over the maximum"},
    {LV_ERR_AS_DTMF, "LV_ERR_AS_DTMF", "AudioSocket DTMF payload not a DTMF digit"},
    {LV_ERR_RTP_SHORT, "LV_ERR_RTP_SHORT", "RTP packet shorter than its header says"},
    {LV_ERR_RTP_VERSION, "LV_ERR_RTP_VERSION", "RTP version not 2"},
    {LV_ERR_RTP_PADDING, "LV_ERR_RTP_PADDING", "RTP padding count wrong"},
    {LV_ERR_RTP_PAYLOAD, "LV_ERR_RTP_PAYLOAD", "RTP payload of a wrong size"},
    {LV_ERR_RTP_STREAMS, "LV_ERR_RTP_STREAMS", "RTP stream over the limit of streams"},
    {LV_ERR_HTTP_TOO_BIG, "LV_ERR_HTTP_TOO_BIG", "HTTP request header over the maximum"},
    {LV_ERR_HTTP_REQUEST, "LV_ERR_HTTP_REQUEST", "malformed HTTP request"},
    {LV_ERR_HTTP_UPGRADE, "LV_ERR_HTTP_UPGRADE", "not a WebSocket upgrade request"},
    {LV_ERR_HTTP_KEY, "LV_ERR_HTTP_KEY", "missing or bad Sec-WebSocket-Key"},
    {LV_ERR_HTTP_VERSION, "LV_ERR_HTTP_VERSION", "Sec-WebSocket-Version not 13"},
    {LV_ERR_WS_UNMASKED, "LV_ERR_WS_UNMASKED", "WebSocket client frame not masked"},
    {LV_ERR_WS_RSV, "LV_ERR_WS_RSV", "WebSocket reserved bits set"},
    {LV_ERR_WS_OPCODE, "LV_ERR_WS_OPCODE", "reserved WebSocket opcode"},
    {LV_ERR_WS_CONTROL, "LV_ERR_WS_CONTROL", "WebSocket control frame fragmented or too long"},
    {LV_ERR_WS_TOO_BIG, "LV_ERR_WS_TOO_BIG", "WebSocket message over the maximum"},
    {LV_ERR_WS_SEQUENCE, "LV_ERR_WS_SEQUENCE", "WebSocket fragments out of sequence"},
    {LV_ERR_WS_LENGTH, "LV_ERR_WS_LENGTH", "WebSocket length not in its shortest form"},
    {LV_ERR_WS_CLOSE, "LV_ERR_WS_CLOSE", "WebSocket close frame malformed"},
    {LV_ERR_WS_UTF8, "LV_ERR_WS_UTF8", "WebSocket text not UTF-8"},
    {LV_ERR_WS_CLOSED, "LV_ERR_WS_CLOSED", "WebSocket data after the close frame"},
    {LV_ERR_AGI_LINE, "LV_ERR_AGI_LINE", "AGI line over the maximum"},
    {LV_ERR_AGI_BYTE, "LV_ERR_AGI_BYTE", "AGI line with a NUL or control byte"},
    {LV_ERR_AGI_VAR, "LV_ERR_AGI_VAR", "AGI environment line malformed"},
    {LV_ERR_AGI_VARS, "LV_ERR_AGI_VARS", "AGI environment over the maximum of lines"},
    {LV_ERR_AGI_REPLY, "LV_ERR_AGI_REPLY", "AGI reply malformed"},
    {LV_ERR_AGI_AFTER, "LV_ERR_AGI_AFTER", "AGI bytes after HANGUP"},
    {LV_ERR_FPS_FILE, "LV_ERR_FPS_FILE", "fingerprint store file malformed or not written"},
};

static const err_text *find_err(int code)
{
    for (size_t i = 0; i < sizeof(k_err) / sizeof(k_err[0]); i++)
        if (k_err[i].code == code)
            return &k_err[i];
    return NULL;
}

const char *lv_strerror(int err)
{
    const err_text *e = find_err(err);
    return e ? e->text : "unknown error";
}

const char *lv_err_name(int err)
{
    const err_text *e = find_err(err);
    return e ? e->name : "LV_ERR_UNKNOWN";
}

int lv__fail(lv_error *e, int code, uint64_t offset, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

void lv__clear(lv_error *e)
{
    if (e) {
        e->code = LV_OK;
        e->offset = 0;
        e->msg[0] = '\0';
    }
}

/* ---- PCM ------------------------------------------------------------------------------------- */

size_t lv_counts_text(char *out, size_t cap, const char *text, const uint64_t *v, size_t n)
{
    size_t k = 0, used = 0;
    for (const char *p = text; *p; p++) {
        char num[24];
        const char *piece = p;
        size_t len = 1;
        assert(*p != '#' || used < n);
        if (*p == '#' && used < n) {
            len = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)v[used++]);
            piece = num;
        }
        if (k + len >= cap) {
            if (cap)
                out[0] = 0;
            return 0;
        }
        memcpy(out + k, piece, len);
        k += len;
    }
    assert(used == n);
    out[k] = 0;
    return k;
}

void lv_pcm_s16le(const uint8_t *bytes, size_t n, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int16_t)(uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
}

void lv_pcm_s16be(const uint8_t *bytes, size_t n, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int16_t)(uint16_t)((bytes[2 * i] << 8) | bytes[2 * i + 1]);
}

size_t lv_pcm_s16le_planar(const uint8_t *bytes, size_t len, int channels, int16_t *const out[])
{
    if (channels < 1 || channels > 2)
        return 0;
    size_t frames = len / (2 * (size_t)channels);
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++) {
            const uint8_t *b = bytes + 2 * (i * (size_t)channels + (size_t)c);
            out[c][i] = (int16_t)(uint16_t)(b[0] | (b[1] << 8));
        }
    return frames;
}

void lv_pcm_to_float(const int16_t *pcm, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)pcm[i] / 32768.0f;
}

void lv_g711_s16(const uint8_t *bytes, size_t n, bool ulaw, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ulaw ? cq_g711_ulaw_s16(bytes[i]) : cq_g711_alaw_s16(bytes[i]);
}

void lv_g711_float(const uint8_t *bytes, size_t n, bool ulaw, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(ulaw ? cq_g711_ulaw_s16(bytes[i]) : cq_g711_alaw_s16(bytes[i])) / 32768.0f;
}

void lv_s16_g711(const int16_t *pcm, size_t n, bool ulaw, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ulaw ? linear_to_ulaw(pcm[i]) : linear_to_alaw(pcm[i]);
}

/* A socket bound to host:port: TCP listening (SOCK_STREAM) or UDP (SOCK_DGRAM, with a receive
 * buffer of a few MB when the system allows it, for bursts while the thread is busy). */
int lv__listen(const char *host, const char *port, int type, int *fd_out, int *port_out,
               lv_error *e)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = type, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    const char *what = type == SOCK_DGRAM ? "UDP" : "TCP";
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return lv__fail(e, LV_ERR_ARG, 0, "%s:%s: %s", host, port, gai_strerror(g));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1, rcv = 4 << 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (type == SOCK_DGRAM)
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
            (type == SOCK_DGRAM || listen(fd, 4096) == 0))
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return lv__fail(e, LV_ERR_ARG, 0, "%s on %s:%s: %s", what, host, port, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char pn[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, pn, sizeof(pn), NI_NUMERICSERV) == 0)
            *port_out = atoi(pn);
    }
    *fd_out = fd;
    return LV_OK;
}
