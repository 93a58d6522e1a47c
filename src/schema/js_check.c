/*
 * js_check.c - the JSON-Schema checker of callqa's own schemas (js.h).
 *
 * DESIGN: one recursive walk per entry point, carrying the instance's JSON path in a fixed
 * buffer (cut with "..." when it gets long); the first fault ends the walk with its message.
 */
#define _GNU_SOURCE
#include "js.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_MAX_DEPTH 10   /* nested schemas with properties or items */
#define JS_MAX_PROPS 1000 /* properties in all */
#define JS_MAX_ENUM 1000  /* enum values in all */
#define JS_CHECK_DEPTH 64 /* the instance walk's own guard */

static const char *const k_types[] = {"object",  "array",   "string", "number",
                                      "integer", "boolean", "null"};
enum {
    T_OBJECT = 1,
    T_ARRAY = 2,
    T_STRING = 4,
    T_NUMBER = 8,
    T_INTEGER = 16,
    T_BOOLEAN = 32,
    T_NULL = 64
};

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* path + suffix into out (cut at the front when too long) */
static void path_join(char *out, size_t n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void path_join(char *out, size_t n, const char *path, const char *fmt, ...)
{
    char tail[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    size_t pl = strlen(path), tl = strlen(tail);
    if (n < tl + 8) { /* cannot happen with the callers' buffers */
        out[0] = 0;
        return;
    }
    size_t keep = pl + tl + 1 > n ? n - tl - 4 : pl; /* keep the start ("$.a.b") and the step */
    memcpy(out, path, keep);
    size_t o = keep;
    if (keep < pl) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    memcpy(out + o, tail, tl + 1);
}

static int type_bit(const char *s)
{
    for (size_t i = 0; i < sizeof(k_types) / sizeof(k_types[0]); i++)
        if (!strcmp(s, k_types[i]))
            return 1 << i;
    return 0;
}

/* the type mask of a schema's "type" (0: malformed) */
static int type_mask(const json_t *t)
{
    if (json_is_string(t))
        return type_bit(json_string_value(t));
    if (!json_is_array(t) || json_array_size(t) == 0)
        return 0;
    int m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v)
    {
        int b = json_is_string(v) ? type_bit(json_string_value(v)) : 0;
        if (!b || (m & b))
            return 0; /* unknown, or twice */
        m |= b;
    }
    return m;
}

static bool is_count(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

typedef struct walk {
    int props, enums;
} walk;

static int supported(const json_t *s, const char *path, int depth, walk *w, char *err, size_t errsz)
{
    static const char *const known[] = {
        "type",     "properties", "required",  "additionalProperties",
        "items",    "enum",       "minimum",   "maximum",
        "minItems", "maxItems",   "maxLength", "description"};
    if (!json_is_object(s))
        return fail(err, errsz, "%s: a schema must be an object", path);
    if (depth > JS_MAX_DEPTH)
        return fail(err, errsz, "%s: nested more than %d levels deep", path, JS_MAX_DEPTH);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok)
            return fail(err, errsz, "%s: '%.40s' is not supported", path, k);
    }
    int m = type_mask(json_object_get(s, "type"));
    if (!m)
        return fail(err, errsz,
                    "%s: 'type' must be one of object, array, string, number, "
                    "integer, boolean, null, or an array of them",
                    path);
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required"),
                 *ap = json_object_get(s, "additionalProperties"),
                 *items = json_object_get(s, "items"), *en = json_object_get(s, "enum"),
                 *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum"),
                 *mni = json_object_get(s, "minItems"), *mxi = json_object_get(s, "maxItems"),
                 *ml = json_object_get(s, "maxLength"), *d = json_object_get(s, "description");
    if (d && !json_is_string(d))
        return fail(err, errsz, "%s: 'description' must be a string", path);
    char sub[256];
    if (m & T_OBJECT) {
        if (!json_is_object(props))
            return fail(err, errsz, "%s: an object needs 'properties'", path);
        if (!json_is_false(ap))
            return fail(err, errsz, "%s: an object needs 'additionalProperties': false", path);
        if (!json_is_array(req) || json_array_size(req) != json_object_size(props))
            return fail(err, errsz, "%s: 'required' must list every property (strict mode)", path);
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r)
        {
            if (!json_is_string(r) || !json_object_get(props, json_string_value(r)))
                return fail(err, errsz, "%s: 'required' names a property that is not there", path);
            for (size_t j = 0; j < i; j++)
                if (json_equal(r, json_array_get(req, j)))
                    return fail(err, errsz, "%s: 'required' names '%.40s' twice", path,
                                json_string_value(r));
        }
        json_object_foreach((json_t *)props, k, v)
        {
            if (++w->props > JS_MAX_PROPS)
                return fail(err, errsz, "%s: more than %d properties in all", path, JS_MAX_PROPS);
            path_join(sub, sizeof(sub), path, ".%.40s", k);
            if (supported(v, sub, depth + 1, w, err, errsz) != 0)
                return -1;
        }
    } else if (props || req || ap) {
        return fail(err, errsz,
                    "%s: 'properties', 'required' and 'additionalProperties' belong "
                    "to an object",
                    path);
    }
    if (m & T_ARRAY) {
        if (!items)
            return fail(err, errsz, "%s: an array needs 'items'", path);
        path_join(sub, sizeof(sub), path, "[]");
        if (supported(items, sub, depth + 1, w, err, errsz) != 0)
            return -1;
    } else if (items || mni || mxi) {
        return fail(err, errsz, "%s: 'items', 'minItems' and 'maxItems' belong to an array", path);
    }
    if ((mni && !is_count(mni)) || (mxi && !is_count(mxi)) ||
        (mni && mxi && json_integer_value(mni) > json_integer_value(mxi)))
        return fail(err, errsz, "%s: 'minItems'/'maxItems' must be counts, min <= max", path);
    if (ml && (!(m & T_STRING) || !is_count(ml)))
        return fail(err, errsz, "%s: 'maxLength' must be a count, on a string", path);
    if ((mn || mx) && !(m & (T_NUMBER | T_INTEGER)))
        return fail(err, errsz, "%s: 'minimum'/'maximum' belong to a number or an integer", path);
    if ((mn && !json_is_number(mn)) || (mx && !json_is_number(mx)) ||
        (mn && mx && json_number_value(mn) > json_number_value(mx)))
        return fail(err, errsz, "%s: 'minimum'/'maximum' must be numbers, min <= max", path);
    if (en) {
        if (!json_is_array(en) || json_array_size(en) == 0)
            return fail(err, errsz, "%s: 'enum' must be a non-empty array", path);
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e)
        {
            if (json_is_object(e) || json_is_array(e))
                return fail(err, errsz, "%s: 'enum' values must be scalars", path);
            if (++w->enums > JS_MAX_ENUM)
                return fail(err, errsz, "%s: more than %d enum values in all", path, JS_MAX_ENUM);
        }
    }
    return 0;
}

