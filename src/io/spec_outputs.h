/* The spec statements about a model's outputs (src/io/spec_outputs.c; docs/SPEC.md, "Several
 * outputs"): outputs, loss (one, or one per output), loss_weights, and metrics per output. */
#ifndef NNC_SPEC_OUTPUTS_H
#define NNC_SPEC_OUTPUTS_H
#include "spec_args.h"

/* `outputs a b`: the model's outputs, by their layers' names, in order. */
int spec_stmt_outputs(spec_ctx *c);
/* `loss NAME key=...`, `loss a=NAME b=NAME(from_logits=true)` or `loss NAME NAME` (output order). */
int spec_stmt_loss(spec_ctx *c, nnc_compile_opts *co);
/* `loss_weights 1 0.2` (output order) or `loss_weights a=1 b=0.2`. */
int spec_stmt_loss_weights(spec_ctx *c, nnc_compile_opts *co);
/* `metrics a=accuracy b=[mae,precision(thresholds=0.3)]` (and `weighted_metrics`); a metric
 * without an output applies to every output. */
int spec_stmt_metrics_outputs(spec_ctx *c, nnc_compile_opts *co);
/* One metric word, `precision` or `precision(thresholds=0.3)`, with its arguments (spec.c). */
int spec_metric(spec_ctx *c, const char *text, nnc_metric_config *mc);

#endif
