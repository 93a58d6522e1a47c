/*
 * fuzz_fpstore.c - libFuzzer harness over the file of remembered announcements (src/live/
 * fpstore.c, lv_fps_parse). The first byte sets the store's bounds (destinations 1-4,
 * fingerprints per destination 1-4), the rest is the file. Oracles: a file is taken or refused
 * with LV_ERR_FPS_FILE (or LV_ERR_ARG/NOMEM for a record the store cannot take) and a message;
 * what the store holds afterwards is within its bounds, every destination lv_fps_dest_ok, every
 * fingerprint 1-CQ_FP_MAX_FRAMES words; a store that took the file saves and reads back the
 * same (the file is written to memory by a second parse of what save wrote, through a
 * temporary file).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/live/live.h"
#include "callqa/cq_classify.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    size_t n, words;
    uint64_t hash;
} seen;

static void count(void *user, const uint16_t *bits, size_t frames)
{
    seen *s = user;
    MUST(frames >= 1 && frames <= CQ_FP_MAX_FRAMES);
    s->n++;
    s->words += frames;
    for (size_t i = 0; i < frames; i++)
        s->hash = s->hash * 1099511628211u ^ bits[i];
}

/* Every destination named in the file, looked up: the fingerprints under each. */
static void tally(lv_fps *st, const uint8_t *data, size_t size, seen *all, unsigned per_dest)
{
    for (size_t off = 10; off < size; off++) {
        const size_t dl = data[off];
        if (!dl || dl > LV_FPS_DEST_MAX || size - off - 1 < dl)
            continue;
        char d[LV_FPS_DEST_MAX + 1];
        memcpy(d, data + off + 1, dl);
        d[dl] = 0;
        seen s = {0};
        if (lv_fps_dest_ok(d))
            (void)lv_fps_get(st, d, count, &s);
        MUST(s.n <= per_dest);
        all->n += s.n, all->words += s.words, all->hash ^= s.hash;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    lv_fps_params p = lv_fps_default_params();
    p.max_dests = 1 + (data[0] & 3);
    p.per_dest = 1 + (data[0] >> 2 & 3);
    data++, size--;
    const double now = 1.8e9;
    lv_error e;
    lv_fps *st = lv_fps_create(&p, &e);
    MUST(st);
    int rc = lv_fps_parse(st, data, size, now, &e);
    MUST(rc == LV_OK || rc == LV_ERR_FPS_FILE || rc == LV_ERR_ARG || rc == LV_ERR_NOMEM);
    MUST(rc == LV_OK ? e.msg[0] == 0 : e.msg[0] != 0);
    size_t nd, nf;
    lv_fps_counts(st, &nd, &nf);
    MUST(nd <= p.max_dests || rc != LV_OK); /* trimmed once the whole file is taken */
    if (rc == LV_OK) {
        MUST(nf <= (size_t)p.max_dests * p.per_dest);
        /* saved and read back: the same fingerprints */
        char path[] = "/tmp/fuzz_fpstore_XXXXXX";
        int fd = mkstemp(path);
        MUST(fd >= 0);
        close(fd);
        lv_fps_params q = p;
        q.path = path;
        lv_fps *w = lv_fps_create(&q, &e);
        MUST(w);
        MUST(lv_fps_parse(w, data, size, now, &e) == LV_OK);
        (void)lv_fps_put(w, "fuzz-dest", (const uint16_t[]){1, 2, 3}, 3, now); /* dirty */
        MUST(lv_fps_save(w, now, &e) == LV_OK);
        lv_fps *r = lv_fps_open(&q, now, &e);
        MUST(r);
        seen a = {0}, b = {0};
        tally(w, data, size, &a, p.per_dest);
        tally(r, data, size, &b, p.per_dest);
        MUST(a.n == b.n && a.words == b.words && a.hash == b.hash);
        size_t nd2, nf2, nd3, nf3;
        lv_fps_counts(w, &nd2, &nf2);
        lv_fps_counts(r, &nd3, &nf3);
        MUST(nd2 == nd3 && nf2 == nf3);
        lv_fps_destroy(r);
        lv_fps_destroy(w);
        unlink(path);
    }
    lv_fps_destroy(st);
    return 0;
}
