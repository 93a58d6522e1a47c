/*
 * store_retain_files.c - the files of a call that the purge and the erasure delete
 * (store_retain.c, store_erase.c): found from store_files.c's list, classified (callqa's, kept,
 * gone), deleted and checked gone; and their writers' record of them (store_file_record).
 *
 * The files of a call are those of store_files.c's list, and no others: the files its writers
 * recorded in call_files (store_file_record: the upload, its legs and capture, the redacted
 * copy, the service's transcode), the files its columns name (the recording, its legs, the
 * redacted copy), those beside each recording (its capture, its live events), the redacted
 * copy's unfinished one and the service's transcode cache of each. A recorded file is callqa's
 * whatever folders the settings name, and so are the files found beside it or in its folder
 * (a recorded upload's capture and live events, a recorded copy's unfinished ones); any other
 * is deleted only beneath an owned folder and not beneath a protected one, as the real path of
 * its folder says. A symbolic link or anything but a regular file is never deleted. Every path
 * found is checked gone after the deletion, and what is kept (the dialer's, a protected
 * folder's) is counted by kind, so that the report says what was and was not deleted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_retain_int.h"

/* ---- files ------------------------------------------------------------------------------- */

/* Is `real` (a real path) beneath the folder `root` (resolved here)? */
static bool beneath(const char *real, const char *root)
{
    char rr[PATH_MAX];
    if (!root || !*root || !realpath(root, rr))
        return false;
    size_t n = strlen(rr);
    if (n == 1 && rr[0] == '/')
        return true;
    return !strncmp(real, rr, n) && real[n] == '/';
}

static bool beneath_any(const char *real, const char *const *roots)
{
    for (size_t i = 0; roots && roots[i]; i++)
        if (beneath(real, roots[i]))
            return true;
    return false;
}

/* A path as callqa records it: its folder's real path, then its name (the file itself is not
 * followed). 0, or -1 when it names no file, its folder cannot be resolved or it is too long. */
static int canon(const char *path, char real[PATH_MAX])
{
    if (!path || !*path)
        return -1;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], rdir[PATH_MAX];
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir))
            return -1;
        memcpy(dir, path, n);
        dir[n] = 0;
        if (n == 0)
            snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !realpath(dir, rdir))
        return -1;
    return snprintf(real, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", base) >= PATH_MAX ? -1
                                                                                              : 0;
}

/* What a path names, by the real path of its folder (the file itself is not followed). */
static store__file_class classify(const store_file_roots *roots, const char *path,
                                  char real[PATH_MAX])
{
    if (!path || !*path || !roots || !roots->owned || canon(path, real) != 0)
        return STORE__F_NOT_OURS;
    if (!beneath_any(real, roots->owned))
        return STORE__F_NOT_OURS;
    if (beneath_any(real, roots->protect))
        return STORE__F_PROTECTED;
    struct stat sb;
    if (lstat(real, &sb) != 0)
        return errno == ENOENT ? STORE__F_GONE : STORE__F_PROTECTED;
    return S_ISREG(sb.st_mode) ? STORE__F_OURS : STORE__F_PROTECTED;
}

/* A file callqa wrote (recorded, or found beside or in the folder of one it recorded), whatever
 * folders the settings name: deleted when a regular file still at its real path; kept when a
 * link, anything else, or when its folder's real path moved (a folder swapped for a link). */
static store__file_class classify_written(const char *path, char real[PATH_MAX])
{
    struct stat sb;
    if (canon(path, real) != 0) {
        snprintf(real, PATH_MAX, "%s", path);
        return lstat(path, &sb) != 0 && errno == ENOENT ? STORE__F_GONE : STORE__F_PROTECTED;
    }
    if (strcmp(real, path) && path[0] == '/' && lstat(real, &sb) == 0)
        return STORE__F_PROTECTED; /* its folder is elsewhere now than where it was written */
    if (lstat(real, &sb) != 0)
        return errno == ENOENT ? STORE__F_GONE : STORE__F_PROTECTED;
    return S_ISREG(sb.st_mode) ? STORE__F_OURS : STORE__F_PROTECTED;
}

