/*
 * fuzz_names.c - libFuzzer harness over what a request, an operator or a dialer can name:
 * recording file names (rec_check_file) and the candidates built from accepted ones,
 * recording-server specs (NAME=URL), the config file parser, the route table's dispatch (a
 * method, a space, a path), the ingest's database URI (mysql://USER@HOST:PORT/DB) and a
 * dialer's recording location mapped onto the configured recording servers (with its file
 * name check). Oracles: an accepted file name never holds a path, "..", '%' or a leading '.',
 * and every candidate stays inside ORIG/ or MP3/ or the base; a route found is the route of
 * that method, and its path parameter is one non-empty segment between the route's prefix and
 * suffix; an accepted URI
 * has a user, a host, a port and a database of their kinds and parses again to the same from
 * its canonical form; a mapped location names a configured server and a plain path under its
 * base that the location ends with, and a refused one says why; a watched folder's file name
 * (ingest_watch_parse_name): a taken name gives a recording id of 1-64 bytes that is the name's
 * start (or a prefix, '~' and a hash), a known kind, a date that is a real one and an agent only
 * with it, and its other leg's name gives the same recording; a name not taken says why.
 * Stored names and answers (case 7): an upload's name encoded (rec_name_encode) holds only
 * [A-Za-z0-9._%-], no '/' and no leading '.', and decodes back to the name (two names never
 * share a file); a path parameter decodes (svc_pct_decode) with no NUL, or is refused; a
 * message made fit for an answer (svc_redact) holds no "://" and no "/x/" path; a Host is
 * judged without a crash (svc_host_allowed).
 * The first byte picks the parser; the rest is its input.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/ingest/ingest.h"
#include "../../src/service/svc_routes.h"
#include "../../src/service/svc_session.h"

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

/* mysql://USER@HOST:PORT/DB again from a parsed URI, its user percent-encoded. */
static void canonical_uri(const ingest_db_uri *u, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "mysql://");
    for (const unsigned char *p = (const unsigned char *)u->user; *p && k + 4 < n; p++)
        k += (size_t)snprintf(out + k, n - k, isalnum(*p) ? "%c" : "%%%02X", *p);
    snprintf(out + k, n - k, strchr(u->host, ':') ? "@[%s]:%u/%s" : "@%s:%u/%s", u->host, u->port,
             u->db);
}

