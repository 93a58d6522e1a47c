/*
 * vad_agreement.c - how well the DSP fallback VAD agrees with Silero VAD: both run through the
 * engine on every leg of the given recordings; speech/non-speech is compared on a 10 ms grid.
 * Prints per-folder and overall figures: agreement (share of the grid where both say the
 * same), the fallback's precision and recall against Silero, and the mean absolute
 * difference of speech_pct.
 *
 *   vad_agreement MODEL_DIR FILE...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"

typedef struct acc {
    char name[64];
    double tp, fp, fn, tn, dpct;
    int legs;
} acc;

static int in_speech(const cq_leg_report *l, double t)
{
    for (size_t i = 0; i < l->n_speech; i++) {
        double a = (double)l->speech[i].start / l->vad_rate_hz;
        double b = (double)l->speech[i].end / l->vad_rate_hz;
        if (t >= a && t < b)
            return 1;
    }
    return 0;
}

static void add(acc *a, const cq_leg_report *s, const cq_leg_report *d)
{
    double dur = (double)s->vad_samples / s->vad_rate_hz;
    for (double t = 0.005; t < dur; t += 0.01) {
        int x = in_speech(s, t), y = in_speech(d, t);
        a->tp += x && y, a->fp += !x && y, a->fn += x && !y, a->tn += !x && !y;
    }
    a->dpct += fabs(s->speech_pct - d->speech_pct);
    a->legs++;
}

static void print(const acc *a)
{
    double n = a->tp + a->fp + a->fn + a->tn;
    printf("| %-14s | %4d | %5.1f %% | %5.1f %% | %5.1f %% | %5.1f |\n", a->name, a->legs,
           n ? 100 * (a->tp + a->tn) / n : 0, a->tp + a->fp ? 100 * a->tp / (a->tp + a->fp) : 0,
           a->tp + a->fn ? 100 * a->tp / (a->tp + a->fn) : 0, a->legs ? a->dpct / a->legs : 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: vad_agreement MODEL_DIR FILE...\n");
        return 2;
    }
    cq_engine_params ps = cq_engine_default_params(), pd = ps;
    ps.analyzers = pd.analyzers = CQ_AN_VAD;
    ps.model_dir = argv[1];
    cq_engine *es = cq_engine_create(&ps, NULL), *ed = cq_engine_create(&pd, NULL);
    if (!es || !ed || cq_engine_vad_status(es)) {
        fprintf(stderr, "%s\n", es ? cq_engine_vad_status(es) : "engine");
        return 1;
    }
    acc groups[32], all = {.name = "all"};
    int ng = 0;
    for (int i = 2; i < argc; i++) {
        cq_call_src src = {.path = argv[i]};
        cq_report *rs = NULL, *rd = NULL;
        cq_err err;
        if (cq_engine_analyze(es, &src, &rs, &err) != CQ_OK ||
            cq_engine_analyze(ed, &src, &rd, &err) != CQ_OK) {
            fprintf(stderr, "%s\n", err.msg);
            cq_report_destroy(rs);
            continue;
        }
        /* group by the folder name */
        char g[64] = "";
        const char *slash = strrchr(argv[i], '/');
        if (slash) {
            const char *p = slash - 1;
            while (p > argv[i] && *p != '/')
                p--;
            snprintf(g, sizeof(g), "%.*s", (int)(slash - p - (*p == '/')), p + (*p == '/'));
        }
        int k = 0;
        while (k < ng && strcmp(groups[k].name, g))
            k++;
        if (k == ng && ng < 32) {
            memset(&groups[ng], 0, sizeof(acc));
            snprintf(groups[ng].name, sizeof(groups[ng].name), "%s", g);
            ng++;
        }
        const cq_leg_report *ls[2] = {rs->inbound, rs->outbound},
                            *ld[2] = {rd->inbound, rd->outbound};
        for (int l = 0; l < 2; l++) {
            if (!ls[l])
                continue;
            if (k < 32)
                add(&groups[k], ls[l], ld[l]);
            add(&all, ls[l], ld[l]);
        }
        cq_report_destroy(rs);
        cq_report_destroy(rd);
    }
    printf("| folder | legs | agreement | precision | recall | mean abs speech_pct diff |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int k = 0; k < ng; k++)
        print(&groups[k]);
    print(&all);
    cq_engine_destroy(es);
    cq_engine_destroy(ed);
    return 0;
}
