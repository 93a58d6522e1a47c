/* serve_cmd.h - `callqa serve` (serve_cmd.c). */
#ifndef CQ_CLI_SERVE_CMD_H
#define CQ_CLI_SERVE_CMD_H

int cq_cli_serve(int argc, char **argv);

#endif
