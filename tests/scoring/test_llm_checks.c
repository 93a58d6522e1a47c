/*
 * test_llm_checks.c - the checks of the LLM's summary (src/scoring/sc_summary.c) and sentiment
 * (src/scoring/sc_sentiment_llm.c) on a hand-made call, each refusal asserted with its reason:
 * the sentence rule, the quarters, a summary kept or refused whole (a quote not said or said at
 * another time, too few or too many sentences, an outcome outside the four, no reason, a reason
 * or an outcome no quote backs), sentiment figures kept or dropped one by one (out of range, a
 * quarter outside 1-4, a speaker not in the call, another speaker's words, the right words in
 * another quarter or at other times, a second figure for a quarter), and the trend's JSON (null
 * quarters, first, last, shift, customer_drop).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../src/scoring/sc_int.h"
#include "../../src/transcript/transcript.h"

/* a 40 s call: quarters of 10 s */
static const struct {
    const char *speaker;
    double start, end;
    const char *text;
} k_utts[] = {
    {SC_AGENT, 0.5, 3.0, "Good morning, thank you for calling Harper Valley bank."},       /* q1 */
    {SC_CUSTOMER, 3.5, 7.0, "Hi, I lost my debit card and I need a new one."},             /* q1 */
    {SC_AGENT, 12.0, 16.0, "I can order a replacement card for you today."},               /* q2 */
    {SC_CUSTOMER, 16.5, 18.0, "Thank you, that is great."},                                /* q2 */
    {SC_CUSTOMER, 25.0, 29.0, "Wait, the fee is twenty dollars? That is ridiculous."},     /* q3 */
    {SC_CUSTOMER, 31.0, 35.0, "I am closing my account, this is the worst service ever."}, /* q4 */
    {SC_AGENT, 36.0, 39.5, "I am sorry, I will transfer you to a supervisor."},            /* q4 */
};

static sc_text make_text(bool mono)
{
    size_t n = sizeof(k_utts) / sizeof(k_utts[0]);
    sc_text t = {.n = n, .duration = 40, .separated = !mono};
    t.u = calloc(n, sizeof(sc_utt));
    for (size_t i = 0; i < n; i++) {
        snprintf(t.u[i].speaker, sizeof(t.u[i].speaker), "%s", mono ? SC_MIXED : k_utts[i].speaker);
        t.u[i].start = k_utts[i].start, t.u[i].end = k_utts[i].end;
        t.u[i].text = strdup(k_utts[i].text);
        t.u[i].norm = tx_normalize(k_utts[i].text);
    }
    return t;
}

static void sentences(void **state)
{
    (void)state;
    assert_int_equal(sc_sentences(NULL), 0);
    assert_int_equal(sc_sentences(""), 0);
    assert_int_equal(sc_sentences("  "), 0);
    assert_int_equal(sc_sentences("No end"), 1);
    assert_int_equal(sc_sentences("Done!"), 1);
    assert_int_equal(sc_sentences("One. Two."), 2);
    assert_int_equal(sc_sentences("One. Two"), 2); /* words after the last end: one more */
    assert_int_equal(sc_sentences("Is it? Yes! Fine..."), 3);
    assert_int_equal(sc_sentences("Mr. Smith called. He paid $3.50 today."), 2);
    assert_int_equal(sc_sentences("He called at 3 p.m. and e.g. asked for Dr. Lee. Done."), 2);
    assert_int_equal(sc_sentences("He said \"thanks.\" Then he left."), 2);
    assert_int_equal(sc_sentences("The fee (twenty dollars) was waived. Good."), 2);
    assert_int_equal(sc_sentences("The fee was waived (it was $20.) Good."), 2);
    assert_int_equal(sc_sentences("Card No. 5 was lost. A new one was ordered."), 2);
    assert_int_equal(sc_sentences("a. b. c. d. e."), 5);
    assert_int_equal(sc_sentences("version1.2.3 shipped"), 1);
    assert_int_equal(sc_sentences("?!. ..."), 0); /* no words */
}

