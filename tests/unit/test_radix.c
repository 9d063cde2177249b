/* test_radix.c - the radix sort kernel against qsort on the same data. */
#include <stdlib.h>

#include "ks_radix.h"
#include "ks_test.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* xorshift64: the next pseudo-random key of the sequence x. */
static uint64_t next_key(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* skew: the share of keys (1 in skew) that differ in the high bits; the
 * rest fill one bucket of the first split, which is split again. */
static void check_keys(size_t n, uint64_t mask, unsigned skew)
{
    uint64_t *k = malloc(n * sizeof *k), *ref = malloc(n * sizeof *ref), *tk = malloc(n * sizeof *tk);
    int64_t *v = malloc(n * sizeof *v), *tv = malloc(n * sizeof *tv);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_key(&x);
        k[i] = ref[i] = skew > 1 && r % skew != 0 ? r & mask & 0xffff : r & mask;
        v[i] = (int64_t)(k[i] * 3 + 1); /* the value travels with its key */
    }
    qsort(ref, n, sizeof *ref, cmp_u64);
    ks_radix_sort_pairs(k, v, n, tk, tv);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(k[i], ref[i]);
        CU_ASSERT_EQUAL(v[i], (int64_t)(k[i] * 3 + 1));
    }
    free(k);
    free(ref);
    free(tk);
    free(v);
    free(tv);
}

static void check(size_t n, uint64_t mask)
{
    check_keys(n, mask, 1);
}

/* Equal keys keep their input order (the sort is stable): values are the
 * input positions. */
static void check_stable(size_t n, uint64_t mask)
{
    uint64_t *k = malloc(n * sizeof *k), *tk = malloc(n * sizeof *tk);
    int64_t *v = malloc(n * sizeof *v), *tv = malloc(n * sizeof *tv);
    uint64_t x = 2463534242ULL;
    for (size_t i = 0; i < n; i++) {
        k[i] = next_key(&x) & mask;
        v[i] = (int64_t)i;
    }
    ks_radix_sort_pairs(k, v, n, tk, tv);
    for (size_t i = 1; i < n; i++) {
        CU_ASSERT(k[i - 1] <= k[i]);
        if (k[i - 1] == k[i])
            CU_ASSERT(v[i - 1] < v[i]);
    }
    free(k);
    free(tk);
    free(v);
    free(tv);
}

static void test_sorts_like_qsort(void)
{
    check(0, ~0ULL);
    check(1, ~0ULL);
    check(1000, ~0ULL);
    check(100000, 0xff00ff0000ffULL); /* skipped digits */
    check(5000, 0x7);                 /* many equal keys */
    check(200000, 0x0f00001fffff0fffULL); /* ingest's (year, firm, product): three bit ranges */
    check(3000, 0x8000000000000001ULL);   /* the top and bottom bits only */
    check(3000, 0xfffULL << 52);          /* a digit that would run past bit 63 */
    check_stable(100000, 0x0f00000000000003ULL);
    check_stable(100000, 0x3f);
}

/* Beyond 2^19 pairs the sort splits by the top bits first (MSD), then sorts
 * each bucket by the rest: the same order as qsort, and still stable. */
static void test_large_sorts_like_qsort(void)
{
    check(1200007, ~0ULL);
    check(1100000, 0x0f00001fffff0fffULL); /* year, firm, product */
    check(900000, 0x0000000000000fffULL);  /* fewer varying bits than a split digit wants */
    check_keys(2000000, 0x0ff0000000ffffffULL, 8); /* 7 in 8 keys in one bucket: split again */
    check_stable(1300000, 0x0f00001fffff0003ULL);
    check_stable(700000, 0x1ULL << 63 | 0x3);
}

int main(void)
{
    static const ks_test_case cases[] = {{"sorts like qsort", test_sorts_like_qsort},
                                         {"large sorts (split first) like qsort", test_large_sorts_like_qsort},
                                         {NULL, NULL}};
    return ks_test_run("radix", cases);
}
