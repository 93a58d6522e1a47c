/*
 * sip_cmd.c - `callqa sip [--json] [--call-info FILE] CAPTURE`: what a capture holds on the
 * network side, read by src/net/ (pcap or pcapng through libpcap): the RTP streams with their
 * packets, loss, delay and jitter, as a table or, with --json, as one JSON object
 * (docs/network.md names every key); with --call-info, the dialer's call_info or carrier log
 * rows too (or alone), parsed, with their findings. It runs in callqa-service, so that
 * `callqa analyze` never loads libpcap. What the capture or the file holds (Call-IDs, methods,
 * reason phrases, findings' messages, values) reaches the terminal through term.h: control
 * bytes as \xHH, the JSON's DEL and C1 controls as \u escapes.
 *
 * With --hep HOST:PORT it is a HEP collector instead (src/live/hep_server.c): each call written
 * to --hep-dir is read back as a capture and said in one JSON line on stdout (the file, the
 * Call-ID, why it was closed, its dialogs' outcome and its findings); the counts on stderr at
 * the end.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "../config/cfg_engine.h"
#include "../config/config.h"
#include "../live/live.h"
#include "../net/net.h"
#include "cli_args.h"
#include "sip_cmd.h"
#include "term.h"

/* RTCP: the packets, then per stream what its receiver reported (the last report, the worst). */
static void print_rtcp(const net_capture *c)
{
    if (!c->rtcp && !c->rtcp_bad)
        return;
    cq_cli_tprintf(stdout, "RTCP: %llu packet%s, %zu report%s (SR, RR, XR)",
                   (unsigned long long)c->rtcp, c->rtcp == 1 ? "" : "s", c->n_rtcp_reports,
                   c->n_rtcp_reports == 1 ? "" : "s");
    if (c->rtcp_bad)
        cq_cli_tprintf(stdout, ", %llu malformed (not read)", (unsigned long long)c->rtcp_bad);
    if (c->rtcp_dropped)
        cq_cli_tprintf(stdout, ", %llu over the limit (not kept)",
                       (unsigned long long)c->rtcp_dropped);
    cq_cli_tprintf(stdout, "\n");
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        const net_rtcp_remote *m = &s->rtcp;
        if (!m->reports && !m->xr_reports)
            continue;
        char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], jit[32] = "-", rtt[40] = "-", mos[40] = "-";
        if (m->jitter_ms >= 0)
            snprintf(jit, sizeof(jit), "%.1f ms", m->jitter_ms);
        if (m->has_rtt)
            snprintf(rtt, sizeof(rtt), "%d ms (max %d)", m->rtt_ms, m->max_rtt_ms);
        if (m->mos_lq >= 0)
            snprintf(mos, sizeof(mos), "%.1f", m->mos_lq);
        cq_cli_tprintf(stdout, "  0x%08X %s:%u -> %s:%u: ", s->ssrc,
                       net_addr_str(&s->src, a, sizeof(a)), s->sport,
                       net_addr_str(&s->dst, b, sizeof(b)), s->dport);
        if (m->reports)
            cq_cli_tprintf(stdout,
                           "%u report%s, lost %.1f%% (max %.1f%%), %d in all, jitter %s, RTT %s",
                           m->reports, m->reports == 1 ? "" : "s", m->fraction_lost_pct,
                           m->max_fraction_lost_pct, m->cum_lost, jit, rtt);
        if (m->xr_reports)
            cq_cli_tprintf(stdout, "%sXR MOS-LQ %s", m->reports ? ", " : "", mos);
        cq_cli_tprintf(stdout, "\n");
    }
}

/* Each call of more than one leg (across a B2BUA or an SBC): its legs in order, with the link
 * that joined each. */
static const net_capture *g_legs_of; /* for by_leg */

static int by_leg(const void *x, const void *y)
{
    const net_sip_dialog *a = &g_legs_of->dialogs[*(const size_t *)x],
                         *b = &g_legs_of->dialogs[*(const size_t *)y];
    if (a->call_ref != b->call_ref)
        return a->call_ref < b->call_ref ? -1 : 1;
    return (a->leg > b->leg) - (a->leg < b->leg);
}

