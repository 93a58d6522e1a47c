/*
 * net.h - the network side of a call, from bytes: a capture (pcap or pcapng, read through
 * libpcap) taken apart down to UDP, IP fragments put back together, and the RTP streams in it
 * with their loss, delay and jitter as Wireshark's RTP analysis defines them
 * (docs/network.md), so that a VoIP engineer reads the same figures in both tools.
 *
 * Pure functions over bytes, like an analyzer: no network, no store, no printing, no settings.
 * Every count and buffer is bounded (net_limits); what does not fit is counted and said, never
 * silently dropped. It stands on libc, libpcap, libbcg729 and jansson (for its JSON). Prefix net_;
 * the room is on the floor of the transcript (docs/ARCHITECTURE.md): the command line and the
 * service read it.
 */
#ifndef CQ_NET_H
#define CQ_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "callqa/cq_finding.h"
#include "callqa/cq_report.h"

typedef struct cq_engine cq_engine; /* callqa/cq_engine.h: net_investigate_run's analysis */

/* ---- limits ---------------------------------------------------------------------------------- */

typedef struct net_limits {
    uint64_t max_packets;      /* packets read before the capture is cut (it says so) */
    size_t max_streams;        /* RTP streams followed; packets of further streams are counted */
    size_t max_frag_bytes;     /* bytes of IP fragments waiting for the rest of their datagram */
    size_t max_sip;            /* SIP messages kept; further ones are counted */
    size_t max_sip_bytes;      /* bytes of SIP text kept, and of TCP streams being reassembled */
    size_t max_rtp_bytes;      /* bytes of per-packet records kept for the network MOS */
    size_t max_rtcp;           /* RTCP reports kept (SR, RR, XR), and as many report blocks and as
                                  many XR VoIP-metrics blocks; further reports are counted */
    size_t max_dialogs;        /* Call-IDs grouped into dialogs; the messages of further ones
                                  stay in sip[] and in no dialog (dialogs_dropped counts them) */
    size_t max_dialog_msgs;    /* messages of one dialog read for its facts; further ones are
                                  counted (dialog_msgs_dropped) */
    size_t max_dialog_streams; /* RTP streams linked to one dialog; further ones are counted
                                  (dialog_streams_dropped) */
    size_t max_findings;       /* findings kept; further ones are counted (findings_dropped) */
    size_t max_answer_bytes;   /* an answer's JSON (net_capture_answer, net_investigate_run) */
    bool keep_audio;           /* keep G.711 payloads for net_call_wav (within max_rtp_bytes) */
    bool hep_arrival;          /* HEP packets at their frame's time (a collector's arrival: the
                                  HEP collector's captures), not at the time the agent put in
                                  them */
    double bpl;                /* the E-model's packet-loss robustness for every codec; 0: each
                                  codec's G.113 Appendix I value (4.3 where it gives none) */
} net_limits;

/* 20 M packets, 100,000 streams, 8 MiB of fragments, 200,000 SIP messages in 64 MiB, 256 MiB
 * of RTP packet records (10 M packets), 200,000 RTCP reports; 20,000 dialogs of at most 1,000
 * messages and 100 streams each, 20,000 findings; an answer of 16 MiB (NET_ANSWER_MAX). */
net_limits net_default_limits(void);

#define NET_ANSWER_MAX ((size_t)16 << 20) /* an answer's JSON, by default (16 MiB) */

/* ---- addresses ------------------------------------------------------------------------------- */

typedef struct net_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t a[16];  /* IPv4 in the first 4 bytes */
} net_addr;

#define NET_ADDR_STRLEN 46
/* "10.0.2.15" or "2001:db8::1" into buf (NET_ADDR_STRLEN bytes). */
const char *net_addr_str(const net_addr *a, char *buf, size_t n);
bool net_addr_equal(const net_addr *a, const net_addr *b);
/* RFC 1918, RFC 6598 (carrier-grade NAT), link-local, loopback, IPv6 ULA and link-local. */
bool net_addr_private(const net_addr *a);

/* ---- RTP streams ----------------------------------------------------------------------------- */

#define NET_LOSS_BINS 10 /* consecutive-loss histogram: 1 ... 9, 10 or more */
#define NET_DV_BINS 16   /* delay-variation histogram: 0-10 ms ... 140-150, 150 or more */
#define NET_JB_N 3       /* jitter buffers simulated: fixed 50 ms, fixed 200 ms, adaptive to 500 */
#define NET_MAX_PTS 16   /* payload types named per stream (more are counted, not named) */

/* One 10 s interval of a stream behind the fixed 50 ms jitter buffer (the last one may be 5 to
 * 10 s): where the per-10 s MOS comes from, and what the recording's windows are held against. */
typedef struct net_rtp_interval {
    double start_sec, end_sec; /* capture time */
    double net_loss_pct;       /* lost in the network (sequence numbers that never came) */
    double loss_pct;           /* the same, or too late for the buffer */
    double mos;                /* the E-model's MOS of the interval */
} net_rtp_interval;
/* What the far end said about a stream in RTCP (rtcp.c): the report blocks whose SSRC is the
 * stream's, sent by its receiver (docs/network/rtp.md "RTCP"). A figure no report gave is -1. */
typedef struct net_rtcp_remote {
    uint32_t reports;             /* report blocks about it (SR and RR) */
    uint32_t xr_reports;          /* XR VoIP-metrics blocks about it */
    size_t last_report;           /* index in the capture's rtcp[] of the last block's report */
    double fraction_lost_pct;     /* the last block's: 100 * fraction lost / 256 */
    double max_fraction_lost_pct; /* the worst of them */
    int32_t cum_lost;             /* the last block's cumulative count (signed) */
    double jitter_ms;             /* the last block's interarrival jitter, -1 unknown clock */
    double max_jitter_ms;
    bool has_rtt;               /* a block's LSR matched a captured SR */
    int32_t rtt_ms, max_rtt_ms; /* then the last and the largest round trip (may be < 0) */
    double mos_lq, mos_cq;      /* the last XR VoIP-metrics MOS, -1 none or unavailable */
    double min_mos_lq;
} net_rtcp_remote;

