/*
 * plan.c - turn command-line paths (files and directories) into a list of calls.
 *
 * Directories are walked recursively for audio files. ViciDial names are grouped: NAME-all.*
 * is one call (its legs are found at analysis time by cq_legs_resolve, and leg files it will
 * use are not analysed again on their own); NAME-in.* with NAME-out.* in the same list is one
 * two-leg call. Everything else is one call per file. Order: as given, directories sorted.
 */
#define _GNU_SOURCE
#include "plan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "callqa/cq_legs.h"

static const char *const k_exts[] = {".wav", ".mp3", ".gsm",  ".flac", ".ogg", ".oga", ".opus",
                                     ".au",  ".aif", ".aiff", ".w64",  ".caf", ".wave"};

static int is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof(k_exts) / sizeof(k_exts[0]); i++)
        if (!strcasecmp(dot, k_exts[i]))
            return 1;
    return 0;
}

static int push_path(plan_paths *pp, const char *path)
{
    if (pp->n == pp->cap) {
        size_t nc = pp->cap ? pp->cap * 2 : 64;
        char **np = realloc(pp->v, nc * sizeof(*np));
        if (!np)
            return -1;
        pp->v = np;
        pp->cap = nc;
    }
    pp->v[pp->n] = strdup(path);
    if (!pp->v[pp->n])
        return -1;
    pp->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect audio files under `dir` (sorted, recursive, depth-bounded). */
static int walk(plan_paths *pp, const char *dir, int depth, FILE *errf)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(errf, "callqa: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    plan_paths local = {0};
    struct dirent *de;
    int bad = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = NULL;
        if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name) < 0) {
            closedir(d);
            plan_paths_free(&local);
            return -1;
        }
        if (push_path(&local, p) < 0) {
            free(p);
            closedir(d);
            plan_paths_free(&local);
            return -1;
        }
        free(p);
    }
    closedir(d);
    qsort(local.v, local.n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < local.n && bad >= 0; i++) {
        struct stat st;
        if (stat(local.v[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int r = walk(pp, local.v[i], depth + 1, errf);
            bad = r < 0 ? -1 : bad + r;
        } else if (S_ISREG(st.st_mode) && is_audio_name(local.v[i])) {
            if (push_path(pp, local.v[i]) < 0)
                bad = -1;
        }
    }
    plan_paths_free(&local);
    return bad;
}

void plan_paths_free(plan_paths *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        free(pp->v[i]);
    free(pp->v);
    memset(pp, 0, sizeof(*pp));
}

int plan_expand(plan_paths *out, char *const *args, int n, FILE *errf)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            int r = walk(out, args[i], 0, errf);
            if (r < 0)
                return -1;
            bad += r;
        } else if (push_path(out, args[i]) < 0) {
            return -1; /* missing files stay in the list: the call reports them */
        }
    }
    return bad;
}

static void canon(const char *path, char *buf)
{
    if (!realpath(path, buf))
        snprintf(buf, PATH_MAX, "%s", path);
}

int plan_calls(const plan_paths *pp, plan_call **out, size_t *n_out)
{
    size_t n = pp->n;
    plan_call *calls = calloc(n ? n : 1, sizeof(*calls));
    char(*real)[PATH_MAX] = calloc(n ? n : 1, PATH_MAX);
    unsigned char *used = calloc(n ? n : 1, 1);
    if (!calls || !real || !used) {
        free(calls), free(real), free(used);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        canon(pp->v[i], real[i]);
    size_t nc = 0;
    /* NAME-all: the legs it resolves to are not separate calls */
    for (size_t i = 0; i < n; i++) {
        if (cq_legs_vicidial_kind(pp->v[i], NULL) != 'a')
            continue;
        cq_legs_resolved r;
        if (cq_legs_resolve(pp->v[i], &r, NULL) == CQ_OK && r.in_path) {
            char a[PATH_MAX], b[PATH_MAX];
            canon(r.in_path, a);
            canon(r.out_path, b);
            for (size_t j = 0; j < n; j++)
                if (!strcmp(real[j], a) || !strcmp(real[j], b))
                    used[j] = 1;
        }
        cq_legs_resolved_free(&r);
    }
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        size_t stem = 0;
        int kind = cq_legs_vicidial_kind(real[i], &stem);
        if (kind == 'i' || kind == 'o') {
            /* the partner: same stem, other kind, not used yet */
            for (size_t j = 0; j < n; j++) {
                size_t stem2 = 0;
                if (j == i || used[j])
                    continue;
                int k2 = cq_legs_vicidial_kind(real[j], &stem2);
                if (k2 == (kind == 'i' ? 'o' : 'i') && stem2 == stem &&
                    !strncmp(real[i], real[j], stem)) {
                    calls[nc].in = pp->v[kind == 'i' ? i : j];
                    calls[nc].out = pp->v[kind == 'i' ? j : i];
                    used[i] = used[j] = 1;
                    nc++;
                    break;
                }
            }
            if (used[i])
                continue;
        }
        calls[nc++].path = pp->v[i];
        used[i] = 1;
    }
    free(real);
    free(used);
    *out = calls;
    *n_out = nc;
    return 0;
}
