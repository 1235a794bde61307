#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strmap.h"

/* FNV-1a, 64-bit. */
static uint64_t hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static size_t slot_of(const nnc_strmap *m, const char *key) {
    size_t i = (size_t)hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
    return i;
}

int *nnc_strmap_get(const nnc_strmap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t i = slot_of(m, key);
    return m->keys[i] ? &m->vals[i] : NULL;
}

static int grow(nnc_strmap *m) {
    size_t cap = m->cap ? 2 * m->cap : 16;
    nnc_strmap n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.vals), cap, m->count};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = slot_of(&n, m->keys[i]);
            n.keys[j] = m->keys[i];
            n.vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int nnc_strmap_put(nnc_strmap *m, const char *key, int v) {
    if (2 * (m->count + 1) > m->cap && grow(m)) return -1;
    size_t i = slot_of(m, key);
    if (!m->keys[i]) {
        if (!(m->keys[i] = strdup(key))) return -1;
        m->count++;
    }
    m->vals[i] = v;
    return 0;
}

void nnc_strmap_free(nnc_strmap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
