/* ks_fit_data.c - the columns a rank reads from panel.h5 once for all the
 * models: which columns the models name (terms, fixed effects, filters,
 * clusters), and reading this rank's rows of them. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_h5.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* ---- which columns the models need ---- */

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

int ks_fit_column_of(const ks_fit_panel *pn, const char *name)
{
    for (int i = 0; i < pn->ncols; i++)
        if (!strcmp(pn->names[i], name))
            return i;
    return -1;
}

/* Split "a*b" into factors; returns how many (1 or 2), -1 when malformed. */
int ks_fit_split_term(const char *term, char f[2][64])
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

int ks_fit_parse_where(ks_ctx *ctx, const ks_model_spec *m, ks_where *w)
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
        int nf = ks_fit_split_term(m->x.items[i], f);
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
    KS_CHECK(ks_fit_parse_where(ctx, m, &w));
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

/* How column c is held: signed integers of up to 32 bits (and unsigned of
 * up to 16) in the narrowest signed type that holds them, else doubles.
 * A missing dataset is reported by read_column. */
static void column_type(hid_t file, ks_fit_panel *pn, int c)
{
    char path[96];
    hid_t d, ft = -1;
    size_t n = 0;
    int is_int = 0;
    snprintf(path, sizeof path, "/panel/%s", pn->names[c]);
    pn->type[c] = KS_FIT_F64;
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0 || (d = H5Dopen2(file, path, H5P_DEFAULT)) < 0)
        return;
    ft = H5Dget_type(d);
    if (ft >= 0 && H5Tget_class(ft) == H5T_INTEGER) {
        is_int = 1;
        n = H5Tget_size(ft) * (H5Tget_sign(ft) == H5T_SGN_NONE ? 2 : 1);
    }
    if (is_int)
        pn->type[c] = n == 1 ? KS_FIT_I8 : n == 2 ? KS_FIT_I16 : n == 4 ? KS_FIT_I32 : KS_FIT_F64;
    if (ft >= 0)
        H5Tclose(ft);
    H5Dclose(d);
}

/* The memory type of a column held as `type`, and its width. */
static hid_t held_type(int type, size_t *size)
{
    *size = ks_fit_type_size(type);
    switch (type) {
    case KS_FIT_I8: return H5T_NATIVE_INT8;
    case KS_FIT_I16: return H5T_NATIVE_INT16;
    case KS_FIT_I32: return H5T_NATIVE_INT32;
    default: return H5T_NATIVE_DOUBLE;
    }
}

/* Whether every value of the column is finite: one vectorised pass as it
 * is read, which spares each model's sample a pass over it (most columns
 * have no missing value; ks_fit_design.c's usable rows). */
static int column_all_finite(const ks_fit_panel *pn, int c)
{
    const double *v = pn->cols[c];
    if (pn->type[c] != KS_FIT_F64)
        return 1;
    for (int64_t r0 = 0; r0 < pn->nrows; r0 += 4096) {
        const int64_t r1 = pn->nrows - r0 < 4096 ? pn->nrows : r0 + 4096;
        int finite = 1;
        for (int64_t r = r0; r < r1; r++)
            finite &= fabs(v[r]) <= DBL_MAX; /* false for NaN and infinities */
        if (!finite)
            return 0;
    }
    return 1;
}

static int read_column(ks_ctx *ctx, hid_t file, ks_fit_panel *pn, int c)
{
    char path[96], why[128];
    size_t size;
    hid_t d, memtype = held_type(pn->type[c], &size);
    int rc;
    snprintf(path, sizeof path, "/panel/%s", pn->names[c]);
    snprintf(why, sizeof why, "a model uses the column '%s'", pn->names[c]);
    KS_CHECK(ks_h5_read_column(ctx, file, pn->path, path, pn->total, pn->row0, pn->nrows, memtype,
                               size, why, &pn->cols[c]));
    d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:%s", pn->path, path);
    rc = read_codes(ctx, d, &pn->codes[c]);
    H5Dclose(d);
    pn->all_finite[c] = (uint8_t)column_all_finite(pn, c);
    return rc;
}

