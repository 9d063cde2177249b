/* test_rng.c - the counter-based RNG: streams are reproducible and
 * independent, and the distributions have the right moments. */
#include <math.h>

#include "ks_rng.h"
#include "ks_test.h"

#define N_DRAWS 400000

static void test_streams_reproducible(void)
{
    ks_rng a, b, c;
    int same_ab = 1, same_ac = 1;
    ks_rng_seed(&a, 42, 1, 2, 3);
    ks_rng_seed(&b, 42, 1, 2, 3);
    ks_rng_seed(&c, 42, 1, 2, 4);
    for (int k = 0; k < 1000; k++) {
        uint64_t x = ks_rng_next(&a), y = ks_rng_next(&b), z = ks_rng_next(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CU_ASSERT_TRUE(same_ab);
    CU_ASSERT_FALSE(same_ac);
    /* the inputs are ordered: (1, 2) and (2, 1) are different streams */
    CU_ASSERT_NOT_EQUAL(ks_rng_hash(7, 1, 2, 0), ks_rng_hash(7, 2, 1, 0));
    CU_ASSERT_NOT_EQUAL(ks_rng_hash(7, 1, 2, 0), ks_rng_hash(8, 1, 2, 0));
}

static void test_uniform_moments(void)
{
    ks_rng r;
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    ks_rng_seed(&r, 1, 0, 0, 0);
    for (int k = 0; k < N_DRAWS; k++) {
        double u = ks_rng_uniform(&r);
        sum += u;
        sum2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    CU_ASSERT(lo > 0.0 && hi < 1.0);
    CU_ASSERT_DOUBLE_EQUAL(sum / N_DRAWS, 0.5, 0.003);
    CU_ASSERT_DOUBLE_EQUAL(sum2 / N_DRAWS - pow(sum / N_DRAWS, 2), 1.0 / 12, 0.002);
}

static void test_normal_moments(void)
{
    ks_rng r;
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    ks_rng_seed(&r, 2, 0, 0, 0);
    for (int k = 0; k < N_DRAWS; k++) {
        double z = ks_rng_normal(&r);
        m1 += z;
        m2 += z * z;
        m3 += z * z * z;
        m4 += z * z * z * z;
    }
    CU_ASSERT_DOUBLE_EQUAL(m1 / N_DRAWS, 0.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(m2 / N_DRAWS, 1.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(m3 / N_DRAWS, 0.0, 0.03);
    CU_ASSERT_DOUBLE_EQUAL(m4 / N_DRAWS, 3.0, 0.06);
}

static void check_poisson(double lambda)
{
    ks_rng r;
    double sum = 0, sum2 = 0;
    int negative = 0;
    ks_rng_seed(&r, 3, (uint64_t)(lambda * 10), 0, 0);
    for (int k = 0; k < N_DRAWS; k++) {
        int64_t x = ks_rng_poisson(&r, lambda);
        negative |= x < 0;
        sum += (double)x;
        sum2 += (double)x * (double)x;
    }
    CU_ASSERT_FALSE(negative);
    CU_ASSERT_DOUBLE_EQUAL(sum / N_DRAWS, lambda, 0.01 * lambda + 0.01);
    CU_ASSERT_DOUBLE_EQUAL(sum2 / N_DRAWS - pow(sum / N_DRAWS, 2), lambda, 0.03 * lambda + 0.01);
}

static void test_poisson_moments(void)
{
    check_poisson(0.5);
    check_poisson(3.5);
    check_poisson(29.0);
    check_poisson(50.0);
    check_poisson(400.0);
    {
        ks_rng r;
        ks_rng_seed(&r, 3, 0, 0, 0);
        CU_ASSERT_EQUAL(ks_rng_poisson(&r, 0.0), 0);
        CU_ASSERT_EQUAL(ks_rng_poisson(&r, -1.0), 0);
    }
}

static void test_lognormal_median(void)
{
    ks_rng r;
    int below = 0;
    ks_rng_seed(&r, 4, 0, 0, 0);
    for (int k = 0; k < N_DRAWS; k++)
        below += ks_rng_lognormal(&r, log(100.0), 1.5) < 100.0;
    CU_ASSERT_DOUBLE_EQUAL((double)below / N_DRAWS, 0.5, 0.005);
}

static void test_categorical_and_below(void)
{
    const double cum[4] = {1.0, 1.0, 4.0, 10.0}; /* weights 1, 0, 3, 6 */
    int hits[4] = {0}, bins[7] = {0}, out_of_range = 0;
    ks_rng r;
    ks_rng_seed(&r, 5, 0, 0, 0);
    for (int k = 0; k < N_DRAWS; k++) {
        int c = ks_rng_categorical(&r, cum, 4);
        uint64_t b = ks_rng_below(&r, 7);
        hits[c]++;
        out_of_range |= b >= 7;
        if (b < 7)
            bins[b]++;
    }
    CU_ASSERT_EQUAL(hits[1], 0);
    CU_ASSERT_DOUBLE_EQUAL((double)hits[0] / N_DRAWS, 0.1, 0.003);
    CU_ASSERT_DOUBLE_EQUAL((double)hits[2] / N_DRAWS, 0.3, 0.004);
    CU_ASSERT_DOUBLE_EQUAL((double)hits[3] / N_DRAWS, 0.6, 0.004);
    CU_ASSERT_FALSE(out_of_range);
    for (int b = 0; b < 7; b++)
        CU_ASSERT_DOUBLE_EQUAL((double)bins[b] / N_DRAWS, 1.0 / 7, 0.003);
    {
        const double zero[2] = {0.0, 0.0};
        CU_ASSERT_EQUAL(ks_rng_categorical(&r, zero, 2), -1);
        CU_ASSERT_EQUAL(ks_rng_categorical(&r, cum, 0), -1);
        CU_ASSERT_EQUAL(ks_rng_below(&r, 0), 0);
    }
}

static void test_normal_cdf(void)
{
    CU_ASSERT_DOUBLE_EQUAL(ks_normal_cdf(0.0), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(ks_normal_cdf(1.959963984540054), 0.975, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ks_normal_cdf(-1.0), 0.15865525393145707, 1e-14);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"streams are reproducible and distinct", test_streams_reproducible},
        {"uniform moments", test_uniform_moments},
        {"normal moments", test_normal_moments},
        {"poisson moments", test_poisson_moments},
        {"lognormal median", test_lognormal_median},
        {"categorical and below", test_categorical_and_below},
        {"normal cdf", test_normal_cdf},
        {NULL, NULL},
    };
    return ks_test_run("rng", cases);
}
