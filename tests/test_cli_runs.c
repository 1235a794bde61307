/* What successful runs of the nnc command line print, run against the real binary
 * (${NNC_BINARY_DIR}/nnc) in a fresh temporary folder: the usage listing every command,
 * `nnc summary --json` against the table, and Ctrl-C during `nnc train` (the one line on
 * stderr, exit status 130, the --save file untouched, and the backup_and_restore variant
 * resuming where the message says). tests/test_cli.c holds the failing runs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "format/json.h"

/* The commands `nnc` lists; each must also answer --help. */
static const char *const commands[] = {"train", "eval", "predict", "summary", "gradcheck", "convert"};

typedef struct {
    char dir[64], bin[1024];
} cli_env;

static int write_text(const cli_env *e, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text), put = fwrite(text, 1, n, f);
    return fclose(f) == 0 && put == n ? 0 : -1;
}

/* The file's bytes (NUL-terminated; *n its length), or NULL. */
static char *read_text(const cli_env *e, const char *name, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap + 1);
    for (size_t got; p && (got = fread(p + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *q = realloc(p, 2 * cap + 1);
            if (!q) free(p);
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p) p[len] = '\0';
    if (n) *n = len;
    return p;
}

/* Starts `nnc argv...` in the folder with stderr to _stderr and stdout to _stdout, or to a
 * pipe whose read end goes to *out_fd when out_fd is given. The pid, or -1. */
static pid_t start(const cli_env *e, const char *const *argv, int *out_fd) {
    int p[2] = {-1, -1};
    if (out_fd && pipe(p)) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        const char *args[32] = {e->bin};
        for (int i = 0; argv[i] && i < 30; i++) args[i + 1] = argv[i];
        if (chdir(e->dir)) _exit(126);
        int fo = out_fd ? p[1] : open("_stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open("_stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        if (out_fd) close(p[0]);
        signal(SIGINT, SIG_DFL); /* a runner started in the background ignores it; nnc must not */
        alarm(60);               /* survives exec: a run that ignores Ctrl-C dies of SIGALRM */
        execv(e->bin, (char *const *)args);
        _exit(127);
    }
    if (out_fd) {
        close(p[1]);
        if (pid < 0) close(p[0]);
        else *out_fd = p[0];
    }
    return pid;
}

static int wait_for(pid_t pid) {
    int st = -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return st;
}

/* Runs to the end; the exit status, or -1 for a signal. */
static int run(const cli_env *e, const char *const *argv) {
    pid_t pid = start(e, argv, NULL);
    int st = pid < 0 ? -1 : wait_for(pid);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- nnc with no command -------------------------------------------------------------------- */

static void test_usage(test_run *r, const cli_env *e) {
    if (!t_begin(r, "cli/usage_lists_every_command")) return;
    const char *none[] = {NULL}, *help[] = {"--help", NULL}, *typo[] = {"trian", NULL};
    CHECK(r, run(e, none) == 2, "'nnc' alone must exit 2");
    char *usage = read_text(e, "_stderr", NULL);
    CHECK(r, run(e, help) == 0, "'nnc --help' must exit 0");
    char *out = read_text(e, "_stdout", NULL);
    CHECK(r, run(e, typo) == 2, "an unknown command must exit 2");
    char *unknown = read_text(e, "_stderr", NULL);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        char want[64];
        snprintf(want, sizeof want, "  nnc %s ", commands[i]);
        CHECK(r, usage && strstr(usage, want), "'nnc' does not list '%s':\n%s", commands[i], usage ? usage : "");
        CHECK(r, out && strstr(out, want), "'nnc --help' does not list '%s'", commands[i]);
        CHECK(r, unknown && strstr(unknown, commands[i]), "the unknown-command message lacks '%s': %s", commands[i],
              unknown ? unknown : "");
        const char *argv[] = {commands[i], "--help", NULL};
        CHECK(r, run(e, argv) == 0, "'nnc %s --help' must exit 0", commands[i]);
    }
    free(usage);
    free(out);
    free(unknown);
    t_end(r);
}

/* ---- nnc summary --json --------------------------------------------------------------------- */

/* The number after "label" in the summary table, its thousands separators skipped; -1 if none. */
static long table_count(const char *table, const char *label) {
    const char *p = table ? strstr(table, label) : NULL;
    if (!p) return -1;
    long v = 0;
    for (p += strlen(label); *p == ',' || (*p >= '0' && *p <= '9'); p++)
        if (*p != ',') v = 10 * v + (*p - '0');
    return v;
}

static const char summary_spec[] =
    "input 8 8 1\n"
    "Conv2D 4, 3, activation = relu, name = conv\n"
    "batch_normalization\n"
    "max_pooling2d\n"
    "flatten\n"
    "dense 10 name=logits\n"
    "loss sparse_categorical_crossentropy from_logits=true\n";

/* Checks the JSON of summary_spec: names, classes, shapes, params, inputs and the totals. */
static void check_summary(test_run *r, const nnc_json *j, const char *table) {
    static const struct {
        const char *name, *cls;
        int shape[3], rank;
        double params;
        const char *input;
    } want[] = {
        {"input_layer", "InputLayer", {8, 8, 1}, 3, 0, NULL},
        {"conv", "Conv2D", {6, 6, 4}, 3, 40, "input_layer"},
        {"batch_normalization", "BatchNormalization", {6, 6, 4}, 3, 16, "conv"},
        {"max_pooling2d", "MaxPooling2D", {3, 3, 4}, 3, 0, "batch_normalization"},
        {"flatten", "Flatten", {36}, 1, 0, "max_pooling2d"},
        {"logits", "Dense", {10}, 1, 370, "flatten"},
    };
    const nnc_json *layers = nnc_json_get(j, "layers");
    const char *model = nnc_json_get_string(j, "model");
    CHECK(r, model && !strcmp(model, "sequential"), "model %s", model ? model : "(none)");
    if (!CHECK(r, layers && layers->type == NNC_JSON_ARRAY && layers->count == 6, "layers")) return;
    for (size_t i = 0; i < 6; i++) {
        const nnc_json *l = layers->items[i], *shape = nnc_json_get(l, "output_shape"), *in = nnc_json_get(l, "inputs");
        const char *name = nnc_json_get_string(l, "name"), *cls = nnc_json_get_string(l, "class");
        double params = -1;
        nnc_json_get_number(l, "params", &params);
        CHECK(r, name && cls && !strcmp(name, want[i].name) && !strcmp(cls, want[i].cls) && params == want[i].params,
              "layer %zu: %s (%s) %g params", i, name ? name : "?", cls ? cls : "?", params);
        int shape_ok = shape && shape->type == NNC_JSON_ARRAY && shape->count == (size_t)want[i].rank + 1 &&
                       shape->items[0]->type == NNC_JSON_NULL;
        for (int k = 0; shape_ok && k < want[i].rank; k++) shape_ok = shape->items[k + 1]->number == want[i].shape[k];
        CHECK(r, shape_ok, "layer %zu: output_shape", i);
        int in_ok = in && in->type == NNC_JSON_ARRAY && in->count == (want[i].input ? 1u : 0u);
        if (in_ok && want[i].input) in_ok = in->items[0]->string && !strcmp(in->items[0]->string, want[i].input);
        CHECK(r, in_ok, "layer %zu: inputs", i);
    }
    double total = -1, trainable = -1, frozen = -1;
    nnc_json_get_number(j, "total_params", &total);
    nnc_json_get_number(j, "trainable_params", &trainable);
    nnc_json_get_number(j, "non_trainable_params", &frozen);
    CHECK(r, total == 426 && total == (double)table_count(table, "Total params: "), "total %g", total);
    CHECK(r, trainable == (double)table_count(table, "Trainable params: "), "trainable %g", trainable);
    CHECK(r, frozen == 8 && frozen == (double)table_count(table, "Non-trainable params: "), "non-trainable %g", frozen);
}

static void test_summary_json(test_run *r, const cli_env *e) {
    if (!t_begin(r, "cli/summary_json")) return;
    const char *table_args[] = {"summary", "s.spec", NULL}, *json_args[] = {"summary", "--json", "s.spec", NULL};
    const char *save_args[] = {"train", "s.spec", "--data", "x.csv", "--quiet", "--save", "m.safetensors", NULL};
    const char *model_args[] = {"summary", "m.safetensors", "--json", NULL};
    char csv[8192] = "";
    size_t at = 0;
    for (int c = 0; c < 64; c++) at += (size_t)snprintf(csv + at, sizeof csv - at, "p%d,", c);
    at += (size_t)snprintf(csv + at, sizeof csv - at, "label\n");
    for (int row = 0; row < 4; row++) {
        for (int c = 0; c < 64; c++) at += (size_t)snprintf(csv + at, sizeof csv - at, "%d,", (row * c) % 7);
        at += (size_t)snprintf(csv + at, sizeof csv - at, "%d\n", row);
    }
    if (!CHECK(r, !write_text(e, "s.spec", summary_spec) && !write_text(e, "x.csv", csv), "cannot write")) {
        t_end(r);
        return;
    }
    CHECK(r, run(e, table_args) == 0, "nnc summary failed");
    char *table = read_text(e, "_stdout", NULL);
    CHECK(r, run(e, json_args) == 0, "nnc summary --json failed");
    size_t len = 0;
    char *text = read_text(e, "_stdout", &len), err[128] = "";
    nnc_json *j = text ? nnc_json_parse(text, len, err, sizeof err) : NULL;
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    CHECK(r, lines == 1 && len && text[len - 1] == '\n', "one line expected:\n%s", text ? text : "");
    if (CHECK(r, j && j->type == NNC_JSON_OBJECT, "not one JSON object (%s):\n%s", err, text ? text : "")) check_summary(r, j, table);
    /* a saved model gives the same object */
    CHECK(r, run(e, save_args) == 0 && run(e, model_args) == 0, "train --save, then summary --json of the model");
    char *saved = read_text(e, "_stdout", NULL);
    CHECK(r, saved && text && !strcmp(saved, text), "the saved model's JSON differs:\n%s\n%s", saved ? saved : "",
          text ? text : "");
    nnc_json_free(j);
    free(table);
    free(text);
    free(saved);
    t_end(r);
}

/* ---- Ctrl-C ------------------------------------------------------------------------------- */

static const char known[] = "an existing model file that Ctrl-C must leave as it is\n";

/* Trains for long on digits, sends SIGINT after the first epoch's JSON line, and checks the
 * exit status, the one stderr line and the untouched --save file; *epoch gets the epoch the
 * message names. */
static void interrupt_run(test_run *r, const cli_env *e, const char *spec, int resumable, int *epoch) {
    const char *argv[] = {"train", spec, "--data", "digits", "--epochs", "100000", "--batch-size", "8", "--json",
                          "--save", "o.safetensors", NULL};
    *epoch = 0;
    if (!CHECK(r, !write_text(e, "o.safetensors", known), "cannot write o.safetensors")) return;
    int fd = -1, lines = 0, first_ok = 0, sent = 0;
    pid_t pid = start(e, argv, &fd);
    if (!CHECK(r, pid > 0, "cannot start %s", e->bin)) return;
    char buf[4096], head[16] = "";
    size_t got_head = 0;
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (got_head < sizeof head - 1 && lines == 0) head[got_head++] = buf[i];
            lines += buf[i] == '\n';
        }
        if (lines > 0 && !sent) sent = kill(pid, SIGINT) == 0;
    }
    close(fd);
    int st = wait_for(pid);
    first_ok = !strncmp(head, "{\"epoch\":1,", 11);
    CHECK(r, sent && first_ok, "no first epoch line to interrupt after (%s)", head);
    CHECK(r, WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d (%s %d): expected exit 130", st,
          WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    char want[256], *err = read_text(e, "_stderr", NULL);
    if (resumable)
        snprintf(want, sizeof want, "nnc train: interrupted in epoch %d; run the same command to resume from epoch %d\n",
                 lines + 1, lines + 1);
    else
        snprintf(want, sizeof want, "nnc train: interrupted in epoch %d; nothing saved\n", lines + 1);
    CHECK(r, err && !strcmp(err, want), "stderr:\n%s\nexpected:\n%s", err ? err : "", want);
    size_t n = 0;
    char *now = read_text(e, "o.safetensors", &n);
    CHECK(r, now && n == sizeof known - 1 && !memcmp(now, known, n), "the --save file was %s",
          now ? "overwritten" : "removed");
    *epoch = lines + 1;
    free(err);
    free(now);
}

