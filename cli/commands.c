/* The command summary (DESIGN §7), and the output helpers every command shares (eval and
 * predict are in predict.c). Output follows Keras: "loss: ... - accuracy: ..."; --json prints one JSON object per
 * result and nothing else on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/* Small products run on one thread anyway and results do not depend on the count, so more
 * threads only ever help the large ones. */
int cli_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    /* Under mpirun, the ranks on this host share its cores. */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (local && atoi(local) > 1) n /= atoi(local);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

void cli_print_logs(const nnc_logs *l, const char *prefix) {
    double loss = nnc_logs_get(l, "loss");
    printf("%sloss: %.4f", prefix, loss);
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->names[i], "loss")) printf(" - %s%s: %.4f", prefix, l->names[i], l->values[i]);
    printf("\n");
}

nnc_logs cli_one_log(const char *key, double v) {
    nnc_logs l;
    memset(&l, 0, sizeof l);
    l.count = 1;
    snprintf(l.names[0], sizeof l.names[0], "%s", key);
    l.values[0] = v;
    return l;
}

void cli_print_json(int n, const nnc_logs *const *logs, const char *const *prefixes) {
    char buf[16384];
    int first = 1;
    putchar('{');
    for (int i = 0; i < n; i++) {
        if (!logs[i] || logs[i]->count == 0) continue;
        nnc_logs_json(logs[i], prefixes ? prefixes[i] : NULL, buf, sizeof buf);
        printf("%s%s", first ? "" : ",", buf);
        first = 0;
    }
    printf("}\n");
    fflush(stdout);
}

void cli_print_notes(const char *cmd, const nnc_model *m) {
    for (int i = 0; i < nnc_model_note_count(m); i++) fprintf(stderr, "nnc %s: note: %s\n", cmd, nnc_model_note(m, i));
}

int cli_is_model_file(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char head[9] = {0};
    size_t got = f ? fread(head, 1, 9, f) : 0;
    if (f) fclose(f);
    /* safetensors: a small little-endian header length, then '{'; HDF5 and zip by signature */
    if ((got == 9 && head[8] == '{' && head[6] == 0 && head[7] == 0) ||
        (got >= 8 && !memcmp(head, "\x89HDF\r\n\x1a\n", 8)) || (got >= 4 && !memcmp(head, "PK\x03\x04", 4)))
        return 1;
    static const char *const ext[] = {".safetensors", ".keras", ".h5", ".hdf5"};
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (len > strlen(ext[i]) && !strcmp(path + len - strlen(ext[i]), ext[i])) return 1;
    return 0;
}

/* ---- summary ------------------------------------------------------------------------------ */

int cmd_summary(int argc, char **argv) {
    const char *path = NULL;
    int help = 0, json = 0;
    const cli_opt opts[] = {{"--json", OPT_FLAG, &json, "print one JSON object instead of the table", NULL, NULL}};
    int rc = cli_parse("summary", argc, argv, 2, opts, CLI_NOPTS(opts), &path, "SPEC or MODEL", &help);
    if (help) {
        printf("Usage: nnc summary SPEC|MODEL [--json]\n\nKeras's summary table of a spec file or a saved model.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    nnc_error e = {""};
    nnc_model *m = cli_is_model_file(path) ? nnc_model_load(path, &e) : nnc_model_from_spec(path, &e);
    if (!m) {
        cli_error("summary", "%s", e.message);
        return CLI_FAIL;
    }
    cli_print_notes("summary", m);
    rc = (json ? nnc_summary_json(m, stdout) : nnc_summary(m, stdout)) ? CLI_FAIL : CLI_OK;
    if (rc) cli_error("summary", "%s: %s", path, nnc_last_error(m));
    nnc_model_free(m);
    return rc;
}
