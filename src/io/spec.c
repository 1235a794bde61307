/* The model spec file (docs/SPEC.md): a small text format that builds and compiles a model.
 *
 *   1. One statement a line; '#' starts a comment, also after a statement; blank lines skip.
 *   2. Words are separated by whitespace. The first word is the statement: `input`, a layer
 *      keyword (Keras's class name in snake_case), `loss`, `optimizer`, `metrics` or `fit`.
 *   3. Other words are positional values (Keras's first constructor arguments, in order) or
 *      `key=value` (Keras's keyword arguments). A value is a number, `true`/`false`, a bare
 *      word, a list `[a,b]` or a call `name(arg,key=value)`, with no spaces inside.
 *   4. `input` comes first, then layers in order, then `loss` (required), `optimizer` (Keras's
 *      default rmsprop when absent), `metrics` (none when absent) and `fit` (epochs,
 *      batch_size, validation_split, shuffle).
 *   5. `callback NAME key=value...` lines, anywhere after the loss, attach Keras's callbacks
 *      (early_stopping, model_checkpoint, reduce_lr_on_plateau, csv_logger, terminate_on_nan,
 *      backup_and_restore) in order; the model owns them and nnc_model_fit_defaults hands
 *      them to fit.
 * Every error names the file, the line and the word at fault. Out of scope: functional graphs
 * (build those in C). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../train/train_impl.h"
#include "spec.h"
#include "../optim/optim.h"

#define MAX_WORDS 32
#define WORD_MAX 512 /* a 16-boundary piecewise_constant_decay fits */

typedef struct {
    char key[64];   /* "" for a positional value */
    char val[WORD_MAX];
    int used;
} spec_word;

typedef struct {
    const char *file;
    int line;
    const char *stmt;       /* the statement's keyword */
    spec_word w[MAX_WORDS]; /* the words after the keyword */
    int n;
    nnc_model *m;
    char *err;
    size_t errlen;
} spec_ctx;

static int fail(spec_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(spec_ctx *c, const char *fmt, ...) {
    size_t len = (size_t)snprintf(c->err, c->errlen, "%s:%d: ", c->file, c->line);
    if (len < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + len, c->errlen - len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- values ------------------------------------------------------------------------------ */

static int parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* The i-th positional word, or NULL. */
static spec_word *positional(spec_ctx *c, int i) {
    for (int k = 0; k < c->n; k++)
        if (!c->w[k].key[0] && i-- == 0) return &c->w[k];
    return NULL;
}

static spec_word *keyed(spec_ctx *c, const char *key) {
    for (int k = 0; k < c->n; k++)
        if (!strcmp(c->w[k].key, key)) return &c->w[k];
    return NULL;
}

/* The argument given as positional `pos` (-1: keyword only) or as key=...; NULL if absent. */
static spec_word *arg(spec_ctx *c, int pos, const char *key) {
    spec_word *w = keyed(c, key);
    if (!w && pos >= 0) w = positional(c, pos);
    if (w) w->used = 1;
    return w;
}

static int arg_int(spec_ctx *c, int pos, const char *key, long lo, long hi, int *out, int required) {
    spec_word *w = arg(c, pos, key);
    long v;
    if (!w) return required ? fail(c, "%s: missing %s", c->stmt, key) : 0;
    if (parse_long(w->val, &v) || v < lo || v > hi)
        return fail(c, "%s: bad value '%s' for %s (expected an integer in [%ld, %ld])", c->stmt,
                    w->val, key, lo, hi);
    *out = (int)v;
    return 0;
}

static int arg_float(spec_ctx *c, int pos, const char *key, double lo, double hi, float *out) {
    spec_word *w = arg(c, pos, key);
    double v;
    if (!w) return 0;
    if (parse_double(w->val, &v) || v < lo || v > hi)
        return fail(c, "%s: bad value '%s' for %s (expected a number in [%g, %g])", c->stmt,
                    w->val, key, lo, hi);
    *out = (float)v;
    return 0;
}

static int arg_bool(spec_ctx *c, const char *key, bool *out) {
    spec_word *w = arg(c, -1, key);
    if (!w) return 0;
    if (!strcmp(w->val, "true") || !strcmp(w->val, "True")) *out = true;
    else if (!strcmp(w->val, "false") || !strcmp(w->val, "False")) *out = false;
    else return fail(c, "%s: bad value '%s' for %s (expected true or false)", c->stmt, w->val, key);
    return 0;
}

static int arg_activation(spec_ctx *c, int pos, const char *key, nnc_activation *out) {
    spec_word *w = arg(c, pos, key);
    if (!w) return 0;
    if (nnc_activation_parse(w->val, out) == NNC_OK) return 0;
    char list[512];
    size_t len = 0;
    for (int i = 0; i < NNC_ACT_COUNT && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                nnc_activation_name((nnc_activation)i));
    return fail(c, "%s: unknown activation '%s' (one of %s)", c->stmt, w->val, list);
}

static int arg_initializer(spec_ctx *c, const char *key, nnc_initializer *out) {
    spec_word *w = arg(c, -1, key);
    nnc_init_kind k;
    if (!w) return 0;
    if (nnc_init_parse(w->val, &k)) return fail(c, "%s: unknown initializer '%s' for %s", c->stmt, w->val, key);
    *out = nnc_initializer_default(k);
    return 0;
}

/* A tuple of n positive integers: consecutive positional integers from `pos` (one value
 * means every axis), or key=INT or key=[a,b]. Returns 1 when given, 0 when absent, -1 on error. */
static int arg_tuple(spec_ctx *c, int pos, const char *key, int n, int lo, int *out) {
    spec_word *w = keyed(c, key);
    long v;
    if (w) {
        w->used = 1;
        const char *s = w->val;
        size_t len = strlen(s);
        if (s[0] == '[' && len >= 3 && s[len - 1] == ']') {
            char buf[WORD_MAX];
            int k = 0;
            snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), s + 1);
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (k == n || parse_long(tok, &v) || v < lo || v > (1 << 24))
                    return fail(c, "%s: bad value '%s' for %s (expected %d integers >= %d)", c->stmt, s, key, n, lo);
                out[k++] = (int)v;
            }
            if (k != n) return fail(c, "%s: bad value '%s' for %s (expected %d integers)", c->stmt, s, key, n);
            return 1;
        }
        if (parse_long(s, &v) || v < lo || v > (1 << 24))
            return fail(c, "%s: bad value '%s' for %s (expected an integer >= %d or a list)", c->stmt, s, key, lo);
        for (int k = 0; k < n; k++) out[k] = (int)v;
        return 1;
    }
    int k = 0;
    for (spec_word *p; k < n && pos >= 0 && (p = positional(c, pos + k)) && !p->used; k++) {
        if (parse_long(p->val, &v) || v < lo || v > (1 << 24))
            return fail(c, "%s: bad value '%s' for %s (expected an integer >= %d)", c->stmt, p->val, key, lo);
        p->used = 1;
        out[k] = (int)v;
    }
    if (k == 0) return 0;
    if (k == 1)
        for (int i = 1; i < n; i++) out[i] = out[0];
    else if (k != n)
        return fail(c, "%s: %s takes 1 or %d integers, got %d", c->stmt, key, n, k);
    return 1;
}

