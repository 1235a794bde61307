/* The model file (docs/FORMAT.md): one safetensors file holding
 *   1. the weights, F32, named "<layer>.<variable>" with Keras 3's names and layouts;
 *   2. optionally the optimizer state: "optimizer.<layer>.<variable>.<slot>" (Keras's slot
 *      names), "optimizer.learning_rate" (F32 scalar), "optimizer.iterations" (I64 scalar);
 *   3. __metadata__: "format" = "nnc", "format_version" = "1", "config" (the architecture in
 *      Keras 3's get_config shape), "compile_config", "epoch" and "rng_state" (for resuming).
 * Saving is atomic (safetensors.c). Loading rebuilds the model from the config, compiles it
 * and checks every tensor against the architecture before copying anything in. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../core/layers_impl.h"
#include "../optim/optim.h"
#include "../train/train_impl.h"
#include "../format/json.h"
#include "model_file.h"
#include "../format/safetensors.h"

static const char *const init_classes[NNC_INIT_COUNT] = {
    [NNC_INIT_GLOROT_UNIFORM] = "GlorotUniform", [NNC_INIT_GLOROT_NORMAL] = "GlorotNormal",
    [NNC_INIT_HE_UNIFORM] = "HeUniform",         [NNC_INIT_HE_NORMAL] = "HeNormal",
    [NNC_INIT_LECUN_NORMAL] = "LecunNormal",     [NNC_INIT_LECUN_UNIFORM] = "LecunUniform",
    [NNC_INIT_RANDOM_NORMAL] = "RandomNormal",   [NNC_INIT_RANDOM_UNIFORM] = "RandomUniform",
    [NNC_INIT_ZEROS] = "Zeros",                  [NNC_INIT_ONES] = "Ones",
    [NNC_INIT_CONSTANT] = "Constant",
};

static const char *const loss_classes[NNC_LOSS_COUNT] = {
    [NNC_LOSS_MEAN_SQUARED_ERROR] = "MeanSquaredError",
    [NNC_LOSS_MEAN_ABSOLUTE_ERROR] = "MeanAbsoluteError",
    [NNC_LOSS_HUBER] = "Huber",
    [NNC_LOSS_BINARY_CROSSENTROPY] = "BinaryCrossentropy",
    [NNC_LOSS_CATEGORICAL_CROSSENTROPY] = "CategoricalCrossentropy",
    [NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "SparseCategoricalCrossentropy",
};

nnc_save_opts nnc_save_opts_default(void) {
    nnc_save_opts o = {true};
    return o;
}

/* ---- writing the config ---------------------------------------------------------------- */

static void put_initializer(nnc_strbuf *sb, nnc_initializer in) {
    nnc_sb_printf(sb, "{\"module\":\"keras.initializers\",\"class_name\":\"%s\",\"config\":{",
                  init_classes[in.kind]);
    if (in.kind == NNC_INIT_RANDOM_NORMAL)
        nnc_sb_printf(sb, "\"mean\":%.9g,\"stddev\":%.9g,", (double)in.a, (double)in.b);
    if (in.kind == NNC_INIT_RANDOM_UNIFORM)
        nnc_sb_printf(sb, "\"minval\":%.9g,\"maxval\":%.9g,", (double)in.a, (double)in.b);
    if (in.kind == NNC_INIT_CONSTANT) nnc_sb_printf(sb, "\"value\":%.9g,", (double)in.a);
    nnc_sb_puts(sb, "\"seed\":null}}");
}

/* Keras's regularizer objects: L1, L2 or L1L2; null when there is none. */
static void put_regularizers(nnc_strbuf *sb, const nnc_regularizer *r) {
    static const char *const keys[3] = {"kernel_regularizer", "bias_regularizer", "activity_regularizer"};
    for (int k = 0; k < 3; k++) {
        nnc_sb_printf(sb, ",\"%s\":", keys[k]);
        if (r[k].l1 == 0.0f && r[k].l2 == 0.0f) nnc_sb_puts(sb, "null");
        else if (r[k].l2 == 0.0f)
            nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L1\",\"config\":{\"l1\":%.9g}}", (double)r[k].l1);
        else if (r[k].l1 == 0.0f)
            nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L2\",\"config\":{\"l2\":%.9g}}", (double)r[k].l2);
        else
            nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L1L2\",\"config\":"
                          "{\"l1\":%.9g,\"l2\":%.9g}}", (double)r[k].l1, (double)r[k].l2);
    }
}

/* Reads the three regularizers of a layer's config (absent or null: none). */
static int parse_regularizers(const nnc_json *lc, nnc_regularizer *r) {
    static const char *const keys[3] = {"kernel_regularizer", "bias_regularizer", "activity_regularizer"};
    for (int k = 0; k < 3; k++) {
        const nnc_json *j = nnc_json_get(lc, keys[k]);
        r[k].l1 = r[k].l2 = 0.0f;
        if (!j || j->type == NNC_JSON_NULL) continue;
        const char *cls = nnc_json_get_string(j, "class_name");
        const nnc_json *c = nnc_json_get(j, "config");
        double v;
        if (!cls || !c || (strcmp(cls, "L1") && strcmp(cls, "L2") && strcmp(cls, "L1L2"))) return -1;
        if (nnc_json_get_number(c, "l1", &v)) r[k].l1 = (float)v;
        if (nnc_json_get_number(c, "l2", &v)) r[k].l2 = (float)v;
        if (!(r[k].l1 >= 0.0f && r[k].l2 >= 0.0f)) return -1;
    }
    return 0;
}

/* Keras 3's serialised KerasTensor: what inbound_nodes lists for each input. */
static void put_tensor_ref(nnc_strbuf *sb, const nnc_model *m, int node) {
    const nnc_node_rec *n = &m->nodes[node];
    nnc_sb_puts(sb, "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null");
    for (int i = 0; i < n->shape.rank; i++) nnc_sb_printf(sb, ",%d", n->shape.dim[i]);
    nnc_sb_puts(sb, "],\"dtype\":\"float32\",\"keras_history\":[");
    nnc_sb_json_string(sb, m->layers[n->layer].name);
    nnc_sb_puts(sb, ",0,0]}}");
}

