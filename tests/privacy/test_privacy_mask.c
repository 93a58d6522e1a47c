/*
 * test_privacy_mask.c - normalisation before detection and the one walk (docs/privacy.md,
 * "Normalisation before detection", "One walk"):
 *   - the normaliser's view of every form of a digit, dash, space and invisible separator;
 *   - a card number and an SSN written in each of those forms (en dash, full width,
 *     Arabic-Indic, zero-width space, no-break space, a stray digit, ...) redacted in a
 *     transcript (pv_redact_transcript) and in a quote (pv_redact_string), and found by the
 *     verification's Luhn scan before (pv_luhn_runs_text, pv_luhn_runs_transcript);
 *   - the masker of a string (pv_masker_text): the planted forms, keyed digits quoted in a
 *     sentence, one-digit strings where a sentence speaks of keyed digits;
 *   - the false positives: uniqueids (a Luhn-valid one too), Call-IDs, timestamps, SIP and tel
 *     URIs with extensions, channels, addresses, SSRCs, hashes, durations and figures are left
 *     as they are, in a string and through the walk of a report (pl_redact_mask_report);
 *   - the walk of an /investigate answer: cross_checks.dtmf.in_band, finding messages with one
 *     digit, explanation; keyed fields written in other scripts or in words;
 *   - the walk's time grows linearly with the streams of distinct keyed digits (it grew with
 *     their square).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../src/pipeline/pipeline.h"
#include "../../src/privacy/privacy.h"

/* ---- the planted numbers in every form ------------------------------------------------------ */

#define CARD "4111111111111111"
#define SSN "123456789"

typedef struct form {
    const char *name;
    const char *text; /* the number as written */
} form;

/* a card in each form (4111 1111 1111 1111) */
static const form k_cards[] = {
    {"plain", "4111111111111111"},
    {"spaces", "4111 1111 1111 1111"},
    {"hyphen-minus", "4111-1111-1111-1111"},
    {"en dash", "4111\u20131111\u20131111\u20131111"},
    {"em dash", "4111\u20141111\u20141111\u20141111"},
    {"figure dash", "4111\u20121111\u20121111\u20121111"},
    {"hyphen", "4111\u20101111\u20101111\u20101111"},
    {"non-breaking hyphen", "4111\u20111111\u20111111\u20111111"},
    {"minus sign", "4111\u22121111\u22121111\u22121111"},
    {"full-width hyphen", "4111\uff0d1111\uff0d1111\uff0d1111"},
    {"full-width digits", "\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"
                          "\uff11\uff11\uff11\uff11\uff11"},
    {"full-width digits and spaces", "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 "
                                     "\uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"},
    {"full-width with ideographic spaces", "\uff14\uff11\uff11\uff11\u3000\uff11\uff11\uff11\uff11"
                                           "\u3000\uff11\uff11\uff11\uff11\u3000\uff11\uff11\uff11"
                                           "\uff11"},
    {"Arabic-Indic", "\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661"
                     "\u0661\u0661\u0661\u0661"},
    {"extended Arabic-Indic", "\u06f4\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1"
                              "\u06f1\u06f1\u06f1\u06f1\u06f1"},
    {"Devanagari", "\u096a\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 "
                   "\u0967\u0967\u0967\u0967"},
    {"Bengali", "\u09ea\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7\u09e7"
                "\u09e7\u09e7\u09e7"},
    {"Thai", "\u0e54\u0e51\u0e51\u0e51-\u0e51\u0e51\u0e51\u0e51-\u0e51\u0e51\u0e51\u0e51-\u0e51"
             "\u0e51\u0e51\u0e51"},
    {"mathematical bold", "\U0001d7d2\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf"
                          "\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf"
                          "\U0001d7cf\U0001d7cf"},
    {"mixed scripts", "4\uff11\u0661\u0967 1111 \u06f1\u06f1\u06f1\u06f1 1111"},
    {"zero-width space", "4111\u200b1111\u200b1111\u200b1111"},
    {"zero-width non-joiner", "4111\u200c1111\u200c1111\u200c1111"},
    {"zero-width joiner", "4111\u200d1111\u200d1111\u200d1111"},
    {"word joiner", "4111\u20601111\u20601111\u20601111"},
    {"byte order mark", "4111\ufeff1111\ufeff1111\ufeff1111"},
    {"soft hyphen", "4111\u00ad1111\u00ad1111\u00ad1111"},
    {"zero-width space between every digit", "4\u200b1\u200b1\u200b1\u200b1\u200b1\u200b1\u200b1"
                                             "\u200b1\u200b1\u200b1\u200b1\u200b1\u200b1\u200b1"
                                             "\u200b1"},
    {"no-break space", "4111\u00a01111\u00a01111\u00a01111"},
    {"narrow no-break space", "4111\u202f1111\u202f1111\u202f1111"},
    {"thin space", "4111\u20091111\u20091111\u20091111"},
    {"hair space", "4111\u200a1111\u200a1111\u200a1111"},
    {"figure space", "4111\u20071111\u20071111\u20071111"},
    {"en dash and zero-width space", "4111\u2013\u200b1111\u2013\u200b1111\u2013\u200b1111"},
    {"a stray digit after the groups", "4111 1111 1111 1111 7"},
    {"a stray digit after, written whole", "41111111111111117"},
    {"a stray digit before", "7 4111 1111 1111 1111"},
    {"a stray digit before, written whole", "74111111111111111"},
    {"a stray digit after, en dashes", "4111\u20131111\u20131111\u20131111\u20137"},
    {"a stray digit after, full width", "\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"
                                        "\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff17"},
};
#define N_CARDS (sizeof(k_cards) / sizeof(k_cards[0]))

