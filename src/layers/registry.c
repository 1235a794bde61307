/* The registry of layer descriptors (layers.h), and what every build function shares: starting
 * a layer from its row. Each row is defined in the file of its layer. */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_input_desc, nnc_dense_desc, nnc_activation_desc, nnc_softmax_desc,
    nnc_add_desc, nnc_concatenate_desc, nnc_rescaling_desc, nnc_normalization_desc,
    nnc_leaky_relu_desc, nnc_conv2d_desc, nnc_conv1d_desc, nnc_max_pooling2d_desc,
    nnc_average_pooling2d_desc, nnc_global_average_pooling2d_desc,
    nnc_global_max_pooling2d_desc, nnc_flatten_desc, nnc_reshape_desc,
    nnc_zero_padding2d_desc, nnc_dropout_desc, nnc_batch_normalization_desc;
/* the convolution family (layers-b) */
extern const nnc_layer_desc nnc_separable_conv2d_desc, nnc_depthwise_conv2d_desc, nnc_conv2d_transpose_desc,
    nnc_max_pooling1d_desc, nnc_average_pooling1d_desc, nnc_global_average_pooling1d_desc,
    nnc_global_max_pooling1d_desc, nnc_up_sampling1d_desc, nnc_up_sampling2d_desc, nnc_zero_padding1d_desc,
    nnc_cropping1d_desc, nnc_cropping2d_desc;
/* the activation, noise, merge and normalization layers (layers-a2) */
extern const nnc_layer_desc nnc_relu_desc, nnc_prelu_desc, nnc_elu_desc, nnc_spatial_dropout1d_desc,
    nnc_spatial_dropout2d_desc, nnc_gaussian_noise_desc, nnc_gaussian_dropout_desc,
    nnc_activity_regularization_desc, nnc_permute_desc, nnc_repeat_vector_desc, nnc_subtract_desc,
    nnc_multiply_desc, nnc_average_desc, nnc_maximum_desc, nnc_minimum_desc, nnc_dot_desc,
    nnc_layer_normalization_desc;
/* sequences: attention */
extern const nnc_layer_desc nnc_multi_head_attention_desc, nnc_position_embedding_desc,
    nnc_sine_position_encoding_desc;
/* sequences: recurrent */
extern const nnc_layer_desc nnc_simple_rnn_desc, nnc_lstm_desc, nnc_gru_desc, nnc_bidirectional_desc,
    nnc_time_distributed_desc;

const nnc_layer_desc *const nnc_layer_registry[] = {
    &nnc_input_desc,
    &nnc_dense_desc,
    &nnc_activation_desc,
    &nnc_softmax_desc,
    &nnc_add_desc,
    &nnc_concatenate_desc,
    &nnc_conv2d_desc,
    &nnc_conv1d_desc,
    &nnc_max_pooling2d_desc,
    &nnc_average_pooling2d_desc,
    &nnc_global_average_pooling2d_desc,
    &nnc_global_max_pooling2d_desc,
    &nnc_flatten_desc,
    &nnc_reshape_desc,
    &nnc_zero_padding2d_desc,
    /* the convolution family (layers-b) */
    &nnc_separable_conv2d_desc,
    &nnc_depthwise_conv2d_desc,
    &nnc_conv2d_transpose_desc,
    &nnc_max_pooling1d_desc,
    &nnc_average_pooling1d_desc,
    &nnc_global_average_pooling1d_desc,
    &nnc_global_max_pooling1d_desc,
    &nnc_up_sampling1d_desc,
    &nnc_up_sampling2d_desc,
    &nnc_zero_padding1d_desc,
    &nnc_cropping1d_desc,
    &nnc_cropping2d_desc,
    &nnc_dropout_desc,
    &nnc_batch_normalization_desc,
    &nnc_rescaling_desc,
    &nnc_normalization_desc,
    &nnc_leaky_relu_desc,
    /* the activation, noise, merge and normalization layers (layers-a2) */
    &nnc_relu_desc,
    &nnc_prelu_desc,
    &nnc_elu_desc,
    &nnc_subtract_desc,
    &nnc_multiply_desc,
    &nnc_average_desc,
    &nnc_maximum_desc,
    &nnc_minimum_desc,
    &nnc_dot_desc,
    &nnc_permute_desc,
    &nnc_repeat_vector_desc,
    &nnc_spatial_dropout1d_desc,
    &nnc_spatial_dropout2d_desc,
    &nnc_gaussian_noise_desc,
    &nnc_gaussian_dropout_desc,
    &nnc_activity_regularization_desc,
    &nnc_layer_normalization_desc,
    /* sequences: attention */
    &nnc_multi_head_attention_desc,
    &nnc_position_embedding_desc,
    &nnc_sine_position_encoding_desc,
    /* sequences: recurrent */
    &nnc_simple_rnn_desc,
    &nnc_lstm_desc,
    &nnc_gru_desc,
    &nnc_bidirectional_desc,
    &nnc_time_distributed_desc,
    /* sequences: embedding and masks */
    &nnc_embedding_desc,
    &nnc_masking_desc,
};
const int nnc_layer_registry_count = NNC_OPT_COUNT_OF(nnc_layer_registry);

const nnc_layer_desc *nnc_layer_by_keyword(const char *keyword) {
    for (int i = 0; keyword && i < nnc_layer_registry_count; i++)
        if (!strcmp(nnc_layer_registry[i]->keyword, keyword)) return nnc_layer_registry[i];
    return NULL;
}