static int arg_padding(spec_ctx *c, bool *same) {
    spec_word *w = arg(c, -1, "padding");
    if (!w) return 0;
    if (strcmp(w->val, "same") && strcmp(w->val, "valid"))
        return fail(c, "%s: bad value '%s' for padding (expected valid or same)", c->stmt, w->val);
    *same = !strcmp(w->val, "same");
    return 0;
}

/* key=l1(x), l2(x) or l1_l2(l1=x,l2=y) (also positional: l1_l2(x,y)), as Keras's names. */
static int arg_regularizer(spec_ctx *c, const char *key, nnc_regularizer *out) {
    spec_word *w = arg(c, -1, key);
    if (!w) return 0;
    char name[16], args[WORD_MAX];
    const char *open = strchr(w->val, '(');
    size_t len = strlen(w->val);
    if (!open || (size_t)(open - w->val) >= sizeof name || w->val[len - 1] != ')')
        return fail(c, "%s: bad value '%s' for %s (expected l1(x), l2(x) or l1_l2(l1=x,l2=y))", c->stmt, w->val, key);
    snprintf(name, sizeof name, "%.*s", (int)(open - w->val), w->val);
    snprintf(args, sizeof args, "%.*s", (int)(len - (size_t)(open - w->val) - 2), open + 1);
    int is1 = !strcmp(name, "l1"), is2 = !strcmp(name, "l2"), both = !strcmp(name, "l1_l2");
    if (!is1 && !is2 && !both)
        return fail(c, "%s: unknown regularizer '%s' for %s (l1, l2 or l1_l2)", c->stmt, name, key);
    out->l1 = out->l2 = 0.0f;
    int pos = 0;
    for (char *save = NULL, *tok = strtok_r(args, ",", &save); tok; tok = strtok_r(NULL, ",", &save), pos++) {
        char *eq = strchr(tok, '=');
        const char *which = eq ? (*eq = '\0', tok) : (both ? (pos == 0 ? "l1" : "l2") : name);
        double v;
        if (parse_double(eq ? eq + 1 : tok, &v) || v < 0 || (strcmp(which, "l1") && strcmp(which, "l2")) ||
            (!both && strcmp(which, name)))
            return fail(c, "%s: bad value '%s' for %s", c->stmt, w->val, key);
        if (!strcmp(which, "l1")) out->l1 = (float)v;
        else out->l2 = (float)v;
    }
    if (pos == 0 && !both) return fail(c, "%s: %s needs a factor, e.g. %s(0.01)", c->stmt, name, name);
    if (both && pos == 0) out->l1 = out->l2 = 0.01f; /* Keras's l1_l2() defaults */
    return 0;
}

/* A layer name given with name=...; checked by the library. */
static const char *arg_name(spec_ctx *c) {
    spec_word *w = arg(c, -1, "name");
    return w ? w->val : NULL;
}

/* After a statement: every word must have been used. */
static int check_all_used(spec_ctx *c, const char *keys) {
    for (int k = 0; k < c->n; k++)
        if (!c->w[k].used) {
            if (c->w[k].key[0])
                return fail(c, "%s: unknown key '%s' (expected %s)", c->stmt, c->w[k].key, keys);
            return fail(c, "%s: unexpected value '%s'", c->stmt, c->w[k].val);
        }
    return 0;
}

/* ---- layers ------------------------------------------------------------------------------ */

static int built(spec_ctx *c, nnc_node out) {
    if (out != NNC_NONE) return 0;
    return fail(c, "%s", nnc_last_error(c->m));
}

static int layer_dense(spec_ctx *c) {
    nnc_dense_opts d = nnc_dense_opts_default(0);
    if (arg_int(c, 0, "units", 1, 1 << 24, &d.units, 1) || arg_activation(c, 1, "activation", &d.activation) ||
        arg_bool(c, "use_bias", &d.use_bias) || arg_initializer(c, "kernel_initializer", &d.kernel_initializer) ||
        arg_initializer(c, "bias_initializer", &d.bias_initializer) ||
        arg_regularizer(c, "kernel_regularizer", &d.kernel_regularizer) ||
        arg_regularizer(c, "bias_regularizer", &d.bias_regularizer) ||
        arg_regularizer(c, "activity_regularizer", &d.activity_regularizer))
        return -1;
    d.name = arg_name(c);
    if (check_all_used(c, "units, activation, use_bias, kernel_initializer, bias_initializer, "
                          "kernel_regularizer, bias_regularizer, activity_regularizer, name"))
        return -1;
    return built(c, nnc_dense(c->m, NNC_PREV, &d));
}

static int layer_activation(spec_ctx *c) {
    nnc_activation a = NNC_ACT_LINEAR;
    if (!positional(c, 0) && !keyed(c, "activation"))
        return fail(c, "activation: missing the activation's name");
    if (arg_activation(c, 0, "activation", &a)) return -1;
    const char *name = arg_name(c);
    if (check_all_used(c, "activation, name")) return -1;
    return built(c, nnc_activation_layer(c->m, NNC_PREV, a, name));
}

static int layer_rescaling(spec_ctx *c) {
    float scale = 1.0f, offset = 0.0f;
    if (!positional(c, 0) && !keyed(c, "scale")) return fail(c, "rescaling: missing scale");
    if (arg_float(c, 0, "scale", -1e30, 1e30, &scale) || arg_float(c, 1, "offset", -1e30, 1e30, &offset)) return -1;
    const char *name = arg_name(c);
    if (check_all_used(c, "scale, offset, name")) return -1;
    return built(c, nnc_rescaling(c->m, NNC_PREV, scale, offset, name));
}

static int layer_normalization(spec_ctx *c) {
    int axis = -1;
    if (arg_int(c, -1, "axis", -1, -1, &axis, 0)) return -1;
    const char *name = arg_name(c);
    if (check_all_used(c, "axis, name")) return -1;
    return built(c, nnc_normalization(c->m, NNC_PREV, name));
}

static int layer_leaky_relu(spec_ctx *c) {
    float slope = 0.3f; /* Keras's LeakyReLU layer default */
    if (arg_float(c, 0, "negative_slope", -1e6, 1e6, &slope)) return -1;
    const char *name = arg_name(c);
    if (check_all_used(c, "negative_slope, name")) return -1;
    return built(c, nnc_leaky_relu(c->m, NNC_PREV, slope, name));
}

