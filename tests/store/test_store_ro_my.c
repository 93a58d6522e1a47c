/*
 * test_store_ro_my.c - the ViciDial read-only queries (src/store/store_ro_my.c) on a real MariaDB
 * that test_store_ro_my.sh starts and fills (its place in CQ_MY_*): the allow-listed columns read
 * exactly as an administrator reads them; every kind of write, file access, stacked statement,
 * statement EXPLAIN does not accept, credential or unlisted column, oversized plan and runaway
 * query refused by the layer that must refuse it, in time; nothing written afterwards (every
 * table's checksum, the data directory's files, no file made by the server); the checks at open
 * (privileges, roles, PUBLIC, readable columns, the allow-list, a replica); a server that stops
 * answering cut by the watchdog.
 */
#include "testutil.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mysql.h>

#include "../../src/store/store_ro.h"
#include "../../src/store/store_ro_int.h"

/* the default allow-list (docs/ask/sources.md): what test_store_ro_my.sh grants callqa_ask */
static const char *const k_allow[] = {"recording_log.recording_id",
                                      "recording_log.start_time",
                                      "recording_log.length_in_sec",
                                      "recording_log.user",
                                      "recording_log.vicidial_id",
                                      "vicidial_log.uniqueid",
                                      "vicidial_log.call_date",
                                      "vicidial_log.campaign_id",
                                      "vicidial_log.user",
                                      "vicidial_log.user_group",
                                      "vicidial_log.length_in_sec",
                                      "vicidial_log.status",
                                      "vicidial_log.term_reason",
                                      "vicidial_closer_log.closecallid",
                                      "vicidial_closer_log.uniqueid",
                                      "vicidial_closer_log.call_date",
                                      "vicidial_closer_log.campaign_id",
                                      "vicidial_closer_log.user",
                                      "vicidial_closer_log.user_group",
                                      "vicidial_closer_log.length_in_sec",
                                      "vicidial_closer_log.queue_seconds",
                                      "vicidial_closer_log.status",
                                      "vicidial_closer_log.term_reason",
                                      "vicidial_users.user",
                                      "vicidial_users.full_name",
                                      "vicidial_users.user_group",
                                      "vicidial_user_groups.user_group",
                                      "vicidial_user_groups.group_name",
                                      "vicidial_campaigns.campaign_id",
                                      "vicidial_campaigns.campaign_name",
                                      "vicidial_inbound_groups.group_id",
                                      "vicidial_inbound_groups.group_name",
                                      "vicidial_statuses.status",
                                      "vicidial_statuses.status_name",
                                      NULL};

static unsigned g_port;
static const char *g_sock, *g_datadir, *g_priv, *g_password;
static pid_t g_pid;
static char g_outfile[128]; /* a name in /tmp that no file may take */

/* The limit of a query that must answer: one no stalled process reaches (the server at nice 19
 * beside busy cores can wait seconds for a core). */
#define CALM_SEC 60

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- the administrator's side (root on the socket) ------------------------------------------ */

static MYSQL *admin(void)
{
    MYSQL *m = mysql_init(NULL);
    assert_non_null(m);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(m, "localhost", "root", NULL, "asterisk", 0, g_sock, 0))
        fail_msg("root on %s: %s", g_sock, mysql_error(m));
    return m;
}

static void admin_exec(const char *sql)
{
    MYSQL *m = admin();
    if (mysql_query(m, sql))
        fail_msg("%s: %s", sql, mysql_error(m));
    mysql_close(m);
}

/* the rows of sql as root, each value as text, one row a line, values split by \x1f, NULL as
 * \x1e */
static char *admin_text(const char *sql)
{
    MYSQL *m = admin();
    if (mysql_query(m, sql))
        fail_msg("%s: %s", sql, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    unsigned nc = mysql_num_fields(res);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        unsigned long *l = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < nc; i++) {
            if (row[i])
                fwrite(row[i], 1, l[i], f);
            else
                fputc(0x1e, f);
            fputc(i + 1 < nc ? 0x1f : '\n', f);
        }
    }
    fclose(f);
    mysql_free_result(res);
    mysql_close(m);
    return text;
}

/* an answer's rows against root's: the same rows in the same order, text equal, numbers equal by
 * value, null where root reads NULL */
