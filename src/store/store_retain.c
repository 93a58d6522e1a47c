/*
 * store_retain.c - retention and erasure (store.h, docs/privacy.md "Retention and erasure"):
 * the periods' syntax, the purge of what is due, the erasure of one caller's calls, and the
 * deletions' log (migration 12).
 *
 * DESIGN
 * Each call is one transaction: it locks the call (PostgreSQL: FOR UPDATE; SQLite's BEGIN
 * IMMEDIATE holds the whole store), works out what of it is due from what the rows hold now
 * (so that two purges at once, or a purge and a worker, never delete twice or delete what a
 * worker just wrote under a period that is not over), changes the rows, checks that the rows
 * are gone and that the search finds none of the transcript's words for the call, deletes the
 * files, checks they are gone, logs the deletion, and commits. Any failure rolls the call back
 * and is reported; the other calls go on. A file deleted before a later failure stays deleted
 * (it was due); its column still names it, and the next run finds it gone and clears it.
 * A dry run is the same transaction, without the files' deletion and the log, rolled back:
 * it says exactly what the run would do.
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
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "store_int.h"

const char *const store_keep_names[STORE_KEEP_N] = {"audio", "transcript", "report", "llm"};

/* Statement keys. */
enum {
    R_CANDIDATES = Q_RETAIN_FIRST,
    R_LOCK_CALL,
    R_TX_TEXT,
    R_TX_DEL,
    R_FTS_DEL,
    R_TX_LEFT,
    R_FTS_MATCH,
    R_SCORE_GET,
    R_SCORE_SET,
    R_REPORT_HAS,
    R_REPORT_SET,
    R_ENV_DEL,
    R_LLM_COUNT,
    R_LLM_DEL,
    R_LOG,
    R_DELETIONS,
    R_ERASE_LEAD,
    R_ERASE_IDS,
    R_DEL_OVR,
    R_DEL_SCORES,
    R_DEL_ANALYSES,
    R_DEL_EVENTS,
    R_DEL_JOBS,
    R_DEL_CALL,
    R_DEL_LLM_ALL,
    R_CALL_LEFT,
    R_RESULT_SCAN,
    R_RESULT_DEL,
    R_RESULT_LEFT,
    R_LOG_FORGET,
    R_REC_PUT,
    R_REC_LIST,
    R_REC_DEL,
    R_REC_DEL_ALL,
    R_AUDIO_GONE,
    R_SCRUB_FTS,
    R_SCRUB_WAL,
    R_FILE_FIRST, /* two per kind of store_files.c's list (its columns': read, clear) */
    R_END = R_FILE_FIRST + 2 * STORE_FILE_KINDS
};
static_assert(R_END <= DB_MAX_STMTS, "statement keys past db.h's DB_MAX_STMTS");

#define TX_FTS_STRIDE 100000 /* as store.c: search rows of call c are rowids c * stride + i */
#define PAGE 256             /* calls read at a time */
#define MATCH_WORDS 5        /* words of a transcript searched for after its deletion */

/* ---- the periods ---------------------------------------------------------------------------- */

static int fail_msg(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_msg(char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* the kind named by s[0..n): its index, STORE_KEEP_N for "all", -1 unknown */
static int kind_of(const char *s, size_t n)
{
    for (int k = 0; k < STORE_KEEP_N; k++)
        if (strlen(store_keep_names[k]) == n && !strncmp(s, store_keep_names[k], n))
            return k;
    return n == 3 && !strncmp(s, "all", 3) ? STORE_KEEP_N : -1;
}

/* one NAME=KIND:DAYS[+...] item, s[0..n) trimmed */
static int parse_item(const char *setting, int no, const char *s, size_t n, store_retain_rule *r,
                      char *msg, size_t msgsz)
{
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': expected NAME=KIND:DAYS", setting, no,
                        (int)n, s);
    size_t nl = (size_t)(eq - s);
    if (nl == 0 || nl >= sizeof(r->name))
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': the name must be 1 to %zu bytes", setting,
                        no, (int)n, s, sizeof(r->name) - 1);
    for (size_t i = 0; i < nl; i++)
        if (isspace((unsigned char)s[i]))
            return fail_msg(msg, msgsz, "%s: item %d '%.*s': a space in the name", setting, no,
                            (int)n, s);
    memcpy(r->name, s, nl);
    r->name[nl] = 0;
    for (int k = 0; k < STORE_KEEP_N; k++)
        r->days[k] = -1;
    const char *p = eq + 1, *end = s + n;
    if (p == end)
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': nothing after '='", setting, no, (int)n,
                        s);
    while (p < end) {
        const char *plus = memchr(p, '+', (size_t)(end - p));
        const char *pe = plus ? plus : end;
        const char *colon = memchr(p, ':', (size_t)(pe - p));
        int k = colon ? kind_of(p, (size_t)(colon - p)) : -1;
        if (k < 0)
            return fail_msg(msg, msgsz,
                            "%s: item %d '%.*s': '%.*s' is not KIND:DAYS with KIND audio, "
                            "transcript, report, llm or all",
                            setting, no, (int)n, s, (int)(pe - p), p);
        const char *d = colon + 1;
        long days = 0;
        if (d == pe || pe - d > 5)
            days = -1;
        for (const char *q = d; days >= 0 && q < pe; q++)
            days = isdigit((unsigned char)*q) ? days * 10 + (*q - '0') : -1;
        if (days < 0 || days > STORE_RETAIN_MAX_DAYS)
            return fail_msg(msg, msgsz,
                            "%s: item %d '%.*s': '%.*s' is not a number of days from 0 (forever) "
                            "to %d",
                            setting, no, (int)n, s, (int)(pe - d), d, STORE_RETAIN_MAX_DAYS);
        for (int j = 0; j < STORE_KEEP_N; j++) {
            if (k != STORE_KEEP_N && j != k)
                continue;
            if (r->days[j] >= 0)
                return fail_msg(msg, msgsz, "%s: item %d '%.*s': %s is given twice", setting, no,
                                (int)n, s, store_keep_names[j]);
            r->days[j] = (int)days;
        }
        p = plus ? plus + 1 : end;
        if (plus && p == end)
            return fail_msg(msg, msgsz, "%s: item %d '%.*s': nothing after '+'", setting, no,
                            (int)n, s);
    }
    return 0;
}

int store_retain_parse(const char *setting, const char *text, store_retain_rule **rules, int *n,
                       char *msg, size_t msgsz)
{
    *rules = NULL;
    *n = 0;
    if (!text)
        return 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    int cap = 1;
    for (const char *q = p; *q; q++)
        cap += *q == ',';
    store_retain_rule *out = calloc((size_t)cap, sizeof(*out));
    if (!out)
        return fail_msg(msg, msgsz, "%s: out of memory", setting);
    int no = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        no++;
        if (a == b) {
            free(out);
            return fail_msg(msg, msgsz, "%s: item %d is empty", setting, no);
        }
        if (parse_item(setting, no, a, (size_t)(b - a), &out[*n], msg, msgsz) != 0) {
            free(out);
            *n = 0;
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (!strcmp(out[i].name, out[*n].name)) {
                int dup = i + 1;
                free(out);
                *n = 0;
                return fail_msg(msg, msgsz, "%s: item %d names '%.*s' as item %d did", setting, no,
                                (int)(strchr(a, '=') - a), a, dup);
            }
        (*n)++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *rules = out;
    return 0;
}

void store_retention_free(store_retention *r)
{
    if (!r)
        return;
    free(r->campaigns);
    free(r->sources);
    r->campaigns = r->sources = NULL;
    r->n_campaigns = r->n_sources = 0;
}

bool store_retention_any(const store_retention *r)
{
    for (int k = 0; k < STORE_KEEP_N; k++)
        if (r->days[k] > 0)
            return true;
    for (int i = 0; i < r->n_campaigns; i++)
        for (int k = 0; k < STORE_KEEP_N; k++)
            if (r->campaigns[i].days[k] > 0)
                return true;
    for (int i = 0; i < r->n_sources; i++)
        for (int k = 0; k < STORE_KEEP_N; k++)
            if (r->sources[i].days[k] > 0)
                return true;
    return false;
}

static const store_retain_rule *rule_of(const store_retain_rule *rs, int n, const char *name)
{
    if (!name || !*name)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(rs[i].name, name))
            return &rs[i];
    return NULL;
}

