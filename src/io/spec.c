/* The model spec file (docs/SPEC.md): a small text format that builds and compiles a model.
 *
 *   1. One statement a line; '#' starts a comment, also after a statement; blank lines skip.
 *   2. Words are separated by whitespace. The first word is the statement: `input`, a layer
 *      keyword (Keras's class name in snake_case, or the class name), `loss`, `optimizer`,
 *      `metrics` or `fit`.
 *   3. Other words are positional values (Keras's first constructor arguments, in order) or
 *      `key=value` (Keras's keyword arguments; spaces around '=' allowed). A value is a number,
 *      `true`/`false`, a bare word, a list `[a,b]` or a call `name(arg,key=value)`, which may
 *      hold spaces until its bracket closes. A comma may end an argument, as in Keras's calls.
 *   4. `input` (or `text_vectorization`, spec_text.c) comes first, then layers in order, then `loss` (required), `optimizer` (Keras's
 *      default rmsprop when absent), `metrics` (none when absent) and `fit` (epochs,
 *      batch_size, validation_split, shuffle).
 *   5. `callback NAME key=value...` lines, anywhere after the loss, attach Keras's callbacks
 *      (early_stopping, model_checkpoint, reduce_lr_on_plateau, csv_logger, terminate_on_nan,
 *      backup_and_restore) in order; the model owns them and nnc_model_fit_defaults hands
 *      them to fit.
 *   6. Functional graphs: a layer names its inputs with from= (or inputs=), several input lines
 *      make several inputs, `outputs a b` several outputs with their losses, loss_weights and
 *      metrics per output (src/io/spec_outputs.c).
 * Every error names the file, the line and the word at fault. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"
#include "spec_args.h"
#include "spec_callbacks.h"
#include "spec_outputs.h"
#include "spec_text.h"
#include "../layers/layers.h"
#include "../optim/optim.h"
#include "../train/train_impl.h"
#include "keras_config.h"

/* ---- layers ------------------------------------------------------------------------------ */

static int built(spec_ctx *c, nnc_node out) {
    if (out != NNC_NONE) return 0;
    return spec_fail(c, "%s", nnc_last_error(c->m));
}

/* key=NAME or key=[NAME,NAME,...] (from=, initial_state=): the outputs of earlier layers, by
 * name, as the layer's inputs (a functional graph: residual blocks, attention); NAME:K is that
 * layer's output K (a recurrent layer's return_state: 1 h, 2 c). The count, or -1. */
static int spec_refs(spec_ctx *c, const char *key, const char *from, nnc_node *ins, int max) {
    char buf[SPEC_WORD_MAX];
    size_t len = strlen(from);
    int list = from[0] == '[';
    if (list && (len < 2 || from[len - 1] != ']'))
        return spec_fail(c, "%s: %s=%s: a name or a list [a,b]", c->stmt, key, from);
    snprintf(buf, sizeof buf, "%.*s", (int)(list ? len - 2 : len), from + list);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *colon = strchr(tok, ':'), *end = NULL;
        long k = colon ? strtol(colon + 1, &end, 10) : 0;
        if (colon && (end == colon + 1 || *end || k < 0 || k > NNC_LAYER_MORE_OUTPUTS))
            return spec_fail(c, "%s: %s=%s: '%s' is not NAME or NAME:OUTPUT (e.g. enc:1)", c->stmt, key, from, tok);
        if (colon) *colon = '\0';
        const int l = nnc_find_layer(c->m, tok), node = l < 0 ? -1 : nnc_layer_tensor(c->m, l, (int)k);
        if (l < 0 || c->m->layers[l].output < 0)
            return spec_fail(c, "%s: %s=%s: no earlier layer is named '%s'", c->stmt, key, from, tok);
        if (node < 0)
            return spec_fail(c, "%s: %s=%s: layer '%s' has no output %ld (it has %d; a recurrent layer's "
                             "return_state=true gives its states as %s:1, ...)", c->stmt, key, from, tok, k,
                             1 + c->m->layers[l].n_more, tok);
        if (n == max) return spec_fail(c, "%s: %s=%s: more than %d inputs", c->stmt, key, from, max);
        ins[n++] = node;
    }
    if (!n) return spec_fail(c, "%s: %s= names no layer", c->stmt, key);
    return n;
}

/* A layer statement (or `input`): its row's options, then name=... and from=..., then the layer,
 * which follows the previous one (or the layers from= names). */
