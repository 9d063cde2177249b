/* test_map.c - the aggregation and interning tables. */
#include <stdlib.h>
#include <string.h>

#include "ks_map.h"
#include "ks_test.h"

static void test_summap_sums_and_sorts(void)
{
    ks_ctx ctx;
    ks_summap m;
    uint64_t *keys = NULL;
    int64_t *sums = NULL, v = 0;
    size_t n = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_summap_init(&ctx, &m, 4), KS_OK);
    /* 10000 keys, each added three times: forces several rehashes */
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t k = 0; k < 10000; k++)
            CU_ASSERT_EQUAL(ks_summap_add(&ctx, &m, k * 7919, (int64_t)k + rep), KS_OK);
    CU_ASSERT_EQUAL(m.n, 10000);
    CU_ASSERT(ks_summap_find(&m, 5 * 7919, &v));
    CU_ASSERT_EQUAL(v, 5 + 5 + 5 + 0 + 1 + 2);
    CU_ASSERT(!ks_summap_find(&m, 3, &v));
    CU_ASSERT_EQUAL_FATAL(ks_summap_sorted(&ctx, &m, &keys, &sums, &n), KS_OK);
    CU_ASSERT_EQUAL(n, 10000);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(keys[i], i * 7919);
        CU_ASSERT_EQUAL(sums[i], 3 * (int64_t)i + 3);
    }
    free(keys);
    free(sums);
}

/* Runs of equal keys and scattered keys through the write cache and its
 * queue (forcing the table to grow while entries wait): every key's sum as
 * computed by hand, nothing lost at the flush. */
static void test_sumcache_queue(void)
{
    ks_ctx ctx;
    ks_summap m;
    ks_sumcache c;
    int64_t v = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_summap_init(&ctx, &m, 4), KS_OK);
    ks_sumcache_init(&c);
    /* key k (0..4999) comes in a run of 1 + k % 3 adds of 1, then again,
     * scattered (k * 2654435761 mod 5000 visits every k once), with value k */
    for (uint64_t k = 0; k < 5000; k++)
        for (uint64_t r = 0; r <= k % 3; r++)
            CU_ASSERT_EQUAL(ks_sumcache_add(&ctx, &m, &c, k, 1), KS_OK);
    /* 4999 runs pushed, the last 16 of them still queued, key 4999 summing */
    CU_ASSERT_EQUAL(m.n, 4999 - KS_SUMCACHE_QUEUE);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t k = (i * 2654435761u) % 5000;
        CU_ASSERT_EQUAL(ks_sumcache_add(&ctx, &m, &c, k, (int64_t)k), KS_OK);
    }
    CU_ASSERT_EQUAL_FATAL(ks_sumcache_flush(&ctx, &m, &c), KS_OK);
    CU_ASSERT_EQUAL(m.n, 5000);
    for (uint64_t k = 0; k < 5000; k++) {
        CU_ASSERT_FATAL(ks_summap_find(&m, k, &v));
        CU_ASSERT_EQUAL(v, (int64_t)(1 + k % 3 + k));
    }
    CU_ASSERT_EQUAL(c.n, 0);
    CU_ASSERT_EQUAL(c.key, KS_SUMMAP_EMPTY);
    ks_summap_free(&m);
}

static void test_intern_dense_ids(void)
{
    ks_ctx ctx;
    ks_intern t;
    char buf[32];
    uint32_t id;
    int is_new;
    size_t len;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_intern_init(&ctx, &t, 2), KS_OK);
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof buf, "firm-%d", i);
        CU_ASSERT_EQUAL(ks_intern_get(&ctx, &t, buf, strlen(buf), ks_hash64(buf, strlen(buf)), &id, &is_new), KS_OK);
        CU_ASSERT_EQUAL(id, (uint32_t)i);
        CU_ASSERT(is_new);
    }
    CU_ASSERT_EQUAL(ks_intern_get(&ctx, &t, "firm-42", 7, ks_hash64("firm-42", 7), &id, &is_new), KS_OK);
    CU_ASSERT_EQUAL(id, 42);
    CU_ASSERT(!is_new);
    CU_ASSERT_EQUAL(memcmp(ks_intern_str(&t, 4999, &len), "firm-4999", 9), 0);
    CU_ASSERT_EQUAL(len, 9);
    /* XXH64 with seed 0 of "abc", from the xxHash reference test vectors */
    CU_ASSERT_EQUAL(ks_hash64("abc", 3), 0x44BC2CF5AD770999ULL);
    ks_intern_free(&t);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"summap sums and sorts", test_summap_sums_and_sorts},
        {"sumcache queue", test_sumcache_queue},
        {"intern gives dense ids", test_intern_dense_ids},
        {NULL, NULL},
    };
    return ks_test_run("map", cases);
}
