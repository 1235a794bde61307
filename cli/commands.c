/* The commands of the nnc tool (DESIGN §7): train, eval, predict and summary. Output follows
 * Keras: "Epoch 3/100", the progress bar, "test_loss: ... - test_accuracy: ..."; --json
 * prints one JSON object per epoch and one for the result, and nothing else on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "core/model_impl.h"
#include "format/atomic.h"
#include "format/json.h"
#include "io/model_file.h"
#include "report.h"
#include "train/train_impl.h"

#define NOPTS(a) ((int)(sizeof(a) / sizeof *(a)))

/* --threads' default: the CPUs online (at most 8). Small products run on one thread anyway
 * and results do not depend on the count, so more threads only ever help the large ones. */
static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* ---- shared pieces ------------------------------------------------------------------------ */

/* "key: 0.1234 - key: ..." with loss first, as Keras's evaluate prints. */
static void print_logs(const nnc_logs *l, const char *prefix) {
    double loss = nnc_logs_get(l, "loss");
    printf("%sloss: %.4f", prefix, loss);
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->names[i], "loss")) printf(" - %s%s: %.4f", prefix, l->names[i], l->values[i]);
    printf("\n");
}

/* Appends "key":value pairs, each preceded by a comma unless *first. */
static void json_logs(nnc_strbuf *sb, const nnc_logs *l, const char *prefix, int *first) {
    for (int i = 0; i < l->count; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s%s", prefix, l->names[i]);
        if (!*first) nnc_sb_puts(sb, ",");
        *first = 0;
        nnc_sb_json_string(sb, key);
        nnc_sb_puts(sb, ":");
        nnc_sb_json_number(sb, l->values[i]);
    }
}

static void json_emit(nnc_strbuf *sb) {
    if (sb->buf) printf("%s\n", sb->buf);
    fflush(stdout);
    nnc_sb_free(sb);
}

/* A model file or a spec file, told apart by content: safetensors starts with a small
 * little-endian header length, a spec file with text. */
static nnc_model *load_model_or_spec(const char *path, nnc_error *err) {
    FILE *f = fopen(path, "rb");
    unsigned char head[9] = {0};
    size_t got = f ? fread(head, 1, 9, f) : 0;
    if (f) fclose(f);
    int safetensors = got == 9 && head[8] == '{' && head[6] == 0 && head[7] == 0;
    size_t len = strlen(path);
    if (safetensors || (len > 12 && !strcmp(path + len - 12, ".safetensors")))
        return nnc_model_load(path, err);
    return nnc_model_from_spec(path, err);
}

/* ---- train -------------------------------------------------------------------------------- */

typedef struct {
    int json;
    double train_seconds;
} train_ctx;

static bool on_epoch(void *user, const nnc_epoch_info *info) {
    train_ctx *t = user;
    t->train_seconds += info->seconds;
    if (t->json) {
        nnc_strbuf sb = {0};
        int first = 0;
        nnc_sb_printf(&sb, "{\"epoch\":%d", info->epoch + 1);
        json_logs(&sb, info->logs, "", &first);
        nnc_sb_puts(&sb, ",\"seconds\":");
        nnc_sb_json_number(&sb, info->seconds);
        nnc_sb_puts(&sb, "}");
        json_emit(&sb);
    }
    return false;
}

static const char *train_help =
    "Usage: nnc train SPEC --data D [options]\n\n"
    "Builds the model of the spec file SPEC, trains it on D, evaluates it on the test data\n"
    "(--test-data, --test-split, or the dataset's own test part) and saves it with --save.\n\n";

