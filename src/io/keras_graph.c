/* Keras configs to graphs (keras_config.h): the architecture of a Sequential or Functional
 * model as Keras 3 or Keras 2 writes it, built through the layer descriptors.
 *   1. The forms read: {"class_name": "Sequential", "config": {"layers": [...]}} (Keras 2.3 on);
 *      {"class_name": "Sequential", "config": [...]} and a bare list (Keras 2.0-2.2);
 *      "Functional" (Keras 3) or "Model" (Keras 2), each layer with its inbound_nodes as Keras
 *      3's [{"args": [__keras_tensor__...], "kwargs": {}}] or Keras 2's [[[name, 0, 0, {}]...]],
 *      and input_layers / output_layers as [name, 0, 0] or a list of them. A tensor's third
 *      number picks one of its layer's outputs (a recurrent layer's return_state: 1 h, 2 c). A
 *      recurrent layer's initial_state is the call's kwargs (Keras 3) or its inbound tensors
 *      after the first (Keras 2).
 *   2. A Sequential without InputLayer takes its input from the first layer's
 *      batch_input_shape (Keras 2), else the model's build_input_shape.
 *   3. Layers are built in the config's order when that is a topological one, else in an order
 *      the graph allows (Kahn's); a cycle or an input no layer defines is an error naming it.
 *   4. Leniently (a foreign file), names nnc cannot hold are changed and keys nnc ignores
 *      (constraints, another dtype) are noted on the model.
 * Out of scope: shared layers (one layer called twice), nested models, masks. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "keras_config.h"
#include "text_meta.h"
#include "../layers/layers.h"

typedef struct {
    const nnc_json *obj, *cfg;
    const char *cls, *name;
    const nnc_layer_desc *desc;
    const char *in_names[NNC_MAX_INPUTS];
    int in_tensor[NNC_MAX_INPUTS]; /* which of that entry's outputs (0, or a state) */
    int in[NNC_MAX_INPUTS]; /* the entries it reads */
    int n_in;
    int node;               /* its output once built, -1 before */
    int layer;              /* the nnc layer built for it, -1 before */
    int text;               /* a TextVectorization: built as nnc's Input, the vectorizer before it */
    int string_input;       /* an InputLayer of dtype string: the text a TextVectorization reads */
} entry;

typedef struct {
    nnc_model *m;
    nnc_config_opts o;
    entry *e;
    int n;
    int functional;
    nnc_strmap names;       /* Keras name -> entry */
    int text_entry;         /* the TextVectorization's entry, -1: none */
    char *msg;
    size_t len;
} graph;

static int fail(graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(graph *g, const char *fmt, ...) {
    int k = snprintf(g->msg, g->len, "config: ");
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < g->len) vsnprintf(g->msg + k, g->len - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- what nnc cannot build ------------------------------------------------------------------ */

static int in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(s, *list)) return 1;
    return 0;
}

/* The error for a class the registry lacks: Python code, a custom class, a recurrent layer nnc
 * lacks, a nested model or a class nnc does not know (listing those it has). */
static int unsupported_class(graph *g, const entry *e) {
    static const char *const python[] = {"Lambda", "TFOpLambda", "SlicingOpLambda", NULL};
    static const char *const sequence[] = {"RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "CuDNNLSTM",
                                           "CuDNNGRU", NULL};
    static const char *const models[] = {"Sequential", "Functional", "Model", NULL};
    const char *reg = nnc_json_get_string(e->obj, "registered_name");
    const char *module = nnc_json_get_string(e->obj, "module");
    if (in_list(e->cls, python))
        return fail(g, "layer '%s' (%s) holds Python code nnc cannot run", e->name, e->cls);
    if ((reg && strcmp(reg, e->cls)) || (module && strncmp(module, "keras", 5)) || strchr(e->cls, '>'))
        return fail(g, "layer '%s' has the custom class '%s'%s%s%s: it holds Python code nnc cannot run", e->name,
                    e->cls, reg ? " (registered as '" : "", reg ? reg : "", reg ? "')" : "");
    if (in_list(e->cls, sequence))
        return fail(g, "layer '%s' (%s): of the recurrent layers nnc has SimpleRNN, LSTM and GRU (and "
                    "Bidirectional or TimeDistributed around them), not this one", e->name, e->cls);
    if (in_list(e->cls, models))
        return fail(g, "layer '%s' (%s) is a model of its own: nested models are not supported", e->name, e->cls);
    nnc_strbuf have = {0};
    for (int i = 0; i < nnc_layer_registry_count; i++)
        nnc_sb_printf(&have, "%s%s", i ? ", " : "", nnc_layer_registry[i]->keras_class);
    fail(g, "layer '%s' has unknown class '%.80s' (nnc has %s)", e->name, e->cls, have.buf ? have.buf : "none");
    nnc_sb_free(&have);
    return -1;
}

