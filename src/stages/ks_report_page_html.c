/* ks_report_page_html.c - the parts of index.html that come from other
 * stages' outputs: the fit's tables (tables/NAME.csv), the ingest report
 * (records.h5) and the deciles of phi with the most related pairs
 * (relatedness.h5; the pairs: ks_report_page_pairs.c).  Each is optional:
 * when its file is missing the page says so instead. */
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ks_report_page_int.h"

int ks_rp_html_escape(ks_ctx *ctx, ks_buf *out, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                      : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
        KS_CHECK(e ? ks_buf_printf(ctx, out, "%s", e) : ks_buf_append(ctx, out, s, 1));
    }
    return KS_OK;
}

static int note(ks_ctx *ctx, ks_buf *out, const char *what, const char *path)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<p class=\"note\">%s: ", what));
    KS_CHECK(ks_rp_html_escape(ctx, out, path));
    return ks_buf_printf(ctx, out, "</p>\n");
}

/* ---- tables/NAME.csv ---- */

/* One RFC 4180 field from *p (quoted or not) into `cell`; *p moves past it
 * and its delimiter; *end_row is set at the end of a record. */
static int csv_field(ks_ctx *ctx, const char **p, ks_buf *cell, int *end_row)
{
    const char *s = *p;
    cell->len = 0;
    if (*s == '"') {
        for (s++; *s; s++) {
            if (*s == '"' && s[1] == '"')
                s++;
            else if (*s == '"') {
                s++;
                break;
            }
            KS_CHECK(ks_buf_append(ctx, cell, s, 1));
        }
    }
    for (; *s && *s != ',' && *s != '\n'; s++)
        if (*s != '\r')
            KS_CHECK(ks_buf_append(ctx, cell, s, 1));
    KS_CHECK(ks_buf_append(ctx, cell, "", 1));
    *end_row = *s != ',';
    *p = *s ? s + 1 : s;
    return KS_OK;
}

static int csv_to_html(ks_ctx *ctx, ks_buf *out, const char *name, const char *text)
{
    ks_buf cell = {0};
    const char *p = text;
    int rc, row = 0, end = 1;
    rc = ks_buf_printf(ctx, out, "<table>\n<caption>");
    if (rc == KS_OK)
        rc = ks_rp_html_escape(ctx, out, name);
    if (rc == KS_OK)
        rc = ks_buf_printf(ctx, out, "</caption>\n");
    while (rc == KS_OK && *p) {
        if (end)
            rc = ks_buf_printf(ctx, out, "<tr>");
        if (rc == KS_OK)
            rc = csv_field(ctx, &p, &cell, &end);
        if (rc == KS_OK)
            rc = ks_buf_printf(ctx, out, "<%s>", row ? "td" : "th");
        if (rc == KS_OK)
            rc = ks_rp_html_escape(ctx, out, cell.data);
        if (rc == KS_OK)
            rc = ks_buf_printf(ctx, out, "</%s>%s", row ? "td" : "th", end ? "</tr>\n" : "");
        row += end;
    }
    if (rc == KS_OK)
        rc = ks_buf_printf(ctx, out, "%s</table>\n", end ? "" : "</tr>\n");
    ks_buf_free(&cell);
    return rc;
}

static int read_text(ks_ctx *ctx, const char *path, ks_buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[16384];
    size_t got;
    int rc = KS_OK;
    b->len = 0;
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot open %s: %s", path, strerror(errno));
    while (rc == KS_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = ks_buf_append(ctx, b, chunk, got);
    if (rc == KS_OK && ferror(f))
        rc = ks_fail(ctx, KS_EIO, "cannot read %s", path);
    fclose(f);
    return rc == KS_OK ? ks_buf_append(ctx, b, "", 1) : rc;
}

static int is_csv(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0;
}

int ks_rp_html_tables(ks_ctx *ctx, ks_buf *out, const char *workdir)
{
    char dir[KS_PATH_MAX], path[KS_PATH_MAX];
    struct dirent **names = NULL;
    ks_buf text = {0};
    int n, rc = KS_OK;
    snprintf(dir, sizeof dir, "%s/tables", workdir);
    n = scandir(dir, &names, is_csv, alphasort); /* sorted: table1 before table2 */
    if (n < 0)
        return note(ctx, out, "No tables: the fit stage has not written", dir);
    if (n == 0)
        rc = note(ctx, out, "No CSV table in", dir);
    for (int i = 0; i < n; i++) {
        if (rc == KS_OK) {
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) >= sizeof path)
                rc = ks_fail(ctx, KS_EUSAGE, "path %s/%s is too long", dir, names[i]->d_name);
            if (rc == KS_OK)
                rc = read_text(ctx, path, &text);
            if (rc == KS_OK)
                rc = csv_to_html(ctx, out, names[i]->d_name, text.data);
        }
        free(names[i]);
    }
    free(names);
    ks_buf_free(&text);
    return rc;
}

