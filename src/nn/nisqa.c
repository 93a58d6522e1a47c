/*
 * nisqa.c - NISQA v2 (NISQA_DIM) natively: checkpoint loading, log-mel front end, CNN,
 * self-attention and attention pooling (see cq_nisqa.h).
 *
 * DESIGN
 * Loading: the checkpoint's `args` decide the architecture (checked against the one family
 * implemented); every weight is taken by name from `model_state_dict` with its shape checked.
 * BatchNorm (eval mode) is folded into the preceding convolution; linear layers are stored
 * transposed so products run along the output dimension.
 * Front end: a streaming STFT that keeps only the samples future frames need (reflect padding
 * at both ends as librosa's center=True), a 4096-point real FFT (FFTW, single precision; one
 * plan made at load and used with per-thread buffers), and a sparse Slaney mel filterbank.
 * Frames are computed FRAME_BATCH at a time as the samples arrive (the rest at the end), the
 * batch split between the stream's threads.
 * Linear mel frames are kept (48 floats per 10 ms); dB and the 80 dB floor below the clip's
 * maximum are applied when the clip is finished.
 * Network: segments of 15 frames go through the CNN in batches; the 3x3 convolutions with
 * several input channels (conv2..5, about 94% of the multiply-adds) by Winograd's F(2x2, 3x3)
 * (cq__conv3x3_wino, weights transformed at load), conv1 and conv6 as matrix products over
 * shifted rows of the padded input; the transformer runs over all segments of the clip, attention
 * computed in blocks of query rows so memory stays linear in the clip length.
 */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/base_int.h"
#include "callqa/cq_nisqa.h"
#include "nn_int.h"
#include "torchzip_int.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define N_OUT 5      /* mos, noisiness, discontinuity, coloration, loudness */
#define CNN_BATCH 16 /* segments per CNN batch */
#define ATT_BLOCK 64 /* query rows per attention block */
#define BN_EPS 1e-5f
#define LN_EPS 1e-5f

typedef struct conv {
    int cin, cout, kh, kw, ph, pw;
    float *w; /* [cout][kh][kw][cin]: taps x channels along a row, BatchNorm folded in */
    float *b; /* [cout] */
    float *U; /* 3x3 with padding 1: Winograd's transformed weights (cq__wino_weights); or NULL */
} conv;

typedef struct lin {
    int in, out;
    float *wt; /* [in][out] */
    float *b;  /* [out] */
} lin;

typedef struct lnorm {
    int n;
    float *g, *b;
} lnorm;

typedef struct salayer {
    lin qkv, o, f1, f2;
    lnorm n1, n2;
} salayer;

struct cq_nisqa_model {
    char sha256[65];
    int n_fft, n_mels, seg_len, seg_hop;
    double hop_s, win_s, fmax;
    conv c[6];
    int pool[3][2];
    int feat; /* CNN output size: c_out_3 * pool_3[0] */
    lin td_in;
    lnorm td_norm;
    int d_model, nhead, nlayers;
    salayer *layers;
    lin head1[N_OUT], head2[N_OUT], head3[N_OUT];
    fftwf_plan plan;
};

/* ---- loading ------------------------------------------------------------------------------- */

typedef struct loader {
    const cq__torchzip *z;
    const cq__pv *sd; /* model_state_dict */
    const char *file;
    cq_err *err;
} loader;

static float *tensor(loader *L, const char *name, const int64_t *dims, int nd)
{
    size_t count = 1;
    for (int i = 0; i < nd; i++)
        count *= (size_t)dims[i];
    float *out = cq__malloc((count ? count : 1) * sizeof(float));
    if (!out) {
        cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file);
        return NULL;
    }
    if (cq__torchzip_tensor_f32(L->z, cq__pv_get(L->sd, name), dims, nd, out, name, L->err) !=
        CQ_OK) {
        cq__free(out);
        return NULL;
    }
    return out;
}

static int load_lin(loader *L, lin *l, const char *prefix, int in, int out)
{
    char n[128];
    int64_t dw[2] = {out, in}, db[1] = {out};
    snprintf(n, sizeof(n), "%s.weight", prefix);
    float *w = tensor(L, n, dw, 2);
    if (!w)
        return L->err->code;
    snprintf(n, sizeof(n), "%s.bias", prefix);
    l->b = tensor(L, n, db, 1);
    l->wt = cq__malloc(sizeof(float) * (size_t)in * (size_t)out);
    if (!l->b || !l->wt) {
        cq__free(w);
        return l->b ? cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file)
                    : L->err->code;
    }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            l->wt[(size_t)i * (size_t)out + (size_t)o] = w[(size_t)o * (size_t)in + (size_t)i];
    l->in = in, l->out = out;
    cq__free(w);
    return CQ_OK;
}

static int load_ln(loader *L, lnorm *l, const char *prefix, int n)
{
    char nm[128];
    int64_t d[1] = {n};
    snprintf(nm, sizeof(nm), "%s.weight", prefix);
    l->g = tensor(L, nm, d, 1);
    snprintf(nm, sizeof(nm), "%s.bias", prefix);
    l->b = l->g ? tensor(L, nm, d, 1) : NULL;
    l->n = n;
    return l->g && l->b ? CQ_OK : L->err->code;
}

