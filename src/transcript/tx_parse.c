/*
 * tx_parse.c - the answers of Whisper-class servers, read from their wire formats.
 *
 * OpenAI's verbose_json (POST /v1/audio/transcriptions; Groq, vLLM and faster-whisper servers
 * answer the same shape): {"language", "duration", "text", "segments": [{"start", "end",
 * "text", "avg_logprob", "compression_ratio", "no_speech_prob", ...}], "words": [{"word",
 * "start", "end"}]}. words[] is top level and present only when word timestamps were asked for
 * and supported; each word goes into the segment its time falls in. vLLM writes -1 for
 * avg_logprob and compression_ratio, which no real decode gives for compression_ratio and which
 * is not a measured log probability either: -1 reads as unknown.
 *
 * whisper.cpp's server (POST /inference, response_format=verbose_json): the same outer shape;
 * each segment carries its own words[], which are the decoder's sub-word tokens ({"word": " Hel",
 * "probability"} and, with token timestamps on, "start"/"end"; without them whisper.cpp writes
 * -0.01). A token that begins with a space starts a new word; the others join the word before
 * (punctuation, word pieces). A word's probability is the least of its tokens'.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transcript.h"

/* Whisper's languages: ISO 639-1 code and the English name its servers may answer with. */
static const char k_lang[][2][16] = {
    {"af", "afrikaans"},  {"am", "amharic"},       {"ar", "arabic"},
    {"as", "assamese"},   {"az", "azerbaijani"},   {"ba", "bashkir"},
    {"be", "belarusian"}, {"bg", "bulgarian"},     {"bn", "bengali"},
    {"bo", "tibetan"},    {"br", "breton"},        {"bs", "bosnian"},
    {"ca", "catalan"},    {"cs", "czech"},         {"cy", "welsh"},
    {"da", "danish"},     {"de", "german"},        {"el", "greek"},
    {"en", "english"},    {"es", "spanish"},       {"et", "estonian"},
    {"eu", "basque"},     {"fa", "persian"},       {"fi", "finnish"},
    {"fo", "faroese"},    {"fr", "french"},        {"gl", "galician"},
    {"gu", "gujarati"},   {"ha", "hausa"},         {"he", "hebrew"},
    {"hi", "hindi"},      {"hr", "croatian"},      {"ht", "haitian creole"},
    {"hu", "hungarian"},  {"hy", "armenian"},      {"id", "indonesian"},
    {"is", "icelandic"},  {"it", "italian"},       {"ja", "japanese"},
    {"jw", "javanese"},   {"ka", "georgian"},      {"kk", "kazakh"},
    {"km", "khmer"},      {"kn", "kannada"},       {"ko", "korean"},
    {"la", "latin"},      {"lb", "luxembourgish"}, {"ln", "lingala"},
    {"lo", "lao"},        {"lt", "lithuanian"},    {"lv", "latvian"},
    {"mg", "malagasy"},   {"mi", "maori"},         {"mk", "macedonian"},
    {"ml", "malayalam"},  {"mn", "mongolian"},     {"mr", "marathi"},
    {"ms", "malay"},      {"mt", "maltese"},       {"my", "myanmar"},
    {"ne", "nepali"},     {"nl", "dutch"},         {"nn", "nynorsk"},
    {"no", "norwegian"},  {"oc", "occitan"},       {"pa", "punjabi"},
    {"pl", "polish"},     {"ps", "pashto"},        {"pt", "portuguese"},
    {"ro", "romanian"},   {"ru", "russian"},       {"sa", "sanskrit"},
    {"sd", "sindhi"},     {"si", "sinhala"},       {"sk", "slovak"},
    {"sl", "slovenian"},  {"sn", "shona"},         {"so", "somali"},
    {"sq", "albanian"},   {"sr", "serbian"},       {"su", "sundanese"},
    {"sv", "swedish"},    {"sw", "swahili"},       {"ta", "tamil"},
    {"te", "telugu"},     {"tg", "tajik"},         {"th", "thai"},
    {"tk", "turkmen"},    {"tl", "tagalog"},       {"tr", "turkish"},
    {"tt", "tatar"},      {"uk", "ukrainian"},     {"ur", "urdu"},
    {"uz", "uzbek"},      {"vi", "vietnamese"},    {"yi", "yiddish"},
    {"yo", "yoruba"},     {"zh", "chinese"},       {"yue", "cantonese"},
};