/* ---- HDF5 helpers ---- */

static int h5_len(ks_ctx *ctx, hid_t file, const char *what, const char *name, hsize_t *n)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), s;
    int rank;
    if (d < 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no dataset %s", what, name);
    s = H5Dget_space(d);
    rank = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
    if (rank == 1)
        H5Sget_simple_extent_dims(s, n, NULL);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    if (rank != 1)
        return ks_fail(ctx, KS_EINPUT, "%s:%s is not a 1-D dataset", what, name);
    return KS_OK;
}

/* Elements [off, off+count) of a 1-D dataset as `mtype`. */
static int h5_read(ks_ctx *ctx, hid_t file, const char *what, const char *name, hid_t mtype,
                   hsize_t off, hsize_t count, void *buf)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), fs = -1, ms = -1;
    herr_t st = -1;
    if (d >= 0 && (fs = H5Dget_space(d)) >= 0 && (ms = H5Screate_simple(1, &count, NULL)) >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &count, NULL) >= 0)
        st = H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    if (st < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot read %s:%s", what, name);
    return KS_OK;
}

static int open_optional(ks_ctx *ctx, ks_buf *out, const char *workdir, const char *name,
                         char *path, size_t n, hid_t *file)
{
    struct stat st;
    *file = -1;
    snprintf(path, n, "%s/%s", workdir, name);
    if (stat(path, &st) != 0)
        return note(ctx, out, "Not available (file missing)", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through ks_fail */
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return ks_fail(ctx, KS_EIO, "cannot open %s as an HDF5 file", path);
    return KS_OK;
}

/* ---- the ingest report ---- */

/* The report's columns (docs/hdf5.md) in their order; reasons for dropping a
 * row are those between "kept" and "split_rows". */
static const char *const ingest_cols[] = {
    "rows", "kept", "field_count", "quoting", "encoding", "bad_year", "year_range", "firm_id",
    "flow", "hs_code", "value", "negative", "city_code", "trader", "processing", "unknown_city",
    "unmapped_hs", "split_rows", "flows", "firms_kept"};
enum { NINGEST = sizeof ingest_cols / sizeof ingest_cols[0], FIRST_REASON = 2, LAST_REASON = 16 };

typedef struct ingest_t {
    hsize_t ny;
    int *year;
    int64_t *v[NINGEST];  /* NULL: the column is absent */
    int64_t *cities, *products; /* per report row: ingest's counts, or counted here */
} ingest_t;

static void ingest_free(ingest_t *r)
{
    free(r->year);
    for (int c = 0; c < NINGEST; c++)
        free(r->v[c]);
    free(r->cities);
    free(r->products);
}

static int row_of_year(const ingest_t *r, int year)
{
    for (hsize_t i = 0; i < r->ny; i++)
        if (r->year[i] == year)
            return (int)i;
    return -1;
}

/* Distinct cities per year: /firm_years (year, city, rows_kept) read in
 * blocks, so memory stays bounded however many firm-years there are. */
static int count_cities(ks_ctx *ctx, hid_t file, const char *path, ingest_t *r)
{
    enum { BLOCK = 1 << 20, MAXCITY = 10000 };
    hsize_t n;
    int32_t *city = NULL, *year = NULL;
    int64_t *kept = NULL;
    unsigned char *seen = NULL;
    int rc = h5_len(ctx, file, path, "/firm_years/year", &n);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &city, BLOCK, sizeof *city, "cities block");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &year, BLOCK, sizeof *year, "years block");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &kept, BLOCK, sizeof *kept, "rows block");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &seen, r->ny * MAXCITY, 1, "cities seen");
    for (hsize_t off = 0; rc == KS_OK && off < n; off += BLOCK) {
        hsize_t m = n - off < BLOCK ? n - off : BLOCK;
        rc = h5_read(ctx, file, path, "/firm_years/year", H5T_NATIVE_INT32, off, m, year);
        if (rc == KS_OK)
            rc = h5_read(ctx, file, path, "/firm_years/city", H5T_NATIVE_INT32, off, m, city);
        if (rc == KS_OK)
            rc = h5_read(ctx, file, path, "/firm_years/rows_kept", H5T_NATIVE_INT64, off, m, kept);
        for (hsize_t i = 0; rc == KS_OK && i < m; i++) {
            int y = row_of_year(r, year[i]);
            if (y >= 0 && kept[i] > 0 && city[i] >= 0 && city[i] < MAXCITY &&
                !seen[(size_t)y * MAXCITY + (size_t)city[i]]) {
                seen[(size_t)y * MAXCITY + (size_t)city[i]] = 1;
                r->cities[y]++;
            }
        }
    }
    free(city);
    free(year);
    free(kept);
    free(seen);
    return rc;
}

