/*
 * mkcalls.c - the recordings of the two events suites, built from ../shared/corpus at test time
 * (nothing is kept). 16-bit 8 kHz mono WAV files and a manifest; the codecs are applied by the
 * suites' scripts with sox.
 *
 *   events_mkcalls talkoff CORPUS OUTDIR [--skip TALKER,...]
 *       Two-party mono calls with no tone in them: for every pair of different talkers
 *       (k_talkers), three calls in which one reads a passage and the other says one short
 *       phrase several times, in the passage's pauses and over it: the phrase at 0 dB and
 *       +6 dB against the passage, and the roles swapped at +6 dB (so each talker of a pair is
 *       6 dB over the other once). Then the corpus's hold music (in slices of 15 s) and IVR
 *       prompts, each with one talker speaking over it at 0, +6 or -6 dB against its RMS level.
 *       Speech levels are ITU-T P.56 active levels (cq_level), the passage's -28 dBFS. A
 *       -70 dBFS noise floor runs under everything. Manifest lines: FILE KIND A B DB SECONDS.
 *
 *   events_mkcalls signal PERIOD.wav OUTDIR NAME SEED ON_OFF...
 *       A long call-progress signal from one period of it (PERIOD.wav, made by sox or cut from
 *       a recording; ON_OFF lists the period's tone spans, "a-b" in seconds): repeated for 2 to
 *       15 periods, the recording starting at a random point of a period, the level stepped by
 *       6 dB up or down partway through, and 1 to 3 frames of 20 ms lost (zeroed, or cut out of
 *       the recording). Prints FILE START END PERIODS: the first tone's onset and the last
 *       tone's end as they are in the file (a piece of a burst under 20 ms that the
 *       recording's start or end leaves does not count).
 *
 *   events_mkcalls sweep PERIOD.wav OUTDIR NAME PHASES PERIODS ON_OFF...
 *       The same signal cut by the recording at each of PHASES points of its period, PERIODS
 *       periods long, nothing else changed (tests/dsp/test_phase_sweep.sh).
 *
 *   events_mkcalls music CORPUS OUTDIR
 *       Hold music between two pieces of speech: the corpus's tracks in 30 s slices at every
 *       10 s, and pieces of sustained notes made here (tests/dsp/test_music.sh).
 *
 *   events_mkcalls queue CORPUS OUT.wav
 *       A call to a queue: a greeting, the queue's prompt, 44 s of held notes, the agent
 *       (tests/dsp/test_tx_follows.sh).
 *
 * Every random choice comes from the seed (talkoff: fixed; signal: the argument), so a failure
 * replays.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"

#define RATE 8000
#define MAX_FILES 6
#define TALK_DB -28.0   /* the passage's active level (dBFS) */
#define FLOOR_DB -70.0  /* the noise floor (dBFS RMS) */
#define PASSAGE_SEC 3.5 /* the passage read in one call */
#define PHRASES 3       /* times the phrase is said, at most */
#define PHRASE_MAX 2.0  /* the longest phrase said again and again (s) */
#define HOLD_SLICE 15.0 /* s of hold music per call */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("events_mkcalls: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- random numbers (xorshift64*) ----------------------------------------------------------- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static double urand(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (double)((g_rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static double uniform(double a, double b)
{
    return a + (b - a) * urand();
}

/* Gaussian noise (Box-Muller) of unit variance. */
static double gauss(void)
{
    double u = urand(), v = urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* ---- audio ------------------------------------------------------------------------------------
 */

typedef struct buf {
    float *x;
    size_t n, cap;
} buf;

static void buf_put(buf *b, size_t at, const float *x, size_t n, double gain)
{
    if (at + n > b->cap) {
        size_t cap = 2 * (at + n) + RATE;
        float *y = realloc(b->x, cap * sizeof(float));
        if (!y)
            die("out of memory");
        memset(y + b->cap, 0, (cap - b->cap) * sizeof(float));
        b->x = y, b->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        b->x[at + i] += (float)(gain * x[i]);
    if (at + n > b->n)
        b->n = at + n;
}

/* Channel 0 of a recording at 8 kHz. */
static buf load8k(const char *path)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        die("%s: %s", path, err.msg);
    const cq_audio_info *info = cq_audio_get_info(a);
    const int nc = info->channels, rate = info->sample_rate_hz;
    buf raw = {0};
    float blk[4096 * 2];
    int64_t got;
    while ((got = cq_audio_read(a, blk, 4096 / (size_t)nc, &err)) > 0)
        for (int64_t i = 0; i < got; i++)
            buf_put(&raw, raw.n, &blk[i * nc], 1, 1.0);
    if (got < 0)
        die("%s: %s", path, err.msg);
    cq_audio_close(a);
    if (rate == RATE)
        return raw;
    int e = 0;
    cq_resample *r = cq_resample_create(rate, RATE, &e);
    if (!r)
        die("resampler: %d", e);
    buf out = {0};
    size_t cap = (size_t)((double)raw.n * RATE / rate) + 8192;
    float *y = malloc(cap * sizeof(float));
    long k = cq_resample_process(r, raw.x, raw.n, y, cap);
    size_t ny = k > 0 ? (size_t)k : 0;
    while (k >= 0 && (k = cq_resample_process(r, NULL, 0, y + ny, cap - ny)) > 0)
        ny += (size_t)k;
    if (k < 0)
        die("%s: resampling failed", path);
    buf_put(&out, 0, y, ny, 1.0);
    free(y);
    free(raw.x);
    cq_resample_destroy(r);
    return out;
}

/* The ITU-T P.56 active level of x (dBFS). */
static double active_db(const float *x, size_t n)
{
    cq_level_params p = cq_level_default_params();
    cq_level_result r;
    if (cq_level_compute(x, n, &p, &r) != CQ_OK || !r.has_active_level)
        die("no active speech level");
    return r.active_level_db;
}

static void write_wav(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die("%s: cannot write", path);
    unsigned char h[44];
    uint32_t data = (uint32_t)(n * 2);
    memcpy(h, "RIFF", 4);
    uint32_t v[] = {36 + data, 0, 16, 0, RATE, RATE * 2, 0, data};
    memcpy(h + 8, "WAVEfmt ", 8);
    for (int k = 0; k < 4; k++) {
        h[4 + k] = (unsigned char)(v[0] >> (8 * k));
        h[16 + k] = (unsigned char)(v[2] >> (8 * k));
        h[24 + k] = (unsigned char)(v[4] >> (8 * k));
        h[28 + k] = (unsigned char)(v[5] >> (8 * k));
        h[40 + k] = (unsigned char)(v[7] >> (8 * k));
    }
    h[20] = 1, h[21] = 0;  /* PCM */
    h[22] = 1, h[23] = 0;  /* mono */
    h[32] = 2, h[33] = 0;  /* block align */
    h[34] = 16, h[35] = 0; /* bits */
    memcpy(h + 36, "data", 4);
    unsigned char *b = malloc(n * 2 + 1); /* the samples, written at once */
    if (!b)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        double s = round(x[i] * 32768.0);
        int16_t q = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
        b[2 * i] = (unsigned char)(q & 0xff);
        b[2 * i + 1] = (unsigned char)((uint16_t)q >> 8);
    }
    if (fwrite(h, 1, 44, f) != 44 || fwrite(b, 1, n * 2, f) != n * 2 || fclose(f) != 0)
        die("%s: write failed", path);
    free(b);
}

