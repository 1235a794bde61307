/* The commands eval, predict and summary (DESIGN §7), and the output helpers every command
 * shares. Output follows Keras: "loss: ... - accuracy: ..."; --json prints one JSON object per
 * result and nothing else on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/* Small products run on one thread anyway and results do not depend on the count, so more
 * threads only ever help the large ones. */
int cli_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

void cli_print_logs(const nnc_logs *l, const char *prefix) {
    double loss = nnc_logs_get(l, "loss");
    printf("%sloss: %.4f", prefix, loss);
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->names[i], "loss")) printf(" - %s%s: %.4f", prefix, l->names[i], l->values[i]);
    printf("\n");
}

nnc_logs cli_one_log(const char *key, double v) {
    nnc_logs l;
    memset(&l, 0, sizeof l);
    l.count = 1;
    snprintf(l.names[0], sizeof l.names[0], "%s", key);
    l.values[0] = v;
    return l;
}

void cli_print_json(int n, const nnc_logs *const *logs, const char *const *prefixes) {
    char buf[4096];
    int first = 1;
    putchar('{');
    for (int i = 0; i < n; i++) {
        if (!logs[i] || logs[i]->count == 0) continue;
        nnc_logs_json(logs[i], prefixes ? prefixes[i] : NULL, buf, sizeof buf);
        printf("%s%s", first ? "" : ",", buf);
        first = 0;
    }
    printf("}\n");
    fflush(stdout);
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

/* ---- eval --------------------------------------------------------------------------------- */

int cmd_eval(int argc, char **argv) {
    const char *path = NULL;
    cli_data_opts dopt = {0};
    int threads = cli_default_threads(), json = 0, help = 0;
    const cli_opt opts[] = {
        CLI_DATA_ROWS(&dopt, "data: bundled name (its test part), CSV or IDX file"),
        CLI_TARGET_ROWS(&dopt),
        CLI_THREADS_ROW(&threads),
        {"--json", OPT_FLAG, &json, "print one JSON object", NULL, NULL},
    };
    int rc = cli_parse("eval", argc, argv, 2, opts, CLI_NOPTS(opts), &path, "MODEL", &help);
    if (help) {
        printf("Usage: nnc eval MODEL --data D [options]\n\nLoss and metrics of a saved model on D.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!dopt.data) {
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
    nnc_logs l;
    rc = CLI_FAIL;
    if (cli_load(&dopt, "test", nnc_input_size(m), 0, &d, err, sizeof err) ||
        cli_check_targets(m, &d, err, sizeof err)) {
        cli_error("eval", "%s", err);
    } else if (nnc_evaluate(m, d.x, d.y, d.n, 32, &l) != NNC_OK) {
        cli_error("eval", "%s: %s", d.source, nnc_last_error(m));
    } else {
        const nnc_logs *parts[1] = {&l};
        if (json) cli_print_json(1, parts, NULL);
        else cli_print_logs(&l, "");
        rc = CLI_OK;
    }
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}

/* ---- predict ------------------------------------------------------------------------------ */

/* A growing text buffer for the predictions. */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    char line[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->oom || n < 0) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1 << 16;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

/* Writes the predictions as CSV (DESIGN §7): a softmax classifier gives the class and its
 * probabilities, one sigmoid output the 0/1 decision and its probability, several sigmoid
 * outputs a decision and a probability each, regression the values. */
static void predictions_csv(const nnc_model *m, float *out, size_t n, text *t) {
    size_t k = nnc_output_size(m);
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss *L = &co.loss;
    int softmax = L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY;
    int binary = L->kind == NNC_LOSS_BINARY_CROSSENTROPY;
    if (softmax && L->from_logits) nnc_softmax_rows(out, n, k);
    if (binary && L->from_logits) nnc_sigmoid(out, n * k);
    if (softmax) {
        put(t, "predicted");
        for (size_t j = 0; j < k; j++) put(t, ",prob_%zu", j);
    } else if (binary && k == 1) {
        put(t, "predicted,prob_1");
    } else if (binary) {
        for (size_t j = 0; j < k; j++) put(t, "%spred_%zu", j ? "," : "", j);
        for (size_t j = 0; j < k; j++) put(t, ",prob_%zu", j);
    } else {
        for (size_t j = 0; j < k; j++) put(t, "%sy_%zu", j ? "," : "", j);
    }
    put(t, "\n");
    for (size_t r = 0; r < n; r++) {
        const float *p = out + r * k;
        if (softmax) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            put(t, "%zu", best);
            for (size_t j = 0; j < k; j++) put(t, ",%.7g", (double)p[j]);
        } else if (binary) {
            for (size_t j = 0; j < k; j++) put(t, "%s%d", j ? "," : "", p[j] > 0.5f);
            for (size_t j = 0; j < k; j++) put(t, ",%.7g", (double)p[j]);
        } else {
            for (size_t j = 0; j < k; j++) put(t, "%s%.7g", j ? "," : "", (double)p[j]);
        }
        put(t, "\n");
    }
}

int cmd_predict(int argc, char **argv) {
    const char *path = NULL, *output = NULL;
    cli_data_opts dopt = {0};
    int threads = cli_default_threads(), help = 0;
    const cli_opt opts[] = {
        CLI_DATA_ROWS(&dopt, "data: bundled name (its test part), CSV or IDX file"),
        {"--output", OPT_STRING, &output, "write the CSV here (atomic) instead of stdout", "FILE.csv", NULL},
        CLI_THREADS_ROW(&threads),
    };
    int rc = cli_parse("predict", argc, argv, 2, opts, CLI_NOPTS(opts), &path, "MODEL", &help);
    if (help) {
        printf("Usage: nnc predict MODEL --data D [--output FILE.csv]\n\n"
               "One CSV row per example: the class and probabilities (classifiers) or values.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!dopt.data) {
        cli_error("predict", "missing --data D");
        return CLI_USAGE;
    }
    if (threads < 1) {
        cli_error("predict", "--threads must be at least 1");
        return CLI_USAGE;
    }
    char err[1536];
    nnc_error e = {""};
    if (output && nnc_file_check_writable(output, &e)) {
        cli_error("predict", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model *m = nnc_model_load(path, &e);
    if (!m) {
        cli_error("predict", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model_set_threads(m, threads);
    cli_data d = {0};
    dopt.targets = (int)nnc_target_size(m);
    float *out = NULL;
    text t = {0};
    rc = CLI_FAIL;
    if (cli_load(&dopt, "test", nnc_input_size(m), 1, &d, err, sizeof err)) {
        cli_error("predict", "%s", err);
    } else if (!(out = malloc(d.n * nnc_output_size(m) * sizeof(float) + 1))) {
        cli_error("predict", "out of memory");
    } else if (nnc_predict(m, d.x, d.n, out) != NNC_OK) {
        cli_error("predict", "%s: %s", d.source, nnc_last_error(m));
    } else {
        predictions_csv(m, out, d.n, &t);
        if (t.oom) cli_error("predict", "out of memory");
        else if (!output) {
            fputs(t.buf, stdout);
            rc = CLI_OK;
        } else if (nnc_file_write_atomic(output, t.buf, t.len, &e)) {
            cli_error("predict", "%s", e.message);
        } else {
            rc = CLI_OK;
        }
    }
    free(t.buf);
    free(out);
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}

/* ---- summary ------------------------------------------------------------------------------ */

int cmd_summary(int argc, char **argv) {
    const char *path = NULL;
    int help = 0, json = 0;
    const cli_opt opts[] = {{"--json", OPT_FLAG, &json, "print one JSON object instead of the table", NULL, NULL}};
    int rc = cli_parse("summary", argc, argv, 2, opts, CLI_NOPTS(opts), &path, "SPEC or MODEL", &help);
    if (help) {
        printf("Usage: nnc summary SPEC|MODEL [--json]\n\nKeras's summary table of a spec file or a saved model.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    nnc_error e = {""};
    nnc_model *m = load_model_or_spec(path, &e);
    if (!m) {
        cli_error("summary", "%s", e.message);
        return CLI_FAIL;
    }
    rc = (json ? nnc_summary_json(m, stdout) : nnc_summary(m, stdout)) ? CLI_FAIL : CLI_OK;
    if (rc) cli_error("summary", "%s: %s", path, nnc_last_error(m));
    nnc_model_free(m);
    return rc;
}
