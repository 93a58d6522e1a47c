/* classify_cmd.h - `callqa classify` (classify_cmd.c), which main.c runs; it calls the engine's
 * public API only (cq_audio, cq_resample, cq_vad, cq_classify). */
#ifndef CQ_CLI_CLASSIFY_CMD_H
#define CQ_CLI_CLASSIFY_CMD_H

#include "callqa/callqa.h"

int cq_cli_classify(int argc, char **argv);

#endif
