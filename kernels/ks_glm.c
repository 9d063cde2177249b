/* ks_glm.c - see ks_glm.h. */
#include "ks_glm.h"

void ks_glm_accumulate(const ks_glm_rows *d, const double *beta, int64_t begin, int64_t end,
                       int want_hessian, double *acc)
{
    const int p = d->p;
    double *g = acc + 1, *h = acc + 1 + p;
    double ll = 0.0;
    int idx[KS_GLM_MAX_NZ];
    double val[KS_GLM_MAX_NZ];
    for (int64_t i = begin; i < end; i++) {
        double d1, d2, t = ks_glm_index(d, i, beta);
        int m = ks_glm_nz(d, i, idx, val);
        ll += ks_glm_row(d->link, d->y[i], t, &d1, &d2);
        for (int a = 0; a < m; a++)
            g[idx[a]] += d1 * val[a];
        if (!want_hessian)
            continue;
        /* indices ascend (x terms, intercept, then each fixed effect's
         * levels after the previous one's), so [a][b] with a <= b is upper */
        for (int a = 0; a < m; a++) {
            double wa = d2 * val[a];
            double *row = h + (int64_t)idx[a] * p;
            for (int b = a; b < m; b++)
                row[idx[b]] += wa * val[b];
        }
    }
    acc[0] += ll;
}

void ks_glm_symmetrize(double *h, int p)
{
    for (int a = 0; a < p; a++)
        for (int b = a + 1; b < p; b++)
            h[(int64_t)b * p + a] = h[(int64_t)a * p + b];
}