/* ---- reading the config ----------------------------------------------------------------- */

/* Input `name`, its node index (0: its one call) and tensor index (which of its outputs). */
static int add_input(graph *g, entry *e, const char *name, const nnc_json *node, const nnc_json *tensor) {
    if (node->type != NNC_JSON_NUMBER || node->number != 0)
        return fail(g, "layer '%s' reads a layer's second call: layers called more than once (shared layers) are "
                    "not supported", e->name);
    if (tensor->type != NNC_JSON_NUMBER || !(tensor->number >= 0 && tensor->number <= NNC_LAYER_MORE_OUTPUTS) ||
        tensor->number != floor(tensor->number))
        return fail(g, "layer '%s' reads output %.6g of '%.80s', which no nnc layer has", e->name,
                    tensor->type == NNC_JSON_NUMBER ? tensor->number : -1.0, name);
    if (e->n_in == NNC_MAX_INPUTS) return fail(g, "layer '%s' has more than %d inputs", e->name, NNC_MAX_INPUTS);
    e->in_tensor[e->n_in] = (int)tensor->number;
    e->in_names[e->n_in++] = name;
    return 0;
}

/* Names of the tensors a Keras 3 node's args hold, depth first. */
static int keras3_args(graph *g, entry *e, const nnc_json *j) {
    if (j->type == NNC_JSON_ARRAY) {
        for (size_t i = 0; i < j->count; i++)
            if (keras3_args(g, e, j->items[i])) return -1;
        return 0;
    }
    const char *cls = nnc_json_get_string(j, "class_name");
    if (!cls || strcmp(cls, "__keras_tensor__")) return 0;
    const nnc_json *c = nnc_json_get(j, "config"), *h = c ? nnc_json_get(c, "keras_history") : NULL;
    if (!h || h->type != NNC_JSON_ARRAY || h->count != 3 || h->items[0]->type != NNC_JSON_STRING)
        return fail(g, "layer '%s' has an input without a readable keras_history", e->name);
    return add_input(g, e, h->items[0]->string, h->items[1], h->items[2]);
}

/* A functional layer's inputs from its inbound_nodes (Keras 3's or Keras 2's form). */
static int inbound(graph *g, entry *e) {
    const nnc_json *nodes = nnc_json_get(e->obj, "inbound_nodes");
    if (!nodes || nodes->type != NNC_JSON_ARRAY) return fail(g, "layer '%s' has no inbound_nodes list", e->name);
    if (nodes->count > 1)
        return fail(g, "layer '%s' is called %zu times: layers called more than once (shared layers) are not "
                    "supported", e->name, nodes->count);
    if (nodes->count == 0) return 0;
    const nnc_json *node = nodes->items[0];
    if (node->type == NNC_JSON_OBJECT) {
        const nnc_json *args = nnc_json_get(node, "args"), *kw = nnc_json_get(node, "kwargs");
        const nnc_json *init = kw && kw->type == NNC_JSON_OBJECT ? nnc_json_get(kw, "initial_state") : NULL;
        if (!args) return fail(g, "layer '%s' has an inbound node without args", e->name);
        if (keras3_args(g, e, args)) return -1;
        if (init && init->type != NNC_JSON_NULL && !(e->desc->flags & NNC_LAYERF_INITIAL_STATE))
            return fail(g, "layer '%s' (%s) takes no initial_state", e->name, e->cls);
        return init ? keras3_args(g, e, init) : 0;
    }
    for (size_t i = 0; node->type == NNC_JSON_ARRAY && i < node->count; i++) { /* Keras 2 */
        const nnc_json *t = node->items[i];
        if (t->type != NNC_JSON_ARRAY || t->count < 3 || t->items[0]->type != NNC_JSON_STRING)
            return fail(g, "layer '%s' has an unreadable inbound node", e->name);
        if (add_input(g, e, t->items[0]->string, t->items[1], t->items[2])) return -1;
    }
    return node->type == NNC_JSON_ARRAY ? 0 : fail(g, "layer '%s' has an unreadable inbound node", e->name);
}

