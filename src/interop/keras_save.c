/* nnc models as Keras files (interop.h: nnc_keras_save). Writing comes in a later change; until
 * then it says so. */
#include "interop.h"

nnc_status nnc_keras_save(nnc_model *m, const char *path, int legacy_h5) {
    return nnc_fail(m, NNC_ERR_UNSUPPORTED, "%s: writing Keras %s files is not supported yet", path,
                    legacy_h5 ? ".h5" : ".keras");
}
