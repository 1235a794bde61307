/* Keras 3's built-in callbacks (keras.callbacks): EarlyStopping, ModelCheckpoint,
 * ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN and BackupAndRestore.
 * Each follows Keras's documented behaviour and its counters exactly:
 *   - monitoring: a value improves on the best when, lower being better, value + |min_delta| <
 *     best (EarlyStopping) or value < best − min_delta (ReduceLROnPlateau), and the mirror
 *     when higher is better; NaN never improves. Mode auto: the monitored metric's direction
 *     (higher is better for the accuracies, precision, recall, auc, the f-scores and r2), else
 *     higher when the name contains "acc". A monitor missing from the logs is skipped (a
 *     warning once per fit);
 *   - EarlyStopping: the wait grows each monitored epoch, restarts on an improvement that
 *     also beats the baseline, and stops training when wait >= patience past epoch 0;
 *     restore_best_weights copies the whole parameter arena at each improvement (the first
 *     monitored epoch counts as best) and puts it back when the fit ends without an error;
 *   - ReduceLROnPlateau: in cooldown the counter drops and the wait stays 0; after patience
 *     epochs without improvement the rate becomes max(lr · factor, min_lr) (when lr > min_lr)
 *     and the cooldown starts;
 *   - BackupAndRestore writes the model and its optimizer state with the epoch to resume from.
 * Departures: BackupAndRestore deletes only its own file (and the folder when that leaves it
 * empty), not the whole folder; CSVLogger ends lines with "\n". Nothing here runs inside a
 * training step: buffers are made at train begin, files are written between epochs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "callbacks.h"
#include "../format/message.h"
#include "../format/atomic.h"
#include "../format/pyformat.h"
#include "../format/safetensors.h"

typedef enum {
    CB_EARLY_STOPPING,
    CB_MODEL_CHECKPOINT,
    CB_REDUCE_LR,
    CB_LR_SCHEDULER,
    CB_CSV_LOGGER,
    CB_TERMINATE_ON_NAN,
    CB_BACKUP_AND_RESTORE
} cb_kind;

#define MONITOR_MAX NNC_LOG_NAME_MAX /* as nnc_logs names */
#define PATH_MAX_LEN 4096

