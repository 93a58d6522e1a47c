/*
 * test_transcript.c - the transcript module (src/transcript/): the plan of what is sent, the
 * servers' answers (OpenAI verbose_json as OpenAI, Groq and vLLM write it; whisper.cpp's
 * server), languages, the normalised text, the clock, the guard and the turns; a mono mix's
 * two diarized speakers planned, checked and turned apart.
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

#include "../../src/transcript/transcript.h"

#define S(x) ((uint64_t)llround((x)*8000.0)) /* seconds as samples at the VAD's 8 kHz */

/* a leg with speech segments (seconds) and events */
static cq_leg_report leg_with(const double (*sp)[2], size_t n, cq_call_event *ev, size_t ne,
                              cq_speech_seg *buf)
{
    cq_leg_report L;
    memset(&L, 0, sizeof(L));
    L.role = CQ_ROLE_AGENT;
    L.vad_rate_hz = 8000;
    for (size_t i = 0; i < n; i++)
        buf[i] = (cq_speech_seg){S(sp[i][0]), S(sp[i][1])};
    L.speech = buf;
    L.n_speech = n;
    L.events = ev;
    L.n_events = ne;
    L.duration_sec = 120;
    return L;
}

static void test_plan(void **state)
{
    (void)state;
    /* speech at 1-3, 4-6 (a pause of 1 s: one chunk), 9-10 (3 s later: another), 20-25 with
     * hold music over 21-24, then 40-100 (longer than a chunk) */
    const double sp[][2] = {{1, 3}, {4, 6}, {9, 10}, {20, 25}, {40, 100}};
    cq_speech_seg buf[5];
    cq_call_event ev[1] = {{.type = CQ_EV_HOLD, .start_sec = 21, .end_sec = 24}};
    cq_leg_report L = leg_with(sp, 5, ev, 1, buf);
    tx_plan_params p = tx_plan_default_params();
    assert_true(fabs(p.pad_sec - 0.2) < 1e-9);
    p.pad_sec = 0; /* the segments' own edges first (widened: below) */
    tx_plan plan;
    assert_int_equal(tx_plan_leg(&L, &p, &plan), 0);
    /* chunks: [1,6] (2 parts), [9,10], [20,20.9] and [24.1,25] (the music between them is
     * over 2 s), then 40..100 in pieces <= 30 s */
    assert_int_equal(plan.n, 7); /* 40..100: 40-69.95, 69.95-99.9, 99.9-100 */
    assert_true(fabs(plan.chunks[0].start - 1) < 1e-9 && fabs(plan.chunks[0].end - 6) < 1e-9);
    assert_int_equal(plan.chunks[0].n_sent, 2);
    assert_string_equal(plan.chunks[0].file, "agent_1.000_6.000.wav");
    assert_true(fabs(plan.chunks[1].start - 9) < 1e-9);
    assert_int_equal(plan.chunks[2].n_sent, 1);
    assert_true(fabs(plan.chunks[2].sent[0].end - 20.9) < 1e-9);
    assert_true(fabs(plan.chunks[3].sent[0].start - 24.1) < 1e-9);
    assert_true(fabs(plan.excluded_sec - 3.2) < 1e-6);
    double covered = 0;
    for (size_t i = 0; i < plan.n; i++) {
        const tx_chunk *c = &plan.chunks[i];
        assert_true(c->end - c->start <= p.max_chunk_sec + 1e-9);
        for (size_t k = 0; k < c->n_sent; k++) {
            assert_true(c->sent[k].start >= c->start - 1e-9 && c->sent[k].end <= c->end + 1e-9);
            if (c->start >= 39)
                covered += c->sent[k].end - c->sent[k].start;
        }
    }
    assert_true(fabs(covered - 60) < 1e-6); /* the long stretch: all of it, in pieces */
    assert_true(fabs(plan.sent_sec - (2 + 2 + 1 + 0.9 + 0.9 + 60)) < 1e-6);
    tx_plan_free(&plan);
    /* IVR prompts: excluded unless asked for */
    cq_call_event ivr[1] = {{.type = CQ_EV_IVR, .start_sec = 0, .end_sec = 7}};
    L = leg_with(sp, 2, ivr, 1, buf);
    assert_int_equal(tx_plan_leg(&L, &p, &plan), 0);
    assert_int_equal(plan.n, 0);
    tx_plan_free(&plan);
    p.include_ivr = true;
    assert_int_equal(tx_plan_leg(&L, &p, &plan), 0);
    assert_int_equal(plan.n, 1);
    tx_plan_free(&plan);
    /* widened by 0.2 s: 1-3 and 4-6 become 0.8-3.2 and 3.8-6.2; at the leg's start, 0 */
    const double sp2[][2] = {{0.1, 3}, {4, 6}};
    L = leg_with(sp2, 2, NULL, 0, buf);
    p = tx_plan_default_params();
    assert_int_equal(tx_plan_leg(&L, &p, &plan), 0);
    assert_int_equal(plan.n, 1);
    assert_int_equal(plan.chunks[0].n_sent, 2);
    assert_true(fabs(plan.chunks[0].sent[0].start - 0) < 1e-9);
    assert_true(fabs(plan.chunks[0].sent[0].end - 3.2) < 1e-9);
    assert_true(fabs(plan.chunks[0].sent[1].start - 3.8) < 1e-9);
    assert_true(fabs(plan.speech_sec - 4.9) < 1e-9); /* the VAD's, not widened */
    tx_plan_free(&plan);
}

