/*
 * fuzz_onnx.c - libFuzzer harness over the model reader: the ONNX protobuf walk, the Silero
 * tensor lookup with its shape checks, and, when a model loads, one batch of inference.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "callqa/callqa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cq_err err;
    cq_vad_model *m = cq_vad_model_load_memory(data, size, "fuzz.onnx", &err);
    if (!m)
        return 0;
    static float x[512 * 4];
    float p[4];
    for (int rate = 8000; rate <= 16000; rate += 8000) {
        cq_vad *v = cq_vad_create(m, rate, NULL);
        if (v && cq_vad_process(v, x, 2, p) != CQ_OK)
            __builtin_trap();
        cq_vad_destroy(v);
    }
    cq_vad_model_free(m);
    return 0;
}
