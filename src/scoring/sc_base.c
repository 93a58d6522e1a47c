/*
 * sc_base.c - the ground of the scoring room, calling nothing of the room: a card object's
 * unknown keys (what every loader and checker uses; the error sentence is config's cfg_fail),
 * the builders of an answer's JSON schema (sc_llm.c, sc_summary.c, sc_sentiment_llm.c), a
 * string copied within a size on a UTF-8 boundary, and a text's SHA-256 in hex (the card's, the
 * lexicon's). The room's files call down in one direction (docs/ARCHITECTURE.md, section 9:
 * src/scoring/).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sc_int.h"

int sc_only_keys(const json_t *o, const char *const *known, const char *where, char *err,
                 size_t errsz)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok)
            return cfg_fail(err, errsz, "%s: unknown key '%.60s'", where, k);
    }
    return 0;
}

/* {type: t, ...} helpers for the schema */
json_t *sc_schema_obj(void)
{
    return json_pack("{s:s, s:b, s:[], s:{}}", "type", "object", "additionalProperties", 0,
                     "required", "properties");
}

int sc_schema_prop(json_t *o, const char *name, json_t *schema)
{
    if (!schema)
        return -1;
    if (json_object_set_new(json_object_get(o, "properties"), name, schema) != 0 ||
        json_array_append_new(json_object_get(o, "required"), json_string(name)) != 0)
        return -1;
    return 0;
}

/* a copy of at most n-1 bytes, cut on a UTF-8 character boundary */
void sc_copy_utf8(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) {
        l = n - 1;
        while (l && ((unsigned char)src[l] & 0xC0) == 0x80)
            l--;
    }
    memcpy(dst, src, l);
    dst[l] = 0;
}

void sc_sha256_hex(const char *text, size_t len, char hex[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)text);
    sha256_digest(&ctx, sizeof(d), d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