static void put_layer(nnc_strbuf *sb, const nnc_model *m, const nnc_layer_rec *l, int functional) {
    nnc_sb_printf(sb, "{\"module\":\"keras.layers\",\"class_name\":\"%s\",\"config\":{\"name\":",
                  nnc_layer_class(l->kind));
    nnc_sb_json_string(sb, l->name);
    switch (l->kind) {
    case NNC_LAYER_INPUT: {
        const nnc_node_rec *n = &m->nodes[l->output];
        nnc_sb_puts(sb, ",\"batch_shape\":[null");
        for (int i = 0; i < n->shape.rank; i++) nnc_sb_printf(sb, ",%d", n->shape.dim[i]);
        nnc_sb_puts(sb, "],\"dtype\":\"float32\",\"sparse\":false");
        break;
    }
    case NNC_LAYER_DENSE: {
        const nnc_dense_opts *d = &l->cfg.dense;
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"units\":%d,\"activation\":\"%s\","
                      "\"use_bias\":%s,\"kernel_initializer\":",
                      d->units, nnc_activation_name(d->activation), d->use_bias ? "true" : "false");
        put_initializer(sb, d->kernel_initializer);
        nnc_sb_puts(sb, ",\"bias_initializer\":");
        put_initializer(sb, d->bias_initializer);
        nnc_regularizer regs[3] = {d->kernel_regularizer, d->bias_regularizer, d->activity_regularizer};
        put_regularizers(sb, regs);
        break;
    }
    case NNC_LAYER_ACTIVATION:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"activation\":\"%s\"",
                      nnc_activation_name(l->cfg.activation));
        break;
    case NNC_LAYER_CONCATENATE:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"axis\":%d", l->cfg.axis);
        break;
    case NNC_LAYER_RESCALING:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"scale\":%.9g,\"offset\":%.9g",
                      (double)l->cfg.rescaling.scale, (double)l->cfg.rescaling.offset);
        break;
    case NNC_LAYER_NORMALIZATION:
        nnc_sb_puts(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"axis\":-1,\"mean\":null,"
                        "\"variance\":null,\"invert\":false");
        break;
    case NNC_LAYER_CONV2D:
    case NNC_LAYER_CONV1D: {
        const nnc_conv_opts *c = &l->cfg.conv;
        int two = l->kind == NNC_LAYER_CONV2D;
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"filters\":%d", c->filters);
        if (two)
            nnc_sb_printf(sb, ",\"kernel_size\":[%d,%d],\"strides\":[%d,%d],\"dilation_rate\":[%d,%d]",
                          c->kernel_size[0], c->kernel_size[1], c->strides[0], c->strides[1],
                          c->dilation_rate[0], c->dilation_rate[1]);
        else
            nnc_sb_printf(sb, ",\"kernel_size\":[%d],\"strides\":[%d],\"dilation_rate\":[%d]",
                          c->kernel_size[0], c->strides[0], c->dilation_rate[0]);
        nnc_sb_printf(sb, ",\"padding\":\"%s\",\"data_format\":\"channels_last\",\"groups\":1,"
                      "\"activation\":\"%s\",\"use_bias\":%s,\"kernel_initializer\":",
                      c->padding_same ? "same" : "valid", nnc_activation_name(c->activation),
                      c->use_bias ? "true" : "false");
        put_initializer(sb, c->kernel_initializer);
        nnc_sb_puts(sb, ",\"bias_initializer\":");
        put_initializer(sb, c->bias_initializer);
        nnc_regularizer regs[3] = {c->kernel_regularizer, c->bias_regularizer, c->activity_regularizer};
        put_regularizers(sb, regs);
        break;
    }
    case NNC_LAYER_MAX_POOL2D:
    case NNC_LAYER_AVG_POOL2D: {
        const nnc_pool_opts *p = &l->cfg.pool;
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"pool_size\":[%d,%d],"
                      "\"strides\":[%d,%d],\"padding\":\"%s\",\"data_format\":\"channels_last\"",
                      p->pool_size[0], p->pool_size[1], p->strides[0] ? p->strides[0] : p->pool_size[0],
                      p->strides[1] ? p->strides[1] : p->pool_size[1], p->padding_same ? "same" : "valid");
        break;
    }
    case NNC_LAYER_RESHAPE: {
        nnc_sb_puts(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"target_shape\":[");
        for (int i = 0; i < l->cfg.reshape.rank; i++) nnc_sb_printf(sb, "%s%d", i ? "," : "", l->cfg.reshape.dim[i]);
        nnc_sb_puts(sb, "]");
        break;
    }
    case NNC_LAYER_ZERO_PAD2D:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"padding\":[[%d,%d],[%d,%d]],"
                      "\"data_format\":\"channels_last\"", l->cfg.pad[0], l->cfg.pad[1], l->cfg.pad[2], l->cfg.pad[3]);
        break;
    case NNC_LAYER_DROPOUT:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"rate\":%.9g,\"seed\":null",
                      (double)l->cfg.rate);
        break;
    case NNC_LAYER_BATCH_NORM:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"axis\":-1,\"momentum\":%.9g,"
                      "\"epsilon\":%.9g,\"center\":%s,\"scale\":%s",
                      (double)l->cfg.bn.momentum, (double)l->cfg.bn.epsilon,
                      l->cfg.bn.center ? "true" : "false", l->cfg.bn.scale ? "true" : "false");
        break;
    case NNC_LAYER_LEAKY_RELU:
        nnc_sb_printf(sb, ",\"trainable\":true,\"dtype\":\"float32\",\"negative_slope\":%.9g",
                      (double)l->cfg.negative_slope);
        break;
    default:
        nnc_sb_puts(sb, ",\"trainable\":true,\"dtype\":\"float32\"");
        break;
    }
    nnc_sb_puts(sb, "}");
    if (functional) {
        nnc_sb_puts(sb, ",\"name\":");
        nnc_sb_json_string(sb, l->name);
        nnc_sb_puts(sb, ",\"inbound_nodes\":[");
        if (l->kind != NNC_LAYER_INPUT) {
            /* Merge layers take their inputs as one list argument, as Keras serialises them. */
            int merge = l->kind == NNC_LAYER_ADD || l->kind == NNC_LAYER_CONCATENATE;
            nnc_sb_puts(sb, merge ? "{\"args\":[[" : "{\"args\":[");
            for (int k = 0; k < l->n_inputs; k++) {
                if (k) nnc_sb_puts(sb, ",");
                put_tensor_ref(sb, m, l->inputs[k]);
            }
            nnc_sb_puts(sb, merge ? "]],\"kwargs\":{}}" : "],\"kwargs\":{}}");
        }
        nnc_sb_puts(sb, "]");
    }
    nnc_sb_puts(sb, "}");
}

void nnc_config_json(const nnc_model *m, nnc_strbuf *sb) {
    int seq = nnc_model_is_sequential(m);
    nnc_sb_printf(sb, "{\"module\":\"keras\",\"class_name\":\"%s\",\"config\":{\"name\":",
                  seq ? "Sequential" : "Functional");
    nnc_sb_json_string(sb, nnc_model_display_name(m));
    nnc_sb_puts(sb, ",\"trainable\":true,\"layers\":[");
    for (int i = 0; i < m->n_layers; i++) {
        if (i) nnc_sb_puts(sb, ",");
        put_layer(sb, m, &m->layers[i], !seq);
    }
    nnc_sb_puts(sb, "]");
    if (!seq) {
        const char *keys[2] = {"input_layers", "output_layers"};
        const int *lists[2] = {m->inputs, m->outputs};
        int counts[2] = {m->n_inputs, m->n_outputs ? m->n_outputs : 1};
        int last[1] = {m->last};
        if (!m->n_outputs) lists[1] = last;
        for (int k = 0; k < 2; k++) {
            nnc_sb_printf(sb, ",\"%s\":[", keys[k]);
            for (int i = 0; i < counts[k]; i++) {
                nnc_sb_puts(sb, i ? ",[" : "[");
                nnc_sb_json_string(sb, m->layers[m->nodes[lists[k][i]].layer].name);
                nnc_sb_puts(sb, ",0,0]");
            }
            nnc_sb_puts(sb, "]");
        }
    }
    nnc_sb_puts(sb, "}}");
}

