/* The entry points of src/interop/ that this build lacks: each says what is missing. The real
 * ones replace these one by one as the Keras and ONNX writers and readers land (each file of
 * this folder that defines one removes it here). */
#include "../format/message.h"
#include "interop.h"

nnc_status nnc_keras_save(nnc_model *m, const char *path, int legacy_h5) {
    return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: writing Keras %s files is not built into this nnc", path,
                    legacy_h5 ? ".h5" : ".keras");
}

nnc_model *nnc_keras_load(const char *path, int legacy_h5, nnc_error *err) {
    nnc_msg(NNC_ERRBUF(err), "%s: a Keras %s file; reading them is not built into this nnc", path,
            legacy_h5 ? "HDF5 (.h5)" : "zip (.keras)");
    return NULL;
}
