/* ks_fit.c - stage fit: read the panel columns once, estimate every model of
 * the job (design, collinearity, Newton, margins, standard errors), hand the
 * results to the outputs.  docs/fit.md describes the solver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit.h"
#include "ks_fit_ckpt.h"
#include "ks_fit_internal.h"
#include "ks_fit_output.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* OpenBLAS (pthread build) splits LAPACK work over as many threads as
 * OpenMP has, and its blocking then depends on the thread count: the small
 * p x p factorizations here run on one thread so that the bits do not. */
void openblas_set_num_threads(int num_threads);

/* Upper tail of Student's t with df degrees of freedom, two-sided, from the
 * regularized incomplete beta function (continued fraction). */
static double betacf(double a, double b, double x)
{
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;
    d = fabs(d) < 1e-300 ? 1e-300 : d;
    d = 1.0 / d;
    h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)), del;
        d = 1.0 + aa * d;
        d = fabs(d) < 1e-300 ? 1e-300 : d;
        c = 1.0 + aa / c;
        c = fabs(c) < 1e-300 ? 1e-300 : c;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
        d = 1.0 + aa * d;
        d = fabs(d) < 1e-300 ? 1e-300 : d;
        c = 1.0 + aa / c;
        c = fabs(c) < 1e-300 ? 1e-300 : c;
        d = 1.0 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15)
            break;
    }
    return h;
}

static double t_pvalue(double t, double df)
{
    double x = df / (df + t * t), a = df / 2.0, b = 0.5, bt;
    if (!isfinite(t))
        return t == t ? 0.0 : NAN;
    bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    return x < (a + 1.0) / (a + b + 2.0) ? bt * betacf(a, b, x) / a : 1.0 - bt * betacf(b, a, 1.0 - x) / b;
}

static void fill_term(ks_term_estimate *t, const char *name, double est, double var, int lpm, double df)
{
    snprintf(t->term, sizeof t->term, "%s", name);
    t->estimate = est;
    t->std_error = var > 0 ? sqrt(var) : (var == 0 ? 0.0 : NAN);
    t->z = t->std_error > 0 ? est / t->std_error : NAN;
    t->p_value = !isfinite(t->z) ? NAN : lpm ? t_pvalue(t->z, df) : erfc(fabs(t->z) / M_SQRT2);
}

static int fill_result(ks_ctx *ctx, const ks_fit_design *d, const ks_fit_state *st,
                       const ks_fit_report *rep, const double *cov, ks_model_result *r)
{
    int nt = d->nx + 1, na = rep->na, k = 0, lpm = d->link == KS_GLM_LPM;
    double n = (double)d->n, n1 = (double)d->n_pos, df;
    for (int j = 0; j < d->p; j++)
        k += d->active[j];
    df = n - k;
    r->n = d->n;
    r->n_positive = d->n_pos;
    r->k = k;
    r->iterations = st->iterations;
    r->converged = st->converged;
    if (lpm) {
        /* Gaussian log-likelihood at the OLS fit; R^2 from SSR and SST */
        double ssr = -2.0 * st->ll, ybar = n1 / n, sst = 0;
        (void)ybar;
        sst = st->sst;
        r->loglik = -0.5 * n * (log(2.0 * M_PI * ssr / n) + 1.0);
        r->loglik_null = -0.5 * n * (log(2.0 * M_PI * sst / n) + 1.0);
        r->pseudo_r2 = sst > 0 ? 1.0 - ssr / sst : NAN;
    } else {
        double pr = n1 / n;
        r->loglik = st->ll;
        r->loglik_null = (n1 > 0 ? n1 * log(pr) : 0.0) + (n - n1 > 0 ? (n - n1) * log1p(-pr) : 0.0);
        r->pseudo_r2 = r->loglik_null != 0 ? 1.0 - r->loglik / r->loglik_null : NAN;
    }
    r->aic = -2.0 * r->loglik + 2.0 * k;
    for (int f = 0; f < d->nfe && f < 8; f++)
        r->n_fe_levels[f] = d->fe_levels[f];
    r->n_terms = nt;
    KS_CHECK(ks_calloc(ctx, &r->terms, (size_t)nt, sizeof *r->terms, "terms"));
    KS_CHECK(ks_calloc(ctx, &r->cov, (size_t)(nt * nt), sizeof *r->cov, "cov"));
    for (int i = 0; i < nt; i++) {
        fill_term(&r->terms[i], rep->name[i], rep->value[i], cov[i * na + i], lpm, df);
        if (!d->active[i])
            r->terms[i].std_error = r->terms[i].z = r->terms[i].p_value = NAN;
        for (int j = 0; j < nt; j++)
            r->cov[i * nt + j] = cov[i * na + j];
    }
    for (int kind = 0; kind < KS_NKINDS; kind++) {
        int m = rep->kind_n[kind], f = rep->kind_first[kind];
        r->n_margins[kind] = m;
        if (!m)
            continue;
        KS_CHECK(ks_calloc(ctx, &r->margins[kind], (size_t)m, sizeof **r->margins, "margins"));
        for (int i = 0; i < m; i++)
            fill_term(&r->margins[kind][i], rep->name[f + i], rep->value[f + i],
                      cov[(f + i) * na + f + i], lpm, df);
    }
    if (d->spec->standardize) {
        KS_CHECK(ks_calloc(ctx, &r->standardize_sd, (size_t)nt, sizeof(double), "sd"));
        for (int j = 0; j < d->nx; j++)
            r->standardize_sd[j] = d->sd[j];
        r->standardize_sd[d->nx] = NAN; /* the intercept is not standardized */
    }
    return KS_OK;
}

