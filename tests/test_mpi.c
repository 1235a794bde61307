/* Data-parallel training under mpirun (suite_mpi): the nnc command line started as two ranks
 * by `mpirun --allow-run-as-root --oversubscribe -np 2`, in a fresh temporary folder, against
 * the same command run alone. Equivalence with one process (the largest difference of the
 * weights, relative to the largest weight), bit-identity of two runs, rank 0 alone printing
 * and writing, a NaN on one rank, the bad inputs (a batch smaller than the ranks, ranks on
 * different specs or data, a rank that cannot read its file), a rank that stops answering, and
 * a killed rank whose job, started again, resumes from its backup.
 * A build without MPI (NNC_MPI off) checks instead that an mpirun of it says so. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "shell.h"
#include "core/model_impl.h"

#define MPIRUN "mpirun --allow-run-as-root --oversubscribe -np 2 "

typedef struct {
    char dir[64];
} mpi_env;

static int put(const mpi_env *e, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static int exists(const mpi_env *e, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    return access(path, F_OK) == 0;
}

/* How many times needle occurs in hay. */
static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The command's output (freed by the caller, never NULL) and exit status. */
static char *sh(const mpi_env *e, const char *cmd, int *status) {
    char *out = t_shell(e->dir, cmd, status);
    return out ? out : calloc(1, 1);
}

/* The largest |a - b| over the weights of two saved models, and the largest |a|; -1 when
 * one cannot be loaded. */
static double weight_diff(const mpi_env *e, const char *a, const char *b, double *wmax) {
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/%s", e->dir, a);
    snprintf(pb, sizeof pb, "%s/%s", e->dir, b);
    nnc_error err;
    nnc_model *ma = nnc_model_load(pa, &err), *mb = nnc_model_load(pb, &err);
    double d = -1.0;
    *wmax = 0.0;
    if (ma && mb && ma->n_param_floats == mb->n_param_floats) {
        d = 0.0;
        for (size_t i = 0; i < ma->n_param_floats; i++) {
            d = fmax(d, fabs((double)ma->param_arena[i] - (double)mb->param_arena[i]));
            *wmax = fmax(*wmax, fabs((double)ma->param_arena[i]));
        }
    }
    nnc_model_free(ma);
    nnc_model_free(mb);
    return d;
}

/* 64 rows of 4 features and a class of 3; row `bad` (or none: -1) holds values so large that
 * the first layer overflows: a loss that is not finite on the rank that trains that row. */
static int write_csv(const mpi_env *e, const char *name, int bad, int variant) {
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "a,b,c,d,label\n");
    for (int i = 0; i < 64; i++) {
        double v = i == bad ? 3e38 : (double)((i * 37 + variant) % 17) / 8.0;
        n += (size_t)snprintf(text + n, sizeof text - n, "%g,%g,%g,%g,%d\n", v, v * 0.5, 2.0 - v, i == bad ? v : 0.25 * (i % 5),
                              i % 3);
    }
    return put(e, name, text);
}

static const char *small_spec =
    "input 4\ndense 8 activation=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\nmetrics accuracy\n";

/* 2 ranks against 1 process on the digits: the weights after each few steps agree within
 * 1e-6 of the largest weight per step; two 2-rank runs give the same bytes. */
static void equivalence(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: 2 ranks = 1 process within 1e-6*|w| per step; 2 ranks bit-identical to itself")) return;
    int st1, st2, st3;
    const char *args = "train digits.nnc --data digits --test-split 0.2 --epochs 2 --batch-size 64 --threads 1 --quiet";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "nnc %s --save one.nnc", args);
    char *o1 = sh(e, cmd, &st1);
    snprintf(cmd, sizeof cmd, MPIRUN "nnc %s --save two.nnc", args);
    char *o2 = sh(e, cmd, &st2);
    snprintf(cmd, sizeof cmd, MPIRUN "nnc %s --save two_again.nnc && cmp two.nnc two_again.nnc && echo SAME", args);
    char *o3 = sh(e, cmd, &st3);
    CHECK(r, st1 == 0 && st2 == 0, "runs failed: %s\n%s", o1, o2);
    CHECK(r, st3 == 0 && strstr(o3, "SAME"), "two 2-rank runs differ: %s", o3);
    double wmax, d = weight_diff(e, "one.nnc", "two.nnc", &wmax);
    const int steps = 2 * 23; /* 1437 training rows in batches of 64, 2 epochs */
    CHECK(r, d >= 0.0 && d <= 1e-6 * wmax * steps, "max |w1 - w2| = %g, |w| = %g", d, wmax);
    t_info(r, "after %d steps: max |w(1 process) - w(2 ranks)| = %.3g, max |w| = %.3g (%.2g x |w| per step)", steps, d,
           wmax, d / wmax / steps);
    /* the test line is the same to its 4 digits */
    const char *t1 = strstr(o1, "test_loss"), *t2 = strstr(o2, "test_loss");
    CHECK(r, t1 && t2 && !strncmp(t1, t2, 40), "test lines differ:\n%s\n%s", o1, o2);
    free(o1), free(o2), free(o3);
    t_end(r);
}