struct nnc_callback {
    cb_kind kind;
    char monitor[MONITOR_MAX];
    char *path; /* filepath, filename or backup_dir */
    char *file; /* BackupAndRestore: backup_dir/backup.safetensors */
    union {
        nnc_early_stopping_opts es;
        nnc_model_checkpoint_opts mc;
        nnc_reduce_lr_opts rlr;
        nnc_csv_logger_opts csv;
        nnc_backup_and_restore_opts bk;
        struct {
            nnc_lr_schedule fn;
            void *user;
            int verbose;
        } sched;
    } o; /* the options, their strings copied above */
    /* monitoring state */
    int higher;       /* 1: higher is better */
    double best;
    int best_set;     /* ModelCheckpoint: its best survives between fits, as Keras's */
    int wait, cooldown_counter, stopped_epoch, best_epoch, warned;
    /* EarlyStopping */
    float *best_weights;
    int have_best_weights;
    /* ModelCheckpoint */
    char *pathbuf;
    size_t pathcap;
    /* CSVLogger */
    FILE *csv;
    int header, n_keys;
    char keys[NNC_MAX_LOGS][NNC_LOG_NAME_MAX];
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void say(const nnc_cb_runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const nnc_cb_runner *r, const char *fmt, ...) {
    if (!r->root) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
    fflush(r->out);
}

static int higher_is_better(nnc_monitor_mode mode, const char *monitor) {
    if (mode == NNC_MODE_MAX) return 1;
    if (mode == NNC_MODE_MIN) return 0;
    return strstr(monitor, "acc") != NULL;
}

static nnc_callback *cb_new(cb_kind kind, nnc_error *err) {
    nnc_callback *cb = calloc(1, sizeof *cb);
    if (!cb) nnc_msg(NNC_ERRBUF(err), "callback: out of memory");
    else cb->kind = kind;
    return cb;
}

static const char *const kind_names[] = {
    [CB_EARLY_STOPPING] = "early_stopping",         [CB_MODEL_CHECKPOINT] = "model_checkpoint",
    [CB_REDUCE_LR] = "reduce_lr_on_plateau",        [CB_LR_SCHEDULER] = "learning_rate_scheduler",
    [CB_CSV_LOGGER] = "csv_logger",                 [CB_TERMINATE_ON_NAN] = "terminate_on_nan",
    [CB_BACKUP_AND_RESTORE] = "backup_and_restore",
};

const char *nnc_callback_name(const nnc_callback *cb) { return cb ? kind_names[cb->kind] : NULL; }

static int set_monitor(nnc_callback *cb, const char *monitor, nnc_monitor_mode mode, nnc_error *err) {
    const char *who = kind_names[cb->kind];
    if (!monitor || !*monitor || strlen(monitor) >= MONITOR_MAX) {
        nnc_msg(NNC_ERRBUF(err), "%s: bad value '%s' for monitor (expected a log key such as val_loss)", who,
                monitor ? monitor : "(null)");
        return -1;
    }
    if (mode != NNC_MODE_AUTO && mode != NNC_MODE_MIN && mode != NNC_MODE_MAX) {
        nnc_msg(NNC_ERRBUF(err), "%s: bad value %d for mode (expected auto, min or max)", who, (int)mode);
        return -1;
    }
    snprintf(cb->monitor, sizeof cb->monitor, "%s", monitor);
    cb->higher = higher_is_better(mode, monitor);
    return 0;
}

static int set_path(nnc_callback *cb, const char *path, const char *key, nnc_error *err) {
    const char *who = kind_names[cb->kind];
    if (!path || !*path) {
        nnc_msg(NNC_ERRBUF(err), "%s: missing %s", who, key);
        return -1;
    }
    if (strlen(path) >= PATH_MAX_LEN) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s is longer than %d bytes", who, key, PATH_MAX_LEN - 1);
        return -1;
    }
    cb->path = malloc(strlen(path) + 1);
    if (!cb->path) {
        nnc_msg(NNC_ERRBUF(err), "%s: out of memory", who);
        return -1;
    }
    memcpy(cb->path, path, strlen(path) + 1);
    return 0;
}

static int bad_count(const char *who, const char *key, int v, nnc_error *err) {
    if (v >= 0) return 0;
    nnc_msg(NNC_ERRBUF(err), "%s: bad value '%d' for %s (expected an integer >= 0)", who, v, key);
    return -1;
}

static int bad_number(const char *who, const char *key, double v, int nan_ok, nnc_error *err) {
    if (isfinite(v) || (nan_ok && isnan(v))) return 0;
    nnc_msg(NNC_ERRBUF(err), "%s: bad value '%g' for %s (expected a finite number)", who, v, key);
    return -1;
}


/* Records "who: <the model's current error>" as the model's error. */
static nnc_status fail_prefixed(nnc_model *m, nnc_status st, const char *who) {
    char inner[NNC_ERR_MAX];
    memcpy(inner, m->error, sizeof inner);
    inner[sizeof inner - 1] = '\0';
    return nnc_fail(m, st, "%s: %s", who, inner);
}

/* ---- constructors ------------------------------------------------------------------------- */

nnc_early_stopping_opts nnc_early_stopping_opts_default(void) {
    nnc_early_stopping_opts o;
    memset(&o, 0, sizeof o);
    o.monitor = "val_loss";
    o.mode = NNC_MODE_AUTO;
    o.baseline = (double)NAN;
    return o;
}

nnc_callback *nnc_early_stopping(const nnc_early_stopping_opts *o, nnc_error *err) {
    const char *who = "early_stopping";
    nnc_early_stopping_opts def = nnc_early_stopping_opts_default();
    if (!o) o = &def;
    nnc_callback *cb = cb_new(CB_EARLY_STOPPING, err);
    if (!cb || set_monitor(cb, o->monitor, o->mode, err) || bad_count(who, "patience", o->patience, err) ||
        bad_count(who, "start_from_epoch", o->start_from_epoch, err) ||
        bad_number(who, "min_delta", o->min_delta, 0, err) || bad_number(who, "baseline", o->baseline, 1, err)) {
        nnc_callback_free(cb);
        return NULL;
    }
    cb->o.es = *o;
    cb->o.es.monitor = NULL;
    return cb;
}

