/* ks_panel.c - stage `panel`: records.h5 + relatedness.h5 -> panel.h5, one
 * row per firm x product x year cell of the sample (method.md section 2).
 *
 * Ranks own contiguous firm ranges (ks_records_firm_range).  Year by year,
 * each rank builds its firm-years' baskets, the shared-scope tables are
 * built across ranks, the density kernel (kernels/ks_density.c, OpenMP)
 * picks the cells over the threshold, every column of those rows is filled,
 * and the year's rows are appended to panel.h5 in (firm, product) order after
 * the previous years: memory is bounded by one year, and the output does not
 * depend on the number of ranks or threads. */
#include "ks_panel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_customs.h"
#include "ks_log.h"
#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_panel_internal.h"

typedef struct ks_panel {
    ks_records rec;
    hid_t rel;
    char rel_path[KS_PATH_MAX];
    int64_t lo, hi;              /* this rank's firms */
    ks_firm_year_block fyb;      /* their firm-years, every year */
    int n_years;
    int8_t *market;              /* [n_years][C] */
    double *cuts;                /* [n_years][4]: market low, high; size q1, q2 */
    int words;                   /* uint64 per firm in history */
    uint64_t *history;           /* [hi-lo][words]: products ever exported */
    int chapter_first[KS_PANEL_CHAPTERS], chapter_end[KS_PANEL_CHAPTERS];
    int sample;                  /* the declaration "firm" */
    int table_of[KS_MAX_DENSITIES]; /* declaration -> shared table, -1 firm scope */
    int n_tables;
    ks_scope_table tables[KS_MAX_DENSITIES];
    int city_decl;               /* the declaration /density_city shows, -1 none */
    int any_lag;
    double *phi, *phi_t, *rowsum, *city_values;
    ks_density_phi ph;
    ks_panel_out out;
    ks_partner_filters filters;  /* declarations with partners, in declaration order */
    double seconds[4];           /* load, scopes, rows, write: for -v */
} ks_panel;

/* ---- set-up ---- */

static int check_declarations(ks_ctx *ctx, const ks_job *job)
{
    for (int d = 0; d < job->n_densities; d++)
        if (job->densities[d].partners.n > 0 && job->densities[d].basket != KS_BASKET_IMPORTS)
            return ks_fail(ctx, KS_EUSAGE, "[density.%s] partners: the partner filter applies to "
                           "imports (basket = imports)", job->densities[d].name);
    if (!ks_job_density(job, "firm"))
        return ks_fail(ctx, KS_EUSAGE, "the job declares no [density.firm], the sample rule's "
                       "variable");
    return KS_OK;
}

/* One shared table per distinct (basket, scope, lag). */
static void plan_tables(const ks_job *job, ks_panel *pn)
{
    pn->city_decl = -1;
    for (int d = 0; d < job->n_densities; d++) {
        const ks_density_spec *s = &job->densities[d];
        int t;
        if (!strcmp(s->name, "firm"))
            pn->sample = d;
        if (!strcmp(s->name, "city") && s->scope == KS_SCOPE_CITY)
            pn->city_decl = d;
        pn->any_lag |= s->lag;
        pn->table_of[d] = -1;
        if (s->scope == KS_SCOPE_FIRM)
            continue;
        for (t = 0; t < pn->n_tables; t++)
            if (pn->tables[t].basket == s->basket && pn->tables[t].scope == s->scope &&
                pn->tables[t].lag == s->lag)
                break;
        if (t == pn->n_tables) {
            memset(&pn->tables[t], 0, sizeof pn->tables[t]);
            pn->tables[t].basket = s->basket;
            pn->tables[t].scope = s->scope;
            pn->tables[t].lag = s->lag;
            pn->n_tables++;
        }
        pn->tables[t].need_sole |= s->leave_one_out;
        pn->table_of[d] = t;
    }
}

