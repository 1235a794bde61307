/* Tests for the CSV reader (src/data/csv.c, nnc_table_*): RFC 4180 quoting, delimiters told
 * from the file, headers told from the data, text columns, missing cells, where rows are in
 * the file, plain and gzip files, one case per rejected input with its exact location, and a
 * random-input smoke test. Out of scope: the datasets' contents beyond shape (covered by the
 * data-loading tests) and choosing columns (the CLI's, tests/test_cli.c). */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CSV_FILE "data.csv"

/* Parses a copy that ends exactly at the text's length, so over-reads trip the sanitizer. */
static int parse_opts(const char *text, size_t len, const nnc_csv_opts *o, nnc_table *c, char *err, size_t errlen) {
    char *copy = malloc(len ? len : 1);
    if (!copy) return -2;
    memcpy(copy, text, len);
    int rc = nnc_csv_parse(copy, len, CSV_FILE, o, c, err, errlen) ? -1 : 0;
    free(copy);
    return rc;
}

static int parse_exact(const char *text, size_t len, nnc_table *c, char *err, size_t errlen) {
    return parse_opts(text, len, NULL, c, err, errlen);
}

static void good_cases(test_run *r) {
    char err[256];
    nnc_table c;
    if (t_begin(r, "csv/header, spaces, CRLF, trailing blank lines")) {
        const char *t = " a , b\t,c\r\n1,2.5, -3e2 \r\n 4 ,+5,.5\r\n\r\n  \n\n";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err)) {
            static const float want[] = {1, 2.5f, -300, 4, 5, 0.5f};
            CHECK(r, c.rows == 2 && c.cols == 3, "%zux%zu", c.rows, c.cols);
            CHECK(r, !strcmp(c.columns[0].name, "a") && !strcmp(c.columns[1].name, "b") && !strcmp(c.columns[2].name, "c"), "names");
            CHECK(r, c.rows == 2 && !memcmp(c.values, want, sizeof want), "values");
        }
        nnc_table_free(&c);
        CHECK(r, !c.values && !c.columns && !c.rows, "free resets");
        t_end(r);
    }
    if (t_begin(r, "csv/no final newline, one column, BOM")) {
        const char *t = "\xEF\xBB\xBFy\n1\n2";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 1 && c.values[1] == 2.0f && !strcmp(c.columns[0].name, "y"),
              "parse: %s", err);
        nnc_table_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/many rows grow the buffer")) {
        char *t = malloc(20 * 1000 + 16);
        size_t n = (size_t)sprintf(t, "i,sq\n");
        for (int i = 0; i < 1000; i++) n += (size_t)sprintf(t + n, "%d,%d\n", i, i * i);
        int rc = parse_exact(t, n, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 1000 && c.values[2 * 999 + 1] == 998001.0f, "parse: %s", err);
        nnc_table_free(&c);
        free(t);
        t_end(r);
    }
}

