/* The nnc command line on bad input (DESIGN §7): one case per row of the table, each
 * run against the real binary (${NNC_BINARY_DIR}/nnc) in a fresh temporary folder. A row is
 * the command line, the files it needs (written here), the exit status it must end with (1: a
 * run that failed, 2: a command line that cannot run) and substrings of the message that must
 * name the file and the line, column, layer or tensor at fault. Every row also checks that:
 *   - the process exited (a signal, a sanitizer report or the 30 s alarm is a failure);
 *   - stderr is exactly one line starting with "nnc " (a usage error may add one line,
 *     "Try 'nnc ... --help'.");
 *   - every output named by --save, --output, --history or --plot was pre-created with known
 *     bytes and is byte for byte the same afterwards (or, in a missing folder, still absent);
 *   - no temporary file of an atomic write is left behind.
 * Model-file rows edit a model that `nnc train --save` wrote in setup (docs/FORMAT.md); the
 * interrupted save runs ${NNC_BINARY_DIR}/nnc_faulty with NNC_FAIL_SAVE_AFTER=N.
 * Out of scope: what the successful runs print (other suites), valgrind (CI). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "keras_fixtures.h"

/* ---- the table ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
} fixture_file;

/* A file from a string literal (may hold NUL bytes). */
#define W(name, text) {name, text, sizeof(text) - 1}

typedef struct {
    const char *name;        /* the case is "cli/bad/<name>" */
    fixture_file files[2];   /* written into the temp dir before the run */
    const char *args;        /* after the binary's name; words split on single spaces */
    int status;              /* the exit status it must end with */
    const char *expect[4];   /* each must occur in stderr's first line */
    long fail_save_after;    /* != 0: run nnc_faulty with NNC_FAIL_SAVE_AFTER = this (> 0) or
                                the setup model's size plus this (< 0) */
} bad_case;

static int write_bytes(const char *dir, const char *name, const void *p, size_t n);

/* A CSV of n rows whose column `col` (of a,b,c,d,label) holds n distinct texts. */
static int many_texts(const char *dir, const char *name, size_t n, int col) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("a,b,c,d,label\n", f);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 5; c++) {
            if (c == col) fprintf(f, "t%zu", i);
            else fprintf(f, "%d", c == 4 ? (int)(i % 3) : (int)((i * 7 + (size_t)c) % 10));
            fputc(c < 4 ? ',' : '\n', f);
        }
    }
    return fclose(f);
}
/* A file too large for a literal, made by its name. */
#define G(name) {name, NULL, 0}
static int generate(const char *dir, const char *name) {
    if (!strcmp(name, "classes.csv")) return many_texts(dir, name, 65536 + 1, 4); /* NNC_MAX_CLASS_NAMES + 1 */
    if (!strcmp(name, "cats.csv")) return many_texts(dir, name, 10000 + 1, 1);    /* NNC_MAX_ONE_HOT + 1 */
    if (!strncmp(name, "keras_", 6)) return keras_fixture(dir, name);            /* tests/keras_fixtures.h */
    return -1;
}

/* Outputs that every failing `train` row must leave alone. */
#define OUTS " --save o.safetensors --history o.csv --plot o.svg"

/* The shared files (written by setup): s.spec takes 4 features to 3 classes; ok.csv is good
 * data for it; img-ubyte / lab-ubyte hold 3 good 2x2 images and their labels; the models
 * model.safetensors (of s.spec), names.safetensors (other layer names), units.safetensors
 * (same names, other units) and the edited copies of model.safetensors listed in setup(). */
static const char s_spec[] =
    "# 4 features -> 3 classes\n"
    "input 4\n"
    "dense 3 activation=relu\n"
    "dense 3\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";
static const char ok_csv[] = "a,b,c,d,label\n1,2,3,4,0\n2,3,4,5,1\n3,4,5,6,2\n";
static const char names_spec[] =
    "input 4\n"
    "dense 3 activation=relu name=hidden\n"
    "dense 3 name=logits\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";
static const char units_spec[] =
    "input 4\n"
    "dense 5 activation=relu\n"
    "dense 3\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";
/* IDX: magic 00 00 08 <ndim>, big-endian u32 dimensions, then the bytes. */
static const char img_idx[] = "\x00\x00\x08\x03" "\x00\x00\x00\x03" "\x00\x00\x00\x02" "\x00\x00\x00\x02"
                              "\x00\x10\x20\x30" "\x40\x50\x60\x70" "\x80\x90\xa0\xb0";
static const char lab_idx[] = "\x00\x00\x08\x01" "\x00\x00\x00\x03" "\x00\x01\x02";

