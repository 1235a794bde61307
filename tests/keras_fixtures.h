/* Keras files for the tests, made with the HDF5 and libzip APIs directly (not with nnc's
 * writer), laid out as Keras lays them out: a good small model and copies with one defect each
 * (tests/keras_fixtures.c). */
#ifndef NNC_TEST_KERAS_FIXTURES_H
#define NNC_TEST_KERAS_FIXTURES_H
#include "test.h"

/* True when this build reads Keras files and the tests can make them (NNC_INTEROP). */
int keras_fixtures_built(void);
/* Writes dir/name, one of:
 *   keras_good.h5, keras_good.keras       Input(4) -> Dense(3, relu) -> Dense(3), Adam, mse
 *   keras_good.weights.h5     its weights as Keras 3's save_weights writes them
 *   keras_truncated.keras, keras_truncated.h5   the good file cut in half
 *   keras_bomb.keras          model.weights.h5 declaring 4 GB inflated from a few KB
 *   keras_no_config.keras, keras_no_weights.keras   a member missing
 *   keras_weights_only.h5     save_weights' layout, no model_config
 *   keras_unknown_layer.keras a layer of class Dunce
 *   keras_lambda.h5           a Lambda layer
 *   keras_lstm.keras          a ConvLSTM2D layer (a sequence layer nnc lacks)
 *   keras_shape.h5            dense's kernel [3, 4] where the config makes [4, 3]
 *   keras_dtype.h5            dense's kernel as int32
 *   keras_nan.h5              a NaN in dense's bias (loads, with a note)
 *   keras_cycle.h5, keras_dangling.h5   functional graphs with a cycle, an unknown input
 *   keras_deep.keras          config.json of 100 MB of '[' (deflated to about 100 KB)
 * Returns 0, or -1 when it could not (or does not know the name). */
int keras_fixture(const char *dir, const char *name);

/* tests/test_keras_files.c: the python3 with numpy and h5py ($NNC_PYTHON, else /usr/bin/python3;
 * NULL when none), and the check that a Keras file at path predicts on seeded rows what
 * tools/keras_reference.py computes within atol + 1e-4·|ref| (tmp: a folder for the rows). */
const char *keras_python(void);
void keras_compare_with_reference(test_run *r, const char *path, const char *tmp, unsigned long long seed, double atol);

#endif
