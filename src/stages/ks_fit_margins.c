/* ks_fit_margins.c - average marginal effects (column by column: the
 * paper's model 6; and through the interactions), effects at the means, and
 * the Jacobians the delta method needs, all from one fixed-order pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_vmath.h"

/* For `ame`: the derivative of x'beta with respect to variable v is
 * beta_v + sum over products pr containing v of beta_pr * w_pr, where w_pr
 * is the other factor's value (2 x_v for v*v). */
typedef struct ks_ame_var {
    int v;
    int npr;
    int pr[KS_FIT_MAX_X];
    int other[KS_FIT_MAX_X]; /* x term holding the other factor; -1: 2 x_v */
} ks_ame_var;

typedef struct ks_marg_arg {
    const ks_glm_rows *rows;
    const double *beta;
    int nv;
    const ks_ame_var *vars;
} ks_marg_arg;

/* The first part of acc, [sum pdf][sum pdf' z (p)][sum z (p)], run by run
 * of equal levels (stage fit lists them): within a run every row has the
 * same constant and the same dummies, so the sums over x terms are the only
 * ones a row adds to, in chunks whose index and density are vector loops
 * (SLEEF's exp), and the levels take the run's sums once at its end.  (A
 * row at a time, with libm's exp and its nonzeros listed, this was a
 * second of the full panel's model (6) per rank.) */
static void marg_runs(const ks_fit_design *d, const ks_glm_rows *rows, const double *beta, int64_t b, int64_t e,
                      double *acc)
{
    enum { CH = 256 };
    const int p = d->p, nx = d->nx, nfe = rows->nfe;
    double t[CH], f[CH], df[CH];
    int64_t run = ks_glm_changes_before(rows, b + 1), i = b;
    while (i < e) {
        const int64_t stop = run < rows->nchange && rows->change[run] < e ? rows->change[run] : e;
        const int32_t *lev = rows->run_fe + run * nfe;
        double c = beta[nx], sf = 0.0, sdf = 0.0, sx[KS_FIT_MAX_X] = {0}, sdfx[KS_FIT_MAX_X] = {0};
        for (int g = 0; g < nfe; g++) /* the order of ks_glm_index */
            c += lev[g] >= 0 ? beta[lev[g]] : 0.0;
        for (int64_t i0 = i; i0 < stop; i0 += CH) {
            const int n = stop - i0 < CH ? (int)(stop - i0) : CH;
            for (int r = 0; r < n; r++)
                t[r] = c;
            for (int j = 0; j < nx; j++) {
                const double bj = beta[j], *x = rows->xcol[j] + i0;
                for (int r = 0; r < n; r++)
                    t[r] += x[r] * bj;
            }
            if (d->link == KS_GLM_PROBIT) {
                for (int r = 0; r < n; r++)
                    f[r] = -0.5 * t[r] * t[r];
                ks_vm_apply(KS_VM_EXP, n, f, f);
                for (int r = 0; r < n; r++) {
                    f[r] *= 0.39894228040143267794;
                    df[r] = -t[r] * f[r];
                }
            } else {
                for (int r = 0; r < n; r++)
                    f[r] = ks_glm_pdf(d->link, t[r], &df[r]);
            }
            for (int r = 0; r < n; r++) {
                sf += f[r];
                sdf += df[r];
            }
            for (int j = 0; j < nx; j++) {
                const double *x = rows->xcol[j] + i0;
                double a = sx[j], ad = sdfx[j];
                for (int r = 0; r < n; r++) {
                    a += x[r];
                    ad += df[r] * x[r];
                }
                sx[j] = a;
                sdfx[j] = ad;
            }
        }
        acc[0] += sf;
        for (int j = 0; j < nx; j++) {
            acc[1 + j] += sdfx[j];
            acc[1 + p + j] += sx[j];
        }
        acc[1 + nx] += sdf;
        acc[1 + p + nx] += (double)(stop - i);
        for (int g = 0; g < nfe; g++)
            if (lev[g] >= 0) {
                acc[1 + lev[g]] += sdf;
                acc[1 + p + lev[g]] += (double)(stop - i);
            }
        i = stop;
        run++;
    }
}

