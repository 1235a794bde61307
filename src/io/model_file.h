/* Model file internals shared with the CLI and tests (src/io/model_file.c). */
#ifndef NNC_MODEL_FILE_H
#define NNC_MODEL_FILE_H
#include "../core/model_impl.h"
#include "../format/json.h"
#include "../format/safetensors.h"

/* Copies a file's weights (and optimizer state when complete) into a compiled model after
 * checking every name and shape; nothing changes on failure. */
nnc_status nnc_load_tensors(nnc_model *m, const nnc_st_file *f, const char *path);
#ifdef NNC_FAULT_INJECTION
/* nnc_model_save with a test-only fault: the write fails after that many bytes (-1: off). */
nnc_status nnc_model_save_ex(nnc_model *m, const char *path, const nnc_save_opts *o,
                             long long fail_after_bytes);
#endif

/* The model file as safetensors (docs/FORMAT.md): nnc_model_save and nnc_model_load for that
 * format (src/interop/model_files.c chooses the format). */
nnc_status nnc_safetensors_save(nnc_model *m, const char *path, const nnc_save_opts *o);
nnc_model *nnc_safetensors_load(const char *path, nnc_error *err);
/* nnc_model_load_weights for a safetensors file. */
nnc_status nnc_safetensors_load_weights(nnc_model *m, const char *path, int *epoch);

/* The "quantization" metadata of an int8 model (quant_meta.c), and reading it back into a
 * loaded float model: 0, or -1 with the reason in err. */
void nnc_quant_json(const nnc_model *m, nnc_strbuf *sb);
int nnc_quant_from_json(nnc_model *m, const char *text, char *err, size_t n);

/* nnc_safetensors_load from bytes in memory (for fuzzing); name stands for the file in messages. */
nnc_model *nnc_model_load_buffer(const void *buf, size_t len, const char *name, nnc_error *err);

#endif