static void quarters(void **state)
{
    (void)state;
    assert_int_equal(sc_quarter_of(0, 2, 8), 1);
    assert_int_equal(sc_quarter_of(1, 3, 8), 2); /* the midpoint on a boundary: the later one */
    assert_int_equal(sc_quarter_of(5, 7, 8), 4);
    assert_int_equal(sc_quarter_of(7, 9, 8), 4); /* past the end: the last */
    assert_int_equal(sc_quarter_of(-3, -1, 8), 1);
    assert_int_equal(sc_quarter_of(0, 2, 0), 0); /* no duration: no quarter */
}

/* the summary of the JSON text (a summary object) checked against t */
static sc_summary summary_of(const sc_text *t, const char *json)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON: %s: %s", je.text, json);
    sc_summary s;
    assert_int_equal(sc_summary_from_answer(t, j, "m-1", &s), 0);
    json_decref(j);
    return s;
}

#define Q_REASON                                                                                   \
    "{\"speaker\": \"customer\", \"start\": 3.5, \"end\": 7, \"quote\": \"I lost my debit "        \
    "card\", \"backs\": \"reason\"}"
#define Q_OUTCOME                                                                                  \
    "{\"speaker\": \"agent\", \"start\": 36, \"end\": 39.5, \"quote\": \"I will transfer you "     \
    "to a supervisor\", \"backs\": \"outcome\"}"
#define SUMMARY(text, outcome, quotes)                                                             \
    "{\"text\": \"" text "\", \"reason\": \"a lost debit card\", \"outcome\": \"" outcome          \
    "\", \"quotes\": [" quotes "]}"

static void refused(const sc_text *t, const char *json, const char *why)
{
    sc_summary s = summary_of(t, json);
    assert_int_equal(s.source, SC_SUMMARY_NONE);
    assert_null(s.text);
    assert_null(s.reason);
    assert_null(s.quotes);
    assert_int_equal(s.n_quotes, 0);
    assert_string_equal(s.outcome, "");
    assert_string_equal(s.refused, why);
    json_t *j = sc_summary_json(&s);
    assert_true(json_is_null(json_object_get(j, "text")));
    assert_true(json_is_null(json_object_get(j, "source")));
    assert_string_equal(json_string_value(json_object_get(j, "refused")), why);
    json_decref(j);
    sc_summary_free(&s);
}