int store_retention_days(const store_retention *r, const char *source, const char *campaign,
                         store_keep k)
{
    const store_retain_rule *c = rule_of(r->campaigns, r->n_campaigns, campaign);
    if (c && c->days[k] >= 0)
        return c->days[k];
    const store_retain_rule *s = rule_of(r->sources, r->n_sources, source);
    if (s && s->days[k] >= 0)
        return s->days[k];
    return r->days[k] > 0 ? r->days[k] : 0;
}

/* the shortest period set anywhere, days (0: none) */
static int shortest(const store_retention *r)
{
    int m = 0;
#define TAKE(d)                                                                                    \
    do {                                                                                           \
        if ((d) > 0 && (m == 0 || (d) < m))                                                        \
            m = (d);                                                                               \
    } while (0)
    for (int k = 0; k < STORE_KEEP_N; k++) {
        TAKE(r->days[k]);
        for (int i = 0; i < r->n_campaigns; i++)
            TAKE(r->campaigns[i].days[k]);
        for (int i = 0; i < r->n_sources; i++)
            TAKE(r->sources[i].days[k]);
    }
#undef TAKE
    return m;
}

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

typedef enum file_kind {
    F_NOT_OURS = 0, /* not beneath an owned folder (the dialer's, a recording server's): kept */
    F_OURS,         /* a regular file beneath an owned folder: deleted */
    F_GONE,         /* beneath an owned folder, already gone: only its column is cleared */
    F_PROTECTED     /* beneath an owned folder but also a protected one, or not a regular file:
                       kept */
} file_kind;

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
static file_kind classify(const store_file_roots *roots, const char *path, char real[PATH_MAX])
{
    if (!path || !*path || !roots || !roots->owned || canon(path, real) != 0)
        return F_NOT_OURS;
    if (!beneath_any(real, roots->owned))
        return F_NOT_OURS;
    if (beneath_any(real, roots->protect))
        return F_PROTECTED;
    struct stat sb;
    if (lstat(real, &sb) != 0)
        return errno == ENOENT ? F_GONE : F_PROTECTED;
    return S_ISREG(sb.st_mode) ? F_OURS : F_PROTECTED;
}

/* A file callqa wrote (recorded, or found beside or in the folder of one it recorded), whatever
 * folders the settings name: deleted when a regular file still at its real path; kept when a
 * link, anything else, or when its folder's real path moved (a folder swapped for a link). */
static file_kind classify_written(const char *path, char real[PATH_MAX])
{
    struct stat sb;
    if (canon(path, real) != 0) {
        snprintf(real, PATH_MAX, "%s", path);
        return lstat(path, &sb) != 0 && errno == ENOENT ? F_GONE : F_PROTECTED;
    }
    if (strcmp(real, path) && path[0] == '/' && lstat(real, &sb) == 0)
        return F_PROTECTED; /* its folder is elsewhere now than where it was written */
    if (lstat(real, &sb) != 0)
        return errno == ENOENT ? F_GONE : F_PROTECTED;
    return S_ISREG(sb.st_mode) ? F_OURS : F_PROTECTED;
}

/* The files of one call, as store_files.c's list finds them. */
#define MAX_CALL_FILES 48
#define MAX_RECORDED 24 /* of call_files' rows read for a call */
typedef struct call_file {
    store_file_kind kind;
    file_kind cls;       /* F_OURS: deleted; F_PROTECTED, F_NOT_OURS: kept */
    char path[PATH_MAX]; /* real (its folder's real path), or as the row names it (not ours) */
} call_file;
typedef struct call_files {
    bool clear[STORE_FILE_KINDS]; /* a column kind's column names a file of ours (there or gone) */
    call_file f[MAX_CALL_FILES];
    int n;
    int del;                          /* files to delete (F_OURS) */
    int kept;                         /* files of the list kept */
    int del_kind[STORE_FILE_KINDS];   /* del by kind */
    int kept_kind[STORE_FILE_KINDS];  /* kept by kind */
    char rec[MAX_RECORDED][PATH_MAX]; /* the paths call_files records for the call */
    int nrec;
} call_files;

static void add_file(call_files *f, store_file_kind k, file_kind cls, const char *path)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->f[i].path, path))
            return;
    if (f->n >= MAX_CALL_FILES)
        return;
    call_file *c = &f->f[f->n++];
    c->kind = k;
    c->cls = cls;
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (cls == F_OURS) {
        f->del++;
        f->del_kind[k]++;
    } else {
        f->kept++;
        f->kept_kind[k]++;
    }
}

/* A file found from another (beside it, in a cache): deleted when it is ours and there, kept
 * (and counted) when it is there outside callqa's folders or beneath a protected one. */
static void add_found(const store_file_roots *roots, call_files *f, store_file_kind k,
                      const char *path, bool written)
{
    char real[PATH_MAX];
    struct stat sb;
    file_kind cls = written ? classify_written(path, real) : classify(roots, path, real);
    if (written && cls == F_PROTECTED && lstat(real, &sb) != 0)
        return;
    switch (cls) {
    case F_OURS: add_file(f, k, F_OURS, real); break;
    case F_PROTECTED: add_file(f, k, F_PROTECTED, real); break;
    case F_NOT_OURS:
        if (lstat(path, &sb) == 0)
            add_file(f, k, F_NOT_OURS, path);
        break;
    case F_GONE: break;
    }
}

static db_stmt *get(store *s, int key, const char *sql)
{
    db_stmt *st = db_stmt_get(s->d, key, sql);
    if (!st)
        store__fail(s, "preparing a statement");
    return st;
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
    return get(s, R_FILE_FIRST + 2 * (int)k + (clear ? 1 : 0), sql);
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
static void add_parts(const store_file_roots *roots, call_files *f, int64_t call, const char *dir,
                      bool written)
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
static void manifest_files(const store_file_roots *roots, call_files *f, const char *dir,
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

static bool is_recorded(const call_files *f, const char *real)
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
static int recorded_of(store *s, int64_t call, call_files *f)
{
    db_stmt *st = get(s, R_REC_LIST, "SELECT kind, path FROM call_files WHERE call_id = $1");
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
        file_kind cls = classify_written(p, real);
        if (cls != F_GONE)
            add_file(f, k, cls, real);
    }
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "reading a call's recorded files");
}

/* Every file of the call that store_files.c's list finds: those its writers recorded, the column
 * kinds' from the rows, then those found from them. 0 or -1. */
