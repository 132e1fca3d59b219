/*
 * litert_cpu._native - the thin CPython binding of the kernel library.
 *
 * It exposes three things: the run-time facts (isa, BLAS registration), a
 * thread pool object, and Program, a static plan of kernel steps.  Steps are
 * described from Python as (kind, slots, ints, floats); STEP_FIELDS below
 * says, per kind, which integer and float fields those tuples hold, in order
 * (the lowerings in litert_cpu/native write those tuples; segment.py hands them to Program.add).
 * Every step is validated against the slot sizes by lk_program_add, and every
 * buffer bound at run time against its slot size, before any kernel runs;
 * kernels then run with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

#include "litert_kernels.h"
#include "litert_program.h"

#define MODULE_NAME "litert_cpu._native"

/* A class of this module: its object struct and its slots (init, dealloc, methods, doc...); instances are
   made by CPython's generic tp_new, and the class is named inside the module. */
#define NATIVE_CLASS(name, object, ...)                                                                   \
    {                                                                                                     \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = MODULE_NAME "." name, .tp_basicsize = sizeof(object),   \
        .tp_flags = Py_TPFLAGS_DEFAULT, .tp_new = PyType_GenericNew, __VA_ARGS__                          \
    }

/* A module function without arguments answering yes or no: bool(fn()) (a CPU feature, a registration) */
#define FLAG_FUNCTION(name, fn)                                   \
    static PyObject *name(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(unused)) { \
        return PyBool_FromLong(fn());                                           \
    }

static PyObject *KernelError;

/* ------------------------------------------------------------------ Pool */

typedef struct {
    PyObject_HEAD
    lk_pool *pool;
} PoolObject;

static int Pool_init(PoolObject *self, PyObject *args, PyObject *kw) {
    int threads = 1;
    long spin_us = -1;
    static char *names[] = {"threads", "spin_us", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i|l", names, &threads, &spin_us)) return -1;
    if (threads < 1 || threads > 1024) {
        PyErr_SetString(PyExc_ValueError, "threads must be in [1, 1024]");
        return -1;
    }
    if (self->pool) lk_pool_destroy(self->pool);
    Py_BEGIN_ALLOW_THREADS
    self->pool = lk_pool_create(threads);
    Py_END_ALLOW_THREADS
    if (!self->pool) {
        PyErr_NoMemory();
        return -1;
    }
    if (spin_us >= 0) lk_pool_set_spin(self->pool, spin_us > 1000000L ? 1000000000L : spin_us * 1000L);
    return 0;
}

static void Pool_dealloc(PoolObject *self) {
    if (self->pool) {
        lk_pool *pool = self->pool;
        self->pool = NULL;
        Py_BEGIN_ALLOW_THREADS
        lk_pool_destroy(pool);
        Py_END_ALLOW_THREADS
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Pool_threads(PoolObject *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLong(lk_pool_threads(self->pool));
}

static PyGetSetDef Pool_getset[] = {
    {"threads", (getter)Pool_threads, NULL, "threads the pool runs tasks on (caller included)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PoolType = NATIVE_CLASS("Pool", PoolObject, .tp_init = (initproc)Pool_init,
                                            .tp_dealloc = (destructor)Pool_dealloc, .tp_getset = Pool_getset,
                                            .tp_doc = "Pool(threads): the kernel library's thread pool");

/* --------------------------------------------------------------- Program */

enum slot_kind { SLOT_UNBOUND = 0, SLOT_CONST, SLOT_ARENA, SLOT_EXTERN };

typedef struct {
    int kind;
    int64_t offset;     /* SLOT_ARENA */
    int index;          /* SLOT_EXTERN: position in run()'s externs */
    int writable;       /* SLOT_EXTERN */
    Py_buffer view;     /* SLOT_CONST: held for the program's life */
} slot_info;

typedef struct {
    PyObject_HEAD
    lk_program *program;
    int slot_count;
    int64_t *slot_bytes;
    slot_info *slots;
    int extern_count;
} ProgramObject;

static int Program_init(ProgramObject *self, PyObject *args, PyObject *kw) {
    PyObject *sizes;
    static char *names[] = {"slot_bytes", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", names, &sizes)) return -1;
    PyObject *seq = PySequence_Fast(sizes, "slot_bytes must be a sequence of ints");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > 1 << 24) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "too many slots");
        return -1;
    }
    self->slot_count = (int)n;
    self->slot_bytes = PyMem_Calloc((size_t)(n ? n : 1), sizeof(int64_t));
    self->slots = PyMem_Calloc((size_t)(n ? n : 1), sizeof(slot_info));
    if (!self->slot_bytes || !self->slots) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (v < 0) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "slot sizes must be >= 0");
            return -1;
        }
        self->slot_bytes[i] = v;
    }
    Py_DECREF(seq);
    self->program = lk_program_create(self->slot_count, self->slot_bytes);
    if (!self->program) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Program_dealloc(ProgramObject *self) {
    if (self->slots)
        for (int i = 0; i < self->slot_count; i++)
            if (self->slots[i].kind == SLOT_CONST) PyBuffer_Release(&self->slots[i].view);
    PyMem_Free(self->slots);
    PyMem_Free(self->slot_bytes);
    lk_program_destroy(self->program);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_slot(ProgramObject *self, int slot) {
    if (slot < 0 || slot >= self->slot_count) {
        PyErr_Format(PyExc_IndexError, "slot %d out of range", slot);
        return 0;
    }
    if (self->slots[slot].kind != SLOT_UNBOUND) {
        PyErr_Format(PyExc_ValueError, "slot %d is already bound", slot);
        return 0;
    }
    return 1;
}

static PyObject *Program_bind_const(ProgramObject *self, PyObject *args) {
    int slot;
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "iO", &slot, &obj) || !check_slot(self, slot)) return NULL;
    slot_info *s = &self->slots[slot];
    if (PyObject_GetBuffer(obj, &s->view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (s->view.len < self->slot_bytes[slot]) {
        PyErr_Format(PyExc_ValueError, "constant for slot %d has %zd bytes, needs %lld", slot, s->view.len,
                     (long long)self->slot_bytes[slot]);
        PyBuffer_Release(&s->view);
        return NULL;
    }
    s->kind = SLOT_CONST;
    Py_RETURN_NONE;
}

static PyObject *Program_bind_arena(ProgramObject *self, PyObject *args) {
    int slot;
    long long offset;
    if (!PyArg_ParseTuple(args, "iL", &slot, &offset) || !check_slot(self, slot)) return NULL;
    if (offset < 0 || offset % 64) {
        PyErr_SetString(PyExc_ValueError, "arena offsets must be >= 0 and 64-byte aligned");
        return NULL;
    }
    self->slots[slot].kind = SLOT_ARENA;
    self->slots[slot].offset = offset;
    Py_RETURN_NONE;
}

static PyObject *Program_bind_extern(ProgramObject *self, PyObject *args) {
    int slot, index, writable;
    if (!PyArg_ParseTuple(args, "iip", &slot, &index, &writable) || !check_slot(self, slot)) return NULL;
    if (index < 0 || index > 1 << 20) {
        PyErr_SetString(PyExc_ValueError, "bad extern index");
        return NULL;
    }
    self->slots[slot].kind = SLOT_EXTERN;
    self->slots[slot].index = index;
    self->slots[slot].writable = writable;
    if (index + 1 > self->extern_count) self->extern_count = index + 1;
    Py_RETURN_NONE;
}

/* ---- step parsing: per kind, the int and float fields in tuple order ---- */

static int read_ints(PyObject *t, long long *out, Py_ssize_t n) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != n) {
        PyErr_Format(PyExc_ValueError, "expected a tuple of %zd ints", n);
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(t, i));
        if (out[i] == -1 && PyErr_Occurred()) return 0;
        if (out[i] < INT32_MIN || out[i] > INT64_MAX / 2) {
            PyErr_SetString(PyExc_OverflowError, "step parameter out of range");
            return 0;
        }
    }
    return 1;
}

