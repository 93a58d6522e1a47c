/*
 * decode_int.h - library-internal hooks of src/audio/decode.c (not part of the public API).
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

/* True when `a` is decoded by callqa's own WAV reader, false when libsndfile decodes it. */
bool cq__audio_is_native(const cq_audio *a);

#endif /* CQ_DECODE_INT_H */
