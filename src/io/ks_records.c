/* ks_records.c - reading records.h5 in the later stages. */
#include "ks_records.h"

#include <stdlib.h>
#include <string.h>

#include "ks_h5.h"
#include "ks_h5_inflate.h"
#include "ks_mem.h"
#include "ks_mpi.h"

/* Length of a 1-D dataset, -1 when it is missing. */
static int64_t dataset_length(hid_t file, const char *path)
{
    hid_t d, s;
    hsize_t dims[1] = {0};
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return -1;
    d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    s = H5Dget_space(d);
    if (H5Sget_simple_extent_ndims(s) != 1)
        dims[0] = (hsize_t)-1;
    else
        H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return (int64_t)dims[0];
}

/* Rows [a, b) of a 1-D dataset into buf (independent read). */
static int read_rows(ks_ctx *ctx, hid_t file, const char *path, hid_t memtype, int64_t a,
                     int64_t b, void *buf)
{
    hid_t d, fs, ms;
    hsize_t start[1] = {(hsize_t)a}, count[1] = {(hsize_t)(b - a)};
    herr_t st;
    int done = 0, rc;
    if (b <= a)
        return KS_OK;
    d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open dataset %s in the records file (not written "
                       "by kspill ingest, or an older layout: rerun ingest)", path);
    /* deflated columns: inflated by libdeflate, chunks side by side */
    rc = ks_h5_inflate_rows(ctx, d, memtype, H5Tget_size(memtype), a, b - a, buf, path, &done);
    if (rc != KS_OK || done) {
        H5Dclose(d);
        return rc;
    }
    fs = H5Dget_space(d);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    ms = H5Screate_simple(1, count, NULL);
    st = H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    if (st < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot read rows %lld-%lld of %s", (long long)a,
                       (long long)b, path);
    return KS_OK;
}

static int read_all(ks_ctx *ctx, hid_t file, const char *path, hid_t memtype, size_t size,
                    void *out, int64_t *n)
{
    *n = dataset_length(file, path);
    if (*n < 0)
        return ks_fail(ctx, KS_EINPUT, "the records file has no 1-D dataset %s (rerun kspill ingest)", path);
    KS_CHECK(ks_calloc(ctx, out, (size_t)*n + 1, size, path));
    return read_rows(ctx, file, path, memtype, 0, *n, *(void **)out);
}

static int read_attr_i64(ks_ctx *ctx, hid_t file, const char *name, int64_t *value)
{
    hid_t a;
    if (H5Aexists(file, name) <= 0)
        return ks_fail(ctx, KS_EINPUT, "the records file lacks the attribute %s", name);
    a = H5Aopen(file, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, value) < 0) {
        if (a >= 0)
            H5Aclose(a);
        return ks_fail(ctx, KS_EHDF5, "cannot read the attribute %s", name);
    }
    H5Aclose(a);
    return KS_OK;
}

static int open_tables(ks_ctx *ctx, ks_records *r)
{
    int64_t first = 0, last = 0, n = 0, m = 0;
    KS_CHECK(read_attr_i64(ctx, r->file, "first_year", &first));
    KS_CHECK(read_attr_i64(ctx, r->file, "last_year", &last));
    r->first_year = (int)first;
    r->last_year = (int)last;
    KS_CHECK(read_all(ctx, r->file, "products/hs4", H5T_NATIVE_INT32, sizeof *r->hs4, &r->hs4, &n));
    KS_CHECK(read_all(ctx, r->file, "products/hs2", H5T_NATIVE_INT16, sizeof *r->hs2, &r->hs2, &m));
    r->n_products = (int)n;
    for (int i = 0; i < 10000; i++)
        r->product_of_hs4[i] = -1;
    for (int i = 0; i < r->n_products; i++)
        if (r->hs4[i] >= 0 && r->hs4[i] < 10000)
            r->product_of_hs4[r->hs4[i]] = (int16_t)i;
    KS_CHECK(read_all(ctx, r->file, "cities/code", H5T_NATIVE_INT32, sizeof *r->city_code, &r->city_code, &n));
    KS_CHECK(read_all(ctx, r->file, "cities/province", H5T_NATIVE_INT32, sizeof *r->city_province, &r->city_province, &m));
    KS_CHECK(read_all(ctx, r->file, "cities/region", H5T_NATIVE_INT8, sizeof *r->city_region, &r->city_region, &m));
    r->n_cities = (int)n;
    r->n_firms = dataset_length(r->file, "firms/id");
    r->n_firm_years = dataset_length(r->file, "firm_years/firm");
    if (r->n_firms < 0 || r->n_firm_years < 0)
        return ks_fail(ctx, KS_EINPUT, "%s lacks /firms/id or /firm_years (rerun kspill ingest)", r->path);
    return KS_OK;
}

