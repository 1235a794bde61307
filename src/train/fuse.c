/* Epilogue fusion, decided once by compile: a MATMUL or CONV node takes in the BIAS_ADD that
 * follows it and the activation after that (Dense and Conv2D with an activation), so a layer
 * becomes one pass that writes its output once, and one backward pass that reads it once
 * (src/ops/epilogue.c). The graph itself is unchanged, so summaries, saved files and layer
 * outputs see the layers as built; only the tape and the buffers change:
 *   - the nodes taken leave the tape and share the fused node's value and grad buffers;
 *   - so every node inside the chain but its last must be read by the next one alone: not a
 *     model output, not the loss's logits, not under a regularizer, not read by another op.
 * Only activations whose derivative can be read from their output are taken (the fused node
 * keeps no pre-activation copy). */
#include <stdlib.h>
#include "../core/model_impl.h"
#include "../ops/epilogue.h"
#include "train_impl.h"

/* Nodes whose value must stay as the op computed it (read from outside the tape). */
static void mark_pinned(const nnc_model *m, unsigned char *pinned) {
    for (int i = 0; i < m->n_outputs; i++) pinned[m->outputs[i]] = 1;
    if (m->fused_loss_node >= 0) pinned[m->fused_loss_node] = 1;
    for (int i = 0; i < m->n_penalties; i++) pinned[m->penalties[i].node] = 1;
}

/* The one live node reading node i, or -1 when none or several do, or i is pinned. */
static int sole_reader(const int *readers, const int *reader, const unsigned char *pinned, int i) {
    return readers[i] == 1 && !pinned[i] ? reader[i] : -1;
}

nnc_status nnc_fuse_epilogues(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        n->epi_bias = -1;
        n->epi_has_act = 0;
        n->fused_into = -1;
    }
    if (m->no_fusion) return NNC_OK;
    int *readers = calloc((size_t)m->n_nodes * 2, sizeof *readers), *reader = readers + m->n_nodes;
    unsigned char *pinned = calloc((size_t)m->n_nodes, 1);
    if (!readers || !pinned) {
        free(readers);
        free(pinned);
        return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (!n->live) continue;
        for (int k = 0; k < n->n_in; k++) {
            readers[n->in[k]]++;
            reader[n->in[k]] = i;
        }
    }
    mark_pinned(m, pinned);
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *p = &m->nodes[i];
        if (!p->live || (p->op != NNC_OP_MATMUL && p->op != NNC_OP_CONV)) continue;
        int next = sole_reader(readers, reader, pinned, i);
        if (next >= 0 && m->nodes[next].op == NNC_OP_BIAS_ADD && m->nodes[next].in[0] == i &&
            m->nodes[m->nodes[next].in[1]].op == NNC_OP_PARAM) {
            nnc_node_rec *b = &m->nodes[next];
            p->epi_bias = b->in[1];
            p->needs_grad |= b->needs_grad;
            b->fused_into = i;
            next = sole_reader(readers, reader, pinned, next);
        }
        if (next >= 0 && m->nodes[next].op == NNC_OP_ACT &&
            nnc_act_fusable(m->nodes[next].attr.act, m->nodes[next].attr.alpha)) {
            nnc_node_rec *a = &m->nodes[next];
            p->epi_has_act = 1;
            p->epi_act = a->attr.act;
            p->epi_alpha = a->attr.alpha;
            p->needs_grad |= a->needs_grad;
            a->fused_into = i;
        }
    }
    free(readers);
    free(pinned);
    return NNC_OK;
}
