/*
 * manifest.c - the list of the files `callqa live --record-dir` and `callqa sip --hep` wrote in
 * their folder, for the purge and the erasure, which run without them (docs/privacy.md, "What
 * callqa keeps of a call"): DIR/.callqa-files, one JSON line per file, {"call": ID, "file":
 * NAME, "t": UNIX-SECONDS}, NAME a file of DIR and ID the call it belongs to (a live call's
 * name; a HEP call's "hep-" and the hash its capture is named by).
 *
 * DESIGN: append-only. The file is created with O_EXCL and mode 0600 on first use, then opened
 * O_APPEND (never through a link, and only when it is a regular file of this user's), and each
 * call's lines go in one write, so that two writers never interleave within a line. A live
 * recording's lines are written before its files are created, so that one is listed even when
 * its writer stops before it is finished; a HEP capture's once it is linked into place (its
 * temporary file never outlives the write). The list is never rewritten: a purge that deleted
 * a listed file leaves its line, which then names nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live_int.h"

#define LINE_MAX_BYTES 1024

/* s as a JSON string's body: quotes, backslashes and every byte outside printable ASCII as
 * \u00XX (a HEP name or a call's name is not always UTF-8). Bytes written, or 0 when it does not
 * fit. */
static size_t json_body(char *out, size_t n, const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        size_t k;
        if (*p == '"' || *p == '\\')
            k = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e)
            k = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
        else
            tmp[0] = (char)*p, k = 1;
        if (w + k >= n)
            return 0;
        memcpy(out + w, tmp, k);
        w += k;
    }
    out[w] = 0;
    return w;
}

int lv__manifest_add(int dirfd, const char *call, const char *const *files, size_t nfiles,
                     double now)
{
    char buf[4 * LINE_MAX_BYTES], c[LINE_MAX_BYTES / 2], f[LINE_MAX_BYTES / 2];
    size_t len = 0;
    if (!json_body(c, sizeof(c), call))
        return -1;
    for (size_t i = 0; i < nfiles; i++) {
        if (!json_body(f, sizeof(f), files[i]))
            return -1;
        int k = snprintf(buf + len, sizeof(buf) - len,
                         "{\"call\":\"%s\",\"file\":\"%s\",\"t\":%.0f}\n", c, f, now);
        if (k < 0 || (size_t)k >= sizeof(buf) - len)
            return -1;
        len += (size_t)k;
    }
    int fd = openat(dirfd, LV_MANIFEST_NAME,
                    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        fd = openat(dirfd, LV_MANIFEST_NAME, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    ssize_t put = write(fd, buf, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return put == (ssize_t)len ? 0 : -1;
}
