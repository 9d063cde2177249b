/* ks_report_stats.c - statistics of cells over the whole panel, spread
 * over ranks, with results that do not depend on the number of ranks or
 * threads.
 *
 * Exact quantiles without gathering the data: a histogram of
 * KS_REPORT_QBINS equal bins over [min, max] of each cell (integer counts,
 * summed over ranks) tells which bin holds each order statistic a type-7
 * quantile needs and its rank inside the bin.  A second pass finds the
 * smallest and largest value of each such bin: when they are equal (ties,
 * common with densities that are ratios of small integers) that is the
 * order statistic; otherwise the values of the bin alone are gathered to
 * rank 0 and sorted.  Rank 0 so holds at most the values of 6 bins per
 * cell, a 1/65536 share of the cell for smooth data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_report_internal.h"

const char *const ks_report_var_names[KS_REPORT_NVARS] = {"density_firm", "density_city"};
const char *const ks_report_group_names[2] = {"exported", "not_exported"};

double ks_report_lerp(double a, double b, double t)
{
    /* numpy's _lerp: from the nearer end, so that t = 1 gives b exactly */
    double d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

int ks_report_moments(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                      const char *what, ks_moments *out)
{
    int64_t bad;
    ks_moments_clear(out, ncells);
    bad = ks_describe_moments(x, cell, n, ncells, out);
    return ks_report_moments_combine(ctx, KS_OK, 1, ncells, &what, &bad, out);
}

int ks_report_moments_combine(ks_ctx *ctx, int rc, int nvars, int ncells, const char *const *what,
                              int64_t *bad, ks_moments *out)
{
    ks_moments *all = NULL;
    int nr = ctx->comm == MPI_COMM_NULL ? 1 : ctx->nranks, cells = nvars * ncells;
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_mpi_sum_i64(ctx, bad, nvars));
    for (int v = 0; v < nvars; v++)
        if (bad[v] > 0)
            return ks_fail(ctx, KS_EINPUT, "%s: %lld values outside [-%g, %g] (densities lie in [0, 1])",
                           what[v], (long long)bad[v], KS_DESCRIBE_MAX_ABS, KS_DESCRIBE_MAX_ABS);
    if (nr == 1)
        return KS_OK;
    rc = ks_calloc(ctx, &all, (size_t)nr * (size_t)cells, sizeof *all, "moments of every rank");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (MPI_Allgather(out, (int)(sizeof *out * (size_t)cells), MPI_BYTE, all,
                      (int)(sizeof *out * (size_t)cells), MPI_BYTE, ctx->comm) != MPI_SUCCESS)
        rc = ks_fail(ctx, KS_EMPI, "%s: MPI_Allgather of the moments failed", what[0]);
    if (rc == KS_OK) {
        /* every rank adds the same parts in rank order; integer sums and
         * min/max make the order irrelevant anyway */
        ks_moments_clear(out, cells);
        for (int r = 0; r < nr; r++)
            ks_moments_merge(out, all + (size_t)r * (size_t)cells, cells);
    }
    free(all);
    return rc;
}

int ks_report_histogram(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                        const double *lo, const double *hi, int32_t nbins, int64_t *count)
{
    memset(count, 0, sizeof *count * (size_t)ncells * (size_t)nbins);
    ks_describe_histogram(x, cell, n, ncells, lo, hi, nbins, count);
    return ks_mpi_sum_i64(ctx, count, ncells * nbins);
}

static int allreduce_f64(ks_ctx *ctx, double *v, int n, MPI_Op op)
{
    if (ctx->comm == MPI_COMM_NULL || n == 0)
        return KS_OK;
    if (MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, op, ctx->comm) != MPI_SUCCESS)
        return ks_fail(ctx, KS_EMPI, "report: MPI_Allreduce of minima or maxima failed");
    return KS_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One order statistic to find: of cell `cell`, 0-based rank k overall; in
 * histogram bin `bin` at rank `within` there. */
typedef struct order_stat {
    int32_t cell, bin;
    int64_t within;
    int target;  /* index into the distinct (cell, bin) targets */
    double value;
} order_stat;

/* The bin of order statistic k of cell c, from the summed histogram. */
static void locate(const int64_t *count, int32_t nbins, int64_t k, int32_t *bin, int64_t *within)
{
    int64_t before = 0;
    for (int32_t b = 0; b < nbins; b++) {
        if (k < before + count[b]) {
            *bin = b;
            *within = k - before;
            return;
        }
        before += count[b];
    }
    *bin = nbins - 1;
    *within = 0;
}

/* Rank 0 gathers the values of target t from every rank and sorts them
 * (collective); *sorted is set on rank 0 only. */