/* One RTP stream: the packets of one SSRC from one address and port to another. Times are
 * seconds from the capture's first packet; delays and jitter in milliseconds; a figure that
 * no packet gave is -1 (min) or 0 (mean, max) as Wireshark prints it, and `has_jitter` false
 * when the clock rate was unknown for every packet. */
typedef struct net_rtp_stream {
    net_addr src, dst;
    uint16_t sport, dport;
    uint32_t ssrc;
    uint8_t pts[NET_MAX_PTS]; /* payload types seen, in order of first appearance */
    int n_pts;
    double start_sec, end_sec;
    uint64_t packets;
    int64_t expected; /* from the first to the last sequence number, wraps counted */
    int64_t lost;     /* expected - packets: negative when packets came twice */
    uint32_t seq_errors;
    double min_delta_ms, mean_delta_ms, max_delta_ms;
    double min_jitter_ms, mean_jitter_ms, max_jitter_ms;
    bool has_jitter;
    bool problem;        /* Wireshark's "Problems?" mark: a sequence error, a payload type
                            change, a wrong timestamp */
    uint32_t clock_rate; /* Hz of the regular payload; 0 unknown */
    char pt_names[NET_MAX_PTS][24]; /* the name of each of pts[], fixed when it first came: the
                                       SDP's rtpmap, else the static one, else Wireshark's
                                       defaults (rtpevent, rtp.rfc2198), else "" */
    bool sdp_bound;  /* its payload map came from an SDP seen before its first packet */
    char digits[64]; /* RFC 4733 telephone events (DTMF 0-9 * # A-D), one per event */
    /* the network's quality (rtp_quality.c, docs/network/rtp.md "Network MOS") */
    uint32_t loss_hist[NET_LOSS_BINS]; /* runs of 1, 2, ... 9, and 10 or more lost packets */
    uint32_t dv_hist[NET_DV_BINS];     /* |D| of consecutive packets: 10 ms bins, the last open */
    bool has_mos;                      /* a codec with planning values and packets enough */
    char mos_codec[16];                /* the codec the E-model took (PCMU, PCMA, G729, ...) */
    double burst_ratio;                /* G.107's BurstR of the loss behind the 50 ms buffer */
    double net_loss_pct;               /* lost in the network (sequence gaps), % of expected */
    double jb_loss_pct[NET_JB_N];      /* the same plus packets too late for each jitter buffer */
    double jb_delay_ms[NET_JB_N];      /* the buffer's mean delay */
    double mos[NET_JB_N];              /* the E-model's MOS behind each jitter buffer */
    double min_mos_10s;                /* the lowest MOS of a 10 s interval (the 50 ms buffer) */
    double min_mos_at_sec;             /* that interval's start, capture time */
    net_rtp_interval *intervals;       /* every 10 s interval, in time order (has_mos) */
    size_t n_intervals;
    net_rtcp_remote rtcp;     /* what its receiver reported (rtcp.reports 0: nothing) */
    struct net_rtp_state *st; /* the analysis's running state (net_ internal) */
} net_rtp_stream;

/* Wireshark's short name of a static payload type ("g711U", "g711A", "g729", "CN", ...), or
 * NULL for a dynamic or unassigned one. */
const char *net_pt_name(unsigned pt);
/* The clock rate of a static payload type, 0 when none is defined. */
uint32_t net_pt_clock_rate(unsigned pt);

/* ---- RTCP ---------------------------------------------------------------------------------- */

/* How a datagram was taken for RTCP. */
typedef enum net_rtcp_how {
    NET_RTCP_BY_SDP = 0, /* to or from the port one above an SDP's RTP port (RFC 3550 11) */
    NET_RTCP_BY_MUX,     /* on an SDP's RTP port itself (RFC 5761 rtcp-mux) */
    NET_RTCP_BY_SHAPE    /* anywhere: it starts with an SR or RR and is a valid compound */
} net_rtcp_how;

/* One report block of an SR or RR (RFC 3550 6.4.1): what the sender of the report received of
 * the source `ssrc`. */
typedef struct net_rtcp_block {
    uint32_t ssrc;         /* the source reported on (the reportee) */
    uint8_t fraction_lost; /* lost since the previous report, in 1/256 */
    int32_t cum_lost;      /* since the beginning: signed 24 bits (duplicates make it < 0) */
    uint32_t ext_high_seq; /* cycles << 16 | highest sequence number received */
    uint32_t jitter;       /* interarrival jitter, in the source's RTP timestamp units */
    double jitter_ms;      /* the same in ms, by the clock rate of the captured stream; -1
                              when no stream of that SSRC with a known clock rate was seen */
    uint32_t lsr, dlsr;    /* last SR (NTP's middle 32 bits), and the delay since, 1/65536 s */
    bool has_rtt;          /* LSR matched the last SR captured the other way */
    int32_t rtt_ms;        /* arrival - that SR's capture - DLSR, in whole ms as Wireshark */
    uint64_t rtt_sr_frame; /* the SR's frame */
    size_t stream;         /* the stream reported on: index in streams[] + 1, 0 none */
} net_rtcp_block;

#define NET_XR_NA INT16_MIN /* an RFC 3611 4.7 field whose value 127 says "unavailable" */