static int read_floats(PyObject *t, float *out, Py_ssize_t n) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != n) {
        PyErr_Format(PyExc_ValueError, "expected a tuple of %zd floats", n);
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = PyFloat_AsDouble(PyTuple_GET_ITEM(t, i));
        if (v == -1.0 && PyErr_Occurred()) return 0;
        out[i] = (float)v;
    }
    return 1;
}

/* an int parameter that must fit the kernel's int fields */
#define I(k) ((int)(v[k] > INT32_MAX ? -1 : v[k]))

/* A fixed-size step is described by its fields, in the order its ints and then its floats come: where each
 * goes in lk_step and what it is.  An int lands in an int field (-1 when it does not fit, which the library
 * refuses) or an int64_t one, by the field's size; a float in a float field. */
enum { FIELD_END, FIELD_INT, FIELD_FLOAT };

typedef struct {
    size_t offset, size;
    int type;
} step_field;

#define FIELD(member, type) {offsetof(lk_step, u.member), sizeof(((lk_step *)0)->u.member), type}
#define INT(member) FIELD(member, FIELD_INT)
#define FLT(member) FIELD(member, FIELD_FLOAT)
#define ACT(step) INT(step.act.kind)
#define ACT_PARAMS(step) FLT(step.act.p0), FLT(step.act.p1)
#define END {0, 0, FIELD_END}
/* lk_pool2d's ints: n c h w oh ow kh kw sh sw dh dw pad_top pad_left pad_bottom pad_right kind */
#define POOL2D(p)                                                                                          \
    INT(p.n), INT(p.c), INT(p.h), INT(p.w), INT(p.oh), INT(p.ow), INT(p.kh), INT(p.kw), INT(p.sh), INT(p.sw), \
        INT(p.dh), INT(p.dw), INT(p.pad_top), INT(p.pad_left), INT(p.pad_bottom), INT(p.pad_right), INT(p.kind)

#define MAX_STEP_INTS 32
#define MAX_STEP_FLOATS 8

static const step_field CONV_FIELDS[] = {
    INT(conv.n), INT(conv.c), INT(conv.h), INT(conv.w), INT(conv.m), INT(conv.oh), INT(conv.ow), INT(conv.kh),
    INT(conv.kw), INT(conv.sh), INT(conv.sw), INT(conv.dh), INT(conv.dw), INT(conv.pad_top), INT(conv.pad_left),
    INT(conv.groups), ACT(conv), ACT_PARAMS(conv), END};
static const step_field POOL_FIELDS[] = {POOL2D(pool), END};
static const step_field GPOOL_FIELDS[] = {INT(gpool.rows), INT(gpool.inner), INT(gpool.kind), END};
static const step_field UNARY_FIELDS[] = {ACT(unary), INT(unary.n), ACT_PARAMS(unary), END};
static const step_field AFFINE_FIELDS[] = {INT(affine.outer), INT(affine.channels), INT(affine.inner), ACT(affine),
                                           ACT_PARAMS(affine), END};
static const step_field SOFTMAX_FIELDS[] = {INT(softmax.outer), INT(softmax.axis), INT(softmax.inner),
                                            INT(softmax.log), END};
static const step_field LAYERNORM_FIELDS[] = {INT(layernorm.rows), INT(layernorm.size), FLT(layernorm.epsilon), END};
static const step_field INSTANCENORM_FIELDS[] = {INT(instancenorm.n), INT(instancenorm.c), INT(instancenorm.inner),
                                                 FLT(instancenorm.epsilon), END};
static const step_field LRN_FIELDS[] = {INT(lrn.n), INT(lrn.c), INT(lrn.inner), INT(lrn.size), FLT(lrn.alpha),
                                        FLT(lrn.beta), FLT(lrn.bias), END};
static const step_field LSTM_FIELDS[] = {INT(lstm.seq), INT(lstm.batch), INT(lstm.input), INT(lstm.hidden),
                                         INT(lstm.direction), END};
static const step_field RESIZE_FIELDS[] = {INT(resize.planes), INT(resize.h), INT(resize.w), INT(resize.oh),
                                           INT(resize.ow), INT(resize.ty), INT(resize.tx), END};
/* trans_a stays 0: the lowering transposes A itself */
static const step_field MATMUL_FIELDS[] = {
    INT(matmul.batch), INT(matmul.m), INT(matmul.n), INT(matmul.k), INT(matmul.a_bs), INT(matmul.b_bs),
    INT(matmul.trans_b), INT(matmul.bias_kind), ACT(matmul), FLT(matmul.alpha), FLT(matmul.beta), ACT_PARAMS(matmul),
    END};
static const step_field COPY_FIELDS[] = {INT(copy.rows), INT(copy.bytes), INT(copy.src_offset), INT(copy.src_stride),
                                         INT(copy.dst_offset), INT(copy.dst_stride), END};