static int layer_conv(spec_ctx *c, int two_d) {
    nnc_conv_opts o = nnc_conv_opts_default(0, 1);
    int dims = two_d ? 2 : 1;
    if (arg_int(c, 0, "filters", 1, 1 << 24, &o.filters, 1)) return -1;
    int k = arg_tuple(c, 1, "kernel_size", dims, 1, o.kernel_size);
    if (k < 0) return -1;
    if (k == 0) return fail(c, "%s: missing kernel_size (e.g. '%s 32 3')", c->stmt, c->stmt);
    if (arg_tuple(c, -1, "strides", dims, 1, o.strides) < 0 ||
        arg_tuple(c, -1, "dilation_rate", dims, 1, o.dilation_rate) < 0 || arg_padding(c, &o.padding_same) ||
        arg_activation(c, -1, "activation", &o.activation) || arg_bool(c, "use_bias", &o.use_bias) ||
        arg_initializer(c, "kernel_initializer", &o.kernel_initializer) ||
        arg_initializer(c, "bias_initializer", &o.bias_initializer) ||
        arg_regularizer(c, "kernel_regularizer", &o.kernel_regularizer) ||
        arg_regularizer(c, "bias_regularizer", &o.bias_regularizer) ||
        arg_regularizer(c, "activity_regularizer", &o.activity_regularizer))
        return -1;
    o.name = arg_name(c);
    if (check_all_used(c, "filters, kernel_size, strides, padding, dilation_rate, activation, use_bias, "
                          "kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, "
                          "activity_regularizer, name"))
        return -1;
    return built(c, two_d ? nnc_conv2d(c->m, NNC_PREV, &o) : nnc_conv1d(c->m, NNC_PREV, &o));
}

static int layer_conv2d(spec_ctx *c) { return layer_conv(c, 1); }
static int layer_conv1d(spec_ctx *c) { return layer_conv(c, 0); }

static int layer_pool(spec_ctx *c, int is_max) {
    nnc_pool_opts o = nnc_pool_opts_default(2);
    if (arg_tuple(c, 0, "pool_size", 2, 1, o.pool_size) < 0 || arg_tuple(c, -1, "strides", 2, 1, o.strides) < 0 ||
        arg_padding(c, &o.padding_same))
        return -1;
    o.name = arg_name(c);
    if (check_all_used(c, "pool_size, strides, padding, name")) return -1;
    return built(c, is_max ? nnc_max_pooling2d(c->m, NNC_PREV, &o) : nnc_average_pooling2d(c->m, NNC_PREV, &o));
}

static int layer_max_pool(spec_ctx *c) { return layer_pool(c, 1); }
static int layer_avg_pool(spec_ctx *c) { return layer_pool(c, 0); }

static int layer_global(spec_ctx *c, int is_max) {
    const char *name = arg_name(c);
    if (check_all_used(c, "name")) return -1;
    return built(c, is_max ? nnc_global_max_pooling2d(c->m, NNC_PREV, name)
                           : nnc_global_average_pooling2d(c->m, NNC_PREV, name));
}

static int layer_global_avg(spec_ctx *c) { return layer_global(c, 0); }
static int layer_global_max(spec_ctx *c) { return layer_global(c, 1); }

static int layer_flatten(spec_ctx *c) {
    const char *name = arg_name(c);
    if (check_all_used(c, "name")) return -1;
    return built(c, nnc_flatten(c->m, NNC_PREV, name));
}

static int layer_reshape(spec_ctx *c) {
    int dims[NNC_MAX_RANK], rank = 0;
    long v;
    spec_word *t = arg(c, -1, "target_shape");
    if (t) {
        char buf[WORD_MAX];
        size_t len = strlen(t->val);
        if (len < 3 || t->val[0] != '[' || t->val[len - 1] != ']')
            return fail(c, "reshape: bad value '%s' for target_shape (expected a list)", t->val);
        snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), t->val + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (rank == NNC_MAX_RANK || parse_long(tok, &v) || v < 1 || v > (1 << 24))
                return fail(c, "reshape: bad value '%s' for target_shape", t->val);
            dims[rank++] = (int)v;
        }
    } else {
        for (spec_word *p; (p = positional(c, rank)) && rank < NNC_MAX_RANK; rank++) {
            if (parse_long(p->val, &v) || v < 1 || v > (1 << 24))
                return fail(c, "reshape: bad dimension '%s'", p->val);
            p->used = 1;
            dims[rank] = (int)v;
        }
    }
    const char *name = arg_name(c);
    if (check_all_used(c, "target_shape, name")) return -1;
    if (rank == 0) return fail(c, "reshape: missing the target shape (e.g. 'reshape 8 8 1')");
    return built(c, nnc_reshape(c->m, NNC_PREV, dims, rank, name));
}

static int layer_zero_pad(spec_ctx *c) {
    int p[4] = {1, 1, 1, 1}, n = 0;
    long v;
    for (spec_word *w; n < 4 && (w = positional(c, n)); n++) {
        if (parse_long(w->val, &v) || v < 0 || v > (1 << 16)) return fail(c, "zero_padding2d: bad padding '%s'", w->val);
        w->used = 1;
        p[n] = (int)v;
    }
    if (n == 1) p[1] = p[2] = p[3] = p[0];               /* one value: every side */
    else if (n == 2) p[3] = p[2] = p[1], p[1] = p[0];    /* (rows, columns) */
    else if (n == 3) return fail(c, "zero_padding2d: give 1, 2 or 4 integers");
    const char *name = arg_name(c);
    if (check_all_used(c, "name")) return -1;
    return built(c, nnc_zero_padding2d(c->m, NNC_PREV, p[0], p[1], p[2], p[3], name));
}

static int layer_dropout(spec_ctx *c) {
    float rate = -1.0f;
    if (arg_float(c, 0, "rate", 0, 0.999999, &rate)) return -1;
    if (rate < 0.0f) return fail(c, "dropout: missing rate (e.g. 'dropout 0.5')");
    const char *name = arg_name(c);
    if (check_all_used(c, "rate, name")) return -1;
    return built(c, nnc_dropout(c->m, NNC_PREV, rate, name));
}

static int layer_batch_norm(spec_ctx *c) {
    nnc_batch_norm_opts o = nnc_batch_norm_opts_default();
    int axis = -1;
    if (arg_int(c, -1, "axis", -1, -1, &axis, 0) || arg_float(c, -1, "momentum", 0, 1, &o.momentum) ||
        arg_float(c, -1, "epsilon", 1e-30, 1, &o.epsilon) || arg_bool(c, "center", &o.center) ||
        arg_bool(c, "scale", &o.scale))
        return -1;
    o.name = arg_name(c);
    if (check_all_used(c, "axis, momentum, epsilon, center, scale, name")) return -1;
    return built(c, nnc_batch_normalization(c->m, NNC_PREV, &o));
}

static const struct {
    const char *keyword;
    int (*build)(spec_ctx *c);
} layer_table[] = {
    {"conv2d", layer_conv2d},
    {"conv1d", layer_conv1d},
    {"max_pooling2d", layer_max_pool},
    {"average_pooling2d", layer_avg_pool},
    {"global_average_pooling2d", layer_global_avg},
    {"global_max_pooling2d", layer_global_max},
    {"flatten", layer_flatten},
    {"reshape", layer_reshape},
    {"zero_padding2d", layer_zero_pad},
    {"dropout", layer_dropout},
    {"batch_normalization", layer_batch_norm},
    {"dense", layer_dense},
    {"activation", layer_activation},
    {"rescaling", layer_rescaling},
    {"normalization", layer_normalization},
    {"leaky_relu", layer_leaky_relu},
};

/* ---- the other statements -------------------------------------------------------------- */

