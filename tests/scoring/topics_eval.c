/*
 * topics_eval.c - call topics by rules on the 30 Harper Valley bank calls: each call's
 * transcript (callqa's format, made by hv_to_callqa.py from the ASR text) imported as callqa
 * imports one, classified with a topics file, and compared with the task the caller was given
 * (metadata tasks[0].task_type, which the topic's subclass names). Prints every call, the
 * accuracy of the tune and held-out halves (the labels file's "split") and the confusions.
 *
 *   topics_eval TOPICS CALLS_DIR TRANSCRIPTS_DIR LABELS [MIN_HELDOUT]
 *
 * CALLS_DIR holds SID.json (hv_to_callqa.py --all); TRANSCRIPTS_DIR is ../shared/transcripts
 * (its metadata/SID.json). With MIN_HELDOUT (a fraction), exits 1 when the held-out accuracy
 * is below it. Exits 77 when the transcripts are missing.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct confusion {
    char truth[64], got[64];
    int n;
} confusion;

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: topics_eval TOPICS CALLS_DIR TRANSCRIPTS_DIR LABELS [MIN_HELDOUT]\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/metadata", argv[3]);
    if (access(path, R_OK) != 0) {
        printf("SKIP: no transcripts at %s\n", argv[3]);
        return 77;
    }
    size_t len;
    char *text = slurp(argv[1], &len), err[300];
    if (!text) {
        fprintf(stderr, "topics_eval: cannot read %s\n", argv[1]);
        return 1;
    }
    sc_topics *tp = sc_topics_load(text, len, err, sizeof(err));
    free(text);
    if (!tp) {
        fprintf(stderr, "topics_eval: %s: %s\n", argv[1], err);
        return 1;
    }
    json_error_t je;
    json_t *labels = json_load_file(argv[4], 0, &je);
    json_t *split = json_object_get(labels, "split");
    if (!json_is_object(split)) {
        fprintf(stderr, "topics_eval: %s: no split\n", argv[4]);
        return 1;
    }
    static const char *const halves[] = {"tune", "heldout"};
    int right[2] = {0, 0}, total[2] = {0, 0}, unknown = 0;
    confusion conf[2][64];
    int nconf[2] = {0, 0};
    for (int h = 0; h < 2; h++) {
        json_t *sids = json_object_get(split, halves[h]);
        for (size_t i = 0; i < json_array_size(sids); i++) {
            const char *sid = json_string_value(json_array_get(sids, i));
            snprintf(path, sizeof(path), "%s/metadata/%s.json", argv[3], sid);
            json_t *meta = json_load_file(path, 0, &je);
            const char *truth = json_string_value(
                json_object_get(json_array_get(json_object_get(meta, "tasks"), 0), "task_type"));
            snprintf(path, sizeof(path), "%s/%s.json", argv[2], sid);
            char *body = slurp(path, &len);
            if (!truth || !body) {
                fprintf(stderr, "topics_eval: %s: no task or no converted transcript\n", sid);
                return 1;
            }
            tx_transcript t;
            sc_text words;
            sc_topic got;
            if (tx_import(body, len, "customer", NULL, &t, err, sizeof(err)) != 0) {
                fprintf(stderr, "topics_eval: %s: %s\n", sid, err);
                return 1;
            }
            if (sc_text_from_transcript(&t, 0, &words) != 0 ||
                sc_topics_classify(tp, &words, &got) != 0) {
                fprintf(stderr, "topics_eval: out of memory\n");
                return 1;
            }
            const char *g = got.known ? got.subclass : "(none)";
            bool ok = !strcmp(g, truth);
            right[h] += ok;
            total[h]++;
            unknown += !got.known;
            printf("%-7s %s %-3s %-20s -> %-20s conf %.3f:", halves[h], sid, ok ? "ok" : "BAD",
                   truth, g, got.confidence);
            for (int k = 0; k < got.n_phrases; k++)
                printf(" \"%s\"", got.phrases[k]);
            printf("\n");
            if (!ok) {
                int c = 0;
                while (c < nconf[h] &&
                       (strcmp(conf[h][c].truth, truth) || strcmp(conf[h][c].got, g)))
                    c++;
                if (c == nconf[h] && c < 64) {
                    snprintf(conf[h][c].truth, sizeof(conf[h][c].truth), "%s", truth);
                    snprintf(conf[h][c].got, sizeof(conf[h][c].got), "%s", g);
                    conf[h][c].n = 0;
                    nconf[h]++;
                }
                if (c < 64)
                    conf[h][c].n++;
            }
            sc_topic_free(&got);
            sc_text_free(&words);
            tx_transcript_free(&t);
            free(body);
            json_decref(meta);
        }
    }
    for (int h = 0; h < 2; h++) {
        printf("%s: %d of %d right (%.1f %%)\n", halves[h], right[h], total[h],
               total[h] ? 100.0 * right[h] / total[h] : 0.0);
        for (int c = 0; c < nconf[h]; c++)
            printf("  %s: %s taken for %s (%d)\n", halves[h], conf[h][c].truth, conf[h][c].got,
                   conf[h][c].n);
    }
    printf("calls with no topic matched: %d\n", unknown);
    json_decref(labels);
    sc_topics_free(tp);
    if (total[1] == 0 || total[0] == 0) {
        fprintf(stderr, "topics_eval: an empty half\n");
        return 1;
    }
    if (argc > 5) {
        char *end;
        double min = strtod(argv[5], &end);
        if (end == argv[5] || *end) {
            fprintf(stderr, "topics_eval: MIN_HELDOUT must be a number\n");
            return 2;
        }
        double acc = (double)right[1] / total[1];
        if (acc + 1e-9 < min) {
            printf("FAIL: held-out accuracy %.3f below the documented %.3f\n", acc, min);
            return 1;
        }
        printf("held-out accuracy %.3f >= %.3f\n", acc, min);
    }
    return 0;
}
