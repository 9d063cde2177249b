/* ks_panel_densities.c - the value of every declared density in one panel
 * cell, and reading relatedness.h5.
 *
 * Firm scope: sum over the firm's own basket (a gather along row i of phi,
 * the same bits as the kernel's dense sum).  Shared scopes: the group's
 * table entry; leaving the firm out subtracts what it alone brings,
 *     D_loo[i] = (A_g[i] - sum_{j in own basket, count_g[j] == 1} phi[i][j]) / rowsum[i],
 * and only when the firm belonged to g in the basket year (with a lag, a
 * firm that moved, or was absent, brought nothing to g's basket). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mpi.h"
#include "ks_panel_internal.h"

void ks_density_spec_text(const ks_density_spec *d, char *buf, size_t n)
{
    static const char *const scopes[] = {"firm", "city", "province", "nation", "city_hs2"};
    size_t at;
    snprintf(buf, n, "basket=%s; scope=%s; leave_one_out=%s; lag=%d",
             d->basket == KS_BASKET_EXPORTS ? "exports" : "imports", scopes[d->scope],
             d->leave_one_out ? "yes" : "no", d->lag);
    for (size_t q = 0; q < d->partners.n && (at = strlen(buf)) + 1 < n; q++)
        snprintf(buf + at, n - at, "%s%s", q ? "," : "; partners=", d->partners.items[q]);
}

/* The basket-year firm-year of cur's firm-year k, -1 when absent. */
static int64_t basis_row(const ks_cell_basis *b, int64_t k)
{
    return b->basis_index ? b->basis_index[k] : k;
}

/* Sole contributions of a counted scope (city, province, nation). */
static double sole_counted(const ks_scope_table *t, const ks_density_phi *phi, const int32_t *own,
                           int64_t n_own, int64_t g, int i)
{
    const double *row = phi->phi + (size_t)i * (size_t)phi->p;
    const int64_t *count = t->count + g * t->p;
    double s = 0.0;
    for (int64_t e = 0; e < n_own; e++)
        if (count[own[e]] == 1)
            s += row[own[e]];
    return s;
}