static void check_rows(const char *json, const char *sql)
{
    char *want = admin_text(sql);
    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    assert_non_null(o);
    json_t *rows = json_object_get(o, "rows");
    size_t i, n = 0;
    json_t *row;
    const char *p = want;
    json_array_foreach(rows, i, row)
    {
        size_t j;
        json_t *v;
        json_array_foreach(row, j, v)
        {
            size_t l = strcspn(p, "\x1f\n");
            char cell[2048];
            snprintf(cell, sizeof(cell), "%.*s", (int)l, p);
            if (json_is_null(v)) {
                assert_string_equal(cell, "\x1e");
            } else if (json_is_integer(v)) {
                assert_true(strtoll(cell, NULL, 10) == json_integer_value(v));
            } else if (json_is_real(v)) {
                assert_true(strtod(cell, NULL) == json_real_value(v));
            } else {
                assert_true(json_is_string(v));
                assert_string_equal(cell, json_string_value(v));
            }
            p += l + 1;
        }
        n++;
    }
    assert_true(n > 0);
    assert_int_equal(*p, 0); /* every root row answered */
    json_decref(o);
    free(want);
}

/* a global status counter of the server, as root */
static long status_of(const char *name)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
             "'%s'",
             name);
    char *v = admin_text(sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* CHECKSUM TABLE of every table of asterisk */
static char *checksums(void)
{
    char *names = admin_text("SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM "
                             "information_schema.TABLES WHERE TABLE_SCHEMA = 'asterisk'");
    names[strcspn(names, "\n")] = 0;
    char sql[2048];
    snprintf(sql, sizeof(sql), "CHECKSUM TABLE %s", names);
    free(names);
    char *sums = admin_text(sql);
    assert_true(strlen(sums) > 100);
    return sums;
}

/* the files of a folder, one path a line (the server's own logs and caches left out: ib_logfile*,
 * aria_log*, ibtmp*, ddl_recovery.log, ib_buffer_pool, which it writes on its own) */
static FILE *g_list;
static size_t g_root;
static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    const char *base = path + ftw->base;
    if (!strncmp(base, "ib_logfile", 10) || !strncmp(base, "aria_log", 8) ||
        !strncmp(base, "ibtmp", 5) || !strcmp(base, "ddl_recovery.log") ||
        !strcmp(base, "ib_buffer_pool"))
        return 0;
    fprintf(g_list, "%s\n", path + g_root);
    return 0;
}
static char *listing(const char *dir)
{
    char *text = NULL;
    size_t len = 0;
    g_list = open_memstream(&text, &len);
    g_root = strlen(dir);
    nftw(dir, list_one, 16, FTW_PHYS);
    fclose(g_list);
    return text;
}

/* files in /tmp whose name holds the test's token */
static int tmp_files(void)
{
    DIR *d = opendir("/tmp");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, g_outfile) != NULL;
    if (d)
        closedir(d);
    return n;
}

/* ---- the account's side -------------------------------------------------------------------- */

static store_ro *open_as(const char *user, const char *const *allow, const char *const *never,
                         bool primary, char *msg, size_t n)
{
    store_ro_my_config c = {.host = "127.0.0.1",
                            .port = g_port,
                            .user = user,
                            .password = g_password,
                            .db = "asterisk",
                            .allow = allow,
                            .never = never,
                            .primary = primary};
    return store_ro_open_mariadb(&c, msg, n);
}

