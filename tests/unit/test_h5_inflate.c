/* test_h5_inflate.c - rows read by ks_h5_inflate_rows against H5Dread of
 * the same rows, on columns with every case the reader meets: shuffled or
 * not, element sizes 1-8, partial edge chunks, a chunk stored with its
 * deflate skipped (filter mask), chunks never written (fill values), and
 * columns it must leave to HDF5 (another filter, a type conversion). */
#include <hdf5.h>
#include <string.h>

#include "ks_h5_inflate.h"
#include "ks_test.h"

#define PATH "test_h5_inflate.h5"
#define ROWS 1000

static hid_t make(hid_t file, const char *name, hid_t ftype, hsize_t chunk, int shuffle, int fletcher,
                  hid_t memtype, const void *data, hsize_t rows)
{
    hsize_t dims[1] = {ROWS};
    hid_t space = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d;
    H5Pset_chunk(dcpl, 1, &chunk);
    if (shuffle)
        H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 1);
    if (fletcher)
        H5Pset_fletcher32(dcpl);
    H5Pset_fill_value(dcpl, ftype, (const char[8]){7, 0, 0, 0, 0, 0, 0, 0});
    d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (rows > 0) { /* the first `rows` rows only: later chunks are never stored */
        hsize_t start[1] = {0}, cnt[1] = {rows};
        hid_t ms = H5Screate_simple(1, cnt, NULL);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, cnt, NULL);
        CU_ASSERT_FATAL(H5Dwrite(d, memtype, ms, space, H5P_DEFAULT, data) >= 0);
        H5Sclose(ms);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

/* Every (offset, count) of a few shapes: the reader's bytes == H5Dread's. */
static void check_same(hid_t d, hid_t memtype, size_t size, int expect_done)
{
    static const int64_t ranges[][2] = {{0, ROWS}, {0, 1}, {3, 4}, {6, 9}, {13, 500}, {999, 1},
                                        {500, 500}, {130, 0}, {7, 7}};
    uint8_t *got = malloc(ROWS * size), *want = malloc(ROWS * size);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        ks_ctx ctx;
        int done = -1;
        hsize_t start[1] = {(hsize_t)ranges[i][0]}, cnt[1] = {(hsize_t)ranges[i][1]};
        ks_ctx_init(&ctx, MPI_COMM_NULL);
        memset(got, 0xa5, ROWS * size);
        memset(want, 0x5a, ROWS * size);
        CU_ASSERT_EQUAL(ks_h5_inflate_rows(&ctx, d, memtype, size, ranges[i][0], ranges[i][1], got,
                                           "test", &done), KS_OK);
        if (cnt[0] == 0)
            continue;
        CU_ASSERT_EQUAL(done, expect_done);
        if (!done)
            continue;
        {
            hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, cnt, NULL);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
            CU_ASSERT_FATAL(H5Dread(d, memtype, ms, fs, H5P_DEFAULT, want) >= 0);
            H5Sclose(ms);
            H5Sclose(fs);
        }
        CU_ASSERT_EQUAL(memcmp(got, want, (size_t)cnt[0] * size), 0);
    }
    free(got);
    free(want);
}

