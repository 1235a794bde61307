/* Reading Keras files, the pieces (src/interop/): the file itself (keras_load.c), its weights and
 * optimizer state (keras_weights.c), its compile settings (keras_compile.c). */
#ifndef NNC_KERAS_READ_H
#define NNC_KERAS_READ_H
#include "../core/model_impl.h"
#include "../format/json.h"
#include "../io/keras_config.h"
#include "h5_io.h"

/* Compile settings from a training_config / compile_config (tc NULL: none in the file), with
 * a note on m for whatever nnc replaces or drops; *optimizer_known when the optimizer is the
 * file's own (so its state may be taken). m must be built (the default loss follows its output). */
void nnc_keras_compile_opts(nnc_model *m, const nnc_json *tc, nnc_compile_opts *c, int *optimizer_known);

/* Where a weights file keeps its variables:
 *   legacy: model_weights/<layer>/ (or the root of a save_weights file), each group's
 *           weight_names attribute listing its datasets in order, optimizer_weights/ beside;
 *   v3:     layers/<class_snake>[_N]/vars/<i> (the .keras zip's model.weights.h5 and
 *           .weights.h5 files), optimizer/vars/<i>. */
typedef enum { NNC_KW_LEGACY, NNC_KW_V3 } nnc_kw_layout;

typedef struct {
    hid_t file;             /* the HDF5 file holding the weights */
    hid_t root;             /* legacy: the group with layer_names; v3: the file */
    nnc_kw_layout layout;
    const char *path;       /* the file as the user named it (messages start with it) */
    const char *member;     /* "model.weights.h5" when inside a zip, else NULL */
    size_t bytes;           /* the size of the weights file */
} nnc_kw_file;

/* Tells the layout of f->file and opens f->root. 0, or -1 with why in msg (no Keras weights). */
int nnc_kw_open(nnc_kw_file *f, char *msg, size_t n);
void nnc_kw_close(nnc_kw_file *f);

/* Reads every variable of the compiled model m from f, checking them all (present, float32,
 * the shape of nnc's variable) before changing anything. The file's layers are those of the
 * config (cl, ncl: each config layer's Keras name, class and nnc layer), or with cl NULL
 * matched as Keras's load_weights does (legacy: in order among the layers with weights; v3:
 * by each class's count). NaN or infinite values are noted on m. With with_optimizer, then
 * loads the optimizer state where it maps onto nnc's slots, noting what it drops. Returns 0,
 * or -1 with "path: why" in msg. */
int nnc_kw_read(nnc_model *m, const nnc_kw_file *f, const nnc_config_layer *cl, int ncl, int with_optimizer,
                char *msg, size_t n);

/* Where Keras keeps a share of a layer's variables: the objects a layer holds save their own
 * variables in groups of their own (Keras 3's saving_lib walks a layer's attributes): a
 * recurrent layer's in its "cell", Bidirectional's in "forward_layer/cell" and
 * "backward_layer/cell" (the first half of nnc's variables, then the second), TimeDistributed's
 * in "layer", MultiHeadAttention's in its four EinsumDense ("query_dense", "key_dense",
 * "value_dense", "output_dense": nnc's "query/kernel" is query_dense/vars/0). v3 is that path below the layer's group ("" for the layer's own variables);
 * legacy the name scope between the layer's name and the variable's in a legacy file's
 * weight_names ("lstm_cell", "forward_lstm/lstm_cell"); first and count the layer's variables
 * (indices from its first) that live there. */
typedef struct {
    char v3[64];
    char legacy[128];
    int first, count;
} nnc_kw_part;

/* The parts of layer l (1 to NNC_KW_PARTS). */
#define NNC_KW_PARTS 4
int nnc_kw_parts(const nnc_model *m, int l, nnc_kw_part parts[NNC_KW_PARTS]);
/* Keras's name of parameter p ("kernel"): nnc's own, without a direction's prefix. */
const char *nnc_kw_var_name(const nnc_model *m, int p);

/* Keras's naming.to_snake_case: "MaxPooling2D" -> "max_pooling2d", "LeakyReLU" -> "leaky_re_lu". */
void nnc_keras_snake_case(const char *cls, char *out, size_t n);

#endif
