/* transcribe_cmd.h - `callqa analyze --transcribe` and `callqa transcript import`
 * (transcribe_cmd.c), which service_main.c runs. */
#ifndef CQ_CLI_TRANSCRIBE_CMD_H
#define CQ_CLI_TRANSCRIBE_CMD_H

int cq_cli_transcribe(int argc, char **argv);
int cq_cli_transcript(int argc, char **argv);

#endif
