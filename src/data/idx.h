/* Internal reader for IDX files (the MNIST format), plain or gzip-compressed, into floats.
 * Out of scope: writing IDX files, memory mapping, streaming (a file is read whole), and
 * scaling or otherwise interpreting the values (the dataset loader divides pixels by 255). */
#ifndef NNC_DATA_IDX_H
#define NNC_DATA_IDX_H
#include <stddef.h>
#include <stdint.h>

#define NNC_IDX_MAX_NDIM 8

/* Element type codes of the format (the third magic byte). */
enum {
    NNC_IDX_UBYTE = 0x08,
    NNC_IDX_SBYTE = 0x09,
    NNC_IDX_SHORT = 0x0B,
    NNC_IDX_INT = 0x0C,
    NNC_IDX_FLOAT = 0x0D,
    NNC_IDX_DOUBLE = 0x0E
};

typedef struct {
    int type;                        /* NNC_IDX_UBYTE .. NNC_IDX_DOUBLE, as stored */
    int ndim;                        /* 1 .. NNC_IDX_MAX_NDIM */
    uint32_t dims[NNC_IDX_MAX_NDIM]; /* sizes as stored; unused entries are 0 */
    size_t count;                    /* dims[0]: the number of items (images, labels) */
    size_t item_size;                /* product of dims[1..]; 1 when ndim is 1 */
    float *values;                   /* count * item_size values as stored (not scaled) */
} nnc_idx;

/* Reads an IDX file, gzip-compressed or plain (told apart by content, not by name). Returns 0,
 * or -1 with a one-line message naming the file in err and *out zeroed. */
int nnc_idx_read(const char *path, nnc_idx *out, char *err, size_t errlen);
/* The same from bytes in memory (uncompressed); name stands for the file in messages. */
int nnc_idx_parse(const void *buf, size_t len, const char *name_for_errors, nnc_idx *out,
                  char *err, size_t errlen);
/* Frees the values and zeroes *x. NULL is fine. */
void nnc_idx_free(nnc_idx *x);

#endif
