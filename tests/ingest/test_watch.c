/*
 * test_watch.c - what the folder watch decides without a folder (src/ingest/watch.c): a file
 * name as a recording (id, leg, ViciDial's date and agent, ignored names), when a recording's
 * files go into the store (legs paired, a lone leg after the wait, a mix waiting for legs, a
 * stored call changed only by a pair), and when a growing file is complete. The watcher itself
 * runs over real files in tests/pipeline/test_watch.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/ingest/ingest.h"

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *rid; /* NULL: not taken */
        int kind;
        const char *date, *agent;
    } k[] = {
        {"20240105-093000_5551234_ann-in.wav", "20240105-093000_5551234_ann", INGEST_WATCH_IN,
         "2024-01-05 09:30:00", "ann"},
        {"20240105-093000_5551234_ann-out.WAV", "20240105-093000_5551234_ann", INGEST_WATCH_OUT,
         "2024-01-05 09:30:00", "ann"},
        {"20240105-093000_5551234-all.mp3", "20240105-093000_5551234", INGEST_WATCH_MIX,
         "2024-01-05 09:30:00", ""},
        {"20240229-235959_1_a.b-c.gsm", "20240229-235959_1_a.b-c", INGEST_WATCH_PLAIN,
         "2024-02-29 23:59:59", "a.b-c"},
        /* not exactly ViciDial's name: no date, no agent (never guessed) */
        {"20230229-120000_555_ann.wav", "20230229-120000_555_ann", INGEST_WATCH_PLAIN, "", ""},
        {"20240105-246000_555.wav", "20240105-246000_555", INGEST_WATCH_PLAIN, "", ""},
        {"20240105-093000_55x5_ann.wav", "20240105-093000_55x5_ann", INGEST_WATCH_PLAIN, "", ""},
        {"20240105-093000_555_ann_bob.wav", "20240105-093000_555_ann_bob", INGEST_WATCH_PLAIN, "",
         ""},
        {"20240105-093000_555_.wav", "20240105-093000_555_", INGEST_WATCH_PLAIN, "", ""},
        {"20240105_093000_555.wav", "20240105_093000_555", INGEST_WATCH_PLAIN, "", ""},
        {"call01_normal.wav", "call01_normal", INGEST_WATCH_PLAIN, "", ""},
        {"x-IN.wav", "x-IN", INGEST_WATCH_PLAIN, "", ""},
        {"a-in-out.wav", "a-in", INGEST_WATCH_OUT, "", ""},
        {"caf\xe9-in.wav", "caf\xe9", INGEST_WATCH_IN, "", ""}, /* Latin-1, kept as it is */
        /* not taken */
        {".x-in.wav", NULL, 0, NULL, NULL},
        {"x-in.wav.part", NULL, 0, NULL, NULL},
        {"x.wav.TMP", NULL, 0, NULL, NULL},
        {"notes.txt", NULL, 0, NULL, NULL},
        {"wav", NULL, 0, NULL, NULL},
        {"-in.wav", NULL, 0, NULL, NULL},
        {".wav", NULL, 0, NULL, NULL},
        {"a\nb.wav", NULL, 0, NULL, NULL},
        {"", NULL, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        ingest_watch_name nm;
        const char *why = "unset";
        int r = ingest_watch_parse_name(k[i].name, &nm, &why);
        if (!k[i].rid) {
            if (r != 0 || !why || !why[0])
                fail_msg("'%s' taken (or no reason)", k[i].name);
            continue;
        }
        if (r != 1)
            fail_msg("'%s' not taken: %s", k[i].name, why);
        assert_string_equal(nm.recording_id, k[i].rid);
        assert_int_equal(nm.kind, k[i].kind);
        assert_string_equal(nm.call_date, k[i].date);
        assert_string_equal(nm.agent_user, k[i].agent);
    }
    /* a long name: a prefix and a hash, the same for each of its legs, not cutting UTF-8 */
    char a[300], b[300], c[300];
    memset(a, 'x', 240);
    memcpy(a + 46, "\xc3\xa9", 2); /* 'é' across the cut at 47 */
    snprintf(a + 240, sizeof(a) - 240, "-in.wav");
    memcpy(b, a, 240);
    snprintf(b + 240, sizeof(b) - 240, "-out.mp3");
    memcpy(c, a, 240);
    c[239] = 'y';
    snprintf(c + 240, sizeof(c) - 240, "-in.wav");
    ingest_watch_name na, nb, nc;
    assert_int_equal(ingest_watch_parse_name(a, &na, NULL), 1);
    assert_int_equal(ingest_watch_parse_name(b, &nb, NULL), 1);
    assert_int_equal(ingest_watch_parse_name(c, &nc, NULL), 1);
    assert_string_equal(na.recording_id, nb.recording_id);
    assert_string_not_equal(na.recording_id, nc.recording_id);
    assert_true(strlen(na.recording_id) <= 64);
    assert_int_equal(strlen(na.recording_id), 46 + 1 + 16);
    assert_int_equal(na.recording_id[46], '~');
    memset(a, 0x80, 240); /* not UTF-8: the cut goes back at most 3 bytes */
    snprintf(a + 240, sizeof(a) - 240, "-in.wav");
    assert_int_equal(ingest_watch_parse_name(a, &na, NULL), 1);
    assert_int_equal(strlen(na.recording_id), 44 + 1 + 16);
    assert_int_equal(na.recording_id[44], '~');
    memset(a, 'z', 256);
    a[256] = 0;
    assert_int_equal(ingest_watch_parse_name(a, &na, NULL), 0); /* over 255 bytes */
}

