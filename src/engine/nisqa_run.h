/*
 * nisqa_run.h - speech quality of one leg inside the engine: NISQA over the whole leg (file
 * mode) or over fixed windows weighted by the VAD's speech (windowed mode). Internal.
 */
#ifndef CQ_NISQA_RUN_H
#define CQ_NISQA_RUN_H

#include "callqa/callqa.h"

typedef struct cq__nisqa_run {
    cq_nisqa *s;
    cq_nisqa_mode mode;
    int rate;
    uint64_t win_len;      /* samples per window (windowed) */
    uint64_t pos;          /* samples pushed */
    uint64_t win_start;    /* first sample of the current window */
    cq_nisqa_window *w;
    size_t nw, cap;
    int status;            /* first error */
} cq__nisqa_run;

int cq__nisqa_run_init(cq__nisqa_run *r, const cq_nisqa_model *m, int rate, cq_nisqa_mode mode,
                       double window_sec, double max_file_sec);
int cq__nisqa_run_push(cq__nisqa_run *r, const float *x, size_t n);
/* Score what remains and fill l (after the VAD has filled l->speech). A leg too short to score
 * gets l->nisqa_note instead; only allocation failures are errors. */
int cq__nisqa_run_finish(cq__nisqa_run *r, cq_leg_report *l);
void cq__nisqa_run_uninit(cq__nisqa_run *r);

#endif /* CQ_NISQA_RUN_H */
