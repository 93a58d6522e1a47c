/*
 * slow_sync.c - an LD_PRELOAD shim for tests/service/test_wal_stall.py: fsync and fdatasync
 * take SLOW_SYNC_MS longer (default 1000), as on a busy disk.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void nap(void)
{
    const char *v = getenv("SLOW_SYNC_MS");
    long ms = v ? atol(v) : 1000;
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    nap();
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    nap();
    return real(fd);
}
