/* Metrics (issue 15): every case of tests/fixtures/metrics.txt (tools/make_metric_fixtures.py:
 * scikit-learn's values, and a numpy port of Keras's AUC) computed by nnc's streaming state fed
 * in uneven batches, within 1e-6; then the one-line errors, Keras's log keys, callbacks'
 * direction, the compile config's round trip and a fit that logs val_auc. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "fixture.h"
#include "shell.h"
#include "train/train_impl.h"
#include "format/json.h"
#include "io/keras_config.h"

#define TOL 1e-6

typedef struct {
    char name[64], ds[16], loss[64], line[160], key[48];
} metric_case;

/* The "#case NAME DATASET|LOSS|LINE|KEY" lines of the fixture. */
static int read_cases(const char *path, metric_case *cases, int max) {
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f && n < max && fgets(line, sizeof line, f)) {
        if (strncmp(line, "#case ", 6)) continue;
        metric_case *c = &cases[n];
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line + 6, "%63s %15[^|]|%63[^|]|%159[^|]|%47s", c->name, c->ds, c->loss, c->line, c->key) == 5) n++;
    }
    if (f) fclose(f);
    return n;
}

/* The dataset's predictions (the input of a model that passes them through), targets and
 * weights. */
typedef struct {
    const fx_tensor *x, *y, *w;
    float *xf, *yf, *wf;
    int n, k;
} dataset;

static int get_dataset(test_run *r, const fx_file *fx, const metric_case *c, dataset *d) {
    char name[64];
    memset(d, 0, sizeof *d);
    snprintf(name, sizeof name, "%s_x", c->ds);
    d->x = fx_need(r, fx, name);
    snprintf(name, sizeof name, "%s_%s", c->ds, strncmp(c->loss, "sparse", 6) ? "Y" : "y");
    d->y = fx_need(r, fx, name);
    snprintf(name, sizeof name, "%s_w", c->ds);
    d->w = fx_need(r, fx, name);
    if (!d->x || !d->y || !d->w) return -1;
    d->n = d->x->shape[0], d->k = d->x->shape[1];
    d->xf = fx_floats(d->x), d->yf = fx_floats(d->y), d->wf = fx_floats(d->w);
    return d->xf && d->yf && d->wf ? 0 : -1;
}

static void free_dataset(dataset *d) {
    free(d->xf), free(d->yf), free(d->wf);
}

static nnc_model *pass_through(const metric_case *c, int k, nnc_error *e) {
    char text[512];
    snprintf(text, sizeof text, "input %d\nactivation linear\nloss %s\n%s\n", k, c->loss, c->line);
    return nnc_model_from_spec_text(text, strlen(text), "metrics.nnc", e);
}

/* Streams the dataset through the metrics in batches of 1, 7, 30, 2, 13, 50, ... rows with the
 * weights as fit's sample weights (only weighted_metrics read them). */
static void stream(nnc_model *m, const dataset *d, int pass, nnc_logs *logs) {
    static const int sizes[] = {1, 7, 30, 2, 13, 50};
    nnc_metric_acc acc;
    nnc_train_plan(m, 64);
    nnc_metrics_begin(m, &acc, pass, (size_t)d->n);
    size_t t = nnc_target_size(m);
    for (int first = 0, i = 0; first < d->n; i++) {
        int b = sizes[i % 6] < d->n - first ? sizes[i % 6] : d->n - first;
        nnc_gather_inputs(m, d->xf, NULL, (size_t)first, b);
        nnc_gather_targets(m, d->yf, NULL, (size_t)first, b);
        m->train->use_weights = 1;
        memcpy(m->train->batch_w, d->wf + first, (size_t)b * sizeof(float));
        nnc_forward(m, b, 0);
        nnc_metrics_add(m, &acc, b, 0.0);
        first += b;
    }
    (void)t;
    m->train->use_weights = 0;
    memset(logs, 0, sizeof *logs);
    nnc_metrics_logs(m, &acc, "", logs);
}

