/*
 * test_proc.c - work in child processes (src/proc/): every way a child can end (an answer, a
 * crash, an exit status, a runaway killed at its deadline, an answer too large, a kill); more
 * tasks than children; the caller's descriptors served while children run; the child host
 * (proc_host_run) over a proc_queue, each task ending exactly once under its limits; the queue
 * between threads; answers framed between processes; the one fork site of the program, and
 * the one child host (nothing outside src/proc/ drives a pool itself).
 */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>

#include "../../src/proc/proc.h"

static void answer(void *arg, int fd)
{
    proc_write_str(fd, arg);
}

static void crash(void *arg, int fd)
{
    (void)arg, (void)fd;
    signal(SIGSEGV, SIG_DFL); /* the test runner's handler, inherited, would run on in the child */
    raise(SIGSEGV);
}

static void fail3(void *arg, int fd)
{
    (void)arg, (void)fd;
    _exit(3);
}

static void hang(void *arg, int fd)
{
    (void)arg, (void)fd;
    for (;;)
        pause();
}

static char *parsed(const proc_done *d)
{
    const char *p = d->data;
    char *s = NULL;
    assert_int_equal(proc_parse_str(&p, d->data + d->len, &s), 0);
    return s;
}

static void test_outcomes(void **state)
{
    (void)state;
    proc_pool *p = proc_pool_create(4, 0);
    assert_non_null(p);
    assert_int_equal(proc_pool_spawn(p, 10, 0, answer, "hello", NULL, 0), 0);
    assert_int_equal(proc_pool_spawn(p, 11, 0, crash, NULL, NULL, 0), 0);
    assert_int_equal(proc_pool_spawn(p, 12, 0, fail3, NULL, NULL, 0), 0);
    assert_int_equal(proc_pool_spawn(p, 13, 0.2, hang, NULL, NULL, 0), 0);
    assert_int_equal(proc_pool_spawn(p, 14, 0, answer, "full", NULL, 0), -1); /* 4 at once */
    assert_int_equal(proc_pool_running(p), 4);
    int seen = 0;
    while (proc_pool_running(p)) {
        proc_done d[4];
        int n = proc_pool_wait(p, NULL, 0, d, 4, -1);
        for (int i = 0; i < n; i++, seen++) {
            switch (d[i].tag) {
            case 10: {
                assert_int_equal(d[i].outcome, PROC_DONE);
                char *s = parsed(&d[i]);
                assert_string_equal(s, "hello");
                free(s);
                break;
            }
            case 11:
                assert_int_equal(d[i].outcome, PROC_SIGNALED);
                assert_int_equal(d[i].code, SIGSEGV);
                break;
            case 12:
                assert_int_equal(d[i].outcome, PROC_FAILED);
                assert_int_equal(d[i].code, 3);
                break;
            case 13: assert_int_equal(d[i].outcome, PROC_TIMEOUT); break;
            default: fail();
            }
            free(d[i].data);
        }
    }
    assert_int_equal(seen, 4);
    proc_pool_destroy(p);
}

