/*
 * decode_int.h - library-internal hooks of src/audio/decode.c (not part of the public API), for
 * the tests (tests/audio/test_audio.c, test_audio_lazy.c).
 *
 * The room src/audio/ reads recordings: decode.c (cq_audio.h: WAV PCM, float and G.711 by our
 * own code, every other format through libsndfile), legs.c (cq_legs.h: a call's leg files as
 * ViciDial names them), resample.c (cq_resample.h) and sox_rate.c (cq_resample.h's SoX `rate`
 * conversion). It calls base only, with libsoxr and, at run time, libsndfile (dlopen when a file
 * needs it) and libsox (dlopen when DNSMOS reference mode resamples a leg); only their headers
 * are read at build time.
 * It is on floor 1 because it turns files into samples and knows nothing of what is done with
 * them: the engine decodes through it, the rooms above reach it through the public API, and the
 * analyzers (src/dsp/) never see a file.
 */
#ifndef CQ_DECODE_INT_H
#define CQ_DECODE_INT_H

#include <stdbool.h>

#include "callqa/cq_audio.h"

/* The shared object cq_audio loads for formats it does not decode itself (default
 * "libsndfile.so.1"). Tests use it to check the error when the library cannot be loaded.
 * `soname` must stay valid; it applies to the next load attempt (a loaded library stays). */
void cq__audio_set_sndfile_soname(const char *soname);

/* True once libsndfile has been loaded into this process by cq_audio. */
bool cq__audio_sndfile_loaded(void);

/* The shared object cq_resample_sox loads (default "libsox.so.3"; NULL restores it). Tests use
 * it to check the error when the library cannot be loaded; it applies to the next load attempt
 * (a loaded library stays). */
void cq__audio_set_sox_soname(const char *soname);

/* True once libsox has been loaded into this process by cq_resample_sox. */
bool cq__audio_sox_loaded(void);

/* dlsym(lib, name) copied into the function pointer at fn_ptr (fn_size bytes); false when the
 * symbol is missing (decode.c; the loaders of libsndfile and libsox). */
bool cq__audio_dlsym(void *lib, const char *name, void *fn_ptr, size_t fn_size);

/* True when `a` is decoded by callqa's own WAV reader, false when libsndfile decodes it. */
bool cq__audio_is_native(const cq_audio *a);

#endif /* CQ_DECODE_INT_H */
