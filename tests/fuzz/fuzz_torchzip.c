/*
 * fuzz_torchzip.c - libFuzzer harness over the checkpoint reader: the zip directory, the
 * pickle machine, NISQA's args and weight lookup, and, when a model loads, one short clip.
 */
#include <stddef.h>
#include <stdint.h>

#include "callqa/callqa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load_memory(data, size, "fuzz.tar", &err);
    if (!m)
        return 0;
    static float x[8000];
    cq_nisqa *s = cq_nisqa_create(m, 8000, 2.0, NULL);
    cq_nisqa_scores sc;
    if (s && cq_nisqa_push(s, x, 8000) == CQ_OK && cq_nisqa_finish(s, &sc) == CQ_OK &&
        sc.n_segments == 0)
        __builtin_trap(); /* a scored clip has segments */
    cq_nisqa_destroy(s);
    cq_nisqa_model_free(m);
    return 0;
}
