/* Keras files for the tests (keras_fixtures.h), written with HDF5 and libzip directly, so that
 * nnc's reader is checked against files it did not write: the legacy .h5 layout (root
 * attributes model_config, training_config, keras_version, backend; model_weights/<layer>/
 * with weight_names) and the .keras zip (config.json, metadata.json, model.weights.h5 with
 * layers/<class_snake>/vars/<i>), each good or with one defect. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "keras_fixtures.h"

#ifndef NNC_HAVE_KERAS
int keras_fixtures_built(void) { return 0; }
int keras_fixture(const char *dir, const char *name) {
    (void)dir, (void)name;
    return -1;
}
#else
#include <hdf5.h>
#include <zip.h>

int keras_fixtures_built(void) { return 1; }

#define LAYERS_GOOD                                                                                       \
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4],\"name\":\"input_layer\"}},"     \
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":3,\"activation\":\"relu\"}},"    \
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense_1\",\"units\":3,\"activation\":\"linear\"}}"
#define SEQUENTIAL(layers) "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":[" layers "]}}"
#define TRAINING "{\"loss\":\"mse\",\"metrics\":[\"mae\"],\"optimizer_config\":{\"class_name\":\"Adam\"," \
                 "\"config\":{\"learning_rate\":0.001}}}"
#define COMPILE "{\"loss\":\"mse\",\"metrics\":[\"mae\"],\"optimizer\":{\"class_name\":\"Adam\",\"config\":{\"learning_rate\":0.001}}}"

/* ---- HDF5 ---------------------------------------------------------------------------------- */

static void set_str(hid_t obj, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, &v);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

/* A list of strings as h5py stores np.asarray of bytes: fixed length, null padded. */
static void set_strs(hid_t obj, const char *name, const char *const *v, int n) {
    size_t w = 1;
    for (int i = 0; i < n; i++) w = strlen(v[i]) > w ? strlen(v[i]) : w;
    char *buf = calloc((size_t)n + 1, w);
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
    hsize_t dim = (hsize_t)n;
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate_simple(1, &dim, NULL);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, buf);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    free(buf);
}

/* A dataset at path (intermediate groups made) of rank 1 or 2, float32 or int32. */
static void put(hid_t loc, const char *path, int d0, int d1, int as_int, float nan_at_0) {
    float f[64];
    int iv[64];
    int count = d0 * (d1 ? d1 : 1);
    for (int i = 0; i < count; i++) f[i] = 0.05f * (float)(i % 7) - 0.1f, iv[i] = i;
    if (nan_at_0 != 0.0f) f[0] = nan_at_0;
    hsize_t dims[2] = {(hsize_t)d0, (hsize_t)d1};
    hid_t s = H5Screate_simple(d1 ? 2 : 1, dims, NULL), l = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(l, 1);
    hid_t ds = H5Dcreate2(loc, path, as_int ? H5T_STD_I32LE : H5T_IEEE_F32LE, s, l, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, as_int ? H5T_NATIVE_INT : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, as_int ? (void *)iv : (void *)f);
    H5Dclose(ds);
    H5Pclose(l);
    H5Sclose(s);
}

typedef struct {
    const char *config;      /* model_config; NULL: none (save_weights) */
    int kernel_rows, kernel_cols, kernel_int;
    float bias_value;        /* 0: plain; else dense's bias[0] */
} h5_spec;

/* The legacy layout of Keras 3: model_weights/<layer>/<model>/<layer>/<var>. */
static int write_h5(const char *path, const h5_spec *sp) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    hid_t mw = f;
    if (sp->config) {
        set_str(f, "model_config", sp->config);
        set_str(f, "training_config", TRAINING);
        set_str(f, "keras_version", "3.10.0");
        set_str(f, "backend", "tensorflow");
        mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    }
    const char *layers[2] = {"dense", "dense_1"};
    set_strs(mw, "layer_names", layers, 2);
    for (int l = 0; l < 2; l++) {
        hid_t g = H5Gcreate2(mw, layers[l], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        char k[64], b[64];
        snprintf(k, sizeof k, "sequential/%s/kernel", layers[l]);
        snprintf(b, sizeof b, "sequential/%s/bias", layers[l]);
        const char *names[2] = {k, b};
        set_strs(g, "weight_names", names, 2);
        put(g, k, l ? 3 : sp->kernel_rows, l ? 3 : sp->kernel_cols, !l && sp->kernel_int, 0.0f);
        put(g, b, 3, 0, 0, l ? 0.0f : sp->bias_value);
        H5Gclose(g);
    }
    if (mw != f) H5Gclose(mw);
    return H5Fclose(f) < 0 ? -1 : 0;
}

