/*
 * sc_card.c - the scorecard: loaded from JSON and checked (scoring.h), and a call's totals and
 * flags.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_int.h"

static bool key_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static int category(const json_t *j, int i, sc_category *c, char *err, size_t errsz)
{
    static const char *const known[] = {"key",    "name",     "weight", "scale",
                                        "method", "critical", "spec",   NULL};
    char where[64];
    snprintf(where, sizeof(where), "categories[%d]", i);
    if (!json_is_object(j))
        return cfg_fail(err, errsz, "%s: not an object", where);
    const json_t *key = json_object_get(j, "key"), *name = json_object_get(j, "name"),
                 *w = json_object_get(j, "weight"), *scale = json_object_get(j, "scale"),
                 *m = json_object_get(j, "method"), *crit = json_object_get(j, "critical"),
                 *spec = json_object_get(j, "spec");
    if (!json_is_string(key) || !key_ok(json_string_value(key)))
        return cfg_fail(err, errsz, "%s: key must be 1-32 of a-z, 0-9 and _", where);
    snprintf(where, sizeof(where), "category %s", json_string_value(key));
    snprintf(c->key, sizeof(c->key), "%s", json_string_value(key));
    if (sc_only_keys(j, known, where, err, errsz) != 0)
        return -1;
    if (name && (!json_is_string(name) || strlen(json_string_value(name)) > 80))
        return cfg_fail(err, errsz, "%s: name must be a string of at most 80 bytes", where);
    snprintf(c->name, sizeof(c->name), "%s", name ? json_string_value(name) : c->key);
    if (!json_is_number(w) || !(json_number_value(w) > 0) || json_number_value(w) > 1)
        return cfg_fail(err, errsz, "%s: weight must be a number in (0, 1]", where);
    c->weight = json_number_value(w);
    c->lo = 1, c->hi = 5;
    if (scale) {
        if (!json_is_array(scale) || json_array_size(scale) != 2 ||
            !json_is_number(json_array_get(scale, 0)) || !json_is_number(json_array_get(scale, 1)))
            return cfg_fail(err, errsz, "%s: scale must be [lowest, highest]", where);
        c->lo = json_number_value(json_array_get(scale, 0));
        c->hi = json_number_value(json_array_get(scale, 1));
        if (!(c->lo < c->hi) || !isfinite(c->lo) || !isfinite(c->hi))
            return cfg_fail(err, errsz, "%s: scale must have lowest < highest", where);
    }
    const char *ms = json_string_value(m);
    if (ms && !strcmp(ms, "acoustic"))
        c->method = SC_ACOUSTIC;
    else if (ms && !strcmp(ms, "rules"))
        c->method = SC_RULES;
    else if (ms && !strcmp(ms, "llm"))
        c->method = SC_LLM;
    else
        return cfg_fail(err, errsz, "%s: method must be acoustic, rules or llm", where);
    if (crit && !json_is_boolean(crit))
        return cfg_fail(err, errsz, "%s: critical must be true or false", where);
    c->critical = crit && json_is_true(crit);
    if (spec && !json_is_object(spec))
        return cfg_fail(err, errsz, "%s: spec must be an object", where);
    c->spec = spec ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (!c->spec)
        return cfg_fail(err, errsz, "out of memory");
    return 0;
}

/* vars: {"name": ["alternative", ...]} for the rules' {name} placeholders */
static int vars_check(const json_t *root, sc_card *out, char *err, size_t errsz)
{
    const json_t *vars = json_object_get(root, "vars");
    if (!vars)
        return 0;
    if (!json_is_object(vars) || json_object_size(vars) > 64)
        return cfg_fail(err, errsz, "vars must be an object of at most 64 lists of strings");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)vars, k, v)
    {
        if (!key_ok(k) || !strcmp(k, "name"))
            return cfg_fail(err, errsz,
                            "vars: '%.40s' is not a variable name (a-z, 0-9, _; not "
                            "\"name\", which any one word fills)",
                            k);
        if (!json_is_array(v) || json_array_size(v) > 500)
            return cfg_fail(err, errsz, "vars.%s must be an array of at most 500 strings", k);
        size_t i;
        const json_t *s;
        json_array_foreach(v, i, s)
        {
            if (!json_is_string(s) || strlen(json_string_value(s)) == 0 ||
                strlen(json_string_value(s)) > 200 || strchr(json_string_value(s), '{'))
                return cfg_fail(err, errsz,
                                "vars.%s[%zu] must be a string of 1-200 bytes without "
                                "'{'",
                                k, i);
        }
    }
    out->vars = json_dumps(vars, JSON_COMPACT | JSON_SORT_KEYS);
    return out->vars ? 0 : cfg_fail(err, errsz, "out of memory");
}

