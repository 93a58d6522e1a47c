/*
 * test_ask_lex.c - the lexical pre-check of POST /ask (src/ask/ask_lex.c): ordinary SELECT and
 * WITH queries pass, with the forbidden words inside strings, comments and longer names; every
 * rule refuses what it is for and says which (the refusal's words are checked), as SQLite,
 * PostgreSQL and MariaDB each read the text: stacked statements hidden behind comments, quotes
 * and backslashes, MariaDB's executable comments, writes, locks, files, sleeps and settings,
 * text that is not one statement, unterminated strings and comments, NUL, control characters
 * and characters outside ASCII in code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/ask/ask.h"

typedef struct lex_case {
    const char *sql;
    const char *why; /* NULL: accepted; else what the refusal must say (a part of it) */
} lex_case;

static const lex_case k_accepted[] = {
    {"SELECT 1", NULL},
    {"select * from calls", NULL},
    {"  \n\tSELECT 1", NULL},
    {"/* a note */ SELECT 1", NULL},
    {"-- the agents\nSELECT agent_user FROM calls", NULL},
    {"SELECT a.agent_user, count(*) AS n FROM calls a JOIN analyses b ON b.call_id = a.id "
     "LEFT JOIN jobs j ON j.call_id = a.id GROUP BY a.agent_user HAVING count(*) > 2 "
     "ORDER BY n DESC LIMIT 10 OFFSET 5",
     NULL},
    {"WITH x AS (SELECT id FROM calls) SELECT count(*) FROM x", NULL},
    {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r",
     NULL},
    {"(SELECT 1) UNION (SELECT 2)", NULL},
    {"((SELECT 1))", NULL},
    {"SELECT id FROM calls WHERE id IN (SELECT call_id FROM analyses WHERE mos < 3.5)", NULL},
    {"SELECT date_trunc('day', call_date) AS d, avg(mos) FROM calls GROUP BY 1 ORDER BY d", NULL},
    {"SELECT count(*) FILTER (WHERE mos > 1) FROM analyses", NULL},
    {"SELECT CASE WHEN x THEN 'UPDATE' ELSE 'INSERT' END FROM t", NULL},
    /* the words inside strings */
    {"SELECT 'DROP TABLE calls; DELETE FROM x' AS s", NULL},
    {"SELECT * FROM calls WHERE agent_user = 'O''Brien'", NULL},
    {"SELECT 'a'';DELETE FROM t;--'", NULL},             /* '' is a quote inside: one string */
    {"SELECT c FROM t WHERE c LIKE 'C:\\\\dir%'", NULL}, /* \\ ends the same either way */
    {"SELECT E'it''s', X'DEADBEEF', 0x41, 1e5, .5, 3.14, N'x', B'101'", NULL},
    {"SELECT 'été', 'нет' AS word", NULL},
    {"SELECT $tag$ a b $tag$ AS s", NULL},
    /* the words inside comments */
    {"SELECT 1 -- DELETE FROM calls", NULL},
    {"SELECT 1 /* UPDATE calls SET x = 1; DROP TABLE t */", NULL},
    {"SELECT 1 -- naïve", NULL},
    {"SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1", NULL},
    {"SELECT 1 # a MariaDB comment\n", NULL},
    {"SELECT 1--1", NULL}, /* a comment, or 1 - -1: one statement either way */
    /* a trailing semicolon */
    {"SELECT 1;", NULL},
    {"SELECT 1;  -- done\n", NULL},
    {"SELECT 1; /* done */ ", NULL},
    /* names that hold the words, and quoted names */
    {"SELECT offset, settings, updated, created, deleted_at, into_queue, do_not_call, "
     "lockout, setter, calls.begin_ts FROM t",
     NULL},
    {"SELECT foo_sleep(1), sleepy(2), my_set(3), sleep_sec FROM t", NULL},
    {"SELECT \"update\", \"delete\" FROM t", NULL},
    {"SELECT 1 AS \"SELECT\"", NULL},
    {"SELECT `agent_user` FROM `calls`", NULL},
    {"SELECT [agent user] FROM calls", NULL},
    {"SELECT substring(agent_user FROM 1 FOR 3) FROM calls", NULL},
    {"SELECT CONVERT(agent_name USING utf8mb4) FROM t", NULL},
    {"SELECT a FROM t WHERE b = ? AND c = $1 AND d = :name", NULL},
    {"SELECT current_date - INTERVAL '7 days'", NULL},
};

