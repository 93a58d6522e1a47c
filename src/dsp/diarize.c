/*
 * diarize.c - two-speaker diarization of one mono leg, and voice prints (cq_diarize.h has the
 * method; docs/diarization.md the measurements).
 *
 * Frames are computed as the audio is pushed (16 MFCCs and a level per 10 ms); the rest runs at
 * finish, once the VAD's speech is known: normalisation, change points, clustering by GLR,
 * the one-or-two rule, and Viterbi re-segmentation with one Gaussian mixture per speaker.
 * Full-covariance statistics are kept as sums (n, sum x, sum x x^T) so that a Gaussian's
 * log-determinant for any union of frames costs one Cholesky factorisation.
 */
#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_diarize.h"

#define FRAME 200 /* 25 ms */
#define HOP 80    /* 10 ms */
#define NFFT 256
#define NBIN (NFFT / 2 + 1)
#define NMEL 24
#define NC 16      /* c1..c16 */
#define D (NC + 2) /* and log F0, and the level */
#define PFRAME 320 /* 40 ms for the pitch */
#define HIST 4096  /* samples kept for the frames (>= PFRAME) */
#define PFFT 512
#define PBIN (PFFT / 2 + 1)
#define LAG_MIN 20             /* 400 Hz */
#define LAG_MAX 133            /* 60 Hz */
#define VOICED 0.45            /* normalised autocorrelation peak of a voiced frame */
#define NTRI (D * (D + 1) / 2) /* packed lower triangle */
#define FRAME_SEC 0.01         /* hop */
#define CENTER_SEC 0.0125      /* a frame's centre after its start */
#define WEAK_DB 30.0           /* frames this far under the loud ones carry no voice */
#define MIN_SEG_FRAMES 20      /* speech shorter than this is left to re-segmentation */
#define MIN_SIDE 50            /* a change point leaves 0.5 s on each side */
#define MAX_RUN 3000           /* frames of one run cut into pieces at a time (30 s) */
#define RIDGE 1e-3             /* added to covariance diagonals (features have variance 1) */
#define VAR_FLOOR 1e-2         /* GMM variance floor */
#define PI 3.14159265358979323846
#define REASSIGN_ROUNDS 4 /* segment-level re-assignment passes per candidate */

struct cq_diarizer {
    cq_diar_params p;
    float *mf; /* n_frames x D: raw cepstra and log F0 (0 when unvoiced) */
    float *db; /* n_frames levels, dB */
    float *vo; /* n_frames voicing: the normalised autocorrelation's peak */
    size_t n_frames, cap;
    float pre[HIST]; /* pre-emphasised samples; [p - PFRAME, p) are the latest (zeros before
                        the first) */
    float raw[HIST]; /* the same samples as they came */
    size_t at;       /* next write position in pre and raw */
    uint64_t total;  /* samples pushed */
    float prev;      /* the last raw sample, for pre-emphasis */
    float win[FRAME];
    float pwin[PFRAME];
    float pnorm[LAG_MAX + 2]; /* the window's own autocorrelation, per lag */
    float *fin, *pin;
    fftwf_complex *fout, *pout;
    fftwf_plan plan, pfwd, pinv;
    int mel_lo[NMEL], mel_hi[NMEL]; /* bins [lo, hi) of each filter */
    float mel_w[NMEL][NBIN];
    float dct[NC][NMEL];
};

cq_diar_params cq_diar_default_params(void)
{
    return (cq_diar_params){.piece_sec = 2.0,
                            .change_glr = 300.0,
                            .bic_lambda = 1.0,
                            .min_second_sec = 3.0,
                            .min_coherence = 0.6,
                            .gmm_components = 8,
                            .iterations = 3,
                            .switch_penalty = 50.0};
}

static double hz_to_mel(double f)
{
    return 2595.0 * log10(1.0 + f / 700.0);
}

static double mel_to_hz(double m)
{
    return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
}

static void make_bank(cq_diarizer *d)
{
    double lo = hz_to_mel(200.0), hi = hz_to_mel(3600.0);
    double edge[NMEL + 2];
    for (int i = 0; i < NMEL + 2; i++)
        edge[i] = mel_to_hz(lo + (hi - lo) * i / (NMEL + 1));
    for (int m = 0; m < NMEL; m++) {
        d->mel_lo[m] = NBIN;
        d->mel_hi[m] = 0;
        for (int k = 0; k < NBIN; k++) {
            double f = (double)k * CQ_DIARIZE_RATE / NFFT, w = 0;
            if (f > edge[m] && f <= edge[m + 1])
                w = (f - edge[m]) / (edge[m + 1] - edge[m]);
            else if (f > edge[m + 1] && f < edge[m + 2])
                w = (edge[m + 2] - f) / (edge[m + 2] - edge[m + 1]);
            d->mel_w[m][k] = (float)w;
            if (w > 0) {
                if (k < d->mel_lo[m])
                    d->mel_lo[m] = k;
                d->mel_hi[m] = k + 1;
            }
        }
    }
    for (int c = 0; c < NC; c++)
        for (int m = 0; m < NMEL; m++)
            d->dct[c][m] = (float)cos(PI * (c + 1) * (m + 0.5) / NMEL);
    for (int i = 0; i < FRAME; i++)
        d->win[i] = (float)(0.54 - 0.46 * cos(2.0 * PI * i / (FRAME - 1)));
    for (int i = 0; i < PFRAME; i++)
        d->pwin[i] = (float)(0.5 - 0.5 * cos(2.0 * PI * (i + 0.5) / PFRAME));
    for (int k = 0; k <= LAG_MAX + 1; k++) {
        double s = 0;
        for (int i = 0; i + k < PFRAME; i++)
            s += (double)d->pwin[i] * d->pwin[i + k];
        d->pnorm[k] = (float)s;
    }
}

static bool params_ok(const cq_diar_params *p)
{
    return p->piece_sec >= 0.5 && p->change_glr >= 0 && p->bic_lambda >= 0 &&
           p->min_second_sec >= 0 && p->min_coherence >= 0 && p->min_coherence <= 1 &&
           p->gmm_components >= 1 && p->gmm_components <= 64 && p->iterations >= 0 &&
           p->iterations <= 20 && p->switch_penalty >= 0;
}

