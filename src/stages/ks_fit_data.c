/* ks_fit_data.c - the columns a rank reads from panel.h5 once, and each
 * model's estimation sample built from them: filters, listwise deletion of
 * NaN, products, fixed-effect levels (empty ones and ones that predict the
 * outcome perfectly dropped with a note), standardization. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_h5.h"
#include "ks_log.h"
#include "ks_mpi.h"
#include "ks_radix.h"

int ks_fit_note(ks_ctx *ctx, ks_fit_design *d, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ks_info(ctx, "model %s: %s", d->spec->name, line);
    return ks_buf_printf(ctx, &d->notes, "%s%s", d->notes.len ? "; " : "", line);
}

/* ---- which columns the models need ---- */

typedef struct ks_cond {
    int col;
    char op[3];
    double value;
} ks_cond;

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    while (s[a] && isspace((unsigned char)s[a]))
        a++;
    memmove(s, s + a, strlen(s + a) + 1);
}

static int add_name(ks_ctx *ctx, ks_fit_panel *pn, const char *name)
{
    for (int i = 0; i < pn->ncols; i++)
        if (!strcmp(pn->names[i], name))
            return KS_OK;
    if (pn->ncols == KS_FIT_MAX_COLS)
        return ks_fail(ctx, KS_EUSAGE, "fit: the models use more than %d panel columns", KS_FIT_MAX_COLS);
    if (strlen(name) == 0 || strlen(name) >= sizeof pn->names[0])
        return ks_fail(ctx, KS_EUSAGE, "fit: bad column name '%s'", name);
    snprintf(pn->names[pn->ncols++], sizeof pn->names[0], "%s", name);
    return KS_OK;
}

static int column_of(const ks_fit_panel *pn, const char *name)
{
    for (int i = 0; i < pn->ncols; i++)
        if (!strcmp(pn->names[i], name))
            return i;
    return -1;
}

/* Split "a*b" into factors; returns how many (1 or 2), -1 when malformed. */
static int split_term(const char *term, char f[2][64])
{
    const char *star = strchr(term, '*');
    if (!star) {
        snprintf(f[0], 64, "%s", term);
        trim(f[0]);
        return f[0][0] ? 1 : -1;
    }
    if (strchr(star + 1, '*') || star - term >= 64)
        return -1;
    snprintf(f[0], 64, "%.*s", (int)(star - term), term);
    snprintf(f[1], 64, "%s", star + 1);
    trim(f[0]);
    trim(f[1]);
    return f[0][0] && f[1][0] ? 2 : -1;
}

/* The conditions of `where`: "col op value [and col op value ...]". */
typedef struct ks_where {
    int n;
    char col[16][64];
    char op[16][3];
    char value[16][64];
} ks_where;

static int parse_where(ks_ctx *ctx, const ks_model_spec *m, ks_where *w)
{
    char buf[512];
    char *s = buf;
    snprintf(buf, sizeof buf, "%s", m->where);
    w->n = 0;
    trim(buf);
    while (*s) {
        char *and = strstr(s, " and ");
        char cond[256], *op;
        size_t len = and ? (size_t)(and - s) : strlen(s);
        if (w->n == 16 || len >= sizeof cond)
            return ks_fail(ctx, KS_EUSAGE, "model %s: where = '%s' is too long", m->name, m->where);
        memcpy(cond, s, len);
        cond[len] = 0;
        op = strpbrk(cond, "=!<>");
        if (!op)
            return ks_fail(ctx, KS_EUSAGE, "model %s: where condition '%s' has no operator "
                           "(==, !=, <, <=, >, >=)", m->name, cond);
        {
            size_t ol = (op[1] == '=') ? 2 : 1;
            char o[3] = {op[0], ol == 2 ? '=' : 0, 0};
            if (!strcmp(o, "=") || !strcmp(o, "!"))
                return ks_fail(ctx, KS_EUSAGE, "model %s: where condition '%s': use == or !=",
                               m->name, cond);
            memcpy(w->op[w->n], o, 3);
            snprintf(w->value[w->n], 64, "%s", op + ol);
            *op = 0;
            snprintf(w->col[w->n], 64, "%.63s", cond);
            trim(w->col[w->n]);
            trim(w->value[w->n]);
            if (!w->col[w->n][0] || !w->value[w->n][0])
                return ks_fail(ctx, KS_EUSAGE, "model %s: where condition '%s' lacks a column "
                               "or a value", m->name, m->where);
        }
        w->n++;
        s = and ? and + 5 : s + len;
        while (*s == ' ')
            s++;
    }
    return KS_OK;
}