int ks_records_open(ks_ctx *ctx, const char *path, ks_records *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    KS_CHECK(ks_mpi_agree(ctx, ks_h5_open_read(ctx, &r->file, path)));
    rc = open_tables(ctx, r);
    if (rc != KS_OK)
        ks_fail_context(ctx, "%s", path);
    return ks_mpi_agree(ctx, rc);
}

void ks_records_close(ks_records *r)
{
    if (r->file > 0)
        H5Fclose(r->file);
    free(r->hs4);
    free(r->hs2);
    free(r->city_code);
    free(r->city_province);
    free(r->city_region);
    memset(r, 0, sizeof *r);
}

void ks_records_firm_range(const ks_ctx *ctx, int64_t n_firms, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)((__int128)n_firms * ctx->rank / ctx->nranks);
    *hi = (int64_t)((__int128)n_firms * (ctx->rank + 1) / ctx->nranks);
}

static int search_i32(const int32_t *a, int n, int32_t v)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v ? lo : -1;
}

int ks_records_product_index(const ks_records *r, int32_t hs4) { return search_i32(r->hs4, r->n_products, hs4); }
int ks_records_city_index(const ks_records *r, int32_t code) { return search_i32(r->city_code, r->n_cities, code); }

/* Rows [*a, *b) of a sorted firm column that hold firms [lo, hi), and those
 * rows' firms in *range (malloc'ed).  The column is read whole (one pass of
 * decompression, a few MB per year) rather than probed by a binary search
 * that would decompress a chunk per probe, and is not read a second time. */
static int firm_rows(ks_ctx *ctx, const ks_records *r, const char *path, int64_t n, int64_t lo,
                     int64_t hi, int64_t *a, int64_t *b, int64_t **range)
{
    int32_t *firm = NULL;
    int64_t x = 0, y = n;
    int rc = ks_calloc(ctx, &firm, (size_t)n + 1, sizeof *firm, path);
    if (rc == KS_OK)
        rc = read_rows(ctx, r->file, path, H5T_NATIVE_INT32, 0, n, firm);
    if (rc == KS_OK) {
        int64_t l = 0, h = n;
        while (l < h) { /* first row with firm >= lo */
            int64_t mid = l + (h - l) / 2;
            if (firm[mid] < lo) l = mid + 1; else h = mid;
        }
        x = l;
        h = n;
        while (l < h) { /* first row with firm >= hi */
            int64_t mid = l + (h - l) / 2;
            if (firm[mid] < hi) l = mid + 1; else h = mid;
        }
        y = l;
    }
    *range = NULL;
    if (rc == KS_OK)
        rc = ks_calloc(ctx, range, (size_t)(y - x) + 1, sizeof **range, path);
    for (int64_t i = x; rc == KS_OK && i < y; i++)
        (*range)[i - x] = firm[i];
    free(firm);
    *a = x;
    *b = y;
    return rc;
}