/* int8 steps (litert_qkernels.h) */
static const step_field QCONV_FIELDS[] = {
    INT(qconv.n), INT(qconv.c), INT(qconv.h), INT(qconv.w), INT(qconv.m), INT(qconv.oh), INT(qconv.ow),
    INT(qconv.kh), INT(qconv.kw), INT(qconv.sh), INT(qconv.sw), INT(qconv.dh), INT(qconv.dw), INT(qconv.pad_top),
    INT(qconv.pad_left), INT(qconv.groups), INT(qconv.x_zero), INT(qconv.x_signed), INT(qconv.y_zero),
    INT(qconv.y_lo), INT(qconv.y_hi), INT(qconv.layout), END};
static const step_field QCONVERT_FIELDS[] = {INT(qconvert.count), INT(qconvert.zero), INT(qconvert.lo),
                                             INT(qconvert.hi), INT(qconvert.x_signed), FLT(qconvert.scale), END};
static const step_field QADD_FIELDS[] = {
    INT(qadd.count), INT(qadd.a_zero), INT(qadd.b_zero), INT(qadd.a_signed), INT(qadd.b_signed), INT(qadd.y_zero),
    INT(qadd.y_lo), INT(qadd.y_hi), ACT(qadd), FLT(qadd.a_scale), FLT(qadd.b_scale), FLT(qadd.y_scale),
    ACT_PARAMS(qadd), END};
static const step_field QMAXPOOL_FIELDS[] = {POOL2D(qpool.pool), INT(qpool.layout), END};

static const step_field *const STEP_FIELDS[LK_STEP_KIND_COUNT] = {
    [LK_STEP_CONV2D] = CONV_FIELDS, [LK_STEP_DWCONV2D] = CONV_FIELDS, [LK_STEP_CONV2D_PACKED] = CONV_FIELDS,
    [LK_STEP_CONVTRANSPOSE2D] = CONV_FIELDS, [LK_STEP_CONV2D_WINOGRAD] = CONV_FIELDS,
    [LK_STEP_CONV2D_WINOGRAD4] = CONV_FIELDS, [LK_STEP_CONV2D_PACKED_BF16] = CONV_FIELDS,
    [LK_STEP_CONV2D_WINOGRAD_BF16] = CONV_FIELDS,
    [LK_STEP_POOL2D] = POOL_FIELDS, [LK_STEP_GLOBAL_POOL] = GPOOL_FIELDS, [LK_STEP_UNARY] = UNARY_FIELDS,
    [LK_STEP_AFFINE] = AFFINE_FIELDS, [LK_STEP_SOFTMAX] = SOFTMAX_FIELDS, [LK_STEP_LAYERNORM] = LAYERNORM_FIELDS,
    [LK_STEP_INSTANCENORM] = INSTANCENORM_FIELDS, [LK_STEP_LRN] = LRN_FIELDS, [LK_STEP_LSTM] = LSTM_FIELDS,
    [LK_STEP_RESIZE2D] = RESIZE_FIELDS, [LK_STEP_COPY] = COPY_FIELDS,
    [LK_STEP_MATMUL] = MATMUL_FIELDS, [LK_STEP_MATMUL_PACKED] = MATMUL_FIELDS,
    [LK_STEP_MATMUL_PACKED_BF16] = MATMUL_FIELDS, [LK_STEP_MATMUL_BF16] = MATMUL_FIELDS,
    [LK_STEP_QCONV2D] = QCONV_FIELDS, [LK_STEP_QDWCONV2D] = QCONV_FIELDS, [LK_STEP_QDWCONV2D_NHWC] = QCONV_FIELDS,
    [LK_STEP_QUANTIZE] = QCONVERT_FIELDS, [LK_STEP_DEQUANTIZE] = QCONVERT_FIELDS, [LK_STEP_QADD] = QADD_FIELDS,
    [LK_STEP_QMAXPOOL] = QMAXPOOL_FIELDS, [LK_STEP_CONV2D_PACKED_PREACT] = CONV_FIELDS,
    [LK_STEP_CONV2D_PACKED_PREACT_BF16] = CONV_FIELDS,
};

/* Fill `fields` of a step from its int and float tuples (each of exactly the fields' length) */
static int parse_fields(lk_step *s, const step_field *fields, PyObject *ints, PyObject *floats) {
    long long v[MAX_STEP_INTS];
    float f[MAX_STEP_FLOATS];
    Py_ssize_t ni = 0, nf = 0;
    for (const step_field *p = fields; p->type != FIELD_END; p++) p->type == FIELD_INT ? ni++ : nf++;
    if (ni > MAX_STEP_INTS || nf > MAX_STEP_FLOATS) {
        PyErr_SetString(PyExc_SystemError, "a step's field table outgrew MAX_STEP_INTS/MAX_STEP_FLOATS");
        return 0;
    }
    if (!read_ints(ints, v, ni) || !read_floats(floats, f, nf)) return 0;
    ni = nf = 0;
    for (const step_field *p = fields; p->type != FIELD_END; p++) {
        char *at = (char *)s + p->offset;
        if (p->type == FIELD_FLOAT && p->size == sizeof(float)) {
            memcpy(at, &f[nf++], sizeof(float));
        } else if (p->type == FIELD_INT && p->size == sizeof(int64_t)) {
            int64_t x = v[ni++];
            memcpy(at, &x, sizeof x);
        } else if (p->type == FIELD_INT && p->size == sizeof(int)) {
            int x = I(ni);
            ni++;
            memcpy(at, &x, sizeof x);
        } else {
            PyErr_SetString(PyExc_SystemError, "a step field of a size the parser does not store");
            return 0;
        }
    }
    return 1;
}

/* The steps whose int tuple has a rank-dependent length parse themselves */
static int parse_binary(lk_step *s, PyObject *ints, PyObject *floats) {
    /* op, act, rank, then rank x (shape, a_stride, b_stride) */
    long long head[3];
    float f[2];
    if (!PyTuple_Check(ints) || PyTuple_GET_SIZE(ints) < 3) {
        PyErr_SetString(PyExc_ValueError, "binary: expected (op, act, rank, dims...)");
        return 0;
    }
    PyObject *h = PyTuple_GetSlice(ints, 0, 3);
    int ok = h && read_ints(h, head, 3);
    Py_XDECREF(h);
    if (!ok || !read_floats(floats, f, 2)) return 0;
    if (head[2] < 1 || head[2] > LK_MAX_DIMS) {
        PyErr_SetString(PyExc_ValueError, "binary: rank out of range");
        return 0;
    }
    int rank = (int)head[2];
    long long v[3 + 3 * LK_MAX_DIMS];
    if (!read_ints(ints, v, 3 + 3 * rank)) return 0;
    s->u.binary.op = I(0), s->u.binary.act.kind = I(1), s->u.binary.bc.rank = rank;
    s->u.binary.act.p0 = f[0], s->u.binary.act.p1 = f[1];
    for (int d = 0; d < rank; d++) {
        s->u.binary.bc.shape[d] = v[3 + 3 * d];
        s->u.binary.bc.a_strides[d] = v[4 + 3 * d];
        s->u.binary.bc.b_strides[d] = v[5 + 3 * d];
    }
    return 1;
}