/* convK + bnK, BatchNorm folded: w' = w * g / sqrt(var + eps), b' = (b - mean) * s + beta */
static int load_conv(loader *L, conv *c, int k, int cin, int cout, int kh, int kw, int ph, int pw)
{
    char n[128];
    int64_t dw[4] = {cout, cin, kh, kw}, d1[1] = {cout};
    snprintf(n, sizeof(n), "cnn.model.conv%d.weight", k);
    c->w = tensor(L, n, dw, 4);
    snprintf(n, sizeof(n), "cnn.model.conv%d.bias", k);
    c->b = c->w ? tensor(L, n, d1, 1) : NULL;
    float *bn[4] = {NULL, NULL, NULL, NULL};
    const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4 && c->b; i++) {
        snprintf(n, sizeof(n), "cnn.model.bn%d.%s", k, parts[i]);
        if (!(bn[i] = tensor(L, n, d1, 1)))
            break;
    }
    int rc = c->w && c->b && bn[3] ? CQ_OK : L->err->code;
    float *taps =
        rc == CQ_OK
            ? cq__malloc(sizeof(float) * (size_t)cout * (size_t)cin * (size_t)kh * (size_t)kw)
            : NULL;
    if (rc == CQ_OK && !taps)
        rc = cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file);
    if (rc == CQ_OK) {
        /* [cout][cin][kh][kw] -> [cout][kh * kw][cin], scaled by the BatchNorm */
        for (int o = 0; o < cout; o++) {
            float s = bn[0][o] / sqrtf(bn[3][o] + BN_EPS);
            for (int i = 0; i < cin; i++)
                for (int t = 0; t < kh * kw; t++)
                    taps[((size_t)o * (size_t)(kh * kw) + (size_t)t) * (size_t)cin + (size_t)i] =
                        c->w[((size_t)o * (size_t)cin + (size_t)i) * (size_t)(kh * kw) +
                             (size_t)t] *
                        s;
            c->b[o] = (c->b[o] - bn[2][o]) * s + bn[1][o];
        }
        cq__free(c->w);
        c->w = taps;
        c->cin = cin, c->cout = cout, c->kh = kh, c->kw = kw, c->ph = ph, c->pw = pw;
        /* conv2..5: Winograd (conv1 has one input channel, conv6 one output column: direct) */
        if (kh == 3 && kw == 3 && ph == 1 && pw == 1 && cin >= 4) {
            c->U = cq__malloc(sizeof(float) * 16 * (size_t)cout * (size_t)cin);
            if (c->U)
                cq__wino_weights((size_t)cin, (size_t)cout, taps, c->U);
            else
                rc = cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file);
        }
    }
    for (int i = 0; i < 4; i++)
        cq__free(bn[i]);
    return rc;
}

static int arg_int(loader *L, const cq__pv *args, const char *key, int lo, int hi, int *out)
{
    const cq__pv *v = cq__pv_get(args, key);
    if (!v || v->kind != CQ__PV_INT || v->i < lo || v->i > hi)
        return cq__err_set(L->err, CQ_ERR_UNSUPPORTED,
                           "%s: checkpoint args: '%s' missing or not an integer in %d..%d", L->file,
                           key, lo, hi);
    *out = (int)v->i;
    return CQ_OK;
}

static int arg_num(loader *L, const cq__pv *args, const char *key, double lo, double hi,
                   double *out)
{
    const cq__pv *v = cq__pv_get(args, key);
    double x = v && v->kind == CQ__PV_INT     ? (double)v->i
               : v && v->kind == CQ__PV_FLOAT ? v->f
                                              : NAN;
    if (!(x >= lo && x <= hi))
        return cq__err_set(L->err, CQ_ERR_UNSUPPORTED,
                           "%s: checkpoint args: '%s' missing or out of range", L->file, key);
    *out = x;
    return CQ_OK;
}

/* The value must be the string `want` (or, with none_ok, None / False). */
static int arg_is(loader *L, const cq__pv *args, const char *key, const char *want, int none_ok)
{
    const cq__pv *v = cq__pv_get(args, key);
    if (v && want && v->kind == CQ__PV_STR && !strcmp(v->s, want))
        return CQ_OK;
    if (none_ok && (!v || v->kind == CQ__PV_NONE || (v->kind == CQ__PV_BOOL && !v->i)))
        return CQ_OK;
    return cq__err_set(L->err, CQ_ERR_UNSUPPORTED,
                       "%s: checkpoint args: '%s' is not %s%s; callqa implements NISQA_DIM with "
                       "an adaptive CNN, self-attention and attention pooling",
                       L->file, key, want ? want : "None", want && none_ok ? " or None" : "");
}

/* A list/tuple of two ints (or one int meaning both). */
static int arg_pair(loader *L, const cq__pv *args, const char *key, int out[2])
{
    const cq__pv *v = cq__pv_get(args, key);
    if (v && v->kind == CQ__PV_INT && v->i > 0 && v->i < 1000) {
        out[0] = out[1] = (int)v->i;
        return CQ_OK;
    }
    if (v && (v->kind == CQ__PV_LIST || v->kind == CQ__PV_TUPLE) && v->n == 2 &&
        v->items[0]->kind == CQ__PV_INT && v->items[1]->kind == CQ__PV_INT && v->items[0]->i > 0 &&
        v->items[0]->i < 1000 && v->items[1]->i > 0 && v->items[1]->i < 1000) {
        out[0] = (int)v->items[0]->i;
        out[1] = (int)v->items[1]->i;
        return CQ_OK;
    }
    return cq__err_set(L->err, CQ_ERR_UNSUPPORTED, "%s: checkpoint args: '%s' is not a pair",
                       L->file, key);
}

