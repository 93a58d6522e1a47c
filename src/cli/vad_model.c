/* vad_model.c - the Silero model of `classify` and `live` (vad_model.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "vad_model.h"

cq_vad_model *cq_cli_vad_model_load(const char *model_dir)
{
    char dir[4096];
    cq_vad_model *vm = NULL;
    cq_err err;
    cq_err_clear(&err);
    if (!model_dir && cq_model_dir_default(dir, sizeof(dir)) == CQ_OK)
        model_dir = dir;
    if (model_dir) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/silero_vad/v6.2/silero_vad.onnx", model_dir);
        if (access(path, R_OK) == 0 && !(vm = cq_vad_model_load(path, &err)))
            fprintf(stderr, "callqa: %s; using the DSP speech detector\n", err.msg);
    }
    if (!vm)
        fprintf(stderr, "callqa: Silero VAD model not installed: speech from the DSP fallback\n");
    return vm;
}
