/*
 * onnx_int.h - a reader for the subset of ONNX model files (protobuf) that callqa's models
 * need: every tensor stored in the file, from Constant nodes and initializers, in the main graph
 * and in subgraphs (If branches), with its name, shape and data. No graph execution: each model
 * module knows its architecture and looks its weights up by name, checking every shape.
 *
 * Everything read from the file is bounds-checked; a hostile file gives CQ_ERR_FORMAT and a
 * message, never a crash (tests/fuzz/fuzz_onnx.c).
 */
#ifndef CQ_ONNX_INT_H
#define CQ_ONNX_INT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "callqa/cq_status.h"

#define CQ__ONNX_MAX_DIMS 8

/* ONNX TensorProto.DataType values callqa reads */
enum { CQ__ONNX_FLOAT = 1, CQ__ONNX_INT64 = 7 };

typedef struct cq__tensor {
    char *name;   /* TensorProto.name; "" when the file leaves it empty */
    char *scope;  /* "" = main graph, else the subgraph path, e.g. "else_branch" or
                     "then_branch/else_branch" (attribute names of the enclosing If nodes) */
    char *output; /* name of the value: the Constant node's output or the initializer name */
    int dtype;    /* TensorProto.DataType */
    int ndims;
    int64_t dims[CQ__ONNX_MAX_DIMS];
    size_t count; /* elements (1 for a scalar) */
    float *f32;   /* dtype FLOAT: the elements, host order; NULL otherwise */
    int64_t *i64; /* dtype INT64: the elements; NULL otherwise */
} cq__tensor;

typedef struct cq__onnx {
    cq__tensor *t;
    size_t n, cap;
    int64_t ir_version;
    int64_t opset; /* default-domain opset version, 0 if absent */
} cq__onnx;

/* Parse `len` bytes. `name` is used in messages. On failure, everything is freed. */
int cq__onnx_parse(const uint8_t *buf, size_t len, const char *name, cq__onnx *out, cq_err *err);

void cq__onnx_free(cq__onnx *m);

/* The tensor called `name` (TensorProto.name) in `scope`, or NULL. */
const cq__tensor *cq__onnx_find(const cq__onnx *m, const char *scope, const char *name);
/* Whether t holds float elements of shape dims[0..nd); when not, its shape and the one wanted
 * as text ("64x1x3", "scalar") into got and want, for the caller's error. */
bool cq__onnx_f32_of_shape(const cq__tensor *t, const int64_t *dims, int nd, char got[96],
                           char want[96]);

#endif /* CQ_ONNX_INT_H */
