/* ks_cooccur.c - co-occurrence counts and the proximity phi. */
#include "ks_cooccur.h"

#include <omp.h>
#include <string.h>

/* The row partition is computed once for at most this many threads; further
 * threads of a larger team stay idle (counting is memory-bound long before). */
#define KS_COOCCUR_MAX_PARTS 256
/* ks_cooccur_union keeps one cursor per list on the stack. */
#define KS_COOCCUR_MAX_LISTS 64

/* Check every basket and put into work[i] the number of pairs (i, j >= i)
 * that row i of C receives: the cost of that row. */
static int check_and_weigh(const int64_t *offsets, const int32_t *items, int64_t n_baskets,
                           int32_t P, int64_t *work)
{
    memset(work, 0, (size_t)P * sizeof *work);
    for (int64_t b = 0; b < n_baskets; b++) {
        int64_t a = offsets[b], e = offsets[b + 1];
        if (e < a)
            return -1;
        for (int64_t p = a; p < e; p++) {
            int32_t it = items[p];
            if (it < 0 || it >= P || (p > a && it <= items[p - 1]))
                return -1;
            work[it] += e - p;
        }
    }
    return 0;
}

/* Cut rows 0..P into `parts` contiguous ranges of about equal work:
 * rows [bounds[t], bounds[t+1]) go to thread t. */
static void row_bounds(const int64_t *work, int32_t P, int parts, int32_t *bounds)
{
    __int128 total = 0, acc = 0;
    int t = 1;
    for (int32_t i = 0; i < P; i++)
        total += work[i];
    bounds[0] = 0;
    for (int32_t i = 0; i < P && t < parts; i++) {
        acc += work[i];
        while (t < parts && acc * parts >= total * t)
            bounds[t++] = i + 1;
    }
    while (t <= parts)
        bounds[t++] = P;
}

/* Upper triangle (j >= i) of the rows [r0, r1): every basket is walked, and
 * only the pairs whose smaller item falls in the range are added. */
static void count_rows(const int64_t *offsets, const int32_t *items, int64_t n_baskets,
                       int32_t P, int32_t r0, int32_t r1, int64_t *C)
{
    if (r0 >= r1)
        return;
    memset(C + (int64_t)r0 * P, 0, (size_t)(r1 - r0) * (size_t)P * sizeof *C);
    for (int64_t b = 0; b < n_baskets; b++) {
        int64_t p = offsets[b], e = offsets[b + 1];
        while (p < e && items[p] < r0)
            p++;
        for (; p < e && items[p] < r1; p++) {
            int64_t *row = C + (int64_t)items[p] * P;
            for (int64_t q = p; q < e; q++)
                row[items[q]]++;
        }
    }
}

int ks_cooccur_count(const int64_t *offsets, const int32_t *items, int64_t n_baskets, int32_t P,
                     int64_t *C, int64_t *k)
{
    int32_t bounds[KS_COOCCUR_MAX_PARTS + 1];
    if (P <= 0)
        return P == 0 ? 0 : -1;
    /* k is the scratch for the row weights until the end */
    if (check_and_weigh(offsets, items, n_baskets, P, k) != 0)
        return -1;
#pragma omp parallel
    {
        int team = omp_get_num_threads(), t = omp_get_thread_num();
        int parts = team < KS_COOCCUR_MAX_PARTS ? team : KS_COOCCUR_MAX_PARTS;
#pragma omp single
        row_bounds(k, P, parts, bounds);
        /* implicit barrier: bounds are known to all */
        if (t < parts)
            count_rows(offsets, items, n_baskets, P, bounds[t], bounds[t + 1], C);
#pragma omp barrier
        /* mirror the upper triangle: C is symmetric */
#pragma omp for schedule(dynamic, 16)
        for (int32_t i = 0; i < P; i++)
            for (int32_t j = i + 1; j < P; j++)
                C[(int64_t)j * P + i] = C[(int64_t)i * P + j];
    }
    for (int32_t i = 0; i < P; i++)
        k[i] = C[(int64_t)i * P + i];
    return 0;
}