/* A gradient of 4096 floats or more goes round the ring of src/dist/comm.c instead of
 * MPI_Iallreduce: this model's 7510 (one bucket) do, cut in 2 and in 3 uneven pieces. */
static void ring(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: a ring of 2 and of 3 ranks = 1 process within 1e-6*|w| per step, bit-identical to itself"))
        return;
    put(e, "wide.nnc", "input 64\ndense 100 activation=relu\ndense 10\n"
        "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\nmetrics accuracy\n");
    const char *args = "train wide.nnc --data digits --test-split 0.2 --epochs 2 --batch-size 64 --threads 1 --quiet";
    const char *runs[4][2] = {{"", "w1.nnc"}, {MPIRUN, "w2.nnc"}, {"mpirun --allow-run-as-root --oversubscribe -np 3 ", "w3.nnc"},
                              {"mpirun --allow-run-as-root --oversubscribe -np 3 ", "w3_again.nnc"}};
    char cmd[1024], *out[4];
    int st[4];
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%snnc %s --save %s", runs[i][0], args, runs[i][1]);
        out[i] = sh(e, cmd, &st[i]);
        CHECK(r, st[i] == 0, "%s: %s", cmd, out[i]);
    }
    const int steps = 2 * 23;
    for (int i = 1; i < 3; i++) {
        double wmax, d = weight_diff(e, "w1.nnc", runs[i][1], &wmax);
        CHECK(r, d >= 0.0 && wmax > 0.0 && d <= 1e-6 * wmax * steps, "%d ranks: max |w1 - w| = %g, |w| = %g", i + 1, d,
              wmax);
        t_info(r, "%d ranks, after %d steps: max |w(1 process) - w| = %.3g (%.2g x |w| per step)", i + 1, steps, d,
               d / wmax / steps);
    }
    double wmax, d = weight_diff(e, "w3.nnc", "w3_again.nnc", &wmax);
    CHECK(r, d == 0.0, "two 3-rank runs differ by %g", d);
    for (int i = 0; i < 4; i++) free(out[i]);
    t_end(r);
}

/* --stream: each rank reads only its rows of each batch from the file, and the run ends with
 * the bytes of the same 2-rank run on the rows in memory. */
static void stream(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: 2 ranks with --stream = 2 ranks on the rows in memory, bit for bit")) return;
    put(e, "stream.nnc", small_spec);
    write_csv(e, "stream.csv", -1, 3);
    const char *args = "train stream.nnc --data stream.csv --label-column label --validation-split 0.25 --epochs 3 "
                       "--batch-size 8 --threads 1 --quiet";
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, MPIRUN "nnc %s --save sm.nnc && " MPIRUN "nnc %s --stream --save ss.nnc && cmp sm.nnc ss.nnc "
             "&& echo SAME", args, args);
    char *o = sh(e, cmd, &st);
    CHECK(r, st == 0 && strstr(o, "SAME"), "%s", o);
    free(o);
    t_end(r);
}

/* Only training is data-parallel: another command under mpirun says so once and fails. */
static void other_commands(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: eval, predict, summary under mpirun: one line from rank 0, a non-zero exit")) return;
    int st;
    char *o = sh(e, MPIRUN "nnc summary digits.nnc", &st);
    CHECK(r, st != 0 && count(o, "only 'nnc train' runs on several processes") == 1, "status %d:\n%s", st, o);
    free(o);
    t_end(r);
}

/* BatchNormalization: synchronized=true normalizes by the global batch's statistics, so 2
 * ranks train as 1 process does (up to rounding); by default each rank uses its own rows'. */