static void add_file(store__call_files *f, store_file_kind k, store__file_class cls,
                     const char *path)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->f[i].path, path))
            return;
    if (f->n >= MAX_CALL_FILES)
        return;
    store__call_file *c = &f->f[f->n++];
    c->kind = k;
    c->cls = cls;
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (cls == STORE__F_OURS) {
        f->del++;
        f->del_kind[k]++;
    } else {
        f->kept++;
        f->kept_kind[k]++;
    }
}

/* A file found from another (beside it, in a cache): deleted when it is ours and there, kept
 * (and counted) when it is there outside callqa's folders or beneath a protected one. */
static void add_found(const store_file_roots *roots, store__call_files *f, store_file_kind k,
                      const char *path, bool written)
{
    char real[PATH_MAX];
    struct stat sb;
    store__file_class cls = written ? classify_written(path, real) : classify(roots, path, real);
    if (written && cls == STORE__F_PROTECTED && lstat(real, &sb) != 0)
        return;
    switch (cls) {
    case STORE__F_OURS: add_file(f, k, STORE__F_OURS, real); break;
    case STORE__F_PROTECTED: add_file(f, k, STORE__F_PROTECTED, real); break;
    case STORE__F_NOT_OURS:
        if (lstat(path, &sb) == 0)
            add_file(f, k, STORE__F_NOT_OURS, path);
        break;
    case STORE__F_GONE: break;
    }
}

/* the SQL of a column kind's statements (identifiers of store_files.c's list only; values
 * bound) */
static db_stmt *file_stmt(store *s, store_file_kind k, bool clear)
{
    const store__file_def *c = store__file_def_of(k);
    char sql[256];
    if (clear)
        snprintf(sql, sizeof(sql), "UPDATE %s SET %s = NULL WHERE %s = $1", c->table, c->column,
                 c->key);
    else
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s = $1", c->column, c->table, c->key);
    return store__stmt(s, R_FILE_FIRST + 2 * (int)k + (clear ? 1 : 0), sql);
}

int store__file_column(store *s, int64_t call, store_file_kind k, char *ref, size_t n)
{
    db_stmt *st = file_stmt(s, k, false);
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    if (rc == DB_ROW)
        store__col_copy(st, 0, ref, n);
    else if (n)
        ref[0] = 0;
    db_reset(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, "reading a call's files");
}

/* The path a column names, as the service opens it: relative ones beneath recordings_dir. */
static void served_path(const store_file_roots *roots, const char *ref, char *out, size_t n)
{
    if (ref[0] == '/' || !roots->recordings_dir || !roots->recordings_dir[0])
        snprintf(out, n, "%s", ref);
    else
        snprintf(out, n, "%s/%s", roots->recordings_dir, ref);
}

/* The redacted copies' unfinished files of a call in dir (.ID.wav.PID); written: dir is the
 * folder of a copy callqa recorded. */
static void add_parts(const store_file_roots *roots, store__call_files *f, int64_t call,
                      const char *dir, bool written)
{
    char prefix[40];
    snprintf(prefix, sizeof(prefix), ".%lld.wav.", (long long)call);
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[PATH_MAX];
        if (strncmp(e->d_name, prefix, strlen(prefix)) ||
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
            continue;
        add_found(roots, f, STORE_FILE_REDACTED_PART, p, written);
    }
    if (d)
        closedir(d);
}

/* ---- the manifests of callqa live --record-dir and callqa sip --hep ------------------------ */

#define STORE_MANIFEST_NAME ".callqa-files" /* src/live/live_int.h's LV_MANIFEST_NAME */
#define MANIFEST_LINE_MAX 4096

