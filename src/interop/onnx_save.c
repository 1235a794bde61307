/* nnc_onnx_save: a compiled model as an ONNX file (docs/FORMAT.md, "ONNX"), for inference.
 *   1. ModelProto: IR version 8, opset 17 of the default domain, producer "nnc".
 *   2. Graph inputs: one per model input, named as its Input layer, float32
 *      [batch, ...the example's shape], the batch axis symbolic ("batch"), nnc's layout.
 *   3. Nodes: each live op of nnc's graph, in creation order (a topological order), through the
 *      op table of onnx_ops.c; Transposes where ONNX wants channels first (onnx_graph.c).
 *   4. Initializers: the variables under Keras's names ("dense.kernel"); a convolution's
 *      kernel in ONNX's [F, C, kh, kw] layout; constants of layers as "<layer>/<what>".
 *   5. One graph output per model output (nnc_predict's, side by side there): named as the
 *      output layer, in nnc's layout.
 * An op without an exporter is an error naming its layer, and nothing is written; the file is
 * written atomically as every nnc save is (src/format/atomic.h). Out of scope: training
 * graphs, external data (files over 2 GiB), reading ONNX. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../format/atomic.h"
#include "interop.h"

#ifdef NNC_HAVE_ONNX
#include "onnx_graph.h"
#include "../io/text_meta.h"

/* float32 [batch, dims...] of node id, named name. */
static Onnx__ValueInfoProto *value_info(onnx_ctx *c, const char *name, int id) {
    const nnc_shape *s = &c->m->nodes[id].shape;
    Onnx__ValueInfoProto *v = onnx_alloc(c, sizeof *v);
    Onnx__TypeProto *t = onnx_alloc(c, sizeof *t);
    Onnx__TypeProto__Tensor *tt = onnx_alloc(c, sizeof *tt);
    Onnx__TensorShapeProto *sh = onnx_alloc(c, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = onnx_alloc(c, (size_t)(s->rank + 1) * sizeof *dims);
    if (!v || !t || !tt || !sh || !dims) return NULL;
    for (int i = 0; i <= s->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = onnx_alloc(c, sizeof *d);
        if (!d) return NULL;
        *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (i == 0 || (i == 1 && nnc_node_any_length(c->m, id))) { /* the batch; a None time axis */
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            if (!(d->dim_param = onnx_strdup(c, i ? "steps" : "batch"))) return NULL;
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = s->dim[i - 1];
        }
        dims[i] = d;
    }
    *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sh->dim = dims;
    sh->n_dim = (size_t)s->rank + 1;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    *t = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    if (!(v->name = onnx_strdup(c, name))) return NULL;
    v->type = t;
    return v;
}

/* The walk: every live op in creation order through its exporter. */
static int export_nodes(onnx_ctx *c) {
    const nnc_model *m = c->m;
    for (int id = 0; id < m->n_nodes && !c->failed; id++) {
        if (!c->live[id] || c->done[id]) continue;
        onnx_export_fn fn = nnc_onnx_exporter(m->nodes[id].op);
        if (!fn)
            return onnx_fail(c, id, "nnc's op '%s' has no ONNX exporter (src/interop/onnx_ops.c)",
                             nnc_op_table[m->nodes[id].op]->name);
        if (fn(c, id) && !c->failed) onnx_fail(c, id, "its export failed");
    }
    return c->failed ? -1 : 0;
}

/* An output as nnc_predict gives it, renamed after its layer: the node writing it is renamed
 * when it is the last step, else an Identity is added (an input or a weight returned as is). */
static Onnx__ValueInfoProto *export_output(onnx_ctx *c, int out) {
    int l = c->m->nodes[out].layer;
    const char *t = onnx_in(c, out, ONNX_LAST);
    if (!t) return NULL;
    char want[NNC_NAME_MAX + 16];
    snprintf(want, sizeof want, "%s", l >= 0 ? c->m->layers[l].name : "output");
    if (nnc_strmap_get(&c->names, want)) snprintf(want, sizeof want, "output");
    if (nnc_strmap_get(&c->names, want)) snprintf(want, sizeof want, "%s", t); /* keep it */
    Onnx__NodeProto *writer = NULL;
    for (size_t i = c->nodes.n; i-- > 0 && !writer;)
        if (!strcmp(((Onnx__NodeProto *)c->nodes.items[i])->output[0], t)) writer = c->nodes.items[i];
    if (writer && strcmp(t, want)) {
        char *name = onnx_strdup(c, want);
        if (!name) return NULL;
        for (size_t i = 0; i < c->nodes.n; i++) { /* no reader is expected; any is renamed too */
            Onnx__NodeProto *n = c->nodes.items[i];
            for (size_t k = 0; k < n->n_input; k++)
                if (!strcmp(n->input[k], t)) n->input[k] = name;
        }
        writer->output[0] = name;
        t = name;
    } else if (strcmp(t, want)) {
        Onnx__NodeProto *n = onnx_node(c, out, "Identity", &t, 1, "output");
        if (!n) return NULL;
        n->output[0] = onnx_strdup(c, want);
        t = n->output[0];
    }
    return t ? value_info(c, t, out) : NULL;
}

/* A model that reads text: ONNX has no operator for Keras's standardization (a regular-
 * expression replace of punctuation), so the graph starts at the token ids and the
 * TextVectorization (settings and vocabulary, as nnc's own file keeps it: FORMAT.md) goes into
 * metadata_props "nnc.text_vectorization" for whoever feeds the graph. 0, or -1 on failure. */
static int text_metadata(onnx_ctx *c, Onnx__ModelProto *mp) {
    if (!c->m->text_vec) return 0;
    nnc_strbuf sb = {0};
    nnc_text_vec_json(c->m->text_vec, &sb);
    Onnx__StringStringEntryProto *e = onnx_alloc(c, sizeof *e), **list = onnx_alloc(c, sizeof *list);
    char *value = sb.oom || !sb.buf ? NULL : onnx_strdup(c, sb.buf);
    nnc_sb_free(&sb);
    if (!e || !list || !value) return -1;
    *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    e->key = onnx_strdup(c, "nnc.text_vectorization");
    e->value = value;
    list[0] = e;
    mp->metadata_props = list;
    mp->n_metadata_props = 1;
    nnc_note(c->m, "the ONNX graph starts at the token ids: ONNX has no operator for the TextVectorization's "
             "standardization; its settings and vocabulary are in the file's metadata_props "
             "'nnc.text_vectorization'");
    return e->key ? 0 : -1;
}

/* The graph and the model around it; NULL with c->err on failure. */
static Onnx__ModelProto *build_model(onnx_ctx *c) {
    nnc_model *m = c->m;
    Onnx__GraphProto *g = onnx_alloc(c, sizeof *g);
    Onnx__ModelProto *mp = onnx_alloc(c, sizeof *mp);
    Onnx__OperatorSetIdProto *opset = onnx_alloc(c, sizeof *opset), **opsets = onnx_alloc(c, sizeof *opsets);
    Onnx__ValueInfoProto **ins = onnx_alloc(c, (size_t)(m->n_inputs ? m->n_inputs : 1) * sizeof *ins);
    const int n_out = nnc_model_n_outputs(m); /* several outputs: one graph output each, in order */
    Onnx__ValueInfoProto **outs = onnx_alloc(c, (size_t)n_out * sizeof *outs);
    if (!g || !mp || !opset || !opsets || !ins || !outs) return NULL;
    for (int i = 0; i < m->n_inputs; i++) {
        int id = m->inputs[i], l = m->nodes[id].layer;
        char *name = onnx_strdup(c, l >= 0 ? m->layers[l].name : "input");
        if (!name || nnc_strmap_put(&c->names, name, id) < 0 || !(ins[i] = value_info(c, name, id)))
            return NULL;
        onnx_set(c, id, name, ONNX_LAST);
    }
    if (export_nodes(c)) return NULL;
    for (int i = 0; i < n_out; i++)
        if (!(outs[i] = export_output(c, m->n_outputs ? m->outputs[i] : nnc_output_node(m)))) return NULL;
    if (c->failed) return NULL;
    *g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    g->name = onnx_strdup(c, nnc_model_display_name(m));
    g->node = (Onnx__NodeProto **)c->nodes.items;
    g->n_node = c->nodes.n;
    g->initializer = (Onnx__TensorProto **)c->inits.items;
    g->n_initializer = c->inits.n;
    g->input = ins;
    g->n_input = (size_t)m->n_inputs;
    g->output = outs;
    g->n_output = (size_t)n_out;
    *opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    opset->domain = onnx_strdup(c, "");
    opset->has_version = 1;
    opset->version = NNC_ONNX_OPSET;
    opsets[0] = opset;
    *mp = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    mp->has_ir_version = 1;
    mp->ir_version = NNC_ONNX_IR_VERSION;
    mp->opset_import = opsets;
    mp->n_opset_import = 1;
    mp->producer_name = onnx_strdup(c, "nnc");
    mp->producer_version = onnx_strdup(c, nnc_version());
    mp->doc_string = onnx_strdup(c, "Inference graph written by nnc: inputs and output in nnc's "
                                    "channels-last layout, variables under Keras's names.");
    mp->graph = g;
    if (text_metadata(c, mp)) return NULL;
    if (!g->name || !opset->domain || !mp->producer_name || !mp->producer_version || !mp->doc_string)
        return NULL;
    return mp;
}

/* protobuf-c's output goes straight to the temporary file, a piece at a time. */
typedef struct {
    ProtobufCBuffer base;
    nnc_atomic_file *f;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
    nnc_atomic_write(((file_buffer *)(void *)b)->f, data, len);
}

static nnc_status write_model(nnc_model *m, const char *path, const Onnx__ModelProto *mp) {
    size_t size = onnx__model_proto__get_packed_size(mp);
    if (size > (size_t)INT32_MAX)
        return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: the model takes %zu bytes, over protobuf's 2 GiB "
                        "limit (nnc does not write ONNX's external data); nothing was written", path, size);
    char err[NNC_ERR_MAX];
    nnc_atomic_file f;
    if (nnc_atomic_open(&f, path, err, sizeof err)) return nnc_fail(m, NNC_ERR_IO, "%s", err);
#ifdef NNC_FAULT_INJECTION
    /* Test builds: the write fails after this many bytes, as a full disk would. */
    const char *fault = getenv("NNC_FAIL_SAVE_AFTER");
    if (fault) f.fail_after = atoll(fault);
#endif
    file_buffer b = {{file_append}, &f};
    onnx__model_proto__pack_to_buffer(mp, &b.base);
    if (nnc_atomic_commit(&f, err, sizeof err)) return nnc_fail(m, NNC_ERR_IO, "%s", err);
    return NNC_OK;
}

nnc_status nnc_onnx_save(nnc_model *m, const char *path) {
    if (!m || !path) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "%s: the model must be compiled first", path);
    onnx_ctx c;
    nnc_status st = NNC_OK;
    Onnx__ModelProto *mp = onnx_ctx_init(&c, m) ? NULL : build_model(&c);
    if (!mp) {
        if (!c.failed) snprintf(c.err, sizeof c.err, "out of memory");
        st = nnc_fail(m, !strcmp(c.err, "out of memory") ? NNC_ERR_NOMEM : NNC_ERR_UNSUPPORTED,
                      "%s: %s; nothing was written", path, c.err);
    } else {
        st = write_model(m, path, mp);
    }
    onnx_ctx_free(&c);
    return st;
}

int nnc_onnx_has_exporter(nnc_op op) { return nnc_onnx_exporter(op) != NULL; }

#else

nnc_status nnc_onnx_save(nnc_model *m, const char *path) {
    return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: writing ONNX files is not built into this nnc "
                    "(configure with -DNNC_INTEROP=ON and protobuf-c installed)", path);
}

int nnc_onnx_has_exporter(nnc_op op) {
    (void)op;
    return -1;
}

#endif