/* ,"key":v as %.9g, or null for 0 (Keras's None: off). */
static void opt_or_null(nnc_strbuf *sb, const char *key, float v) {
    if (v != 0.0f) nnc_sb_printf(sb, ",\"%s\":%.9g", key, (double)v);
    else nnc_sb_printf(sb, ",\"%s\":null", key);
}

/* A schedule as keras.optimizers.schedules.serialize writes it: module, class_name, the
 * class's get_config and registered_name. */
static void schedule_json(const nnc_schedule *s, nnc_strbuf *sb) {
    nnc_sb_printf(sb, "{\"module\":\"keras.optimizers.schedules\",\"class_name\":\"%s\",\"config\":{",
                  nnc_schedule_class(s->kind));
    const double init = (double)s->initial_learning_rate, ds = (double)s->decay_steps;
    switch (s->kind) {
    case NNC_SCHEDULE_EXPONENTIAL_DECAY:
    case NNC_SCHEDULE_INVERSE_TIME_DECAY:
        nnc_sb_printf(sb, "\"initial_learning_rate\":%.9g,\"decay_steps\":%.9g,\"decay_rate\":%.9g,"
                      "\"staircase\":%s", init, ds, (double)s->decay_rate, s->staircase ? "true" : "false");
        break;
    case NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY:
        nnc_sb_puts(sb, "\"boundaries\":[");
        for (int i = 0; i < s->n_boundaries; i++)
            nnc_sb_printf(sb, "%s%lld", i ? "," : "", (long long)s->boundaries[i]);
        nnc_sb_puts(sb, "],\"values\":[");
        for (int i = 0; i <= s->n_boundaries; i++)
            nnc_sb_printf(sb, "%s%.9g", i ? "," : "", (double)s->values[i]);
        nnc_sb_puts(sb, "]");
        break;
    case NNC_SCHEDULE_POLYNOMIAL_DECAY:
        nnc_sb_printf(sb, "\"initial_learning_rate\":%.9g,\"decay_steps\":%.9g,\"end_learning_rate\":%.9g,"
                      "\"power\":%.9g,\"cycle\":%s", init, ds, (double)s->end_learning_rate,
                      (double)s->power, s->cycle ? "true" : "false");
        break;
    case NNC_SCHEDULE_COSINE_DECAY:
        nnc_sb_printf(sb, "\"initial_learning_rate\":%.9g,\"decay_steps\":%.9g,\"alpha\":%.9g", init, ds,
                      (double)s->alpha);
        break;
    default: /* NNC_SCHEDULE_COSINE_DECAY_RESTARTS */
        nnc_sb_printf(sb, "\"initial_learning_rate\":%.9g,\"first_decay_steps\":%.9g,\"t_mul\":%.9g,"
                      "\"m_mul\":%.9g,\"alpha\":%.9g", init, ds, (double)s->t_mul, (double)s->m_mul,
                      (double)s->alpha);
        break;
    }
    nnc_sb_printf(sb, ",\"name\":\"%s\"", nnc_schedule_keras_name(s->kind));
    if (s->kind == NNC_SCHEDULE_COSINE_DECAY) {
        if (s->warmup) nnc_sb_printf(sb, ",\"warmup_target\":%.9g", (double)s->warmup_target);
        else nnc_sb_puts(sb, ",\"warmup_target\":null");
        nnc_sb_printf(sb, ",\"warmup_steps\":%.9g", (double)s->warmup_steps);
    }
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

/* An optimizer as Keras 3 serializes it: the base optimizer's config (name, learning_rate,
 * weight_decay, the clipping, ...) and the class's own keys. */
static void optimizer_json(const nnc_optimizer *o, nnc_strbuf *sb) {
    nnc_sb_printf(sb, "{\"module\":\"keras.optimizers\",\"class_name\":\"%s\",\"config\":{\"name\":\"%s\","
                  "\"learning_rate\":", nnc_optimizer_class(o->kind), nnc_optimizer_name(o->kind));
    if (o->schedule.kind != NNC_SCHEDULE_NONE) schedule_json(&o->schedule, sb);
    else nnc_sb_printf(sb, "%.9g", (double)o->learning_rate);
    if (o->kind == NNC_OPT_ADAMW) nnc_sb_printf(sb, ",\"weight_decay\":%.9g", (double)o->weight_decay);
    else opt_or_null(sb, "weight_decay", o->weight_decay);
    opt_or_null(sb, "clipnorm", o->clipnorm);
    opt_or_null(sb, "global_clipnorm", o->global_clipnorm);
    opt_or_null(sb, "clipvalue", o->clipvalue);
    nnc_sb_puts(sb, ",\"use_ema\":false,\"ema_momentum\":0.99,\"ema_overwrite_frequency\":null,"
                "\"loss_scale_factor\":null,\"gradient_accumulation_steps\":null");
    switch (o->kind) {
    case NNC_OPT_SGD:
        nnc_sb_printf(sb, ",\"momentum\":%.9g,\"nesterov\":%s", (double)o->momentum,
                      o->nesterov ? "true" : "false");
        break;
    case NNC_OPT_RMSPROP:
        nnc_sb_printf(sb, ",\"rho\":%.9g,\"momentum\":%.9g,\"epsilon\":%.9g,\"centered\":%s",
                      (double)o->rho, (double)o->momentum, (double)o->epsilon,
                      o->centered ? "true" : "false");
        break;
    case NNC_OPT_ADAGRAD:
        nnc_sb_printf(sb, ",\"initial_accumulator_value\":%.9g,\"epsilon\":%.9g",
                      (double)o->initial_accumulator_value, (double)o->epsilon);
        break;
    case NNC_OPT_ADADELTA:
        nnc_sb_printf(sb, ",\"rho\":%.9g,\"epsilon\":%.9g", (double)o->rho, (double)o->epsilon);
        break;
    case NNC_OPT_ADAM:
    case NNC_OPT_ADAMW:
        nnc_sb_printf(sb, ",\"beta_1\":%.9g,\"beta_2\":%.9g,\"epsilon\":%.9g,\"amsgrad\":%s",
                      (double)o->beta_1, (double)o->beta_2, (double)o->epsilon,
                      o->amsgrad ? "true" : "false");
        break;
    default: /* Nadam, Adamax */
        nnc_sb_printf(sb, ",\"beta_1\":%.9g,\"beta_2\":%.9g,\"epsilon\":%.9g", (double)o->beta_1,
                      (double)o->beta_2, (double)o->epsilon);
        break;
    }
    nnc_sb_puts(sb, "}}");
}

static void compile_json(const nnc_model *m, nnc_strbuf *sb) {
    const nnc_compile_opts *c = &m->train->copts;
    nnc_sb_printf(sb, "{\"loss\":{\"module\":\"keras.losses\",\"class_name\":\"%s\",\"config\":"
                  "{\"name\":\"%s\",\"reduction\":\"sum_over_batch_size\"",
                  loss_classes[c->loss.kind], nnc_loss_name(c->loss.kind));
    if (c->loss.kind >= NNC_LOSS_BINARY_CROSSENTROPY)
        nnc_sb_printf(sb, ",\"from_logits\":%s", c->loss.from_logits ? "true" : "false");
    if (c->loss.kind == NNC_LOSS_HUBER) nnc_sb_printf(sb, ",\"delta\":%.9g", (double)c->loss.delta);
    nnc_sb_puts(sb, "}},\"optimizer\":");
    optimizer_json(&c->optimizer, sb);
    nnc_sb_puts(sb, ",\"metrics\":[");
    for (int i = 0; i < c->n_metrics; i++)
        nnc_sb_printf(sb, "%s\"%s\"", i ? "," : "", nnc_metric_name(c->metrics[i]));
    nnc_sb_puts(sb, "]}");
}

nnc_status nnc_model_save_ex(nnc_model *m, const char *path, const nnc_save_opts *o,
                             long long fail_after_bytes) {
    if (!m || !path) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "save: the model must be compiled first");
    nnc_save_opts def = nnc_save_opts_default();
    if (!o) o = &def;
    int with_opt = o->include_optimizer;
    size_t nt = (size_t)m->n_params * (size_t)(1 + (with_opt ? m->train->n_slots : 0)) + 2;
    nnc_st_tensor *ts = calloc(nt, sizeof *ts);
    char **names = calloc(nt, sizeof *names);
    nnc_strbuf cfg = {0}, ccfg = {0};
    nnc_status st = NNC_OK;
    if (!ts || !names) {
        st = nnc_fail(m, NNC_ERR_NOMEM, "save: out of memory");
        goto done;
    }
    size_t k = 0;
    for (int s = -1; s < (with_opt ? m->train->n_slots : 0); s++)
        for (int i = 0; i < m->n_params; i++) {
            const nnc_param_rec *p = &m->params[i];
            if (s >= 0 && !p->trainable) continue; /* state has no optimizer slots */
            nnc_st_tensor *t = &ts[k++];
            if (s < 0) {
                snprintf(t->name, sizeof t->name, "%s", p->name);
                t->data = m->param_arena + p->offset;
            } else {
                snprintf(t->name, sizeof t->name, "optimizer.%s.%s", p->name,
                         nnc_optimizer_slot_name(&m->train->copts.optimizer, s));
                t->data = m->train->opt_slots + (size_t)s * m->n_trainable_floats + p->offset;
            }
            t->dtype = NNC_ST_F32;
            t->ndim = p->shape.rank;
            for (int d = 0; d < p->shape.rank; d++) t->shape[d] = p->shape.dim[d];
            t->nbytes = p->size * sizeof(float);
        }
    float lr = nnc_optimizer_learning_rate(&m->train->copts.optimizer, m->train->iterations);
    int64_t iters = m->train->iterations;
    if (with_opt) {
        nnc_st_tensor *t = &ts[k++];
        snprintf(t->name, sizeof t->name, "optimizer.iterations");
        t->dtype = NNC_ST_I64;
        t->data = &iters;
        t->nbytes = sizeof iters;
        t = &ts[k++];
        snprintf(t->name, sizeof t->name, "optimizer.learning_rate");
        t->dtype = NNC_ST_F32;
        t->data = &lr;
        t->nbytes = sizeof lr;
    }
    nnc_config_json(m, &cfg);
    compile_json(m, &ccfg);
    char epoch[32], rng[80];
    snprintf(epoch, sizeof epoch, "%d", m->train->epochs_done);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             m->rng.s[0], m->rng.s[1], m->rng.s[2], m->rng.s[3]);
    if (cfg.oom || ccfg.oom) {
        st = nnc_fail(m, NNC_ERR_NOMEM, "save: out of memory");
        goto done;
    }
    nnc_st_meta meta[6] = {{"format", "nnc"},        {"format_version", "1"},
                           {"config", cfg.buf},      {"compile_config", ccfg.buf},
                           {"epoch", epoch},         {"rng_state", rng}};
    nnc_st_write_opts wo = nnc_st_write_opts_default();
    wo.fail_after_bytes = fail_after_bytes;
    char err[512];
    if (nnc_st_write(path, ts, k, meta, 6, &wo, err, sizeof err))
        st = nnc_fail(m, NNC_ERR_IO, "%s", err);
