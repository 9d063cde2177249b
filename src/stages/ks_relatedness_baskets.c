/* ks_relatedness_baskets.c - from records.h5 to the baskets of one year.
 *
 * measure = coexport: a unit is a firm of this rank; its basket holds the
 * products it exported in any year of the window.  measure = rca: a unit is a
 * region (city or province); its basket holds the products in which its
 * exports over the window show a revealed comparative advantage >= 1.  Values
 * are exact integers of micro-dollars, so the regions' sums over ranks are
 * exact and membership is decided on integers (kernels/ks_cooccur.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_cooccur.h"
#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_relatedness_internal.h"

const char *ks_rel_unit_name(const ks_job *job)
{
    if (job->rel_measure == KS_REL_COEXPORT)
        return "firms";
    return job->rel_rca_scope == KS_SCOPE_PROVINCE ? "provinces" : "cities";
}

/* ---------------------------------------------------------------- regions */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int region_index(const int32_t *codes, int n, int32_t code)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (codes[mid] < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && codes[lo] == code ? lo : -1;
}

int ks_rel_regions_init(ks_ctx *ctx, ks_rel *rel)
{
    const ks_records *r = &rel->rec;
    int by_province = rel->job->rel_rca_scope == KS_SCOPE_PROVINCE, n = 0;
    KS_CHECK(ks_calloc(ctx, &rel->region_code, (size_t)r->n_cities + 1, sizeof *rel->region_code, "regions"));
    KS_CHECK(ks_calloc(ctx, &rel->city_region, (size_t)r->n_cities + 1, sizeof *rel->city_region, "regions"));
    /* the distinct codes, ascending: cities are already, provinces are not */
    for (int c = 0; c < r->n_cities; c++)
        rel->region_code[c] = by_province ? r->city_province[c] : r->city_code[c];
    qsort(rel->region_code, (size_t)r->n_cities, sizeof *rel->region_code, cmp_i32);
    for (int c = 0; c < r->n_cities; c++)
        if (n == 0 || rel->region_code[c] != rel->region_code[n - 1])
            rel->region_code[n++] = rel->region_code[c];
    rel->n_regions = n;
    for (int c = 0; c < r->n_cities; c++)
        rel->city_region[c] = region_index(rel->region_code, n,
                                           by_province ? r->city_province[c] : r->city_code[c]);
    return ks_records_read_firm_years(ctx, r, rel->lo, rel->hi, &rel->fy);
}

/* region_of[f - lo] for year `year`: the region of the firm-year's city, -1
 * where the city is unknown (-1) or the firm has no firm-year then. */
static int firm_regions(ks_ctx *ctx, const ks_rel *rel, int year, int32_t *region_of)
{
    for (int64_t f = 0; f < rel->hi - rel->lo; f++)
        region_of[f] = -1;
    for (int64_t row = 0; row < rel->fy.n; row++) {
        int c;
        if (rel->fy.year[row] != year || rel->fy.city[row] < 0)
            continue;
        c = ks_records_city_index(&rel->rec, rel->fy.city[row]);
        if (c < 0)
            return ks_fail(ctx, KS_EINPUT, "%s: /firm_years/city holds %d for firm %lld in %d, "
                           "not a code of /cities/code", rel->rec.path, rel->fy.city[row],
                           (long long)rel->fy.firm[row], year);
        region_of[rel->fy.firm[row] - rel->lo] = rel->city_region[c];
    }
    return KS_OK;
}

/* ------------------------------------------------------------ year loading */

static int load_exports(ks_ctx *ctx, ks_rel *rel, int year, const ks_flow_block *b)
{
    int t = year - rel->job->first_year;
    int64_t n = 0;
    uint64_t *keys = NULL;
    KS_CHECK(ks_calloc(ctx, &keys, (size_t)b->n + 1, sizeof *keys, "export keys"));
    /* flows come sorted by firm then heading, so the keys come ascending */
    for (int64_t i = 0; i < b->n; i++)
        if (b->flow[i] == 1)
            keys[n++] = (uint64_t)(b->firm[i] - rel->lo) * (uint64_t)rel->P + (uint64_t)b->product[i];
    rel->keys[t] = keys;
    rel->nkeys[t] = n;
    return KS_OK;
}

