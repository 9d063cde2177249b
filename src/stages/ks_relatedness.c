/* ks_relatedness.c - stage `relatedness`: WORKDIR/records.h5 ->
 * WORKDIR/relatedness.h5, the yearly HS4 x HS4 proximity phi (method.md §2;
 * layout in docs/hdf5.md).
 *
 * For each year t:
 * 1. every rank reads the flows of its own firms (a contiguous range of the
 *    firm index) and builds their export baskets over the window
 *    t-window+1..t (ks_relatedness_baskets.c); for measure = rca the units
 *    are regions whose export values are summed over ranks first;
 * 2. the OpenMP kernel counts C[i,j] and k[i] over those baskets
 *    (kernels/ks_cooccur.h); firm counts are summed over ranks;
 * 3. rank 0 divides phi = C / max(k_i, k_j) and the three matrices are
 *    written collectively into one file, committed when every year is in.
 * Counts are integers summed exactly, so the file is the same bit for bit for
 * any number of ranks and threads. */
#include "ks_relatedness.h"

#include <hdf5.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_cooccur.h"
#include "ks_h5.h"
#include "ks_log.h"
#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_relatedness_internal.h"

/* The groups of the output that receive one dataset per year. */
typedef struct rel_groups {
    hid_t phi, cooccurrence, ubiquity;
} rel_groups;

/* Seconds spent per step, summed over the years (rank 0's view). */
typedef struct rel_times {
    double read, count, sum, write;
} rel_times;

/* ------------------------------------------------------------- set-up */

static int check_years(ks_ctx *ctx, const ks_rel *rel)
{
    const ks_job *job = rel->job;
    if (job->first_year < rel->rec.first_year || job->last_year > rel->rec.last_year)
        return ks_fail(ctx, KS_EINPUT, "%s holds the years %d-%d but the job asks for %d-%d: "
                       "rerun kspill ingest with this job", rel->rec.path, rel->rec.first_year,
                       rel->rec.last_year, job->first_year, job->last_year);
    if (rel->rec.n_products <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no products (/products/hs4 is empty)", rel->rec.path);
    return KS_OK;
}

static int rel_alloc(ks_ctx *ctx, ks_rel *rel)
{
    size_t pp = (size_t)rel->P * (size_t)rel->P, ny = (size_t)rel->nyears;
    KS_CHECK(ks_calloc(ctx, &rel->C, pp, sizeof *rel->C, "co-occurrence matrix"));
    KS_CHECK(ks_calloc(ctx, &rel->k, (size_t)rel->P + 1, sizeof *rel->k, "ubiquity"));
    /* every rank divides (cheap) and compresses and writes its block of rows */
    KS_CHECK(ks_calloc(ctx, &rel->phi, pp, sizeof *rel->phi, "phi matrix"));
    if (rel->job->rel_measure == KS_REL_COEXPORT) {
        KS_CHECK(ks_calloc(ctx, &rel->keys, ny, sizeof *rel->keys, "window"));
        return ks_calloc(ctx, &rel->nkeys, ny, sizeof *rel->nkeys, "window");
    }
    KS_CHECK(ks_calloc(ctx, &rel->X, ny, sizeof *rel->X, "window"));
    return ks_rel_regions_init(ctx, rel);
}

static int rel_open(ks_ctx *ctx, const ks_job *job, ks_rel *rel)
{
    char path[KS_PATH_MAX];
    int rc = KS_OK;
    memset(rel, 0, sizeof *rel);
    rel->job = job;
    rel->nyears = job->last_year - job->first_year + 1;
    KS_CHECK(ks_job_output(ctx, job, "records.h5", path, sizeof path));
    if (access(path, R_OK) != 0)
        rc = ks_fail(ctx, KS_EINPUT, "%s not found: relatedness reads the records that ingest "
                     "writes; run `kspill ingest %s` first", path, job->path[0] ? job->path : "JOB.ini");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_records_open(ctx, path, &rel->rec));
    KS_CHECK(check_years(ctx, rel)); /* same file on every rank: same verdict */
    rel->P = rel->rec.n_products;
    ks_records_firm_range(ctx, rel->rec.n_firms, &rel->lo, &rel->hi);
    return ks_mpi_agree(ctx, rel_alloc(ctx, rel));
}

static void rel_close(ks_rel *rel)
{
    ks_rel_baskets_free(rel);
    ks_records_close(&rel->rec);
    free(rel->C);
    free(rel->k);
    free(rel->phi);
}

/* ------------------------------------------------------------- output */

static const char *measure_name(const ks_job *job)
{
    return job->rel_measure == KS_REL_COEXPORT ? "coexport" : "rca";
}

