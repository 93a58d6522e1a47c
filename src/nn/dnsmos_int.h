/*
 * dnsmos_int.h - the 3x3 convolutions of the DNSMOS networks (dnsmos_conv.c, used by dnsmos.c),
 * exposed for their unit test (tests/nn/test_dnsmos.c compares the AVX2 kernel, Winograd's
 * F(4x4, 3x3) and the plain loops with the direct scalar definition).
 *
 * Images are rows of W + 2 columns of C floats (channels innermost), columns 0 and W + 1 zero.
 * A convolution of R output rows reads R + 2 input rows (the caller provides the rows above and
 * below: zeros at an image edge) and writes R rows of W + 2 columns of cout channels, ReLU
 * applied, padding columns zeroed.
 */
#ifndef CQ_DNSMOS_INT_H
#define CQ_DNSMOS_INT_H

/* One convolution: weights as stored ([cout][cin][3][3]) and packed for the kernels. */
typedef struct cq__dn_conv {
    int cin, cout;  /* cout a multiple of 16 */
    const float *w; /* [cout][cin][3][3] (not owned) */
    const float *b; /* [cout] (not owned) */
    float *packed;  /* [3 kernel rows][cout / 16 panels][3 cin][16] (owned) */
    float *wino; /* Winograd F(4x4, 3x3): [36][cout / 16][cin][16] (owned; NULL unless 8 | cin) */
} cq__dn_conv;

/* Pack w and b (kept by pointer). CQ_OK, CQ_ERR_INVALID (cout not a multiple of 16) or
 * CQ_ERR_NOMEM. */
int cq__dn_conv_pack(cq__dn_conv *c, const float *w, const float *b, int cin, int cout);
void cq__dn_conv_free(cq__dn_conv *c);

/* The convolution: with `wino`, Winograd's F(4x4, 3x3) where it runs (cq__dn_wino_available),
 * in `scratch` (cq__dn_wino_scratch floats, or NULL), else the direct evaluation with the fastest
 * kernel the CPU runs (or the plain loops when forced). */
void cq__dn_conv3(const cq__dn_conv *c, int wino, const float *in, int R, int W, float *out,
                  float *scratch);
/* The floats of the scratch cq__dn_conv3's Winograd evaluation takes for a convolution of cin to
 * at most cout channels (scratch NULL: allocated and freed by the call). */
size_t cq__dn_wino_scratch(int cin, int cout);
/* 1 when cq__dn_conv3 with `wino` runs Winograd's F(4x4, 3x3) for c (AVX2 + FMA, 8 | cin, not
 * forced plain). */
int cq__dn_wino_available(const cq__dn_conv *c);

/* The definition: direct sums from the stored weights, in scalar float. */
void cq__dn_conv3_ref(const float *in, int R, int W, int cin, int cout, const float *w,
                      const float *bias, float *out);

/* Tests: 1 = use the plain C loops even where the AVX2 kernel runs; 0 = back to normal. */
void cq__dn_force_plain(int on);
/* 1 when the AVX2 + FMA kernel runs on this CPU. */
int cq__dn_simd_available(void);

#endif /* CQ_DNSMOS_INT_H */
