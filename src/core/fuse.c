/* Two plans compile makes over the graph, both about buffers rather than arithmetic.
 *
 * 1. Epilogue fusion: a MATMUL or CONV node takes in the BIAS_ADD that
 * follows it and the activation after that (Dense and Conv2D with an activation), so a layer
 * becomes one pass that writes its output once, and one backward pass that reads it once
 * (src/ops/epilogue.c). The graph itself is unchanged, so summaries, saved files and layer
 * outputs see the layers as built; only the tape and the buffers change:
 *   - the nodes taken leave the tape and share the fused node's value and grad buffers;
 *   - so every node inside the chain but its last must be read by the next one alone: not a
 *     model output, not the loss's logits, not under a regularizer, not read by another op.
 * Only activations whose derivative can be read from their output are taken (the fused node
 * keeps no pre-activation copy).
 *
 * 2. First gradient writers: a gradient read by one op alone is written by that op's backward
 * with "=" (nnc_node_rec.grad_overwrite), so it needs no zeroing before the step and no
 * read-modify-write. Gradients with several readers, or seeded before backward (the output,
 * the loss's logits, a regularized output), are zeroed and accumulated as before. */
#include <stdlib.h>
#include "model_impl.h"
#include "quant.h"

/* Who reads each node: count[i] readers, the last of them last[i]. */
typedef struct {
    int *count, *last;
} graph_readers;

static nnc_status readers_new(nnc_model *m, graph_readers *g) {
    g->count = calloc((size_t)m->n_nodes * 2, sizeof *g->count);
    g->last = g->count ? g->count + m->n_nodes : NULL;
    if (!g->count) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    return NNC_OK;
}

static void readers_free(graph_readers *g) { free(g->count); }

/* The one live node reading node i, or -1 when none or several do, or i is pinned (its value
 * is read from outside the tape, so it must stay as its op computed it). */
static int sole_reader(const nnc_model *m, const graph_readers *g, int i) {
    return g->count[i] == 1 && !m->nodes[i].pinned ? g->last[i] : -1;
}

/* A convolution with ReLU (node p, its chain ending at node last) read only by a max pooling
 * of non-overlapping windows becomes part of that pooling (src/ops/conv_pool.h), when
 * the convolution's input needs no gradient (a first layer); otherwise the pooling computes
 * it in inference only (infer_conv), where no backward pass needs its output. A quantized
 * convolution joins only the first kind, and only in int8 (the fused op's branch), since
 * infer_conv multiplies in float. */
static void fuse_pool(nnc_model *m, const graph_readers *g, int p, int last) {
    nnc_node_rec *c = &m->nodes[p];
    int qi = sole_reader(m, g, last);
    const int quant = c->qlayer >= 0;
    if (c->op != NNC_OP_CONV || (quant && m->qlayers[c->qlayer].bits != 8) || c->epi_act != NNC_ACT_RELU || qi < 0)
        return;
    nnc_node_rec *q = &m->nodes[qi];
    /* windows that do not overlap: each output element has at most one pooled gradient */
    /* (2-D and one group: the fused op's spread of gradients knows that layout only) */
    const int ok = q->op == NNC_OP_MAX_POOL && q->in[0] == last && q->attr.win.kh == q->attr.win.sh &&
                   q->attr.win.kw == q->attr.win.sw && q->shape.rank == 3 && c->attr.win.groups <= 1;
    if (!ok) return;
    if (m->nodes[c->in[0]].needs_grad) {
        if (quant) return;
        q->infer_conv = p;
        c->infer_pool = qi;
        return;
    }
    q->pool_conv = p;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].fused_into == p) m->nodes[i].fused_into = qi;
    c->fused_into = qi;
}

nnc_status nnc_fuse_epilogues(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        n->epi_bias = -1;
        n->epi_has_act = 0;
        n->fused_into = -1;
        n->pool_conv = -1;
        n->infer_conv = n->infer_pool = -1;
    }