/* The partner filters of the declarations with `partners`: each becomes
 * its own import basket, KS_BASKET_FILTERED + k in the working copy of the
 * job (so shared tables of different partner sets never mix). */
static int plan_partner_filters(ks_ctx *ctx, ks_job *work, ks_panel *pn)
{
    ks_strlist names = {0};
    int rc = KS_OK, any = 0;
    for (int d = 0; d < work->n_densities; d++)
        any |= work->densities[d].partners.n > 0;
    if (!any)
        return KS_OK;
    rc = ks_records_read_partners(ctx, &pn->rec, &names);
    if (rc == KS_OK && names.n == 0)
        rc = ks_fail(ctx, KS_EUSAGE, "%s keeps no partner countries: run kspill ingest with this "
                     "job (its partner-filtered densities make ingest keep them), and map "
                     "[columns] partner_country", pn->rec.path);
    pn->filters.n_partners = (int)names.n;
    for (int d = 0; d < work->n_densities && rc == KS_OK; d++) {
        ks_density_spec *s = &work->densities[d];
        int k = pn->filters.n;
        if (s->partners.n == 0)
            continue;
        rc = ks_calloc(ctx, &pn->filters.member[k], names.n + 1, 1, "partner filter");
        for (size_t q = 0; q < s->partners.n && rc == KS_OK; q++) {
            size_t m = 0;
            while (m < names.n && strcmp(names.items[m], s->partners.items[q]))
                m++;
            if (m == names.n)
                rc = ks_fail(ctx, KS_EUSAGE, "[density.%s] partners: '%s' is not a partner country "
                             "of %s (it has %zu, e.g. '%s')", s->name, s->partners.items[q],
                             pn->rec.path, names.n, names.items[0]);
            else
                pn->filters.member[k][m] = 1;
        }
        s->basket = (ks_basket)(KS_BASKET_FILTERED + k);
        pn->filters.n++;
    }
    ks_strlist_clear(&names);
    return rc;
}

static void chapter_ranges(const ks_records *r, ks_panel *pn)
{
    for (int h = 0; h < KS_PANEL_CHAPTERS; h++)
        pn->chapter_first[h] = pn->chapter_end[h] = 0;
    /* products ascend by heading, so a chapter's products are contiguous */
    for (int i = r->n_products - 1; i >= 0; i--)
        if (r->hs2[i] > 0 && r->hs2[i] < KS_PANEL_CHAPTERS) {
            if (pn->chapter_end[r->hs2[i]] == 0)
                pn->chapter_end[r->hs2[i]] = i + 1;
            pn->chapter_first[r->hs2[i]] = i;
        }
}

static double tradevalue_of(double value) { return value > 0 ? log(value) : NAN; }

/* Every rank's tradevalues of year y, in rank order. */
static int gather_tradevalues(ks_ctx *ctx, const ks_panel *pn, int year, double **all, int64_t *n)
{
    double *mine = NULL;
    int *counts = NULL, *displs = NULL, m = 0, total = 0, rc;
    *all = NULL;
    rc = ks_calloc(ctx, &mine, (size_t)pn->fyb.n + 1, sizeof *mine, "tradevalues");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &counts, (size_t)ctx->nranks + 1, sizeof *counts, "tradevalues");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &displs, (size_t)ctx->nranks + 1, sizeof *displs, "tradevalues");
    for (int64_t k = 0; rc == KS_OK && k < pn->fyb.n; k++)
        if (pn->fyb.year[k] == year && pn->fyb.rows_kept[k] > 0)
            mine[m++] = tradevalue_of(pn->fyb.value_kept[k]);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1) {
        *all = mine;
        *n = m;
        mine = NULL;
        goto done;
    }
    MPI_Allgather(&m, 1, MPI_INT, counts, 1, MPI_INT, ctx->comm);
    for (int q = 0; q < ctx->nranks; q++) {
        displs[q] = total;
        total += counts[q];
    }
    rc = ks_calloc(ctx, all, (size_t)total + 1, sizeof **all, "tradevalues");
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    MPI_Allgatherv(mine, m, MPI_DOUBLE, *all, counts, displs, MPI_DOUBLE, ctx->comm);
    *n = total;
