/*
 * sc_rules.c - the `rules` and `acoustic` methods (docs/scoring.md): checks (phrases and
 * regular expressions over the normalised words, by speaker, in a time window), levels that
 * turn the checks found into a score, and deductions on measured figures of the report.
 */
#define _GNU_SOURCE
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transcript/transcript.h"
#include "sc_int.h"

#define MAX_CHECKS 32
#define MAX_LEVELS 16
#define MAX_DEDUCTIONS 16
#define MAX_TOKENS 16
#define NAME_TOKEN ((const char *)1) /* "{name}": any one word that is not a stop word */

typedef struct pattern {
    const char *tok[MAX_TOKENS]; /* words (into `words`) or NAME_TOKEN */
    int n;
    char *words; /* the phrase's normalised text, split by NULs */
    bool is_regex;
    regex_t re;
} pattern;

typedef enum from_kind { FROM_CALL = 0, FROM_FIRST_SPEECH = 1 } from_kind;
/* where a check looks: the category's window ("in"), or the times of its own (from, first_sec,
 * after_sec, last_sec: IN_TIMES) */
typedef enum in_kind { IN_TIMES = 0, IN_CALL, IN_WINDOW, IN_AFTER, IN_BEFORE } in_kind;

typedef struct check {
    char key[33];
    char speaker[10]; /* "agent", "customer" or "any" */
    in_kind in;
    from_kind from;
    double first_sec, after_sec, last_sec; /* < 0: not given */
    pattern *pats;
    int n_pats;
    bool unset; /* no patterns (an empty variable): neither found nor missing */
} check;

typedef struct level {
    double score;
    int all[MAX_CHECKS], n_all, any[MAX_CHECKS], n_any, none[MAX_CHECKS], n_none, of[MAX_CHECKS],
        n_of;
    int at_least;
    char say[160];
} level;

typedef struct deduction {
    char metric[64]; /* "" for a check's deduction */
    int check;       /* index, or -1 */
    bool above;      /* true: above `limit`; false: below */
    double limit, points;
    char say[160];
} deduction;

struct sc_spec {
    check checks[MAX_CHECKS];
    int n_checks;
    level levels[MAX_LEVELS];
    int n_levels;
    double otherwise;
    int critical_if[MAX_CHECKS], n_critical_if;
    deduction ded[MAX_DEDUCTIONS];
    int n_ded;
    double start;
    sc_window window; /* the category's place in the call (SC_PART_CALL: none) */
    char **not_names; /* the stop words of "{name}" (normalised) */
    int n_not_names;
};

/* ---- patterns -------------------------------------------------------------------------------- */

static void pattern_free(pattern *p)
{
    if (p->is_regex)
        regfree(&p->re);
    free(p->words);
}

/* a phrase (already free of variables other than {name}) into tokens */
static int phrase_compile(const char *phrase, pattern *p, const char *where, char *err,
                          size_t errsz)
{
    memset(p, 0, sizeof(*p));
    /* "{name}" survives normalisation as "name" only if kept apart: swap it for a marker */
    char *tmp = strdup(phrase);
    if (!tmp)
        return cfg_fail(err, errsz, "out of memory");
    for (char *m = strstr(tmp, "{name}"); m; m = strstr(m, "{name}"))
        memcpy(m, " \x01\x01\x01\x01 ", 6);
    p->words = tx_normalize(tmp);
    free(tmp);
    if (!p->words)
        return cfg_fail(err, errsz, "out of memory");
    char *s = p->words;
    while (*s) {
        if (p->n == MAX_TOKENS)
            return cfg_fail(err, errsz, "%s: a phrase of more than %d words", where, MAX_TOKENS);
        char *sp = strchr(s, ' ');
        if (sp)
            *sp = '\0';
        p->tok[p->n++] = strchr(s, '\x01') ? NAME_TOKEN : s;
        if (!sp)
            break;
        s = sp + 1;
    }
    if (p->n == 0)
        return cfg_fail(err, errsz, "%s: an empty phrase", where);
    return 0;
}

/* the words of a normalised utterance (into norm; the arrays malloc'd) */
typedef struct words {
    const char **w;
    size_t *len;
    int n;
} words;

static void words_free(words *ws)
{
    free(ws->w);
    free(ws->len);
    memset(ws, 0, sizeof(*ws));
}

