/* ks_fit_newton.c - the fixed-order block reduction, the collinearity check
 * and Newton-Raphson with step halving (docs/fit.md, "Solver"). */
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_ckpt.h"
#include "ks_fit_internal.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* Each block is summed by one thread into its own slot; the slots are then
 * folded in block order into the running sum that arrives from the previous
 * rank, which passes it on.  The fold is one sequence of additions over
 * global blocks, whatever the split: the bits do not depend on ranks or
 * threads.  The last rank broadcasts the total. */
int ks_fit_reduce(ks_ctx *ctx, const ks_fit_design *d, int nacc, ks_fit_block_fn fn, void *arg,
                  double *out)
{
    double *part = NULL;
    int rc = KS_OK;
    int64_t nb = d->nblocks;
    size_t need = (size_t)nb * (size_t)nacc;
    ks_fit_scratch *sc = d->scratch;
    /* The block sums are reused from one evaluation to the next: fresh pages
     * for them (a Hessian's p*p doubles a block) cost a fault and the
     * kernel's zeroing per page, every Newton iteration. */
    if (sc && sc->sums_cap < need) {
        free(sc->sums);
        sc->sums_cap = 0;
        rc = ks_calloc(ctx, &sc->sums, need, sizeof(double), "block sums");
        if (rc == KS_OK)
            sc->sums_cap = need;
    }
    if (sc)
        part = sc->sums;
    else if (nb > 0)
        rc = ks_calloc(ctx, &part, need, sizeof(double), "block sums");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    /* each block's sums zeroed by the thread that fills them, just before:
     * they are then in its cache */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < nb; b++) {
        memset(part + b * nacc, 0, sizeof *part * (size_t)nacc);
        fn(d, d->block_start[b], d->block_start[b + 1], part + b * nacc, arg);
    }
    memset(out, 0, sizeof *out * (size_t)nacc);
    if (ctx->comm != MPI_COMM_NULL && ctx->rank > 0 &&
        MPI_Recv(out, nacc, MPI_DOUBLE, ctx->rank - 1, 4711, ctx->comm, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Recv of the running sum failed");
    for (int64_t b = 0; b < nb; b++) {
        const double *block = part + b * nacc;
        for (int k = 0; k < nacc; k++)
            out[k] += block[k];
    }
    if (!sc)
        free(part);
    if (ctx->comm == MPI_COMM_NULL)
        return rc;
    if (rc == KS_OK && ctx->rank + 1 < ctx->nranks &&
        MPI_Send(out, nacc, MPI_DOUBLE, ctx->rank + 1, 4711, ctx->comm) != MPI_SUCCESS)
        rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Send of the running sum failed");
    if (rc == KS_OK && MPI_Bcast(out, nacc, MPI_DOUBLE, ctx->nranks - 1, ctx->comm) != MPI_SUCCESS)
        rc = ks_fail(ctx, KS_EMPI, "fit: MPI_Bcast of a sum failed");
    return rc;
}

typedef struct ks_eval_arg {
    const ks_glm_rows *rows;
    const double *beta;
    int hessian;
    double *work;      /* one workspace per thread */
    size_t work_size;  /* doubles, a multiple of 8 (64 bytes) */
} ks_eval_arg;

static void eval_block(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const ks_eval_arg *a = arg;
    (void)d;
    ks_glm_accumulate(a->rows, a->beta, b, e, a->hessian, acc,
                      a->work + (size_t)omp_get_thread_num() * a->work_size);
}

/* Log-likelihood, gradient and Hessian at beta into acc[1 + p + p*p]. */
static int evaluate(ks_ctx *ctx, const ks_fit_design *d, const ks_glm_rows *rows, const double *beta,
                    double *acc)
{
    ks_eval_arg a = {rows, beta, 1, NULL, (ks_glm_work_doubles(rows) + 7) & ~(size_t)7};
    int p = d->p, rc = KS_OK;
    size_t bytes = a.work_size * sizeof(double) * (size_t)omp_get_max_threads();
    a.work = aligned_alloc(64, bytes);
    if (!a.work)
        rc = ks_fail(ctx, KS_ENOMEM, "fit: out of memory for %zu bytes of kernel workspace", bytes);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_fit_reduce(ctx, d, 1 + p + p * p, eval_block, &a, acc);
    free(a.work);
    KS_CHECK(rc);
    ks_glm_symmetrize(acc + 1 + p, p);
    return KS_OK;
}

/* The name of parameter k: an x term, _cons, or "fe=level". */
static void param_name(const ks_fit_design *d, const char *const *fe_names, int k, char *buf, size_t n)
{
    if (k < d->nx) {
        snprintf(buf, n, "%s", d->xname[k]);
        return;
    }
    if (k == d->nx) {
        snprintf(buf, n, "_cons");
        return;
    }
    for (int f = 0; f < d->nfe; f++)
        for (int64_t l = 0; l < d->fe_range[f]; l++)
            if (d->fe_index[f][l] == k) {
                snprintf(buf, n, "%s=%lld", fe_names[f], (long long)(d->fe_min[f] + l));
                return;
            }
    snprintf(buf, n, "parameter %d", k);
}

/* The evaluation at beta = 0 gives the Gram matrix for free: there every
 * row has the same index 0 and so the same weight d2 (-2/pi for probit,
 * -1/4 for logit, -1 for LPM), and H = d2 Z'Z.  In-order Cholesky of -H with
 * dropping: a column whose pivot is below 1e-10 of its diagonal (a relative
 * test, blind to the scale d2) is (numerically) a combination of the
 * columns before it and is dropped, as Stata drops the later of collinear
 * columns. */
int ks_fit_collinear(ks_ctx *ctx, ks_fit_design *d, ks_fit_state *st)
{
    ks_glm_rows rows;
    double *acc = NULL, *gram, *l = NULL;
    const char *fe_names[KS_FIT_MAX_FE];
    int p = d->p, rc;
    for (int f = 0; f < d->nfe; f++)
        fe_names[f] = d->spec->fe.items[f];
    /* fe.items may contain "none" only when nfe == 0 */
    ks_fit_design_rows(d, &rows);
    memset(st->beta, 0, sizeof *st->beta * (size_t)p);
    rc = ks_calloc(ctx, &acc, (size_t)(1 + p + p * p), sizeof(double), "gram");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &l, (size_t)(p * p), sizeof(double), "gram factor");
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = evaluate(ctx, d, &rows, st->beta, acc);
    if (rc == KS_OK) {
        st->ll = acc[0];
        memcpy(st->g, acc + 1, sizeof *st->g * (size_t)p);
        memcpy(st->h, acc + 1 + p, sizeof *st->h * (size_t)(p * p));
        st->evaluated = 1;
    }
    gram = acc ? acc + 1 + p : NULL;
    for (int j = 0; rc == KS_OK && j < p; j++) {
        double djj = -gram[j * p + j], s = djj;
        for (int k = 0; k < j; k++)
            s -= l[j * p + k] * l[j * p + k];
        if (!(djj > 0) || s <= 1e-10 * djj) {
            char name[128];
            d->active[j] = 0;
            param_name(d, fe_names, j, name, sizeof name);
            rc = ks_fit_note(ctx, d, "%s omitted because of collinearity", name);
            continue;
        }
        l[j * p + j] = sqrt(s);
        for (int i = j + 1; i < p; i++) {
            double t = -gram[i * p + j];
            for (int k = 0; k < j; k++)
                t -= l[i * p + k] * l[j * p + k];
            l[i * p + j] = t / l[j * p + j];
        }
    }
    free(acc);
    free(l);
    return rc;
}