static int stmt_input(spec_ctx *c) {
    int dims[NNC_MAX_RANK], rank = 0;
    spec_word *shape = arg(c, -1, "shape");
    if (shape) {
        /* shape=[28,28,1] */
        const char *s = shape->val;
        size_t len = strlen(s);
        if (len < 3 || s[0] != '[' || s[len - 1] != ']')
            return fail(c, "input: bad value '%s' for shape (expected a list like [28,28,1])", s);
        char buf[WORD_MAX];
        snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), s + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            long v;
            if (rank == NNC_MAX_RANK || parse_long(tok, &v) || v < 1 || v > (1 << 24))
                return fail(c, "input: bad value '%s' for shape", s);
            dims[rank++] = (int)v;
        }
    }
    for (spec_word *w; (w = positional(c, rank - (shape ? rank : 0))) && !w->used;) {
        long v;
        w->used = 1;
        if (shape || rank == NNC_MAX_RANK || parse_long(w->val, &v) || v < 1 || v > (1 << 24))
            return fail(c, "input: bad dimension '%s' (expected up to %d positive integers)", w->val,
                        NNC_MAX_RANK);
        dims[rank++] = (int)v;
    }
    const char *name = arg_name(c);
    if (check_all_used(c, "shape, name")) return -1;
    if (rank == 0) return fail(c, "input: missing the shape (e.g. 'input 64' or 'input 28 28 1')");
    return built(c, nnc_input(c->m, dims, rank, name));
}

static int stmt_loss(spec_ctx *c, nnc_loss *L) {
    spec_word *w = positional(c, 0);
    nnc_loss_kind k;
    if (!w) return fail(c, "loss: missing the loss's name");
    w->used = 1;
    if (nnc_loss_parse(w->val, &k)) {
        char list[512];
        size_t len = 0;
        for (int i = 0; i < NNC_LOSS_COUNT && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    nnc_loss_name((nnc_loss_kind)i));
        return fail(c, "loss: unknown loss '%s' (one of %s, or mse, mae)", w->val, list);
    }
    *L = nnc_loss_default(k);
    if (arg_bool(c, "from_logits", &L->from_logits) || arg_float(c, -1, "delta", 1e-30, 1e30, &L->delta))
        return -1;
    return check_all_used(c, "from_logits, delta");
}

/* A bool given as positional `pos` (-1: keyword only) or key=true/false. */
static int arg_bool_at(spec_ctx *c, int pos, const char *key, bool *out) {
    spec_word *w = arg(c, pos, key);
    if (!w) return 0;
    if (!strcmp(w->val, "true") || !strcmp(w->val, "True")) *out = true;
    else if (!strcmp(w->val, "false") || !strcmp(w->val, "False")) *out = false;
    else return fail(c, "%s: bad value '%s' for %s (expected true or false)", c->stmt, w->val, key);
    return 0;
}

/* An argument that must be given, as positional `pos` or key=...; its absence is the error. */
static int required(spec_ctx *c, int pos, const char *key) {
    if (keyed(c, key) || (pos >= 0 && positional(c, pos))) return 0;
    return fail(c, "%s: missing %s", c->stmt, key);
}

/* A list `[a,b,...]` of at most max numbers given as positional `pos` or key=[...]: doubles
 * into out; *n gets the count. Returns -1 on error (and when absent). */
static int arg_list(spec_ctx *c, int pos, const char *key, int max, double *out, int *n) {
    spec_word *w = arg(c, pos, key);
    if (!w) return fail(c, "%s: missing %s", c->stmt, key);
    size_t len = strlen(w->val);
    *n = 0;
    if (len < 3 || w->val[0] != '[' || w->val[len - 1] != ']')
        return fail(c, "%s: bad value '%s' for %s (expected a list like [100,200])", c->stmt, w->val, key);
    char buf[WORD_MAX];
    snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), w->val + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == max)
            return fail(c, "%s: %s holds more than %d numbers", c->stmt, key, max);
        if (parse_double(tok, &out[*n]))
            return fail(c, "%s: bad value '%s' in %s (expected numbers)", c->stmt, tok, key);
        (*n)++;
    }
    return 0;
}

/* learning_rate=NAME(ARGS): a keras.optimizers.schedules class in snake_case (or its class
 * name), its arguments positional in the constructor's order or key=value, separated by
 * commas (lists [a,b] inside). The words go into a context of their own, so that the usual
 * argument readers and messages apply; messages name the whole learning_rate word. */
