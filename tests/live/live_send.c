/*
 * live_send.c - the RTP and WebSocket senders for the tests of `callqa live`, written from the
 * documented wire formats (docs/live/asterisk.md, "RTP from ARI externalMedia" and "WebSocket from
 * FreeSWITCH's mod_audio_fork"): one channel of a recording (or two, for a stereo WebSocket)
 * in 20 ms packets or frames, at real-time pace or faster, with the faults a test needs.
 *
 *   live_send --rtp --port P [--host H] --file WAV [--channel N] [--from S] [--secs S] [--pace X]
 *             [--codec pcmu|pcma|l16] [--pt N] [--ssrc HEX] [--loss N] [--reorder N] [--dup N]
 *             [--change-at SEC --ssrc2 HEX --dump2 RAW] [--late-old K] [--garbage N]
 *             [--stray N] [--dump RAW]
 *     RTP as ARI externalMedia sends it (RFC 3550 header, 20 ms of G.711 or L16 per packet):
 *     --loss N drops every Nth packet, --reorder N sends every Nth packet after the one that
 *     follows it, --dup N sends every Nth packet twice; --change-at switches to a second SSRC
 *     (new sequence and timestamp bases) from the same socket, and --late-old K then sends the
 *     first SSRC's last K packets again once the second is under way (after its 10th packet,
 *     when the server has taken it for a stream); --garbage N sends N datagrams that are not
 *     RTP; --stray N sends, after every Nth packet, one packet of a made-up SSRC (a new one each
 *     time) from the same socket, as a spoofer who knows the stream's address would. Prints
 *     "expect ssrc X packets P lost L duplicates D reordered R" per SSRC. --dump writes the
 *     8 kHz samples the receiver plays (s16le, lost packets as zeros) for `callqa classify -`.
 *
 *   live_send --ws --port P [--host H] [--path TARGET] [--meta JSON] --file WAV [--channel N]
 *             [--stereo] [--rate 8000|16000] [--from S] [--secs S] [--pace X] [--ping SEC]
 *             [--fault unmasked|toobig|badupgrade] [--end close|vanish|none] [--dump RAW]
 *     mod_audio_fork's client: the HTTP Upgrade with its subprotocol, the metadata as the first
 *     text frame, then binary frames of L16 little-endian (masked, as a client's are), mono or
 *     stereo (channels 1 and 2); --rate 16000 sends each sample twice. Prints "upgrade CODE",
 *     "got pong", "got close CODE" or "got eof" for what the server sent (awaited for up to 60 s
 *     after the last frame: the server's close ends the wait). --dump writes the
 *     8 kHz mono samples the server analyses (stereo: the mean of the two channels).
 *
 *   Both send the recording from --from S seconds in (default 0). Both take the line that
 *   answers callqa's probe (sender.h): --reply WAV (8 kHz mono) with
 *   --person-at S, --reply-delay S, --reply-over 1, --reply-late S, as as_send does. What comes
 *   back is checked as the PBX would take it: over RTP, packets of another SSRC in the stream's
 *   payload type, in sequence, their timestamps advancing by their samples, the marker on each
 *   probe's first ("rtp-back packets N ssrc X in-order B"); over the WebSocket, mod_audio_fork's
 *   playAudio text frame: raw audio, its sampleRate, base64 of whole 16-bit samples
 *   ("playaudio RATE SAMPLES"; a frame that is not is printed as "bad-playaudio WHY").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <nettle/base64.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/live/live.h"
#include "callqa/callqa.h"
#include "sender.h"

static void wait_until(double t)
{
    double w = t - now();
    if (w > 0)
        usleep((useconds_t)(w * 1e6));
}

/* G.711 encoders (ITU-T G.711: segment and quantisation of the magnitude). */
static uint8_t ulaw_enc(int16_t s)
{
    int x = s, sign = x < 0 ? 0x80 : 0;
    if (x < 0)
        x = -x;
    if (x > 32635)
        x = 32635;
    x += 0x84;
    int seg = 7;
    for (int m = 0x4000; seg > 0 && !(x & m); m >>= 1)
        seg--;
    int mant = (x >> (seg + 3)) & 0x0f;
    return (uint8_t) ~(sign | seg << 4 | mant);
}