static int stmt_layer(spec_ctx *c, const nnc_layer_desc *d) {
    union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } opts;
    const char *name = NULL, *from = NULL, *init = NULL;
    const int states = (d->flags & NNC_LAYERF_INITIAL_STATE) != 0;
    char keys[512];
    int has_from = 0;
    for (int k = 0; k < c->n; k++) has_from += !strcmp(c->w[k].key, "from") + !strcmp(c->w[k].key, "inputs");
    if (has_from > 1) return spec_fail(c, "%s: from= and inputs= name the same thing: give one", c->stmt);
    if (!has_from && d->min_inputs > 1)
        return spec_fail(c, "%s: a layer of several inputs names them (a functional model): from=[a,b]", c->stmt);
    d->defaults(opts.bytes);
    if (spec_read_opts(c, d->opts, d->n_opts, opts.bytes) || spec_string(c, -1, "name", &name)) return -1;
    /* Keras's trainable=False on any layer that takes the key (fine-tuning: a frozen layer) */
    const int has_trainable = !(d->flags & (NNC_LAYERF_INPUT | NNC_LAYERF_NO_TRAINABLE_KEY));
    bool trainable = true;
    if (!(d->flags & NNC_LAYERF_INPUT)) spec_string(c, -1, "from", &from), spec_string(c, -1, "inputs", &from);
    if (has_trainable && spec_bool(c, -1, "trainable", &trainable)) return -1;
    if (states) spec_string(c, -1, "initial_state", &init);
    spec_keys(d->opts, d->n_opts,
              d->flags & NNC_LAYERF_INPUT ? "name"
              : states                     ? (has_trainable ? "name, from (or inputs), trainable, initial_state" : "name, from (or inputs), initial_state")
              : has_trainable              ? "name, from (or inputs), trainable"
                                           : "name, from (or inputs)",
              keys, sizeof keys);
    if (spec_check_all_used(c, keys)) return -1;
    nnc_node ins[NNC_MAX_INPUTS] = {NNC_PREV};
    int n = d->min_inputs, k = 0;
    if (from && (n = spec_refs(c, "from", from, ins, d->max_inputs)) < 0) return -1;
    if (init && (k = spec_refs(c, "initial_state", init, ins + n, NNC_LAYER_MORE_OUTPUTS)) < 0) return -1;
    if (built(c, d->build(c->m, ins, n + k, opts.bytes, name))) return -1;
    if (!trainable && nnc_layer_set_trainable(c->m, c->m->layers[c->m->n_layers - 1].name, false))
        return spec_fail(c, "%s", nnc_last_error(c->m));
    return 0;
}

/* ---- loss, optimizer, metrics, fit ---------------------------------------------------------- */

/* A bool given as positional `pos` (-1: keyword only) or key=true/false. */
/* learning_rate=NAME(ARGS): a keras.optimizers.schedules class in snake_case (or its class
 * name), its arguments positional in the constructor's order or key=value, separated by
 * commas (lists [a,b] inside); messages name the whole learning_rate word. */
static int spec_schedule(spec_ctx *c, const char *text, nnc_schedule *s) {
    const char *open = strchr(text, '(');
    size_t len = strlen(text);
    if (!open || open == text || len < 3 || text[len - 1] != ')')
        return spec_fail(c, "optimizer: bad value '%s' for learning_rate (expected a number or a schedule "
                         "such as exponential_decay(0.1,decay_steps=100,decay_rate=0.96))", text);
    char name[64], what[SPEC_WORD_MAX + 32], keys[256];
    snprintf(name, sizeof name, "%.*s", (int)(open - text) < 63 ? (int)(open - text) : 63, text);
    nnc_schedule_kind k;
    if (nnc_schedule_parse(name, &k)) {
        char list[256] = "one of ";
        size_t n = strlen(list);
        spec_near near;
        spec_near_start(&near, name);
        for (int i = 1; i < NNC_SCHEDULE_COUNT && n < sizeof list; i++) {
            const nnc_schedule_desc *sd = nnc_schedule_desc_of((nnc_schedule_kind)i);
            spec_near_try_styled(&near, sd->name, sd->keras_class);
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i > 1 ? ", " : "", sd->name);
        }
        return spec_fail_near(c, &near, list, "optimizer: unknown learning-rate schedule '%s' in learning_rate=%s",
                              name, text);
    }
    snprintf(what, sizeof what, "optimizer: learning_rate=%s", text);
    spec_ctx sub;
    if (spec_split_call(c, open + 1, (size_t)(text + len - 1 - (open + 1)), what, &sub)) return -1;
    const nnc_schedule_desc *d = nnc_schedule_desc_of(k);
    *s = nnc_schedule_default(k);
    spec_keys(d->opts, d->n_opts, NULL, keys, sizeof keys);
    if (spec_read_opts(&sub, d->opts, d->n_opts, s) || spec_check_all_used(&sub, keys)) return -1;
    const char *bad = nnc_schedule_check(s);
    return bad ? spec_fail(&sub, "%s: %s", what, bad) : 0;
}

