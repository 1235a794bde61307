/* nnc gradcheck: the course's ε derivative check as a tool. For every parameter of the model
 * it compares the backpropagation gradient of the batch loss J with the central difference
 * (J(w + ε) − J(w − ε)) / 2ε, and prints a per-layer table (max absolute and relative error,
 * parameters checked and skipped). J is summed in double; ε is chosen per parameter
 * (1e-3·max(1, |w|)); the tolerance combines a relative bound with the float32 round-off that
 * the difference itself carries. A parameter whose ±ε moves a kink (a ReLU input across 0, a
 * hard_sigmoid input across ±3) is skipped and counted, since the derivative is not defined
 * there. Exit status 1 when a layer fails. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "core/model_impl.h"
#include "train/train_impl.h"

#define NOPTS(a) ((int)(sizeof(a) / sizeof *(a)))

/* One bit per input element of every kinked activation: which side of its kink it is on. */
typedef struct {
    unsigned char *bits;
    size_t n;
} kink_sig;

static int is_kinked(const nnc_node_rec *nd) {
    /* an activation fused into a Dense or Conv pass (relu, leaky_relu) is read from its
     * output, whose sign is its input's */
    if (nd->epi_has_act) return nd->epi_act == NNC_ACT_RELU || nd->epi_act == NNC_ACT_LEAKY_RELU;
    if (nd->op == NNC_OP_MAX_POOL && nd->pool_conv >= 0) return 1; /* its ReLU: the pooled sign */
    return nd->op == NNC_OP_ACT &&
           (nd->attr.act == NNC_ACT_RELU || nd->attr.act == NNC_ACT_LEAKY_RELU ||
            nd->attr.act == NNC_ACT_SELU || nd->attr.act == NNC_ACT_HARD_SIGMOID);
}

static size_t kink_count(const nnc_model *m, int batch) {
    size_t n = 0;
    for (int t = 0; t < m->n_tape; t++)
        if (is_kinked(&m->nodes[m->tape[t]])) n += nnc_node_numel(m, m->tape[t], batch);
    return n;
}

static void kink_read(const nnc_model *m, int batch, kink_sig *s) {
    size_t k = 0;
    for (int t = 0; t < m->n_tape; t++) {
        const nnc_node_rec *nd = &m->nodes[m->tape[t]];
        if (!is_kinked(nd)) continue;
        const float *x = nd->epi_has_act || nd->op == NNC_OP_MAX_POOL ? nd->value : m->nodes[nd->in[0]].value;
        size_t n = nnc_node_numel(m, m->tape[t], batch);
        for (size_t i = 0; i < n; i++, k++) {
            int side = !nd->epi_has_act && nd->attr.act == NNC_ACT_HARD_SIGMOID
                           ? (x[i] > -3.0f) + (x[i] > 3.0f) : x[i] > 0.0f;
            s->bits[k] = (unsigned char)side;
        }
    }
}

static double loss_at(nnc_model *m, int batch, kink_sig *s) {
    nnc_forward(m, batch, 2); /* training mode with the first pass's dropout masks */
    if (s) kink_read(m, batch, s);
    return nnc_loss_forward(m, batch, 0);
}