/* Codes of /products/hs4 read into `product` become indices in place. */
static int codes_to_products(ks_ctx *ctx, const ks_records *r, const char *group, int year,
                             int64_t first_row, int32_t *product, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int32_t code = product[i];
        int p = code >= 0 && code < 10000 ? r->product_of_hs4[code] : -1;
        if (p < 0)
            return ks_fail(ctx, KS_EINPUT, "%s: /%s/%d/hs4 row %lld holds %d, not a product of "
                           "/products/hs4", r->path, group, year, (long long)(first_row + i), code);
        product[i] = p;
    }
    return KS_OK;
}

int ks_records_read_flows(ks_ctx *ctx, const ks_records *r, int year, int64_t lo, int64_t hi,
                          ks_flow_block *out)
{
    char firm_path[64], hs4_path[64], flow_path[64], value_path[64];
    int64_t n, a = 0, b = 0;
    memset(out, 0, sizeof *out);
    snprintf(firm_path, sizeof firm_path, "flows/%d/firm", year);
    snprintf(hs4_path, sizeof hs4_path, "flows/%d/hs4", year);
    snprintf(flow_path, sizeof flow_path, "flows/%d/flow", year);
    snprintf(value_path, sizeof value_path, "flows/%d/value_usd", year);
    n = dataset_length(r->file, firm_path);
    if (n < 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /flows/%d (its years are %d-%d)", r->path, year,
                       r->first_year, r->last_year);
    KS_CHECK(firm_rows(ctx, r, firm_path, n, lo, hi, &a, &b, &out->firm));
    out->n = b - a;
    KS_CHECK(ks_calloc(ctx, &out->product, (size_t)out->n + 1, sizeof *out->product, "flows"));
    KS_CHECK(ks_calloc(ctx, &out->flow, (size_t)out->n + 1, sizeof *out->flow, "flows"));
    KS_CHECK(ks_calloc(ctx, &out->value, (size_t)out->n + 1, sizeof *out->value, "flows"));
    KS_CHECK(read_rows(ctx, r->file, flow_path, H5T_NATIVE_INT8, a, b, out->flow));
    KS_CHECK(read_rows(ctx, r->file, value_path, H5T_NATIVE_DOUBLE, a, b, out->value));
    /* hs4 codes arrive in the product slot and become indices in place */
    KS_CHECK(read_rows(ctx, r->file, hs4_path, H5T_NATIVE_INT32, a, b, out->product));
    return codes_to_products(ctx, r, "flows", year, a, out->product, out->n);
}

void ks_flow_block_free(ks_flow_block *b)
{
    free(b->firm);
    free(b->product);
    free(b->flow);
    free(b->value);
    memset(b, 0, sizeof *b);
}

int ks_records_read_firm_years(ks_ctx *ctx, const ks_records *r, int64_t lo, int64_t hi,
                               ks_firm_year_block *out)
{
    int64_t a = 0, b = 0, n = r->n_firm_years;
    size_t m;
    memset(out, 0, sizeof *out);
    KS_CHECK(firm_rows(ctx, r, "firm_years/firm", n, lo, hi, &a, &b, &out->firm));
    out->n = b - a;
    m = (size_t)out->n + 1;
    KS_CHECK(ks_calloc(ctx, &out->year, m, sizeof *out->year, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &out->city, m, sizeof *out->city, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &out->ownership, m, sizeof *out->ownership, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &out->trader, m, sizeof *out->trader, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &out->rows_kept, m, sizeof *out->rows_kept, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &out->value_kept, m, sizeof *out->value_kept, "firm-years"));
    KS_CHECK(read_rows(ctx, r->file, "firm_years/year", H5T_NATIVE_INT16, a, b, out->year));
    KS_CHECK(read_rows(ctx, r->file, "firm_years/city", H5T_NATIVE_INT32, a, b, out->city));
    KS_CHECK(read_rows(ctx, r->file, "firm_years/ownership", H5T_NATIVE_INT8, a, b, out->ownership));
    KS_CHECK(read_rows(ctx, r->file, "firm_years/trader", H5T_NATIVE_INT8, a, b, out->trader));
    KS_CHECK(read_rows(ctx, r->file, "firm_years/rows_kept", H5T_NATIVE_INT64, a, b, out->rows_kept));
    return read_rows(ctx, r->file, "firm_years/value_kept_usd", H5T_NATIVE_DOUBLE, a, b, out->value_kept);
}