static void test_reads(void **state)
{
    (void)state;
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    assert_string_equal(store_ro_kind(r), "mariadb");
    static const char *const k_reads[] = {
        "SELECT user, full_name, user_group FROM vicidial_users ORDER BY user",
        "SELECT campaign_id, status, COUNT(*) AS n, SUM(length_in_sec) AS secs, "
        "AVG(length_in_sec) AS mean FROM vicidial_log GROUP BY campaign_id, status ORDER BY 1, 2",
        "SELECT closecallid, call_date, queue_seconds, term_reason FROM vicidial_closer_log "
        "WHERE closecallid <= 40 ORDER BY closecallid",
        "SELECT rl.recording_id, rl.start_time, rl.length_in_sec, vu.full_name, vl.status "
        "FROM recording_log rl LEFT JOIN vicidial_users vu ON vu.user = rl.user "
        "LEFT JOIN vicidial_log vl ON vl.uniqueid = rl.vicidial_id "
        "WHERE rl.recording_id < 30 ORDER BY rl.recording_id",
        "WITH x AS (SELECT user, length_in_sec FROM vicidial_log) "
        "SELECT user, COUNT(*), MAX(length_in_sec) FROM x GROUP BY user ORDER BY user",
        "SELECT u, n FROM (SELECT user AS u, COUNT(*) AS n FROM vicidial_closer_log GROUP BY "
        "user) d ORDER BY u",
        "SELECT c.campaign_name, g.group_name FROM vicidial_campaigns c, vicidial_user_groups g "
        "ORDER BY 1, 2",
        "SELECT DATE(call_date) AS day, COUNT(*) FROM vicidial_log GROUP BY day ORDER BY day",
    };
    store_ro_limits lim = {.max_rows = 1000, .timeout_sec = CALM_SEC};
    for (size_t i = 0; i < sizeof(k_reads) / sizeof(k_reads[0]); i++) {
        store_ro_result out;
        int rc = store_ro_query(r, k_reads[i], &lim, &out);
        if (rc)
            fail_msg("%s: %s %s", k_reads[i], out.layer, out.error);
        assert_false(out.truncated);
        check_rows(out.json, k_reads[i]);
        store_ro_result_free(&out);
    }
    /* the answer's form, as the SQLite source gives it */
    store_ro_result out;
    assert_int_equal(store_ro_query(r,
                                    "SELECT user, full_name, NULL AS x, 2 AS n, 1.5 AS f FROM "
                                    "vicidial_users WHERE user = '1001'",
                                    &lim, &out),
                     0);
    assert_string_equal(out.json, "{\"columns\":[\"user\",\"full_name\",\"x\",\"n\",\"f\"],"
                                  "\"rows\":[[\"1001\",\"Zoë Łukasz 李小龍\",null,2,1.5]],"
                                  "\"truncated\":false}");
    store_ro_result_free(&out);
    /* the row cap said, not failed, on a result of 500000 rows that the server was still
     * sending: the statement killed (Com_kill), the connection answers the next query */
    char *kills0 = admin_text("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                              "WHERE VARIABLE_NAME = 'COM_KILL'");
    lim.max_rows = 5;
    double t0 = mono();
    assert_int_equal(store_ro_query(r,
                                    "SELECT a.user, b.call_date FROM vicidial_log a, "
                                    "vicidial_closer_log b",
                                    &lim, &out),
                     0);
    double took = mono() - t0;
    assert_int_equal(out.rows, 5);
    assert_true(out.truncated);
    store_ro_result_free(&out);
    char *kills1 = admin_text("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                              "WHERE VARIABLE_NAME = 'COM_KILL'");
    long k0 = strtol(kills0, NULL, 10), k1 = strtol(kills1, NULL, 10);
    print_message("# 5 of 500000 rows in %.2f s; KILL statements %ld -> %ld\n", took, k0, k1);
    assert_int_equal(k1, k0 + 1);
    free(kills0);
    free(kills1);
    /* the bytes cap the same */
    lim.max_bytes = 100;
    assert_int_equal(store_ro_query(r,
                                    "SELECT full_name FROM vicidial_log l JOIN vicidial_users "
                                    "u ON u.user = l.user",
                                    &lim, &out),
                     0);
    assert_true(out.truncated);
    assert_true(out.rows > 1 && out.rows < 10);
    store_ro_result_free(&out);
    lim.max_bytes = 0;
    lim.max_rows = 1000;
    assert_int_equal(store_ro_query(r, "SELECT COUNT(*) FROM vicidial_log", &lim, &out), 0);
    assert_string_equal(out.json, "{\"columns\":[\"COUNT(*)\"],\"rows\":[[1000]],"
                                  "\"truncated\":false}");
    store_ro_result_free(&out);
    /* the session as it was after each query: a user lock taken is released */
    assert_int_equal(store_ro_query(r, "SELECT GET_LOCK('cq-ro-my', 0)", &lim, &out), 0);
    store_ro_result_free(&out);
    char *free_lock = admin_text("SELECT IS_FREE_LOCK('cq-ro-my')");
    assert_string_equal(free_lock, "1\n");
    free(free_lock);
    /* ... and its character set still utf8mb4 */
    int rc = store_ro_query(r, "SELECT @@character_set_client AS c, @@character_set_results AS s",
                            &lim, &out);
    if (rc)
        fail_msg("%s %s", out.layer, out.error);
    print_message("# the session after a query: %s\n", out.json);
    assert_string_equal(out.json, "{\"columns\":[\"c\",\"s\"],\"rows\":[[\"utf8mb4\","
                                  "\"utf8mb4\"]],\"truncated\":false}");
    store_ro_result_free(&out);
    store_ro_close(r);
}

typedef struct hostile {
    const char *sql, *layer; /* layer "": answered, harmlessly (see the test) */
} hostile;

static void test_refused(void **state)
{
    (void)state;
    char *sums0 = checksums(), *files0 = listing(g_datadir), *priv0 = listing(g_priv);
    char msg[4096], out1[300], out2[300], out3[300];
    snprintf(out1, sizeof(out1), "SELECT user FROM vicidial_log INTO OUTFILE '/tmp/%s.txt'",
             g_outfile);
    snprintf(out2, sizeof(out2), "SELECT user FROM vicidial_log INTO OUTFILE '%s/out.txt'", g_priv);
    snprintf(out3, sizeof(out3),
             "SELECT user FROM vicidial_log LIMIT 1 INTO DUMPFILE '/tmp/%s.bin'", g_outfile);
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    const hostile k[] = {
        /* more than one statement: the server refuses the second (no multi-statements) */
        {"SELECT user FROM vicidial_log; DELETE FROM vicidial_log", "one_statement"},
        {"SELECT 1; SELECT 2", "one_statement"},
        {"SELECT 1 /*!50000 ; DELETE FROM vicidial_log */", "one_statement"},
        /* files */
        {out1, "privilege"},
        {out2, "privilege"},
        {out3, "privilege"},
        {"LOAD DATA INFILE '/etc/passwd' INTO TABLE vicidial_log", "explain"},
        {"LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE vicidial_log", "explain"},
        {"SELECT LOAD_FILE('/etc/passwd') AS f", ""},
        /* time */
        {"SELECT SLEEP(100)", "timeout"},
        {"SELECT BENCHMARK(1000000000000, MD5('x'))", "timeout"},
        {"SELECT user FROM vicidial_log WHERE user = (SELECT SLEEP(100))", "timeout"},
        {"SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(100)", "explain"},
        {"/*!100000 SET STATEMENT max_statement_time=0 FOR */ SELECT SLEEP(100)", "explain"},
        {"SET SESSION max_statement_time = 0", "explain"},
        {"DO SLEEP(5)", "explain"},
        /* statements that are not a SELECT */
        {"SET @@session.transaction_read_only = 0", "explain"},
        {"SET ROLE cq_writer", "explain"},
        {"GRANT SELECT ON *.* TO 'callqa_ask'@'127.0.0.1'", "explain"},
        {"CALL mysql.nothing()", "explain"},
        {"LOCK TABLES vicidial_log WRITE", "explain"},
        {"HANDLER vicidial_log OPEN", "explain"},
        {"PREPARE s FROM 'DELETE FROM vicidial_log'", "explain"},
        {"EXECUTE IMMEDIATE 'DELETE FROM vicidial_log'", "explain"},
        {"START TRANSACTION READ WRITE", "explain"},
        /* EXPLAIN BEGIN is DESCRIBE of a table named BEGIN: none the account may read */
        {"BEGIN", "privilege"},
        {"COMMIT", "privilege"},
        {"vicidial_log", "explain"}, /* DESCRIBE vicidial_log: a plan without row estimates */
        {"FORMAT=JSON SELECT 1", "explain"},
        {"SHOW GRANTS", "explain"},
        {"CREATE TABLE evil (a INT)", "explain"},
        {"DROP TABLE vicidial_log", "explain"},
        {"WITH x AS (SELECT 1) DELETE FROM vicidial_log", "explain"},
        {"ANALYZE DELETE FROM vicidial_log", "explain"},
        /* writes that EXPLAIN accepts: the replica's read_only refuses them before the grants
         * do (test_primary: the grants on their own) */
        {"INSERT INTO vicidial_log (uniqueid, lead_id) VALUES ('x', 1)", "read_only_server"},
        {"UPDATE vicidial_log SET status = 'X'", "read_only_server"},
        {"DELETE FROM vicidial_log", "read_only_server"},
        {"DELETE FROM vicidial_log WHERE 0 /*!50000 OR 1 */", "read_only_server"},
        {"REPLACE INTO vicidial_log (uniqueid, lead_id) VALUES ('x', 1)", "read_only_server"},
        {"SELECT user FROM vicidial_log FOR UPDATE", "read_only_transaction"},
        /* credential columns and columns outside the allow-list */
        {"SELECT pass FROM vicidial_users", "privilege"},
        {"SELECT pass_hash FROM vicidial_users", "privilege"},
        {"SELECT phone_pass FROM vicidial_users", "privilege"},
        {"SELECT ASTmgrSECRET FROM servers", "privilege"},
        {"SELECT conf_secret FROM servers", "privilege"},
        {"SELECT webphone_systemkey_override FROM vicidial_user_groups", "privilege"},
        {"SELECT dispo_call_url FROM vicidial_campaigns", "privilege"},
        {"SELECT security_phrase FROM vicidial_list", "privilege"},
        {"SELECT phone_number FROM vicidial_list", "privilege"},
        {"SELECT phone_number FROM vicidial_log", "privilege"},
        {"SELECT * FROM vicidial_users", "privilege"},
        {"SELECT x FROM (SELECT pass AS x FROM vicidial_users) d", "privilege"},
        {"SELECT user FROM vicidial_log UNION SELECT pass FROM vicidial_users", "privilege"},
        {"SELECT GROUP_CONCAT(pass) FROM vicidial_users", "privilege"},
        {"SELECT user FROM vicidial_users WHERE pass LIKE 'a%'", "privilege"},
        {"SELECT * FROM mysql.user", "privilege"},
        {"SELECT sys.version_major()", "privilege"},
        {"SELECT ID, INFO FROM information_schema.PROCESSLIST", "allow_list"},
        {"SELECT seq FROM seq_1_to_1000000000000", "privilege"},
        {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r, vicidial_users) "
         "SELECT COUNT(*) FROM r",
         "timeout"}, /* 3 rows per level, 1000 levels: small estimates, cut in time */
        /* a plan past the estimate cap (1000 x 500 x 1000 rows) */
        {"SELECT COUNT(*) FROM vicidial_log a, vicidial_closer_log b, vicidial_log c WHERE "
         "a.user <> c.user",
         "explain"},
        {"SELECT a.user, b.status, c.call_date FROM vicidial_log a, vicidial_closer_log b, "
         "vicidial_log c",
         "explain"},
    };
    /* the runaway queries have 2 s; the rest, refused before they run, 60 s: on a loaded
     * machine (a sanitizer suite at nice 19 beside the tests) a step before the query, EXPLAIN
     * or the grants' check, can take seconds, which a short limit would show as "timeout"
     * instead of the layer that refuses the query; the query after them 60 s too */
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 2};
    store_ro_limits calm = {.max_rows = 50, .timeout_sec = CALM_SEC};
    int n = 0;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        bool runaway = !strcmp(k[i].layer, "timeout");
        store_ro_result out;
        double t0 = mono();
        int rc = store_ro_query(r, k[i].sql, runaway ? &lim : &calm, &out);
        double took = mono() - t0;
        print_message("%-22s %5.2f s  %s: %s\n", rc ? out.layer : "(answered)", took, k[i].sql,
                      rc ? out.error : out.json);
        /* SLEEP(100) and the rest cut near 2 s: the layer says it, this bound only tells a hang;
         * a query past the estimate cap that ran anyway would end "timeout" after its 60 s,
         * not "explain" */
        if (runaway)
            assert_true(took < tu_hang_sec(60));
        if (!*k[i].layer) { /* LOAD_FILE without FILE: NULL, no content */
            assert_int_equal(rc, 0);
            assert_string_equal(out.json, "{\"columns\":[\"f\"],\"rows\":[[null]],"
                                          "\"truncated\":false}");
            store_ro_result_free(&out);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_null(out.json);
        assert_string_equal(out.layer, k[i].layer);
        assert_true(out.error[0] != 0);
        n++;
    }
    print_message("# %d hostile queries refused\n", n);
    assert_true(n >= 25);
    /* the connection still answers */
    store_ro_result out;
    assert_int_equal(store_ro_query(r, "SELECT COUNT(*) FROM vicidial_users", &calm, &out), 0);
    store_ro_result_free(&out);
    store_ro_close(r);
    /* 0 writes: every table's checksum, the data directory's files, the file-privilege folder;
     * no file under the names the queries gave */
    char *sums1 = checksums(), *files1 = listing(g_datadir), *priv1 = listing(g_priv);
    assert_string_equal(sums0, sums1);
    assert_string_equal(files0, files1);
    assert_string_equal(priv0, priv1);
    assert_int_equal(tmp_files(), 0);
    free(sums0);
    free(sums1);
    free(files0);
    free(files1);
    free(priv0);
    free(priv1);
}

