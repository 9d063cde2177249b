/* ks_fit_output.c - the outputs of stage fit: results.h5 (every estimate,
 * covariance, margins, statistic and the model's spec), estimates.csv (long
 * form, for R, Stata and spreadsheets) and the tables of ks_fit_tables.c.
 *
 * Results are the same on every rank: results.h5 is written collectively
 * (rank 0 supplies the data), the text files by rank 0 alone, each under a
 * temporary name renamed when complete.  docs/fit.md ("Outputs") is the
 * reader's description of all of it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_fit.h"
#include "ks_fit_output.h"
#include "ks_fs.h"
#include "ks_h5.h"
#include "ks_mpi.h"

#define KS_RESULTS_FORMAT_VERSION 1

static const char *const kind_name[KS_NKINDS] = {"ame", "ame_paper", "mem"};

/* ---- text files ---- */

int ks_fit_write_text(ks_ctx *ctx, const char *path, const char *data, size_t len)
{
    char tmp[KS_PATH_MAX + 16];
    const char *slash = strrchr(path, '/');
    FILE *f;
    int ok;
    int w = slash ? snprintf(tmp, sizeof tmp, "%.*s/.%s.partial", (int)(slash - path), path, slash + 1)
                  : snprintf(tmp, sizeof tmp, ".%s.partial", path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return ks_fail(ctx, KS_EUSAGE, "output path %s is too long", path);
    f = fopen(tmp, "wb");
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
    ok = fwrite(data, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok; /* a full disk often shows only here */
    if (!ok) {
        int e = errno;
        unlink(tmp);
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return KS_OK;
}

/* ---- estimates.csv ---- */

/* %.17g reads back to the same double; missing values are empty fields,
 * which R, Stata and pandas read as missing. */
static int csv_number(ks_ctx *ctx, ks_buf *b, double x)
{
    if (isnan(x))
        return ks_buf_printf(ctx, b, ",");
    if (isinf(x))
        return ks_buf_printf(ctx, b, ",%s", x > 0 ? "Inf" : "-Inf");
    return ks_buf_printf(ctx, b, ",%.17g", x);
}

static int csv_rows(ks_ctx *ctx, ks_buf *b, const char *model, const ks_term_estimate *terms,
                    int n, const char *kind)
{
    for (int i = 0; i < n; i++) {
        KS_CHECK(ks_buf_csv_field(ctx, b, model));
        KS_CHECK(ks_buf_printf(ctx, b, ","));
        KS_CHECK(ks_buf_csv_field(ctx, b, terms[i].term));
        KS_CHECK(csv_number(ctx, b, terms[i].estimate));
        KS_CHECK(csv_number(ctx, b, terms[i].std_error));
        KS_CHECK(csv_number(ctx, b, terms[i].z));
        KS_CHECK(csv_number(ctx, b, terms[i].p_value));
        KS_CHECK(ks_buf_printf(ctx, b, ",%s\n", kind));
    }
    return KS_OK;
}

int ks_fit_estimates_csv(ks_ctx *ctx, const ks_model_result *results, int n, ks_buf *out)
{
    KS_CHECK(ks_buf_printf(ctx, out, "model,term,estimate,std_error,z,p_value,kind\n"));
    for (int m = 0; m < n; m++) {
        const ks_model_result *r = &results[m];
        if (!r->estimated)
            continue; /* nothing to report; results.h5 and the tables say why */
        if (r->terms)
            KS_CHECK(csv_rows(ctx, out, r->spec->name, r->terms, r->n_terms, "coefficient"));
        for (int k = 0; k < KS_NKINDS; k++)
            if (r->margins[k])
                KS_CHECK(csv_rows(ctx, out, r->spec->name, r->margins[k], r->n_margins[k],
                                  kind_name[k]));
    }
    return KS_OK;
}

/* ---- results.h5 ---- */

static const char *link_name(ks_link l)
{
    return l == KS_LINK_LOGIT ? "logit" : l == KS_LINK_LPM ? "lpm" : "probit";
}

static int join_list(ks_ctx *ctx, const ks_strlist *l, ks_buf *b)
{
    b->len = 0;
    KS_CHECK(ks_buf_printf(ctx, b, "%s", ""));
    for (size_t i = 0; i < l->n; i++)
        KS_CHECK(ks_buf_printf(ctx, b, "%s%s", i ? ", " : "", l->items[i]));
    return KS_OK;
}

static int spec_attrs(ks_ctx *ctx, hid_t g, const ks_model_spec *s)
{
    ks_buf b = {0};
    char se[96];
    int rc;
    snprintf(se, sizeof se, "%s%s", s->se == KS_SE_OIM ? "oim" : s->se == KS_SE_ROBUST ? "robust"
                                                                                      : "cluster:",
             s->se == KS_SE_CLUSTER ? s->cluster : "");
    rc = ks_h5_attr_string(ctx, g, "y", s->y);
    if (rc == KS_OK && (rc = join_list(ctx, &s->x, &b)) == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "x", b.data);
    if (rc == KS_OK && (rc = join_list(ctx, &s->fe, &b)) == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "fe", b.data);
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "link", link_name(s->link));
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "se", se);
    if (rc == KS_OK) {
        b.len = 0;
        for (int k = 0; k < KS_NKINDS && rc == KS_OK; k++)
            if (s->margins & (1 << k))
                rc = ks_buf_printf(ctx, &b, "%s%s", b.len ? ", " : "", kind_name[k]);
        if (rc == KS_OK)
            rc = ks_buf_printf(ctx, &b, "%s", "");
        if (rc == KS_OK)
            rc = ks_h5_attr_string(ctx, g, "margins", b.data);
    }
    if (rc == KS_OK)
        rc = ks_h5_attr_i64(ctx, g, "standardize", s->standardize);
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "where", s->where);
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "title", s->title[0] ? s->title : s->name);
    ks_buf_free(&b);
    return rc;
}

