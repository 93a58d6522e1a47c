/*
 * test_live_server.c - the AudioSocket server of `callqa live` (src/live/server.c) in-process,
 * without the corpus: a call of a generated 1 s tone with a DTMF frame and a hangup; a call
 * ending on an unknown kind (an error frame back, call_end "error"); a connection whose first
 * frame is audio (refused, no call); --max-calls 2 with a third connection refused; a stalled
 * connection; a call in progress at stop ("shutdown"); every call_end once; the event sink
 * (on_event) called from the writer thread with every line, and on_stats's fields on the stats.
 * Then the RTP and WebSocket inputs, without AudioSocket: an RTP stream of the tone with a lost,
 * a reordered and a duplicated packet, datagrams that are not RTP, an SSRC change from the same
 * socket (the first call ends "ssrc_change", the second stalls); a WebSocket call named by its
 * metadata, with a ping (a pong back) and a close (a close back); an Upgrade without its key
 * (400); with max_calls 1, a second SSRC and a WebSocket connection refused, and an RTP stream
 * that comes back after it stalled made a new call; a stream over max_call_sec ended, its
 * further packets ignored; RTP SSRCs before their call (the pool's room, identification, a
 * refusal at max_calls, ident_sec). Connections that do not identify their call (AudioSocket,
 * WebSocket, FastAGI): apart from max_calls, the oldest of an address closed past its share, every
 * one closed at ident_sec even with bytes coming, and a real call or AGI request served meanwhile;
 * the silent closed before a WebSocket call between its Upgrade and its first message, from its
 * own address or when the pool is full. FastAGI requests that name no known call closed to make
 * room (the share per address, then the longest-waiting), those of a known call never.
 * tests/live/test_server.sh and test_inputs.sh run the command itself on corpus calls.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/live/live.h"

/* A TCP connection to port on loopback from the address src. */
static int dial_from(int port, const char *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static int dial(int port)
{
    return dial_from(port, "127.0.0.1");
}

static void put(int fd, const uint8_t *b, size_t n)
{
    assert_true(n > 0);
    assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static size_t uuid_frame(uint8_t *b, size_t cap, uint8_t tag)
{
    uint8_t u[16] = {0};
    u[15] = tag;
    return lv_as_encode_uuid(b, cap, u);
}

static void send_uuid(int fd, uint8_t tag)
{
    uint8_t b[32];
    put(fd, b, uuid_frame(b, sizeof(b), tag));
}

/* frame f (20 ms) of a 440 Hz tone at 8 kHz */
static size_t tone_frame(uint8_t *b, size_t cap, int f)
{
    int16_t pcm[160];
    for (int i = 0; i < 160; i++)
        pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (f * 160 + i) / 8000.0));
    return lv_as_encode_slin(b, cap, 8000, pcm, 160);
}

/* n 20 ms frames of the tone */
static void send_tone(int fd, int frames)
{
    uint8_t b[400];
    for (int f = 0; f < frames; f++)
        put(fd, b, tone_frame(b, sizeof(b), f));
}

/* A call's frames gathered, to be sent in one write: the server reads them together, so that no
 * pause of this thread between two of them can look like a stall. */
typedef struct frames {
    uint8_t b[24000];
    size_t n;
} frames;

