/* ks_report_write.c - the outputs of stage report: the gnuplot tables of
 * WORKDIR/report/data (rank 0, each through a temporary name and a rename),
 * then the group /report of WORKDIR/results.h5, committed last so that its
 * stamp means every output of the stage is complete (docs/report.md). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fs.h"
#include "ks_h5.h"
#include "ks_mpi.h"
#include "ks_refdata.h"
#include "ks_report_internal.h"
#include "ks_report_page.h"

static const char *const box_cols = "n mean q1 median q3 whisker_low whisker_high min max";

static void put_box(FILE *f, const ks_box *b)
{
    fprintf(f, " %lld %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", (long long)b->n, b->mean,
            b->q1, b->median, b->q3, b->whisker_low, b->whisker_high, b->min, b->max);
}

/* One table: written to NAME.partial, renamed when complete. */
static int write_dat(ks_ctx *ctx, const char *dir, const char *name, const ks_report_result *r, int which,
                     int var)
{
    char path[KS_PATH_MAX], tmp[KS_PATH_MAX];
    FILE *f;
    int bad;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return ks_fail(ctx, KS_EIO, "%s/%s: path too long", dir, name);
    KS_CHECK(ks_fs_partial_name(ctx, path, tmp, sizeof tmp));
    f = fopen(tmp, "w");
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
    if (which == 1) {
        const ks_report_fig1 *g = &r->fig1[var];
        fprintf(f, "# x kde_exported kde_not_exported\n");
        for (int j = 0; j < KS_REPORT_KDE_GRID; j++)
            fprintf(f, "%.17g %.17g %.17g\n", g->x[j], g->kde[0][j], g->kde[1][j]);
    } else if (which == 2) {
        fprintf(f, "# variable group %s\n", box_cols);
        for (int v = 0; v < KS_REPORT_NVARS; v++)
            for (int g = 0; g < 2; g++) {
                fprintf(f, "%s %s", ks_report_var_names[v], ks_report_group_names[g]);
                put_box(f, &r->fig2[v][g]);
            }
    } else if (which == 3) {
        fprintf(f, "# year region variable %s\n", box_cols);
        for (int y = 0; y < 2; y++)
            for (int g = 0; g < KS_REPORT_NREGIONS; g++)
                for (int v = 0; v < KS_REPORT_NVARS; v++) {
                    fprintf(f, "%d %s %s", r->years[y], ks_region_name(g), ks_report_var_names[v]);
                    put_box(f, &r->fig3[y][g][v]);
                }
    } else if (which == 4) {
        fprintf(f, "# year city lon lat region mean_density_firm mean_density_city n\n");
        for (int c = 0; c < r->n_cities; c++) {
            const ks_report_city *o = &r->cities[c];
            fprintf(f, "%d %d %.17g %.17g %s %.17g %.17g %lld\n", o->year, o->city, o->lon, o->lat,
                    ks_region_name(o->region), o->mean[0], o->mean[1], (long long)o->n);
        }
    } else {
        fprintf(f, "# year n_exported mean_density_firm_exported mean_density_city_exported "
                   "n_not_exported mean_density_firm_not_exported mean_density_city_not_exported\n");
        for (int y = 0; y < r->n_years; y++) {
            const ks_report_year *o = &r->yearly[y];
            fprintf(f, "%d %lld %.17g %.17g %lld %.17g %.17g\n", o->year, (long long)o->n[0],
                    o->mean[0][0], o->mean[0][1], (long long)o->n[1], o->mean[1][0], o->mean[1][1]);
        }
    }
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return ks_fail(ctx, KS_EIO, "cannot write %s", tmp);
    }
    if (rename(tmp, path) != 0)
        return ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    return KS_OK;
}