const nnc_layer_desc *nnc_layer_by_class(const char *keras_class) {
    for (int i = 0; keras_class && i < nnc_layer_registry_count; i++)
        if (!strcmp(nnc_layer_registry[i]->keras_class, keras_class)) return nnc_layer_registry[i];
    return NULL;
}

int nnc_layer_regularizers(const nnc_layer_rec *l, nnc_regularizer rs[NNC_LAYER_REGULARIZERS]) {
    int found = 0, var = 0;
    for (int k = 0; k < NNC_LAYER_REGULARIZERS; k++) rs[k].l1 = rs[k].l2 = 0.0f;
    if (l->desc->flags & NNC_LAYERF_ACTIVITY_OPTS) {
        memcpy(&rs[NNC_LAYER_REGULARIZERS - 1], l->cfg.bytes, sizeof *rs);
        found = 1;
    }
    for (int i = 0; i < l->desc->n_opts; i++) {
        const nnc_opt_desc *o = &l->desc->opts[i];
        if (o->type != NNC_OPT_REGULARIZER) continue;
        /* a variable the options left out (no gamma without scale) takes no place */
        if ((o->flags & NNC_OPTF_IF_AUX) && !*(const bool *)(l->cfg.bytes + o->aux)) continue;
        int k = !strcmp(o->key, "activity_regularizer") ? NNC_LAYER_REGULARIZERS - 1 : var++;
        if (k >= NNC_LAYER_REGULARIZERS) continue;
        memcpy(&rs[k], l->cfg.bytes + o->offset, sizeof rs[k]);
        found = 1;
    }
    return found;
}

/* The layer that made mask node `mask` (its build makes the mask before its output). */
static const nnc_layer_rec *mask_maker(const nnc_model *m, int mask) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].output > mask) return &m->layers[i];
    return NULL;
}

/* Keras's masks through layer l: a layer that acts per step (MASK_PASS) gives its output its
 * inputs' mask, several masks combined with a logical and (their product, a missing one all
 * ones), as Keras's merge layers do; a MASK_CONSUME layer reads it itself; any other refuses a
 * masked input, as Keras does, rather than silently using the padding. */
static int layer_masks(nnc_model *m, const nnc_layer_desc *d, int l, const int *in, int n_in) {
    int mask = -1;
    for (int i = 0; i < n_in; i++) {
        int mk = m->nodes[in[i]].mask;
        if (mk < 0 || mk == mask) continue;
        if (!(d->flags & (NNC_LAYERF_MASK_PASS | NNC_LAYERF_MASK_CONSUME))) {
            const nnc_layer_rec *src = mask_maker(m, mk);
            const char *cls = src ? nnc_layer_class(src) : "?";
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "layer '%s' (%s) cannot take a mask from '%s' (%s)",
                                 m->layers[l].name, d->keras_class, src ? src->name : "?",
                                 !strcmp(cls, "Embedding") ? "mask_zero=True" : cls);
            return -1;
        }
        if (mask >= 0) {
            int both[2] = {mask, mk};
            if (!nnc_shape_eq(&m->nodes[mask].shape, &m->nodes[mk].shape)) {
                m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s' (%s): its inputs' masks cover different "
                                     "numbers of steps", m->layers[l].name, d->keras_class);
                return -1;
            }
            if ((mk = nnc_graph_op(m, NNC_OP_MUL, both, 2, (nnc_op_attr){0})) < 0) return -1;
        }
        mask = mk;
    }
    if (d->flags & NNC_LAYERF_MASK_PASS) m->layers[l].mask = mask;
    return 0;
}

int nnc_layer_start(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                    const void *opts, const char *name, int *resolved) {
    if (!m || m->sticky) return -1;
    const char *who = name ? name : d->stem;
    /* a recurrent layer's initial states come after its one input; its build checks their count */
    const int max = d->max_inputs + (d->flags & NNC_LAYERF_INITIAL_STATE ? NNC_LAYER_MORE_OUTPUTS : 0);
    if (n_in < d->min_inputs || n_in > max || (n_in && !in)) {
        if (d->min_inputs == d->max_inputs)
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': needs %d input%s, got %d", d->keras_class, who,
                                 d->min_inputs, d->min_inputs == 1 ? "" : "s", n_in);
        else
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': needs %d to %d inputs, got %d", d->keras_class,
                                 who, d->min_inputs, d->max_inputs, n_in);
        return -1;
    }
    for (int i = 0; i < n_in; i++)
        if ((resolved[i] = nnc_graph_resolve(m, in[i], who)) < 0) return -1;
    int l = nnc_layer_begin(m, d, d->stem, name);
    if (l < 0) return -1;
    if (layer_masks(m, d, l, resolved, n_in)) return -1;
    nnc_layer_rec *rec = &m->layers[l];
    if (n_in) memcpy(rec->inputs, resolved, (size_t)n_in * sizeof *resolved);
    rec->n_inputs = n_in;
    memcpy(rec->cfg.bytes, opts, d->opts_size);
    if (d->name_offset != NNC_NO_NAME_FIELD) { /* the caller's string: the record has its own */
        const char *none = NULL;
        memcpy(rec->cfg.bytes + d->name_offset, &none, sizeof none);
    }
    return l;
}
