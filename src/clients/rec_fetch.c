/*
 * rec_fetch.c - recordings from ViciDial-style recording servers (libcurl).
 *
 * Only the configured base URLs are contacted: the request names a server and a file, both
 * checked (rec_names.c) before a URL is built; redirects are not followed; only http and
 * https. Each file streams to a temporary file (mkstemp in tmp_dir) with a size cap, a
 * connect timeout, a total timeout and a stall limit; temporary files are removed on every
 * path (rec_fetched_cleanup), and those of a process that died before it could, by
 * rec_tmp_sweep (their names carry their process id). An HTML answer (an error page served
 * with 200) is refused.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include "cl_http.h"
#include "recording.h"

static void hex_of(const uint8_t d[SHA256_DIGEST_SIZE], char out[65])
{
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha256_text(const char *s, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(s), (const uint8_t *)s);
    sha256_digest(&ctx, sizeof(d), d);
    hex_of(d, out);
}

static int sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE], buf[65536];
    size_t n;
    sha256_init(&ctx);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sha256_update(&ctx, n, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    sha256_digest(&ctx, sizeof(d), d);
    hex_of(d, out);
    return 0;
}

void rec_fetch_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct sink {
    FILE *f;
    size_t got, max;
    int too_large;
    unsigned char head[8];
    size_t nhead;
} sink;

static size_t on_data(char *p, size_t sz, size_t n, void *user)
{
    sink *s = user;
    size_t len = sz * n;
    if (s->got + len > s->max) {
        s->too_large = 1;
        return 0; /* aborts the transfer */
    }
    for (size_t i = 0; i < len && s->nhead < sizeof(s->head); i++)
        s->head[s->nhead++] = (unsigned char)p[i];
    s->got += len;
    if (s->f && fwrite(p, 1, len, s->f) != len)
        return 0;
    return len;
}

typedef struct hdrs {
    char etag[200], last_modified[100], content_type[100];
} hdrs;

static size_t on_header(char *p, size_t sz, size_t n, void *user)
{
    hdrs *h = user;
    size_t len = sz * n;
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } want[] = {{"etag:", h->etag, sizeof(h->etag)},
                {"last-modified:", h->last_modified, sizeof(h->last_modified)},
                {"content-type:", h->content_type, sizeof(h->content_type)}};
    for (size_t i = 0; i < 3; i++) {
        size_t kl = strlen(want[i].name);
        if (len > kl && !strncasecmp(p, want[i].name, kl)) {
            const char *v = p + kl;
            size_t vl = len - kl;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            if (vl >= want[i].cap)
                vl = want[i].cap - 1;
            memcpy(want[i].dst, v, vl);
            want[i].dst[vl] = 0;
        }
    }
    return len;
}

/* One GET. path: where the body goes (NULL: discarded). Returns the HTTP status, or -1 with
 * *st set to the failure. */