/* The good model's model.weights.h5 as bytes (HDF5's core driver, no file on disk). */
static void *weights_h5(size_t *len) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 0);
    hid_t f = H5Fcreate("nnc-test-weights.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    put(f, "layers/dense/vars/0", 4, 3, 0, 0.0f);
    put(f, "layers/dense/vars/1", 3, 0, 0, 0.0f);
    put(f, "layers/dense_1/vars/0", 3, 3, 0, 0.0f);
    put(f, "layers/dense_1/vars/1", 3, 0, 0, 0.0f);
    H5Fflush(f, H5F_SCOPE_GLOBAL);
    ssize_t n = H5Fget_file_image(f, NULL, 0);
    void *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && H5Fget_file_image(f, buf, (size_t)n) != n) {
        free(buf);
        buf = NULL;
    }
    H5Fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* save_weights("x.weights.h5") of Keras 3: model.weights.h5's layout as a file of its own. */
static int write_weights_h5(const char *path) {
    size_t len = 0;
    void *bytes = weights_h5(&len);
    FILE *f = bytes ? fopen(path, "wb") : NULL;
    int ok = f && fwrite(bytes, 1, len, f) == len;
    if (f) ok &= fclose(f) == 0;
    free(bytes);
    return ok ? 0 : -1;
}

/* ---- zip ----------------------------------------------------------------------------------- */

/* A .keras zip of config.json (NULL: left out), metadata.json and (with_weights)
 * model.weights.h5, deflated. */
static int write_zip(const char *path, const char *config, size_t config_len, int with_weights) {
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) return -1;
    static const char meta[] = "{\"keras_version\": \"3.10.0\", \"date_saved\": \"2025-01-01@00:00:00\"}";
    size_t wlen = 0;
    void *weights = with_weights ? weights_h5(&wlen) : NULL;
    const char *names[3] = {"metadata.json", "config.json", "model.weights.h5"};
    const void *data[3] = {meta, config, weights};
    size_t lens[3] = {sizeof meta - 1, config_len, wlen};
    int bad = with_weights && !weights;
    for (int i = 0; i < 3 && !bad; i++) {
        if (!data[i]) continue;
        zip_source_t *s = zip_source_buffer(z, data[i], lens[i], 0);
        zip_int64_t idx = s ? zip_file_add(z, names[i], s, ZIP_FL_OVERWRITE) : -1;
        bad = idx < 0 || zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9) != 0;
    }
    bad |= zip_close(z) != 0; /* the buffers are read here */
    free(weights);
    return bad ? -1 : 0;
}

static int cut_in_half(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n > 16 ? truncate(path, n / 2) : -1;
}

/* Declares member `name`'s inflated size as 4 GB in its local and central headers. */
static int declare_huge(const char *path, const char *name) {
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f), nl = strlen(name);
    int patched = 0;
    for (size_t i = 0; i + 46 + nl <= n; i++) {
        unsigned sig = buf[i] | buf[i + 1] << 8 | (unsigned)buf[i + 2] << 16 | (unsigned)buf[i + 3] << 24;
        size_t size_at = sig == 0x04034b50 ? 22 : sig == 0x02014b50 ? 24 : 0, name_at = sig == 0x04034b50 ? 30 : 46;
        if (size_at && !memcmp(buf + i + name_at, name, nl)) {
            buf[i + size_at] = 0xf0, buf[i + size_at + 1] = buf[i + size_at + 2] = buf[i + size_at + 3] = 0xff;
            patched++;
        }
    }
    int ok = patched == 2 && fseek(f, 0, SEEK_SET) == 0 && fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int deep_config(const char *path) {
    size_t n = (size_t)100 << 20;
    char *text = malloc(n);
    if (!text) return -1;
    memset(text, '[', n);
    int rc = write_zip(path, text, n, 1);
    free(text);
    return rc;
}

