/*
 * cq_dnsmos.h - speech quality: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 (MOS), run natively in C
 * from Microsoft's official ONNX files (`sig_bak_ovr.onnx`, `model_v8.onnx`, from
 * microsoft/DNS-Challenge, folder DNSMOS/DNSMOS/), without an ONNX runtime.
 *
 * Both networks read 16 kHz audio in windows of 9.01 s (144,160 samples). The P.835 network
 * frames a window into 900 frames of 320 samples every 160, projects each onto two learned
 * 161 x 320 bases (a real and an imaginary "STFT"), takes log10 of the power and runs seven 3x3
 * convolutions with ReLU (three 2x2 max pools), a global max and dense layers 64-128-64-3: raw
 * SIG, BAK, OVRL, mapped to the P.835 scale by the published polynomials. The P.808 network
 * reads a 120-band mel spectrogram of the window (n_fft 321, hop 160, librosa 0.8.1 semantics,
 * in dB relative to its maximum, (dB + 40) / 40) through five 3x3 convolutions, a global max and
 * dense layers to one MOS. Every weight is looked up by name with its shape checked.
 *
 * Two ways to cut a clip into windows (cq_dnsmos_mode):
 *  - CQ_DNSMOS_REFERENCE: as the published script dnsmos_local.py: clips shorter than a window
 *    are doubled until long enough; num_hops = int(floor(len / 16000) - 9.01) + 1 windows, one
 *    every second, of which those whose end int((idx + 9.01) * 16000) rounds one sample short
 *    are skipped (the script does); clip scores = mean over the scored windows.
 *  - CQ_DNSMOS_WINDOWED: each part of the clip scored once: consecutive 9.01 s windows; when
 *    0.5 s or more remains after the last full one, one more window ending at the clip's end
 *    (it overlaps the one before; only its new part is its own); a shorter rest joins the last
 *    window's part. A clip shorter than a window is doubled as in the reference. Clip scores =
 *    plain mean over the windows (the engine weights them by their speech instead).
 *
 * The four full-resolution convolutions of the P.835 network (98 % of its work) are evaluated
 * once over the clip's frames, not once per window; the 4 frames at each window edge, where the
 * window's own zero padding matters, are recomputed from the window alone. That is the same
 * arithmetic as running the network on each window. The convolutions with 32 or more input
 * channels run as Winograd's F(4x4, 3x3) (2.25 multiply-adds per output and input
 * channel instead of 9; float32, rounded differently from the direct sums: cq_dnsmos_result's
 * `winograd`).
 *
 * Licence of the model files: CC BY 4.0 (Microsoft; commercial use allowed with attribution).
 * They were trained on 16 kHz wideband speech: 8 kHz telephony is upsampled and scores lower
 * than wideband speech of the same subjective quality (a relative measure for narrowband calls).
 *
 * A cq_dnsmos_model is immutable and may be shared by threads. cq_dnsmos_score works on the
 * whole clip in memory (4 bytes per 16 kHz sample) with about 30 MB of working memory per
 * thread plus 29 MB for the shared convolution output.
 */
#ifndef CQ_DNSMOS_H
#define CQ_DNSMOS_H

#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_dnsmos_model cq_dnsmos_model;

#define CQ_DNSMOS_RATE_HZ 16000         /* the networks' sample rate */
#define CQ_DNSMOS_WINDOW_SAMPLES 144160 /* int(9.01 * 16000) */
#define CQ_DNSMOS_MODEL_MAX_BYTES (64u << 20)

typedef enum cq_dnsmos_mode {
    CQ_DNSMOS_WINDOWED = 0, /* each part of the clip scored once (the engine's default) */
    CQ_DNSMOS_REFERENCE = 1 /* windows every second, as the published script */
} cq_dnsmos_mode;

typedef struct cq_dnsmos_window {
    int idx;                   /* reference: the script's window index; windowed: 0, 1, ... */
    double start_sec, end_sec; /* the audio scored, s from the (doubled) clip's start */
    double part_start_sec;     /* the part of the clip this window stands for: reference: its */
    double part_end_sec;       /* span; windowed: its own, non-overlapping part (within the
                                  original clip's length) */
    float sig_raw, bak_raw, ovrl_raw; /* the P.835 network's outputs */
    double sig, bak, ovrl;            /* mapped by the P.835 polynomials */
    double p808;                      /* the P.808 network's MOS */
    int scored; /* 1: scored; 0: left out by the caller (cq_dnsmos_score_some), scores NaN */
} cq_dnsmos_window;

