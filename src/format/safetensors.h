/* Internal reader/writer for the safetensors format (weights and checkpoints).
 * Out of scope: dtypes other than the five below (F16/BF16/BOOL/... are rejected by name),
 * memory mapping, and lazy loading: a read loads the whole data section into memory. */
#ifndef NNC_IO_SAFETENSORS_H
#define NNC_IO_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "strmap.h"

typedef enum { NNC_ST_F32, NNC_ST_F64, NNC_ST_I64, NNC_ST_I32, NNC_ST_U8, NNC_ST_DTYPE_COUNT } nnc_st_dtype;

#define NNC_ST_NAME_MAX 160 /* including the NUL */
#define NNC_ST_MAX_NDIM 8

typedef struct {
    char name[NNC_ST_NAME_MAX];
    nnc_st_dtype dtype;
    int ndim;
    int64_t shape[NNC_ST_MAX_NDIM];
    const void *data;  /* little-endian element data */
    size_t nbytes;     /* must equal prod(shape) * element size */
    uint64_t offset;   /* read: where data starts in the file's data section */
} nnc_st_tensor;

typedef struct { const char *key; const char *value; } nnc_st_meta;

/* Writes atomically (atomic.h): on failure the previous file (if any) is untouched. Data is
 * laid out in order of decreasing element size (stable), as the reference implementation does,
 * so every tensor's offset is a multiple of its element size. Returns 0, or -1 with err set. */
int nnc_st_write(const char *path, const nnc_st_tensor *ts, size_t n, const nnc_st_meta *meta,
                 size_t nmeta, char *err, size_t errlen);
#ifdef NNC_FAULT_INJECTION
/* Tests: the same, failing once fail_after_bytes have gone to the temporary file. */
int nnc_st_write_faulty(const char *path, const nnc_st_tensor *ts, size_t n, const nnc_st_meta *meta,
                        size_t nmeta, long long fail_after_bytes, char *err, size_t errlen);
#endif

typedef struct {
    void *blob;              /* the data section (bytes after the header), malloc-aligned */
    size_t bloblen;
    nnc_st_tensor *tensors;  /* data points into blob; in header order */
    size_t ntensors;
    nnc_st_meta *meta;       /* owned copies of __metadata__ */
    size_t nmeta;
    nnc_strmap index;        /* tensor name -> its index, for nnc_st_find */
} nnc_st_file;

/* Validates the header against the file's size before reading any data, then reads the data
 * section alone: a file cannot make the reader allocate more than its header and tensors.
 * A tensor's data is aligned for its type whenever its offset is a
 * multiple of its element size (true for files from nnc_st_write and the reference writer);
 * otherwise callers must memcpy. Returns 0, or -1 with err naming the file and problem and
 * *out zeroed. nnc_st_parse does the same from memory, copying what it keeps. */
int nnc_st_read(const char *path, nnc_st_file *out, char *err, size_t errlen);
int nnc_st_parse(const void *buf, size_t len, const char *name_for_errors, nnc_st_file *out,
                 char *err, size_t errlen);
void nnc_st_free(nnc_st_file *f);

const nnc_st_tensor *nnc_st_find(const nnc_st_file *f, const char *name);
const char *nnc_st_meta_get(const nnc_st_file *f, const char *key);
const char *nnc_st_dtype_name(nnc_st_dtype d); /* "F32", ...; "?" when out of range */
size_t nnc_st_dtype_size(nnc_st_dtype d);      /* bytes per element; 0 when out of range */

#endif
