/*
 * test_live.c - the wire formats of live calls (src/live/): AudioSocket frames fed whole, a
 * byte at a time and split at random give the same frames, and each malformed header its
 * error; RTP packets in order, lost, reordered, duplicated, late, across the sequence and
 * timestamp wraps and an SSRC change give the expected PCM and counters; the WebSocket
 * handshake's Accept is RFC 6455's example, masked and fragmented messages reassemble with
 * control frames between them, and every protocol error is refused with its code. FastAGI: an
 * environment, replies, a usage text and HANGUP read whole and a byte at a time alike, each
 * malformed line its error, and SET VARIABLE written as the AGI command is; the hold answer's
 * statuses and causes (ENDED, HUMAN, HANGUP) over a real socket.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../src/live/live.h"
#include "callqa/cq_audio.h"

static uint32_t g_seed;
/* The seed of a random test: LV_SEED when set (to replay one), else the time. */
static uint32_t seed_for(uint32_t salt)
{
    const char *e = getenv("LV_SEED");
    return e ? (uint32_t)strtoul(e, NULL, 10) : (uint32_t)time(NULL) ^ salt;
}
static uint32_t rnd(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed >> 8;
}

/* ---- G.711 and PCM --------------------------------------------------------------------------- */

static void test_g711(void **state)
{
    (void)state;
    /* ITU-T G.711 reference points: u-law 0xff/0x7f are 0, 0x00 is the most negative */
    assert_int_equal(cq_g711_ulaw_s16(0xff), 0);
    assert_int_equal(cq_g711_ulaw_s16(0x7f), 0);
    assert_int_equal(cq_g711_ulaw_s16(0x00), -32124);
    assert_int_equal(cq_g711_ulaw_s16(0x80), 32124);
    assert_int_equal(cq_g711_alaw_s16(0xd5), 8);
    assert_int_equal(cq_g711_alaw_s16(0x55), -8);
    assert_int_equal(cq_g711_alaw_s16(0xaa), 32256);
    assert_int_equal(cq_g711_alaw_s16(0x2a), -32256);
    uint8_t b[2] = {0x80, 0x00};
    int16_t s[2];
    float f[2];
    lv_g711_s16(b, 2, true, s);
    assert_int_equal(s[0], 32124);
    assert_int_equal(s[1], -32124);
    lv_g711_float(b, 2, true, f);
    assert_true(f[0] == 32124.0f / 32768.0f);
    uint8_t le[4] = {0x34, 0x12, 0xff, 0xff};
    lv_pcm_s16le(le, 2, s);
    assert_int_equal(s[0], 0x1234);
    assert_int_equal(s[1], -1);
    lv_pcm_s16be(le, 2, s);
    assert_int_equal(s[0], 0x3412);
    /* stereo L16 (mod_audio_fork's "stereo"): caller in one channel, callee in the other */
    uint8_t st[9] = {1, 0, 2, 0, 3, 0, 0xfe, 0xff, 9};
    int16_t left[4], right[4];
    int16_t *planes[2] = {left, right};
    assert_int_equal(lv_pcm_s16le_planar(st, sizeof(st), 2, planes), 2);
    assert_int_equal(left[0], 1);
    assert_int_equal(right[0], 2);
    assert_int_equal(left[1], 3);
    assert_int_equal(right[1], -2);
    assert_int_equal(lv_pcm_s16le_planar(st, sizeof(st), 1, planes), 4);
    assert_int_equal(lv_pcm_s16le_planar(st, sizeof(st), 3, planes), 0);
}

/* ---- AudioSocket ----------------------------------------------------------------------------- */

typedef struct as_log {
    int kinds[64];
    size_t lens[64];
    uint64_t offsets[64];
    uint32_t sum; /* of every payload byte */
    size_t n;
    int rc; /* the last return: 0 or an error */
} as_log;

/* Feed buf in chunks (sizes from next_chunk), logging frames. */
static void as_feed(lv_as_dec *d, const uint8_t *buf, size_t n, size_t (*chunk)(void), as_log *log)
{
    memset(log, 0, sizeof(*log));
    size_t pos = 0;
    while (pos < n) {
        size_t c = chunk();
        if (c > n - pos)
            c = n - pos;
        const uint8_t *p = buf + pos;
        size_t left = c;
        while (left) {
            size_t used = 0;
            lv_as_frame f;
            int rc = lv_as_next(d, p, left, &used, &f);
            assert_true(used <= left);
            p += used, left -= used, pos += used;
            if (rc < 0) {
                log->rc = rc;
                return;
            }
            if (rc == 0) {
                assert_int_equal(left, 0);
                break;
            }
            assert_true(log->n < 64);
            log->kinds[log->n] = f.kind;
            log->lens[log->n] = f.len;
            log->offsets[log->n++] = f.offset;
            for (size_t k = 0; k < f.len; k++)
                log->sum += f.payload[k] * (uint32_t)(k + 1);
        }
    }
}

static size_t chunk_all(void)
{
    return SIZE_MAX;
}
static size_t chunk_one(void)
{
    return 1;
}
static size_t chunk_rand(void)
{
    return 1 + rnd() % 37;
}

static size_t as_sample_stream(uint8_t *buf, size_t cap)
{
    uint8_t uuid[16];
    for (int i = 0; i < 16; i++)
        uuid[i] = (uint8_t)(0xa0 + i);
    int16_t pcm[320];
    for (int i = 0; i < 320; i++)
        pcm[i] = (int16_t)(i * 97 - 15000);
    size_t n = 0;
    n += lv_as_encode_uuid(buf + n, cap - n, uuid);
    n += lv_as_encode_slin(buf + n, cap - n, 8000, pcm, 160);
    n += lv_as_encode_slin(buf + n, cap - n, 16000, pcm, 320);
    n += lv_as_encode_dtmf(buf + n, cap - n, '#');
    n += lv_as_encode_slin(buf + n, cap - n, 192000, pcm, 0);
    n += lv_as_encode_slin(buf + n, cap - n, 44100, pcm, 7);
    n += lv_as_encode_error(buf + n, cap - n, LV_AS_ERR_FRAME);
    n += lv_as_encode_error(buf + n, cap - n, -1);
    n += lv_as_encode_hangup(buf + n, cap - n);
    return n;
}

static void test_as_splits(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t n = as_sample_stream(buf, sizeof(buf));
    assert_int_equal(n, 19 + 323 + 643 + 4 + 3 + 17 + 4 + 3 + 3);
    lv_as_dec *d = lv_as_create(NULL, NULL);
    assert_non_null(d);
    as_log whole, one, r;
    as_feed(d, buf, n, chunk_all, &whole);
    assert_int_equal(whole.rc, 0);
    assert_int_equal(whole.n, 9);
    int kinds[9] = {LV_AS_UUID,     LV_AS_SLIN,  LV_AS_SLIN_16K, LV_AS_DTMF,  LV_AS_SLIN_192K,
                    LV_AS_SLIN_44K, LV_AS_ERROR, LV_AS_ERROR,    LV_AS_HANGUP};
    for (int i = 0; i < 9; i++)
        assert_int_equal(whole.kinds[i], kinds[i]);
    assert_int_equal(whole.offsets[1], 19);
    assert_int_equal(lv_as_get_stats(d)->bytes, n);
    assert_int_equal(lv_as_get_stats(d)->audio_frames, 4);
    assert_true(lv_as_at_boundary(d));
    lv_as_reset(d);
    as_feed(d, buf, n, chunk_one, &one);
    assert_memory_equal(&whole, &one, sizeof(whole));
    g_seed = seed_for(0);
    print_message("random splits, seed %u\n", g_seed);
    for (int t = 0; t < 50; t++) {
        lv_as_reset(d);
        as_feed(d, buf, n, chunk_rand, &r);
        assert_memory_equal(&whole, &r, sizeof(whole));
    }
    lv_as_destroy(d);
}