/* `optimizer NAME key=value...`: learning_rate (a number or a schedule), the optimizer's own
 * arguments and the base optimizer's; an argument the class does not take is an unknown key,
 * as Keras's "Argument(s) not recognized". */
static int stmt_optimizer(spec_ctx *c, nnc_optimizer *o) {
    spec_word *w = spec_positional(c, 0);
    if (!w) return spec_fail(c, "optimizer: missing the optimizer's name");
    w->used = 1;
    if (nnc_optimizer_parse(w->val, o)) {
        char list[256] = "one of ";
        size_t n = strlen(list);
        spec_near near;
        spec_near_start(&near, w->val);
        for (int i = 0; i < NNC_OPT_COUNT && n < sizeof list; i++) {
            const nnc_optimizer_desc *od = nnc_optimizer_desc_of((nnc_optimizer_kind)i);
            spec_near_try_styled(&near, od->name, od->keras_class);
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", od->name);
        }
        return spec_fail_near(c, &near, list, "optimizer: unknown optimizer '%s'", w->val);
    }
    spec_word *lr = spec_keyed(c, "learning_rate");
    if (lr && strchr(lr->val, '(')) {
        lr->used = 1;
        if (spec_schedule(c, lr->val, &o->schedule)) return -1;
        o->learning_rate = o->schedule.kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY
                               ? o->schedule.values[0] : o->schedule.initial_learning_rate;
    } else if (spec_float(c, -1, "learning_rate", 0, 3.4e38, &o->learning_rate)) {
        return -1;
    }
    const nnc_optimizer_desc *d = nnc_optimizer_desc_of(o->kind);
    char own[192], base[192], keys[400];
    if (spec_read_opts(c, d->opts, d->n_opts, o) ||
        spec_read_opts(c, nnc_optimizer_base_opts, nnc_optimizer_base_count, o))
        return -1;
    spec_keys(d->opts, d->n_opts, NULL, own, sizeof own);
    spec_keys(nnc_optimizer_base_opts, nnc_optimizer_base_count, NULL, base, sizeof base);
    snprintf(keys, sizeof keys, "learning_rate, %s, %s", own, base);
    if (spec_check_all_used(c, keys)) return -1;
    const char *bad = nnc_optimizer_check(o);
    return bad ? spec_fail(c, "optimizer: %s: %s", nnc_optimizer_name(o->kind), bad) : 0;
}

/* One metric word: a name (`auc`, `AUC`, `acc`) or a call with Keras's arguments, positional in
 * the constructor's order or key=value (`precision(thresholds=0.3, class_id=2)`), name= too. */
