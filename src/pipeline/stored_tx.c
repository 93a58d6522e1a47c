/*
 * stored_tx.c - a transcript block (the report's `transcript`, JSON) as the store keeps it: the
 * whole text one turn per line, the segments for search, the figures as columns.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "../store/store_calls.h"

static const char *str_or_null(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static double num_or_nan(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int pl_stored_tx_from_json(const char *detail, const char *config_hash, int64_t call_id,
                           pl_stored_tx *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loads(detail, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errsz, "the transcript is not a JSON object: %s", je.text);
        return -1;
    }
    out->json = o;
    const json_t *legs = json_object_get(o, "legs"), *turns = json_object_get(o, "turns");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(legs); i++)
        n += json_array_size(json_object_get(json_array_get(legs, i), "segments"));
    out->segs = calloc(n + 1, sizeof(*out->segs));
    size_t cap = 1;
    for (size_t i = 0; i < json_array_size(turns); i++) {
        const char *sp = str_or_null(json_array_get(turns, i), "speaker");
        const char *tx = str_or_null(json_array_get(turns, i), "text");
        cap += strlen(sp ? sp : "") + strlen(tx ? tx : "") + 3;
    }
    out->text = malloc(cap);
    out->detail = strdup(detail);
    if (!out->segs || !out->text || !out->detail) {
        pl_stored_tx_free(out);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    size_t k = 0;
    out->text[0] = 0;
    for (size_t i = 0; i < json_array_size(turns); i++) {
        const char *sp = str_or_null(json_array_get(turns, i), "speaker");
        const char *tx = str_or_null(json_array_get(turns, i), "text");
        k += (size_t)snprintf(out->text + k, cap - k, "%s%s: %s", k ? "\n" : "", sp ? sp : "",
                              tx ? tx : "");
    }
    size_t m = 0;
    for (size_t i = 0; i < json_array_size(legs); i++) {
        const json_t *L = json_array_get(legs, i);
        const char *role = str_or_null(L, "speaker"); /* S1, S2 of a diarized mix, or the role */
        if (!role)
            role = str_or_null(L, "role");
        const json_t *segs = json_object_get(L, "segments");
        for (size_t j = 0; j < json_array_size(segs); j++) {
            const json_t *g = json_array_get(segs, j);
            out->segs[m++] = (store_tx_segment){.speaker = role ? role : "mixed",
                                                .start = num_or_nan(g, "start"),
                                                .end = num_or_nan(g, "end"),
                                                .text = str_or_null(g, "text")};
        }
    }
    const json_t *wc = json_object_get(o, "word_count");
    out->t = (store_transcript){
        .call_id = call_id,
        .engine = str_or_null(o, "engine") ? str_or_null(o, "engine") : "import",
        .model = str_or_null(o, "model"),
        .language = str_or_null(o, "language"),
        .word_count = json_is_integer(wc) ? (int64_t)json_integer_value(wc) : 0,
        .seconds = num_or_nan(o, "transcription_time"),
        .audio_sent_sec = num_or_nan(o, "audio_sent_sec"),
        .audio_recorded_sec = num_or_nan(o, "audio_recorded_sec"),
        .hallucination_rate = num_or_nan(json_object_get(o, "guard"), "hallucination_rate"),
        .config_hash = config_hash,
        .text = out->text,
        .detail = out->detail,
        .segs = out->segs,
        .n_segs = m,
    };
    return 0;
}

void pl_stored_tx_free(pl_stored_tx *x)
{
    json_decref(x->json);
    free(x->segs);
    free(x->text);
    free(x->detail);
    memset(x, 0, sizeof(*x));
}
