/* The ONNX writer's graph builder (onnx_graph.h): an arena for protobuf-c's messages, tensor
 * names, the two layouts of each value with the Transposes between them, nodes, attributes
 * and initializers. What each op becomes is in onnx_ops.c; the file as a whole in
 * onnx_save.c. */
#ifdef NNC_HAVE_ONNX
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../layers/layers.h"
#include "onnx_graph.h"

/* ---- the arena ---------------------------------------------------------------------------- */

struct onnx_chunk {
    onnx_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define CHUNK_BYTES ((size_t)1 << 16)

void *onnx_alloc(onnx_ctx *c, size_t size) {
    const size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    onnx_chunk *k = c->arena;
    if (!k || k->cap - k->used < size) {
        size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
        onnx_chunk *fresh = malloc(sizeof *fresh + cap);
        if (!fresh) {
            if (!c->failed) snprintf(c->err, sizeof c->err, "out of memory");
            c->failed = 1;
            return NULL;
        }
        fresh->used = 0;
        fresh->cap = cap;
        /* a large block goes behind the current one, which keeps filling */
        if (k && size > CHUNK_BYTES) {
            fresh->next = k->next;
            k->next = fresh;
        } else {
            fresh->next = k;
            c->arena = fresh;
        }
        k = fresh;
    }
    void *p = (char *)k->data + k->used;
    k->used += size;
    memset(p, 0, size);
    return p;
}

char *onnx_strdup(onnx_ctx *c, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = onnx_alloc(c, n);
    if (p) memcpy(p, s, n);
    return p;
}

static int vec_push(onnx_ctx *c, onnx_vec *v, void *item) {
    if (!item) return -1;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        void **items = onnx_alloc(c, cap * sizeof *items);
        if (!items) return -1;
        if (v->n) memcpy(items, v->items, v->n * sizeof *items);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = item;
    return 0;
}

/* ---- errors ------------------------------------------------------------------------------- */

void onnx_layer_text(const onnx_ctx *c, int id, char *buf, size_t n) {
    int l = id >= 0 ? c->m->nodes[id].layer : -1;
    if (l < 0) snprintf(buf, n, "node %d", id);
    else snprintf(buf, n, "layer '%s' (%s)", c->m->layers[l].name, nnc_layer_class(&c->m->layers[l]));
}

int onnx_fail(onnx_ctx *c, int id, const char *fmt, ...) {
    if (c->failed) return -1;
    onnx_layer_text(c, id, c->err, sizeof c->err - 64);
    size_t len = strlen(c->err);
    len += (size_t)snprintf(c->err + len, sizeof c->err - len, ": ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + len, sizeof c->err - len, fmt, ap);
    va_end(ap);
    c->failed = 1;
    return -1;
}

/* ---- names and layouts -------------------------------------------------------------------- */

char *onnx_name(onnx_ctx *c, int id, const char *what) {
    int l = id >= 0 ? c->m->nodes[id].layer : -1;
    char base[3 * NNC_NAME_MAX], name[3 * NNC_NAME_MAX + 16];
    if (l >= 0) snprintf(base, sizeof base, "%s/%s", c->m->layers[l].name, what);
    else snprintf(base, sizeof base, "node%d/%s", id, what);
    snprintf(name, sizeof name, "%s", base);
    for (int k = 1; nnc_strmap_get(&c->names, name); k++) snprintf(name, sizeof name, "%s_%d", base, k);
    if (nnc_strmap_put(&c->names, name, id) < 0) {
        onnx_fail(c, id, "out of memory");
        return NULL;
    }
    return onnx_strdup(c, name);
}

int onnx_rank(const onnx_ctx *c, int id) { return c->m->nodes[id].shape.rank + 1; }

int onnx_axis(const onnx_ctx *c, int id, int axis, onnx_layout layout) {
    const int r = c->m->nodes[id].shape.rank;
    if (layout == ONNX_LAST || r < 2) return axis + 1;
    return axis == r - 1 ? 1 : axis + 2;
}

void onnx_set(onnx_ctx *c, int id, const char *name, onnx_layout layout) {
    /* Up to two axes (batch, features) both layouts are the same tensor. */
    if (onnx_rank(c, id) <= 2) c->held[ONNX_LAST][id] = c->held[ONNX_FIRST][id] = (char *)name;
    else c->held[layout][id] = (char *)name;
    c->done[id] = 1;
}

/* perm taking channels last to channels first ([0, r−1, 1, ..., r−2]) or back. */
static void layout_perm(int rank, onnx_layout to, int64_t *perm) {
    perm[0] = 0;
    for (int i = 1; i < rank; i++)
        perm[i] = to == ONNX_FIRST ? (i == 1 ? rank - 1 : i - 1) : (i == rank - 1 ? 1 : i + 1);
}

const char *onnx_in(onnx_ctx *c, int id, onnx_layout want) {
    if (c->m->nodes[id].op == NNC_OP_PARAM) return onnx_param(c, id);
    if (c->held[want][id]) return c->held[want][id];
    const char *other = c->held[!want][id];
    if (!other) {
        onnx_fail(c, id, "its value was used before it was exported");
        return NULL;
    }
    int64_t perm[NNC_MAX_RANK + 1];
    layout_perm(onnx_rank(c, id), want, perm);
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &other, 1,
                                   want == ONNX_FIRST ? "to_channels_first" : "to_channels_last");
    onnx_attr_ints(c, t, "perm", perm, onnx_rank(c, id));
    if (!t) return NULL;
    c->held[want][id] = t->output[0];
    return t->output[0];
}

const char *onnx_in_any(onnx_ctx *c, int id, onnx_layout *layout) {
    *layout = c->held[ONNX_LAST][id] || c->m->nodes[id].op == NNC_OP_PARAM ? ONNX_LAST : ONNX_FIRST;
    return onnx_in(c, id, *layout);
}

int onnx_alias(onnx_ctx *c, int id, int src) {
    onnx_layout l;
    if (!onnx_in_any(c, src, &l)) return -1;
    c->held[ONNX_LAST][id] = c->held[ONNX_LAST][src];
    c->held[ONNX_FIRST][id] = c->held[ONNX_FIRST][src];
    c->done[id] = 1;
    return 0;
}

int onnx_finish(onnx_ctx *c, int id, const Onnx__NodeProto *n, onnx_layout layout) {
    if (!n) return -1;
    onnx_set(c, id, n->output[0], layout);
    return 0;
}

int onnx_bias_after(const onnx_ctx *c, int id) {
    const nnc_node_rec *nodes = c->m->nodes;
    int b = c->readers[id] == 1 ? c->reader[id] : -1;
    if (b < 0 || nodes[b].op != NNC_OP_BIAS_ADD || nodes[b].in[0] != id) return -1;
    return nodes[nodes[b].in[1]].op == NNC_OP_PARAM ? b : -1;
}

/* ---- nodes and attributes ----------------------------------------------------------------- */

Onnx__NodeProto *onnx_node(onnx_ctx *c, int id, const char *op_type, const char *const *ins,
                           int n_in, const char *what) {
    for (int i = 0; i < n_in; i++)
        if (!ins[i]) return NULL; /* an input that failed: the message is recorded */
    Onnx__NodeProto *n = onnx_alloc(c, sizeof *n);
    char **in = onnx_alloc(c, (size_t)(n_in ? n_in : 1) * sizeof *in);
    char **out = onnx_alloc(c, sizeof *out);
    if (!n || !in || !out) return NULL;
    *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    for (int i = 0; i < n_in; i++) in[i] = (char *)ins[i]; /* arena strings, never written */
    n->input = in;
    n->n_input = (size_t)n_in;
    if (!(out[0] = onnx_name(c, id, what ? what : op_type))) return NULL;
    n->output = out;
    n->n_output = 1;
    n->name = out[0];
    n->op_type = onnx_strdup(c, op_type);
    if (!n->op_type || vec_push(c, &c->nodes, n)) return NULL;
    return n;
}

static Onnx__AttributeProto *attr(onnx_ctx *c, Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType type) {
    if (!n) return NULL;
    Onnx__AttributeProto *a = onnx_alloc(c, sizeof *a);
    Onnx__AttributeProto **all = onnx_alloc(c, (n->n_attribute + 1) * sizeof *all);
    if (!a || !all) return NULL;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    if (!(a->name = onnx_strdup(c, name))) return NULL;
    a->has_type = 1;
    a->type = type;
    if (n->n_attribute) memcpy(all, n->attribute, n->n_attribute * sizeof *all);
    all[n->n_attribute++] = a;
    n->attribute = all;
    return a;
}

void onnx_attr_int(onnx_ctx *c, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
}

void onnx_attr_float(onnx_ctx *c, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
}

void onnx_attr_ints(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const int64_t *v, int count) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = a ? onnx_alloc(c, (size_t)count * sizeof *copy) : NULL;
    if (!copy) return;
    memcpy(copy, v, (size_t)count * sizeof *copy);
    a->ints = copy;
    a->n_ints = (size_t)count;
}

