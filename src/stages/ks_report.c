/* ks_report.c - stage `report`: the descriptive statistics of the paper's
 * Figures 1-5 (docs/report.md).  Each rank reads one contiguous share of the
 * panel rows; every statistic is over the whole panel, combined across ranks
 * with integer counts, exact fixed-point sums and minima/maxima, so that the
 * output is the same for any number of ranks and threads. */
#include "ks_report.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_h5.h"
#include "ks_log.h"
#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_refdata.h"
#include "ks_report_internal.h"

/* ---- reading panel.h5 ---- */

static void panel_free(ks_report_panel *p)
{
    free(p->year);
    free(p->export_);
    free(p->region);
    free(p->city);
    for (int v = 0; v < KS_REPORT_NVARS; v++)
        free(p->var[v]);
    memset(p, 0, sizeof *p);
}

/* Rows [row0, row0+n) of /panel/NAME as memtype into buf (allocated). */
static int read_column(ks_ctx *ctx, hid_t file, ks_report_panel *p, const char *name,
                       hid_t memtype, size_t size, void **buf)
{
    char path[96];
    snprintf(path, sizeof path, "/panel/%s", name);
    return ks_h5_read_column(ctx, file, p->path, path, p->total, p->row0, p->n, memtype, size,
                             "the report needs it", buf);
}

/* The string attribute `codes` of /panel/region ("" when absent). */
static int read_codes(ks_ctx *ctx, hid_t file, const char *path, char *out, size_t n)
{
    hid_t d, a = -1, ft = -1, mt = -1;
    int rc = KS_OK;
    out[0] = '\0';
    d = H5Dopen2(file, "/panel/region", H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:/panel/region", path);
    if (H5Aexists(d, "codes") > 0) {
        a = H5Aopen(d, "codes", H5P_DEFAULT);
        ft = a >= 0 ? H5Aget_type(a) : -1;
        if (ft < 0 || H5Tget_class(ft) != H5T_STRING) {
            rc = ks_fail(ctx, KS_EINPUT, "%s:/panel/region: the attribute codes is not a string", path);
        } else if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) < 0 || !s)
                rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:/panel/region attribute codes", path);
            else
                snprintf(out, n, "%s", s);
            if (s)
                H5free_memory(s);
        } else {
            size_t len = H5Tget_size(ft);
            char *buf = NULL;
            mt = H5Tcopy(ft);
            rc = ks_calloc(ctx, &buf, len + 1, 1, "codes");
            if (rc == KS_OK && H5Aread(a, mt, buf) < 0)
                rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:/panel/region attribute codes", path);
            if (rc == KS_OK)
                snprintf(out, n, "%s", buf);
            free(buf);
        }
    }
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    H5Dclose(d);
    return rc;
}

/* map[code + 1] = region index (East 0 .. Northeast 3) of a code of the
 * panel's region column (codes -1..126), -1 for unknown. Without the
 * attribute, the codes are those of docs/hdf5.md. */
static int region_map(ks_ctx *ctx, const char *path, const char *codes, int8_t map[128])
{
    static const char *const names[KS_REPORT_NREGIONS] = {"East", "Central", "West", "Northeast"};
    memset(map, -1, 128);
    if (!codes[0]) {
        for (int r = 0; r < KS_REPORT_NREGIONS; r++)
            map[r + 1] = (int8_t)r;
        return KS_OK;
    }
    for (const char *p = codes; *p;) {
        int code = 0, len = 0;
        char name[64];
        if (sscanf(p, "%d=%63[^;]%n", &code, name, &len) != 2)
            return ks_fail(ctx, KS_EINPUT, "%s:/panel/region: cannot read the codes attribute '%s' "
                           "(expected 0=East;1=Central;...)", path, codes);
        for (int r = 0; r < KS_REPORT_NREGIONS; r++)
            if (!strcmp(name, names[r]) && code >= -1 && code < 127)
                map[code + 1] = (int8_t)r;
        p += len;
        if (*p == ';')
            p++;
    }
    return KS_OK;
}