/* A column granted after the connection opened: the result's columns are checked too. */
static void test_widened_grant(void **state)
{
    (void)state;
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    admin_exec("GRANT SELECT (phone_number) ON asterisk.vicidial_log TO 'callqa_ask'@'127.0.0.1'");
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = CALM_SEC};
    store_ro_result out;
    int rc = store_ro_query(r, "SELECT phone_number FROM vicidial_log", &lim, &out);
    print_message("%s: %s\n", out.layer, out.error);
    admin_exec("REVOKE SELECT (phone_number) ON asterisk.vicidial_log FROM "
               "'callqa_ask'@'127.0.0.1'");
    assert_int_equal(rc, -1);
    assert_string_equal(out.layer, "allow_list");
    assert_non_null(strstr(out.error, "vicidial_log.phone_number"));
    admin_exec("GRANT SELECT (pass) ON asterisk.vicidial_users TO 'callqa_ask'@'127.0.0.1'");
    rc = store_ro_query(r, "SELECT user, pass AS p FROM vicidial_users", &lim, &out);
    print_message("%s: %s\n", out.layer, out.error);
    admin_exec("REVOKE SELECT (pass) ON asterisk.vicidial_users FROM 'callqa_ask'@'127.0.0.1'");
    assert_int_equal(rc, -1);
    assert_string_equal(out.layer, "allow_list");
    assert_non_null(strstr(out.error, "vicidial_users.pass is not allowed: a credential column"));
    assert_int_equal(store_ro_query(r, "SELECT user FROM vicidial_log LIMIT 1", &lim, &out), 0);
    store_ro_result_free(&out);
    store_ro_close(r);
}

