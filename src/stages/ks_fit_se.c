/* ks_fit_se.c - covariance of the reported quantities (terms and margins):
 * OIM, robust sandwich, cluster-robust.  With W = E V (E the report's
 * Jacobian rows, V = (-H)^-1), the sandwich is W (sum s s') W' = sum u u'
 * with u = W s: only na numbers per row or cluster are summed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_mpi.h"
#include "ks_radix.h"

typedef struct ks_se_arg {
    const ks_glm_rows *rows;
    const double *beta;
    const double *w; /* [na][p] */
    int na;
} ks_se_arg;

/* u = d1 * W z for row i, whose levels are lev (ks_glm_levels). */
static void row_u(const ks_se_arg *a, int64_t i, const int32_t *lev, double *u)
{
    int idx[KS_GLM_MAX_NZ], m;
    double val[KS_GLM_MAX_NZ], d1, d2, p = a->rows->p;
    double t = ks_glm_index(a->rows, lev, i, a->beta);
    ks_glm_row(a->rows->link, ks_glm_y(a->rows, i), t, &d1, &d2);
    m = ks_glm_nz(a->rows, lev, i, idx, val);
    for (int r = 0; r < a->na; r++) {
        const double *wr = a->w + (int64_t)r * (int64_t)p;
        double s = 0;
        for (int k = 0; k < m; k++)
            s += wr[idx[k]] * val[k];
        u[r] = d1 * s;
    }
}

static void meat_block(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const ks_se_arg *a = arg;
    double u[256];
    int64_t run = -1; /* ks_glm_levels' cursor */
    (void)d;
    for (int64_t i = b; i < e; i++) {
        row_u(a, i, ks_glm_levels(a->rows, i, &run), u);
        for (int r = 0; r < a->na; r++)
            for (int c = r; c < a->na; c++)
                acc[r * a->na + c] += u[r] * u[c];
    }
}

/* ---- clusters ---- */

