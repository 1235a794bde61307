/* nnc train --stream against the same command without it, on the real binary in a fresh
 * temporary folder: a CSV (with a validation split and a streamed --test-data file) and an IDX
 * pair give the same saved bytes and the same test line; and the refusals: a compressed file,
 * a column of categories, a bad cell or an out-of-range label far into the file (named by its
 * line, nothing saved), a truncated IDX file, labels of another length, a bundled dataset,
 * --test-split. Two ranks streaming are in suite_mpi. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "shell.h"

typedef struct {
    char dir[64];
} env;

static FILE *create(const env *e, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    return fopen(path, "wb");
}

static char *sh(const env *e, const char *cmd, int *status) {
    char *out = t_shell(e->dir, cmd, status);
    return out ? out : calloc(1, 1);
}

/* rows rows of 5 features and a class of 3 in column 'cls' (third of 6, so that the label is
 * not last); row bad_row (or none: 0) gets bad_text in a feature. */
static int write_csv(const env *e, const char *name, int rows, int bad_row, const char *bad_text, int label_at) {
    FILE *f = create(e, name);
    if (!f) return -1;
    fprintf(f, "a,b,cls,c,d,\"e\"\r\n");
    for (int i = 1; i <= rows; i++) {
        double v = (double)((i * 37) % 19) / 6.0 - 1.5;
        int cls = i == label_at ? 5 : (v > 0.5) + (v > -0.5);
        if (i == bad_row) fprintf(f, "%g,%s,%d,%g,%g,%g\r\n", v, bad_text, cls, v * v, 1.0 - v, 0.5);
        else fprintf(f, "%g,\"%g\",%d,%g,%g,%g\r\n", v, v * 0.25, cls, v * v, 1.0 - v, (double)(i % 4));
    }
    return fclose(f);
}

static void put_u32(FILE *f, unsigned v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* n images of 4x4 unsigned bytes and their labels 0..2; short_by bytes left off the images. */
static int write_idx(const env *e, const char *img, const char *lab, int n, int labels, int short_by) {
    FILE *fi = create(e, img), *fl = create(e, lab);
    if (!fi || !fl) return -1;
    fwrite("\0\0\x08\x03", 1, 4, fi), put_u32(fi, (unsigned)n), put_u32(fi, 4), put_u32(fi, 4);
    fwrite("\0\0\x08\x01", 1, 4, fl), put_u32(fl, (unsigned)labels);
    for (int i = 0; i < n; i++) {
        int cls = i % 3;
        for (int p = 0; p < 16 - (i == n - 1 ? short_by : 0); p++) fputc((p % 3 == cls ? 200 : 20) + (i * 7 + p) % 40, fi);
    }
    for (int i = 0; i < labels; i++) fputc(i % 3, fl);
    return fclose(fi) | fclose(fl);
}

static const char *spec = "input 5\ndense 8 activation=relu\ndense 3\nloss sparse_categorical_crossentropy "
                          "from_logits=true\noptimizer adam learning_rate=0.01\nmetrics accuracy\n";
static const char *img_spec = "input 4 4 1\nflatten\ndense 8 activation=relu\ndense 3\nloss sparse_categorical_"
                              "crossentropy from_logits=true\noptimizer adam learning_rate=0.01\nmetrics accuracy\n";

/* The same command with and without --stream: the same bytes saved and the same output. */
static void same(test_run *r, const env *e, const char *what, const char *args) {
    if (!t_begin(r, "stream: %s: the bytes and test line of the run without --stream", what)) return;
    char cmd[1024];
    int s1, s2, s3;
    snprintf(cmd, sizeof cmd, "nnc train %s --save mem.nnc --quiet", args);
    char *o1 = sh(e, cmd, &s1);
    snprintf(cmd, sizeof cmd, "nnc train %s --save str.nnc --quiet --stream", args);
    char *o2 = sh(e, cmd, &s2);
    char *o3 = sh(e, "cmp mem.nnc str.nnc && echo SAME", &s3);
    CHECK(r, s1 == 0 && s2 == 0, "runs failed:\n%s\n%s", o1, o2);
    CHECK(r, s3 == 0 && strstr(o3, "SAME"), "the saved models differ: %s", o3);
    CHECK(r, !strcmp(o1, o2), "outputs differ:\n%s\n%s", o1, o2);
    CHECK(r, strstr(o1, "test_accuracy") != NULL, "no test line: %s", o1);
    free(o1), free(o2), free(o3);
    t_end(r);
}

/* A streamed run that must fail: exit 1 (2 for a usage error), the message, nothing saved. */
static void refused(test_run *r, const env *e, const char *what, const char *args, int want, const char *expect) {
    if (!t_begin(r, "stream: refused: %s", what)) return;
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "rm -f out.nnc; nnc train %s --stream --save out.nnc --quiet; echo \"rc=$?\"; "
             "test -e out.nnc && echo SAVED", args);
    char *o = sh(e, cmd, &st);
    char rc[16];
    snprintf(rc, sizeof rc, "rc=%d", want);
    CHECK(r, strstr(o, rc) && strstr(o, expect) && !strstr(o, "SAVED"), "wanted %s and '%s', got:\n%s", rc, expect, o);
    free(o);
    t_end(r);
}

