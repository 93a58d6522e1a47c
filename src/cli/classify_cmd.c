/*
 * classify_cmd.c - `callqa classify`: call events of one live stream or of files, printed as
 * JSON lines as soon as they are known.
 *
 *   callqa classify [--rate HZ] -          raw signed 16-bit little-endian mono PCM on stdin
 *   callqa classify [--channel N] FILE...  any recording callqa decodes (one channel of it)
 *
 * The audio is read in blocks of 20 ms, resampled to 8 kHz when needed, given to the VAD
 * (Silero when the model is installed, else the DSP fallback) chunk by chunk and to the
 * classifier; every event is printed with its "id" and "at", the audio time read when it was
 * printed: once "open" as soon as it is recognised (a hold, a ringback, a SIT, the first DTMF
 * digit), "update" when more is known (each later digit, with the digits so far), and once
 * "closed" when it is complete. The closed events are callqa analyze's (docs/events.md).
 * Several files are each a stream of their own, one after the other, the model loaded once;
 * each line then starts with the file's "file". A file that cannot be read is named on stderr
 * and the others are still classified (exit status 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callqa/callqa.h"
#include "classify_cmd.h"
#include "cli_args.h"
#include "vad_model.h"

#define BLOCK_MS 20

typedef struct stream {
    cq_vad *vad;
    cq_classifier *cls;
    cq_resample *rs;
    float *rsbuf;
    size_t rscap;
    uint64_t pushed; /* 8 kHz samples given to the classifier */
    float pend[CQ_CLASSIFY_FRAME];
    size_t npend;
    int timeline;
    const char *file; /* with several files: "file":"..." first on each line (escaped) */
} stream;

/* "file":"PATH", with PATH escaped as a JSON string, into b (cut to n, always terminated). */
static void file_field(const char *path, char *b, size_t n)
{
    size_t k = (size_t)snprintf(b, n, "\"file\":\"");
    for (const unsigned char *c = (const unsigned char *)path; *c && k + 8 < n; c++) {
        if (*c == '"' || *c == '\\')
            k += (size_t)snprintf(b + k, n - k, "\\%c", *c);
        else if (*c < 0x20)
            k += (size_t)snprintf(b + k, n - k, "\\u%04x", *c);
        else
            b[k++] = (char)*c;
    }
    snprintf(b + k, n - k, "\",");
}

static void print_event(const stream *s, const cq_call_event *e, double at)
{
    char b[1024];
    cq_call_event_fields(e, at, b, sizeof(b));
    printf("{%s%s}\n", s->file ? s->file : "", b);
}

static int drain(stream *s)
{
    const cq_call_event *ev;
    size_t n;
    int rc = cq_classifier_poll(s->cls, &ev, &n);
    for (size_t i = 0; rc == CQ_OK && i < n; i++)
        print_event(s, &ev[i], (double)s->pushed / CQ_CLASSIFY_RATE);
    if (n)
        fflush(stdout);
    return rc;
}

/* 8 kHz samples into the VAD (whole chunks) and the classifier. */
static int feed8k(stream *s, const float *x, size_t n)
{
    int rc = cq_classifier_push_audio(s->cls, x, n);
    s->pushed += n;
    while (rc == CQ_OK && n) {
        size_t k = CQ_CLASSIFY_FRAME - s->npend < n ? CQ_CLASSIFY_FRAME - s->npend : n;
        memcpy(s->pend + s->npend, x, k * sizeof(float));
        s->npend += k, x += k, n -= k;
        if (s->npend == CQ_CLASSIFY_FRAME) {
            float p;
            s->npend = 0;
            if ((rc = cq_vad_process(s->vad, s->pend, 1, &p)) == CQ_OK)
                rc = cq_classifier_push_vad(s->cls, &p, 1);
        }
    }
    return rc == CQ_OK ? drain(s) : rc;
}

static int feed(stream *s, const float *x, size_t n)
{
    if (!s->rs)
        return feed8k(s, x, n);
    long got = cq_resample_process(s->rs, x, n, s->rsbuf, s->rscap);
    return got < 0 ? (int)got : feed8k(s, s->rsbuf, (size_t)got);
}

static int finish(stream *s)
{
    int rc = CQ_OK;
    long got;
    while (s->rs && rc == CQ_OK &&
           (got = cq_resample_process(s->rs, NULL, 0, s->rsbuf, s->rscap)) > 0)
        rc = feed8k(s, s->rsbuf, (size_t)got);
    if (rc == CQ_OK && s->npend) { /* the last chunk, zero-padded, as the engine does */
        float p;
        memset(s->pend + s->npend, 0, (CQ_CLASSIFY_FRAME - s->npend) * sizeof(float));
        if ((rc = cq_vad_process(s->vad, s->pend, 1, &p)) == CQ_OK)
            rc = cq_classifier_push_vad(s->cls, &p, 1);
    }
    if (rc == CQ_OK && (rc = cq_classifier_finish(s->cls)) == CQ_OK)
        rc = drain(s);
    if (rc == CQ_OK && s->timeline) {
        size_t n;
        const cq_class_seg *tl = cq_classifier_timeline(s->cls, &n);
        for (size_t i = 0; i < n; i++)
            printf("{%s\"segment\":\"%s\",\"start\":%.3f,\"end\":%.3f,\"confidence\":%.2f}\n",
                   s->file ? s->file : "", cq_seg_class_name(tl[i].cls), tl[i].start_sec,
                   tl[i].end_sec, tl[i].confidence);
    }
    return rc;
}