/* Inputs the reader refuses, each with the exact place it names. */
static void bad_cases(test_run *r) {
    static const struct { const char *name, *text, *want; } rows[] = {
        {"empty file", "", "data.csv: empty file"},
        {"file of blank lines", "\n \r\n\n", "data.csv: empty file"},
        {"blank first line", "\na,b\n1,2\n", "data.csv:1: the first line is blank"},
        {"empty column name", "a,,c\n1,2,3\n", "data.csv:1: column 2: empty column name"},
        {"duplicate column names", "a,b,a\n1,2,3\n", "data.csv:1: columns 1 and 3 are both named 'a'"},
        {"duplicate quoted column names", "\"x\",y,x\n1,2,3\n", "data.csv:1: columns 1 and 3 are both named 'x'"},
        {"header only", "a,b\n", "data.csv: header only, no data rows"},
        {"header only with blank lines", "a,b\r\n\r\n\n", "header only, no data rows"},
        {"row with too few fields", "a,b\n1,2\n3\n", "data.csv:3: ragged row: expected 2 fields (as in line 1), got 1"},
        {"row with too many fields", "a,b\n1,2,3\n", "data.csv:2: ragged row: expected 2 fields (as in line 1), got 3"},
        {"delimiter changing mid-file", "a;b;c\n1;2;3\n4,5,6\n",
         "data.csv:3: ragged row: expected 3 fields (as in line 1), got 1; the delimiter is ';' but this line holds ','"},
        {"unterminated quote", "a,b\n1,\"2\n3,4\n", "data.csv:2: column 2: unterminated quote"},
        {"unterminated quote in the header", "\"a,b\n1,2\n", "data.csv:1: column 1: unterminated quote"},
        {"quote inside an unquoted field", "a,b\n1,2\"3\n", "data.csv:2: column 2: a quote inside an unquoted field"},
        {"text after a closing quote", "a,b\n\"1\"x,2\n", "data.csv:2: column 1: text after a closing quote: 'x'"},
        {"NaN value", "a,b\n1,nan\n", "data.csv:2: column 2 ('b'): NaN or Inf value: 'nan'"},
        {"Inf value", "a,b\n-inf,1\n", "data.csv:2: column 1 ('a'): NaN or Inf value: '-inf'"},
        {"Infinity value", "a\nInfinity\n", "NaN or Inf value: 'Infinity'"},
        {"double overflow", "a\n1e999\n", "NaN or Inf value: '1e999'"},
        {"float32 overflow", "a\n1e39\n", "column 1 ('a'): value out of float32 range: '1e39'"},
        {"quoted NaN", "a\n\"NaN\"\n2\n", "data.csv:2: column 1 ('a'): NaN or Inf value: 'NaN'"},
        {"blank line inside the data", "a\n1\n\n2\n", "data.csv:3: blank line inside the data"},
        {"lone CR line endings", "a,b\r1,2\r", "data.csv:1: column 2: a carriage return inside the line"},
        {"a tie between delimiters", "a;b,c\n1;2,3\n", "data.csv:1: cannot tell the delimiter: ',' and ';' both appear 1 times"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "csv/rejects %s", rows[i].name)) continue;
        nnc_table c;
        strcpy(err, "(unset)");
        int rc = parse_exact(rows[i].text, strlen(rows[i].text), &c, err, sizeof err);
        CHECK(r, rc == -1, "accepted");
        CHECK(r, strstr(err, rows[i].want) != NULL, "error '%s' lacks '%s'", err, rows[i].want);
        CHECK(r, !c.values && !c.columns && !c.rows && !c.cols, "output not cleared");
        if (rc == 0) nnc_table_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a NUL byte in a cell")) {
        nnc_table c;
        int rc = parse_exact("a\n1\0002\n", 6, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "data.csv:2: column 1: a NUL byte"), "got '%s'", err);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a delimiter that is none of , ; tab |")) {
        nnc_table c;
        nnc_csv_opts o = {':', NNC_HEADER_AUTO};
        int rc = parse_opts("a:b\n1:2\n", 8, &o, &c, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, "the delimiter must be"), "got '%s'", err);
        t_end(r);
    }
}

/* Files the reader takes, but whose columns are not all numbers: nnc_table_check_numbers (and
 * so nnc_dataset_load) says where and why, with a hint when a delimiter or decimal comma is
 * the likely cause. */
static void strict_cases(test_run *r) {
    static const struct { const char *name, *text, *want; } rows[] = {
        {"empty field", "a,b\n1,\n", "data.csv:2: column 2 ('b'): empty field"},
        {"blank field", "a,b\n  ,1\n", "data.csv:2: column 1 ('a'): empty field"},
        {"NA", "a,b\n1,2\n3,NA\n", "data.csv:3: column 2 ('b'): missing value 'NA'"},
        {"question mark", "a,b\n1,?\n", "data.csv:2: column 2 ('b'): missing value '?'"},
        {"non-numeric cell",
         "sepal,petal_w,petal_len\n" "1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n"
         "1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,abc\n",
         "data.csv:17: column 3 ('petal_len'): not a number: 'abc'"},
        {"long non-numeric cell", "a\n1\n0123456789abcdefghijklmnopqrstuvwxyz0123456789\n",
         "data.csv:3: column 1 ('a'): not a number: '0123456789abcdefghijklmnopqrstuvwxyz0123...'"},
        {"number with trailing junk", "a\n1.5kg\n", "not a number: '1.5kg'"},
        {"two numbers in a field", "a\n1 2\n", "not a number: '1 2'"},
        {"hex number", "a\n0x10\n", "not a number: '0x10'"},
        {"decimal comma", "a;b\n1,5;2\n", "column 1 ('a'): not a number: '1,5' (a decimal comma?"},
        {"another delimiter", "a,b\n1;5,2\n", "column 1 ('a'): not a number: '1;5' (is ';' the delimiter? give --delimiter ';')"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "csv/numbers only: rejects %s", rows[i].name)) continue;
        nnc_table c;
        nnc_error e = {"(unset)"};
        int rc = parse_exact(rows[i].text, strlen(rows[i].text), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "the reader refused it: %s", err)) {
            nnc_status st = NNC_OK;
            for (size_t k = 0; k < c.cols && !st; k++) st = nnc_table_check_numbers(&c, k, false, &e);
            CHECK(r, st == NNC_ERR_FORMAT, "accepted");
            CHECK(r, strstr(e.message, rows[i].want) != NULL, "error '%s' lacks '%s'", e.message, rows[i].want);
            nnc_table_free(&c);
        }
        t_end(r);
    }
}

