/* Hostile inputs and faults (issue #18): what a file or a command line can make nnc do.
 *   - Scaling: building and loading models of many layers and variables must grow linearly.
 *     Each case times a small and a ten times larger input in the same run and requires a
 *     ratio far below the quadratic one (generous bounds: a noisy machine passes, a quadratic
 *     path does not; the small size alone is bounded so that a quadratic build fails fast
 *     instead of hanging).
 *   - Memory: a model file whose header does not cover its size is refused before its data is
 *     read; a CSV load holds its floats and one line, not the text.
 *   - Wrong results: non-finite weights, malformed resume metadata and duplicate JSON keys are
 *     errors naming the tensor or key; ReLU and max pooling propagate NaN.
 *   - Litter: a save killed in the middle leaves no temporary file, and stale temporaries of our
 *     pattern are removed by the next save. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* wait4: one child's peak memory */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "format/safetensors.h"
#include "data/csv.h"
#include "train/train_impl.h"

/* The calling thread's CPU time: the scaling tests compare two sizes of one single-threaded
 * job, and other processes on a shared machine would only add wall time to one of them. */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A spec of `input 4` and n unnamed `dense 1` layers. */
static char *unnamed_spec(int n, size_t *len) {
    char *s = malloc((size_t)n * 9 + 64);
    if (!s) return NULL;
    size_t at = (size_t)sprintf(s, "input 4\n");
    for (int i = 0; i < n; i++) at += (size_t)sprintf(s + at, "dense 1\n");
    at += (size_t)sprintf(s + at, "loss mse\n");
    *len = at;
    return s;
}

/* Seconds to build (and compile) the spec of n unnamed layers; < 0 when it failed. */
static double time_spec(int n, nnc_model **keep) {
    size_t len;
    char *text = unnamed_spec(n, &len);
    nnc_error e = {""};
    double t0 = now();
    nnc_model *m = text ? nnc_model_from_spec_text(text, len, "many.nnc", &e) : NULL;
    double t = now() - t0;
    free(text);
    if (keep) *keep = m;
    else nnc_model_free(m);
    return m ? t : -1.0;
}

/* The ratio of two timings of a linear path: 10x the input takes about 10x the time; a
 * quadratic one 100x. 35 leaves room for noise; the small run must take under a second (it
 * takes milliseconds) so that a quadratic path fails fast rather than running for minutes. */
static void check_linear(test_run *r, const char *what, double small, double large) {
    t_info(r, "%s: %.4f s, ten times as many: %.4f s (ratio %.1f)", what, small, large, large / small);
    CHECK(r, small >= 0.0 && large >= 0.0, "%s: the build failed", what);
    CHECK(r, small < 1.0, "%s: %.2f s for the small input: not linear", what, small);
    CHECK(r, large <= 35.0 * small + 0.05, "%s: ten times the input took %.1f times as long", what, large / small);
}