static void test_decide(void **state)
{
    (void)state;
    enum {
        I = INGEST_WATCH_IN,
        O = INGEST_WATCH_OUT,
        M = INGEST_WATCH_MIX,
        P = INGEST_WATCH_PLAIN,
        K = INGEST_WATCH_KNOWN
    };
    static const struct {
        unsigned have, stubs, known;
        double first, now;
        ingest_watch_action want;
        double wake;
    } k[] = {
        {I | O, 0, 0, 100, 100, INGEST_WATCH_PAIR, 0},     /* legs pair at once */
        {I | O | M, 0, 0, 100, 100, INGEST_WATCH_PAIR, 0}, /* legs win over the mix */
        {I, 0, 0, 100, 150, INGEST_WATCH_WAIT, 220},       /* a lone leg waits */
        {O, 0, 0, 100, 219.9, INGEST_WATCH_WAIT, 220},
        {I, 0, 0, 100, 220, INGEST_WATCH_LONE, 0}, /* then goes alone */
        {O, I, 0, 100, 220, INGEST_WATCH_LONE, 0}, /* a stub leg is no leg */
        {I, O, 0, 100, 150, INGEST_WATCH_WAIT, 220},
        {M, 0, 0, 100, 150, INGEST_WATCH_WAIT, 220}, /* a mix waits for legs */
        {M, 0, 0, 100, 220, INGEST_WATCH_WHOLE, 0},
        {M | I, 0, 0, 100, 220, INGEST_WATCH_WHOLE, 0}, /* mix + one leg: the mix */
        {P, 0, 0, 100, 100, INGEST_WATCH_WHOLE, 0},     /* a plain file at once */
        {0, P, 0, 100, 150, INGEST_WATCH_WAIT, 220},    /* stubs only: wait, then a stub */
        {0, I | O, 0, 100, 220, INGEST_WATCH_STUB, 0},
        {0, 0, 0, 100, 220, INGEST_WATCH_NOTHING, 0},             /* every file vanished */
        {I | O, 0, K | I | O, 100, 100, INGEST_WATCH_NOTHING, 0}, /* stored: a restart */
        {I | O, 0, K, 100, 100, INGEST_WATCH_PAIR, 0},            /* stored lone leg: the pair */
        {I, 0, K, 100, 100, INGEST_WATCH_NOTHING, 0},             /* stored: no wait, nothing */
        {M, 0, K | I | O, 100, 300, INGEST_WATCH_NOTHING, 0},
        {P, 0, K, 100, 100, INGEST_WATCH_NOTHING, 0},
        {I, 0, 0, 100, 100, INGEST_WATCH_WAIT, 220},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        double wake = -1;
        ingest_watch_action a = ingest_watch_decide(k[i].have, k[i].stubs, k[i].known, k[i].first,
                                                    k[i].now, 120, &wake);
        if (a != k[i].want || wake != k[i].wake)
            fail_msg("case %zu: action %d wake %g, want %d wake %g", i, a, wake, k[i].want,
                     k[i].wake);
    }
    double wake;
    /* no wait at all: a lone leg goes at once */
    assert_int_equal(ingest_watch_decide(I, 0, 0, 100, 100, 0, &wake), INGEST_WATCH_LONE);
}

static void test_settle(void **state)
{
    (void)state;
    ingest_watch_obs o;
    memset(&o, 0, sizeof(o));
    /* first look: never settled, however old */
    assert_int_equal(ingest_watch_settle(&o, 1000, 5, 100, 5), 0);
    assert_int_equal(ingest_watch_settle(&o, 1000, 5, 103, 5), 0); /* 3 s unchanged */
    assert_int_equal(ingest_watch_settle(&o, 2000, 6, 104, 5), 0); /* grew: starts again */
    assert_int_equal(ingest_watch_settle(&o, 2000, 6, 108.9, 5), 0);
    assert_int_equal(ingest_watch_settle(&o, 2000, 7, 109, 5), 0); /* touched: mtime moved */
    assert_int_equal(ingest_watch_settle(&o, 2000, 7, 114, 5), 1);
    assert_int_equal(o.looks, 2);
    /* a file rewritten to the same size with the same mtime is the same to a poller */
    assert_int_equal(ingest_watch_settle(&o, 2000, 7, 120, 5), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_settle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
