/* ks_fit_balance.c - the rank split of the panel's rows, moved so that
 * every rank holds about as many complete rows (no NaN in any column the
 * models use) as the others.
 *
 * ks_fit_panel_read splits the blocks evenly by rows.  The panel lists a
 * firm's years together and the firms in order of their first year in the
 * data, so the first ranks hold the firms seen in the first year, whose
 * baseline-year rows have no newexport: with 2 ranks rank 0 held 5% fewer
 * usable rows, and every Newton evaluation waited for rank 1.  The split
 * stays on block boundaries, and every sum runs over the global blocks in
 * order, so the results are the same bits whatever the split. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* Complete rows of each block this rank holds, into count[global block]. */
static void count_complete(const ks_fit_panel *pn, int64_t *count)
{
    uint8_t ok[KS_FIT_BLOCK];
    for (int64_t b = pn->block0; b < pn->block1; b++) {
        const int64_t r0 = (b - pn->block0) * KS_FIT_BLOCK;
        const int64_t n = pn->nrows - r0 < KS_FIT_BLOCK ? pn->nrows - r0 : KS_FIT_BLOCK;
        int64_t complete = 0;
        memset(ok, 1, (size_t)n);
        for (int c = 0; c < pn->ncols; c++) {
            const double *v = (const double *)pn->cols[c] + r0;
            if (pn->type[c] != KS_FIT_F64 || pn->all_finite[c])
                continue;
            for (int64_t i = 0; i < n; i++)
                ok[i] &= (uint8_t)(fabs(v[i]) <= DBL_MAX); /* false for NaN and infinities */
        }
        for (int64_t i = 0; i < n; i++)
            complete += ok[i];
        count[b] = complete;
    }
}

/* The first block of each rank (first[nranks] = nb) such that the ranks'
 * complete rows are as even as whole blocks allow: rank r starts at the
 * block boundary nearest to r/nranks of the total. */
static void balanced_split(const int64_t *count, int64_t nb, int nranks, int64_t *first)
{
    int64_t total = 0, before = 0, b = 0;
    for (int64_t k = 0; k < nb; k++)
        total += count[k];
    first[0] = 0;
    for (int r = 1; r < nranks; r++) {
        const int64_t target = total * r; /* in units of 1/nranks rows */
        while (b < nb && (before + count[b]) * nranks <= target)
            before += count[b++];
        if (b < nb && (before + count[b]) * nranks - target < target - before * nranks)
            before += count[b++]; /* the boundary after block b is nearer */
        first[r] = b;
    }
    first[nranks] = nb;
}

/* Rows [a0, a1) and [b0, b1) in common: its length (0 if none), from *at. */
static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1, int64_t *at)
{
    *at = a0 > b0 ? a0 : b0;
    return (a1 < b1 ? a1 : b1) > *at ? (a1 < b1 ? a1 : b1) - *at : 0;
}

typedef struct ks_split {
    int64_t *old0, *old1, *new0, *new1; /* each rank's rows, before and after */
    int *scount, *sdispl, *rcount, *rdispl;
} ks_split;

/* Column c into this rank's new rows: the rows leaving are packed and
 * sent, the rows staying move within the (resized) array, and the rows
 * arriving are received in place.  Resizing by realloc keeps the pages
 * already written (a fresh array would fault and zero all of them). */
static int move_column(ks_ctx *ctx, ks_fit_panel *pn, int c, const ks_split *sp, size_t size)
{
    const int me = ctx->rank, nr = ctx->nranks;
    const int64_t o0 = sp->old0[me], o1 = sp->old1[me], n0 = sp->new0[me], n1 = sp->new1[me];
    int64_t keep0, keep = overlap(o0, o1, n0, n1, &keep0), nsend = 0, at;
    char *col = pn->cols[c], *send = NULL;
    MPI_Datatype row;
    int rc = KS_OK;
    for (int q = 0; q < nr; q++) {
        int64_t s = q == me ? 0 : overlap(o0, o1, sp->new0[q], sp->new1[q], &at);
        int64_t r = q == me ? 0 : overlap(n0, n1, sp->old0[q], sp->old1[q], &at);
        sp->scount[q] = (int)s;
        sp->sdispl[q] = (int)nsend;
        if (s > 0)
            nsend += s;
        sp->rcount[q] = (int)r;
        sp->rdispl[q] = r > 0 ? (int)(at - n0) : 0;
    }
    /* every rank must be able to take part before the collective */
    rc = ks_mpi_agree(ctx, ks_calloc(ctx, &send, (size_t)(nsend ? nsend : 1), size, "rows to another rank"));
    if (rc != KS_OK) {
        free(send);
        return rc;
    }
    for (int q = 0; q < nr; q++)
        if (sp->scount[q] > 0) {
            overlap(o0, o1, sp->new0[q], sp->new1[q], &at);
            memcpy(send + (size_t)sp->sdispl[q] * size, col + (size_t)(at - o0) * size,
                   (size_t)sp->scount[q] * size);
        }
    if (n1 - n0 > o1 - o0) { /* grow, then move what stays */
        char *grown = realloc(col, (size_t)(n1 - n0) * size);
        if (grown)
            col = grown;
        else
            rc = ks_fail(ctx, KS_ENOMEM, "fit: no memory for %lld rows of /panel/%s", (long long)(n1 - n0),
                         pn->names[c]);
    }
    if (rc == KS_OK && keep > 0)
        memmove(col + (size_t)(keep0 - n0) * size, col + (size_t)(keep0 - o0) * size, (size_t)keep * size);
    if (rc == KS_OK && n1 - n0 < o1 - o0 && n1 > n0) { /* shrink after moving */
        char *shrunk = realloc(col, (size_t)(n1 - n0) * size);
        col = shrunk ? shrunk : col;
    }
    pn->cols[c] = col;
    if (rc == KS_OK && (MPI_Type_contiguous((int)size, MPI_BYTE, &row) != MPI_SUCCESS ||
                        MPI_Type_commit(&row) != MPI_SUCCESS))
        rc = ks_fail(ctx, KS_EMPI, "fit: cannot make the MPI type of a row of /panel/%s", pn->names[c]);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK) {
        if (MPI_Alltoallv(send, sp->scount, sp->sdispl, row, col, sp->rcount, sp->rdispl, row, ctx->comm) !=
            MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EMPI, "fit: moving rows of /panel/%s between ranks failed", pn->names[c]);
        MPI_Type_free(&row);
    }
    free(send);
    return rc;
}

