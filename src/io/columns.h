/* The model file's "columns" metadata (src/io/columns.c). */
#ifndef NNC_IO_COLUMNS_H
#define NNC_IO_COLUMNS_H
#include "../core/model_impl.h"
#include "../format/json.h"

/* The recorded columns as a JSON list (docs/FORMAT.md). */
void nnc_columns_json(const nnc_model *m, nnc_strbuf *sb);
/* Parses that list and records it on the compiled model m (checked as nnc_model_set_columns
 * does); NNC_ERR_FORMAT with the reason in err otherwise. */
nnc_status nnc_columns_from_json(nnc_model *m, const char *text, char *err, size_t n);

#endif
