/*
 * live.h - the wire formats of live calls: the three ways a PBX hands callqa a call's audio as
 * it happens, each taken apart from bytes by an incremental, bounded decoder, with the encoders
 * that the tests' senders and the server's replies use (docs/live/wire-formats.md, "Wire formats").
 *
 *   AudioSocket  Asterisk's TCP protocol (res_audiosocket, app/chan AudioSocket): frames of a
 *                1-byte kind, a 2-byte big-endian payload length and the payload
 *                (https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/).
 *   RTP          what Asterisk's ARI externalMedia sends over UDP (RFC 3550, payloads by
 *                RFC 3551): G.711 u-law and A-law, L16 at a dynamic payload type; demultiplexed
 *                by SSRC and put back in order by a per-stream reorder buffer.
 *   FastAGI      not audio: Asterisk's AGI over TCP (AGI(agi://host:port/script,args)): the
 *                channel's "agi_<name>: <value>" lines up to an empty line, then one reply line
 *                ("200 result=1", ...) per command the server sends
 *                (https://docs.asterisk.org/Configuration/Interfaces/Asterisk-Gateway-Interface-AGI/);
 *                the answer of an AMD decision (lv_agi_server_*, agi_server.c).
 *   WebSocket    RFC 6455, server side, as FreeSWITCH's mod_audio_fork sends a call: the HTTP
 *                Upgrade request, then masked frames of L16 audio (binary) and JSON metadata
 *                (text); drachtio-freeswitch-modules: modules/mod_audio_fork/README.md.
 *
 * DESIGN: each decoder is fed the bytes as they come, split anywhere (a TCP read may end in the
 * middle of a header), and hands back whole frames or messages one at a time (lv_as_next,
 * lv_ws_next) or, for RTP, calls back with blocks of PCM in playout order. Every buffer is sized
 * at create from a settable maximum; nothing allocates per frame. A decoder never reads past the
 * bytes it was given, counts the bytes it consumed, and stops at the first malformed frame with
 * an error code (lv_err), the offset of the frame in the stream and one line saying what was
 * wrong; what it drops on purpose (a duplicate or late packet, a stream over the limit) it
 * counts. The decoders have no sockets, no threads, no store, no printing; the server of
 * `callqa live` (lv_server_*, server.c and its server_*.c) is built on top, and the follower of
 * the event lines it writes (lv_follow_*, follow.c, at the end of this header) reads them back
 * for the service.
 *
 * ROOM: src/live/, prefix lv_, on floor 8 with ingest, under the pipeline (docs/ARCHITECTURE.md).
 * It stands on base (allocation), the engine's public API (the G.711 expansion of cq_audio.h; for
 * the server, cq_vad, cq_resample and cq_classify), nettle (SHA-1 and base64 for the WebSocket
 * handshake); nothing above it is included.
 *
 * Thread safety: an object is used by one thread at a time; the free functions are pure; an
 * lv_server runs its own threads, and lv_server_stop may be called from a signal handler.
 */
#ifndef CQ_LIVE_H
#define CQ_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_status.h"

/* ---- errors ---------------------------------------------------------------------------------- */

/* What a decoder says about bad bytes. LV_OK is 0, errors negative; numbers are never reused. */
typedef enum lv_err {
    LV_OK = 0,
    LV_ERR_ARG = -1,    /* a bad argument from the caller (NULL, a limit of 0, a wrong kind) */
    LV_ERR_NOMEM = -2,  /* an allocation at create failed */
    LV_ERR_FAILED = -3, /* the decoder stopped at an earlier error: reset it or drop it */
    /* AudioSocket */
    LV_ERR_AS_KIND = -10,    /* a kind the protocol does not define */
    LV_ERR_AS_LENGTH = -11,  /* a length wrong for its kind (UUID 16, DTMF 1, audio even) */
    LV_ERR_AS_TOO_BIG = -12, /* a payload longer than max_payload */
    LV_ERR_AS_DTMF = -13,    /* a DTMF payload that is not 0-9, *, #, A-D */
    /* RTP */
    LV_ERR_RTP_SHORT = -20,   /* shorter than its header, CSRCs, extension and padding */
    LV_ERR_RTP_VERSION = -21, /* version not 2 */
    LV_ERR_RTP_PADDING = -22, /* a padding count of 0 or longer than the payload */
    LV_ERR_RTP_PAYLOAD = -23, /* an L16 payload of odd length, or more samples than a slot */
    LV_ERR_RTP_STREAMS = -24, /* a new SSRC with every stream slot taken */
    /* the WebSocket handshake (HTTP/1.1 Upgrade) */
    LV_ERR_HTTP_TOO_BIG = -30, /* no end of the request within max_header bytes */
    LV_ERR_HTTP_REQUEST = -31, /* not "GET <path> HTTP/1.1", or a malformed header line */
    LV_ERR_HTTP_UPGRADE = -32, /* Host, Upgrade: websocket or Connection: Upgrade missing */
    LV_ERR_HTTP_KEY = -33,     /* Sec-WebSocket-Key missing, repeated or not 16 bytes base64 */
    LV_ERR_HTTP_VERSION = -34, /* Sec-WebSocket-Version not 13 (answer 426) */
    /* WebSocket frames */
    LV_ERR_WS_UNMASKED = -40, /* a client frame without a mask */
    LV_ERR_WS_RSV = -41,      /* RSV1-3 set: no extension was agreed */
    LV_ERR_WS_OPCODE = -42,   /* a reserved opcode */
    LV_ERR_WS_CONTROL = -43,  /* a control frame fragmented or longer than 125 bytes */
    LV_ERR_WS_TOO_BIG = -44,  /* a message longer than max_message */
    LV_ERR_WS_SEQUENCE = -45, /* a continuation with nothing to continue, or a new message
                                 before the fragmented one ended */
    LV_ERR_WS_LENGTH = -46,   /* a length not in its shortest form, or the 64-bit top bit set */
    LV_ERR_WS_CLOSE = -47,    /* a close payload of 1 byte, or a code not allowed on the wire */
    LV_ERR_WS_UTF8 = -48,     /* a text message or close reason that is not UTF-8 */
    LV_ERR_WS_CLOSED = -49,   /* bytes after the peer's close frame */
    /* FastAGI (what Asterisk sends an AGI server) */
    LV_ERR_AGI_LINE = -50,  /* a line longer than max_line */
    LV_ERR_AGI_BYTE = -51,  /* a NUL or control byte within a line */
    LV_ERR_AGI_VAR = -52,   /* an environment line not "agi_<name>: <value>" */
    LV_ERR_AGI_VARS = -53,  /* more environment lines than max_vars */
    LV_ERR_AGI_REPLY = -54, /* a reply not "<3 digits> ...", a 200 without result=<n>, or a
                               usage text longer than max_vars lines */
    LV_ERR_AGI_AFTER = -55, /* bytes after the HANGUP line */
    /* the fingerprint store's file (fpstore.c) */
    LV_ERR_FPS_FILE = -60 /* malformed, unreadable or not written */
} lv_err;

/* Static English text of an lv_err ("unknown AudioSocket kind"); never NULL. */
const char *lv_strerror(int err);
/* Its symbolic name ("LV_ERR_AS_KIND"); never NULL. */
const char *lv_err_name(int err);

/* The last error of a decoder: its code, where it was and why. */
typedef struct lv_error {
    int code;        /* an lv_err; LV_OK when none */
    uint64_t offset; /* stream offset of the frame (or packet number) it was found in */
    char msg[160];   /* one line, NUL-terminated; empty when code is LV_OK */
} lv_error;

/* text with each '#' in it replaced by the next of v[0..n) in decimal, into out[0..cap) (NUL-
 * terminated): a server's counters as a line for a person, or as JSON fields. Its length, or 0
 * when it does not fit. text holds as many '#' as there are counters. */
size_t lv_counts_text(char *out, size_t cap, const char *text, const uint64_t *v, size_t n)
    CQ_NONNULL(1, 3);

/* ---- PCM helpers ----------------------------------------------------------------------------- */

/* n 16-bit samples from 2n bytes, little-endian (AudioSocket, mod_audio_fork) or big-endian
 * (RTP L16, RFC 3551 4.5.11), into out[n]. */
void lv_pcm_s16le(const uint8_t *bytes, size_t n, int16_t *out);
void lv_pcm_s16be(const uint8_t *bytes, size_t n, int16_t *out);
/* Interleaved little-endian frames of `channels` (1 or 2: mod_audio_fork's mono and mixed, or
 * stereo) from len bytes into one plane per channel (out[c][0..frames)). Returns the whole
 * frames taken: len / (2 * channels); the bytes of a partial frame at the end are left. */