done:
    free(ts);
    free(names);
    nnc_sb_free(&cfg);
    nnc_sb_free(&ccfg);
    return st;
}

nnc_status nnc_model_save(nnc_model *m, const char *path, const nnc_save_opts *o) {
    return nnc_model_save_ex(m, path, o, -1);
}

/* ---- reading --------------------------------------------------------------------------- */

static int parse_initializer(const nnc_json *j, nnc_initializer *out) {
    if (!j) return 0; /* absent: keep the default */
    const char *cls = j->type == NNC_JSON_STRING ? j->string : nnc_json_get_string(j, "class_name");
    if (!cls) return -1;
    for (int i = 0; i < NNC_INIT_COUNT; i++)
        if (!strcmp(cls, init_classes[i]) || !strcmp(cls, nnc_init_name((nnc_init_kind)i))) {
            *out = nnc_initializer_default((nnc_init_kind)i);
            const nnc_json *c = nnc_json_get(j, "config");
            double v;
            if (c && nnc_json_get_number(c, "mean", &v)) out->a = (float)v;
            if (c && nnc_json_get_number(c, "stddev", &v)) out->b = (float)v;
            if (c && nnc_json_get_number(c, "minval", &v)) out->a = (float)v;
            if (c && nnc_json_get_number(c, "maxval", &v)) out->b = (float)v;
            if (c && nnc_json_get_number(c, "value", &v)) out->a = (float)v;
            return 0;
        }
    return -1;
}

static int json_bool(const nnc_json *o, const char *key, int def) {
    const nnc_json *j = nnc_json_get(o, key);
    return j && j->type == NNC_JSON_BOOL ? j->boolean : def;
}

/* Reads a list of `count` positive integers (an absent key keeps out as it is). */
static int json_ints(const nnc_json *j, int count, int *out) {
    if (!j) return 0;
    if (j->type != NNC_JSON_ARRAY || (int)j->count != count) return -1;
    for (int i = 0; i < count; i++) {
        const nnc_json *v = j->items[i];
        if (v->type != NNC_JSON_NUMBER || v->number != floor(v->number) || v->number < 0 || v->number > 1e6)
            return -1;
        out[i] = (int)v->number;
    }
    return 0;
}

/* The node a serialised KerasTensor refers to (its keras_history layer's output). */
static int tensor_ref(nnc_model *m, const nnc_json *t) {
    const nnc_json *c = nnc_json_get(t, "config"), *h = c ? nnc_json_get(c, "keras_history") : NULL;
    if (!h || h->type != NNC_JSON_ARRAY || h->count < 1 || h->items[0]->type != NNC_JSON_STRING)
        return -1;
    int l = nnc_find_layer(m, h->items[0]->string);
    return l < 0 ? -1 : m->layers[l].output;
}

