/* Text models from the spec and the command line (issue 14): the `text_vectorization` line
 * (the model's vectorizer and Input, its errors, the summary's first row), and train, save,
 * predict and eval on a small CSV of quoted texts written here (commas, doubled quotes and a
 * line break inside cells), the vocabulary adapted on the training rows only, held-out rows
 * that eval reproduces, and the one-line errors. Needs no fortunes; runs the real binary
 * through the shell (tests/shell.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nnc.h"
#include "test.h"
#include "files.h"
#include "shell.h"

static char dir[] = "/tmp/nnc_textcli_XXXXXX";

static int put_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static char *run(const char *cmd, int *st) {
    char *out = t_shell(dir, cmd, st);
    if (!out) abort();
    return out;
}

static int lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static const char bow_spec[] = "text_vectorization max_tokens=60 output_mode=multi_hot\n"
                               "dense 3 activation=softmax\n"
                               "loss sparse_categorical_crossentropy\n"
                               "optimizer adam learning_rate=0.05\nmetrics accuracy\nfit epochs=30 batch_size=8\n";
static const char seq_spec[] = "TextVectorization 60, output_sequence_length=8\n"
                               "embedding 60 8 mask_zero=true\n"
                               "global_average_pooling1d\n"
                               "dense 3 activation=softmax\n"
                               "loss sparse_categorical_crossentropy\n"
                               "optimizer adam learning_rate=0.05\nmetrics accuracy\nfit epochs=40 batch_size=8\n";

/* Three topics told apart by their words; every cell quoted, some holding commas, doubled
 * quotes or a line break. Rows are pets, cars, food in turn; the last `tail` rows of the
 * training file hold "zebra" (only rows that validate), the test file "quokka". */
static int write_data(void) {
    static const char *const words[3][6] = {{"cat", "dog", "kitten", "puppy", "purr", "leash"},
                                            {"engine", "wheel", "brake", "fuel", "tire", "gear"},
                                            {"bread", "cheese", "soup", "apple", "pasta", "salad"}};
    static const char *const names[3] = {"pets", "cars", "food"};
    char *train = malloc(1 << 16), *test = malloc(1 << 14);
    if (!train || !test) return -1;
    size_t a = (size_t)sprintf(train, "id,text,label\n"), b = (size_t)sprintf(test, "id,text,label\n");
    uint64_t s = 11;
    for (int i = 0; i < 75; i++) {
        int k = i % 3, is_test = i >= 60;
        char cell[256];
        size_t c = 0;
        for (int w = 0; w < 4; w++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            const char *word = words[k][(s >> 33) % 6];
            c += (size_t)sprintf(cell + c, "%s%s%s", w ? (w == 2 ? ", " : " ") : "", w == 0 && i % 2 ? "The " : "", word);
        }
        if (i % 5 == 0) c += (size_t)sprintf(cell + c, " said \"\"yes\"\"");
        if (i % 7 == 0) c += (size_t)sprintf(cell + c, "\nagain!");
        if (i >= 50 && i < 60) c += (size_t)sprintf(cell + c, " zebra");
        if (is_test) c += (size_t)sprintf(cell + c, " quokka");
        char *out = is_test ? test : train;
        size_t *at = is_test ? &b : &a;
        *at += (size_t)sprintf(out + *at, "%d,\"%s\",%s\n", i, cell, names[k]);
    }
    int rc = put_file("train.csv", train) | put_file("test.csv", test) | put_file("bow.nnc", bow_spec) |
             put_file("seq.nnc", seq_spec) | put_file("num.nnc", "input 2\ndense 3 activation=softmax\nloss sparse_categorical_crossentropy\n") |
             put_file("numbers.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,2\n") |
             put_file("empty.csv", "text,label\n,pets\n\"\",cars\nNA,food\n") |
             put_file("two.csv", "a,b\nx y,z\nu,v w\n") | put_file("three.csv", "a,b,c\nx y,z,0\nu,v w,1\nq,r,2\n");
    free(train);
    free(test);
    return rc;
}

/* ---- the spec ---------------------------------------------------------------------------- */

