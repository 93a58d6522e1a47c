/* serve_cmd.h - `callqa serve` (serve_cmd.c), which service_main.c runs: the HTTP service, with
 * the sidecars it starts beside it (sidecar.h). serve_cmd.c is the one file outside src/service/
 * that includes svc.h. */
#ifndef CQ_CLI_SERVE_CMD_H
#define CQ_CLI_SERVE_CMD_H

int cq_cli_serve(int argc, char **argv);

#endif