/* Distinct HS4 headings per year in /flows/<YYYY>/hs4, read in blocks. */
static int count_products(ks_ctx *ctx, hid_t file, const char *path, ingest_t *r)
{
    enum { BLOCK = 1 << 20, MAXHS = 10000 };
    int32_t *hs = NULL;
    unsigned char *seen = NULL;
    int rc = ks_calloc(ctx, &hs, BLOCK, sizeof *hs, "headings block");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &seen, MAXHS, 1, "headings seen");
    for (hsize_t y = 0; rc == KS_OK && y < r->ny; y++) {
        char name[64];
        hsize_t n;
        snprintf(name, sizeof name, "/flows/%d/hs4", r->year[y]);
        if (r->year[y] == 0 || H5Lexists(file, "/flows", H5P_DEFAULT) <= 0 ||
            H5Lexists(file, name + 0, H5P_DEFAULT) <= 0) {
            r->products[y] = -1; /* none: shown as a dash */
            continue;
        }
        memset(seen, 0, MAXHS);
        rc = h5_len(ctx, file, path, name, &n);
        for (hsize_t off = 0; rc == KS_OK && off < n; off += BLOCK) {
            hsize_t m = n - off < BLOCK ? n - off : BLOCK;
            rc = h5_read(ctx, file, path, name, H5T_NATIVE_INT32, off, m, hs);
            for (hsize_t i = 0; rc == KS_OK && i < m; i++)
                if (hs[i] >= 0 && hs[i] < MAXHS && !seen[hs[i]]) {
                    seen[hs[i]] = 1;
                    r->products[y]++;
                }
        }
    }
    free(hs);
    free(seen);
    return rc;
}

static int ingest_read(ks_ctx *ctx, hid_t file, const char *path, ingest_t *r)
{
    char name[96];
    KS_CHECK(h5_len(ctx, file, path, "/ingest_report/year", &r->ny));
    KS_CHECK(ks_calloc(ctx, &r->year, r->ny + 1, sizeof *r->year, "ingest report years"));
    KS_CHECK(h5_read(ctx, file, path, "/ingest_report/year", H5T_NATIVE_INT32, 0, r->ny, r->year));
    for (int c = 0; c < NINGEST; c++) {
        snprintf(name, sizeof name, "/ingest_report/%s", ingest_cols[c]);
        if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
            continue; /* an older or newer layout: show what is there */
        KS_CHECK(ks_calloc(ctx, &r->v[c], r->ny + 1, sizeof *r->v[c], "ingest report column"));
        KS_CHECK(h5_read(ctx, file, path, name, H5T_NATIVE_INT64, 0, r->ny, r->v[c]));
    }
    if (!r->v[0] || !r->v[1])
        return ks_fail(ctx, KS_EINPUT, "%s:/ingest_report has no rows or kept column", path);
    KS_CHECK(ks_calloc(ctx, &r->cities, r->ny + 1, sizeof *r->cities, "cities per year"));
    KS_CHECK(ks_calloc(ctx, &r->products, r->ny + 1, sizeof *r->products, "products per year"));
    if (H5Lexists(file, "/ingest_report/cities", H5P_DEFAULT) > 0 &&
        H5Lexists(file, "/ingest_report/products", H5P_DEFAULT) > 0) {
        /* counted by ingest (docs/hdf5.md); row 0, no valid year, has no products */
        KS_CHECK(h5_read(ctx, file, path, "/ingest_report/cities", H5T_NATIVE_INT64, 0, r->ny, r->cities));
        KS_CHECK(h5_read(ctx, file, path, "/ingest_report/products", H5T_NATIVE_INT64, 0, r->ny,
                         r->products));
        for (hsize_t y = 0; y < r->ny; y++)
            if (r->year[y] == 0)
                r->products[y] = -1;
        return KS_OK;
    }
    /* a records.h5 of an older kspill: counted from its rows */
    if (H5Lexists(file, "/firm_years", H5P_DEFAULT) > 0 &&
        H5Lexists(file, "/firm_years/city", H5P_DEFAULT) > 0)
        KS_CHECK(count_cities(ctx, file, path, r));
    return count_products(ctx, file, path, r);
}

