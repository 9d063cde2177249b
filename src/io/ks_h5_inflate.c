/* ks_h5_inflate.c - see ks_h5_inflate.h.
 *
 * Why past the filter pipeline: inflating is most of the time of reading a
 * panel.h5 column.  HDF5's deflate filter calls zlib, which inflates the
 * panel's level-1 chunks at 0.5-1.2 GB/s on a 2-core EPYC VM; libdeflate
 * inflates the same bytes 2-2.5x faster (docs/performance.md), and chunks
 * are independent, so threads can inflate several at once where HDF5
 * filters one chunk at a time. */
#include "ks_h5_inflate.h"

#include <libdeflate.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ks_mem.h"

/* Chunks read (serially: HDF5 is not thread-safe) before threads inflate
 * them: enough to keep threads busy, few enough to bound the memory. */
#define BATCH_CHUNKS 64

/* A stored integer type converted to double in memory, as H5Dread converts
 * it (a C conversion: exact up to 2^53, rounded to nearest above). */
typedef enum conversion { AS_STORED, I8, U8, I16, U16, I32, U32, I64, U64 } conversion;

typedef struct pipeline {
    hsize_t chunk_rows;
    size_t stored_size; /* bytes of a stored element */
    conversion conv;
    int shuffle_at;   /* index of the shuffle filter in the pipeline, or -1 */
    int deflate_at;   /* index of the deflate filter */
} pipeline;

/* How a stored type becomes memtype: AS_STORED when they are the same,
 * an integer conversion to double, or -1 (left to HDF5). */
static int conversion_of(hid_t ft, hid_t memtype, size_t size)
{
    static const conversion ints[2][4] = {{U8, U16, U32, U64}, {I8, I16, I32, I64}};
    size_t fsize = H5Tget_size(ft);
    int log2 = fsize == 1 ? 0 : fsize == 2 ? 1 : fsize == 4 ? 2 : fsize == 8 ? 3 : -1;
    if (H5Tequal(ft, memtype) > 0 && fsize == size)
        return AS_STORED;
    if (H5Tequal(memtype, H5T_NATIVE_DOUBLE) <= 0 || size != sizeof(double) ||
        H5Tget_class(ft) != H5T_INTEGER || H5Tget_order(ft) != H5T_ORDER_LE || log2 < 0)
        return -1;
    return ints[H5Tget_sign(ft) == H5T_SGN_2][log2];
}

/* 1 when the dataset is a 1-D chunked column with filters [shuffle,]
 * deflate and nothing else, stored as memtype or as integers read as
 * doubles: what this reader inflates. */
static int direct_pipeline(hid_t d, hid_t memtype, size_t size, pipeline *pl)
{
    hid_t dcpl = H5Dget_create_plist(d), ft = H5Dget_type(d);
    int conv = ft >= 0 ? conversion_of(ft, memtype, size) : -1;
    int ok = dcpl >= 0 && conv >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED &&
             H5Pget_chunk(dcpl, 1, &pl->chunk_rows) == 1 && pl->chunk_rows > 0;
    unsigned opts = 0;
    int nf = ok ? H5Pget_nfilters(dcpl) : 0;
    /* edge chunks stored unfiltered would need their own path */
    if (ok && (H5Pget_chunk_opts(dcpl, &opts) < 0 || (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)))
        ok = 0;
    pl->shuffle_at = pl->deflate_at = -1;
    for (int i = 0; ok && i < nf; i++) {
        unsigned flags = 0, cd[8], config = 0;
        size_t ncd = sizeof cd / sizeof cd[0];
        char name[64];
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, &config);
        if (id == H5Z_FILTER_SHUFFLE && i == 0)
            pl->shuffle_at = i;
        else if (id == H5Z_FILTER_DEFLATE && pl->deflate_at < 0)
            pl->deflate_at = i;
        else
            ok = 0;
    }
    pl->conv = (conversion)conv;
    pl->stored_size = ft >= 0 ? H5Tget_size(ft) : 0;
    if (ft >= 0)
        H5Tclose(ft);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return ok && pl->deflate_at >= 0 && nf <= 2;
}

/* Rows [a, b) of a shuffled chunk of `rows` elements of `size` bytes (byte
 * plane j holds byte j of every element) into out, elements in order. */