/* The sum over ranks must not overflow int64: check the total first (in
 * floating point, far from the limit in practice: a year of China's exports
 * is about 2e18 micro-dollars). */
static int check_total(ks_ctx *ctx, const ks_rel *rel, int year, double local)
{
    double total = local;
    if (ctx->comm != MPI_COMM_NULL && ctx->nranks > 1 &&
        MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
        return ks_fail(ctx, KS_EMPI, "MPI_Allreduce of the export total of %d failed", year);
    if (total >= 9.0e18)
        return ks_fail(ctx, KS_EINPUT, "%s: exports of %d total %.3g micro-dollars, beyond "
                       "what int64 sums hold", rel->rec.path, year, total);
    return KS_OK;
}

static int add_values(ks_ctx *ctx, const ks_rel *rel, int year, const ks_flow_block *b,
                      const int32_t *region_of, int64_t *X, double *local)
{
    for (int64_t i = 0; i < b->n; i++) {
        double v = b->value[i] * 1e6;
        int32_t reg;
        if (b->flow[i] != 1 || (reg = region_of[b->firm[i] - rel->lo]) < 0)
            continue;
        if (!(v >= 0 && v < 9.0e18))
            return ks_fail(ctx, KS_EINPUT, "%s: /flows/%d/value_usd holds %g for firm %lld, "
                           "not a value in USD", rel->rec.path, year, b->value[i],
                           (long long)b->firm[i]);
        /* ingest's values are exact sums of micro-dollars: this recovers them */
        X[(int64_t)reg * rel->P + b->product[i]] += llround(v);
        *local += v;
    }
    return KS_OK;
}

static int load_values(ks_ctx *ctx, ks_rel *rel, int year, const ks_flow_block *b, int rc)
{
    int t = year - rel->job->first_year;
    int64_t n = (int64_t)rel->n_regions * rel->P;
    int32_t *region_of = NULL;
    int64_t *X = NULL;
    double local = 0;
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &region_of, (size_t)(rel->hi - rel->lo) + 1, sizeof *region_of, "regions");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &X, (size_t)n + 1, sizeof *X, "region exports");
    if (rc == KS_OK)
        rc = firm_regions(ctx, rel, year, region_of);
    if (rc == KS_OK)
        rc = add_values(ctx, rel, year, b, region_of, X, &local);
    free(region_of);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, check_total(ctx, rel, year, local));
    if (rc == KS_OK)
        rc = ks_mpi_sum_i64(ctx, X, (int)n);
    if (rc != KS_OK) {
        free(X);
        return rc;
    }
    rel->X[t] = X;
    return KS_OK;
}

int ks_rel_load_year(ks_ctx *ctx, ks_rel *rel, int year)
{
    ks_flow_block b;
    int rc = ks_records_read_flows(ctx, &rel->rec, year, rel->lo, rel->hi, &b);
    if (rc != KS_OK)
        ks_fail_context(ctx, "relatedness, year %d", year);
    if (rel->job->rel_measure == KS_REL_COEXPORT) {
        if (rc == KS_OK)
            rc = load_exports(ctx, rel, year, &b);
    } else {
        rc = load_values(ctx, rel, year, &b, rc); /* collective even on failure */
    }
    ks_flow_block_free(&b);
    return rc;
}

void ks_rel_drop_year(ks_rel *rel, int year)
{
    int t = year - rel->job->first_year;
    if (t < 0 || t >= rel->nyears)
        return;
    if (rel->keys) {
        free(rel->keys[t]);
        rel->keys[t] = NULL;
        rel->nkeys[t] = 0;
    }
    if (rel->X) {
        free(rel->X[t]);
        rel->X[t] = NULL;
    }
}

/* ---------------------------------------------------------------- baskets */

static int reserve_items(ks_ctx *ctx, ks_rel *rel, int64_t n)
{
    return ks_reserve(ctx, &rel->items, &rel->items_cap, (size_t)n + 1,
                      sizeof *rel->items, "basket items");
}