int spec_metric(spec_ctx *c, const char *text, nnc_metric_config *mc) {
    const char *open = strchr(text, '(');
    size_t len = strlen(text);
    char name[64], what[SPEC_WORD_MAX + 32], keys[400];
    if (open && (open == text || text[len - 1] != ')'))
        return spec_fail(c, "%s: bad metric '%s' (a name, or a call such as precision(thresholds=0.3))", c->stmt, text);
    snprintf(name, sizeof name, "%.*s", open ? (int)(open - text) < 63 ? (int)(open - text) : 63 : 63, text);
    const nnc_metric_desc *d = nnc_metric_desc_by_name(name);
    if (!d) {
        char list[600];
        spec_near n;
        spec_near_start(&n, name);
        for (int i = 0; i < NNC_METRIC_COUNT; i++) {
            const nnc_metric_desc *r = nnc_metric_desc_of((nnc_metric)i);
            spec_near_try_styled(&n, r->name, r->keras_class);
        }
        spec_near_try(&n, "acc");
        spec_near_try(&n, "mape");
        memcpy(list, "one of ", 8);
        nnc_metric_names_list(list + 7, sizeof list - 7);
        return spec_fail_near(c, &n, list, "%s: unknown metric '%s'", c->stmt, name);
    }
    *mc = nnc_metric_default(d->kind);
    mc->weighted = !strcmp(c->stmt, "weighted_metrics");
    if (!open) return 0;
    snprintf(what, sizeof what, "%s: %s", c->stmt, text);
    spec_ctx sub;
    const char *mname = NULL;
    if (spec_split_call(c, open + 1, (size_t)(text + len - 1 - (open + 1)), what, &sub)) return -1;
    spec_keys(d->opts, d->n_opts, "name", keys, sizeof keys);
    if (spec_read_opts(&sub, d->opts, d->n_opts, mc) || spec_string(&sub, -1, "name", &mname) ||
        spec_check_all_used(&sub, keys))
        return -1;
    if (mname && (strlen(mname) >= sizeof mc->name || !mname[0]))
        return spec_fail(&sub, "%s: name '%s' is longer than %zu characters", what, mname, sizeof mc->name - 1);
    if (mname) snprintf(mc->name, sizeof mc->name, "%s", mname);
    return 0;
}

/* `metrics NAME...` and `weighted_metrics NAME...`: Keras's compile(metrics=[...],
 * weighted_metrics=[...]); each NAME may be a call with the metric's arguments. */
static int stmt_metrics(spec_ctx *c, nnc_compile_opts *co) {
    for (int k = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        nnc_metric_config mc;
        if (w->key[0])
            return spec_fail(c, "%s: unexpected key '%s' (a metric's arguments go in brackets: "
                             "precision(thresholds=0.3))", c->stmt, w->key);
        if (co->n_metrics == NNC_MAX_METRICS) return spec_fail(c, "%s: at most %d metrics", c->stmt, NNC_MAX_METRICS);
        if (spec_metric(c, w->val, &mc)) return -1;
        nnc_compile_add_metric(co, &mc);
        w->used = 1;
    }
    return 0;
}