int cmd_train(int argc, char **argv) {
    const char *spec = NULL, *data = NULL, *labels = NULL, *test_data = NULL, *test_labels = NULL,
               *label_column = NULL, *init = NULL, *save = NULL, *history = NULL, *plot = NULL;
    int targets = 0, epochs = -1, batch = 0, no_shuffle = 0, seed = 0, threads = default_threads(),
        weights_only = 0, json = 0, quiet = 0, help = 0, restarts = 1, spu = 0;
    double test_split = 0.0, val_split = -1.0;
    const char *batch_text = NULL;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "training data: bundled name, CSV or IDX file", "D"},
        {"--labels", OPT_STRING, &labels, "labels of IDX images", "L"},
        {"--test-data", OPT_STRING, &test_data, "test data, evaluated after training", "D"},
        {"--test-labels", OPT_STRING, &test_labels, "labels of IDX test images", "L"},
        {"--test-split", OPT_FLOAT, &test_split, "hold out a seeded fraction of D as test data", "F"},
        {"--validation-split", OPT_FLOAT, &val_split, "the last fraction of the training rows validates", "F"},
        {"--label-column", OPT_STRING, &label_column, "the CSV column holding the label", "NAME"},
        {"--targets", OPT_INT, &targets, "the last N CSV columns are the targets", "N"},
        {"--epochs", OPT_INT, &epochs, "epochs (default: the spec's fit line, else 1)", "N"},
        {"--batch-size", OPT_STRING, &batch_text, "batch size, or 'all' (default: spec, else 32)", "N"},
        {"--no-shuffle", OPT_FLAG, &no_shuffle, "keep the row order in every epoch", NULL},
        {"--seed", OPT_INT, &seed, "seed of weights, shuffling and --test-split (default 0)", "N"},
        {"--steps-per-update", OPT_INT, &spu, "accumulate the gradients of N batches per update", "N"},
        {"--restarts", OPT_INT, &restarts, "train K initialisations (seeds N, N+1, ...), keep the best", "K"},
        {"--threads", OPT_INT, &threads, "threads (default: CPUs online; results are identical for any count)", "N"},
        {"--init-weights", OPT_STRING, &init, "start from these weights (resumes a saved run)", "FILE"},
        {"--save", OPT_STRING, &save, "save the trained model (atomic)", "FILE"},
        {"--save-weights-only", OPT_FLAG, &weights_only, "save without the optimizer state", NULL},
        {"--history", OPT_STRING, &history, "write the per-epoch history as CSV", "FILE.csv"},
        {"--plot", OPT_STRING, &plot, "draw the learning curves as SVG", "FILE.svg"},
        {"--json", OPT_FLAG, &json, "print JSON objects instead of the progress bar", NULL},
        {"--quiet", OPT_FLAG, &quiet, "print only the test line", NULL},
    };
    int rc = cli_parse("train", argc, argv, 2, opts, NOPTS(opts), &spec, "SPEC", &help);
    if (help) {
        printf("%s", train_help);
        cli_print_options(opts, NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!data) {
        cli_error("train", "missing --data D (a bundled dataset, a CSV file or an IDX file)");
        return CLI_USAGE;
    }
    if (batch_text && strcmp(batch_text, "all")) {
        char *end;
        long v = strtol(batch_text, &end, 10);
        if (*end || v <= 0 || v > 1 << 30) {
            cli_error("train", "--batch-size must be a positive integer or 'all', not '%s'", batch_text);
            return CLI_USAGE;
        }
        batch = (int)v;
    }
    if (epochs != -1 && epochs < 1) {
        cli_error("train", "--epochs must be at least 1");
        return CLI_USAGE;
    }
    if (!(test_split >= 0.0 && test_split < 1.0)) {
        cli_error("train", "--test-split %g is not in [0, 1)", test_split);
        return CLI_USAGE;
    }
    if (val_split != -1.0 && !(val_split >= 0.0 && val_split < 1.0)) {
        cli_error("train", "--validation-split %g is not in [0, 1)", val_split);
        return CLI_USAGE;
    }
    if (threads < 1) {
        cli_error("train", "--threads must be at least 1");
        return CLI_USAGE;
    }
    if (restarts < 1 || spu < 0) {
        cli_error("train", "--restarts and --steps-per-update must be at least 1");
        return CLI_USAGE;
    }
    if (seed < 0) {
        cli_error("train", "--seed must be >= 0");
        return CLI_USAGE;
    }
    if (test_data && test_split > 0.0) {
        cli_error("train", "--test-data and --test-split exclude each other");
        return CLI_USAGE;
    }
    char err[1536];
    /* Outputs are checked first so that a long run cannot fail at its very end. */
    const char *outs[3] = {save, history, plot};
    for (int i = 0; i < 3; i++)
        if (outs[i] && nnc_check_writable(outs[i], err, sizeof err)) {
            cli_error("train", "%s", err);
            return CLI_FAIL;
        }

    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec(spec, &e);
    cli_data all = {0}, train = {0}, test = {0};
    nnc_history *hist = NULL;
    rc = CLI_FAIL;
    if (!m) {
        cli_error("train", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_reinitialize(m, (uint64_t)seed);
    if (nnc_model_set_threads(m, threads)) {
        cli_error("train", "%s", nnc_last_error(m));
        nnc_model_free(m);
        return CLI_FAIL;
    }
    cli_data_opts dopt = {data, labels, label_column, targets};
    size_t want = nnc_input_size(m);
    if (cli_load(&dopt, "train", want, 0, &all, err, sizeof err) || cli_check_targets(m, &all, err, sizeof err))
        goto fail;
    if (test_split > 0.0) {
        if (cli_split(&all, test_split, (uint64_t)seed, &train, &test, err, sizeof err)) goto fail;
        cli_data_free(&all);
    } else {
        train = all;
        memset(&all, 0, sizeof all);
        if (test_data || cli_has_test_part(data)) {
            cli_data_opts topt = {test_data ? test_data : data, test_data ? test_labels : labels,
                                  label_column, targets};
            if (cli_load(&topt, "test", want, 0, &test, err, sizeof err) ||
                cli_check_targets(m, &test, err, sizeof err))
                goto fail;
        }
    }

    nnc_fit_opts fo = nnc_fit_opts_default();
    nnc_model_fit_defaults(m, &fo);
    if (epochs > 0) fo.epochs = epochs;
    if (batch) fo.batch_size = batch;
    if (batch_text && !strcmp(batch_text, "all")) fo.batch_size = (int)(train.n < (1u << 30) ? train.n : (1u << 30));
    if (val_split >= 0.0) fo.validation_split = (float)val_split;
    if (no_shuffle) fo.shuffle = false;
    if (spu) fo.steps_per_update = spu;
    fo.verbose = json || quiet ? 0 : 1;
    if (json || quiet) fo.out = stderr; /* messages of the spec's callbacks (verbose=1) */
    train_ctx tc = {json, 0.0};
    fo.on_epoch_end = on_epoch;
    fo.user = &tc;

    /* Normalization layers learn their statistics from the rows that train (not validation). */
    size_t adapt_rows = fo.validation_split > 0.0f
                            ? (size_t)ceil((double)train.n * (1.0 - (double)fo.validation_split))
                            : train.n;
    if (adapt_rows && nnc_adapt(m, train.x, adapt_rows)) {
        snprintf(err, sizeof err, "%s: %s", train.source, nnc_last_error(m));
        goto fail;
    }
    if (init) {
        int resumed = 0;
        if (nnc_model_load_weights(m, init, &resumed)) {
            snprintf(err, sizeof err, "--init-weights %s", nnc_last_error(m));
            goto fail;
        }
        if (resumed >= fo.epochs) {
            snprintf(err, sizeof err, "%s has already trained %d epochs; ask for more with --epochs", init, resumed);
            goto fail;
        }
        fo.initial_epoch = resumed;
    }
    if (restarts > 1 && init) {
        snprintf(err, sizeof err, "--restarts and --init-weights exclude each other");
        goto fail;
    }
    if (restarts > 1) fo.seed = seed;
    if ((restarts > 1 ? nnc_fit_restarts(m, train.x, train.y, train.n, &fo, restarts, &hist)
                      : nnc_fit(m, train.x, train.y, train.n, &fo, &hist)) != NNC_OK) {
        snprintf(err, sizeof err, "%s%s", nnc_last_error(m),
                 save ? " (nothing was saved)" : "");
        goto fail;
    }
    nnc_logs tl = {0};
    if (test.n && nnc_evaluate(m, test.x, test.y, test.n, fo.batch_size, &tl) != NNC_OK) {
        snprintf(err, sizeof err, "%s: %s", test.source, nnc_last_error(m));
        goto fail;
    }
    if (save) {
        nnc_save_opts so = nnc_save_opts_default();
        so.include_optimizer = !weights_only;
        long long fail_after = -1;
#ifdef NNC_FAULT_INJECTION
        /* Test builds only: make the save fail after N bytes, as a crash or a full disk would. */
        const char *fault = getenv("NNC_FAIL_SAVE_AFTER");
        if (fault) fail_after = atoll(fault);
#endif
        if (nnc_model_save_ex(m, save, &so, fail_after) != NNC_OK) {
            snprintf(err, sizeof err, "%s", nnc_last_error(m));
            goto fail;
        }
    }
    if (history && nnc_write_history_csv(hist, history, err, sizeof err)) goto fail;
    if (plot) {
        char title[512];
        snprintf(title, sizeof title, "%s on %s", spec, data);
        if (nnc_write_history_svg(hist, title, plot, err, sizeof err)) goto fail;
    }
    if (json) {
        nnc_strbuf sb = {0};
        int first = 1;
        nnc_sb_puts(&sb, "{");
        if (test.n) json_logs(&sb, &tl, "test_", &first);
        nnc_sb_printf(&sb, "%s\"train_seconds\":", first ? "" : ",");
        nnc_sb_json_number(&sb, tc.train_seconds);
        nnc_sb_puts(&sb, "}");
        json_emit(&sb);
    } else if (test.n) {
        print_logs(&tl, "test_");
    }
    rc = CLI_OK;
    goto done;
fail:
    cli_error("train", "%s", err);
done:
    nnc_history_free(hist);
    cli_data_free(&all);
    cli_data_free(&train);
    cli_data_free(&test);
    nnc_model_free(m);
    return rc;
}

/* ---- eval --------------------------------------------------------------------------------- */

int cmd_eval(int argc, char **argv) {
    const char *path = NULL, *data = NULL, *labels = NULL, *label_column = NULL;
    int targets = 0, threads = default_threads(), json = 0, help = 0;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "data: bundled name (its test part), CSV or IDX file", "D"},
        {"--labels", OPT_STRING, &labels, "labels of IDX images", "L"},
        {"--label-column", OPT_STRING, &label_column, "the CSV column holding the label", "NAME"},
        {"--targets", OPT_INT, &targets, "the last N CSV columns are the targets", "N"},
        {"--threads", OPT_INT, &threads, "threads (default: CPUs online; results are identical for any count)", "N"},
        {"--json", OPT_FLAG, &json, "print one JSON object", NULL},
    };
    int rc = cli_parse("eval", argc, argv, 2, opts, NOPTS(opts), &path, "MODEL", &help);
    if (help) {
        printf("Usage: nnc eval MODEL --data D [options]\n\nLoss and metrics of a saved model on D.\n\n");
        cli_print_options(opts, NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!data) {
        cli_error("eval", "missing --data D");
        return CLI_USAGE;
    }
    if (threads < 1) {
        cli_error("eval", "--threads must be at least 1");
        return CLI_USAGE;
    }
    char err[1536];
    nnc_error e = {""};
    nnc_model *m = nnc_model_load(path, &e);
    if (!m) {
        cli_error("eval", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model_set_threads(m, threads);
    cli_data d = {0};
    cli_data_opts dopt = {data, labels, label_column, targets};
    nnc_logs l;
    rc = CLI_FAIL;
    if (cli_load(&dopt, "test", nnc_input_size(m), 0, &d, err, sizeof err) ||
        cli_check_targets(m, &d, err, sizeof err)) {
        cli_error("eval", "%s", err);
    } else if (nnc_evaluate(m, d.x, d.y, d.n, 32, &l) != NNC_OK) {
        cli_error("eval", "%s: %s", d.source, nnc_last_error(m));
    } else {
        if (json) {
            nnc_strbuf sb = {0};
            int first = 1;
            nnc_sb_puts(&sb, "{");
            json_logs(&sb, &l, "", &first);
            nnc_sb_puts(&sb, "}");
            json_emit(&sb);
        } else {
            print_logs(&l, "");
        }
        rc = CLI_OK;
    }
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}

/* ---- predict ------------------------------------------------------------------------------ */

/* Writes the predictions as CSV (DESIGN §7): a softmax classifier gives the class and its
 * probabilities, one sigmoid output the 0/1 decision and its probability, several sigmoid
 * outputs a decision and a probability each, regression the values. */
static void predictions_csv(const nnc_model *m, float *out, size_t n, nnc_strbuf *sb) {
    size_t k = nnc_output_size(m);
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss *L = &co.loss;
    int softmax = L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY;
    int binary = L->kind == NNC_LOSS_BINARY_CROSSENTROPY;
    if (softmax && L->from_logits) nnc_softmax_rows(out, n, k);
    if (binary && L->from_logits) nnc_sigmoid(out, n * k);
    if (softmax) {
        nnc_sb_puts(sb, "predicted");
        for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, ",prob_%zu", j);
    } else if (binary && k == 1) {
        nnc_sb_puts(sb, "predicted,prob_1");
    } else if (binary) {
        for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, "%spred_%zu", j ? "," : "", j);
        for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, ",prob_%zu", j);
    } else {
        for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, "%sy_%zu", j ? "," : "", j);
    }
    nnc_sb_puts(sb, "\n");
    for (size_t r = 0; r < n; r++) {
        const float *p = out + r * k;
        if (softmax) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            nnc_sb_printf(sb, "%zu", best);
            for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, ",%.7g", (double)p[j]);
        } else if (binary) {
            for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, "%s%d", j ? "," : "", p[j] > 0.5f);
            for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, ",%.7g", (double)p[j]);
        } else {
            for (size_t j = 0; j < k; j++) nnc_sb_printf(sb, "%s%.7g", j ? "," : "", (double)p[j]);
        }
        nnc_sb_puts(sb, "\n");
    }
}

