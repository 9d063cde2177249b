/* ks_h5_inflate.h - rows of a deflated 1-D column read chunk by chunk with
 * libdeflate, past HDF5's filter pipeline.
 *
 * For a chunked 1-D dataset whose filters are [shuffle,] deflate (what
 * kspill writes, and h5py's compression="gzip"), stored exactly as memtype
 * or as little-endian integers read as doubles (fit's columns),
 * the stored bytes of each chunk are read with H5Dread_chunk, inflated by
 * libdeflate on OpenMP threads and unshuffled into the caller's buffer.  The
 * bytes are the same as H5Dread's, conversions included
 * (tests/unit/test_h5_inflate.c); a chunk
 * whose filter mask says a filter was skipped is taken as stored, and a
 * chunk not stored at all is read through HDF5 (fill values). */
#ifndef KS_H5_INFLATE_H
#define KS_H5_INFLATE_H

#include <hdf5.h>
#include <stdint.h>

#include "ks_error.h"

/* Rows [offset, offset+count) of dataset d into out (count elements of
 * `size` bytes).  *done = 1 when read; *done = 0 with KS_OK when the
 * dataset is not of that kind (the caller reads it with H5Dread).  Errors
 * name `what` (FILE:PATH) and the chunk's first row. */
int ks_h5_inflate_rows(ks_ctx *ctx, hid_t d, hid_t memtype, size_t size, int64_t offset,
                       int64_t count, void *out, const char *what, int *done);

#endif
