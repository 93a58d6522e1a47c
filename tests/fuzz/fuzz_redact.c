/*
 * fuzz_redact.c - libFuzzer harness over the worker's redaction parts that read what a caller or
 * an operator controls (src/pipeline/redact.c): the first byte picks one.
 *   0  the settings: the rest as `redact_campaigns` (and as `redact`), checked; the plan of
 *      a campaign named in it. Oracles: a map the check accepts gives every campaign a plan;
 *      a campaign's plan is on exactly when its types are not empty.
 *   1  a report (JSON) through the one walk (pl_redact_mask_report, every type). Oracles: every
 *      string under a key ending in "digits", read as the masker reads it ("４" is "4") and
 *      its placeholders ("[CARD]") left out, holds no digit nor # nor A-D afterwards; no
 *      string of the report quotes such a field's value (three characters or more, with a
 *      digit) standing alone between spaces or the string's ends afterwards; no string holds
 *      a 16-digit Luhn-valid run standing alone afterwards.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pipeline/pipeline.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ends_digits(const char *k)
{
    size_t n = strlen(k);
    return n >= 6 && !strcmp(k + n - 6, "digits");
}

/* the "...digits" values (before), each with its length */
static void collect(json_t *v, char ***out, size_t *n)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x) && ends_digits(k)) {
                *out = realloc(*out, (*n + 1) * sizeof(**out));
                MUST(*out != NULL);
                (*out)[(*n)++] = strdup(json_string_value(x));
            } else {
                collect(x, out, n);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) collect(x, out, n);
    }
}

/* whether s holds w standing alone: a space or s's edge on both sides (a closing punctuation
 * mark and a space, or the end, after it) */
static bool alone(const char *s, const char *w)
{
    size_t l = strlen(w);
    for (const char *p = s; (p = strstr(p, w)); p++) {
        bool before = p == s || p[-1] == ' ';
        const char *e = p + l;
        if (*e && strchr(".,;:!?)", *e) && (!e[1] || e[1] == ' '))
            e++;
        if (before && (!*e || *e == ' '))
            return true;
    }
    return false;
}

/* whether s holds 16 digits passing Luhn between spaces or its edges */
static bool luhn16_alone(const char *s)
{
    for (const char *p = s; *p; p++) {
        if ((p != s && p[-1] != ' ') || strspn(p, "0123456789") != 16 || (p[16] && p[16] != ' '))
            continue;
        int sum = 0;
        for (int i = 0; i < 16; i++) {
            int x = p[15 - i] - '0';
            if (i & 1)
                x = x * 2 > 9 ? x * 2 - 9 : x * 2;
            sum += x;
        }
        if (sum % 10 == 0)
            return true;
    }
    return false;
}

/* whether s, normalised, holds a keyed symbol outside the placeholders ("[CARD]": a hit of the
 * second pass, a spoken card number in the field) */
static bool keyed_left(const char *s)
{
    char *t = pv_normalize(s);
    MUST(t != NULL);
    for (int ty = 0; ty < PV_N_TYPES; ty++) {
        char ph[40];
        snprintf(ph, sizeof(ph), "[%s]", pv_type_name((pv_type)ty));
        for (char *p; (p = strstr(t, ph));)
            memset(p, ' ', strlen(ph));
    }
    bool left = strpbrk(t, "0123456789#ABCD") != NULL;
    free(t);
    return left;
}

/* after: each "...digits" masked; no string quotes a collected value with a digit, alone */
static void check(json_t *v, char **vals, size_t n)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x) && ends_digits(k))
                MUST(!keyed_left(json_string_value(x)));
            check(x, vals, n);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) check(x, vals, n);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        MUST(!luhn16_alone(s));
        for (size_t j = 0; j < n; j++)
            if (strlen(vals[j]) >= 3 && strpbrk(vals[j], "0123456789") &&
                strspn(vals[j], "0123456789*#ABCD") == strlen(vals[j]))
                MUST(!alone(s, vals[j]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        static cfg_settings c;
        cfg_defaults(&c);
        if (n >= sizeof(c.redact_campaigns))
            return 0;
        memcpy(c.redact_campaigns, s, n);
        c.redact_campaigns[n] = 0;
        if (strlen(c.redact_campaigns) != n)
            return 0;
        char err[400];
        memset(err, 'x', sizeof(err));
        int rc = pl_redact_check(&c, err, sizeof(err));
        MUST(rc == 0 || rc == -1);
        pl_redact_plan p;
        if (rc != 0) { /* refused: a message that says why */
            MUST(memchr(err, 0, sizeof(err)) != NULL && err[0] != 0);
            return 0;
        }
        (void)pl_redact_any(&c);
        /* the first campaign named: its plan */
        const char *eq = strchr(c.redact_campaigns, '=');
        char name[65] = "";
        if (eq && eq - c.redact_campaigns < 65)
            memcpy(name, c.redact_campaigns, (size_t)(eq - c.redact_campaigns)),
                name[eq - c.redact_campaigns] = 0;
        MUST(pl_redact_plan_of(&c, name, &p) == 0);
        MUST(p.on == (p.pv.types != 0));
        MUST(pl_redact_plan_of(&c, NULL, &p) == 0 && !p.on); /* redact is empty */
        return 0;
    }
    json_t *r = json_loadb(s, n, 0, NULL);
    if (!r)
        return 0;
    char **vals = NULL;
    size_t nv = 0;
    collect(r, &vals, &nv);
    size_t masked = 0;
    MUST(pl_redact_mask_report(r, PV_ALL_TYPES, &masked) == 0);
    check(r, vals, nv);
    for (size_t i = 0; i < nv; i++)
        free(vals[i]);
    free(vals);
    json_decref(r);
    return 0;
}