static void test_same_bytes_as_hdf5(void)
{
    double x[ROWS];
    int32_t i32[ROWS];
    int16_t i16[ROWS];
    int8_t i8[ROWS];
    int64_t i64[ROWS];
    hid_t f = H5Fcreate(PATH, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), d;
    for (int r = 0; r < ROWS; r++) {
        x[r] = r % 17 == 0 ? 0.0 : 1.0 / (r + 3);
        i64[r] = (int64_t)r * 1000003 - 5000000;
        i32[r] = (int32_t)i64[r];
        i16[r] = (int16_t)(2002 + r % 15);
        i8[r] = (int8_t)(r % 3 - 1);
    }
    d = make(f, "double", H5T_IEEE_F64LE, 64, 1, 0, H5T_NATIVE_DOUBLE, x, ROWS); /* edge chunk */
    check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
    H5Dclose(d);
    d = make(f, "int64", H5T_STD_I64LE, 7, 1, 0, H5T_NATIVE_INT64, i64, ROWS);
    check_same(d, H5T_NATIVE_INT64, 8, 1);
    H5Dclose(d);
    d = make(f, "int32", H5T_STD_I32LE, 100, 0, 0, H5T_NATIVE_INT32, i32, ROWS); /* no shuffle */
    check_same(d, H5T_NATIVE_INT32, 4, 1);
    H5Dclose(d);
    d = make(f, "int16", H5T_STD_I16LE, 3, 1, 0, H5T_NATIVE_INT16, i16, ROWS);
    check_same(d, H5T_NATIVE_INT16, 2, 1);
    H5Dclose(d);
    /* chunks long enough for the 16- and 8-element vector paths, odd lengths */
    d = make(f, "int64_long", H5T_STD_I64LE, 77, 1, 0, H5T_NATIVE_INT64, i64, ROWS);
    check_same(d, H5T_NATIVE_INT64, 8, 1);
    H5Dclose(d);
    d = make(f, "int32_long", H5T_STD_I32LE, 99, 1, 0, H5T_NATIVE_INT32, i32, ROWS);
    check_same(d, H5T_NATIVE_INT32, 4, 1);
    H5Dclose(d);
    d = make(f, "int16_long", H5T_STD_I16LE, 101, 1, 0, H5T_NATIVE_INT16, i16, ROWS);
    check_same(d, H5T_NATIVE_INT16, 2, 1);
    H5Dclose(d);
    d = make(f, "int8", H5T_STD_I8LE, 256, 1, 0, H5T_NATIVE_INT8, i8, ROWS);
    check_same(d, H5T_NATIVE_INT8, 1, 1);
    H5Dclose(d);
    d = make(f, "partly_written", H5T_STD_I32LE, 64, 1, 0, H5T_NATIVE_INT32, i32, 300); /* fill 7 */
    check_same(d, H5T_NATIVE_INT32, 4, 1);
    H5Dclose(d);
    /* integers read as doubles, converted as HDF5 converts them (beyond 2^53:
     * rounded to nearest) */
    {
        static int64_t big[ROWS];
        static uint64_t ubig[ROWS];
        static uint16_t u16[ROWS];
        static uint8_t u8[ROWS];
        for (int r = 0; r < ROWS; r++) {
            big[r] = (r % 2 ? -1 : 1) * ((INT64_C(1) << 60) + (int64_t)r * 12345 + 1);
            ubig[r] = UINT64_MAX - (uint64_t)r * 999;
            u16[r] = (uint16_t)(65535 - r * 61);
            u8[r] = (uint8_t)(255 - r % 256);
        }
        d = make(f, "i8_double", H5T_STD_I8LE, 64, 1, 0, H5T_NATIVE_INT8, i8, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "u8_double", H5T_STD_U8LE, 100, 0, 0, H5T_NATIVE_UINT8, u8, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "i16_double", H5T_STD_I16LE, 101, 1, 0, H5T_NATIVE_INT16, i16, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "u16_double", H5T_STD_U16LE, 64, 1, 0, H5T_NATIVE_UINT16, u16, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "i32_double", H5T_STD_I32LE, 77, 1, 0, H5T_NATIVE_INT32, i32, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "i64_double", H5T_STD_I64LE, 64, 1, 0, H5T_NATIVE_INT64, big, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "u64_double", H5T_STD_U64LE, 64, 1, 0, H5T_NATIVE_UINT64, ubig, ROWS);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
        d = make(f, "i32_partly_double", H5T_STD_I32LE, 64, 1, 0, H5T_NATIVE_INT32, i32, 300);
        check_same(d, H5T_NATIVE_DOUBLE, 8, 1);
        H5Dclose(d);
    }
    /* left to HDF5: a checksum filter, a conversion other than to double */
    d = make(f, "fletcher", H5T_IEEE_F64LE, 64, 1, 1, H5T_NATIVE_DOUBLE, x, ROWS);
    check_same(d, H5T_NATIVE_DOUBLE, 8, 0);
    H5Dclose(d);
    d = make(f, "converted", H5T_STD_I32LE, 64, 1, 0, H5T_NATIVE_INT32, i32, ROWS);
    check_same(d, H5T_NATIVE_INT64, 8, 0);
    H5Dclose(d);
    H5Fclose(f);
    remove(PATH);
}

/* A chunk written with the deflate filter skipped (mask bit 1): shuffled
 * bytes stored as they are, which HDF5 reads by unshuffling only. */
static void test_chunk_with_skipped_filter(void)
{
    int32_t v[ROWS];
    uint8_t shuffled[64 * 4];
    hsize_t at[1] = {128};
    hid_t f = H5Fcreate(PATH, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), d;
    for (int r = 0; r < ROWS; r++)
        v[r] = r * 7919;
    d = make(f, "masked", H5T_STD_I32LE, 64, 1, 0, H5T_NATIVE_INT32, v, ROWS);
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 4; j++)
            shuffled[j * 64 + i] = (uint8_t)((uint32_t)(-i * 31) >> (8 * j));
    CU_ASSERT_FATAL(H5Dwrite_chunk(d, H5P_DEFAULT, 1u << 1, at, sizeof shuffled, shuffled) >= 0);
    check_same(d, H5T_NATIVE_INT32, 4, 1);
    {
        int32_t got[64];
        ks_ctx ctx;
        int done = 0;
        ks_ctx_init(&ctx, MPI_COMM_NULL);
        CU_ASSERT_EQUAL(ks_h5_inflate_rows(&ctx, d, H5T_NATIVE_INT32, 4, 128, 64, got, "t", &done), KS_OK);
        CU_ASSERT_EQUAL(got[5], -5 * 31);
    }
    H5Dclose(d);
    H5Fclose(f);
    remove(PATH);
}

/* Bytes that do not inflate: an error naming the dataset and the row. */
static void test_corrupt_chunk(void)
{
    double x[ROWS] = {0};
    uint8_t junk[100];
    hsize_t at[1] = {64};
    ks_ctx ctx;
    int done = 1;
    double *out = malloc(sizeof(double) * ROWS);
    hid_t f = H5Fcreate(PATH, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), d;
    d = make(f, "corrupt", H5T_IEEE_F64LE, 64, 1, 0, H5T_NATIVE_DOUBLE, x, ROWS);
    for (int i = 0; i < 100; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    CU_ASSERT_FATAL(H5Dwrite_chunk(d, H5P_DEFAULT, 0, at, sizeof junk, junk) >= 0);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL(ks_h5_inflate_rows(&ctx, d, H5T_NATIVE_DOUBLE, 8, 0, ROWS, out, "f.h5:/corrupt", &done),
                    KS_EINPUT);
    CU_ASSERT_EQUAL(done, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "f.h5:/corrupt: the chunk at row 64 does not inflate"));
    free(out);
    H5Dclose(d);
    H5Fclose(f);
    remove(PATH);
}

int main(void)
{
    static const ks_test_case cases[] = {{"same bytes as H5Dread", test_same_bytes_as_hdf5},
                                         {"chunk with a skipped filter", test_chunk_with_skipped_filter},
                                         {"corrupt chunk", test_corrupt_chunk},
                                         {NULL, NULL}};
    return ks_test_run("h5_inflate", cases);
}
