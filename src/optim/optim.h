/* Optimizers and initializers (internal). An optimizer updates the whole parameter arena in
 * one pass, using n_slots state arenas laid out like the parameters. */
#ifndef NNC_OPTIM_H
#define NNC_OPTIM_H
#include "nnc.h"
#include "../core/options.h"
#include "../core/rng.h"


/* An optimizer's descriptor: its Keras class, its name, its defaults and its own arguments
 * (rows into nnc_optimizer) in the order of Keras 3's get_config. The spec parser and the
 * config writer and reader read these rows (src/io/). */
typedef struct {
    nnc_optimizer_kind kind;
    const char *keras_class, *name; /* "AdamW", "adamw" */
    nnc_optimizer (*defaults)(void);
    const nnc_opt_desc *opts;
    int n_opts;
} nnc_optimizer_desc;

const nnc_optimizer_desc *nnc_optimizer_desc_of(nnc_optimizer_kind k);
/* The base optimizer's arguments every optimizer takes, after name and learning_rate. */
extern const nnc_opt_desc nnc_optimizer_base_opts[];
extern const int nnc_optimizer_base_count;

/* A learning-rate schedule's descriptor: its arguments in its constructor's order (the spec's
 * positional values) and get_config's, its config's name among them. */
typedef struct {
    nnc_schedule_kind kind;
    const char *keras_class, *name; /* "ExponentialDecay", "exponential_decay" */
    const nnc_opt_desc *opts;
    int n_opts;
    const char *formula; /* the rate at step t, for the docs */
} nnc_schedule_desc;

const nnc_schedule_desc *nnc_schedule_desc_of(nnc_schedule_kind k);

/* Keras's class name of an initializer ("GlorotUniform"). */
const char *nnc_init_class(nnc_init_kind k);
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
/* Nadam's running product of Dozat's momentum schedule after t steps (Keras's u_product). */
double nnc_nadam_u_product(double b1, int64_t t);

/* Keras's clipping: g·c / max(‖g‖₂, c) (BaseOptimizer._clip_by_norm; also clip_by_global_norm
 * when g is every gradient), and clip(g, −v, v). In place, no allocation. */
void nnc_clip_by_norm(float *g, size_t n, float c);
void nnc_clip_by_value(float *g, size_t n, float v);

/* Checks a schedule's parameters; NULL when valid (kind NONE is). */
const char *nnc_schedule_check(const nnc_schedule *s);
/* Keras's class name ("ExponentialDecay"). */
const char *nnc_schedule_class(nnc_schedule_kind k);

#endif