/* 0, or -1 (out of memory) */
static int split(const char *norm, words *ws)
{
    size_t cap = 1;
    for (const char *p = norm; *p; p++)
        cap += *p == ' ';
    memset(ws, 0, sizeof(*ws));
    ws->w = malloc(cap * sizeof(*ws->w));
    ws->len = malloc(cap * sizeof(*ws->len));
    if (!ws->w || !ws->len) {
        words_free(ws);
        return -1;
    }
    for (const char *s = norm; *s;) {
        const char *sp = strchr(s, ' ');
        size_t l = sp ? (size_t)(sp - s) : strlen(s);
        ws->w[ws->n] = s, ws->len[ws->n++] = l;
        if (!sp)
            break;
        s = sp + 1;
    }
    return 0;
}

static bool is_stop(const sc_spec *sp, const char *w, size_t l)
{
    for (int i = 0; i < sp->n_not_names; i++)
        if (strlen(sp->not_names[i]) == l && !memcmp(sp->not_names[i], w, l))
            return true;
    return false;
}

/* does pattern p occur in the utterance? first, last: the word span (phrases only) */
static bool pattern_in(const sc_spec *sp, const pattern *p, const char *norm, const words *ws,
                       int *first, int *last)
{
    if (p->is_regex) {
        *first = 0, *last = ws->n - 1;
        return regexec(&p->re, norm, 0, NULL, 0) == 0;
    }
    for (int i = 0; i + p->n <= ws->n; i++) {
        int k = 0;
        for (; k < p->n; k++) {
            const char *t = p->tok[k];
            if (t == NAME_TOKEN) {
                if (is_stop(sp, ws->w[i + k], ws->len[i + k]))
                    break;
            } else if (strlen(t) != ws->len[i + k] || memcmp(t, ws->w[i + k], ws->len[i + k])) {
                break;
            }
        }
        if (k == p->n) {
            *first = i, *last = i + p->n - 1;
            return true;
        }
    }
    return false;
}

/* ---- compiling a spec ------------------------------------------------------------------------ */

static const json_t *var_of(const json_t *vars, const char *name, size_t n)
{
    char key[64];
    if (!vars || n == 0 || n >= sizeof(key))
        return NULL;
    memcpy(key, name, n);
    key[n] = '\0';
    return json_object_get(vars, key);
}