/* Seconds nnc_csv_read takes on a file of 5 rows of `cols` columns; < 0 when it failed. */
static double read_wide_csv(test_run *r, const char *dir, int cols) {
    char path[96];
    snprintf(path, sizeof path, "%s/wide.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1.0;
    for (int rep = 0; rep < 5; rep++)
        for (int c = 0; c < cols; c++) fprintf(f, rep ? "%d%c" : "c%d%c", rep ? c % 97 : c, c + 1 < cols ? ',' : '\n');
    fclose(f);
    nnc_table c;
    char err[512];
    double t0 = now();
    int rc = nnc_csv_read(path, NULL, &c, err, sizeof err) ? -1 : 0;
    double t = now() - t0;
    int ok = CHECK(r, rc == 0 && c.cols == (size_t)cols && c.rows == 4, "read: %s", err);
    if (!rc) nnc_table_free(&c);
    return ok ? t : -1.0;
}

/* Seconds nnc_model_load takes on a saved spec of n unnamed dense layers; < 0 when it failed. */
static double load_many(test_run *r, const char *dir, int n) {
    char path[96];
    nnc_model *m = NULL;
    snprintf(path, sizeof path, "%s/m%d.safetensors", dir, n);
    if (time_spec(n, &m) < 0.0 || nnc_model_save(m, path, NULL)) {
        nnc_model_free(m);
        return -1.0;
    }
    nnc_model_free(m);
    nnc_error e = {""};
    double t0 = now();
    nnc_model *l = nnc_model_load(path, &e);
    double t = l ? now() - t0 : -1.0;
    CHECK(r, l != NULL, "load: %s", e.message);
    nnc_model_free(l);
    unlink(path);
    return t;
}

/* The best of up to `tries` timings of run(r, dir, n) (a busy machine only ever makes a run
 * slower); given the small input's time (>= 0), tries stop once within check_linear's bound. */
static double best_of(double (*run)(test_run *, const char *, int), test_run *r, const char *dir, int n, int tries,
                      double small) {
    double best = -1.0;
    for (int i = 0; i < tries; i++) {
        double t = run(r, dir, n);
        if (t < 0.0) return -1.0;
        best = best < 0.0 || t < best ? t : best;
        if (small >= 0.0 && best <= 35.0 * small + 0.05) break;
    }
    return best;
}

static void scaling(test_run *r) {
    if (t_begin(r, "hostile/unnamed_layers_name_in_linear_time")) {
        /* the default names "dense", "dense_1", ... of a spec without names */
        /* the best of a few runs: a busy machine only ever makes a run slower. Sizes large
         * enough that neither fits in cache: 2000 layers ran six times faster per layer in
         * cache than 20000 out of it, which read as quadratic */
        double small = time_spec(5000, NULL);
        for (int i = 0; i < 2 && small >= 0.0; i++) small = fmin(small, time_spec(5000, NULL));
        double large = small >= 0.0 && small < 1.0 ? time_spec(50000, NULL) : -1.0;
        for (int i = 0; i < 3 && large > 35.0 * small; i++) large = fmin(large, time_spec(50000, NULL));
        check_linear(r, "5000 unnamed dense layers", small, large);
        t_end(r);
    }
    if (t_begin(r, "hostile/100000_layers")) {
        /* 100,000 layers from C (Activation: one node each), every one named by default */
        double t0 = now();
        nnc_model *m = nnc_model_new(NULL);
        nnc_input(m, (int[]){4}, 1, NULL);
        for (int i = 0; i < 100000; i++) nnc_activation_layer(m, NNC_PREV, NNC_ACT_TANH, NULL);
        nnc_compile_opts co = nnc_compile_opts_default();
        CHECK(r, nnc_compile(m, &co) == NNC_OK, "%s", nnc_last_error(m));
        CHECK(r, m->n_layers == 100001 && !strcmp(m->layers[100000].name, "activation_99999"),
              "%d layers, the last '%s'", m->n_layers, m->n_layers ? m->layers[m->n_layers - 1].name : "");
        t_info(r, "built and compiled in %.3f s", now() - t0);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "hostile/layer_cap")) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_input(m, (int[]){1}, 1, NULL);
        nnc_node y = NNC_NONE;
        for (int i = 1; i <= NNC_MAX_LAYERS; i++) y = nnc_activation_layer(m, NNC_PREV, NNC_ACT_LINEAR, NULL);
        CHECK(r, y == NNC_NONE && strstr(nnc_last_error(m), "at most"), "layer %d accepted: %s", NNC_MAX_LAYERS + 1,
              nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "hostile/csv_columns_read_in_linear_time")) {
        /* a header of many columns, and rows as wide */
        char dir[] = "/tmp/nnc_hostile_XXXXXX";
        if (CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
            double small = best_of(read_wide_csv, r, dir, 4000, 3, -1.0);
            double large = small >= 0.0 && small < 1.0 ? best_of(read_wide_csv, r, dir, 40000, 3, small) : -1.0;
            check_linear(r, "4000 columns", small, large);
            remove_tree(dir);
        }
        t_end(r);
    }
    if (t_begin(r, "hostile/model_files_load_in_linear_time")) {
        /* layer names, the config's lookups and every variable's tensor, in a saved model */
        char dir[] = "/tmp/nnc_hostile_XXXXXX";
        if (CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
            double small = best_of(load_many, r, dir, 1000, 3, -1.0);
            double large = small >= 0.0 && small < 1.0 ? best_of(load_many, r, dir, 10000, 3, small) : -1.0;
            check_linear(r, "loading 1000 dense layers (2000 variables)", small, large);
            remove_tree(dir);
        }
        t_end(r);
    }
}