static uint8_t alaw_enc(int16_t s)
{
    int x = s, sign = x >= 0 ? 0x80 : 0;
    if (x < 0)
        x = -x - 1;
    if (x > 32767)
        x = 32767;
    int seg = 0;
    for (int m = x >> 8; m && seg < 7; m >>= 1)
        seg++;
    int mant = seg ? (x >> (seg + 3)) & 0x0f : (x >> 4) & 0x0f;
    return (uint8_t)((sign | seg << 4 | mant) ^ 0x55);
}

/* Channels of a recording (8 kHz) as 16-bit samples: ch[0], and ch[1] when it has two; secs
 * of it from `from` s. */
static size_t load(const char *file, int channel, double from, double secs, int16_t **ch0,
                   int16_t **ch1)
{
    cq_err err;
    cq_err_clear(&err);
    cq_audio *a = cq_audio_open(file, &err);
    if (!a) {
        fprintf(stderr, "live_send: %s\n", err.msg);
        exit(1);
    }
    const cq_audio_info *info = cq_audio_get_info(a);
    int nch = info->channels;
    if (info->sample_rate_hz != 8000 || channel < 1 || channel > nch) {
        fprintf(stderr, "live_send: %s: 8 kHz and channel 1..%d only\n", file, nch);
        exit(1);
    }
    const size_t skip = from > 0 ? (size_t)(from * 8000) : 0;
    size_t want = skip + (secs < 1e8 ? (size_t)(secs * 8000) : (size_t)info->frames);
    if (want > (size_t)info->frames)
        want = (size_t)info->frames;
    float *all = malloc(want * (size_t)nch * sizeof(float) + 4);
    int64_t got = cq_audio_read(a, all, want, &err);
    size_t n = got > (int64_t)skip ? (size_t)got - skip : 0;
    *ch0 = malloc(n * sizeof(int16_t) + 2);
    *ch1 = malloc(n * sizeof(int16_t) + 2);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 2; c++) {
            int src = c == 0 ? channel - 1 : (nch > 1 ? 1 : 0);
            float v = all[(skip + i) * (size_t)nch + (size_t)src] * 32768.0f;
            int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
            (c == 0 ? *ch0 : *ch1)[i] = s;
        }
    }
    free(all);
    cq_audio_close(a);
    return n;
}

/* The person's reply, mixed into what is still to be sent: x[at ..] (total samples). */
static void mix_reply(int16_t *x, size_t total, size_t at, const line *ln)
{
    for (size_t i = 0; i < ln->reply_len && at + i < total; i++) {
        float v = (float)x[at + i] + ln->reply[i] * 32768.0f;
        x[at + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
    }
}

/* ---- RTP ----------------------------------------------------------------------------------- */

typedef struct rtp_opts {
    const char *codec;
    unsigned pt;
    int loss, reorder, dup, late_old, garbage, stray;
    double pace, change_at;
    uint32_t ssrc, ssrc2;
    FILE *dump, *dump2;
    line *ln; /* the line that answers (reply set), or NULL */
} rtp_opts;

/* What the server sent back on the stream's socket (never waited for): the probe's packets. */
typedef struct rtp_back {
    uint64_t packets;
    uint32_t ssrc;
    uint16_t next_seq;
    uint32_t next_ts;
    bool in_order; /* every packet followed the last (sequence, timestamp), markers where due */
    char why[200]; /* what broke it first, and when */
} rtp_back;

/* The first thing that broke the order, said once: what, at which packet and stream time, and
 * how long (of the stream sent) since the probe was last heard. */
static void rtp_back_broke(rtp_back *rb, const line *ln, double t, const char *what)
{
    if (rb->in_order)
        snprintf(rb->why, sizeof(rb->why),
                 "%s at packet %llu, %.3f s of the stream, %.0f ms after "
                 "the probe was last heard",
                 what, (unsigned long long)rb->packets + 1, t, 1000 * (t - ln->last_rx));
    rb->in_order = false;
}

static size_t rtp_read_back(int fd, const rtp_opts *o, rtp_back *rb, line *ln, double t)
{
    uint8_t buf[2048];
    size_t at = SIZE_MAX;
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k <= 0)
            break;
        lv_rtp_header h;
        if (lv_rtp_parse(buf, (size_t)k, &h, NULL) != LV_OK || h.pt != o->pt || h.ssrc == o->ssrc ||
            h.ssrc == o->ssrc2) {
            rtp_back_broke(rb, ln, t, "not a packet of the probe's stream");
            continue;
        }
        const size_t n = strcmp(o->codec, "l16") ? h.payload_len : h.payload_len / 2;
        const bool starts = !ln->in_probe;
        if (rb->packets && (h.ssrc != rb->ssrc || h.seq != rb->next_seq || h.ts != rb->next_ts))
            rtp_back_broke(rb, ln, t, "out of sequence");
        else if (rb->packets && h.marker != starts)
            rtp_back_broke(rb, ln, t,
                           starts ? "no marker where the line heard a probe start"
                                  : "a marker inside a probe");
        if (!rb->packets && !h.marker)
            rtp_back_broke(rb, ln, t, "no marker on the first packet");
        rb->packets++;
        rb->ssrc = h.ssrc;
        rb->next_seq = (uint16_t)(h.seq + 1);
        rb->next_ts = h.ts + (uint32_t)n;
        const size_t a = line_heard(ln, t, (double)n / 8000);
        if (a != SIZE_MAX)
            at = a;
    }
    return line_tick(ln, t, at);
}

