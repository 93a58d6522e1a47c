/*
 * probe.c - the probe of `callqa live --live hold --probe` (docs/live/hold-slayer.md, "Asking the
 * line"): made from its WAV (lv_probe_load), and played back into a call when its classifier asks
 * for it, by the network thread, in the call's own wire format (server_int.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "callqa/cq_audio.h"
#include "server_int.h"

/* ---- the probe played back (network thread) -------------------------------------------------- */

/* The next piece of the probe to play beside n samples received (LV__PROBE_FRAME_MAX at most) into
 * pcm: how many samples, 0 when none is asked for. Its first piece marks where the line hears
 * it begin: after the audio just received. */
static size_t probe_take(lv__call *c, size_t n, int16_t *pcm)
{
    const lv_server *s = c->srv;
    size_t k = 0;
    pthread_mutex_lock(&c->mu);
    if (c->probe_on) {
        if (!c->probe_pos)
            c->probe_began = true, c->probe_at = c->rx_samples;
        k = n < LV__PROBE_FRAME_MAX ? n : LV__PROBE_FRAME_MAX;
        if (k > s->p.probe_len - c->probe_pos)
            k = s->p.probe_len - c->probe_pos;
        memcpy(pcm, s->p.probe + c->probe_pos, k * sizeof(int16_t));
        c->probe_pos += k;
        c->probe_on = c->probe_pos < s->p.probe_len;
    }
    pthread_mutex_unlock(&c->mu);
    return k;
}

/*
 * The probe back to the peer, paced by what it sends: beside each audio frame received, as many
 * samples of the probe as the frame held (the peer's clock, so the probe plays at its own
 * speed), as one slin frame. The socket is never waited for: the part of a frame it did not
 * take is sent first next time, and while some is left the probe waits (it is delayed, never
 * cut: its frames go whole, in order).
 */
void lv__probe_as_out(lv__call *c, size_t n)
{
    if (c->pout_off < c->pout_len) { /* what the socket did not take last time */
        ssize_t k = send(c->fd, c->pout + c->pout_off, c->pout_len - c->pout_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0)
            c->pout_off += (size_t)k;
        if (c->pout_off < c->pout_len)
            return;
    }
    int16_t pcm[LV__PROBE_FRAME_MAX];
    const size_t k = probe_take(c, n, pcm);
    if (!k)
        return;
    c->pout_len = lv_as_encode_slin(c->pout, sizeof(c->pout), CQ_CLASSIFY_RATE, pcm, k);
    c->pout_off = 0;
    ssize_t w = send(c->fd, c->pout, c->pout_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0)
        c->pout_off = (size_t)w;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        c->pout_len = 0; /* the connection's end will be read from it */
    c->probe_samples += k;
}

/*
 * The probe over the WebSocket: the whole of it in one playAudio frame (mod_audio_fork writes it
 * to a file and the dialplan plays it), sent beside the audio frames that come in, never waited
 * for: what the socket did not take is sent beside the next ones. It began, for the classifier,
 * when its first bytes went out; the dialplan's playback starts a little later, inside the
 * reply's window (docs/live/hold-slayer.md, "Asking the line"). False while part of the frame is
 * unsent: no other frame may go out then.
 */
bool lv__probe_ws_out(lv__call *c)
{
    const lv_server *s = c->srv;
    if (!c->wout_on) {
        pthread_mutex_lock(&c->mu);
        if (c->probe_on && s->ws_probe) {
            c->probe_began = true, c->probe_at = c->rx_samples;
            c->probe_pos = s->p.probe_len;
            c->probe_on = false;
            c->wout_on = true, c->wout_off = 0;
        }
        pthread_mutex_unlock(&c->mu);
        if (!c->wout_on)
            return true;
        c->probe_samples += s->p.probe_len;
    }
    ssize_t w = send(c->fd, s->ws_probe + c->wout_off, s->ws_probe_len - c->wout_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0)
        c->wout_off += (size_t)w;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        c->wout_off = s->ws_probe_len; /* the connection's end will be read from it */
    if (c->wout_off < s->ws_probe_len)
        return false;
    c->wout_on = false;
    return true;
}