/* A file of a tiny saved model, in dir; 0 on success. */
static int small_model(const char *path, nnc_model **out) {
    const char *spec = "input 4\ndense 3 activation=relu name=layer_1\ndense 2 name=layer_2\nloss mse\n";
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "s.nnc", &e);
    int rc = !m || nnc_model_save(m, path, NULL) != NNC_OK;
    if (out && !rc) *out = m;
    else nnc_model_free(m);
    return rc;
}

/* Rewrites a model file with one metadata value or one tensor replaced. */
static int rewrite(const char *from, const char *to, const char *key, const char *value, const nnc_st_tensor *swap) {
    nnc_st_file f;
    char err[512];
    if (nnc_st_read(from, &f, err, sizeof err)) return -1;
    nnc_st_meta meta[16];
    nnc_st_tensor ts[64];
    size_t nm = f.nmeta < 16 ? f.nmeta : 16, nt = f.ntensors < 64 ? f.ntensors : 64;
    for (size_t i = 0; i < nm; i++) {
        meta[i] = f.meta[i];
        if (key && !strcmp(meta[i].key, key)) meta[i].value = value;
    }
    for (size_t i = 0; i < nt; i++) {
        ts[i] = f.tensors[i];
        if (swap && !strcmp(ts[i].name, swap->name)) ts[i] = *swap;
    }
    int rc = nnc_st_write(to, ts, nt, meta, nm, err, sizeof err);
    nnc_st_free(&f);
    return rc;
}

