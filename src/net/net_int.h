/*
 * net_int.h - what the files of src/net/ share among themselves (not part of net.h's API).
 */
#ifndef CQ_NET_INT_H
#define CQ_NET_INT_H

#include <stdarg.h>

#include "net.h"

/* Big-endian 16 and 32-bit fields off the wire. */
static inline uint16_t net__be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t net__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One UDP datagram of the capture, as the decoders above UDP see it. */
typedef struct net_udp {
    double ts;     /* epoch seconds */
    double rel;    /* seconds from the capture's first packet */
    double rel_ms; /* the same in ms, from whole seconds and nanoseconds as Wireshark computes it
                      (secs * 1000.0 + nsecs / 1e6), so that 3-decimal figures agree */
    uint64_t num;  /* the frame's number, from 1 */
    int64_t sec;   /* the frame's capture time as libpcap gives it: whole seconds ... */
    int64_t nsec;  /* ... and nanoseconds (the RTCP round trip is computed from these) */
    net_addr src, dst;
    uint16_t sport, dport;
    const uint8_t *data;
    size_t len;
} net_udp;

/* One TCP segment's payload, for the SIP over TCP reassembly (sip.c). */
typedef struct net_tcp {
    net_udp u; /* addresses, ports, time, payload */
    uint32_t seq;
} net_tcp;

/* A copy of s (malloc'd; NULL: no memory) with each byte above 0x7f as U+FFFD, as Wireshark
 * shows a string off the wire that is not UTF-8 (wire.c). */
char *net__wire_copy(const char *s);
/* The length of the first line of p[0..n) (up to, not including, CR LF or LF), or -1 when
 * there is none (wire.c, with net_sip_header). */
long net__line_len(const char *p, size_t n);

/* SIP (sip.c): a datagram or a segment that may hold SIP messages. UDP: true when it was SIP. */
bool net__sip_udp(net_capture *c, const net_limits *lim, const net_udp *u);
void net__sip_tcp(net_capture *c, const net_limits *lim, const net_tcp *t);
void net__sip_free(net_capture *c);
/* A copy of message m (its one allocation: the text and the strings parsed out of it) in *to;
 * false out of memory. Freed as the capture's are (net__sip_msg_free). */
bool net__sip_copy(net_sip_msg *to, const net_sip_msg *m);
void net__sip_msg_free(net_sip_msg *m);
/* One whole SIP message from elsewhere (a text export, a log): kept as a datagram's would be,
 * its body cut at its Content-Length. false when it is not one. */
bool net__sip_message(net_capture *c, const net_limits *lim, const net_udp *u, bool tcp);

/* Dialogs (dialog.c): the messages grouped by Call-ID (at most lim->max_dialogs, of at most
 * lim->max_dialog_msgs messages each), and their facts. */
void net__dialogs(net_capture *c, const net_limits *lim);
/* The legs of one call across a B2BUA (net_legs.c): each INVITE dialog's call_ref, leg, n_legs and
 * link, after the dialogs' facts. */
void net__legs(net_capture *c);
void net__dialogs_free(net_capture *c);
/* Findings (findings.c): what the dialogs say (at most lim->max_findings). */
void net__findings(net_capture *c, const net_limits *lim);
void net__findings_free(net_capture *c);

/* A list of findings (net's memory) with the dialog of each (SIZE_MAX: none): the capture's, an
 * investigation's. A finding past max is not made (NULL) and is counted in *dropped. */