int js_schema_supported(const json_t *schema, char *err, size_t errsz)
{
    walk w = {0, 0};
    return supported(schema, "$", 0, &w, err, errsz);
}

/* ---- checking an instance ------------------------------------------------------------------ */

static void show(const json_t *v, char *out, size_t n)
{
    if (json_is_integer(v))
        snprintf(out, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, n, "%g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(out, n, "'%.40s%s'", json_string_value(v),
                 json_string_length(v) > 40 ? "..." : "");
    else if (json_is_true(v) || json_is_false(v))
        snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v))
        snprintf(out, n, "null");
    else
        snprintf(out, n, "%s", json_is_object(v) ? "an object" : "an array");
}

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static bool integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    double x = json_real_value(v);
    return json_is_real(v) && isfinite(x) && x == floor(x) && fabs(x) < 9.0e15;
}

/* does v have one of the mask's types? */
static bool has_type(const json_t *v, int m)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return m & T_OBJECT;
    case JSON_ARRAY: return m & T_ARRAY;
    case JSON_STRING: return m & T_STRING;
    case JSON_INTEGER: return m & (T_INTEGER | T_NUMBER);
    case JSON_REAL: return (m & T_NUMBER) || ((m & T_INTEGER) && integral(v));
    case JSON_TRUE:
    case JSON_FALSE: return m & T_BOOLEAN;
    default: return m & T_NULL;
    }
}