/* Inputs of a functional layer from its inbound_nodes. */
static int inbound(nnc_model *m, const nnc_json *layer, int *in) {
    const nnc_json *nodes = nnc_json_get(layer, "inbound_nodes");
    if (!nodes || nodes->type != NNC_JSON_ARRAY || nodes->count != 1) return -1;
    const nnc_json *args = nnc_json_get(nodes->items[0], "args");
    if (!args || args->type != NNC_JSON_ARRAY || args->count < 1) return -1;
    const nnc_json *list = args->items[0]->type == NNC_JSON_ARRAY ? args->items[0] : args;
    if (list->count < 1 || list->count > NNC_MAX_INPUTS) return -1;
    for (size_t i = 0; i < list->count; i++)
        if ((in[i] = tensor_ref(m, list->items[i])) < 0) return -1;
    return (int)list->count;
}

/* Builds the layers of a Keras config into m. Returns 0, or -1 with why in msg. */
static int build_from_config(nnc_model *m, const nnc_json *root, char *msg, size_t n) {
    const char *cls = nnc_json_get_string(root, "class_name");
    const nnc_json *cfg = nnc_json_get(root, "config");
    const nnc_json *layers = cfg ? nnc_json_get(cfg, "layers") : NULL;
    if (!cls || (strcmp(cls, "Sequential") && strcmp(cls, "Functional")) || !layers ||
        layers->type != NNC_JSON_ARRAY) {
        snprintf(n ? msg : msg, n, "config is not a Keras Sequential or Functional model");
        return -1;
    }
    int functional = !strcmp(cls, "Functional");
    const char *mname = nnc_json_get_string(cfg, "name");
    if (mname && strcmp(mname, functional ? "functional" : "sequential"))
        snprintf(m->name, sizeof m->name, "%s", mname);
    for (size_t i = 0; i < layers->count; i++) {
        const nnc_json *lj = layers->items[i], *lc = nnc_json_get(lj, "config");
        const char *lcls = nnc_json_get_string(lj, "class_name");
        const char *name = lc ? nnc_json_get_string(lc, "name") : NULL;
        if (!lcls || !lc || !name) {
            snprintf(msg, n, "config: layer %zu has no class_name, config or name", i + 1);
            return -1;
        }
        int in[NNC_MAX_INPUTS], nin = 1;
        in[0] = NNC_PREV;
        if (functional && strcmp(lcls, "InputLayer") && (nin = inbound(m, lj, in)) < 0) {
            snprintf(msg, n, "config: layer '%s' has unreadable inbound_nodes", name);
            return -1;
        }
        nnc_node out = NNC_NONE;
        if (!strcmp(lcls, "InputLayer")) {
            const nnc_json *bs = nnc_json_get(lc, "batch_shape");
            if (!bs) bs = nnc_json_get(lc, "batch_input_shape");
            int dims[NNC_MAX_RANK], rank = 0;
            if (!bs || bs->type != NNC_JSON_ARRAY || bs->count < 2 || bs->count > NNC_MAX_RANK + 1) {
                snprintf(msg, n, "config: InputLayer '%s' needs a batch_shape", name);
                return -1;
            }
            for (size_t d = 1; d < bs->count; d++) {
                const nnc_json *v = bs->items[d];
                if (v->type != NNC_JSON_NUMBER || v->number != floor(v->number) || v->number < 1 ||
                    v->number > 1e9) {
                    snprintf(msg, n, "config: InputLayer '%s' has a bad dimension", name);
                    return -1;
                }
                dims[rank++] = (int)v->number;
            }
            out = nnc_input(m, dims, rank, name);
        } else if (!strcmp(lcls, "Dense")) {
            double units = 0;
            nnc_dense_opts d = nnc_dense_opts_default(0);
            const char *act = nnc_json_get_string(lc, "activation");
            if (!nnc_json_get_number(lc, "units", &units) || units < 1 || units > 1e9 ||
                units != floor(units) || (act && nnc_activation_parse(act, &d.activation)) ||
                parse_initializer(nnc_json_get(lc, "kernel_initializer"), &d.kernel_initializer) ||
                parse_initializer(nnc_json_get(lc, "bias_initializer"), &d.bias_initializer)) {
                snprintf(msg, n, "config: Dense '%s' has a bad units, activation or initializer", name);
                return -1;
            }
            nnc_regularizer regs[3];
            if (parse_regularizers(lc, regs)) {
                snprintf(msg, n, "config: Dense '%s' has a bad regularizer", name);
                return -1;
            }
            d.kernel_regularizer = regs[0], d.bias_regularizer = regs[1], d.activity_regularizer = regs[2];
            d.units = (int)units;
            d.use_bias = json_bool(lc, "use_bias", 1);
            d.name = name;
            out = nnc_dense(m, in[0], &d);
        } else if (!strcmp(lcls, "Activation")) {
            nnc_activation a;
            const char *act = nnc_json_get_string(lc, "activation");
            if (!act || nnc_activation_parse(act, &a)) {
                snprintf(msg, n, "config: Activation '%s' has an unknown activation", name);
                return -1;
            }
            out = nnc_activation_layer(m, in[0], a, name);
        } else if (!strcmp(lcls, "Rescaling")) {
            double scale = 1.0, offset = 0.0;
            nnc_json_get_number(lc, "scale", &scale);
            nnc_json_get_number(lc, "offset", &offset);
            out = nnc_rescaling(m, in[0], (float)scale, (float)offset, name);
        } else if (!strcmp(lcls, "Normalization")) {
            double axis = -1;
            if (nnc_json_get_number(lc, "axis", &axis) && axis != -1) {
                snprintf(msg, n, "config: Normalization '%s': only axis -1 is supported", name);
                return -1;
            }
            out = nnc_normalization(m, in[0], name);
        } else if (!strcmp(lcls, "LeakyReLU")) {
            double slope = 0.3;
            if (!nnc_json_get_number(lc, "negative_slope", &slope)) nnc_json_get_number(lc, "alpha", &slope);
            out = nnc_leaky_relu(m, in[0], (float)slope, name);
        } else if (!strcmp(lcls, "Conv2D") || !strcmp(lcls, "Conv1D")) {
            int two = !strcmp(lcls, "Conv2D"), dims = two ? 2 : 1;
            double filters = 0;
            nnc_conv_opts c = nnc_conv_opts_default(0, 1);
            const char *act = nnc_json_get_string(lc, "activation"), *pad = nnc_json_get_string(lc, "padding");
            if (!nnc_json_get_number(lc, "filters", &filters) || filters < 1 || filters > 1e9 ||
                json_ints(nnc_json_get(lc, "kernel_size"), dims, c.kernel_size) ||
                json_ints(nnc_json_get(lc, "strides"), dims, c.strides) ||
                json_ints(nnc_json_get(lc, "dilation_rate"), dims, c.dilation_rate) ||
                (act && nnc_activation_parse(act, &c.activation)) ||
                (pad && strcmp(pad, "same") && strcmp(pad, "valid")) ||
                parse_initializer(nnc_json_get(lc, "kernel_initializer"), &c.kernel_initializer) ||
                parse_initializer(nnc_json_get(lc, "bias_initializer"), &c.bias_initializer)) {
                snprintf(msg, n, "config: %s '%s' has a bad filters, kernel_size, strides, padding, "
                         "activation or initializer", lcls, name);
                return -1;
            }
            nnc_regularizer regs[3];
            if (parse_regularizers(lc, regs)) {
                snprintf(msg, n, "config: %s '%s' has a bad regularizer", lcls, name);
                return -1;
            }
            c.kernel_regularizer = regs[0], c.bias_regularizer = regs[1], c.activity_regularizer = regs[2];
            c.filters = (int)filters;
            c.padding_same = pad && !strcmp(pad, "same");
            c.use_bias = json_bool(lc, "use_bias", 1);
            c.name = name;
            out = two ? nnc_conv2d(m, in[0], &c) : nnc_conv1d(m, in[0], &c);
        } else if (!strcmp(lcls, "MaxPooling2D") || !strcmp(lcls, "AveragePooling2D")) {
            nnc_pool_opts p = nnc_pool_opts_default(2);
            const char *pad = nnc_json_get_string(lc, "padding");
            if (json_ints(nnc_json_get(lc, "pool_size"), 2, p.pool_size) ||
                json_ints(nnc_json_get(lc, "strides"), 2, p.strides) ||
                (pad && strcmp(pad, "same") && strcmp(pad, "valid"))) {
                snprintf(msg, n, "config: %s '%s' has a bad pool_size, strides or padding", lcls, name);
                return -1;
            }
            p.padding_same = pad && !strcmp(pad, "same");
            p.name = name;
            out = !strcmp(lcls, "MaxPooling2D") ? nnc_max_pooling2d(m, in[0], &p) : nnc_average_pooling2d(m, in[0], &p);
        } else if (!strcmp(lcls, "GlobalAveragePooling2D")) {
            out = nnc_global_average_pooling2d(m, in[0], name);
        } else if (!strcmp(lcls, "GlobalMaxPooling2D")) {
            out = nnc_global_max_pooling2d(m, in[0], name);
        } else if (!strcmp(lcls, "Flatten")) {
            out = nnc_flatten(m, in[0], name);
        } else if (!strcmp(lcls, "Reshape")) {
            const nnc_json *ts = nnc_json_get(lc, "target_shape");
            int dims[NNC_MAX_RANK];
            int rank = ts && ts->type == NNC_JSON_ARRAY ? (int)ts->count : 0;
            if (rank < 1 || rank > NNC_MAX_RANK || json_ints(ts, rank, dims)) {
                snprintf(msg, n, "config: Reshape '%s' has a bad target_shape", name);
                return -1;
            }
            out = nnc_reshape(m, in[0], dims, rank, name);
        } else if (!strcmp(lcls, "ZeroPadding2D")) {
            const nnc_json *pj = nnc_json_get(lc, "padding");
            int tb[2] = {1, 1}, lr[2] = {1, 1};
            if (!pj || pj->type != NNC_JSON_ARRAY || pj->count != 2 || json_ints(pj->items[0], 2, tb) ||
                json_ints(pj->items[1], 2, lr)) {
                snprintf(msg, n, "config: ZeroPadding2D '%s' has a bad padding", name);
                return -1;
            }
            out = nnc_zero_padding2d(m, in[0], tb[0], tb[1], lr[0], lr[1], name);
        } else if (!strcmp(lcls, "Dropout")) {
            double rate = 0;
            nnc_json_get_number(lc, "rate", &rate);
            out = nnc_dropout(m, in[0], (float)rate, name);
        } else if (!strcmp(lcls, "BatchNormalization")) {
            nnc_batch_norm_opts b = nnc_batch_norm_opts_default();
            double v;
            if (nnc_json_get_number(lc, "momentum", &v)) b.momentum = (float)v;
            if (nnc_json_get_number(lc, "epsilon", &v)) b.epsilon = (float)v;
            b.center = json_bool(lc, "center", 1);
            b.scale = json_bool(lc, "scale", 1);
            b.name = name;
            out = nnc_batch_normalization(m, in[0], &b);
        } else if (!strcmp(lcls, "Add") || !strcmp(lcls, "Concatenate")) {
            if (!functional) {
                snprintf(msg, n, "config: %s '%s' needs a Functional model", lcls, name);
                return -1;
            }
            double axis = -1;
            nnc_json_get_number(lc, "axis", &axis);
            out = !strcmp(lcls, "Add") ? nnc_add(m, in, nin, name)
                                       : nnc_concatenate(m, in, nin, (int)axis, name);
        } else {
            snprintf(msg, n, "config: layer '%s' has unknown class '%s'", name, lcls);
            return -1;
        }
        if (out == NNC_NONE) {
            snprintf(msg, n, "config: %s", nnc_last_error(m));
            return -1;
        }
    }
    if (functional) {
        const nnc_json *ol = nnc_json_get(cfg, "output_layers");
        int outs[NNC_MAX_INPUTS], no = 0;
        for (size_t i = 0; ol && ol->type == NNC_JSON_ARRAY && i < ol->count && no < NNC_MAX_INPUTS; i++) {
            const nnc_json *e = ol->items[i];
            int l = e->type == NNC_JSON_ARRAY && e->count && e->items[0]->type == NNC_JSON_STRING
                        ? nnc_find_layer(m, e->items[0]->string) : -1;
            if (l < 0) {
                snprintf(msg, n, "config: output_layers names an unknown layer");
                return -1;
            }
            outs[no++] = m->layers[l].output;
        }
        if (no && nnc_set_outputs(m, outs, no)) {
            snprintf(msg, n, "config: %s", nnc_last_error(m));
            return -1;
        }
    }
    return 0;
}