static void test_as_fields(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t uuid[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                        0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
    size_t n = lv_as_encode_uuid(buf, sizeof(buf), uuid);
    n += lv_as_encode_dtmf(buf + n, sizeof(buf) - n, '7');
    n += lv_as_encode_error(buf + n, sizeof(buf) - n, LV_AS_ERR_HANGUP);
    int16_t pcm[2] = {-2, 300};
    n += lv_as_encode_slin(buf + n, sizeof(buf) - n, 48000, pcm, 2);
    lv_as_dec *d = lv_as_create(NULL, NULL);
    lv_as_frame f;
    size_t used, pos = 0;
    assert_int_equal(lv_as_next(d, buf, n, &used, &f), 1);
    pos += used;
    char s[37];
    assert_string_equal(lv_as_uuid_str(f.uuid, s), "123e4567-e89b-12d3-a456-426614174000");
    assert_int_equal(lv_as_next(d, buf + pos, n - pos, &used, &f), 1);
    pos += used;
    assert_int_equal(f.digit, '7');
    assert_int_equal(lv_as_next(d, buf + pos, n - pos, &used, &f), 1);
    pos += used;
    assert_int_equal(f.error_code, LV_AS_ERR_HANGUP);
    assert_int_equal(lv_as_next(d, buf + pos, n - pos, &used, &f), 1);
    pos += used;
    assert_int_equal(f.rate_hz, 48000);
    assert_int_equal(f.samples, 2);
    int16_t back[2];
    lv_pcm_s16le(f.payload, 2, back);
    assert_int_equal(back[0], -2);
    assert_int_equal(back[1], 300);
    assert_int_equal(pos, n);
    assert_int_equal(lv_as_next(d, buf, 0, &used, &f), 0);
    lv_as_destroy(d);
    /* the kinds of the docs, and their rates */
    assert_int_equal(lv_as_kind_rate(0x11), 12000);
    assert_int_equal(lv_as_kind_rate(0x12), 16000);
    assert_int_equal(lv_as_kind_rate(0x15), 44100);
    assert_int_equal(lv_as_kind_rate(0x18), 192000);
    assert_int_equal(lv_as_kind_rate(0x19), 0);
    assert_int_equal(lv_as_rate_kind(24000), 0x13);
    assert_int_equal(lv_as_rate_kind(22050), -1);
    /* encoders refuse what the protocol does not allow */
    assert_int_equal(lv_as_encode(buf, sizeof(buf), 0x02, NULL, 0), 0);
    assert_int_equal(lv_as_encode(buf, sizeof(buf), LV_AS_UUID, uuid, 15), 0);
    assert_int_equal(lv_as_encode_dtmf(buf, sizeof(buf), 'x'), 0);
    assert_int_equal(lv_as_encode(buf, sizeof(buf), LV_AS_SLIN, uuid, 3), 0);
    assert_int_equal(lv_as_encode_uuid(buf, 18, uuid), 0);
}

typedef struct as_bad {
    const char *name;
    uint8_t bytes[8];
    size_t n;
    int err;
    size_t used; /* bytes consumed when the error is said */
} as_bad;

static void test_as_malformed(void **state)
{
    (void)state;
    static const as_bad cases[] = {
        {"unknown kind 0x02", {0x02, 0x00, 0x00}, 3, LV_ERR_AS_KIND, 3},
        {"unknown kind 0x19", {0x19, 0x00, 0x02, 1, 2}, 5, LV_ERR_AS_KIND, 3},
        {"UUID of 15", {0x01, 0x00, 0x0f}, 3, LV_ERR_AS_LENGTH, 3},
        {"UUID of 17", {0x01, 0x00, 0x11}, 3, LV_ERR_AS_LENGTH, 3},
        {"DTMF of 2", {0x03, 0x00, 0x02, '1', '2'}, 5, LV_ERR_AS_LENGTH, 3},
        {"DTMF of 0", {0x03, 0x00, 0x00}, 3, LV_ERR_AS_LENGTH, 3},
        {"DTMF not a digit", {0x03, 0x00, 0x01, 'x'}, 4, LV_ERR_AS_DTMF, 4},
        {"odd slin", {0x10, 0x00, 0x03, 1, 2, 3}, 6, LV_ERR_AS_LENGTH, 3},
        {"odd slin16", {0x12, 0x00, 0x01, 1}, 4, LV_ERR_AS_LENGTH, 3},
        {"hangup with payload", {0x00, 0x00, 0x01, 0}, 4, LV_ERR_AS_LENGTH, 3},
        {"error of 2", {0xff, 0x00, 0x02, 1, 2}, 5, LV_ERR_AS_LENGTH, 3},
        {"over the maximum", {0x10, 0x01, 0x02}, 3, LV_ERR_AS_TOO_BIG, 3},
    };
    lv_as_params p = {.max_payload = 256};
    lv_as_dec *d = lv_as_create(&p, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const as_bad *c = &cases[i];
        lv_as_reset(d);
        /* a good frame first, so that the offset is not 0 */
        uint8_t buf[16];
        size_t g = lv_as_encode_dtmf(buf, sizeof(buf), '1');
        memcpy(buf + g, c->bytes, c->n);
        size_t used;
        lv_as_frame f;
        assert_int_equal(lv_as_next(d, buf, g + c->n, &used, &f), 1);
        int rc = lv_as_next(d, buf + used, c->n, &used, &f);
        if (rc != c->err)
            fail_msg("%s: %d (%s)", c->name, rc, lv_as_last_error(d)->msg);
        assert_int_equal(used, c->used);
        assert_int_equal(lv_as_last_error(d)->offset, 4);
        assert_true(strlen(lv_as_last_error(d)->msg) > 10);
        assert_int_equal(lv_as_get_stats(d)->bytes, 4 + c->used);
        assert_int_equal(lv_as_next(d, buf, 1, &used, &f), LV_ERR_FAILED);
        assert_int_equal(used, 0);
        assert_false(lv_as_at_boundary(d));
        /* byte at a time: the same error */
        lv_as_reset(d);
        int last = 0;
        for (size_t k = 0; k < g + c->n && last >= 0; k++)
            last = lv_as_next(d, buf + k, 1, &used, &f);
        assert_int_equal(last, c->err);
    }
    assert_null(lv_as_create(&(lv_as_params){.max_payload = 15}, NULL));
    assert_null(lv_as_create(&(lv_as_params){.max_payload = 65536}, NULL));
    assert_string_equal(lv_err_name(LV_ERR_AS_KIND), "LV_ERR_AS_KIND");
    lv_as_destroy(d);
    lv_as_destroy(NULL);
}

/* ---- RTP ------------------------------------------------------------------------------------- */

#define PCM_MAX 16000
typedef struct sink {
    int16_t pcm[PCM_MAX];
    size_t n, silence, blocks;
    size_t per_stream[4];
    uint32_t rate;
} sink;

static void on_pcm(void *user, const lv_rtp_block *b)
{
    sink *s = user;
    assert_true(b->first == s->per_stream[b->stream]);
    s->per_stream[b->stream] += b->n;
    s->rate = b->rate_hz;
    s->blocks++;
    if (b->silence)
        s->silence += b->n;
    for (size_t i = 0; i < b->n; i++) {
        if (b->silence)
            assert_int_equal(b->pcm[i], 0);
        if (s->n < PCM_MAX)
            s->pcm[s->n++] = b->pcm[i];
    }
}

/* A 10-sample L16 packet (little-endian map entry at PT 96) whose samples are seq*100 + i + 1. */
static size_t l16_packet(uint8_t *out, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    uint8_t pl[20];
    for (int i = 0; i < 10; i++) {
        uint16_t v = (uint16_t)((seq % 300) * 100 + i + 1);
        pl[2 * i] = (uint8_t)(v >> 8), pl[2 * i + 1] = (uint8_t)v; /* network order */
    }
    return lv_rtp_encode(out, 64, 118, false, seq, ts, ssrc, pl, sizeof(pl));
}

static lv_rtp *rtp_new(sink *s, unsigned window_ms)
{
    memset(s, 0, sizeof(*s));
    lv_rtp_params p = lv_rtp_default_params();
    /* 10 samples of 16 kHz per packet: 0.625 ms; a window of 2 ms is 32 samples (3 packets) */
    p.window_ms = window_ms;
    p.on_pcm = on_pcm;
    p.user = s;
    lv_rtp *r = lv_rtp_create(&p, NULL);
    assert_non_null(r);
    return r;
}

/* Push seqs (relative to seq0, timestamps 10 per packet from ts0). */
static void push_seqs(lv_rtp *r, const int *rel, size_t n, uint16_t seq0, uint32_t ts0,
                      uint32_t ssrc)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t pkt[64];
        uint16_t seq = (uint16_t)(seq0 + rel[i]);
        size_t len = l16_packet(pkt, seq, (uint32_t)(ts0 + 10u * (uint32_t)rel[i]), ssrc);
        int rc = lv_rtp_push(r, pkt, len);
        assert_true(rc >= 0);
    }
}