/* Compares the logs with ref: one key, or key_0, key_1, ... for a vector. */
static void compare(test_run *r, const nnc_logs *logs, const metric_case *c, const fx_tensor *ref, double *worst) {
    for (size_t j = 0; j < ref->n; j++) {
        char key[96];
        if (ref->n == 1) snprintf(key, sizeof key, "%s", c->key);
        else snprintf(key, sizeof key, "%s_%zu", c->key, j);
        double got = nnc_logs_get(logs, key), diff = fabs(got - ref->v[j]);
        if (diff > *worst || isnan(diff)) *worst = isnan(diff) ? (double)INFINITY : diff;
        CHECK(r, diff <= TOL, "%s: %s = %.9g, reference %.9g (difference %.3g)", c->line, key, got, ref->v[j], diff);
    }
}

static void test_fixture_cases(test_run *r) {
    char path[1024];
    static metric_case cases[256];
    snprintf(path, sizeof path, "%s/fixtures/metrics.txt", t_srcdir());
    int n = read_cases(path, cases, 256);
    fx_file fx = {0};
    if (t_begin(r, "metrics/fixture_loads")) {
        fx_load_fixture(r, "metrics.txt", &fx);
        CHECK(r, n >= 100, "%d cases in %s", n, path);
        t_end(r);
    }
    double worst_all = 0.0;
    for (int i = 0; i < n && fx.n; i++) {
        const metric_case *c = &cases[i];
        if (!t_begin(r, "metrics/sklearn/%s", c->name)) continue;
        dataset d;
        char refname[96];
        snprintf(refname, sizeof refname, "ref_%.60s", c->name);
        const fx_tensor *ref = fx_need(r, &fx, refname);
        nnc_error e = {""};
        nnc_model *m = NULL;
        if (ref && !get_dataset(r, &fx, c, &d)) {
            m = pass_through(c, d.k, &e);
            if (CHECK(r, m != NULL, "%s: %s", c->line, e.message)) {
                double worst = 0.0;
                nnc_logs logs;
                for (int pass = 0; pass < 2; pass++) { /* training and evaluation state alike */
                    stream(m, &d, pass, &logs);
                    compare(r, &logs, c, ref, &worst);
                }
                /* unweighted: nnc_evaluate's batches of 16 give the same */
                if (strncmp(c->line, "weighted", 8)) {
                    CHECK(r, nnc_evaluate(m, d.xf, d.yf, (size_t)d.n, 16, &logs) == NNC_OK, "%s", nnc_last_error(m));
                    compare(r, &logs, c, ref, &worst);
                }
                if (worst > worst_all) worst_all = worst;
            }
            free_dataset(&d);
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "metrics/sklearn/largest_difference")) {
        t_info(r, "largest difference from scikit-learn (and the Keras AUC port) over %d cases: %.3g", n, worst_all);
        CHECK(r, worst_all <= TOL, "%.3g", worst_all);
        t_end(r);
    }
    fx_free(&fx);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(test_run *r) {
    static const struct { const char *name, *text, *expect; } cases[] = {
        {"auc_on_regression", "input 3\ndense 1\nloss mse\nmetrics auc\n",
         "compile: metric auc (output layer 'dense'): auc needs a classifier's loss"},
        {"top_k_too_large", "input 3\ndense 3 activation=softmax\nloss categorical_crossentropy\nmetrics top_k_categorical_accuracy\n",
         "top_k_categorical_accuracy: k=5 needs more than 5 classes; the output has 3"},
        {"sparse_top_k_k_equals_classes", "input 3\ndense 4\nloss sparse_categorical_crossentropy from_logits=true\n"
                                          "metrics sparse_top_k_categorical_accuracy(k=4)\n", "k=4 needs more than 4 classes"},
        {"class_id_out_of_range", "input 3\ndense 3 activation=sigmoid\nloss binary_crossentropy\nmetrics precision(class_id=3)\n",
         "precision: class_id=3 is not a class of an output of 3"},
        {"precision_top_k", "input 3\ndense 2 activation=softmax\nloss categorical_crossentropy\nmetrics recall(top_k=2)\n",
         "recall: top_k=2 needs more than 2 classes"},
        {"sparse_accuracy_one_hot", "input 3\ndense 3 activation=softmax\nloss categorical_crossentropy\n"
                                    "metrics sparse_categorical_accuracy\n", "use categorical_accuracy"},
        {"categorical_one_output", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics categorical_accuracy\n",
         "needs an output of 2 or more classes"},
        {"f1_on_regression", "input 3\ndense 2\nloss mae\nmetrics f1_score(average=macro)\n", "f1_score needs a classifier's loss"},
        {"unknown_metric", "input 3\ndense 1\nloss mse\nmetrics precison\n", "unknown metric 'precison' (did you mean 'precision'?"},
        {"unknown_argument", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics auc(curv=PR)\n",
         "unknown key 'curv'"},
        {"bad_curve", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics auc(curve=ROCK)\n",
         "bad value 'ROCK' for curve (expected one of ROC|PR)"},
        {"bad_average", "input 3\ndense 2 activation=softmax\nloss categorical_crossentropy\nmetrics f1_score(average=mean)\n",
         "bad value 'mean' for average"},
        {"threshold_range", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics precision(thresholds=1.5)\n",
         "bad value '1.5' for thresholds"},
        {"num_thresholds", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics auc(1)\n",
         "bad value '1' for num_thresholds"},
        {"key_outside_brackets", "input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics precision thresholds=0.3\n",
         "unexpected key 'thresholds'"},
        {"key_clash", "input 3\ndense 3 activation=softmax\nloss categorical_crossentropy\nmetrics f1_score f1_score(average=macro)\n",
         "two values would be logged as 'f1_score_1'"},
        {"named_loss", "input 3\ndense 1\nloss mse\nmetrics mae(name=loss)\n", "two values would be logged as 'loss'"},
        {"too_many_values", "input 3\ndense 40 activation=softmax\nloss categorical_crossentropy\nmetrics f1_score\n",
         "more than the 31 the logs hold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "metrics/errors/%s", cases[i].name)) continue;
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(cases[i].text, strlen(cases[i].text), "t.nnc", &e);
        CHECK(r, !m && strstr(e.message, cases[i].expect) && !strchr(e.message, '\n'), "'%s' lacks '%s'", e.message,
              cases[i].expect);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "metrics/errors/c_api_mismatch")) {
        nnc_model *m = nnc_model_new("m");
        nnc_input(m, (int[]){2}, 1, NULL);
        nnc_dense_opts dd = nnc_dense_opts_default(1);
        nnc_dense(m, NNC_PREV, &dd);
        nnc_compile_opts c = nnc_compile_opts_default();
        nnc_metric_config mc = nnc_metric_default(NNC_METRIC_AUC);
        CHECK(r, nnc_compile_add_metric(&c, &mc) == NNC_OK, "add");
        c.metrics[0] = NNC_METRIC_MAE; /* the enum and its arguments disagree */
        CHECK(r, nnc_compile(m, &c) == NNC_ERR_ARG && strstr(nnc_last_error(m), "metric_config[0] is for auc"), "%s",
              nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
}

/* ---- keys, direction, config ------------------------------------------------------------------ */

static void test_keys(test_run *r) {
    if (t_begin(r, "metrics/keras_names_deduplicated")) {
        const char *text = "input 2\ndense 2 activation=sigmoid\nloss binary_crossentropy\n"
                           "metrics precision precision(thresholds=0.3) auc(curve=PR,name=pr_auc) f1_score\n"
                           "weighted_metrics precision auc\n";
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            float x[8] = {0.1f, 0.9f, 0.5f, 0.2f, 0.3f, 0.3f, 0.7f, 0.1f}, y[8] = {0, 1, 1, 0, 0, 1, 1, 0};
            nnc_logs l;
            CHECK(r, nnc_evaluate(m, x, y, 4, 3, &l) == NNC_OK, "%s", nnc_last_error(m));
            const char *keys[] = {"loss", "precision", "precision_1", "pr_auc", "f1_score_0", "f1_score_1",
                                  "weighted_precision", "auc"};
            for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
                CHECK(r, !isnan(nnc_logs_get(&l, keys[i])), "no key %s", keys[i]);
            CHECK(r, l.count == 8, "%d keys", l.count);
            CHECK(r, nnc_metrics_higher_is_better(m, "val_pr_auc") == 1 && nnc_metrics_higher_is_better(m, "f1_score_1") == 1 &&
                         nnc_metrics_higher_is_better(m, "loss") == -1 && nnc_metrics_higher_is_better(m, "val_aucx") == -1,
                  "directions");
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "metrics/lower_is_better")) {
        const char *text = "input 2\ndense 1\nloss mse\nmetrics mae mape r2_score\n";
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e);
        if (CHECK(r, m != NULL, "%s", e.message))
            CHECK(r, nnc_metrics_higher_is_better(m, "val_mae") == 0 &&
                         nnc_metrics_higher_is_better(m, "mean_absolute_percentage_error") == 0 &&
                         nnc_metrics_higher_is_better(m, "val_r2_score") == 1, "directions");
        nnc_model_free(m);
        t_end(r);
    }
}

static int same_metric(const nnc_metric_config *a, const nnc_metric_config *b) {
    return a->kind == b->kind && a->threshold == b->threshold && a->has_threshold == b->has_threshold && a->k == b->k &&
           a->top_k == b->top_k && a->class_id == b->class_id && a->num_thresholds == b->num_thresholds &&
           a->curve == b->curve && a->summation_method == b->summation_method && a->multi_label == b->multi_label &&
           a->from_logits == b->from_logits && a->exact == b->exact && a->average == b->average && a->beta == b->beta &&
           a->class_aggregation == b->class_aggregation && a->num_regressors == b->num_regressors &&
           a->weighted == b->weighted && !strcmp(a->name, b->name);
}

static void test_config(test_run *r) {
    if (!t_begin(r, "metrics/compile_config_round_trip")) return;
    nnc_compile_opts c = nnc_compile_opts_default(), back;
    c.loss = nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY; /* the old way still works */
    nnc_metric_config a = nnc_metric_default(NNC_METRIC_AUC);
    a.curve = NNC_CURVE_PR, a.exact = true, a.num_thresholds = 500;
    nnc_compile_add_metric(&c, &a);
    nnc_metric_config p = nnc_metric_default(NNC_METRIC_PRECISION);
    p.has_threshold = true, p.threshold = 0.25f, p.class_id = 1, p.weighted = true;
    snprintf(p.name, sizeof p.name, "prec25");
    nnc_compile_add_metric(&c, &p);
    nnc_metric_config f = nnc_metric_default(NNC_METRIC_FBETA_SCORE);
    f.average = NNC_AVERAGE_WEIGHTED, f.beta = 2.0f;
    nnc_compile_add_metric(&c, &f);
    nnc_metric_config plain = nnc_metric_default(NNC_METRIC_RECALL);
    nnc_compile_add_metric(&c, &plain);
    nnc_strbuf sb = {0};
    nnc_compile_config_json(&c, &sb);
    char why[256] = "";
    nnc_json *j = sb.buf ? nnc_json_parse(sb.buf, sb.len, why, sizeof why) : NULL;
    int ok = j && nnc_compile_config_parse(j, &back, why, sizeof why) == 0;
    CHECK(r, ok, "%s: %s", why, sb.buf ? sb.buf : "");
    CHECK(r, sb.buf && strstr(sb.buf, "\"recall\"") && strstr(sb.buf, "\"weighted_metrics\":[{") &&
                 strstr(sb.buf, "\"exact\":true"), "%s", sb.buf ? sb.buf : "");
    for (int i = 0; ok && i < c.n_metrics; i++) {
        nnc_metric_config u = nnc_compile_metric(&c, i), v = nnc_compile_metric(&back, i);
        /* the weighted list follows the plain one */
        if (i == 2) v = nnc_compile_metric(&back, 4);
        else if (i > 2) v = nnc_compile_metric(&back, i - 1);
        CHECK(r, same_metric(&u, &v), "metric %d (%s) changed in the round trip", i, nnc_metric_name(u.kind));
    }
    nnc_strbuf k = {0};
    nnc_metrics_config_json(&c, &k, 0, 1);
    CHECK(r, k.buf && !strstr(k.buf, "exact") && strstr(k.buf, "\"class_name\":\"AUC\""), "Keras's list: %s",
          k.buf ? k.buf : "");
    nnc_sb_free(&k);
    nnc_json_free(j);
    nnc_sb_free(&sb);
    t_end(r);
}

/* Metrics with arguments and weighted metrics through a Keras file and nnc's own. */
static void test_files(test_run *r) {
    static const char *const exts[] = {"keras", "h5", "safetensors"};
    for (int f = 0; f < 3; f++) {
        if (!t_begin(r, "metrics/file_round_trip_%s", exts[f])) continue;
        const char *text = "input 3\ndense 2 activation=sigmoid\nloss binary_crossentropy\n"
                           "metrics accuracy precision(thresholds=0.3,class_id=1) auc(curve=PR,exact=true) f1_score(average=micro)\n"
                           "weighted_metrics recall\n";
        char path[] = "/tmp/nnc-metrics-file-XXXXXX", file[64];
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e), *back = NULL;
        if (!CHECK(r, m && mkdtemp(path), "%s", e.message)) {
            nnc_model_free(m);
            t_end(r);
            continue;
        }
        snprintf(file, sizeof file, "%s/m.%s", path, exts[f]);
        if (nnc_model_save(m, file, NULL) != NNC_OK) {
            t_skip(r, nnc_last_error(m)); /* built without the Keras formats */
        } else {
            back = nnc_model_load(file, &e);
            if (CHECK(r, back != NULL, "%s", e.message)) {
                nnc_compile_opts a = nnc_model_compile_opts(m), b = nnc_model_compile_opts(back);
                CHECK(r, a.n_metrics == b.n_metrics, "%d metrics, back %d", a.n_metrics, b.n_metrics);
                for (int i = 0; i < a.n_metrics && i < b.n_metrics; i++) {
                    nnc_metric_config u = nnc_compile_metric(&a, i), v = nnc_compile_metric(&b, i);
                    if (f < 2 && u.kind == NNC_METRIC_AUC) u.exact = false; /* nnc's own key: not in Keras's files */
                    CHECK(r, same_metric(&u, &v), "metric %d (%s) changed", i, nnc_metric_name(u.kind));
                }
            }
            t_end(r);
        }
        nnc_model_free(m);
        nnc_model_free(back);
        unlink(file);
        rmdir(path);
    }
}

