/*
 * test_scoring.c - the scorecard (src/scoring/): a card loaded and checked, and the old
 * scorer's formula on hand-made cases: totals, partial scores, coverage, flags and their
 * reasons, a critical failure.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/scoring/scoring.h"

/* the old 8-category card (compat-api.md), weights and all */
static const char k_card[] =
    "{\"name\": \"old\", \"flag_threshold\": 60, \"categories\": ["
    "{\"key\": \"greeting\", \"weight\": 0.10, \"method\": \"rules\"},"
    "{\"key\": \"customer_id\", \"weight\": 0.10, \"method\": \"rules\"},"
    "{\"key\": \"needs\", \"weight\": 0.15, \"method\": \"llm\"},"
    "{\"key\": \"product\", \"weight\": 0.15, \"method\": \"llm\"},"
    "{\"key\": \"communication\", \"weight\": 0.15, \"method\": \"acoustic\"},"
    "{\"key\": \"resolution\", \"weight\": 0.20, \"method\": \"llm\"},"
    "{\"key\": \"closing\", \"weight\": 0.10, \"method\": \"rules\"},"
    "{\"key\": \"compliance\", \"weight\": 0.05, \"method\": \"rules\", \"critical\": true,"
    " \"spec\": {\"prohibited\": [\"guarantee\"]}}]}";

static sc_card load(void)
{
    sc_card c;
    char err[200];
    if (sc_card_load(k_card, strlen(k_card), &c, err, sizeof(err)) != 0)
        fail_msg("the card: %s", err);
    return c;
}

static void all(sc_result *r, int n, double s)
{
    for (int i = 0; i < n; i++)
        r[i] = (sc_result){.scored = true, .score = s};
}

static void test_load(void **state)
{
    (void)state;
    sc_card c = load();
    assert_int_equal(c.n, 8);
    assert_string_equal(c.cats[2].key, "needs");
    assert_int_equal(c.cats[2].method, SC_LLM);
    assert_true(c.cats[7].critical);
    assert_string_equal(c.cats[7].spec, "{\"prohibited\":[\"guarantee\"]}");
    assert_int_equal(strlen(c.hash), 64);
    assert_true(fabs(c.flag_threshold - 60) < 1e-12);
    sc_card_free(&c);
    /* refused, each with its reason */
    static const char *const bad[][2] = {
        {"[1]", "not a JSON object"},
        {"{\"categories\": [], \"colour\": 1}", "unknown key 'colour'"},
        {"{\"categories\": []}", "categories must be"},
        {"{\"categories\": [{\"key\": \"a\", \"weight\": 0.5, \"method\": \"rules\"}]}",
         "the weights sum to 0.5, not 1"},
        {"{\"categories\": [{\"key\": \"a\", \"weight\": 1, \"method\": \"magic\"}]}",
         "method must be acoustic, rules or llm"},
        {"{\"categories\": [{\"key\": \"A b\", \"weight\": 1, \"method\": \"rules\"}]}",
         "key must be"},
        {"{\"categories\": [{\"key\": \"a\", \"weight\": 1, \"method\": \"rules\", \"tone\": 1}]}",
         "category a: unknown key 'tone'"},
        {"{\"categories\": [{\"key\": \"a\", \"weight\": 0.5, \"method\": \"rules\"}, {\"key\": "
         "\"a\", \"weight\": 0.5, \"method\": \"rules\"}]}",
         "the key is used twice"},
        {"{\"categories\": [{\"key\": \"a\", \"weight\": 1, \"method\": \"rules\", \"scale\": [5, "
         "1]}]}",
         "lowest < highest"},
        {"{\"flag_threshold\": 150, \"categories\": [{\"key\": \"a\", \"weight\": 1, \"method\": "
         "\"rules\"}]}",
         "flag_threshold must be"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[200] = "";
        assert_int_equal(sc_card_load(bad[i][0], strlen(bad[i][0]), &c, err, sizeof(err)), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("'%s': '%s' does not say '%s'", bad[i][0], err, bad[i][1]);
        assert_int_equal(c.n, 0);
    }
}

static void test_formula(void **state)
{
    (void)state;
    sc_card c = load();
    sc_result r[8];
    sc_totals t;
    /* all 5s: 100; all 3s: 60 (not below 60); all 1s: 20, every category critical */
    all(r, 8, 5);
    sc_totals_of(&c, r, &t);
    assert_true(t.has_total && fabs(t.total - 100) < 1e-9 && !t.flagged && fabs(t.coverage - 1) < 1e-9);
    assert_string_equal(t.flag_reason, "");
    all(r, 8, 3);
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.total - 60) < 1e-9 && !t.flagged);
    /* by hand: greeting 4, customer_id 2, needs 3, product 3, communication 2, resolution 3,
     * closing 4, compliance 5: 20 x (0.4 + 0.2 + 0.45 + 0.45 + 0.3 + 0.6 + 0.4 + 0.25) = 61 */
    const double s[8] = {4, 2, 3, 3, 2, 3, 4, 5};
    for (int i = 0; i < 8; i++)
        r[i] = (sc_result){.scored = true, .score = s[i]};
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.total - 61) < 1e-9);
    assert_false(t.flagged);
    r[5].score = 2; /* resolution 2: 61 - 4 = 57, flagged, two... three categories at 2 */
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.total - 57) < 1e-9);
    assert_true(t.flagged);
    assert_string_equal(t.flag_reason, "Score 57 below 60; critical: customer_id, communication, "
                                       "resolution");
    r[0].score = 4.5; /* 58: a half point prints as one decimal */
    r[6].score = 3.75; /* closing 3.75: -0.05 x 20 = -0.5 -> 57.5 */
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.total - 57.5) < 1e-9);
    assert_string_equal(t.flag_reason, "Score 57.5 below 60; critical: customer_id, "
                                       "communication, resolution");
    sc_card_free(&c);
}