typedef struct cq_dnsmos_result {
    cq_dnsmos_mode mode;
    double sig, bak, ovrl, p808_mos;   /* clip scores: mean over the scored windows */
    double sig_raw, bak_raw, ovrl_raw; /* means of the raw outputs */
    uint64_t n_samples;                /* the clip at 16 kHz */
    uint64_t n_samples_repeated;       /* after doubling (= n_samples when long enough) */
    int num_hops;                      /* reference: the script's window count; windowed: the
                                          windows */
    cq_dnsmos_window *windows;         /* the scored windows, in order (owned) */
    size_t n_windows;
    int *skipped; /* reference: indices the script skips (owned) */
    size_t n_skipped;
    int winograd; /* the arithmetic: 1 = the 3x3 convolutions with 32 or more input channels by
                     Winograd's F(4x4, 3x3) in float32 (within 1e-4 of the direct sums per window
                     on the golden legs: docs/dnsmos.md); 0 = direct float32 sums */
} cq_dnsmos_result;

/* Load `dir`/sig_bak_ovr.onnx and `dir`/model_v8.onnx. NULL with `err` set ("<path>:
 * <reason>"; code CQ_ERR_NOT_FOUND when a file is missing, CQ_ERR_FORMAT when a tensor is
 * missing or has another shape, CQ_ERR_NOMEM) on any problem. */
CQ_API cq_dnsmos_model *cq_dnsmos_model_load(const char *dir, cq_err *err) CQ_NONNULL(1);
CQ_API void cq_dnsmos_model_free(cq_dnsmos_model *m);

/* sha256 of sig_bak_ovr.onnx (which = 0) or model_v8.onnx (1), 64 hex digits. */
CQ_API const char *cq_dnsmos_model_sha256(const cq_dnsmos_model *m, int which) CQ_NONNULL(1);

/*
 * The windows of a clip of `n_samples` at 16 kHz, without scores: fills out->mode, n_samples,
 * n_samples_repeated, num_hops, windows (idx and spans; scores 0), skipped. CQ_OK,
 * CQ_ERR_EMPTY (n_samples 0) or CQ_ERR_NOMEM. Free with cq_dnsmos_result_free.
 */
CQ_API CQ_NODISCARD int cq_dnsmos_plan(uint64_t n_samples, cq_dnsmos_mode mode,
                                       cq_dnsmos_result *out) CQ_NONNULL(3);

/*
 * Score a clip of n samples at 16 kHz (full scale 1.0) with up to `threads` threads (1..64).
 * CQ_OK with *out filled (free with cq_dnsmos_result_free), CQ_ERR_EMPTY for an empty clip,
 * CQ_ERR_NOMEM. `out` is left empty on failure. What *out held before is overwritten, not
 * freed (free a result before reusing it). Runs the Winograd evaluation where the CPU has AVX2
 * and FMA, the direct one elsewhere (out->winograd says which ran).
 */
CQ_API CQ_NODISCARD int cq_dnsmos_score(const cq_dnsmos_model *m, const float *x, size_t n,
                                        cq_dnsmos_mode mode, int threads, cq_dnsmos_result *out)
    CQ_NONNULL(1, 6);

/*
 * As cq_dnsmos_score, but the windows i of cq_dnsmos_plan(n, mode) with skip[i] non-zero are
 * not computed: listed with their spans, scored 0, their scores NaN, and out of the clip's
 * means (the engine skips windows without speech, whose weight is 0). skip NULL: every window.
 * The windows computed get the scores cq_dnsmos_score gives them: the very same with the
 * direct sums, within 1e-4 with Winograd's (5e-6 measured: its blocks of 4 frames start where
 * the run of frames computed starts, which skipping moves). CQ_ERR_EMPTY when every window is
 * skipped. `direct` non-zero: the direct float32 sums in either mode (the exact evaluation, to
 * measure the Winograd one against).
 */
CQ_API CQ_NODISCARD int cq_dnsmos_score_some(const cq_dnsmos_model *m, const float *x, size_t n,
                                             cq_dnsmos_mode mode, int threads,
                                             const unsigned char *skip, int direct,
                                             cq_dnsmos_result *out) CQ_NONNULL(1, 8);

/* Free what a result owns (not the struct). NULL is a no-op. */
CQ_API void cq_dnsmos_result_free(cq_dnsmos_result *r);

/* The P.835 polynomials (non-personalised), raw network output to the P.835 scale. */
CQ_API double cq_dnsmos_map_sig(double raw);
CQ_API double cq_dnsmos_map_bak(double raw);
CQ_API double cq_dnsmos_map_ovrl(double raw);

#ifdef __cplusplus
}
#endif
#endif /* CQ_DNSMOS_H */
