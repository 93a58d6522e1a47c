/*
 * fuzz_routes.c - libFuzzer harness over what names a call's route (src/ingest/carrier.c): an
 * Asterisk channel or dial string as a dialer logs it (ingest_carrier_of_channel), and the
 * settings' route_patterns with a call's fields matched against them (ingest_route_patterns_parse,
 * ingest_route_name). Oracles: a carrier found is 1-64 bytes of [A-Za-z0-9_.+:-], a substring of
 * the channel after its technology's slash; an accepted pattern list has at most
 * INGEST_MAX_ROUTE_PATTERNS entries, each a name of the same kind, a known field and a non-empty
 * pattern, and a refused one says why; a name matched is one of the list's names.
 * The first byte picks the parser; the rest is its input (for the patterns: the list, a NUL,
 * then the field's value).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_word(const char *w)
{
    size_t n = strlen(w);
    if (n < 1 || n > INGEST_ROUTE_MAX)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '+' || c == ':' || c == '-'))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (data[0] % 2 == 0) {
        char out[INGEST_ROUTE_MAX + 1];
        if (ingest_carrier_of_channel(s, out, sizeof(out))) {
            check_word(out);
            const char *slash = strchr(s, '/');
            if (!slash || !strstr(slash + 1, out))
                __builtin_trap();
        } else if (out[0]) {
            __builtin_trap();
        }
    } else {
        size_t len = strlen(s);
        const char *value = len + 1 < size - 1 ? s + len + 1 : "";
        ingest_route_patterns rp;
        char why[400];
        if (ingest_route_patterns_parse(s, &rp, why, sizeof(why)) == 0) {
            if (rp.n < 0 || rp.n > INGEST_MAX_ROUTE_PATTERNS)
                __builtin_trap();
            for (int i = 0; i < rp.n; i++) {
                check_word(rp.p[i].name);
                if (rp.p[i].field < 0 || rp.p[i].field >= INGEST_ROUTE_FIELDS || !rp.p[i].glob[0])
                    __builtin_trap();
            }
            const char *f[INGEST_ROUTE_FIELDS] = {value, value, value, value, value};
            char name[INGEST_ROUTE_MAX + 1];
            if (ingest_route_name(&rp, f, name, sizeof(name))) {
                int k = 0;
                while (k < rp.n && strcmp(rp.p[k].name, name))
                    k++;
                if (k == rp.n)
                    __builtin_trap();
            }
        } else if (!why[0]) {
            __builtin_trap();
        }
    }
    free(s);
    return 0;
}
