/* A None time axis from the command line (issue 14): a model whose input takes sequences of any
 * length predicts, evaluates and trains at the length its CSV rows make, through the recurrent
 * and attention layers too; a row width that is not whole steps is refused. The model is made
 * here from a Keras config (the way a None axis reaches nnc) and saved in nnc's file, so the
 * test needs no external file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "shell.h"
#include "config_model.h"
#include "format/json.h"
#include "io/keras_config.h"

/* Token ids of any length -> Embedding(mask_zero) -> LSTM(3) -> Dense(2); and steps of 2
 * features of any length -> a GRU and self-attention pooled -> Dense(1). */
static const char *const configs[2] = {
    "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"ids\",\"layers\":[{\"class_name\":\"InputLayer\","
    "\"config\":{\"batch_shape\":[null,null],\"name\":\"i\"}},{\"class_name\":\"Embedding\",\"config\":{\"name\":"
    "\"e\",\"input_dim\":9,\"output_dim\":4,\"mask_zero\":true}},{\"class_name\":\"LSTM\",\"config\":{\"name\":\"l\","
    "\"units\":3}},{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2}}]}}",
    "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"steps\",\"layers\":[{\"class_name\":\"InputLayer\","
    "\"config\":{\"batch_shape\":[null,null,2],\"name\":\"i\"}},{\"class_name\":\"GRU\",\"config\":{\"name\":\"g\","
    "\"units\":4,\"return_sequences\":true}},{\"class_name\":\"GlobalAveragePooling1D\",\"config\":{\"name\":\"p\"}},"
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":1}}]}}",
};

static nnc_model *from_config(const char *text, char *msg, size_t n) {
    nnc_model *m = config_model(text, 0, msg, n);
    if (m) {
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
        if (nnc_compile(m, &co)) snprintf(msg, n, "%s", nnc_last_error(m)), nnc_model_free(m), m = NULL;
    }
    return m;
}

/* rows x (steps · per) values: ids 0..8 (zeros at the end of odd rows), or features. */
static void fill(float *x, int rows, int steps, int per, int ids) {
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < steps * per; k++)
            x[r * steps * per + k] = ids ? (float)((r % 2 && k >= steps - 2) ? 0 : 1 + (r * 7 + k * 3) % 8)
                                         : (float)((r * 13 + k * 5) % 11) / 5.0f - 1.0f;
}

static int write_csv(const char *path, const float *x, int rows, int cols) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) fprintf(f, "%.9g%c", (double)x[r * cols + c], c + 1 < cols ? ',' : '\n');
    return fclose(f);
}

/* `nnc predict` on rows of each length against nnc_predict at that length. */
static void predict_lengths(test_run *r, const char *dir, nnc_model *m, int k) {
    const int per = k ? 2 : 1, rows = 3, lengths[2] = {5, 8};
    char path[600], cmd[700];
    for (int li = 0; li < 2; li++) {
        const int T = lengths[li];
        float x[3 * 8 * 2], want[3 * 2];
        fill(x, rows, T, per, !k);
        snprintf(path, sizeof path, "%s/x%d.csv", dir, T);
        if (!CHECK(r, write_csv(path, x, rows, T * per) == 0, "cannot write %s", path) ||
            !CHECK(r, nnc_model_set_sequence_length(m, T) == NNC_OK && nnc_predict(m, x, rows, want) == NNC_OK, "%s",
                   nnc_last_error(m)))
            return;
        snprintf(cmd, sizeof cmd, "nnc predict m.safetensors --data x%d.csv --no-header 2>/dev/null", T);
        int st = -1;
        char *out = t_shell(dir, cmd, &st);
        const int outs = (int)nnc_output_size(m);
        float got[3 * 2];
        int n = 0;
        char *line = out ? strchr(out, '\n') : NULL; /* after the header */
        while (line && n < rows * outs) {
            char *p = line + 1;
            for (int c = 0; c < outs && n < rows * outs; c++) {
                got[n++] = strtof(p, &p);
                if (*p == ',') p++;
            }
            line = strchr(line + 1, '\n');
            if (!line || !line[1]) break;
        }
        if (CHECK(r, st == 0 && n == rows * outs, "%d steps: status %d, %d values: %s", T, st, n, out ? out : ""))
            CHECK_NEAR_F32(r, got, (size_t)n, want, (size_t)n, 1e-6, 1e-6, NULL, "%d steps", T);
        free(out);
    }
}

static void test_cli_lengths(test_run *r) {
    for (int k = 0; k < 2; k++) {
        if (!t_begin(r, "seq_length/cli_predicts_at_the_rows_length/%s", k ? "gru" : "embedding_lstm")) continue;
        char dir[] = "/tmp/nnc_seqlen_XXXXXX", msg[512] = "", path[600];
        nnc_model *m = from_config(configs[k], msg, sizeof msg);
        if (CHECK(r, m != NULL, "%s", msg) && CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
            CHECK(r, nnc_model_step_values(m) == (size_t)(k ? 2 : 1), "step values %zu", nnc_model_step_values(m));
            snprintf(path, sizeof path, "%s/m.safetensors", dir);
            if (CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "%s", nnc_last_error(m))) predict_lengths(r, dir, m, k);
            if (k) { /* 7 values are not whole steps of 2 */
                int st = -1;
                snprintf(path, sizeof path, "%s/odd.csv", dir);
                FILE *f = fopen(path, "w");
                if (f) fputs("1,2,3,4,5,6,7\n", f), fclose(f);
                char *out = t_shell(dir, "nnc predict m.safetensors --data odd.csv --no-header", &st);
                CHECK(r, st != 0 && out && strstr(out, "odd.csv: 7 feature columns are not a whole number of steps of 2"),
                      "status %d: %s", st, out ? out : "");
                free(out);
                /* training runs at the rows' length, eval at it too; a test file of another width is refused */
                out = t_shell(dir, "printf '1,0,2,1,0.5\\n0,1,1,1,0\\n1,1,0,0,1\\n' > t3.csv && "
                                   "printf '1,0,2,1,3,3,0.5\\n0,1,1,1,2,2,0\\n' > t4.csv && "
                                   "nnc train --init-from m.safetensors --data t3.csv --no-header --epochs 1 --quiet "
                                   "--save t.safetensors && nnc eval t.safetensors --data t3.csv --no-header && "
                                   "nnc train --init-from m.safetensors --data t3.csv --test-data t4.csv --no-header "
                                   "--epochs 1 --quiet", &st);
                CHECK(r, st != 0 && out && strstr(out, "t4.csv: 7 columns, but the model was trained on 5"),
                      "status %d: %s", st, out ? out : "");
                free(out);
            }
            char rm[700];
            snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
            if (system(rm)) t_info(r, "could not remove %s", dir);
        }
        nnc_model_free(m);
        t_end(r);
    }
}

void suite_seq_length(test_run *r);
void suite_seq_length(test_run *r) { test_cli_lengths(r); }
