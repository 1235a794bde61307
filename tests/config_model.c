#include <string.h>
#include "config_model.h"
#include "format/json.h"
#include "io/keras_config.h"

nnc_model *config_model(const char *text, int keras2, char *msg, size_t n) {
    nnc_json *j = nnc_json_parse(text, strlen(text), msg, n);
    nnc_model *m = j ? nnc_model_new(NULL) : NULL;
    nnc_config_opts o = {keras2, m, NULL, NULL};
    if (m && nnc_config_build_ex(m, j, &o, NULL, NULL, msg, n)) {
        nnc_model_free(m);
        m = NULL;
    }
    nnc_json_free(j);
    return m;
}