done:
    free(mine);
    free(counts);
    free(displs);
    return rc;
}

/* Market groups (city non-SOE shares, exact micro-dollar sums over ranks)
 * and size cut points of every year. */
static int compute_groups(ks_ctx *ctx, const ks_job *job, ks_panel *pn)
{
    size_t nc = (size_t)pn->rec.n_cities, ny = (size_t)pn->n_years;
    int64_t *sums = NULL, n = 0;
    double *market_cuts = NULL, *tv = NULL;
    int rc = ks_calloc(ctx, &sums, 2 * ny * nc + 1, sizeof *sums, "market sums");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &market_cuts, 2 * ny, sizeof *market_cuts, "market cuts");
    for (int64_t k = 0; rc == KS_OK && k < pn->fyb.n; k++) {
        int c = pn->fyb.city[k] >= 0 ? ks_records_city_index(&pn->rec, pn->fyb.city[k]) : -1;
        int y = pn->fyb.year[k] - pn->rec.first_year;
        int64_t micro = llround(pn->fyb.value_kept[k] * 1e6);
        if (c < 0 || y < 0 || y >= pn->n_years || pn->fyb.rows_kept[k] <= 0)
            continue;
        sums[ny * nc + (size_t)y * nc + (size_t)c] += micro;
        if (pn->fyb.ownership[k] != KS_OWN_SOE)
            sums[(size_t)y * nc + (size_t)c] += micro;
    }
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    KS_TRY(rc, ks_mpi_sum_i64(ctx, sums, (int)(2 * ny * nc)), done);
    KS_TRY(rc, ks_market_groups(ctx, pn->n_years, (int)nc, sums, sums + ny * nc,
                                job->market_cut_low, job->market_cut_high, job->market_by_year,
                                pn->market, market_cuts), done);
    for (int y = 0; y < pn->n_years; y++) {
        pn->cuts[4 * y] = market_cuts[2 * y];
        pn->cuts[4 * y + 1] = market_cuts[2 * y + 1];
        KS_TRY(rc, gather_tradevalues(ctx, pn, pn->rec.first_year + y, &tv, &n), done);
        rc = ks_size_cuts(ctx, tv, n, &pn->cuts[4 * y + 2], &pn->cuts[4 * y + 3]);
        free(tv);
        tv = NULL;
        KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    }
done:
    free(sums);
    free(market_cuts);
    return rc;
}

static int alloc_state(ks_ctx *ctx, ks_panel *pn)
{
    size_t p = (size_t)pn->rec.n_products, nf = (size_t)(pn->hi - pn->lo);
    pn->words = (pn->rec.n_products + 63) / 64;
    KS_CHECK(ks_calloc(ctx, &pn->market, (size_t)pn->n_years * (size_t)pn->rec.n_cities + 1,
                       sizeof *pn->market, "market groups"));
    KS_CHECK(ks_calloc(ctx, &pn->cuts, 4 * (size_t)pn->n_years, sizeof *pn->cuts, "cut points"));
    KS_CHECK(ks_calloc(ctx, &pn->history, nf * (size_t)pn->words + 1, sizeof *pn->history,
                       "export history"));
    KS_CHECK(ks_calloc(ctx, &pn->phi, p * p + 1, sizeof *pn->phi, "phi"));
    KS_CHECK(ks_calloc(ctx, &pn->phi_t, p * p + 1, sizeof *pn->phi_t, "phi"));
    KS_CHECK(ks_calloc(ctx, &pn->rowsum, p + 1, sizeof *pn->rowsum, "phi"));
    KS_CHECK(ks_calloc(ctx, &pn->city_values, p * (size_t)pn->rec.n_cities + 1,
                       sizeof *pn->city_values, "city densities"));
    pn->ph.p = (int)p;
    pn->ph.phi = pn->phi;
    pn->ph.phi_t = pn->phi_t;
    pn->ph.rowsum = pn->rowsum;
    return KS_OK;
}

