/*
 * dnsmos.c - DNSMOS P.835 and P.808 run natively from the official ONNX files (see
 * cq_dnsmos.h).
 *
 * DESIGN
 * Activations are images stored row by row, one row per time frame, each row W + 2 columns of
 * C channels (channels innermost); columns 0 and W + 1 are the convolutions' zero padding. The
 * 3x3 convolutions are dnsmos_conv.c's (dnsmos_int.h): Winograd's F(4x4, 3x3) where it runs,
 * else direct sums. The input of a convolution carries a row above and below its output rows:
 * the caller puts zero rows there (an image edge) or real rows (the middle of a longer run of
 * frames).
 *
 * The P.835 network's four full-resolution convolutions are run over the clip's frames in chunks
 * of 256 frames (each with the 4 frames of context either side it needs) into a buffer of frames
 * shared by the windows that cover them; within a chunk the layers are streamed a block row of
 * 4 frames at a time (trunk_stream), so that a step's rows stay in the cache. A window takes its
 * 900 frames from the buffer except the 4 at each edge, which it recomputes from its own first
 * and last 8 frames with the zero rows at its edges, layer by layer. Chunks run in parallel, then
 * the windows that fit in the buffer, as two items each (the P.835 network's rest: pooling, the
 * three small convolutions, the dense layers; and the P.808 network with its mel front end),
 * each item on one thread. Every number is computed by one thread in a fixed order, so the
 * scores do not depend on the thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_dnsmos.h"
#include "dnsmos_int.h"
#include "nn_int.h"
#include "onnx_int.h"

#define WIN CQ_DNSMOS_WINDOW_SAMPLES
#define HOP 160                /* samples between frames */
#define FLEN 320               /* samples per frame */
#define NFR 900                /* frames per window */
#define NBIN 161               /* P.835 "STFT" bins */
#define HALO 4                 /* frames of context of the four full-resolution convolutions */
#define CHUNK 256              /* frames per chunk of the shared convolutions */
#define TCAP (NFR + 2 * CHUNK) /* frames the shared buffer holds */
#define MEL_NFFT 321
#define MEL_BINS 161
#define NMEL 120
#define MEL_LEN 144000 /* the window minus its last 160 samples */
#define PI 3.14159265358979323846

/* ---- the P.835 polynomials ----------------------------------------------------------------- */

double cq_dnsmos_map_sig(double x)
{
    return -0.08397278 * x * x + 1.22083953 * x + 0.0052439;
}

double cq_dnsmos_map_bak(double x)
{
    return -0.13166888 * x * x + 1.60915514 * x - 0.39604546;
}

double cq_dnsmos_map_ovrl(double x)
{
    return -0.06766283 * x * x + 1.11546468 * x + 0.04602535;
}

/* 2x2 max pool, stride 2, floor: in R x W (padded rows of W + 2 columns of C), out R/2 x W/2
 * written into rows 1.. of a padded image (row 0 and row R/2 + 1 zero). */
static void pool2(const float *in, int R, int W, int C, float *out)
{
    int Ro = R / 2, Wo = W / 2;
    size_t ri = (size_t)(W + 2) * (size_t)C, ro = (size_t)(Wo + 2) * (size_t)C;
    memset(out, 0, sizeof(float) * ro);
    memset(out + (size_t)(Ro + 1) * ro, 0, sizeof(float) * ro);
    for (int r = 0; r < Ro; r++) {
        float *o = out + (size_t)(r + 1) * ro;
        const float *a = in + (size_t)(2 * r) * ri, *b = a + ri;
        memset(o, 0, sizeof(float) * (size_t)C);
        memset(o + (size_t)(Wo + 1) * (size_t)C, 0, sizeof(float) * (size_t)C);
        for (int x = 0; x < Wo; x++) {
            const float *p0 = a + (size_t)(2 * x + 1) * (size_t)C, *p1 = p0 + C;
            const float *q0 = b + (size_t)(2 * x + 1) * (size_t)C, *q1 = q0 + C;
            float *d = o + (size_t)(x + 1) * (size_t)C;
            for (int ch = 0; ch < C; ch++) {
                float v = p0[ch] > p1[ch] ? p0[ch] : p1[ch];
                float u = q0[ch] > q1[ch] ? q0[ch] : q1[ch];
                d[ch] = v > u ? v : u;
            }
        }
    }
}

/* Per-channel maximum over an R x W image (the global max pool). */
static void global_max(const float *in, int R, int W, int C, float *out)
{
    for (int ch = 0; ch < C; ch++)
        out[ch] = -HUGE_VALF;
    for (int r = 0; r < R; r++)
        for (int x = 0; x < W; x++) {
            const float *p = in + ((size_t)r * (size_t)(W + 2) + (size_t)x + 1) * (size_t)C;
            for (int ch = 0; ch < C; ch++)
                out[ch] = p[ch] > out[ch] ? p[ch] : out[ch];
        }
}

/* y = x W + b (W: [n_in][n_out] as stored by the ONNX MatMul), ReLU when asked. */
static void dense(const float *x, int n_in, const float *w, const float *b, int n_out, int relu,
                  float *y)
{
    for (int j = 0; j < n_out; j++) {
        float s = b[j];
        for (int i = 0; i < n_in; i++)
            s += x[i] * w[(size_t)i * (size_t)n_out + (size_t)j];
        y[j] = relu && s < 0 ? 0 : s;
    }
}

