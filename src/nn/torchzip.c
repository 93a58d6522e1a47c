/*
 * torchzip.c - PyTorch zip checkpoints: the zip directory and a pickle stack machine
 * (see torchzip_int.h).
 *
 * Zip: the end-of-central-directory record (searched backwards over at most 64 KiB of comment)
 * gives the central directory; each entry's local header gives where its bytes start. Only
 * stored entries are accepted (torch.save never compresses); zip64 is refused.
 * Pickle: opcodes of protocols 2-4 that carry data (no callable is ever invoked): REDUCE
 * recognises collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
 * torch._utils._rebuild_parameter; anything else becomes an opaque object.
 */
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "torchzip_int.h"

#define MAX_STACK (1u << 20)
#define MAX_MEMO (1u << 22)

typedef struct zentry {
    char *name;
    const uint8_t *data;
    size_t size;
} zentry;

struct cq__torchzip {
    const char *name;
    zentry *e;
    size_t ne;
    char *root; /* "archive" in "archive/data.pkl" */
    cq__pv *top;
    void **allocs; /* every allocation of the unpickled values */
    size_t nalloc, capalloc;
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fmt(cq__torchzip *z, cq_err *err, const char *what)
{
    return cq__err_set(err, CQ_ERR_FORMAT, "%s: not a valid PyTorch checkpoint (%s)", z->name,
                       what);
}

/* ---- zip ----------------------------------------------------------------------------------- */

static int read_zip(cq__torchzip *z, const uint8_t *buf, size_t len, cq_err *err)
{
    if (len < 22)
        return fmt(z, err, "too short for a zip archive");
    size_t eocd = 0;
    int found = 0;
    size_t lowest = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lowest;) {
        if (le32(buf + i) == 0x06054b50u) {
            eocd = i;
            found = 1;
            break;
        }
    }
    if (!found)
        return fmt(z, err, "no zip directory; truncated?");
    uint16_t n = le16(buf + eocd + 10);
    uint32_t cd_size = le32(buf + eocd + 12), cd_off = le32(buf + eocd + 16);
    if (n == 0xFFFF || cd_off == 0xFFFFFFFFu)
        return fmt(z, err, "zip64 archives are not supported");
    if ((uint64_t)cd_off + cd_size > eocd)
        return fmt(z, err, "zip directory outside the file; truncated?");
    z->e = cq__calloc(n ? n : 1, sizeof(zentry));
    if (!z->e)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", z->name);
    size_t p = cd_off;
    for (uint16_t k = 0; k < n; k++) {
        if (p + 46 > eocd || le32(buf + p) != 0x02014b50u)
            return fmt(z, err, "bad zip directory entry");
        uint16_t method = le16(buf + p + 10);
        uint32_t csize = le32(buf + p + 20), usize = le32(buf + p + 24);
        uint16_t nlen = le16(buf + p + 28), xlen = le16(buf + p + 30), clen = le16(buf + p + 32);
        uint32_t loff = le32(buf + p + 42);
        if (p + 46 + (size_t)nlen + xlen + clen > eocd)
            return fmt(z, err, "bad zip directory entry");
        if (method != 0 || csize != usize)
            return fmt(z, err, "compressed zip entries are not supported");
        if (csize == 0xFFFFFFFFu || loff == 0xFFFFFFFFu)
            return fmt(z, err, "zip64 archives are not supported");
        if ((uint64_t)loff + 30 > len || le32(buf + loff) != 0x04034b50u)
            return fmt(z, err, "bad zip local header; truncated?");
        uint64_t data = (uint64_t)loff + 30 + le16(buf + loff + 26) + le16(buf + loff + 28);
        if (data + csize > len)
            return fmt(z, err, "zip entry data beyond the end of the file; truncated?");
        zentry *e = &z->e[z->ne++];
        e->name = cq__malloc((size_t)nlen + 1);
        if (!e->name)
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", z->name);
        memcpy(e->name, buf + p + 46, nlen);
        e->name[nlen] = 0;
        e->data = buf + data;
        e->size = csize;
        p += 46 + (size_t)nlen + xlen + clen;
    }
    return CQ_OK;
}

