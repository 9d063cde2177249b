/* ks_h5_deflate.c - the deflate of every chunk kspill writes, by libdeflate
 * (why and how: ks_h5_deflate.h). */
#include "ks_h5_deflate.h"

#include <libdeflate.h>
#include <zlib.h>

int ks_h5_set_filters(hid_t dcpl, size_t elem_size)
{
    if (elem_size > 1 && H5Pset_shuffle(dcpl) < 0)
        return -1;
    return H5Pset_deflate(dcpl, KS_H5_DEFLATE_LEVEL) < 0 ? -1 : 0;
}

/* zlib's own compress2 (compress.c of zlib 1.2.13, zlib licence): for
 * every case libdeflate does not take, with zlib's results (Z_BUF_ERROR,
 * Z_STREAM_ERROR) and zlib's bytes. */
static int zlib_compress2(Bytef *dest, uLongf *dest_len, const Bytef *source, uLong source_len,
                          int level)
{
    const uInt max = (uInt)-1;
    uLong left = *dest_len;
    z_stream s = {0};
    int rc = deflateInit(&s, level);
    *dest_len = 0;
    if (rc != Z_OK)
        return rc;
    s.next_out = dest;
    s.next_in = (z_const Bytef *)source;
    do {
        if (s.avail_out == 0) {
            s.avail_out = left > (uLong)max ? max : (uInt)left;
            left -= s.avail_out;
        }
        if (s.avail_in == 0) {
            s.avail_in = source_len > (uLong)max ? max : (uInt)source_len;
            source_len -= s.avail_in;
        }
        rc = deflate(&s, source_len ? Z_NO_FLUSH : Z_FINISH);
    } while (rc == Z_OK);
    *dest_len = s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? Z_OK : rc;
}

/* zlib's compress2, by libdeflate (HDF5's deflate filter calls it; see the
 * header).  A compressor is made per call: its tables cost microseconds
 * against the milliseconds of a chunk, and nothing is shared between the
 * threads or calls. */
int compress2(Bytef *dest, uLongf *dest_len, const Bytef *source, uLong source_len, int level)
{
    struct libdeflate_compressor *c;
    size_t n;
    if (level < 1 || level > 9)
        return zlib_compress2(dest, dest_len, source, source_len, level);
    c = libdeflate_alloc_compressor(level);
    if (!c)
        return Z_MEM_ERROR;
    n = libdeflate_zlib_compress(c, source, source_len, dest, *dest_len);
    libdeflate_free_compressor(c);
    if (n == 0) /* did not fit: zlib says how far it got */
        return zlib_compress2(dest, dest_len, source, source_len, level);
    *dest_len = (uLongf)n;
    return Z_OK;
}
