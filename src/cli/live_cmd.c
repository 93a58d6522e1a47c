/*
 * live_cmd.c - `callqa live --audiosocket HOST:PORT --rtp HOST:PORT --websocket HOST:PORT`: calls
 * from Asterisk's AudioSocket, RTP as ARI externalMedia sends it, and FreeSWITCH mod_audio_fork's
 * WebSocket (any of them, in one server), each run through the streaming classifier as `callqa
 * classify` runs a stream, events printed as JSON lines with the call's name and input
 * (docs/live.md, "callqa live"). The server is the room live's
 * (lv_server_*); this file parses the command line, loads the VAD model once, and turns SIGTERM
 * and SIGINT into lv_server_stop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../clients/webhook.h"
#include "../config/config.h"
#include "../live/live.h"
#include "callqa/callqa.h"
#include "live_cmd.h"
#include "vad_model.h"

static lv_server *volatile g_srv;

/* Where the server's sink sends each event line: the FastAGI answer of AMD decisions, the
 * webhook (the types in wh_types, comma-separated with a comma at each end; "": all but stats). */
typedef struct sinks {
    lv_agi_server *agi;
    wh_sender *wh;
    char wh_types[256];
} sinks;

static bool wh_wants(const sinks *k, const char *type)
{
    if (!k->wh_types[0])
        return strcmp(type, "stats") != 0;
    char t[32];
    snprintf(t, sizeof(t), ",%s,", type);
    return strstr(k->wh_types, t) != NULL;
}

static void on_event(void *user, const lv_event *ev)
{
    sinks *k = user;
    if (k->agi)
        lv_agi_server_event(k->agi, ev);
    if (k->wh && wh_wants(k, ev->type))
        (void)wh_post(k->wh, ev->json, ev->len); /* a full queue drops it, counted */
}

static void wh_report(const wh_stats *w)
{
    fprintf(stderr,
            "callqa live: webhook: %llu events queued, %llu sent, %llu retries, %llu dead "
            "letters, %llu dropped\n",
            (unsigned long long)w->queued, (unsigned long long)w->sent,
            (unsigned long long)w->retries, (unsigned long long)w->dead,
            (unsigned long long)w->dropped);
}

static size_t on_stats(void *user, char *buf, size_t cap)
{
    sinks *k = user;
    size_t n = 0;
    if (k->agi)
        n += lv_agi_server_stats_fields(k->agi, buf + n, cap - n);
    if (k->wh && n < cap) {
        wh_stats w;
        wh_get_stats(k->wh, &w);
        int m = snprintf(buf + n, cap - n,
                         ",\"webhook_sent\":%llu,\"webhook_retries\":%llu,\"webhook_dead\":%llu,"
                         "\"webhook_dropped\":%llu,\"webhook_pending\":%llu",
                         (unsigned long long)w.sent, (unsigned long long)w.retries,
                         (unsigned long long)w.dead, (unsigned long long)w.dropped,
                         (unsigned long long)w.pending);
        if (m > 0 && (size_t)m < cap - n)
            n += (size_t)m;
    }
    return n;
}

static void on_signal(int sig)
{
    (void)sig;
    lv_server_stop(g_srv);
}

