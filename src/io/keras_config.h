/* Keras 3's configs as JSON, written and read through the descriptors of layers, optimizers and
 * schedules (src/io/keras_config.c): the architecture (Sequential or Functional get_config)
 * and the compile config (loss, optimizer, metrics). */
#ifndef NNC_KERAS_CONFIG_H
#define NNC_KERAS_CONFIG_H
#include "../core/model_impl.h"
#include "../format/json.h"
#include "../core/options.h"

/* Writes the architecture as Keras 3's get_config JSON. */
void nnc_config_json(const nnc_model *m, nnc_strbuf *sb);
/* The same for Keras's files: a model that reads text (nnc_model_set_text_vectorizer) starts
 * with Keras's string InputLayer and its TextVectorization. */
void nnc_config_json_keras(const nnc_model *m, nnc_strbuf *sb);
/* Builds the layers of a Keras config into m (src/io/keras_graph.c). Returns 0, or -1 with why
 * in msg. */
int nnc_config_build(nnc_model *m, const nnc_json *root, char *msg, size_t n);

/* One layer of a config as the file names it, and the nnc layer built for it. */
typedef struct {
    const char *keras_name;  /* the config's name (into the JSON, valid while it lives) */
    const char *class_name;  /* Keras's class */
    int layer;               /* the nnc layer (its name may differ: nnc_note says so), -1: none */
} nnc_config_layer;

/* How a config is read: Keras 2's meanings, and where notes go. */
typedef struct {
    int keras2;              /* written by Keras 2 (its hard_sigmoid differs) */
    nnc_model *notes;        /* lenient: a key nnc ignores or an initializer it lacks is noted
                              * on this model instead of refused; NULL: strict (nnc's own files) */
    /* A layer's Keras asset file (a TextVectorization's vocabulary.txt in a .keras zip): 0 with
     * the bytes in *data (malloc'd, *len of them), -1 when there is none; NULL: no assets. */
    int (*asset)(void *ctx, const char *layer, const char *file, char **data, size_t *len);
    void *asset_ctx;
} nnc_config_opts;

/* nnc_config_build with options (o may be NULL: strict) that also lists the config's layers
 * in its order (*layers, *n; free(*layers) after; layers may be NULL). The config may be Keras
 * 3's or Keras 2's (Sequential as a bare list or without InputLayer, Model with nested-list
 * inbound_nodes), in any order a graph allows. */
int nnc_config_build_ex(nnc_model *m, const nnc_json *root, const nnc_config_opts *o, nnc_config_layer **layers,
                        int *n_layers, char *msg, size_t n);

/* What reading a layer's options needs beyond the rows. */
typedef struct {
    nnc_model *notes;        /* lenient (see nnc_config_opts), NULL: strict */
    const char *layer;       /* the layer's name, for notes */
    int last_axis;           /* the input's last axis as Keras counts it (with the batch), 0: unknown */
    int keras2;
} nnc_read_ctx;

/* Reads every row of obj into base (cx may be NULL); 0, or -1 with why (naming the key) in
 * msg. A key absent or null keeps the default. */
int nnc_config_read_opts(const nnc_opt_desc *rows, int count, const nnc_json *obj, void *base,
                         const nnc_read_ctx *cx, char *msg, size_t n);
/* The same for the rows that live in a wrapped layer's config (NNC_OPTF_NESTED) only, which
 * nnc_config_read_opts leaves alone; and writing those rows as ,"key":value (def: the defaults). */
int nnc_config_read_nested_rows(const nnc_opt_desc *rows, int count, const nnc_json *obj, void *base,
                                const nnc_read_ctx *cx, char *msg, size_t n);
void nnc_config_put_nested_rows(nnc_strbuf *sb, const nnc_opt_desc *rows, int n, const void *base, const void *def);