static void add_bytes(frames *f, const uint8_t *p, size_t n)
{
    assert_true(n > 0 && f->n + n <= sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void add_uuid(frames *f, uint8_t tag)
{
    uint8_t b[32];
    add_bytes(f, b, uuid_frame(b, sizeof(b), tag));
}

static void add_tone(frames *f, int count)
{
    uint8_t b[400];
    for (int k = 0; k < count; k++)
        add_bytes(f, b, tone_frame(b, sizeof(b), k));
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* RTP packet i of the tone (payload type pt: PCMU 0, or another that carries it the same way),
 * sequence numbers and timestamps from near their wrap, into pkt[cap]; its length */
static size_t rtp_packet(uint8_t *pkt, size_t cap, uint32_t ssrc, int i, unsigned pt)
{
    uint8_t pay[160];
    for (int k = 0; k < 160; k++) {
        double v = 8000 * sin(2 * M_PI * 440 * (i * 160 + k) / 8000.0);
        pay[k] = (uint8_t)(v >= 0 ? 0x80 | (int)(v / 1100) : (int)(-v / 1100)); /* a coarse code */
    }
    return lv_rtp_encode(pkt, cap, pt, i == 0, (uint16_t)(65530 + i),
                         4294967000u + (uint32_t)i * 160, ssrc, pay, sizeof(pay));
}

/* A thread that keeps calls from stalling while the test waits for the server: every 20 ms one
 * more 20 ms frame to each of the first n feeds, an AudioSocket tone frame or the next RTP packet
 * of an SSRC. Only a stall_sec (3 s) without a turn of this thread could end one as stalled.
 * The errors of send are left: at the server's stop it closes its connections. */
typedef struct feed {
    int fd;
    uint32_t ssrc; /* 0: AudioSocket */
    int next;      /* the frame's or the packet's number */
} feed;

typedef struct feeder {
    feed f[2];
    _Atomic int n; /* it feeds f[0..n) */
    _Atomic bool done;
    pthread_t t;
} feeder;

static void *feed_run(void *arg)
{
    feeder *fe = arg;
    while (!atomic_load(&fe->done)) {
        int n = atomic_load(&fe->n);
        for (int k = 0; k < n; k++) {
            feed *f = &fe->f[k];
            uint8_t b[400];
            size_t len = f->ssrc ? rtp_packet(b, sizeof(b), f->ssrc, f->next, 0)
                                 : tone_frame(b, sizeof(b), f->next);
            f->next++;
            if (send(f->fd, b, len, MSG_NOSIGNAL) < 0) {
                /* closed by the server at its stop */
            }
        }
        usleep(20000);
    }
    return NULL;
}

static void feed_start(feeder *fe, int n)
{
    atomic_store(&fe->n, n);
    atomic_store(&fe->done, false);
    assert_int_equal(pthread_create(&fe->t, NULL, feed_run, fe), 0);
}

static void feed_stop(feeder *fe)
{
    atomic_store(&fe->done, true);
    pthread_join(fe->t, NULL);
}

/* A wait for what the server does, as milliseconds for poll: only a hang's bound. */
static int hang_ms(void)
{
    return (int)(tu_hang_sec(30) * 1000);
}

/* The first byte the server sends back (-1: closed, or nothing until the hang guard). */
static int reply_kind(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t b[8];
    if (poll(&p, 1, hang_ms()) <= 0 || recv(fd, b, sizeof(b), 0) <= 0)
        return -1;
    return b[0];
}

/* Wait until the server's counts, read into st, hold cond (polled; a hang fails the test). */
#define WAIT_STATS(s, st, cond)                                                                    \
    do {                                                                                           \
        double until_ = mono() + tu_hang_sec(60);                                                  \
        for (;;) {                                                                                 \
            lv_server_get_stats((s), &(st));                                                       \
            if (cond)                                                                              \
                break;                                                                             \
            if (mono() > until_)                                                                   \
                fail_msg("the server's counts never came to %s", #cond);                           \
            usleep(5000);                                                                          \
        }                                                                                          \
    } while (0)

/* The event lines written to fd until its writer closed it, into text[cap] (NUL-ended; what
 * does not fit is left), printed; fd is closed. */
static void drain(int fd, char *text, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while (n < cap - 1 && (got = read(fd, text + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    text[n] = 0;
    close(fd);
    printf("%s", text);
}

static void *run(void *arg)
{
    lv_server_run(arg);
    return NULL;
}

/* The server of p, its event lines to a new pipe (ev[0] reads them), run on its thread *t. */
static lv_server *start(lv_server_params *p, int ev[2], pthread_t *t)
{
    assert_int_equal(pipe(ev), 0);
    p->events_fd = ev[1];
    cq_err e;
    lv_server *s = lv_server_create(p, &e);
    assert_non_null(s);
    assert_int_equal(pthread_create(t, NULL, run, s), 0);
    return s;
}

/* s stopped, its thread joined (the feeder fe, if any, stopped after it: its calls are there at
 * the stop), its last counts in *st, then destroyed; its event lines read into text[cap]
 * (drain). */
static void finish(lv_server *s, pthread_t t, int ev[2], lv_server_stats *st, char *text,
                   size_t cap, feeder *fe)
{
    lv_server_stop(s);
    pthread_join(t, NULL);
    if (fe)
        feed_stop(fe);
    lv_server_get_stats(s, st);
    lv_server_destroy(s);
    close(ev[1]);
    drain(ev[0], text, cap);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The sink's record: the lines it was handed, from which thread. */
typedef struct sink {
    pthread_t net; /* the thread that runs lv_server_run: the sink never runs on it */
    int lines, call_ends, stats, on_net, bad;
    char reasons[256];
} sink;

static void on_event(void *user, const lv_event *ev)
{
    sink *k = user;
    usleep(20000); /* a slow sink: it holds back the writer only, never the calls */
    k->lines++;
    k->on_net += pthread_equal(pthread_self(), k->net) != 0;
    k->bad += ev->len == 0 || ev->json[0] != '{' || ev->json[ev->len - 1] != '}';
    if (!strcmp(ev->type, "call_end")) {
        k->call_ends++;
        k->bad += strlen(ev->call) != 36 || !ev->reason;
        strncat(k->reasons, ev->reason ? ev->reason : "?", sizeof(k->reasons) - 40);
        strcat(k->reasons, ",");
    } else if (!strcmp(ev->type, "stats")) {
        k->stats++;
        k->bad += ev->call[0] != 0 || !strstr(ev->json, "\"sink\":7}");
    }
}

static size_t on_stats(void *user, char *buf, size_t cap)
{
    (void)user;
    return (size_t)snprintf(buf, cap, ",\"sink\":7");
}

/* The line of text that holds needle (the first), copied into line[cap]; "" when none. */
static const char *line_with(const char *text, const char *needle, char *line, size_t cap)
{
    const char *at = strstr(text, needle);
    line[0] = 0;
    if (at) {
        const char *b = at, *e = strchr(at, '\n');
        while (b > text && b[-1] != '\n')
            b--;
        snprintf(line, cap, "%.*s", (int)((e ? e : at + strlen(at)) - b), b);
    }
    return line;
}

static void test_server(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = lv_server_default_params();
    p.port = "0";
    p.max_calls = 2;
    p.threads = 2;
    p.stall_sec = 3; /* c1's end: every other call sent all it had, or is fed */
    p.stats_sec = 0;
    sink sk = {.lines = 0};
    p.on_event = on_event;
    p.on_stats = on_stats;
    p.user = &sk;
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int port = lv_server_port(s);
    assert_true(port > 0);
    sk.net = t;

    /* a call: UUID, 1 s of tone, a DTMF frame, hangup */
    frames fa = {.n = 0};
    add_uuid(&fa, 1);
    add_tone(&fa, 50);
    uint8_t b[16];
    add_bytes(&fa, b, lv_as_encode_dtmf(b, sizeof(b), '7'));
    add_bytes(&fa, b, lv_as_encode_hangup(b, sizeof(b)));
    int a = dial(port);
    put(a, fa.b, fa.n);
    /* an unknown kind within a call: an error frame back */
    frames fk = {.n = 0};
    add_uuid(&fk, 2);
    add_tone(&fk, 5);
    add_bytes(&fk, (const uint8_t *)"\x42\x00\x00", 3);
    int k = dial(port);
    put(k, fk.b, fk.n);
    assert_int_equal(reply_kind(k), LV_AS_ERROR);
    close(k);
    close(a);
    lv_server_stats st;
    WAIT_STATS(s, st, st.calls == 2 && st.active == 0); /* both ended and freed: places free */
    /* audio first: refused with an error frame (no call: no place taken) */
    int r = dial(port);
    send_tone(r, 1);
    assert_int_equal(reply_kind(r), LV_AS_ERROR);
    close(r);

    /* two calls at once, a third refused: both fed until then; then c2 only, so c1 stalls and c2
     * is there at stop */
    int c1 = dial(port), c2 = dial(port);
    send_uuid(c1, 3);
    send_uuid(c2, 4);
    feeder fe = {.f = {{.fd = c2}, {.fd = c1}}};
    feed_start(&fe, 2);
    WAIT_STATS(s, st, st.calls == 4 && st.active == 2);
    int c3 = dial(port);
    assert_int_equal(reply_kind(c3), LV_AS_ERROR);
    close(c3);
    atomic_store(&fe.n, 1);
    WAIT_STATS(s, st, st.active == 1); /* c1 stalled, finished and freed */
    char text[32768];
    finish(s, t, pfd, &st, text, sizeof(text), &fe);
    close(c1);
    close(c2);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.refused_full, 1);
    assert_int_equal(st.refused_uuid, 1);
    assert_int_equal(st.active, 0);
    assert_int_equal(count(text, "\"type\":\"call_end\""), 4);
    assert_int_equal(count(text, "\"source\":\"audiosocket\",\"digit\":\"7\",\"start\":1.000"), 1);
    assert_int_equal(count(text, "-000000000001\",\"input\":\"audiosocket\",\"type\":\"call_end\","
                                 "\"reason\":\"hangup\""),
                     1);
    assert_int_equal(
        count(
            text,
            "-000000000002\",\"input\":\"audiosocket\",\"type\":\"call_end\",\"reason\":\"error\""),
        1);
    assert_int_equal(count(text, "-000000000003\",\"input\":\"audiosocket\",\"type\":\"call_end\","
                                 "\"reason\":\"stalled\""),
                     1);
    assert_int_equal(count(text, "-000000000004\",\"input\":\"audiosocket\",\"type\":\"call_end\","
                                 "\"reason\":\"shutdown\""),
                     1);
    /* the first call's second of audio, all of it analysed (the fed calls have what they were
     * given) */
    char line[4096];
    assert_non_null(
        strstr(line_with(text, "-000000000001\",\"input\":\"audiosocket\",\"type\":\"call_end\"",
                         line, sizeof(line)),
               "\"audio_sec\":1.000,\"analysed_sec\":1.000"));
    assert_int_equal(count(text, "\"final\":true"), 1);
    /* the sink: every line, from the writer (joined by destroy, so k is read after it) */
    assert_int_equal(sk.lines, count(text, "\n"));
    assert_int_equal(sk.call_ends, 4);
    assert_int_equal(sk.stats, 1);
    assert_int_equal(sk.on_net, 0);
    assert_int_equal(sk.bad, 0);
    assert_true(strstr(sk.reasons, "hangup,") && strstr(sk.reasons, "shutdown,"));
}

static int dial_udp(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_rtp_pt(int fd, uint32_t ssrc, int i, unsigned pt)
{
    uint8_t pkt[200];
    put(fd, pkt, rtp_packet(pkt, sizeof(pkt), ssrc, i, pt));
}

static void send_rtp(int fd, uint32_t ssrc, int i)
{
    send_rtp_pt(fd, ssrc, i, 0);
}

/* A masked client frame. */
static void ws_put(int fd, lv_ws_op op, const void *p, size_t n)
{
    static const uint8_t mask[4] = {9, 8, 7, 6};
    uint8_t b[1024];
    put(fd, b, lv_ws_encode(b, sizeof(b), op, true, mask, p, n));
}

static const char k_upgrade[] = "GET /fork/x?mix=mono HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: "
                                "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Protocol: audio.drachtio.org\r\n\r\n";

/* What the server sends, appended to buf[0..cap) from *n: until `until` is in it (NULL: until
 * the connection ends), or nothing came until the hang guard. */
static void take(int fd, char *buf, size_t cap, size_t *n, const char *until)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (*n < cap - 1 && poll(&p, 1, hang_ms()) > 0) {
        ssize_t k = recv(fd, buf + *n, cap - 1 - *n, 0);
        if (k <= 0)
            break;
        *n += (size_t)k;
        buf[*n] = 0;
        if (until && strstr(buf, until))
            break;
    }
    buf[*n] = 0;
}

static void test_inputs(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = lv_server_default_params();
    p.host = NULL; /* no AudioSocket */
    p.rtp_host = "127.0.0.1";
    p.ws_host = "127.0.0.1";
    p.threads = 2;
    p.stall_sec = 3; /* the second RTP stream's end; the others send what they have at once */
    p.stats_sec = 0;
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    assert_int_equal(lv_server_port(s), 0);
    int rport = lv_server_input_port(s, LV_INPUT_RTP);
    int wport = lv_server_input_port(s, LV_INPUT_WEBSOCKET);
    assert_true(rport > 0 && wport > 0);

    /* RTP: 50 packets, packet 10 lost, 20 after 21, 30 twice; not RTP; then a new SSRC */
    int u = dial_udp(rport), g = dial_udp(rport);
    for (int i = 0; i < 50; i++) {
        if (i == 10 || i == 20)
            continue;
        send_rtp(u, 0xabc, i);
        if (i == 21)
            send_rtp(u, 0xabc, 20);
        if (i == 30)
            send_rtp(u, 0xabc, 30);
        if (i == 25)
            put(g, (const uint8_t *)"\x40\x00\x00\x01 not RTP", 12); /* version 1 */
    }
    lv_server_stats st;
    WAIT_STATS(s, st, st.rtp_datagrams == 51 && st.calls == 1); /* the first stream a call */
    for (int i = 0; i < 10; i++)
        send_rtp(u, 0xdef, i);
    send_rtp(u, 0xabc, 49); /* the old stream once more: after its call */

    /* WebSocket: the Upgrade, metadata, 1 s of audio, a ping, a close */
    int w = dial(wport);
    put(w, (const uint8_t *)k_upgrade, sizeof(k_upgrade) - 1);
    char ans[2048];
    size_t an = 0;
    take(w, ans, sizeof(ans), &an, "\r\n\r\n");
    assert_non_null(strstr(ans, "HTTP/1.1 101"));
    assert_non_null(strstr(ans, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    const char meta[] = "{\"uuid\":\"call-\\\"7\\\"\",\"to\":\"100\"}"; /* a quote in it */
    ws_put(w, LV_WS_TEXT, meta, sizeof(meta) - 1);
    for (int f = 0; f < 50; f++) {
        int16_t pcm[160];
        uint8_t b[320];
        for (int i = 0; i < 160; i++) {
            pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (f * 160 + i) / 8000.0));
            b[2 * i] = (uint8_t)pcm[i], b[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
        }
        ws_put(w, LV_WS_BINARY, b, sizeof(b));
    }
    ws_put(w, LV_WS_PING, "p1", 2);
    ws_put(w, LV_WS_CLOSE, "\x03\xe8", 2);
    an = 0;
    take(w, ans, sizeof(ans), &an, NULL);
    assert_true(an >= 8);
    assert_memory_equal(ans, "\x8a\x02p1\x88\x02\x03\xe8", 8); /* the pong, the close */
    close(w);
    /* an Upgrade without its key */
    int bad = dial(wport);
    static const char nokey[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    put(bad, (const uint8_t *)nokey, sizeof(nokey) - 1);
    an = 0;
    take(bad, ans, sizeof(ans), &an, NULL);
    assert_non_null(strstr(ans, "HTTP/1.1 400"));
    close(bad);

    WAIT_STATS(s, st, st.calls == 3 && st.active == 0); /* the second RTP stream stalled */
    char text[16384];
    finish(s, t, pfd, &st, text, sizeof(text), NULL);
    close(u);
    close(g);
    assert_int_equal(st.calls, 3);
    assert_int_equal(st.rtp_malformed, 1);
    assert_int_equal(st.rtp_after_end, 1);
    assert_int_equal(st.ws_refused, 1);
    assert_int_equal(st.active, 0);
    assert_int_equal(count(text, "\"type\":\"call_end\""), 3);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-00000abc\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"ssrc_change\""),
                     1);
    assert_int_equal(count(text, "\"packets\":49,\"lost\":1,\"duplicates\":1,\"late\":0,"
                                 "\"reordered\":1"),
                     1);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-00000def\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"stalled\""),
                     1);
    assert_int_equal(count(text, "\"ssrc_change_from\":\"rtp-00000abc\""), 1);
    /* the name from the metadata, its quotes made safe */
    assert_int_equal(count(text,
                           "{\"call\":\"call-_7_\",\"input\":\"websocket\",\"type\":\"call_end\","
                           "\"reason\":\"hangup\""),
                     1);
    assert_int_equal(count(text, "\"path\":\"/fork/x\",\"channels\":1,\"binary_messages\":50"), 1);
    assert_int_equal(count(text, "\"pings\":1,\"partial_frame_bytes\":0,\"peer_close_code\":1000"),
                     1);
}

/* max_calls 1: a second SSRC refused packet by packet and a WebSocket connection answered 503
 * while the first call is open (its stream fed meanwhile); the first SSRC sending again after it
 * stalled is a new call. */
static void test_limits(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = lv_server_default_params();
    p.host = NULL;
    p.rtp_host = "127.0.0.1";
    p.ws_host = "127.0.0.1";
    p.max_calls = 1;
    p.threads = 1;
    p.stall_sec = 3;
    p.stats_sec = 0;
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int rport = lv_server_input_port(s, LV_INPUT_RTP);
    int u1 = dial_udp(rport), u2 = dial_udp(rport);
    feeder fe = {.f = {{.fd = u1, .ssrc = 0x111}}};
    feed_start(&fe, 1);
    lv_server_stats st;
    WAIT_STATS(s, st, st.calls == 1 && st.active == 1);
    for (int i = 0; i < 5; i++)
        send_rtp(u2, 0x222, i);
    WAIT_STATS(s, st, st.rtp_refused == 5);
    int w = dial(lv_server_input_port(s, LV_INPUT_WEBSOCKET));
    char ans[512];
    size_t an = 0;
    take(w, ans, sizeof(ans), &an, NULL);
    assert_non_null(strstr(ans, "HTTP/1.1 503"));
    close(w);
    atomic_store(&fe.n, 0);
    WAIT_STATS(s, st, st.active == 0); /* the first call stalled, finished and freed */
    atomic_store(&fe.n, 1);
    WAIT_STATS(s, st, st.calls == 2 && st.active == 1); /* the same stream, a new call */
    char text[8192];
    finish(s, t, pfd, &st, text, sizeof(text), &fe);
    close(u1);
    close(u2);
    assert_int_equal(st.calls, 2);
    assert_int_equal(st.rtp_refused, 5);
    assert_int_equal(st.refused_full, 1);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-00000111\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"stalled\""),
                     1);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-00000111\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"shutdown\""),
                     1);
    assert_int_equal(count(text, "rtp-00000222"), 0);
}

/* An RTP stream over max_call_sec: its call ends (max_duration), and what it still sends is
 * ignored, counted, not taken for a new call. */
static void test_rtp_max(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = lv_server_default_params();
    p.host = NULL;
    p.rtp_host = "127.0.0.1";
    p.max_call_sec = 0.3;
    p.threads = 1;
    p.stats_sec = 0;
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int u = dial_udp(lv_server_input_port(s, LV_INPUT_RTP));
    /* 1 s of audio at once, in one system call: over 0.3 s by its audio, read in one batch, so
     * that no pause of this thread between two packets can end it first by the clock */
    static uint8_t pkt[50][200];
    struct iovec iov[50];
    struct mmsghdr mm[50];
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < 50; i++) {
        iov[i] = (struct iovec){.iov_base = pkt[i],
                                .iov_len = rtp_packet(pkt[i], sizeof(pkt[i]), 0x333, i, 0)};
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    assert_int_equal(sendmmsg(u, mm, 50, 0), 50);
    lv_server_stats st;
    WAIT_STATS(s, st, st.rtp_datagrams == 50); /* all read: the call's end, what came after */
    char text[8192];
    finish(s, t, pfd, &st, text, sizeof(text), NULL);
    close(u);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.rtp_after_end, 34); /* the 16th packet took it past 0.3 s */
    assert_int_equal(
        count(text, "\"reason\":\"max_duration\",\"rate_hz\":8000,\"audio_sec\":0.320"), 1);
}