/* an SSN in each form (123-45-6789), said after its cue */
static const form k_ssns[] = {
    {"hyphen-minus", "123-45-6789"},
    {"en dash", "123\u201345\u20136789"},
    {"minus sign", "123\u221245\u22126789"},
    {"full-width", "\uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19"},
    {"Arabic-Indic", "\u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669"},
    {"zero-width spaces", "123\u200b45\u200b6789"},
    {"no-break spaces", "123\u00a045\u00a06789"},
    {"whole", "123456789"},
};
#define N_SSNS (sizeof(k_ssns) / sizeof(k_ssns[0]))

/* Whether s holds the digits d in order, read as the normaliser reads them, with at most one
 * other character between two of them (an independent reading: unicode escapes decoded by
 * hand for the forms above would repeat the code; this reads the normaliser's view only where
 * the test says so). */
static bool holds_digits(const char *s, const char *d)
{
    char *v = pv_normalize(s);
    assert_non_null(v);
    size_t n = strlen(v), m = strlen(d);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        size_t k = 0, p = i, gap = 0;
        while (p < n && k < m) {
            if (v[p] == d[k])
                k++, gap = 0;
            else if (++gap > 1 || (v[p] >= '0' && v[p] <= '9'))
                break;
            p++;
        }
        found = k == m;
    }
    free(v);
    return found;
}

/* ---- the normaliser ------------------------------------------------------------------------- */

static void test_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } k[] = {
        {"\uff14\uff11\uff11\uff11", "4111"},                       /* full width */
        {"\u0664\u0661\u0662\u0663", "4123"},                       /* Arabic-Indic */
        {"\u06f7\u06f8", "78"},                                     /* extended Arabic-Indic */
        {"\u096a\u0967", "41"},                                     /* Devanagari */
        {"\u00b9\u00b2\u00b3\u2074", "1234"},                       /* superscripts */
        {"\u2460\u2461", "12"},                                     /* circled */
        {"a\u2013b\u2014c\u2012d\u2212e\u2010f", "a-b-c-d-e-f"},    /* dashes and minus */
        {"a\u00a0b\u202fc\u2009d\u200ae\u3000f", "a b c d e f"},    /* spaces */
        {"a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg", "abcdefg"}, /* invisible */
        {"4\ufe0f\u20e3", "4"},                                     /* a keycap */
        {"\uff03\uff0a", "#*"},                                     /* full-width # and * */
        {"caf\u00e9 \xff ok", "caf\u00e9 \xff ok"}, /* as it is: letters, bad bytes */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char *v = pv_normalize(k[i].in);
        assert_non_null(v);
        if (strcmp(v, k[i].out))
            fail_msg("normalise #%zu: '%s', expected '%s'", i, v, k[i].out);
        free(v);
    }
}

