/*
 * test_store_ro.c - the store's read-only queries (src/store/store_ro.c) on a real SQLite store:
 * the allow-listed columns read, and every kind of write, file access, code loading, stacked
 * statement, column outside the list and runaway query refused by the layer that must refuse it;
 * the store's file unchanged byte for byte afterwards, and no new file beside it; and the time
 * limit held inside one function call: instr, replace, trim, LIKE and GLOB over long text,
 * strings built by printf, a recursive CTE or group_concat, each refused or cut within 1 s of the
 * limit, while the same functions on ordinary values answer what SQLite's own answer.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../src/store/store_calls.h"
#include "../../src/store/store_ro.h"

static char g_dir[64], g_db[128];

static const char *const k_allow[] = {"calls.recording_id", "calls.agent_user", "calls.campaign_id",
                                      "analyses.*", NULL};

/* A store with two calls, one analysed. */
static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/cq-ro-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_db, sizeof(g_db), "%s/store.db", g_dir);
    char msg[300];
    store *s = store_open(g_db, msg, sizeof(msg));
    if (!s)
        return -1;
    for (int i = 0; i < 2; i++) {
        store_call c;
        memset(&c, 0, sizeof(c));
        snprintf(c.source, sizeof(c.source), "up");
        snprintf(c.recording_id, sizeof(c.recording_id), "r%d", i);
        snprintf(c.agent_user, sizeof(c.agent_user), "agent%d", i);
        snprintf(c.agent_name, sizeof(c.agent_name), "Private Name %d", i);
        c.call_epoch = -1, c.length_sec = -1;
        int64_t id;
        bool created;
        if (store_call_put(s, &c, 1000, &id, &created) != 0)
            return -1;
    }
    store_close(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* the store file's bytes and the folder's entries, to hold them unchanged */
static char *snapshot(size_t *len)
{
    FILE *f = fopen(g_db, "rb");
    assert_non_null(f);
    char *b = malloc(1 << 22);
    assert_non_null(b);
    *len = fread(b, 1, 1 << 22, f);
    fclose(f);
    return b;
}

static int entries(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

typedef struct hostile {
    const char *sql, *layer;
} hostile;

static void test_refused(void **state)
{
    (void)state;
    size_t n0, n1;
    char *before = snapshot(&n0);
    int files = entries();
    char msg[300];
    store_ro *r = store_ro_open_sqlite(g_db, k_allow, msg, sizeof(msg));
    assert_non_null(r);
    static const hostile k[] = {
        {"INSERT INTO calls (source, recording_id) VALUES ('x', 'y')", "authorizer"},
        {"UPDATE calls SET agent_user = 'x'", "authorizer"},
        {"DELETE FROM calls", "authorizer"},
        {"DROP TABLE calls", "authorizer"},
        {"CREATE TABLE x (a)", "authorizer"},
        {"CREATE TEMP TABLE x (a)", "authorizer"},
        {"ATTACH DATABASE '/tmp/cq-ro-evil.db' AS evil", "authorizer"},
        {"VACUUM INTO '/tmp/cq-ro-evil.db'", "readonly"}, /* its ATTACH comes at the step */
        {"PRAGMA writable_schema = 1", "authorizer"},
        {"PRAGMA query_only = 0", "authorizer"},
        {"SELECT load_extension('/tmp/evil.so')", "authorizer"},
        {"SELECT fts3_tokenizer('simple')", "authorizer"},
        {"SELECT agent_name FROM calls", "authorizer"},
        {"SELECT * FROM calls", "authorizer"},
        {"SELECT sql FROM sqlite_master", "authorizer"},
        {"SELECT randomblob(1000000000)", "authorizer"},
        {"WITH x AS (SELECT agent_name FROM calls) SELECT * FROM x", "authorizer"},
        {"BEGIN", "authorizer"},
        {"SELECT recording_id FROM calls; DELETE FROM calls", "one_statement"},
        {"SELECT 1; SELECT 2", "one_statement"},
        {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
         "timeout"},
        {"SELECT count(*) FROM analyses a, analyses b, analyses c, "
         "(WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r)",
         "timeout"},
    };
    /* the runaway queries have 0.3 s, the rest 30 s (a loaded machine's stall is no runaway) */
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 0.3};
    store_ro_limits calm = {.max_rows = 50, .timeout_sec = 30};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        store_ro_result out;
        int rc = store_ro_query(r, k[i].sql, strcmp(k[i].layer, "timeout") ? &calm : &lim, &out);
        print_message("%-12s %s: %s\n", out.layer, k[i].sql, out.error);
        assert_int_equal(rc, -1);
        assert_string_equal(out.layer, k[i].layer);
        assert_true(out.error[0] != 0);
        store_ro_result_free(&out);
    }
    store_ro_close(r);
    char *after = snapshot(&n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0); /* 0 writes */
    assert_int_equal(entries(), files);     /* no new file */
    assert_int_equal(access("/tmp/cq-ro-evil.db", F_OK), -1);
    free(before);
    free(after);
}

