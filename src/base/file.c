/*
 * file.c - reading a whole (model) file with a size limit, and sha256 in hex.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
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

void cq__sha256_hex(const void *data, size_t n, char out[65])
{
    struct sha256_ctx h;
    uint8_t dig[SHA256_DIGEST_SIZE];
    sha256_init(&h);
    sha256_update(&h, n, data);
    sha256_digest(&h, sizeof(dig), dig);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
}