static void memory(test_run *r, const char *dir) {
    char path[256], big[256];
    snprintf(path, sizeof path, "%s/small.safetensors", dir);
    snprintf(big, sizeof big, "%s/extended.safetensors", dir);
    if (t_begin(r, "hostile/extended_model_file_refused_before_its_data_is_read")) {
        /* `truncate -s 3G` on a valid model: the header covers 84 bytes of data, the file has
         * 2 GB more; the old reader read all of it before noticing */
        struct stat st;
        FILE *a = NULL, *b = NULL;
        if (CHECK(r, small_model(path, NULL) == 0, "save") && (a = fopen(path, "rb")) && (b = fopen(big, "wb"))) {
            char buf[4096];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
        }
        if (a) fclose(a);
        if (b) fclose(b);
        if (CHECK(r, truncate(big, 2LL << 30) == 0 && stat(big, &st) == 0, "truncate")) {
            nnc_error e = {""};
            t_alloc_largest_reset();
            double t0 = now();
            nnc_model *m = nnc_model_load(big, &e);
            size_t largest = t_alloc_largest();
            CHECK(r, m == NULL && strstr(e.message, "belong to no tensor"), "loaded, or '%s'", e.message);
            CHECK(r, largest < (1u << 20), "the loader asked for %zu bytes at once", largest);
            t_info(r, "refused in %.4f s, largest allocation %zu bytes: %s", now() - t0, largest, e.message);
            nnc_model_free(m);
        }
        unlink(big);
        t_end(r);
    }
    if (t_begin(r, "hostile/csv_load_holds_its_floats_not_its_text")) {
        /* 30000 rows of 20 columns: the floats need 2.4 MB, the text about 3 MB */
        char csv[256];
        snprintf(csv, sizeof csv, "%s/big.csv", dir);
        FILE *f = fopen(csv, "w");
        const size_t rows = 30000, cols = 20;
        if (CHECK(r, f != NULL, "open")) {
            for (size_t c = 0; c < cols; c++) fprintf(f, "%sc%zu", c ? "," : "", c);
            fputc('\n', f);
            for (size_t i = 0; i < rows; i++)
                for (size_t c = 0; c < cols; c++) fprintf(f, "%.3f%c", (double)((i * 31 + c * 7) % 1000) / 7.0, c + 1 < cols ? ',' : '\n');
            fclose(f);
            nnc_table t;
            char err[512];
            t_alloc_largest_reset();
            int rc = nnc_csv_read(csv, NULL, &t, err, sizeof err) ? -1 : 0;
            size_t largest = t_alloc_largest(), floats = rows * cols * sizeof(float);
            CHECK(r, rc == 0 && t.rows == rows && t.cols == cols, "read: %s", err);
            CHECK(r, largest <= floats, "largest allocation %zu bytes for %zu bytes of floats", largest, floats);
            t_info(r, "largest allocation %zu bytes, the floats %zu", largest, floats);
            nnc_table_free(&t);
            /* and into a dataset: the columns split in place, no second copy */
            nnc_dataset d;
            nnc_error e = {""};
            t_alloc_largest_reset();
            nnc_status st = nnc_dataset_load(csv, 1, &d, &e);
            largest = t_alloc_largest();
            CHECK(r, st == NNC_OK && d.n == rows && d.features == cols - 1, "dataset: %s", e.message);
            CHECK(r, largest <= floats, "dataset: largest allocation %zu bytes for %zu bytes of floats", largest,
                  floats);
            nnc_dataset_free(&d);
        }
        unlink(csv);
        t_end(r);
    }
    if (t_begin(r, "hostile/fit_without_history_keeps_nothing_per_epoch")) {
        /* `--epochs 2000000000 --quiet` grew by the history's 630 bytes an epoch */
        const char *spec = "input 2\ndense 1\nloss mse\n";
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "s.nnc", &e);
        float x[8] = {0, 1, 1, 0, 1, 1, 0, 0}, y[4] = {1, 1, 2, 0};
        long allocs[2] = {0, 0};
        nnc_fit_opts warm = nnc_fit_opts_default();
        warm.verbose = 0;
        CHECK(r, m && nnc_fit(m, x, y, 4, &warm, NULL) == NNC_OK, "fit: %s", m ? nnc_last_error(m) : e.message);
        for (int k = 0; m && k < 2; k++) {
            nnc_fit_opts o = nnc_fit_opts_default();
            o.verbose = 0;
            o.epochs = k ? 4000 : 400;
            t_alloc_largest_reset();
            long before = t_alloc_count();
            CHECK(r, nnc_fit(m, x, y, 4, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
            allocs[k] = t_alloc_count() - before;
        }
        CHECK(r, m && allocs[1] == allocs[0], "allocations: %ld for 400 epochs, %ld for 4000", allocs[0], allocs[1]);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "hostile/cli_quiet_epochs_keep_no_history")) {
        /* the tool itself: 300,000 quiet epochs must not hold 300,000 epochs' logs */
        char spec[256], data[256];
        snprintf(spec, sizeof spec, "%s/tiny.nnc", dir);
        snprintf(data, sizeof data, "%s/tiny.csv", dir);
        FILE *a = fopen(spec, "w"), *b = fopen(data, "w");
        if (a) fputs("input 2\ndense 1\nloss mse\noptimizer sgd\n", a), fclose(a);
        if (b) fputs("a,b,y\n0,1,1\n1,0,1\n1,1,2\n0,0,0\n", b), fclose(b);
        long rss[2] = {-1, -1};
        const char *epochs[2] = {"3", "300000"};
        for (int k = 0; a && b && k < 2; k++) {
            char bin[512];
            snprintf(bin, sizeof bin, "%s/nnc", NNC_BINARY_DIR);
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                int devnull = open("/dev/null", O_WRONLY);
                if (devnull >= 0) dup2(devnull, 1), dup2(devnull, 2);
                execl(bin, bin, "train", spec, "--data", data, "--epochs", epochs[k], "--quiet", "--threads", "1",
                      (char *)NULL);
                _exit(127);
            }
            int status = 0;
            struct rusage ru;
            if (pid > 0 && wait4(pid, &status, 0, &ru) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                rss[k] = ru.ru_maxrss;
        }
        CHECK(r, rss[0] > 0 && rss[1] > 0, "the runs failed");
        CHECK(r, rss[1] - rss[0] < 20 * 1024, "300,000 epochs peaked %ld KB above 3 epochs", rss[1] - rss[0]);
        t_info(r, "peak memory: 3 epochs %ld KB, 300,000 epochs %ld KB", rss[0], rss[1]);
        t_end(r);
    }
}

