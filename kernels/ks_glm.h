/* ks_glm.h - the per-row arithmetic of binary-choice and linear models with
 * fixed effects: log-likelihood, gradient and Hessian of a block of rows.
 *
 * Pure compute: arrays in, arrays out; no MPI, HDF5 or logging.  x is held
 * by columns (each x term contiguous over the rows), as the vector loops
 * read it.  A row's
 * regressor vector is z = [x_0 .. x_{nx-1}, 1, dummies]: the dense x terms,
 * the intercept (parameter nx), and one 1 per fixed effect at the parameter
 * index fe[row][f] (-1 for the dropped base level).  A row therefore touches
 * nx + 1 + nfe parameters, not all p: the Hessian update is a small dense
 * outer product scattered into the p x p upper triangle. */
#ifndef KS_GLM_H
#define KS_GLM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

enum { KS_GLM_PROBIT, KS_GLM_LOGIT, KS_GLM_LPM };

#define KS_GLM_MAX_NZ 64 /* nx + 1 + nfe at most */

typedef struct ks_glm_rows {
    int link;          /* KS_GLM_* */
    int nx;            /* dense x terms */
    int nfe;           /* fixed effects per row */
    int p;             /* parameters: nx + 1 + fixed-effect levels */
    const double *x;   /* column-major: x_j of row i at x[j * ldx + i] */
    int64_t ldx;       /* the column stride of x (the number of rows) */
    const double *y;   /* [n], or NULL when y01 holds the outcome */
    const int32_t *fe; /* [n][nfe] parameter index, or -1 for the base level; or
                          NULL when run_fe holds the levels per run */
    /* The rows i > 0 whose levels differ from row i - 1's, ascending, or
     * NULL: the kernel then compares the levels of every row itself (fe is
     * needed then).  A design evaluated many times lists them once (stage
     * fit, as it sorts the rows) and the kernel reads no row's levels but a
     * run's first. */
    const int64_t *change;
    int64_t nchange;
    /* With fe NULL: the levels of each run of equal levels, [nchange + 1][nfe]
     * (run r starts at row change[r - 1], run 0 at row 0): a few bytes per
     * run instead of nfe int32 per row. */
    const int32_t *run_fe;
    /* A 0/1 outcome (probit, logit) in a byte a row instead of y: an eighth
     * of the memory and of the bytes each evaluation reads for it. */
    const uint8_t *y01;
    /* x term j's column at xcol[j] instead of x + j * ldx, or NULL: a design
     * keeps the columns it shares with the model before where they are. */
    const double *const *xcol;
} ks_glm_rows;

/* x term j's column. */
static inline const double *ks_glm_col(const ks_glm_rows *d, int j)
{
    return d->xcol ? d->xcol[j] : d->x + j * d->ldx;
}