static void check_uri(const char *s)
{
    ingest_db_uri u, again;
    char msg[600], canon[1200];
    if (ingest_db_uri_parse(s, &u, msg, sizeof(msg)) != 0) {
        if (!msg[0])
            __builtin_trap();
        return;
    }
    if (!u.user[0] || !u.host[0] || !u.db[0] || u.port < 1 || u.port > 65535 ||
        strpbrk(u.host, "/@?# ") ||
        strspn(u.db, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                     "TUVWXYZ0123456789_$") != strlen(u.db))
        __builtin_trap();
    for (const unsigned char *p = (const unsigned char *)u.user; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            __builtin_trap();
    canonical_uri(&u, canon, sizeof(canon));
    if (ingest_db_uri_parse(canon, &again, msg, sizeof(msg)) != 0 || strcmp(u.user, again.user) ||
        strcmp(u.host, again.host) || u.port != again.port || strcmp(u.db, again.db))
        __builtin_trap();
}

static void check_location(const char *s)
{
    cfg_settings c;
    cfg_defaults(&c);
    char msg[600], ref[1100], why[256];
    if (cfg_add_server(&c, "a=http://h/RECORDINGS", msg, sizeof(msg)) ||
        cfg_add_server(&c, "b=https://rec.example:8443/x/y/", msg, sizeof(msg)))
        __builtin_trap();
    if (ingest_audio_remote(&c, s, ref, sizeof(ref), why, sizeof(why)) != 0) {
        if (!why[0] || ref[0])
            __builtin_trap();
    } else {
        const char *rel = !strncmp(ref, "a:", 2) || !strncmp(ref, "b:", 2) ? ref + 2 : NULL;
        size_t rl = rel ? strlen(rel) : 0, sl = strlen(s);
        if (!rel || !rl || rel[0] == '/' || strstr(rel, "..") || strpbrk(rel, "?#%\\ ") ||
            sl <= rl || strcmp(s + sl - rl, rel) || s[sl - rl - 1] != '/')
            __builtin_trap();
        for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                __builtin_trap();
    }
    if (ingest_file_name_ok(s) && (strchr(s, '/') || strstr(s, "..") || s[0] == '.' || !s[0]))
        __builtin_trap();
}

static void check_watch_name(const char *s)
{
    ingest_watch_name nm, other;
    const char *why = NULL;
    if (ingest_watch_parse_name(s, &nm, &why) != 1) {
        if (!why || !why[0])
            __builtin_trap();
        return;
    }
    size_t rl = strlen(nm.recording_id), sl = strlen(s);
    if (why || rl == 0 || rl > 64 || sl > 255 || s[0] == '.' || strchr(s, '/'))
        __builtin_trap();
    /* the name before its extension and leg suffix: the id itself, or when over 64 bytes,
     * a prefix cut on a UTF-8 boundary, '~' and 16 hex digits of the hash */
    size_t stem = (size_t)(strrchr(s, '.') - s);
    stem -= nm.kind == INGEST_WATCH_IN ? 3 : nm.kind == INGEST_WATCH_PLAIN ? 0 : 4;
    if (stem <= 64) {
        if (rl != stem || strncmp(nm.recording_id, s, rl))
            __builtin_trap();
    } else {
        size_t pre = rl >= 17 ? rl - 17 : 0;
        if (rl < 61 || nm.recording_id[pre] != '~' || strncmp(nm.recording_id, s, pre) ||
            strspn(nm.recording_id + pre + 1, "0123456789abcdef") != 16 ||
            (((unsigned char)s[pre] & 0xC0) == 0x80 && pre != 44))
            __builtin_trap(); /* not cut inside a UTF-8 sequence (unless it is not UTF-8) */
    }
    if (nm.kind != INGEST_WATCH_IN && nm.kind != INGEST_WATCH_OUT && nm.kind != INGEST_WATCH_MIX &&
        nm.kind != INGEST_WATCH_PLAIN)
        __builtin_trap();
    if (nm.agent_user[0] && !nm.call_date[0])
        __builtin_trap();
    if (nm.call_date[0]) {
        double epoch;
        if (strlen(nm.call_date) != 19 || ingest_local_to_utc(nm.call_date, "UTC", &epoch) != 0)
            __builtin_trap();
        char back[20];
        if (ingest_utc_to_local(epoch, "UTC", back) != 0 || strcmp(back, nm.call_date))
            __builtin_trap(); /* a real date: it does not move when read back */
    }
    if (nm.kind == INGEST_WATCH_IN || nm.kind == INGEST_WATCH_OUT) {
        /* its other leg: NAME-out for NAME-in, with the same extension */
        const char *dot = s + stem + (nm.kind == INGEST_WATCH_IN ? 3 : 4);
        char o[300];
        snprintf(o, sizeof(o), "%.*s%s%s", (int)stem, s,
                 nm.kind == INGEST_WATCH_IN ? "-out" : "-in", dot);
        if (strlen(o) <= 255 &&
            (ingest_watch_parse_name(o, &other, NULL) != 1 ||
             strcmp(other.recording_id, nm.recording_id) || other.kind == nm.kind))
            __builtin_trap();
    }
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
    cfg_settings c;
    cfg_defaults(&c);
    char msg[1200];
    switch (data[0] % 8) {
    case 0: {
        const char *why = NULL;
        if (rec_check_file(s, &why) == 0) {
            if (strchr(s, '/') || strstr(s, "..") || strchr(s, '%') || s[0] == '.' || !*s)
                __builtin_trap();
            rec_candidate cand[4];
            int n = rec_candidates(s, cand, 4);
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
        if (cfg_add_server(&c, s, msg, sizeof(msg)) == 0) {
            const cfg_server *sv = &c.servers[0];
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
        size_t plen = 0;
        bool known = false;
        const svc_route *r = svc_route_find(method, path, &param, &plen, &known);
        if (r && (strcmp(r->method, method) || known))
            __builtin_trap();
        /* the parameter: one non-empty segment, the route's prefix before it, its suffix after */
        if (r && param &&
            (param < path || !plen || memchr(param, '/', plen) ||
             strncmp(r->path, path, (size_t)(param - path)) ||
             strcmp(param + plen, strchr(r->path, '}') + 1)))
            __builtin_trap();
        if (r && !param && strcmp(r->path, path))
            __builtin_trap();
        break;
    }
    case 4: check_uri(s); break;
    case 5: check_location(s); break;
    case 6: check_watch_name(s); break;
    case 7: {
        char enc[REC_NAME_ENC], dec[REC_NAME_ENC], red[600];
        char name[65];
        snprintf(name, sizeof(name), "%s", s);
        rec_name_encode(name, enc, sizeof(enc));
        for (const char *p = enc; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("._%-", *p))
                __builtin_trap();
        if (enc[0] == '.' || svc_pct_decode(enc, strlen(enc), dec, sizeof(dec)) != 0 ||
            strcmp(dec, name))
            __builtin_trap();
        if (svc_pct_decode(s, strlen(s), dec, sizeof(dec)) == 0 && strlen(dec) > strlen(s))
            __builtin_trap();
        svc_redact(s, red, sizeof(red));
        if (strstr(red, "://"))
            __builtin_trap();
        for (const char *w = red; *w;) { /* a word that is a path left whole: /a/b */
            while (*w == ' ')
                w++;
            size_t wl = strcspn(w, " "), lead = 0;
            while (lead < wl && strchr("'\"(<[", w[lead]))
                lead++;
            if (lead < wl && w[lead] == '/' && memchr(w + lead + 1, '/', wl - lead - 1))
                __builtin_trap();
            w += wl;
        }
        (void)svc_host_allowed(&c, s);
        break;
    }
    default: {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/callqa-fuzz-config-%d", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(s, 1, size - 1, f);
            fclose(f);
            (void)cfg_load_file(&c, path, msg, sizeof(msg));
            unlink(path);
        }
        break;
    }
    }
    free(s);
    return 0;
}
