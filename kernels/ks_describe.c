/* ks_describe.c - see ks_describe.h. */
#include "ks_describe.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

/* Row loops compiled for AVX-512, AVX2 and baseline x86-64, the widest the
 * CPU has chosen at load time; integer results, the same on each. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KS_DESCRIBE_ROW_LOOP __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define KS_DESCRIBE_ROW_LOOP
#endif

double ks_fix_mean(ks_fix f, int64_t n)
{
    /* the conversion of a 128-bit integer rounds to nearest; scaling by a
     * power of two is exact; one division rounds again */
    return ldexp((double)f, -KS_DESCRIBE_FIX_BITS) / (double)n;
}

void ks_moments_clear(ks_moments *m, int ncells)
{
    for (int c = 0; c < ncells; c++) {
        memset(&m[c], 0, sizeof m[c]);
        m[c].min = INFINITY;
        m[c].max = -INFINITY;
    }
}

void ks_moments_merge(ks_moments *a, const ks_moments *b, int ncells)
{
    for (int c = 0; c < ncells; c++) {
        a[c].n += b[c].n;
        a[c].sum += b[c].sum;
        a[c].sumsq += b[c].sumsq;
        a[c].min = b[c].min < a[c].min ? b[c].min : a[c].min;
        a[c].max = b[c].max > a[c].max ? b[c].max : a[c].max;
    }
}

int64_t ks_describe_moments(const double *x, const int32_t *cell, int64_t n, int ncells,
                            ks_moments *m)
{
    int64_t bad = 0;
#pragma omp parallel reduction(+ : bad)
    {
        ks_moments *mine = malloc(sizeof *mine * (size_t)(ncells > 0 ? ncells : 1));
        if (mine)
            ks_moments_clear(mine, ncells);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; r++) {
            int32_t c = cell[r];
            double v = x[r];
            if (c < 0 || !mine)
                continue;
            if (!isfinite(v) || fabs(v) > KS_DESCRIBE_MAX_ABS) {
                bad++;
                continue;
            }
            mine[c].n++;
            mine[c].sum += ks_fix_of(v);
            mine[c].sumsq += ks_fix_of(v * v);
            if (v < mine[c].min)
                mine[c].min = v;
            if (v > mine[c].max)
                mine[c].max = v;
        }
        if (!mine)
            bad = INT64_MAX / 1024; /* no memory: reported as bad values, never silently */
#pragma omp critical(ks_describe_moments)
        if (mine)
            ks_moments_merge(m, mine, ncells);
        free(mine);
    }
    return bad;
}

int32_t ks_describe_bin(double x, double lo, double hi, int32_t nbins)
{
    double t;
    int32_t b;
    if (!(hi > lo))
        return 0;
    t = (x - lo) / (hi - lo) * (double)nbins;
    b = t <= 0 ? 0 : t >= (double)nbins ? nbins - 1 : (int32_t)t;
    return b;
}

void ks_describe_histogram(const double *x, const int32_t *cell, int64_t n, int ncells,
                           const double *lo, const double *hi, int32_t nbins, int64_t *count)
{
    (void)ncells;
    /* integer counts: atomic increments give the same totals in any order */
#pragma omp parallel
    {
        /* one thread (one per rank, the common case): no lock prefix */
        int shared = omp_get_num_threads() > 1;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; r++) {
            int32_t c = cell[r];
            if (c < 0 || !isfinite(x[r]))
                continue;
            int64_t at = (int64_t)c * nbins + ks_describe_bin(x[r], lo[c], hi[c], nbins);
            if (shared) {
#pragma omp atomic
                count[at]++;
            } else {
                count[at]++;
            }
        }
    }
}

/* A cell's count and sum of one variable in exact 64-bit parts, per sign
 * of x: |x| 2^64 truncated (ks_fix_of) is hi 2^32 + lo, with hi = |x| 2^32
 * truncated (below 2^40: |x| <= KS_DESCRIBE_MAX_ABS) and lo the rest's
 * 32 bits (below 2^32), and KS_SUMS_FOLD rows cannot overflow them.  The
 * parts of a chunk's rows are computed first in a loop the compiler
 * vectorises, then added to their cells: 64-bit adds instead of a 128-bit
 * sum, over KS_SUMS_COPIES copies that rows take turns at (consecutive
 * rows often share a cell, and one copy would make every row wait for the
 * row before's store). */
typedef struct sum_parts {
    int64_t n, hi, lo;
} sum_parts;

enum { KS_SUMS_COPIES = 4, KS_SUMS_CHUNK = 2048, KS_SUMS_FOLD = 1 << 22 };