static const zentry *entry(const cq__torchzip *z, const char *name)
{
    for (size_t i = 0; i < z->ne; i++)
        if (!strcmp(z->e[i].name, name))
            return &z->e[i];
    return NULL;
}

/* ---- pickle -------------------------------------------------------------------------------- */

typedef struct vm {
    cq__torchzip *z;
    cq_err *err;
    const uint8_t *p, *end;
    cq__pv **stack;
    size_t sp, cap;
    cq__pv **memo;
    size_t nmemo;
    cq__pv mark;
} vm;

static void *track(cq__torchzip *z, void *ptr)
{
    if (!ptr)
        return NULL;
    if (cq__grow((void **)&z->allocs, &z->capalloc, z->nalloc + 1, sizeof(void *)) != CQ_OK) {
        cq__free(ptr);
        return NULL;
    }
    z->allocs[z->nalloc++] = ptr;
    return ptr;
}

static cq__pv *newv(vm *m, cq__pv_kind k)
{
    cq__pv *v = track(m->z, cq__calloc(1, sizeof(cq__pv)));
    if (v)
        v->kind = k;
    return v;
}

static char *newstr(vm *m, const uint8_t *s, size_t n)
{
    char *c = track(m->z, cq__malloc(n + 1));
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

#define NOMEM(m) cq__err_set((m)->err, CQ_ERR_NOMEM, "%s: out of memory", (m)->z->name)
#define BAD(m, what) fmt((m)->z, (m)->err, what)

static int push(vm *m, cq__pv *v)
{
    if (!v)
        return NOMEM(m);
    if (m->sp >= MAX_STACK)
        return BAD(m, "pickle stack too deep");
    if (cq__grow((void **)&m->stack, &m->cap, m->sp + 1, sizeof(cq__pv *)) != CQ_OK)
        return NOMEM(m);
    m->stack[m->sp++] = v;
    return CQ_OK;
}

static cq__pv *pop(vm *m)
{
    if (m->sp == 0 || m->stack[m->sp - 1] == &m->mark)
        return NULL;
    return m->stack[--m->sp];
}

/* Index of the topmost mark, or -1. */
static long find_mark(vm *m)
{
    for (size_t i = m->sp; i-- > 0;)
        if (m->stack[i] == &m->mark)
            return (long)i;
    return -1;
}

static int need(vm *m, size_t n)
{
    return (size_t)(m->end - m->p) >= n ? 0 : -1;
}

/* Items between the topmost mark and the top become `into` (a new TUPLE or LIST), mark removed. */
static cq__pv *collect(vm *m, cq__pv_kind kind)
{
    long mk = find_mark(m);
    if (mk < 0)
        return NULL;
    cq__pv *t = newv(m, kind);
    size_t n = m->sp - (size_t)mk - 1;
    if (!t)
        return NULL;
    t->n = n;
    t->items = track(m->z, cq__malloc((n ? n : 1) * sizeof(cq__pv *)));
    if (!t->items)
        return NULL;
    memcpy(t->items, m->stack + mk + 1, n * sizeof(cq__pv *));
    m->sp = (size_t)mk;
    return t;
}

static int append_items(vm *m, cq__pv *target, cq__pv **items, size_t n, int pairs)
{
    if (target->kind == CQ__PV_OBJECT)
        return CQ_OK; /* an object we keep opaque */
    if ((pairs && target->kind != CQ__PV_DICT) || (!pairs && target->kind != CQ__PV_LIST))
        return BAD(m, "pickle: items added to a value of the wrong kind");
    size_t have = pairs ? 2 * target->n : target->n;
    cq__pv **ni = track(m->z, cq__malloc((have + n + 1) * sizeof(cq__pv *)));
    if (!ni)
        return NOMEM(m);
    if (have)
        memcpy(ni, target->items, have * sizeof(cq__pv *));
    memcpy(ni + have, items, n * sizeof(cq__pv *));
    target->items = ni; /* the old array stays tracked and is freed with the rest */
    target->n = pairs ? (have + n) / 2 : have + n;
    return CQ_OK;
}

static int tuple_ints(const cq__pv *t, int64_t **out, size_t *n, vm *m)
{
    if (!t || t->kind != CQ__PV_TUPLE || t->n > 16)
        return -1;
    *out = track(m->z, cq__malloc((t->n ? t->n : 1) * sizeof(int64_t)));
    if (!*out)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != CQ__PV_INT)
            return -1;
        (*out)[i] = t->items[i]->i;
    }
    *n = t->n;
    return 0;
}

