/*
 * rec_names.c - what a request may name: recording files (no paths, no traversal, no
 * encoded tricks) and recording servers (configured names only), and the ViciDial candidates
 * for a name; and what the service and the worker may open of what a caller or the dialer
 * placed on disk: a regular file beneath one of the configured folders, reached without a
 * symbolic link below the folder, opened without waiting (a FIFO would block a thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recording.h"
#include "../store/store_jobs.h"

/* ---- the names of stored files ------------------------------------------------------------- */

void rec_name_encode(const char *in, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && k + 4 <= n; p++) {
        const int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                         (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                         (*p == '.' && p != (const unsigned char *)in);
        if (keep) {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    if (n)
        out[k < n ? k : n - 1] = 0;
}

void rec_upload_dir(const cfg_settings *c, char *out, size_t n)
{
    if (c->upload_dir[0]) {
        snprintf(out, n, "%s", c->upload_dir);
        return;
    }
    if (strstr(c->db_path, "://")) {
        snprintf(out, n, "%s", "");
        return;
    }
    const char *slash = strrchr(c->db_path, '/');
    if (slash)
        snprintf(out, n, "%.*s/uploads", (int)(slash - c->db_path), c->db_path);
    else
        snprintf(out, n, "uploads");
}

/* ---- the folders recordings may be read from ---------------------------------------------- */

static void roots_add(rec_roots *r, const char *dir)
{
    if (!dir || !*dir || r->n >= REC_MAX_ROOTS)
        return;
    char real[PATH_MAX];
    if (!realpath(dir, real)) /* a folder that is not there (yet): nothing beneath it opens */
        return;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->dir[i], real))
            return;
    snprintf(r->dir[r->n++], sizeof(r->dir[0]), "%s", real);
}

void rec_roots_load(rec_roots *r, const cfg_settings *c, const char *more, store *st)
{
    memset(r, 0, sizeof(*r));
    char up[1024];
    rec_upload_dir(c, up, sizeof(up));
    roots_add(r, c->recordings_dir);
    roots_add(r, more);
    roots_add(r, up);
    char list[sizeof(c->audio_dirs)];
    snprintf(list, sizeof(list), "%s", c->audio_dirs);
    for (char *save = NULL, *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save))
        roots_add(r, d);
    char(*reg)[4096] = NULL;
    int n = 0;
    if (st && store_roots(st, &reg, &n) == 0)
        for (int i = 0; i < n; i++)
            roots_add(r, reg[i]);
    free(reg);
}

/* The part of path beneath root (real, absolute), or NULL. */
static const char *beneath(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/' ? path + 1 : NULL;
    return !strncmp(path, root, n) && path[n] == '/' ? path + n + 1 : NULL;
}

int rec_open(const rec_roots *r, const char *path, char *why, size_t n)
{
    char abs[PATH_MAX + 8];
    if (path[0] == '/') {
        snprintf(abs, sizeof(abs), "%s", path);
    } else { /* relative to where we run: as realpath would see it */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            snprintf(why, n, "the working directory cannot be read");
            return -1;
        }
        snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
    }
    const char *rel = NULL;
    int root = -1;
    for (int i = 0; i < r->n && !rel; i++)
        if ((rel = beneath(abs, r->dir[i])))
            root = i;
    if (!rel) {
        snprintf(why, n, "outside the folders recordings are read from");
        return -1;
    }
    int dir = open(r->dir[root], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        snprintf(why, n, "its folder cannot be opened: %s", strerror(errno));
        return -1;
    }
    char part[PATH_MAX + 8];
    snprintf(part, sizeof(part), "%s", rel);
    char *save = NULL, *comp = strtok_r(part, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
            close(dir);
            snprintf(why, n, "the path holds '%s'", comp);
            return -1;
        }
        /* O_NOFOLLOW: a symbolic link is refused, not followed (O_NONBLOCK: a FIFO is opened
         * without waiting for a writer, then refused) */
        int fd = next ? openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : openat(dir, comp, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        struct stat st;
        if (fd < 0) {
            bool link = fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
            close(dir);
            if (link)
                snprintf(why, n, "a symbolic link is not followed");
            else
                snprintf(why, n, "%s", e == ENOENT ? "no such file" : strerror(e));
            return -1;
        }
        close(dir);
        dir = fd;
        if (!next) {
            int fl;
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                snprintf(why, n, "not a regular file");
                return -1;
            }
            if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
                close(fd);
                snprintf(why, n, "%s", strerror(errno));
                return -1;
            }
            return fd;
        }
        comp = next;
    }
    close(dir);
    snprintf(why, n, "no file named");
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int rec_check_file(const char *file, const char **why)
{
    static const char *const exts[] = {".wav", ".mp3", ".gsm", ".ogg", ".flac", ".WAV", ".MP3"};
    size_t n = file ? strlen(file) : 0;
    if (n == 0) {
        *why = "file is empty";
        return -1;
    }
    if (n > 255) {
        *why = "file name is longer than 255 characters";
        return -1;
    }
    if (file[0] == '.') {
        *why = "file name starts with '.'";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)file[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-' || ch == '+';
        if (!ok) {
            *why = ch == '/' || ch == '\\' ? "file must be a name, not a path"
                   : ch == '%'             ? "file contains '%' (encoded twice?)"
                                           : "file contains a character outside [A-Za-z0-9._+-]";
            return -1;
        }
    }
    if (strstr(file, "..")) {
        *why = "file contains '..'";
        return -1;
    }
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (ends_with(file, exts[i]))
            return 0;
    *why = "file is not a recording (.wav, .mp3, .gsm, .ogg, .flac)";
    return -1;
}

/* NAME-all.wav / NAME-all.mp3: the legs first, then the mixes, then the name as given. */
int rec_candidates(const char *file, rec_candidate *out, int max)
{
    int n = 0;
    size_t len = strlen(file);
    const char *suffix = ends_with(file, "-all.wav")   ? "-all.wav"
                         : ends_with(file, "-all.mp3") ? "-all.mp3"
                                                       : NULL;
    if (suffix && max >= 4) {
        char base[300];
        size_t bl = len - strlen(suffix);
        if (bl == 0 || bl >= sizeof(base))
            suffix = NULL;
        else {
            memcpy(base, file, bl);
            base[bl] = 0;
            memset(out, 0, 3 * sizeof(*out));
            snprintf(out[0].rel[0], sizeof(out[0].rel[0]), "ORIG/%s-in.wav", base);
            snprintf(out[0].rel[1], sizeof(out[0].rel[1]), "ORIG/%s-out.wav", base);
            out[0].what = "ORIG legs";
            snprintf(out[1].rel[0], sizeof(out[1].rel[0]), "%s-all.wav", base);
            out[1].what = "-all.wav";
            out[1].mixed = true;
            snprintf(out[2].rel[0], sizeof(out[2].rel[0]), "MP3/%s-all.mp3", base);
            out[2].what = "MP3/-all.mp3";
            out[2].mixed = true;
            n = 3;
        }
    }
    if (n < max) {
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= strcmp(out[i].rel[0], file) == 0 && !out[i].rel[1][0];
        if (!dup) {
            memset(&out[n], 0, sizeof(out[n]));
            snprintf(out[n].rel[0], sizeof(out[n].rel[0]), "%s", file);
            out[n].what = "as named";
            out[n].mixed = suffix != NULL;
            n++;
        }
    }
    return n;
}