static void print_legs(const net_capture *c)
{
    size_t n = 0, *ix = malloc((c->n_dialogs ? c->n_dialogs : 1) * sizeof(size_t));
    if (!ix)
        return;
    for (size_t i = 0; i < c->n_dialogs; i++)
        if (c->dialogs[i].call_ref && c->dialogs[i].n_legs > 1)
            ix[n++] = i;
    g_legs_of = c;
    qsort(ix, n, sizeof(size_t), by_leg);
    /* the calls in the order of their first legs, each leg from the sorted list */
    for (size_t i = 0; i < c->n_dialogs; i++) {
        const net_sip_dialog *d = &c->dialogs[i];
        if (!d->call_ref || d->n_legs < 2 || d->leg != 0)
            continue;
        size_t lo = 0, hi = n; /* the call's first entry */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->dialogs[ix[mid]].call_ref < d->call_ref)
                lo = mid + 1;
            else
                hi = mid;
        }
        cq_cli_tprintf(stdout, "call %016llx: %d legs\n", (unsigned long long)d->call_ref,
                       d->n_legs);
        for (size_t k = lo; k < n && c->dialogs[ix[k]].call_ref == d->call_ref; k++) {
            const net_sip_dialog *x = &c->dialogs[ix[k]];
            char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];
            cq_cli_tprintf(stdout, "  leg %d %s:%u -> %s:%u %s", x->leg + 1,
                           net_addr_str(&x->caller, a, sizeof(a)), x->caller_port,
                           net_addr_str(&x->callee, b, sizeof(b)), x->callee_port, x->call_id);
            if (x->linked_by)
                cq_cli_tprintf(stdout, ", linked by %s (%s)", x->linked_by, x->link_detail);
            cq_cli_tprintf(stdout, "\n");
        }
    }
    free(ix);
}

/* The part of the capture the answer holds (a view), and what it left out. */
static void print_text(const net_capture *c, const char *file)
{
    const net_cut *t = c->left_out;
    size_t n_sip = c->n_sip + (t ? t->sip : 0), n_streams = c->n_streams + (t ? t->streams : 0);
    cq_cli_tprintf(stdout, "%s: %llu packets, %.3f s, %zu SIP message%s, %zu RTP stream%s\n", file,
                   (unsigned long long)c->packets, c->packets ? c->last_ts - c->first_ts : 0.0,
                   n_sip, n_sip == 1 ? "" : "s", n_streams, n_streams == 1 ? "" : "s");
    if (t && (t->dialogs || t->sip || t->streams || t->findings || t->rtcp_reports))
        printf("over the answer's %zu MiB, left out: %llu dialogs, %llu SIP messages, %llu "
               "streams, %llu findings, %llu RTCP reports (--max-answer-mb)\n",
               t->max_bytes >> 20, (unsigned long long)t->dialogs, (unsigned long long)t->sip,
               (unsigned long long)t->streams, (unsigned long long)t->findings,
               (unsigned long long)t->rtcp_reports);
    if (c->dialogs_dropped || c->findings_dropped)
        printf("past what a capture's reading keeps: %llu Call-IDs not made dialogs, %llu "
               "findings not kept\n",
               (unsigned long long)c->dialogs_dropped, (unsigned long long)c->findings_dropped);
    for (size_t i = 0; i < c->n_sip; i++) {
        const net_sip_msg *m = &c->sip[i];
        char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], what[96];
        if (m->request)
            snprintf(what, sizeof(what), "%.80s", m->method);
        else
            snprintf(what, sizeof(what), "%d %.60s", m->status, m->reason);
        cq_cli_tprintf(stdout, "%10.6f %15s:%-5u -> %15s:%-5u %s %-28s %s\n", m->rel_sec,
                       net_addr_str(&m->src, a, sizeof(a)), m->sport,
                       net_addr_str(&m->dst, b, sizeof(b)), m->dport, m->tcp ? "tcp" : "udp", what,
                       m->call_id);
    }
    print_legs(c);
    if (c->n_findings)
        cq_cli_tprintf(stdout, "findings:\n");
    for (size_t i = 0; i < c->n_findings; i++)
        cq_cli_tprintf(stdout, "  [%s] %s: %s\n", cq_severity_name(c->findings[i].severity),
                       c->findings[i].code, c->findings[i].message);
    if (!c->n_streams)
        return;
    cq_cli_tprintf(stdout, "%12s %12s %15s %5s %15s %5s %10s %22s %6s %12s %9s %9s %9s %9s %1s\n",
                   "start", "end", "src", "port", "dst", "port", "ssrc", "payload", "pkts", "lost",
                   "maxdelta", "maxjit", "meanjit", "MOS", "!");
    for (size_t i = 0; i < c->n_streams; i++) {
        const net_rtp_stream *s = &c->streams[i];
        char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN], pl[160], lost[40];
        net_stream_payloads(s, pl, sizeof(pl));
        char mosbuf[16] = "-";
        if (s->has_mos)
            snprintf(mosbuf, sizeof(mosbuf), "%.2f", s->mos[0]);
        snprintf(lost, sizeof(lost), "%lld (%.1f%%)", (long long)s->lost,
                 s->expected ? 100.0 * (double)s->lost / (double)s->expected : 0.0);
        cq_cli_tprintf(
            stdout,
            "%12.6f %12.6f %15s %5u %15s %5u 0x%08X %22s %6llu %12s %9.3f %9.3f %9.3f %9s %1s\n",
            s->start_sec, s->end_sec, net_addr_str(&s->src, a, sizeof(a)), s->sport,
            net_addr_str(&s->dst, b, sizeof(b)), s->dport, s->ssrc, pl,
            (unsigned long long)s->packets, lost, s->max_delta_ms,
            s->has_jitter ? s->max_jitter_ms : 0.0, s->has_jitter ? s->mean_jitter_ms : 0.0, mosbuf,
            s->problem ? "X" : "");
    }
    print_rtcp(c);
}

