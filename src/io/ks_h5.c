/* ks_h5.c - parallel HDF5 output that is all-or-nothing. */
#include "ks_h5.h"
#include "ks_h5_deflate.h"
#include "ks_h5_inflate.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_mem.h"
#include "ks_fs.h"
#include "ks_mpi.h"

#define KS_H5_CHUNK_ELEMS (1 << 16)

const char *ks_h5_describe(hid_t loc, const char *name, char *buf, size_t n)
{
    char file[512] = "?", obj[512] = "";
    if (loc >= 0) {
        H5Fget_name(loc, file, sizeof file);
        H5Iget_name(loc, obj, sizeof obj);
    }
    snprintf(buf, n, "%s:%s%s%s", file, obj, strcmp(obj, "/") && name ? "/" : "", name ? name : "");
    return buf;
}

static int h5_fail(ks_ctx *ctx, hid_t loc, const char *name, const char *what)
{
    char where[1100];
    return ks_fail(ctx, KS_EHDF5, "HDF5 could not %s %s", what,
                   ks_h5_describe(loc, name, where, sizeof where));
}

static hid_t file_access(const ks_ctx *ctx)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && ctx->comm != MPI_COMM_NULL)
        H5Pset_fapl_mpio(fapl, ctx->comm, MPI_INFO_NULL);
    return fapl;
}


int ks_h5_create(ks_ctx *ctx, ks_h5_file *f, const char *path)
{
    hid_t fapl, fcpl;
    memset(f, 0, sizeof *f);
    f->id = H5I_INVALID_HID;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* we report errors ourselves */
    snprintf(f->path, sizeof f->path, "%s", path);
    KS_CHECK(ks_fs_partial_name(ctx, path, f->tmp_path, sizeof f->tmp_path));
    fapl = file_access(ctx);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    /* Track creation order so h5dump and readers list groups as written. */
    H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    f->id = H5Fcreate(f->tmp_path, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f->id < 0)
        return ks_fail(ctx, KS_EIO, "cannot create %s (the folder must exist and be writable)",
                       f->tmp_path);
    return KS_OK;
}

int ks_h5_amend(ks_ctx *ctx, ks_h5_file *f, const char *path)
{
    hid_t fapl;
    int exists = 0, rc = KS_OK;
    memset(f, 0, sizeof *f);
    f->id = H5I_INVALID_HID;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(f->path, sizeof f->path, "%s", path);
    KS_CHECK(ks_fs_partial_name(ctx, path, f->tmp_path, sizeof f->tmp_path));
    if (ctx->rank == 0) {
        exists = access(path, F_OK) == 0;
        if (exists && (rc = ks_fs_copy(ctx, path, f->tmp_path)) != KS_OK)
            unlink(f->tmp_path); /* no half copy left behind */
    }
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_mpi_bcast(ctx, &exists, sizeof exists));
    if (!exists)
        return ks_h5_create(ctx, f, path);
    fapl = file_access(ctx);
    f->id = H5Fopen(f->tmp_path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    rc = f->id < 0 ? ks_fail(ctx, KS_EHDF5, "cannot open %s (a copy of %s) for writing: is %s an "
                             "HDF5 file?", f->tmp_path, path, path)
                   : KS_OK;
    rc = ks_mpi_agree(ctx, rc);
    if (rc != KS_OK) {
        ks_h5_abort(ctx, f);
        return rc;
    }
    return KS_OK;
}

int ks_h5_commit(ks_ctx *ctx, ks_h5_file *f)
{
    int rc = KS_OK;
    if (H5Fclose(f->id) < 0)
        rc = ks_fail(ctx, KS_EHDF5, "HDF5 could not close %s", f->tmp_path);
    f->id = H5I_INVALID_HID;
    rc = ks_mpi_agree(ctx, rc);
    if (rc != KS_OK)
        return rc;
    if (ctx->rank == 0 && rename(f->tmp_path, f->path) != 0)
        rc = ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", f->tmp_path, f->path,
                     strerror(errno));
    return ks_mpi_agree(ctx, rc);
}

void ks_h5_abort(ks_ctx *ctx, ks_h5_file *f)
{
    if (f->id >= 0)
        H5Fclose(f->id);
    f->id = H5I_INVALID_HID;
    if (ctx->comm != MPI_COMM_NULL)
        MPI_Barrier(ctx->comm);
    if (ctx->rank == 0 && f->tmp_path[0])
        unlink(f->tmp_path);
}