size_t lv_pcm_s16le_planar(const uint8_t *bytes, size_t len, int channels, int16_t *const out[]);
/* n samples to float in [-1, 1) (s / 32768), as the engine reads audio. */
void lv_pcm_to_float(const int16_t *pcm, size_t n, float *out);
/* G.711 (cq_g711_*) of n bytes into out[n]: ulaw true for PCMU, false for PCMA. */
void lv_g711_s16(const uint8_t *bytes, size_t n, bool ulaw, int16_t *out);
void lv_g711_float(const uint8_t *bytes, size_t n, bool ulaw, float *out);
/* The other way, for the probe sent back over RTP: n samples into out[n] bytes of G.711
 * (libspandsp's compression, ITU-T G.711), ulaw true for PCMU, false for PCMA. */
void lv_s16_g711(const int16_t *pcm, size_t n, bool ulaw, uint8_t *out);

/* ---- AudioSocket ----------------------------------------------------------------------------- */

/* The kinds of frame (docs.asterisk.org, AudioSocket, "Types"): 0x10-0x18 are signed linear
 * 16-bit mono little-endian PCM at 8, 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz. */
typedef enum lv_as_kind {
    LV_AS_HANGUP = 0x00,    /* terminate the connection; no payload */
    LV_AS_UUID = 0x01,      /* the call's UUID, 16 bytes binary */
    LV_AS_DTMF = 0x03,      /* one ASCII DTMF digit */
    LV_AS_SLIN = 0x10,      /* 8 kHz */
    LV_AS_SLIN_12K = 0x11,  /* 12 kHz */
    LV_AS_SLIN_16K = 0x12,  /* 16 kHz */
    LV_AS_SLIN_24K = 0x13,  /* 24 kHz */
    LV_AS_SLIN_32K = 0x14,  /* 32 kHz */
    LV_AS_SLIN_44K = 0x15,  /* 44.1 kHz */
    LV_AS_SLIN_48K = 0x16,  /* 48 kHz */
    LV_AS_SLIN_96K = 0x17,  /* 96 kHz */
    LV_AS_SLIN_192K = 0x18, /* 192 kHz */
    LV_AS_ERROR = 0xff      /* an error; an optional 1-byte code */
} lv_as_kind;

/* Asterisk's own error codes in an LV_AS_ERROR payload (the AudioSocket docs). */
#define LV_AS_ERR_HANGUP 0x01 /* the calling party hung up */
#define LV_AS_ERR_FRAME 0x02  /* frame forwarding error */
#define LV_AS_ERR_MEMORY 0x04 /* memory (allocation) error */

#define LV_AS_HEADER 3           /* kind + 16-bit length */
#define LV_AS_MAX_PAYLOAD 65535u /* what 16 bits can say */

/* The sample rate of an audio kind, 0 for the others. */
uint32_t lv_as_kind_rate(int kind);
/* The audio kind of a sample rate, -1 when AudioSocket has none. */
int lv_as_rate_kind(uint32_t rate_hz);
/* "slin16", "uuid", ...; "unknown" for a kind the protocol does not define. */
const char *lv_as_kind_name(int kind);

typedef struct lv_as_params {
    size_t max_payload; /* 16 .. 65535 bytes; a longer frame is refused (LV_ERR_AS_TOO_BIG) */
} lv_as_params;
/* max_payload 16384: 40 ms at 192 kHz, 0.5 s at 16 kHz (Asterisk sends 20 ms frames). */
lv_as_params lv_as_default_params(void);

/* One frame. Payload and fields are the decoder's: valid until its next lv_as_next. */
typedef struct lv_as_frame {
    lv_as_kind kind;
    const uint8_t *payload; /* len bytes (NULL when len is 0) */
    size_t len;
    uint64_t offset;  /* stream offset of the frame's kind byte */
    uint32_t rate_hz; /* audio: the kind's sample rate; else 0 */
    size_t samples;   /* audio: len / 2 samples (little-endian: lv_pcm_s16le) */
    uint8_t uuid[16]; /* LV_AS_UUID */
    char digit;       /* LV_AS_DTMF */
    int error_code;   /* LV_AS_ERROR: the payload's byte, -1 when it carried none */
} lv_as_frame;

/* What a decoder has seen. */
typedef struct lv_as_stats {
    uint64_t bytes;        /* bytes consumed */
    uint64_t frames;       /* whole frames handed out */
    uint64_t audio_frames; /* of them, audio */
    uint64_t audio_bytes;  /* their payload bytes */
    uint64_t dtmf, errors; /* DTMF and error frames */
} lv_as_stats;

typedef struct lv_as_dec lv_as_dec;

/* A decoder for one connection. NULL on a bad parameter or no memory (*err says, optional). */
lv_as_dec *lv_as_create(const lv_as_params *p, int *err);
void lv_as_destroy(lv_as_dec *d); /* NULL: no-op */
/* Back to the start of a stream: no partial frame, no error, counters zero. */
void lv_as_reset(lv_as_dec *d);

/* Consume data[0..n) until one whole frame is ready or the bytes run out; *used says how many
 * bytes it took (never more than n). Returns 1 with the frame in *out, 0 when every byte was
 * taken and no frame is whole yet, or an lv_err: the frame starting at lv_as_error's offset is
 * malformed (*used counts its header), and every later call returns LV_ERR_FAILED until
 * lv_as_reset. A hangup frame is returned like any other: the caller closes. */
CQ_NODISCARD int lv_as_next(lv_as_dec *d, const uint8_t *data, size_t n, size_t *used,
                            lv_as_frame *out) CQ_NONNULL(1, 4, 5);
const lv_as_stats *lv_as_get_stats(const lv_as_dec *d) CQ_NONNULL(1);
const lv_error *lv_as_last_error(const lv_as_dec *d) CQ_NONNULL(1);
/* True between frames: no partial frame is buffered (a connection may end cleanly here). */
bool lv_as_at_boundary(const lv_as_dec *d) CQ_NONNULL(1);

/* Encoders: write one frame into out[0..cap); return its size, or 0 when it does not fit or
 * breaks the protocol (an unknown kind, a UUID not 16 bytes, a DTMF not one digit, odd audio,
 * more than 65535 bytes). */
size_t lv_as_encode(uint8_t *out, size_t cap, int kind, const uint8_t *payload, size_t len);
size_t lv_as_encode_hangup(uint8_t *out, size_t cap);
size_t lv_as_encode_uuid(uint8_t *out, size_t cap, const uint8_t uuid[16]);
size_t lv_as_encode_dtmf(uint8_t *out, size_t cap, char digit);
size_t lv_as_encode_error(uint8_t *out, size_t cap, int code); /* code < 0: no payload */
/* n samples at rate_hz (one of the audio kinds' rates), written little-endian. */
size_t lv_as_encode_slin(uint8_t *out, size_t cap, uint32_t rate_hz, const int16_t *pcm, size_t n);
/* The 8-4-4-4-12 hexadecimal form of a UUID into buf[37]. */
const char *lv_as_uuid_str(const uint8_t uuid[16], char buf[37]);

/* ---- RTP ------------------------------------------------------------------------------------- */

/* One RTP packet's header (RFC 3550 5.1), every length checked against the datagram. */
typedef struct lv_rtp_header {
    uint8_t version, cc, pt; /* cc: CSRC count 0-15; pt: 0-127 */
    bool padding, extension, marker;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint32_t csrc[15];
    uint16_t ext_profile;   /* extension: its 16-bit profile word */
    size_t ext_len;         /* extension: its data bytes (after the 4-byte header) */
    const uint8_t *payload; /* into the datagram */
    size_t payload_len;     /* without padding */
    size_t pad_len;         /* padding bytes, the count byte included */
} lv_rtp_header;

/* Take a datagram apart. LV_OK, or LV_ERR_RTP_SHORT, _VERSION, _PADDING (e->msg says which
 * length; e may be NULL). */
CQ_NODISCARD int lv_rtp_parse(const uint8_t *pkt, size_t n, lv_rtp_header *h, lv_error *e)
    CQ_NONNULL(1, 3);

/* The audio a payload type carries. */
typedef enum lv_codec {
    LV_CODEC_NONE = 0, /* not audio we decode (telephone-event, CN, ...): keeps its sequence
                          number, gives no samples */
    LV_CODEC_PCMU,     /* G.711 u-law */
    LV_CODEC_PCMA,     /* G.711 A-law */
    LV_CODEC_L16,      /* 16-bit linear, network byte order (RFC 3551 4.5.11; Asterisk's slin
                          over RTP) */
    LV_CODEC_L16_LE    /* 16-bit linear, little-endian, for senders that keep host order */
} lv_codec;