static int stat_attrs(ks_ctx *ctx, hid_t g, const ks_model_result *r)
{
    KS_CHECK(ks_h5_attr_i64(ctx, g, "estimated", r->estimated));
    KS_CHECK(ks_h5_attr_string(ctx, g, "message", r->message));
    KS_CHECK(ks_h5_attr_string(ctx, g, "se_label", r->se_label));
    KS_CHECK(ks_h5_attr_i64(ctx, g, "converged", r->converged));
    KS_CHECK(ks_h5_attr_i64(ctx, g, "iterations", r->iterations));
    KS_CHECK(ks_h5_attr_f64(ctx, g, "seconds", r->seconds));
    KS_CHECK(ks_h5_attr_i64(ctx, g, "n", r->n));
    KS_CHECK(ks_h5_attr_i64(ctx, g, "n_positive", r->n_positive));
    KS_CHECK(ks_h5_attr_f64(ctx, g, "loglik", r->loglik));
    KS_CHECK(ks_h5_attr_f64(ctx, g, "loglik_null", r->loglik_null));
    KS_CHECK(ks_h5_attr_f64(ctx, g, "pseudo_r2", r->pseudo_r2));
    KS_CHECK(ks_h5_attr_f64(ctx, g, "aic", r->aic));
    return ks_h5_attr_i64(ctx, g, "k", r->k);
}

/* terms, estimate, std_error, z, p_value of one array of estimates. */
static int write_terms(ks_ctx *ctx, hid_t g, const ks_term_estimate *t, int n)
{
    const char **names = NULL;
    double *col = NULL;
    static const char *const cols[4] = {"estimate", "std_error", "z", "p_value"};
    int rc = ks_calloc(ctx, &names, (size_t)(n > 0 ? n : 1), sizeof *names, "term names");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &col, (size_t)(n > 0 ? n : 1), sizeof *col, "term column");
    for (int i = 0; i < n && rc == KS_OK; i++)
        names[i] = t[i].term;
    if (rc == KS_OK)
        rc = ks_h5_write_strings(ctx, g, "terms", names, ctx->rank == 0 ? n : 0,
                                 ctx->rank == 0 ? 0 : n, n);
    for (int c = 0; c < 4 && rc == KS_OK; c++) {
        for (int i = 0; i < n; i++)
            col[i] = c == 0 ? t[i].estimate : c == 1 ? t[i].std_error : c == 2 ? t[i].z : t[i].p_value;
        rc = ks_h5_write_root(ctx, g, cols[c], H5T_NATIVE_DOUBLE, col, n);
    }
    free(names);
    free(col);
    return rc;
}

