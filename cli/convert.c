/* The command convert: a model file to another format. Both ends are the library's: the input
 * is read by nnc_model_load (which tells the format from the file's first bytes) and the output
 * written by nnc_model_save (which goes by the extension: .onnx, .keras, .h5, else
 * safetensors), so the tool knows no format itself. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void convert_help(void) {
    printf("Usage: nnc convert IN OUT\n\n"
           "Reads the model file IN (nnc's safetensors, or Keras's .keras / .h5 where this nnc\n"
           "reads them) and writes it as OUT, in the format of OUT's extension: .onnx (an\n"
           "inference graph, opset 17), .keras, .h5 or .hdf5, else nnc's safetensors. OUT is\n"
           "written atomically: on failure an existing OUT is left as it was.\n");
}

int cmd_convert(int argc, char **argv) {
    const char *paths[2] = {NULL, NULL};
    int n = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            convert_help();
            return CLI_OK;
        }
        if (a[0] == '-' && a[1] != '\0') {
            cli_error("convert", "unknown option '%s'\nTry 'nnc convert --help'.", a);
            return CLI_USAGE;
        }
        if (n == 2) {
            cli_error("convert", "unexpected argument '%s'\nTry 'nnc convert --help'.", a);
            return CLI_USAGE;
        }
        paths[n++] = a;
    }
    if (n < 2) {
        cli_error("convert", "missing %s\nTry 'nnc convert --help'.", n ? "OUT, the file to write" : "IN and OUT");
        return CLI_USAGE;
    }
    nnc_error e = {""};
    nnc_model *m = nnc_model_load(paths[0], &e);
    if (!m) {
        cli_error("convert", "%s", e.message);
        return CLI_FAIL;
    }
    int rc = nnc_model_save(m, paths[1], NULL) == NNC_OK ? CLI_OK : CLI_FAIL;
    if (rc) cli_error("convert", "%s", nnc_last_error(m));
    else cli_print_notes("convert", m); /* what reading IN (a Keras file) dropped or chose */
    nnc_model_free(m);
    return rc;
}