/* The server has read and handled every datagram sent before: a datagram that is not RTP, sent
 * last from fd, is counted as malformed once read (the socket's datagrams are read in turn). */
static void rtp_mark(lv_server *s, int fd)
{
    lv_server_stats st;
    lv_server_get_stats(s, &st);
    uint64_t m = st.rtp_malformed;
    put(fd, (const uint8_t *)"\x40\x00\x00\x01 mark", 9); /* version 1: not RTP */
    WAIT_STATS(s, st, st.rtp_malformed == m + 1);
}

/* RTP SSRCs before their call: rtp_max_pending 4, max_calls 2, ident_sec 3. A stream that has
 * shown two packets is not what ten one-packet SSRCs evict (seven of them go, the oldest); it
 * becomes a call at its fifth packet with every packet in it; one packet of a made-up SSRC from
 * its own socket does not end it; a telephone-event packet neither counts nor breaks a count; a
 * stream that shows itself with max_calls calls open is refused (its five packets counted); one
 * whose numbering jumps starts its count again and is dropped at ident_sec with the rest. */
static void test_rtp_pending(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = lv_server_default_params();
    p.host = NULL;
    p.rtp_host = "127.0.0.1";
    p.max_calls = 2;
    p.rtp_max_pending = 4;
    p.ident_sec = 3; /* the end of the SSRCs that show no stream; the streams show theirs at once */
    p.stall_sec = 60;
    p.threads = 1;
    p.stats_sec = 0;
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int port = lv_server_input_port(s, LV_INPUT_RTP);
    int a = dial_udp(port), f = dial_udp(port), c = dial_udp(port), b = dial_udp(port),
        d = dial_udp(port);
    lv_server_stats st;
    send_rtp(a, 0xa1, 0);
    send_rtp(a, 0xa1, 1);
    WAIT_STATS(s, st, st.rtp_datagrams == 2); /* in before the others */
    for (uint32_t j = 0; j < 10; j++)         /* ten made-up SSRCs, one packet each */
        send_rtp(f, 0x100 + j, 0);
    rtp_mark(s, f);
    lv_server_get_stats(s, &st);
    assert_int_equal(st.rtp_pending, 4); /* 0xa1 and the newest three */
    assert_int_equal(st.rtp_evicted, 7);
    assert_int_equal(st.calls, 0);
    for (int i = 2; i < 5; i++)
        send_rtp(a, 0xa1, i);
    rtp_mark(s, a);
    lv_server_get_stats(s, &st);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.rtp_pending, 3);
    WAIT_STATS(s, st, st.rtp_pending == 0); /* the three made-up SSRCs go at ident_sec */
    assert_int_equal(st.rtp_timeout, 3);
    assert_int_equal(st.rtp_evicted, 7);
    send_rtp(a, 0xee, 9); /* a made-up SSRC from 0xa1's own socket: no SSRC change */
    send_rtp(c, 0xc3, 0);
    send_rtp(c, 0xc3, 1);
    send_rtp_pt(c, 0xc3, 2, 101); /* telephone-event (not in the map): kept, not counted */
    for (int i = 3; i < 6; i++)
        send_rtp(c, 0xc3, i);
    WAIT_STATS(s, st, st.calls == 2); /* 0xc3 a call before 0xb2 comes */
    for (int i = 0; i < 5; i++)       /* a stream, but both places are taken */
        send_rtp(b, 0xb2, i);
    send_rtp(d, 0xd4, 0);
    for (int i = 100; i < 104; i++) /* far from packet 0: the count starts again at 100 */
        send_rtp(d, 0xd4, i);
    rtp_mark(s, d);
    lv_server_get_stats(s, &st);
    assert_int_equal(st.calls, 2);
    assert_int_equal(st.rtp_refused, 5);
    assert_int_equal(st.rtp_pending, 2);    /* 0xee and 0xd4 */
    WAIT_STATS(s, st, st.rtp_pending == 0); /* 0xee and 0xd4 go at ident_sec */
    char text[8192];
    finish(s, t, pfd, &st, text, sizeof(text), NULL);
    close(a);
    close(f);
    close(c);
    close(b);
    close(d);
    assert_int_equal(st.calls, 2);
    assert_int_equal(st.rtp_evicted, 7);
    assert_int_equal(st.rtp_timeout, 5);
    assert_int_equal(st.rtp_dropped, 7 + 3 + 1 + 5); /* what the dropped SSRCs kept */
    assert_int_equal(st.rtp_pending, 0);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-000000a1\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"shutdown\",\"rate_hz\":8000,\"audio_sec\":0.100"),
                     1);
    assert_int_equal(count(text, "\"ssrc\":\"000000a1\""), 1);
    assert_int_equal(count(text, "\"packets\":5,\"lost\":0,\"duplicates\":0"), 1);
    assert_int_equal(count(text,
                           "{\"call\":\"rtp-000000c3\",\"input\":\"rtp\",\"type\":\"call_end\","
                           "\"reason\":\"shutdown\""),
                     1);
    assert_int_equal(count(text, "\"packets\":6,\"lost\":0,\"duplicates\":0,\"late\":0,"
                                 "\"reordered\":0,\"not_audio\":1"),
                     1);
    assert_int_equal(count(text, "\"type\":\"call_end\""), 2);
    assert_int_equal(count(text, "ssrc_change"), 0);
    assert_int_equal(count(text, "\"rtp_unidentified_timeout\":5,\"rtp_unidentified_evicted\":7,"
                                 "\"rtp_unidentified_dropped\":16"),
                     1);
}

