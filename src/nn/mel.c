/*
 * mel.c - librosa 0.8.1's Slaney mel scale (htk=False), which NISQA's and DNSMOS's P.808 front
 * ends both take their filterbanks from. Built with the project's usual floating-point flags
 * (not nn.c's contracted ones), so the band edges are the ones both front ends always had.
 */
#include <math.h>

#include "nn_int.h"

static double hz_to_mel(double f)
{
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double mel_to_hz(double m)
{
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

void cq__slaney_mel_edges(double fmax_hz, int n_mels, double *out)
{
    double lo = hz_to_mel(0.0), hi = hz_to_mel(fmax_hz);
    for (int i = 0; i < n_mels + 2; i++) /* np.linspace */
        out[i] = mel_to_hz(lo + (hi - lo) * i / (n_mels + 1));
}