static void usage(FILE *f)
{
    fputs(
        "usage: callqa live [--audiosocket HOST:PORT] [--rtp HOST:PORT] [--websocket HOST:PORT]\n"
        "                   [options]   (one input at least)\n"
        "  --audiosocket HOST:PORT  listen for Asterisk AudioSocket connections (one per call;\n"
        "                 the dialplan's AudioSocket(${UUID},HOST:PORT) or\n"
        "                 Dial(AudioSocket/HOST:PORT/${UUID})); [::1]:PORT for IPv6; port 0\n"
        "                 picks one (printed on stderr)\n"
        "  --rtp HOST:PORT  receive RTP on this UDP port, as ARI externalMedia sends it\n"
        "                 (external_host=HOST:PORT); each SSRC is a call named rtp-<ssrc hex>\n"
        "  --rtp-pt PT=CODEC/RATE  a payload type: CODEC PCMU, PCMA, L16 (network order),\n"
        "                 L16LE or none, e.g. 118=L16/16000 (the default map: 0 PCMU/8000,\n"
        "                 8 PCMA/8000, 118 L16/16000); repeatable\n"
        "  --rtp-window-ms MS  how long a missing packet is waited for (default 60)\n"
        "  --rtp-max-pending N  RTP SSRCs waiting to show they are a stream (5 packets in\n"
        "                 sequence), and N KiB of their packets (default 16384); until then\n"
        "                 an SSRC is no call (not counted against --max-calls), and past either\n"
        "                 bound the oldest of those that have shown the fewest is dropped\n"
        "  --websocket HOST:PORT  accept FreeSWITCH mod_audio_fork WebSocket connections (one per\n"
        "                 call, named by the metadata's uuid or callId, else the URL's path)\n"
        "  --ws-rate 8000|16000  L16 rate when the URL gives no ?rate= (default 8000)\n"
        "  --ws-mix mono|mixed|stereo  channels when the URL gives no ?mix= (default mono)\n"
        "  --max-calls N  calls at once, every input together (default 64); more are refused:\n"
        "                 an AudioSocket error frame, a WebSocket 503, an RTP stream's packets\n"
        "                 ignored\n"
        "  --ident-sec S  a connection (AudioSocket, WebSocket, FastAGI) that has not identified\n"
        "                 its call within S seconds of connecting is closed (default 5); until\n"
        "                 it does it waits apart and does not count against --max-calls; an\n"
        "                 RTP SSRC that has not shown a stream S seconds after its first packet\n"
        "                 is dropped\n"
        "  --max-pending N  connections waiting to identify, per listener (default 1024); past\n"
        "                 it the oldest is closed\n"
        "  --max-pending-per-client N  of them from one address (default 128); past it that\n"
        "                 address's oldest is closed\n"
        "  --max-call-sec S  end a call longer than S seconds (default 14400)\n"
        "  --stall-sec S  end a call whose connection or RTP stream is silent S seconds\n"
        "                 (default 10)\n"
        "  --queue-sec S  audio one call may have waiting for analysis; more is dropped and\n"
        "                 counted on its call_end (default 5)\n"
        "  --threads N    analysis threads (default: the CPUs this process may use)\n"
        "  --vad-batch N  calls an analysis thread takes at once, their VAD run as one batch\n"
        "                 (default 32; 1: each call alone)\n"
        "  --batch-wait-ms MS  how long queued audio may wait for the batch to fill\n"
        "                 (default 10; 0: never)\n"
        "  --record-dir D  write each call's audio as D/ID.wav (16-bit PCM at its rate) with\n"
        "                 its event lines as D/ID.live.jsonl, both renamed into place when the\n"
        "                 call ends (a folder `callqa ingest watch` watches queues them for QA)\n"
        "  --mask-digits  keyed digits as * in the event lines, and DTMF muted in the\n"
        "                 recordings (written a second late for it)\n"
        "  --live hold|amd  live-call decisions, as callqa classify --live\n"
        "  --silence-sec S  with --live: a silence event after S s of silence (default 5;\n"
        "                 0: none)\n"
        "  --events FILE|-  where event lines go (default -: stdout); FILE is appended to\n"
        "  --stats-sec S  a stats line every S seconds (default 10; 0: only at the end)\n"
        "  --model-dir D  where silero_vad/ lives (default $CALLQA_MODEL_DIR)\n",
        f);
    fputs(
        "  --fastagi HOST:PORT  answer AGI(agi://HOST:PORT/amd,${UUID}) with the call's live\n"
        "                 AMD decision as AMD() sets AMDSTATUS and AMDCAUSE (implies --live amd);\n"
        "                 with --live hold, AGI(agi://HOST:PORT/hold,${UUID}) with HOLDSTATUS\n"
        "                 (HUMAN, ENDED, NOTSURE, HANGUP) and HOLDCAUSE once a person answers\n"
        "  --fastagi-timeout-ms MS  wait this long for a decision, then NOTSURE (default 5000;\n"
        "                 with --live hold 3600000)\n"
        "  --webhook URL  POST each event line there, signed (HMAC-SHA256, X-Callqa-Signature)\n"
        "  --webhook-secret-file FILE  the signing secret: the first line of FILE, mode 0600\n"
        "  --webhook-events LIST  the types to POST, comma-separated (default: all but stats)\n"
        "  --webhook-attempts N  tries per event (default 6), then a dead letter (counted)\n"
        "  --webhook-backoff-ms MS  the first wait between tries, doubled each time up to\n"
        "                 30 s (default 500)\n"
        "  --webhook-queue N  events waiting to be sent (default 4096); more are dropped\n"
        "  --webhook-timeout-sec S  one POST (default 10)\n"
        "Prints one JSON line per event: callqa classify's lines with \"call\" (its name),\n"
        "\"input\" (audiosocket, rtp or websocket), \"call_sec\" (the call's audio seconds when\n"
        "decided) and \"wall\" (UTC), dtmf lines for AudioSocket DTMF frames, one call_end per\n"
        "call with its reason (hangup, peer_closed, max_duration, stalled, error, shutdown,\n"
        "ssrc_change) and its input's counters, and stats lines (with the audio analysed, the\n"
        "CPU seconds used, and the frames' waits for the analysis: p50, p99 and max in ms).\n"
        "SIGTERM or SIGINT: stop accepting, end every call (shutdown), flush, exit 0.\n",
        f);
}

