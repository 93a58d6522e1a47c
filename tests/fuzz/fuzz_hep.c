/*
 * fuzz_hep.c - libFuzzer harness over the HEP parser (src/net/hep.c, net_hep_parse): HEP3's
 * chunks and versions 1 and 2's fixed header, as a collector receives them from anyone who can
 * reach its port. Oracles: a refusal says why and leaves nothing; an accepted packet is of
 * version 1-3, its addresses of one family (IPv4 or IPv6), its transport UDP or TCP, its time's
 * microseconds under a second, and its payload, key and correlation id inside the bytes given.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    return 0;
}