static void mask_names(int m, char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < sizeof(k_types) / sizeof(k_types[0]); i++)
        if (m & (1 << i)) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, "%s%s", l ? " or " : "", k_types[i]);
        }
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* enum membership: numbers compare by value (1 and 1.0 are the same) */
static bool in_enum(const json_t *en, const json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(en, i, e)
    {
        if (json_is_number(e) && json_is_number(v)) {
            if (json_number_value(e) == json_number_value(v))
                return true;
        } else if (json_equal(e, v)) {
            return true;
        }
    }
    return false;
}

static int check(const json_t *s, const json_t *v, const char *path, int depth, char *err,
                 size_t errsz)
{
    if (depth > JS_CHECK_DEPTH)
        return fail(err, errsz, "%s: nested too deep", path);
    if (!json_is_object(s))
        return fail(err, errsz, "%s: the schema here is not supported (not an object)", path);
    int m = type_mask(json_object_get(s, "type"));
    if (!m)
        return fail(err, errsz, "%s: the schema's type is not supported", path);
    char shown[64], want[96];
    if (!has_type(v, m)) {
        mask_names(m, want, sizeof(want));
        show(v, shown, sizeof(shown));
        return fail(err, errsz, "%s: expected %s, got %s %s", path, want, kind(v), shown);
    }
    const json_t *en = json_object_get(s, "enum");
    if (json_is_array(en) && !in_enum(en, v)) {
        show(v, shown, sizeof(shown));
        return fail(err, errsz, "%s: %s is not one of the allowed values", path, shown);
    }
    char sub[256];
    if (json_is_number(v)) {
        const json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        double x = json_number_value(v);
        show(v, shown, sizeof(shown));
        if (json_is_number(mn) && x < json_number_value(mn)) {
            show(mn, want, sizeof(want));
            return fail(err, errsz, "%s: %s is below the minimum %s", path, shown, want);
        }
        if (json_is_number(mx) && x > json_number_value(mx)) {
            show(mx, want, sizeof(want));
            return fail(err, errsz, "%s: %s is above the maximum %s", path, shown, want);
        }
    } else if (json_is_string(v)) {
        const json_t *ml = json_object_get(s, "maxLength");
        size_t c = utf8_chars(json_string_value(v), json_string_length(v));
        if (json_is_integer(ml) && (json_int_t)c > json_integer_value(ml))
            return fail(err, errsz, "%s: a string of %zu characters, longer than maxLength %lld",
                        path, c, (long long)json_integer_value(ml));
    } else if (json_is_array(v)) {
        const json_t *mni = json_object_get(s, "minItems"), *mxi = json_object_get(s, "maxItems"),
                     *items = json_object_get(s, "items");
        size_t n = json_array_size(v);
        if (json_is_integer(mni) && (json_int_t)n < json_integer_value(mni))
            return fail(err, errsz, "%s: %zu items, fewer than minItems %lld", path, n,
                        (long long)json_integer_value(mni));
        if (json_is_integer(mxi) && (json_int_t)n > json_integer_value(mxi))
            return fail(err, errsz, "%s: %zu items, more than maxItems %lld", path, n,
                        (long long)json_integer_value(mxi));
        if (!items)
            return fail(err, errsz, "%s: the schema's array has no 'items' (not supported)", path);
        for (size_t i = 0; i < n; i++) {
            path_join(sub, sizeof(sub), path, "[%zu]", i);
            if (check(items, json_array_get(v, i), sub, depth + 1, err, errsz) != 0)
                return -1;
        }
    } else if (json_is_object(v)) {
        const json_t *props = json_object_get(s, "properties"),
                     *req = json_object_get(s, "required");
        if (!json_is_object(props))
            return fail(err, errsz, "%s: the schema's object has no 'properties' (not supported)",
                        path);
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r)
        {
            if (json_is_string(r) && !json_object_get(v, json_string_value(r)))
                return fail(err, errsz, "%s: the required property '%.60s' is missing", path,
                            json_string_value(r));
        }
        const char *k;
        json_t *pv;
        json_object_foreach((json_t *)v, k, pv)
        {
            const json_t *ps = json_object_get(props, k);
            if (!ps)
                return fail(err, errsz,
                            "%s: the property '%.60s' is not allowed "
                            "(additionalProperties is false)",
                            path, k);
            path_join(sub, sizeof(sub), path, ".%.60s", k);
            if (check(ps, pv, sub, depth + 1, err, errsz) != 0)
                return -1;
        }
    }
    return 0;
}

