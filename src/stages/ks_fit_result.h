/* ks_fit_result.h - what an estimated model is, as the solver hands it to the
 * outputs (results.h5, estimates.csv, tables).  The solver files fill it;
 * ks_fit_output*.c read it.  Everything here is the same on every rank. */
#ifndef KS_FIT_RESULT_H
#define KS_FIT_RESULT_H

#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h"

/* One reported term: a coefficient or a marginal effect. */
typedef struct ks_term_estimate {
    char term[96];        /* "density_firm", "density_firm*density_city", "_cons" */
    double estimate;
    double std_error;
    double z;             /* estimate / std_error (t for lpm) */
    double p_value;       /* two-sided, normal (t with n-k df for lpm) */
} ks_term_estimate;

enum { KS_KIND_AME, KS_KIND_AME_PAPER, KS_KIND_MEM, KS_NKINDS };

typedef struct ks_model_result {
    const ks_model_spec *spec;
    int estimated;             /* 0: could not be estimated (reason in message) */
    char message[512];         /* dropped columns, empty levels, non-convergence, ... */
    int converged;
    int iterations;
    double seconds;
    int64_t n;                 /* rows in the estimation sample */
    int64_t n_positive;        /* rows with y = 1 (probit, logit), or y != 0 */
    double loglik, loglik_null;
    double pseudo_r2;          /* McFadden: 1 - loglik / loglik_null (R^2 for lpm) */
    double aic;                /* -2 loglik + 2 k */
    int k;                     /* estimated parameters, fixed-effect levels included */
    /* the regressors (x terms) and the intercept "_cons", in job order then
     * _cons; fixed-effect dummies are not reported term by term */
    int n_terms;
    ks_term_estimate *terms;
    double *cov;               /* [n_terms][n_terms] covariance of the terms */
    int n_fe_levels[8];        /* levels estimated for each fixed effect of spec->fe */
    /* marginal effects of each kind requested (spec->margins), per x term */
    int n_margins[KS_NKINDS];
    ks_term_estimate *margins[KS_NKINDS];
    double *standardize_sd;    /* [n_terms]: sd used when spec->standardize (else NULL) */
    char se_label[96];         /* "OIM", "robust", "clustered by firm (G = 1234)" */
} ks_model_result;

void ks_model_result_free(ks_model_result *r);

#endif
