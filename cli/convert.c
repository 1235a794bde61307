/* The command convert: a model file to another format, or to int8. Both ends are the library's:
 * the input is read by nnc_model_load (which tells the format from the file's first bytes) and
 * the output written by nnc_model_save (which goes by the extension: .onnx, .keras, .h5, else
 * safetensors), so the tool knows no format itself. With --quantize int8 the model's Dense and
 * Conv layers are quantized in between (nnc_quantize_int8), calibrated on rows of --calibrate,
 * loaded as train loads its data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define DEFAULT_CALIBRATION_ROWS 2000

static void convert_help(void) {
    printf("Usage: nnc convert IN OUT [--quantize int8 --calibrate D [--calibrate-rows N] | --quantize bf16]\n\n"
           "Reads the model file IN (nnc's safetensors, or Keras's .keras / .h5 where this nnc\n"
           "reads them) and writes it as OUT, in the format of OUT's extension: .onnx (an\n"
           "inference graph, opset 17), .keras, .h5 or .hdf5, else nnc's safetensors. OUT is\n"
           "written atomically: on failure an existing OUT is left as it was.\n\n"
           "  --quantize int8        run Dense and Conv layers in int8 (inference only; OUT must be\n"
           "                         nnc's model file): kernels per output channel, each layer's\n"
           "                         input scale from the calibration rows\n"
           "  --quantize bf16        run them in bfloat16 with float sums (CPUs with AVX512_BF16)\n"
           "  --calibrate D          calibration data: a bundled name (its training part), CSV or IDX\n"
           "  --labels L             labels of IDX images (not needed: calibration reads features)\n"
           "  --calibrate-rows N     rows used, spread evenly over D (default %d; 0: all)\n"
           "  --threads N            threads for the calibration passes\n",
           DEFAULT_CALIBRATION_ROWS);
}

typedef struct {
    const char *paths[2], *quantize;
    cli_data_opts data;
    int rows, threads, n;
} convert_args;

/* The value of option a (argv[*i]) as "--name value" or "--name=value"; NULL when a is not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
    const char *a = argv[*i];
    const size_t len = strlen(name);
    if (strncmp(a, name, len)) return NULL;
    if (a[len] == '=') return a + len + 1;
    if (a[len]) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, convert_args *c) {
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            convert_help();
            return -1;
        }
        if ((v = opt_value(argc, argv, &i, "--quantize", &missing))) c->quantize = v;
        else if ((v = opt_value(argc, argv, &i, "--calibrate", &missing))) c->data.data = v;
        else if ((v = opt_value(argc, argv, &i, "--labels", &missing))) c->data.labels = v;
        else if ((v = opt_value(argc, argv, &i, "--calibrate-rows", &missing)) ||
                 (v = opt_value(argc, argv, &i, "--threads", &missing))) {
            char *end;
            long n = strtol(v, &end, 10);
            const int rows = !strncmp(a, "--calibrate-rows", 16);
            if (!*v || *end || n < (rows ? 0 : 1) || n > 1000000000L) {
                cli_error("convert", "option '%s': '%s' is not a count of %s", rows ? "--calibrate-rows" : "--threads",
                          v, rows ? "rows (0: all)" : "threads (at least 1)");
                return CLI_USAGE;
            }
            *(rows ? &c->rows : &c->threads) = (int)n;
        } else if (missing) {
            cli_error("convert", "option '%s' needs a value\nTry 'nnc convert --help'.", a);
            return CLI_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("convert", "unknown option '%s'\nTry 'nnc convert --help'.", a);
            return CLI_USAGE;
        } else if (c->n == 2) {
            cli_error("convert", "unexpected argument '%s'\nTry 'nnc convert --help'.", a);
            return CLI_USAGE;
        } else {
            c->paths[c->n++] = a;
        }
    }
    const char *bad = NULL;
    if (c->n < 2) bad = c->n ? "missing OUT, the file to write" : "missing IN and OUT";
    else if (c->quantize && strcmp(c->quantize, "int8") && strcmp(c->quantize, "bf16"))
        bad = "--quantize takes int8 or bf16";
    else if (c->quantize && !strcmp(c->quantize, "int8") && !c->data.data)
        bad = "--quantize int8 needs --calibrate D, the calibration data";
    else if ((!c->quantize || strcmp(c->quantize, "int8")) && c->data.data) bad = "--calibrate is for --quantize int8";
    if (!bad) return CLI_OK;
    cli_error("convert", "%s\nTry 'nnc convert --help'.", bad);
    return CLI_USAGE;
}

/* Calibrates and quantizes m on up to rows rows of the data, spread evenly over it. */
static int quantize(nnc_model *m, const convert_args *c) {
    char err[1536];
    size_t n_cols;
    const nnc_column *cols = nnc_model_columns(m, &n_cols);
    cli_load_ctx ctx = {"convert", "train", m, cols, n_cols, 1};
    cli_data d = {0};
    if (cli_load(&c->data, &ctx, &d, err, sizeof err) || cli_apply_steps(m, &d, err, sizeof err)) {
        cli_error("convert", "%s", err);
        cli_data_free(&d);
        return CLI_FAIL;
    }
    size_t n = c->rows > 0 && (size_t)c->rows < d.n ? (size_t)c->rows : d.n;
    float *x = malloc(n * d.features * sizeof *x + 1);
    if (!x) {
        cli_error("convert", "out of memory for %zu calibration rows", n);
        cli_data_free(&d);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < n; i++) /* every (d.n / n)-th row: all of a file sorted by class */
        memcpy(x + i * d.features, d.x + (i * d.n / n) * d.features, d.features * sizeof *x);
    int rc = nnc_quantize_int8(m, x, n) == NNC_OK ? CLI_OK : CLI_FAIL;
    if (rc) cli_error("convert", "%s: %s", c->paths[0], nnc_last_error(m));
    else
        fprintf(stderr, "nnc convert: int8 layers: %d (kernels: %s), calibrated on %zu rows of %s\n",
                nnc_model_int8_layers(m), nnc_int8_kernel(), n, d.source);
    free(x);
    cli_data_free(&d);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    convert_args c = {.rows = DEFAULT_CALIBRATION_ROWS, .threads = cli_default_threads()};
    int rc = parse(argc, argv, &c);
    if (rc) return rc < 0 ? CLI_OK : rc;
    nnc_error e = {""};
    nnc_model *m = nnc_model_load(c.paths[0], &e);
    if (!m) {
        cli_error("convert", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model_set_threads(m, c.threads);
    if (c.quantize && !strcmp(c.quantize, "bf16")) {
        if (nnc_quantize_bf16(m)) {
            cli_error("convert", "%s: %s", c.paths[0], nnc_last_error(m));
            nnc_model_free(m);
            return CLI_FAIL;
        }
        fprintf(stderr, "nnc convert: bf16 layers: %d (kernels: avx512-bf16)\n", nnc_model_bf16_layers(m));
    } else if (c.quantize && (rc = quantize(m, &c))) {
        nnc_model_free(m);
        return rc;
    }
    rc = nnc_model_save(m, c.paths[1], NULL) == NNC_OK ? CLI_OK : CLI_FAIL;
    if (rc) cli_error("convert", "%s", nnc_last_error(m));
    else cli_print_notes("convert", m); /* what reading IN (a Keras file) dropped or chose */
    nnc_model_free(m);
    return rc;
}
