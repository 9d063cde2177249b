/* test_panel_groups.c - the panel's groups and newexport against values
 * worked out by hand: numpy-linear quantiles, size terciles, market groups
 * (per year and pooled), new products and their transforms. */
#include <math.h>
#include <string.h>

#include "ks_panel_internal.h"
#include "ks_test.h"

static void test_quantile(void)
{
    const double four[] = {1, 2, 3, 4}, five[] = {1, 2, 3, 4, 5}, three[] = {.1, .5, .9};
    /* numpy.quantile([1,2,3,4], 1/3) = 2: index 3 * 1/3 = 1 */
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(four, 4, 1.0 / 3.0), 2.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(four, 4, 2.0 / 3.0), 3.0, 1e-15);
    /* index 4/3: 2 + 1/3; index 8/3: 4 - 1/3 (interpolated from the upper end) */
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(five, 5, 1.0 / 3.0), 2.0 + 1.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(five, 5, 2.0 / 3.0), 4.0 - 1.0 / 3.0, 1e-15);
    /* percentile 25 of 3 values: index 0.5, halfway between .1 and .5 */
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(three, 3, 0.25), 0.3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(ks_quantile_sorted(three, 3, 0.5), 0.5, 1e-15);
    CU_ASSERT_EQUAL(ks_quantile_sorted(three, 3, 1.0), 0.9);
    CU_ASSERT_EQUAL(ks_quantile_sorted(three, 1, 0.4), 0.1);
}

static void test_size(void)
{
    ks_ctx ctx;
    const double tv[] = {4, NAN, 1, 3, 2, 5}; /* finite: 1..5 */
    double q1, q2;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL(ks_size_cuts(&ctx, tv, 6, &q1, &q2), KS_OK);
    CU_ASSERT_DOUBLE_EQUAL(q1, 2.0 + 1.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(q2, 4.0 - 1.0 / 3.0, 1e-15);
    CU_ASSERT_EQUAL(ks_size_group(1, q1, q2), 0);
    CU_ASSERT_EQUAL(ks_size_group(q1, q1, q2), 0); /* small <= q1 */
    CU_ASSERT_EQUAL(ks_size_group(3, q1, q2), 1);
    CU_ASSERT_EQUAL(ks_size_group(q2, q1, q2), 1); /* middle <= q2 */
    CU_ASSERT_EQUAL(ks_size_group(4, q1, q2), 2);
    CU_ASSERT_EQUAL(ks_size_group(NAN, q1, q2), -1);
    CU_ASSERT_EQUAL(ks_size_cuts(&ctx, tv, 0, &q1, &q2), KS_OK);
    CU_ASSERT(isnan(q1) && isnan(q2));
}

static void test_market(void)
{
    ks_ctx ctx;
    /* year 0: shares .1, .5, .9 and a city without trade; year 1: .9, -, .1, .5 */
    const int64_t nonsoe[] = {10, 50, 90, 0, 90, 0, 10, 50};
    const int64_t total[] = {100, 100, 100, 0, 100, 0, 100, 100};
    int8_t group[8];
    double cuts[4];
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL(ks_market_groups(&ctx, 2, 4, nonsoe, total, 25, 50, 1, group, cuts), KS_OK);
    /* p25 of (.1, .5, .9) = .3, p50 = .5: .1 low, .5 high (ties at p50 are high), .9 high */
    CU_ASSERT_DOUBLE_EQUAL(cuts[0], 0.3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(cuts[1], 0.5, 1e-15);
    CU_ASSERT_EQUAL(group[0], 0);
    CU_ASSERT_EQUAL(group[1], 2);
    CU_ASSERT_EQUAL(group[2], 2);
    CU_ASSERT_EQUAL(group[3], -1);
    CU_ASSERT_EQUAL(group[4], 2);
    CU_ASSERT_EQUAL(group[5], -1);
    CU_ASSERT_EQUAL(group[6], 0);
    CU_ASSERT_EQUAL(group[7], 2);
    CU_ASSERT_EQUAL(ks_market_group(0.3, 0.3, 0.5), 1); /* p_low itself is middle */
    CU_ASSERT_EQUAL(ks_market_group(0.2999, 0.3, 0.5), 0);
    CU_ASSERT_EQUAL(ks_market_group(0.4999, 0.3, 0.5), 1);
    CU_ASSERT_EQUAL(ks_market_group(1.0, 0.3, 1.0), 2); /* a pile at 1: still high */
    /* pooled: 100/200, 50/100, 100/200, 50/100: every share .5, cuts .5, .5: all high */
    CU_ASSERT_EQUAL(ks_market_groups(&ctx, 2, 4, nonsoe, total, 25, 50, 0, group, cuts), KS_OK);
    for (int k = 0; k < 8; k++)
        CU_ASSERT_EQUAL(group[k], 2);
    CU_ASSERT_DOUBLE_EQUAL(cuts[2], 0.5, 1e-15);
}

static void test_newexport(void)
{
    uint64_t hist[4];
    const int32_t before[] = {1, 70}, now[] = {1, 2, 70, 200};
    memset(hist, 0, sizeof hist);
    CU_ASSERT_EQUAL(ks_newexport_count(hist, now, 4), 4); /* no history: all new */
    ks_newexport_remember(hist, before, 2);
    CU_ASSERT_EQUAL(ks_newexport_count(hist, now, 4), 2); /* 2 and 200 */
    CU_ASSERT_EQUAL(ks_newexport_count(hist, now, 0), 0);
    ks_newexport_remember(hist, now, 4);
    CU_ASSERT_EQUAL(ks_newexport_count(hist, now, 4), 0);
    CU_ASSERT_DOUBLE_EQUAL(ks_newexport_value(2, KS_NEWEXPORT_LOG1P), log(3.0), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(ks_newexport_value(2, KS_NEWEXPORT_LOG), log(2.0), 1e-15);
    CU_ASSERT_EQUAL(ks_newexport_value(2, KS_NEWEXPORT_COUNT), 2.0);
    CU_ASSERT_EQUAL(ks_newexport_value(0, KS_NEWEXPORT_LOG1P), 0.0);
    CU_ASSERT(isnan(ks_newexport_value(0, KS_NEWEXPORT_LOG)));
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"numpy-linear quantiles", test_quantile},
        {"size terciles and their edges", test_size},
        {"market groups per year and pooled", test_market},
        {"newexport counts and transforms", test_newexport},
        {NULL, NULL}};
    return ks_test_run("panel groups", cases);
}