void suite_cli_stream(test_run *r);
void suite_cli_stream(test_run *r) {
    env e;
    snprintf(e.dir, sizeof e.dir, "/tmp/nnc-stream-XXXXXX");
    if (!mkdtemp(e.dir)) return;
    FILE *f = create(&e, "s.nnc");
    if (f) fputs(spec, f), fclose(f);
    f = create(&e, "c.nnc");
    if (f) fputs("input 3\ndense 2\nloss sparse_categorical_crossentropy from_logits=true\n", f), fclose(f);
    f = create(&e, "img.nnc");
    if (f) fputs(img_spec, f), fclose(f);
    write_csv(&e, "train.csv", 500, 0, NULL, 0);
    write_csv(&e, "test.csv", 120, 0, NULL, 0);
    write_csv(&e, "badcell.csv", 500, 437, "1.5x", 0);
    write_csv(&e, "badlabel.csv", 500, 0, NULL, 401);
    write_csv(&e, "missing.csv", 500, 250, "NA", 0);
    write_idx(&e, "tr-images-idx3-ubyte", "tr-labels-idx1-ubyte", 300, 300, 0);
    write_idx(&e, "te-images-idx3-ubyte", "te-labels-idx1-ubyte", 90, 90, 0);
    write_idx(&e, "short-images-idx3-ubyte", "short-labels-idx1-ubyte", 50, 50, 3);
    write_idx(&e, "odd-images-idx3-ubyte", "odd-labels-idx1-ubyte", 50, 49, 0);
    int st;
    free(sh(&e, "gzip -c train.csv > train.csv.gz; printf 'x,y,label\\n1,red,0\\n2,blue,1\\n3,red,1\\n' > cat.csv", &st));

    same(r, &e, "a CSV, label by name, a validation split, --test-data streamed",
         "s.nnc --data train.csv --label-column cls --test-data test.csv --validation-split 0.2 --epochs 3 "
         "--batch-size 16 --seed 4 --threads 2");
    same(r, &e, "IDX images and labels, --test-data streamed",
         "img.nnc --data tr-images-idx3-ubyte --labels tr-labels-idx1-ubyte --test-data te-images-idx3-ubyte "
         "--test-labels te-labels-idx1-ubyte --epochs 3 --batch-size 32 --seed 2");
    refused(r, &e, "a compressed CSV", "s.nnc --data train.csv.gz --label-column cls", 1, "gunzip it first");
    refused(r, &e, "a column of categories", "c.nnc --data cat.csv --one-hot y", 1, "columns of numbers only");
    refused(r, &e, "a bad cell on line 438, met while training",
            "s.nnc --data badcell.csv --label-column cls --epochs 2", 1, "badcell.csv:438: column 2 ('b'): not a number: '1.5x'");
    refused(r, &e, "a missing value", "s.nnc --data missing.csv --label-column cls --epochs 2", 1,
            "missing.csv:251: column 2 ('b'): a missing value");
    refused(r, &e, "a label out of range on line 402", "s.nnc --data badlabel.csv --label-column cls --epochs 2", 1,
            "badlabel.csv:402: column 3 ('cls'): label 5 is out of range");
    refused(r, &e, "a truncated IDX file",
            "img.nnc --data short-images-idx3-ubyte --labels short-labels-idx1-ubyte", 1, "but its header says 50 rows");
    refused(r, &e, "labels of another length",
            "img.nnc --data odd-images-idx3-ubyte --labels odd-labels-idx1-ubyte", 1, "49 labels for the 50 images");
    refused(r, &e, "a bundled dataset", "s.nnc --data iris", 1, "not a bundled dataset");
    refused(r, &e, "--test-split", "s.nnc --data train.csv --label-column cls --test-split 0.2", 2,
            "not with --test-split");
    remove_tree(e.dir);
}
