/*
 * server_int.h - what the files of the server of `callqa live` (lv_server) share and nobody else
 * sees: a call as the network thread and the analysis side hold it, the server's state, and the
 * functions each file gives the others (server.c's opening comment says which thread runs what):
 *   server.c           the network thread: accept, the pending pool, a call's ring and its end,
 *                      the loop, create and destroy
 *   server_as.c        AudioSocket sessions       server_rtp.c   RTP sessions (SSRCs, their pool)
 *   server_ws.c        WebSocket sessions         probe.c        the probe played back, and made
 *   server_analysis.c  the analysis threads       server_record.c  recordings (record_dir)
 *   server_lines.c     the event lines and their writer
 */
#ifndef CQ_LIVE_SERVER_INT_H
#define CQ_LIVE_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>

#include "callqa/cq_classify.h"
#include "callqa/cq_resample.h"
#include "callqa/cq_vad.h"
#include "live_int.h"

#define LV__TURN_SAMPLES 4096  /* input samples an analysis thread takes from a ring at once */
#define LV__MUTE_GUARD_SEC 0.1 /* muted before and after each DTMF digit's span */
#define LV__MUTE_MAX 16      /* spans to mute a call keeps; an older one is merged into the next */
#define LV__ST_CAP 64        /* arrival stamps of the frames a call has queued */
#define LV__LAT_BUCKETS 1001 /* the frames' waits in 1 ms buckets; the last is 1 s and more */
#define LV__LINE_MAX 2048    /* a line (a stats line with every counter is 885 bytes at 0) */
#define LV__READ_BUF 65536   /* bytes read from a socket at once */
/* the socket loop's least time between two polls: what arrives meanwhile is read in one round
 * (at 300 calls the loop otherwise woke 7,600 times a second for two frames each) */
#define LV__POLL_GAP_SEC 0.002
#define LV__NAME_MAX_LEN 100    /* bytes of a call's name taken from the peer (WebSocket) */
#define LV__WS_HEADER_MAX 8192  /* bytes of a WebSocket Upgrade request */
#define LV__TOMBS 1024          /* ended RTP streams remembered */
#define LV__PROBE_FRAME_MAX 960 /* samples of the probe sent beside one received frame (120 ms) */
#define LV__DEST_RING 1024      /* destinations named by FastAGI waiting for their call */

typedef enum lv__end {
    LV__END_NONE = 0,
    LV__END_HANGUP,
    LV__END_PEER_CLOSED,
    LV__END_MAX_DURATION,
    LV__END_STALLED,
    LV__END_ERROR,
    LV__END_SHUTDOWN,
    LV__END_SSRC_CHANGE,
    /* the ends of a connection that never identified its call (no call_end) */
    LV__END_FULL,          /* identified with max_calls reached */
    LV__END_IDENT_TIMEOUT, /* not identified within ident_sec */
    LV__END_EVICTED        /* the oldest waiting when the pool or its address's share was full */
} lv__end;
extern const char *const lv__reason[];     /* an lv__end's name, as call_end says it */
extern const char *const lv__input_name[]; /* an lv_input's, as every line says it */

typedef struct lv__call lv__call;
typedef struct lv__worker lv__worker;

typedef struct lv__rpend lv__rpend; /* an RTP SSRC before its call (server_rtp.c) */