/* The layer list and the model's kind from the root object (or a Keras 2.0 bare list). */
static const nnc_json *layer_list(graph *g, const nnc_json *root, const nnc_json **cfg) {
    *cfg = NULL;
    if (root->type == NNC_JSON_ARRAY) return root;
    const char *cls = nnc_json_get_string(root, "class_name");
    const nnc_json *c = nnc_json_get(root, "config");
    if (cls && (!strcmp(cls, "Functional") || !strcmp(cls, "Model"))) g->functional = 1;
    else if (!cls || strcmp(cls, "Sequential") || !c) {
        if (cls && c) fail(g, "the model's class '%.80s' is not Sequential or Functional (a subclassed model holds "
                           "Python code nnc cannot run)", cls);
        else fail(g, "the config is not a Keras Sequential or Functional model");
        return NULL;
    }
    if (c && c->type == NNC_JSON_ARRAY && !g->functional) return c; /* Keras 2.0-2.2 */
    *cfg = c;
    const nnc_json *layers = c ? nnc_json_get(c, "layers") : NULL;
    if (!layers || layers->type != NNC_JSON_ARRAY) fail(g, "the model's config has no list of layers");
    return layers && layers->type == NNC_JSON_ARRAY ? layers : NULL;
}

/* Reads every layer's class, config, name and inputs. */
static int read_entries(graph *g, const nnc_json *layers) {
    if (layers->count > NNC_MAX_LAYERS)
        return fail(g, "%zu layers, more than the %d a model may hold", layers->count, NNC_MAX_LAYERS);
    if (!(g->e = calloc(layers->count + 1, sizeof *g->e))) return fail(g, "out of memory");
    g->n = (int)layers->count;
    for (int i = 0; i < g->n; i++) {
        entry *e = &g->e[i];
        e->obj = layers->items[i];
        e->cfg = nnc_json_get(e->obj, "config");
        e->cls = nnc_json_get_string(e->obj, "class_name");
        e->name = e->cfg ? nnc_json_get_string(e->cfg, "name") : NULL;
        if (!e->name) e->name = nnc_json_get_string(e->obj, "name");
        e->node = e->layer = -1;
        if (!e->cls || !e->cfg || e->cfg->type != NNC_JSON_OBJECT || !e->name)
            return fail(g, "layer %d has no class_name, config or name", i + 1);
        int *dup = nnc_strmap_get(&g->names, e->name);
        if (dup) return fail(g, "layers %d and %d are both named '%s'", *dup + 1, i + 1, e->name);
        if (nnc_strmap_put(&g->names, e->name, i)) return fail(g, "out of memory");
        if (!strcmp(e->cls, "TextVectorization")) { /* text: stands for nnc's Input (text_entry) */
            if (g->text_entry >= 0)
                return fail(g, "layers '%s' and '%s' are both TextVectorization: nnc keeps one, before the model's "
                            "input", g->e[g->text_entry].name, e->name);
            e->text = 1;
            g->text_entry = i;
            e->desc = nnc_layer_by_class("InputLayer");
            if (g->functional && inbound(g, e)) return -1;
            continue;
        }
        if (!(e->desc = nnc_layer_by_class(e->cls))) return unsupported_class(g, e);
        const char *dtype = nnc_json_get_string(e->cfg, "dtype");
        e->string_input = (e->desc->flags & NNC_LAYERF_INPUT) && dtype && !strcmp(dtype, "string");
        if (g->functional && e->desc->min_inputs && inbound(g, e)) return -1;
        if (g->functional && e->desc->min_inputs && e->n_in == 0)
            return fail(g, "layer '%s' (%s) has no input in its inbound_nodes", e->name, e->cls);
        if (!g->functional && e->desc->max_inputs > 1)
            return fail(g, "%s '%s' needs a Functional model", e->cls, e->name);
        if (!g->functional && i > 0) e->in_names[e->n_in++] = g->e[i - 1].name;
    }
    return 0;
}

/* ---- order -------------------------------------------------------------------------------- */

/* The order to build the entries in: the config's when each input comes earlier, else Kahn's
 * (inputs first); a cycle or an input no layer defines fails naming a layer in it. */