/* An RFC 3611 4.7 VoIP Metrics block, decoded into units. */
typedef struct net_rtcp_voip {
    uint32_t ssrc;                         /* the source reported on */
    size_t stream;                         /* index in streams[] + 1, 0 none */
    uint8_t loss_rate, discard_rate;       /* in 1/256 of the packets expected */
    uint8_t burst_density, gap_density;    /* in 1/256 of the packets in bursts, in gaps */
    uint16_t burst_ms, gap_ms;             /* mean burst and gap durations */
    uint16_t round_trip_ms, end_system_ms; /* the reporter's round trip and end-system delay */
    int16_t signal_dbm, noise_dbm;         /* dBm0, signed; NET_XR_NA */
    int16_t rerl_db;                       /* residual echo return loss; NET_XR_NA */
    uint8_t gmin;                          /* the gap threshold, in packets */
    int16_t r_factor, ext_r_factor;        /* 0-100; NET_XR_NA */
    int16_t mos_lq_x10, mos_cq_x10;        /* MOS times 10 (10-50); NET_XR_NA */
    uint8_t plc;                           /* 0 unspecified, 1 disabled, 2 enhanced, 3 standard */
    uint8_t jba;                           /* 0 unknown, 1 reserved, 2 non-adaptive, 3 adaptive */
    uint8_t jb_rate;                       /* 0-15 */
    uint16_t jb_nominal_ms, jb_max_ms, jb_abs_max_ms;
} net_rtcp_voip;

/* One SR, RR or XR of a compound RTCP packet (RFC 3550 6.1), as received. Its report blocks are
 * blocks[first_block .. first_block + n_blocks) of the capture's, its VoIP metrics
 * voip[first_voip .. first_voip + n_voip). */
typedef struct net_rtcp_report {
    uint64_t frame;
    double rel_sec;
    net_addr src, dst;
    uint16_t sport, dport;
    uint8_t type;     /* 200 SR, 201 RR, 207 XR */
    net_rtcp_how how; /* why the datagram was taken for RTCP */
    uint32_t ssrc;    /* the report's sender */
    /* an SR's sender info */
    uint32_t ntp_msw, ntp_lsw, rtp_ts, sender_packets, sender_octets;
    char cname[64]; /* the SDES CNAME of the sender in the same compound packet, or "" */
    size_t first_block, n_blocks;
    size_t first_voip, n_voip;
} net_rtcp_report;

/* ---- SIP messages --------------------------------------------------------------------------- */

#define NET_SIP_MAX 65536 /* bytes of one message, headers and body */

/* One SIP message as it crossed the wire (RFC 3261 section 7): its first line and the headers a
 * dialog needs, in their compact forms too. Strings are NUL-terminated copies (empty when the
 * header is absent); `text` is the whole message. */
typedef struct net_sip_msg {
    uint64_t frame; /* of the packet that completed it */
    double rel_sec;
    net_addr src, dst;
    uint16_t sport, dport;
    bool tcp;
    bool request;
    char *method; /* a request's method as written, e.g. "INVITE" */
    char *uri;    /* a request's Request-URI */
    int status;   /* a response's code */
    char *reason; /* a response's reason phrase */
    char *call_id, *from, *to, *via, *contact, *user_agent, *content_type, *reason_hdr;
    uint32_t cseq;
    char *cseq_method;
    const char *body; /* into text; NULL without one */
    size_t body_len;
    char *text;
    size_t len;
} net_sip_msg;

/* The value of header `name` (or its compact form `compact`, 0 for none) in a SIP message's
 * text, into buf (folded lines joined); NULL when absent. The first of several. */
const char *net_sip_header(const net_sip_msg *m, const char *name, char compact, char *buf,
                           size_t n);

/* ---- SDP ------------------------------------------------------------------------------------ */

#define NET_SDP_MAX_PT 16

/* The audio of an SDP body (RFC 4566, RFC 3264): where it wants media, and in what. */
typedef struct net_sdp {
    bool present;            /* an audio m= line was found */
    net_addr addr;           /* c= (media level, else session level) */
    uint16_t port;           /* m=audio's port; 0: the stream is refused */
    char proto[24];          /* RTP/AVP, RTP/SAVP, ... */
    int pts[NET_SDP_MAX_PT]; /* the m= line's payload types, in order of preference */
    int n_pts;
    char names[NET_SDP_MAX_PT][24]; /* their encoding names (rtpmap, else the static one) */
    uint32_t rates[NET_SDP_MAX_PT];
    int ptime;          /* a=ptime, 0 when absent */
    char direction[10]; /* sendrecv, sendonly, recvonly, inactive */
    bool hold_addr;     /* c=0.0.0.0: the old way of putting a call on hold */
} net_sdp;

/* Parse the audio of an SDP body. false when it has no audio m= line. */
bool net_sdp_parse(const char *body, size_t len, net_sdp *out);

/* ---- dialogs ------------------------------------------------------------------------------- */

typedef enum net_hangup {
    NET_HANGUP_NONE = 0, /* not ended in the capture */
    NET_HANGUP_CALLER,   /* the caller sent BYE, or CANCEL before an answer */
    NET_HANGUP_CALLEE,   /* the callee sent BYE */
    NET_HANGUP_REJECTED  /* never answered: a final response of 300 or above */
} net_hangup;

/* The messages of one Call-ID, and what they say about the call. Times are seconds from the
 * capture's first frame; a duration that did not happen is -1. */