nnc_model_checkpoint_opts nnc_model_checkpoint_opts_default(const char *filepath) {
    nnc_model_checkpoint_opts o;
    memset(&o, 0, sizeof o);
    o.filepath = filepath;
    o.monitor = "val_loss";
    o.mode = NNC_MODE_AUTO;
    o.initial_value_threshold = (double)NAN;
    return o;
}

nnc_callback *nnc_model_checkpoint(const nnc_model_checkpoint_opts *o, nnc_error *err) {
    const char *who = "model_checkpoint";
    if (!o) {
        nnc_msg(NNC_ERRBUF(err), "%s: no options", who);
        return NULL;
    }
    nnc_callback *cb = cb_new(CB_MODEL_CHECKPOINT, err);
    char msg[512];
    if (!cb || set_monitor(cb, o->monitor, o->mode, err) || set_path(cb, o->filepath, "filepath", err) ||
        bad_number(who, "initial_value_threshold", o->initial_value_threshold, 1, err)) {
        nnc_callback_free(cb);
        return NULL;
    }
    /* The syntax is checked now; the log keys when the first epoch ends. */
    size_t cap = nnc_filepath_cap(cb->path);
    char *probe = malloc(cap);
    int bad = !probe || nnc_format_filepath(cb->path, 1, NULL, probe, cap, msg, sizeof msg);
    free(probe);
    if (bad) {
        nnc_msg(NNC_ERRBUF(err), "%s: %s", who, probe ? msg : "out of memory");
        nnc_callback_free(cb);
        return NULL;
    }
    cb->o.mc = *o;
    cb->o.mc.filepath = cb->o.mc.monitor = NULL;
    return cb;
}

nnc_reduce_lr_opts nnc_reduce_lr_opts_default(void) {
    nnc_reduce_lr_opts o;
    memset(&o, 0, sizeof o);
    o.monitor = "val_loss";
    o.factor = 0.1;
    o.patience = 10;
    o.mode = NNC_MODE_AUTO;
    o.min_delta = 1e-4;
    return o;
}

nnc_callback *nnc_reduce_lr_on_plateau(const nnc_reduce_lr_opts *o, nnc_error *err) {
    const char *who = "reduce_lr_on_plateau";
    nnc_reduce_lr_opts def = nnc_reduce_lr_opts_default();
    if (!o) o = &def;
    nnc_callback *cb = cb_new(CB_REDUCE_LR, err);
    if (!cb || set_monitor(cb, o->monitor, o->mode, err) || bad_count(who, "patience", o->patience, err) ||
        bad_count(who, "cooldown", o->cooldown, err) || bad_number(who, "min_delta", o->min_delta, 0, err)) {
        nnc_callback_free(cb);
        return NULL;
    }
    if (!(o->factor >= 0.0 && o->factor < 1.0)) {
        nnc_msg(NNC_ERRBUF(err), "%s: bad value '%g' for factor (expected a number in [0, 1): the new rate is "
                "lr * factor)", who, o->factor);
        nnc_callback_free(cb);
        return NULL;
    }
    if (!(o->min_lr >= 0.0) || isinf(o->min_lr)) {
        nnc_msg(NNC_ERRBUF(err), "%s: bad value '%g' for min_lr (expected a finite number >= 0)", who, o->min_lr);
        nnc_callback_free(cb);
        return NULL;
    }
    cb->o.rlr = *o;
    cb->o.rlr.monitor = NULL;
    return cb;
}

nnc_callback *nnc_learning_rate_scheduler(nnc_lr_schedule schedule, void *user, int verbose,
                                          nnc_error *err) {
    if (!schedule) {
        nnc_msg(NNC_ERRBUF(err), "learning_rate_scheduler: no schedule function");
        return NULL;
    }
    nnc_callback *cb = cb_new(CB_LR_SCHEDULER, err);
    if (!cb) return NULL;
    cb->o.sched.fn = schedule;
    cb->o.sched.user = user;
    cb->o.sched.verbose = verbose;
    return cb;
}

nnc_csv_logger_opts nnc_csv_logger_opts_default(const char *filename) {
    nnc_csv_logger_opts o;
    memset(&o, 0, sizeof o);
    o.filename = filename;
    o.separator = ',';
    return o;
}