/* Wait until the peer closes (recv 0 or an error) within sec; what came before is skipped.
 * Returns the seconds it took, or -1 when it stayed open. */
static double closed_within(int fd, double sec)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (el > sec)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        uint8_t b[256];
        ssize_t k = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (k <= 0)
            return el;
    }
}

/* AudioSocket and WebSocket on loopback, one analysis thread, no stats lines, and the pending
 * pool's bounds; no connection meant to stall. */
static lv_server_params pending_params(int max_calls, int max_pending, int share, double ident_sec)
{
    lv_server_params p = lv_server_default_params();
    p.port = "0";
    p.ws_host = "127.0.0.1";
    p.max_calls = max_calls;
    p.max_pending = max_pending;
    p.max_pending_per_client = share;
    p.ident_sec = ident_sec;
    p.stall_sec = 60;
    p.threads = 1;
    p.stats_sec = 0;
    return p;
}

/* The connection fd is closed by the server, what it sent before skipped; the seconds since t0
 * (a hang fails the test). */
static double closed_since(int fd, double t0)
{
    assert_true(closed_within(fd, tu_hang_sec(30)) >= 0);
    return mono() - t0;
}

/* max_calls 2, two unidentified connections per address, ident_sec 3: silent connections never
 * take a call's place; a third silent one closes the oldest (an error frame, then the end), and
 * so does a real call's connection, which then identifies; one sending its UUID a byte at a time
 * is closed at ident_sec all the same, and a WebSocket connection that upgraded and sent nothing
 * too, while the real call goes on. */