static int load_model(cq_nisqa_model *m, loader *L, const cq__pv *args)
{
    int rc;
    int c1 = 0, c2 = 0, c3 = 0, k[2] = {0, 0}, nf = 0, nm = 0, sl = 0, sh = 0, tdd = 0, nh = 0;
    int nl = 0, ffh = 0, ah = 0;
    if ((rc = arg_is(L, args, "model", "NISQA_DIM", 0)) ||
        (rc = arg_is(L, args, "ms_sr", NULL, 1)) ||
        (rc = arg_is(L, args, "cnn_model", "adapt", 0)) ||
        (rc = arg_is(L, args, "cnn_fc_out_h", NULL, 1)) ||
        (rc = arg_is(L, args, "td", "self_att", 0)) ||
        (rc = arg_is(L, args, "td_sa_pos_enc", NULL, 1)) ||
        (rc = arg_is(L, args, "td_2", "skip", 1)) || (rc = arg_is(L, args, "pool", "att", 0)))
        return rc;
    if ((rc = arg_int(L, args, "ms_n_fft", 64, 65536, &nf)) ||
        (rc = arg_int(L, args, "ms_n_mels", 1, 512, &nm)) ||
        (rc = arg_int(L, args, "ms_seg_length", 1, 255, &sl)) ||
        (rc = arg_int(L, args, "ms_seg_hop_length", 1, 255, &sh)) ||
        (rc = arg_num(L, args, "ms_hop_length", 1e-4, 1.0, &m->hop_s)) ||
        (rc = arg_num(L, args, "ms_win_length", 1e-4, 1.0, &m->win_s)) ||
        (rc = arg_num(L, args, "ms_fmax", 1.0, 1e6, &m->fmax)) ||
        (rc = arg_int(L, args, "cnn_c_out_1", 1, 1024, &c1)) ||
        (rc = arg_int(L, args, "cnn_c_out_2", 1, 1024, &c2)) ||
        (rc = arg_int(L, args, "cnn_c_out_3", 1, 1024, &c3)) ||
        (rc = arg_pair(L, args, "cnn_kernel_size", k)) ||
        (rc = arg_pair(L, args, "cnn_pool_1", m->pool[0])) ||
        (rc = arg_pair(L, args, "cnn_pool_2", m->pool[1])) ||
        (rc = arg_pair(L, args, "cnn_pool_3", m->pool[2])) ||
        (rc = arg_int(L, args, "td_sa_d_model", 1, 4096, &tdd)) ||
        (rc = arg_int(L, args, "td_sa_nhead", 1, 64, &nh)) ||
        (rc = arg_int(L, args, "td_sa_num_layers", 1, 64, &nl)) ||
        (rc = arg_int(L, args, "td_sa_h", 1, 65536, &ffh)) ||
        (rc = arg_int(L, args, "pool_att_h", 1, 65536, &ah)))
        return rc;
    if (sl % 2 == 0 || tdd % nh || k[0] != 3 || (k[1] != 3 && k[1] != 1))
        return cq__err_set(L->err, CQ_ERR_UNSUPPORTED, "%s: unsupported NISQA configuration",
                           L->file);
    m->n_fft = nf, m->n_mels = nm, m->seg_len = sl, m->seg_hop = sh;
    m->d_model = tdd, m->nhead = nh, m->nlayers = nl;
    /* CNN: conv1..5 with kernel k and padding (1,1) ((1,0) for width-1 kernels); conv6 spans the
     * last pool's width with padding (1,0) */
    int pw = k[1] == 1 ? 0 : 1;
    const int cin[6] = {1, c1, c2, c3, c3, c3}, cout[6] = {c1, c2, c3, c3, c3, c3};
    for (int i = 0; i < 6; i++) {
        int kw = i == 5 ? m->pool[2][1] : k[1];
        if ((rc = load_conv(L, &m->c[i], i + 1, cin[i], cout[i], k[0], kw, 1, i == 5 ? 0 : pw)))
            return rc;
    }
    m->feat = c3 * m->pool[2][0];
    if ((rc = load_lin(L, &m->td_in, "time_dependency.model.linear", m->feat, tdd)) ||
        (rc = load_ln(L, &m->td_norm, "time_dependency.model.norm1", tdd)))
        return rc;
    m->layers = cq__calloc((size_t)nl, sizeof(salayer));
    if (!m->layers)
        return cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file);
    for (int i = 0; i < nl; i++) {
        char p[128];
        salayer *s = &m->layers[i];
        snprintf(p, sizeof(p), "time_dependency.model.layers.%d.self_attn.out_proj", i);
        if ((rc = load_lin(L, &s->o, p, tdd, tdd)))
            return rc;
        /* in_proj_weight/in_proj_bias: q, k, v stacked */
        char bn[160];
        snprintf(bn, sizeof(bn), "time_dependency.model.layers.%d.self_attn.in_proj_weight", i);
        int64_t dw[2] = {3 * tdd, tdd}, db[1] = {3 * tdd};
        float *w = tensor(L, bn, dw, 2);
        snprintf(bn, sizeof(bn), "time_dependency.model.layers.%d.self_attn.in_proj_bias", i);
        s->qkv.b = w ? tensor(L, bn, db, 1) : NULL;
        s->qkv.wt = cq__malloc(sizeof(float) * 3 * (size_t)tdd * (size_t)tdd);
        if (!w || !s->qkv.b || !s->qkv.wt) {
            cq__free(w);
            return L->err->code ? L->err->code
                                : cq__err_set(L->err, CQ_ERR_NOMEM, "%s: out of memory", L->file);
        }
        for (int o = 0; o < 3 * tdd; o++)
            for (int j = 0; j < tdd; j++)
                s->qkv.wt[(size_t)j * 3 * (size_t)tdd + (size_t)o] =
                    w[(size_t)o * (size_t)tdd + (size_t)j];
        cq__free(w);
        s->qkv.in = tdd, s->qkv.out = 3 * tdd;
        snprintf(p, sizeof(p), "time_dependency.model.layers.%d.linear1", i);
        if ((rc = load_lin(L, &s->f1, p, tdd, ffh)))
            return rc;
        snprintf(p, sizeof(p), "time_dependency.model.layers.%d.linear2", i);
        if ((rc = load_lin(L, &s->f2, p, ffh, tdd)))
            return rc;
        snprintf(p, sizeof(p), "time_dependency.model.layers.%d.norm1", i);
        if ((rc = load_ln(L, &s->n1, p, tdd)))
            return rc;
        snprintf(p, sizeof(p), "time_dependency.model.layers.%d.norm2", i);
        if ((rc = load_ln(L, &s->n2, p, tdd)))
            return rc;
    }
    for (int h = 0; h < N_OUT; h++) {
        char p[128];
        snprintf(p, sizeof(p), "pool_layers.%d.model.linear1", h);
        if ((rc = load_lin(L, &m->head1[h], p, tdd, ah)))
            return rc;
        snprintf(p, sizeof(p), "pool_layers.%d.model.linear2", h);
        if ((rc = load_lin(L, &m->head2[h], p, ah, 1)))
            return rc;
        snprintf(p, sizeof(p), "pool_layers.%d.model.linear3", h);
        if ((rc = load_lin(L, &m->head3[h], p, tdd, 1)))
            return rc;
    }
    /* the FFT plan: made once, used by every stream with its own (fftwf_malloc'd) buffers */
    float *in = fftwf_alloc_real((size_t)nf);
    fftwf_complex *out = fftwf_alloc_complex((size_t)nf / 2 + 1);
    if (in && out) {
        cq__fft_lock();
        m->plan = fftwf_plan_dft_r2c_1d(nf, in, out, FFTW_ESTIMATE);
        cq__fft_unlock();
    }
    fftwf_free(in);
    fftwf_free(out);
    if (!m->plan)
        return cq__err_set(L->err, CQ_ERR_NOMEM, "%s: cannot plan a %d-point FFT", L->file, nf);
    return CQ_OK;
}

static void free_lin(lin *l)
{
    cq__free(l->wt);
    cq__free(l->b);
}

void cq_nisqa_model_free(cq_nisqa_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < 6; i++) {
        cq__free(m->c[i].w);
        cq__free(m->c[i].b);
        cq__free(m->c[i].U);
    }
    free_lin(&m->td_in);
    cq__free(m->td_norm.g);
    cq__free(m->td_norm.b);
    for (int i = 0; m->layers && i < m->nlayers; i++) {
        salayer *s = &m->layers[i];
        free_lin(&s->qkv), free_lin(&s->o), free_lin(&s->f1), free_lin(&s->f2);
        cq__free(s->n1.g), cq__free(s->n1.b), cq__free(s->n2.g), cq__free(s->n2.b);
    }
    cq__free(m->layers);
    for (int h = 0; h < N_OUT; h++)
        free_lin(&m->head1[h]), free_lin(&m->head2[h]), free_lin(&m->head3[h]);
    if (m->plan) {
        cq__fft_lock();
        fftwf_destroy_plan(m->plan);
        cq__fft_unlock();
    }
    cq__free(m);
}

