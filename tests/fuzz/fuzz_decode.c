/*
 * fuzz_decode.c - libFuzzer harness over the whole engine: header validation, callqa's own WAV
 * decode (PCM, float, G.711) or libsndfile's for other formats, leg split, levels, silence and
 * both report renderers, on one in-memory recording.
 *
 * The first input byte picks the name the bytes arrive under (which decides whether they are
 * tried as raw GSM); the rest is the file. Work per input is bounded: 60 s of audio at most.
 * Build: cmake -DCQ_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>

#include "callqa/callqa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"fuzz.wav", "fuzz.gsm", "fuzz.mp3", "fuzz"};
    if (size < 1)
        return 0;
    cq_engine_params ep = cq_engine_default_params();
    ep.max_duration_sec = 60.0;
    ep.block_frames = 1024;
    cq_engine *e = cq_engine_create(&ep, NULL);
    if (!e)
        return 0;
    cq_call_src src = {.data = data + 1, .size = size - 1, .name = names[data[0] & 3]};
    cq_report *r = NULL;
    cq_err err;
    if (cq_engine_analyze(e, &src, &r, &err) == CQ_OK) {
        cq_report_free_string(cq_report_to_json(r));
        cq_report_free_string(cq_report_to_text(r));
        cq_report_destroy(r);
    }
    cq_engine_destroy(e);
    return 0;
}
