/*
 * sender.h - what the PBX-side senders of the live tests and bench share (as_send.c,
 * live_send.c, bench/live_load.c): the monotonic clock, a connected socket, and whole writes.
 * Header-only (static inline): every sender is one program.
 */
#ifndef CQ_TESTS_LIVE_SENDER_H
#define CQ_TESTS_LIVE_SENDER_H

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
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

#endif
