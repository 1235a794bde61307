/* Recurrent layers in Keras files (src/io/keras_nested.c, src/interop/keras_weights.c and
 * keras_save.c), issue 14:
 * - the wrapper configs' mechanism on a descriptor made here (a Bidirectional wrapping Dense
 *   rows): written as Keras 3's nested "layer" and "backward_layer", read back to the same
 *   options; a backward layer that is not the forward one flipped, a class the wrapper cannot
 *   hold, a missing "layer" and stateful=true are refused with the key named. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "layers/layers.h"

/* ---- the mechanism, on a descriptor of this file's own ---------------------------------- */

typedef struct {
    int wrapped;      /* the NESTED_CLASS choice */
    int units;
    bool go_backwards;
    nnc_activation activation;
    int merge_mode;
} fake_opts;

static const nnc_opt_desc fake_rows[] = {
    {NNC_OPT_ROW("layer", NNC_OPT_CHOICE, fake_opts, wrapped, 0), .flags = NNC_OPTF_NESTED | NNC_OPTF_NESTED_CLASS,
     .literal = "dense"},
    {NNC_OPT_ROW("units", NNC_OPT_INT, fake_opts, units, 1), .lo = 1, .hi = 1 << 20, .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("go_backwards", NNC_OPT_BOOL, fake_opts, go_backwards, -1), .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, fake_opts, activation, -1), .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("merge_mode", NNC_OPT_CHOICE, fake_opts, merge_mode, -1), .literal = "sum|mul|concat|ave"},
};

static void fake_defaults(void *p) {
    fake_opts *o = p;
    memset(o, 0, sizeof *o);
    o->units = 1;
    o->activation = NNC_ACT_LINEAR;
    o->merge_mode = 2;
}

static const nnc_layer_desc fake_bidirectional = {
    .keras_class = "Bidirectional", .keyword = "fake", .stem = "fake", .opts_size = sizeof(fake_opts),
    .name_offset = NNC_NO_NAME_FIELD, .defaults = fake_defaults, .opts = fake_rows,
    .n_opts = NNC_OPT_COUNT_OF(fake_rows), .min_inputs = 1, .max_inputs = 1,
};

/* The options read from text (the config of the wrapper); 0, or -1 with why in msg. */
static int read_fake(const char *text, fake_opts *o, char *msg, size_t n) {
    nnc_json *j = nnc_json_parse(text, strlen(text), msg, n);
    fake_defaults(o);
    int rc = !j || nnc_config_read_opts(fake_rows, NNC_OPT_COUNT_OF(fake_rows), j, o, NULL, msg, n) ||
             nnc_config_read_wrapped(&fake_bidirectional, j, o, NULL, msg, n) ? -1 : 0;
    nnc_json_free(j);
    return rc;
}

static void wrapper_mechanism(test_run *r) {
    if (t_begin(r, "keras/rnn/wrapper_config_written_nested_and_read_back")) {
        fake_opts o, def, back;
        fake_defaults(&def);
        fake_defaults(&o);
        o.units = 7;
        o.go_backwards = true;
        o.activation = NNC_ACT_TANH;
        o.merge_mode = 1;
        nnc_strbuf sb = {0};
        nnc_sb_puts(&sb, "{\"name\":\"b\"");
        nnc_config_put_wrapped(&sb, &fake_bidirectional, &o, &def);
        nnc_sb_puts(&sb, ",\"merge_mode\":\"mul\"}");
        char msg[512] = "";
        nnc_json *j = sb.buf ? nnc_json_parse(sb.buf, sb.len, msg, sizeof msg) : NULL;
        const nnc_json *l = j ? nnc_json_get(j, "layer") : NULL, *b = j ? nnc_json_get(j, "backward_layer") : NULL;
        const nnc_json *lc = l ? nnc_json_get(l, "config") : NULL, *bc = b ? nnc_json_get(b, "config") : NULL;
        if (CHECK(r, lc && bc, "no layer and backward_layer configs in %s (%s)", sb.buf ? sb.buf : "", msg)) {
            const nnc_json *gf = nnc_json_get(lc, "go_backwards"), *gb = nnc_json_get(bc, "go_backwards");
            CHECK(r, !strcmp(nnc_json_get_string(l, "class_name"), "Dense") &&
                         !strcmp(nnc_json_get_string(lc, "name"), "forward_dense") &&
                         !strcmp(nnc_json_get_string(bc, "name"), "backward_dense"), "names: %s", sb.buf);
            CHECK(r, gf && gb && gf->boolean && !gb->boolean, "go_backwards must be flipped: %s", sb.buf);
            CHECK(r, !nnc_json_get(lc, "layer") && !nnc_json_get(j, "units"), "the rows must sit in one place: %s", sb.buf);
        }
        CHECK(r, read_fake(sb.buf ? sb.buf : "", &back, msg, sizeof msg) == 0, "read back: %s", msg);
        CHECK(r, !memcmp(&back, &o, sizeof o), "read back: units %d, go_backwards %d, merge %d", back.units,
              (int)back.go_backwards, back.merge_mode);
        nnc_json_free(j);
        nnc_sb_free(&sb);
        t_end(r);
    }
    static const struct { const char *name, *text, *says; } bad[] = {
        {"backward_layer_not_the_flipped_forward",
         "{\"layer\":{\"class_name\":\"Dense\",\"config\":{\"units\":3}},"
         "\"backward_layer\":{\"class_name\":\"Dense\",\"config\":{\"units\":4,\"go_backwards\":true}}}",
         "backward_layer is not the forward layer"},
        {"backward_layer_going_the_same_way",
         "{\"layer\":{\"class_name\":\"Dense\",\"config\":{\"units\":3}},"
         "\"backward_layer\":{\"class_name\":\"Dense\",\"config\":{\"units\":3}}}", "go_backwards the other way"},
        {"wrapped_class_refused", "{\"layer\":{\"class_name\":\"Conv2D\",\"config\":{}}}", "layer is a Conv2D"},
        {"no_wrapped_layer", "{\"merge_mode\":\"sum\"}", "layer is not a layer"},
        {"stateful_refused", "{\"layer\":{\"class_name\":\"Dense\",\"config\":{\"stateful\":true}}}", "stateful"},
        {"nested_value_checked", "{\"layer\":{\"class_name\":\"Dense\",\"config\":{\"units\":0}}}", "units"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "keras/rnn/wrapper_config_refuses_%s", bad[i].name)) continue;
        fake_opts o;
        char msg[512] = "";
        CHECK(r, read_fake(bad[i].text, &o, msg, sizeof msg) != 0, "accepted %s", bad[i].text);
        CHECK(r, strstr(msg, bad[i].says) != NULL, "the message must say '%s': %s", bad[i].says, msg);
        t_end(r);
    }
}

void suite_keras_rnn(test_run *r);
void suite_keras_rnn(test_run *r) {
    wrapper_mechanism(r);
}