/* Factor -H over the active parameters into a (m x m), m returned in *m;
 * idx lists them.  Returns LAPACK's info (0 when positive definite). */
static int factor_active(const ks_fit_design *d, const double *h, double *a, int *idx, int *m)
{
    int n = 0, p = d->p;
    for (int k = 0; k < p; k++)
        if (d->active[k])
            idx[n++] = k;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            a[i * n + j] = -h[idx[i] * p + idx[j]];
    *m = n;
    return n ? LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, a, n) : 0;
}

int ks_fit_invert(ks_ctx *ctx, const ks_fit_design *d, const double *h, double *v)
{
    double *a = NULL;
    int *idx = NULL, m, info, p = d->p, rc;
    rc = ks_calloc(ctx, &a, (size_t)(p * p), sizeof(double), "hessian");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &idx, (size_t)p, sizeof(int), "hessian");
    if (rc == KS_OK) {
        info = factor_active(d, h, a, idx, &m);
        if (info == 0 && m)
            info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', m, a, m);
        if (info != 0)
            rc = ks_fail(ctx, KS_EINPUT, "model %s: the Hessian is not negative definite at the "
                         "estimates (LAPACK info %d): the model is not identified", d->spec->name, info);
        memset(v, 0, sizeof *v * (size_t)(p * p));
        for (int i = 0; rc == KS_OK && i < m; i++)
            for (int j = i; j < m; j++)
                v[idx[i] * p + idx[j]] = v[idx[j] * p + idx[i]] = a[i * m + j];
    }
    free(a);
    free(idx);
    return rc;
}

