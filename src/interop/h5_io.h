/* The little of HDF5 that Keras files need (src/interop/h5_io.c), over the HDF5 C library:
 * opening a file from disk or from bytes in memory, string attributes as h5py writes them,
 * float datasets checked against the shape nnc expects, and writing the same. Every call
 * keeps HDF5's own error printing off (H5E_BEGIN_TRY) and says what failed, naming the object.
 * HDF5 is built thread-safe on Debian, so two models may load at once. */
#ifndef NNC_H5_IO_H
#define NNC_H5_IO_H
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* HDF5 prints its errors on stderr by default; between these two (per thread) it does not,
 * and every failure is reported through the messages here instead. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} nnc_h5_quiet;
void nnc_h5_quiet_begin(nnc_h5_quiet *q);
void nnc_h5_quiet_end(const nnc_h5_quiet *q);

/* Opens a file read-only; -1 (H5I_INVALID_HID) with why in msg. */
hid_t nnc_h5_open(const char *path, char *msg, size_t n);
/* Opens an HDF5 file held in memory (a zip member), read-only; the bytes are copied. */
hid_t nnc_h5_open_image(const void *bytes, size_t len, const char *name, char *msg, size_t n);
/* Closes what nnc_h5_open* returned (negative: nothing). */
void nnc_h5_close(hid_t f);

/* True when loc has a link called name (a group or a dataset). */
int nnc_h5_exists(hid_t loc, const char *name);
/* The strings of attribute `name` of obj: one (a scalar) or a list, variable or fixed length,
 * and a list split by h5py into name0, name1, ... when it was too large (Keras's
 * save_attributes_to_hdf5_group). An empty non-string list (h5py's np.asarray([])) is no strings.
 * Returns the count (*out: malloc'd array of malloc'd strings; nnc_h5_free_strings), 0 with
 * *out NULL when absent, -1 with why in msg when unreadable. */
int nnc_h5_attr_strings(hid_t obj, const char *name, char ***out, char *msg, size_t n);
void nnc_h5_free_strings(char **s, int count);
/* A scalar string attribute (the first string of a list), malloc'd; NULL when absent or unreadable. */
char *nnc_h5_attr_string(hid_t obj, const char *name);

/* The dataset at path under loc: its rank and dimensions (up to 8), and whether its elements
 * are 4-byte floats (or, with integers_ok, also integers), checked before reading. Returns
 * 0, or -1 with "dataset '<full path>' ..." in msg. */
typedef struct {
    int rank;
    hsize_t dims[8];
    int is_float32, is_integer;
    char path[512];   /* the dataset's full name in the file */
} nnc_h5_dataset_info;
int nnc_h5_dataset_info_of(hid_t loc, const char *path, nnc_h5_dataset_info *info, char *msg, size_t n);
/* Reads the dataset (of `count` elements, as checked with its info) as floats. */
int nnc_h5_read_floats(hid_t loc, const char *path, float *out, size_t count, char *msg, size_t n);
/* Reads a scalar integer dataset (an optimizer's iteration count). */
int nnc_h5_read_int64(hid_t loc, const char *path, int64_t *out, char *msg, size_t n);

/* ---- writing ------------------------------------------------------------------------------- */

/* A new empty file in memory; its bytes come from nnc_h5_image. */
hid_t nnc_h5_create_image(char *msg, size_t n);
/* The bytes of a file made by nnc_h5_create_image (malloc'd), after flushing it. */
void *nnc_h5_image(hid_t f, size_t *len, char *msg, size_t n);
/* Creates a group (and the missing groups above it). */
hid_t nnc_h5_group(hid_t loc, const char *path);
/* A float32 dataset of the given shape (rank 0: a scalar) holding data. */
int nnc_h5_write_floats(hid_t loc, const char *name, const float *data, int rank, const int *dims);
int nnc_h5_write_int64(hid_t loc, const char *name, int64_t v);
/* A string attribute as h5py writes a Python str (variable length, UTF-8) or bytes (variable
 * length, ASCII). */
int nnc_h5_set_string(hid_t obj, const char *name, const char *value, int utf8);
/* A list of strings as Keras 3's save_attributes_to_hdf5_group writes it (variable-length
 * ASCII; an empty list as an empty float64 array; over 64512 bytes split into name0, name1...). */
int nnc_h5_set_string_list(hid_t obj, const char *name, const char *const *values, int count);

#endif
