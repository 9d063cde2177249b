/* ks_panel_groups.c - the panel's groups: firm size (tradevalue terciles of
 * the year) and city marketisation (non-SOE share of trade value cut at two
 * percentiles).  Cut points are numpy's default (linear) quantiles, computed
 * with numpy's own arithmetic so that a numpy check agrees to the bit. */
#include <math.h>
#include <stdlib.h>

#include "ks_mem.h"
#include "ks_panel_internal.h"

double ks_quantile_sorted(const double *x, int64_t n, double q)
{
    /* numpy.lib.function_base._quantile, method "linear": virtual index
     * (n-1)*q, neighbours floor and floor+1 (the last element at or past the
     * end), then _lerp, which interpolates from the nearer end */
    double vi = (double)(n - 1) * q, prev_i, gamma, a, b, diff;
    if (!(vi < (double)(n - 1)))
        return x[n - 1];
    if (vi < 0)
        return x[0];
    prev_i = floor(vi);
    gamma = vi - prev_i;
    a = x[(int64_t)prev_i];
    b = x[(int64_t)prev_i + 1];
    diff = b - a;
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

int ks_size_group(double v, double q1, double q2)
{
    if (isnan(v))
        return -1;
    return v <= q1 ? 0 : v <= q2 ? 1 : 2;
}

/* The upper cut is inclusive for high: shares pile up at 1 (cities whose
 * traders are all non-state), which can make p_high = 1, and "above p_high"
 * would then be empty while those cities are the most marketised. */
int ks_market_group(double share, double lo, double hi)
{
    if (isnan(share))
        return -1;
    return share < lo ? 0 : share < hi ? 1 : 2; /* ties at p_high are high (see below) */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int ks_size_cuts(ks_ctx *ctx, const double *x, int64_t n, double *q1, double *q2)
{
    double *v = NULL;
    int64_t m = 0;
    *q1 = *q2 = NAN;
    KS_CHECK(ks_calloc(ctx, &v, (size_t)n + 1, sizeof *v, "size quantiles"));
    for (int64_t k = 0; k < n; k++)
        if (isfinite(x[k]))
            v[m++] = x[k];
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    if (m > 0) {
        *q1 = ks_quantile_sorted(v, m, 1.0 / 3.0);
        *q2 = ks_quantile_sorted(v, m, 2.0 / 3.0);
    }
    free(v);
    return KS_OK;
}

/* Shares of the cities with trade in one set of sums; cut and group them. */
static void cut_one(int n_cities, const int64_t *nonsoe, const int64_t *total, double pct_low,
                    double pct_high, double *scratch, int8_t *group, double *cuts)
{
    int64_t m = 0;
    for (int c = 0; c < n_cities; c++)
        if (total[c] > 0)
            scratch[m++] = (double)nonsoe[c] / (double)total[c];
    qsort(scratch, (size_t)m, sizeof *scratch, cmp_double);
    cuts[0] = m ? ks_quantile_sorted(scratch, m, pct_low / 100.0) : NAN;
    cuts[1] = m ? ks_quantile_sorted(scratch, m, pct_high / 100.0) : NAN;
    for (int c = 0; c < n_cities; c++)
        group[c] = (int8_t)(total[c] > 0 ? ks_market_group((double)nonsoe[c] / (double)total[c],
                                                           cuts[0], cuts[1])
                                         : -1);
}

int ks_market_groups(ks_ctx *ctx, int n_years, int n_cities, const int64_t *nonsoe,
                     const int64_t *total, double pct_low, double pct_high, int by_year,
                     int8_t *group, double *cuts)
{
    double *scratch = NULL;
    int64_t *pooled = NULL;
    size_t nc = (size_t)n_cities;
    int rc;
    KS_CHECK(ks_calloc(ctx, &scratch, nc + 1, sizeof *scratch, "market shares"));
    if (by_year) {
        for (int y = 0; y < n_years; y++)
            cut_one(n_cities, nonsoe + y * nc, total + y * nc, pct_low, pct_high, scratch,
                    group + y * nc, cuts + 2 * y);
        free(scratch);
        return KS_OK;
    }
    KS_TRY(rc, ks_calloc(ctx, &pooled, 2 * nc + 1, sizeof *pooled, "market shares"), done);
    for (int y = 0; y < n_years; y++)
        for (size_t c = 0; c < nc; c++) {
            pooled[c] += nonsoe[y * nc + c];
            pooled[nc + c] += total[y * nc + c];
        }
    /* one set of shares and cuts over all years, the same in every year */
    for (int y = 0; y < n_years; y++)
        cut_one(n_cities, pooled, pooled + nc, pct_low, pct_high, scratch, group + y * nc,
                cuts + 2 * y);
done:
    free(pooled);
    free(scratch);
    return rc;
}