#ifdef NNC_FAULT_INJECTION
    if (m->no_fusion) return NNC_OK;
#endif
    graph_readers g;
    nnc_status st = readers_new(m, &g);
    if (st) return st;
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (!n->live) continue;
        for (int k = 0; k < n->n_in; k++) {
            g.count[n->in[k]]++;
            g.last[n->in[k]] = i;
        }
    }
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *p = &m->nodes[i];
        if (!p->live || (p->op != NNC_OP_MATMUL && p->op != NNC_OP_CONV)) continue;
        int next = sole_reader(m, &g, i);
        if (next >= 0 && m->nodes[next].op == NNC_OP_BIAS_ADD && m->nodes[next].in[0] == i &&
            m->nodes[m->nodes[next].in[1]].op == NNC_OP_PARAM) {
            nnc_node_rec *b = &m->nodes[next];
            p->epi_bias = b->in[1];
            p->needs_grad |= b->needs_grad;
            b->fused_into = i;
            next = sole_reader(m, &g, next);
        }
        if (next >= 0 && m->nodes[next].op == NNC_OP_ACT &&
            nnc_act_fusable(m->nodes[next].attr.act, m->nodes[next].attr.alpha)) {
            nnc_node_rec *a = &m->nodes[next];
            p->epi_has_act = 1;
            p->epi_act = a->attr.act;
            p->epi_alpha = a->attr.alpha;
            p->needs_grad |= a->needs_grad;
            a->fused_into = i;
            fuse_pool(m, &g, i, next);
        }
    }
    readers_free(&g);
    return NNC_OK;
}

/* The ops whose backward can store its input 0's gradient instead of adding to it. */
static int can_overwrite(nnc_op op) {
    switch (op) {
    case NNC_OP_MATMUL:
    case NNC_OP_CONV:
    case NNC_OP_MAX_POOL:
    case NNC_OP_RESHAPE:
    case NNC_OP_ACT:
    case NNC_OP_BATCH_NORM:
    case NNC_OP_BIAS_ADD:
    case NNC_OP_CONV_TRANSPOSE: return 1;
    default: return 0;
    }
}

static int root_of(const nnc_model *m, int i) {
    return m->nodes[i].fused_into >= 0 ? m->nodes[i].fused_into : i;
}

nnc_status nnc_plan_grad_writers(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].grad_overwrite = -1;
#ifdef NNC_FAULT_INJECTION
    if (m->no_fusion) return NNC_OK;
#endif
    graph_readers g;
    nnc_status st = readers_new(m, &g);
    if (st) return st;
    /* readers of each gradient buffer: a fused chain shares its first node's */
    for (int t = 0; t < m->n_tape; t++) {
        const nnc_node_rec *n = &m->nodes[m->tape[t]];
        for (int k = 0; k < n->n_in; k++) {
            int r = root_of(m, n->in[k]);
            if (r == m->tape[t]) continue; /* a pooling reading the convolution it computes */
            g.count[r]++;
            g.last[r] = m->tape[t];
        }
    }
    /* a fused chain is pinned when any of its nodes is: here its root stands for it */
    unsigned char *pinned = calloc((size_t)m->n_nodes + 1, 1);
    if (!pinned) {
        readers_free(&g);
        return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].pinned) pinned[root_of(m, i)] = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *x = &m->nodes[i];
        const int r = g.count[i] == 1 && !pinned[i] ? g.last[i] : -1;
        if (!x->live || !x->batched || !x->needs_grad || x->fused_into >= 0 || r < 0) continue;
        const nnc_node_rec *t = &m->nodes[r];
        if (can_overwrite(t->op) && root_of(m, t->in[0]) == i && !t->skip_backward) x->grad_overwrite = r;
    }
    /* the reader sees the fused node it reads (an activation): it carries its root's mark */
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].fused_into >= 0) m->nodes[i].grad_overwrite = m->nodes[m->nodes[i].fused_into].grad_overwrite;
    free(pinned);
    readers_free(&g);
    return NNC_OK;
}