static int panel_read(ks_ctx *ctx, const ks_job *job, ks_report_panel *p)
{
    hid_t file = -1, d, s;
    hsize_t dims[1] = {0};
    char codes[512];
    int8_t map[128];
    int rc, nr = ctx->comm == MPI_COMM_NULL ? 1 : ctx->nranks;
    KS_CHECK(ks_job_output(ctx, job, "panel.h5", p->path, sizeof p->path));
    KS_CHECK(ks_h5_open_read(ctx, &file, p->path));
    rc = KS_OK;
    if (H5Lexists(file, "/panel/year", H5P_DEFAULT) <= 0)
        rc = ks_fail(ctx, KS_EINPUT, "%s has no dataset /panel/year: not a panel (run kspill panel)",
                     p->path);
    if (rc == KS_OK) {
        d = H5Dopen2(file, "/panel/year", H5P_DEFAULT);
        s = d >= 0 ? H5Dget_space(d) : -1;
        if (s < 0 || H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_dims(s, dims, NULL) < 0)
            rc = ks_fail(ctx, KS_EINPUT, "%s:/panel/year is not a 1-D column", p->path);
        if (s >= 0)
            H5Sclose(s);
        if (d >= 0)
            H5Dclose(d);
    }
    p->total = (int64_t)dims[0];
    /* contiguous shares: rank r reads rows [total r / P, total (r+1) / P) */
    p->row0 = p->total * ctx->rank / nr;
    p->n = p->total * (ctx->rank + 1) / nr - p->row0;
    if (rc == KS_OK)
        rc = read_column(ctx, file, p, "year", H5T_NATIVE_INT16, 2, (void **)&p->year);
    if (rc == KS_OK)
        rc = read_column(ctx, file, p, "export", H5T_NATIVE_INT8, 1, (void **)&p->export_);
    if (rc == KS_OK)
        rc = read_column(ctx, file, p, "region", H5T_NATIVE_INT8, 1, (void **)&p->region);
    if (rc == KS_OK)
        rc = read_column(ctx, file, p, "city", H5T_NATIVE_INT32, 4, (void **)&p->city);
    for (int v = 0; rc == KS_OK && v < KS_REPORT_NVARS; v++)
        rc = read_column(ctx, file, p, ks_report_var_names[v], H5T_NATIVE_DOUBLE, 8, (void **)&p->var[v]);
    if (rc == KS_OK)
        rc = read_codes(ctx, file, p->path, codes, sizeof codes);
    if (rc == KS_OK)
        rc = region_map(ctx, p->path, codes, map);
    for (int64_t r = 0; rc == KS_OK && r < p->n; r++)
        p->region[r] = p->region[r] >= -1 && p->region[r] < 127 ? map[p->region[r] + 1] : -1;
    for (int64_t r = 0; rc == KS_OK && r < p->n; r++)
        if (p->export_[r] != 0 && p->export_[r] != 1)
            rc = ks_fail(ctx, KS_EINPUT, "%s:/panel/export: row %lld is %d, not 0 or 1", p->path,
                         (long long)(p->row0 + r), p->export_[r]);
    H5Fclose(file);
    return ks_mpi_agree(ctx, rc);
}

/* The rows of the two report years (all Figures 1-4 look at): a compact
 * copy, so that their passes go over ~2/15 of the panel instead of all of
 * it.  Every statistic is order-independent, so the result is the same. */
static int panel_of_years(ks_ctx *ctx, const ks_report_panel *p, const int *years, ks_report_panel *sub)
{
    int64_t n = 0, k = 0;
    int rc;
    memset(sub, 0, sizeof *sub);
    memcpy(sub->path, p->path, sizeof sub->path);
    sub->total = p->total;
    sub->row0 = p->row0;
    for (int64_t r = 0; r < p->n; r++)
        n += p->year[r] == years[0] || p->year[r] == years[1];
    sub->n = n;
    rc = ks_calloc(ctx, &sub->year, n ? (size_t)n : 1, sizeof *sub->year, "report years' rows");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &sub->export_, n ? (size_t)n : 1, 1, "report years' rows");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &sub->region, n ? (size_t)n : 1, 1, "report years' rows");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &sub->city, n ? (size_t)n : 1, sizeof *sub->city, "report years' rows");
    for (int v = 0; rc == KS_OK && v < KS_REPORT_NVARS; v++)
        rc = ks_calloc(ctx, &sub->var[v], n ? (size_t)n : 1, sizeof *sub->var[v], "report years' rows");
    if (rc != KS_OK)
        return rc;
    for (int64_t r = 0; r < p->n; r++) {
        if (p->year[r] != years[0] && p->year[r] != years[1])
            continue;
        sub->year[k] = p->year[r];
        sub->export_[k] = p->export_[r];
        sub->region[k] = p->region[r];
        sub->city[k] = p->city[r];
        for (int v = 0; v < KS_REPORT_NVARS; v++)
            sub->var[v][k] = p->var[v][r];
        k++;
    }
    return KS_OK;
}