int js_check(const json_t *schema, const json_t *instance, char *err, size_t errsz)
{
    if (!instance)
        return fail(err, errsz, "$: no value");
    return check(schema, instance, "$", 0, err, errsz);
}

/* ---- the schema a provider is sent --------------------------------------------------------- */

static json_t *wire(const json_t *s, unsigned drop, int depth)
{
    if (depth > JS_CHECK_DEPTH)
        return NULL;
    if (json_is_array(s)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v)
        {
            json_t *c = wire(v, drop, depth + 1);
            if (!a || !c || json_array_append_new(a, c) != 0) {
                json_decref(a);
                json_decref(c);
                return NULL;
            }
        }
        return a;
    }
    if (!json_is_object(s))
        return json_deep_copy(s);
    json_t *o = json_object();
    if (!o)
        return NULL;
    char note[256] = "";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        bool bound = !strcmp(k, "minimum") || !strcmp(k, "maximum"), len = !strcmp(k, "maxLength"),
             items = !strcmp(k, "minItems") || !strcmp(k, "maxItems");
        if ((bound && (drop & JS_DROP_BOUNDS)) || (len && (drop & JS_DROP_LENGTH)) ||
            (items && (drop & JS_DROP_ITEMS))) {
            if (json_is_number(v)) {
                char num[48];
                show(v, num, sizeof(num));
                size_t l = strlen(note);
                snprintf(note + l, sizeof(note) - l, "%s%s %s", l ? ", " : "", k, num);
            }
            continue;
        }
        /* a property named like a keyword is still a property: only schemas are rewritten */
        json_t *c = !strcmp(k, "enum") || !strcmp(k, "required")    ? json_deep_copy(v)
                    : !strcmp(k, "properties") && json_is_object(v) ? json_object()
                                                                    : wire(v, drop, depth + 1);
        if (c && !strcmp(k, "properties") && json_is_object(v)) {
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                json_t *pc = wire(pv, drop, depth + 1);
                if (!pc || json_object_set_new(c, pk, pc) != 0) {
                    json_decref(c);
                    c = NULL;
                    break;
                }
            }
        }
        if (!c || json_object_set_new(o, k, c) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (note[0]) {
        const char *d = json_string_value(json_object_get(s, "description"));
        char *text = NULL;
        if (asprintf(&text, "%s%s(%s)", d ? d : "", d && *d ? " " : "", note) < 0 ||
            json_object_set_new(o, "description", json_string(text)) != 0) {
            free(text);
            json_decref(o);
            return NULL;
        }
        free(text);
    }
    return o;
}

json_t *js_wire_schema(const json_t *schema, unsigned drop)
{
    return wire(schema, drop, 0);
}
