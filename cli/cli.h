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

typedef enum { OPT_FLAG, OPT_STRING, OPT_INT, OPT_FLOAT, OPT_LIST } cli_opt_kind;

#define CLI_MAX_LIST 8

typedef struct {
    const char *name; /* "--epochs" */
    cli_opt_kind kind;
    void *out;        /* int* (flag, int), const char** (string), double* (float), const char*[CLI_MAX_LIST]
                       * (list: each use of the option adds one, counted in *given) */
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
    const char *label_column;    /* --label-column NAME[,NAME...] (names, or 1-based numbers) */
    int targets;                 /* --targets N, 0: the default */
    int targets_given;
    const char *target_args[CLI_MAX_LIST]; /* each --targets: N, or OUTPUT=COLUMN[,COLUMN...] */
    int n_target_args;
    const char *delimiter;       /* --delimiter C (',', ';', tab, '|'); NULL: told from the file */
    const char *header;          /* --header auto|yes|no */
    int no_header;               /* --no-header */
    int drop_missing;            /* --drop-missing: rows with a missing value are left out */
    const char *one_hot;         /* --one-hot NAME[,NAME...] (train) */
    const char *ignore;          /* --ignore-column NAME[,NAME...]: neither feature nor label */
    const char *text_column;     /* --text-column NAME: raw text for the model's TextVectorization */
} cli_data_opts;

/* The option rows every command that reads data shares: where the data is, and which of its
 * columns are the targets. */
#define CLI_DATA_ROWS(o, what)                                                             \
    {"--data", OPT_STRING, &(o)->data, what, "D", NULL},                                   \
    {"--labels", OPT_STRING, &(o)->labels, "labels of IDX images", "L", NULL}
#define CLI_TARGET_ROWS(o)                                                                 \
    {"--label-column", OPT_STRING, &(o)->label_column, "the CSV column(s) holding the label, by name or number", "NAME", NULL}, \
    {"--targets", OPT_LIST, (o)->target_args, "the last N CSV columns are the targets; several outputs: OUT=COL[,COL...] once per output", "N", &(o)->n_target_args}
#define CLI_CSV_ROWS(o)                                                                    \
    {"--delimiter", OPT_STRING, &(o)->delimiter, "CSV field delimiter: ',' ';' tab '|' (default: told from line 1)", "C", NULL}, \
    {"--header", OPT_STRING, &(o)->header, "auto (default: a first row of numbers is data), yes or no", "MODE", NULL}, \
    {"--no-header", OPT_FLAG, &(o)->no_header, "the CSV has no header row (--header no)", NULL, NULL}, \
    {"--drop-missing", OPT_FLAG, &(o)->drop_missing, "leave out rows with a missing value (empty, NA, ?)", NULL, NULL}, \
    {"--ignore-column", OPT_STRING, &(o)->ignore, "CSV column(s) that are neither features nor labels (an ID)", "NAME", NULL}
#define CLI_TEXT_ROW(o)                                                                    \
    {"--text-column", OPT_STRING, &(o)->text_column, "the CSV column of raw text, for a model whose first line is text_vectorization (default: the only text column)", "NAME", NULL}
#define CLI_THREADS_ROW(t)                                                                 \
    {"--threads", OPT_INT, (t), "threads (default: CPUs online; results are identical for any count)", "N", NULL}