const double *ks_fit_values(const ks_fit_panel *pn, int c, int64_t r0, int64_t n, double *buf)
{
    switch (pn->type[c]) {
    case KS_FIT_I8:
        for (int64_t i = 0; i < n; i++)
            buf[i] = ((const int8_t *)pn->cols[c])[r0 + i];
        return buf;
    case KS_FIT_I16:
        for (int64_t i = 0; i < n; i++)
            buf[i] = ((const int16_t *)pn->cols[c])[r0 + i];
        return buf;
    case KS_FIT_I32:
        for (int64_t i = 0; i < n; i++)
            buf[i] = ((const int32_t *)pn->cols[c])[r0 + i];
        return buf;
    default:
        return (const double *)pn->cols[c] + r0;
    }
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
    double per_row = 8.0 * (KS_FIT_MAX_X / 4 + 4);
    for (int c = 0; c < pn->ncols; c++) /* a double, or an integer of its stored width */
        per_row += (double)ks_fit_type_size(pn->type[c]);
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

/* The least and greatest value of each integer column over all ranks. */
static int column_ranges(ks_ctx *ctx, ks_fit_panel *pn)
{
    for (int c = 0; c < pn->ncols; c++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int64_t r0 = 0; pn->type[c] != KS_FIT_F64 && r0 < pn->nrows; r0 += 4096) {
            double buf[4096];
            const int64_t n = pn->nrows - r0 < 4096 ? pn->nrows - r0 : 4096;
            const double *v = ks_fit_values(pn, c, r0, n, buf);
            double l = (double)INT64_MAX, h = (double)INT64_MIN;
            for (int64_t i = 0; i < n; i++) { /* no branch: vectorised */
                l = v[i] < l ? v[i] : l;
                h = v[i] > h ? v[i] : h;
            }
            lo = (int64_t)l < lo ? (int64_t)l : lo;
            hi = (int64_t)h > hi ? (int64_t)h : hi;
        }
        pn->lo[c] = lo;
        pn->hi[c] = hi;
    }
    KS_CHECK(ks_mpi_min_i64(ctx, pn->lo, pn->ncols));
    return ks_mpi_max_i64(ctx, pn->hi, pn->ncols);
}

int ks_fit_panel_read(ks_ctx *ctx, const ks_job *job, ks_fit_panel *pn)
{
    hid_t file;
    int rc = KS_OK, moved = 0;
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
        pn->block0 = ks_fit_even_block(nb, ctx->rank, ctx->nranks);
        pn->block1 = ks_fit_even_block(nb, ctx->rank + 1, ctx->nranks);
        pn->row0 = pn->block0 * KS_FIT_BLOCK;
        pn->nrows = pn->block1 * KS_FIT_BLOCK;
        if (pn->nrows > pn->total)
            pn->nrows = pn->total;
        pn->nrows = pn->nrows > pn->row0 ? pn->nrows - pn->row0 : 0;
        for (int c = 0; c < pn->ncols; c++)
            column_type(file, pn, c);
        rc = check_memory(ctx, pn);
    }
    for (int c = 0; rc == KS_OK && c < pn->ncols; c++)
        rc = read_column(ctx, file, pn, c);
    H5Fclose(file);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_fit_panel_balance(ctx, pn, &moved));
    for (int c = 0; moved && c < pn->ncols; c++) /* of the rows this rank holds now */
        pn->all_finite[c] = (uint8_t)column_all_finite(pn, c);
    return column_ranges(ctx, pn);
}

void ks_fit_panel_free(ks_fit_panel *pn)
{
    for (int c = 0; c < pn->ncols; c++) {
        free(pn->cols[c]);
        free(pn->codes[c]);
    }
    memset(pn, 0, sizeof *pn);
}

