/*
 * svc_names.c - what a request may name: recording files (no paths, no traversal, no
 * encoded tricks) and recording servers (configured names only), and the ViciDial candidates
 * for a name.
 */
#include <stdio.h>
#include <string.h>

#include "svc.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int svc_check_file(const char *file, const char **why)
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
                   : ch == '%'              ? "file contains '%' (encoded twice?)"
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

const svc_server *svc_find_server(const svc_config *c, const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < c->n_servers; i++)
        if (strcmp(c->servers[i].name, name) == 0)
            return &c->servers[i];
    return NULL;
}

/* NAME-all.wav / NAME-all.mp3: the legs first, then the mixes, then the name as given. */
int svc_candidates(const char *file, svc_candidate *out, int max)
{
    int n = 0;
    size_t len = strlen(file);
    const char *suffix = ends_with(file, "-all.wav") ? "-all.wav"
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