static int spec_schedule(spec_ctx *c, const char *text, nnc_schedule *s) {
    const char *open = strchr(text, '(');
    size_t len = strlen(text);
    if (!open || open == text || len < 3 || text[len - 1] != ')')
        return fail(c, "optimizer: bad value '%s' for learning_rate (expected a number or a schedule "
                       "such as exponential_decay(0.1,decay_steps=100,decay_rate=0.96))", text);
    char name[64], what[WORD_MAX + 32];
    snprintf(name, sizeof name, "%.*s", (int)(open - text) < 63 ? (int)(open - text) : 63, text);
    nnc_schedule_kind k;
    if (nnc_schedule_parse(name, &k)) {
        char list[256];
        size_t n = 0;
        for (int i = 1; i < NNC_SCHEDULE_COUNT && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i > 1 ? ", " : "",
                                  nnc_schedule_name((nnc_schedule_kind)i));
        return fail(c, "optimizer: unknown learning-rate schedule '%s' in learning_rate=%s (one of %s)",
                    name, text, list);
    }
    snprintf(what, sizeof what, "optimizer: learning_rate=%s", text);
    spec_ctx sub;
    memset(&sub, 0, sizeof sub);
    sub.file = c->file;
    sub.line = c->line;
    sub.stmt = what;
    sub.m = c->m;
    sub.err = c->err;
    sub.errlen = c->errlen;
    /* split the arguments at the commas outside brackets */
    const char *p = open + 1, *end = text + len - 1;
    while (p < end) {
        const char *q = p;
        int depth = 0;
        while (q < end && (depth > 0 || *q != ',')) {
            depth += (*q == '[' || *q == '(') - (*q == ']' || *q == ')');
            q++;
        }
        if (q == p) return fail(&sub, "%s: an empty argument", what);
        if (sub.n == MAX_WORDS) return fail(&sub, "%s: more than %d arguments", what, MAX_WORDS);
        spec_word *w = &sub.w[sub.n++];
        memset(w, 0, sizeof *w);
        const char *eq = memchr(p, '=', (size_t)(q - p)), *br = memchr(p, '[', (size_t)(q - p));
        if (eq && (!br || eq < br)) {
            if (eq == p || (size_t)(eq - p) >= sizeof w->key || eq + 1 == q)
                return fail(&sub, "%s: bad argument '%.*s'", what, (int)(q - p), p);
            snprintf(w->key, sizeof w->key, "%.*s", (int)(eq - p), p);
            snprintf(w->val, sizeof w->val, "%.*s", (int)(q - eq - 1), eq + 1);
            for (int i = 0; i + 1 < sub.n; i++)
                if (!strcmp(sub.w[i].key, w->key)) return fail(&sub, "%s: %s given twice", what, w->key);
        } else {
            snprintf(w->val, sizeof w->val, "%.*s", (int)(q - p), p);
        }
        p = q < end ? q + 1 : q;
        if (q < end && p == end) return fail(&sub, "%s: an empty argument", what);
    }
    *s = nnc_schedule_default(k);
    const double big = 3.4e38;
    const char *keys = "";
    int rc = 0;
    switch (k) {
    case NNC_SCHEDULE_EXPONENTIAL_DECAY:
    case NNC_SCHEDULE_INVERSE_TIME_DECAY:
        rc = required(&sub, 0, "initial_learning_rate") || required(&sub, 1, "decay_steps") ||
             required(&sub, 2, "decay_rate") ||
             arg_float(&sub, 0, "initial_learning_rate", 0, big, &s->initial_learning_rate) ||
             arg_float(&sub, 1, "decay_steps", -big, big, &s->decay_steps) ||
             arg_float(&sub, 2, "decay_rate", 0, big, &s->decay_rate) ||
             arg_bool_at(&sub, 3, "staircase", &s->staircase);
        keys = "initial_learning_rate, decay_steps, decay_rate, staircase";
        break;
    case NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY: {
        double b[NNC_MAX_BOUNDARIES + 1], v[NNC_MAX_BOUNDARIES + 2];
        int nb = 0, nv = 0;
        rc = arg_list(&sub, 0, "boundaries", NNC_MAX_BOUNDARIES, b, &nb) ||
             arg_list(&sub, 1, "values", NNC_MAX_BOUNDARIES + 1, v, &nv);
        if (!rc && nv != nb + 1)
            rc = fail(&sub, "%s: values needs one number more than boundaries (%d boundaries, %d values)",
                      what, nb, nv);
        for (int i = 0; !rc && i < nb; i++) {
            if (b[i] != floor(b[i]) || fabs(b[i]) > 9e15)
                rc = fail(&sub, "%s: boundaries must be integers (steps), not %g", what, b[i]);
            else
                s->boundaries[i] = (int64_t)b[i];
        }
        for (int i = 0; !rc && i < nv; i++) s->values[i] = (float)v[i];
        s->n_boundaries = nb;
        keys = "boundaries, values";
        break;
    }
    case NNC_SCHEDULE_POLYNOMIAL_DECAY:
        rc = required(&sub, 0, "initial_learning_rate") || required(&sub, 1, "decay_steps") ||
             arg_float(&sub, 0, "initial_learning_rate", 0, big, &s->initial_learning_rate) ||
             arg_float(&sub, 1, "decay_steps", -big, big, &s->decay_steps) ||
             arg_float(&sub, 2, "end_learning_rate", 0, big, &s->end_learning_rate) ||
             arg_float(&sub, 3, "power", 0, big, &s->power) || arg_bool_at(&sub, 4, "cycle", &s->cycle);
        keys = "initial_learning_rate, decay_steps, end_learning_rate, power, cycle";
        break;
    case NNC_SCHEDULE_COSINE_DECAY: {
        spec_word *wt = keyed(&sub, "warmup_target");
        rc = required(&sub, 0, "initial_learning_rate") || required(&sub, 1, "decay_steps") ||
             arg_float(&sub, 0, "initial_learning_rate", 0, big, &s->initial_learning_rate) ||
             arg_float(&sub, 1, "decay_steps", -big, big, &s->decay_steps) ||
             arg_float(&sub, 2, "alpha", 0, 1, &s->alpha);
        if (!rc && wt && strcmp(wt->val, "None") && strcmp(wt->val, "none")) {
            rc = arg_float(&sub, -1, "warmup_target", 0, big, &s->warmup_target);
            s->warmup = true;
        } else if (wt) {
            wt->used = 1;
        }
        if (!rc) rc = arg_float(&sub, -1, "warmup_steps", 0, big, &s->warmup_steps);
        keys = "initial_learning_rate, decay_steps, alpha, warmup_target, warmup_steps";
        break;
    }
    default: /* NNC_SCHEDULE_COSINE_DECAY_RESTARTS */
        rc = required(&sub, 0, "initial_learning_rate") || required(&sub, 1, "first_decay_steps") ||
             arg_float(&sub, 0, "initial_learning_rate", 0, big, &s->initial_learning_rate) ||
             arg_float(&sub, 1, "first_decay_steps", -big, big, &s->decay_steps) ||
             arg_float(&sub, 2, "t_mul", -big, big, &s->t_mul) ||
             arg_float(&sub, 3, "m_mul", 0, big, &s->m_mul) || arg_float(&sub, 4, "alpha", 0, 1, &s->alpha);
        keys = "initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha";
        break;
    }
    if (rc || check_all_used(&sub, keys)) return -1;
    const char *bad = nnc_schedule_check(s);
    return bad ? fail(&sub, "%s: %s", what, bad) : 0;
}

static int stmt_optimizer(spec_ctx *c, nnc_optimizer *o) {
    spec_word *w = positional(c, 0);
    if (!w) return fail(c, "optimizer: missing the optimizer's name");
    w->used = 1;
    if (nnc_optimizer_parse(w->val, o))
        return fail(c, "optimizer: unknown optimizer '%s' (one of sgd, adam, rmsprop, adagrad, adadelta, "
                       "adamw, nadam, adamax)", w->val);
    spec_word *lr = keyed(c, "learning_rate");
    if (lr && strchr(lr->val, '(')) {
        lr->used = 1;
        if (spec_schedule(c, lr->val, &o->schedule)) return -1;
        o->learning_rate = o->schedule.kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY
                               ? o->schedule.values[0] : o->schedule.initial_learning_rate;
    } else if (arg_float(c, -1, "learning_rate", 0, 3.4e38, &o->learning_rate)) {
        return -1;
    }
    /* Keras's base-optimizer arguments, then each class's own (an argument the class does not
     * take is an unknown key, as Keras's "Argument(s) not recognized"). */
    if (arg_float(c, -1, "weight_decay", 0, 3.4e38, &o->weight_decay) ||
        arg_float(c, -1, "clipnorm", 0, 3.4e38, &o->clipnorm) ||
        arg_float(c, -1, "clipvalue", 0, 3.4e38, &o->clipvalue) ||
        arg_float(c, -1, "global_clipnorm", 0, 3.4e38, &o->global_clipnorm))
        return -1;
    const char *keys;
    int rc;
    switch (o->kind) {
    case NNC_OPT_SGD:
        rc = arg_float(c, -1, "momentum", 0, 1, &o->momentum) || arg_bool(c, "nesterov", &o->nesterov);
        keys = "learning_rate, momentum, nesterov";
        break;
    case NNC_OPT_RMSPROP:
        rc = arg_float(c, -1, "rho", 0, 0.999999999, &o->rho) || arg_float(c, -1, "momentum", 0, 1, &o->momentum) ||
             arg_float(c, -1, "epsilon", 0, 1, &o->epsilon) || arg_bool(c, "centered", &o->centered);
        keys = "learning_rate, rho, momentum, epsilon, centered";
        break;
    case NNC_OPT_ADAGRAD:
        rc = arg_float(c, -1, "initial_accumulator_value", 0, 3.4e38, &o->initial_accumulator_value) ||
             arg_float(c, -1, "epsilon", 0, 1, &o->epsilon);
        keys = "learning_rate, initial_accumulator_value, epsilon";
        break;
    case NNC_OPT_ADADELTA:
        rc = arg_float(c, -1, "rho", 0, 0.999999999, &o->rho) || arg_float(c, -1, "epsilon", 0, 1, &o->epsilon);
        keys = "learning_rate, rho, epsilon";
        break;
    default: /* Adam, AdamW, Nadam, Adamax */
        rc = arg_float(c, -1, "beta_1", 0, 0.999999999, &o->beta_1) ||
             arg_float(c, -1, "beta_2", 0, 0.999999999, &o->beta_2) ||
             arg_float(c, -1, "epsilon", 0, 1, &o->epsilon);
        keys = "learning_rate, beta_1, beta_2, epsilon";
        if (!rc && (o->kind == NNC_OPT_ADAM || o->kind == NNC_OPT_ADAMW)) {
            rc = arg_bool(c, "amsgrad", &o->amsgrad);
            keys = "learning_rate, beta_1, beta_2, epsilon, amsgrad";
        }
        break;
    }
    if (rc) return -1;
    char expected[192];
    snprintf(expected, sizeof expected, "%s, weight_decay, clipnorm, clipvalue, global_clipnorm", keys);
    if (check_all_used(c, expected)) return -1;
    const char *bad = nnc_optimizer_check(o);
    return bad ? fail(c, "optimizer: %s: %s", nnc_optimizer_name(o->kind), bad) : 0;
}