/* acc: [sum pdf][sum pdf' z (p)][sum z (p)] then per ame variable
 * [sum pdf c][sum pdf' c z (p)][sum pdf dc/dbeta_k, k < nx (nx)]. */
static void marg_block(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const ks_marg_arg *a = arg;
    int p = d->p, nx = d->nx, stride = 1 + p + nx;
    int idx[KS_GLM_MAX_NZ];
    double val[KS_GLM_MAX_NZ];
    int64_t run = -1; /* ks_glm_levels' cursor */
    if (a->nv == 0 && !a->rows->fe) { /* the first part alone, by runs */
        marg_runs(d, a->rows, a->beta, b, e, acc);
        return;
    }
    for (int64_t i = b; i < e; i++) {
        const int32_t *lev = ks_glm_levels(a->rows, i, &run);
        double df, t = ks_glm_index(a->rows, lev, i, a->beta), f = ks_glm_pdf(d->link, t, &df);
        int m = ks_glm_nz(a->rows, lev, i, idx, val);
        acc[0] += f;
        for (int k = 0; k < m; k++) {
            acc[1 + idx[k]] += df * val[k];
            acc[1 + p + idx[k]] += val[k];
        }
        for (int j = 0; j < a->nv; j++) {
            const ks_ame_var *v = &a->vars[j];
            double *s = acc + 1 + 2 * p + j * stride, c = a->beta[v->v];
            double w[KS_FIT_MAX_X];
            for (int q = 0; q < v->npr; q++) {
                w[q] = v->other[q] < 0 ? 2.0 * d->xcol[v->v][i] : d->xcol[v->other[q]][i];
                c += a->beta[v->pr[q]] * w[q];
            }
            s[0] += f * c;
            for (int k = 0; k < m; k++)
                s[1 + idx[k]] += df * c * val[k];
            s[1 + p + v->v] += f;
            for (int q = 0; q < v->npr; q++)
                s[1 + p + v->pr[q]] += f * w[q];
        }
    }
}

/* The single-column x terms whose `ame` can be formed. */
static int ame_vars(ks_ctx *ctx, ks_fit_design *d, ks_ame_var *vars, int *nv)
{
    *nv = 0;
    for (int v = 0; v < d->nx; v++) {
        ks_ame_var *a = &vars[*nv];
        int ok = 1;
        if (d->factor[v][1] >= 0)
            continue;
        a->v = v;
        a->npr = 0;
        for (int pr = 0; pr < d->nx; pr++) {
            int f0 = d->factor[pr][0], f1 = d->factor[pr][1], oc, other = -2;
            if (f1 < 0 || (f0 != d->factor[v][0] && f1 != d->factor[v][0]))
                continue;
            oc = f0 == d->factor[v][0] ? f1 : f0;
            if (f0 == f1)
                other = -1;
            for (int u = 0; other == -2 && u < d->nx; u++)
                if (d->factor[u][0] == oc && d->factor[u][1] < 0)
                    other = u;
            if (other == -2) {
                ok = 0;
                KS_CHECK(ks_fit_note(ctx, d, "ame of %s not computed: %s is not an x term of its own",
                                     d->xname[v], d->xname[pr]));
                break;
            }
            a->pr[a->npr] = pr;
            a->other[a->npr++] = other;
        }
        if (ok)
            (*nv)++;
    }
    return KS_OK;
}

static int report_alloc(ks_ctx *ctx, ks_fit_report *rep, int na, int p)
{
    rep->na = na;
    KS_CHECK(ks_calloc(ctx, &rep->e, (size_t)na * (size_t)p, sizeof(double), "margins"));
    KS_CHECK(ks_calloc(ctx, &rep->value, (size_t)na, sizeof(double), "margins"));
    return ks_calloc(ctx, &rep->name, (size_t)na, sizeof *rep->name, "margins");
}