static int open_inputs(ks_ctx *ctx, ks_job *job, ks_panel *pn)
{
    char path[KS_PATH_MAX];
    int rc;
    KS_CHECK(ks_job_output(ctx, job, "records.h5", path, sizeof path));
    KS_CHECK(ks_job_output(ctx, job, "relatedness.h5", pn->rel_path, sizeof pn->rel_path));
    KS_CHECK(ks_records_open(ctx, path, &pn->rec));
    pn->n_years = pn->rec.last_year - pn->rec.first_year + 1;
    ks_records_firm_range(ctx, pn->rec.n_firms, &pn->lo, &pn->hi);
    rc = ks_records_read_firm_years(ctx, &pn->rec, pn->lo, pn->hi, &pn->fyb);
    if (rc == KS_OK)
        rc = alloc_state(ctx, pn);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_panel_phi_open(ctx, &pn->rec, pn->rel_path, &pn->rel));
    KS_CHECK(ks_mpi_agree(ctx, plan_partner_filters(ctx, job, pn)));
    plan_tables(job, pn);
    chapter_ranges(&pn->rec, pn);
    return compute_groups(ctx, job, pn);
}

/* ---- one year ---- */

/* The sample declaration's baskets aligned with cur's firm-years. */
static int sample_baskets(ks_ctx *ctx, const ks_density_spec *s, const ks_panel_year *cur,
                          const ks_panel_year *prev, const int64_t *prev_index,
                          int64_t **off, int32_t **prod, int *owned)
{
    int64_t n = 0;
    *owned = 0;
    if (!s->lag) {
        *off = cur->off[s->basket];
        *prod = cur->prod[s->basket];
        return KS_OK;
    }
    *owned = 1;
    KS_CHECK(ks_calloc(ctx, off, (size_t)cur->n + 1, sizeof **off, "lagged baskets"));
    for (int64_t k = 0; k < cur->n; k++) {
        int64_t q = prev_index[k];
        n += q >= 0 ? prev->off[s->basket][q + 1] - prev->off[s->basket][q] : 0;
        (*off)[k + 1] = n;
    }
    KS_CHECK(ks_calloc(ctx, prod, (size_t)n + 1, sizeof **prod, "lagged baskets"));
    for (int64_t k = 0; k < cur->n; k++) {
        int64_t q = prev_index[k];
        if (q >= 0)
            memcpy(*prod + (*off)[k], prev->prod[s->basket] + prev->off[s->basket][q],
                   (size_t)((*off)[k + 1] - (*off)[k]) * sizeof **prod);
    }
    return KS_OK;
}

/* Every cell of every firm-year, density missing (lagged sample variable
 * in the first year with threshold 0). */
static int all_cells(ks_ctx *ctx, int64_t n_items, int p, ks_density_hits *h)
{
    memset(h, 0, sizeof *h);
    h->n = n_items * p;
    KS_CHECK(ks_calloc(ctx, &h->item, (size_t)h->n + 1, sizeof *h->item, "panel cells"));
    KS_CHECK(ks_calloc(ctx, &h->product, (size_t)h->n + 1, sizeof *h->product, "panel cells"));
    KS_CHECK(ks_calloc(ctx, &h->value, (size_t)h->n + 1, sizeof *h->value, "panel cells"));
    for (int64_t e = 0; e < h->n; e++) {
        h->item[e] = e / p;
        h->product[e] = (int32_t)(e % p);
        h->value[e] = NAN;
    }
    return KS_OK;
}

