/* serve_cmd.h - the commands of the callqa-service program: serve (serve_cmd.c), worker and
 * requeue (worker_cmd.c), ingest (ingest_cmd.c). */
#ifndef CQ_CLI_SERVE_CMD_H
#define CQ_CLI_SERVE_CMD_H

int cq_cli_serve(int argc, char **argv);
int cq_cli_worker(int argc, char **argv);  /* worker_cmd.c */
int cq_cli_requeue(int argc, char **argv); /* worker_cmd.c */
int cq_cli_ingest(int argc, char **argv);  /* ingest_cmd.c */

#endif