/* The sink holds packets seq0 + k for k in want[] (-1: 10 samples of silence). */
static void expect_pcm(const sink *s, const int *want, size_t n, uint16_t seq0)
{
    assert_int_equal(s->n, 10 * n);
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < 10; i++) {
            int16_t v = s->pcm[10 * k + (size_t)i];
            if (want[k] < 0)
                assert_int_equal(v, 0);
            else
                assert_int_equal(v, (int16_t)(((uint16_t)(seq0 + want[k]) % 300) * 100 + i + 1));
        }
}

static void test_rtp_header(void **state)
{
    (void)state;
    uint8_t pkt[64] = {
        0x80 | 0x20 | 0x10 | 2, 0x80 | 8, 0x12, 0x34, 0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef};
    /* 2 CSRCs, an extension of 1 word, 3 bytes of payload, 2 of padding */
    size_t n = 12;
    memcpy(pkt + n, "\x00\x00\x00\x01\x00\x00\x00\x02", 8), n += 8;
    memcpy(pkt + n, "\xbe\xde\x00\x01\x11\x22\x33\x44", 8), n += 8;
    memcpy(pkt + n, "\xd5\xd5\xd5", 3), n += 3;
    pkt[n++] = 0, pkt[n++] = 2;
    lv_rtp_header h;
    lv_error e;
    assert_int_equal(lv_rtp_parse(pkt, n, &h, &e), LV_OK);
    assert_int_equal(h.cc, 2);
    assert_int_equal(h.csrc[1], 2);
    assert_true(h.marker && h.extension && h.padding);
    assert_int_equal(h.pt, 8);
    assert_int_equal(h.seq, 0x1234);
    assert_int_equal(h.ts, 256);
    assert_int_equal(h.ssrc, 0xdeadbeef);
    assert_int_equal(h.ext_profile, 0xbede);
    assert_int_equal(h.ext_len, 4);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.pad_len, 2);
    assert_int_equal(h.payload[0], 0xd5);
    /* every cut of it is refused, never read past */
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, pkt, k);
        int rc = lv_rtp_parse(cut, k, &h, &e);
        assert_true(rc == LV_ERR_RTP_SHORT || rc == LV_ERR_RTP_PADDING || rc == LV_OK);
        if (k < 28)
            assert_int_equal(rc, LV_ERR_RTP_SHORT);
        free(cut);
    }
    pkt[n - 1] = 0; /* padding count 0 */
    assert_int_equal(lv_rtp_parse(pkt, n, &h, &e), LV_ERR_RTP_PADDING);
    pkt[n - 1] = 6; /* more than there is */
    assert_int_equal(lv_rtp_parse(pkt, n, &h, &e), LV_ERR_RTP_PADDING);
    pkt[0] = 0x40;
    assert_int_equal(lv_rtp_parse(pkt, n, &h, &e), LV_ERR_RTP_VERSION);
    assert_non_null(strstr(e.msg, "version 1"));
}

static void test_rtp_in_order_and_g711(void **state)
{
    (void)state;
    sink s;
    lv_rtp *r = rtp_new(&s, 60);
    uint8_t pkt[256], pl[160];
    memset(pl, 0x80, sizeof(pl)); /* u-law 0x80: +32124 */
    for (int k = 0; k < 3; k++) {
        size_t n = lv_rtp_encode(pkt, sizeof(pkt), 0, k == 0, (uint16_t)(1000 + k),
                                 (uint32_t)(160 * k), 42, pl, 160);
        assert_int_equal(lv_rtp_push(r, pkt, n), k == 0 ? 1 : 0);
    }
    assert_int_equal(s.n, 480);
    assert_int_equal(s.pcm[0], 32124);
    assert_int_equal(s.rate, 8000);
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(st->packets, 3);
    assert_int_equal(st->played, 3);
    assert_int_equal(st->lost + st->late + st->duplicates, 0);
    lv_rtp_destroy(r);

    /* PCMA through a map of the stream's own, set before it sends */
    r = rtp_new(&s, 60);
    lv_rtp_map m = lv_rtp_default_map();
    assert_int_equal(lv_rtp_map_set(&m, 97, LV_CODEC_PCMA, 8000), LV_OK);
    assert_int_equal(lv_rtp_map_set(&m, 128, LV_CODEC_PCMA, 8000), LV_ERR_ARG);
    assert_int_equal(lv_rtp_map_set(&m, 5, LV_CODEC_PCMA, 0), LV_ERR_ARG);
    assert_int_equal(lv_rtp_set_map(r, 7, &m), LV_OK);
    memset(pl, 0xd5, sizeof(pl));
    size_t n = lv_rtp_encode(pkt, sizeof(pkt), 97, false, 1, 0, 7, pl, 160);
    assert_int_equal(lv_rtp_push(r, pkt, n), 1);
    assert_int_equal(s.n, 160);
    assert_int_equal(s.pcm[0], 8);
    assert_int_equal(lv_rtp_get_stats(r)->ssrc_changes, 0);
    lv_rtp_destroy(r);
}

