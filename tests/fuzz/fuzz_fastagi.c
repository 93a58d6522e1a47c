/*
 * fuzz_fastagi.c - libFuzzer harness over what Asterisk sends a FastAGI server (src/live/
 * fastagi.c): the environment lines, the empty line, replies, usage texts, HANGUP. The first
 * byte picks how the stream is cut (every chunk size from 1 to 32, or whole), the second the
 * line limit. Oracles: the decoder never takes more bytes than it is given; fed whole and fed
 * in chunks it hands out the same lines and stops at the same error at the same offset; every
 * environment line's name is "agi_" and [a-z0-9_], every reply's code 100-599 and a 200 has a
 * result; no string is longer than a line may be; after an error it only says it failed. And
 * lv_agi_set_variable's command, fed back as text, is one line of the form it promised.
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
    uint64_t err_off;
} run;

static void check_msg(const lv_agi_msg *m, size_t max_line)
{
    switch (m->kind) {
    case LV_AGI_VAR:
        MUST(strncmp(m->name, "agi_", 4) == 0 && strlen(m->name) > 4);
        for (const char *p = m->name + 4; *p; p++)
            MUST((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        MUST(strlen(m->name) + 2 + strlen(m->value) <= max_line);
        break;
    case LV_AGI_REPLY:
        MUST(m->code >= 100 && m->code <= 599);
        MUST(m->code != 200 || m->has_result);
        MUST(strlen(m->data) <= max_line);
        break;
    case LV_AGI_ENV_END:
    case LV_AGI_HANGUP: break;
    default: MUST(0);
    }
}

static void feed(const uint8_t *data, size_t size, size_t chunk, size_t max_line, run *r)
{
    lv_agi_params p = {.max_line = max_line, .max_vars = 8};
    lv_agi_dec *d = lv_agi_create(&p, NULL);
    MUST(d);
    memset(r, 0, sizeof(*r));
    r->hash = 1469598103934665603ull;
    size_t pos = 0;
    while (pos < size && r->rc == 0) {
        size_t left = size - pos < chunk ? size - pos : chunk;
        while (left) {
            size_t used = 0;
            lv_agi_msg m;
            int rc = lv_agi_next(d, data + pos, left, &used, &m);
            MUST(used <= left);
            pos += used, left -= used;
            if (rc < 0) {
                r->rc = rc;
                r->err_off = lv_agi_last_error(d)->offset;
                MUST(lv_agi_last_error(d)->code == rc && lv_agi_last_error(d)->msg[0]);
                MUST(lv_agi_next(d, data, size, &used, &m) == LV_ERR_FAILED && used == 0);
                break;
            }
            if (rc == 0) {
                MUST(left == 0);
                break;
            }
            MUST(rc == 1 && m.offset < pos);
            check_msg(&m, max_line);
            r->msgs++;
            uint64_t h = m.kind + 7u * (uint64_t)m.code + 131u * m.offset + 17u * strlen(m.name) +
                         29u * strlen(m.value) + 31u * strlen(m.data) + 37u * (uint64_t)m.result;
            r->hash = (r->hash ^ h) * 1099511628211ull;
        }
    }
    r->bytes = pos;
    lv_agi_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = data[0] & 31 ? (size_t)(data[0] & 31) : (size_t)-1;
    size_t max_line = 16 + (size_t)data[1] * 4;
    data += 2, size -= 2;
    run whole, cut;
    feed(data, size, (size_t)-1, max_line, &whole);
    feed(data, size, chunk, max_line, &cut);
    MUST(whole.rc == cut.rc && whole.msgs == cut.msgs && whole.hash == cut.hash);
    MUST(whole.bytes == cut.bytes && whole.err_off == cut.err_off);

    /* the encoder: a name and a value from the input, the command one line as promised */
    char name[80], value[300], cmd[512];
    size_t nl = size < 70 ? size / 2 : 35, vl = size - nl < 290 ? size - nl : 290;
    memcpy(name, data, nl);
    name[nl] = 0;
    memcpy(value, data + nl, vl);
    value[vl] = 0;
    nl = strlen(name), vl = strlen(value); /* up to a NUL of the input */
    for (int quote = 0; quote < 2; quote++) {
        size_t k = lv_agi_set_variable(cmd, sizeof(cmd), name, value, quote);
        if (!k)
            continue;
        MUST(k == strlen(cmd) && cmd[k - 1] == '\n' && memchr(cmd, '\n', k) == cmd + k - 1);
        MUST(strncmp(cmd, "SET VARIABLE ", 13) == 0);
        MUST(memcmp(cmd + 13, name, nl) == 0 && cmd[13 + nl] == ' ');
        MUST(memcmp(cmd + 14 + nl + (size_t)quote, value, vl) == 0);
    }
    return 0;
}