/* LPM's null model: the total sum of squares, in fixed block order. */
static void sst_block(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const double *ybar = arg;
    for (int64_t i = b; i < e; i++)
        acc[0] += (d->y[i] - *ybar) * (d->y[i] - *ybar);
}

static void ysum_block(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    (void)arg;
    for (int64_t i = b; i < e; i++)
        acc[0] += d->y[i];
}

/* One model, start to end.  A model that cannot be estimated (no rows, not
 * identified) is reported as such; other errors stop the job. */
/* A model the checkpoint has seen restarts from its recorded coefficients
 * and step count (ks_fit_ckpt.h says why the results are the same bits). */
static void resume_model(const ks_fit_ckpt *ckpt, const ks_fit_design *d, ks_fit_state *st)
{
    const ks_fit_ckpt_model *cm = ckpt ? ks_fit_ckpt_find(ckpt, d->spec->name) : NULL;
    if (!cm || cm->p != d->p)
        return;
    memcpy(st->beta, cm->beta, sizeof *st->beta * (size_t)d->p);
    st->iterations0 = cm->iterations;
    st->evaluated = 0; /* the evaluation at zero is not the one at beta */
}

/* A model's estimate kept for the next one: a model that differs only in
 * its margins, title or name (Table 1's (6) is (5) with margins) has the same
 * design and Newton path, bit for bit, so it starts from here instead. */
typedef struct ks_fit_estimate {
    int valid;
    const ks_model_spec *spec;  /* the model it was made for */
    ks_fit_design d;
    ks_fit_state st;            /* beta, g, h at the estimates; ll, sst, iterations */
    size_t notes_len;           /* the design's notes before margins and SEs added any */
} ks_fit_estimate;

static void estimate_free(ks_fit_estimate *e)
{
    ks_fit_design_free(&e->d);
    free(e->st.beta);
    free(e->st.g);
    free(e->st.h);
    memset(e, 0, sizeof *e);
}

/* Everything the design and the estimation read is the same. */
static int same_estimation(const ks_model_spec *a, const ks_model_spec *b)
{
    return !strcmp(a->y, b->y) && ks_strlist_equal(&a->x, &b->x) && ks_strlist_equal(&a->fe, &b->fe) &&
           a->link == b->link && a->se == b->se && !strcmp(a->cluster, b->cluster) &&
           a->standardize == b->standardize && !strcmp(a->where, b->where);
}

/* The design and the Newton iterations of model m into e (e->valid). */
static int estimate(ks_ctx *ctx, const ks_job *job, const ks_fit_panel *pn, const ks_model_spec *m,
                    ks_fit_scratch *scratch, ks_fit_ckpt *ckpt, ks_fit_estimate *e)
{
    ks_fit_design *d = &e->d;
    ks_fit_state *st = &e->st;
    double t0 = ks_now();
    int rc = ks_fit_design_build(ctx, pn, m, scratch, d);
    if (rc == KS_OK)
        ks_info(ctx, "fit: model %s: design of %lld rows x %d parameters in %.3f s", m->name,
                (long long)d->n, d->p, ks_now() - t0);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &st->beta, (size_t)d->p, sizeof(double), "beta");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &st->g, (size_t)d->p, sizeof(double), "gradient");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &st->h, (size_t)(d->p * d->p), sizeof(double), "hessian");
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_fit_collinear(ctx, d, st);
    if (rc == KS_OK) {
        resume_model(ckpt, d, st);
        st->ckpt = ckpt;
        rc = ks_fit_newton(ctx, job, d, st);
        st->ckpt = NULL;
    }
    if (rc == KS_OK && d->link == KS_GLM_LPM) {
        double ysum, ybar;
        rc = ks_fit_reduce(ctx, d, 1, ysum_block, NULL, &ysum);
        ybar = ysum / (double)d->n;
        if (rc == KS_OK)
            rc = ks_fit_reduce(ctx, d, 1, sst_block, &ybar, &st->sst);
    }
    e->valid = rc == KS_OK;
    e->spec = m;
    e->notes_len = d->notes.len;
    return rc;
}