/* ---- fit ------------------------------------------------------------------------------------ */

static void test_fit(test_run *r) {
    if (!t_begin(r, "metrics/fit_logs_val_auc_and_stops_on_it")) return;
    const char *text = "input 2\ndense 1 activation=sigmoid\nloss binary_crossentropy\noptimizer sgd learning_rate=0.5\n"
                       "metrics auc precision recall(thresholds=0.4)\nweighted_metrics auc(exact=true)\n"
                       "callback early_stopping monitor=val_auc patience=2\n";
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e);
    if (CHECK(r, m != NULL, "%s", e.message)) {
        enum { N = 200 };
        static float x[2 * N], y[N], w[N];
        uint64_t s = 9;
        for (int i = 0; i < N; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[2 * i] = (float)((s >> 33) % 1000) / 500.0f - 1.0f;
            x[2 * i + 1] = (float)((s >> 13) % 1000) / 500.0f - 1.0f;
            y[i] = x[2 * i] + 0.3f * x[2 * i + 1] > 0.1f;
            w[i] = i % 3 ? 1.0f : 2.0f;
        }
        nnc_fit_opts fo = nnc_fit_opts_default();
        nnc_model_fit_defaults(m, &fo);
        fo.epochs = 30, fo.batch_size = 16, fo.verbose = 0, fo.validation_split = 0.25f, fo.sample_weight = w;
        nnc_history *h = NULL;
        CHECK(r, nnc_fit(m, x, y, N, &fo, &h) == NNC_OK, "%s", nnc_last_error(m));
        const nnc_logs *l = nnc_history_logs(h, nnc_history_epochs(h) - 1);
        const char *keys[] = {"auc", "val_auc", "precision", "val_precision", "recall", "val_recall", "weighted_auc",
                              "val_weighted_auc"};
        for (size_t i = 0; l && i < sizeof keys / sizeof *keys; i++) {
            double v = nnc_logs_get(l, keys[i]);
            CHECK(r, v >= 0.0 && v <= 1.0, "%s = %g", keys[i], v);
        }
        CHECK(r, l && nnc_logs_get(l, "val_auc") > 0.9, "val_auc %g", l ? nnc_logs_get(l, "val_auc") : 0.0);
        /* the validation has no weights: its weighted exact AUC is the plain exact one, close to
         * Keras's approximation */
        CHECK(r, l && fabs(nnc_logs_get(l, "val_weighted_auc") - nnc_logs_get(l, "val_auc")) < 0.02, "exact vs approx");
        t_info(r, "%d epochs (early stopping on val_auc, mode auto: higher is better)", nnc_history_epochs(h));
        nnc_history_free(h);
    }
    nnc_model_free(m);
    t_end(r);
}