static void test_partial(void **state)
{
    (void)state;
    sc_card c = load();
    sc_result r[8];
    sc_totals t;
    /* no LLM: needs, product, resolution not scored (0.5 of the weight) */
    all(r, 8, 4);
    r[2].scored = r[3].scored = r[5].scored = false;
    sc_totals_of(&c, r, &t);
    assert_false(t.has_total);
    assert_true(t.has_partial && fabs(t.partial - 80) < 1e-9);
    assert_true(fabs(t.coverage - 0.5) < 1e-9);
    assert_false(t.flagged);
    /* the partial score decides the flag when there is no total */
    r[0].score = r[1].score = r[4].score = r[6].score = r[7].score = 2;
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.partial - 40) < 1e-9);
    assert_true(t.flagged);
    assert_string_equal(t.flag_reason, "Partial score 40 below 60 (50 % of the card scored); "
                                       "critical: greeting, customer_id, communication, closing, "
                                       "compliance");
    /* nothing scored: no total, no partial, coverage 0, not flagged */
    for (int i = 0; i < 8; i++)
        r[i].scored = false;
    sc_totals_of(&c, r, &t);
    assert_false(t.has_total || t.has_partial || t.flagged);
    assert_true(t.coverage == 0);
    /* another scale: 0-10 read as 1-5 (10 -> 5, 5 -> 3, 0 -> 1) */
    const char *ten = "{\"categories\": [{\"key\": \"a\", \"weight\": 0.5, \"method\": \"rules\", "
                      "\"scale\": [0, 10]}, {\"key\": \"b\", \"weight\": 0.5, \"method\": "
                      "\"acoustic\", \"scale\": [0, 10]}]}";
    sc_card c2;
    char err[100];
    assert_int_equal(sc_card_load(ten, strlen(ten), &c2, err, sizeof(err)), 0);
    sc_result r2[2] = {{.scored = true, .score = 10}, {.scored = true, .score = 5}};
    sc_totals_of(&c2, r2, &t);
    assert_true(fabs(t.total - 80) < 1e-9); /* 20 x (0.5 x 5 + 0.5 x 3) */
    sc_card_free(&c2);
    sc_card_free(&c);
}

static void test_critical(void **state)
{
    (void)state;
    sc_card c = load();
    sc_result r[8];
    sc_totals t;
    all(r, 8, 5);
    r[7].critical_failed = true; /* compliance (critical): a prohibited word */
    sc_totals_of(&c, r, &t);
    assert_true(t.has_total);
    assert_true(t.total == 0);
    assert_true(fabs(t.partial - 100) < 1e-9); /* what the categories said, kept */
    assert_true(t.flagged);
    assert_string_equal(t.flag_reason, "critical item failed: compliance");
    /* a failure in a category that is not critical does not zero the call */
    r[7].critical_failed = false;
    r[0].critical_failed = true;
    sc_totals_of(&c, r, &t);
    assert_true(fabs(t.total - 100) < 1e-9 && !t.flagged);
    sc_card_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_formula),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_critical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
