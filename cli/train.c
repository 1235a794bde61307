/* nnc train (DESIGN §7): parse the options, load the spec and the data, train, then report:
 * the test line, --save, --history, --plot. Output follows Keras: "Epoch 3/100", the progress
 * bar, "test_loss: ... - test_accuracy: ..."; --json prints one JSON object per epoch and one
 * for the result, and nothing else on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "report.h"

typedef struct {
    const char *spec, *test_data, *test_labels, *val_data, *val_labels, *init, *init_from, *freeze, *save, *history, *plot,
        *batch_text;
    cli_data_opts data;
    cli_search_args search;
    int epochs, epochs_given, spu_given, val_split_given, batch, no_shuffle, seed, threads, weights_only, json, quiet, restarts, spu, stream;
    double test_split, val_split, comm_timeout;
} train_args;

/* What the epoch hook keeps. */
typedef struct {
    int json;
    double train_seconds;
} train_ctx;

static bool on_epoch(void *user, const nnc_epoch_info *info) {
    train_ctx *t = user;
    t->train_seconds += info->seconds;
    if (t->json) {
        nnc_logs head = cli_one_log("epoch", info->epoch + 1), tail = cli_one_log("seconds", info->seconds);
        const nnc_logs *parts[3] = {&head, info->logs, &tail};
        cli_print_json(3, parts, NULL);
    }
    return false;
}

static const char *train_help =
    "Usage: nnc train SPEC --data D [options]\n"
    "       nnc train [SPEC] --init-from MODEL --data D [options]\n\n"
    "Builds the model of the spec file SPEC, trains it on D, evaluates it on the test data\n"
    "(--test-data, --test-split, or the dataset's own test part) and saves it with --save.\n"
    "With --init-from, the layers, weights and compile settings come from MODEL (nnc, .keras\n"
    "or .h5); a SPEC then holds only loss, optimizer, metrics, fit and callback lines, which\n"
    "replace the model's. --freeze NAME[,NAME] freezes those layers (Keras's trainable=False:\n"
    "fine-tuning; their weights stay as they are, a BatchNormalization uses its moving statistics).\n\n";

