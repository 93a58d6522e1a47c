/* retain_cmd.h - `callqa store purge` and `callqa store erase` (retain_cmd.c), which
 * store_cmd.c's cq_cli_store hands over to (argv[0] the command's name). */
#ifndef CQ_CLI_RETAIN_CMD_H
#define CQ_CLI_RETAIN_CMD_H

int cq_cli_store_purge(int argc, char **argv);
int cq_cli_store_erase(int argc, char **argv);

#endif
