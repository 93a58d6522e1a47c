/*
 * server.c - `callqa live`: the server of live calls over its three inputs (AudioSocket over TCP,
 * RTP over UDP, WebSocket over TCP), their call sessions, the pool of analysis threads and the
 * writer of event lines (live.h, "the server of `callqa live`"; docs/live.md, "callqa live").
 *
 * Three kinds of thread, and what each may wait for:
 *   network   (the caller of lv_server_run) epoll over the listening sockets, the RTP socket,
 *             a wake-up eventfd and every connection, all non-blocking; it feeds each
 *             connection's bytes to its decoder (lv_as, lv_ws), each datagram to the receiver
 *             of its SSRC (lv_rtp), and copies audio into the call's ring. It takes short
 *             locks only (a call's ring, the run queue, the event queue) and never waits for
 *             analysis or for the reader of the events: a full ring drops audio, a full event
 *             queue drops lines, both counted.
 *   analysis  `threads` of them take calls with work from the run queue (one thread per call
 *             at a time, at most about a second of audio per turn, then back to the tail), run
 *             VAD and the streaming classifier and queue the event lines; the one that finds a
 *             call ended with its ring empty finishes it and writes its call_end.
 *   writer    takes lines from the event queue and writes them to events_fd (non-blocking, with
 *             poll), then hands each to the sink (on_event) if there is one; at shutdown it
 *             is given a few seconds to flush a stalled reader.
 * A call is shared by the network thread and the analysis side with a count of two references;
 * the last to let go frees it. The server's `active` count is the calls not yet freed.
 *
 * Inputs. Every call, whatever its input, is a `call` on the network thread's list, with the
 * same ring, clocks and end. AudioSocket and WebSocket calls are connections (fd); an RTP call
 * is an SSRC on the one UDP socket, found through a hash of SSRCs, with its own lv_rtp receiver
 * (one stream). An RTP stream has no connection to close: when its call ends over max_duration
 * or on an error, its SSRC is kept in a small table of ended streams while it keeps sending, so
 * that its packets are ignored and counted, not taken for a new call; after an SSRC change the
 * old SSRC is kept a moment, for its late packets. A stream that stalled and comes back is a new
 * call.
 *
 * RTP streams before their call. A datagram names no call, and anyone who can reach the port can
 * send one with any SSRC and any source address. So a new SSRC is not a call until it has shown
 * it is a stream: LV_RTP_IDENT_PACKETS (5) packets, each at most RTP_IDENT_GAP sequence numbers
 * ahead of the last that counted, of the same audio payload type, its timestamp ahead by at most
 * RTP_IDENT_SAMPLES per sequence number (a packet that does not follow starts the count again
 * from itself, as RFC 3550 A.1's probation does). Until then it waits in a pool of its own
 * (rpend), apart from max_calls: its datagrams are kept (the newest RTP_KEEP, RTP_KEEP_DGRAM
 * bytes each at most) and played into its receiver, in the order they came, once it is a call,
 * so its call's audio is what it would have been; it is dropped ident_sec after its first
 * packet; when the pool holds rtp_max_pending SSRCs, or as many KiB of datagrams, the oldest of
 * those that have shown the fewest packets in sequence is dropped, never the new datagram. A
 * made-up SSRC's one packet, re-sent as often as anyone likes, so never takes a call's place,
 * and never ends an open call as an SSRC change either (that waits for the new stream too).
 *
 * Connections before their call. An AudioSocket or WebSocket connection is not a call until it
 * has identified one (the UUID frame; the Upgrade and a first message): until then it waits on
 * the pending list, apart from max_calls, for ident_sec from its accept at most, whatever it
 * sends meanwhile; a new connection when max_pending wait (or max_pending_per_client from its
 * address) closes the oldest of them that has sent nothing (else the oldest) after one last read
 * of what it sent. So connections that send nothing, or a byte now and then, never take a call's
 * place, and a PBX's call, which identifies as it connects, is closed only if
 * max_pending_per_client newer connections from its address that have sent bytes come before its
 * identification does (docs/live.md, "Connections that send nothing").
 * max_calls is checked at the accept and again when the call is identified.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_classify.h"
#include "callqa/cq_clock.h"
#include "callqa/cq_resample.h"
#include "callqa/cq_vad.h"
#include "live_int.h"

#define TURN_SAMPLES 4096 /* input samples an analysis thread takes from a ring at once */
#define RS_CAP (TURN_SAMPLES + 1024)
#define Q8_CAP (RS_CAP + CQ_CLASSIFY_FRAME) /* a take at 8 kHz and a chunk's remainder */
#define REC_DELAY_SEC 1.0  /* with mask_digits: how long samples wait before they are written */
#define MUTE_GUARD_SEC 0.1 /* muted before and after each DTMF digit's span */
#define MUTE_MAX 16        /* spans to mute a call keeps; an older one is merged into the next */
#define EARLY_MAX 16384    /* bytes of a call's lines kept until its recording opens */
#define ST_CAP 64          /* arrival stamps of the frames a call has queued */
#define LAT_BUCKETS 1001   /* the frames' waits in 1 ms buckets; the last is 1 s and more */
#define LINE_MAX 2048      /* a line (a stats line with every counter is 885 bytes at 0) */
#define READ_BUF 65536
#define NAME_MAX_LEN 100   /* bytes of a call's name taken from the peer (WebSocket) */
#define WS_HEADER_MAX 8192 /* bytes of a WebSocket Upgrade request */
#define RTP_BATCH 256      /* datagrams read per readiness event */
#define ACCEPT_BATCH 64    /* connections accepted per readiness event */
#define TOMBS 1024         /* ended RTP streams remembered */
/* RTP SSRCs before their call (the pool's rules above): a packet that counts is at most
 * RTP_IDENT_GAP sequence numbers ahead of the last that did, its timestamp at most
 * RTP_IDENT_SAMPLES ahead per number (lv_rtp's largest packet, 40 ms at 48 kHz); a waiting SSRC
 * keeps its newest RTP_KEEP datagrams, of RTP_KEEP_DGRAM bytes at most (1920 L16 samples, 15
 * CSRCs and a 170-byte extension fit); the pool's datagrams take rtp_max_pending KiB at most,
 * and RTP_POOL_MIN_KIB are always allowed. */
#define RTP_IDENT_GAP 16
#define RTP_IDENT_SAMPLES 1920
#define RTP_KEEP 8
#define RTP_KEEP_DGRAM 4096
#define RTP_POOL_MIN_KIB 64
#define PROBE_FRAME_MAX 960 /* samples of the probe sent beside one received frame (120 ms) */
#define DEST_RING 1024      /* destinations named by FastAGI waiting for their call */

typedef enum end_reason {
    R_NONE = 0,
    R_HANGUP,
    R_PEER_CLOSED,
    R_MAX_DURATION,
    R_STALLED,
    R_ERROR,
    R_SHUTDOWN,
    R_SSRC_CHANGE,
    /* the ends of a connection that never identified its call (no call_end) */
    R_FULL,          /* identified with max_calls reached */
    R_IDENT_TIMEOUT, /* not identified within ident_sec */
    R_EVICTED        /* the oldest waiting when the pool or its address's share was full */
} end_reason;
static const char *const k_reason[] = {"",        "hangup",        "peer_closed", "max_duration",
                                       "stalled", "error",         "shutdown",    "ssrc_change",
                                       "full",    "ident_timeout", "evicted"};
static const char *const k_input[] = {"audiosocket", "rtp", "websocket"};

typedef struct call call;
typedef struct worker worker;

/* An RTP SSRC that has not yet shown it is a stream (network thread only). */
typedef struct rpend rpend;
struct rpend {
    uint32_t ssrc;
    uint8_t shown; /* packets counted in sequence (0 .. LV_RTP_IDENT_PACKETS - 1) */
    uint8_t pt;    /* the payload type of those */
    uint16_t seq;  /* the last counted packet's sequence number and timestamp */
    uint32_t ts;
    double t_first; /* its first packet (monotonic) */
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } src; /* where its first packet came from */
    socklen_t src_len;
    rpend *hnext;         /* the pool's hash chain */
    rpend *aprev, *anext; /* every waiting SSRC, by first packet (ident_sec) */
    rpend *lprev, *lnext; /* those that have shown as many packets, by when they did (room) */
    uint8_t *kept;        /* the datagrams kept, each a 2-byte length (big-endian) and its bytes */
    size_t kept_len, kept_cap;
    unsigned nkept;
};
struct call {
    lv_server *srv;
    /* network thread only */
    lv_input input;
    bool open; /* on the network thread's list, not ended yet */
    int fd;    /* AudioSocket, WebSocket: the connection; RTP: -1 */
    lv_as_dec *dec;
    bool named;          /* a call: named, and the analysis side holds a reference */
    bool pending;        /* a connection that has not identified its call yet: on the
                            pending list, not counted against max_calls */
    call *pprev, *pnext; /* the pending list, oldest first */
    double t_accept;     /* monotonic seconds */
    double t_last;       /* its last whole message: an AudioSocket frame, a WebSocket Upgrade or
                            message, an RTP packet that carried its stream forward (stall_sec) */
    uint64_t frames, dtmf;
    call *prev, *next; /* the network thread's list of open connections */
    call *next_closed; /* released after the epoll batch */
    /* RTP */
    lv_rtp *rtp; /* this SSRC's receiver (one stream) */
    uint32_t ssrc;
    struct sockaddr_storage src; /* RTP: the media source, where its packets come from (followed:
                                    rtp_follow); a connection: its peer */
    socklen_t src_len;
    struct sockaddr_storage cand; /* RTP: another address its packets came from since the last
                                     one of src, and how many in a row (rtp_follow) */
    socklen_t cand_len;
    unsigned cand_n;
    uint64_t src_changes; /* RTP: times the media source moved */
    call *hnext;          /* the SSRC hash's chain */
    end_reason pend_end;  /* set inside the receiver's callback, acted on after it */
    char pend_msg[160];
    char prev_name[16]; /* the call this stream followed from the same address ("" none) */
    /* WebSocket */
    lv_ws_dec *ws;
    uint8_t *hdr; /* the Upgrade request as it comes (WS_HEADER_MAX), freed once parsed */
    size_t hdr_len;
    size_t pend_got; /* bytes received while pending: make_room closes the silent first */
    char path[NAME_MAX_LEN + 1]; /* the request's path (JSON-safe) */
    uint32_t ws_rate;            /* its L16 sample rate */
    int ws_ch;                   /* its channels */
    uint64_t ws_text, ws_binary, ws_pings, ws_odd_bytes;
    int ws_close_code; /* the peer's close code, 0 when it sent none */
    bool ws_close_sent;
    /* the probe played back (AudioSocket): the frame being sent when the socket took part of
     * it, and the counters for call_end */
    uint8_t pout[LV_AS_HEADER + 2 * PROBE_FRAME_MAX];
    size_t pout_len, pout_off;
    /* (WebSocket) the server's playAudio frame being sent: bytes of it sent so far */
    bool wout_on;
    size_t wout_off;
    /* (RTP) the probe's own stream back to the source: SSRC, next sequence number, timestamp */
    bool rout_on;
    uint32_t rout_ssrc, rout_ts;
    uint16_t rout_seq;
    uint64_t probe_samples;      /* played */
    char name[NAME_MAX_LEN + 8]; /* set once, before the analysis side sees the call */
    char extra[600]; /* the input's counters for call_end (JSON fields), set at its end */
    /* shared, under mu */
    pthread_mutex_t mu;
    int refs;
    uint32_t rate; /* of the audio, set by the first audio frame */
    int16_t *ring; /* queue_sec of audio at rate */
    size_t cap, head, len;
    uint64_t rx_samples; /* audio received (at rate) */
    uint64_t dropped;    /* of it, dropped: the ring was full */
    bool ended;
    end_reason reason;
    char err[200];
    bool probe_on;    /* the analysis side asked for the probe: the network thread plays it */
    size_t probe_pos; /* samples of it played */
    unsigned probes;  /* asked for */
    bool probe_began; /* its first samples went out at probe_at (rx_samples then), not yet
                         told to the classifier */
    uint64_t probe_at;
    char dest[LV_FPS_DEST_MAX + 1]; /* the destination the call named (announce), "" none yet */
    uint64_t enqueued, taken;       /* samples put in the ring, and taken out for analysis */
    struct stamp {
        uint64_t end; /* the frame's last sample, counted as `enqueued` counts */
        double t;     /* when it came off the socket (monotonic) */
    } st[ST_CAP];     /* the frames in the ring, oldest first (a full ring extends the last) */
    size_t st_head, st_len;
    FILE *rec_ev; /* the recording's event lines (record_dir), under mu: two threads write */
    char *early;  /* lines of the call before its recording opened (at most EARLY_MAX bytes) */
    size_t early_len;
    bool rec_started; /* the recording was opened, or could not be */
    struct span {
        uint64_t from, to; /* samples of the call at its rate; to = UINT64_MAX: still open */
    } mute[MUTE_MAX];      /* DTMF to be muted in the recording (mask_digits), under mu */
    size_t nmute;
    bool queued;     /* in the run queue or in an analysis thread's hands */
    double t_queued; /* when it last went on the run queue (monotonic) */
    call *next_run;
    /* the analysis thread that holds it */
    char an_dest[LV_FPS_DEST_MAX + 1]; /* the destination its announcements were read for */
    uint64_t dest_gen;                 /* lv_server_destination's generation last looked at */
    unsigned remembered;               /* announcements read for it (call_end) */
    cq_vad *vad;
    cq_classifier *cls;
    cq_resample *rs;
    float *q8; /* 8 kHz samples waiting for the VAD (Q8_CAP) */
    size_t nq8;
    size_t taking;        /* samples of the current take */
    uint64_t pushed;      /* 8 kHz samples given to the classifier */
    FILE *rec;            /* the recording being written (record_dir), NULL when none */
    uint64_t rec_samples; /* written to it */
    int16_t *delay;       /* mask_digits: the samples not yet written (REC_DELAY_SEC) */
    size_t delay_cap, delay_len;
    char rec_name[72];  /* its name in record_dir, without the extension */
    char rec_note[200]; /* why the recording was given up, for the call_end line */
    int werr;           /* the first analysis error: the rest of the audio is not analysed */
    bool started, finished;
};

/* What the sink is told about a line besides its text (lv_event). */
typedef struct meta {
    char call[NAME_MAX_LEN + 8]; /* the call's name, as call.name */
    char type[16];
    int state;
    const char *rule, *reason; /* static strings */
    double start, end, at, speech, quiet, reply;
} meta;