static void unshuffle_bytes(const uint8_t *in, hsize_t rows, size_t size, hsize_t a, hsize_t b,
                            uint8_t *out)
{
    for (hsize_t i = a; i < b; i++, out += size)
        for (size_t j = 0; j < size; j++)
            out[j] = in[j * rows + i];
}

#ifdef __SSE2__
/* 8 elements of 8 bytes at once: an 8 x 8 byte transpose by interleaving
 * (bytes, then pairs, then quads), 4x the speed of the byte loop. */
static hsize_t unshuffle8(const uint8_t *in, hsize_t rows, hsize_t a, hsize_t b, uint8_t *out)
{
    hsize_t i = a;
    for (; i + 8 <= b; i += 8, out += 64) {
        __m128i p[8], t[4], u[4];
        for (int j = 0; j < 8; j++)
            p[j] = _mm_loadl_epi64((const __m128i *)(in + (size_t)j * rows + i));
        for (int j = 0; j < 4; j++)
            t[j] = _mm_unpacklo_epi8(p[2 * j], p[2 * j + 1]);
        u[0] = _mm_unpacklo_epi16(t[0], t[1]);
        u[1] = _mm_unpackhi_epi16(t[0], t[1]);
        u[2] = _mm_unpacklo_epi16(t[2], t[3]);
        u[3] = _mm_unpackhi_epi16(t[2], t[3]);
        _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi32(u[0], u[2]));
        _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi32(u[0], u[2]));
        _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi32(u[1], u[3]));
        _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi32(u[1], u[3]));
    }
    return i;
}

/* 16 elements of 4 or 2 bytes at once, the same way. */
static hsize_t unshuffle4(const uint8_t *in, hsize_t rows, hsize_t a, hsize_t b, uint8_t *out)
{
    hsize_t i = a;
    for (; i + 16 <= b; i += 16, out += 64) {
        __m128i p[4], t[4];
        for (int j = 0; j < 4; j++)
            p[j] = _mm_loadu_si128((const __m128i *)(in + (size_t)j * rows + i));
        t[0] = _mm_unpacklo_epi8(p[0], p[1]);
        t[1] = _mm_unpackhi_epi8(p[0], p[1]);
        t[2] = _mm_unpacklo_epi8(p[2], p[3]);
        t[3] = _mm_unpackhi_epi8(p[2], p[3]);
        _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(t[0], t[2]));
        _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi16(t[0], t[2]));
        _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi16(t[1], t[3]));
        _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi16(t[1], t[3]));
    }
    return i;
}

static hsize_t unshuffle2(const uint8_t *in, hsize_t rows, hsize_t a, hsize_t b, uint8_t *out)
{
    hsize_t i = a;
    for (; i + 16 <= b; i += 16, out += 32) {
        __m128i lo = _mm_loadu_si128((const __m128i *)(in + i));
        __m128i hi = _mm_loadu_si128((const __m128i *)(in + rows + i));
        _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi8(lo, hi));
        _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi8(lo, hi));
    }
    return i;
}
#endif

static void unshuffle(const uint8_t *in, hsize_t rows, size_t size, hsize_t a, hsize_t b, uint8_t *out)
{
    hsize_t i = a;
#ifdef __SSE2__
    if (size == 8)
        i = unshuffle8(in, rows, a, b, out);
    else if (size == 4)
        i = unshuffle4(in, rows, a, b, out);
    else if (size == 2)
        i = unshuffle2(in, rows, a, b, out);
#endif
    unshuffle_bytes(in, rows, size, i, b, out + (i - a) * size); /* the rest */
}

/* n stored integers at in (little-endian, as the pipeline's conversion
 * says) to doubles at out. */
static void convert_to_double(conversion conv, const uint8_t *in, size_t n, double *out)
{
#define CONVERT(type)                                                        \
    for (size_t i = 0; i < n; i++) {                                          \
        type v;                                                               \
        memcpy(&v, in + i * sizeof v, sizeof v);                              \
        out[i] = (double)v;                                                   \
    }                                                                         \
    break
    switch (conv) {
    case I8: CONVERT(int8_t);
    case U8: CONVERT(uint8_t);
    case I16: CONVERT(int16_t);
    case U16: CONVERT(uint16_t);
    case I32: CONVERT(int32_t);
    case U32: CONVERT(uint32_t);
    case I64: CONVERT(int64_t);
    case U64: CONVERT(uint64_t);
    case AS_STORED: break;
    }
#undef CONVERT
}

