/* ks_density.h - relatedness density: the phi-weighted share of product i's
 * related products that lie in a basket (method.md section 2),
 *     density[i] = sum_{j in basket} phi[i][j] / sum_j phi[i][j]   (0/0 -> 0).
 *
 * Pure compute: arrays in, arrays out; no MPI, HDF5 or logging.  A basket is
 * a sorted list of product indices.  Every sum over j runs in ascending j, one
 * term at a time, whichever function computes it (dense accumulation over a
 * transposed phi, or a gather along a row of phi), so every path gives the
 * same bits for the same cell, for any number of threads. */
#ifndef KS_DENSITY_H
#define KS_DENSITY_H

#include <stddef.h>
#include <stdint.h>

/* One year's relatedness, as the kernels read it. */
typedef struct ks_density_phi {
    int p;                /* products */
    const double *phi;    /* [p][p] row-major: phi[i*p + j] */
    const double *phi_t;  /* [p][p] transposed: phi_t[j*p + i] = phi[i][j] */
    const double *rowsum; /* [p]: sum_j phi[i][j], ascending j */
} ks_density_phi;

/* phi_t = transpose of phi ([p][p]); rowsum[i] = sum_j phi[i][j]. */
void ks_density_prepare(const double *phi, int p, double *phi_t, double *rowsum);

/* The density of an unnormalised sum: num / rowsum, 0 when rowsum is 0. */
static inline double ks_density_ratio(double num, double rowsum)
{
    return rowsum != 0.0 ? num / rowsum : 0.0;
}

/* acc[i] = sum_{j in basket} phi[i][j] for i in [i0, i1) (acc indexed by i,
 * entries outside the range untouched): streams rows of phi_t. */
void ks_density_accumulate(const ks_density_phi *phi, const int32_t *basket, int64_t nb,
                           int i0, int i1, double *acc);

/* sum_{j in basket} phi[i][j] for one i (a gather along row i of phi). */
double ks_density_gather(const ks_density_phi *phi, int i, const int32_t *basket, int64_t nb);

/* Unnormalised sums of many baskets at once, in parallel over baskets (OpenMP):
 * for every basket g with todo[g] != 0 (todo NULL: all), row g of acc
 * ([n][p]) = ks_density_accumulate over all products.  Rows not done are
 * left as they are. */
void ks_density_accumulate_many(const ks_density_phi *phi, int64_t n, const int64_t *offset,
                                const int32_t *basket, const uint8_t *todo, double *acc);

/* The cells of a block of baskets (firm-years) whose density passes the
 * sample rule, in (basket, product) order: density > threshold, or every
 * cell when keep_all.  OpenMP: each thread takes a contiguous run of baskets
 * into its own buffer, and the buffers are concatenated in thread order, so
 * the output is the same for any number of threads. */
typedef struct ks_density_hits {
    int64_t n;
    int64_t *item;    /* the basket of each hit: 0..n_items-1 */
    int32_t *product; /* product index */
    double *value;    /* the density */
} ks_density_hits;

/* Returns 0, or -1 when memory ran out (out is then empty). */
int ks_density_select(const ks_density_phi *phi, int64_t n_items, const int64_t *offset,
                      const int32_t *basket, double threshold, int keep_all,
                      ks_density_hits *out);
void ks_density_hits_free(ks_density_hits *h);

#endif