static const lex_case k_refused[] = {
    /* not one SELECT */
    {"", "an empty query"},
    {"   -- only a comment\n", "an empty query"},
    {"/* */", "an empty query"},
    {"DELETE FROM calls", "DELETE outside a string"},
    {"INSERT INTO t VALUES (1)", "INSERT outside a string"},
    {"UPDATE calls SET x = 1", "UPDATE outside a string"},
    {"EXPLAIN SELECT 1", "does not begin with SELECT or WITH"},
    {"SHOW TABLES", "does not begin with SELECT or WITH"},
    {"VALUES (1)", "does not begin with SELECT or WITH"},
    {"TABLE calls", "does not begin with SELECT or WITH"},
    {"; SELECT 1", "does not begin with SELECT or WITH"},
    {"(", "does not begin with SELECT or WITH"},
    {"PRAGMA table_info(calls)", "PRAGMA outside a string"},
    {"ATTACH DATABASE 'x' AS y", "ATTACH outside a string"},
    {"BEGIN; SELECT 1", "BEGIN outside a string"},
    {"CALL p()", "CALL outside a string"},
    {"DO pg_sleep(1)", "DO outside a string"},
    /* stacked statements */
    {"SELECT 1; DELETE FROM t", "more than one statement"},
    {"SELECT 1; SELECT 2", "more than one statement"},
    {"SELECT 1;;", "more than one statement"},
    {"SELECT 1; COMMIT", "more than one statement"},
    {"SELECT 1; -- x\n SELECT 2", "more than one statement"},
    {"SELECT 1 -- x\n; SELECT 2", "more than one statement"},
    {"SELECT 1 /* x */; SELECT 2", "more than one statement"},
    {"SELECT 1 -- x\r; SELECT 2", "more than one statement"}, /* PostgreSQL ends it at CR */
    {"SELECT 1 #; SELECT 2", "more than one statement (as SQLite and PostgreSQL read it)"},
    {"SELECT 1 --; SELECT 2", "more than one statement (as MariaDB reads it)"},
    {"SELECT $$ ; SELECT 2 $$", "more than one statement (as SQLite and MariaDB read it)"},
    {"SELECT 'a\\\\';SELECT 2", "more than one statement"}, /* 'a\\' ends there either way */
    /* a backslash before a quote: the string ends in two places */
    {"SELECT 'a\\';DELETE FROM t", "a string whose end depends on backslash escapes"},
    {"SELECT 'it\\'s'", "a string whose end depends on backslash escapes"},
    {"SELECT a FROM t WHERE b LIKE 'x\\_%' ESCAPE '\\'",
     "a string whose end depends on backslash escapes"},
    {"SELECT \"a\\\"\"", "a quoted name whose end depends on backslash escapes"},
    /* MariaDB's executable comments are code */
    {"SELECT 1 /*! DELETE FROM t */", "DELETE outside a string (as MariaDB reads it)"},
    {"SELECT 1 /*!50000 INTO OUTFILE '/tmp/x' */", "INTO outside a string (as MariaDB reads it)"},
    {"SELECT 1 /*M!100000 ; SELECT 2 */", "more than one statement (as MariaDB reads it)"},
    {"SELECT 1 /*m! SLEEP(5) */", "the function SLEEP (as MariaDB reads it)"},
    {"SELECT 1 /*! SELECT 2", "an unterminated comment"},
    {"SELECT 1 /*! /* x */ */", "a comment inside an executable comment"},
    {"SELECT 1 /* /* */ DELETE */", "DELETE outside a string (as SQLite and MariaDB read it)"},
    /* writes, files and locks inside a SELECT */
    {"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE outside a string"},
    {"SELECT * INTO newtab FROM t", "INTO outside a string"},
    {"SELECT 1into newtab", "INTO outside a string"},
    {"SELECT 1 INTO OUTFILE '/tmp/x'", "INTO outside a string"},
    {"SELECT 1 INTO DUMPFILE '/tmp/x'", "INTO outside a string"},
    {"SELECT * FROM t FOR UPDATE", "UPDATE outside a string"},
    {"SELECT * FROM t FOR SHARE", "a locking clause (FOR SHARE)"},
    {"SELECT * FROM t for key share", "a locking clause (FOR KEY)"},
    {"SELECT * FROM t FOR NO KEY UPDATE", "a locking clause (FOR NO)"},
    {"SELECT * FROM t LOCK IN SHARE MODE", "LOCK outside a string"},
    {"SELECT CONVERT(x USING latin1), 'a' COLLATE x, CAST(y AS CHAR CHARACTER SET utf8)",
     "SET outside a string"},
    {"SELECT * FROM t PROCEDURE ANALYSE()", "PROCEDURE outside a string"},
    {"SELECT do, lock FROM t", "DO outside a string"}, /* columns named so: refused anyway */
    {"SELECT [update] FROM t", "UPDATE outside a string (as PostgreSQL and MariaDB read it)"},
    {"SELECT `update` FROM t", "UPDATE outside a string (as PostgreSQL reads it)"},
    /* functions */
    {"SELECT SLEEP(10)", "the function SLEEP"},
    {"SELECT pg_sleep(10)", "the function PG_SLEEP"},
    {"SELECT pg_sleep_for('5 minutes')", "the function PG_SLEEP_FOR"},
    {"SELECT BENCHMARK(1000000, md5('x'))", "the function BENCHMARK"},
    {"SELECT load_file('/etc/passwd')", "the function LOAD_FILE"},
    {"SELECT pg_read_file('/etc/passwd')", "the function PG_READ_FILE"},
    {"SELECT pg_read_binary_file('/etc/passwd')", "the function PG_READ_BINARY_FILE"},
    {"SELECT pg_ls_dir('.')", "the function PG_LS_DIR"},
    {"SELECT pg_stat_file('x')", "the function PG_STAT_FILE"},
    {"SELECT lo_import('/etc/passwd')", "the function LO_IMPORT"},
    {"SELECT lo_from_bytea(0, 'x')", "the function LO_FROM_BYTEA"},
    {"SELECT set_config('x', 'y', false)", "the function SET_CONFIG"},
    {"SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", "the function DBLINK"},
    {"SELECT dblink_exec('host=x', 'DELETE FROM t')", "the function DBLINK_EXEC"},
    {"SELECT load_extension('x.so')", "the function LOAD_EXTENSION"},
    {"SELECT fts3_tokenizer('simple')", "the function FTS3_TOKENIZER"},
    {"SELECT randomblob(1000000000)", "the function RANDOMBLOB"},
    {"SELECT zeroblob(1000000000)", "the function ZEROBLOB"},
    {"SELECT readfile('/etc/passwd')", "the function READFILE"},
    {"SELECT writefile('/tmp/x', 'y')", "the function WRITEFILE"},
    {"SELECT edit('x')", "the function EDIT"},
    {"SELECT get_lock('x', 10)", "the function GET_LOCK"},
    {"SELECT release_lock('x')", "the function RELEASE_LOCK"},
    {"SELECT pg_advisory_xact_lock(1)", "the function PG_ADVISORY_XACT_LOCK"},
    {"SELECT pg_terminate_backend(123)", "the function PG_TERMINATE_BACKEND"},
    {"SELECT pg_cancel_backend(123)", "the function PG_CANCEL_BACKEND"},
    {"SELECT sys_exec('id')", "the function SYS_EXEC"},
    {"SELECT sys_eval('id')", "the function SYS_EVAL"},
    {"SELECT query_to_xml('DELETE FROM t', true, true, '')", "the function QUERY_TO_XML"},
    {"SELECT \"pg_sleep\"(5)", "the function PG_SLEEP"}, /* a quoted name is still a function */
    {"SELECT pg_catalog.pg_sleep (5)", "the function PG_SLEEP"},
    {"SELECT sleep/* x */(5)", "the function SLEEP"},
    {"SELECT U&\"pg\\005fsleep\"(5)", "a function name with a backslash"},
    {"SELECT U&\"pg!005fsleep\" UESCAPE '!' (5)", "UESCAPE outside a string"},
    /* unterminated */
    {"SELECT 1 FROM t WHERE x = 'unterminated", "an unterminated string"},
    {"SELECT 1 /* unterminated", "an unterminated comment"},
    {"SELECT \"a FROM t", "an unterminated quoted name"},
    {"SELECT `a FROM t", "an unterminated quoted name"},
    {"SELECT [a FROM t", "an unterminated quoted name (as SQLite reads it)"},
    {"SELECT $x$ abc", "an unterminated dollar-quoted string (as PostgreSQL reads it)"},
    /* bytes */
    {"SELECT 1\x01", "a control character"},
    {"SELECT 1\x0b", "a control character"},
    {"SELECT 1 \xc2\x85", "a control character"},
    {"SELECT 1 \xc0\xaf", "invalid UTF-8"},
    {"SELECT 1 \xed\xa0\x80", "invalid UTF-8"},
    {"SELECT 1 \xe2\x80", "invalid UTF-8"},
    {"SELECT\xc2\xa0"
     "1",
     "a character outside ASCII outside a string"},
    {"SELECT 1 \xef\xbc\x9b DELETE", "a character outside ASCII outside a string"},
    {"SELECT \xd1\x81\xd0\xb5lect", "a character outside ASCII outside a string"},
};