static long get_one(const cfg_settings *c, const char *url, const char *path, const char *inm,
                    const char *ims, hdrs *h, size_t *bytes, rec_fetch_status *st, char *msg,
                    size_t msgsz)
{
    CURL *k = curl_easy_init();
    if (!k) {
        *st = REC_FETCH_INTERNAL;
        snprintf(msg, msgsz, "cannot start a transfer");
        return -1;
    }
    sink s = {.max = c->max_recording};
    if (path && !(s.f = fopen(path, "wb"))) {
        curl_easy_cleanup(k);
        *st = REC_FETCH_INTERNAL;
        snprintf(msg, msgsz, "temporary file: %s", strerror(errno));
        return -1;
    }
    memset(h, 0, sizeof(*h));
    struct curl_slist *hl = NULL;
    char line[400];
    if (inm && *inm) {
        snprintf(line, sizeof(line), "If-None-Match: %s", inm);
        hl = curl_slist_append(hl, line);
    }
    if (ims && *ims) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", ims);
        hl = curl_slist_append(hl, line);
    }
    cl_http_base(k, url); /* no redirects, http(s) only, no proxy from the environment */
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->fetch_connect_sec * 1000));
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)(c->fetch_timeout_sec * 1000));
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* a stalled server: < 1 KiB/s */
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, 10L);
    curl_easy_setopt(k, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_recording);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, h);
    long code;
    CURLcode rc = cl_http_perform(k, hl, &code);
    if (s.f && fclose(s.f) != 0 && rc == CURLE_OK) {
        *st = REC_FETCH_INTERNAL;
        snprintf(msg, msgsz, "temporary file: %s", strerror(errno));
        return -1;
    }
    *bytes = s.got;
    if (rc == CURLE_OK && code == 200 &&
        (strncasecmp(h->content_type, "text/html", 9) == 0 ||
         (s.nhead && (s.head[0] == '<' ||
                      (s.nhead >= 5 && !strncasecmp((const char *)s.head, "<!doc", 5)))))) {
        *st = REC_FETCH_BAD_UPSTREAM;
        snprintf(msg, msgsz, "%s answered with an HTML page, not a recording", url);
        return -1;
    }
    if (rc == CURLE_OK)
        return code;
    if (s.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        *st = REC_FETCH_TOO_LARGE;
        snprintf(msg, msgsz, "%s is larger than the %zu MiB limit", url, c->max_recording >> 20);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        *st = REC_FETCH_TIMEOUT;
        snprintf(msg, msgsz, "%s: the recording server did not answer in time", url);
    } else {
        *st = REC_FETCH_BAD_UPSTREAM;
        snprintf(msg, msgsz, "%s: %s", url, curl_easy_strerror(rc));
    }
    return -1;
}

/* Every line "rel\tetag\tlast-modified" has an ETag or a Last-Modified. */
static int validators_complete(const char *v)
{
    int lines = 0;
    while (*v) {
        const char *nl = strchr(v, '\n'), *end = nl ? nl : v + strlen(v);
        const char *t1 = memchr(v, '\t', (size_t)(end - v));
        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
        if (!t1 || !t2 || (t2 == t1 + 1 && end == t2 + 1))
            return 0;
        lines++;
        v = nl ? nl + 1 : end;
    }
    return lines > 0;
}

int rec_tmp_make(const cfg_settings *c, const char *kind, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/callqa-%s-%ld-XXXXXX", c->tmp_dir[0] ? c->tmp_dir : "/tmp", kind,
                     (long)getpid());
    int fd = k > 0 && (size_t)k < n ? mkostemp(out, O_CLOEXEC) : -1;
    if (fd < 0)
        out[0] = 0;
    return fd;
}

