/* nnc_model_save and nnc_model_load: the one place that chooses a model file's format. Reading
 * goes by the file's first bytes, never its name (a Keras 2 file named .keras is HDF5); writing
 * goes by the extension the caller chose. The formats themselves are elsewhere: safetensors in
 * src/io/model_file.c, Keras and ONNX in this folder. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include "../io/model_file.h"
#include "../format/message.h"
#include "interop.h"

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

nnc_model_format nnc_format_by_name(const char *path) {
    if (ends_with(path, ".keras")) return NNC_FORMAT_KERAS;
    if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return NNC_FORMAT_H5;
    if (ends_with(path, ".onnx")) return NNC_FORMAT_ONNX;
    return NNC_FORMAT_SAFETENSORS;
}

nnc_model_format nnc_format_by_content(const char *path) {
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (got == 8 && !memcmp(head, "\x89HDF\r\n\x1a\n", 8)) return NNC_FORMAT_H5;
    if (got >= 4 && !memcmp(head, "PK\x03\x04", 4)) return NNC_FORMAT_KERAS;
    return NNC_FORMAT_SAFETENSORS;
}

nnc_status nnc_model_save(nnc_model *m, const char *path, const nnc_save_opts *o) {
    if (!m || !path) return NNC_ERR_ARG;
    nnc_model_format fmt = nnc_format_by_name(path);
    /* a Keras file holds the TextVectorization before the one input it feeds (keras_config.c) */
    if (m->text_vec && m->n_inputs != 1 && (fmt == NNC_FORMAT_KERAS || fmt == NNC_FORMAT_H5))
        return nnc_fail(m, NNC_ERR_UNSUPPORTED, "save %s: a model of %d inputs with a TextVectorization has no Keras "
                        "form here (it stands before a model's one input)", path, m->n_inputs);
    if (m->n_qlayers && fmt != NNC_FORMAT_SAFETENSORS)
        return nnc_fail(m, NNC_ERR_UNSUPPORTED, "save %s: a model quantized to %s is saved as nnc's model file only "
                        "(not .keras, .h5 or .onnx); save the float model for those", path,
                        nnc_model_bf16_layers(m) ? "bf16" : "int8");
    switch (fmt) {
    case NNC_FORMAT_KERAS: return nnc_keras_save(m, path, 0, o);
    case NNC_FORMAT_H5: return nnc_keras_save(m, path, 1, o);
    case NNC_FORMAT_ONNX: return nnc_onnx_save(m, path);
    default: return nnc_safetensors_save(m, path, o);
    }
}

nnc_model *nnc_model_load(const char *path, nnc_error *err) {
    if (!path) {
        nnc_msg(NNC_ERRBUF(err), "load: no path");
        return NULL;
    }
    nnc_model_format f = nnc_format_by_content(path);
    if (f == NNC_FORMAT_H5 || f == NNC_FORMAT_KERAS) return nnc_keras_load(path, f == NNC_FORMAT_H5, err);
    return nnc_safetensors_load(path, err);
}

nnc_status nnc_model_load_weights(nnc_model *m, const char *path, int *epoch) {
    if (epoch) *epoch = 0;
    if (!m || !path) return NNC_ERR_ARG;
    if (m->n_qlayers)
        return nnc_fail(m, NNC_ERR_STATE, "load weights %s: the model is quantized to %s; load the weights into the "
                        "float model", path, nnc_model_bf16_layers(m) ? "bf16" : "int8");
    nnc_model_format f = nnc_format_by_content(path);
    if (f == NNC_FORMAT_H5 || f == NNC_FORMAT_KERAS) {
        if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "load weights: the model must be compiled first");
        return nnc_keras_load_weights(m, path, f == NNC_FORMAT_H5, epoch);
    }
    return nnc_safetensors_load_weights(m, path, epoch);
}
