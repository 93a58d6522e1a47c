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
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../clients/webhook.h"
#include "../config/config.h"
#include "../live/live.h"
#include "callqa/callqa.h"
#include "cli_args.h"
#include "live_cmd.h"
#include "vad_model.h"

static lv_server *volatile g_srv;

/* Where the server's sink sends each event line: the FastAGI answer of AMD decisions, the
 * webhook (the types in wh_types, comma-separated with a comma at each end; "": all but stats). */
typedef struct sinks {
    lv_agi_server *agi;
    wh_sender *wh;
    char wh_types[256];
    _Atomic(lv_server *) srv; /* for the destinations FastAGI names (set once it runs) */
} sinks;

/* FastAGI's hold,UUID,DEST: the call's destination, for its remembered announcements. */
static void on_destination(void *user, const char *uuid, const char *dest)
{
    sinks *k = user;
    lv_server *s = atomic_load(&k->srv);
    if (s)
        lv_server_destination(s, uuid, dest);
}

/* The remembered announcements' file, written every SAVE_SEC while it changes (never by the
 * threads that carry audio or events), and once more at the end. */
#define SAVE_SEC 30
typedef struct saver {
    lv_fps *fps;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;
} saver;

static void save_now(lv_fps *fps)
{
    lv_error e;
    if (lv_fps_save(fps, cq_clock_wall_sec(), &e) != LV_OK)
        fprintf(stderr, "callqa live: --announce-file (live_announce_file): %s\n", e.msg);
}

