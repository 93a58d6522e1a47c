/*
 * test_store_open.c - calls put while the dialer's row is still open (a recording in progress):
 * their jobs cannot be claimed until the call is put closed; closed, they are claimable (with
 * the priority their leg files give) or skipped with the reason the closing put carries.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/store/db.h"
#include "../../src/store/store_calls.h"
#include "../../src/store/store_jobs.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/cq-store-open-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    char msg[512];
    /* $CALLQA_TEST_STORE_URI (postgresql://...): the same on that database, emptied first */
    const char *uri = getenv("CALLQA_TEST_STORE_URI");
    if (uri && *uri) {
        db *d = db_open(uri, msg, sizeof(msg));
        assert_non_null(d);
        assert_int_equal(db_exec(d, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), DB_OK);
        db_close(d);
    }
    f->s = store_open(uri && *uri ? uri : f->path, msg, sizeof(msg));
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    char p[160];
    const char *ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, ext[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static store_call call_of(const char *rid, bool open)
{
    store_call c;
    memset(&c, 0, sizeof(c));
    snprintf(c.source, sizeof(c.source), "dialer1");
    snprintf(c.recording_id, sizeof(c.recording_id), "%s", rid);
    snprintf(c.call_date, sizeof(c.call_date), "2024-03-01 10:00:00");
    snprintf(c.audio, sizeof(c.audio), "%s-all.wav", rid);
    c.call_epoch = 1709287200;
    c.length_sec = open ? -1 : 90;
    c.open = open;
    return c;
}

static int64_t put(store *s, const store_call *c, double now, bool want_created)
{
    int64_t id = 0;
    bool created = false;
    assert_int_equal(store_call_put(s, c, now, &id, &created), 0);
    assert_true(created == want_created);
    return id;
}

static job_state state_of(store *s, int64_t call)
{
    store_job j;
    assert_int_equal(store_job_get(s, call, &j), 1);
    return j.state;
}

/* An open call is held: pending, never claimed, however often it is put open again. */
static void test_open_is_held(void **state)
{
    fixture *f = *state;
    store_call c = call_of("101", true);
    int64_t id = put(f->s, &c, 1000, true);
    store_lease l;
    assert_int_equal(store_job_claim(f->s, "w1", 1001, 60, &l), 0);
    assert_int_equal(put(f->s, &c, 1100, false), id);
    assert_int_equal(store_job_claim(f->s, "w1", 1e9, 60, &l), 0); /* years later: still held */
    assert_int_equal(state_of(f->s, id), JOB_PENDING);
    store_call got;
    assert_int_equal(store_call_get(f->s, id, &got), 1);
    assert_true(got.open);
    assert_int_equal(got.length_sec, -1);
}

/* Put closed, the held job is claimable, and the call shows what the dialer says now. */
static void test_closed_releases(void **state)
{
    fixture *f = *state;
    store_call c = call_of("102", true);
    int64_t id = put(f->s, &c, 1000, true);
    c.open = false;
    c.length_sec = 75;
    assert_int_equal(put(f->s, &c, 1200, false), id);
    store_lease l;
    assert_int_equal(store_job_claim(f->s, "w1", 1201, 60, &l), 1);
    assert_int_equal(l.call_id, id);
    assert_int_equal(l.state, JOB_ANALYSING);
    store_call got;
    assert_int_equal(store_call_get(f->s, id, &got), 1);
    assert_false(got.open);
    assert_int_equal(got.length_sec, 75);
}

/* Closed with a skip reason (too short, once its length is known): skipped with it, with its
 * event, and nothing to claim. */
static void test_closed_with_skip_reason(void **state)
{
    fixture *f = *state;
    store_call c = call_of("103", true);
    int64_t id = put(f->s, &c, 1000, true);
    c.open = false;
    c.length_sec = 4;
    snprintf(c.skip_reason, sizeof(c.skip_reason), "too short: 4 s, under 30 s");
    put(f->s, &c, 1300, false);
    store_job j;
    assert_int_equal(store_job_get(f->s, id, &j), 1);
    assert_int_equal(j.state, JOB_SKIPPED);
    assert_string_equal(j.skip_reason, "too short: 4 s, under 30 s");
    assert_true(j.finished == 1300);
    store_lease l;
    assert_int_equal(store_job_claim(f->s, "w1", 1301, 60, &l), 0);
    store_event ev[8];
    int n = 0;
    assert_int_equal(store_events_since(f->s, 0, ev, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].state, "pending");
    assert_string_equal(ev[1].state, "skipped");
    /* put closed again: nothing changes, no second event */
    put(f->s, &c, 1400, false);
    assert_int_equal(store_events_since(f->s, 0, ev, 8, &n), 0);
    assert_int_equal(n, 2);
}

/* A call that was never held is not skipped by a later put (it may be claimed already), and
 * a closed call is claimable at once. */
static void test_never_held_untouched(void **state)
{
    fixture *f = *state;
    store_call c = call_of("104", false);
    int64_t id = put(f->s, &c, 1000, true);
    snprintf(c.skip_reason, sizeof(c.skip_reason), "too short: 4 s, under 30 s");
    put(f->s, &c, 1100, false);
    assert_int_equal(state_of(f->s, id), JOB_PENDING);
    store_lease l;
    assert_int_equal(store_job_claim(f->s, "w1", 1101, 60, &l), 1);
    assert_int_equal(l.call_id, id);
    /* held by a worker: a closing put changes nothing of its job */
    put(f->s, &c, 1102, false);
    assert_int_equal(state_of(f->s, id), JOB_ANALYSING);
}

/* Closed with leg files that the dialer deletes at a deadline: claimed before a call queued
 * earlier with no deadline. */
static void test_closed_takes_deadline_priority(void **state)
{
    fixture *f = *state;
    store_call a = call_of("201", false);
    int64_t ida = put(f->s, &a, 1000, true);
    store_call b = call_of("202", true);
    int64_t idb = put(f->s, &b, 1001, true);
    b.open = false;
    b.length_sec = 60;
    snprintf(b.audio_in, sizeof(b.audio_in), "ORIG/202-in.wav");
    snprintf(b.audio_out, sizeof(b.audio_out), "ORIG/202-out.wav");
    b.orig_deadline = 1709287200 + 86400;
    put(f->s, &b, 1002, false);
    store_lease l;
    assert_int_equal(store_job_claim(f->s, "w1", 1003, 60, &l), 1);
    assert_int_equal(l.call_id, idb);
    assert_int_equal(store_job_claim(f->s, "w1", 1003, 60, &l), 1);
    assert_int_equal(l.call_id, ida);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_with_skip_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_held_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_takes_deadline_priority, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
