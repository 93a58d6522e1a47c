/*
 * fuzz_scoring.c - libFuzzer harness over what the scoring module parses besides the
 * scorecard (fuzz_asr.c has that): the topics file (sc_topics_load, then a call classified with
 * it), and a call's report read by the /ai-analyze rules (sc_assess_report) and put into the
 * LLM's prompt (sc_assess_prompt). Oracles: a refused topics file says why; a loaded one lists
 * as JSON, and a classified call's topic is one of the file's with a confidence in 0-1 and its
 * phrases verbatim in the call's text; a refused report says why and gives nothing; an
 * accepted one gives a verdict with 2-3 bullets and a findings array of {code, message,
 * values}; the prompt's data block is closed once, at its end. And an LLM's answer taken in
 * (sc_llm_apply on a card without llm categories): its summary is either kept, with 2-4
 * sentences, one of the four outcomes, a reason, and quotes that are the call's words backing
 * both the reason and the outcome, or refused whole with why; its sentiment keeps only figures
 * in -5..+5, each with a quote of that speaker in that quarter, nothing else. The first byte
 * picks the parser (0 topics, 1 report, 2 prompt, 3 answer); the rest is its input.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_call[][2] = {
    {SC_AGENT, "Thank you for calling, how can I help?"},
    {SC_CUSTOMER, "I'd like to check my balance and maybe pay a bill, twenty-five dollars."},
    {SC_CUSTOMER, "My card was stolen! Can you reset my password?"},
};

static void topics(const char *s, size_t n)
{
    char err[300];
    err[0] = 0;
    sc_topics *t = sc_topics_load(s, n, err, sizeof(err));
    if (!t) {
        if (!err[0])
            __builtin_trap();
        return;
    }
    char *js = sc_topics_list_json(t);
    json_t *list = js ? json_loads(js, 0, NULL) : NULL;
    if (!json_is_array(list) || json_array_size(list) == 0)
        __builtin_trap();
    sc_text text;
    memset(&text, 0, sizeof(text));
    text.u = calloc(3, sizeof(*text.u));
    if (!text.u)
        goto done;
    for (size_t i = 0; i < 3; i++) {
        strcpy(text.u[i].speaker, k_call[i][0]);
        text.u[i].start = (double)i, text.u[i].end = (double)i + 1;
        text.u[i].text = strdup(k_call[i][1]);
        text.u[i].norm = tx_normalize(k_call[i][1]);
        text.n++;
        if (!text.u[i].text || !text.u[i].norm)
            goto done;
    }
    sc_topic g;
    if (sc_topics_classify(t, &text, &g) == 0) {
        if (g.known && (!sc_topics_has(t, g.cls, g.subclass) || !(g.confidence > 0) ||
                        g.confidence > 1 || g.n_phrases < 1))
            __builtin_trap();
        if (!g.known && (g.n_phrases || g.confidence != 0))
            __builtin_trap();
        for (int k = 0; k < g.n_phrases; k++) {
            bool found = false;
            for (size_t i = 0; i < text.n && !found; i++)
                found = strstr(text.u[i].text, g.phrases[k]) != NULL;
            if (!found)
                __builtin_trap();
        }
        sc_topic_free(&g);
    }
done:
    sc_text_free(&text);
    json_decref(list);
    free(js);
    sc_topics_free(t);
}

static const char k_card[] =
    "{\"categories\": [{\"key\": \"a\", \"weight\": 1, \"method\": \"rules\", \"spec\": "
    "{\"checks\": [{\"key\": \"x\", \"phrases\": [\"hello\"]}], \"levels\": [{\"score\": 5, "
    "\"all\": [\"x\"]}]}}]}";

static void answer(const char *s)
{
    sc_card card;
    char err[300];
    if (sc_card_load(k_card, strlen(k_card), &card, err, sizeof(err)) != 0)
        __builtin_trap();
    sc_text text;
    memset(&text, 0, sizeof(text));
    text.duration = 4;
    text.separated = true;
    sc_call call;
    memset(&call, 0, sizeof(call));
    text.u = calloc(3, sizeof(*text.u));
    if (!text.u)
        goto done;
    for (size_t i = 0; i < 3; i++) { /* one line a quarter, the 4th empty */
        strcpy(text.u[i].speaker, k_call[i][0]);
        text.u[i].start = (double)i, text.u[i].end = (double)i + 1;
        text.u[i].text = strdup(k_call[i][1]);
        text.u[i].norm = tx_normalize(k_call[i][1]);
        text.n++;
        if (!text.u[i].text || !text.u[i].norm)
            goto done;
    }
    if (sc_llm_apply(&card, &text, NULL, s, "p", "m", &call, err, sizeof(err)) != 0)
        goto done;
    const sc_summary *m = &call.summary;
    if (m->source == SC_SUMMARY_LLM) {
        int n = sc_sentences(m->text);
        bool backs[2] = {false, false};
        for (size_t i = 0; i < m->n_quotes; i++) {
            backs[m->backs_outcome[i]] = true;
            if (sc_quote_check(&text, m->quotes[i].speaker, m->quotes[i].start, m->quotes[i].end,
                               m->quotes[i].quote, 0, NULL) != 0)
                __builtin_trap();
        }
        if (n < 2 || n > 4 || !sc_summary_outcome_ok(m->outcome) || !m->reason || !backs[0] ||
            !backs[1] || m->refused[0])
            __builtin_trap();
    } else if (m->source != SC_SUMMARY_NONE || !m->refused[0] || m->text || m->n_quotes) {
        __builtin_trap();
    }
    const sc_llm_sentiment *se = &call.sentiment_llm;
    int figures = 0;
    for (int i = 0; i < se->n; i++)
        for (int q = 0; q < 4; q++) {
            const sc_llm_sent_speaker *sp = &se->sp[i];
            if (!sp->known[q])
                continue;
            figures++;
            const sc_sent_quote *x = &sp->quotes[q];
            if (!(sp->q[q] >= SC_SENT_MIN && sp->q[q] <= SC_SENT_MAX) || x->quarter != q + 1 ||
                sc_quarter_of(x->start, x->end, text.duration) != q + 1 ||
                sc_quote_check(&text, sp->speaker, x->start, x->end, x->quote, 0, NULL) != 0)
                __builtin_trap();
        }
    if (figures != se->n_figures || se->present != (figures > 0) ||
        (!se->present && !call.sentiment_checks.why[0]))
        __builtin_trap();
    char *js = sc_call_to_json(&card, &call);
    if (!js)
        __builtin_trap();
    free(js);