static cq__pv *reduce(vm *m, cq__pv *fn, cq__pv *args)
{
    if (fn->kind == CQ__PV_GLOBAL && !strcmp(fn->s, "collections OrderedDict"))
        return newv(m, CQ__PV_DICT);
    if (fn->kind == CQ__PV_GLOBAL && !strcmp(fn->s, "torch._utils _rebuild_parameter") &&
        args->kind == CQ__PV_TUPLE && args->n >= 1 && args->items[0]->kind == CQ__PV_TENSOR)
        return args->items[0];
    if (fn->kind == CQ__PV_GLOBAL && !strcmp(fn->s, "torch._utils _rebuild_tensor_v2")) {
        if (args->kind != CQ__PV_TUPLE || args->n < 4 || args->items[0]->kind != CQ__PV_STORAGE ||
            args->items[1]->kind != CQ__PV_INT)
            return NULL;
        cq__pv *t = newv(m, CQ__PV_TENSOR);
        size_t ns = 0, nst = 0;
        if (!t || tuple_ints(args->items[2], &t->shape, &ns, m) ||
            tuple_ints(args->items[3], &t->stride, &nst, m) || ns != nst)
            return NULL;
        t->n = ns;
        t->i = args->items[1]->i;
        t->storage = args->items[0];
        return t;
    }
    return newv(m, CQ__PV_OBJECT);
}

