/* HDF5 for Keras files (h5_io.h). What Keras's files hold, as h5py writes it:
 *   1. string attributes: a Python str is a variable-length UTF-8 string, bytes a
 *      variable-length ASCII one, np.asarray of bytes a list of fixed-length null-padded
 *      strings, an empty list an empty float64 array; a list over 64512 bytes is split into
 *      name0, name1, ... (Keras's HDF5_OBJECT_HEADER_LIMIT);
 *   2. weights as little-endian float32 datasets, optimizer counts as int64 scalars.
 * Files in memory use HDF5's core driver (H5Pset_fapl_core without a backing store), each
 * under a name of its own, since HDF5 tells open files apart by name. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h5_io.h"
#include "../format/message.h"

#define ATTR_CHUNK_LIMIT 64512          /* Keras's HDF5_OBJECT_HEADER_LIMIT */
#define ATTR_MAX_BYTES ((size_t)256 << 20) /* no attribute of a model file is near this */

void nnc_h5_quiet_begin(nnc_h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void nnc_h5_quiet_end(const nnc_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

hid_t nnc_h5_open(const char *path, char *msg, size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) nnc_msg(msg, n, "%s: HDF5 cannot open it (a damaged or truncated file?)", path);
    return f;
}

/* A name no other file open in this process has: the address of a live allocation. */
static void unique_name(char *buf, size_t n, const void *p) { snprintf(buf, n, "nnc-image-%p.h5", p); }

hid_t nnc_h5_open_image(const void *bytes, size_t len, const char *name, char *msg, size_t n) {
    char id[64];
    unique_name(id, sizeof id, bytes);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = H5I_INVALID_HID;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)bytes, len) >= 0)
        f = H5Fopen(id, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) nnc_msg(msg, n, "%s: HDF5 cannot open it (a damaged or truncated file?)", name);
    return f;
}

void nnc_h5_close(hid_t f) {
    if (f >= 0) H5Fclose(f);
}

