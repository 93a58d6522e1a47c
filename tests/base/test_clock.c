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

/* A thread that signals `to` every 50 ms until `done` (so that a sleep begun late is still
 * interrupted on a busy machine). */
typedef struct poke {
    pthread_t to;
    pthread_t th;
    volatile sig_atomic_t done;
} poke;

static void *poke_run(void *arg)
{
    poke *p = arg;
    while (!p->done) {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
        if (!p->done)
            pthread_kill(p->to, SIGUSR1);
    }
    return NULL;
}

static void poke_start(poke *p)
{
    catch_usr1();
    p->to = pthread_self();
    p->done = 0;
    assert_int_equal(pthread_create(&p->th, NULL, poke_run, p), 0);
}

static void poke_stop(poke *p)
{
    p->done = 1;
    pthread_join(p->th, NULL);
}

static void test_mono_and_sleep(void **state)
{
    (void)state;
    double t0 = cq_clock_mono_sec();
    assert_true(t0 > 0);
    assert_true(cq_clock_sleep(0.05) == 0.0);
    double t1 = cq_clock_mono_sec();
    assert_true(t1 - t0 >= 0.05);
    assert_true(t1 - t0 < 5.0);
    assert_true(cq_clock_mono_sec() >= t1);
}

static void test_wall(void **state)
{
    (void)state;
    double w = cq_clock_wall_sec();
    time_t t = time(NULL);
    assert_true(fabs(w - (double)t) < 2.0);
    assert_true(w > 1.7e9); /* after November 2023 */
}

static void test_nothing_to_sleep(void **state)
{
    (void)state;
    double t0 = cq_clock_mono_sec();
    assert_true(cq_clock_sleep(0) == 0.0);
    assert_true(cq_clock_sleep(-3) == 0.0);
    assert_true(cq_clock_sleep(NAN) == 0.0);
    cq_clock_sleep_all(-1);
    cq_clock_sleep_all(NAN);
    assert_true(cq_clock_mono_sec() - t0 < 0.5 * TU_WALL_SLACK);
}

static void test_signal_ends_sleep(void **state)
{
    (void)state;
    poke p;
    poke_start(&p);
    double t0 = cq_clock_mono_sec();
    double left = cq_clock_sleep(30.0); /* a signal every 50 ms ends it */
    double slept = cq_clock_mono_sec() - t0;
    poke_stop(&p);
    assert_true(g_caught >= 1);
    assert_true(slept < 4.0 * TU_WALL_SLACK);
    assert_true(left > 0 && left <= 30.0);
    assert_true(fabs(left + slept - 30.0) < 0.5 * TU_WALL_SLACK);
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

/* A deadline 0.1 s ahead on a condition of each clock: the wait ends then, not before. */
static void wait_on(clockid_t id, double now)
{
    pthread_condattr_t ca;
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init(&ca);
    assert_int_equal(pthread_condattr_setclock(&ca, id), 0);
    pthread_cond_init(&cv, &ca);
    pthread_mutex_lock(&mu);
    double t0 = cq_clock_mono_sec();
    struct timespec until = cq_clock_timespec(now + 0.1);
    int rc;
    while ((rc = pthread_cond_timedwait(&cv, &mu, &until)) == 0) {
    }
    double waited = cq_clock_mono_sec() - t0;
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
    pthread_condattr_destroy(&ca);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(waited >= 0.09);
    assert_true(waited < 5.0);
}

static void test_deadlines(void **state)
{
    (void)state;
    wait_on(CLOCK_MONOTONIC, cq_clock_mono_sec());
    wait_on(CLOCK_REALTIME, cq_clock_wall_sec());
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