/*
 * The probe over RTP, back to the call's media source (ARI externalMedia takes the media it
 * sends back there, RFC 4961's symmetric RTP), as the answer to a packet of the call that came
 * from there just now (rtp_readable): a stream of its own (a random SSRC,
 * sequence and timestamp base, the marker on its first packet), in the received packet's payload
 * type, one packet of as many samples beside each packet received (the peer's clock). At 8 kHz
 * only: PCMU, PCMA, L16 in either byte order.
 */
void lv__probe_rtp_out(lv_server *s, lv__call *c, const lv_rtp_header *h)
{
    const lv_codec codec = (lv_codec)s->p.rtp_map.codec[h->pt];
    if (s->p.rtp_map.rate_hz[h->pt] != CQ_CLASSIFY_RATE || codec == LV_CODEC_NONE)
        return;
    size_t n =
        codec == LV_CODEC_PCMU || codec == LV_CODEC_PCMA ? h->payload_len : h->payload_len / 2;
    int16_t pcm[LV__PROBE_FRAME_MAX];
    const size_t k = probe_take(c, n, pcm);
    if (!k)
        return;
    uint8_t pay[2 * LV__PROBE_FRAME_MAX], pkt[12 + 2 * LV__PROBE_FRAME_MAX];
    size_t pl = k;
    if (codec == LV_CODEC_PCMU || codec == LV_CODEC_PCMA) {
        lv_s16_g711(pcm, k, codec == LV_CODEC_PCMU, pay);
    } else {
        const bool be = codec == LV_CODEC_L16;
        for (size_t i = 0; i < k; i++) {
            const uint16_t v = (uint16_t)pcm[i];
            pay[2 * i] = (uint8_t)(be ? v >> 8 : v & 0xff);
            pay[2 * i + 1] = (uint8_t)(be ? v & 0xff : v >> 8);
        }
        pl = 2 * k;
    }
    if (!c->rout_on) {
        uint8_t r[10];
        if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
            for (size_t i = 0; i < sizeof(r); i++) /* no entropy yet: anything unlike the peer's */
                r[i] = (uint8_t)((c->ssrc >> (8 * (i & 3))) ^ (0xa5u + 29u * i));
        memcpy(&c->rout_ssrc, r, 4), memcpy(&c->rout_ts, r + 4, 4), memcpy(&c->rout_seq, r + 8, 2);
        if (c->rout_ssrc == c->ssrc)
            c->rout_ssrc ^= 0x80000000u;
        c->rout_on = true;
    }
    const size_t m = lv_rtp_encode(pkt, sizeof(pkt), h->pt, c->probe_pos == k, c->rout_seq++,
                                   c->rout_ts, c->rout_ssrc, pay, pl);
    c->rout_ts += (uint32_t)k;
    if (m)
        (void)sendto(s->rtp_fd, pkt, m, MSG_NOSIGNAL | MSG_DONTWAIT,
                     (const struct sockaddr *)&c->src, c->src_len);
    c->probe_samples += k;
}

/* ---- the probe made from its WAV ------------------------------------------------------------- */

#define PROBE_MAX_SEC 10.0 /* the longest probe */
#define PROBE_RATE 8000    /* the rate it is played at (CQ_CLASSIFY_RATE) */
#define TRIM_LEVEL 0.01f   /* silence before and after it: below -40 dBFS ... */
#define TRIM_KEEP 160      /* ... trimmed but for 20 ms */

