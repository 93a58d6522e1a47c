/*
 * source.c - what an ingest needs besides its database (ingest.h): the database URI, the
 * password file, time zones, and where a recording's audio is.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "callqa/cq_legs.h"
#include "ingest.h"

/* ---- the database URI ---------------------------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode [p, end) into out (n bytes). 0, or -1 on a bad escape, a control character
 * or when it does not fit. */
static int pct_decode(const char *p, const char *end, char *out, size_t n)
{
    size_t k = 0;
    while (p < end) {
        int ch = (unsigned char)*p++;
        if (ch == '%') {
            int hi = p < end ? hexval((unsigned char)p[0]) : -1;
            int lo = p + 1 < end ? hexval((unsigned char)p[1]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            p += 2;
        }
        if (ch < 0x20 || ch == 0x7f || k + 1 >= n)
            return -1;
        out[k++] = (char)ch;
    }
    out[k] = 0;
    return 0;
}

int ingest_db_uri_parse(const char *uri, ingest_db_uri *out, char *msg, size_t msgsz)
{
    memset(out, 0, sizeof(*out));
    out->port = 3306;
    const char *p = uri;
    if (!strncasecmp(p, "mysql://", 8))
        p += 8;
    else if (!strncasecmp(p, "mariadb://", 10))
        p += 10;
    else
        return cfg_fail(msg, msgsz, "the database URI must be mysql://USER@HOST[:PORT]/DB");
    const char *slash = strchr(p, '/');
    if (!slash)
        return cfg_fail(msg, msgsz,
                        "the database URI names no database: mysql://USER@HOST[:PORT]/DB");
    const char *at = memrchr(p, '@', (size_t)(slash - p));
    if (!at || at == p)
        return cfg_fail(msg, msgsz, "the database URI names no user: mysql://USER@HOST[:PORT]/DB");
    if (memchr(p, ':', (size_t)(at - p)))
        return cfg_fail(msg, msgsz,
                        "a password in the database URI is refused: put it in the "
                        "password file (--vicidial-password-file)");
    if (pct_decode(p, at, out->user, sizeof(out->user)) != 0 || !out->user[0])
        return cfg_fail(msg, msgsz,
                        "the database URI's user is not a valid name (1-128 bytes, "
                        "%%XX escapes, no control characters)");
    const char *h = at + 1, *hend;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(slash - h));
        if (!rb || rb == h + 1)
            return cfg_fail(msg, msgsz, "the database URI's IPv6 address has no closing ']'");
        for (const char *q = h + 1; q < rb; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return cfg_fail(msg, msgsz, "the database URI's IPv6 address is malformed");
        if ((size_t)(rb - h - 1) >= sizeof(out->host))
            return cfg_fail(msg, msgsz, "the database URI's host is too long");
        memcpy(out->host, h + 1, (size_t)(rb - h - 1));
        hend = rb + 1;
        if (hend != slash && *hend != ':')
            return cfg_fail(msg, msgsz, "the database URI's host is malformed");
    } else {
        hend = h;
        while (hend < slash && *hend != ':')
            hend++;
        if (hend == h)
            return cfg_fail(msg, msgsz, "the database URI names no host");
        if ((size_t)(hend - h) >= sizeof(out->host))
            return cfg_fail(msg, msgsz, "the database URI's host is too long");
        for (const char *q = h; q < hend; q++)
            if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-' && *q != '_')
                return cfg_fail(msg, msgsz,
                                "the database URI's host is not a host name or address");
        memcpy(out->host, h, (size_t)(hend - h));
    }
    if (*hend == ':') {
        const char *q = hend + 1;
        unsigned long port = 0;
        if (q == slash)
            return cfg_fail(msg, msgsz, "the database URI's port is empty");
        for (; q < slash; q++) {
            if (!isdigit((unsigned char)*q) || (port = port * 10 + (unsigned)(*q - '0')) > 65535)
                return cfg_fail(msg, msgsz, "the database URI's port must be 1-65535");
        }
        if (port == 0)
            return cfg_fail(msg, msgsz, "the database URI's port must be 1-65535");
        out->port = (unsigned)port;
    }
    const char *d = slash + 1;
    size_t dl = strlen(d);
    if (dl == 0 || dl >= sizeof(out->db))
        return cfg_fail(msg, msgsz, "the database URI's database name must be 1-64 characters");
    for (size_t i = 0; i < dl; i++)
        if (!isalnum((unsigned char)d[i]) && d[i] != '_' && d[i] != '$')
            return cfg_fail(msg, msgsz,
                            "the database URI's database name may hold only "
                            "[A-Za-z0-9_$] (no options after it)");
    memcpy(out->db, d, dl);
    return 0;
}

