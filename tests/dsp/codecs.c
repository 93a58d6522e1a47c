/*
 * codecs.c - the recordings of an events suite through the codecs calls are stored in, written
 * by libsndfile with the encoders of its Debian build, in one process (a process per file and
 * codec costs more than the encoding). For each DIR/NAME.wav (16-bit PCM; the files this
 * program writes are skipped):
 *   NAME_alaw.wav  G.711 A-law            NAME_ulaw.wav  G.711 u-law
 *   NAME_gsm.wav   GSM 06.10 (WAV49)      NAME_mp3.mp3   MPEG-2.5 layer III, 32 kbit/s CBR (LAME)
 *
 *   events_codecs DIR [K N]   only the files whose place in name order is K modulo N, so that
 *                             N processes share a folder
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

static const char *const k_variants[] = {"_alaw.wav", "_ulaw.wav", "_gsm.wav", "_mp3.mp3"};

static int is_variant(const char *name)
{
    size_t l = strlen(name);
    for (size_t v = 0; v < sizeof(k_variants) / sizeof(k_variants[0]); v++) {
        size_t s = strlen(k_variants[v]);
        if (l > s && !strcmp(name + l - s, k_variants[v]))
            return 1;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One variant of x (n samples at rate) into path; 0 or -1 after saying why. */
static int write_one(const char *path, int format, const short *x, sf_count_t n, int rate)
{
    SF_INFO in = {.samplerate = rate, .channels = 1, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &in);
    if (!f) {
        fprintf(stderr, "events_codecs: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG) {
        /* constant bitrate: at 8 kHz libsndfile maps a compression level c to 64 - 56 c kbit/s */
        int mode = SF_BITRATE_MODE_CONSTANT;
        double c = (64.0 - 32.0) / 56.0 + 1e-6;
        sf_command(f, SFC_SET_BITRATE_MODE, &mode, sizeof(mode)); /* 0 either way: its error */
        if (sf_error(f) || sf_command(f, SFC_SET_COMPRESSION_LEVEL, &c, sizeof(c)) != SF_TRUE) {
            fprintf(stderr, "events_codecs: %s: MP3 at 32 kbit/s refused: %s\n", path,
                    sf_strerror(f));
            sf_close(f);
            return -1;
        }
    }
    sf_count_t w = sf_write_short(f, x, n);
    int rc = sf_close(f);
    if (w != n || rc) {
        fprintf(stderr, "events_codecs: %s: short write\n", path);
        return -1;
    }
    return 0;
}

static int encode(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f || info.channels != 1) {
        fprintf(stderr, "events_codecs: %s: %s\n", path, f ? "not mono" : sf_strerror(NULL));
        if (f)
            sf_close(f);
        return -1;
    }
    short *x = malloc((size_t)(info.frames ? info.frames : 1) * sizeof(short));
    sf_count_t n = x ? sf_read_short(f, x, info.frames) : -1;
    sf_close(f);
    if (n != info.frames) {
        fprintf(stderr, "events_codecs: %s: short read\n", path);
        free(x);
        return -1;
    }
    static const int formats[] = {SF_FORMAT_WAV | SF_FORMAT_ALAW, SF_FORMAT_WAV | SF_FORMAT_ULAW,
                                  SF_FORMAT_WAV | SF_FORMAT_GSM610,
                                  SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    const size_t base = strlen(name) - 4; /* without ".wav" */
    int rc = 0;
    for (size_t v = 0; v < sizeof(formats) / sizeof(formats[0]) && !rc; v++) {
        snprintf(path, sizeof(path), "%s/%.*s%s", dir, (int)base, name, k_variants[v]);
        rc = write_one(path, formats[v], x, n, info.samplerate);
    }
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: events_codecs DIR [K N]\n");
        return 2;
    }
    const long k = argc == 4 ? atol(argv[2]) : 0, every = argc == 4 ? atol(argv[3]) : 1;
    DIR *d = opendir(argv[1]);
    if (!d || every < 1 || k < 0 || k >= every) {
        fprintf(stderr, "events_codecs: %s: cannot read, or a bad K N\n", argv[1]);
        return 2;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".wav") || is_variant(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **m = realloc(names, cap * sizeof(*names));
            if (!m)
                return 1;
            names = m;
        }
        if (!(names[n++] = strdup(e->d_name)))
            return 1;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if ((long)(i % (size_t)every) == k && encode(argv[1], names[i]))
            rc = 1;
        free(names[i]);
    }
    free(names);
    return rc;
}
