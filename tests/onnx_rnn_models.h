/* Recurrent models for tests/test_onnx.c (tests/onnx_rnn_models.c). */
#ifndef NNC_TEST_ONNX_RNN_MODELS_H
#define NNC_TEST_ONNX_RNN_MODELS_H
#include "nnc.h"

nnc_model *onnx_build_lstm(void);
nnc_model *onnx_build_gru(void);
nnc_model *onnx_build_simple_rnn(void);
nnc_model *onnx_build_bidirectional(void);
nnc_model *onnx_build_rnn_state(void);
nnc_model *onnx_build_masked_rnn(void);

#endif
