/* live_cmd.h - `callqa live` (live_cmd.c), which main.c runs: the AudioSocket server of the room
 * live (src/live/live.h) with the engine's VAD model. */
#ifndef CQ_CLI_LIVE_CMD_H
#define CQ_CLI_LIVE_CMD_H

int cq_cli_live(int argc, char **argv);

#endif