static int gather_target(ks_ctx *ctx, const double *mine, int64_t nmine, double **sorted,
                         int64_t *ntotal)
{
    int nr = ctx->comm == MPI_COMM_NULL ? 1 : ctx->nranks, rc = KS_OK;
    int *counts = NULL, *displs = NULL, cnt = (int)nmine;
    int64_t total = nmine;
    *sorted = NULL;
    if (nmine > INT32_MAX / 2)
        rc = ks_fail(ctx, KS_ENOMEM, "report: %lld values in one quantile bin on a rank (heavy "
                     "near-ties); too many to gather", (long long)nmine);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_mpi_sum_i64(ctx, &total, 1));
    if (ctx->rank == 0) {
        rc = ks_calloc(ctx, sorted, (size_t)(total > 0 ? total : 1), sizeof(double), "quantile bin");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &counts, (size_t)nr * 2, sizeof(int), "gather counts");
        if (rc == KS_OK)
            displs = counts + nr;
    }
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (ctx->comm == MPI_COMM_NULL) {
        memcpy(*sorted, mine, sizeof(double) * (size_t)nmine);
    } else {
        if (MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, ctx->comm) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EMPI, "report: MPI_Gather of quantile bin sizes failed");
        for (int r = 1; rc == KS_OK && ctx->rank == 0 && r < nr; r++)
            displs[r] = displs[r - 1] + counts[r - 1];
        if (rc == KS_OK && MPI_Gatherv(mine, cnt, MPI_DOUBLE, ctx->rank == 0 ? *sorted : NULL,
                                       counts, displs, MPI_DOUBLE, 0, ctx->comm) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EMPI, "report: MPI_Gatherv of a quantile bin failed");
    }
    free(counts);
    if (rc == KS_OK && ctx->rank == 0)
        qsort(*sorted, (size_t)total, sizeof(double), cmp_double);
    *ntotal = total;
    return ks_mpi_agree(ctx, rc);
}

/* Find every order statistic of os[0..nos) (collective). */
static int order_stats(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                       const double *lo, const double *hi, const int64_t *local_count,
                       order_stat *os, int nos)
{
    int32_t *tcell = NULL, *tbin = NULL;
    uint64_t *tbits = NULL;
    double *tmin = NULL, *tmax = NULL, *vals = NULL;
    int64_t *off = NULL, *at = NULL;
    uint8_t *want = NULL;
    int nt = 0, rc;
    rc = ks_calloc(ctx, &tcell, (size_t)nos + 1, sizeof *tcell, "targets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tbin, (size_t)nos + 1, sizeof *tbin, "targets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tmin, (size_t)nos * 2 + 2, sizeof *tmin, "targets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &off, (size_t)nos + 2, sizeof *off, "targets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &want, (size_t)nos + 1, 1, "targets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tbits, ((size_t)ncells * KS_REPORT_QBINS + 63) / 64, sizeof *tbits,
                       "target bins");
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    tmax = tmin + nos + 1;
    for (int i = 0; i < nos; i++) { /* distinct (cell, bin) pairs */
        int t;
        for (t = 0; t < nt; t++)
            if (tcell[t] == os[i].cell && tbin[t] == os[i].bin)
                break;
        if (t == nt) {
            tcell[nt] = os[i].cell;
            tbin[nt] = os[i].bin;
            tmin[nt] = INFINITY;
            tmax[nt] = -INFINITY;
            nt++;
        }
        os[i].target = t;
    }
    for (int t = 0; t < nt; t++) {
        int64_t bit = (int64_t)tcell[t] * KS_REPORT_QBINS + tbin[t];
        tbits[bit >> 6] |= 1ULL << (bit & 63);
    }
    ks_describe_bin_range(x, cell, n, lo, hi, KS_REPORT_QBINS, tbits, nt, tcell, tbin, tmin, tmax);
    KS_TRY(rc, allreduce_f64(ctx, tmin, nt, MPI_MIN), done);
    KS_TRY(rc, allreduce_f64(ctx, tmax, nt, MPI_MAX), done);
    for (int t = 0; t < nt; t++) {
        want[t] = tmin[t] != tmax[t];
        off[t + 1] = off[t] + (want[t] ? local_count[(int64_t)tcell[t] * KS_REPORT_QBINS + tbin[t]] : 0);
    }
    /* agreed: the gathers below are collective */
    rc = ks_calloc(ctx, &vals, (size_t)(off[nt] > 0 ? off[nt] : 1), sizeof *vals, "quantile bins");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &at, (size_t)(nt > 0 ? nt : 1), sizeof *at, "quantile bins");
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    ks_describe_collect(x, cell, n, lo, hi, KS_REPORT_QBINS, tbits, nt, tcell, tbin, want, off, at, vals);
    for (int t = 0; t < nt; t++) {
        double *sorted = NULL;
        int64_t total = 0;
        if (!want[t]) {
            for (int i = 0; i < nos; i++)
                if (os[i].target == t)
                    os[i].value = tmin[t];
            continue;
        }
        KS_TRY(rc, gather_target(ctx, vals + off[t], off[t + 1] - off[t], &sorted, &total), done);
        for (int i = 0; ctx->rank == 0 && i < nos; i++)
            if (os[i].target == t)
                os[i].value = os[i].within < total ? sorted[os[i].within] : NAN;
        free(sorted);
    }
    for (int i = 0; rc == KS_OK && i < nos; i++)
        rc = ks_mpi_bcast(ctx, &os[i].value, sizeof os[i].value);
