/* ks_panel_year.c - one year's baskets of this rank's firm-years: imports
 * and exports as sorted product lists, and the chapters each firm-year is
 * active in (any kept flow), from records.h5's /firm_years and /flows. */
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"
#include "ks_panel_internal.h"

void ks_panel_year_free(ks_panel_year *y)
{
    free(y->firm);
    free(y->city);
    free(y->value);
    for (int b = 0; b < KS_PANEL_MAX_BASKETS; b++) {
        free(y->off[b]);
        free(y->prod[b]);
    }
    free(y->chapters);
    memset(y, 0, sizeof *y);
}

static int alloc_year(ks_ctx *ctx, ks_panel_year *y, int64_t n)
{
    size_t m = (size_t)n + 1;
    KS_CHECK(ks_calloc(ctx, &y->firm, m, sizeof *y->firm, "panel firm-years"));
    KS_CHECK(ks_calloc(ctx, &y->city, m, sizeof *y->city, "panel firm-years"));
    KS_CHECK(ks_calloc(ctx, &y->value, m, sizeof *y->value, "panel firm-years"));
    KS_CHECK(ks_calloc(ctx, &y->chapters, 2 * m, sizeof *y->chapters, "panel chapters"));
    for (int b = 0; b < 2; b++)
        KS_CHECK(ks_calloc(ctx, &y->off[b], m, sizeof *y->off[b], "panel baskets"));
    return KS_OK;
}

/* The firm-years of the year, in firm order (fyb is sorted by firm, year). */
static int pick_firm_years(ks_ctx *ctx, const ks_records *r, const ks_firm_year_block *fyb,
                           int year, ks_panel_year *y)
{
    int64_t n = 0;
    for (int64_t k = 0; k < fyb->n; k++)
        n += fyb->year[k] == year && fyb->rows_kept[k] > 0;
    KS_CHECK(alloc_year(ctx, y, n));
    y->year = year;
    y->n = n;
    n = 0;
    for (int64_t k = 0; k < fyb->n; k++) {
        if (fyb->year[k] != year || fyb->rows_kept[k] <= 0)
            continue;
        y->firm[n] = fyb->firm[k];
        y->city[n] = fyb->city[k] >= 0 ? ks_records_city_index(r, fyb->city[k]) : -1;
        y->value[n++] = fyb->value_kept[k];
    }
    return KS_OK;
}

/* Firm-year of each flow by one merge walk (both sorted by firm). */
static int locate_flows(ks_ctx *ctx, const ks_records *r, const ks_flow_block *flows,
                        const ks_panel_year *y, int64_t *at)
{
    int64_t k = 0;
    for (int64_t e = 0; e < flows->n; e++) {
        while (k < y->n && y->firm[k] < flows->firm[e])
            k++;
        if (k == y->n || y->firm[k] != flows->firm[e])
            return ks_fail(ctx, KS_EINPUT, "%s: /flows/%d has firm %lld, which has no firm-year "
                           "with kept rows in /firm_years (records.h5 is inconsistent: rerun "
                           "kspill ingest)", r->path, y->year, (long long)flows->firm[e]);
        at[e] = k;
    }
    return KS_OK;
}

/* Filter k's basket: the products a firm-year imports from a member partner
 * (the block is sorted by firm, product, partner, so a product's partners are
 * adjacent and each product is added once). */
static int filtered_basket(ks_ctx *ctx, const ks_records *r, const ks_partner_block *pb,
                           const uint8_t *member, ks_panel_year *y, int b)
{
    int64_t k = 0, n = 0;
    KS_CHECK(ks_calloc(ctx, &y->off[b], (size_t)y->n + 1, sizeof *y->off[b], "partner baskets"));
    KS_CHECK(ks_calloc(ctx, &y->prod[b], (size_t)pb->n + 1, sizeof *y->prod[b], "partner baskets"));
    for (int64_t e = 0; e < pb->n; e++) {
        while (k < y->n && y->firm[k] < pb->firm[e])
            y->off[b][++k] = n;
        if (k == y->n || y->firm[k] != pb->firm[e])
            return ks_fail(ctx, KS_EINPUT, "%s: /partner_imports/%d has firm %lld, which has no "
                           "firm-year with kept rows (rerun kspill ingest)", r->path, y->year,
                           (long long)pb->firm[e]);
        if (!member[pb->partner[e]])
            continue;
        if (n > y->off[b][k] && y->prod[b][n - 1] == pb->product[e])
            continue;
        y->prod[b][n++] = pb->product[e];
    }
    while (k < y->n)
        y->off[b][++k] = n;
    return KS_OK;
}

int ks_panel_year_build(ks_ctx *ctx, const ks_records *r, const ks_firm_year_block *fyb,
                        const ks_flow_block *flows, const ks_partner_filters *filters,
                        const ks_partner_block *by_partner, int year, ks_panel_year *out)
{
    int64_t *at = NULL, *fill[2] = {NULL, NULL};
    int rc;
    memset(out, 0, sizeof *out);
    KS_CHECK(pick_firm_years(ctx, r, fyb, year, out));
    KS_CHECK(ks_calloc(ctx, &at, (size_t)flows->n + 1, sizeof *at, "flow positions"));
    KS_TRY(rc, locate_flows(ctx, r, flows, out, at), done);
    /* counts, then offsets, then the products in flow order (already sorted
     * by product within a firm) */
    for (int64_t e = 0; e < flows->n; e++) {
        int b = flows->flow[e] ? KS_BASKET_EXPORTS : KS_BASKET_IMPORTS;
        int chapter = r->hs2[flows->product[e]];
        out->off[b][at[e] + 1]++;
        if (chapter > 0 && chapter < KS_PANEL_CHAPTERS)
            out->chapters[2 * at[e] + chapter / 64] |= (uint64_t)1 << (chapter % 64);
    }
    for (int b = 0; b < 2; b++) {
        for (int64_t k = 0; k < out->n; k++)
            out->off[b][k + 1] += out->off[b][k];
        KS_TRY(rc, ks_calloc(ctx, &out->prod[b], (size_t)out->off[b][out->n] + 1,
                             sizeof *out->prod[b], "panel baskets"), done);
        KS_TRY(rc, ks_calloc(ctx, &fill[b], (size_t)out->n + 1, sizeof *fill[b], "panel baskets"),
               done);
        memcpy(fill[b], out->off[b], (size_t)out->n * sizeof *fill[b]);
    }
    for (int64_t e = 0; e < flows->n; e++) {
        int b = flows->flow[e] ? KS_BASKET_EXPORTS : KS_BASKET_IMPORTS;
        out->prod[b][fill[b][at[e]]++] = flows->product[e];
    }
    for (int f = 0; filters && f < filters->n && rc == KS_OK; f++)
        rc = filtered_basket(ctx, r, by_partner, filters->member[f], out, KS_BASKET_FILTERED + f);
done:
    free(at);
    free(fill[0]);
    free(fill[1]);
    return rc;
}

void ks_panel_year_match(const ks_panel_year *cur, const ks_panel_year *prev, int64_t *index)
{
    int64_t q = 0;
    for (int64_t k = 0; k < cur->n; k++) {
        while (prev && q < prev->n && prev->firm[q] < cur->firm[k])
            q++;
        index[k] = prev && q < prev->n && prev->firm[q] == cur->firm[k] ? q : -1;
    }
}