/* nnc train --search anneal|genetic|restarts and its settings (cli/search.c). */
typedef struct {
    const char *kind, *cooling, *crossover;
    int steps, population, generations, elitism, tournament, refine;
    int steps_given, population_given, generations_given, elitism_given, tournament_given, refine_given;
    double t_start, t_end, step_scale, mutation_rate, mutation_scale, blend_alpha;
    int t_start_given, t_end_given, step_scale_given, rate_given, scale_given, alpha_given;
} cli_search_args;
#define CLI_SEARCH_ROWS(s)                                                                 \
    {"--search", OPT_STRING, &(s)->kind, "anneal, genetic or restarts: search for a better minimum", "KIND", NULL}, \
    {"--refine-epochs", OPT_INT, &(s)->refine, "search: gradient epochs after each candidate (default 0)", "N", &(s)->refine_given}, \
    {"--anneal-steps", OPT_INT, &(s)->steps, "anneal: steps (default 300)", "N", &(s)->steps_given}, \
    {"--t-start", OPT_FLOAT, &(s)->t_start, "anneal: first temperature (default 0.1)", "T", &(s)->t_start_given}, \
    {"--t-end", OPT_FLOAT, &(s)->t_end, "anneal: last temperature (default 0.0001)", "T", &(s)->t_end_given}, \
    {"--cooling", OPT_STRING, &(s)->cooling, "anneal: geometric (default) or linear", "KIND", NULL}, \
    {"--step-scale", OPT_FLOAT, &(s)->step_scale, "anneal: std. dev. of a step, per weight (default 0.1)", "S", &(s)->step_scale_given}, \
    {"--population", OPT_INT, &(s)->population, "genetic: population size (default 20)", "N", &(s)->population_given}, \
    {"--generations", OPT_INT, &(s)->generations, "genetic: generations (default 30)", "N", &(s)->generations_given}, \
    {"--elitism", OPT_INT, &(s)->elitism, "genetic: best members kept as they are (default 2)", "N", &(s)->elitism_given}, \
    {"--tournament", OPT_INT, &(s)->tournament, "genetic: tournament size (default 3)", "N", &(s)->tournament_given}, \
    {"--crossover", OPT_STRING, &(s)->crossover, "genetic: uniform (default) or blend", "KIND", NULL}, \
    {"--blend-alpha", OPT_FLOAT, &(s)->blend_alpha, "genetic: blend crossover's widening (default 0.5)", "A", &(s)->alpha_given}, \
    {"--mutation-rate", OPT_FLOAT, &(s)->mutation_rate, "genetic: share of weights mutated (default 0.1)", "P", &(s)->rate_given}, \
    {"--mutation-scale", OPT_FLOAT, &(s)->mutation_scale, "genetic: std. dev. of a mutation (default 0.3)", "S", &(s)->scale_given}
/* The library's search options from the command line's (seed: --seed; restarts: --restarts);
 * returns 0, or -1 with a one-line message in err. */
int cli_search_opts(const cli_search_args *a, int seed, int restarts, nnc_search_opts *s, char *err, size_t n);

typedef struct {
    float *x, *y;                /* [n, features], [n, targets] */
    size_t n, features, targets;
    char source[1024];           /* what messages name: the file or the bundled dataset */
    char label_source[1024];     /* where the labels came from (the IDX labels file) */
    size_t *line;                /* CSV: the line of each row; NULL otherwise */
    char **label_name;           /* CSV: each label column, "column 3 ('class')" */
    size_t n_label_names;        /* (predict reads no labels but names their columns) */
    int text_labels;             /* CSV: the labels were class names (already checked) */
    nnc_column *columns;         /* CSV: its columns as used, for nnc_model_set_columns */
    size_t n_columns;
    char **strings;              /* owned blocks the columns point to */
    size_t n_strings;
    nnc_table table;             /* CSV: the names and texts the columns point to (no values) */
    const char *const *texts;    /* text data (a model with a TextVectorization): x holds, per row,
                                  * the index of its text here (-1: empty), until
                                  * cli_text_vectorize; owned by table or strings */
    size_t n_texts;
    char notes[2048];            /* notes of the load, printed once it has succeeded */
    int steps;                   /* a None time axis: the length the rows make (cli_apply_steps
                                  * sets it on the model); 0: the model's own */
    size_t *col_index;           /* CSV: the table column of each feature, then of each target */
    const size_t *example;       /* what messages call row r: example[r] + 1 (NULL: r + 1) */
    int categorical;             /* CSV: a column's text cells were numbered (one-hot, class names) */
    nnc_row_source stream;       /* --stream: the rows, read on demand (x and y NULL); n its rows */
    struct cli_stream *streamer; /* what stream.ctx reads from (stream_data.c) */
} cli_data;