/* ---- nnc eval --report ------------------------------------------------------------------------- */

/* A model that passes its input through (the dataset's probabilities), saved in dir, and the
 * dataset as CSV with its label last; then `nnc eval --report --json`'s report object. */
static nnc_json *eval_report(test_run *r, const char *dir, const fx_file *fx, const char *ds, const char *loss,
                             const char *extra) {
    char path[1200], name[64], why[200];
    snprintf(name, sizeof name, "%s_x", ds);
    const fx_tensor *x = fx_need(r, fx, name);
    snprintf(name, sizeof name, "%s_%s", ds, strcmp(ds, "mc") ? "Y" : "y");
    const fx_tensor *y = fx_need(r, fx, name);
    if (!x || !y) return NULL;
    const int n = x->shape[0], k = x->shape[1];
    snprintf(path, sizeof path, "%s/%s.csv", dir, ds);
    FILE *f = fopen(path, "w");
    for (int j = 0; f && j < k; j++) fprintf(f, "p%d,", j);
    if (f) fprintf(f, "label\n");
    for (int i = 0; f && i < n; i++) {
        for (int j = 0; j < k; j++) fprintf(f, "%.9g,", x->v[i * k + j]);
        fprintf(f, "%d\n", (int)y->v[i]);
    }
    if (f) fclose(f);
    char text[256];
    snprintf(text, sizeof text, "input %d\nactivation linear\nloss %s\nmetrics accuracy\n", k, loss);
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "r.nnc", &e);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, ds);
    int saved = m && nnc_model_save(m, path, NULL) == NNC_OK;
    CHECK(r, saved, "%s", m ? nnc_last_error(m) : e.message);
    nnc_model_free(m);
    if (!saved) return NULL;
    char cmd[512];
    int st = -1;
    snprintf(cmd, sizeof cmd, "nnc eval %s.safetensors --data %s.csv --report --json%s", ds, ds, extra);
    char *out = t_shell(dir, cmd, &st);
    const char *line = out ? strstr(out, "{\"report\"") : NULL;
    nnc_json *j = line ? nnc_json_parse(line, strcspn(line, "\n"), why, sizeof why) : NULL;
    CHECK(r, st == 0 && j, "%s: status %d: %s", cmd, st, out ? out : "");
    free(out);
    return j;
}