/* One line of a manifest: its call and file (a name in the folder), or false. */
static bool manifest_line(const char *line, char *call, size_t cn, char *file, size_t fn)
{
    json_t *o = json_loads(line, 0, NULL);
    const char *c = json_string_value(json_object_get(o, "call"));
    const char *f = json_string_value(json_object_get(o, "file"));
    bool ok = c && f && *f && !strchr(f, '/') && strcmp(f, ".") && strcmp(f, "..") &&
              strlen(c) < cn && strlen(f) < fn;
    if (ok) {
        snprintf(call, cn, "%s", c);
        snprintf(file, fn, "%s", f);
    }
    json_decref(o);
    return ok;
}

/* The manifest of a folder, open for reading (a regular file, never through a link), or NULL. */
static FILE *manifest_open(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s/%s", dir, STORE_MANIFEST_NAME) >= (int)sizeof(p))
        return NULL;
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f)
        close(fd);
    return f;
}

/* The call under which the manifest of real's folder lists real's name: true with call[cn]. */
static bool manifest_call(const char *real, char *call, size_t cn)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", real);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *slash = 0;
    const char *base = slash + 1;
    FILE *m = manifest_open(dir[0] ? dir : "/");
    if (!m)
        return false;
    char line[MANIFEST_LINE_MAX], c[512], f[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), m))
        found = manifest_line(line, c, sizeof(c), f, sizeof(f)) && !strcmp(f, base);
    fclose(m);
    if (found)
        snprintf(call, cn, "%s", c);
    return found;
}

/* Every file the manifest of dir lists under call, into the list as callqa's. */
static void manifest_files(const store_file_roots *roots, store__call_files *f, const char *dir,
                           const char *call)
{
    FILE *m = manifest_open(dir);
    char line[MANIFEST_LINE_MAX], c[512], name[512], p[PATH_MAX];
    while (m && fgets(line, sizeof(line), m)) {
        if (!manifest_line(line, c, sizeof(c), name, sizeof(name)) || strcmp(c, call) ||
            snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
            continue;
        size_t n = strlen(name);
        static const struct {
            const char *suffix;
            store_file_kind k;
        } by[] = {{".live.jsonl.part", STORE_FILE_LIVE_PART},
                  {".live.jsonl", STORE_FILE_LIVE},
                  {".pcapng", STORE_FILE_CAPTURE_NG},
                  {".pcap", STORE_FILE_CAPTURE}};
        store_file_kind k = STORE_FILE_RECORDING;
        for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++)
            if (n > strlen(by[i].suffix) &&
                !strcmp(name + n - strlen(by[i].suffix), by[i].suffix)) {
                k = by[i].k;
                break;
            }
        add_found(roots, f, k, p, true);
    }
    if (m)
        fclose(m);
}

static bool is_recorded(const store__call_files *f, const char *real)
{
    for (int i = 0; i < f->nrec; i++)
        if (!strcmp(f->rec[i], real))
            return true;
    return false;
}

static store_file_kind kind_named(const char *name)
{
    for (int k = 0; k < STORE_FILE_KINDS; k++)
        if (name && !strcmp(name, store_file_name((store_file_kind)k)))
            return (store_file_kind)k;
    return STORE_FILE_RECORDING;
}

/* The files call_files records for the call: into f->rec, and each one there into the list. */
static int recorded_of(store *s, int64_t call, store__call_files *f)
{
    db_stmt *st =
        store__stmt(s, R_REC_LIST, "SELECT kind, path FROM call_files WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (f->nrec == MAX_RECORDED)
            continue;
        char *p = f->rec[f->nrec++], real[PATH_MAX];
        store__col_copy(st, 1, p, PATH_MAX);
        store_file_kind k = kind_named(db_col_text(st, 0));
        store__file_class cls = classify_written(p, real);
        if (cls != STORE__F_GONE)
            add_file(f, k, cls, real);
    }
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "reading a call's recorded files");
}

/* Every file of the call that store_files.c's list finds: those its writers recorded, the column
 * kinds' from the rows, then those found from them. 0 or -1. */