static int build_order(graph *g, int *ord) {
    int sorted = 1;
    for (int i = 0; i < g->n; i++) {
        entry *e = &g->e[i];
        for (int k = 0; k < e->n_in; k++) {
            const int *j = nnc_strmap_get(&g->names, e->in_names[k]);
            if (!j)
                return fail(g, "layer '%s' takes its input from '%.80s', which no layer of the config defines "
                            "(a dangling input)", e->name, e->in_names[k]);
            e->in[k] = *j;
            sorted &= *j < i;
        }
        ord[i] = i;
    }
    if (sorted) return 0;
    int *deg = calloc((size_t)g->n + 1, sizeof *deg), *first = calloc((size_t)g->n + 1, sizeof *first);
    int *next = calloc((size_t)g->n * NNC_MAX_INPUTS + 1, sizeof *next), *who = calloc((size_t)g->n * NNC_MAX_INPUTS + 1, sizeof *who);
    int head = 0, tail = 0, edges = 0, rc = 0;
    if (!deg || !first || !next || !who) rc = fail(g, "out of memory");
    for (int i = 0; !rc && i < g->n; i++) first[i] = -1;
    for (int i = 0; !rc && i < g->n; i++) /* reader lists: the edges out of each entry */
        for (int k = 0; k < g->e[i].n_in; k++, edges++) {
            int src = g->e[i].in[k];
            who[edges] = i, next[edges] = first[src], first[src] = edges;
            deg[i]++;
        }
    for (int i = 0; !rc && i < g->n; i++)
        if (!deg[i]) ord[tail++] = i;
    while (!rc && head < tail)
        for (int x = first[ord[head++]]; x >= 0; x = next[x])
            if (--deg[who[x]] == 0) ord[tail++] = who[x];
    if (!rc && tail < g->n) {
        int i = 0;
        while (!deg[i]) i++;
        int k = 0;
        for (int steps = 0; steps <= g->n; steps++) { /* walk back along unbuilt inputs into the cycle */
            for (k = 0; !deg[g->e[i].in[k]]; k++) {
            }
            if (steps < g->n) i = g->e[i].in[k];
        }
        rc = fail(g, "layer '%s' depends on its own output: the layers' inputs form a cycle (through '%s')",
                  g->e[i].name, g->e[g->e[i].in[k]].name);
    }
    free(deg);
    free(first);
    free(next);
    free(who);
    return rc;
}

/* ---- building ----------------------------------------------------------------------------- */

static int valid_char(char c, int first) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* The name nnc gives a Keras layer: its own when nnc can hold it, else one made of its letters
 * (noted). Strict mode keeps every name, so the builder refuses what it cannot hold. */
static const char *layer_name(graph *g, const entry *e, char *buf, size_t n) {
    const char *s = e->name;
    size_t len = strlen(s);
    int ok = len > 0 && len < NNC_NAME_MAX && strcmp(s, "optimizer");
    for (size_t i = 0; ok && i < len; i++) ok = valid_char(s[i], i == 0);
    if (ok || !g->o.notes) return s;
    size_t k = 0;
    if (!valid_char(s[0], 1)) buf[k++] = '_';
    for (size_t i = 0; s[i] && k + 8 < n && k + 8 < NNC_NAME_MAX; i++) buf[k++] = valid_char(s[i], 0) ? s[i] : '_';
    buf[k] = '\0';
    if (!strcmp(buf, "optimizer")) snprintf(buf, n, "optimizer_");
    size_t base = strlen(buf);
    for (int u = 1; nnc_find_layer(g->m, buf) >= 0 || nnc_strmap_get(&g->names, buf); u++)
        snprintf(buf + base, n - base, "_%d", u);
    nnc_note(g->o.notes, "layer '%.80s' is called '%s' in nnc (letters, digits and '_' only, at most %d)", s, buf,
             NNC_NAME_MAX - 1);
    return buf;
}