nnc_callback *nnc_csv_logger(const nnc_csv_logger_opts *o, nnc_error *err) {
    if (!o) {
        nnc_msg(NNC_ERRBUF(err), "csv_logger: no options");
        return NULL;
    }
    nnc_callback *cb = cb_new(CB_CSV_LOGGER, err);
    if (!cb || set_path(cb, o->filename, "filename", err)) {
        nnc_callback_free(cb);
        return NULL;
    }
    if (!o->separator || strchr("\"\r\n", o->separator)) {
        nnc_msg(NNC_ERRBUF(err), "csv_logger: bad separator (expected one character other than '\"' or a line end)");
        nnc_callback_free(cb);
        return NULL;
    }
    cb->o.csv = *o;
    cb->o.csv.filename = NULL;
    return cb;
}

nnc_callback *nnc_terminate_on_nan(void) { return cb_new(CB_TERMINATE_ON_NAN, NULL); }

nnc_backup_and_restore_opts nnc_backup_and_restore_opts_default(const char *backup_dir) {
    nnc_backup_and_restore_opts o = {backup_dir, true};
    return o;
}

nnc_callback *nnc_backup_and_restore(const nnc_backup_and_restore_opts *o, nnc_error *err) {
    if (!o) {
        nnc_msg(NNC_ERRBUF(err), "backup_and_restore: no options");
        return NULL;
    }
    nnc_callback *cb = cb_new(CB_BACKUP_AND_RESTORE, err);
    if (!cb || set_path(cb, o->backup_dir, "backup_dir", err)) {
        nnc_callback_free(cb);
        return NULL;
    }
    size_t len = strlen(cb->path);
    const char *name = "backup.safetensors";
    cb->file = malloc(len + strlen(name) + 2);
    if (!cb->file) {
        nnc_msg(NNC_ERRBUF(err), "backup_and_restore: out of memory");
        nnc_callback_free(cb);
        return NULL;
    }
    snprintf(cb->file, len + strlen(name) + 2, "%s%s%s", cb->path, cb->path[len - 1] == '/' ? "" : "/", name);
    cb->o.bk = *o;
    cb->o.bk.backup_dir = NULL;
    return cb;
}

/* What a fit took: buffers and open files. */
static void cb_release(nnc_callback *cb) {
    free(cb->best_weights);
    cb->best_weights = NULL;
    free(cb->pathbuf);
    cb->pathbuf = NULL;
    if (cb->csv) fclose(cb->csv);
    cb->csv = NULL;
}

void nnc_callback_free(nnc_callback *cb) {
    if (!cb) return;
    cb_release(cb);
    free(cb->path);
    free(cb->file);
    free(cb);
}

/* ---- the events ---------------------------------------------------------------------------- */

/* The learning rate a file's optimizer state holds, if any (BackupAndRestore): ReduceLROnPlateau
 * and LearningRateScheduler change it. A schedule's rate follows the restored iterations. */
static void restore_learning_rate(nnc_model *m, const char *path) {
    nnc_st_file f;
    if (m->train->copts.optimizer.schedule.kind != NNC_SCHEDULE_NONE) return;
    char msg[256];
    if (nnc_st_read(path, &f, msg, sizeof msg)) return;
    const nnc_st_tensor *t = nnc_st_find(&f, "optimizer.learning_rate");
    if (t && t->dtype == NNC_ST_F32 && t->ndim == 0 && t->nbytes == sizeof(float)) {
        float lr;
        memcpy(&lr, t->data, sizeof lr);
        if (lr >= 0.0f && isfinite(lr)) m->train->copts.optimizer.learning_rate = lr;
    }
    nnc_st_free(&f);
}

