/*
 * server_ws.c - WebSocket sessions of `callqa live` (server_int.h), as mod_audio_fork opens them:
 * the Upgrade request as its bytes come (the audio's format from its URL's query), then the
 * frames (lv_ws): a first text message, the metadata, naming the call and its destination; binary
 * messages of L16 into the call's ring (the probe sent back as a playAudio frame beside them);
 * pings answered; a close frame its end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

/* A WebSocket close frame, once (best effort, like every reply: never waited for). */
void lv__ws_send_close(lv__call *c, int code, const char *reason)
{
    uint8_t b[160];
    if (c->fd < 0 || !c->ws || c->hdr || c->ws_close_sent)
        return;
    if (c->wout_on && !lv__probe_ws_out(c)) /* not in the middle of the probe's frame */
        return;
    size_t n = lv_ws_encode_close(b, sizeof(b), code, reason);
    if (!n)
        n = lv_ws_encode_close(b, sizeof(b), LV_WS_CLOSE_NORMAL, NULL);
    lv__send_frame(c->fd, b, n);
    c->ws_close_sent = true;
}

/* A call's name from the peer's bytes: at most LV__NAME_MAX_LEN of them, each byte outside
 * [A-Za-z0-9._:/@+=-] made '_', so that a name is always safe in a JSON string. */
static void safe_name(char *dst, const char *src, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && src[i] && k < LV__NAME_MAX_LEN; i++) {
        unsigned char ch = (unsigned char)src[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || (ch && strchr("._:/@+=-", ch));
        dst[k++] = ok ? (char)ch : '_';
    }
    dst[k] = 0;
}

/* The value of key in the request's query ("?rate=16000&mix=stereo"), "" when absent. */
static void query_get(const char *target, const char *key, char *out, size_t cap)
{
    const char *q = strchr(target, '?');
    size_t kl = strlen(key);
    out[0] = 0;
    for (const char *p = q; p && *p;) {
        p++; /* past '?' or '&' */
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = len - kl - 1 < cap - 1 ? len - kl - 1 : cap - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return;
        }
        p = amp;
    }
}

/* A value of the peer's for a line on stderr: printable ASCII only, the rest '?'. */
static const char *printable(char *v)
{
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return v;
}

/* The format of a connection's audio, from its URL's query or the server's settings. Returns
 * false (msg says why) on a value the query gives that is not one of mod_audio_fork's. */
static bool ws_format(lv__call *c, const char *target, char *msg, size_t cap)
{
    char v[16];
    c->ws_rate = c->srv->p.ws_rate_hz;
    c->ws_ch = c->srv->p.ws_channels;
    query_get(target, "rate", v, sizeof(v));
    if (v[0]) {
        if (!strcmp(v, "8000") || !strcmp(v, "8k"))
            c->ws_rate = 8000;
        else if (!strcmp(v, "16000") || !strcmp(v, "16k"))
            c->ws_rate = 16000;
        else
            return snprintf(msg, cap, "rate=%s in the URL: 8000 or 16000 expected", printable(v)),
                   false;
    }
    query_get(target, "mix", v, sizeof(v));
    if (v[0]) {
        if (!strcmp(v, "mono") || !strcmp(v, "mixed"))
            c->ws_ch = 1;
        else if (!strcmp(v, "stereo"))
            c->ws_ch = 2;
        else
            return snprintf(msg, cap, "mix=%s in the URL: mono, mixed or stereo expected",
                            printable(v)),
                   false;
    }
    return true;
}

/* The name a mod_audio_fork metadata message gives: its uuid (or callId, callid, call_id)
 * when it is a JSON object with one of them as a non-empty string. */
static void ws_name_from_metadata(lv__call *c, const uint8_t *text, size_t len)
{
    static const char *const keys[] = {"uuid", "callId", "callid", "call_id"};
    /* the destination, for remembered announcements (docs/live.md) */
    static const char *const dkeys[] = {"destination", "to", "callee", "dnis"};
    json_t *j = json_loadb((const char *)text, len, 0, NULL);
    for (size_t i = 0; json_is_object(j) && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(j, keys[i]);
        if (json_is_string(v) && json_string_length(v)) {
            safe_name(c->name, json_string_value(v), json_string_length(v));
            break;
        }
    }
    for (size_t i = 0; json_is_object(j) && i < sizeof(dkeys) / sizeof(dkeys[0]); i++) {
        const char *v = json_string_value(json_object_get(j, dkeys[i]));
        if (v && lv_fps_dest_ok(v)) {
            pthread_mutex_lock(&c->mu);
            snprintf(c->dest, sizeof(c->dest), "%s", v);
            pthread_mutex_unlock(&c->mu);
            break;
        }
    }
    json_decref(j);
}

static bool ws_become_call(lv__call *c, lv__call **closed)
{
    if (!c->name[0]) { /* no name in the metadata: the path, else a number */
        if (c->path[0] && strcmp(c->path, "/") != 0)
            safe_name(c->name, c->path, strlen(c->path));
        else
            snprintf(c->name, sizeof(c->name), "ws-%llu", (unsigned long long)++c->srv->ws_seq);
    }
    return lv__become_call(c, closed);
}

