/* worker_cmd.h - `callqa worker` and `callqa requeue` (worker_cmd.c), which service_main.c runs;
 * `callqa serve` starts the worker beside it (sidecar.h). */
#ifndef CQ_CLI_WORKER_CMD_H
#define CQ_CLI_WORKER_CMD_H

int cq_cli_worker(int argc, char **argv);
int cq_cli_requeue(int argc, char **argv);

#endif
