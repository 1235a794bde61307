/* Keras 3's configs as JSON, written and read through the descriptors of layers, optimizers and
 * schedules (src/io/keras_config.c): the architecture (Sequential or Functional get_config)
 * and the compile config (loss, optimizer, metrics). */
#ifndef NNC_KERAS_CONFIG_H
#define NNC_KERAS_CONFIG_H
#include "../core/model_impl.h"
#include "../format/json.h"

/* Writes the architecture as Keras 3's get_config JSON. */
void nnc_config_json(const nnc_model *m, nnc_strbuf *sb);
/* Builds the layers of a Keras config into m. Returns 0, or -1 with why in msg. */
int nnc_config_build(nnc_model *m, const nnc_json *root, char *msg, size_t n);

/* Writes a compile config: loss, optimizer (with its schedule) and metrics. */
void nnc_compile_config_json(const nnc_compile_opts *c, nnc_strbuf *sb);
/* Reads one into c (Keras's defaults where a key is absent). 0, or -1 with why in msg. */
int nnc_compile_config_parse(const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n);

#endif