/* One packet's payload: 160 samples from x as the codec carries them; the samples the
 * receiver gets back go to back[] (8 kHz). Returns its bytes. */
static size_t rtp_payload(const rtp_opts *o, const int16_t *x, size_t n, uint8_t *pay,
                          int16_t *back)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(o->codec, "pcmu")) {
            pay[len++] = ulaw_enc(x[i]);
            back[i] = cq_g711_ulaw_s16(pay[len - 1]);
        } else if (!strcmp(o->codec, "pcma")) {
            pay[len++] = alaw_enc(x[i]);
            back[i] = cq_g711_alaw_s16(pay[len - 1]);
        } else { /* L16 at 16 kHz, network byte order: each sample twice */
            for (int k = 0; k < 2; k++) {
                pay[len++] = (uint8_t)((uint16_t)x[i] >> 8);
                pay[len++] = (uint8_t)x[i];
            }
            back[i] = x[i];
        }
    }
    return len;
}

static int run_rtp(const char *host, const char *port, int16_t *x, size_t total, const rtp_opts *o)
{
    int fd = dial(host, port, SOCK_DGRAM);
    if (fd < 0) {
        fprintf(stderr, "live_send: cannot reach %s:%s\n", host, port);
        return 1;
    }
    size_t npk = total / 160, change = o->change_at > 0 ? (size_t)(o->change_at * 50) : npk;
    if (change > npk)
        change = npk;
    bool l16 = !strcmp(o->codec, "l16");
    uint32_t tsmul = l16 ? 2 : 1;
    /* the order of sending: index, or a duplicate of it (marked by +npk) */
    size_t *order = malloc((3 * npk + 8) * sizeof(size_t));
    size_t no = 0;
    uint64_t lost[2] = {0, 0}, dups[2] = {0, 0}, reord[2] = {0, 0}, sent[2] = {0, 0};
    bool *drop = calloc(npk + 1, 1);
    for (size_t i = 0; i < npk; i++) {
        size_t part_end = i < change ? change : npk, part = i < change ? 0 : 1;
        size_t start = part ? change : 0;
        /* never the first or the last packets of a part: the receiver fills a hole between two */
        if (o->loss && (i - start) % (size_t)o->loss == (size_t)o->loss - 1 && i + 5 < part_end) {
            drop[i] = true;
            lost[part]++;
        }
    }
    for (size_t i = 0; i < npk; i++) {
        size_t part_end = i < change ? change : npk, part = i < change ? 0 : 1;
        if (drop[i])
            continue;
        size_t first = i, second = (size_t)-1;
        bool near = false; /* a loss close by: kept apart, so each count is what it says */
        for (size_t j = i >= 5 ? i - 5 : 0; j <= i + 6 && j < npk; j++)
            near = near || drop[j];
        if (o->reorder && i % (size_t)o->reorder == (size_t)o->reorder - 1 && i + 1 < part_end &&
            !near && i + 5 < part_end) {
            first = i + 1, second = i;
            reord[part]++;
            i++;
        }
        order[no++] = first;
        if (second != (size_t)-1)
            order[no++] = second;
        if (o->dup && first % (size_t)o->dup == (size_t)o->dup - 1) {
            order[no++] = first + npk;
            dups[part]++;
        }
    }
    /* what the receiver plays: each part's samples, lost packets as zeros */
    int16_t *back = calloc(npk * 160 + 1, sizeof(int16_t));
    uint8_t pay[1024], pkt[1100];
    for (size_t i = 0; i < npk; i++) {
        int16_t b[160];
        (void)rtp_payload(o, x + i * 160, 160, pay, b);
        if (!drop[i])
            memcpy(back + i * 160, b, sizeof(b));
    }
    if (o->dump)
        fwrite(back, sizeof(int16_t), change * 160, o->dump);
    if (o->dump2 && npk > change)
        fwrite(back + change * 160, sizeof(int16_t), (npk - change) * 160, o->dump2);
    int gfd = o->garbage ? dial(host, port, SOCK_DGRAM) : -1;
    int garbage_left = o->garbage;
    double t0 = now();
    size_t last_old = 0, strays = 0;
    rtp_back rb = {.in_order = true};
    for (size_t k = 0; k < no; k++) {
        size_t i = order[k] % npk;
        bool dup = order[k] >= npk;
        if (o->ln) {
            const size_t at = rtp_read_back(fd, o, &rb, o->ln, (double)i * 0.02);
            if (at != SIZE_MAX)
                mix_reply(x, total, at, o->ln);
        }
        size_t part = i < change ? 0 : 1, base = part ? change : 0;
        uint32_t ssrc = part ? o->ssrc2 : o->ssrc;
        uint16_t seq = (uint16_t)((part ? 20000u : 65000u) + (i - base)); /* wraps in part 0 */
        uint32_t ts = (part ? 7u : 4294960000u) + (uint32_t)((i - base) * 160 * tsmul);
        wait_until(t0 + (double)i * 0.02 / o->pace);
        size_t pl = rtp_payload(o, x + i * 160, 160, pay, (int16_t[160]){0});
        size_t n = lv_rtp_encode(pkt, sizeof(pkt), o->pt, i == base, seq, ts, ssrc, pay, pl);
        if (send(fd, pkt, n, 0) < 0)
            fprintf(stderr, "live_send: send: %s\n", strerror(errno));
        if (!dup)
            sent[part]++;
        if (part == 1 && !dup && sent[1] == 10 && o->late_old) {
            /* the SSRC changed and the new stream is under way: the old stream's last packets
             * again, after its end */
            for (int j = o->late_old; j > 0; j--) {
                size_t oi = last_old + 1 - (size_t)j;
                uint16_t os = (uint16_t)(65000u + oi);
                uint32_t ots = 4294960000u + (uint32_t)(oi * 160 * tsmul);
                size_t opl = rtp_payload(o, x + oi * 160, 160, pay, (int16_t[160]){0});
                size_t on =
                    lv_rtp_encode(pkt, sizeof(pkt), o->pt, false, os, ots, o->ssrc, pay, opl);
                (void)send(fd, pkt, on, 0);
            }
        }
        if (part == 0)
            last_old = i > last_old ? i : last_old;
        if (o->stray && !dup && (sent[0] + sent[1]) % (size_t)o->stray == 0) {
            /* one packet of an SSRC nobody sends: a new one each time, none another sender's */
            uint32_t fake = (o->ssrc ^ 0xa5000000u) + (uint32_t)strays++ * 0x10001u + 1u;
            size_t sn = lv_rtp_encode(pkt, sizeof(pkt), o->pt, false, (uint16_t)(fake * 7919u),
                                      fake * 104729u, fake, pay, pl);
            (void)send(fd, pkt, sn, 0);
        }
        if (gfd >= 0 && garbage_left > 0 && i >= 50 && i % 10 == 0) {
            static const uint8_t bad[3][16] = {
                {0x40, 0, 0, 1}, {0x80, 0}, {0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 0}};
            size_t blen[3] = {16, 2, 16}; /* RTP version 1; 2 bytes; padding count 0 */
            (void)send(gfd, bad[garbage_left % 3], blen[garbage_left % 3], 0);
            garbage_left--;
        }
    }
    for (int p = 0; p < (change < npk ? 2 : 1); p++)
        printf("expect ssrc %08x packets %llu lost %llu duplicates %llu reordered %llu\n",
               p ? o->ssrc2 : o->ssrc, (unsigned long long)sent[p], (unsigned long long)lost[p],
               (unsigned long long)dups[p], (unsigned long long)reord[p]);
    if (o->stray)
        printf("stray %zu\n", strays);
    if (o->ln) {
        (void)rtp_read_back(fd, o, &rb, o->ln, (double)npk * 0.02 + 1);
        printf("rtp-back packets %llu ssrc %08x in-order %d\n", (unsigned long long)rb.packets,
               rb.ssrc, rb.in_order);
        if (!rb.in_order)
            printf("rtp-back out of order: %s\n", rb.why);
    }
    printf("sent %.3f\n", (double)npk * 0.02);
    if (gfd >= 0)
        close(gfd);
    close(fd);
    free(order);
    free(drop);
    free(back);
    return 0;
}