/* Keys nnc reads no row for but that change what a layer computes or how it trains. */
static int check_ignored_keys(graph *g, const entry *e) {
    const nnc_json *c = e->cfg;
    const char *df = nnc_json_get_string(c, "data_format");
    int has_df = 0;
    for (int i = 0; i < e->desc->n_opts; i++) has_df |= e->desc->opts[i].key && !strcmp(e->desc->opts[i].key, "data_format");
    if (df && strcmp(df, "channels_last") && !has_df)
        return fail(g, "%s '%s': data_format %s is not supported (only channels_last)", e->cls, e->name, df);
    if (!g->o.notes) return 0;
    const nnc_json *dt = nnc_json_get(c, "dtype");
    const nnc_json *dc = dt && dt->type == NNC_JSON_OBJECT ? nnc_json_get(dt, "config") : NULL;
    const char *dname = dt && dt->type == NNC_JSON_STRING ? dt->string : dc ? nnc_json_get_string(dc, "name") : NULL;
    if (dname && strcmp(dname, "float32") && !(e->desc->flags & NNC_LAYERF_INPUT))
        nnc_note(g->o.notes, "layer '%s' computes in %s in Keras; nnc computes in float32", e->name, dname);
    for (size_t i = 0; i < c->count; i++) {
        size_t kl = strlen(c->keys[i]);
        if (kl > 11 && !strcmp(c->keys[i] + kl - 11, "_constraint") && c->items[i]->type != NNC_JSON_NULL)
            nnc_note(g->o.notes, "layer '%s': %s is dropped (nnc has no constraints; it matters only in training)",
                     e->name, c->keys[i]);
    }
    return 0;
}

/* An input shape as Keras writes it ([null, d1, ...]) into s; names a None axis. With any_len,
 * a None first axis (a sequence of any length) is taken, as length 1 until the data says
 * (nnc_model_set_sequence_length), and *any_len is set. */
static int read_batch_shape(graph *g, const char *who, const nnc_json *v, nnc_shape *s, int *any_len) {
    if (!v || v->type != NNC_JSON_ARRAY || v->count < 2 || v->count > NNC_MAX_RANK + 1)
        return fail(g, "the input of '%s' has no shape of 1 to %d axes after the batch's", who, NNC_MAX_RANK);
    s->rank = (int)v->count - 1;
    for (size_t i = 1; i < v->count; i++) {
        const nnc_json *d = v->items[i];
        if (d->type == NNC_JSON_NULL && i == 1 && any_len) {
            *any_len = 1;
            s->dim[0] = 1;
            continue;
        }
        if (d->type == NNC_JSON_NULL)
            return fail(g, "the input of '%s' has axis %zu of any size (None): nnc needs a fixed size for every "
                        "axis but the batch's", who, i);
        if (d->type != NNC_JSON_NUMBER || !(d->number >= 1 && d->number <= (1 << 24)) || d->number != floor(d->number))
            return fail(g, "the input of '%s' has a bad size on axis %zu", who, i);
        s->dim[i - 1] = (int)d->number;
    }
    return 0;
}

/* A Sequential without InputLayer: its input from the first layer's batch_input_shape (Keras
 * 2), else the model's build_input_shape or the first layer's build_config (Keras 3). */