typedef struct net_sip_dialog {
    const char *call_id; /* the messages' own */
    size_t *msgs;        /* indices into the capture's sip[], in capture order */
    size_t n_msgs;
    const char *method; /* the first request's method */
    const char *from, *to;
    net_addr caller, callee;
    uint16_t caller_port, callee_port;
    double start_sec, end_sec;
    double pdd_sec;    /* INVITE to the first 18x (post-dial delay) */
    double answer_sec; /* INVITE to the 2xx */
    double talk_sec;   /* the 2xx to the BYE */
    int final_status;  /* the final response to the first INVITE (the last one, when it
                          was challenged and sent again), 0 none */
    const char *final_reason;
    net_hangup hangup;
    bool cancelled;
    int q850_cause;        /* Reason: Q.850;cause=N of the BYE, CANCEL or final response; -1 */
    char reason_text[96];  /* its text= or the cause's meaning */
    int challenges;        /* 401 and 407 answers */
    int retransmissions;   /* requests and final responses seen again */
    int mirrored;          /* messages captured twice within 50 ms, byte for byte (a tracer's
                              mirror, such as Kamailio's siptrace): not retransmissions */
    bool ack_missing;      /* a 2xx to an INVITE with no ACK after it */
    bool on_hold;          /* a re-INVITE set sendonly, inactive or c=0.0.0.0 */
    bool resumed;          /* and a later one sendrecv again */
    net_sdp offer, answer; /* the caller's (the first INVITE's; with a late offer, the ACK's)
                              and the callee's (the 2xx's, or a 183's) */
    char info_digits[64];  /* DTMF carried in SIP INFO (application/dtmf-relay, dtmf) */
    size_t *streams;       /* its RTP streams (indices into the capture's streams): those sent
                              to or from an address and port its SDP offer or answer gave */
    size_t n_streams;
    /* the call it is a leg of, across a B2BUA or an SBC (net_legs.c; INVITE dialogs only) */
    uint64_t call_ref;     /* the 64-bit FNV-1a of the call's first leg's Call-ID; 0: none */
    int leg, n_legs;       /* its place among the call's legs by start (0 the first), and
                              how many there are (1: a call of one leg) */
    const char *linked_by; /* static: "call_id_header", "session_id", "icid", "linkedid",
                              "time"; NULL for a first leg */
    char link_detail[128]; /* the link in a phrase ("the same caller, through 10.0.0.5, 0.004
                              s after") */
} net_sip_dialog;

/* The meaning of a Q.850 cause (ITU-T Q.850 Table 1), or NULL. */
const char *net_q850_text(int cause);

/* ---- the E-model ---------------------------------------------------------------------------- */

/* ITU-T G.107's planning parameters (names as in its Table 3; dB, ms, %). */
typedef struct net_emodel {
    double slr, rlr, stmr, lstr, ds, dr, telr, wepl;
    double t, ta, tr; /* mean one-way delay, absolute delay, round-trip delay (ms) */
    double ppl;       /* packet-loss probability (%) */
    double burst_r;   /* burst ratio: 1 random loss, above 1 bursty */
    double ie, bpl;   /* the codec's equipment impairment and packet-loss robustness */
    double nc, nfor, ps, pr, a, qdu;
} net_emodel;

/* G.107 Table 3's defaults (they give R = 93.2). */
net_emodel net_emodel_defaults(void);
/* The transmission rating R (G.107 section 3). */
double net_emodel_r(const net_emodel *e);
/* The MOS R predicts (G.107 Annex B). */
double net_emodel_mos(double r);

/* A codec's planning values (ITU-T G.113 Appendix I). */
typedef struct net_codec_plan {
    const char *name; /* the SDP encoding name's prefix: PCMU, PCMA, G729, G723, GSM */
    double ie, bpl;   /* bpl 0: not given by the table */
    double algo_ms;   /* frame and look-ahead */
} net_codec_plan;
bool net_codec_planning(const char *name, net_codec_plan *out);

/* ---- HEP (hep.c) ----------------------------------------------------------------------------- */

/* One HEP packet (HEP3, or versions 1 and 2) taken apart: what it carries and where it came
 * from. The pointers point into the bytes given. */
typedef struct net_hep {
    int version;           /* 1, 2 or 3 */
    net_addr src, dst;     /* the original packet's */
    uint16_t sport, dport; /* its ports */
    uint8_t ip_proto;      /* its transport: 17 UDP, 6 TCP */
    bool has_time;         /* sec and usec given (HEP3 chunks 9 and 10; version 2) */
    int64_t sec, usec;     /* when the agent captured it */
    uint8_t type;          /* the payload's protocol: 1 SIP, 5 RTCP (as JSON from Asterisk's
                              res_hep_rtcp, as the packet from others), 100 a log, ... */
    uint32_t agent;        /* the capture agent's id */
    const char *key;       /* the authentication key (chunk 14), not NUL-terminated; NULL none */
    size_t key_len;
    const char *corr; /* the correlation id (chunk 17: Asterisk's channel, a Call-ID); NULL */
    size_t corr_len;
    const uint8_t *payload; /* the packet's payload (chunk 15); NULL when only compressed */
    size_t payload_len;
    bool compressed; /* it had a compressed payload (chunk 16), which is not read */
} net_hep;

/* Take apart the HEP packet p[0..n): 0, or -1 with *why (static) when it is not HEP or is
 * malformed (a length past the bytes, no addresses or ports, a transport other than UDP or
 * TCP, no payload). */
int net_hep_parse(const uint8_t *p, size_t n, net_hep *out, const char **why);

/* Asterisk's res_hep_rtcp sends an RTCP report as JSON (HEP type 5, a payload that starts with
 * '{'): the SR or RR it was made from, with its report blocks, in out[0..*len), to be read as
 * captured RTCP is. The SR's NTP time comes back from Unix microseconds (its middle 32 bits, the
 * LSR its answers quote, can differ by one unit of 1/65536 s: such an answer has no round trip).
 * 0, or -1 with *why (static) when it is not such a report. */
#define NET_HEP_RTCP_MAX (28 + 31 * 24)
#define NET_HEP_JSON_MAX 16384
int net_hep_rtcp_json(const uint8_t *p, size_t n, uint8_t out[NET_HEP_RTCP_MAX], size_t *len,
                      const char **why);

/* What files a SIP message with its call, read off its first line and head: the Call-ID (not
 * NUL-terminated, inside p; at most NET_SIP_CALL_ID_MAX bytes), the request's method or the
 * response's status, and the CSeq's method. 0, or -1 when it is not a SIP message with a
 * Call-ID. */
#define NET_SIP_CALL_ID_MAX 256
typedef struct net_sip_glance {
    const char *call_id;
    size_t call_id_len;
    bool request;
    char method[16];      /* a request's */
    int status;           /* a response's */
    char cseq_method[16]; /* "" when the CSeq is missing */
} net_sip_glance;
int net_sip_peek(const uint8_t *p, size_t n, net_sip_glance *out);