/* The parts into the cells' moments (exact; positive less negative). */
static void fold_parts(sum_parts *parts, int nvars, int ncells, ks_moments *m)
{
    for (int k = 0; k < KS_SUMS_COPIES; k++)
        for (int v = 0; v < nvars; v++)
            for (int c = 0; c < ncells; c++)
                for (int neg = 0; neg < 2; neg++) {
                    sum_parts *q = &parts[(((size_t)k * nvars + v) * ncells + c) * 2 + neg];
                    ks_fix t = ((ks_fix)q->hi << 32) + (ks_fix)q->lo;
                    m[(size_t)v * ncells + c].n += q->n;
                    m[(size_t)v * ncells + c].sum += neg ? -t : t;
                    memset(q, 0, sizeof *q);
                }
}

/* Each row's parts (0 for a row left out: not finite, or too large). */
KS_DESCRIBE_ROW_LOOP static void row_parts(const double *restrict x, int n, int64_t *restrict hi,
                                           int64_t *restrict lo)
{
    for (int i = 0; i < n; i++) {
        const double ay = fabs(x[i]);
        const double t = (ay <= KS_DESCRIBE_MAX_ABS ? ay : 0.0) * 0x1p32, th = trunc(t);
        hi[i] = (int64_t)th;
        lo[i] = (int64_t)((t - th) * 0x1p32); /* t - th: exact */
    }
}

/* Rows [a, b) into the parts, and the rows too large per variable into bad. */
static void add_parts(const double *const *x, int nvars, const int32_t *cell, int64_t a, int64_t b,
                      int ncells, sum_parts *restrict parts, int64_t *bad)
{
    int64_t hi[KS_SUMS_CHUNK], lo[KS_SUMS_CHUNK];
    for (int64_t r0 = a; r0 < b; r0 += KS_SUMS_CHUNK) {
        const int n = b - r0 < KS_SUMS_CHUNK ? (int)(b - r0) : KS_SUMS_CHUNK;
        for (int v = 0; v < nvars; v++) {
            const double *xv = x[v] + r0;
            row_parts(xv, n, hi, lo);
            for (int i = 0; i < n; i++) {
                const int32_t c = cell[r0 + i];
                const double ay = fabs(xv[i]);
                if (c < 0)
                    continue;
                sum_parts *q = &parts[((((size_t)((r0 + i) % KS_SUMS_COPIES)) * nvars + v) * ncells + c) * 2 +
                                      (xv[i] < 0)];
                q->n += ay <= KS_DESCRIBE_MAX_ABS;
                q->hi += hi[i];
                q->lo += lo[i];
                bad[v] += ay > KS_DESCRIBE_MAX_ABS && ay <= DBL_MAX;
            }
        }
    }
}

int64_t ks_describe_sums(const double *const *x, int nvars, const int32_t *cell, int64_t n,
                         int ncells, ks_moments *m, int64_t *bad)
{
    int no_memory = 0;
    const int nc = ncells > 0 ? ncells : 1;
    size_t cells = (size_t)nvars * (size_t)nc;
    for (int v = 0; v < nvars; v++)
        bad[v] = 0;
#pragma omp parallel
    {
        ks_moments *mine = malloc(sizeof *mine * cells);
        sum_parts *parts = calloc((size_t)KS_SUMS_COPIES * cells * 2, sizeof *parts);
        int64_t mybad[KS_DESCRIBE_MAX_VARS] = {0};
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        const int64_t r0 = n * me / nt, r1 = n * (me + 1) / nt;
        if (mine && parts) {
            ks_moments_clear(mine, (int)cells);
            for (int64_t a = r0; a < r1; a += KS_SUMS_FOLD) {
                add_parts(x, nvars, cell, a, r1 - a < KS_SUMS_FOLD ? r1 : a + KS_SUMS_FOLD, nc, parts, mybad);
                fold_parts(parts, nvars, nc, mine);
            }
        } else {
#pragma omp atomic write
            no_memory = 1;
        }
#pragma omp critical(ks_describe_sums)
        {
            if (mine && parts)
                ks_moments_merge(m, mine, (int)cells);
            for (int v = 0; v < nvars; v++)
                bad[v] += mybad[v];
        }
        free(parts);
        free(mine);
    }
    return no_memory ? -1 : 0;
}

void ks_describe_q7_index(int64_t n, double p, int64_t *k, double *frac)
{
    double h = (double)(n - 1) * p;
    double f = floor(h);
    *k = (int64_t)f;
    *frac = h - f;
    if (*k >= n - 1) {
        *k = n - 1;
        *frac = 0;
    }
}

/* Whether (c, b) may be a target: its bit in tbits (bins of cell c at
 * c * nbins); most rows are in no target bin, and this test is one load. */
static inline int maybe_target(const uint64_t *tbits, int32_t c, int32_t b, int32_t nbins)
{
    int64_t at = (int64_t)c * nbins + b;
    return (int)((tbits[at >> 6] >> (at & 63)) & 1);
}