static int files_of(store *s, int64_t call, const store_file_roots *roots, call_files *f)
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
        db_stmt *st = file_stmt(s, (store_file_kind)k, false);
        if (!st)
            return -1;
        db_bind_int(st, 1, call);
        int rc = db_step(st);
        char ref[1100] = "";
        if (rc == DB_ROW)
            store__col_copy(st, 0, ref, sizeof(ref));
        db_reset(st);
        if (rc != DB_ROW && rc != DB_DONE)
            return store__fail(s, "reading a call's files");
        if (!ref[0])
            continue;
        char real[PATH_MAX], cr[PATH_MAX], mcall[512] = "";
        /* a file callqa recorded writing is callqa's, whatever folders the settings name: in
         * the store, or in the manifest of its folder (callqa live, callqa sip --hep) */
        bool have = canon(ref, cr) == 0;
        bool written = have && (is_recorded(f, cr) ||
                                (def->recording && manifest_call(cr, mcall, sizeof(mcall))));
        file_kind cls = written ? classify_written(cr, real) : classify(roots, ref, real);
        if (cls == F_OURS || cls == F_GONE)
            f->clear[k] = true;
        if (cls != F_GONE)
            add_file(f, (store_file_kind)k, cls, cls == F_NOT_OURS ? ref : real);
        const char *at = cls == F_NOT_OURS ? ref : real;
        if (k == STORE_FILE_REDACTED && cls != F_NOT_OURS) {
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
        if (mcall[0] && cls != F_NOT_OURS) {
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
static int forget_gone(store *s, int64_t call, const call_files *f)
{
    for (int i = 0; i < f->nrec; i++) {
        struct stat sb;
        if (lstat(f->rec[i], &sb) == 0 || errno != ENOENT)
            continue;
        db_stmt *st = get(s, R_REC_DEL, "DELETE FROM call_files WHERE call_id = $1 AND path = $2");
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

static bool any_clear(const call_files *f)
{
    for (int k = 0; k < STORE_FILE_KINDS; k++)
        if (f->clear[k])
            return true;
    return false;
}

/* Clear the columns of ours (in the transaction). Rows changed, or -1. */
static int64_t clear_columns(store *s, int64_t call, const call_files *f)
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
static int delete_files(store *s, int64_t call, const store_file_roots *roots, const call_files *f,
                        int *checked)
{
    *checked = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->f[i].cls != F_OURS)
            continue;
        if (unlink(f->f[i].path) != 0 && errno != ENOENT) {
            snprintf(s->err, sizeof(s->err), "deleting the call's %s: %s",
                     store_file_name(f->f[i].kind), strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < f->n; i++) {
        if (f->f[i].cls != F_OURS)
            continue;
        struct stat sb;
        (*checked)++;
        if (lstat(f->f[i].path, &sb) == 0 || errno != ENOENT) {
            snprintf(s->err, sizeof(s->err), "the call's %s is still there after deletion",
                     store_file_name(f->f[i].kind));
            return -1;
        }
    }
    static _Thread_local call_files again; /* what the list finds now: nothing of ours */
    if (files_of(s, call, roots, &again) != 0)
        return -1;
    for (int i = 0; i < again.n; i++)
        if (again.f[i].cls == F_OURS) {
            snprintf(s->err, sizeof(s->err), "the call's %s is still there after deletion",
                     store_file_name(again.f[i].kind));
            return -1;
        }
    return forget_gone(s, call, f);
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* A statement with the call bound as $1 run to its end: rows changed, or -1. */
static int64_t del_call(store *s, int key, const char *sql, int64_t call, const char *what)
{
    db_stmt *st = get(s, key, sql);
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    return rc == DB_DONE ? n : store__fail(s, what);
}

/* One integer from a statement with $1 = call and optional $2, $3 (NULL: unbound). -1 on error. */
static int64_t count1(store *s, int key, const char *sql, int64_t call, const store_val *p2,
                      const store_val *p3, int col)
{
    db_stmt *st = get(s, key, sql);
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    const store_val *ps[2] = {p2, p3};
    for (int i = 0; i < 2; i++) {
        if (!ps[i])
            continue;
        if (ps[i]->t == SV_INT)
            db_bind_int(st, 2 + i, ps[i]->i);
        else if (ps[i]->t == SV_REAL)
            db_bind_double(st, 2 + i, ps[i]->d);
        else
            db_bind_text(st, 2 + i, ps[i]->s);
    }
    int rc = db_step(st);
    int64_t v = rc == DB_ROW ? db_col_int(st, col) : -1;
    db_reset(st);
    if (rc != DB_ROW)
        return store__fail(s, "counting a call's rows");
    return v;
}

static bool is_pg(store *s)
{
    return db_get_dialect(s->d) == DB_PG;
}

/* the transcript's search rows of the call */
static int64_t fts_count(store *s, int64_t call, int col)
{
    store_val lo = SV_I(call * TX_FTS_STRIDE), hi = SV_I((call + 1) * TX_FTS_STRIDE);
    return count1(s, R_TX_LEFT,
                  STORE_SQL(s,
                            "SELECT (SELECT COUNT(*) FROM transcripts WHERE call_id = $1), "
                            "(SELECT COUNT(*) FROM transcript_fts WHERE rowid >= $2 AND rowid < "
                            "$3)",
                            "SELECT (SELECT COUNT(*) FROM transcripts WHERE call_id = $1), "
                            "(SELECT COUNT(*) FROM transcript_segments WHERE call_id = $1)"),
                  call, is_pg(s) ? NULL : &lo, is_pg(s) ? NULL : &hi, col);
}

static int64_t fts_delete(store *s, int64_t call)
{
    db_stmt *st = get(s, R_FTS_DEL,
                      STORE_SQL(s, "DELETE FROM transcript_fts WHERE rowid >= $1 AND rowid < $2",
                                "DELETE FROM transcript_segments WHERE call_id = $1"));
    if (!st)
        return -1;
    db_bind_int(st, 1, is_pg(s) ? call : call * TX_FTS_STRIDE);
    if (!is_pg(s))
        db_bind_int(st, 2, (call + 1) * TX_FTS_STRIDE);
    int rc = db_step(st);
    int64_t n = db_changes(s->d);
    db_reset(st);
    return rc == DB_DONE ? n : store__fail(s, "deleting a transcript's search rows");
}

/* Up to MATCH_WORDS distinct words (letters and digits, 4 bytes or more, the longest first) of
 * a text, for searching after its deletion. */
typedef struct words {
    char w[MATCH_WORDS][64];
    int n;
} words;

static void words_of(const char *text, words *out)
{
    out->n = 0;
    for (const char *p = text ? text : ""; *p;) {
        while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        const char *b = p;
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        size_t n = (size_t)(p - b);
        if (n < 4 || n >= sizeof(out->w[0]))
            continue;
        bool dup = false;
        for (int i = 0; i < out->n && !dup; i++)
            dup = strlen(out->w[i]) == n && !strncmp(out->w[i], b, n);
        if (dup)
            continue;
        int at = out->n;
        if (out->n == MATCH_WORDS) { /* replace the shortest when longer */
            at = 0;
            for (int i = 1; i < out->n; i++)
                if (strlen(out->w[i]) < strlen(out->w[at]))
                    at = i;
            if (strlen(out->w[at]) >= n)
                continue;
        } else {
            out->n++;
        }
        memcpy(out->w[at], b, n);
        out->w[at][n] = 0;
    }
}

/* How many of the words the search still finds among the call's rows. -1 on error. */
static int64_t search_finds(store *s, int64_t call, const words *w)
{
    int64_t found = 0;
    for (int i = 0; i < w->n; i++) {
        char q[80];
        snprintf(q, sizeof(q), is_pg(s) ? "%s" : "\"%s\"", w->w[i]);
        db_stmt *st =
            get(s, R_FTS_MATCH,
                STORE_SQL(s,
                          "SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts MATCH $1 AND "
                          "rowid >= $2 AND rowid < $3",
                          "SELECT COUNT(*) FROM transcript_segments WHERE tsv @@ "
                          "plainto_tsquery('simple', $1) AND call_id = $2"));
        if (!st)
            return -1;
        db_bind_text(st, 1, q);
        db_bind_int(st, 2, is_pg(s) ? call : call * TX_FTS_STRIDE);
        if (!is_pg(s))
            db_bind_int(st, 3, (call + 1) * TX_FTS_STRIDE);
        int rc = db_step(st);
        if (rc == DB_ROW)
            found += db_col_int(st, 0);
        db_reset(st);
        if (rc != DB_ROW)
            return store__fail(s, "searching for a deleted transcript's words");
    }
    return found;
}

/* The transcript's text (malloc'd; NULL with *have false when there is none). -1 on error. */
static int tx_text(store *s, int64_t call, char **text)
{
    *text = NULL;
    db_stmt *st = get(s, R_TX_TEXT, "SELECT text FROM transcripts WHERE call_id = $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        const char *t = db_col_text(st, 0);
        *text = strdup(t ? t : "");
    }
    db_reset(st);
    if (rc != DB_ROW && rc != DB_DONE)
        return store__fail(s, "reading a transcript");
    return 0;
}

/* ---- the scores' words --------------------------------------------------------------------- */

/* Take out of a score's detail the transcript's words (evidence quotes, topic phrases) and/or
 * the LLM's text (summary, strengths, improvements, the reasons of the categories it scored).
 * *nq, *nl: how many were taken. Returns the new detail (malloc'd) when anything was taken,
 * NULL otherwise (*bad: the detail is not a JSON object). */
static char *strip_detail(const char *detail, bool quotes, bool llm, int *nq, int *nl, bool *bad)
{
    *nq = *nl = 0;
    *bad = false;
    if (!detail)
        return NULL;
    json_t *o = json_loads(detail, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        *bad = true;
        return NULL;
    }
    const char *key;
    json_t *cat;
    json_object_foreach(json_object_get(o, "categories"), key, cat)
    {
        json_t *ev = json_object_get(cat, "evidence");
        for (size_t i = 0; quotes && json_is_array(ev) && i < json_array_size(ev);) {
            if (json_object_get(json_array_get(ev, i), "quote")) {
                json_array_remove(ev, i);
                (*nq)++;
            } else {
                i++;
            }
        }
        const char *method = json_string_value(json_object_get(cat, "method"));
        json_t *reason = json_object_get(cat, "reason");
        if (llm && method && !strcmp(method, "llm") &&
            json_is_number(json_object_get(cat, "score")) && json_is_string(reason) &&
            json_string_length(reason) > 0) {
            json_object_set_new(cat, "reason", json_string(""));
            (*nl)++;
        }
    }
    json_t *ph = json_object_get(json_object_get(o, "topic"), "phrases");
    if (quotes && json_is_array(ph) && json_array_size(ph) > 0) {
        *nq += (int)json_array_size(ph);
        json_array_clear(ph);
    }
    /* the summary's and the sentiment's quotes, and the quotes of the LLM's dropped figures */
    json_t *sq = json_object_get(json_object_get(o, "summary"), "quotes");
    if (quotes && json_is_array(sq) && json_array_size(sq) > 0) {
        *nq += (int)json_array_size(sq);
        json_array_clear(sq);
    }
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(o, "sentiment"), "speakers"), k, e)
    {
        json_t *q = json_object_get(e, "quotes");
        if (quotes && json_is_array(q) && json_array_size(q) > 0) {
            *nq += (int)json_array_size(q);
            json_array_clear(q);
        }
    }
    json_array_foreach(json_object_get(json_object_get(o, "sentiment_llm"), "dropped"), k, e)
    {
        if (quotes && json_is_string(json_object_get(e, "quote"))) {
            json_object_set_new(e, "quote", json_null());
            (*nq)++;
        }
    }
    if (llm) {
        const json_t *sm = json_object_get(o, "summary");
        const char *src = json_string_value(json_object_get(sm, "source"));
        if (json_is_string(sm) || (src && !strcmp(src, "llm"))) {
            json_object_set_new(o, "summary", json_null()); /* the LLM's words */
            (*nl)++;
        }
        static const char *const lists[] = {"strengths", "improvements"};
        for (int i = 0; i < 2; i++) {
            json_t *a = json_object_get(o, lists[i]);
            if (json_is_array(a) && json_array_size(a) > 0) {
                json_array_clear(a);
                (*nl)++;
            }
        }
    }
    char *out = *nq || *nl ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if ((*nq || *nl) && !out)
        *bad = true;
    return out;
}

static bool list_text(const char *v)
{
    if (!v || !*v)
        return false;
    while (isspace((unsigned char)*v))
        v++;
    return strcmp(v, "[]") != 0;
}

/* Strip the call's scores row (in the transaction; dry: count only). Adds to *nq, *nl.
 * 0, or -1 with s->err. */
static int strip_scores(store *s, int64_t call, bool quotes, bool llm, bool dry, int *nq, int *nl)
{
    db_stmt *st = get(s, R_SCORE_GET,
                      "SELECT detail, summary, strengths, improvements FROM scores WHERE call_id "
                      "= $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_reset(st);
        return rc == DB_DONE ? 0 : store__fail(s, "reading a call's scores");
    }
    const char *d = db_col_text(st, 0);
    char *detail = d ? strdup(d) : NULL;
    bool summary = !db_col_null(st, 1);
    bool lists[2] = {list_text(db_col_text(st, 2)), list_text(db_col_text(st, 3))};
    db_reset(st);
    int q = 0, l = 0;
    bool bad = false;
    char *nd = strip_detail(detail, quotes, llm, &q, &l, &bad);
    if (bad) {
        free(detail);
        snprintf(s->err, sizeof(s->err),
                 "a score's detail is not a JSON object: its words "
                 "cannot be taken out");
        return -1;
    }
    if (llm)
        l += (summary ? 1 : 0) + (lists[0] ? 1 : 0) + (lists[1] ? 1 : 0);
    *nq += q;
    *nl += l;
    int res = 0;
    if (!dry && (q || l)) {
        st = get(s, R_SCORE_SET,
                 "UPDATE scores SET detail = $2, summary = CASE WHEN $3 = 1 THEN NULL ELSE summary "
                 "END, strengths = CASE WHEN $3 = 1 AND strengths IS NOT NULL THEN '[]' ELSE "
                 "strengths END, improvements = CASE WHEN $3 = 1 AND improvements IS NOT NULL "
                 "THEN '[]' ELSE improvements END WHERE call_id = $1");
        if (!st) {
            res = -1;
        } else {
            db_bind_int(st, 1, call);
            db_bind_text(st, 2, nd ? nd : detail);
            db_bind_int(st, 3, llm ? 1 : 0);
            int r2 = db_step(st);
            db_reset(st);
            if (r2 != DB_DONE)
                res = store__fail(s, "taking words out of a call's scores");
        }
    }
    free(nd);
    free(detail);
    return res;
}

/* ---- the log ------------------------------------------------------------------------------- */

static int log_row(store *s, double now, int64_t call, const char *source, const char *rec,
                   const char *what, const char *why, const char *detail)
{
    db_stmt *st = get(s, R_LOG,
                      "INSERT INTO deletions (ts, call_id, source, recording_id, what, why, "
                      "detail) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    if (!st)
        return -1;
    db_bind_double(st, 1, now);
    if (call > 0)
        db_bind_int(st, 2, call);
    else
        db_bind_null(st, 2);
    store__bind_opt(st, 3, source);
    store__bind_opt(st, 4, rec);
    db_bind_text(st, 5, what);
    db_bind_text(st, 6, why);
    db_bind_text(st, 7, detail);
    int rc = db_step(st);
    db_reset(st);
    return rc == DB_DONE ? 0 : store__fail(s, "logging a deletion");
}

int store_deletions(store *s, int64_t after_id, store_deletion_row *out, int max, int *n)
{
    *n = 0;
    db_stmt *st = store__begin(s, R_DELETIONS,
                               "SELECT id, ts, call_id, source, recording_id, what, why, detail "
                               "FROM deletions WHERE id > $1 ORDER BY id LIMIT $2");
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_int(st, 2, max);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < max) {
        store_deletion_row *r = &out[(*n)++];
        memset(r, 0, sizeof(*r));
        r->id = db_col_int(st, 0);
        r->ts = db_col_double(st, 1);
        r->call_id = db_col_null(st, 2) ? 0 : db_col_int(st, 2);
        store__col_copy(st, 3, r->source, sizeof(r->source));
        store__col_copy(st, 4, r->recording_id, sizeof(r->recording_id));
        store__col_copy(st, 5, r->what, sizeof(r->what));
        store__col_copy(st, 6, r->why, sizeof(r->why));
        store__col_copy(st, 7, r->detail, sizeof(r->detail));
    }
    int res = rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, "reading the deletions");
    store__end(s, st);
    return res;
}

/* ---- one call ------------------------------------------------------------------------------- */

typedef struct call_row {
    int64_t id;
    char source[65], rec[65], campaign[65];
    double t; /* the call's time, UTC s */
} call_row;

/* Lock the call for the transaction: 1 there, 0 gone, -1 error. */
static int lock_call(store *s, int64_t call)
{
    int64_t n = count1(s, R_LOCK_CALL,
                       STORE_SQL(s, "SELECT COUNT(*) FROM calls WHERE id = $1",
                                 "SELECT COUNT(*) FROM (SELECT id FROM calls WHERE id = $1 FOR "
                                 "UPDATE) c"),
                       call, NULL, NULL, 0);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/* The audio's log detail: the files deleted and kept by kind, and the paths checked gone. */
static void files_detail(char *buf, size_t n, int days, double age, const call_files *f,
                         int checked)
{
    int w = snprintf(buf, n, "{\"days\":%d,\"age_days\":%.1f,\"files\":%d,\"kinds\":{", days, age,
                     f->del);
    for (int pass = 0; pass < 2; pass++) {
        const int *by = pass ? f->kept_kind : f->del_kind;
        if (pass && w > 0 && (size_t)w < n)
            w += snprintf(buf + w, n - (size_t)w, "},\"kept\":{");
        bool first = true;
        for (int k = 0; k < STORE_FILE_KINDS && w > 0 && (size_t)w < n; k++)
            if (by[k]) {
                w += snprintf(buf + w, n - (size_t)w, "%s\"%s\":%d", first ? "" : ",",
                              store_file_name((store_file_kind)k), by[k]);
                first = false;
            }
    }
    if (w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, "},\"checked\":%d,\"verified\":true}", checked);
}

static void say_detail(char *buf, size_t n, int days, double age, int64_t rows, int64_t search,
                       int files, int quotes)
{
    snprintf(buf, n,
             "{\"days\":%d,\"age_days\":%.1f,\"rows\":%" PRId64 ",\"search_rows\":%" PRId64
             ",\"files\":%d,\"quotes\":%d,\"verified\":true}",
             days, age, rows, search, files, quotes);
}

/* What is due of one call under the periods, done (or, dry, only found) in the transaction the
 * caller holds; d says what. 0, or -1 with s->err (the caller rolls back). */
static int purge_one(store *s, const store_retention *r, const store_file_roots *roots,
                     const call_row *c, double now, bool dry, store_deletion *d)
{
    int days[STORE_KEEP_N];
    bool due[STORE_KEEP_N];
    double age = (now - c->t) / 86400.0;
    for (int k = 0; k < STORE_KEEP_N; k++) {
        days[k] = store_retention_days(r, c->source, c->campaign, (store_keep)k);
        due[k] = days[k] > 0 && c->t + days[k] * 86400.0 <= now;
    }
    int lk = lock_call(s, c->id);
    if (lk <= 0)
        return lk;
    char det[256];
    /* audio: the columns now, the files last, once every row change is checked */
    static _Thread_local call_files f;
    bool audio = false;
    if (due[STORE_KEEP_AUDIO]) {
        if (files_of(s, c->id, roots, &f) != 0)
            return -1;
        /* something of ours to delete or to clear: then the call's line says what is kept too */
        if (any_clear(&f) || f.del) {
            int64_t n = dry ? 0 : clear_columns(s, c->id, &f);
            if (n < 0)
                return -1;
            if (!dry) {
                static _Thread_local call_files again;
                if (files_of(s, c->id, roots, &again) != 0)
                    return -1;
                if (any_clear(&again)) {
                    snprintf(s->err, sizeof(s->err), "a file column still names the file");
                    return -1;
                }
            }
            audio = true;
            d->kinds |= 1u << STORE_KEEP_AUDIO;
            d->files += f.del;
            d->files_kept += f.kept;
            for (int k = 0; k < STORE_FILE_KINDS; k++) {
                d->deleted_kind[k] += f.del_kind[k];
                d->kept_kind[k] += f.kept_kind[k];
            }
        }
    }
    /* transcript, and the LLM's text (one pass over the scores for both) */
    bool tx = due[STORE_KEEP_TRANSCRIPT], llm = due[STORE_KEEP_LLM];
    int nq = 0, nl = 0;
    if (tx || llm) {
        char *text = NULL;
        int64_t have_tx = 0, have_fts = 0, gone_tx = 0, gone_fts = 0;
        words w = {.n = 0};
        if (tx) {
            if (tx_text(s, c->id, &text) != 0)
                return -1;
            words_of(text, &w);
            free(text);
            if ((have_tx = fts_count(s, c->id, 0)) < 0 || (have_fts = fts_count(s, c->id, 1)) < 0)
                return -1;
        }
        if (strip_scores(s, c->id, tx, llm, dry, &nq, &nl) != 0)
            return -1;
        /* the transcript */
        if (tx && !dry && (have_tx || have_fts)) {
            if ((gone_fts = fts_delete(s, c->id)) < 0 ||
                (gone_tx = del_call(s, R_TX_DEL, "DELETE FROM transcripts WHERE call_id = $1",
                                    c->id, "deleting a transcript")) < 0)
                return -1;
            int64_t left_tx = fts_count(s, c->id, 0), left_fts = fts_count(s, c->id, 1);
            int64_t found = search_finds(s, c->id, &w);
            if (left_tx != 0 || left_fts != 0 || found != 0) {
                if (left_tx >= 0 && left_fts >= 0 && found >= 0)
                    snprintf(s->err, sizeof(s->err),
                             "the transcript is still there after deletion (%" PRId64
                             " rows, %" PRId64 " search rows, %" PRId64 " words found)",
                             left_tx, left_fts, found);
                return -1;
            }
        }
        if (tx && (have_tx || have_fts || nq)) {
            d->kinds |= 1u << STORE_KEEP_TRANSCRIPT;
            d->rows += dry ? have_tx + have_fts : gone_tx + gone_fts;
            d->search_rows += dry ? have_fts : gone_fts;
            d->quotes += nq;
            say_detail(det, sizeof(det), days[STORE_KEEP_TRANSCRIPT], age, gone_tx + gone_fts,
                       gone_fts, 0, nq);
            if (!dry &&
                log_row(s, now, c->id, c->source, c->rec, "transcript", "retention", det) != 0)
                return -1;
        }
    }
    /* the report */
    if (due[STORE_KEEP_REPORT]) {
        store_val stub = SV_S(STORE_REPORT_REMOVED);
        const char *has_sql = "SELECT (SELECT COUNT(*) FROM analyses WHERE call_id = $1 AND "
                              "report <> $2), (SELECT COUNT(*) FROM call_envelopes WHERE "
                              "call_id = $1)";
        int64_t rep = count1(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 0);
        int64_t env = count1(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 1);
        if (rep < 0 || env < 0)
            return -1;
        if (rep || env) {
            if (!dry) {
                db_stmt *st = get(s, R_REPORT_SET,
                                  "UPDATE analyses SET report = $2 WHERE call_id = $1 AND report "
                                  "<> $2");
                if (!st)
                    return -1;
                db_bind_int(st, 1, c->id);
                db_bind_text(st, 2, STORE_REPORT_REMOVED);
                int rc = db_step(st);
                db_reset(st);
                if (rc != DB_DONE)
                    return store__fail(s, "removing a report");
                if (del_call(s, R_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1", c->id,
                             "deleting an envelope") < 0)
                    return -1;
                if (count1(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 0) != 0 ||
                    count1(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 1) != 0) {
                    snprintf(s->err, sizeof(s->err), "the report is still there after deletion");
                    return -1;
                }
                say_detail(det, sizeof(det), days[STORE_KEEP_REPORT], age, rep + env, 0, 0, 0);
                if (log_row(s, now, c->id, c->source, c->rec, "report", "retention", det) != 0)
                    return -1;
            }
            d->kinds |= 1u << STORE_KEEP_REPORT;
            d->rows += rep + env;
        }
    }
    /* the LLM's requests (their own time past the period too) */
    if (llm) {
        double cutoff = now - days[STORE_KEEP_LLM] * 86400.0;
        store_val cut = SV_D(cutoff);
        const char *cnt_sql = "SELECT COUNT(*) FROM llm_calls WHERE call_id = $1 AND ts <= $2";
        int64_t n = count1(s, R_LLM_COUNT, cnt_sql, c->id, &cut, NULL, 0);
        if (n < 0)
            return -1;
        if (n && !dry) {
            db_stmt *st =
                get(s, R_LLM_DEL, "DELETE FROM llm_calls WHERE call_id = $1 AND ts <= $2");
            if (!st)
                return -1;
            db_bind_int(st, 1, c->id);
            db_bind_double(st, 2, cutoff);
            int rc = db_step(st);
            db_reset(st);
            if (rc != DB_DONE)
                return store__fail(s, "deleting LLM requests");
            if (count1(s, R_LLM_COUNT, cnt_sql, c->id, &cut, NULL, 0) != 0) {
                snprintf(s->err, sizeof(s->err), "LLM requests are still there after deletion");
                return -1;
            }
        }
        if (n || nl) {
            d->kinds |= 1u << STORE_KEEP_LLM;
            d->rows += n;
            d->llm_texts += nl;
            say_detail(det, sizeof(det), days[STORE_KEEP_LLM], age, n, 0, 0, nl);
            if (!dry && log_row(s, now, c->id, c->source, c->rec, "llm", "retention", det) != 0)
                return -1;
        }
    }
    /* the scores' words, checked once both are out */
    if (!dry && (nq || nl)) {
        int q2 = 0, l2 = 0;
        if (strip_scores(s, c->id, tx, llm, true, &q2, &l2) != 0)
            return -1;
        if (q2 || l2) {
            snprintf(s->err, sizeof(s->err), "a score still holds %d quotes and %d LLM texts", q2,
                     l2);
            return -1;
        }
    }
    if (audio && !dry) {
        if (delete_files(s, c->id, roots, &f, &d->checked) != 0)
            return -1;
        char fd[600];
        files_detail(fd, sizeof(fd), days[STORE_KEEP_AUDIO], age, &f, d->checked);
        if (log_row(s, now, c->id, c->source, c->rec, "audio", "retention", fd) != 0)
            return -1;
    }
    return 0;
}

/* A call in a transaction of its own: f's work kept unless dry or failed. */
typedef int (*call_fn)(store *s, void *arg, store_deletion *d);
static int call_tx(store *s, bool dry, call_fn f, void *arg, store_deletion *d)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (db_begin(s->d) != DB_OK) {
        store__fail(s, "starting a transaction");
    } else if ((rc = f(s, arg, d)) != 0 || dry) {
        db_rollback(s->d);
    } else if (store__kill_point("commit", "purge"), db_commit(s->d) != DB_OK) {
        rc = store__fail(s, "committing");
        db_rollback(s->d);
    }
    if (rc != 0)
        snprintf(d->error, sizeof(d->error), "%s", s->err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

typedef struct purge_arg {
    const store_retention *r;
    const store_file_roots *roots;
    const call_row *c;
    double now;
    bool dry;
} purge_arg;

static int purge_fn(store *s, void *arg, store_deletion *d)
{
    purge_arg *a = arg;
    return purge_one(s, a->r, a->roots, a->c, a->now, a->dry, d);
}

static void total(store_purge_totals *t, const store_deletion *d)
{
    t->calls++;
    t->failed += d->status != 0;
    if (d->status == 0) {
        t->rows += d->rows;
        t->search_rows += d->search_rows;
        t->files += d->files;
        t->quotes += d->quotes;
    }
}

/* A page of calls older than `before`, after `after_id`. */
static int read_calls(store *s, double before, int64_t after_id, call_row *out, int *n)
{
    *n = 0;
    db_stmt *st = store__begin(
        s, R_CANDIDATES,
        "SELECT id, source, recording_id, COALESCE(campaign_id, ''), COALESCE(call_epoch, created) "
        "FROM calls WHERE id > $1 AND COALESCE(call_epoch, created) <= $2 ORDER BY id LIMIT $3");
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_double(st, 2, before);
    db_bind_int(st, 3, PAGE);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < PAGE) {
        call_row *c = &out[(*n)++];
        c->id = db_col_int(st, 0);
        store__col_copy(st, 1, c->source, sizeof(c->source));
        store__col_copy(st, 2, c->rec, sizeof(c->rec));
        store__col_copy(st, 3, c->campaign, sizeof(c->campaign));
        c->t = db_col_double(st, 4);
    }
    int res = rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, "reading the calls");
    store__end(s, st);
    return res;
}

int store_purge_step(store *s, const store_retention *r, const store_file_roots *roots, double now,
                     bool dry_run, double budget_sec, int64_t *cursor, store_deletion_fn fn,
                     void *user, store_purge_totals *tot)
{
    int min_days = shortest(r);
    if (min_days <= 0) {
        *cursor = 0;
        return 0;
    }
    double before = now - min_days * 86400.0, t0 = cq_clock_mono_sec();
    call_row *page = calloc(PAGE, sizeof(*page));
    if (!page) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    int64_t after = *cursor;
    int res = 0, n = 0;
    bool more = true;
    while (more && (res = read_calls(s, before, after, page, &n)) == 0) {
        more = n == PAGE;
        for (int i = 0; i < n; i++) {
            const call_row *c = &page[i];
            after = c->id;
            store_deletion d;
            memset(&d, 0, sizeof(d));
            d.call_id = c->id;
            snprintf(d.source, sizeof(d.source), "%s", c->source);
            snprintf(d.recording_id, sizeof(d.recording_id), "%s", c->rec);
            snprintf(d.campaign_id, sizeof(d.campaign_id), "%s", c->campaign);
            d.age_days = (now - c->t) / 86400.0;
            purge_arg a = {r, roots, c, now, dry_run};
            /* reads first, outside a transaction: most calls have nothing due, and a write
             * transaction (SQLite: the whole store's lock) is taken only for those that do */
            store_deletion pre = d;
            pthread_mutex_lock(&s->mu);
            int pr = purge_one(s, r, roots, c, now, true, &pre);
            pthread_mutex_unlock(&s->mu);
            if (pr == 0 && pre.kinds) {
                d.status = call_tx(s, dry_run, purge_fn, &a, &d);
                if (d.status != 0)
                    d.kinds = 0, d.rows = d.search_rows = 0, d.files = d.quotes = d.llm_texts = 0;
            } else if (pr != 0) {
                d.status = -1;
                snprintf(d.error, sizeof(d.error), "%s", s->err);
            }
            if (d.kinds || d.status != 0) {
                total(tot, &d);
                if (fn)
                    fn(user, &d);
            }
            if (budget_sec > 0 && cq_clock_mono_sec() - t0 >= budget_sec) {
                more = i + 1 < n || more;
                goto out;
            }
        }
    }
out:
    free(page);
    *cursor = res == 0 && more ? after : 0;
    return res;
}

int store_purge(store *s, const store_retention *r, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    int64_t cursor = 0;
    int rc = store_purge_step(s, r, roots, now, dry_run, 0, &cursor, fn, user, tot);
    return rc != 0 || tot->failed ? -1 : 0;
}

/* ---- erasure -------------------------------------------------------------------------------- */

int store_phone_digits(const char *phone, char out[24])
{
    size_t n = 0;
    for (const char *p = phone ? phone : ""; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n >= 20)
                return -1;
            out[n++] = *p;
        } else if (!strchr(" -.()", *p) && !(*p == '+' && n == 0)) {
            return -1;
        }
    }
    out[n] = 0;
    return n >= 6 ? 0 : -1;
}

