/*
 * test_sentiment.c - sentiment (src/scoring/sc_vader.c, sc_sentiment.c) on a hand-made lexicon:
 * the lexicon's parser and its refusals, VADER's rules on figures worked out by hand, the trend
 * per speaker and quarter (midpoints, duration weights, nulls), first/last/shift, the
 * customer's drop and when it is null, the JSON shape, null with a reason without a lexicon,
 * and the drop as a scorecard figure. The port against the reference implementation is
 * tests/scoring/vader/test_vader.mjs.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/scoring/scoring.h"

static const char k_lex[] = "good\t1.9\t0.9\t[2, 2]\n"
                            "bad\t-2.5\t0.6\t[-2, -3]\n"
                            "okay\t0.9\t0.5\t[1]\n"
                            "okay\t1.0\t0.5\t[1]\n" /* given twice: the later line wins */
                            "\n"
                            "can't stand\t-2.0\t0.5\t[-2]\n";

static sc_vader *lex(void)
{
    char err[200];
    sc_vader *v = sc_vader_parse(k_lex, strlen(k_lex), err, sizeof(err));
    if (!v)
        fail_msg("lexicon: %s", err);
    return v;
}

static double compound(const sc_vader *v, const char *text)
{
    sc_vader_scores s;
    assert_int_equal(sc_vader_score(v, text, strlen(text), &s), 0);
    return s.compound;
}

static double norm15(double x)
{
    return x / sqrt(x * x + 15);
}

static void test_parse(void **state)
{
    (void)state;
    sc_vader *v = lex();
    assert_int_equal(sc_vader_size(v), 4);
    assert_string_equal(sc_vader_version(v), "unknown"); /* not the pinned file */
    assert_int_equal(strlen(sc_vader_sha256(v)), 64);
    assert_true(fabs(compound(v, "okay") - norm15(1.0)) < 1e-12);
    sc_vader_free(v);
    static const struct {
        const char *text;
        const char *says;
    } bad[] = {{"good 1.9\n", "line 1"},        {"good\t1.9\n\tx\t1\n", "line 2"},
               {"good\tx\n", "not a number"},   {"good\t9\n", "-4..4"},
               {"good\tnan\n", "not a number"}, {"good\t\n", "missing"},
               {"\n\n", "no entries"},          {"", "no entries"}};
    char err[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_null(sc_vader_parse(bad[i].text, strlen(bad[i].text), err, sizeof(err)));
        if (!strstr(err, bad[i].says))
            fail_msg("\"%s\": %s", bad[i].text, err);
    }
    assert_null(sc_vader_parse("go\0od\t1\n", 8, err, sizeof(err)));
    assert_non_null(strstr(err, "NUL"));
}

static void test_rules(void **state)
{
    (void)state;
    sc_vader *v = lex();
    assert_true(compound(v, "") == 0 && compound(v, "a b c") == 0);
    assert_true(fabs(compound(v, "The food was good.") - norm15(1.9)) < 1e-12);
    /* negation, boosters, the two together */
    assert_true(fabs(compound(v, "not good") - norm15(1.9 * -0.74)) < 1e-12);
    assert_true(fabs(compound(v, "very good") - norm15(1.9 + 0.293)) < 1e-12);
    assert_true(fabs(compound(v, "good very") - norm15(1.9)) < 1e-12);
    /* ALL CAPS among other words: + 0.733 */
    assert_true(fabs(compound(v, "so GOOD") - norm15(1.9 + 0.733 + 0.293)) < 1e-12);
    assert_true(fabs(compound(v, "GOOD") - norm15(1.9)) < 1e-12); /* every word in caps */
    /* '!' adds 0.292 each (up to 4), '?' 0.18 each from two on */
    assert_true(fabs(compound(v, "good!!") - norm15(1.9 + 2 * 0.292)) < 1e-12);
    assert_true(fabs(compound(v, "good !!!!!!") - norm15(1.9 + 4 * 0.292)) < 1e-12);
    assert_true(compound(v, "good!!!!!!") == 0); /* "!!!!!!" is not stripped: not a word */
    assert_true(fabs(compound(v, "bad??") - norm15(-2.5 - 2 * 0.18)) < 1e-12);
    /* but: half before, one and a half after */
    assert_true(fabs(compound(v, "good but bad") - norm15(0.5 * 1.9 + 1.5 * -2.5)) < 1e-12);
    /* "never so": x 1.5 */
    assert_true(fabs(compound(v, "never so good") - norm15((1.9 + 0.293) * 1.5)) < 1e-12);
    /* "least": negates, but not "at least" */
    assert_true(fabs(compound(v, "the least good") - norm15(1.9 * -0.74)) < 1e-12);
    assert_true(fabs(compound(v, "at least good") - norm15(1.9)) < 1e-12);
    /* "kind of": neither word counts, and dampens */
    assert_true(fabs(compound(v, "kind of good") - norm15(1.9)) < 1e-12);
    /* punctuation around a word is stripped when the bare word is in the text */
    assert_true(compound(v, "(good),") == 0); /* "(" and ")," are not stripped */
    assert_true(compound(v, "\"good\" day") == 0);
    assert_true(fabs(compound(v, "good, day") - norm15(1.9)) < 1e-12);
    /* Unicode: the words split on JavaScript's whitespace; the Kelvin sign lowers to 'k' */
    assert_true(fabs(compound(v, "good\xC2\xA0"
                                 "bad") -
                     norm15(1.9 - 2.5)) < 1e-12);
    assert_true(compound(v, "\xE2\x84\xAAind of good") == compound(v, "kind of good"));
    sc_vader_free(v);
}