/* Payload type -> codec and clock rate, one per stream. */
typedef struct lv_rtp_map {
    uint8_t codec[128];    /* an lv_codec */
    uint32_t rate_hz[128]; /* the RTP clock = the sample rate (mono) */
} lv_rtp_map;
/* PT 0 PCMU/8000, 8 PCMA/8000, 118 L16/16000 (externalMedia's slin16); the rest NONE. */
lv_rtp_map lv_rtp_default_map(void);
/* Set one entry; LV_ERR_ARG for pt > 127, an unknown codec or an audio codec at rate 0. */
int lv_rtp_map_set(lv_rtp_map *m, unsigned pt, lv_codec codec, uint32_t rate_hz);

/* What one stream gave and what it dropped. */
typedef struct lv_rtp_stats {
    uint32_t ssrc;
    uint32_t rate_hz;         /* of its audio (the first audio packet's); 0 before */
    uint64_t packets;         /* accepted into the reorder buffer */
    uint64_t played;          /* packets played out (audio or not) */
    uint64_t lost;            /* sequence numbers never received in time */
    uint64_t duplicates;      /* received twice: dropped */
    uint64_t late;            /* came after their place was played or given up: dropped */
    uint64_t reordered;       /* came after a later one, in time to be played in order */
    uint64_t not_audio;       /* packets of a payload type mapped to LV_CODEC_NONE */
    uint64_t bad_rate;        /* audio at another clock rate than the stream's: dropped */
    uint64_t bad_payload;     /* odd L16, or more samples than max_packet_samples: dropped */
    uint64_t resyncs;         /* sequence or timestamp jumps taken as a restart */
    uint64_t samples;         /* samples handed out, silence included */
    uint64_t silence_samples; /* of them, silence put in for loss or a timestamp gap */
    uint64_t seq_wraps;       /* times the sequence number wrapped past 65535 */
    uint64_t ts_wraps;        /* times the timestamp wrapped past 2^32 - 1 */
} lv_rtp_stats;

/* One block of PCM in playout order, handed to on_pcm; pcm is valid during the call only. */
typedef struct lv_rtp_block {
    size_t stream; /* index of the stream (lv_rtp_stream_stats), in order of first packet */
    uint32_t ssrc; /* its SSRC */
    uint32_t rate_hz;
    const int16_t *pcm;
    size_t n;       /* samples */
    uint64_t first; /* the stream's sample index of pcm[0] */
    bool silence;   /* true: put in for lost packets or a timestamp gap */
    uint64_t seq;   /* the extended sequence number played (silence: the next one) */
} lv_rtp_block;
typedef void (*lv_rtp_pcm_fn)(void *user, const lv_rtp_block *b);

typedef struct lv_rtp_params {
    lv_rtp_map map;            /* for streams created by a packet (lv_rtp_set_map for others) */
    unsigned window_ms;        /* how long a missing packet is waited for (1-2000) */
    size_t max_streams;        /* SSRCs followed at once (1-64); more are refused, counted */
    size_t max_pending;        /* packets held per stream while waiting (2-256) */
    size_t max_packet_samples; /* samples one packet may carry (1-16384) */
    unsigned max_gap_ms;       /* a timestamp gap up to this is filled with silence; a longer
                                  one is a jump: counted in resyncs, not filled (1-60000) */
    lv_rtp_pcm_fn on_pcm;      /* where the PCM goes (required) */
    void *user;                /* handed to on_pcm */
} lv_rtp_params;
/* Default map, 60 ms window, 4 streams, 32 pending, 1920 samples (40 ms at 48 kHz), 1000 ms gap;
 * on_pcm NULL (set it). */
lv_rtp_params lv_rtp_default_params(void);

/* What the receiver as a whole saw (one UDP port). */
typedef struct lv_rtp_rx_stats {
    uint64_t datagrams;       /* given to lv_rtp_push */
    uint64_t malformed;       /* refused by lv_rtp_parse */
    uint64_t streams_refused; /* packets of an SSRC beyond max_streams */
    uint64_t ssrc_changes;    /* streams created after the first one */
} lv_rtp_rx_stats;

typedef struct lv_rtp lv_rtp;

lv_rtp *lv_rtp_create(const lv_rtp_params *p, int *err);
void lv_rtp_destroy(lv_rtp *r); /* NULL: no-op */
/* The payload map of the stream of this SSRC, made now if it has not sent yet. LV_OK,
 * LV_ERR_RTP_STREAMS, or LV_ERR_ARG when the stream already played audio at another rate. */
CQ_NODISCARD int lv_rtp_set_map(lv_rtp *r, uint32_t ssrc, const lv_rtp_map *m) CQ_NONNULL(1, 3);

/* One datagram. Returns 0 (taken, or dropped and counted: duplicate, late, bad rate), 1 when
 * it was the first packet of a new SSRC (a stream made: a new one after the first is an SSRC
 * change, counted), or an lv_err (malformed, or no stream slot left: counted). Whatever it
 * releases goes to on_pcm before it returns. */
int lv_rtp_push(lv_rtp *r, const uint8_t *pkt, size_t n) CQ_NONNULL(1, 2);
/* Play out everything held by every stream (lost packets become silence): at the end of a
 * call, or when the caller's clock says the window passed. */
void lv_rtp_flush(lv_rtp *r) CQ_NONNULL(1);

size_t lv_rtp_stream_count(const lv_rtp *r) CQ_NONNULL(1);
/* Stream i (0 .. count-1), NULL out of range. */
const lv_rtp_stats *lv_rtp_stream_stats(const lv_rtp *r, size_t i) CQ_NONNULL(1);
const lv_rtp_rx_stats *lv_rtp_get_stats(const lv_rtp *r) CQ_NONNULL(1);
const lv_error *lv_rtp_last_error(const lv_rtp *r) CQ_NONNULL(1);

/* A packet into out[0..cap) (the tests' sender): 12-byte header, no CSRC, no extension.
 * Returns its size, 0 when it does not fit or pt > 127. */
size_t lv_rtp_encode(uint8_t *out, size_t cap, unsigned pt, bool marker, uint16_t seq, uint32_t ts,
                     uint32_t ssrc, const uint8_t *payload, size_t len);

/* ---- WebSocket: the handshake ---------------------------------------------------------------- */

#define LV_WS_KEY_MAX 64
#define LV_WS_ACCEPT_LEN 28 /* base64 of a 20-byte SHA-1 */

/* The Upgrade request (RFC 6455 4.2.1), as far as the server needs it. */
typedef struct lv_ws_upgrade {
    char path[512];                    /* the request target, as sent */
    char host[256];                    /* Host */
    char key[LV_WS_KEY_MAX];           /* Sec-WebSocket-Key */
    char accept[LV_WS_ACCEPT_LEN + 1]; /* the Sec-WebSocket-Accept it calls for */
    char protocols[256]; /* Sec-WebSocket-Protocol offered, every header joined by ", " */
    char protocol[64];   /* the one chosen (lv_ws_choose_protocol), "" none */
    char origin[256];    /* Origin, "" when absent */
    size_t header_len;   /* bytes of the request, the empty line included */
} lv_ws_upgrade;

/* Parse an Upgrade request from the start of data[0..n). Returns the request's length (> 0)
 * when it is whole and valid; 0 when its end has not come yet (feed more, from the start);
 * or an lv_err: LV_ERR_HTTP_TOO_BIG when no end came within max_header bytes (1-65536), or
 * what is wrong with it (e optional). Bytes after the request are the first frames. */
int lv_ws_upgrade_parse(const uint8_t *data, size_t n, size_t max_header, lv_ws_upgrade *u,
                        lv_error *e) CQ_NONNULL(1, 4);
/* Sec-WebSocket-Accept of a key: base64(SHA-1(key + RFC 6455's GUID)) into out[29]. */
void lv_ws_accept(const char *key, char out[LV_WS_ACCEPT_LEN + 1]) CQ_NONNULL(1, 2);
/* Choose the first offered subprotocol that is in `accepted` (comma-separated, e.g.
 * "audio.drachtio.org,audiostream.drachtio.org"); true when one was, and u->protocol holds it.
 * False when the client offered none or none of ours (u->protocol ""). */