static int write_root_attrs(ks_ctx *ctx, hid_t file, const ks_job *job)
{
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_format", "relatedness"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "format_version", KS_RELATEDNESS_FORMAT_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_version", KS_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "job", job->name));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "first_year", job->first_year));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "last_year", job->last_year));
    KS_CHECK(ks_h5_attr_string(ctx, file, "measure", measure_name(job)));
    KS_CHECK(ks_h5_attr_string(ctx, file, "diagonal", job->rel_diagonal_one ? "one" : "zero"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "window", job->rel_window));
    KS_CHECK(ks_h5_attr_string(ctx, file, "rca_scope",
                               job->rel_rca_scope == KS_SCOPE_PROVINCE ? "province" : "city"));
    KS_CHECK(ks_h5_attr_string(ctx, file, "unit", ks_rel_unit_name(job)));
    return ks_h5_attr_string(ctx, file, "formula",
                             "phi[i,j] = C[i,j] / max(k[i], k[j]), 0 where k[i] or k[j] is 0; "
                             "C[i,i] = k[i]; see docs/hdf5.md");
}

static int write_header(ks_ctx *ctx, const ks_rel *rel, hid_t file, rel_groups *g)
{
    hid_t products;
    int rc;
    KS_CHECK(write_root_attrs(ctx, file, rel->job));
    KS_CHECK(ks_h5_group(ctx, file, "products", &products));
    rc = ks_h5_write_root(ctx, products, "hs4", H5T_NATIVE_INT32, rel->rec.hs4, rel->P);
    H5Gclose(products);
    KS_CHECK(rc);
    KS_CHECK(ks_h5_group(ctx, file, "phi", &g->phi));
    KS_CHECK(ks_h5_group(ctx, file, "cooccurrence", &g->cooccurrence));
    return ks_h5_group(ctx, file, "ubiquity", &g->ubiquity);
}

static void groups_close(rel_groups *g)
{
    hid_t *all[3] = {&g->phi, &g->cooccurrence, &g->ubiquity};
    for (int i = 0; i < 3; i++) {
        if (*all[i] >= 0)
            H5Gclose(*all[i]);
        *all[i] = H5I_INVALID_HID;
    }
}

/* The attributes of one year's dataset: which year and window, how many
 * units (firms or regions) had at least one product. */
static int dataset_attrs(ks_ctx *ctx, const ks_rel *rel, hid_t group, const char *name, int year)
{
    int first = year - rel->job->rel_window + 1, rc;
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    char where[1100];
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "HDF5 could not reopen %s",
                       ks_h5_describe(group, name, where, sizeof where));
    rc = ks_h5_attr_i64(ctx, d, "year", year);
    if (rc == KS_OK)
        rc = ks_h5_attr_i64(ctx, d, "window_first_year",
                            first < rel->job->first_year ? rel->job->first_year : first);
    if (rc == KS_OK)
        rc = ks_h5_attr_i64(ctx, d, "n_units", rel->k[rel->P]);
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, d, "unit", ks_rel_unit_name(rel->job));
    H5Dclose(d);
    return rc;
}

/* Each rank writes the rows [lo, hi) of the matrices, an even split. */
static int write_year(ks_ctx *ctx, const ks_rel *rel, const rel_groups *g, int year)
{
    char name[16];
    int64_t P = rel->P, lo = P * ctx->rank / ctx->nranks, hi = P * (ctx->rank + 1) / ctx->nranks;
    snprintf(name, sizeof name, "%d", year);
    KS_CHECK(ks_h5_write_rows_2d(ctx, g->phi, name, H5T_NATIVE_DOUBLE, rel->phi + lo * P, lo,
                                 hi - lo, P, P));
    KS_CHECK(dataset_attrs(ctx, rel, g->phi, name, year));
    KS_CHECK(ks_h5_write_rows_2d(ctx, g->cooccurrence, name, H5T_NATIVE_INT64, rel->C + lo * P, lo,
                                 hi - lo, P, P));
    KS_CHECK(dataset_attrs(ctx, rel, g->cooccurrence, name, year));
    KS_CHECK(ks_h5_write_root(ctx, g->ubiquity, name, H5T_NATIVE_INT64, rel->k, rel->P));
    return dataset_attrs(ctx, rel, g->ubiquity, name, year);
}

/* ------------------------------------------------------------- one year */

/* Count the baskets of this rank (coexport) or of all regions (rca, the same
 * on every rank); k[P] receives the number of units with a product. */