static int parse_transpose(lk_step *s, PyObject *ints, PyObject *floats) {
    /* elem, rank, shape..., perm... */
    if (!PyTuple_Check(ints) || PyTuple_GET_SIZE(ints) < 2 || !read_floats(floats, NULL, 0)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "transpose: expected (elem, rank, shape, perm)");
        return 0;
    }
    long long rank = PyLong_AsLongLong(PyTuple_GET_ITEM(ints, 1));
    if (rank < 1 || rank > LK_MAX_DIMS) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "transpose: rank out of range");
        return 0;
    }
    long long v[2 + 2 * LK_MAX_DIMS];
    if (!read_ints(ints, v, 2 + 2 * rank)) return 0;
    s->u.transpose.elem = v[0];
    s->u.transpose.rank = (int)rank;
    for (int d = 0; d < rank; d++) {
        s->u.transpose.shape[d] = v[2 + d];
        s->u.transpose.perm[d] = I(2 + rank + d);
    }
    return 1;
}

static int (*const VARIABLE_STEP_PARSERS[LK_STEP_KIND_COUNT])(lk_step *, PyObject *, PyObject *) = {
    [LK_STEP_BINARY] = parse_binary,
    [LK_STEP_TRANSPOSE] = parse_transpose,
};

/* Fill step `s` of its kind from the (ints, floats) tuples: 0 with the error set when they do not fit */
static int parse_step(lk_step *s, PyObject *ints, PyObject *floats) {
    if (VARIABLE_STEP_PARSERS[s->kind]) return VARIABLE_STEP_PARSERS[s->kind](s, ints, floats);
    if (STEP_FIELDS[s->kind]) return parse_fields(s, STEP_FIELDS[s->kind], ints, floats);
    PyErr_Format(PyExc_ValueError, "step kind %d has no parameter layout", s->kind);
    return 0;
}

static PyObject *Program_add(ProgramObject *self, PyObject *args) {
    int kind;
    PyObject *slots, *ints, *floats;
    if (!PyArg_ParseTuple(args, "iO!O!O!", &kind, &PyTuple_Type, &slots, &PyTuple_Type, &ints, &PyTuple_Type, &floats))
        return NULL;
    if (kind < 0 || kind >= LK_STEP_KIND_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown step kind %d", kind);
        return NULL;
    }
    lk_step step;
    memset(&step, 0, sizeof step);
    step.kind = kind;
    Py_ssize_t n = PyTuple_GET_SIZE(slots);
    if (n > LK_STEP_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "too many slots for a step");
        return NULL;
    }
    for (int i = 0; i < LK_STEP_SLOTS; i++) {
        long v = -1;
        if (i < n) {
            v = PyLong_AsLong(PyTuple_GET_ITEM(slots, i));
            if (v == -1 && PyErr_Occurred()) return NULL;
        }
        if (v < -1 || v >= self->slot_count) {
            PyErr_Format(PyExc_IndexError, "slot %ld out of range", v);
            return NULL;
        }
        step.slots[i] = (int)v;
    }
    if (!parse_step(&step, ints, floats)) return NULL;
    int status = lk_program_add(self->program, &step);
    if (status != LK_OK) {
        PyErr_Format(PyExc_ValueError, "step of kind %d refused by the kernel library (shape or size check, code %d)",
                     kind, status);
        return NULL;
    }
    return PyLong_FromLong(lk_program_steps(self->program) - 1);
}