static int sequential_input(graph *g, const nnc_json *cfg, int *node) {
    const entry *e = &g->e[0];
    const nnc_json *v = nnc_json_get(e->cfg, "batch_input_shape");
    if (!v) v = nnc_json_get(e->cfg, "batch_shape");
    if (!v && cfg) v = nnc_json_get(cfg, "build_input_shape");
    const nnc_json *bc = nnc_json_get(e->obj, "build_config");
    if (!v && bc) v = nnc_json_get(bc, "input_shape");
    if (!v || v->type == NNC_JSON_NULL)
        return fail(g, "the Sequential model does not say its input's shape (no InputLayer, batch_input_shape or "
                    "build_input_shape)");
    nnc_shape s;
    int any_len = 0;
    if (read_batch_shape(g, e->name, v, &s, &any_len)) return -1;
    char name[NNC_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s_input", e->name); /* as Keras 2 names it */
    int ok = strlen(name) < NNC_NAME_MAX && nnc_find_layer(g->m, name) < 0 && !nnc_strmap_get(&g->names, name);
    for (size_t i = 0; ok && name[i]; i++) ok = valid_char(name[i], i == 0);
    *node = nnc_input(g->m, s.dim, s.rank, ok ? name : NULL);
    if (*node >= 0 && any_len) {
        g->m->var_length_inputs |= 1u << g->m->nodes[*node].input_index;
        ((nnc_input_opts *)g->m->layers[g->m->n_layers - 1].cfg.bytes)->shape.dim[0] = 0; /* written as None */
    }
    return *node < 0 ? fail(g, "%s", nnc_last_error(g->m)) : 0;
}

/* An InputLayer whose first axis is None: built at length 1 and marked, its config not read
 * by the Input row (which wants every axis's size). */
static int any_length_input(graph *g, entry *e, const nnc_shape *s) {
    char buf[NNC_NAME_MAX + 16];
    if (check_ignored_keys(g, e)) return -1;
    if ((e->node = nnc_input(g->m, s->dim, s->rank, layer_name(g, e, buf, sizeof buf))) == NNC_NONE)
        return fail(g, "%s", nnc_last_error(g->m));
    g->m->var_length_inputs |= 1u << g->m->nodes[e->node].input_index;
    e->layer = g->m->n_layers - 1;
    ((nnc_input_opts *)g->m->layers[e->layer].cfg.bytes)->shape.dim[0] = 0; /* written as None */
    return 0;
}

/* Output k of built entry s (a recurrent layer's state when k > 0), for layer e; -1 failed. */
static int entry_tensor(graph *g, const entry *e, const entry *s, int k) {
    const int node = k ? nnc_layer_tensor(g->m, s->layer, k) : s->node;
    if (node < 0)
        fail(g, "layer '%s' reads output %d of '%s', which has %d (return_state gives a recurrent layer's states)",
             e->name, k, s->name, s->layer >= 0 ? 1 + g->m->layers[s->layer].n_more : 1);
    return node;
}

/* The TextVectorization: its vectorizer goes before the model (nnc_model_set_text_vectorizer)
 * and nnc's Input, under its name, takes what it writes; the string input it reads has no
 * nnc layer. */
static int text_input(graph *g, entry *e) {
    char why[400], buf[NNC_NAME_MAX + 16], *asset = NULL;
    size_t len = 0;
    const nnc_json *voc = nnc_json_get(e->cfg, "vocabulary");
    if (g->functional && (e->n_in != 1 || !g->e[e->in[0]].string_input))
        return fail(g, "TextVectorization '%s' reads %s: nnc takes it only straight from a string input", e->name,
                    e->n_in == 1 ? "another layer" : "no input or several");
    if ((!voc || voc->type == NNC_JSON_NULL) && g->o.asset)
        g->o.asset(g->o.asset_ctx, e->name, "vocabulary.txt", &asset, &len);
    nnc_text_vectorizer *t = NULL;
    nnc_status s = nnc_text_vec_from_keras(e->cfg, asset, len, &t, why, sizeof why);
    free(asset);
    if (s != NNC_OK) return fail(g, "TextVectorization '%s': %s", e->name, why);
    const int w = (int)nnc_text_vectorizer_output_size(t);
    e->node = w > 0 ? nnc_input(g->m, &w, 1, layer_name(g, e, buf, sizeof buf)) : NNC_NONE;
    s = e->node == NNC_NONE ? NNC_ERR_ARG : nnc_model_set_text_vectorizer(g->m, t);
    nnc_text_vectorizer_free(t);
    if (s != NNC_OK) return fail(g, "TextVectorization '%s': %s", e->name, nnc_last_error(g->m));
    e->layer = g->m->n_layers - 1;
    return 0;
}

static int build_entry(graph *g, entry *e, int prev) {
    const nnc_layer_desc *d = e->desc;
    if (e->text) return text_input(g, e);
    if (e->string_input) return 0; /* read by the TextVectorization alone (checked by build_all) */
    for (int k = 0; k < e->n_in; k++)
        if (g->e[e->in[k]].string_input)
            return fail(g, "input '%s' takes strings, which only a TextVectorization right after it reads here (not "
                        "%s '%s')", g->e[e->in[k]].name, e->cls, e->name);
    int in[NNC_MAX_INPUTS], nin = 0;
    if (d->min_inputs) {
        if (g->functional) {
            for (; nin < e->n_in; nin++)
                if ((in[nin] = entry_tensor(g, e, &g->e[e->in[nin]], e->in_tensor[nin])) < 0) return -1;
        } else {
            in[nin++] = prev;
        }
    }
    if (d->flags & NNC_LAYERF_INPUT) {
        const nnc_json *bs = nnc_json_get(e->cfg, "batch_shape");
        nnc_shape s;
        int any_len = 0;
        if (!bs) bs = nnc_json_get(e->cfg, "batch_input_shape");
        if (bs && read_batch_shape(g, e->name, bs, &s, &any_len)) return -1;
        if (any_len) return any_length_input(g, e, &s);
    }
    if (check_ignored_keys(g, e)) return -1;
    nnc_read_ctx cx = {g->o.notes, e->name, 0, g->o.keras2};
    if (nin && in[0] >= 0) cx.last_axis = g->m->nodes[in[0]].shape.rank;
    union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } opts;
    char why[256], buf[NNC_NAME_MAX + 16];
    d->defaults(opts.bytes);
    if (nnc_config_read_opts(d->opts, d->n_opts, e->cfg, opts.bytes, &cx, why, sizeof why) ||
        nnc_config_read_wrapped(d, e->cfg, opts.bytes, &cx, why, sizeof why) ||
        nnc_config_recurrent_keys(e->cfg, why, sizeof why))
        return fail(g, "%s '%s': %s", e->cls, e->name, why);
    /* the call's keyword arguments that are options here (MultiHeadAttention's use_causal_mask) */
    const nnc_json *nodes = g->functional ? nnc_json_get(e->obj, "inbound_nodes") : NULL;
    const nnc_json *kw = nodes && nodes->type == NNC_JSON_ARRAY && nodes->count &&
                                 nodes->items[0]->type == NNC_JSON_OBJECT
                             ? nnc_json_get(nodes->items[0], "kwargs")
                             : NULL;
    for (int i = 0; kw && kw->type == NNC_JSON_OBJECT && i < d->n_opts; i++)
        if ((d->opts[i].flags & NNC_OPTF_CALL_ARG) &&
            nnc_config_read_opts(&d->opts[i], 1, kw, opts.bytes, &cx, why, sizeof why))
            return fail(g, "%s '%s': %s", e->cls, e->name, why);
    if ((e->node = d->build(g->m, in, nin, opts.bytes, layer_name(g, e, buf, sizeof buf))) == NNC_NONE)
        return fail(g, "%s", nnc_last_error(g->m));
    e->layer = g->m->n_layers - 1;
    /* Keras's layer.trainable = False: a frozen layer (fine-tuning) */
    const nnc_json *tr = nnc_json_get(e->cfg, "trainable");
    if (tr && tr->type == NNC_JSON_BOOL && !tr->boolean && !(d->flags & NNC_LAYERF_INPUT) &&
        nnc_layer_set_trainable(g->m, g->m->layers[e->layer].name, false))
        return fail(g, "%s", nnc_last_error(g->m));
    return 0;
}