int rec_tmp_sweep(const cfg_settings *c)
{
    const char *dir = c->tmp_dir[0] ? c->tmp_dir : "/tmp";
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* callqa-KIND-PID-XXXXXX, KIND a word of letters */
        const char *p = e->d_name;
        if (strncmp(p, "callqa-", 7))
            continue;
        p += 7;
        while (*p >= 'a' && *p <= 'z')
            p++;
        char *end;
        long pid = *p == '-' && p[1] >= '1' && p[1] <= '9' ? strtol(p + 1, &end, 10) : 0;
        if (pid <= 0 || *end != '-' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its process is there (or not ours to see): its own */
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

static int temp_path(const cfg_settings *c, char *out, size_t n)
{
    int fd = rec_tmp_make(c, "fetch", out, n);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

void rec_fetched_cleanup(rec_fetched *f)
{
    for (int i = 0; i < 2; i++)
        if (f->path[i][0]) {
            unlink(f->path[i]);
            f->path[i][0] = 0;
        }
}

rec_fetch_status rec_fetch(const cfg_settings *c, const cfg_server *srv, const char *file,
                           rec_fetched *out, char *msg, size_t msgsz)
{
    memset(out, 0, sizeof(*out));
    rec_candidate cand[4];
    int nc = rec_candidates(file, cand, 4);
    for (int i = 0; i < nc; i++) {
        int parts = cand[i].rel[1][0] ? 2 : 1, ok = 1;
        rec_fetched f;
        memset(&f, 0, sizeof(f));
        f.cand = cand[i];
        for (int p = 0; p < parts && ok; p++) {
            if (snprintf(f.url[p], sizeof(f.url[p]), "%s/%s", srv->base, cand[i].rel[p]) >=
                (int)sizeof(f.url[p])) {
                rec_fetched_cleanup(&f);
                snprintf(msg, msgsz, "the recording's URL is too long");
                return REC_FETCH_INTERNAL;
            }
            if (temp_path(c, f.path[p], sizeof(f.path[p])) != 0) {
                rec_fetched_cleanup(&f);
                snprintf(msg, msgsz, "cannot create a temporary file in %s: %s", c->tmp_dir,
                         strerror(errno));
                return REC_FETCH_INTERNAL;
            }
            hdrs h;
            size_t bytes = 0;
            rec_fetch_status st = REC_FETCH_OK;
            long code = get_one(c, f.url[p], f.path[p], NULL, NULL, &h, &bytes, &st, msg, msgsz);
            if (code < 0) {
                rec_fetched_cleanup(&f);
                return st;
            }
            if (code == 404 || code == 410 || code == 403) {
                ok = 0;
                break;
            }
            if (code != 200) {
                rec_fetched_cleanup(&f);
                snprintf(msg, msgsz, "%s: the recording server answered HTTP %ld", f.url[p], code);
                return REC_FETCH_BAD_UPSTREAM;
            }
            /* ViciDial leaves stubs of failed recordings: legs must be over 100 bytes */
            if (parts == 2 && bytes <= 100) {
                ok = 0;
                break;
            }
            size_t vl = strlen(f.validators);
            if (snprintf(f.validators + vl, sizeof(f.validators) - vl, "%s%s\t%s\t%s",
                         vl ? "\n" : "", cand[i].rel[p], h.etag,
                         h.last_modified) >= (int)(sizeof(f.validators) - vl))
                f.validators[0] = 0; /* too long to keep: no revalidation, only sha256 */
        }
        if (!ok) {
            rec_fetched_cleanup(&f);
            continue;
        }
        /* identity: the validators when the server gives them, else the bytes' sha256 */
        int have_validators = validators_complete(f.validators);
        if (have_validators) {
            sha256_text(f.validators, f.identity);
        } else {
            char hex[2][65] = {"", ""};
            for (int p = 0; p < parts; p++)
                if (sha256_file(f.path[p], hex[p]) != 0) {
                    rec_fetched_cleanup(&f);
                    snprintf(msg, msgsz, "cannot read back %s", f.url[p]);
                    return REC_FETCH_INTERNAL;
                }
            char both[140];
            snprintf(both, sizeof(both), "%s%s", hex[0], hex[1]);
            sha256_text(both, f.identity);
        }
        *out = f;
        return REC_FETCH_OK;
    }
    snprintf(msg, msgsz, "%s: no such recording on server '%s'", file, srv->name);
    return REC_FETCH_NOT_FOUND;
}

rec_fetch_status rec_revalidate(const cfg_settings *c, const cfg_server *srv,
                                const char *validators, char *msg, size_t msgsz)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", validators);
    char *save = NULL;
    int asked = 0;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2)
            return REC_FETCH_OK; /* no validators: treat as changed */
        *t1 = *t2 = 0;
        const char *rel = line, *etag = t1 + 1, *lm = t2 + 1;
        if (!*etag && !*lm)
            return REC_FETCH_OK;
        char url[1700];
        if (snprintf(url, sizeof(url), "%s/%s", srv->base, rel) >= (int)sizeof(url))
            return REC_FETCH_OK;
        hdrs h;
        size_t bytes = 0;
        rec_fetch_status st = REC_FETCH_OK;
        long code = get_one(c, url, NULL, etag, lm, &h, &bytes, &st, msg, msgsz);
        if (code < 0)
            return st;
        if (code != 304)
            return REC_FETCH_OK; /* changed (or gone): analyse again */
        asked++;
    }
    return asked ? REC_FETCH_NOT_MODIFIED : REC_FETCH_OK;
}