int ks_h5_open_read(ks_ctx *ctx, hid_t *file, const char *path)
{
    hid_t fapl = file_access(ctx);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (*file < 0)
        return ks_fail(ctx, KS_EIO, "cannot open %s as an HDF5 file (missing, unreadable or "
                       "not HDF5)", path);
    return KS_OK;
}

int ks_h5_group(ks_ctx *ctx, hid_t loc, const char *path, hid_t *group)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    if (H5Lexists(loc, path, H5P_DEFAULT) > 0)
        *group = H5Gopen2(loc, path, H5P_DEFAULT);
    else
        *group = H5Gcreate2(loc, path, lcpl, gcpl, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Pclose(gcpl);
    if (*group < 0)
        return h5_fail(ctx, loc, path, "create group");
    return KS_OK;
}

/* Little-endian file type of the same class and size as a native type. */
static hid_t file_type_of(hid_t memtype)
{
    if (H5Tequal(memtype, H5T_NATIVE_DOUBLE) > 0)
        return H5T_IEEE_F64LE;
    if (H5Tequal(memtype, H5T_NATIVE_FLOAT) > 0)
        return H5T_IEEE_F32LE;
    switch (H5Tget_size(memtype)) {
    case 1: return H5T_STD_I8LE;
    case 2: return H5T_STD_I16LE;
    case 4: return H5T_STD_I32LE;
    default: return H5T_STD_I64LE;
    }
}

static hid_t dataset_create_plist(int rank, const hsize_t *dims, size_t elem_size)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2];
    hsize_t elems = 1;
    H5Pset_obj_track_times(dcpl, 0);
    for (int d = 0; d < rank; d++)
        elems *= dims[d];
    if (elems == 0)
        return dcpl; /* contiguous and empty */
    if (rank == 1) {
        chunk[0] = dims[0] < KS_H5_CHUNK_ELEMS ? dims[0] : KS_H5_CHUNK_ELEMS;
    } else {
        chunk[1] = dims[1] < KS_H5_CHUNK_ELEMS ? dims[1] : KS_H5_CHUNK_ELEMS;
        chunk[0] = KS_H5_CHUNK_ELEMS / chunk[1];
        if (chunk[0] < 1)
            chunk[0] = 1;
        if (chunk[0] > dims[0])
            chunk[0] = dims[0];
    }
    H5Pset_chunk(dcpl, rank, chunk);
    ks_h5_set_filters(dcpl, elem_size);
    return dcpl;
}