/* A serialized keras.optimizers.schedules object (class_name and config) into s. */
static int parse_schedule(const nnc_json *j, nnc_schedule *s, char *msg, size_t n) {
    const char *cls = nnc_json_get_string(j, "class_name");
    const nnc_json *sc = nnc_json_get(j, "config");
    nnc_schedule_kind k;
    if (!cls || !sc || sc->type != NNC_JSON_OBJECT || nnc_schedule_parse(cls, &k)) {
        snprintf(msg, n, "compile_config: unknown learning-rate schedule '%s'", cls ? cls : "(none)");
        return -1;
    }
    *s = nnc_schedule_default(k);
    double v;
    static const struct {
        const char *key;
        size_t off;
    } floats[] = {
        {"initial_learning_rate", offsetof(nnc_schedule, initial_learning_rate)},
        {"decay_steps", offsetof(nnc_schedule, decay_steps)},
        {"first_decay_steps", offsetof(nnc_schedule, decay_steps)},
        {"decay_rate", offsetof(nnc_schedule, decay_rate)},
        {"end_learning_rate", offsetof(nnc_schedule, end_learning_rate)},
        {"power", offsetof(nnc_schedule, power)},
        {"alpha", offsetof(nnc_schedule, alpha)},
        {"warmup_steps", offsetof(nnc_schedule, warmup_steps)},
        {"t_mul", offsetof(nnc_schedule, t_mul)},
        {"m_mul", offsetof(nnc_schedule, m_mul)},
    };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        if (nnc_json_get_number(sc, floats[i].key, &v)) *(float *)((char *)s + floats[i].off) = (float)v;
    s->staircase = json_bool(sc, "staircase", 0);
    s->cycle = json_bool(sc, "cycle", 0);
    s->warmup = nnc_json_get_number(sc, "warmup_target", &v);
    if (s->warmup) s->warmup_target = (float)v;
    if (k == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY) {
        const nnc_json *b = nnc_json_get(sc, "boundaries"), *vals = nnc_json_get(sc, "values");
        int ok = b && vals && b->type == NNC_JSON_ARRAY && vals->type == NNC_JSON_ARRAY &&
                 b->count >= 1 && b->count <= NNC_MAX_BOUNDARIES && vals->count == b->count + 1;
        for (size_t i = 0; ok && i < vals->count; i++) {
            const nnc_json *e = vals->items[i];
            ok = e->type == NNC_JSON_NUMBER;
            if (ok) s->values[i] = (float)e->number;
            if (ok && i < b->count) {
                e = b->items[i];
                ok = e->type == NNC_JSON_NUMBER && e->number == floor(e->number) && fabs(e->number) < 9e15;
                if (ok) s->boundaries[i] = (int64_t)e->number;
            }
        }
        if (!ok) {
            snprintf(msg, n, "compile_config: PiecewiseConstantDecay needs 1 to %d integer boundaries "
                     "and one value more", NNC_MAX_BOUNDARIES);
            return -1;
        }
        s->n_boundaries = (int)b->count;
    }
    const char *bad = nnc_schedule_check(s);
    if (bad) {
        snprintf(msg, n, "compile_config: %s: %s", cls, bad);
        return -1;
    }
    return 0;
}