typedef struct line {
    struct line *next;
    meta m;
    size_t len;
    char text[];
} line;

struct lv_server {
    lv_server_params p;
    int lfd, efd, ep, port;
    int rec_dir; /* record_dir, open (O_PATH | O_DIRECTORY); -1 when not recording */
    call *conns; /* open connections and RTP streams (network thread) */
    /* connections that have not identified their call, oldest first (network thread); their
     * number is `unidentified` */
    call *pend_head, *pend_tail;
    int rtp_fd, ws_fd, rtp_port, ws_port; /* -1, 0: that input is off */
    call **ssrc_tab;                      /* RTP calls by SSRC: ssrc_mask + 1 chains */
    size_t ssrc_mask;
    struct tomb {
        uint32_t ssrc;
        double until; /* monotonic: forgotten after this */
        bool refresh; /* each packet that still comes keeps it another stall_sec */
    } tombs[TOMBS];   /* ended RTP streams, a ring */
    size_t ntomb;
    /* RTP SSRCs that have not shown they are a stream (network thread): a hash, all of them by
     * first packet, and by the packets they have shown */
    rpend **rp_tab;
    size_t rp_mask;
    rpend *rp_ahead, *rp_atail;
    rpend *rp_lhead[LV_RTP_IDENT_PACKETS], *rp_ltail[LV_RTP_IDENT_PACKETS];
    size_t rp_n, rp_bytes, rp_budget;
    uint64_t ws_seq; /* names WebSocket calls that give no name */
    /* destinations FastAGI named (lv_server_destination), the latest DEST_RING, under dest_mu */
    pthread_mutex_t dest_mu;
    struct dest_note {
        char call[NAME_MAX_LEN + 8];
        char dest[LV_FPS_DEST_MAX + 1];
    } dests[DEST_RING];
    size_t ndest;
    _Atomic uint64_t dest_gen; /* bumped with each */
    uint8_t *ws_probe; /* the probe as a playAudio frame (lv_ws_play_audio), for every call */
    size_t ws_probe_len;
    double last_stats, last_timers;
    int events_fl; /* events_fd's flags before it was made non-blocking (-1: unknown) */
    /* run queue */
    pthread_mutex_t rq_mu;
    pthread_cond_t rq_cv;
    call *rq_head, *rq_tail;
    size_t rq_len;
    bool rq_quit;
    pthread_t *workers;
    worker *wks;
    int nworkers;
    /* event queue */
    pthread_mutex_t eq_mu;
    pthread_cond_t eq_cv;
    line *eq_head, *eq_tail;
    size_t eq_len;
    bool eq_quit;
    double eq_abandon_at; /* monotonic; 0: not yet */
    pthread_t writer;
    bool writer_up;
    /* counters */
    _Atomic uint64_t accepted, calls, refused_full, refused_uuid, active, events, events_dropped,
        audio_dropped, rtp_datagrams, rtp_malformed, rtp_refused, rtp_after_end, ws_refused,
        unidentified, ident_timeout, ident_evicted, rtp_unidentified, rtp_ident_timeout,
        rtp_ident_evicted, rtp_ident_dropped;
    _Atomic uint64_t analysed_us;          /* call audio taken into the analysis, microseconds */
    _Atomic uint64_t vad_runs, vad_chunks; /* VAD batches run over calls, and their chunks */
    _Atomic uint64_t lat[LAT_BUCKETS];     /* frames by their wait for the analysis, 1 ms buckets */
};

/* ---- clocks and lines --------------------------------------------------------------------------
 */

/* The wall clock as ISO 8601 UTC with milliseconds into buf[32]. */
static const char *wall_now(char buf[32])
{
    double t = cq_clock_wall_sec();
    time_t sec = (time_t)t;
    int ms = (int)((t - (double)sec) * 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t k = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, 32 - k, ".%03dZ", ms < 999 ? ms : 999);
    return buf;
}

/* Queue one line (a '\n' is added); dropped and counted when the queue is full. */
static void emit(lv_server *s, const meta *m, const char *text, size_t len)
{
    line *l = NULL;
    pthread_mutex_lock(&s->eq_mu);
    if (s->eq_len < s->p.event_queue && (l = malloc(sizeof(*l) + len + 1))) {
        l->m = *m;
        memcpy(l->text, text, len);
        l->text[len] = '\n';
        l->len = len + 1;
        l->next = NULL;
        if (s->eq_tail)
            s->eq_tail->next = l;
        else
            s->eq_head = l;
        s->eq_tail = l;
        s->eq_len++;
        pthread_cond_signal(&s->eq_cv);
    }
    pthread_mutex_unlock(&s->eq_mu);
    if (l)
        atomic_fetch_add(&s->events, 1);
    else
        atomic_fetch_add(&s->events_dropped, 1);
}

/* Mute [from, to) in the recording (mask_digits); an open DTMF event's span has to =
 * UINT64_MAX until it closes (the same start). Caller holds c->mu. */
static void mute_locked(call *c, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < c->nmute; i++)
        if (c->mute[i].from == from) { /* the open span of the same DTMF event, now closed */
            c->mute[i].to = to;
            return;
        }
    if (c->nmute == MUTE_MAX) { /* the two oldest become one (muting what lies between) */
        c->mute[1].from = c->mute[0].from;
        memmove(c->mute, c->mute + 1, (MUTE_MAX - 1) * sizeof(c->mute[0]));
        c->nmute--;
    }
    c->mute[c->nmute++] = (struct span){from, to};
}

/* A line of one call: to the event queue, and to the call's recorded events when it records. */
static void call_emit(call *c, const meta *m, const char *text, size_t len)
{
    /* under the call's lock, so that the recorded lines keep the stream's order */
    pthread_mutex_lock(&c->mu);
    emit(c->srv, m, text, len);
    if (c->rec_ev) {
        fwrite(text, 1, len, c->rec_ev);
        fputc('\n', c->rec_ev);
    } else if (c->srv->rec_dir >= 0 && !c->rec_started && c->early_len + len + 1 <= EARLY_MAX) {
        /* a line before the recording opens (a DTMF frame before the first audio is taken) */
        char *e = realloc(c->early, c->early_len + len + 1);
        if (e) {
            memcpy(e + c->early_len, text, len);
            e[c->early_len + len] = '\n';
            c->early = e;
            c->early_len += len + 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* Append to a line being built (never past its end). */
typedef struct lbuf {
    char b[LINE_MAX];
    size_t n;
} lbuf;

static void LV__PRINTF(2, 3) put(lbuf *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->n < sizeof(l->b)) {
        int k = vsnprintf(l->b + l->n, sizeof(l->b) - l->n, fmt, ap);
        if (k > 0)
            l->n = l->n + (size_t)k < sizeof(l->b) ? l->n + (size_t)k : sizeof(l->b) - 1;
    }
    va_end(ap);
}

/* A JSON string's body: quotes, backslashes and control bytes escaped. */
static void put_str(lbuf *l, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            put(l, "\\%c", ch);
        else if (ch < 0x20)
            put(l, "\\u%04x", ch);
        else
            put(l, "%c", ch);
    }
}

static void put_tail(lbuf *l, double call_sec)
{
    char w[32];
    put(l, ",\"call_sec\":%.3f,\"wall\":\"%s\"}", call_sec, wall_now(w));
}

/* The start of a call's line: its name and its input (both JSON-safe by construction). */
static void put_head(lbuf *l, const call *c)
{
    put(l, "{\"call\":\"%s\",\"input\":\"%s\",", c->name, k_input[c->input]);
}

/* The classifier's event, as `callqa classify` prints it, with call, input, call_sec and wall. */
static void emit_event(call *c, const cq_call_event *e)
{
    double at = (double)c->pushed / CQ_CLASSIFY_RATE;
    cq_call_event ev = *e;
    if (c->srv->p.mask_digits && ev.type == CQ_EV_DTMF) {
        for (char *d = ev.digits; *d; d++) /* as the privacy redaction masks keyed digits */
            *d = '*';
        if (c->rate) { /* its span muted in the recording, open until the event closes */
            const double g = MUTE_GUARD_SEC;
            const uint64_t from = ev.start_sec > g ? (uint64_t)((ev.start_sec - g) * c->rate) : 0;
            const uint64_t to =
                ev.state == CQ_EVENT_CLOSED ? (uint64_t)((ev.end_sec + g) * c->rate) : UINT64_MAX;
            pthread_mutex_lock(&c->mu);
            mute_locked(c, from, to);
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (ev.type == CQ_EV_PROBE) { /* played from the network thread's next received frame */
        pthread_mutex_lock(&c->mu);
        c->probe_on = true;
        c->probe_pos = 0;
        c->probes++;
        pthread_mutex_unlock(&c->mu);
    }
    char fields[1024];
    cq_call_event_fields(&ev, at, fields, sizeof(fields));
    lbuf l = {.n = 0};
    put_head(&l, c);
    put(&l, "%s", fields);
    put_tail(&l, at);
    meta m = {.state = (int)e->state,
              .rule = e->rule,
              .start = e->start_sec,
              .end = e->end_sec > e->start_sec ? e->end_sec : e->start_sec,
              .at = at,
              .speech = e->speech_sec,
              .quiet = e->quiet_sec,
              .reply = e->reply_sec};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    snprintf(m.type, sizeof(m.type), "%s", cq_event_type_name(e->type));
    call_emit(c, &m, l.b, l.n);
}

/* The p-quantile (0-1) of the frames' waits, in ms (the bucket's upper edge); -1 with none. */
static int lat_quantile(const uint64_t *h, uint64_t total, double q)
{
    if (!total)
        return -1;
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int b = 0; b < LAT_BUCKETS; b++)
        if ((acc += h[b]) > want)
            return b + 1;
    return LAT_BUCKETS;
}

static void emit_stats(lv_server *s, bool final)
{
    lbuf l = {.n = 0};
    char w[32];
    uint64_t h[LAT_BUCKETS], frames = 0;
    int worst = -1;
    for (int b = 0; b < LAT_BUCKETS; b++) {
        frames += h[b] = atomic_load(&s->lat[b]);
        if (h[b])
            worst = b + 1;
    }
    const uint64_t runs = atomic_load(&s->vad_runs);
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    put(&l,
        "{\"type\":\"stats\",\"final\":%s,\"accepted\":%llu,\"calls\":%llu,\"active\":%llu,"
        "\"refused_full\":%llu,\"refused_uuid\":%llu,\"events\":%llu,\"events_dropped\":%llu,"
        "\"audio_dropped_samples\":%llu,\"rtp_datagrams\":%llu,\"rtp_malformed\":%llu,"
        "\"rtp_refused\":%llu,\"rtp_after_end\":%llu,\"ws_refused\":%llu,"
        "\"unidentified\":%llu,\"unidentified_timeout\":%llu,\"unidentified_evicted\":%llu,"
        "\"rtp_unidentified\":%llu,\"rtp_unidentified_timeout\":%llu,"
        "\"rtp_unidentified_evicted\":%llu,\"rtp_unidentified_dropped\":%llu,"
        "\"audio_analysed_sec\":%.3f,\"cpu_sec\":%.3f,"
        "\"vad_chunks_per_run\":%.1f,\"frames\":%llu,\"wait_ms\":{\"p50\":%d,\"p99\":%d,"
        "\"max\":%d},\"wall\":\"%s\"}",
        final ? "true" : "false", (unsigned long long)s->accepted, (unsigned long long)s->calls,
        (unsigned long long)s->active, (unsigned long long)s->refused_full,
        (unsigned long long)s->refused_uuid, (unsigned long long)s->events,
        (unsigned long long)s->events_dropped, (unsigned long long)s->audio_dropped,
        (unsigned long long)s->rtp_datagrams, (unsigned long long)s->rtp_malformed,
        (unsigned long long)s->rtp_refused, (unsigned long long)s->rtp_after_end,
        (unsigned long long)s->ws_refused, (unsigned long long)s->unidentified,
        (unsigned long long)s->ident_timeout, (unsigned long long)s->ident_evicted,
        (unsigned long long)s->rtp_unidentified, (unsigned long long)s->rtp_ident_timeout,
        (unsigned long long)s->rtp_ident_evicted, (unsigned long long)s->rtp_ident_dropped,
        (double)atomic_load(&s->analysed_us) / 1e6, cpu,
        runs ? (double)atomic_load(&s->vad_chunks) / (double)runs : 0.0, (unsigned long long)frames,
        lat_quantile(h, frames, 0.5), lat_quantile(h, frames, 0.99), worst, wall_now(w));
    if (s->p.on_stats && l.n > 0 && l.n < sizeof(l.b)) { /* the sink's fields before the '}' */
        char more[1024];
        size_t k = s->p.on_stats(s->p.user, more, sizeof(more));
        if (k > 0 && k < sizeof(more) && l.n + k < sizeof(l.b)) {
            l.n--;
            put(&l, "%.*s}", (int)k, more);
        }
    }
    meta m = {.type = "stats"};
    emit(s, &m, l.b, l.n);
}

/* ---- the writer --------------------------------------------------------------------------------
 */

static void *writer_main(void *arg)
{
    lv_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->eq_mu);
        while (!s->eq_head && !s->eq_quit)
            pthread_cond_wait(&s->eq_cv, &s->eq_mu);
        line *l = s->eq_head;
        if (l) {
            s->eq_head = l->next;
            if (!s->eq_head)
                s->eq_tail = NULL;
            s->eq_len--;
        }
        double abandon = s->eq_abandon_at;
        pthread_mutex_unlock(&s->eq_mu);
        if (!l)
            return NULL; /* quit, and nothing left */
        size_t off = 0;
        if (abandon > 0 && cq_clock_mono_sec() > abandon)
            off = l->len + 1; /* given up on the reader: the rest is dropped, counted */
        while (off < l->len) {
            ssize_t k = write(s->p.events_fd, l->text + off, l->len - off);
            if (k > 0) {
                off += (size_t)k;
                continue;
            }
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                break; /* the reader went away: the line is lost */
            struct pollfd pf = {.fd = s->p.events_fd, .events = POLLOUT};
            (void)poll(&pf, 1, 100);
            pthread_mutex_lock(&s->eq_mu);
            abandon = s->eq_abandon_at;
            pthread_mutex_unlock(&s->eq_mu);
            if (abandon > 0 && cq_clock_mono_sec() > abandon)
                break;
        }
        if (off != l->len)
            atomic_fetch_add(&s->events_dropped, 1);
        if (s->p.on_event) { /* after the queue: a slow sink never holds up the audio */
            lv_event ev = {.call = l->m.call,
                           .type = l->m.type,
                           .json = l->text,
                           .len = l->len - 1,
                           .state = l->m.state,
                           .rule = l->m.rule,
                           .start_sec = l->m.start,
                           .end_sec = l->m.end,
                           .at_sec = l->m.at,
                           .speech_sec = l->m.speech,
                           .quiet_sec = l->m.quiet,
                           .reply_sec = l->m.reply,
                           .reason = l->m.reason};
            s->p.on_event(s->p.user, &ev);
        }
        free(l);
    }
}