static int run_pickle(vm *m)
{
    while (m->p < m->end) {
        uint8_t op = *m->p++;
        cq__pv *v, *a, *b;
        uint32_t n;
        int rc = CQ_OK;
        switch (op) {
        case 0x80: /* PROTO */
            if (need(m, 1))
                return BAD(m, "truncated pickle");
            m->p++;
            break;
        case '.': /* STOP */
            m->z->top = pop(m);
            return m->z->top ? CQ_OK : BAD(m, "pickle ends without a value");
        case '(': rc = push(m, &m->mark); break;
        case '}': rc = push(m, newv(m, CQ__PV_DICT)); break;
        case ']': rc = push(m, newv(m, CQ__PV_LIST)); break;
        case ')': rc = push(m, newv(m, CQ__PV_TUPLE)); break;
        case 't': /* TUPLE */
            if (!(v = collect(m, CQ__PV_TUPLE)))
                return BAD(m, "pickle tuple without a mark");
            rc = push(m, v);
            break;
        case 0x85:
        case 0x86:
        case 0x87: { /* TUPLE1..3 */
            size_t k = (size_t)(op - 0x84);
            if (m->sp < k)
                return BAD(m, "pickle stack underflow");
            for (size_t i = 0; i < k; i++)
                if (m->stack[m->sp - 1 - i] == &m->mark)
                    return BAD(m, "pickle stack underflow");
            cq__pv *t = newv(m, CQ__PV_TUPLE);
            if (!t || !(t->items = track(m->z, cq__malloc(k * sizeof(cq__pv *)))))
                return NOMEM(m);
            memcpy(t->items, m->stack + m->sp - k, k * sizeof(cq__pv *));
            t->n = k;
            m->sp -= k;
            rc = push(m, t);
            break;
        }
        case 'q':
        case 'r':
        case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
            if (op == 'q') {
                if (need(m, 1))
                    return BAD(m, "truncated pickle");
                n = *m->p++;
            } else if (op == 'r') {
                if (need(m, 4))
                    return BAD(m, "truncated pickle");
                n = le32(m->p);
                m->p += 4;
            } else {
                n = (uint32_t)m->nmemo;
            }
            if (m->sp == 0 || m->stack[m->sp - 1] == &m->mark || n >= MAX_MEMO)
                return BAD(m, "bad pickle memo");
            if (n >= m->nmemo) {
                size_t cap = m->nmemo;
                if (cq__grow((void **)&m->memo, &cap, (size_t)n + 1, sizeof(cq__pv *)) != CQ_OK)
                    return NOMEM(m);
                memset(m->memo + m->nmemo, 0, (cap - m->nmemo) * sizeof(cq__pv *));
                m->nmemo = cap;
            }
            m->memo[n] = m->stack[m->sp - 1];
            break;
        }
        case 'h':
        case 'j': /* BINGET, LONG_BINGET */
            if (need(m, op == 'h' ? 1 : 4))
                return BAD(m, "truncated pickle");
            n = op == 'h' ? *m->p : le32(m->p);
            m->p += op == 'h' ? 1 : 4;
            if (n >= m->nmemo || !m->memo[n])
                return BAD(m, "pickle refers to an unknown memo entry");
            rc = push(m, m->memo[n]);
            break;
        case 'J':
        case 'K':
        case 'M': { /* BININT, BININT1, BININT2 */
            size_t k = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (need(m, k))
                return BAD(m, "truncated pickle");
            if (!(v = newv(m, CQ__PV_INT)))
                return NOMEM(m);
            v->i = op == 'J' ? (int32_t)le32(m->p) : op == 'K' ? m->p[0] : le16(m->p);
            m->p += k;
            rc = push(m, v);
            break;
        }
        case 0x8a: { /* LONG1 */
            if (need(m, 1))
                return BAD(m, "truncated pickle");
            size_t k = *m->p++;
            if (need(m, k) || k > 8)
                return BAD(m, "pickle integer too large");
            uint64_t x = 0;
            for (size_t i = 0; i < k; i++)
                x |= (uint64_t)m->p[i] << (8 * i);
            if (k && k < 8 && (m->p[k - 1] & 0x80))
                x |= ~(uint64_t)0 << (8 * k); /* sign-extend */
            m->p += k;
            if (!(v = newv(m, CQ__PV_INT)))
                return NOMEM(m);
            v->i = (int64_t)x;
            rc = push(m, v);
            break;
        }
        case 'G': { /* BINFLOAT: big-endian double */
            if (need(m, 8))
                return BAD(m, "truncated pickle");
            uint64_t x = 0;
            for (int i = 0; i < 8; i++)
                x = x << 8 | m->p[i];
            m->p += 8;
            if (!(v = newv(m, CQ__PV_FLOAT)))
                return NOMEM(m);
            memcpy(&v->f, &x, 8);
            rc = push(m, v);
            break;
        }
        case 'N': rc = push(m, newv(m, CQ__PV_NONE)); break;
        case 0x88:
        case 0x89:
            if (!(v = newv(m, CQ__PV_BOOL)))
                return NOMEM(m);
            v->i = op == 0x88;
            rc = push(m, v);
            break;
        case 'X':
        case 0x8c:
        case 'U':
        case 'T': { /* unicode / byte strings */
            size_t k = op == 'X' || op == 'T' ? 4 : 1;
            if (need(m, k))
                return BAD(m, "truncated pickle");
            size_t len = k == 4 ? le32(m->p) : m->p[0];
            m->p += k;
            if (need(m, len))
                return BAD(m, "truncated pickle string");
            if (!(v = newv(m, CQ__PV_STR)) || !(v->s = newstr(m, m->p, len)))
                return NOMEM(m);
            m->p += len;
            rc = push(m, v);
            break;
        }
        case 's': /* SETITEM */
            if (m->sp < 3 || !(b = pop(m)) || !(a = pop(m)) || m->sp == 0)
                return BAD(m, "pickle stack underflow");
            {
                cq__pv *kv[2] = {a, b};
                rc = append_items(m, m->stack[m->sp - 1], kv, 2, 1);
            }
            break;
        case 'u':
        case 'e': { /* SETITEMS, APPENDS */
            long mk = find_mark(m);
            if (mk < 1)
                return BAD(m, "pickle items without a mark");
            size_t k = m->sp - (size_t)mk - 1;
            if (op == 'u' && k % 2)
                return BAD(m, "odd number of dict items in pickle");
            rc = append_items(m, m->stack[mk - 1], m->stack + mk + 1, k, op == 'u');
            m->sp = (size_t)mk;
            break;
        }
        case 'a': /* APPEND */
            if (m->sp < 2 || !(v = pop(m)) || m->sp == 0)
                return BAD(m, "pickle stack underflow");
            rc = append_items(m, m->stack[m->sp - 1], &v, 1, 0);
            break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
            const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1)) : NULL;
            if (!nl2)
                return BAD(m, "truncated pickle global");
            if (!(v = newv(m, CQ__PV_GLOBAL)) || !(v->s = newstr(m, m->p, (size_t)(nl2 - m->p))))
                return NOMEM(m);
            ((char *)v->s)[nl1 - m->p] = ' ';
            m->p = nl2 + 1;
            rc = push(m, v);
            break;
        }
        case 'R':
        case 0x81: /* REDUCE, NEWOBJ */
            if (!(b = pop(m)) || !(a = pop(m)))
                return BAD(m, "pickle stack underflow");
            if (!(v = reduce(m, a, b)))
                return BAD(m, "pickle builds a tensor from malformed arguments");
            rc = push(m, v);
            break;
        case 'b': /* BUILD: state applied to the object; we keep the object as it is */
            if (!pop(m) || m->sp == 0)
                return BAD(m, "pickle stack underflow");
            break;
        case 'Q': { /* BINPERSID: ('storage', <Type>Storage, key, location, numel) */
            if (!(a = pop(m)))
                return BAD(m, "pickle stack underflow");
            if (a->kind != CQ__PV_TUPLE || a->n < 5 || a->items[0]->kind != CQ__PV_STR ||
                strcmp(a->items[0]->s, "storage") || a->items[1]->kind != CQ__PV_GLOBAL ||
                a->items[2]->kind != CQ__PV_STR || a->items[4]->kind != CQ__PV_INT)
                return BAD(m, "unknown persistent id in pickle");
            if (!(v = newv(m, CQ__PV_STORAGE)))
                return NOMEM(m);
            const char *t = strrchr(a->items[1]->s, ' ');
            v->dtype = t ? t + 1 : a->items[1]->s;
            v->s = a->items[2]->s;
            v->numel = a->items[4]->i;
            rc = push(m, v);
            break;
        }
        default:
            return cq__err_set(m->err, CQ_ERR_FORMAT,
                               "%s: unsupported pickle opcode 0x%02x in the checkpoint", m->z->name,
                               op);
        }
        if (rc != CQ_OK)
            return rc;
    }
    return BAD(m, "pickle without STOP; truncated?");
}