static int write_margins(ks_ctx *ctx, hid_t model, const ks_model_result *r)
{
    for (int k = 0; k < KS_NKINDS; k++) {
        char path[64];
        hid_t g;
        int rc;
        if (!r->margins[k])
            continue;
        snprintf(path, sizeof path, "margins/%s", kind_name[k]);
        KS_CHECK(ks_h5_group(ctx, model, path, &g));
        rc = write_terms(ctx, g, r->margins[k], r->n_margins[k]);
        H5Gclose(g);
        KS_CHECK(rc);
    }
    return KS_OK;
}

static int write_estimates(ks_ctx *ctx, hid_t g, const ks_model_result *r)
{
    int64_t levels[8] = {0};
    int nfe = (int)(r->spec->fe.n < 8 ? r->spec->fe.n : 8);
    static const double none = 0;
    for (int i = 0; i < nfe; i++)
        levels[i] = r->n_fe_levels[i];
    KS_CHECK(write_terms(ctx, g, r->terms, r->terms ? r->n_terms : 0));
    KS_CHECK(ks_h5_write_root_2d(ctx, g, "cov", H5T_NATIVE_DOUBLE, r->cov ? r->cov : &none,
                                 r->cov ? r->n_terms : 0, r->cov ? r->n_terms : 0));
    KS_CHECK(ks_h5_write_root(ctx, g, "fe_levels", H5T_NATIVE_INT64, levels, nfe));
    if (r->standardize_sd)
        KS_CHECK(ks_h5_write_root(ctx, g, "standardize_sd", H5T_NATIVE_DOUBLE, r->standardize_sd,
                                  r->n_terms));
    return write_margins(ctx, g, r);
}

static int write_model(ks_ctx *ctx, hid_t models, const ks_model_result *r)
{
    hid_t g;
    int rc;
    if (!r->spec)
        return ks_fail(ctx, KS_EINTERNAL, "ks_fit_output.c: a model result has no spec");
    KS_CHECK(ks_h5_group(ctx, models, r->spec->name, &g));
    rc = spec_attrs(ctx, g, r->spec);
    if (rc == KS_OK)
        rc = stat_attrs(ctx, g, r);
    /* a model that could not be estimated keeps its spec and message only */
    if (rc == KS_OK && r->estimated)
        rc = write_estimates(ctx, g, r);
    H5Gclose(g);
    return rc;
}

static int write_h5_content(ks_ctx *ctx, const ks_job *job, const ks_model_result *results, int n,
                            hid_t file)
{
    hid_t models;
    int rc;
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_format", "results"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "format_version", KS_RESULTS_FORMAT_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_version", KS_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "job", job->name));
    KS_CHECK(ks_h5_group(ctx, file, "models", &models));
    rc = ks_h5_attr_i64(ctx, models, "n_models", n);
    for (int m = 0; m < n && rc == KS_OK; m++)
        rc = write_model(ctx, models, &results[m]);
    H5Gclose(models);
    return rc;
}

int ks_fit_write_results_h5(ks_ctx *ctx, const ks_job *job, const ks_model_result *results,
                            int n, const ks_stamp *stamp, const char *path)
{
    ks_h5_file f;
    int rc = ks_h5_create(ctx, &f, path);
    rc = ks_mpi_agree(ctx, rc);
    if (rc != KS_OK) {
        ks_h5_abort(ctx, &f); /* the ranks whose create succeeded */
        return rc;
    }
    rc = write_h5_content(ctx, job, results, n, f.id);
    if (rc == KS_OK)
        rc = ks_stamp_write_h5(ctx, f.id, stamp);
    rc = ks_mpi_agree(ctx, rc);
    if (rc != KS_OK) {
        ks_h5_abort(ctx, &f);
        return ks_fail_context(ctx, "writing %s", path);
    }
    return ks_h5_commit(ctx, &f);
}

/* ---- tables ---- */

static const char *const format_ext[3] = {"md", "csv", "tex"};

/* One table in its three formats (and its margins companion), written by
 * rank 0. */
