/* Prints the generated part of docs/SPEC.md (src/io/spec_docs.c); tools/update_docs.sh puts it
 * in place. */
#include <stdio.h>
#include "io/spec_docs.h"

int main(void) {
    nnc_strbuf sb = {0};
    nnc_spec_docs(&sb);
    if (sb.oom || !sb.buf) return 1;
    fputs(sb.buf, stdout);
    nnc_sb_free(&sb);
    return 0;
}