cq_nisqa_model *cq_nisqa_model_load_memory(const void *data, size_t size, const char *name,
                                           cq_err *err)
{
    const char *file = name ? name : "(model)";
    cq_err local;
    if (!err)
        err = &local;
    cq_err_clear(err);
    cq_nisqa_model *m = cq__calloc(1, sizeof(*m));
    if (!m) {
        cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", file);
        return NULL;
    }
    cq__torchzip *z = NULL;
    if (cq__sha256_hex(data, size, m->sha256, err) != CQ_OK)
        goto fail;
    if (cq__torchzip_open(data, size, file, &z, err) != CQ_OK)
        goto fail;
    const cq__pv *root = cq__torchzip_root(z);
    const cq__pv *args = cq__pv_get(root, "args");
    loader L = {z, cq__pv_get(root, "model_state_dict"), file, err};
    if (!args || args->kind != CQ__PV_DICT || !L.sd || L.sd->kind != CQ__PV_DICT) {
        cq__err_set(err, CQ_ERR_FORMAT,
                    "%s: not a NISQA checkpoint (no 'args' and 'model_state_dict')", file);
        goto fail;
    }
    if (load_model(m, &L, args) != CQ_OK)
        goto fail;
    cq__torchzip_free(z);
    return m;
fail:
    cq__torchzip_free(z);
    cq_nisqa_model_free(m);
    return NULL;
}

cq_nisqa_model *cq_nisqa_model_load(const char *path, cq_err *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (cq__read_file(path, CQ_NISQA_MODEL_MAX_BYTES, &buf, &n, err) != CQ_OK)
        return NULL;
    cq_nisqa_model *m = cq_nisqa_model_load_memory(buf, n, path, err);
    cq__free(buf);
    return m;
}

const char *cq_nisqa_model_sha256(const cq_nisqa_model *m)
{
    return m->sha256;
}

/* ---- streams: the log-mel front end ------------------------------------------------------------
 */

/* One thread's buffers for the front end's frames. */
typedef struct fbuf {
    float *fin; /* FFT input (fftwf_malloc): zero but for the window's samples */
    fftwf_complex *fout;
    float *re, *im, *mag; /* [bins]: the spectrum split, its magnitude */
} fbuf;

#define FRAME_BATCH 256 /* frames computed together (in parallel) as the samples arrive */

struct cq_nisqa {
    const cq_nisqa_model *m;
    int rate, hop, win, lpad, bins;
    uint64_t max_samples;
    float *window;          /* [win]: periodic Hann */
    int *band_lo, *band_hi; /* mel band m covers bins [lo, hi) */
    float *band_w;          /* weights, band after band */
    size_t *band_off;
    float *buf; /* samples [base, base + len) */
    size_t len, cap;
    uint64_t base, received, next_frame;
    fbuf *fb; /* [nfb]: one per thread of the front end */
    int nfb;
    float *mel; /* [frames][n_mels] linear magnitude */
    size_t frames, mel_cap;
    int threads; /* for the network (cq_nisqa_set_threads) */
};

/* Sparse Slaney-normalised triangular filterbank, as librosa.filters.mel(htk=False). */
static int make_filterbank(cq_nisqa *s)
{
    const int nm = s->m->n_mels, nb = s->bins;
    double *mel_f = cq__malloc(sizeof(double) * (size_t)(nm + 2));
    float *w = cq__malloc(sizeof(float) * (size_t)nb);
    s->band_lo = cq__malloc(sizeof(int) * (size_t)nm);
    s->band_hi = cq__malloc(sizeof(int) * (size_t)nm);
    s->band_off = cq__malloc(sizeof(size_t) * (size_t)nm);
    s->band_w = cq__malloc(sizeof(float) * (size_t)nm * (size_t)nb);
    if (!mel_f || !w || !s->band_lo || !s->band_hi || !s->band_off || !s->band_w) {
        cq__free(mel_f), cq__free(w);
        return CQ_ERR_NOMEM;
    }
    cq__slaney_mel_edges(s->m->fmax, nm, mel_f);
    size_t off = 0;
    for (int i = 0; i < nm; i++) {
        double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
        double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        int lo = nb, hi = 0;
        for (int b = 0; b < nb; b++) {
            double f = (double)s->rate / 2 * b / (nb - 1); /* np.linspace(0, sr/2, bins) */
            double lower = -(mel_f[i] - f) / fd0, upper = (mel_f[i + 2] - f) / fd1;
            double v = fmax(0.0, fmin(lower, upper));
            w[b] = (float)((float)v * enorm); /* float32 weights, as librosa */
            if (w[b] > 0) {
                lo = b < lo ? b : lo;
                hi = b + 1;
            }
        }
        if (hi <= lo)
            lo = hi = 0; /* empty band (above Nyquist) */
        s->band_lo[i] = lo, s->band_hi[i] = hi, s->band_off[i] = off;
        for (int b = lo; b < hi; b++)
            s->band_w[off++] = w[b];
    }
    cq__free(mel_f);
    cq__free(w);
    return CQ_OK;
}

/* At least n front-end buffers. */
static int fbufs(cq_nisqa *s, int n)
{
    if (n <= s->nfb)
        return CQ_OK;
    fbuf *fb = cq__realloc(s->fb, sizeof(fbuf) * (size_t)n);
    if (!fb)
        return CQ_ERR_NOMEM;
    s->fb = fb;
    for (; s->nfb < n; s->nfb++) {
        fbuf *b = &fb[s->nfb];
        b->fin = fftwf_alloc_real((size_t)s->m->n_fft);
        b->fout = fftwf_alloc_complex((size_t)s->bins);
        b->re = cq__malloc(sizeof(float) * 3 * (size_t)s->bins);
        if (!b->fin || !b->fout || !b->re) {
            fftwf_free(b->fin), fftwf_free(b->fout), cq__free(b->re);
            return CQ_ERR_NOMEM;
        }
        b->im = b->re + s->bins, b->mag = b->im + s->bins;
        memset(b->fin, 0, sizeof(float) * (size_t)s->m->n_fft);
    }
    return CQ_OK;
}

