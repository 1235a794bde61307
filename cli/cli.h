/* Shared pieces of the nnc command line: option parsing, data loading with the checks of
 * DESIGN §7, and output helpers. The tool is a client of include/nnc.h alone. The commands are
 * in train.c, commands.c and gradcheck.c. */
#ifndef NNC_CLI_H
#define NNC_CLI_H
#include <stddef.h>
#include <stdio.h>
#include "nnc.h"

/* Exit statuses: 0 success, 1 a run that failed (bad data, bad file, divergence), 2 a command
 * line that cannot be run (unknown flag, missing value), 130 (128 + SIGINT, as shells report
 * Ctrl-C) training stopped by Ctrl-C. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* One error line on stderr: "nnc <command>: <message>". */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options ------------------------------------------------------------------------------ */

typedef enum { OPT_FLAG, OPT_STRING, OPT_INT, OPT_FLOAT } cli_opt_kind;

typedef struct {
    const char *name; /* "--epochs" */
    cli_opt_kind kind;
    void *out;        /* int* (flag, int), const char** (string), double* (float) */
    const char *help; /* one line for --help; NULL hides it */
    const char *meta; /* value placeholder in --help ("N") */
    int *given;       /* optional: set to 1 when the option is on the command line, so that no
                       * value has to stand for "not given" */
} cli_opt;

#define CLI_NOPTS(a) ((int)(sizeof(a) / sizeof *(a)))

/* Parses argv[start..] into opts and up to one positional argument. Returns CLI_OK, or
 * CLI_USAGE after printing the error and a hint. *help is set by -h/--help. */
int cli_parse(const char *cmd, int argc, char **argv, int start, const cli_opt *opts, int nopts,
              const char **positional, const char *positional_name, int *help);
void cli_print_options(const cli_opt *opts, int nopts);

/* --threads' default: the CPUs online (at most 8). */
int cli_default_threads(void);

/* ---- data --------------------------------------------------------------------------------- */

typedef struct {
    const char *data, *labels;   /* --data D, --labels L (IDX) */
    const char *label_column;    /* --label-column NAME */
    int targets;                 /* --targets N, 0: the default */
    int targets_given;
} cli_data_opts;

/* The option rows every command that reads data shares: where the data is, and which of its
 * columns are the targets. */
#define CLI_DATA_ROWS(o, what)                                                             \
    {"--data", OPT_STRING, &(o)->data, what, "D", NULL},                                   \
    {"--labels", OPT_STRING, &(o)->labels, "labels of IDX images", "L", NULL}
#define CLI_TARGET_ROWS(o)                                                                 \
    {"--label-column", OPT_STRING, &(o)->label_column, "the CSV column holding the label", "NAME", NULL}, \
    {"--targets", OPT_INT, &(o)->targets, "the last N CSV columns are the targets", "N", &(o)->targets_given}
#define CLI_THREADS_ROW(t)                                                                 \
    {"--threads", OPT_INT, (t), "threads (default: CPUs online; results are identical for any count)", "N", NULL}

typedef struct {
    float *x, *y;                /* [n, features], [n, targets] */
    size_t n, features, targets;
    char source[1024];           /* what messages name: the file or the bundled dataset */
    char label_source[1024];     /* where the labels came from (the IDX labels file) */
    int csv;                     /* rows came from a CSV file: row r is on line r + 2 */
    int label_col[64];           /* CSV: 1-based column of each target */
    char label_name[64][64];
} cli_data;

/* Loads D as the given role: "train" (a bundled set's training part), "test" (its test part,
 * when it has one, else the same as train). want_features > 0 checks the feature count.
 * allow_no_labels: a CSV with exactly want_features columns is features only (predict).
 * Returns 0, or -1 with the message in err. */
int cli_load(const cli_data_opts *o, const char *role, size_t want_features, int allow_no_labels,
             cli_data *d, char *err, size_t errlen);
/* Whether bundled dataset D has its own test part (fashion_mnist). */
int cli_has_test_part(const char *data);
void cli_data_free(cli_data *d);
/* Checks targets against the compiled model: their count, and labels as DESIGN §7 says
 * (integral classes in range, 0/1 for binary cross-entropy, one-hot for categorical). */
int cli_check_targets(const nnc_model *m, const cli_data *d, char *err, size_t errlen);
/* A seeded random test_fraction of the rows to test, the rest to train (order kept). */
int cli_split(cli_data *all, double test_fraction, uint64_t seed, cli_data *train, cli_data *test,
              char *err, size_t errlen);

/* ---- output ------------------------------------------------------------------------------- */

/* "key: 0.1234 - key: ..." with loss first, as Keras's evaluate prints. */
void cli_print_logs(const nnc_logs *l, const char *prefix);
/* One JSON object on stdout made of the members of n logs, each with its key prefix (NULL:
 * none); empty logs add nothing. */
void cli_print_json(int n, const nnc_logs *const *logs, const char *const *prefixes);
/* Logs holding one value, for the members a JSON line adds ("epoch", "seconds"). */
nnc_logs cli_one_log(const char *key, double v);

/* ---- Ctrl-C (interrupt.c) ------------------------------------------------------------------ */

/* Catches SIGINT until cli_interrupt_end; the flag to give nnc_fit_opts.interrupt. */
const volatile sig_atomic_t *cli_interrupt_begin(void);
/* SIGINT back to what it was. */
void cli_interrupt_end(void);
/* After fit returned NNC_ERR_INTERRUPTED: the line to print (the epoch it stopped in, and how
 * to resume when fo holds a backup_and_restore callback) in err; returns CLI_INTERRUPTED. */
int cli_interrupt_message(const nnc_model *m, const nnc_fit_opts *fo, char *err, size_t n);

/* ---- commands ----------------------------------------------------------------------------- */

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);

#endif