static int stmt_metrics(spec_ctx *c, nnc_compile_opts *co) {
    for (int k = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        if (w->key[0]) return fail(c, "metrics: unexpected key '%s' (list metric names)", w->key);
        if (co->n_metrics == NNC_MAX_METRICS) return fail(c, "metrics: at most %d", NNC_MAX_METRICS);
        if (nnc_metric_parse(w->val, &co->metrics[co->n_metrics]))
            return fail(c, "metrics: unknown metric '%s' (one of accuracy, mse, mae)", w->val);
        co->n_metrics++;
        w->used = 1;
    }
    return 0;
}

static int stmt_fit(spec_ctx *c) {
    int epochs = 0, bs = 0, spu = 0;
    float split = -1.0f;
    bool shuffle = true;
    spec_word *sh = keyed(c, "shuffle");
    if (arg_int(c, -1, "epochs", 1, 1 << 30, &epochs, 0) || arg_int(c, -1, "batch_size", 1, 1 << 30, &bs, 0) ||
        arg_float(c, -1, "validation_split", 0, 0.999999, &split) || arg_bool(c, "shuffle", &shuffle) ||
        arg_int(c, -1, "steps_per_update", 1, 1 << 20, &spu, 0))
        return -1;
    spec_word *cw = arg(c, -1, "class_weight");
    if (cw) {
        /* class_weight=[w0,w1,...]: the weight of each class label, as Keras's dict */
        char buf[WORD_MAX];
        size_t len = strlen(cw->val);
        int k = 0;
        double v;
        if (len < 3 || cw->val[0] != '[' || cw->val[len - 1] != ']')
            return fail(c, "fit: bad value '%s' for class_weight (expected a list like [1,2.5,1])", cw->val);
        snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), cw->val + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (k == 64 || parse_double(tok, &v) || v < 0)
                return fail(c, "fit: bad value '%s' for class_weight (up to 64 numbers >= 0)", cw->val);
            c->m->train->spec_fit.class_weight[k++] = (float)v;
        }
        c->m->train->spec_fit.n_class_weights = k;
    }
    if (check_all_used(c, "epochs, batch_size, validation_split, shuffle, steps_per_update, class_weight")) return -1;
    c->m->train->spec_fit.steps_per_update = spu;
    c->m->train->spec_fit.epochs = epochs;
    c->m->train->spec_fit.batch_size = bs;
    c->m->train->spec_fit.validation_split = split;
    c->m->train->spec_fit.shuffle = sh ? shuffle : -1;
    return 0;
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static int arg_double(spec_ctx *c, int pos, const char *key, double lo, double hi, int none_ok,
                      double *out) {
    spec_word *w = arg(c, pos, key);
    double v;
    if (!w) return 0;
    if (none_ok && (!strcmp(w->val, "None") || !strcmp(w->val, "none"))) {
        *out = (double)NAN;
        return 0;
    }
    if (parse_double(w->val, &v) || v < lo || v > hi)
        return fail(c, "%s: bad value '%s' for %s (expected a number in [%g, %g]%s)", c->stmt, w->val,
                    key, lo, hi, none_ok ? " or None" : "");
    *out = v;
    return 0;
}

static int arg_word(spec_ctx *c, int pos, const char *key, const char **out) {
    spec_word *w = arg(c, pos, key);
    if (w) *out = w->val;
    return 0;
}

static int arg_mode(spec_ctx *c, nnc_monitor_mode *out) {
    spec_word *w = arg(c, -1, "mode");
    if (!w) return 0;
    if (!strcmp(w->val, "auto")) *out = NNC_MODE_AUTO;
    else if (!strcmp(w->val, "min")) *out = NNC_MODE_MIN;
    else if (!strcmp(w->val, "max")) *out = NNC_MODE_MAX;
    else return fail(c, "%s: bad value '%s' for mode (expected auto, min or max)", c->stmt, w->val);
    return 0;
}

/* The constructor's verdict: its message already names the callback and the value. */
static int made(spec_ctx *c, nnc_callback *cb, const nnc_error *e, nnc_callback **out) {
    if (!cb) return fail(c, "callback %s", e->message);
    *out = cb;
    return 0;
}

static int cb_early_stopping(spec_ctx *c, nnc_callback **out) {
    nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
    nnc_error e = {""};
    if (arg_word(c, 1, "monitor", &o.monitor) || arg_double(c, -1, "min_delta", 0, 1e300, 0, &o.min_delta) ||
        arg_int(c, -1, "patience", 0, 1 << 30, &o.patience, 0) || arg_int(c, -1, "verbose", 0, 2, &o.verbose, 0) ||
        arg_mode(c, &o.mode) || arg_double(c, -1, "baseline", -1e300, 1e300, 1, &o.baseline) ||
        arg_bool(c, "restore_best_weights", &o.restore_best_weights) ||
        arg_int(c, -1, "start_from_epoch", 0, 1 << 30, &o.start_from_epoch, 0) ||
        check_all_used(c, "monitor, min_delta, patience, verbose, mode, baseline, restore_best_weights, "
                          "start_from_epoch"))
        return -1;
    return made(c, nnc_early_stopping(&o, &e), &e, out);
}