static int model_columns(ks_ctx *ctx, const ks_model_spec *m, ks_fit_panel *pn)
{
    ks_where w;
    KS_CHECK(add_name(ctx, pn, m->y));
    for (size_t i = 0; i < m->x.n; i++) {
        char f[2][64];
        int nf = split_term(m->x.items[i], f);
        if (nf < 0)
            return ks_fail(ctx, KS_EUSAGE, "model %s: term '%s' is not a column or a product a*b",
                           m->name, m->x.items[i]);
        for (int k = 0; k < nf; k++)
            KS_CHECK(add_name(ctx, pn, f[k]));
    }
    for (size_t i = 0; i < m->fe.n; i++)
        if (strcmp(m->fe.items[i], "none"))
            KS_CHECK(add_name(ctx, pn, m->fe.items[i]));
    if (m->se == KS_SE_CLUSTER)
        KS_CHECK(add_name(ctx, pn, m->cluster[0] ? m->cluster : "firm"));
    KS_CHECK(parse_where(ctx, m, &w));
    for (int i = 0; i < w.n; i++)
        KS_CHECK(add_name(ctx, pn, w.col[i]));
    return KS_OK;
}

/* ---- reading ---- */

static int64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

static int read_codes(ks_ctx *ctx, hid_t dset, char **out)
{
    hid_t a, ftype, mtype;
    int rc = KS_OK;
    *out = NULL;
    if (H5Aexists(dset, "codes") <= 0)
        return KS_OK;
    a = H5Aopen(dset, "codes", H5P_DEFAULT);
    ftype = a >= 0 ? H5Aget_type(a) : -1;
    if (a < 0 || ftype < 0 || H5Tget_class(ftype) != H5T_STRING) {
        rc = ks_fail(ctx, KS_EHDF5, "cannot read the attribute codes");
    } else if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        mtype = H5Tcopy(H5T_C_S1);
        H5Tset_size(mtype, H5T_VARIABLE);
        H5Tset_cset(mtype, H5Tget_cset(ftype));
        if (H5Aread(a, mtype, &s) < 0 || !s)
            rc = ks_fail(ctx, KS_EHDF5, "cannot read the attribute codes");
        else if ((rc = ks_calloc(ctx, out, strlen(s) + 1, 1, "codes")) == KS_OK)
            memcpy(*out, s, strlen(s));
        if (s)
            H5free_memory(s);
        H5Tclose(mtype);
    } else {
        size_t n = H5Tget_size(ftype);
        mtype = H5Tcopy(ftype);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        rc = ks_calloc(ctx, out, n + 1, 1, "codes");
        if (rc == KS_OK && H5Aread(a, mtype, *out) < 0)
            rc = ks_fail(ctx, KS_EHDF5, "cannot read the attribute codes");
        H5Tclose(mtype);
    }
    if (ftype >= 0)
        H5Tclose(ftype);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

static int read_column(ks_ctx *ctx, hid_t file, ks_fit_panel *pn, int c)
{
    char path[96], why[128];
    hid_t d;
    int rc;
    snprintf(path, sizeof path, "/panel/%s", pn->names[c]);
    snprintf(why, sizeof why, "a model uses the column '%s'", pn->names[c]);
    KS_CHECK(ks_h5_read_column(ctx, file, pn->path, path, pn->total, pn->row0, pn->nrows,
                               H5T_NATIVE_DOUBLE, sizeof(double), why, (void **)&pn->cols[c]));
    d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:%s", pn->path, path);
    rc = read_codes(ctx, d, &pn->codes[c]);
    H5Dclose(d);
    return rc;
}