/* The call_info file, parsed (at most NET_CI_MAX_BYTES); err names the file. */
static int read_call_info(const char *path, net_call_info *ci, char *err, size_t n)
{
    size_t len;
    char *buf =
        cfg_read_file(path, NET_CI_MAX_BYTES + 1, &len, err, n); /* the parser says "over" */
    if (!buf)
        return -1;
    char why[400];
    int rc = net_call_info_parse(buf, len, ci, why, sizeof(why));
    if (rc != 0)
        snprintf(err, n, "%s: %s", path, why);
    free(buf);
    return rc;
}

static void print_value(const char *key, const net_ci_value *v, const char *meaning)
{
    if (!v->present)
        return;
    cq_cli_tprintf(stdout, "  %-18s %s%s%s%s%s\n", key, v->text, meaning ? " (" : "",
                   meaning ? meaning : "", meaning ? ")" : "",
                   v->valid ? "" : "  [not read: kept as text]");
}

static void print_call_info(const net_call_info *ci, const char *file)
{
    cq_cli_tprintf(stdout, "call info %s: %zu carrier log row%s\n", file, ci->n_rows,
                   ci->n_rows == 1 ? "" : "s");
    for (size_t i = 0; i < ci->n_rows; i++) {
        const net_carrier_row *r = &ci->rows[i];
        cq_cli_tprintf(stdout, "carrier log row %zu:\n", i + 1);
        print_value("uniqueid", &r->uniqueid, NULL);
        print_value("call_date", &r->call_date, NULL);
        print_value("server_ip", &r->server_ip, NULL);
        print_value("lead_id", &r->lead_id, NULL);
        print_value("dialstatus", &r->dialstatus, net_dialstatus_meaning(r->dial));
        print_value("hangup_cause", &r->hangup_cause, r->hangup_text);
        print_value("sip_hangup_cause", &r->sip_hangup_cause, r->sip_phrase);
        print_value("sip_hangup_reason", &r->sip_hangup_reason, NULL);
        print_value("channel", &r->channel, NULL);
        print_value("dial_time", &r->dial_time, NULL);
        print_value("answered_time", &r->answered_time, NULL);
        print_value("caller_code", &r->caller_code, NULL);
    }
    if (ci->rows_dropped)
        cq_cli_tprintf(stdout, "  (%zu more rows not kept)\n", ci->rows_dropped);
    if (ci->queue.present || ci->queue_seconds.present || ci->queue_position.present)
        cq_cli_tprintf(stdout, "queue:\n");
    print_value("queue", &ci->queue, NULL);
    print_value("queue_seconds", &ci->queue_seconds, NULL);
    print_value("queue_position", &ci->queue_position, NULL);
    if (ci->did_pattern.present || ci->did_description.present)
        cq_cli_tprintf(stdout, "DID:\n");
    print_value("did_pattern", &ci->did_pattern, NULL);
    print_value("did_description", &ci->did_description, NULL);
    if (ci->n_extra)
        cq_cli_tprintf(stdout, "other:\n");
    for (size_t i = 0; i < ci->n_extra; i++)
        cq_cli_tprintf(stdout, "  %-18s %s\n", ci->extra[i].key[0] ? ci->extra[i].key : "-",
                       ci->extra[i].value);
    if (ci->n_findings)
        cq_cli_tprintf(stdout, "findings:\n");
    for (size_t i = 0; i < ci->n_findings; i++)
        cq_cli_tprintf(stdout, "  [%s] %s: %s\n", cq_severity_name(ci->findings[i].severity),
                       ci->findings[i].code, ci->findings[i].message);
}