static int write_table(ks_ctx *ctx, const ks_job *job, const ks_table_spec *spec,
                       const ks_model_result *results, int n)
{
    const char *name = spec ? spec->name : "models";
    int rc = KS_OK;
    for (int margins = 0; margins < 2 && rc == KS_OK; margins++) {
        for (int f = 0; f < 3 && rc == KS_OK; f++) {
            ks_buf text = {0};
            char rel[128], path[KS_PATH_MAX];
            int empty = 0;
            rc = ks_fit_table_render(ctx, job, spec, results, n, margins, (ks_table_format)f,
                                     &text, &empty);
            snprintf(rel, sizeof rel, "tables/%s%s.%s", name, margins ? "_margins" : "",
                     format_ext[f]);
            if (rc == KS_OK)
                rc = ks_job_output(ctx, job, rel, path, sizeof path);
            /* an empty table is not written: remove one an earlier fit left,
             * so that tables/ holds this fit's tables only */
            if (rc == KS_OK && empty && unlink(path) != 0 && errno != ENOENT)
                rc = ks_fail(ctx, KS_EIO, "cannot remove the outdated %s: %s", path, strerror(errno));
            if (rc == KS_OK && !empty)
                rc = ks_fit_write_text(ctx, path, text.data, text.len);
            ks_buf_free(&text);
        }
    }
    return rc;
}

static int write_texts(ks_ctx *ctx, const ks_job *job, const ks_model_result *results, int n)
{
    ks_buf csv = {0};
    char path[KS_PATH_MAX];
    int rc = ks_fit_estimates_csv(ctx, results, n, &csv);
    if (rc == KS_OK)
        rc = ks_job_output(ctx, job, "estimates.csv", path, sizeof path);
    if (rc == KS_OK)
        rc = ks_fit_write_text(ctx, path, csv.data, csv.len);
    ks_buf_free(&csv);
    if (rc == KS_OK && job->n_tables == 0)
        rc = write_table(ctx, job, NULL, results, n);
    for (int t = 0; t < job->n_tables && rc == KS_OK; t++)
        rc = write_table(ctx, job, &job->tables[t], results, n);
    return rc;
}

int ks_fit_write_outputs(ks_ctx *ctx, const ks_job *job, ks_model_result *results, int n,
                         const ks_stamp *stamp)
{
    char path[KS_PATH_MAX];
    int rc;
    KS_CHECK(ks_job_output(ctx, job, "tables", path, sizeof path));
    KS_CHECK(ks_fs_mkdirs_collective(ctx, path));
    rc = ctx->rank == 0 ? write_texts(ctx, job, results, n) : KS_OK;
    KS_CHECK(ks_mpi_agree(ctx, rc));
    /* last: kspill run takes a results.h5 with the job's fingerprint to mean
     * that every output of the fit is there */
    KS_CHECK(ks_job_output(ctx, job, "results.h5", path, sizeof path));
    return ks_fit_write_results_h5(ctx, job, results, n, stamp, path);
}

/* Print one table file (Markdown) after a blank line, as the fit wrote it. */
static int print_file(ks_ctx *ctx, const char *path, int required)
{
    char buf[65536];
    size_t got;
    FILE *f = fopen(path, "rb");
    if (!f && !required && errno == ENOENT)
        return KS_OK;
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot read %s: %s (run kspill fit first)", path, strerror(errno));
    fputc('\n', stdout);
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, stdout);
    fclose(f);
    return KS_OK;
}

int ks_fit_print_tables(ks_ctx *ctx, const ks_job *job)
{
    int rc = KS_OK;
    for (int t = 0; ctx->rank == 0 && rc == KS_OK && t < (job->n_tables ? job->n_tables : 1); t++) {
        const char *name = job->n_tables ? job->tables[t].name : "models";
        for (int margins = 0; margins < 2 && rc == KS_OK; margins++) {
            char rel[128], path[KS_PATH_MAX];
            snprintf(rel, sizeof rel, "tables/%s%s.md", name, margins ? "_margins" : "");
            rc = ks_job_output(ctx, job, rel, path, sizeof path);
            if (rc == KS_OK) /* the margins companion exists only for models with margins */
                rc = print_file(ctx, path, !margins);
        }
    }
    fflush(stdout);
    return ks_mpi_agree(ctx, rc);
}