bool lv_ws_choose_protocol(lv_ws_upgrade *u, const char *accepted) CQ_NONNULL(1, 2);
/* The 101 answer (with Sec-WebSocket-Protocol when one was chosen) into out[0..cap); its length,
 * 0 when it does not fit. */
size_t lv_ws_upgrade_response(const lv_ws_upgrade *u, char *out, size_t cap) CQ_NONNULL(1, 2);
/* The refusal of a bad request: 400, or 426 with Sec-WebSocket-Version: 13 for
 * LV_ERR_HTTP_VERSION, 431 for LV_ERR_HTTP_TOO_BIG; its length, 0 when it does not fit. */
size_t lv_ws_reject_response(int err, char *out, size_t cap) CQ_NONNULL(2);

/* ---- WebSocket: frames ----------------------------------------------------------------------- */

typedef enum lv_ws_op {
    LV_WS_CONT = 0x0,
    LV_WS_TEXT = 0x1,
    LV_WS_BINARY = 0x2,
    LV_WS_CLOSE = 0x8,
    LV_WS_PING = 0x9,
    LV_WS_PONG = 0xA
} lv_ws_op;

/* Close codes (RFC 6455 7.4.1) the server sends. */
#define LV_WS_CLOSE_NORMAL 1000
#define LV_WS_CLOSE_GOING_AWAY 1001
#define LV_WS_CLOSE_PROTOCOL 1002
#define LV_WS_CLOSE_NO_STATUS 1005 /* reported for a close without a code; never sent */
#define LV_WS_CLOSE_BAD_DATA 1007
#define LV_WS_CLOSE_TOO_BIG 1009
#define LV_WS_CLOSE_INTERNAL 1011

typedef struct lv_ws_params {
    size_t max_message; /* bytes of one message after reassembly (1 .. 64 MiB) */
    bool check_utf8;    /* refuse text that is not UTF-8 (RFC 6455 8.1) */
} lv_ws_params;
/* max_message 262144 (about 8 s of 16 kHz mono L16, 4 s stereo), check_utf8 true. */
lv_ws_params lv_ws_default_params(void);

/* One message, whole: a data message reassembled from its fragments, or a control frame. */
typedef struct lv_ws_msg {
    lv_ws_op op;         /* TEXT, BINARY, CLOSE, PING or PONG */
    const uint8_t *data; /* unmasked payload, valid until the next lv_ws_next (NULL if len 0) */
    size_t len;
    uint64_t offset;    /* stream offset of the message's first frame */
    size_t frames;      /* frames it came in */
    bool metadata;      /* TEXT: the connection's first text message, which mod_audio_fork
                           sends before any audio (the metadata given at start) */
    int close_code;     /* CLOSE: the code, LV_WS_CLOSE_NO_STATUS when the frame had none */
    const char *reason; /* CLOSE: its reason (reason_len bytes, not NUL-terminated) */
    size_t reason_len;
} lv_ws_msg;

typedef struct lv_ws_stats {
    uint64_t bytes, frames, messages; /* consumed, frames read, messages handed out */
    uint64_t text, binary, binary_bytes, pings, pongs;
    uint64_t fragmented; /* data messages that came in more than one frame */
} lv_ws_stats;

typedef struct lv_ws_dec lv_ws_dec;

lv_ws_dec *lv_ws_create(const lv_ws_params *p, int *err);
void lv_ws_destroy(lv_ws_dec *d); /* NULL: no-op */
void lv_ws_reset(lv_ws_dec *d);
/* As lv_as_next: 1 with a message in *out, 0 when every byte was taken and no message is whole,
 * or an lv_err (then LV_ERR_FAILED until reset; lv_ws_close_code_for says how to close). After a
 * CLOSE message, more bytes are LV_ERR_WS_CLOSED. Control frames between the fragments of a
 * message are returned as they come. */
CQ_NODISCARD int lv_ws_next(lv_ws_dec *d, const uint8_t *data, size_t n, size_t *used,
                            lv_ws_msg *out) CQ_NONNULL(1, 4, 5);
const lv_ws_stats *lv_ws_get_stats(const lv_ws_dec *d) CQ_NONNULL(1);
const lv_error *lv_ws_last_error(const lv_ws_dec *d) CQ_NONNULL(1);
/* The close code that answers an error: 1009 too big, 1007 bad UTF-8, 1002 otherwise. */
int lv_ws_close_code_for(int err);

/* One frame into out[0..cap): unmasked (mask NULL: the server's) or masked with mask[4] (a
 * client's, for tests). Returns its size, 0 when it does not fit, the opcode is reserved, or a
 * control frame is longer than 125 bytes or not final. */
size_t lv_ws_encode(uint8_t *out, size_t cap, lv_ws_op op, bool fin, const uint8_t *mask,
                    const uint8_t *payload, size_t len);
/* A close frame from the server: code (1000-4999, not 1004-1006, 1015) and a reason (may be
 * NULL, at most 123 bytes); 0 when it does not fit or the code may not be sent. */
size_t lv_ws_encode_close(uint8_t *out, size_t cap, int code, const char *reason);
/* The probe as mod_audio_fork's server sends audio to be played to the caller: one unmasked
 * text frame {"type":"playAudio","data":{"audioContentType":"raw","sampleRate":RATE,
 * "audioContent":BASE64}}, the raw audio 16-bit little-endian. The module writes it to a file
 * and raises mod_audio_fork::play_audio for the dialplan to play. Returns the frame (free() it,
 * *len its bytes), NULL when n is 0 or memory is short. */
uint8_t *lv_ws_play_audio(const int16_t *pcm, size_t n, uint32_t rate_hz, size_t *len)
    CQ_NONNULL(1, 4);

/* ---- remembered announcements (fpstore.c) ---------------------------------------------------- */

/*
 * The fingerprints of hold announcements (cq_classifier_learned) kept per destination, for the
 * next call to the same company (docs/live/hold-slayer.md, "Remembered announcements";
 * docs/privacy.md). A destination is what the call named (mod_audio_fork's metadata, FastAGI's
 * second argument): 1-128 printable ASCII characters, no space. Bounded by destinations,
 * fingerprints per destination and bytes (the least recently used destination and a destination's
 * oldest fingerprint go first); each fingerprint is forgotten retain_days after it was learned. The
 * file is read whole at open and refused whole at the first fault; written whole (mode 0600,
 * renamed into place) when it changed. Thread-safe.
 */
#define LV_FPS_DEST_MAX 128
#define LV_FPS_PER_DEST_MAX 16
typedef struct lv_fps_params {
    const char *path;   /* the file (NULL: in memory only) */
    unsigned max_dests; /* 1-1000000 (2000) */
    unsigned per_dest;  /* 1-16 (8) */
    unsigned max_kib;   /* of fingerprint words in all (16384) */
    double retain_days; /* > 0 (30) */
} lv_fps_params;
lv_fps_params lv_fps_default_params(void);
typedef struct lv_fps lv_fps;
/* A destination callqa will keep: 1-128 bytes of 0x21-0x7e. */
bool lv_fps_dest_ok(const char *s) CQ_NONNULL(1);
/* An empty store (p->path is not read). */
lv_fps *lv_fps_create(const lv_fps_params *p, lv_error *e);
/* The store of p->path, read when it exists (now: Unix seconds, for the retention); NULL with
 * e saying why when it cannot be read or is malformed. */
lv_fps *lv_fps_open(const lv_fps_params *p, double now, lv_error *e);
void lv_fps_destroy(lv_fps *s); /* NULL: no-op */
/* The file's bytes into the store (lv_fps_open; the fuzz harness): LV_OK, or LV_ERR_FPS_FILE
 * with e saying where and why (what was added before the fault stays). */
int lv_fps_parse(lv_fps *s, const uint8_t *data, size_t n, double now, lv_error *e) CQ_NONNULL(1);
/* Each fingerprint kept for dest, handed to fn under the store's lock; how many. */
typedef void (*lv_fps_fn)(void *user, const uint16_t *bits, size_t frames);
size_t lv_fps_get(lv_fps *s, const char *dest, lv_fps_fn fn, void *user) CQ_NONNULL(1, 2, 3);
/* One learned on a call to dest at now (Unix seconds): LV_OK, LV_ERR_ARG (a bad destination or
 * length), LV_ERR_NOMEM. */
int lv_fps_put(lv_fps *s, const char *dest, const uint16_t *bits, size_t frames, double now)
    CQ_NONNULL(1, 2, 3);
void lv_fps_counts(lv_fps *s, size_t *dests, size_t *fingerprints) CQ_NONNULL(1, 2, 3);
/* Written when it changed (expired ones dropped first): LV_OK or LV_ERR_FPS_FILE. */
int lv_fps_save(lv_fps *s, double now, lv_error *e) CQ_NONNULL(1);