/* ---- the forms redacted in a transcript and a quote ------------------------------------------ */

/* a transcript of one customer segment saying text, its words given (split at ASCII spaces),
 * or none (read from its text) */
static void one_segment(const char *text, bool words, tx_transcript *t)
{
    json_t *seg = json_pack("{s:s, s:f, s:f, s:s}", "speaker", "customer", "start", 1.0, "end", 9.0,
                            "text", text);
    if (words) {
        json_t *ws = json_array();
        char *copy = strdup(text), *save = NULL;
        double at = 1.0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save), at += 0.3)
            json_array_append_new(
                ws, json_pack("{s:s, s:f, s:f}", "word", w, "start", at, "end", at + 0.25));
        free(copy);
        json_object_set_new(seg, "words", ws);
    }
    json_t *body = json_pack("{s:[o]}", "segments", seg);
    char *js = json_dumps(body, 0);
    json_decref(body);
    char err[200];
    if (tx_import(js, strlen(js), NULL, NULL, t, err, sizeof(err)) != 0)
        fail_msg("import: %s", err);
    free(js);
}

/* every string of t */
static bool transcript_holds(const tx_transcript *t, const char *d)
{
    for (int li = 0; li < t->n_legs; li++)
        for (size_t k = 0; k < t->legs[li].n; k++) {
            const tx_segment *g = &t->legs[li].segs[k];
            if ((g->text && holds_digits(g->text, d)) || (g->norm && holds_digits(g->norm, d)))
                return true;
            for (size_t w = 0; w < g->n_words; w++)
                if (holds_digits(g->words[w].text, d))
                    return true;
        }
    for (size_t u = 0; u < t->n_turns; u++)
        if (holds_digits(t->turns[u].text, d))
            return true;
    return false;
}

static void redact_case(const char *name, const char *text, const char *digits, pv_type type)
{
    pv_settings s = pv_default_settings();
    for (int words = 0; words < 2; words++) {
        tx_transcript t;
        one_segment(text, words, &t);
        if (type == PV_CARD && pv_luhn_runs_transcript(&t) == 0)
            fail_msg("%s (%s): the verification's Luhn scan does not see it", name,
                     words ? "words" : "text");
        pv_redaction r;
        assert_int_equal(pv_redact_transcript(&t, &s, &r), 0);
        if (r.counts[type] < 1)
            fail_msg("%s (%s): not found as %s", name, words ? "words" : "text",
                     pv_type_name(type));
        if (transcript_holds(&t, digits))
            fail_msg("%s (%s): its digits are left: '%s'", name, words ? "words" : "text",
                     t.legs[0].segs[0].text);
        assert_int_equal(pv_luhn_runs_transcript(&t), 0);
        assert_int_equal(pv_scan_transcript(&t, &s), 0);
        pv_redaction_free(&r);
        tx_transcript_free(&t);
    }
    /* a quote kept elsewhere (a score's evidence) */
    char *q = strdup(text);
    size_t counts[PV_N_TYPES] = {0};
    assert_int_equal(pv_redact_string(&q, &s, CQ_ROLE_CUSTOMER, counts), 0);
    if (holds_digits(q, digits))
        fail_msg("%s (quote): its digits are left: '%s'", name, q);
    free(q);
}

static void test_transcript_forms(void **state)
{
    (void)state;
    char text[400];
    for (size_t i = 0; i < N_CARDS; i++) {
        snprintf(text, sizeof(text), "my card number is %s thank you", k_cards[i].text);
        redact_case(k_cards[i].name, text, CARD, PV_CARD);
    }
    for (size_t i = 0; i < N_SSNS; i++) {
        snprintf(text, sizeof(text), "my social security number is %s okay", k_ssns[i].text);
        redact_case(k_ssns[i].name, text, SSN, PV_SSN);
    }
}