static void summary(void **state)
{
    (void)state;
    sc_text t = make_text(false);
    /* kept: the quotes carry the line's speaker and times */
    sc_summary s = summary_of(&t, SUMMARY("A customer lost a card. The fee upset them and they "
                                          "were transferred.",
                                          "transferred", Q_REASON "," Q_OUTCOME));
    assert_int_equal(s.source, SC_SUMMARY_LLM);
    assert_string_equal(s.outcome, "transferred");
    assert_string_equal(s.reason, "a lost debit card");
    assert_string_equal(s.model, "m-1");
    assert_int_equal(s.n_quotes, 2);
    assert_false(s.backs_outcome[0]);
    assert_true(s.backs_outcome[1]);
    assert_string_equal(s.quotes[1].speaker, "agent");
    assert_true(s.quotes[1].start == 36 && s.quotes[1].end == 39.5);
    assert_string_equal(s.refused, "");
    json_t *j = sc_summary_json(&s);
    assert_string_equal(json_string_value(json_object_get(j, "source")), "llm");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "m-1");
    assert_true(json_is_null(json_object_get(j, "refused")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "quotes"), 1), "backs")),
                        "outcome");
    json_decref(j);
    sc_summary_free(&s);
    /* each refusal */
    refused(&t, "\"a string\"", "the answer has no summary");
    refused(&t, SUMMARY("", "resolved", Q_REASON "," Q_OUTCOME), "the summary has no text");
    refused(&t, SUMMARY("They called about a card.", "resolved", Q_REASON "," Q_OUTCOME),
            "the summary has 1 sentence (2 to 4 asked)");
    refused(&t, SUMMARY("One. Two. Three. Four. Five.", "resolved", Q_REASON "," Q_OUTCOME),
            "the summary has 5 sentences (2 to 4 asked)");
    refused(&t, SUMMARY("One. Two.", "escalated", Q_REASON "," Q_OUTCOME),
            "the outcome 'escalated' is not one of resolved, follow_up, transferred, "
            "unresolved");
    refused(&t, SUMMARY("One. Two.", "Resolved", Q_REASON "," Q_OUTCOME),
            "the outcome 'Resolved' is not one of resolved, follow_up, transferred, "
            "unresolved");
    refused(&t,
            "{\"text\": \"One. Two.\", \"reason\": \" \", \"outcome\": \"resolved\", \"quotes\": "
            "[" Q_REASON "," Q_OUTCOME "]}",
            "the summary gives no reason for the call");
    refused(&t, SUMMARY("One. Two.", "transferred", Q_OUTCOME),
            "no quote of the transcript backs the summary's reason for the call");
    refused(&t, SUMMARY("One. Two.", "transferred", Q_REASON),
            "no quote of the transcript backs the summary's outcome");
    refused(&t, SUMMARY("One. Two.", "transferred", ""),
            "no quote of the transcript backs the summary's reason for the call");
    refused(&t,
            SUMMARY("One. Two.", "transferred",
                    Q_REASON ",{\"speaker\": \"agent\", \"start\": 36, \"end\": 39.5, \"quote\": "
                             "\"your card is on its way\", \"backs\": \"outcome\"}"),
            "the summary's quote \"your card is on its way\" (agent, 36.00-39.50 s) is not in "
            "the transcript");
    /* the right words, by the wrong speaker, or at a time more than 1 s off */
    refused(&t,
            SUMMARY("One. Two.", "transferred",
                    Q_OUTCOME ",{\"speaker\": \"agent\", \"start\": 3.5, \"end\": 7, \"quote\": "
                              "\"I lost my debit card\", \"backs\": \"reason\"}"),
            "the summary's quote \"I lost my debit card\" (agent, 3.50-7.00 s) is not in the "
            "transcript");
    refused(&t,
            SUMMARY("One. Two.", "transferred",
                    Q_OUTCOME ",{\"speaker\": \"customer\", \"start\": 20, \"end\": 22, "
                              "\"quote\": \"I lost my debit card\", \"backs\": \"reason\"}"),
            "the summary's quote \"I lost my debit card\" (customer, 20.00-22.00 s) is not in "
            "the transcript");
    refused(&t,
            SUMMARY("One. Two.", "transferred",
                    Q_REASON ",{\"speaker\": \"agent\", \"start\": 36, \"end\": 39.5, \"quote\": "
                             "\"transfer\"}"),
            "quote 2 of the summary is incomplete");
    /* no transcript: nothing can back it */
    sc_summary n = summary_of(NULL, SUMMARY("One. Two.", "resolved", Q_REASON "," Q_OUTCOME));
    assert_int_equal(n.source, SC_SUMMARY_NONE);
    assert_non_null(strstr(n.refused, "is not in the transcript"));
    sc_summary_free(&n);
    sc_text_free(&t);
    /* a mono mix: either party may have said it, as for the scorecard's evidence */
    t = make_text(true);
    s = summary_of(&t, SUMMARY("One. Two.", "transferred", Q_REASON "," Q_OUTCOME));
    assert_int_equal(s.source, SC_SUMMARY_LLM);
    assert_string_equal(s.quotes[0].speaker, SC_MIXED);
    sc_summary_free(&s);
    sc_text_free(&t);
    /* no summary and no report: none, and nothing refused to say */
    sc_summary e;
    memset(&e, 0, sizeof(e));
    char err[200];
    assert_int_equal(sc_summary_rules(NULL, &e, err, sizeof(err)), 0);
    assert_int_equal(e.source, SC_SUMMARY_NONE);
    j = sc_summary_json(&e);
    assert_true(json_is_null(j));
    json_decref(j);
    assert_int_equal(sc_summary_rules("not json", &e, err, sizeof(err)), -1);
    assert_int_equal(e.source, SC_SUMMARY_NONE);
}

/* the sentiment of the JSON text checked against t */
static json_t *sentiment_of(const sc_text *t, const char *json, sc_llm_sentiment *s,
                            sc_sent_checks *c)
{
    json_t *j = json_loads(json, 0, NULL);
    if (!j)
        fail_msg("bad test JSON: %s", json);
    memset(c, 0, sizeof(*c));
    assert_int_equal(sc_sentiment_from_answer(t, j, "m-2", s, c), 0);
    json_decref(j);
    if (!s->present)
        return json_null();
    sc_sentiment shown; /* as the worker shows it (pl_sentiment_choose) */
    if (sc_llm_sentiment_to(s, t->duration, &shown) != 0)
        return NULL;
    json_t *out = sc_sentiment_json(&shown);
    sc_sentiment_free(&shown);
    return out;
}