struct lv__call {
    lv_server *srv;
    /* network thread only */
    lv_input input;
    bool open; /* on the network thread's list, not ended yet */
    int fd;    /* AudioSocket, WebSocket: the connection; RTP: -1 */
    lv_as_dec *dec;
    bool named;      /* a call: named, and the analysis side holds a reference */
    lv__pend pend;   /* a connection that has not identified its call yet: in the pending
                        pool (pend.in), not counted against max_calls */
    double t_accept; /* monotonic seconds */
    double t_last;   /* its last whole message: an AudioSocket frame, a WebSocket Upgrade or
                        message, an RTP packet that carried its stream forward (stall_sec) */
    uint64_t frames, dtmf;
    lv__call *prev, *next; /* the network thread's list of open connections */
    lv__call *next_closed; /* released after the epoll batch */
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
    lv__call *hnext;      /* the SSRC hash's chain */
    lv__end pend_end;     /* set inside the receiver's callback, acted on after it */
    char pend_msg[160];
    char prev_name[16]; /* the call this stream followed from the same address ("" none) */
    /* WebSocket */
    lv_ws_dec *ws;
    uint8_t *hdr; /* the Upgrade request as it comes (LV__WS_HEADER_MAX), freed once parsed */
    size_t hdr_len;
    char path[LV__NAME_MAX_LEN + 1]; /* the request's path (JSON-safe) */
    uint32_t ws_rate;                /* its L16 sample rate */
    int ws_ch;                       /* its channels */
    uint64_t ws_text, ws_binary, ws_pings, ws_odd_bytes;
    int ws_close_code; /* the peer's close code, 0 when it sent none */
    bool ws_close_sent;
    /* the probe played back (AudioSocket): the frame being sent when the socket took part of
     * it, and the counters for call_end */
    uint8_t pout[LV_AS_HEADER + 2 * LV__PROBE_FRAME_MAX];
    size_t pout_len, pout_off;
    /* (WebSocket) the server's playAudio frame being sent: bytes of it sent so far */
    bool wout_on;
    size_t wout_off;
    /* (RTP) the probe's own stream back to the source: SSRC, next sequence number, timestamp */
    bool rout_on;
    uint32_t rout_ssrc, rout_ts;
    uint16_t rout_seq;
    uint64_t probe_samples;          /* played */
    char name[LV__NAME_MAX_LEN + 8]; /* set once, before the analysis side sees the call */
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
    lv__end reason;
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
    } st[LV__ST_CAP]; /* the frames in the ring, oldest first (a full ring extends the last) */
    size_t st_head, st_len;
    FILE *rec_ev; /* the recording's event lines (record_dir), under mu: two threads write */
    char *early;  /* lines of the call before its recording opened (at most EARLY_MAX bytes) */
    size_t early_len;
    bool rec_started; /* the recording was opened, or could not be */
    struct span {
        uint64_t from, to; /* samples of the call at its rate; to = UINT64_MAX: still open */
    } mute[LV__MUTE_MAX];  /* DTMF to be muted in the recording (mask_digits), under mu */
    size_t nmute;
    bool queued;     /* in the run queue or in an analysis thread's hands */
    double t_queued; /* when it last went on the run queue (monotonic) */
    lv__call *next_run;
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
typedef struct lv__meta {
    char call[LV__NAME_MAX_LEN + 8]; /* the call's name, as call.name */
    char type[16];
    int state;
    const char *rule, *reason; /* static strings */
    double start, end, at, speech, quiet, reply;
} lv__meta;

typedef struct lv__line {
    struct lv__line *next;
    lv__meta m;
    size_t len;
    char text[];
} lv__line;