static int panel_rows(ks_ctx *ctx, hid_t file, ks_fit_panel *pn)
{
    char path[96];
    hid_t d, s;
    hsize_t dims[1] = {0};
    snprintf(path, sizeof path, "/panel/%s", pn->names[0]);
    if (H5Lexists(file, "/panel", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no dataset %s (a model uses the column '%s')",
                       pn->path, path, pn->names[0]);
    d = H5Dopen2(file, path, H5P_DEFAULT);
    s = d >= 0 ? H5Dget_space(d) : -1;
    if (s < 0 || H5Sget_simple_extent_dims(s, dims, NULL) != 1) {
        if (s >= 0)
            H5Sclose(s);
        if (d >= 0)
            H5Dclose(d);
        return ks_fail(ctx, KS_EINPUT, "%s:%s is not a 1-D column", pn->path, path);
    }
    H5Sclose(s);
    H5Dclose(d);
    pn->total = (int64_t)dims[0];
    return KS_OK;
}

static int check_memory(ks_ctx *ctx, const ks_fit_panel *pn)
{
    /* columns, plus one model's compact design (x terms, y, fixed effects,
     * cluster and row ids) beside them */
    double per_row = 8.0 * pn->ncols + 8.0 * (KS_FIT_MAX_X / 4 + 4);
    double need = per_row * (double)pn->nrows * ctx->nranks;
    int64_t avail = mem_available();
    ks_info(ctx, "fit: %lld panel rows, %d columns (%s%s...), about %.0f MB in memory on all ranks",
            (long long)pn->total, pn->ncols, pn->names[0], pn->ncols > 1 ? ", " : "", need / 1e6);
    if (avail > 0 && need > 0.9 * (double)avail)
        return ks_fail(ctx, KS_ENOMEM, "fit: the %d columns of %lld rows need about %.0f MB with "
                       "the model design, but only %.0f MB are available (MemAvailable); use fewer "
                       "models' columns, a `where`, or a machine with more memory", pn->ncols,
                       (long long)pn->total, need / 1e6, (double)avail / 1e6);
    return KS_OK;
}

int ks_fit_panel_read(ks_ctx *ctx, const ks_job *job, ks_fit_panel *pn)
{
    hid_t file;
    int rc = KS_OK;
    int64_t nb;
    memset(pn, 0, sizeof *pn);
    for (int i = 0; i < job->n_models; i++)
        KS_CHECK(model_columns(ctx, &job->models[i], pn));
    if (pn->ncols == 0)
        return ks_fail(ctx, KS_EUSAGE, "fit: the job declares no [model.NAME] section");
    KS_CHECK(ks_job_output(ctx, job, "panel.h5", pn->path, sizeof pn->path));
    KS_CHECK(ks_h5_open_read(ctx, &file, pn->path));
    rc = panel_rows(ctx, file, pn);
    if (rc == KS_OK) {
        /* the rank split follows block boundaries, so that every rank count
         * folds the same blocks in the same order */
        nb = (pn->total + KS_FIT_BLOCK - 1) / KS_FIT_BLOCK;
        pn->block0 = nb * ctx->rank / ctx->nranks;
        pn->block1 = nb * (ctx->rank + 1) / ctx->nranks;
        pn->row0 = pn->block0 * KS_FIT_BLOCK;
        pn->nrows = pn->block1 * KS_FIT_BLOCK;
        if (pn->nrows > pn->total)
            pn->nrows = pn->total;
        pn->nrows = pn->nrows > pn->row0 ? pn->nrows - pn->row0 : 0;
        rc = check_memory(ctx, pn);
    }
    for (int c = 0; rc == KS_OK && c < pn->ncols; c++)
        rc = read_column(ctx, file, pn, c);
    H5Fclose(file);
    return ks_mpi_agree(ctx, rc);
}

void ks_fit_panel_free(ks_fit_panel *pn)
{
    for (int c = 0; c < pn->ncols; c++) {
        free(pn->cols[c]);
        free(pn->codes[c]);
    }
    memset(pn, 0, sizeof *pn);
}

/* ---- a model's design ---- */

/* The value of a condition: a number, or a label of the column's codes. */
static int cond_value(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m, int col,
                      const char *text, double *v)
{
    char *end;
    const char *s = pn->codes[col];
    *v = strtod(text, &end);
    if (*end == 0)
        return KS_OK;
    while (s && *s) {
        const char *eq = strchr(s, '='), *semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - eq - 1) : strlen(eq ? eq + 1 : "");
        if (!eq)
            break;
        if (strlen(text) == len && !strncasecmp(eq + 1, text, len)) {
            *v = strtod(s, NULL);
            return KS_OK;
        }
        s = semi ? semi + 1 : NULL;
    }
    return ks_fail(ctx, KS_EUSAGE, "model %s: where: '%s' is neither a number nor a label of "
                   "/panel/%s (codes: %s)", m->name, text, pn->names[col],
                   pn->codes[col] ? pn->codes[col] : "none");
}

static int cond_true(const char *op, double a, double b)
{
    if (op[0] == '=')
        return a == b;
    if (op[0] == '!')
        return a != b;
    if (op[0] == '<')
        return op[1] ? a <= b : a < b;
    return op[1] ? a >= b : a > b;
}

typedef struct ks_sample {
    ks_cond cond[16];
    int ncond;
    int ycol;
    uint8_t *keep;   /* [nrows] */
} ks_sample;

