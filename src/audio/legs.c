/*
 * legs.c - find the legs of a call the way ViciDial stores them (see cq_legs.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/base_int.h"
#include "callqa/cq_legs.h"

int cq_legs_vicidial_kind(const char *path, size_t *stem_len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t end = dot ? (size_t)(dot - path) : strlen(path);
    static const struct {
        const char *suffix;
        int kind;
    } k[] = {{"-all", 'a'}, {"-in", 'i'}, {"-out", 'o'}};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        size_t n = strlen(k[i].suffix);
        size_t base_off = (size_t)(base - path);
        if (end >= base_off + n + 1 && !strncmp(path + end - n, k[i].suffix, n)) {
            if (stem_len)
                *stem_len = end - n;
            return k[i].kind;
        }
    }
    return 0;
}

/* Size of a regular file, or -1 when missing / not regular. */
static long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (long long)st.st_size;
}

void cq_legs_resolved_free(cq_legs_resolved *r)
{
    if (!r)
        return;
    cq__free(r->path);
    cq__free(r->in_path);
    cq__free(r->out_path);
    cq__free(r->name);
    cq__free(r->note);
    memset(r, 0, sizeof(*r));
}

/*
 * Look for <dir><sub><stem>-in.wav / -out.wav. Returns 1 when both exist and are over the stub
 * size (paths stored in r), 0 when not found, 2 when found but a stub, -1 on allocation failure.
 */
static int try_legs(cq_legs_resolved *r, const char *dir, const char *sub, const char *stem)
{
    char *in = cq__printf("%s%s%s-in.wav", dir, sub, stem);
    char *out = cq__printf("%s%s%s-out.wav", dir, sub, stem);
    if (!in || !out) {
        cq__free(in);
        cq__free(out);
        return -1;
    }
    long long si = file_size(in), so = file_size(out);
    int rc = 0;
    if (si >= 0 && so >= 0) {
        if (si >= CQ_LEGS_STUB_BYTES && so >= CQ_LEGS_STUB_BYTES) {
            r->in_path = in;
            r->out_path = out;
            return 1;
        }
        rc = 2;
        cq__free(r->note);
        r->note = cq__printf("leg files %s (%lld bytes) and %s (%lld bytes) include a "
                             "failed-recording stub (under %d bytes); analysed the mixed file",
                             in, si, out, so, CQ_LEGS_STUB_BYTES);
    }
    cq__free(in);
    cq__free(out);
    return rc;
}

int cq_legs_resolve(const char *path, cq_legs_resolved *r, cq_err *err)
{
    memset(r, 0, sizeof(*r));
    cq_err_clear(err);
    long long size = file_size(path);
    if (size < 0) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return cq__err_set(err, CQ_ERR_INVALID, "%s: is a directory, not a recording", path);
        return cq__err_set(err, errno == ENOENT || errno == ENOTDIR ? CQ_ERR_NOT_FOUND : CQ_ERR_IO,
                           "%s: %s", path, strerror(errno ? errno : ENOENT));
    }
    r->name = cq__strdup(path);
    if (!r->name)
        goto nomem;

    size_t stem_end = 0;
    if (cq_legs_vicidial_kind(path, &stem_end) == 'a') {
        const char *slash = strrchr(path, '/');
        size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
        char *dir = cq__printf("%.*s", (int)dir_len, path);
        char *stem = cq__printf("%.*s", (int)(stem_end - dir_len), path + dir_len);
        if (!dir || !stem) {
            cq__free(dir);
            cq__free(stem);
            goto nomem;
        }
        /* beside the mix, in ORIG/, and in ../ORIG/ (mix under MP3/) */
        const char *subs[] = {"", "ORIG/", "../ORIG/"};
        int found = 0;
        for (size_t i = 0; i < 3 && found != 1 && found != -1; i++) {
            int rc = try_legs(r, dir, subs[i], stem);
            if (rc != 0)
                found = rc;
        }
        cq__free(dir);
        cq__free(stem);
        if (found == -1)
            goto nomem;
        if (found == 1) {
            cq__free(r->note);
            r->note = cq__printf("analysed the leg files %s and %s instead of the mixed %s",
                                 r->in_path, r->out_path, path);
            if (!r->note)
                goto nomem;
            return CQ_OK;
        }
    }
    if (size < CQ_LEGS_STUB_BYTES) {
        int code = size == 0 ? cq__err_set(err, CQ_ERR_EMPTY, "%s: empty file (0 bytes)", path)
                             : cq__err_set(err, CQ_ERR_EMPTY,
                                           "%s: %lld bytes: a failed-recording stub, not audio",
                                           path, size);
        cq_legs_resolved_free(r);
        return code;
    }
    r->path = cq__strdup(path);
    if (!r->path)
        goto nomem;
    return CQ_OK;
nomem:
    cq_legs_resolved_free(r);
    return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", path);
}