static void expect_refused(const char *user, const char *const *allow, const char *const *never,
                           const char *want)
{
    char msg[4096];
    store_ro *r = open_as(user, allow, never, false, msg, sizeof(msg));
    print_message("%s: %s\n", user, r ? "(opened)" : msg);
    assert_null(r);
    if (!strstr(msg, want))
        fail_msg("\"%s\" not in: %s", want, msg);
}

static void test_open_refused(void **state)
{
    (void)state;
    expect_refused("callqa_ins", k_allow, NULL, "INSERT ON `asterisk`.`vicidial_log`");
    expect_refused("callqa_file", k_allow, NULL, "FILE ON *.*");
    expect_refused("callqa_tbl", k_allow, NULL, "asterisk.vicidial_users.pass (a credential");
    expect_refused("callqa_tbl", k_allow, NULL,
                   "GRANT SELECT (`user`, `full_name`, `user_group`) ON "
                   "`asterisk`.`vicidial_users` TO 'callqa_tbl'@'127.0.0.1';");
    expect_refused("callqa_role", k_allow, NULL, "the role `cq_writer`");
    /* the allow-list itself */
    const char *with_pass[] = {"vicidial_log.user", "vicidial_users.pass", NULL};
    expect_refused("callqa_ask", with_pass, NULL, "names vicidial_users.pass, a credential column");
    const char *with_star[] = {"vicidial_users.*", NULL};
    expect_refused("callqa_ask", with_star, NULL, "the credential column vicidial_users.pass");
    const char *mine[] = {"vicidial_log.user_group", NULL};
    expect_refused("callqa_ask", k_allow, mine, "names vicidial_log.user_group, a credential");
    /* a column the account can read that the list leaves out */
    const char *fewer[] = {"vicidial_log.user", NULL};
    expect_refused("callqa_ask", fewer, NULL, "asterisk.recording_log.recording_id");
    /* what PUBLIC holds every account holds */
    admin_exec("GRANT INSERT ON asterisk.recording_log TO PUBLIC");
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    admin_exec("REVOKE INSERT ON asterisk.recording_log FROM PUBLIC");
    print_message("PUBLIC: %s\n", r ? "(opened)" : msg);
    assert_null(r);
    assert_non_null(strstr(msg, "INSERT ON `asterisk`.`recording_log` (granted TO PUBLIC"));
    /* a wrong password */
    store_ro_my_config c = {.host = "127.0.0.1",
                            .port = g_port,
                            .user = "callqa_ask",
                            .password = "wrong",
                            .db = "asterisk",
                            .allow = k_allow};
    assert_null(store_ro_open_mariadb(&c, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "Access denied"));
    assert_null(strstr(msg, "wrong"));
}

