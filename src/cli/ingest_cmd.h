/* ingest_cmd.h - `callqa ingest vicidial|watch` (ingest_cmd.c), which service_main.c runs, and
 * `callqa serve` and `callqa worker` start beside them (sidecar.h). */
#ifndef CQ_CLI_INGEST_CMD_H
#define CQ_CLI_INGEST_CMD_H

int cq_cli_ingest(int argc, char **argv);

#endif
