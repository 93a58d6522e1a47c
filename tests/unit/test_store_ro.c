/*
 * test_store_ro.c - the store's read-only queries (src/store/store_ro.c) on a real SQLite store:
 * the allow-listed columns read, and every kind of write, file access, code loading, stacked
 * statement, column outside the list and runaway query refused by the layer that must refuse it;
 * the store's file unchanged byte for byte afterwards, and no new file beside it.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/store/store.h"

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
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 0.3};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        store_ro_result out;
        int rc = store_ro_query(r, k[i].sql, &lim, &out);
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
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 2};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