static nnc_status begin_one(nnc_cb_runner *r, nnc_callback *cb, int *initial_epoch) {
    nnc_model *m = r->m;
    cb->wait = cb->cooldown_counter = cb->stopped_epoch = cb->best_epoch = cb->warned = 0;
    cb->have_best_weights = 0;
    /* mode auto: the monitored metric's direction, as Keras reads its _direction */
    nnc_monitor_mode mode = cb->kind == CB_EARLY_STOPPING ? cb->o.es.mode : cb->kind == CB_REDUCE_LR ? cb->o.rlr.mode
                            : cb->kind == CB_MODEL_CHECKPOINT ? cb->o.mc.mode : NNC_MODE_MIN;
    int dir = mode == NNC_MODE_AUTO ? nnc_metrics_higher_is_better(m, cb->monitor) : -1;
    if (dir >= 0 && !cb->best_set) cb->higher = dir;
    switch (cb->kind) {
    case CB_EARLY_STOPPING:
        cb->best = cb->higher ? -(double)INFINITY : (double)INFINITY;
        if (cb->o.es.restore_best_weights) {
            cb->best_weights = malloc(m->n_param_floats * sizeof(float) + 1);
            if (!cb->best_weights) return nnc_fail(m, NNC_ERR_NOMEM, "early_stopping: out of memory");
        }
        break;
    case CB_REDUCE_LR:
    case CB_LR_SCHEDULER: /* both set the optimizer's rate */
        cb->best = cb->higher ? -(double)INFINITY : (double)INFINITY;
        if (m->train->copts.optimizer.schedule.kind != NNC_SCHEDULE_NONE)
            return nnc_fail(m, NNC_ERR_ARG, "%s: the optimizer's learning rate follows a %s schedule and "
                            "cannot be set (as in Keras)", kind_names[cb->kind],
                            nnc_schedule_name(m->train->copts.optimizer.schedule.kind));
        break;
    case CB_MODEL_CHECKPOINT: {
        if (!cb->best_set) {
            cb->best = !isnan(cb->o.mc.initial_value_threshold) ? cb->o.mc.initial_value_threshold
                       : cb->higher                              ? -(double)INFINITY
                                                                 : (double)INFINITY;
            cb->best_set = 1;
        }
        cb->pathcap = nnc_filepath_cap(cb->path);
        if (cb->pathcap > PATH_MAX_LEN) cb->pathcap = PATH_MAX_LEN;
        cb->pathbuf = malloc(cb->pathcap);
        if (!cb->pathbuf) return nnc_fail(m, NNC_ERR_NOMEM, "model_checkpoint: out of memory");
        break;
    }
    case CB_CSV_LOGGER: {
        cb->header = 1;
        cb->n_keys = -1;
        if (cb->o.csv.append) {
            FILE *f = fopen(cb->path, "r");
            if (f) {
                int c = fgetc(f);
                cb->header = c == EOF; /* Keras: a header unless the file's first line has text */
                fclose(f);
            }
        }
        if (!r->root) break; /* data parallel: rank 0 writes the log */
        cb->csv = fopen(cb->path, cb->o.csv.append ? "a" : "w");
        if (!cb->csv)
            return nnc_fail(m, NNC_ERR_IO, "csv_logger: %s: cannot open for writing: %s", cb->path,
                            strerror(errno));
        break;
    }
    case CB_TERMINATE_ON_NAN:
        r->handles_nan = true;
        r->wants_batch = true;
        break;
    case CB_BACKUP_AND_RESTORE:
        if (access(cb->file, F_OK) == 0) {
            int resumed = 0;
            nnc_status st = nnc_model_load_weights(m, cb->file, &resumed);
            if (st) return fail_prefixed(m, st, "backup_and_restore");
            restore_learning_rate(m, cb->file);
            *initial_epoch = resumed;
        }
        break;
    }
    return NNC_OK;
}

nnc_status nnc_cb_train_begin(nnc_cb_runner *r, nnc_model *m, const nnc_fit_opts *o,
                              int *initial_epoch) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->root = nnc_comm_rank(m->comm) == 0;
    r->out = o->out ? o->out : stdout;
    r->verbose = o->verbose;
    if (o->n_callbacks < 0 || (o->n_callbacks > 0 && !o->callbacks))
        return nnc_fail(m, NNC_ERR_ARG, "fit: %d callbacks but no array", o->n_callbacks);
    for (int i = 0; i < o->n_callbacks; i++) {
        if (!o->callbacks[i])
            return nnc_fail(m, NNC_ERR_ARG, "fit: callbacks[%d] is NULL (did its constructor fail?)", i);
        for (int j = 0; j < i; j++)
            if (o->callbacks[j] == o->callbacks[i])
                return nnc_fail(m, NNC_ERR_ARG, "fit: callbacks[%d] is callbacks[%d] again", i, j);
    }
    r->cbs = o->callbacks;
    r->n = o->n_callbacks;
    for (int i = 0; i < r->n; i++) {
        nnc_status st = begin_one(r, r->cbs[i], initial_epoch);
        if (st) {
            for (int j = 0; j <= i; j++) cb_release(r->cbs[j]);
            return st;
        }
    }
    return NNC_OK;
}

