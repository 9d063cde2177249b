/* test_cooccur.c - the co-occurrence kernel and phi against values worked
 * out by hand (both diagonals, a window of two years, RCA membership), and
 * against a naive count for any number of threads. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ks_cooccur.h"
#include "ks_test.h"

#define P4 4

/* Five firms over products 0..3 (firm 3 exports nothing, nobody exports 3):
 *   f0 {0,1}  f1 {0,1,2}  f2 {1}  f3 {}  f4 {0,2}
 * k = (3, 3, 2, 0); C01 = 2 (f0,f1), C02 = 2 (f1,f4), C12 = 1 (f1).
 * phi01 = 2/max(3,3) = 2/3, phi02 = 2/max(3,2) = 2/3, phi12 = 1/max(3,2) = 1/3,
 * every phi with product 3 is 0 (k3 = 0), phi_ii = 1 for i < 3 (diagonal one). */
static const int64_t off5[] = {0, 2, 5, 6, 6, 8};
static const int32_t items5[] = {0, 1, 0, 1, 2, 1, 0, 2};

static void test_counts_by_hand(void)
{
    int64_t C[P4 * P4], k[P4];
    static const int64_t want_C[P4 * P4] = {3, 2, 2, 0, 2, 3, 1, 0, 2, 1, 2, 0, 0, 0, 0, 0};
    static const int64_t want_k[P4] = {3, 3, 2, 0};
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off5, items5, 5, P4, C, k), 0);
    CU_ASSERT_EQUAL(memcmp(C, want_C, sizeof C), 0);
    CU_ASSERT_EQUAL(memcmp(k, want_k, sizeof k), 0);
    CU_ASSERT_EQUAL(ks_cooccur_nonempty(off5, 5), 4);
}

static void test_phi_both_diagonals(void)
{
    int64_t C[P4 * P4], k[P4];
    double phi[P4 * P4];
    const double third = 1.0 / 3.0, two_thirds = 2.0 / 3.0;
    const double want[P4 * P4] = {1, two_thirds, two_thirds, 0, two_thirds, 1, third, 0,
                                  two_thirds, third, 1, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off5, items5, 5, P4, C, k), 0);
    ks_cooccur_phi(C, k, P4, 1, phi);
    for (int e = 0; e < P4 * P4; e++)
        CU_ASSERT_EQUAL(phi[e], want[e]); /* exact: one division of small integers */
    ks_cooccur_phi(C, k, P4, 0, phi);
    for (int e = 0; e < P4 * P4; e++)
        CU_ASSERT_EQUAL(phi[e], e % (P4 + 1) == 0 ? 0.0 : want[e]);
}

/* Two years, two firms, products 0..2 (key = firm * 3 + product):
 *   year 1: f0 {0}, f1 {1}      keys 0, 4
 *   year 2: f0 {1}, f1 {1,2}    keys 1, 4, 5
 * window 2 pools them: f0 {0,1}, f1 {1,2}: k = (1, 2, 1), C01 = 1, C12 = 1,
 * phi01 = phi12 = 1/2, phi02 = 0.  Year 2 alone: k = (0, 2, 1), phi12 = 1/2. */
static void test_window_by_hand(void)
{
    static const uint64_t y1[] = {0, 4}, y2[] = {1, 4, 5};
    const uint64_t *lists[2] = {y1, y2};
    const int64_t lens[2] = {2, 3};
    uint64_t pooled[5];
    int64_t off[3], C[9], k[3];
    int32_t items[5];
    double phi[9];
    int64_t n = ks_cooccur_union(lists, lens, 2, pooled);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_csr(pooled, n, 2, 3, off, items), 0);
    CU_ASSERT(off[0] == 0 && off[1] == 2 && off[2] == 4);
    CU_ASSERT(items[0] == 0 && items[1] == 1 && items[2] == 1 && items[3] == 2);
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off, items, 2, 3, C, k), 0);
    CU_ASSERT(k[0] == 1 && k[1] == 2 && k[2] == 1);
    ks_cooccur_phi(C, k, 3, 1, phi);
    CU_ASSERT(phi[0 * 3 + 1] == 0.5 && phi[1 * 3 + 0] == 0.5);
    CU_ASSERT(phi[1 * 3 + 2] == 0.5 && phi[2 * 3 + 1] == 0.5);
    CU_ASSERT(phi[0 * 3 + 2] == 0.0 && phi[0] == 1.0 && phi[4] == 1.0 && phi[8] == 1.0);
    /* year 2 alone */
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_csr(y2, 3, 2, 3, off, items), 0);
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off, items, 2, 3, C, k), 0);
    CU_ASSERT(k[0] == 0 && k[1] == 2 && k[2] == 1);
    ks_cooccur_phi(C, k, 3, 1, phi);
    CU_ASSERT(phi[0] == 0.0 && phi[1] == 0.0 && phi[5] == 0.5 && phi[4] == 1.0);
}

/* Regions x products, X in micro-dollars:
 *        p0  p1  p2
 *   r0    6   2   0      X[r0,.] = 8
 *   r1    2   2   4      X[r1,.] = 8      X[.,.] = 16, X[.,i] = (8, 4, 4)
 * RCA = (X[c,i]/X[c,.]) / (X[.,i]/X[.,.]):
 *   r0: 1.5, 1 (exactly: a member), 0      r1: 0.5, 1 (member), 2
 * members r0 {0,1}, r1 {1,2}: k = (1, 2, 1), phi01 = phi12 = 1/2. */