static void wrong_results(test_run *r, const char *dir) {
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/small.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    nnc_model *m = NULL;
    if (small_model(path, &m)) {
        if (t_begin(r, "hostile/setup")) {
            CHECK(r, 0, "the small model could not be saved");
            t_end(r);
        }
        return;
    }
    if (t_begin(r, "hostile/nan_weight_refused_on_load")) {
        float k[12];
        CHECK(r, nnc_get_variable(m, "layer_1.kernel", k, 12) == NNC_OK, "%s", nnc_last_error(m));
        k[7] = NAN;
        nnc_st_tensor t = {"layer_1.kernel", NNC_ST_F32, 2, {4, 3}, k, sizeof k, 0};
        nnc_error e = {""};
        if (CHECK(r, rewrite(path, bad, NULL, NULL, &t) == 0, "rewrite")) {
            nnc_model *l = nnc_model_load(bad, &e);
            CHECK(r, !l && strstr(e.message, "'layer_1.kernel' holds NaN at index 7"), "loaded, or '%s'", e.message);
            nnc_model_free(l);
            /* --init-weights too, and the model keeps its weights */
            float before[12], after[12];
            nnc_get_variable(m, "layer_1.kernel", before, 12);
            CHECK(r, nnc_model_load_weights(m, bad, NULL) == NNC_ERR_FORMAT &&
                         strstr(nnc_last_error(m), "holds NaN at index 7"), "load_weights: %s", nnc_last_error(m));
            nnc_get_variable(m, "layer_1.kernel", after, 12);
            CHECK(r, !memcmp(before, after, sizeof before), "a refused file changed the weights");
        }
        t_end(r);
    }
    static const struct {
        const char *name, *key, *value, *want;
    } meta[] = {
        {"epoch_negative", "epoch", "-5", "\"epoch\" is '-5'"},
        {"epoch_huge", "epoch", "99999999999999999999", "\"epoch\" is '99999999999999999999'"},
        {"epoch_word", "epoch", "five", "\"epoch\" is 'five'"},
        {"rng_state_not_hex", "rng_state", "zz", "\"rng_state\" is 'zz'"},
        {"rng_state_zero", "rng_state", "0000000000000000000000000000000000000000000000000000000000000000",
         "\"rng_state\""},
    };
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) {
        if (!t_begin(r, "hostile/metadata/%s", meta[i].name)) continue;
        nnc_error e = {""};
        if (CHECK(r, rewrite(path, bad, meta[i].key, meta[i].value, NULL) == 0, "rewrite")) {
            nnc_model *l = nnc_model_load(bad, &e);
            CHECK(r, !l && strstr(e.message, meta[i].want), "loaded, or '%s'", e.message);
            nnc_model_free(l);
        }
        t_end(r);
    }
    if (t_begin(r, "hostile/optimizer_iterations")) {
        int64_t minus = -1;
        double f64 = 3.0;
        nnc_st_tensor neg = {"optimizer.iterations", NNC_ST_I64, 0, {0}, &minus, sizeof minus, 0};
        nnc_st_tensor dbl = {"optimizer.iterations", NNC_ST_F64, 0, {0}, &f64, sizeof f64, 0};
        nnc_error e = {""};
        if (CHECK(r, rewrite(path, bad, NULL, NULL, &neg) == 0, "rewrite")) {
            nnc_model *l = nnc_model_load(bad, &e);
            CHECK(r, !l && strstr(e.message, "'optimizer.iterations' is -1"), "I64 -1 loaded, or '%s'", e.message);
            nnc_model_free(l);
        }
        if (CHECK(r, rewrite(path, bad, NULL, NULL, &dbl) == 0, "rewrite")) {
            nnc_model *l = nnc_model_load(bad, &e);
            CHECK(r, !l && strstr(e.message, "'optimizer.iterations' is F64"), "F64 loaded, or '%s'", e.message);
            nnc_model_free(l);
        }
        t_end(r);
    }
    if (t_begin(r, "hostile/duplicate_key_in_config")) {
        nnc_st_file f;
        char err[512];
        if (CHECK(r, nnc_st_read(path, &f, err, sizeof err) == 0, "%s", err)) {
            const char *cfg = nnc_st_meta_get(&f, "config");
            const char *units = cfg ? strstr(cfg, "\"units\":3") : NULL;
            char *dup = cfg ? malloc(strlen(cfg) + 16) : NULL;
            if (CHECK(r, units && dup, "no units in the config")) {
                size_t at = (size_t)(units - cfg);
                sprintf(dup, "%.*s\"units\":3,%s", (int)at, cfg, units); /* "units" twice */
                nnc_error e = {""};
                if (CHECK(r, rewrite(path, bad, "config", dup, NULL) == 0, "rewrite")) {
                    nnc_model *l = nnc_model_load(bad, &e);
                    CHECK(r, !l && strstr(e.message, "duplicate key 'units'"), "loaded, or '%s'", e.message);
                    nnc_model_free(l);
                }
            }
            free(dup);
            nnc_st_free(&f);
        }
        t_end(r);
    }
    if (t_begin(r, "hostile/relu_and_max_pooling_propagate_nan")) {
        /* a NaN weight before a ReLU (fused into the Dense, and as its own layer) and a max
         * pooling (fused with its convolution, and alone): the output must not look finite */
        static const char *const specs[] = {
            "input 4\ndense 3 activation=relu name=a\ndense 2\nloss mse\n",
            "input 4\ndense 3 name=a\nactivation relu\ndense 2\nloss mse\n",
            "input 4 4 1\nconv2d 2 3 padding=same activation=relu name=a\nmax_pooling2d 2\nflatten\ndense 2\nloss mse\n",
            "input 4 4 1\nconv2d 2 3 padding=same name=a\nmax_pooling2d 2\nflatten\ndense 2\nloss mse\n",
            "input 4 4 1\nconv2d 2 3 padding=same name=a\nglobal_max_pooling2d\ndense 2\nloss mse\n",
        };
        for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
            nnc_error e = {""};
            nnc_model *n = nnc_model_from_spec_text(specs[i], strlen(specs[i]), "nan.nnc", &e);
            if (!CHECK(r, n != NULL, "%s", e.message)) continue;
            size_t count = nnc_shape_size(&n->params[0].shape);
            float *w = calloc(count, sizeof *w), x[16], out[2];
            for (int j = 0; j < 16; j++) x[j] = 1.0f;
            w[0] = NAN;
            CHECK(r, nnc_set_variable(n, "a.kernel", w, count) == NNC_OK, "%s", nnc_last_error(n));
            CHECK(r, nnc_predict(n, x, 1, out) == NNC_OK, "%s", nnc_last_error(n));
            CHECK(r, isnan(out[0]) && isnan(out[1]), "spec %zu: a NaN weight gave %g, %g", i, (double)out[0],
                  (double)out[1]);
            free(w);
            nnc_model_free(n);
        }
        t_end(r);
    }
    nnc_model_free(m);
}