static const bad_case cases[] = {
    /* ---- missing and empty files ---- */
    {"missing_data", {{0}}, "train s.spec --data missing.csv --epochs 1" OUTS, 1,
     {"missing.csv", "cannot open"}, 0},
    {"missing_spec", {{0}}, "train missing.spec --data ok.csv --epochs 1" OUTS, 1,
     {"missing.spec", "cannot open"}, 0},
    {"missing_model", {{0}}, "eval missing.safetensors --data ok.csv", 1,
     {"missing.safetensors", "cannot open"}, 0},
    {"missing_model_predict", {{0}}, "predict missing.safetensors --data ok.csv --output o.csv", 1,
     {"missing.safetensors", "cannot open"}, 0},
    {"missing_labels", {{0}}, "train s.spec --data img-ubyte --labels missing-ubyte --epochs 1" OUTS, 1,
     {"missing-ubyte"}, 0},
    {"missing_init_weights", {{0}}, "train s.spec --data ok.csv --init-weights missing.safetensors --epochs 1" OUTS, 1,
     {"missing.safetensors", "cannot open"}, 0},
    {"missing_bundled", {{0}}, "train s.spec --data digitz --epochs 1" OUTS, 1,
     {"digitz", "bundled"}, 0},
    {"empty_csv", {W("empty.csv", "")}, "train s.spec --data empty.csv --epochs 1" OUTS, 1,
     {"empty.csv", "empty"}, 0},
    {"empty_spec", {W("empty.spec", "")}, "train empty.spec --data ok.csv --epochs 1" OUTS, 1,
     {"empty.spec", "empty"}, 0},
    {"empty_model", {W("empty.safetensors", "")}, "predict empty.safetensors --data ok.csv --output o.csv", 1,
     {"empty.safetensors", "too short"}, 0},

    /* ---- CSV ---- */
    {"csv_ragged_row", {W("ragged.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,4,1\n3,4,5,6,2\n")},
     "train s.spec --data ragged.csv --epochs 1" OUTS, 1, {"ragged.csv:3:", "ragged"}, 0},
    {"csv_non_numeric", {W("nonnum.csv", "a,b,c,d,label\n1,2,3,4,0\n2,x3,4,5,1\n")},
     "train s.spec --data nonnum.csv --epochs 1" OUTS, 1, {"nonnum.csv:3:", "column 2", "'x3'"}, 0},
    {"csv_empty_field", {W("emptyfield.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,,5,1\n")},
     "train s.spec --data emptyfield.csv --epochs 1" OUTS, 1, {"emptyfield.csv:3:", "column 3", "empty"}, 0},
    {"csv_nan", {W("nan.csv", "a,b,c,d,label\n1,2,3,4,0\n2,nan,4,5,1\n")},
     "train s.spec --data nan.csv --epochs 1" OUTS, 1, {"nan.csv:3:", "column 2", "NaN"}, 0},
    {"csv_inf", {W("inf.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,4,-inf,1\n")},
     "train s.spec --data inf.csv --epochs 1" OUTS, 1, {"inf.csv:3:", "column 4", "Inf"}, 0},
    {"csv_label_not_integer", {W("fraction.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,4,5,0.5\n")},
     "train s.spec --data fraction.csv --epochs 1" OUTS, 1, {"fraction.csv:3:", "column 5", "0.5", "'dense_1'"}, 0},
    {"csv_label_10_of_10_classes",
     {W("label10.csv", "a,b,c,d,label\n1,2,3,4,9\n2,3,4,5,10\n"),
      W("c10.spec", "input 4\ndense 10\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train c10.spec --data label10.csv --epochs 1" OUTS, 1, {"label10.csv:3:", "column 5", "10", "'dense'"}, 0},
    {"csv_label_negative", {W("negative.csv", "a,b,c,d,label\n1,2,3,4,-1\n2,3,4,5,1\n")},
     "train s.spec --data negative.csv --epochs 1" OUTS, 1, {"negative.csv:2:", "column 5", "-1", "'dense_1'"}, 0},
    {"csv_label_nan", {W("nanlabel.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,4,5,nan\n")},
     "train s.spec --data nanlabel.csv --epochs 1" OUTS, 1, {"nanlabel.csv:3:", "column 5"}, 0},
    {"csv_header_only", {W("header.csv", "a,b,c,d,label\n")},
     "train s.spec --data header.csv --epochs 1" OUTS, 1, {"header.csv", "no data rows"}, 0},
    {"csv_label_out_of_range_digits", {W("d9.spec", "input 64\ndense 9\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train d9.spec --data digits --epochs 1" OUTS, 1, {"digits", "example 10", "label 9", "'dense'"}, 0},
    {"csv_no_such_label_column", {{0}},
     "train s.spec --data ok.csv --label-column target --epochs 1" OUTS, 1, {"ok.csv", "'target'"}, 0},

    /* ---- IDX ---- */
    {"idx_wrong_magic",
     {W("badmagic-ubyte", "\x01\x02\x08\x03" "\x00\x00\x00\x03" "\x00\x00\x00\x02" "\x00\x00\x00\x02"
                          "\x00\x10\x20\x30" "\x40\x50\x60\x70" "\x80\x90\xa0\xb0")},
     "train s.spec --data badmagic-ubyte --labels lab-ubyte --epochs 1" OUTS, 1, {"badmagic-ubyte", "magic"}, 0},
    {"idx_unknown_type_code",
     {W("badtype-ubyte", "\x00\x00\x07\x03" "\x00\x00\x00\x03" "\x00\x00\x00\x02" "\x00\x00\x00\x02"
                         "\x00\x10\x20\x30" "\x40\x50\x60\x70" "\x80\x90\xa0\xb0")},
     "train s.spec --data badtype-ubyte --labels lab-ubyte --epochs 1" OUTS, 1, {"badtype-ubyte", "0x07"}, 0},
    {"idx_labels_with_2_dims", {W("lab2d-ubyte", "\x00\x00\x08\x02" "\x00\x00\x00\x03" "\x00\x00\x00\x01" "\x00\x01\x02")},
     "train s.spec --data img-ubyte --labels lab2d-ubyte --epochs 1" OUTS, 1, {"lab2d-ubyte", "1 dimension"}, 0},
    {"idx_images_with_1_dim",
     {W("img1d-ubyte", "\x00\x00\x08\x01" "\x00\x00\x00\x0c" "\x00\x10\x20\x30" "\x40\x50\x60\x70" "\x80\x90\xa0\xb0")},
     "train s.spec --data img1d-ubyte --labels lab-ubyte --epochs 1" OUTS, 1, {"img1d-ubyte", "dimension"}, 0},
    {"idx_truncated_images",
     {W("trunc-ubyte", "\x00\x00\x08\x03" "\x00\x00\x00\x03" "\x00\x00\x00\x02" "\x00\x00\x00\x02"
                       "\x00\x10\x20\x30" "\x40\x50\x60\x70" "\x80")},
     "train s.spec --data trunc-ubyte --labels lab-ubyte --epochs 1" OUTS, 1, {"trunc-ubyte", "truncated"}, 0},
    {"idx_truncated_labels", {W("labtrunc-ubyte", "\x00\x00\x08\x01" "\x00\x00\x00\x03" "\x00\x01")},
     "train s.spec --data img-ubyte --labels labtrunc-ubyte --epochs 1" OUTS, 1, {"labtrunc-ubyte", "truncated"}, 0},
    {"idx_truncated_header", {W("short-ubyte", "\x00\x00\x08\x03\x00\x00")},
     "train s.spec --data short-ubyte --labels lab-ubyte --epochs 1" OUTS, 1, {"short-ubyte", "header"}, 0},
    {"idx_count_mismatch", {W("lab2-ubyte", "\x00\x00\x08\x01" "\x00\x00\x00\x02" "\x00\x01")},
     "train s.spec --data img-ubyte --labels lab2-ubyte --epochs 1" OUTS, 1,
     {"img-ubyte", "lab2-ubyte", "3 images", "2 labels"}, 0},
    {"idx_label_out_of_range", {W("lab7-ubyte", "\x00\x00\x08\x01" "\x00\x00\x00\x03" "\x00\x01\x07")},
     "train s.spec --data img-ubyte --labels lab7-ubyte --epochs 1" OUTS, 1,
     {"lab7-ubyte", "label 7", "'dense_1'"}, 0},
    {"idx_without_labels", {{0}}, "train s.spec --data img-ubyte --epochs 1" OUTS, 1, {"img-ubyte", "--labels"}, 0},

    /* ---- spec ---- */
    {"spec_unknown_layer",
     {W("unknown_layer.spec", "input 4\ndens 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train unknown_layer.spec --data ok.csv --epochs 1" OUTS, 1, {"unknown_layer.spec:2:", "'dens'", "did you mean"}, 0},
    {"spec_unknown_key",
     {W("unknown_key.spec", "input 4\ndense 3 activaton=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train unknown_key.spec --data ok.csv --epochs 1" OUTS, 1, {"unknown_key.spec:2:", "'activaton'"}, 0},
    {"spec_bad_value",
     {W("bad_value.spec", "input 4\ndense 3 activation=rellu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train bad_value.spec --data ok.csv --epochs 1" OUTS, 1, {"bad_value.spec:2:", "'rellu'"}, 0},
    {"spec_bad_units",
     {W("bad_units.spec", "input 4\ndense 3\ndense -3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train bad_units.spec --data ok.csv --epochs 1" OUTS, 1, {"bad_units.spec:3:", "'-3'", "units"}, 0},
    {"spec_missing_input",
     {W("no_input.spec", "# no input line\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train no_input.spec --data ok.csv --epochs 1" OUTS, 1, {"no_input.spec:2:", "input"}, 0},
    {"spec_second_input",
     {W("two_inputs.spec", "input 4\ndense 3\ninput 4\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train two_inputs.spec --data ok.csv --epochs 1" OUTS, 1, {"two_inputs.spec:4:", "input"}, 0},
    {"spec_statement_after_loss",
     {W("after_loss.spec", "input 4\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\ndense 3\n")},
     "train after_loss.spec --data ok.csv --epochs 1" OUTS, 1, {"after_loss.spec:4:", "dense"}, 0},
    /* sequences (issue 14): token ids an Embedding cannot read, a mask a layer cannot take */
    {"token_id_past_input_dim", {W("emb.spec", "input 4\nembedding 5 2\nglobal_average_pooling1d\ndense 3\n"
                                  "loss sparse_categorical_crossentropy from_logits=true\n")},
     "train emb.spec --data ok.csv --epochs 1" OUTS, 1, {"'embedding' (Embedding)", "row 1, step 3", "token id 5,"}, 0},
    {"token_id_negative", {W("emb.spec", "input 4\nembedding 5 2\nglobal_average_pooling1d\ndense 3\n"
                            "loss sparse_categorical_crossentropy from_logits=true\n"),
                          W("neg.csv", "a,b,c,d,label\n1,2,3,4,0\n1,-2,3,4,1\n")},
     "train emb.spec --data neg.csv --epochs 1" OUTS, 1, {"'embedding' (Embedding)", "row 1, step 1", "token id -2,"}, 0},
    {"token_id_fractional", {W("emb.spec", "input 4\nembedding 5 2\nglobal_average_pooling1d\ndense 3\n"
                              "loss sparse_categorical_crossentropy from_logits=true\n"),
                            W("frac.csv", "a,b,c,d,label\n1,2,3.5,4,0\n")},
     "train emb.spec --data frac.csv --epochs 1" OUTS, 1, {"'embedding' (Embedding)", "row 0, step 2", "token id 3.5,"}, 0},
    {"mask_on_a_layer_without_masks", {W("mask.spec", "input 4\nembedding 5 2 mask_zero=true\nflatten\ndense 3\n"
                                        "loss sparse_categorical_crossentropy from_logits=true\n")},
     "train mask.spec --data ok.csv --epochs 1" OUTS, 1,
     {"mask.spec", "layer 'flatten' (Flatten) cannot take a mask from 'embedding' (mask_zero=True)"}, 0},
    {"spec_no_loss", {W("no_loss.spec", "input 4\ndense 3\n")},
     "train no_loss.spec --data ok.csv --epochs 1" OUTS, 1, {"no_loss.spec", "loss"}, 0},
    {"spec_loss_does_not_fit_output",
     {W("loss_fit.spec", "input 4\ndense 1\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train loss_fit.spec --data ok.csv --epochs 1" OUTS, 1, {"loss_fit.spec:3:", "'dense'", "(None, 1)"}, 0},
    {"spec_rank_does_not_fit_loss",
     {W("rank.spec", "input 2 2\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train rank.spec --data ok.csv --epochs 1" OUTS, 1, {"rank.spec:3:", "'dense'", "(None, 2, 3)"}, 0},
    {"spec_duplicate_layer_name",
     {W("dup.spec", "input 4\ndense 3 name=a\ndense 3 name=a\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train dup.spec --data ok.csv --epochs 1" OUTS, 1, {"dup.spec:3:", "'a'"}, 0},
    {"spec_negative_learning_rate",
     {W("negative_lr.spec", "input 4\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
                            "optimizer adam learning_rate=-1\n")},
     "train negative_lr.spec --data ok.csv --epochs 1" OUTS, 1, {"negative_lr.spec:4:", "learning_rate", "-1"}, 0},
    {"data_features_differ_from_input",
     {W("input5.spec", "input 5\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n")},
     "train input5.spec --data ok.csv --epochs 1" OUTS, 1, {"ok.csv", "4 feature", "5"}, 0},
    {"data_features_differ_from_input_bundled", {{0}},
     "train s.spec --data digits --epochs 1" OUTS, 1, {"digits", "64 feature", "4"}, 0},
    {"data_features_differ_from_model", {W("wide.csv", "1,2,3,4,5,0\n2,3,4,5,6,1\n")},
     "predict model.safetensors --data wide.csv --output o.csv", 1, {"wide.csv", "6 columns", "trained on 5"}, 0},

    /* ---- CSV files as people write them (issue 12) ---- */
    {"csv_unterminated_quote", {W("q.csv", "a,b,c,d,label\n1,2,3,4,0\n\"2,3,4,5,1\n3,4,5,6,2\n")},
     "train s.spec --data q.csv --epochs 1" OUTS, 1, {"q.csv:3:", "column 1", "unterminated quote"}, 0},
    {"csv_quote_inside_unquoted_field", {W("q.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3\"x,4,5,1\n")},
     "train s.spec --data q.csv --epochs 1" OUTS, 1, {"q.csv:3:", "column 2", "quote inside an unquoted field"}, 0},
    {"csv_text_after_closing_quote", {W("q.csv", "a,b,c,d,label\n1,2,\"3\"4,4,0\n")},
     "train s.spec --data q.csv --epochs 1" OUTS, 1, {"q.csv:2:", "column 3", "after a closing quote"}, 0},
    {"csv_delimiter_changes_mid_file", {W("d.csv", "a;b;c;d;label\n1;2;3;4;0\n2,3,4,5,1\n")},
     "train s.spec --data d.csv --epochs 1" OUTS, 1, {"d.csv:3:", "ragged", "';'", "mid-file"}, 0},
    {"csv_delimiter_tie", {W("d.csv", "a;b,c\n1;2,3\n")},
     "train s.spec --data d.csv --epochs 1" OUTS, 1, {"d.csv:1:", "cannot tell the delimiter", "--delimiter"}, 0},
    {"csv_decimal_comma", {W("dc.csv", "a;b;c;d;label\n1,5;2;3;4;0\n")},
     "train s.spec --data dc.csv --epochs 1" OUTS, 1, {"dc.csv:2:", "column 1 ('a')", "'1,5'", "decimal comma"}, 0},
    {"csv_comma_file_read_with_semicolons", {W("dc.csv", "a,b,c,d,label\n1,2,3,4,0\n")},
     "train s.spec --data dc.csv --delimiter ; --epochs 1" OUTS, 1, {"dc.csv", "1 columns leave no features"}, 0},
    {"csv_duplicate_header_names", {W("dup.csv", "a,b,a,d,label\n1,2,3,4,0\n")},
     "train s.spec --data dup.csv --epochs 1" OUTS, 1, {"dup.csv:1:", "columns 1 and 3", "'a'"}, 0},
    {"csv_label_column_twice", {{0}}, "train s.spec --data ok.csv --label-column label,label --epochs 1" OUTS, 1,
     {"ok.csv", "--label-column", "'label'", "twice"}, 0},
    {"csv_empty_class_name", {W("e.csv", "a,b,c,d,label\n1,2,3,4,x\n2,3,4,5,\" \"\n3,4,5,6,y\n")},
     "train s.spec --data e.csv --epochs 1" OUTS, 1, {"e.csv:3:", "column 5 ('label')", "empty class name"}, 0},
    {"csv_missing_label", {W("e.csv", "a,b,c,d,label\n1,2,3,4,0\n2,3,4,5,NA\n")},
     "train s.spec --data e.csv --epochs 1" OUTS, 1, {"e.csv:3:", "column 5 ('label')", "missing", "--drop-missing"}, 0},
    {"csv_too_many_class_names", {G("classes.csv")}, "train s.spec --data classes.csv --epochs 1" OUTS, 1,
     {"classes.csv:65538:", "column 5 ('label')", "more than 65536"}, 0},
    {"csv_one_hot_too_many_values", {G("cats.csv")}, "train s.spec --data cats.csv --one-hot b --epochs 1" OUTS, 1,
     {"cats.csv:10002:", "column 2 ('b')", "more than 10000"}, 0},
    {"csv_text_feature", {W("t.csv", "a,b,c,d,label\n1,red,3,4,0\n2,blue,4,5,1\n")},
     "train s.spec --data t.csv --epochs 1" OUTS, 1, {"t.csv:2:", "column 2 ('b')", "'red'", "--one-hot"}, 0},
    {"csv_one_hot_label", {{0}}, "train s.spec --data ok.csv --one-hot label --epochs 1" OUTS, 1,
     {"ok.csv", "--one-hot", "label column"}, 0},
    {"csv_one_hot_widens_the_input", {W("t.csv", "a,b,c,d,label\n1,red,3,4,0\n2,blue,4,5,1\n")},
     "train s.spec --data t.csv --one-hot b --epochs 1" OUTS, 1, {"t.csv", "make 5 inputs after one-hot", "takes 4"}, 0},
    {"csv_id_column_as_a_feature", {W("id.csv", "id,a,b,c,d,label\n7,1,2,3,4,0\n")},
     "train s.spec --data id.csv --epochs 1" OUTS, 1, {"id.csv", "5 feature columns (id, a,", "--ignore-column"}, 0},
    {"csv_ignore_the_label", {{0}}, "train s.spec --data ok.csv --ignore-column label --epochs 1" OUTS, 1,
     {"ok.csv", "--ignore-column", "label column"}, 0},
    {"csv_labels_from_one", {W("one.csv", "a,b,c,d,label\n1,2,3,4,1\n2,3,4,5,2\n3,4,5,6,3\n")},
     "train s.spec --data one.csv --epochs 1" OUTS, 1, {"one.csv:4:", "column 5", "labels run 1..3", "start at 0"}, 0},
    {"csv_categorical_with_integer_labels",
     {W("cce.spec", "input 4\ndense 3\nloss categorical_crossentropy from_logits=true\n")},
     "train cce.spec --data ok.csv --epochs 1" OUTS, 1, {"ok.csv", "categorical_crossentropy", "sparse_categorical_crossentropy"}, 0},
    {"csv_class_names_for_mse", {W("m.spec", "input 4\ndense 1\nloss mse\n"), W("t.csv", "a,b,c,d,y\n1,2,3,4,x\n")},
     "train m.spec --data t.csv --epochs 1" OUTS, 1, {"t.csv:2:", "column 5 ('y')", "'x'", "mean_squared_error"}, 0},
    {"csv_header_names_differ_from_training", {W("m.csv", "a,b,x,d\n1,2,3,4\n")},
     "predict model.safetensors --data m.csv --output o.csv", 1, {"m.csv:1:", "no column 'c'", "feature"}, 0},
    {"csv_eval_without_the_label_column", {W("m.csv", "a,b,c,d\n1,2,3,4\n")},
     "eval model.safetensors --data m.csv", 1, {"m.csv:1:", "no column 'label'", "--label-column"}, 0},
    {"csv_unknown_class_at_eval", {W("m.csv", "d,c,b,a,label\n1,2,3,4,7\n")},
     "eval model.safetensors --data m.csv", 1, {"m.csv:2:", "column 5 ('label')", "7", "out of range"}, 0},
    {"csv_header_mode", {{0}}, "train s.spec --data ok.csv --header maybe --epochs 1" OUTS, 1, {"--header", "'maybe'"}, 0},

    /* ---- model file (edited copies of a real saved model; see setup) ---- */
    {"model_truncated", {{0}}, "predict truncated.safetensors --data ok.csv --output o.csv", 1,
     {"truncated.safetensors", "past"}, 0},
    {"model_truncated_in_header", {{0}}, "predict truncated_header.safetensors --data ok.csv --output o.csv", 1,
     {"truncated_header.safetensors", "header length", "past the end"}, 0},
    {"model_header_length_past_end", {{0}}, "predict header_length.safetensors --data ok.csv --output o.csv", 1,
     {"header_length.safetensors", "header length", "past the end"}, 0},
    {"model_header_length_huge", {{0}}, "eval huge_header.safetensors --data ok.csv", 1,
     {"huge_header.safetensors", "header length"}, 0},
    {"model_bad_json", {{0}}, "predict bad_json.safetensors --data ok.csv --output o.csv", 1,
     {"bad_json.safetensors", "JSON"}, 0},
    {"model_unknown_dtype", {{0}}, "predict bad_dtype.safetensors --data ok.csv --output o.csv", 1,
     {"bad_dtype.safetensors", "'dense.kernel'", "BOGUS"}, 0},
    {"model_overlapping_offsets", {{0}}, "predict overlap.safetensors --data ok.csv --output o.csv", 1,
     {"overlap.safetensors", "'dense.kernel'", "'dense.bias'", "overlap"}, 0},
    {"model_offsets_out_of_range", {{0}}, "predict out_of_range.safetensors --data ok.csv --output o.csv", 1,
     {"out_of_range.safetensors", "'dense.bias'", "past"}, 0},
    {"model_shape_differs_from_architecture", {{0}}, "eval bad_shape.safetensors --data ok.csv", 1,
     {"bad_shape.safetensors", "'dense.kernel'", "[3, 4]", "[4, 3]"}, 0},
    {"init_weights_other_names", {{0}},
     "train s.spec --data ok.csv --init-weights names.safetensors --epochs 2" OUTS, 1,
     {"names.safetensors", "'hidden.kernel'"}, 0},
    {"init_weights_other_shapes", {{0}},
     "train s.spec --data ok.csv --init-weights units.safetensors --epochs 2" OUTS, 1,
     {"units.safetensors", "'dense.kernel'", "[4, 5]", "[4, 3]"}, 0},

    /* ---- Keras files (made by tests/keras_fixtures.c; skipped without NNC_INTEROP) ---- */
    {"keras_truncated_zip", {G("keras_truncated.keras")}, "predict keras_truncated.keras --data ok.csv --output o.csv", 1,
     {"keras_truncated.keras", "not a complete zip file"}, 0},
    {"keras_truncated_h5", {G("keras_truncated.h5")}, "eval keras_truncated.h5 --data ok.csv", 1,
     {"keras_truncated.h5", "HDF5 cannot open"}, 0},
    {"keras_zip_bomb", {G("keras_bomb.keras")}, "predict keras_bomb.keras --data ok.csv --output o.csv", 1,
     {"keras_bomb.keras", "'model.weights.h5'", "4294967280 bytes", "zip bomb"}, 0},
    {"keras_no_config", {G("keras_no_config.keras")}, "summary keras_no_config.keras", 1,
     {"keras_no_config.keras", "no config.json"}, 0},
    {"keras_no_weights", {G("keras_no_weights.keras")}, "predict keras_no_weights.keras --data ok.csv --output o.csv", 1,
     {"keras_no_weights.keras", "no model.weights.h5"}, 0},
    {"keras_weights_only", {G("keras_weights_only.h5")}, "eval keras_weights_only.h5 --data ok.csv", 1,
     {"keras_weights_only.h5", "weights only", "--init-weights"}, 0},
    {"keras_unknown_layer", {G("keras_unknown_layer.keras")}, "summary keras_unknown_layer.keras", 1,
     {"keras_unknown_layer.keras", "'dunce'", "unknown class 'Dunce'", "InputLayer, Dense"}, 0},
    {"keras_lambda", {G("keras_lambda.h5")}, "predict keras_lambda.h5 --data ok.csv --output o.csv", 1,
     {"keras_lambda.h5", "'lambda' (Lambda)", "Python code"}, 0},
    {"keras_lstm", {G("keras_lstm.keras")}, "summary keras_lstm.keras", 1,
     {"keras_lstm.keras", "'conv_lstm2d' (ConvLSTM2D)", "nnc has SimpleRNN, LSTM and GRU"}, 0},
    {"keras_shape_disagrees", {G("keras_shape.h5")}, "predict keras_shape.h5 --data ok.csv --output o.csv", 1,
     {"keras_shape.h5", "dense/kernel", "[3, 4]", "[4, 3]"}, 0},
    {"keras_wrong_dtype", {G("keras_dtype.h5")}, "eval keras_dtype.h5 --data ok.csv", 1,
     {"keras_dtype.h5", "dense/kernel", "integers", "not float32"}, 0},
    {"keras_cycle", {G("keras_cycle.h5")}, "summary keras_cycle.h5", 1, {"keras_cycle.h5", "cycle", "'a'"}, 0},
    {"keras_dangling_input", {G("keras_dangling.h5")}, "summary keras_dangling.h5", 1,
     {"keras_dangling.h5", "'a'", "'ghost'", "dangling"}, 0},
    {"keras_config_100mb_deep", {G("keras_deep.keras")}, "summary keras_deep.keras", 1,
     {"keras_deep.keras", "config.json", "nesting deeper than 64"}, 0},
    {"keras_init_from_bad_file", {G("keras_shape.h5")}, "train --init-from keras_shape.h5 --data ok.csv" OUTS, 1,
     {"keras_shape.h5", "[3, 4]"}, 0},
    {"keras_init_from_spec_with_layers", {G("keras_good.h5"), W("l.spec", "dense 3\n")},
     "train l.spec --init-from keras_good.h5 --data ok.csv" OUTS, 1, {"l.spec:1:", "--init-from"}, 0},
    {"freeze_unknown_layer", {{0}}, "train s.spec --data ok.csv --epochs 1 --freeze dense,nope" OUTS, 1,
     {"--freeze", "no layer is named 'nope'", "(the layers: "}, 0},
    {"spec_trainable_not_bool", {W("t.spec", "input 4\ndense 3 trainable=maybe\nloss mse\n")},
     "summary t.spec", 1, {"t.spec:2:", "trainable"}, 0},
    {"keras_save_in_missing_directory", {{0}}, "train s.spec --data ok.csv --epochs 1 --save nodir/m.keras", 1,
     {"nodir/m.keras", "'nodir'"}, 0},

    /* ---- outputs ---- */
    {"save_in_missing_directory", {{0}}, "train s.spec --data ok.csv --epochs 1 --save nodir/m.safetensors", 1,
     {"nodir/m.safetensors", "'nodir'"}, 0},
    {"history_in_missing_directory", {{0}}, "train s.spec --data ok.csv --epochs 1 --history nodir/h.csv", 1,
     {"nodir/h.csv", "'nodir'"}, 0},
    {"plot_in_missing_directory", {{0}}, "train s.spec --data ok.csv --epochs 1 --plot nodir/p.svg", 1,
     {"nodir/p.svg", "'nodir'"}, 0},
    {"output_in_missing_directory", {{0}}, "predict model.safetensors --data ok.csv --output nodir/o.csv", 1,
     {"nodir/o.csv", "'nodir'"}, 0},
    {"save_interrupted_in_header", {{0}}, "train s.spec --data ok.csv --epochs 1 --save o.safetensors", 1,
     {"o.safetensors"}, 100},
    {"save_interrupted_in_data", {{0}}, "train s.spec --data ok.csv --epochs 1 --save o.safetensors", 1,
     {"o.safetensors"}, -8},

    /* ---- command line ---- */
    {"unknown_flag", {{0}}, "train s.spec --data ok.csv --epoch 1" OUTS, 2, {"'--epoch'", "did you mean '--epochs'"}, 0},
    {"missing_flag_value", {{0}}, "train s.spec --data ok.csv" OUTS " --epochs", 2, {"'--epochs'", "value"}, 0},
    {"missing_data_flag", {{0}}, "train s.spec --epochs 1" OUTS, 2, {"--data"}, 0},
    {"unknown_command", {{0}}, "fit s.spec --data ok.csv" OUTS, 2, {"'fit'"}, 0},
    {"epochs_0", {{0}}, "train s.spec --data ok.csv --epochs 0" OUTS, 2, {"--epochs"}, 0},
    {"batch_size_0", {{0}}, "train s.spec --data ok.csv --epochs 1 --batch-size 0" OUTS, 2, {"--batch-size", "'0'"}, 0},
    {"test_split_1.5", {{0}}, "train s.spec --data ok.csv --epochs 1 --test-split 1.5" OUTS, 2, {"--test-split", "1.5"}, 0},
    {"validation_split_negative", {{0}}, "train s.spec --data ok.csv --epochs 1 --validation-split -0.1" OUTS, 2,
     {"--validation-split", "-0.1"}, 0},

    /* ---- training that diverges ---- */
    {"nan_during_training",
     {W("diverge.spec", "input 10\ndense 1\nloss mse\noptimizer sgd learning_rate=1000\n")},
     "train diverge.spec --data diabetes --epochs 1 --batch-size 32" OUTS, 1, {"epoch 1", "batch"}, 0},
};

/* ---- running the binary ------------------------------------------------------------------- */

static const char known_bytes[] = "nnc test: an existing output that must stay as it is\n\x00\x01\xfe\xff";

static int write_bytes(const char *dir, const char *name, const void *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = n ? fwrite(p, 1, n, f) : 0;
    return (fclose(f) == 0 && put == n) ? 0 : -1;
}

static unsigned char *read_bytes(const char *dir, const char *name, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *p = malloc(cap + 1);
    for (size_t got; p && (got = fread(p + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            unsigned char *q = realloc(p, 2 * cap + 1);
            if (!q) free(p);
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p) p[len] = '\0';
    *n = len;
    return p;
}

/* Runs `bin args` in dir with stdout and stderr to dir/_stdout and dir/_stderr, and with
 * env_value as NNC_FAIL_SAVE_AFTER when given. Returns the wait status, or -1. */
static int run_cli(const char *dir, const char *bin, const char *args, const char *env_value) {
    char words[2048];
    char *argv[64];
    int argc = 0;
    snprintf(words, sizeof words, "%s", args);
    argv[argc++] = (char *)bin;
    for (char *w = strtok(words, " "); w && argc < 63; w = strtok(NULL, " ")) argv[argc++] = w;
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir)) _exit(126);
        int fo = open("_stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open("_stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        close(fo);
        close(fe);
        if (env_value) setenv("NNC_FAIL_SAVE_AFTER", env_value, 1);
        else unsetenv("NNC_FAIL_SAVE_AFTER");
        alarm(30); /* survives exec: a hung run dies of SIGALRM, which the test reports */
        execv(bin, argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return st;
}

/* Names of files starting with '.' (the temporaries of atomic writes) in dir, or "". */
static void leftover_temporaries(const char *dir, char *out, size_t n) {
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", len ? ", " : "", e->d_name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path); /* so that one bad row does not fail the next ones */
    }
    closedir(d);
}

/* ---- setup: shared files and edited models -------------------------------------------------- */

/* A safetensors file split into its JSON header (NUL-terminated copy) and data section. */
typedef struct {
    unsigned char *file;
    size_t size;
    char *json;
    size_t json_len;
    const unsigned char *data;
    size_t data_len;
} st_parts;

static int st_split(const char *dir, const char *name, st_parts *s) {
    memset(s, 0, sizeof *s);
    s->file = read_bytes(dir, name, &s->size);
    if (!s->file || s->size < 8) return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | s->file[i];
    if (n > s->size - 8) return -1;
    s->json = malloc((size_t)n + 1);
    if (!s->json) return -1;
    memcpy(s->json, s->file + 8, (size_t)n);
    s->json[n] = '\0';
    s->json_len = (size_t)n;
    s->data = s->file + 8 + n;
    s->data_len = s->size - 8 - (size_t)n;
    return 0;
}

static void st_free(st_parts *s) {
    free(s->file);
    free(s->json);
}

static void put_u64le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes a safetensors file from a JSON header (re-padded with spaces to a multiple of 8). */
static int st_write(const char *dir, const char *name, const char *json, const unsigned char *data, size_t data_len) {
    size_t len = strlen(json);
    while (len && json[len - 1] == ' ') len--;
    size_t padded = (len + 7) / 8 * 8;
    unsigned char *buf = malloc(8 + padded + data_len + 1);
    if (!buf) return -1;
    put_u64le(buf, padded);
    memcpy(buf + 8, json, len);
    memset(buf + 8 + len, ' ', padded - len);
    if (data_len) memcpy(buf + 8 + padded, data, data_len);
    int rc = write_bytes(dir, name, buf, 8 + padded + data_len);
    free(buf);
    return rc;
}

/* A copy of json with the first `old` after the key "tensor" replaced by `new_text`. */
static char *edit_entry(const char *json, const char *tensor, const char *old, const char *new_text) {
    char key[128];
    snprintf(key, sizeof key, "\"%s\"", tensor);
    const char *at = strstr(json, key);
    const char *hit = at ? strstr(at + strlen(key), old) : NULL;
    if (!hit) return NULL;
    size_t pre = (size_t)(hit - json), olen = strlen(old), nlen = strlen(new_text);
    char *out = malloc(strlen(json) - olen + nlen + 1);
    if (!out) return NULL;
    memcpy(out, json, pre);
    memcpy(out + pre, new_text, nlen);
    strcpy(out + pre + nlen, hit + olen);
    return out;
}

/* The data_offsets of tensor, as "[b,e]" text and numbers. */
static int offsets_of(const char *json, const char *tensor, char *text, size_t n, unsigned long long *b,
                      unsigned long long *e) {
    char key[128];
    snprintf(key, sizeof key, "\"%s\"", tensor);
    const char *at = strstr(json, key);
    const char *o = at ? strstr(at, "\"data_offsets\"") : NULL;
    const char *lb = o ? strchr(o, '[') : NULL;
    const char *rb = lb ? strchr(lb, ']') : NULL;
    if (!rb || (size_t)(rb - lb + 2) > n) return -1;
    snprintf(text, n, "%.*s", (int)(rb - lb + 1), lb);
    return sscanf(lb, "[ %llu , %llu ]", b, e) == 2 ? 0 : -1;
}

/* Writes the shared files, trains the models and writes the edited copies. Returns 0, or -1
 * with the reason in why. */
static int setup(const char *dir, const char *nnc, long *model_size, char *why, size_t n) {
    static const fixture_file shared[] = {
        W("s.spec", s_spec), W("ok.csv", ok_csv), W("names.spec", names_spec), W("units.spec", units_spec),
        W("img-ubyte", img_idx), W("lab-ubyte", lab_idx),
    };
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
        if (write_bytes(dir, shared[i].name, shared[i].bytes, shared[i].len)) {
            snprintf(why, n, "cannot write %s/%s", dir, shared[i].name);
            return -1;
        }
    static const char *const trainings[][2] = {
        {"train s.spec --data ok.csv --epochs 1 --quiet --save model.safetensors", "model.safetensors"},
        {"train names.spec --data ok.csv --epochs 1 --quiet --save names.safetensors", "names.safetensors"},
        {"train units.spec --data ok.csv --epochs 1 --quiet --save units.safetensors", "units.safetensors"},
        {"predict model.safetensors --data ok.csv --output pred.csv", "pred.csv"},
    };
    for (size_t i = 0; i < sizeof trainings / sizeof *trainings; i++) {
        int st = run_cli(dir, nnc, trainings[i][0], NULL);
        struct stat sb;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, trainings[i][1]);
        if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(path, &sb)) {
            size_t len = 0;
            unsigned char *e = read_bytes(dir, "_stderr", &len);
            snprintf(why, n, "setup: 'nnc %s' failed (status %d): %.1500s", trainings[i][0], st, e ? (char *)e : "");
            free(e);
            return -1;
        }
    }

    st_parts s;
    if (st_split(dir, "model.safetensors", &s)) {
        st_free(&s);
        snprintf(why, n, "setup: model.safetensors is not a safetensors file");
        return -1;
    }
    *model_size = (long)s.size;
    int bad = 0;
    /* cut short: 10 bytes off the data; and inside the header */
    bad |= write_bytes(dir, "truncated.safetensors", s.file, s.size - 10);
    bad |= write_bytes(dir, "truncated_header.safetensors", s.file, 64);
    /* header length = the whole file's size, and 2^62 */
    unsigned char *copy = malloc(s.size);
    if (!copy) bad = 1;
    else {
        memcpy(copy, s.file, s.size);
        put_u64le(copy, s.size);
        bad |= write_bytes(dir, "header_length.safetensors", copy, s.size);
        put_u64le(copy, (uint64_t)1 << 62);
        bad |= write_bytes(dir, "huge_header.safetensors", copy, s.size);
        memcpy(copy, s.file, s.size);
        bad |= copy[8] != '{';
        copy[8] = '['; /* the header's object opens as a list */
        bad |= write_bytes(dir, "bad_json.safetensors", copy, s.size);
        free(copy);
    }
    /* unknown dtype; kernel shape [3,4] for the architecture's [4,3] */
    char *j = edit_entry(s.json, "dense.kernel", "\"F32\"", "\"BOGUS\"");
    bad |= !j || st_write(dir, "bad_dtype.safetensors", j, s.data, s.data_len);
    free(j);
    j = edit_entry(s.json, "dense.kernel", "[4,3]", "[3,4]");
    bad |= !j || st_write(dir, "bad_shape.safetensors", j, s.data, s.data_len);
    free(j);
    /* dense.bias moved onto dense.kernel's first bytes; dense.bias ending far past the data */
    char kt[64], bt[64], nt[96];
    unsigned long long kb, ke, bb, be;
    if (offsets_of(s.json, "dense.kernel", kt, sizeof kt, &kb, &ke) ||
        offsets_of(s.json, "dense.bias", bt, sizeof bt, &bb, &be)) {
        bad = 1;
    } else {
        snprintf(nt, sizeof nt, "[%llu,%llu]", kb, kb + (be - bb));
        j = edit_entry(s.json, "dense.bias", bt, nt);
        bad |= !j || st_write(dir, "overlap.safetensors", j, s.data, s.data_len);
        free(j);
        snprintf(nt, sizeof nt, "[%llu,%llu]", bb, bb + 1000000ULL);
        j = edit_entry(s.json, "dense.bias", bt, nt);
        bad |= !j || st_write(dir, "out_of_range.safetensors", j, s.data, s.data_len);
        free(j);
    }
    st_free(&s);
    if (bad) {
        snprintf(why, n, "setup: could not make the edited copies of model.safetensors (has its header's "
                         "layout changed? 'dense.kernel' shape [4,3], F32, data_offsets)");
        return -1;
    }
    return 0;
}

/* ---- one row -------------------------------------------------------------------------------- */

typedef struct {
    char path[256];
    int existed; /* pre-created with known_bytes (its folder exists); else it must stay absent */
} output_file;

static void run_case(test_run *r, const bad_case *c, const char *dir, const char *bin, long model_size) {
    for (int i = 0; i < 2; i++) {
        if (!c->files[i].name) continue;
        int bad = c->files[i].bytes ? write_bytes(dir, c->files[i].name, c->files[i].bytes, c->files[i].len)
                                    : generate(dir, c->files[i].name);
        if (!CHECK(r, bad == 0, "cannot write %s/%s", dir, c->files[i].name)) return;
    }

    /* the outputs: pre-create each with known bytes where its folder exists */
    output_file outs[8];
    int nouts = 0;
    char words[2048];
    snprintf(words, sizeof words, "%s", c->args);
    int take = 0;
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) {
        if (take && nouts < 8) {
            output_file *o = &outs[nouts++];
            snprintf(o->path, sizeof o->path, "%s", w);
            o->existed = write_bytes(dir, w, known_bytes, sizeof known_bytes - 1) == 0;
        }
        take = !strcmp(w, "--save") || !strcmp(w, "--output") || !strcmp(w, "--history") || !strcmp(w, "--plot");
    }

    char env[32];
    if (c->fail_save_after)
        snprintf(env, sizeof env, "%ld", c->fail_save_after > 0 ? c->fail_save_after : model_size + c->fail_save_after);
    int st = run_cli(dir, bin, c->args, c->fail_save_after ? env : NULL);
    if (!CHECK(r, st >= 0, "could not run %s", bin)) return;

    size_t elen = 0;
    unsigned char *err = read_bytes(dir, "_stderr", &elen);
    int lines = 0;
    for (size_t i = 0; i < elen; i++) lines += err[i] == '\n';
    int ends_in_newline = elen > 0 && err[elen - 1] == '\n';
    if (elen > 1500) strcpy((char *)err + 1480, "\n[... cut]\n"); /* a sanitizer report: its start says enough */
    const char *text = err ? (const char *)err : "";
    char first[1024];
    const char *nl = strchr(text, '\n');
    snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - text) : (int)strlen(text), text);

    if (WIFSIGNALED(st)) {
        CHECK(r, 0, "nnc %s: killed by signal %d (%s); stderr: %s", c->args, WTERMSIG(st),
              WTERMSIG(st) == SIGALRM ? "ran past 30 s" : "crashed", text);
    } else {
        CHECK(r, WEXITSTATUS(st) == c->status, "nnc %s: exit status %d, expected %d; stderr: %s", c->args,
              WEXITSTATUS(st), c->status, text);
    }
    /* one line; a usage error may add the "Try 'nnc ... --help'." hint */
    int hint = c->status == 2 && lines == 2 && nl && !strncmp(nl + 1, "Try 'nnc", 8);
    CHECK(r, ends_in_newline && (lines == 1 || hint),
          "stderr must be one line (plus a \"Try 'nnc ... --help'.\" line for usage errors), got %d: %s", lines, text);
    CHECK(r, !strncmp(first, "nnc", 3), "stderr does not start with 'nnc': %s", first);
    for (int i = 0; i < 4 && c->expect[i]; i++)
        CHECK(r, strstr(first, c->expect[i]) != NULL, "message lacks \"%s\": %s", c->expect[i], first);
    free(err);

    /* outputs untouched */
    for (int i = 0; i < nouts; i++) {
        size_t n = 0;
        unsigned char *now = read_bytes(dir, outs[i].path, &n);
        if (outs[i].existed)
            CHECK(r, now && n == sizeof known_bytes - 1 && !memcmp(now, known_bytes, n),
                  "existing output %s was %s", outs[i].path, now ? "overwritten" : "removed");
        else {
            char folder[1300];
            struct stat sb;
            const char *slash = strrchr(outs[i].path, '/');
            snprintf(folder, sizeof folder, "%s/%.*s", dir, slash ? (int)(slash - outs[i].path) : 0, outs[i].path);
            CHECK(r, !now && (!slash || stat(folder, &sb) != 0),
                  "output %s (or its folder) was created where the folder did not exist", outs[i].path);
        }
        free(now);
    }
    char left[512];
    leftover_temporaries(dir, left, sizeof left);
    CHECK(r, !left[0], "temporary files left behind: %s", left);
}

void suite_cli(test_run *r);
void suite_cli(test_run *r) {
    char dir[] = "/tmp/nnc-cli-XXXXXX";
    char bin[1024], faulty[1024], why[2048] = "", first_failed[300] = "";
    snprintf(bin, sizeof bin, "%s/nnc", NNC_BINARY_DIR);
    snprintf(faulty, sizeof faulty, "%s/nnc_faulty", NNC_BINARY_DIR);
    int state = 0; /* 0: not set up yet, 1: ready, -1: setup failed */
    long model_size = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const bad_case *c = &cases[i];
        if (!t_begin(r, "cli/bad/%s", c->name)) continue;
        if (access(bin, X_OK)) {
            t_skip(r, "the nnc binary is not built");
            continue;
        }
        if (c->files[0].name && !strncmp(c->files[0].name, "keras_", 6) && !keras_fixtures_built()) {
            t_skip(r, "Keras files are not built (NNC_INTEROP off)");
            continue;
        }
        if (c->fail_save_after && access(faulty, X_OK)) {
            t_skip(r, "nnc_faulty (the CLI built with -DNNC_FAULT_INJECTION) is not built");
            continue;
        }
        if (state == 0) {
            state = -1;
            if (!mkdtemp(dir)) snprintf(why, sizeof why, "mkdtemp(/tmp/nnc-cli-XXXXXX) failed: %s", strerror(errno));
            else if (setup(dir, bin, &model_size, why, sizeof why) == 0) state = 1;
            if (state != 1) snprintf(first_failed, sizeof first_failed, "cli/bad/%s", c->name);
        } else if (state == -1) {
            snprintf(why, sizeof why, "setup failed: see %s", first_failed);
        }
        if (CHECK(r, state == 1, "%s", why)) run_case(r, c, dir, c->fail_save_after ? faulty : bin, model_size);
        t_end(r);
    }
    if (state != 0 && strcmp(dir, "/tmp/nnc-cli-XXXXXX")) remove_tree(dir);
}
