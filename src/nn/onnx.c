/*
 * onnx.c - protobuf wire-format walk over ONNX ModelProto -> GraphProto -> NodeProto /
 * TensorProto, collecting tensors (see onnx_int.h).
 *
 * The wire format: each field is a varint key (field number << 3 | wire type) followed by a
 * varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5).
 * Field numbers used here, from onnx.proto:
 *   ModelProto  1 ir_version, 7 graph, 8 opset_import (OperatorSetIdProto: 1 domain, 2 version)
 *   GraphProto  1 node, 5 initializer
 *   NodeProto   2 output, 4 op_type, 5 attribute
 *   AttributeProto 1 name, 5 t (tensor), 6 g (graph), 11 graphs
 *   TensorProto 1 dims, 2 data_type, 4 float_data, 7 int64_data, 8 name, 9 raw_data,
 *               14 data_location (1 = external: refused)
 */
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "onnx_int.h"

#define MAX_DEPTH 16 /* nested subgraphs */
#define MAX_TENSORS 100000
#define MAX_ELEMENTS (64u << 20) /* per tensor */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

typedef struct ctx {
    cq__onnx *m;
    const char *name;
    cq_err *err;
} ctx;

static int bad(ctx *c, const char *what)
{
    return cq__err_set(c->err, CQ_ERR_FORMAT, "%s: not a valid ONNX model (%s)", c->name, what);
}

