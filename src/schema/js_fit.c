/*
 * js_fit.c - a JSON value held to a size (js.h), for data given to an LLM within its context:
 * the report of GET /ai-analyze, the rows of a round of POST /ask.
 *
 * DESIGN: while the value's text is over the bound, the one part that holds the most of it is
 * cut: an array of two items or more loses items from its end (its first is kept), or a string
 * its tail (a note of what was cut in its place). Each cut frees at least what is over when the
 * part holds that much, so the walks are few: one per part that is emptied, then the last.
 * An array of one item is not cut itself (its item is, inside), unless nothing else is left.
 * What was cut is counted by path ("events", "conversation.overtalk.spans", "rows[]") in the
 * caller's object, as {"items": {path: n}, "bytes": {path: n}}.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"

#define FIT_DEPTH 32      /* the walk's own guard: deeper parts are not looked into */
#define FIT_STR_MIN 64    /* a string shorter than this is never cut */
#define FIT_MAX_CUTS 4096 /* the walks at most */

typedef struct part {
    json_t *v;      /* the array or string to cut */
    size_t size;    /* its text's bytes */
    char path[200]; /* where it is */
} part;

/* the bytes of v's text (a string: inside its quotes) */
static size_t text_size(const json_t *v, size_t flags)
{
    size_t n = json_dumpb(v, NULL, 0, flags | JSON_ENCODE_ANY);
    return json_is_string(v) && n >= 2 ? n - 2 : n;
}

/* The largest part under v (not the `skip` object); lone: arrays of one item count too. */
static void largest(json_t *v, const json_t *skip, size_t flags, char *path, size_t plen, int depth,
                    bool lone, part *best)
{
    if (v == skip || depth > FIT_DEPTH)
        return;
    if (json_is_string(v)) {
        size_t n = text_size(v, flags);
        if (n >= FIT_STR_MIN && n > best->size) {
            best->v = v, best->size = n;
            snprintf(best->path, sizeof(best->path), "%s", plen ? path : ".");
        }
        return;
    }
    if (json_is_array(v)) {
        size_t k = json_array_size(v);
        if (k >= 2 || (lone && k == 1)) {
            size_t n = text_size(v, flags);
            if (n > best->size) {
                best->v = v, best->size = n;
                snprintf(best->path, sizeof(best->path), "%s", plen ? path : ".");
            }
        }
        size_t np = plen;
        if (plen + 3 < 200) {
            memcpy(path + plen, "[]", 3);
            np += 2;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) largest(e, skip, flags, path, np, depth + 1, lone, best);
        path[plen] = 0;
        return;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *e;
        json_object_foreach(v, key, e)
        {
            size_t kl = strlen(key), np = plen;
            if (plen + kl + 2 < 200) {
                if (plen)
                    path[np++] = '.';
                memcpy(path + np, key, kl + 1);
                np += kl;
            }
            largest(e, skip, flags, path, np, depth + 1, lone, best);
            path[plen] = 0;
        }
    }
}

/* counts[kind][path] += n */
static int count(json_t *counts, const char *kind, const char *path, size_t n)
{
    if (!counts)
        return 0;
    json_t *k = json_object_get(counts, kind);
    if (!k && json_object_set_new(counts, kind, k = json_object()) != 0)
        return -1;
    json_int_t had = json_integer_value(json_object_get(k, path));
    return json_object_set_new(k, path, json_integer(had + (json_int_t)n));
}

/* the string s made at least `over` bytes of text shorter: its head, then a note */
static int cut_string(json_t *s, size_t over, size_t flags, const char *path, json_t *counts)
{
    const char *t = json_string_value(s);
    size_t len = json_string_length(s), size = text_size(s, flags);
    char note[64];
    int nl = snprintf(note, sizeof(note), " [... %zu bytes left out]", len);
    /* each byte's text is at least one byte: keeping size - over - note bytes of text keeps at
     * most that many bytes of the string */
    size_t keep = size > over + (size_t)nl ? size - over - (size_t)nl : 0;
    if (keep > len)
        keep = len;
    while (keep && ((unsigned char)t[keep] & 0xC0) == 0x80)
        keep--;
    nl = snprintf(note, sizeof(note), "%s[... %zu bytes left out]", keep ? " " : "", len - keep);
    char *n = malloc(keep + (size_t)nl + 1);
    if (!n)
        return -1;
    memcpy(n, t, keep);
    memcpy(n + keep, note, (size_t)nl + 1);
    size_t cut = len - keep;
    int rc = json_string_setn(s, n, keep + (size_t)nl) == 0 ? 0 : -1;
    free(n);
    return rc == 0 ? count(counts, "bytes", path, cut) : -1;
}

/* the array a made at least `over` bytes of text shorter, items from its end (keeping its first,
 * unless it has only one) */
static int cut_array(json_t *a, size_t over, size_t flags, const char *path, json_t *counts)
{
    size_t k = json_array_size(a), freed = 0, gone = 0;
    size_t floor = k >= 2 ? 1 : 0;
    while (k > floor && freed < over) {
        freed += text_size(json_array_get(a, k - 1), flags) + 1; /* with its comma */
        if (json_array_remove(a, k - 1) != 0)
            return -1;
        k--, gone++;
    }
    return count(counts, "items", path, gone);
}

int js_fit(json_t *v, size_t max_bytes, size_t flags, json_t *counts)
{
    for (int cuts = 0; cuts < FIT_MAX_CUTS; cuts++) {
        size_t size = json_dumpb(v, NULL, 0, flags | JSON_ENCODE_ANY);
        if (size == 0)
            return -1; /* not dumpable (out of memory) */
        if (size <= max_bytes)
            return 0;
        char path[200] = "";
        part best = {.v = NULL};
        largest(v, counts, flags, path, 0, 0, false, &best);
        if (!best.v) /* only lone items left: they go too */
            largest(v, counts, flags, path, 0, 0, true, &best);
        if (!best.v)
            return -1;
        size_t over = size - max_bytes;
        int rc = json_is_string(best.v) ? cut_string(best.v, over, flags, best.path, counts)
                                        : cut_array(best.v, over, flags, best.path, counts);
        if (rc != 0)
            return -1;
    }
    return -1;
}
