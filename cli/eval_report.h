/* eval_report.h: `nnc eval --report` and `--plot FILE.svg`: a classifier's per-class table
 * (precision, recall, F1, support, as scikit-learn's classification_report), its confusion
 * matrix, and a picture of the matrix with, for a binary model (one sigmoid output), its ROC
 * and precision-recall curves.
 *
 * The predictions are the model's (probabilities: a logit output goes through its sigmoid or
 * softmax); a class is a softmax row's argmax, a sigmoid output's p > 0.5. A multi-label
 * model (several sigmoid outputs) gets one row per label and a 2×2 matrix per label.
 * Out of scope: regression models (an error), per-class thresholds, other image formats. */
#ifndef NNC_EVAL_REPORT_H
#define NNC_EVAL_REPORT_H
#include <stddef.h>
#include <stdio.h>
#include "cli.h"

typedef enum { REPORT_MULTICLASS, REPORT_BINARY, REPORT_MULTILABEL } report_kind;

typedef struct {
    report_kind kind;
    size_t classes;        /* classes (binary: 2), or labels (multi-label) */
    char **names;          /* [classes] class or label names (owned) */
    double *cm;            /* [classes × classes] rows: true class, columns: predicted;
                            * multi-label: [labels × 4] tp, fp, fn, tn */
    float *score;          /* binary: [n] the probability of class 1 */
    unsigned char *truth;  /* binary: [n] the true class */
    size_t n;
} cli_report;

/* Predicts d with m and counts, for the model's output `output` (0 for a model of one output;
 * the others' values in a row are skipped). 0, or -1 with a one-line message in err (a
 * regression output, out of memory). */
int cli_report_build(nnc_model *m, const cli_data *d, int output, cli_report *r, char *err, size_t errlen);
/* Whether output `output`'s loss makes it a classifier (a report of it can be made). */
int cli_report_is_classifier(const nnc_model *m, int output);
/* The table and the matrix as text. */
void cli_report_print(const cli_report *r, FILE *f);
/* The same as one JSON object on one line: {"report": {...}}, or {"output": NAME, "report":
 * {...}} given the output's name (a model of several outputs). */
void cli_report_json(const cli_report *r, const char *output, FILE *f);
/* Writes the picture (atomically); 0, or -1 with a one-line message naming the file. */
int cli_report_svg(const cli_report *r, const char *title, const char *path, char *err, size_t errlen);
void cli_report_free(cli_report *r);

/* The exact ROC AUC and average precision of a binary report (scikit-learn's roc_auc_score
 * and average_precision_score). */
void cli_report_auc(const cli_report *r, double *roc_auc, double *average_precision);

#endif