static void spec_cases(test_run *r) {
    nnc_error e = {""};
    if (t_begin(r, "text_cli/a text_vectorization first line: the model's vectorizer and Input")) {
        nnc_model *m = nnc_model_from_spec_text(seq_spec, strlen(seq_spec), "seq.nnc", &e);
        nnc_text_vectorizer *t = m ? nnc_model_text_vectorizer(m) : NULL;
        CHECK(r, t != NULL, "%s", m ? "no vectorizer" : e.message);
        if (t) {
            nnc_text_vec_opts o = nnc_text_vectorizer_opts(t);
            CHECK(r, o.max_tokens == 60 && o.output_sequence_length == 8 && !strcmp(o.output_mode, "int") &&
                     !strcmp(o.standardize, "lower_and_strip_punctuation") && !strcmp(o.split, "whitespace"),
                  "options %d %d %s %s %s", o.max_tokens, o.output_sequence_length, o.output_mode, o.standardize, o.split);
            CHECK(r, nnc_text_vectorizer_vocabulary_size(t) == 0 && nnc_input_size(m) == 8,
                  "not adapted yet, input 8: %zu, %zu", nnc_text_vectorizer_vocabulary_size(t), nnc_input_size(m));
        }
        nnc_model_free(m);
        m = nnc_model_from_spec_text(bow_spec, strlen(bow_spec), "bow.nnc", &e);
        t = m ? nnc_model_text_vectorizer(m) : NULL;
        CHECK(r, t && nnc_input_size(m) == 60 && nnc_text_vectorizer_opts(t).pad_to_max_tokens,
              "multi_hot: max_tokens wide, padded: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    static const struct {
        const char *name, *spec, *want;
    } bad[] = {
        {"after input", "input 4\ntext_vectorization 10 output_sequence_length=4\ndense 2\nloss mse\n",
         "t.nnc:2: text_vectorization: only the first line may be text_vectorization"},
        {"before input", "text_vectorization 10 output_sequence_length=4\ninput 4\ndense 2\nloss mse\n",
         "t.nnc:2: input: the text_vectorization line (line 1) is the model's input; a spec with it has no input line"},
        {"after a layer", "dense 2\ntext_vectorization 10 output_sequence_length=4\nloss mse\n",
         "t.nnc:1: the first statement must be 'input' (e.g. 'input 64') or 'text_vectorization', not 'dense'"},
        {"int without length", "text_vectorization 10\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: output_mode int needs output_sequence_length"},
        {"multi_hot without max_tokens", "text_vectorization output_mode=multi_hot\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: output_mode multi_hot needs max_tokens"},
        {"count with a length", "text_vectorization 10 output_mode=count output_sequence_length=3\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: output_sequence_length is for output_mode int only"},
        {"unpadded", "text_vectorization 10 output_mode=multi_hot pad_to_max_tokens=false\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: pad_to_max_tokens=false"},
        {"near miss of a value", "text_vectorization 10 output_mode=multihot\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: unknown output_mode 'multihot' (did you mean 'multi_hot'?"},
        {"unknown key", "text_vectorization 10 ngrams=2 output_sequence_length=4\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: unknown key 'ngrams'"},
        {"max_tokens too small", "text_vectorization 2 output_sequence_length=4\ndense 2\nloss mse\n",
         "t.nnc:1: text_vectorization: max_tokens 2 must be 0 (no limit) or above the reserved tokens"},
        {"near miss of the statement", "text_vectorisation 10\ndense 2\nloss mse\n",
         "t.nnc:1: unknown layer or statement 'text_vectorisation' (did you mean 'text_vectorization'?)"},
        {"twice", "text_vectorization 10 output_sequence_length=4\ntext_vectorization 10 output_sequence_length=4\n",
         "t.nnc:2: text_vectorization: only the first line may be text_vectorization"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "text_cli/spec error: %s", bad[i].name)) continue;
        e.message[0] = '\0';
        nnc_model *m = nnc_model_from_spec_text(bad[i].spec, strlen(bad[i].spec), "t.nnc", &e);
        CHECK(r, !m && strstr(e.message, bad[i].want) == e.message && !strchr(e.message, '\n'), "got '%s'", e.message);
        nnc_model_free(m);
        t_end(r);
    }
}

/* ---- the command line -------------------------------------------------------------------- */

