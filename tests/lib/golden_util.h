/*
 * golden_util.h - the reference pipeline's outputs (../shared/reference/golden.jsonl) for the
 * tests that compare with them: the whole file as a JSON array, and one leg's reference VAD
 * segments. Include after testutil.h.
 */
#ifndef CQ_GOLDEN_UTIL_H
#define CQ_GOLDEN_UTIL_H

#include <jansson.h>

#include "callqa/callqa.h"

/* golden.jsonl, one array element per line; NULL when missing or malformed. */
static inline json_t *tu_golden_load(void)
{
    char *gp = NULL;
    if (asprintf(&gp, "%s/reference/golden.jsonl", tu_shared_dir()) < 0)
        return NULL;
    FILE *f = fopen(gp, "r");
    free(gp);
    if (!f)
        return NULL;
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    json_error_t jerr;
    while (all && getline(&line, &cap, f) > 0) {
        json_t *g = json_loads(line, 0, &jerr);
        if (!g) {
            json_decref(all);
            all = NULL;
            break;
        }
        json_array_append_new(all, g);
    }
    free(line);
    fclose(f);
    return all;
}

/* The reference VAD's speech segments of `src` channel `channel` (0 mono, 1 and 2 stereo),
 * in seconds, up to max of them; fails the test when golden.jsonl has no such leg. */
static inline size_t tu_ref_vad(json_t *golden, const char *src, int channel, cq_conv_span *out,
                                size_t max)
{
    size_t idx;
    json_t *g;
    json_array_foreach(golden, idx, g)
    {
        const char *s = json_string_value(json_object_get(g, "source"));
        json_t *ch = json_object_get(g, "channel");
        int c = json_is_string(ch) ? atoi(json_string_value(ch)) : (int)json_integer_value(ch);
        if (!s || strcmp(s, src) || c != channel)
            continue;
        json_t *ts = json_object_get(json_object_get(g, "vad"), "timestamps_sec");
        size_t n = 0, i;
        json_t *t;
        json_array_foreach(ts, i, t)
        {
            if (n < max)
                out[n++] = (cq_conv_span){json_number_value(json_array_get(t, 0)),
                                          json_number_value(json_array_get(t, 1))};
        }
        return n;
    }
    fail_msg("golden.jsonl has no %s channel %d", src, channel);
    return 0;
}

#endif /* CQ_GOLDEN_UTIL_H */
