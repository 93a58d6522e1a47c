/*
 * sip_cmd.c - `callqa sip [--json] CAPTURE`: what a capture holds on the network side, read by
 * src/net/ (pcap or pcapng through libpcap): the RTP streams with their packets, loss, delay
 * and jitter, as a table or, with --json, as one JSON object (docs/network.md names every key).
 * It runs in callqa-service, so that `callqa analyze` never loads libpcap.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
#include "serve_cmd.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: callqa sip [--json] CAPTURE.pcap|CAPTURE.pcapng\n"
               "  the RTP streams of a capture: packets, loss, delay, jitter\n"
               "  --json    one JSON object (docs/network.md)\n");
}

/* "g711A, CN": the names of a stream's payload types in increasing number, as Wireshark
 * writes them. */
static void payloads(const net_rtp_stream *s, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned pt = 0; pt < 128 && k < n; pt++) {
        bool seen = false;
        for (int i = 0; i < s->n_pts; i++)
            seen |= s->pts[i] == pt;
        if (!seen)
            continue;
        const char *name = net_pt_name(pt);
        char dyn[24];
        if (!name) {
            snprintf(dyn, sizeof(dyn), "RTPType-%u", pt);
            name = dyn;
        }
        k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", name);
    }
}

static json_t *stream_json(const net_rtp_stream *s)
{
    char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], ssrc[16], pl[160];
    snprintf(ssrc, sizeof(ssrc), "0x%08X", s->ssrc);
    payloads(s, pl, sizeof(pl));
    json_t *pts = json_array();
    for (int i = 0; i < s->n_pts; i++)
        json_array_append_new(pts, json_integer(s->pts[i]));
    json_t *o = json_pack("{s:s,s:i,s:s,s:i,s:s,s:o,s:s,s:f,s:f,s:I,s:I,s:I,s:I}", "src",
                          net_addr_str(&s->src, a, sizeof(a)), "src_port", s->sport, "dst",
                          net_addr_str(&s->dst, b, sizeof(b)), "dst_port", s->dport, "ssrc", ssrc,
                          "payload_types", pts, "payload", pl, "start_sec", s->start_sec, "end_sec",
                          s->end_sec, "packets", (json_int_t)s->packets, "expected",
                          (json_int_t)s->expected, "lost", (json_int_t)s->lost, "sequence_errors",
                          (json_int_t)s->seq_errors);
    json_object_set_new(o, "lost_pct",
                        s->expected ? json_real(100.0 * (double)s->lost / (double)s->expected)
                                    : json_null());
    json_object_set_new(o, "min_delta_ms",
                        s->min_delta_ms >= 0 ? json_real(s->min_delta_ms) : json_null());
    json_object_set_new(o, "mean_delta_ms",
                        s->packets > 1 ? json_real(s->mean_delta_ms) : json_null());
    json_object_set_new(o, "max_delta_ms",
                        s->min_delta_ms >= 0 ? json_real(s->max_delta_ms) : json_null());
    json_object_set_new(o, "min_jitter_ms",
                        s->has_jitter ? json_real(s->min_jitter_ms) : json_null());
    json_object_set_new(o, "mean_jitter_ms",
                        s->has_jitter ? json_real(s->mean_jitter_ms) : json_null());
    json_object_set_new(o, "max_jitter_ms",
                        s->has_jitter ? json_real(s->max_jitter_ms) : json_null());
    json_object_set_new(o, "clock_rate", s->clock_rate ? json_integer(s->clock_rate) : json_null());
    json_object_set_new(o, "problem", json_boolean(s->problem));
    return o;
}

static json_t *capture_json(const net_capture *c, const char *file, const char *warning)
{
    json_t *streams = json_array();
    for (size_t i = 0; i < c->n_streams; i++)
        json_array_append_new(streams, stream_json(&c->streams[i]));
    json_t *o = json_pack(
        "{s:s,s:i,s:I,s:I,s:f,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b},s:o}", "file", file,
        "linktype", c->linktype, "packets", (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
        "duration_sec", c->packets ? c->last_ts - c->first_ts : 0.0, "counts", "udp",
        (json_int_t)c->udp, "tcp", (json_int_t)c->tcp, "not_ip", (json_int_t)c->not_ip, "truncated",
        (json_int_t)c->truncated, "fragments", (json_int_t)c->fragments, "reassembled",
        (json_int_t)c->reassembled, "fragments_dropped", (json_int_t)c->frag_dropped,
        "streams_dropped", (json_int_t)c->streams_dropped, "cut", c->cut, "streams", streams);
    json_object_set_new(o, "warning", warning && *warning ? json_string(warning) : json_null());
    return o;
}

static void print_text(const net_capture *c, const char *file)
{
    printf("%s: %llu packets, %.3f s, %zu RTP stream%s\n", file, (unsigned long long)c->packets,
           c->packets ? c->last_ts - c->first_ts : 0.0, c->n_streams, c->n_streams == 1 ? "" : "s");
    if (!c->n_streams)
        return;
    printf("%12s %12s %15s %5s %15s %5s %10s %22s %6s %12s %9s %9s %9s %9s %1s\n", "start", "end",
           "src", "port", "dst", "port", "ssrc", "payload", "pkts", "lost", "maxdelta", "maxjit",
           "meanjit", "", "!");
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], pl[160], lost[40];
        payloads(s, pl, sizeof(pl));
        snprintf(lost, sizeof(lost), "%lld (%.1f%%)", (long long)s->lost,
                 s->expected ? 100.0 * (double)s->lost / (double)s->expected : 0.0);
        printf("%12.6f %12.6f %15s %5u %15s %5u 0x%08X %22s %6llu %12s %9.3f %9.3f %9.3f %9s %1s\n",
               s->start_sec, s->end_sec, net_addr_str(&s->src, a, sizeof(a)), s->sport,
               net_addr_str(&s->dst, b, sizeof(b)), s->dport, s->ssrc, pl,
               (unsigned long long)s->packets, lost, s->max_delta_ms,
               s->has_jitter ? s->max_jitter_ms : 0.0, s->has_jitter ? s->mean_jitter_ms : 0.0, "",
               s->problem ? "X" : "");
    }
}

int cq_cli_sip(int argc, char **argv)
{
    int json = 0;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'J': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *file = argv[optind];
    char err[512];
    net_capture *c = NULL;
    if (net_capture_read_path(file, NULL, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa sip: %s: %s\n", file, err);
        return 1;
    }
    if (err[0])
        fprintf(stderr, "callqa sip: %s: %s\n", file, err);
    if (json) {
        json_t *o2 = capture_json(c, file, err);
        char *s = json_dumps(o2, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o2);
    } else {
        print_text(c, file);
    }
    net_capture_free(c);
    return 0;
}