static int num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "callqa: --%s: expected %g..%g\n", opt, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* PT=CODEC/RATE into the map (--rtp-pt). */
static int rtp_pt(const char *s, lv_rtp_map *m)
{
    static const struct {
        const char *name;
        lv_codec codec;
    } k[] = {{"PCMU", LV_CODEC_PCMU},
             {"PCMA", LV_CODEC_PCMA},
             {"L16", LV_CODEC_L16},
             {"L16LE", LV_CODEC_L16_LE},
             {"none", LV_CODEC_NONE}};
    char *end;
    errno = 0;
    unsigned long pt = strtoul(s, &end, 10);
    if (errno || end == s || *end != '=' || pt > 127)
        return -1;
    const char *c = end + 1, *slash = strchr(c, '/');
    size_t cl = slash ? (size_t)(slash - c) : strlen(c);
    unsigned long rate = 0;
    if (slash) {
        rate = strtoul(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || rate > 192000)
            return -1;
    }
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (strlen(k[i].name) == cl && strncasecmp(c, k[i].name, cl) == 0)
            return lv_rtp_map_set(m, (unsigned)pt, k[i].codec, (uint32_t)rate) == LV_OK ? 0 : -1;
    return -1;
}

/* HOST:PORT or [HOST]:PORT into host[] and port[]; the port digits only. */
static int split_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon, *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1, hl = (size_t)(rb - h), colon = rb + 1;
    } else {
        if (!(colon = strrchr(s, ':')))
            return -1;
        hl = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (!hl || hl >= hcap || !pl || pl >= pcap || pl > 5 || strspn(p, "0123456789") != pl ||
        atoi(p) > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, p, pl + 1);
    return 0;
}