static int parse_compile(const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n) {
    *c = nnc_compile_opts_default();
    const nnc_json *loss = nnc_json_get(j, "loss"), *opt = nnc_json_get(j, "optimizer");
    const char *lname = loss ? (loss->type == NNC_JSON_STRING ? loss->string
                                                              : nnc_json_get_string(loss, "class_name"))
                             : NULL;
    if (!lname || nnc_loss_parse(lname, &c->loss.kind)) {
        snprintf(msg, n, "compile_config: unknown loss '%s'", lname ? lname : "(none)");
        return -1;
    }
    const nnc_json *lc = nnc_json_get(loss, "config");
    double v;
    c->loss.from_logits = lc ? json_bool(lc, "from_logits", 0) : 0;
    if (lc && nnc_json_get_number(lc, "delta", &v)) c->loss.delta = (float)v;
    const char *oname = opt ? nnc_json_get_string(opt, "class_name") : NULL;
    const nnc_json *oc = opt ? nnc_json_get(opt, "config") : NULL;
    if (!oname || !oc || nnc_optimizer_parse(oname, &c->optimizer)) {
        snprintf(msg, n, "compile_config: unknown optimizer '%s'", oname ? oname : "(none)");
        return -1;
    }
    nnc_optimizer *o = &c->optimizer;
    const nnc_json *lr = nnc_json_get(oc, "learning_rate");
    if (lr && lr->type == NNC_JSON_OBJECT) {
        if (parse_schedule(lr, &o->schedule, msg, n)) return -1;
        o->learning_rate = o->schedule.kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY
                               ? o->schedule.values[0] : o->schedule.initial_learning_rate;
    } else if (nnc_json_get_number(oc, "learning_rate", &v)) {
        o->learning_rate = (float)v;
    }
    static const struct {
        const char *key;
        size_t off;
    } floats[] = {
        {"momentum", offsetof(nnc_optimizer, momentum)},
        {"beta_1", offsetof(nnc_optimizer, beta_1)},
        {"beta_2", offsetof(nnc_optimizer, beta_2)},
        {"epsilon", offsetof(nnc_optimizer, epsilon)},
        {"rho", offsetof(nnc_optimizer, rho)},
        {"weight_decay", offsetof(nnc_optimizer, weight_decay)},
        {"initial_accumulator_value", offsetof(nnc_optimizer, initial_accumulator_value)},
        {"clipnorm", offsetof(nnc_optimizer, clipnorm)},
        {"clipvalue", offsetof(nnc_optimizer, clipvalue)},
        {"global_clipnorm", offsetof(nnc_optimizer, global_clipnorm)},
    };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) /* null or absent: the default */
        if (nnc_json_get_number(oc, floats[i].key, &v)) *(float *)((char *)o + floats[i].off) = (float)v;
    o->nesterov = json_bool(oc, "nesterov", 0);
    o->centered = json_bool(oc, "centered", 0);
    o->amsgrad = json_bool(oc, "amsgrad", 0);
    const nnc_json *mets = nnc_json_get(j, "metrics");
    for (size_t i = 0; mets && mets->type == NNC_JSON_ARRAY && i < mets->count; i++) {
        const nnc_json *e = mets->items[i];
        if (e->type != NNC_JSON_STRING || c->n_metrics == NNC_MAX_METRICS ||
            nnc_metric_parse(e->string, &c->metrics[c->n_metrics])) {
            snprintf(msg, n, "compile_config: unknown metric");
            return -1;
        }
        c->n_metrics++;
    }
    return 0;
}

static int shape_matches(const nnc_st_tensor *t, const nnc_shape *s) {
    if (t->ndim != s->rank) return 0;
    for (int d = 0; d < s->rank; d++)
        if (t->shape[d] != s->dim[d]) return 0;
    return 1;
}

static void shape_text(const nnc_st_tensor *t, char *buf, size_t n) {
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

nnc_status nnc_load_tensors(nnc_model *m, const nnc_st_file *f, const char *path) {
    /* Check everything first so that a failed load changes nothing. */
    int has_opt = 0, n_opt = 0;
    for (size_t i = 0; i < f->ntensors; i++) {
        const nnc_st_tensor *t = &f->tensors[i];
        if (!strncmp(t->name, "optimizer.", 10)) {
            has_opt = 1;
            continue;
        }
        int found = 0;
        for (int p = 0; p < m->n_params && !found; p++) found = !strcmp(m->params[p].name, t->name);
        if (!found)
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' is not a variable of the model",
                            path, t->name);
    }
    for (int p = 0; p < m->n_params; p++) {
        const nnc_param_rec *pr = &m->params[p];
        const nnc_st_tensor *t = nnc_st_find(f, pr->name);
        char want[64], got[64];
        nnc_st_tensor like = {.ndim = pr->shape.rank};
        for (int d = 0; d < pr->shape.rank; d++) like.shape[d] = pr->shape.dim[d];
        shape_text(&like, want, sizeof want);
        if (!t) return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' is missing", path, pr->name);
        shape_text(t, got, sizeof got);
        if (t->dtype != NNC_ST_F32)
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' is %s, not F32", path, t->name,
                            nnc_st_dtype_name(t->dtype));
        if (!shape_matches(t, &pr->shape))
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' has shape %s, the model needs %s",
                            path, t->name, got, want);
        for (int s = 0; pr->trainable && s < m->train->n_slots; s++) {
            char nm[NNC_ST_NAME_MAX];
            snprintf(nm, sizeof nm, "optimizer.%s.%s", pr->name,
                     nnc_optimizer_slot_name(&m->train->copts.optimizer, s));
            const nnc_st_tensor *o = nnc_st_find(f, nm);
            if (o) {
                n_opt++;
                if (o->dtype != NNC_ST_F32 || !shape_matches(o, &pr->shape))
                    return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' does not match '%s'",
                                    path, nm, pr->name);
            }
        }
    }
    const nnc_st_tensor *it = nnc_st_find(f, "optimizer.iterations");
    int n_trainable = 0;
    for (int p = 0; p < m->n_params; p++) n_trainable += m->params[p].trainable;
    int opt_ok = has_opt && n_opt == n_trainable * m->train->n_slots && it && it->dtype == NNC_ST_I64 &&
                 it->ndim == 0;
    for (int p = 0; p < m->n_params; p++) {
        const nnc_param_rec *pr = &m->params[p];
        memcpy(m->param_arena + pr->offset, nnc_st_find(f, pr->name)->data, pr->size * sizeof(float));
        for (int s = 0; opt_ok && pr->trainable && s < m->train->n_slots; s++) {
            char nm[NNC_ST_NAME_MAX];
            snprintf(nm, sizeof nm, "optimizer.%s.%s", pr->name,
                     nnc_optimizer_slot_name(&m->train->copts.optimizer, s));
            memcpy(m->train->opt_slots + (size_t)s * m->n_trainable_floats + pr->offset,
                   nnc_st_find(f, nm)->data, pr->size * sizeof(float));
        }
    }
    if (opt_ok) memcpy(&m->train->iterations, it->data, sizeof m->train->iterations);
    return NNC_OK;
}