/* ---- the model ----------------------------------------------------------------------------- */

struct cq_dnsmos_model {
    cq__onnx onnx[2]; /* [0] sig_bak_ovr, [1] model_v8: own the tensors below */
    char sha256[2][65];
    float *stft_t;       /* [320][322]: the real and imaginary bases, transposed */
    cq__dn_conv p835[7]; /* conv2d .. conv2d_6 */
    const float *d835w[3], *d835b[3];
    cq__dn_conv p808[5]; /* conv2d_5 .. conv2d_9 */
    const float *d808w[3], *d808b[3];
    float *mel_basis_t;   /* [161][120]: librosa's Slaney filterbank, transposed */
    float *dft_t;         /* [321][322]: cos and -sin of the 321-point DFT, bins 0..160 */
    float hann[MEL_NFFT]; /* periodic Hann window of 321 */
};

static const float *tensor(const cq__onnx *o, const char *name, const int64_t *dims, int nd,
                           const char *file, cq_err *err)
{
    const cq__tensor *t = cq__onnx_find(o, "", name);
    if (!t) {
        cq__err_set(err, CQ_ERR_FORMAT, "%s: not a DNSMOS model (no tensor '%s')", file, name);
        return NULL;
    }
    char got[96], want[96];
    if (!cq__onnx_f32_of_shape(t, dims, nd, got, want)) {
        cq__err_set(err, CQ_ERR_FORMAT,
                    "%s: tensor '%s' has shape %s, type %d; DNSMOS needs %s float", file, name, got,
                    t->dtype, want);
        return NULL;
    }
    return t->f32;
}

/* The layers of the two files: the 3x3 convolutions conv2d_<first + l> ("conv2d" for 0), from
 * ch[l] to ch[l + 1] channels, then the MOS estimator's three dense layers <scope>/<dense[l]>,
 * from dd[l] to dd[l + 1] units. */
static const struct dn_layers {
    int first, n_conv;
    int ch[8];
    const char *scope;
    const char *dense[3];
    int dd[4];
} k_layers[2] = {
    {0,
     7,
     {1, 128, 64, 64, 32, 32, 32, 64},
     "mos_estimator_logpow",
     {"dense", "dense_1", "dense_3"},
     {64, 128, 64, 3}},
    {5,
     5,
     {1, 32, 32, 32, 32, 64},
     "mos_estimator_small_1",
     {"dense_3", "dense_4", "dense_5"},
     {64, 64, 64, 1}},
};

/* A file's layers (k_layers): the convolutions packed into conv[], the dense layers' weights and
 * biases (within the model) into w[] and b[]. CQ_OK, CQ_ERR_FORMAT (err names the tensor) or
 * CQ_ERR_NOMEM. */
