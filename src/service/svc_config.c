/*
 * svc_config.c - the service's settings: defaults, `NAME=URL` recording servers, one
 * key = value config file, CALLQA_* environment overrides, the bearer token file
 * (docs/config.md lists every setting).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svc.h"

void svc_config_defaults(svc_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->db_path, sizeof(c->db_path), "callqa.db");
    c->auth = true;
    c->max_body = 100u << 20;
    c->max_duration_sec = 4 * 3600.0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->max_concurrent = cpus > 0 ? (int)cpus : 2;
    c->threads = c->max_concurrent;
    c->max_queue = 32;
    c->request_timeout_sec = 300;
    c->analysis_timeout_sec = 300;
    c->upload_timeout_sec = 120;
    c->isolate = true;
    c->fetch_timeout_sec = 60;
    c->fetch_connect_sec = 5;
    c->max_recording = 200u << 20;
    c->freshness_sec = 60;
    const char *t = getenv("TMPDIR");
    snprintf(c->tmp_dir, sizeof(c->tmp_dir), "%s", t && *t ? t : "/tmp");
}

static int err(char *msg, size_t n, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, n, fmt, a, b ? b : "");
    return -1;
}

int svc_config_add_server(svc_config *c, const char *spec, char *msg, size_t msgsz)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || eq - spec > 64)
        return err(msg, msgsz, "recording server '%s': expected NAME=URL%s", spec, NULL);
    if (c->n_servers == SVC_MAX_SERVERS)
        return err(msg, msgsz, "recording server '%s': more than 64 servers%s", spec, NULL);
    svc_server *s = &c->servers[c->n_servers];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, spec, (size_t)(eq - spec));
    for (const char *p = s->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return err(msg, msgsz, "recording server name '%s': use [A-Za-z0-9_-]%s", s->name, NULL);
    if (svc_find_server(c, s->name))
        return err(msg, msgsz, "recording server '%s' given twice%s", s->name, NULL);
    const char *url = eq + 1;
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip)
        return err(msg, msgsz, "recording server '%s': the URL must start with http:// or "
                               "https://%s", s->name, NULL);
    size_t hl = strcspn(url + skip, "/:?#");
    if (hl == 0 || hl >= sizeof(s->host) || strpbrk(url, "?#@ \t"))
        return err(msg, msgsz, "recording server '%s': bad URL '%s'", s->name, url);
    memcpy(s->host, url + skip, hl);
    snprintf(s->base, sizeof(s->base), "%s", url);
    size_t bl = strlen(s->base);
    while (bl > skip && s->base[bl - 1] == '/')
        s->base[--bl] = 0;
    c->n_servers++;
    return 0;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

/* One setting by its key (file) name. */
static int set_key(svc_config *c, const char *k, const char *v, char *msg, size_t msgsz)
{
    double d;
    struct {
        const char *key;
        double lo, hi;
        int kind; /* 0 double sec, 1 int, 2 size MiB */
        void *dst;
    } nums[] = {
        {"port", 1, 65535, 1, &c->listen_port},
        {"max_body_mb", 1, 1 << 20, 2, &c->max_body},
        {"max_duration_sec", 1, 86400 * 7, 0, &c->max_duration_sec},
        {"max_concurrent", 1, 256, 1, &c->max_concurrent},
        {"max_queue", 0, 100000, 1, &c->max_queue},
        {"request_timeout_sec", 1, 86400, 0, &c->request_timeout_sec},
        {"analysis_timeout_sec", 0.1, 86400, 0, &c->analysis_timeout_sec},
        {"upload_timeout_sec", 0.1, 86400, 0, &c->upload_timeout_sec},
        {"fetch_timeout_sec", 1, 86400, 0, &c->fetch_timeout_sec},
        {"fetch_connect_sec", 1, 600, 0, &c->fetch_connect_sec},
        {"max_recording_mb", 1, 1 << 20, 2, &c->max_recording},
        {"freshness_sec", 0, 86400 * 365, 0, &c->freshness_sec},
        {"threads", 1, 256, 1, &c->threads},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(k, nums[i].key))
            continue;
        if (parse_num(v, nums[i].lo, nums[i].hi, &d))
            return err(msg, msgsz, "%s: '%s' is out of range", k, v);
        if (nums[i].kind == 0)
            *(double *)nums[i].dst = d;
        else if (nums[i].kind == 1)
            *(int *)nums[i].dst = (int)d;
        else
            *(size_t *)nums[i].dst = (size_t)(d * 1048576.0);
        return 0;
    }
    struct {
        const char *key;
        char *dst;
        size_t n;
    } strs[] = {
        {"listen", c->listen_addr, sizeof(c->listen_addr)},
        {"db", c->db_path, sizeof(c->db_path)},
        {"token_file", c->token_file, sizeof(c->token_file)},
        {"model_dir", c->model_dir, sizeof(c->model_dir)},
        {"tmp_dir", c->tmp_dir, sizeof(c->tmp_dir)},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(k, strs[i].key))
            continue;
        if (strlen(v) >= strs[i].n)
            return err(msg, msgsz, "%s: '%s' is too long", k, v);
        snprintf(strs[i].dst, strs[i].n, "%s", v);
        return 0;
    }
    if (!strcmp(k, "auth") || !strcmp(k, "auth_metrics") || !strcmp(k, "isolate")) {
        bool on = !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes");
        if (!on && strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "no"))
            return err(msg, msgsz, "%s: expected true or false, not '%s'", k, v);
        *(!strcmp(k, "isolate") ? &c->isolate : k[4] ? &c->auth_metrics : &c->auth) = on;
        return 0;
    }
    if (!strcmp(k, "recording_server"))
        return svc_config_add_server(c, v, msg, msgsz);
    return err(msg, msgsz, "unknown setting '%s'%s", k, NULL);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int svc_config_load_file(svc_config *c, const char *path, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err(msg, msgsz, "%s: %s", path, strerror(errno));
    char line[2048];
    int no = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        no++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(msg, msgsz, "%s:%d: expected key = value", path, no);
            rc = -1;
            break;
        }
        *eq = 0;
        char m[512];
        if (set_key(c, trim(s), trim(eq + 1), m, sizeof(m))) {
            snprintf(msg, msgsz, "%s:%d: %s", path, no, m);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int svc_config_load_env(svc_config *c, char *msg, size_t msgsz)
{
    static const char *const keys[] = {"listen", "port", "db", "token_file", "model_dir",
                                       "tmp_dir", "auth", "auth_metrics", "max_body_mb",
                                       "max_duration_sec", "max_concurrent", "max_queue",
                                       "request_timeout_sec", "analysis_timeout_sec",
                                       "upload_timeout_sec", "isolate", "fetch_timeout_sec",
                                       "fetch_connect_sec", "max_recording_mb",
                                       "freshness_sec", "threads"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char env[64] = "CALLQA_";
        for (size_t k = 0; keys[i][k] && k < 50; k++)
            env[7 + k] = (char)toupper((unsigned char)keys[i][k]), env[8 + k] = 0;
        const char *v = getenv(env);
        if (v && set_key(c, keys[i], v, msg, msgsz))
            return -1;
    }
    return 0;
}

int svc_config_read_token(svc_config *c, char *msg, size_t msgsz)
{
    if (!c->token_file[0])
        return err(msg, msgsz, "authentication is on but no token_file is set (or run with "
                               "--no-auth on a trusted network)%s%s", "", NULL);
    struct stat st;
    FILE *f = fopen(c->token_file, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return err(msg, msgsz, "%s: %s", c->token_file, strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        fclose(f);
        return err(msg, msgsz, "%s: the token file must be a regular file of mode 0600 (others "
                               "must not read it)%s", c->token_file, NULL);
    }
    char buf[512];
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = 0;
    char *t = trim(buf);
    if (strlen(t) < 16 || strlen(t) >= sizeof(c->token))
        return err(msg, msgsz, "%s: the token must be 16 to 255 characters%s", c->token_file, NULL);
    snprintf(c->token, sizeof(c->token), "%s", t);
    return 0;
}