/* The entries of dir whose names start with prefix. */
static int count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

static void litter(test_run *r, const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    nnc_model *m = NULL;
    if (!t_begin(r, "hostile/killed_save_leaves_no_temporary")) return;
    if (!CHECK(r, small_model(path, &m) == 0, "save")) {
        t_end(r);
        return;
    }
    /* a save killed after 100 bytes, in a child: the old file whole, no temporary left */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("NNC_KILL_WRITE_AFTER", "100", 1);
        nnc_model_save(m, path, NULL);
        _exit(0); /* not reached: the save kills the child */
    }
    int status = 0;
    CHECK(r, pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the child was not killed in its save (status %d)", status);
    nnc_error e = {""};
    nnc_model *l = nnc_model_load(path, &e);
    CHECK(r, l != NULL, "the old file is not whole: %s", e.message);
    nnc_model_free(l);
    CHECK(r, count_prefixed(dir, ".m.safetensors.") == 0, "%d temporary files left behind",
          count_prefixed(dir, ".m.safetensors."));
    /* a temporary of our pattern left by a process gone long ago goes with the next save; one
     * written since this process started is someone else's save in progress, and stays */
    char stale[300], fresh[300];
    snprintf(stale, sizeof stale, "%s/.m.safetensors.Ab12Cd", dir);
    snprintf(fresh, sizeof fresh, "%s/.m.safetensors.Zy98Xw", dir);
    FILE *a = fopen(stale, "w"), *b = fopen(fresh, "w");
    if (a) fclose(a);
    if (b) fclose(b);
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    CHECK(r, a && b && utimensat(AT_FDCWD, stale, old, 0) == 0, "cannot make the temporaries");
    CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "%s", nnc_last_error(m));
    CHECK(r, access(stale, F_OK) != 0, "the stale temporary is still there");
    CHECK(r, access(fresh, F_OK) == 0, "a fresh temporary was removed");
    unlink(fresh);
    nnc_model_free(m);
    t_end(r);
}

void suite_hostile(test_run *r);
void suite_hostile(test_run *r) {
    scaling(r);
    char dir[] = "/tmp/nnc_hostile_XXXXXX";
    if (!mkdtemp(dir)) {
        if (t_begin(r, "hostile/tmpdir")) {
            CHECK(r, 0, "mkdtemp failed");
            t_end(r);
        }
        return;
    }
    memory(r, dir);
    wrong_results(r, dir);
    litter(r, dir);
    remove_tree(dir);
}