/* The text on one line, for the log: control characters and bytes outside ASCII as \xNN. */
static const char *shown(const char *s)
{
    static char out[400];
    size_t k = 0;
    for (; *s && k + 5 < sizeof(out); s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            k += (size_t)snprintf(out + k, sizeof(out) - k, "\\x%02x", c);
        else
            out[k++] = (char)c;
    }
    out[k] = 0;
    return out;
}

static void test_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_accepted) / sizeof(k_accepted[0]); i++) {
        char why[200] = "untouched";
        int rc = ask_lex_check(k_accepted[i].sql, why, sizeof(why));
        if (rc != 0)
            print_message("refused: %s: %s\n", shown(k_accepted[i].sql), why);
        assert_int_equal(rc, 0);
        assert_string_equal(why, "");
    }
    print_message("%zu queries accepted\n", sizeof(k_accepted) / sizeof(k_accepted[0]));
}

static void test_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_refused) / sizeof(k_refused[0]); i++) {
        char why[200] = "";
        int rc = ask_lex_check(k_refused[i].sql, why, sizeof(why));
        print_message("%-60.60s -> %s\n", shown(k_refused[i].sql), rc ? why : "ACCEPTED");
        assert_int_equal(rc, -1);
        assert_non_null(strstr(why, k_refused[i].why));
    }
    print_message("%zu queries refused\n", sizeof(k_refused) / sizeof(k_refused[0]));
}