cq_nisqa *cq_nisqa_create(const cq_nisqa_model *m, int sample_rate_hz, double max_seconds, int *err)
{
    int rc = CQ_OK;
    cq_nisqa *s = NULL;
    if (!m || sample_rate_hz < 1000 || sample_rate_hz > 384000 || !(max_seconds > 0)) {
        rc = CQ_ERR_INVALID;
        goto done;
    }
    s = cq__calloc(1, sizeof(*s));
    if (!s) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    s->m = m;
    s->rate = sample_rate_hz;
    s->threads = 1;
    /* int(sr * 0.01) and int(sr * 0.02), as NISQA computes them */
    s->hop = (int)(sample_rate_hz * m->hop_s);
    s->win = (int)(sample_rate_hz * m->win_s);
    if (s->hop < 1 || s->win < 1 || s->win > m->n_fft) {
        rc = CQ_ERR_UNSUPPORTED;
        goto done;
    }
    s->lpad = (m->n_fft - s->win) / 2;
    s->bins = m->n_fft / 2 + 1;
    s->max_samples = (uint64_t)(max_seconds * sample_rate_hz);
    s->window = cq__malloc(sizeof(float) * (size_t)s->win);
    if (!s->window || fbufs(s, 1) != CQ_OK) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < s->win; i++) /* periodic ("fftbins") Hann */
        s->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / s->win));
    rc = make_filterbank(s);
done:
    if (rc != CQ_OK) {
        cq_nisqa_destroy(s);
        s = NULL;
    }
    if (err)
        *err = rc;
    return s;
}

void cq_nisqa_destroy(cq_nisqa *s)
{
    if (!s)
        return;
    cq__free(s->window);
    cq__free(s->band_lo), cq__free(s->band_hi), cq__free(s->band_off), cq__free(s->band_w);
    cq__free(s->buf);
    cq__free(s->mel);
    for (int i = 0; i < s->nfb; i++)
        fftwf_free(s->fb[i].fin), fftwf_free(s->fb[i].fout), cq__free(s->fb[i].re);
    cq__free(s->fb);
    cq__free(s);
}

void cq_nisqa_set_threads(cq_nisqa *s, int threads)
{
    s->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
}

void cq_nisqa_reset(cq_nisqa *s)
{
    s->len = 0;
    s->base = s->received = s->next_frame = 0;
    s->frames = 0;
}

/* librosa center=True pads with np.pad(mode='reflect'): mirror without repeating the edge. */
static uint64_t reflect(int64_t j, uint64_t L)
{
    if (L <= 1)
        return 0;
    int64_t period = 2 * (int64_t)(L - 1);
    int64_t r = j % period;
    if (r < 0)
        r += period;
    return (uint64_t)(r >= (int64_t)L ? period - r : r);
}

/* Frame t of a signal of (known or provisional) length L into out [n_mels], with b's buffers. */
static int frame(const cq_nisqa *s, uint64_t t, uint64_t L, fbuf *b, float *out)
{
    const int nf = s->m->n_fft;
    int64_t j0 = (int64_t)(t * (uint64_t)s->hop) + s->lpad - nf / 2;
    float *fw = b->fin + s->lpad; /* outside the window fin stays zero */
    if (j0 >= (int64_t)s->base && (uint64_t)j0 + (uint64_t)s->win <= L &&
        (uint64_t)j0 + (uint64_t)s->win <= s->base + s->len) {
        const float *x = s->buf + ((uint64_t)j0 - s->base); /* no reflection */
        for (int k = 0; k < s->win; k++)
            fw[k] = s->window[k] * x[k];
    } else {
        for (int k = 0; k < s->win; k++) {
            uint64_t idx = reflect(j0 + k, L);
            if (idx < s->base || idx - s->base >= s->len)
                return CQ_ERR_INTERNAL; /* the buffer must hold every sample a frame needs */
            fw[k] = s->window[k] * s->buf[idx - s->base];
        }
    }
    fftwf_execute_dft_r2c(s->m->plan, b->fin, b->fout);
    /* |X| as float32 (librosa casts the STFT to complex64), then the filterbank */
    for (int k = 0; k < s->bins; k++)
        b->re[k] = b->fout[k][0], b->im[k] = b->fout[k][1];
    cq__magnitude((size_t)s->bins, b->re, b->im, b->mag);
    for (int i = 0; i < s->m->n_mels; i++)
        out[i] = cq__dot((size_t)(s->band_hi[i] - s->band_lo[i]), s->band_w + s->band_off[i],
                         b->mag + s->band_lo[i]);
    return CQ_OK;
}

typedef struct frames_job {
    const cq_nisqa *s;
    uint64_t t0, L;
    int rc[64]; /* per worker */
} frames_job;

static void frames_range(void *arg, size_t i0, size_t i1, int worker)
{
    frames_job *j = arg;
    const cq_nisqa *s = j->s;
    for (size_t i = i0; i < i1 && j->rc[worker] == CQ_OK; i++)
        j->rc[worker] = frame(s, j->t0 + i, j->L, &s->fb[worker],
                              s->mel + (s->frames + i) * (size_t)s->m->n_mels);
}

/* Frames [next_frame, t1) of a signal of (known or provisional) length L, in parallel. */
static int run_frames(cq_nisqa *s, uint64_t t1, uint64_t L)
{
    if (t1 <= s->next_frame)
        return CQ_OK;
    const size_t n = (size_t)(t1 - s->next_frame);
    int threads = n >= 32 ? s->threads : 1; /* a thread's start costs about a few frames */
    if (cq__grow((void **)&s->mel, &s->mel_cap, (s->frames + n) * (size_t)s->m->n_mels,
                 sizeof(float)) != CQ_OK ||
        fbufs(s, threads) != CQ_OK)
        return CQ_ERR_NOMEM;
    frames_job j = {s, s->next_frame, L, {0}};
    cq__parallel(threads, n, frames_range, &j);
    for (int w = 0; w < threads; w++)
        if (j.rc[w] != CQ_OK)
            return j.rc[w];
    s->frames += n;
    s->next_frame = t1;
    return CQ_OK;
}

