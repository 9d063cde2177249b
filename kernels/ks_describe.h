/* ks_describe.h - descriptive statistics of columns by cell (stage report).
 *
 * Pure compute: arrays in, arrays out; no MPI, HDF5 or logging.  Every row
 * belongs to at most one cell of a call (cell[r] in [0, ncells), or -1 for
 * none); results are per cell.  Everything a stage combines across ranks
 * and threads is order-independent, so results are bit-identical for any
 * number of ranks and threads:
 *   - counts are integers;
 *   - sums are exact fixed-point integers (ks_fix: value * 2^64 truncated
 *     to a 128-bit integer; |x| <= KS_DESCRIBE_MAX_ABS), so their addition
 *     is associative and a sum is the same in any order; the truncation
 *     error is below 2^-64 per value, far below a double's rounding;
 *   - minima and maxima do not depend on order. */
#ifndef KS_DESCRIBE_H
#define KS_DESCRIBE_H

#include <math.h>
#include <stdint.h>

typedef __int128 ks_fix;

#define KS_DESCRIBE_FIX_BITS 64
/* Densities lie in [0, 1]; 256 leaves room and keeps sums of squares of
 * 2^46 rows inside 127 bits. */
#define KS_DESCRIBE_MAX_ABS 256.0

/* x as a fixed-point integer (x * 2^64, truncated toward zero); inline:
 * the report adds two per row. */
static inline ks_fix ks_fix_of(double x)
{
    /* trunc(x 2^64) without the slow double -> __int128 conversion: for
     * |x| < 2^63 the integer part and the fraction (exact: x - trunc(x))
     * scaled by 2^64 (exact) each convert to 64 bits, truncating as the
     * direct conversion does.  Larger |x| (never in the report, which
     * stops at KS_DESCRIBE_MAX_ABS^2) takes the direct way. */
    double a = fabs(x);
    if (!(a < 0x1p63))
        return (ks_fix)ldexp(x, KS_DESCRIBE_FIX_BITS);
    /* signed conversions only (one instruction each; an unsigned one is a
     * branch on x86-64): the fraction's 64 bits as two halves, each exact */
    int64_t whole = (int64_t)a;
    double f = (a - (double)whole) * 0x1p32; /* [0, 2^32), exact */
    int64_t hi = (int64_t)f;
    int64_t lo = (int64_t)((f - (double)hi) * 0x1p32);
    uint64_t frac = ((uint64_t)hi << 32) | (uint64_t)lo;
    ks_fix v = (ks_fix)(((unsigned __int128)(uint64_t)whole << 64) | frac);
    return x < 0 ? -v : v;
}

/* The double nearest to f / 2^64 / n (n > 0). */
double ks_fix_mean(ks_fix f, int64_t n);

typedef struct ks_moments {
    int64_t n;
    ks_fix sum, sumsq;
    double min, max;   /* +inf / -inf when n = 0 */
} ks_moments;

void ks_moments_clear(ks_moments *m, int ncells);
/* a[c] += b[c] (order-independent). */
void ks_moments_merge(ks_moments *a, const ks_moments *b, int ncells);
/* Add rows [0, n) to m[ncells] (which accumulates).  Rows with a
 * non-finite x or |x| > KS_DESCRIBE_MAX_ABS are not added; the return value
 * is their number among rows with a cell (the caller reports them). */
int64_t ks_describe_moments(const double *x, const int32_t *cell, int64_t n, int ncells,
                            ks_moments *m);

/* The count and the sum only (a mean's parts; sumsq, min and max are left
 * as they are) of nvars variables at once, by cell: m[v * ncells + c]
 * accumulates.  Rows whose x[v] is not finite are not in variable v's
 * sums; bad[v] receives the number with |x[v]| > KS_DESCRIBE_MAX_ABS
 * (not added either).  Returns -1 when a thread had no memory (nothing
 * of its rows added), else 0. */
#define KS_DESCRIBE_MAX_VARS 8
int64_t ks_describe_sums(const double *const *x, int nvars, const int32_t *cell, int64_t n,
                         int ncells, ks_moments *m, int64_t *bad);

/* The bin of x among nbins equal bins over [lo, hi] (hi in the last bin;
 * everything in bin 0 when hi <= lo).  Deterministic: the same x, lo, hi
 * give the same bin in every pass and on every rank. */
int32_t ks_describe_bin(double x, double lo, double hi, int32_t nbins);

/* count[c * nbins + b] += rows of cell c in bin b over [lo[c], hi[c]]
 * (rows with a cell and finite x only). */
void ks_describe_histogram(const double *x, const int32_t *cell, int64_t n, int ncells,
                           const double *lo, const double *hi, int32_t nbins, int64_t *count);

/* The type-7 quantile (numpy's default, linear interpolation) of a sorted
 * sample of n values at probability p lies between the order statistics
 * k and k+1 (0-based) with weight frac: q = x[k] + frac * (x[k+1] - x[k]).
 * k+1 is clamped to n-1. */
void ks_describe_q7_index(int64_t n, double p, int64_t *k, double *frac);

/* For targets t = 0..nt-1 (cell tcell[t], bin tbin[t] of the histogram
 * above): lo_t/hi_t accumulate the min and max of the target bin's values
 * (order-independent). */
void ks_describe_bin_range(const double *x, const int32_t *cell, int64_t n, const double *lo,
                           const double *hi, int32_t nbins, const uint64_t *tbits, int nt,
                           const int32_t *tcell, const int32_t *tbin, double *tmin, double *tmax);

/* The values of rows in the target bins: rows of target t (those with
 * want[t] set) go to out[off[t] ..], where off has nt+1 entries and
 * off[t+1] - off[t] is target t's local count (from the histogram).
 * Serial: it writes positions in row order; at (nt entries) is scratch,
 * the caller's, so that an allocation failure is reported where it can be.
 * For both: bit c * nbins + b of tbits is set for every target (c, b), so
 * that rows outside every target bin cost one test. */
void ks_describe_collect(const double *x, const int32_t *cell, int64_t n, const double *lo,
                         const double *hi, int32_t nbins, const uint64_t *tbits, int nt,
                         const int32_t *tcell, const int32_t *tbin, const uint8_t *want,
                         const int64_t *off, int64_t *at, double *out);

/* wlo[c] = min of the values of cell c >= fence_lo[c]; whi[c] = max of those
 * <= fence_hi[c] (accumulating: start them at +inf / -inf). */
void ks_describe_whiskers(const double *x, const int32_t *cell, int64_t n, int ncells,
                          const double *fence_lo, const double *fence_hi, double *wlo, double *whi);

/* Kernel density estimate from simple binning: bin b of nbins equal bins
 * over [lo, hi] holds count[b] points, taken at the bin's centre; the
 * estimate at grid[j] is sum_b count[b] phi((grid[j] - centre_b) / h) /
 * (total h), phi the standard normal density.  Each grid point is one
 * sum in bin order, so the result does not depend on the threads. */
void ks_describe_kde_binned(const int64_t *count, int32_t nbins, double lo, double hi, double h,
                            const double *grid, int ngrid, double *out);

#endif
