/* The entry points of src/interop/ that this build lacks: each says what is missing. The real
 * ones replace these one by one as the Keras and ONNX writers and readers land (each file of
 * this folder that defines one removes it here). The Keras ones are built with NNC_INTEROP
 * (cmake/keras.cmake defines NNC_HAVE_KERAS); without it these answer for them. */
#include "../format/message.h"
#include "interop.h"

#ifndef NNC_HAVE_KERAS
nnc_status nnc_keras_save(nnc_model *m, const char *path, int legacy_h5, const nnc_save_opts *o) {
    (void)o;
    return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: writing Keras %s files is not built into this nnc "
                    "(configure with -DNNC_INTEROP=ON, which needs libhdf5-dev and libzip-dev)", path,
                    legacy_h5 ? ".h5" : ".keras");
}

nnc_model *nnc_keras_load(const char *path, int legacy_h5, nnc_error *err) {
    nnc_msg(NNC_ERRBUF(err), "%s: a Keras %s file; reading them is not built into this nnc (configure "
            "with -DNNC_INTEROP=ON, which needs libhdf5-dev and libzip-dev)", path,
            legacy_h5 ? "HDF5 (.h5)" : "zip (.keras)");
    return NULL;
}

nnc_status nnc_keras_load_weights(nnc_model *m, const char *path, int legacy_h5, int *epoch) {
    (void)legacy_h5;
    if (epoch) *epoch = 0;
    return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: a Keras file; reading them is not built into this nnc "
                    "(configure with -DNNC_INTEROP=ON, which needs libhdf5-dev and libzip-dev)", path);
}
#endif