static PyObject *Program_run(ProgramObject *self, PyObject *args) {
    PyObject *pool_obj, *arena_obj, *externs;
    int first = 0, last = -1;
    if (!PyArg_ParseTuple(args, "OOO|ii", &pool_obj, &arena_obj, &externs, &first, &last)) return NULL;
    lk_pool *pool = NULL;
    if (pool_obj != Py_None) {
        if (!PyObject_TypeCheck(pool_obj, &PoolType)) {
            PyErr_SetString(PyExc_TypeError, "pool must be a Pool or None");
            return NULL;
        }
        pool = ((PoolObject *)pool_obj)->pool;
    }
    int steps = lk_program_steps(self->program);
    if (last < 0) last = steps;
    if (first < 0 || first > last || last > steps) {
        PyErr_SetString(PyExc_IndexError, "step range out of bounds");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(externs, "externs must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t ne = PySequence_Fast_GET_SIZE(seq);
    if (ne < self->extern_count) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "program needs %d extern buffers, got %zd", self->extern_count, ne);
        return NULL;
    }
    Py_buffer arena = {0};
    int have_arena = 0;
    if (arena_obj != Py_None) {
        if (PyObject_GetBuffer(arena_obj, &arena, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            Py_DECREF(seq);
            return NULL;
        }
        have_arena = 1;
    }
    Py_buffer *views = PyMem_Calloc((size_t)(ne ? ne : 1), sizeof(Py_buffer));
    char *held = PyMem_Calloc((size_t)(ne ? ne : 1), 1);
    void **ptrs = PyMem_Calloc((size_t)(self->slot_count ? self->slot_count : 1), sizeof(void *));
    PyObject *result = NULL;
    if (!views || !held || !ptrs) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0; i < self->slot_count; i++) {
        slot_info *s = &self->slots[i];
        int64_t need = self->slot_bytes[i];
        switch (s->kind) {
        case SLOT_CONST:
            ptrs[i] = s->view.buf;
            break;
        case SLOT_ARENA:
            if (!have_arena || s->offset + need > (int64_t)arena.len) {
                PyErr_Format(PyExc_ValueError, "slot %d lies outside the arena (%zd bytes)", i,
                             have_arena ? arena.len : (Py_ssize_t)0);
                goto done;
            }
            ptrs[i] = (char *)arena.buf + s->offset;
            break;
        case SLOT_EXTERN: {
            Py_buffer *v = &views[s->index];
            if (!held[s->index]) {
                PyObject *obj = PySequence_Fast_GET_ITEM(seq, s->index);
                int flags = PyBUF_C_CONTIGUOUS | (s->writable ? PyBUF_WRITABLE : 0);
                if (PyObject_GetBuffer(obj, v, flags) < 0) goto done;
                held[s->index] = 1 + (s->writable ? 1 : 0);
            } else if (s->writable && held[s->index] == 1) {
                PyErr_Format(PyExc_ValueError, "extern %d is bound read-only and writable", s->index);
                goto done;
            }
            if ((int64_t)v->len < need) {
                PyErr_Format(PyExc_ValueError, "extern %d has %zd bytes, slot %d needs %lld", s->index, v->len, i,
                             (long long)need);
                goto done;
            }
            ptrs[i] = v->buf;
            break;
        }
        default:
            ptrs[i] = NULL;  /* unbound: a step reading it is refused by lk_program_run */
        }
    }
    {
        int failed = -1, status;
        Py_BEGIN_ALLOW_THREADS
        status = lk_program_run(self->program, ptrs, first, last, pool, &failed);
        Py_END_ALLOW_THREADS
        if (status != LK_OK) {
            PyObject *err = Py_BuildValue("(si)", status == LK_E_NOMEM ? "out of memory" : "invalid arguments", failed);
            if (err) {
                PyErr_SetObject(KernelError, err);
                Py_DECREF(err);
            }
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    if (views)
        for (Py_ssize_t i = 0; i < ne; i++)
            if (held && held[i]) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(held);
    PyMem_Free(ptrs);
    if (have_arena) PyBuffer_Release(&arena);
    Py_DECREF(seq);
    return result;
}

static PyObject *Program_len(ProgramObject *self, PyObject *Py_UNUSED(unused)) {
    return PyLong_FromLong(lk_program_steps(self->program));
}

static PyMethodDef Program_methods[] = {
    {"bind_const", (PyCFunction)Program_bind_const, METH_VARARGS, "bind_const(slot, buffer): a constant, held"},
    {"bind_arena", (PyCFunction)Program_bind_arena, METH_VARARGS, "bind_arena(slot, offset): at arena + offset"},
    {"bind_extern", (PyCFunction)Program_bind_extern, METH_VARARGS,
     "bind_extern(slot, index, writable): run()'s externs[index]"},
    {"add", (PyCFunction)Program_add, METH_VARARGS, "add(kind, slots, ints, floats) -> step index"},
    {"run", (PyCFunction)Program_run, METH_VARARGS,
     "run(pool, arena, externs, first=0, last=-1): run steps [first, last) without the GIL"},
    {"steps", (PyCFunction)Program_len, METH_NOARGS, "number of steps"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType =
    NATIVE_CLASS("Program", ProgramObject, .tp_init = (initproc)Program_init,
                 .tp_dealloc = (destructor)Program_dealloc, .tp_methods = Program_methods,
                 .tp_doc = "Program(slot_bytes): a static plan of kernel steps over sized slots");

/* ---------------------------------------------------------------- module */

static PyObject *mod_isa(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(unused)) {
    return PyUnicode_FromString(lk_isa_name(lk_cpu_isa()));
}

static PyObject *mod_set_blas_sgemm(PyObject *Py_UNUSED(m), PyObject *arg) {
    if (arg == Py_None) {
        lk_set_blas_sgemm(NULL);
        Py_RETURN_NONE;
    }
    void *address = PyLong_AsVoidPtr(arg);
    if (!address && PyErr_Occurred()) return NULL;
    lk_set_blas_sgemm((lk_cblas_sgemm_fn)address);
    Py_RETURN_NONE;
}

FLAG_FUNCTION(mod_has_blas, lk_has_blas)
FLAG_FUNCTION(mod_conv_packed_available, lk_conv_packed_available)
FLAG_FUNCTION(mod_bf16_available, lk_bf16_available)
FLAG_FUNCTION(mod_bf16_amx, lk_bf16_amx)

/* The packers write into a caller-owned buffer (the plugin allocates it 64-byte aligned), checked to hold
   exactly the packed layout's size: the packed weights are never copied again. */
static int packed_output(PyObject *out, size_t floats, Py_buffer *view) {
    if (PyObject_GetBuffer(out, view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) return -1;
    if (view->len != (Py_ssize_t)(floats * sizeof(float))) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "packed weights need an output of %zu bytes", floats * sizeof(float));
        return -1;
    }
    return 0;
}

static int float_weights(PyObject *obj, Py_ssize_t values, Py_buffer *view) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (!view->format || strcmp(view->format, "f") != 0 || view->len != values * (Py_ssize_t)sizeof(float)) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "weights must be a contiguous float32 buffer of %zd values", values);
        return -1;
    }
    return 0;
}

/* The geometry of a weight as the packing entry points parse it; each layout reads its own fields
   (conv: rows, k, groups, taps = kh * kw; Winograd: rows, k = channels, groups, unit, kernel; GEMM B: k, n, trans_b). */
typedef struct {
    int rows, k, n, groups, trans_b, unit, kernel, taps, bf16;
} weight_geometry;

/* A packed weight layout in one precision: float32 values, or bf16 pairs (4 bytes each as well) */
typedef struct {
    size_t (*units)(const weight_geometry *g);                        /* 4-byte units; 0: geometry refused */
    Py_ssize_t (*values)(const weight_geometry *g);                   /* the float32 weights it packs */
    int (*pack)(const weight_geometry *g, const float *w, void *out); /* LK_OK, or LK_E_NOMEM */
} packed_layout;

static Py_ssize_t conv_values(const weight_geometry *g) { return (Py_ssize_t)g->rows * g->k; }
static size_t conv_floats(const weight_geometry *g) { return lk_conv_packed_floats(g->rows, g->k, g->groups); }
static size_t conv_pairs(const weight_geometry *g) {
    return lk_conv_packed_bf16_pairs(g->rows, g->k, g->taps, g->groups);
}
static int conv_pack_f32(const weight_geometry *g, const float *w, void *out) {
    return lk_conv_pack_weights(w, g->rows, g->k, g->groups, out), LK_OK;
}
static int conv_pack_bf16(const weight_geometry *g, const float *w, void *out) {
    return lk_conv_pack_weights_bf16(w, g->rows, g->k, g->taps, g->groups, out), LK_OK;
}