/* ---- a capture ------------------------------------------------------------------------------- */

typedef struct net_capture {
    int linktype;                 /* libpcap's DLT_ of the (first) interface */
    uint64_t packets;             /* packets read */
    uint64_t bytes;               /* their captured bytes */
    double first_ts, last_ts;     /* epoch seconds of the first and the last packet */
    uint64_t udp, tcp;            /* datagrams and segments seen */
    uint64_t not_ip;              /* frames of another protocol or link type */
    uint64_t truncated;           /* frames cut short by the snap length or malformed */
    uint64_t fragments;           /* IP fragments seen */
    uint64_t reassembled;         /* datagrams put back together from them */
    uint64_t frag_dropped;        /* fragments given up (over the limit, or never completed) */
    uint64_t streams_dropped;     /* RTP packets of streams past max_streams */
    uint64_t not_rtp_flows;       /* flows shaped like RTP that failed its checks (rtp.c) */
    uint64_t not_rtp_packets;     /* their datagrams, and those on ports that are never RTP */
    uint64_t tunnelled;           /* frames read inside a tunnel or a mirror's encapsulation */
    uint64_t hep;                 /* HEP packets read (a collector's traffic, captured) */
    uint64_t hep_bad;             /* datagrams that began "HEP3" and failed its checks */
    uint64_t hep_unread;          /* HEP packets of what is not read here (logs, other
                                     protocols, compressed payloads, RTCP JSON that is not a
                                     report) */
    uint64_t sip_dropped;         /* SIP messages past max_sip or max_sip_bytes */
    uint64_t tcp_gaps;            /* TCP streams resynchronised after a gap in their bytes */
    uint64_t rtcp;                /* compound RTCP packets read */
    uint64_t rtcp_bad;            /* datagrams shaped like RTCP that failed its checks (not RTCP) */
    uint64_t rtcp_dropped;        /* RTCP reports past max_rtcp */
    uint64_t dialogs_dropped;     /* Call-IDs past max_dialogs: their messages are in no dialog */
    uint64_t dialog_msgs_dropped; /* messages past max_dialog_msgs of their dialog */
    uint64_t dialog_streams_dropped; /* streams past max_dialog_streams of a dialog */
    uint64_t findings_dropped;       /* findings past max_findings */
    bool cut;                        /* max_packets reached: the rest of the capture was not read */
    bool times_unknown;              /* SIP text without timestamps: no durations */
    net_rtp_stream *streams;
    size_t n_streams;
    struct net_rtp_index *rtp_index; /* net_ internal */
    struct net_sdp_maps *sdp_maps;   /* net_ internal: the SDPs seen so far, by address:port */
    size_t rtp_rec_bytes;            /* net_ internal: the packet records' bytes */
    net_rtcp_report *rtcp_reports;   /* in capture order */
    size_t n_rtcp_reports;
    net_rtcp_block *rtcp_blocks;
    size_t n_rtcp_blocks;
    net_rtcp_voip *rtcp_voip;
    size_t n_rtcp_voip;
    struct net_rtcp_state *rtcp_st; /* net_ internal: the last SR of each direction */
    net_sip_msg *sip;               /* in capture order */
    size_t n_sip;
    size_t sip_bytes;
    struct net_tcp_flows *tcp_flows; /* net_ internal */
    net_sip_dialog *dialogs;         /* in the order their first message came */
    size_t n_dialogs;
    cq_finding *findings; /* what the dialogs say (docs/network.md): net's memory, freed by
                             net_capture_free (never by cq_finding_clear) */
    size_t n_findings;
    size_t *finding_dialog;    /* the dialog of each finding */
    struct json_t *sip_counts; /* a view (net_capture_view): the whole capture's sip_counts */
    struct net_cut *left_out;  /* a view: what it leaves out */
} net_capture;

/* Read a whole capture (pcap or pcapng; a Microsoft Network Monitor or other file libpcap
 * refuses is an error naming what it is). lim NULL: net_default_limits(). 0 with *out the
 * capture (net_capture_free), and err "" or a warning (a record damaged part way: what came
 * before it is read); or -1 with *out NULL and the reason in err. */
int net_capture_read_path(const char *path, const net_limits *lim, net_capture **out, char *err,
                          size_t errsz);
/* The same from bytes in memory (an upload; the fuzz harness). */
int net_capture_read_mem(const void *bytes, size_t len, const net_limits *lim, net_capture **out,
                         char *err, size_t errsz);
void net_capture_free(net_capture *c);

/* SIP messages from text (sngrep's text export, Asterisk's `pjsip set logger` or `sip set debug`
 * output, raw messages one after another) as a capture of SIP only: its messages, dialogs and
 * findings (no RTP). 0, or -1 with err. */
int net_sip_text_read(const char *text, size_t len, const net_limits *lim, net_capture **out,
                      char *err, size_t errsz);

/* ---- an answer within its bound ----------------------------------------------------------------
 *
 * An answer's lists are a part of the capture (answer.c, docs/network/bounds.md "Bounds"): the
 * dialog looked at with its messages, streams and findings first, then each list's items in capture
 * order, one of each list in turn, while the JSON stays within its bound. The part is a capture
 * of its own, a view renumbered so that every index in it names one of its items. */

/* What an answer leaves out of what the capture read holds. */
typedef struct net_cut {
    size_t max_bytes;                                       /* the bound of the answer's JSON */
    uint64_t dialogs, sip, streams, findings, rtcp_reports; /* items not in the lists */
    uint64_t dialog_messages; /* a listed dialog's messages not in `sip` */
    uint64_t dialog_streams;  /* a listed dialog's streams not in `streams` */
    uint64_t sip_methods;     /* requests counted in sip_counts under no method name: the
                                 names are kept within 64 KiB */
    uint64_t windows;         /* cross-check windows past NET_XC_MAX_WINDOWS */
    uint64_t status_bytes;    /* bytes of the dialer's status past NET_STATUS_MAX */
} net_cut;

