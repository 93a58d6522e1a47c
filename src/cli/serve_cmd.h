/* serve_cmd.h - the commands of the callqa-service program, run by service_main.c: serve
 * (serve_cmd.c), worker and requeue (worker_cmd.c), ingest (ingest_cmd.c), analyze --transcribe
 * and transcript import (transcribe_cmd.c), score (score_cmd.c), store migrate (store_cmd.c);
 * and the sidecars serve and worker run beside them (sidecar.c). serve_cmd.c is the one file
 * outside src/service/ that includes svc.h. */
#ifndef CQ_CLI_SERVE_CMD_H
#define CQ_CLI_SERVE_CMD_H

#include <stdbool.h>

int cq_cli_serve(int argc, char **argv);
int cq_cli_worker(int argc, char **argv);       /* worker_cmd.c */
int cq_cli_requeue(int argc, char **argv);      /* worker_cmd.c */
int cq_cli_ingest(int argc, char **argv);       /* ingest_cmd.c */
int cq_cli_transcribe(int argc, char **argv);   /* transcribe_cmd.c: analyze --transcribe */
int cq_cli_transcript(int argc, char **argv);   /* transcribe_cmd.c: transcript import */
int cq_cli_score(int argc, char **argv);        /* score_cmd.c */
int cq_cli_store(int argc, char **argv);        /* store_cmd.c: store migrate */
int cq_cli_store_redact(int argc, char **argv); /* redact_cmd.c: store redact */
int cq_cli_sip(int argc, char **argv);          /* sip_cmd.c: a capture's streams */
int cq_cli_analyze_pcap(int argc, char **argv); /* sip_cmd.c: analyze --pcap */
int cq_cli_investigate(int argc, char **argv);  /* investigate_cmd.c: why a call went wrong */
int cq_cli_ask(int argc, char **argv);          /* ask_cmd.c: POST /ask's ViciDial grants */
int cq_cli_user(int argc, char **argv);         /* user_cmd.c: the service's users */
int cq_cli_store_audit(int argc, char **argv);  /* user_cmd.c: store audit */
/* `callqa store purge ...` and `callqa store erase ...` (retain_cmd.c; argv[0] the command's
 * name). */
int cq_cli_store_purge(int argc, char **argv);
int cq_cli_store_erase(int argc, char **argv);

/* ---- sidecars (sidecar.c): other commands of this program in child processes ------------- */

#include <sys/types.h>

#define CQ_SIDECAR_MAX_ARGS 96

typedef struct cq_sidecar {
    const char *what; /* "ingest", "worker": for the log */
    char *argv[CQ_SIDECAR_MAX_ARGS];
    int argc;
    pid_t pid;         /* 0: not running */
    double started;    /* when it was last started (monotonic s) */
    double restart_at; /* when it may start again */
    double delay;      /* before the next restart */
} cq_sidecar;

/* `callqa CMD...` with the options of the parent's command line (argc, argv) named in `share`
 * (NULL-terminated, e.g. "--config", "--db"; each with its value), then `extra` (NULL or
 * NULL-terminated). 0, or -1 when out of memory or arguments. */
int cq_sidecar_init(cq_sidecar *s, const char *what, const char *const *cmd, int argc, char **argv,
                    const char *const *share, const char *const *extra);
/* Start it if it is not running and its delay is over; notice (and log) that it ended. Call
 * every few seconds. */
void cq_sidecar_poll(cq_sidecar *s);
/* Run it once to its end: its exit status (128 + signal), or -1 when it could not start. */
int cq_sidecar_run_once(cq_sidecar *s);
/* Stop it (SIGTERM, 30 s, SIGKILL) if it runs, and free its arguments. */
void cq_sidecar_free(cq_sidecar *s);

#endif