/* the neighbours that are not cards stay: a Luhn-invalid number in the same forms */
static void test_transcript_neighbours(void **state)
{
    (void)state;
    static const char *const k[] = {
        "the order is 4111\u20131111\u20131111\u20131112 thanks",         /* Luhn fails */
        "the parcel is \uff15\uff13\uff15\uff17 9600 2540 6544 thanks",   /* Luhn fails */
        "the tracking code is 3885\u00a06084\u00a00537\u00a03236 thanks", /* no card inside */
        "it cost \uff14\uff10 dollars on 2026\u201311\u201325 at 09:00",  /* an amount, a date */
    };
    pv_settings s = pv_default_settings();
    s.types = 1u << PV_CARD;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char *q = strdup(k[i]);
        size_t counts[PV_N_TYPES] = {0};
        assert_int_equal(pv_redact_string(&q, &s, CQ_ROLE_CUSTOMER, counts), 0);
        if (counts[PV_CARD] || strcmp(q, k[i]))
            fail_msg("a near-miss redacted: '%s' -> '%s'", k[i], q);
        free(q);
    }
}

/* ---- one string masked ------------------------------------------------------------------------
 */

static char *masked(pv_masker *m, const char *s)
{
    char *out = NULL;
    size_t n;
    int rc = pv_masker_text(m, s, strlen(s), &out, &n);
    assert_true(rc >= 0);
    if (rc == 0) {
        assert_null(out);
        return strdup(s);
    }
    assert_int_equal(strlen(out), n);
    return out;
}

static void test_mask_forms(void **state)
{
    (void)state;
    pv_masker *m = pv_masker_create(PV_ALL_TYPES);
    assert_non_null(m);
    char text[400];
    for (size_t i = 0; i < N_CARDS; i++) {
        snprintf(text, sizeof(text), "searched for \"%s\" in calls", k_cards[i].text);
        char *o = masked(m, text);
        if (holds_digits(o, CARD) || !strstr(o, "[CARD]"))
            fail_msg("card %s: '%s'", k_cards[i].name, o);
        free(o);
    }
    for (size_t i = 0; i < N_SSNS; i++) {
        snprintf(text, sizeof(text), "ssn %s", k_ssns[i].text);
        char *o = masked(m, text);
        if (holds_digits(o, SSN) || !strstr(o, "[SSN]"))
            fail_msg("ssn %s: '%s'", k_ssns[i].name, o);
        free(o);
    }
    /* a card and an SSN spoken, as a search is typed */
    char *o = masked(m, "four one one one one one one one one one one one one one one one");
    assert_string_equal(o, "[CARD]");
    free(o);
    o = masked(m, "social security number one two three four five six seven eight nine");
    assert_null(strpbrk(o, "0123456789"));
    assert_null(strstr(o, "nine"));
    free(o);
    assert_true(pv_masker_counts(m)->counts[PV_CARD] >= N_CARDS + 1);
    pv_masker_destroy(m);
}

static void test_mask_keyed(void **state)
{
    (void)state;
    pv_masker *m = pv_masker_create(0);
    assert_int_equal(pv_masker_add_keyed(m, "8275#", 5), 0);
    assert_int_equal(pv_masker_add_keyed(m, "5", 1), 0);
    assert_int_equal(pv_masker_add_keyed(m, "\uff11\uff13\uff14\uff12", 12), 0); /* 1342 */
    static const struct {
        const char *in, *out;
    } k[] = {
        {"the digits sent were 5 but the recording's audio holds 8275#: digits were lost",
         "the digits sent were * but the recording's audio holds *****: digits were lost"},
        {"DTMF sent as RFC 4733 telephone events from 10.1.0.5:10000 -> 10.2.0.1:20000 (SSRC "
         "0x00001005): 5",
         "DTMF sent as RFC 4733 telephone events from 10.1.0.5:10000 -> 10.2.0.1:20000 (SSRC "
         "0x00001005): *"},
        {"DTMF sent in SIP INFO: 1342", "DTMF sent in SIP INFO: ****"},
        {"the caller keyed 8275 and hung up.", "the caller keyed **** and hung up."},
        {"keyed \uff18\uff12\uff17\uff15#", "keyed *****"},
        {"pause code *72 then 12#", "pause code *** then ***"},
        /* a one-digit string where no sentence speaks of keyed digits: a figure */
        {"in 5 intervals of 10 s the network lost 5 packets. The call lasted 5 s.",
         "in 5 intervals of 10 s the network lost 5 packets. The call lasted 5 s."},
        {"The call lasted 5 s. DTMF sent: 5.", "The call lasted 5 s. DTMF sent: *."},
        /* inside an identifier: left */
        {"sip:8275@10.0.0.5:5060 and 10.0.0.5", "sip:8275@10.0.0.5:5060 and 10.0.0.5"},
        {"digits 1700000000.8275 0x8275 v8275", "digits 1700000000.8275 0x8275 v8275"},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char *o = masked(m, k[i].in);
        if (strcmp(o, k[i].out))
            fail_msg("keyed #%zu: '%s', expected '%s'", i, o, k[i].out);
        free(o);
    }
    pv_masker_destroy(m);
}