/* ---- the server of `callqa live` (server.c, server_*.c): AudioSocket, RTP, WebSocket -------- */

/* One network thread (epoll, non-blocking sockets) reads every input: AudioSocket connections
 * (lv_as), the RTP port (lv_rtp, one receiver per SSRC) and WebSocket connections (lv_ws);
 * audio goes into the call's bounded queue, taken by a bounded pool of analysis threads that
 * run the streaming classifier (Silero VAD or its DSP fallback, cq_classify) per call; event
 * lines go to one writer thread through a bounded queue. Nothing the network thread does waits
 * for analysis or for the events' reader: a full audio queue drops audio (counted on the call's
 * call_end), a full event queue drops lines (counted in the stats). A call is an AudioSocket
 * connection (named by its UUID frame), an RTP SSRC ("rtp-" and its 8 hex digits) or a
 * WebSocket connection (named by its metadata's uuid or callId, else its path); it ends once,
 * with a call_end line giving the reason; every line names its input. docs/live.md. */

/* One event line as the writer hands it to the sink (lv_server_params.on_event), after it has
 * written it to events_fd. Every field is valid during the call only. */
typedef struct lv_event {
    const char *call; /* the call's UUID (8-4-4-4-12); "" for a stats line */
    const char *type; /* "human", "machine", "beep", "dtmf", ..., "call_end", "stats" */
    const char *json; /* the line, without its '\n' */
    size_t len;       /* of json */
    /* a classifier event (type human, machine, ...; else 0 and NULL) */
    int state;         /* a cq_event_state */
    const char *rule;  /* a live decision's rule ("short_then_pause", "long_greeting", ...) */
    double start_sec;  /* the event's start in the call's audio */
    double end_sec;    /* its end (else as start_sec) */
    double at_sec;     /* the call's audio seconds when it was decided */
    double speech_sec; /* a live decision's evidence, as cq_call_event gives it */
    double quiet_sec;
    double reply_sec;   /* hold human by "probe_reply": the probe's end to the reply */
    const char *reason; /* call_end: "hangup", "peer_closed", ...; else NULL */
} lv_event;

/* The sink: called by the writer thread only, one line at a time, in the order of the lines.
 * It runs after the bounded event queue, so a slow sink holds back the writer (and then the
 * queue drops lines, counted) but never the network thread or the audio. */
typedef void (*lv_event_fn)(void *user, const lv_event *ev);
/* More fields for the stats line: append ",\"name\":value..." to buf[0..cap), return the length
 * written (0: none). Called on the network thread: it must not block. */
typedef size_t (*lv_stats_fn)(void *user, char *buf, size_t cap);
/* A call was identified (its name, as on its lines), before any of its lines: on the network
 * thread, so it must not block. */
typedef void (*lv_call_fn)(void *user, const char *name);

typedef struct lv_server_params {
    const char *host;    /* address to listen on ("127.0.0.1", "0.0.0.0", "::") */
    const char *port;    /* TCP port, decimal; "0" picks one (lv_server_port says which) */
    int max_calls;       /* calls at once (1-100000); further connections get an error frame */
    double max_call_sec; /* a call longer than this (wall clock or audio) is ended (> 0) */
    double stall_sec;    /* a connection silent this long is ended, reason "stalled" (> 0) */
    double queue_sec;    /* audio one call may have waiting for analysis (0.1-600 s) */
    double stats_sec;    /* a stats line this often (0: only at the end) */
    int threads;         /* analysis threads (1-256) */
    int live_mode;       /* a cq_live_mode: CQ_LIVE_OFF, _HOLD, _AMD */
    double silence_sec;  /* with a live mode: a silence event from this long (0-3600; 0: none) */
    size_t max_payload;  /* of one AudioSocket frame (lv_as_params) */
    /* The other inputs, beside AudioSocket or instead of it (host NULL: that input is off;
     * at least one of the three must be on). */
    const char *rtp_host;   /* UDP address for RTP (ARI externalMedia); NULL: no RTP */
    const char *rtp_port;   /* UDP port, decimal; "0" picks one (lv_server_input_port) */
    lv_rtp_map rtp_map;     /* payload types of every stream (lv_rtp_default_map) */
    unsigned rtp_window_ms; /* how long a missing packet is waited for (lv_rtp_params) */
    const char *ws_host;    /* TCP address for WebSocket (mod_audio_fork); NULL: none */
    const char *ws_port;    /* TCP port, decimal; "0" picks one */
    uint32_t ws_rate_hz;    /* of a WebSocket call's L16 when its URL does not say (8000,
                               16000) */
    int ws_channels;        /* 1 or 2, likewise */
    size_t ws_max_message;  /* one WebSocket message (lv_ws_params) */
    size_t event_queue;     /* event lines waiting for the writer (16-1000000) */
    int events_fd;          /* where event lines go (stdout, a file); made non-blocking */
    const void *vad_model;  /* a cq_vad_model shared by every call (NULL: the DSP fallback) */
    int vad_batch;          /* calls an analysis thread takes at once, their VAD chunks run as one
                               batch (1-LV_VAD_BATCH_MAX) */
    double batch_wait_sec;  /* how long queued audio may wait for a batch of calls to fill (0-1 s;
                               0: never waits) */
    const char *record_dir; /* each call's audio written here as NAME.wav, with its event lines
                               as NAME.live.jsonl (NULL: not recorded); docs/live.md */
    bool mask_digits;       /* keyed digits as '*' in the event lines, and DTMF muted in the
                               recordings (written REC_DELAY_SEC late for it) */
    const int16_t *probe;   /* hold mode: the probe played back into a call that can take it
                               (AudioSocket and RTP at 8 kHz, the WebSocket as playAudio),
                               8 kHz samples the caller keeps for the
                               server's life (NULL: none, the passive rules; docs/live.md) */
    size_t probe_len;       /* its samples (at most 10 s) */
    lv_fps *announce;       /* hold mode: the announcements remembered per destination (NULL:
                               those of each call only; docs/live.md); the caller's, saved by
                               it, kept for the server's life */
    lv_event_fn on_event;   /* the event sink (NULL: none); see lv_event_fn */
    lv_stats_fn on_stats;   /* more fields for the stats line (NULL: none) */
    lv_call_fn on_call;     /* each call as it is identified (NULL: none) */
    void *user;             /* handed to on_event, on_stats and on_call */

    /* Connections that have not yet identified their call (an AudioSocket connection before
     * its UUID frame, a WebSocket one before its Upgrade and first message) wait in a pool of
     * their own, apart from max_calls (docs/live/connections.md, "Connections that send
     * nothing"): */
    double ident_sec;           /* one is closed when it has not identified within this of its
                                   accept (0.1-3600 s), whatever it sent meanwhile */
    int max_pending;            /* at most this many wait (1-100000); beyond it the oldest is
                                   closed (after one last read of what it sent) */
    int max_pending_per_client; /* at most this many from one address (1-max_pending); beyond
                                   it that address's oldest is closed likewise */
    /* An RTP SSRC has no frame that names its call: it is not a call until it has shown it is
     * a stream (LV_RTP_IDENT_PACKETS packets in sequence, of one audio payload type, their
     * timestamps moving with their sequence numbers; server_rtp.c). Until then it waits in a pool
     * of its own, apart from max_calls, for ident_sec from its first packet at most, its
     * datagrams kept (the newest 8, 4 KiB each at most) and played into its call once it is
     * one; UDP source addresses can be forged, so the pool has no share per address. */
    int rtp_max_pending; /* SSRCs waiting at most (1-100000), and their datagrams at most this
                            many KiB (64 at least); beyond either, of those that have shown the
                            fewest packets in sequence the oldest is dropped */
} lv_server_params;

/* The default probe (docs/live/hold-slayer.md, "Asking the line"): a WAV of "Hello?" espeak-ng made
 * at build time (cmake/embed_probe.cmake); NULL with *len 0 when the build had no espeak-ng. */
const unsigned char *lv_default_probe(size_t *len);

/* The probe of `callqa live --probe SPEC` (probe.c): "default" (lv_default_probe) or a WAV (any
 * file cq_audio_open reads) of at most 10 s, both channels mixed, at 8 kHz, its silence before
 * and after trimmed but for 20 ms (below -40 dBFS), as 16-bit samples: *pcm (the caller frees
 * it) of *n, for lv_server_params.probe. LV_OK; or LV_ERR_ARG (the file cannot be read, is
 * longer than 10 s, holds no audio, or is silent; "default" in a build without one) or
 * LV_ERR_NOMEM, with e saying why (*pcm NULL). */