/* Checks the values that the option parser cannot. */
static int check_args(train_args *a) {
    if (!a->spec && !a->init_from) {
        cli_error("train", "missing SPEC (or --init-from MODEL)\nTry 'nnc train --help'.");
        return CLI_USAGE;
    }
    if (!a->data.data) {
        cli_error("train", "missing --data D (a bundled dataset, a CSV file or an IDX file)");
        return CLI_USAGE;
    }
    if (a->batch_text && strcmp(a->batch_text, "all")) {
        char *end;
        long v = strtol(a->batch_text, &end, 10);
        if (*end || v <= 0 || v > 1 << 30) {
            cli_error("train", "--batch-size must be a positive integer or 'all', not '%s'", a->batch_text);
            return CLI_USAGE;
        }
        a->batch = (int)v;
    }
    const char *bad = NULL;
    if (a->epochs_given && a->epochs < 1) bad = "--epochs must be at least 1";
    else if (a->threads < 1) bad = "--threads must be at least 1";
    else if (a->restarts < 1 || (a->spu_given && a->spu < 1)) bad = "--restarts and --steps-per-update must be at least 1";
    else if (a->seed < 0) bad = "--seed must be >= 0";
    else if (a->comm_timeout < 0.0) bad = "--comm-timeout must be positive";
    else if (a->test_data && a->test_split > 0.0) bad = "--test-data and --test-split exclude each other";
    else if (a->val_data && a->val_split_given) bad = "--validation-data and --validation-split exclude each other";
    else if (a->init_from && a->init) bad = "--init-from and --init-weights exclude each other";
    else if (a->init_from && a->restarts > 1) bad = "--init-from and --restarts exclude each other";
    else if (a->search.kind && (a->init || a->init_from)) bad = "--search starts from fresh weights: not with --init-weights or --init-from";
    else if (a->stream && (a->test_split > 0.0 || a->search.kind || a->restarts > 1))
        bad = "--stream reads each batch's rows when it trains them: not with --test-split (give --test-data), --search "
              "or --restarts";
    if (bad) {
        cli_error("train", "%s", bad);
        return CLI_USAGE;
    }
    if (!(a->test_split >= 0.0 && a->test_split < 1.0)) {
        cli_error("train", "--test-split %g is not in [0, 1)", a->test_split);
        return CLI_USAGE;
    }
    if (a->val_split_given && !(a->val_split >= 0.0 && a->val_split < 1.0)) {
        cli_error("train", "--validation-split %g is not in [0, 1)", a->val_split);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Parses the command line into a; CLI_OK, CLI_USAGE, or -1 after printing --help. */
static int parse_args(int argc, char **argv, train_args *a) {
    memset(a, 0, sizeof *a);
    a->threads = cli_default_threads();
    a->restarts = 1;
    int help = 0;
    const cli_opt opts[] = {
        CLI_DATA_ROWS(&a->data, "training data: bundled name, CSV or IDX file"),
        {"--test-data", OPT_STRING, &a->test_data, "test data, evaluated after training", "D", NULL},
        {"--test-labels", OPT_STRING, &a->test_labels, "labels of IDX test images", "L", NULL},
        {"--test-split", OPT_FLOAT, &a->test_split, "hold out a seeded fraction of D as test data", "F", NULL},
        {"--validation-split", OPT_FLOAT, &a->val_split, "the last fraction of the training rows validates", "F",
         &a->val_split_given},
        {"--validation-data", OPT_STRING, &a->val_data, "validation data, evaluated after each epoch", "D", NULL},
        {"--validation-labels", OPT_STRING, &a->val_labels, "labels of IDX validation images", "L", NULL},
        CLI_TARGET_ROWS(&a->data),
        CLI_TEXT_ROW(&a->data),
        CLI_CSV_ROWS(&a->data),
        {"--one-hot", OPT_STRING, &a->data.one_hot, "one input per category of these CSV columns", "NAME[,NAME]", NULL},
        {"--epochs", OPT_INT, &a->epochs, "epochs (default: the spec's fit line, else 1)", "N", &a->epochs_given},
        {"--batch-size", OPT_STRING, &a->batch_text, "batch size, or 'all' (default: spec, else 32)", "N", NULL},
        {"--no-shuffle", OPT_FLAG, &a->no_shuffle, "keep the row order in every epoch", NULL, NULL},
        {"--stream", OPT_FLAG, &a->stream, "read the rows of a CSV or IDX file (and --test-data) as they train, one batch "
         "ahead on a thread: data larger than memory", NULL, NULL},
        {"--seed", OPT_INT, &a->seed, "seed of weights, shuffling and --test-split (default 0)", "N", NULL},
        {"--steps-per-update", OPT_INT, &a->spu, "accumulate the gradients of N batches per update", "N", &a->spu_given},
        {"--restarts", OPT_INT, &a->restarts, "train K initialisations (seeds N, N+1, ...), keep the best", "K", NULL},
        CLI_SEARCH_ROWS(&a->search),
        CLI_THREADS_ROW(&a->threads),
        {"--init-weights", OPT_STRING, &a->init, "start from these weights (resumes a saved run)", "FILE", NULL},
        {"--init-from", OPT_STRING, &a->init_from, "start from this model: layers, weights, compile settings", "MODEL", NULL},
        {"--freeze", OPT_STRING, &a->freeze, "freeze these layers (not trained: fine-tuning)", "NAME[,NAME]", NULL},
        {"--save", OPT_STRING, &a->save, "save the trained model (atomic)", "FILE", NULL},
        {"--save-weights-only", OPT_FLAG, &a->weights_only, "save without the optimizer state", NULL, NULL},
        {"--history", OPT_STRING, &a->history, "write the per-epoch history as CSV", "FILE.csv", NULL},
        {"--plot", OPT_STRING, &a->plot, "draw the learning curves as SVG", "FILE.svg", NULL},
        {"--json", OPT_FLAG, &a->json, "print JSON objects instead of the progress bar", NULL, NULL},
        {"--quiet", OPT_FLAG, &a->quiet, "print only the test line", NULL, NULL},
        {"--comm-timeout", OPT_FLOAT, &a->comm_timeout,
         "under mpirun: seconds to wait for another rank before ending the job (600)", "S", NULL},
    };
    int rc = cli_parse("train", argc, argv, 2, opts, CLI_NOPTS(opts), &a->spec, NULL, &help);
    if (help) {
        printf("%s", train_help);
        cli_print_options(opts, CLI_NOPTS(opts));
        return -1;
    }
    return rc ? rc : check_args(a);
}

/* --stream: the rows read as they train (their labels checked then). */
static int stream_open(nnc_model *m, const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err,
                       size_t n) {
    const char *norm = nnc_adapt_layer(m);
    if (norm && !ctx->cols)
        return snprintf(err, n, "--stream: layer '%s' adapts to every training row, which --stream never holds at once; "
                        "adapt it without --stream, then train on with --init-from MODEL --stream", norm), -1;
    if (nnc_model_text_vectorizer(m)) return snprintf(err, n, "--stream reads numbers, and this model reads text"), -1;
    return cli_stream_open(o, ctx, d, err, n) || cli_apply_steps(m, d, err, n);
}

/* A second file read as the training data was (test or validation data): its columns by
 * the training data's names, its labels checked. */
static int load_other(const train_args *a, nnc_model *m, const cli_data *train, const char *data, const char *labels,
                      const char *role, cli_data *out, char *err, size_t n) {
    cli_data_opts o = a->data;
    o.data = data;
    o.labels = labels;
    cli_load_ctx ctx = {"train", role, m, train->columns, train->n_columns, 0};
    if (train->columns) o.label_column = NULL, o.targets_given = 0, o.n_target_args = 0, o.one_hot = NULL; /* the columns say it */
    if (a->stream && data == a->test_data) /* the test file streams too */
        return stream_open(m, &o, &ctx, out, err, n) ||
               (out->steps != train->steps && (snprintf(err, n, "%s: rows of %d steps, but the training data's are %d",
                                                        out->source, out->steps, train->steps), 1))
                   ? -1
                   : 0;
    if (cli_load(&o, &ctx, out, err, n) || cli_check_targets(m, out, err, n)) return -1;
    if (out->steps != train->steps) /* one fit runs at one length: its validation and test too */
        return snprintf(err, n, "%s: rows of %d steps, but the training data's are %d: the model runs at one "
                        "length while it trains", out->source, out->steps, train->steps), -1;
    return 0;
}

/* The model of the spec, seeded and threaded, and the training, test and validation data
 * checked against it; a CSV's columns recorded in the model. Returns 0, or -1 with the
 * message in err. */
/* --freeze a,b: each named layer frozen (the model compiled again, as Keras asks); 0, or -1
 * with the message in err. */
static int freeze_layers(nnc_model *m, const char *list, char *err, size_t n) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (nnc_layer_set_trainable(m, tok, false)) return snprintf(err, n, "--freeze: %s", nnc_last_error(m)), -1;
    return 0;
}

/* The model: the spec's, or --init-from's with the spec's settings on it (its notes printed by
 * the caller once everything has loaded). */
static nnc_model *load_model(const train_args *a, nnc_model **from, char *err, size_t n) {
    nnc_error e = {""};
    nnc_model *m = NULL;
    if (!a->init_from) m = nnc_model_from_spec(a->spec, &e);
    else if ((*from = nnc_model_load(a->init_from, &e)) && a->spec) m = nnc_model_from_spec_on(a->spec, *from, &e);
    else if (*from) m = *from, *from = NULL;
    if (!m) snprintf(err, n, "%s", e.message);
    if (m && a->freeze && freeze_layers(m, a->freeze, err, n)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static int load_all(const train_args *a, nnc_model *m, cli_data *train, cli_data *test, cli_data *val, char *err,
                    size_t n) {
    cli_data all = {0};
    /* --init-from: the weights are the model's, so the seed only splits the data */
    if ((!a->init_from && nnc_model_set_seed(m, (uint64_t)a->seed)) || nnc_model_set_threads(m, a->threads))
        return snprintf(err, n, "%s", nnc_last_error(m)), -1;
    cli_load_ctx ctx = {"train", "train", m, NULL, 0, 0};
    if (a->init_from) ctx.cols = nnc_model_columns(m, &ctx.n_cols); /* a CSV read as the model was trained */
    if (a->stream ? stream_open(m, &a->data, &ctx, &all, err, n)
                  : cli_load(&a->data, &ctx, &all, err, n) || cli_apply_steps(m, &all, err, n) ||
                        cli_check_targets(m, &all, err, n)) {
        cli_data_free(&all);
        return -1;
    }
    if (all.columns && nnc_model_set_columns(m, all.columns, all.n_columns)) {
        snprintf(err, n, "%s: %s", all.source, nnc_last_error(m));
        cli_data_free(&all);
        return -1;
    }
    if (a->test_split > 0.0) {
        int rc = cli_split(&all, a->test_split, (uint64_t)a->seed, train, test, err, n);
        cli_data_free(&all);
        if (rc) return rc;
    } else {
        *train = all;
    }
    if (a->val_data && load_other(a, m, train, a->val_data, a->val_labels, "test", val, err, n)) return -1;
    if (a->test_split > 0.0 || (!a->test_data && !cli_has_test_part(a->data.data))) return 0;
    return load_other(a, m, train, a->test_data ? a->test_data : a->data.data, a->test_data ? a->test_labels : a->data.labels,
                      "test", test, err, n);
}

/* The fraction of the training rows that fit will hold out for validation. */
static double val_fraction(const train_args *a, nnc_model *m, const cli_data *val) {
    if (val->n) return 0.0;
    if (a->val_split_given) return a->val_split;
    nnc_fit_opts fo = nnc_fit_opts_default();
    return nnc_model_fit_defaults(m, &fo) ? 0.0 : (double)fo.validation_split;
}

/* Text data: the vectorizer adapted on the training rows (not those that validate; --init-from
 * keeps the model's vocabulary), then every part vectorized. */
static int text_inputs(const train_args *a, nnc_model *m, cli_data *train, cli_data *test, cli_data *val, char *err,
                       size_t n) {
    if (!nnc_model_text_vectorizer(m)) return 0;
    double f = val_fraction(a, m, val);
    size_t rows = f > 0.0 ? (size_t)ceil((double)train->n * (1.0 - f)) : train->n;
    if (!a->init_from && cli_text_adapt(m, train, rows, err, n)) return -1;
    return cli_text_vectorize(m, train, err, n) || (val->n && cli_text_vectorize(m, val, err, n)) ||
                   (test->n && cli_text_vectorize(m, test, err, n))
               ? -1
               : 0;
}

static int load(const train_args *a, nnc_model **mp, cli_data *train, cli_data *test, cli_data *val, char *err,
                size_t n) {
    nnc_model *from = NULL;
    *mp = load_model(a, &from, err, n);
    int rc = *mp ? 0 : -1;
    if (rc == 0) rc = load_all(a, *mp, train, test, val, err, n);
    if (rc == 0) rc = text_inputs(a, *mp, train, test, val, err, n);
    if (rc == 0) cli_print_notes("train", from ? from : *mp); /* the loaded file's, once all has loaded */
    nnc_model_free(from);
    return rc;
}

/* Adapts, resumes and trains. Returns 0, or -1 (CLI_INTERRUPTED: Ctrl-C) with the message in err. */
static int run(const train_args *a, nnc_model *m, const cli_data *train, const cli_data *val, train_ctx *tc,
               nnc_fit_opts *fo, nnc_history **hist, char *err, size_t n) {
    *fo = nnc_fit_opts_default();
    if (nnc_model_fit_defaults(m, fo)) return snprintf(err, n, "%s", nnc_last_error(m)), -1;
    if (a->epochs_given) fo->epochs = a->epochs;
    if (a->batch) fo->batch_size = a->batch;
    if (a->batch_text && !strcmp(a->batch_text, "all"))
        fo->batch_size = (int)(train->n < (1u << 30) ? train->n : (1u << 30));
    if (a->val_split_given) fo->validation_split = (float)a->val_split;
    if (val->n) {
        fo->validation_x = val->x;
        fo->validation_y = val->y;
        fo->validation_n = val->n;
        fo->validation_split = 0.0f;
    }
    if (a->no_shuffle) fo->shuffle = false;
    if (a->spu_given) fo->steps_per_update = a->spu;
    fo->verbose = a->json || a->quiet ? 0 : 1;
    if (a->json || a->quiet) fo->out = stderr; /* messages of the spec's callbacks (verbose=1) */
    fo->on_epoch_end = on_epoch;
    fo->user = tc;
    /* Normalization layers learn their statistics from the rows that train (not validation). */
    size_t adapt_rows = fo->validation_split > 0.0f
                            ? (size_t)ceil((double)train->n * (1.0 - (double)fo->validation_split))
                            : train->n;
    if (adapt_rows && !a->init_from && train->x && nnc_adapt(m, train->x, adapt_rows))
        return snprintf(err, n, "%s: %s", train->source, nnc_last_error(m)), -1;
    if (a->init) {
        int resumed = 0;
        if (nnc_model_load_weights(m, a->init, &resumed))
            return snprintf(err, n, "--init-weights %s", nnc_last_error(m)), -1;
        cli_print_notes("train", m); /* what reading the weights noted (NaN values) */
        if (resumed >= fo->epochs)
            return snprintf(err, n, "%s has already trained %d epochs; ask for more with --epochs", a->init, resumed), -1;
        fo->initial_epoch = resumed;
    }
    if (a->restarts > 1 && a->init) return snprintf(err, n, "--restarts and --init-weights exclude each other"), -1;
    /* the per-epoch history grows with the epochs: kept only when something reads it */
    nnc_history **h = a->history || a->plot || (a->search.kind && a->json) ? hist : NULL;
    fo->interrupt = cli_interrupt_begin();
    nnc_search_opts so;
    if (a->search.kind && cli_search_opts(&a->search, a->seed, a->restarts, &so, err, n)) return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nnc_status st = a->search.kind ? nnc_fit_search(m, train->x, train->y, train->n, fo, &so, h)
                    : a->restarts > 1
                        ? nnc_fit_restarts(m, train->x, train->y, train->n, fo, a->restarts, (uint64_t)a->seed, h)
                    : train->stream.read ? nnc_fit_source(m, &train->stream, fo, h)
                                         : nnc_fit(m, train->x, train->y, train->n, fo, h);
    cli_interrupt_end();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (a->search.kind) /* the gradient epochs inside a search report no time of their own */
        tc->train_seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (a->search.kind && a->json && so.kind != NNC_SEARCH_RESTARTS) /* one object per step or generation */
        for (int k = 0; k < nnc_history_epochs(*hist); k++) {
            nnc_logs head = cli_one_log(so.kind == NNC_SEARCH_ANNEAL ? "step" : "generation", k + 1);
            const nnc_logs *parts[2] = {&head, nnc_history_logs(*hist, k)};
            cli_print_json(2, parts, NULL);
        }
    if (st == NNC_ERR_INTERRUPTED) return cli_interrupt_message(m, fo, err, n);
    if (st) return snprintf(err, n, "%s%s", nnc_last_error(m), a->save ? " (nothing was saved)" : ""), -1;
    return 0;
}

/* The test line (or JSON), the saved model, the history and the plot. */
static int report(const train_args *a, nnc_model *m, const cli_data *test, const nnc_fit_opts *fo,
                  const nnc_history *hist, const train_ctx *tc, char *err, size_t n) {
    nnc_logs tl = {0};
    nnc_error e = {""};
    /* Data parallel: every rank evaluates its share of the test rows; rank 0 writes and prints. */
    if (test->n && (test->stream.read ? nnc_evaluate_source(m, &test->stream, fo->batch_size, &tl)
                                      : nnc_evaluate(m, test->x, test->y, test->n, fo->batch_size, &tl)) != NNC_OK)
        return snprintf(err, n, "%s: %s", test->source, nnc_last_error(m)), -1;
    if (nnc_comm_rank(nnc_model_comm(m))) return 0;
    if (a->save) {
        nnc_save_opts so = nnc_save_opts_default();
        so.include_optimizer = !a->weights_only;
        if (nnc_model_save(m, a->save, &so) != NNC_OK) return snprintf(err, n, "%s", nnc_last_error(m)), -1;
    }
    if (a->history && nnc_write_history_csv(hist, a->history, err, n)) return -1;
    if (a->plot) {
        char title[512];
        snprintf(title, sizeof title, "%s on %s", a->spec ? a->spec : a->init_from, a->data.data);
        if (nnc_write_history_svg(hist, title, a->plot, err, n)) return -1;
    }
    (void)e;
    if (a->json) {
        nnc_logs secs = cli_one_log("train_seconds", tc->train_seconds);
        const nnc_logs *parts[2] = {test->n ? &tl : NULL, &secs};
        const char *prefixes[2] = {"test_", NULL};
        cli_print_json(2, parts, prefixes);
    } else if (test->n) {
        cli_print_logs(&tl, "test_");
    }
    return 0;
}

/* Data parallel: whether some rank failed; rank 0 prints the lowest failing rank's message
 * once. Alone: prints err when failed. */
static int any_failed(nnc_comm *comm, int failed, char *err, size_t n) {
    if (!comm) {
        if (failed) cli_error("train", "%s", err);
        return failed;
    }
    int who = nnc_comm_agree(comm, failed, err, n);
    if (who > 0 && nnc_comm_rank(comm) == 0) cli_error("train", "rank %d: %s", who, err);
    else if (who == 0 && nnc_comm_rank(comm) == 0) cli_error("train", "%s", err);
    return who >= 0;
}

/* The training of one process, or of one rank of an mpirun job (comm). */
static int train_main(const train_args *a, nnc_comm *comm, int errfd) {
    char err[1536] = "";
    nnc_error e = {""};
    const int rank = nnc_comm_rank(comm);
    /* Outputs are checked first so that a long run cannot fail at its very end; rank 0 alone
     * writes them. */
    const char *outs[3] = {a->save, a->history, a->plot};
    int failed = 0;
    for (int i = 0; i < 3 && !rank && !failed; i++)
        if (outs[i] && nnc_file_check_writable(outs[i], &e)) failed = 1, snprintf(err, sizeof err, "%s", e.message);
    if (any_failed(comm, failed, err, sizeof err)) return CLI_FAIL;
    nnc_model *m = NULL;
    cli_data train = {0}, test = {0}, val = {0};
    nnc_history *hist = NULL;
    nnc_fit_opts fo;
    train_ctx tc = {a->json, 0.0};
    int rc = CLI_FAIL, ran = 0;
    failed = load(a, &m, &train, &test, &val, err, sizeof err) != 0;
    if (!failed && comm) {
        nnc_model_set_comm(m, comm);
        if (a->comm_timeout > 0.0) nnc_comm_set_timeout(comm, a->comm_timeout);
    }
    if (!any_failed(comm, failed, err, sizeof err)) {
        failed = (ran = run(a, m, &train, &val, &tc, &fo, &hist, err, sizeof err)) != 0;
        if (!failed) failed = report(a, m, &test, &fo, hist, &tc, err, sizeof err) != 0;
        /* A rank that waited in vain for another: the job cannot end in order, every rank
         * that is left says why and MPI ends them all. */
        if (failed && comm && strstr(err, "no answer from the other ranks")) {
            dprintf(errfd, "nnc train: rank %d: %s\n", rank, err);
            nnc_comm_abort(comm, CLI_FAIL);
        }
        if (!any_failed(comm, failed, err, sizeof err)) rc = CLI_OK;
    }
    if (ran == CLI_INTERRUPTED) rc = CLI_INTERRUPTED;
    nnc_history_free(hist);
    cli_data_free(&train);
    cli_data_free(&test);
    cli_data_free(&val);
    nnc_model_free(m);
    return rc;
}

int cmd_train(int argc, char **argv) {
    nnc_comm *comm = NULL;
    int errfd = 2, rank = 0;
    if (nnc_launched_ranks() > 1) { /* under mpirun: one rank of a data-parallel job */
        nnc_error e = {""};
        if (!(comm = nnc_comm_world(&argc, &argv, &e))) {
            cli_error("train", "%s", e.message);
            return CLI_FAIL;
        }
        rank = nnc_comm_rank(comm);
    }
    if (rank) { /* rank 0 alone prints: the others' messages reach it through nnc_comm_agree */
        errfd = dup(2);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) errfd = -1;
    }
    train_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) rc = rc < 0 ? CLI_OK : rc;
    else rc = train_main(&a, comm, errfd >= 0 ? errfd : 2);
    nnc_comm_free(comm);
    return rc;
}
