/* Shared by the fuzz targets that build a model (fuzz_model.c, fuzz_spec.c): uses a model that
 * was accepted, so that a graph the parser built wrongly shows up as a sanitizer report. Prints
 * the summary into memory, re-serialises the config, and predicts one row of zeros when the
 * model is small enough that its buffers stay well under libFuzzer's memory limit (a valid but
 * huge model is not a finding). Out of scope: training (fit is covered by the unit tests). */
#ifndef NNC_FUZZ_EXERCISE_H
#define NNC_FUZZ_EXERCISE_H
#define _POSIX_C_SOURCE 200809L
#include "io/keras_config.h"
#include "io/model_file.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_MAX_FLOATS ((size_t)1 << 22) /* activations, all nodes together */
#define FUZZ_MAX_WORK ((size_t)1 << 26)   /* largest activation x largest kernel column */

/* True when one row's buffers are small: the sum of the activations, and the largest
 * activation times the largest kernel column (a variable's size over its last axis: in for a
 * Dense kernel, kh*kw*c for a Conv2D one), which bounds a convolution's im2col workspace. */
static int fuzz_small_model(const nnc_model *m) {
    size_t total = 0, max_node = 0, max_param = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        size_t n = 1;
        const nnc_shape *s = &m->nodes[i].shape;
        for (int d = 0; d < s->rank; d++) {
            if (s->dim[d] <= 0 || (size_t)s->dim[d] > FUZZ_MAX_FLOATS / n) return 0;
            n *= (size_t)s->dim[d];
        }
        if (m->nodes[i].op == NNC_OP_PARAM) {
            if (s->rank >= 2) n /= (size_t)s->dim[s->rank - 1];
            if (n > max_param) max_param = n;
        } else {
            total += n;
            if (n > max_node) max_node = n;
        }
        if (total > FUZZ_MAX_FLOATS) return 0;
    }
    return max_node <= FUZZ_MAX_WORK / max_param;
}

static void fuzz_exercise(nnc_model *m) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        nnc_summary(m, f);
        fclose(f);
    }
    free(text);
    nnc_strbuf sb = {0};
    nnc_config_json(m, &sb);
    nnc_sb_free(&sb);
    nnc_fit_opts o = nnc_fit_opts_default();
    if (nnc_model_fit_defaults(m, &o)) return;
    if (!fuzz_small_model(m)) return;
    size_t in = nnc_input_size(m), out = nnc_output_size(m);
    float *x = calloc(in ? in : 1, sizeof *x), *y = calloc(out ? out : 1, sizeof *y);
    if (x && y) nnc_predict(m, x, 1, y);
    free(x);
    free(y);
}

#endif