static int stmt_fit(spec_ctx *c) {
    int epochs = 0, bs = 0, spu = 0;
    float split = -1.0f;
    bool shuffle = true;
    spec_word *sh = spec_keyed(c, "shuffle");
    if (spec_int(c, -1, "epochs", 1, 1 << 30, &epochs, 0) || spec_int(c, -1, "batch_size", 1, 1 << 30, &bs, 0) ||
        spec_float(c, -1, "validation_split", 0, 0.999999, &split) || spec_bool(c, -1, "shuffle", &shuffle) ||
        spec_int(c, -1, "steps_per_update", 1, 1 << 20, &spu, 0))
        return -1;
    spec_word *cw = spec_arg(c, -1, "class_weight");
    if (cw) {
        /* class_weight=[w0,w1,...]: the weight of each class label, as Keras's dict */
        char buf[SPEC_WORD_MAX];
        size_t len = strlen(cw->val);
        int k = 0;
        double v;
        if (len < 3 || cw->val[0] != '[' || cw->val[len - 1] != ']')
            return spec_fail(c, "fit: bad value '%s' for class_weight (expected a list like [1,2.5,1])", cw->val);
        snprintf(buf, sizeof buf, "%.*s", (int)(len - 2), cw->val + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (k == 64 || spec_parse_double(tok, &v) || v < 0)
                return spec_fail(c, "fit: bad value '%s' for class_weight (up to 64 numbers >= 0)", cw->val);
            c->m->train->spec_fit.class_weight[k++] = (float)v;
        }
        c->m->train->spec_fit.n_class_weights = k;
    }
    if (spec_check_all_used(c, "epochs, batch_size, validation_split, shuffle, steps_per_update, class_weight")) return -1;
    c->m->train->spec_fit.steps_per_update = spu;
    c->m->train->spec_fit.epochs = epochs;
    c->m->train->spec_fit.batch_size = bs;
    c->m->train->spec_fit.validation_split = split;
    c->m->train->spec_fit.shuffle = sh ? shuffle : -1;
    return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

static const char *const statements[] = {"input", "loss", "optimizer", "metrics", "weighted_metrics", "fit", "callback",
                                          "outputs", "loss_weights", "text_vectorization"};

static int unknown_statement(spec_ctx *c) {
    spec_near n;
    spec_near_start(&n, c->stmt);
    for (int i = 0; i < nnc_layer_registry_count; i++)
        spec_near_try_styled(&n, nnc_layer_registry[i]->keyword, nnc_layer_registry[i]->keras_class);
    spec_near_try_styled(&n, "input", "Input");
    spec_near_try_styled(&n, "text_vectorization", "TextVectorization");
    for (size_t i = 0; i < sizeof statements / sizeof *statements; i++) spec_near_try(&n, statements[i]);
    return spec_fail_near(c, &n, NULL, "unknown layer or statement '%s'", c->stmt);
}

/* The layer a statement names: its keyword (`dense`) or Keras's class name (`Dense`), and
 * `Input` for Keras's Input(); NULL when none. */
static const nnc_layer_desc *layer_of(const char *word) {
    const nnc_layer_desc *d = nnc_layer_by_keyword(word);
    if (!d) d = nnc_layer_by_class(word);
    if (!d && !strcmp(word, "Input")) d = nnc_layer_by_keyword("input");
    return d;
}

/* Bracket depth at the end of a word: > 0 while a list or call is still open. */
static int open_depth(const char *s) {
    int depth = 0;
    for (; *s; s++) depth += (*s == '[' || *s == '(') - (*s == ']' || *s == ')');
    return depth;
}

/* The key's '=' of a word: its first '=', when no call's '(' comes before it; else NULL. */
static char *key_sign(char *word) {
    char *eq = strchr(word, '='), *paren = strchr(word, '(');
    return eq && (!paren || eq < paren) ? eq : NULL;
}

/* Joins the tokens from t[*i] on that make one word: `key = value`, `key= value` and
 * `key =value` are key=value, and a list or call written with spaces (`[28, 28, 1]`) is one
 * value. A comma after a word separates it from the next, as in Keras's calls, unless it is the
 * whole value (`separator=,`). 0, or -1 for a word too long. */
static int join_word(char *const *t, int nt, int *i, char *word, size_t size) {
    size_t len = 0;
    for (;;) {
        size_t tl = strlen(t[*i]);
        if (len + tl >= size) return -1;
        memcpy(word + len, t[*i], tl + 1);
        len += tl;
        if (*i + 1 >= nt) break;
        char *eq = key_sign(word);
        int key_open = eq && eq == word + len - 1; /* "key=" waits for its value */
        int key_next = !eq && t[*i + 1][0] == '='; /* "key" then "=value" or "=" */
        if (!key_open && !key_next && open_depth(word) <= 0) break;
        (*i)++;
    }
    char *eq = key_sign(word);
    if (len > 1 && word[len - 1] == ',' && open_depth(word) == 0 && (!eq || eq < word + len - 2))
        word[len - 1] = '\0';
    return 0;
}

/* Splits one line into the statement keyword and its words; 0 for a blank line, 1 for a
 * statement, -1 on error. */
static int split_line(spec_ctx *c, char *line, char **stmt) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *t[4 * SPEC_MAX_WORDS];
    int nt = 0;
    c->n = 0;
    *stmt = NULL;
    for (char *save = NULL, *tok = strtok_r(line, " \t\r\v\f", &save); tok; tok = strtok_r(NULL, " \t\r\v\f", &save)) {
        if (nt == 4 * SPEC_MAX_WORDS) return spec_fail(c, "%s: more than %d words", t[0], SPEC_MAX_WORDS);
        t[nt++] = tok;
    }
    if (nt == 0) return 0;
    *stmt = t[0];
    for (int i = 1; i < nt; i++) {
        char word[SPEC_WORD_MAX];
        if (!strcmp(t[i], ",")) continue; /* `dense 8 , activation=relu` */
        if (join_word(t, nt, &i, word, sizeof word))
            return spec_fail(c, "%s: word '%.32s...' is too long", *stmt, t[i]);
        if (c->n == SPEC_MAX_WORDS) return spec_fail(c, "%s: more than %d words", *stmt, SPEC_MAX_WORDS);
        spec_word *w = &c->w[c->n++];
        memset(w, 0, sizeof *w);
        char *eq = key_sign(word);
        if (eq) {
            *eq = '\0';
            if (!*word) return spec_fail(c, "%s: '=%s' has no key before the '='", *stmt, eq + 1);
            if (strlen(word) >= sizeof w->key) return spec_fail(c, "%s: bad key '%s'", *stmt, word);
            snprintf(w->key, sizeof w->key, "%s", word);
            snprintf(w->val, sizeof w->val, "%s", eq + 1);
            if (!w->val[0]) return spec_fail(c, "%s: missing value for %s", *stmt, w->key);
            for (int k = 0; k + 1 < c->n; k++)
                if (!strcmp(c->w[k].key, w->key)) return spec_fail(c, "%s: %s given twice", *stmt, w->key);
        } else {
            snprintf(w->val, sizeof w->val, "%s", word);
        }
    }
    return 1;
}