static int design_columns(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m,
                          ks_fit_design *d, ks_sample *s)
{
    ks_where w;
    s->ycol = column_of(pn, m->y);
    if (m->x.n > KS_FIT_MAX_X)
        return ks_fail(ctx, KS_EUSAGE, "model %s: more than %d x terms", m->name, KS_FIT_MAX_X);
    d->nx = (int)m->x.n;
    for (int i = 0; i < d->nx; i++) {
        char f[2][64];
        int nf = split_term(m->x.items[i], f);
        snprintf(d->xname[i], sizeof d->xname[i], "%.47s%s%.47s", f[0], nf == 2 ? "*" : "", nf == 2 ? f[1] : "");
        d->factor[i][0] = column_of(pn, f[0]);
        d->factor[i][1] = nf == 2 ? column_of(pn, f[1]) : -1;
    }
    d->nfe = 0;
    for (size_t i = 0; i < m->fe.n; i++) {
        if (!strcmp(m->fe.items[i], "none"))
            continue;
        if (d->nfe == KS_FIT_MAX_FE)
            return ks_fail(ctx, KS_EUSAGE, "model %s: more than %d fixed effects", m->name, KS_FIT_MAX_FE);
        d->fe_col[d->nfe++] = column_of(pn, m->fe.items[i]);
    }
    if (d->nx + 1 + d->nfe > KS_GLM_MAX_NZ)
        return ks_fail(ctx, KS_EUSAGE, "model %s: too many terms", m->name);
    d->cluster_col = m->se == KS_SE_CLUSTER ? column_of(pn, m->cluster[0] ? m->cluster : "firm") : -1;
    KS_CHECK(parse_where(ctx, m, &w));
    s->ncond = w.n;
    for (int i = 0; i < w.n; i++) {
        s->cond[i].col = column_of(pn, w.col[i]);
        memcpy(s->cond[i].op, w.op[i], 3);
        KS_CHECK(cond_value(ctx, pn, m, s->cond[i].col, w.value[i], &s->cond[i].value));
    }
    return KS_OK;
}

/* Row r passes the filter and has no NaN in any used column. */
static int row_usable(const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s, int64_t r)
{
    for (int i = 0; i < s->ncond; i++)
        if (!cond_true(s->cond[i].op, pn->cols[s->cond[i].col][r], s->cond[i].value))
            return 0;
    if (!isfinite(pn->cols[s->ycol][r]))
        return 0;
    for (int j = 0; j < d->nx; j++)
        for (int k = 0; k < 2; k++)
            if (d->factor[j][k] >= 0 && !isfinite(pn->cols[d->factor[j][k]][r]))
                return 0;
    for (int f = 0; f < d->nfe; f++)
        if (!isfinite(pn->cols[d->fe_col[f]][r]))
            return 0;
    if (d->cluster_col >= 0 && !isfinite(pn->cols[d->cluster_col][r]))
        return 0;
    return 1;
}

static int check_y(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s)
{
    int bad = 0;
    double v = 0;
    if (d->link == KS_GLM_LPM)
        return ks_mpi_agree(ctx, KS_OK);
    for (int64_t r = 0; r < pn->nrows && !bad; r++)
        if (s->keep[r] && pn->cols[s->ycol][r] != 0.0 && pn->cols[s->ycol][r] != 1.0) {
            bad = 1;
            v = pn->cols[s->ycol][r];
        }
    return ks_mpi_agree(ctx, bad ? ks_fail(ctx, KS_EINPUT, "model %s: the dependent column %s "
                                           "holds %g at row %lld; probit and logit need 0/1",
                                           d->spec->name, d->spec->y, v, (long long)pn->row0)
                                 : KS_OK);
}

/* Global min and max of fixed effect f over the kept rows. */
static int fe_range(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s, int f)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    const double *c = pn->cols[d->fe_col[f]];
    for (int64_t r = 0; r < pn->nrows; r++)
        if (s->keep[r]) {
            if (c[r] != floor(c[r]))
                return ks_mpi_agree(ctx, ks_fail(ctx, KS_EINPUT, "model %s: fixed effect %s "
                                    "holds %g, not an integer", d->spec->name,
                                    pn->names[d->fe_col[f]], c[r]));
            if ((int64_t)c[r] < lo)
                lo = (int64_t)c[r];
            if ((int64_t)c[r] > hi)
                hi = (int64_t)c[r];
        }
    KS_CHECK(ks_mpi_agree(ctx, KS_OK));
    KS_CHECK(ks_mpi_min_i64(ctx, &lo, 1));
    KS_CHECK(ks_mpi_max_i64(ctx, &hi, 1));
    if (lo > hi) {
        lo = 0;
        hi = 0;
    }
    if (hi - lo >= 10000000)
        return ks_fail(ctx, KS_EUSAGE, "model %s: fixed effect %s spans %lld..%lld; more than 10^7 "
                       "levels is not a fixed effect this solver handles", d->spec->name,
                       pn->names[d->fe_col[f]], (long long)lo, (long long)hi);
    d->fe_min[f] = lo;
    d->fe_range[f] = hi - lo + 1;
    return KS_OK;
}