#define FIG(q, v, quote, s, e)                                                                     \
    "{\"quarter\": " #q ", \"value\": " #v ", \"quote\": \"" quote "\", \"start\": " #s            \
    ", \"end\": " #e "}"

static double at(json_t *sp, int i)
{
    json_t *v = json_array_get(json_object_get(sp, "quarters"), (size_t)i);
    if (json_is_null(v))
        return 99;
    return json_number_value(v);
}

static void sentiment(void **state)
{
    (void)state;
    sc_text t = make_text(false);
    sc_llm_sentiment s;
    sc_sent_checks c;
    /* every kind of figure: kept ones, and each refusal in turn */
    json_t *j = sentiment_of(
        &t,
        "{\"speakers\": ["
        "{\"speaker\": \"customer\", \"quarters\": [" FIG(
            1, 1, "I lost my debit card", 3.5,
            7) "," FIG(2, 3, "that is great", 16.5,
                       18) "," FIG(3, -4, "That is ridiculous", 25,
                                   29) "," FIG(4, -5, "the worst service ever", 31,
                                               35) ","    /* kept: -5 is in range */
        FIG(4, -2, "I am closing my account", 31, 35) "," /* a second figure for quarter 4 */
        FIG(2, 5.5, "Thank you", 16.5, 18) ","            /* out of range */
        FIG(0, 1, "Thank you", 16.5, 18) ","              /* no quarter 0 */
        FIG(1.5, 1, "Thank you", 16.5, 18) "]},"          /* not a whole quarter */
                                           "{\"speaker\": \"agent\", \"quarters\": [" FIG(
                                               1, 2, "thank you for calling", 0.5,
                                               3) "," FIG(2, 2, "that is great", 16.5,
                                                          18) "," /* the customer's words */
        FIG(3, 1, "I can order a replacement card", 12, 16) ","   /* the agent's, in quarter 2 */
        FIG(2, 1, "I can order a replacement card", 30, 32) ","   /* quarter 2, at other times */
        FIG(4, -5.01, "transfer you", 36, 39.5) ","               /* out of range */
        FIG(4, 0, "I will transfer you to a supervisor", 36,
            39.5) "]},"
                  "{\"speaker\": \"supervisor\", \"quarters\": [" FIG(4, 1, "transfer you", 36,
                                                                      39.5) "]}"
                                                                            "]}",
        &s, &c);
    assert_non_null(j);
    assert_true(s.present);
    assert_int_equal(s.n_figures, 6);
    static const char *const why[] = {
        "a second figure for the customer's quarter 4",
        "the figure 5.5 is outside -5..+5",
        "the quarter 0 is not 1-4",
        "the quarter 1.5 is not 1-4",
        "the quote is the customer's words, not the agent's",
        "the quote is the agent's words in quarter 2, not quarter 3",
        "the quote is the agent's words at 12.00-16.00 s, not at the times given",
        "the figure -5.01 is outside -5..+5",
        "no speaker 'supervisor' in the transcript",
    };
    assert_int_equal(c.n_dropped, sizeof(why) / sizeof(why[0]));
    for (size_t i = 0; i < c.n_dropped; i++)
        assert_string_equal(c.dropped[i].why, why[i]);
    assert_int_equal(c.dropped[0].quarter, 4);
    assert_true(c.dropped[1].has_figure && c.dropped[1].figure == 5.5);
    /* the JSON: the shape of docs/report.md */
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "scale"), 0)), -5);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "scale"), 1)), 5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "source"), "name")),
                        "llm");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "source"), "model")),
                        "m-2");
    json_t *sps = json_object_get(j, "speakers");
    assert_int_equal(json_array_size(sps), 2); /* the transcript's, in the order they speak */
    json_t *ag = json_array_get(sps, 0), *cu = json_array_get(sps, 1);
    assert_string_equal(json_string_value(json_object_get(ag, "speaker")), "agent");
    assert_string_equal(json_string_value(json_object_get(ag, "source")), "llm");
    /* agent: 2, null, null, 0 (a checked 0 is a 0; the dropped quarters are null) */
    assert_true(at(ag, 0) == 2 && at(ag, 1) == 99 && at(ag, 2) == 99 && at(ag, 3) == 0);
    assert_true(json_number_value(json_object_get(ag, "first")) == 2);
    assert_true(json_number_value(json_object_get(ag, "last")) == 0);
    assert_true(json_number_value(json_object_get(ag, "shift")) == -2);
    assert_true(at(cu, 0) == 1 && at(cu, 1) == 3 && at(cu, 2) == -4 && at(cu, 3) == -5);
    assert_true(json_number_value(json_object_get(cu, "shift")) == -6);
    json_t *cq = json_object_get(cu, "quotes");
    assert_int_equal(json_array_size(cq), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cq, 3), "quarter")), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cq, 3), "quote")),
                        "the worst service ever");
    assert_true(json_number_value(json_object_get(json_array_get(cq, 3), "start")) == 31);
    assert_true(json_is_true(json_object_get(j, "customer_drop"))); /* +1 -> -5 */
    json_t *cj = sc_sent_checks_json(&c);
    assert_int_equal(json_array_size(json_object_get(cj, "dropped")), c.n_dropped);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(cj, "dropped"), 2),
                                             "quarter"))); /* quarter 0: null */
    json_decref(cj);
    json_decref(j);
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);

    /* the customer ends at -2 but started below 0: no drop; one quarter only: null */
    j = sentiment_of(
        &t,
        "{\"speakers\": [{\"speaker\": \"customer\", \"quarters\": [" FIG(
            1, -1, "I lost my debit card", 3.5, 7) "," FIG(4, -2, "worst service", 31, 35) "]}]}",
        &s, &c);
    assert_true(json_is_false(json_object_get(j, "customer_drop")));
    json_t *a = json_array_get(json_object_get(j, "speakers"), 0);
    assert_true(json_is_null(json_object_get(a, "first")) &&
                json_is_null(json_object_get(a, "shift")));
    json_decref(j);
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);
    j = sentiment_of(&t,
                     "{\"speakers\": [{\"speaker\": \"customer\", \"quarters\": [" FIG(
                         4, -4, "worst service", 31, 35) "]}]}",
                     &s, &c);
    assert_true(json_is_null(json_object_get(j, "customer_drop")));
    json_decref(j);
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);

    /* nothing passes: not present, with why */
    j = sentiment_of(&t,
                     "{\"speakers\": [{\"speaker\": \"agent\", \"quarters\": [" FIG(
                         1, 9, "thank you for calling", 0.5, 3) "]}]}",
                     &s, &c);
    assert_true(json_is_null(j));
    assert_false(s.present);
    assert_string_equal(c.why, "no figure of the LLM's passed the checks");
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);
    j = sentiment_of(&t, "{\"speakers\": 3}", &s, &c);
    assert_true(json_is_null(j));
    assert_string_equal(c.why, "the answer has no sentiment");
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);
    t.duration = 0;
    j = sentiment_of(&t,
                     "{\"speakers\": [{\"speaker\": \"agent\", \"quarters\": [" FIG(
                         1, 1, "thank you for calling", 0.5, 3) "]}]}",
                     &s, &c);
    assert_true(json_is_null(j));
    assert_string_equal(c.why, "the call has no duration to split in quarters");
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);
    sc_text_free(&t);

    /* a mono mix: one speaker, "mixed", and no customer: customer_drop null */
    t = make_text(true);
    j = sentiment_of(&t,
                     "{\"speakers\": [{\"speaker\": \"mixed\", \"quarters\": [" FIG(
                         1, 1, "I lost my debit card", 3.5,
                         7) "," FIG(4, -4, "worst service", 31,
                                    35) "]},"
                                        "{\"speaker\": \"customer\", \"quarters\": [" FIG(
                                            1, 1, "I lost my debit card", 3.5, 7) "]}]}",
                     &s, &c);
    assert_int_equal(json_array_size(json_object_get(j, "speakers")), 1);
    assert_true(json_is_null(json_object_get(j, "customer_drop")));
    assert_int_equal(c.n_dropped, 1);
    assert_string_equal(c.dropped[0].why, "no speaker 'customer' in the transcript");
    json_decref(j);
    sc_llm_sentiment_free(&s);
    sc_sent_checks_free(&c);
    sc_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sentences),
        cmocka_unit_test(quarters),
        cmocka_unit_test(summary),
        cmocka_unit_test(sentiment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
