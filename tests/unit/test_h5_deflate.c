/* test_h5_deflate.c - compress2 as kspill's binaries define it: libdeflate's
 * zlib stream, which zlib inflates to the same bytes; zlib's own results
 * where libdeflate does not go (levels 0 and -1, an output that does not
 * fit); and HDF5's deflate filter reaching it (a chunk's stored bytes are
 * libdeflate's, and H5Dread gives the data back). */
#include <hdf5.h>
#include <libdeflate.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "ks_h5_deflate.h"
#include "ks_test.h"

#define PATH "test_h5_deflate.h5"
#define N 70000

/* Inputs of several kinds: doubles that barely compress, repeating
 * integers, bytes from a generator, runs of one byte. */
static size_t fill(int kind, uint8_t *buf, size_t cap)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    switch (kind) {
    case 0:
        for (size_t i = 0; i < cap / 8; i++) {
            double v = 1.0 / (double)(i + 3) * (double)(i % 97);
            memcpy(buf + 8 * i, &v, 8);
        }
        return cap / 8 * 8;
    case 1:
        for (size_t i = 0; i < cap / 4; i++) {
            int32_t v = (int32_t)(2002 + i % 15);
            memcpy(buf + 4 * i, &v, 4);
        }
        return cap / 4 * 4;
    case 2:
        for (size_t i = 0; i < cap; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        return cap;
    case 3:
        memset(buf, 'a', cap);
        return cap;
    case 4:
        buf[0] = 42;
        return 1;
    default:
        return 0;
    }
}

static void check_round_trip(const uint8_t *in, size_t n, const uint8_t *z, uLongf zn)
{
    uLongf back_n = (uLongf)n + 1;
    uint8_t *back = malloc(n + 1);
    CU_ASSERT_EQUAL_FATAL(uncompress(back, &back_n, z, zn), Z_OK);
    CU_ASSERT_EQUAL(back_n, n);
    CU_ASSERT_EQUAL(memcmp(back, in, n), 0);
    free(back);
}

/* Levels 1-9: libdeflate's bytes exactly, which zlib inflates back. */
static void test_libdeflate_stream(void)
{
    uint8_t *in = malloc(N), *z = malloc(compressBound(N)), *want = malloc(compressBound(N));
    for (int kind = 0; kind <= 5; kind++) {
        size_t n = fill(kind, in, N);
        for (int level = 1; level <= 9; level++) {
            uLongf zn = compressBound((uLong)n);
            struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
            size_t wn = libdeflate_zlib_compress(c, in, n, want, compressBound((uLong)n));
            libdeflate_free_compressor(c);
            CU_ASSERT_EQUAL_FATAL(compress2(z, &zn, in, (uLong)n, level), Z_OK);
            CU_ASSERT_EQUAL(zn, wn);
            CU_ASSERT_EQUAL(memcmp(z, want, wn), 0);
            check_round_trip(in, n, z, zn);
        }
    }
    free(in);
    free(z);
    free(want);
}

/* Levels 0 (stored) and -1 (zlib's default, 6): zlib's bytes. */
static void test_zlib_levels(void)
{
    uint8_t *in = malloc(N), *z = malloc(compressBound(N)), *want = malloc(compressBound(N));
    size_t n = fill(0, in, N);
    int levels[] = {0, Z_DEFAULT_COMPRESSION};
    for (int i = 0; i < 2; i++) {
        uLongf zn = compressBound((uLong)n);
        z_stream s = {0};
        CU_ASSERT_EQUAL_FATAL(compress2(z, &zn, in, (uLong)n, levels[i]), Z_OK);
        CU_ASSERT_EQUAL_FATAL(deflateInit(&s, levels[i]), Z_OK);
        s.next_in = in;
        s.avail_in = (uInt)n;
        s.next_out = want;
        s.avail_out = (uInt)compressBound((uLong)n);
        CU_ASSERT_EQUAL(deflate(&s, Z_FINISH), Z_STREAM_END);
        CU_ASSERT_EQUAL(zn, s.total_out);
        CU_ASSERT_EQUAL(memcmp(z, want, zn), 0);
        deflateEnd(&s);
        check_round_trip(in, n, z, zn);
    }
    CU_ASSERT_EQUAL(compress2(z, &(uLongf){100}, in, (uLong)n, 12), Z_STREAM_ERROR); /* as zlib */
    free(in);
    free(z);
    free(want);
}

/* An output buffer too small for the stream: Z_BUF_ERROR, as zlib says. */
static void test_too_small(void)
{
    uint8_t *in = malloc(N), z[64];
    size_t n = fill(2, in, N);
    uLongf zn = sizeof z;
    CU_ASSERT_EQUAL(compress2(z, &zn, in, (uLong)n, 1), Z_BUF_ERROR);
    free(in);
}

/* HDF5's deflate filter on a dataset with kspill's filters: the stored bytes
 * of a chunk are libdeflate's stream of the shuffled chunk, and HDF5 reads
 * the data back. */
static void test_hdf5_filter_uses_it(void)
{
    enum { ROWS = 5000, CHUNK = 4096 };
    static double x[ROWS], back[ROWS];
    static uint8_t shuffled[CHUNK * 8], stored[CHUNK * 8 + 1024], want[CHUNK * 8 + 1024];
    hsize_t dims[1] = {ROWS}, chunk[1] = {CHUNK}, at[1] = {0};
    hid_t f = H5Fcreate(PATH, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d;
    uint32_t mask = 99;
    size_t stored_n = sizeof stored, want_n;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(KS_H5_DEFLATE_LEVEL);
    for (int r = 0; r < ROWS; r++)
        x[r] = r % 7 == 0 ? 0.0 : 1.0 / (r + 3);
    H5Pset_chunk(dcpl, 1, chunk);
    CU_ASSERT_EQUAL_FATAL(ks_h5_set_filters(dcpl, 8), 0);
    d = H5Dcreate2(f, "x", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CU_ASSERT_FATAL(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    CU_ASSERT_FATAL(H5Dread_chunk(d, H5P_DEFAULT, at, &mask, stored) >= 0);
    {
        hsize_t sz = 0;
        H5Dget_chunk_storage_size(d, at, &sz);
        stored_n = (size_t)sz;
    }
    for (int i = 0; i < CHUNK; i++)
        for (int b = 0; b < 8; b++)
            shuffled[b * CHUNK + i] = ((const uint8_t *)&x[i])[b];
    want_n = libdeflate_zlib_compress(c, shuffled, sizeof shuffled, want, sizeof want);
    libdeflate_free_compressor(c);
    CU_ASSERT_EQUAL(mask, 0);
    CU_ASSERT_EQUAL(stored_n, want_n);
    CU_ASSERT_EQUAL(memcmp(stored, want, want_n), 0);
    CU_ASSERT_FATAL(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    CU_ASSERT_EQUAL(memcmp(back, x, sizeof x), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
    remove(PATH);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"levels 1-9: libdeflate's stream, zlib inflates it", test_libdeflate_stream},
        {"levels 0 and -1: zlib's own bytes", test_zlib_levels},
        {"an output that does not fit: Z_BUF_ERROR", test_too_small},
        {"HDF5's deflate filter stores libdeflate's bytes", test_hdf5_filter_uses_it},
        {NULL, NULL},
    };
    return ks_test_run("h5_deflate", cases);
}