/* A primary: refused unless allowed; allowed, each query has 2 s. */
static void test_primary(void **state)
{
    (void)state;
    admin_exec("SET GLOBAL read_only = OFF");
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    print_message("primary: %s\n", r ? "(opened)" : msg);
    assert_null(r);
    assert_non_null(strstr(msg, "not a replica (read_only is OFF); point ask_vicidial at a "
                                "replica or set ask_vicidial_primary = true"));
    r = open_as("callqa_ask", k_allow, NULL, true, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    store_ro_limits lim = {0}; /* the defaults: 10 s, capped at 2 */
    store_ro_result out;
    /* the statements the server stopped: at max_statement_time, or by the watchdog's KILL */
    long stopped0 = status_of("MAX_STATEMENT_TIME_EXCEEDED") + status_of("COM_KILL");
    double t0 = mono();
    int rc = store_ro_query(r, "SELECT SLEEP(60)", &lim, &out);
    double took = mono() - t0;
    long stopped1 = status_of("MAX_STATEMENT_TIME_EXCEEDED") + status_of("COM_KILL");
    print_message("primary: SLEEP(60) %s after %.2f s, %ld stopped by the server: %s\n", out.layer,
                  took, stopped1 - stopped0, out.error);
    /* writes: without the replica's read_only, the grants refuse them on their own */
    static const char *const k_writes[] = {
        "INSERT INTO vicidial_log (uniqueid, lead_id) VALUES ('x', 1)",
        "UPDATE vicidial_log SET status = 'X'",
        "DELETE FROM vicidial_log",
        "REPLACE INTO vicidial_log (uniqueid, lead_id) VALUES ('x', 1)",
    };
    char *sums0 = checksums();
    for (size_t i = 0; i < sizeof(k_writes) / sizeof(k_writes[0]); i++) {
        store_ro_result w;
        int wrc;
        /* a query on a primary has 2 s for all its steps, a limit no test can widen: on a loaded
         * machine they may take longer before the grants answer, and that timeout says nothing
         * of the grants, so the write is asked again */
        for (int again = 0;; again++) {
            wrc = store_ro_query(r, k_writes[i], &lim, &w);
            print_message("primary: %-10s %s: %s\n", w.layer, k_writes[i], w.error);
            if (wrc == 0 || strcmp(w.layer, "timeout") || again == 4)
                break;
        }
        assert_int_equal(wrc, -1);
        assert_string_equal(w.layer, "privilege");
    }
    char *sums1 = checksums();
    admin_exec("SET GLOBAL read_only = ON");
    assert_string_equal(sums0, sums1);
    free(sums0);
    free(sums1);
    assert_int_equal(rc, -1);
    assert_string_equal(out.layer, "timeout");
    /* cut at its 2 s, not before, and stopped by the server, not at SLEEP's end after 60 */
    assert_true(took > 1.9);
    assert_true(stopped1 > stopped0);
    store_ro_close(r);
}

/* a process's state letter (/proc/PID/stat): 'T' stopped */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *e = strrchr(buf, ')'); /* after the command's name */
    return e && e[1] == ' ' ? e[2] : '?';
}

