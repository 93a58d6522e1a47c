/*
 * silero.c - Silero VAD v5/v6 run natively from the official ONNX file (see cq_vad.h).
 *
 * DESIGN
 * The ONNX graph holds two copies of the network, one per sample rate, as named Constant
 * tensors inside the branches of a top-level If on `sr` (then = 16 kHz, else = 8 kHz; the
 * constant compared with `sr` is checked to be 16000). Per chunk of N new samples (256 at
 * 8 kHz, 512 at 16 kHz) with C context samples (32 / 64) carried from the previous chunk:
 *   x = context ++ chunk (N + C samples), reflect-padded on the right by C;
 *   STFT: conv1d with the stored basis (2B x 1 x F: F = 128 / 256, stride F/2, 4 frames),
 *         magnitude sqrt(re^2 + im^2) over B = 65 / 129 bins;
 *   encoder: conv1d k3 p1 + ReLU, channels B -> 128 (s1) -> 64 (s2) -> 64 (s2) -> 128 (s1),
 *            4 frames -> 4 -> 2 -> 1 -> 1;
 *   LSTM cell (128), PyTorch gate order i, f, g, o as stored in decoder.rnn.*;
 *   ReLU -> conv1d 128 -> 1 -> sigmoid = the speech probability.
 * Everything before the LSTM depends on the audio only, so chunks run in batches of up to 32
 * and every layer is one matrix product over the batch, each weight read once per batch: the
 * STFT on the batch's frames as columns; each encoder conv, per output frame, on the input
 * frames its taps read (activations are stored frame-major, [channel][frame][chunk], so a
 * frame's rows are runs of nb floats; taps that fall on the padding are skipped, the bias and
 * ReLU applied in the product's store); the LSTM's input projection W_ih x for the batch.
 * Only the recurrent product W_hh h (its weights in blocks read as one stream) and the gates
 * (cq__lstm_cell, vectorised) run chunk by chunk. One chunk at a time (a live stream) takes
 * the same path with nb = 1, where the products are dot products along K. Many streams at once
 * (cq_vad_process_many: live calls, each with a chunk or a few) share the batches: a batch's
 * lanes are chunks of any stream, each with its own context samples and LSTM state, so the
 * weights are read once for all the calls of a turn rather than once per call.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/base_int.h"
#include "callqa/cq_vad.h"
#include "nn_int.h"
#include "onnx_int.h"
#include "../dsp/vad_int.h"

#define BATCH 32 /* chunks per batch */
#define FRAMES 4 /* STFT frames per chunk */
#define HIDDEN 128
#define GATES (4 * HIDDEN)
#define MAX_CIN 129 /* the widest encoder input: 129 bins at 16 kHz */
#define WHH_ROWS 64 /* W_hh in blocks of 64 rows, each transposed: [GATES / 64][HIDDEN][64] */

typedef struct branch {
    int sr, chunk, ctx, nfft, hop, bins;
    const float *basis;       /* [2 bins][nfft] */
    float *fold;              /* NULL, or [2][bins][bins]: the basis folded (see fold_basis) */
    const float *w[4], *b[4]; /* encoder conv weights [out][in * 3] and biases */
    float *wk[4];             /* the same weights tap-major: [out][3][in] */
    int cin[4], cout[4], stride[4];
    const float *wih;  /* [512][128] */
    float *whh_t;      /* W_hh in blocks of WHH_ROWS rows, each transposed for cq__gemv_t */
    const float *whh;  /* W_hh as stored, [512][128]: the product over many streams' states */
    float *bias;       /* [512]: b_ih + b_hh */
    const float *wdec; /* [128] */
    float bdec;
} branch;

struct cq_vad_model {
    cq__onnx onnx; /* owns the tensors the branches point into */
    branch br[2];  /* [0] = 8 kHz, [1] = 16 kHz */
    char sha256[65];
    const char *version;
};

