/*
 * cq_clock.h - the one clock of every room: seconds on the monotonic clock, seconds on the wall
 * clock, a sleep, and a time as the struct timespec of pthread_cond_timedwait.
 *
 * The monotonic clock (CLOCK_MONOTONIC) never jumps: intervals, deadlines, rates and timeouts
 * are measured on it, and only differences of its readings mean anything. The wall clock
 * (CLOCK_REALTIME, seconds since 1970-01-01 UTC) is for times that are stored, shown or compared
 * with stored ones; it moves when the system's time is set.
 *
 * Thread safety: every function may be called from any thread; none allocates.
 */
#ifndef CQ_CLOCK_H
#define CQ_CLOCK_H

#include <time.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The monotonic clock, in seconds (nanosecond resolution). */
CQ_API double cq_clock_mono_sec(void);

/* The wall clock, in seconds since 1970-01-01 UTC (about a microsecond's resolution in a
 * double). */
CQ_API double cq_clock_wall_sec(void);

/* Sleep `sec` seconds (none when sec is not above 0; at most a year). A signal caught by a
 * handler ends the sleep early, so that a loop waiting for a flag the handler sets sees it at
 * once: the seconds still to sleep are returned, 0 once the whole time passed. */
CQ_API double cq_clock_sleep(double sec);

/* Sleep `sec` seconds whatever signals arrive (a retry's pause). */
CQ_API void cq_clock_sleep_all(double sec);

/* A time in seconds on one of the two clocks (a reading of cq_clock_mono_sec or
 * cq_clock_wall_sec, plus a delay) as a struct timespec: the absolute deadline of
 * pthread_cond_timedwait on a condition of that clock (pthread_condattr_setclock with
 * CLOCK_MONOTONIC; the default is the wall clock). Below 0 (or NaN) it is 0. */
CQ_API struct timespec cq_clock_timespec(double sec);

#ifdef __cplusplus
}
#endif
#endif /* CQ_CLOCK_H */
