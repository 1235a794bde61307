/* Models of several outputs: the checks of each output's targets against its own loss (their
 * losses are step.c's nnc_loss_forward, their metrics and log keys metrics.c's). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "train_impl.h"

nnc_status nnc_heads_check_targets(nnc_model *m, const float *y, size_t n) {
    const nnc_train_state *ts = m->train;
    const size_t T = nnc_target_size(m);
    for (int h = 0; h < ts->n_heads; h++) {
        const nnc_head *H = &ts->heads[h];
        const nnc_loss_kind lk = H->o.loss.kind;
        const char *out = nnc_model_output_name_at(m, h);
        for (size_t r = 0; r < n; r++)
            for (size_t j = H->t_off; j < H->t_off + (size_t)H->t; j++) {
                double v = (double)y[r * T + j];
                if (!isfinite(v))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] is %g: targets must be finite (output '%s')", r, j,
                                    v, out);
                if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && (v != floor(v) || v < 0 || v >= H->k))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] = %g is not a class label in [0, %d) for output "
                                    "layer '%s'", r, j, v, H->k, out);
                if ((lk == NNC_LOSS_BINARY_CROSSENTROPY || lk == NNC_LOSS_CATEGORICAL_CROSSENTROPY) &&
                    (v < 0 || v > 1))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] = %g is not a %s in [0, 1] for output layer '%s'",
                                    r, j, v, lk == NNC_LOSS_BINARY_CROSSENTROPY ? "binary label" : "one-hot probability",
                                    out);
            }
    }
    return NNC_OK;
}
