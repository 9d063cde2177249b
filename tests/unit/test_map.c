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

/* Sums through the log: runs, a combining table small enough to spill many
 * times, keys coming back after a flush; every key's total (the log's
 * entries for it added up) as computed by hand, nothing lost. */
static void test_sumlog_totals(void)
{
    ks_ctx ctx;
    ks_sumlog l;
    static int64_t total[5000];
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_sumlog_init(&ctx, &l, 4, 16), KS_OK);
    CU_ASSERT_EQUAL(l.slots, 64); /* pow2_at_least: 64 at the least */
    /* key k (0..4999) comes in a run of 1 + k % 3 adds of 1 */
    for (uint64_t k = 0; k < 5000; k++)
        for (uint64_t r = 0; r <= k % 3; r++)
            CU_ASSERT_EQUAL(ks_sumlog_add(&ctx, &l, k, 1), KS_OK);
    /* 4999 runs pushed into a table of 64 slots spilled at 32: 4992 in the log */
    CU_ASSERT_EQUAL(l.n, 4992);
    CU_ASSERT_EQUAL(l.nused, 7);
    CU_ASSERT_EQUAL(l.run_key, 4999);
    CU_ASSERT_EQUAL_FATAL(ks_sumlog_flush(&ctx, &l), KS_OK);
    CU_ASSERT_EQUAL(l.n, 5000);
    CU_ASSERT_EQUAL(l.nused, 0);
    CU_ASSERT_EQUAL(l.run_key, KS_SUMMAP_EMPTY);
    /* then again, scattered (k * 2654435761 mod 5000 visits every k once),
     * with value k, in pairs of adds of k / 2 and k - k / 2 */
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t k = (i * 2654435761u) % 5000;
        CU_ASSERT_EQUAL(ks_sumlog_add(&ctx, &l, k, (int64_t)(k / 2)), KS_OK);
        CU_ASSERT_EQUAL(ks_sumlog_push(&ctx, &l, k, (int64_t)(k - k / 2)), KS_OK);
    }
    CU_ASSERT_EQUAL_FATAL(ks_sumlog_flush(&ctx, &l), KS_OK);
    for (size_t i = 0; i < l.n; i++) {
        CU_ASSERT_FATAL(l.e[i].key < 5000);
        total[l.e[i].key] += l.e[i].sum;
    }
    for (uint64_t k = 0; k < 5000; k++)
        CU_ASSERT_EQUAL(total[k], (int64_t)(1 + k % 3 + k));
    ks_sumlog_free(&l);
}

/* Keys in no order at all, through a log with little room: it is compacted
 * (sorted, equal keys added) instead of growing with every entry, and every
 * key's total is still right. */
static void test_sumlog_compacts(void)
{
    ks_ctx ctx;
    ks_sumlog l;
    static int64_t total[KS_SUMLOG_COMPACT_MIN];
    const uint64_t nkeys = KS_SUMLOG_COMPACT_MIN;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_sumlog_init(&ctx, &l, nkeys, 64), KS_OK);
    /* 40 rounds over every key, scattered, each add flushed at once (as a
     * new firm at every row would): 40 entries a key without compaction */
    for (uint64_t round = 0; round < 40; round++)
        for (uint64_t i = 0; i < nkeys; i++) {
            uint64_t k = (i * 2654435761u + round) % nkeys;
            CU_ASSERT_EQUAL(ks_sumlog_add(&ctx, &l, k, (int64_t)(k + round)), KS_OK);
            CU_ASSERT_EQUAL(ks_sumlog_flush(&ctx, &l), KS_OK);
        }
    CU_ASSERT(l.compactions > 0);
    CU_ASSERT(l.cap <= 4 * nkeys);
    for (size_t i = 0; i < l.n; i++) {
        CU_ASSERT_FATAL(l.e[i].key < nkeys);
        total[l.e[i].key] += l.e[i].sum;
    }
    /* key k: sum over rounds r of (k + r) = 40 k + 780 */
    for (uint64_t k = 0; k < nkeys; k++)
        CU_ASSERT_EQUAL(total[k], (int64_t)(40 * k + 780));
    ks_sumlog_free(&l);
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
        {"sumlog totals", test_sumlog_totals},
        {"sumlog compacts", test_sumlog_compacts},
        {"intern gives dense ids", test_intern_dense_ids},
        {NULL, NULL},
    };
    return ks_test_run("map", cases);
}
