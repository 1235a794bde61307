/* Keras's None time axis: a model input whose first axis takes any length (Embedding on text of
 * any length, file 14 of the shared Keras models). The graph holds one length at a time; a new
 * one re-infers the shapes of every node the input reaches, through the op rows, and drops the
 * plan so the next batch is planned afresh; the parameters are not touched. Only ops that act
 * per step or pool the steps away may be reached: one whose attributes were fixed by the
 * length when it was built (Flatten's target, 'same' padding) would compute something else, so
 * the length change is refused, naming its layer, and every shape is put back. */
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "op.h"

static int length_free(const nnc_model *m, const nnc_node_rec *n) {
    switch (n->op) {
    case NNC_OP_EMBEDDING: case NNC_OP_SEQ_MASK: case NNC_OP_MATMUL: case NNC_OP_BIAS_ADD: case NNC_OP_ADD:
    case NNC_OP_SUB: case NNC_OP_MUL: case NNC_OP_ACT: case NNC_OP_SOFTMAX: case NNC_OP_AFFINE:
    case NNC_OP_NORMALIZE: case NNC_OP_GLOBAL_AVG: case NNC_OP_GLOBAL_MAX: case NNC_OP_DROPOUT:
    case NNC_OP_BATCH_NORM: case NNC_OP_ACT_EX: case NNC_OP_GAUSSIAN_NOISE: case NNC_OP_GAUSSIAN_DROPOUT:
    case NNC_OP_SPATIAL_DROPOUT: case NNC_OP_MAXIMUM: case NNC_OP_MINIMUM:
    /* the steps come from the input's shape (a learned position table refuses more steps than
     * it has rows, in its shape inference) */
    case NNC_OP_RECURRENT: case NNC_OP_RNN_STATE: case NNC_OP_MHA: case NNC_OP_POSITION:
        return 1;
    case NNC_OP_CONCAT: case NNC_OP_LAYER_NORM: case NNC_OP_SOFTMAX_AXIS:
        return n->attr.axis > 0; /* not along the steps */
    case NNC_OP_RESHAPE: /* Masking's mask as a column [T, 1] */
        return m->nodes[n->in[0]].op == NNC_OP_SEQ_MASK;
    default:
        return 0;
    }
}

/* Re-infers node id at the new length; 0, or -1 with the reason in err. */
static int reinfer(nnc_model *m, int id, int length, int was, char *err, size_t n) {
    nnc_node_rec *nd = &m->nodes[id];
    const char *layer = nd->layer >= 0 ? m->layers[nd->layer].name : "?";
    if (!length_free(m, nd)) {
        snprintf(err, n, "layer '%s' cannot run at another sequence length: its %s was fixed for %d steps when "
                 "it was built", layer, nnc_op_table[nd->op]->name, was);
        return -1;
    }
    if (nd->op == NNC_OP_RESHAPE) nd->attr.target.dim[0] = length;
    nnc_shape s = {0};
    int batched = 1;
    char why[200] = "";
    if (nnc_op_table[nd->op]->infer(m, nd->in, nd->n_in, &nd->attr, &s, &batched, why, sizeof why)) {
        snprintf(err, n, "layer '%s' cannot run at %d steps: %s", layer, length, why);
        return -1;
    }
    nd->shape = s;
    return 0;
}

