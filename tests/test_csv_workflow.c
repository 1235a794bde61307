/* Your own CSV from train to predict (issue 12): the cases that gave wrong answers without a
 * word (a label column not last used as a feature by predict, a first row of data taken as a
 * header), columns picked by the names the model records, class names, one-hot features,
 * missing values, held-out rows that eval reproduces, validation files; and the library's
 * nnc_model_set_columns checks and their round trip through a model file. Runs the real
 * binary through the shell (tests/shell.c). */
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

static char dir[] = "/tmp/nnc_csvflow_XXXXXX";

static int put_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* Runs cmd in the folder; the output (to free; never NULL), with *st its exit status. */
static char *run(const char *cmd, int *st) {
    char *out = t_shell(dir, cmd, st);
    if (!out) abort(); /* the tests below may then print it without a check */
    return out;
}

/* A line-counting helper: lines of s. */
static int lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static const char spec3[] = "input 3\nnormalization\ndense 8 activation=relu\ndense 3\n"
                            "loss sparse_categorical_crossentropy from_logits=true\n"
                            "optimizer adam learning_rate=0.05\nmetrics accuracy\nfit epochs=40 batch_size=8\n";

/* 90 rows, 3 classes told apart by a; b and c are noise. The label column is first, named
 * "class" (labels 0..2 or names), the way many exported files have it. */
static int write_data(void) {
    char *full = malloc(1 << 16), *feat = malloc(1 << 16), *named = malloc(1 << 16);
    size_t a = 0, b = 0, c = 0;
    uint64_t s = 7;
    static const char *const names[] = {"high", "low", "mid"};
    a += (size_t)sprintf(full, "class,a,b,c\n");
    b += (size_t)sprintf(feat, "a,b,c\n");
    c += (size_t)sprintf(named, "\"class\",\"a\",\"b\",\"c\"\n");
    for (int i = 0; i < 90; i++) {
        int k = i % 3;
        double v[3];
        for (int j = 0; j < 3; j++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            v[j] = (double)(s >> 11) / 9007199254740992.0;
        }
        double x = 2.0 * k + 0.8 * v[0];
        a += (size_t)sprintf(full + a, "%d,%.3f,%.3f,%.3f\n", k, x, v[1], v[2]);
        b += (size_t)sprintf(feat + b, "%.3f,%.3f,%.3f\n", x, v[1], v[2]);
        /* names sorted: high (2), low (0), mid (1) */
        c += (size_t)sprintf(named + c, "\"%s\",%.3f,%.3f,%.3f\n", names[k == 0 ? 1 : k == 1 ? 2 : 0], x, v[1], v[2]);
    }
    int rc = put_file("full.csv", full) | put_file("features.csv", feat) | put_file("named.csv", named) |
             put_file("s3.nnc", spec3);
    free(full);
    free(feat);
    free(named);
    return rc;
}

static void wrong_answers(test_run *r) {
    int st;
    if (t_begin(r, "csv_workflow/predict picks the model's columns by name, not by count")) {
        char *t = run("nnc train s3.nnc --data full.csv --label-column class --quiet --save m.safetensors", &st);
        CHECK(r, st == 0, "train: %s", t);
        free(t);
        char *with_label = run("nnc predict m.safetensors --data full.csv 2>/dev/null", &st);
        CHECK(r, st == 0, "predict on the training file: %s", with_label);
        char *features = run("nnc predict m.safetensors --data features.csv", &st);
        CHECK(r, st == 0 && !strcmp(with_label, features),
              "predictions differ between the file with its label column and the features alone");
        char *told = run("nnc predict m.safetensors --data full.csv --label-column class 2>/dev/null", &st);
        CHECK(r, st == 0 && !strcmp(told, with_label), "predict --label-column: %s", told);
        /* and the predictions are right: the first field of each row against the label */
        int agree = 0;
        const char *p = with_label ? strchr(with_label, '\n') : NULL;
        for (int i = 0; p && p[1]; i++, p = strchr(p + 1, '\n')) agree += atoi(p + 1) == i % 3;
        CHECK(r, agree >= 85, "%d of 90 predictions agree with the labels", agree);
        t_info(r, "%d of 90 predictions agree with the labels", agree);
        free(with_label);
        free(features);
        free(told);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/a first row of numbers is data, not a header")) {
        char *t = run("tail -n +2 full.csv > nohead.csv && nnc predict m.safetensors --data nohead.csv 2>notes", &st);
        CHECK(r, st == 0 && lines(t) == 1 + 90, "exit %d, %d lines (a header and 90 rows): %s", st, lines(t), t);
        free(t);
        t = run("cat notes", &st);
        CHECK(r, strstr(t, "note: nohead.csv: line 1 holds numbers"), "no note: %s", t);
        free(t);
        t = run("nnc predict m.safetensors --data nohead.csv --header yes", &st);
        CHECK(r, st != 0 && strstr(t, "nohead.csv:1:"), "--header yes takes line 1 as names: %s", t);
        free(t);
        t_end(r);
    }
}

