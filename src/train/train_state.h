/* What training adds to a model: the compile settings, the optimizer's state, the counters a
 * resumed run needs, the spec file's fit settings and callbacks, and the per-batch buffers of
 * the loss. The model (src/core/) holds it as an opaque pointer; this layer owns it. */
#ifndef NNC_TRAIN_STATE_H
#define NNC_TRAIN_STATE_H
#include "../core/model_impl.h"
#include "../losses/penalties.h"

#define NNC_MAX_CLASS_WEIGHTS 64
#define NNC_MAX_SPEC_CALLBACKS 16

typedef struct nnc_train_state {
    nnc_compile_opts copts;
    int fused_loss_node;       /* -1, or the logits node the loss reads instead of the output */
    nnc_penalty *penalties;    /* the regularizers of every layer, gathered by compile */
    int n_penalties;
    float *opt_slots;          /* optimizer state: n_slots arenas of the trainable floats */
    int n_slots;
    float *state_backup;       /* the non-trainable variables before a step (moving statistics) */
    int64_t iterations;        /* optimizer steps taken */
    int epochs_done;

    struct {
        int epochs, batch_size, shuffle, steps_per_update;
        float validation_split;
        float class_weight[NNC_MAX_CLASS_WEIGHTS];
        int n_class_weights;
    } spec_fit;                /* the spec file's fit line; 0 / -1 where not given */
    nnc_callback *spec_callbacks[NNC_MAX_SPEC_CALLBACKS]; /* its callback lines, owned here */
    int n_spec_callbacks;
    nnc_callback **fit_callbacks; /* the list nnc_model_fit_defaults hands to fit (not owned) */

    int planned_batch;         /* rows of the buffers below */
    float *batch_y;            /* [batch, targets] gathered for the loss */
    float *batch_w;            /* [batch] example weights, used when use_weights */
    int use_weights;           /* fit with sample_weight or class_weight */
    float grad_seed_scale;     /* the loss's gradient times this (accumulation: b / group rows) */
    struct nnc_dist *dist;     /* data-parallel training's buckets and buffers (dist.c); NULL alone */
} nnc_train_state;

/* The model's training state, made on first use; NULL (with the error recorded) when out of
 * memory. */
nnc_train_state *nnc_train_state_of(nnc_model *m);
/* Plans the graph's buffers (nnc_plan) and the loss's for batches of up to `batch` rows. */
nnc_status nnc_train_plan(nnc_model *m, int batch);

#endif
