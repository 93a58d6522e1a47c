/* sip_cmd.h - `callqa sip` and `callqa analyze --pcap` (sip_cmd.c), which service_main.c runs: a
 * capture's streams, and the call a capture holds analysed. */
#ifndef CQ_CLI_SIP_CMD_H
#define CQ_CLI_SIP_CMD_H

int cq_cli_sip(int argc, char **argv);
int cq_cli_analyze_pcap(int argc, char **argv);

#endif