/* What the statements so far have given: the order rules of docs/SPEC.md. On a model
 * (nnc_model_from_spec_on), the layers and the compile settings are the model's: the spec's
 * lines replace the settings, its metrics line the whole list. */
typedef struct {
    int input, layer, loss, loss_line;
    int on_model, optimizer, metrics;
    int outputs;
    int input_line, text_line; /* the line of the input (text_vectorization) statement */
} spec_seen;

/* `text_vectorization` (spec_text.c): only as the first statement, standing for the input. */
static int stmt_text(spec_ctx *c, spec_seen *seen) {
    if (seen->on_model)
        return spec_fail(c, "%s: the model's text input comes from the model (--init-from); this spec may hold only "
                         "loss, optimizer, metrics, fit and callback lines", c->stmt);
    if (seen->input)
        return spec_fail(c, "%s: only the first line may be text_vectorization (it stands for the model's text input, "
                         "which line %d already gave)", c->stmt, seen->input_line);
    seen->input = 1;
    seen->input_line = seen->text_line = c->line;
    return nnc_spec_text_vectorization(c);
}

/* One statement, its keyword in c->stmt and its words in c->w. */
static int statement(spec_ctx *c, spec_seen *seen, nnc_compile_opts *co) {
    const char *stmt = c->stmt;
    const nnc_layer_desc *d = layer_of(stmt);
    int rc;
    if (d && seen->on_model)
        return spec_fail(c, "%s: the layers come from the model (--init-from); this spec may hold only loss, "
                         "optimizer, metrics, fit and callback lines (a spec's layers with a file's weights: "
                         "--init-weights)", stmt);
    if (seen->on_model && !strcmp(stmt, "optimizer")) seen->optimizer = 1;
    if (seen->on_model && (!strcmp(stmt, "metrics") || !strcmp(stmt, "weighted_metrics")) && !seen->metrics++) {
        co->n_metrics = 0;
        for (int h = 0; h < co->n_outputs; h++) co->outputs[h].n_metrics = 0;
    }
    if (!strcmp(stmt, "text_vectorization") || !strcmp(stmt, "TextVectorization")) return stmt_text(c, seen);
    if (d && (d->flags & NNC_LAYERF_INPUT)) { /* a second input: a model of several inputs */
        if (seen->text_line)
            return spec_fail(c, "%s: the text_vectorization line (line %d) is the model's input; a spec with it has "
                             "no input line", stmt, seen->text_line);
        rc = seen->loss || seen->outputs ? spec_fail(c, "%s: inputs come before the outputs and loss lines", stmt)
                                         : stmt_layer(c, d);
        seen->input = 1;
        seen->input_line = c->line;
        return rc;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof statements / sizeof *statements; i++) known |= !strcmp(stmt, statements[i]);
    if (!seen->input && !d && !known) return unknown_statement(c);
    if (!seen->input)
        return spec_fail(c, "the first statement must be 'input' (e.g. 'input 64') or 'text_vectorization', not '%s'",
                         stmt);
    if (!strcmp(stmt, "outputs")) {
        rc = seen->loss || seen->outputs ? spec_fail(c, "outputs: comes once, after the layers and before the loss")
                                         : spec_stmt_outputs(c);
        seen->outputs = 1;
        return rc;
    }
    if (!strcmp(stmt, "loss_weights"))
        return seen->loss || seen->on_model ? spec_stmt_loss_weights(c, co)
                                            : spec_fail(c, "loss_weights: comes after the loss line");
    if (!strcmp(stmt, "loss")) {
        const nnc_layer_rec *last = c->m->n_layers ? &c->m->layers[c->m->n_layers - 1] : NULL;
        if (!seen->loss && !seen->outputs && !seen->on_model && last && (last->desc->flags & NNC_LAYERF_INPUT))
            return spec_fail(c, "loss: the model would output its input '%s': an input line comes before the layers "
                             "that read it (from=%s)", last->name, last->name);
        rc = seen->loss ? spec_fail(c, "loss: given twice") : spec_stmt_loss(c, co);
        seen->loss = 1;
        seen->loss_line = c->line;
        return rc;
    }
    if (!strcmp(stmt, "optimizer")) return stmt_optimizer(c, &co->optimizer);
    if (!strcmp(stmt, "metrics") || !strcmp(stmt, "weighted_metrics"))
        return co->n_outputs || nnc_model_n_outputs(c->m) > 1 ? spec_stmt_metrics_outputs(c, co) : stmt_metrics(c, co);
    if (!strcmp(stmt, "fit")) return stmt_fit(c);
    if (!strcmp(stmt, "callback"))
        return seen->loss || seen->on_model ? nnc_spec_callback(c)
                                            : spec_fail(c, "callback: callbacks come after the loss line");
    if (!d) return unknown_statement(c);
    if (seen->loss || seen->outputs) return spec_fail(c, "%s: layers must come before the outputs and loss lines", stmt);
    seen->layer = 1;
    return stmt_layer(c, d);
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

/* The architecture of base rebuilt into m (base's own config: every name valid), its compile
 * settings into co. */
static int from_model(spec_ctx *c, const nnc_model *base, nnc_compile_opts *co) {
    nnc_strbuf sb = {0};
    char why[400];
    nnc_config_json(base, &sb);
    nnc_json *cfg = sb.buf && !sb.oom ? nnc_json_parse(sb.buf, sb.len, why, sizeof why) : NULL;
    int rc = cfg && nnc_config_build(c->m, cfg, why, sizeof why) == 0 ? 0 : -1;
    if (rc) snprintf(c->err, c->errlen, "%s: the model's layers cannot be rebuilt: %s", c->file, cfg ? why : "out of memory");
    *co = nnc_model_compile_opts(base);
    nnc_json_free(cfg);
    nnc_sb_free(&sb);
    return rc;
}

/* After compile: base's weights, Normalization statistics included, its columns, and, when
 * the spec keeps its optimizer, its slots, iteration and epoch counts and random state. */
static int copy_state(nnc_model *m, const nnc_model *base, int keep_optimizer) {
    for (int p = 0; p < m->n_params; p++) {
        int q = nnc_find_param(base, m->params[p].name);
        if (q < 0 || base->params[q].size != m->params[p].size) return -1;
        memcpy(m->param_arena + m->params[p].offset, base->param_arena + base->params[q].offset,
               m->params[p].size * sizeof(float));
    }
    if (base->text_vec && nnc_model_set_text_vectorizer(m, nnc_model_text_vectorizer(base))) return -1;
    size_t nc = 0;
    const nnc_column *cols = nnc_model_columns(base, &nc);
    if (nc && nnc_model_set_columns(m, cols, nc)) return -1;
    m->rng = base->rng; /* shuffling and dropout go on from where the model's left off */
    const nnc_train_state *bt = base->train;
    if (!keep_optimizer || !bt || bt->n_slots != m->train->n_slots || base->n_trainable_floats != m->n_trainable_floats)
        return 0;
    memcpy(m->train->opt_slots, bt->opt_slots, m->n_trainable_floats * (size_t)bt->n_slots * sizeof(float));
    m->train->iterations = bt->iterations;
    m->train->epochs_done = bt->epochs_done;
    return 0;
}

/* Builds a spec's model; with base, on base's layers and settings (nnc_model_from_spec_on). */
static nnc_model *spec_build(const char *text, size_t len, const char *name, nnc_error *err, size_t max_param_floats,
                             const nnc_model *base) {
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
    spec_seen seen = {0, 0, 0, 0, base != NULL, 0, 0, 0, 0, 0};
    int rc = 0;
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
    if (!rc && base) {
        rc = from_model(&c, base, &co);
        seen.input = seen.layer = 1;
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
        rc = statement(&c, &seen, &co);
    }
    if (rc == 0 && !seen.input) {
        c.line = 0;
        snprintf(msg, sizeof msg, "%s: no 'input' line (the first statement gives the input shape)", c.file);
        rc = -1;
    } else if (rc == 0 && !seen.layer) {
        snprintf(msg, sizeof msg, "%s: no layers after the input", c.file);
        rc = -1;
    } else if (rc == 0 && !seen.loss && !base) {
        snprintf(msg, sizeof msg, "%s: no 'loss' line (required, e.g. 'loss sparse_categorical_crossentropy from_logits=true')", c.file);
        rc = -1;
    } else if (rc == 0 && (set_param_cap(c.m, max_param_floats), nnc_compile(c.m, &co)) != NNC_OK) {
        c.line = seen.loss_line;
        rc = spec_fail(&c, "%s", nnc_last_error(c.m));
    } else if (rc == 0 && base && copy_state(c.m, base, !seen.optimizer)) {
        snprintf(msg, sizeof msg, "%s: the model's weights cannot be copied: %s", c.file, nnc_last_error(c.m));
        rc = -1;
    }
    free(buf);
    if (rc) {
        if (err) snprintf(err->message, sizeof err->message, "%s", msg);
        nnc_model_free(c.m);
        return NULL;
    }
    return c.m;
}

nnc_model *nnc_spec_build(const char *text, size_t len, const char *name, nnc_error *err,
                          size_t max_param_floats) {
    return spec_build(text, len, name, err, max_param_floats, NULL);
}

/* A spec file's text (malloc'd), or NULL with why in err. */
static char *read_spec(const char *path, size_t *lenp, nnc_error *err) {
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
    *lenp = len;
    return text;
}

nnc_model *nnc_model_from_spec(const char *path, nnc_error *err) {
    size_t len = 0;
    char *text = read_spec(path, &len, err);
    nnc_model *m = text ? nnc_model_from_spec_text(text, len, path, err) : NULL;
    free(text);
    return m;
}

nnc_model *nnc_model_from_spec_on(const char *path, const nnc_model *base, nnc_error *err) {
    if (!base || !base->compiled) {
        if (err) snprintf(err->message, sizeof err->message, "%s: no compiled model to build on", path ? path : "(null)");
        return NULL;
    }
    size_t len = 0;
    char *text = read_spec(path, &len, err);
    nnc_model *m = text ? spec_build(text, len, path, err, 0, base) : NULL;
    free(text);
    return m;
}

nnc_status nnc_model_fit_defaults(nnc_model *m, nnc_fit_opts *o) {
    if (!m || !o) return NNC_ERR_ARG;
    nnc_train_state *ts = m->train;
    if (!ts) return NNC_OK; /* built in C: nothing from a spec */
    if (ts->spec_fit.epochs > 0) o->epochs = ts->spec_fit.epochs;
    if (ts->spec_fit.batch_size > 0) o->batch_size = ts->spec_fit.batch_size;
    if (ts->spec_fit.validation_split >= 0.0f) o->validation_split = ts->spec_fit.validation_split;
    if (ts->spec_fit.shuffle >= 0) o->shuffle = ts->spec_fit.shuffle != 0;
    if (ts->spec_fit.steps_per_update > 0) o->steps_per_update = ts->spec_fit.steps_per_update;
    if (ts->spec_fit.n_class_weights > 0) {
        o->class_weight = ts->spec_fit.class_weight;
        o->n_class_weights = ts->spec_fit.n_class_weights;
    }
    if (ts->n_spec_callbacks == 0) return NNC_OK;
    /* the caller's callbacks first, then the spec's, in one list the model keeps */
    const int mine = o->callbacks ? o->n_callbacks : 0, total = mine + ts->n_spec_callbacks;
    if (mine < 0) return nnc_fail(m, NNC_ERR_ARG, "fit_defaults: n_callbacks is %d", mine);
    nnc_callback **list = malloc((size_t)total * sizeof *list);
    if (!list) return nnc_fail(m, NNC_ERR_NOMEM, "fit_defaults: out of memory");
    int k = 0;
    for (int i = 0; i < mine; i++) { /* a list from an earlier call holds the spec's already */
        int spec = 0;
        for (int j = 0; j < ts->n_spec_callbacks; j++) spec |= o->callbacks[i] == ts->spec_callbacks[j];
        if (!spec) list[k++] = o->callbacks[i];
    }
    for (int i = 0; i < ts->n_spec_callbacks; i++) list[k++] = ts->spec_callbacks[i];
    free(ts->fit_callbacks);
    ts->fit_callbacks = list;
    o->callbacks = list;
    o->n_callbacks = k;
    return NNC_OK;
}
