/* store_cmd.h - `callqa store ...` (store_cmd.c), which service_main.c runs: `store migrate`,
 * and each other store command handed over to the file that defines it (redact_cmd.h,
 * retain_cmd.h, user_cmd.h). */
#ifndef CQ_CLI_STORE_CMD_H
#define CQ_CLI_STORE_CMD_H

int cq_cli_store(int argc, char **argv);

#endif