/* ---- callqa sip --hep ------------------------------------------------------------------------ */

static lv_hep *g_hep; /* for the signal handler */

static void on_hep_signal(int sig)
{
    (void)sig;
    if (g_hep)
        lv_hep_stop(g_hep);
}

/* A call written: read back, one line of what it holds. Every written call has its line: a
 * Call-ID that is not UTF-8 is given as net_json_wire makes it (each byte past ASCII as
 * U+FFFD, as `callqa sip --json` gives it), and exactly in call_id_hex. */
static void on_hep_call(void *user, const lv_hep_call *hc)
{
    (void)user;
    json_t *o =
        json_pack("{s:s,s:s,s:o,s:I,s:f,s:I,s:I,s:s}", "event", "hep_call", "file", hc->file,
                  "call_id", net_json_wire(hc->call_id), "start", (json_int_t)hc->first_sec,
                  "open_sec", hc->open_sec, "packets", (json_int_t)hc->packets, "dropped",
                  (json_int_t)hc->dropped, "closed", hc->closed);
    json_t *utf8 = json_string(hc->call_id);
    if (o && !utf8) { /* its bytes, exactly (at most NET_SIP_CALL_ID_MAX) */
        size_t n = strlen(hc->call_id);
        char *hex = malloc(2 * n + 1);
        for (size_t i = 0; hex && i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)hc->call_id[i]);
        if (hex)
            json_object_set_new(o, "call_id_hex", json_string(n ? hex : ""));
        free(hex);
    }
    json_decref(utf8);
    net_capture *c = NULL;
    char err[512];
    if (o && net_read_any_path(hc->path, NULL, &c, err, sizeof(err)) == 0) {
        json_t *d = json_array(), *f = json_array();
        for (size_t i = 0; i < c->n_dialogs && d; i++) {
            const net_sip_dialog *x = &c->dialogs[i];
            json_array_append_new(
                d, json_pack("{s:o,s:o,s:i,s:o}", "call_id",
                             x->call_id ? net_json_wire(x->call_id) : json_null(), "method",
                             x->method ? net_json_wire(x->method) : json_null(), "final_status",
                             x->final_status, "talk_sec",
                             x->talk_sec >= 0 ? json_real(x->talk_sec) : json_null()));
        }
        for (size_t i = 0; i < c->n_findings && f; i++)
            json_array_append_new(f, json_pack("{s:s,s:s}", "code", c->findings[i].code, "severity",
                                               cq_severity_name(c->findings[i].severity)));
        json_object_set_new(o, "dialogs", d ? d : json_null());
        json_object_set_new(o, "findings", f ? f : json_null());
        json_object_set_new(o, "rtcp_reports", json_integer((json_int_t)c->n_rtcp_reports));
        net_capture_free(c);
    } else if (o) {
        json_object_set_new(o, "error", net_json_wire(err));
    }
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    if (line) {
        cq_cli_json_put(stdout, line);
        fflush(stdout);
    }
    free(line);
    json_decref(o);
}

static void on_hep_error(void *user, const char *why)
{
    (void)user;
    cq_cli_tprintf(stderr, "callqa sip --hep: a call's capture not written: %s\n", why);
}

static void on_hep_refused(void *user, const char *addr)
{
    (void)user;
    cq_cli_tprintf(stderr,
                   "callqa sip --hep: HEP from %s refused: the allow list (--hep-allow, hep_allow; "
                   "loopback when unset) leaves it out, so nothing it sends is filed. A proxy on "
                   "this machine sends from its SIP address, not 127.0.0.1: allow it with "
                   "--hep-allow %s (further packets from it are counted, not said again)\n",
                   addr, addr);
}

