/* libFuzzer target for Keras configs (the JSON of a .keras zip's config.json or a legacy
 * file's model_config) into models: the JSON parser (src/format/json.c), the graph builder
 * in its lenient mode for foreign files (src/io/keras_graph.c: Keras 2's and 3's forms,
 * topological order, cycles, renamed layers, notes), the layer rows' readers
 * (src/io/keras_config.c) and, with Keras files built in, the compile settings as Keras
 * stores them (src/interop/keras_compile.c: "compile_config", else "training_config").
 * A root "keras_version" starting with "2." reads the config with Keras 2's meanings, as the
 * file's own keras_version does. Any bytes must give a compiled model or an error message,
 * never a crash, undefined behaviour or a leak; a model is then used (exercise.h) and its
 * notes read. Out of scope: the zip and HDF5 containers (libzip's and HDF5's own code) and the
 * weights (tests/test_keras_config.c, the CLI table). */
#include "exercise.h"
#include "format/json.h"
#ifdef NNC_HAVE_KERAS
#include "interop/keras_read.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char msg[1024] = "";
    nnc_json *j = nnc_json_parse((const char *)data, size, msg, sizeof msg);
    if (!j) {
        if (!msg[0]) abort(); /* a failure must say why */
        return 0;
    }
    nnc_model *m = nnc_model_new(NULL);
    if (!m) {
        nnc_json_free(j);
        return 0;
    }
    m->max_param_floats = (size_t)1 << 20; /* a valid but huge model is not a finding */
    const char *version = nnc_json_get_string(j, "keras_version");
    nnc_config_opts o = {version && !strncmp(version, "2.", 2), m, NULL, NULL};
    nnc_config_layer *layers = NULL;
    int n_layers = 0;
    msg[0] = '\0';
    if (nnc_config_build_ex(m, j, &o, &layers, &n_layers, msg, sizeof msg) == 0) {
        for (int i = 0; i < n_layers; i++) /* every listed layer is one of the model's, or none */
            if (layers[i].layer < -1 || layers[i].layer >= m->n_layers || !layers[i].keras_name) abort();
        nnc_compile_opts co = nnc_compile_opts_default();
#ifdef NNC_HAVE_KERAS
        const nnc_json *cc = nnc_json_get(j, "compile_config");
        if (!cc) cc = nnc_json_get(j, "training_config");
        int known = 0;
        nnc_keras_compile_opts(m, cc && cc->type == NNC_JSON_OBJECT ? cc : NULL, &co, &known);
#endif
        if (nnc_compile(m, &co) == NNC_OK) fuzz_exercise(m);
        else if (!nnc_last_error(m)[0]) abort();
    } else if (!msg[0]) {
        abort();
    }
    size_t total = 0;
    for (int i = 0; i < nnc_model_note_count(m); i++) total += strlen(nnc_model_note(m, i));
    if (nnc_model_note(m, nnc_model_note_count(m))) abort(); /* past the end is NULL */
    (void)total;
    free(layers);
    nnc_model_free(m);
    nnc_json_free(j);
    return 0;
}