int cq_cli_live(int argc, char **argv)
{
    enum {
        O_AS = 256,
        O_MAXCALLS,
        O_MAXSEC,
        O_STALL,
        O_QUEUE,
        O_THREADS,
        O_LIVE,
        O_EVENTS,
        O_STATS,
        O_MODEL,
        O_EVQ,
        O_VADB,
        O_BWAIT,
        O_REC,
        O_MASK,
        O_RTP,
        O_RTPPT,
        O_RTPWIN,
        O_WS,
        O_WSRATE,
        O_WSMIX,
        O_AGI,
        O_AGI_TIMEOUT,
        O_WH,
        O_WH_SECRET,
        O_WH_EVENTS,
        O_WH_ATTEMPTS,
        O_WH_BACKOFF,
        O_WH_QUEUE,
        O_WH_TIMEOUT,
        O_SILENCE,
        O_IDENT,
        O_PENDING,
        O_PENDING_CLIENT,
        O_RTP_PENDING
    };
    static const struct option opts[] = {
        {"audiosocket", required_argument, NULL, O_AS},
        {"max-calls", required_argument, NULL, O_MAXCALLS},
        {"max-call-sec", required_argument, NULL, O_MAXSEC},
        {"ident-sec", required_argument, NULL, O_IDENT},
        {"max-pending", required_argument, NULL, O_PENDING},
        {"max-pending-per-client", required_argument, NULL, O_PENDING_CLIENT},
        {"rtp-max-pending", required_argument, NULL, O_RTP_PENDING},
        {"stall-sec", required_argument, NULL, O_STALL},
        {"queue-sec", required_argument, NULL, O_QUEUE},
        {"threads", required_argument, NULL, O_THREADS},
        {"live", required_argument, NULL, O_LIVE},
        {"silence-sec", required_argument, NULL, O_SILENCE},
        {"events", required_argument, NULL, O_EVENTS},
        {"stats-sec", required_argument, NULL, O_STATS},
        {"model-dir", required_argument, NULL, O_MODEL},
        {"event-queue", required_argument, NULL, O_EVQ},
        {"vad-batch", required_argument, NULL, O_VADB},
        {"batch-wait-ms", required_argument, NULL, O_BWAIT},
        {"record-dir", required_argument, NULL, O_REC},
        {"mask-digits", no_argument, NULL, O_MASK},
        {"rtp", required_argument, NULL, O_RTP},
        {"rtp-pt", required_argument, NULL, O_RTPPT},
        {"rtp-window-ms", required_argument, NULL, O_RTPWIN},
        {"websocket", required_argument, NULL, O_WS},
        {"ws-rate", required_argument, NULL, O_WSRATE},
        {"ws-mix", required_argument, NULL, O_WSMIX},
        {"fastagi", required_argument, NULL, O_AGI},
        {"fastagi-timeout-ms", required_argument, NULL, O_AGI_TIMEOUT},
        {"webhook", required_argument, NULL, O_WH},
        {"webhook-secret-file", required_argument, NULL, O_WH_SECRET},
        {"webhook-events", required_argument, NULL, O_WH_EVENTS},
        {"webhook-attempts", required_argument, NULL, O_WH_ATTEMPTS},
        {"webhook-backoff-ms", required_argument, NULL, O_WH_BACKOFF},
        {"webhook-queue", required_argument, NULL, O_WH_QUEUE},
        {"webhook-timeout-sec", required_argument, NULL, O_WH_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    lv_server_params p = lv_server_default_params();
    char host[256], port[8], rhost[256], rport[8], whost[256], wport[8];
    const char *as = NULL, *rtp = NULL, *ws = NULL, *events = "-", *model_dir = NULL, *agi = NULL;
    lv_agi_server_params ap = lv_agi_server_default_params();
    char agi_host[256], agi_port[8];
    sinks sk = {.agi = NULL};
    wh_params wp = wh_default_params();
    const char *wh_url = NULL, *wh_secret = NULL;
    bool live_set = false, agi_timeout_set = false;
    double v;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_AS: as = optarg; break;
        case O_MAXCALLS:
            if (num("max-calls", optarg, 1, 100000, &v))
                return 2;
            p.max_calls = (int)v;
            break;
        case O_MAXSEC:
            if (num("max-call-sec", optarg, 0.1, 86400 * 7, &p.max_call_sec))
                return 2;
            break;
        case O_STALL:
            if (num("stall-sec", optarg, 0.1, 86400, &p.stall_sec))
                return 2;
            break;
        case O_IDENT:
            if (num("ident-sec", optarg, 0.1, 3600, &p.ident_sec))
                return 2;
            break;
        case O_PENDING:
            if (num("max-pending", optarg, 1, 100000, &v))
                return 2;
            p.max_pending = (int)v;
            break;
        case O_PENDING_CLIENT:
            if (num("max-pending-per-client", optarg, 1, 100000, &v))
                return 2;
            p.max_pending_per_client = (int)v;
            break;
        case O_RTP_PENDING:
            if (num("rtp-max-pending", optarg, 1, 100000, &v))
                return 2;
            p.rtp_max_pending = (int)v;
            break;
        case O_QUEUE:
            if (num("queue-sec", optarg, 0.1, 600, &p.queue_sec))
                return 2;
            break;
        case O_THREADS:
            if (num("threads", optarg, 1, 256, &v))
                return 2;
            p.threads = (int)v;
            break;
        case O_STATS:
            if (num("stats-sec", optarg, 0, 86400, &p.stats_sec))
                return 2;
            break;
        case O_SILENCE:
            if (num("silence-sec", optarg, 0, 3600, &p.silence_sec))
                return 2;
            break;
        case O_LIVE:
            live_set = true;
            if (strcmp(optarg, "hold") == 0)
                p.live_mode = CQ_LIVE_HOLD;
            else if (strcmp(optarg, "amd") == 0)
                p.live_mode = CQ_LIVE_AMD;
            else {
                fprintf(stderr, "callqa: --live: expected hold or amd\n");
                return 2;
            }
            break;
        case O_EVQ:
            if (num("event-queue", optarg, 16, 1000000, &v))
                return 2;
            p.event_queue = (size_t)v;
            break;
        case O_VADB:
            if (num("vad-batch", optarg, 1, LV_VAD_BATCH_MAX, &v))
                return 2;
            p.vad_batch = (int)v;
            break;
        case O_BWAIT:
            if (num("batch-wait-ms", optarg, 0, 1000, &v))
                return 2;
            p.batch_wait_sec = v / 1000.0;
            break;
        case O_REC: p.record_dir = optarg; break;
        case O_MASK: p.mask_digits = true; break;
        case O_RTP: rtp = optarg; break;
        case O_WS: ws = optarg; break;
        case O_RTPPT:
            if (rtp_pt(optarg, &p.rtp_map)) {
                fprintf(stderr,
                        "callqa: --rtp-pt %s: expected PT=CODEC/RATE, e.g. 118=L16/16000 "
                        "(PT 0-127; PCMU, PCMA, L16, L16LE, none)\n",
                        optarg);
                return 2;
            }
            break;
        case O_RTPWIN:
            if (num("rtp-window-ms", optarg, 1, 2000, &v))
                return 2;
            p.rtp_window_ms = (unsigned)v;
            break;
        case O_WSRATE:
            if (strcmp(optarg, "8000") && strcmp(optarg, "16000")) {
                fprintf(stderr, "callqa: --ws-rate: expected 8000 or 16000\n");
                return 2;
            }
            p.ws_rate_hz = (uint32_t)atoi(optarg);
            break;
        case O_WSMIX:
            if (!strcmp(optarg, "mono") || !strcmp(optarg, "mixed"))
                p.ws_channels = 1;
            else if (!strcmp(optarg, "stereo"))
                p.ws_channels = 2;
            else {
                fprintf(stderr, "callqa: --ws-mix: expected mono, mixed or stereo\n");
                return 2;
            }
            break;
        case O_AGI: agi = optarg; break;
        case O_AGI_TIMEOUT:
            if (num("fastagi-timeout-ms", optarg, 50, 14400000, &v))
                return 2;
            ap.timeout_sec = v / 1000.0;
            agi_timeout_set = true;
            break;
        case O_WH: wh_url = optarg; break;
        case O_WH_SECRET: wh_secret = optarg; break;
        case O_WH_EVENTS: {
            size_t l = strlen(optarg);
            if (!l || l + 3 > sizeof(sk.wh_types) ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyz_,") != l) {
                fprintf(stderr,
                        "callqa: --webhook-events: event types (a-z, _), comma-separated\n");
                return 2;
            }
            snprintf(sk.wh_types, sizeof(sk.wh_types), ",%s,", optarg);
            break;
        }
        case O_WH_ATTEMPTS:
            if (num("webhook-attempts", optarg, 1, 100, &v))
                return 2;
            wp.max_attempts = (int)v;
            break;
        case O_WH_BACKOFF:
            if (num("webhook-backoff-ms", optarg, 1, 600000, &v))
                return 2;
            wp.backoff_sec = v / 1000.0;
            if (wp.max_backoff_sec < wp.backoff_sec)
                wp.max_backoff_sec = wp.backoff_sec;
            break;
        case O_WH_QUEUE:
            if (num("webhook-queue", optarg, 1, 1000000, &v))
                return 2;
            wp.queue = (size_t)v;
            break;
        case O_WH_TIMEOUT:
            if (num("webhook-timeout-sec", optarg, 0.1, 600, &wp.timeout_sec))
                return 2;
            if (wp.connect_timeout_sec > wp.timeout_sec)
                wp.connect_timeout_sec = wp.timeout_sec;
            break;
        case O_EVENTS: events = optarg; break;
        case O_MODEL: model_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || (!as && !rtp && !ws)) {
        usage(stderr);
        return 2;
    }
    if (p.max_pending_per_client > p.max_pending) {
        fprintf(stderr, "callqa: --max-pending-per-client: at most --max-pending (%d)\n",
                p.max_pending);
        return 2;
    }
    const struct {
        const char *opt, *val;
        char *host, *port;
        const char **ph, **pp;
    } in[] = {{"audiosocket", as, host, port, &p.host, &p.port},
              {"rtp", rtp, rhost, rport, &p.rtp_host, &p.rtp_port},
              {"websocket", ws, whost, wport, &p.ws_host, &p.ws_port}};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        *in[i].ph = NULL;
        if (!in[i].val)
            continue;
        if (split_hostport(in[i].val, in[i].host, 256, in[i].port, 8) != 0) {
            fprintf(stderr, "callqa: --%s: expected HOST:PORT or [HOST]:PORT\n", in[i].opt);
            return 2;
        }
        *in[i].ph = in[i].host;
        *in[i].pp = in[i].port;
    }
    if (agi) {
        if (split_hostport(agi, agi_host, sizeof(agi_host), agi_port, sizeof(agi_port)) != 0) {
            fprintf(stderr, "callqa: --fastagi: expected HOST:PORT or [HOST]:PORT\n");
            return 2;
        }
        /* AMD decisions (script amd), or with --live hold the hold-slayer's (script hold) */
        if (live_set && p.live_mode == CQ_LIVE_HOLD) {
            ap.hold = true;
            ap.script = "hold";
            if (!agi_timeout_set)
                ap.timeout_sec = 3600;
        } else {
            p.live_mode = CQ_LIVE_AMD;
        }
        ap.host = agi_host;
        ap.port = agi_port;
        ap.max_conns = p.max_calls * 2 < 100000 ? p.max_calls * 2 : 100000;
        ap.ident_sec = p.ident_sec; /* the same pool's limits, a pool of its own */
        ap.max_pending = p.max_pending;
        ap.max_pending_per_client = p.max_pending_per_client;
    }
    if (!wh_url != !wh_secret) {
        fprintf(stderr, "callqa: --webhook and --webhook-secret-file go together\n");
        return 2;
    }
    char secret[1024], msg[512];
    if (wh_url) {
        if (cfg_read_secret(wh_secret, secret, sizeof(secret), msg, sizeof(msg)) != 0) {
            fprintf(stderr, "callqa: --webhook-secret-file: %s\n", msg);
            return 1;
        }
        wp.url = wh_url;
        wp.key = (const uint8_t *)secret;
        wp.key_len = strlen(secret);
        sk.wh = wh_create(&wp, msg, sizeof(msg));
        memset(secret, 0, sizeof(secret)); /* the sender keeps its own copy */
        if (!sk.wh) {
            fprintf(stderr, "callqa: --webhook: %s\n", msg);
            return 2;
        }
    }
    int efd = 1;
    if (strcmp(events, "-") != 0) {
        if (!*events || (efd = open(events, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
            fprintf(stderr, "callqa: --events %s: %s\n", events, strerror(errno));
            wh_destroy(sk.wh, 0, NULL);
            return 1;
        }
    }
    p.events_fd = efd;

    /* the VAD: Silero from the model directory, loaded once for every call; else the DSP one */
    cq_vad_model *vm = cq_cli_vad_model_load(model_dir);
    p.vad_model = vm;

    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, NULL);
    lv_error e;
    if (agi && !(sk.agi = lv_agi_server_create(&ap, &e))) {
        fprintf(stderr, "callqa: live: %s\n", e.msg);
        wh_destroy(sk.wh, 0, NULL);
        cq_vad_model_free(vm);
        if (efd != 1)
            close(efd);
        return 1;
    }
    p.on_event = on_event;
    p.on_stats = on_stats;
    p.user = &sk;
    lv_server *s = lv_server_create(&p, &e);
    if (!s) {
        fprintf(stderr, "callqa: live: %s\n", e.msg);
        lv_agi_server_destroy(sk.agi);
        wh_destroy(sk.wh, 0, NULL);
        cq_vad_model_free(vm);
        if (efd != 1)
            close(efd);
        return 1;
    }
    g_srv = s;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (as)
        fprintf(stderr,
                "callqa live: AudioSocket on %s port %d, %d calls at most, %d analysis threads\n",
                host, lv_server_port(s), p.max_calls, p.threads);
    if (rtp)
        fprintf(stderr, "callqa live: RTP on %s UDP port %d\n", rhost,
                lv_server_input_port(s, LV_INPUT_RTP));
    if (ws)
        fprintf(stderr, "callqa live: WebSocket on %s TCP port %d\n", whost,
                lv_server_input_port(s, LV_INPUT_WEBSOCKET));
    if (!as)
        fprintf(stderr, "callqa live: %d calls at most, %d analysis threads\n", p.max_calls,
                p.threads);
    if (sk.agi)
        fprintf(stderr,
                "callqa live: FastAGI on %s port %d, script %s, a decision waited for %.0f ms\n",
                agi_host, lv_agi_server_port(sk.agi), ap.script, ap.timeout_sec * 1000);
    int rc = lv_server_run(s);
    lv_server_stats st;
    lv_server_get_stats(s, &st);
    fprintf(stderr,
            "callqa live: stopped: %llu connections, %llu calls, %llu refused (full), %llu "
            "refused (no UUID), %llu event lines, %llu dropped, %llu audio samples dropped; RTP "
            "%llu datagrams, %llu malformed, %llu refused, %llu after their call; WebSocket %llu "
            "refused; %llu closed before they identified their call (%llu in --ident-sec, %llu "
            "the oldest waiting); RTP %llu SSRCs dropped before they showed a stream (%llu in "
            "--ident-sec, %llu for room), %llu of their packets\n",
            (unsigned long long)st.accepted, (unsigned long long)st.calls,
            (unsigned long long)st.refused_full, (unsigned long long)st.refused_uuid,
            (unsigned long long)st.events, (unsigned long long)st.events_dropped,
            (unsigned long long)st.audio_dropped, (unsigned long long)st.rtp_datagrams,
            (unsigned long long)st.rtp_malformed, (unsigned long long)st.rtp_refused,
            (unsigned long long)st.rtp_after_end, (unsigned long long)st.ws_refused,
            (unsigned long long)(st.ident_timeout + st.ident_evicted),
            (unsigned long long)st.ident_timeout, (unsigned long long)st.ident_evicted,
            (unsigned long long)(st.rtp_timeout + st.rtp_evicted),
            (unsigned long long)st.rtp_timeout, (unsigned long long)st.rtp_evicted,
            (unsigned long long)st.rtp_dropped);
    g_srv = NULL;
    lv_server_destroy(s); /* joins the analysis threads, flushes the events */
    if (sk.agi) {
        lv_agi_server_stats ags;
        lv_agi_server_get_stats(sk.agi, &ags);
        fprintf(stderr,
                "callqa live: FastAGI: %llu connections, answered %llu HUMAN, %llu MACHINE, "
                "%llu ENDED, %llu NOTSURE, %llu HANGUP; %llu refused, %llu failed, %llu "
                "channels hung up first; %llu closed before a whole environment (%llu in "
                "--ident-sec, %llu the oldest waiting)\n",
                (unsigned long long)ags.accepted, (unsigned long long)ags.human,
                (unsigned long long)ags.machine, (unsigned long long)ags.ended,
                (unsigned long long)ags.notsure, (unsigned long long)ags.hangup,
                (unsigned long long)ags.refused, (unsigned long long)ags.failed,
                (unsigned long long)ags.agi_hangup,
                (unsigned long long)(ags.ident_timeout + ags.ident_evicted),
                (unsigned long long)ags.ident_timeout, (unsigned long long)ags.ident_evicted);
        lv_agi_server_destroy(sk.agi);
    }
    if (sk.wh) { /* what is queued gets 5 s to go out; the rest is dropped, counted */
        wh_stats whs;
        wh_destroy(sk.wh, 5.0, &whs);
        wh_report(&whs);
    }
    cq_vad_model_free(vm);
    if (efd != 1)
        close(efd);
    return rc == LV_OK ? 0 : 1;
}