static void held_out(test_run *r) {
    int st;
    if (t_begin(r, "csv_workflow/eval --test-split reproduces train's test line")) {
        char *t = run("nnc train s3.nnc --data named.csv --label-column class --test-split 0.3 --seed 5 --json "
                      "--save n.safetensors | tail -1", &st);
        char *e = run("nnc eval n.safetensors --data named.csv --test-split 0.3 --seed 5 --json", &st);
        const char *tl = t ? strstr(t, "\"test_loss\":") : NULL, *el = e ? strstr(e, "\"loss\":") : NULL;
        const char *ta = t ? strstr(t, "\"test_accuracy\":") : NULL, *ea = e ? strstr(e, "\"accuracy\":") : NULL;
        CHECK(r, st == 0 && tl && el && ta && ea, "train: %s eval: %s", t, e);
        if (tl && el && ta && ea) {
            CHECK(r, strtod(tl + 12, NULL) == strtod(el + 7, NULL), "loss: train %s, eval %s", tl, el);
            CHECK(r, strtod(ta + 16, NULL) == strtod(ea + 11, NULL), "accuracy: train %s, eval %s", ta, ea);
        }
        free(t);
        free(e);
        t = run("nnc train s3.nnc --data named.csv --label-column class --test-split 0.3 --seed 5 --quiet", &st);
        e = run("nnc eval n.safetensors --data named.csv --test-split 0.3 --seed 5", &st);
        char *w = t;
        for (const char *p = t; *p; p++) /* train's line less its "test_" prefixes is eval's */
            if (strncmp(p, "test_", 5)) *w++ = *p;
            else p += 4;
        *w = '\0';
        CHECK(r, !strcmp(t, e), "printed: train '%s', eval '%s'", t, e);
        free(t);
        free(e);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/class names in, class names out")) {
        char *t = run("nnc predict n.safetensors --data named.csv --test-split 0.3 --seed 5 | head -2", &st);
        CHECK(r, st == 0 && !strncmp(t, "predicted,prob_high,prob_low,prob_mid\n", 38), "%s", t);
        CHECK(r, (strstr(t, "\nhigh,") || strstr(t, "\nlow,") || strstr(t, "\nmid,")), "no class name: %s", t);
        free(t);
        t = run("nnc predict n.safetensors --data named.csv --json 2>/dev/null | head -1", &st);
        CHECK(r, st == 0 && !strncmp(t, "{\"predicted\":\"", 14) && strstr(t, "\"prob_mid\":"), "%s", t);
        free(t);
        t = run("printf 'class,c,b,a\\nnone,0.5,0.5,1.1\\n' > unknown.csv && nnc eval n.safetensors --data unknown.csv", &st);
        CHECK(r, st == 1 && strstr(t, "unknown.csv:2: column 1 ('class'): 'none' is not one of the 3 classes"),
              "%s", t);
        free(t);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/validation data from a file")) {
        char *t = run("head -61 named.csv > tr.csv && (head -1 named.csv; tail -29 named.csv) > va.csv && "
                      "nnc train s3.nnc --data tr.csv --label-column class --validation-data va.csv --epochs 2 --json",
                      &st);
        CHECK(r, st == 0 && strstr(t, "\"val_loss\":") && strstr(t, "\"val_accuracy\":"), "%s", t);
        free(t);
        t = run("nnc train s3.nnc --data tr.csv --label-column class --validation-data va.csv --validation-split 0.1", &st);
        CHECK(r, st == 2 && strstr(t, "exclude each other"), "%s", t);
        free(t);
        t_end(r);
    }
}