/* Every keyword and function of the rules (written out here again, not read from ask_lex.c),
 * in lower and upper case, refused with its name; inside a string, a comment or a longer name,
 * or quoted, each passes. */
static void test_every_word(void **state)
{
    (void)state;
    static const char *const words[] = {
        /* writes, DDL, settings, calls, locks, files, transactions, the server */
        "INSERT",   "UPDATE",    "DELETE",    "REPLACE",   "MERGE",      "UPSERT",  "CREATE",
        "DROP",     "ALTER",     "TRUNCATE",  "RENAME",    "GRANT",      "REVOKE",  "SET",
        "CALL",     "DO",        "HANDLER",   "LOCK",      "UNLOCK",     "LOAD",    "COPY",
        "ATTACH",   "DETACH",    "PRAGMA",    "VACUUM",    "ANALYZE",    "REINDEX", "INTO",
        "OUTFILE",  "DUMPFILE",  "EXECUTE",   "PREPARE",   "DEALLOCATE", "BEGIN",   "COMMIT",
        "ROLLBACK", "SAVEPOINT", "RELEASE",   "SHUTDOWN",  "KILL",       "FLUSH",   "RESET",
        "PURGE",    "INSTALL",   "UNINSTALL", "PROCEDURE", "ANALYSE",    "UESCAPE", NULL};
    static const char *const functions[] = {
        /* sleeps, files, large objects, settings, other servers, extensions, locks, backends */
        "SLEEP", "BENCHMARK", "LOAD_FILE", "PG_SLEEP", "PG_READ_FILE", "PG_READ_BINARY_FILE",
        "PG_LS_DIR", "PG_STAT_FILE", "LO_IMPORT", "LO_EXPORT", "LO_GET", "LO_PUT", "LO_CREAT",
        "LO_CREATE", "LO_UNLINK", "LO_FROM_BYTEA", "SET_CONFIG", "DBLINK", "DBLINK_CONNECT",
        "LOAD_EXTENSION", "FTS3_TOKENIZER", "RANDOMBLOB", "ZEROBLOB", "READFILE", "WRITEFILE",
        "EDIT", "GET_LOCK", "RELEASE_LOCK", "PG_ADVISORY_LOCK", "PG_ADVISORY_UNLOCK_ALL",
        "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "SYS_EXEC", "SYS_EVAL",
        /* beyond the first list */
        "RELEASE_ALL_LOCKS", "MASTER_POS_WAIT", "MASTER_GTID_WAIT", "PG_SLEEP_FOR",
        "PG_SLEEP_UNTIL", "PG_LS_WALDIR", "LOREAD", "LOWRITE", "PG_TRY_ADVISORY_LOCK",
        "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE", "PG_FILE_WRITE", "NEXTVAL", "SETVAL", "PG_NOTIFY",
        "QUERY_TO_XML", "QUERY_TO_XML_AND_XMLSCHEMA", NULL};
    char sql[200], why[200], want[80], lower[40];
    int n = 0;
    for (int f = 0; f < 2; f++)
        for (const char *const *w = f ? functions : words; *w; w++) {
            size_t k = 0;
            for (; (*w)[k] && k + 1 < sizeof(lower); k++)
                lower[k] = (char)((*w)[k] >= 'A' && (*w)[k] <= 'Z' ? (*w)[k] + 32 : (*w)[k]);
            lower[k] = 0;
            for (int c = 0; c < 2; c++) {
                snprintf(sql, sizeof(sql), f ? "SELECT a, %s(1) FROM t" : "SELECT a FROM t %s x",
                         c ? *w : lower);
                snprintf(want, sizeof(want), f ? "the function %s" : "%s outside a string", *w);
                assert_int_equal(ask_lex_check(sql, why, sizeof(why)), -1);
                if (strcmp(why, want))
                    print_message("%s: %s (wanted %s)\n", sql, why, want);
                assert_string_equal(why, want);
                n++;
            }
            snprintf(sql, sizeof(sql), "SELECT '%s', \"%s\", x_%s, %s_y FROM t -- %s\n/* %s */", *w,
                     lower, lower, lower, *w, *w);
            if (ask_lex_check(sql, why, sizeof(why)) != 0)
                print_message("%s: %s\n", sql, why);
            assert_int_equal(ask_lex_check(sql, why, sizeof(why)), 0);
            n++;
        }
    print_message("%d queries of single words checked\n", n);
}

