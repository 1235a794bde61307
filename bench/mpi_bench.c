/* Data-parallel training against one process (issue 16): B2 or B3 of the benchmark table on the
 * first ROWS rows of Fashion-MNIST, EPOCHS epochs; started alone or by mpirun, one JSON line
 * from rank 0 with the fastest epoch (the slowest rank's seconds) and, under mpirun, the
 * communication per step: the backward pass, the wait for reductions after it (what was not
 * overlapped) and the bytes reduced. bench/mpi_bench.sh runs 1 rank x 1 thread, 2 ranks x 1
 * thread and 1 rank x 2 threads one after the other.
 *
 * Usage: [mpirun -np N] mpi_bench B2|B3 THREADS ROWS EPOCHS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnc.h"

static const char *specs[2] = {
    "input 784\ndense 512 activation=relu\ndense 256 activation=relu\ndense 10\n",
    ("input 28 28 1\nconv2d 32 3 activation=relu\nmax_pooling2d 2\nconv2d 64 3 activation=relu\n"
     "max_pooling2d 2\nflatten\ndense 128 activation=relu\ndense 10\n"),
};

typedef struct {
    double best;
} ctx;

static bool on_epoch(void *user, const nnc_epoch_info *info) {
    ctx *c = user;
    if (c->best == 0.0 || info->seconds < c->best) c->best = info->seconds;
    return false;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "B2") && strcmp(argv[1], "B3"))) {
        fprintf(stderr, "usage: [mpirun -np N] mpi_bench B2|B3 THREADS ROWS EPOCHS\n");
        return 2;
    }
    const int b = argv[1][1] - '2', threads = atoi(argv[2]), epochs = atoi(argv[4]);
    const size_t rows = (size_t)atol(argv[3]);
    nnc_error err = {""};
    nnc_comm *comm = NULL;
    if (nnc_launched_ranks() > 1 && !(comm = nnc_comm_world(&argc, &argv, &err))) {
        fprintf(stderr, "mpi_bench: %s\n", err.message);
        return 1;
    }
    nnc_dataset train = {0};
    if (nnc_dataset_load("fashion_mnist", 0, &train, &err)) {
        fprintf(stderr, "mpi_bench: %s\n", err.message);
        return 1;
    }
    char spec[1024];
    snprintf(spec, sizeof spec, "%sloss sparse_categorical_crossentropy from_logits=true\n"
             "optimizer adam learning_rate=0.001\nmetrics accuracy\n", specs[b]);
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), argv[1], &err);
    if (!m) {
        fprintf(stderr, "mpi_bench: %s\n", err.message);
        return 1;
    }
    nnc_model_set_threads(m, threads);
    nnc_model_set_comm(m, comm);
    ctx c = {0.0};
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.epochs = epochs;
    fo.batch_size = 128;
    fo.verbose = 0;
    fo.on_epoch_end = on_epoch;
    fo.user = &c;
    nnc_history *h = NULL;
    size_t n = rows && rows < train.n ? rows : train.n;
    if (nnc_fit(m, train.x, train.y, n, &fo, &h)) {
        fprintf(stderr, "mpi_bench: %s\n", nnc_last_error(m));
        return 1;
    }
    nnc_comm_stats s = nnc_model_comm_stats(m);
    if (nnc_comm_rank(comm) == 0)
        printf("{\"bench\": \"%s\", \"ranks\": %d, \"threads\": %d, \"rows\": %zu, \"epoch_s\": %.3f, "
               "\"loss\": %.4f, \"backward_ms_per_step\": %.3f, \"wait_ms_per_step\": %.3f, "
               "\"bytes_per_step\": %.0f, \"buckets\": %d}\n",
               argv[1], nnc_comm_size(comm), threads, n, c.best,
               nnc_logs_get(nnc_history_logs(h, nnc_history_epochs(h) - 1), "loss"), s.backward_s * 1e3,
               s.wait_s * 1e3, s.bytes_per_step, s.buckets);
    nnc_history_free(h);
    nnc_model_free(m);
    nnc_dataset_free(&train);
    nnc_comm_free(comm);
    return 0;
}