/* Predictions (the first field of each row after the header) against the test rows' topics. */
static int right(const char *out) {
    static const char *const names[3] = {"pets", "cars", "food"};
    int n = 0, i = 60;
    for (const char *p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'), i++)
        n += !strncmp(p + 1, names[i % 3], strlen(names[i % 3])) && p[1 + strlen(names[i % 3])] == ',';
    return n;
}

static void round_trip(test_run *r, const char *spec) {
    int st;
    char cmd[512];
    if (!t_begin(r, "text_cli/%s: train on a CSV of quoted texts, save, predict and eval", spec)) return;
    snprintf(cmd, sizeof cmd, "nnc train %s --data train.csv --text-column text --label-column label --quiet "
             "--save m.safetensors 2>&1", spec);
    char *t = run(cmd, &st);
    CHECK(r, st == 0 && strstr(t, "note: train.csv: 1 column(s) besides the text and the labels left out: 'id'"),
          "train: %s", t);
    free(t);
    t = run("nnc predict m.safetensors --data test.csv 2>/dev/null", &st);
    CHECK(r, st == 0 && lines(t) == 16 && !strncmp(t, "predicted,prob_cars,prob_food,prob_pets\n", 40),
          "predict: exit %d, %d lines: %s", st, lines(t), t);
    CHECK(r, right(t) >= 14, "%d of 15 test texts classified right:\n%s", right(t), t);
    t_info(r, "%d of 15 test texts classified right", right(t));
    free(t);
    t = run("nnc eval m.safetensors --data test.csv 2>/dev/null", &st);
    CHECK(r, st == 0 && !strncmp(t, "loss: ", 6) && strstr(t, " - accuracy: "), "eval: %s", t);
    const char *acc = strstr(t, "accuracy: ");
    CHECK(r, acc && atof(acc + 10) >= 0.93, "eval: %s", t);
    free(t);
    /* the same model as Keras's file: its TextVectorization with it, the same predictions */
    t = run("nnc convert m.safetensors k.keras && nnc predict k.keras --data test.csv > k.csv && "
            "nnc predict m.safetensors --data test.csv | cmp - k.csv && rm k.keras k.csv", &st);
#ifdef NNC_HAVE_KERAS
    CHECK(r, st == 0, "predict from .keras: exit %d: %s", st, t);
#else
    CHECK(r, st == 1 && strstr(t, "not built"), "a build without Keras files says so: exit %d: %s", st, t);
#endif
    free(t);
    t = run("nnc summary m.safetensors | sed -n 5,6p", &st);
    CHECK(r, st == 0 && strstr(t, "text_vectorization") && strstr(t, "(TextVectorization)"), "summary: %s", t);
    free(t);
    /* raw text from stdin-like files: a column named otherwise, picked by --text-column */
    t = run("printf 'body\\n\"my cat, my dog\"\\n\"fuel for the engine\"\\n' > other.csv && "
            "nnc predict m.safetensors --data other.csv --text-column body", &st);
    CHECK(r, st == 0 && strstr(t, "\npets,") && strstr(t, "\ncars,"), "predict --text-column: %s", t);
    free(t);
    t_end(r);
}

/* The vocabulary comes from the rows that train: not the validation rows (the last 10, which
 * alone hold "zebra"), not the test file ("quokka"), not the rows --test-split holds out. */
static void adapt_cases(test_run *r) {
    int st;
    char path[512];
    if (t_begin(r, "text_cli/the vocabulary is adapted on the training rows only")) {
        char *t = run("nnc train bow.nnc --data train.csv --label-column label --validation-split 0.2 "
                      "--test-data test.csv --quiet --save v.safetensors 2>&1", &st);
        CHECK(r, st == 0 && strstr(t, "test_accuracy: "), "train: %s", t);
        free(t);
        snprintf(path, sizeof path, "%s/v.safetensors", dir);
        nnc_error e = {""};
        nnc_model *m = nnc_model_load(path, &e);
        nnc_text_vectorizer *tv = m ? nnc_model_text_vectorizer(m) : NULL;
        int cat = 0, zebra = 0, quokka = 0;
        for (size_t i = 0; tv && i < nnc_text_vectorizer_vocabulary_size(tv); i++) {
            const char *tok = nnc_text_vectorizer_token(tv, i);
            cat |= !strcmp(tok, "cat"), zebra |= !strcmp(tok, "zebra"), quokka |= !strcmp(tok, "quokka");
        }
        CHECK(r, tv && cat && !zebra && !quokka, "%s: cat %d, zebra %d, quokka %d", tv ? "vocabulary" : e.message, cat,
              zebra, quokka);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "text_cli/eval --test-split reproduces train's test line on text")) {
        char *t = run("nnc train seq.nnc --data train.csv --label-column label --test-split 0.3 --seed 4 --quiet "
                      "--save s.safetensors 2>/dev/null", &st);
        char *e = run("nnc eval s.safetensors --data train.csv --test-split 0.3 --seed 4 2>/dev/null", &st);
        const char *tl = strstr(t, "test_loss: "), *el = strstr(e, "loss: ");
        CHECK(r, st == 0 && tl && el && strtod(tl + 11, NULL) == strtod(el + 6, NULL), "train: %s eval: %s", t, e);
        free(t);
        free(e);
        t_end(r);
    }
}