CQ_NODISCARD int lv_probe_load(const char *spec, int16_t **pcm, size_t *n, lv_error *e)
    CQ_NONNULL(1, 2, 3, 4);

#define LV_RTP_IDENT_PACKETS 5 /* packets in sequence that make an SSRC a stream (server_rtp.c) */

#define LV_VAD_BATCH_MAX 256

/* 127.0.0.1, port 9092, 64 calls, 4 h, 10 s stalled, 5 s queued, stats every 10 s, threads:
 * the CPUs this process may use, no live decisions, max_payload 16384, 65536 lines, fd 1;
 * RTP and WebSocket off (their hosts NULL), ports "0", the default RTP map, a 60 ms window,
 * WebSocket 8000 Hz mono, 262144-byte messages; VAD batches of up to 32 calls, waiting at most
 * 10 ms for a batch to fill; no recordings, digits shown; no sink; 5 s to identify a call,
 * 1024 connections waiting to, 128 of them from one address; 16384 RTP SSRCs waiting to (16 MiB
 * of their datagrams). */
lv_server_params lv_server_default_params(void);

/* The inputs a call can come in on (named on its event lines: "audiosocket", "rtp",
 * "websocket"). */
typedef enum lv_input { LV_INPUT_AUDIOSOCKET = 0, LV_INPUT_RTP, LV_INPUT_WEBSOCKET } lv_input;

/* The connections of a server that have not yet said which call they carry: the pool they wait
 * in (docs/live/connections.md, "Connections that send nothing"). */
typedef struct lv_pending_stats {
    uint64_t waiting; /* connections now waiting to identify their call */
    uint64_t timeout; /* closed: not identified within ident_sec */
    uint64_t evicted; /* closed: the oldest waiting when the pool (or its address's share) was
                         full */
} lv_pending_stats;

typedef struct lv_server_stats {
    uint64_t accepted;       /* connections accepted */
    uint64_t calls;          /* of them, calls (a UUID came first) */
    uint64_t refused_full;   /* refused: max_calls reached */
    uint64_t refused_uuid;   /* refused: the first frame was not a UUID (or none came) */
    uint64_t active;         /* calls now */
    uint64_t events;         /* event lines queued */
    uint64_t events_dropped; /* event lines dropped: the writer's queue was full */
    uint64_t audio_dropped;  /* samples dropped: a call's analysis was behind */
    uint64_t rtp_datagrams;  /* UDP datagrams received on the RTP port */
    uint64_t rtp_malformed;  /* of them, not RTP (lv_rtp_parse refused them), or RTCP */
    uint64_t rtp_refused;    /* packets of an SSRC that showed it is a stream while max_calls
                                calls were open: dropped (it waits again) */
    uint64_t rtp_after_end;  /* packets of an SSRC whose call had ended: ignored */
    uint64_t ws_refused;     /* WebSocket connections that never became a call: a bad Upgrade
                                request, max_calls reached, or closed before any message */
    lv_pending_stats ident;  /* connections waiting to identify their call (a UUID) */
    uint64_t rtp_pending;    /* RTP SSRCs now waiting to show they are a stream */
    uint64_t rtp_timeout;    /* SSRCs dropped: no stream within ident_sec of its first packet */
    uint64_t rtp_evicted;    /* SSRCs dropped: the pool was full (rtp_max_pending) */
    uint64_t rtp_dropped;    /* datagrams of waiting SSRCs never played into a call: those the
                                dropped ones kept, a sequence number kept already, past the
                                newest 8, over 4 KiB */
} lv_server_stats;

typedef struct lv_server lv_server;

/* Listen (the fd soft limit raised toward the hard one). NULL on failure, with err: a parameter
 * outside its range named with its value (CQ_ERR_RANGE, "max_calls 0: out of range 1..100000"),
 * no input (CQ_ERR_INVALID), an address that cannot be listened on or a folder that cannot be
 * opened (CQ_ERR_IO), memory or threads (CQ_ERR_NOMEM). */
lv_server *lv_server_create(const lv_server_params *p, cq_err *err) CQ_NONNULL(1);
/* The port listened on: AudioSocket's (0 when it is off). */
int lv_server_port(const lv_server *s) CQ_NONNULL(1);
/* The port of one input, 0 when that input is off. */
int lv_server_input_port(const lv_server *s, lv_input in) CQ_NONNULL(1);
/* Serve until lv_server_stop: then stop accepting, end every call ("shutdown"), let analysis
 * finish, flush the events (at most a few seconds to a stalled reader) and return LV_OK. */
int lv_server_run(lv_server *s) CQ_NONNULL(1);
/* Async-signal-safe: ask lv_server_run to return. */
void lv_server_stop(lv_server *s);
/* FastAGI named the destination of the call `name` (the UUID): the call's
 * announcements are read and kept under it (announce set; the latest 1024 are waited for). Any
 * thread. */
void lv_server_destination(lv_server *s, const char *name, const char *dest) CQ_NONNULL(1, 2, 3);
void lv_server_get_stats(lv_server *s, lv_server_stats *out) CQ_NONNULL(1, 2);
void lv_server_destroy(lv_server *s); /* after run returned; NULL: no-op */

/* ---- FastAGI: what Asterisk sends (fastagi.c) ------------------------------------------------ */

/* Asterisk connects to agi://HOST:PORT/SCRIPT, sends the channel's environment, one
 * "agi_<name>: <value>" line each (agi_network_script: SCRIPT, agi_arg_1 ...: the arguments),
 * an empty line, and then answers each command line the server sends with one line:
 * "200 result=<n> [data]", "510 Invalid or unknown command", "511 Command Not Permitted on a
 * dead channel ...", or a usage text "520-..." lines ... "520 End of proper usage."; when the
 * channel hangs up it may send "HANGUP" (docs/live/amd.md, "FastAGI"). Lines end in "\n" (a "\r"
 * before it is dropped). The decoder is bounded like the others: one line buffer of max_line. */

typedef enum lv_agi_kind {
    LV_AGI_VAR = 1,     /* an environment line: name ("agi_arg_1"), value */
    LV_AGI_ENV_END = 2, /* the empty line after the environment */
    LV_AGI_REPLY = 3,   /* a reply to a command: code, result, data */
    LV_AGI_HANGUP = 4   /* "HANGUP": the channel hung up */
} lv_agi_kind;

typedef struct lv_agi_params {
    size_t max_line; /* bytes of one line, its end excluded (16-65536) */
    size_t max_vars; /* environment lines, and lines of one usage text (1-4096) */
} lv_agi_params;
/* max_line 2048, max_vars 256. */
lv_agi_params lv_agi_default_params(void);

/* One line's meaning. Strings are the decoder's, NUL-terminated, valid until the next call. */
typedef struct lv_agi_msg {
    lv_agi_kind kind;
    uint64_t offset;   /* stream offset of the line (of a usage text: its first line) */
    const char *name;  /* VAR: "agi_<name>" ([a-z0-9_]) */
    const char *value; /* VAR: the rest after ": " (may be empty) */
    int code;          /* REPLY: 100-599 */
    bool has_result;   /* REPLY: "result=<n>" came (always for 200) */
    long result;       /* REPLY: n */
    const char *data;  /* REPLY: the text after the code, or after result=<n> ("" none) */
} lv_agi_msg;

typedef struct lv_agi_dec lv_agi_dec;

lv_agi_dec *lv_agi_create(const lv_agi_params *p, int *err);
void lv_agi_destroy(lv_agi_dec *d); /* NULL: no-op */
void lv_agi_reset(lv_agi_dec *d);
/* As lv_as_next: 1 with one line's meaning in *out, 0 when every byte was taken and no line is
 * whole, or an lv_err (LV_ERR_FAILED after it until reset). */
CQ_NODISCARD int lv_agi_next(lv_agi_dec *d, const uint8_t *data, size_t n, size_t *used,
                             lv_agi_msg *out) CQ_NONNULL(1, 4, 5);
const lv_error *lv_agi_last_error(const lv_agi_dec *d) CQ_NONNULL(1);
/* True while the environment is being read (before its empty line). */
bool lv_agi_in_env(const lv_agi_dec *d) CQ_NONNULL(1);
/* Lines consumed. */
uint64_t lv_agi_lines(const lv_agi_dec *d) CQ_NONNULL(1);