/* a phrase with its {variables} expanded: each alternative compiled into c's patterns */
static int add_phrase(check *c, const char *phrase, const json_t *vars, const char *where,
                      char *err, size_t errsz, int depth)
{
    const char *open = strchr(phrase, '{');
    while (open && !strncmp(open, "{name}", 6))
        open = strchr(open + 1, '{');
    if (!open) {
        if (c->n_pats == 64)
            return cfg_fail(err, errsz, "%s: more than 64 patterns", where);
        pattern *np = realloc(c->pats, (size_t)(c->n_pats + 1) * sizeof(*np));
        if (!np)
            return cfg_fail(err, errsz, "out of memory");
        c->pats = np;
        if (phrase_compile(phrase, &c->pats[c->n_pats], where, err, errsz) != 0) {
            pattern_free(&c->pats[c->n_pats]);
            return -1;
        }
        c->n_pats++;
        return 0;
    }
    const char *close = strchr(open, '}');
    if (!close)
        return cfg_fail(err, errsz, "%s: '{' without '}' in \"%.60s\"", where, phrase);
    const json_t *alts = var_of(vars, open + 1, (size_t)(close - open - 1));
    if (!json_is_array(alts))
        return cfg_fail(err, errsz, "%s: unknown variable {%.*s} (define it in the card's vars)",
                        where, (int)(close - open - 1 > 40 ? 40 : close - open - 1), open + 1);
    if (depth > 3)
        return cfg_fail(err, errsz, "%s: variables nested too deep", where);
    size_t i;
    const json_t *a;
    json_array_foreach(alts, i, a)
    {
        char *ph = NULL;
        if (asprintf(&ph, "%.*s%s%s", (int)(open - phrase), phrase, json_string_value(a),
                     close + 1) < 0)
            return cfg_fail(err, errsz, "out of memory");
        int rc = add_phrase(c, ph, vars, where, err, errsz, depth + 1);
        free(ph);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int check_compile(const json_t *j, const json_t *vars, const sc_window *win, check *c,
                         const char *cat, char *err, size_t errsz)
{
    static const char *const known[] = {"key",       "speaker",  "in",      "from",  "first_sec",
                                        "after_sec", "last_sec", "phrases", "regex", NULL};
    char where[96];
    snprintf(where, sizeof(where), "category %s: check", cat);
    if (!json_is_object(j))
        return cfg_fail(err, errsz, "%s: not an object", where);
    const json_t *key = json_object_get(j, "key");
    if (!json_is_string(key) || strlen(json_string_value(key)) == 0 ||
        strlen(json_string_value(key)) > 32)
        return cfg_fail(err, errsz, "%s: key must be a string of 1-32 bytes", where);
    snprintf(c->key, sizeof(c->key), "%s", json_string_value(key));
    snprintf(where, sizeof(where), "category %s: check %s", cat, c->key);
    if (sc_only_keys(j, known, where, err, errsz) != 0)
        return -1;
    const json_t *spk = json_object_get(j, "speaker"), *from = json_object_get(j, "from");
    const char *sv = spk ? json_string_value(spk) : SC_AGENT;
    if (!sv || (strcmp(sv, SC_AGENT) && strcmp(sv, SC_CUSTOMER) && strcmp(sv, "any")))
        return cfg_fail(err, errsz, "%s: speaker must be agent, customer or any", where);
    snprintf(c->speaker, sizeof(c->speaker), "%s", sv);
    const char *fv = from ? json_string_value(from) : "call";
    if (!fv || (strcmp(fv, "call") && strcmp(fv, "first_speech")))
        return cfg_fail(err, errsz, "%s: from must be call or first_speech", where);
    c->from = strcmp(fv, "call") ? FROM_FIRST_SPEECH : FROM_CALL;
    static const char *const secs[] = {"first_sec", "after_sec", "last_sec"};
    double *dst[] = {&c->first_sec, &c->after_sec, &c->last_sec};
    bool times = from != NULL;
    for (int i = 0; i < 3; i++) {
        const json_t *v = json_object_get(j, secs[i]);
        *dst[i] = -1;
        if (v && (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400))
            return cfg_fail(err, errsz, "%s: %s must be a number of seconds >= 0", where, secs[i]);
        if (v)
            *dst[i] = json_number_value(v), times = true;
    }
    /* "in": the category's window (the default when it has one), the call, or either side of
     * the window; times of its own instead are kept as they were written */
    const json_t *in = json_object_get(j, "in");
    const char *iv = in ? json_string_value(in) : NULL;
    if (in && times)
        return cfg_fail(err, errsz,
                        "%s: give either in or times of its own (from, first_sec, "
                        "after_sec, last_sec), not both",
                        where);
    if (in && (!iv || (strcmp(iv, "call") && strcmp(iv, "window") && strcmp(iv, "after_window") &&
                       strcmp(iv, "before_window"))))
        return cfg_fail(err, errsz, "%s: in must be call, window, after_window or before_window",
                        where);
    if (iv && strcmp(iv, "call") && win->part == SC_PART_CALL)
        return cfg_fail(err, errsz, "%s: in %s needs the category's window (spec.window)", where,
                        iv);
    c->in = times                         ? IN_TIMES
            : !iv                         ? (win->part != SC_PART_CALL ? IN_WINDOW : IN_CALL)
            : !strcmp(iv, "call")         ? IN_CALL
            : !strcmp(iv, "window")       ? IN_WINDOW
            : !strcmp(iv, "after_window") ? IN_AFTER
                                          : IN_BEFORE;
    const json_t *ph = json_object_get(j, "phrases"), *re = json_object_get(j, "regex");
    if ((ph && !json_is_array(ph)) || (re && !json_is_array(re)) || (!ph && !re))
        return cfg_fail(err, errsz,
                        "%s: phrases and regex must be arrays of strings (one at least)", where);
    size_t i;
    const json_t *v;
    json_array_foreach(ph, i, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) > 200)
            return cfg_fail(err, errsz, "%s: phrases[%zu] must be a string of at most 200 bytes",
                            where, i);
        if (add_phrase(c, json_string_value(v), vars, where, err, errsz, 0) != 0)
            return -1;
    }
    json_array_foreach(re, i, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) > 2000)
            return cfg_fail(err, errsz, "%s: regex[%zu] must be a string of at most 2000 bytes",
                            where, i);
        if (c->n_pats == 64)
            return cfg_fail(err, errsz, "%s: more than 64 patterns", where);
        pattern *np = realloc(c->pats, (size_t)(c->n_pats + 1) * sizeof(*np));
        if (!np)
            return cfg_fail(err, errsz, "out of memory");
        c->pats = np;
        pattern *p = &c->pats[c->n_pats];
        memset(p, 0, sizeof(*p));
        int rc = regcomp(&p->re, json_string_value(v), REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char m[128];
            regerror(rc, &p->re, m, sizeof(m));
            return cfg_fail(err, errsz, "%s: regex[%zu] \"%.60s\": %s", where, i,
                            json_string_value(v), m);
        }
        p->is_regex = true;
        c->n_pats++;
    }
    c->unset = c->n_pats == 0;
    return 0;
}

