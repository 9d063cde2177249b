/* ks_h5.h - parallel HDF5 output that is all-or-nothing.
 *
 * A file is created under a temporary name beside its final path
 * (".NAME.partial") and renamed by rank 0 only after every rank has closed it,
 * so a crash or a kill never leaves a half-written file under the final name.
 * Column writes are collective: every rank calls them, with its own slice
 * (possibly empty).  Datasets are chunked, shuffled and deflated; object
 * modification times are off so that equal content gives equal files. */
#ifndef KS_H5_H
#define KS_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h"

typedef struct ks_h5_file {
    hid_t id;
    char path[KS_PATH_MAX];
    char tmp_path[KS_PATH_MAX];
} ks_h5_file;

/* Create `path` (collective).  Its folder must exist. */
int ks_h5_create(ks_ctx *ctx, ks_h5_file *f, const char *path);
/* Open a copy of `path` for writing (collective), or a new file when there
 * is none: a stage adding a group to another stage's output (report's
 * /report in results.h5).  The copy is committed over `path` like a created
 * file, so readers see the old file or the whole new one, never a mix. */
int ks_h5_amend(ks_ctx *ctx, ks_h5_file *f, const char *path);
/* Close and rename to the final path (collective). */
int ks_h5_commit(ks_ctx *ctx, ks_h5_file *f);
/* Close and remove the temporary file (collective; after an agreed error). */
void ks_h5_abort(ks_ctx *ctx, ks_h5_file *f);

/* Open an existing file for reading on every rank of ctx (collective). */
int ks_h5_open_read(ks_ctx *ctx, hid_t *file, const char *path);

/* Create (or open) a group by path, parents included. */
int ks_h5_group(ks_ctx *ctx, hid_t loc, const char *path, hid_t *group);

/* A 1-D column of `total` elements of which this rank writes [offset,
 * offset+count).  memtype: H5T_NATIVE_INT8/INT16/INT32/INT64/DOUBLE.  The
 * file type is the same width, little-endian.  Collective. */
int ks_h5_write_column(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                       const void *data, int64_t count, int64_t offset, int64_t total);

/* Same, where rank 0 holds all the data (small tables). Collective. */
int ks_h5_write_root(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                     const void *data, int64_t n);

/* A 2-D [rows][cols] block where rank 0 holds all the data. Collective. */
int ks_h5_write_root_2d(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                        const void *data, int64_t rows, int64_t cols);

/* A 2-D [total_rows][cols] dataset of which this rank writes the rows
 * [row_offset, row_offset+row_count) from `data` (its rows only), so that
 * ranks compress their blocks in parallel.  Collective. */
int ks_h5_write_rows_2d(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype, const void *data,
                        int64_t row_offset, int64_t row_count, int64_t total_rows, int64_t cols);

/* A column of fixed-width UTF-8 strings (width = longest string of any rank,
 * NUL-padded), of which this rank writes [offset, offset+count). Collective. */
int ks_h5_write_strings(ks_ctx *ctx, hid_t loc, const char *name, const char *const *strings,
                        int64_t count, int64_t offset, int64_t total);

/* Attributes: metadata is collective in parallel HDF5, so every rank calls
 * these with the same value. */
int ks_h5_attr_string(ks_ctx *ctx, hid_t loc, const char *name, const char *value);
int ks_h5_attr_i64(ks_ctx *ctx, hid_t loc, const char *name, int64_t value);
int ks_h5_attr_f64(ks_ctx *ctx, hid_t loc, const char *name, double value);

/* A path inside a file for messages: "records.h5:/flows/2005/value_usd". */
const char *ks_h5_describe(hid_t loc, const char *name, char *buf, size_t n);

/* ---- streamed columns (added for stage panel) ----
 * A 1-D column that grows as a stage appends blocks to it: chunked
 * (65,536 elements), shuffled, deflated, with an unlimited maximum length.
 * Every append is collective: every rank passes the same `total` (the sum of
 * all ranks' counts, from an allreduce) and its own [offset, offset+count)
 * inside the block (offsets from an exclusive scan), so a block of all ranks
 * lands in rank order after what was there.  Memory stays bounded by one
 * block. */
typedef struct ks_h5_stream {
    hid_t dset;
    hid_t memtype;
    int64_t length; /* elements written so far (the same on every rank) */
} ks_h5_stream;

int ks_h5_stream_create(ks_ctx *ctx, hid_t loc, const char *name, hid_t memtype,
                        ks_h5_stream *s);
int ks_h5_stream_append(ks_ctx *ctx, ks_h5_stream *s, const void *data, int64_t count,
                        int64_t offset, int64_t total);
void ks_h5_stream_close(ks_h5_stream *s);

/* Rows [offset, offset+count) of a 1-D fixed-width string dataset, read
 * independently.  *out receives count pointers to NUL-terminated strings,
 * all inside one allocation: free((*out)) frees them.  KS_EINPUT when the
 * dataset is missing or not strings. */
int ks_h5_read_strings(ks_ctx *ctx, hid_t file, const char *path, int64_t offset, int64_t count,
                       char ***out);

/* Rows [offset, offset + count) of the 1-D dataset `path` of `file` (named
 * file_name in messages), which must hold `total` rows, read independently as
 * memtype into a new array of count elements of `size` bytes (*buf, freed by
 * the caller).  KS_EINPUT "FILE has no dataset PATH (WHY)" when it is
 * missing, and when it is not 1-D of `total` rows. */
int ks_h5_read_column(ks_ctx *ctx, hid_t file, const char *file_name, const char *path, int64_t total,
                      int64_t offset, int64_t count, hid_t memtype, size_t size, const char *why,
                      void **buf);

#endif
