/*
 * redact_dtmf.c - the keyed digits of a call's redacted copy: the report's DTMF runs and the
 * pauses they and the pause marks open (muted on every channel), the runs the recording holds
 * for the receivers at their most sensitive (both of ours beside libspandsp's), and the copy
 * read back: no keyed digit anywhere in it, and each interval holding only what was written
 * there (redact.c's DESIGN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_resample.h"
#include "callqa/cq_tones.h"
#include "redact_int.h"

#define RD_LONE_SEC 2.0 /* a single digit heard with no other run this near: talk-off */

/* ---- the report's runs, the pause codes and marks ------------------------------------------- */

/* The intervals of a call covered on every channel: the report's DTMF runs, the pauses (the
 * transcript's spans are placed on their leg's audio: pl__place_span). */
int pl__intervals_of(const pl_redact_plan *p, const cq_report *rep, pl__ivl_list *out,
                     size_t *dtmf_runs, size_t *pauses)
{
    *dtmf_runs = *pauses = 0;
    const cq_leg_report *L[2] = {rep->inbound, rep->outbound};
    double pause_at = -1;
    /* the DTMF events of both legs in the call's order (for the pause marks) */
    typedef struct ev {
        double a, b;
        const char *digits;
    } ev;
    ev *evs = NULL;
    size_t ne = 0, cap = 0;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; L[l] && i < L[l]->n_events; i++) {
            const cq_call_event *e = &L[l]->events[i];
            if (e->type != CQ_EV_DTMF)
                continue;
            if (ne == cap) {
                cap = cap ? cap * 2 : 8;
                ev *x = realloc(evs, cap * sizeof(*x));
                if (!x) {
                    free(evs);
                    return -1;
                }
                evs = x;
            }
            evs[ne++] = (ev){e->start_sec, e->end_sec, e->digits};
        }
    for (size_t i = 1; i < ne; i++) /* insertion sort: a handful */
        for (size_t j = i; j > 0 && evs[j].a < evs[j - 1].a; j--) {
            ev t = evs[j];
            evs[j] = evs[j - 1], evs[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < ne && rc == 0; i++) {
        (*dtmf_runs)++;
        rc = pl__ivl_add(out, evs[i].a - p->pv.guard_sec, evs[i].b + p->pv.guard_sec, "dtmf");
        const char *d = evs[i].digits ? evs[i].digits : "";
        if (p->pause[0] && pause_at < 0 && strstr(d, p->pause)) {
            pause_at = evs[i].a - p->pv.guard_sec;
            /* a resume code after the pause code in the same run ends it there */
            const char *after = strstr(d, p->pause) + strlen(p->pause);
            if (p->resume[0] && strstr(after, p->resume)) {
                rc = rc ? rc : pl__ivl_add(out, pause_at, evs[i].b + p->pv.guard_sec, "pause");
                (*pauses)++;
                pause_at = -1;
            }
        } else if (pause_at >= 0 && p->resume[0] && strstr(d, p->resume)) {
            rc = pl__ivl_add(out, pause_at, evs[i].b + p->pv.guard_sec, "pause");
            (*pauses)++;
            pause_at = -1;
        }
    }
    if (rc == 0 && pause_at >= 0) { /* never resumed: to the end */
        rc = pl__ivl_add(out, pause_at, rep->duration_sec + 1, "pause");
        (*pauses)++;
    }
    /* the marks sent for the call, in time order: a pause to the next resume, or to the end */
    bool paused = false;
    double mark_at = 0;
    for (int i = 0; i < p->n_marks && rc == 0; i++) {
        if (p->mark_pause[i] && !paused) {
            paused = true;
            mark_at = p->mark_sec[i] - p->pv.guard_sec;
        } else if (!p->mark_pause[i] && paused) {
            rc = pl__ivl_add(out, mark_at, p->mark_sec[i] + p->pv.guard_sec, "pause");
            (*pauses)++;
            paused = false;
        }
    }
    if (rc == 0 && paused) {
        rc = pl__ivl_add(out, mark_at, rep->duration_sec + 1, "pause");
        (*pauses)++;
    }
    free(evs);
    return rc;
}

