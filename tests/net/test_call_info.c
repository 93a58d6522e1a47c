/*
 * test_call_info.c - ViciDial's call_info and carrier log (src/net/call_info.c): each paste
 * form read into its fields (the old service's blocks, pairs on one line, a mysql table, a
 * tab-separated paste with an empty first cell, `\G` rows), values that do not parse kept as
 * text and flagged (never 0), a key given twice and unknown keys kept as extras, the bounds
 * (rows, extras, value length, text size), refusals (empty, garbage, NUL bytes), the findings
 * and their codes, the RFC 3261 phrases and the JSON. The fixtures of tests/net/text/ go
 * through `callqa sip --call-info` in tests/net/test_net.sh.
 */
#include "testutil.h"

#include <jansson.h>

#include "../../src/net/net.h"

static net_call_info g_ci; /* 40 KiB: not on the stack */

static int parse(const char *text)
{
    char err[512];
    net_call_info_free(&g_ci);
    int rc = net_call_info_parse(text, strlen(text), &g_ci, err, sizeof(err));
    if (rc)
        print_message("refused: %s\n", err);
    return rc;
}

static bool has(const char *code)
{
    for (size_t i = 0; i < g_ci.n_findings; i++)
        if (!strcmp(g_ci.findings[i].code, code))
            return true;
    return false;
}

static void test_blocks(void **state)
{
    (void)state;
    assert_int_equal(parse("\n\ncarrier log:\n"
                           "dialstatus: BUSY\n"
                           "hangup_cause: 17\n"
                           "sip_hangup_cause: 486\n"
                           "sip_hangup_reason = Busy Here\n"
                           "dial_time=7\n"
                           "call_date: 2024-05-02 10:30:00\n"
                           "\n\n"
                           "QUEUE DATA:\n"
                           "queue_seconds: 12.75\n"
                           "queue_position: 2\n"
                           "DID ROUTING:\n"
                           "did_pattern: 8005551234\n"
                           "did_description: Main line\n"),
                     0);
    assert_int_equal(g_ci.n_rows, 1);
    const net_carrier_row *r = &g_ci.rows[0];
    assert_int_equal(r->dial, NET_DIAL_BUSY);
    assert_true(r->hangup_cause.valid && r->hangup_cause.num == 17);
    assert_string_equal(r->hangup_text, "user busy");
    assert_true(r->sip_hangup_cause.valid && r->sip_hangup_cause.num == 486);
    assert_string_equal(r->sip_phrase, "Busy Here");
    assert_string_equal(r->sip_hangup_reason.text, "Busy Here");
    assert_true(r->dial_time.valid && r->dial_time.num == 7);
    assert_true(r->call_date.valid);
    assert_int_equal(r->dialstatus.line, 4);
    assert_true(g_ci.queue_seconds.valid && fabs(g_ci.queue_seconds.num - 12.75) < 1e-9);
    assert_true(g_ci.queue_position.valid && g_ci.queue_position.num == 2);
    assert_string_equal(g_ci.did_pattern.text, "8005551234");
    assert_string_equal(g_ci.did_description.text, "Main line");
    assert_int_equal(g_ci.n_invalid, 0);
    assert_true(has("carrier_busy") && has("carrier_sip_failure") && has("carrier_q850"));
    assert_false(has("queue_long_wait")); /* 12.75 s */
    assert_false(has("call_info_unparsed"));
}

static void test_pairs_on_one_line(void **state)
{
    (void)state;
    assert_int_equal(parse("CARRIER LOG: dialstatus=CONGESTION hangup_cause=34, "
                           "sip_hangup_reason=Service Unavailable sip_hangup_cause = 503\n"
                           "queue_seconds=61 queue: INBOUND_SALES\n"),
                     0);
    const net_carrier_row *r = &g_ci.rows[0];
    assert_int_equal(r->dial, NET_DIAL_CONGESTION);
    assert_string_equal(r->sip_hangup_reason.text, "Service Unavailable");
    assert_true(r->sip_hangup_cause.num == 503 && r->hangup_cause.num == 34);
    /* a ':' pair after '=' pairs is part of the last value */
    assert_true(has("carrier_congestion") && has("queue_long_wait"));
}