static int cb_model_checkpoint(spec_ctx *c, nnc_callback **out) {
    nnc_model_checkpoint_opts o = nnc_model_checkpoint_opts_default(NULL);
    nnc_error e = {""};
    if (arg_word(c, 1, "filepath", &o.filepath) || arg_word(c, -1, "monitor", &o.monitor) ||
        arg_int(c, -1, "verbose", 0, 2, &o.verbose, 0) || arg_bool(c, "save_best_only", &o.save_best_only) ||
        arg_bool(c, "save_weights_only", &o.save_weights_only) || arg_mode(c, &o.mode) ||
        arg_double(c, -1, "initial_value_threshold", -1e300, 1e300, 1, &o.initial_value_threshold) ||
        check_all_used(c, "filepath, monitor, verbose, save_best_only, save_weights_only, mode, "
                          "initial_value_threshold"))
        return -1;
    if (!o.filepath) return fail(c, "%s: missing filepath (e.g. filepath=ckpt-{epoch:02d}.safetensors)", c->stmt);
    return made(c, nnc_model_checkpoint(&o, &e), &e, out);
}

static int cb_reduce_lr(spec_ctx *c, nnc_callback **out) {
    nnc_reduce_lr_opts o = nnc_reduce_lr_opts_default();
    nnc_error e = {""};
    if (arg_word(c, 1, "monitor", &o.monitor) || arg_double(c, -1, "factor", -1e300, 1e300, 0, &o.factor) ||
        arg_int(c, -1, "patience", 0, 1 << 30, &o.patience, 0) || arg_int(c, -1, "verbose", 0, 2, &o.verbose, 0) ||
        arg_mode(c, &o.mode) || arg_double(c, -1, "min_delta", 0, 1e300, 0, &o.min_delta) ||
        arg_int(c, -1, "cooldown", 0, 1 << 30, &o.cooldown, 0) ||
        arg_double(c, -1, "min_lr", 0, 3.4e38, 0, &o.min_lr) ||
        check_all_used(c, "monitor, factor, patience, verbose, mode, min_delta, cooldown, min_lr"))
        return -1;
    return made(c, nnc_reduce_lr_on_plateau(&o, &e), &e, out);
}

static int cb_csv_logger(spec_ctx *c, nnc_callback **out) {
    nnc_csv_logger_opts o = nnc_csv_logger_opts_default(NULL);
    nnc_error e = {""};
    const char *sep = NULL;
    if (arg_word(c, 1, "filename", &o.filename) || arg_word(c, -1, "separator", &sep) ||
        arg_bool(c, "append", &o.append) || check_all_used(c, "filename, separator, append"))
        return -1;
    if (!o.filename) return fail(c, "%s: missing filename (e.g. filename=log.csv)", c->stmt);
    if (sep) {
        if (!strcmp(sep, "\\t")) o.separator = '\t';
        else if (strlen(sep) == 1) o.separator = sep[0];
        else return fail(c, "%s: bad value '%s' for separator (expected one character, or \\t)", c->stmt, sep);
    }
    return made(c, nnc_csv_logger(&o, &e), &e, out);
}

static int cb_terminate_on_nan(spec_ctx *c, nnc_callback **out) {
    if (check_all_used(c, "no keys")) return -1;
    *out = nnc_terminate_on_nan();
    return *out ? 0 : fail(c, "%s: out of memory", c->stmt);
}

static int cb_backup_and_restore(spec_ctx *c, nnc_callback **out) {
    nnc_backup_and_restore_opts o = nnc_backup_and_restore_opts_default(NULL);
    nnc_error e = {""};
    if (arg_word(c, 1, "backup_dir", &o.backup_dir) || arg_bool(c, "delete_checkpoint", &o.delete_checkpoint) ||
        check_all_used(c, "backup_dir, delete_checkpoint"))
        return -1;
    if (!o.backup_dir) return fail(c, "%s: missing backup_dir (e.g. backup_dir=backup)", c->stmt);
    return made(c, nnc_backup_and_restore(&o, &e), &e, out);
}

static const struct {
    const char *name;
    int (*build)(spec_ctx *c, nnc_callback **out);
} callback_table[] = {
    {"early_stopping", cb_early_stopping},
    {"model_checkpoint", cb_model_checkpoint},
    {"reduce_lr_on_plateau", cb_reduce_lr},
    {"csv_logger", cb_csv_logger},
    {"terminate_on_nan", cb_terminate_on_nan},
    {"backup_and_restore", cb_backup_and_restore},
};

static int edit_distance(const char *a, const char *b);

static int stmt_callback(spec_ctx *c) {
    const size_t n = sizeof callback_table / sizeof *callback_table;
    char names[256];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", callback_table[i].name);
    spec_word *w = positional(c, 0);
    if (!w) return fail(c, "callback: missing the callback's name (one of %s)", names);
    w->used = 1;
    size_t i = 0;
    while (i < n && strcmp(w->val, callback_table[i].name)) i++;
    if (i == n) {
        const char *best = NULL;
        int bd = 4;
        for (size_t k = 0; k < n; k++) {
            int d = edit_distance(w->val, callback_table[k].name);
            if (d < bd) bd = d, best = callback_table[k].name;
        }
        if (best) return fail(c, "callback: unknown callback '%s' (did you mean '%s'?)", w->val, best);
        return fail(c, "callback: unknown callback '%s' (one of %s)", w->val, names);
    }
    nnc_model *m = c->m;
    if (m->train->n_spec_callbacks == NNC_MAX_SPEC_CALLBACKS)
        return fail(c, "callback: at most %d callback lines", NNC_MAX_SPEC_CALLBACKS);
    char stmt[96];
    snprintf(stmt, sizeof stmt, "callback %s", callback_table[i].name);
    const char *saved = c->stmt;
    c->stmt = stmt;
    nnc_callback *cb = NULL;
    int rc = callback_table[i].build(c, &cb);
    c->stmt = saved;
    if (rc) return rc;
    m->train->spec_callbacks[m->train->n_spec_callbacks++] = cb;
    return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

/* Levenshtein distance, for "did you mean" hints on unknown keywords. */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b), d[32][32];
    if (la > 30 || lb > 30) return 99;
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static const char *const statements[] = {"input", "loss", "optimizer", "metrics", "fit", "callback"};

static int unknown_statement(spec_ctx *c) {
    const char *best = NULL;
    int bd = 3;
    for (size_t i = 0; i < sizeof layer_table / sizeof *layer_table; i++) {
        int d = edit_distance(c->stmt, layer_table[i].keyword);
        if (d < bd) bd = d, best = layer_table[i].keyword;
    }
    for (size_t i = 0; i < sizeof statements / sizeof *statements; i++) {
        int d = edit_distance(c->stmt, statements[i]);
        if (d < bd) bd = d, best = statements[i];
    }
    if (best) return fail(c, "unknown layer or statement '%s' (did you mean '%s'?)", c->stmt, best);
    return fail(c, "unknown layer or statement '%s'", c->stmt);
}

/* Splits one line into the statement keyword and its words; 0 for a blank line, 1 for a
 * statement, -1 on error. */
