/* score_cmd.h - `callqa score` (score_cmd.c), which service_main.c runs: one call scored on a
 * scorecard. */
#ifndef CQ_CLI_SCORE_CMD_H
#define CQ_CLI_SCORE_CMD_H

int cq_cli_score(int argc, char **argv);

#endif