/* Does the file name (the part after the last '/' or ':') hold a run of exactly these
 * digits? */
static bool name_has_number(const char *path, const char *digits)
{
    if (!path || !*path)
        return false;
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == ':')
            base = p + 1;
    size_t dn = strlen(digits);
    for (const char *p = base; *p;) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *b = p;
        while (isdigit((unsigned char)*p))
            p++;
        if ((size_t)(p - b) == dn && !strncmp(b, digits, dn))
            return true;
    }
    return false;
}

/* Does one of the call's file columns name a file whose name carries the number? */
static int call_has_number(store *s, int64_t call, const char *digits, bool *has)
{
    *has = false;
    for (int k = 0; k < STORE_FILE_KINDS && !*has; k++) {
        if (store__file_def_of((store_file_kind)k)->from != STORE__FROM_COLUMN)
            continue;
        db_stmt *st = file_stmt(s, (store_file_kind)k, false);
        if (!st)
            return -1;
        db_bind_int(st, 1, call);
        int rc = db_step(st);
        if (rc == DB_ROW)
            *has = name_has_number(db_col_text(st, 0), digits);
        db_reset(st);
        if (rc != DB_ROW && rc != DB_DONE)
            return store__fail(s, "reading a call's files");
    }
    return 0;
}

typedef struct erase_arg {
    int64_t call;
    const store_file_roots *roots;
    double now;
    bool dry;
} erase_arg;