nnc_status nnc_cb_epoch_begin(nnc_cb_runner *r, int epoch) {
    for (int i = 0; i < r->n; i++) {
        nnc_callback *cb = r->cbs[i];
        if (cb->kind != CB_LR_SCHEDULER) continue;
        float *lr = &r->m->train->copts.optimizer.learning_rate;
        double v = cb->o.sched.fn(cb->o.sched.user, epoch, (double)*lr);
        if (!(v >= 0.0) || isinf(v) || (float)v > 3.4e38f)
            return nnc_fail(r->m, NNC_ERR_ARG, "learning_rate_scheduler: the schedule returned %g for "
                            "epoch %d (expected a finite rate >= 0)", v, epoch);
        *lr = (float)v;
        if (cb->o.sched.verbose > 0) {
            char s[64];
            nnc_format_pyfloat(v, s, sizeof s);
            say(r, "\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n", epoch + 1, s);
        }
    }
    return NNC_OK;
}

void nnc_cb_batch_end(nnc_cb_runner *r, int epoch, int batch, const nnc_logs *logs) {
    (void)epoch;
    for (int i = 0; i < r->n; i++) {
        if (r->cbs[i]->kind != CB_TERMINATE_ON_NAN) continue;
        double loss;
        if (nnc_logs_find(logs, "loss", &loss) && !isfinite(loss)) {
            if (r->verbose > 0) say(r, "\nBatch %d: Invalid loss, terminating training\n", batch);
            r->stop = true;
        }
    }
}

/* The monitored value, or 0 (with a warning once per fit) when the logs lack it. */
static int monitored(const nnc_cb_runner *r, nnc_callback *cb, const nnc_logs *logs, double *v,
                     const char *what) {
    if (nnc_logs_find(logs, cb->monitor, v)) return 1;
    if (r->verbose > 0 && !cb->warned) {
        char keys[512];
        nnc_logs_keys(logs, keys, sizeof keys);
        say(r, "Warning: %s conditioned on metric `%s` which is not available. Available metrics "
            "are: %s\n", what, cb->monitor, keys);
    }
    cb->warned = 1;
    return 0;
}

static void early_stopping_epoch(nnc_cb_runner *r, nnc_callback *cb, int epoch, const nnc_logs *logs) {
    const nnc_early_stopping_opts *o = &cb->o.es;
    const double d = fabs(o->min_delta);
    double cur;
    if (!monitored(r, cb, logs, &cur, "Early stopping") || epoch < o->start_from_epoch) return;
    size_t bytes = r->m->n_param_floats * sizeof(float);
    if (o->restore_best_weights && !cb->have_best_weights) {
        memcpy(cb->best_weights, r->m->param_arena, bytes);
        cb->have_best_weights = 1;
        cb->best_epoch = epoch;
    }
    cb->wait++;
    /* Keras: monitor_op(current - min_delta, reference), min_delta negated when lower is better. */
    int better = cb->higher ? cur - d > cb->best : cur + d < cb->best;
    if (better) {
        cb->best = cur;
        cb->best_epoch = epoch;
        if (o->restore_best_weights) memcpy(cb->best_weights, r->m->param_arena, bytes);
        int beats_baseline = cb->higher ? cur - d > o->baseline : cur + d < o->baseline;
        if (isnan(o->baseline) || beats_baseline) cb->wait = 0;
        return;
    }
    if (cb->wait >= o->patience && epoch > 0) {
        cb->stopped_epoch = epoch;
        r->stop = true;
    }
}

