/* The graph: the growable arrays of nodes, layers and parameters that builder calls append
 * to, layer names, and what the graph tells about the model (inputs, outputs, Sequential). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "layers_impl.h"

/* Grows an array of `size`-byte elements to hold at least need elements. */
static int grow(void **p, int *cap, int need, size_t size) {
    if (need <= *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * size);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

int nnc_graph_node(nnc_model *m, nnc_op op, const int *in, int n_in, const nnc_shape *shape,
                   int batched) {
    if (grow((void **)&m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *m->nodes)) {
        m->sticky = nnc_fail(m, NNC_ERR_NOMEM, "out of memory building the graph");
        return -1;
    }
    nnc_node_rec *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    n->shape = *shape;
    n->batched = batched;
    n->layer = m->n_layers - 1;
    n->param = -1;
    n->input_index = -1;
    n->epi_bias = -1;
    n->fused_into = -1;
    n->pool_conv = -1;
    n->infer_conv = n->infer_pool = -1;
    n->grad_overwrite = -1;
    n->mask = -1;
    n->qlayer = -1;
    return m->n_nodes++;
}

int nnc_graph_op(nnc_model *m, nnc_op op, const int *in, int n_in, nnc_op_attr attr) {
    char err[256] = "";
    nnc_shape s = {0};
    int batched = 1;
    if (nnc_op_table[op]->infer(m, in, n_in, &attr, &s, &batched, err, sizeof err)) {
        const char *ln = m->n_layers ? m->layers[m->n_layers - 1].name : "?";
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s", ln, err);
        return -1;
    }
    int id = nnc_graph_node(m, op, in, n_in, &s, batched);
    if (id >= 0) m->nodes[id].attr = attr;
    return id;
}

int nnc_graph_resolve(nnc_model *m, nnc_node x, const char *who) {
    if (x == NNC_PREV) x = m->last;
    if (x < 0 || x >= m->n_nodes || !m->nodes[x].batched) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG,
                             x == NNC_NONE && m->n_nodes == 0
                                 ? "%s: the model has no input yet (call nnc_input first)"
                                 : "%s: input is not a tensor of this model",
                             who);
        return -1;
    }
    return x;
}

static int valid_name(const char *s) {
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

int nnc_find_layer(const nnc_model *m, const char *name) {
    const int *i = nnc_strmap_get(&m->layer_names, name);
    return i ? *i : -1;
}

int nnc_find_param(const nnc_model *m, const char *name) {
    const int *i = nnc_strmap_get(&m->param_names, name);
    return i ? *i : -1;
}

int nnc_layer_begin(nnc_model *m, const struct nnc_layer_desc *desc, const char *stem,
                    const char *name) {
    if (m->sticky) return -1;
    if (m->compiled) {
        m->sticky = nnc_fail(m, NNC_ERR_STATE, "cannot add a layer to a compiled model");
        return -1;
    }
    if (m->n_layers >= NNC_MAX_LAYERS) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "a model holds at most %d layers", NNC_MAX_LAYERS);
        return -1;
    }
    char buf[NNC_NAME_MAX];
    if (name) {
        if (strlen(name) >= NNC_NAME_MAX || !valid_name(name) || !strcmp(name, "optimizer")) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG,
                                 "layer name '%.80s' is not valid (letters, digits and '_', "
                                 "not starting with a digit, at most %d characters, not "
                                 "'optimizer')", name, NNC_NAME_MAX - 1);
            return -1;
        }
        if (nnc_find_layer(m, name) >= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "layer name '%s' is used twice", name);
            return -1;
        }
        snprintf(buf, sizeof buf, "%s", name);
    } else {
        /* Keras: "dense", "dense_1", ... counting layers of the class, skipping taken names.
         * Every name below the stem's counter is taken, so the search starts there. */
        int *next = nnc_strmap_get(&m->stem_counts, stem), k = next ? *next : 0;
        for (;; k++) {
            if (k == 0) snprintf(buf, sizeof buf, "%s", stem);
            else snprintf(buf, sizeof buf, "%s_%d", stem, k);
            if (nnc_find_layer(m, buf) < 0) break;
        }
        if (nnc_strmap_put(&m->stem_counts, stem, k + 1)) {
            m->sticky = nnc_fail(m, NNC_ERR_NOMEM, "out of memory adding a layer");
            return -1;
        }
    }
    if (grow((void **)&m->layers, &m->cap_layers, m->n_layers + 1, sizeof *m->layers) ||
        nnc_strmap_put(&m->layer_names, buf, m->n_layers)) {
        m->sticky = nnc_fail(m, NNC_ERR_NOMEM, "out of memory adding a layer");
        return -1;
    }
    nnc_layer_rec *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->desc = desc;
    snprintf(l->name, sizeof l->name, "%s", buf);
    l->output = -1;
    l->mask = -1;
    l->first_param = m->n_params;
    return m->n_layers++;
}