static const struct {
    int key;
    const char *sql;
} k_erase_del[] = {
    {R_DEL_OVR, "DELETE FROM score_overrides WHERE call_id = $1"},
    {R_DEL_SCORES, "DELETE FROM scores WHERE call_id = $1"},
    {R_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1"},
    {R_DEL_ANALYSES, "DELETE FROM analyses WHERE call_id = $1"},
    {R_DEL_LLM_ALL, "DELETE FROM llm_calls WHERE call_id = $1"},
    {R_DEL_EVENTS, "DELETE FROM job_events WHERE call_id = $1"},
    {R_DEL_JOBS, "DELETE FROM jobs WHERE call_id = $1"},
    {R_REC_DEL_ALL, "DELETE FROM call_files WHERE call_id = $1"},
    {R_DEL_CALL, "DELETE FROM calls WHERE id = $1"},
};

#define CALL_LEFT_SQL                                                                              \
    "SELECT (SELECT COUNT(*) FROM calls WHERE id = $1) + (SELECT COUNT(*) FROM jobs WHERE "        \
    "call_id = $1) + (SELECT COUNT(*) FROM analyses WHERE call_id = $1) + (SELECT COUNT(*) FROM "  \
    "call_envelopes WHERE call_id = $1) + (SELECT COUNT(*) FROM transcripts WHERE call_id = $1) "  \
    "+ (SELECT COUNT(*) FROM scores WHERE call_id = $1) + (SELECT COUNT(*) FROM score_overrides "  \
    "WHERE call_id = $1) + (SELECT COUNT(*) FROM llm_calls WHERE call_id = $1) + (SELECT "         \
    "COUNT(*) FROM job_events WHERE call_id = $1)"

static int erase_fn(store *s, void *arg, store_deletion *d)
{
    erase_arg *a = arg;
    int64_t call = a->call;
    int lk = lock_call(s, call);
    if (lk <= 0)
        return lk;
    store__call_row row;
    int rc = store__call_row_get(s, call, &row);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return store__fail(s, "reading a call");
    snprintf(d->source, sizeof(d->source), "%s", row.key.source);
    snprintf(d->recording_id, sizeof(d->recording_id), "%s", row.recording_id);
    snprintf(d->campaign_id, sizeof(d->campaign_id), "%s", row.key.campaign);
    d->age_days = (a->now - row.t) / 86400.0;
    store__rollup_key key = row.key;
    static _Thread_local call_files f;
    char *text = NULL;
    if (files_of(s, call, a->roots, &f) != 0 || tx_text(s, call, &text) != 0)
        return -1;
    words w;
    words_of(text, &w);
    free(text);
    d->files = f.del;
    d->files_kept = f.kept;
    for (int k = 0; k < STORE_FILE_KINDS; k++) {
        d->deleted_kind[k] = f.del_kind[k];
        d->kept_kind[k] = f.kept_kind[k];
    }
    d->erased = true;
    d->kinds = (1u << STORE_KEEP_N) - 1;
    int64_t gone_fts = fts_delete(s, call);
    int64_t gone_tx = gone_fts < 0
                          ? -1
                          : del_call(s, R_TX_DEL, "DELETE FROM transcripts WHERE call_id = $1",
                                     call, "deleting a transcript");
    if (gone_tx < 0)
        return -1;
    d->rows = gone_fts + gone_tx;
    d->search_rows = gone_fts;
    for (size_t i = 0; i < sizeof(k_erase_del) / sizeof(k_erase_del[0]); i++) {
        int64_t n = del_call(s, k_erase_del[i].key, k_erase_del[i].sql, call, "erasing a call");
        if (n < 0)
            return -1;
        d->rows += n;
    }
    if (store__rollup_group(s, &key) != 0)
        return -1;
    /* the log of earlier deletions of the call keeps its number only */
    db_stmt *fg = get(s, R_LOG_FORGET,
                      "UPDATE deletions SET source = NULL, recording_id = NULL WHERE call_id = $1");
    if (!fg)
        return -1;
    db_bind_int(fg, 1, call);
    rc = db_step(fg);
    db_reset(fg);
    if (rc != DB_DONE)
        return store__fail(s, "updating the deletions' log");
    int64_t left = count1(s, R_CALL_LEFT, CALL_LEFT_SQL, call, NULL, NULL, 0);
    int64_t left_fts = fts_count(s, call, 1), found = search_finds(s, call, &w);
    if (left != 0 || left_fts != 0 || found != 0) {
        if (left >= 0 && left_fts >= 0 && found >= 0)
            snprintf(s->err, sizeof(s->err),
                     "the call is still there after erasure (%" PRId64 " rows, %" PRId64
                     " search rows, %" PRId64 " words found)",
                     left, left_fts, found);
        return -1;
    }
    if (a->dry)
        return 0;
    if (delete_files(s, call, a->roots, &f, &d->checked) != 0)
        return -1;
    char det[200];
    snprintf(det, sizeof(det),
             "{\"rows\":%" PRId64 ",\"search_rows\":%" PRId64
             ",\"files\":%d,\"kept\":%d,\"checked\":%d,\"verified\":true}",
             d->rows, d->search_rows, d->files, d->files_kept, d->checked);
    return log_row(s, a->now, call, NULL, NULL, "call", "erasure", det);
}

/* The service's stored results (calls of no source) whose file name carries the number. */
typedef struct result_arg {
    int64_t id;
    double now;
    bool dry;
} result_arg;

static int result_fn(store *s, void *arg, store_deletion *d)
{
    result_arg *a = arg;
    int64_t n = del_call(s, R_RESULT_DEL, "DELETE FROM analyses WHERE id = $1 AND call_id IS NULL",
                         a->id, "erasing a stored result");
    if (n < 0)
        return -1;
    if (count1(s, R_RESULT_LEFT, "SELECT COUNT(*) FROM analyses WHERE id = $1", a->id, NULL, NULL,
               0) != 0) {
        snprintf(s->err, sizeof(s->err), "the stored result is still there after erasure");
        return -1;
    }
    d->rows = n;
    d->erased = true;
    if (a->dry || n == 0)
        return 0;
    return log_row(s, a->now, 0, NULL, NULL, "result", "erasure", "{\"rows\":1,\"verified\":true}");
}

/* Ids of one statement's first column (with $1 text bound, when given), into a growing array. */
static int ids_of(store *s, int key, const char *sql, const char *p1, bool with_text, int64_t **ids,
                  char (**texts)[1100], int *n)
{
    *ids = NULL;
    if (texts)
        *texts = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    if (p1)
        db_bind_text(st, 1, p1);
    int cap = 0, rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *ni = realloc(*ids, (size_t)cap * sizeof(**ids));
            if (ni)
                *ids = ni;
            char(*nt)[1100] = with_text ? realloc(*texts, (size_t)cap * sizeof(**texts)) : NULL;
            if (nt)
                *texts = nt;
            if (!ni || (with_text && !nt)) {
                snprintf(s->err, sizeof(s->err), "out of memory");
                res = -1;
                break;
            }
        }
        (*ids)[*n] = db_col_int(st, 0);
        if (with_text)
            store__col_copy(st, 1, (*texts)[*n], sizeof((*texts)[*n]));
        (*n)++;
    }
    if (res == 0 && rc != DB_DONE)
        res = store__fail(s, "reading the calls");
    store__end(s, st);
    return res;
}