int store__files_of(store *s, int64_t call, const store_file_roots *roots, store__call_files *f)
{
    memset(f->clear, 0, sizeof(f->clear));
    memset(f->del_kind, 0, sizeof(f->del_kind));
    memset(f->kept_kind, 0, sizeof(f->kept_kind));
    f->n = f->del = f->kept = f->nrec = 0;
    if (recorded_of(s, call, f) != 0)
        return -1;
    char copy_dir[PATH_MAX] = "";
    bool copy_written = false;
    for (int k = 0; k < STORE_FILE_KINDS; k++) {
        const store__file_def *def = store__file_def_of((store_file_kind)k);
        if (def->from != STORE__FROM_COLUMN)
            continue;
        char ref[1100];
        if (store__file_column(s, call, (store_file_kind)k, ref, sizeof(ref)) != 0)
            return -1;
        if (!ref[0])
            continue;
        char real[PATH_MAX], cr[PATH_MAX], mcall[512] = "";
        /* a file callqa recorded writing is callqa's, whatever folders the settings name: in
         * the store, or in the manifest of its folder (callqa live, callqa sip --hep) */
        bool have = canon(ref, cr) == 0;
        bool written = have && (is_recorded(f, cr) ||
                                (def->recording && manifest_call(cr, mcall, sizeof(mcall))));
        store__file_class cls = written ? classify_written(cr, real) : classify(roots, ref, real);
        if (cls == STORE__F_OURS || cls == STORE__F_GONE)
            f->clear[k] = true;
        if (cls != STORE__F_GONE)
            add_file(f, (store_file_kind)k, cls, cls == STORE__F_NOT_OURS ? ref : real);
        const char *at = cls == STORE__F_NOT_OURS ? ref : real;
        if (k == STORE_FILE_REDACTED && cls != STORE__F_NOT_OURS) {
            snprintf(copy_dir, sizeof(copy_dir), "%s", real);
            char *slash = strrchr(copy_dir, '/');
            if (slash)
                *slash = 0;
            copy_written = written;
        }
        /* the service's transcode cache of it: named by the file as the service opens it */
        char sp[PATH_MAX], tc[PATH_MAX], hex[33];
        struct stat sb;
        served_path(roots, ref, sp, sizeof(sp));
        if (roots->transcode_dir && roots->transcode_dir[0] && lstat(sp, &sb) == 0 &&
            S_ISREG(sb.st_mode) &&
            store_file_transcode(roots->transcode_dir, sp, &sb, hex, tc, sizeof(tc)) == 0)
            add_found(roots, f, STORE_FILE_TRANSCODE, tc, false);
        /* the other files the manifest lists under the recording's call */
        if (mcall[0] && cls != STORE__F_NOT_OURS) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof(dir), "%s", real);
            char *slash = strrchr(dir, '/');
            if (slash) {
                *slash = 0;
                manifest_files(roots, f, dir[0] ? dir : "/", mcall);
            }
        }
        /* the files beside a recording (callqa's when the recording is) */
        for (int b = 0; def->recording && b < STORE_FILE_KINDS; b++) {
            char bp[PATH_MAX];
            if (store__file_def_of((store_file_kind)b)->from == STORE__FROM_BESIDE &&
                store_file_beside(at, (store_file_kind)b, bp, sizeof(bp)) == 0)
                add_found(roots, f, (store_file_kind)b, bp, written);
        }
    }
    /* unfinished redacted copies: beside the copy, and in the configured folder */
    add_parts(roots, f, call, copy_dir, copy_written);
    if (roots->redact_dir && roots->redact_dir[0]) {
        char rd[PATH_MAX];
        if (!copy_dir[0] || !realpath(roots->redact_dir, rd) || strcmp(rd, copy_dir))
            add_parts(roots, f, call, roots->redact_dir, false);
    }
    return 0;
}