static void reduce_lr_epoch(nnc_cb_runner *r, nnc_callback *cb, int epoch, nnc_logs *logs) {
    const nnc_reduce_lr_opts *o = &cb->o.rlr;
    float *lr = &r->m->train->copts.optimizer.learning_rate;
    nnc_logs_set(logs, "learning_rate", (double)*lr);
    double cur;
    if (!monitored(r, cb, logs, &cur, "Learning rate reduction")) return;
    if (cb->cooldown_counter > 0) {
        cb->cooldown_counter--;
        cb->wait = 0;
    }
    int better = cb->higher ? cur > cb->best + o->min_delta : cur < cb->best - o->min_delta;
    if (better) {
        cb->best = cur;
        cb->wait = 0;
    } else if (cb->cooldown_counter <= 0) {
        cb->wait++;
        if (cb->wait >= o->patience) {
            double old = (double)*lr;
            if (old > (double)(float)o->min_lr) {
                double nlr = old * o->factor;
                if (nlr < o->min_lr) nlr = o->min_lr;
                *lr = (float)nlr;
                if (o->verbose > 0) {
                    char s[64];
                    nnc_format_pyfloat(nlr, s, sizeof s);
                    say(r, "\nEpoch %d: ReduceLROnPlateau reducing learning rate to %s.\n", epoch + 1, s);
                }
                cb->cooldown_counter = o->cooldown;
                cb->wait = 0;
            }
        }
    }
}

static nnc_status checkpoint_epoch(nnc_cb_runner *r, nnc_callback *cb, int epoch, const nnc_logs *logs) {
    const nnc_model_checkpoint_opts *o = &cb->o.mc;
    nnc_model *m = r->m;
    char msg[1024];
    if (nnc_format_filepath(cb->path, epoch + 1, logs, cb->pathbuf, cb->pathcap, msg, sizeof msg))
        return nnc_fail(m, NNC_ERR_ARG, "model_checkpoint: %s", msg);
    const char *path = cb->pathbuf;
    if (o->save_best_only) {
        double cur;
        if (!nnc_logs_find(logs, cb->monitor, &cur)) {
            if (r->verbose > 0 && !cb->warned)
                say(r, "Warning: Can save best model only with %s available.\n", cb->monitor);
            cb->warned = 1;
        } else {
            int better = cb->higher ? cur > cb->best : cur < cb->best;
            if (!better) {
                if (o->verbose > 0)
                    say(r, "\nEpoch %d: %s did not improve from %.5f\n", epoch + 1, cb->monitor, cb->best);
                return NNC_OK;
            }
            if (o->verbose > 0)
                say(r, "\nEpoch %d: %s improved from %.5f to %.5f, saving model to %s\n", epoch + 1,
                    cb->monitor, cb->best, cur, path);
            cb->best = cur;
        }
    } else if (o->verbose > 0) {
        say(r, "\nEpoch %d: saving model to %s\n", epoch + 1, path);
    }
    if (nnc_make_parent_dirs(path, msg, sizeof msg)) return nnc_fail(m, NNC_ERR_IO, "model_checkpoint: %s", msg);
    nnc_save_opts so = nnc_save_opts_default();
    so.include_optimizer = !o->save_weights_only;
    nnc_status st = nnc_model_save(m, path, &so);
    if (st) return fail_prefixed(m, st, "model_checkpoint");
    return NNC_OK;
}