/* A server that stops answering (SIGSTOP): the watchdog's KILL cannot reach it either, so it shuts
 * the socket; the next query, the server back, connects and checks again. */
static void test_watchdog(void **state)
{
    (void)state;
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    store_ro_limits lim = {.timeout_sec = 1};
    store_ro_limits calm = {.timeout_sec = CALM_SEC};
    store_ro_result out;
    assert_int_equal(kill(g_pid, SIGSTOP), 0);
    double t_stop = mono();
    while (proc_state(g_pid) != 'T' && mono() - t_stop < tu_hang_sec(30))
        usleep(10000); /* the signal is delivered, every thread stopped */
    assert_int_equal(proc_state(g_pid), 'T');
    double t0 = mono();
    int rc = store_ro_query(r, "SELECT COUNT(*) FROM vicidial_log", &lim, &out);
    double took = mono() - t0;
    kill(g_pid, SIGCONT);
    print_message("stopped server: %s after %.2f s: %s\n", out.layer, took, out.error);
    assert_int_equal(rc, -1);
    assert_string_equal(out.layer, "timeout");
    assert_non_null(strstr(out.error, "watchdog"));
    /* the watchdog's cut at 1.8 s, not before (the server stopped until SIGCONT: nothing else
     * could end the wait); the upper bound only tells a hang */
    assert_true(took >= 1.5 && took < tu_hang_sec(60));
    /* the server just continued: a calm limit for its reconnection and the grants' check */
    assert_int_equal(store_ro_query(r, "SELECT COUNT(*) FROM vicidial_log", &calm, &out), 0);
    assert_string_equal(out.json, "{\"columns\":[\"COUNT(*)\"],\"rows\":[[1000]],"
                                  "\"truncated\":false}");
    store_ro_result_free(&out);
    store_ro_close(r);
}

/* The server's id of the connection that runs r's next query. */
static long ro_connection_id(store_ro *r)
{
    store_ro_limits calm = {.timeout_sec = CALM_SEC};
    store_ro_result out;
    int rc = store_ro_query(r, "SELECT CONNECTION_ID() AS id", &calm, &out);
    if (rc)
        fail_msg("CONNECTION_ID(): %s %s", out.layer, out.error);
    const char *v = strstr(out.json, "\"rows\":[[");
    assert_non_null(v);
    long id = strtol(v + strlen("\"rows\":[["), NULL, 10);
    store_ro_result_free(&out);
    assert_true(id > 0);
    return id;
}

