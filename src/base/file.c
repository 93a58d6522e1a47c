/*
 * file.c - reading a whole (model) file with a size limit, and sha256 in hex. The hash is
 * nettle's, from "libnettle.so.8", loaded (dlopen) by the first hash: an analysis that reads no
 * model and hashes nothing does not load it (nettle's start-up asks the CPU for its features,
 * which costs a virtual machine's exits).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h> /* types and sizes only: the functions come from dlsym */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base_int.h"

int cq__read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *n, cq_err *err)
{
    *out = NULL;
    *n = 0;
    /* non-blocking until its type is known (a FIFO would wait for a writer) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cq__err_set(err, e == ENOENT ? CQ_ERR_NOT_FOUND : CQ_ERR_IO, "%s: %s", path,
                           strerror(e));
    }
    struct stat st;
    int rc = CQ_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        rc = cq__err_set(err, CQ_ERR_IO, "%s: not a regular file", path);
    else if (st.st_size <= 0)
        rc = cq__err_set(err, CQ_ERR_EMPTY, "%s: empty file (0 bytes)", path);
    else if ((uint64_t)st.st_size > max_bytes)
        rc = cq__err_set(err, CQ_ERR_TOO_LARGE, "%s: %lld bytes is over the %zu-byte limit", path,
                         (long long)st.st_size, max_bytes);
    int fl = fcntl(fd, F_GETFL);
    if (rc == CQ_OK && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
        rc = cq__err_set(err, CQ_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    if (rc == CQ_OK && !(buf = cq__malloc((size_t)st.st_size)))
        rc = cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", path);
    if (rc == CQ_OK && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        rc = cq__err_set(err, CQ_ERR_IO, "%s: cannot read the file", path);
    fclose(f);
    if (rc != CQ_OK) {
        cq__free(buf);
        return rc;
    }
    *out = buf;
    *n = (size_t)st.st_size;
    return CQ_OK;
}

#define NETTLE_SONAME "libnettle.so.8"

static struct {
    void (*init)(struct sha256_ctx *);
    void (*update)(struct sha256_ctx *, size_t, const uint8_t *);
    void (*digest)(struct sha256_ctx *, size_t, uint8_t *);
} g_sha;
static pthread_mutex_t g_sha_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_sha_ready; /* g_sha is filled; set once, under g_sha_lock */

/* the types nettle/sha2.h declares (_Generic does not evaluate its operand: nothing is linked) */
_Static_assert(_Generic(&nettle_sha256_init, void (*)(struct sha256_ctx *) : 1, default : 0),
               "sha256_init: type differs from nettle/sha2.h");
_Static_assert(_Generic(&nettle_sha256_update,
                        void (*)(struct sha256_ctx *, size_t, const uint8_t *) : 1, default : 0),
               "sha256_update: type differs from nettle/sha2.h");
_Static_assert(_Generic(&nettle_sha256_digest, void (*)(struct sha256_ctx *, size_t, uint8_t *) : 1,
                        default : 0),
               "sha256_digest: type differs from nettle/sha2.h");

/* nettle.h's names are macros (sha256_init is nettle_sha256_init): the library's own names. */
#define SHA_SYM(lib, field, fn) cq__dlsym(lib, #fn, &g_sha.field, sizeof(g_sha.field))

static int sha_load(cq_err *err)
{
    if (__atomic_load_n(&g_sha_ready, __ATOMIC_ACQUIRE))
        return CQ_OK;
    int rc = CQ_OK;
    pthread_mutex_lock(&g_sha_lock);
    if (!g_sha_ready) {
        void *lib = dlopen(NETTLE_SONAME, RTLD_NOW | RTLD_LOCAL);
        const char *why = lib ? NULL : dlerror();
        if (lib && (!SHA_SYM(lib, init, nettle_sha256_init) ||
                    !SHA_SYM(lib, update, nettle_sha256_update) ||
                    !SHA_SYM(lib, digest, nettle_sha256_digest))) {
            why = dlerror();
            dlclose(lib);
            lib = NULL;
        }
        if (lib)
            __atomic_store_n(&g_sha_ready, true, __ATOMIC_RELEASE); /* stays loaded */
        else
            rc = cq__err_set(err, CQ_ERR_UNSUPPORTED, "%s (nettle) cannot be loaded: %s",
                             NETTLE_SONAME, why ? why : "unknown reason");
    }
    pthread_mutex_unlock(&g_sha_lock);
    return rc;
}

int cq__sha256_hex(const void *data, size_t n, char out[65], cq_err *err)
{
    out[0] = 0;
    int rc = sha_load(err);
    if (rc != CQ_OK)
        return rc;
    struct sha256_ctx h;
    uint8_t dig[SHA256_DIGEST_SIZE];
    g_sha.init(&h);
    g_sha.update(&h, n, data);
    g_sha.digest(&h, sizeof(dig), dig);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
    return CQ_OK;
}