/* ---- the figures ---- */

/* The cells of each figure: a row's cell, or -1 for none. */
typedef enum cell_rule { FIG2_CELLS, FIG3_CELLS, FIG4_CELLS, FIG5_CELLS } cell_rule;

static int32_t fig2_cell(const ks_report_panel *p, int64_t r, const int *years)
{
    return p->year[r] == years[1] ? (p->export_[r] ? 0 : 1) : -1;
}

static int32_t fig3_cell(const ks_report_panel *p, int64_t r, const int *years)
{
    int yi = p->year[r] == years[0] ? 0 : p->year[r] == years[1] ? 1 : -1;
    if (yi < 0 || !p->export_[r] || p->region[r] < 0)
        return -1;
    return yi * KS_REPORT_NREGIONS + p->region[r];
}

static int32_t fig4_cell(const ks_report_panel *p, int64_t r, const int *years)
{
    int yi = p->year[r] == years[0] ? 0 : p->year[r] == years[1] ? 1 : -1;
    if (yi < 0 || !p->export_[r] || p->city[r] < 0 || p->city[r] >= KS_REPORT_CITY_CODES)
        return -1;
    return yi * KS_REPORT_CITY_CODES + p->city[r];
}

/* fig5: years[0] holds the first year of the panel here */
static int32_t fig5_cell(const ks_report_panel *p, int64_t r, const int *years)
{
    return (p->year[r] - years[0]) * 2 + (p->export_[r] ? 0 : 1);
}

/* cell[r] = the cell of row r under `rule`, or -1; with x, rows whose x is
 * not finite are in no cell.  One loop per rule, so that the rule inlines
 * (an indirect call per row was a third of Fig. 5's time). */
#define CELL_LOOP(rule_fn)                                                    \
    _Pragma("omp parallel for schedule(static)")                              \
    for (int64_t r = r0; r < r0 + n; r++)                                     \
        cell[r - r0] = !x || isfinite(x[r]) ? rule_fn(p, r, years) : -1

/* The cells of rows [r0, r0 + n) into cell[0 .. n). */
static void cells_of_rows(const ks_report_panel *p, const double *x, cell_rule rule, const int *years,
                          int64_t r0, int64_t n, int32_t *cell)
{
    switch (rule) {
    case FIG2_CELLS: CELL_LOOP(fig2_cell); break;
    case FIG3_CELLS: CELL_LOOP(fig3_cell); break;
    case FIG4_CELLS: CELL_LOOP(fig4_cell); break;
    case FIG5_CELLS: CELL_LOOP(fig5_cell); break;
    }
}
#undef CELL_LOOP

static void make_cells(const ks_report_panel *p, const double *x, cell_rule rule, const int *years,
                       int32_t *cell)
{
    cells_of_rows(p, x, rule, years, 0, p->n, cell);
}

/* Silverman's rule of thumb, with R's bw.nrd0 fallbacks when the spread
 * is 0: h = 0.9 min(sd, IQR / 1.34) n^(-1/5). */
static double silverman(const ks_box *b)
{
    double s = fmin(b->sd, (b->q3 - b->q1) / 1.34);
    if (!(s > 0))
        s = b->sd;
    if (!(s > 0))
        s = fabs(b->mean);
    if (!(s > 0))
        s = 1;
    return 0.9 * s * pow((double)b->n, -0.2);
}