static int write_tables(ks_ctx *ctx, const ks_job *job, const ks_report_result *r)
{
    char dir[KS_PATH_MAX];
    int rc = KS_OK;
    KS_CHECK(ks_job_output(ctx, job, "report/data", dir, sizeof dir));
    KS_CHECK(ks_fs_mkdirs_collective(ctx, dir));
    if (ctx->rank == 0) {
        rc = write_dat(ctx, dir, "fig1_density_firm.dat", r, 1, 0);
        if (rc == KS_OK)
            rc = write_dat(ctx, dir, "fig1_density_city.dat", r, 1, 1);
        if (rc == KS_OK)
            rc = write_dat(ctx, dir, "fig2_box.dat", r, 2, 0);
        if (rc == KS_OK)
            rc = write_dat(ctx, dir, "fig3_box.dat", r, 3, 0);
        if (rc == KS_OK)
            rc = write_dat(ctx, dir, "fig4_city.dat", r, 4, 0);
        if (rc == KS_OK)
            rc = write_dat(ctx, dir, "fig5_yearly.dat", r, 5, 0);
    }
    return ks_mpi_agree(ctx, rc);
}

/* The box statistics of rows [0, n) as columns of group g. */
static int write_boxes(ks_ctx *ctx, hid_t g, const ks_box *const *b, int n)
{
    static const char *const names[] = {"mean", "sd", "min", "q1", "median", "q3",
                                        "whisker_low", "whisker_high", "max"};
    int64_t *cnt = NULL;
    double *col = NULL;
    int rc = ks_calloc(ctx, &cnt, (size_t)n, sizeof *cnt, "box columns");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &col, (size_t)n, sizeof *col, "box columns");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    for (int i = 0; i < n; i++)
        cnt[i] = b[i]->n;
    rc = ks_h5_write_root(ctx, g, "n", H5T_NATIVE_INT64, cnt, n);
    for (int k = 0; rc == KS_OK && k < 9; k++) {
        for (int i = 0; i < n; i++) {
            const double v[9] = {b[i]->mean, b[i]->sd, b[i]->min, b[i]->q1, b[i]->median, b[i]->q3,
                                 b[i]->whisker_low, b[i]->whisker_high, b[i]->max};
            col[i] = v[k];
        }
        rc = ks_h5_write_root(ctx, g, names[k], H5T_NATIVE_DOUBLE, col, n);
    }
    free(cnt);
    free(col);
    return rc;
}

static int write_strings(ks_ctx *ctx, hid_t g, const char *name, const char *const *s, int n)
{
    return ks_h5_write_strings(ctx, g, name, s, ctx->rank == 0 ? n : 0, 0, n);
}

