/* Where a training step's time goes, op by op: runs B3 (or another bench spec) on random data
 * for a few batches and prints the wall time of each op kind's forward and backward, plus the
 * loss and the optimizer. A developer's tool (no PMU counters on these VMs); see
 * docs/PERFORMANCE.md. Usage: op_profile [B0|B1|B2|B3|CNN] [threads] [steps] [cpu|wall] [infer [batch]]
 * (CNN: examples/fashion_cnn.nnc; infer: the forward pass alone, in inference mode, as predict runs it) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/model_impl.h"
#include "core/rng.h"
#include "optim/optim.h"
#include "train/train_impl.h"

/* wall time, or with a 4th argument "cpu" the process's CPU time (on a shared machine whose
 * queue inflates wall time; with 2 threads it counts the pool's waiting too) */
static clockid_t clock_used = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec t;
    clock_gettime(clock_used, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "B3";
    if (argc > 4 && !strcmp(argv[4], "cpu")) clock_used = CLOCK_PROCESS_CPUTIME_ID;
    const int infer = argc > 5 && !strcmp(argv[5], "infer");
    int threads = argc > 2 ? atoi(argv[2]) : 1, steps = argc > 3 ? atoi(argv[3]) : 20, bs = 128, in = 784;
    const char *body = "input 28 28 1\nconv2d 32 3 activation=relu\nmax_pooling2d 2\nconv2d 64 3 activation=relu\n"
                       "max_pooling2d 2\nflatten\ndense 128 activation=relu\ndense 10\n";
    if (!strcmp(which, "B2")) body = "input 784\ndense 512 activation=relu\ndense 256 activation=relu\ndense 10\n";
    if (!strcmp(which, "B1")) body = "input 784\ndense 25 activation=relu\ndense 15 activation=relu\ndense 10\n", bs = 32;
    if (!strcmp(which, "CNN")) /* examples/fashion_cnn.nnc */
        body = "input 28 28 1\nconv2d 32 3 activation=relu padding=same\nbatch_normalization\nmax_pooling2d 2\n"
               "conv2d 64 3 activation=relu padding=same\nbatch_normalization\nmax_pooling2d 2\nflatten\n"
               "dense 128 activation=relu\ndropout 0.3\ndense 10\n";
    if (!strcmp(which, "B0"))
        body = "input 64\ndense 25 activation=relu\ndense 15 activation=relu\ndense 10\n", bs = 32, in = 64;
    if (infer && argc > 6) bs = atoi(argv[6]);
    char spec[1024];
    snprintf(spec, sizeof spec, "%sloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", body);
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), which, &e);
    if (!m) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    nnc_model_set_threads(m, threads);
    float *x = malloc(sizeof(float) * (size_t)bs * (size_t)in), *y = malloc(sizeof(float) * (size_t)bs);
    nnc_rng r;
    nnc_rng_seed(&r, 1);
    for (int i = 0; i < bs * in; i++) x[i] = (float)nnc_rng_uniform(&r);
    for (int i = 0; i < bs; i++) y[i] = (float)(i % 10);
    nnc_train_plan(m, bs);
    double fwd[NNC_OP_COUNT] = {0}, bwd[NNC_OP_COUNT] = {0}, zero = 0, loss = 0, opt = 0, t;
    double *node_f = calloc((size_t)m->n_tape, sizeof(double)), *node_b = calloc((size_t)m->n_tape, sizeof(double));
    nnc_exec ex = {m, bs, infer ? 0 : 1};
    for (int s = 0; s < steps; s++) {
        nnc_gather_inputs(m, x, NULL, 0, bs);
        nnc_gather_targets(m, y, NULL, 0, bs);
        t = now();
        nnc_zero_grads(m);
        zero += now() - t;
        for (int k = 0; k < m->n_tape; k++) {
            int id = m->tape[k];
            t = now();
            nnc_op_table[m->nodes[id].op]->forward(&ex, id);
            t = now() - t;
            fwd[m->nodes[id].op] += t;
            node_f[k] += t;
        }
        if (infer) continue;
        t = now();
        nnc_loss_forward(m, bs, 1);
        loss += now() - t;
        for (int k = m->n_tape - 1; k >= 0; k--) {
            int id = m->tape[k];
            nnc_node_rec *nd = &m->nodes[id];
            if (!nd->needs_grad || nd->skip_backward) continue;
            t = now();
            nnc_op_table[nd->op]->backward(&ex, id);
            t = now() - t;
            bwd[nd->op] += t;
            node_b[k] += t;
        }
        t = now();
        m->train->iterations++;
        nnc_optimizer_step(&m->train->copts.optimizer, m->param_arena, m->grad_arena, m->train->opt_slots, m->n_trainable_floats,
                           m->train->iterations);
        opt += now() - t;
    }
    double total = zero + loss + opt;
    for (int o = 0; o < NNC_OP_COUNT; o++) total += fwd[o] + bwd[o];
    printf("%s, batch %d, %d threads: %.4g ms per step\n", which, bs, threads, 1e3 * total / steps);
    /* small networks in microseconds */
    const int us = total / steps < 1e-3;
    const double unit = us ? 1e6 : 1e3;
    const char *fu = us ? "fwd us" : "fwd ms", *bu = us ? "bwd us" : "bwd ms";
    printf("%-16s %10s %10s %7s\n", "op", fu, bu, "share");
    for (int o = 0; o < NNC_OP_COUNT; o++)
        if (fwd[o] + bwd[o] > 0)
            printf("%-16s %10.3f %10.3f %6.1f%%\n", nnc_op_table[o]->name, unit * fwd[o] / steps, unit * bwd[o] / steps,
                   100 * (fwd[o] + bwd[o]) / total);
    printf("%-16s %10.3f %10s %6.1f%%\n%-16s %10.3f %10s %6.1f%%\n%-16s %10.3f %10s %6.1f%%\n", "zero grads",
           unit * zero / steps, "", 100 * zero / total, "loss", unit * loss / steps, "", 100 * loss / total, "optimizer",
           unit * opt / steps, "", 100 * opt / total);
    printf("\n%-24s %10s %10s\n", "node (layer: op)", fu, bu);
    for (int k = 0; k < m->n_tape; k++) {
        const nnc_node_rec *nd = &m->nodes[m->tape[k]];
        char name[96];
        snprintf(name, sizeof name, "%s: %s", nd->layer >= 0 ? m->layers[nd->layer].name : "?",
                 nnc_op_table[nd->op]->name);
        printf("%-24s %10.3f %10.3f\n", name, unit * node_f[k] / steps, unit * node_b[k] / steps);
    }
    free(node_f);
    free(node_b);
    free(x);
    free(y);
    nnc_model_free(m);
    return 0;
}