int cq_nisqa_push(cq_nisqa *s, const float *x, size_t n)
{
    if (s->received + n > s->max_samples)
        return CQ_ERR_TOO_LARGE;
    /* drop samples no future frame can need (a full n_fft of margin keeps the end's
     * reflections covered) */
    const int nf = s->m->n_fft;
    int64_t keep_from = (int64_t)(s->next_frame * (uint64_t)s->hop) - nf / 2 - nf;
    if (keep_from > (int64_t)s->base && (uint64_t)keep_from - s->base > s->len / 2) {
        size_t drop = (size_t)((uint64_t)keep_from - s->base);
        memmove(s->buf, s->buf + drop, (s->len - drop) * sizeof(float));
        s->len -= drop;
        s->base += drop;
    }
    if (cq__grow((void **)&s->buf, &s->cap, s->len + n, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    memcpy(s->buf + s->len, x, n * sizeof(float));
    s->len += n;
    s->received += n;
    /* frames whose samples are all here (left reflection needs y[1 .. n_fft/2]), once there
     * are FRAME_BATCH of them (the rest when the clip is finished) */
    uint64_t t1 = s->next_frame;
    for (;; t1++) {
        int64_t j0 = (int64_t)(t1 * (uint64_t)s->hop) + s->lpad - nf / 2;
        int64_t j1 = j0 + s->win - 1;
        if (j1 >= (int64_t)s->received || -j0 >= (int64_t)s->received)
            break;
    }
    return t1 - s->next_frame >= FRAME_BATCH ? run_frames(s, t1, UINT64_MAX / 4) : CQ_OK;
}

/* ---- the network --------------------------------------------------------------------------- */

/*
 * The CNN keeps activations as [channel][row][column][segment]: the segments of a batch are
 * the innermost index, so a convolution tap is a matrix product over a shifted block of a
 * zero-padded input (no im2col), and pooling runs along the segment vectors.
 */

/* Copy in [c][H][W][nb] into P [c][H + 2 ph][W + 2 pw][nb] with zero borders. */
static void pad_input(const float *in, int c, int H, int W, int ph, int pw, int nb, float *P)
{
    const int Hp = H + 2 * ph, Wp = W + 2 * pw;
    memset(P, 0, sizeof(float) * (size_t)c * (size_t)Hp * (size_t)Wp * (size_t)nb);
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < H; y++)
            memcpy(P + (((size_t)ci * (size_t)Hp + (size_t)(y + ph)) * (size_t)Wp + (size_t)pw) *
                           (size_t)nb,
                   in + (((size_t)ci * (size_t)H + (size_t)y) * (size_t)W) * (size_t)nb,
                   sizeof(float) * (size_t)W * (size_t)nb);
}

/* conv (BN folded) + ReLU: in [cin][H][W][nb] -> out [cout][Ho][Wo][nb]; P is scratch. */
static void conv_relu(const conv *c, const float *in, int nb, int H, int W, float *P, float *out,
                      int *Ho_, int *Wo_)
{
    const int Hp = H + 2 * c->ph, Wp = W + 2 * c->pw;
    const int Ho = Hp - c->kh + 1, Wo = Wp - c->kw + 1;
    if (c->U) { /* 3x3, padding 1: Winograd, P its scratch */
        cq__conv3x3_wino((size_t)c->cin, (size_t)c->cout, (size_t)H, (size_t)W, (size_t)nb, c->U,
                         c->b, 1, in, out, P);
        *Ho_ = Ho, *Wo_ = Wo;
        return;
    }
    const size_t cstride_in = (size_t)Hp * (size_t)Wp * (size_t)nb;
    const size_t cstride_out = (size_t)Ho * (size_t)Wo * (size_t)nb;
    pad_input(in, c->cin, H, W, c->ph, c->pw, nb, P);
    /* one product per output row: its K rows are (tap, input channel), each a shifted view */
    const size_t K = (size_t)c->kh * (size_t)c->kw * (size_t)c->cin;
    const float *rows[9 * 1024];
    assert(K <= sizeof(rows) / sizeof(rows[0]));
    for (int y = 0; y < Ho; y++) {
        size_t k = 0;
        for (int a = 0; a < c->kh; a++)
            for (int b = 0; b < c->kw; b++)
                for (int ci = 0; ci < c->cin; ci++)
                    rows[k++] = P + (size_t)ci * cstride_in +
                                ((size_t)(y + a) * (size_t)Wp + (size_t)b) * (size_t)nb;
        cq__gemm_rows((size_t)c->cout, (size_t)Wo * (size_t)nb, K, c->w, K, rows,
                      out + (size_t)y * (size_t)Wo * (size_t)nb, cstride_out, c->b, 1);
    }
    *Ho_ = Ho, *Wo_ = Wo;
}

static void layer_norm(const lnorm *l, float *x, size_t rows)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * (size_t)l->n;
        double mean = 0, var = 0;
        for (int i = 0; i < l->n; i++)
            mean += v[i];
        mean /= l->n;
        for (int i = 0; i < l->n; i++)
            var += (v[i] - mean) * (v[i] - mean);
        var /= l->n;
        float inv = (float)(1.0 / sqrt(var + LN_EPS));
        for (int i = 0; i < l->n; i++)
            v[i] = (float)(v[i] - mean) * inv * l->g[i] + l->b[i];
    }
}

/* y[rows][out] = x[rows][in] W^T + b (optionally ReLU) */
static void linear(const lin *l, const float *x, size_t rows, float *y, int relu)
{
    cq__gemm(rows, (size_t)l->out, (size_t)l->in, x, (size_t)l->in, l->wt, (size_t)l->out, y,
             (size_t)l->out, 0);
    for (size_t r = 0; r < rows; r++) {
        float *v = y + r * (size_t)l->out;
        for (int i = 0; i < l->out; i++) {
            float t = v[i] + l->b[i];
            v[i] = relu && t < 0 ? 0 : t;
        }
    }
}

typedef struct cnn_job {
    const cq_nisqa_model *m;
    const float *db;
    size_t nseg;
    float *feat;
    float **scratch; /* 3 buffers of max_act floats per worker */
} cnn_job;

