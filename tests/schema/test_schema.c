/*
 * test_schema.c - the JSON-Schema checker of our own schemas (src/schema/): the subset it
 * accepts and refuses, instances checked with path-precise messages, and the copy sent to a
 * provider without the bounds it does not take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/schema/js.h"

/* an answer schema like scoring's: categories -> greeting -> score, reason, evidence[] */
static const char k_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"categories\",\"summary\","
    "\"tags\"],\"properties\":{"
    "\"summary\":{\"type\":[\"string\",\"null\"],\"maxLength\":10},"
    "\"tags\":{\"type\":\"array\",\"maxItems\":2,\"minItems\":1,\"items\":{\"type\":\"string\","
    "\"enum\":[\"a\",\"b\"]}},"
    "\"categories\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"greeting\"]"
    ","
    "\"properties\":{\"greeting\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"score\",\"evidence\"],\"properties\":{"
    "\"score\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5,\"description\":\"1-5\"},"
    "\"evidence\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":"
    "false,"
    "\"required\":[\"start\"],\"properties\":{\"start\":{\"type\":\"number\",\"minimum\":0}}}}"
    "}}}}}}";

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad JSON in the test: %s (%s)", e.text, s);
    return j;
}

static void check_msg(const char *instance, const char *want)
{
    json_t *s = J(k_schema), *v = J(instance);
    char err[300] = "";
    int rc = js_check(s, v, err, sizeof(err));
    if (!want) {
        if (rc != 0)
            fail_msg("refused %s: %s", instance, err);
    } else {
        assert_int_equal(rc, -1);
        if (strcmp(err, want))
            fail_msg("for %s\n  got:  %s\n  want: %s", instance, err, want);
    }
    json_decref(s);
    json_decref(v);
}

#define GOOD                                                                                       \
    "{\"summary\":null,\"tags\":[\"a\"],\"categories\":{\"greeting\":{\"score\":%s,\"evidence\":%" \
    "s}}}"

static void instances(void **state)
{
    (void)state;
    char b[512];
    snprintf(b, sizeof(b), GOOD, "4", "[{\"start\":1.5}]");
    check_msg(b, NULL);
    snprintf(b, sizeof(b), GOOD, "4.0", "[]"); /* an integral real is an integer */
    check_msg(b, NULL);
    check_msg("{\"summary\":\"h\\u00e9llo w\\u00f6rl\",\"tags\":[\"a\",\"b\"],"
              "\"categories\":{\"greeting\":{\"score\":1,\"evidence\":[]}}}",
              NULL); /* 12 bytes, 10 characters */
    snprintf(b, sizeof(b), GOOD, "7", "[]");
    check_msg(b, "$.categories.greeting.score: 7 is above the maximum 5");
    snprintf(b, sizeof(b), GOOD, "0", "[]");
    check_msg(b, "$.categories.greeting.score: 0 is below the minimum 1");
    snprintf(b, sizeof(b), GOOD, "3.5", "[]");
    check_msg(b, "$.categories.greeting.score: expected integer, got number 3.5");
    snprintf(b, sizeof(b), GOOD, "\"5\"", "[]");
    check_msg(b, "$.categories.greeting.score: expected integer, got string '5'");
    snprintf(b, sizeof(b), GOOD, "3", "[{\"start\":1},{\"start\":-2}]");
    check_msg(b, "$.categories.greeting.evidence[1].start: -2 is below the minimum 0");
    snprintf(b, sizeof(b), GOOD, "3", "[{\"start\":1,\"end\":2}]");
    check_msg(b, "$.categories.greeting.evidence[0]: the property 'end' is not allowed "
                 "(additionalProperties is false)");
    snprintf(b, sizeof(b), GOOD, "3", "[{}]");
    check_msg(b, "$.categories.greeting.evidence[0]: the required property 'start' is missing");
    check_msg("{\"summary\":null,\"tags\":[\"a\"],\"categories\":{}}",
              "$.categories: the required property 'greeting' is missing");
    check_msg("{\"summary\":null,\"tags\":[\"c\"],\"categories\":{\"greeting\":{\"score\":1,"
              "\"evidence\":[]}}}",
              "$.tags[0]: 'c' is not one of the allowed values");
    check_msg("{\"summary\":null,\"tags\":[\"a\",\"a\",\"b\"],\"categories\":{\"greeting\":{"
              "\"score\":1,\"evidence\":[]}}}",
              "$.tags: 3 items, more than maxItems 2");
    check_msg("{\"summary\":null,\"tags\":[],\"categories\":{\"greeting\":{"
              "\"score\":1,\"evidence\":[]}}}",
              "$.tags: 0 items, fewer than minItems 1");
    check_msg("{\"summary\":\"eleven char\",\"tags\":[\"a\"],\"categories\":{\"greeting\":{"
              "\"score\":1,\"evidence\":[]}}}",
              "$.summary: a string of 11 characters, longer than maxLength 10");
    check_msg("{\"summary\":5,\"tags\":[\"a\"],\"categories\":{\"greeting\":{"
              "\"score\":1,\"evidence\":[]}}}",
              "$.summary: expected string or null, got integer 5");
    check_msg("[1]", "$: expected object, got array an array");
}

