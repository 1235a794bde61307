/* The model file (docs/FORMAT.md): one safetensors file holding
 *   1. the weights, F32, named "<layer>.<variable>" with Keras 3's names and layouts;
 *   2. optionally the optimizer state: "optimizer.<layer>.<variable>.<slot>" (Keras's slot
 *      names), "optimizer.learning_rate" (F32 scalar), "optimizer.iterations" (I64 scalar);
 *   3. __metadata__: "format" = "nnc", "format_version" = "1", "config" (the architecture in
 *      Keras 3's get_config shape), "compile_config", "epoch" and "rng_state" (for resuming),
 *      and "columns" when the model records its training data's columns (columns.c).
 * Saving is atomic (safetensors.c). Loading rebuilds the model from the config, compiles it
 * and checks every tensor against the architecture before copying anything in. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../optim/optim.h"
#include "../format/message.h"
#include "../train/train_impl.h"
#include "../format/json.h"
#include "keras_config.h"
#include "columns.h"
#include "text_meta.h"
#include "model_file.h"
#include "../format/safetensors.h"

nnc_save_opts nnc_save_opts_default(void) {
    nnc_save_opts o = {true};
    return o;
}

static nnc_status save(nnc_model *m, const char *path, const nnc_save_opts *o, long long fail_after) {
    if (!m || !path) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "save: the model must be compiled first");
    nnc_save_opts def = nnc_save_opts_default();
    if (!o) o = &def;
    int with_opt = o->include_optimizer;
    size_t nt = (size_t)m->n_params * (size_t)(1 + (with_opt ? m->train->n_slots : 0)) + 2;
    nnc_st_tensor *ts = calloc(nt, sizeof *ts);
    char **names = calloc(nt, sizeof *names);
    nnc_strbuf cfg = {0}, ccfg = {0}, cols = {0}, text = {0}, quant = {0};
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
    nnc_compile_config_json(&m->train->copts, &ccfg);
    char epoch[32], rng[80];
    snprintf(epoch, sizeof epoch, "%d", m->train->epochs_done);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             m->rng.s[0], m->rng.s[1], m->rng.s[2], m->rng.s[3]);
    if (m->n_columns) nnc_columns_json(m, &cols);
    if (m->text_vec) nnc_text_vec_json(m->text_vec, &text);
    if (m->n_qlayers) nnc_quant_json(m, &quant);
    if (cfg.oom || ccfg.oom || cols.oom || text.oom || quant.oom) {
        st = nnc_fail(m, NNC_ERR_NOMEM, "save: out of memory");
        goto done;
    }
    nnc_st_meta meta[9] = {{"format", "nnc"},        {"format_version", "1"},
                           {"config", cfg.buf},      {"compile_config", ccfg.buf},
                           {"epoch", epoch},         {"rng_state", rng}};
    int n_meta = 6;
    if (m->n_columns) meta[n_meta++] = (nnc_st_meta){"columns", cols.buf};
    if (m->text_vec) meta[n_meta++] = (nnc_st_meta){"text_vectorization", text.buf};
    if (m->n_qlayers) meta[n_meta++] = (nnc_st_meta){"quantization", quant.buf};
    char err[512];
#ifdef NNC_FAULT_INJECTION
    int bad = nnc_st_write_faulty(path, ts, k, meta, n_meta, fail_after, err, sizeof err);
#else
    (void)fail_after;
    int bad = nnc_st_write(path, ts, k, meta, n_meta, err, sizeof err);
#endif
    if (bad) st = nnc_fail(m, NNC_ERR_IO, "%s", err);
done:
    free(ts);
    free(names);
    nnc_sb_free(&cfg);
    nnc_sb_free(&ccfg);
    nnc_sb_free(&cols);
    nnc_sb_free(&text);
    nnc_sb_free(&quant);
    return st;
}

nnc_status nnc_safetensors_save(nnc_model *m, const char *path, const nnc_save_opts *o) {
    long long fail_after = -1;
#ifdef NNC_FAULT_INJECTION
    /* Test builds only: the save fails after this many bytes, as a crash or a full disk would
     * (the tool's interrupted-save tests). */
    const char *fault = getenv("NNC_FAIL_SAVE_AFTER");
    if (fault) fail_after = atoll(fault);
#endif
    return save(m, path, o, fail_after);
}

#ifdef NNC_FAULT_INJECTION
nnc_status nnc_model_save_ex(nnc_model *m, const char *path, const nnc_save_opts *o,
                             long long fail_after_bytes) {
    return save(m, path, o, fail_after_bytes);
}
#endif

/* ---- reading ---------------------------------------------------------------------------- */

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

/* A model's weights and optimizer state must be finite: a NaN weight would pass through
 * every later step unnoticed (a ReLU maps it to a number). */