/* `file` is the group /report: the names below are relative to it. */
static int write_h5_content(ks_ctx *ctx, hid_t file, const ks_report_result *r)
{
    hid_t g = -1;
    int rc = KS_OK;
    const ks_box *boxes[2 * KS_REPORT_NREGIONS * KS_REPORT_NVARS];
    const char *s1[2 * KS_REPORT_NREGIONS * KS_REPORT_NVARS], *s2[2 * KS_REPORT_NREGIONS * KS_REPORT_NVARS];
    int32_t iy[2 * KS_REPORT_NREGIONS * KS_REPORT_NVARS];
    int n;
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_format", "report"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "format_version", KS_REPORT_FORMAT_VERSION));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "year", r->years[1]));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "compare_year", r->years[0]));
    /* fig1 */
    for (int v = 0; v < KS_REPORT_NVARS; v++) {
        char path[64];
        const ks_report_fig1 *f = &r->fig1[v];
        snprintf(path, sizeof path, "fig1/%s", ks_report_var_names[v]);
        KS_CHECK(ks_h5_group(ctx, file, path, &g));
        rc = ks_h5_write_root(ctx, g, "x", H5T_NATIVE_DOUBLE, f->x, KS_REPORT_KDE_GRID);
        if (rc == KS_OK)
            rc = ks_h5_write_root(ctx, g, "kde_exported", H5T_NATIVE_DOUBLE, f->kde[0], KS_REPORT_KDE_GRID);
        if (rc == KS_OK)
            rc = ks_h5_write_root(ctx, g, "kde_not_exported", H5T_NATIVE_DOUBLE, f->kde[1], KS_REPORT_KDE_GRID);
        if (rc == KS_OK)
            rc = ks_h5_write_root(ctx, g, "n", H5T_NATIVE_INT64, f->n, 2);
        if (rc == KS_OK)
            rc = ks_h5_write_root(ctx, g, "bandwidth", H5T_NATIVE_DOUBLE, f->bandwidth, 2);
        if (rc == KS_OK)
            rc = ks_h5_write_root_2d(ctx, g, "bin_count", H5T_NATIVE_INT64, f->bins, 2, KS_REPORT_KDE_BINS);
        if (rc == KS_OK)
            rc = ks_h5_attr_f64(ctx, g, "lo", f->lo);
        if (rc == KS_OK)
            rc = ks_h5_attr_f64(ctx, g, "hi", f->hi);
        if (rc == KS_OK)
            rc = ks_h5_attr_string(ctx, g, "binning", "simple: 4096 equal bins over [lo, hi], points at bin centres");
        H5Gclose(g);
        KS_CHECK(rc);
    }
    /* fig2: rows (variable, group) */
    n = 0;
    for (int v = 0; v < KS_REPORT_NVARS; v++)
        for (int k = 0; k < 2; k++) {
            boxes[n] = &r->fig2[v][k];
            s1[n] = ks_report_var_names[v];
            s2[n++] = ks_report_group_names[k];
        }
    KS_CHECK(ks_h5_group(ctx, file, "fig2", &g));
    rc = write_strings(ctx, g, "variable", s1, n);
    if (rc == KS_OK)
        rc = write_strings(ctx, g, "group", s2, n);
    if (rc == KS_OK)
        rc = write_boxes(ctx, g, boxes, n);
    H5Gclose(g);
    KS_CHECK(rc);
    /* fig3: rows (year, region, variable) */
    n = 0;
    for (int y = 0; y < 2; y++)
        for (int k = 0; k < KS_REPORT_NREGIONS; k++)
            for (int v = 0; v < KS_REPORT_NVARS; v++) {
                boxes[n] = &r->fig3[y][k][v];
                iy[n] = r->years[y];
                s1[n] = ks_region_name(k);
                s2[n++] = ks_report_var_names[v];
            }
    KS_CHECK(ks_h5_group(ctx, file, "fig3", &g));
    rc = ks_h5_write_root(ctx, g, "year", H5T_NATIVE_INT32, iy, n);
    if (rc == KS_OK)
        rc = write_strings(ctx, g, "region", s1, n);
    if (rc == KS_OK)
        rc = write_strings(ctx, g, "variable", s2, n);
    if (rc == KS_OK)
        rc = write_boxes(ctx, g, boxes, n);
    H5Gclose(g);
    KS_CHECK(rc);
    /* fig4 and fig5: columns */
    {
        int nc = r->n_cities, ny = r->n_years;
        int32_t *i32 = NULL;
        int64_t *i64 = NULL;
        double *f64 = NULL;
        int8_t *i8 = NULL;
        int m = nc > ny ? nc : ny;
        rc = ks_calloc(ctx, &i32, (size_t)m + 1, sizeof *i32, "columns");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &i64, (size_t)m + 1, sizeof *i64, "columns");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &f64, (size_t)m + 1, sizeof *f64, "columns");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &i8, (size_t)m + 1, sizeof *i8, "columns");
        if (rc == KS_OK)
            rc = ks_h5_group(ctx, file, "fig4", &g);