static const struct {
    const char *sha256, *version;
} k_known[] = {
    {"1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3", "v6.2"},
    {"2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f", "v5.1.2"},
};

/* ---- loading ------------------------------------------------------------------------------- */

/* Look up `name` in `scope` and check its shape; dims end at the first 0. */
static const float *weight(const cq__onnx *o, const char *scope, const char *name,
                           const int64_t *dims, const char *file, cq_err *err)
{
    const cq__tensor *t = cq__onnx_find(o, scope, name);
    if (!t) {
        cq__err_set(err, CQ_ERR_FORMAT, "%s: not a Silero VAD model (no tensor '%s' in %s)", file,
                    name, scope);
        return NULL;
    }
    int nd = 0;
    while (nd < CQ__ONNX_MAX_DIMS && dims[nd])
        nd++;
    char got[96], want[96];
    if (!cq__onnx_f32_of_shape(t, dims, nd, got, want)) {
        cq__err_set(err, CQ_ERR_FORMAT,
                    "%s: tensor '%s' (%s) has shape %s, type %d; Silero VAD needs %s float", file,
                    name, scope, got, t->dtype, want);
        return NULL;
    }
    return t->f32;
}

/*
 * A DFT basis is symmetric about the frame's middle: row b of the real half (cos) has
 * basis[F - k] = basis[k], the imaginary half (sin) basis[F - k] = -basis[k], k = 1..F/2-1
 * (the window, periodic Hann, is symmetric too). Then a frame x gives
 *   re = w0 x0 + w[F/2] x[F/2] + sum over k = 1..F/2-1 of w[k] (x[k] + x[F-k]),
 *   im = the same with x[k] - x[F-k],
 * products over F/2 + 1 = bins folded samples instead of F: half the STFT's work. When the
 * stored basis has that symmetry exactly (bit for bit; the official files do), b->fold holds
 * the first bins columns of each half; otherwise b->fold stays NULL and the STFT takes the
 * whole basis. Returns CQ_ERR_NOMEM or CQ_OK.
 */
static int fold_basis(branch *b)
{
    const int F = b->nfft, B = b->bins;
    for (int r = 0; r < 2 * B; r++)
        for (int k = 1; k < F / 2; k++) {
            const float w = b->basis[r * F + k], m = b->basis[r * F + F - k];
            if (r < B ? m != w : m != -w)
                return CQ_OK;
        }
    if (!(b->fold = cq__malloc(sizeof(float) * 2 * (size_t)B * (size_t)B)))
        return CQ_ERR_NOMEM;
    for (int r = 0; r < 2 * B; r++)
        memcpy(b->fold + (size_t)r * (size_t)B, b->basis + (size_t)r * (size_t)F,
               sizeof(float) * (size_t)B);
    return CQ_OK;
}