void ks_cooccur_phi(const int64_t *C, const int64_t *k, int32_t P, int diagonal_one, double *phi)
{
#pragma omp parallel for schedule(static)
    for (int32_t i = 0; i < P; i++) {
        const int64_t *c = C + (int64_t)i * P;
        double *out = phi + (int64_t)i * P;
        for (int32_t j = 0; j < P; j++) {
            int64_t m = k[i] > k[j] ? k[i] : k[j];
            out[j] = k[i] == 0 || k[j] == 0 ? 0.0 : (double)c[j] / (double)m;
        }
        if (!diagonal_one)
            out[i] = 0.0;
    }
}

int64_t ks_cooccur_nonempty(const int64_t *offsets, int64_t n_baskets)
{
    int64_t n = 0;
    for (int64_t b = 0; b < n_baskets; b++)
        n += offsets[b + 1] > offsets[b];
    return n;
}

int64_t ks_cooccur_union(const uint64_t *const *lists, const int64_t *lens, int nlists,
                         uint64_t *out)
{
    int64_t pos[KS_COOCCUR_MAX_LISTS] = {0}, n = 0;
    if (nlists > KS_COOCCUR_MAX_LISTS)
        return -1;
    if (nlists == 1) {
        memcpy(out, lists[0], (size_t)lens[0] * sizeof *out);
        return lens[0];
    }
    for (;;) {
        uint64_t least = UINT64_MAX;
        int any = 0;
        for (int l = 0; l < nlists; l++)
            if (pos[l] < lens[l] && (!any || lists[l][pos[l]] < least)) {
                least = lists[l][pos[l]];
                any = 1;
            }
        if (!any)
            return n;
        out[n++] = least;
        for (int l = 0; l < nlists; l++)
            while (pos[l] < lens[l] && lists[l][pos[l]] == least)
                pos[l]++;
    }
}

int ks_cooccur_csr(const uint64_t *keys, int64_t n, int64_t n_baskets, int32_t P,
                   int64_t *offsets, int32_t *items)
{
    int64_t b = 0;
    offsets[0] = 0;
    for (int64_t r = 0; r < n; r++) {
        uint64_t basket = keys[r] / (uint64_t)P;
        if ((r > 0 && keys[r] <= keys[r - 1]) || basket >= (uint64_t)n_baskets)
            return -1;
        while (b < (int64_t)basket)
            offsets[++b] = r;
        items[r] = (int32_t)(keys[r] % (uint64_t)P);
    }
    while (b < n_baskets)
        offsets[++b] = n;
    return 0;
}

int ks_rca_members(const int64_t *X, int64_t n_regions, int32_t P, int64_t *col_total,
                   int64_t *offsets, int32_t *items)
{
    __int128 total = 0;
    int64_t n = 0;
    for (int64_t c = 0; c < n_regions * (int64_t)P; c++) {
        if (X[c] < 0)
            return -1;
        total += X[c];
    }
    /* every partial sum below is at most the total, so int64 holds them */
    if (total > INT64_MAX)
        return -1;
    memset(col_total, 0, (size_t)P * sizeof *col_total);
    for (int64_t c = 0; c < n_regions; c++)
        for (int32_t i = 0; i < P; i++)
            col_total[i] += X[c * P + i];
    offsets[0] = 0;
    for (int64_t c = 0; c < n_regions; c++) {
        const int64_t *row = X + c * P;
        int64_t row_total = 0;
        for (int32_t i = 0; i < P; i++)
            row_total += row[i];
        for (int32_t i = 0; i < P; i++)
            /* X[c,i] = 0 is never an advantage; the products are below 2^126 */
            if (row[i] > 0 && (__int128)row[i] * total >= (__int128)row_total * col_total[i])
                items[n++] = i;
        offsets[c + 1] = n;
    }
    return 0;
}