/* ---- recordings (record_dir) ---------------------------------------------------------------- */

/* A 16-bit mono PCM WAV header for n samples at rate. */
static void wav_header(uint8_t h[44], uint32_t rate, uint64_t n)
{
    const uint32_t data = n * 2 > 0xffffffd3u ? 0xffffffd3u : (uint32_t)(n * 2);
    const uint32_t v[] = {36 + data, 16, rate, rate * 2, data};
    memcpy(h, "RIFF\0\0\0\0WAVEfmt \0\0\0\0\1\0\1\0\0\0\0\0\0\0\0\0\2\0\20\0data\0\0\0\0", 44);
    const int at[] = {4, 16, 24, 28, 40};
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 4; b++)
            h[at[i] + b] = (uint8_t)(v[i] >> (8 * b));
}

/* The recording's name: the call's id with anything but letters, digits, '-' and '_' made '_'
 * (an id from a PBX's metadata never becomes a path). */
static void rec_name_of(const char *id, char *out, size_t cap)
{
    size_t k = 0;
    for (; id[k] && k + 1 < cap && k < 64; k++) {
        const char ch = id[k];
        out[k] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '-' || ch == '_'
                     ? ch
                     : '_';
    }
    out[k] = 0;
    if (!k)
        snprintf(out, cap, "call");
}

/* Give the recording up: the partial files removed, the reason kept for call_end. */
static void rec_abandon(call *c, const char *why)
{
    lv_server *s = c->srv;
    if (!c->rec_note[0])
        snprintf(c->rec_note, sizeof(c->rec_note), "%s", why);
    if (c->rec)
        fclose(c->rec);
    c->rec = NULL;
    char part[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    (void)unlinkat(s->rec_dir, part, 0);
}

/* Open NAME.wav.part and NAME.live.jsonl.part in record_dir (created, never an existing file or
 * a link followed), with the header of an empty WAV. */
static void rec_open_files(call *c, uint32_t rate);

/* The recording opened once, when the analysis starts the call; the lines kept until then go
 * into its event file (or are let go when it could not be made). */
static void rec_open(call *c, uint32_t rate)
{
    if (c->srv->rec_dir < 0)
        return;
    rec_open_files(c, rate);
    pthread_mutex_lock(&c->mu);
    c->rec_started = true;
    free(c->early);
    c->early = NULL;
    c->early_len = 0;
    pthread_mutex_unlock(&c->mu);
}

static void rec_open_files(call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    /* a finished recording of an earlier call of the same name (a stream that came back, a
     * name given twice) is never written over: the first free of ID, ID-2 ... ID-99 */
    char base[72];
    rec_name_of(c->name, base, sizeof(base));
    for (int k = 1; k < 100; k++) {
        char fin[96];
        struct stat st;
        snprintf(c->rec_name, sizeof(c->rec_name), k == 1 ? "%.64s" : "%.64s-%d", base, k);
        snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
        if (fstatat(s->rec_dir, fin, &st, AT_SYMLINK_NOFOLLOW) != 0)
            break;
    }
    char part[96], evp[96], fin[96], evf[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(evp, sizeof(evp), "%s.live.jsonl.part", c->rec_name);
    /* listed as the call's before they are made, for a purge run without this server */
    snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
    snprintf(evf, sizeof(evf), "%s.live.jsonl", c->rec_name);
    const char *const listed[4] = {fin, part, evf, evp};
    if (lv__manifest_add(s->rec_dir, c->name, listed, 4, cq_clock_wall_sec()) != 0) {
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot list it in %s: %.60s", LV_MANIFEST_NAME,
                 strerror(errno));
        return;
    }
    const int fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(s->rec_dir, part, fl, 0640);
    if (fd < 0 || !(c->rec = fdopen(fd, "wb"))) {
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot create %.90s: %.60s", part,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    uint8_t h[44];
    wav_header(h, rate, 0);
    if (fwrite(h, 1, 44, c->rec) != 44) {
        rec_abandon(c, "cannot write the recording");
        return;
    }
    int efd = openat(s->rec_dir, evp, fl, 0640);
    FILE *ev = efd >= 0 ? fdopen(efd, "w") : NULL;
    if (!ev) {
        if (efd >= 0)
            close(efd);
        rec_abandon(c, "cannot create the recording's event file");
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->rec_ev = ev;
    if (c->early_len)
        fwrite(c->early, 1, c->early_len, ev);
    pthread_mutex_unlock(&c->mu);
}

/* n samples to the file (little-endian), those inside a span to be muted as zeros; `at` is the
 * call's sample index of pcm[0]. */
static void rec_put(call *c, const int16_t *pcm, size_t n, uint64_t at)
{
    uint8_t b[2 * TURN_SAMPLES];
    const bool mask = c->srv->p.mask_digits; /* spans to mute come only with it */
    while (n && c->rec) {
        size_t k = n < TURN_SAMPLES ? n : TURN_SAMPLES;
        if (mask)
            pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < k; i++) {
            int16_t v = pcm[i];
            for (size_t m = 0; mask && m < c->nmute; m++)
                if (at + i >= c->mute[m].from && at + i < c->mute[m].to)
                    v = 0;
            b[2 * i] = (uint8_t)((uint16_t)v & 0xff);
            b[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
        }
        if (mask)
            pthread_mutex_unlock(&c->mu);
        if (fwrite(b, 2, k, c->rec) != k) {
            rec_abandon(c, "writing the recording failed (disk full?)");
            return;
        }
        c->rec_samples += k;
        pcm += k, n -= k, at += k;
    }
}

/* n samples taken for analysis, on their way to the recording: at once, or with mask_digits
 * after REC_DELAY_SEC, by when the DTMF among them has been recognised and can be muted. */
static void rec_write(call *c, const int16_t *pcm, size_t n)
{
    if (!c->rec)
        return;
    if (!c->srv->p.mask_digits) {
        rec_put(c, pcm, n, c->rec_samples);
        return;
    }
    if (!c->delay) {
        c->delay_cap = (size_t)(REC_DELAY_SEC * c->rate) + TURN_SAMPLES;
        if (!(c->delay = malloc(c->delay_cap * sizeof(int16_t)))) {
            rec_abandon(c, "out of memory for the recording's delay");
            return;
        }
    }
    /* the oldest samples out first, so that the newest REC_DELAY_SEC stay */
    const size_t keep = (size_t)(REC_DELAY_SEC * c->rate);
    if (c->delay_len + n > keep) {
        size_t out = c->delay_len + n - keep;
        if (out > c->delay_len)
            out = c->delay_len;
        rec_put(c, c->delay, out, c->rec_samples);
        memmove(c->delay, c->delay + out, (c->delay_len - out) * sizeof(int16_t));
        c->delay_len -= out;
    }
    while (n && c->rec) { /* n may exceed the delay (a take larger than it): through it */
        size_t room = c->delay_cap - c->delay_len, k = n < room ? n : room;
        memcpy(c->delay + c->delay_len, pcm, k * sizeof(int16_t));
        c->delay_len += k, pcm += k, n -= k;
        if (n) {
            rec_put(c, c->delay, c->delay_len, c->rec_samples);
            c->delay_len = 0;
        }
    }
}

/* The call's audio is all written: the header's sizes, the data on disk, NAME.wav. */
static void rec_close(call *c)
{
    lv_server *s = c->srv;
    if (c->rec && c->delay_len)
        rec_put(c, c->delay, c->delay_len, c->rec_samples);
    c->delay_len = 0;
    if (!c->rec)
        return;
    uint8_t h[44];
    wav_header(h, c->rate, c->rec_samples);
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
    if (fflush(c->rec) != 0 || fseek(c->rec, 0, SEEK_SET) != 0 || fwrite(h, 1, 44, c->rec) != 44 ||
        fflush(c->rec) != 0 || fsync(fileno(c->rec)) != 0) {
        rec_abandon(c, "writing the recording failed (disk full?)");
        return;
    }
    fclose(c->rec);
    c->rec = NULL;
    /* never over a file that came meanwhile: then the recording stays as NAME.wav.part */
    if (renameat2(s->rec_dir, part, s->rec_dir, fin, RENAME_NOREPLACE) != 0)
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot rename %.90s into place: %.60s", part,
                 strerror(errno));
}

/* After the call_end line: the event lines closed and put beside the recording. */
static void rec_events_close(call *c)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    FILE *ev = c->rec_ev;
    c->rec_ev = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!ev)
        return;
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.live.jsonl.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.live.jsonl", c->rec_name);
    bool ok = fflush(ev) == 0 && fsync(fileno(ev)) == 0;
    fclose(ev);
    if (ok) /* as the recording: never over another file; else left as NAME.live.jsonl.part */
        (void)renameat2(s->rec_dir, part, s->rec_dir, fin, RENAME_NOREPLACE);
    else
        (void)unlinkat(s->rec_dir, part, 0);
}

/* ---- calls: references, the run queue -------------------------------------------------------- */

static void call_release(call *c)
{
    pthread_mutex_lock(&c->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left)
        return;
    lv_server *s = c->srv;
    cq_classifier_destroy(c->cls);
    cq_vad_destroy(c->vad);
    cq_resample_destroy(c->rs);
    if (c->rec)
        rec_abandon(c, "not finished");
    if (c->rec_ev)
        fclose(c->rec_ev);
    free(c->early);
    free(c->delay);
    free(c->q8);
    lv_as_destroy(c->dec);
    lv_rtp_destroy(c->rtp);
    lv_ws_destroy(c->ws);
    free(c->hdr);
    pthread_mutex_destroy(&c->mu);
    free(c->ring);
    const bool counted = c->named; /* a call: it counted against max_calls until now */
    free(c);
    if (counted)
        atomic_fetch_sub(&s->active, 1);
}

