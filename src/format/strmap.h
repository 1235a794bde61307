/* A map from strings to ints (src/format/strmap.c): open addressing with linear probing, kept
 * at most half full, so a lookup costs one hash and a probe or two whatever the count. Every
 * lookup by name over a number of things a file can set (layers, variables, tensors, JSON keys)
 * goes through one, so no file can make nnc quadratic in its size. */
#ifndef NNC_STRMAP_H
#define NNC_STRMAP_H
#include <stddef.h>

typedef struct {
    char **keys; /* copies; NULL: an empty slot */
    int *vals;
    size_t cap, count;
} nnc_strmap;

/* The value of key, or NULL when absent. */
int *nnc_strmap_get(const nnc_strmap *m, const char *key);
/* Sets key to v (adding a copy of key when absent). 0, or -1 when out of memory. */
int nnc_strmap_put(nnc_strmap *m, const char *key, int v);
/* Frees the map and zeroes it. */
void nnc_strmap_free(nnc_strmap *m);

#endif