int ks_fit_margins(ks_ctx *ctx, ks_fit_design *d, const ks_fit_state *st, ks_fit_report *rep)
{
    ks_ame_var vars[KS_FIT_MAX_X];
    ks_glm_rows rows;
    ks_marg_arg arg;
    int nv = 0, p = d->p, nx = d->nx, want = d->spec->margins, row, rc = KS_OK, nacc;
    double *acc = NULL, n = (double)d->n;
    memset(rep, 0, sizeof *rep);
    if ((want & KS_MARGINS_AME) && d->spec->standardize)
        KS_CHECK(ks_fit_note(ctx, d, "ame not computed for a standardized model (its columns are "
                             "not the variables); use ame_paper"));
    else if (want & KS_MARGINS_AME)
        KS_CHECK(ame_vars(ctx, d, vars, &nv));
    rep->kind_n[KS_KIND_AME] = (want & KS_MARGINS_AME) ? nv : 0;
    rep->kind_n[KS_KIND_AME_PAPER] = (want & KS_MARGINS_AME_PAPER) ? nx : 0;
    rep->kind_n[KS_KIND_MEM] = (want & KS_MARGINS_MEM) ? nx : 0;
    KS_CHECK(report_alloc(ctx, rep, nx + 1 + rep->kind_n[0] + rep->kind_n[1] + rep->kind_n[2], p));
    for (row = 0; row <= nx; row++) {
        rep->e[row * p + row] = 1.0;
        rep->value[row] = st->beta[row];
        snprintf(rep->name[row], sizeof rep->name[row], "%s", row < nx ? d->xname[row] : "_cons");
    }
    if (rep->na == nx + 1)
        return KS_OK;
    ks_fit_design_rows(d, &rows);
    arg = (ks_marg_arg){&rows, st->beta, nv, vars};
    nacc = 1 + 2 * p + nv * (1 + p + nx);
    KS_CHECK(ks_calloc(ctx, &acc, (size_t)nacc, sizeof(double), "margins"));
    rc = ks_fit_reduce(ctx, d, nacc, marg_block, &arg, acc);
    for (int kind = 0; rc == KS_OK && kind < KS_NKINDS; kind++) {
        rep->kind_first[kind] = row;
        for (int j = 0; j < rep->kind_n[kind]; j++, row++) {
            double *e = rep->e + (size_t)row * p;
            if (kind == KS_KIND_AME) {
                const double *s = acc + 1 + 2 * p + j * (1 + p + nx);
                int v = vars[j].v;
                snprintf(rep->name[row], sizeof rep->name[row], "%s", d->xname[v]);
                rep->value[row] = s[0] / n;
                for (int k = 0; k < p; k++)
                    e[k] = s[1 + k] / n;
                for (int k = 0; k < nx; k++)
                    e[k] += s[1 + p + k] / n;
            } else if (kind == KS_KIND_AME_PAPER) {
                double m0 = acc[0] / n;
                snprintf(rep->name[row], sizeof rep->name[row], "%s", d->xname[j]);
                rep->value[row] = st->beta[j] * m0;
                for (int k = 0; k < p; k++)
                    e[k] = st->beta[j] * acc[1 + k] / n;
                e[j] += m0;
            } else {
                double t = 0, df, f;
                for (int k = 0; k < p; k++)
                    t += st->beta[k] * acc[1 + p + k] / n;
                f = ks_glm_pdf(d->link, t, &df);
                snprintf(rep->name[row], sizeof rep->name[row], "%s", d->xname[j]);
                rep->value[row] = st->beta[j] * f;
                for (int k = 0; k < p; k++)
                    e[k] = st->beta[j] * df * acc[1 + p + k] / n;
                e[j] += f;
            }
        }
    }
    free(acc);
    return rc;
}

void ks_fit_report_free(ks_fit_report *rep)
{
    free(rep->e);
    free(rep->value);
    free(rep->name);
    memset(rep, 0, sizeof *rep);
}
