/*
 * test_clock.c - the one clock of every room (include/callqa/cq_clock.h, src/base/clock.c): the
 * monotonic clock against the sleeps, the wall clock against time(), a sleep a signal ends early
 * (the seconds left returned) and one it does not, nothing slept for 0, a negative time or NaN,
 * and a time as the timespec of pthread_cond_timedwait on either clock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "callqa/cq_clock.h"
#include "testutil.h"

static volatile sig_atomic_t g_caught;

static void on_signal(int sig)
{
    (void)sig;
    g_caught++;
}

/* SIGUSR1 caught by a handler that does not restart what it interrupts */
static void catch_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    g_caught = 0;
}

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* SIGUSR1 to this thread every 50 ms from a timer of the kernel's: sent on time however late
 * this process gets a core, so a sleep begun late is still interrupted. */
typedef struct poke {
    timer_t id;
} poke;

static void poke_start(poke *p)
{
    catch_usr1();
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify_thread_id = gettid();
    assert_int_equal(timer_create(CLOCK_MONOTONIC, &ev, &p->id), 0);
    struct itimerspec every = {.it_interval = {0, 50000000L}, .it_value = {0, 50000000L}};
    assert_int_equal(timer_settime(p->id, 0, &every, NULL), 0);
}

static void poke_stop(poke *p)
{
    assert_int_equal(timer_delete(p->id), 0);
}

/* This thread's context switches: voluntary (it waited: slept, blocked) and involuntary (it was
 * taken off its core). */
static struct rusage switches(void)
{
    struct rusage r;
    assert_int_equal(getrusage(RUSAGE_THREAD, &r), 0);
    return r;
}

static void test_mono_and_sleep(void **state)
{
    (void)state;
    double t0 = cq_clock_mono_sec();
    assert_true(t0 > 0);
    assert_true(cq_clock_sleep(0.05) == 0.0);
    double t1 = cq_clock_mono_sec();
    assert_true(t1 - t0 >= 0.05);
    assert_true(t1 - t0 < tu_hang_sec(30));
    assert_true(cq_clock_mono_sec() >= t1);
}

static void test_wall(void **state)
{
    (void)state;
    /* between two readings of time(): it reads the clock of the last tick, at most a tick behind
     * the wall clock, never ahead of it */
    time_t before = time(NULL);
    double w = cq_clock_wall_sec();
    time_t after = time(NULL);
    assert_true(w >= (double)before);
    assert_true(w < (double)after + 2.0);
    assert_true(w > 1.7e9); /* after November 2023 */
}

/* Nothing slept: not one voluntary context switch of this thread across the calls (a sleep of
 * any length, even one cut short, is one). The first call of each is made before, so that
 * nothing is loaded during the count. */
static void test_nothing_to_sleep(void **state)
{
    (void)state;
    assert_true(cq_clock_sleep(0) == 0.0);
    cq_clock_sleep_all(0);
    double t0 = cq_clock_mono_sec();
    struct rusage r0 = switches();
    assert_true(cq_clock_sleep(0) == 0.0);
    assert_true(cq_clock_sleep(-3) == 0.0);
    assert_true(cq_clock_sleep(NAN) == 0.0);
    cq_clock_sleep_all(-1);
    cq_clock_sleep_all(NAN);
    struct rusage r1 = switches();
    assert_int_equal(r1.ru_nvcsw, r0.ru_nvcsw);
    assert_true(cq_clock_mono_sec() - t0 < tu_hang_sec(30));
}

static void test_signal_ends_sleep(void **state)
{
    (void)state;
    const double sec = 30.0; /* a signal every 50 ms ends it */
    poke p;
    poke_start(&p);
    struct rusage r0 = switches();
    double t0 = cq_clock_mono_sec();
    double left = cq_clock_sleep(sec);
    double slept = cq_clock_mono_sec() - t0;
    struct rusage r1 = switches();
    poke_stop(&p);
    print_message("slept %.3f s, %.3f s left\n", slept, left);
    assert_true(g_caught >= 1);
    assert_true(left > 0 && left < sec); /* ended early, and time had passed */
    /* the seconds left are those not slept: the time measured here holds the sleep, so the two
     * make at least the whole ... */
    assert_true(left + slept >= sec - 1e-6);
    /* ... and no more than it, but for the moments this thread ran around the sleep: unless it
     * was taken off its core meanwhile (an involuntary switch), when it waited for one too */
    if (r1.ru_nivcsw == r0.ru_nivcsw)
        assert_true(left + slept - sec < 0.5);
}

static void test_sleep_all_through_signal(void **state)
{
    (void)state;
    poke p;
    poke_start(&p);
    double t0 = cq_clock_mono_sec();
    cq_clock_sleep_all(0.3);
    double slept = cq_clock_mono_sec() - t0;
    poke_stop(&p);
    assert_true(g_caught >= 1); /* signals arrived, every 50 ms, and the sleep went on */
    assert_true(slept >= 0.3);
}

static void test_timespec(void **state)
{
    (void)state;
    struct timespec ts = cq_clock_timespec(1.5);
    assert_int_equal(ts.tv_sec, 1);
    assert_int_equal(ts.tv_nsec, 500000000L);
    ts = cq_clock_timespec(1795770000.25);
    assert_int_equal(ts.tv_sec, 1795770000);
    assert_true(labs(ts.tv_nsec - 250000000L) < 1000);
    ts = cq_clock_timespec(-3);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 0);
    ts = cq_clock_timespec(NAN);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 0);
    ts = cq_clock_timespec(2.9999999999);
    assert_true(ts.tv_nsec >= 0 && ts.tv_nsec <= 999999999L);
}

/* A deadline 0.1 s ahead on a condition of each clock: the wait ends then, not before (that
 * clock past the deadline when it returns). */
static void wait_on(clockid_t id, double (*now)(void))
{
    pthread_condattr_t ca;
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init(&ca);
    assert_int_equal(pthread_condattr_setclock(&ca, id), 0);
    pthread_cond_init(&cv, &ca);
    pthread_mutex_lock(&mu);
    double t0 = cq_clock_mono_sec(), deadline = now() + 0.1;
    struct timespec until = cq_clock_timespec(deadline);
    int rc;
    while ((rc = pthread_cond_timedwait(&cv, &mu, &until)) == 0) {
    }
    double at = now(), waited = cq_clock_mono_sec() - t0;
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
    pthread_condattr_destroy(&ca);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(at >= deadline - 1e-6); /* the timespec's nanoseconds, the double's rounding */
    assert_true(waited < tu_hang_sec(30));
}

static void test_deadlines(void **state)
{
    (void)state;
    wait_on(CLOCK_MONOTONIC, cq_clock_mono_sec);
    wait_on(CLOCK_REALTIME, cq_clock_wall_sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_and_sleep),
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_nothing_to_sleep),
        cmocka_unit_test(test_signal_ends_sleep),
        cmocka_unit_test(test_sleep_all_through_signal),
        cmocka_unit_test(test_timespec),
        cmocka_unit_test(test_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