void nnc_layer_end(nnc_model *m, int layer, int output) {
    nnc_layer_rec *l = &m->layers[layer];
    l->output = output;
    if (l->mask >= 0 && m->nodes[output].mask < 0) m->nodes[output].mask = l->mask;
    l->n_params = m->n_params - l->first_param;
    m->last = output;
}

int nnc_layer_param(nnc_model *m, int layer, const char *var, const nnc_shape *shape,
                    nnc_initializer init, int fan_in, int fan_out, int trainable) {
    if (grow((void **)&m->params, &m->cap_params, m->n_params + 1, sizeof *m->params)) {
        m->sticky = nnc_fail(m, NNC_ERR_NOMEM, "out of memory adding a parameter");
        return -1;
    }
    int node = nnc_graph_node(m, NNC_OP_PARAM, NULL, 0, shape, 0);
    if (node < 0) return -1;
    nnc_param_rec *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", m->layers[layer].name, var);
    if (nnc_strmap_put(&m->param_names, p->name, m->n_params)) {
        m->sticky = nnc_fail(m, NNC_ERR_NOMEM, "out of memory adding a parameter");
        return -1;
    }
    snprintf(p->var, sizeof p->var, "%s", var);
    p->shape = *shape;
    p->size = nnc_shape_size(shape);
    p->node = node;
    p->layer = layer;
    p->init = init;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->state = !trainable;
    p->trainable = trainable && !m->layers[layer].frozen;
    m->nodes[node].param = m->n_params++;
    return node;
}

size_t nnc_input_size(const nnc_model *m) {
    size_t s = 0;
    for (int i = 0; m && i < m->n_inputs; i++) s += nnc_shape_size(&m->nodes[m->inputs[i]].shape);
    return s;
}

int nnc_output_node(const nnc_model *m) { return m->n_outputs ? m->outputs[0] : m->last; }

int nnc_model_n_outputs(const nnc_model *m) { return !m ? 0 : m->n_outputs ? m->n_outputs : m->last >= 0; }

/* Output i's node, -1 when there is none. */
static int output_node_at(const nnc_model *m, int i) {
    if (!m || i < 0 || i >= nnc_model_n_outputs(m)) return -1;
    return m->n_outputs ? m->outputs[i] : m->last;
}

size_t nnc_output_size_at(const nnc_model *m, int i) {
    int out = output_node_at(m, i);
    return out >= 0 ? nnc_shape_size(&m->nodes[out].shape) : 0;
}

const char *nnc_model_output_name_at(const nnc_model *m, int i) {
    int out = output_node_at(m, i);
    return out >= 0 && m->nodes[out].layer >= 0 ? m->layers[m->nodes[out].layer].name : "";
}

void nnc_model_output_list(const nnc_model *m, char *buf, size_t n) {
    size_t len = 0;
    if (!buf || !n) return;
    buf[0] = '\0';
    for (int i = 0; i < nnc_model_n_outputs(m) && len + 1 < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", nnc_model_output_name_at(m, i));
        if (w < 0) return;
        len += (size_t)w;
    }
}

size_t nnc_output_size(const nnc_model *m) {
    size_t s = 0;
    for (int i = 0; i < nnc_model_n_outputs(m); i++) s += nnc_output_size_at(m, i);
    return s;
}

size_t nnc_param_count(const nnc_model *m) { return m ? m->n_param_floats : 0; }

int nnc_model_is_sequential(const nnc_model *m) {
    if (m->n_inputs != 1) return 0;
    int prev = -1;
    for (int i = 0; i < m->n_layers; i++) {
        const nnc_layer_rec *l = &m->layers[i];
        if (l->n_inputs == 0) { /* an Input */
            if (i != 0) return 0;
        } else if (l->n_inputs != 1 || l->inputs[0] != prev) {
            return 0;
        }
        if (l->n_more) return 0; /* several output tensors: a Functional model in Keras */
        prev = l->output;
    }
    return m->n_outputs == 0 || (m->n_outputs == 1 && m->outputs[0] == prev);
}

int nnc_layer_tensor(const nnc_model *m, int l, int k) {
    if (l < 0 || l >= m->n_layers || k < 0 || k > m->layers[l].n_more) return -1;
    return k ? m->layers[l].more[k - 1] : m->layers[l].output;
}

int nnc_node_tensor_index(const nnc_model *m, int node) {
    const int l = node >= 0 && node < m->n_nodes ? m->nodes[node].layer : -1;
    for (int k = 0; l >= 0 && k <= m->layers[l].n_more; k++)
        if (nnc_layer_tensor(m, l, k) == node) return k;
    return -1;
}

const char *nnc_model_display_name(const nnc_model *m) {
    return m->name[0] ? m->name : nnc_model_is_sequential(m) ? "sequential" : "functional";
}

const char *nnc_model_output_name(const nnc_model *m) {
    int out = m ? nnc_output_node(m) : -1;
    return out >= 0 && m->nodes[out].layer >= 0 ? m->layers[m->nodes[out].layer].name : "";
}