static int check_index(const sc_spec *s, const char *key)
{
    for (int i = 0; i < s->n_checks; i++)
        if (!strcmp(s->checks[i].key, key))
            return i;
    return -1;
}

static int key_list(const sc_spec *s, const json_t *a, int *out, int *n, const char *where,
                    const char *field, char *err, size_t errsz)
{
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_CHECKS)
        return cfg_fail(err, errsz, "%s: %s must be an array of check keys", where, field);
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        int k = json_is_string(v) ? check_index(s, json_string_value(v)) : -1;
        if (k < 0)
            return cfg_fail(err, errsz, "%s: %s names no check of the category (\"%.40s\")", where,
                            field, json_is_string(v) ? json_string_value(v) : "?");
        out[(*n)++] = k;
    }
    return 0;
}

/* a level's or a deduction's optional `say` into out ("" without one) */
static int say_of(const json_t *say, char *out, size_t n, const char *where, char *err,
                  size_t errsz)
{
    if (say && (!json_is_string(say) || strlen(json_string_value(say)) >= n))
        return cfg_fail(err, errsz, "%s: say must be a string under %zu bytes", where, n);
    snprintf(out, n, "%s", say ? json_string_value(say) : "");
    return 0;
}

static bool on_scale(const sc_category *c, double v)
{
    return isfinite(v) && v >= c->lo && v <= c->hi;
}

void sc_spec_free(sc_spec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_checks; i++) {
        for (int k = 0; k < s->checks[i].n_pats; k++)
            pattern_free(&s->checks[i].pats[k]);
        free(s->checks[i].pats);
    }
    for (int i = 0; i < s->n_not_names; i++)
        free(s->not_names[i]);
    free(s->not_names);
    free(s);
}

/* each word of each string of list added to the stop words of "{name}" */
static int stop_words(sc_spec *s, const json_t *list)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        char *norm = tx_normalize(json_string_value(v));
        if (!norm)
            return -1;
        for (char *save = NULL, *w = strtok_r(norm, " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
            if (is_stop(s, w, strlen(w)))
                continue;
            char **nn = realloc(s->not_names, (size_t)(s->n_not_names + 1) * sizeof(*nn));
            if (!nn || !(nn[s->n_not_names] = strdup(w))) {
                if (nn)
                    s->not_names = nn;
                free(norm);
                return -1;
            }
            s->not_names = nn;
            s->n_not_names++;
        }
        free(norm);
    }
    return 0;
}

