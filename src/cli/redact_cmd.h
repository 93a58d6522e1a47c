/* redact_cmd.h - `callqa store redact` (redact_cmd.c), which store_cmd.c's cq_cli_store hands
 * over to (argv[0] "redact"). */
#ifndef CQ_CLI_REDACT_CMD_H
#define CQ_CLI_REDACT_CMD_H

int cq_cli_store_redact(int argc, char **argv);

#endif
