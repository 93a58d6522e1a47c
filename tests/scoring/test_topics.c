/*
 * test_topics.c - call topics (src/scoring/sc_topics.c): the topics file checked when loaded
 * (each refusal with its reason), the shipped bank file, and the classifier on hand-made
 * calls: the customer's words before the agent's, the confidence as documented, the deciding
 * phrases verbatim from what was said, nothing matched.
 */
#define _GNU_SOURCE
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
#include "../../src/transcript/transcript.h"

static const char k_two[] =
    "{\"name\": \"t\", \"topics\": ["
    "{\"class\": \"accounts\", \"subclass\": \"check balance\","
    " \"phrases\": [{\"phrase\": \"balance\", \"weight\": 1.5}, \"how much money\"]},"
    "{\"class\": \"accounts\", \"subclass\": \"transfer money\","
    " \"phrases\": [{\"phrase\": \"transfer\", \"weight\": 1.5}, \"move money\"]},"
    "{\"class\": \"payments\", \"subclass\": \"pay bill\", \"weight\": 2,"
    " \"phrases\": [\"pay my bill\", \"Twenty-five dollars\"]}]}";

static sc_topics *load(const char *s)
{
    char err[300];
    sc_topics *t = sc_topics_load(s, strlen(s), err, sizeof(err));
    if (!t)
        fail_msg("load: %s", err);
    return t;
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"", "not JSON"},
        {"[1]", "not a JSON object"},
        {"{\"topics\": [], \"x\": 1}", "unknown key 'x'"},
        {"{\"topics\": []}", "topics must be an array of 1 to"},
        {"{\"name\": 3, \"topics\": [{}]}", "name must be a string"},
        {"{\"topics\": [{\"subclass\": \"b\", \"phrases\": [\"x\"]}]}", "topics[0]: class must be"},
        {"{\"topics\": [{\"class\": \"a\", \"phrases\": [\"x\"]}]}", "topics[0]: subclass must be"},
        {"{\"topics\": [{\"class\": \"\", \"subclass\": \"b\", \"phrases\": [\"x\"]}]}",
         "class must be"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"x\"], \"y\": 1}]}",
         "topic a/b: unknown key 'y'"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": []}]}",
         "topic a/b: phrases must be an array of 1 to 64"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"\"]}]}",
         "phrases[0]: empty once normalised"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"?! ...\"]}]}",
         "phrases[0]: empty once normalised"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [3]}]}",
         "phrases[0]: a phrase is a string"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [{\"phrase\": \"x\","
         " \"w\": 1}]}]}",
         "phrases[0]: unknown key 'w'"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"Pay Bill\","
         " \"pay, bill!\"]}]}",
         "topic a/b: \"pay bill\" is given twice"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"x\"]},"
         "{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"y\"]}]}",
         "topic a/b is given twice"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"card\"]},"
         "{\"class\": \"a\", \"subclass\": \"c\", \"phrases\": [\"Card\"]}]}",
         "the phrase \"card\" is in both a/b and a/c"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"weight\": 0, \"phrases\": "
         "[\"x\"]}]}",
         "topic a/b: weight must be a number above 0"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [{\"phrase\": \"x\","
         " \"weight\": -1}]}]}",
         "weight must be a number above 0"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"weight\": 20, \"phrases\":"
         " [{\"phrase\": \"x\", \"weight\": 20}]}]}",
         "the phrase's weight times the topic's is above 100"},
        {"{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"x\"]}],"
         " \"topics\": []}",
         "not JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[300] = "";
        sc_topics *t = sc_topics_load(bad[i][0], strlen(bad[i][0]), err, sizeof(err));
        if (t || !strstr(err, bad[i][1]))
            fail_msg("case %zu: %s -> %s (wanted \"%s\")", i, t ? "loaded" : "refused", err,
                     bad[i][1]);
    }
    /* too long: a phrase over 200 bytes, a class over 63, more than 64 phrases */
    char big[2048];
    char longp[260];
    memset(longp, 'a', 201);
    longp[201] = 0;
    snprintf(big, sizeof(big),
             "{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [\"%s\"]}]}",
             longp);
    char err[300] = "";
    assert_null(sc_topics_load(big, strlen(big), err, sizeof(err)));
    assert_non_null(strstr(err, "longer than 200 bytes"));
    longp[64] = 0;
    snprintf(big, sizeof(big),
             "{\"topics\": [{\"class\": \"%s\", \"subclass\": \"b\", \"phrases\": [\"x\"]}]}",
             longp);
    assert_null(sc_topics_load(big, strlen(big), err, sizeof(err)));
    assert_non_null(strstr(err, "class must be a string of 1-63 bytes"));
    size_t l = (size_t)snprintf(
        big, sizeof(big), "{\"topics\": [{\"class\": \"a\", \"subclass\": \"b\", \"phrases\": [");
    for (int i = 0; i < 65; i++)
        l += (size_t)snprintf(big + l, sizeof(big) - l, "%s\"w%d\"", i ? "," : "", i);
    snprintf(big + l, sizeof(big) - l, "]}]}");
    assert_null(sc_topics_load(big, strlen(big), err, sizeof(err)));
    assert_non_null(strstr(err, "1 to 64 phrases"));
}

static void test_list_has(void **state)
{
    (void)state;
    sc_topics *t = load(k_two);
    char *js = sc_topics_list_json(t);
    assert_string_equal(js, "[{\"class\":\"accounts\",\"subclass\":\"check balance\"},"
                            "{\"class\":\"accounts\",\"subclass\":\"transfer money\"},"
                            "{\"class\":\"payments\",\"subclass\":\"pay bill\"}]");
    free(js);
    assert_true(sc_topics_has(t, "accounts", "transfer money"));
    assert_false(sc_topics_has(t, "payments", "transfer money"));
    assert_false(sc_topics_has(t, "accounts", NULL));
    sc_topics_free(t);
    sc_topics_free(NULL);
}

/* the shipped file loads and names the bank's eight tasks */
static void test_shipped(void **state)
{
    (void)state;
    FILE *f = fopen(CQ_SOURCE_DIR "/config/topics/bank.json", "rb");
    assert_non_null(f);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    sc_topics *t = load(buf);
    static const char *const tasks[] = {"check balance",        "pay bill",        "transfer money",
                                        "replace card",         "reset password",  "order checks",
                                        "schedule appointment", "get branch hours"};
    char *js = sc_topics_list_json(t);
    for (size_t i = 0; i < 8; i++) {
        char want[80];
        snprintf(want, sizeof(want), "\"subclass\":\"%s\"", tasks[i]);
        assert_non_null(strstr(js, want));
    }
    free(js);
    sc_topics_free(t);
}

/* a call of hand-made utterances: speaker, start, text */
static sc_text call(const char *const (*u)[2], size_t n)
{
    sc_text t;
    memset(&t, 0, sizeof(t));
    t.u = calloc(n, sizeof(*t.u));
    assert_non_null(t.u);
    for (size_t i = 0; i < n; i++) {
        snprintf(t.u[i].speaker, sizeof(t.u[i].speaker), "%s", u[i][0]);
        t.u[i].start = (double)i * 5, t.u[i].end = (double)i * 5 + 4;
        t.u[i].text = strdup(u[i][1]);
        t.u[i].norm = tx_normalize(u[i][1]);
    }
    t.n = n;
    t.separated = true;
    t.duration = (double)n * 5;
    return t;
}

/* every deciding phrase is a verbatim span of one utterance's text */
static void assert_verbatim(const sc_text *t, const sc_topic *g)
{
    for (int k = 0; k < g->n_phrases; k++) {
        bool found = false;
        for (size_t i = 0; i < t->n && !found; i++)
            found = strstr(t->u[i].text, g->phrases[k]) != NULL;
        if (!found)
            fail_msg("\"%s\" is not verbatim in the call", g->phrases[k]);
    }
}

static void test_classify(void **state)
{
    (void)state;
    sc_topics *tp = load(k_two);
    /* the customer's "balance" (1.5) outweighs the agent's "transfer" (1.5 x 0.5) */
    static const char *const a[][2] = {
        {SC_AGENT, "Thank you for calling. Do you want to transfer funds?"},
        {SC_CUSTOMER, "No, I just need my Balance, please."},
    };
    sc_text t = call(a, 2);
    sc_topic g;
    assert_int_equal(sc_topics_classify(tp, &t, &g), 0);
    assert_true(g.known);
    assert_string_equal(g.cls, "accounts");
    assert_string_equal(g.subclass, "check balance");
    assert_string_equal(g.engine, "rules");
    /* share 1.5 / (1.5 + 0.75), evidence 1.5 / 2: 0.5 */
    assert_true(fabs(g.confidence - 0.5) < 1e-9);
    assert_int_equal(g.n_phrases, 1);
    assert_string_equal(g.phrases[0], "Balance,");
    assert_verbatim(&t, &g);
    sc_topic_free(&g);
    sc_text_free(&t);

    /* the same words from the agent alone: the agent's words still decide */
    static const char *const b[][2] = {
        {SC_AGENT, "Your balance is eighty dollars."},
        {SC_CUSTOMER, "Okay, thanks."},
    };
    t = call(b, 2);
    assert_int_equal(sc_topics_classify(tp, &t, &g), 0);
    assert_true(g.known);
    assert_string_equal(g.subclass, "check balance");
    /* share 1, evidence 0.75 / 2 */
    assert_true(fabs(g.confidence - 0.375) < 1e-9);
    sc_topic_free(&g);
    sc_text_free(&t);

    /* numbers and case normalised on both sides; the topic's weight multiplies; each phrase
     * counts once however often it is said; the span is the shortest run of words */
    static const char *const c[][2] = {
        {SC_CUSTOMER, "Hi, I want to PAY MY BILL: it is 25 dollars."},
        {SC_CUSTOMER, "pay my bill please"},
        {SC_AGENT, "How much money is that?"},
    };
    t = call(c, 3);
    assert_int_equal(sc_topics_classify(tp, &t, &g), 0);
    assert_string_equal(g.subclass, "pay bill");
    /* pay bill: (1 + 1) x 2 = 4; check balance: 1 x 0.5 from the agent -> share 4 / 4.5 */
    assert_true(fabs(g.confidence - round(4 / 4.5 * 1000) / 1000) < 1e-9);
    assert_int_equal(g.n_phrases, 2);
    assert_string_equal(g.phrases[0], "PAY MY BILL:");
    assert_string_equal(g.phrases[1], "25 dollars.");
    assert_verbatim(&t, &g);
    sc_topic_free(&g);
    sc_text_free(&t);

    /* a tie: the topic first in the file, with confidence 0.5 x the evidence */
    static const char *const d[][2] = {
        {SC_CUSTOMER, "I want to move money or see how much money I have"},
    };
    t = call(d, 1);
    assert_int_equal(sc_topics_classify(tp, &t, &g), 0);
    assert_string_equal(g.subclass, "check balance");
    assert_true(fabs(g.confidence - 0.25) < 1e-9);
    sc_topic_free(&g);
    sc_text_free(&t);

    /* nothing matched, and an empty call: not known, no phrases */
    static const char *const e[][2] = {{SC_CUSTOMER, "hello there, balanced transfers"}};
    t = call(e, 1);
    assert_int_equal(sc_topics_classify(tp, &t, &g), 0);
    assert_false(g.known);
    assert_int_equal(g.n_phrases, 0);
    assert_true(g.confidence == 0);
    sc_topic_free(&g);
    sc_text_free(&t);
    sc_text empty;
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(sc_topics_classify(tp, &empty, &g), 0);
    assert_false(g.known);
    sc_topics_free(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_list_has),
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