/* NUL inside the text (ask_lex_check_len), NULL, a short or absent why. */
static void test_edges(void **state)
{
    (void)state;
    char why[200];
    static const char nul[] = "SELECT 1\0; DELETE FROM t";
    assert_int_equal(ask_lex_check_len(nul, sizeof(nul) - 1, why, sizeof(why)), -1);
    assert_string_equal(why, "a NUL byte");
    assert_int_equal(ask_lex_check_len(nul, 8, why, sizeof(why)), 0); /* "SELECT 1" */
    assert_int_equal(ask_lex_check(NULL, why, sizeof(why)), -1);
    assert_string_equal(why, "an empty query");
    char small[8];
    assert_int_equal(ask_lex_check("SELECT 1; DELETE FROM t", small, sizeof(small)), -1);
    assert_int_equal(strlen(small), sizeof(small) - 1); /* cut, NUL-terminated */
    assert_int_equal(ask_lex_check("DELETE FROM t", NULL, 0), -1);
    assert_int_equal(ask_lex_check("SELECT 1", NULL, 0), 0);
    /* a long query of ordinary SQL */
    static char big[70000];
    size_t n = (size_t)snprintf(big, sizeof(big), "SELECT 1");
    while (n + 40 < sizeof(big))
        n += (size_t)snprintf(big + n, sizeof(big) - n, " + length('x; DELETE') -- c\n");
    assert_int_equal(ask_lex_check(big, why, sizeof(why)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_every_word),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