static void test_invalid_kept(void **state)
{
    (void)state;
    assert_int_equal(parse("dialstatus: MAYBE\nhangup_cause: lots\nsip_hangup_cause: 99\n"
                           "dial_time: -3\nserver_ip: 10.0.0.300\nuniqueid: abc.1\n"
                           "hangup_cause: 18\n"),
                     0);
    const net_carrier_row *r = &g_ci.rows[0];
    assert_true(r->dialstatus.present && !r->dialstatus.valid);
    assert_int_equal(r->dial, NET_DIAL_NONE);
    assert_string_equal(r->hangup_cause.text, "lots");
    assert_false(r->hangup_cause.valid);
    assert_false(r->sip_hangup_cause.valid); /* not 0, not 100-699 */
    assert_false(r->dial_time.valid);
    assert_false(r->server_ip.valid);
    assert_false(r->uniqueid.valid);
    assert_int_equal(g_ci.n_invalid, 6);
    assert_true(has("call_info_unparsed"));
    assert_false(has("carrier_q850")); /* the first hangup_cause stands; the second is extra */
    assert_int_equal(g_ci.n_extra, 1);
    assert_string_equal(g_ci.extra[0].key, "hangup_cause");
    assert_string_equal(g_ci.extra[0].value, "18");
}

static void test_tabs_and_null(void **state)
{
    (void)state;
    assert_int_equal(parse("channel\tdialstatus\thangup_cause\tsip_hangup_cause\tcaller_code\n"
                           "\tANSWER\t16\t200\tNULL\n"
                           "SIP/x-1\tNOANSWER\t19\t0\tV1\n"),
                     0);
    assert_int_equal(g_ci.n_rows, 2);
    /* an empty cell is an empty string (present, ""), NULL is absent; the cells stay aligned */
    assert_true(g_ci.rows[0].channel.present && !g_ci.rows[0].channel.text[0]);
    assert_int_equal(g_ci.rows[0].dial, NET_DIAL_ANSWER);
    assert_false(g_ci.rows[0].caller_code.present); /* NULL */
    assert_string_equal(g_ci.rows[1].channel.text, "SIP/x-1");
    assert_true(has("carrier_no_answer") && has("carrier_q850"));
    assert_false(has("carrier_sip_failure")); /* 200 and 0 */
}

static void test_mysql_table_and_vertical(void **state)
{
    (void)state;
    assert_int_equal(parse("+----------+------------+\n"
                           "| uniqueid | dialstatus | queue_seconds |\n"
                           "+----------+------------+\n"
                           "| 1714.1   | CHANUNAVAIL |  NULL |\n"
                           "| 1714.2   | DONTCALL   | 3 |\n"
                           "+----------+------------+\n"
                           "2 rows in set (0.00 sec)\n"),
                     0);
    assert_int_equal(g_ci.n_rows, 2);
    assert_true(g_ci.rows[0].uniqueid.valid);
    assert_true(has("carrier_unavailable") && has("carrier_privacy_refused"));
    assert_true(g_ci.queue_seconds.valid && g_ci.queue_seconds.num == 3);
    assert_int_equal(parse("*************************** 1. row ***************************\n"
                           "    dialstatus: TORTURE\n"
                           "*************************** 2. row ***************************\n"
                           "    dialstatus: INVALIDARGS\n"),
                     0);
    assert_int_equal(g_ci.n_rows, 2);
    assert_true(has("carrier_privacy_refused") && has("carrier_dial_error"));
}

static void test_bounds(void **state)
{
    (void)state;
    char *t = malloc(64 << 10);
    assert_non_null(t);
    size_t k = 0;
    for (int i = 0; i < NET_CI_MAX_ROWS + 5; i++)
        k += (size_t)sprintf(t + k, "CARRIER LOG:\ndialstatus: CANCEL\n");
    for (int i = 0; i < NET_CI_MAX_EXTRA + 7; i++)
        k += (size_t)sprintf(t + k, "note_%d: something\n", i);
    k += (size_t)sprintf(t + k, "channel: ");
    memset(t + k, 'x', 500);
    k += 500;
    t[k] = 0;
    assert_int_equal(parse(t), 0);
    assert_int_equal(g_ci.n_rows, NET_CI_MAX_ROWS);
    assert_int_equal(g_ci.rows_dropped, 5);
    assert_int_equal(g_ci.n_extra, NET_CI_MAX_EXTRA);
    assert_int_equal(g_ci.extra_dropped, 7);
    assert_int_equal(g_ci.n_findings, NET_CI_MAX_ROWS); /* carrier_cancel each; the channel was
                                                             in a dropped row */
    free(t);
    /* a value cut at its size is flagged */
    char v[400];
    snprintf(v, sizeof(v), "dial_time: 1%0300d\n", 0);
    assert_int_equal(parse(v), 0);
    assert_true(g_ci.rows[0].dial_time.cut && !g_ci.rows[0].dial_time.valid);
    assert_int_equal(strlen(g_ci.rows[0].dial_time.text), NET_CI_VALUE_MAX - 1);
}