static void test_rca_by_hand(void)
{
    static const int64_t X[6] = {6, 2, 0, 2, 2, 4};
    int64_t off[3], col[3], C[9], k[3];
    int32_t items[6];
    double phi[9];
    CU_ASSERT_EQUAL_FATAL(ks_rca_members(X, 2, 3, col, off, items), 0);
    CU_ASSERT(col[0] == 8 && col[1] == 4 && col[2] == 4);
    CU_ASSERT(off[0] == 0 && off[1] == 2 && off[2] == 4);
    CU_ASSERT(items[0] == 0 && items[1] == 1 && items[2] == 1 && items[3] == 2);
    CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off, items, 2, 3, C, k), 0);
    ks_cooccur_phi(C, k, 3, 0, phi);
    CU_ASSERT(phi[1] == 0.5 && phi[5] == 0.5 && phi[2] == 0.0 && phi[0] == 0.0);
}

/* With X = [[a, b], [c, d]], RCA[0,0] >= 1 exactly when a*d >= b*c.  At
 * a*d = b*c every RCA is exactly 1 (all four are members); one micro-dollar
 * less on a makes RCA[0,0] and RCA[1,1] fall below 1 by about 3e-18, which
 * no double can see but the integer comparison must. */
static void test_rca_exact_boundary(void)
{
    int64_t X[4] = {300000000000000000LL, 600000000000000000LL, 5, 10};
    int64_t off[3], col[2];
    int32_t items[4];
    CU_ASSERT_EQUAL_FATAL(ks_rca_members(X, 2, 2, col, off, items), 0);
    CU_ASSERT(off[1] == 2 && off[2] == 4);
    X[0] -= 1;
    CU_ASSERT_EQUAL_FATAL(ks_rca_members(X, 2, 2, col, off, items), 0);
    CU_ASSERT(off[1] == 1 && items[0] == 1); /* r0 keeps p1 only */
    CU_ASSERT(off[2] == 2 && items[1] == 0); /* r1 keeps p0 only */
    X[1] = INT64_MAX;                        /* the total no longer fits */
    CU_ASSERT_EQUAL(ks_rca_members(X, 2, 2, col, off, items), -1);
    X[1] = -1;
    CU_ASSERT_EQUAL(ks_rca_members(X, 2, 2, col, off, items), -1);
}

static void test_rejects_bad_baskets(void)
{
    static const int64_t off[] = {0, 2};
    static const int32_t unsorted[] = {2, 1}, dup[] = {1, 1}, range[] = {0, 4};
    static const uint64_t keys_bad[] = {3, 3}, keys_far[] = {0, 9};
    int64_t C[16], k[4], o[3];
    int32_t it[2];
    CU_ASSERT_EQUAL(ks_cooccur_count(off, unsorted, 1, 4, C, k), -1);
    CU_ASSERT_EQUAL(ks_cooccur_count(off, dup, 1, 4, C, k), -1);
    CU_ASSERT_EQUAL(ks_cooccur_count(off, range, 1, 4, C, k), -1);
    CU_ASSERT_EQUAL(ks_cooccur_csr(keys_bad, 2, 2, 3, o, it), -1);
    CU_ASSERT_EQUAL(ks_cooccur_csr(keys_far, 2, 2, 3, o, it), -1); /* basket 3 of 2 */
    CU_ASSERT_EQUAL(ks_cooccur_count(off, range, 0, 0, C, k), 0);  /* P = 0: nothing */
}

/* Random baskets: the kernel with 1, 2, 3 and 7 threads equals a naive
 * triple loop, and the windows' union equals a set built by marking. */
static void test_matches_naive_any_threads(void)
{
    enum { NB = 3000, P = 97 };
    int64_t *off = malloc((NB + 1) * sizeof *off), *C = malloc(P * P * sizeof *C), k[P];
    int64_t *ref = calloc(P * P, sizeof *ref);
    int32_t *items = malloc(NB * P * sizeof *items);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int64_t n = 0;
    off[0] = 0;
    for (int b = 0; b < NB; b++) {
        for (int i = 0; i < P; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* skewed: low products are common, as real baskets are */
            if (x % 1000 < (uint64_t)(400 / (1 + i / 4)))
                items[n++] = i;
        }
        off[b + 1] = n;
        for (int64_t p = off[b]; p < n; p++)
            for (int64_t q = off[b]; q < n; q++)
                ref[items[p] * P + items[q]]++;
    }
    for (int t = 1; t <= 7; t += (t == 3 ? 4 : 1)) {
        omp_set_num_threads(t);
        memset(C, 0xff, P * P * sizeof *C); /* the kernel must overwrite */
        CU_ASSERT_EQUAL_FATAL(ks_cooccur_count(off, items, NB, P, C, k), 0);
        CU_ASSERT_EQUAL(memcmp(C, ref, P * P * sizeof *C), 0);
        for (int i = 0; i < P; i++)
            CU_ASSERT_EQUAL(k[i], ref[i * P + i]);
    }
    omp_set_num_threads(1);
    free(off);
    free(C);
    free(ref);
    free(items);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"counts by hand", test_counts_by_hand},
        {"phi by hand, diagonal one and zero", test_phi_both_diagonals},
        {"window of two years by hand", test_window_by_hand},
        {"rca membership by hand", test_rca_by_hand},
        {"rca decided exactly at RCA = 1", test_rca_exact_boundary},
        {"bad baskets are refused", test_rejects_bad_baskets},
        {"equals a naive count for 1-7 threads", test_matches_naive_any_threads},
        {NULL, NULL}};
    return ks_test_run("cooccur", cases);
}