static int hep_collect(const cfg_settings *c)
{
    char host[256], port[8], key[1100] = "", msg[300];
    if (cq_cli_hostport(c->hep_listen, host, sizeof(host), port, sizeof(port)) != 0) {
        cq_cli_tprintf(stderr, "callqa sip: --hep %s: HOST:PORT or [HOST]:PORT\n", c->hep_listen);
        return 2;
    }
    if (c->hep_key_file[0] &&
        cfg_read_secret(c->hep_key_file, key, sizeof(key), msg, sizeof(msg)) != 0) {
        cq_cli_tprintf(stderr, "callqa sip: hep_key_file: %s\n", msg);
        return 1;
    }
    lv_hep_params p = lv_hep_defaults();
    p.host = host, p.port = port, p.dir = c->hep_dir, p.allow = c->hep_allow;
    p.key = key[0] ? key : NULL;
    p.idle_sec = c->hep_idle_sec, p.silent_sec = c->hep_silent_sec;
    p.max_call_sec = c->hep_max_call_sec;
    p.max_calls = c->hep_max_calls, p.call_kib = c->hep_call_kib, p.max_kib = c->hep_max_kib;
    p.max_conns = c->hep_max_conns, p.max_conns_per_addr = c->hep_conns_per_addr;
    p.conn_first_sec = c->hep_conn_first_sec, p.conn_idle_sec = c->hep_conn_idle_sec;
    p.dir_max_mb = c->hep_dir_max_mb;
    p.on_call = on_hep_call, p.on_error = on_hep_error, p.on_refused = on_hep_refused;
    cq_err err;
    cq_err_clear(&err);
    lv_hep *s = lv_hep_create(&p, &err);
    memset(key, 0, sizeof(key));
    if (!s) {
        cq_cli_tprintf(stderr, "callqa sip: %s\n", err.msg);
        return err.code == CQ_ERR_RANGE || err.code == CQ_ERR_INVALID ? 2 : 1;
    }
    g_hep = s;
    struct sigaction sa = {.sa_handler = on_hep_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "callqa sip: collecting HEP on %s port %d (UDP and TCP), calls written to %s\n",
            host, lv_hep_port(s, false), c->hep_dir);
    lv_hep_stats st0;
    lv_hep_get_stats(s, &st0);
    if (st0.dir_mb >= (uint64_t)c->hep_dir_max_mb)
        cq_cli_tprintf(stderr,
                       "callqa sip: %s holds %llu MiB, at its bound (hep_dir_max_mb %d): no "
                       "capture is written until files are removed from it\n",
                       c->hep_dir, (unsigned long long)st0.dir_mb, c->hep_dir_max_mb);
    int rc = lv_hep_run(s);
    lv_hep_stats st;
    lv_hep_get_stats(s, &st);
    const uint64_t v[] = {st.datagrams,     st.tcp_packets,   st.accepted,     st.packets,
                          st.calls_written, st.not_calls,     st.refused_addr, st.refused_key,
                          st.bad,           st.too_big,       st.unfiled,      st.dropped,
                          st.closed_memory, st.closed_full,   st.skipped_disk, st.write_errors,
                          st.conns_refused, st.conns_evicted, st.conns_first,  st.conns_idle};
    char line[2048];
    lv_counts_text(line, sizeof(line),
                   "callqa sip: HEP: # datagrams, # TCP packets (# connections), # kept; # calls "
                   "written, # not calls; refused: # by address, # without the key; # not HEP, # "
                   "too big, # of no call, # dropped (memory), # calls written early (memory), # "
                   "calls written early (max_calls), # calls not written (hep_dir_max_mb), # write "
                   "errors; connections: # refused (max_conns), # closed before a whole packet "
                   "(max_conns or per address), # closed without a packet in time (first), # "
                   "closed idle\n",
                   v, sizeof(v) / sizeof(v[0]));
    fputs(line, stderr);
    g_hep = NULL;
    lv_hep_destroy(s);
    return rc == LV_OK && !st.write_errors ? 0 : 1; /* skipped_disk: the bound, said above */
}