/* F(unit x unit, kernel x kernel); bf16 only for F(2x2, 3x3) ungrouped; 0 units for a variant the library
 * does not have */
static Py_ssize_t winograd_values(const weight_geometry *g) {
    return (Py_ssize_t)g->rows * (g->k / g->groups) * g->kernel * g->kernel;
}
static size_t winograd_floats(const weight_geometry *g) {
    return lk_winograd_packed_floats(g->unit, g->kernel, g->rows, g->k, g->groups);
}
static size_t winograd_pairs(const weight_geometry *g) {
    return g->unit == 2 && g->kernel == 3 && g->groups == 1 ? lk_winograd_packed_bf16_pairs(g->rows, g->k) : 0;
}
static int winograd_pack_f32(const weight_geometry *g, const float *w, void *out) {
    return lk_winograd_pack_weights(g->unit, g->kernel, w, g->rows, g->k, g->groups, out), LK_OK;
}
static int winograd_pack_bf16(const weight_geometry *g, const float *w, void *out) {
    return lk_winograd_pack_weights_bf16(w, g->rows, g->k, out);
}

static Py_ssize_t gemm_values(const weight_geometry *g) { return (Py_ssize_t)g->k * g->n; }
static size_t gemm_floats(const weight_geometry *g) { return lk_gemm_packed_b_floats(g->k, g->n); }
static size_t gemm_pairs(const weight_geometry *g) { return lk_gemm_packed_b_bf16_pairs(g->k, g->n); }
static int gemm_pack_f32(const weight_geometry *g, const float *w, void *out) {
    return lk_gemm_pack_b(w, g->k, g->n, g->trans_b, out), LK_OK;
}
static int gemm_pack_bf16(const weight_geometry *g, const float *w, void *out) {
    return lk_gemm_pack_b_bf16(w, g->k, g->n, g->trans_b, out), LK_OK;
}

/* The layouts by the name Python gives them and their precision: one table, so a new layout is a row each */
static const struct {
    const char *name;
    int bf16;
    packed_layout layout;
} LAYOUTS[] = {
    {"conv", 0, {conv_floats, conv_values, conv_pack_f32}},
    {"conv", 1, {conv_pairs, conv_values, conv_pack_bf16}},
    {"winograd", 0, {winograd_floats, winograd_values, winograd_pack_f32}},
    {"winograd", 1, {winograd_pairs, winograd_values, winograd_pack_bf16}},
    {"gemm_b", 0, {gemm_floats, gemm_values, gemm_pack_f32}},
    {"gemm_b", 1, {gemm_pairs, gemm_values, gemm_pack_bf16}},
};

/* The layout called `name` and its geometry from the keywords (unit=2, kernel=3, groups=1, taps=1 by default; the
   rest 0), or NULL with the error set (an unknown layout or keyword, a geometry the layout refuses). */
static const packed_layout *parse_geometry(const char *name, PyObject *kwargs, weight_geometry *g) {
    static char *keywords[] = {"rows", "k", "n", "groups", "trans_b", "unit", "kernel", "taps", "bf16", NULL};
    *g = (weight_geometry){.groups = 1, .unit = 2, .kernel = 3, .taps = 1};
    PyObject *none = PyTuple_New(0);
    if (!none) return NULL;
    int parsed = PyArg_ParseTupleAndKeywords(none, kwargs, "|$iiiipiiip", keywords, &g->rows, &g->k, &g->n,
                                             &g->groups, &g->trans_b, &g->unit, &g->kernel, &g->taps, &g->bf16);
    Py_DECREF(none);
    if (!parsed) return NULL;
    for (size_t i = 0; i < sizeof(LAYOUTS) / sizeof(LAYOUTS[0]); i++) {
        if (strcmp(LAYOUTS[i].name, name) != 0 || LAYOUTS[i].bf16 != g->bf16) continue;
        if (LAYOUTS[i].layout.units(g) != 0) return &LAYOUTS[i].layout;
        PyErr_SetString(PyExc_ValueError, "bad weight geometry");
        return NULL;
    }
    PyErr_Format(PyExc_ValueError, "no packed weight layout %s", name);
    return NULL;
}

static PyObject *mod_packed_bytes(PyObject *Py_UNUSED(m), PyObject *args, PyObject *kwargs) {
    const char *name;
    weight_geometry g;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    const packed_layout *layout = parse_geometry(name, kwargs, &g);
    return layout ? PyLong_FromSize_t(layout->units(&g) * sizeof(float)) : NULL;
}

/* Packs the float32 weights `w` into `out` (both checked against the layout's sizes); None, or NULL with the
   error set */