/* Per level of fixed effect f: kept rows and positive outcomes. */
static int fe_counts(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s,
                     int f, int64_t *cnt, int64_t *pos)
{
    const double *c = pn->cols[d->fe_col[f]], *y = pn->cols[s->ycol];
    memset(cnt, 0, sizeof *cnt * (size_t)d->fe_range[f]);
    memset(pos, 0, sizeof *pos * (size_t)d->fe_range[f]);
    for (int64_t r = 0; r < pn->nrows; r++)
        if (s->keep[r]) {
            int64_t l = (int64_t)c[r] - d->fe_min[f];
            cnt[l]++;
            pos[l] += y[r] != 0.0;
        }
    KS_CHECK(ks_mpi_sum_i64(ctx, cnt, (int)d->fe_range[f]));
    return ks_mpi_sum_i64(ctx, pos, (int)d->fe_range[f]);
}

/* Levels whose rows are all 0 or all 1 predict the outcome perfectly: their
 * rows carry no information and their dummy would go to -/+ infinity, so
 * (as Stata does) the rows are dropped with a note.  Dropping can empty
 * levels of another fixed effect, hence the loop. */
static int drop_perfect(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, ks_sample *s)
{
    int rc = KS_OK;
    for (int round = 0; round < 20 && rc == KS_OK; round++) {
        int64_t changed = 0;
        for (int f = 0; f < d->nfe && rc == KS_OK; f++) {
            int64_t *cnt = NULL, *pos = NULL, nlev = 0, nrow = 0;
            const double *c = pn->cols[d->fe_col[f]];
            KS_TRY(rc, fe_range(ctx, pn, d, s, f), next);
            KS_TRY(rc, ks_calloc(ctx, &cnt, (size_t)d->fe_range[f], sizeof *cnt, "fe counts"), next);
            KS_TRY(rc, ks_calloc(ctx, &pos, (size_t)d->fe_range[f], sizeof *pos, "fe counts"), next);
            KS_TRY(rc, fe_counts(ctx, pn, d, s, f, cnt, pos), next);
            for (int64_t l = 0; l < d->fe_range[f]; l++)
                if (cnt[l] > 0 && (pos[l] == 0 || pos[l] == cnt[l])) {
                    nlev++;
                    nrow += cnt[l];
                }
            if (nlev > 0) {
                for (int64_t r = 0; r < pn->nrows; r++)
                    if (s->keep[r]) {
                        int64_t l = (int64_t)c[r] - d->fe_min[f];
                        if (pos[l] == 0 || pos[l] == cnt[l])
                            s->keep[r] = 0;
                    }
                rc = ks_fit_note(ctx, d, "%lld level(s) of %s predict %s perfectly: %lld rows dropped",
                                 (long long)nlev, pn->names[d->fe_col[f]], d->spec->y, (long long)nrow);
                changed += nlev;
            }
        next:
            free(cnt);
            free(pos);
        }
        if (changed == 0)
            break;
    }
    return rc;
}

/* Parameters of each fixed effect: every level with rows but the smallest
 * (the base, absorbed by the intercept). */
static int fe_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s)
{
    int next = d->nx + 1;
    for (int f = 0; f < d->nfe; f++) {
        int64_t *cnt = NULL, *pos = NULL;
        int base = 1, rc;
        KS_CHECK(fe_range(ctx, pn, d, s, f));
        rc = ks_calloc(ctx, &cnt, (size_t)d->fe_range[f], sizeof *cnt, "fe counts");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &pos, (size_t)d->fe_range[f], sizeof *pos, "fe counts");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &d->fe_index[f], (size_t)d->fe_range[f], sizeof(int32_t), "fe index");
        if (rc == KS_OK)
            rc = fe_counts(ctx, pn, d, s, f, cnt, pos);
        for (int64_t l = 0; rc == KS_OK && l < d->fe_range[f]; l++) {
            if (cnt[l] == 0 || base) {
                d->fe_index[f][l] = -1;
                base = base && cnt[l] == 0;
                continue;
            }
            d->fe_index[f][l] = next++;
            d->fe_levels[f]++;
        }
        free(cnt);
        free(pos);
        KS_CHECK(rc);
    }
    d->p = next;
    return KS_OK;
}

