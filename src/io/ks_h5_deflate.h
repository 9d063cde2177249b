/* ks_h5_deflate.h - how kspill's datasets are compressed, and by what.
 *
 * Every chunked dataset kspill writes is shuffled (elements wider than a
 * byte) and deflated at level 1: the filters any HDF5 reader has (h5py's
 * compression="gzip", R's rhdf5, Stata through the C library).
 *
 * HDF5's deflate filter compresses each chunk with a single call of zlib's
 * compress2().  This module defines compress2() in kspill's own binary, and
 * the dynamic linker binds HDF5's call to the binary's definition before
 * zlib's: the chunks are compressed by libdeflate's zlib compressor, the same
 * RFC 1950 stream that zlib writes and reads, about twice as fast at level 1
 * on kspill's columns and a few percent smaller (docs/hdf5.md,
 * "Compression").  HDF5 1.10 has no public way to do this: H5Zregister
 * refuses to replace a predefined filter, and H5Dwrite_chunk is not
 * supported with parallel HDF5.  What libdeflate cannot do (a level outside
 * 1-9, an output larger than the caller's buffer) is done as zlib does it. */
#ifndef KS_H5_DEFLATE_H
#define KS_H5_DEFLATE_H

#include <hdf5.h>
#include <stddef.h>

#define KS_H5_DEFLATE_LEVEL 1

/* The filters of a dataset of elem_size-byte elements on dcpl, which must
 * already be chunked: shuffle when elem_size > 1, then deflate. */
int ks_h5_set_filters(hid_t dcpl, size_t elem_size);

#endif