struct lv_server {
    lv_server_params p;
    int lfd, efd, ep, port;
    int rec_dir;     /* record_dir, open (O_PATH | O_DIRECTORY); -1 when not recording */
    lv__call *conns; /* open connections and RTP streams (network thread) */
    lv__pool pool;   /* connections that have not identified their call (network thread) */
    int rtp_fd, ws_fd, rtp_port, ws_port; /* -1, 0: that input is off */
    lv__call **ssrc_tab;                  /* RTP calls by SSRC: ssrc_mask + 1 chains */
    size_t ssrc_mask;
    struct tomb {
        uint32_t ssrc;
        double until;   /* monotonic: forgotten after this */
        bool refresh;   /* each packet that still comes keeps it another stall_sec */
    } tombs[LV__TOMBS]; /* ended RTP streams, a ring */
    size_t ntomb;
    /* RTP SSRCs that have not shown they are a stream (network thread): a hash, all of them by
     * first packet, and by the packets they have shown */
    lv__rpend **rp_tab;
    size_t rp_mask;
    lv__rpend *rp_ahead, *rp_atail;
    lv__rpend *rp_lhead[LV_RTP_IDENT_PACKETS], *rp_ltail[LV_RTP_IDENT_PACKETS];
    size_t rp_n, rp_bytes, rp_budget;
    uint64_t ws_seq; /* names WebSocket calls that give no name */
    /* destinations FastAGI named (lv_server_destination), the latest LV__DEST_RING, under dest_mu
     */
    pthread_mutex_t dest_mu;
    struct dest_note {
        char call[LV__NAME_MAX_LEN + 8];
        char dest[LV_FPS_DEST_MAX + 1];
    } dests[LV__DEST_RING];
    size_t ndest;
    _Atomic uint64_t dest_gen; /* bumped with each */
    uint8_t *ws_probe; /* the probe as a playAudio frame (lv_ws_play_audio), for every call */
    size_t ws_probe_len;
    double last_stats, last_timers;
    int events_fl; /* events_fd's flags before it was made non-blocking (-1: unknown) */
    /* run queue */
    pthread_mutex_t rq_mu;
    pthread_cond_t rq_cv;
    lv__call *rq_head, *rq_tail;
    size_t rq_len;
    bool rq_quit;
    pthread_t *workers;
    lv__worker *wks;
    int nworkers;
    /* event queue */
    pthread_mutex_t eq_mu;
    pthread_cond_t eq_cv;
    lv__line *eq_head, *eq_tail;
    size_t eq_len;
    bool eq_quit;
    double eq_abandon_at; /* monotonic; 0: not yet */
    pthread_t writer;
    bool writer_up;
    /* counters */
    _Atomic uint64_t accepted, calls, refused_full, refused_uuid, active, events, events_dropped,
        audio_dropped, rtp_datagrams, rtp_malformed, rtp_refused, rtp_after_end, ws_refused,
        rtp_unidentified, rtp_ident_timeout, rtp_ident_evicted, rtp_ident_dropped;
    _Atomic uint64_t analysed_us;          /* call audio taken into the analysis, microseconds */
    _Atomic uint64_t vad_runs, vad_chunks; /* VAD batches run over calls, and their chunks */
    _Atomic uint64_t lat[LV__LAT_BUCKETS]; /* frames by their wait for the analysis, 1 ms buckets */
};

/* A line being built (lv__put: never past its end). */
typedef struct lv__lbuf {
    char b[LV__LINE_MAX];
    size_t n;
} lv__lbuf;

/* ---- server.c: the network thread ------------------------------------------------------------ */

/* Onto the network thread's list of open connections and streams. */
void lv__conn_link(lv_server *s, lv__call *c);
/* End a connection or stream once: a call (named) is handed to the analysis side to finish,
 * with its reason; a connection that never named its call is refused. Its release waits for
 * the end of the epoll batch (*closed). */
void lv__conn_end(lv__call *c, lv__end reason, const char *err, lv__call **closed);
/* The connection has identified its call: it leaves the pending pool and counts against
 * max_calls, and the analysis side's reference is taken: from here on the call ends with a
 * call_end. False when max_calls calls are open: the connection is refused (ended). */
bool lv__become_call(lv__call *c, lv__call **closed);
/* n samples at rate into the call's ring, made at its first audio (queue_sec of it); what does
 * not fit is dropped and counted. Returns LV__END_NONE, or why the call is to end
 * (LV__END_MAX_DURATION; LV__END_ERROR with msg[160]: no memory, or a change of rate). */
lv__end lv__ring_put(lv__call *c, const int16_t *pcm, size_t count, uint32_t rate, char *msg);
/* frames of little-endian L16 with ch channels (1, or 2 mixed to one: their mean) into the
 * ring, a block at a time. */
lv__end lv__ring_put_le(lv__call *c, const uint8_t *b, size_t frames, int ch, uint32_t rate,
                        char *msg);
/* Let go of a reference; the last frees the call. */
void lv__call_release(lv__call *c);
/* Best effort: a frame to a peer we are about to close (never waited for); an AudioSocket
 * error frame. */
void lv__send_frame(int fd, const uint8_t *b, size_t n);
void lv__send_error(int fd);

/* ---- the inputs' sessions (network thread) --------------------------------------------------- */

/* An AudioSocket connection's bytes (server_as.c), a WebSocket connection's (server_ws.c). */
void lv__as_bytes(lv__call *c, const uint8_t *buf, size_t k, lv__call **closed);
void lv__ws_bytes(lv__call *c, const uint8_t *buf, size_t k, lv__call **closed);
/* A WebSocket close frame, once (best effort, like every reply: never waited for). */
void lv__ws_send_close(lv__call *c, int code, const char *reason);
/* The datagrams waiting on the RTP socket, a batch of them (server_rtp.c). */
void lv__rtp_readable(lv_server *s, uint8_t *buf, lv__call **closed);
/* An RTP call ends: what its receiver held played out, its SSRC out of the hash and remembered
 * as ended (its late packets are not a new call). */
