/* The bundled text dataset "fortunes": five categories of Debian's fortunes package as
 * labelled texts with a fixed split. The files are the package's, read where it installs them
 * (nothing is copied into nnc). Out of scope: other text files (CSV text columns are read by
 * nnc_table_read_csv). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnc.h"

/* Categories whose words differ (machines, meals, courts, games, a starship) and that hold
 * 147 to 1050 entries each in fortunes-mod 1.99.1. */
static const char *const fortune_classes[] = {"computers", "food", "law", "sports", "startrek"};
#define N_FORTUNE_CLASSES 5

static nnc_status add_text(nnc_text_dataset *d, size_t *cap, const char *text, size_t len, int label) {
    if (d->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        char **t = realloc(d->texts, nc * sizeof *t);
        if (!t) return NNC_ERR_NOMEM;
        d->texts = t;
        int *l = realloc(d->labels, nc * sizeof *l);
        if (!l) return NNC_ERR_NOMEM;
        d->labels = l;
        *cap = nc;
    }
    char *s = malloc(len + 1);
    if (!s) return NNC_ERR_NOMEM;
    memcpy(s, text, len);
    s[len] = '\0';
    d->texts[d->n] = s;
    d->labels[d->n++] = label;
    return NNC_OK;
}

/* Appends the entries of one category file that belong to the asked part. */
static nnc_status read_category(const char *path, int label, int test, nnc_text_dataset *d, size_t *cap, nnc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err) snprintf(err->message, sizeof err->message, "fortunes: cannot open %.200s: %.60s (Debian's package 'fortunes' installs it; $NNC_FORTUNES_DIR names another folder)", path, strerror(errno));
        return NNC_ERR_IO;
    }
    char *entry = NULL, *line = NULL;
    size_t len = 0, ecap = 0, lcap = 0, index = 0;
    nnc_status s = NNC_OK;
    for (;;) {
        ssize_t got = getline(&line, &lcap, f);
        int end = got < 0 || !strcmp(line, "%\n") || !strcmp(line, "%");
        if (end) {
            while (len && (entry[len - 1] == '\n' || entry[len - 1] == ' ')) len--;
            if (len) {
                if ((index % 5 == 4) == (test != 0)) s = add_text(d, cap, entry, len, label);
                index++;
            }
            len = 0;
            if (got < 0 || s != NNC_OK) break;
            continue;
        }
        if (len + (size_t)got + 1 > ecap) {
            size_t nc = 2 * (len + (size_t)got + 1);
            char *e = realloc(entry, nc);
            if (!e) {
                s = NNC_ERR_NOMEM;
                break;
            }
            entry = e;
            ecap = nc;
        }
        memcpy(entry + len, line, (size_t)got);
        len += (size_t)got;
    }
    free(entry);
    free(line);
    fclose(f);
    if (s == NNC_ERR_NOMEM && err) snprintf(err->message, sizeof err->message, "fortunes: out of memory reading %.200s", path);
    return s;
}

/* The training part in a fixed shuffled order (Fisher-Yates with a fixed xorshift64 stream, the
 * same on every machine): read file by file it would list the categories one after another,
 * and a validation split of its last rows, as Keras's validation_split takes them, would hold
 * startrek alone. */
static void shuffle(nnc_text_dataset *d) {
    uint64_t s = 0x9E3779B97F4A7C15u;
    for (size_t i = d->n; i > 1; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t j = (size_t)(s % i);
        char *t = d->texts[i - 1];
        d->texts[i - 1] = d->texts[j], d->texts[j] = t;
        int l = d->labels[i - 1];
        d->labels[i - 1] = d->labels[j], d->labels[j] = l;
    }
}

nnc_status nnc_text_dataset_load(const char *name, nnc_text_dataset *out, nnc_error *err) {
    memset(out, 0, sizeof *out);
    int test = name && !strcmp(name, "fortunes_test");
    if (!name || (!test && strcmp(name, "fortunes"))) {
        if (err) snprintf(err->message, sizeof err->message, "no bundled text dataset '%s' (there are fortunes and fortunes_test)", name ? name : "(null)");
        return NNC_ERR_ARG;
    }
    const char *dir = getenv("NNC_FORTUNES_DIR");
    if (!dir || !*dir) dir = "/usr/share/games/fortunes";
    size_t cap = 0;
    for (int c = 0; c < N_FORTUNE_CLASSES; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, fortune_classes[c]);
        nnc_status s = read_category(path, c, test, out, &cap, err);
        if (s != NNC_OK) {
            nnc_text_dataset_free(out);
            return s;
        }
    }
    if (!test) shuffle(out);
    out->n_classes = N_FORTUNE_CLASSES;
    out->class_names = fortune_classes;
    return NNC_OK;
}

void nnc_text_dataset_free(nnc_text_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->texts[i]);
    free(d->texts);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