/* ---- WebSocket ------------------------------------------------------------------------------ */

static uint32_t rng = 12345;
static uint8_t rnd8(void)
{
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(rng >> 16);
}

/* One client frame (masked unless told not to). */
static int ws_send(int fd, lv_ws_op op, const uint8_t *p, size_t n, bool masked)
{
    static uint8_t f[70000];
    uint8_t mask[4] = {rnd8(), rnd8(), rnd8(), rnd8()};
    size_t k = lv_ws_encode(f, sizeof(f), op, true, masked ? mask : NULL, p, n);
    return k ? send_all(fd, f, k) : -1;
}

/* mod_audio_fork's playAudio (its README): what a module would check before writing the file.
 * The probe's length in seconds, or -1 (printed as "bad-playaudio WHY"). */
static double playaudio(const uint8_t *p, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, 0, &je);
    const char *why = NULL;
    double sec = -1;
    json_t *d = j ? json_object_get(j, "data") : NULL;
    const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
    const char *ct = d ? json_string_value(json_object_get(d, "audioContentType")) : NULL;
    const char *b64 = d ? json_string_value(json_object_get(d, "audioContent")) : NULL;
    json_int_t rate = d ? json_integer_value(json_object_get(d, "sampleRate")) : 0;
    if (!j)
        why = "not JSON";
    else if (!type || strcmp(type, "playAudio"))
        why = "type is not playAudio";
    else if (!ct || strcmp(ct, "raw"))
        why = "audioContentType is not raw";
    else if (rate != 8000 && rate != 16000)
        why = "sampleRate is not 8000 or 16000";
    else if (!b64)
        why = "no audioContent";
    if (!why) {
        const size_t bl = strlen(b64);
        uint8_t *raw = malloc(BASE64_DECODE_LENGTH(bl) + 1);
        struct base64_decode_ctx bc;
        size_t rl = BASE64_DECODE_LENGTH(bl);
        base64_decode_init(&bc);
        if (!raw || !base64_decode_update(&bc, &rl, raw, bl, b64) || !base64_decode_final(&bc))
            why = "audioContent is not base64";
        else if (!rl || rl % 2)
            why = "audioContent is not whole 16-bit samples";
        else {
            printf("playaudio %d %zu\n", (int)rate, rl / 2);
            sec = (double)(rl / 2) / (double)rate;
        }
        free(raw);
    }
    if (why)
        printf("bad-playaudio %s\n", why);
    json_decref(j);
    return sec;
}