/* ---- the false positives ------------------------------------------------------------------ */

/* strings an answer holds that must come out as they went in, with every type on and keyed
 * digits that equal parts of them */
static const char *const k_kept[] = {
    "1700000000.12345",
    "1700000000.12349", /* Luhn-valid read as 15 digits */
    "uniqueid 1714645800.4411 linkedid 1714645800.4410",
    /* each uniqueid and the figure after it pass Luhn read as one number */
    "call 1714645800.4411 4 streams, 1700000000.12348 5009 and 1700000000.12348-1",
    "1764061200.123456 1764061200.1234567",
    "a84b4c76e66710@pc33.atlanta.com",
    "3848276298220188511@atlanta.example.com",
    "c0a80101-0000-4000-8000-411111111111",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "2026-11-25 09:00:00",
    "2026-11-25T09:00:00Z",
    "2026-11-25T09:00:00.123456+01:00",
    "20261125T090000Z",
    "20261125-090000_1001_4155551234-all.wav",
    "Tue, 25 Nov 2026 09:00:00 GMT",
    "<sip:1001@10.0.0.1:5060;transport=udp>",
    "\"Alice\" <sip:4111111111111111@pbx.example.com>;tag=1928301774",
    "sips:+14155551234@carrier.example.com",
    "tel:+1-415-555-1234",
    "tel:4111111111111111",
    "SIP/1001-0000002a",
    "PJSIP/trunk-00000012",
    "Local/8275@from-internal-00000001;1",
    "IAX2/pbx-4111",
    "10.0.0.1:5060 -> 192.168.100.200:16384",
    "[2001:db8::1]:5060",
    "SSRC 0x11223344, 0x00008275",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "V0502103030000884213",
    "caller code V1125090000004111111111111111",
    "the call lasted 12.5 s, 4275 ms of it silent",
    "5 streams carried 1234567 packets, 5 lost (0.5 %)",
    "Q.850 cause 16, SIP 486 Busy Here, RFC 3550",
    "recording 50-60 s",
    "G.711 at 8000 Hz, 64 kbit/s",
    "version 1.4.12345.67890",
    "+14155551234",
};

static void test_false_positives(void **state)
{
    (void)state;
    pv_masker *m = pv_masker_create(PV_ALL_TYPES);
    /* keyed digits that equal parts of the identifiers */
    static const char *const keyed[] = {"8275", "1001", "4411", "5", "12", "4111", "1234"};
    for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
        assert_int_equal(pv_masker_add_keyed(m, keyed[i], strlen(keyed[i])), 0);
    for (size_t i = 0; i < sizeof(k_kept) / sizeof(k_kept[0]); i++) {
        char *o = masked(m, k_kept[i]);
        if (strcmp(o, k_kept[i]))
            fail_msg("changed: '%s' -> '%s'", k_kept[i], o);
        free(o);
    }
    pv_masker_destroy(m);
}

/* ---- the walk of a report and of an answer ----------------------------------------------------
 */