static const char k_openai[] =
    "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":6.0,\"text\":\"Hello there. "
    "Account 5.\",\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":2.0,\"text\":\" Hello "
    "there.\",\"tokens\":[1,2],\"temperature\":0.0,\"avg_logprob\":-0.25,\"compression_ratio\":1.1,"
    "\"no_speech_prob\":0.02},{\"id\":1,\"seek\":0,\"start\":3.0,\"end\":5.0,\"text\":\" Account "
    "five.\",\"tokens\":[3],\"temperature\":0.0,\"avg_logprob\":-1,\"compression_ratio\":-1,"
    "\"no_speech_prob\":0.1}],\"words\":[{\"word\":\"Hello\",\"start\":0.1,\"end\":0.5},{\"word\":"
    "\"there.\",\"start\":0.6,\"end\":1.0},{\"word\":\"Account\",\"start\":3.1,\"end\":3.6},"
    "{\"word\":\"five.\",\"start\":3.7,\"end\":4.0}]}";

static void test_parse_openai(void **state)
{
    (void)state;
    tx_result r;
    char err[200];
    assert_int_equal(tx_parse_openai(k_openai, strlen(k_openai), &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 2);
    assert_true(r.had_words);
    assert_string_equal(r.language, "english");
    assert_string_equal(r.segs[0].text, "Hello there.");
    assert_int_equal(r.segs[0].n_words, 2);
    assert_int_equal(r.segs[1].n_words, 2);
    assert_string_equal(r.segs[1].words[1].text, "five.");
    assert_true(fabs(r.segs[0].avg_logprob + 0.25) < 1e-9);
    assert_true(r.segs[1].avg_logprob == TX_UNKNOWN); /* vLLM's -1 */
    assert_true(r.segs[1].compression_ratio == TX_UNKNOWN);
    assert_true(fabs(r.segs[1].no_speech_prob - 0.1) < 1e-9);
    tx_result_free(&r);
    /* Groq: no words */
    const char *g = "{\"language\":\"en\",\"text\":\"Hi\",\"segments\":[{\"start\":0,\"end\":1,"
                    "\"text\":\" Hi\"}]}";
    assert_int_equal(tx_parse_openai(g, strlen(g), &r, err, sizeof(err)), 0);
    assert_false(r.had_words);
    assert_int_equal(r.segs[0].n_words, 0);
    tx_result_free(&r);
    /* empty text is an answer; errors, HTML, broken JSON and text without segments are not */
    const char *empty = "{\"text\":\"\",\"segments\":[]}";
    assert_int_equal(tx_parse_openai(empty, strlen(empty), &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 0);
    tx_result_free(&r);
    const char *bad[] = {
        ("{\"error\":{\"message\":\"Incorrect API key "
         "provided\",\"type\":\"invalid_request_error\"}}"),
        "<html><body>502 Bad Gateway</body></html>",
        "{\"text\":\"Hello\",\"segments\":[{\"start\":0,",
        "{\"text\":\"Hello\"}",
        "[1,2]",
        "{\"text\":\"x\",\"segments\":[{\"start\":\"a\",\"end\":1,\"text\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(tx_parse_openai(bad[i], strlen(bad[i]), &r, err, sizeof(err)), -1);
        assert_true(err[0] != 0);
        assert_int_equal(r.n, 0);
    }
    assert_non_null(strstr((tx_parse_openai(bad[0], strlen(bad[0]), &r, err, sizeof(err)), err),
                           "Incorrect API key"));
}

static void test_parse_whispercpp(void **state)
{
    (void)state;
    /* sub-word tokens with token timestamps: " Hel" + "lo" + "," is the word "Hello," */
    const char *timed =
        "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":3,\"text\":\" Hello, "
        "world.\",\"segments\":[{\"id\":0,\"text\":\" Hello, world.\",\"start\":0.0,\"end\":2.0,"
        "\"tokens\":[1,2,3,4,5],\"words\":[{\"word\":\" "
        "Hel\",\"start\":0.1,\"end\":0.3,\"t_dtw\":-1,"
        "\"probability\":0.9},{\"word\":\"lo\",\"start\":0.3,\"end\":0.5,\"t_dtw\":-1,"
        "\"probability\":"
        "0.7},{\"word\":\",\",\"start\":0.5,\"end\":0.52,\"t_dtw\":-1,\"probability\":0.95},{"
        "\"word\":"
        "\" world\",\"start\":0.8,\"end\":1.2,\"t_dtw\":-1,\"probability\":0.99},{\"word\":\".\","
        "\"start\":1.2,\"end\":1.25,\"t_dtw\":-1,\"probability\":0.98}],\"temperature\":0.0,"
        "\"avg_logprob\":-0.3}]}";
    tx_result r;
    char err[200];
    assert_int_equal(tx_parse_whispercpp(timed, strlen(timed), &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 1);
    assert_true(r.had_words);
    assert_int_equal(r.segs[0].n_words, 2);
    assert_string_equal(r.segs[0].words[0].text, "Hello,");
    assert_true(fabs(r.segs[0].words[0].start - 0.1) < 1e-9);
    assert_true(fabs(r.segs[0].words[0].end - 0.52) < 1e-9);
    assert_true(fabs(r.segs[0].words[0].probability - 0.7) < 1e-9); /* the least of its tokens */
    assert_string_equal(r.segs[0].words[1].text, "world.");
    assert_true(r.segs[0].no_speech_prob == TX_UNKNOWN);
    tx_result_free(&r);
    /* without token timestamps whisper.cpp writes -0.01: words keep their segment's time */
    const char *untimed =
        "{\"language\":\"english\",\"text\":\" Yes\",\"segments\":[{\"id\":0,\"text\":\" Yes\","
        "\"start\":1.0,\"end\":1.5,\"words\":[{\"word\":\" Yes\",\"start\":-0.01,\"end\":-0.01,"
        "\"t_dtw\":-1,\"probability\":0.8}],\"avg_logprob\":-0.2}]}";
    assert_int_equal(tx_parse_whispercpp(untimed, strlen(untimed), &r, err, sizeof(err)), 0);
    assert_false(r.had_words);
    assert_int_equal(r.segs[0].n_words, 1);
    assert_true(r.segs[0].words[0].flags & TX_F_NO_TIME);
    assert_true(fabs(r.segs[0].words[0].start - 1.0) < 1e-9);
    tx_result_free(&r);
    const char *e200 = "{\"error\":\"failed to read WAV file\"}";
    assert_int_equal(tx_parse_whispercpp(e200, strlen(e200), &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "failed to read WAV file"));
}

static void test_language(void **state)
{
    (void)state;
    char c[3];
    const char *ok[][2] = {{"english", "en"}, {"English", "en"}, {"en", "en"},     {"en-US", "en"},
                           {"pt_BR", "pt"},   {"spanish", "es"}, {"chinese", "zh"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(tx_language_code(ok[i][0], c), 0);
        assert_string_equal(c, ok[i][1]);
    }
    assert_int_equal(tx_language_code("klingon", c), -1);
    assert_string_equal(c, "");
    assert_int_equal(tx_language_code("cantonese", c), -1); /* no two-letter code */
}

static void test_normalize(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"Hello, World!", "hello world"},
        {"I'd like twenty five dollars.", "i'd like 25 dollars"},
        {"One hundred and five", "105"},
        {"It costs $1,000.50 today", "it costs 1000.50 today"},
        {"two thousand twenty four", "2024"},
        {"one two three", "1 2 3"},
        {"  Thank   you -- for calling ", "thank you for calling"},
        {"Café au lait", "café au lait"},
        {"the end.", "the end"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *n = tx_normalize(cases[i][0]);
        assert_non_null(n);
        assert_string_equal(n, cases[i][1]);
        free(n);
    }
}

/* a transcript of one leg, speech at 0-5 and 10-15, one chunk of 0-20 */
static void one_leg(tx_transcript *t)
{
    memset(t, 0, sizeof(*t));
    t->n_legs = 1;
    tx_leg *L = &t->legs[0];
    snprintf(L->name, sizeof(L->name), "outbound");
    L->role = CQ_ROLE_AGENT;
    L->speech = malloc(2 * sizeof(*L->speech));
    L->speech[0] = (tx_span){0, 5};
    L->speech[1] = (tx_span){10, 15};
    L->n_speech = 2;
    L->plan.chunks = calloc(1, sizeof(tx_chunk));
    L->plan.n = 1;
    L->plan.chunks[0].start = 0;
    L->plan.chunks[0].end = 20;
}

static void seg(tx_result *r, double a, double b, const char *text, int words)
{
    tx_segment *s = &r->segs[r->n++];
    memset(s, 0, sizeof(*s));
    s->start = a, s->end = b;
    s->text = strdup(text);
    s->avg_logprob = s->compression_ratio = s->no_speech_prob = TX_UNKNOWN;
    if (words) { /* evenly spread */
        char *copy = strdup(text), *save = NULL;
        size_t n = 0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            n++;
        free(copy);
        s->words = calloc(n, sizeof(*s->words));
        copy = strdup(text);
        size_t i = 0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save), i++) {
            double d = (b - a) / (double)n;
            s->words[i] = (tx_word){.start = a + d * (double)i,
                                    .end = a + d * (double)(i + 1),
                                    .text = strdup(w),
                                    .probability = TX_UNKNOWN};
        }
        s->n_words = n;
        free(copy);
    }
}

static void test_guard(void **state)
{
    (void)state;
    tx_transcript t;
    one_leg(&t);
    tx_result r;
    memset(&r, 0, sizeof(r));
    r.segs = calloc(8, sizeof(*r.segs));
    snprintf(r.language, sizeof(r.language), "english");
    seg(&r, 0.5, 4.5, "Thank you for calling how can I help", 1); /* speech: kept */
    seg(&r, 6.5, 9.0, "Thank you for watching.", 1);              /* silence, stock: dropped */
    seg(&r, 10.2, 14.8, "I would like to check my balance", 1);   /* speech: kept */
    seg(&r, 16.0, 19.0, "you you you you you you", 1);            /* silence, a loop: dropped */
    seg(&r, 16.5, 18.5, "Really", 1);                             /* silence: flagged, kept */
    seg(&r, 14.0, 21.5, "Bye now", 1); /* past the chunk: clamped, the last word flagged */
    assert_int_equal(tx_add_chunk(&t, 0, 0, &r), 0);
    assert_int_equal(r.n, 0);
    tx_result_free(&r);
    assert_int_equal(tx_finish(&t), 0);
    assert_string_equal(t.language, "en");
    assert_int_equal(t.dropped_segments, 2);
    assert_string_equal(t.dropped[0].reason, "known_phrase");
    assert_string_equal(t.dropped[0].text, "Thank you for watching.");
    assert_string_equal(t.dropped[1].reason, "repetition");
    assert_int_equal(t.legs[0].n, 4);
    const tx_segment *really = &t.legs[0].segs[2], *bye = &t.legs[0].segs[3];
    assert_string_equal(really->text, "Really");
    assert_true(really->flags & TX_F_OUTSIDE_SPEECH);
    assert_true(really->words[0].flags & TX_F_OUTSIDE_SPEECH);
    assert_true(bye->flags & TX_F_OUTSIDE_CHUNK);
    assert_true(fabs(bye->end - 20) < 1e-9);
    assert_true(bye->words[1].flags & (TX_F_OUTSIDE_CHUNK | TX_F_OUTSIDE_SPEECH));
    for (size_t k = 0; k < t.legs[0].segs[0].n_words; k++)
        assert_int_equal(t.legs[0].segs[0].words[k].flags, 0);
    /* 8 + 4 + 7 + 6 + 1 + 2 words; dropped 4 + 6; flagged: Really, Bye's "now" (and "Bye"
     * at 14.0-17.75 whose middle is past 15.15) */
    assert_int_equal(t.words, 28);
    assert_int_equal(t.dropped_words, 10);
    assert_int_equal(t.flagged_words, 3);
    assert_true(fabs(tx_hallucination_rate(&t) - 13.0 / 28.0) < 1e-9);
    /* turns: one speaker, joined across pauses under 1.5 s */
    assert_true(t.n_turns >= 2);
    assert_string_equal(t.turns[0].text, "Thank you for calling how can I help");
    char *js = tx_to_json(&t);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"start\":10.2,"));
    assert_non_null(strstr(js, "\"hallucination_rate\":0.4643"));
    assert_non_null(strstr(js, "\"reason\":\"known_phrase\""));
    char err[100];
    char *all = tx_report_with_transcript("{\"file\": \"x.wav\", \"duration\": 20.5}\n", &t, err,
                                          sizeof(err));
    assert_non_null(all);
    const char *head = "{\"file\": \"x.wav\", \"duration\": 20.5, \"transcript\": {";
    assert_int_equal(strncmp(all, head, strlen(head)), 0);
    assert_int_equal(all[strlen(all) - 1], '}');
    free(all);
    assert_null(tx_report_with_transcript("[1]", &t, err, sizeof(err)));
    free(js);
    tx_transcript_free(&t);
}