static void test_rtp_loss_reorder_dup(void **state)
{
    (void)state;
    sink s;
    /* window 2 ms = 32 samples at 16 kHz: a missing packet is given up once the newest is
     * more than 32 samples (3 packets) past it */
    lv_rtp *r = rtp_new(&s, 2);
    const int order[] = {0, 1, 3, 2, 4, 4, 6, 7, 8, 9, 10, 5, 11, 2};
    push_seqs(r, order, sizeof(order) / sizeof(order[0]), 500, 9000, 1);
    /* 2 was reordered within the window, 5 waited for until 9 came, then was late */
    const int want[] = {0, 1, 2, 3, 4, -1, 6, 7, 8, 9, 10, 11};
    expect_pcm(&s, want, sizeof(want) / sizeof(want[0]), 500);
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(st->lost, 1);
    assert_int_equal(st->late, 1);
    assert_int_equal(st->duplicates, 2); /* 4 held twice, 2 after it played */
    assert_int_equal(st->reordered, 1);
    assert_int_equal(st->silence_samples, 10);
    assert_int_equal(st->samples, 120);
    lv_rtp_destroy(r);

    /* a loss at the end of a call plays on flush */
    r = rtp_new(&s, 60);
    const int tail[] = {0, 1, 3, 4};
    push_seqs(r, tail, 4, 7, 0, 1);
    assert_int_equal(s.n, 20);
    lv_rtp_flush(r);
    const int want2[] = {0, 1, -1, 3, 4};
    expect_pcm(&s, want2, 5, 7);
    assert_int_equal(lv_rtp_stream_stats(r, 0)->lost, 1);
    lv_rtp_destroy(r);
}

static void test_rtp_wraps(void **state)
{
    (void)state;
    sink s;
    lv_rtp *r = rtp_new(&s, 60);
    /* the sequence wraps past 65535 and the timestamp past 2^32 - 1, with a reorder across */
    const int order[] = {0, 1, 3, 2, 4, 5};
    push_seqs(r, order, 6, 65533, 4294967270u, 9);
    const int want[] = {0, 1, 2, 3, 4, 5};
    expect_pcm(&s, want, 6, 65533);
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(st->seq_wraps, 1);
    assert_int_equal(st->ts_wraps, 1);
    assert_int_equal(st->lost + st->late + st->silence_samples, 0);
    lv_rtp_destroy(r);
}

static void test_rtp_ssrc_change(void **state)
{
    (void)state;
    sink s;
    lv_rtp *r = rtp_new(&s, 60);
    const int a[] = {0, 1, 2};
    push_seqs(r, a, 3, 10, 0, 0x1111);
    uint8_t pkt[64];
    size_t n = l16_packet(pkt, 40000, 123456, 0x2222);
    assert_int_equal(lv_rtp_push(r, pkt, n), 1); /* said: a new stream */
    const int b[] = {1, 2};
    push_seqs(r, b, 2, 40000, 123456, 0x2222);
    assert_int_equal(lv_rtp_stream_count(r), 2);
    assert_int_equal(lv_rtp_get_stats(r)->ssrc_changes, 1);
    assert_int_equal(lv_rtp_stream_stats(r, 1)->ssrc, 0x2222);
    assert_int_equal(lv_rtp_stream_stats(r, 1)->played, 3);
    assert_int_equal(s.per_stream[0], 30);
    assert_int_equal(s.per_stream[1], 30);
    /* streams beyond the limit are refused and counted */
    for (uint32_t k = 0; k < 3; k++) {
        n = l16_packet(pkt, 1, 0, 0x3000 + k);
        int rc = lv_rtp_push(r, pkt, n);
        assert_int_equal(rc, k < 2 ? 1 : LV_ERR_RTP_STREAMS);
    }
    assert_int_equal(lv_rtp_get_stats(r)->streams_refused, 1);
    assert_int_equal(lv_rtp_get_stats(r)->ssrc_changes, 3);
    /* malformed datagrams are counted */
    assert_int_equal(lv_rtp_push(r, pkt, 5), LV_ERR_RTP_SHORT);
    assert_int_equal(lv_rtp_get_stats(r)->malformed, 1);
    lv_rtp_destroy(r);
}

static void test_rtp_gaps_and_events(void **state)
{
    (void)state;
    sink s;
    lv_rtp *r = rtp_new(&s, 60);
    uint8_t pkt[64];
    /* a telephone-event packet (PT 101, unmapped) keeps its sequence number: no loss; the
     * timestamp gap it leaves is silence */
    const int a[] = {0, 1};
    push_seqs(r, a, 2, 100, 0, 5);
    uint8_t ev[4] = {1, 0x80, 0, 160};
    size_t n = lv_rtp_encode(pkt, sizeof(pkt), 101, true, 102, 20, 5, ev, 4);
    assert_int_equal(lv_rtp_push(r, pkt, n), 0);
    n = l16_packet(pkt, 103, 40, 5);
    assert_int_equal(lv_rtp_push(r, pkt, n), 0);
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(st->not_audio, 1);
    assert_int_equal(st->lost, 0);
    assert_int_equal(st->silence_samples, 20);
    assert_int_equal(s.n, 50);
    /* an odd L16 payload is said and counted, its place kept */
    uint8_t odd[3] = {1, 2, 3};
    n = lv_rtp_encode(pkt, sizeof(pkt), 118, false, 104, 50, 5, odd, 3);
    assert_int_equal(lv_rtp_push(r, pkt, n), LV_ERR_RTP_PAYLOAD);
    assert_int_equal(st->bad_payload, 1);
    /* a timestamp jump beyond max_gap_ms is a resync, not filled */
    n = l16_packet(pkt, 105, 50 + 16000 * 5, 5);
    assert_int_equal(lv_rtp_push(r, pkt, n), 0);
    assert_int_equal(st->resyncs, 1);
    assert_int_equal(st->silence_samples, 20); /* the jump covers 104's place too */
    /* a restart of the numbering: confirmed by the packet after it */
    n = l16_packet(pkt, 30000, 7, 5);
    assert_int_equal(lv_rtp_push(r, pkt, n), 0);
    assert_int_equal(st->late, 1);
    n = l16_packet(pkt, 30001, 17, 5);
    assert_int_equal(lv_rtp_push(r, pkt, n), 0);
    assert_int_equal(st->resyncs, 2);
    assert_int_equal(st->played, 7);
    lv_rtp_destroy(r);
}

/* externalMedia's slin16: 20 ms packets of 320 big-endian samples at PT 118, the default
 * 60 ms window: a packet 60 ms behind its successors is still played in order, one 80 ms behind
 * is late and its place is silence. */
static void push_slin16(lv_rtp *r, uint16_t seq)
{
    static uint8_t pl[640];
    for (int i = 0; i < 320; i++) {
        uint16_t v = (uint16_t)(seq * 1000 + i);
        pl[2 * i] = (uint8_t)(v >> 8), pl[2 * i + 1] = (uint8_t)v;
    }
    uint8_t pkt[700];
    size_t n = lv_rtp_encode(pkt, sizeof(pkt), 118, false, seq, 320u * seq, 0xe1, pl, 640);
    assert_true(lv_rtp_push(r, pkt, n) >= 0);
}