static const char *const k_answer =
    "{\"explanation\": \"The recording: the digits sent as RFC 4733 events were 5 but the "
    "recording's audio holds 8275#: digits were lost (xcheck_dtmf_mismatch). The call lasted 5 "
    "s.\","
    " \"findings\": [{\"code\": \"rtp_dtmf\", \"message\": \"DTMF sent as RFC 4733 telephone "
    "events "
    "from 10.0.0.1:4000 -> 10.0.0.2:5000 (SSRC 0x11223344): 5\", \"values\": {\"digits\": \"5\"},"
    " \"call_id\": \"a84b4c76e66710@pc33.atlanta.com\"},"
    " {\"code\": \"xcheck_dtmf_mismatch\", \"message\": \"the digits sent as RFC 4733 events were 5"
    " but the recording's audio holds 8275#: digits were lost\", \"values\": {\"sent\": \"5\","
    " \"in_band\": \"8275#\"}},"
    " {\"code\": \"sip_hangup\", \"message\": \"INVITE 1: the caller hung up after 5 s\"}],"
    " \"dialogs\": [{\"call_id\": \"1714645800.4411@10.0.0.1\", \"uniqueid\": \"1714645800.4411\","
    " \"from\": \"<sip:1001@10.0.0.1>\", \"caller\": \"4111 1111 1111 1111\", \"start\": "
    "\"2026-11-25 09:00:00\", \"info_digits\": \"1342\", \"reason_text\": \"card 4111\u2013"
    "1111\u20131111\u20131111 ssn \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19\"}],"
    " \"streams\": [{\"ssrc\": \"0x11223344\", \"digits\": \"5\", \"src\": \"10.0.0.1\"}],"
    " \"cross_checks\": {\"dtmf\": {\"rfc4733\": \"5\", \"sip_info\": \"1342\", \"in_band\": "
    "\"8275#\", \"agree\": false}},"
    " \"recording\": {\"file\": \"recording\", \"duration_sec\": 72.0}}";

static void test_walk_answer(void **state)
{
    (void)state;
    json_t *o = json_loads(k_answer, 0, NULL);
    assert_non_null(o);
    size_t n = 0;
    assert_int_equal(pl_redact_mask_report(o, PV_ALL_TYPES, &n), 0);
    char *s = json_dumps(o, 0);
    assert_null(strstr(s, "8275"));
    assert_null(strstr(s, "1342"));
    assert_false(holds_digits(s, CARD));
    assert_false(holds_digits(s, SSN));
    json_t *dt = json_object_get(json_object_get(o, "cross_checks"), "dtmf");
    assert_string_equal(json_string_value(json_object_get(dt, "in_band")), "*****");
    assert_string_equal(json_string_value(json_object_get(dt, "rfc4733")), "*");
    json_t *f = json_object_get(o, "findings");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "message")),
                        "DTMF sent as RFC 4733 telephone events from 10.0.0.1:4000 -> "
                        "10.0.0.2:5000 (SSRC 0x11223344): *");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "message")),
                        "the digits sent as RFC 4733 events were * but the recording's audio "
                        "holds *****: digits were lost");
    /* figures and identifiers as they were */
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 2), "message")),
                        "INVITE 1: the caller hung up after 5 s");
    assert_string_equal(json_string_value(json_object_get(o, "explanation")),
                        "The recording: the digits sent as RFC 4733 events were * but the "
                        "recording's audio holds *****: digits were lost (xcheck_dtmf_mismatch). "
                        "The call lasted 5 s.");
    json_t *d = json_array_get(json_object_get(o, "dialogs"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "call_id")),
                        "1714645800.4411@10.0.0.1");
    assert_string_equal(json_string_value(json_object_get(d, "uniqueid")), "1714645800.4411");
    assert_string_equal(json_string_value(json_object_get(d, "from")), "<sip:1001@10.0.0.1>");
    assert_string_equal(json_string_value(json_object_get(d, "start")), "2026-11-25 09:00:00");
    assert_string_equal(json_string_value(json_object_get(d, "caller")), "[CARD]");
    assert_string_equal(json_string_value(json_object_get(d, "reason_text")),
                        "card [CARD] ssn [SSN]");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "call_id")),
                        "a84b4c76e66710@pc33.atlanta.com");
    assert_true(n >= 9);
    free(s);
    json_decref(o);
}

/* keyed fields written in other scripts, or in words: no keyed symbol left in them, read as the
 * masker reads them (a lone Arabic-Indic digit was kept: the first walk masked ASCII only) */
static void test_walk_keyed_scripts(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "digits", "\u0664", "info_digits",
                          "\uff11\uff12\uff13#", "digit", "\u00b9", "dtmf_digits",
                          "four one one one one one one one one one one one one "
                          "one one one");
    assert_non_null(o);
    size_t n = 0;
    assert_int_equal(pl_redact_mask_report(o, PV_ALL_TYPES, &n), 0);
    assert_string_equal(json_string_value(json_object_get(o, "digits")), "*");
    assert_string_equal(json_string_value(json_object_get(o, "info_digits")), "****");
    assert_string_equal(json_string_value(json_object_get(o, "digit")), "*");
    assert_string_equal(json_string_value(json_object_get(o, "dtmf_digits")), "[CARD]");
    assert_int_equal(n, 4);
    json_decref(o);
}

