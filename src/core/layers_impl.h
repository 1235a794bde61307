/* What layer builders use to grow the graph (src/core/graph.c). */
#ifndef NNC_LAYERS_IMPL_H
#define NNC_LAYERS_IMPL_H
#include "model_impl.h"

/* Appends a node computed by op from inputs, inferring its shape with the op's row; -1 (with
 * an error naming the current layer) when the shapes do not fit. */
int nnc_graph_op(nnc_model *m, nnc_op op, const int *in, int n_in, nnc_op_attr attr);
/* Starts a layer: checks its name, or makes one from stem as Keras does ("dense", "dense_1",
 * ...); -1 on error. */
int nnc_layer_begin(nnc_model *m, const struct nnc_layer_desc *desc, const char *stem,
                    const char *name);
/* Finishes a layer whose output is node `output`. */
void nnc_layer_end(nnc_model *m, int layer, int output);
/* Adds a variable "<layer>.<var>" and its PARAM node; returns the node or -1. Trainable
 * variables get gradients and optimizer updates; the others are state (moving statistics). */
int nnc_layer_param(nnc_model *m, int layer, const char *var, const nnc_shape *shape,
                    nnc_initializer init, int fan_in, int fan_out, int trainable);
/* Index of the layer called name, or of the variable ("layer_1.kernel"), or -1. */
int nnc_find_layer(const nnc_model *m, const char *name);
int nnc_find_param(const nnc_model *m, const char *name);

#endif