static int check_finite(nnc_model *m, const nnc_st_tensor *t, const char *path) {
    const unsigned char *p = t->data; /* an outside file's offsets need not be aligned */
    for (size_t i = 0; i < t->nbytes / sizeof(float); i++) {
        float v;
        memcpy(&v, p + i * sizeof v, sizeof v);
        if (!isfinite(v)) {
            nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor '%s' holds %s at index %zu (weights must be finite)", path,
                     t->name, isnan(v) ? "NaN" : "an infinity", i);
            return -1;
        }
    }
    return 0;
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
        if (nnc_find_param(m, t->name) < 0)
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
        if (check_finite(m, t, path)) return NNC_ERR_FORMAT;
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
                if (check_finite(m, o, path)) return NNC_ERR_FORMAT;
            }
        }
    }
    const nnc_st_tensor *it = nnc_st_find(f, "optimizer.iterations");
    int64_t iterations = 0;
    if (it) { /* FORMAT.md: an I64 scalar, the updates made */
        if (it->dtype != NNC_ST_I64 || it->ndim != 0)
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor 'optimizer.iterations' is %s of rank %d, not an I64 "
                            "scalar", path, nnc_st_dtype_name(it->dtype), it->ndim);
        memcpy(&iterations, it->data, sizeof iterations);
        if (iterations < 0)
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: tensor 'optimizer.iterations' is %lld, not a count of updates",
                            path, (long long)iterations);
    }
    int n_trainable = 0;
    for (int p = 0; p < m->n_params; p++) n_trainable += m->params[p].trainable;
    int opt_ok = has_opt && n_opt == n_trainable * m->train->n_slots && it;
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
    if (opt_ok) m->train->iterations = iterations;
    m->weights_loaded = 1;
    return NNC_OK;
}

/* The training progress a file records: epochs finished and the RNG state, so that a resumed
 * run shuffles and drops out exactly as an uninterrupted one. A value that is there but not
 * what nnc writes is an error naming its key: silently restarting at epoch 1, or with another
 * random state, would give a different run without a word. */
typedef struct {
    int epochs;
    int has_rng;
    uint64_t rng[4];
} progress;

static nnc_status read_progress(nnc_model *m, const nnc_st_file *f, const char *path, progress *p) {
    const char *ep = nnc_st_meta_get(f, "epoch"), *rs = nnc_st_meta_get(f, "rng_state");
    int epochs = 0;
    memset(p, 0, sizeof *p);
    if (ep) {
        char *end;
        errno = 0;
        long v = strtol(ep, &end, 10);
        if (!*ep || *end || errno || v < 0 || v >= (1L << 30) || ep[0] == '+' || ep[0] == ' ')
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: metadata \"epoch\" is '%.40s', not a count of epochs in "
                            "[0, 2^30)", path, ep);
        epochs = (int)v;
    }
    uint64_t state[4];
    if (rs) {
        int ok = strlen(rs) == 64;
        for (int i = 0; ok && i < 64; i++) ok = isxdigit((unsigned char)rs[i]);
        for (int i = 0; ok && i < 4; i++) {
            char part[17];
            memcpy(part, rs + 16 * i, 16);
            part[16] = '\0';
            state[i] = strtoull(part, NULL, 16);
        }
        if (ok) ok = state[0] | state[1] | state[2] | state[3]; /* xoshiro's one forbidden state */
        if (!ok)
            return nnc_fail(m, NNC_ERR_FORMAT, "%s: metadata \"rng_state\" is '%.70s', not the 64 hex digits of "
                            "a random state", path, rs);
        memcpy(p->rng, state, sizeof state);
        p->has_rng = 1;
    }
    p->epochs = epochs;
    return NNC_OK;
}

static void apply_progress(nnc_model *m, const progress *p) {
    m->train->epochs_done = p->epochs;
    if (p->has_rng) memcpy(m->rng.s, p->rng, sizeof p->rng);
}