/* Each misuse: one line, exit status 1, the words that say what is wrong. */
static void error_cases(test_run *r) {
    static const struct {
        const char *name, *cmd, *want;
    } bad[] = {
        {"text for a model that reads numbers", "nnc train num.nnc --data fortunes",
         "nnc train: fortunes: text, but the model reads numbers"},
        {"a CSV text column for a model that reads numbers", "nnc train num.nnc --data three.csv --label-column c",
         "text_vectorization"},
        {"--text-column for a model that reads numbers", "nnc train num.nnc --data numbers.csv --text-column a",
         "nnc train: --text-column: the model reads no text"},
        {"numbers for a text model", "nnc train bow.nnc --data digits",
         "nnc train: digits: numbers, but the model reads text"},
        {"a CSV of numbers for a text model", "nnc train bow.nnc --data numbers.csv",
         "nnc train: numbers.csv: no text column for the model's TextVectorization"},
        {"an empty text column", "nnc train bow.nnc --data empty.csv --text-column text",
         "nnc train: empty.csv: column 1 ('text') is empty, not text for the model's TextVectorization"},
        {"a column of numbers as the text", "nnc train bow.nnc --data train.csv --text-column id --label-column label",
         "nnc train: train.csv: column 1 ('id') holds numbers, not text"},
        {"no such text column", "nnc train bow.nnc --data train.csv --text-column body --label-column label",
         "nnc train: train.csv: no column 'body' (--text-column names the column of text"},
        {"two text columns", "nnc train bow.nnc --data three.csv", "more than one text column"},
        {"--one-hot for a text model", "nnc train bow.nnc --data train.csv --label-column label --one-hot text",
         "--one-hot: the model reads one column of text"},
        {"the text column as the label", "nnc train bow.nnc --data train.csv --text-column text --label-column text",
         "--text-column names a label column"},
        {"eval without the label column", "nnc eval m.safetensors --data other.csv --text-column body",
         "nnc eval: other.csv:1: no column 'label', which the model takes as its label"},
        {"predict on a column the model does not know", "nnc predict m.safetensors --data two.csv",
         "nnc predict: two.csv:1: no column 'text', which the model reads as its text"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "text_cli/error: %s", bad[i].name)) continue;
        int st;
        char cmd[600];
        snprintf(cmd, sizeof cmd, "%s%s 2>&1 >/dev/null", bad[i].cmd, strncmp(bad[i].cmd, "nnc train", 9) ? "" : " --quiet");
        char *t = run(cmd, &st);
        CHECK(r, st == 1 && lines(t) == 1 && strstr(t, bad[i].want), "exit %d: %s", st, t);
        free(t);
        t_end(r);
    }
}

void suite_text_cli(test_run *r);
void suite_text_cli(test_run *r) {
    spec_cases(r);
    if (!mkdtemp(dir) || write_data()) {
        if (t_begin(r, "text_cli/setup")) CHECK(r, 0, "cannot write the test files in %s", dir), t_end(r);
        return;
    }
    round_trip(r, "seq.nnc");
    round_trip(r, "bow.nnc"); /* leaves m.safetensors for the error cases */
    adapt_cases(r);
    error_cases(r);
    remove_tree(dir);
}
