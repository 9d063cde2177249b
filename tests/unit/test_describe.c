/* test_describe.c - kernels/ks_describe.h on cases worked out by hand: the
 * fixed-point sums (exact, so any order of addition gives the same bits),
 * moments, the type-7 quantile index, bins, and the binned KDE of a single
 * point (a Gaussian whose value is known in closed form). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ks_describe.h"
#include "ks_test.h"

static const ks_fix TWO64 = (ks_fix)1 << 64;

/* x 2^64 truncated toward zero, values whose product is exact by hand */
static void test_fix_of_by_hand(void)
{
    CU_ASSERT(ks_fix_of(0.0) == 0);
    CU_ASSERT(ks_fix_of(-0.0) == 0);
    CU_ASSERT(ks_fix_of(1.0) == TWO64);
    CU_ASSERT(ks_fix_of(0.5) == TWO64 / 2);
    CU_ASSERT(ks_fix_of(-0.25) == -(TWO64 / 4));
    CU_ASSERT(ks_fix_of(3.75) == 3 * TWO64 + 3 * (TWO64 / 4));
    CU_ASSERT(ks_fix_of(-255.5) == -(255 * TWO64 + TWO64 / 2));
    CU_ASSERT(ks_fix_of(65536.0) == 65536 * TWO64);  /* the largest square the report adds */
    /* 2^-64 is the last unit; below it the value truncates to 0 (both signs) */
    CU_ASSERT(ks_fix_of(0x1p-64) == 1);
    CU_ASSERT(ks_fix_of(0x1p-70) == 0);
    CU_ASSERT(ks_fix_of(-0x1p-70) == 0);
    /* 1 + 2^-52 (the double after 1): 2^64 + 2^12 */
    CU_ASSERT(ks_fix_of(0x1.0000000000001p0) == TWO64 + 4096);
    /* 0.1 = 0x1.999999999999ap-4: the 53-bit mantissa shifted by 64 - 4 - 52 = 8 bits */
    CU_ASSERT(ks_fix_of(0.1) == (ks_fix)0x1999999999999aLL << 8);
    CU_ASSERT(ks_fix_of(-0.1) == -((ks_fix)0x1999999999999aLL << 8));
    /* a value with bits below 2^-64: 1/3 = 0x1.5555555555555p-2 has its last
     * mantissa bit at 2^-54, so nothing is cut: 0x15555555555555 << 10 */
    CU_ASSERT(ks_fix_of(1.0 / 3.0) == (ks_fix)0x15555555555555LL << 10);
    /* 2^-60 + 2^-66: the 2^-66 part is cut */
    CU_ASSERT(ks_fix_of(0x1p-60 + 0x1p-66) == 16);
    CU_ASSERT(ks_fix_of(-(0x1p-60 + 0x1p-66)) == -16);
}

/* The conversion through the integer and fractional parts equals the
 * compiler's own double -> __int128 conversion of ldexp(x, 64) */
static void test_fix_of_matches_direct_conversion(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        double x;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        memcpy(&x, &s, sizeof x);
        /* random bits, scaled into the report's range with every exponent */
        x = ldexp(fmod(fabs(x), 1.0) + 0.5, (int)(s % 90) - 80) * ((s >> 9) & 1 ? -1 : 1);
        if (!isfinite(x) || fabs(x) > 65536)
            continue;
        CU_ASSERT_FATAL(ks_fix_of(x) == (ks_fix)ldexp(x, 64));
    }
}

static void test_fix_mean(void)
{
    ks_fix f = ks_fix_of(0.1) + ks_fix_of(0.2) + ks_fix_of(0.3);
    /* the exact sum of the three doubles, 0.60000000000000000555, rounds
     * once to the double 0.6, which is then divided by 3 (a double sum in
     * order would give 0.6000000000000001) */
    CU_ASSERT(ks_fix_mean(f, 3) == 0.6 / 3.0);
    CU_ASSERT(ks_fix_mean(ks_fix_of(-7.5) * 4, 4) == -7.5);
}