/* ---- time zones ---------------------------------------------------------------------------- */

int ingest_tz_check(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n >= 64 || tz[0] == '/' || tz[0] == '.' || strstr(tz, ".."))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)tz[i]) && !strchr("/_+-", tz[i]))
            return -1;
    const char *dir = getenv("TZDIR");
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    /* a zone file starts "TZif" */
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f)
        fclose(f);
    return got == 4 && !memcmp(magic, "TZif", 4) ? 0 : -1;
}

void ingest_tz_system(char *out, size_t n)
{
    const char *env = getenv("TZ");
    if (env && *env) {
        snprintf(out, n, "%s", env[0] == ':' ? env + 1 : env);
        return;
    }
    FILE *f = fopen("/etc/timezone", "r");
    if (f) {
        char line[128];
        bool ok = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        line[ok ? strcspn(line, " \t\r\n") : 0] = 0;
        if (ok && line[0] && ingest_tz_check(line) == 0) {
            snprintf(out, n, "%s", line);
            return;
        }
    }
    char link[512];
    ssize_t k = readlink("/etc/localtime", link, sizeof(link) - 1);
    if (k > 0) {
        link[k] = 0;
        const char *z = strstr(link, "zoneinfo/");
        if (z && ingest_tz_check(z + 9) == 0) {
            snprintf(out, n, "%s", z + 9);
            return;
        }
    }
    snprintf(out, n, "UTC");
}

/* Run with TZ set to tz; the previous value is restored by tz_pop. */
static char *tz_push(const char *tz)
{
    const char *old = getenv("TZ");
    char *keep = old ? strdup(old) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    return keep;
}

static void tz_pop(char *keep)
{
    if (keep)
        setenv("TZ", keep, 1);
    else
        unsetenv("TZ");
    tzset();
    free(keep);
}

int ingest_local_to_utc(const char *datetime, const char *tz, double *epoch)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(datetime, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || *end || tm.tm_year < 0 || tm.tm_year > 8099) /* 1900-9999 */
        return -1;
    tm.tm_isdst = -1;
    char *keep = tz_push(tz);
    time_t t = mktime(&tm);
    tz_pop(keep);
    if (t == (time_t)-1)
        return -1;
    *epoch = (double)t;
    return 0;
}

int ingest_utc_to_local(double epoch, const char *tz, char out[20])
{
    out[0] = 0;
    if (!(epoch >= 0 && epoch < 253402300800.0)) /* up to 9999-12-31 */
        return -1;
    time_t t = (time_t)epoch;
    struct tm tm;
    char *keep = tz_push(tz);
    bool ok = localtime_r(&t, &tm) != NULL;
    tz_pop(keep);
    return ok && strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 19 ? 0 : -1;
}

/* ---- where a recording is ------------------------------------------------------------------ */

bool ingest_file_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '.' || strstr(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\')
            return false;
    }
    return true;
}

/* A regular file of at least min bytes under dir. */
static bool have(const char *dir, const char *rel, long long min)
{
    char path[2400];
    if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
        return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (long long)st.st_size >= min;
}

int ingest_audio_local(const char *dir, const char *name, ingest_audio *out)
{
    memset(out, 0, sizeof(*out));
    if (!dir || !dir[0] || !ingest_file_name_ok(name))
        return 0;
    char in[300], outleg[300];
    snprintf(in, sizeof(in), "ORIG/%s-in.wav", name);
    snprintf(outleg, sizeof(outleg), "ORIG/%s-out.wav", name);
    if (have(dir, in, CQ_LEGS_STUB_BYTES) && have(dir, outleg, CQ_LEGS_STUB_BYTES)) {
        snprintf(out->audio_in, sizeof(out->audio_in), "%s", in);
        snprintf(out->audio_out, sizeof(out->audio_out), "%s", outleg);
    }
    static const char *const k_mix[] = {"%s-all.wav", "%s-all.mp3", "%s-all.gsm", "MP3/%s-all.mp3"};
    for (size_t i = 0; i < sizeof(k_mix) / sizeof(k_mix[0]); i++) {
        char rel[300];
        snprintf(rel, sizeof(rel), k_mix[i], name);
        if (have(dir, rel, 1)) {
            snprintf(out->audio, sizeof(out->audio), "%s", rel);
            break;
        }
    }
    return out->audio[0] || out->audio_in[0] ? 1 : 0;
}

/* After "scheme://": the length of the scheme prefix, 0 when not http(s). */
static size_t scheme_len(const char *url)
{
    return !strncasecmp(url, "http://", 7) ? 7 : !strncasecmp(url, "https://", 8) ? 8 : 0;
}

