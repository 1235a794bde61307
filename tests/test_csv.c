/* Tests for the strict numeric CSV reader (src/data/csv.c): parsing details, plain and gzip
 * files, one case per rejected input with its exact location, and a random-input smoke test.
 * Out of scope: the datasets' contents beyond shape (covered by the data-loading tests). */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CSV_FILE "data.csv"

/* Parses a copy that ends exactly at the text's length, so over-reads trip the sanitizer. */
static int parse_exact(const char *text, size_t len, nnc_csv *c, char *err, size_t errlen) {
    char *copy = malloc(len ? len : 1);
    if (!copy) return -2;
    memcpy(copy, text, len);
    int rc = nnc_csv_parse(copy, len, CSV_FILE, c, err, errlen);
    free(copy);
    return rc;
}

static void good_cases(test_run *r) {
    char err[256];
    nnc_csv c;
    if (t_begin(r, "csv/header, spaces, CRLF, trailing blank lines")) {
        const char *t = " a , b\t,c\r\n1,2.5, -3e2 \r\n 4 ,+5,.5\r\n\r\n  \n\n";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err)) {
            static const float want[] = {1, 2.5f, -300, 4, 5, 0.5f};
            CHECK(r, c.rows == 2 && c.cols == 3, "%zux%zu", c.rows, c.cols);
            CHECK(r, !strcmp(c.header[0], "a") && !strcmp(c.header[1], "b") && !strcmp(c.header[2], "c"), "names");
            CHECK(r, c.rows == 2 && !memcmp(c.values, want, sizeof want), "values");
        }
        nnc_csv_free(&c);
        CHECK(r, !c.values && !c.header && !c.rows, "free resets");
        t_end(r);
    }
    if (t_begin(r, "csv/no final newline, one column, BOM")) {
        const char *t = "\xEF\xBB\xBFy\n1\n2";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 1 && c.values[1] == 2.0f && !strcmp(c.header[0], "y"),
              "parse: %s", err);
        nnc_csv_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/many rows grow the buffer")) {
        char *t = malloc(20 * 1000 + 16);
        size_t n = (size_t)sprintf(t, "i,sq\n");
        for (int i = 0; i < 1000; i++) n += (size_t)sprintf(t + n, "%d,%d\n", i, i * i);
        int rc = parse_exact(t, n, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 1000 && c.values[2 * 999 + 1] == 998001.0f, "parse: %s", err);
        nnc_csv_free(&c);
        free(t);
        t_end(r);
    }
}

static void bad_cases(test_run *r) {
    static const struct { const char *name, *text, *want; } rows[] = {
        {"empty file", "", "data.csv: empty file"},
        {"file of blank lines", "\n \r\n\n", "data.csv: empty file"},
        {"blank header line", "\na,b\n1,2\n", "data.csv:1: the header line is blank"},
        {"empty column name", "a,,c\n1,2,3\n", "data.csv:1: column 2: empty column name"},
        {"header only", "a,b\n", "data.csv: header only, no data rows"},
        {"header only with blank lines", "a,b\r\n\r\n\n", "header only, no data rows"},
        {"row with too few fields", "a,b\n1,2\n3\n", "data.csv:3: ragged row: expected 2 fields (as in the header), got 1"},
        {"row with too many fields", "a,b\n1,2,3\n", "data.csv:2: ragged row: expected 2 fields (as in the header), got 3"},
        {"empty field", "a,b\n1,\n", "data.csv:2: column 2 ('b'): empty field"},
        {"blank field", "a,b\n  ,1\n", "data.csv:2: column 1 ('a'): empty field"},
        {"non-numeric cell",
         "sepal,petal_w,petal_len\n" "1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n"
         "1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,abc\n",
         "data.csv:17: column 3 ('petal_len'): not a number: 'abc'"},
        {"long non-numeric cell", "a\n0123456789abcdefghijklmnopqrstuvwxyz\n",
         "data.csv:2: column 1 ('a'): not a number: '0123456789abcdefghijklmnopqrstuv...'"},
        {"number with trailing junk", "a\n1.5kg\n", "not a number: '1.5kg'"},
        {"two numbers in a field", "a\n1 2\n", "not a number: '1 2'"},
        {"hex number", "a\n0x10\n", "not a number: '0x10'"},
        {"quoted number", "a\n\"1\"\n", "not a number: '\"1\"'"},
        {"decimal comma", "a,b\n1;5,2\n", "column 1 ('a'): not a number: '1;5'"},
        {"NaN value", "a,b\n1,nan\n", "data.csv:2: column 2 ('b'): NaN or Inf value: 'nan'"},
        {"Inf value", "a,b\n-inf,1\n", "data.csv:2: column 1 ('a'): NaN or Inf value: '-inf'"},
        {"Infinity value", "a\nInfinity\n", "NaN or Inf value: 'Infinity'"},
        {"double overflow", "a\n1e999\n", "NaN or Inf value: '1e999'"},
        {"float32 overflow", "a\n1e39\n", "column 1 ('a'): value out of float32 range: '1e39'"},
        {"blank line inside the data", "a\n1\n\n2\n", "data.csv:3: blank line inside the data"},
        {"lone CR line endings", "a,b\r1,2\r", "data.csv:1: carriage return inside the header line"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "csv/rejects %s", rows[i].name)) continue;
        nnc_csv c;
        strcpy(err, "(unset)");
        int rc = parse_exact(rows[i].text, strlen(rows[i].text), &c, err, sizeof err);
        CHECK(r, rc == -1, "accepted");
        CHECK(r, strstr(err, rows[i].want) != NULL, "error '%s' lacks '%s'", err, rows[i].want);
        CHECK(r, !c.values && !c.header && !c.rows && !c.cols, "output not cleared");
        if (rc == 0) nnc_csv_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a NUL byte in a cell")) {
        nnc_csv c;
        int rc = parse_exact("a\n1\0002\n", 6, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "data.csv:2: column 1 ('a'): not a number"), "got '%s'", err);
        t_end(r);
    }
}

