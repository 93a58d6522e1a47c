/*
 * nn_int.h - dense kernels for the neural models: matrix products in float with vector
 * kernels (scalar reference versions are the specification; tests compare the two).
 *
 * The room src/nn/ runs callqa's neural models natively: readers of the model files (onnx.c,
 * torchzip.c), Silero VAD (silero.c, cq_vad.h), NISQA (nisqa.c, cq_nisqa.h) and these kernels
 * (nn.c). It calls base (a model file read whole with a size limit, the FFTW planner's lock)
 * and dsp's VAD interface (vad_int.h: the fallback when no Silero model is installed), with
 * FFTW (libfftw3f: NISQA's spectrum) and pthread (cq__parallel). It is on floor 2, above dsp
 * for that fallback and below the stages, which load the models into the engine and run them.
 * No network and no ONNX or PyTorch runtime: a model is a file read and checked field by field
 * (tests/fuzz/ feeds the readers hostile ones).
 */
#ifndef CQ_NN_INT_H
#define CQ_NN_INT_H

#include <stddef.h>

/*
 * C[M x N] = A[M x K] * B[K x N] (+ C when accumulate), all row-major with leading dimensions
 * lda, ldb, ldc (elements). Work is vectorised along N.
 */
void cq__gemm(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
              float *C, size_t ldc, int accumulate);
void cq__gemm_ref(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int accumulate);

/*
 * C[M x N] = relu?(A[M x K] * B + bias) where row k of B starts at Brows[k] (N contiguous
 * floats each; rows may come from anywhere, e.g. shifted views of a padded image: a
 * convolution without im2col). bias (M values) may be NULL.
 */
void cq__gemm_rows(size_t M, size_t N, size_t K, const float *A, size_t lda,
                   const float *const *Brows, float *C, size_t ldc, const float *bias, int relu);
void cq__gemm_rows_ref(size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *const *Brows, float *C, size_t ldc, const float *bias,
                       int relu);

/*
 * 3x3 convolution, stride 1, zero padding 1 on both axes, plus bias, optionally ReLU, on
 * activations laid out [channel][row][column][lane]: nb independent images (lanes) innermost.
 * w holds the taps [cout][3][3][cin] (a row of taps x input channels per output channel).
 * The reference computes it directly; the fast version by Winograd's F(2x2, 3x3) (16 products
 * per 2 x 2 outputs instead of 36), with the weights transformed once by cq__wino_weights into
 * U [16][cout][cin] and scratch of cq__wino_scratch(cin, cout, H, W, nb) floats. The two differ by
 * rounding only (a few 1e-7 of the magnitudes summed).
 */
void cq__conv3x3_ref(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *w,
                     const float *bias, int relu, const float *in, float *out);
void cq__wino_weights(size_t cin, size_t cout, const float *w, float *U);
size_t cq__wino_scratch(size_t cin, size_t cout, size_t H, size_t W, size_t nb);
void cq__conv3x3_wino(size_t cin, size_t cout, size_t H, size_t W, size_t nb, const float *U,
                      const float *bias, int relu, const float *in, float *out, float *scratch);

/*
 * PyTorch's adaptive_max_pool2d from [c][H][W][nb] to [c][oh][ow][nb] (nb lanes innermost): bin
 * (i, j) is the maximum over rows [floor(i H / oh), ceil((i + 1) H / oh)) and the columns
 * alike. Exact: the vector version (lanes in multiples of 8) gives the same values.
 */
void cq__adaptive_max(size_t c, size_t nb, int H, int W, int oh, int ow, const float *in,
                      float *out);
void cq__adaptive_max_ref(size_t c, size_t nb, int H, int W, int oh, int ow, const float *in,
                          float *out);

/* y[M] += At[K x M]^T * x[K]: At is A transposed (row k holds column k of A). */
void cq__gemv_t(size_t M, size_t K, const float *At, const float *x, float *y);
void cq__gemv_t_ref(size_t M, size_t K, const float *At, const float *x, float *y);

/* sum a[i] b[i] over n values: a filterbank's band (the vector version sums in 16 lanes). */
float cq__dot(size_t n, const float *a, const float *b);
float cq__dot_ref(size_t n, const float *a, const float *b);

/* out[i] = sqrt(re[i]^2 + im[i]^2): a spectrum's magnitude. */
void cq__magnitude(size_t n, const float *re, const float *im, float *out);
void cq__magnitude_ref(size_t n, const float *re, const float *im, float *out);

/*
 * One step of an LSTM cell of n units after its gate pre-activations g[4n] (W_ih x + W_hh h +
 * biases, PyTorch's gate order i, f, g, o): c = sigmoid(f) c + sigmoid(i) tanh(g),
 * h = sigmoid(o) tanh(c), c[n] and h[n] updated in place. Returns sum w[k] max(h[k], 0) (a
 * ReLU and a 1 x n output layer; 0 when w is NULL). The vector version computes e^x with a
 * polynomial: within a few units in the last place of libm's, about 1e-7 absolute.
 */
float cq__lstm_cell(size_t n, const float *g, float *c, float *h, const float *w);
float cq__lstm_cell_ref(size_t n, const float *g, float *c, float *h, const float *w);

/*
 * v[i] = e^(v[i] - max v) in place, n >= 1; returns the sum (a softmax is v / sum). The vector
 * version uses cq__lstm_cell's e^x (within a few ulp of libm's expf) and sums in 8 lanes.
 */
double cq__exp_shifted(float *v, size_t n);
double cq__exp_shifted_ref(float *v, size_t n);

/* The n_mels + 2 band edges (Hz) of librosa 0.8.1's Slaney mel filterbank from 0 to fmax_hz
 * (mel.c): band i rises from out[i] to out[i + 1] and falls to out[i + 2]. */
void cq__slaney_mel_edges(double fmax_hz, int n_mels, double *out);

/* Work on items [begin, end) of a parallel loop; `worker` is 0..threads-1. */
typedef void (*cq__range_fn)(void *ctx, size_t begin, size_t end, int worker);

/*
 * Run fn over [0, n) split into up to `threads` contiguous ranges, one per thread, the caller's
 * thread taking the first. Threads that cannot be started leave their range to the caller.
 */
void cq__parallel(int threads, size_t n, cq__range_fn fn, void *ctx);

#endif /* CQ_NN_INT_H */