/* The parts of an answer outside the capture's lists (the explanation, the cross-checks, the
 * call_info, the recording, the LLM's explanation: about 0.5 MiB at most, with every string at
 * its longest and escaped): the lists are cut to max_bytes less this, or less half of max_bytes
 * when that is smaller (net_answer_reserve). The answers' bounds are 2 MiB at least, where the
 * whole answer holds to them whatever the input. */
#define NET_ANSWER_RESERVE ((size_t)1 << 20)
size_t net_answer_reserve(size_t max_bytes);
#define NET_XC_MAX_WINDOWS 1000 /* cross-check windows in an answer */
#define NET_STATUS_MAX 256      /* bytes of the dialer's status in an answer */

/* The part of capture c an answer of max_bytes holds (less NET_ANSWER_RESERVE), `focus` (a dialog
 * of c, SIZE_MAX none) first; its index in the view in *focus_in_view (SIZE_MAX none). The view
 * is a capture of its own (its copies of what it holds): c may be freed at once, so that the
 * capture's memory serves the answer's JSON. Free it with net_capture_view_free. 0, or -1 out of
 * memory. */
int net_capture_view(const net_capture *c, size_t focus, size_t max_bytes, net_capture **view,
                     size_t *focus_in_view);
void net_capture_view_free(net_capture *view);
/* The dialog an investigation looks at when none is named: the INVITE dialog with the most
 * severe finding, the first such; without an INVITE the first dialog; SIZE_MAX none. */
size_t net_primary_dialog(const net_capture *c);
/* What an answer left out, as JSON (docs/network.md): {max_bytes, dialogs, sip, ...}
 * (net_json.c). */
struct json_t *net_cut_json(const net_cut *cut);

/* ---- the call's audio ------------------------------------------------------------------------ */

/* The call carried in a capture (read with keep_audio) as one WAV in memory, for the engine:
 * the longest G.711 stream and the one back (a stereo file: channel 1 the caller's, by the SDP
 * offer when a dialog has one, else the stream that started first; channel 2 the other; mono
 * when there is no stream back). Each packet goes where its RTP timestamp says, both legs on
 * the capture's clock; what never came is G.711 silence, and *note says how much and where.
 * Both legs in one law: a mu-law or A-law WAV of the captured bytes as they are (the engine
 * decodes them as it decodes any such file); else 16-bit PCM. 0, or -1 with err. */
int net_call_wav(const net_capture *c, uint8_t **wav, size_t *len, char *note, size_t note_n,
                 char *err, size_t err_n);

/* ---- a dialog matched to a stored call ------------------------------------------------------- */

/* What the QA system knows of a call (its store's metadata, or the uploader's word); NULL or ""
 * strings and negative numbers are unknown. */
typedef struct net_call_hint {
    const char *call_id;     /* a SIP Call-ID given by the uploader */
    const char *uniqueid;    /* Asterisk's uniqueid, "epoch.sequence" */
    const char *caller_code; /* ViciDial's vicidial_id / caller code, e.g. V1125230001000012345 */
    const char *phone;       /* the number dialled or calling (its digits are compared) */
    double epoch;            /* the call's start, UTC seconds; < 0 unknown */
    double length_sec;       /* the call's length; < 0 unknown */
} net_call_hint;

typedef struct net_call_match {
    size_t dialog;    /* the capture's dialog; SIZE_MAX none */
    const char *rule; /* static: "call_id", "uniqueid", "caller_code", "time", "only_call"; NULL */
    char detail[160]; /* why, in a phrase ("INVITE 2.1 s before the call's start, talk 61.0 s
                         against 60 s"), or why none matched ("3 INVITE dialogs; none within the
                         call's time") */
    int candidates;   /* the INVITE dialogs the deciding step chose among: 1 for an identifier
                         or the only call, those within the time window for time; with no match,
                         those within the window when there were any, else every INVITE dialog */
} net_call_match;

/* The INVITE dialog of capture c (NULL: none) that is the call h describes (NULL: nothing
 * known), by the rule of match.c (docs/network/vicidial.md "A dialog matched to a stored call"):
 * the first of call_id, uniqueid, caller_code, time, only_call that finds exactly one. 1 with
 * out->dialog, or 0 with out->dialog SIZE_MAX and out->detail saying why. Pure; each message's
 * header text is read a bounded number of times. */
int net_match_call(const net_capture *c, const net_call_hint *h, net_call_match *out);
/* A match as JSON: {dialog (null: none), rule, detail, candidates}. */
struct json_t *net_call_match_json(const net_call_match *m);

/* ---- an investigation ------------------------------------------------------------------------ */

/* Why a call went wrong (net_investigate.c, docs/network/investigate.md "POST /investigate"): the
 * dialog looked at, the findings the cross-checks with the recording raise, and 2 to 4 plain
 * sentences built from the facts. */
typedef struct net_investigation {
    size_t dialog;        /* the capture's dialog looked at; SIZE_MAX none */
    cq_finding *findings; /* the investigation's own (net's memory) */
    size_t n_findings;
    size_t *finding_dialog;      /* SIZE_MAX: none */
    struct json_t *cross_checks; /* NULL without both a capture and a recording */
    uint64_t windows_dropped;    /* cross-check windows past NET_XC_MAX_WINDOWS */
    char *explanation;
} net_investigation;

struct net_call_info;
/* c: a capture or SIP text (NULL: none); rec: the call's recording analysed (NULL: none); ci:
 * the dialer's call_info (NULL: none); status: the dialer's status (NULL: none). The dialog
 * looked at is the one with the most severe finding. 0, or -1 out of memory; free with
 * net_investigation_free. */
int net_investigate(const net_capture *c, const cq_report *rec, const struct net_call_info *ci,
                    const char *status, net_investigation *out);
