/*
 * test_config.c - the settings are declared once (src/config/config.c's table): the engine's
 * own defaults agree with the analysis settings' defaults, every shown default is a value the
 * setting accepts, the flags are the settings', and docs/config.md has a row for each setting
 * with its flag and default and no row for a setting that does not exist.
 *   test_config [DOC]          the checks (DOC: docs/config.md, or another page to check)
 *   test_config --flags GROUP  each flag of the group (analysis, asr) with a value it accepts,
 *                              one per line, for tests/cli/test_flags.sh
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/config/cfg_engine.h"

static const char *g_doc = CQ_SOURCE_DIR "/docs/config.md";

static void defaults_match_engine(void **state)
{
    (void)state;
    static cfg_settings s;
    cfg_defaults(&s);
    cq_engine_params want = cq_engine_default_params(), got = want;
    memset(&got.speech, 0xA5, sizeof(got.speech)); /* every field must be set from the settings */
    got.silence_noise_db = got.silence_min_duration_sec = got.nisqa_window_sec = NAN;
    got.vad_model = NULL;
    cfg_engine_params(&s, &got);
    assert_true(got.silence_noise_db == want.silence_noise_db);
    assert_true(got.silence_min_duration_sec == want.silence_min_duration_sec);
    assert_int_equal(got.channel_map, want.channel_map);
    assert_string_equal(got.vad_model, want.vad_model);
    assert_true(got.speech.threshold == want.speech.threshold);
    assert_true(got.speech.neg_threshold == want.speech.neg_threshold);
    assert_int_equal(got.speech.min_speech_ms, want.speech.min_speech_ms);
    assert_int_equal(got.speech.min_silence_ms, want.speech.min_silence_ms);
    assert_int_equal(got.speech.speech_pad_ms, want.speech.speech_pad_ms);
    assert_true(got.speech.max_speech_sec == want.speech.max_speech_sec);
    assert_int_equal(got.nisqa_mode, want.nisqa_mode);
    assert_true(got.nisqa_window_sec == want.nisqa_window_sec);
    assert_int_equal(got.dtmf_speech, want.dtmf_speech);
    assert_int_equal(got.dtmf_voice_cancel, want.dtmf_voice_cancel);
    assert_null(got.model_dir); /* model_dir unset: the caller's default applies */
}

/* Every default that is shown as a value is one the setting accepts, and is what
 * cfg_defaults set. */
static void defaults_accepted(void **state)
{
    (void)state;
    static cfg_settings d, s;
    cfg_defaults(&d);
    cfg_info in;
    size_t n = 0;
    for (size_t i = 0; cfg_info_at(i, &in); i++, n++) {
        if (in.computed || !strcmp(in.type, "server"))
            continue;
        s = d;
        char msg[400];
        if (cfg_set(&s, in.key, in.shown, msg, sizeof(msg)) != 0)
            fail_msg("%s: its default '%s' is refused: %s", in.key, in.shown, msg);
        if (memcmp(&s, &d, sizeof(s)) != 0)
            fail_msg("%s: cfg_defaults did not set the table's default '%s'", in.key, in.shown);
    }
    assert_true(n > 90);
}

/* cfg_defaults_zeroed on settings that are all zero gives cfg_defaults' bytes, every one, though
 * it writes only the defaults that are not zero. */
static void defaults_zeroed_same(void **state)
{
    (void)state;
    static cfg_settings full, zeroed;
    memset(&full, 0x5A, sizeof(full)); /* cfg_defaults clears what it does not set */
    cfg_defaults(&full);
    cfg_defaults_zeroed(&zeroed);
    assert_memory_equal(&full, &zeroed, sizeof(full));
}

static void flags_unique(void **state)
{
    (void)state;
    cfg_info a, b;
    for (size_t i = 0; cfg_info_at(i, &a); i++) {
        assert_true(!a.flag || a.groups); /* a flag belongs to a subcommand's group */
        for (size_t j = i + 1; cfg_info_at(j, &b); j++) {
            if (!strcmp(a.key, b.key))
                fail_msg("setting %s declared twice", a.key);
            if (a.flag && b.flag && !strcmp(a.flag, b.flag))
                fail_msg("flag --%s given to %s and %s", a.flag, a.key, b.key);
        }
    }
}

/* ---- docs/config.md ------------------------------------------------------------------------ */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

/* The rows of the page's settings tables: lines "| `key`[, `key`...] | ... |" with 4 cells
 * (setting, flag, default, meaning). */