/* ---- API ----------------------------------------------------------------------------------- */

int cq__torchzip_open(const uint8_t *buf, size_t len, const char *name, cq__torchzip **out,
                      cq_err *err)
{
    *out = NULL;
    cq__torchzip *z = cq__calloc(1, sizeof(*z));
    if (!z)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name ? name : "(model)");
    z->name = name ? name : "(model)";
    int rc = read_zip(z, buf, len, err);
    const zentry *pkl = NULL;
    for (size_t i = 0; rc == CQ_OK && i < z->ne && !pkl; i++) { /* "<root>/data.pkl" */
        const char *nm = z->e[i].name, *slash = strchr(nm, '/');
        if (slash && slash != nm && !strcmp(slash, "/data.pkl"))
            pkl = &z->e[i];
    }
    if (rc == CQ_OK && !pkl)
        rc = fmt(z, err, "no data.pkl in the archive");
    if (rc == CQ_OK) {
        size_t rl = (size_t)(strchr(pkl->name, '/') - pkl->name);
        if (!(z->root = cq__malloc(rl + 1)))
            rc = cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", z->name);
        else {
            memcpy(z->root, pkl->name, rl);
            z->root[rl] = 0;
        }
    }
    if (rc == CQ_OK) {
        vm m = {.z = z, .err = err, .p = pkl->data, .end = pkl->data + pkl->size};
        m.mark.kind = CQ__PV_MARK;
        rc = run_pickle(&m);
        cq__free(m.stack);
        cq__free(m.memo);
        if (rc == CQ_OK && z->top == &m.mark)
            rc = fmt(z, err, "bad pickle");
    }
    if (rc != CQ_OK) {
        cq__torchzip_free(z);
        return rc;
    }
    *out = z;
    return CQ_OK;
}