/* The command `SET VARIABLE <name> <value>\n`, the value in double quotes when quote is true
 * (unquoted it must be one word, not empty), into out[0..cap) NUL-terminated: name of
 * [A-Za-z0-9_] (1-64), value without '"', '\\' or control bytes (at most 256 bytes). Its
 * length, 0 when it does not fit or breaks those rules. */
size_t lv_agi_set_variable(char *out, size_t cap, const char *name, const char *value, bool quote);

/* ---- the FastAGI answer of AMD decisions (agi_server.c) ---------------------------------------
 */

/* A server for AGI(agi://HOST:PORT/amd,<UUID>): it reads the environment, takes agi_arg_1 as the
 * UUID of a call that AudioSocket brings to lv_server, waits for that call's live decision
 * (human, machine) and answers as Asterisk's AMD() sets its variables: SET VARIABLE AMDSTATUS
 * HUMAN|MACHINE|NOTSURE|HANGUP, then SET VARIABLE AMDCAUSE "<cause>", each acknowledged with
 * "200 result=1", then it closes (the dialplan goes on). No decision within timeout_sec:
 * NOTSURE, TOOLONG-<ms>; the call ended (call_end) with none: HANGUP. Decisions reach it through
 * lv_agi_server_event, the lv_server's sink (any thread), and the calls as they are identified
 * through lv_agi_server_call; it runs one thread of its own, poll over non-blocking sockets.
 * Decisions are remembered for the last max_decisions calls, so the AGI connection may come
 * before or after the call's decision. When the max_conns requests are taken, a request whose
 * call has not been identified (yet) is closed to make room, the longest-waiting first, and one
 * address holds at most max_conns / 2 of those (agi_server.c; docs/live.md). */

typedef struct lv_agi_server_params {
    const char *host, *port; /* as lv_server_params; port "0" picks one */
    const char *script;      /* agi_network_script it answers ("amd"); another is refused */
    bool hold;               /* the hold-slayer's answer: HOLDSTATUS HUMAN|ENDED|NOTSURE|HANGUP
                                and HOLDCAUSE from the `--live hold` decisions (agi_server.c) */
    int max_conns;           /* AGI requests at once, their environment read (1-100000) */
    double timeout_sec;      /* wait for a decision (0.05-14400 s); then NOTSURE */
    double io_sec;           /* each reply must come within this (> 0) */
    size_t max_decisions;    /* calls remembered (16-1000000) */

    /* Connections whose environment is not whole yet wait in a pool of their own, apart from
     * max_conns, as lv_server_params's (the same meanings and bounds): */
    double ident_sec;           /* the whole environment must come within this of the accept */
    int max_pending;            /* waiting at most; beyond it the oldest is closed */
    int max_pending_per_client; /* from one address at most; beyond it its oldest is closed */

    /* AGI(agi://HOST:PORT/hold,UUID,DEST): the destination the call was made to, for its
     * remembered announcements (lv_fps_dest_ok; another agi_arg_2 is ignored), handed over once
     * the environment is whole, from the server's thread (NULL: not wanted). */
    void (*on_destination)(void *user, const char *uuid, const char *dest);
    void *user;
} lv_agi_server_params;
/* 127.0.0.1, port 4573, script "amd", 256 connections, 5 s (AMD()'s totalAnalysisTime 5000 ms),
 * io 10 s, 4096 calls; 5 s for the environment, 1024 connections waiting for it, 128 of them
 * from one address. */
lv_agi_server_params lv_agi_server_default_params(void);

typedef struct lv_agi_server_stats {
    uint64_t accepted;                        /* connections */
    uint64_t human, machine, notsure, hangup; /* answers sent and acknowledged */
    uint64_t ended;                           /* hold: ENDED answers */
    uint64_t refused;         /* over max_conns, a wrong script, no UUID in agi_arg_1 */
    uint64_t failed;          /* malformed lines, a reply not 200 or not in time, a vanished peer */
    uint64_t agi_hangup;      /* the channel hung up (HANGUP) before the answer was taken */
    lv_pending_stats ident;   /* connections waiting for their whole environment */
    uint64_t unknown;         /* requests now waiting whose call is not known (agi_server.c) */
    uint64_t unknown_evicted; /* such requests closed to make room for another request */
} lv_agi_server_stats;

typedef struct lv_agi_server lv_agi_server;

/* Listen, and start the server's thread. NULL with e->msg on failure. */
lv_agi_server *lv_agi_server_create(const lv_agi_server_params *p, lv_error *e) CQ_NONNULL(1);
int lv_agi_server_port(const lv_agi_server *s) CQ_NONNULL(1);
/* The sink: remembers a call's first human or machine decision, and its end. Never blocks for
 * long (one short lock). Other events are ignored. */
void lv_agi_server_event(lv_agi_server *s, const lv_event *ev) CQ_NONNULL(1, 2);
/* A call lv_server has identified (its name; lv_server_params.on_call): requests that name it are
 * known, never closed to make room for others. Any thread; one short lock. */
void lv_agi_server_call(lv_agi_server *s, const char *name) CQ_NONNULL(1, 2);
void lv_agi_server_get_stats(lv_agi_server *s, lv_agi_server_stats *out) CQ_NONNULL(1, 2);
/* The counts as stats-line fields (",\"agi_human\":..."), for lv_server_params.on_stats. */
size_t lv_agi_server_stats_fields(lv_agi_server *s, char *buf, size_t cap) CQ_NONNULL(1, 2);
/* Stop the thread, answer nothing more, close every connection. NULL: no-op. */
void lv_agi_server_destroy(lv_agi_server *s);

/* ---- the follower of the event lines (follow.c) -----------------------------------------------
 * The other end of `callqa live --events FILE` (docs/live/server.md, "Event lines"), for the
 * service's /api/live routes: one thread reads the file four times a second from where it left off
 * (at start from its last LV_FOLLOW_BACKLOG bytes, so that the calls in progress are known at once;
 * a file not there yet is waited for, a truncated one read again from its start, a rotated one
 * (another inode under the name) read from its start once the old one is read to its end), and
 * applies each line to a bounded state: the active calls, the recently ended ones, the recent
 * events (a ring, numbered on from the process's start time x 10^6, so that an id of an earlier
 * process is told apart), the last stats line and the counts. A line longer than
 * LV_FOLLOW_MAX_LINE, not a JSON object, or whose call is not a printable id of at most
 * LV_FOLLOW_CALL_MAX bytes, is counted and skipped; fields it does not know are kept as they are
 * in the events; a line is masked on the way in when asked, so no unmasked digit is held. Each
 * event goes to the sink as it is applied. */
#define LV_FOLLOW_MAX_CALLS 2048    /* active calls held; more are counted, not held */
#define LV_FOLLOW_ENDED 64          /* recently ended calls kept */
#define LV_FOLLOW_RING 2048         /* recent events kept (for resuming streams) */
#define LV_FOLLOW_MAX_LINE 16384    /* bytes of one line; longer ones are skipped */
#define LV_FOLLOW_CALL_MAX 128      /* bytes of a call id */
#define LV_FOLLOW_BACKLOG (1 << 20) /* bytes read back at start */
#define LV_FOLLOW_STALE_SEC 3600.0  /* an active call without a line this long is dropped */
#define LV_FOLLOW_TEXT 32           /* bytes of a type, state, source, reason or wall kept */

typedef struct lv_follow_call {
    char id[LV_FOLLOW_CALL_MAX + 1];
    char source[LV_FOLLOW_TEXT], started[LV_FOLLOW_TEXT], last_wall[LV_FOLLOW_TEXT];
    char last_type[LV_FOLLOW_TEXT], last_state[LV_FOLLOW_TEXT], decision[LV_FOLLOW_TEXT];
    char reason[LV_FOLLOW_TEXT], ended[LV_FOLLOW_TEXT]; /* call_end's */
    bool beep;
    char rule[LV_FOLLOW_TEXT]; /* the decision's rule ("" none) */
    bool replied;              /* the decision was a reply to the probe: reply_sec after it */
    double reply_sec;
    double seen; /* monotonic s of its last line */
    double call_sec, audio_sec;
    int64_t events, dtmf;
    int64_t probes; /* hold mode's probes sent into the call */
} lv_follow_call;

typedef struct lv_follow_event {
    uint64_t id;
    char call[LV_FOLLOW_CALL_MAX + 1];
    char *data; /* the line as served (compact JSON, masked when asked) */
} lv_follow_event;