/* Create a dataset and write this rank's hyperslab of rows collectively. */
static int write_block(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype, hid_t filetype,
                       const void *data, int rank, const hsize_t *dims, hsize_t row_offset,
                       hsize_t row_count)
{
    int rc = KS_OK;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = dataset_create_plist(rank, dims, H5Tget_size(filetype));
    hid_t dset = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    hid_t memspace = H5I_INVALID_HID;
    hsize_t start[2] = {row_offset, 0}, count[2] = {row_count, rank > 1 ? dims[1] : 1};
    if (dset < 0) {
        rc = h5_fail(ctx, loc, name, "create dataset");
        goto done;
    }
    if (ctx->comm != MPI_COMM_NULL)
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    memspace = H5Screate_simple(rank, count, NULL);
    if (row_count == 0) {
        H5Sselect_none(space);
        H5Sselect_none(memspace);
    } else {
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    }
    if (dims[0] > 0 && H5Dwrite(dset, memtype, memspace, space, dxpl, data) < 0)
        rc = h5_fail(ctx, loc, name, "write dataset");
done:
    if (memspace >= 0)
        H5Sclose(memspace);
    H5Pclose(dxpl);
    if (dset >= 0)
        H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

int ks_h5_write_column(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                       const void *data, int64_t count, int64_t offset, int64_t total)
{
    hsize_t dims[1] = {(hsize_t)total};
    return write_block(ctx, loc, name, memtype, file_type_of(memtype), data, 1, dims,
                       (hsize_t)offset, (hsize_t)count);
}

int ks_h5_write_root(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                     const void *data, int64_t n)
{
    return ks_h5_write_column(ctx, loc, name, memtype, data, ctx->rank == 0 ? n : 0, 0, n);
}

int ks_h5_write_root_2d(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                        const void *data, int64_t rows, int64_t cols)
{
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    return write_block(ctx, loc, name, memtype, file_type_of(memtype), data, 2, dims, 0,
                       ctx->rank == 0 ? (hsize_t)rows : 0);
}

int ks_h5_write_rows_2d(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype, const void *data,
                        int64_t row_offset, int64_t row_count, int64_t total_rows, int64_t cols)
{
    hsize_t dims[2] = {(hsize_t)total_rows, (hsize_t)cols};
    return write_block(ctx, loc, name, memtype, file_type_of(memtype), data, 2, dims,
                       (hsize_t)row_offset, (hsize_t)row_count);
}

int ks_h5_write_strings(ks_ctx *ctx, hid_t loc, const char *name, const char *const *strings,
                        int64_t count, int64_t offset, int64_t total)
{
    int64_t width = 1;
    char *packed = NULL;
    hid_t strtype;
    hsize_t dims[1] = {(hsize_t)total};
    int rc;
    for (int64_t i = 0; i < count; i++) {
        int64_t len = (int64_t)strlen(strings[i]);
        if (len > width)
            width = len;
    }
    KS_CHECK(ks_mpi_max_i64(ctx, &width, 1));
    KS_CHECK(ks_calloc(ctx, &packed, (size_t)(count > 0 ? count : 1), (size_t)width, "string column"));
    for (int64_t i = 0; i < count; i++)
        memcpy(packed + i * width, strings[i], strlen(strings[i]));
    strtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(strtype, (size_t)width);
    H5Tset_strpad(strtype, H5T_STR_NULLPAD);
    H5Tset_cset(strtype, H5T_CSET_UTF8);
    rc = write_block(ctx, loc, name, strtype, strtype, packed, 1, dims, (hsize_t)offset,
                     (hsize_t)count);
    H5Tclose(strtype);
    free(packed);
    return rc;
}

static int write_attr(ks_ctx *ctx, hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                      const void *value)
{
    int rc = KS_OK;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr;
    if (H5Aexists(loc, name) > 0)
        H5Adelete(loc, name);
    attr = H5Acreate2(loc, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, memtype, value) < 0)
        rc = h5_fail(ctx, loc, name, "write attribute");
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

int ks_h5_attr_string(ks_ctx *ctx, hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc;
    H5Tset_size(t, strlen(value) > 0 ? strlen(value) : 1);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    rc = write_attr(ctx, loc, name, t, t, strlen(value) > 0 ? value : "");
    H5Tclose(t);
    return rc;
}

int ks_h5_attr_i64(ks_ctx *ctx, hid_t loc, const char *name, int64_t value)
{
    return write_attr(ctx, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

int ks_h5_attr_f64(ks_ctx *ctx, hid_t loc, const char *name, double value)
{
    return write_attr(ctx, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* ---- streamed columns ---- */

int ks_h5_stream_create(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                        ks_h5_stream *s)
{
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {KS_H5_CHUNK_ELEMS};
    hid_t filetype = file_type_of(memtype);
    hid_t space = H5Screate_simple(1, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    s->memtype = memtype;
    s->length = 0;
    H5Pset_obj_track_times(dcpl, 0);
    H5Pset_chunk(dcpl, 1, chunk);
    if (H5Tget_size(filetype) > 1)
        H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 1);
    s->dset = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (s->dset < 0)
        return h5_fail(ctx, loc, name, "create extendible dataset");
    return KS_OK;
}

int ks_h5_stream_append(ks_ctx *ctx, ks_h5_stream *s, const void *data, int64_t count,
                        int64_t offset, int64_t total)
{
    hsize_t dims[1] = {(hsize_t)(s->length + total)};
    hsize_t start[1] = {(hsize_t)(s->length + offset)}, cnt[1] = {(hsize_t)count};
    hid_t space = H5I_INVALID_HID, memspace = H5I_INVALID_HID, dxpl;
    int rc = KS_OK;
    if (total == 0)
        return KS_OK; /* the same on every rank: nobody calls HDF5 */
    if (H5Dset_extent(s->dset, dims) < 0)
        return h5_fail(ctx, s->dset, NULL, "extend dataset");
    space = H5Dget_space(s->dset);
    memspace = H5Screate_simple(1, cnt[0] > 0 ? cnt : dims, NULL);
    if (count == 0) {
        H5Sselect_none(space);
        H5Sselect_none(memspace);
    } else {
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, cnt, NULL);
    }
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (ctx->comm != MPI_COMM_NULL)
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    if (H5Dwrite(s->dset, s->memtype, memspace, space, dxpl, data) < 0)
        rc = h5_fail(ctx, s->dset, NULL, "append to dataset");
    H5Pclose(dxpl);
    H5Sclose(memspace);
    H5Sclose(space);
    if (rc == KS_OK)
        s->length += total;
    return rc;
}

void ks_h5_stream_close(ks_h5_stream *s)
{
    if (s->dset > 0)
        H5Dclose(s->dset);
    s->dset = H5I_INVALID_HID;
}

int ks_h5_read_strings(ks_ctx *ctx, hid_t file, const char *path, int64_t offset, int64_t count,
                       char ***out)
{
    hid_t d, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t start[1] = {(hsize_t)offset}, cnt[1] = {(hsize_t)(count > 0 ? count : 1)};
    size_t width = 0;
    char *block = NULL, **ptr = NULL;
    int rc = KS_OK;
    char where[600];
    *out = NULL;
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0 || (d = H5Dopen2(file, path, H5P_DEFAULT)) < 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no dataset %s",
                       ks_h5_describe(file, NULL, where, sizeof where), path);
    ftype = H5Dget_type(d);
    if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) > 0) {
        rc = ks_fail(ctx, KS_EINPUT, "dataset %s holds no fixed-width strings", path);
        goto done;
    }
    width = H5Tget_size(ftype);
    /* one block: the pointer table, then count strings of width+1 bytes */
    block = calloc((size_t)cnt[0] * (sizeof(char *) + width + 1), 1);
    if (!block) {
        rc = ks_fail(ctx, KS_ENOMEM, "no memory for %lld strings of %s", (long long)count, path);
        goto done;
    }
    ptr = (char **)block;
    mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, width + 1);
    H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    fs = H5Dget_space(d);
    ms = H5Screate_simple(1, cnt, NULL);
    if (count > 0) {
        char *text = block + (size_t)count * sizeof(char *);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
        if (H5Dread(d, mtype, ms, fs, H5P_DEFAULT, text) < 0) {
            rc = ks_fail(ctx, KS_EHDF5, "cannot read rows %lld-%lld of %s", (long long)offset,
                         (long long)(offset + count), path);
            goto done;
        }
        for (int64_t i = 0; i < count; i++)
            ptr[i] = text + (size_t)i * (width + 1);
    }
    *out = ptr;
    block = NULL;
done:
    free(block);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (mtype >= 0)
        H5Tclose(mtype);
    H5Tclose(ftype);
    H5Dclose(d);
    return rc;
}

