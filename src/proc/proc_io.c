/*
 * proc_io.c - see proc_io.h.
 */
#include "proc_io.h"

#include <errno.h>
#include <stdlib.h>
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