/* While children run, a descriptor of the caller's is served too (the analysis host's slots). */
static void test_extra_descriptors(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    proc_pool *p = proc_pool_create(2, 0);
    /* a limit it never reaches before the wait (then it would end there, timed out) */
    assert_int_equal(proc_pool_spawn(p, 1, 300, hang, NULL, fds, 2), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    proc_done d[2];
    assert_int_equal(proc_pool_wait(p, &pf, 1, d, 2, -1),
                     0); /* no child ended, the pipe is ready */
    assert_true(pf.revents & POLLIN);
    proc_pool_destroy(p); /* kills the hanging child */
    close(fds[0]);
    close(fds[1]);
}

static void test_many_children(void **state)
{
    (void)state;
    proc_pool *p = proc_pool_create(3, 0);
    char names[40][8];
    int next = 0, got = 0;
    while (got < 40) {
        while (next < 40 && proc_pool_running(p) < 3) {
            snprintf(names[next], sizeof(names[next]), "task%d", next);
            assert_int_equal(proc_pool_spawn(p, (uint64_t)next, 0, answer, names[next], NULL, 0),
                             0);
            next++;
        }
        proc_done d[3];
        int n = proc_pool_wait(p, NULL, 0, d, 3, -1);
        for (int i = 0; i < n; i++, got++) {
            char *s = parsed(&d[i]);
            assert_string_equal(s, names[d[i].tag]);
            free(s);
            free(d[i].data);
        }
    }
    proc_pool_destroy(p);
}

static void test_string_framing(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(proc_write_str(fds[1], "abc"), 0);
    assert_int_equal(proc_write_str(fds[1], NULL), 0);
    close(fds[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (!proc_read_more(fds[0], &buf, &len, &cap))
        ;
    close(fds[0]);
    const char *q = buf;
    char *a = NULL, *b = (char *)1;
    assert_int_equal(proc_parse_str(&q, buf + len, &a), 0);
    assert_int_equal(proc_parse_str(&q, buf + len, &b), 0);
    assert_string_equal(a, "abc");
    assert_null(b);
    free(a);
    a = NULL;
    assert_int_equal(proc_parse_str(&q, buf + len, &a), -1); /* nothing left */
    assert_null(a);
    free(buf);
}

static void big(void *arg, int fd)
{
    (void)arg;
    static char block[65536];
    memset(block, 'x', sizeof(block));
    for (int i = 0; i < 64; i++) /* 4 MiB */
        if (proc_write_all(fd, block, sizeof(block)))
            _exit(1);
}

/* The child host over a proc_queue: 3 children at most, every task ending once, as its kind says.
 * The runaways of kind 3 run on their own, under a short limit that is all they can end by; the
 * rest (an answer, a crash, an exit status, an answer too large, a kill by the tick) under a
 * limit none of them comes near: a child of a sanitizer build at nice 19 can wait seconds for a
 * core, and a short limit would end it as a timeout. */
typedef struct run {
    proc_queue *q;
    int ended[24];
    proc_outcome how[24];
    int max_running, ticks;
    char names[24][16];
} run;

static proc_fn kind_of(int i)
{
    switch (i % 8) {
    case 1: return crash;
    case 2: return fail3;
    case 3: return hang; /* killed at the limit */
    case 4: return big;  /* killed for its answer's size */
    case 5: return hang; /* killed by the tick */
    default: return answer;
    }
}

static proc_next run_next(void *ctx, proc_task *t)
{
    run *r = ctx;
    int *item = proc_queue_pop(r->q, 0);
    if (!item)
        return PROC_NEXT_DRAINED;
    int i = *item;
    snprintf(r->names[i], sizeof(r->names[i]), "task%d", i);
    *t = (proc_task){.tag = (uint64_t)i, .fn = kind_of(i), .arg = r->names[i]};
    return PROC_NEXT_TASK;
}

static void run_done(void *ctx, const proc_done *d)
{
    run *r = ctx;
    assert_true(d->tag < 24);
    r->ended[d->tag]++;
    r->how[d->tag] = d->outcome;
    if (d->outcome == PROC_DONE) {
        char *s = parsed(d);
        assert_string_equal(s, r->names[d->tag]);
        free(s);
    }
}

static int run_tick(void *ctx, proc_host *h)
{
    run *r = ctx;
    r->ticks++;
    if (proc_host_running(h) > r->max_running)
        r->max_running = proc_host_running(h);
    for (int i = 5; i < 24; i += 8) /* the hangs of kind 5 die by the caller's hand */
        proc_host_kill(h, (uint64_t)i);
    return 50;
}

/* Tasks 0..23, the runaways (kind 3) or the others, through a queue that holds just them; each
 * ends once, as its kind says, the others never run. */
static void host_run(bool runaways, double timeout_sec)
{
    int items[24], n = 0;
    for (int i = 0; i < 24; i++)
        if ((i % 8 == 3) == runaways)
            items[n++] = i;
    run r = {.q = proc_queue_create((size_t)n)};
    for (int i = 0; i < n; i++)
        assert_int_equal(proc_queue_push(r.q, &items[i]), 0);
    assert_int_equal(proc_queue_push(r.q, &items[0]), -1); /* full */
    proc_limits lim = {.children = 3, .timeout_sec = timeout_sec, .max_answer = 100000};
    proc_host_ops ops = {.next = run_next, .done = run_done, .tick = run_tick};
    assert_int_equal(proc_host_run(&lim, &ops, &r), 0);
    assert_true(r.max_running <= 3 && r.max_running >= 1);
    static const proc_outcome want[8] = {PROC_DONE,     PROC_SIGNALED, PROC_FAILED, PROC_TIMEOUT,
                                         PROC_OVERSIZE, PROC_KILLED,   PROC_DONE,   PROC_DONE};
    for (int i = 0; i < 24; i++) {
        assert_int_equal(r.ended[i], (i % 8 == 3) == runaways);
        if (r.ended[i])
            assert_int_equal(r.how[i], want[i % 8]);
    }
    proc_queue_destroy(r.q);
}

static void test_host(void **state)
{
    (void)state;
    host_run(false, 300);
    host_run(true, 0.3);
    char why[160];
    proc_done d = {.outcome = PROC_TIMEOUT};
    proc_done_why(&d, 300, why, sizeof(why));
    assert_string_equal(why, "ran past its 300.0 s limit and was stopped");
    d = (proc_done){.outcome = PROC_SIGNALED, .code = SIGSEGV};
    proc_done_why(&d, 0, why, sizeof(why));
    assert_non_null(strstr(why, "died (signal 11"));
}

/* A host with nothing to run and nothing to wait for ends at once; one that only waits ends
 * when its queue says so. */
static proc_next none_next(void *ctx, proc_task *t)
{
    (void)t;
    return ++*(int *)ctx >= 3 ? PROC_NEXT_DRAINED : PROC_NEXT_WAIT;
}

static void none_done(void *ctx, const proc_done *d)
{
    (void)ctx, (void)d;
    fail();
}

static int short_tick(void *ctx, proc_host *h)
{
    (void)ctx, (void)h;
    return 1;
}

static void test_host_idle(void **state)
{
    (void)state;
    int asked = 0;
    proc_limits lim = {.children = 1};
    proc_host_ops ops = {.next = none_next, .done = none_done, .tick = short_tick};
    assert_int_equal(proc_host_run(&lim, &ops, &asked), 0);
    assert_int_equal(asked, 3);
    asked = 0;
    ops.tick = NULL; /* WAIT with nothing that could wake the host: an error, not a hang */
    assert_int_equal(proc_host_run(&lim, &ops, &asked), -1);
}

/* The queue between threads: every item popped once; close wakes the waiting. */
typedef struct popper {
    proc_queue *q;
    long sum, n;
} popper;

static void *pop_all(void *arg)
{
    popper *p = arg;
    long *v;
    while ((v = proc_queue_pop(p->q, 1)))
        p->sum += *v, p->n++;
    return NULL;
}

static void test_queue_threads(void **state)
{
    (void)state;
    proc_queue *q = proc_queue_create(16);
    assert_null(proc_queue_pop(q, 0));
    popper pp[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        pp[i] = (popper){.q = q};
        assert_int_equal(pthread_create(&t[i], NULL, pop_all, &pp[i]), 0);
    }
    static long v[2000];
    long want = 0;
    for (int i = 0; i < 2000; i++) {
        v[i] = i + 1;
        want += v[i];
        while (proc_queue_push(q, &v[i]) != 0) /* full: the poppers catch up */
            sched_yield();
    }
    proc_queue_close(q);
    assert_int_equal(proc_queue_push(q, &v[0]), -1); /* closed */
    long sum = 0, n = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        sum += pp[i].sum, n += pp[i].n;
    }
    assert_int_equal(n, 2000);
    assert_int_equal(sum, want);
    assert_int_equal(proc_queue_len(q), 0);
    proc_queue_destroy(q);
}

/* An answer's fields read back in order; short, malformed or left-over bytes are caught. */
static void test_answer_fields(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int32_t a = -7;
    double x = 2.5;
    assert_int_equal(proc_write_all(fds[1], &a, sizeof(a)), 0);
    assert_int_equal(proc_write_str(fds[1], "msg"), 0);
    assert_int_equal(proc_write_blob(fds[1], "{\"k\":1}", 7), 0);
    assert_int_equal(proc_write_all(fds[1], &x, sizeof(x)), 0);
    assert_int_equal(proc_write_str(fds[1], NULL), 0);
    close(fds[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (!proc_read_more(fds[0], &buf, &len, &cap))
        ;
    close(fds[0]);
    proc_reader r = proc_reader_of(buf, len);
    int32_t a2;
    double x2;
    size_t bl;
    proc_read_val(&r, &a2, sizeof(a2));
    char *m = proc_read_str(&r);
    const char *b = proc_read_blob(&r, &bl);
    proc_read_val(&r, &x2, sizeof(x2));
    char *none = proc_read_str(&r);
    assert_int_equal(proc_reader_end(&r), 0);
    assert_int_equal(a2, -7);
    assert_string_equal(m, "msg");
    assert_int_equal(bl, 7);
    assert_memory_equal(b, "{\"k\":1}", 7);
    assert_true(x2 == 2.5);
    assert_null(none);
    free(m);
    /* one byte short: the last field is missing, and the reader says so */
    r = proc_reader_of(buf, len - 1);
    proc_read_val(&r, &a2, sizeof(a2));
    free(proc_read_str(&r));
    proc_read_blob(&r, &bl);
    proc_read_val(&r, &x2, sizeof(x2));
    assert_null(proc_read_str(&r));
    assert_int_equal(proc_reader_end(&r), -1);
    /* everything read, one field too few asked: bytes left over */
    r = proc_reader_of(buf, len);
    proc_read_val(&r, &a2, sizeof(a2));
    assert_int_equal(proc_reader_end(&r), -1);
    /* a blob longer than the answer */
    uint64_t huge = 1u << 20;
    r = proc_reader_of((const char *)&huge, sizeof(huge));
    assert_null(proc_read_blob(&r, &bl));
    assert_int_equal(bl, 0);
    assert_int_equal(proc_reader_end(&r), -1);
    free(buf);
}

/* One child host: outside src/proc/, nothing drives a pool of children itself; the CLI's
 * batches, the worker and the service's analysis host all go through proc_host_run. */
static void test_one_child_host(void **state)
{
    (void)state;
    FILE *f = popen("grep -rln 'proc_pool_' " CQ_SOURCE_DIR "/src", "r");
    assert_non_null(f);
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        print_message("drives a pool: %s", line);
        assert_non_null(strstr(line, "/src/proc/"));
    }
    pclose(f);
    f = popen("grep -rl 'proc_host_run(' " CQ_SOURCE_DIR "/src/cli/main.c " CQ_SOURCE_DIR
              "/src/pipeline/worker.c " CQ_SOURCE_DIR "/src/pipeline/pl_host.c",
              "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n++;
    pclose(f);
    assert_int_equal(n, 3);
}

/* One fork site: proc_spawn. Everything else that isolates work goes through it. */
static void test_one_fork_site(void **state)
{
    (void)state;
    FILE *f = popen("grep -rnE '(^|[^a-z_])fork[ ]*\\(' " CQ_SOURCE_DIR "/src", "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        print_message("fork site: %s", line);
        assert_non_null(strstr(line, "/src/proc/proc.c:"));
        n++;
    }
    pclose(f);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),      cmocka_unit_test(test_extra_descriptors),
        cmocka_unit_test(test_many_children), cmocka_unit_test(test_string_framing),
        cmocka_unit_test(test_one_fork_site), cmocka_unit_test(test_host),
        cmocka_unit_test(test_host_idle),     cmocka_unit_test(test_queue_threads),
        cmocka_unit_test(test_answer_fields), cmocka_unit_test(test_one_child_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