int store_erase(store *s, const store_erase_who *who, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    char digits[24] = "";
    if (who->phone && store_phone_digits(who->phone, digits) != 0) {
        snprintf(s->err, sizeof(s->err), "the phone number must be 6 to 20 digits");
        return -1;
    }
    if (!who->phone == !(who->lead_id && *who->lead_id)) {
        snprintf(s->err, sizeof(s->err), "one of a lead id and a phone number is needed");
        return -1;
    }
    int64_t *ids = NULL;
    int n = 0;
    int res = who->phone
                  ? ids_of(s, R_ERASE_IDS, "SELECT id FROM calls ORDER BY id", NULL, false, &ids,
                           NULL, &n)
                  : ids_of(s, R_ERASE_LEAD, "SELECT id FROM calls WHERE lead_id = $1 ORDER BY id",
                           who->lead_id, false, &ids, NULL, &n);
    for (int i = 0; res == 0 && i < n; i++) {
        if (who->phone) {
            bool has = false;
            pthread_mutex_lock(&s->mu);
            int r2 = call_has_number(s, ids[i], digits, &has);
            pthread_mutex_unlock(&s->mu);
            if (r2 != 0) {
                res = -1;
                break;
            }
            if (!has)
                continue;
        }
        store_deletion d;
        memset(&d, 0, sizeof(d));
        d.call_id = ids[i];
        erase_arg a = {ids[i], roots, now, dry_run};
        d.status = call_tx(s, dry_run, erase_fn, &a, &d);
        if (d.status != 0)
            d.rows = d.search_rows = 0, d.files = 0;
        if (d.erased || d.status != 0) {
            total(tot, &d);
            if (fn)
                fn(user, &d);
        }
    }
    free(ids);
    if (res == 0 && who->phone) {
        char(*files)[1100] = NULL;
        res = ids_of(s, R_RESULT_SCAN,
                     "SELECT id, file FROM analyses WHERE call_id IS NULL ORDER BY id", NULL, true,
                     &ids, &files, &n);
        for (int i = 0; res == 0 && i < n; i++) {
            if (!name_has_number(files[i], digits))
                continue;
            store_deletion d;
            memset(&d, 0, sizeof(d));
            result_arg a = {ids[i], now, dry_run};
            d.status = call_tx(s, dry_run, result_fn, &a, &d);
            if (d.status != 0)
                d.rows = 0;
            total(tot, &d);
            if (fn)
                fn(user, &d);
        }
        free(files);
        free(ids);
    }
    return res != 0 || tot->failed ? -1 : 0;
}