static int load_branch(cq_vad_model *m, branch *b, int sr, const char *scope, const char *file,
                       cq_err *err)
{
    const cq__onnx *o = &m->onnx;
    b->sr = sr;
    b->chunk = sr == 8000 ? 256 : 512;
    b->ctx = sr == 8000 ? 32 : 64;
    b->nfft = sr == 8000 ? 128 : 256;
    b->hop = b->nfft / 2;
    b->bins = b->nfft / 2 + 1;
    int64_t d[4] = {2 * b->bins, 1, b->nfft, 0};
    if (!(b->basis = weight(o, scope, "stft.forward_basis_buffer", d, file, err)))
        return CQ_ERR_FORMAT;
    if (fold_basis(b) != CQ_OK)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", file);
    const int cin[4] = {b->bins, 128, 64, 64}, cout[4] = {128, 64, 64, 128};
    const int stride[4] = {1, 2, 2, 1};
    for (int l = 0; l < 4; l++) {
        char wn[64], bn[64];
        snprintf(wn, sizeof(wn), "encoder.%d.reparam_conv.weight", l);
        snprintf(bn, sizeof(bn), "encoder.%d.reparam_conv.bias", l);
        int64_t dw[4] = {cout[l], cin[l], 3, 0}, db[2] = {cout[l], 0};
        if (!(b->w[l] = weight(o, scope, wn, dw, file, err)) ||
            !(b->b[l] = weight(o, scope, bn, db, file, err)))
            return CQ_ERR_FORMAT;
        b->cin[l] = cin[l], b->cout[l] = cout[l], b->stride[l] = stride[l];
    }
    /* tap-major, so the taps a frame uses are one run of each row (see silero_batch) */
    for (int l = 0; l < 4; l++) {
        if (!(b->wk[l] = cq__malloc(sizeof(float) * 3 * (size_t)cout[l] * (size_t)cin[l])))
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", file);
        for (int r = 0; r < cout[l]; r++)
            for (int c = 0; c < cin[l]; c++)
                for (int k = 0; k < 3; k++)
                    b->wk[l][(r * 3 + k) * cin[l] + c] = b->w[l][(r * cin[l] + c) * 3 + k];
    }
    int64_t dg[3] = {GATES, HIDDEN, 0}, dgb[2] = {GATES, 0};
    int64_t dd[4] = {1, HIDDEN, 1, 0}, ddb[2] = {1, 0};
    const float *whh, *bih, *bhh, *bdec;
    if (!(b->wih = weight(o, scope, "decoder.rnn.weight_ih", dg, file, err)) ||
        !(whh = weight(o, scope, "decoder.rnn.weight_hh", dg, file, err)) ||
        !(bih = weight(o, scope, "decoder.rnn.bias_ih", dgb, file, err)) ||
        !(bhh = weight(o, scope, "decoder.rnn.bias_hh", dgb, file, err)) ||
        !(b->wdec = weight(o, scope, "decoder.decoder.2.weight", dd, file, err)) ||
        !(bdec = weight(o, scope, "decoder.decoder.2.bias", ddb, file, err)))
        return CQ_ERR_FORMAT;
    b->bdec = bdec[0];
    b->whh = whh;
    b->whh_t = cq__malloc(sizeof(float) * GATES * HIDDEN);
    b->bias = cq__malloc(sizeof(float) * GATES);
    if (!b->whh_t || !b->bias)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", file);
    for (int g = 0; g < GATES; g++) {
        b->bias[g] = bih[g] + bhh[g];
        for (int k = 0; k < HIDDEN; k++)
            b->whh_t[(g / WHH_ROWS) * WHH_ROWS * HIDDEN + k * WHH_ROWS + g % WHH_ROWS] =
                whh[g * HIDDEN + k];
    }
    return CQ_OK;
}

cq_vad_model *cq_vad_model_load_memory(const void *data, size_t size, const char *name, cq_err *err)
{
    const char *file = name ? name : "(model)";
    cq_err_clear(err);
    cq_vad_model *m = cq__calloc(1, sizeof(*m));
    if (!m) {
        cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", file);
        return NULL;
    }
    if (cq__sha256_hex(data, size, m->sha256, err) != CQ_OK)
        goto fail;
    m->version = "unknown";
    for (size_t i = 0; i < sizeof(k_known) / sizeof(k_known[0]); i++)
        if (!strcmp(m->sha256, k_known[i].sha256))
            m->version = k_known[i].version;

    if (cq__onnx_parse(data, size, file, &m->onnx, err) != CQ_OK)
        goto fail;
    /* the top-level If compares `sr` with a scalar constant: its then-branch is that rate */
    const cq__tensor *sr = NULL;
    for (size_t i = 0; i < m->onnx.n && !sr; i++)
        if (!*m->onnx.t[i].scope && m->onnx.t[i].dtype == CQ__ONNX_INT64 && m->onnx.t[i].count == 1)
            sr = &m->onnx.t[i];
    if (!sr || sr->i64[0] != 16000) {
        cq__err_set(err, CQ_ERR_FORMAT,
                    "%s: not a Silero VAD v5/v6 graph (no sample-rate switch on 16000)", file);
        goto fail;
    }
    if (load_branch(m, &m->br[0], 8000, "else_branch", file, err) != CQ_OK ||
        load_branch(m, &m->br[1], 16000, "then_branch", file, err) != CQ_OK)
        goto fail;
    return m;
fail:
    cq_vad_model_free(m);
    return NULL;
}