/* ---- keyed digits heard: the receivers at their most sensitive ---------------------------------
 */

/* Event i of ev[0..n) a single digit with no other run of keyed digits within RD_LONE_SEC: the
 * form of the sensitive receivers' talk-off in speech (a vowel's harmonics heard as one digit).
 * A secret keyed is a train of digits, and under speech the receivers hear most of a train's
 * digits (docs/privacy.md), so such a digit is neither muted nor counted against the copy. */
static bool lone_digit(const cq_tone_event *ev, size_t n, size_t i)
{
    if (strlen(ev[i].digits) != 1)
        return false;
    for (size_t j = 0; j < n; j++)
        if (j != i && ev[j].kind == CQ_TONE_DTMF && ev[j].end_sec > ev[i].start_sec - RD_LONE_SEC &&
            ev[j].start_sec < ev[i].end_sec + RD_LONE_SEC)
            return false;
    return true;
}

/* Every DTMF run in the file at path, on each channel at 8 kHz, through cq_tones with both of
 * our receivers on (dtmf_speech, dtmf_voice_cancel) beside libspandsp's: each run's interval
 * (widened by guard) appended to runs (when not NULL), *digits the digits heard, *first the
 * first run's start (-1: none). With iv (and mode), each interval of iv[c] is also checked to
 * hold only what was written there on channel c (*bad: those that do not; *checked: those the
 * file reached).
 * 0, or -1 with why. */
