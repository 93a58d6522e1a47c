/* user_cmd.h - `callqa user ...` (user_cmd.c), which service_main.c runs, and `callqa store
 * audit`, which store_cmd.c's cq_cli_store hands over to. */
#ifndef CQ_CLI_USER_CMD_H
#define CQ_CLI_USER_CMD_H

int cq_cli_user(int argc, char **argv);
int cq_cli_store_audit(int argc, char **argv);

#endif