cq_vad_model *cq_vad_model_load(const char *path, cq_err *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (cq__read_file(path, CQ_VAD_MODEL_MAX_BYTES, &buf, &n, err) != CQ_OK)
        return NULL;
    cq_vad_model *m = cq_vad_model_load_memory(buf, n, path, err);
    cq__free(buf);
    return m;
}

void cq_vad_model_free(cq_vad_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < 2; i++) {
        cq__free(m->br[i].whh_t);
        cq__free(m->br[i].bias);
        cq__free(m->br[i].fold);
        for (int l = 0; l < 4; l++)
            cq__free(m->br[i].wk[l]);
    }
    cq__onnx_free(&m->onnx);
    cq__free(m);
}

const char *cq_vad_model_sha256(const cq_vad_model *m)
{
    return m->sha256;
}

const char *cq_vad_model_version(const cq_vad_model *m)
{
    return m->version;
}

/* ---- streams ------------------------------------------------------------------------------- */

struct cq_vad {
    const branch *b; /* NULL for the DSP fallback */
    cq_vad_engine engine;
    size_t chunk;
    float ctx[64]; /* the last ctx samples of the previous chunk */
    float h[HIDDEN], c[HIDDEN];
    float *xp;                      /* [BATCH][chunk + 2 ctx]: context ++ chunk ++ reflection */
    float *cols;                    /* the STFT's frames as columns */
    const float *rows[3 * MAX_CIN]; /* a convolution's input rows, one for each tap it uses */
    float *act[2];                  /* activations, ping-pong */
    float *gx;                      /* [GATES][BATCH] */
    cq__vad_dsp dsp;                /* fallback state */
};

cq_vad *cq_vad_create(const cq_vad_model *m, int sample_rate_hz, int *err)
{
    int rc = CQ_OK;
    cq_vad *v = NULL;
    if (sample_rate_hz != 8000 && sample_rate_hz != 16000) {
        rc = CQ_ERR_INVALID;
        goto done;
    }
    v = cq__calloc(1, sizeof(*v));
    if (!v) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    v->chunk = sample_rate_hz == 8000 ? 256 : 512;
    if (!m) {
        v->engine = CQ_VAD_DSP;
        rc = cq__vad_dsp_init(&v->dsp, sample_rate_hz, (int)v->chunk);
        goto done;
    }
    v->engine = CQ_VAD_SILERO;
    v->b = &m->br[sample_rate_hz == 8000 ? 0 : 1];
    const branch *b = v->b;
    size_t n4 = (size_t)FRAMES * BATCH;
    /* STFT frames: nfft rows, or twice bins folded */
    size_t cols = (size_t)(b->nfft > 2 * b->bins ? b->nfft : 2 * b->bins) * n4;
    v->xp = cq__malloc(sizeof(float) * BATCH * (v->chunk + 2 * (size_t)b->ctx));
    v->cols = cq__malloc(sizeof(float) * cols);
    /* both activation buffers hold the largest layer: the STFT's 2 x bins rows */
    v->act[0] = cq__malloc(sizeof(float) * 2 * (size_t)b->bins * n4);
    v->act[1] = cq__malloc(sizeof(float) * 2 * (size_t)b->bins * n4);
    v->gx = cq__malloc(sizeof(float) * GATES * BATCH);
    if (!v->xp || !v->cols || !v->act[0] || !v->act[1] || !v->gx)
        rc = CQ_ERR_NOMEM;
done:
    if (rc != CQ_OK) {
        cq_vad_destroy(v);
        v = NULL;
    }
    if (err)
        *err = rc;
    return v;
}

