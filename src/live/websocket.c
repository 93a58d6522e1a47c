/*
 * websocket.c - the server side of RFC 6455 as FreeSWITCH's mod_audio_fork speaks it: the
 * HTTP/1.1 Upgrade request (section 4.2.1) and its answer, then the client's frames (section
 * 5.2): masked, in text (JSON metadata), binary (L16 audio), continuation and control opcodes.
 *
 * DESIGN: the handshake is parsed from the start of the bytes each time more come (it is short
 * and bounded by max_header), so it keeps no state. Frames go through a state machine like
 * AudioSocket's: the 2 to 14 header bytes are gathered, checked as soon as they are whole (RSV
 * bits, opcode, mask, the shortest length form, control frames final and at most 125 bytes, the
 * message within max_message), then the payload is unmasked as it comes, into one buffer of
 * max_message bytes for data messages and one of 125 for control frames, so that a ping between
 * two fragments of a message leaves the message whole. Nothing allocates after create.
 */
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "live_int.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */
#define CTL_MAX 125

/* ---- the handshake --------------------------------------------------------------------------- */

void lv_ws_accept(const char *key, char out[LV_WS_ACCEPT_LEN + 1])
{
    struct sha1_ctx c;
    uint8_t dig[SHA1_DIGEST_SIZE];
    sha1_init(&c);
    sha1_update(&c, strlen(key), (const uint8_t *)key);
    sha1_update(&c, sizeof(WS_GUID) - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&c, sizeof(dig), dig);
    base64_encode_raw(out, sizeof(dig), dig);
    out[LV_WS_ACCEPT_LEN] = '\0';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Case-insensitive: does the comma-separated list v[0..n) hold the token tok? */
static bool list_has(const char *v, size_t n, const char *tok)
{
    size_t t = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t a = i;
        while (i < n && v[i] != ',')
            i++;
        size_t b = i;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
            b--;
        if (b - a == t) {
            size_t k = 0;
            while (k < t && lower(v[a + k]) == lower(tok[k]))
                k++;
            if (k == t)
                return true;
        }
    }
    return false;
}

static bool name_is(const char *p, size_t n, const char *name)
{
    if (strlen(name) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lower(name[i]))
            return false;
    return true;
}

/* Copy a value into a field of cap bytes; false when it does not fit or holds a NUL. */
static bool put(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap || memchr(v, '\0', n))
        return false;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

