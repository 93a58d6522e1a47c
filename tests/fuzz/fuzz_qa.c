/*
 * fuzz_qa.c - libFuzzer harness over the QA API's request bodies: a supervisor's override
 * (svc_qa_scores_parse, PATCH /api/qa/call/{id}/scores). Oracles: an accepted body is an object
 * of supervisor (a non-empty string of at most 128 bytes), an optional comment (a string of at
 * most 4000, or null) and scores (1-32 categories, each an integer from 1 to 5), nothing else;
 * a refused one says why, with one of the route's error codes.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/service/svc_qa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200] = "";
    const char *code = NULL;
    json_t *b = svc_qa_scores_parse((const char *)data, size, why, sizeof(why), &code);
    if (!b) {
        if (!why[0] || !code ||
            (strcmp(code, "bad_json") && strcmp(code, "bad_field") && strcmp(code, "bad_score")))
            __builtin_trap();
        return 0;
    }
    if (code || !json_is_object(b))
        __builtin_trap();
    json_t *sup = json_object_get(b, "supervisor"), *com = json_object_get(b, "comment"),
           *sc = json_object_get(b, "scores");
    size_t fields = 2 + (com != NULL);
    if (json_object_size(b) != fields || !json_is_string(sup) || !json_string_length(sup) ||
        json_string_length(sup) > 128 || (com && !json_is_null(com) && !json_is_string(com)) ||
        (json_is_string(com) && json_string_length(com) > 4000) || !json_is_object(sc) ||
        json_object_size(sc) < 1 || json_object_size(sc) > 32)
        __builtin_trap();
    const char *k;
    json_t *v;
    json_object_foreach(sc, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
            __builtin_trap();
    }
    json_decref(b);
    return 0;
}
