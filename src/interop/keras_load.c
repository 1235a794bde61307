/* Keras's model files into nnc models (interop.h: nnc_keras_load, nnc_keras_load_weights).
 *   1. Legacy HDF5 (model.save("x.h5"), Keras 2 and 3): the root's attributes model_config
 *      (the architecture as JSON), training_config (loss, metrics, optimizer_config),
 *      keras_version and backend; the weights under model_weights/. A file without
 *      model_config holds weights only (save_weights), which nnc train --init-weights reads.
 *   2. The Keras 3 zip (.keras): config.json ({class_name, config, compile_config, ...}),
 *      metadata.json ({keras_version, date_saved}) and model.weights.h5, each read whole with
 *      a cap on its size (zip_io.c).
 * Loading builds the architecture (src/io/keras_graph.c, leniently: what nnc ignores becomes a
 * note), checks that its variables fit in the weights file before compile allocates them,
 * compiles it with the file's compile settings (keras_compile.c), then reads the weights and
 * the optimizer state (keras_weights.c, keras_optstate.c). Everything a message names starts
 * with the file's path. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "interop.h"
#include "keras_read.h"
#include "zip_io.h"
#include "../format/message.h"
#include "../io/columns.h"

#define CONFIG_CAP ((size_t)256 << 20)  /* config.json, metadata.json */
#define WEIGHTS_CAP ((size_t)16 << 30)  /* model.weights.h5 */

typedef struct {
    const char *path;
    nnc_zip *zip;
    void *image;           /* the zip's model.weights.h5 */
    size_t image_len;
    char *config, *train, *version; /* model_config / config.json, training_config, keras_version */
    char *columns;         /* nnc's record of the training data's columns, when it wrote the file */
    size_t config_len;
    nnc_kw_file w;
} kfile;

static void kfile_close(kfile *k) {
    nnc_kw_close(&k->w);
    nnc_h5_close(k->w.file);
    nnc_zip_close(k->zip);
    free(k->image);
    free(k->config);
    free(k->train);
    free(k->version);
    free(k->columns);
}

/* What an HDF5 file without model_config is. */
static int no_config(kfile *k, char *msg, size_t n) {
    int weights = H5Aexists(k->w.file, "layer_names") > 0 || H5Aexists(k->w.file, "layer_names0") > 0 ||
                  nnc_h5_exists(k->w.file, "model_weights") || nnc_h5_exists(k->w.file, "layers");
    if (weights)
        return nnc_msg(msg, n, "%s: holds weights only (no model_config: Keras's save_weights wrote it); build the "
                       "model from a spec and load them with nnc train SPEC --init-weights %s", k->path, k->path);
    return nnc_msg(msg, n, "%s: an HDF5 file without model_config: not a Keras model file", k->path);
}

static int open_h5(kfile *k, char *msg, size_t n) {
    struct stat sb;
    if (stat(k->path, &sb)) return nnc_msg(msg, n, "%s: cannot open", k->path);
    k->w.bytes = (size_t)sb.st_size;
    if ((k->w.file = nnc_h5_open(k->path, msg, n)) < 0) return -1;
    if (!(k->config = nnc_h5_attr_string(k->w.file, "model_config"))) return no_config(k, msg, n);
    k->config_len = strlen(k->config);
    k->train = nnc_h5_attr_string(k->w.file, "training_config");
    k->version = nnc_h5_attr_string(k->w.file, "keras_version");
    k->columns = nnc_h5_attr_string(k->w.file, "nnc_columns");
    return 0;
}

/* keras_version from metadata.json, when it says. */
static void zip_version(kfile *k) {
    void *meta = NULL;
    size_t len = 0;
    char why[16];
    if (nnc_zip_read(k->zip, "metadata.json", CONFIG_CAP, &meta, &len, why, sizeof why) == 1) {
        nnc_json *j = nnc_json_parse(meta, len, NULL, 0);
        const char *v = j ? nnc_json_get_string(j, "keras_version") : NULL;
        const char *c = j ? nnc_json_get_string(j, "nnc_columns") : NULL;
        if (v && (k->version = malloc(strlen(v) + 1))) strcpy(k->version, v);
        if (c && (k->columns = malloc(strlen(c) + 1))) strcpy(k->columns, c);
        nnc_json_free(j);
    }
    free(meta);
}