static sc_utt utt(const char *speaker, double a, double b, const char *text)
{
    sc_utt u;
    memset(&u, 0, sizeof(u));
    snprintf(u.speaker, sizeof(u.speaker), "%s", speaker);
    u.start = a, u.end = b;
    u.text = (char *)text, u.norm = (char *)text;
    return u;
}

static void test_trend(void **state)
{
    (void)state;
    sc_vader *v = lex();
    double g = norm15(1.9), b = norm15(-2.5), bb = norm15(-5.0);
    /* a call of 100 s: quarters [0,25) [25,50) [50,75) [75,100] by the utterance's midpoint */
    sc_utt u[] = {
        utt("agent", 1, 3, "hello"),        /* q1: neutral, 0 */
        utt("customer", 2, 6, "good"),      /* q1 */
        utt("customer", 20, 24, "okay"),    /* q1, same weight */
        utt("customer", 20, 31, "bad"),     /* midpoint 25.5: q2, the only one there */
        utt("customer", 80, 82, "good"),    /* q4, weight 2 */
        utt("customer", 82, 98, "bad bad"), /* q4, weight 16 */
        utt("customer", 90, 91, ""),        /* nothing said: not counted */
    };
    sc_text t = {.u = u, .n = 7, .duration = 100, .separated = true};
    sc_sentiment s;
    assert_int_equal(sc_sentiment_vader(v, &t, &s), 0);
    assert_true(s.known);
    assert_string_equal(s.name, "vader");
    assert_int_equal(s.n, 2);
    const sc_sent_speaker *c = &s.sp[0], *a = &s.sp[1];
    assert_string_equal(c->speaker, "customer");
    assert_string_equal(a->speaker, "agent");
    assert_string_equal(c->source, "vader");
    double q1 = round(5 * ((4 * g + 4 * norm15(1.0)) / 8) * 1000) / 1000;
    double q4 = round(5 * ((2 * g + 16 * bb) / 18) * 1000) / 1000;
    assert_true(c->has_q[0] && fabs(c->q[0] - q1) < 1e-9);
    assert_true(c->has_q[1] && fabs(c->q[1] - round(5 * b * 1000) / 1000) < 1e-9);
    assert_false(c->has_q[2]); /* said nothing in the third quarter: null, not 0 */
    assert_true(c->has_q[3] && fabs(c->q[3] - q4) < 1e-9);
    assert_true(c->has_first && c->first == c->q[0] && c->last == c->q[3]);
    assert_true(fabs(c->shift - (q4 - q1)) < 1e-9);
    /* the agent: one quarter, at 0 */
    assert_true(a->has_q[0] && a->q[0] == 0 && !a->has_q[1] && !a->has_q[3]);
    assert_true(a->has_first && a->shift == 0);
    /* from q1 (>= 0) to q4 (<= -2): a drop */
    assert_true(q1 >= 0 && q4 <= -2);
    assert_int_equal(s.customer_drop, 1);

    json_t *j = sc_sentiment_json(&s);
    char *txt = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(txt, "\"scale\":[-5,5]"));
    assert_non_null(strstr(txt, "\"source\":{\"name\":\"vader\",\"version\":\"unknown\","
                                "\"licence\":\"MIT lexicon; Apache-2.0 port\"}"));
    assert_non_null(strstr(txt, "\"speaker\":\"customer\",\"source\":\"vader\",\"quarters\":["));
    assert_non_null(strstr(txt, ",null,"));
    assert_non_null(strstr(txt, "\"quotes\":[]"));
    assert_non_null(strstr(txt, "\"customer_drop\":true"));
    free(txt);
    json_decref(j);
    sc_sentiment_free(&s);

    /* the customer in one quarter only: no start and end, the drop is null */
    sc_utt one[] = {utt("customer", 80, 82, "bad"), utt("agent", 1, 2, "good")};
    sc_text t1 = {.u = one, .n = 2, .duration = 100, .separated = true};
    assert_int_equal(sc_sentiment_vader(v, &t1, &s), 0);
    assert_true(s.known && s.customer_drop == -1);
    j = sc_sentiment_json(&s);
    txt = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(txt, "\"customer_drop\":null"));
    free(txt);
    json_decref(j);
    sc_sentiment_free(&s);
    /* starting below 0: no drop */
    sc_utt neg[] = {utt("customer", 1, 2, "bad"), utt("customer", 90, 92, "bad")};
    sc_text t2 = {.u = neg, .n = 2, .duration = 100, .separated = true};
    assert_int_equal(sc_sentiment_vader(v, &t2, &s), 0);
    assert_int_equal(s.customer_drop, 0);
    sc_sentiment_free(&s);
    /* one mixed leg: no customer, the drop is null */
    sc_utt mix[] = {utt("mixed", 1, 2, "good"), utt("mixed", 90, 92, "bad")};
    sc_text t3 = {.u = mix, .n = 2, .duration = 100, .separated = false};
    assert_int_equal(sc_sentiment_vader(v, &t3, &s), 0);
    assert_true(s.known && s.n == 1 && s.customer_drop == -1);
    assert_string_equal(s.sp[0].speaker, "mixed");
    sc_sentiment_free(&s);
    /* the duration unknown: taken from the last utterance's end */
    sc_text t4 = {.u = neg, .n = 2, .duration = 0, .separated = true};
    assert_int_equal(sc_sentiment_vader(v, &t4, &s), 0);
    assert_true(s.known && s.sp[0].has_q[0] && s.sp[0].has_q[3]);
    sc_sentiment_free(&s);
    sc_vader_free(v);
}