/* Inflate one stored chunk and put its rows [a, b) at out (through `rows`,
 * a chunk of stored elements, when they are converted); 0, or -1 when its
 * bytes do not inflate to a whole chunk. */
static int decode_chunk(struct libdeflate_decompressor *dc, const pipeline *pl, const uint8_t *raw,
                        size_t nraw, uint32_t mask, uint8_t *scratch, uint8_t *rows, hsize_t a,
                        hsize_t b, uint8_t *out)
{
    size_t fsize = pl->stored_size, whole = (size_t)pl->chunk_rows * fsize, got = 0;
    const uint8_t *plain = raw;
    uint8_t *dest = pl->conv == AS_STORED ? out : rows;
    /* a set bit of the filter mask: that filter was skipped for this chunk */
    int inflated = !(mask & (1u << pl->deflate_at));
    int shuffled = pl->shuffle_at >= 0 && !(mask & (1u << pl->shuffle_at));
    if (inflated) {
        if (libdeflate_zlib_decompress(dc, raw, nraw, scratch, whole, &got) != LIBDEFLATE_SUCCESS ||
            got != whole)
            return -1;
        plain = scratch;
    } else if (nraw != whole) {
        return -1;
    }
    if (shuffled && fsize > 1)
        unshuffle(plain, pl->chunk_rows, fsize, a, b, dest);
    else
        memcpy(dest, plain + a * fsize, (size_t)(b - a) * fsize);
    if (pl->conv != AS_STORED)
        convert_to_double(pl->conv, rows, (size_t)(b - a), (double *)(void *)out);
    return 0;
}

/* Rows [a, b) of the dataset through HDF5 (a chunk not stored: fill values). */
static int read_plain(hid_t d, hid_t memtype, hsize_t a, hsize_t b, void *out)
{
    hsize_t start[1] = {a}, cnt[1] = {b - a};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, cnt, NULL);
    int ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0 &&
             H5Dread(d, memtype, ms, fs, H5P_DEFAULT, out) >= 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return ok ? 0 : -1;
}

typedef struct batch {
    uint8_t *raw;
    size_t cap;
    size_t off[BATCH_CHUNKS + 1];
    uint32_t mask[BATCH_CHUNKS];
    int stored[BATCH_CHUNKS];
} batch;

/* Read the stored bytes of chunks k0 .. k0+nb-1 (serial HDF5 calls). */
static int read_batch(ks_ctx *ctx, hid_t d, const pipeline *pl, hsize_t k0, int nb, batch *bt,
                      const char *what)
{
    size_t limit = (size_t)pl->chunk_rows * pl->stored_size * 2 + 4096;
    bt->off[0] = 0;
    for (int j = 0; j < nb; j++) {
        hsize_t at[1] = {(k0 + (hsize_t)j) * pl->chunk_rows}, nbytes = 0;
        herr_t st;
        H5E_BEGIN_TRY { /* a chunk never written is no error: read through HDF5 below */
            st = H5Dget_chunk_storage_size(d, at, &nbytes);
        } H5E_END_TRY;
        if (st < 0)
            nbytes = 0;
        if (nbytes > limit)
            return ks_fail(ctx, KS_EINPUT, "%s: the chunk at row %llu holds %llu bytes, more than a "
                           "chunk of %llu rows can (corrupt file?)", what, (unsigned long long)at[0],
                           (unsigned long long)nbytes, (unsigned long long)pl->chunk_rows);
        bt->stored[j] = nbytes > 0;
        bt->off[j + 1] = bt->off[j] + (size_t)nbytes;
    }
    if (bt->off[nb] > bt->cap) {
        uint8_t *grown = realloc(bt->raw, bt->off[nb]);
        if (!grown)
            return ks_fail(ctx, KS_ENOMEM, "%s: no memory for %zu bytes of chunks", what, bt->off[nb]);
        bt->raw = grown;
        bt->cap = bt->off[nb];
    }
    for (int j = 0; j < nb; j++) {
        hsize_t at[1] = {(k0 + (hsize_t)j) * pl->chunk_rows};
        bt->mask[j] = 0;
        if (bt->stored[j] && H5Dread_chunk(d, H5P_DEFAULT, at, &bt->mask[j], bt->raw + bt->off[j]) < 0)
            return ks_fail(ctx, KS_EHDF5, "%s: cannot read the chunk at row %llu", what,
                           (unsigned long long)at[0]);
    }
    return KS_OK;
}

