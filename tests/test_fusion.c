/* Epilogue fusion (src/train/fuse.c) changes speed, never results: the same model trained with
 * and without fusion ends with bit-identical weights and outputs, for every activation that
 * fuses, for convolutions, and for the cases where fusion must stop early (a regularized or
 * shared intermediate output, an output read by the loss as logits). Each case also checks
 * that the ops it expects to be fused left the tape. */
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "core/model_impl.h"
#include "core/rng.h"
#include "train/train_impl.h"

typedef struct {
    float *w, *out, *out_train; /* predictions in inference and in training mode */
    size_t nw, nout;
    int tape, stores; /* ops on the tape; gradients stored by their one reader */
} run_result;

static int build(const char *spec, nnc_model **out) {
    nnc_error e = {""};
    *out = nnc_model_from_spec_text(spec, strlen(spec), "fusion.nnc", &e);
    if (!*out) fprintf(stderr, "%s\n", e.message);
    return *out != NULL;
}

/* Trains 2 epochs on fixed random data, then predicts; keeps weights, outputs, tape length. */
static int run(const char *spec, int fusion, int in, int classes, run_result *res) {
    memset(res, 0, sizeof *res);
    nnc_model *m;
    if (!build(spec, &m)) return 0;
    const int n = 96;
    float *x = malloc((size_t)n * (size_t)in * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    nnc_rng r;
    nnc_rng_seed(&r, 11);
    for (int i = 0; i < n * in; i++) x[i] = (float)(2.0 * nnc_rng_uniform(&r) - 1.0);
    for (int i = 0; i < n; i++) y[i] = classes ? (float)(i % classes) : (float)nnc_rng_uniform(&r);
    int ok = nnc_set_fusion(m, fusion) == NNC_OK;
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = 2;
    o.batch_size = 16;
    o.verbose = 0;
    ok = ok && nnc_fit(m, x, y, (size_t)n, &o, NULL) == NNC_OK;
    res->tape = m->n_tape;
    for (int i = 0; i < m->n_nodes; i++) res->stores += m->nodes[i].fused_into < 0 && m->nodes[i].grad_overwrite >= 0;
    res->nw = m->n_param_floats;
    res->nout = (size_t)n * nnc_output_size(m);
    res->w = malloc(res->nw * sizeof(float));
    res->out = malloc(res->nout * sizeof(float));
    res->out_train = malloc(res->nout * sizeof(float));
    if (ok && res->w && res->out && res->out_train) {
        memcpy(res->w, m->param_arena, res->nw * sizeof(float));
        ok = nnc_predict(m, x, (size_t)n, res->out) == NNC_OK &&
             nnc_predict_ex(m, x, (size_t)n, res->out_train, 32, true) == NNC_OK;
    }
    free(x);
    free(y);
    nnc_model_free(m);
    return ok && res->w && res->out && res->out_train;
}

/* fused_ops: how many ops fusion should take off the tape; stores: how many gradients should be
 * stored by their one reader rather than zeroed and added to (-1: not checked). */
static void same_bits_stores(test_run *r, const char *name, const char *spec, int in, int classes,
                             int fused_ops, int stores) {
    if (!t_begin(r, "fusion/%s", name)) return;
    run_result a, b;
    int ok_a = run(spec, 0, in, classes, &a), ok_b = run(spec, 1, in, classes, &b);
    if (CHECK(r, ok_a && ok_b && a.nw == b.nw && a.nout == b.nout, "training failed")) {
        CHECK(r, a.tape - b.tape == fused_ops, "%d ops fused, expected %d", a.tape - b.tape, fused_ops);
        CHECK(r, a.stores == 0 && (stores < 0 || b.stores == stores), "%d gradients stored, expected %d",
              b.stores, stores);
        CHECK(r, !memcmp(a.w, b.w, a.nw * sizeof(float)), "weights differ with fusion");
        CHECK(r, !memcmp(a.out, b.out, a.nout * sizeof(float)), "predictions differ with fusion");
        /* no dropout or batch normalization here: inference (max pooling without its argmax,
         * src/ops/pooling.c) must give training mode's outputs */
        CHECK(r, !memcmp(a.out, a.out_train, a.nout * sizeof(float)) &&
                 !memcmp(b.out, b.out_train, b.nout * sizeof(float)), "inference and training mode differ");
        t_info(r, "tape %d ops unfused, %d fused; %d gradients stored by their reader", a.tape, b.tape, b.stores);
    }
    free(a.w);
    free(a.out);
    free(a.out_train);
    free(b.w);
    free(b.out);
    free(b.out_train);
    t_end(r);
}

static void same_bits(test_run *r, const char *name, const char *spec, int in, int classes,
                      int fused_ops) {
    same_bits_stores(r, name, spec, in, classes, fused_ops, -1);
}

#define SCCE "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n"

void suite_fusion(test_run *r);
void suite_fusion(test_run *r) {
    same_bits(r, "dense_activations",
              "input 12\ndense 16 activation=relu\ndense 16 activation=sigmoid\ndense 16 activation=tanh\n"
              "dense 16 activation=elu\ndense 16 activation=leaky_relu\ndense 8 activation=exponential\n"
              "dense 4\n" SCCE, 12, 4, 12 + 1);
    /* gelu's derivative needs x: only its bias is fused; leaky_relu the layer has slope 0.3 */
    same_bits(r, "unfusable_activation_keeps_its_op",
              "input 12\ndense 16 activation=gelu\nleaky_relu\ndense 16 use_bias=false activation=relu\ndense 4\n" SCCE,
              12, 4, 1 + 1 + 1);
    /* the first convolution goes into the pooling after it (3 ops off the tape); stored: max
     * pooling's gradient (by the second convolution), the second convolution's (by flatten),
     * flatten's (by dense); not the input's reshape (no gradient) */
    same_bits_stores(r, "conv_relu_and_pool",
                     "input 64\nreshape 8 8 1\nconv2d 8 3 activation=relu padding=same\nmax_pooling2d 2\n"
                     "conv2d 8 3 activation=tanh\nflatten\ndense 10\n" SCCE, 64, 10, 3 + 2 + 1, 3);
    /* the second convolution's input takes a gradient: it keeps its pooling apart */
    same_bits_stores(r, "conv_pool_fused_for_a_first_layer_only",
                     "input 64\nreshape 8 8 1\nconv2d 8 3 activation=relu padding=same\nmax_pooling2d 2\n"
                     "conv2d 8 3 activation=relu padding=same\nmax_pooling2d 2\nflatten\ndense 10\n" SCCE,
                     64, 10, 3 + 2 + 1, 4);
    /* unpadded: the direct convolution (src/backend/cpu/conv_direct.h); in inference the first
     * pooling computes its convolution row by row, and so does the second, whose convolution
     * stays apart in training (infer_conv): the same bits as training mode and as no fusion */
    same_bits(r, "direct_conv_pool_inference",
              "input 256\nreshape 16 16 1\nconv2d 8 3 activation=relu\nmax_pooling2d 2\n"
              "conv2d 12 3 activation=relu\nmax_pooling2d 2\nflatten\ndense 10\n" SCCE, 256, 10, 3 + 2 + 1);
    same_bits(r, "direct_conv_pool_odd_sizes",
              "input 507\nreshape 13 13 3\nconv2d 37 3 activation=relu\nmax_pooling2d 2\n"
              "conv2d 33 2 activation=relu\nmax_pooling2d 2\nconv2d 5 2 strides=2 activation=tanh\nflatten\n"
              "dense 10\n" SCCE, 507, 10, 3 + 2 + 2 + 1);
    /* overlapping windows (stride 2 under a 3x3 pool): no fusion with the pool; padding is fine */
    same_bits_stores(r, "overlapping_pool_not_fused",
                     "input 100\nreshape 10 10 1\nconv2d 4 3 activation=relu\nmax_pooling2d 3 strides=2\nflatten\n"
                     "dense 10\n" SCCE, 100, 10, 2 + 1, 3);
    same_bits_stores(r, "padded_pool_fused",
                     "input 100\nreshape 10 10 1\nconv2d 4 3 activation=relu\nmax_pooling2d 3 padding=same\nflatten\n"
                     "dense 10\n" SCCE, 100, 10, 3 + 1, 2);
    /* a regularized Dense output is read by the penalty: the Activation after it stays apart */
    same_bits(r, "activity_regularizer_stops_fusion",
              "input 12\ndense 16 activity_regularizer=l2(0.01)\nactivation relu\n"
              "dense 16 activation=relu activity_regularizer=l1(0.01)\ndense 4\n" SCCE, 12, 4, 1 + 2 + 1);
    /* the loss reads the logits before the sigmoid: only the bias is fused into the output */
    same_bits(r, "sigmoid_output_fused_with_the_loss",
              "input 12\ndense 16 activation=relu\ndense 1 activation=sigmoid\n"
              "loss binary_crossentropy\noptimizer adam\n", 12, 2, 2 + 1);
    /* an output that is not fused with the loss may itself be fused */
    same_bits(r, "regression_output",
              "input 12\ndense 16 activation=tanh\ndense 1 activation=relu\nloss mse\noptimizer sgd\n", 12, 0,
              2 + 2);
    /* the convolution family (layers-b): a grouped convolution takes its bias and ReLU into
     * each group's product but not its pooling; depthwise and separable ones fuse like Conv2D
     * (the separable one into its 1x1 convolution); the transposed one fuses nothing; a Conv1D
     * stays apart from the 1-D pooling after it */
    same_bits(r, "grouped_conv_epilogue_not_pool",
              "input 128\nreshape 8 8 2\nconv2d 8 3 groups=2 activation=relu padding=same\nmax_pooling2d 2\n"
              "flatten\ndense 10\n" SCCE, 128, 10, 2 + 1);
    same_bits(r, "separable_depthwise_transpose",
              "input 128\nreshape 8 8 2\nseparable_conv2d 8 3 activation=relu depth_multiplier=2\n"
              "depthwise_conv2d 3 activation=relu padding=same\nconv2d_transpose 4 3 strides=2 activation=relu\n"
              "flatten\ndense 10\n" SCCE, 128, 10, 2 + 2 + 1);
    same_bits(r, "conv1d_relu_then_pool1d",
              "input 32\nreshape 16 2\nconv1d 4 3 activation=relu\nmax_pooling1d 2\nflatten\ndense 10\n" SCCE,
              32, 10, 2 + 1);
    /* pools whose rows end in a clipped window, channels not a multiple of 8 */
    same_bits(r, "odd_pools",
              "input 147\nreshape 7 7 3\nconv2d 12 3 activation=tanh padding=same\nmax_pooling2d 2\n"
              "max_pooling2d 2 padding=same\nflatten\ndense 10\n" SCCE, 147, 10, 2 + 1);
    same_bits(r, "softmax_output",
              "input 12\ndense 16 activation=relu\ndense 4 activation=softmax\n"
              "loss sparse_categorical_crossentropy\noptimizer rmsprop\n", 12, 4, 2 + 1);
}
