/* Keras's callbacks inside nnc_fit (src/train/callbacks.c). fit drives a runner through the
 * events of Keras's CallbackList: train begin, epoch begin, batch end, epoch end, train end.
 * The runner holds the fit's view (model, output, stop flag); each callback keeps its own
 * state, reset at train begin. Tests drive the same functions with scripted logs. */
#ifndef NNC_CALLBACKS_H
#define NNC_CALLBACKS_H
#include "train_impl.h"

typedef struct {
    nnc_model *m;
    nnc_callback *const *cbs;
    int n;
    FILE *out;        /* messages */
    int verbose;      /* the fit's: warnings and TerminateOnNaN's message print when > 0 */
    bool stop;        /* Keras's model.stop_training */
    bool handles_nan; /* a TerminateOnNaN is attached: a non-finite loss stops, not fails */
    bool wants_batch; /* some callback needs the batch logs */
    bool root;        /* rank 0 of a data-parallel fit, or alone: prints and writes files */
} nnc_cb_runner;

/* Checks the fit's callback list, resets every callback, allocates what they need and opens
 * their files; a BackupAndRestore with a backup loads it and sets *initial_epoch to its
 * epoch. On failure nothing stays open and the error is recorded on m. */
nnc_status nnc_cb_train_begin(nnc_cb_runner *r, nnc_model *m, const nnc_fit_opts *o,
                              int *initial_epoch);
/* LearningRateScheduler sets the learning rate. */
nnc_status nnc_cb_epoch_begin(nnc_cb_runner *r, int epoch);
/* TerminateOnNaN looks at the batch logs' loss. */
void nnc_cb_batch_end(nnc_cb_runner *r, int epoch, int batch, const nnc_logs *logs);
/* Every callback's on_epoch_end in order; they may add "learning_rate" to logs or set stop.
 * A failure (a file that cannot be written) is returned at once. */
nnc_status nnc_cb_epoch_end(nnc_cb_runner *r, int epoch, nnc_logs *logs);
/* completed (the fit had no error): Keras's on_train_end (EarlyStopping restores the best
 * weights, BackupAndRestore deletes its backup, CSVLogger closes its file). Otherwise only
 * releases what train begin took. */
nnc_status nnc_cb_train_end(nnc_cb_runner *r, bool completed);

#endif