static int compile_into(sc_spec *s, const sc_category *c, const json_t *spec, const json_t *vars,
                        char *err, size_t errsz)
{
    static const char *const known_rules[] = {"checks",      "levels", "otherwise",
                                              "critical_if", "window", NULL};
    static const char *const known_ac[] = {"checks", "deductions", "start", "critical_if", NULL};
    char where[64];
    snprintf(where, sizeof(where), "category %s: spec", c->key);
    if (sc_only_keys(spec, c->method == SC_RULES ? known_rules : known_ac, where, err, errsz) != 0)
        return -1;
    /* "{name}" is any one word but these: the card's not_names and the company's own words */
    if (stop_words(s, vars ? json_object_get(vars, "not_names") : NULL) != 0 ||
        stop_words(s, vars ? json_object_get(vars, "company") : NULL) != 0)
        return cfg_fail(err, errsz, "out of memory");
    if (sc_window_parse(json_object_get(spec, "window"), &s->window, where, err, errsz) != 0)
        return -1;
    const json_t *checks = json_object_get(spec, "checks");
    if (checks && (!json_is_array(checks) || json_array_size(checks) > MAX_CHECKS))
        return cfg_fail(err, errsz, "%s: checks must be an array of at most %d checks", where,
                        MAX_CHECKS);
    size_t i;
    const json_t *v;
    json_array_foreach(checks, i, v)
    {
        if (check_compile(v, vars, &s->window, &s->checks[s->n_checks++], c->key, err, errsz) != 0)
            return -1;
        if (check_index(s, s->checks[s->n_checks - 1].key) != s->n_checks - 1)
            return cfg_fail(err, errsz, "%s: the check %s is there twice", where,
                            s->checks[s->n_checks - 1].key);
    }
    if (key_list(s, json_object_get(spec, "critical_if"), s->critical_if, &s->n_critical_if, where,
                 "critical_if", err, errsz) != 0)
        return -1;
    if (c->method == SC_RULES) {
        const json_t *levels = json_object_get(spec, "levels"),
                     *ow = json_object_get(spec, "otherwise");
        if (s->n_checks == 0)
            return cfg_fail(err, errsz, "%s: a rules category needs checks", where);
        if (!json_is_array(levels) || json_array_size(levels) == 0 ||
            json_array_size(levels) > MAX_LEVELS)
            return cfg_fail(err, errsz, "%s: levels must be an array of 1 to %d levels", where,
                            MAX_LEVELS);
        s->otherwise = c->lo;
        if (ow && (!json_is_number(ow) || !on_scale(c, json_number_value(ow))))
            return cfg_fail(err, errsz, "%s: otherwise must be a score on the scale", where);
        if (ow)
            s->otherwise = json_number_value(ow);
        static const char *const known_l[] = {"score",    "all", "any", "none",
                                              "at_least", "of",  "say", NULL};
        json_array_foreach(levels, i, v)
        {
            level *L = &s->levels[s->n_levels++];
            char lw[128];
            snprintf(lw, sizeof(lw), "%s: levels[%zu]", where, i);
            if (!json_is_object(v) || sc_only_keys(v, known_l, lw, err, errsz) != 0)
                return json_is_object(v) ? -1 : cfg_fail(err, errsz, "%s: not an object", lw);
            const json_t *sc = json_object_get(v, "score"), *al = json_object_get(v, "at_least"),
                         *say = json_object_get(v, "say");
            if (!json_is_number(sc) || !on_scale(c, json_number_value(sc)))
                return cfg_fail(err, errsz, "%s: score must be a number on the scale %g-%g", lw,
                                c->lo, c->hi);
            L->score = json_number_value(sc);
            if (key_list(s, json_object_get(v, "all"), L->all, &L->n_all, lw, "all", err, errsz) ||
                key_list(s, json_object_get(v, "any"), L->any, &L->n_any, lw, "any", err, errsz) ||
                key_list(s, json_object_get(v, "none"), L->none, &L->n_none, lw, "none", err,
                         errsz) ||
                key_list(s, json_object_get(v, "of"), L->of, &L->n_of, lw, "of", err, errsz))
                return -1;
            if (al && (!json_is_integer(al) || json_integer_value(al) < 1 ||
                       json_integer_value(al) > L->n_of))
                return cfg_fail(err, errsz, "%s: at_least must be 1 to the number of `of` checks",
                                lw);
            L->at_least = al ? (int)json_integer_value(al) : 0;
            if (L->n_of && !al)
                return cfg_fail(err, errsz, "%s: `of` needs at_least", lw);
            if (say_of(say, L->say, sizeof(L->say), lw, err, errsz) != 0)
                return -1;
        }
        return 0;
    }
    /* acoustic */
    const json_t *ded = json_object_get(spec, "deductions"), *st = json_object_get(spec, "start");
    s->start = c->hi;
    if (st && (!json_is_number(st) || !on_scale(c, json_number_value(st))))
        return cfg_fail(err, errsz, "%s: start must be a score on the scale", where);
    if (st)
        s->start = json_number_value(st);
    if (!json_is_array(ded) || json_array_size(ded) == 0 || json_array_size(ded) > MAX_DEDUCTIONS)
        return cfg_fail(err, errsz, "%s: deductions must be an array of 1 to %d deductions", where,
                        MAX_DEDUCTIONS);
    static const char *const known_d[] = {"metric", "check", "above", "below",
                                          "points", "say",   NULL};
    json_array_foreach(ded, i, v)
    {
        deduction *D = &s->ded[s->n_ded++];
        char dw[128];
        snprintf(dw, sizeof(dw), "%s: deductions[%zu]", where, i);
        if (!json_is_object(v) || sc_only_keys(v, known_d, dw, err, errsz) != 0)
            return json_is_object(v) ? -1 : cfg_fail(err, errsz, "%s: not an object", dw);
        const json_t *m = json_object_get(v, "metric"), *ck = json_object_get(v, "check"),
                     *ab = json_object_get(v, "above"), *be = json_object_get(v, "below"),
                     *pt = json_object_get(v, "points"), *say = json_object_get(v, "say");
        D->check = -1;
        if (!!m == !!ck)
            return cfg_fail(err, errsz, "%s: give either metric or check", dw);
        if (m) {
            double dummy;
            if (!json_is_string(m) || strlen(json_string_value(m)) >= sizeof(D->metric) ||
                sc_metric_of(NULL, NULL, json_string_value(m), &dummy) < 0)
                return cfg_fail(err, errsz, "%s: unknown metric \"%.60s\"", dw,
                                json_is_string(m) ? json_string_value(m) : "?");
            snprintf(D->metric, sizeof(D->metric), "%s", json_string_value(m));
            if (!!ab == !!be || !json_is_number(ab ? ab : be))
                return cfg_fail(err, errsz, "%s: a metric needs one number, above or below", dw);
            D->above = ab != NULL;
            D->limit = json_number_value(ab ? ab : be);
        } else {
            D->check = json_is_string(ck) ? check_index(s, json_string_value(ck)) : -1;
            if (D->check < 0)
                return cfg_fail(err, errsz, "%s: check names no check of the category", dw);
        }
        if (!json_is_number(pt) || json_number_value(pt) <= 0 ||
            json_number_value(pt) > c->hi - c->lo)
            return cfg_fail(err, errsz, "%s: points must be a number in (0, %g]", dw,
                            c->hi - c->lo);
        D->points = json_number_value(pt);
        if (say_of(say, D->say, sizeof(D->say), dw, err, errsz) != 0)
            return -1;
    }
    return 0;
}

