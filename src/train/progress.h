/* Keras 3's progress output: "Epoch 3/100", then a bar redrawn in place on a terminal
 * ("47/47 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9512 - loss: 0.1623"), or one line
 * per epoch when the stream is not a terminal or verbose is 2. */
#ifndef NNC_PROGRESS_H
#define NNC_PROGRESS_H
#include <stdio.h>
#include "nnc.h"

typedef struct {
    int verbose, steps, live;
    FILE *f;
    double last_draw;
} nnc_progress;

void nnc_progress_init(nnc_progress *p, int verbose, FILE *f, int steps);
void nnc_progress_epoch(nnc_progress *p, int epoch, int epochs);
void nnc_progress_update(nnc_progress *p, int step, double secs, const nnc_logs *logs);
void nnc_progress_end(nnc_progress *p, int steps, double secs, const nnc_logs *logs);
/* " - accuracy: 0.9512 - loss: 0.1623" into buf. */
void nnc_logs_format(const nnc_logs *l, char *buf, size_t n);

#endif