/* How many of the listed level changes come before row i (binary search). */
static inline int64_t ks_glm_changes_before(const ks_glm_rows *d, int64_t i)
{
    int64_t lo = 0, hi = d->change ? d->nchange : 0;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (d->change[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The levels (parameter indices) of row i.  *run carries the run of the
 * row asked for before: -1 to search for it, and rows asked for in
 * ascending order move it forward. */
static inline const int32_t *ks_glm_levels(const ks_glm_rows *d, int64_t i, int64_t *run)
{
    if (d->fe)
        return d->fe + i * d->nfe;
    if (*run < 0) /* row i's run: the changes at or before it */
        *run = ks_glm_changes_before(d, i + 1);
    while (*run < d->nchange && d->change[*run] <= i)
        (*run)++;
    return d->run_fe + *run * d->nfe;
}

/* The outcome of row i. */
static inline double ks_glm_y(const ks_glm_rows *d, int64_t i)
{
    return d->y01 ? (double)d->y01[i] : d->y[i];
}

/* d log L_i / d xb and d2 log L_i / d xb2 with the log-likelihood itself.
 * Probit: log Phi(q xb) with q = 2y - 1, computed from erfc in the lower
 * tail and an asymptotic series below -37 (where erfc underflows), and the
 * Mills ratio for the derivatives, so no tail gives -inf or NaN.
 * Logit: the log1p(exp(-|t|)) form.  LPM: -r^2/2 (a Newton step is OLS). */
static inline double ks_glm_row(int link, double y, double t, double *d1, double *d2)
{
    if (link == KS_GLM_PROBIT) {
        double q = y > 0.5 ? 1.0 : -1.0, s = q * t, ll, lam;
        if (s < -37.0) {
            /* Phi(s) ~ phi(s)/(-s) (1 - u), u = 1/s^2 - 3/s^4 + 15/s^6 - 105/s^8 + 945/s^10
             * (the next term is below 1e-15 here).  lam + s = -s u / (1 - u) is formed
             * from u directly: lam and -s are nearly equal, their difference cancels. */
            double w = 1.0 / (s * s);
            double u = w * (1.0 - w * (3.0 - w * (15.0 - w * (105.0 - w * 945.0))));
            ll = -0.5 * s * s - log(-s) - 0.91893853320467274178 + log1p(-u);
            lam = -s / (1.0 - u);
            *d1 = q * lam;
            *d2 = -lam * (-s * u / (1.0 - u));
            return ll;
        } else {
            double Phi = 0.5 * erfc(-s * 0.70710678118654752440);
            double phi = 0.39894228040143267794 * exp(-0.5 * s * s);
            ll = s > 0.0 ? log1p(-0.5 * erfc(s * 0.70710678118654752440)) : log(Phi);
            lam = phi / Phi;
        }
        *d1 = q * lam;
        *d2 = -lam * (lam + s);
        return ll;
    }
    if (link == KS_GLM_LOGIT) {
        double e = exp(-fabs(t)), p = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        *d1 = y - p;
        *d2 = -p * (1.0 - p);
        return y * t - (t > 0 ? t : 0.0) - log1p(e);
    }
    {
        double r = y - t;
        *d1 = r;
        *d2 = -1.0;
        return -0.5 * r * r;
    }
}

/* The density of the link at t and its derivative (1 and 0 for LPM). */
static inline double ks_glm_pdf(int link, double t, double *dpdf)
{
    if (link == KS_GLM_PROBIT) {
        double f = 0.39894228040143267794 * exp(-0.5 * t * t);
        *dpdf = -t * f;
        return f;
    }
    if (link == KS_GLM_LOGIT) {
        double e = exp(-fabs(t)), p = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        double f = p * (1.0 - p);
        *dpdf = f * (1.0 - 2.0 * p);
        return f;
    }
    *dpdf = 0.0;
    return 1.0;
}

/* The nonzeros of row i, whose levels are lev (ks_glm_levels): parameter
 * indices and values; returns how many. */
static inline int ks_glm_nz(const ks_glm_rows *d, const int32_t *lev, int64_t i, int *idx, double *val)
{
    int m = 0;
    for (int j = 0; j < d->nx; j++) {
        idx[m] = j;
        val[m++] = ks_glm_col(d, j)[i];
    }
    idx[m] = d->nx;
    val[m++] = 1.0;
    for (int f = 0; f < d->nfe; f++) {
        int32_t k = lev[f];
        if (k >= 0) {
            idx[m] = k;
            val[m++] = 1.0;
        }
    }
    return m;
}

/* x_i'beta of row i, whose levels are lev: the intercept and the fixed
 * effects first, then the x terms (the order of the vector kernel, so the
 * same bits). */
static inline double ks_glm_index(const ks_glm_rows *d, const int32_t *lev, int64_t i, const double *beta)
{
    double t = beta[d->nx];
    for (int f = 0; f < d->nfe; f++) {
        int32_t k = lev[f];
        t += k >= 0 ? beta[k] : 0.0;
    }
    for (int j = 0; j < d->nx; j++)
        t += ks_glm_col(d, j)[i] * beta[j];
    return t;
}

/* Rows are processed in chunks of KS_GLM_CHUNK: the index of every row,
 * then the link's derivatives for the whole chunk with vectorised erfc, exp
 * and log (ks_vmath.h), then the sums. */
#define KS_GLM_CHUNK 256

/* The doubles of workspace ks_glm_accumulate needs for these rows. */
size_t ks_glm_work_doubles(const ks_glm_rows *d);

/* ks_glm_row for n rows at once: d1, d2 and the log-likelihood of every
 * (y[i], t[i]); erfc, exp and log vectorised (tmp: 2n doubles of scratch).
 * Agrees with ks_glm_row to a few ULP (different libm), both tails included. */
void ks_glm_link_many(int link, int64_t n, const double *y, const double *t, double *d1, double *d2,
                      double *ll, double *tmp);

/* Add rows [begin, end) to acc = [loglik, gradient (p), Hessian (p x p,
 * upper triangle only: H[a][b] with a <= b)].  The order of additions is a
 * function of begin and end alone (never of the caller's thread), so the
 * same block always gives the same bits.  work: ks_glm_work_doubles(d)
 * doubles, 64-byte aligned.
 * With want_hessian = 0 only loglik and gradient are touched.
 * Any row order is correct; rows with equal fixed-effect levels next to each
 * other are fast (the fixed effects are summed once per run of equal levels). */
void ks_glm_accumulate(const ks_glm_rows *d, const double *beta, int64_t begin, int64_t end,
                       int want_hessian, double *acc, double *work);

/* Fill the lower triangle of a p x p matrix from its upper triangle. */
void ks_glm_symmetrize(double *h, int p);

#endif
