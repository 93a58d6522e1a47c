/* vad_model.h - the Silero model of `callqa classify` (in callqa) and `callqa live` (in
 * callqa-service): one loader, the same messages (vad_model.c). */
#ifndef CQ_CLI_VAD_MODEL_H
#define CQ_CLI_VAD_MODEL_H

#include "callqa/callqa.h"

/* Silero VAD v6.2 from model_dir (NULL: the default model directory), or NULL with why on
 * stderr (the classifier then uses the DSP speech detector). */
cq_vad_model *cq_cli_vad_model_load(const char *model_dir);

#endif