static void test_refused(void **state)
{
    (void)state;
    char err[256];
    net_call_info_free(&g_ci); /* the parser overwrites its storage: the last test's first */
    assert_int_equal(net_call_info_parse("", 0, &g_ci, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(net_call_info_parse(" \n\t\n", 4, &g_ci, err, sizeof(err)), -1);
    assert_int_equal(net_call_info_parse("a\0b", 3, &g_ci, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
    const char *junk = "hello\nthis is not call info\nfoo: bar\n";
    assert_int_equal(net_call_info_parse(junk, strlen(junk), &g_ci, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no call_info field"));
    assert_int_equal(g_ci.n_findings, 0);
    char *big = malloc(NET_CI_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, 'a', NET_CI_MAX_BYTES + 1);
    assert_int_equal(net_call_info_parse(big, NET_CI_MAX_BYTES + 1, &g_ci, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "over 256 KiB"));
    free(big);
    net_call_info_free(&g_ci);
    net_call_info_free(NULL);
}

static void test_tables(void **state)
{
    (void)state;
    assert_string_equal(net_sip_status_phrase(486), "Busy Here");
    assert_string_equal(net_sip_status_phrase(503), "Service Unavailable");
    assert_string_equal(net_sip_status_phrase(604), "Does Not Exist Anywhere");
    assert_null(net_sip_status_phrase(499));
    for (int d = NET_DIAL_ANSWER; d <= NET_DIAL_INVALIDARGS; d++) {
        assert_non_null(net_dialstatus_name((net_dialstatus)d));
        assert_non_null(net_dialstatus_meaning((net_dialstatus)d));
    }
    assert_null(net_dialstatus_name(NET_DIAL_NONE));
}

static void test_json(void **state)
{
    (void)state;
    assert_int_equal(parse("CARRIER LOG:\ndialstatus: busy\nhangup_cause: x17\n"
                           "sip_hangup_cause: 486\nchannel: SIP/\xff\xfe-1\nQUEUE DATA:\n"
                           "queue_seconds: 75\nuniqueid: 1.2\n"),
                     0);
    json_t *o = net_call_info_json(&g_ci);
    assert_non_null(o);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    print_message("%s\n", s);
    json_t *row = json_array_get(json_object_get(o, "carrier_log"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "dialstatus")), "BUSY");
    assert_string_equal(json_string_value(json_object_get(row, "hangup_cause")), "x17");
    assert_int_equal(json_integer_value(json_object_get(row, "sip_hangup_cause")), 486);
    assert_string_equal(json_string_value(json_object_get(row, "sip_hangup_phrase")), "Busy Here");
    assert_non_null(strstr(json_string_value(json_object_get(row, "channel")), "\xef\xbf\xbd"));
    json_t *q = json_object_get(o, "queue");
    assert_true(json_real_value(json_object_get(q, "queue_seconds")) == 75);
    /* a carrier key inside QUEUE DATA belongs to another record: kept, not the row's */
    json_t *ex = json_array_get(json_object_get(o, "extra"), 0);
    assert_string_equal(json_string_value(json_object_get(ex, "block")), "queue_data");
    assert_string_equal(json_string_value(json_object_get(ex, "key")), "uniqueid");
    assert_int_equal(json_array_size(json_object_get(o, "invalid")), 1);
    assert_true(json_array_size(json_object_get(o, "findings")) == g_ci.n_findings);
    free(s);
    json_decref(o);
    net_call_info_free(&g_ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_pairs_on_one_line),
        cmocka_unit_test(test_invalid_kept),
        cmocka_unit_test(test_tabs_and_null),
        cmocka_unit_test(test_mysql_table_and_vertical),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