cq_diarizer *cq_diarizer_create(const cq_diar_params *p, int *err)
{
    cq_diar_params dp = p ? *p : cq_diar_default_params();
    if (!params_ok(&dp)) {
        if (err)
            *err = CQ_ERR_INVALID;
        return NULL;
    }
    cq_diarizer *d = cq__calloc(1, sizeof(*d));
    if (!d)
        goto nomem;
    d->p = dp;
    d->at = PFRAME; /* zeros before the first sample */
    d->fin = fftwf_alloc_real(NFFT);
    d->fout = fftwf_alloc_complex(NBIN);
    d->pin = fftwf_alloc_real(PFFT);
    d->pout = fftwf_alloc_complex(PBIN);
    if (!d->fin || !d->fout || !d->pin || !d->pout)
        goto nomem;
    cq__fft_lock();
    d->plan = fftwf_plan_dft_r2c_1d(NFFT, d->fin, d->fout, FFTW_ESTIMATE);
    d->pfwd = fftwf_plan_dft_r2c_1d(PFFT, d->pin, d->pout, FFTW_ESTIMATE);
    d->pinv = fftwf_plan_dft_c2r_1d(PFFT, d->pout, d->pin, FFTW_ESTIMATE);
    cq__fft_unlock();
    if (!d->plan || !d->pfwd || !d->pinv)
        goto nomem;
    make_bank(d);
    return d;
nomem:
    cq_diarizer_destroy(d);
    if (err)
        *err = CQ_ERR_NOMEM;
    return NULL;
}

void cq_diarizer_destroy(cq_diarizer *d)
{
    if (!d)
        return;
    cq__fft_lock();
    if (d->plan)
        fftwf_destroy_plan(d->plan);
    if (d->pfwd)
        fftwf_destroy_plan(d->pfwd);
    if (d->pinv)
        fftwf_destroy_plan(d->pinv);
    cq__fft_unlock();
    fftwf_free(d->fin);
    fftwf_free(d->fout);
    fftwf_free(d->pin);
    fftwf_free(d->pout);
    cq__free(d->mf);
    cq__free(d->db);
    cq__free(d->vo);
    cq__free(d);
}

/* One frame from buf (the last FRAME samples, oldest first). */
static int add_frame(cq_diarizer *d)
{
    if (d->n_frames == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4096;
        float *mf = cq__realloc(d->mf, cap * D * sizeof(float));
        if (!mf)
            return CQ_ERR_NOMEM;
        d->mf = mf;
        float *db = cq__realloc(d->db, cap * sizeof(float));
        if (!db)
            return CQ_ERR_NOMEM;
        d->db = db;
        float *vo = cq__realloc(d->vo, cap * sizeof(float));
        if (!vo)
            return CQ_ERR_NOMEM;
        d->vo = vo;
        d->cap = cap;
    }
    double e = 0;
    for (int i = 0; i < FRAME; i++) {
        d->fin[i] = d->pre[d->at - FRAME + (size_t)i] * d->win[i];
        e += (double)d->fin[i] * d->fin[i];
    }
    for (int i = FRAME; i < NFFT; i++)
        d->fin[i] = 0;
    fftwf_execute(d->plan);
    float pw[NBIN], lm[NMEL];
    for (int k = 0; k < NBIN; k++)
        pw[k] = d->fout[k][0] * d->fout[k][0] + d->fout[k][1] * d->fout[k][1];
    for (int m = 0; m < NMEL; m++) {
        float s = 0;
        for (int k = d->mel_lo[m]; k < d->mel_hi[m]; k++)
            s += d->mel_w[m][k] * pw[k];
        lm[m] = logf(s + 1e-10f);
    }
    float *c = d->mf + d->n_frames * D;
    for (int j = 0; j < NC; j++) {
        float s = 0;
        for (int m = 0; m < NMEL; m++)
            s += d->dct[j][m] * lm[m];
        c[j] = s;
    }
    d->db[d->n_frames] = (float)(10.0 * log10(e / FRAME + 1e-12));
    /* pitch: the autocorrelation of 40 ms (Hann), normalised by the window's own */
    for (int i = 0; i < PFRAME; i++)
        d->pin[i] = d->raw[d->at - PFRAME + (size_t)i] * d->pwin[i];
    for (int i = PFRAME; i < PFFT; i++)
        d->pin[i] = 0;
    fftwf_execute(d->pfwd);
    for (int k = 0; k < PBIN; k++) {
        d->pout[k][0] = d->pout[k][0] * d->pout[k][0] + d->pout[k][1] * d->pout[k][1];
        d->pout[k][1] = 0;
    }
    fftwf_execute(d->pinv); /* d->pin: PFFT x the autocorrelation */
    float r0 = d->pin[0] / d->pnorm[0], best = 0;
    int at = 0;
    for (int k = LAG_MIN; k <= LAG_MAX; k++) {
        float v = d->pin[k] / d->pnorm[k];
        if (v > best && d->pin[k] >= d->pin[k - 1] && d->pin[k] >= d->pin[k + 1]) {
            best = v;
            at = k;
        }
    }
    /* the shortest lag within 15 % of the best: a multiple of the period peaks as high */
    for (int k = LAG_MIN; k < at; k++) {
        float v = d->pin[k] / d->pnorm[k];
        if (v >= 0.85f * best && d->pin[k] >= d->pin[k - 1] && d->pin[k] >= d->pin[k + 1]) {
            best = v;
            at = k;
            break;
        }
    }
    float voic = r0 > 0 ? best / r0 : 0;
    d->vo[d->n_frames] = voic;
    c[NC] = 0;
    c[NC + 1] = d->db[d->n_frames];
    if (at && voic >= VOICED) { /* parabolic peak */
        float a = d->pin[at - 1], b = d->pin[at], g = d->pin[at + 1];
        float den = a - 2 * b + g, off = den < 0 ? 0.5f * (a - g) / den : 0;
        c[NC] = (float)log(CQ_DIARIZE_RATE / (at + off));
    }
    d->n_frames++;
    return CQ_OK;
}

int cq_diarizer_push(cq_diarizer *d, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d->at == HIST) {
            memmove(d->pre, d->pre + HIST - PFRAME, PFRAME * sizeof(float));
            memmove(d->raw, d->raw + HIST - PFRAME, PFRAME * sizeof(float));
            d->at = PFRAME;
        }
        d->pre[d->at] = x[i] - 0.97f * d->prev;
        d->raw[d->at] = x[i];
        d->prev = x[i];
        d->at++;
        d->total++;
        /* frame k covers samples [HOP k, HOP k + FRAME) */
        if (d->total >= FRAME && (d->total - FRAME) % HOP == 0) {
            int rc = add_frame(d);
            if (rc != CQ_OK)
                return rc;
        }
    }
    return CQ_OK;
}

/* ---- Gaussian statistics --------------------------------------------------------------------- */