static void test_reads(void **state)
{
    (void)state;
    char msg[300];
    store_ro *r = store_ro_open_sqlite(g_db, k_allow, msg, sizeof(msg));
    assert_non_null(r);
    /* reads that take milliseconds: a limit no stalled process reaches */
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 30};
    store_ro_result out;
    assert_int_equal(store_ro_query(r,
                                    "SELECT agent_user, count(*) AS n FROM calls GROUP BY "
                                    "agent_user ORDER BY agent_user -- the agents",
                                    &lim, &out),
                     0);
    assert_int_equal(out.rows, 2);
    assert_false(out.truncated);
    assert_string_equal(out.json, "{\"columns\":[\"agent_user\",\"n\"],\"rows\":[[\"agent0\",1],"
                                  "[\"agent1\",1]],\"truncated\":false}");
    store_ro_result_free(&out);
    lim.max_rows = 1; /* the cap said, not failed */
    assert_int_equal(store_ro_query(r, "SELECT upper(recording_id) FROM calls", &lim, &out), 0);
    assert_int_equal(out.rows, 1);
    assert_true(out.truncated);
    store_ro_result_free(&out);
    /* a caller narrowed to some campaigns is refused, never shown every call; "*" is every call */
    lim.scope = "{\"campaigns\": [\"SALES\"]}";
    assert_int_equal(store_ro_query(r, "SELECT id FROM calls", &lim, &out), -1);
    assert_string_equal(out.layer, "scope");
    lim.scope = "*";
    assert_int_equal(store_ro_query(r, "SELECT agent_user FROM calls", &lim, &out), 0);
    store_ro_result_free(&out);
    store_ro_close(r);
}

static double clock_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double mono(void)
{
    return clock_sec(CLOCK_MONOTONIC);
}

/* One call of a function the time limit cannot see inside: each hostile one refused by "size" or
 * cut by "timeout" within 1 s of the limit (1 s here); the cost of a call grows with the square
 * of its arguments' length, so these would run for seconds to hours unbounded. */