static void test_rtp_external_media(void **state)
{
    (void)state;
    sink s;
    lv_rtp *r = rtp_new(&s, 60);
    const uint16_t order[] = {1, 2, 4, 5, 6, 3, 7, 9, 10, 11, 12, 8, 13};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        push_slin16(r, order[i]);
    /* 3 came after 4, 5 and 6 (60 ms): in order; 8 after 9 to 12 (80 ms): given up at 12 */
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(s.rate, 16000);
    assert_int_equal(st->lost, 1);
    assert_int_equal(st->late, 1);
    assert_int_equal(st->reordered, 1);
    assert_int_equal(st->samples, 13 * 320);
    assert_int_equal(st->silence_samples, 320);
    for (int k = 0; k < 13; k++) {
        int16_t v = s.pcm[320 * k + 5];
        if (k + 1 == 8)
            assert_int_equal(v, 0);
        else
            assert_int_equal(v, (int16_t)(uint16_t)((k + 1) * 1000 + 5));
    }
    lv_rtp_destroy(r);
}

static void test_rtp_random(void **state)
{
    (void)state;
    /* random order within the window, random duplicates: every packet once, in order */
    sink s;
    lv_rtp *r = rtp_new(&s, 10); /* 160 samples = 16 packets */
    g_seed = seed_for(0x5a5a);
    print_message("rtp shuffle, seed %u\n", g_seed);
    int order[400];
    for (int i = 0; i < 200; i++)
        order[i] = i;
    for (int b = 4; b < 200; b += 4) /* shuffled within blocks of 4: displaced 3 at most */
        for (int i = 3; i > 0; i--) {
            int j = (int)(rnd() % (unsigned)(i + 1));
            int t = order[b + i];
            order[b + i] = order[b + j];
            order[b + j] = t;
        }
    int n = 0, with[400];
    for (int i = 0; i < 200; i++) {
        with[n++] = order[i];
        if (rnd() % 10 == 0)
            with[n++] = order[i];
    }
    push_seqs(r, with, (size_t)n, 65000, 1, 3);
    lv_rtp_flush(r);
    const lv_rtp_stats *q = lv_rtp_stream_stats(r, 0);
    print_message("lost %llu late %llu dup %llu reordered %llu resync %llu\n",
                  (unsigned long long)q->lost, (unsigned long long)q->late,
                  (unsigned long long)q->duplicates, (unsigned long long)q->reordered,
                  (unsigned long long)q->resyncs);
    int want[200];
    for (int i = 0; i < 200; i++)
        want[i] = i;
    expect_pcm(&s, want, 200, 65000);
    const lv_rtp_stats *st = lv_rtp_stream_stats(r, 0);
    assert_int_equal(st->duplicates, (uint64_t)(n - 200));
    assert_int_equal(st->lost + st->late, 0);
    lv_rtp_destroy(r);
}

/* ---- WebSocket ------------------------------------------------------------------------------- */

static const char *k_req = "GET /fork HTTP/1.1\r\n"
                           "Host: callqa.example:8080\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: keep-alive, Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Protocol: chat, audio.drachtio.org\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "\r\n";

static void test_ws_handshake(void **state)
{
    (void)state;
    char acc[LV_WS_ACCEPT_LEN + 1];
    lv_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    lv_ws_upgrade u;
    lv_error e;
    size_t n = strlen(k_req);
    char buf[1024];
    memcpy(buf, k_req, n);
    memcpy(buf + n, "\x81\x80", 2); /* the first frame's bytes may follow */
    /* every prefix is incomplete, the whole is the request */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(lv_ws_upgrade_parse((const uint8_t *)buf, k, 4096, &u, &e), 0);
    assert_int_equal(lv_ws_upgrade_parse((const uint8_t *)buf, n + 2, 4096, &u, &e), (int)n);
    assert_string_equal(u.path, "/fork");
    assert_string_equal(u.host, "callqa.example:8080");
    assert_string_equal(u.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(lv_ws_choose_protocol(&u, "audio.drachtio.org,audiostream.drachtio.org"));
    assert_string_equal(u.protocol, "audio.drachtio.org");
    char resp[512];
    size_t rl = lv_ws_upgrade_response(&u, resp, sizeof(resp));
    assert_true(rl > 0 && rl == strlen(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(resp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_non_null(strstr(resp, "Sec-WebSocket-Protocol: audio.drachtio.org\r\n"));
    assert_int_equal(lv_ws_upgrade_response(&u, resp, 20), 0);
    assert_false(lv_ws_choose_protocol(&u, "other"));
    assert_string_equal(u.protocol, "");
    /* too big */
    assert_int_equal(lv_ws_upgrade_parse((const uint8_t *)buf, n - 10, n - 10, &u, &e),
                     LV_ERR_HTTP_TOO_BIG);
    rl = lv_ws_reject_response(LV_ERR_HTTP_TOO_BIG, resp, sizeof(resp));
    assert_non_null(strstr(resp, "431"));

    struct {
        const char *from, *to;
        int err;
    } bad[] = {
        {"GET /fork", "POST /fork", LV_ERR_HTTP_REQUEST},
        {"HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost", LV_ERR_HTTP_REQUEST},
        {"Host: callqa.example:8080\r\n", "", LV_ERR_HTTP_UPGRADE},
        {"Upgrade: websocket", "Upgrade: h2c", LV_ERR_HTTP_UPGRADE},
        {"keep-alive, Upgrade", "keep-alive", LV_ERR_HTTP_UPGRADE},
        {"Version: 13", "Version: 8", LV_ERR_HTTP_VERSION},
        {"Sec-WebSocket-Version: 13\r\n", "", LV_ERR_HTTP_VERSION},
        {"dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ", LV_ERR_HTTP_KEY},
        {"dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZSE=", LV_ERR_HTTP_KEY},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", LV_ERR_HTTP_KEY},
        {"Upgrade: websocket\r\n", "Upgrade websocket\r\n", LV_ERR_HTTP_REQUEST},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *at = strstr(k_req, bad[i].from);
        assert_non_null(at);
        size_t pre = (size_t)(at - k_req);
        int k = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pre, k_req, bad[i].to,
                         at + strlen(bad[i].from));
        int rc = lv_ws_upgrade_parse((const uint8_t *)buf, (size_t)k, 4096, &u, &e);
        if (rc != bad[i].err)
            fail_msg("case %zu: %d (%s)", i, rc, e.msg);
        assert_true(strlen(e.msg) > 5);
    }
    size_t rr = lv_ws_reject_response(LV_ERR_HTTP_VERSION, resp, sizeof(resp));
    assert_true(rr > 0);
    assert_non_null(strstr(resp, "426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"));
}

typedef struct ws_log {
    int ops[32];
    size_t lens[32];
    uint32_t sums[32];
    bool meta[32];
    int codes[32];
    size_t n;
    int rc;
} ws_log;

static void ws_feed(lv_ws_dec *d, const uint8_t *buf, size_t n, size_t (*chunk)(void), ws_log *log)
{
    memset(log, 0, sizeof(*log));
    size_t pos = 0;
    while (pos < n) {
        size_t c = chunk();
        if (c > n - pos)
            c = n - pos;
        const uint8_t *p = buf + pos;
        size_t left = c;
        while (left) {
            size_t used;
            lv_ws_msg m;
            int rc = lv_ws_next(d, p, left, &used, &m);
            assert_true(used <= left);
            p += used, left -= used, pos += used;
            if (rc < 0) {
                log->rc = rc;
                return;
            }
            if (rc == 0)
                break;
            assert_true(log->n < 32);
            log->ops[log->n] = m.op;
            log->lens[log->n] = m.len;
            log->meta[log->n] = m.metadata;
            log->codes[log->n] = m.close_code;
            for (size_t k = 0; k < m.len; k++)
                log->sums[log->n] += m.data[k] * (uint32_t)(k + 1);
            log->n++;
        }
    }
}

static const uint8_t k_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static size_t ws_sample_stream(uint8_t *buf, size_t cap)
{
    static uint8_t audio[70000];
    for (size_t i = 0; i < sizeof(audio); i++)
        audio[i] = (uint8_t)(i * 31 + 7);
    const char *meta = "{\"callid\":\"abc\",\"from\":\"2061236666\",\"to\":\"6173333456\"}";
    size_t n = 0;
    n += lv_ws_encode(buf + n, cap - n, LV_WS_TEXT, true, k_mask, (const uint8_t *)meta,
                      strlen(meta));
    n += lv_ws_encode(buf + n, cap - n, LV_WS_BINARY, true, k_mask, audio, 640);
    /* a fragmented binary message with a ping between its fragments */
    n += lv_ws_encode(buf + n, cap - n, LV_WS_BINARY, false, k_mask, audio, 300);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_PING, true, k_mask, (const uint8_t *)"hi", 2);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_CONT, false, k_mask, audio + 300, 0);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_CONT, true, k_mask, audio + 300, 20);
    /* 64-bit length */
    n += lv_ws_encode(buf + n, cap - n, LV_WS_BINARY, true, k_mask, audio, 70000);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_TEXT, true, k_mask, (const uint8_t *)"{\"x\":1}", 7);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_PONG, true, k_mask, NULL, 0);
    n += lv_ws_encode(buf + n, cap - n, LV_WS_BINARY, true, k_mask, NULL, 0);
    uint8_t cl[4] = {0x03, 0xe8, 'o', 'k'};
    n += lv_ws_encode(buf + n, cap - n, LV_WS_CLOSE, true, k_mask, cl, 4);
    return n;
}

