/* The ONNX writer's graph builder (src/interop/onnx_graph.c) and its op table
 * (src/interop/onnx_ops.c). Built only with protobuf-c (NNC_HAVE_ONNX).
 *
 * The builder keeps, for every node of nnc's graph, the name of the ONNX tensor that holds its
 * value in nnc's own layout, channels last, and/or channels first (NCHW, NCL), the layout of
 * ONNX's Conv, MaxPool, AveragePool and BatchNormalization. An exporter asks for its inputs in
 * the layout it needs and a Transpose is inserted only when the value is not yet held in it,
 * once; elementwise ops keep whichever layout they are given, so Conv → ReLU → MaxPool → Conv
 * stays channels first throughout and only the model's input and Flatten (or the output) see a
 * Transpose. Every message, string and array lives in the builder's arena, freed at once. */
#ifndef NNC_ONNX_GRAPH_H
#define NNC_ONNX_GRAPH_H
#ifdef NNC_HAVE_ONNX
#include <stdint.h>
#include <onnx.pb-c.h>
#include "../core/model_impl.h"

#define NNC_ONNX_OPSET 17 /* the highest opset of Debian's onnx (1.12), which checks the files */
#define NNC_ONNX_IR_VERSION 8

typedef struct onnx_chunk onnx_chunk;

/* A growing array of message pointers in the arena. */
typedef struct {
    void **items;
    size_t n, cap;
} onnx_vec;

typedef enum { ONNX_LAST = 0, ONNX_FIRST = 1 } onnx_layout;

typedef struct {
    nnc_model *m;
    onnx_chunk *arena;
    int failed;                /* a message is in err (out of memory counts) */
    char err[NNC_ERR_MAX];
    onnx_vec nodes, inits;     /* Onnx__NodeProto *, Onnx__TensorProto * */
    char **held[2];            /* per nnc node: its tensor in each layout, or NULL */
    int *live;                 /* per nnc node: the output depends on it */
    int *readers;              /* per nnc node: live nodes reading it */
    int *reader;               /* per nnc node: one of them (the only one when readers is 1) */
    int *done;                 /* per nnc node: exported, or computed by another's exporter */
    nnc_strmap names;          /* every tensor name given out */
} onnx_ctx;

/* An op's exporter: adds the ONNX nodes computing nnc node `id` and records its tensor with
 * onnx_set; 0, or -1 with the reason in c->err (onnx_fail). */
typedef int (*onnx_export_fn)(onnx_ctx *c, int id);
/* The row of an op, NULL when it has none (src/interop/onnx_ops.c). */
onnx_export_fn nnc_onnx_exporter(nnc_op op);

/* ---- errors and memory -------------------------------------------------------------------- */

/* Records a message naming the node's layer (the first one recorded stays); returns -1. */
int onnx_fail(onnx_ctx *c, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *onnx_alloc(onnx_ctx *c, size_t size);
char *onnx_strdup(onnx_ctx *c, const char *s);
/* The layer of node id as "'name' (Class)", for messages. */
void onnx_layer_text(const onnx_ctx *c, int id, char *buf, size_t n);

/* ---- tensors ------------------------------------------------------------------------------ */

/* A fresh tensor name "<layer>/<what>" (a suffix _1, _2, ... when taken). */
char *onnx_name(onnx_ctx *c, int id, const char *what);
/* Node id's value in that layout, a Transpose inserted when it is held only in the other;
 * a parameter is its initializer (onnx_param). NULL on failure. */
const char *onnx_in(onnx_ctx *c, int id, onnx_layout want);
/* Node id's value in whichever layout it is held, channels last when both. */
const char *onnx_in_any(onnx_ctx *c, int id, onnx_layout *layout);
/* Records that tensor `name` holds node id's value in that layout. */
void onnx_set(onnx_ctx *c, int id, const char *name, onnx_layout layout);
/* Number of axes of node id's value with the batch axis (its example rank + 1). */
int onnx_rank(const onnx_ctx *c, int id);
/* The ONNX axis of node id's example axis `axis` (0-based, batch excluded) in that layout:
 * channels first moves the last example axis to 1 and the others one place on. */
int onnx_axis(const onnx_ctx *c, int id, int axis, onnx_layout layout);
/* Node id's value is node src's, under the same tensors (an identity: no node). */
int onnx_alias(onnx_ctx *c, int id, int src);
/* Records node n's output as node id's value in that layout; -1 when n is NULL. */
int onnx_finish(onnx_ctx *c, int id, const Onnx__NodeProto *n, onnx_layout layout);
/* The BIAS_ADD of a variable that is id's only live reader, which id's ONNX node (Gemm, Conv,
 * ConvTranspose) can take in as an input; -1 when there is none. */
int onnx_bias_after(const onnx_ctx *c, int id);

/* ---- nodes and attributes ----------------------------------------------------------------- */

/* Appends a node of op_type reading ins[0..n_in) and writing one new tensor named after
 * node id's layer and `what` (op_type when NULL); NULL on failure. */
Onnx__NodeProto *onnx_node(onnx_ctx *c, int id, const char *op_type, const char *const *ins,
                           int n_in, const char *what);
static inline const char *onnx_out(const Onnx__NodeProto *n) { return n ? n->output[0] : NULL; }
void onnx_attr_int(onnx_ctx *c, Onnx__NodeProto *n, const char *name, int64_t v);
void onnx_attr_float(onnx_ctx *c, Onnx__NodeProto *n, const char *name, float v);
void onnx_attr_ints(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const int64_t *v, int count);
void onnx_attr_string(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const char *v);
void onnx_attr_floats(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const float *v, int count);
void onnx_attr_strings(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const char *const *v, int count);

/* ---- initializers ------------------------------------------------------------------------- */

/* PARAM node id as an initializer named as Keras names the variable ("dense.kernel"), in its
 * Keras layout; with perm, transposed by perm (a kernel in ONNX's layout) under the same name.
 * Made once; NULL on failure. */
const char *onnx_param(onnx_ctx *c, int id);
const char *onnx_param_transposed(onnx_ctx *c, int id, const int *perm);
/* The same with the variable's values read as the given shape first (same size: a depthwise
 * kernel [kh, kw, C, m] as [kh, kw, 1, C·m]), then transposed by perm. */
const char *onnx_param_reshaped(onnx_ctx *c, int id, const nnc_shape *as, const int *perm);
/* A constant made for node id's layer, "<layer>/<what>": float32 values of the given dims
 * (rank 0: a scalar), or a 1-D int64 vector. NULL on failure. */
const char *onnx_const_f32(onnx_ctx *c, int id, const char *what, const float *v,
                           const int64_t *dims, int rank);
const char *onnx_const_i64(onnx_ctx *c, int id, const char *what, const int64_t *v, int n);

/* ---- the context ------------------------------------------------------------------------ */

/* Sets up the builder for a compiled model: liveness and readers from the output node. */
int onnx_ctx_init(onnx_ctx *c, nnc_model *m);
void onnx_ctx_free(onnx_ctx *c);

#endif
#endif