void ks_describe_bin_range(const double *x, const int32_t *cell, int64_t n, const double *lo,
                           const double *hi, int32_t nbins, const uint64_t *tbits, int nt,
                           const int32_t *tcell, const int32_t *tbin, double *tmin, double *tmax)
{
    for (int64_t r = 0; r < n; r++) {
        int32_t c = cell[r], b;
        if (c < 0 || !isfinite(x[r]))
            continue;
        b = ks_describe_bin(x[r], lo[c], hi[c], nbins);
        if (!maybe_target(tbits, c, b, nbins))
            continue;
        for (int t = 0; t < nt; t++)
            if (tcell[t] == c && tbin[t] == b) {
                if (x[r] < tmin[t])
                    tmin[t] = x[r];
                if (x[r] > tmax[t])
                    tmax[t] = x[r];
            }
    }
}

void ks_describe_collect(const double *x, const int32_t *cell, int64_t n, const double *lo,
                         const double *hi, int32_t nbins, const uint64_t *tbits, int nt,
                         const int32_t *tcell, const int32_t *tbin, const uint8_t *want,
                         const int64_t *off, int64_t *at, double *out)
{
    memset(at, 0, sizeof *at * (size_t)(nt > 0 ? nt : 0));
    for (int64_t r = 0; r < n; r++) {
        int32_t c = cell[r], b;
        if (c < 0 || !isfinite(x[r]))
            continue;
        b = ks_describe_bin(x[r], lo[c], hi[c], nbins);
        if (!maybe_target(tbits, c, b, nbins))
            continue;
        for (int t = 0; t < nt; t++)
            if (want[t] && tcell[t] == c && tbin[t] == b && off[t] + at[t] < off[t + 1])
                out[off[t] + at[t]++] = x[r];
    }
}

void ks_describe_whiskers(const double *x, const int32_t *cell, int64_t n, int ncells,
                          const double *fence_lo, const double *fence_hi, double *wlo, double *whi)
{
#pragma omp parallel
    {
        double *mlo = malloc(sizeof(double) * 2 * (size_t)(ncells > 0 ? ncells : 1));
        double *mhi = mlo ? mlo + ncells : NULL;
        for (int c = 0; mlo && c < ncells; c++) {
            mlo[c] = INFINITY;
            mhi[c] = -INFINITY;
        }
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; r++) {
            int32_t c = cell[r];
            double v = x[r];
            if (c < 0 || !mlo || !isfinite(v))
                continue;
            if (v >= fence_lo[c] && v < mlo[c])
                mlo[c] = v;
            if (v <= fence_hi[c] && v > mhi[c])
                mhi[c] = v;
        }
#pragma omp critical(ks_describe_whiskers)
        for (int c = 0; mlo && c < ncells; c++) {
            if (mlo[c] < wlo[c])
                wlo[c] = mlo[c];
            if (mhi[c] > whi[c])
                whi[c] = mhi[c];
        }
        free(mlo);
    }
}

#define KS_KDE_CUTOFF 40.0

void ks_describe_kde_binned(const int64_t *count, int32_t nbins, double lo, double hi, double h,
                            const double *grid, int ngrid, double *out)
{
    int64_t total = 0;
    double w = (hi - lo) / (double)nbins;
    const double norm = 0.3989422804014327; /* 1 / sqrt(2 pi) */
    for (int32_t b = 0; b < nbins; b++)
        total += count[b];
#pragma omp parallel for schedule(static)
    for (int j = 0; j < ngrid; j++) {
        double s = 0;
        int32_t b0 = 0, b1 = nbins - 1;
        if (total > 0 && h > 0 && w > 0) {
            /* bins with |u| > 40 add count * exp(-800), which is exactly 0
             * in double (exp underflows below u = 38.6): leaving them out
             * changes no bit.  One bin of margin either side for rounding. */
            double first = floor((grid[j] - KS_KDE_CUTOFF * h - lo) / w - 0.5) - 1;
            double last = ceil((grid[j] + KS_KDE_CUTOFF * h - lo) / w - 0.5) + 1;
            b0 = first > 0 ? (first < nbins ? (int32_t)first : nbins) : 0;
            b1 = last < nbins - 1 ? (last >= 0 ? (int32_t)last : -1) : nbins - 1;
        }
        if (total > 0 && h > 0)
            for (int32_t b = b0; b <= b1; b++)
                if (count[b]) {
                    double u = (grid[j] - (lo + ((double)b + 0.5) * w)) / h;
                    s += (double)count[b] * exp(-0.5 * u * u);
                }
        out[j] = total > 0 && h > 0 ? s * norm / ((double)total * h) : 0.0;
    }
}