/* The panel rows of blocks [b0, b1). */
static void rows_of_blocks(const ks_fit_panel *pn, int64_t b0, int64_t b1, int64_t *r0, int64_t *r1)
{
    *r0 = b0 * KS_FIT_BLOCK < pn->total ? b0 * KS_FIT_BLOCK : pn->total;
    *r1 = b1 * KS_FIT_BLOCK < pn->total ? b1 * KS_FIT_BLOCK : pn->total;
}

int ks_fit_panel_balance(ks_ctx *ctx, ks_fit_panel *pn, int *was_moved)
{
    const int nr = ctx->nranks;
    const int64_t nb = (pn->total + KS_FIT_BLOCK - 1) / KS_FIT_BLOCK;
    int64_t *count = NULL, *first = NULL, moved = 0, incomplete = 0;
    ks_split sp;
    int rc;
    *was_moved = 0;
    if (ctx->comm == MPI_COMM_NULL || nr == 1 || nb == 0)
        return KS_OK;
    memset(&sp, 0, sizeof sp);
    rc = ks_calloc(ctx, &count, (size_t)nb, sizeof *count, "rows per block");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &first, (size_t)nr + 1, sizeof *first, "rank split");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &sp.old0, 4 * (size_t)nr, sizeof *sp.old0, "rank split");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &sp.scount, 4 * (size_t)nr, sizeof *sp.scount, "rank split");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    count_complete(pn, count);
    rc = ks_mpi_sum_i64(ctx, count, (int)nb); /* each block is one rank's: a gather */
    for (int64_t b = 0; rc == KS_OK && b < nb; b++)
        incomplete += (b + 1 < nb ? KS_FIT_BLOCK : pn->total - b * KS_FIT_BLOCK) - count[b];
    if (rc == KS_OK && incomplete > 0) { /* else the even split is as good */
        sp.old1 = sp.old0 + nr;
        sp.new0 = sp.old1 + nr;
        sp.new1 = sp.new0 + nr;
        sp.sdispl = sp.scount + nr;
        sp.rcount = sp.sdispl + nr;
        sp.rdispl = sp.rcount + nr;
        balanced_split(count, nb, nr, first);
        for (int q = 0; q < nr; q++) { /* from the even split ks_fit_panel_read made */
            rows_of_blocks(pn, ks_fit_even_block(nb, q, nr), ks_fit_even_block(nb, q + 1, nr), &sp.old0[q],
                           &sp.old1[q]);
            rows_of_blocks(pn, first[q], first[q + 1], &sp.new0[q], &sp.new1[q]);
            moved += llabs(first[q] - ks_fit_even_block(nb, q, nr));
        }
    }
    for (int c = 0; rc == KS_OK && moved > 0 && c < pn->ncols; c++)
        rc = move_column(ctx, pn, c, &sp, ks_fit_type_size(pn->type[c]));
    if (rc == KS_OK && moved > 0) {
        ks_debug(ctx, "fit: panel rows %lld..%lld, balanced to rows %lld..%lld (blocks %lld..%lld)",
                 (long long)sp.old0[ctx->rank], (long long)sp.old1[ctx->rank], (long long)sp.new0[ctx->rank],
                 (long long)sp.new1[ctx->rank], (long long)first[ctx->rank], (long long)first[ctx->rank + 1]);
        pn->block0 = first[ctx->rank];
        pn->block1 = first[ctx->rank + 1];
        pn->row0 = sp.new0[ctx->rank];
        pn->nrows = sp.new1[ctx->rank] - sp.new0[ctx->rank];
        *was_moved = 1;
    }
    free(count);
    free(first);
    free(sp.old0);
    free(sp.scount);
    return ks_mpi_agree(ctx, rc);
}
