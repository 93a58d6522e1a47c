/*
 * test_live_server.c - the AudioSocket server of `callqa live` (src/live/server.c) in-process,
 * without the corpus: a call of a generated 1 s tone with a DTMF frame and a hangup; a call
 * ending on an unknown kind (an error frame back, call_end "error"); a connection whose first
 * frame is audio (refused, no call); --max-calls 2 with a third connection refused; a stalled
 * connection; a call in progress at stop ("shutdown"); every call_end once; the event sink
 * (on_event) called from the writer thread with every line, and on_stats's fields on the stats.
 * tests/live/test_server.sh runs the command itself on corpus calls.
 */
#include "testutil.h"

#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/live/live.h"

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void put(int fd, const uint8_t *b, size_t n)
{
    assert_true(n > 0);
    assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void send_uuid(int fd, uint8_t tag)
{
    uint8_t u[16] = {0}, b[32];
    u[15] = tag;
    put(fd, b, lv_as_encode_uuid(b, sizeof(b), u));
}

/* n 20 ms frames of a 440 Hz tone at 8 kHz */
static void send_tone(int fd, int frames)
{
    int16_t pcm[160];
    uint8_t b[400];
    for (int f = 0; f < frames; f++) {
        for (int i = 0; i < 160; i++)
            pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (f * 160 + i) / 8000.0));
        put(fd, b, lv_as_encode_slin(b, sizeof(b), 8000, pcm, 160));
    }
}

/* The first byte the server sends back within 2 s (-1: closed or nothing). */
static int reply_kind(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t b[8];
    if (poll(&p, 1, 2000) <= 0 || recv(fd, b, sizeof(b), 0) <= 0)
        return -1;
    return b[0];
}

static void *run(void *arg)
{
    lv_server_run(arg);
    return NULL;
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

static void test_server(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    lv_server_params p = lv_server_default_params();
    p.port = "0";
    p.max_calls = 2;
    p.threads = 2;
    p.stall_sec = 0.5;
    p.stats_sec = 0;
    p.events_fd = pfd[1];
    sink sk = {.lines = 0};
    p.on_event = on_event;
    p.on_stats = on_stats;
    p.user = &sk;
    lv_error e;
    lv_server *s = lv_server_create(&p, &e);
    assert_non_null(s);
    int port = lv_server_port(s);
    assert_true(port > 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run, s), 0);
    sk.net = t;

    /* a call: UUID, 1 s of tone, a DTMF frame, hangup */
    int a = dial(port);
    send_uuid(a, 1);
    send_tone(a, 50);
    uint8_t b[16];
    put(a, b, lv_as_encode_dtmf(b, sizeof(b), '7'));
    put(a, b, lv_as_encode_hangup(b, sizeof(b)));
    /* an unknown kind within a call: an error frame back */
    int k = dial(port);
    send_uuid(k, 2);
    send_tone(k, 5);
    put(k, (const uint8_t *)"\x42\x00\x00", 3);
    assert_int_equal(reply_kind(k), LV_AS_ERROR);
    close(k);
    close(a);
    usleep(300000); /* both ended, finished and freed: their places are free */
    /* audio first: refused with an error frame */
    int r = dial(port);
    send_tone(r, 1);
    assert_int_equal(reply_kind(r), LV_AS_ERROR);
    close(r);
    usleep(300000); /* the ended calls are finished and freed */

    /* two calls at once, a third refused; the first stalls, the second is there at stop */
    int c1 = dial(port), c2 = dial(port);
    send_uuid(c1, 3);
    send_uuid(c2, 4);
    usleep(100000);
    int c3 = dial(port);
    assert_int_equal(reply_kind(c3), LV_AS_ERROR);
    close(c3);
    for (int i = 0; i < 8; i++) { /* c2 keeps talking past the stall time, c1 does not */
        send_tone(c2, 5);
        usleep(100000);
    }
    lv_server_stop(s);
    pthread_join(t, NULL);
    lv_server_stats st;
    lv_server_get_stats(s, &st);
    lv_server_destroy(s);
    close(c1);
    close(c2);
    close(pfd[1]);

    char text[16384];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof(text) - 1 && (got = read(pfd[0], text + n, sizeof(text) - 1 - n)) > 0)
        n += (size_t)got;
    text[n] = 0;
    close(pfd[0]);
    printf("%s", text);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.refused_full, 1);
    assert_int_equal(st.refused_uuid, 1);
    assert_int_equal(st.active, 0);
    assert_int_equal(count(text, "\"type\":\"call_end\""), 4);
    assert_int_equal(count(text, "\"source\":\"audiosocket\",\"digit\":\"7\",\"start\":1.000"), 1);
    assert_int_equal(count(text, "-000000000001\",\"type\":\"call_end\",\"reason\":\"hangup\""), 1);
    assert_int_equal(count(text, "-000000000002\",\"type\":\"call_end\",\"reason\":\"error\""), 1);
    assert_int_equal(count(text, "-000000000003\",\"type\":\"call_end\",\"reason\":\"stalled\""),
                     1);
    assert_int_equal(count(text, "-000000000004\",\"type\":\"call_end\",\"reason\":\"shutdown\""),
                     1);
    assert_int_equal(count(text, "\"audio_sec\":1.000,\"analysed_sec\":1.000"), 1);
    assert_int_equal(count(text, "\"final\":true"), 1);
    /* the sink: every line, from the writer (joined by destroy, so k is read after it) */
    assert_int_equal(sk.lines, count(text, "\n"));
    assert_int_equal(sk.call_ends, 4);
    assert_int_equal(sk.stats, 1);
    assert_int_equal(sk.on_net, 0);
    assert_int_equal(sk.bad, 0);
    assert_true(strstr(sk.reasons, "hangup,") && strstr(sk.reasons, "shutdown,"));
}

static void test_params(void **state)
{
    (void)state;
    lv_server_params p = lv_server_default_params();
    lv_error e;
    p.max_calls = 0;
    assert_null(lv_server_create(&p, &e));
    assert_int_equal(e.code, LV_ERR_ARG);
    p = lv_server_default_params();
    p.host = "no such host name.invalid";
    p.port = "0";
    assert_null(lv_server_create(&p, &e));
    assert_true(e.msg[0] != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