typedef struct net_flist {
    cq_finding **items;
    size_t *n;
    size_t **dialog;
    size_t max;        /* SIZE_MAX: no bound */
    uint64_t *dropped; /* NULL: not counted */
} net_flist;
cq_finding *net__finding_add(net_flist *l, size_t dialog, const char *code, cq_severity sev,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
cq_finding *net__finding_vadd(net_flist *l, size_t dialog, const char *code, cq_severity sev,
                              const char *fmt, va_list ap);
/* A value (a string is copied), an evidence with its figure; f NULL: nothing. */
void net__finding_value(cq_finding *f, cq_value v);
void net__finding_figure(cq_finding *f, double start, double end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The evidence of a stream: its span, "stream N 0xSSRC a:p -> b:p". */
void net__stream_evidence(cq_finding *f, const net_capture *c, const net_rtp_stream *s);
void net__finding_list_free(cq_finding *list, size_t n);
/* The packets of a dialog's streams (10 packets or more) each way between two hosts: [0] from the
 * host that sent the first, [1] back; first[] the first stream each way (NULL: none). */
void net__dialog_media(const net_capture *c, const net_sip_dialog *d, uint64_t pk[2],
                       const net_rtp_stream *first[2]);
/* "caller" or "callee": who a host is in a dialog (its SDP, else its signalling address). */
const char *net__side_of(const net_sip_dialog *d, const net_addr *a);

/* SDP payload maps (sdp.c): an SDP seen in a SIP message (a request, or a response below 400)
 * maps dynamic payload types for the media sent to its address and port from then on. */
void net__sdp_seen(net_capture *c, const net_sdp *sdp);
/* The map for media from src:sport to dst:dport (the destination's SDP, else the source's), as
 * an index + 1, or 0 when none. */
size_t net__sdp_find(const net_capture *c, const net_addr *dst, uint16_t dport, const net_addr *src,
                     uint16_t sport);
/* Payload type pt in map `idx` (from net__sdp_find): its name and rate; false when the map
 * does not have it. */
bool net__sdp_pt(const net_capture *c, size_t idx, int pt, const char **name, uint32_t *rate);
void net__sdp_free(net_capture *c);

/* A voice packet as the network MOS needs it: sequence and timestamp extended past their
 * wraps, and its arrival (ms from the capture's first frame). */
typedef struct net_rtp_rec {
    int64_t seq, ts;
    double arrival_ms;
    uint32_t off; /* its payload in the stream's audio bytes (keep_audio), or UINT32_MAX */
    uint16_t len;
    uint8_t pt;
    uint8_t voice; /* 0: a telephone event or comfort noise (it fills its sequence number, it
                      is not played) */
} net_rtp_rec;

/* A stream's kept records and audio (rtp.c), for net_call_wav: records sorted by sequence,
 * one per sequence number, after the capture is read. */
void net__rtp_audio(const net_capture *c, const net_rtp_stream *s, const net_rtp_rec **rec,
                    size_t *n, const uint8_t **audio);

/* The network's quality of one stream (rtp_quality.c): histograms, jitter buffers, the
 * E-model's MOS. `full`: the records stopped at the budget (no MOS then). */
void net__rtp_quality(const net_limits *lim, net_rtp_stream *s, net_rtp_rec *rec, size_t *n,
                      bool full);

/* RTCP (rtcp.c): a datagram that may be RTCP (docs/network/rtp.md "RTCP": by an SDP's port, by
 * rtcp-mux, by its shape). true when it was taken for RTCP, or had RTCP's header and failed its
 * checks (counted in rtcp_bad): either way it is not RTP. */
bool net__rtcp_udp(net_capture *c, const net_limits *lim, const net_udp *u);
/* After the RTP streams' closing figures: each report block linked to the stream it is about,
 * its jitter in ms, and each stream's net_rtcp_remote. */
void net__rtcp_finish(net_capture *c);
void net__rtcp_free(net_capture *c);
/* The SDP that announced RTP on addr:port (an index + 1, as net__sdp_find), 0 none. */
size_t net__sdp_at(const net_capture *c, const net_addr *addr, uint16_t port);

/* The RTP analysis (rtp.c): is this datagram RTP by the header's shape? */
bool net__rtp_looks_like(const uint8_t *p, size_t n);
/* One RTP packet into its stream (created as needed). */
void net__rtp_packet(net_capture *c, const net_limits *lim, const net_udp *u);
/* After the last packet: each stream's closing figures. */
void net__rtp_finish(net_capture *c, const net_limits *lim);
void net__rtp_free(net_capture *c);

/* The JSON of one item, as net_capture_json writes it (net_json.c); what answer.c measures. */
#define NET_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))
struct json_t *net__stream_json(const net_rtp_stream *s);
struct json_t *net__sip_json(const net_sip_msg *m);
struct json_t *net__dialog_json(const net_sip_dialog *d);
struct json_t *net__report_json(const net_capture *c, const net_rtcp_report *r);
struct json_t *net__finding_json(const net_capture *c, size_t i);
/* sip_counts: the messages per method and status code (methods named within 64 KiB; the
 * requests of further ones counted in *unnamed). */
struct json_t *net__sip_counts(const net_capture *c, uint64_t *unnamed);

#endif /* CQ_NET_INT_H */