/* One model, start to end: estimated, or taken from the previous model's
 * estimate `e` when only margins or labels differ; then its covariance,
 * margins, SEs and result.  e keeps this model's estimate for the next.  A
 * model that cannot be estimated (no rows, not identified) is reported as
 * such; other errors stop the job. */
static int fit_model(ks_ctx *ctx, const ks_job *job, const ks_fit_panel *pn, const ks_model_spec *m,
                     ks_fit_scratch *scratch, ks_fit_estimate *e, ks_fit_ckpt *ckpt,
                     ks_model_result *r)
{
    ks_fit_report rep;
    double *v = NULL, *cov = NULL, t0 = ks_now();
    int rc = KS_OK;
    memset(&rep, 0, sizeof rep);
    r->spec = m;
    if (e->valid && same_estimation(e->spec, m)) {
        ks_info(ctx, "fit: model %s: the estimate of model %s (the same but for margins or "
                "labels)", m->name, e->spec->name);
        e->spec = m;
        e->d.spec = m;
        e->d.notes.len = e->notes_len; /* the previous model's margin notes are not this one's */
        if (e->d.notes.data)
            e->d.notes.data[e->notes_len] = '\0';
    } else {
        estimate_free(e); /* before the build: the design buffers are reused */
        rc = estimate(ctx, job, pn, m, scratch, ckpt, e);
    }
    ks_fit_design *d = &e->d;
    ks_fit_state *st = &e->st;
    if (rc == KS_OK && ckpt)
        rc = ks_fit_ckpt_save(ctx, ckpt, m->name, 1, st->iterations, d->p, st->beta);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_calloc(ctx, &v, (size_t)(d->p * d->p), sizeof(double), "covariance"));
    if (rc == KS_OK)
        rc = ks_fit_invert(ctx, d, st->h, v);
    if (rc == KS_OK)
        rc = ks_fit_margins(ctx, d, st, &rep);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_calloc(ctx, &cov, (size_t)(rep.na * rep.na), sizeof(double), "cov"));
    if (rc == KS_OK)
        rc = ks_fit_se(ctx, d, st, v, &rep, cov, r->se_label, sizeof r->se_label);
    if (rc == KS_OK)
        rc = fill_result(ctx, d, st, &rep, cov, r);
    if (rc == KS_OK)
        r->estimated = 1;
    else if (rc == KS_EINPUT) {
        /* the same on every rank: every decision above is on reduced values */
        ks_warn(ctx, "model %s not estimated: %s", m->name, ctx->msg);
        snprintf(r->message, sizeof r->message, "not estimated: %.480s", ctx->msg);
        ks_clear_error(ctx);
        rc = KS_OK;
    }
    if (r->estimated && d->notes.len)
        snprintf(r->message, sizeof r->message, "%.511s", d->notes.data);
    r->seconds = ks_now() - t0;
    if (r->estimated)
        ks_info(ctx, "model %s: N = %lld, loglik %.6f, %d iterations%s, %.3f s", m->name,
                (long long)r->n, r->loglik, r->iterations, r->converged ? "" : " (NOT converged)",
                r->seconds);
    if (!r->estimated)
        estimate_free(e); /* nothing to start the next model from */
    ks_fit_report_free(&rep);
    free(v);
    free(cov);
    return rc;
}

/* KS_FIT_DUMP=PATH: rank 0 writes every number of the results with %.17g,
 * for the tests that compare runs bit for bit and against statsmodels
 * without depending on the output files' formatting. */
static void dump_results(const ks_ctx *ctx, const ks_model_result *rs, int n)
{
    const char *path = getenv("KS_FIT_DUMP");
    FILE *f;
    static const char *kinds[KS_NKINDS] = {"ame", "ame_paper", "mem"};
    if (!path || !*path || ctx->rank != 0 || !(f = fopen(path, "w")))
        return;
    for (int i = 0; i < n; i++) {
        const ks_model_result *r = &rs[i];
        fprintf(f, "model %s estimated %d converged %d iterations %d n %lld npos %lld k %d "
                "loglik %.17g loglik_null %.17g pseudo_r2 %.17g aic %.17g se %s\n",
                r->spec->name, r->estimated, r->converged, r->iterations, (long long)r->n,
                (long long)r->n_positive, r->k, r->loglik, r->loglik_null, r->pseudo_r2, r->aic,
                r->se_label);
        for (int j = 0; j < r->n_terms; j++)
            fprintf(f, "coef %s %s %.17g %.17g %.17g %.17g\n", r->spec->name, r->terms[j].term,
                    r->terms[j].estimate, r->terms[j].std_error, r->terms[j].z, r->terms[j].p_value);
        for (int j = 0; j < r->n_terms * r->n_terms; j++)
            fprintf(f, "cov %s %d %.17g\n", r->spec->name, j, r->cov[j]);
        for (int kk = 0; kk < KS_NKINDS; kk++)
            for (int j = 0; j < r->n_margins[kk]; j++)
                fprintf(f, "%s %s %s %.17g %.17g\n", kinds[kk], r->spec->name,
                        r->margins[kk][j].term, r->margins[kk][j].estimate,
                        r->margins[kk][j].std_error);
        if (r->standardize_sd)
            for (int j = 0; j + 1 < r->n_terms; j++)
                fprintf(f, "sd %s %s %.17g\n", r->spec->name, r->terms[j].term, r->standardize_sd[j]);
    }
    fclose(f);
}

