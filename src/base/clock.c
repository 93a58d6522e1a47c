/*
 * clock.c - the one clock of every room (include/callqa/cq_clock.h): the monotonic and the wall
 * clock in seconds, a sleep, and a time as a struct timespec. libc only.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>

#include "callqa/cq_clock.h"

#define YEAR_SEC (366.0 * 86400.0) /* the longest sleep */

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cq_clock_mono_sec(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double cq_clock_wall_sec(void)
{
    return seconds(CLOCK_REALTIME);
}

/* sec (from 0 to the largest time_t a double holds exactly) as a struct timespec */
static struct timespec to_timespec(double sec)
{
    struct timespec ts = {0, 0};
    if (!(sec > 0))
        return ts;
    if (sec > 9007199254740992.0) /* 2^53 */
        sec = 9007199254740992.0;
    ts.tv_sec = (time_t)sec;
    long ns = (long)((sec - (double)ts.tv_sec) * 1e9);
    ts.tv_nsec = ns < 0 ? 0 : ns > 999999999L ? 999999999L : ns;
    return ts;
}

double cq_clock_sleep(double sec)
{
    if (!(sec > 0))
        return 0;
    struct timespec ts = to_timespec(sec < YEAR_SEC ? sec : YEAR_SEC), left = {0, 0};
    if (nanosleep(&ts, &left) == 0 || errno != EINTR)
        return 0;
    return (double)left.tv_sec + (double)left.tv_nsec * 1e-9;
}

void cq_clock_sleep_all(double sec)
{
    while ((sec = cq_clock_sleep(sec)) > 0) {
    }
}

struct timespec cq_clock_timespec(double sec)
{
    return to_timespec(sec);
}