static void test_ws_frames(void **state)
{
    (void)state;
    static uint8_t buf[80000];
    size_t n = ws_sample_stream(buf, sizeof(buf));
    lv_ws_dec *d = lv_ws_create(NULL, NULL);
    assert_non_null(d);
    ws_log whole, one, r;
    size_t body = n - 10; /* all but the close frame (2 + 4 + 4 bytes) */
    ws_feed(d, buf, body, chunk_all, &whole);
    assert_int_equal(whole.rc, 0);
    assert_int_equal(whole.n, 8);
    assert_int_equal(whole.ops[0], LV_WS_TEXT);
    assert_true(whole.meta[0]);
    assert_int_equal(whole.ops[1], LV_WS_BINARY);
    assert_int_equal(whole.lens[1], 640);
    assert_int_equal(whole.ops[2], LV_WS_PING);
    assert_int_equal(whole.lens[2], 2);
    assert_int_equal(whole.ops[3], LV_WS_BINARY);
    assert_int_equal(whole.lens[3], 320);
    assert_int_equal(whole.ops[4], LV_WS_BINARY);
    assert_int_equal(whole.lens[4], 70000);
    assert_int_equal(whole.ops[5], LV_WS_TEXT);
    assert_false(whole.meta[5]);
    assert_int_equal(whole.ops[6], LV_WS_PONG);
    assert_int_equal(whole.ops[7], LV_WS_BINARY);
    assert_int_equal(whole.lens[7], 0);
    assert_int_equal(lv_ws_get_stats(d)->fragmented, 1);
    assert_int_equal(lv_ws_get_stats(d)->bytes, body);
    /* the close: its code and reason */
    lv_ws_reset(d);
    size_t used;
    lv_ws_msg m;
    size_t pos = 0;
    int rc;
    while ((rc = lv_ws_next(d, buf + pos, n - pos, &used, &m)) == 1 && m.op != LV_WS_CLOSE)
        pos += used;
    assert_int_equal(rc, 1);
    assert_int_equal(m.op, LV_WS_CLOSE);
    assert_int_equal(m.close_code, 1000);
    assert_int_equal(m.reason_len, 2);
    assert_memory_equal(m.reason, "ok", 2);
    assert_int_equal(lv_ws_next(d, buf, 0, &used, &m), 0);
    assert_int_equal(lv_ws_next(d, buf, 1, &used, &m), LV_ERR_WS_CLOSED);
    /* a byte at a time, and random splits: the same messages */
    lv_ws_reset(d);
    ws_feed(d, buf, body, chunk_one, &one);
    assert_memory_equal(&whole, &one, sizeof(whole));
    g_seed = seed_for(0xabc);
    print_message("websocket splits, seed %u\n", g_seed);
    for (int t = 0; t < 20; t++) {
        lv_ws_reset(d);
        ws_feed(d, buf, body, chunk_rand, &r);
        assert_memory_equal(&whole, &r, sizeof(whole));
    }
    lv_ws_destroy(d);
}

static void test_ws_malformed(void **state)
{
    (void)state;
    uint8_t big[200];
    memset(big, 'a', sizeof(big));
    struct {
        const char *name;
        uint8_t bytes[16];
        size_t n;
        int err;
    } cases[] = {
        {"unmasked", {0x82, 0x01, 0x00}, 3, LV_ERR_WS_UNMASKED},
        {"rsv1", {0xc2, 0x80, 1, 2, 3, 4}, 6, LV_ERR_WS_RSV},
        {"opcode 3", {0x83, 0x80, 1, 2, 3, 4}, 6, LV_ERR_WS_OPCODE},
        {"opcode 0xb", {0x8b, 0x80, 1, 2, 3, 4}, 6, LV_ERR_WS_OPCODE},
        {"fragmented ping", {0x09, 0x80, 1, 2, 3, 4}, 6, LV_ERR_WS_CONTROL},
        {"long ping", {0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4}, 8, LV_ERR_WS_CONTROL},
        {"continuation first", {0x80, 0x80, 1, 2, 3, 4}, 6, LV_ERR_WS_SEQUENCE},
        {"16-bit under 126", {0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4}, 8, LV_ERR_WS_LENGTH},
        {"64-bit under 65536",
         {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4},
         14,
         LV_ERR_WS_LENGTH},
        {"64-bit top bit",
         {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
         14,
         LV_ERR_WS_LENGTH},
        {"over max", {0x82, 0xfe, 0x04, 0x01, 1, 2, 3, 4}, 8, LV_ERR_WS_TOO_BIG},
        {"close of 1", {0x88, 0x81, 0, 0, 0, 0, 0x03}, 7, LV_ERR_WS_CLOSE},
        {"close 1005", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed}, 8, LV_ERR_WS_CLOSE},
        {"close 999", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7}, 8, LV_ERR_WS_CLOSE},
        {"close 5000", {0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88}, 8, LV_ERR_WS_CLOSE},
        {"text not UTF-8", {0x81, 0x82, 0, 0, 0, 0, 0xc0, 0xaf}, 8, LV_ERR_WS_UTF8},
        {"surrogate", {0x81, 0x83, 0, 0, 0, 0, 0xed, 0xa0, 0x80}, 9, LV_ERR_WS_UTF8},
    };
    lv_ws_params p = lv_ws_default_params();
    p.max_message = 1024;
    lv_ws_dec *d = lv_ws_create(&p, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lv_ws_reset(d);
        size_t used;
        lv_ws_msg m;
        int rc = lv_ws_next(d, cases[i].bytes, cases[i].n, &used, &m);
        if (rc != cases[i].err)
            fail_msg("%s: %d (%s)", cases[i].name, rc, lv_ws_last_error(d)->msg);
        assert_true(strlen(lv_ws_last_error(d)->msg) > 10);
        assert_int_equal(lv_ws_next(d, cases[i].bytes, 1, &used, &m), LV_ERR_FAILED);
    }
    assert_int_equal(lv_ws_close_code_for(LV_ERR_WS_TOO_BIG), 1009);
    assert_int_equal(lv_ws_close_code_for(LV_ERR_WS_UTF8), 1007);
    assert_int_equal(lv_ws_close_code_for(LV_ERR_WS_OPCODE), 1002);
    /* a new message before the fragmented one ended; fragments over the maximum in all */
    uint8_t buf[4096];
    size_t n = lv_ws_encode(buf, sizeof(buf), LV_WS_BINARY, false, k_mask, big, 100);
    n += lv_ws_encode(buf + n, sizeof(buf) - n, LV_WS_TEXT, true, k_mask, big, 10);
    lv_ws_reset(d);
    size_t used;
    lv_ws_msg m;
    assert_int_equal(lv_ws_next(d, buf, n, &used, &m), LV_ERR_WS_SEQUENCE);
    n = 0;
    for (int k = 0; k < 6; k++)
        n += lv_ws_encode(buf + n, sizeof(buf) - n, k ? LV_WS_CONT : LV_WS_BINARY, false, k_mask,
                          big, 200);
    lv_ws_reset(d);
    assert_int_equal(lv_ws_next(d, buf, n, &used, &m), LV_ERR_WS_TOO_BIG);
    assert_true(used < n); /* refused at the header of the sixth fragment */
    assert_int_equal(lv_ws_last_error(d)->offset, 5 * 208);
    lv_ws_destroy(d);
}

