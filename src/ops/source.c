/* Ops with no computation of their own: model inputs and parameters. Their values are set by
 * the training loop (gathered batch rows) and the parameter arena; their gradients are read by
 * the optimizer. Shape inference is done by the layer that creates them. */
#include "op_util.h"

static void nothing(const nnc_exec *e, int id) {
    (void)e;
    (void)id;
}

const nnc_op_def nnc_op_input = {"input", NULL, nothing, nothing, NULL, NULL};
const nnc_op_def nnc_op_param = {"param", NULL, nothing, nothing, NULL, NULL};