/* A relative path on a recording server that names a file under the base and nothing else. */
static bool rel_ok(const char *rel)
{
    if (!rel[0] || rel[0] == '/' || strstr(rel, "..") || strstr(rel, "//"))
        return false;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("\\%?#", *p))
            return false;
    return rel[strlen(rel) - 1] != '/';
}

int ingest_audio_remote(const cfg_settings *cfg, const char *location, char *ref, size_t refsz,
                        char *why, size_t whysz)
{
    ref[0] = 0;
    size_t sl = scheme_len(location);
    if (!sl)
        return cfg_fail(why, whysz, "recording location '%.300s' is not an http(s) URL", location);
    const char *auth = location + sl;
    size_t al = strcspn(auth, "/?#");
    if (al == 0 || memchr(auth, '@', al))
        return cfg_fail(why, whysz, "recording location '%.300s' has no plain host", location);
    /* the host: [v6] or up to the port */
    char host[256];
    const char *hend;
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', al);
        if (!rb)
            return cfg_fail(why, whysz, "recording location '%.300s' has a malformed host",
                            location);
        hend = rb + 1;
    } else {
        hend = memchr(auth, ':', al);
        if (!hend)
            hend = auth + al;
    }
    if ((size_t)(hend - auth) >= sizeof(host))
        return cfg_fail(why, whysz, "recording location '%.300s' has a malformed host", location);
    memcpy(host, auth, (size_t)(hend - auth));
    host[hend - auth] = 0;
    const cfg_server *near = NULL;
    for (int i = 0; i < cfg->n_servers; i++) {
        const cfg_server *s = &cfg->servers[i];
        if (strcasecmp(s->host, host))
            continue;
        near = s;
        const char *base = s->base + scheme_len(s->base);
        size_t bl = strlen(base), bal = strcspn(base, "/?#");
        /* the authority compares without case, the path with it */
        if (strncasecmp(auth, base, bal) || strncmp(auth + bal, base + bal, bl - bal) ||
            auth[bl] != '/')
            continue;
        const char *rel = auth + bl + 1;
        if (!rel_ok(rel))
            return cfg_fail(why, whysz,
                            "recording location '%.300s' is not a plain file path under "
                            "the recording server %s",
                            location, s->name);
        if (snprintf(ref, refsz, "%s:%s", s->name, rel) >= (int)refsz) {
            ref[0] = 0;
            return cfg_fail(why, whysz, "recording location '%.300s' is too long", location);
        }
        return 0;
    }
    if (near)
        return cfg_fail(why, whysz,
                        "recording at '%.300s' is not under the recording server %s "
                        "(%.300s)",
                        location, near->name, near->base);
    return cfg_fail(why, whysz, "recording on an unconfigured server %.200s", host);
}

/* ---- logs --------------------------------------------------------------------------------- */

/* The length of the UTF-8 sequence at p (at most n bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t k = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (p[0] >= 0xF5 || k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((k == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (k == 3 && p[0] == 0xED && p[1] >= 0xA0) ||
        (k == 4 && p[0] == 0xF0 && p[1] < 0x90) || (k == 4 && p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    return k;
}

/* s as a JSON string into buf: bytes that are not UTF-8 read as Latin-1 (as the API shows
 * them), so that every line is JSON. */
const char *ingest_json_str(const char *s, char *buf, size_t n)
{
    size_t k = 0, len = strlen(s);
    buf[k++] = '"';
    for (size_t i = 0; i < len && k + 12 < n;) {
        unsigned char ch = (unsigned char)s[i];
        size_t u = ch >= 0x80 ? utf8_len((const unsigned char *)s + i, len - i) : 1;
        if (ch == '"' || ch == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f || u == 0) {
            k += (size_t)snprintf(buf + k, n - k, "\\u%04x", ch);
            u = 1;
        } else {
            memcpy(buf + k, s + i, u);
            k += u;
        }
        i += u ? u : 1;
    }
    buf[k++] = '"';
    buf[k] = 0;
    return buf;
}

/* One JSON log line on stderr, as the ViciDial ingest writes them: {"ts", "level", "msg",
 * "source", then `more` (JSON members, or NULL)}. */
void ingest_log(const char *level, const char *source, const char *msg, const char *more)
{
    char a[600], b[200];
    fprintf(stderr, "{\"ts\":%.3f,\"level\":\"%s\",\"msg\":%s,\"source\":%s%s%s}\n",
            cq_clock_wall_sec(), level, ingest_json_str(msg, a, sizeof(a)),
            ingest_json_str(source, b, sizeof(b)), more ? "," : "", more ? more : "");
    fflush(stderr);
}
