/*
 * proc_io.c - see proc_io.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "proc_io.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

int proc_read_more(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*len + 65536 > *cap) {
        size_t ncap = *len + 65536 * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return 1;
        *buf = nb, *cap = ncap;
    }
    ssize_t got = read(fd, *buf + *len, *cap - *len);
    if (got < 0 && errno == EINTR)
        return 0;
    if (got <= 0)
        return 1;
    *len += (size_t)got;
    return 0;
}

int proc_write_str(int fd, const char *s)
{
    uint64_t n = s ? strlen(s) + 1 : 0;
    return proc_write_all(fd, &n, sizeof(n)) || (n && proc_write_all(fd, s, (size_t)n)) ? -1 : 0;
}

int proc_parse_str(const char **p, const char *end, char **out)
{
    uint64_t n;
    *out = NULL;
    if ((size_t)(end - *p) < sizeof(n))
        return -1;
    memcpy(&n, *p, sizeof(n));
    *p += sizeof(n);
    if (n == 0)
        return 0;
    if (n > (uint64_t)(end - *p) || (*p)[n - 1] != '\0' || !(*out = strdup(*p)))
        return -1;
    *p += n;
    return 0;
}