typedef struct row {
    char cell[4][2048];
} row;

static int rows_of(const char *doc, row **out)
{
    int n = 0, cap = 0;
    *out = NULL;
    for (const char *l = doc; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "| `", 3) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = realloc(*out, (size_t)cap * sizeof(row));
        }
        row *r = &(*out)[n];
        memset(r, 0, sizeof(*r));
        const char *p = l + 1;
        int c = 0;
        while (c < 4 && *p && *p != '\n') {
            size_t k = 0;
            while (*p && *p != '\n' && !(*p == '|' && p[-1] != '\\'))
                if (k + 1 < sizeof(r->cell[c]))
                    r->cell[c][k++] = *p++;
                else
                    p++;
            while (k && r->cell[c][k - 1] == ' ')
                k--;
            r->cell[c][k] = 0;
            memmove(r->cell[c], r->cell[c] + strspn(r->cell[c], " "), k + 1);
            c++;
            if (*p == '|')
                p++;
        }
        if (c == 4)
            n++;
    }
    return n;
}

/* `key` among the backticked names of a setting cell */
static int names(const char *cell, const char *key)
{
    char want[80];
    snprintf(want, sizeof(want), "`%s`", key);
    return strstr(cell, want) != NULL;
}

static void doc_rows(void **state)
{
    (void)state;
    char *doc = slurp(g_doc);
    if (!doc)
        fail_msg("cannot read %s", g_doc);
    row *rows;
    int n = rows_of(doc, &rows);
    assert_true(n > 50);
    cfg_info in;
    int bad = 0;
    for (size_t i = 0; cfg_info_at(i, &in); i++) {
        const row *r = NULL;
        for (int k = 0; k < n && !r; k++)
            if (names(rows[k].cell[0], in.key))
                r = &rows[k];
        if (!r) {
            print_error("%s: no row in %s\n", in.key, g_doc);
            bad++;
            continue;
        }
        if (in.flag) {
            char want[80];
            snprintf(want, sizeof(want), "`--%s", in.flag);
            if (!strstr(r->cell[1], want)) {
                print_error("%s: its flag --%s is not in the row's flag cell '%s'\n", in.key,
                            in.flag, r->cell[1]);
                bad++;
            }
        }
        const char *d = r->cell[2];
        int ok = *in.shown ? strstr(d, in.shown) != NULL : !strncmp(d, "none", 4);
        if (!ok) {
            print_error("%s: default '%s' (the table's) but the page says '%s'\n", in.key,
                        *in.shown ? in.shown : "none", d);
            bad++;
        }
    }
    /* and no row names a setting that is not one */
    for (int k = 0; k < n; k++) {
        for (const char *p = rows[k].cell[0]; (p = strchr(p, '`')) != NULL;) {
            const char *e = strchr(p + 1, '`');
            if (!e)
                break;
            char key[80];
            snprintf(key, sizeof(key), "%.*s", (int)(e - p - 1), p + 1);
            bool known = false;
            for (size_t i = 0; cfg_info_at(i, &in) && !known; i++)
                known = !strcmp(in.key, key);
            if (!known) {
                print_error("the page has a row for '%s', which is no setting\n", key);
                bad++;
            }
            p = e + 1;
        }
    }
    free(rows);
    free(doc);
    assert_int_equal(bad, 0);
}

/* ---- flags for the command-line test ------------------------------------------------------- */

static int print_flags(const char *group)
{
    unsigned g = !strcmp(group, "analysis") ? CFG_FLAGS_ANALYSIS
                 : !strcmp(group, "asr")    ? CFG_FLAGS_ASR
                                            : 0;
    if (!g)
        return 2;
    cfg_info in;
    for (size_t i = 0; cfg_info_at(i, &in); i++) {
        if (!in.flag || !(in.groups & g))
            continue;
        /* a value it accepts: its default, else one inside its bounds or a name */
        const char *v = in.shown;
        char num[64];
        if (!strcmp(in.type, "boolean"))
            v = "";
        else if (in.computed || !*v) {
            if (!strcmp(in.type, "text"))
                v = "x";
            else {
                snprintf(num, sizeof(num), "%g", in.lo);
                v = num;
            }
        }
        printf("--%s %s\n", in.flag, v);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--flags"))
        return print_flags(argv[2]);
    if (argc == 2)
        g_doc = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_engine),
        cmocka_unit_test(defaults_accepted),
        cmocka_unit_test(defaults_zeroed_same),
        cmocka_unit_test(flags_unique),
        cmocka_unit_test(doc_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