static void sync_bn(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: synchronized BatchNormalization = 1 process within 1e-6*|w| per step")) return;
    const int steps = 2 * 23;
    double d[2], wmax[2];
    for (int sync = 0; sync < 2; sync++) {
        char spec[512], cmd[1024];
        snprintf(spec, sizeof spec, "input 64\ndense 32\nbatch_normalization synchronized=%s\nactivation relu\n"
                 "dense 10\nloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n",
                 sync ? "true" : "false");
        put(e, "bn.nnc", spec);
        const char *args = "train bn.nnc --data digits --test-split 0.2 --epochs 2 --batch-size 64 --threads 1 --quiet";
        int st1, st2;
        snprintf(cmd, sizeof cmd, "nnc %s --save bn1.nnc", args);
        char *o1 = sh(e, cmd, &st1);
        snprintf(cmd, sizeof cmd, MPIRUN "nnc %s --save bn2.nnc", args);
        char *o2 = sh(e, cmd, &st2);
        CHECK(r, st1 == 0 && st2 == 0, "runs failed: %s\n%s", o1, o2);
        d[sync] = weight_diff(e, "bn1.nnc", "bn2.nnc", &wmax[sync]);
        free(o1), free(o2);
    }
    CHECK(r, d[1] >= 0.0 && d[1] <= 1e-6 * wmax[1] * steps, "synchronized: max |w1 - w2| = %g, |w| = %g", d[1], wmax[1]);
    t_info(r, "max |w(1 process) - w(2 ranks)| after %d steps: synchronized %.3g (%.2g x |w| per step), "
           "local statistics %.3g", steps, d[1], d[1] / wmax[1] / steps, d[0]);
    t_end(r);
}

/* The value of "key" in the last line of JSON objects that has it; NAN when none. */
static double json_last(const char *out, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    double v = (double)NAN;
    for (const char *p = out; (p = strstr(p, k)); p += strlen(k)) v = strtod(p + strlen(k), NULL);
    return v;
}

/* Validation and test metrics are computed over the whole sets (each rank a share, the sums
 * reduced): 2 ranks report what 1 process does, to rounding. */
static void whole_sets(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: validation and test metrics over the whole sets, as 1 process")) return;
    const char *args = "train digits.nnc --data digits --test-split 0.2 --validation-split 0.1 --epochs 2 --threads 1 --json";
    char cmd[512];
    int st1, st2;
    snprintf(cmd, sizeof cmd, "nnc %s", args);
    char *o1 = sh(e, cmd, &st1);
    snprintf(cmd, sizeof cmd, MPIRUN "nnc %s", args);
    char *o2 = sh(e, cmd, &st2);
    CHECK(r, st1 == 0 && st2 == 0, "runs failed: %s\n%s", o1, o2);
    const char *keys[] = {"val_loss", "val_accuracy", "test_loss", "test_accuracy", "loss"};
    for (int i = 0; i < 5; i++) {
        double a = json_last(o1, keys[i]), b = json_last(o2, keys[i]);
        CHECK(r, fabs(a - b) <= 1e-5 * fabs(a), "%s: 1 process %.9g, 2 ranks %.9g", keys[i], a, b);
    }
    t_info(r, "val_loss: 1 process %.9g, 2 ranks %.9g", json_last(o1, "val_loss"), json_last(o2, "val_loss"));
    free(o1), free(o2);
    t_end(r);
}

/* Rank 0 alone prints the epochs, the test line and the JSON, and writes the files. */
static void rank0_outputs(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: rank 0 alone prints and writes --save, --history, --plot, checkpoints")) return;
    int st;
    char *o = sh(e, MPIRUN "nnc train digits_ck.nnc --data digits --test-split 0.2 --epochs 2 --threads 1 "
                 "--save m.nnc --history h.csv --plot p.svg 2>&1", &st);
    CHECK(r, st == 0, "failed: %s", o);
    CHECK(r, count(o, "test_loss:") == 1 && count(o, "Epoch 2/2") == 1, "not printed once: %s", o);
    CHECK(r, exists(e, "m.nnc") && exists(e, "h.csv") && exists(e, "p.svg") && exists(e, "ck.nnc"), "files missing");
    free(o);
    o = sh(e, MPIRUN "nnc train digits.nnc --data digits --test-split 0.2 --epochs 2 --threads 1 --json", &st);
    CHECK(r, st == 0 && count(o, "\"epoch\"") == 2 && count(o, "test_loss") == 1, "JSON not printed once: %s", o);
    free(o);
    t_end(r);
}