/* Put a call with work on the run queue unless it is there or being run. Caller holds c->mu. */
static void schedule_locked(call *c)
{
    if (c->queued)
        return;
    c->queued = true;
    c->t_queued = cq_clock_mono_sec();
    lv_server *s = c->srv;
    pthread_mutex_lock(&s->rq_mu);
    c->next_run = NULL;
    if (s->rq_tail)
        s->rq_tail->next_run = c;
    else
        s->rq_head = c;
    s->rq_tail = c;
    /* a thread is woken when the queue starts (its wait for a batch begins) and when a batch
     * is full, not for every call in between */
    if (++s->rq_len == 1 || s->rq_len == (size_t)s->p.vad_batch)
        pthread_cond_signal(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
}

/* ---- analysis ----------------------------------------------------------------------------------
 */

/* Per worker: a take's samples on their way to 8 kHz, and the VAD jobs of a group. */
typedef struct wbuf {
    int16_t pcm[TURN_SAMPLES];
    float x[TURN_SAMPLES];
    float y[RS_CAP];
} wbuf;

struct worker {
    lv_server *s;
    wbuf w;
    call *group[LV_VAD_BATCH_MAX];
    cq_vad_job jobs[LV_VAD_BATCH_MAX];
    float probs[LV_VAD_BATCH_MAX * (Q8_CAP / CQ_CLASSIFY_FRAME)];
};

static int drain(call *c)
{
    const cq_call_event *ev;
    size_t n;
    int rc = cq_classifier_poll(c->cls, &ev, &n);
    for (size_t i = 0; rc == CQ_OK && i < n; i++)
        emit_event(c, &ev[i]);
    return rc;
}

/* 8 kHz samples into the classifier and onto the call's queue for the VAD (whole chunks go to
 * the VAD with the group's, in group_vad). */
static int feed8k(call *c, const float *x, size_t n)
{
    int rc = cq_classifier_push_audio(c->cls, x, n);
    if (rc != CQ_OK)
        return rc;
    c->pushed += n;
    if (c->nq8 + n > Q8_CAP)
        return CQ_ERR_INTERNAL; /* a take never holds more than RS_CAP samples */
    memcpy(c->q8 + c->nq8, x, n * sizeof(float));
    c->nq8 += n;
    return CQ_OK;
}

/* The probabilities of the call's whole chunks (computed), into the classifier; the chunks
 * off the queue. */
static int after_vad(call *c, const float *probs, size_t k)
{
    int rc = cq_classifier_push_vad(c->cls, probs, k);
    size_t used = k * CQ_CLASSIFY_FRAME;
    memmove(c->q8, c->q8 + used, (c->nq8 - used) * sizeof(float));
    c->nq8 -= used;
    return rc == CQ_OK ? drain(c) : rc;
}

static int start(call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    cq_classify_params cp = cq_classify_default_params();
    cp.live = (cq_live_mode)s->p.live_mode;
    cp.silence_event_sec = s->p.silence_sec;
    /* the probe, where it can be played back (docs/live.md): AudioSocket and RTP at 8 kHz, the
     * WebSocket at either rate (playAudio says the probe's) */
    if (s->p.probe_len &&
        (rate == CQ_CLASSIFY_RATE || (c->input == LV_INPUT_WEBSOCKET && s->ws_probe)))
        cp.probe_sec = (double)s->p.probe_len / CQ_CLASSIFY_RATE;
    int rc = CQ_OK;
    c->started = true;
    if (!(c->q8 = malloc(Q8_CAP * sizeof(float))))
        return CQ_ERR_NOMEM;
    rec_open(c, rate);
    if (!(c->vad = cq_vad_create(s->p.vad_model, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (!(c->cls = cq_classifier_create(&cp, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (rate && rate != CQ_CLASSIFY_RATE &&
        !(c->rs = cq_resample_create((double)rate, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    return CQ_OK;
}

static int analyse(call *c, wbuf *w, size_t n)
{
    lv_pcm_to_float(w->pcm, n, w->x);
    if (!c->rs)
        return feed8k(c, w->x, n);
    long got = cq_resample_process(c->rs, w->x, n, w->y, RS_CAP);
    return got < 0 ? (int)got : feed8k(c, w->y, (size_t)got);
}

static void remember_learned(call *c);

/* The end of a call's audio: the resampler's tail, the last chunk zero-padded (as the engine
 * does), the classifier's last events, and what it learned of the destination's
 * announcements. The VAD runs on this call alone. */
static int finish(call *c, wbuf *w)
{
    int rc = CQ_OK;
    long got;
    while (c->rs && rc == CQ_OK && (got = cq_resample_process(c->rs, NULL, 0, w->y, RS_CAP)) > 0) {
        rc = feed8k(c, w->y, (size_t)got);
        size_t k = c->nq8 / CQ_CLASSIFY_FRAME;
        float p[Q8_CAP / CQ_CLASSIFY_FRAME];
        if (rc == CQ_OK && k && (rc = cq_vad_process(c->vad, c->q8, k, p)) == CQ_OK)
            rc = after_vad(c, p, k);
    }
    if (rc == CQ_OK && c->nq8) {
        float p;
        memset(c->q8 + c->nq8, 0, (CQ_CLASSIFY_FRAME - c->nq8) * sizeof(float));
        c->nq8 = CQ_CLASSIFY_FRAME;
        if ((rc = cq_vad_process(c->vad, c->q8, 1, &p)) == CQ_OK)
            rc = after_vad(c, &p, 1);
    }
    if (rc == CQ_OK && (rc = cq_classifier_finish(c->cls)) == CQ_OK)
        rc = drain(c);
    if (rc == CQ_OK)
        remember_learned(c);
    return rc;
}

static void emit_end(call *c)
{
    pthread_mutex_lock(&c->mu);
    uint32_t rate = c->rate;
    uint64_t rx = c->rx_samples, dropped = c->dropped;
    end_reason reason = c->reason;
    char err[sizeof(c->err)];
    memcpy(err, c->err, sizeof(err));
    pthread_mutex_unlock(&c->mu);
    double call_sec = rate ? (double)rx / rate : 0;
    lbuf l = {.n = 0};
    put_head(&l, c);
    put(&l, "\"type\":\"call_end\",\"reason\":\"%s\"", k_reason[reason]);
    if (c->werr && !err[0])
        snprintf(err, sizeof(err), "analysis: %s", cq_strerror(c->werr));
    if (err[0]) {
        put(&l, ",\"error\":\"");
        put_str(&l, err);
        put(&l, "\"");
    }
    put(&l, ",\"rate_hz\":%u,\"audio_sec\":%.3f,\"analysed_sec\":%.3f,\"audio_dropped_sec\":%.3f",
        rate, call_sec, (double)c->pushed / CQ_CLASSIFY_RATE, rate ? (double)dropped / rate : 0);
    put(&l, "%s", c->extra); /* the input's counters: written before the call ended */
    if (c->srv->p.announce && c->an_dest[0]) { /* remembered announcements (docs/live.md) */
        size_t frames, learned = 0;
        while (c->cls && cq_classifier_learned(c->cls, learned, &frames))
            learned++;
        put(&l, ",\"destination\":\"");
        put_str(&l, c->an_dest);
        put(&l, "\",\"announcements_remembered\":%u,\"announcements_learned\":%zu", c->remembered,
            learned);
    }
    if (c->rec_name[0] && !c->rec_note[0]) {
        put(&l, ",\"recording\":\"");
        put_str(&l, c->rec_name);
        put(&l, ".wav\"");
    } else if (c->rec_note[0]) {
        put(&l, ",\"recording_error\":\"");
        put_str(&l, c->rec_note);
        put(&l, "\"");
    }
    put_tail(&l, call_sec);
    meta m = {.type = "call_end", .reason = k_reason[reason], .at = call_sec};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    call_emit(c, &m, l.b, l.n);
    rec_events_close(c);
}

/* The frames whose samples the analysis has now taken in: how long each waited since it came
 * off the socket, into the server's histogram. Caller holds c->mu. */
static void stamps_done_locked(call *c, double now)
{
    lv_server *s = c->srv;
    while (c->st_len && c->st[c->st_head].end <= c->taken) {
        double ms = (now - c->st[c->st_head].t) * 1000.0;
        size_t b = ms < 0 ? 0 : ms >= LAT_BUCKETS - 1 ? LAT_BUCKETS - 1 : (size_t)ms;
        atomic_fetch_add(&s->lat[b], 1);
        c->st_head = (c->st_head + 1) % ST_CAP;
        c->st_len--;
    }
}

/* A call's share of a group's turn, before the VAD: one take of its queued audio (a bounded
 * amount) through the resampler into the classifier and its VAD queue. Sets *ended when the
 * call has ended and its audio is all taken; returns false when it had nothing to do (it is
 * off the run queue until audio comes). */
static void remembered_one(void *user, const uint16_t *bits, size_t frames)
{
    call *c = user;
    if (cq_classifier_remember(c->cls, bits, frames) == CQ_OK)
        c->remembered++;
}

/* The call's destination known (from its WebSocket metadata, dest; or named by FastAGI since
 * the last look): the announcements remembered for it go to its classifier, once. */
static void remember_for(call *c, const char *dest)
{
    lv_server *s = c->srv;
    char d[LV_FPS_DEST_MAX + 1];
    snprintf(d, sizeof(d), "%s", dest);
    const uint64_t gen = atomic_load(&s->dest_gen);
    if (!d[0] && gen != c->dest_gen) {
        c->dest_gen = gen;
        pthread_mutex_lock(&s->dest_mu);
        for (size_t i = 0; i < s->ndest && i < DEST_RING; i++)
            if (!strcasecmp(s->dests[i].call, c->name))
                memcpy(d, s->dests[i].dest, sizeof(d));
        pthread_mutex_unlock(&s->dest_mu);
    }
    if (!d[0])
        return;
    memcpy(c->an_dest, d, sizeof(d));
    (void)lv_fps_get(s->p.announce, d, remembered_one, c);
}

/* What the call's classifier learned: kept under its destination for the next call. */
static void remember_learned(call *c)
{
    lv_server *s = c->srv;
    if (!s->p.announce || !c->cls)
        return;
    if (!c->an_dest[0]) { /* named at the very end: looked up once more */
        char d[LV_FPS_DEST_MAX + 1];
        pthread_mutex_lock(&c->mu);
        memcpy(d, c->dest, sizeof(d));
        pthread_mutex_unlock(&c->mu);
        remember_for(c, d);
    }
    if (!c->an_dest[0])
        return;
    const double now = cq_clock_wall_sec();
    size_t frames;
    const uint16_t *b;
    for (size_t i = 0; (b = cq_classifier_learned(c->cls, i, &frames)); i++)
        (void)lv_fps_put(s->p.announce, c->an_dest, b, frames, now);
}

static bool take(call *c, wbuf *w, bool *ended)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->len < TURN_SAMPLES ? c->len : TURN_SAMPLES;
    for (size_t i = 0; i < n; i++)
        w->pcm[i] = c->ring[(c->head + i) % c->cap];
    if (n) {
        c->head = (c->head + n) % c->cap;
        c->len -= n;
    }
    uint32_t rate = c->rate;
    *ended = c->ended && !c->len;
    if (!n && !*ended) {
        c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    const bool began = c->probe_began;
    const uint64_t probe_at = c->probe_at;
    c->probe_began = false;
    char dest[LV_FPS_DEST_MAX + 1] = "";
    if (c->srv->p.announce && !c->an_dest[0])
        memcpy(dest, c->dest, sizeof(dest));
    pthread_mutex_unlock(&c->mu);
    if (c->srv->p.announce && !c->an_dest[0] && c->cls)
        remember_for(c, dest);
    /* the probe began on the line: the classifier listens for the reply from there */
    if (began && c->cls && rate && !c->werr)
        c->werr = cq_classifier_probe_played(c->cls, (double)probe_at / rate);
    if (!c->started && !c->werr)
        c->werr = start(c, rate);
    if (n)
        rec_write(c, w->pcm, n); /* recorded whether or not the analysis goes on */
    if (n && !c->werr)
        c->werr = analyse(c, w, n);
    c->taking = n;
    return true;
}

/* A group's turn: a take of each call, then one VAD run over the whole chunks of all of them
 * (cq_vad_process_many: the weights read once for the group), then each call's probabilities,
 * events and, for a call that has ended, its end. Calls with audio left go back to the run
 * queue's tail. */
static void group_turn(worker *wk, size_t n)
{
    lv_server *s = wk->s;
    bool ended[LV_VAD_BATCH_MAX], live[LV_VAD_BATCH_MAX];
    size_t nj = 0, np = 0, chunks[LV_VAD_BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        live[i] = take(wk->group[i], &wk->w, &ended[i]);
    for (size_t i = 0; i < n; i++) {
        call *c = wk->group[i];
        chunks[i] = live[i] && !c->werr ? c->nq8 / CQ_CLASSIFY_FRAME : 0;
        if (chunks[i]) {
            wk->jobs[nj++] = (cq_vad_job){
                .v = c->vad, .x = c->q8, .n_chunks = chunks[i], .probs = wk->probs + np};
            np += chunks[i];
        }
    }
    int vrc = cq_vad_process_many(wk->jobs, nj);
    if (nj) {
        atomic_fetch_add(&s->vad_runs, 1);
        atomic_fetch_add(&s->vad_chunks, np);
    }
    np = 0;
    call *back = NULL, *last = NULL;
    size_t nback = 0;
    const double now = cq_clock_mono_sec();
    for (size_t i = 0; i < n; i++) {
        call *c = wk->group[i];
        if (!live[i])
            continue;
        if (chunks[i] && !c->werr)
            c->werr = vrc != CQ_OK ? vrc : after_vad(c, wk->probs + np, chunks[i]);
        np += chunks[i];
        pthread_mutex_lock(&c->mu);
        if (c->rate)
            atomic_fetch_add(&s->analysed_us, c->taking * 1000000u / c->rate);
        c->taken += c->taking;
        stamps_done_locked(c, now);
        bool more = c->len > 0 || c->ended;
        if (!more && !ended[i])
            c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        if (ended[i]) {
            if (!c->werr)
                c->werr = finish(c, &wk->w);
            rec_close(c);
            emit_end(c);
            c->finished = true;
            call_release(c); /* the analysis side's reference */
        } else if (more) {
            c->next_run = NULL;
            c->t_queued = now;
            if (last)
                last->next_run = c;
            else
                back = c;
            last = c;
            nback++;
        }
    }
    if (back) {
        pthread_mutex_lock(&s->rq_mu);
        if (s->rq_tail)
            s->rq_tail->next_run = back;
        else
            s->rq_head = back;
        s->rq_tail = last;
        s->rq_len += nback;
        pthread_cond_signal(&s->rq_cv);
        pthread_mutex_unlock(&s->rq_mu);
    }
}

/* Until the run queue holds a batch of calls, or its oldest call has waited batch_wait_sec, or
 * the server is stopping; false when stopping with nothing queued. Caller holds rq_mu. */
static bool wait_for_batch(lv_server *s)
{
    for (;;) {
        if (!s->rq_head) {
            if (s->rq_quit)
                return false;
            pthread_cond_wait(&s->rq_cv, &s->rq_mu);
            continue;
        }
        if (s->rq_len >= (size_t)s->p.vad_batch || s->rq_quit)
            return true;
        const double until = s->rq_head->t_queued + s->p.batch_wait_sec;
        if (cq_clock_mono_sec() >= until)
            return true;
        struct timespec ts = cq_clock_timespec(until); /* rq_cv's clock is CLOCK_MONOTONIC */
        (void)pthread_cond_timedwait(&s->rq_cv, &s->rq_mu, &ts);
    }
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    lv_server *s = wk->s;
    const size_t g = (size_t)s->p.vad_batch;
    for (;;) {
        pthread_mutex_lock(&s->rq_mu);
        if (!wait_for_batch(s)) {
            pthread_mutex_unlock(&s->rq_mu);
            return NULL;
        }
        size_t n = 0;
        while (s->rq_head && n < g) {
            call *c = s->rq_head;
            s->rq_head = c->next_run;
            wk->group[n++] = c;
        }
        s->rq_len -= n;
        if (!s->rq_head)
            s->rq_tail = NULL;
        else
            pthread_cond_signal(&s->rq_cv); /* more for another thread */
        pthread_mutex_unlock(&s->rq_mu);
        group_turn(wk, n);
    }
}

/* ---- the network thread ------------------------------------------------------------------------
 */

static void conn_unlink(lv_server *s, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_link(lv_server *s, call *c)
{
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
}

/* The pending list: connections that have not identified their call, in the order of their
 * accept (so the oldest is first, and the first not yet over ident_sec ends a scan). */
static void pending_add(lv_server *s, call *c)
{
    c->pending = true;
    c->pnext = NULL;
    c->pprev = s->pend_tail;
    if (s->pend_tail)
        s->pend_tail->pnext = c;
    else
        s->pend_head = c;
    s->pend_tail = c;
    atomic_fetch_add(&s->unidentified, 1);
}

static void pending_remove(lv_server *s, call *c)
{
    if (!c->pending)
        return;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        s->pend_head = c->pnext;
    if (c->pnext)
        c->pnext->pprev = c->pprev;
    else
        s->pend_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    c->pending = false;
    atomic_fetch_sub(&s->unidentified, 1);
}

/* The IP address of a peer (not its port): the key of the share per client. */
static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return false;
}

/* Best effort: a frame to a peer we are about to close (never waited for). */
static void send_frame(int fd, const uint8_t *b, size_t n)
{
    if (n)
        (void)send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void send_error(int fd)
{
    uint8_t b[8];
    send_frame(fd, b, lv_as_encode_error(b, sizeof(b), -1));
}

static bool ws_probe_out(call *c);

/* A WebSocket close frame, once (best effort, like every reply: never waited for). */
static void ws_send_close(call *c, int code, const char *reason)
{
    uint8_t b[160];
    if (c->fd < 0 || !c->ws || c->hdr || c->ws_close_sent)
        return;
    if (c->wout_on && !ws_probe_out(c)) /* not in the middle of the probe's frame */
        return;
    size_t n = lv_ws_encode_close(b, sizeof(b), code, reason);
    if (!n)
        n = lv_ws_encode_close(b, sizeof(b), LV_WS_CLOSE_NORMAL, NULL);
    send_frame(c->fd, b, n);
    c->ws_close_sent = true;
}

/* ---- RTP: the SSRC hash and the ended streams ------------------------------------------------ */

static size_t ssrc_slot(const lv_server *s, uint32_t ssrc)
{
    return (size_t)(uint32_t)(ssrc * 2654435761u) & s->ssrc_mask;
}

static call *ssrc_find(lv_server *s, uint32_t ssrc)
{
    for (call *c = s->ssrc_tab[ssrc_slot(s, ssrc)]; c; c = c->hnext)
        if (c->ssrc == ssrc)
            return c;
    return NULL;
}

static void ssrc_remove(lv_server *s, call *c)
{
    call **pp = &s->ssrc_tab[ssrc_slot(s, c->ssrc)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    c->hnext = NULL;
}

/* Remember an ended stream: after an SSRC change for a moment (its late packets), stall_sec
 * and no longer; after max_duration or an error as long as it keeps sending. A stream that
 * stalled or was shut down is not remembered: if it sends again, that is a new call. */
static void tomb_add(lv_server *s, uint32_t ssrc, end_reason why, double now)
{
    if (why == R_STALLED || why == R_SHUTDOWN)
        return;
    bool change = why == R_SSRC_CHANGE;
    double keep = change && s->p.stall_sec > 2 ? 2 : s->p.stall_sec;
    s->tombs[s->ntomb % TOMBS] =
        (struct tomb){.ssrc = ssrc, .until = now + keep, .refresh = !change};
    s->ntomb++;
}

/* True when ssrc is an ended stream that is still sending (its packets are ignored). */
static bool tomb_hit(lv_server *s, uint32_t ssrc, double now)
{
    size_t n = s->ntomb < TOMBS ? s->ntomb : TOMBS;
    for (size_t i = 0; i < n; i++) {
        if (s->tombs[i].ssrc == ssrc && s->tombs[i].until > now) {
            if (s->tombs[i].refresh)
                s->tombs[i].until = now + s->p.stall_sec;
            return true;
        }
    }
    return false;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

/* ---- the end of a call ------------------------------------------------------------------------
 */

/* The input's own counters as JSON fields for the call's call_end (network thread, at its end). */
static void input_summary(call *c)
{
    lbuf l = {.n = 0};
    if (c->input == LV_INPUT_AUDIOSOCKET) {
        put(&l, ",\"frames\":%llu,\"dtmf_frames\":%llu", (unsigned long long)c->frames,
            (unsigned long long)c->dtmf);
    } else if (c->input == LV_INPUT_RTP) {
        char host[64] = "?", serv[16] = "?";
        (void)getnameinfo((const struct sockaddr *)&c->src, c->src_len, host, sizeof(host), serv,
                          sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
        const lv_rtp_stats *st =
            lv_rtp_stream_count(c->rtp) ? lv_rtp_stream_stats(c->rtp, 0) : NULL;
        lv_rtp_stats z = {.ssrc = c->ssrc};
        if (!st)
            st = &z;
        put(&l, ",\"ssrc\":\"%08x\",\"source\":\"%s%s%s:%s\"", c->ssrc,
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", serv);
        put(&l,
            ",\"packets\":%llu,\"lost\":%llu,\"duplicates\":%llu,\"late\":%llu,"
            "\"reordered\":%llu,\"not_audio\":%llu,\"bad_rate\":%llu,\"bad_payload\":%llu,"
            "\"resyncs\":%llu,\"silence_sec\":%.3f",
            (unsigned long long)st->packets, (unsigned long long)st->lost,
            (unsigned long long)st->duplicates, (unsigned long long)st->late,
            (unsigned long long)st->reordered, (unsigned long long)st->not_audio,
            (unsigned long long)st->bad_rate, (unsigned long long)st->bad_payload,
            (unsigned long long)st->resyncs,
            st->rate_hz ? (double)st->silence_samples / st->rate_hz : 0.0);
        put(&l, ",\"source_changes\":%llu", (unsigned long long)c->src_changes);
        if (c->prev_name[0])
            put(&l, ",\"ssrc_change_from\":\"%s\"", c->prev_name);
    } else {
        put(&l,
            ",\"path\":\"%s\",\"channels\":%d,\"binary_messages\":%llu,\"text_messages\":%llu,"
            "\"pings\":%llu,\"partial_frame_bytes\":%llu",
            c->path, c->ws_ch, (unsigned long long)c->ws_binary, (unsigned long long)c->ws_text,
            (unsigned long long)c->ws_pings, (unsigned long long)c->ws_odd_bytes);
        if (c->ws_close_code)
            put(&l, ",\"peer_close_code\":%d", c->ws_close_code);
    }
    if (c->srv->p.probe_len) { /* asked for, and the seconds of it that went out */
        pthread_mutex_lock(&c->mu);
        const unsigned probes = c->probes;
        pthread_mutex_unlock(&c->mu);
        put(&l, ",\"probes\":%u,\"probe_sec\":%.3f", probes,
            (double)c->probe_samples / CQ_CLASSIFY_RATE);
    }
    memcpy(c->extra, l.b, l.n < sizeof(c->extra) ? l.n : sizeof(c->extra) - 1);
    c->extra[l.n < sizeof(c->extra) ? l.n : sizeof(c->extra) - 1] = 0;
}

/* What a connection that never identified its call is told as it is closed for the pool's
 * sake or the cap's: AudioSocket an error frame; WebSocket before its Upgrade is through an
 * HTTP answer (408 too slow, 503 no room), after it a close frame (1008 too slow, 1013 no room,
 * try again later). */
static void send_refusal(call *c, end_reason reason)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    static const char slow[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    if (c->input == LV_INPUT_AUDIOSOCKET) {
        send_error(c->fd);
    } else if (c->hdr) {
        const char *a = reason == R_IDENT_TIMEOUT ? slow : busy;
        send_frame(c->fd, (const uint8_t *)a, strlen(a));
    } else {
        ws_send_close(c, reason == R_IDENT_TIMEOUT ? 1008 : 1013,
                      reason == R_IDENT_TIMEOUT ? "no message in time" : "no room, try again");
    }
}

/* End a connection or stream once: a call (named) is handed to the analysis side to finish,
 * with its reason; a connection that never named its call is refused. Its release waits for
 * the end of the epoll batch (*closed). */
static void conn_end(call *c, end_reason reason, const char *err, call **closed)
{
    lv_server *s = c->srv;
    if (!c->open)
        return;
    c->open = false;
    pending_remove(s, c);
    if (c->input == LV_INPUT_RTP) {
        lv_rtp_flush(c->rtp); /* what it held is played out, the holes as silence */
        ssrc_remove(s, c);
        tomb_add(s, c->ssrc, reason, cq_clock_mono_sec());
    }
    if (c->fd >= 0) {
        if (reason == R_FULL || reason == R_IDENT_TIMEOUT || reason == R_EVICTED)
            send_refusal(c, reason);
        else if (reason == R_ERROR && c->input == LV_INPUT_AUDIOSOCKET)
            send_error(c->fd);
        if (c->input == LV_INPUT_WEBSOCKET && reason != R_PEER_CLOSED)
            ws_send_close(c,
                          reason == R_SHUTDOWN ? LV_WS_CLOSE_GOING_AWAY
                          : reason == R_ERROR  ? LV_WS_CLOSE_INTERNAL
                                               : LV_WS_CLOSE_NORMAL,
                          k_reason[reason]);
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    conn_unlink(s, c);
    if (c->named) {
        input_summary(c);
        pthread_mutex_lock(&c->mu);
        c->ended = true;
        c->reason = reason;
        if (err)
            snprintf(c->err, sizeof(c->err), "%s", err);
        schedule_locked(c);
        pthread_mutex_unlock(&c->mu);
    } else if (reason == R_FULL) {
        atomic_fetch_add(&s->refused_full, 1);
    } else if (reason == R_IDENT_TIMEOUT) {
        atomic_fetch_add(&s->ident_timeout, 1);
    } else if (reason == R_EVICTED) {
        atomic_fetch_add(&s->ident_evicted, 1);
    } else if (c->input == LV_INPUT_WEBSOCKET) {
        atomic_fetch_add(&s->ws_refused, 1);
    } else {
        atomic_fetch_add(&s->refused_uuid, 1);
    }
    c->next_closed = *closed;
    *closed = c;
}

/* A frame of n samples went into the ring now: its arrival stamp (a full list extends the
 * newest stamp, whose time is earlier: the waits measured are never shorter than they were). */
static void stamp_locked(call *c, size_t n)
{
    c->enqueued += n;
    if (c->st_len == ST_CAP) {
        c->st[(c->st_head + ST_CAP - 1) % ST_CAP].end = c->enqueued;
        return;
    }
    c->st[(c->st_head + c->st_len) % ST_CAP] =
        (struct stamp){.end = c->enqueued, .t = cq_clock_mono_sec()};
    c->st_len++;
}

/* n samples at rate into the call's ring, made at its first audio (queue_sec of it); what does
 * not fit is dropped and counted. Returns R_NONE, or why the call is to end (R_MAX_DURATION;
 * R_ERROR with msg[160]: no memory, or a change of rate). */
static end_reason ring_put(call *c, const int16_t *pcm, size_t count, uint32_t rate, char *msg)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    if (!c->rate) {
        size_t cap = (size_t)(s->p.queue_sec * rate);
        if (!(c->ring = malloc((cap ? cap : 1) * sizeof(int16_t)))) {
            pthread_mutex_unlock(&c->mu);
            snprintf(msg, 160, "out of memory for the call's audio queue");
            return R_ERROR;
        }
        c->cap = cap ? cap : 1;
        c->rate = rate;
    } else if (c->rate != rate) {
        snprintf(msg, 160, "audio rate changed from %u to %u Hz within the call", (unsigned)c->rate,
                 (unsigned)rate);
        pthread_mutex_unlock(&c->mu);
        return R_ERROR;
    }
    size_t space = c->cap - c->len, n = count < space ? count : space;
    size_t tail = (c->head + c->len) % c->cap;
    for (size_t i = 0; i < n; i++)
        c->ring[(tail + i) % c->cap] = pcm[i];
    c->len += n;
    c->rx_samples += count;
    if (n)
        stamp_locked(c, n);
    if (n < count) {
        c->dropped += count - n;
        atomic_fetch_add(&s->audio_dropped, count - n);
    }
    bool over = (double)c->rx_samples / c->rate > s->p.max_call_sec;
    if (n)
        schedule_locked(c);
    pthread_mutex_unlock(&c->mu);
    return over ? R_MAX_DURATION : R_NONE;
}

/* frames of little-endian L16 with ch channels (1, or 2 mixed to one: their mean) into the
 * ring, a block at a time. */
static end_reason ring_put_le(call *c, const uint8_t *b, size_t frames, int ch, uint32_t rate,
                              char *msg)
{
    int16_t x[1024], a[1024], z[1024];
    int16_t *const planes[2] = {a, z};
    while (frames) {
        size_t k = frames < 1024 ? frames : 1024;
        if (ch == 1) {
            lv_pcm_s16le(b, k, x);
        } else {
            (void)lv_pcm_s16le_planar(b, k * 4, 2, planes);
            for (size_t i = 0; i < k; i++)
                x[i] = (int16_t)(((int)a[i] + (int)z[i]) / 2);
        }
        end_reason r = ring_put(c, x, k, rate, msg);
        if (r != R_NONE)
            return r;
        b += k * 2 * (size_t)ch, frames -= k;
    }
    return R_NONE;
}

/* ---- AudioSocket ------------------------------------------------------------------------------
 */

/* The next piece of the probe to play beside n samples received (PROBE_FRAME_MAX at most) into
 * pcm: how many samples, 0 when none is asked for. Its first piece marks where the line hears
 * it begin: after the audio just received. */
static size_t probe_take(call *c, size_t n, int16_t *pcm)
{
    const lv_server *s = c->srv;
    size_t k = 0;
    pthread_mutex_lock(&c->mu);
    if (c->probe_on) {
        if (!c->probe_pos)
            c->probe_began = true, c->probe_at = c->rx_samples;
        k = n < PROBE_FRAME_MAX ? n : PROBE_FRAME_MAX;
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
static void probe_out(call *c, size_t n)
{
    if (c->pout_off < c->pout_len) { /* what the socket did not take last time */
        ssize_t k = send(c->fd, c->pout + c->pout_off, c->pout_len - c->pout_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0)
            c->pout_off += (size_t)k;
        if (c->pout_off < c->pout_len)
            return;
    }
    int16_t pcm[PROBE_FRAME_MAX];
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

static void on_audio(call *c, const lv_as_frame *f, call **closed)
{
    char msg[160] = "";
    end_reason r = ring_put_le(c, f->payload, f->samples, 1, f->rate_hz, msg);
    if (r != R_NONE) {
        conn_end(c, r, msg[0] ? msg : NULL, closed);
        return;
    }
    if (c->srv->p.probe_len && f->rate_hz == CQ_CLASSIFY_RATE)
        probe_out(c, f->samples);
}

static void on_dtmf(call *c, char digit)
{
    const bool mask = c->srv->p.mask_digits;
    pthread_mutex_lock(&c->mu);
    double at = c->rate ? (double)c->rx_samples / c->rate : 0;
    if (mask && c->rate) /* the frame comes as the digit ends: the half second before it muted */
        mute_locked(c, c->rx_samples > c->rate / 2 ? c->rx_samples - c->rate / 2 : 0,
                    c->rx_samples + (uint64_t)(MUTE_GUARD_SEC * c->rate));
    pthread_mutex_unlock(&c->mu);
    lbuf l = {.n = 0};
    put_head(&l, c);
    put(&l, "\"type\":\"dtmf\",\"source\":\"audiosocket\",\"digit\":\"%c\"",
        mask ? '*' : digit); /* 0-9 * # A-D only: the decoder checked */
    put(&l, ",\"start\":%.3f", at);
    put_tail(&l, at);
    meta m = {.type = "dtmf", .start = at, .end = at, .at = at};
    snprintf(m.call, sizeof(m.call), "%s", c->name);
    call_emit(c, &m, l.b, l.n);
}

/* The connection has identified its call: it leaves the pending pool and counts against
 * max_calls, and the analysis side's reference is taken: from here on the call ends with a
 * call_end. False when max_calls calls are open: the connection is refused (ended). */
static bool become_call(call *c, call **closed)
{
    lv_server *s = c->srv;
    if (c->pending) {
        pending_remove(s, c);
        if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls) {
            conn_end(c, R_FULL, NULL, closed);
            return false;
        }
    }
    c->named = true;
    c->refs++; /* the analysis side's: released when it has finished the call */
    atomic_fetch_add(&s->active, 1);
    atomic_fetch_add(&s->calls, 1);
    if (s->p.on_call) /* FastAGI: requests that name it are known */
        s->p.on_call(s->p.user, c->name);
    return true;
}

/* One whole frame. */
static void on_frame(call *c, const lv_as_frame *f, call **closed)
{
    char msg[160];
    c->frames++;
    c->t_last = cq_clock_mono_sec(); /* a whole frame: the stall counts from here */
    if (!c->named) {
        if (f->kind != LV_AS_UUID) {
            fprintf(stderr,
                    "callqa live: refused a connection whose first frame is %s, not a UUID\n",
                    lv_as_kind_name(f->kind));
            conn_end(c, R_ERROR, NULL, closed);
            return;
        }
        lv_as_uuid_str(f->uuid, c->name);
        (void)become_call(c, closed);
        return;
    }
    switch (f->kind) {
    case LV_AS_HANGUP: conn_end(c, R_HANGUP, NULL, closed); return;
    case LV_AS_UUID: conn_end(c, R_ERROR, "a second UUID frame within the call", closed); return;
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
        conn_end(c, f->error_code == LV_AS_ERR_HANGUP ? R_HANGUP : R_ERROR, msg, closed);
        return;
    default:
        if (f->rate_hz)
            on_audio(c, f, closed);
        return;
    }
}

static void as_bytes(call *c, const uint8_t *buf, size_t k, call **closed)
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
            conn_end(c, R_ERROR, e->msg[0] ? e->msg : lv_strerror(r), closed);
            return;
        }
        on_frame(c, &f, closed);
    }
}

/* ---- WebSocket --------------------------------------------------------------------------------
 */

/* A call's name from the peer's bytes: at most NAME_MAX_LEN of them, each byte outside
 * [A-Za-z0-9._:/@+=-] made '_', so that a name is always safe in a JSON string. */
static void safe_name(char *dst, const char *src, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && src[i] && k < NAME_MAX_LEN; i++) {
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
static bool ws_format(call *c, const char *target, char *msg, size_t cap)
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
static void ws_name_from_metadata(call *c, const uint8_t *text, size_t len)
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

static bool ws_become_call(call *c, call **closed)
{
    if (!c->name[0]) { /* no name in the metadata: the path, else a number */
        if (c->path[0] && strcmp(c->path, "/") != 0)
            safe_name(c->name, c->path, strlen(c->path));
        else
            snprintf(c->name, sizeof(c->name), "ws-%llu", (unsigned long long)++c->srv->ws_seq);
    }
    return become_call(c, closed);
}

/*
 * The probe over the WebSocket: the whole of it in one playAudio frame (mod_audio_fork writes it
 * to a file and the dialplan plays it), sent beside the audio frames that come in, never waited
 * for: what the socket did not take is sent beside the next ones. It began, for the classifier,
 * when its first bytes went out; the dialplan's playback starts a little later, inside the
 * reply's window (docs/live.md, "Asking the line"). False while part of the frame is unsent: no
 * other frame may go out then.
 */
static bool ws_probe_out(call *c)
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

static void ws_msg(call *c, const lv_ws_msg *m, call **closed)
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
        end_reason r = ring_put_le(c, m->data, frames, c->ws_ch, c->ws_rate, msg);
        if (r != R_NONE)
            conn_end(c, r, msg[0] ? msg : NULL, closed);
        else if (c->srv->ws_probe)
            (void)ws_probe_out(c);
        return;
    }
    case LV_WS_PING:
        c->ws_pings++;
        if (ws_probe_out(c)) /* a pong in the middle of the probe's frame would break both */
            send_frame(c->fd, b,
                       lv_ws_encode(b, sizeof(b), LV_WS_PONG, true, NULL, m->data, m->len));
        return;
    case LV_WS_CLOSE:
        c->ws_close_code = m->close_code;
        ws_send_close(
            c, m->close_code == LV_WS_CLOSE_NO_STATUS ? LV_WS_CLOSE_NORMAL : m->close_code, NULL);
        conn_end(c, R_HANGUP, NULL, closed);
        return;
    default: return; /* a pong */
    }
}

static void ws_frames(call *c, const uint8_t *buf, size_t k, call **closed)
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
            ws_send_close(c, lv_ws_close_code_for(r), lv_err_name(r));
            conn_end(c, R_ERROR, e->msg[0] ? e->msg : lv_strerror(r), closed);
            return;
        }
        ws_msg(c, &m, closed);
    }
}

/* The Upgrade request, as its bytes come; then the 101 answer and the frames after it. */
static void ws_bytes(call *c, const uint8_t *buf, size_t k, call **closed)
{
    if (!c->hdr) {
        ws_frames(c, buf, k, closed);
        return;
    }
    size_t take = WS_HEADER_MAX - c->hdr_len < k ? WS_HEADER_MAX - c->hdr_len : k;
    memcpy(c->hdr + c->hdr_len, buf, take);
    c->hdr_len += take;
    lv_ws_upgrade up;
    lv_error e;
    lv__clear(&e);
    int r = lv_ws_upgrade_parse(c->hdr, c->hdr_len, WS_HEADER_MAX, &up, &e);
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
        send_frame(c->fd, (const uint8_t *)busy, sizeof(busy) - 1);
        conn_end(c, R_ERROR, "out of memory for the WebSocket decoder", closed);
        return;
    }
    if (r < 0) {
        send_frame(c->fd, (const uint8_t *)out, lv_ws_reject_response(r, out, sizeof(out)));
        fprintf(stderr, "callqa live: refused a WebSocket connection: %s\n", msg[0] ? msg : e.msg);
        conn_end(c, R_ERROR, NULL, closed);
        return;
    }
    if (atomic_load(&c->srv->active) >= (uint64_t)c->srv->p.max_calls) {
        conn_end(c, R_FULL, NULL, closed); /* 503, before the 101 (c->hdr is still there) */
        return;
    }
    c->t_last = cq_clock_mono_sec(); /* the whole Upgrade request */
    (void)lv_ws_choose_protocol(&up, "audio.drachtio.org,audiostream.drachtio.org");
    n = lv_ws_upgrade_response(&up, out, sizeof(out));
    send_frame(c->fd, (const uint8_t *)out, n);
    size_t pl = strcspn(up.path, "?");
    safe_name(c->path, up.path, pl < sizeof(c->path) - 1 ? pl : sizeof(c->path) - 1);
    uint8_t *h = c->hdr;
    c->hdr = NULL; /* upgraded: from here on, frames */
    ws_frames(c, h + r, c->hdr_len - (size_t)r, closed);
    if (take < k && c->open)
        ws_frames(c, buf + take, k - take, closed);
    free(h);
}

/* ---- connections (AudioSocket, WebSocket) ---------------------------------------------------- */

static void on_readable(call *c, uint8_t *buf, call **closed)
{
    for (int reads = 0; reads < 4 && c->open; reads++) {
        ssize_t k = recv(c->fd, buf, READ_BUF, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            conn_end(c, R_PEER_CLOSED, strerror(errno), closed);
            return;
        }
        if (k == 0) {
            const char *why = NULL;
            if (c->input == LV_INPUT_WEBSOCKET)
                why = "the connection ended without a close frame";
            else if (!lv_as_at_boundary(c->dec))
                why = "the connection ended inside a frame";
            conn_end(c, R_PEER_CLOSED, why, closed);
            return;
        }
        if (c->pending)
            c->pend_got += (size_t)k;
        if (c->input == LV_INPUT_WEBSOCKET)
            ws_bytes(c, buf, (size_t)k, closed);
        else
            as_bytes(c, buf, (size_t)k, closed);
    }
}

static void refuse(lv_server *s, int fd, lv_input in)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    if (in == LV_INPUT_WEBSOCKET)
        send_frame(fd, (const uint8_t *)busy, sizeof(busy) - 1);
    else
        send_error(fd);
    close(fd);
    atomic_fetch_add(&s->refused_full, 1);
}

/* Room in the pending pool for one more connection from `peer`: while its address holds
 * max_pending_per_client of them, or the pool max_pending, one of those (the address's, then
 * anyone's) is read one last time (what it sent may identify it now) and, still not identified,
 * closed (R_EVICTED): the oldest that has sent nothing (spared if its bytes came meanwhile), else
 * the oldest. Each round closes one or takes one out of the silent. A real call sends its
 * identification as it connects (a WebSocket call its Upgrade, then, a round trip later, its
 * first message), so a flood of connections that send nothing, from its own address too, never
 * closes it, and the new connection is never the one refused. */
static void make_room(lv_server *s, const struct sockaddr_storage *peer, uint8_t *buf,
                      call **closed)
{
    for (;;) {
        size_t n = 0, same = 0;
        call *oldest_same = NULL, *silent_same = NULL, *silent = NULL;
        for (call *c = s->pend_head; c; c = c->pnext) { /* oldest first */
            n++;
            bool mine = same_host(&c->src, peer);
            if (mine && !same++)
                oldest_same = c;
            if (!c->pend_got && !silent)
                silent = c;
            if (!c->pend_got && mine && !silent_same)
                silent_same = c;
        }
        call *v = same >= (size_t)s->p.max_pending_per_client
                      ? (silent_same ? silent_same : oldest_same)
                  : n >= (size_t)s->p.max_pending ? (silent ? silent : s->pend_head)
                                                  : NULL;
        if (!v)
            return;
        size_t had = v->pend_got;
        on_readable(v, buf, closed); /* its last chance: a frame that came meanwhile */
        if (v->pending && (had || v->pend_got == had)) /* silent until now: spared if it spoke */
            conn_end(v, R_EVICTED, NULL, closed);
    }
}

static void on_accept(lv_server *s, int lfd, lv_input in, uint8_t *buf, call **closed)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) { /* then the other sockets get their turn */
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "callqa live: accept: %s (connections wait in the backlog)\n",
                        strerror(errno));
            return;
        }
        atomic_fetch_add(&s->accepted, 1);
        if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls) {
            refuse(s, fd, in);
            continue;
        }
        make_room(s, &peer, buf, closed);
        lv_as_params ap = {.max_payload = s->p.max_payload};
        call *c = calloc(1, sizeof(*c));
        bool made = c && pthread_mutex_init(&c->mu, NULL) == 0;
        if (made && in == LV_INPUT_AUDIOSOCKET)
            made = (c->dec = lv_as_create(&ap, NULL)) != NULL;
        else if (made) /* its frame decoder once the Upgrade is through */
            made = (c->hdr = malloc(WS_HEADER_MAX)) != NULL;
        if (!made) {
            if (c) {
                lv_as_destroy(c->dec);
                pthread_mutex_destroy(&c->mu);
            }
            free(c);
            refuse(s, fd, in);
            continue;
        }
        c->srv = s;
        c->input = in;
        c->fd = fd;
        c->open = true;
        c->refs = 1;
        c->src = peer;
        c->src_len = pl;
        c->t_accept = c->t_last = cq_clock_mono_sec();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            lv_as_destroy(c->dec);
            free(c->hdr);
            pthread_mutex_destroy(&c->mu);
            free(c);
            close(fd);
            continue;
        }
        conn_link(s, c);
        pending_add(s, c);
    }
}

/* ---- RTP --------------------------------------------------------------------------------------
 */

/* The receiver's PCM, in playout order, into the ring. Runs inside lv_rtp_push or _flush, so an
 * end it calls for waits until the receiver has returned (pend_end). */
static void rtp_pcm(void *user, const lv_rtp_block *b)
{
    call *c = user;
    if (c->pend_end != R_NONE)
        return;
    end_reason r = ring_put(c, b->pcm, b->n, b->rate_hz, c->pend_msg);
    if (r != R_NONE)
        c->pend_end = r;
}

/* A call for an SSRC that has shown it is a stream, from its first packet at `first` (the
 * clock of max_call_sec); NULL when max_calls is reached or memory is short. A stream that came
 * from the same source address before it has ended: an SSRC change ends that call. */
static call *rtp_call_new(lv_server *s, uint32_t ssrc, const struct sockaddr_storage *src,
                          socklen_t sl, double first, call **closed)
{
    char prev[16] = "";
    for (call *o = s->conns; o; o = o->next) {
        if (o->input == LV_INPUT_RTP && same_addr(&o->src, src)) {
            memcpy(prev, o->name, sizeof(prev) - 1); /* "rtp-" and 8 hex digits */
            conn_end(o, R_SSRC_CHANGE, NULL, closed);
            break;
        }
    }
    if (atomic_load(&s->active) >= (uint64_t)s->p.max_calls)
        return NULL;
    call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    lv_rtp_params rp = lv_rtp_default_params();
    rp.map = s->p.rtp_map;
    rp.window_ms = s->p.rtp_window_ms;
    rp.max_streams = 1;
    rp.on_pcm = rtp_pcm;
    rp.user = c;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (!(c->rtp = lv_rtp_create(&rp, NULL))) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    c->srv = s;
    c->input = LV_INPUT_RTP;
    c->fd = -1;
    c->open = true;
    c->refs = 1;
    c->ssrc = ssrc;
    c->src = *src;
    c->src_len = sl;
    c->t_accept = c->t_last = first;
    snprintf(c->name, sizeof(c->name), "rtp-%08x", ssrc);
    memcpy(c->prev_name, prev, sizeof(prev));
    size_t slot = ssrc_slot(s, ssrc);
    c->hnext = s->ssrc_tab[slot];
    s->ssrc_tab[slot] = c;
    conn_link(s, c);
    (void)become_call(c, closed); /* it waited in the RTP pool, not on the pending list */
    return c;
}

/*
 * The media source of an RTP call: the address (IP and port) its packets come from. It starts as
 * the one the packets that showed the stream came from (all five from one address) and follows
 * the stream: a packet that carried the stream forward (lv_rtp took it: not a duplicate, not
 * late) from another address counts for that address, and LV_RTP_IDENT_PACKETS of them in a row,
 * with none from the source between them, make it the source (src_changes). A packet from the
 * source starts the count again; one from a third address starts it for that one. The probe
 * goes only to the source, and only beside a packet that came from it (rtp_readable): nothing
 * is sent to an address that did not send the call's last packet, and a forger gets at most one
 * packet back, of as many samples, for each packet of the call it sends from its own address.
 */
static void rtp_follow(call *c, const struct sockaddr_storage *from, socklen_t len)
{
    if (same_addr(from, &c->src)) {
        c->cand_n = 0;
        return;
    }
    if (!c->cand_n || !same_addr(from, &c->cand)) {
        memcpy(&c->cand, from, len < sizeof(c->cand) ? len : sizeof(c->cand));
        c->cand_len = len;
        c->cand_n = 0;
    }
    if (++c->cand_n < LV_RTP_IDENT_PACKETS)
        return;
    c->src = c->cand;
    c->src_len = c->cand_len;
    c->cand_n = 0;
    c->src_changes++;
}

/*
 * The probe over RTP, back to the call's media source (ARI externalMedia takes the media it
 * sends back there, RFC 4961's symmetric RTP), as the answer to a packet of the call that came
 * from there just now (rtp_readable): a stream of its own (a random SSRC,
 * sequence and timestamp base, the marker on its first packet), in the received packet's payload
 * type, one packet of as many samples beside each packet received (the peer's clock). At 8 kHz
 * only: PCMU, PCMA, L16 in either byte order.
 */
static void rtp_probe_out(lv_server *s, call *c, const lv_rtp_header *h)
{
    const lv_codec codec = (lv_codec)s->p.rtp_map.codec[h->pt];
    if (s->p.rtp_map.rate_hz[h->pt] != CQ_CLASSIFY_RATE || codec == LV_CODEC_NONE)
        return;
    size_t n =
        codec == LV_CODEC_PCMU || codec == LV_CODEC_PCMA ? h->payload_len : h->payload_len / 2;
    int16_t pcm[PROBE_FRAME_MAX];
    const size_t k = probe_take(c, n, pcm);
    if (!k)
        return;
    uint8_t pay[2 * PROBE_FRAME_MAX], pkt[12 + 2 * PROBE_FRAME_MAX];
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

/* ---- RTP: SSRCs before their call (the pool's rules at the top of this file) ----------------- */

static size_t rp_slot(const lv_server *s, uint32_t ssrc)
{
    return (size_t)(uint32_t)(ssrc * 2654435761u) & s->rp_mask;
}

static rpend *rp_find(lv_server *s, uint32_t ssrc)
{
    for (rpend *e = s->rp_tab[rp_slot(s, ssrc)]; e; e = e->hnext)
        if (e->ssrc == ssrc)
            return e;
    return NULL;
}

/* Onto the tail of the list of those that have shown as many packets as e. */
static void rp_level_link(lv_server *s, rpend *e)
{
    e->lnext = NULL;
    e->lprev = s->rp_ltail[e->shown];
    if (e->lprev)
        e->lprev->lnext = e;
    else
        s->rp_lhead[e->shown] = e;
    s->rp_ltail[e->shown] = e;
}

static void rp_level_unlink(lv_server *s, rpend *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        s->rp_lhead[e->shown] = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        s->rp_ltail[e->shown] = e->lprev;
    e->lprev = e->lnext = NULL;
}

typedef enum rp_end { RP_CALL, RP_REFUSED, RP_TIMEOUT, RP_EVICTED, RP_SHUTDOWN } rp_end;

/* An SSRC leaves the pool: a call now (its datagrams played into it), refused, or dropped with
 * what it kept (counted). */
static void rp_drop(lv_server *s, rpend *e, rp_end why)
{
    rpend **pp = &s->rp_tab[rp_slot(s, e->ssrc)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->aprev)
        e->aprev->anext = e->anext;
    else
        s->rp_ahead = e->anext;
    if (e->anext)
        e->anext->aprev = e->aprev;
    else
        s->rp_atail = e->aprev;
    rp_level_unlink(s, e);
    s->rp_n--;
    s->rp_bytes -= e->kept_cap;
    atomic_fetch_sub(&s->rtp_unidentified, 1);
    if (why == RP_TIMEOUT || why == RP_EVICTED) {
        atomic_fetch_add(why == RP_TIMEOUT ? &s->rtp_ident_timeout : &s->rtp_ident_evicted, 1);
        atomic_fetch_add(&s->rtp_ident_dropped, e->nkept);
    }
    free(e->kept);
    free(e);
}

/* Room for `bytes` more datagram bytes and, with `add`, one more SSRC: while there is none, of
 * the SSRCs that have shown the fewest packets in sequence the one that has shown that many the
 * longest is dropped (never `self`). A real stream shows a packet every 20 ms, so what is
 * dropped is what shows nothing: one packet of a made-up SSRC, re-sent or not. False when only
 * `self` is left. */
static bool rp_room(lv_server *s, size_t bytes, bool add, const rpend *self)
{
    while ((add && s->rp_n >= (size_t)s->p.rtp_max_pending) || s->rp_bytes + bytes > s->rp_budget) {
        rpend *v = NULL;
        for (int l = 0; l < LV_RTP_IDENT_PACKETS && !v; l++) {
            rpend *h = s->rp_lhead[l];
            v = h && h == self ? h->lnext : h;
        }
        if (!v)
            return false;
        rp_drop(s, v, RP_EVICTED);
    }
    return true;
}

static rpend *rp_new(lv_server *s, uint32_t ssrc, const struct sockaddr_storage *src, socklen_t sl,
                     double now)
{
    (void)rp_room(s, 0, true, NULL); /* never false: there is no self */
    rpend *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ssrc = ssrc;
    e->t_first = now;
    e->src_len = sl < sizeof(e->src) ? sl : sizeof(e->src);
    memcpy(&e->src, src, e->src_len);
    size_t slot = rp_slot(s, ssrc);
    e->hnext = s->rp_tab[slot];
    s->rp_tab[slot] = e;
    e->aprev = s->rp_atail;
    if (s->rp_atail)
        s->rp_atail->anext = e;
    else
        s->rp_ahead = e;
    s->rp_atail = e;
    rp_level_link(s, e);
    s->rp_n++;
    atomic_fetch_add(&s->rtp_unidentified, 1);
    return e;
}

/* Whether this packet takes the SSRC on to being a stream; true when it has shown
 * LV_RTP_IDENT_PACKETS packets in sequence. A payload type that is not audio (telephone-event,
 * comfort noise) neither counts nor breaks the count, nor does a packet at or behind the last
 * that counted (a duplicate, or reordered); any other that does not follow the last, or that
 * came from another address than the last that counted (moved), starts the count again from
 * itself: the packets that show a stream all come from one address, its media source. */
static bool rp_shows(lv_server *s, rpend *e, const lv_rtp_header *h, bool moved, bool *restart)
{
    *restart = false;
    if (s->p.rtp_map.codec[h->pt] == LV_CODEC_NONE)
        return false;
    if (e->shown && h->pt == e->pt && !moved) {
        const int dseq = (int16_t)(uint16_t)(h->seq - e->seq);
        const uint32_t dts = h->ts - e->ts; /* modulo 2^32, as the timestamps wrap */
        if (dseq > 0 && dseq <= RTP_IDENT_GAP && dts > 0 &&
            dts <= (uint32_t)dseq * RTP_IDENT_SAMPLES) {
            e->seq = h->seq;
            e->ts = h->ts;
            if (e->shown + 1 >= LV_RTP_IDENT_PACKETS)
                return true;
            rp_level_unlink(s, e);
            e->shown++;
            rp_level_link(s, e);
            return false;
        }
        if (dseq <= 0 && dseq >= -RTP_IDENT_GAP)
            return false;
    }
    rp_level_unlink(s, e);
    *restart = true;
    e->shown = 1;
    e->pt = h->pt;
    e->seq = h->seq;
    e->ts = h->ts;
    rp_level_link(s, e);
    return false;
}

/* Keep a datagram of a waiting SSRC: not one whose sequence number it keeps already (a
 * duplicate its call would drop), the oldest making way past RTP_KEEP. */
static void rp_keep(lv_server *s, rpend *e, const uint8_t *d, size_t n)
{
    size_t off = 0;
    for (unsigned i = 0; i < e->nkept; i++) {
        const uint8_t *k = e->kept + off;
        if (k[4] == d[2] && k[5] == d[3]) {
            atomic_fetch_add(&s->rtp_ident_dropped, 1);
            return;
        }
        off += 2 + (size_t)(k[0] << 8 | k[1]);
    }
    if (e->nkept == RTP_KEEP) {
        const size_t first = 2 + (size_t)(e->kept[0] << 8 | e->kept[1]);
        memmove(e->kept, e->kept + first, e->kept_len - first);
        e->kept_len -= first;
        e->nkept--;
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
    }
    const size_t want = e->kept_len + 2 + n;
    uint8_t *k = NULL;
    if (!rp_room(s, want > e->kept_cap ? want - e->kept_cap : 0, false, e) ||
        !(k = realloc(e->kept, want))) {
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
        return;
    }
    s->rp_bytes = s->rp_bytes - e->kept_cap + want;
    e->kept = k;
    e->kept_cap = want;
    k[e->kept_len] = (uint8_t)(n >> 8);
    k[e->kept_len + 1] = (uint8_t)n;
    memcpy(k + e->kept_len + 2, d, n);
    e->kept_len = want;
    e->nkept++;
}

/* The SSRC has shown it is a stream: a call (an open one from its source address ends as an
 * SSRC change), its datagrams played into it in the order they came; with max_calls calls
 * open it is refused, its datagrams counted, and waits again from its next packet. */
static void rp_identified(lv_server *s, rpend *e, double now, call **closed)
{
    struct sockaddr_storage src;
    memset(&src, 0, sizeof(src));
    memcpy(&src, &e->src, e->src_len);
    call *c = rtp_call_new(s, e->ssrc, &src, e->src_len, e->t_first, closed);
    if (!c) {
        atomic_fetch_add(&s->rtp_refused, e->nkept);
        rp_drop(s, e, RP_REFUSED);
        return;
    }
    c->t_last = now;
    size_t off = 0;
    for (unsigned i = 0; i < e->nkept; i++) {
        const size_t n = (size_t)(e->kept[off] << 8 | e->kept[off + 1]);
        if (!c->open) { /* ended (max_duration) while its datagrams were played */
            atomic_fetch_add(&s->rtp_after_end, 1);
        } else {
            if (lv_rtp_push(c->rtp, e->kept + off + 2, n) < 0)
                atomic_fetch_add(&s->rtp_malformed, 1);
            if (c->pend_end != R_NONE)
                conn_end(c, c->pend_end, c->pend_msg[0] ? c->pend_msg : NULL, closed);
        }
        off += 2 + n;
    }
    rp_drop(s, e, RP_CALL);
}

/* A datagram of an SSRC that is no call: ignored when its call ended (a tomb); else into the
 * pool, where it may make its SSRC a call. */
static void rtp_waiting(lv_server *s, const lv_rtp_header *h, const uint8_t *d, size_t n,
                        const struct sockaddr_storage *src, socklen_t sl, double now, call **closed)
{
    rpend *e = rp_find(s, h->ssrc);
    if (!e && tomb_hit(s, h->ssrc, now)) {
        atomic_fetch_add(&s->rtp_after_end, 1);
        return;
    }
    if (n > RTP_KEEP_DGRAM || (!e && !(e = rp_new(s, h->ssrc, src, sl, now)))) {
        atomic_fetch_add(&s->rtp_ident_dropped, 1);
        return;
    }
    struct sockaddr_storage was;
    memset(&was, 0, sizeof(was));
    memcpy(&was, &e->src, e->src_len);
    const bool moved = e->shown && !same_addr(&was, src);
    bool restart;
    const bool stream = rp_shows(s, e, h, moved, &restart);
    if (restart) { /* the count starts here: its source is this packet's */
        e->src_len = sl < sizeof(e->src) ? sl : sizeof(e->src);
        memcpy(&e->src, src, e->src_len);
    }
    rp_keep(s, e, d, n);
    if (stream)
        rp_identified(s, e, now, closed);
}

/* The packets an RTP call's receiver has taken into its stream (duplicates and late ones not). */
static uint64_t rtp_taken(const call *c)
{
    return lv_rtp_stream_count(c->rtp) ? lv_rtp_stream_stats(c->rtp, 0)->packets : 0;
}

static void rtp_readable(lv_server *s, uint8_t *buf, call **closed)
{
    double now = cq_clock_mono_sec();
    for (int i = 0; i < RTP_BATCH; i++) {
        struct sockaddr_storage src;
        socklen_t sl = sizeof(src);
        ssize_t k = recvfrom(s->rtp_fd, buf, READ_BUF, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        atomic_fetch_add(&s->rtp_datagrams, 1);
        lv_rtp_header h;
        /* not RTP; or RTCP sent to this port (its packet types 200-204 read as RTP payload
         * types 72-76 with the marker set, RFC 5761 4): nothing to play, no call to make */
        if (lv_rtp_parse(buf, (size_t)k, &h, NULL) != LV_OK || (h.pt >= 72 && h.pt <= 76)) {
            atomic_fetch_add(&s->rtp_malformed, 1);
            continue;
        }
        call *c = ssrc_find(s, h.ssrc);
        if (!c) {
            rtp_waiting(s, &h, buf, (size_t)k, &src, sl, now, closed);
            continue;
        }
        const uint64_t had = rtp_taken(c);
        if (lv_rtp_push(c->rtp, buf, (size_t)k) < 0)
            atomic_fetch_add(&s->rtp_malformed, 1);
        const bool took = rtp_taken(c) > had; /* it carried the stream forward */
        if (took) {
            c->t_last = now;
            rtp_follow(c, &src, sl);
        }
        if (c->pend_end != R_NONE)
            conn_end(c, c->pend_end, c->pend_msg[0] ? c->pend_msg : NULL, closed);
        else if (s->p.probe_len && took && same_addr(&src, &c->src))
            rtp_probe_out(s, c, &h);
    }
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static void release_closed(call **closed)
{
    while (*closed) {
        call *c = *closed;
        *closed = c->next_closed;
        call_release(c);
    }
}

/* The clocks: connections that did not identify their call in time, stalled connections and
 * streams, calls over their time. */
static void check_timers(lv_server *s, double now, call **closed)
{
    while (s->pend_head && now - s->pend_head->t_accept > s->p.ident_sec)
        conn_end(s->pend_head, R_IDENT_TIMEOUT, NULL, closed); /* oldest first */
    while (s->rp_ahead && now - s->rp_ahead->t_first > s->p.ident_sec)
        rp_drop(s, s->rp_ahead, RP_TIMEOUT); /* an SSRC that has not shown a stream */
    for (call *c = s->conns, *nx; c; c = nx) {
        nx = c->next;
        if (now - c->t_last > s->p.stall_sec) {
            char msg[80];
            snprintf(msg, sizeof(msg), "no %s for %.1f s",
                     c->input == LV_INPUT_RTP ? "packet" : "bytes", now - c->t_last);
            conn_end(c, R_STALLED, msg, closed);
        } else if (c->named && now - c->t_accept > s->p.max_call_sec) {
            conn_end(c, R_MAX_DURATION, NULL, closed);
        }
    }
}

int lv_server_run(lv_server *s)
{
    uint8_t *buf = malloc(READ_BUF);
    if (!buf)
        return LV_ERR_NOMEM;
    bool stopping = false;
    s->last_stats = cq_clock_mono_sec();
    while (!stopping) {
        struct epoll_event evs[256];
        int n = epoll_wait(s->ep, evs, 256, 100);
        call *closed = NULL;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &s->lfd) {
                on_accept(s, s->lfd, LV_INPUT_AUDIOSOCKET, buf, &closed);
            } else if (ptr == &s->ws_fd) {
                on_accept(s, s->ws_fd, LV_INPUT_WEBSOCKET, buf, &closed);
            } else if (ptr == &s->rtp_fd) {
                rtp_readable(s, buf, &closed);
            } else if (ptr == &s->efd) {
                uint64_t v;
                if (read(s->efd, &v, sizeof(v)) > 0)
                    stopping = true;
            } else {
                call *c = ptr;
                if (c->open && c->fd >= 0)
                    on_readable(c, buf, &closed);
            }
        }
        double now = cq_clock_mono_sec();
        if (now - s->last_timers >= 0.1) {
            s->last_timers = now;
            check_timers(s, now, &closed);
        }
        release_closed(&closed);
        if (s->p.stats_sec > 0 && now - s->last_stats >= s->p.stats_sec) {
            s->last_stats = now;
            emit_stats(s, false);
        }
    }
    free(buf);
    /* shutdown: no new connection or packet, every call ended, its analysis finished */
    int *lfds[] = {&s->lfd, &s->ws_fd, &s->rtp_fd};
    for (size_t i = 0; i < sizeof(lfds) / sizeof(lfds[0]); i++) {
        if (*lfds[i] >= 0) {
            epoll_ctl(s->ep, EPOLL_CTL_DEL, *lfds[i], NULL);
            close(*lfds[i]);
            *lfds[i] = -1;
        }
    }
    call *closed = NULL;
    while (s->rp_ahead) /* SSRCs that never became calls: nothing to finish */
        rp_drop(s, s->rp_ahead, RP_SHUTDOWN);
    while (s->conns)
        conn_end(s->conns, R_SHUTDOWN, NULL, &closed);
    release_closed(&closed);
    while (atomic_load(&s->active) > 0) {
        cq_clock_sleep(0.005);
    }
    emit_stats(s, true);
    return LV_OK;
}

void lv_server_destination(lv_server *s, const char *name, const char *dest)
{
    if (!s->p.announce || !lv_fps_dest_ok(dest))
        return;
    pthread_mutex_lock(&s->dest_mu);
    struct dest_note *n = &s->dests[s->ndest++ % DEST_RING];
    snprintf(n->call, sizeof(n->call), "%s", name);
    snprintf(n->dest, sizeof(n->dest), "%s", dest);
    pthread_mutex_unlock(&s->dest_mu);
    atomic_fetch_add(&s->dest_gen, 1);
}

void lv_server_stop(lv_server *s)
{
    uint64_t one = 1;
    if (s && write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter is already set: a stop is pending */
    }
}

/* ---- create, destroy ---------------------------------------------------------------------------
 */

static int cpus_usable(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

lv_server_params lv_server_default_params(void)
{
    lv_server_params p = {.host = "127.0.0.1",
                          .port = "9092",
                          .max_calls = 64,
                          .ident_sec = 5,
                          .max_pending = 1024,
                          .max_pending_per_client = 128,
                          .rtp_max_pending = 16384,
                          .max_call_sec = 4 * 3600,
                          .stall_sec = 10,
                          .queue_sec = 5,
                          .stats_sec = 10,
                          .threads = cpus_usable(),
                          .live_mode = CQ_LIVE_OFF,
                          .silence_sec = 5,
                          .max_payload = 16384,
                          .event_queue = 65536,
                          .events_fd = 1,
                          .vad_model = NULL,
                          .vad_batch = 32,
                          .batch_wait_sec = 0.010,
                          .record_dir = NULL,
                          .mask_digits = false,
                          .rtp_host = NULL,
                          .rtp_port = "0",
                          .rtp_map = lv_rtp_default_map(),
                          .rtp_window_ms = 60,
                          .ws_host = NULL,
                          .ws_port = "0",
                          .ws_rate_hz = 8000,
                          .ws_channels = 1,
                          .ws_max_message = 262144,
                          .on_event = NULL,
                          .on_stats = NULL,
                          .user = NULL};
    return p;
}

/* Enough descriptors for max_calls connections, those waiting to identify their call, the
 * refused ones in flight and our own. */
static void raise_fd_limit(int max_calls, int max_pending)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_calls + (rlim_t)max_pending + 256;
    if (want < 4096)
        want = 4096;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A parameter outside [lo, hi] (NaN too), named: "max_calls 0: out of range 1..100000". */
static bool out_of(cq_err *err, const char *name, double v, double lo, double hi)
{
    if (v >= lo && v <= hi)
        return false;
    cq_err_set(err, CQ_ERR_RANGE, "%s %.15g: out of range %.15g..%.15g", name, v, lo, hi);
    return true;
}

/* The parameters' checks: 0, or CQ_ERR_RANGE / CQ_ERR_INVALID with err naming the one out of
 * its range. */
static int check_params(const lv_server_params *p, cq_err *err)
{
    if (!p->host && !p->rtp_host && !p->ws_host)
        return cq_err_set(err, CQ_ERR_INVALID, "no input: an AudioSocket, RTP or WebSocket host");
    if ((p->host && !p->port) || (p->rtp_host && !p->rtp_port) || (p->ws_host && !p->ws_port))
        return cq_err_set(err, CQ_ERR_INVALID, "an input's host without its port");
    if (p->ws_rate_hz != 8000 && p->ws_rate_hz != 16000)
        return cq_err_set(err, CQ_ERR_RANGE, "ws_rate_hz %u: 8000 or 16000", p->ws_rate_hz);
    if (out_of(err, "rtp_window_ms", p->rtp_window_ms, 1, 2000) ||
        out_of(err, "ws_channels", p->ws_channels, 1, 2) ||
        out_of(err, "ws_max_message", (double)p->ws_max_message, 1024, 64u << 20) ||
        out_of(err, "max_calls", p->max_calls, 1, 100000) ||
        out_of(err, "ident_sec", p->ident_sec, 0.1, 3600) ||
        out_of(err, "max_pending", p->max_pending, 1, 100000) ||
        out_of(err, "max_pending_per_client", p->max_pending_per_client, 1, p->max_pending) ||
        out_of(err, "max_call_sec", p->max_call_sec, 1e-9, INFINITY) ||
        out_of(err, "stall_sec", p->stall_sec, 1e-9, INFINITY) ||
        out_of(err, "queue_sec", p->queue_sec, 0.1, 600) ||
        out_of(err, "stats_sec", p->stats_sec, 0, INFINITY) ||
        out_of(err, "threads", p->threads, 1, 256) ||
        out_of(err, "live_mode", p->live_mode, CQ_LIVE_OFF, CQ_LIVE_AMD) ||
        out_of(err, "silence_sec", p->silence_sec, 0, 3600) ||
        out_of(err, "max_payload", (double)p->max_payload, 16, LV_AS_MAX_PAYLOAD) ||
        out_of(err, "event_queue", (double)p->event_queue, 16, 1000000) ||
        out_of(err, "events_fd", p->events_fd, 0, 1e9) ||
        out_of(err, "vad_batch", p->vad_batch, 1, LV_VAD_BATCH_MAX) ||
        out_of(err, "batch_wait_sec", p->batch_wait_sec, 0, 1) ||
        out_of(err, "rtp_max_pending", p->rtp_max_pending, 1, 100000) ||
        out_of(err, "probe_len", (double)p->probe_len, 0, 10 * CQ_CLASSIFY_RATE))
        return CQ_ERR_RANGE;
    if (p->probe_len && !p->probe)
        return cq_err_set(err, CQ_ERR_INVALID, "probe_len %zu without probe samples", p->probe_len);
    return CQ_OK;
}

lv_server *lv_server_create(const lv_server_params *p, cq_err *err)
{
    cq_err_clear(err);
    if (check_params(p, err) != CQ_OK)
        return NULL;
    lv_error fail_why, *e = &fail_why;
    lv__clear(e);
    lv_server *s = calloc(1, sizeof(*s));
    if (!s)
        return cq_err_set(err, CQ_ERR_NOMEM, "out of memory"), NULL;
    s->p = *p;
    s->lfd = s->efd = s->ep = s->events_fl = s->rtp_fd = s->ws_fd = s->rec_dir = -1;
    pthread_mutex_init(&s->rq_mu, NULL);
    pthread_condattr_t ca; /* the run queue's waits are timed on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->rq_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->eq_mu, NULL);
    pthread_cond_init(&s->eq_cv, NULL);
    pthread_mutex_init(&s->dest_mu, NULL);
    raise_fd_limit(p->max_calls, p->max_pending);
    s->events_fl = fcntl(p->events_fd, F_GETFL);
    if (s->events_fl >= 0)
        (void)fcntl(p->events_fd, F_SETFL, s->events_fl | O_NONBLOCK);
    if (p->record_dir && (s->rec_dir = open(p->record_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lv__fail(e, LV_ERR_ARG, 0, "record_dir %s: %s", p->record_dir, strerror(errno));
        goto fail;
    }
    if (p->host && lv__listen(p->host, p->port, SOCK_STREAM, &s->lfd, &s->port, e) != LV_OK)
        goto fail;
    if (p->ws_host &&
        lv__listen(p->ws_host, p->ws_port, SOCK_STREAM, &s->ws_fd, &s->ws_port, e) != LV_OK)
        goto fail;
    if (p->ws_host && p->probe_len &&
        !(s->ws_probe =
              lv_ws_play_audio(p->probe, p->probe_len, CQ_CLASSIFY_RATE, &s->ws_probe_len))) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (p->rtp_host) {
        if (lv__listen(p->rtp_host, p->rtp_port, SOCK_DGRAM, &s->rtp_fd, &s->rtp_port, e) != LV_OK)
            goto fail;
        size_t nb = 64;
        while (nb < (size_t)p->max_calls && nb < 65536)
            nb *= 2;
        if (!(s->ssrc_tab = calloc(nb, sizeof(call *)))) {
            lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
            goto fail;
        }
        s->ssrc_mask = nb - 1;
        for (nb = 64; nb < (size_t)p->rtp_max_pending && nb < 65536;)
            nb *= 2;
        if (!(s->rp_tab = calloc(nb, sizeof(rpend *)))) {
            lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
            goto fail;
        }
        s->rp_mask = nb - 1;
        s->rp_budget = (size_t)(p->rtp_max_pending > RTP_POOL_MIN_KIB ? p->rtp_max_pending
                                                                      : RTP_POOL_MIN_KIB) *
                       1024;
    }
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->efd < 0 || s->ep < 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
        goto fail;
    }
    int *fds[] = {&s->lfd, &s->ws_fd, &s->rtp_fd, &s->efd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        struct epoll_event le = {.events = EPOLLIN, .data.ptr = fds[i]};
        if (*fds[i] >= 0 && epoll_ctl(s->ep, EPOLL_CTL_ADD, *fds[i], &le) != 0) {
            lv__fail(e, LV_ERR_NOMEM, 0, "epoll: %s", strerror(errno));
            goto fail;
        }
    }
    s->workers = calloc((size_t)p->threads, sizeof(pthread_t));
    s->wks = calloc((size_t)p->threads, sizeof(worker));
    if (!s->workers || !s->wks) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "no thread for the event writer");
        goto fail;
    }
    s->writer_up = true;
    for (int i = 0; i < p->threads; i++) {
        s->wks[i].s = s;
        if (pthread_create(&s->workers[i], NULL, worker_main, &s->wks[i]) != 0) {
            lv__fail(e, LV_ERR_NOMEM, 0, "no thread for analysis %d", i);
            goto fail;
        }
        s->nworkers++;
    }
    return s;
fail:
    lv_server_destroy(s);
    cq_err_set(err, e->code == LV_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_ERR_IO, "%s", e->msg);
    return NULL;
}

int lv_server_port(const lv_server *s)
{
    return s->lfd >= 0 ? s->port : 0;
}

int lv_server_input_port(const lv_server *s, lv_input in)
{
    switch (in) {
    case LV_INPUT_AUDIOSOCKET: return s->lfd >= 0 ? s->port : 0;
    case LV_INPUT_RTP: return s->rtp_fd >= 0 ? s->rtp_port : 0;
    case LV_INPUT_WEBSOCKET: return s->ws_fd >= 0 ? s->ws_port : 0;
    }
    return 0;
}

void lv_server_get_stats(lv_server *s, lv_server_stats *o)
{
    o->accepted = s->accepted;
    o->calls = s->calls;
    o->refused_full = s->refused_full;
    o->refused_uuid = s->refused_uuid;
    o->active = s->active;
    o->events = s->events;
    o->events_dropped = s->events_dropped;
    o->audio_dropped = s->audio_dropped;
    o->rtp_datagrams = s->rtp_datagrams;
    o->rtp_malformed = s->rtp_malformed;
    o->rtp_refused = s->rtp_refused;
    o->rtp_after_end = s->rtp_after_end;
    o->ws_refused = s->ws_refused;
    o->unidentified = s->unidentified;
    o->ident_timeout = s->ident_timeout;
    o->ident_evicted = s->ident_evicted;
    o->rtp_pending = s->rtp_unidentified;
    o->rtp_timeout = s->rtp_ident_timeout;
    o->rtp_evicted = s->rtp_ident_evicted;
    o->rtp_dropped = s->rtp_ident_dropped;
}

void lv_server_destroy(lv_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->rq_mu);
    s->rq_quit = true;
    pthread_cond_broadcast(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    if (s->writer_up) {
        pthread_mutex_lock(&s->eq_mu);
        s->eq_quit = true;
        s->eq_abandon_at = cq_clock_mono_sec() + 3.0; /* a stalled reader gets this long */
        pthread_cond_broadcast(&s->eq_cv);
        pthread_mutex_unlock(&s->eq_mu);
        pthread_join(s->writer, NULL);
    }
    if (s->events_fl >= 0) /* stdout is the caller's again as it was */
        (void)fcntl(s->p.events_fd, F_SETFL, s->events_fl);
    for (line *l = s->eq_head, *nx; l; l = nx) {
        nx = l->next;
        free(l);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->rtp_fd >= 0)
        close(s->rtp_fd);
    if (s->ws_fd >= 0)
        close(s->ws_fd);
    while (s->rp_ahead) /* when lv_server_run never ran */
        rp_drop(s, s->rp_ahead, RP_SHUTDOWN);
    free(s->rp_tab);
    free(s->ssrc_tab);
    if (s->efd >= 0)
        close(s->efd);
    if (s->ep >= 0)
        close(s->ep);
    if (s->rec_dir >= 0)
        close(s->rec_dir);
    free(s->ws_probe);
    pthread_mutex_destroy(&s->dest_mu);
    free(s->workers);
    free(s->wks);
    pthread_mutex_destroy(&s->rq_mu);
    pthread_cond_destroy(&s->rq_cv);
    pthread_mutex_destroy(&s->eq_mu);
    pthread_cond_destroy(&s->eq_cv);
    free(s);
}
