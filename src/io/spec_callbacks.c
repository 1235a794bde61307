/* The spec file's `callback NAME key=value...` lines: Keras's callbacks built from their
 * arguments, in order, owned by the model's training state until nnc_model_free. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "spec_callbacks.h"
#include "../train/train_impl.h"

static int arg_mode(spec_ctx *c, nnc_monitor_mode *out) {
    spec_word *w = spec_arg(c, -1, "mode");
    if (!w) return 0;
    if (!strcmp(w->val, "auto")) *out = NNC_MODE_AUTO;
    else if (!strcmp(w->val, "min")) *out = NNC_MODE_MIN;
    else if (!strcmp(w->val, "max")) *out = NNC_MODE_MAX;
    else return spec_fail(c, "%s: bad value '%s' for mode (expected auto, min or max)", c->stmt, w->val);
    return 0;
}

/* The constructor's verdict: its message already names the callback and the value. */
static int made(spec_ctx *c, nnc_callback *cb, const nnc_error *e, nnc_callback **out) {
    if (!cb) return spec_fail(c, "callback %s", e->message);
    *out = cb;
    return 0;
}

static int cb_early_stopping(spec_ctx *c, nnc_callback **out) {
    nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
    nnc_error e = {""};
    if (spec_string(c, 1, "monitor", &o.monitor) || spec_double(c, -1, "min_delta", 0, 1e300, 0, &o.min_delta) ||
        spec_int(c, -1, "patience", 0, 1 << 30, &o.patience, 0) || spec_int(c, -1, "verbose", 0, 2, &o.verbose, 0) ||
        arg_mode(c, &o.mode) || spec_double(c, -1, "baseline", -1e300, 1e300, 1, &o.baseline) ||
        spec_bool(c, -1, "restore_best_weights", &o.restore_best_weights) ||
        spec_int(c, -1, "start_from_epoch", 0, 1 << 30, &o.start_from_epoch, 0) ||
        spec_check_all_used(c, "monitor, min_delta, patience, verbose, mode, baseline, restore_best_weights, "
                          "start_from_epoch"))
        return -1;
    return made(c, nnc_early_stopping(&o, &e), &e, out);
}

static int cb_model_checkpoint(spec_ctx *c, nnc_callback **out) {
    nnc_model_checkpoint_opts o = nnc_model_checkpoint_opts_default(NULL);
    nnc_error e = {""};
    if (spec_string(c, 1, "filepath", &o.filepath) || spec_string(c, -1, "monitor", &o.monitor) ||
        spec_int(c, -1, "verbose", 0, 2, &o.verbose, 0) || spec_bool(c, -1, "save_best_only", &o.save_best_only) ||
        spec_bool(c, -1, "save_weights_only", &o.save_weights_only) || arg_mode(c, &o.mode) ||
        spec_double(c, -1, "initial_value_threshold", -1e300, 1e300, 1, &o.initial_value_threshold) ||
        spec_check_all_used(c, "filepath, monitor, verbose, save_best_only, save_weights_only, mode, "
                          "initial_value_threshold"))
        return -1;
    if (!o.filepath) return spec_fail(c, "%s: missing filepath (e.g. filepath=ckpt-{epoch:02d}.safetensors)", c->stmt);
    return made(c, nnc_model_checkpoint(&o, &e), &e, out);
}

static int cb_reduce_lr(spec_ctx *c, nnc_callback **out) {
    nnc_reduce_lr_opts o = nnc_reduce_lr_opts_default();
    nnc_error e = {""};
    if (spec_string(c, 1, "monitor", &o.monitor) || spec_double(c, -1, "factor", -1e300, 1e300, 0, &o.factor) ||
        spec_int(c, -1, "patience", 0, 1 << 30, &o.patience, 0) || spec_int(c, -1, "verbose", 0, 2, &o.verbose, 0) ||
        arg_mode(c, &o.mode) || spec_double(c, -1, "min_delta", 0, 1e300, 0, &o.min_delta) ||
        spec_int(c, -1, "cooldown", 0, 1 << 30, &o.cooldown, 0) ||
        spec_double(c, -1, "min_lr", 0, 3.4e38, 0, &o.min_lr) ||
        spec_check_all_used(c, "monitor, factor, patience, verbose, mode, min_delta, cooldown, min_lr"))
        return -1;
    return made(c, nnc_reduce_lr_on_plateau(&o, &e), &e, out);
}

