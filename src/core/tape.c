/* The tape: which nodes run, in which order, and which are fused into another's pass. Nodes
 * only refer to earlier nodes, so one backward sweep marks everything an output depends on,
 * and creation order is already a topological order for the tape. */
#include <stdlib.h>
#include "model_impl.h"

/* needs_grad: a trainable parameter lies upstream (creation order is topological). */
static void mark_needs_grad(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        n->needs_grad = n->op == NNC_OP_PARAM && m->params[n->param].trainable;
        for (int k = 0; k < n->n_in; k++) n->needs_grad |= m->nodes[n->in[k]].needs_grad;
    }
}

void nnc_tape_mark(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        n->live = 0;
        n->pinned = 0;
        n->skip_backward = 0;
    }
    for (int i = 0; i < m->n_outputs; i++) {
        m->nodes[m->outputs[i]].live = 1;
        m->nodes[m->outputs[i]].pinned = 1;
    }
    for (int i = m->n_nodes - 1; i >= 0; i--)
        if (m->nodes[i].live)
            for (int k = 0; k < m->nodes[i].n_in; k++) m->nodes[m->nodes[i].in[k]].live = 1;
    mark_needs_grad(m);
}

nnc_status nnc_tape_build(nnc_model *m) {
    nnc_plan_free(m);
    nnc_status st = nnc_fuse_epilogues(m);
    if (st) return st;
    free(m->tape);
    m->tape = malloc((size_t)m->n_nodes * sizeof *m->tape + 1);
    if (!m->tape) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    m->n_tape = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (n->live && n->op != NNC_OP_INPUT && n->op != NNC_OP_PARAM && n->fused_into < 0)
            m->tape[m->n_tape++] = i;
    }
    return nnc_plan_grad_writers(m);
}

#ifdef NNC_FAULT_INJECTION
nnc_status nnc_set_fusion(nnc_model *m, int on) {
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "set_fusion: the model must be compiled first");
    m->no_fusion = !on;
    mark_needs_grad(m); /* fusion may have widened it */
    return nnc_tape_build(m);
}
#endif