/* RFC 4180 as writers produce it. */
static void quote_cases(test_run *r) {
    char err[256];
    nnc_table c;
    if (t_begin(r, "csv/quoted names, numbers, delimiters, doubled quotes and line breaks")) {
        const char *t = "\"class\",\"a,b\",\"say \"\"hi\"\"\"\r\n"
                        "\"x\",\"1.5\", 2 \r\n"
                        "\"y\nz\", 3 ,\"4\"\r\n"
                        " \"w\" ,5,6\r\n";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err)) {
            CHECK(r, c.rows == 3 && c.cols == 3 && c.header, "%zux%zu", c.rows, c.cols);
            CHECK(r, !strcmp(c.columns[0].name, "class") && !strcmp(c.columns[1].name, "a,b") &&
                     !strcmp(c.columns[2].name, "say \"hi\""), "names '%s' '%s' '%s'", c.columns[0].name,
                  c.columns[1].name, c.columns[2].name);
            CHECK(r, c.columns[0].n_texts == 3 && !strcmp(c.columns[0].texts[1], "x") &&
                     !strcmp(c.columns[0].texts[2], "y\nz") && !strcmp(c.columns[0].texts[0], "w"), "texts");
            CHECK(r, c.values[1] == 1.5f && c.values[2] == 2.0f && c.values[4] == 3.0f && c.values[5] == 4.0f,
                  "numbers");
            CHECK(r, c.values[0] == 1.0f && c.values[3] == 2.0f && c.values[6] == 0.0f, "text indices");
            CHECK(r, nnc_table_line(&c, 0) == 2 && nnc_table_line(&c, 1) == 3 && nnc_table_line(&c, 2) == 5,
                  "lines %zu %zu %zu", nnc_table_line(&c, 0), nnc_table_line(&c, 1), nnc_table_line(&c, 2));
            nnc_table_free(&c);
        }
        t_end(r);
    }
    if (t_begin(r, "csv/delimiters told from the first line")) {
        static const struct { const char *text; char delim; } rows[] = {
            {"a;b;c\n1,5;2;3\n", ';'}, {"a\tb\n1\t2\n", '\t'}, {"a|b\n1|2\n", '|'},
            {"a,b\n1,2\n", ','},       {"\"x;y\",b\n1,2\n", ','}, {"a\n1\n", ','},
        };
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            int rc = parse_exact(rows[i].text, strlen(rows[i].text), &c, err, sizeof err);
            CHECK(r, rc == 0 && c.delimiter == rows[i].delim, "case %zu: %s", i, err);
            if (rc == 0) nnc_table_free(&c);
        }
        nnc_csv_opts o = {';', NNC_HEADER_AUTO};
        int rc = parse_opts("a,b;c\n1,2;3\n", 12, &o, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.cols == 2 && c.columns[0].texts && c.values[1] == 3.0f, "given ';': %s", err);
        if (rc == 0) nnc_table_free(&c);
        t_end(r);
    }
}