static int write_text(const char *path, const char *text, int gz) {
    size_t n = strlen(text);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g) return -1;
        int ok = gzwrite(g, text, (unsigned)n) == (int)n;
        return gzclose(g) == Z_OK && ok ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void file_cases(test_run *r) {
    char dir[] = "/tmp/nnc_test_XXXXXX", path[128], err[256];
    const char *text = "x0,x1,label\n0.5,-1,0\n2,3.25,1\n";
    nnc_csv c;
    if (!mkdtemp(dir)) {
        if (t_begin(r, "csv/temp dir")) { CHECK(r, 0, "mkdtemp failed"); t_end(r); }
        return;
    }
    if (t_begin(r, "csv/read plain file")) {
        snprintf(path, sizeof path, "%s/plain.csv", dir);
        CHECK(r, write_text(path, text, 0) == 0, "write");
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 3 && c.values[4] == 3.25f && !strcmp(c.header[2], "label"),
              "read: %s", err);
        nnc_csv_free(&c);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "csv/read gzip file")) {
        snprintf(path, sizeof path, "%s/data.csv.gz", dir);
        CHECK(r, write_text(path, text, 1) == 0, "gzip write");
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 3 && c.values[3] == 2.0f, "read: %s", err);
        nnc_csv_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/errors name the gzip file")) {
        char want[200];
        snprintf(path, sizeof path, "%s/bad.csv.gz", dir);
        CHECK(r, write_text(path, "a,b\n1,2\n3,x\n", 1) == 0, "gzip write");
        snprintf(want, sizeof want, "%s:3: column 2 ('b'): not a number: 'x'", path);
        CHECK(r, nnc_csv_read(path, &c, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects truncated gzip data")) {
        char src[128];
        size_t n = 0;
        snprintf(src, sizeof src, "%s/data.csv.gz", dir);
        snprintf(path, sizeof path, "%s/trunc.csv.gz", dir);
        FILE *f = fopen(src, "rb"), *g = fopen(path, "wb");
        unsigned char buf[4096];
        if (f) n = fread(buf, 1, sizeof buf, f);
        if (g && n > 10) fwrite(buf, 1, n - 10, g); /* drops the CRC and length trailer */
        if (f) fclose(f);
        if (g) fclose(g);
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "trunc.csv.gz: truncated or corrupt gzip data"), "got '%s'", err);
        unlink(path);
        unlink(src);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a missing file")) {
        snprintf(path, sizeof path, "%s/absent.csv", dir);
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "absent.csv: cannot open: No such file or directory"), "got '%s'", err);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects an empty file on disk")) {
        snprintf(path, sizeof path, "%s/empty.csv", dir);
        CHECK(r, write_text(path, "", 0) == 0, "write");
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "empty.csv: empty file"), "got '%s'", err);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a directory")) {
        int rc = nnc_csv_read(dir, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, dir), "got '%s'", err);
        t_end(r);
    }
    rmdir(dir);
    if (t_begin(r, "csv/reads the bundled iris dataset")) {
        snprintf(path, sizeof path, "%s/../data/iris.csv.gz", t_srcdir());
        if (access(path, R_OK)) { t_skip(r, "data/iris.csv.gz not found"); return; }
        int rc = nnc_csv_read(path, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 150 && c.cols == 5 && !strcmp(c.header[4], "species"), "read: %s", err);
        nnc_csv_free(&c);
        t_end(r);
    }
}

/* Random near-CSV text: every outcome is fine except a crash or an inconsistent result. */
static void fuzz_case(test_run *r) {
    if (!t_begin(r, "csv/fuzz: random near-CSV input never crashes")) return;
    static const char alphabet[] = "0123456789012345678901234567890123456789,,,,..\n\n\n\r -+eEnaif x\t";
    uint64_t state = 99;
    int ok = 0, inconsistent = 0, iters = t_slow(r) ? 100000 : 3000;
    char buf[96], err[256];
    for (int it = 0; it < iters; it++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        size_t n = (size_t)(state >> 40) % sizeof buf, i = 0;
        if (it % 2) memcpy(buf, "a,b\n", i = 4); /* a valid header gets the rows looked at */
        for (; i < n; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            buf[i] = alphabet[(state >> 33) % (sizeof alphabet - 1)];
        }
        nnc_csv c;
        if (parse_exact(buf, n, &c, err, sizeof err) == 0) {
            ok++;
            if (!c.rows || !c.cols || !c.values || !c.header) inconsistent++;
            nnc_csv_free(&c);
        }
    }
    CHECK(r, inconsistent == 0, "%d inconsistent results", inconsistent);
    t_info(r, "%d inputs, %d accepted", iters, ok);
    t_end(r);
}

void suite_csv(test_run *r);
void suite_csv(test_run *r) {
    good_cases(r);
    bad_cases(r);
    file_cases(r);
    fuzz_case(r);
}