static int fig1_and_2(ks_ctx *ctx, const ks_report_panel *p, ks_report_result *res, int32_t *cell)
{
    for (int v = 0; v < KS_REPORT_NVARS; v++) {
        ks_report_fig1 *f = &res->fig1[v];
        double lo[2], hi[2];
        char what[4352];
        snprintf(what, sizeof what, "%s:/panel/%s of %d", p->path, ks_report_var_names[v], res->years[1]);
        make_cells(p, p->var[v], FIG2_CELLS, res->years, cell);
        KS_CHECK(ks_report_box(ctx, p->var[v], cell, p->n, 2, what, res->fig2[v]));
        /* Fig. 1: one range for both groups, so the curves share the x axis */
        f->lo = INFINITY;
        f->hi = -INFINITY;
        for (int g = 0; g < 2; g++)
            if (res->fig2[v][g].n > 0) {
                f->lo = fmin(f->lo, res->fig2[v][g].min);
                f->hi = fmax(f->hi, res->fig2[v][g].max);
            }
        if (!(f->lo <= f->hi))
            f->lo = f->hi = 0;
        lo[0] = lo[1] = f->lo;
        hi[0] = hi[1] = f->hi;
        KS_CHECK(ks_calloc(ctx, &f->bins, 2 * KS_REPORT_KDE_BINS, sizeof *f->bins, "fig1 bins"));
        KS_CHECK(ks_report_histogram(ctx, p->var[v], cell, p->n, 2, lo, hi, KS_REPORT_KDE_BINS, f->bins));
        for (int j = 0; j < KS_REPORT_KDE_GRID; j++)
            f->x[j] = j == KS_REPORT_KDE_GRID - 1 ? f->hi
                      : f->lo + (f->hi - f->lo) * (double)j / (double)(KS_REPORT_KDE_GRID - 1);
        for (int g = 0; g < 2; g++) {
            f->n[g] = res->fig2[v][g].n;
            f->bandwidth[g] = f->n[g] > 0 ? silverman(&res->fig2[v][g]) : NAN;
            ks_describe_kde_binned(f->bins + g * KS_REPORT_KDE_BINS, KS_REPORT_KDE_BINS, f->lo, f->hi,
                                   f->bandwidth[g], f->x, KS_REPORT_KDE_GRID, f->kde[g]);
        }
    }
    return KS_OK;
}

static int fig3(ks_ctx *ctx, const ks_report_panel *p, ks_report_result *res, int32_t *cell)
{
    for (int v = 0; v < KS_REPORT_NVARS; v++) {
        ks_box box[2 * KS_REPORT_NREGIONS];
        char what[4352];
        snprintf(what, sizeof what, "%s:/panel/%s by region", p->path, ks_report_var_names[v]);
        make_cells(p, p->var[v], FIG3_CELLS, res->years, cell);
        KS_CHECK(ks_report_box(ctx, p->var[v], cell, p->n, 2 * KS_REPORT_NREGIONS, what, box));
        for (int y = 0; y < 2; y++)
            for (int g = 0; g < KS_REPORT_NREGIONS; g++)
                res->fig3[y][g][v] = box[y * KS_REPORT_NREGIONS + g];
    }
    return KS_OK;
}

/* Per-cell counts and sums of both variables in one pass: m[v][c]; the
 * cells do not depend on the variable (a row whose x is not finite is left
 * out of that variable's sums by the kernel).  The cells are made a chunk
 * of rows at a time (cell holds KS_REPORT_CELL_CHUNK): Fig. 5 goes over
 * every panel row, and a cell array as long as the panel would be 4 bytes
 * a row of fresh memory. */