static void near_list(test_run *r, const nnc_json *rep, const char *key, const fx_tensor *ref) {
    const nnc_json *a = nnc_json_get(rep, key);
    size_t rows = ref && ref->ndim == 2 ? (size_t)ref->shape[0] : ref ? ref->n : 0;
    if (!CHECK(r, a && ref && a->type == NNC_JSON_ARRAY && a->count == rows, "%s: missing or of another length", key))
        return;
    for (size_t i = 0; i < a->count; i++) {
        const nnc_json *v = a->items[i];
        double got = v->type == NNC_JSON_ARRAY ? (double)NAN : v->number;
        if (v->type == NNC_JSON_ARRAY) { /* a matrix row */
            size_t cols = v->count;
            for (size_t c = 0; c < cols && i * cols + c < ref->n * cols; c++)
                CHECK(r, fabs(v->items[c]->number - ref->v[i * cols + c]) <= TOL, "%s[%zu][%zu] = %g, scikit-learn %g", key, i,
                      c, v->items[c]->number, ref->v[i * cols + c]);
            continue;
        }
        CHECK(r, fabs(got - ref->v[i]) <= TOL, "%s[%zu] = %.9g, scikit-learn %.9g", key, i, got, ref->v[i]);
    }
}

static void test_report(test_run *r) {
    if (!t_begin(r, "metrics/eval_report_matches_sklearn")) return;
    char dir[] = "/tmp/nnc-metrics-XXXXXX";
    fx_file fx = {0};
    if (!mkdtemp(dir) || !fx_load_fixture(r, "metrics.txt", &fx)) {
        t_skip(r, "no temporary folder or fixture");
        fx_free(&fx);
        return;
    }
    nnc_json *j = eval_report(r, dir, &fx, "mc", "sparse_categorical_crossentropy", " --plot mc.svg");
    const nnc_json *rep = j ? nnc_json_get(j, "report") : NULL;
    if (rep) {
        near_list(r, rep, "precision", fx_get(&fx, "report_mc_precision"));
        near_list(r, rep, "recall", fx_get(&fx, "report_mc_recall"));
        near_list(r, rep, "f1_score", fx_get(&fx, "report_mc_f1"));
        near_list(r, rep, "support", fx_get(&fx, "report_mc_support"));
        const fx_tensor *cm = fx_get(&fx, "report_mc_confusion");
        const nnc_json *m = nnc_json_get(rep, "confusion_matrix");
        CHECK(r, cm && m && m->count == 4, "confusion matrix");
        for (size_t i = 0; cm && m && i < m->count && i < 4; i++)
            for (size_t c = 0; c < 4 && c < m->items[i]->count; c++)
                CHECK(r, m->items[i]->items[c]->number == cm->v[i * 4 + c], "confusion[%zu][%zu]", i, c);
        double acc = 0.0;
        const fx_tensor *ra = fx_get(&fx, "report_mc_accuracy"), *mac = fx_get(&fx, "report_mc_macro");
        CHECK(r, nnc_json_get_number(rep, "accuracy", &acc) && ra && fabs(acc - ra->v[0]) <= TOL, "accuracy %g", acc);
        const nnc_json *ma = nnc_json_get(rep, "macro_avg");
        double mf1 = 0.0;
        CHECK(r, ma && mac && nnc_json_get_number(ma, "f1_score", &mf1) && fabs(mf1 - mac->v[2]) <= TOL, "macro f1 %g", mf1);
        char svg[1300];
        snprintf(svg, sizeof svg, "%s/mc.svg", dir);
        CHECK(r, access(svg, R_OK) == 0, "no %s", svg);
    }
    nnc_json_free(j);
    j = eval_report(r, dir, &fx, "bin", "binary_crossentropy", "");
    rep = j ? nnc_json_get(j, "report") : NULL;
    if (rep) {
        double roc = 0.0, ap = 0.0;
        const fx_tensor *rr = fx_get(&fx, "report_bin_roc_auc"), *ra = fx_get(&fx, "report_bin_average_precision");
        CHECK(r, nnc_json_get_number(rep, "roc_auc", &roc) && rr && fabs(roc - rr->v[0]) <= TOL, "roc_auc %.9g", roc);
        CHECK(r, nnc_json_get_number(rep, "average_precision", &ap) && ra && fabs(ap - ra->v[0]) <= TOL, "ap %.9g", ap);
        near_list(r, rep, "confusion_matrix", fx_get(&fx, "report_bin_confusion"));
    }
    nnc_json_free(j);
    int st = -1;
    char *out = t_shell(dir, "printf 'input 3\\ndense 2\\nloss mse\\n' > g.nnc && nnc train g.nnc --data mc.csv --targets 2 "
                             "--epochs 1 --quiet --save g.safetensors >/dev/null && nnc eval g.safetensors --data mc.csv "
                             "--report", &st);
    const char *msg = out ? strstr(out, "nnc eval: --report: a classifier's report") : NULL;
    const char *end = msg ? strstr(msg, "mean_squared_error\n") : NULL; /* one line */
    CHECK(r, st == 1 && end && strchr(msg, '\n') == end + 18, "regression: status %d: %s", st, out ? out : "");
    free(out);
    out = t_shell(dir, "rm -rf -- *.csv *.safetensors *.svg *.nnc", &st);
    free(out);
    rmdir(dir);
    fx_free(&fx);
    t_end(r);
}

void suite_metrics(test_run *r);
void suite_metrics(test_run *r) {
    test_fixture_cases(r);
    test_errors(r);
    test_keys(r);
    test_config(r);
    test_files(r);
    test_fit(r);
    test_report(r);
}
