/*
 * fuzz_hep.c - libFuzzer harness over the HEP parser (src/net/hep.c, net_hep_parse): HEP3's
 * chunks and versions 1 and 2's fixed header, as a collector receives them from anyone who can
 * reach its port. Oracles: a refusal says why and leaves nothing; an accepted packet is of
 * version 1-3, its addresses of one family (IPv4 or IPv6), its transport UDP or TCP, its time's
 * microseconds under a second, and its payload, key and correlation id inside the bytes given.
 * The same bytes, and an accepted packet's payload, go to the collector's two other readers:
 * res_hep_rtcp's JSON report (net_hep_rtcp_json: an answer is an SR or RR whose length field
 * and report count fit its bytes) and a SIP message's call (net_sip_peek: a Call-ID inside the
 * bytes, of at most NET_SIP_CALL_ID_MAX bytes).
 * (HEP inside a capture goes through fuzz_net: a datagram that starts "HEP3" is read as HEP.)
 */
#include <stddef.h>
#include <stdint.h>

#include "../../src/net/net.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return !p || (q >= data && n <= size && q + n <= data + size);
}

static void others(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    uint8_t pkt[NET_HEP_RTCP_MAX];
    size_t len = 1;
    const char *why = NULL;
    if (net_hep_rtcp_json(p, n, pkt, &len, &why) == 0) {
        MUST(len >= 8 && len <= NET_HEP_RTCP_MAX && len % 4 == 0);
        MUST(pkt[0] >> 6 == 2 && (pkt[1] == 200 || pkt[1] == 201));
        MUST(((size_t)(pkt[2] << 8 | pkt[3]) + 1) * 4 == len);
        MUST(len == (pkt[1] == 200 ? 28u : 8u) + 24u * (pkt[0] & 31));
    } else {
        MUST(why && why[0] && len == 0);
    }
    net_sip_glance g;
    if (net_sip_peek(p, n, &g) == 0) {
        MUST(g.call_id_len > 0 && g.call_id_len <= NET_SIP_CALL_ID_MAX);
        MUST(inside(g.call_id, g.call_id_len, data, size));
        MUST(g.request ? g.method[0] != 0 : g.status >= 0 && g.status <= 999);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    others(data, size, data, size);
    net_hep h;
    const char *why = NULL;
    if (net_hep_parse(data, size, &h, &why) != 0) {
        MUST(why && why[0] && !h.payload && !h.version);
        return 0;
    }
    MUST(h.version >= 1 && h.version <= 3);
    MUST((h.src.family == 4 || h.src.family == 6) && h.src.family == h.dst.family);
    MUST(h.ip_proto == 17 || h.ip_proto == 6);
    MUST(!h.has_time || h.usec < 1000000);
    MUST(h.payload || h.compressed);
    MUST(inside(h.payload, h.payload_len, data, size));
    MUST(inside(h.key, h.key_len, data, size));
    MUST(inside(h.corr, h.corr_len, data, size));
    if (h.payload)
        others(h.payload, h.payload_len, data, size);
    return 0;
}