/* A CSV field, quoted as Python's csv module quotes (QUOTE_MINIMAL). */
static void csv_field(FILE *f, const char *s, char sep) {
    if (!strchr(s, sep) && !strpbrk(s, "\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int cmp_key(const void *a, const void *b) { return strcmp(a, b); }

static nnc_status csv_epoch(nnc_cb_runner *r, nnc_callback *cb, int epoch, const nnc_logs *logs) {
    FILE *f = cb->csv;
    char sep = cb->o.csv.separator, v[64];
    if (cb->n_keys < 0) {
        cb->n_keys = logs->count;
        for (int i = 0; i < logs->count; i++) memcpy(cb->keys[i], logs->names[i], sizeof cb->keys[i]);
        qsort(cb->keys, (size_t)cb->n_keys, sizeof cb->keys[0], cmp_key);
        if (cb->header) {
            fputs("epoch", f);
            for (int i = 0; i < cb->n_keys; i++) {
                fputc(sep, f);
                csv_field(f, cb->keys[i], sep);
            }
            fputc('\n', f);
        }
    }
    fprintf(f, "%d", epoch);
    for (int i = 0; i < cb->n_keys; i++) {
        double x;
        if (nnc_logs_find(logs, cb->keys[i], &x)) nnc_format_pyfloat(x, v, sizeof v);
        else snprintf(v, sizeof v, "NA");
        fputc(sep, f);
        csv_field(f, v, sep);
    }
    fputc('\n', f);
    if (fflush(f) || ferror(f))
        return nnc_fail(r->m, NNC_ERR_IO, "csv_logger: %s: cannot write: %s", cb->path, strerror(errno));
    return NNC_OK;
}

static nnc_status backup_epoch(nnc_cb_runner *r, nnc_callback *cb, int epoch) {
    nnc_model *m = r->m;
    char msg[1024];
    if (nnc_make_parent_dirs(cb->file, msg, sizeof msg)) return nnc_fail(m, NNC_ERR_IO, "backup_and_restore: %s", msg);
    /* The file's epoch is where this fit resumes: the next epoch of this loop. */
    int done = m->train->epochs_done;
    m->train->epochs_done = epoch + 1;
    nnc_status st = nnc_model_save(m, cb->file, NULL);
    m->train->epochs_done = done;
    if (st) return fail_prefixed(m, st, "backup_and_restore");
    return NNC_OK;
}

nnc_status nnc_cb_epoch_end(nnc_cb_runner *r, int epoch, nnc_logs *logs) {
    nnc_status st = NNC_OK;
    for (int i = 0; i < r->n && st == NNC_OK; i++) {
        nnc_callback *cb = r->cbs[i];
        switch (cb->kind) {
        case CB_EARLY_STOPPING:
            early_stopping_epoch(r, cb, epoch, logs);
            break;
        case CB_REDUCE_LR:
            reduce_lr_epoch(r, cb, epoch, logs);
            break;
        case CB_LR_SCHEDULER:
            nnc_logs_set(logs, "learning_rate", (double)r->m->train->copts.optimizer.learning_rate);
            break;
        /* data parallel: every rank has the same model and logs; rank 0 writes the files */
        case CB_MODEL_CHECKPOINT:
            if (r->root) st = checkpoint_epoch(r, cb, epoch, logs);
            break;
        case CB_CSV_LOGGER:
            if (r->root) st = csv_epoch(r, cb, epoch, logs);
            break;
        case CB_BACKUP_AND_RESTORE:
            if (r->root) st = backup_epoch(r, cb, epoch);
            break;
        case CB_TERMINATE_ON_NAN:
            break;
        }
    }
    return st;
}

nnc_status nnc_cb_train_end(nnc_cb_runner *r, bool completed) {
    nnc_status st = NNC_OK;
    for (int i = 0; i < r->n; i++) {
        nnc_callback *cb = r->cbs[i];
        if (completed && cb->kind == CB_EARLY_STOPPING) {
            if (cb->stopped_epoch > 0 && cb->o.es.verbose > 0)
                say(r, "Epoch %d: early stopping\n", cb->stopped_epoch + 1);
            if (cb->o.es.restore_best_weights && cb->have_best_weights) {
                if (cb->o.es.verbose > 0)
                    say(r, "Restoring model weights from the end of the best epoch: %d.\n", cb->best_epoch + 1);
                memcpy(r->m->param_arena, cb->best_weights, r->m->n_param_floats * sizeof(float));
            }
        }
        if (completed && r->root && cb->kind == CB_BACKUP_AND_RESTORE && cb->o.bk.delete_checkpoint) {
            if (unlink(cb->file) && errno != ENOENT && st == NNC_OK)
                st = nnc_fail(r->m, NNC_ERR_IO, "backup_and_restore: %s: cannot delete: %s", cb->file,
                              strerror(errno));
            rmdir(cb->path); /* only when that leaves it empty */
        }
        if (cb->kind == CB_CSV_LOGGER && cb->csv) {
            int bad = fclose(cb->csv);
            cb->csv = NULL;
            if (bad && completed && st == NNC_OK)
                st = nnc_fail(r->m, NNC_ERR_IO, "csv_logger: %s: cannot write: %s", cb->path, strerror(errno));
        }
        cb_release(cb);
    }
    return st;
}