static void set_err(nnc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(nnc_error *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* The training progress a file records: epochs finished and the RNG state, so that a resumed
 * run shuffles and drops out exactly as an uninterrupted one. */
static void restore_progress(nnc_model *m, const nnc_st_file *f) {
    const char *ep = nnc_st_meta_get(f, "epoch"), *rs = nnc_st_meta_get(f, "rng_state");
    if (ep) {
        char *end;
        long v = strtol(ep, &end, 10);
        if (!*end && v >= 0 && v < (1L << 30)) m->train->epochs_done = (int)v;
    }
    if (rs && strlen(rs) == 64)
        for (int i = 0; i < 4; i++) {
            char part[17];
            memcpy(part, rs + 16 * i, 16);
            part[16] = '\0';
            m->rng.s[i] = strtoull(part, NULL, 16);
        }
}

/* Builds a model from a parsed file; path names the file in messages. */
static nnc_model *model_from_st(nnc_st_file *f, const char *path, nnc_error *err) {
    char msg[512];
    nnc_model *m = NULL;
    nnc_json *cfg = NULL, *ccfg = NULL;
    const char *fmt = nnc_st_meta_get(f, "format"), *c = nnc_st_meta_get(f, "config"),
               *cc = nnc_st_meta_get(f, "compile_config");
    if (!fmt || strcmp(fmt, "nnc") || !c || !cc) {
        set_err(err, "%s: not an nnc model file (its __metadata__ lacks format \"nnc\", config "
                "or compile_config)", path);
        goto fail;
    }
    const char *ver = nnc_st_meta_get(f, "format_version");
    if (!ver || strcmp(ver, "1")) {
        set_err(err, "%s: unsupported format_version '%s'", path, ver ? ver : "(none)");
        goto fail;
    }
    if (!(cfg = nnc_json_parse(c, strlen(c), msg, sizeof msg)) ||
        !(ccfg = nnc_json_parse(cc, strlen(cc), msg, sizeof msg))) {
        set_err(err, "%s: metadata is not valid JSON: %s", path, msg);
        goto fail;
    }
    m = nnc_model_new(NULL);
    nnc_compile_opts co;
    if (!m) {
        set_err(err, "%s: out of memory", path);
        goto fail;
    }
    if (build_from_config(m, cfg, msg, sizeof msg) || parse_compile(ccfg, &co, msg, sizeof msg)) {
        set_err(err, "%s: %s", path, msg);
        goto fail;
    }
    /* Every variable must be in the file (nnc_load_tensors), so a config that needs more floats
     * than the file's data section holds is rejected before nnc_compile allocates them: a small
     * forged file must not make loading allocate gigabytes (found by fuzz/fuzz_model.c). */
    size_t have = f->bloblen / sizeof(float), need = 0;
    for (int p = 0; p < m->n_params; p++) {
        if (m->params[p].size > have - need) {
            set_err(err, "%s: the config's variables need more than the %zu bytes of tensor data "
                    "in the file", path, f->bloblen);
            goto fail;
        }
        need += m->params[p].size;
    }
    if (nnc_compile(m, &co)) {
        set_err(err, "%s: %s", path, nnc_last_error(m));
        goto fail;
    }
    if (nnc_load_tensors(m, f, path)) {
        set_err(err, "%s", nnc_last_error(m));
        goto fail;
    }
    restore_progress(m, f);
    nnc_json_free(cfg);
    nnc_json_free(ccfg);
    return m;
fail:
    nnc_model_free(m);
    nnc_json_free(cfg);
    nnc_json_free(ccfg);
    return NULL;
}

nnc_model *nnc_model_load(const char *path, nnc_error *err) {
    char msg[512];
    nnc_st_file f;
    if (!path) {
        set_err(err, "load: no path");
        return NULL;
    }
    if (nnc_st_read(path, &f, msg, sizeof msg)) {
        /* A text file (a spec file, a CSV) given as a model deserves a plainer message. */
        FILE *t = fopen(path, "rb");
        unsigned char head[8];
        int text = t && fread(head, 1, 8, t) == 8;
        if (t) fclose(t);
        for (int i = 0; text && i < 8; i++) text = head[i] >= 9 && head[i] < 127;
        if (text) set_err(err, "%s: not a model file (it is text; a model file is safetensors, "
                               "as written by --save)", path);
        else set_err(err, "%s", msg);
        return NULL;
    }
    nnc_model *m = model_from_st(&f, path, err);
    nnc_st_free(&f);
    return m;
}

nnc_model *nnc_model_load_buffer(const void *buf, size_t len, const char *name, nnc_error *err) {
    char msg[512];
    nnc_st_file f;
    if (nnc_st_parse(buf, len, name, &f, msg, sizeof msg)) {
        set_err(err, "%s", msg);
        return NULL;
    }
    nnc_model *m = model_from_st(&f, name, err);
    nnc_st_free(&f);
    return m;
}

nnc_status nnc_model_load_weights(nnc_model *m, const char *path, int *resumed_epoch) {
    char msg[512];
    nnc_st_file f;
    int ignored;
    if (!resumed_epoch) resumed_epoch = &ignored;
    *resumed_epoch = 0;
    if (!m || !path) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "load weights: the model must be compiled first");
    if (nnc_st_read(path, &f, msg, sizeof msg)) return nnc_fail(m, NNC_ERR_FORMAT, "%s", msg);
    int64_t before = m->train->iterations;
    m->train->iterations = -1; /* tells whether the file's optimizer state was complete */
    nnc_status st = nnc_load_tensors(m, &f, path);
    int resumed = st == NNC_OK && m->train->iterations >= 0;
    if (!resumed) m->train->iterations = st == NNC_OK ? 0 : before;
    if (resumed) {
        restore_progress(m, &f);
        *resumed_epoch = m->train->epochs_done;
    }
    nnc_st_free(&f);
    return st;
}