/* The call's recorded files that are gone, their rows deleted (in the transaction). */
static int forget_gone(store *s, int64_t call, const store__call_files *f)
{
    for (int i = 0; i < f->nrec; i++) {
        struct stat sb;
        if (lstat(f->rec[i], &sb) == 0 || errno != ENOENT)
            continue;
        db_stmt *st =
            store__stmt(s, R_REC_DEL, "DELETE FROM call_files WHERE call_id = $1 AND path = $2");
        if (!st)
            return -1;
        db_bind_int(st, 1, call);
        db_bind_text(st, 2, f->rec[i]);
        int rc = db_step(st);
        db_reset(st);
        if (rc != DB_DONE)
            return store__fail(s, "forgetting a deleted file");
    }
    return 0;
}

bool store__files_any_clear(const store__call_files *f)
{
    for (int k = 0; k < STORE_FILE_KINDS; k++)
        if (f->clear[k])
            return true;
    return false;
}

/* Clear the columns of ours (in the transaction). Rows changed, or -1. */
int64_t store__files_clear(store *s, int64_t call, const store__call_files *f)
{
    int64_t n = 0;
    for (int k = 0; k < STORE_FILE_KINDS; k++) {
        if (!f->clear[k])
            continue;
        db_stmt *st = file_stmt(s, (store_file_kind)k, true);
        if (!st)
            return -1;
        db_bind_int(st, 1, call);
        int rc = db_step(st);
        db_reset(st);
        if (rc != DB_DONE)
            return store__fail(s, "clearing a call's file column");
        n++;
    }
    return n;
}

/* Delete the files of ours, then check that every one is gone, and that no unfinished redacted
 * copy of the call is left either. *checked: the paths checked. 0, or -1 with s->err. */
int store__files_delete(store *s, int64_t call, const store_file_roots *roots,
                        const store__call_files *f, int *checked)
{
    *checked = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->f[i].cls != STORE__F_OURS)
            continue;
        if (unlink(f->f[i].path) != 0 && errno != ENOENT) {
            snprintf(s->err, sizeof(s->err), "deleting the call's %s: %s",
                     store_file_name(f->f[i].kind), strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < f->n; i++) {
        if (f->f[i].cls != STORE__F_OURS)
            continue;
        struct stat sb;
        (*checked)++;
        if (lstat(f->f[i].path, &sb) == 0 || errno != ENOENT) {
            snprintf(s->err, sizeof(s->err), "the call's %s is still there after deletion",
                     store_file_name(f->f[i].kind));
            return -1;
        }
    }
    static _Thread_local store__call_files again; /* what the list finds now: nothing of ours */
    if (store__files_of(s, call, roots, &again) != 0)
        return -1;
    for (int i = 0; i < again.n; i++)
        if (again.f[i].cls == STORE__F_OURS) {
            snprintf(s->err, sizeof(s->err), "the call's %s is still there after deletion",
                     store_file_name(again.f[i].kind));
            return -1;
        }
    return forget_gone(s, call, f);
}

/* ---- the files' writers ------------------------------------------------------------------------
 */

int store__file_record(store *s, int64_t call_id, store_file_kind k, const char *path, double now)
{
    char real[PATH_MAX];
    if (call_id <= 0 || k < 0 || k >= STORE_FILE_KINDS || canon(path, real) != 0) {
        snprintf(s->err, sizeof(s->err), "recording a file: no call, or a path without a folder");
        return -1;
    }
    db_stmt *st =
        store__stmt(s, R_REC_PUT,
                    "INSERT INTO call_files (call_id, kind, path, created) VALUES ($1, $2, $3, "
                    "$4) ON CONFLICT (call_id, path) DO UPDATE SET kind = excluded.kind, "
                    "created = excluded.created");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    db_bind_text(st, 2, store_file_name(k));
    db_bind_text(st, 3, real);
    db_bind_double(st, 4, now);
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "recording a file of a call");
}

int store_file_record(store *s, int64_t call_id, store_file_kind k, const char *path, double now)
{
    pthread_mutex_lock(&s->mu);
    int rc = store__file_record(s, call_id, k, path, now);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
