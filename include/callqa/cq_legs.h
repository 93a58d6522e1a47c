/*
 * cq_legs.h - what a call is made of: one file (stereo legs or a mono mix) or two leg files.
 *
 * ViciDial writes NAME-in.wav (caller/inbound) and NAME-out.wav (agent/outbound) to
 * monitor/ORIG/ and a mix NAME-all.wav (or MP3/NAME-all.mp3). Given the mix, the legs are looked
 * for beside it, in ORIG/ beside it and in ../ORIG/ (for files under MP3/); real legs are
 * preferred because a mix hides one-way audio. Files under 100 bytes are failed-recording stubs.
 *
 * Thread safety: pure functions over the file system; no shared state.
 */
#ifndef CQ_LEGS_H
#define CQ_LEGS_H

#include <stddef.h>
#include <stdbool.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Files smaller than this are failed-recording stubs, not audio. */
#define CQ_LEGS_STUB_BYTES 100

/* Stereo channel assignment. */
typedef enum cq_channel_map {
    CQ_MAP_IN_OUT = 0, /* channel 1 = inbound (caller), channel 2 = outbound (agent); default */
    CQ_MAP_OUT_IN = 1  /* channel 1 = outbound, channel 2 = inbound (newer ViciDial stereo) */
} cq_channel_map;

/* A call to analyze. Exactly one of: `path`, (`in_path` and `out_path`), or `data`. */
typedef struct cq_call_src {
    const char *path;               /* one file: stereo (two legs) or mono (mixed audio) */
    const char *in_path;            /* inbound (caller) leg file */
    const char *out_path;           /* outbound (agent) leg file */
    const void *data;               /* one recording in memory (uploads, fuzzing) */
    size_t size;                    /* bytes at `data` */
    const char *name;               /* the report's `file`; NULL: derived from the paths */
    const char *note;               /* how the sources were chosen (cq_legs_resolved.note): copied
                                       into the report's warnings first; may be NULL */
    const char *source_name;        /* shown as the legs' `source` instead of path (e.g. the URL a
                                       service fetched it from); NULL: the path */
    const char *in_name, *out_name; /* the same for in_path and out_path */
} cq_call_src;

/* Result of resolving a path the way a user names a call. Strings are owned by the struct. */
typedef struct cq_legs_resolved {
    char *path;    /* the file to analyze when no leg files are used, else NULL */
    char *in_path; /* leg files when found (both or neither) */
    char *out_path;
    char *name; /* display name: the path as given */
    char *note; /* a sentence for the report's warnings (legs used, stubs skipped), or NULL */
} cq_legs_resolved;

/*
 * Resolve `path`. For NAME-all.<ext>, look for NAME-in.wav and NAME-out.wav (both at least
 * CQ_LEGS_STUB_BYTES) beside it, in ORIG/ and in ../ORIG/, and use them when found. Any other
 * path is used as it is. Returns CQ_OK, CQ_ERR_NOT_FOUND (path missing), CQ_ERR_EMPTY (the
 * file is a stub and no legs were found) or CQ_ERR_NOMEM, with `err` (optional) set.
 * Free the result with cq_legs_resolved_free().
 */
CQ_API CQ_NODISCARD int cq_legs_resolve(const char *path, cq_legs_resolved *out, cq_err *err)
    CQ_NONNULL(1, 2);

/* Free the strings of a resolved call. NULL is a no-op. */
CQ_API void cq_legs_resolved_free(cq_legs_resolved *r);

/* ViciDial leg naming. Returns 'a' for NAME-all.*, 'i' for NAME-in.*, 'o' for NAME-out.*, and
 * 0 otherwise; when non-zero and `stem_len` is not NULL, the length of the path up to the '-'. */
CQ_API int cq_legs_vicidial_kind(const char *path, size_t *stem_len) CQ_NONNULL(1);

#ifdef __cplusplus
}
#endif
#endif /* CQ_LEGS_H */