typedef struct gstat {
    double n;
    double s[D];
    double ss[NTRI]; /* packed lower triangle of sum x x^T */
} gstat;

static void gstat_add_frame(gstat *g, const float *x)
{
    g->n += 1;
    int k = 0;
    for (int i = 0; i < D; i++) {
        g->s[i] += x[i];
        for (int j = 0; j <= i; j++)
            g->ss[k++] += (double)x[i] * x[j];
    }
}

static void gstat_sum(gstat *out, const gstat *a, const gstat *b)
{
    out->n = a->n + b->n;
    for (int i = 0; i < D; i++)
        out->s[i] = a->s[i] + b->s[i];
    for (int i = 0; i < NTRI; i++)
        out->ss[i] = a->ss[i] + b->ss[i];
}

/* log |covariance| of the frames in g (ML estimate plus the ridge). */
static double gstat_logdet(const gstat *g)
{
    double a[D][D];
    int k = 0;
    for (int i = 0; i < D; i++)
        for (int j = 0; j <= i; j++, k++) {
            double c = g->ss[k] / g->n - (g->s[i] / g->n) * (g->s[j] / g->n);
            a[i][j] = a[j][i] = c + (i == j ? RIDGE : 0);
        }
    double prod = 1;
    for (int j = 0; j < D; j++) { /* Cholesky, in place; the pivots' product is |covariance| */
        double s = a[j][j];
        for (int q = 0; q < j; q++)
            s -= a[j][q] * a[j][q];
        if (s <= 1e-12)
            s = 1e-12;
        double l = sqrt(s);
        a[j][j] = l;
        prod *= s; /* D pivots of at most ~1e3 and at least 1e-12 stay within double's range */
        for (int i = j + 1; i < D; i++) {
            double t = a[i][j];
            for (int q = 0; q < j; q++)
                t -= a[i][q] * a[j][q];
            a[i][j] = t / l;
        }
    }
    return log(prod);
}

/* GLR of one Gaussian for a and b together against one each. */
static double glr(const gstat *a, double lda, const gstat *b, double ldb)
{
    gstat u;
    gstat_sum(&u, a, b);
    return 0.5 * (u.n * gstat_logdet(&u) - a->n * lda - b->n * ldb);
}

static double bic_penalty(double lambda, double n)
{
    return lambda * 0.5 * (D + NTRI) * log(n);
}

/* ---- pieces and clustering --------------------------------------------------------------------
 */

typedef struct piece {
    size_t a, b; /* speaker frames [a, b) of the normalised list */
    int cluster;
} piece;

typedef struct work {
    const cq_diar_params *p;
    float *z;      /* n x D normalised features of the speaker frames */
    size_t *frame; /* their frame index */
    size_t n;      /* speaker frames */
    piece *pc;
    size_t n_pc, cap_pc;
    gstat *pre; /* prefix sums, one per frame of a segment (scratch) */
    size_t cap_pre;
} work;

static int add_piece(work *w, size_t a, size_t b)
{
    if (w->n_pc == w->cap_pc) {
        size_t cap = w->cap_pc ? w->cap_pc * 2 : 256;
        piece *pc = cq__realloc(w->pc, cap * sizeof(piece));
        if (!pc)
            return CQ_ERR_NOMEM;
        w->pc = pc;
        w->cap_pc = cap;
    }
    w->pc[w->n_pc++] = (piece){a, b, -1};
    return CQ_OK;
}

static void prefix_diff(gstat *out, const gstat *pre, size_t a, size_t b)
{
    /* pre[i] = sums over [0, i) of the segment */
    out->n = pre[b].n - pre[a].n;
    for (int i = 0; i < D; i++)
        out->s[i] = pre[b].s[i] - pre[a].s[i];
    for (int i = 0; i < NTRI; i++)
        out->ss[i] = pre[b].ss[i] - pre[a].ss[i];
}

/* Cut [a, b) (offsets into the segment starting at base) where the GLR is largest, while a
 * piece is longer than piece_sec or a change stands out. */
static int split_piece(work *w, size_t base, size_t a, size_t b, size_t max_len)
{
    size_t len = b - a;
    if (len >= 2 * MIN_SIDE) {
        gstat all, l, r;
        prefix_diff(&all, w->pre, a, b);
        double ld_all = gstat_logdet(&all), best = -DBL_MAX;
        size_t at = 0;
        for (size_t t = a + MIN_SIDE; t + MIN_SIDE <= b; t += 5) {
            prefix_diff(&l, w->pre, a, t);
            prefix_diff(&r, w->pre, t, b);
            double g = 0.5 * (all.n * ld_all - l.n * gstat_logdet(&l) - r.n * gstat_logdet(&r));
            if (g > best) {
                best = g;
                at = t;
            }
        }
        if (at && (len > max_len || best > w->p->change_glr)) {
            int rc = split_piece(w, base, a, at, max_len);
            return rc == CQ_OK ? split_piece(w, base, at, b, max_len) : rc;
        }
    }
    return add_piece(w, base + a, base + b);
}

/* Pieces of one run of speaker frames [a, b). */
static int segment_pieces(work *w, size_t a, size_t b, size_t max_len)
{
    size_t len = b - a;
    if (len + 1 > w->cap_pre) {
        gstat *pre = cq__realloc(w->pre, (len + 1) * sizeof(gstat));
        if (!pre)
            return CQ_ERR_NOMEM;
        w->pre = pre;
        w->cap_pre = len + 1;
    }
    memset(&w->pre[0], 0, sizeof(gstat));
    for (size_t i = 0; i < len; i++) {
        w->pre[i + 1] = w->pre[i];
        gstat_add_frame(&w->pre[i + 1], w->z + (a + i) * D);
    }
    return split_piece(w, a, 0, len, max_len);
}

/*
 * Agglomerative clustering of a sample of the pieces (at most MAX_SAMPLE or MAX_SAMPLE_GLR, evenly
 * spread: the
 * rest are placed by reassign()), down to two clusters, merging the closest pair first. Two
 * distances: GLR minus the BIC penalty of full-covariance Gaussians (ward == NULL), or Ward's on
 * the pieces' mean vectors weighed by ward[D]. Each row's nearest neighbour is cached, so a
 * merge costs one pass over the clusters but for the rows that pointed at the merged pair.
 * Pieces left out, and pieces of neither final cluster, get cluster -1.
 */
#define MAX_SAMPLE 600     /* Ward */
#define MAX_SAMPLE_GLR 250 /* GLR: each distance is a Cholesky factorisation */