/* Builds a model from a parsed file; path names the file in messages. */
static nnc_model *model_from_st(nnc_st_file *f, const char *path, nnc_error *err) {
    char msg[512];
    nnc_model *m = NULL;
    nnc_json *cfg = NULL, *ccfg = NULL;
    const char *fmt = nnc_st_meta_get(f, "format"), *c = nnc_st_meta_get(f, "config"),
               *cc = nnc_st_meta_get(f, "compile_config");
    if (!fmt || strcmp(fmt, "nnc") || !c || !cc) {
        nnc_msg(NNC_ERRBUF(err), "%s: not an nnc model file (its __metadata__ lacks format \"nnc\", config "
                "or compile_config)", path);
        goto fail;
    }
    const char *ver = nnc_st_meta_get(f, "format_version");
    if (!ver || strcmp(ver, "1")) {
        nnc_msg(NNC_ERRBUF(err), "%s: unsupported format_version '%s'", path, ver ? ver : "(none)");
        goto fail;
    }
    if (!(cfg = nnc_json_parse(c, strlen(c), msg, sizeof msg)) ||
        !(ccfg = nnc_json_parse(cc, strlen(cc), msg, sizeof msg))) {
        nnc_msg(NNC_ERRBUF(err), "%s: metadata is not valid JSON: %s", path, msg);
        goto fail;
    }
    m = nnc_model_new(NULL);
    nnc_compile_opts co;
    if (!m) {
        nnc_msg(NNC_ERRBUF(err), "%s: out of memory", path);
        goto fail;
    }
    if (nnc_config_build(m, cfg, msg, sizeof msg) || nnc_compile_config_parse(ccfg, &co, msg, sizeof msg)) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", path, msg);
        goto fail;
    }
    /* Every variable must be in the file (nnc_load_tensors), so a config that needs more floats
     * than the file's data section holds is rejected before nnc_compile allocates them: a small
     * forged file must not make loading allocate gigabytes (found by fuzz/fuzz_model.c). */
    size_t have = f->bloblen / sizeof(float), need = 0;
    for (int p = 0; p < m->n_params; p++) {
        if (m->params[p].size > have - need) {
            nnc_msg(NNC_ERRBUF(err), "%s: the config's variables need more than the %zu bytes of tensor data "
                    "in the file", path, f->bloblen);
            goto fail;
        }
        need += m->params[p].size;
    }
    if (nnc_compile(m, &co)) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", path, nnc_last_error(m));
        goto fail;
    }
    if (nnc_load_tensors(m, f, path)) {
        nnc_msg(NNC_ERRBUF(err), "%s", nnc_last_error(m));
        goto fail;
    }
    progress pr;
    if (read_progress(m, f, path, &pr)) {
        nnc_msg(NNC_ERRBUF(err), "%s", nnc_last_error(m));
        goto fail;
    }
    apply_progress(m, &pr);
    const char *text = nnc_st_meta_get(f, "text_vectorization");
    if (text && nnc_text_vec_from_json(m, text, msg, sizeof msg)) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", path, msg);
        goto fail;
    }
    const char *cols = nnc_st_meta_get(f, "columns");
    if (cols && nnc_columns_from_json(m, cols, msg, sizeof msg)) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", path, msg);
        goto fail;
    }
    const char *quant = nnc_st_meta_get(f, "quantization");
    if (quant && nnc_quant_from_json(m, quant, msg, sizeof msg)) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", path, msg);
        goto fail;
    }
    nnc_json_free(cfg);
    nnc_json_free(ccfg);
    return m;
fail:
    nnc_model_free(m);
    nnc_json_free(cfg);
    nnc_json_free(ccfg);
    return NULL;
}

nnc_model *nnc_safetensors_load(const char *path, nnc_error *err) {
    char msg[512];
    nnc_st_file f;
    if (!path) {
        nnc_msg(NNC_ERRBUF(err), "load: no path");
        return NULL;
    }
    if (nnc_st_read(path, &f, msg, sizeof msg)) {
        /* A text file (a spec file, a CSV) given as a model deserves a plainer message. */
        FILE *t = fopen(path, "rb");
        unsigned char head[8];
        int text = t && fread(head, 1, 8, t) == 8;
        if (t) fclose(t);
        for (int i = 0; text && i < 8; i++) text = head[i] >= 9 && head[i] < 127;
        if (text) nnc_msg(NNC_ERRBUF(err), "%s: not a model file (it is text; a model file is safetensors, "
                               "as written by --save)", path);
        else nnc_msg(NNC_ERRBUF(err), "%s", msg);
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
        nnc_msg(NNC_ERRBUF(err), "%s", msg);
        return NULL;
    }
    nnc_model *m = model_from_st(&f, name, err);
    nnc_st_free(&f);
    return m;
}

nnc_status nnc_safetensors_load_weights(nnc_model *m, const char *path, int *resumed_epoch) {
    char msg[512];
    nnc_st_file f;
    int ignored;
    if (!resumed_epoch) resumed_epoch = &ignored;
    *resumed_epoch = 0;
    if (!m || !path) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "load weights: the model must be compiled first");
    if (nnc_st_read(path, &f, msg, sizeof msg)) return nnc_fail(m, NNC_ERR_FORMAT, "%s", msg);
    progress pr;
    nnc_status st = read_progress(m, &f, path, &pr);
    if (st) {
        nnc_st_free(&f);
        return st;
    }
    int64_t before = m->train->iterations;
    m->train->iterations = -1; /* tells whether the file's optimizer state was complete */
    st = nnc_load_tensors(m, &f, path);
    int resumed = st == NNC_OK && m->train->iterations >= 0;
    if (!resumed) m->train->iterations = st == NNC_OK ? 0 : before;
    if (resumed) {
        apply_progress(m, &pr);
        *resumed_epoch = m->train->epochs_done;
    }
    nnc_st_free(&f);
    return st;
}
