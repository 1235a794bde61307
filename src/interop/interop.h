/* Other frameworks' model files (src/interop/): what nnc_model_save and nnc_model_load hand
 * over to. Without NNC_INTEROP (no HDF5, libzip or protobuf-c at build time) each entry point
 * fails with a message that says how to build nnc with it. */
#ifndef NNC_INTEROP_H
#define NNC_INTEROP_H
#include "../core/model_impl.h"

typedef enum { NNC_FORMAT_SAFETENSORS, NNC_FORMAT_KERAS, NNC_FORMAT_H5, NNC_FORMAT_ONNX } nnc_model_format;

/* By a path's extension (for writing): .keras, .h5/.hdf5, .onnx, else safetensors. */
nnc_model_format nnc_format_by_name(const char *path);
/* By a file's first bytes (for reading): HDF5's signature, a zip's local header, else
 * safetensors (whose reader explains what it does not recognise). */
nnc_model_format nnc_format_by_content(const char *path);

/* Keras: a .keras zip (legacy_h5 0) or a legacy HDF5 file (1); o as nnc_model_save's (may be
 * NULL: with the optimizer state). */
nnc_status nnc_keras_save(nnc_model *m, const char *path, int legacy_h5, const nnc_save_opts *o);
nnc_model *nnc_keras_load(const char *path, int legacy_h5, nnc_error *err);
/* nnc_model_load_weights from a Keras file: a whole model (.keras, .h5) or weights alone
 * (.weights.h5, save_weights' .h5); the optimizer state is not taken, *epoch is 0. */
nnc_status nnc_keras_load_weights(nnc_model *m, const char *path, int legacy_h5, int *epoch);
/* ONNX (write only; src/interop/onnx_save.c, docs/FORMAT.md). */
nnc_status nnc_onnx_save(nnc_model *m, const char *path);
/* 1 when the ONNX writer has a row for op, 0 when not, -1 when it is not built (tests). */
int nnc_onnx_has_exporter(nnc_op op);

#endif