static int cmp_rec(const void *pa, const void *pb)
{
    int64_t a[2], b[2];
    memcpy(a, pa, sizeof a);
    memcpy(b, pb, sizeof b);
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

static int cmp_chunk_first(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int owner_of(int64_t cl, int n)
{
    int64_t chunk = cl >> 12;
    return (int)(((chunk % n) + n) % n);
}

/* One record per cluster and block: (cluster, global block, u summed over
 * the cluster's rows in the block, in row order), stride 2 + na doubles.  A
 * block's rows are stably sorted by cluster (rows are stored sorted by
 * fixed-effect levels, so a cluster's rows are scattered in its block); the
 * key (cluster, block) is unique and the same for any split into ranks, so
 * cluster_meat adds the records of a cluster in the same order always.
 * There are about as many records as clusters per block times blocks, far
 * fewer than rows. */
static int cluster_records(ks_ctx *ctx, const ks_fit_design *d, const ks_se_arg *a, double **out,
                           int64_t *nrec)
{
    const int stride = 2 + a->na;
    int64_t n = 0, cap = 4096;
    double *rec = NULL;
    uint64_t *key = NULL, *tkey = NULL;
    int64_t *row = NULL, *trow = NULL;
    const int32_t **lev = NULL;
    int rc = ks_calloc(ctx, &rec, (size_t)cap * (size_t)stride, sizeof(double), "cluster scores");
    if (rc == KS_OK) rc = ks_calloc(ctx, &key, KS_FIT_BLOCK, sizeof *key, "cluster order");
    if (rc == KS_OK) rc = ks_calloc(ctx, &tkey, KS_FIT_BLOCK, sizeof *tkey, "cluster order");
    if (rc == KS_OK) rc = ks_calloc(ctx, &row, KS_FIT_BLOCK, sizeof *row, "cluster order");
    if (rc == KS_OK) rc = ks_calloc(ctx, &trow, KS_FIT_BLOCK, sizeof *trow, "cluster order");
    if (rc == KS_OK) rc = ks_calloc(ctx, &lev, KS_FIT_BLOCK, sizeof *lev, "cluster order");
    for (int64_t b = 0; rc == KS_OK && b < d->nblocks; b++) {
        const int64_t b0 = d->block_start[b], m = d->block_start[b + 1] - b0;
        int64_t run = -1; /* each row's levels, found in row order before the rows go in cluster order */
        for (int64_t i = 0; i < m; i++) { /* signed order as unsigned keys */
            key[i] = (uint64_t)d->cl[b0 + i] ^ ((uint64_t)1 << 63);
            row[i] = b0 + i;
            lev[i] = ks_glm_levels(a->rows, b0 + i, &run);
        }
        ks_radix_sort_pairs(key, row, (size_t)m, tkey, trow);
        for (int64_t i = 0; rc == KS_OK && i < m; i++) {
            double u[256], *r;
            if (i == 0 || key[i] != key[i - 1]) {
                int64_t k[2] = {d->cl[row[i]], d->block0 + b};
                if (n == cap) {
                    double *bigger = realloc(rec, sizeof(double) * (size_t)(2 * cap) * (size_t)stride);
                    if (!bigger) {
                        rc = ks_fail(ctx, KS_ENOMEM, "fit: out of memory for %lld cluster records",
                                     (long long)(2 * cap));
                        break;
                    }
                    rec = bigger;
                    cap *= 2;
                }
                r = rec + n++ * stride;
                memcpy(r, k, sizeof k);
                memset(r + 2, 0, sizeof(double) * (size_t)a->na);
            }
            r = rec + (n - 1) * stride;
            row_u(a, row[i], lev[row[i] - b0], u);
            for (int k = 0; k < a->na; k++)
                r[2 + k] += u[k];
        }
    }
    free(key);
    free(tkey);
    free(row);
    free(trow);
    free(lev);
    if (rc != KS_OK) {
        free(rec);
        rec = NULL;
        n = 0;
    }
    *out = rec;
    *nrec = n;
    return rc;
}

/* Send every record to the owner of its cluster's chunk of 4096 ids. */
static int exchange(ks_ctx *ctx, double *rec, int64_t n, int stride, double **out, int64_t *nout)
{
    int np = ctx->nranks, rc = KS_OK;
    int *sc = NULL, *rcnt = NULL, *sd = NULL, *rd = NULL, *fill = NULL;
    double *sbuf = NULL, *rbuf = NULL;
    int64_t tot = 0;
    if (ctx->comm == MPI_COMM_NULL || np == 1) {
        *out = rec;
        *nout = n;
        return KS_OK;
    }
    rc = ks_calloc(ctx, &sc, (size_t)np, sizeof(int), "exchange");
    if (rc == KS_OK) rc = ks_calloc(ctx, &rcnt, (size_t)np, sizeof(int), "exchange");
    if (rc == KS_OK) rc = ks_calloc(ctx, &sd, (size_t)np, sizeof(int), "exchange");
    if (rc == KS_OK) rc = ks_calloc(ctx, &rd, (size_t)np, sizeof(int), "exchange");
    if (rc == KS_OK) rc = ks_calloc(ctx, &fill, (size_t)np, sizeof(int), "exchange");
    if (rc == KS_OK) rc = ks_calloc(ctx, &sbuf, (size_t)(n ? n : 1) * (size_t)stride, sizeof(double), "exchange");
    rc = ks_mpi_agree(ctx, rc);
    if (rc != KS_OK)
        goto done;
    for (int64_t i = 0; i < n; i++) {
        int64_t cl;
        memcpy(&cl, rec + i * stride, sizeof cl);
        sc[owner_of(cl, np)] += stride;
    }
    for (int r = 1; r < np; r++)
        sd[r] = sd[r - 1] + sc[r - 1];
    for (int64_t i = 0; i < n; i++) {
        int64_t cl;
        int o;
        memcpy(&cl, rec + i * stride, sizeof cl);
        o = owner_of(cl, np);
        memcpy(sbuf + sd[o] + fill[o], rec + i * stride, sizeof(double) * (size_t)stride);
        fill[o] += stride;
    }
    if (MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, ctx->comm) != MPI_SUCCESS) {
        rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Alltoall of cluster counts failed");
        goto done;
    }
    for (int r = 0; r < np; r++) {
        rd[r] = (int)tot;
        tot += rcnt[r];
    }
    rc = ks_mpi_agree(ctx, ks_calloc(ctx, &rbuf, (size_t)(tot ? tot : 1), sizeof(double), "exchange"));
    if (rc == KS_OK && MPI_Alltoallv(sbuf, sc, sd, MPI_DOUBLE, rbuf, rcnt, rd, MPI_DOUBLE, ctx->comm) != MPI_SUCCESS)
        rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Alltoallv of cluster scores failed");
    free(rec);
    *out = rbuf;
    rbuf = NULL;
    *nout = tot / stride;
done:
    free(sc);
    free(rcnt);
    free(sd);
    free(rd);
    free(fill);
    free(sbuf);
    free(rbuf);
    return rc;
}

/* Sorted records -> per chunk of 4096 cluster ids: [chunk, sum U U' (na*na)]
 * folded in cluster order; then all chunks of all ranks folded in chunk
 * order.  *g counts clusters. */
static int cluster_meat(ks_ctx *ctx, double *rec, int64_t n, int na, double *meat, int64_t *g)
{
    int stride = 2 + na, cs = 1 + na * na, rc = KS_OK;
    double *chunks = NULL, *all = NULL, u[256];
    int64_t nch = 0, ng = 0;
    int *cnt = NULL, *dsp = NULL, np = ctx->comm == MPI_COMM_NULL ? 1 : ctx->nranks;
    int64_t nchunks = 0;
    qsort(rec, (size_t)n, sizeof(double) * (size_t)stride, cmp_rec);
    for (int64_t i = 0, last = 0; i < n; i++) { /* distinct chunks: the sums' size */
        int64_t cl;
        memcpy(&cl, rec + i * stride, sizeof cl);
        if (i == 0 || cl >> 12 != last)
            nchunks++;
        last = cl >> 12;
    }
    rc = ks_calloc(ctx, &chunks, (size_t)(nchunks ? nchunks : 1) * (size_t)cs, sizeof(double), "cluster meat");
    for (int64_t i = 0; rc == KS_OK && i < n;) {
        int64_t cl, c2, chunk;
        double *ch;
        memcpy(&cl, rec + i * stride, sizeof cl);
        chunk = cl >> 12;
        memset(u, 0, sizeof(double) * (size_t)na);
        for (; i < n; i++) {
            memcpy(&c2, rec + i * stride, sizeof c2);
            if (c2 != cl)
                break;
            for (int k = 0; k < na; k++)
                u[k] += rec[i * stride + 2 + k];
        }
        ng++;
        ch = nch ? chunks + (nch - 1) * cs : NULL;
        if (!ch || ch[0] != (double)chunk) {
            ch = chunks + nch++ * cs;
            ch[0] = (double)chunk;
        }
        for (int r = 0; r < na; r++)
            for (int c = 0; c < na; c++)
                ch[1 + r * na + c] += u[r] * u[c];
    }
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK && np > 1) {
        int mine = (int)(nch * cs), tot = 0;
        rc = ks_calloc(ctx, &cnt, (size_t)np, sizeof(int), "gather");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &dsp, (size_t)np, sizeof(int), "gather");
        rc = ks_mpi_agree(ctx, rc);
        if (rc == KS_OK && MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, ctx->comm) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Allgather failed");
        for (int r = 0; rc == KS_OK && r < np; r++) {
            dsp[r] = tot;
            tot += cnt[r];
        }
        if (rc == KS_OK)
            rc = ks_mpi_agree(ctx, ks_calloc(ctx, &all, (size_t)(tot ? tot : 1), sizeof(double), "gather"));
        if (rc == KS_OK && MPI_Allgatherv(chunks, mine, MPI_DOUBLE, all, cnt, dsp, MPI_DOUBLE, ctx->comm) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Allgatherv failed");
        nch = tot / cs;
        if (rc == KS_OK)
            rc = ks_mpi_sum_i64(ctx, &ng, 1);
    } else {
        all = chunks;
        chunks = NULL;
    }
    if (rc == KS_OK) {
        /* chunks of one rank ascend; chunks of different owners interleave */
        qsort(all, (size_t)nch, sizeof(double) * (size_t)cs, cmp_chunk_first);
        memset(meat, 0, sizeof *meat * (size_t)(na * na));
        for (int64_t c = 0; c < nch; c++)
            for (int k = 0; k < na * na; k++)
                meat[k] += all[c * cs + 1 + k];
    }
    *g = ng;
    free(chunks);
    free(all);
    free(cnt);
    free(dsp);
    return rc;
}