static int select_cells(ks_ctx *ctx, const ks_job *job, ks_panel *pn, const ks_panel_year *cur,
                        const ks_panel_year *prev, const int64_t *prev_index,
                        ks_density_hits *hits)
{
    const ks_density_spec *s = &job->densities[pn->sample];
    int keep_all = job->panel_threshold <= 0, owned = 0, rc = KS_OK;
    int64_t *off = NULL;
    int32_t *prod = NULL;
    memset(hits, 0, sizeof *hits);
    if (cur->year == pn->rec.first_year && !job->panel_keep_first_year)
        return KS_OK;
    if (s->lag && !prev->year)
        return keep_all ? all_cells(ctx, cur->n, pn->ph.p, hits) : KS_OK;
    rc = sample_baskets(ctx, s, cur, prev, prev_index, &off, &prod, &owned);
    if (rc == KS_OK && ks_density_select(&pn->ph, cur->n, off, prod,
                                         job->panel_threshold + KS_PANEL_TIE, keep_all, hits) != 0)
        rc = ks_fail(ctx, KS_ENOMEM, "no memory for the cells of %d over the threshold "
                     "(%lld firm-years on this rank)", cur->year, (long long)cur->n);
    if (owned) {
        free(off);
        free(prod);
    }
    return rc;
}

/* Per firm-year values shared by its rows. */
typedef struct fy_values {
    double *tradevalue, *newexport;
    int8_t *size;
} fy_values;

static void fy_values_free(fy_values *v)
{
    free(v->tradevalue);
    free(v->newexport);
    free(v->size);
}

static int firm_year_values(ks_ctx *ctx, const ks_job *job, ks_panel *pn,
                            const ks_panel_year *cur, fy_values *v)
{
    int y = cur->year - pn->rec.first_year;
    size_t m = (size_t)cur->n + 1;
    memset(v, 0, sizeof *v);
    KS_CHECK(ks_calloc(ctx, &v->tradevalue, m, sizeof *v->tradevalue, "firm-year values"));
    KS_CHECK(ks_calloc(ctx, &v->newexport, m, sizeof *v->newexport, "firm-year values"));
    KS_CHECK(ks_calloc(ctx, &v->size, m, sizeof *v->size, "firm-year values"));
    for (int64_t k = 0; k < cur->n; k++) {
        const uint64_t *hist = pn->history + (size_t)(cur->firm[k] - pn->lo) * (size_t)pn->words;
        const int64_t *off = cur->off[KS_BASKET_EXPORTS];
        v->tradevalue[k] = tradevalue_of(cur->value[k]);
        v->size[k] = (int8_t)ks_size_group(v->tradevalue[k], pn->cuts[4 * y + 2], pn->cuts[4 * y + 3]);
        v->newexport[k] = y == 0 ? NAN
            : ks_newexport_value(ks_newexport_count(hist, cur->prod[KS_BASKET_EXPORTS] + off[k],
                                                    off[k + 1] - off[k]),
                                 job->newexport_transform);
    }
    return KS_OK;
}