typedef struct cluster {
    gstat g;
    double ld;        /* GLR: log-determinant */
    double m[D], cnt; /* Ward: mean and frames */
    bool alive;
    size_t nn; /* nearest alive neighbour, and its distance */
    double nnd;
} cluster;

static double cl_dist(const work *w, const cluster *a, const cluster *b, const double *ward)
{
    if (!ward)
        return glr(&a->g, a->ld, &b->g, b->ld) - bic_penalty(w->p->bic_lambda, a->g.n + b->g.n);
    double q = 0;
    for (int k = 0; k < D; k++) {
        double t = (a->m[k] - b->m[k]) * ward[k];
        q += t * t;
    }
    return q * a->cnt * b->cnt / (a->cnt + b->cnt);
}

static void cl_nearest(const work *w, cluster *c, size_t n, size_t i, const double *ward)
{
    c[i].nnd = DBL_MAX;
    for (size_t j = 0; j < n; j++)
        if (j != i && c[j].alive) {
            double d = cl_dist(w, &c[i], &c[j], ward);
            if (d < c[i].nnd) {
                c[i].nnd = d;
                c[i].nn = j;
            }
        }
}

static int agglomerate(work *w, const double *ward)
{
    size_t cap = ward ? MAX_SAMPLE : MAX_SAMPLE_GLR;
    size_t n = w->n_pc < cap ? w->n_pc : cap;
    cluster *c = cq__calloc(n, sizeof(cluster));
    size_t *pick = cq__malloc(n * sizeof(size_t));
    int *map = cq__malloc(w->n_pc * sizeof(int));
    if (!c || !pick || !map) {
        cq__free(c);
        cq__free(pick);
        cq__free(map);
        return CQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < w->n_pc; i++)
        map[i] = -1;
    for (size_t i = 0; i < n; i++) {
        pick[i] = n == w->n_pc ? i : (size_t)((double)i * (double)w->n_pc / (double)n);
        const piece *pc = &w->pc[pick[i]];
        for (size_t f = pc->a; f < pc->b; f++) {
            gstat_add_frame(&c[i].g, w->z + f * D);
            for (int k = 0; k < D; k++)
                c[i].m[k] += w->z[f * D + k];
        }
        c[i].cnt = (double)(pc->b - pc->a);
        for (int k = 0; k < D; k++)
            c[i].m[k] /= c[i].cnt;
        c[i].ld = ward ? 0 : gstat_logdet(&c[i].g);
        c[i].alive = true;
        map[pick[i]] = (int)i;
    }
    for (size_t i = 0; i < n; i++)
        cl_nearest(w, c, n, i, ward);
    for (size_t alive = n; alive > 2; alive--) {
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (c[i].alive && (bi == SIZE_MAX || c[i].nnd < c[bi].nnd))
                bi = i;
        size_t bj = c[bi].nn;
        /* bi absorbs bj */
        gstat u;
        gstat_sum(&u, &c[bi].g, &c[bj].g);
        c[bi].g = u;
        if (!ward)
            c[bi].ld = gstat_logdet(&u);
        for (int k = 0; k < D; k++)
            c[bi].m[k] =
                (c[bi].m[k] * c[bi].cnt + c[bj].m[k] * c[bj].cnt) / (c[bi].cnt + c[bj].cnt);
        c[bi].cnt += c[bj].cnt;
        c[bj].alive = false;
        for (size_t k = 0; k < w->n_pc; k++)
            if (map[k] == (int)bj)
                map[k] = (int)bi;
        for (size_t k = 0; k < n; k++) {
            if (!c[k].alive || k == bi)
                continue;
            if (c[k].nn == bi || c[k].nn == bj) {
                cl_nearest(w, c, n, k, ward);
            } else {
                double d = cl_dist(w, &c[k], &c[bi], ward);
                if (d < c[k].nnd) {
                    c[k].nnd = d;
                    c[k].nn = bi;
                }
            }
        }
        cl_nearest(w, c, n, bi, ward);
    }
    int ids[2] = {-1, -1}, m = 0;
    for (size_t i = 0; i < n && m < 2; i++)
        if (c[i].alive)
            ids[m++] = (int)i;
    for (size_t k = 0; k < w->n_pc; k++)
        w->pc[k].cluster = map[k] < 0 ? -1 : map[k] == ids[0] ? 0 : map[k] == ids[1] ? 1 : -1;
    cq__free(c);
    cq__free(pick);
    cq__free(map);
    return CQ_OK;
}

/* ---- Gaussian mixtures -------------------------------------------------------------------------
 */

typedef struct gmm {
    int k;
    double w[64];
    float mu[64][D];
    float iv[64][D]; /* 1 / variance */
    double c[64];    /* log w - 0.5 (D log 2 pi + sum log var) */
} gmm;

/* The components' likelihoods of x relative to the best one's (w[m] = exp(log l_m - best));
 * returns their sum, *best the best log-likelihood. */
static double gmm_weights(const gmm *g, const float *x, double *w, double *best)
{
    double top = -DBL_MAX;
    for (int m = 0; m < g->k; m++) {
        float q = 0;
        for (int i = 0; i < D; i++) {
            float t = x[i] - g->mu[m][i];
            q += t * t * g->iv[m][i];
        }
        w[m] = g->c[m] - 0.5 * q;
        if (w[m] > top)
            top = w[m];
    }
    double s = 0;
    for (int m = 0; m < g->k; m++)
        s += (w[m] = expf((float)(w[m] - top)));
    *best = top;
    return s;
}

static double gmm_ll(const gmm *g, const float *x)
{
    double w[64], best;
    double s = gmm_weights(g, x, w, &best);
    return best + logf((float)s);
}

static void gmm_consts(gmm *g)
{
    for (int m = 0; m < g->k; m++) {
        double lv = 0;
        for (int i = 0; i < D; i++)
            lv -= log(g->iv[m][i]);
        g->c[m] = log(g->w[m] > 1e-10 ? g->w[m] : 1e-10) - 0.5 * (D * log(2 * PI) + lv);
    }
}