static int active_count(const ks_fit_design *d)
{
    int k = 0;
    for (int j = 0; j < d->p; j++)
        k += d->active[j];
    return k;
}

int ks_fit_se(ks_ctx *ctx, ks_fit_design *d, const ks_fit_state *st, const double *v,
              const ks_fit_report *rep, double *cov, char *label, size_t label_n)
{
    int na = rep->na, p = d->p, rc = KS_OK, k = active_count(d);
    double *w = NULL, n = (double)d->n, factor = 1.0;
    ks_glm_rows rows;
    ks_se_arg arg;
    if (na > 256)
        return ks_fail(ctx, KS_EUSAGE, "model %s: too many reported terms and margins", d->spec->name);
    KS_CHECK(ks_calloc(ctx, &w, (size_t)na * (size_t)p, sizeof(double), "W = E V"));
    for (int r = 0; r < na; r++)
        for (int j = 0; j < p; j++) {
            double s = 0;
            for (int l = 0; l < p; l++)
                s += rep->e[r * p + l] * v[l * p + j];
            w[r * p + j] = s;
        }
    ks_fit_design_rows(d, &rows);
    arg = (ks_se_arg){&rows, st->beta, w, na};
    if (d->spec->se == KS_SE_OIM) {
        for (int r = 0; r < na; r++)
            for (int c = 0; c < na; c++) {
                double s = 0;
                for (int l = 0; l < p; l++)
                    s += w[r * p + l] * rep->e[c * p + l];
                cov[r * na + c] = s;
            }
        /* OLS: sigma^2 (Z'Z)^-1 with sigma^2 = SSR / (N - K) */
        if (d->link == KS_GLM_LPM)
            factor = -2.0 * st->ll / (n - k);
        snprintf(label, label_n, "OIM");
    } else if (d->spec->se == KS_SE_ROBUST) {
        rc = ks_fit_reduce(ctx, d, na * na, meat_block, &arg, cov);
        for (int r = 0; rc == KS_OK && r < na; r++)
            for (int c = 0; c < r; c++)
                cov[r * na + c] = cov[c * na + r];
        /* Stata: N/(N-1) for ML models, N/(N-K) for regress */
        factor = d->link == KS_GLM_LPM ? n / (n - k) : n / (n - 1.0);
        snprintf(label, label_n, "robust");
    } else {
        double *rec = NULL, *own = NULL;
        int64_t nrec = 0, nown = 0, g = 0;
        rc = ks_mpi_agree(ctx, cluster_records(ctx, d, &arg, &rec, &nrec));
        if (rc == KS_OK)
            rc = exchange(ctx, rec, nrec, 2 + na, &own, &nown);
        else
            free(rec);
        if (rc == KS_OK)
            rc = cluster_meat(ctx, own, nown, na, cov, &g);
        free(own);
        /* Stata's regress and statsmodels: G/(G-1) (N-1)/(N-K) */
        factor = g > 1 ? (double)g / (double)(g - 1) * (n - 1.0) / (n - k) : NAN;
        snprintf(label, label_n, "clustered by %s (G = %lld)",
                 d->spec->cluster[0] ? d->spec->cluster : "firm", (long long)g);
        if (rc == KS_OK && g < 2)
            rc = ks_fit_note(ctx, d, "cluster-robust standard errors need at least 2 clusters");
    }
    for (int r = 0; r < na * na; r++)
        cov[r] *= factor;
    free(w);
    return rc;
}