/* Wrappers (src/io/keras_nested.c): a layer whose rows include NNC_OPTF_NESTED ones writes them
 * as Keras 3's nested "layer" object (and Bidirectional's "backward_layer", the same layer
 * with go_backwards the other way), and reads them back from it; layers without such rows
 * write nothing and read nothing here. d is the layer's descriptor (struct nnc_layer_desc); a
 * frozen wrapper's wrapped layers are frozen too (Keras's trainable setter sets its sublayers'). */
struct nnc_layer_desc;
void nnc_config_put_wrapped(nnc_strbuf *sb, const struct nnc_layer_desc *d, const void *opts, const void *def,
                            int frozen);
/* 0, or -1 with why in msg: the "layer" object is missing, of a class the layer cannot wrap,
 * or (Bidirectional) its "backward_layer" is not the same layer run the other way. */
int nnc_config_read_wrapped(const struct nnc_layer_desc *d, const nnc_json *cfg, void *opts, const nnc_read_ctx *cx,
                            char *msg, size_t n);

/* A recurrent layer's keys nnc cannot honour (stateful, time_major true): 0, or -1 with why. */
int nnc_config_recurrent_keys(const nnc_json *c, char *msg, size_t n);

/* An optimizer as keras.optimizers.serialize writes it ({class_name, config}) into o. */
int nnc_optimizer_config_parse(const nnc_json *opt, nnc_optimizer *o, char *msg, size_t n);

/* Writes a compile config: loss, optimizer (with its schedule) and metrics. */
void nnc_compile_config_json(const nnc_compile_opts *c, nnc_strbuf *sb);
/* Its parts: a loss and an optimizer as Keras serializes them, the metrics as a list of names. */
void nnc_loss_config_json(const nnc_loss *l, nnc_strbuf *sb);
void nnc_optimizer_config_json(const nnc_optimizer *o, nnc_strbuf *sb);
/* The metrics (weighted 0) or the weighted_metrics (1) as Keras's compile config lists them:
 * a metric with its default arguments and name by its name ("precision"), another as its
 * serialized object; keras leaves out nnc's own keys (AUC's exact). */
void nnc_metrics_config_json(const nnc_compile_opts *c, nnc_strbuf *sb, int weighted, int keras);
/* Whether any metric of c (or of its outputs) is weighted. */
int nnc_metrics_any_weighted(const nnc_compile_opts *c);
/* The same over one output's list (a model of several outputs). */
void nnc_metric_list_json(const nnc_output_opts *o, nnc_strbuf *sb, int weighted, int keras);
int nnc_metric_list_any_weighted(const nnc_output_opts *o);
int nnc_metric_list_parse(const nnc_json *list, nnc_output_opts *o, int weighted, char *msg, size_t n);
/* One metric of a compile config (a name, or an object {class_name, config}) into mc; 0, or
 * -1 with why in msg. */
int nnc_metric_config_parse(const nnc_json *e, nnc_metric_config *mc, char *msg, size_t n);
/* A list of them (null: none) appended to c's metrics, weighted or not; 0, or -1 with why. */
int nnc_metrics_config_parse(const nnc_json *list, nnc_compile_opts *c, int weighted, char *msg, size_t n);
/* Writes one option row's value as Keras's config holds it. */
void nnc_config_put_value(nnc_strbuf *sb, const nnc_opt_desc *row, const void *base, const void *def);
/* Reads one into c (Keras's defaults where a key is absent). 0, or -1 with why in msg. */
int nnc_compile_config_parse(const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n);
/* "loss":...,"loss_weights":...,"metrics":...,"weighted_metrics":... of a compile config
 * (src/io/outputs_config.c): one output's loss object, or lists in output order for several
 * outputs; keras leaves out nnc's own metric keys. */
void nnc_outputs_compile_json(const nnc_compile_opts *c, nnc_strbuf *sb, int keras);
/* The losses, loss_weights and metrics of a compile config whose loss is a list (output order)
 * or, given m, a dict of output names, into c's outputs; metrics nnc lacks are noted on m
 * (when not NULL). 0, or -1 with why in msg. */
int nnc_outputs_config_parse(nnc_model *m, const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n);

#endif