/* Which output [name, 0, k] names: k, or 0 when absent or not a count. */
static int tensor_index(const nnc_json *t) {
    const nnc_json *k = t->count >= 3 ? t->items[2] : NULL;
    return k && k->type == NNC_JSON_NUMBER && k->number >= 0 && k->number <= NNC_LAYER_MORE_OUTPUTS ? (int)k->number : 0;
}

/* The tensors a model's input_layers / output_layers name: [name, 0, k], a list of those, or
 * (Keras 3) a dict of them; their outputs k in index. */
static int tensor_names(const nnc_json *j, const char **names, int *index, int max) {
    if (!j) return 0;
    if (j->type == NNC_JSON_ARRAY && j->count && j->items[0]->type == NNC_JSON_STRING) {
        names[0] = j->items[0]->string;
        index[0] = tensor_index(j);
        return 1;
    }
    int n = 0;
    for (size_t i = 0; (j->type == NNC_JSON_ARRAY || j->type == NNC_JSON_OBJECT) && i < j->count; i++) {
        const nnc_json *t = j->items[i];
        if (n == max || t->type != NNC_JSON_ARRAY || !t->count || t->items[0]->type != NNC_JSON_STRING) return -1;
        index[n] = tensor_index(t);
        names[n++] = t->items[0]->string;
    }
    return n;
}

/* A functional model's outputs, and its inputs in the order input_layers gives (the order of
 * the features in a row of x). */
static int inputs_outputs(graph *g, const nnc_json *cfg) {
    const char *names[NNC_MAX_INPUTS];
    int nodes[NNC_MAX_INPUTS], index[NNC_MAX_INPUTS];
    for (int pass = 0; pass < 2; pass++) {
        const char *key = pass ? "output_layers" : "input_layers";
        int n = tensor_names(nnc_json_get(cfg, key), names, index, NNC_MAX_INPUTS);
        if (n < 0) return fail(g, "%s is not a list of [layer, 0, 0]", key);
        for (int i = 0; i < n; i++) {
            const int *k = nnc_strmap_get(&g->names, names[i]);
            if (!k) return fail(g, "%s names '%.80s', which no layer of the config defines", key, names[i]);
            if (g->e[*k].string_input && g->text_entry >= 0) k = &g->text_entry; /* its vectorizer's output */
            entry out = {.name = key};
            if ((nodes[i] = entry_tensor(g, &out, &g->e[*k], index[i])) < 0) return -1;
        }
        if (pass && n && nnc_set_outputs(g->m, nodes, n)) return fail(g, "%s", nnc_last_error(g->m));
        if (pass || n != g->m->n_inputs) continue;
        for (int i = 0; i < n; i++)
            if (g->m->nodes[nodes[i]].op != NNC_OP_INPUT) return fail(g, "input_layers names '%s', not an input", names[i]);
        for (int i = 0; i < n; i++) {
            g->m->inputs[i] = nodes[i];
            g->m->nodes[nodes[i]].input_index = i;
        }
    }
    return 0;
}