void onnx_attr_string(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *copy = a ? onnx_strdup(c, v) : NULL;
    if (!copy) return;
    a->has_s = 1;
    a->s.data = (uint8_t *)copy;
    a->s.len = strlen(copy);
}

void onnx_attr_floats(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const float *v, int count) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    float *copy = a ? onnx_alloc(c, (size_t)count * sizeof *copy) : NULL;
    if (!copy) return;
    memcpy(copy, v, (size_t)count * sizeof *copy);
    a->floats = copy;
    a->n_floats = (size_t)count;
}

void onnx_attr_strings(onnx_ctx *c, Onnx__NodeProto *n, const char *name, const char *const *v, int count) {
    Onnx__AttributeProto *a = attr(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    ProtobufCBinaryData *copy = a ? onnx_alloc(c, (size_t)count * sizeof *copy) : NULL;
    for (int i = 0; copy && i < count; i++) {
        char *s = onnx_strdup(c, v[i]);
        if (!s) return;
        copy[i].data = (uint8_t *)s;
        copy[i].len = strlen(s);
    }
    if (!copy) return;
    a->strings = copy;
    a->n_strings = (size_t)count;
}

/* ---- initializers ------------------------------------------------------------------------- */

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* An initializer of float32 values (raw_data is little-endian whatever the host). */
static const char *add_f32(onnx_ctx *c, char *name, const float *v, size_t count,
                           const int64_t *dims, int rank) {
    Onnx__TensorProto *t = onnx_alloc(c, sizeof *t);
    int64_t *d = onnx_alloc(c, (size_t)(rank ? rank : 1) * sizeof *d);
    if (!t || !d || !name) return NULL;
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = name;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (rank) memcpy(d, dims, (size_t)rank * sizeof *d);
    t->dims = d;
    t->n_dims = (size_t)rank;
    t->has_raw_data = 1;
    t->raw_data.len = count * sizeof(float);
    if (host_is_little_endian()) {
        t->raw_data.data = (uint8_t *)(void *)v; /* the model's own weights, read only */
    } else {
        uint8_t *le = onnx_alloc(c, t->raw_data.len ? t->raw_data.len : 1);
        if (!le) return NULL;
        for (size_t i = 0; i < t->raw_data.len; i += 4)
            for (int b = 0; b < 4; b++) le[i + (size_t)b] = ((const uint8_t *)v)[i + 3 - (size_t)b];
        t->raw_data.data = le;
    }
    return vec_push(c, &c->inits, t) ? NULL : name;
}

const char *onnx_param(onnx_ctx *c, int id) {
    if (c->held[ONNX_LAST][id]) return c->held[ONNX_LAST][id];
    const nnc_param_rec *p = &c->m->params[c->m->nodes[id].param];
    int64_t dims[NNC_MAX_RANK];
    for (int i = 0; i < p->shape.rank; i++) dims[i] = p->shape.dim[i];
    /* a variable read in two layouts (shared weights) keeps the Keras name for the first */
    char *name = nnc_strmap_get(&c->names, p->name) ? onnx_name(c, id, p->var) : onnx_strdup(c, p->name);
    if (name && !nnc_strmap_get(&c->names, name) && nnc_strmap_put(&c->names, name, id) < 0) name = NULL;
    const char *t = add_f32(c, name, c->m->param_arena + p->offset, p->size, dims, p->shape.rank);
    if (!t) return onnx_fail(c, id, "out of memory"), NULL;
    c->held[ONNX_LAST][id] = (char *)t;
    return t;
}

const char *onnx_param_transposed(onnx_ctx *c, int id, const int *perm) {
    return onnx_param_reshaped(c, id, &c->m->params[c->m->nodes[id].param].shape, perm);
}

const char *onnx_param_reshaped(onnx_ctx *c, int id, const nnc_shape *as, const int *perm) {
    if (c->held[ONNX_FIRST][id]) return c->held[ONNX_FIRST][id];
    const nnc_param_rec *p = &c->m->params[c->m->nodes[id].param];
    const int r = as->rank;
    if (nnc_shape_size(as) != p->size) return onnx_fail(c, id, "a variable read in a shape of another size"), NULL;
    float *out = onnx_alloc(c, (p->size ? p->size : 1) * sizeof *out);
    if (!out) return NULL;
    const float *in = c->m->param_arena + p->offset;
    /* out[j] = in[i] where out's axis a is in's axis perm[a] */
    size_t stride[NNC_MAX_RANK], idx[NNC_MAX_RANK] = {0}, s = 1;
    int64_t dims[NNC_MAX_RANK];
    for (int a = r - 1; a >= 0; a--) {
        stride[a] = s;
        s *= (size_t)as->dim[a];
    }
    for (int a = 0; a < r; a++) dims[a] = as->dim[perm[a]];
    for (size_t j = 0; j < p->size; j++) {
        size_t i = 0;
        for (int a = 0; a < r; a++) i += idx[a] * stride[perm[a]];
        out[j] = in[i];
        for (int a = r - 1; a >= 0 && ++idx[a] == (size_t)dims[a]; a--) idx[a] = 0;
    }
    char *name = nnc_strmap_get(&c->names, p->name) ? onnx_name(c, id, p->var) : onnx_strdup(c, p->name);
    if (name && !nnc_strmap_get(&c->names, name) && nnc_strmap_put(&c->names, name, id) < 0) name = NULL;
    const char *t = add_f32(c, name, out, p->size, dims, r);
    if (!t) return onnx_fail(c, id, "out of memory"), NULL;
    c->held[ONNX_FIRST][id] = (char *)t;
    return t;
}

const char *onnx_const_f32(onnx_ctx *c, int id, const char *what, const float *v,
                           const int64_t *dims, int rank) {
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
    float *copy = onnx_alloc(c, count * sizeof *copy);
    if (!copy) return NULL;
    memcpy(copy, v, count * sizeof *copy);
    return add_f32(c, onnx_name(c, id, what), copy, count, dims, rank);
}

const char *onnx_const_i64(onnx_ctx *c, int id, const char *what, const int64_t *v, int n) {
    Onnx__TensorProto *t = onnx_alloc(c, sizeof *t);
    int64_t *d = onnx_alloc(c, sizeof *d), *copy = onnx_alloc(c, (size_t)(n ? n : 1) * sizeof *copy);
    char *name = onnx_name(c, id, what);
    if (!t || !d || !copy || !name) return NULL;
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = name;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    d[0] = n;
    t->dims = d;
    t->n_dims = 1;
    memcpy(copy, v, (size_t)n * sizeof *copy);
    t->int64_data = copy; /* protobuf-c writes packed varints: no byte order to mind */
    t->n_int64_data = (size_t)n;
    return vec_push(c, &c->inits, t) ? NULL : name;
}

/* ---- the context -------------------------------------------------------------------------- */

int onnx_ctx_init(onnx_ctx *c, nnc_model *m) {
    memset(c, 0, sizeof *c);
    c->m = m;
    size_t n = (size_t)(m->n_nodes ? m->n_nodes : 1);
    c->held[0] = calloc(n, sizeof(char *));
    c->held[1] = calloc(n, sizeof(char *));
    c->live = calloc(n, sizeof(int));
    c->readers = calloc(n, sizeof(int));
    c->reader = calloc(n, sizeof(int));
    c->done = calloc(n, sizeof(int));
    if (!c->held[0] || !c->held[1] || !c->live || !c->readers || !c->reader || !c->done) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return c->failed = 1, -1;
    }
    int out = nnc_output_node(m);
    if (out < 0) {
        snprintf(c->err, sizeof c->err, "the model has no output");
        return c->failed = 1, -1;
    }
    /* nodes read only earlier nodes: one sweep back from the outputs finds what they need */
    c->live[out] = 1;
    for (int i = 0; i < m->n_outputs; i++) {
        c->live[m->outputs[i]] = 1;
        out = m->outputs[i] > out ? m->outputs[i] : out;
    }
    for (int id = out; id >= 0; id--) {
        if (!c->live[id]) continue;
        for (int i = 0; i < m->nodes[id].n_in; i++) {
            c->live[m->nodes[id].in[i]] = 1;
            c->readers[m->nodes[id].in[i]]++;
            c->reader[m->nodes[id].in[i]] = id;
        }
    }
    return 0;
}

void onnx_ctx_free(onnx_ctx *c) {
    for (onnx_chunk *k = c->arena, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    free(c->held[0]);
    free(c->held[1]);
    free(c->live);
    free(c->readers);
    free(c->reader);
    free(c->done);
    nnc_strmap_free(&c->names);
    memset(c, 0, sizeof *c);
}
#else
typedef int nnc_onnx_graph_not_built; /* ISO C wants a declaration in every file */
#endif