static int any_nonzero(const int64_t *v, hsize_t n)
{
    for (hsize_t i = 0; v && i < n; i++)
        if (v[i] != 0)
            return 1;
    return 0;
}

static int ingest_html(ks_ctx *ctx, ks_buf *out, const ingest_t *r)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<table>\n<caption>Rows read, kept and dropped (by reason, "
                                     "in the order the rules apply), firms, cities and HS4 "
                                     "products per year</caption>\n<tr><th>year</th>"));
    for (int c = 0; c < NINGEST; c++)
        if (c < 2 || any_nonzero(r->v[c], r->ny) || c == NINGEST - 1)
            KS_CHECK(ks_buf_printf(ctx, out, "<th>%s</th>%s", ingest_cols[c],
                                   c == 1 ? "<th>dropped</th>" : ""));
    KS_CHECK(ks_buf_printf(ctx, out, "<th>cities</th><th>products</th></tr>\n"));
    for (hsize_t y = 0; y < r->ny; y++) {
        if (r->year[y] == 0 && !any_nonzero(&r->v[0][y], 1))
            continue; /* no row without a valid year: nothing to show */
        if (r->year[y] == 0)
            KS_CHECK(ks_buf_printf(ctx, out, "<tr><td>no valid year</td>"));
        else
            KS_CHECK(ks_buf_printf(ctx, out, "<tr><td>%d</td>", r->year[y]));
        for (int c = 0; c < NINGEST; c++)
            if (c < 2 || any_nonzero(r->v[c], r->ny) || c == NINGEST - 1) {
                KS_CHECK(r->v[c] ? ks_buf_printf(ctx, out, "<td>%lld</td>", (long long)r->v[c][y])
                                 : ks_buf_printf(ctx, out, "<td>-</td>"));
                if (c == 1)
                    KS_CHECK(ks_buf_printf(ctx, out, "<td>%lld</td>",
                                           (long long)(r->v[0][y] - r->v[1][y])));
            }
        KS_CHECK(ks_buf_printf(ctx, out, "<td>%lld</td>", (long long)r->cities[y]));
        KS_CHECK(r->products[y] < 0 ? ks_buf_printf(ctx, out, "<td>-</td></tr>\n")
                                    : ks_buf_printf(ctx, out, "<td>%lld</td></tr>\n",
                                                    (long long)r->products[y]));
    }
    KS_CHECK(ks_buf_printf(ctx, out, "</table>\n<p>Reasons with no dropped row in any year are "
                                     "left out. <code>split_rows</code> and <code>flows</code> "
                                     "are kept rows, not drops; cities and products are those of "
                                     "kept rows.</p>\n"));
    return KS_OK;
}

int ks_rp_html_ingest(ks_ctx *ctx, ks_buf *out, const char *workdir)
{
    char path[KS_PATH_MAX];
    hid_t file;
    ingest_t r;
    int rc;
    memset(&r, 0, sizeof r);
    KS_CHECK(open_optional(ctx, out, workdir, "records.h5", path, sizeof path, &file));
    if (file < 0)
        return KS_OK;
    rc = H5Lexists(file, "/ingest_report", H5P_DEFAULT) > 0
             ? ingest_read(ctx, file, path, &r)
             : ks_fail(ctx, KS_EINPUT, "%s has no /ingest_report group", path);
    if (rc == KS_OK)
        rc = ingest_html(ctx, out, &r);
    ingest_free(&r);
    H5Fclose(file);
    return rc;
}