static int open_zip(kfile *k, char *msg, size_t n) {
    if (!(k->zip = nnc_zip_open(k->path, msg, n))) return -1;
    void *cfg = NULL;
    int got = nnc_zip_read(k->zip, "config.json", CONFIG_CAP, &cfg, &k->config_len, msg, n);
    k->config = cfg;
    if (got == 0) return nnc_msg(msg, n, "%s: the zip has no config.json: not a Keras .keras file", k->path);
    if (got < 0) return -1;
    zip_version(k);
    got = nnc_zip_read(k->zip, "model.weights.h5", WEIGHTS_CAP, &k->image, &k->image_len, msg, n);
    if (got == 0) return nnc_msg(msg, n, "%s: the zip has no model.weights.h5 (the model's weights)", k->path);
    if (got < 0) return -1;
    char name[600];
    snprintf(name, sizeof name, "%s: model.weights.h5", k->path);
    if ((k->w.file = nnc_h5_open_image(k->image, k->image_len, name, msg, n)) < 0) return -1;
    k->w.member = "model.weights.h5";
    k->w.bytes = k->image_len;
    return 0;
}

/* The built model's variables must fit in the weights file: a small forged file must not make
 * compile allocate gigabytes. */
static int check_sizes(const nnc_model *m, const kfile *k, char *msg, size_t n) {
    size_t floats = 0;
    for (int p = 0; p < m->n_params; p++) {
        if (m->params[p].size > k->w.bytes / sizeof(float) - floats)
            return nnc_msg(msg, n, "%s: the config's variables need more than the %zu bytes of its weights file%s%s",
                           k->path, k->w.bytes, k->w.member ? " " : "", k->w.member ? k->w.member : "");
        floats += m->params[p].size;
    }
    return 0;
}

/* A layer's asset in a .keras zip: Keras 3's saving_lib keeps it under assets/ at the layer's
 * path (layers/<name>/), and IndexLookup's save_assets writes vocabulary.txt there; its inner
 * lookup layer's own path is tried after. */
static int zip_asset(void *ctx, const char *layer, const char *file, char **data, size_t *len) {
    kfile *k = ctx;
    static const char *const forms[2] = {"assets/layers/%s/%s", "assets/layers/%s/_lookup_layer/%s"};
    char name[512], why[200];
    for (int i = 0; k->zip && i < 2; i++) {
        void *got = NULL;
        snprintf(name, sizeof name, forms[i], layer, file);
        if (nnc_zip_read(k->zip, name, CONFIG_CAP, &got, len, why, sizeof why) == 1) {
            *data = got;
            return 0;
        }
        free(got);
    }
    return -1;
}