/* A header, or none: the first record compared with the rest. */
static void header_cases(test_run *r) {
    static const struct { const char *text; nnc_header_mode mode; int header; size_t rows; } rows[] = {
        {"a,b\n1,2\n", NNC_HEADER_AUTO, 1, 1},
        {"1,2\n3,4\n", NNC_HEADER_AUTO, 0, 2},
        {"5.1,3.5,setosa\n4.9,3.0,virginica\n", NNC_HEADER_AUTO, 0, 2},
        {"x,y,species\n4.9,3.0,virginica\n", NNC_HEADER_AUTO, 1, 1},
        {"name,color\nbob,red\n", NNC_HEADER_AUTO, 1, 1},
        {"1,2\n3,4\n", NNC_HEADER_YES, 1, 1},
        {"a,b\n1,2\n", NNC_HEADER_NO, 0, 2},
        {"2019,2020\n1,2\n", NNC_HEADER_AUTO, 0, 2},
    };
    char err[256];
    nnc_table c;
    if (t_begin(r, "csv/header told from the data, or as given")) {
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            nnc_csv_opts o = {0, rows[i].mode};
            int rc = parse_opts(rows[i].text, strlen(rows[i].text), &o, &c, err, sizeof err);
            CHECK(r, rc == 0 && c.header == (bool)rows[i].header && c.rows == rows[i].rows, "case %zu: %s (header %d, %zu rows)",
                  i, err, rc ? -1 : c.header, rc ? 0 : c.rows);
            if (rc == 0) {
                CHECK(r, c.header || !c.columns[0].name[0], "case %zu: a name without a header", i);
                CHECK(r, nnc_table_line(&c, 0) == (c.header ? 2u : 1u), "case %zu: line %zu", i, nnc_table_line(&c, 0));
                nnc_table_free(&c);
            }
        }
        t_end(r);
    }
    if (t_begin(r, "csv/an unnamed first column is row names (R's write.csv)")) {
        const char *t = "\"\",\"x\",\"y\"\n\"1\",0.5,a\n\"2\",1.5,b\n";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err)) {
            CHECK(r, c.row_names && c.cols == 2 && !strcmp(c.columns[0].name, "x") && c.values[2] == 1.5f, "table");
            nnc_error e = {""};
            CHECK(r, nnc_table_check_numbers(&c, 1, false, &e) && strstr(e.message, "data.csv:2: column 3 ('y')"),
                  "file column counted: %s", e.message);
            nnc_table_free(&c);
        }
        t_end(r);
    }
}