static void *saver_main(void *arg)
{
    saver *v = arg;
    pthread_mutex_lock(&v->mu);
    while (!v->quit) {
        struct timespec ts = cq_clock_timespec(cq_clock_mono_sec() + SAVE_SEC);
        pthread_cond_timedwait(&v->cv, &v->mu, &ts);
        if (v->quit)
            break;
        pthread_mutex_unlock(&v->mu);
        save_now(v->fps);
        pthread_mutex_lock(&v->mu);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

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

/* A call the server identified: FastAGI's requests that name it are known. */
static void on_call(void *user, const char *name)
{
    sinks *k = user;
    if (k->agi)
        lv_agi_server_call(k->agi, name);
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

/* Every PT=CODEC/RATE of a comma-separated list into the map: 0, or -1 having said which. */
static int rtp_pts(const char *list, lv_rtp_map *m)
{
    char one[64];
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(one, sizeof(one), "%.*s", (int)(n < sizeof(one) ? n : sizeof(one) - 1), p);
        if (n >= sizeof(one) || rtp_pt(one, m)) {
            fprintf(stderr,
                    "callqa: --rtp-pt (live_rtp_pt) %.*s: expected PT=CODEC/RATE, e.g. "
                    "118=L16/16000 (PT 0-127; PCMU, PCMA, L16, L16LE, none)\n",
                    (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

/* The probe (live_probe), made by lv_probe_load into *pcm (the caller frees it). 0, or 2 having
 * said why. */
static int load_probe(const char *spec, int16_t **pcm, size_t *n)
{
    lv_error e;
    if (lv_probe_load(spec, pcm, n, &e) == LV_OK)
        return 0;
    fprintf(stderr, "callqa: --probe %s: %s\n",
            strcmp(spec, "default") ? "(live_probe)" : "default", e.msg);
    return 2;
}

/* The settings (live_*, live_events, model_dir: docs/config.md) as the server's parameters, the
 * FastAGI server's and the webhook's. 0, or 2 having said why. */
static int params_of(const cfg_settings *c, lv_server_params *p, lv_agi_server_params *ap,
                     wh_params *wp, sinks *sk)
{
    p->max_calls = c->live_max_calls;
    p->max_call_sec = c->live_max_call_sec;
    p->stall_sec = c->live_stall_sec;
    p->ident_sec = c->live_ident_sec;
    p->max_pending = c->live_max_pending;
    p->max_pending_per_client = c->live_max_pending_per_client;
    p->rtp_max_pending = c->live_rtp_max_pending;
    p->queue_sec = c->live_queue_sec;
    if (c->live_threads > 0)
        p->threads = c->live_threads;
    p->stats_sec = c->live_stats_sec;
    p->silence_sec = c->live_silence_sec;
    p->live_mode = c->live_mode;
    p->event_queue = (size_t)c->live_event_queue;
    p->vad_batch = c->live_vad_batch;
    p->batch_wait_sec = c->live_batch_wait_ms / 1000.0;
    p->record_dir = c->live_record_dir[0] ? c->live_record_dir : NULL;
    p->mask_digits = c->live_mask_dtmf;
    p->rtp_window_ms = (unsigned)c->live_rtp_window_ms;
    p->ws_rate_hz = c->live_ws_rate ? 16000 : 8000;
    p->ws_channels = c->live_ws_mix == 2 ? 2 : 1;
    if (rtp_pts(c->live_rtp_pt, &p->rtp_map))
        return 2;
    if (p->max_pending_per_client > p->max_pending) {
        fprintf(stderr,
                "callqa: --max-pending-per-client (live_max_pending_per_client) %d: at most "
                "--max-pending (%d)\n",
                p->max_pending_per_client, p->max_pending);
        return 2;
    }
    if (c->live_fastagi_timeout_ms) /* 0: the FastAGI server's own, or an hour with hold */
        ap->timeout_sec = c->live_fastagi_timeout_ms / 1000.0;
    wp->max_attempts = c->live_webhook_attempts;
    wp->backoff_sec = c->live_webhook_backoff_ms / 1000.0;
    if (wp->max_backoff_sec < wp->backoff_sec)
        wp->max_backoff_sec = wp->backoff_sec;
    wp->queue = (size_t)c->live_webhook_queue;
    wp->timeout_sec = c->live_webhook_timeout_sec;
    if (wp->connect_timeout_sec > wp->timeout_sec)
        wp->connect_timeout_sec = wp->timeout_sec;
    const char *types = c->live_webhook_events;
    size_t l = strlen(types);
    if (l && (l + 3 > sizeof(sk->wh_types) || strspn(types, "abcdefghijklmnopqrstuvwxyz_,") != l)) {
        fprintf(stderr, "callqa: --webhook-events (live_webhook_events): event types (a-z, _), "
                        "comma-separated\n");
        return 2;
    }
    if (l)
        snprintf(sk->wh_types, sizeof(sk->wh_types), ",%s,", types);
    return 0;
}

int cq_cli_live(int argc, char **argv)
{
    static cfg_settings c; /* --config FILE, then CALLQA_*, then the flags */
    cfg_defaults(&c);
    cfg_args args;
    int rc0 = cq_cli_args("live", "callqa", argc, argv, &c, &args);
    if (rc0 >= 0)
        return rc0;
    lv_server_params p = lv_server_default_params();
    char host[256], port[8], rhost[256], rport[8], whost[256], wport[8];
    const char *as = c.live_audiosocket[0] ? c.live_audiosocket : NULL,
               *rtp = c.live_rtp[0] ? c.live_rtp : NULL,
               *ws = c.live_websocket[0] ? c.live_websocket : NULL,
               *events = c.live_events[0] ? c.live_events : "-",
               *model_dir = c.model_dir[0] ? c.model_dir : NULL,
               *agi = c.live_fastagi[0] ? c.live_fastagi : NULL;
    lv_agi_server_params ap = lv_agi_server_default_params();
    char agi_host[256], agi_port[8];
    sinks sk = {.agi = NULL};
    ap.on_destination = on_destination;
    ap.user = &sk;
    wh_params wp = wh_default_params();
    const char *wh_url = c.live_webhook[0] ? c.live_webhook : NULL,
               *wh_secret = c.live_webhook_secret_file[0] ? c.live_webhook_secret_file : NULL;
    if (args.next != argc || (!as && !rtp && !ws)) {
        cq_cli_usage(stderr, "live");
        return 2;
    }
    if (params_of(&c, &p, &ap, &wp, &sk) != 0)
        return 2;
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
        if (cq_cli_hostport(in[i].val, in[i].host, 256, in[i].port, 8) != 0) {
            fprintf(stderr, "callqa: --%s (live_%s): expected HOST:PORT or [HOST]:PORT\n",
                    in[i].opt, in[i].opt);
            return 2;
        }
        *in[i].ph = in[i].host;
        *in[i].pp = in[i].port;
    }
    if (agi) {
        if (cq_cli_hostport(agi, agi_host, sizeof(agi_host), agi_port, sizeof(agi_port)) != 0) {
            fprintf(stderr,
                    "callqa: --fastagi (live_fastagi): expected HOST:PORT or [HOST]:PORT\n");
            return 2;
        }
        /* AMD decisions (script amd), or with --live hold the hold-slayer's (script hold) */
        if (p.live_mode == CQ_LIVE_HOLD) {
            ap.hold = true;
            ap.script = "hold";
            if (!c.live_fastagi_timeout_ms)
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
    p.on_call = on_call;
    p.user = &sk;
    cq_err err = {0};
    int16_t *probe = NULL; /* hold mode's probe (docs/live/hold-slayer.md, "Asking the line") */
    size_t probe_len = 0;
    if (c.live_probe[0] && p.live_mode != CQ_LIVE_HOLD)
        fprintf(stderr, "callqa live: --probe (live_probe) is for --live hold: not used\n");
    const int probe_rc = c.live_probe[0] && p.live_mode == CQ_LIVE_HOLD
                             ? load_probe(c.live_probe, &probe, &probe_len)
                             : 0;
    p.probe = probe;
    p.probe_len = probe_len;
    /* the announcements remembered per destination (docs/live.md) */
    lv_fps *fps = NULL;
    int fps_rc = 0;
    if (c.live_announce_file[0] && p.live_mode != CQ_LIVE_HOLD)
        fprintf(stderr, "callqa live: --announce-file (live_announce_file) is for --live hold: "
                        "not used\n");
    if (c.live_announce_file[0] && p.live_mode == CQ_LIVE_HOLD && !probe_rc) {
        lv_fps_params fp = lv_fps_default_params();
        fp.path = c.live_announce_file;
        fp.retain_days = c.live_announce_days;
        if (!(fps = lv_fps_open(&fp, cq_clock_wall_sec(), &e))) {
            fprintf(stderr, "callqa: --announce-file (live_announce_file): %s\n", e.msg);
            fps_rc = 1;
        }
    }
    p.announce = fps;
    lv_server *s = probe_rc || fps_rc ? NULL : lv_server_create(&p, &err);
    if (!s) {
        if (!probe_rc && !fps_rc)
            fprintf(stderr, "callqa: live: %s\n", err.msg);
        lv_fps_destroy(fps);
        free(probe);
        lv_agi_server_destroy(sk.agi);
        wh_destroy(sk.wh, 0, NULL);
        cq_vad_model_free(vm);
        if (efd != 1)
            close(efd);
        return 1;
    }
    g_srv = s;
    atomic_store(&sk.srv, s);
    saver sv = {.fps = fps};
    pthread_t sv_thread;
    bool sv_up = false;
    if (fps) {
        pthread_mutex_init(&sv.mu, NULL);
        pthread_condattr_t ca; /* timed on the monotonic clock */
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&sv.cv, &ca);
        pthread_condattr_destroy(&ca);
        sv_up = pthread_create(&sv_thread, NULL, saver_main, &sv) == 0;
        size_t nd, nf;
        lv_fps_counts(fps, &nd, &nf);
        fprintf(stderr, "callqa live: %zu announcements remembered for %zu destinations (%s)\n", nf,
                nd, c.live_announce_file);
    }
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
    if (probe_len)
        fprintf(stderr,
                "callqa live: the probe (%.2f s) asks AudioSocket and RTP calls at 8 kHz and "
                "WebSocket calls\n",
                (double)probe_len / 8000);
    if (sk.agi)
        fprintf(stderr,
                "callqa live: FastAGI on %s port %d, script %s, a decision waited for %.0f ms\n",
                agi_host, lv_agi_server_port(sk.agi), ap.script, ap.timeout_sec * 1000);
    int rc = lv_server_run(s);
    lv_server_stats st;
    lv_server_get_stats(s, &st);
    const uint64_t v[] = {st.accepted,
                          st.calls,
                          st.refused_full,
                          st.refused_uuid,
                          st.events,
                          st.events_dropped,
                          st.audio_dropped,
                          st.rtp_datagrams,
                          st.rtp_malformed,
                          st.rtp_refused,
                          st.rtp_after_end,
                          st.ws_refused,
                          st.ident.timeout + st.ident.evicted,
                          st.ident.timeout,
                          st.ident.evicted,
                          st.rtp_timeout + st.rtp_evicted,
                          st.rtp_timeout,
                          st.rtp_evicted,
                          st.rtp_dropped};
    char line[2048];
    lv_counts_text(line, sizeof(line),
                   "callqa live: stopped: # connections, # calls, # refused (full), # refused (no "
                   "UUID), # event lines, # dropped, # audio samples dropped; RTP # datagrams, # "
                   "malformed, # refused, # after their call; WebSocket # refused; # closed before "
                   "they identified their call (# in --ident-sec, # the oldest waiting); RTP # "
                   "SSRCs dropped before they showed a stream (# in --ident-sec, # for room), # of "
                   "their packets\n",
                   v, sizeof(v) / sizeof(v[0]));
    fputs(line, stderr);
    g_srv = NULL;
    atomic_store(&sk.srv, NULL);
    lv_server_destroy(s); /* joins the analysis threads, flushes the events */
    if (fps) {
        if (sv_up) {
            pthread_mutex_lock(&sv.mu);
            sv.quit = true;
            pthread_cond_signal(&sv.cv);
            pthread_mutex_unlock(&sv.mu);
            pthread_join(sv_thread, NULL);
        }
        save_now(fps);
        size_t nd, nf;
        lv_fps_counts(fps, &nd, &nf);
        fprintf(stderr, "callqa live: %zu announcements remembered for %zu destinations\n", nf, nd);
        pthread_cond_destroy(&sv.cv);
        pthread_mutex_destroy(&sv.mu);
        lv_fps_destroy(fps);
    }
    if (sk.agi) {
        lv_agi_server_stats ags;
        lv_agi_server_get_stats(sk.agi, &ags);
        const uint64_t av[] = {ags.accepted,       ags.human,
                               ags.machine,        ags.ended,
                               ags.notsure,        ags.hangup,
                               ags.refused,        ags.failed,
                               ags.agi_hangup,     ags.ident.timeout + ags.ident.evicted,
                               ags.ident.timeout,  ags.ident.evicted,
                               ags.unknown_evicted};
        lv_counts_text(line, sizeof(line),
                       "callqa live: FastAGI: # connections, answered # HUMAN, # MACHINE, # "
                       "ENDED, # NOTSURE, # HANGUP; # refused, # failed, # channels hung up "
                       "first; # closed before a whole environment (# in --ident-sec, # the "
                       "oldest waiting); # naming no known call closed to make room\n",
                       av, sizeof(av) / sizeof(av[0]));
        fputs(line, stderr);
        lv_agi_server_destroy(sk.agi);
    }
    if (sk.wh) { /* what is queued gets 5 s to go out; the rest is dropped, counted */
        wh_stats whs;
        wh_destroy(sk.wh, 5.0, &whs);
        wh_report(&whs);
    }
    cq_vad_model_free(vm);
    free(probe);
    if (efd != 1)
        close(efd);
    return rc == LV_OK ? 0 : 1;
}