static int exports_product(const ks_panel_year *cur, int64_t k, int32_t i)
{
    const int32_t *e = cur->prod[KS_BASKET_EXPORTS];
    int64_t lo = cur->off[KS_BASKET_EXPORTS][k], hi = cur->off[KS_BASKET_EXPORTS][k + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (e[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cur->off[KS_BASKET_EXPORTS][k + 1] && e[lo] == i;
}

/* A thread's lists of the products its current firm-year alone brings to
 * its group, per leave-one-out density (ks_density_sole): taken once per
 * firm-year instead of once per row (a scan of the basket a row was most of
 * the rows' time).  Without memory for them every row scans. */
typedef struct sole_cache {
    int32_t *list[KS_MAX_DENSITIES];
    int64_t n[KS_MAX_DENSITIES], k[KS_MAX_DENSITIES];
} sole_cache;

static double density_of_row(const ks_density_spec *s, const ks_scope_table *t, const ks_records *r,
                             const ks_density_phi *ph, const ks_cell_basis *b, int64_t k, int i, sole_cache *c,
                             int d)
{
    if (!c->list[d])
        return ks_density_cell(s, t, r, ph, b, k, i);
    if (c->k[d] != k) {
        c->n[d] = ks_density_sole(s, t, r, b, k, c->list[d]);
        c->k[d] = k;
    }
    return ks_density_cell_sole(s, t, r, ph, b, k, i, c->list[d], c->n[d]);
}

static void fill_rows(const ks_job *job, const ks_panel *pn, const ks_panel_year *cur,
                      const ks_panel_year *prev, const int64_t *prev_index,
                      const ks_density_hits *hits, const fy_values *v, ks_panel_rows *rows)
{
    const ks_records *r = &pn->rec;
    ks_cell_basis now = {cur, cur, NULL}, lagged = {cur, prev->year ? prev : NULL, prev_index};
    int y = cur->year - r->first_year;
    /* rows are independent: any split over threads gives the same bits */
    #pragma omp parallel
    {
        sole_cache c;
        memset(&c, 0, sizeof c);
        for (int d = 0; d < job->n_densities; d++) {
            const ks_density_spec *s = &job->densities[d];
            c.k[d] = -1;
            if (d != pn->sample && s->leave_one_out && s->scope != KS_SCOPE_FIRM && s->scope != KS_SCOPE_CITY_HS2)
                c.list[d] = malloc(sizeof *c.list[d] * (size_t)(pn->ph.p > 0 ? pn->ph.p : 1));
        }
        #pragma omp for schedule(static)
        for (int64_t e = 0; e < hits->n; e++) {
            int64_t k = hits->item[e];
            int i = hits->product[e], c_ = cur->city[k];
            rows->firm[e] = cur->firm[k];
            rows->year[e] = (int16_t)cur->year;
            rows->product[e] = r->hs4[i];
            rows->industry[e] = r->hs2[i];
            rows->city[e] = c_ >= 0 ? r->city_code[c_] : -1;
            rows->province[e] = (int16_t)(c_ >= 0 ? r->city_province[c_] : -1);
            rows->region[e] = (int8_t)(c_ >= 0 ? r->city_region[c_] : -1);
            rows->market[e] = c_ >= 0 ? pn->market[(size_t)y * (size_t)r->n_cities + (size_t)c_] : -1;
            rows->size[e] = v->size[k];
            rows->exported[e] = (int8_t)exports_product(cur, k, i);
            rows->tradevalue[e] = v->tradevalue[k];
            rows->newexport[e] = v->newexport[k];
            for (int d = 0; d < job->n_densities; d++) {
                const ks_density_spec *s = &job->densities[d];
                rows->density[d][e] = d == pn->sample ? hits->value[e]
                    : density_of_row(s, pn->table_of[d] >= 0 ? &pn->tables[pn->table_of[d]] : NULL, r, &pn->ph,
                                     s->lag ? &lagged : &now, k, i, &c, d);
            }
        }
        for (int d = 0; d < job->n_densities; d++)
            free(c.list[d]);
    }
}

static int year_rows(ks_ctx *ctx, const ks_job *job, ks_panel *pn, const ks_panel_year *cur,
                     const ks_panel_year *prev, const int64_t *prev_index, ks_panel_rows *rows)
{
    ks_density_hits hits;
    fy_values v;
    int rc;
    memset(rows, 0, sizeof *rows);
    memset(&v, 0, sizeof v);
    KS_CHECK(select_cells(ctx, job, pn, cur, prev, prev_index, &hits));
    KS_TRY(rc, firm_year_values(ctx, job, pn, cur, &v), done);
    KS_TRY(rc, ks_panel_rows_alloc(ctx, rows, hits.n, job->n_densities), done);
    fill_rows(job, pn, cur, prev, prev_index, &hits, &v, rows);
done:
    ks_density_hits_free(&hits);
    fy_values_free(&v);
    return rc;
}

static int load_year(ks_ctx *ctx, ks_panel *pn, int year, ks_panel_year *cur)
{
    ks_flow_block flows;
    ks_partner_block by_partner;
    int rc = ks_records_read_flows(ctx, &pn->rec, year, pn->lo, pn->hi, &flows);
    memset(&by_partner, 0, sizeof by_partner);
    if (rc == KS_OK && pn->filters.n > 0)
        rc = ks_records_read_partner_imports(ctx, &pn->rec, year, pn->lo, pn->hi, &by_partner);
    if (rc == KS_OK)
        rc = ks_panel_year_build(ctx, &pn->rec, &pn->fyb, &flows,
                                 pn->filters.n > 0 ? &pn->filters : NULL, &by_partner, year, cur);
    ks_flow_block_free(&flows);
    ks_partner_block_free(&by_partner);
    if (rc == KS_OK)
        rc = ks_panel_phi_read(ctx, pn->rel, pn->rel_path, year, pn->ph.p, pn->phi);
    if (rc == KS_OK)
        ks_density_prepare(pn->phi, pn->ph.p, pn->phi_t, pn->rowsum);
    return rc;
}

static int write_city_table(ks_ctx *ctx, const ks_job *job, ks_panel *pn, int year)
{
    const ks_scope_table *t;
    char spec[160];
    size_t p = (size_t)pn->ph.p;
    if (pn->city_decl < 0)
        return KS_OK;
    t = &pn->tables[pn->table_of[pn->city_decl]];
    for (size_t c = 0; c < (size_t)pn->rec.n_cities; c++)
        for (size_t i = 0; i < p; i++)
            pn->city_values[c * p + i] = t->available ? ks_density_ratio(t->acc[c * p + i], pn->rowsum[i]) : NAN;
    ks_density_spec_text(&job->densities[pn->city_decl], spec, sizeof spec);
    return ks_panel_out_city(ctx, &pn->out, spec, year, pn->city_values, pn->rec.n_cities, pn->ph.p);
}

static int run_year(ks_ctx *ctx, const ks_job *job, ks_panel *pn, int year, ks_panel_year *cur,
                    const ks_panel_year *prev, int64_t *rows_local)
{
    int64_t *prev_index = NULL;
    ks_panel_rows rows;
    double t0 = ks_now(), t1, t2, t3;
    int rc = load_year(ctx, pn, year, cur);
    memset(&rows, 0, sizeof rows);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &prev_index, (size_t)cur->n + 1, sizeof *prev_index, "lag index");
    if (rc == KS_OK)
        ks_panel_year_match(cur, prev->year ? prev : NULL, prev_index);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    t1 = ks_now();
    for (int t = 0; t < pn->n_tables; t++) {
        ks_scope_table *tab = &pn->tables[t];
        const ks_panel_year *basis = tab->lag ? (prev->year ? prev : NULL) : cur;
        KS_TRY(rc, ks_scope_build(ctx, &pn->rec, &pn->ph, pn->chapter_first, pn->chapter_end,
                                  basis, tab), done);
    }
    t2 = ks_now();
    rc = year_rows(ctx, job, pn, cur, prev, prev_index, &rows);
    t3 = ks_now();
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    KS_TRY(rc, ks_panel_out_year(ctx, &pn->out, &rows), done);
    KS_TRY(rc, write_city_table(ctx, job, pn, year), done);
    pn->seconds[0] += t1 - t0;
    pn->seconds[1] += t2 - t1;
    pn->seconds[2] += t3 - t2;
    pn->seconds[3] += ks_now() - t3;
    ks_debug(ctx, "panel %d: %lld firm-years, %lld rows; load %.2f s, scopes %.2f s, rows "
             "%.2f s, write %.2f s", year, (long long)cur->n, (long long)rows.n, t1 - t0,
             t2 - t1, t3 - t2, ks_now() - t3);
    /* the year's exports join each firm's history only after its newexport */
    for (int64_t k = 0; k < cur->n; k++)
        ks_newexport_remember(pn->history + (size_t)(cur->firm[k] - pn->lo) * (size_t)pn->words,
                              cur->prod[KS_BASKET_EXPORTS] + cur->off[KS_BASKET_EXPORTS][k],
                              cur->off[KS_BASKET_EXPORTS][k + 1] - cur->off[KS_BASKET_EXPORTS][k]);
    *rows_local += rows.n;
done:
    ks_panel_rows_free(&rows);
    free(prev_index);
    return rc;
}

/* ---- the stage ---- */

static void panel_free(ks_panel *pn)
{
    for (int t = 0; t < pn->n_tables; t++)
        ks_scope_clear(&pn->tables[t]);
    ks_firm_year_block_free(&pn->fyb);
    free(pn->market);
    free(pn->cuts);
    free(pn->history);
    free(pn->phi);
    free(pn->phi_t);
    free(pn->rowsum);
    free(pn->city_values);
    if (pn->rel > 0)
        H5Fclose(pn->rel);
    ks_records_close(&pn->rec);
    for (int k = 0; k < pn->filters.n; k++)
        free(pn->filters.member[k]);
}

static int run_years(ks_ctx *ctx, const ks_job *job, ks_panel *pn, int64_t *rows)
{
    ks_panel_year years[2];
    ks_progress prog;
    int rc = KS_OK;
    memset(years, 0, sizeof years);
    ks_progress_start(&prog, "panel", "years", pn->n_years, "years", 1);
    for (int y = 0; y < pn->n_years && rc == KS_OK; y++) {
        ks_panel_year *cur = &years[y % 2], *prev = &years[(y + 1) % 2];
        ks_panel_year_free(cur);
        rc = run_year(ctx, job, pn, pn->rec.first_year + y, cur, prev, rows);
        ks_progress_update(ctx, &prog, y + 1, (double)pn->out.rows);
    }
    if (rc == KS_OK)
        ks_progress_finish(ctx, &prog, pn->n_years, (double)pn->out.rows);
    ks_panel_year_free(&years[0]);
    ks_panel_year_free(&years[1]);
    return rc;
}

int ks_panel_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_job work = *job; /* a shallow working copy: partner filters renumber baskets */
    ks_panel pn;
    double t0 = ks_now();
    int64_t rows_local = 0, peak[2];
    int rc, created = 0;
    memset(&pn, 0, sizeof pn);
    pn.rel = H5I_INVALID_HID;
    KS_CHECK(check_declarations(ctx, job));
    rc = open_inputs(ctx, &work, &pn);
    if (rc == KS_OK) {
        rc = ks_panel_out_create(ctx, job, &pn.rec, pn.lo, pn.hi, pn.cuts, &pn.out);
        created = 1;
    }
    if (rc == KS_OK)
        rc = run_years(ctx, &work, &pn, &rows_local);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, ks_stamp_write_h5(ctx, pn.out.file.id, stamp));
    if (rc == KS_OK)
        rc = ks_panel_out_commit(ctx, &pn.out);
    else if (created)
        ks_panel_out_abort(ctx, &pn.out);
    if (rc == KS_OK) {
        peak[0] = ks_peak_memory_kb();
        peak[1] = rows_local;
        rc = ks_mpi_max_i64(ctx, peak, 2);
    }
    if (rc == KS_OK)
        ks_info(ctx, "panel: %lld rows (%d years, %d density columns) in %s; %.1f s, "
                "%.0f rows/s, peak memory %.0f MB per rank (largest), at most %lld rows on a rank; "
                "rank 0 spent %.2f s reading, %.2f s on scope tables, %.2f s on densities and "
                "rows, %.2f s writing",
                (long long)pn.out.rows, pn.n_years, job->n_densities, pn.out.file.path,
                ks_now() - t0, (double)pn.out.rows / (ks_now() - t0 + 1e-9),
                (double)peak[0] / 1024.0, (long long)peak[1], pn.seconds[0], pn.seconds[1],
                pn.seconds[2], pn.seconds[3]);
    panel_free(&pn);
    return rc;
}