int cmd_gradcheck(int argc, char **argv) {
    const char *spec = NULL, *data = NULL, *labels = NULL, *label_column = NULL;
    int targets = 0, batch = 16, seed = 0, help = 0;
    double rtol = 1e-2;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "data: bundled name, CSV or IDX file (its first rows)", "D"},
        {"--labels", OPT_STRING, &labels, "labels of IDX images", "L"},
        {"--label-column", OPT_STRING, &label_column, "the CSV column holding the label", "NAME"},
        {"--targets", OPT_INT, &targets, "the last N CSV columns are the targets", "N"},
        {"--batch-size", OPT_INT, &batch, "rows in the checked batch (default 16)", "N"},
        {"--seed", OPT_INT, &seed, "seed of the weights (default 0)", "N"},
        {"--rtol", OPT_FLOAT, &rtol, "relative tolerance (default 0.01)", "F"},
    };
    int rc = cli_parse("gradcheck", argc, argv, 2, opts, NOPTS(opts), &spec, "SPEC", &help);
    if (help) {
        printf("Usage: nnc gradcheck SPEC --data D [options]\n\n"
               "Compares every parameter's backprop gradient with (J(w+e) - J(w-e)) / 2e on a batch.\n\n");
        cli_print_options(opts, NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!data || batch < 1 || seed < 0 || !(rtol > 0.0)) {
        cli_error("gradcheck", !data ? "missing --data D" : "--batch-size, --seed and --rtol must be positive");
        return CLI_USAGE;
    }
    nnc_error e = {""};
    char err[1536];
    nnc_model *m = nnc_model_from_spec(spec, &e);
    if (!m) {
        cli_error("gradcheck", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_reinitialize(m, (uint64_t)seed);
#ifdef NNC_FAULT_INJECTION
    /* Test builds only: a wrong backward pass that the check must catch. */
    const char *fault = getenv("NNC_BREAK_GRADIENT");
    if (fault) m->fault_grad_scale = (float)atof(fault);
#endif
    cli_data d = {0};
    cli_data_opts dopt = {data, labels, label_column, targets};
    kink_sig base = {0}, probe = {0};
    rc = CLI_FAIL;
    if (cli_load(&dopt, "train", nnc_input_size(m), 0, &d, err, sizeof err) ||
        cli_check_targets(m, &d, err, sizeof err)) {
        cli_error("gradcheck", "%s", err);
        goto done;
    }
    if ((size_t)batch > d.n) batch = (int)d.n;
    if (nnc_adapt(m, d.x, d.n) || nnc_plan(m, batch)) {
        cli_error("gradcheck", "%s", nnc_last_error(m));
        goto done;
    }
    nnc_gather_inputs(m, d.x, NULL, 0, batch);
    nnc_gather_targets(m, d.y, NULL, 0, batch);
    /* The analytic gradient, from one training pass (it draws the dropout masks). */
    nnc_zero_grads(m, batch);
    nnc_forward(m, batch, 1);
    nnc_loss_forward(m, batch, 1);
    nnc_backward(m, batch);
    base.n = probe.n = kink_count(m, batch);
    base.bits = calloc(base.n + 1, 1);
    probe.bits = calloc(base.n + 1, 1);
    if (!base.bits || !probe.bits) {
        cli_error("gradcheck", "out of memory");
        goto done;
    }
    loss_at(m, batch, &base);
    printf("%-24s %10s %8s %14s %14s  %s\n", "layer.variable", "checked", "skipped", "max abs err",
           "max rel err", "verdict");
    int failed = 0;
    for (int p = 0; p < m->n_params; p++) {
        const nnc_param_rec *pr = &m->params[p];
        if (!pr->trainable) continue;
        float *w = m->param_arena + pr->offset;
        const float *g = m->grad_arena + pr->offset;
        size_t checked = 0, skipped = 0, bad = 0;
        double max_abs = 0.0, max_rel = 0.0;
        for (size_t i = 0; i < pr->size; i++) {
            float keep = w[i], eps = 1e-3f * (fabsf(keep) > 1.0f ? fabsf(keep) : 1.0f);
            w[i] = keep + eps;
            double jp = loss_at(m, batch, &probe);
            int kink = memcmp(base.bits, probe.bits, base.n) != 0;
            w[i] = keep - eps;
            double jm = loss_at(m, batch, &probe);
            kink |= memcmp(base.bits, probe.bits, base.n) != 0;
            w[i] = keep;
            if (kink) {
                skipped++;
                continue;
            }
            double num = (jp - jm) / (2.0 * (double)eps), ana = (double)g[i];
            double diff = fabs(num - ana), scale = fabs(num) > fabs(ana) ? fabs(num) : fabs(ana);
            /* What float32 round-off in J alone can put into the difference quotient. */
            double noise = 4.0 * 0x1p-23 * (fabs(jp) + fabs(jm)) / (2.0 * (double)eps);
            if (diff > noise + rtol * scale) bad++;
            if (diff > max_abs) max_abs = diff;
            if (scale > noise && diff / scale > max_rel) max_rel = diff / scale;
            checked++;
        }
        printf("%-24s %10zu %8zu %14.3g %14.3g  %s\n", pr->name, checked, skipped, max_abs, max_rel,
               bad ? "FAIL" : "ok");
        failed += bad != 0;
    }
    if (failed) printf("gradcheck: %d variable(s) failed\n", failed);
    else printf("gradcheck: every gradient matches its numerical derivative\n");
    rc = failed ? CLI_FAIL : CLI_OK;
done:
    free(base.bits);
    free(probe.bits);
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}