/* The Newton step -H^-1 g over the active parameters; *dec = g' step. */
static int newton_step(ks_ctx *ctx, const ks_fit_design *d, const double *acc, double *step,
                       double *dec, double *a, int *idx)
{
    int m, p = d->p, info;
    const double *g = acc + 1;
    double *rhs = step;
    info = factor_active(d, acc + 1 + p, a, idx, &m);
    if (info != 0)
        return ks_fail(ctx, KS_EINPUT, "model %s: the Hessian is not negative definite (LAPACK "
                       "info %d at parameter %d): perfect prediction or collinearity", d->spec->name,
                       info, idx[info - 1 < m ? info - 1 : 0]);
    {
        double tmp[m > 0 ? m : 1];
        for (int i = 0; i < m; i++)
            tmp[i] = g[idx[i]];
        if (m)
            info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', m, 1, a, m, tmp, 1);
        memset(rhs, 0, sizeof *rhs * (size_t)p);
        *dec = 0;
        for (int i = 0; i < m; i++) {
            rhs[idx[i]] = tmp[i];
            *dec += g[idx[i]] * tmp[i];
        }
    }
    if (info != 0 || !isfinite(*dec))
        return ks_fail(ctx, KS_EINPUT, "model %s: the Newton step is not finite", d->spec->name);
    return KS_OK;
}

/* After an accepted step: one progress line (rank 0), the checkpoint, and
 * a stop when a signal asked for one (every rank at the same step). */
static int after_step(ks_ctx *ctx, const ks_fit_design *d, const ks_fit_state *st, double ll, double dec,
                      double t0)
{
    int stop = 0;
    double el = ks_now() - t0;
    ks_info(ctx, "fit: model %s: iteration %d, loglik %.6f, g'H^-1g %.3g, %.0f rows/s, %.1f s",
            d->spec->name, st->iterations, ll, dec,
            el > 0 ? (double)d->n * (st->iterations - st->iterations0) / el : 0.0, el);
    if (st->ckpt)
        KS_CHECK(ks_fit_ckpt_save(ctx, st->ckpt, d->spec->name, 0, st->iterations, d->p, st->beta));
    KS_CHECK(ks_mpi_stop_requested(ctx, &stop));
    if (stop)
        return ks_fail(ctx, KS_EINTERRUPTED, "fit stopped by a signal after iteration %d of model %s%s",
                       st->iterations, d->spec->name,
                       st->ckpt ? "; the checkpoint is saved: run the same command again to resume" : "");
    return KS_OK;
}