/* Inflate the batch's chunks in parallel into rows [row0, row0+count) of
 * out; returns the first chunk index (within the batch) that failed, or -1. */
static int decode_batch(const pipeline *pl, size_t size, hsize_t k0, int nb, const batch *bt,
                        hsize_t row0, hsize_t count, uint8_t *out, int *no_memory)
{
    int first_bad = nb;
#pragma omp parallel reduction(min : first_bad)
    {
        struct libdeflate_decompressor *dc = libdeflate_alloc_decompressor();
        uint8_t *scratch = malloc((size_t)pl->chunk_rows * pl->stored_size * 2);
        if (!dc || !scratch) {
#pragma omp atomic write
            *no_memory = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < nb; j++) {
            hsize_t c0 = (k0 + (hsize_t)j) * pl->chunk_rows;
            hsize_t a = row0 > c0 ? row0 - c0 : 0;
            hsize_t b = row0 + count < c0 + pl->chunk_rows ? row0 + count - c0 : pl->chunk_rows;
            if (!bt->stored[j] || !dc || !scratch)
                continue; /* not stored: the caller reads it through HDF5 */
            if (decode_chunk(dc, pl, bt->raw + bt->off[j], bt->off[j + 1] - bt->off[j], bt->mask[j],
                             scratch, scratch + (size_t)pl->chunk_rows * pl->stored_size, a, b,
                             out + (c0 + a - row0) * size) < 0 &&
                j < first_bad)
                first_bad = j;
        }
        free(scratch);
        if (dc)
            libdeflate_free_decompressor(dc);
    }
    return first_bad < nb ? first_bad : -1;
}

int ks_h5_inflate_rows(ks_ctx *ctx, hid_t d, hid_t memtype, size_t size, int64_t offset,
                       int64_t count, void *out, const char *what, int *done)
{
    pipeline pl;
    batch bt;
    hsize_t row0 = (hsize_t)offset, end = (hsize_t)(offset + count), k, klast;
    int rc = KS_OK;
    *done = 0;
    if (count <= 0 || !direct_pipeline(d, memtype, size, &pl))
        return KS_OK;
    memset(&bt, 0, sizeof bt);
    klast = (end - 1) / pl.chunk_rows;
    for (k = row0 / pl.chunk_rows; rc == KS_OK && k <= klast; k += BATCH_CHUNKS) {
        int nb = klast - k + 1 < BATCH_CHUNKS ? (int)(klast - k + 1) : BATCH_CHUNKS, bad, no_memory = 0;
        rc = read_batch(ctx, d, &pl, k, nb, &bt, what);
        if (rc != KS_OK)
            break;
        bad = decode_batch(&pl, size, k, nb, &bt, row0, end - row0, out, &no_memory);
        if (no_memory) {
            rc = ks_fail(ctx, KS_ENOMEM, "%s: no memory to inflate chunks of %llu rows", what,
                         (unsigned long long)pl.chunk_rows);
        } else if (bad >= 0) {
            rc = ks_fail(ctx, KS_EINPUT, "%s: the chunk at row %llu does not inflate to %llu rows "
                         "(corrupt file?)", what, (unsigned long long)((k + (hsize_t)bad) * pl.chunk_rows),
                         (unsigned long long)pl.chunk_rows);
        }
        for (int j = 0; rc == KS_OK && j < nb; j++) {
            hsize_t c0 = (k + (hsize_t)j) * pl.chunk_rows, a = c0 > row0 ? c0 : row0;
            hsize_t b = c0 + pl.chunk_rows < end ? c0 + pl.chunk_rows : end;
            if (!bt.stored[j] && read_plain(d, memtype, a, b, (uint8_t *)out + (a - row0) * size) < 0)
                rc = ks_fail(ctx, KS_EHDF5, "%s: cannot read rows %llu..%llu", what,
                             (unsigned long long)a, (unsigned long long)b);
        }
    }
    free(bt.raw);
    *done = rc == KS_OK;
    return rc;
}