/* What the server sent, within sec (0: what has come, never waited for): pongs, closes and the
 * end of the stream printed (once: return at the first pong or close), playAudio frames heard
 * by the line (ln may be NULL), t the stream's time. Returns the sample where a reply starts,
 * or SIZE_MAX. */
static struct {
    uint8_t *b;
    size_t have, cap;
} win;
static size_t ws_replies_line(int fd, double sec, bool once, line *ln, double t)
{
    size_t at = SIZE_MAX;
    double end = now() + sec;
    for (bool first = true; first || now() < end; first = false) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        const double left = end - now();
        if (poll(&pf, 1, left > 0 ? (int)(left * 1000) + 1 : 0) <= 0)
            continue;
        if (win.cap - win.have < 65536) {
            size_t nc = win.cap ? 2 * win.cap : 262144;
            uint8_t *nb = nc <= (8u << 20) ? realloc(win.b, nc) : NULL;
            if (!nb) {
                printf("bad-frame too long\n");
                return at;
            }
            win.b = nb, win.cap = nc;
        }
        ssize_t k = recv(fd, win.b + win.have, win.cap - win.have, 0);
        if (k <= 0) {
            printf("got eof\n");
            return at;
        }
        win.have += (size_t)k;
        uint8_t *buf = win.b;
        while (win.have >= 2) {
            size_t len = buf[1] & 0x7f, hl = 2;
            if (buf[1] & 0x80)
                printf("bad-frame masked\n");
            if (len == 126) {
                if (win.have < 4)
                    break;
                len = (size_t)buf[2] << 8 | buf[3], hl = 4;
            } else if (len == 127) {
                if (win.have < 10)
                    break;
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | buf[2 + i];
                hl = 10;
            }
            if (win.have < hl || win.have - hl < len)
                break;
            int op = buf[0] & 0x0f;
            if (op == LV_WS_PONG)
                printf("got pong\n");
            else if (op == LV_WS_CLOSE)
                printf("got close %d\n", len >= 2 ? buf[hl] << 8 | buf[hl + 1] : 1005);
            else if (op == LV_WS_TEXT) {
                const double ps = playaudio(buf + hl, len);
                if (ps > 0 && ln) {
                    const size_t a = line_heard(ln, t, ps);
                    if (a != SIZE_MAX)
                        at = a;
                }
            }
            memmove(buf, buf + hl + len, win.have - hl - len);
            win.have -= hl + len;
            if (once && (op == LV_WS_PONG || op == LV_WS_CLOSE))
                return at;
        }
        fflush(stdout);
    }
    return at;
}

