/* The public face of the CSV reader (csv.c): tables, where their rows are in the file, and
 * the check that turns a column that should hold numbers into a message that says how to fix
 * the file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnc.h"
#include "csv.h"
#include "../format/message.h"

nnc_csv_opts nnc_csv_opts_default(void) {
    nnc_csv_opts o = {0, NNC_HEADER_AUTO};
    return o;
}

nnc_status nnc_table_read_csv(const char *path, const nnc_csv_opts *o, nnc_table *out, nnc_error *err) {
    if (!out) return NNC_ERR_ARG;
    if (err) err->message[0] = '\0';
    return nnc_csv_read(path, o, out, NNC_ERRBUF(err));
}

nnc_status nnc_table_parse_csv(const char *text, size_t len, const char *name, const nnc_csv_opts *o, nnc_table *out,
                               nnc_error *err) {
    char buf[sizeof err->message];
    nnc_status st = nnc_csv_parse(text, len, name, o, out, err ? err->message : buf, err ? sizeof err->message : sizeof buf);
    return st;
}

size_t nnc_table_line(const nnc_table *t, size_t r) {
    if (!t || !t->n_line_jumps) return 0;
    size_t lo = 0, hi = t->n_line_jumps; /* the last jump at or before row r */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->line_jumps[2 * mid] <= r) lo = mid;
        else hi = mid;
    }
    return t->line_jumps[2 * lo + 1] + (r - t->line_jumps[2 * lo]);
}

/* A word on a text that should have been a number: a decimal comma, or another delimiter. */
static void hint(const nnc_table *t, const char *text, char *buf, size_t n) {
    size_t i = 0, digits = 0;
    buf[0] = '\0';
    if (text[i] == '-' || text[i] == '+') i++;
    for (; text[i] >= '0' && text[i] <= '9'; i++) digits++;
    if (digits && text[i] == ',' && text[i + 1] >= '0' && text[i + 1] <= '9') {
        for (i++; text[i] >= '0' && text[i] <= '9'; i++) continue;
        if (!text[i]) {
            snprintf(buf, n, " (a decimal comma? numbers are read with '.' as the decimal point%s)",
                     t->delimiter == ';' ? "" : "; with ';' between fields give --delimiter ';'");
            return;
        }
    }
    static const char other[] = ",;\t|";
    for (int k = 0; k < 4; k++)
        if (other[k] != t->delimiter && strchr(text, other[k])) {
            snprintf(buf, n, " (is %s the delimiter? give --delimiter %s)", other[k] == '\t' ? "tab" : (char[]){'\'', other[k], '\'', 0},
                     other[k] == '\t' ? "tab" : (char[]){'\'', other[k], '\'', 0});
            return;
        }
}

nnc_status nnc_table_check_numbers(const nnc_table *t, size_t c, bool allow_missing, nnc_error *err) {
    if (!t || c >= t->cols) return NNC_ERR_ARG;
    const nnc_table_column *col = &t->columns[c];
    char at[1200], more[160];
    size_t file_col = c + 1 + (t->row_names ? 1 : 0);
    const char *src = t->source ? t->source : "(memory)";
    size_t line = col->first_text_line ? col->first_text_line : col->first_missing_line;
    if (col->name && col->name[0]) snprintf(at, sizeof at, "%s:%zu: column %zu ('%.40s')", src, line, file_col, col->name);
    else snprintf(at, sizeof at, "%s:%zu: column %zu", src, line, file_col);
    if (col->first_text_line) {
        hint(t, col->first_text, more, sizeof more);
        nnc_msg(NNC_ERRBUF(err), "%s: not a number: '%s'%s", at, col->first_text, more);
        return NNC_ERR_FORMAT;
    }
    if (col->missing && !allow_missing) {
        if (col->first_missing[0]) nnc_msg(NNC_ERRBUF(err), "%s: missing value '%s'", at, col->first_missing);
        else nnc_msg(NNC_ERRBUF(err), "%s: empty field", at);
        return NNC_ERR_FORMAT;
    }
    return NNC_OK;
}

void nnc_table_free(nnc_table *t) {
    if (!t) return;
    for (size_t c = 0; t->columns && c < t->cols; c++) {
        nnc_table_column *col = &t->columns[c];
        free(col->name);
        for (size_t i = 0; col->texts && i < col->n_texts; i++) free(col->texts[i]);
        free(col->texts);
    }
    free(t->columns);
    free(t->values);
    free(t->source);
    free(t->line_jumps);
    memset(t, 0, sizeof *t);
}
