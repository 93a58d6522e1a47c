/*
 * fuzz_siptext.c - libFuzzer harness over SIP as text (net_sip_text_read: sngrep's export,
 * pjsip set logger, sip set debug, raw messages, tshark -V's packet details; then the SIP
 * parser, SDP, dialogs and findings of src/net/). Oracles: a text read has at least one
 * message, each with its fields and its text within the limit; every dialog's messages are
 * messages of the capture, in order; every finding has a code, a message and evidence it can
 * print; text refused says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/net/net.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_limits lim = net_default_limits();
    lim.max_sip = 2000;
    net_capture *c = NULL;
    char err[512];
    if (net_sip_text_read((const char *)data, size, &lim, &c, err, sizeof(err)) != 0) {
        MUST(!c && err[0]);
        return 0;
    }
    MUST(c && c->n_sip >= 1 && c->n_streams == 0);
    for (size_t i = 0; i < c->n_sip; i++) {
        const net_sip_msg *m = &c->sip[i];
        MUST(m->text && m->len <= NET_SIP_MAX && m->call_id && m->cseq_method);
        MUST(m->request ? m->method && m->uri : m->reason != NULL);
    }
    for (size_t d = 0; d < c->n_dialogs; d++) {
        const net_sip_dialog *g = &c->dialogs[d];
        for (size_t k = 0; k < g->n_msgs; k++)
            MUST(g->msgs[k] < c->n_sip && (k == 0 || g->msgs[k] > g->msgs[k - 1]));
    }
    for (size_t f = 0; f < c->n_findings; f++)
        MUST(c->findings[f].code && c->findings[f].message && strlen(c->findings[f].message));
    net_capture_free(c);
    return 0;
}