/* ---- relatedness ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile p of sorted v[n] (linear interpolation, R's type 7). */
static double quantile(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

static int phi_html(ks_ctx *ctx, ks_buf *out, const double *phi, hsize_t p, int year)
{
    double *v = NULL, sum = 0;
    size_t n = 0, pos = 0;
    int rc = ks_calloc(ctx, &v, (size_t)(p * (p - 1) / 2 + 1), sizeof *v, "phi pairs");
    for (hsize_t i = 0; rc == KS_OK && i < p; i++)
        for (hsize_t j = i + 1; j < p; j++) { /* each pair once, no diagonal */
            v[n++] = phi[i * p + j];
            sum += phi[i * p + j];
            pos += phi[i * p + j] > 0;
        }
    if (rc == KS_OK && n == 0)
        rc = note(ctx, out, "phi has fewer than two products in", "relatedness.h5");
    if (rc == KS_OK && n > 0) {
        qsort(v, n, sizeof *v, cmp_double);
        rc = ks_buf_printf(ctx, out, "<table>\n<caption>Deciles of &phi; over the %zu pairs of "
                           "HS4 products (i &lt; j) in %d; %zu pairs (%.1f%%) have &phi; &gt; 0, "
                           "mean %.4g</caption>\n<tr>", n, year, pos, 100.0 * (double)pos /
                           (double)n, sum / (double)n);
        for (int k = 0; k <= 10 && rc == KS_OK; k++)
            rc = ks_buf_printf(ctx, out, "<th>%s%d%%</th>", k == 0 ? "min " : k == 10 ? "max " : "",
                               10 * k);
        if (rc == KS_OK)
            rc = ks_buf_printf(ctx, out, "</tr>\n<tr>");
        for (int k = 0; k <= 10 && rc == KS_OK; k++)
            rc = ks_buf_printf(ctx, out, "<td>%.4g</td>", quantile(v, n, k / 10.0));
        if (rc == KS_OK)
            rc = ks_buf_printf(ctx, out, "</tr>\n</table>\n");
    }
    free(v);
    return rc;
}

/* The most related pairs: phi's axis, /products/hs4, names the products. */
static int top_pairs(ks_ctx *ctx, hid_t file, const char *path, const double *phi, hsize_t p,
                     int year, ks_buf *out)
{
    hsize_t n = 0;
    int32_t *hs4 = NULL;
    int rc;
    if (p < 2) /* phi_html's note says there is no pair */
        return KS_OK;
    KS_CHECK(h5_len(ctx, file, path, "/products/hs4", &n));
    if (n != p)
        return ks_fail(ctx, KS_EINPUT, "%s:/products/hs4 has %llu headings, /phi/%d is %llu x %llu",
                       path, (unsigned long long)n, year, (unsigned long long)p,
                       (unsigned long long)p);
    rc = ks_calloc(ctx, &hs4, (size_t)n + 1, sizeof *hs4, "relatedness products");
    if (rc == KS_OK)
        rc = h5_read(ctx, file, path, "/products/hs4", H5T_NATIVE_INT32, 0, n, hs4);
    if (rc == KS_OK)
        rc = ks_rp_html_top_pairs(ctx, out, phi, hs4, (size_t)p, year);
    free(hs4);
    return rc;
}

static int phi_read(ks_ctx *ctx, hid_t file, const char *path, int year, ks_buf *out)
{
    char name[64];
    hid_t d, s;
    hsize_t dims[2] = {0, 0};
    double *phi = NULL;
    int rc = KS_OK;
    snprintf(name, sizeof name, "/phi/%d", year);
    if (H5Lexists(file, "/phi", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return note(ctx, out, "No phi of the report year in", path);
    d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:%s", path, name);
    s = H5Dget_space(d);
    if (s < 0 || H5Sget_simple_extent_ndims(s) != 2 || H5Sget_simple_extent_dims(s, dims, NULL) < 0 ||
        dims[0] != dims[1])
        rc = ks_fail(ctx, KS_EINPUT, "%s:%s is not a square matrix", path, name);
    if (s >= 0)
        H5Sclose(s);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &phi, (size_t)(dims[0] * dims[1] + 1), sizeof *phi, "phi matrix");
    if (rc == KS_OK && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, phi) < 0)
        rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:%s", path, name);
    H5Dclose(d);
    if (rc == KS_OK)
        rc = phi_html(ctx, out, phi, dims[0], year);
    if (rc == KS_OK)
        rc = top_pairs(ctx, file, path, phi, dims[0], year, out);
    free(phi);
    return rc;
}

int ks_rp_html_relatedness(ks_ctx *ctx, ks_buf *out, const char *workdir, int year)
{
    char path[KS_PATH_MAX];
    hid_t file;
    int rc;
    KS_CHECK(open_optional(ctx, out, workdir, "relatedness.h5", path, sizeof path, &file));
    if (file < 0)
        return KS_OK;
    rc = phi_read(ctx, file, path, year, out);
    H5Fclose(file);
    return rc;
}
