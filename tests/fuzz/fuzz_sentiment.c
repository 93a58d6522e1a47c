/*
 * fuzz_sentiment.c - libFuzzer harness over sentiment (src/scoring/sc_vader.c, sc_sentiment.c):
 * the lexicon's parser, VADER's scorer on any text, and the trend over a call's utterances.
 * The first byte picks the part; the rest is its input:
 *   0  a lexicon file (sc_vader_parse): refused with a reason, or loaded with at least one
 *      entry and a sha256; a loaded one then scores the file's own text;
 *   1  a text scored with a small lexicon: the compound is finite, in -1..1, the same twice,
 *      and neg + neu + pos is 1 (or all 0 for a text without words);
 *   2  a call, one utterance a line, "speaker|start|end|text": the trend's quarters are in
 *      -5..5 or null, shift = last - first, and its JSON is an object, or null with a reason.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scoring/scoring.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char k_lex[] = "good\t1.9\t0.9\t[2]\nbad\t-2.5\t0.6\t[-2]\nkind\t2.4\t1\t[2]\n"
                            "shit\t-2.6\t1\t[-3]\nbomb\t-2.2\t1\t[-2]\nlol\t1.8\t1\t[2]\n"
                            ":)\t2.0\t1\t[2]\nhelp\t1.7\t1\t[2]\n";

static sc_vader *small_lexicon(void)
{
    char err[200];
    return sc_vader_parse(k_lex, sizeof(k_lex) - 1, err, sizeof(err));
}

static void check_scores(const sc_vader *v, const char *s, size_t n)
{
    sc_vader_scores a, b;
    if (sc_vader_score(v, s, n, &a) != 0 || sc_vader_score(v, s, n, &b) != 0)
        return; /* out of memory */
    MUST(isfinite(a.compound) && a.compound >= -1 && a.compound <= 1);
    MUST(memcmp(&a, &b, sizeof(a)) == 0);
    double sum = a.neg + a.neu + a.pos;
    MUST(a.neg >= 0 && a.neu >= 0 && a.pos >= 0);
    MUST(sum == 0 ? a.compound == 0 : fabs(sum - 1) < 1e-9);
}

static void lexicon(const char *s, size_t n)
{
    char err[200];
    err[0] = '\0';
    sc_vader *v = sc_vader_parse(s, n, err, sizeof(err));
    if (!v) {
        MUST(err[0]);
        return;
    }
    MUST(sc_vader_size(v) > 0 && strlen(sc_vader_sha256(v)) == 64);
    check_scores(v, s, n);
    sc_vader_free(v);
}

static void call(const sc_vader *v, char *s)
{
    sc_utt u[64];
    size_t n = 0;
    for (char *save = NULL, *line = strtok_r(s, "\n", &save); line && n < 64;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        char *rest = line;
        for (int k = 0; k < 3 && rest; k++) {
            f[k] = rest;
            char *bar = strchr(rest, '|');
            if (bar)
                *bar = '\0';
            rest = bar ? bar + 1 : NULL;
        }
        f[3] = rest;
        if (!f[3])
            continue;
        memset(&u[n], 0, sizeof(u[n]));
        snprintf(u[n].speaker, sizeof(u[n].speaker), "%s", f[0]);
        u[n].start = strtod(f[1], NULL), u[n].end = strtod(f[2], NULL);
        u[n].text = f[3], u[n].norm = f[3];
        n++;
    }
    sc_text t = {.u = u, .n = n, .duration = n ? u[0].start : 0, .separated = true};
    sc_sentiment st;
    if (sc_sentiment_vader(v, &t, &st) != 0)
        return;
    if (!st.known)
        MUST(st.why[0]);
    for (int i = 0; i < st.n; i++) {
        const sc_sent_speaker *p = &st.sp[i];
        bool any = false;
        for (int q = 0; q < 4; q++)
            if (p->has_q[q]) {
                any = true;
                MUST(isfinite(p->q[q]) && p->q[q] >= -5 && p->q[q] <= 5);
            }
        MUST(any == p->has_first);
        MUST(!p->has_first || p->shift == p->last - p->first);
    }
    MUST(st.customer_drop >= -1 && st.customer_drop <= 1);
    json_t *j = sc_sentiment_json(&st);
    if (j)
        MUST(st.known ? json_is_object(j) : json_is_null(j));
    json_decref(j);
    sc_sentiment_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 16))
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 3 == 0) {
        lexicon(s, n);
        return 0;
    }
    sc_vader *v = small_lexicon();
    if (!v)
        return 0;
    if (data[0] % 3 == 1) {
        check_scores(v, s, n);
    } else {
        char *copy = strndup(s, n);
        if (copy)
            call(v, copy);
        free(copy);
    }
    sc_vader_free(v);
    return 0;
}