void cq__torchzip_free(cq__torchzip *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->ne; i++)
        cq__free(z->e[i].name);
    cq__free(z->e);
    for (size_t i = 0; i < z->nalloc; i++)
        cq__free(z->allocs[i]);
    cq__free(z->allocs);
    cq__free(z->root);
    cq__free(z);
}

const cq__pv *cq__torchzip_root(const cq__torchzip *z)
{
    return z->top;
}

const cq__pv *cq__pv_get(const cq__pv *dict, const char *key)
{
    if (!dict || dict->kind != CQ__PV_DICT)
        return NULL;
    for (size_t i = 0; i < dict->n; i++) {
        const cq__pv *k = dict->items[2 * i];
        if (k->kind == CQ__PV_STR && !strcmp(k->s, key))
            return dict->items[2 * i + 1];
    }
    return NULL;
}

int cq__torchzip_tensor_f32(const cq__torchzip *z, const cq__pv *t, const int64_t *dims, int ndims,
                            float *out, const char *what, cq_err *err)
{
    if (!t || t->kind != CQ__PV_TENSOR)
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: checkpoint has no tensor '%s'", z->name, what);
    if (strcmp(t->storage->dtype, "FloatStorage"))
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: tensor '%s' is %s, not float32", z->name, what,
                           t->storage->dtype);
    int ok = (int)t->n == ndims;
    for (int i = 0; ok && i < ndims; i++)
        ok = t->shape[i] == dims[i];
    if (!ok) {
        char got[96] = "", want[96] = "";
        for (size_t i = 0; i < t->n && strlen(got) < 80; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld", i ? "x" : "",
                     (long long)t->shape[i]);
        for (int i = 0; i < ndims && strlen(want) < 80; i++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lld", i ? "x" : "",
                     (long long)dims[i]);
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: tensor '%s' has shape %s; the model needs %s",
                           z->name, what, t->n ? got : "scalar", want);
    }
    int64_t count = 1, expect = 1;
    for (int i = ndims; i-- > 0;) { /* contiguous, row-major */
        if (t->shape[i] != 1 && t->stride[i] != expect)
            return cq__err_set(err, CQ_ERR_FORMAT, "%s: tensor '%s' is not contiguous", z->name,
                               what);
        expect *= t->shape[i];
        count *= t->shape[i];
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/data/%s", z->root, t->storage->s);
    const zentry *e = entry(z, path);
    if (!e)
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: storage of tensor '%s' (%s) is missing",
                           z->name, what, path);
    if (t->i < 0 || t->i > INT64_MAX / 4 - count || (uint64_t)(t->i + count) * 4 > e->size)
        return cq__err_set(err, CQ_ERR_FORMAT,
                           "%s: tensor '%s' reaches beyond its storage (%zu bytes)", z->name, what,
                           e->size);
    const uint8_t *src = e->data + (size_t)t->i * 4;
    for (int64_t i = 0; i < count; i++) {
        uint32_t bits = le32(src + 4 * i);
        memcpy(&out[i], &bits, 4);
    }
    return CQ_OK;
}
