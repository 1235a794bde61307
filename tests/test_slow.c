/* Slow tests: the Fashion-MNIST runs of the CNN and sequence issues, through the real CLI, and
 * the fortunes text models (examples/fortunes_compare.c). They run only with `nnc_tests --slow`
 * and skip, saying why, when Debian's dataset-fashion-mnist or fortunes is missing; CI runs the layers on small data instead (tests/test_grad.c, test_cnn_fixtures.c,
 * test_recurrent.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"

static int fashion_present(void) {
    const char *dir = getenv("NNC_FASHION_MNIST_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir ? dir : "/usr/share/datasets/fashion-mnist");
    return access(path, R_OK) == 0;
}

/* Trains a spec with the CLI and returns the test accuracy from its --quiet line, or -1. */
static double train_accuracy(const char *spec) {
    char cmd[2048], line[512] = "";
    snprintf(cmd, sizeof cmd, "%s/nnc train %s/../examples/%s --data fashion_mnist --quiet",
             NNC_BINARY_DIR, t_srcdir(), spec);
    FILE *p = popen(cmd, "r");
    if (!p) return -1.0;
    while (fgets(line, sizeof line, p)) {
    }
    int rc = pclose(p);
    const char *at = strstr(line, "test_accuracy: ");
    return rc == 0 && at ? atof(at + 15) : -1.0;
}

/* examples/fortunes_compare: the three models' test accuracies (bow, bilstm, transformer). */
static void fortunes_models(test_run *r) {
    if (!t_begin(r, "slow/fortunes_bow_bilstm_transformer")) return;
    const char *dir = getenv("NNC_FORTUNES_DIR");
    char path[1024], cmd[1200], line[256];
    snprintf(path, sizeof path, "%s/computers", dir && *dir ? dir : "/usr/share/games/fortunes");
    snprintf(cmd, sizeof cmd, "%s/example_fortunes_compare", NNC_BINARY_DIR);
    if (!t_slow(r)) {
        t_skip(r, "slow test: run nnc_tests --slow");
        return;
    }
    if (access(path, R_OK)) {
        t_skip(r, "needs Debian's fortunes: apt-get install fortunes (or NNC_FORTUNES_DIR)");
        return;
    }
    if (access(cmd, X_OK)) {
        t_skip(r, "the examples are not built (NNC_BUILD_EXAMPLES)");
        return;
    }
    double acc[3] = {-1.0, -1.0, -1.0};
    static const char *const names[3] = {"bow", "bilstm", "transformer"};
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p))
        for (int k = 0; k < 3; k++)
            if (!strncmp(line, names[k], strlen(names[k])) && line[strlen(names[k])] == ' ')
                acc[k] = atof(strstr(line, "accuracy ") ? strstr(line, "accuracy ") + 9 : "-1");
    int rc = p ? pclose(p) : -1;
    t_info(r, "test accuracy: bow %.4f, bilstm %.4f, transformer %.4f", acc[0], acc[1], acc[2]);
    /* measured 0.8516, 0.8159, 0.8599: the Transformer beats the bag of words (the program's exit
     * status says so too); the BiLSTM is held to 0.80 */
    CHECK(r, rc == 0, "example_fortunes_compare exited %d", rc);
    CHECK(r, acc[0] >= 0.83, "bag of words: %.4f, target 0.83", acc[0]);
    CHECK(r, acc[1] >= 0.80, "BiLSTM: %.4f, target 0.80", acc[1]);
    CHECK(r, acc[2] > acc[0], "Transformer %.4f does not beat the bag of words %.4f", acc[2], acc[0]);
    t_end(r);
}

void suite_slow(test_run *r);
void suite_slow(test_run *r) {
    static const struct {
        const char *name, *spec;
        double target;
    } runs[] = {
        {"slow/fashion_mnist_cnn_10_epochs", "fashion_cnn.nnc", 0.91},
        {"slow/fashion_mnist_mlp_10_epochs", "fashion_mlp.nnc", 0.88},
        /* issue 14: images as 28 steps of 28 pixels, 3 epochs */
        {"slow/fashion_mnist_lstm_3_epochs", "fashion_lstm.nnc", 0.87},
        {"slow/fashion_mnist_gru_3_epochs", "fashion_gru.nnc", 0.87},
        {"slow/fashion_mnist_bilstm_3_epochs", "fashion_bilstm.nnc", 0.87},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        if (!t_begin(r, "%s", runs[i].name)) continue;
        if (!t_slow(r)) {
            t_skip(r, "slow test: run nnc_tests --slow");
            continue;
        }
        if (!fashion_present()) {
            t_skip(r, "needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or NNC_FASHION_MNIST_DIR)");
            continue;
        }
        double acc = train_accuracy(runs[i].spec);
        CHECK(r, acc >= runs[i].target, "%s: test accuracy %.4f, target %.2f", runs[i].spec, acc, runs[i].target);
        t_info(r, "%s: test accuracy %.4f (target %.2f)", runs[i].spec, acc, runs[i].target);
        t_end(r);
    }
    fortunes_models(r);
}
