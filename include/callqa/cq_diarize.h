/*
 * cq_diarize.h - who spoke when on a mono leg that holds two people: two-speaker diarization
 * by signal processing, and voice prints for telling a known agent apart (docs/diarization.md).
 *
 * Method ("mfcc-glr-ahc+gmm-viterbi"; docs/diarization.md has it in full):
 *   1. features: 16 MFCCs (c1..c16) of 25 ms frames every 10 ms at 8 kHz, 24 mel bands over
 *      200-3600 Hz, pre-emphasis 0.97, with log pitch and level; the voiced frames inside the
 *      VAD's speech, at most 30 dB under its loud frames, are the speaker's; their mean and
 *      spread are removed (the channel is one for both people, so what remains tells them apart);
 *   2. pieces: each speech segment is cut into pieces of at most `piece_sec` where the GLR of
 *      two full-covariance Gaussians against one is largest (also where it passes `change_glr`);
 *   3. candidate splits in two: agglomerative clustering by GLR minus the BIC penalty, and by
 *      Ward's criterion with four weightings of pitch and level; each refined piece by piece
 *      with a Gaussian mixture per side;
 *   4. one or two speakers: the candidate whose split best follows the VAD's segments (the
 *      mixtures' log-likelihood ratios summed per segment, their magnitudes over the frames':
 *      `coherence`) is kept; two speakers when it reaches `min_coherence` and both sides hold
 *      `min_second_sec` of speech; else one (the rule is in the result);
 *   5. re-segmentation: a Gaussian mixture (diagonal, `gmm_components`) per speaker, trained by
 *      EM on its frames, then a Viterbi pass over the speech frames with a penalty per change
 *      of speaker; repeated `iterations` times.
 * Confidence of a segment: the share of its frames' likelihood evidence that agrees with its
 * speaker. A speaker's is the talk-weighted mean of its segments'; the result's is the kept
 * split's coherence.
 * Overlapped speech is not detected: one channel holds both voices and this method gives each
 * frame one speaker; the result says so (overlap_detected false).
 *
 * Voice print: the mean and spread of the speaker's MFCCs before the channel is removed
 * (CQ_VOICEPRINT_DIM floats); comparable across calls recorded through the same channel (a
 * ViciDial agent's headset, on the agent leg of a two-leg call and in the same agent's mono
 * mixes). A print is biometric data: the engine gives one only when asked
 * (cq_engine_params.voiceprints).
 *
 * The features are the seam for a speaker-embedding model (cq_engine_params.diarization_model):
 * a model would replace steps 1-2's frame features with embeddings; none is built in.
 *
 * Thread safety: a diarizer belongs to one leg of one call.
 */
#ifndef CQ_DIARIZE_H
#define CQ_DIARIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CQ_DIARIZE_RATE 8000 /* input rate */
#define CQ_DIARIZE_METHOD "mfcc-glr-ahc+gmm-viterbi"
#define CQ_VOICEPRINT_DIM 36 /* 18 means (16 MFCCs, log F0, level), 18 standard deviations */

typedef struct cq_diar_params {
    double piece_sec;      /* 2: longest piece before clustering */
    double change_glr;     /* 300: GLR (per piece) that cuts a segment at a change point */
    double bic_lambda;     /* 1: the BIC's penalty weight (the GLR clustering, delta_bic) */
    double min_second_sec; /* 3: the smaller side's speech for two speakers */
    double min_coherence;  /* 0.6: the split's coherence for two speakers */
    int gmm_components;    /* 8 */
    int iterations;        /* 3 */
    double switch_penalty; /* 50: log-likelihood paid per change of speaker */
} cq_diar_params;

typedef struct cq_voiceprint {
    float v[CQ_VOICEPRINT_DIM];
    double speech_sec; /* speech it was made from */
} cq_voiceprint;

typedef struct cq_diar_seg {
    double start_sec, end_sec;
    double confidence; /* 0..1: under 0.5 when the change penalty gave the segment to its
                          speaker against its frames' likelihoods */
} cq_diar_seg;

typedef struct cq_diar_speaker {
    cq_diar_seg *segs; /* in time order */
    size_t n_segs;
    double talk_sec;
    double first_sec;  /* start of its first segment */
    double confidence; /* talk-weighted mean of its segments' */
    cq_voiceprint print;
} cq_diar_speaker;

typedef struct cq_diarization {
    int n_speakers;             /* 0 (no speech), 1 or 2 */
    cq_diar_speaker speaker[2]; /* speaker 0 spoke first */
    double speech_sec;          /* the VAD's speech that was diarized */
    double confidence;          /* 0..1: two speakers, the kept split's coherence; one, 1 -
                                   coherence when no split followed the segments, 0.5 when
                                   there was too little speech to tell */
    double delta_bic;           /* the kept split's delta-BIC per 1000 frames (reported) */
    double coherence;           /* how well the split follows the speech segments (0..1) */
    const char *rule;           /* why one or two speakers (static) */
    char detail[160];           /* the figures behind the rule */
    bool overlap_detected;      /* always false: see above */
} cq_diarization;

typedef struct cq_diarizer cq_diarizer;

CQ_API cq_diar_params cq_diar_default_params(void);

/* A diarizer for one leg at CQ_DIARIZE_RATE. p NULL: the defaults. NULL with *err set
 * (CQ_ERR_NOMEM, CQ_ERR_INVALID for bad parameters). */
CQ_API cq_diarizer *cq_diarizer_create(const cq_diar_params *p, int *err);
CQ_API void cq_diarizer_destroy(cq_diarizer *d);

/* Add samples, in order. Memory: 68 bytes per 10 ms of audio. */
CQ_API CQ_NODISCARD int cq_diarizer_push(cq_diarizer *d, const float *x, size_t n) CQ_NONNULL(1);

/* The leg ended: diarize its speech (`speech`: the VAD's segments in seconds, in time order).
 * max_speakers 1 only makes the print (a leg known to hold one person). Fills *out (free with
 * cq_diarization_free). */
CQ_API CQ_NODISCARD int cq_diarizer_finish(cq_diarizer *d, const double (*speech)[2],
                                           size_t n_speech, int max_speakers, cq_diarization *out)
    CQ_NONNULL(1, 5);

CQ_API void cq_diarization_free(cq_diarization *r);

/* How alike two prints are: minus the symmetric Kullback-Leibler divergence of the two
 * diagonal Gaussians per dimension (0 for the same print; lower is less alike). */
CQ_API double cq_voiceprint_similarity(const cq_voiceprint *a, const cq_voiceprint *b)
    CQ_NONNULL(1, 2);

#ifdef __cplusplus
}
#endif
#endif /* CQ_DIARIZE_H */