static void test_null(void **state)
{
    (void)state;
    sc_utt u[] = {utt("customer", 1, 2, "good")};
    sc_text t = {.u = u, .n = 1, .duration = 10, .separated = true};
    sc_sentiment s;
    assert_int_equal(sc_sentiment_vader(NULL, &t, &s), 0);
    assert_false(s.known);
    assert_non_null(strstr(s.why, "not installed"));
    json_t *j = sc_sentiment_json(&s);
    assert_true(json_is_null(j));
    json_decref(j);
    sc_sentiment_free(&s);
    sc_vader *v = lex();
    assert_int_equal(sc_sentiment_vader(v, NULL, &s), 0);
    assert_false(s.known);
    assert_string_equal(s.why, "no transcript");
    sc_vader_free(v);
}

/* the drop and the shift as a scorecard's figures */
static void test_card_figure(void **state)
{
    (void)state;
    static const char card[] =
        "{\"categories\": [{\"key\": \"communication\", \"weight\": 1, \"method\": \"acoustic\", "
        "\"spec\": {\"deductions\": [{\"metric\": \"customer_sentiment_drop\", \"above\": 0.5, "
        "\"points\": 2}, {\"metric\": \"customer_sentiment_shift\", \"below\": -1, \"points\": "
        "1}]}}]}";
    sc_card c;
    char err[300];
    if (sc_card_load(card, strlen(card), &c, err, sizeof(err)) != 0)
        fail_msg("card: %s", err);
    sc_vader *v = lex();
    sc_utt u[] = {utt("customer", 1, 2, "good"), utt("customer", 90, 92, "bad bad")};
    sc_text t = {.u = u, .n = 2, .duration = 100, .separated = true};
    sc_call call;
    assert_int_equal(sc_score(&c, NULL, &t, NULL, v, NULL, &call, err, sizeof(err)), 0);
    assert_int_equal(call.sentiment.customer_drop, 1);
    assert_true(call.cats[0].r.scored);
    assert_true(call.cats[0].r.score == 2); /* 5 - 2 - 1 */
    assert_int_equal(call.cats[0].n_metrics, 2);
    assert_true(call.cats[0].metrics[0].known && call.cats[0].metrics[0].value == 1);
    sc_finish(&c, &call);
    char *js = sc_call_to_json(&c, &call);
    assert_non_null(strstr(js, "\"sentiment\":{\"scale\":[-5,5]"));
    assert_non_null(strstr(js, "\"sentiment_status\":\"vader unknown\""));
    free(js);
    sc_call_free(&call);
    /* without a lexicon: the figures are null, never 0, and the category is not scored */
    assert_int_equal(sc_score(&c, NULL, &t, NULL, NULL, NULL, &call, err, sizeof(err)), 0);
    assert_false(call.cats[0].r.scored);
    assert_false(call.cats[0].metrics[0].known);
    sc_finish(&c, &call);
    js = sc_call_to_json(&c, &call);
    assert_non_null(strstr(js, "\"sentiment\":null"));
    assert_non_null(strstr(js, "\"sentiment_status\":\"the VADER lexicon is not installed"));
    free(js);
    sc_call_free(&call);
    sc_vader_free(v);
    sc_card_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_rules),
                                       cmocka_unit_test(test_trend), cmocka_unit_test(test_null),
                                       cmocka_unit_test(test_card_figure)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
