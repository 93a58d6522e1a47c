/*
 * fuzz_asr.c - libFuzzer harness over what a speech-recognition server answers and what the
 * transcript makes of it: OpenAI verbose_json (tx_parse_openai), whisper.cpp's verbose_json
 * with sub-word tokens (tx_parse_whispercpp), the answer placed on a chunk of the call's clock
 * and through the guard (tx_add_chunk, tx_finish, tx_to_json), the normalised text
 * (tx_normalize) and language names (tx_language_code). Oracles: a refused answer says why and
 * holds nothing; an accepted one has segments with text and start <= end, words with text; on
 * the clock every time lies inside the chunk; the guard's counts add up (flagged + dropped <=
 * words) and the JSON renders; normalised text is lower-case ASCII letters, digits, marks kept
 * inside words and bytes over 0x7f, single-spaced with no space at either end; a language code
 * is two lower-case letters. Also the scorecard (sc_card_load): an accepted card has 1-32
 * categories with valid keys, weights summing to 1 and lo < hi, and its totals lie in 0-100.
 * And a transcript block scored with the shipped card (sc_text_from_block, sc_score): every
 * quote of the evidence is a verbatim span of its speaker's words at its time.
 * The first byte picks the parser; the rest is its input.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

/* A transcript block scored with the shipped card: every quote of the evidence is a verbatim
 * span of what its speaker said at its time, and the result renders. */
static void score_block(const char *block)
{
    static sc_card card;
    static int loaded;
    if (!loaded) {
        size_t len;
        const char *t = sc_default_card(&len);
        char err[300];
        if (sc_card_load(t, len, &card, err, sizeof(err)) != 0)
            __builtin_trap();
        loaded = 1;
    }
    sc_text text;
    char err[300];
    if (sc_text_from_block(block, 0, &text, err, sizeof(err)) != 0) {
        if (!err[0] || text.n)
            __builtin_trap();
        return;
    }
    sc_call call;
    if (sc_score(&card, NULL, &text, NULL, NULL, NULL, &call, err, sizeof(err)) == 0) {
        sc_finish(&card, &call);
        for (int i = 0; i < call.n; i++)
            for (size_t q = 0; q < call.cats[i].n_quotes; q++) {
                const sc_quote *e = &call.cats[i].quotes[q];
                if (sc_quote_check(&text, e->speaker, e->start, e->end, e->quote, 0.001, NULL) != 0)
                    __builtin_trap();
            }
        if (call.totals.has_total || call.totals.coverage > 0.5 + 1e-9)
            __builtin_trap(); /* no LLM and no report: at most the rules' half of the card */
        char *js = sc_call_to_json(&card, &call);
        if (!js)
            __builtin_trap();
        free(js);
    }
    sc_call_free(&call);
    sc_text_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const tx_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const tx_segment *s = &r->segs[i];
        if (!s->text || !(s->start <= s->end))
            __builtin_trap();
        for (size_t k = 0; k < s->n_words; k++)
            if (!s->words[k].text)
                __builtin_trap();
    }
}

static void on_clock(tx_result *r)
{
    tx_transcript t;
    memset(&t, 0, sizeof(t));
    t.n_legs = 1;
    tx_leg *L = &t.legs[0];
    L->role = CQ_ROLE_CUSTOMER;
    tx_span speech[2] = {{10.5, 12.0}, {14.0, 19.0}};
    L->speech = malloc(sizeof(speech));
    if (!L->speech)
        return;
    memcpy(L->speech, speech, sizeof(speech));
    L->n_speech = 2;
    L->plan.chunks = calloc(1, sizeof(tx_chunk));
    if (!L->plan.chunks) {
        tx_transcript_free(&t);
        return;
    }
    L->plan.n = 1;
    L->plan.chunks[0].start = 10;
    L->plan.chunks[0].end = 20;
    if (tx_add_chunk(&t, 0, 0, r) != 0 || tx_finish(&t) != 0) {
        tx_transcript_free(&t);
        return;
    }
    for (size_t i = 0; i < L->n; i++) {
        const tx_segment *s = &L->segs[i];
        if (s->start < 10 || s->end > 20 || !s->norm)
            __builtin_trap();
        for (size_t k = 0; k < s->n_words; k++)
            if (s->words[k].start < 10 || s->words[k].end > 20)
                __builtin_trap();
    }
    if (t.flagged_words + t.dropped_words > t.words)
        __builtin_trap();
    char *js = tx_to_json(&t);
    if (!js)
        __builtin_trap();
    free(js);
    tx_transcript_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % 6;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    if (sel <= 1) {
        tx_result r;
        char err[300];
        err[0] = 0;
        int rc = sel == 0 ? tx_parse_openai(body, n, &r, err, sizeof(err))
                          : tx_parse_whispercpp(body, n, &r, err, sizeof(err));
        if (rc != 0) {
            if (!err[0] || r.n || r.segs)
                __builtin_trap();
            return 0;
        }
        check_result(&r);
        on_clock(&r);
        tx_result_free(&r);
        return 0;
    }
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, body, n);
    s[n] = 0;
    if (sel == 5) {
        score_block(s);
    } else if (sel == 4) {
        sc_card c;
        char err[300];
        err[0] = 0;
        if (sc_card_load(body, n, &c, err, sizeof(err)) != 0) {
            if (!err[0] || c.n)
                __builtin_trap();
            free(s);
            return 0;
        }
        double w = 0;
        sc_result r[SC_MAX_CATEGORIES];
        for (int i = 0; i < c.n; i++) {
            if (!c.cats[i].key[0] || !(c.cats[i].lo < c.cats[i].hi) || !c.cats[i].spec)
                __builtin_trap();
            w += c.cats[i].weight;
            r[i] = (sc_result){.scored = i % 2 == 0, .score = c.cats[i].hi};
        }
        sc_totals t;
        sc_totals_of(&c, r, &t);
        if (c.n < 1 || c.n > SC_MAX_CATEGORIES || w < 1 - 1e-5 || w > 1 + 1e-5 || t.partial < 0 ||
            t.partial > 100 + 1e-6 || t.coverage > 1 + 1e-6)
            __builtin_trap();
        sc_card_free(&c);
    } else if (sel == 2) {
        char *norm = tx_normalize(s);
        if (norm) {
            size_t l = strlen(norm);
            if (l && (norm[0] == ' ' || norm[l - 1] == ' ' || strstr(norm, "  ")))
                __builtin_trap();
            for (const unsigned char *p = (const unsigned char *)norm; *p; p++)
                if (*p < 0x80 && !islower(*p) && !isdigit(*p) && *p != ' ' && *p != '\'' &&
                    *p != '.')
                    __builtin_trap();
            free(norm);
        }
    } else {
        char code[3];
        if (tx_language_code(s, code) == 0 &&
            (strlen(code) != 2 || !islower((unsigned char)code[0]) ||
             !islower((unsigned char)code[1])))
            __builtin_trap();
    }
    free(s);
    return 0;
}
