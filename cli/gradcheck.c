/* nnc gradcheck: the course's ε derivative check as a tool, a thin wrapper over nnc_gradcheck
 * (include/nnc.h): a per-variable table (checked, skipped at kinks, max absolute and relative
 * error) and exit status 1 when a variable fails. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

int cmd_gradcheck(int argc, char **argv) {
    const char *spec = NULL;
    cli_data_opts dopt = {0};
    int batch = 16, seed = 0, help = 0;
    double rtol = 1e-2;
    const cli_opt opts[] = {
        CLI_DATA_ROWS(&dopt, "data: bundled name, CSV or IDX file (its first rows)"),
        CLI_TARGET_ROWS(&dopt),
        CLI_TEXT_ROW(&dopt),
        {"--batch-size", OPT_INT, &batch, "rows in the checked batch (default 16)", "N", NULL},
        {"--seed", OPT_INT, &seed, "seed of the weights (default 0)", "N", NULL},
        {"--rtol", OPT_FLOAT, &rtol, "relative tolerance (default 0.01)", "F", NULL},
    };
    int rc = cli_parse("gradcheck", argc, argv, 2, opts, CLI_NOPTS(opts), &spec, "SPEC", &help);
    if (help) {
        printf("Usage: nnc gradcheck SPEC --data D [options]\n\n"
               "Compares every parameter's backprop gradient with (J(w+e) - J(w-e)) / 2e on a batch.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc) return rc;
    if (!dopt.data || batch < 1 || seed < 0 || !(rtol > 0.0)) {
        cli_error("gradcheck", !dopt.data ? "missing --data D" : "--batch-size, --seed and --rtol must be positive");
        return CLI_USAGE;
    }
    nnc_error e = {""};
    char err[1536];
    nnc_model *m = nnc_model_from_spec(spec, &e);
    if (!m) {
        cli_error("gradcheck", "%s", e.message);
        return CLI_FAIL;
    }
    cli_data d = {0};
    nnc_gradcheck_result *res = calloc((size_t)nnc_variable_count(m) + 1, sizeof *res);
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    go.batch_size = batch;
    go.rtol = rtol;
    int failed = 0;
    rc = CLI_FAIL;
    if (nnc_model_set_seed(m, (uint64_t)seed)) {
        cli_error("gradcheck", "%s", nnc_last_error(m));
        goto done;
    }
    if (!res) {
        cli_error("gradcheck", "out of memory");
        goto done;
    }
    cli_load_ctx ctx = {"gradcheck", "train", m, NULL, 0, 0};
    int text = nnc_model_text_vectorizer(m) != NULL;
    if (cli_load(&dopt, &ctx, &d, err, sizeof err) || cli_check_targets(m, &d, err, sizeof err) ||
        (text && (cli_text_adapt(m, &d, d.n, err, sizeof err) || cli_text_vectorize(m, &d, err, sizeof err)))) {
        cli_error("gradcheck", "%s", err);
        goto done;
    }
    if (nnc_adapt(m, d.x, d.n) || nnc_gradcheck(m, d.x, d.y, d.n, &go, res, &failed)) {
        cli_error("gradcheck", "%s", nnc_last_error(m));
        goto done;
    }
    printf("%-24s %10s %8s %14s %14s  %s\n", "layer.variable", "checked", "skipped", "max abs err",
           "max rel err", "verdict");
    for (int p = 0; p < nnc_variable_count(m); p++)
        if (res[p].trainable)
            printf("%-24s %10zu %8zu %14.3g %14.3g  %s\n", nnc_variable_name(m, p), res[p].checked,
                   res[p].skipped, res[p].max_abs_err, res[p].max_rel_err, res[p].failed ? "FAIL" : "ok");
    if (failed) printf("gradcheck: %d variable(s) failed\n", failed);
    else printf("gradcheck: every gradient matches its numerical derivative\n");
    rc = failed ? CLI_FAIL : CLI_OK;
done:
    free(res);
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}
