/*
 * server_as.c - AudioSocket sessions of `callqa live` (server_int.h): a connection's frames from
 * its decoder (lv_as), its UUID frame naming the call, its audio into the call's ring (the probe
 * played back beside it), its DTMF frames as event lines, its hangup and error frames its end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

static void on_audio(lv__call *c, const lv_as_frame *f, lv__call **closed)
{
    char msg[160] = "";
    lv__end r = lv__ring_put_le(c, f->payload, f->samples, 1, f->rate_hz, msg);
    if (r != LV__END_NONE) {
        lv__conn_end(c, r, msg[0] ? msg : NULL, closed);
        return;
    }
    if (c->srv->p.probe_len && f->rate_hz == CQ_CLASSIFY_RATE)
        lv__probe_as_out(c, f->samples);
}

static void on_dtmf(lv__call *c, char digit)
{
    const bool mask = c->srv->p.mask_digits;
    pthread_mutex_lock(&c->mu);
    double at = c->rate ? (double)c->rx_samples / c->rate : 0;
    if (mask && c->rate) /* the frame comes as the digit ends: the half second before it muted */
        lv__mute_locked(c, c->rx_samples > c->rate / 2 ? c->rx_samples - c->rate / 2 : 0,
                        c->rx_samples + (uint64_t)(LV__MUTE_GUARD_SEC * c->rate));
    pthread_mutex_unlock(&c->mu);
    lv__lbuf l = {.n = 0};
    lv__put_head(&l, c);
    lv__put(&l, "\"type\":\"dtmf\",\"source\":\"audiosocket\",\"digit\":\"%c\"",
            mask ? '*' : digit); /* 0-9 * # A-D only: the decoder checked */
    lv__put(&l, ",\"start\":%.3f", at);
    lv__put_tail(&l, at);
    lv__meta m = {.type = "dtmf", .start = at, .end = at, .at = at};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    lv__call_emit(c, &m, l.b, l.n);
}

/* One whole frame. */
static void on_frame(lv__call *c, const lv_as_frame *f, lv__call **closed)
{
    char msg[160];
    c->frames++;
    c->t_last = cq_clock_mono_sec(); /* a whole frame: the stall counts from here */
    if (!c->named) {
        if (f->kind != LV_AS_UUID) {
            fprintf(stderr,
                    "callqa live: refused a connection whose first frame is %s, not a UUID\n",
                    lv_as_kind_name(f->kind));
            lv__conn_end(c, LV__END_ERROR, NULL, closed);
            return;
        }
        lv_as_uuid_str(f->uuid, c->name);
        (void)lv__become_call(c, closed);
        return;
    }
    switch (f->kind) {
    case LV_AS_HANGUP: lv__conn_end(c, LV__END_HANGUP, NULL, closed); return;
    case LV_AS_UUID:
        lv__conn_end(c, LV__END_ERROR, "a second UUID frame within the call", closed);
        return;
    case LV_AS_DTMF:
        c->dtmf++;
        on_dtmf(c, f->digit);
        return;
    case LV_AS_ERROR:
        if (f->error_code < 0)
            snprintf(msg, sizeof(msg), "the peer sent an error frame");
        else
            snprintf(msg, sizeof(msg), "the peer sent error code 0x%02x%s%s%s", f->error_code,
                     f->error_code & LV_AS_ERR_HANGUP ? " (the calling party hung up)" : "",
                     f->error_code & LV_AS_ERR_FRAME ? " (frame forwarding error)" : "",
                     f->error_code & LV_AS_ERR_MEMORY ? " (memory error)" : "");
        lv__conn_end(c, f->error_code == LV_AS_ERR_HANGUP ? LV__END_HANGUP : LV__END_ERROR, msg,
                     closed);
        return;
    default:
        if (f->rate_hz)
            on_audio(c, f, closed);
        return;
    }
}

void lv__as_bytes(lv__call *c, const uint8_t *buf, size_t k, lv__call **closed)
{
    size_t off = 0;
    while (off < k && c->open) {
        size_t used = 0;
        lv_as_frame f;
        int r = lv_as_next(c->dec, buf + off, k - off, &used, &f);
        off += used;
        if (r == 0)
            break;
        if (r < 0) {
            const lv_error *e = lv_as_last_error(c->dec);
            if (!c->named)
                fprintf(stderr, "callqa live: refused a connection: %s\n", e->msg);
            lv__conn_end(c, LV__END_ERROR, e->msg[0] ? e->msg : lv_strerror(r), closed);
            return;
        }
        on_frame(c, &f, closed);
    }
}

void lv__as_summary(const lv__call *c, lv__lbuf *l)
{
    lv__put(l, ",\"frames\":%llu,\"dtmf_frames\":%llu", (unsigned long long)c->frames,
            (unsigned long long)c->dtmf);
}