/* Whether `path` and the group holding it exist (H5Lexists fails, noisily,
 * when an intermediate group is missing). */
static int path_exists(hid_t file, const char *path)
{
    char parent[512];
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
        if (!path_exists(file, parent))
            return 0;
    }
    return H5Lexists(file, path, H5P_DEFAULT) > 0;
}

int ks_h5_read_column(ks_ctx *ctx, hid_t file, const char *file_name, const char *path, int64_t total,
                      int64_t offset, int64_t count, hid_t memtype, size_t size, const char *why,
                      void **buf)
{
    hid_t d, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, start[1] = {(hsize_t)offset}, cnt[1] = {(hsize_t)count};
    int rc = KS_OK;
    *buf = NULL;
    if (!path_exists(file, path))
        return ks_fail(ctx, KS_EINPUT, "%s has no dataset %s (%s)", file_name, path, why);
    d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:%s", file_name, path);
    fs = H5Dget_space(d);
    if (fs < 0 || H5Sget_simple_extent_ndims(fs) != 1 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0 ||
        (int64_t)dims[0] != total) {
        rc = ks_fail(ctx, KS_EINPUT, "%s:%s is not a 1-D column of %lld rows", file_name, path,
                     (long long)total);
        goto done;
    }
    KS_TRY(rc, ks_calloc(ctx, buf, count ? (size_t)count : 1, size, path), done);
    if (count > 0) {
        char what[KS_PATH_MAX + 256];
        int done = 0;
        snprintf(what, sizeof what, "%s:%s", file_name, path);
        KS_TRY(rc, ks_h5_inflate_rows(ctx, d, memtype, size, offset, count, *buf, what, &done), done);
        if (done)
            goto done;
        ms = H5Screate_simple(1, cnt, NULL);
        if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
            H5Dread(d, memtype, ms, fs, H5P_DEFAULT, *buf) < 0)
            rc = ks_fail(ctx, KS_EHDF5, "cannot read rows %lld..%lld of %s:%s", (long long)offset,
                         (long long)(offset + count), file_name, path);
    }
done:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(d);
    return rc;
}
