/* A Keras file's optimizer state onto nnc's slots (src/interop/keras_optstate.c). */
#ifndef NNC_KERAS_OPTSTATE_H
#define NNC_KERAS_OPTSTATE_H
#include "keras_read.h"

/* Loads the iteration count and every slot of every trainable variable of the compiled m from
 * f when they map onto nnc's optimizer (var[p]: Keras's path of variable p in a legacy file,
 * "" in a v3 one); otherwise the optimizer starts afresh and a note on m says why. A file
 * without optimizer state is left without a note. */
void nnc_kw_read_optimizer(nnc_model *m, const nnc_kw_file *f, const char (*var)[300]);

/* Keras 3's order of an optimizer's slot variables (after its iteration count and learning
 * rate; each optimizer's build): index[t * S + s] is the place of slot s of trainable
 * variable t among them. Adam's momentum and velocity alternate per variable and its
 * velocity_hat follow in a block; RMSprop's slots come in blocks; the others alternate. */
void nnc_keras_slot_order(const nnc_optimizer *o, int T, int S, int *index);

#endif
