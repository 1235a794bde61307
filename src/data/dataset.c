/* Datasets as arrays: the bundled CSV sets by name, or any CSV file, split into features and
 * targets; IDX image/label pairs (Fashion-MNIST by name); and the seeded train/test split.
 * Parsing is in csv.c and idx.c. Out of scope: downloading datasets, telling a path's format
 * apart (the CLI decides whether a path is CSV or IDX). */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nnc.h"
#include "csv.h"
#include "../format/message.h"
#include "idx.h"
#include "../core/rng.h"

static const struct {
    const char *name;
    int targets;
} bundled[] = {
    {"digits", 1}, {"digits_01", 1}, {"digits_multilabel", 3}, {"iris", 1},
    {"wine", 1},   {"breast_cancer", 1}, {"diabetes", 1},
};

static void set_err(nnc_error *err, const char *msg) {
    if (err) snprintf(err->message, sizeof err->message, "%s", msg);
}

/* Where the bundled sets are looked for: $NNC_DATA_DIR alone when it is set; otherwise beside
 * the running program (the install's share/nnc/data, then the build tree's copy) and beside the
 * shared library, for a program that lives outside the prefix it links from. Nothing here
 * comes from the machine the library was built on, so an install may move. */
#define DATA_DIRS_MAX 4
typedef struct {
    int n;
    char dir[DATA_DIRS_MAX][4096];
} data_dirs;

static void add_dir(data_dirs *d, const char *base, const char *rel) {
    if (d->n == DATA_DIRS_MAX) return;
    char *dst = d->dir[d->n];
    int len = rel ? snprintf(dst, sizeof d->dir[0], "%s/%s", base, rel)
                  : snprintf(dst, sizeof d->dir[0], "%s", base);
    if (len < 0 || (size_t)len >= sizeof d->dir[0]) return;
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->dir[i], dst)) return;
    d->n++;
}

/* Cuts a file's path down to its folder; 0 when it is not an absolute path. */
static int to_folder(char *path) {
    char *slash = strrchr(path, '/');
    if (path[0] != '/' || !slash) return 0;
    slash[slash == path] = '\0';
    return 1;
}