static void test_pending(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = pending_params(2, 8, 2, 3);
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int port = lv_server_port(s);
    lv_server_stats st;
    int q1 = dial(port);
    WAIT_STATS(s, st, st.accepted == 1); /* accepted in turn: q1 the oldest */
    int q2 = dial(port);
    WAIT_STATS(s, st, st.accepted == 2);
    int q3 = dial(port); /* the share of 2: q1, the oldest, is closed with an error frame */
    assert_int_equal(reply_kind(q1), LV_AS_ERROR);
    close(q1);
    /* a real call, while q2 and q3 wait */
    int a = dial(port); /* the share again: q2 goes */
    send_uuid(a, 9);
    send_tone(a, 10);
    assert_int_equal(reply_kind(q2), LV_AS_ERROR);
    close(q2);
    /* a slow one: its UUID frame a byte at a time, every 0.1 s, never silent for long */
    double t_sl = mono();
    int sl = dial(port); /* beside q3: the share is not reached */
    uint8_t u[32], id[16] = {0};
    size_t un = lv_as_encode_uuid(u, sizeof(u), id);
    put(sl, u, 1);
    double t_w = mono();
    int w = dial(lv_server_input_port(s, LV_INPUT_WEBSOCKET)); /* q3 goes: the share */
    put(w, (const uint8_t *)k_upgrade, strlen(k_upgrade));
    char ans[1024];
    size_t an = 0;
    take(w, ans, sizeof(ans), &an, "\r\n\r\n");
    assert_non_null(strstr(ans, "HTTP/1.1 101"));
    /* the slow one's bytes until it is closed (all but its last: it never identifies) */
    bool closed = false;
    for (size_t i = 1; i + 1 < un && !closed; i++) {
        if (send(sl, u + i, 1, MSG_NOSIGNAL) < 0) {
            /* closed meanwhile */
        }
        closed = closed_within(sl, 0.1) >= 0;
    }
    double c_sl = closed ? mono() - t_sl : closed_since(sl, t_sl), c_w = closed_since(w, t_w);
    printf("slow AudioSocket closed %.2f s after its dial, WebSocket %.2f s\n", c_sl, c_w);
    /* not before ident_sec from the accept (which comes after the dial); the rule that closed
     * them, ident_sec, is told by the counts below: no other could (no stall, no eviction) */
    assert_true(c_sl >= p.ident_sec);
    assert_true(c_w >= p.ident_sec);
    send_tone(a, 10);
    uint8_t b[16];
    put(a, b, lv_as_encode_hangup(b, sizeof(b)));
    WAIT_STATS(s, st, st.calls == 1 && st.active == 0); /* the call ended, finished, freed */
    assert_int_equal(st.ident.waiting, 0);
    char text[8192];
    finish(s, t, pfd, &st, text, sizeof(text), NULL);
    close(q3);
    close(sl);
    close(w);
    close(a);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.refused_full, 0);
    /* q1, q2, and q3 when the WebSocket connection came (one pool, one share for both inputs) */
    assert_int_equal(st.ident.evicted, 3);
    assert_int_equal(st.ident.timeout, 2); /* the slow one, the WebSocket */
    assert_int_equal(count(text, "-000000000009\",\"input\":\"audiosocket\",\"type\":\"call_end\","
                                 "\"reason\":\"hangup\",\"rate_hz\":8000,\"audio_sec\":0.400"),
                     1);
    assert_int_equal(count(text, "\"unidentified_timeout\":2,\"unidentified_evicted\":3"), 1);
}