static void encodings(test_run *r) {
    int st;
    if (t_begin(r, "csv_workflow/one-hot features, kept in the model")) {
        const char *data = "color;size;label\nred;1.5;1\nblue;0.5;0\ngreen;1.0;1\nred;1.2;1\nblue;0.7;0\n";
        put_file("colors.csv", data);
        put_file("c.nnc", "input 4\ndense 1 activation=sigmoid\nloss binary_crossentropy\noptimizer adam\n");
        char *t = run("nnc train c.nnc --data colors.csv --one-hot color --epochs 2 --quiet --save c.safetensors", &st);
        CHECK(r, st == 0, "train: %s", t);
        free(t);
        t = run("printf 'size,color\\n1.1,green\\n' > new.csv && nnc predict c.safetensors --data new.csv", &st);
        CHECK(r, st == 0 && !strncmp(t, "predicted,prob_1\n", 17) && lines(t) == 2, "%s", t);
        free(t);
        t = run("printf 'size,color\\n1.1,purple\\n' > bad.csv && nnc predict c.safetensors --data bad.csv", &st);
        CHECK(r, st == 1 && strstr(t, "bad.csv:2: column 2 ('color'): 'purple' is not one of the 3 categories"),
              "%s", t);
        free(t);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/yes and no as binary labels")) {
        put_file("yn.csv", "x,y,answer\n1,2,yes\n-1,0,no\n2,1,yes\n0,-2,no\n");
        put_file("b.nnc", "input 2\ndense 1 activation=sigmoid\nloss binary_crossentropy\noptimizer adam\n");
        char *t = run("nnc train b.nnc --data yn.csv --epochs 1 --quiet --save b.safetensors && "
                      "nnc predict b.safetensors --data yn.csv 2>/dev/null", &st);
        CHECK(r, st == 0 && !strncmp(t, "predicted,prob_yes\n", 19), "%s", t);
        int named = 0;
        for (const char *p = t ? strchr(t, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n'))
            named += !strncmp(p + 1, "yes,", 4) || !strncmp(p + 1, "no,", 3);
        CHECK(r, named == 4, "%d of 4 rows predicted as yes or no: %s", named, t);
        free(t);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/missing values: counted, or left out with --drop-missing")) {
        put_file("miss.csv", "a,b,c,class\n1,2,3,0\nNA,2,3,1\n1,,3,2\n1,2,3,?\n2,3,4,1\n");
        char *t = run("nnc train s3.nnc --data miss.csv --epochs 1", &st);
        CHECK(r, st == 1 && strstr(t, "miss.csv:3: column 1 ('a'): a missing value") && strstr(t, "3 row(s)") &&
                     strstr(t, "--drop-missing"), "%s", t);
        free(t);
        t = run("nnc train s3.nnc --data miss.csv --epochs 1 --drop-missing --quiet", &st);
        CHECK(r, st == 0 && strstr(t, "3 row(s) with a missing value left out (--drop-missing), 2 kept"), "%s", t);
        free(t);
        t_end(r);
    }
    if (t_begin(r, "csv_workflow/several label columns, tabs, R's row names")) {
        put_file("ml.tsv", "\"\"\t\"y1\"\t\"x\"\t\"y2\"\n\"1\"\t1\t0.5\t0\n\"2\"\t0\t-0.5\t1\n");
        put_file("ml.nnc", "input 1\ndense 2 activation=sigmoid\nloss binary_crossentropy\noptimizer adam\n");
        char *t = run("nnc train ml.nnc --data ml.tsv --label-column y1,y2 --epochs 1 --quiet --save ml.safetensors && "
                      "nnc predict ml.safetensors --data ml.tsv", &st);
        CHECK(r, st == 0 && strstr(t, "column 1 has no name: read as row names") &&
                     strstr(t, "pred_y1,pred_y2,prob_y1,prob_y2\n"), "%s", t);
        free(t);
        t_end(r);
    }
}

/* The library's side: what nnc_model_set_columns refuses, and the record's round trip. */
static void library_columns(test_run *r) {
    if (!t_begin(r, "csv_workflow/nnc_model_set_columns checks, and a saved model keeps them")) return;
    static const char spec[] = "input 3\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n";
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, sizeof spec - 1, "t.nnc", &e);
    if (!CHECK(r, m != NULL, "spec: %s", e.message)) {
        t_end(r);
        return;
    }
    static const char *const colors[] = {"blue", "red"}, *const classes[] = {"a", "b", "c"};
    static const char *const twice[] = {"a", "a", "c"}, *const empty[] = {"a", " ", "c"};
    static const char *const four[] = {"a", "b", "c", "d"};
    nnc_column good[] = {{"size", NNC_COLUMN_FEATURE, NULL, 0},
                         {"color", NNC_COLUMN_FEATURE, colors, 2},
                         {"class", NNC_COLUMN_TARGET, classes, 3}};
    nnc_column bad[3];
    const struct { int col; nnc_column c; const char *want; } cases[] = {
        {1, {"color", NNC_COLUMN_FEATURE, NULL, 0}, "make 2 inputs"},
        {0, {"color", NNC_COLUMN_FEATURE, NULL, 0}, "two columns are named 'color'"},
        {2, {"class", NNC_COLUMN_TARGET, twice, 3}, "'a' is given twice"},
        {2, {"class", NNC_COLUMN_TARGET, empty, 3}, "class names 2 is empty"},
        {2, {"class", NNC_COLUMN_TARGET, four, 4}, "4 class names"},
        {2, {"class", (nnc_column_role)7, NULL, 0}, "neither a feature nor a target"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bad, good, sizeof bad);
        bad[cases[i].col] = cases[i].c;
        CHECK(r, nnc_model_set_columns(m, bad, 3) == NNC_ERR_ARG && strstr(nnc_last_error(m), cases[i].want),
              "case %zu: '%s' lacks '%s'", i, nnc_last_error(m), cases[i].want);
    }
    size_t n = 9;
    CHECK(r, nnc_model_columns(m, &n) == NULL && n == 0, "a refused record was kept");
    char path[256];
    snprintf(path, sizeof path, "%s/cols.safetensors", dir);
    CHECK(r, nnc_model_set_columns(m, good, 3) == NNC_OK, "good: %s", nnc_last_error(m));
    CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
    nnc_model *back = nnc_model_load(path, &e);
    const nnc_column *c = back ? nnc_model_columns(back, &n) : NULL;
    CHECK(r, c && n == 3 && !strcmp(c[1].name, "color") && c[1].n_values == 2 && !strcmp(c[1].values[1], "red") &&
                 c[2].role == NNC_COLUMN_TARGET && !strcmp(c[2].values[2], "c") && !c[0].values,
          "round trip: %s", e.message);
    nnc_model_free(back);
    nnc_model_free(m);
    t_end(r);
}

void suite_csv_workflow(test_run *r);
void suite_csv_workflow(test_run *r) {
    if (!mkdtemp(dir) || write_data()) {
        if (t_begin(r, "csv_workflow/setup")) CHECK(r, 0, "cannot write the files in %s", dir), t_end(r);
        return;
    }
    wrong_answers(r);
    held_out(r);
    encodings(r);
    library_columns(r);
    remove_tree(dir);
    memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}