static int split_line(spec_ctx *c, char *line, char **stmt) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    c->n = 0;
    *stmt = NULL;
    for (char *save = NULL, *tok = strtok_r(line, " \t\r\v\f", &save); tok; tok = strtok_r(NULL, " \t\r\v\f", &save)) {
        if (!*stmt) {
            *stmt = tok;
            continue;
        }
        if (c->n == MAX_WORDS) return fail(c, "%s: more than %d words", *stmt, MAX_WORDS);
        if (strlen(tok) >= WORD_MAX) return fail(c, "%s: word '%.32s...' is too long", *stmt, tok);
        spec_word *w = &c->w[c->n++];
        memset(w, 0, sizeof *w);
        char *eq = strchr(tok, '=');
        char *paren = strchr(tok, '(');
        if (eq && (!paren || eq < paren)) {
            *eq = '\0';
            if (!*tok || strlen(tok) >= sizeof w->key) return fail(c, "%s: bad key '%s'", *stmt, tok);
            snprintf(w->key, sizeof w->key, "%s", tok);
            snprintf(w->val, sizeof w->val, "%s", eq + 1);
            if (!w->val[0]) return fail(c, "%s: missing value for %s", *stmt, w->key);
            for (int k = 0; k + 1 < c->n; k++)
                if (!strcmp(c->w[k].key, w->key)) return fail(c, "%s: %s given twice", *stmt, w->key);
        } else {
            snprintf(w->val, sizeof w->val, "%s", tok);
        }
    }
    return *stmt ? 1 : 0;
}

nnc_model *nnc_model_from_spec_text(const char *text, size_t len, const char *name,
                                    nnc_error *err) {
    return nnc_spec_build(text, len, name, err, 0);
}

static void set_param_cap(nnc_model *m, size_t max_param_floats) {
#ifdef NNC_FAULT_INJECTION
    m->max_param_floats = max_param_floats;
#else
    (void)m, (void)max_param_floats;
#endif
}

nnc_model *nnc_spec_build(const char *text, size_t len, const char *name, nnc_error *err,
                          size_t max_param_floats) {
    char msg[512] = "";
    spec_ctx c;
    memset(&c, 0, sizeof c);
    c.file = name ? name : "spec";
    c.err = msg;
    c.errlen = sizeof msg;
    c.m = nnc_model_new(NULL);
    if (c.m && !nnc_train_state_of(c.m)) { /* holds the fit line and the callbacks */
        nnc_model_free(c.m);
        c.m = NULL;
    }
    nnc_compile_opts co = nnc_compile_opts_default();
    co.optimizer = nnc_rmsprop_default(); /* Keras's compile default */
    int have_input = 0, have_loss = 0, have_layer = 0, loss_line = 0, rc = 0;
    char *buf = malloc(len + 1);
    if (!c.m || !buf) {
        snprintf(msg, sizeof msg, "%s: out of memory", c.file);
        rc = -1;
    } else {
        memcpy(buf, text, len);
        buf[len] = '\0';
        if (strlen(buf) != len) {
            snprintf(msg, sizeof msg, "%s: holds a NUL byte: not a text spec file", c.file);
            rc = -1;
        }
    }
    char *line = rc ? NULL : buf;
    for (char *next; rc == 0 && line; line = next) {
        c.line++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *stmt;
        int st = split_line(&c, line, &stmt);
        if (st <= 0) {
            rc = st;
            continue;
        }
        c.stmt = stmt;
        if (!have_input && strcmp(stmt, "input")) {
            rc = fail(&c, "the first statement must be 'input' (e.g. 'input 64'), not '%s'", stmt);
        } else if (!strcmp(stmt, "input")) {
            rc = have_input ? fail(&c, "input: a second input line (functional models are built in C)")
                            : stmt_input(&c);
            have_input = 1;
        } else if (!strcmp(stmt, "loss")) {
            rc = have_loss ? fail(&c, "loss: given twice") : stmt_loss(&c, &co.loss);
            have_loss = 1;
            loss_line = c.line;
        } else if (!strcmp(stmt, "optimizer")) {
            rc = stmt_optimizer(&c, &co.optimizer);
        } else if (!strcmp(stmt, "metrics")) {
            rc = stmt_metrics(&c, &co);
        } else if (!strcmp(stmt, "fit")) {
            rc = stmt_fit(&c);
        } else if (!strcmp(stmt, "callback")) {
            rc = have_loss ? stmt_callback(&c) : fail(&c, "callback: callbacks come after the loss line");
        } else {
            size_t i = 0;
            while (i < sizeof layer_table / sizeof *layer_table && strcmp(stmt, layer_table[i].keyword)) i++;
            if (i == sizeof layer_table / sizeof *layer_table) rc = unknown_statement(&c);
            else if (have_loss) rc = fail(&c, "%s: layers must come before the loss line", stmt);
            else {
                rc = layer_table[i].build(&c);
                have_layer = 1;
            }
        }
    }
    if (rc == 0 && !have_input) {
        c.line = 0;
        snprintf(msg, sizeof msg, "%s: no 'input' line (the first statement gives the input shape)", c.file);
        rc = -1;
    } else if (rc == 0 && !have_layer) {
        snprintf(msg, sizeof msg, "%s: no layers after the input", c.file);
        rc = -1;
    } else if (rc == 0 && !have_loss) {
        snprintf(msg, sizeof msg, "%s: no 'loss' line (required, e.g. 'loss sparse_categorical_crossentropy from_logits=true')", c.file);
        rc = -1;
    } else if (rc == 0 && (set_param_cap(c.m, max_param_floats), nnc_compile(c.m, &co)) != NNC_OK) {
        c.line = loss_line;
        rc = fail(&c, "%s", nnc_last_error(c.m));
    }
    free(buf);
    if (rc) {
        if (err) snprintf(err->message, sizeof err->message, "%s", msg);
        nnc_model_free(c.m);
        return NULL;
    }
    return c.m;
}

nnc_model *nnc_model_from_spec(const char *path, nnc_error *err) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        if (err) snprintf(err->message, sizeof err->message, "%s: cannot open: %s", path ? path : "(null)", strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *t = cap > (64u << 20) ? NULL : realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                if (err) snprintf(err->message, sizeof err->message, "%s: too large for a spec file", path);
                return NULL;
            }
            text = t;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || len == 0) {
        free(text);
        if (err) snprintf(err->message, sizeof err->message, "%s: %s", path, bad ? "read error" : "empty file");
        return NULL;
    }
    nnc_model *m = nnc_model_from_spec_text(text, len, path, err);
    free(text);
    return m;
}

void nnc_model_fit_defaults(const nnc_model *m, nnc_fit_opts *o) {
    if (!m || !o) return;
    if (m->train->spec_fit.epochs > 0) o->epochs = m->train->spec_fit.epochs;
    if (m->train->spec_fit.batch_size > 0) o->batch_size = m->train->spec_fit.batch_size;
    if (m->train->spec_fit.validation_split >= 0.0f) o->validation_split = m->train->spec_fit.validation_split;
    if (m->train->spec_fit.shuffle >= 0) o->shuffle = m->train->spec_fit.shuffle != 0;
    if (m->train->spec_fit.steps_per_update > 0) o->steps_per_update = m->train->spec_fit.steps_per_update;
    if (m->train->spec_fit.n_class_weights > 0) {
        o->class_weight = m->train->spec_fit.class_weight;
        o->n_class_weights = m->train->spec_fit.n_class_weights;
    }
    if (m->train->n_spec_callbacks > 0) {
        o->callbacks = m->train->spec_callbacks;
        o->n_callbacks = m->train->n_spec_callbacks;
    }
}