/* Levels that have rows in the panel (after filters) but none in the
 * estimation sample: reported, as Stata reports empty cells. */
static int note_empty_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d,
                             const uint8_t *filtered)
{
    for (int f = 0; f < d->nfe; f++) {
        int64_t n = 0;
        const double *c = pn->cols[d->fe_col[f]];
        /* a level outside the sample's range, or inside it without rows */
        int64_t *seen = NULL;
        int rc = ks_calloc(ctx, &seen, (size_t)d->fe_range[f], sizeof *seen, "fe levels");
        KS_CHECK(rc);
        for (int64_t r = 0; r < pn->nrows; r++)
            if (filtered[r] && isfinite(c[r])) {
                int64_t l = (int64_t)c[r] - d->fe_min[f];
                if (l >= 0 && l < d->fe_range[f])
                    seen[l] = 1;
            }
        rc = ks_mpi_max_i64(ctx, seen, (int)d->fe_range[f]);
        for (int64_t l = 0; rc == KS_OK && l < d->fe_range[f]; l++)
            n += seen[l] && d->fe_index[f][l] < 0;
        free(seen);
        KS_CHECK(rc);
        if (n > 1) /* one is the base */
            KS_CHECK(ks_fit_note(ctx, d, "%s: %lld level(s) without rows in the estimation sample dropped",
                                 pn->names[d->fe_col[f]], (long long)(n - 1)));
    }
    return KS_OK;
}

/* The parameter index of row r's level of fixed effect f (-1: base level). */
static int32_t fe_param(const ks_fit_panel *pn, const ks_fit_design *d, int f, int64_t r)
{
    return d->fe_index[f][(int64_t)pn->cols[d->fe_col[f]][r] - d->fe_min[f]];
}

/* The kept rows of panel rows [r0, r1) in the order the block is stored:
 * sorted by their fixed-effect levels (stable: panel order within equal
 * levels), so that the kernel meets long runs of equal levels (ks_glm.h).
 * The order is a function of the block's rows alone, as every sum must be.
 * The levels (index + 1, at most p) are packed into one key, the first
 * effect highest; effects that do not fit in 64 bits are left out of the
 * key (the order is then only coarser). */
static int64_t block_order(const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s, int64_t r0,
                           int64_t r1, uint64_t *key, int64_t *row, uint64_t *tmp_key, int64_t *tmp_row)
{
    int bits = 1, nkey;
    int64_t m = 0;
    while (bits < 63 && ((int64_t)1 << bits) <= d->p)
        bits++;
    nkey = d->nfe < 64 / bits ? d->nfe : 64 / bits;
    for (int64_t r = r0; r < r1; r++) {
        uint64_t k = 0;
        if (!s->keep[r])
            continue;
        for (int f = 0; f < nkey; f++)
            k = (k << bits) | (uint64_t)(fe_param(pn, d, f, r) + 1);
        key[m] = k;
        row[m++] = r;
    }
    if (nkey > 0)
        ks_radix_sort_pairs(key, row, (size_t)m, tmp_key, tmp_row);
    return m;
}

/* The block's rows [r0, r0 + len) of panel column c, copied in order into
 * buf: a sequential read the prefetcher streams from memory, after which
 * the sorted rows' jumps about the block hit the cache (gathering straight
 * from the column waited on memory at every row). */
static const double *block_column(const ks_fit_panel *pn, int c, int64_t r0, int64_t len, double *buf)
{
    memcpy(buf, pn->cols[c] + r0, sizeof *buf * (size_t)len);
    return buf;
}

/* Rows row[0..m) of the panel (all in the block from r0, len rows) into
 * design rows k0 .. k0 + m, one column at a time.  tmp: 2 x KS_FIT_BLOCK. */
static void copy_rows(const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s, const int64_t *row,
                      int64_t m, int64_t k0, int64_t r0, int64_t len, double *tmp)
{
    const int64_t n = d->n_local;
    double *tmp_b = tmp + KS_FIT_BLOCK;
    for (int j = 0; j < d->nx; j++) {
        const double *a = block_column(pn, d->factor[j][0], r0, len, tmp);
        double *dst = d->x + j * n + k0; /* by columns: ks_glm.h */
        if (d->factor[j][1] >= 0) {
            const double *b = block_column(pn, d->factor[j][1], r0, len, tmp_b);
            for (int64_t i = 0; i < m; i++)
                dst[i] = a[row[i] - r0] * b[row[i] - r0];
        } else {
            for (int64_t i = 0; i < m; i++)
                dst[i] = a[row[i] - r0];
        }
    }
    const double *y = block_column(pn, s->ycol, r0, len, tmp);
    for (int64_t i = 0; i < m; i++)
        d->y[k0 + i] = y[row[i] - r0];
    for (int f = 0; f < d->nfe; f++) {
        const double *level = block_column(pn, d->fe_col[f], r0, len, tmp);
        const int32_t *index = d->fe_index[f];
        for (int64_t i = 0; i < m; i++)
            d->fe[(k0 + i) * d->nfe + f] = index[(int64_t)level[row[i] - r0] - d->fe_min[f]];
    }
    if (d->cl) {
        const double *cl = block_column(pn, d->cluster_col, r0, len, tmp);
        for (int64_t i = 0; i < m; i++)
            d->cl[k0 + i] = (int64_t)cl[row[i] - r0];
    }
}