/* each category's spec, compiled once to refuse a bad one at load */
static int spec_check(const sc_card *card, const sc_category *c, char *err, size_t errsz)
{
    if (c->method == SC_LLM) {
        json_t *spec = json_loads(c->spec, 0, NULL);
        const json_t *rub = json_object_get(spec, "rubric");
        int rc = 0;
        char where[64];
        snprintf(where, sizeof(where), "category %s: spec", c->key);
        static const char *const known[] = {"rubric", "window", NULL};
        sc_window w;
        if (!spec)
            rc = cfg_fail(err, errsz, "out of memory");
        else if (sc_only_keys(spec, known, where, err, errsz) != 0)
            rc = -1;
        else if (sc_window_parse(json_object_get(spec, "window"), &w, where, err, errsz) != 0)
            rc = -1;
        else if (!json_is_string(rub) || strlen(json_string_value(rub)) == 0 ||
                 strlen(json_string_value(rub)) > 4000)
            rc = cfg_fail(err, errsz,
                          "%s: an llm category needs a rubric (a string of 1-4000 bytes)", where);
        json_decref(spec);
        return rc;
    }
    json_t *vars = card->vars ? json_loads(card->vars, 0, NULL) : NULL;
    sc_spec *s = sc_spec_compile(c, vars, err, errsz);
    json_decref(vars);
    if (!s)
        return -1;
    sc_spec_free(s);
    return 0;
}

int sc_card_load(const char *text, size_t len, sc_card *out, char *err, size_t errsz)
{
    static const char *const known[] = {"name", "flag_threshold", "categories", "vars", NULL};
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!json_is_object(root)) {
        cfg_fail(err, errsz, "the scorecard is not a JSON object%s%s (line %d)", root ? "" : ": ",
                 root ? "" : je.text, root ? 0 : je.line);
        goto done;
    }
    if (sc_only_keys(root, known, "the scorecard", err, errsz) != 0)
        goto done;
    const json_t *name = json_object_get(root, "name"),
                 *th = json_object_get(root, "flag_threshold"),
                 *cats = json_object_get(root, "categories");
    if (name && !json_is_string(name)) {
        cfg_fail(err, errsz, "name must be a string");
        goto done;
    }
    snprintf(out->name, sizeof(out->name), "%s", name ? json_string_value(name) : "scorecard");
    out->flag_threshold = 60;
    if (th) {
        if (!json_is_number(th) || json_number_value(th) < 0 || json_number_value(th) > 100) {
            cfg_fail(err, errsz, "flag_threshold must be a number from 0 to 100");
            goto done;
        }
        out->flag_threshold = json_number_value(th);
    }
    if (!json_is_array(cats) || json_array_size(cats) == 0 ||
        json_array_size(cats) > SC_MAX_CATEGORIES) {
        cfg_fail(err, errsz, "categories must be an array of 1 to %d categories",
                 SC_MAX_CATEGORIES);
        goto done;
    }
    double sum = 0;
    for (size_t i = 0; i < json_array_size(cats); i++) {
        sc_category *c = &out->cats[out->n];
        if (category(json_array_get(cats, i), (int)i, c, err, errsz) != 0) {
            free(c->spec);
            c->spec = NULL;
            goto done;
        }
        out->n++;
        for (int k = 0; k < out->n - 1; k++)
            if (!strcmp(out->cats[k].key, c->key)) {
                cfg_fail(err, errsz, "category %s: the key is used twice", c->key);
                goto done;
            }
        sum += c->weight;
    }
    if (fabs(sum - 1) > 1e-6) {
        cfg_fail(err, errsz, "the weights sum to %.6g, not 1", sum);
        goto done;
    }
    if (vars_check(root, out, err, errsz) != 0)
        goto done;
    for (int i = 0; i < out->n; i++)
        if (spec_check(out, &out->cats[i], err, errsz) != 0)
            goto done;
    sc_sha256_hex(text, len, out->hash);
    rc = 0;
