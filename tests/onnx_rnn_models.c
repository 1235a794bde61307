/* The recurrent models tests/test_onnx.c exports to ONNX and runs in ONNX Runtime: an LSTM
 * model, a GRU model (both reset_after forms), a SimpleRNN model and Bidirectional layers (each
 * merge mode) with TimeDistributed(Dense), with go_backwards, return_sequences, no bias and
 * activations other than the defaults, each compiled with mse. */
#include "test.h"
#include "onnx_rnn_models.h"

static nnc_model *finish(nnc_model *m, nnc_node x) {
    nnc_dense_opts d = nnc_dense_opts_default(3);
    nnc_node out = nnc_dense(m, x, &d);
    nnc_set_outputs(m, &out, 1);
    nnc_compile_opts c = nnc_compile_opts_default();
    nnc_model_set_seed(m, 7);
    nnc_compile(m, &c);
    return m;
}

/* LSTM(5, return_sequences, go_backwards) → LSTM(4, hard_sigmoid gates, no bias) → Dense. */
nnc_model *onnx_build_lstm(void) {
    nnc_model *m = nnc_model_new("lstm_model");
    nnc_node x = nnc_input(m, (int[]){6, 3}, 2, NULL);
    nnc_rnn_opts a = nnc_rnn_opts_default(5), b = nnc_rnn_opts_default(4);
    a.return_sequences = a.go_backwards = true;
    b.recurrent_activation = NNC_ACT_HARD_SIGMOID, b.use_bias = false;
    return finish(m, nnc_lstm(m, nnc_lstm(m, x, &a), &b));
}

/* GRU(5, reset_after, return_sequences) → GRU(4, reset_after false, go_backwards, relu,
 * return_sequences) → GRU(3, reset_after false, hard_sigmoid gates) → Dense. */
nnc_model *onnx_build_gru(void) {
    nnc_model *m = nnc_model_new("gru_model");
    nnc_node x = nnc_input(m, (int[]){7, 4}, 2, NULL);
    nnc_rnn_opts a = nnc_rnn_opts_default(5), b = nnc_rnn_opts_default(4), c = nnc_rnn_opts_default(3);
    a.return_sequences = true;
    b.reset_after = false, b.go_backwards = b.return_sequences = true, b.activation = NNC_ACT_RELU;
    c.reset_after = false, c.recurrent_activation = NNC_ACT_HARD_SIGMOID;
    return finish(m, nnc_gru(m, nnc_gru(m, nnc_gru(m, x, &a), &b), &c));
}

/* SimpleRNN(4, return_sequences, go_backwards) → SimpleRNN(3, linear, no bias, return_sequences)
 * → Flatten → Dense. */
nnc_model *onnx_build_simple_rnn(void) {
    nnc_model *m = nnc_model_new("simple_rnn_model");
    nnc_node x = nnc_input(m, (int[]){5, 3}, 2, NULL);
    nnc_rnn_opts a = nnc_rnn_opts_default(4), b = nnc_rnn_opts_default(3);
    a.return_sequences = a.go_backwards = true;
    b.activation = NNC_ACT_LINEAR, b.use_bias = false, b.return_sequences = true;
    return finish(m, nnc_flatten(m, nnc_simple_rnn(m, nnc_simple_rnn(m, x, &a), &b), NULL));
}

/* Bidirectional(LSTM 4, sequences, concat) → TimeDistributed(Dense 5, tanh) → Bidirectional(GRU
 * 3, reset_after false, sequences, mul) → Bidirectional(SimpleRNN 3, go_backwards, sequences,
 * ave) → Bidirectional(LSTM 2, sum) → Dense. */
nnc_model *onnx_build_bidirectional(void) {
    nnc_model *m = nnc_model_new("bidirectional_model");
    nnc_node x = nnc_input(m, (int[]){6, 3}, 2, NULL);
    nnc_bidirectional_opts a = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 4);
    nnc_bidirectional_opts b = nnc_bidirectional_opts_default(NNC_RNN_GRU, 3);
    nnc_bidirectional_opts c = nnc_bidirectional_opts_default(NNC_RNN_SIMPLE, 3);
    nnc_bidirectional_opts d = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 2);
    a.rnn.return_sequences = b.rnn.return_sequences = c.rnn.return_sequences = true;
    b.rnn.reset_after = false, b.merge_mode = NNC_MERGE_MUL;
    c.rnn.go_backwards = true, c.merge_mode = NNC_MERGE_AVE;
    d.merge_mode = NNC_MERGE_SUM;
    nnc_dense_opts td = nnc_dense_opts_default(5);
    td.activation = NNC_ACT_TANH;
    x = nnc_time_distributed_dense(m, nnc_bidirectional(m, x, &a), &td);
    return finish(m, nnc_bidirectional(m, nnc_bidirectional(m, nnc_bidirectional(m, x, &b), &c), &d));
}