void cq_vad_destroy(cq_vad *v)
{
    if (!v)
        return;
    cq__free(v->xp);
    cq__free(v->cols);
    cq__free(v->act[0]);
    cq__free(v->act[1]);
    cq__free(v->gx);
    cq__free(v);
}

void cq_vad_reset(cq_vad *v)
{
    memset(v->ctx, 0, sizeof(v->ctx));
    memset(v->h, 0, sizeof(v->h));
    memset(v->c, 0, sizeof(v->c));
    if (v->engine == CQ_VAD_DSP)
        cq__vad_dsp_reset(&v->dsp);
}

size_t cq_vad_chunk_samples(const cq_vad *v)
{
    return v->chunk;
}

cq_vad_engine cq_vad_get_engine(const cq_vad *v)
{
    return v->engine;
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* One chunk of a batch: its samples, the C samples before it, the stream whose LSTM state it
 * carries forward, and where its probability goes. */
typedef struct lane {
    const float *x, *ctx;
    cq_vad *v;
    float *prob;
} lane;

/* One batch of nb chunks, in the scratch buffers of w (any stream of the same branch), computed
 * over `cols` >= nb columns (the columns past nb repeat the last chunk, and their results are
 * not used). The chunks of one stream come in order; each lane's arithmetic is the same
 * whichever stream it belongs to. */
static void silero_batch(cq_vad *w, const lane *ln, int ncols, int nb_used, bool distinct)
{
    const branch *b = w->b;
    const int n = b->chunk, C = b->ctx, L = n + 2 * C, nb = ncols;
    /* inputs: context ++ chunk, then reflect-pad right by C */
    for (int j = 0; j < nb; j++) {
        const lane *lj = &ln[j < nb_used ? j : nb_used - 1];
        float *xp = w->xp + (size_t)j * (size_t)L;
        memcpy(xp, lj->ctx, sizeof(float) * (size_t)C);
        memcpy(xp + C, lj->x, sizeof(float) * (size_t)n);
        for (int k = 0; k < C; k++)
            xp[n + C + k] = xp[n + C - 2 - k];
    }

    /* STFT: frames as columns, frame-major (column t nb + j is frame t of chunk j), the basis
     * as rows; folded (fold_basis) when the basis allows */
    const size_t N4 = (size_t)nb * FRAMES, F = (size_t)b->nfft, B = (size_t)b->bins;
    float *spec = w->act[0];
    if (b->fold) {
        float *u = w->cols, *d = w->cols + B * N4; /* x[k] + x[F-k], x[k] - x[F-k] */
        for (size_t k = 0; k < B; k++)             /* row by row: the writes run along the rows */
            for (size_t t = 0; t < FRAMES; t++) {
                const float *f = w->xp + t * (size_t)b->hop;
                float *ur = u + k * N4 + t * (size_t)nb, *dr = d + k * N4 + t * (size_t)nb;
                for (size_t j = 0; j < (size_t)nb; j++, f += L) {
                    const float a = f[k], m = k && k < F / 2 ? f[F - k] : 0.0f;
                    ur[j] = a + m;
                    dr[j] = a - m;
                }
            }
        cq__gemm(B, N4, B, b->fold, B, u, N4, spec, N4, 0);
        cq__gemm(B, N4, B, b->fold + B * B, B, d, N4, spec + B * N4, N4, 0);
    } else {
        for (size_t k = 0; k < F; k++)
            for (size_t t = 0; t < FRAMES; t++)
                for (size_t j = 0; j < (size_t)nb; j++)
                    w->cols[k * N4 + t * (size_t)nb + j] =
                        w->xp[j * (size_t)L + t * (size_t)b->hop + k];
        cq__gemm(2 * B, N4, F, b->basis, F, w->cols, N4, spec, N4, 0);
    }
    float *mag = w->act[1]; /* [bins][FRAMES][nb] */
    cq__magnitude((size_t)b->bins * N4, spec, spec + (size_t)b->bins * N4, mag);
    /* encoder, activations [channels][frames][nb]: output frame t of a conv (kernel 3, padding
     * 1) sums taps k = 0..2 over input frame t stride + k - 1. A tap outside the chunk's frames
     * sees only the padding's zeros and is left out: the taps used are a run k0..k1, one run of
     * each row of the tap-major weights, and their input rows are frames of the input. */
    float *in = mag, *out = w->act[0];
    int ti = FRAMES;
    for (int l = 0; l < 4; l++) {
        const int to = (ti - 1) / b->stride[l] + 1, cin = b->cin[l];
        for (int t = 0; t < to; t++) {
            const int s = t * b->stride[l]; /* input frame of the middle tap */
            const int k0 = s >= 1 ? 0 : 1, k1 = s + 1 < ti ? 2 : 1;
            for (int k = k0; k <= k1; k++)
                for (int c = 0; c < cin; c++)
                    w->rows[(k - k0) * cin + c] =
                        in + ((size_t)c * (size_t)ti + (size_t)(s + k - 1)) * (size_t)nb;
            cq__gemm_rows((size_t)b->cout[l], (size_t)nb, (size_t)(k1 - k0 + 1) * (size_t)cin,
                          b->wk[l] + (size_t)k0 * (size_t)cin, 3 * (size_t)cin, w->rows,
                          out + (size_t)t * (size_t)nb, (size_t)to * (size_t)nb, b->b[l], 1);
        }
        float *tmp = in; /* the output feeds the next layer; the input buffer is free again */
        in = out;
        out = tmp;
        ti = to;
    }
    /* in: [128][nb], one frame per chunk. LSTM input projection for the whole batch. */
    cq__gemm(GATES, (size_t)nb, HIDDEN, b->wih, HIDDEN, in, (size_t)nb, w->gx, (size_t)nb, 0);
    if (distinct && nb_used > 1) {
        /* every lane a different stream (calls side by side): the recurrent product of all
         * their states at once, W_hh read once for the batch. The states as columns go in the
         * activation buffer the encoder left free, the products in the STFT's */
        float *hm = out, *gh = w->cols;
        for (int k = 0; k < HIDDEN; k++)
            for (int j = 0; j < nb; j++)
                hm[(size_t)k * (size_t)nb + (size_t)j] = ln[j < nb_used ? j : nb_used - 1].v->h[k];
        cq__gemm(GATES, (size_t)nb, HIDDEN, b->whh, HIDDEN, hm, (size_t)nb, gh, (size_t)nb, 0);
        for (int j = 0; j < nb_used; j++) {
            cq_vad *v = ln[j].v;
            float g[GATES];
            for (int i = 0; i < GATES; i++)
                g[i] = w->gx[(size_t)i * (size_t)nb + (size_t)j] + b->bias[i] +
                       gh[(size_t)i * (size_t)nb + (size_t)j];
            *ln[j].prob = sigmoidf(b->bdec + cq__lstm_cell(HIDDEN, g, v->c, v->h, b->wdec));
        }
        return;
    }
    for (int j = 0; j < nb_used; j++) {
        cq_vad *v = ln[j].v;
        float g[GATES];
        for (int i = 0; i < GATES; i++)
            g[i] = w->gx[(size_t)i * (size_t)nb + (size_t)j] + b->bias[i];
        for (int r = 0; r < GATES; r += WHH_ROWS)
            cq__gemv_t(WHH_ROWS, HIDDEN, b->whh_t + (size_t)r * HIDDEN, v->h, g + r);
        *ln[j].prob = sigmoidf(b->bdec + cq__lstm_cell(HIDDEN, g, v->c, v->h, b->wdec));
    }
}

int cq_vad_process_many(const cq_vad_job *jobs, size_t n_jobs)
{
    if (!n_jobs)
        return CQ_OK;
    if (!jobs)
        return CQ_ERR_INVALID;
    cq_vad *w = jobs[0].v;
    for (size_t i = 0; i < n_jobs; i++) {
        const cq_vad *v = jobs[i].v;
        if (!v || (jobs[i].n_chunks && (!jobs[i].x || !jobs[i].probs)) || v->engine != w->engine ||
            v->b != w->b || v->chunk != w->chunk)
            return CQ_ERR_INVALID;
        for (size_t k = 0; k < i; k++)
            if (jobs[k].v == v)
                return CQ_ERR_INVALID; /* a stream's chunks must be one job, in order */
    }
    if (w->engine == CQ_VAD_DSP) {
        for (size_t i = 0; i < n_jobs; i++)
            for (size_t j = 0; j < jobs[i].n_chunks; j++)
                jobs[i].probs[j] = cq__vad_dsp_chunk(&jobs[i].v->dsp, jobs[i].x + j * w->chunk);
        return CQ_OK;
    }
    const size_t n = w->chunk, C = (size_t)w->b->ctx;
    lane ln[BATCH];
    int nb = 0;
    bool distinct = true; /* no stream has two lanes in the batch being filled */
    /* Calls side by side (more than one job) give batches of any size; the products take
     * whole panels of 8 columns, so a batch of 4 or more runs padded to a multiple of 8 (the
     * columns left over would take the scalar loop, and under 8 columns the dot products, both
     * slower per chunk than the padding). One stream keeps its batches as they are. */
#define PADDED(nb) (n_jobs > 1 && (nb) >= 4 ? ((nb) + 7) / 8 * 8 : (nb))
    /* The chunks round by round: the first of every job, then the second of those with two or
     * more, and so on (one job: its chunks in order). A stream met again in the batch being
     * filled ends that batch when it holds a whole panel (8 lanes), whose recurrent product is
     * then one product over all its streams' states; a smaller batch takes it on, its lanes'
     * recurrent products then one after another. Each stream's chunks stay in order. */
    size_t most = 0;
    for (size_t i = 0; i < n_jobs; i++)
        most = jobs[i].n_chunks > most ? jobs[i].n_chunks : most;
    for (size_t j = 0; j < most; j++) {
        for (size_t i = 0; i < n_jobs; i++) {
            const cq_vad_job *jb = &jobs[i];
            if (j >= jb->n_chunks)
                continue;
            bool again = false;
            for (int k = 0; k < nb && !again; k++)
                again = ln[k].v == jb->v;
            if (again && n_jobs > 1 && nb >= 8) {
                silero_batch(w, ln, PADDED(nb), nb, distinct);
                nb = 0;
                distinct = true;
            } else if (again) {
                distinct = false;
            }
            /* the context of a job's first chunk is what its stream kept; of the others, the
             * samples before them */
            ln[nb++] = (lane){.x = jb->x + j * n,
                              .ctx = j ? jb->x + j * n - C : jb->v->ctx,
                              .v = jb->v,
                              .prob = jb->probs + j};
            if (nb == BATCH) {
                silero_batch(w, ln, nb, nb, distinct && n_jobs > 1);
                nb = 0;
                distinct = true;
            }
        }
    }
    if (nb)
        silero_batch(w, ln, PADDED(nb), nb, distinct && n_jobs > 1);
#undef PADDED
    /* each stream's context for its next call (its first chunk has read the old one by now) */
    for (size_t i = 0; i < n_jobs; i++)
        if (jobs[i].n_chunks)
            memcpy(jobs[i].v->ctx, jobs[i].x + jobs[i].n_chunks * n - C, sizeof(float) * C);
    return CQ_OK;
}

int cq_vad_process(cq_vad *v, const float *x, size_t n_chunks, float *probs)
{
    const cq_vad_job job = {.v = v, .x = x, .n_chunks = n_chunks, .probs = probs};
    return cq_vad_process_many(&job, 1);
}