/* The same, looking at the capture's dialog `dialog` (net_match_call's); SIZE_MAX (or out of
 * range): the one with the most severe finding, as net_investigate. */
int net_investigate_dialog(const net_capture *c, size_t dialog, const cq_report *rec,
                           const struct net_call_info *ci, const char *status,
                           net_investigation *out);
void net_investigation_free(net_investigation *inv);

/* One investigation from its inputs (inv_run.c): `callqa investigate` and POST /investigate. */
typedef struct net_inv_input {
    const char *capture_path;  /* a pcap, pcapng or SIP text file; or */
    const void *capture_bytes; /* the same in memory */
    size_t capture_len;
    const char *sip_text; /* SIP as text, when there is no capture */
    size_t sip_len;
    const char *call_info; /* the dialer's call_info text (net_call_info_parse); NULL none */
    size_t call_info_len;
    const cq_call_src *recording; /* the call's recording, analysed by the engine; NULL none */
    const char *status;           /* the dialer's status; NULL none */
    const net_limits *lim;        /* NULL: net_default_limits() */
    const net_call_hint *hint;    /* the stored call: net_match_call picks the dialog; NULL none */
} net_inv_input;

/* The answer (json: explanation, dialog, match, findings, dialogs, streams, sip, sip_counts,
 * counts, cross_checks, warning, recording, recording_error, call_info, call_info_error, status;
 * match: {dialog, rule, detail, candidates} with a hint, else null): 0; or -1
 * with err when the capture or the SIP text cannot be read. A recording the engine refuses is said
 * in recording_error, and the rest still answers. e may be NULL when there is no recording. */
int net_investigate_run(const cq_engine *e, const net_inv_input *in, struct json_t **answer,
                        char *err, size_t errsz);

/* An investigation's answer (net_investigation_json) from a capture already read (c NULL: none),
 * within max_bytes: the dialog `dialog` of c looked at (SIZE_MAX or out of range: the one
 * net_primary_dialog chooses), the capture cut as net_capture_view cuts it; `truncated` says what
 * it left out. c is freed here, once its view is made (its memory then serves the JSON). 0, or
 * -1 out of memory. */
int net_investigation_answer(net_capture *c, size_t dialog, const cq_report *rec,
                             const struct net_call_info *ci, const char *status, size_t max_bytes,
                             struct json_t **answer);

/* A capture or SIP text, told apart by their first bytes (pcap and pcapng magic numbers; text
 * has no control bytes but tab, CR, LF, FF, VT and ESC). */
bool net_looks_like_text(const void *bytes, size_t n);
int net_read_any_path(const char *path, const net_limits *lim, net_capture **out, char *err,
                      size_t errsz);
int net_read_any_mem(const void *bytes, size_t len, const net_limits *lim, net_capture **out,
                     char *err, size_t errsz);

/* An LLM's explanation (the service calls the LLM; these are text): the system and user text
 * that give it the facts of an investigation's answer (net_investigate_run's), not raw SIP,
 * within max_tokens of prompt (counted as one token per byte: a tokenizer puts at least a byte in
 * each token), the call looked at first and what did not fit counted in the facts' left_out;
 * 0, or -1 with why (out of memory, or max_tokens too small for the instructions). And its
 * answer held to those facts (the same max_tokens): every number it writes must be one of the
 * facts' numbers (as written, or rounded to the decimals it wrote; a standard's own number,
 * G.711, Q.850, RFC 3550, is not a figure), every code it cites (a word with an underscore)
 * one of the findings' codes, and it is at most NET_EXPLANATION_MAX bytes. 0 it holds, or -1
 * with why. */
#define NET_PROMPT_FRAMING 64    /* tokens a provider adds around the messages, at most */
#define NET_EXPLANATION_MAX 8192 /* bytes of an LLM's explanation kept (2 to 4 sentences) */
int net_explanation_prompt(const struct json_t *answer, size_t max_tokens, char **system,
                           char **user, char *why, size_t whysz);
int net_explanation_check(const char *text, const struct json_t *answer, size_t max_tokens,
                          char *why, size_t whysz);

/* ---- ViciDial's call_info and carrier log ---------------------------------------------------- */

/* What a dialer knows about a call, as people paste it (docs/network.md "ViciDial's call_info
 * and carrier log"): the old service's call_info text in blocks (`CARRIER LOG:`, `QUEUE DATA:`,
 * `DID ROUTING:`) of `key: value` or `key=value` pairs, and rows of ViciDial's
 * vicidial_carrier_log as the mysql client prints them (a `| col | col |` table, tab-separated
 * with a header line, or `\G`'s `*** 1. row ***` blocks). Everything is kept in the struct
 * itself (fixed sizes, no allocation but the findings). */

#define NET_CI_MAX_BYTES ((size_t)256 << 10) /* call_info text read at most (256 KiB) */
#define NET_CI_VALUE_MAX 128                 /* bytes of a value kept, its NUL included */
#define NET_CI_KEY_MAX 48                    /* bytes of an unknown key kept, its NUL included */
#define NET_CI_MAX_ROWS 16                   /* carrier log rows kept; more are counted */
#define NET_CI_MAX_EXTRA 32                  /* other pairs and lines kept; more are counted */
#define NET_QUEUE_LONG_SEC 60.0              /* a wait in queue above this: queue_long_wait */

/* One value as it was written. A value that does not parse as its field's kind (a number, an
 * address, a date, a dial status) is kept as text with `valid` false, never turned into 0. */
typedef struct net_ci_value {
    bool present;                /* given (a table's NULL is not) */
    bool valid;                  /* parsed as its field says (a text field: whenever present) */
    bool cut;                    /* longer than NET_CI_VALUE_MAX - 1 bytes: cut there */
    unsigned line;               /* its line in the text, from 1 */
    double num;                  /* a number field's value, when valid */
    char text[NET_CI_VALUE_MAX]; /* as written, trimmed of spaces and quotes */
} net_ci_value;

