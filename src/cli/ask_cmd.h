/* ask_cmd.h - `callqa ask grants` (ask_cmd.c), which service_main.c runs: the MariaDB
 * statements that give POST /ask's ViciDial account the columns of the allow-list. */
#ifndef CQ_CLI_ASK_CMD_H
#define CQ_CLI_ASK_CMD_H

int cq_cli_ask(int argc, char **argv);

#endif