/* Train on the frames idx[0..n): means from evenly spaced frames, then EM. */
static int gmm_train(gmm *g, const float *z, const size_t *idx, size_t n, int k, int iters)
{
    if (n == 0)
        return CQ_ERR_INVALID;
    if ((size_t)k > n / 20)
        k = (int)(n / 20) > 0 ? (int)(n / 20) : 1;
    g->k = k;
    double gm[D] = {0}, gv[D] = {0};
    for (size_t t = 0; t < n; t++)
        for (int i = 0; i < D; i++) {
            double v = z[idx[t] * D + i];
            gm[i] += v;
            gv[i] += v * v;
        }
    for (int i = 0; i < D; i++) {
        gm[i] /= (double)n;
        gv[i] = gv[i] / (double)n - gm[i] * gm[i];
        if (gv[i] < VAR_FLOOR)
            gv[i] = VAR_FLOOR;
    }
    for (int m = 0; m < k; m++) {
        size_t t = (size_t)((m + 0.5) * (double)n / k);
        for (int i = 0; i < D; i++) {
            g->mu[m][i] = z[idx[t] * D + i];
            g->iv[m][i] = (float)(1.0 / gv[i]);
        }
        g->w[m] = 1.0 / k;
    }
    gmm_consts(g);
    double *acc = cq__malloc((size_t)k * (1 + 2 * D) * sizeof(double));
    if (!acc)
        return CQ_ERR_NOMEM;
    for (int it = 0; it < iters; it++) {
        memset(acc, 0, (size_t)k * (1 + 2 * D) * sizeof(double));
        for (size_t t = 0; t < n; t++) {
            const float *x = z + idx[t] * D;
            double l[64], best;
            double s = gmm_weights(g, x, l, &best);
            for (int m = 0; m < k; m++) {
                double r = l[m] / s, *a = acc + (size_t)m * (1 + 2 * D);
                a[0] += r;
                for (int i = 0; i < D; i++) {
                    a[1 + i] += r * x[i];
                    a[1 + D + i] += r * x[i] * x[i];
                }
            }
        }
        for (int m = 0; m < k; m++) {
            double *a = acc + (size_t)m * (1 + 2 * D);
            if (a[0] < 1e-3) { /* an empty component keeps its place with a small weight */
                g->w[m] = 1e-6;
                continue;
            }
            g->w[m] = a[0] / (double)n;
            for (int i = 0; i < D; i++) {
                double mu = a[1 + i] / a[0], v = a[1 + D + i] / a[0] - mu * mu;
                if (v < VAR_FLOOR)
                    v = VAR_FLOOR;
                g->mu[m][i] = (float)mu;
                g->iv[m][i] = (float)(1.0 / v);
            }
        }
        gmm_consts(g);
    }
    cq__free(acc);
    return CQ_OK;
}

/* ---- finish ------------------------------------------------------------------------------------
 */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Voice print of the frames idx[0..n) (raw cepstra). */
static void make_print(const cq_diarizer *d, const size_t *idx, size_t n, cq_voiceprint *vp)
{
    memset(vp, 0, sizeof(*vp));
    if (!n)
        return;
    double m[D] = {0}, q[D] = {0};
    for (size_t t = 0; t < n; t++)
        for (int i = 0; i < D; i++) {
            double v = d->mf[idx[t] * D + i];
            m[i] += v;
            q[i] += v * v;
        }
    for (int i = 0; i < D; i++) {
        m[i] /= (double)n;
        double var = q[i] / (double)n - m[i] * m[i];
        vp->v[i] = (float)m[i];
        vp->v[D + i] = (float)sqrt(var > 1e-6 ? var : 1e-6);
    }
    vp->speech_sec = (double)n * FRAME_SEC;
}

double cq_voiceprint_similarity(const cq_voiceprint *a, const cq_voiceprint *b)
{
    double s = 0;
    for (int i = 0; i < D; i++) {
        double va = (double)a->v[D + i] * a->v[D + i], vb = (double)b->v[D + i] * b->v[D + i];
        double dm = (double)a->v[i] - b->v[i];
        if (va <= 0 || vb <= 0)
            return -INFINITY;
        s += 0.5 * (va / vb + vb / va - 2.0) + 0.5 * dm * dm * (1.0 / va + 1.0 / vb);
    }
    return -s / D;
}

void cq_diarization_free(cq_diarization *r)
{
    if (!r)
        return;
    for (int s = 0; s < 2; s++)
        cq__free(r->speaker[s].segs);
    memset(r, 0, sizeof(*r));
}

static int push_seg(cq_diar_speaker *s, size_t *cap, double a, double b, double conf)
{
    if (s->n_segs == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        cq_diar_seg *g = cq__realloc(s->segs, c * sizeof(cq_diar_seg));
        if (!g)
            return CQ_ERR_NOMEM;
        s->segs = g;
        *cap = c;
    }
    s->segs[s->n_segs++] = (cq_diar_seg){a, b, conf};
    s->talk_sec += b - a;
    return CQ_OK;
}

typedef struct vctx {
    size_t n_sp;     /* speech frames (speaker and weak) */
    size_t *sp;      /* their frame indices */
    long *zrow;      /* row in z, or -1 for a weak frame */
    double (*ll)[2]; /* per speech frame */
    unsigned char *lab;
} vctx;

/* Viterbi over the speech frames: two states, a penalty per change (a quarter of it across a
 * pause of 0.2 s or more). */
static int viterbi(vctx *v, double pen)
{
    size_t n = v->n_sp;
    unsigned char *bp = cq__malloc(n * 2);
    if (!bp)
        return CQ_ERR_NOMEM;
    double s0 = v->ll[0][0], s1 = v->ll[0][1];
    bp[0] = 0;
    bp[1] = 1;
    for (size_t t = 1; t < n; t++) {
        double p = v->sp[t] - v->sp[t - 1] >= 20 ? pen * 0.25 : pen;
        double a0 = s0, b0 = s1 - p, a1 = s1, b1 = s0 - p;
        bp[2 * t] = a0 >= b0 ? 0 : 1;
        bp[2 * t + 1] = a1 >= b1 ? 1 : 0;
        s0 = (a0 >= b0 ? a0 : b0) + v->ll[t][0];
        s1 = (a1 >= b1 ? a1 : b1) + v->ll[t][1];
    }
    unsigned char st = s0 >= s1 ? 0 : 1;
    for (size_t t = n; t-- > 0;) {
        v->lab[t] = st;
        st = bp[2 * t + st];
    }
    cq__free(bp);
    return CQ_OK;
}

