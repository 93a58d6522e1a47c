/*
 * fuzz_audiosocket.c - libFuzzer harness over Asterisk AudioSocket frames (src/live/
 * audiosocket.c). The input is a TCP stream; its first byte picks how it is cut (every chunk
 * size from 1 to 32, or whole). Oracles: the decoder never takes more bytes than it is given;
 * fed whole and fed in chunks it hands out the same frames and stops at the same error at the
 * same offset; every frame is the stream's own bytes (its encoding is the bytes at its offset),
 * of a length its kind allows, within max_payload; after an error it only says it failed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/live/live.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    uint64_t hash, frames, bytes;
    int rc;
} run;

static void feed(const uint8_t *data, size_t size, size_t chunk, size_t max_payload, run *r)
{
    lv_as_params p = {.max_payload = max_payload};
    lv_as_dec *d = lv_as_create(&p, NULL);
    MUST(d);
    static uint8_t enc[LV_AS_HEADER + LV_AS_MAX_PAYLOAD];
    memset(r, 0, sizeof(*r));
    r->hash = 1469598103934665603ull;
    size_t pos = 0;
    while (pos < size && r->rc == 0) {
        size_t left = size - pos < chunk ? size - pos : chunk;
        while (left) {
            size_t used = 0;
            lv_as_frame f;
            int rc = lv_as_next(d, data + pos, left, &used, &f);
            MUST(used <= left);
            pos += used, left -= used;
            if (rc < 0) {
                r->rc = rc;
                MUST(lv_as_last_error(d)->code == rc && lv_as_last_error(d)->msg[0]);
                MUST(lv_as_next(d, data, size, &used, &f) == LV_ERR_FAILED && used == 0);
                break;
            }
            if (rc == 0) {
                MUST(left == 0);
                break;
            }
            MUST(rc == 1 && f.len <= max_payload);
            MUST(f.offset + LV_AS_HEADER + f.len <= pos);
            size_t n = lv_as_encode(enc, sizeof(enc), f.kind, f.payload, f.len);
            MUST(n == LV_AS_HEADER + f.len);
            MUST(memcmp(enc, data + f.offset, n) == 0);
            if (f.rate_hz)
                MUST(f.samples * 2 == f.len && lv_as_kind_rate(f.kind) == f.rate_hz);
            r->frames++;
            r->hash = (r->hash ^ (f.kind + 7 * f.len + 131 * f.offset)) * 1099511628211ull;
        }
    }
    r->bytes = lv_as_get_stats(d)->bytes;
    MUST(r->bytes == pos);
    lv_as_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = data[0] & 31 ? (size_t)(data[0] & 31) : (size_t)-1;
    size_t max_payload = 16 + (size_t)data[1] * 64;
    data += 2, size -= 2;
    run whole, cut;
    feed(data, size, (size_t)-1, max_payload, &whole);
    feed(data, size, chunk, max_payload, &cut);
    MUST(whole.rc == cut.rc && whole.frames == cut.frames && whole.hash == cut.hash);
    MUST(whole.bytes == cut.bytes);
    return 0;
}
