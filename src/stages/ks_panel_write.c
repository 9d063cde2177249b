/* ks_panel_write.c - panel.h5 (layout: docs/hdf5.md): one 1-D column per
 * variable under /panel, streamed a year at a time (every rank's rows of a
 * year are one hyperslab after the previous years), the firm ids, the axes,
 * the cut points of the groups and the city density tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_panel_internal.h"

typedef struct column_def {
    const char *name;
    hid_t (*type)(void);
    const char *definition;
    const char *codes; /* NULL: none */
} column_def;

static hid_t t_i8(void) { return H5T_NATIVE_INT8; }
static hid_t t_i16(void) { return H5T_NATIVE_INT16; }
static hid_t t_i32(void) { return H5T_NATIVE_INT32; }
static hid_t t_i64(void) { return H5T_NATIVE_INT64; }
static hid_t t_f64(void) { return H5T_NATIVE_DOUBLE; }

/* The fixed columns, in file order; the densities go between export and
 * tradevalue. */
enum { C_FIRM, C_YEAR, C_PRODUCT, C_INDUSTRY, C_CITY, C_PROVINCE, C_REGION, C_MARKET, C_SIZE,
       C_EXPORT, C_TRADEVALUE, C_NEWEXPORT };
#define DENSITIES_BEFORE C_TRADEVALUE

static const column_def columns[KS_PANEL_FIXED_COLUMNS] = {
    {"firm", t_i64, "the firm: index into /firms/id (records.h5's firm index)", NULL},
    {"year", t_i16, "the year t", NULL},
    {"product", t_i32, "the HS2007 heading i (4 digits; 101 is 0101)", NULL},
    {"industry", t_i16, "the HS2 chapter of product i (the industry fixed effect)", NULL},
    {"city", t_i32, "the firm-year's prefecture-level city code (records.h5 /firm_years/city); "
                    "-1 unknown", NULL},
    {"province", t_i16, "the 2-digit province code of the city; -1 unknown", NULL},
    {"region", t_i8, "the region of the city's province (method.md section 4)",
     "0=East;1=Central;2=West;3=Northeast;-1=unknown"},
    {"market", t_i8, "the city's marketisation group in the year (or pooled): its non-SOE share "
                     "of trade value (sum of value_kept_usd of firm-years with ownership != soe, "
                     "over all its firm-years, in exact micro-dollars) against the [panel] "
                     "market_cuts percentiles (numpy linear) of cities' shares: low < p_low <= "
                     "middle < p_high <= high (cut points in /groups)",
     "0=low;1=middle;2=high;-1=unknown"},
    {"size", t_i8, "the firm-year's tradevalue tercile among all firm-years of the year with "
                   "kept rows: cut points q1, q2 = numpy.quantile(tradevalue, [1/3, 2/3]) "
                   "(linear); small <= q1 < middle <= q2 < large (cut points in /groups)",
     "0=small;1=middle;2=large;-1=unknown"},
    {"export", t_i8, "1 if the firm exports product i in year t, else 0", "0=no;1=yes"},
    {"tradevalue", t_f64, "log of the firm-year's total import + export value in USD "
                          "(log(value_kept_usd)); NaN when the value is 0", NULL},
    {"newexport", t_f64, "transform ([panel] newexport, root attribute) of n, the number of "
                         "products the firm exports in t and never exported from the first year "
                         "to t-1; NaN in the first year (no history) and, for log, when n = 0",
     NULL},
};

int ks_panel_rows_alloc(ks_ctx *ctx, ks_panel_rows *rows, int64_t n, int n_densities)
{
    size_t m = (size_t)n + 1;
    memset(rows, 0, sizeof *rows);
    rows->n = n;
    KS_CHECK(ks_calloc(ctx, &rows->firm, m, sizeof *rows->firm, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->year, m, sizeof *rows->year, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->product, m, sizeof *rows->product, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->industry, m, sizeof *rows->industry, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->city, m, sizeof *rows->city, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->province, m, sizeof *rows->province, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->region, m, sizeof *rows->region, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->market, m, sizeof *rows->market, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->size, m, sizeof *rows->size, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->exported, m, sizeof *rows->exported, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->tradevalue, m, sizeof *rows->tradevalue, "panel rows"));
    KS_CHECK(ks_calloc(ctx, &rows->newexport, m, sizeof *rows->newexport, "panel rows"));
    for (int d = 0; d < n_densities; d++)
        KS_CHECK(ks_calloc(ctx, &rows->density[d], m, sizeof *rows->density[d], "panel rows"));
    return KS_OK;
}

