/* report.h: what `nnc train --history FILE.csv --plot FILE.svg` writes from a training's
 * history: the per-epoch logs as CSV, and the learning curves as a standalone SVG picture
 * (Keras users plot model.fit's history with matplotlib; this is that picture).
 *
 * Out of scope: reading either file back, other image formats, live plotting during
 * training, and the command-line parsing (cli/main.c). */
#ifndef NNC_REPORT_H
#define NNC_REPORT_H

#include <stddef.h>
#include <nnc.h>

/* Writes the per-epoch history as CSV (Keras's CSVLogger layout):
 *     epoch,accuracy,loss,val_accuracy,val_loss
 *     1,0.5,0.693147,0.5,0.691
 * The header is "epoch" then every key of the logs, in the logs' order (keys that first
 * appear in a later epoch follow, in order of appearance); one row per epoch, epoch 1-based;
 * numbers printed with %.6g. A non-finite value (NaN or infinite), or a key missing from one
 * epoch's logs, is an empty field: spreadsheets, pandas and R all read it as missing.
 * An empty history (no epochs) gives the header "epoch" alone.
 * Atomic: a temporary file in the target's folder is written, synced and renamed over the
 * target; on failure an existing target is left untouched and nothing else is left behind.
 * Returns 0, or -1 with a one-line message naming the file in err (errlen bytes; err may be
 * NULL), e.g. "out/h.csv: cannot write: No such file or directory". */
int nnc_write_history_csv(const nnc_history *h, const char *path, char *err, size_t errlen);

/* Writes the learning curves as a self-contained SVG (no scripts, fonts or other files):
 * a title line (`title`, XML-escaped; NULL or "" for none) over one panel per quantity —
 * "loss" first, then each metric in the logs' order — laid out side by side, two a row when
 * there are more than two. A panel plots the training curve (solid blue) and, when the logs
 * have it, the validation curve ("val_" + name; dashed orange) against the epoch (1..E), with
 * 4-6 rounded tick labels on the y axis (%g form for very small or large values), axis
 * titles, a legend placed where the curves are not, and the quantity's name as its title.
 * A non-finite value leaves a gap in its curve; a point with no finite neighbour (a
 * single epoch, say) is drawn as a dot; a constant curve gets a small range around its value.
 * Atomic like nnc_write_history_csv. An empty history (no epochs) is an error: nothing to
 * plot. Returns 0 or -1 with a one-line message naming the file in err. */
int nnc_write_history_svg(const nnc_history *h, const char *title, const char *path, char *err,
                          size_t errlen);

#endif