/* Text columns, missing cells, and the cap on distinct texts. */
static void text_cases(test_run *r) {
    char err[256];
    nnc_table c;
    if (t_begin(r, "csv/text columns hold sorted texts; missing cells are NaN and counted")) {
        const char *t = "f,label\n1,yes\nNA,no\n3,\n?,yes\n5,\"1\"\n";
        int rc = parse_exact(t, strlen(t), &c, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err)) {
            const nnc_table_column *f = &c.columns[0], *l = &c.columns[1];
            CHECK(r, !f->texts && f->missing == 2 && f->first_missing_line == 3 && !strcmp(f->first_missing, "NA"),
                  "f: %zu missing, first on %zu", f->missing, f->first_missing_line);
            CHECK(r, l->n_texts == 3 && !strcmp(l->texts[0], "1") && !strcmp(l->texts[1], "no") &&
                     !strcmp(l->texts[2], "yes"), "label texts");
            CHECK(r, l->missing == 1 && l->first_missing_line == 4 && l->first_text_line == 2 &&
                     !strcmp(l->first_text, "yes"), "label missing %zu", l->missing);
            CHECK(r, c.values[1] == 2.0f && c.values[3] == 1.0f && isnan(c.values[5]) && c.values[9] == 0.0f &&
                     isnan(c.values[2]) && c.values[0] == 1.0f, "values");
            nnc_table_free(&c);
        }
        t_end(r);
    }
    if (t_begin(r, "csv/more distinct texts than NNC_TABLE_MAX_TEXTS keeps none")) {
        size_t n = NNC_TABLE_MAX_TEXTS + 1, len = 0;
        char *t = malloc(n * 12 + 8);
        if (CHECK(r, t != NULL, "malloc")) {
            len += (size_t)sprintf(t, "id,x\n");
            for (size_t i = 0; i < n; i++) len += (size_t)sprintf(t + len, "k%zu,%zu\n", i, i % 7);
            int rc = parse_exact(t, len, &c, err, sizeof err);
            if (CHECK(r, rc == 0, "parse: %s", err)) {
                CHECK(r, c.columns[0].too_many_texts && !c.columns[0].texts && isnan(c.values[0]) && c.values[3] == 1.0f,
                      "too many");
                nnc_table_free(&c);
            }
            free(t);
        }
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
    nnc_table c;
    if (!mkdtemp(dir)) {
        if (t_begin(r, "csv/temp dir")) { CHECK(r, 0, "mkdtemp failed"); t_end(r); }
        return;
    }
    if (t_begin(r, "csv/read plain file")) {
        snprintf(path, sizeof path, "%s/plain.csv", dir);
        CHECK(r, write_text(path, text, 0) == 0, "write");
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 3 && c.values[4] == 3.25f && !strcmp(c.columns[2].name, "label"),
              "read: %s", err);
        nnc_table_free(&c);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "csv/read gzip file")) {
        snprintf(path, sizeof path, "%s/data.csv.gz", dir);
        CHECK(r, write_text(path, text, 1) == 0, "gzip write");
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 2 && c.cols == 3 && c.values[3] == 2.0f, "read: %s", err);
        nnc_table_free(&c);
        t_end(r);
    }
    if (t_begin(r, "csv/errors name the gzip file")) {
        char want[200];
        snprintf(path, sizeof path, "%s/bad.csv.gz", dir);
        CHECK(r, write_text(path, "a,b\n1,2\n3\n", 1) == 0, "gzip write");
        snprintf(want, sizeof want, "%s:3: ragged row: expected 2 fields (as in line 1), got 1", path);
        CHECK(r, nnc_csv_read(path, NULL, &c, err, sizeof err) != NNC_OK && !strcmp(err, want), "got '%s'", err);
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
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc != 0 && strstr(err, "trunc.csv.gz: truncated or corrupt gzip data"), "got '%s'", err);
        unlink(path);
        unlink(src);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a missing file")) {
        snprintf(path, sizeof path, "%s/absent.csv", dir);
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc != 0 && strstr(err, "absent.csv: cannot open: No such file or directory"), "got '%s'", err);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects an empty file on disk")) {
        snprintf(path, sizeof path, "%s/empty.csv", dir);
        CHECK(r, write_text(path, "", 0) == 0, "write");
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc != 0 && strstr(err, "empty.csv: empty file"), "got '%s'", err);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "csv/rejects a directory")) {
        int rc = nnc_csv_read(dir, NULL, &c, err, sizeof err);
        CHECK(r, rc != 0 && strstr(err, dir), "got '%s'", err);
        t_end(r);
    }
    rmdir(dir);
    if (t_begin(r, "csv/reads the bundled iris dataset")) {
        snprintf(path, sizeof path, "%s/../data/iris.csv.gz", t_srcdir());
        if (access(path, R_OK)) { t_skip(r, "data/iris.csv.gz not found"); return; }
        int rc = nnc_csv_read(path, NULL, &c, err, sizeof err);
        CHECK(r, rc == 0 && c.rows == 150 && c.cols == 5 && !strcmp(c.columns[4].name, "species"), "read: %s", err);
        nnc_table_free(&c);
        t_end(r);
    }
}

/* Random near-CSV text: every outcome is fine except a crash or an inconsistent result. */
static void fuzz_case(test_run *r) {
    if (!t_begin(r, "csv/fuzz: random near-CSV input never crashes")) return;
    static const char alphabet[] = "0123456789012345678901234567890123456789,,,,..\n\n\n\r -+eEnaif x\t\"\";|NA?";
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
        nnc_table c;
        if (parse_exact(buf, n, &c, err, sizeof err) == 0) {
            ok++;
            if (!c.rows || !c.cols || !c.values || !c.columns) inconsistent++;
            for (size_t k = 0; c.values && k < c.rows * c.cols; k++) {
                const nnc_table_column *col = &c.columns[k % c.cols];
                float v = c.values[k];
                if (isnan(v) ? !col->missing && !col->too_many_texts
                             : !isfinite(v) || (col->texts && (v < 0 || v >= (float)col->n_texts)))
                    inconsistent++;
            }
            nnc_table_free(&c);
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
    strict_cases(r);
    quote_cases(r);
    header_cases(r);
    text_cases(r);
    file_cases(r);
    fuzz_case(r);
}