static void test_ws_server_frames(void **state)
{
    (void)state;
    uint8_t out[300];
    size_t n = lv_ws_encode(out, sizeof(out), LV_WS_PONG, true, NULL, (const uint8_t *)"hi", 2);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x8a\x02hi", 4);
    n = lv_ws_encode_close(out, sizeof(out), 1000, "bye");
    assert_memory_equal(out,
                        "\x88\x05\x03\xe8"
                        "bye",
                        7);
    assert_int_equal(lv_ws_encode_close(out, sizeof(out), 1005, NULL), 0);
    assert_int_equal(lv_ws_encode(out, sizeof(out), LV_WS_PING, false, NULL, out, 1), 0);
    assert_int_equal(lv_ws_encode(out, sizeof(out), LV_WS_PING, true, NULL, out, 126), 0);
    assert_int_equal(lv_ws_encode(out, sizeof(out), (lv_ws_op)3, true, NULL, out, 1), 0);
    n = lv_ws_encode(out, sizeof(out), LV_WS_TEXT, true, NULL, out + 100, 200);
    assert_int_equal(n, 204);
    assert_int_equal(out[1], 126);
    assert_int_equal(lv_ws_encode(out, 10, LV_WS_TEXT, true, NULL, out, 9), 0);
}

/* ---- FastAGI ----------------------------------------------------------------------------------
 */

static const char k_agi[] = "agi_network: yes\nagi_network_script: amd\r\n"
                            "agi_request: agi://127.0.0.1:4573/amd\nagi_accountcode: \n"
                            "agi_arg_1: 0f8fad5b-d9cb-469f-a165-70867728950e\n\n"
                            "200 result=1\n200 result=-1 (some value)\n"
                            "520-Invalid command syntax.  Proper usage follows:\n"
                            "Usage: SET VARIABLE <variablename> <value>\n"
                            "520 End of proper usage.\n510 Invalid or unknown command\nHANGUP\n";

/* Read k_agi in chunks of `chunk` bytes; the lines' meanings joined into out. */
static void agi_read(size_t chunk, char *out, size_t cap)
{
    lv_agi_params p = lv_agi_default_params();
    lv_agi_dec *d = lv_agi_create(&p, NULL);
    assert_non_null(d);
    size_t n = strlen(k_agi), pos = 0, k = 0;
    out[0] = 0;
    while (pos < n) {
        size_t left = n - pos < chunk ? n - pos : chunk, used;
        lv_agi_msg m;
        int rc = lv_agi_next(d, (const uint8_t *)k_agi + pos, left, &used, &m);
        assert_true(rc >= 0 && used <= left);
        pos += used;
        if (rc == 1)
            k += (size_t)snprintf(out + k, cap - k, "%d|%s|%s|%d|%d|%ld|%s;", m.kind, m.name,
                                  m.value, m.code, m.has_result, m.result, m.data);
    }
    assert_false(lv_agi_in_env(d));
    assert_int_equal(lv_agi_lines(d), 13);
    lv_agi_destroy(d);
}

static void test_agi_lines(void **state)
{
    (void)state;
    char whole[2048], bytes[2048];
    agi_read((size_t)-1, whole, sizeof(whole));
    agi_read(1, bytes, sizeof(bytes));
    assert_string_equal(whole, bytes);
    assert_string_equal(whole,
                        "1|agi_network|yes|0|0|0|;1|agi_network_script|amd|0|0|0|;"
                        "1|agi_request|agi://127.0.0.1:4573/amd|0|0|0|;1|agi_accountcode||0|0|0|;"
                        "1|agi_arg_1|0f8fad5b-d9cb-469f-a165-70867728950e|0|0|0|;2|||0|0|0|;"
                        "3|||200|1|1|;3|||200|1|-1|(some value);"
                        "3|||520|0|0|Invalid command syntax.  Proper usage follows:;"
                        "3|||510|0|0|Invalid or unknown command;4|||0|0|0|;");
}

static void test_agi_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int err;
    } cases[] = {
        {"agi_network yes\n", LV_ERR_AGI_VAR},
        {"AGI_NETWORK: yes\n", LV_ERR_AGI_VAR},
        {"network: yes\n", LV_ERR_AGI_VAR},
        {"agi_: yes\n", LV_ERR_AGI_VAR},
        {"agi_a: b\x01\n", LV_ERR_AGI_BYTE},
        {"agi_a: b\rc\n", LV_ERR_AGI_BYTE},
        {"\n200 result=\n", LV_ERR_AGI_REPLY},
        {"\n200 ok\n", LV_ERR_AGI_REPLY},
        {"\n20 result=1\n", LV_ERR_AGI_REPLY},
        {"\n200 result=1x\n", LV_ERR_AGI_REPLY},
        {"\n200 result=1234567890123456789\n", LV_ERR_AGI_REPLY},
        {"\nHANGUP\n200 result=1\n", LV_ERR_AGI_AFTER},
        {"agi_a: 0123456789012345678901234567890123456789\n", LV_ERR_AGI_LINE},
        {"agi_a: 1\nagi_b: 2\nagi_c: 3\n", LV_ERR_AGI_VARS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lv_agi_params p = {.max_line = 32, .max_vars = 2};
        lv_agi_dec *d = lv_agi_create(&p, NULL);
        size_t n = strlen(cases[i].text), pos = 0, used;
        lv_agi_msg m;
        int rc = 0;
        while (pos < n &&
               (rc = lv_agi_next(d, (const uint8_t *)cases[i].text + pos, n - pos, &used, &m)) >= 0)
            pos += used;
        if (rc != cases[i].err)
            printf("case %zu: %d, %s\n", i, rc, lv_agi_last_error(d)->msg);
        assert_int_equal(rc, cases[i].err);
        assert_true(lv_agi_last_error(d)->msg[0] != 0);
        assert_int_equal(lv_agi_next(d, (const uint8_t *)"x", 1, &used, &m), LV_ERR_FAILED);
        lv_agi_destroy(d);
    }
    lv_agi_params bad = {.max_line = 8, .max_vars = 1};
    int err = 0;
    assert_null(lv_agi_create(&bad, &err));
    assert_int_equal(err, LV_ERR_ARG);
}

