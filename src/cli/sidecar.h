/* sidecar.h - what `callqa serve` and `callqa worker` run beside them (sidecar.c): other
 * commands of this program in child processes, with the settings the parent was given. */
#ifndef CQ_CLI_SIDECAR_H
#define CQ_CLI_SIDECAR_H

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
