/*
 * fuzz_livekept.c - libFuzzer harness over the worker's reader of a live call's events file
 * (src/pipeline/live_kept.c, pl_live_parse): bytes a `callqa live` wrote, or anything a file of
 * that name beside a recording holds. The first byte's low bit asks for the digits masked; the rest
 * is the file, held against a report whose one leg has a DTMF, a ringback and a hold event.
 * Oracles: an object always comes back; the agreement's counts are consistent (agreed at most
 * live and batch, agree only when all three are equal) and the same with masking and without;
 * at most 2,000 event lines are kept; with masking, no "digits" or "digit" value holds a digit,
 * # or A-D.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/pipeline/pipeline.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool clear_of_digits(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return !v || !v[strcspn(v, "0123456789#ABCD")];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool mask = data[0] & 1;
    char *text = malloc(size); /* the file's bytes and a writable end */
    MUST(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    cq_call_event ev[3] = {
        {.id = 1, .type = CQ_EV_DTMF, .start_sec = 1.0, .end_sec = 1.5, .digits = "12#"},
        {.id = 2, .type = CQ_EV_RINGBACK, .start_sec = 0.0, .end_sec = 6.0},
        {.id = 3, .type = CQ_EV_HOLD, .start_sec = 10.0, .end_sec = 40.0},
    };
    cq_leg_report leg = {.has_events = true, .events = ev, .n_events = 3};
    cq_report rep = {.has_legs = false, .inbound = &leg};
    char *copy = malloc(size);
    MUST(copy != NULL);
    memcpy(copy, text, size);
    json_t *r = pl_live_parse(text, size - 1, "x.live.jsonl", &rep, mask);
    json_t *other = pl_live_parse(copy, size - 1, "x.live.jsonl", &rep, !mask);
    MUST(json_is_object(r) && json_is_object(other));
    json_t *ag = json_object_get(r, "agreement");
    MUST(json_equal(ag, json_object_get(other, "agreement")));
    json_decref(other);
    free(copy);
    json_int_t live = json_integer_value(json_object_get(ag, "live"));
    json_int_t batch = json_integer_value(json_object_get(ag, "batch"));
    json_int_t agreed = json_integer_value(json_object_get(ag, "agreed"));
    MUST(agreed <= live && agreed <= batch && batch <= 3);
    MUST(json_is_true(json_object_get(ag, "agree")) == (agreed == live && agreed == batch));
    json_t *events = json_object_get(r, "events");
    MUST(json_is_array(events) && json_array_size(events) <= 2000);
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        MUST(json_is_object(e));
        if (mask)
            MUST(clear_of_digits(e, "digits") && clear_of_digits(e, "digit"));
    }
    json_decref(r);
    free(text);
    return 0;
}