nnc_status nnc_model_set_sequence_length(nnc_model *m, int length) {
    if (!m) return NNC_ERR_ARG;
    if (!m->var_length_inputs)
        return nnc_fail(m, NNC_ERR_ARG, "the model has no input of any length (a None time axis)");
    if (length < 1 || length > (1 << 24))
        return nnc_fail(m, NNC_ERR_ARG, "sequence length %d is not in [1, 2^24]", length);
    char *reached = calloc((size_t)m->n_nodes + 1, 1);
    nnc_shape *old = malloc(((size_t)m->n_nodes + 1) * sizeof *old);
    if (!reached || !old) {
        free(reached);
        free(old);
        return nnc_fail(m, NNC_ERR_NOMEM, "out of memory changing the sequence length");
    }
    for (int i = 0; i < m->n_nodes; i++) old[i] = m->nodes[i].shape;
    char err[NNC_ERR_MAX / 2] = "";
    int bad = 0, was = 0;
    for (int i = 0; i < m->n_inputs; i++)
        if (m->var_length_inputs & (1u << i)) {
            was = m->nodes[m->inputs[i]].shape.dim[0];
            reached[m->inputs[i]] = 1;
            m->nodes[m->inputs[i]].shape.dim[0] = length;
        }
    for (int id = 0; id < m->n_nodes && !bad; id++) {
        nnc_node_rec *nd = &m->nodes[id];
        for (int k = 0; k < nd->n_in && nd->op != NNC_OP_INPUT; k++) reached[id] |= reached[nd->in[k]];
        if (reached[id] && nd->op != NNC_OP_INPUT) bad = reinfer(m, id, length, was, err, sizeof err);
    }
    const int *outs = m->n_outputs ? m->outputs : &m->last, n_outs = m->n_outputs ? m->n_outputs : 1;
    for (int i = 0; i < n_outs && !bad && outs[i] >= 0; i++)
        if (!nnc_shape_eq(&old[outs[i]], &m->nodes[outs[i]].shape)) {
            snprintf(err, sizeof err, "the output of layer '%s' would change its shape with the length",
                     m->nodes[outs[i]].layer >= 0 ? m->layers[m->nodes[outs[i]].layer].name : "?");
            bad = 1;
        }
    if (bad)
        for (int i = 0; i < m->n_nodes; i++) m->nodes[i].shape = old[i];
    free(reached);
    free(old);
    if (bad) return nnc_fail(m, NNC_ERR_SHAPE, "%s", err);
    nnc_plan_free(m); /* the next batch plans buffers of the new sizes */
    return NNC_OK;
}

int nnc_model_sequence_inputs(const nnc_model *m) { return m ? (int)m->var_length_inputs : 0; }

size_t nnc_model_step_values(const nnc_model *m) {
    if (!m || m->n_inputs != 1 || !(m->var_length_inputs & 1u)) return 0;
    const nnc_shape *s = &m->nodes[m->inputs[0]].shape;
    size_t per = 1;
    for (int i = 1; i < s->rank; i++) per *= (size_t)s->dim[i];
    return per;
}

int nnc_model_input_count(const nnc_model *m) { return m ? m->n_inputs : 0; }

nnc_status nnc_model_input_info(const nnc_model *m, int i, nnc_input_info *info) {
    if (!m || !info || i < 0 || i >= m->n_inputs) return NNC_ERR_ARG;
    const nnc_node_rec *in = &m->nodes[m->inputs[i]];
    memset(info, 0, sizeof *info);
    info->name = in->layer >= 0 ? m->layers[in->layer].name : "";
    info->rank = in->shape.rank;
    for (int k = 0; k < in->shape.rank; k++) info->shape[k] = in->shape.dim[k];
    info->any_length = (m->var_length_inputs >> i) & 1u;
    info->size = nnc_shape_size(&in->shape);
    for (int e = 0; e < m->n_nodes && !info->ids_layer; e++) {
        const nnc_node_rec *nd = &m->nodes[e];
        if (nd->op != NNC_OP_EMBEDDING || nd->in[0] != m->inputs[i] || nd->layer < 0) continue;
        info->ids_layer = m->layers[nd->layer].name;
        info->input_dim = m->nodes[nd->in[1]].shape.dim[0];
    }
    return NNC_OK;
}

int nnc_node_any_length(const nnc_model *m, int id) {
    for (;;) { /* along first inputs: x of MATMUL, the ids of EMBEDDING, the steps of SEQ_MASK */
        const nnc_node_rec *n = &m->nodes[id];
        if (n->op == NNC_OP_INPUT) return (m->var_length_inputs >> n->input_index) & 1u;
        if (n->op == NNC_OP_PARAM || n->op == NNC_OP_GLOBAL_AVG || n->op == NNC_OP_GLOBAL_MAX || !n->n_in) return 0;
        if (n->op == NNC_OP_RECURRENT && !n->attr.rnn.return_sequences) return 0; /* the last step only */
        id = n->in[0];
    }
}