/* The noise floor under a whole call. */
static void add_floor(buf *b)
{
    const double s = pow(10, FLOOR_DB / 20);
    for (size_t i = 0; i < b->n; i++)
        b->x[i] += (float)(s * gauss());
}

/* ---- talkers ----------------------------------------------------------------------------------
 */

/* A talker: recordings of one voice (or, for the two conversations, one speaker's turns). */
typedef struct talker_src {
    const char *name;
    const char *files[MAX_FILES];
    const char *from; /* turns of one speaker: "rttm:SPEAKER" or "manifest:SPEAKER" */
} talker_src;

/* Named so the suite says who spoke. The P.862 reference recordings come from the ITU's
 * conformance set, which does not name its talkers: each is taken as one. */
static const talker_src k_talkers[] = {
    {"librivox",
     {"speech/ps_librivox_0870.wav", "speech/ps_librivox_0880.wav", "speech/ps_librivox_0890.wav"},
     NULL},
    {"cards",
     {"speech/ps_cards_001.wav", "speech/ps_cards_002.wav", "speech/ps_cards_003.wav"},
     NULL},
    {"goforward", {"speech/ps_goforward.wav"}, NULL},
    {"alsa", {"speech/alsa_front_left.wav", "speech/alsa_front_center.wav"}, NULL},
    {"codec2_hts1a", {"speech/codec2_hts1a.wav"}, NULL},
    {"codec2_vk5qi", {"speech/codec2_vk5qi.wav"}, NULL},
    {"p862_af1", {"quality/p862_u_af1s01.wav", "quality/p862_u_af1s03.wav"}, NULL},
    {"p862_am1", {"quality/p862_u_am1s01.wav", "quality/p862_u_am1s02.wav"}, NULL},
    {"vctk_p239", {"quality/warpq_p239_021_ref.wav"}, NULL},
    {"pesq_ref", {"quality/pesq_speech_ref.wav"}, NULL},
    {"paa_count", {"vad/paa_count.wav"}, NULL},
    {"pyannote_90", {"conversations/pyannote_sample.wav"}, "rttm:speaker90"},
    {"pyannote_91", {"conversations/pyannote_sample.wav"}, "rttm:speaker91"},
    {"paa_A", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerA"},
    {"paa_B", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerB"},
    {"paa_C", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerC"},
    {"paa_D", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerD"},
    {"paa_E", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerE"},
    {"paa_F", {"conversations/paa_diarizationexample2.wav"}, "manifest:speakerF"},
    {"p862_or105", {"quality/p862_or105.wav"}, NULL},
    {"p862_or109", {"quality/p862_or109.wav"}, NULL},
    {"p862_or114", {"quality/p862_or114.wav"}, NULL},
    {"p862_or129", {"quality/p862_or129.wav"}, NULL},
    {"p862_or134", {"quality/p862_or134.wav"}, NULL},
    {"p862_or137", {"quality/p862_or137.wav"}, NULL},
    {"p862_or154", {"quality/p862_or154.wav"}, NULL},
    {"p862_or155", {"quality/p862_or155.wav"}, NULL},
    {"p862_or161", {"quality/p862_or161.wav"}, NULL},
    {"p862_or166", {"quality/p862_or166.wav"}, NULL},
    {"p862_or170", {"quality/p862_or170.wav"}, NULL},
    {"p862_or179", {"quality/p862_or179.wav"}, NULL},
    {"p862_or221", {"quality/p862_or221.wav"}, NULL},
    {"p862_or229", {"quality/p862_or229.wav"}, NULL},
};
#define N_TALKERS (sizeof(k_talkers) / sizeof(k_talkers[0]))

typedef struct utt {
    float *x;
    size_t n;
} utt;

typedef struct talker {
    const char *name;
    utt *u;
    int nu;
    double seconds; /* of speech, the utterances' total */
} talker;

/* A speaker's turns in a conversation file, from its RTTM or the corpus manifest. */
static int turns_of(const char *corpus, const char *from, double *a, double *b, int max)
{
    int n = 0;
    char path[4096];
    if (!strncmp(from, "rttm:", 5)) {
        snprintf(path, sizeof(path), "%s/conversations/pyannote_sample.rttm", corpus);
        FILE *f = fopen(path, "r");
        if (!f)
            die("%s: cannot read", path);
        char line[512], spk[128];
        double s, d;
        while (fgets(line, sizeof(line), f) && n < max)
            if (sscanf(line, "SPEAKER %*s %*s %lf %lf %*s %*s %127s", &s, &d, spk) == 3 &&
                !strcmp(spk, from + 5))
                a[n] = s, b[n] = s + d, n++;
        fclose(f);
    } else {
        snprintf(path, sizeof(path), "%s/manifest.json", corpus);
        json_error_t je;
        json_t *m = json_load_file(path, 0, &je);
        if (!m)
            die("%s: %s", path, je.text);
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(m, "files_list"), i, row)
        {
            json_t *segs = json_object_get(json_object_get(row, "labels"), "speaker_segments");
            size_t k;
            json_t *s;
            json_array_foreach(segs, k, s)
            {
                if (n < max && !strcmp(json_string_value(json_array_get(s, 2)), from + 9))
                    a[n] = json_number_value(json_array_get(s, 0)),
                    b[n] = json_number_value(json_array_get(s, 1)), n++;
            }
        }
        json_decref(m);
    }
    return n;
}

/* Utterances of x[a..b): runs of 20 ms frames within 35 dB of the loudest, pauses under
 * 0.3 s bridged, 0.3 s or longer, 50 ms kept either side. */
static void split(talker *t, const float *x, size_t a, size_t b)
{
    const size_t fr = RATE / 50, nf = (b - a) / fr;
    if (!nf)
        return;
    double *db = malloc(nf * sizeof(double)), top = -200;
    for (size_t f = 0; f < nf; f++) {
        double e = 0;
        for (size_t i = 0; i < fr; i++)
            e += (double)x[a + f * fr + i] * x[a + f * fr + i];
        db[f] = 10 * log10(e / fr + 1e-12);
        top = fmax(top, db[f]);
    }
    size_t f = 0;
    while (f < nf) {
        while (f < nf && db[f] < top - 35)
            f++;
        if (f == nf)
            break;
        size_t s = f, e = f, gap = 0;
        for (; f < nf && gap < 15; f++) /* 15 frames: 0.3 s */
            if (db[f] >= top - 35)
                e = f + 1, gap = 0;
            else
                gap++;
        if ((e - s) * fr >= RATE * 3 / 10) {
            size_t u0 = a + (s > 2 ? s - 2 : 0) * fr, u1 = a + (e + 2) * fr;
            if (u1 > b)
                u1 = b;
            t->u = realloc(t->u, (size_t)(t->nu + 1) * sizeof(utt));
            utt *u = &t->u[t->nu++];
            u->n = u1 - u0;
            u->x = malloc(u->n * sizeof(float));
            memcpy(u->x, x + u0, u->n * sizeof(float));
            t->seconds += (double)u->n / RATE;
        }
        f = e;
    }
    free(db);
}

/* A talker's utterances, scaled to the passage level (TALK_DB active). */
static talker load_talker(const char *corpus, const talker_src *src)
{
    talker t = {.name = src->name};
    char path[4096];
    for (int k = 0; k < MAX_FILES && src->files[k]; k++) {
        snprintf(path, sizeof(path), "%s/%s", corpus, src->files[k]);
        buf x = load8k(path);
        if (!src->from) {
            split(&t, x.x, 0, x.n);
        } else {
            double a[64], b[64], oa[128], ob[128];
            int n = turns_of(corpus, src->from, a, b, 64), no = 0;
            if (!n)
                die("%s: no turns of %s", path, src->from);
            /* the other speakers' turns: where one overlaps this one's (the RTTM's overlap by
             * up to 0.4 s), the turn is cut to its longer side nobody else speaks in */
            for (size_t o = 0; o < N_TALKERS; o++) {
                const talker_src *s2 = &k_talkers[o];
                if (s2->from && s2->files[0] && !strcmp(s2->files[0], src->files[0]) &&
                    strcmp(s2->from, src->from))
                    no += turns_of(corpus, s2->from, oa + no, ob + no, 128 - no);
            }
            for (int i = 0; i < n; i++) {
                double s = a[i], e = b[i];
                for (int j = 0; j < no; j++) { /* keep the longer side of an overlap */
                    if (ob[j] <= s || oa[j] >= e)
                        continue;
                    if (oa[j] - s >= e - ob[j])
                        e = fmin(e, oa[j]);
                    else
                        s = fmax(s, ob[j]);
                }
                size_t i0 = (size_t)(s * RATE), i1 = (size_t)(e * RATE);
                if (i1 > x.n)
                    i1 = x.n;
                if (i1 > i0 + RATE / 4)
                    split(&t, x.x, i0, i1);
            }
        }
        free(x.x);
    }
    if (!t.nu)
        die("%s: no speech", src->name);
    buf all = {0};
    for (int i = 0; i < t.nu; i++)
        buf_put(&all, all.n, t.u[i].x, t.u[i].n, 1.0);
    const double g = pow(10, (TALK_DB - active_db(all.x, all.n)) / 20);
    free(all.x);
    for (int i = 0; i < t.nu; i++)
        for (size_t k = 0; k < t.u[i].n; k++)
            t.u[i].x[k] *= (float)g;
    return t;
}

/* ---- the talk-off calls -----------------------------------------------------------------------
 */

/*
 * One call: A reads (its utterances from `first` on, PASSAGE_SEC of them or PHRASES utterances,
 * pauses of 0.15-0.6 s), and B says one phrase (its utterance `phrase`, up to PHRASE_MAX s)
 * after every utterance of A's: in the pause after it or over its end (half the time each, 0.2-1.0
 * s of overlap), the passage going on 0.1-0.5 s after the phrase or over it. B at db against A.
 */
static buf conversation(const talker *A, const talker *B, int first, int phrase, double db)
{
    buf c = {0};
    const utt *p = &B->u[phrase % B->nu];
    size_t pn = p->n < (size_t)(PHRASE_MAX * RATE) ? p->n : (size_t)(PHRASE_MAX * RATE);
    const double gb = pow(10, db / 20);
    size_t t = (size_t)(0.3 * RATE), read = 0;
    for (int k = first; read < (size_t)(PASSAGE_SEC * RATE) && k - first < PHRASES; k++) {
        const utt *u = &A->u[k % A->nu];
        buf_put(&c, t, u->x, u->n, 1.0);
        read += u->n;
        size_t end = t + u->n, at;
        if (urand() < 0.5) {
            size_t ov = (size_t)(uniform(0.2, 1.0) * RATE);
            at = end - (ov < u->n ? ov : u->n / 2);
        } else {
            at = end + (size_t)(uniform(0.15, 0.6) * RATE);
        }
        buf_put(&c, at, p->x, pn, gb);
        if (urand() < 0.3) /* the reader goes on over the phrase */
            t = at + (size_t)(uniform(0.1, 0.6) * (double)pn);
        else
            t = (at + pn > end ? at + pn : end) + (size_t)(uniform(0.1, 0.5) * RATE);
    }
    buf_put(&c, c.n, (const float[]){0}, 1, 0); /* 0.5 s of floor after the last word */
    buf_put(&c, c.n + RATE / 2, (const float[]){0}, 1, 0);
    add_floor(&c);
    return c;
}

/* Speech over a backdrop (hold music, a prompt): the backdrop at TALK_DB (its RMS level bg_db
 * as it is), the talker's utterances from `first`, with pauses of 0.3-1.5 s, over all of it,
 * db over the backdrop. */
static buf over(const float *bg, size_t n, double bg_db, const talker *T, int first, double db)
{
    buf c = {0};
    buf_put(&c, 0, bg, n, pow(10, (TALK_DB - bg_db) / 20));
    const double g = pow(10, db / 20);
    size_t t = (size_t)(uniform(0.2, 1.0) * RATE);
    for (int k = first; t < n; k++) {
        const utt *u = &T->u[k % T->nu];
        buf_put(&c, t, u->x, u->n, g);
        t += u->n + (size_t)(uniform(0.3, 1.5) * RATE);
    }
    add_floor(&c);
    return c;
}

static int skipped(const char *skip, const char *name)
{
    if (!skip)
        return 0;
    size_t l = strlen(name);
    for (const char *s = skip; (s = strstr(s, name)); s += l)
        if ((s == skip || s[-1] == ',') && (s[l] == ',' || !s[l]))
            return 1;
    return 0;
}

static void emit(FILE *man, const char *dir, const char *name, const char *kind, const char *a,
                 const char *b, double db, buf *c, double *total)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
    write_wav(path, c->x, c->n);
    fprintf(man, "%s.wav %s %s %s %+.0f %.3f\n", name, kind, a, b, db, (double)c->n / RATE);
    *total += (double)c->n / RATE;
    free(c->x);
}

static int talkoff(const char *corpus, const char *dir, const char *skip)
{
    talker T[N_TALKERS];
    int nt = 0;
    double unique = 0;
    for (size_t i = 0; i < N_TALKERS; i++)
        if (!skipped(skip, k_talkers[i].name)) {
            T[nt] = load_talker(corpus, &k_talkers[i]);
            unique += T[nt].seconds;
            nt++;
        }
    char path[4096];
    snprintf(path, sizeof(path), "%s/manifest", dir);
    FILE *man = fopen(path, "w");
    if (!man)
        die("%s: cannot write", path);
    double total = 0;
    int ncalls = 0;
    for (int i = 0; i < nt; i++)
        for (int j = i + 1; j < nt; j++) {
            static const double dbs[3] = {0, 6, 6};
            for (int m = 0; m < 3; m++) {
                const talker *A = m == 2 ? &T[j] : &T[i], *B = m == 2 ? &T[i] : &T[j];
                buf c = conversation(A, B, i + j + m, i * 7 + j + m, dbs[m]);
                char name[256];
                snprintf(name, sizeof(name), "talk_%s_%s_%+.0f", A->name, B->name, dbs[m]);
                emit(man, dir, name, "talk", A->name, B->name, dbs[m], &c, &total);
                ncalls++;
            }
        }
    /* hold music and prompts with speech over them */
    static const char *const music[] = {"hold_music/moh_macroform_cold_day.wav",
                                        "hold_music/moh_manolo_camp_morning_coffee.wav",
                                        "hold_music/moh_macroform_robot_dity.gsm"};
    static const char *const prompts[] = {"ivr_prompts/ast_en_basic_pbx_ivr_main.wav",
                                          "ivr_prompts/ast_en_queue_periodic_announce.wav",
                                          "ivr_prompts/ast_en_dir_intro.wav",
                                          "ivr_prompts/ast_en_demo_congrats.wav",
                                          "ivr_prompts/ast_en_vm_intro.wav",
                                          "ivr_prompts/ast_en_agent_user.wav",
                                          "ivr_prompts/ast_en_ss_noservice.wav",
                                          "ivr_prompts/ast_es_queue_periodic_announce.wav",
                                          "ivr_prompts/ast_en_tt_monkeys.wav",
                                          "ivr_prompts/ast_en_queue_youarenext.wav"};
    /* each slice of music, and each prompt, once with one talker over it, the talker and the
     * level (0, +6, -6 dB against the backdrop's RMS) going round */
    static const double lv[3] = {0, 6, -6};
    int k = 0;
    for (size_t f = 0; f < sizeof(music) / sizeof(music[0]) + sizeof(prompts) / sizeof(prompts[0]);
         f++) {
        const int is_music = f < sizeof(music) / sizeof(music[0]);
        const char *src = is_music ? music[f] : prompts[f - sizeof(music) / sizeof(music[0])];
        snprintf(path, sizeof(path), "%s/%s", corpus, src);
        buf m = load8k(path);
        const size_t slice = is_music ? (size_t)(HOLD_SLICE * RATE) : m.n;
        for (size_t at = 0; at + slice / 2 <= m.n; at += slice, k++) {
            size_t n = m.n - at < slice ? m.n - at : slice;
            double e = 0;
            for (size_t i = 0; i < n; i++)
                e += (double)m.x[at + i] * m.x[at + i];
            const double bg_db = 10 * log10(e / (double)n + 1e-20);
            const talker *t = &T[(size_t)k * 5 % (size_t)nt];
            const double db = lv[k % 3];
            buf c = over(m.x + at, n, bg_db, t, k, db);
            const char *base = strrchr(src, '/') + 1;
            char name[256];
            snprintf(name, sizeof(name), "%s_%.*s_%zu_%s_%+.0f", is_music ? "hold" : "ivr",
                     (int)(strchr(base, '.') - base), base, at / RATE, t->name, db);
            emit(man, dir, name, is_music ? "hold" : "ivr", is_music ? "music" : "prompt", t->name,
                 db, &c, &total);
            ncalls++;
        }
        free(m.x);
    }
    fclose(man);
    printf("%d talkers, %.0f s of unique speech; %d calls, %.2f hours\n", nt, unique, ncalls,
           total / 3600);
    for (int i = 0; i < nt; i++) {
        for (int u = 0; u < T[i].nu; u++)
            free(T[i].u[u].x);
        free(T[i].u);
    }
    return 0;
}

/* ---- the music suite ------------------------------------------------------------------------- */

/*
 * Hold music between two pieces of speech: every corpus hold track in slices of MUSIC_SLICE s
 * at every MUSIC_STEP s, and music made here of sustained notes, the kind whose steady partials
 * a tone receiver hears: organ chords, pads, a flute-like melody of long notes, held notes with
 * vibrato, piano. Notes are equal-tempered (A4 = 440 Hz), drawn from G3-C6, so many lie within
 * a few Hz of a call-progress frequency (A4 440, G4 392 by 400, F4 349 by 350, B4 494 by 480,
 * D#5 622 by 620, C#6 1109 by 1100).
 */
#define MUSIC_SLICE 30.0
#define MUSIC_STEP 10.0
#define MUSIC_DB -24.0 /* the music's RMS level (dBFS), as hold music plays under a call */
#define SYNTH_PER_KIND 8

static double note_hz(int semis_from_a4)
{
    return 440.0 * pow(2.0, semis_from_a4 / 12.0);
}

/* One note into x[0..n): partials amp[k] of f (k = 1..np, up to 3.8 kHz), an attack and a
 * release of att and rel s, an envelope decaying by decay_db a second (0: held), vibrato of
 * vib (a share of f) at 5.5 Hz after 0.3 s, and each partial of a detuned twin (a chorus) when
 * detune > 0. */
static void note(float *x, size_t n, double f, const double *amp, int np, double att, double rel,
                 double decay_db, double vib, double detune, double gain)
{
    double ph[16][2] = {{0}};
    for (int k = 0; k < np && k < 16; k++)
        ph[k][0] = urand() * 2 * M_PI, ph[k][1] = urand() * 2 * M_PI;
    const double vph = urand() * 2 * M_PI;
    for (size_t i = 0; i < n; i++) {
        const double t = (double)i / RATE, left = (double)(n - i) / RATE;
        double env = gain * (t < att ? t / att : 1.0) * (left < rel ? left / rel : 1.0) *
                     pow(10, -decay_db * t / 20);
        const double v =
            t > 0.3 ? vib * sin(2 * M_PI * 5.5 * t + vph) * fmin(1.0, (t - 0.3) / 0.4) : 0;
        double y = 0;
        for (int k = 0; k < np && k < 16; k++) {
            const double fk = f * (k + 1) * (1 + v);
            if (fk > 3800)
                break;
            ph[k][0] += 2 * M_PI * fk / RATE;
            y += amp[k] * sin(ph[k][0]);
            if (detune > 0) {
                ph[k][1] += 2 * M_PI * fk * (1 + detune) / RATE;
                y += amp[k] * sin(ph[k][1]);
            }
        }
        x[i] += (float)(env * y);
    }
}

/* A piece of one kind, secs long, into b (its RMS level set later). */
static void synth_piece(buf *b, const char *kind, double secs)
{
    const size_t n = (size_t)(secs * RATE);
    buf_put(b, 0, (const float[]){0}, 1, 0);
    buf_put(b, n - 1, (const float[]){0}, 1, 0);
    static const int major[3] = {0, 4, 7}, minor[3] = {0, 3, 7};
    double t = 0;
    int prev = (int)uniform(-10, 4);
    while (t < secs) {
        size_t at = (size_t)(t * RATE);
        if (!strcmp(kind, "organ") || !strcmp(kind, "pad")) {
            /* a chord of three or four notes, 2-4 s, the next after a short breath or none */
            const int organ = !strcmp(kind, "organ");
            const double d = uniform(2.0, 4.0);
            const int root = (int)uniform(-14, 2), *tri = urand() < 0.5 ? major : minor;
            static const double organ_amp[6] = {1, 0.7, 0.5, 0.35, 0.2, 0.12},
                                pad_amp[8] = {1, 0.45, 0.28, 0.2, 0.15, 0.1, 0.08, 0.06};
            const size_t len = (size_t)(fmin(d + (organ ? 0.02 : 0.6), secs - t) * RATE);
            for (int k = 0; k < 3 + (urand() < 0.4); k++) {
                const int semi = k < 3 ? root + tri[k] : root + 12;
                note(b->x + at, len, note_hz(semi), organ ? organ_amp : pad_amp, organ ? 6 : 8,
                     organ ? 0.02 : 0.5, organ ? 0.03 : 0.6, 0, 0, organ ? 0 : 0.003, 0.25);
            }
            t += d;
        } else if (!strcmp(kind, "flute")) {
            /* a melody of long notes (1-3 s), steps of up to a fourth, legato */
            static const double amp[4] = {1, 0.22, 0.08, 0.03};
            const double d = uniform(1.0, 3.0);
            prev += (int)uniform(-5, 6);
            prev = prev < -8 ? -8 : prev > 15 ? 15 : prev;
            const size_t len = (size_t)(fmin(d + 0.03, secs - t) * RATE);
            note(b->x + at, len, note_hz(prev), amp, 4, 0.06, 0.05, 0, 0.004, 0, 1.0);
            /* breath */
            for (size_t i = 0; i < len && at + i < b->n; i++)
                b->x[at + i] += (float)(0.004 * gauss());
            t += d;
        } else if (!strcmp(kind, "vibrato")) {
            /* a single held note, 8-15 s, vibrato of 0.6-1.2 %, nearly a sine */
            static const double amp[3] = {1, 0.1, 0.03};
            const double d = uniform(8.0, 15.0);
            static const int near_table[] = {0, -2, -4, 3, 2, 1, -1, 5};
            prev = near_table[(int)uniform(0, 8) % 8];
            const size_t len = (size_t)(fmin(d + 0.05, secs - t) * RATE);
            note(b->x + at, len, note_hz(prev), amp, 3, 0.15, 0.2, 0, uniform(0.006, 0.012), 0,
                 1.0);
            t += d;
        } else { /* piano: chords and single notes struck, decaying, pedal held */
            static const double amp[8] = {1, 0.5, 0.35, 0.2, 0.12, 0.08, 0.05, 0.03};
            const double d = uniform(0.5, 2.0);
            const int root = (int)uniform(-12, 6);
            const int nn = urand() < 0.5 ? 1 : 3;
            const size_t len = (size_t)(fmin(d + 1.5, secs - t) * RATE);
            for (int k = 0; k < nn; k++)
                note(b->x + at, len, note_hz(root + (nn == 1 ? 0 : major[k])), amp, 8, 0.005, 0.3,
                     uniform(6, 12), 0, 0.0005, 0.4);
            t += d;
        }
    }
}

static double rms_db(const float *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return 10 * log10(e / (double)(n ? n : 1) + 1e-20);
}

/* One file: speech, the music (at MUSIC_DB), speech; the manifest names the music's span. */
static void music_call(FILE *man, const char *dir, const char *name, const char *kind,
                       const float *m, size_t n, const talker *A, const talker *B, int k)
{
    buf c = {0};
    size_t t = (size_t)(0.3 * RATE);
    for (int i = 0; i < 2; i++) { /* two utterances of A's before */
        const utt *u = &A->u[(k + i) % A->nu];
        buf_put(&c, t, u->x, u->n, 1.0);
        t += u->n + (size_t)(uniform(0.2, 0.6) * RATE);
    }
    t += (size_t)(uniform(0.3, 1.0) * RATE);
    const size_t m0 = t;
    buf_put(&c, m0, m, n, pow(10, (MUSIC_DB - rms_db(m, n)) / 20));
    t = m0 + n + (size_t)(uniform(0.3, 1.0) * RATE);
    for (int i = 0; i < 2; i++) { /* two of B's after */
        const utt *u = &B->u[(k + i) % B->nu];
        buf_put(&c, t, u->x, u->n, 1.0);
        t += u->n + (size_t)(uniform(0.2, 0.6) * RATE);
    }
    buf_put(&c, c.n + RATE / 2, (const float[]){0}, 1, 0);
    add_floor(&c);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
    write_wav(path, c.x, c.n);
    fprintf(man, "%s.wav %s %.4f %.4f %.3f\n", name, kind, (double)m0 / RATE,
            (double)(m0 + n) / RATE, (double)c.n / RATE);
    free(c.x);
}

static int music_suite(const char *corpus, const char *dir)
{
    static const char *const names[] = {"librivox", "cards",    "goforward",
                                        "alsa",     "p862_af1", "p862_am1"};
    talker T[6];
    for (int i = 0; i < 6; i++) {
        size_t j = 0;
        while (strcmp(k_talkers[j].name, names[i]))
            j++;
        T[i] = load_talker(corpus, &k_talkers[j]);
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/manifest", dir);
    FILE *man = fopen(path, "w");
    if (!man)
        die("%s: cannot write", path);
    static const char *const tracks[] = {"hold_music/moh_macroform_cold_day.wav",
                                         "hold_music/moh_manolo_camp_morning_coffee.wav",
                                         "hold_music/moh_macroform_robot_dity.gsm"};
    int k = 0;
    const size_t slice = (size_t)(MUSIC_SLICE * RATE), step = (size_t)(MUSIC_STEP * RATE);
    for (size_t f = 0; f < sizeof(tracks) / sizeof(tracks[0]); f++) {
        snprintf(path, sizeof(path), "%s/%s", corpus, tracks[f]);
        buf m = load8k(path);
        const char *base = strrchr(tracks[f], '/') + 1;
        for (size_t at = 0; at + slice <= m.n; at += step, k++) {
            char name[256];
            snprintf(name, sizeof(name), "track_%.*s_%03zu", (int)(strchr(base, '.') - base), base,
                     at / RATE);
            music_call(man, dir, name, "track", m.x + at, slice, &T[k % 6], &T[(k + 1) % 6], k);
        }
        free(m.x);
    }
    static const char *const kinds[] = {"organ", "pad", "flute", "vibrato", "piano"};
    for (size_t q = 0; q < sizeof(kinds) / sizeof(kinds[0]); q++)
        for (int v = 0; v < SYNTH_PER_KIND; v++, k++) {
            g_rng = 0x9e3779b97f4a7c15ull ^
                    ((uint64_t)(q * 100 + (size_t)v + 1) * 0x2545f4914f6cdd1dull);
            buf m = {0};
            synth_piece(&m, kinds[q], MUSIC_SLICE);
            char name[256];
            snprintf(name, sizeof(name), "synth_%s_%d", kinds[q], v);
            music_call(man, dir, name, kinds[q], m.x, (size_t)(MUSIC_SLICE * RATE), &T[k % 6],
                       &T[(k + 1) % 6], k);
            free(m.x);
        }
    fclose(man);
    printf("%d music files\n", k);
    for (int i = 0; i < 6; i++) {
        for (int u = 0; u < T[i].nu; u++)
            free(T[i].u[u].x);
        free(T[i].u);
    }
    return 0;
}

/*
 * A call to a queue: the agent's greeting, the queue's prompt (a corpus IVR prompt), 44 s of
 * hold music of held notes with vibrato (the kind a 20 ms tone receiver hears as a table tone),
 * and the agent again. Writes OUT and prints "PROMPT_START PROMPT_END MUSIC_START MUSIC_END".
 */
static int queue_call(const char *corpus, const char *out_path)
{
    size_t j = 0;
    while (strcmp(k_talkers[j].name, "cards"))
        j++;
    talker A = load_talker(corpus, &k_talkers[j]);
    char path[4096];
    snprintf(path, sizeof(path), "%s/ivr_prompts/ast_en_queue_periodic_announce.wav", corpus);
    buf prompt = load8k(path);
    /* the music suite's first vibrato piece (synth_vibrato_0), longer: its A4 and G4 sounded
     * like the European and UK tones to the 20 ms receiver, and its hold was lost */
    g_rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(3 * 100 + 0 + 1) * 0x2545f4914f6cdd1dull);
    buf m = {0};
    synth_piece(&m, "vibrato", 44.0);
    buf c = {0};
    size_t t = (size_t)(0.5 * RATE);
    buf_put(&c, t, A.u[0].x, A.u[0].n, 1.0);
    t += A.u[0].n + RATE;
    const size_t p0 = t;
    buf_put(&c, p0, prompt.x, prompt.n, pow(10, (TALK_DB - active_db(prompt.x, prompt.n)) / 20));
    t = p0 + prompt.n + RATE / 10; /* the queue's music right after its prompt */
    const size_t m0 = t;
    buf_put(&c, m0, m.x, m.n, pow(10, (MUSIC_DB - rms_db(m.x, m.n)) / 20));
    t = m0 + m.n + RATE / 2;
    for (int i = 1; i < 3; i++) {
        buf_put(&c, t, A.u[i % A.nu].x, A.u[i % A.nu].n, 1.0);
        t += A.u[i % A.nu].n + RATE / 2;
    }
    add_floor(&c);
    write_wav(out_path, c.x, c.n);
    printf("%.4f %.4f %.4f %.4f\n", (double)p0 / RATE, (double)(p0 + prompt.n) / RATE,
           (double)m0 / RATE, (double)(m0 + m.n) / RATE);
    free(c.x);
    free(m.x);
    free(prompt.x);
    for (int u = 0; u < A.nu; u++)
        free(A.u[u].x);
    free(A.u);
    return 0;
}

/* ---- the long signals ------------------------------------------------------------------------ */

/*
 * One long signal from one period of it: `period` (8 kHz), its tones at the spans on[k][0..1]
 * (s). 2-15 periods from a random point of one, at -15 to +6 dB from the period's level; a gain
 * step of 6 dB up or down at a random point of the middle half; 1-3 frames of 20 ms lost, each
 * zeroed or cut out. Writes the file and prints "NAME START END PERIODS": the first and last sample
 * a tone sounds in (a piece of a burst under 20 ms that the recording's start or end leaves does
 * not count: through a codec no receiver can name it).
 */
static int signal_file(const char *period_path, const char *dir, const char *name, uint64_t seed,
                       double on[][2], int non)
{
    g_rng ^= seed * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 8; i++)
        (void)urand();
    buf per = load8k(period_path);
    const size_t P = per.n, periods = 2 + (size_t)(urand() * 14),
                 phase = (size_t)(urand() * (double)P);
    const size_t n = periods * P;
    float *x = malloc(n * sizeof(float));
    uint8_t *tone = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        const size_t k = (phase + i) % P;
        x[i] = per.x[k];
        for (int s = 0; s < non; s++)
            tone[i] |= k >= (size_t)(on[s][0] * RATE) && k < (size_t)(on[s][1] * RATE);
    }
    /* the level: the period's (-20 dBFS peak) moved by -15 to +6 dB, then 6 dB up or down
     * from a point of the middle half on */
    const size_t step = (size_t)(uniform(0.25, 0.75) * (double)n);
    const double g0 = pow(10, uniform(-15, 6) / 20),
                 g = g0 * pow(10, (urand() < 0.5 ? 6.0 : -6.0) / 20);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(x[i] * (i < step ? g0 : g));
    /* 1-3 frames of 20 ms lost: zeroed (no concealment) or cut out of the recording */
    size_t m = n;
    const int drops = 1 + (int)(urand() * 3);
    for (int d = 0; d < drops; d++) {
        const size_t fr = RATE / 50, at = (size_t)(urand() * (double)(m - fr));
        if (urand() < 0.5) {
            memset(x + at, 0, fr * sizeof(float));
            memset(tone + at, 0, fr);
        } else {
            memmove(x + at, x + at + fr, (m - at - fr) * sizeof(float));
            memmove(tone + at, tone + at + fr, m - at - fr);
            m -= fr;
        }
    }
    /* the first and last sample of tone, pieces under 20 ms at either end aside */
    size_t a = 0, b = m;
    while (a < m && !tone[a])
        a++;
    size_t e = a;
    while (e < m && tone[e])
        e++;
    if (a == 0 && e < RATE / 50)
        for (a = e; a < m && !tone[a]; a++)
            ;
    while (b > a && !tone[b - 1])
        b--;
    size_t s0 = b;
    while (s0 > a && tone[s0 - 1])
        s0--;
    if (b == m && b - s0 < RATE / 50)
        for (b = s0; b > a && !tone[b - 1]; b--)
            ;
    buf out = {0};
    buf_put(&out, 0, x, m, 1.0);
    add_floor(&out);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
    write_wav(path, out.x, out.n);
    printf("%s.wav %.4f %.4f %zu\n", name, (double)a / RATE, (double)b / RATE, periods);
    free(out.x);
    free(x);
    free(tone);
    free(per.x);
    return 0;
}

/*
 * A long signal cut by the recording at each of `phases` points of its period: file k starts
 * k/phases of the way into a period and holds `periods` periods. Prints "NAME_k.wav START END
 * EARLY LATE" per file: the first sample of its first piece of tone that sounds 100 ms or more
 * (a partial first burst of 0.1 s is the signal's start) and the last sample of its last such
 * piece; EARLY and LATE the same of pieces of 20 ms or more (which may be claimed too).
 */
static int sweep_files(const char *period_path, const char *dir, const char *name, int phases,
                       int periods, double on[][2], int non)
{
    buf per = load8k(period_path);
    const size_t P = per.n, n = (size_t)periods * P;
    for (int k = 0; k < phases; k++) {
        const size_t phase = (size_t)((double)k * (double)P / phases);
        buf out = {0};
        uint8_t *tone = calloc(n, 1);
        buf_put(&out, 0, (const float[]){0}, 1, 0);
        buf_put(&out, n - 1, (const float[]){0}, 1, 0);
        for (size_t i = 0; i < n; i++) {
            const size_t q = (phase + i) % P;
            out.x[i] = per.x[q];
            for (int r = 0; r < non; r++)
                tone[i] |= q >= (size_t)(on[r][0] * RATE) && q < (size_t)(on[r][1] * RATE);
        }
        /* the runs of tone: the first and the last of 100 ms or more, and of 20 ms or more */
        size_t a = n, b = 0, a20 = n, b20 = 0;
        for (size_t i = 0; i < n;) {
            if (!tone[i]) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && tone[j])
                j++;
            if (j - i >= RATE / 10) {
                a = a < n ? a : i;
                b = j;
            }
            if (j - i >= RATE / 50) {
                a20 = a20 < n ? a20 : i;
                b20 = j;
            }
            i = j;
        }
        add_floor(&out);
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s_%02d.wav", dir, name, k);
        write_wav(path, out.x, out.n);
        printf("%s_%02d.wav %.4f %.4f %.4f %.4f\n", name, k, (double)a / RATE, (double)b / RATE,
               (double)a20 / RATE, (double)b20 / RATE);
        free(out.x);
        free(tone);
    }
    free(per.x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && !strcmp(argv[1], "signal")) {
        double on[64][2];
        int non = 0;
        for (int i = 6; i < argc && non < 64; i++, non++)
            if (sscanf(argv[i], "%lf-%lf", &on[non][0], &on[non][1]) != 2)
                die("%s: expected START-END", argv[i]);
        return signal_file(argv[2], argv[3], argv[4], strtoull(argv[5], NULL, 10), on, non);
    }
    if (argc >= 8 && !strcmp(argv[1], "sweep")) {
        double on[64][2];
        int non = 0;
        for (int i = 7; i < argc && non < 64; i++, non++)
            if (sscanf(argv[i], "%lf-%lf", &on[non][0], &on[non][1]) != 2)
                die("%s: expected START-END", argv[i]);
        return sweep_files(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]), on, non);
    }
    if (argc == 4 && !strcmp(argv[1], "queue"))
        return queue_call(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "music"))
        return music_suite(argv[2], argv[3]);
    if (argc >= 4 && !strcmp(argv[1], "talkoff"))
        return talkoff(argv[2], argv[3], argc >= 6 && !strcmp(argv[4], "--skip") ? argv[5] : NULL);
    fprintf(stderr, "usage: events_mkcalls talkoff CORPUS OUTDIR [--skip TALKER,...]\n"
                    "       events_mkcalls music CORPUS OUTDIR\n"
                    "       events_mkcalls queue CORPUS OUT.wav\n"
                    "       events_mkcalls sweep PERIOD.wav OUTDIR NAME PHASES PERIODS ON-OFF...\n"
                    "       events_mkcalls signal PERIOD.wav OUTDIR NAME SEED ON-OFF...\n");
    return 2;
}
