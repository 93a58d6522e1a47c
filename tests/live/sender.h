/*
 * sender.h - what the PBX-side senders of the live tests and bench share (as_send.c,
 * live_send.c, bench/live_load.c): the monotonic clock, a connected socket, whole writes, and
 * the line that answers callqa's probe.
 * Header-only (static inline): every sender is one program.
 */
#ifndef CQ_TESTS_LIVE_SENDER_H
#define CQ_TESTS_LIVE_SENDER_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to host:port, or -1. */
static inline int dial(const char *host, const char *port, int type)
{
    struct addrinfo hints = {.ai_socktype = type}, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, type, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* The whole of b (send's flags: 0, or MSG_DONTWAIT not to wait); 0, or -1 when the socket is
 * gone (or would block with MSG_DONTWAIT). */
static inline int send_flags(int fd, const uint8_t *b, size_t n, int flags)
{
    while (n) {
        ssize_t k = send(fd, b, n, flags | MSG_NOSIGNAL);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return -1;
        }
        b += k, n -= (size_t)k;
    }
    return 0;
}

static inline int send_all(int fd, const uint8_t *b, size_t n)
{
    return send_flags(fd, b, n, 0);
}

/*
 * The line that answers (docs/live/hold-slayer.md, "Asking the line"): the probe callqa sends back
 * is heard as it comes (line_heard, on the clock of the stream sent); once nothing more of it has
 * come for 60 ms it has ended (line_tick), and a person on the line (the stream is past person_at)
 * answers: reply_delay s after its end (the first answer late s after it, when late > 0), or
 * 0.1 s after its start when reply_over (talking over it). Each probe is answered, three at
 * most; a recording (no reply) never reacts. Prints "probe START END" and "reply START END".
 */
typedef struct line {
    bool in_probe;
    double probe_start, last_rx; /* s of the stream */
    double last_sec;             /* of the last piece of probe heard */
    double person_at, reply_delay;
    int reply_over;
    const float *reply; /* 8 kHz */
    size_t reply_len;
    int answered; /* probes answered (three at most) */
    double late;  /* the first answer comes this long after the probe instead (0: not late) */
} line;

/* sec of probe audio heard at t. Returns the sample (8 kHz) at which the reply starts when the
 * probe has just been answered, else SIZE_MAX. */
static inline size_t line_heard(line *ln, double t, double sec)
{
    size_t at = SIZE_MAX;
    if (!ln->in_probe) {
        ln->in_probe = true;
        ln->probe_start = t;
        if (ln->reply && ln->answered < 3 && ln->reply_over && t >= ln->person_at) {
            ln->answered++;
            at = (size_t)((t + 0.1) * 8000);
            printf("reply %.3f %.3f\n", t + 0.1, t + 0.1 + (double)ln->reply_len / 8000);
        }
    }
    ln->last_rx = t;
    ln->last_sec = sec;
    return at;
}

/* The stream is at t: a probe that has ended is answered. Returns the sample (8 kHz) where the
 * reply starts: this answer's, else `heard` (what line_heard returned since the last tick). */
static inline size_t line_tick(line *ln, double t, size_t heard)
{
    size_t at = heard;
    if (ln->in_probe && t - ln->last_rx > 0.06) { /* it ended */
        const double end = ln->last_rx + ln->last_sec;
        ln->in_probe = false;
        printf("probe %.3f %.3f\n", ln->probe_start, end);
        if (ln->reply && ln->answered < 3 && !ln->reply_over && end >= ln->person_at) {
            const double a = end + (ln->late > 0 && !ln->answered ? ln->late : ln->reply_delay);
            ln->answered++;
            at = (size_t)(a * 8000);
            printf("reply %.3f %.3f\n", a, a + (double)ln->reply_len / 8000);
        }
        fflush(stdout);
    }
    return at;
}

/* The line's options (--reply WAV is read by the sender): 1 when k was one of them. */
static inline int line_option(line *ln, const char *k, const char *v)
{
    if (!strcmp(k, "--person-at"))
        ln->person_at = atof(v);
    else if (!strcmp(k, "--reply-delay"))
        ln->reply_delay = atof(v);
    else if (!strcmp(k, "--reply-over"))
        ln->reply_over = atoi(v);
    else if (!strcmp(k, "--reply-late"))
        ln->late = atof(v);
    else
        return 0;
    return 1;
}

#endif