static int pb_varint(pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Next field: number, wire type, and for wire type 2 the sub-buffer, else the value. */
static int pb_next(pb *r, uint32_t *field, int *wire, pb *sub, uint64_t *val)
{
    uint64_t key;
    *val = 0;
    if (pb_varint(r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return -1;
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    switch (*wire) {
    case 0: return pb_varint(r, val);
    case 1:
        if (r->end - r->p < 8)
            return -1;
        memcpy(val, r->p, 8);
        r->p += 8;
        return 0;
    case 2: {
        uint64_t n;
        if (pb_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        return 0;
    }
    case 5: {
        if (r->end - r->p < 4)
            return -1;
        uint32_t v32;
        memcpy(&v32, r->p, 4);
        *val = v32;
        r->p += 4;
        return 0;
    }
    default: return -1; /* groups (3, 4) and reserved types */
    }
}

static char *pb_string(const pb *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *out = cq__malloc(n + 1);
    if (out) {
        memcpy(out, s->p, n);
        out[n] = 0;
    }
    return out;
}

static int pb_equals(const pb *s, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(s->end - s->p) == n && memcmp(s->p, lit, n) == 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void tensor_free(cq__tensor *t)
{
    cq__free(t->name);
    cq__free(t->scope);
    cq__free(t->output);
    cq__free(t->f32);
    cq__free(t->i64);
    memset(t, 0, sizeof(*t));
}

/* Parse a TensorProto and add it under `scope`; `output` names its value (may be NULL). */
static int parse_tensor(ctx *c, pb r, const char *scope, const char *output)
{
    cq__tensor t;
    memset(&t, 0, sizeof(t));
    pb raw = {NULL, NULL}, fdata = {NULL, NULL}, idata = {NULL, NULL};
    size_t n_float_fixed = 0, n_int_varint = 0;
    int have_raw = 0, have_f = 0, have_i = 0, rc = CQ_OK;
    uint32_t field;
    int wire;
    pb sub;
    uint64_t v = 0;
    while (r.p < r.end) {
        if (pb_next(&r, &field, &wire, &sub, &v) != 0) {
            rc = bad(c, "truncated tensor");
            goto fail;
        }
        if (field == 1 && wire != 0 && wire != 2) {
            rc = bad(c, "bad tensor dims");
            goto fail;
        } else if (field == 1) { /* dims: varint or packed */
            pb d = wire == 2 ? sub : (pb){NULL, NULL};
            do {
                uint64_t dim = v;
                if (wire == 2) {
                    if (d.p >= d.end)
                        break;
                    if (pb_varint(&d, &dim) != 0) {
                        rc = bad(c, "bad tensor dims");
                        goto fail;
                    }
                }
                if (t.ndims >= CQ__ONNX_MAX_DIMS || (int64_t)dim < 0) {
                    rc = bad(c, "tensor dims out of range");
                    goto fail;
                }
                t.dims[t.ndims++] = (int64_t)dim;
            } while (wire == 2);
        } else if (field == 2 && wire == 0) {
            t.dtype = (int)v;
        } else if (field == 4) { /* float_data: packed or repeated fixed32 */
            if (wire == 2) {
                fdata = sub;
                have_f = 1;
            } else if (wire == 5) {
                n_float_fixed++; /* unpacked floats: not produced by exporters; refused below */
            }
        } else if (field == 7) {
            if (wire == 2) {
                idata = sub;
                have_i = 1;
            } else {
                n_int_varint++;
            }
        } else if (field == 8 && wire == 2) {
            cq__free(t.name);
            if (!(t.name = pb_string(&sub))) {
                rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
                goto fail;
            }
        } else if (field == 9 && wire == 2) {
            raw = sub;
            have_raw = 1;
        } else if (field == 14 && wire == 0 && v == 1) {
            rc = bad(c, "external tensor data is not supported");
            goto fail;
        }
    }
    if (n_float_fixed || n_int_varint) {
        rc = bad(c, "unpacked tensor data");
        goto fail;
    }
    uint64_t count = 1;
    for (int i = 0; i < t.ndims; i++) {
        if (t.dims[i] != 0 && count > MAX_ELEMENTS / (uint64_t)t.dims[i]) {
            rc = bad(c, "tensor too large");
            goto fail;
        }
        count *= (uint64_t)t.dims[i];
    }
    t.count = (size_t)count;
    if (t.dtype == CQ__ONNX_FLOAT) {
        const uint8_t *src = NULL;
        if (have_raw) {
            if ((uint64_t)(raw.end - raw.p) != count * 4) {
                rc = bad(c, "float tensor data does not match its shape");
                goto fail;
            }
            src = raw.p;
        } else if (have_f) {
            if ((uint64_t)(fdata.end - fdata.p) != count * 4) {
                rc = bad(c, "float tensor data does not match its shape");
                goto fail;
            }
            src = fdata.p;
        } else if (count) {
            rc = bad(c, "float tensor without data");
            goto fail;
        }
        t.f32 = cq__malloc(count ? count * sizeof(float) : 1);
        if (!t.f32) {
            rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
            goto fail;
        }
        for (size_t i = 0; i < count; i++) { /* stored little-endian */
            uint32_t bits = le32(src + 4 * i);
            memcpy(&t.f32[i], &bits, 4);
        }
    } else if (t.dtype == CQ__ONNX_INT64) {
        t.i64 = cq__malloc(count ? count * sizeof(int64_t) : 1);
        if (!t.i64) {
            rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
            goto fail;
        }
        if (have_raw) {
            if ((uint64_t)(raw.end - raw.p) != count * 8) {
                rc = bad(c, "int64 tensor data does not match its shape");
                goto fail;
            }
            for (size_t i = 0; i < count; i++) {
                uint64_t x = (uint64_t)le32(raw.p + 8 * i) | (uint64_t)le32(raw.p + 8 * i + 4)
                                                                 << 32;
                t.i64[i] = (int64_t)x;
            }
        } else if (have_i) {
            for (size_t i = 0; i < count; i++) {
                uint64_t x;
                if (pb_varint(&idata, &x) != 0) {
                    rc = bad(c, "int64 tensor data does not match its shape");
                    goto fail;
                }
                t.i64[i] = (int64_t)x;
            }
        } else if (count) {
            rc = bad(c, "int64 tensor without data");
            goto fail;
        }
    }
    if (!t.name && !(t.name = cq__strdup(""))) {
        rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
        goto fail;
    }
    t.scope = cq__strdup(scope);
    t.output = cq__strdup(output ? output : t.name);
    if (!t.scope || !t.output ||
        cq__grow((void **)&c->m->t, &c->m->cap, c->m->n + 1, sizeof(cq__tensor)) != CQ_OK) {
        rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
        goto fail;
    }
    if (c->m->n >= MAX_TENSORS) {
        rc = bad(c, "too many tensors");
        goto fail;
    }
    c->m->t[c->m->n++] = t;
    return CQ_OK;
fail:
    tensor_free(&t);
    return rc;
}

static int parse_graph(ctx *c, pb r, const char *scope, int depth);

/* A NodeProto: Constant values become tensors; graph attributes are walked as subgraphs. */
static int parse_node(ctx *c, pb r, const char *scope, int depth)
{
    uint32_t field;
    int wire;
    pb sub;
    uint64_t v = 0;
    pb op = {NULL, NULL}, out0 = {NULL, NULL};
    pb scan = r;
    while (scan.p < scan.end) { /* first pass: op_type and first output */
        if (pb_next(&scan, &field, &wire, &sub, &v) != 0)
            return bad(c, "truncated node");
        if (field == 4 && wire == 2)
            op = sub;
        else if (field == 2 && wire == 2 && !out0.p)
            out0 = sub;
    }
    int is_const = op.p && pb_equals(&op, "Constant");
    char *out_name = out0.p ? pb_string(&out0) : cq__strdup("");
    if (!out_name)
        return cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
    int rc = CQ_OK;
    while (rc == CQ_OK && r.p < r.end) {
        if (pb_next(&r, &field, &wire, &sub, &v) != 0) {
            rc = bad(c, "truncated node");
            break;
        }
        if (field != 5 || wire != 2)
            continue;
        /* AttributeProto */
        pb a = sub, aname = {NULL, NULL};
        pb scan2 = a;
        while (scan2.p < scan2.end) {
            pb s2;
            if (pb_next(&scan2, &field, &wire, &s2, &v) != 0) {
                rc = bad(c, "truncated attribute");
                break;
            }
            if (field == 1 && wire == 2)
                aname = s2;
        }
        while (rc == CQ_OK && a.p < a.end) {
            pb s2;
            if (pb_next(&a, &field, &wire, &s2, &v) != 0) {
                rc = bad(c, "truncated attribute");
                break;
            }
            if (field == 5 && wire == 2 && is_const) {
                rc = parse_tensor(c, s2, scope, out_name);
            } else if ((field == 6 || field == 11) && wire == 2) {
                char *an = aname.p ? pb_string(&aname) : cq__strdup("graph");
                char *sc = an ? (*scope ? cq__printf("%s/%s", scope, an) : cq__strdup(an)) : NULL;
                if (!sc)
                    rc = cq__err_set(c->err, CQ_ERR_NOMEM, "%s: out of memory", c->name);
                else
                    rc = parse_graph(c, s2, sc, depth + 1);
                cq__free(an);
                cq__free(sc);
            }
        }
    }
    cq__free(out_name);
    return rc;
}

static int parse_graph(ctx *c, pb r, const char *scope, int depth)
{
    if (depth > MAX_DEPTH)
        return bad(c, "subgraphs nested too deep");
    uint32_t field;
    int wire;
    pb sub;
    uint64_t v = 0;
    while (r.p < r.end) {
        if (pb_next(&r, &field, &wire, &sub, &v) != 0)
            return bad(c, "truncated graph");
        int rc = CQ_OK;
        if (field == 1 && wire == 2)
            rc = parse_node(c, sub, scope, depth);
        else if (field == 5 && wire == 2)
            rc = parse_tensor(c, sub, scope, NULL);
        if (rc != CQ_OK)
            return rc;
    }
    return CQ_OK;
}

int cq__onnx_parse(const uint8_t *buf, size_t len, const char *name, cq__onnx *m, cq_err *err)
{
    memset(m, 0, sizeof(*m));
    ctx c = {m, name ? name : "(model)", err};
    pb r = {buf, buf + len};
    uint32_t field;
    int wire;
    pb sub;
    uint64_t v = 0;
    int have_graph = 0, rc = CQ_OK;
    while (rc == CQ_OK && r.p < r.end) {
        if (pb_next(&r, &field, &wire, &sub, &v) != 0) {
            rc = bad(&c, len < 16 ? "too short" : "truncated or not protobuf");
            break;
        }
        if (field == 1 && wire == 0) {
            m->ir_version = (int64_t)v;
        } else if (field == 7 && wire == 2) {
            have_graph = 1;
            rc = parse_graph(&c, sub, "", 0);
        } else if (field == 8 && wire == 2) { /* OperatorSetIdProto */
            pb dom = {NULL, NULL};
            uint64_t ver = 0;
            pb o = sub, s2;
            while (o.p < o.end) {
                if (pb_next(&o, &field, &wire, &s2, &v) != 0) {
                    rc = bad(&c, "bad opset_import");
                    break;
                }
                if (field == 1 && wire == 2)
                    dom = s2;
                else if (field == 2 && wire == 0)
                    ver = v;
            }
            if (!dom.p || dom.p == dom.end || pb_equals(&dom, "ai.onnx"))
                m->opset = (int64_t)ver;
        }
    }
    if (rc == CQ_OK && (!have_graph || m->ir_version <= 0))
        rc = bad(&c, "no graph or IR version");
    if (rc != CQ_OK)
        cq__onnx_free(m);
    return rc;
}

void cq__onnx_free(cq__onnx *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        tensor_free(&m->t[i]);
    cq__free(m->t);
    memset(m, 0, sizeof(*m));
}

const cq__tensor *cq__onnx_find(const cq__onnx *m, const char *scope, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->t[i].scope, scope) && !strcmp(m->t[i].name, name))
            return &m->t[i];
    return NULL;
}

bool cq__onnx_f32_of_shape(const cq__tensor *t, const int64_t *dims, int nd, char got[96],
                           char want[96])
{
    bool ok = t->dtype == CQ__ONNX_FLOAT && t->ndims == nd && t->f32;
    for (int i = 0; ok && i < nd; i++)
        ok = t->dims[i] == dims[i];
    if (ok)
        return true;
    got[0] = want[0] = '\0';
    for (int i = 0; i < t->ndims && strlen(got) < 80; i++)
        snprintf(got + strlen(got), 96 - strlen(got), "%s%lld", i ? "x" : "",
                 (long long)t->dims[i]);
    if (!t->ndims)
        snprintf(got, 96, "scalar");
    for (int i = 0; i < nd && strlen(want) < 80; i++)
        snprintf(want + strlen(want), 96 - strlen(want), "%s%lld", i ? "x" : "",
                 (long long)dims[i]);
    return false;
}