/* What the follower holds, read under its lock (lv_follow_read). */
typedef struct lv_follow_state {
    bool open;          /* the file is open */
    bool mask;          /* lines are masked on the way in */
    int64_t size, done; /* the file's size when last looked at, and the bytes read of it */
    char last_wall[LV_FOLLOW_TEXT]; /* the "wall" of the last line read ("": none) */
    lv_follow_call *calls;          /* the active ones, n_calls of them */
    int n_calls;
    lv_follow_call ended[LV_FOLLOW_ENDED]; /* a ring: the latest at ended_next - 1 */
    int n_ended, ended_next;
    lv_follow_event ring[LV_FOLLOW_RING]; /* event id i at ring[i % LV_FOLLOW_RING] */
    uint64_t base;    /* this process's ids start after it: its start (Unix s) x 10^6 */
    uint64_t next_id; /* the next event's id */
    char *stats;      /* the last stats line (compact JSON) or NULL */
    int64_t lines, bad_lines, long_lines, calls_over, truncations, rotations, stale;
} lv_follow_state;

/* Where the events go: each function is called on the follower's thread, under its lock (so an
 * lv_follow_read callback sees no event between two of its own reads), and may be NULL. */
typedef struct lv_follow_sink {
    void (*event)(void *arg, const lv_follow_event *e); /* one event, in the order of its id */
    void (*read)(void *arg);   /* a block of the file was read: its events were handed over */
    void (*tick)(void *arg);   /* a look at the file is done (four a second) */
    bool (*behind)(void *arg); /* a reader is more than half its bound behind: the follower lets
                                  it drain (up to 20 ms) before the next block of a burst */
    void *arg;
} lv_follow_sink;

struct json_t;
typedef struct lv_follow_params {
    const char *path; /* the file `callqa live --events` writes (copied) */
    /* mask an event's object in place (keyed digits and whatever quotes them): 0, or -1 (the
     * line is not kept); NULL: lines are kept as they are */
    int (*mask)(struct json_t *o, void *arg);
    void *mask_arg;
    lv_follow_sink sink;
} lv_follow_params;

typedef struct lv_follow lv_follow;
/* Start following (a thread of its own): NULL when out of memory or no thread started. */
lv_follow *lv_follow_start(const lv_follow_params *p) CQ_NONNULL(1);
/* Stop the thread (waits for it). NULL: no-op. */
void lv_follow_stop(lv_follow *f);
/* Free, after lv_follow_stop. NULL: no-op. */
void lv_follow_free(lv_follow *f);
/* Call fn with the state, under the follower's lock (keep it short: the follower waits). */
void lv_follow_read(lv_follow *f, void (*fn)(void *arg, const lv_follow_state *st), void *arg)
    CQ_NONNULL(1, 2);
/* Whether s is a call id of the lines: 1 to LV_FOLLOW_CALL_MAX bytes, printable ASCII without
 * space. */
bool lv_follow_call_id(const char *s) CQ_NONNULL(1);
/* An ISO 8601 UTC time (what the lines' "wall" holds) as Unix seconds; -1 when it is not one. */
double lv_follow_wall_sec(const char *w) CQ_NONNULL(1);

/* ---- HEP: a collector of calls (hep_server.c) ----------------------------------------------- */

/* `callqa sip --hep HOST:PORT`: HEP from PBXs and proxies (UDP: HEP3, versions 1 and 2; TCP:
 * HEP3), each packet filed with its call (a SIP message's Call-ID, else the correlation id of
 * an open call), each call with an INVITE written, when it ends, as a capture of its own in dir
 * (docs/hep.md). Senders: the allow list's addresses only, and the key's holders when a key is
 * set. One thread; the memory is bounded (call_kib a call, max_kib in all, max_calls,
 * max_conns), and the folder (dir_max_mb). */
typedef struct lv_hep_call {
    const char *path, *file; /* the capture written: its path, its name in dir */
    const char *call_id;     /* as it came: any bytes but NUL */
    int64_t first_sec;       /* its first packet's arrival, the collector's clock, epoch seconds */
    double open_sec;         /* from its first packet to its last, as received */
    uint32_t packets, dropped; /* kept; dropped over call_kib or max_kib */
    const char *closed;        /* "bye", "cancel", "rejected", "idle", "silent", "max_call", "full",
                                  "memory", "shutdown" */
} lv_hep_call;

typedef struct lv_hep_params {
    const char *host, *port; /* UDP and TCP on one port ("0": any, the same for both) */
    const char *dir;         /* the folder the captures are written to */
    const char *allow;       /* "ADDR[/BITS],...": the senders allowed; NULL or "": loopback */
    const char *key;         /* the key every packet must carry (HEP3 chunk 14); NULL: none */
    double idle_sec;         /* a call never answered, silent this long, is written (300) */
    double silent_sec;       /* an answered call, silent this long, is written (3600) */
    double max_call_sec;     /* a call open this long is written (14400) */
    int max_calls;           /* open at once (10000): a new one past it has the call silent
                                longest written to make room, counted */
    int call_kib;            /* kept a call (1024): more of it dropped, counted */
    int max_kib;             /* kept in all (262144): past it the call silent longest is written
                                early */
    int max_conns;           /* TCP connections at once (256): a new one past it has the one
                                that has sent no whole packet for longest closed, else it is
                                refused */
    int max_conns_per_addr;  /* connections of one address that have sent no whole packet yet
                                (32): past it that address's oldest of them is closed */
    double conn_first_sec;   /* a connection that has sent no whole packet this long after its
                                accept is closed (30) */
    double conn_idle_sec;    /* a connection that has sent no whole packet this long is
                                closed (300) */
    int64_t dir_max_mb;      /* the folder's files at most this many MiB (10240): a capture
                                that would pass it is not written, counted and said */
    /* called on the run thread: a call written; a capture that could not be written; the first
     * packet (or connection) of a sender the allow list refuses (its address as text; once a
     * sender, for the first 64 senders; NULL: only counted) */
    void (*on_call)(void *user, const lv_hep_call *c);
    void (*on_error)(void *user, const char *why);
    void (*on_refused)(void *user, const char *addr);
    void *user;
} lv_hep_params;

lv_hep_params lv_hep_defaults(void);
/* The 64-bit FNV-1a of a Call-ID: the HASH of the file a call is written to. */
uint64_t lv_hep_call_hash(const char *call_id, size_t n);

typedef struct lv_hep_stats {
    uint64_t datagrams, tcp_packets, accepted; /* UDP datagrams, HEP3 packets over TCP, conns */
    uint64_t packets;                          /* kept with their call */
    uint64_t refused_addr;  /* datagrams and connections from addresses not allowed */
    uint64_t refused_key;   /* packets without the key */
    uint64_t bad;           /* not HEP (a TCP connection that sent it is closed) */
    uint64_t too_big;       /* too long to be written as one datagram */
    uint64_t unfiled;       /* of no call: no Call-ID, or a correlation id of no open call */
    uint64_t closed_full;   /* calls written early to make room for a new one: max_calls */
    uint64_t dropped;       /* packets past call_kib or max_kib */
    uint64_t closed_memory; /* calls written early: max_kib reached */
    uint64_t calls_written, not_calls, write_errors;
    uint64_t skipped_disk;  /* calls not written: the folder at dir_max_mb */
    uint64_t conns_refused; /* connections refused: max_conns, every one has sent a packet */
    uint64_t conns_idle;    /* closed: conn_idle_sec without a whole packet */
    uint64_t conns_first;   /* closed: no whole packet within conn_first_sec of the accept */
    uint64_t conns_evicted; /* closed before their first whole packet: max_conns or
                               max_conns_per_addr reached */
    uint64_t open_calls, kept_kib, conns; /* now */
    uint64_t dir_mb;                      /* the folder's files, MiB, as last counted */
} lv_hep_stats;

typedef struct lv_hep lv_hep;

/* Listen on UDP and TCP. NULL with err: a parameter out of its range (named), no address or
 * folder (CQ_ERR_INVALID), a bad allow list, a folder or an address that cannot be opened
 * (CQ_ERR_IO). */
lv_hep *lv_hep_create(const lv_hep_params *p, cq_err *err) CQ_NONNULL(1);
int lv_hep_port(const lv_hep *s, bool tcp) CQ_NONNULL(1);
/* Collect until lv_hep_stop; then write every open call ("shutdown") and return LV_OK. */
int lv_hep_run(lv_hep *s) CQ_NONNULL(1);
void lv_hep_stop(lv_hep *s); /* async-signal-safe */
void lv_hep_get_stats(const lv_hep *s, lv_hep_stats *out) CQ_NONNULL(1, 2);
void lv_hep_destroy(lv_hep *s); /* NULL: no-op */

#endif /* CQ_LIVE_H */