static void test_moments_by_hand(void)
{
    /* cells: 0 -> {1, 2, 4}, 1 -> {-1}, -1 ignored; NaN in cell 0 counted bad */
    const double x[] = {1, -1, 2, 99, 4, NAN};
    const int32_t cell[] = {0, 1, 0, -1, 0, 0};
    ks_moments m[2];
    ks_moments_clear(m, 2);
    CU_ASSERT(ks_describe_moments(x, cell, 6, 2, m) == 1);
    CU_ASSERT(m[0].n == 3 && m[1].n == 1);
    CU_ASSERT(m[0].sum == 7 * TWO64 && m[0].sumsq == 21 * TWO64);
    CU_ASSERT(m[0].min == 1 && m[0].max == 4);
    CU_ASSERT(m[1].sum == -TWO64 && m[1].min == -1 && m[1].max == -1);
    /* |x| above the bound is not added either */
    ks_moments_clear(m, 2);
    const double big[] = {300, 1};
    const int32_t c2[] = {0, 0};
    CU_ASSERT(ks_describe_moments(big, c2, 2, 1, m) == 1);
    CU_ASSERT(m[0].n == 1 && m[0].sum == TWO64);
}

/* numpy.percentile(range(n), 100 p) is (n - 1) p: k and frac by hand */
static void test_q7_index(void)
{
    int64_t k;
    double frac;
    ks_describe_q7_index(5, 0.25, &k, &frac); /* (5-1) .25 = 1 */
    CU_ASSERT(k == 1 && frac == 0);
    ks_describe_q7_index(4, 0.25, &k, &frac); /* 0.75 */
    CU_ASSERT(k == 0 && frac == 0.75);
    ks_describe_q7_index(4, 0.5, &k, &frac); /* 1.5 */
    CU_ASSERT(k == 1 && frac == 0.5);
    ks_describe_q7_index(4, 1.0, &k, &frac); /* 3: the last, clamped */
    CU_ASSERT(k == 3 && frac == 0);
    ks_describe_q7_index(1, 0.75, &k, &frac);
    CU_ASSERT(k == 0 && frac == 0);
}

static void test_bins(void)
{
    CU_ASSERT(ks_describe_bin(0.0, 0.0, 1.0, 4) == 0);
    CU_ASSERT(ks_describe_bin(0.25, 0.0, 1.0, 4) == 1);
    CU_ASSERT(ks_describe_bin(0.7499, 0.0, 1.0, 4) == 2);
    CU_ASSERT(ks_describe_bin(1.0, 0.0, 1.0, 4) == 3);    /* hi in the last bin */
    CU_ASSERT(ks_describe_bin(-5.0, 0.0, 1.0, 4) == 0);   /* clamped */
    CU_ASSERT(ks_describe_bin(3.0, 2.0, 2.0, 4) == 0);    /* no spread: bin 0 */
}

/* One point in bin 1 of 4 over [0, 1] (centre 0.375), h = 0.1: the KDE at
 * x is phi((x - 0.375) / 0.1) / 0.1 */
static void test_kde_one_point(void)
{
    const int64_t count[4] = {0, 1, 0, 0};
    const double grid[3] = {0.375, 0.475, 0.0};
    double out[3];
    ks_describe_kde_binned(count, 4, 0.0, 1.0, 0.1, grid, 3, out);
    const double c = 1.0 / sqrt(2.0 * M_PI);
    CU_ASSERT_DOUBLE_EQUAL(out[0], c / 0.1, 1e-13);
    CU_ASSERT_DOUBLE_EQUAL(out[1], c * exp(-0.5) / 0.1, 1e-13);
    CU_ASSERT_DOUBLE_EQUAL(out[2], c * exp(-0.5 * 3.75 * 3.75) / 0.1, 1e-13);
}

/* The kernel leaves out bins more than 40 bandwidths away; the result must
 * be the same bits as the sum over every bin (here, written out). */