static int functional_h5(const char *path, const char *a_input) {
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"class_name\":\"Functional\",\"config\":{\"name\":\"f\",\"layers\":["
             "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4],\"name\":\"in\"},\"name\":\"in\",\"inbound_nodes\":[]},"
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"a\",\"units\":4},\"name\":\"a\",\"inbound_nodes\":[[[\"%s\",0,0,{}]]]},"
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"b\",\"units\":4},\"name\":\"b\",\"inbound_nodes\":[[[\"a\",0,0,{}]]]}],"
             "\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"b\",0,0]]}}", a_input);
    h5_spec sp = {cfg, 4, 3, 0, 0.0f};
    return write_h5(path, &sp);
}

int keras_fixture(const char *dir, const char *name) {
    static const char good[] = SEQUENTIAL(LAYERS_GOOD);
    static const char good_zip[] = "{\"module\":\"keras\",\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\","
                                   "\"layers\":[" LAYERS_GOOD "]},\"compile_config\":" COMPILE "}";
    static const char lambda[] = SEQUENTIAL(LAYERS_GOOD ",{\"class_name\":\"Lambda\",\"config\":{\"name\":\"lambda\","
                                            "\"function\":{\"class_name\":\"__lambda__\"}}}");
    static const char dunce[] = SEQUENTIAL(LAYERS_GOOD ",{\"class_name\":\"Dunce\",\"config\":{\"name\":\"dunce\"}}");
    static const char lstm[] = SEQUENTIAL(LAYERS_GOOD ",{\"class_name\":\"ConvLSTM2D\",\"config\":{\"name\":\"conv_lstm2d\",\"filters\":4}}");
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5_spec sp = {good, 4, 3, 0, 0.0f};
    int rc = -1;
    if (!strcmp(name, "keras_good.h5")) rc = write_h5(path, &sp);
    else if (!strcmp(name, "keras_good.keras")) rc = write_zip(path, good_zip, sizeof good_zip - 1, 1);
    else if (!strcmp(name, "keras_good.weights.h5")) rc = write_weights_h5(path);
    else if (!strcmp(name, "keras_truncated.keras")) rc = write_zip(path, good_zip, sizeof good_zip - 1, 1) || cut_in_half(path);
    else if (!strcmp(name, "keras_truncated.h5")) rc = write_h5(path, &sp) || cut_in_half(path);
    else if (!strcmp(name, "keras_bomb.keras"))
        rc = write_zip(path, good_zip, sizeof good_zip - 1, 1) || declare_huge(path, "model.weights.h5");
    else if (!strcmp(name, "keras_no_config.keras")) rc = write_zip(path, NULL, 0, 1);
    else if (!strcmp(name, "keras_no_weights.keras")) rc = write_zip(path, good_zip, sizeof good_zip - 1, 0);
    else if (!strcmp(name, "keras_unknown_layer.keras")) rc = write_zip(path, dunce, sizeof dunce - 1, 1);
    else if (!strcmp(name, "keras_lstm.keras")) rc = write_zip(path, lstm, sizeof lstm - 1, 1);
    else if (!strcmp(name, "keras_deep.keras")) rc = deep_config(path);
    else if (!strcmp(name, "keras_cycle.h5")) rc = functional_h5(path, "b");
    else if (!strcmp(name, "keras_dangling.h5")) rc = functional_h5(path, "ghost");
    else {
        if (!strcmp(name, "keras_weights_only.h5")) sp.config = NULL;
        else if (!strcmp(name, "keras_lambda.h5")) sp.config = lambda;
        else if (!strcmp(name, "keras_shape.h5")) sp.kernel_rows = 3, sp.kernel_cols = 4;
        else if (!strcmp(name, "keras_dtype.h5")) sp.kernel_int = 1;
        else if (!strcmp(name, "keras_nan.h5")) sp.bias_value = NAN;
        else sp.config = "";
        rc = sp.config && !sp.config[0] ? -1 : write_h5(path, &sp);
    }
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    return rc ? -1 : 0;
}
#endif