void ks_fit_scratch_free(ks_fit_scratch *s)
{
    for (int k = 0; k < 4; k++)
        free(s->buf[k]);
    memset(s, 0, sizeof *s);
}

/* bytes for buffer k of the design: from the scratch when there is one
 * (grown, not kept, when too small: the old contents are not needed) */
static int design_buffer(ks_ctx *ctx, ks_fit_scratch *scratch, int k, size_t n, size_t size,
                         const char *what, void *out)
{
    if (!scratch)
        return ks_calloc(ctx, out, n, size, what);
    if (scratch->cap[k] < n * size) {
        free(scratch->buf[k]);
        scratch->buf[k] = NULL;
        scratch->cap[k] = 0;
        KS_CHECK(ks_calloc(ctx, &scratch->buf[k], n, size, what));
        scratch->cap[k] = n * size;
    }
    *(void **)out = scratch->buf[k];
    return KS_OK;
}

static int compact(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s,
                   ks_fit_scratch *scratch)
{
    int64_t n = 0, k = 0;
    size_t one;
    uint64_t *key = NULL, *tmp_key = NULL;
    int64_t *row = NULL, *tmp_row = NULL;
    double *column = NULL;
    for (int64_t r = 0; r < pn->nrows; r++)
        n += s->keep[r];
    one = n ? (size_t)n : 1;
    d->n_local = n;
    d->nblocks = pn->block1 - pn->block0;
    d->borrowed = scratch != NULL;
    {
        int cols = d->nx ? d->nx : 1;
        if (scratch && scratch->x_columns > cols)
            cols = scratch->x_columns;
        KS_CHECK(design_buffer(ctx, scratch, 0, one * (size_t)cols, sizeof(double), "design x", &d->x));
    }
    KS_CHECK(design_buffer(ctx, scratch, 1, one, sizeof(double), "design y", &d->y));
    KS_CHECK(design_buffer(ctx, scratch, 2, one * (size_t)(d->nfe ? d->nfe : 1), sizeof(int32_t), "design fe", &d->fe));
    KS_CHECK(ks_calloc(ctx, &d->block_start, (size_t)d->nblocks + 1, sizeof(int64_t), "blocks"));
    d->block0 = pn->block0;
    if (d->cluster_col >= 0)
        KS_CHECK(design_buffer(ctx, scratch, 3, one, sizeof(int64_t), "clusters", &d->cl));
    int rc = ks_calloc(ctx, &key, KS_FIT_BLOCK, sizeof *key, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tmp_key, KS_FIT_BLOCK, sizeof *tmp_key, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &row, KS_FIT_BLOCK, sizeof *row, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tmp_row, KS_FIT_BLOCK, sizeof *tmp_row, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &column, 2 * KS_FIT_BLOCK, sizeof *column, "block columns");
    for (int64_t b = 0; rc == KS_OK && b < d->nblocks; b++) {
        int64_t r0 = b * KS_FIT_BLOCK, r1 = r0 + KS_FIT_BLOCK;
        if (r1 > pn->nrows)
            r1 = pn->nrows;
        d->block_start[b] = k;
        int64_t m = block_order(pn, d, s, r0, r1, key, row, tmp_key, tmp_row);
        copy_rows(pn, d, s, row, m, k, r0, r1 - r0, column);
        k += m;
    }
    d->block_start[d->nblocks] = k;
    free(key);
    free(tmp_key);
    free(row);
    free(tmp_row);
    free(column);
    return rc;
}

/* ---- standardization: two fixed-order passes (mean, then squares) ---- */

static void sum_x(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const double *mean = arg;
    for (int64_t i = b; i < e; i++)
        for (int j = 0; j < d->nx; j++) {
            double v = d->x[j * d->n_local + i];
            if (mean) {
                v -= mean[j];
                acc[j] += v * v;
            } else
                acc[j] += v;
        }
}