sc_spec *sc_spec_compile(const sc_category *c, const json_t *vars, char *err, size_t errsz)
{
    if (c->method == SC_LLM) {
        cfg_fail(err, errsz, "category %s: an llm category has no rules spec", c->key);
        return NULL;
    }
    json_error_t je;
    json_t *spec = json_loads(c->spec ? c->spec : "{}", 0, &je);
    sc_spec *s = calloc(1, sizeof(*s));
    if (!spec || !s) {
        cfg_fail(err, errsz, "out of memory");
    } else if (compile_into(s, c, spec, vars, err, errsz) == 0) {
        json_decref(spec);
        return s;
    }
    json_decref(spec);
    sc_spec_free(s);
    return NULL;
}

/* ---- judging --------------------------------------------------------------------------------- */

typedef struct found {
    bool hit;
    int utt;         /* the utterance of the first hit */
    int first, last; /* its word span */
} found;

/* the quote of a hit: the matched words with up to 4 words either side, from the display text
 * when its words line up with the normalised ones, else the utterance's whole text */
static char *quote_of(const sc_utt *u, const words *ws, int first, int last)
{
    int a = first - 4 < 0 ? 0 : first - 4, b = last + 4 >= ws->n ? ws->n - 1 : last + 4;
    const char *from = NULL, *to = NULL;
    int w = 0;
    for (const char *s = u->text; *s;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (w == a)
            from = s;
        if (w == b)
            to = e;
        w++;
        s = e;
    }
    if (w != ws->n || !from || !to)
        return strdup(u->text);
    return strndup(from, (size_t)(to - from));
}

static bool in_window(const sc_spec *s, const check *c, const sc_text *t, const sc_utt *u,
                      double origin)
{
    double from, to;
    switch (c->in) {
    case IN_CALL: return true;
    case IN_WINDOW: return sc_window_holds(&s->window, t, u);
    case IN_AFTER: sc_window_bounds(&s->window, t, &from, &to); return u->start > to;
    case IN_BEFORE: sc_window_bounds(&s->window, t, &from, &to); return u->end <= from;
    case IN_TIMES: break;
    }
    if (c->first_sec >= 0 && u->start > origin + c->first_sec)
        return false;
    if (c->after_sec >= 0 && u->start <= origin + c->after_sec)
        return false;
    if (c->last_sec >= 0 && u->end < t->duration - c->last_sec)
        return false;
    return true;
}