/* Keras's return_state and initial_state: LSTM(5, go_backwards, return_state) over x starts
 * LSTM(5, sequences) over x2; GRU(4, reset_after false, sequences, return_state) over x starts
 * GRU(4) over x2, whose Dense(3) starts SimpleRNN(3) over x2; Bidirectional(LSTM 2, sum,
 * return_state) over x starts another over x2; the states are read again by the head:
 * Dense(Concatenate([Flatten(decoder), c, gru h, SimpleRNN, Bidirectional, its backward c])). */
nnc_model *onnx_build_rnn_state(void) {
    nnc_model *m = nnc_model_new("rnn_state_model");
    nnc_node x = nnc_input(m, (int[]){6, 3}, 2, "x"), x2 = nnc_input(m, (int[]){4, 2}, 2, "x2"), hc[2], gh, h0;
    nnc_rnn_opts a = nnc_rnn_opts_default(5), b = nnc_rnn_opts_default(5);
    a.go_backwards = a.return_state = true;
    nnc_rnn_states(m, nnc_lstm(m, x, &a), hc, 2);
    b.return_sequences = true, b.initial_state = hc, b.n_initial_state = 2;
    nnc_node dec = nnc_flatten(m, nnc_lstm(m, x2, &b), NULL);
    nnc_rnn_opts g = nnc_rnn_opts_default(4), g2 = nnc_rnn_opts_default(4), s = nnc_rnn_opts_default(3);
    g.reset_after = false, g.return_sequences = g.return_state = true;
    nnc_rnn_states(m, nnc_gru(m, x, &g), &gh, 1);
    g2.initial_state = &gh, g2.n_initial_state = 1;
    nnc_dense_opts d = nnc_dense_opts_default(3);
    h0 = nnc_dense(m, nnc_gru(m, x2, &g2), &d);
    s.initial_state = &h0, s.n_initial_state = 1;
    nnc_node srnn = nnc_simple_rnn(m, x2, &s), bs[4];
    nnc_bidirectional_opts bi = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 2);
    bi.rnn.return_state = true, bi.merge_mode = NNC_MERGE_SUM;
    nnc_rnn_states(m, nnc_bidirectional(m, x, &bi), bs, 4);
    bi.rnn.return_state = false, bi.rnn.initial_state = bs, bi.rnn.n_initial_state = 4;
    nnc_node bdec = nnc_bidirectional(m, x2, &bi);
    return finish(m, nnc_concatenate(m, (nnc_node[]){dec, hc[1], gh, srnn, bdec, bs[3]}, 6, -1, NULL));
}

/* Masks anywhere in a sequence (the unrolled form): token ids with zeros at any step →
 * Embedding(5, 4, mask_zero) → Bidirectional(LSTM 3, sequences) → GRU(4, go_backwards,
 * sequences, return_state) → SimpleRNN(4, relu) started from the GRU's state; Dense over the
 * SimpleRNN and the GRU's state. */
nnc_model *onnx_build_masked_rnn(void) {
    nnc_model *m = nnc_model_new("masked_rnn_model");
    nnc_node ids = nnc_input(m, (int[]){7}, 1, NULL), gh;
    nnc_embedding_opts eo = nnc_embedding_opts_default(5, 4);
    eo.mask_zero = true;
    nnc_bidirectional_opts a = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 3);
    a.rnn.return_sequences = true;
    nnc_node x = nnc_bidirectional(m, nnc_embedding(m, ids, &eo), &a);
    nnc_rnn_opts g = nnc_rnn_opts_default(4), s = nnc_rnn_opts_default(4);
    g.go_backwards = g.return_sequences = g.return_state = true;
    nnc_node gy = nnc_gru(m, x, &g);
    nnc_rnn_states(m, gy, &gh, 1);
    s.activation = NNC_ACT_RELU, s.initial_state = &gh, s.n_initial_state = 1;
    return finish(m, nnc_concatenate(m, (nnc_node[]){nnc_simple_rnn(m, gy, &s), gh}, 2, -1, NULL));
}
