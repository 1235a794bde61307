/* Optimizers and initializers (internal). An optimizer updates the whole parameter arena in
 * one pass, using n_slots state arenas laid out like the parameters. */
#ifndef NNC_OPTIM_H
#define NNC_OPTIM_H
#include "nnc.h"
#include "../core/rng.h"

/* Fills w[n] from an initializer; fan_in/fan_out as Keras computes them for the kernel. */
void nnc_init_fill(nnc_rng *r, nnc_initializer init, int fan_in, int fan_out, float *w, size_t n);

/* State arenas the optimizer needs, and the Keras name of slot i ("momentum", "velocity"). */
int nnc_optimizer_slots(const nnc_optimizer *o);
const char *nnc_optimizer_slot_name(const nnc_optimizer *o, int i);
/* Checks an optimizer's settings; NULL when valid, else what is wrong. */
const char *nnc_optimizer_check(const nnc_optimizer *o);
/* One update of w[n] from g[n]; slots holds nnc_optimizer_slots(o) arenas of n floats;
 * step is the 1-based iteration (Adam's bias correction). */
void nnc_optimizer_step(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                        int64_t step);

#endif