static void ws_replies(int fd, double sec, bool once)
{
    (void)ws_replies_line(fd, sec, once, NULL, 0);
}

typedef struct ws_opts {
    const char *path, *meta, *fault, *end;
    bool stereo;
    int rate;
    double pace, ping;
    FILE *dump;
    line *ln; /* the line that answers (reply set), or NULL */
} ws_opts;

static int run_ws(const char *host, const char *port, int16_t *a, const int16_t *b, size_t total,
                  const ws_opts *o)
{
    size_t pos = 0;
    int fd = dial(host, port, SOCK_STREAM);
    if (fd < 0) {
        fprintf(stderr, "live_send: cannot connect to %s:%s\n", host, port);
        return 1;
    }
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char req[1024];
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n%s%s%sSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Protocol: audio.drachtio.org\r\n\r\n",
                      o->path, host, port,
                      o->fault && !strcmp(o->fault, "badupgrade") ? "" : "Sec-WebSocket-Key: ",
                      o->fault && !strcmp(o->fault, "badupgrade") ? "" : key,
                      o->fault && !strcmp(o->fault, "badupgrade") ? "" : "\r\n");
    if (send_all(fd, (const uint8_t *)req, (size_t)rl))
        return 1;
    /* the answer, up to its empty line (60 s: a bound on a server that never answers) */
    char ans[2048];
    size_t an = 0;
    double until = now() + 60;
    while (an < sizeof(ans) - 1 && now() < until) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t k = recv(fd, ans + an, 1, 0);
        if (k <= 0)
            break;
        an++;
        ans[an] = 0;
        if (an >= 4 && !memcmp(ans + an - 4, "\r\n\r\n", 4))
            break;
    }
    ans[an] = 0;
    int code = an > 12 ? atoi(ans + 9) : 0;
    char accept[LV_WS_ACCEPT_LEN + 1];
    lv_ws_accept(key, accept);
    bool acc_ok = strstr(ans, accept) != NULL, proto_ok = strstr(ans, "audio.drachtio.org") != NULL;
    printf("upgrade %d%s%s\n", code, acc_ok ? " accept-ok" : "", proto_ok ? " protocol-ok" : "");
    fflush(stdout);
    if (code != 101) {
        close(fd);
        return 0;
    }
    if (o->meta && ws_send(fd, LV_WS_TEXT, (const uint8_t *)o->meta, strlen(o->meta), true))
        goto gone;
    int ch = o->stereo ? 2 : 1, up = o->rate == 16000 ? 2 : 1;
    double t0 = now();
    bool pinged = false;
    int frames = 0;
    while (pos < total) {
        size_t k = total - pos < 160 ? total - pos : 160;
        uint8_t pay[160 * 2 * 2 * 2];
        size_t len = 0;
        int16_t mix[160];
        for (size_t i = 0; i < k; i++) {
            int16_t s0 = a[pos + i], s1 = b[pos + i];
            mix[i] = ch == 2 ? (int16_t)(((int)s0 + (int)s1) / 2) : s0;
            for (int u = 0; u < up; u++) {
                for (int c = 0; c < ch; c++) {
                    int16_t s = c ? s1 : s0;
                    pay[len++] = (uint8_t)s;
                    pay[len++] = (uint8_t)((uint16_t)s >> 8);
                }
            }
        }
        if (o->fault && frames == 50) { /* a second of good audio, then the fault */
            if (!strcmp(o->fault, "unmasked")) {
                (void)ws_send(fd, LV_WS_BINARY, pay, len, false);
            } else if (!strcmp(o->fault, "toobig")) {
                /* a 1 MiB frame's header (64-bit length) and its mask */
                uint8_t h[14] = {0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4};
                (void)send_all(fd, h, sizeof(h));
            }
            ws_replies(fd, 60, true); /* returns at the server's close */
            goto gone;
        }
        if (!strcmp(o->end, "vanish") && pos + k >= total) {
            static uint8_t f[4000];
            uint8_t mask[4] = {1, 2, 3, 4};
            size_t n = lv_ws_encode(f, sizeof(f), LV_WS_BINARY, true, mask, pay, len);
            (void)send_all(fd, f, n / 2); /* half a frame, and gone */
            goto gone;
        }
        if (ws_send(fd, LV_WS_BINARY, pay, len, true))
            goto gone;
        /* a pong, the server's close, or the probe */
        size_t at = ws_replies_line(fd, 0, false, o->ln, (double)(pos + k) / 8000);
        if (o->ln && (at = line_tick(o->ln, (double)(pos + k) / 8000, at)) != SIZE_MAX)
            mix_reply(a, total, at, o->ln);
        if (o->dump && o->rate == 8000)
            fwrite(mix, sizeof(int16_t), k, o->dump);
        frames++;
        pos += k;
        if (o->ping > 0 && !pinged && (double)pos / 8000 >= o->ping) {
            pinged = true;
            (void)ws_send(fd, LV_WS_PING, (const uint8_t *)"p1", 2, true);
        }
        wait_until(t0 + (double)pos / 8000 / o->pace);
    }
    printf("sent %.3f\n", (double)pos / 8000);
    fflush(stdout);
    if (!strcmp(o->end, "close")) {
        uint8_t cb[2] = {1000 >> 8, 1000 & 0xff};
        (void)ws_send(fd, LV_WS_CLOSE, cb, 2, true);
        ws_replies(fd, 60, false); /* its close, then the end of the stream */
    } else {
        ws_replies(fd, 60, false);
    }
    close(fd);
    return 0;
