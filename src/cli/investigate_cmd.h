/* investigate_cmd.h - `callqa investigate` (investigate_cmd.c), which service_main.c runs: why a
 * call went wrong. */
#ifndef CQ_CLI_INVESTIGATE_CMD_H
#define CQ_CLI_INVESTIGATE_CMD_H

int cq_cli_investigate(int argc, char **argv);

#endif