/* One stream: a file (src; file = its "file" field, or NULL when it is the only one) or stdin
 * (src "-"). 0, or 1 after printing why to stderr; 2 for a usage error. */
static int classify_one(const char *src, const char *file, cq_vad_model *vm,
                        const cq_classify_params *cp, long rate, long channel, int timeline)
{
    stream s = {.timeline = timeline, .file = file};
    cq_audio *a = NULL;
    cq_err err;
    cq_err_clear(&err);
    if (strcmp(src, "-") != 0) {
        if (!(a = cq_audio_open(src, &err))) {
            fprintf(stderr, "callqa: %s\n", err.msg);
            return 1;
        }
        const cq_audio_info *info = cq_audio_get_info(a);
        if (channel > info->channels) {
            fprintf(stderr, "callqa: %s has %d channel(s)\n", src, info->channels);
            cq_audio_close(a);
            return 2;
        }
        rate = info->sample_rate_hz;
    }

    int rc = CQ_OK;
    s.vad = cq_vad_create(vm, CQ_CLASSIFY_RATE, &rc);
    if (s.vad)
        s.cls = cq_classifier_create(cp, &rc);
    size_t block = (size_t)(rate * BLOCK_MS / 1000);
    if (s.cls && rate != CQ_CLASSIFY_RATE && (s.rs = cq_resample_create((double)rate, 8000, &rc))) {
        s.rscap = block * 8000 / (size_t)rate + 1024;
        if (!(s.rsbuf = malloc(s.rscap * sizeof(float))))
            rc = CQ_ERR_NOMEM;
    }
    const int nch = a ? cq_audio_get_info(a)->channels : 1;
    float *x = malloc(block * (size_t)nch * sizeof(float));
    int16_t *raw = malloc(block * sizeof(int16_t));
    if (!x || !raw)
        rc = CQ_ERR_NOMEM;
    while (rc == CQ_OK) {
        size_t got = 0;
        if (a) {
            int64_t r = cq_audio_read(a, x, block, &err);
            if (r < 0) {
                fprintf(stderr, "callqa: %s\n", err.msg);
                rc = (int)r;
                break;
            }
            for (int64_t i = 0; i < r; i++)
                x[i] = x[i * nch + channel - 1];
            got = (size_t)r;
        } else {
            got = fread(raw, sizeof(int16_t), block, stdin);
            for (size_t i = 0; i < got; i++)
                x[i] = (float)raw[i] / 32768.0f;
        }
        if (!got)
            break;
        rc = feed(&s, x, got);
    }
    if (rc == CQ_OK)
        rc = finish(&s);
    if (rc != CQ_OK && !err.msg[0])
        fprintf(stderr, "callqa: classify: %s%s%s\n", file ? src : "", file ? ": " : "",
                cq_strerror(rc));
    free(x);
    free(raw);
    free(s.rsbuf);
    cq_resample_destroy(s.rs);
    cq_classifier_destroy(s.cls);
    cq_vad_destroy(s.vad);
    cq_audio_close(a);
    return rc == CQ_OK ? 0 : 1;
}

int cq_cli_classify(int argc, char **argv)
{
    static cfg_settings set; /* model_dir, dtmf_*, live_mode, live_silence_sec: their flags */
    cfg_defaults(&set);
    cfg_args args;
    int rc0 = cq_cli_args("classify", "callqa", argc, argv, &set, &args);
    if (rc0 >= 0)
        return rc0;
    long rate = (long)cfg_arg_num(&args, "rate"), channel = (long)cfg_arg_num(&args, "channel");
    const char *model_dir = set.model_dir[0] ? set.model_dir : NULL;
    cq_classify_params cp = cq_classify_default_params();
    cp.tones.dtmf_speech = set.analysis.dtmf_speech;
    cp.tones.dtmf_voice_cancel = set.analysis.dtmf_voice_cancel;
    cp.live = (cq_live_mode)set.live_mode;
    cp.silence_event_sec = set.live_silence_sec;
    const int nsrc = argc - args.next;
    int stdin_given = 0;
    for (int i = args.next; i < argc; i++)
        stdin_given |= !strcmp(argv[i], "-");
    if (nsrc < 1 || (stdin_given && nsrc > 1)) { /* stdin is one stream alone */
        cq_cli_usage(stderr, "classify");
        return 2;
    }

    cq_vad_model *vm = cq_cli_vad_model_load(model_dir);
    int worst = 0;
    for (int i = args.next; i < argc; i++) {
        char field[4200];
        if (nsrc > 1)
            file_field(argv[i], field, sizeof(field));
        int rc = classify_one(argv[i], nsrc > 1 ? field : NULL, vm, &cp, rate, channel,
                              cfg_arg_given(&args, "timeline"));
        worst = rc > worst ? rc : worst;
        fflush(stdout);
    }
    cq_vad_model_free(vm);
    return worst;
}
