/* classify_cmd.h - `callqa classify` (classify_cmd.c). */
#ifndef CQ_CLI_CLASSIFY_CMD_H
#define CQ_CLI_CLASSIFY_CMD_H

int cq_cli_classify(int argc, char **argv);

#endif