/* a report whose strings are all identifiers and figures: not one changed by the walk */
static void test_walk_keeps(void **state)
{
    (void)state;
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < sizeof(k_kept) / sizeof(k_kept[0]); i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "text", k_kept[i], "message", k_kept[i]));
    json_object_set_new(o, "strings", a);
    /* keyed digits that equal parts of them */
    json_object_set_new(
        o, "events",
        json_pack("[{s:s},{s:s},{s:s}]", "digits", "8275", "digits", "1001", "digits", "4411"));
    size_t n = 0;
    assert_int_equal(pl_redact_mask_report(o, PV_ALL_TYPES, &n), 0);
    if (n != 3) {
        char *s = json_dumps(o, JSON_INDENT(1));
        fail_msg("%zu strings changed, not the 3 digit fields: %s", n, s);
    }
    for (size_t i = 0; i < sizeof(k_kept) / sizeof(k_kept[0]); i++) {
        json_t *x = json_array_get(json_object_get(o, "strings"), i);
        assert_string_equal(json_string_value(json_object_get(x, "text")), k_kept[i]);
        assert_string_equal(json_string_value(json_object_get(x, "message")), k_kept[i]);
    }
    json_decref(o);
}

/* ---- linear time -------------------------------------------------------------------------- */

/* an answer of n streams, each with its own keyed digits quoted in its finding */
static json_t *streams_answer(size_t n)
{
    json_t *o = json_object(), *ss = json_array(), *fs = json_array();
    for (size_t i = 0; i < n; i++) {
        char d[16], msg[200], src[32];
        snprintf(d, sizeof(d), "%05zu#", i);
        snprintf(src, sizeof(src), "10.1.%zu.%zu", (i >> 8) & 255, i & 255);
        snprintf(msg, sizeof(msg),
                 "DTMF sent as RFC 4733 telephone events from %s:%zu -> 10.2.0.1:20000 (SSRC "
                 "0x%08zX): %s",
                 src, 10000 + i % 50000, 0x1000 + i, d);
        json_array_append_new(ss, json_pack("{s:s, s:i, s:s, s:f}", "src", src, "src_port",
                                            (int)(10000 + i % 50000), "digits", d, "start_sec",
                                            0.0001 * (double)i));
        json_array_append_new(fs, json_pack("{s:s, s:s, s:{s:s}}", "code", "rtp_dtmf", "message",
                                            msg, "values", "digits", d));
    }
    json_object_set_new(o, "streams", ss);
    json_object_set_new(o, "findings", fs);
    return o;
}

/* The walk's CPU time (the best of three): the wall clock would also count the time this process
 * waited for a core on a loaded machine. */
static double walk_sec(size_t n)
{
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        json_t *o = streams_answer(n);
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        assert_int_equal(pl_redact_mask_report(o, PV_ALL_TYPES, NULL), 0);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        double t = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        if (t < best)
            best = t;
        /* every digit string masked */
        char *s = json_dumps(o, 0);
        assert_null(strchr(s, '#'));
        free(s);
        json_decref(o);
    }
    return best;
}

static void test_linear(void **state)
{
    (void)state;
    double t2 = walk_sec(2000), t16 = walk_sec(16000);
    printf("the walk: 2,000 streams %.3f s of CPU, 16,000 streams %.3f s (x%.1f for 8 times the "
           "streams)\n",
           t2, t16, t16 / t2);
    /* linear: about 8 times; the quadratic walk took 64 times */
    assert_true(t16 < 20 * t2 + 0.05);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_transcript_forms),
        cmocka_unit_test(test_transcript_neighbours),
        cmocka_unit_test(test_mask_forms),
        cmocka_unit_test(test_mask_keyed),
        cmocka_unit_test(test_false_positives),
        cmocka_unit_test(test_walk_answer),
        cmocka_unit_test(test_walk_keeps),
        cmocka_unit_test(test_walk_keyed_scripts),
        cmocka_unit_test(test_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