static void subset(void **state)
{
    (void)state;
    char err[300];
    json_t *s = J(k_schema);
    assert_int_equal(js_schema_supported(s, err, sizeof(err)), 0);
    json_decref(s);
    static const struct {
        const char *schema, *want;
    } bad[] = {
        {"{\"type\":\"string\",\"pattern\":\"^a\"}", "$: 'pattern' is not supported"},
        {"{\"anyOf\":[]}", "$: 'anyOf' is not supported"},
        {"{\"type\":\"object\",\"properties\":{}}",
         "$: an object needs 'additionalProperties': false"},
        {"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[],"
         "\"properties\":{\"a\":{\"type\":\"string\"}}}",
         "$: 'required' must list every property (strict mode)"},
        {"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
         "\"properties\":{\"a\":{\"type\":\"text\"}}}",
         "$.a: 'type' must be one of object, array, string, number, integer, boolean, null, or "
         "an array of them"},
        {"{\"type\":[\"string\",\"string\"]}",
         "$: 'type' must be one of object, array, string, number, integer, boolean, null, or "
         "an array of them"},
        {"{\"type\":\"string\",\"minimum\":1}",
         "$: 'minimum'/'maximum' belong to a number or an integer"},
        {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":1}",
         "$: 'minimum'/'maximum' must be numbers, min <= max"},
        {"{\"type\":\"array\"}", "$: an array needs 'items'"},
        {"{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"date\"}}",
         "$[]: 'format' is not supported"},
        {"{\"type\":\"string\",\"enum\":[[1]]}", "$: 'enum' values must be scalars"},
        {"{\"type\":\"string\",\"maxLength\":-1}", "$: 'maxLength' must be a count, on a string"},
        {"{\"type\":\"string\",\"description\":3}", "$: 'description' must be a string"},
        {"\"string\"", "$: a schema must be an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = J(bad[i].schema);
        err[0] = 0;
        assert_int_equal(js_schema_supported(b, err, sizeof(err)), -1);
        if (strcmp(err, bad[i].want))
            fail_msg("case %zu\n  got:  %s\n  want: %s", i, err, bad[i].want);
        json_decref(b);
    }
    /* 11 levels of arrays nest too deep */
    char deep[512] = "";
    for (int i = 0; i < 11; i++)
        strcat(deep, "{\"type\":\"array\",\"items\":");
    strcat(deep, "{\"type\":\"null\"}");
    for (int i = 0; i < 11; i++)
        strcat(deep, "}");
    json_t *d = J(deep);
    assert_int_equal(js_schema_supported(d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nested more than 10 levels deep"));
    json_decref(d);
}

static void wire(void **state)
{
    (void)state;
    json_t *s = J(k_schema);
    json_t *w = js_wire_schema(s, JS_DROP_BOUNDS | JS_DROP_LENGTH | JS_DROP_ITEMS);
    assert_non_null(w);
    char *t = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
    assert_null(strstr(t, "\"minimum\""));
    assert_null(strstr(t, "\"maximum\""));
    assert_null(strstr(t, "\"maxLength\""));
    assert_null(strstr(t, "\"maxItems\""));
    assert_non_null(strstr(t, "\"description\":\"1-5 (minimum 1, maximum 5)\""));
    assert_non_null(strstr(t, "\"description\":\"(maxItems 2, minItems 1)\"") ||
                    strstr(t, "\"description\":\"(minItems 1, maxItems 2)\""));
    char err[200];
    assert_int_equal(js_schema_supported(w, err, sizeof(err)), 0);
    free(t);
    json_decref(w);
    /* only maxLength dropped: the bounds stay; the original is untouched */
    w = js_wire_schema(s, JS_DROP_LENGTH);
    t = json_dumps(w, JSON_COMPACT);
    assert_non_null(strstr(t, "\"maximum\":5"));
    assert_null(strstr(t, "\"maxLength\":"));
    assert_non_null(strstr(t, "(maxLength 10)"));
    free(t);
    json_decref(w);
    t = json_dumps(s, JSON_COMPACT);
    assert_non_null(strstr(t, "\"maxLength\":10"));
    free(t);
    /* a property named like a keyword is a property, not a keyword */
    json_t *k = J("{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"minimum\"],"
                  "\"properties\":{\"minimum\":{\"type\":\"integer\",\"maximum\":3}}}");
    w = js_wire_schema(k, JS_DROP_BOUNDS);
    assert_non_null(json_object_get(json_object_get(w, "properties"), "minimum"));
    assert_null(
        json_object_get(json_object_get(json_object_get(w, "properties"), "minimum"), "maximum"));
    json_decref(w);
    json_decref(k);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(instances),
        cmocka_unit_test(subset),
        cmocka_unit_test(wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