static int run_check(const sc_spec *s, const check *c, const sc_text *t, found *f)
{
    memset(f, 0, sizeof(*f));
    if (c->unset)
        return 0;
    double origin = 0;
    if (c->in == IN_TIMES && c->from == FROM_FIRST_SPEECH) {
        size_t i = 0;
        while (i < t->n && !sc_said_by(t, &t->u[i], c->speaker))
            i++;
        if (i == t->n)
            return 0;
        origin = t->u[i].start;
    }
    words ws;
    for (size_t i = 0; i < t->n; i++) {
        const sc_utt *u = &t->u[i];
        if (!sc_said_by(t, u, c->speaker) || !in_window(s, c, t, u, origin))
            continue;
        if (split(u->norm, &ws) != 0)
            return -1;
        for (int p = 0; p < c->n_pats && !f->hit; p++)
            if (pattern_in(s, &c->pats[p], u->norm, &ws, &f->first, &f->last)) {
                f->hit = true;
                f->utt = (int)i;
            }
        words_free(&ws);
        if (f->hit)
            return 0;
    }
    return 0;
}

static bool level_holds(const sc_spec *s, const level *L, const found *f)
{
    for (int i = 0; i < L->n_all; i++)
        if (!f[L->all[i]].hit && !s->checks[L->all[i]].unset)
            return false;
    if (L->n_any) {
        bool one = false;
        for (int i = 0; i < L->n_any && !one; i++)
            one = f[L->any[i]].hit;
        if (!one)
            return false;
    }
    for (int i = 0; i < L->n_none; i++)
        if (f[L->none[i]].hit)
            return false;
    if (L->at_least) {
        int k = 0;
        for (int i = 0; i < L->n_of; i++)
            k += f[L->of[i]].hit;
        if (k < L->at_least)
            return false;
    }
    return true;
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, n - l, fmt, ap);
    va_end(ap);
}

/* the checks found / not found, as a clause */
static void checks_said(const sc_spec *s, const found *f, char *buf, size_t n)
{
    char yes[160] = "", no[160] = "", unset[160] = "";
    for (int i = 0; i < s->n_checks; i++) {
        char *dst = s->checks[i].unset ? unset : f[i].hit ? yes : no;
        append(dst, 160, "%s%s", dst[0] ? ", " : "", s->checks[i].key);
    }
    if (yes[0])
        append(buf, n, "found: %s", yes);
    if (no[0])
        append(buf, n, "%snot found: %s", buf[0] ? "; " : "", no);
    if (unset[0])
        append(buf, n, "%snot configured: %s", buf[0] ? "; " : "", unset);
}