/* A loss that overflows on rank 1 only: both ranks stop at the same step, nothing saved. */
static void nan_one_rank(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: a NaN on rank 1 stops both ranks at the same step, nothing saved")) return;
    int st;
    /* batch 3 of 8 rows (16..23) without shuffling: rank 1 trains rows 20..23 */
    if (write_csv(e, "nan.csv", 21, 0) || put(e, "small.nnc", small_spec)) CHECK(r, 0, "cannot write the files");
    char *o = sh(e, MPIRUN "nnc train small.nnc --data nan.csv --batch-size 8 --no-shuffle --epochs 2 --threads 1 "
                 "--save nan.nnc", &st);
    CHECK(r, st != 0 && count(o, "epoch 1, batch 3") == 1 && count(o, "nnc train:") == 1,
          "status %d, expected one error at epoch 1, batch 3: %s", st, o);
    CHECK(r, !exists(e, "nan.nnc"), "a model was saved");
    free(o);
    t_end(r);
}

typedef struct {
    const char *name, *cmd, *expect;
} bad_row;

/* Each: one line from rank 0, a non-zero exit, nothing saved. */
static void bad_inputs(test_run *r, const mpi_env *e) {
    write_csv(e, "a.csv", -1, 0);
    write_csv(e, "b.csv", -1, 1);
    put(e, "small.nnc", small_spec);
    put(e, "other.nnc", "input 4\ndense 9 activation=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n");
    put(e, "auc.nnc", "input 1\ndense 1 activation=sigmoid\nloss binary_crossentropy\nmetrics auc(exact=true)\n");
    char bin[1024];
    size_t at = (size_t)snprintf(bin, sizeof bin, "x,y\n");
    for (int i = 0; i < 32; i++) at += (size_t)snprintf(bin + at, sizeof bin - at, "%d,%d\n", i % 7, i % 2);
    put(e, "bin.csv", bin);
    const bad_row rows[] = {
        {"a global batch smaller than the ranks", MPIRUN "nnc train small.nnc --data a.csv --batch-size 1 --save x.nnc",
         "smaller than the 2 ranks"},
        {"ranks on different specs",
         "mpirun --allow-run-as-root --oversubscribe -np 1 nnc train small.nnc --data a.csv --save x.nnc : "
         "-np 1 nnc train other.nnc --data a.csv --save x.nnc", "rank 1 and rank 0 disagree on the model"},
        {"ranks on different data",
         "mpirun --allow-run-as-root --oversubscribe -np 1 nnc train small.nnc --data a.csv --save x.nnc : "
         "-np 1 nnc train small.nnc --data b.csv --save x.nnc", "rank 1 and rank 0 disagree on the training data"},
        {"ranks streaming different files",
         "mpirun --allow-run-as-root --oversubscribe -np 1 nnc train small.nnc --data a.csv --stream --save x.nnc : "
         "-np 1 nnc train small.nnc --data b.csv --stream --save x.nnc", "rank 1 and rank 0 disagree on the training data"},
        {"an exact AUC, which the ranks cannot add up", MPIRUN "nnc train auc.nnc --data bin.csv --save x.nnc",
         "auc with exact=true"},
        {"a rank that cannot read its file",
         "mpirun --allow-run-as-root --oversubscribe -np 1 nnc train small.nnc --data a.csv --save x.nnc : "
         "-np 1 nnc train small.nnc --data missing.csv --save x.nnc", "rank 1: "},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!t_begin(r, "mpi: bad input: %s", rows[i].name)) continue;
        int st;
        char *o = sh(e, rows[i].cmd, &st);
        CHECK(r, st != 0 && strstr(o, rows[i].expect) && count(o, "nnc train:") == 1,
              "status %d, expected one line with '%s': %s", st, rows[i].expect, o);
        CHECK(r, !exists(e, "x.nnc"), "a model was saved");
        free(o);
        t_end(r);
    }
}