void ks_panel_rows_free(ks_panel_rows *rows)
{
    free(rows->firm);
    free(rows->year);
    free(rows->product);
    free(rows->industry);
    free(rows->city);
    free(rows->province);
    free(rows->region);
    free(rows->market);
    free(rows->size);
    free(rows->exported);
    free(rows->tradevalue);
    free(rows->newexport);
    for (int d = 0; d < KS_MAX_DENSITIES; d++)
        free(rows->density[d]);
    memset(rows, 0, sizeof *rows);
}

static int attr_on(ks_ctx *ctx, hid_t dset, const char *definition, const char *codes)
{
    KS_CHECK(ks_h5_attr_string(ctx, dset, "definition", definition));
    return codes ? ks_h5_attr_string(ctx, dset, "codes", codes) : KS_OK;
}

static int create_fixed(ks_ctx *ctx, ks_panel_out *o, int c)
{
    KS_CHECK(ks_h5_stream_create(ctx, o->panel, columns[c].name, columns[c].type(), &o->fixed[c]));
    return attr_on(ctx, o->fixed[c].dset, columns[c].definition, columns[c].codes);
}

static int create_density(ks_ctx *ctx, ks_panel_out *o, const ks_density_spec *d, int k)
{
    char name[64], def[1024], spec[160];
    static const char *const whose[] = {
        "the firm's own basket", "the basket of all firms of the firm's city",
        "the basket of all firms of the firm's province", "the basket of all firms",
        "the basket of the firms of the firm's city active (any kept flow) in product i's HS2 "
        "chapter"};
    ks_density_spec_text(d, spec, sizeof spec);
    snprintf(name, sizeof name, "density_%s", d->name);
    snprintf(def, sizeof def, "sum_j phi[i,j] x[j] / sum_j phi[i,j] (0 when the row sum is 0), "
             "phi from relatedness.h5 /phi/<year>, x[j] = 1 when product j is in %s (%s)%s%s; "
             "NaN when the firm's city is unknown%s. Declaration: %s",
             whose[d->scope], d->basket == KS_BASKET_EXPORTS ? "exports" : "imports",
             d->leave_one_out ? ", leaving the firm out: j counts when another firm of the "
                                "scope has it" : "",
             d->lag ? ", in year t-1 (phi of year t)" : " in year t",
             d->lag ? " and in the first year" : "", spec);
    KS_CHECK(ks_h5_stream_create(ctx, o->panel, name, H5T_NATIVE_DOUBLE, &o->density[k]));
    return attr_on(ctx, o->density[k].dset, def, NULL);
}

static int root_attributes(ks_ctx *ctx, const ks_job *job, const ks_records *r, hid_t file)
{
    static const char *const transforms[] = {"log1p", "log", "count"};
    char key[80], spec[160];
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_format", "panel"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "format_version", KS_PANEL_FORMAT_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_version", KS_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "job", job->name));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "first_year", r->first_year));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "last_year", r->last_year));
    KS_CHECK(ks_h5_attr_f64(ctx, file, "threshold", job->panel_threshold));
    KS_CHECK(ks_h5_attr_string(ctx, file, "sample_rule", job->panel_threshold > 0
                               ? "cells with density_firm > threshold + 1e-12 (a density equal "
                                 "to the threshold up to rounding is not above it)"
                               : "every firm-year x product cell (threshold 0)"));
    KS_CHECK(ks_h5_attr_string(ctx, file, "newexport", transforms[job->newexport_transform]));
    KS_CHECK(ks_h5_attr_string(ctx, file, "first_year_rows", job->panel_keep_first_year ? "keep" : "drop"));
    KS_CHECK(ks_h5_attr_f64(ctx, file, "market_cut_low", job->market_cut_low));
    KS_CHECK(ks_h5_attr_f64(ctx, file, "market_cut_high", job->market_cut_high));
    KS_CHECK(ks_h5_attr_string(ctx, file, "market_groups", job->market_by_year ? "year" : "pooled"));
    KS_CHECK(ks_h5_attr_string(ctx, file, "row_order", "year, firm, product"));
    for (int d = 0; d < job->n_densities; d++) {
        snprintf(key, sizeof key, "density_%s", job->densities[d].name);
        ks_density_spec_text(&job->densities[d], spec, sizeof spec);
        KS_CHECK(ks_h5_attr_string(ctx, file, key, spec));
    }
    return KS_OK;
}