static void test_long_functions(void **state)
{
    (void)state;
    char msg[300];
    store_ro *r = store_ro_open_sqlite(g_db, k_allow, msg, sizeof(msg));
    assert_non_null(r);
#define A(n) "printf('%.*c', " #n ", 'a')"
#define RECUR(seed)                                                                                \
    "WITH RECURSIVE r(n, s) AS (SELECT 1, " seed " UNION ALL SELECT n + 1, s FROM r) "
    static const hostile k[] = {
        /* the review's query: printf's result past the longest value is NULL ("null": it ran,
         * at once, and answered NULL), and a million characters are past the bound */
        {"SELECT instr(" A(2000000) ", " A(1000000) " || 'b')", "null"},
        {"SELECT instr(" A(1000000) ", " A(500000) " || 'b')", "size"},
        {"SELECT " A(1000000) " LIKE '%' || " A(100000) " || 'b'", "size"},
        {"SELECT like('%' || " A(100000) " || 'b', " A(1000000) ")", "size"},
        {"SELECT " A(1000000) " GLOB '*' || " A(100000) " || 'b'", "size"},
        {"SELECT " A(1000000) " GLOB '*' || replace(" A(3000) ", 'a', '[a]') || 'b'", "size"},
        {"SELECT " A(1000000) " LIKE " A(40000) " || '%b'", "size"}, /* a long pattern */
        {"SELECT length(replace(" A(1000000) ", " A(500000) " || 'b', 'x'))", "size"},
        {"SELECT length(replace(" A(1000000) ", 'a', " A(100) "))", "size"}, /* its result */
        {"SELECT length(trim(" A(1000000) ", printf('%.*c', 100000, 'b') || 'a'))", "size"},
        {"SELECT length(ltrim(" A(100000) ", printf('%.*c', 10000, 'b') || 'a'))", "size"},
        {"SELECT length(rtrim(" A(100000) ", printf('%.*c', 10000, 'b') || 'a'))", "size"},
        {"SELECT length(printf('%.*c', 2000000, 'a'))", "null"},
        {"SELECT length(printf('%2000000d', 1))", "null"},
        {"SELECT length(printf('%.2000000f', 1.5))", "null"},
        {"SELECT length(" A(1000000) " || " A(1000000) ")", "size"},
        {"SELECT zeroblob(1000000000)", "authorizer"},
        {"SELECT randomblob(1000000000)", "authorizer"},
        {"SELECT hex(" A(1000000) ")", "authorizer"},
        {"SELECT length(hex(zeroblob(100000000)))", "authorizer"},
        /* strings built a row at a time: each step short, the whole cut by its limit */
        {"WITH RECURSIVE r(s) AS (SELECT 'a' UNION ALL SELECT s || s FROM r) SELECT length(s) FROM "
         "r",
         "size"},
        {RECUR("printf('%.*c', 1000, 'a')") "SELECT length(group_concat(s)) FROM r", "timeout"},
        {RECUR("printf('%.*c', 1000, 'a')") "SELECT length(group_concat(s)) FROM r WHERE n <= 2000",
         "timeout"}, /* the recursion itself has no end: WHERE n stops nothing */
        {"WITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.*c', 1000, 'a') UNION ALL SELECT n + 1, s "
         "FROM r WHERE n < 2000) SELECT length(group_concat(s)) FROM r",
         "size"},
        {RECUR(A(1000000)) "SELECT count(*) FROM r WHERE length(upper(s)) > 0", "timeout"},
        {RECUR(A(1000000)) "SELECT count(*) FROM r WHERE lower(s) = 'b'", "timeout"},
        {RECUR(A(1000000)) "SELECT count(*) FROM r WHERE substr(s, 999999, 1) = 'b'", "timeout"},
        /* calls each just within the bound, one per row: the limit checked before each */
        {RECUR(A(10000)) "SELECT count(*) FROM r WHERE trim(s, printf('%.*c', 1900, 'b') || 'a') "
                         "<> ''",
         "timeout"},
        {RECUR(A(100000)) "SELECT count(*) FROM r WHERE s LIKE '%' || " A(390) " || 'b'",
         "timeout"},
        {RECUR(A(100000)) "SELECT count(*) FROM r WHERE s GLOB '*' || " A(400) " || 'b'",
         "timeout"},
        {RECUR(A(10000)) "SELECT count(*) FROM r WHERE instr(s, " A(4999) " || 'b') > 0",
         "timeout"},
        /* just past the bound: refused at once */
        {"SELECT trim(" A(10000) ", printf('%.*c', 2100, 'b') || 'a')", "size"},
        {"SELECT " A(100000) " LIKE '%' || " A(500) " || 'b'", "size"},
    };
    /* the runaway calls have 1 s; the rest 300 s, refused by "size" or answered long before it:
     * on a loaded machine (a sanitizer suite at nice 19 beside the tests) this process has had
     * 0.02 s of CPU in 1.3 s, which a short limit would show as "timeout" instead of "size" (a
     * query of 0.4 s of CPU then takes some 30 s) */
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 1};
    store_ro_limits calm = {.max_rows = 50, .timeout_sec = 300};
    double worst = 0;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        bool runaway = !strcmp(k[i].layer, "timeout");
        store_ro_result out;
        double t0 = mono(), c0 = clock_sec(CLOCK_PROCESS_CPUTIME_ID);
        int rc = store_ro_query(r, k[i].sql, runaway ? &lim : &calm, &out);
        double t = mono() - t0, cpu = clock_sec(CLOCK_PROCESS_CPUTIME_ID) - c0;
        print_message("%-10s %5.2f s (%.2f s CPU)  %.90s: %.120s\n", rc ? out.layer : out.json, t,
                      cpu, k[i].sql, out.error);
        if (!strcmp(k[i].layer, "null")) {
            assert_int_equal(rc, 0);
            assert_non_null(strstr(out.json, "\"rows\":[[null]]"));
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(out.layer, k[i].layer);
            assert_true(out.error[0] != 0);
        }
        /* the work done past the limit, as CPU time: on a loaded machine (a sanitizer build
         * beside other suites) the wall clock also counts the time this process waited for a
         * core; the wall-clock bound only catches a hang */
        assert_true(cpu < lim.timeout_sec + 1.0);
        if (runaway)
            assert_true(t < tu_hang_sec(60));
        worst = cpu > worst ? cpu : worst;
        store_ro_result_free(&out);
    }
    print_message("the slowest: %.2f s CPU (limit %.1f s)\n", worst, lim.timeout_sec);
    /* the same functions on ordinary values: SQLite's own answers, types kept */
    static const struct {
        const char *sql, *json;
    } ok[] = {
        {"SELECT instr(printf('%.*c', 100000, 'x') || 'needle', 'needle')", "[[100001]]"},
        {"SELECT instr('naïve café', 'café'), instr(x'010203', x'02'), instr(12345, 34), "
         "instr(NULL, 'a')",
         "[[7,2,3,null]]"},
        {"SELECT " A(
             1000000) " || 'b' LIKE '%ab', 'ABC' LIKE 'abc', 'ABC' GLOB 'abc', "
                      "'a%b' LIKE 'a\\%b' ESCAPE '\\', 'aXb' GLOB 'a[A-Z]b', like('a_c', 'abc')",
         "[[1,1,0,1,1,1]]"},
        {"SELECT replace('hello world', 'o', '0'), trim('xxhixx', 'x'), ltrim('  hi '), "
         "rtrim('hi..', '.'), length(replace(" A(1000000) ", 'a', 'b'))",
         "[[\"hell0 w0rld\",\"hi\",\"hi \",\"hi\",1000000]]"},
        {"SELECT count(*) FROM calls WHERE agent_user LIKE 'agent%' AND recording_id GLOB 'r[01]' "
         "AND instr(agent_user, 'gent') = 2 AND trim(agent_user, 'a') LIKE 'gent_'",
         "[[2]]"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        store_ro_result out;
        int rc = store_ro_query(r, ok[i].sql, &calm, &out);
        print_message("%s -> %s %s\n", ok[i].sql, out.json ? out.json : out.layer, out.error);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out.json, ok[i].json));
        store_ro_result_free(&out);
    }
#undef A
#undef RECUR
    store_ro_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_long_functions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
