/* nnc: the command line. Dispatches to the commands and parses options; every failure is one
 * line on stderr naming the file, line, layer or shape at fault, with a non-zero exit. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "nnc %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The closest option name, for "did you mean" (common prefix length as the measure). */
static const char *closest(const char *arg, const cli_opt *opts, int nopts) {
    const char *best = NULL;
    size_t best_len = 3;
    for (int i = 0; i < nopts; i++) {
        size_t k = 0;
        while (arg[k] && arg[k] == opts[i].name[k]) k++;
        if (k > best_len) best_len = k, best = opts[i].name;
    }
    return best;
}

int cli_parse(const char *cmd, int argc, char **argv, int start, const cli_opt *opts, int nopts,
              const char **positional, const char *positional_name, int *help) {
    *help = 0;
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            return CLI_OK;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (positional && !*positional) {
                *positional = a;
                continue;
            }
            cli_error(cmd, "unexpected argument '%s'\nTry 'nnc %s --help'.", a, cmd);
            return CLI_USAGE;
        }
        /* --name=value is accepted as well as --name value */
        char name[64];
        const char *val = NULL, *eq = strchr(a, '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (eq) val = eq + 1;
        const cli_opt *o = NULL;
        for (int k = 0; k < nopts && !o; k++)
            if (!strcmp(opts[k].name, name)) o = &opts[k];
        if (!o) {
            const char *near = closest(name, opts, nopts);
            if (near) cli_error(cmd, "unknown option '%s' (did you mean '%s'?)\nTry 'nnc %s --help'.", name, near, cmd);
            else cli_error(cmd, "unknown option '%s'\nTry 'nnc %s --help'.", name, cmd);
            return CLI_USAGE;
        }
        if (o->given && o->kind != OPT_LIST) *o->given = 1;
        if (o->kind == OPT_FLAG) {
            if (val) {
                cli_error(cmd, "option '%s' takes no value", name);
                return CLI_USAGE;
            }
            *(int *)o->out = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                cli_error(cmd, "option '%s' needs a value (%s)\nTry 'nnc %s --help'.", name,
                          o->meta ? o->meta : "a value", cmd);
                return CLI_USAGE;
            }
            val = argv[++i];
        }
        char *end;
        errno = 0;
        if (o->kind == OPT_LIST) {
            if (!*val || *o->given >= CLI_MAX_LIST) {
                cli_error(cmd, "option '%s': %s", name, *val ? "given too many times" : "needs a non-empty value");
                return CLI_USAGE;
            }
            ((const char **)o->out)[(*o->given)++] = val;
        } else if (o->kind == OPT_STRING) {
            if (!*val) {
                cli_error(cmd, "option '%s' needs a non-empty value", name);
                return CLI_USAGE;
            }
            *(const char **)o->out = val;
        } else if (o->kind == OPT_INT) {
            long v = strtol(val, &end, 10);
            if (!*val || *end || errno || v < -2147483647L || v > 2147483647L) {
                cli_error(cmd, "option '%s': '%s' is not an integer", name, val);
                return CLI_USAGE;
            }
            *(int *)o->out = (int)v;
        } else {
            double v = strtod(val, &end);
            if (!*val || *end || errno || !isfinite(v)) {
                cli_error(cmd, "option '%s': '%s' is not a number", name, val);
                return CLI_USAGE;
            }
            *(double *)o->out = v;
        }
    }
    if (positional && !*positional && positional_name) {
        cli_error(cmd, "missing %s\nTry 'nnc %s --help'.", positional_name, cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

void cli_print_options(const cli_opt *opts, int nopts) {
    for (int i = 0; i < nopts; i++) {
        if (!opts[i].help) continue;
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", opts[i].name, opts[i].meta ? " " : "",
                 opts[i].meta ? opts[i].meta : "");
        printf("  %-26s %s\n", left, opts[i].help);
    }
}

static void usage(FILE *f) {
    fprintf(f,
            "nnc %s: neural networks in C, with Keras's workflow\n\n"
            "Usage:\n"
            "  nnc train SPEC --data D [options]   build a model from a spec file, train, test, save\n"
            "  nnc eval MODEL --data D [options]    loss and metrics of a saved model\n"
            "  nnc predict MODEL --data D [--output FILE.csv]\n"
            "                                       one CSV row of predictions per example\n"
            "  nnc summary SPEC|MODEL [--json]      Keras's summary table\n"
            "  nnc gradcheck SPEC --data D          backprop against numerical derivatives\n"
            "  nnc convert IN OUT [--quantize int8 --calibrate D | --quantize bf16]\n"
            "                                       a model file to another format (.onnx, ...), int8, bf16\n"
            "  nnc --version | --help | COMMAND --help\n\n"
            "D is a bundled dataset (digits, digits_01, digits_multilabel, iris, wine,\n"
            "breast_cancer, diabetes, fashion_mnist), a CSV file (.csv or .csv.gz, a header row,\n"
            "the label last) or an IDX file (-ubyte or .idx, optionally .gz) with --labels.\n",
            nnc_version());
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(c, "--version") || !strcmp(c, "-V")) {
        printf("nnc %s\nkernels: %s\n", nnc_version(), nnc_cpu_kernels());
        return CLI_OK;
    }
    if (nnc_launched_ranks() > 1 && !nnc_mpi_built()) {
        fprintf(stderr, "nnc: started as one of %d ranks (mpirun), but this nnc was built without MPI: "
                "rebuild it with cmake -DNNC_MPI=ON\n", nnc_launched_ranks());
        return CLI_FAIL;
    }
    if (nnc_launched_ranks() > 1 && strcmp(c, "train")) {
        /* N copies of one evaluation or prediction would print N times and write one file
         * from N processes: only training is data-parallel. Rank 0 alone says so. */
        const char *r = getenv("OMPI_COMM_WORLD_RANK");
        if (!r) r = getenv("PMI_RANK");
        if (!r || !strcmp(r, "0"))
            fprintf(stderr, "nnc %s: started as one of %d ranks (mpirun), but only 'nnc train' runs on several "
                    "processes: run 'nnc %s' without mpirun\n", c, nnc_launched_ranks(), c);
        return CLI_FAIL;
    }
    if (!strcmp(c, "train")) return cmd_train(argc, argv);
    if (!strcmp(c, "eval") || !strcmp(c, "evaluate")) return cmd_eval(argc, argv);
    if (!strcmp(c, "predict")) return cmd_predict(argc, argv);
    if (!strcmp(c, "summary")) return cmd_summary(argc, argv);
    if (!strcmp(c, "gradcheck")) return cmd_gradcheck(argc, argv);
    if (!strcmp(c, "convert")) return cmd_convert(argc, argv);
    fprintf(stderr, "nnc: unknown command '%s' (train, eval, predict, summary, gradcheck, convert)\nTry 'nnc --help'.\n", c);
    return CLI_USAGE;
}