/* CNN over the batches [b0, b1) of CNN_BATCH segments. */
static void cnn_range(void *arg, size_t b0, size_t b1, int worker)
{
    const cnn_job *j = arg;
    const cq_nisqa_model *m = j->m;
    const int M = m->n_mels, S = m->seg_len, B = CNN_BATCH;
    float *P = j->scratch[3 * worker], *a = j->scratch[3 * worker + 1];
    float *b = j->scratch[3 * worker + 2];
    for (size_t bi = b0; bi < b1; bi++) {
        size_t s0 = bi * (size_t)B;
        int nb = (int)(j->nseg - s0 < (size_t)B ? j->nseg - s0 : (size_t)B);
        /* input [1][M][S][nb]: x[r][k][n] = db[start_n + k][r] */
        for (int r = 0; r < M; r++)
            for (int k = 0; k < S; k++)
                for (int n = 0; n < nb; n++)
                    a[((size_t)r * (size_t)S + (size_t)k) * (size_t)nb + (size_t)n] =
                        j->db[((s0 + (size_t)n) * (size_t)m->seg_hop + (size_t)k) * (size_t)M +
                              (size_t)r];
        int H = M, W = S, Ho, Wo;
        conv_relu(&m->c[0], a, nb, H, W, P, b, &Ho, &Wo);
        cq__adaptive_max((size_t)m->c[0].cout, (size_t)nb, Ho, Wo, m->pool[0][0], m->pool[0][1], b,
                         a);
        H = m->pool[0][0], W = m->pool[0][1];
        conv_relu(&m->c[1], a, nb, H, W, P, b, &Ho, &Wo);
        cq__adaptive_max((size_t)m->c[1].cout, (size_t)nb, Ho, Wo, m->pool[1][0], m->pool[1][1], b,
                         a);
        H = m->pool[1][0], W = m->pool[1][1];
        conv_relu(&m->c[2], a, nb, H, W, P, b, &Ho, &Wo);
        conv_relu(&m->c[3], b, nb, Ho, Wo, P, a, &Ho, &Wo);
        cq__adaptive_max((size_t)m->c[3].cout, (size_t)nb, Ho, Wo, m->pool[2][0], m->pool[2][1], a,
                         b);
        H = m->pool[2][0], W = m->pool[2][1];
        conv_relu(&m->c[4], b, nb, H, W, P, a, &Ho, &Wo);
        conv_relu(&m->c[5], a, nb, Ho, Wo, P, b, &Ho, &Wo);
        /* b: [C][Ho][1][nb] -> feat[seg][c * Ho + h] (PyTorch's view(-1, C * H)) */
        const int C = m->c[5].cout;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < Ho; h++)
                for (int n = 0; n < nb; n++)
                    j->feat[(s0 + (size_t)n) * (size_t)m->feat + (size_t)c * (size_t)Ho +
                            (size_t)h] =
                        b[(((size_t)c * (size_t)Ho + (size_t)h) * (size_t)Wo) * (size_t)nb +
                          (size_t)n];
    }
}

/* CNN over nseg segments of [n_mels][seg_len] taken from db (frames x mels). */
static int cnn(const cq_nisqa_model *m, const float *db, size_t nseg, float *feat, int threads)
{
    const int M = m->n_mels, S = m->seg_len, B = CNN_BATCH;
    /* scratch for the largest (padded) activation of a batch: walk the shapes once */
    size_t max_act = (size_t)B * (size_t)M * (size_t)S;
    {
        int H = M, W = S;
        for (int i = 0; i < 6; i++) {
            const conv *c = &m->c[i];
            int Hp = H + 2 * c->ph, Wp = W + 2 * c->pw, Ho = Hp - c->kh + 1, Wo = Wp - c->kw + 1;
            size_t in = (size_t)c->cin * (size_t)Hp * (size_t)Wp * (size_t)B;
            size_t out = (size_t)c->cout * (size_t)Ho * (size_t)Wo * (size_t)B;
            max_act = in > max_act ? in : max_act;
            max_act = out > max_act ? out : max_act;
            if (c->U) {
                size_t w = cq__wino_scratch((size_t)c->cin, (size_t)c->cout, (size_t)H, (size_t)W,
                                            (size_t)B);
                max_act = w > max_act ? w : max_act;
            }
            H = Ho, W = Wo;
            if (i == 0 || i == 1 || i == 3) { /* adaptive pools after conv1, conv2, conv4 */
                int p = i == 0 ? 0 : i == 1 ? 1 : 2;
                H = m->pool[p][0], W = m->pool[p][1];
            }
        }
    }
    size_t nbatch = (nseg + (size_t)B - 1) / (size_t)B;
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > nbatch)
        threads = nbatch ? (int)nbatch : 1;
    float **scratch = cq__calloc(3 * (size_t)threads, sizeof(float *));
    int rc = scratch ? CQ_OK : CQ_ERR_NOMEM;
    for (int i = 0; rc == CQ_OK && i < 3 * threads; i++)
        if (!(scratch[i] = cq__malloc(sizeof(float) * max_act)))
            rc = CQ_ERR_NOMEM;
    if (rc == CQ_OK) {
        cnn_job j = {m, db, nseg, feat, scratch};
        cq__parallel(threads, nbatch, cnn_range, &j);
    }
    for (int i = 0; scratch && i < 3 * threads; i++)
        cq__free(scratch[i]);
    cq__free(scratch);
    return rc;
}

typedef struct att_job {
    const float *qkv, *kt, *v;
    float *att, **scratch; /* per worker: q [B][hd], o [B][hd], sc [B][N] */
    size_t N;
    int d, hd, h;
    float scale;
} att_job;

/* Attention of head h for the query blocks [b0, b1). */
static void att_range(void *arg, size_t b0, size_t b1, int worker)
{
    const att_job *j = arg;
    const size_t B = ATT_BLOCK, N = j->N, d = (size_t)j->d, hd = (size_t)j->hd;
    float *q = j->scratch[3 * worker], *o = j->scratch[3 * worker + 1];
    float *sc = j->scratch[3 * worker + 2];
    for (size_t bi = b0; bi < b1; bi++) {
        size_t r0 = bi * B, nr = N - r0 < B ? N - r0 : B;
        for (size_t r = 0; r < nr; r++)
            for (size_t c = 0; c < hd; c++)
                q[r * hd + c] = j->qkv[(r0 + r) * 3 * d + (size_t)j->h * hd + c] * j->scale;
        cq__gemm(nr, N, hd, q, hd, j->kt, N, sc, N, 0);
        /* softmax along the row: e^(s - max) here, the division by the row's sum applied to
         * the row's hd outputs rather than to its N weights */
        float inv[ATT_BLOCK];
        for (size_t r = 0; r < nr; r++)
            inv[r] = (float)(1.0 / cq__exp_shifted(sc + r * N, N));
        cq__gemm(nr, hd, N, sc, N, j->v, hd, o, hd, 0);
        for (size_t r = 0; r < nr; r++) {
            float *dst = j->att + (r0 + r) * d + (size_t)j->h * hd;
            for (size_t c = 0; c < hd; c++)
                dst[c] = o[r * hd + c] * inv[r];
        }
    }
}