/* A WebSocket call between its Upgrade and its first message (mod_audio_fork sends its metadata
 * once the 101 is back: a round trip in which it waits) is not what a flood of silent
 * connections closes: not from its own address past the share of 2 (five of six silent ones
 * closed, the oldest first), nor from others when the pool of 4 is full (the silent one of its
 * address goes). It then names its call and ends it, a call like any other. */
static void test_pending_spoken(void **state)
{
    (void)state;
    int pfd[2];
    lv_server_params p = pending_params(4, 4, 2, 60); /* nothing here meant to time out */
    pthread_t t;
    lv_server *s = start(&p, pfd, &t);
    int port = lv_server_port(s), wport = lv_server_input_port(s, LV_INPUT_WEBSOCKET);
    int w = dial(wport);
    put(w, (const uint8_t *)k_upgrade, sizeof(k_upgrade) - 1);
    char ans[1024];
    size_t an = 0;
    take(w, ans, sizeof(ans), &an, "\r\n\r\n");
    assert_non_null(strstr(ans, "HTTP/1.1 101"));
    int q[6]; /* silent, from the WebSocket call's address: each past the first closes the last */
    for (int i = 0; i < 6; i++) {
        q[i] = dial(port);
        if (i)
            assert_int_equal(reply_kind(q[i - 1]), LV_AS_ERROR);
    }
    int o[3]; /* silent, one from each of three other addresses: the third fills the pool */
    const char *from[3] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
    for (int i = 0; i < 3; i++)
        o[i] = dial_from(port, from[i]);
    assert_int_equal(reply_kind(q[5]), LV_AS_ERROR); /* the pool's silent oldest, not w */
    const char meta[] = "{\"uuid\":\"spoke-1\"}";
    ws_put(w, LV_WS_TEXT, meta, sizeof(meta) - 1);
    uint8_t b[320] = {0};
    for (int f = 0; f < 10; f++)
        ws_put(w, LV_WS_BINARY, b, sizeof(b));
    ws_put(w, LV_WS_CLOSE, "\x03\xe8", 2);
    an = 0;
    take(w, ans, sizeof(ans), &an, NULL);
    assert_true(an >= 4);
    assert_memory_equal(ans, "\x88\x02\x03\xe8", 4); /* the close back: it was a call */
    lv_server_stats st;
    WAIT_STATS(s, st, st.calls == 1 && st.active == 0); /* ended, finished and freed */
    char text[8192];
    finish(s, t, pfd, &st, text, sizeof(text), NULL);
    for (int i = 0; i < 6; i++)
        close(q[i]);
    for (int i = 0; i < 3; i++)
        close(o[i]);
    close(w);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.ident.evicted, 6);
    assert_int_equal(count(text,
                           "{\"call\":\"spoke-1\",\"input\":\"websocket\",\"type\":\"call_end\","
                           "\"reason\":\"hangup\""),
                     1);
}