static void ws_msg(lv__call *c, const lv_ws_msg *m, lv__call **closed)
{
    uint8_t b[160];
    char msg[160] = "";
    c->t_last = cq_clock_mono_sec(); /* a whole message: the stall counts from here */
    switch (m->op) {
    case LV_WS_TEXT:
        c->ws_text++;
        if (!c->named) {
            if (m->metadata)
                ws_name_from_metadata(c, m->data, m->len);
            (void)ws_become_call(c, closed);
        }
        return;
    case LV_WS_BINARY: {
        if (!c->named && !ws_become_call(c, closed))
            return;
        c->ws_binary++;
        size_t fb = 2 * (size_t)c->ws_ch, frames = m->len / fb;
        c->ws_odd_bytes += m->len - frames * fb;
        lv__end r = lv__ring_put_le(c, m->data, frames, c->ws_ch, c->ws_rate, msg);
        if (r != LV__END_NONE)
            lv__conn_end(c, r, msg[0] ? msg : NULL, closed);
        else if (c->srv->ws_probe)
            (void)lv__probe_ws_out(c);
        return;
    }
    case LV_WS_PING:
        c->ws_pings++;
        if (lv__probe_ws_out(c)) /* a pong in the middle of the probe's frame would break both */
            lv__send_frame(c->fd, b,
                           lv_ws_encode(b, sizeof(b), LV_WS_PONG, true, NULL, m->data, m->len));
        return;
    case LV_WS_CLOSE:
        c->ws_close_code = m->close_code;
        lv__ws_send_close(
            c, m->close_code == LV_WS_CLOSE_NO_STATUS ? LV_WS_CLOSE_NORMAL : m->close_code, NULL);
        lv__conn_end(c, LV__END_HANGUP, NULL, closed);
        return;
    default: return; /* a pong */
    }
}

static void ws_frames(lv__call *c, const uint8_t *buf, size_t k, lv__call **closed)
{
    size_t off = 0;
    while (off < k && c->open) {
        size_t used = 0;
        lv_ws_msg m;
        int r = lv_ws_next(c->ws, buf + off, k - off, &used, &m);
        off += used;
        if (r == 0)
            break;
        if (r < 0) {
            const lv_error *e = lv_ws_last_error(c->ws);
            lv__ws_send_close(c, lv_ws_close_code_for(r), lv_err_name(r));
            lv__conn_end(c, LV__END_ERROR, e->msg[0] ? e->msg : lv_strerror(r), closed);
            return;
        }
        ws_msg(c, &m, closed);
    }
}

/* The Upgrade request, as its bytes come; then the 101 answer and the frames after it. */
void lv__ws_bytes(lv__call *c, const uint8_t *buf, size_t k, lv__call **closed)
{
    if (!c->hdr) {
        ws_frames(c, buf, k, closed);
        return;
    }
    size_t take = LV__WS_HEADER_MAX - c->hdr_len < k ? LV__WS_HEADER_MAX - c->hdr_len : k;
    memcpy(c->hdr + c->hdr_len, buf, take);
    c->hdr_len += take;
    lv_ws_upgrade up;
    lv_error e;
    lv__clear(&e);
    int r = lv_ws_upgrade_parse(c->hdr, c->hdr_len, LV__WS_HEADER_MAX, &up, &e);
    if (r == 0)
        return;
    char out[1024], msg[160] = "";
    size_t n;
    if (r > 0 && !ws_format(c, up.path, msg, sizeof(msg)))
        r = LV_ERR_HTTP_REQUEST;
    lv_ws_params wp = lv_ws_default_params();
    wp.max_message = c->srv->p.ws_max_message;
    if (r > 0 && !(c->ws = lv_ws_create(&wp, NULL))) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        lv__send_frame(c->fd, (const uint8_t *)busy, sizeof(busy) - 1);
        lv__conn_end(c, LV__END_ERROR, "out of memory for the WebSocket decoder", closed);
        return;
    }
    if (r < 0) {
        lv__send_frame(c->fd, (const uint8_t *)out, lv_ws_reject_response(r, out, sizeof(out)));
        fprintf(stderr, "callqa live: refused a WebSocket connection: %s\n", msg[0] ? msg : e.msg);
        lv__conn_end(c, LV__END_ERROR, NULL, closed);
        return;
    }
    if (atomic_load(&c->srv->active) >= (uint64_t)c->srv->p.max_calls) {
        lv__conn_end(c, LV__END_FULL, NULL,
                     closed); /* 503, before the 101 (c->hdr is still there) */
        return;
    }
    c->t_last = cq_clock_mono_sec(); /* the whole Upgrade request */
    (void)lv_ws_choose_protocol(&up, "audio.drachtio.org,audiostream.drachtio.org");
    n = lv_ws_upgrade_response(&up, out, sizeof(out));
    lv__send_frame(c->fd, (const uint8_t *)out, n);
    size_t pl = strcspn(up.path, "?");
    safe_name(c->path, up.path, pl < sizeof(c->path) - 1 ? pl : sizeof(c->path) - 1);
    uint8_t *h = c->hdr;
    c->hdr = NULL; /* upgraded: from here on, frames */
    ws_frames(c, h + r, c->hdr_len - (size_t)r, closed);
    if (take < k && c->open)
        ws_frames(c, buf + take, k - take, closed);
    free(h);
}

void lv__ws_summary(const lv__call *c, lv__lbuf *l)
{
    lv__put(l,
            ",\"path\":\"%s\",\"channels\":%d,\"binary_messages\":%llu,\"text_messages\":%llu,"
            "\"pings\":%llu,\"partial_frame_bytes\":%llu",
            c->path, c->ws_ch, (unsigned long long)c->ws_binary, (unsigned long long)c->ws_text,
            (unsigned long long)c->ws_pings, (unsigned long long)c->ws_odd_bytes);
    if (c->ws_close_code)
        lv__put(l, ",\"peer_close_code\":%d", c->ws_close_code);
}