/* A mono mix diarized into two speakers: S1 at 1-3 and 3.5-5, S2 at 3-3.5 (a short reply), 5-8
 * and 12-14; the VAD's speech 1-8 and 12-14. */
static void test_speakers(void **state)
{
    (void)state;
    const double sp[][2] = {{1, 8}, {12, 14}};
    cq_speech_seg buf[2];
    cq_leg_report L = leg_with(sp, 2, NULL, 0, buf);
    L.role = CQ_ROLE_MIXED;
    cq_diar_seg s1[] = {{1, 3, 0.9}, {3.5, 5, 0.8}},
                s2[] = {{3, 3.5, 0.6}, {5, 8, 0.9}, {12, 14, 1}};
    L.has_diarization = true;
    L.diarization.n_speakers = 2;
    L.diarization.confidence = 0.8;
    L.diarization.speaker[0] = (cq_diar_speaker){.segs = s1, .n_segs = 2};
    L.diarization.speaker[1] = (cq_diar_speaker){.segs = s2, .n_segs = 3};
    tx_plan_params p = tx_plan_default_params();
    /* S1: widened to 0.8-3.2 and 3.3-5.2, then S2's segments taken out: 0.8-3 and 3.5-5 */
    tx_plan plan;
    assert_int_equal(tx_plan_speaker(&L, 0, &p, &plan), 0);
    assert_int_equal(plan.n, 1);
    assert_string_equal(plan.chunks[0].file, "S1_0.800_5.000.wav");
    assert_int_equal(plan.chunks[0].n_sent, 2);
    assert_true(fabs(plan.chunks[0].sent[0].end - 3) < 1e-9);
    assert_true(fabs(plan.chunks[0].sent[1].start - 3.5) < 1e-9);
    assert_true(fabs(plan.chunks[0].sent[1].end - 5) < 1e-9);
    assert_true(fabs(plan.speech_sec - 3.5) < 1e-9);
    tx_plan_free(&plan);
    /* S2: 3-3.5 and 5-8.2 (a pause of 1.5 s: one chunk), then 11.8-14.2 (3.6 s later) */
    assert_int_equal(tx_plan_speaker(&L, 1, &p, &plan), 0);
    assert_int_equal(plan.n, 2);
    assert_string_equal(plan.chunks[0].file, "S2_3.000_8.200.wav");
    assert_string_equal(plan.chunks[1].file, "S2_11.800_14.200.wav");
    for (size_t i = 0; i < plan.n; i++) /* nothing of S1's speech */
        for (size_t k = 0; k < plan.chunks[i].n_sent; k++)
            for (size_t j = 0; j < 2; j++)
                assert_false(plan.chunks[i].sent[k].end > s1[j].start_sec + 1e-9 &&
                             plan.chunks[i].sent[k].start < s1[j].end_sec - 1e-9);
    tx_plan_free(&plan);
    assert_int_equal(tx_plan_speaker(&L, 2, &p, &plan), -1);

    /* the transcript: two legs of the mix, S1 and S2, each checked against its own segments */
    cq_report r;
    memset(&r, 0, sizeof(r));
    r.inbound = &L;
    tx_transcript t;
    assert_int_equal(tx_transcript_init(&t, &r, &p), 0);
    assert_int_equal(t.n_legs, 2);
    assert_true(t.diarized);
    assert_int_equal(t.n_warnings, 0);
    assert_string_equal(t.legs[0].speaker, "S1");
    assert_string_equal(t.legs[1].speaker, "S2");
    assert_int_equal(t.legs[1].src, 0);
    assert_int_equal(t.legs[1].n_speech, 3);
    tx_result res;
    memset(&res, 0, sizeof(res));
    res.segs = calloc(4, sizeof(*res.segs));
    seg(&res, 0.3, 2.1, "Hello this is Anna", 1); /* 1.1-2.9 on the clock */
    seg(&res, 2.3, 2.6, "Really", 1);             /* 3.1-3.4: S2's reply, zeros to S1 */
    assert_int_equal(tx_add_chunk(&t, 0, 0, &res), 0);
    tx_result_free(&res);
    memset(&res, 0, sizeof(res));
    res.segs = calloc(4, sizeof(*res.segs));
    seg(&res, 2.5, 4.5, "I would like to pay", 1); /* 5.5-7.5 */
    assert_int_equal(tx_add_chunk(&t, 1, 0, &res), 0);
    tx_result_free(&res);
    assert_int_equal(tx_finish(&t), 0);
    assert_true(t.legs[0].segs[1].flags & TX_F_OUTSIDE_SPEECH);
    assert_int_equal(t.legs[0].segs[0].flags, 0);
    assert_string_equal(t.legs[1].segs[0].speaker, "S2");
    /* turns: S1 then S2, never merged across speakers */
    assert_int_equal(t.n_turns, 2);
    assert_string_equal(t.turns[0].speaker, "S1");
    assert_string_equal(t.turns[1].speaker, "S2");
    assert_string_equal(t.turns[1].text, "I would like to pay");
    char *js = tx_to_json(&t);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"speakers_from\":\"diarization\""));
    assert_non_null(
        strstr(js, "\"diarization\":{\"method\":\"" CQ_DIARIZE_METHOD "\",\"confidence\":0.8}"));
    assert_non_null(strstr(js, "\"leg\":\"mix\",\"role\":\"mixed\",\"speaker\":\"S2\""));
    assert_non_null(strstr(js, "{\"speaker\":\"S2\",\"start\":5.5,"));
    assert_non_null(strstr(js, "\"file\":\"S1_0.800_5.000.wav\""));
    /* stored and imported again (as the redaction does): the speakers stay */
    char err[200];
    const char *imp = "{\"segments\": [{\"speaker\": \"S1\", \"start\": 1.1, \"end\": 2.9, "
                      "\"text\": \"Hello\"}, {\"speaker\": \"S2\", \"start\": 5.5, \"end\": "
                      "7.5, \"text\": \"Yes\"}]}";
    const char *rep = "{\"speakers\": [{\"id\": \"S1\", \"segments\": [{\"start\": 1, "
                      "\"end\": 3}]}, {\"id\": \"S2\", \"segments\": [{\"start\": 5, \"end\": "
                      "8}]}], \"diarization\": {\"confidence\": 0.7}}";
    tx_transcript im;
    assert_int_equal(tx_import(imp, strlen(imp), NULL, rep, &im, err, sizeof(err)), 0);
    assert_int_equal(im.n_legs, 2);
    assert_true(im.diarized && !im.unchecked);
    assert_true(fabs(im.diar_confidence - 0.7) < 1e-9);
    assert_int_equal(im.flagged_words, 0);
    assert_string_equal(im.turns[1].speaker, "S2");
    tx_transcript_free(&im);
    free(js);
    tx_transcript_free(&t);

    /* one speaker: one mixed leg, with the warning, as before */
    L.diarization.n_speakers = 1;
    assert_int_equal(tx_transcript_init(&t, &r, &p), 0);
    assert_int_equal(t.n_legs, 1);
    assert_false(t.diarized);
    assert_string_equal(t.legs[0].speaker, "mixed");
    assert_int_equal(t.n_warnings, 1);
    assert_string_equal(t.legs[0].plan.chunks[0].file, "mixed_0.800_8.200.wav");
    js = tx_to_json(&t);
    assert_non_null(strstr(js, "\"speakers_from\":\"mix\",\"diarization\":null"));
    free(js);
    tx_transcript_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_parse_openai),
        cmocka_unit_test(test_parse_whispercpp),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_guard),
        cmocka_unit_test(test_speakers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
