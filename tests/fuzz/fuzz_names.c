/*
 * fuzz_names.c - libFuzzer harness over what a request or an operator can name: recording
 * file names (svc_check_file) and the candidates built from accepted ones, recording-server
 * specs (NAME=URL), the config file parser and the route table's dispatch (a method, a space,
 * a path). Oracles: an accepted file name never holds a path, "..", '%' or a leading '.', and
 * every candidate stays inside ORIG/ or MP3/ or the base; a route found is the route of that
 * method, and its path parameter is a non-empty last segment of the path.
 * The first byte picks the parser; the rest is its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/service/svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_candidate(const char *rel)
{
    const char *p = rel;
    if (!strncmp(p, "ORIG/", 5))
        p += 5;
    else if (!strncmp(p, "MP3/", 4))
        p += 4;
    if (strchr(p, '/') || strstr(rel, "..") || strchr(rel, '%') || p[0] == '.')
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    svc_config c;
    svc_config_defaults(&c);
    char msg[1200];
    switch (data[0] % 4) {
    case 0: {
        const char *why = NULL;
        if (svc_check_file(s, &why) == 0) {
            if (strchr(s, '/') || strstr(s, "..") || strchr(s, '%') || s[0] == '.' || !*s)
                __builtin_trap();
            svc_candidate cand[4];
            int n = svc_candidates(s, cand, 4);
            if (n < 1 || n > 4)
                __builtin_trap();
            for (int i = 0; i < n; i++) {
                check_candidate(cand[i].rel[0]);
                if (cand[i].rel[1][0])
                    check_candidate(cand[i].rel[1]);
            }
        } else if (!why) {
            __builtin_trap();
        }
        break;
    }
    case 1:
        if (svc_config_add_server(&c, s, msg, sizeof(msg)) == 0) {
            const svc_server *sv = &c.servers[0];
            if (strncmp(sv->base, "http://", 7) && strncmp(sv->base, "https://", 8))
                __builtin_trap();
            if (!sv->host[0] || strpbrk(sv->host, "/?#@"))
                __builtin_trap();
        }
        break;
    case 2: {
        char *sp = strchr(s, ' ');
        const char *method = sp ? s : "GET", *path = sp ? sp + 1 : s;
        if (sp)
            *sp = 0;
        const char *param = NULL;
        bool known = false;
        const svc_route *r = svc_route_find(method, path, &param, &known);
        if (r && (strcmp(r->method, method) || known))
            __builtin_trap();
        if (r && param && (param < path || !*param || strchr(param, '/') ||
                           strncmp(r->path, path, (size_t)(param - path))))
            __builtin_trap();
        if (r && !param && strcmp(r->path, path))
            __builtin_trap();
        break;
    }
    default: {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/callqa-fuzz-config-%d", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(s, 1, size - 1, f);
            fclose(f);
            (void)svc_config_load_file(&c, path, msg, sizeof(msg));
            unlink(path);
        }
        break;
    }
    }
    free(s);
    return 0;
}