int cmd_predict(int argc, char **argv) {
    const char *path = NULL, *data = NULL, *labels = NULL, *output = NULL;
    int threads = default_threads(), help = 0;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "data: bundled name (its test part), CSV or IDX file", "D"},
        {"--labels", OPT_STRING, &labels, "labels of IDX images (not needed)", "L"},
        {"--output", OPT_STRING, &output, "write the CSV here (atomic) instead of stdout", "FILE.csv"},
        {"--threads", OPT_INT, &threads, "threads (default: CPUs online; results are identical for any count)", "N"},
    };
    int rc = cli_parse("predict", argc, argv, 2, opts, NOPTS(opts), &path, "MODEL", &help);
    if (help) {
        printf("Usage: nnc predict MODEL --data D [--output FILE.csv]\n\n"
               "One CSV row per example: the class and probabilities (classifiers) or values.\n\n");
        cli_print_options(opts, NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!data) {
        cli_error("predict", "missing --data D");
        return CLI_USAGE;
    }
    if (threads < 1) {
        cli_error("predict", "--threads must be at least 1");
        return CLI_USAGE;
    }
    char err[1536];
    if (output && nnc_check_writable(output, err, sizeof err)) {
        cli_error("predict", "%s", err);
        return CLI_FAIL;
    }
    nnc_error e = {""};
    nnc_model *m = nnc_model_load(path, &e);
    if (!m) {
        cli_error("predict", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model_set_threads(m, threads);
    cli_data d = {0};
    cli_data_opts dopt = {data, labels, NULL, (int)nnc_target_size(m)};
    float *out = NULL;
    nnc_strbuf sb = {0};
    rc = CLI_FAIL;
    if (cli_load(&dopt, "test", nnc_input_size(m), 1, &d, err, sizeof err)) {
        cli_error("predict", "%s", err);
    } else if (!(out = malloc(d.n * nnc_output_size(m) * sizeof(float) + 1))) {
        cli_error("predict", "out of memory");
    } else if (nnc_predict(m, d.x, d.n, out) != NNC_OK) {
        cli_error("predict", "%s: %s", d.source, nnc_last_error(m));
    } else {
        predictions_csv(m, out, d.n, &sb);
        if (sb.oom) cli_error("predict", "out of memory");
        else if (!output) {
            fputs(sb.buf, stdout);
            rc = CLI_OK;
        } else if (nnc_write_file_atomic(output, sb.buf, sb.len, -1, err, sizeof err)) {
            cli_error("predict", "%s", err);
        } else {
            rc = CLI_OK;
        }
    }
    nnc_sb_free(&sb);
    free(out);
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}

/* ---- summary ------------------------------------------------------------------------------ */

int cmd_summary(int argc, char **argv) {
    const char *path = NULL;
    int help = 0;
    int rc = cli_parse("summary", argc, argv, 2, NULL, 0, &path, "SPEC or MODEL", &help);
    if (help) {
        printf("Usage: nnc summary SPEC|MODEL\n\nKeras's summary table of a spec file or a saved model.\n");
        return CLI_OK;
    }
    if (rc) return rc;
    nnc_error e = {""};
    nnc_model *m = load_model_or_spec(path, &e);
    if (!m) {
        cli_error("summary", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_summary(m, stdout);
    nnc_model_free(m);
    return CLI_OK;
}