done:
    free(tcell);
    free(tbits);
    free(tbin);
    free(tmin);
    free(off);
    free(at);
    free(want);
    free(vals);
    return rc;
}

int ks_report_box(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                  const char *what, ks_box *out)
{
    static const double probs[3] = {0.25, 0.5, 0.75};
    ks_moments *m = NULL;
    int64_t *count = NULL, *local = NULL, k[3];
    double *lo = NULL, *hi = NULL, *flo = NULL, *fhi = NULL, *wlo = NULL, *whi = NULL, frac[3];
    order_stat *os = NULL;
    int nos = 0, rc;
    size_t bins = (size_t)ncells * KS_REPORT_QBINS;
    rc = ks_calloc(ctx, &m, (size_t)ncells, sizeof *m, "moments");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &count, bins, sizeof *count, "quantile histogram");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &local, bins, sizeof *local, "quantile histogram");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &lo, (size_t)ncells * 6, sizeof *lo, "cell ranges");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &os, (size_t)ncells * 6 + 1, sizeof *os, "order statistics");
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    hi = lo + ncells;
    flo = hi + ncells;
    fhi = flo + ncells;
    wlo = fhi + ncells;
    whi = wlo + ncells;
    KS_TRY(rc, ks_report_moments(ctx, x, cell, n, ncells, what, m), done);
    for (int c = 0; c < ncells; c++) {
        lo[c] = m[c].n ? m[c].min : 0;
        hi[c] = m[c].n ? m[c].max : 0;
    }
    ks_describe_histogram(x, cell, n, ncells, lo, hi, KS_REPORT_QBINS, local);
    memcpy(count, local, sizeof *count * bins);
    KS_TRY(rc, ks_mpi_sum_i64(ctx, count, (int)bins), done);
    for (int c = 0; c < ncells; c++) {
        if (m[c].n == 0)
            continue;
        for (int q = 0; q < 3; q++) {
            ks_describe_q7_index(m[c].n, probs[q], &k[q], &frac[q]);
            for (int e = 0; e < 2; e++) {
                int64_t kk = k[q] + e < m[c].n ? k[q] + e : m[c].n - 1;
                os[nos].cell = c;
                locate(count + (size_t)c * KS_REPORT_QBINS, KS_REPORT_QBINS, kk, &os[nos].bin,
                       &os[nos].within);
                nos++;
            }
        }
    }
    KS_TRY(rc, order_stats(ctx, x, cell, n, ncells, lo, hi, local, os, nos), done);
    nos = 0;
    for (int c = 0; c < ncells; c++) {
        ks_box *b = &out[c];
        double q[3];
        memset(b, 0, sizeof *b);
        b->n = m[c].n;
        flo[c] = INFINITY;
        fhi[c] = -INFINITY;
        wlo[c] = INFINITY;
        whi[c] = -INFINITY;
        if (m[c].n == 0) {
            b->mean = b->sd = b->min = b->q1 = b->median = b->q3 = b->max = NAN;
            continue;
        }
        for (int qi = 0; qi < 3; qi++) {
            ks_describe_q7_index(m[c].n, probs[qi], &k[qi], &frac[qi]);
            q[qi] = ks_report_lerp(os[nos].value, os[nos + 1].value, frac[qi]);
            nos += 2;
        }
        b->mean = ks_fix_mean(m[c].sum, m[c].n);
        if (m[c].n > 1) {
            double ex2 = ks_fix_mean(m[c].sumsq, m[c].n);
            double var = (ex2 - b->mean * b->mean) * ((double)m[c].n / (double)(m[c].n - 1));
            b->sd = var > 0 ? sqrt(var) : 0;
        } else {
            b->sd = NAN;
        }
        b->min = m[c].min;
        b->max = m[c].max;
        b->q1 = q[0];
        b->median = q[1];
        b->q3 = q[2];
        flo[c] = q[0] - 1.5 * (q[2] - q[0]);
        fhi[c] = q[2] + 1.5 * (q[2] - q[0]);
    }
    ks_describe_whiskers(x, cell, n, ncells, flo, fhi, wlo, whi);
    KS_TRY(rc, allreduce_f64(ctx, wlo, ncells, MPI_MIN), done);
    KS_TRY(rc, allreduce_f64(ctx, whi, ncells, MPI_MAX), done);
    for (int c = 0; c < ncells; c++) {
        out[c].whisker_low = m[c].n ? wlo[c] : NAN;
        out[c].whisker_high = m[c].n ? whi[c] : NAN;
    }
done:
    free(m);
    free(count);
    free(local);
    free(lo);
    free(os);
    return rc;
}
