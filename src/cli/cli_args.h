/* cli_args.h - a command's command line from the settings' tables (config.h, cfg_parse), for
 * every command of both programs (cli_args.c): what it says on a bad flag and on --help, and
 * the one start of the commands that analyse (analyze, --transcribe, --pcap, investigate). */
#ifndef CQ_CLI_ARGS_H
#define CQ_CLI_ARGS_H

#include <stdio.h>

#include "callqa/callqa.h"
#include "../config/config.h"

/* The command line of the command named cmd (config.h's tables) into c (over the caller's
 * cfg_defaults) and a. -1 to go on; else the exit status to return now: 0 after --help (the
 * page on stdout), 2 on a bad command line, said on stderr as "PROG: why" (with the page when
 * a flag is unknown or lacks its value). */
int cq_cli_args(const char *cmd, const char *prog, int argc, char **argv, cfg_settings *c,
                cfg_args *a);
/* The command's --help page, the --only names filled in. */
void cq_cli_usage(FILE *f, const char *cmd);

/* An analysis command's start: the settings' defaults and the engine's, the command line (as
 * cq_cli_args), --only into ep's analyzers, the analysis settings into ep (cfg_engine_params),
 * and the model folder's default when none is set. -1 to go on, else the exit status. `set` is
 * all zero (each command's static cfg_settings, once a process): only the defaults that are not
 * empty are written into it (cfg_defaults_zeroed). */
int cq_cli_analysis_args(const char *cmd, const char *prog, int argc, char **argv,
                         cfg_settings *set, cq_engine_params *ep, cfg_args *a);

/* HOST:PORT or [HOST]:PORT into host[] and port[] (digits only, at most 65535): 0, or -1. */
/* Analyse one call with e: from path split into its legs (cq_legs_resolve), or, path NULL, from
 * the two leg files in and out. CQ_OK with *rep (cq_report_destroy), or an error with *err. *lr
 * holds what the split kept (zeroed first; cq_legs_resolved_free after, whatever the result). */
int cq_cli_analyze_call(const cq_engine *e, const char *path, const char *in, const char *out,
                        cq_legs_resolved *lr, cq_report **rep, cq_err *err);

int cq_cli_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap);

#endif /* CQ_CLI_ARGS_H */