/* A FastAGI environment line by line, as Asterisk sends it, for the call `uuid`. */
static void agi_env(int fd, const char *uuid)
{
    char env[512];
    int k = snprintf(env, sizeof(env),
                     "agi_network: yes\nagi_network_script: amd\nagi_request: agi://h/amd\n"
                     "agi_channel: PJSIP/x-1\nagi_uniqueid: 1700000000.1\nagi_arg_1: %s\n\n",
                     uuid);
    put(fd, (const uint8_t *)env, (size_t)k);
}

/* Wait until the FastAGI server has accepted n connections (a hang fails the test). */
static void agi_accepted(lv_agi_server *s, uint64_t n)
{
    lv_agi_server_stats st;
    double until = mono() + tu_hang_sec(60);
    for (lv_agi_server_get_stats(s, &st); st.accepted < n; lv_agi_server_get_stats(s, &st)) {
        if (mono() > until)
            fail_msg("the FastAGI server accepted %llu connections, not %llu",
                     (unsigned long long)st.accepted, (unsigned long long)n);
        usleep(5000);
    }
}

/* The FastAGI server: max_conns 1 (requests whose environment is whole), two connections per
 * address reading theirs, ident_sec 3: silent ones never take the request's place, the third
 * closes the oldest, a real request is answered (NOTSURE after timeout_sec) meanwhile, and one
 * sending its environment a line at a time is closed at ident_sec. */
static void test_agi_pending(void **state)
{
    (void)state;
    lv_agi_server_params p = lv_agi_server_default_params();
    p.port = "0";
    p.max_conns = 1;
    p.max_pending = 8;
    p.max_pending_per_client = 2;
    p.ident_sec = 3;     /* the end of q3 and the slow one; the rest identify at once or go first */
    p.timeout_sec = 0.2; /* no decision comes: NOTSURE */
    p.io_sec = 60;       /* the replies come at once */
    lv_error e;
    lv_agi_server *s = lv_agi_server_create(&p, &e);
    assert_non_null(s);
    int port = lv_agi_server_port(s);
    int q1 = dial(port);
    agi_accepted(s, 1); /* accepted in turn: q1 the oldest */
    int q2 = dial(port);
    agi_accepted(s, 2);
    int q3 = dial(port); /* q1 closed: the share of 2 */
    assert_true(closed_within(q1, tu_hang_sec(30)) >= 0);
    int a = dial(port); /* q2 closed */
    agi_env(a, "00000000-0000-4000-8000-000000000001");
    char ans[512];
    size_t an = 0;
    take(a, ans, sizeof(ans), &an, "\n");
    assert_non_null(strstr(ans, "SET VARIABLE AMDSTATUS NOTSURE\n"));
    put(a, (const uint8_t *)"200 result=1\n", 13);
    an = 0;
    take(a, ans, sizeof(ans), &an, "\n");
    assert_non_null(strstr(ans, "SET VARIABLE AMDCAUSE \"TOOLONG-"));
    put(a, (const uint8_t *)"200 result=1\n", 13);
    /* answered: its place among max_conns is free */
    assert_true(closed_within(a, tu_hang_sec(30)) >= 0);
    assert_true(closed_within(q2, tu_hang_sec(30)) >= 0);
    /* the slow one: an environment line every 0.1 s until it is closed, never whole */
    double t_sl = mono();
    int sl = dial(port); /* beside q3: the share is not reached */
    static const char *const lines[] = {"agi_network: yes\n",         "agi_network_script: amd\n",
                                        "agi_request: agi://h/amd\n", "agi_channel: x\n",
                                        "agi_type: PJSIP\n",          "agi_language: en\n"};
    double c = -1;
    for (int i = 0; c < 0; i++) {
        char more[64];
        const char *line = more;
        if (i < 6)
            line = lines[i];
        else
            snprintf(more, sizeof(more), "agi_arg_%d: x\n", i - 5);
        if (send(sl, line, strlen(line), MSG_NOSIGNAL) < 0) {
            /* closed meanwhile */
        }
        if (closed_within(sl, 0.1) >= 0)
            c = mono() - t_sl;
        else if (mono() - t_sl > tu_hang_sec(30))
            fail_msg("the slow one is still open after %.0f s", mono() - t_sl);
    }
    /* not before ident_sec from its accept (after the dial); ident_sec is the rule that closed
     * it, as the counts say */
    printf("slow FastAGI connection closed %.2f s after its dial\n", c);
    assert_true(c >= p.ident_sec);
    lv_agi_server_stats st;
    lv_agi_server_get_stats(s, &st);
    lv_agi_server_destroy(s);
    close(q1);
    close(q2);
    close(q3);
    close(sl);
    close(a);
    printf("FastAGI: %llu accepted, %llu NOTSURE, %llu evicted, %llu timed out, %llu refused\n",
           (unsigned long long)st.accepted, (unsigned long long)st.notsure,
           (unsigned long long)st.ident.evicted, (unsigned long long)st.ident.timeout,
           (unsigned long long)st.refused);
    assert_int_equal(st.notsure, 1);
    assert_int_equal(st.ident.evicted, 2); /* q1, q2 */
    assert_int_equal(st.ident.timeout, 2); /* q3, the slow one */
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.ident.waiting, 0);
}

/* Wait until the FastAGI server has accepted n connections and each has its environment whole
 * (a request waiting, answered or refused). */