int nnc_h5_exists(hid_t loc, const char *name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

void nnc_h5_free_strings(char **s, int count) {
    for (int i = 0; s && i < count; i++) free(s[i]);
    free(s);
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The strings of one attribute appended to *out (growing it); the count added, or -1. */
static int read_string_attr(hid_t obj, const char *name, char ***out, int *count, char *msg, size_t n) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1, s = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t pts = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    int rc = -1;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    if (a < 0 || t < 0 || s < 0 || pts < 0) {
        nnc_msg(msg, n, "attribute '%s' is unreadable", name);
    } else if (H5Tget_class(t) != H5T_STRING) {
        rc = pts == 0 ? 0 : nnc_msg(msg, n, "attribute '%s' does not hold strings", name);
    } else if ((size_t)pts > ATTR_MAX_BYTES / (size ? size : 1) || (size_t)*count + (size_t)pts > (size_t)1 << 28) {
        nnc_msg(msg, n, "attribute '%s' is too large", name);
    } else {
        char **grown = realloc(*out, ((size_t)*count + (size_t)pts + 1) * sizeof *grown);
        int vlen = H5Tis_variable_str(t) > 0;
        hid_t mt = H5Tcopy(H5T_C_S1);
        void *buf = grown ? calloc((size_t)pts + 1, vlen ? sizeof(char *) : size) : NULL;
        if (grown) *out = grown;
        if (buf && mt >= 0 && H5Tset_size(mt, vlen ? H5T_VARIABLE : size) >= 0 && H5Tset_cset(mt, H5Tget_cset(t)) >= 0 &&
            (vlen || H5Tset_strpad(mt, H5T_STR_NULLPAD) >= 0) && H5Aread(a, mt, buf) >= 0) {
            rc = 0;
            for (hssize_t i = 0; i < pts && rc == 0; i++) {
                const char *v = vlen ? ((char **)buf)[i] : (char *)buf + (size_t)i * size;
                char *copy = vlen ? dup_n(v ? v : "", v ? strlen(v) : 0) : dup_n(v, strnlen(v, size));
                if (copy) (*out)[(*count)++] = copy;
                else rc = nnc_msg(msg, n, "out of memory reading attribute '%s'", name);
            }
            if (vlen) H5Dvlen_reclaim(mt, s, H5P_DEFAULT, buf);
        } else {
            nnc_msg(msg, n, "attribute '%s' is unreadable", name);
        }
        if (mt >= 0) H5Tclose(mt);
        free(buf);
    }
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int nnc_h5_attr_strings(hid_t obj, const char *name, char ***out, char *msg, size_t n) {
    int count = 0, rc = 0;
    *out = NULL;
    if (H5Aexists(obj, name) > 0) {
        rc = read_string_attr(obj, name, out, &count, msg, n);
    } else { /* Keras's chunks: name0, name1, ... */
        char part[300];
        for (int k = 0; rc == 0; k++) {
            snprintf(part, sizeof part, "%s%d", name, k);
            if (H5Aexists(obj, part) <= 0) break;
            rc = read_string_attr(obj, part, out, &count, msg, n);
        }
    }
    if (rc) {
        nnc_h5_free_strings(*out, count);
        *out = NULL;
        return -1;
    }
    if (!count) {
        free(*out);
        *out = NULL;
    }
    return count;
}

char *nnc_h5_attr_string(hid_t obj, const char *name) {
    char **s = NULL, msg[8];
    int count = nnc_h5_attr_strings(obj, name, &s, msg, sizeof msg);
    char *first = count > 0 ? s[0] : NULL;
    if (count > 0) s[0] = NULL;
    nnc_h5_free_strings(s, count);
    return first;
}

/* ---- datasets ------------------------------------------------------------------------------ */

int nnc_h5_dataset_info_of(hid_t loc, const char *path, nnc_h5_dataset_info *info, char *msg, size_t n) {
    memset(info, 0, sizeof *info);
    snprintf(info->path, sizeof info->path, "%s", path);
    hid_t d = H5Oexists_by_name(loc, path, H5P_DEFAULT) > 0 ? H5Dopen2(loc, path, H5P_DEFAULT) : -1;
    if (d < 0) return nnc_msg(msg, n, "dataset '%s' is missing", path);
    H5Iget_name(d, info->path, sizeof info->path);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1, rc = 0;
    if (t < 0 || s < 0 || rank < 0 || rank > 8) {
        rc = nnc_msg(msg, n, "dataset '%s' has an unreadable type or shape", info->path);
    } else {
        info->rank = rank;
        H5Sget_simple_extent_dims(s, info->dims, NULL);
        H5T_class_t c = H5Tget_class(t);
        info->is_float32 = c == H5T_FLOAT && H5Tget_size(t) == 4;
        info->is_integer = c == H5T_INTEGER;
    }
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    H5Dclose(d);
    return rc;
}

static int read_as(hid_t loc, const char *path, hid_t mem_type, void *out, size_t count, char *msg, size_t n) {
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT), s = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t pts = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    int rc = 0;
    if (pts < 0 || (size_t)pts != count) rc = nnc_msg(msg, n, "dataset '%s' is unreadable", path);
    else if (H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = nnc_msg(msg, n, "dataset '%s': its data cannot be read (truncated or damaged)", path);
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    return rc;
}

int nnc_h5_read_floats(hid_t loc, const char *path, float *out, size_t count, char *msg, size_t n) {
    return read_as(loc, path, H5T_NATIVE_FLOAT, out, count, msg, n);
}

int nnc_h5_read_int64(hid_t loc, const char *path, int64_t *out, char *msg, size_t n) {
    return read_as(loc, path, H5T_NATIVE_INT64, out, 1, msg, n);
}

/* ---- writing ------------------------------------------------------------------------------- */

hid_t nnc_h5_create_image(char *msg, size_t n) {
    char id[64];
    unique_name(id, sizeof id, &id);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = H5I_INVALID_HID;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0) f = H5Fcreate(id, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) nnc_msg(msg, n, "HDF5 cannot make a file in memory");
    return f;
}

void *nnc_h5_image(hid_t f, size_t *len, char *msg, size_t n) {
    ssize_t size = H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 ? H5Fget_file_image(f, NULL, 0) : -1;
    void *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (!buf || H5Fget_file_image(f, buf, (size_t)size) != size) {
        free(buf);
        nnc_msg(msg, n, "HDF5 cannot give the file's bytes");
        return NULL;
    }
    *len = (size_t)size;
    return buf;
}

/* Link creation that makes the groups a path passes through. */
static hid_t intermediate_lcpl(void) {
    hid_t l = H5Pcreate(H5P_LINK_CREATE);
    if (l >= 0) H5Pset_create_intermediate_group(l, 1);
    return l;
}

hid_t nnc_h5_group(hid_t loc, const char *path) {
    if (nnc_h5_exists(loc, path)) return H5Gopen2(loc, path, H5P_DEFAULT);
    hid_t l = intermediate_lcpl(), g = H5Gcreate2(loc, path, l, H5P_DEFAULT, H5P_DEFAULT);
    if (l >= 0) H5Pclose(l);
    return g;
}

static int write_data(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, const void *data, int rank,
                      const int *dims) {
    hsize_t d[8];
    for (int i = 0; i < rank && i < 8; i++) d[i] = (hsize_t)dims[i];
    hid_t s = rank ? H5Screate_simple(rank, d, NULL) : H5Screate(H5S_SCALAR), l = intermediate_lcpl();
    hid_t ds = s >= 0 ? H5Dcreate2(loc, name, file_type, s, l, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = ds >= 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    if (ds >= 0) H5Dclose(ds);
    if (s >= 0) H5Sclose(s);
    if (l >= 0) H5Pclose(l);
    return rc;
}

int nnc_h5_write_floats(hid_t loc, const char *name, const float *data, int rank, const int *dims) {
    return write_data(loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, rank, dims);
}

int nnc_h5_write_int64(hid_t loc, const char *name, int64_t v) {
    return write_data(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, 0, NULL);
}

int nnc_h5_set_string(hid_t obj, const char *name, const char *value, int utf8) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (t >= 0 && s >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) >= 0 &&
        (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(a, t, &value) >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return rc;
}

/* One attribute of variable-length ASCII strings values[0..count), as h5py writes a list of
 * bytes (count 0: an empty float64 list, np.asarray([])). */
static int string_list_attr(hid_t obj, const char *name, const char *const *values, int count) {
    hsize_t dim = (hsize_t)count;
    hid_t t = count ? H5Tcopy(H5T_C_S1) : H5Tcopy(H5T_IEEE_F64LE), s = H5Screate_simple(1, &dim, NULL), a = -1;
    int rc = -1;
    if (t >= 0 && s >= 0 && (!count || (H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_ASCII) >= 0)) &&
        (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0) {
        double none = 0.0;
        rc = H5Awrite(a, t, count ? (const void *)values : (const void *)&none) >= 0 ? 0 : -1;
    }
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return rc;
}

int nnc_h5_set_string_list(hid_t obj, const char *name, const char *const *values, int count) {
    size_t bytes = 0; /* what Keras measures: the strings as numpy's fixed-width bytes */
    size_t width = 1;
    for (int i = 0; i < count; i++)
        if (strlen(values[i]) > width) width = strlen(values[i]);
    bytes = (size_t)count * width;
    if (bytes <= ATTR_CHUNK_LIMIT) return string_list_attr(obj, name, values, count);
    /* as np.array_split into k nearly equal parts, the first count % k one longer */
    int k = 2;
    while ((size_t)(count / k + (count % k != 0)) * width > ATTR_CHUNK_LIMIT) k++;
    for (int c = 0, at = 0; c < k; c++) {
        int len = count / k + (c < count % k);
        char part[300];
        snprintf(part, sizeof part, "%s%d", name, c);
        if (string_list_attr(obj, part, values + at, len)) return -1;
        at += len;
    }
    return 0;
}