int tx_language_code(const char *said, char out[3])
{
    out[0] = 0;
    if (!said)
        return -1;
    char w[32];
    size_t n = 0;
    while (said[n] && n + 1 < sizeof(w)) {
        w[n] = (char)tolower((unsigned char)said[n]);
        n++;
    }
    w[n] = 0;
    if (n > 2 && (w[2] == '-' || w[2] == '_'))
        w[2] = 0; /* en-US, pt_BR */
    for (size_t i = 0; i < sizeof(k_lang) / sizeof(k_lang[0]); i++)
        if ((strlen(k_lang[i][0]) == 2 && !strcmp(w, k_lang[i][0])) || !strcmp(w, k_lang[i][1])) {
            if (strlen(k_lang[i][0]) != 2)
                return -1; /* no two-letter code */
            memcpy(out, k_lang[i][0], 3);
            return 0;
        }
    return -1;
}

void tx_result_free(tx_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        tx_segment *s = &r->segs[i];
        for (size_t k = 0; k < s->n_words; k++)
            free(s->words[k].text);
        free(s->words);
        free(s->text);
        free(s->norm);
    }
    free(r->segs);
    memset(r, 0, sizeof(*r));
}

static double num(const json_t *o, const char *key, bool minus_one_unknown)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return TX_UNKNOWN;
    double d = json_number_value(v);
    if (!isfinite(d) || (minus_one_unknown && d == -1.0))
        return TX_UNKNOWN;
    return d;
}

/* text without leading and trailing white space (malloc'd) */
static char *trimmed(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int add_word(tx_segment *s, size_t *cap, const char *text, double a, double b, double p)
{
    if (s->n_words == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        tx_word *nv = realloc(s->words, c * sizeof(*nv));
        if (!nv)
            return -1;
        s->words = nv, *cap = c;
    }
    char *t = trimmed(text);
    if (!t)
        return -1;
    s->words[s->n_words++] = (tx_word){.start = a, .end = b, .text = t, .probability = p};
    return 0;
}

static int fail(char *err, size_t errsz, const char *msg, const json_error_t *je)
{
    if (je)
        snprintf(err, errsz, "%s: %s (line %d)", msg, je->text, je->line);
    else
        snprintf(err, errsz, "%s", msg);
    return -1;
}

/* The common outer shape: a JSON object without "error", with segments[] (may be absent when
 * the text is empty). */
static json_t *outer(const char *body, size_t len, tx_result *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fail(err, errsz, "the answer is not JSON", &je);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(err, errsz, "the answer is not a JSON object", NULL);
        return NULL;
    }
    json_t *e = json_object_get(root, "error");
    if (e) {
        const char *m = json_is_string(e) ? json_string_value(e)
                        : json_is_string(json_object_get(e, "message"))
                            ? json_string_value(json_object_get(e, "message"))
                            : "no message";
        snprintf(err, errsz, "the server answered an error: %.300s", m);
        json_decref(root);
        return NULL;
    }
    const json_t *segs = json_object_get(root, "segments");
    const json_t *text = json_object_get(root, "text");
    if (segs && !json_is_array(segs)) {
        json_decref(root);
        fail(err, errsz, "the answer's segments is not an array", NULL);
        return NULL;
    }
    if (!segs && !json_is_string(text)) {
        json_decref(root);
        fail(err, errsz, "the answer has neither segments nor text", NULL);
        return NULL;
    }
    if (!segs && json_is_string(text) &&
        strspn(json_string_value(text), " \t\r\n") != strlen(json_string_value(text))) {
        json_decref(root);
        fail(err, errsz,
             "the answer has text but no segments (response_format verbose_json "
             "not honoured)",
             NULL);
        return NULL;
    }
    const json_t *lang = json_object_get(root, "language");
    if (json_is_string(lang))
        snprintf(out->language, sizeof(out->language), "%s", json_string_value(lang));
    size_t n = json_array_size(segs);
    if (n) {
        out->segs = calloc(n, sizeof(*out->segs));
        if (!out->segs) {
            json_decref(root);
            fail(err, errsz, "out of memory", NULL);
            return NULL;
        }
    }
    return root;
}

/* segment i of the answer: times, text, figures */
static int segment(const json_t *js, tx_segment *s, bool minus_one_unknown, char *err, size_t errsz)
{
    if (!json_is_object(js))
        return fail(err, errsz, "a segment is not an object", NULL);
    s->start = num(js, "start", false);
    s->end = num(js, "end", false);
    const json_t *t = json_object_get(js, "text");
    if (s->start == TX_UNKNOWN || s->end == TX_UNKNOWN || !json_is_string(t))
        return fail(err, errsz, "a segment lacks start, end or text", NULL);
    if (s->end < s->start)
        s->end = s->start;
    s->text = trimmed(json_string_value(t));
    if (!s->text)
        return fail(err, errsz, "out of memory", NULL);
    s->avg_logprob = num(js, "avg_logprob", minus_one_unknown);
    s->compression_ratio = num(js, "compression_ratio", minus_one_unknown);
    s->no_speech_prob = num(js, "no_speech_prob", false);
    return 0;
}