/* the quotes of the checks found that `use` marks */
static int quotes_of(const sc_spec *s, const sc_text *t, const found *f, const bool *use,
                     sc_cat_result *out)
{
    for (int i = 0; i < s->n_checks; i++) {
        if (!f[i].hit || !use[i])
            continue;
        const sc_utt *u = &t->u[f[i].utt];
        words ws;
        if (split(u->norm, &ws) != 0)
            return -1;
        char *q = quote_of(u, &ws, f[i].first, f[i].last);
        words_free(&ws);
        if (!q)
            return -1;
        /* a display span whose words did not line up with the normalised ones (a number of
         * words made one number, a mark splitting a word) is not verbatim: the whole text is */
        int chk = sc_quote_check(t, u->speaker, u->start, u->end, q, 0, NULL);
        if (chk < 0) {
            free(q);
            return -1;
        }
        if (chk != 0) {
            free(q);
            if (!(q = strdup(u->text)))
                return -1;
        }
        int rc = sc_add_quote(out, u->speaker, u->start, u->end, q);
        free(q);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int sc_spec_judge(const sc_spec *s, const sc_category *c, const json_t *report,
                  const sc_sentiment *sent, const sc_text *text, sc_cat_result *out)
{
    found f[MAX_CHECKS];
    bool have_text = text && text->n > 0;
    for (int i = 0; i < s->n_checks; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        if (have_text && run_check(s, &s->checks[i], text, &f[i]) != 0)
            return -1;
    }
    for (int i = 0; i < s->n_critical_if; i++)
        if (f[s->critical_if[i]].hit)
            out->r.critical_failed = true;
    if (c->method == SC_RULES) {
        snprintf(out->engine, sizeof(out->engine), "rules");
        if (!have_text) {
            snprintf(out->reason, sizeof(out->reason), "not scored: no transcript");
            return 0;
        }
        const level *hit = NULL;
        for (int i = 0; i < s->n_levels && !hit; i++)
            if (level_holds(s, &s->levels[i], f))
                hit = &s->levels[i];
        out->r.scored = true;
        out->r.score = hit ? hit->score : s->otherwise;
        out->reason[0] = '\0';
        if (hit && hit->say[0])
            append(out->reason, sizeof(out->reason), "%s; ", hit->say);
        /* a window that holds none of the agent's words: where the agent spoke instead */
        char missed[200];
        int missed_utt = -1;
        bool miss = sc_window_missed(&s->window, text, missed, sizeof(missed), &missed_utt);
        if (miss)
            append(out->reason, sizeof(out->reason), "%s; ", missed);
        checks_said(s, f, out->reason + strlen(out->reason),
                    sizeof(out->reason) - strlen(out->reason));
        if (!text->separated)
            append(out->reason, sizeof(out->reason), " (speakers not separated: one mixed leg)");
        else if (text->roles_unknown)
            append(out->reason, sizeof(out->reason),
                   " (speakers S1 and S2 from diarization: their roles not known)");
        /* the evidence: what the level rests on, and what failed a critical item; a score
         * that rests on what was not found has no quote to show, and its reason says what was
         * looked for */
        bool use[MAX_CHECKS] = {false};
        for (int i = 0; hit && i < hit->n_all; i++)
            use[hit->all[i]] = true;
        for (int i = 0; hit && i < hit->n_any; i++)
            use[hit->any[i]] = true;
        for (int i = 0; hit && i < hit->n_of; i++)
            use[hit->of[i]] = true;
        for (int i = 0; i < s->n_critical_if; i++)
            use[s->critical_if[i]] = true;
        if (miss && missed_utt >= 0) { /* the words it names, whole */
            const sc_utt *u = &text->u[missed_utt];
            if (sc_add_quote(out, u->speaker, u->start, u->end, u->text) != 0)
                return -1;
        }
        return quotes_of(s, text, f, use, out);
    }
    /* acoustic: the start minus each deduction that applies */
    snprintf(out->engine, sizeof(out->engine), "acoustic");
    double score = s->start;
    int judged = 0;
    char said[320] = "";
    for (int i = 0; i < s->n_ded; i++) {
        const deduction *D = &s->ded[i];
        if (D->check >= 0) { /* a phrase alone does not make a measured category scored */
            if (!have_text)
                continue;
            if (f[D->check].hit) {
                score -= D->points;
                append(said, sizeof(said), "%s%s (-%g)", said[0] ? "; " : "",
                       D->say[0] ? D->say : s->checks[D->check].key, D->points);
            }
            continue;
        }
        double v = 0;
        int k = sc_metric_of(report, sent, D->metric, &v);
        bool seen = false;
        for (size_t m = 0; m < out->n_metrics && !seen; m++)
            seen = !strcmp(out->metrics[m].name, D->metric);
        if (!seen && sc_add_metric(out, D->metric, k == 1, v) != 0)
            return -1;
        if (k != 1)
            continue;
        judged++;
        if (D->above ? v > D->limit : v < D->limit) {
            score -= D->points;
            append(said, sizeof(said), "%s%s %g %s %g (-%g)", said[0] ? "; " : "",
                   D->say[0] ? D->say : D->metric, round(v * 100) / 100, D->above ? ">" : "<",
                   D->limit, D->points);
        }
    }
    if (judged == 0) {
        snprintf(out->reason, sizeof(out->reason), "not scored: %s",
                 report ? "the report has none of the figures it needs (a mono recording, or "
                          "the conversation analyzer did not run)"
                        : "no analysis report (its figures are measured on the audio)");
        return 0;
    }
    out->r.scored = true;
    out->r.score = score < c->lo ? c->lo : score > c->hi ? c->hi : score;
    snprintf(out->reason, sizeof(out->reason), "%s",
             said[0] ? said : "every figure within its limit");
    bool use[MAX_CHECKS] = {false};
    for (int i = 0; i < s->n_ded; i++)
        if (s->ded[i].check >= 0)
            use[s->ded[i].check] = true;
    for (int i = 0; i < s->n_critical_if; i++)
        use[s->critical_if[i]] = true;
    return have_text ? quotes_of(s, text, f, use, out) : 0;
}
