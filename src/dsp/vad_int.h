/*
 * vad_int.h - the DSP fallback behind cq_vad (used when no Silero model is installed).
 *
 * Per chunk: the signal is band-limited to the telephone speech band (high-pass 200 Hz,
 * low-pass 3.4 kHz), its energy compared with an adaptive noise floor (fast down, slow up; in
 * the first chunks, a tone's floor is the noise under it, from the chunk's spectrum) and
 * with an absolute floor, and the signal-to-floor ratio mapped to a 0..1 score through a
 * logistic curve. Speech timestamps are then made from the scores exactly as from Silero's
 * probabilities. It cannot tell speech from music or tones; docs/vad.md gives its measured
 * agreement with Silero.
 *
 * Used by vad_dsp.c and by src/nn/silero.c (cq_vad falls back to it): the one header of this
 * room that a room above includes.
 */
#ifndef CQ_VAD_INT_H
#define CQ_VAD_INT_H

typedef struct cq__biquad {
    float b0, b1, b2, a1, a2; /* normalised coefficients (a0 = 1) */
    float z1, z2;             /* transposed direct form II state */
} cq__biquad;

typedef struct cq__vad_dsp {
    int rate, chunk;
    cq__biquad hp, lp;
    float noise_db; /* adaptive floor */
    int frames;     /* chunks seen */
} cq__vad_dsp;

int cq__vad_dsp_init(cq__vad_dsp *d, int rate, int chunk);
void cq__vad_dsp_reset(cq__vad_dsp *d);
float cq__vad_dsp_chunk(cq__vad_dsp *d, const float *x); /* score in [0, 1] for one chunk */

#endif /* CQ_VAD_INT_H */