static int firm_baskets(ks_ctx *ctx, ks_rel *rel, int first, int year)
{
    const uint64_t *lists[64];
    int64_t lens[64], total = 0;
    uint64_t *pooled = NULL;
    const uint64_t *keys;
    int nl = 0, rc = KS_OK;
    for (int y = first; y <= year && nl < 64; y++, nl++) {
        lists[nl] = rel->keys[y - rel->job->first_year];
        lens[nl] = rel->nkeys[y - rel->job->first_year];
        total += lens[nl];
    }
    keys = lists[nl - 1];
    if (nl > 1) { /* a firm exports i in the window when it does in any year of it */
        KS_CHECK(ks_calloc(ctx, &pooled, (size_t)total + 1, sizeof *pooled, "pooled exports"));
        total = ks_cooccur_union(lists, lens, nl, pooled);
        keys = pooled;
    }
    rel->n_baskets = rel->hi - rel->lo;
    rc = reserve_items(ctx, rel, total);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &rel->offsets, (size_t)rel->n_baskets + 1, sizeof *rel->offsets, "baskets");
    if (rc == KS_OK && (total < 0 || ks_cooccur_csr(keys, total, rel->n_baskets, rel->P,
                                                    rel->offsets, rel->items) != 0))
        rc = ks_fail(ctx, KS_EINPUT, "%s: the exports of %d-%d are not sorted by firm and "
                     "heading (rerun kspill ingest)", rel->rec.path, first, year);
    free(pooled);
    return rc;
}

static int region_baskets(ks_ctx *ctx, ks_rel *rel, int first, int year)
{
    int64_t n = (int64_t)rel->n_regions * rel->P, *X = NULL, *col = NULL;
    int rc = KS_OK;
    KS_CHECK(ks_calloc(ctx, &X, (size_t)n + 1, sizeof *X, "pooled region exports"));
    for (int y = first; y <= year && rc == KS_OK; y++) {
        const int64_t *Xy = rel->X[y - rel->job->first_year];
        for (int64_t e = 0; e < n; e++)
            if (__builtin_add_overflow(X[e], Xy[e], &X[e])) {
                rc = ks_fail(ctx, KS_EINPUT, "%s: the exports of %d-%d overflow int64 "
                             "micro-dollars (use a shorter window)", rel->rec.path, first, year);
                break;
            }
    }
    rel->n_baskets = rel->n_regions;
    if (rc == KS_OK)
        rc = reserve_items(ctx, rel, n);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &rel->offsets, (size_t)rel->n_baskets + 1, sizeof *rel->offsets, "baskets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &col, (size_t)rel->P + 1, sizeof *col, "product totals");
    if (rc == KS_OK && ks_rca_members(X, rel->n_regions, rel->P, col, rel->offsets, rel->items) != 0)
        rc = ks_fail(ctx, KS_EINPUT, "%s: the exports of %d-%d total more than int64 "
                     "micro-dollars hold (use a shorter window)", rel->rec.path, first, year);
    free(col);
    free(X);
    return rc;
}

int ks_rel_baskets(ks_ctx *ctx, ks_rel *rel, int year)
{
    int first = year - rel->job->rel_window + 1;
    if (first < rel->job->first_year)
        first = rel->job->first_year;
    free(rel->offsets);
    rel->offsets = NULL;
    rel->n_baskets = 0;
    if (rel->job->rel_measure == KS_REL_COEXPORT)
        return firm_baskets(ctx, rel, first, year);
    return region_baskets(ctx, rel, first, year);
}

void ks_rel_baskets_free(ks_rel *rel)
{
    for (int t = 0; t < rel->nyears; t++) {
        if (rel->keys)
            free(rel->keys[t]);
        if (rel->X)
            free(rel->X[t]);
    }
    free(rel->keys);
    free(rel->nkeys);
    free(rel->X);
    free(rel->region_code);
    free(rel->city_region);
    ks_firm_year_block_free(&rel->fy);
    free(rel->offsets);
    free(rel->items);
    rel->keys = NULL;
    rel->nkeys = NULL;
    rel->X = NULL;
    rel->region_code = NULL;
    rel->city_region = NULL;
    rel->offsets = NULL;
    rel->items = NULL;
    rel->items_cap = 0;
}
