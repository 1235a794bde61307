/* The model object: creation, freeing, errors, threads, seed and shapes. Its graph grows in
 * graph.c; compiling and training it is src/train/'s. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "quant.h"
#include "../backend/cpu/thread_pool.h"
#include "../backend/cpu/gemm_simd.h"

static const char *const status_text[NNC_STATUS_COUNT] = {
    [NNC_OK] = "ok",
    [NNC_ERR_ARG] = "invalid argument",
    [NNC_ERR_SHAPE] = "shape mismatch",
    [NNC_ERR_STATE] = "call out of order",
    [NNC_ERR_DATA] = "invalid data",
    [NNC_ERR_NUMERIC] = "non-finite loss",
    [NNC_ERR_IO] = "input/output error",
    [NNC_ERR_FORMAT] = "malformed file",
    [NNC_ERR_NOMEM] = "out of memory",
    [NNC_ERR_INTERRUPTED] = "interrupted",
    [NNC_ERR_UNSUPPORTED] = "not supported",
};

const char *nnc_status_str(nnc_status s) {
    return (unsigned)s < NNC_STATUS_COUNT ? status_text[s] : "unknown status";
}

nnc_model *nnc_model_new(const char *name) {
    nnc_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    (void)nnc_gemm_variant(); /* the first model times the kernels (choose.c), not its first step */
    if (name) snprintf(m->name, sizeof m->name, "%s", name);
    m->last = NNC_NONE;
    nnc_rng_seed(&m->rng, 0);
    return m;
}

void nnc_model_free(nnc_model *m) {
    if (!m) return;
    nnc_quant_clear(m); /* it resets the nodes' links to the records */
    free(m->nodes);
    free(m->layers);
    free(m->params);
    nnc_strmap_free(&m->layer_names);
    nnc_strmap_free(&m->stem_counts);
    nnc_strmap_free(&m->param_names);
    free(m->tape);
    free(m->param_arena);
    free(m->grad_arena);
    nnc_plan_free(m);
    nnc_pool_free(m->pool);
    if (m->train_free) m->train_free(m->train);
    nnc_columns_clear(m);
    if (m->text_vec_free) m->text_vec_free(m->text_vec);
    for (int i = 0; i < m->n_notes; i++) free(m->notes[i]);
    free(m->notes);
    free(m);
}

void nnc_note(nnc_model *m, const char *fmt, ...) {
    if (!m) return;
    if (m->n_notes == NNC_MAX_NOTES - 1) {
        snprintf(m->notes_more, sizeof m->notes_more, "... and %d more notes", ++m->n_notes_dropped);
        return;
    }
    if (!m->notes && !(m->notes = calloc(NNC_MAX_NOTES, sizeof *m->notes))) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *copy = malloc(strlen(buf) + 1);
    if (!copy) return;
    strcpy(copy, buf);
    m->notes[m->n_notes++] = copy;
}

int nnc_model_note_count(const nnc_model *m) {
    return m ? m->n_notes + (m->n_notes_dropped > 0) : 0;
}

const char *nnc_model_note(const nnc_model *m, int i) {
    if (!m || i < 0 || i >= nnc_model_note_count(m)) return NULL;
    return i < m->n_notes ? m->notes[i] : m->notes_more;
}


void nnc_columns_clear(nnc_model *m) {
    for (size_t c = 0; c < m->n_columns; c++) {
        nnc_column *col = &m->columns[c];
        for (size_t i = 0; i < col->n_values; i++) free((char *)col->values[i]);
        free((void *)col->values);
        free((char *)col->name);
    }
    free(m->columns);
    m->columns = NULL;
    m->n_columns = 0;
}

const char *nnc_last_error(const nnc_model *m) { return m ? m->error : "no model"; }


nnc_status nnc_model_set_threads(nnc_model *m, int threads) {
    if (!m) return NNC_ERR_ARG;
    if (threads < 1 || threads > 256)
        return nnc_fail(m, NNC_ERR_ARG, "set_threads: %d threads (1..256)", threads);
    if (nnc_pool_threads(m->pool) == threads) return NNC_OK;
    nnc_pool *p = threads > 1 ? nnc_pool_new(threads) : NULL;
    if (threads > 1 && !p) return nnc_fail(m, NNC_ERR_NOMEM, "set_threads: cannot start %d threads", threads);
    nnc_pool_free(m->pool);
    m->pool = p;
    return NNC_OK;
}

int nnc_model_threads(const nnc_model *m) { return m ? nnc_pool_threads(m->pool) : 1; }

nnc_status nnc_fail(nnc_model *m, nnc_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
    return st;
}

size_t nnc_shape_size(const nnc_shape *s) {
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= (size_t)s->dim[i];
    return n;
}

int nnc_shape_eq(const nnc_shape *a, const nnc_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return 0;
    return 1;
}

void nnc_shape_str(const nnc_shape *s, int batched, char *buf, size_t n) {
    size_t len = (size_t)snprintf(buf, n, "(%s", batched ? "None" : "");
    for (int i = 0; i < s->rank && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%d", (batched || i) ? ", " : "",
                                s->dim[i]);
    if (len < n) snprintf(buf + len, n - len, "%s)", !batched && s->rank == 1 ? "," : "");
}