int lv_ws_upgrade_parse(const uint8_t *data, size_t n, size_t max_header, lv_ws_upgrade *u,
                        lv_error *e)
{
    memset(u, 0, sizeof(*u));
    if (max_header < 16 || max_header > 65536)
        return lv__fail(e, LV_ERR_ARG, 0, "max_header %zu out of 16-65536", max_header);
    const char *s = (const char *)data;
    size_t lim = n < max_header ? n : max_header, end = 0;
    for (size_t i = 0; i + 4 <= lim; i++)
        if (!memcmp(s + i, "\r\n\r\n", 4)) {
            end = i + 4;
            break;
        }
    if (!end) {
        if (n >= max_header)
            return lv__fail(e, LV_ERR_HTTP_TOO_BIG, 0,
                            "no end of the HTTP request within %zu bytes", max_header);
        return 0;
    }
    /* request line: GET SP target SP HTTP/1.x */
    size_t i = 0;
    const char *eol = memchr(s, '\r', end);
    size_t ln = (size_t)(eol - s);
    if (eol[1] != '\n')
        return lv__fail(e, LV_ERR_HTTP_REQUEST, 0, "a bare CR in the request line");
    if (ln < 14 || memcmp(s, "GET ", 4) != 0)
        return lv__fail(e, LV_ERR_HTTP_REQUEST, 0, "the request line is not GET <path> HTTP/1.1");
    const char *sp = memchr(s + 4, ' ', ln - 4);
    if (!sp || sp == s + 4 || (size_t)(s + ln - sp) != 9 || memcmp(sp + 1, "HTTP/1.", 7) != 0 ||
        sp[8] < '1' || sp[8] > '9')
        return lv__fail(e, LV_ERR_HTTP_REQUEST, 0,
                        "the request line is not GET <path> HTTP/1.1 (HTTP/1.1 or later)");
    for (const char *c = s + 4; c < sp; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return lv__fail(e, LV_ERR_HTTP_REQUEST, 0, "a control byte in the request target");
    if (!put(u->path, sizeof(u->path), s + 4, (size_t)(sp - s - 4)))
        return lv__fail(e, LV_ERR_HTTP_REQUEST, 0, "a request target over %zu bytes",
                        sizeof(u->path) - 1);
    i = ln + 2;
    bool upgrade = false, connection = false, version_seen = false, version_ok = false;
    int keys = 0;
    size_t protos = 0;
    while (i + 2 <= end && !(s[i] == '\r' && s[i + 1] == '\n')) {
        const char *line = s + i;
        const char *cr = memchr(line, '\r', end - i);
        size_t len = (size_t)(cr - line);
        if (cr[1] != '\n')
            return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "a bare CR in a header line");
        i += len + 2;
        if (memchr(line, '\n', len))
            return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "a bare LF in a header line");
        const char *colon = memchr(line, ':', len);
        if (!colon || colon == line)
            return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "a header line without a name");
        size_t nl = (size_t)(colon - line);
        for (size_t k = 0; k < nl; k++)
            if (!tchar((unsigned char)line[k]))
                return lv__fail(e, LV_ERR_HTTP_REQUEST, i,
                                "a header name with a byte not allowed in a token");
        const char *v = colon + 1, *ve = line + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (name_is(line, nl, "Host")) {
            if (u->host[0] || !put(u->host, sizeof(u->host), v, vl) || !vl)
                return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "Host empty, repeated or too long");
        } else if (name_is(line, nl, "Upgrade")) {
            upgrade = upgrade || list_has(v, vl, "websocket");
        } else if (name_is(line, nl, "Connection")) {
            connection = connection || list_has(v, vl, "upgrade");
        } else if (name_is(line, nl, "Sec-WebSocket-Key")) {
            if (keys++ || !put(u->key, sizeof(u->key), v, vl))
                return lv__fail(e, LV_ERR_HTTP_KEY, i, "Sec-WebSocket-Key repeated or too long");
        } else if (name_is(line, nl, "Sec-WebSocket-Version")) {
            version_ok = !version_seen && vl == 2 && !memcmp(v, "13", 2);
            version_seen = true;
        } else if (name_is(line, nl, "Sec-WebSocket-Protocol")) {
            size_t need = (protos ? 2 : 0) + vl;
            if (protos + need >= sizeof(u->protocols))
                return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "Sec-WebSocket-Protocol over %zu bytes",
                                sizeof(u->protocols) - 1);
            if (protos)
                memcpy(u->protocols + protos, ", ", 2), protos += 2;
            if (memchr(v, '\0', vl))
                return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "a NUL in Sec-WebSocket-Protocol");
            memcpy(u->protocols + protos, v, vl);
            protos += vl;
            u->protocols[protos] = '\0';
        } else if (name_is(line, nl, "Origin")) {
            if (!put(u->origin, sizeof(u->origin), v, vl))
                return lv__fail(e, LV_ERR_HTTP_REQUEST, i, "Origin over %zu bytes",
                                sizeof(u->origin) - 1);
        }
    }
    if (!u->host[0])
        return lv__fail(e, LV_ERR_HTTP_UPGRADE, 0, "no Host header");
    if (!upgrade)
        return lv__fail(e, LV_ERR_HTTP_UPGRADE, 0, "no Upgrade: websocket");
    if (!connection)
        return lv__fail(e, LV_ERR_HTTP_UPGRADE, 0, "no Connection: Upgrade");
    if (!version_ok)
        return lv__fail(e, LV_ERR_HTTP_VERSION, 0,
                        version_seen ? "Sec-WebSocket-Version is not 13"
                                     : "no Sec-WebSocket-Version");
    /* the key: base64 of 16 bytes (RFC 6455 4.1), 24 characters */
    uint8_t raw[BASE64_DECODE_LENGTH(LV_WS_KEY_MAX)];
    size_t rl = 0;
    struct base64_decode_ctx bc;
    base64_decode_init(&bc);
    size_t kl = strlen(u->key);
    if (!kl || kl != 24 || !base64_decode_update(&bc, &rl, raw, kl, u->key) ||
        !base64_decode_final(&bc) || rl != 16)
        return lv__fail(e, LV_ERR_HTTP_KEY, 0,
                        keys ? "Sec-WebSocket-Key is not 16 bytes in base64"
                             : "no Sec-WebSocket-Key");
    lv_ws_accept(u->key, u->accept);
    u->header_len = end;
    return (int)end;
}