gone:
    printf("sent %.3f\n", (double)pos / 8000);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = NULL, *file = NULL, *mode = NULL;
    int channel = 1;
    double secs = 1e9, from = 0;
    rtp_opts r = {.codec = "pcmu", .pt = 0, .pace = 1, .ssrc = 0x1234abcd, .ssrc2 = 0x5678ef01};
    ws_opts w = {.path = "/", .end = "close", .rate = 8000, .pace = 1};
    line ln = {.person_at = 1e9, .reply_delay = 0.6};
    const char *reply_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(k, "--rtp") || !strcmp(k, "--ws")) {
            mode = k + 2;
            continue;
        }
        if (!strcmp(k, "--stereo")) {
            w.stereo = true;
            continue;
        }
        i++;
        if (!strcmp(k, "--host"))
            host = v;
        else if (!strcmp(k, "--port"))
            port = v;
        else if (!strcmp(k, "--file"))
            file = v;
        else if (!strcmp(k, "--channel"))
            channel = atoi(v);
        else if (!strcmp(k, "--secs"))
            secs = atof(v);
        else if (!strcmp(k, "--from"))
            from = atof(v);
        else if (!strcmp(k, "--pace"))
            r.pace = w.pace = atof(v);
        else if (!strcmp(k, "--codec"))
            r.codec = v;
        else if (!strcmp(k, "--pt"))
            r.pt = (unsigned)atoi(v);
        else if (!strcmp(k, "--ssrc"))
            r.ssrc = (uint32_t)strtoul(v, NULL, 16);
        else if (!strcmp(k, "--ssrc2"))
            r.ssrc2 = (uint32_t)strtoul(v, NULL, 16);
        else if (!strcmp(k, "--loss"))
            r.loss = atoi(v);
        else if (!strcmp(k, "--reorder"))
            r.reorder = atoi(v);
        else if (!strcmp(k, "--dup"))
            r.dup = atoi(v);
        else if (!strcmp(k, "--change-at"))
            r.change_at = atof(v);
        else if (!strcmp(k, "--late-old"))
            r.late_old = atoi(v);
        else if (!strcmp(k, "--garbage"))
            r.garbage = atoi(v);
        else if (!strcmp(k, "--stray"))
            r.stray = atoi(v);
        else if (!strcmp(k, "--dump"))
            r.dump = w.dump = fopen(v, "wb");
        else if (!strcmp(k, "--dump2"))
            r.dump2 = fopen(v, "wb");
        else if (!strcmp(k, "--path"))
            w.path = v;
        else if (!strcmp(k, "--meta"))
            w.meta = v;
        else if (!strcmp(k, "--rate"))
            w.rate = atoi(v);
        else if (!strcmp(k, "--ping"))
            w.ping = atof(v);
        else if (!strcmp(k, "--fault"))
            w.fault = v;
        else if (!strcmp(k, "--end"))
            w.end = v;
        else if (!strcmp(k, "--reply"))
            reply_file = v;
        else if (!line_option(&ln, k, v)) {
            fprintf(stderr, "live_send: unknown option %s\n", k);
            return 2;
        }
    }
    if (!port || !file || !mode || r.pace <= 0) {
        fprintf(stderr, "live_send: --rtp or --ws, --port, --file and a pace > 0 are required\n");
        return 2;
    }
    int16_t *a, *b;
    size_t n = load(file, channel, from, secs, &a, &b);
    float *reply = NULL;
    if (reply_file) {
        int16_t *ra, *rb;
        size_t rn = load(reply_file, 1, 0, 30, &ra, &rb);
        reply = malloc(rn * sizeof(float) + 4);
        for (size_t i = 0; i < rn; i++)
            reply[i] = (float)ra[i] / 32768.0f;
        free(ra), free(rb);
        ln.reply = reply, ln.reply_len = rn;
        r.ln = w.ln = &ln;
    }
    int rc = !strcmp(mode, "rtp") ? run_rtp(host, port, a, n, &r) : run_ws(host, port, a, b, n, &w);
    if (r.dump)
        fclose(r.dump);
    if (r.dump2)
        fclose(r.dump2);
    free(a);
    free(b);
    free(reply);
    free(win.b);
    return rc;
}