static void test_kde_cutoff_changes_no_bit(void)
{
    enum { NB = 4096, NG = 512 };
    static int64_t count[NB];
    static double grid[NG], got[NG];
    const double hs[] = {1e-5, 3e-4, 0.01, 0.2, 5.0};
    uint64_t x = 12345;
    for (int b = 0; b < NB; b++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        count[b] = (b % 7 == 0) ? 0 : (int64_t)(x >> 54);
    }
    for (int j = 0; j < NG; j++)
        grid[j] = -0.25 + 1.5 * j / (NG - 1.0);
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        double h = hs[k], w = 1.0 / NB;
        int64_t total = 0;
        int same = 1;
        for (int b = 0; b < NB; b++)
            total += count[b];
        ks_describe_kde_binned(count, NB, 0.0, 1.0, h, grid, NG, got);
        for (int j = 0; j < NG; j++) {
            double sum = 0;
            for (int b = 0; b < NB; b++)
                if (count[b]) {
                    double u = (grid[j] - (0.0 + ((double)b + 0.5) * w)) / h;
                    sum += (double)count[b] * exp(-0.5 * u * u);
                }
            sum = sum * 0.3989422804014327 / ((double)total * h);
            same &= memcmp(&sum, &got[j], sizeof sum) == 0;
        }
        CU_ASSERT(same);
    }
}

/* ks_describe_sums against a row-by-row sum of the direct conversion
 * (x 2^64 truncated, as an __int128): random values of every exponent and
 * sign, with NaN, infinities and values above KS_DESCRIBE_MAX_ABS (left
 * out; the latter counted as bad), rows in no cell, and runs of one cell
 * as long as the panel's years and as short as its export flag. */
static void test_sums_match_row_by_row(void)
{
    enum { N = 300000, NCELLS = 6, NV = 2 };
    static double x0[N], x1[N];
    static int32_t cell[N];
    const double *x[NV] = {x0, x1};
    ks_moments m[NV * NCELLS];
    ks_fix want_sum[NV][NCELLS] = {{0}};
    int64_t want_n[NV][NCELLS] = {{0}}, want_bad[NV] = {0}, bad[NV];
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < N; i++) {
        for (int v = 0; v < NV; v++) {
            double *xv = v ? x1 : x0, u;
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            memcpy(&u, &s, sizeof u);
            u = ldexp(fmod(fabs(u), 1.0) + 0.5, (int)(s % 80) - 70) * ((s >> 9) & 1 ? -1 : 1);
            xv[i] = s % 97 == 0 ? NAN : s % 89 == 0 ? -INFINITY : s % 83 == 0 ? 300.0 * u / fabs(u) : u;
        }
        cell[i] = i % 1000 == 7 ? -1 : (i / 50000) % 3 * 2 + (int32_t)((s >> 20) & 1);
    }
    for (int i = 0; i < N; i++)
        for (int v = 0; v < NV; v++) {
            double y = x[v][i];
            if (cell[i] < 0 || !isfinite(y))
                continue;
            if (fabs(y) > KS_DESCRIBE_MAX_ABS) {
                want_bad[v]++;
                continue;
            }
            want_n[v][cell[i]]++;
            want_sum[v][cell[i]] += (ks_fix)ldexp(y, 64);
        }
    ks_moments_clear(m, NV * NCELLS);
    CU_ASSERT_FATAL(ks_describe_sums(x, NV, cell, N, NCELLS, m, bad) == 0);
    for (int v = 0; v < NV; v++) {
        CU_ASSERT(bad[v] == want_bad[v]);
        CU_ASSERT(want_bad[v] > 0);
        for (int c = 0; c < NCELLS; c++) {
            CU_ASSERT(m[v * NCELLS + c].n == want_n[v][c]);
            CU_ASSERT(m[v * NCELLS + c].sum == want_sum[v][c]);
        }
    }
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"fixed point by hand", test_fix_of_by_hand},
        {"fixed point equals the direct conversion", test_fix_of_matches_direct_conversion},
        {"fixed-point mean", test_fix_mean},
        {"moments by hand", test_moments_by_hand},
        {"sums by cell match a row-by-row sum", test_sums_match_row_by_row},
        {"type-7 quantile index", test_q7_index},
        {"bins", test_bins},
        {"KDE of one point", test_kde_one_point},
        {"KDE cut-off changes no bit", test_kde_cutoff_changes_no_bit},
        {NULL, NULL},
    };
    return ks_test_run("describe", cases);
}