static int reseg(const cq_diarizer *d, work *w, vctx *v, const unsigned char *init)
{
    size_t *idx = cq__malloc(w->n * sizeof(size_t));
    gmm *g = cq__malloc(2 * sizeof(gmm));
    int rc = idx && g ? CQ_OK : CQ_ERR_NOMEM;
    const unsigned char *lab = init;
    for (int it = 0; rc == CQ_OK && it < d->p.iterations; it++) {
        for (int s = 0; s < 2 && rc == CQ_OK; s++) {
            size_t m = 0;
            for (size_t t = 0; t < v->n_sp; t++)
                if (v->zrow[t] >= 0 && lab[t] == s)
                    idx[m++] = (size_t)v->zrow[t];
            rc = gmm_train(&g[s], w->z, idx, m, d->p.gmm_components, 5);
        }
        for (size_t t = 0; rc == CQ_OK && t < v->n_sp; t++) {
            if (v->zrow[t] < 0) {
                v->ll[t][0] = v->ll[t][1] = 0;
                continue;
            }
            const float *x = w->z + (size_t)v->zrow[t] * D;
            v->ll[t][0] = gmm_ll(&g[0], x);
            v->ll[t][1] = gmm_ll(&g[1], x);
        }
        if (rc == CQ_OK)
            rc = viterbi(v, d->p.switch_penalty);
        lab = v->lab;
    }
    if (rc == CQ_OK && d->p.iterations == 0)
        memcpy(v->lab, init, v->n_sp);
    cq__free(idx);
    cq__free(g);
    return rc;
}

/* Segments of each speaker from the labels: runs within each VAD segment. */
static int emit(const cq_diarizer *d, const vctx *v, const double (*speech)[2], size_t n_speech,
                cq_diarization *out)
{
    (void)d;
    size_t cap[2] = {0, 0};
    size_t t = 0;
    int rc = CQ_OK;
    for (size_t s = 0; s < n_speech && rc == CQ_OK; s++) {
        double a = speech[s][0], b = speech[s][1];
        while (t < v->n_sp && v->sp[t] * FRAME_SEC + CENTER_SEC < a)
            t++;
        double start = a, agree = 0, all = 0;
        int cur = -1;
        while (t < v->n_sp && v->sp[t] * FRAME_SEC + CENTER_SEC < b && rc == CQ_OK) {
            int l = v->lab[t];
            double c = v->sp[t] * FRAME_SEC + CENTER_SEC;
            if (cur >= 0 && l != cur) {
                double at = c - FRAME_SEC / 2;
                rc =
                    push_seg(&out->speaker[cur], &cap[cur], start, at, all > 0 ? agree / all : 0.5);
                start = at;
                agree = all = 0;
            }
            cur = l;
            double x = v->ll[t][l] - v->ll[t][1 - l];
            all += fabs(x);
            agree += x > 0 ? x : 0;
            t++;
        }
        if (cur >= 0 && rc == CQ_OK)
            rc = push_seg(&out->speaker[cur], &cap[cur], start, b, all > 0 ? agree / all : 0.5);
    }
    return rc;
}

/* Frame labels of the speaker frames (zlab[0..w->n)) from the pieces' clusters; frames
 * outside pieces take the label before them. */
static void piece_labels(const work *w, unsigned char *zlab)
{
    memset(zlab, 2, w->n);
    for (size_t i = 0; i < w->n_pc; i++)
        if (w->pc[i].cluster >= 0)
            memset(zlab + w->pc[i].a, w->pc[i].cluster, w->pc[i].b - w->pc[i].a);
    unsigned char last = 0;
    for (size_t i = 0; i < w->n; i++)
        if (zlab[i] == 2)
            zlab[i] = last;
        else
            last = zlab[i];
}

/*
 * How well a two-way split of the speaker frames follows the speech segments: a Gaussian
 * mixture trained on each side, then per segment of speech the frames' log-likelihood ratios
 * summed; coherence = sum over segments of |their sum| / sum over frames of |the ratio|. A
 * split by voice keeps a segment (one person's utterance) on one side: near 1. A split by what
 * is said (the same voice's vowels against its fricatives) divides every segment: near 0.
 */
static int coherence(const cq_diarizer *d, const work *w, const vctx *v, const unsigned char *zlab,
                     double *out)
{
    size_t *idx = cq__malloc((w->n + 1) * sizeof(size_t));
    gmm *g = cq__malloc(2 * sizeof(gmm));
    int rc = idx && g ? CQ_OK : CQ_ERR_NOMEM;
    for (int s = 0; s < 2 && rc == CQ_OK; s++) {
        size_t m = 0;
        for (size_t i = 0; i < w->n; i++)
            if (zlab[i] == s)
                idx[m++] = i;
        rc = m ? gmm_train(&g[s], w->z, idx, m, d->p.gmm_components, 5) : CQ_ERR_INVALID;
    }
    double seg = 0, num = 0, den = 0;
    for (size_t t = 0; rc == CQ_OK && t <= v->n_sp; t++) {
        if (t == v->n_sp || (t > 0 && v->sp[t] - v->sp[t - 1] >= 20)) {
            num += fabs(seg);
            seg = 0;
        }
        if (t == v->n_sp || v->zrow[t] < 0)
            continue;
        const float *x = w->z + (size_t)v->zrow[t] * D;
        double l = gmm_ll(&g[0], x) - gmm_ll(&g[1], x);
        seg += l;
        den += fabs(l);
    }
    *out = den > 0 ? num / den : 0;
    cq__free(idx);
    cq__free(g);
    return rc == CQ_ERR_INVALID ? CQ_OK : rc;
}

/* Segment-level re-assignment: a mixture per side trained on its pieces, each piece moved to
 * the side whose mixture gives its frames the higher likelihood, until nothing moves (at most
 * `rounds`). Pieces are short enough to hold one voice and long enough to hold several sounds,
 * so a piece's summed likelihood follows the voice more than what is said. */
static int reassign(const cq_diarizer *d, work *w, int rounds)
{
    size_t *idx = cq__malloc((w->n + 1) * sizeof(size_t));
    gmm *g = cq__malloc(2 * sizeof(gmm));
    int rc = idx && g ? CQ_OK : CQ_ERR_NOMEM;
    for (int r = 0; r < rounds && rc == CQ_OK; r++) {
        for (int s = 0; s < 2 && rc == CQ_OK; s++) {
            size_t m = 0;
            for (size_t i = 0; i < w->n_pc; i++)
                if (w->pc[i].cluster == s)
                    for (size_t f = w->pc[i].a; f < w->pc[i].b; f++)
                        idx[m++] = f;
            if (m < 40) { /* a side emptied: keep what there is */
                cq__free(idx);
                cq__free(g);
                return CQ_OK;
            }
            rc = gmm_train(&g[s], w->z, idx, m, d->p.gmm_components, 4);
        }
        size_t moved = 0;
        for (size_t i = 0; rc == CQ_OK && i < w->n_pc; i++) {
            double l = 0;
            for (size_t f = w->pc[i].a; f < w->pc[i].b; f++)
                l += gmm_ll(&g[0], w->z + f * D) - gmm_ll(&g[1], w->z + f * D);
            int c = l >= 0 ? 0 : 1;
            if (c != w->pc[i].cluster) {
                w->pc[i].cluster = c;
                moved++;
            }
        }
        if (!moved)
            break;
    }
    cq__free(idx);
    cq__free(g);
    return rc;
}