static int load_layers(const cq__onnx *o, const struct dn_layers *k, cq__dn_conv *conv,
                       const float *w[3], const float *b[3], const char *path, cq_err *err)
{
    for (int l = 0; l < k->n_conv; l++) {
        char wn[48], bn[48];
        if (k->first + l == 0)
            snprintf(wn, sizeof(wn), "conv2d/kernel:0"), snprintf(bn, sizeof(bn), "conv2d/bias:0");
        else
            snprintf(wn, sizeof(wn), "conv2d_%d/kernel:0", k->first + l),
                snprintf(bn, sizeof(bn), "conv2d_%d/bias:0", k->first + l);
        int64_t dw[4] = {k->ch[l + 1], k->ch[l], 3, 3}, db[1] = {k->ch[l + 1]};
        const float *cw = tensor(o, wn, dw, 4, path, err),
                    *cb = cw ? tensor(o, bn, db, 1, path, err) : NULL;
        if (!cb)
            return CQ_ERR_FORMAT;
        if (cq__dn_conv_pack(&conv[l], cw, cb, k->ch[l], k->ch[l + 1]) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    for (int l = 0; l < 3; l++) {
        char wn[96], bn[96];
        snprintf(wn, sizeof(wn), "%s/%s/MatMul/ReadVariableOp/resource:0", k->scope, k->dense[l]);
        snprintf(bn, sizeof(bn), "%s/%s/BiasAdd/ReadVariableOp/resource:0", k->scope, k->dense[l]);
        int64_t dw[2] = {k->dd[l], k->dd[l + 1]}, db[1] = {k->dd[l + 1]};
        if (!(w[l] = tensor(o, wn, dw, 2, path, err)) || !(b[l] = tensor(o, bn, db, 1, path, err)))
            return CQ_ERR_FORMAT;
    }
    return CQ_OK;
}

static int load_file(cq_dnsmos_model *m, int which, const char *dir, cq_err *err)
{
    static const char *const names[2] = {"sig_bak_ovr.onnx", "model_v8.onnx"};
    char *path = cq__printf("%s/%s", dir, names[which]);
    if (!path)
        return cq__err_set(err, CQ_ERR_NOMEM, "out of memory");
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = cq__read_file(path, CQ_DNSMOS_MODEL_MAX_BYTES, &buf, &n, err);
    if (rc == CQ_OK)
        rc = cq__sha256_hex(buf, n, m->sha256[which], err);
    if (rc == CQ_OK)
        rc = cq__onnx_parse(buf, n, path, &m->onnx[which], err);
    cq__free(buf);
    if (rc != CQ_OK) {
        cq__free(path);
        return rc;
    }
    const cq__onnx *o = &m->onnx[which];
    if (which == 0) {
        int64_t d[3] = {NBIN, FLEN, 1};
        const float *re = tensor(o, "time2freq/stft-real/kernel:0", d, 3, path, err);
        const float *im = re ? tensor(o, "time2freq/stft-imag/kernel:0", d, 3, path, err) : NULL;
        if (!im)
            goto bad;
        m->stft_t = cq__malloc(sizeof(float) * FLEN * 2 * NBIN);
        if (!m->stft_t)
            goto nomem;
        for (int k = 0; k < NBIN; k++)
            for (int i = 0; i < FLEN; i++) {
                m->stft_t[(size_t)i * 2 * NBIN + (size_t)k] = re[(size_t)k * FLEN + (size_t)i];
                m->stft_t[(size_t)i * 2 * NBIN + NBIN + (size_t)k] =
                    im[(size_t)k * FLEN + (size_t)i];
            }
    }
    if (which == 0)
        rc = load_layers(o, &k_layers[0], m->p835, m->d835w, m->d835b, path, err);
    else
        rc = load_layers(o, &k_layers[1], m->p808, m->d808w, m->d808b, path, err);
    if (rc == CQ_ERR_NOMEM)
        goto nomem;
    if (rc != CQ_OK)
        goto bad;
    cq__free(path);
    return CQ_OK;
nomem:
    cq__free(path);
    return cq__err_set(err, CQ_ERR_NOMEM, "out of memory");
bad:
    cq__free(path);
    return CQ_ERR_FORMAT;
}

/* The P.808 front end's constants: librosa.filters.mel(16000, 321, n_mels=120) on librosa
 * 0.8.1's bin grid linspace(0, 8000, 161) (50 Hz apart, not 16000/321), float32 weights; the
 * periodic Hann window; the DFT basis. */
static int build_front_end(cq_dnsmos_model *m)
{
    m->mel_basis_t = cq__calloc((size_t)MEL_BINS * NMEL, sizeof(float));
    m->dft_t = cq__malloc(sizeof(float) * MEL_NFFT * 2 * MEL_BINS);
    if (!m->mel_basis_t || !m->dft_t)
        return CQ_ERR_NOMEM;
    double mel_f[NMEL + 2], fft_f[MEL_BINS];
    cq__slaney_mel_edges(8000, NMEL, mel_f);
    for (int k = 0; k < MEL_BINS; k++)
        fft_f[k] = 8000.0 * k / (MEL_BINS - 1);
    for (int i = 0; i < NMEL; i++) {
        double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
        double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (int k = 0; k < MEL_BINS; k++) {
            double lower = -(mel_f[i] - fft_f[k]) / fd0, upper = (mel_f[i + 2] - fft_f[k]) / fd1;
            double t = lower < upper ? lower : upper;
            float tf = (float)(t > 0 ? t : 0);
            m->mel_basis_t[(size_t)k * NMEL + (size_t)i] = (float)((double)tf * enorm);
        }
    }
    for (int i = 0; i < MEL_NFFT; i++) {
        m->hann[i] = (float)(0.5 - 0.5 * cos(2 * PI * i / MEL_NFFT));
        for (int k = 0; k < MEL_BINS; k++) {
            double ph = 2 * PI * (double)((i * k) % MEL_NFFT) / MEL_NFFT;
            m->dft_t[(size_t)i * 2 * MEL_BINS + (size_t)k] = (float)cos(ph);
            m->dft_t[(size_t)i * 2 * MEL_BINS + MEL_BINS + (size_t)k] = (float)-sin(ph);
        }
    }
    return CQ_OK;
}

cq_dnsmos_model *cq_dnsmos_model_load(const char *dir, cq_err *err)
{
    cq_dnsmos_model *m = cq__calloc(1, sizeof(*m));
    if (!m) {
        cq__err_set(err, CQ_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (load_file(m, 0, dir, err) != CQ_OK || load_file(m, 1, dir, err) != CQ_OK)
        goto fail;
    if (build_front_end(m) != CQ_OK) {
        cq__err_set(err, CQ_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return m;
fail:
    cq_dnsmos_model_free(m);
    return NULL;
}

void cq_dnsmos_model_free(cq_dnsmos_model *m)
{
    if (!m)
        return;
    for (int l = 0; l < 7; l++)
        cq__dn_conv_free(&m->p835[l]);
    for (int l = 0; l < 5; l++)
        cq__dn_conv_free(&m->p808[l]);
    cq__free(m->stft_t);
    cq__free(m->mel_basis_t);
    cq__free(m->dft_t);
    cq__onnx_free(&m->onnx[0]);
    cq__onnx_free(&m->onnx[1]);
    cq__free(m);
}

const char *cq_dnsmos_model_sha256(const cq_dnsmos_model *m, int which)
{
    return m->sha256[which ? 1 : 0];
}

/* ---- windows ------------------------------------------------------------------------------- */

void cq_dnsmos_result_free(cq_dnsmos_result *r)
{
    if (!r)
        return;
    cq__free(r->windows);
    cq__free(r->skipped);
    r->windows = NULL, r->skipped = NULL;
    r->n_windows = r->n_skipped = 0;
}

int cq_dnsmos_plan(uint64_t n, cq_dnsmos_mode mode, cq_dnsmos_result *out)
{
    memset(out, 0, sizeof(*out));
    out->mode = mode;
    out->n_samples = n;
    if (!n)
        return CQ_ERR_EMPTY;
    uint64_t len = n;
    while (len < WIN) /* audio = np.append(audio, audio) */
        len *= 2;
    out->n_samples_repeated = len;
    const double fs = CQ_DNSMOS_RATE_HZ;
    if (mode == CQ_DNSMOS_REFERENCE) {
        /* num_hops = int(np.floor(len / fs) - 9.01) + 1; window idx = [int(idx * fs),
         * int((idx + 9.01) * fs)), skipped when one sample short (the float product rounds) */
        int hops = (int)(floor((double)len / fs) - 9.01) + 1;
        out->num_hops = hops;
        out->windows = cq__calloc(hops > 0 ? (size_t)hops : 1, sizeof(cq_dnsmos_window));
        out->skipped = cq__calloc(hops > 0 ? (size_t)hops : 1, sizeof(int));
        if (!out->windows || !out->skipped) {
            cq_dnsmos_result_free(out);
            return CQ_ERR_NOMEM;
        }
        for (int idx = 0; idx < hops; idx++) {
            uint64_t s = (uint64_t)(idx * fs), e = (uint64_t)((idx + 9.01) * fs);
            if ((e < len ? e : len) - s < WIN) {
                out->skipped[out->n_skipped++] = idx;
                continue;
            }
            cq_dnsmos_window *w = &out->windows[out->n_windows++];
            w->idx = idx;
            w->start_sec = w->part_start_sec = (double)s / fs;
            w->end_sec = w->part_end_sec = (double)(s + WIN) / fs;
        }
        return CQ_OK;
    }
    /* windowed: consecutive windows; a rest of 0.5 s or more gets a window ending at the end;
     * a doubled short clip is one window */
    uint64_t full = len / WIN, rest = len - full * WIN;
    size_t nw = len != n ? 1 : (size_t)full + (rest >= CQ_DNSMOS_RATE_HZ / 2 ? 1 : 0);
    out->windows = cq__calloc(nw, sizeof(cq_dnsmos_window));
    if (!out->windows)
        return CQ_ERR_NOMEM;
    double clip_end = (double)n / fs;
    for (size_t i = 0; i < nw; i++) {
        cq_dnsmos_window *w = &out->windows[i];
        uint64_t s = i < full ? i * WIN : (len - WIN) / HOP * HOP;
        w->idx = (int)i;
        w->start_sec = (double)s / fs;
        w->end_sec = (double)(s + WIN) / fs;
        w->part_start_sec = (double)(i * WIN) / fs;
        w->part_end_sec = i + 1 < nw ? (double)((i + 1) * WIN) / fs : clip_end;
        if (w->part_end_sec > clip_end) /* a doubled short clip: its part is the clip */
            w->part_end_sec = clip_end;
    }
    out->n_windows = nw;
    out->num_hops = (int)nw;
    return CQ_OK;
}

/* ---- scoring ------------------------------------------------------------------------------- */

/* Image sizes (floats) of the scratch buffers, padded rows of W + 2 columns. */
#define IMG(rows, W, C) ((size_t)(rows) * (size_t)((W) + 2) * (size_t)(C))
#define SCRATCH_A IMG(NFR + 2, NMEL, 32) /* the largest image: P.808's first conv output */
#define TROW IMG(1, NBIN, 32)            /* one frame of the shared convolutions' output */

typedef struct scratch {
    float *a, *b;  /* ping-pong images, SCRATCH_A floats each */
    float *wino;   /* the Winograd evaluation's (wino_scratch floats) */
    float *spec;   /* [CHUNK + 2 HALO][322] projections / [900][322] DFT */
    float *frames; /* [900][321] windowed frames of the P.808 front end */
} scratch;

/* The largest Winograd scratch of the networks' convolutions. */
static size_t wino_scratch(const cq_dnsmos_model *m)
{
    size_t n = 1;
    for (int l = 0; l < 7; l++) {
        size_t k = cq__dn_wino_scratch(m->p835[l].cin, m->p835[l].cout);
        n = k > n ? k : n;
    }
    for (int l = 0; l < 5; l++) {
        size_t k = cq__dn_wino_scratch(m->p808[l].cin, m->p808[l].cout);
        n = k > n ? k : n;
    }
    return n;
}

typedef struct job {
    const cq_dnsmos_model *m;
    int wino;         /* the Winograd evaluation of the convolutions that have it */
    const float *x;   /* the (doubled) clip */
    size_t n;         /* its samples */
    size_t n_frames;  /* P.835 frames it holds */
    const size_t *f0; /* first frame of each window */
    float *trunk;     /* shared convolution output: frames [tb, tb + TCAP) */
    size_t tb;
    size_t c_lo, c_hi;  /* the chunk range being computed */
    size_t w_lo;        /* windows being computed: todo[w_lo + range index] */
    const size_t *todo; /* the windows to compute, in order */
    cq_dnsmos_window *w;
    scratch *sc;
    int status;
} job;

/* log10 power of frames [a, b) (zero rows outside the clip's frames) into rows of a padded
 * image of one channel: row i = frame a + i. */
static void logspec(const job *j, const scratch *s, long a, long b, float *img)
{
    size_t rw = NBIN + 2;
    long lo = a < 0 ? 0 : a, hi = b > (long)j->n_frames ? (long)j->n_frames : b;
    memset(img, 0, sizeof(float) * (size_t)(b - a) * rw);
    if (hi <= lo)
        return;
    cq__gemm((size_t)(hi - lo), 2 * NBIN, FLEN, j->x + (size_t)lo * HOP, HOP, j->m->stft_t,
             2 * NBIN, s->spec, 2 * NBIN, 0);
    for (long f = lo; f < hi; f++) {
        const float *re = s->spec + (size_t)(f - lo) * 2 * NBIN, *im = re + NBIN;
        float *o = img + (size_t)(f - a) * rw + 1;
        for (int k = 0; k < NBIN; k++) {
            float mag = sqrtf(re[k] * re[k] + im[k] * im[k]);
            float p = mag * mag;
            p = p > 9.99999996e-13f ? p : 9.99999996e-13f;
            o[k] = logf(p) / 2.30258512f;
        }
    }
}

/* A window edge: `side` -1 = the first 4 frames of the window starting at frame f, +1 = its
 * last 4; each layer's input gets the zero row of the window's edge. Output: 4 rows in dst. */
static void trunk_edge(const job *j, const scratch *s, size_t f, int side, float *dst)
{
    const cq_dnsmos_model *m = j->m;
    size_t rw1 = NBIN + 2;
    /* input: 8 frames and the zero row: [Z, f .. f+7] or [f+892 .. f+899, Z] */
    long a = side < 0 ? (long)f : (long)(f + NFR - 2 * HALO);
    float *in = s->a, *out = s->b;
    if (side < 0) {
        memset(in, 0, sizeof(float) * rw1);
        logspec(j, s, a, a + 2 * HALO, in + rw1);
    } else {
        logspec(j, s, a, a + 2 * HALO, in);
        memset(in + 2 * HALO * rw1, 0, sizeof(float) * rw1);
    }
    int rows = 2 * HALO; /* data rows in the input */
    for (int l = 0; l < 4; l++) {
        const cq__dn_conv *c = &m->p835[l];
        size_t ro = IMG(1, NBIN, c->cout);
        rows -= 1;                            /* outputs computable next to the edge */
        float *o = side < 0 ? out + ro : out; /* leave room for the next zero row */
        cq__dn_conv3(c, j->wino, in, rows, NBIN, o, s->wino);
        if (side < 0)
            memset(out, 0, sizeof(float) * ro);
        else
            memset(out + (size_t)rows * ro, 0, sizeof(float) * ro);
        float *t = in;
        in = out, out = t;
    }
    /* rows == 4: the edge's 4 frames, after the zero row (left) or before it (right) */
    memcpy(dst, side < 0 ? in + TROW : in, sizeof(float) * 4 * TROW);
}

#define RING 34 /* rows of each layer's buffer in trunk_stream: 2 kept + 8 steps of 4 */

/* Frames [f, g) of the four full-resolution convolutions into dst (rows of TROW), streamed: the
 * chunk's log spectrum whole (one matrix product), then the layers a block row (4 frames) at a
 * time, each appending its new rows to a buffer of RING rows whose last 2 move to its start when
 * it is full; so a step's rows stay in the cache, and each step is one block row of the
 * Winograd evaluation. The first step fills the layers from the 4 frames of context before f;
 * the input has the 4 after g. */
static void trunk_stream(const job *j, const scratch *s, size_t f, size_t g, float *dst)
{
    const cq_dnsmos_model *m = j->m;
    const size_t rx = NBIN + 2; /* a row of the spectrum, and of each layer's output: */
    const size_t rb[3] = {IMG(1, NBIN, m->p835[0].cout), IMG(1, NBIN, m->p835[1].cout),
                          IMG(1, NBIN, m->p835[2].cout)};
    long n = (long)(g - f), q = n < 4 ? n : 4;
    float *X = s->a, *B[3];
    B[0] = X + (size_t)(n + 2 * HALO) * rx, B[1] = B[0] + RING * rb[0], B[2] = B[1] + RING * rb[1];
    logspec(j, s, (long)f - HALO, (long)g + HALO, X);
    /* the first step: q + 6, q + 4 and q + 2 rows of the first three layers */
    cq__dn_conv3(&m->p835[0], j->wino, X, (int)q + 6, NBIN, B[0], s->wino);
    cq__dn_conv3(&m->p835[1], j->wino, B[0], (int)q + 4, NBIN, B[1], s->wino);
    cq__dn_conv3(&m->p835[2], j->wino, B[1], (int)q + 2, NBIN, B[2], s->wino);
    cq__dn_conv3(&m->p835[3], j->wino, B[2], (int)q, NBIN, dst, s->wino);
    long have[3] = {q + 6, q + 4, q + 2}; /* the rows each buffer holds */
    for (long done = q; done < n; done += q) {
        q = n - done < 4 ? n - done : 4;
        /* the first layer's input: the spectrum's rows from done + 6 (its output rows so far);
         * each layer's: the last 2 rows of the one before and its q new ones */
        const float *in = X + (size_t)(done + 6) * rx;
        for (int l = 0; l < 3; l++) {
            if (have[l] + q > RING) {
                memmove(B[l], B[l] + (size_t)(have[l] - 2) * rb[l], sizeof(float) * 2 * rb[l]);
                have[l] = 2;
            }
            float *o = B[l] + (size_t)have[l] * rb[l];
            cq__dn_conv3(&m->p835[l], j->wino, in, (int)q, NBIN, o, s->wino);
            in = o - 2 * rb[l];
            have[l] += q;
        }
        cq__dn_conv3(&m->p835[3], j->wino, in, (int)q, NBIN, dst + (size_t)done * TROW, s->wino);
    }
}

/* Chunks [c_lo + begin, c_lo + end) of the shared convolutions. */
static void chunk_range(void *ctx, size_t begin, size_t end, int worker)
{
    job *j = ctx;
    const scratch *s = &j->sc[worker];
    for (size_t c = begin; c < end; c++) {
        size_t f = j->c_lo + c * CHUNK, g = f + CHUNK < j->c_hi ? f + CHUNK : j->c_hi;
        trunk_stream(j, s, f, g, j->trunk + (f - j->tb) * TROW);
    }
}

/* The P.808 network's input for the window starting at sample s0: [900][120] in a padded image
 * with zero rows 0 and 901. */
static void p808_features(const job *j, const scratch *s, size_t s0, float *img)
{
    const cq_dnsmos_model *m = j->m;
    const float *y = j->x + s0;
    /* frames of 321 of the reflect-padded (160 each side) 144,000 samples, Hann-weighted */
    for (int t = 0; t < NFR; t++)
        for (int i = 0; i < MEL_NFFT; i++) {
            long q = (long)t * HOP + i - 160;
            if (q < 0)
                q = -q;
            if (q >= MEL_LEN)
                q = 2 * (MEL_LEN - 1) - q;
            s->frames[(size_t)t * MEL_NFFT + (size_t)i] = y[q] * m->hann[i];
        }
    cq__gemm(NFR, 2 * MEL_BINS, MEL_NFFT, s->frames, MEL_NFFT, m->dft_t, 2 * MEL_BINS, s->spec,
             2 * MEL_BINS, 0);
    for (int t = 0; t < NFR; t++) {
        float *re = s->spec + (size_t)t * 2 * MEL_BINS, *im = re + MEL_BINS;
        for (int k = 0; k < MEL_BINS; k++)
            re[k] = re[k] * re[k] + im[k] * im[k]; /* power, in place */
    }
    /* mel power [900][120] into frames' space */
    float *mel = s->frames;
    cq__gemm(NFR, NMEL, MEL_BINS, s->spec, 2 * MEL_BINS, m->mel_basis_t, NMEL, mel, NMEL, 0);
    double mx = 1e-10;
    for (size_t i = 0; i < (size_t)NFR * NMEL; i++)
        mx = mel[i] > mx ? mel[i] : mx;
    /* power_to_db(ref=max, amin=1e-10, top_db=80), then (dB + 40) / 40: the largest dB is that
     * of the maximum itself, 10 log10(mx) - ref_db = 0 exactly, so the floor is -80 dB */
    double ref_db = 10 * log10(mx), floor_db = -80;
    size_t rw = NMEL + 2;
    memset(img, 0, sizeof(float) * rw * (NFR + 2));
    for (int t = 0; t < NFR; t++)
        for (int k = 0; k < NMEL; k++) {
            double v = mel[(size_t)t * NMEL + (size_t)k];
            double db = 10 * log10(v > 1e-10 ? v : 1e-10) - ref_db;
            db = db > floor_db ? db : floor_db;
            img[(size_t)(t + 1) * rw + (size_t)k + 1] = (float)((db + 40) / 40);
        }
}

static float p808_score(const job *j, const scratch *s, size_t s0)
{
    const cq_dnsmos_model *m = j->m;
    float *a = s->a, *b = s->b;
    p808_features(j, s, s0, a);
    cq__dn_conv3(&m->p808[0], j->wino, a, NFR, NMEL, b, s->wino);         /* 900 x 120 x 32 */
    pool2(b, NFR, NMEL, 32, a);                                           /* 450 x 60 */
    cq__dn_conv3(&m->p808[1], j->wino, a, NFR / 2, NMEL / 2, b, s->wino); /* 450 x 60 x 32 */
    pool2(b, NFR / 2, NMEL / 2, 32, a);                                   /* 225 x 30 */
    cq__dn_conv3(&m->p808[2], j->wino, a, 225, 30, b + IMG(1, 30, 32), s->wino);
    memset(b, 0, sizeof(float) * IMG(1, 30, 32));
    memset(b + IMG(226, 30, 32), 0, sizeof(float) * IMG(1, 30, 32));
    cq__dn_conv3(&m->p808[3], j->wino, b, 225, 30, a, s->wino); /* 225 x 30 x 32 */
    pool2(a, 225, 30, 32, b);                                   /* 112 x 15 */
    cq__dn_conv3(&m->p808[4], j->wino, b, 112, 15, a, s->wino); /* 112 x 15 x 64 */
    float g[64], h1[64], h2[64], y;
    global_max(a, 112, 15, 64, g);
    dense(g, 64, m->d808w[0], m->d808b[0], 64, 1, h1);
    dense(h1, 64, m->d808w[1], m->d808b[1], 64, 1, h2);
    dense(h2, 64, m->d808w[2], m->d808b[2], 1, 0, &y);
    return y;
}

/* Items [begin, end) of the windows from w_lo: item 2 k is the rest of the P.835 network of
 * window w_lo + k, item 2 k + 1 its P.808 network (two items a window, so that a lone window
 * keeps two threads busy). */
static void window_range(void *ctx, size_t begin, size_t end, int worker)
{
    job *j = ctx;
    const scratch *s = &j->sc[worker];
    const cq_dnsmos_model *m = j->m;
    float *edges = s->frames; /* 8 rows of TROW */
    for (size_t item = begin; item < end; item++) {
        size_t wi = j->todo[j->w_lo + item / 2], f = j->f0[wi];
        if (item % 2) {
            j->w[wi].p808 = p808_score(j, s, f * HOP);
            continue;
        }
        trunk_edge(j, s, f, -1, edges);
        trunk_edge(j, s, f, +1, edges + 4 * TROW);
        /* pool the window's 900 x 161 frames (edges recomputed) into 450 x 80, padded */
        float *a = s->a, *b = s->b;
        size_t ro = IMG(1, 80, 32);
        memset(a, 0, sizeof(float) * ro);
        memset(a + 451 * ro, 0, sizeof(float) * ro);
        for (int r = 0; r < NFR / 2; r++) {
            const float *t0, *t1;
            int l0 = 2 * r, l1 = 2 * r + 1;
            t0 = l0 < HALO          ? edges + (size_t)l0 * TROW
                 : l0 >= NFR - HALO ? edges + (size_t)(l0 - NFR + 2 * HALO) * TROW
                                    : j->trunk + (f - j->tb + (size_t)l0) * TROW;
            t1 = l1 < HALO          ? edges + (size_t)l1 * TROW
                 : l1 >= NFR - HALO ? edges + (size_t)(l1 - NFR + 2 * HALO) * TROW
                                    : j->trunk + (f - j->tb + (size_t)l1) * TROW;
            float *o = a + (size_t)(r + 1) * ro;
            memset(o, 0, sizeof(float) * 32);
            memset(o + 81 * 32, 0, sizeof(float) * 32);
            for (int x = 0; x < 80; x++) {
                const float *p0 = t0 + (size_t)(2 * x + 1) * 32, *p1 = p0 + 32;
                const float *q0 = t1 + (size_t)(2 * x + 1) * 32, *q1 = q0 + 32;
                float *d = o + (size_t)(x + 1) * 32;
                for (int ch = 0; ch < 32; ch++) {
                    float v = p0[ch] > p1[ch] ? p0[ch] : p1[ch];
                    float u = q0[ch] > q1[ch] ? q0[ch] : q1[ch];
                    d[ch] = v > u ? v : u;
                }
            }
        }
        cq__dn_conv3(&m->p835[4], j->wino, a, 450, 80, b, s->wino); /* 450 x 80 x 32 */
        pool2(b, 450, 80, 32, a);                                   /* 225 x 40 */
        cq__dn_conv3(&m->p835[5], j->wino, a, 225, 40, b, s->wino); /* 225 x 40 x 32 */
        pool2(b, 225, 40, 32, a);                                   /* 112 x 20 */
        cq__dn_conv3(&m->p835[6], j->wino, a, 112, 20, b, s->wino); /* 112 x 20 x 64 */
        float g[64], h1[128], h2[64], y[3];
        global_max(b, 112, 20, 64, g);
        dense(g, 64, m->d835w[0], m->d835b[0], 128, 1, h1);
        dense(h1, 128, m->d835w[1], m->d835b[1], 64, 1, h2);
        dense(h2, 64, m->d835w[2], m->d835b[2], 3, 0, y);
        cq_dnsmos_window *w = &j->w[wi];
        w->sig_raw = y[0], w->bak_raw = y[1], w->ovrl_raw = y[2];
        w->sig = cq_dnsmos_map_sig(y[0]);
        w->bak = cq_dnsmos_map_bak(y[1]);
        w->ovrl = cq_dnsmos_map_ovrl(y[2]);
    }
}

int cq_dnsmos_score(const cq_dnsmos_model *m, const float *x, size_t n, cq_dnsmos_mode mode,
                    int threads, cq_dnsmos_result *out)
{
    return cq_dnsmos_score_some(m, x, n, mode, threads, NULL, 0, out);
}

int cq_dnsmos_score_some(const cq_dnsmos_model *m, const float *x, size_t n, cq_dnsmos_mode mode,
                         int threads, const unsigned char *skip, int direct, cq_dnsmos_result *out)
{
    int rc = cq_dnsmos_plan(n, mode, out);
    if (rc != CQ_OK)
        return rc;
    /* the Winograd evaluation where the CPU runs it (every layer that has it runs it, or none
     * does) */
    int wino = !direct && cq__dn_wino_available(&m->p835[1]);
    out->winograd = wino;
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    size_t len = (size_t)out->n_samples_repeated, nw = out->n_windows;
    float *xr = NULL;
    size_t *f0 = cq__malloc(sizeof(size_t) * (nw ? nw : 1));
    size_t *todo = cq__malloc(sizeof(size_t) * (nw ? nw : 1)), nt = 0;
    float *trunk = cq__malloc(sizeof(float) * TCAP * TROW);
    scratch *sc = cq__calloc((size_t)threads, sizeof(scratch));
    if (!f0 || !todo || !trunk || !sc)
        goto nomem;
    for (size_t i = 0; i < nw; i++) {
        cq_dnsmos_window *w = &out->windows[i];
        w->scored = !(skip && skip[i]);
        if (w->scored)
            todo[nt++] = i;
        else /* left out: no scores */
            w->sig_raw = w->bak_raw = w->ovrl_raw = NAN, w->sig = w->bak = w->ovrl = w->p808 = NAN;
    }
    if (len != n) { /* doubled until at least one window long */
        if (!(xr = cq__malloc(sizeof(float) * len)))
            goto nomem;
        memcpy(xr, x, sizeof(float) * n);
        for (size_t have = n; have < len; have *= 2)
            memcpy(xr + have, xr, sizeof(float) * have);
    }
    for (int t = 0; t < threads; t++) {
        sc[t].a = cq__malloc(sizeof(float) * SCRATCH_A);
        sc[t].b = cq__malloc(sizeof(float) * SCRATCH_A);
        sc[t].wino = cq__malloc(sizeof(float) * wino_scratch(m));
        sc[t].spec = cq__malloc(sizeof(float) * NFR * 2 * MEL_BINS);
        sc[t].frames = cq__malloc(sizeof(float) * NFR * MEL_NFFT);
        if (!sc[t].a || !sc[t].b || !sc[t].spec || !sc[t].frames || !sc[t].wino)
            goto nomem;
    }
    for (size_t i = 0; i < nw; i++)
        f0[i] = (size_t)llround(out->windows[i].start_sec * CQ_DNSMOS_RATE_HZ) / HOP;
    job j = {.m = m,
             .wino = wino,
             .x = xr ? xr : x,
             .n = len,
             .n_frames = (len - FLEN) / HOP + 1,
             .f0 = f0,
             .todo = todo,
             .trunk = trunk,
             .w = out->windows,
             .sc = sc};
    size_t have_hi = 0;           /* frames [tb, have_hi) are in the buffer */
    for (size_t i = 0; i < nt;) { /* the windows to compute, todo[i ..] */
        size_t fi = f0[todo[i]];
        if (fi >= have_hi) {
            j.tb = fi, have_hi = fi;
        } else if (fi > j.tb) { /* drop the frames before this window */
            memmove(trunk, trunk + (fi - j.tb) * TROW, sizeof(float) * (have_hi - fi) * TROW);
            j.tb = fi;
        }
        size_t e = i;
        while (e < nt && f0[todo[e]] + NFR <= j.tb + TCAP)
            e++;
        size_t need = f0[todo[e - 1]] + NFR;
        if (need > have_hi) {
            j.c_lo = have_hi, j.c_hi = need;
            cq__parallel(threads, (need - have_hi + CHUNK - 1) / CHUNK, chunk_range, &j);
            have_hi = need;
        }
        j.w_lo = i;
        cq__parallel(threads, 2 * (e - i), window_range, &j);
        i = e;
    }
    double acc[7] = {0};
    for (size_t t = 0; t < nt; t++) {
        const cq_dnsmos_window *w = &out->windows[todo[t]];
        acc[0] += w->sig, acc[1] += w->bak, acc[2] += w->ovrl, acc[3] += w->p808;
        acc[4] += w->sig_raw, acc[5] += w->bak_raw, acc[6] += w->ovrl_raw;
    }
    double k = nt ? (double)nt : 1;
    out->sig = acc[0] / k, out->bak = acc[1] / k, out->ovrl = acc[2] / k,
    out->p808_mos = acc[3] / k;
    out->sig_raw = acc[4] / k, out->bak_raw = acc[5] / k, out->ovrl_raw = acc[6] / k;
    rc = nt ? CQ_OK : CQ_ERR_EMPTY;
    goto done;
nomem:
    rc = CQ_ERR_NOMEM;
done:
    for (int t = 0; sc && t < threads; t++) {
        cq__free(sc[t].a), cq__free(sc[t].b), cq__free(sc[t].wino);
        cq__free(sc[t].spec), cq__free(sc[t].frames);
    }
    cq__free(sc);
    cq__free(trunk);
    cq__free(f0);
    cq__free(todo);
    cq__free(xr);
    if (rc != CQ_OK)
        cq_dnsmos_result_free(out);
    return rc;
}
