/* Regularization losses, added as Keras adds model.losses. */
#include <math.h>
#include "penalties.h"

double nnc_penalties_apply(nnc_model *m, const nnc_penalty *p, int count, int n, int with_grad,
                           float seed) {
    double loss = 0.0;
    for (int i = 0; i < count; i++) {
        nnc_node_rec *nd = &m->nodes[p[i].node];
        size_t cnt = nnc_node_numel(m, p[i].node, n);
        const float l1 = p[i].r.l1, l2 = p[i].r.l2;
        double sum = 0.0;
        for (size_t j = 0; j < cnt; j++) {
            float v = nd->value[j];
            sum += (double)l1 * fabs((double)v) + (double)l2 * (double)v * (double)v;
            if (with_grad && nd->needs_grad)
                nd->grad[j] += seed * (l1 * (float)((v > 0.0f) - (v < 0.0f)) + 2.0f * l2 * v);
        }
        loss += sum;
    }
    return loss;
}