static void test_agi_set_variable(void **state)
{
    (void)state;
    char b[128];
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "AMDSTATUS", "HUMAN", false), 29);
    assert_string_equal(b, "SET VARIABLE AMDSTATUS HUMAN\n");
    assert_true(lv_agi_set_variable(b, sizeof(b), "AMDCAUSE", "HUMAN-800-800", true) > 0);
    assert_string_equal(b, "SET VARIABLE AMDCAUSE \"HUMAN-800-800\"\n");
    assert_true(lv_agi_set_variable(b, sizeof(b), "AMDCAUSE", "", true) > 0);
    assert_string_equal(b, "SET VARIABLE AMDCAUSE \"\"\n");
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "AMDCAUSE", "", false), 0);
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "A B", "x", true), 0);
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "A", "x\"y", true), 0);
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "A", "x\ny", true), 0);
    assert_int_equal(lv_agi_set_variable(b, sizeof(b), "A", "x y", false), 0);
    assert_int_equal(lv_agi_set_variable(b, 20, "AMDSTATUS", "MACHINE", false), 0);
}

/* ---- the FastAGI answer of hold decisions (agi_server.c) --------------------------------------
 */

/* One AGI session against the server on port: the environment for script and uuid, then the
 * two SET VARIABLE lines, each answered "200 result=1", into status and cause; then EOF. */
static void agi_session(int port, const char *script, const char *uuid, char *status, char *cause)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = (time_t)tu_hang_sec(120)}; /* only a hang's: answers are known */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char env[256];
    int n = snprintf(env, sizeof(env),
                     "agi_network: yes\nagi_network_script: %s\nagi_channel: PJSIP/t-1\n"
                     "agi_arg_1: %s\n\n",
                     script, uuid);
    assert_int_equal(send(fd, env, (size_t)n, 0), n);
    char line[2][128];
    for (int k = 0; k < 2; k++) {
        size_t got = 0;
        char ch;
        while (got + 1 < sizeof(line[k]) && recv(fd, &ch, 1, 0) == 1 && ch != '\n')
            line[k][got++] = ch;
        line[k][got] = 0;
        assert_int_equal(send(fd, "200 result=1\n", 13, 0), 13);
    }
    char ch;
    assert_int_equal(recv(fd, &ch, 1, 0), 0); /* the server closed: the dialplan goes on */
    close(fd);
    assert_int_equal(sscanf(line[0], "SET VARIABLE HOLDSTATUS %31s", status), 1);
    const char *pre = "SET VARIABLE HOLDCAUSE \"";
    size_t np = strlen(pre), nl = strlen(line[1]);
    assert_true(nl > np && !strncmp(line[1], pre, np) && line[1][nl - 1] == '"' && nl - np <= 64);
    memcpy(cause, line[1] + np, nl - np - 1);
    cause[nl - np - 1] = 0;
}

static void test_agi_hold_answers(void **state)
{
    (void)state;
    lv_agi_server_params p = lv_agi_server_default_params();
    p.port = "0";
    p.script = "hold";
    p.hold = true;
    /* the decisions are known before each session: no limit of the server's is what it tests,
     * each one that a slow machine could reach (the environment, a reply, a decision) calm */
    p.ident_sec = 60;
    p.io_sec = 60;
    p.timeout_sec = 60;
    lv_error e = {0};
    lv_agi_server *s = lv_agi_server_create(&p, &e);
    assert_non_null(s);
    const char *ua = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
               *ub = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
               *uc = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
    /* the wait ended with no person; a person after a quiet handover; a machine (not a hold
     * decision: ignored) and the call's end */
    lv_agi_server_event(s, &(lv_event){.call = ua,
                                       .type = "hold_ended",
                                       .rule = "no_music",
                                       .start_sec = 10.0,
                                       .end_sec = 40.0});
    lv_agi_server_event(s, &(lv_event){.call = ub,
                                       .type = "human",
                                       .rule = "quiet_handover",
                                       .start_sec = 50.0,
                                       .end_sec = 50.1,
                                       .quiet_sec = 1.5});
    lv_agi_server_event(
        s,
        &(lv_event){
            .call = ub, .type = "hold_ended", .rule = "human", .start_sec = 48.0, .end_sec = 50.1});
    lv_agi_server_event(s, &(lv_event){.call = uc,
                                       .type = "machine",
                                       .rule = "long_greeting",
                                       .start_sec = 0.0,
                                       .end_sec = 2.0});
    lv_agi_server_event(s, &(lv_event){.call = uc, .type = "call_end", .reason = "hangup"});
    char st[32], cause[64];
    agi_session(lv_agi_server_port(s), "hold", ua, st, cause);
    assert_string_equal(st, "ENDED");
    assert_string_equal(cause, "NOMUSIC-30000-30000");
    agi_session(lv_agi_server_port(s), "hold", ub, st, cause);
    assert_string_equal(st, "HUMAN");
    assert_string_equal(cause, "QUIETHANDOVER-1500-1280");
    agi_session(lv_agi_server_port(s), "hold", uc, st, cause);
    assert_string_equal(st, "HANGUP");
    assert_string_equal(cause, "");
    lv_agi_server_stats as;
    lv_agi_server_get_stats(s, &as);
    assert_int_equal(as.ended, 1);
    assert_int_equal(as.human, 1);
    assert_int_equal(as.hangup, 1);
    assert_int_equal(as.machine, 0);
    lv_agi_server_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_g711),
        cmocka_unit_test(test_as_splits),
        cmocka_unit_test(test_as_fields),
        cmocka_unit_test(test_as_malformed),
        cmocka_unit_test(test_rtp_header),
        cmocka_unit_test(test_rtp_in_order_and_g711),
        cmocka_unit_test(test_rtp_loss_reorder_dup),
        cmocka_unit_test(test_rtp_wraps),
        cmocka_unit_test(test_rtp_ssrc_change),
        cmocka_unit_test(test_rtp_gaps_and_events),
        cmocka_unit_test(test_rtp_external_media),
        cmocka_unit_test(test_rtp_random),
        cmocka_unit_test(test_ws_handshake),
        cmocka_unit_test(test_ws_frames),
        cmocka_unit_test(test_ws_malformed),
        cmocka_unit_test(test_ws_server_frames),
        cmocka_unit_test(test_agi_lines),
        cmocka_unit_test(test_agi_malformed),
        cmocka_unit_test(test_agi_set_variable),
        cmocka_unit_test(test_agi_hold_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
