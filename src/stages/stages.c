/*
 * stages.c - the table of analyzer stages (stage.h), in the order they run, and the selection
 * functions built on it. Adding an analyzer is one line here (docs/ARCHITECTURE.md).
 */
#include "stage.h"

extern const cq__stage cq__stage_levels, cq__stage_envelope, cq__stage_silence, cq__stage_vad,
    cq__stage_nisqa, cq__stage_quality, cq__stage_events, cq__stage_diarize, cq__stage_conversation,
    cq__stage_speech_audio, cq__stage_dnsmos;
#ifdef CQ_TEST_STAGE
extern const cq__stage cq__stage_test;
#endif

static const cq__stage *const k_stages[] = {
    &cq__stage_levels,       /* RMS, peak, DC, clipping, crest, P.56 */
    &cq__stage_envelope,     /* on request: each leg's RMS level every envelope_ms */
    &cq__stage_silence,      /* FFmpeg silencedetect semantics */
    &cq__stage_vad,          /* speech activity: Silero VAD, or the DSP fallback */
    &cq__stage_nisqa,        /* speech quality: NISQA MOS and dimensions */
    &cq__stage_dnsmos,       /* speech quality: DNSMOS P.835 and P.808 (mos_model) */
    &cq__stage_quality,      /* model-free indicators */
    &cq__stage_events,       /* DTMF, tones, hold music, IVR; the leg timeline */
    &cq__stage_diarize,      /* who spoke when on a mono mix; voice prints on request */
    &cq__stage_conversation, /* two-leg checks, talk, overtalk, dead air, one-way audio */
    &cq__stage_speech_audio, /* on request: each leg's speech at 16 kHz, for transcription */
#ifdef CQ_TEST_STAGE
    &cq__stage_test, /* tests/stages/test_stage.c: one entry is all an analyzer takes */
#endif
};
#define N_STAGES (sizeof(k_stages) / sizeof(k_stages[0]))
_Static_assert(N_STAGES <= CQ_STAGE_SLOTS, "more stages than report slots");

size_t cq__stage_count(void)
{
    return N_STAGES;
}

const cq__stage *cq__stage_at(size_t i)
{
    return i < N_STAGES ? k_stages[i] : NULL;
}

size_t cq__stage_slot(const cq__stage *s)
{
    size_t i = 0;
    while (i < N_STAGES && k_stages[i] != s)
        i++;
    return i;
}

unsigned cq__stages_known(void)
{
    unsigned bits = 0;
    for (size_t i = 0; i < N_STAGES; i++)
        bits |= k_stages[i]->bit;
    return bits;
}

unsigned cq__stages_default(void)
{
    unsigned bits = 0;
    for (size_t i = 0; i < N_STAGES; i++)
        if (!k_stages[i]->on_request)
            bits |= k_stages[i]->bit;
    return bits;
}

unsigned cq__stages_close(unsigned bits)
{
    for (;;) {
        unsigned more = bits;
        for (size_t i = 0; i < N_STAGES; i++)
            if (bits & k_stages[i]->bit)
                more |= k_stages[i]->needs;
        if (more == bits)
            return bits;
        bits = more;
    }
}

/* ---- the public names ---------------------------------------------------------------------- */

const char *cq_analyzer_name(unsigned bit)
{
    for (size_t i = 0; i < N_STAGES; i++)
        if (k_stages[i]->bit == bit)
            return k_stages[i]->name;
    return NULL;
}

const char *cq_analyzer_at(size_t i, unsigned *bit)
{
    if (i >= N_STAGES)
        return NULL;
    if (bit)
        *bit = k_stages[i]->bit;
    return k_stages[i]->name;
}

unsigned cq_analyzers_default(void)
{
    return cq__stages_default();
}

/* "levels, silence, ..." */
static void names(char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_STAGES && k < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%s", i ? ", " : "", k_stages[i]->name);
        if (w < 0)
            return;
        k += (size_t)w;
    }
}

int cq_analyzers_parse(const char *list, unsigned *out, cq_err *err)
{
    unsigned bits = 0;
    const char *p = list;
    char known[256];
    names(known, sizeof(known));
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < N_STAGES && n; i++) {
            if (strlen(k_stages[i]->name) == n && !strncmp(p, k_stages[i]->name, n)) {
                bits |= k_stages[i]->bit;
                found = true;
            }
        }
        if (!found)
            return cq__err_set(err, CQ_ERR_INVALID, "unknown analyzer '%.*s' (available: %s)",
                               (int)n, p, known);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!bits)
        return cq__err_set(err, CQ_ERR_INVALID, "no analyzer named (available: %s)", known);
    *out = bits;
    return CQ_OK;
}

char *cq__model_msg(const char *model_dir, const char *msg)
{
    size_t dl = model_dir ? strlen(model_dir) : 0, n = strlen(msg);
    char *out = cq__malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = msg; *p;) {
        if (dl && !strncmp(p, model_dir, dl) && p[dl] == '/') {
            p += dl + 1;
            continue;
        }
        *o++ = *p++;
    }
    *o = 0;
    return out;
}