#define COL(arr, type, expr, name, count)                                 \
    if (rc == KS_OK) {                                                    \
        for (int i = 0; i < (count); i++)                                 \
            arr[i] = (expr);                                              \
        rc = ks_h5_write_root(ctx, g, name, type, arr, count);            \
    }
        COL(i32, H5T_NATIVE_INT32, r->cities[i].year, "year", nc)
        COL(i32, H5T_NATIVE_INT32, r->cities[i].city, "city", nc)
        COL(f64, H5T_NATIVE_DOUBLE, r->cities[i].lon, "lon", nc)
        COL(f64, H5T_NATIVE_DOUBLE, r->cities[i].lat, "lat", nc)
        COL(i8, H5T_NATIVE_INT8, r->cities[i].region, "region", nc)
        COL(f64, H5T_NATIVE_DOUBLE, r->cities[i].mean[0], "mean_density_firm", nc)
        COL(f64, H5T_NATIVE_DOUBLE, r->cities[i].mean[1], "mean_density_city", nc)
        COL(i64, H5T_NATIVE_INT64, r->cities[i].n, "n", nc)
        if (g >= 0 && rc == KS_OK) {
            H5Gclose(g);
            g = -1;
            rc = ks_h5_group(ctx, file, "fig5", &g);
        }
        COL(i32, H5T_NATIVE_INT32, r->yearly[i].year, "year", ny)
        COL(i64, H5T_NATIVE_INT64, r->yearly[i].n[0], "n_exported", ny)
        COL(f64, H5T_NATIVE_DOUBLE, r->yearly[i].mean[0][0], "mean_density_firm_exported", ny)
        COL(f64, H5T_NATIVE_DOUBLE, r->yearly[i].mean[0][1], "mean_density_city_exported", ny)
        COL(i64, H5T_NATIVE_INT64, r->yearly[i].n[1], "n_not_exported", ny)
        COL(f64, H5T_NATIVE_DOUBLE, r->yearly[i].mean[1][0], "mean_density_firm_not_exported", ny)
        COL(f64, H5T_NATIVE_DOUBLE, r->yearly[i].mean[1][1], "mean_density_city_not_exported", ny)
#undef COL
        if (g >= 0)
            H5Gclose(g);
        free(i32);
        free(i64);
        free(f64);
        free(i8);
    }
    return rc;
}

/* Group /report of results.h5, new: a rerun of report replaces it. */
static int report_group(ks_ctx *ctx, hid_t file, hid_t *g)
{
    hid_t gcpl;
    *g = -1;
    if (H5Lexists(file, KS_REPORT_GROUP, H5P_DEFAULT) > 0 && H5Ldelete(file, KS_REPORT_GROUP, H5P_DEFAULT) < 0)
        return ks_fail(ctx, KS_EHDF5, "HDF5 could not remove the old group %s", KS_REPORT_GROUP);
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    *g = H5Gcreate2(file, KS_REPORT_GROUP, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (*g < 0)
        return ks_fail(ctx, KS_EHDF5, "HDF5 could not create the group %s", KS_REPORT_GROUP);
    return KS_OK;
}

int ks_report_write(ks_ctx *ctx, const ks_job *job, const ks_report_result *r, const ks_stamp *stamp)
{
    char path[KS_PATH_MAX];
    ks_h5_file out;
    hid_t g = -1;
    int rc;
    KS_CHECK(write_tables(ctx, job, r));
    /* the statistics go beside the estimates, in results.h5 (fit's, or a
     * new one for a job without models), in a copy committed over it */
    KS_CHECK(ks_job_output(ctx, job, "results.h5", path, sizeof path));
    KS_CHECK(ks_h5_amend(ctx, &out, path));
    rc = ks_mpi_agree(ctx, report_group(ctx, out.id, &g));
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, write_h5_content(ctx, g, r));
    /* the figures and the HTML page, from the tables just written; before
     * the group's stamp is written and results.h5 committed, so a failed
     * page leaves the stage not done */
    if (rc == KS_OK) {
        /* an absolute workdir: the page runs gnuplot from its own folder */
        char abs[PATH_MAX];
        int prc = KS_OK;
        if (ctx->rank == 0 && !realpath(job->workdir, abs))
            prc = ks_fail(ctx, KS_EIO, "cannot resolve the workdir %s: %s", job->workdir, strerror(errno));
        if (prc == KS_OK && ctx->rank == 0)
            prc = ks_report_page(ctx, job, abs, stamp);
        rc = ks_mpi_agree_idle(ctx, prc);
    }
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_stamp_write_h5(ctx, g, stamp));
    if (g >= 0)
        H5Gclose(g);
    if (rc == KS_OK)
        rc = ks_h5_commit(ctx, &out);
    else
        ks_h5_abort(ctx, &out);
    return rc;
}