static void data_dirs_find(data_dirs *d) {
    d->n = 0;
    const char *env = getenv("NNC_DATA_DIR");
    if (env && *env) {
        add_dir(d, env, NULL);
        return;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int have_exe = len > 0 && (size_t)len < sizeof exe - 1;
    if (have_exe) {
        exe[len] = '\0';
        have_exe = to_folder(exe);
    }
    if (have_exe) {
        add_dir(d, exe, NNC_DATA_FROM_BIN);
        add_dir(d, exe, "share/nnc/data");
    }
    /* The object that holds this table is libnnc.so when the program links the shared library
     * (the program itself when it linked libnnc.a, which the lines above covered). */
    Dl_info info;
    if (dladdr(bundled, &info) && info.dli_fname) {
        char lib[4096];
        snprintf(lib, sizeof lib, "%s", info.dli_fname);
        if (to_folder(lib) && !(have_exe && !strcmp(lib, exe))) add_dir(d, lib, NNC_DATA_FROM_LIB);
    }
}

/* Path of a bundled set's file; when it is nowhere, err says where it was looked for. */
static int bundled_path(const char *name, char *path, size_t n, nnc_error *err) {
    data_dirs d;
    data_dirs_find(&d);
    for (int i = 0; i < d.n; i++) {
        snprintf(path, n, "%s/%s.csv.gz", d.dir[i], name);
        if (access(path, R_OK) == 0) return 0;
    }
    char msg[sizeof err->message];
    size_t len = (size_t)snprintf(msg, sizeof msg, "bundled dataset '%s' not found (set NNC_DATA_DIR "
                                  "to the folder holding %s.csv.gz); looked in", name, name);
    for (int i = 0; i < d.n && len < sizeof msg; i++)
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s %s", i ? "," : "", d.dir[i]);
    if (!d.n) snprintf(msg + len, sizeof msg - len, " no folder (the program's own could not be found)");
    set_err(err, msg);
    return -1;
}

/* ---- IDX ---------------------------------------------------------------------------- */

#define FASHION_MNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* Reads one IDX file; the status tells an unreadable file from a malformed one. */
static nnc_status read_idx(const char *path, nnc_idx *x, nnc_error *err) {
    char msg[512];
    if (!nnc_idx_read(path, x, msg, sizeof msg)) return NNC_OK;
    set_err(err, msg);
    if (strstr(msg, ": out of memory")) return NNC_ERR_NOMEM;
    return access(path, R_OK) ? NNC_ERR_IO : NNC_ERR_FORMAT;
}

nnc_status nnc_dataset_load_idx(const char *images, const char *labels, nnc_dataset *out,
                                nnc_error *err) {
    char msg[512];
    nnc_idx im, lb;
    nnc_status st;
    if (out) memset(out, 0, sizeof *out);
    if (!images || !out) {
        set_err(err, "idx: images and out are required");
        return NNC_ERR_ARG;
    }
    if ((st = read_idx(images, &im, err))) return st;
    if (!labels) { /* images only (prediction) */
        if (im.ndim < 2) {
            snprintf(msg, sizeof msg, "%.400s: images file must have at least 2 dimensions, has %d",
                     images, im.ndim);
            nnc_idx_free(&im);
            set_err(err, msg);
            return NNC_ERR_FORMAT;
        }
        if (im.type == NNC_IDX_UBYTE)
            for (size_t i = 0; i < im.count * im.item_size; i++) im.values[i] /= 255.0f;
        out->x = im.values;
        out->n = im.count;
        out->features = im.item_size;
        return NNC_OK;
    }
    if ((st = read_idx(labels, &lb, err))) {
        nnc_idx_free(&im);
        return st;
    }
    if (im.ndim < 2)
        snprintf(msg, sizeof msg, "%.400s: images file must have at least 2 dimensions, has %d", images,
                 im.ndim);
    else if (lb.ndim != 1)
        snprintf(msg, sizeof msg, "%.400s: labels file must have 1 dimension, has %d", labels, lb.ndim);
    else if (im.count != lb.count)
        snprintf(msg, sizeof msg, "%.200s has %zu images but %.200s has %zu labels", images, im.count,
                 labels, lb.count);
    else
        msg[0] = '\0';
    if (msg[0]) {
        nnc_idx_free(&im);
        nnc_idx_free(&lb);
        set_err(err, msg);
        return NNC_ERR_FORMAT;
    }
    if (im.type == NNC_IDX_UBYTE)
        for (size_t i = 0; i < im.count * im.item_size; i++) im.values[i] /= 255.0f;
    out->x = im.values; /* the arrays move into the dataset */
    out->y = lb.values;
    out->n = im.count;
    out->features = im.item_size;
    out->targets = 1;
    return NNC_OK;
}

/* "fashion_mnist" (train part) and "fashion_mnist_test", from Debian's dataset-fashion-mnist
 * or $NNC_FASHION_MNIST_DIR, gzip-compressed or not. Returns 1 when name is not one of them. */
static int load_fashion_mnist(const char *name, int targets, nnc_dataset *out, nnc_error *err,
                              nnc_status *st) {
    static const char *const prefix[2] = {"train", "t10k"};
    char im[4096], lb[4096], msg[512];
    int test;
    if (!strcmp(name, "fashion_mnist")) test = 0;
    else if (!strcmp(name, "fashion_mnist_test")) test = 1;
    else return 1;
    if (targets != 0 && targets != 1) {
        snprintf(msg, sizeof msg, "%s: the dataset has 1 target (a class 0-9), not %d", name, targets);
        set_err(err, msg);
        *st = NNC_ERR_ARG;
        return 0;
    }
    const char *dir = getenv("NNC_FASHION_MNIST_DIR");
    if (!dir || !*dir) dir = FASHION_MNIST_DEFAULT_DIR;
    static const char *const ext[2] = {".gz", ""};
    for (int e = 0; e < 2; e++) {
        snprintf(im, sizeof im, "%.2000s/%s-images-idx3-ubyte%s", dir, prefix[test], ext[e]);
        snprintf(lb, sizeof lb, "%.2000s/%s-labels-idx1-ubyte%s", dir, prefix[test], ext[e]);
        if (!access(im, R_OK) && !access(lb, R_OK)) {
            *st = nnc_dataset_load_idx(im, lb, out, err);
            return 0;
        }
    }
    snprintf(msg, sizeof msg, "%s: files not found in %.300s (apt-get install dataset-fashion-mnist, or "
             "set NNC_FASHION_MNIST_DIR)", name, dir);
    set_err(err, msg);
    *st = NNC_ERR_IO;
    return 0;
}

/* ---- CSV and bundled sets ---------------------------------------------------------------- */

nnc_status nnc_dataset_load(const char *name_or_path, int targets, nnc_dataset *out,
                            nnc_error *err) {
    char path[4096], msg[512];
    nnc_status st;
    memset(out, 0, sizeof *out);
    if (!name_or_path) {
        set_err(err, "dataset: no name given");
        return NNC_ERR_ARG;
    }
    if (!load_fashion_mnist(name_or_path, targets, out, err, &st)) return st;
    const char *file = name_or_path;
    for (size_t i = 0; i < sizeof bundled / sizeof *bundled; i++)
        if (!strcmp(name_or_path, bundled[i].name)) {
            if (bundled_path(name_or_path, path, sizeof path, err)) return NNC_ERR_IO;
            file = path;
            if (targets == 0) targets = bundled[i].targets;
        }
    if (targets == 0) targets = 1;
    if (targets < 0) {
        set_err(err, "dataset: targets must be >= 0");
        return NNC_ERR_ARG;
    }
    nnc_table t;
    nnc_status rc = nnc_csv_read(file, NULL, &t, msg, sizeof msg);
    if (rc) {
        set_err(err, msg);
        return rc;
    }
    if (t.cols <= (size_t)targets) {
        snprintf(msg, sizeof msg, "%.400s: %zu columns leave no features beside %d target(s)",
                 file, t.cols, targets);
        set_err(err, msg);
        nnc_table_free(&t);
        return NNC_ERR_FORMAT;
    }
    /* the last `targets` columns, split off in place (nnc_dataset_from_table) */
    bool *is_target = malloc(t.cols * sizeof *is_target);
    if (!is_target) {
        nnc_table_free(&t);
        set_err(err, "dataset: out of memory");
        return NNC_ERR_NOMEM;
    }
    for (size_t c = 0; c < t.cols; c++) is_target[c] = c >= t.cols - (size_t)targets;
    rc = nnc_dataset_from_table(&t, is_target, out, err);
    free(is_target);
    return rc;
}

nnc_status nnc_dataset_from_table(nnc_table *t, const bool *is_target, nnc_dataset *out, nnc_error *err) {
    if (!t || !is_target || !out) return NNC_ERR_ARG;
    memset(out, 0, sizeof *out);
    for (size_t c = 0; c < t->cols; c++) {
        nnc_status st = nnc_table_check_numbers(t, c, false, err);
        if (st) {
            nnc_table_free(t);
            return st;
        }
    }
    size_t targets = 0, cols = t->cols, rows = t->rows;
    for (size_t c = 0; c < cols; c++) targets += is_target[c];
    const size_t features = cols - targets;
    float *y = malloc(rows * (targets ? targets : 1) * sizeof(float));
    if (!y) {
        nnc_table_free(t);
        nnc_msg(NNC_ERRBUF(err), "dataset: out of memory");
        return NNC_ERR_NOMEM;
    }
    /* Row r's features move to r·features, never past where row r's values were read from
     * (r·cols + c), so the copy can run forward in place. */
    float *v = t->values;
    for (size_t r = 0; r < rows; r++) {
        size_t fx = 0, ty = 0;
        for (size_t c = 0; c < cols; c++) {
            float x = v[r * cols + c];
            if (is_target[c]) y[r * targets + ty++] = x;
            else v[r * features + fx++] = x;
        }
    }
    float *x = rows && features ? realloc(v, rows * features * sizeof(float)) : NULL;
    out->x = x ? x : v; /* a shrink that fails keeps the larger block */
    out->y = y;
    out->n = rows;
    out->features = features;
    out->targets = targets;
    t->values = NULL;
    nnc_table_free(t);
    return NNC_OK;
}

void nnc_dataset_free(nnc_dataset *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

nnc_status nnc_dataset_split(const nnc_dataset *d, double test_fraction, uint64_t seed,
                             nnc_dataset *train, nnc_dataset *test, nnc_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
        set_err(err, "split: the test fraction must be in (0, 1)");
        return NNC_ERR_ARG;
    }
    size_t nt = (size_t)(test_fraction * (double)d->n + 0.5);
    if (nt == 0 || nt >= d->n) {
        set_err(err, "split: too few rows for that test fraction");
        return NNC_ERR_ARG;
    }
    /* Choose the test rows by a seeded partial Fisher–Yates, then keep both parts in the
     * original row order so the split does not reorder data. */
    size_t *perm = malloc(d->n * sizeof *perm);
    unsigned char *is_test = calloc(d->n, 1);
    if (!perm || !is_test) {
        free(perm);
        free(is_test);
        set_err(err, "split: out of memory");
        return NNC_ERR_NOMEM;
    }
    nnc_rng rng;
    nnc_rng_seed(&rng, seed);
    for (size_t i = 0; i < d->n; i++) perm[i] = i;
    for (size_t i = 0; i < nt; i++) {
        size_t j = i + (size_t)nnc_rng_below(&rng, d->n - i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        is_test[perm[i]] = 1;
    }
    free(perm);
    nnc_dataset *parts[2] = {train, test};
    size_t counts[2] = {d->n - nt, nt};
    for (int p = 0; p < 2; p++) {
        parts[p]->features = d->features;
        parts[p]->targets = d->targets;
        parts[p]->x = malloc(counts[p] * d->features * sizeof(float));
        parts[p]->y = malloc(counts[p] * d->targets * sizeof(float));
        if (!parts[p]->x || !parts[p]->y) {
            nnc_dataset_free(train);
            nnc_dataset_free(test);
            free(is_test);
            set_err(err, "split: out of memory");
            return NNC_ERR_NOMEM;
        }
    }
    for (size_t r = 0; r < d->n; r++) {
        nnc_dataset *p = parts[is_test[r]];
        memcpy(p->x + p->n * d->features, d->x + r * d->features, d->features * sizeof(float));
        memcpy(p->y + p->n * d->targets, d->y + r * d->targets, d->targets * sizeof(float));
        p->n++;
    }
    free(is_test);
    return NNC_OK;
}