/* Sole contributions of a firm to its (city, chapter) basket. */
static double sole_hs2(const ks_scope_table *t, const ks_density_phi *phi, int64_t firm,
                       int64_t city, int chapter, int i)
{
    const double *row = phi->phi + (size_t)i * (size_t)phi->p;
    uint64_t want = (uint64_t)firm << 32 | (uint64_t)city << 19 | (uint64_t)chapter << 12;
    int64_t lo = 0, hi = t->n_sole;
    double s = 0.0;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (t->sole[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->n_sole && t->sole[lo] >> 12 == want >> 12; lo++)
        s += row[t->sole[lo] & 0xfff];
    return s;
}

double ks_density_cell(const ks_density_spec *spec, const ks_scope_table *t,
                       const ks_records *r, const ks_density_phi *phi, const ks_cell_basis *b,
                       int64_t k, int i)
{
    const ks_panel_year *u = b->basis;
    int64_t ku, g;
    double a;
    if (!u)
        return NAN;
    ku = basis_row(b, k);
    if (spec->scope == KS_SCOPE_FIRM) {
        if (ku < 0)
            return 0.0; /* no basket that year: density 0 */
        a = ks_density_gather(phi, i, u->prod[spec->basket] + u->off[spec->basket][ku],
                              u->off[spec->basket][ku + 1] - u->off[spec->basket][ku]);
        return ks_density_ratio(a, phi->rowsum[i]);
    }
    g = ks_scope_group(spec->scope, r, b->cur->city[k]);
    if (g < 0 || !t || !t->available)
        return NAN;
    a = t->acc[g * t->p + i];
    if (spec->leave_one_out && ku >= 0 && ks_scope_group(spec->scope, r, u->city[ku]) == g) {
        double s;
        if (spec->scope == KS_SCOPE_CITY_HS2)
            s = sole_hs2(t, phi, u->firm[ku], g, r->hs2[i], i);
        else
            s = sole_counted(t, phi, u->prod[spec->basket] + u->off[spec->basket][ku],
                             u->off[spec->basket][ku + 1] - u->off[spec->basket][ku], g, i);
        /* a group the firm alone fills leaves exactly 0; elsewhere rounding
         * could leave -1e-17 */
        a = a - s > 0.0 ? a - s : 0.0;
    }
    return ks_density_ratio(a, phi->rowsum[i]);
}

int64_t ks_density_sole(const ks_density_spec *spec, const ks_scope_table *t, const ks_records *r,
                        const ks_cell_basis *b, int64_t k, int32_t *sole)
{
    const ks_panel_year *u = b->basis;
    int64_t ku, g, n = 0;
    if (!u || !t || spec->scope == KS_SCOPE_FIRM || spec->scope == KS_SCOPE_CITY_HS2 || !spec->leave_one_out)
        return -1;
    ku = basis_row(b, k);
    g = ks_scope_group(spec->scope, r, b->cur->city[k]);
    if (ku < 0 || g < 0 || ks_scope_group(spec->scope, r, u->city[ku]) != g)
        return -1;
    const int32_t *own = u->prod[spec->basket] + u->off[spec->basket][ku];
    const int64_t *count = t->count + g * t->p;
    for (int64_t e = 0; e < u->off[spec->basket][ku + 1] - u->off[spec->basket][ku]; e++)
        if (count[own[e]] == 1) /* sole_counted's test, in the basket's order */
            sole[n++] = own[e];
    return n;
}

double ks_density_cell_sole(const ks_density_spec *spec, const ks_scope_table *t, const ks_records *r,
                            const ks_density_phi *phi, const ks_cell_basis *b, int64_t k, int i,
                            const int32_t *sole, int64_t n_sole)
{
    int64_t g;
    double a;
    if (!b->basis || !t || spec->scope == KS_SCOPE_FIRM || spec->scope == KS_SCOPE_CITY_HS2 ||
        !spec->leave_one_out)
        return ks_density_cell(spec, t, r, phi, b, k, i);
    g = ks_scope_group(spec->scope, r, b->cur->city[k]);
    if (g < 0 || !t->available)
        return NAN;
    a = t->acc[g * t->p + i];
    if (n_sole >= 0) { /* the same terms in the same order as sole_counted: the same bits */
        const double *row = phi->phi + (size_t)i * (size_t)phi->p;
        double s = 0.0;
        for (int64_t e = 0; e < n_sole; e++)
            s += row[sole[e]];
        a = a - s > 0.0 ? a - s : 0.0;
    }
    return ks_density_ratio(a, phi->rowsum[i]);
}

/* ---- relatedness.h5 ---- */

static int read_product_axis(ks_ctx *ctx, hid_t file, const char *path, const ks_records *r)
{
    hid_t d, s;
    hsize_t dims[1] = {0};
    int32_t *hs4 = NULL;
    int rc = KS_OK;
    if (H5Lexists(file, "products", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "products/hs4", H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /products/hs4 (run kspill relatedness first)", path);
    d = H5Dopen2(file, "products/hs4", H5P_DEFAULT);
    s = H5Dget_space(d);
    if (H5Sget_simple_extent_ndims(s) == 1)
        H5Sget_simple_extent_dims(s, dims, NULL);
    if ((int64_t)dims[0] != r->n_products) {
        rc = ks_fail(ctx, KS_EINPUT, "%s: /products/hs4 has %llu products, records.h5 %d: the two "
                     "files come from different runs (rerun kspill relatedness)", path,
                     (unsigned long long)dims[0], r->n_products);
    } else if ((hs4 = malloc((size_t)r->n_products * sizeof *hs4 + 1)) == NULL) {
        rc = ks_fail(ctx, KS_ENOMEM, "no memory for %s:/products/hs4", path);
    } else if (H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, hs4) < 0) {
        rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:/products/hs4", path);
    } else {
        for (int i = 0; i < r->n_products && rc == KS_OK; i++)
            if (hs4[i] != r->hs4[i])
                rc = ks_fail(ctx, KS_EINPUT, "%s: /products/hs4[%d] = %d but records.h5 has %d: "
                             "the product axes differ (rerun kspill relatedness)", path, i,
                             hs4[i], r->hs4[i]);
    }
    free(hs4);
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int ks_panel_phi_open(ks_ctx *ctx, const ks_records *r, const char *path, hid_t *file)
{
    int rc;
    *file = H5I_INVALID_HID;
    rc = ks_h5_open_read(ctx, file, path);
    if (rc != KS_OK)
        ks_fail_context(ctx, "relatedness (run kspill relatedness JOB.ini before panel)");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    return ks_mpi_agree(ctx, read_product_axis(ctx, *file, path, r));
}

int ks_panel_phi_read(ks_ctx *ctx, hid_t file, const char *path, int year, int p, double *phi)
{
    char name[32];
    hid_t d, s;
    hsize_t dims[2] = {0, 0};
    int rc = KS_OK;
    snprintf(name, sizeof name, "phi/%d", year);
    if (H5Lexists(file, "phi", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /%s: relatedness covers other years than "
                       "records.h5 (rerun kspill relatedness)", path, name);
    d = H5Dopen2(file, name, H5P_DEFAULT);
    s = H5Dget_space(d);
    if (H5Sget_simple_extent_ndims(s) == 2)
        H5Sget_simple_extent_dims(s, dims, NULL);
    if (dims[0] != (hsize_t)p || dims[1] != (hsize_t)p)
        rc = ks_fail(ctx, KS_EINPUT, "%s:/%s is %llux%llu, expected %dx%d (the product axis)",
                     path, name, (unsigned long long)dims[0], (unsigned long long)dims[1], p, p);
    else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, phi) < 0)
        rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:/%s", path, name);
    for (int64_t e = 0; rc == KS_OK && e < (int64_t)p * p; e++)
        if (!isfinite(phi[e]) || phi[e] < 0)
            rc = ks_fail(ctx, KS_EINPUT, "%s:/%s[%lld][%lld] = %g: phi must be finite and >= 0",
                         path, name, (long long)(e / p), (long long)(e % p), phi[e]);
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}