static int scan_file(const char *path, double guard, pl__ivl_list *runs, size_t *digits,
                     size_t *lone, double *first, const pl__ivl_list iv[2], int mode, size_t *bad,
                     size_t *checked, double *bad_at, char *why, size_t n)
{
    *digits = *lone = 0;
    *first = -1;
    cq_err e;
    cq_err_clear(&e);
    cq_audio *a = cq_audio_open(path, &e);
    if (!a) {
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    const cq_audio_info *info = cq_audio_get_info(a);
    int ch = info->channels, rate = info->sample_rate_hz;
    cq_tones_params tp = cq_tones_default_params();
    tp.dtmf_speech = tp.dtmf_voice_cancel = true;
    cq_tones *tn[2] = {NULL, NULL};
    cq_resample *rs[2] = {NULL, NULL};
    float *buf[2] = {NULL, NULL}, *r8 = NULL;
    int rc = 0;
    size_t r8cap = PL__RD_BLOCK * 2 + 64;
    if (!(r8 = malloc(r8cap * sizeof(float))))
        rc = -1;
    for (int c = 0; c < ch && rc == 0; c++) {
        int err = 0;
        if (!(buf[c] = malloc(PL__RD_BLOCK * sizeof(float))) ||
            !(tn[c] = cq_tones_create(&tp, &err)))
            rc = -1;
        if (rc == 0 && rate != 8000 && !(rs[c] = cq_resample_create(rate, 8000, &err)))
            rc = -1;
    }
    /* each channel's intervals (iv[0], iv[1]): checked on that channel */
    size_t ni[2] = {iv ? iv[0].n : 0, iv && ch > 1 ? iv[1].n : 0};
    bool *ivl_bad[2] = {NULL, NULL}, *ivl_seen[2] = {NULL, NULL};
    for (int c = 0; c < 2; c++)
        if (ni[c] && (!(ivl_bad[c] = calloc(ni[c], sizeof(bool))) ||
                      !(ivl_seen[c] = calloc(ni[c], sizeof(bool)))))
            rc = -1;
    int64_t frame = 0;
    size_t k[2] = {0, 0};
    while (rc == 0) {
        int64_t got = cq_audio_read_planar(a, buf, PL__RD_BLOCK, &e);
        if (got < 0) {
            snprintf(why, n, "%s", e.msg);
            rc = -2;
            break;
        }
        if (got == 0)
            break;
        for (int64_t i = 0; i < got && (ni[0] || ni[1]); i++) {
            double t = (double)(frame + i) / rate;
            int16_t want = pl__covered(mode, frame + i, rate);
            for (int c = 0; c < ch && c < 2; c++) {
                while (k[c] < ni[c] && iv[c].v[k[c]].b <= t)
                    k[c]++;
                if (k[c] < ni[c] && iv[c].v[k[c]].a <= t) {
                    ivl_seen[c][k[c]] = true;
                    if (abs(pl__to_s16(buf[c][i]) - want) > 2)
                        ivl_bad[c][k[c]] = true;
                }
            }
        }
        for (int c = 0; c < ch && rc == 0; c++) {
            const float *x = buf[c];
            size_t nx = (size_t)got;
            if (rs[c]) {
                long m = cq_resample_process(rs[c], buf[c], (size_t)got, r8, r8cap);
                if (m < 0) {
                    rc = -1;
                    break;
                }
                x = r8, nx = (size_t)m;
            }
            if (nx && cq_tones_push(tn[c], x, nx) != CQ_OK)
                rc = -1;
        }
        frame += got;
    }
    for (int c = 0; c < ch && rc == 0; c++) {
        const cq_tone_event *ev;
        size_t ne = 0;
        if (cq_tones_finish(tn[c], &ev, &ne) != CQ_OK) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < ne && rc == 0; i++)
            if (ev[i].kind == CQ_TONE_DTMF && !ev[i].open) {
                if (lone_digit(ev, ne, i)) {
                    (*lone)++;
                    continue;
                }
                *digits += strlen(ev[i].digits);
                if (*first < 0 || ev[i].start_sec < *first)
                    *first = ev[i].start_sec;
                if (runs &&
                    pl__ivl_add(runs, ev[i].start_sec - guard, ev[i].end_sec + guard, "dtmf") != 0)
                    rc = -1;
            }
    }
    if (iv && rc == 0) {
        *bad = *checked = 0;
        for (int c = 0; c < 2; c++)
            for (size_t i = 0; i < ni[c]; i++) {
                *checked += ivl_seen[c][i];
                if (ivl_bad[c][i]) {
                    if (!*bad || iv[c].v[i].a < *bad_at)
                        *bad_at = iv[c].v[i].a;
                    (*bad)++;
                }
            }
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    for (int c = 0; c < 2; c++) {
        free(ivl_bad[c]);
        free(ivl_seen[c]);
    }
    for (int c = 0; c < 2; c++) {
        free(buf[c]);
        cq_tones_destroy(tn[c]);
        cq_resample_destroy(rs[c]);
    }
    free(r8);
    cq_audio_close(a);
    return rc == 0 ? 0 : -1;
}

/* The keyed digits of the recording itself (each leg file, or the one file), heard by the
 * sensitive receivers: their runs appended to iv. *runs: how many. 0, or -1 with why. */
int pl__scan_source(const cq_call_src *src, double guard, pl__ivl_list *iv, size_t *runs,
                    size_t *lone, char *why, size_t n)
{
    *lone = 0;
    const char *p[2] = {src->path ? src->path : src->in_path, src->path ? NULL : src->out_path};
    size_t before = iv->n;
    for (int i = 0; i < 2; i++) {
        if (!p[i])
            continue;
        size_t digits, alone, bad, checked;
        double first, bad_at;
        char w[600];
        if (scan_file(p[i], guard, iv, &digits, &alone, &first, NULL, 0, &bad, &checked, &bad_at, w,
                      sizeof(w)) != 0) {
            snprintf(why, n, "the recording could not be read again: %s", w);
            return -1;
        }
        *lone += alone;
    }
    *runs = iv->n - before;
    return 0;
}

int pl__verify_copy(const char *path, const pl__ivl_list iv[2], int mode, pl__verify_out *v,
                    char *why, size_t n)
{
    memset(v, 0, sizeof(*v));
    v->bad_at = -1;
    char w[600];
    if (scan_file(path, 0, NULL, &v->digits, &v->lone, &v->digit_at, iv, mode, &v->bad_ivl,
                  &v->ivl_checked, &v->bad_at, w, sizeof(w)) != 0) {
        snprintf(why, n, "the copy could not be read back: %s", w);
        return -1;
    }
    return 0;
}