static int cell_means(ks_ctx *ctx, const ks_report_panel *p, cell_rule rule, const int *years,
                      int ncells, int32_t *cell, ks_moments **m)
{
    char what[KS_REPORT_NVARS][4352];
    const char *whatp[KS_REPORT_NVARS];
    const double *x[KS_REPORT_NVARS];
    int64_t bad[KS_REPORT_NVARS] = {0};
    ks_moments *all = NULL;
    int rc;
    for (int v = 0; v < KS_REPORT_NVARS; v++) {
        snprintf(what[v], sizeof what[v], "%s:/panel/%s", p->path, ks_report_var_names[v]);
        whatp[v] = what[v];
    }
    rc = ks_calloc(ctx, &all, (size_t)ncells * KS_REPORT_NVARS, sizeof *all, "cell means");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    ks_moments_clear(all, ncells * KS_REPORT_NVARS);
    for (int64_t r0 = 0; rc == KS_OK && r0 < p->n; r0 += KS_REPORT_CELL_CHUNK) {
        int64_t n = p->n - r0 < KS_REPORT_CELL_CHUNK ? p->n - r0 : KS_REPORT_CELL_CHUNK, chunk_bad[KS_REPORT_NVARS];
        for (int v = 0; v < KS_REPORT_NVARS; v++)
            x[v] = p->var[v] + r0;
        cells_of_rows(p, NULL, rule, years, r0, n, cell);
        if (ks_describe_sums(x, KS_REPORT_NVARS, cell, n, ncells, all, chunk_bad) < 0)
            rc = ks_fail(ctx, KS_ENOMEM, "%s: no memory for the sums of %d cells", whatp[0], ncells);
        for (int v = 0; v < KS_REPORT_NVARS; v++)
            bad[v] += chunk_bad[v];
    }
    rc = ks_report_moments_combine(ctx, rc, KS_REPORT_NVARS, ncells, whatp, bad, all);
    if (rc != KS_OK) {
        free(all);
        return rc;
    }
    /* m[0] owns the block; m[v] points into it */
    for (int v = 0; v < KS_REPORT_NVARS; v++)
        m[v] = all + (size_t)v * (size_t)ncells;
    return KS_OK;
}

static int fig4(ks_ctx *ctx, const ks_report_panel *p, ks_report_result *res, int32_t *cell)
{
    ks_moments *m[KS_REPORT_NVARS] = {NULL, NULL};
    ks_refdata ref;
    int rc, ncells = 2 * KS_REPORT_CITY_CODES;
    memset(&ref, 0, sizeof ref);
    rc = cell_means(ctx, p, FIG4_CELLS, res->years, ncells, cell, m);
    if (rc == KS_OK)
        rc = ks_refdata_load(ctx, &ref);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &res->cities, (size_t)ncells, sizeof *res->cities, "fig4 cities");
    for (int c = 0; rc == KS_OK && c < ncells; c++) {
        int code = c % KS_REPORT_CITY_CODES, at = ref.city_index[code];
        ks_report_city *o;
        if (m[0][c].n == 0 || at < 0 || !isfinite(ref.cities[at].lon) || !isfinite(ref.cities[at].lat))
            continue;
        o = &res->cities[res->n_cities++];
        o->year = (int16_t)res->years[c / KS_REPORT_CITY_CODES];
        o->city = code;
        o->lon = ref.cities[at].lon;
        o->lat = ref.cities[at].lat;
        o->region = ref.cities[at].region;
        o->n = m[0][c].n;
        for (int v = 0; v < KS_REPORT_NVARS; v++)
            o->mean[v] = m[v][c].n ? ks_fix_mean(m[v][c].sum, m[v][c].n) : NAN;
    }
    ks_refdata_free(&ref);
    free(m[0]);
    return rc;
}

/* The panel's years (every rank): counts of rows per year; fails naming
 * the key when a report year has no rows. */