void lv__rtp_end(lv__call *c, lv__end reason);
/* SSRCs that have not shown a stream within ident_sec are dropped. */
void lv__rtp_timers(lv_server *s, double now);
/* Every SSRC waiting to show a stream dropped (shutdown). */
void lv__rtp_drop_all(lv_server *s);
/* The RTP input's tables, for lv_server_create: LV_OK, or LV_ERR_NOMEM in e. */
int lv__rtp_tables(lv_server *s, lv_error *e);
/* The input's own counters as JSON fields for the call's call_end (at its end). */
void lv__as_summary(const lv__call *c, lv__lbuf *l);
void lv__rtp_summary(const lv__call *c, lv__lbuf *l);
void lv__ws_summary(const lv__call *c, lv__lbuf *l);

/* ---- probe.c: the probe played back (network thread) ----------------------------------------- */

/* Beside an AudioSocket audio frame of n samples: as many of the probe, when it is asked for. */
void lv__probe_as_out(lv__call *c, size_t n);
/* Beside a WebSocket frame: the probe's playAudio frame, or what is left of it. False while part
 * of it is unsent: no other frame may go out then. */
bool lv__probe_ws_out(lv__call *c);
/* Beside an RTP packet that came from the call's media source: a packet of the probe back. */
void lv__probe_rtp_out(lv_server *s, lv__call *c, const lv_rtp_header *h);

/* ---- server_lines.c: the event lines --------------------------------------------------------- */

void lv__put(lv__lbuf *l, const char *fmt, ...) LV__PRINTF(2, 3);
/* A JSON string's body: quotes, backslashes and control bytes escaped. */
void lv__put_str(lv__lbuf *l, const char *s);
/* The start of a call's line (its name and its input), and its end (call_sec and the wall). */
void lv__put_head(lv__lbuf *l, const lv__call *c);
void lv__put_tail(lv__lbuf *l, double call_sec);
/* A line of one call: to the event queue, and to the call's recorded events when it records. */
void lv__call_emit(lv__call *c, const lv__meta *m, const char *text, size_t len);
/* The classifier's event, as `callqa classify` prints it, with call, input, call_sec and wall. */
void lv__emit_event(lv__call *c, const cq_call_event *e);
/* The call's call_end line; the recording's event lines closed after it. */
void lv__emit_end(lv__call *c);
/* A stats line (final: the last, at shutdown). */
void lv__emit_stats(lv_server *s, bool final);
/* The writer thread: lines from the event queue to events_fd, then to the sink. */
void *lv__writer_main(void *arg);

/* ---- server_record.c: recordings (record_dir) ------------------------------------------------ */

/* Mute [from, to) in the recording (mask_digits); an open DTMF event's span has to =
 * UINT64_MAX until it closes (the same start). Caller holds c->mu. */
void lv__mute_locked(lv__call *c, uint64_t from, uint64_t to);
/* The recording opened once, when the analysis starts the call; the lines kept until then go
 * into its event file (or are let go when it could not be made). */
void lv__rec_open(lv__call *c, uint32_t rate);
/* n samples taken for analysis, on their way to the recording. */
void lv__rec_write(lv__call *c, const int16_t *pcm, size_t n);
/* The call's audio is all written: the header's sizes, the data on disk, NAME.wav. */
void lv__rec_close(lv__call *c);
/* After the call_end line: the event lines closed and put beside the recording. */
void lv__rec_events_close(lv__call *c);
/* Give the recording up: the partial files removed, the reason kept for call_end. */
void lv__rec_abandon(lv__call *c, const char *why);

/* ---- server_analysis.c: the analysis threads ------------------------------------------------- */

/* Put a call with work on the run queue unless it is there or being run. Caller holds c->mu. */
void lv__schedule_locked(lv__call *c);
/* The threads (threads of them), for lv_server_create: LV_OK, or LV_ERR_NOMEM in e. */
int lv__analysis_start(lv_server *s, lv_error *e);
/* Every analysis thread told to stop once the run queue is empty, and joined. */
void lv__analysis_stop(lv_server *s);

#endif /* CQ_LIVE_SERVER_INT_H */