/* /firms/id: this rank's range of records.h5's ids, written back in place. */
static int write_firms(ks_ctx *ctx, const ks_records *r, int64_t lo, int64_t hi, hid_t file)
{
    char **ids = NULL;
    hid_t g;
    int rc = ks_h5_read_strings(ctx, r->file, "firms/id", lo, hi - lo, &ids);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    rc = ks_h5_group(ctx, file, "firms", &g);
    if (rc == KS_OK) {
        rc = ks_h5_write_strings(ctx, g, "id", (const char *const *)ids, hi - lo, lo, r->n_firms);
        H5Gclose(g);
    }
    free(ids);
    return rc;
}

static int write_axes(ks_ctx *ctx, const ks_records *r, const double *cuts, hid_t file)
{
    hid_t g;
    int n_years = r->last_year - r->first_year + 1, rc;
    int16_t *years = NULL;
    double *col = NULL;
    KS_CHECK(ks_h5_group(ctx, file, "cities", &g));
    rc = ks_h5_write_root(ctx, g, "code", H5T_NATIVE_INT32, r->city_code, r->n_cities);
    H5Gclose(g);
    KS_CHECK(rc);
    KS_CHECK(ks_h5_group(ctx, file, "products", &g));
    rc = ks_h5_write_root(ctx, g, "hs4", H5T_NATIVE_INT32, r->hs4, r->n_products);
    if (rc == KS_OK)
        rc = ks_h5_write_root(ctx, g, "hs2", H5T_NATIVE_INT16, r->hs2, r->n_products);
    H5Gclose(g);
    KS_CHECK(rc);
    /* /groups: the cut points of every year, columns of cuts[y][4] */
    KS_CHECK(ks_calloc(ctx, &years, (size_t)n_years, sizeof *years, "groups"));
    if ((rc = ks_calloc(ctx, &col, (size_t)n_years, sizeof *col, "groups")) == KS_OK)
        rc = ks_h5_group(ctx, file, "groups", &g);
    if (rc == KS_OK) {
        static const char *const names[4] = {"market_cut_low", "market_cut_high", "size_cut_low", "size_cut_high"};
        for (int y = 0; y < n_years; y++)
            years[y] = (int16_t)(r->first_year + y);
        rc = ks_h5_write_root(ctx, g, "year", H5T_NATIVE_INT16, years, n_years);
        for (int c = 0; c < 4 && rc == KS_OK; c++) {
            for (int y = 0; y < n_years; y++)
                col[y] = cuts[4 * y + c];
            rc = ks_h5_write_root(ctx, g, names[c], H5T_NATIVE_DOUBLE, col, n_years);
        }
        H5Gclose(g);
    }
    free(years);
    free(col);
    return rc;
}