/* A model with a None time axis must run at any length: tried at 2 steps, then back at 1. */
static int any_length_runs(graph *g) {
    if (!g->m->var_length_inputs) return 0;
    if (nnc_model_set_sequence_length(g->m, 2) || nnc_model_set_sequence_length(g->m, 1))
        return fail(g, "an input has axis 1 of any size (None), but %s: nnc runs such a model only when every "
                    "layer acts per step or pools the steps away", nnc_last_error(g->m));
    return 0;
}

static int build_all(graph *g, const nnc_json *root) {
    const nnc_json *cfg, *layers = layer_list(g, root, &cfg);
    if (!layers || read_entries(g, layers)) return -1;
    if (g->n == 0) return fail(g, "the model has no layers");
    int *ord = malloc(((size_t)g->n + 1) * sizeof *ord), prev = NNC_PREV, rc = 0;
    if (!ord) return fail(g, "out of memory");
    if (build_order(g, ord)) rc = -1;
    if (!rc && !g->functional && !(g->e[0].desc->flags & NNC_LAYERF_INPUT)) rc = sequential_input(g, cfg, &prev);
    for (int i = 0; !rc && i < g->n; i++) {
        rc = build_entry(g, &g->e[ord[i]], prev);
        prev = g->e[ord[i]].node;
    }
    free(ord);
    const char *mname = cfg ? nnc_json_get_string(cfg, "name") : NULL;
    if (!rc && mname && strcmp(mname, g->functional ? "functional" : "sequential"))
        snprintf(g->m->name, sizeof g->m->name, "%s", mname);
    for (int i = 0; !rc && i < g->n; i++) /* text goes only into the TextVectorization */
        if (g->e[i].string_input && (g->text_entry < 0 || (g->functional && g->e[g->text_entry].in[0] != i) ||
                                     (!g->functional && g->text_entry != i + 1)))
            rc = fail(g, "input '%s' takes strings, which only a TextVectorization right after it reads here", g->e[i].name);
    if (!rc && g->functional) rc = inputs_outputs(g, cfg);
    /* a model saved with trainable False: every layer frozen, as Keras's setter does */
    const nnc_json *tr = cfg ? nnc_json_get(cfg, "trainable") : NULL;
    for (int i = 0; !rc && tr && tr->type == NNC_JSON_BOOL && !tr->boolean && i < g->m->n_layers; i++)
        if (nnc_layer_set_trainable(g->m, g->m->layers[i].name, false)) rc = fail(g, "%s", nnc_last_error(g->m));
    return rc ? rc : any_length_runs(g);
}

int nnc_config_build_ex(nnc_model *m, const nnc_json *root, const nnc_config_opts *o, nnc_config_layer **layers,
                        int *n_layers, char *msg, size_t n) {
    graph g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.text_entry = -1;
    if (o) g.o = *o;
    g.msg = msg;
    g.len = n;
    if (layers) *layers = NULL;
    if (n_layers) *n_layers = 0;
    int rc = build_all(&g, root);
    if (!rc && layers && g.n) {
        if (!(*layers = malloc((size_t)g.n * sizeof **layers))) rc = fail(&g, "out of memory");
        for (int i = 0; !rc && i < g.n; i++) {
            (*layers)[i].keras_name = g.e[i].name;
            (*layers)[i].class_name = g.e[i].cls;
            (*layers)[i].layer = g.e[i].layer;
        }
        if (!rc && n_layers) *n_layers = g.n;
    }
    free(g.e);
    nnc_strmap_free(&g.names);
    return rc;
}

int nnc_config_build(nnc_model *m, const nnc_json *root, char *msg, size_t n) {
    return nnc_config_build_ex(m, root, NULL, NULL, NULL, msg, n);
}