int cq_cli_sip(int argc, char **argv)
{
    static cfg_settings set; /* max_answer_mb: --max-answer-mb */
    cfg_defaults(&set);
    cfg_args a;
    int rc0 = cq_cli_args("sip", "callqa sip", argc, argv, &set, &a);
    if (rc0 >= 0)
        return rc0;
    if (set.hep_listen[0]) {
        if (a.next != argc || !set.hep_dir[0]) {
            cq_cli_tprintf(stderr, "callqa sip: --hep needs --hep-dir and takes no capture\n");
            return 2;
        }
        return hep_collect(&set);
    }
    int json = cfg_arg_given(&a, "json");
    const char *ci_file = cfg_arg(&a, "call-info");
    size_t max_bytes = set.max_answer;
    if (a.next != argc - 1 && !(ci_file && a.next == argc)) {
        cq_cli_usage(stderr, "sip");
        return 2;
    }
    const char *file = a.next < argc ? argv[a.next] : NULL;
    char err[512];
    static net_call_info ci; /* 40 KiB: not on the stack */
    if (ci_file && read_call_info(ci_file, &ci, err, sizeof(err)) != 0) {
        cq_cli_tprintf(stderr, "callqa sip: %s\n", err);
        return 1;
    }
    net_capture *c = NULL;
    if (file) {
        int rc = net_read_any_path(file, NULL, &c, err, sizeof(err));
        if (rc != 0) {
            cq_cli_tprintf(stderr, "callqa sip: %s: %s\n", file, err);
            net_call_info_free(&ci);
            return 1;
        }
        if (err[0])
            cq_cli_tprintf(stderr, "callqa sip: %s: %s\n", file, err);
    }
    /* the part of the capture the answer holds (docs/network/bounds.md "Bounds") */
    net_capture *v = NULL;
    size_t none;
    int vrc = c ? net_capture_view(c, SIZE_MAX, max_bytes, &v, &none) : 0;
    net_capture_free(c); /* the view holds its own: the capture's memory serves the JSON */
    if (vrc != 0) {
        cq_cli_tprintf(stderr, "callqa sip: %s: out of memory\n", file);
        net_call_info_free(&ci);
        return 1;
    }
    if (json) {
        json_t *o2 = v ? net_capture_json(v, file, err) : json_object();
        if (ci_file) {
            json_t *cj = net_call_info_json(&ci);
            json_object_set_new(cj, "file", json_string(ci_file));
            json_object_set_new(o2, "call_info", cj);
        }
        char *s = json_dumps(o2, JSON_COMPACT | JSON_REAL_PRECISION(10));
        cq_cli_json_put(stdout, s);
        free(s);
        json_decref(o2);
    } else {
        if (v)
            print_text(v, file);
        if (ci_file)
            print_call_info(&ci, ci_file);
    }
    net_capture_view_free(v);
    net_call_info_free(&ci);
    return 0;
}

/* ---- callqa analyze --pcap ------------------------------------------------------------------ */

int cq_cli_analyze_pcap(int argc, char **argv)
{
    static cfg_settings set;
    cq_engine_params ep;
    cfg_args a;
    int c = cq_cli_analysis_args("analyze --pcap", "callqa", argc, argv, &set, &ep, &a);
    if (c >= 0)
        return c;
    int json = cfg_arg_given(&a, "json"), quiet = cfg_arg_given(&a, "quiet");
    const char *file = cfg_arg(&a, "pcap");
    if (!file || a.next != argc) {
        cq_cli_usage(stderr, "analyze --pcap");
        return 2;
    }
    net_limits lim = net_default_limits();
    lim.keep_audio = true;
    net_capture *cap = NULL;
    char err[512], note[1024];
    if (net_capture_read_path(file, &lim, &cap, err, sizeof(err)) != 0) {
        cq_cli_tprintf(stderr, "callqa: %s: %s\n", file, err);
        return 1;
    }
    if (err[0] && !quiet)
        cq_cli_tprintf(stderr, "callqa: %s: %s\n", file, err);
    uint8_t *wav = NULL;
    size_t len = 0;
    int rc = net_call_wav(cap, &wav, &len, note, sizeof(note), err, sizeof(err));
    net_capture_free(cap);
    if (rc != 0) {
        cq_cli_tprintf(stderr, "callqa: %s: %s\n", file, err);
        return 1;
    }
    int eerr = 0;
    cq_engine *e = cq_engine_create(&ep, &eerr);
    if (!e) {
        fprintf(stderr, "callqa: cannot start the engine: %s\n", cq_strerror(eerr));
        free(wav);
        return 1;
    }
    cq_call_src src = {.data = wav, .size = len, .name = file, .note = note, .source_name = file};
    cq_report *rep = NULL;
    cq_err cerr;
    cq_err_clear(&cerr);
    rc = cq_engine_analyze(e, &src, &rep, &cerr);
    if (rc == CQ_OK) {
        char *t = json ? cq_report_to_json(rep) : cq_report_to_text(rep);
        if (t && json) {
            cq_cli_json_put(stdout, t);
        } else if (t) {
            cq_cli_term_put(stdout, t, CQ_TERM_LINES);
            fputc('\n', stdout);
        }
        cq_report_free_string(t);
    } else {
        cq_cli_tprintf(stderr, "callqa: %s: %s\n", file, cerr.msg[0] ? cerr.msg : cq_strerror(rc));
    }
    cq_report_destroy(rep);
    cq_engine_destroy(e);
    free(wav);
    return rc == CQ_OK ? 0 : 1;
}
