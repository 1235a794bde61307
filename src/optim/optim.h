/* Optimizers and initializers (internal). An optimizer updates the whole parameter arena in
 * one pass, using n_slots state arenas laid out like the parameters. */
#ifndef NNC_OPTIM_H
#define NNC_OPTIM_H
#include "nnc.h"
#include "../core/rng.h"

/* Fills w[n] from an initializer; fan_in/fan_out as Keras computes them for the kernel. */
void nnc_init_fill(nnc_rng *r, nnc_initializer init, int fan_in, int fan_out, float *w, size_t n);

/* State arenas the optimizer needs, and the Keras 3 name of slot i ("momentum", "velocity",
 * "velocity_hat", "accumulator", "accumulated_grad", "accumulated_delta_var", "norm", ...). */
int nnc_optimizer_slots(const nnc_optimizer *o);
const char *nnc_optimizer_slot_name(const nnc_optimizer *o, int i);
/* Checks an optimizer's settings; NULL when valid, else what is wrong. */
const char *nnc_optimizer_check(const nnc_optimizer *o);
/* Sets the slots to their initial values (zeros; Adagrad's accumulator to
 * initial_accumulator_value): slots holds nnc_optimizer_slots(o) arenas of n floats. */
void nnc_optimizer_init_slots(const nnc_optimizer *o, float *slots, size_t n);
/* One update of w[n] from g[n]; slots holds nnc_optimizer_slots(o) arenas of n floats;
 * step is the 1-based iteration (bias corrections; the schedule sees step − 1). Applies the
 * weight decay; clipping is the caller's (nnc_clip_by_norm / nnc_clip_by_value, before). */
/* The same on the parameters [0, n) of an arena whose slots are `stride` floats apart, so the
 * update can be split into ranges (each element's update depends on that element alone). */
void nnc_optimizer_step_range(const nnc_optimizer *o, float *w, const float *g, float *slots,
                              size_t n, size_t stride, int64_t step);
void nnc_optimizer_step(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                        int64_t step);
/* The learning rate of the update that follows `iterations` completed steps (Keras's
 * optimizer.learning_rate): the schedule's value there, or the constant learning_rate. */
float nnc_optimizer_learning_rate(const nnc_optimizer *o, int64_t iterations);
/* Keras's class name ("AdamW"). */
const char *nnc_optimizer_class(nnc_optimizer_kind k);

/* Keras's clipping: g·c / max(‖g‖₂, c) (BaseOptimizer._clip_by_norm; also clip_by_global_norm
 * when g is every gradient), and clip(g, −v, v). In place, no allocation. */
void nnc_clip_by_norm(float *g, size_t n, float c);
void nnc_clip_by_value(float *g, size_t n, float v);

/* Checks a schedule's parameters; NULL when valid (kind NONE is). */
const char *nnc_schedule_check(const nnc_schedule *s);
/* Keras's class name ("ExponentialDecay") and the default `name` in its config
 * ("ExponentialDecay", "PiecewiseConstant", "SGDRDecay", ...). */
const char *nnc_schedule_class(nnc_schedule_kind k);
const char *nnc_schedule_keras_name(nnc_schedule_kind k);

#endif