done:
    sc_call_free(&call);
    sc_text_free(&text);
    sc_card_free(&card);
}

static void report(const char *s)
{
    char *text = NULL, *fj = NULL, err[300];
    err[0] = 0;
    if (sc_assess_report(s, &text, &fj, err, sizeof(err)) != 0) {
        if (!err[0] || text || fj)
            __builtin_trap();
        return;
    }
    int bullets = 0;
    for (const char *p = strstr(text, "\n- "); p; p = strstr(p + 1, "\n- "))
        bullets++;
    json_t *f = json_loads(fj, 0, NULL);
    if (!json_is_array(f) || bullets < 1 || bullets > 3)
        __builtin_trap();
    for (size_t i = 0; i < json_array_size(f); i++) {
        json_t *o = json_array_get(f, i);
        if (!json_is_string(json_object_get(o, "code")) ||
            !json_is_string(json_object_get(o, "message")) ||
            !json_is_object(json_object_get(o, "values")))
            __builtin_trap();
    }
    json_decref(f);
    free(text);
    free(fj);
}

static void prompt(const char *s)
{
    char *sys = NULL, *user = NULL, err[300];
    err[0] = 0;
    if (sc_assess_prompt(s, &sys, &user, err, sizeof(err)) != 0) {
        if (!err[0] || sys || user)
            __builtin_trap();
        return;
    }
    const char *close = strstr(user, "</call_report>");
    if (!close || strcmp(close, "</call_report>\n") || !sys[0])
        __builtin_trap();
    const char *open = strstr(user, "<call_report>");
    if (!open || strstr(open + 1, "<call_report>"))
        __builtin_trap();
    free(sys);
    free(user);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % 4;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    if (sel == 0) {
        topics(body, n);
        return 0;
    }
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, body, n);
    s[n] = 0;
    if (sel == 1)
        report(s);
    else if (sel == 2)
        prompt(s);
    else
        answer(s);
    free(s);
    return 0;
}
