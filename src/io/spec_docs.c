/* The docs' tables (spec_docs.h): one row per layer, optimizer and schedule, every key with
 * its default, all read from the descriptors. */
#include <stddef.h>
#include <string.h>
#include "spec_docs.h"
#include "spec_args.h"
#include "../layers/layers.h"
#include "../optim/optim.h"
#include "../train/metrics.h"

/* `key` (default), for the rows a spec may give; positional ones (pos >= 0) only when
 * positional is set, the others only when not. */
static void keys(nnc_strbuf *sb, const nnc_opt_desc *rows, int n, const void *def, int positional,
                 const char *extra) {
    int first = 1;
    for (int i = 0; i < n; i++) {
        const nnc_opt_desc *r = &rows[i];
        int pos = r->type != NNC_OPT_CONST && r->pos >= 0;
        if ((r->flags & NNC_OPTF_CONFIG_ONLY) || r->type == NNC_OPT_FIXED || pos != positional) continue;
        char v[96];
        spec_format_value(r, def, v, sizeof v);
        nnc_sb_printf(sb, "%s`%s`", first ? "" : ", ", r->key);
        if (r->flags & NNC_OPTF_REQUIRED) nnc_sb_puts(sb, " (required)");
        else if (r->type == NNC_OPT_CONST) nnc_sb_printf(sb, " (only %s)", v);
        else if (v[0]) nnc_sb_printf(sb, " (%s)", v);
        first = 0;
    }
    if (extra) nnc_sb_printf(sb, "%s%s", first ? "" : ", ", extra);
}

static void layers(nnc_strbuf *sb) {
    nnc_sb_puts(sb, "### Layers\n\n"
                    "One statement per layer, in order; each follows the previous one. Positional values "
                    "are the Keras constructor's first arguments, in this order. `trainable=false` freezes a layer "
                    "(Keras's layer.trainable = False: fine-tuning; its weights are not trained, a "
                    "batch_normalization runs in inference mode).\n\n"
                    "| statement | Keras | positional | keys (defaults) | what it computes |\n"
                    "|---|---|---|---|---|\n");
    for (int i = 0; i < nnc_layer_registry_count; i++) {
        const nnc_layer_desc *d = nnc_layer_registry[i];
        union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } def;
        d->defaults(def.bytes);
        nnc_sb_printf(sb, "| `%s` | `%s` | ", d->keyword, d->keras_class);
        keys(sb, d->opts, d->n_opts, def.bytes, 1, NULL);
        nnc_sb_puts(sb, " | ");
        const int states = (d->flags & NNC_LAYERF_INITIAL_STATE) != 0;
        const int fixed = (d->flags & (NNC_LAYERF_INPUT | NNC_LAYERF_NO_TRAINABLE_KEY)) != 0;
        keys(sb, d->opts, d->n_opts, def.bytes, 0,
             fixed ? (states ? "`initial_state`, `name`" : "`name`")
                   : (states ? "`initial_state`, `name`, `trainable` (true)" : "`name`, `trainable` (true)"));
        nnc_sb_printf(sb, " | %s%s%s |\n", d->help,
                      d->max_inputs > 1 ? " (several inputs: named with from=[a,b])" : "",
                      states ? " (initial_state=[enc:1,enc:2]: another layer's return_state)" : "");
    }
    nnc_sb_puts(sb, "\n");
}

static void optimizers(nnc_strbuf *sb) {
    nnc_sb_puts(sb, "### Optimizers\n\n"
                    "| optimizer | Keras | keys (defaults) | state slots saved as `optimizer.<layer>.<var>.<slot>` |\n"
                    "|---|---|---|---|\n");
    for (int k = 0; k < NNC_OPT_COUNT; k++) {
        const nnc_optimizer_desc *d = nnc_optimizer_desc_of((nnc_optimizer_kind)k);
        const nnc_optimizer def = d->defaults();
        nnc_sb_printf(sb, "| `%s` | `%s` | `learning_rate` (%g), ", d->name, d->keras_class, (double)def.learning_rate);
        keys(sb, d->opts, d->n_opts, &def, 0, NULL);
        nnc_sb_puts(sb, " | ");
        for (int s = 0; s < nnc_optimizer_slots(&def); s++)
            nnc_sb_printf(sb, "%s`%s`", s ? ", " : "", nnc_optimizer_slot_name(&def, s));
        nnc_sb_puts(sb, " |\n");
    }
    const nnc_optimizer adam = nnc_adam_default();
    nnc_sb_puts(sb, "\nEvery optimizer also takes the base optimizer's keys: ");
    keys(sb, nnc_optimizer_base_opts, nnc_optimizer_base_count, &adam, 0, NULL);
    nnc_sb_puts(sb, " (AdamW's `weight_decay` is 0.004).\n\n");
}

static void schedules(nnc_strbuf *sb) {
    nnc_sb_puts(sb, "### Learning-rate schedules\n\n"
                    "| schedule | Keras | positional | keys (defaults) | learning rate at step t |\n"
                    "|---|---|---|---|---|\n");
    for (int k = 1; k < NNC_SCHEDULE_COUNT; k++) {
        const nnc_schedule_desc *d = nnc_schedule_desc_of((nnc_schedule_kind)k);
        const nnc_schedule def = nnc_schedule_default((nnc_schedule_kind)k);
        nnc_sb_printf(sb, "| `%s` | `%s` | ", d->name, d->keras_class);
        keys(sb, d->opts, d->n_opts, &def, 1, NULL);
        nnc_sb_puts(sb, " | ");
        keys(sb, d->opts, d->n_opts, &def, 0, NULL);
        nnc_sb_printf(sb, " | %s |\n", d->formula);
    }
    nnc_sb_puts(sb, "\n");
}

static void metrics(nnc_strbuf *sb) {
    nnc_sb_puts(sb, "### Metrics\n\n"
                    "| metric | Keras | positional | keys (defaults) | value |\n"
                    "|---|---|---|---|---|\n");
    for (int k = 0; k < NNC_METRIC_COUNT; k++) {
        const nnc_metric_desc *d = nnc_metric_desc_of((nnc_metric)k);
        const nnc_metric_config def = nnc_metric_default((nnc_metric)k);
        nnc_sb_printf(sb, "| `%s`%s%s%s | `%s` | ", d->name, d->aliases ? " (`" : "", d->aliases ? d->aliases : "",
                      d->aliases ? "`)" : "", d->keras_class);
        keys(sb, d->opts, d->n_opts, &def, 1, NULL);
        nnc_sb_puts(sb, " | ");
        keys(sb, d->opts, d->n_opts, &def, 0, "`name`");
        nnc_sb_printf(sb, " | %s%s |\n", d->help, d->higher_is_better ? "" : " (lower is better)");
    }
    nnc_sb_puts(sb, "\n");
}

void nnc_spec_docs(nnc_strbuf *sb) {
    nnc_sb_puts(sb, NNC_SPEC_DOCS_BEGIN);
    layers(sb);
    optimizers(sb);
    schedules(sb);
    metrics(sb);
    nnc_sb_puts(sb, NNC_SPEC_DOCS_END);
}
