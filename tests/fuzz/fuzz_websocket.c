/*
 * fuzz_websocket.c - libFuzzer harness over the server side of RFC 6455 (src/live/
 * websocket.c): the HTTP Upgrade request, then the client's frames. The input's first byte
 * picks how the frames are cut; if the rest starts with a whole, valid request, the frames
 * follow it. Oracles: an accepted request has a key of 16 bytes and a 28-character Accept, and
 * its 101 answer fits; the frame decoder never takes more than it is given; fed whole and in
 * chunks it hands out the same messages and stops at the same error; a message is within
 * max_message, a control frame within 125 bytes, a text message and a close reason UTF-8 (a
 * second decoder that skips the check sees the same frames), and a close code one that may be
 * sent, which the server's encoder takes back.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/live/live.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    uint64_t hash, msgs, bytes;
    int rc;
} run;

#define MAX_MESSAGE 4096

static void feed(const uint8_t *data, size_t size, size_t chunk, bool utf8, run *r)
{
    lv_ws_params p = {.max_message = MAX_MESSAGE, .check_utf8 = utf8};
    lv_ws_dec *d = lv_ws_create(&p, NULL);
    MUST(d);
    memset(r, 0, sizeof(*r));
    r->hash = 1469598103934665603ull;
    size_t pos = 0;
    while (pos < size && r->rc == 0) {
        size_t left = size - pos < chunk ? size - pos : chunk;
        while (left) {
            size_t used = 0;
            lv_ws_msg m;
            int rc = lv_ws_next(d, data + pos, left, &used, &m);
            MUST(used <= left);
            pos += used, left -= used;
            if (rc < 0) {
                r->rc = rc;
                MUST(lv_ws_last_error(d)->code == rc && lv_ws_last_error(d)->msg[0]);
                int code = lv_ws_close_code_for(rc);
                MUST(code == 1002 || code == 1007 || code == 1009);
                break;
            }
            if (rc == 0) {
                MUST(left == 0);
                break;
            }
            MUST(m.len <= MAX_MESSAGE && (m.len == 0) == (m.data == NULL));
            if (m.op >= LV_WS_CLOSE)
                MUST(m.len <= 125 && m.frames == 1);
            if (m.op == LV_WS_CLOSE && m.close_code != LV_WS_CLOSE_NO_STATUS) {
                uint8_t out[140];
                char reason[124];
                memcpy(reason, m.reason, m.reason_len);
                reason[m.reason_len] = '\0';
                if (!memchr(m.reason, '\0', m.reason_len))
                    MUST(lv_ws_encode_close(out, sizeof(out), m.close_code, reason) ==
                         4 + m.reason_len);
            }
            uint64_t sum = 0;
            for (size_t k = 0; k < m.len; k++)
                sum = sum * 31 + m.data[k];
            r->msgs++;
            r->hash = (r->hash ^ (m.op + 17 * m.len + 257 * sum + m.metadata)) * 1099511628211ull;
        }
    }
    r->bytes = lv_ws_get_stats(d)->bytes;
    MUST(r->bytes == pos);
    lv_ws_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0] & 63 ? (size_t)(data[0] & 63) : (size_t)-1;
    data++, size--;
    lv_ws_upgrade u;
    lv_error e;
    int hl = lv_ws_upgrade_parse(data, size, 2048, &u, &e);
    if (hl > 0) {
        MUST((size_t)hl <= size && u.header_len == (size_t)hl);
        MUST(strlen(u.key) == 24 && strlen(u.accept) == LV_WS_ACCEPT_LEN && u.host[0]);
        lv_ws_choose_protocol(&u, "audio.drachtio.org,audiostream.drachtio.org");
        char resp[1024];
        MUST(lv_ws_upgrade_response(&u, resp, sizeof(resp)) > 0);
        data += hl, size -= (size_t)hl;
    } else if (hl < 0) {
        char resp[256];
        MUST(e.code == hl && lv_ws_reject_response(hl, resp, sizeof(resp)) > 0);
    }
    run whole, cut, raw;
    feed(data, size, (size_t)-1, true, &whole);
    feed(data, size, chunk, true, &cut);
    MUST(whole.rc == cut.rc && whole.msgs == cut.msgs && whole.hash == cut.hash);
    MUST(whole.bytes == cut.bytes);
    feed(data, size, (size_t)-1, false, &raw);
    if (whole.rc != LV_ERR_WS_UTF8)
        MUST(raw.rc == whole.rc && raw.msgs == whole.msgs);
    return 0;
}