static void agi_settled(lv_agi_server *s, uint64_t n)
{
    lv_agi_server_stats st;
    double until = mono() + tu_hang_sec(60);
    for (lv_agi_server_get_stats(s, &st); st.accepted < n || st.ident.waiting;
         lv_agi_server_get_stats(s, &st)) {
        if (mono() > until)
            fail_msg("the FastAGI server: %llu accepted, %llu still sending, not %llu settled",
                     (unsigned long long)st.accepted, (unsigned long long)st.ident.waiting,
                     (unsigned long long)n);
        usleep(5000);
    }
}

/* FastAGI requests that name no known call (docs/live-listeners.md): max_conns 4, so a share of 2
 * unknown requests per address. Made-up u1, u2, u3: u3 closes u1 (the share). A call K is
 * identified (lv_agi_server_call); k1-k4 name it: known, never counted in the share; k2 fills the
 * places, k3 closes u2 and k4 u3 (the longest-waiting unknown); k5 finds every place known and
 * is refused. K's decision answers k1-k4. */
static void test_agi_unknown(void **state)
{
    (void)state;
    lv_agi_server_params p = lv_agi_server_default_params();
    p.port = "0";
    p.max_conns = 4;
    p.timeout_sec = 3600; /* a made-up call's request would wait an hour */
    p.io_sec = 60;
    lv_error e;
    lv_agi_server *s = lv_agi_server_create(&p, &e);
    assert_non_null(s);
    int port = lv_agi_server_port(s);
    int u[3], k[5];
    char id[40];
    for (int i = 0; i < 3; i++) {
        u[i] = dial(port);
        snprintf(id, sizeof(id), "dead0000-0000-4000-8000-%012d", i + 1);
        agi_env(u[i], id);
        agi_settled(s, (uint64_t)i + 1);
    }
    assert_true(closed_within(u[0], tu_hang_sec(30)) >= 0); /* the share of 2 */
    assert_true(closed_within(u[1], 0.2) < 0);
    const char *known = "0000000a-0000-4000-8000-00000000000a";
    lv_agi_server_call(s, known);
    for (int i = 0; i < 5; i++) {
        k[i] = dial(port);
        agi_env(k[i], known);
        agi_settled(s, (uint64_t)i + 4);
    }
    assert_true(closed_within(u[1], tu_hang_sec(30)) >= 0); /* for k3 */
    assert_true(closed_within(u[2], tu_hang_sec(30)) >= 0); /* for k4 */
    assert_true(closed_within(k[4], tu_hang_sec(30)) >= 0); /* every place known: refused */
    lv_agi_server_stats st;
    lv_agi_server_get_stats(s, &st);
    assert_int_equal(st.unknown_evicted, 3);
    assert_int_equal(st.unknown, 0);
    assert_int_equal(st.refused, 1);
    lv_event ev = {.call = known, .type = "human", .rule = "short_then_pause", .quiet_sec = 0.8};
    lv_agi_server_event(s, &ev);
    for (int i = 0; i < 4; i++) {
        char ans[512];
        size_t an = 0;
        take(k[i], ans, sizeof(ans), &an, "\n");
        assert_non_null(strstr(ans, "SET VARIABLE AMDSTATUS HUMAN\n"));
        put(k[i], (const uint8_t *)"200 result=1\n", 13);
        an = 0;
        take(k[i], ans, sizeof(ans), &an, "\n");
        assert_non_null(strstr(ans, "SET VARIABLE AMDCAUSE \"HUMAN-800-1600\""));
        put(k[i], (const uint8_t *)"200 result=1\n", 13);
        assert_true(closed_within(k[i], tu_hang_sec(30)) >= 0);
    }
    lv_agi_server_get_stats(s, &st);
    lv_agi_server_destroy(s);
    for (int i = 0; i < 3; i++)
        close(u[i]);
    for (int i = 0; i < 5; i++)
        close(k[i]);
    assert_int_equal(st.human, 4);
    assert_int_equal(st.unknown_evicted, 3);
}

static void test_params(void **state)
{
    (void)state;
    lv_server_params p = lv_server_default_params();
    cq_err e;
    p.max_calls = 0; /* out of its range: named, with its value and its range */
    assert_null(lv_server_create(&p, &e));
    assert_int_equal(e.code, CQ_ERR_RANGE);
    assert_string_equal(e.msg, "max_calls 0: out of range 1..100000");
    p = lv_server_default_params();
    p.host = "no such host name.invalid";
    p.port = "0";
    assert_null(lv_server_create(&p, &e));
    assert_int_equal(e.code, CQ_ERR_IO);
    assert_true(e.msg[0] != 0);
    p = lv_server_default_params();
    p.host = NULL; /* no input at all */
    assert_null(lv_server_create(&p, &e));
    assert_int_equal(e.code, CQ_ERR_INVALID);
    p = lv_server_default_params();
    p.ws_host = "127.0.0.1";
    p.ws_rate_hz = 11025; /* not one of mod_audio_fork's */
    assert_null(lv_server_create(&p, &e));
    assert_string_equal(e.msg, "ws_rate_hz 11025: 8000 or 16000");
    p = lv_server_default_params();
    p.rtp_host = "127.0.0.1";
    p.rtp_max_pending = 0;
    assert_null(lv_server_create(&p, &e));
    assert_int_equal(e.code, CQ_ERR_RANGE);
    assert_string_equal(e.msg, "rtp_max_pending 0: out of range 1..100000");
    p = lv_server_default_params();
    p.max_pending_per_client = p.max_pending + 1; /* its range ends at max_pending */
    assert_null(lv_server_create(&p, &e));
    assert_string_equal(e.msg, "max_pending_per_client 1025: out of range 1..1024");
    p = lv_server_default_params();
    p.queue_sec = 0.05;
    assert_null(lv_server_create(&p, &e));
    assert_string_equal(e.msg, "queue_sec 0.05: out of range 0.1..600");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server),         cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_limits),         cmocka_unit_test(test_rtp_max),
        cmocka_unit_test(test_rtp_pending),    cmocka_unit_test(test_pending),
        cmocka_unit_test(test_pending_spoken), cmocka_unit_test(test_agi_pending),
        cmocka_unit_test(test_agi_unknown),    cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