/* A rank that stops answering (SIGSTOP): the other ends the job after --comm-timeout. */
static void timeout(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: a rank that stops answering ends the job after --comm-timeout")) return;
    int st;
    put(e, "long.nnc", "input 64\ndense 256 activation=relu\ndense 10\n"
        "loss sparse_categorical_crossentropy from_logits=true\noptimizer sgd\n");
    /* rank 1 stops itself once training has begun: OMPI_COMM_WORLD_RANK picks it */
    char *o = sh(e, MPIRUN "sh -c 'if [ $OMPI_COMM_WORLD_RANK = 1 ]; then (sleep 1; kill -STOP $$) & fi; "
                 "exec nnc train long.nnc --data digits --epochs 1000 --threads 1 --quiet --comm-timeout 2'", &st);
    CHECK(r, st != 0 && strstr(o, "no answer from the other ranks within 2 s"), "status %d: %s", st, o);
    free(o);
    t_end(r);
}

/* backup_and_restore: rank 1 killed (SIGKILL) after a backup; the same mpirun command run
 * again resumes and ends with the bytes of an uninterrupted run. */
static void resume(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: a killed rank, then the same mpirun command resumes bit-identical")) return;
    int st1, st2, st3;
    put(e, "res.nnc", "input 64\ndense 256 activation=relu\ndense 10\nloss sparse_categorical_crossentropy "
        "from_logits=true\noptimizer adam\ncallback backup_and_restore backup_dir=bk\n");
    char *o1 = sh(e, MPIRUN "nnc train res.nnc --data digits --epochs 30 --threads 1 --quiet --save full.nnc", &st1);
    /* the killer runs beside rank 1 the first time only */
    const char *cmd = MPIRUN "sh -c 'if [ $OMPI_COMM_WORLD_RANK = 1 ] && [ ! -f killed ]; then touch killed; "
                      "(while [ ! -f bk/backup.safetensors ]; do sleep 0.01; done; kill -9 $$) & fi; "
                      "exec nnc train res.nnc --data digits --epochs 30 --threads 1 --quiet --save resumed.nnc'";
    char *o2 = sh(e, cmd, &st2);
    int killed_midway = st2 != 0 && exists(e, "bk/backup.safetensors") && !exists(e, "resumed.nnc");
    char *o3 = sh(e, cmd, &st3);
    CHECK(r, st1 == 0, "uninterrupted run failed: %s", o1);
    CHECK(r, killed_midway, "the first run was not cut short (status %d): %s", st2, o2);
    CHECK(r, st3 == 0 && !exists(e, "bk/backup.safetensors"), "the resumed run failed (status %d): %s", st3, o3);
    free(o1), free(o2), free(o3);
    o1 = sh(e, "cmp full.nnc resumed.nnc && echo SAME", &st1);
    CHECK(r, strstr(o1, "SAME") != NULL, "resumed and uninterrupted runs differ: %s", o1);
    free(o1);
    t_end(r);
}

static void without_mpi(test_run *r, const mpi_env *e) {
    if (!t_begin(r, "mpi: a build without MPI started by mpirun says so")) return;
    int st;
    char *o = sh(e, "OMPI_COMM_WORLD_SIZE=2 nnc train digits.nnc --data digits", &st);
    CHECK(r, st != 0 && strstr(o, "built without MPI") && strstr(o, "-DNNC_MPI=ON"), "status %d: %s", st, o);
    free(o);
    t_end(r);
}

void suite_mpi(test_run *r);
void suite_mpi(test_run *r) {
    mpi_env e;
    snprintf(e.dir, sizeof e.dir, "/tmp/nnc-mpi-XXXXXX");
    if (!mkdtemp(e.dir)) return;
    char src[1024], cmd[2300];
    snprintf(src, sizeof src, "%s/../examples/digits.nnc", t_srcdir());
    snprintf(cmd, sizeof cmd, "cp '%s' digits.nnc && cp digits.nnc digits_ck.nnc && "
             "echo 'callback model_checkpoint filepath=ck.nnc' >> digits_ck.nnc", src);
    int st;
    free(sh(&e, cmd, &st));
    if (!nnc_mpi_built()) {
        without_mpi(r, &e);
    } else {
        char *o = sh(&e, "command -v mpirun", &st);
        free(o);
        if (st != 0) {
            if (t_begin(r, "mpi: tests under mpirun")) t_skip(r, "mpirun not found (apt-get install openmpi-bin)");
        } else {
            equivalence(r, &e);
            ring(r, &e);
            stream(r, &e);
            other_commands(r, &e);
            sync_bn(r, &e);
            whole_sets(r, &e);
            rank0_outputs(r, &e);
            nan_one_rank(r, &e);
            bad_inputs(r, &e);
            timeout(r, &e);
            resume(r, &e);
        }
    }
    remove_tree(e.dir);
}