void ks_firm_year_block_free(ks_firm_year_block *b)
{
    free(b->firm);
    free(b->year);
    free(b->city);
    free(b->ownership);
    free(b->trader);
    free(b->rows_kept);
    free(b->value_kept);
    memset(b, 0, sizeof *b);
}

int ks_records_read_partners(ks_ctx *ctx, const ks_records *r, ks_strlist *names)
{
    hid_t d, t;
    int64_t n = dataset_length(r->file, "partners/name");
    size_t width;
    char *buf = NULL;
    int rc = KS_OK;
    if (n < 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /partners/name: rerun kspill ingest (this "
                       "kspill keeps partner countries)", r->path);
    if (n == 0)
        return KS_OK;
    d = H5Dopen2(r->file, "partners/name", H5P_DEFAULT);
    t = H5Dget_type(d);
    width = H5Tget_size(t);
    rc = ks_calloc(ctx, &buf, (size_t)n * width + 1, 1, "partner names");
    if (rc == KS_OK && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = ks_fail(ctx, KS_EHDF5, "cannot read /partners/name of %s", r->path);
    for (int64_t i = 0; rc == KS_OK && i < n; i++)
        rc = ks_strlist_add(ctx, names, buf + (size_t)i * width, strnlen(buf + (size_t)i * width, width));
    free(buf);
    H5Tclose(t);
    H5Dclose(d);
    return rc;
}

int ks_records_read_partner_imports(ks_ctx *ctx, const ks_records *r, int year, int64_t lo,
                                    int64_t hi, ks_partner_block *out)
{
    char firm_path[64], hs4_path[64], partner_path[64], value_path[64];
    int64_t n, a = 0, b = 0;
    memset(out, 0, sizeof *out);
    snprintf(firm_path, sizeof firm_path, "partner_imports/%d/firm", year);
    snprintf(hs4_path, sizeof hs4_path, "partner_imports/%d/hs4", year);
    snprintf(partner_path, sizeof partner_path, "partner_imports/%d/partner", year);
    snprintf(value_path, sizeof value_path, "partner_imports/%d/value_usd", year);
    n = dataset_length(r->file, firm_path);
    if (n < 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /partner_imports/%d: rerun kspill ingest with "
                       "the job that declares the partner-filtered density", r->path, year);
    KS_CHECK(firm_rows(ctx, r, firm_path, n, lo, hi, &a, &b, &out->firm));
    out->n = b - a;
    KS_CHECK(ks_calloc(ctx, &out->product, (size_t)out->n + 1, sizeof *out->product, "partner imports"));
    KS_CHECK(ks_calloc(ctx, &out->partner, (size_t)out->n + 1, sizeof *out->partner, "partner imports"));
    KS_CHECK(ks_calloc(ctx, &out->value, (size_t)out->n + 1, sizeof *out->value, "partner imports"));
    KS_CHECK(read_rows(ctx, r->file, partner_path, H5T_NATIVE_INT16, a, b, out->partner));
    KS_CHECK(read_rows(ctx, r->file, value_path, H5T_NATIVE_DOUBLE, a, b, out->value));
    KS_CHECK(read_rows(ctx, r->file, hs4_path, H5T_NATIVE_INT32, a, b, out->product));
    return codes_to_products(ctx, r, "partner_imports", year, a, out->product, out->n);
}

void ks_partner_block_free(ks_partner_block *b)
{
    free(b->firm);
    free(b->product);
    free(b->partner);
    free(b->value);
    memset(b, 0, sizeof *b);
}
