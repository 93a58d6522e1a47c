/*
 * vad_run.h - the speech-activity analyzer of one leg inside the engine: resampling to the
 * VAD's rate (libsoxr) when the leg has another, gathering chunks, running cq_vad in batches,
 * and at the end the speech timestamps. Internal to the engine.
 */
#ifndef CQ_VAD_RUN_H
#define CQ_VAD_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "callqa/callqa.h"

#define CQ__VAD_RATE 8000 /* the engine runs the VAD at 8 kHz, as the reference pipeline */

typedef struct cq__vad_run {
    cq_vad *vad;
    cq_resample *rs;    /* NULL when the leg is at CQ__VAD_RATE */
    float *rsbuf;       /* resampler output */
    size_t rs_cap;
    float *pend;        /* samples waiting for whole chunks */
    size_t npend, pend_cap;
    float *probs;       /* one per chunk */
    size_t nprobs, cap;
    uint64_t samples;   /* samples at the VAD rate */
    cq_classifier *cls; /* the call-events classifier of the leg, fed the same 8 kHz audio
                           and probabilities (NULL: not selected) */
    cq_xleg *xleg;      /* the call's two-leg checks, fed this leg's 8 kHz audio (or NULL) */
    int xleg_leg;       /* 0 inbound, 1 outbound */
} cq__vad_run;

/* in_rate: the leg's rate; max_block: largest block cq__vad_run_push will get. */
int cq__vad_run_init(cq__vad_run *r, const cq_vad_model *m, int in_rate, size_t max_block);
int cq__vad_run_push(cq__vad_run *r, const float *x, size_t n);
/* Flush, pad the last chunk with zeros, make the segments, and move the results into l. */
int cq__vad_run_finish(cq__vad_run *r, const cq_speech_params *sp, cq_leg_report *l);
void cq__vad_run_uninit(cq__vad_run *r);

#endif /* CQ_VAD_RUN_H */