static int check_years(ks_ctx *ctx, const ks_job *job, const ks_report_panel *p, int *first,
                       int *last, int64_t **count)
{
    int64_t mm[2] = {INT16_MAX, INT16_MAX}; /* min of year, min of -year */
    char list[1024] = "";
    static const char *const keys[2] = {"compare_year", "year"};
    const int want[2] = {job->report_compare_year, job->report_year};
    for (int64_t r = 0; r < p->n; r++) {
        mm[0] = p->year[r] < mm[0] ? p->year[r] : mm[0];
        mm[1] = -p->year[r] < mm[1] ? -p->year[r] : mm[1];
    }
    KS_CHECK(ks_mpi_min_i64(ctx, mm, 2));
    if (p->total == 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no rows: nothing to report", p->path);
    *first = (int)mm[0];
    *last = (int)-mm[1];
    KS_CHECK(ks_calloc(ctx, count, (size_t)(*last - *first + 1), sizeof **count, "rows per year"));
    for (int64_t r = 0; r < p->n; r++)
        (*count)[p->year[r] - *first]++;
    KS_CHECK(ks_mpi_sum_i64(ctx, *count, *last - *first + 1));
    for (int y = *first; y <= *last; y++)
        if ((*count)[y - *first] > 0 && strlen(list) + 8 < sizeof list)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", list[0] ? ", " : "", y);
    for (int k = 0; k < 2; k++)
        if (want[k] < *first || want[k] > *last || (*count)[want[k] - *first] == 0)
            return ks_fail(ctx, KS_EUSAGE, "[report] %s = %d: %s has no rows of %d (its years: %s)",
                           keys[k], want[k], p->path, want[k], list);
    return KS_OK;
}

static int fig5(ks_ctx *ctx, const ks_report_panel *p, ks_report_result *res, int first, int last,
                const int64_t *count, int32_t *cell)
{
    ks_moments *m[KS_REPORT_NVARS] = {NULL, NULL};
    int base[2] = {first, 0}, ny = last - first + 1;
    int rc = cell_means(ctx, p, FIG5_CELLS, base, 2 * ny, cell, m);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &res->yearly, (size_t)ny, sizeof *res->yearly, "fig5 years");
    for (int y = 0; rc == KS_OK && y < ny; y++) {
        ks_report_year *o;
        if (count[y] == 0)
            continue;
        o = &res->yearly[res->n_years++];
        o->year = (int16_t)(first + y);
        for (int g = 0; g < 2; g++) {
            o->n[g] = m[0][2 * y + g].n;
            for (int v = 0; v < KS_REPORT_NVARS; v++)
                o->mean[g][v] = m[v][2 * y + g].n ? ks_fix_mean(m[v][2 * y + g].sum, m[v][2 * y + g].n) : NAN;
        }
    }
    free(m[0]);
    return rc;
}

void ks_report_result_free(ks_report_result *r)
{
    for (int v = 0; v < KS_REPORT_NVARS; v++)
        free(r->fig1[v].bins);
    free(r->cities);
    free(r->yearly);
    memset(r, 0, sizeof *r);
}

int ks_report_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_report_panel p, sub;
    ks_report_result res;
    int32_t *cell = NULL;
    int64_t *count = NULL;
    int first = 0, last = 0, rc;
    int64_t total;
    double t0 = ks_now(), t_read = 0, t_stats = 0, t_lap;
    memset(&p, 0, sizeof p);
    memset(&sub, 0, sizeof sub);
    memset(&res, 0, sizeof res);
    res.years[0] = job->report_compare_year;
    res.years[1] = job->report_year;
    rc = panel_read(ctx, job, &p);
    t_read = ks_now() - t0;
    t_lap = ks_now();
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, check_years(ctx, job, &p, &first, &last, &count));
    ks_debug_lap(ctx, "report", "the panel's years", &t_lap);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, panel_of_years(ctx, &p, res.years, &sub));
    ks_debug_lap(ctx, "report", "the rows of the report years", &t_lap);
    /* cells: of every row of the report years (Fig. 1-4), of a chunk of
     * the panel's rows at a time (Fig. 5) */
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_calloc(ctx, &cell, (size_t)(sub.n > KS_REPORT_CELL_CHUNK ? sub.n :
                                                               KS_REPORT_CELL_CHUNK), sizeof *cell, "cells"));
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, fig5(ctx, &p, &res, first, last, count, cell));
    ks_debug_lap(ctx, "report", "Fig. 5", &t_lap);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, fig1_and_2(ctx, &sub, &res, cell));
    ks_debug_lap(ctx, "report", "Fig. 1 and 2", &t_lap);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, fig3(ctx, &sub, &res, cell));
    ks_debug_lap(ctx, "report", "Fig. 3", &t_lap);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, fig4(ctx, &sub, &res, cell));
    ks_debug_lap(ctx, "report", "Fig. 4", &t_lap);
    free(cell);
    panel_free(&sub);
    free(count);
    t_stats = ks_now() - t0 - t_read;
    total = p.total;
    panel_free(&p);
    if (rc == KS_OK)
        rc = ks_report_write(ctx, job, &res, stamp);
    if (rc == KS_OK)
        ks_info(ctx, "report: Fig. 1-5 of %lld panel rows (%d-%d; %d and %d), %d city means, in %.1f s "
                "(read %.1f, statistics %.1f, outputs and page %.1f)", (long long)total, first, last,
                res.years[0], res.years[1], res.n_cities, ks_now() - t0, t_read, t_stats,
                ks_now() - t0 - t_read - t_stats);
    ks_report_result_free(&res);
    return rc;
}