/* One post-norm transformer encoder layer over x [N][d], in place. */
static int encoder_layer(const cq_nisqa_model *m, const salayer *L, float *x, size_t N, int threads)
{
    const int d = m->d_model, nh = m->nhead, hd = d / nh;
    const size_t B = ATT_BLOCK, nblocks = (N + B - 1) / B;
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > nblocks)
        threads = (int)nblocks;
    float *qkv = cq__malloc(sizeof(float) * N * 3 * (size_t)d);
    float *kt = cq__malloc(sizeof(float) * (size_t)hd * N); /* one head's keys, transposed */
    float *v = cq__malloc(sizeof(float) * N * (size_t)hd);  /* one head's values [N][hd] */
    float *att = cq__malloc(sizeof(float) * N * (size_t)d); /* heads concatenated */
    float *tmp = cq__malloc(sizeof(float) * N * (size_t)(d > L->f1.out ? d : L->f1.out));
    float **scratch = cq__calloc(3 * (size_t)threads, sizeof(float *));
    int rc = qkv && kt && v && att && tmp && scratch ? CQ_OK : CQ_ERR_NOMEM;
    for (int t = 0; rc == CQ_OK && t < threads; t++) {
        scratch[3 * t] = cq__malloc(sizeof(float) * B * (size_t)hd);
        scratch[3 * t + 1] = cq__malloc(sizeof(float) * B * (size_t)hd);
        scratch[3 * t + 2] = cq__malloc(sizeof(float) * B * N);
        if (!scratch[3 * t] || !scratch[3 * t + 1] || !scratch[3 * t + 2])
            rc = CQ_ERR_NOMEM;
    }
    if (rc != CQ_OK)
        goto out;
    linear(&L->qkv, x, N, qkv, 0);
    for (int h = 0; h < nh; h++) {
        for (size_t i = 0; i < N; i++)
            for (int c = 0; c < hd; c++) {
                kt[(size_t)c * N + i] = qkv[i * 3 * (size_t)d + (size_t)d + (size_t)(h * hd + c)];
                v[i * (size_t)hd + (size_t)c] =
                    qkv[i * 3 * (size_t)d + 2 * (size_t)d + (size_t)(h * hd + c)];
            }
        att_job j = {qkv, kt, v, att, scratch, N, d, hd, h, 1.0f / sqrtf((float)hd)};
        cq__parallel(threads, nblocks, att_range, &j);
    }
    linear(&L->o, att, N, tmp, 0);
    for (size_t i = 0; i < N * (size_t)d; i++)
        x[i] += tmp[i];
    layer_norm(&L->n1, x, N);
    linear(&L->f1, x, N, tmp, 1);
    linear(&L->f2, tmp, N, att, 0);
    for (size_t i = 0; i < N * (size_t)d; i++)
        x[i] += att[i];
    layer_norm(&L->n2, x, N);
out:
    for (int t = 0; scratch && t < 3 * threads; t++)
        cq__free(scratch[t]);
    cq__free(scratch);
    cq__free(qkv), cq__free(kt), cq__free(v), cq__free(att), cq__free(tmp);
    return rc;
}

/* Attention pooling head h over x [N][d]. */
static int pool_head(const cq_nisqa_model *m, int h, const float *x, size_t N, double *out)
{
    const int d = m->d_model;
    float *hid = cq__malloc(sizeof(float) * N * (size_t)m->head1[h].out);
    float *w = cq__malloc(sizeof(float) * N);
    if (!hid || !w) {
        cq__free(hid), cq__free(w);
        return CQ_ERR_NOMEM;
    }
    linear(&m->head1[h], x, N, hid, 1);
    linear(&m->head2[h], hid, N, w, 0);
    double sum = cq__exp_shifted(w, N);
    double y = m->head3[h].b[0];
    for (int c = 0; c < d; c++) {
        double pooled = 0;
        for (size_t j = 0; j < N; j++)
            pooled += (double)w[j] * x[j * (size_t)d + (size_t)c];
        y += pooled / sum * m->head3[h].wt[c];
    }
    *out = y;
    cq__free(hid), cq__free(w);
    return CQ_OK;
}

int cq_nisqa_finish(cq_nisqa *s, cq_nisqa_scores *out)
{
    const cq_nisqa_model *m = s->m;
    memset(out, 0, sizeof(*out));
    const uint64_t L = s->received;
    if (L == 0)
        return CQ_ERR_EMPTY;
    const uint64_t n_frames = 1 + L / (uint64_t)s->hop;
    int rc0 = run_frames(s, n_frames, L); /* the rest, the tail with the right-hand reflection */
    if (rc0 != CQ_OK)
        return rc0;
    const int M = m->n_mels;
    if (s->frames < (size_t)m->seg_len)
        return CQ_ERR_EMPTY;
    /* amplitude_to_db(ref=1, amin=1e-4, top_db=80) */
    float top = -HUGE_VALF;
    const size_t cells = s->frames * (size_t)M;
    for (size_t i = 0; i < cells; i++) {
        float p = s->mel[i] * s->mel[i];
        float db = 10.0f * log10f(p > 1e-8f ? p : 1e-8f);
        s->mel[i] = db;
        top = db > top ? db : top;
    }
    for (size_t i = 0; i < cells; i++)
        s->mel[i] = s->mel[i] > top - 80.0f ? s->mel[i] : top - 80.0f;
    size_t nwin = s->frames - (size_t)m->seg_len + 1;
    size_t nseg = (nwin + (size_t)m->seg_hop - 1) / (size_t)m->seg_hop;
    const int d = m->d_model;
    float *feat = cq__malloc(sizeof(float) * nseg * (size_t)m->feat);
    float *x = cq__malloc(sizeof(float) * nseg * (size_t)d);
    int rc = feat && x ? CQ_OK : CQ_ERR_NOMEM;
    if (rc == CQ_OK)
        rc = cnn(m, s->mel, nseg, feat, s->threads);
    if (rc == CQ_OK) {
        linear(&m->td_in, feat, nseg, x, 0);
        layer_norm(&m->td_norm, x, nseg);
        for (int l = 0; l < m->nlayers && rc == CQ_OK; l++)
            rc = encoder_layer(m, &m->layers[l], x, nseg, s->threads);
    }
    double y[N_OUT] = {0};
    for (int h = 0; h < N_OUT && rc == CQ_OK; h++)
        rc = pool_head(m, h, x, nseg, &y[h]);
    if (rc == CQ_OK) {
        out->mos = y[0], out->noisiness = y[1], out->discontinuity = y[2];
        out->coloration = y[3], out->loudness = y[4];
        out->n_segments = nseg;
    }
    cq__free(feat);
    cq__free(x);
    return rc;
}
