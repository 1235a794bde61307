/* What the layers tell the code above them (training, files, the spec parser, summaries). */
#ifndef NNC_LAYERS_H
#define NNC_LAYERS_H
#include "../core/layers_impl.h"

/* Keras's class name ("Dense") and the snake_case stem of default names ("dense"). */
const char *nnc_layer_class(nnc_layer_kind k);
const char *nnc_layer_stem(nnc_layer_kind k);
/* A layer's kernel, bias and activity regularizers into rs; 0 when the kind has none. */
int nnc_layer_regularizers(const nnc_layer_rec *l, nnc_regularizer rs[3]);
/* True for layers whose variables hold statistics of the data (Normalization, set by
 * nnc_adapt) rather than draws from an initializer. */
int nnc_layer_state_from_data(const nnc_layer_rec *l);

#endif