static PyObject *mod_pack_weights(PyObject *Py_UNUSED(m), PyObject *args, PyObject *kwargs) {
    const char *name;
    PyObject *w, *out;
    weight_geometry g;
    if (!PyArg_ParseTuple(args, "sOO", &name, &w, &out)) return NULL;
    const packed_layout *layout = parse_geometry(name, kwargs, &g);
    if (!layout) return NULL;
    Py_buffer view, dest;
    if (float_weights(w, layout->values(&g), &view) < 0) return NULL;
    if (packed_output(out, layout->units(&g), &dest) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int status = layout->pack(&g, view.buf, dest.buf);
    PyBuffer_Release(&dest);
    PyBuffer_Release(&view);
    if (status != LK_OK) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"packed_bytes", (PyCFunction)(void (*)(void))mod_packed_bytes, METH_VARARGS | METH_KEYWORDS,
     "packed_bytes(layout, *, rows=0, k=0, n=0, groups=1, trans_b=False, unit=2, kernel=3, taps=1, bf16=False) -> int: "
     "size of a packed weight layout ('conv': rows, k, groups; 'winograd': rows, k = channels, groups, unit, "
     "kernel; 'gemm_b': k, n)"},
    {"pack_weights", (PyCFunction)(void (*)(void))mod_pack_weights, METH_VARARGS | METH_KEYWORDS,
     "pack_weights(layout, w, out, **geometry): float32 weights w packed into out, which holds exactly "
     "packed_bytes(layout, **geometry) bytes; 'gemm_b' packs B [k, n], or [n, k] when trans_b"},
    {"conv_packed_available", mod_conv_packed_available, METH_NOARGS, "whether this CPU runs the packed conv"},
    {"bf16_available", mod_bf16_available, METH_NOARGS, "whether this CPU runs the bf16 steps (AVX512_BF16)"},
    {"bf16_amx", mod_bf16_amx, METH_NOARGS,
     "whether the bf16 convolutions and constant-B products run on AMX tiles (LITERT_CPU_AMX=0 declines)"},
    {"isa", mod_isa, METH_NOARGS, "instruction set the hot loops use on this CPU"},
    {"set_blas_sgemm", mod_set_blas_sgemm, METH_O, "register a cblas_sgemm address (int) or None"},
    {"has_blas", mod_has_blas, METH_NOARGS, "whether an external BLAS is registered"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, MODULE_NAME, "litert's compiled CPU kernels", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

/* The C enums, exported so that Python never restates their values. */
static const struct { const char *name; int value; } CONSTANTS[] = {
    {"STEP_CONV2D", LK_STEP_CONV2D}, {"STEP_DWCONV2D", LK_STEP_DWCONV2D}, {"STEP_POOL2D", LK_STEP_POOL2D},
    {"STEP_GLOBAL_POOL", LK_STEP_GLOBAL_POOL}, {"STEP_BINARY", LK_STEP_BINARY}, {"STEP_UNARY", LK_STEP_UNARY},
    {"STEP_AFFINE", LK_STEP_AFFINE}, {"STEP_SOFTMAX", LK_STEP_SOFTMAX}, {"STEP_LAYERNORM", LK_STEP_LAYERNORM},
    {"STEP_INSTANCENORM", LK_STEP_INSTANCENORM}, {"STEP_MATMUL", LK_STEP_MATMUL},
    {"STEP_TRANSPOSE", LK_STEP_TRANSPOSE}, {"STEP_COPY", LK_STEP_COPY},
    {"STEP_CONV2D_PACKED", LK_STEP_CONV2D_PACKED}, {"STEP_LRN", LK_STEP_LRN},
    {"STEP_LSTM", LK_STEP_LSTM}, {"STEP_RESIZE2D", LK_STEP_RESIZE2D},
    {"STEP_CONVTRANSPOSE2D", LK_STEP_CONVTRANSPOSE2D}, {"STEP_CONV2D_WINOGRAD", LK_STEP_CONV2D_WINOGRAD},
    {"STEP_CONV2D_WINOGRAD4", LK_STEP_CONV2D_WINOGRAD4}, {"STEP_CONV2D_PACKED_PREACT", LK_STEP_CONV2D_PACKED_PREACT},
    {"STEP_CONV2D_PACKED_PREACT_BF16", LK_STEP_CONV2D_PACKED_PREACT_BF16},
    {"STEP_MATMUL_PACKED", LK_STEP_MATMUL_PACKED},
    {"STEP_QCONV2D", LK_STEP_QCONV2D}, {"STEP_QDWCONV2D", LK_STEP_QDWCONV2D}, {"STEP_QUANTIZE", LK_STEP_QUANTIZE},
    {"STEP_DEQUANTIZE", LK_STEP_DEQUANTIZE},
    {"STEP_CONV2D_PACKED_BF16", LK_STEP_CONV2D_PACKED_BF16}, {"STEP_MATMUL_PACKED_BF16", LK_STEP_MATMUL_PACKED_BF16},
    {"STEP_CONV2D_WINOGRAD_BF16", LK_STEP_CONV2D_WINOGRAD_BF16}, {"STEP_MATMUL_BF16", LK_STEP_MATMUL_BF16},
    {"STEP_QDWCONV2D_NHWC", LK_STEP_QDWCONV2D_NHWC}, {"STEP_QADD", LK_STEP_QADD},
    {"STEP_QMAXPOOL", LK_STEP_QMAXPOOL},
    {"ACT_NONE", LK_ACT_NONE}, {"ACT_RELU", LK_ACT_RELU}, {"ACT_CLIP", LK_ACT_CLIP},
    {"ACT_SIGMOID", LK_ACT_SIGMOID}, {"ACT_TANH", LK_ACT_TANH}, {"ACT_LEAKY_RELU", LK_ACT_LEAKY_RELU},
    {"ACT_HARD_SIGMOID", LK_ACT_HARD_SIGMOID}, {"ACT_HARD_SWISH", LK_ACT_HARD_SWISH}, {"ACT_GELU", LK_ACT_GELU},
    {"ACT_GELU_TANH", LK_ACT_GELU_TANH}, {"ACT_SILU", LK_ACT_SILU}, {"ACT_ERF", LK_ACT_ERF},
    {"ACT_EXP", LK_ACT_EXP}, {"ACT_NEG", LK_ACT_NEG}, {"ACT_ABS", LK_ACT_ABS}, {"ACT_SQRT", LK_ACT_SQRT},
    {"ACT_RECIPROCAL", LK_ACT_RECIPROCAL}, {"ACT_ELU", LK_ACT_ELU}, {"ACT_SOFTPLUS", LK_ACT_SOFTPLUS},
    {"BIN_ADD", LK_ADD}, {"BIN_SUB", LK_SUB}, {"BIN_MUL", LK_MUL}, {"BIN_DIV", LK_DIV}, {"BIN_MAX", LK_MAX},
    {"BIN_MIN", LK_MIN}, {"BIN_POW", LK_POW},
    {"POOL_MAX", LK_POOL_MAX}, {"POOL_AVG", LK_POOL_AVG}, {"POOL_AVG_INCLUDE_PAD", LK_POOL_AVG_INCLUDE_PAD},
    {"MAX_DIMS", LK_MAX_DIMS},
    {"Q_X_NHWC", LK_Q_X_NHWC}, {"Q_Y_NHWC", LK_Q_Y_NHWC},
};

static int add_quantised_kernels(PyObject *m); /* the int8 block at the end of this file */

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&PoolType) < 0 || PyType_Ready(&ProgramType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    KernelError = PyErr_NewException(MODULE_NAME ".KernelError", PyExc_RuntimeError, NULL);
    if (!KernelError || PyModule_AddObjectRef(m, "KernelError", KernelError) < 0 ||
        PyModule_AddObjectRef(m, "Pool", (PyObject *)&PoolType) < 0 ||
        PyModule_AddObjectRef(m, "Program", (PyObject *)&ProgramType) < 0 ||
        PyModule_AddIntConstant(m, "API_VERSION", LK_API_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "PREACT_BF16_CHANNELS", lk_conv_preact_bf16_channels()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    for (size_t i = 0; i < sizeof CONSTANTS / sizeof CONSTANTS[0]; i++)
        if (PyModule_AddIntConstant(m, CONSTANTS[i].name, CONSTANTS[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    if (add_quantised_kernels(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* ---------------------------------------------------------------- int8 kernels (litert_qkernels.h)
 * qgemm_u8s8(a, b, c, m, n, k, a_zero, b_zero, portable): c (int32, m x n, writable buffer) =
 * (a - a_zero) x (b - b_zero); a uint8 m x k, b int8 k x n, b_zero None or n int32 values, all C-contiguous
 * buffers.  portable=True forces the C loop (to test the VNNI path against it). */
#include "litert_qkernels.h"

static int q_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t bytes, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0) return -1;
    if (view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s has %zd bytes, expected %zd", what, view->len, bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *mod_qgemm_u8s8(PyObject *Py_UNUSED(mod), PyObject *args) {
    PyObject *a_obj, *b_obj, *c_obj, *zero_obj;
    int m, n, k, a_zero, portable;
    if (!PyArg_ParseTuple(args, "OOOiiiiOp", &a_obj, &b_obj, &c_obj, &m, &n, &k, &a_zero, &zero_obj, &portable))
        return NULL;
    if (m < 0 || n < 0 || k < 0) return PyErr_Format(PyExc_ValueError, "qgemm_u8s8: negative size");
    Py_buffer a, b, c, z = {0};
    if (q_buffer(a_obj, &a, 0, (Py_ssize_t)m * k, "qgemm_u8s8: a") < 0) return NULL;
    if (q_buffer(b_obj, &b, 0, (Py_ssize_t)k * n, "qgemm_u8s8: b") < 0) goto release_a;
    if (q_buffer(c_obj, &c, 1, (Py_ssize_t)m * n * 4, "qgemm_u8s8: c") < 0) goto release_b;
    if (zero_obj != Py_None && q_buffer(zero_obj, &z, 0, (Py_ssize_t)n * 4, "qgemm_u8s8: b_zero") < 0) goto release_c;
    int status = 0;
    Py_BEGIN_ALLOW_THREADS
    if (portable)
        lk_qgemm_u8s8_portable(m, n, k, a.buf, a_zero, b.buf, zero_obj != Py_None ? z.buf : NULL, c.buf);
    else
        status = lk_qgemm_u8s8(m, n, k, a.buf, a_zero, b.buf, zero_obj != Py_None ? z.buf : NULL, c.buf);
    Py_END_ALLOW_THREADS
    if (zero_obj != Py_None) PyBuffer_Release(&z);
    PyBuffer_Release(&c);
    PyBuffer_Release(&b);
    PyBuffer_Release(&a);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
release_c:
    PyBuffer_Release(&c);
release_b:
    PyBuffer_Release(&b);
release_a:
    PyBuffer_Release(&a);
    return NULL;
}

FLAG_FUNCTION(mod_qgemm_vnni_available, lk_qgemm_vnni_available)
FLAG_FUNCTION(mod_int8_amx, lk_int8_amx)

/* Whether the int8 conv weights' geometry (m, c, kh, kw) is positive and at most 2^40 values; if not, a
   ValueError naming the entry point `what` is set. */
static int qconv_geometry_ok(int m, int c, int kh, int kw, const char *what) {
    if (m >= 1 && c >= 1 && kh >= 1 && kw >= 1 && (long long)m * c * kh * kw <= (1LL << 40)) return 1;
    PyErr_Format(PyExc_ValueError, "%s: sizes out of range", what);
    return 0;
}

static PyObject *mod_qconv_packed_bytes(PyObject *Py_UNUSED(mod), PyObject *args) {
    int m, c, kh, kw;
    if (!PyArg_ParseTuple(args, "iiii", &m, &c, &kh, &kw) || !qconv_geometry_ok(m, c, kh, kw, "qconv_packed_bytes"))
        return NULL;
    return PyLong_FromSize_t(lk_qconv_packed_bytes(m, c, kh, kw));
}

static PyObject *mod_pack_qconv_weights(PyObject *Py_UNUSED(mod), PyObject *args) {
    PyObject *w_obj, *out_obj;
    int m, c, kh, kw;
    if (!PyArg_ParseTuple(args, "OiiiiO", &w_obj, &m, &c, &kh, &kw, &out_obj) ||
        !qconv_geometry_ok(m, c, kh, kw, "pack_qconv_weights"))
        return NULL;
    Py_buffer w, out;
    if (q_buffer(w_obj, &w, 0, (Py_ssize_t)m * c * kh * kw, "pack_qconv_weights: w") < 0) return NULL;
    if (q_buffer(out_obj, &out, 1, (Py_ssize_t)lk_qconv_packed_bytes(m, c, kh, kw), "pack_qconv_weights: out") < 0) {
        PyBuffer_Release(&w);
        return NULL;
    }
    lk_qconv_pack_weights(w.buf, m, c, kh, kw, out.buf);
    PyBuffer_Release(&out);
    PyBuffer_Release(&w);
    Py_RETURN_NONE;
}

static PyObject *mod_qconv_force_portable(PyObject *Py_UNUSED(mod), PyObject *arg) {
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
    lk_qconv_force_portable(on);
    Py_RETURN_NONE;
}

static PyMethodDef QUANTISED_METHODS[] = {
    {"qgemm_u8s8", mod_qgemm_u8s8, METH_VARARGS,
     "qgemm_u8s8(a, b, c, m, n, k, a_zero, b_zero, portable): int32 c = (a - a_zero) x (b - b_zero)"},
    {"qgemm_vnni_available", mod_qgemm_vnni_available, METH_NOARGS, "whether this CPU runs the VNNI int8 GEMM"},
    {"int8_amx", mod_int8_amx, METH_NOARGS,
     "whether int8 convolutions (stride 1, channels in 64s, channels-last output) run on AMX tiles"},
    {"qconv_packed_bytes", mod_qconv_packed_bytes, METH_VARARGS,
     "qconv_packed_bytes(m, c, kh, kw) -> int: size of the int8 conv's packed weights"},
    {"pack_qconv_weights", mod_pack_qconv_weights, METH_VARARGS,
     "pack_qconv_weights(w, m, c, kh, kw, out): int8 [m][c][kh][kw] weights into the int8 conv's layout, in out"},
    {"qconv_force_portable", mod_qconv_force_portable, METH_O,
     "qconv_force_portable(on): test hook, run the int8 conv's portable C path even where VNNI exists"},
    {NULL, NULL, 0, NULL},
};

static int add_quantised_kernels(PyObject *m) { return PyModule_AddFunctions(m, QUANTISED_METHODS); }
