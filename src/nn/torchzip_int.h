/*
 * torchzip_int.h - a reader for PyTorch zip checkpoints (torch.save since 1.6): a zip archive of
 * stored (uncompressed) entries, `<root>/data.pkl` (a pickle, protocol 2) and one entry
 * `<root>/data/<key>` per tensor storage. The pickle is run on a small stack machine that knows
 * the opcodes torch.save emits and rebuilds dicts, lists, tuples, numbers, strings and tensors
 * (torch._utils._rebuild_tensor_v2 over persistent storage ids); it never calls anything.
 *
 * Everything read from the file is bounds-checked; a hostile file gives CQ_ERR_FORMAT and a
 * message (tests/fuzz/fuzz_torchzip.c).
 */
#ifndef CQ_TORCHZIP_INT_H
#define CQ_TORCHZIP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_status.h"

typedef enum cq__pv_kind {
    CQ__PV_NONE,
    CQ__PV_BOOL,
    CQ__PV_INT,
    CQ__PV_FLOAT,
    CQ__PV_STR,
    CQ__PV_TUPLE,
    CQ__PV_LIST,
    CQ__PV_DICT,
    CQ__PV_GLOBAL,  /* module.name reference */
    CQ__PV_STORAGE, /* a persistent id: ('storage', <Type>Storage, key, location, numel) */
    CQ__PV_TENSOR,  /* _rebuild_tensor_v2(storage, offset, size, stride, ...) */
    CQ__PV_OBJECT,  /* anything else a REDUCE built: kept opaque */
    CQ__PV_MARK     /* internal: the stack mark */
} cq__pv_kind;

typedef struct cq__pv cq__pv;
struct cq__pv {
    cq__pv_kind kind;
    int64_t i;         /* INT, BOOL; TENSOR: storage offset (elements) */
    double f;          /* FLOAT */
    const char *s;     /* STR, GLOBAL ("module name"); STORAGE: key; NUL-terminated */
    size_t n;          /* items (TUPLE, LIST), pairs (DICT), dims (TENSOR) */
    cq__pv **items;    /* TUPLE, LIST: n items; DICT: 2n (key, value, ...) */
    int64_t *shape;    /* TENSOR: n dims */
    int64_t *stride;   /* TENSOR */
    cq__pv *storage;   /* TENSOR: its STORAGE */
    const char *dtype; /* STORAGE: "FloatStorage", "LongStorage", ... */
    int64_t numel;     /* STORAGE: elements */
};

typedef struct cq__torchzip cq__torchzip; /* the parsed checkpoint; owns every value */

/* Parse a checkpoint held in memory (the bytes must outlive the returned object). */
int cq__torchzip_open(const uint8_t *buf, size_t len, const char *name, cq__torchzip **out,
                      cq_err *err);
void cq__torchzip_free(cq__torchzip *z);

/* The unpickled root object. */
const cq__pv *cq__torchzip_root(const cq__torchzip *z);

/* Value for string key `key` in a DICT, or NULL. */
const cq__pv *cq__pv_get(const cq__pv *dict, const char *key);

/*
 * Copy a float32 tensor into `out` (count elements), checking that it is a contiguous
 * FloatStorage tensor of exactly `ndims` dims `dims` whose data lies inside its zip entry.
 * Returns CQ_OK or CQ_ERR_FORMAT with a message naming `what`.
 */
int cq__torchzip_tensor_f32(const cq__torchzip *z, const cq__pv *t, const int64_t *dims, int ndims,
                            float *out, const char *what, cq_err *err);

#endif /* CQ_TORCHZIP_INT_H */