static int standardize(ks_ctx *ctx, ks_fit_design *d)
{
    double mean[KS_FIT_MAX_X], ss[KS_FIT_MAX_X];
    if (d->nx == 0)
        return KS_OK;
    KS_CHECK(ks_fit_reduce(ctx, d, d->nx, sum_x, NULL, mean));
    for (int j = 0; j < d->nx; j++)
        mean[j] /= (double)d->n;
    KS_CHECK(ks_fit_reduce(ctx, d, d->nx, sum_x, mean, ss));
    for (int j = 0; j < d->nx; j++) {
        d->sd[j] = d->n > 1 ? sqrt(ss[j] / (double)(d->n - 1)) : 0.0;
        if (!(d->sd[j] > 0))
            return ks_fail(ctx, KS_EINPUT, "model %s: standardize: %s is constant in the estimation "
                           "sample (sd 0)", d->spec->name, d->xname[j]);
    }
    for (int64_t i = 0; i < d->n_local; i++)
        for (int j = 0; j < d->nx; j++)
            d->x[j * d->n_local + i] = (d->x[j * d->n_local + i] - mean[j]) / d->sd[j];
    return KS_OK;
}

static int count_sample(ks_ctx *ctx, ks_fit_design *d)
{
    int64_t c[2] = {d->n_local, 0};
    for (int64_t i = 0; i < d->n_local; i++)
        c[1] += d->y[i] != 0.0;
    KS_CHECK(ks_mpi_sum_i64(ctx, c, 2));
    d->n = c[0];
    d->n_pos = c[1];
    return KS_OK;
}

int ks_fit_design_build(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m,
                        ks_fit_scratch *scratch, ks_fit_design *d)
{
    ks_sample s;
    uint8_t *filtered = NULL;
    int rc;
    memset(&s, 0, sizeof s);
    d->spec = m;
    d->link = m->link == KS_LINK_LOGIT ? KS_GLM_LOGIT : m->link == KS_LINK_LPM ? KS_GLM_LPM : KS_GLM_PROBIT;
    KS_CHECK(design_columns(ctx, pn, m, d, &s));
    rc = ks_calloc(ctx, &s.keep, pn->nrows ? (size_t)pn->nrows : 1, 1, "sample");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &filtered, pn->nrows ? (size_t)pn->nrows : 1, 1, "sample");
    for (int64_t r = 0; rc == KS_OK && r < pn->nrows; r++) {
        s.keep[r] = (uint8_t)row_usable(pn, d, &s, r);
        filtered[r] = 1;
        for (int i = 0; i < s.ncond; i++)
            if (!cond_true(s.cond[i].op, pn->cols[s.cond[i].col][r], s.cond[i].value))
                filtered[r] = 0;
    }
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = check_y(ctx, pn, d, &s);
    if (rc == KS_OK && d->link != KS_GLM_LPM)
        rc = drop_perfect(ctx, pn, d, &s);
    if (rc == KS_OK)
        rc = fe_levels(ctx, pn, d, &s);
    if (rc == KS_OK)
        rc = note_empty_levels(ctx, pn, d, filtered);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, compact(ctx, pn, d, &s, scratch));
    if (rc == KS_OK)
        rc = count_sample(ctx, d);
    if (rc == KS_OK && d->n == 0)
        rc = ks_fail(ctx, KS_EINPUT, "model %s: no rows in the estimation sample (where = '%s')",
                     m->name, m->where);
    if (rc == KS_OK && m->standardize)
        rc = standardize(ctx, d);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &d->active, (size_t)d->p, sizeof(int), "active");
    for (int k = 0; rc == KS_OK && k < d->p; k++)
        d->active[k] = 1;
    free(s.keep);
    free(filtered);
    return rc;
}

void ks_fit_design_free(ks_fit_design *d)
{
    for (int f = 0; f < KS_FIT_MAX_FE; f++)
        free(d->fe_index[f]);
    if (!d->borrowed) {
        free(d->x);
        free(d->y);
        free(d->fe);
        free(d->cl);
    }
    free(d->block_start);
    free(d->active);
    ks_buf_free(&d->notes);
    memset(d, 0, sizeof *d);
}

void ks_fit_design_rows(const ks_fit_design *d, ks_glm_rows *rows)
{
    rows->link = d->link;
    rows->nx = d->nx;
    rows->nfe = d->nfe;
    rows->p = d->p;
    rows->x = d->x;
    rows->ldx = d->n_local;
    rows->y = d->y;
    rows->fe = d->fe;
}