static int count_year(ks_ctx *ctx, ks_rel *rel, int year)
{
    if (ks_cooccur_count(rel->offsets, rel->items, rel->n_baskets, rel->P, rel->C, rel->k) != 0)
        return ks_fail(ctx, KS_EINTERNAL, "relatedness %d: a basket is not ascending inside "
                       "0..%d", year, rel->P - 1);
    rel->k[rel->P] = ks_cooccur_nonempty(rel->offsets, rel->n_baskets);
    return KS_OK;
}

static int rel_year(ks_ctx *ctx, ks_rel *rel, const rel_groups *g, int year, rel_times *tm)
{
    double t0 = ks_now(), t1, t2, t3;
    int rc;
    /* the years before the window were needed by the previous year only */
    ks_rel_drop_year(rel, year - rel->job->rel_window);
    KS_CHECK(ks_mpi_agree(ctx, ks_rel_load_year(ctx, rel, year)));
    rc = ks_rel_baskets(ctx, rel, year);
    t1 = ks_now();
    if (rc == KS_OK)
        rc = count_year(ctx, rel, year);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    t2 = ks_now();
    if (rel->job->rel_measure == KS_REL_COEXPORT) { /* rca counted all regions on every rank */
        KS_CHECK(ks_mpi_sum_i64(ctx, rel->C, rel->P * rel->P));
        KS_CHECK(ks_mpi_sum_i64(ctx, rel->k, rel->P + 1));
    }
    ks_cooccur_phi(rel->C, rel->k, rel->P, rel->job->rel_diagonal_one, rel->phi);
    t3 = ks_now();
    rc = write_year(ctx, rel, g, year);
    if (rc != KS_OK)
        ks_fail_context(ctx, "writing relatedness of %d", year);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    tm->read += t1 - t0;
    tm->count += t2 - t1;
    tm->sum += t3 - t2;
    tm->write += ks_now() - t3;
    ks_info(ctx, "relatedness: %d: %lld %s, %.2f s (read %.3f, count %.3f, sum+phi %.3f, write %.3f)",
            year, (long long)rel->k[rel->P], ks_rel_unit_name(rel->job), ks_now() - t0, t1 - t0,
            t2 - t1, t3 - t2, ks_now() - t3);
    return KS_OK;
}

static int report_end(ks_ctx *ctx, const ks_rel *rel, const char *path, const rel_times *tm,
                      double t0)
{
    int64_t peak = ks_peak_memory_kb();
    KS_CHECK(ks_mpi_max_i64(ctx, &peak, 1));
    ks_info(ctx, "relatedness: wrote %s: %d years in %.3f s (read %.3f, count %.3f, sum+phi %.3f, "
            "write %.3f); peak memory %.1f MB per rank (max of %d)", path, rel->nyears,
            ks_now() - t0, tm->read, tm->count, tm->sum, tm->write, (double)peak / 1024.0,
            ctx->nranks);
    return KS_OK;
}

/* ------------------------------------------------------------- the stage */

int ks_relatedness_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_rel rel;
    ks_h5_file out = {.id = H5I_INVALID_HID};
    rel_groups g = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID};
    rel_times tm = {0};
    char path[KS_PATH_MAX];
    double t0 = ks_now();
    int rc;
    KS_TRY(rc, rel_open(ctx, job, &rel), done);
    KS_TRY(rc, ks_job_output(ctx, job, "relatedness.h5", path, sizeof path), done);
    ks_info(ctx, "relatedness: measure %s, diagonal %s, window %d%s%s; %d products, %lld firms, "
            "years %d-%d; %d rank%s x %d thread%s", measure_name(job),
            job->rel_diagonal_one ? "one" : "zero", job->rel_window,
            job->rel_measure == KS_REL_RCA ? ", regions: " : "",
            job->rel_measure == KS_REL_RCA ? ks_rel_unit_name(job) : "", rel.P,
            (long long)rel.rec.n_firms, job->first_year, job->last_year, ctx->nranks,
            ctx->nranks == 1 ? "" : "s", omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
    rc = ks_mpi_agree(ctx, ks_h5_create(ctx, &out, path));
    if (rc != KS_OK) {
        ks_h5_abort(ctx, &out);
        goto done;
    }
    rc = ks_mpi_agree(ctx, write_header(ctx, &rel, out.id, &g));
    for (int year = job->first_year; rc == KS_OK && year <= job->last_year; year++)
        rc = rel_year(ctx, &rel, &g, year, &tm);
    groups_close(&g);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_stamp_write_h5(ctx, out.id, stamp));
    if (rc == KS_OK)
        rc = ks_h5_commit(ctx, &out);
    else
        ks_h5_abort(ctx, &out);
    if (rc == KS_OK)
        rc = report_end(ctx, &rel, path, &tm, t0);
done:
    rel_close(&rel);
    return rc;
}
