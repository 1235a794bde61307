#!/usr/bin/python3
"""Writes tests/fixtures/metrics.txt: fixed predictions and targets (binary, multi-class,
multi-label, regression, with sample weights) and the value of each metric case computed by
scikit-learn (or, for AUC with Keras's thresholds, by a line-for-line numpy port of Keras 3's
AUC, whose distance to scikit-learn's exact area is printed and stored as well).

Run with the system Python, which has numpy and scikit-learn 1.2:
    /usr/bin/python3 tools/make_metric_fixtures.py

The file is read by tests/test_metrics.c. Tensors use tests/fixture.h's layout
("name ndim dims... values..."); each case is a comment line the test reads too:
    #case NAME DATASET|LOSS|METRICS LINE|LOG KEY
The test builds `input K / activation linear / loss LOSS / METRICS LINE`, feeds the dataset's
predictions as the input in uneven batches, with the dataset's weights as fit's sample
weights, and compares the log key (KEY_0, KEY_1, ... for a vector) with ref_NAME."""
import os
import sys

import numpy as np
from sklearn import metrics as skm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "metrics.txt")
rng = np.random.default_rng(20260515)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- datasets: predictions as float32 (what nnc sees), targets, weights ------------------------
data = {}
n = 103
p = f32(rng.uniform(0.002, 0.998, n))
y = (rng.uniform(size=n) < p).astype(np.float32)
data["bin"] = dict(x=p[:, None], Y=y[:, None], w=f32(rng.uniform(0.5, 2.0, n)))
z = f32(rng.normal(0.0, 2.0, n))  # logits of a from_logits model
data["logit"] = dict(x=z[:, None], Y=(rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(np.float32)[:, None],
                     w=f32(rng.uniform(0.5, 2.0, n)))
n, k = 97, 4
lab = rng.integers(0, k, n)
P = f32(softmax(rng.normal(0, 1, (n, k)) + 1.2 * np.eye(k)[lab]))
data["mc"] = dict(x=P, y=f32(lab)[:, None], Y=f32(np.eye(k)[lab]), w=f32(rng.uniform(0.5, 2.0, n)))
n, k = 89, 3
P = f32(rng.uniform(0.002, 0.998, (n, k)))
data["ml"] = dict(x=P, Y=(rng.uniform(size=(n, k)) < P).astype(np.float32), w=f32(rng.uniform(0.5, 2.0, n)))
n, k = 71, 2
Y = f32(rng.normal(0, 2, (n, k)) + np.array([3.0, -4.0]))
data["reg"] = dict(x=f32(Y + rng.normal(0, 0.7, (n, k))), Y=Y, w=f32(rng.uniform(0.5, 2.0, n)))


def d64(name):
    d = data[name]
    return {key: np.asarray(v, dtype=np.float64) for key, v in d.items()}


# ---- Keras 3's AUC, ported from keras/src/metrics/confusion_metrics.py and metrics_utils.py ----
def keras_auc(y, p, w, num_thresholds=200, curve="ROC", summation="interpolation", multi_label=False):
    T = num_thresholds
    p = np.clip(f32(p), np.float32(0), np.float32(1))
    # _update_confusion_matrix_variables_optimized with thresholds_with_epsilon
    bucket = np.ceil(p * np.float32(T - 1)) - np.float32(1)
    bucket = np.maximum(bucket, 0).astype(np.int64)
    pos = np.asarray(y) != 0
    w = np.broadcast_to(np.asarray(w, dtype=np.float64)[:, None], p.shape)
    cols = [slice(j, j + 1) for j in range(p.shape[1])] if multi_label else [slice(None)]
    aucs = []
    for c in cols:
        b, ps, ww = bucket[:, c].ravel(), pos[:, c].ravel(), w[:, c].ravel()
        tp = np.cumsum(np.bincount(b[ps], ww[ps], minlength=T)[::-1])[::-1]
        fp = np.cumsum(np.bincount(b[~ps], ww[~ps], minlength=T)[::-1])[::-1]
        P, N = ww[ps].sum(), ww[~ps].sum()
        fn, tn = P - tp, N - fp
        dnn = lambda a, b: np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)
        if curve == "PR" and summation == "interpolation":
            dtp = tp[:-1] - tp[1:]
            pp = tp + fp
            dp = pp[:-1] - pp[1:]
            slope = dnn(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * pp[1:]
            ratio = np.where((pp[:-1] > 0) & (pp[1:] > 0), dnn(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
            aucs.append(np.sum(dnn(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))))
            continue
        recall = dnn(tp, tp + fn)
        if curve == "ROC":
            x, yy = dnn(fp, fp + tn), recall
        else:
            x, yy = recall, dnn(tp, tp + fp)
        if summation == "interpolation":
            h = (yy[:-1] + yy[1:]) / 2
        elif summation == "minoring":
            h = np.minimum(yy[:-1], yy[1:])
        else:
            h = np.maximum(yy[:-1], yy[1:])
        aucs.append(np.sum((x[:-1] - x[1:]) * h))
    return float(np.mean(aucs))


def onehot_flat(d, weighted):
    w = np.repeat(d["w"], d["Y"].shape[1]) if weighted else None
    return d["Y"].ravel(), d["x"].ravel(), w


def topk_mask(P, k):
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    m = np.zeros_like(P, dtype=bool)
    np.put_along_axis(m, order, True, axis=1)
    return m


# ---- the cases ------------------------------------------------------------------------------
cases = []      # (name, dataset, loss, metrics line, key, value(s))
notes = []      # AUC: Keras's approximation against scikit-learn's exact area


def case(name, ds, loss, line, key, value):
    cases.append((name, ds, loss, line, key, np.atleast_1d(np.asarray(value, dtype=np.float64))))


def W(d, weighted):
    return d["w"] if weighted else None


for wtd in (False, True):
    s = "w_" if wtd else ""
    mlist = "weighted_metrics" if wtd else "metrics"
    pre = "weighted_" if False else ""
    # binary: one sigmoid output
    d = d64("bin")
    yb, pb = d["Y"][:, 0], d["x"][:, 0]
    BCE = "binary_crossentropy"
    case(s + "bin_accuracy", "bin", BCE, mlist + " accuracy", "accuracy", skm.accuracy_score(yb, pb > 0.5, sample_weight=W(d, wtd)))
    case(s + "bin_binary_accuracy_07", "bin", BCE, mlist + " binary_accuracy(threshold=0.7)", "binary_accuracy",
         skm.accuracy_score(yb, pb > 0.7, sample_weight=W(d, wtd)))
    case(s + "bin_precision", "bin", BCE, mlist + " precision", "precision", skm.precision_score(yb, pb > 0.5, sample_weight=W(d, wtd)))
    case(s + "bin_precision_03", "bin", BCE, mlist + " precision(thresholds=0.3)", "precision",
         skm.precision_score(yb, pb > 0.3, sample_weight=W(d, wtd)))
    case(s + "bin_recall", "bin", BCE, mlist + " recall", "recall", skm.recall_score(yb, pb > 0.5, sample_weight=W(d, wtd)))
    case(s + "bin_recall_07", "bin", BCE, mlist + " recall(0.7)", "recall", skm.recall_score(yb, pb > 0.7, sample_weight=W(d, wtd)))
    case(s + "bin_f1", "bin", BCE, mlist + " f1_score", "f1_score", skm.f1_score(yb, pb > 0.5, sample_weight=W(d, wtd)))
    case(s + "bin_fbeta2", "bin", BCE, mlist + " fbeta_score(beta=2.0,threshold=0.4)", "fbeta_score",
         skm.fbeta_score(yb, pb > 0.4, beta=2.0, sample_weight=W(d, wtd)))
    for curve in ("ROC", "PR"):
        exact = (skm.roc_auc_score if curve == "ROC" else skm.average_precision_score)(yb, pb, sample_weight=W(d, wtd))
        case(s + "bin_auc_exact_" + curve, "bin", BCE, mlist + " auc(curve=%s,exact=true)" % curve, "auc", exact)
        for summ in ("interpolation", "minoring", "majoring"):
            approx = keras_auc(d["Y"], d["x"], d["w"] if wtd else np.ones(len(yb)), curve=curve, summation=summ)
            case(s + "bin_auc_%s_%s" % (curve, summ), "bin", BCE, mlist + " auc(curve=%s,summation_method=%s)" % (curve, summ),
                 "auc", approx)
            notes.append("%-34s keras %.6f  sklearn exact %.6f  difference %+.6f" % (s + "bin_auc_%s_%s" % (curve, summ),
                                                                                   approx, exact, approx - exact))
        approx = keras_auc(d["Y"], d["x"], d["w"] if wtd else np.ones(len(yb)), num_thresholds=1000, curve=curve)
        case(s + "bin_auc_1000_" + curve, "bin", BCE, mlist + " auc(1000,curve=%s)" % curve, "auc", approx)
        notes.append("%-34s keras %.6f  sklearn exact %.6f  difference %+.6f" % (s + "bin_auc_1000_" + curve, approx, exact,
                                                                               approx - exact))
    # logits: the loss from_logits, metrics on the sigmoid
    d = d64("logit")
    yz, z = d["Y"][:, 0], d["x"][:, 0]
    LG = "binary_crossentropy from_logits=true"
    case(s + "logit_accuracy", "logit", LG, mlist + " accuracy", "accuracy", skm.accuracy_score(yz, z > 0, sample_weight=W(d, wtd)))
    case(s + "logit_precision", "logit", LG, mlist + " precision", "precision", skm.precision_score(yz, z > 0, sample_weight=W(d, wtd)))
    case(s + "logit_auc_exact", "logit", LG, mlist + " auc(exact=true)", "auc", skm.roc_auc_score(yz, z, sample_weight=W(d, wtd)))
    # multi-class: softmax, one-hot (categorical) and class-index (sparse) targets
    d = d64("mc")
    lab, P = d["y"][:, 0].astype(int), d["x"]
    K = P.shape[1]
    am = P.argmax(axis=1)
    CCE, SCCE = "categorical_crossentropy", "sparse_categorical_crossentropy"
    case(s + "mc_accuracy", "mc", SCCE, mlist + " accuracy", "accuracy", skm.accuracy_score(lab, am, sample_weight=W(d, wtd)))
    case(s + "mc_categorical_accuracy", "mc", CCE, mlist + " categorical_accuracy", "categorical_accuracy",
         skm.accuracy_score(lab, am, sample_weight=W(d, wtd)))
    case(s + "mc_sparse_categorical_accuracy", "mc", SCCE, mlist + " sparse_categorical_accuracy",
         "sparse_categorical_accuracy", skm.accuracy_score(lab, am, sample_weight=W(d, wtd)))
    for kk in (2, 3):
        t = skm.top_k_accuracy_score(lab, P, k=kk, labels=range(K), sample_weight=W(d, wtd))
        case(s + "mc_top_k_%d" % kk, "mc", CCE, mlist + " top_k_categorical_accuracy(k=%d)" % kk, "top_k_categorical_accuracy", t)
        case(s + "mc_sparse_top_k_%d" % kk, "mc", SCCE, mlist + " sparse_top_k_categorical_accuracy(%d)" % kk,
             "sparse_top_k_categorical_accuracy", t)
    yf, pf, wf = onehot_flat(d, wtd)
    case(s + "mc_precision", "mc", CCE, mlist + " precision", "precision", skm.precision_score(yf, pf > 0.5, sample_weight=wf))
    case(s + "mc_precision_sparse", "mc", SCCE, mlist + " precision", "precision", skm.precision_score(yf, pf > 0.5, sample_weight=wf))
    case(s + "mc_recall", "mc", CCE, mlist + " recall", "recall", skm.recall_score(yf, pf > 0.5, sample_weight=wf))
    for cid in (0, 2):
        case(s + "mc_precision_class_%d" % cid, "mc", CCE, mlist + " precision(class_id=%d)" % cid, "precision",
             skm.precision_score(lab == cid, P[:, cid] > 0.5, sample_weight=W(d, wtd)))
        case(s + "mc_recall_class_%d" % cid, "mc", SCCE, mlist + " recall(class_id=%d)" % cid, "recall",
             skm.recall_score(lab == cid, P[:, cid] > 0.5, sample_weight=W(d, wtd)))
    tk = topk_mask(P, 2).ravel()
    case(s + "mc_precision_top_2", "mc", CCE, mlist + " precision(top_k=2)", "precision", skm.precision_score(yf, tk, sample_weight=wf))
    case(s + "mc_recall_top_2", "mc", CCE, mlist + " recall(top_k=2)", "recall", skm.recall_score(yf, tk, sample_weight=wf))
    tk = topk_mask(P, 2) & (P > 0.3)
    case(s + "mc_precision_top_2_03_class_1", "mc", CCE, mlist + " precision(0.3,2,1)", "precision",
         skm.precision_score(lab == 1, tk[:, 1], sample_weight=W(d, wtd)))
    case(s + "mc_auc_exact_micro", "mc", CCE, mlist + " auc(exact=true)", "auc", skm.roc_auc_score(yf, pf, sample_weight=wf))
    case(s + "mc_auc_pr_exact_micro", "mc", SCCE, mlist + " auc(curve=PR,exact=true)", "auc",
         skm.average_precision_score(yf, pf, sample_weight=wf))
    case(s + "mc_auc", "mc", CCE, mlist + " auc", "auc", keras_auc(d["Y"], P, d["w"] if wtd else np.ones(len(lab))))
    for avg in ("micro", "macro", "weighted"):
        case(s + "mc_f1_" + avg, "mc", CCE, mlist + " f1_score(average=%s)" % avg, "f1_score",
             skm.f1_score(lab, am, labels=range(K), average=avg, sample_weight=W(d, wtd)))
        case(s + "mc_fbeta05_" + avg, "mc", SCCE, mlist + " fbeta_score(%s,0.5)" % avg, "fbeta_score",
             skm.fbeta_score(lab, am, beta=0.5, labels=range(K), average=avg, sample_weight=W(d, wtd)))
    case(s + "mc_f1_none", "mc", CCE, mlist + " f1_score", "f1_score",
         skm.f1_score(lab, am, labels=range(K), average=None, sample_weight=W(d, wtd)))
    case(s + "mc_f1_none_03", "mc", CCE, mlist + " f1_score(threshold=0.3)", "f1_score",
         skm.f1_score(d["Y"], P > 0.3, average=None, sample_weight=W(d, wtd), zero_division=0))
    # multi-label: sigmoid outputs, 0/1 per label
    d = d64("ml")
    Y, P = d["Y"], d["x"]
    yf, pf, wf = onehot_flat(d, wtd)
    case(s + "ml_accuracy", "ml", BCE, mlist + " accuracy", "accuracy", 1 - skm.hamming_loss(Y, P > 0.5, sample_weight=W(d, wtd)))
    case(s + "ml_binary_accuracy_06", "ml", BCE, mlist + " binary_accuracy(threshold=0.6)", "binary_accuracy",
         1 - skm.hamming_loss(Y, P > 0.6, sample_weight=W(d, wtd)))
    case(s + "ml_precision", "ml", BCE, mlist + " precision", "precision", skm.precision_score(yf, pf > 0.5, sample_weight=wf))
    case(s + "ml_recall_class_2", "ml", BCE, mlist + " recall(class_id=2)", "recall",
         skm.recall_score(Y[:, 2], P[:, 2] > 0.5, sample_weight=W(d, wtd)))
    for avg in (None, "micro", "macro", "weighted"):
        case(s + "ml_f1_%s" % avg, "ml", BCE, mlist + " f1_score(average=%s,threshold=0.5)" % avg, "f1_score",
             skm.f1_score(Y, P > 0.5, average=avg, sample_weight=W(d, wtd)))
    case(s + "ml_auc_multi_exact", "ml", BCE, mlist + " auc(multi_label=true,exact=true)", "auc",
         skm.roc_auc_score(Y, P, average="macro", sample_weight=W(d, wtd)))
    case(s + "ml_auc_multi_pr_exact", "ml", BCE, mlist + " auc(curve=PR,multi_label=true,exact=true)", "auc",
         skm.average_precision_score(Y, P, average="macro", sample_weight=W(d, wtd)))
    for curve in ("ROC", "PR"):
        approx = keras_auc(Y, P, d["w"] if wtd else np.ones(len(Y)), curve=curve, multi_label=True)
        case(s + "ml_auc_multi_" + curve, "ml", BCE, mlist + " auc(curve=%s,multi_label=true)" % curve, "auc", approx)
        exact = (skm.roc_auc_score if curve == "ROC" else skm.average_precision_score)(Y, P, average="macro",
                                                                                     sample_weight=W(d, wtd))
        notes.append("%-34s keras %.6f  sklearn exact %.6f  difference %+.6f" % (s + "ml_auc_multi_" + curve, approx, exact,
                                                                               approx - exact))
    # regression
    d = d64("reg")
    Y, P = d["Y"], d["x"]
    MSE = "mse"
    case(s + "reg_mse", "reg", MSE, mlist + " mse", "mse", skm.mean_squared_error(Y, P, sample_weight=W(d, wtd)))
    case(s + "reg_mae", "reg", MSE, mlist + " mae", "mae", skm.mean_absolute_error(Y, P, sample_weight=W(d, wtd)))
    case(s + "reg_mape", "reg", MSE, mlist + " mape", "mean_absolute_percentage_error",
         100 * skm.mean_absolute_percentage_error(Y, P, sample_weight=W(d, wtd)))
    case(s + "reg_r2", "reg", MSE, mlist + " r2_score", "r2_score", skm.r2_score(Y, P, sample_weight=W(d, wtd)))
    case(s + "reg_r2_vw", "reg", MSE, mlist + " r2_score(variance_weighted_average)", "r2_score",
         skm.r2_score(Y, P, sample_weight=W(d, wtd), multioutput="variance_weighted"))
    case(s + "reg_r2_none", "reg", MSE, mlist + " r2_score(class_aggregation=None)", "r2_score",
         skm.r2_score(Y, P, sample_weight=W(d, wtd), multioutput="raw_values"))
    r2, nn, pp = skm.r2_score(Y, P, sample_weight=W(d, wtd)), Y.size, 3
    case(s + "reg_r2_adjusted", "reg", MSE, mlist + " r2_score(num_regressors=3)", "r2_score",
         1 - (1 - r2) * (nn - 1) / (nn - pp - 1))


# ---- `nnc eval --report` on the multi-class and binary sets ------------------------------------
report = {}
d = d64("mc")
lab, am = d["y"][:, 0].astype(int), d["x"].argmax(axis=1)
pr, rc, f1, sup = skm.precision_recall_fscore_support(lab, am, labels=range(4), zero_division=0)
report["report_mc_precision"], report["report_mc_recall"], report["report_mc_f1"], report["report_mc_support"] = pr, rc, f1, sup
report["report_mc_confusion"] = skm.confusion_matrix(lab, am, labels=range(4))
cr = skm.classification_report(lab, am, output_dict=True, zero_division=0)
report["report_mc_macro"] = [cr["macro avg"][q] for q in ("precision", "recall", "f1-score")]
report["report_mc_weighted"] = [cr["weighted avg"][q] for q in ("precision", "recall", "f1-score")]
report["report_mc_accuracy"] = cr["accuracy"]
d = d64("bin")
report["report_bin_roc_auc"] = skm.roc_auc_score(d["Y"][:, 0], d["x"][:, 0])
report["report_bin_average_precision"] = skm.average_precision_score(d["Y"][:, 0], d["x"][:, 0])
report["report_bin_confusion"] = skm.confusion_matrix(d["Y"][:, 0], d["x"][:, 0] > 0.5)


def put(f, name, a):
    a = np.asarray(a)
    f.write("%s %d %s %s\n" % (name, a.ndim, " ".join(str(s) for s in a.shape),
                               " ".join("%.9e" % v for v in a.ravel())))


with open(OUT, "w") as f:
    f.write("# Metrics fixtures, written by tools/make_metric_fixtures.py (scikit-learn %s, numpy %s).\n"
            % (__import__("sklearn").__version__, np.__version__))
    f.write("# Keras's AUC against scikit-learn's exact area (num_thresholds 200 unless named):\n")
    for line in notes:
        f.write("#   " + line + "\n")
    for name, d in data.items():
        for key, v in d.items():
            put(f, "%s_%s" % (name, key), v)
    for name, ds, loss, line, key, value in cases:
        f.write("#case %s %s|%s|%s|%s\n" % (name, ds, loss, line, key))
        put(f, "ref_" + name, value)
    for name, v in report.items():
        put(f, name, np.asarray(v, dtype=np.float64))
print("%s: %d cases" % (os.path.relpath(OUT), len(cases)))
for line in notes:
    print(line)
