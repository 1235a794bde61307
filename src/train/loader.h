/* Rows from an nnc_row_source, read on a background thread one batch ahead of the step that
 * trains them: fit asks for a batch's rows (they are copied, so the caller may reshuffle its
 * order at once), then takes the batches back in the order asked. Two batches are in flight
 * at most: the one being read and the one ready; a batch taken is gathered into the model's
 * input buffers before the next request overwrites its slot. */
#ifndef NNC_TRAIN_LOADER_H
#define NNC_TRAIN_LOADER_H
#include <stddef.h>
#include "nnc.h"

typedef struct nnc_loader nnc_loader;

/* A loader for batches of up to max_rows rows of f features and t targets; NULL when out of
 * memory or when the thread cannot start. */
nnc_loader *nnc_loader_new(const nnc_row_source *src, size_t max_rows, size_t f, size_t t);
/* Asks for n rows: rows[0..n) or, with rows NULL, first..first+n. At most two requests may be
 * outstanding (not yet taken). */
void nnc_loader_request(nnc_loader *L, const size_t *rows, size_t first, size_t n);
/* Waits for the oldest request: its rows in *x and *y (valid until the next request), or the
 * source's error (its message in err). */
nnc_status nnc_loader_take(nnc_loader *L, const float **x, const float **y, nnc_error *err);
/* Waits for what is being read, then ends the thread and frees everything. NULL is fine. */
void nnc_loader_free(nnc_loader *L);

#endif
