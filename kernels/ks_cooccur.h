/* ks_cooccur.h - co-occurrence counts and the proximity phi (method.md §2).
 *
 * Pure compute: arrays in, arrays out; no MPI, HDF5 or logging.  A "basket"
 * is the set of products of one unit (a firm, or a region for RCA), given in
 * CSR form: basket b holds items[offsets[b] .. offsets[b+1]), strictly
 * ascending product indices in [0, P).  Counts are integers, so they do not
 * depend on the number of threads or on how units are split among ranks. */
#ifndef KS_COOCCUR_H
#define KS_COOCCUR_H

#include <stdint.h>

/* C[i*P+j] = baskets holding both i and j (C[i*P+i] = k[i]), k[i] = baskets
 * holding i.  Overwrites C (P*P) and k (P).  OpenMP: the rows of C are split
 * among the threads by the number of pairs they receive, each thread walks
 * every basket and adds only its own rows (no atomics, no per-thread copies).
 * Returns 0, or -1 (and counts nothing) when a basket is not strictly
 * ascending inside [0, P). */
int ks_cooccur_count(const int64_t *offsets, const int32_t *items, int64_t n_baskets, int32_t P,
                     int64_t *C, int64_t *k);

/* phi[i*P+j] = C[i*P+j] / max(k[i], k[j]), 0 where k[i] or k[j] is 0.  With
 * diagonal_one the diagonal keeps C[i,i]/k[i] = 1 (where k[i] > 0), as the
 * paper's sum over every j implies; otherwise it is set to 0.  Each value is
 * one correctly rounded division of two integers, so it is exact to the last
 * bit and equal in any implementation that divides the same integers. */
void ks_cooccur_phi(const int64_t *C, const int64_t *k, int32_t P, int diagonal_one, double *phi);

/* Number of non-empty baskets (the units counted). */
int64_t ks_cooccur_nonempty(const int64_t *offsets, int64_t n_baskets);

/* Sorted union without duplicates of `nlists` ascending key lists (key =
 * basket * P + item); `out` holds at least the sum of the lengths.  Returns
 * the number of keys written.  Used to pool the baskets of a window of years. */
int64_t ks_cooccur_union(const uint64_t *const *lists, const int64_t *lens, int nlists,
                         uint64_t *out);

/* CSR of ascending unique keys (basket * P + item, basket < n_baskets):
 * offsets[n_baskets + 1], items[n].  Returns 0, or -1 when the keys are not
 * strictly ascending or out of range. */
int ks_cooccur_csr(const uint64_t *keys, int64_t n, int64_t n_baskets, int32_t P,
                   int64_t *offsets, int32_t *items);

/* Hidalgo et al.'s membership: region c "exports" i when its revealed
 * comparative advantage is at least 1,
 *     (X[c,i] / X[c,.]) / (X[.,i] / X[.,.]) >= 1,
 * decided exactly on the integers as X[c,i] * X[.,.] >= X[c,.] * X[.,i] with
 * X[c,i] > 0 (128-bit products, so no rounding decides membership).  X is
 * [n_regions][P] non-negative integers (micro-dollars).  Writes the product
 * totals X[.,i] to col_total[P] and the members as CSR baskets:
 * offsets[n_regions + 1], items (capacity n_regions * P).  Returns 0, or -1
 * when a value is negative or the total exceeds INT64_MAX. */
int ks_rca_members(const int64_t *X, int64_t n_regions, int32_t P, int64_t *col_total,
                   int64_t *offsets, int32_t *items);

#endif
