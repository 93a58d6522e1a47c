/*
 * service_main.c - the callqa-service program: the commands that need the service's libraries
 * (libmicrohttpd, libcurl, SQLite, libpq, libmariadb, libpcap): serve, worker, requeue, ingest,
 * analyze --transcribe, transcript import, score, store migrate, sip, investigate, ask grants
 * and live (its webhooks). `callqa serve ...` runs `callqa-service serve ...`, so that an analysis
 * from the command line loads none of them.
 */
#include <stdio.h>
#include <string.h>

#include "ask_cmd.h"
#include "ingest_cmd.h"
#include "investigate_cmd.h"
#include "live_cmd.h"
#include "score_cmd.h"
#include "serve_cmd.h"
#include "sip_cmd.h"
#include "store_cmd.h"
#include "transcribe_cmd.h"
#include "user_cmd.h"
#include "worker_cmd.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return cq_cli_serve(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "worker"))
        return cq_cli_worker(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "requeue"))
        return cq_cli_requeue(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "ingest"))
        return cq_cli_ingest(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "analyze")) {
        for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
            if (!strcmp(argv[i], "--pcap") || !strncmp(argv[i], "--pcap=", 7))
                return cq_cli_analyze_pcap(argc - 1, argv + 1);
        return cq_cli_transcribe(argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "transcript"))
        return cq_cli_transcript(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "score"))
        return cq_cli_score(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "store"))
        return cq_cli_store(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "sip"))
        return cq_cli_sip(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "investigate"))
        return cq_cli_investigate(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "ask"))
        return cq_cli_ask(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "user"))
        return cq_cli_user(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "live"))
        return cq_cli_live(argc - 1, argv + 1);
    fprintf(stderr, "usage: callqa-service serve|worker|requeue|ingest|analyze|transcript|score|"
                    "store|sip|investigate|ask|user|live [options]   (run as callqa COMMAND; "
                    "callqa --help: the commands)\n");
    return 2;
}