int cq_diarizer_finish(cq_diarizer *d, const double (*speech)[2], size_t n_speech, int max_speakers,
                       cq_diarization *out)
{
    memset(out, 0, sizeof(*out));
    out->rule = "no speech";
    if (max_speakers < 1 || max_speakers > 2 || (n_speech && !speech))
        return CQ_ERR_INVALID;
    int rc = CQ_OK;
    work w = {.p = &d->p};
    vctx v = {0};
    size_t *all_idx = NULL;
    float *lv = NULL;

    /* speech frames, in order */
    v.sp = cq__malloc((d->n_frames + 1) * sizeof(size_t));
    v.zrow = cq__malloc((d->n_frames + 1) * sizeof(long));
    if (!v.sp || !v.zrow) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    for (size_t s = 0, f = 0; s < n_speech; s++) {
        while (f < d->n_frames && f * FRAME_SEC + CENTER_SEC < speech[s][0])
            f++;
        for (; f < d->n_frames && f * FRAME_SEC + CENTER_SEC < speech[s][1]; f++) {
            v.sp[v.n_sp++] = f;
            out->speech_sec += FRAME_SEC;
        }
    }
    if (!v.n_sp)
        goto done;
    /* the loud level: the 90th percentile of the speech frames' levels */
    if (!(lv = cq__malloc(v.n_sp * sizeof(float)))) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    for (size_t t = 0; t < v.n_sp; t++)
        lv[t] = d->db[v.sp[t]];
    qsort(lv, v.n_sp, sizeof(float), cmp_float);
    float gate = lv[(size_t)(0.9 * (double)(v.n_sp - 1))] - (float)WEAK_DB;
    /* the speaker frames, normalised */
    w.z = cq__malloc(v.n_sp * D * sizeof(float));
    w.frame = cq__malloc(v.n_sp * sizeof(size_t));
    if (!w.z || !w.frame) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    double mean[D] = {0}, sd[D] = {0};
    for (size_t t = 0; t < v.n_sp; t++) {
        size_t f = v.sp[t];
        if (d->db[f] < gate || d->vo[f] < VOICED) {
            v.zrow[t] = -1;
            continue;
        }
        v.zrow[t] = (long)w.n;
        w.frame[w.n] = f;
        memcpy(w.z + w.n * D, d->mf + f * D, D * sizeof(float));
        for (int i = 0; i < D; i++) {
            mean[i] += d->mf[f * D + i];
            sd[i] += (double)d->mf[f * D + i] * d->mf[f * D + i];
        }
        w.n++;
    }
    for (int i = 0; i < D; i++) {
        mean[i] /= (double)w.n;
        double var = sd[i] / (double)w.n - mean[i] * mean[i];
        sd[i] = sqrt(var > 1e-6 ? var : 1e-6);
    }
    for (size_t t = 0; t < w.n; t++) {
        for (int i = 0; i < D; i++)
            w.z[t * D + i] = (float)((w.z[t * D + i] - mean[i]) / sd[i]);
    }

    /* one speaker by request, or too little speech to tell two */
    double sec = (double)w.n * FRAME_SEC;
    if (max_speakers == 1 || sec < 2 * d->p.min_second_sec || w.n < 4 * MIN_SIDE) {
        out->n_speakers = 1;
        out->rule = max_speakers == 1 ? "one speaker by request" : "too little speech for two";
        snprintf(out->detail, sizeof(out->detail), "%.1f s of voiced speech", sec);
        out->confidence = max_speakers == 1 ? 1.0 : 0.5;
        goto one;
    }

    /* pieces within each VAD segment's run of speaker frames */
    size_t max_len = (size_t)(d->p.piece_sec / FRAME_SEC);
    for (size_t t = 0, run = 0; t <= v.n_sp && rc == CQ_OK; t++) {
        bool brk = t == v.n_sp || (t > 0 && v.sp[t] - v.sp[t - 1] >= 20);
        if (brk) {
            /* speaker frames of [run, t) */
            size_t a = SIZE_MAX, b = 0;
            for (size_t q = run; q < t; q++)
                if (v.zrow[q] >= 0) {
                    if (a == SIZE_MAX)
                        a = (size_t)v.zrow[q];
                    b = (size_t)v.zrow[q] + 1;
                }
            /* a long run (a monologue, music the VAD took for speech) in stretches of at most
             * MAX_RUN frames: the prefix sums of a stretch are 1.5 kB a frame */
            for (size_t c = a; a != SIZE_MAX && c < b && rc == CQ_OK; c += MAX_RUN) {
                size_t e = b - c > MAX_RUN ? c + MAX_RUN : b;
                if (e - c >= MIN_SEG_FRAMES)
                    rc = segment_pieces(&w, c, e, max_len);
            }
            run = t;
        }
    }
    if (rc != CQ_OK)
        goto done;
    if (w.n_pc < 2) {
        out->n_speakers = 1;
        out->rule = "too little speech for two";
        snprintf(out->detail, sizeof(out->detail), "%zu piece(s) of speech", w.n_pc);
        out->confidence = 0.5;
        goto one;
    }
    /* candidate splits: by GLR, and by Ward on the pieces' means with several weights of
     * pitch and level; the most coherent one is kept */
    gstat fin[2];
    memset(fin, 0, sizeof(fin));
    double g = 0, best_c = -1;
    int *best_pc = cq__malloc(w.n_pc * sizeof(int));
    unsigned char *zl = cq__malloc(w.n + 1);
    if (!best_pc || !zl) {
        cq__free(best_pc);
        cq__free(zl);
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    static const double k_wt[][2] = {{1, 1}, {0, 0}, {1, 1}, {2, 1}, {4, 1}};
    for (size_t c = 0; c < sizeof(k_wt) / sizeof(k_wt[0]) && rc == CQ_OK; c++) {
        gstat f2[2];
        double g2 = 0, coh = 0;
        if (c == 0) {
            rc = agglomerate(&w, NULL);
        } else {
            double wt[D];
            for (int k = 0; k < NC; k++)
                wt[k] = 1;
            wt[NC] = k_wt[c][0];
            wt[NC + 1] = k_wt[c][1];
            rc = agglomerate(&w, wt);
        }
        if (rc == CQ_OK)
            rc = reassign(d, &w, REASSIGN_ROUNDS);
        if (rc == CQ_OK) { /* the sides as they now stand */
            memset(f2, 0, sizeof(f2));
            for (size_t i = 0; i < w.n_pc; i++)
                for (size_t f = w.pc[i].a; f < w.pc[i].b && w.pc[i].cluster >= 0; f++)
                    gstat_add_frame(&f2[w.pc[i].cluster], w.z + f * D);
            g2 = f2[0].n > 0 && f2[1].n > 0
                     ? glr(&f2[0], gstat_logdet(&f2[0]), &f2[1], gstat_logdet(&f2[1]))
                     : 0;
        }
        if (rc == CQ_OK && f2[0].n * FRAME_SEC >= d->p.min_second_sec &&
            f2[1].n * FRAME_SEC >= d->p.min_second_sec) {
            piece_labels(&w, zl);
            rc = coherence(d, &w, &v, zl, &coh);
        }
        if (rc == CQ_OK && coh > best_c) {
            best_c = coh;
            g = g2;
            fin[0] = f2[0];
            fin[1] = f2[1];
            for (size_t i = 0; i < w.n_pc; i++)
                best_pc[i] = w.pc[i].cluster;
        }
    }
    for (size_t i = 0; i < w.n_pc; i++)
        w.pc[i].cluster = best_pc[i];
    cq__free(best_pc);
    cq__free(zl);
    if (rc != CQ_OK)
        goto done;
    out->coherence = best_c;
    double dbic = g - bic_penalty(d->p.bic_lambda, fin[0].n + fin[1].n);
    out->delta_bic = dbic * 1000.0 / (fin[0].n + fin[1].n);
    double small = (fin[0].n < fin[1].n ? fin[0].n : fin[1].n) * FRAME_SEC;
    if (best_c < d->p.min_coherence || small < d->p.min_second_sec) {
        out->n_speakers = 1;
        out->rule = small < d->p.min_second_sec
                        ? "one voice: no split leaves enough speech on both sides"
                        : "one voice: no split follows the speech segments";
        snprintf(out->detail, sizeof(out->detail),
                 "coherence %.2f (two needs %.2f); smaller side %.1f s (needs %.1f s)", best_c,
                 d->p.min_coherence, small, d->p.min_second_sec);
        out->confidence = best_c < d->p.min_coherence ? 1.0 - best_c : 0.5;
        goto one;
    }
    out->n_speakers = 2;
    out->rule = "two voices: a split that follows the speech segments";
    snprintf(out->detail, sizeof(out->detail),
             "coherence %.2f (two needs %.2f); smaller side %.1f s (needs %.1f s)", best_c,
             d->p.min_coherence, small, d->p.min_second_sec);

    /* initial labels: each piece's cluster; frames outside pieces take the nearest piece's */
    v.ll = cq__malloc(v.n_sp * sizeof(*v.ll));
    v.lab = cq__malloc(v.n_sp);
    unsigned char *init = cq__malloc(v.n_sp);
    unsigned char *zlab = cq__malloc(w.n);
    if (!v.ll || !v.lab || !init || !zlab) {
        cq__free(init);
        cq__free(zlab);
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    piece_labels(&w, zlab);
    for (size_t t = 0; t < v.n_sp; t++)
        init[t] = v.zrow[t] >= 0 ? zlab[v.zrow[t]] : 2;
    unsigned char last = 0;
    for (size_t t = 0; t < v.n_sp; t++)
        if (init[t] == 2)
            init[t] = last;
        else
            last = init[t];
    cq__free(zlab);
    if (d->p.iterations == 0)
        for (size_t t = 0; t < v.n_sp; t++)
            v.ll[t][0] = v.ll[t][1] = 0;
    rc = reseg(d, &w, &v, init);
    cq__free(init);
    if (rc != CQ_OK)
        goto done;
    /* speaker 0 speaks first */
    if (v.lab[0] == 1)
        for (size_t t = 0; t < v.n_sp; t++) {
            v.lab[t] ^= 1;
            double x = v.ll[t][0];
            v.ll[t][0] = v.ll[t][1];
            v.ll[t][1] = x;
        }
    if ((rc = emit(d, &v, speech, n_speech, out)) != CQ_OK)
        goto done;
    if (!out->speaker[1].n_segs) { /* re-segmentation gave everything to one */
        out->n_speakers = 1;
        out->rule = "one voice: re-segmentation gave all speech to one speaker";
        out->confidence = 0.5;
    }
    for (int s = 0; s < out->n_speakers; s++) {
        cq_diar_speaker *sp = &out->speaker[s];
        double w2 = 0, c2 = 0;
        for (size_t i = 0; i < sp->n_segs; i++) {
            double len = sp->segs[i].end_sec - sp->segs[i].start_sec;
            w2 += len;
            c2 += len * sp->segs[i].confidence;
        }
        sp->confidence = w2 > 0 ? c2 / w2 : 0;
        sp->first_sec = sp->n_segs ? sp->segs[0].start_sec : 0;
    }
    if (out->n_speakers == 2)
        out->confidence = best_c;
    /* prints */
    if (!(all_idx = cq__malloc(w.n * sizeof(size_t)))) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    for (int s = 0; s < out->n_speakers; s++) {
        size_t m = 0;
        for (size_t t = 0; t < v.n_sp; t++)
            if (v.zrow[t] >= 0 && v.lab[t] == s)
                all_idx[m++] = v.sp[t];
        make_print(d, all_idx, m, &out->speaker[s].print);
    }
    goto done;

one:
    /* everything to speaker 0 */
    {
        size_t cap = 0;
        for (size_t s = 0; s < n_speech && rc == CQ_OK; s++)
            rc = push_seg(&out->speaker[0], &cap, speech[s][0], speech[s][1], out->confidence);
        cq_diar_speaker *sp = &out->speaker[0];
        sp->confidence = out->confidence;
        sp->first_sec = sp->n_segs ? sp->segs[0].start_sec : 0;
        if (rc == CQ_OK && !(all_idx = cq__malloc((w.n + 1) * sizeof(size_t))))
            rc = CQ_ERR_NOMEM;
        if (rc == CQ_OK) {
            memcpy(all_idx, w.frame, w.n * sizeof(size_t));
            make_print(d, all_idx, w.n, &sp->print);
        }
    }

done:
    cq__free(all_idx);
    cq__free(lv);
    cq__free(w.z);
    cq__free(w.frame);
    cq__free(w.pc);
    cq__free(w.pre);
    cq__free(v.sp);
    cq__free(v.zrow);
    cq__free(v.ll);
    cq__free(v.lab);
    if (rc != CQ_OK)
        cq_diarization_free(out);
    return rc;
}