int ks_panel_out_create(ks_ctx *ctx, const ks_job *job, const ks_records *r, int64_t lo,
                        int64_t hi, const double *cuts, ks_panel_out *o)
{
    char path[KS_PATH_MAX];
    memset(o, 0, sizeof *o);
    o->file.id = o->panel = o->dcity = H5I_INVALID_HID;
    o->n_densities = job->n_densities;
    KS_CHECK(ks_job_output(ctx, job, "panel.h5", path, sizeof path));
    KS_CHECK(ks_mpi_agree(ctx, ks_h5_create(ctx, &o->file, path)));
    KS_CHECK(root_attributes(ctx, job, r, o->file.id));
    KS_CHECK(write_firms(ctx, r, lo, hi, o->file.id));
    KS_CHECK(write_axes(ctx, r, cuts, o->file.id));
    KS_CHECK(ks_h5_group(ctx, o->file.id, "panel", &o->panel));
    for (int c = 0; c < DENSITIES_BEFORE; c++)
        KS_CHECK(create_fixed(ctx, o, c));
    for (int d = 0; d < job->n_densities; d++)
        KS_CHECK(create_density(ctx, o, &job->densities[d], d));
    for (int c = DENSITIES_BEFORE; c < KS_PANEL_FIXED_COLUMNS; c++)
        KS_CHECK(create_fixed(ctx, o, c));
    return KS_OK;
}

int ks_panel_out_year(ks_ctx *ctx, ks_panel_out *o, const ks_panel_rows *rows)
{
    const void *data[KS_PANEL_FIXED_COLUMNS] = {
        rows->firm, rows->year, rows->product, rows->industry, rows->city, rows->province,
        rows->region, rows->market, rows->size, rows->exported, rows->tradevalue, rows->newexport};
    int64_t offset = 0, total = rows->n;
    KS_CHECK(ks_mpi_exscan_i64(ctx, rows->n, &offset));
    KS_CHECK(ks_mpi_sum_i64(ctx, &total, 1));
    for (int c = 0; c < KS_PANEL_FIXED_COLUMNS; c++)
        KS_CHECK(ks_h5_stream_append(ctx, &o->fixed[c], data[c], rows->n, offset, total));
    for (int d = 0; d < o->n_densities; d++)
        KS_CHECK(ks_h5_stream_append(ctx, &o->density[d], rows->density[d], rows->n, offset, total));
    o->rows += total;
    return KS_OK;
}

int ks_panel_out_city(ks_ctx *ctx, ks_panel_out *o, const char *spec_text, int year,
                      const double *values, int64_t n_cities, int p)
{
    char name[16];
    hid_t d;
    int rc;
    if (o->dcity < 0) {
        KS_CHECK(ks_h5_group(ctx, o->file.id, "density_city", &o->dcity));
        KS_CHECK(ks_h5_attr_string(ctx, o->dcity, "definition",
                 "density_city of every city (rows: /cities/code) and product (columns: "
                 "/products/hs4) per year: the table the column density_city looks up"));
        KS_CHECK(ks_h5_attr_string(ctx, o->dcity, "declaration", spec_text));
    }
    snprintf(name, sizeof name, "%d", year);
    KS_CHECK(ks_h5_write_root_2d(ctx, o->dcity, name, H5T_NATIVE_DOUBLE, values, n_cities, p));
    d = H5Dopen2(o->dcity, name, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot reopen /density_city/%d", year);
    rc = ks_h5_attr_i64(ctx, d, "year", year);
    H5Dclose(d);
    return rc;
}

static void close_all(ks_panel_out *o)
{
    for (int c = 0; c < KS_PANEL_FIXED_COLUMNS; c++)
        ks_h5_stream_close(&o->fixed[c]);
    for (int d = 0; d < o->n_densities; d++)
        ks_h5_stream_close(&o->density[d]);
    if (o->panel > 0)
        H5Gclose(o->panel);
    if (o->dcity > 0)
        H5Gclose(o->dcity);
    o->panel = o->dcity = H5I_INVALID_HID;
}

int ks_panel_out_commit(ks_ctx *ctx, ks_panel_out *o)
{
    int rc = ks_h5_attr_i64(ctx, o->file.id, "rows", o->rows);
    close_all(o);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    return ks_h5_commit(ctx, &o->file);
}

void ks_panel_out_abort(ks_ctx *ctx, ks_panel_out *o)
{
    close_all(o);
    ks_h5_abort(ctx, &o->file);
}