done:
    json_decref(root);
    if (rc != 0)
        sc_card_free(out);
    return rc;
}

void sc_card_free(sc_card *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->cats[i].spec);
    free(c->vars);
    memset(c, 0, sizeof(*c));
}

/* ---- totals and flags ---------------------------------------------------------------------- */

/* a score as the old formula reads it: on 1-5 */
static double on_1_5(const sc_category *c, double s)
{
    double v = 1 + 4 * (s - c->lo) / (c->hi - c->lo);
    return v < 1 ? 1 : v > 5 ? 5 : v;
}

/* a figure as the old text writes it: 52 or 52.5 */
static void figure(double v, char *out, size_t n)
{
    double r = round(v * 10) / 10;
    if (r == round(r))
        snprintf(out, n, "%.0f", r);
    else
        snprintf(out, n, "%.1f", r);
}

void sc_totals_of(const sc_card *c, const sc_result *r, sc_totals *out)
{
    memset(out, 0, sizeof(*out));
    double sum = 0, wsum = 0;
    int scored = 0;
    char critical[256] = "", failed[256] = "";
    for (int i = 0; i < c->n; i++) {
        const sc_category *k = &c->cats[i];
        if (r[i].critical_failed && k->critical) {
            size_t l = strlen(failed);
            snprintf(failed + l, sizeof(failed) - l, "%s%s", l ? ", " : "", k->key);
        }
        if (!r[i].scored)
            continue;
        double s = on_1_5(k, r[i].score);
        sum += k->weight * s;
        wsum += k->weight;
        scored++;
        if (s <= 2) {
            size_t l = strlen(critical);
            snprintf(critical + l, sizeof(critical) - l, "%s%s", l ? ", " : "", k->key);
        }
    }
    /* to a millionth: weights such as 0.1 + 0.15 + ... sum to 1 only within a rounding error,
     * and all 3s must make 60, not 59.999999999 below the threshold */
    out->coverage = round(wsum * 1e6) / 1e6;
    out->has_partial = scored > 0;
    out->partial = scored ? round(20 * sum / wsum * 1e6) / 1e6 : 0;
    out->has_total = scored == c->n;
    out->total = out->has_total ? round(20 * sum * 1e6) / 1e6 : 0;
    char th[32], v[32];
    figure(c->flag_threshold, th, sizeof(th));
    if (failed[0]) { /* a failed critical item: the total is 0, the call flagged */
        if (out->has_total)
            out->total = 0;
        out->flagged = true;
        snprintf(out->flag_reason, sizeof(out->flag_reason), "critical item failed: %s", failed);
        return;
    }
    if (out->has_total && out->total < c->flag_threshold) {
        figure(out->total, v, sizeof(v));
        out->flagged = true;
        snprintf(out->flag_reason, sizeof(out->flag_reason), "Score %s below %s%s%s", v, th,
                 critical[0] ? "; critical: " : "", critical);
    } else if (!out->has_total && out->has_partial && out->partial < c->flag_threshold) {
        char cov[32];
        figure(out->partial, v, sizeof(v));
        snprintf(cov, sizeof(cov), "%.0f", 100 * out->coverage);
        out->flagged = true;
        snprintf(out->flag_reason, sizeof(out->flag_reason),
                 "Partial score %s below %s (%s %% of the card scored)%s%s", v, th, cov,
                 critical[0] ? "; critical: " : "", critical);
    }
}