/* The audio of a, both channels mixed, into a new *x of *m samples (at a's rate). */
static int probe_read(cq_audio *a, float **x, size_t *m, lv_error *e)
{
    const cq_audio_info *in = cq_audio_get_info(a);
    const size_t max = (size_t)(PROBE_MAX_SEC * in->sample_rate_hz) + 1;
    cq_err ce = {0};
    if (!(*x = malloc(max * 2 * sizeof(float))))
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    const int64_t got = cq_audio_read(a, *x, max, &ce);
    if (got < 0)
        return lv__fail(e, LV_ERR_ARG, 0, "%s", ce.msg[0] ? ce.msg : "out of memory");
    if (!got || (size_t)got >= max)
        return lv__fail(e, LV_ERR_ARG, 0, "%s", got ? "longer than 10 s" : "no audio in it");
    for (int64_t i = 0; i < got; i++) /* mixed down */
        (*x)[i] = in->channels == 2 ? 0.5f * ((*x)[2 * i] + (*x)[2 * i + 1]) : (*x)[i];
    *m = (size_t)got;
    return LV_OK;
}

/* x[0..*m) at rate_hz into a new *y at 8 kHz (the filter's tail too), *m its length. */
static int probe_to_8k(const float *x, int rate_hz, float **y, size_t *m, lv_error *e)
{
    int err = 0;
    cq_resample *rs = cq_resample_create((double)rate_hz, PROBE_RATE, &err);
    const size_t cap = *m * PROBE_RATE / (size_t)rate_hz + 1024;
    long k = -1, tot = 0;
    if (rs && (*y = malloc(cap * sizeof(float))) &&
        (k = cq_resample_process(rs, x, *m, *y, cap)) >= 0)
        for (tot = k; k > 0 && tot < (long)cap;) {
            k = cq_resample_process(rs, NULL, 0, *y + tot, cap - (size_t)tot);
            tot += k > 0 ? k : 0;
        }
    cq_resample_destroy(rs);
    if (k < 0)
        return lv__fail(e, LV_ERR_ARG, 0, "cannot resample it to 8 kHz");
    *m = (size_t)tot;
    return LV_OK;
}

/* s8[0..m), its silence before and after trimmed (the classifier listens for the reply from the
 * probe's end), as 16-bit samples into a new *pcm of *n. */
static int probe_trim_s16(const float *s8, size_t m, int16_t **pcm, size_t *n, lv_error *e)
{
    size_t a0 = 0, a1 = m;
    while (a0 < m && fabsf(s8[a0]) < TRIM_LEVEL)
        a0++;
    while (a1 > a0 && fabsf(s8[a1 - 1]) < TRIM_LEVEL)
        a1--;
    if (a0 == a1)
        return lv__fail(e, LV_ERR_ARG, 0, "it is silent");
    a0 = a0 > TRIM_KEEP ? a0 - TRIM_KEEP : 0;
    a1 = a1 + TRIM_KEEP < m ? a1 + TRIM_KEEP : m;
    if (!(*pcm = malloc((a1 - a0) * sizeof(int16_t))))
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    for (size_t i = a0; i < a1; i++) {
        const float v = s8[i] * 32768.0f;
        (*pcm)[i - a0] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
    }
    *n = a1 - a0;
    return LV_OK;
}

int lv_probe_load(const char *spec, int16_t **pcm, size_t *n, lv_error *e)
{
    lv__clear(e);
    *pcm = NULL, *n = 0;
    cq_err ce = {0};
    cq_audio *a;
    if (!strcmp(spec, "default")) {
        size_t len;
        const unsigned char *wav = lv_default_probe(&len);
        if (!wav)
            return lv__fail(e, LV_ERR_ARG, 0,
                            "this build has no built-in probe (espeak-ng was not found when it "
                            "was built); give a WAV");
        a = cq_audio_open_memory(wav, len, "probe-hello.wav", &ce);
    } else {
        a = cq_audio_open(spec, &ce);
    }
    if (!a)
        return lv__fail(e, LV_ERR_ARG, 0, "%s", ce.msg);
    const int rate_hz = cq_audio_get_info(a)->sample_rate_hz;
    float *x = NULL, *y = NULL;
    size_t m = 0;
    int rc = probe_read(a, &x, &m, e);
    if (rc == LV_OK && rate_hz != PROBE_RATE)
        rc = probe_to_8k(x, rate_hz, &y, &m, e);
    if (rc == LV_OK)
        rc = probe_trim_s16(y ? y : x, m, pcm, n, e);
    free(x);
    free(y);
    cq_audio_close(a);
    return rc;
}