int ks_fit_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_fit_panel pn;
    ks_fit_ckpt ckpt;
    ks_fit_scratch scratch;
    ks_fit_estimate est;
    ks_model_result *rs = NULL;
    int rc, n = job->n_models;
    double t0 = ks_now();
    memset(&ckpt, 0, sizeof ckpt);
    memset(&scratch, 0, sizeof scratch);
    memset(&est, 0, sizeof est);
    for (int i = 0; i < n; i++)
        if ((int)job->models[i].x.n > scratch.x_columns)
            scratch.x_columns = (int)job->models[i].x.n;
    openblas_set_num_threads(1);
    if (n == 0)
        return ks_fail(ctx, KS_EUSAGE, "fit: %s declares no [model.NAME] section", job->path);
    rc = ks_fit_panel_read(ctx, job, &pn);
    if (rc != KS_OK)
        return rc;
    ks_info(ctx, "fit: read %d columns in %.2f s", pn.ncols, ks_now() - t0);
    rc = ks_mpi_agree(ctx, ks_calloc(ctx, &rs, (size_t)n, sizeof *rs, "results"));
    if (rc == KS_OK)
        rc = ks_fit_ckpt_open(ctx, job, stamp ? stamp->fingerprint : NULL, NULL, &ckpt);
    for (int i = 0; rc == KS_OK && i < n; i++) {
        int stop = 0;
        rc = fit_model(ctx, job, &pn, &job->models[i], &scratch, &est, &ckpt, &rs[i]);
        if (rc == KS_OK)
            rc = ks_mpi_stop_requested(ctx, &stop);
        if (rc == KS_OK && stop && i + 1 < n)
            rc = ks_fail(ctx, KS_EINTERRUPTED, "fit stopped by a signal after model %s%s",
                         job->models[i].name,
                         ckpt.fingerprint[0] ? "; the checkpoint is saved: run the same command "
                                               "again to resume" : "");
    }
    estimate_free(&est); /* its design borrows the scratch */
    ks_fit_scratch_free(&scratch);
    ks_fit_panel_free(&pn);
    if (rc == KS_OK) {
        dump_results(ctx, rs, n);
        rc = ks_fit_write_outputs(ctx, job, rs, n, stamp);
    }
    if (rc == KS_OK)
        rc = ks_fit_ckpt_finish(ctx, &ckpt);
    ks_fit_ckpt_free(&ckpt);
    for (int i = 0; rs && i < n; i++)
        ks_model_result_free(&rs[i]);
    free(rs);
    return rc;
}

int ks_fit_run_one(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp, const char *model)
{
    ks_fit_estimate one;
    ks_fit_panel pn;
    ks_fit_ckpt ckpt;
    ks_model_result r;
    const ks_model_spec *m = NULL;
    int rc;
    for (int i = 0; i < job->n_models; i++)
        if (!strcmp(job->models[i].name, model))
            m = &job->models[i];
    if (!m)
        return ks_fail(ctx, KS_EUSAGE, "fit --model %s: %s declares no [model.%s]", model, job->path,
                       model);
    if (!stamp || !stamp->fingerprint[0])
        return ks_fail(ctx, KS_EINTERNAL, "fit --model %s: no fingerprint to record it under", model);
    openblas_set_num_threads(1);
    memset(&r, 0, sizeof r);
    KS_CHECK(ks_fit_panel_read(ctx, job, &pn));
    memset(&one, 0, sizeof one);
    rc = ks_fit_ckpt_open(ctx, job, stamp->fingerprint, model, &ckpt);
    if (rc == KS_OK)
        rc = fit_model(ctx, job, &pn, m, NULL, &one, &ckpt, &r);
    estimate_free(&one);
    if (rc == KS_OK)
        ks_info(ctx, "fit: model %s recorded in %s; a fit of the whole job picks it up", model, ckpt.path);
    ks_fit_panel_free(&pn);
    ks_model_result_free(&r);
    ks_fit_ckpt_free(&ckpt);
    return rc;
}