static int cb_csv_logger(spec_ctx *c, nnc_callback **out) {
    nnc_csv_logger_opts o = nnc_csv_logger_opts_default(NULL);
    nnc_error e = {""};
    const char *sep = NULL;
    if (spec_string(c, 1, "filename", &o.filename) || spec_string(c, -1, "separator", &sep) ||
        spec_bool(c, -1, "append", &o.append) || spec_check_all_used(c, "filename, separator, append"))
        return -1;
    if (!o.filename) return spec_fail(c, "%s: missing filename (e.g. filename=log.csv)", c->stmt);
    if (sep) {
        if (!strcmp(sep, "\\t")) o.separator = '\t';
        else if (strlen(sep) == 1) o.separator = sep[0];
        else return spec_fail(c, "%s: bad value '%s' for separator (expected one character, or \\t)", c->stmt, sep);
    }
    return made(c, nnc_csv_logger(&o, &e), &e, out);
}

static int cb_terminate_on_nan(spec_ctx *c, nnc_callback **out) {
    if (spec_check_all_used(c, "no keys")) return -1;
    *out = nnc_terminate_on_nan();
    return *out ? 0 : spec_fail(c, "%s: out of memory", c->stmt);
}

static int cb_backup_and_restore(spec_ctx *c, nnc_callback **out) {
    nnc_backup_and_restore_opts o = nnc_backup_and_restore_opts_default(NULL);
    nnc_error e = {""};
    if (spec_string(c, 1, "backup_dir", &o.backup_dir) || spec_bool(c, -1, "delete_checkpoint", &o.delete_checkpoint) ||
        spec_check_all_used(c, "backup_dir, delete_checkpoint"))
        return -1;
    if (!o.backup_dir) return spec_fail(c, "%s: missing backup_dir (e.g. backup_dir=backup)", c->stmt);
    return made(c, nnc_backup_and_restore(&o, &e), &e, out);
}

static const struct {
    const char *name, *keras_class;
    int (*build)(spec_ctx *c, nnc_callback **out);
} callback_table[] = {
    {"early_stopping", "EarlyStopping", cb_early_stopping},
    {"model_checkpoint", "ModelCheckpoint", cb_model_checkpoint},
    {"reduce_lr_on_plateau", "ReduceLROnPlateau", cb_reduce_lr},
    {"csv_logger", "CSVLogger", cb_csv_logger},
    {"terminate_on_nan", "TerminateOnNaN", cb_terminate_on_nan},
    {"backup_and_restore", "BackupAndRestore", cb_backup_and_restore},
};


int nnc_spec_callback(spec_ctx *c) {
    const size_t n = sizeof callback_table / sizeof *callback_table;
    char names[256];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", callback_table[i].name);
    spec_word *w = spec_positional(c, 0);
    if (!w) return spec_fail(c, "callback: missing the callback's name (one of %s)", names);
    w->used = 1;
    size_t i = 0;
    while (i < n && strcmp(w->val, callback_table[i].name) && strcmp(w->val, callback_table[i].keras_class)) i++;
    if (i == n) {
        char tail[300];
        spec_near near;
        spec_near_start(&near, w->val);
        for (size_t k = 0; k < n; k++) spec_near_try_styled(&near, callback_table[k].name, callback_table[k].keras_class);
        snprintf(tail, sizeof tail, "one of %s", names);
        return spec_fail_near(c, &near, tail, "callback: unknown callback '%s'", w->val);
    }
    nnc_model *m = c->m;
    if (m->train->n_spec_callbacks == NNC_MAX_SPEC_CALLBACKS)
        return spec_fail(c, "callback: at most %d callback lines", NNC_MAX_SPEC_CALLBACKS);
    char stmt[96];
    snprintf(stmt, sizeof stmt, "callback %s", callback_table[i].name);
    const char *saved = c->stmt;
    c->stmt = stmt;
    nnc_callback *cb = NULL;
    int rc = callback_table[i].build(c, &cb);
    c->stmt = saved;
    if (rc) return rc;
    m->train->spec_callbacks[m->train->n_spec_callbacks++] = cb;
    return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */
