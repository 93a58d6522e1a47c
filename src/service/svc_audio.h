/*
 * svc_audio.h - GET /api/qa/call/{id}/audio (svc_audio.c): a call's recording for a player, with
 * byte ranges; what it holds, its legs and its transcodes are the media room's
 * (src/media/media.h).
 */
#ifndef CQ_SVC_AUDIO_H
#define CQ_SVC_AUDIO_H

#include "svc_http.h"

typedef enum svc_range {
    SVC_RANGE_NONE = 0,     /* no Range, or one to ignore: the whole body (200) */
    SVC_RANGE_OK,           /* one range, [*first, *last] inside the body (206) */
    SVC_RANGE_UNSATISFIABLE /* it starts past the end, a suffix of 0, an empty body (416) */
} svc_range;
/* A Range header (h; NULL: none) against a body of size bytes (RFC 9110 14.1.2): "bytes=a-b"
 * (b past the end: to the end), "bytes=a-", "bytes=-n" (the last n bytes). Another unit,
 * several ranges, b < a, numbers past 2^64 or anything malformed: SVC_RANGE_NONE. Pure. */
svc_range svc_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last);

enum MHD_Result svc_qa_audio(req *r, const char *data, size_t *size);
/* GET /api/qa/call/{id}'s "audio": {"legs": the legs that can be asked for now (in, out,
 * mix: in the call's row, on local disk), "default": mix, else in, else out, else null}; NULL
 * when the store failed. */
struct json_t *svc_audio_legs(req *r, int64_t call_id);

#endif /* CQ_SVC_AUDIO_H */