/* What a load needs to know besides the options. */
typedef struct {
    const char *cmd;             /* "train", "eval", ...: notes on stderr name it */
    const char *role;            /* "train": a bundled set's training part; "test": its test part */
    const nnc_model *m;          /* the compiled model the data is for */
    const nnc_column *cols;      /* columns to follow (a model's record, or the training data's
                                  * for test and validation files); NULL: chosen by the options */
    size_t n_cols;
    int predict;                 /* labels are optional (predict) */
} cli_load_ctx;

/* Loads o->data for ctx (DESIGN §7): a bundled dataset, an IDX file, or a CSV file whose
 * columns are picked by name when the model records them, else by --label-column/--targets.
 * Checks the feature count against the model. Returns 0, or -1 with the message in err. */
int cli_load(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen);
/* Loads a CSV file (cli_load's CSV branch, csv_data.c). */
int cli_load_csv(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen);
/* The same from sample, the file's first records as text, in the file's place (--stream plans
 * the columns from them). */
int cli_load_csv_sample(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, const char *sample, size_t len,
                        char *err, size_t errlen);
/* --stream (stream_data.c): o->data, a plain CSV of numbers or an uncompressed IDX file with
 * its labels, indexed in one pass (its rows' offsets and lines, 16 bytes a row, and a hash of
 * its bytes) and its columns planned as cli_load plans them; d->stream then reads any rows on
 * demand, checking them as cli_load and cli_check_targets do (the messages name the file and
 * line). d->x and d->y stay NULL. Returns 0, or -1 with the message in err. */
int cli_stream_open(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen);
/* Closes what cli_stream_open opened (cli_data_free calls it). NULL is fine. */
void cli_stream_free(struct cli_stream *s);
/* For a model with a TextVectorization (its spec's first line is text_vectorization), cli_load
 * reads text: the bundled "fortunes", or a CSV file's column of text (--text-column, else the
 * only one), one feature holding each row's index into d->texts. These turn that into the
 * model's input (text_data.c): cli_text_adapt learns the vocabulary from the first `rows` texts
 * (the training rows only), cli_text_vectorize replaces x by the vectorizer's output. Both
 * return 0, or -1 with the message in err. */
int cli_text_adapt(nnc_model *m, const cli_data *d, size_t rows, char *err, size_t errlen);
int cli_text_vectorize(const nnc_model *m, cli_data *d, char *err, size_t errlen);
/* Whether bundled dataset D has its own test part (fashion_mnist, fortunes). */
int cli_has_test_part(const char *data);
void cli_data_free(cli_data *d);
/* Runs m at the sequence length d's rows make (d->steps; nothing when 0). 0, or -1 with why. */
int cli_apply_steps(nnc_model *m, const cli_data *d, char *err, size_t errlen);
/* Checks targets against the compiled model: their count, and labels as DESIGN §7 says
 * (integral classes in range, 0/1 for binary cross-entropy, one-hot for categorical). */
int cli_check_targets(const nnc_model *m, const cli_data *d, char *err, size_t errlen);
/* A seeded random test_fraction of the rows to test, the rest to train (order kept). */
int cli_split(cli_data *all, double test_fraction, uint64_t seed, cli_data *train, cli_data *test,
              char *err, size_t errlen);
/* Adds a note to d, which cli_load prints as "nnc CMD: note: ..." on stderr when it succeeds
 * (a load that fails prints its error alone). */
void cli_note(cli_data *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- output ------------------------------------------------------------------------------- */

/* The notes a load left on the model (nnc_model_note), one "nnc CMD: note: ..." line each on
 * stderr. */
void cli_print_notes(const char *cmd, const nnc_model *m);
/* True when path holds a model file (safetensors, HDF5 or zip by its first bytes, or one of
 * their extensions) rather than a spec file. */
int cli_is_model_file(const char *path);

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
int cmd_convert(int argc, char **argv);

#endif