/* ---- the files' writers, and what a deletion leaves ----------------------------------------- */

int store__file_record(store *s, int64_t call_id, store_file_kind k, const char *path, double now)
{
    char real[PATH_MAX];
    if (call_id <= 0 || k < 0 || k >= STORE_FILE_KINDS || canon(path, real) != 0) {
        snprintf(s->err, sizeof(s->err), "recording a file: no call, or a path without a folder");
        return -1;
    }
    db_stmt *st = get(s, R_REC_PUT,
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

int store_audio_deleted(store *s, int64_t call_id)
{
    db_stmt *st = store__begin(s, R_AUDIO_GONE,
                               "SELECT COUNT(*) FROM deletions WHERE call_id = $1 AND what = "
                               "'audio'");
    if (!st)
        return -1;
    db_bind_int(st, 1, call_id);
    int rc = db_step(st);
    int res = rc == DB_ROW ? db_col_int(st, 0) > 0 : store__fail(s, "reading the deletions");
    store__end(s, st);
    return res;
}

int store_scrub(store *s, bool search, char *msg, size_t n)
{
    if (is_pg(s))
        return 0; /* dead rows and WAL: docs/privacy.md, "What a deletion leaves behind" */
    if (search) {
        db_stmt *st = store__begin(s, R_SCRUB_FTS,
                                   "INSERT INTO transcript_fts(transcript_fts) VALUES('optimize')");
        if (!st)
            return snprintf(msg, n, "%s", s->err), -1;
        int rc = db_step(st);
        store__end(s, st);
        if (rc != DB_DONE) {
            snprintf(msg, n, "rewriting the search index: %s", db_errmsg(s->d));
            return -1;
        }
    }
    db_stmt *st = store__begin(s, R_SCRUB_WAL, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st)
        return snprintf(msg, n, "%s", s->err), -1;
    int rc = db_step(st);
    int64_t busy = rc == DB_ROW ? db_col_int(st, 0) : -1;
    store__end(s, st);
    if (busy != 0) {
        snprintf(msg, n,
                 "the write-ahead log could not be emptied (%s): another connection is reading; "
                 "run the command again when it is idle",
                 busy < 0 ? db_errmsg(s->d) : "busy");
        return -1;
    }
    return 0;
}