int ks_fit_newton(ks_ctx *ctx, const ks_job *job, ks_fit_design *d, ks_fit_state *st)
{
    ks_glm_rows rows;
    int p = d->p, rc, *idx = NULL;
    size_t nacc = (size_t)(1 + p + p * p);
    double *acc = NULL, *trial = NULL, *step = NULL, *bnew = NULL, *a = NULL, dec = INFINITY;
    double t0 = ks_now();
    ks_fit_design_rows(d, &rows);
    rc = ks_calloc(ctx, &acc, nacc, sizeof(double), "newton");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &trial, nacc, sizeof(double), "newton");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &step, (size_t)p, sizeof(double), "newton");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &bnew, (size_t)p, sizeof(double), "newton");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &a, (size_t)(p * p), sizeof(double), "newton");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &idx, (size_t)p, sizeof(int), "newton");
    rc = ks_mpi_agree(ctx, rc);
    st->iterations = st->iterations0;
    st->converged = 0;
    if (rc == KS_OK && st->evaluated) { /* from ks_fit_collinear */
        acc[0] = st->ll;
        memcpy(acc + 1, st->g, sizeof *acc * (size_t)p);
        memcpy(acc + 1 + p, st->h, sizeof *acc * (size_t)(p * p));
    } else if (rc == KS_OK) {
        rc = evaluate(ctx, d, &rows, st->beta, acc);
    }
    while (rc == KS_OK) {
        int accepted = 0;
        rc = newton_step(ctx, d, acc, step, &dec, a, idx);
        if (rc != KS_OK)
            break;
        ks_debug(ctx, "model %s: iteration %d loglik %.17g g'H^-1g %.3g", d->spec->name,
                 st->iterations, acc[0], dec);
        /* OLS is exact after one step: the second evaluation only confirms */
        if (dec < job->fit_tolerance || (d->link == KS_GLM_LPM && st->iterations >= 2)) {
            st->converged = 1;
            break;
        }
        if (st->iterations >= job->fit_max_iterations)
            break;
        for (int half = 0; half < 40 && rc == KS_OK; half++) {
            double f = ldexp(1.0, -half);
            for (int k = 0; k < p; k++)
                bnew[k] = st->beta[k] + f * step[k];
            rc = evaluate(ctx, d, &rows, bnew, trial);
            /* accept an increase, or a change at the level of rounding */
            if (rc == KS_OK && isfinite(trial[0]) && trial[0] >= acc[0] - 1e-13 * (1.0 + fabs(acc[0]))) {
                accepted = 1;
                break;
            }
        }
        if (rc != KS_OK)
            break;
        st->iterations++;
        if (!accepted) {
            rc = ks_fit_note(ctx, d, "step halving found no increase of the log-likelihood "
                             "(g'H^-1g = %.3g): stopped", dec);
            break;
        }
        memcpy(st->beta, bnew, sizeof *bnew * (size_t)p);
        memcpy(acc, trial, sizeof *acc * nacc);
        rc = after_step(ctx, d, st, trial[0], dec, t0);
    }
    if (rc == KS_OK) {
        st->ll = acc[0];
        memcpy(st->g, acc + 1, sizeof *st->g * (size_t)p);
        memcpy(st->h, acc + 1 + p, sizeof *st->h * (size_t)(p * p));
        if (!st->converged) {
            double bmax = 0;
            for (int k = 0; k < p; k++)
                bmax = fmax(bmax, fabs(st->beta[k]));
            rc = ks_fit_note(ctx, d, "not converged after %d iterations (g'H^-1g = %.3g)%s",
                             st->iterations, dec,
                             bmax > 20 ? ": a coefficient diverges, a regressor may predict the "
                                         "outcome perfectly" : "");
            ks_warn(ctx, "model %s: not converged after %d iterations", d->spec->name, st->iterations);
        }
    }
    free(acc);
    free(trial);
    free(step);
    free(bnew);
    free(a);
    free(idx);
    return rc;
}