bool lv_ws_choose_protocol(lv_ws_upgrade *u, const char *accepted)
{
    const char *v = u->protocols;
    size_t n = strlen(v), i = 0;
    u->protocol[0] = '\0';
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t a = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i == a)
            continue;
        char tok[64];
        if (!put(tok, sizeof(tok), v + a, i - a))
            continue;
        if (list_has(accepted, strlen(accepted), tok)) {
            memcpy(u->protocol, tok, strlen(tok) + 1);
            return true;
        }
    }
    return false;
}

size_t lv_ws_upgrade_response(const lv_ws_upgrade *u, char *out, size_t cap)
{
    int k;
    if (u->protocol[0])
        k = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n",
                     u->accept, u->protocol);
    else
        k = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     u->accept);
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

size_t lv_ws_reject_response(int err, char *out, size_t cap)
{
    const char *status = "400 Bad Request", *extra = "";
    if (err == LV_ERR_HTTP_VERSION)
        status = "426 Upgrade Required", extra = "Sec-WebSocket-Version: 13\r\n";
    else if (err == LV_ERR_HTTP_TOO_BIG)
        status = "431 Request Header Fields Too Large";
    int k = snprintf(out, cap, "HTTP/1.1 %s\r\n%sConnection: close\r\nContent-Length: 0\r\n\r\n",
                     status, extra);
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

/* ---- UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF) --------------- */

static bool utf8_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else
            return false;
        if (n - i <= k)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* ---- frames ---------------------------------------------------------------------------------- */

struct lv_ws_dec {
    lv_ws_params p;
    uint8_t hdr[14];
    size_t hdr_have, hdr_need; /* bytes of the header so far and in all (2 until known) */
    bool fin;
    int op;
    uint8_t mask[4];
    uint64_t len, have;    /* the frame's payload: length, bytes so far */
    uint64_t frame_offset; /* stream offset of the frame */
    uint64_t pos;          /* stream offset of the next byte */
    uint8_t *msg;          /* max_message bytes: the data message being reassembled */
    size_t msg_len;
    int msg_op;          /* TEXT or BINARY while a message is open, else 0 */
    size_t msg_frames;   /* its frames so far */
    uint64_t msg_offset; /* stream offset of its first frame */
    bool msg_done;       /* the message was handed out: start the next one empty */
    uint8_t ctl[CTL_MAX];
    bool seen_text; /* a text message was handed out (the metadata) */
    bool closed, failed;
    lv_ws_stats st;
    lv_error err;
};

lv_ws_params lv_ws_default_params(void)
{
    return (lv_ws_params){.max_message = 262144, .check_utf8 = true};
}

lv_ws_dec *lv_ws_create(const lv_ws_params *p, int *err)
{
    lv_ws_params def = lv_ws_default_params();
    if (!p)
        p = &def;
    if (p->max_message < 1 || p->max_message > 64u * 1024 * 1024) {
        if (err)
            *err = LV_ERR_ARG;
        return NULL;
    }
    lv_ws_dec *d = cq__calloc(1, sizeof(*d));
    if (!d || !(d->msg = cq__malloc(p->max_message))) {
        cq__free(d);
        if (err)
            *err = LV_ERR_NOMEM;
        return NULL;
    }
    d->p = *p;
    d->hdr_need = 2;
    if (err)
        *err = LV_OK;
    return d;
}

void lv_ws_destroy(lv_ws_dec *d)
{
    if (!d)
        return;
    cq__free(d->msg);
    cq__free(d);
}

void lv_ws_reset(lv_ws_dec *d)
{
    uint8_t *msg = d->msg;
    lv_ws_params p = d->p;
    memset(d, 0, sizeof(*d));
    d->msg = msg;
    d->p = p;
    d->hdr_need = 2;
}

const lv_ws_stats *lv_ws_get_stats(const lv_ws_dec *d)
{
    return &d->st;
}

const lv_error *lv_ws_last_error(const lv_ws_dec *d)
{
    return &d->err;
}

int lv_ws_close_code_for(int err)
{
    switch (err) {
    case LV_ERR_WS_TOO_BIG: return LV_WS_CLOSE_TOO_BIG;
    case LV_ERR_WS_UTF8: return LV_WS_CLOSE_BAD_DATA;
    default: return LV_WS_CLOSE_PROTOCOL;
    }
}

static bool control(int op)
{
    return op >= 0x8;
}

static bool close_code_ok(int c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static int fail(lv_ws_dec *d, int code, const char *what)
{
    d->failed = true;
    return lv__fail(&d->err, code, d->frame_offset, "WebSocket frame at byte %llu: %s",
                    (unsigned long long)d->frame_offset, what);
}

/* The header is whole: check it. LV_OK or the error. */
static int check_header(lv_ws_dec *d)
{
    const uint8_t *h = d->hdr;
    if (h[0] & 0x70)
        return fail(d, LV_ERR_WS_RSV, "RSV bits set without an extension");
    int op = h[0] & 0x0f;
    if (op != LV_WS_CONT && op != LV_WS_TEXT && op != LV_WS_BINARY && op != LV_WS_CLOSE &&
        op != LV_WS_PING && op != LV_WS_PONG)
        return fail(d, LV_ERR_WS_OPCODE, "a reserved opcode");
    if (!(h[1] & 0x80))
        return fail(d, LV_ERR_WS_UNMASKED, "a client frame without a mask (RFC 6455 5.1)");
    d->fin = (h[0] & 0x80) != 0;
    d->op = op;
    uint64_t len = h[1] & 0x7f;
    size_t k = 2;
    if (len == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
        k = 4;
        if (len < 126)
            return fail(d, LV_ERR_WS_LENGTH, "a 16-bit length under 126");
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | h[2 + i];
        k = 10;
        if (len >> 63)
            return fail(d, LV_ERR_WS_LENGTH, "a 64-bit length with its top bit set");
        if (len < 65536)
            return fail(d, LV_ERR_WS_LENGTH, "a 64-bit length under 65536");
    }
    memcpy(d->mask, h + k, 4);
    d->len = len;
    d->have = 0;
    if (control(op)) {
        if (!d->fin)
            return fail(d, LV_ERR_WS_CONTROL, "a fragmented control frame");
        if (len > CTL_MAX)
            return fail(d, LV_ERR_WS_CONTROL, "a control frame over 125 bytes");
        return LV_OK;
    }
    if (op == LV_WS_CONT && !d->msg_op)
        return fail(d, LV_ERR_WS_SEQUENCE, "a continuation frame with no message to continue");
    if (op != LV_WS_CONT && d->msg_op)
        return fail(d, LV_ERR_WS_SEQUENCE, "a new message before the fragmented one ended");
    if (op != LV_WS_CONT) {
        d->msg_op = op;
        d->msg_len = 0;
        d->msg_frames = 0;
        d->msg_offset = d->frame_offset;
    }
    if (len > d->p.max_message - d->msg_len) {
        d->failed = true;
        return lv__fail(&d->err, LV_ERR_WS_TOO_BIG, d->frame_offset,
                        "WebSocket message at byte %llu over %zu bytes",
                        (unsigned long long)d->msg_offset, d->p.max_message);
    }
    return LV_OK;
}

/* The frame's payload is whole: 1 with a message in *out, 0 to read on, or an error. */
static int frame_done(lv_ws_dec *d, lv_ws_msg *out)
{
    d->st.frames++;
    d->hdr_have = 0;
    d->hdr_need = 2;
    memset(out, 0, sizeof(*out));
    if (control(d->op)) {
        out->op = (lv_ws_op)d->op;
        out->data = d->len ? d->ctl : NULL;
        out->len = (size_t)d->len;
        out->offset = d->frame_offset;
        out->frames = 1;
        if (d->op == LV_WS_CLOSE) {
            out->close_code = LV_WS_CLOSE_NO_STATUS;
            if (d->len == 1)
                return fail(d, LV_ERR_WS_CLOSE, "a close frame of 1 byte");
            if (d->len >= 2) {
                out->close_code = (d->ctl[0] << 8) | d->ctl[1];
                if (!close_code_ok(out->close_code))
                    return fail(d, LV_ERR_WS_CLOSE, "a close code that may not be sent");
                out->reason = (const char *)d->ctl + 2;
                out->reason_len = (size_t)d->len - 2;
                if (d->p.check_utf8 && !utf8_ok(d->ctl + 2, out->reason_len))
                    return fail(d, LV_ERR_WS_UTF8, "a close reason that is not UTF-8");
            }
            d->closed = true;
        } else if (d->op == LV_WS_PING)
            d->st.pings++;
        else
            d->st.pongs++;
        d->st.messages++;
        return 1;
    }
    d->msg_frames++;
    if (!d->fin)
        return 0;
    if (d->msg_op == LV_WS_TEXT && d->p.check_utf8 && !utf8_ok(d->msg, d->msg_len))
        return fail(d, LV_ERR_WS_UTF8, "a text message that is not UTF-8");
    out->op = (lv_ws_op)d->msg_op;
    out->data = d->msg_len ? d->msg : NULL;
    out->len = d->msg_len;
    out->offset = d->msg_offset;
    out->frames = d->msg_frames;
    if (d->msg_op == LV_WS_TEXT) {
        out->metadata = !d->seen_text;
        d->seen_text = true;
        d->st.text++;
    } else {
        d->st.binary++;
        d->st.binary_bytes += d->msg_len;
    }
    if (d->msg_frames > 1)
        d->st.fragmented++;
    d->st.messages++;
    d->msg_op = 0;
    d->msg_done = true;
    return 1;
}

int lv_ws_next(lv_ws_dec *d, const uint8_t *data, size_t n, size_t *used, lv_ws_msg *out)
{
    size_t i = 0;
    int rc = 0;
    *used = 0;
    if (d->failed)
        return LV_ERR_FAILED;
    if (!data && n)
        return LV_ERR_ARG;
    if (d->msg_done) {
        d->msg_done = false;
        d->msg_len = 0;
    }
    if (d->closed) {
        if (!n)
            return 0;
        d->frame_offset = d->pos;
        return fail(d, LV_ERR_WS_CLOSED, "bytes after the close frame");
    }
    for (;;) {
        if (d->hdr_have < d->hdr_need) {
            if (d->hdr_have == 0)
                d->frame_offset = d->pos + i;
            while (d->hdr_have < d->hdr_need && i < n) {
                d->hdr[d->hdr_have++] = data[i++];
                if (d->hdr_have == 2) {
                    size_t l7 = d->hdr[1] & 0x7f;
                    d->hdr_need = 2 +
                                  (l7 == 126   ? 2
                                   : l7 == 127 ? 8
                                               : 0) +
                                  ((d->hdr[1] & 0x80) ? 4 : 0);
                }
            }
            if (d->hdr_have < d->hdr_need)
                break;
            rc = check_header(d);
            if (rc != LV_OK)
                break;
        }
        uint8_t *dst = control(d->op) ? d->ctl : d->msg + d->msg_len;
        uint64_t want = d->len - d->have;
        size_t take = want < n - i ? (size_t)want : n - i;
        for (size_t k = 0; k < take; k++)
            dst[d->have + k] = data[i + k] ^ d->mask[(d->have + k) & 3];
        d->have += take;
        i += take;
        if (d->have < d->len)
            break;
        if (!control(d->op))
            d->msg_len += (size_t)d->len;
        rc = frame_done(d, out);
        if (rc != 0)
            break;
    }
    d->pos += i;
    d->st.bytes += i;
    *used = i;
    return rc;
}

/* ---- the server's frames --------------------------------------------------------------------- */

size_t lv_ws_encode(uint8_t *out, size_t cap, lv_ws_op op, bool fin, const uint8_t *mask,
                    const uint8_t *payload, size_t len)
{
    if (!out || (len && !payload))
        return 0;
    if (op != LV_WS_CONT && op != LV_WS_TEXT && op != LV_WS_BINARY && op != LV_WS_CLOSE &&
        op != LV_WS_PING && op != LV_WS_PONG)
        return 0;
    if (control(op) && (!fin || len > CTL_MAX))
        return 0;
    size_t h = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + (mask ? 4 : 0);
    if (cap < h || cap - h < len)
        return 0;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    size_t k = 2;
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        k = 4;
    } else {
        out[1] = 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        k = 10;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + k, mask, 4);
        k += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[k + i] = mask ? payload[i] ^ mask[i & 3] : payload[i];
    return k + len;
}

size_t lv_ws_encode_close(uint8_t *out, size_t cap, int code, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (!close_code_ok(code) || rl > CTL_MAX - 2)
        return 0;
    uint8_t p[CTL_MAX];
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    if (rl)
        memcpy(p + 2, reason, rl);
    return lv_ws_encode(out, cap, LV_WS_CLOSE, true, NULL, p, 2 + rl);
}

uint8_t *lv_ws_play_audio(const int16_t *pcm, size_t n, uint32_t rate_hz, size_t *len)
{
    *len = 0;
    if (!n || n > SIZE_MAX / 8)
        return NULL;
    char head[160];
    const int hl = snprintf(head, sizeof(head),
                            "{\"type\":\"playAudio\",\"data\":{\"audioContentType\":\"raw\","
                            "\"sampleRate\":%u,\"audioContent\":\"",
                            (unsigned)rate_hz);
    static const char tail[] = "\"}}";
    uint8_t *raw = malloc(2 * n);
    const size_t b64 = BASE64_ENCODE_RAW_LENGTH(2 * n);
    const size_t pl = (size_t)hl + b64 + sizeof(tail) - 1;
    char *payload = malloc(pl);
    uint8_t *frame = malloc(pl + 10);
    if (!raw || !payload || !frame) {
        free(raw), free(payload), free(frame);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        raw[2 * i] = (uint8_t)((uint16_t)pcm[i] & 0xff);
        raw[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
    }
    memcpy(payload, head, (size_t)hl);
    base64_encode_raw(payload + hl, 2 * n, raw);
    memcpy(payload + hl + b64, tail, sizeof(tail) - 1);
    *len = lv_ws_encode(frame, pl + 10, LV_WS_TEXT, true, NULL, (const uint8_t *)payload, pl);
    free(raw);
    free(payload);
    if (!*len) {
        free(frame);
        return NULL;
    }
    return frame;
}