static void test_interrupt(test_run *r, const cli_env *e) {
    static const char spec[] = "input 64\nrescaling 0.0625\ndense 16 activation=relu\ndense 10\n"
                               "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    int epoch = 0;
    if (t_begin(r, "cli/train_ctrl_c")) {
        if (CHECK(r, !write_text(e, "s.spec", spec), "cannot write s.spec")) interrupt_run(r, e, "s.spec", 0, &epoch);
        t_end(r);
    }
    if (!t_begin(r, "cli/train_ctrl_c_with_backup_and_restore")) return;
    char text[512];
    snprintf(text, sizeof text, "%scallback backup_and_restore backup_dir=bk\n", spec);
    if (CHECK(r, !write_text(e, "b.spec", text), "cannot write b.spec"))
        interrupt_run(r, e, "b.spec", 1, &epoch);
    struct stat sb;
    char path[128];
    snprintf(path, sizeof path, "%s/bk/backup.safetensors", e->dir);
    CHECK(r, epoch < 2 || stat(path, &sb) == 0, "no backup after epoch %d", epoch - 1);
    /* resuming: asked for `epoch` epochs, it trains only that one */
    char until[16];
    snprintf(until, sizeof until, "%d", epoch);
    const char *argv[] = {"train", "b.spec", "--data", "digits", "--epochs", until, "--batch-size", "8", "--json",
                          "--save", "o.safetensors", NULL};
    CHECK(r, epoch > 0 && run(e, argv) == 0, "the resumed run failed");
    char *out = read_text(e, "_stdout", NULL), want[32];
    snprintf(want, sizeof want, "{\"epoch\":%d,", epoch);
    CHECK(r, out && !strncmp(out, want, strlen(want)) && !strstr(out + 1, "{\"epoch\""),
          "the resumed run must train epoch %d only:\n%s", epoch, out ? out : "");
    CHECK(r, stat(path, &sb) != 0, "the finished run leaves its backup");
    free(out);
    t_end(r);
}

void suite_cli_runs(test_run *r);
void suite_cli_runs(test_run *r) {
    cli_env e;
    snprintf(e.dir, sizeof e.dir, "/tmp/nnc-cli-runs-XXXXXX");
    snprintf(e.bin, sizeof e.bin, "%s/nnc", NNC_BINARY_DIR);
    if (access(e.bin, X_OK) || !mkdtemp(e.dir)) {
        if (t_begin(r, "cli/runs")) t_skip(r, "the nnc binary is not built, or no temporary folder");
        return;
    }
    test_usage(r, &e);
    test_summary_json(r, &e);
    test_interrupt(r, &e);
    remove_tree(e.dir);
}