int tx_parse_openai(const char *body, size_t len, tx_result *out, char *err, size_t errsz)
{
    json_t *root = outer(body, len, out, err, errsz);
    if (!root)
        return -1;
    const json_t *segs = json_object_get(root, "segments"), *words = json_object_get(root, "words");
    size_t n = json_array_size(segs);
    size_t *caps = calloc(n + 1, sizeof(*caps));
    int rc = caps ? 0 : fail(err, errsz, "out of memory", NULL);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = segment(json_array_get(segs, i), &out->segs[i], true, err, errsz);
        out->n = i + 1;
    }
    if (rc == 0 && words && !json_is_array(words))
        rc = fail(err, errsz, "the answer's words is not an array", NULL);
    out->had_words = rc == 0 && json_array_size(words) > 0;
    for (size_t k = 0; rc == 0 && k < json_array_size(words) && n; k++) {
        const json_t *w = json_array_get(words, k);
        const json_t *wt = json_object_get(w, "word");
        double a = num(w, "start", false), b = num(w, "end", false);
        if (!json_is_string(wt) || a == TX_UNKNOWN || b == TX_UNKNOWN) {
            rc = fail(err, errsz, "a word lacks word, start or end", NULL);
            break;
        }
        /* its segment: the one whose span holds the word's middle, else the nearest */
        double mid = (a + b) / 2, best = INFINITY;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            const tx_segment *s = &out->segs[i];
            double d = mid < s->start ? s->start - mid : mid > s->end ? mid - s->end : 0;
            if (d < best)
                best = d, at = i;
        }
        rc = add_word(&out->segs[at], &caps[at], json_string_value(wt), a, fmax(a, b),
                      num(w, "probability", false));
        if (rc)
            fail(err, errsz, "out of memory", NULL);
    }
    free(caps);
    json_decref(root);
    if (rc)
        tx_result_free(out);
    return rc;
}

int tx_parse_whispercpp(const char *body, size_t len, tx_result *out, char *err, size_t errsz)
{
    json_t *root = outer(body, len, out, err, errsz);
    if (!root)
        return -1;
    const json_t *segs = json_object_get(root, "segments");
    int rc = 0;
    bool timed = true, any = false;
    for (size_t i = 0; rc == 0 && i < json_array_size(segs); i++) {
        const json_t *js = json_array_get(segs, i);
        tx_segment *s = &out->segs[i];
        out->n = i + 1;
        rc = segment(js, s, false, err, errsz);
        const json_t *toks = json_object_get(js, "words");
        if (rc || !json_is_array(toks))
            continue;
        size_t cap = 0;
        char word[512];
        size_t wl = 0;
        double a = 0, b = 0, p = 1;
        for (size_t k = 0; rc == 0 && k <= json_array_size(toks); k++) {
            const json_t *t = json_array_get(toks, k);
            const char *tt = t ? json_string_value(json_object_get(t, "word")) : NULL;
            if (t && !tt)
                continue;
            bool starts = !t || tt[0] == ' ';
            if (starts && wl) { /* the word so far is complete */
                word[wl] = 0;
                rc = add_word(s, &cap, word, a, b, p);
                wl = 0;
            }
            if (!t)
                break;
            if (tt[0] == '[' && tt[strlen(tt) - 1] == ']')
                continue; /* a special token such as [_BEG_] */
            double ta = num(t, "start", false), tb = num(t, "end", false);
            double tp = num(t, "probability", false);
            bool has_t = ta != TX_UNKNOWN && tb != TX_UNKNOWN && ta >= 0 && tb >= 0;
            if (!has_t)
                timed = false;
            if (wl == 0) {
                a = has_t ? ta : s->start, b = has_t ? tb : s->end, p = tp;
            } else {
                if (has_t)
                    b = fmax(b, tb);
                if (tp != TX_UNKNOWN && (p == TX_UNKNOWN || tp < p))
                    p = tp;
            }
            size_t tl = strlen(tt);
            if (wl + tl < sizeof(word)) {
                memcpy(word + wl, tt, tl);
                wl += tl;
            }
        }
        if (rc)
            fail(err, errsz, "out of memory", NULL);
        any = any || s->n_words;
    }
    /* tokens without times: keep the words (text, probability), timed by their segment */
    out->had_words = rc == 0 && any && timed;
    if (rc == 0 && any && !timed)
        for (size_t i = 0; i < out->n; i++)
            for (size_t k = 0; k < out->segs[i].n_words; k++) {
                out->segs[i].words[k].start = out->segs[i].start;
                out->segs[i].words[k].end = out->segs[i].end;
                out->segs[i].words[k].flags |= TX_F_NO_TIME;
            }
    json_decref(root);
    if (rc)
        tx_result_free(out);
    return rc;
}