static nnc_model *build(kfile *k, int legacy, char *msg, size_t n) {
    char why[512];
    nnc_json *cfg = nnc_json_parse(k->config, k->config_len, why, sizeof why), *train = NULL;
    nnc_model *m = NULL;
    nnc_config_layer *cl = NULL;
    int ncl = 0, known = 0, rc = 0;
    const char *what = legacy ? "model_config" : "config.json";
    if (!cfg) rc = nnc_msg(msg, n, "%s: %s is not valid JSON: %s", k->path, what, why);
    if (!rc && k->train) train = nnc_json_parse(k->train, strlen(k->train), NULL, 0); /* unreadable: noted below */
    if (!rc && !(m = nnc_model_new(NULL))) rc = nnc_msg(msg, n, "%s: out of memory", k->path);
    nnc_config_opts o = {k->version && (k->version[0] == '1' || k->version[0] == '2') && k->version[1] == '.', m,
                         zip_asset, k};
    if (!rc && nnc_config_build_ex(m, cfg, &o, &cl, &ncl, why, sizeof why)) rc = nnc_msg(msg, n, "%s: %s", k->path, why);
    if (!rc && nnc_kw_open(&k->w, msg, n)) rc = -1;
    if (!rc) rc = check_sizes(m, k, msg, n);
    if (!rc) {
        const nnc_json *tc = legacy ? train : nnc_json_get(cfg, "compile_config");
        if (k->train && !train) nnc_note(m, "the file's training_config is not valid JSON: it is ignored");
        nnc_compile_opts co;
        nnc_keras_compile_opts(m, tc && tc->type == NNC_JSON_OBJECT ? tc : NULL, &co, &known);
        if (nnc_compile(m, &co)) rc = nnc_msg(msg, n, "%s: %s", k->path, nnc_last_error(m));
    }
    if (!rc) rc = nnc_kw_read(m, &k->w, cl, ncl, known, msg, n);
    if (!rc && k->columns && nnc_columns_from_json(m, k->columns, why, sizeof why))
        rc = nnc_msg(msg, n, "%s: nnc_columns: %s", k->path, why);
    free(cl);
    nnc_json_free(cfg);
    nnc_json_free(train);
    if (rc) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

nnc_model *nnc_keras_load(const char *path, int legacy_h5, nnc_error *err) {
    nnc_h5_quiet q;
    nnc_h5_quiet_begin(&q);
    kfile k;
    memset(&k, 0, sizeof k);
    k.path = path;
    k.w.file = k.w.root = H5I_INVALID_HID;
    k.w.path = path;
    char msg[1024] = "";
    nnc_model *m = NULL;
    if ((legacy_h5 ? open_h5(&k, msg, sizeof msg) : open_zip(&k, msg, sizeof msg)) == 0)
        m = build(&k, legacy_h5, msg, sizeof msg);
    if (!m) nnc_msg(NNC_ERRBUF(err), "%s", msg);
    kfile_close(&k);
    nnc_h5_quiet_end(&q);
    return m;
}

nnc_status nnc_keras_load_weights(nnc_model *m, const char *path, int legacy_h5, int *epoch) {
    if (epoch) *epoch = 0;
    nnc_h5_quiet q;
    nnc_h5_quiet_begin(&q);
    kfile k;
    memset(&k, 0, sizeof k);
    k.path = path;
    k.w.file = k.w.root = H5I_INVALID_HID;
    k.w.path = path;
    char msg[1024] = "";
    int rc = 0;
    if (legacy_h5) {
        struct stat sb;
        if (stat(path, &sb)) rc = nnc_msg(msg, sizeof msg, "%s: cannot open", path);
        else k.w.bytes = (size_t)sb.st_size;
        if (!rc && (k.w.file = nnc_h5_open(path, msg, sizeof msg)) < 0) rc = -1;
    } else if (!(k.zip = nnc_zip_open(path, msg, sizeof msg))) {
        rc = -1;
    } else {
        int got = nnc_zip_read(k.zip, "model.weights.h5", WEIGHTS_CAP, &k.image, &k.image_len, msg, sizeof msg);
        if (got == 0) rc = nnc_msg(msg, sizeof msg, "%s: the zip has no model.weights.h5 (the model's weights)", path);
        if (got < 0) rc = -1;
        if (!rc && (k.w.file = nnc_h5_open_image(k.image, k.image_len, path, msg, sizeof msg)) < 0) rc = -1;
        k.w.member = "model.weights.h5";
        k.w.bytes = k.image_len;
    }
    if (!rc) rc = nnc_kw_open(&k.w, msg, sizeof msg) || nnc_kw_read(m, &k.w, NULL, 0, 0, msg, sizeof msg);
    kfile_close(&k);
    nnc_h5_quiet_end(&q);
    return rc ? nnc_fail(m, NNC_ERR_FORMAT, "%s", msg) : NNC_OK;
}