/* Does the server still run a statement of connection id (root's PROCESSLIST)? */
static bool connection_active(long id)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %ld AND COMMAND <> "
             "'Sleep'",
             id);
    char *n = admin_text(sql);
    bool on = !strcmp(n, "1\n");
    free(n);
    return on;
}

/* One call the server does not interrupt (LOCATE, LIKE, REPLACE over long text: neither
 * max_statement_time nor KILL QUERY is seen inside it; each 4 to 7 s on a quiet 2-core
 * machine): the caller answered at the watchdog's cut, 0.8 s past the limit, not at the server's
 * end, which is an order of events: the caller back while the server still ran the call. Then
 * this connection refuses queries while the server still runs it, and answers once it has
 * ended. */
static void test_long_functions(void **state)
{
    (void)state;
    char msg[4096];
    store_ro *r = open_as("callqa_ask", k_allow, NULL, false, msg, sizeof(msg));
    if (!r)
        fail_msg("%s", msg);
    static const char *const k[] = {
        "SELECT LOCATE(CONCAT(REPEAT('a', 80000), 'b'), REPEAT('a', 160000))",
        "SELECT REPEAT('a', 100000) LIKE CONCAT('%', REPEAT('a', 10000), 'b')",
        "SELECT LENGTH(REPLACE(REPEAT('a', 200000), CONCAT(REPEAT('a', 100000), 'b'), 'x'))",
    };
    /* the calls the short limit; the queries after them, which must answer, a calm one */
    store_ro_limits lim = {.max_rows = 50, .timeout_sec = 1};
    store_ro_limits calm = {.max_rows = 50, .timeout_sec = CALM_SEC};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        /* the order seen: the server still at the call when the caller was back, asked at once
         * (running) or by the connection's next query (still). A loaded machine may hold this
         * process back until the server has ended the call: then the order is not seen, and the
         * call is made again (a caller that waited for the server's end never shows it) */
        bool seen = false;
        for (int attempt = 0; attempt < 3 && !seen; attempt++) {
            long id = ro_connection_id(r);
            store_ro_result out;
            double t0 = mono();
            int rc = store_ro_query(r, k[i], &lim, &out);
            double took = mono() - t0;
            bool running = connection_active(id);
            print_message("%-8s %5.2f s  %s: %s\n", out.layer, took, k[i], out.error);
            assert_int_equal(rc, -1);
            assert_string_equal(out.layer, "timeout");
            double t1 = mono(), busy = 0;
            bool still = false;
            for (;;) {
                rc = store_ro_query(r, "SELECT COUNT(*) FROM vicidial_log", &calm, &out);
                if (rc == 0)
                    break;
                assert_string_equal(out.layer, "timeout");
                assert_non_null(strstr(out.error, "still runs"));
                busy = mono() - t1;
                still = true;
                assert_true(busy < tu_hang_sec(240)); /* the server ends it in the end */
                usleep(200000);
            }
            store_ro_result_free(&out);
            print_message("         %s at the caller's return; the server ran it %.1f s longer, "
                          "refused meanwhile\n",
                          running ? "running" : "not running", busy);
            seen = running || still;
        }
        assert_true(seen);
    }
    store_ro_close(r);
}

int main(void)
{
    const char *port = env("CQ_MY_PORT"), *pid = env("CQ_MY_PID");
    g_sock = env("CQ_MY_SOCK");
    g_datadir = env("CQ_MY_DATADIR");
    g_priv = env("CQ_MY_PRIV");
    g_password = env("CQ_MY_PASSWORD");
    if (!port || !pid || !g_sock || !g_datadir || !g_priv || !g_password) {
        printf("test_store_ro_my runs under tests/store/test_store_ro_my.sh (CQ_MY_* unset)\n");
        return 1;
    }
    g_port = (unsigned)strtoul(port, NULL, 10);
    g_pid = (pid_t)strtol(pid, NULL, 10);
    snprintf(g_outfile, sizeof(g_outfile), "cq-ro-my-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads),          cmocka_unit_test(test_refused),
        cmocka_unit_test(test_widened_grant),  cmocka_unit_test(test_open_refused),
        cmocka_unit_test(test_primary),        cmocka_unit_test(test_watchdog),
        cmocka_unit_test(test_long_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