/* Asterisk's Dial() outcome (${DIALSTATUS}), as ViciDial logs it. */
typedef enum net_dialstatus {
    NET_DIAL_NONE = 0, /* not given, or not one of these (then its value is not valid) */
    NET_DIAL_ANSWER,
    NET_DIAL_BUSY,
    NET_DIAL_NOANSWER,
    NET_DIAL_CANCEL,
    NET_DIAL_CONGESTION,
    NET_DIAL_CHANUNAVAIL,
    NET_DIAL_DONTCALL,
    NET_DIAL_TORTURE,
    NET_DIAL_INVALIDARGS
} net_dialstatus;

/* "BUSY", ...; NULL for NET_DIAL_NONE. */
const char *net_dialstatus_name(net_dialstatus d);
/* Its plain meaning ("the far end was busy"), NULL for NET_DIAL_NONE. */
const char *net_dialstatus_meaning(net_dialstatus d);
/* The reason phrase of a SIP status code (RFC 3261 section 21: "Busy Here"), or NULL. */
const char *net_sip_status_phrase(int code);

/* One row of vicidial_carrier_log (a `CARRIER LOG:` block is one row), its columns by name. */
typedef struct net_carrier_row {
    net_ci_value uniqueid;          /* Asterisk's uniqueid, epoch.sequence */
    net_ci_value call_date;         /* YYYY-MM-DD HH:MM:SS, the dialer's clock */
    net_ci_value server_ip;         /* the dialer that placed the call */
    net_ci_value lead_id;           /* the lead dialled */
    net_ci_value hangup_cause;      /* Q.850 cause, 0-127 (0: none recorded) */
    net_ci_value dialstatus;        /* Dial()'s outcome: see `dial` */
    net_ci_value channel;           /* the Asterisk channel, e.g. SIP/carrier-0000001a */
    net_ci_value dial_time;         /* seconds from the dial to the answer or the end */
    net_ci_value answered_time;     /* seconds the call was up after the answer */
    net_ci_value sip_hangup_cause;  /* SIP status code, 0 or 100-699 (0: none recorded) */
    net_ci_value sip_hangup_reason; /* its reason phrase as the carrier sent it */
    net_ci_value caller_code;       /* ViciDial's call identifier (V..., M..., Y...) */
    net_dialstatus dial;            /* dialstatus read */
    const char *hangup_text;        /* static: net_q850_text(hangup_cause), or NULL */
    const char *sip_phrase;         /* static: net_sip_status_phrase(sip_hangup_cause), or NULL */
} net_carrier_row;

/* A pair (or a line) the parser has no field for, kept so that nothing is lost. */
typedef struct net_ci_extra {
    char block[NET_CI_KEY_MAX];   /* the block it was in: "carrier_log", "queue_data",
                                     "did_routing", "table", another header, or "" */
    char key[NET_CI_KEY_MAX];     /* as written; "" for a line that was not a pair */
    char value[NET_CI_VALUE_MAX]; /* as written, trimmed */
    unsigned line;                /* from 1 */
    bool cut;                     /* key or value cut at its size */
} net_ci_extra;

typedef struct net_call_info {
    net_carrier_row rows[NET_CI_MAX_ROWS]; /* in the order they came */
    size_t n_rows;
    size_t rows_dropped;          /* rows past NET_CI_MAX_ROWS */
    net_ci_value queue;           /* the queue (in-group) or campaign */
    net_ci_value queue_seconds;   /* seconds the caller waited in queue */
    net_ci_value queue_position;  /* the caller's place in the queue, from 1 */
    net_ci_value did_pattern;     /* the DID the call came in on */
    net_ci_value did_description; /* its description */
    net_ci_extra extra[NET_CI_MAX_EXTRA];
    size_t n_extra;
    size_t extra_dropped; /* pairs and lines past NET_CI_MAX_EXTRA */
    size_t n_invalid;     /* values kept as text because they did not parse */
    cq_finding *findings; /* docs/network.md: freed by net_call_info_free */
    size_t n_findings;
    size_t *finding_row; /* the row of each finding, SIZE_MAX for none */
} net_call_info;

/* Parse call_info text (at most NET_CI_MAX_BYTES) into *out (caller's storage, overwritten)
 * with its findings. 0, or -1 with the reason in err (empty, over the limit, binary, or no
 * field found) and *out empty. Either way net_call_info_free(out) may be called. */
int net_call_info_parse(const char *text, size_t len, net_call_info *out, char *err, size_t errsz);
/* Free the findings; *ci is left empty. NULL is a no-op. */
void net_call_info_free(net_call_info *ci);

/* ---- as JSON ------------------------------------------------------------------------------- */

struct json_t;
/* The whole capture as one JSON object (docs/network.md names every key): file, counts, streams,
 * sip, dialogs, findings, sip_counts, rtcp; warning the reader's warning or null. Caller decrefs.
 */
struct json_t *net_capture_json(const net_capture *c, const char *file, const char *warning);
/* A string off the wire as JSON: as it is when UTF-8, else each byte above 0x7f as U+FFFD. */
struct json_t *net_json_wire(const char *s);
/* "g711A, telephone-event": a stream's payload names in increasing payload type, as Wireshark
 * writes them (RTPType-N for an unnamed one). */
void net_stream_payloads(const net_rtp_stream *s, char *buf, size_t n);
/* An investigation: explanation, dialog, findings (the capture's and its own, each with its
 * Call-ID), dialogs, streams, sip, sip_counts, counts, cross_checks. c may be NULL. */
struct json_t *net_investigation_json(const net_capture *c, const net_investigation *inv);
/* Parsed call_info as one JSON object (docs/network.md names every key): carrier_log[],
 * queue, did, invalid[], extra[], findings[]. Caller decrefs. */
struct json_t *net_call_info_json(const net_call_info *ci);

#endif /* CQ_NET_H */
