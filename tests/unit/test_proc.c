/*
 * test_proc.c - work in child processes (src/proc/): every way a child can end, as the CLI's
 * batches and the service's analysis host see them: an answer, a crash, an exit status, a
 * runaway killed at its deadline; more jobs than slots; the caller's descriptors served while
 * children run; strings framed between processes; and the one fork site of the program.
 */
#include "testutil.h"

#include <signal.h>

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
    proc_pool *p = proc_pool_create(4);
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
    proc_pool *p = proc_pool_create(2);
    assert_int_equal(proc_pool_spawn(p, 1, 5, hang, NULL, fds, 2), 0);
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

static void test_many_jobs(void **state)
{
    (void)state;
    proc_pool *p = proc_pool_create(3);
    char names[40][8];
    int next = 0, got = 0;
    while (got < 40) {
        while (next < 40 && proc_pool_running(p) < 3) {
            snprintf(names[next], sizeof(names[next]), "job%d", next);
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
        cmocka_unit_test(test_many_jobs),     cmocka_unit_test(test_string_framing),
        cmocka_unit_test(test_one_fork_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
