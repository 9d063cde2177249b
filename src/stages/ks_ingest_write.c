/* ks_ingest_write.c - records.h5: products, cities, firms, firm-years, the
 * flows of each year, the ingest report (layout: docs/hdf5.md). */
#include <stdlib.h>
#include <string.h>

#include "ks_fs.h"
#include "ks_h5.h"
#include "ks_ingest_internal.h"
#include "ks_mpi.h"
#include "ks_radix.h"

#define KS_RECORDS_FORMAT_VERSION 1

/* This rank's firms in global order: sorted by (hash, id). */
typedef struct ks_firm_order {
    uint32_t *by_pos;   /* local id of the firm at each position */
    uint32_t *pos_of;   /* position of each local id */
    int64_t n, offset;  /* local count, global index of position 0 */
} ks_firm_order;

static int cmp_firm(const void *a, const void *b, void *arg)
{
    const ks_intern *firms = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint64_t hx = firms->hashes[x], hy = firms->hashes[y];
    size_t lx, ly;
    const char *sx, *sy;
    int c;
    if (hx != hy)
        return hx < hy ? -1 : 1;
    sx = ks_intern_str(firms, x, &lx);
    sy = ks_intern_str(firms, y, &ly);
    c = memcmp(sx, sy, lx < ly ? lx : ly);
    return c ? c : (lx < ly ? -1 : lx > ly);
}

/* This rank's firms (ks_firm_is_mine) in (hash, id) order; the others get
 * no position (pos_of UINT32_MAX). */
static int order_firms(ks_ctx *ctx, const ks_aggregates *agg, ks_firm_order *o)
{
    const ks_intern *firms = &agg->firms;
    memset(o, 0, sizeof *o);
    KS_CHECK(ks_calloc(ctx, &o->by_pos, firms->n + 1, sizeof *o->by_pos, "firm order"));
    KS_CHECK(ks_calloc(ctx, &o->pos_of, firms->n + 1, sizeof *o->pos_of, "firm order"));
    for (uint32_t i = 0; i < firms->n; i++) {
        o->pos_of[i] = UINT32_MAX;
        if (ks_firm_is_mine(ctx, agg, i))
            o->by_pos[o->n++] = i;
    }
    qsort_r(o->by_pos, (size_t)o->n, sizeof *o->by_pos, cmp_firm, (void *)firms);
    for (uint32_t p = 0; p < (uint32_t)o->n; p++)
        o->pos_of[o->by_pos[p]] = p;
    return ks_mpi_exscan_i64(ctx, o->n, &o->offset);
}

static void firm_order_free(ks_firm_order *o)
{
    free(o->by_pos);
    free(o->pos_of);
}

/* A table's entries re-keyed by firm position and sorted.  year_major:
 * (year, position, payload), the order of /flows; else (position, year,
 * payload), the order of /firm_years. */
typedef struct ks_sorted {
    uint64_t *key;
    int64_t *sum;
    size_t n;
} ks_sorted;

static void free_sorted(ks_sorted *t)
{
    free(t->key);
    free(t->sum);
    memset(t, 0, sizeof *t);
}

/* The entry (key, sum) of firm f re-keyed by its position, if it is mine. */
static inline int rekey(const ks_firm_order *o, int year_major, uint64_t k, uint64_t *out)
{
    uint64_t pos = o->pos_of[KS_KEY_FIRM(k)], year = (uint64_t)KS_KEY_YEAR(k), payload = KS_KEY_PAYLOAD(k);
    if (pos == UINT32_MAX)
        return 0; /* another rank's firm, sent to it by the exchange */
    *out = year_major ? year << 56 | pos << 24 | payload : pos << 32 | year << 24 | payload;
    return 1;
}

/* Table `table` of this rank's firms: its entries in agg->table's log
 * (freed here) and in the received segments, re-keyed by firm position,
 * sorted, and the sums of equal keys added. */
static int sort_table(ks_ctx *ctx, ks_aggregates *agg, int table, const ks_firm_order *o,
                      int year_major, ks_sorted *out)
{
    ks_sumlog *m = &agg->table[table];
    uint64_t *tmp_key = NULL;
    int64_t *tmp_sum = NULL;
    size_t n = 0, cap = m->n, kept = 0;
    memset(out, 0, sizeof *out);
    for (int s = 0; s < agg->nsegments; s++)
        cap += agg->segments[(size_t)s * KS_NAGG + (size_t)table].n;
    KS_CHECK(ks_calloc(ctx, &out->key, cap + 1, sizeof *out->key, "sorted aggregates"));
    KS_CHECK(ks_calloc(ctx, &out->sum, cap + 1, sizeof *out->sum, "sorted aggregates"));
    KS_CHECK(ks_calloc(ctx, &tmp_key, cap + 1, sizeof *tmp_key, "sort scratch"));
    if (ks_calloc(ctx, &tmp_sum, cap + 1, sizeof *tmp_sum, "sort scratch") != KS_OK) {
        free(tmp_key);
        return ctx->code;
    }
    for (size_t i = 0; i < m->n; i++)
        if (rekey(o, year_major, m->e[i].key, &out->key[n]))
            out->sum[n++] = m->e[i].sum;
    for (int s = 0; s < agg->nsegments; s++) {
        const ks_segment *seg = &agg->segments[(size_t)s * KS_NAGG + (size_t)table];
        for (size_t i = 0; i < seg->n; i++)
            if (rekey(o, year_major, seg->e[i].key, &out->key[n]))
                out->sum[n++] = seg->e[i].sum;
    }
    ks_radix_sort_pairs(out->key, out->sum, n, tmp_key, tmp_sum);
    for (size_t i = 0; i < n; i++) { /* a key logged twice, or parsed on two ranks */
        if (kept > 0 && out->key[kept - 1] == out->key[i]) {
            out->sum[kept - 1] += out->sum[i];
        } else {
            out->key[kept] = out->key[i];
            out->sum[kept++] = out->sum[i];
        }
    }
    out->n = kept;
    free(tmp_key);
    free(tmp_sum);
    ks_sumlog_free(m);
    return KS_OK;
}

/* ---- firm-years ---- */

typedef struct ks_firm_years {
    int64_t n;
    int32_t *firm, *city;
    int16_t *year;
    int8_t *ownership, *trader;
    int64_t *rows_kept;
    double *value_kept;
} ks_firm_years;

#define KS_FY_PREFIX(k) ((k) & ~(uint64_t)0xffffff)

/* Among the entries of table t at *at with firm-year prefix fy, the payload
 * with the largest sum (the smallest payload on ties: entries come in
 * ascending payload); -1 when there is none.  Advances *at past them. */
static int64_t largest_of(const ks_sorted *t, size_t *at, uint64_t fy)
{
    int64_t best = -1, best_sum = 0;
    while (*at < t->n && KS_FY_PREFIX(t->key[*at]) < fy)
        (*at)++;
    for (; *at < t->n && KS_FY_PREFIX(t->key[*at]) == fy; (*at)++)
        if (best < 0 || t->sum[*at] > best_sum) {
            best = (int64_t)(t->key[*at] & 0xffffff);
            best_sum = t->sum[*at];
        }
    return best;
}

/* The sum of table t for firm-year fy (payload 0), 0 when absent. */
static int64_t sum_of(const ks_sorted *t, size_t *at, uint64_t fy)
{
    while (*at < t->n && t->key[*at] < fy)
        (*at)++;
    return *at < t->n && t->key[*at] == fy ? t->sum[*at] : 0;
}


static int alloc_firm_years(ks_ctx *ctx, ks_firm_years *fy, int64_t n)
{
    size_t m = (size_t)n + 1;
    memset(fy, 0, sizeof *fy);
    fy->n = n;
    KS_CHECK(ks_calloc(ctx, &fy->firm, m, sizeof *fy->firm, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &fy->city, m, sizeof *fy->city, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &fy->year, m, sizeof *fy->year, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &fy->ownership, m, sizeof *fy->ownership, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &fy->trader, m, sizeof *fy->trader, "firm-years"));
    KS_CHECK(ks_calloc(ctx, &fy->rows_kept, m, sizeof *fy->rows_kept, "firm-years"));
    return ks_calloc(ctx, &fy->value_kept, m, sizeof *fy->value_kept, "firm-years");
}

static void free_firm_years(ks_firm_years *fy)
{
    free(fy->firm);
    free(fy->city);
    free(fy->year);
    free(fy->ownership);
    free(fy->trader);
    free(fy->rows_kept);
    free(fy->value_kept);
}

/* One row per firm-year with a well-formed row (the trader table has them
 * all), in (firm, year) order: one merge walk over the sorted tables. */
static int build_firm_years(ks_ctx *ctx, const ks_job *job, const ks_refdata *ref,
                            ks_aggregates *agg, const ks_firm_order *o, ks_firm_years *fy,
                            ks_report *report)
{
    enum { T, C, O, R, V, N };
    static const int table_of[N] = {KS_AGG_TRADER, KS_AGG_CITY, KS_AGG_OWNERSHIP, KS_AGG_ROWS, KS_AGG_VALUE};
    ks_sorted t[N];
    size_t at[N] = {0};
    int rc = KS_OK;
    memset(t, 0, sizeof t);
    for (int i = 0; i < N && rc == KS_OK; i++)
        rc = sort_table(ctx, agg, table_of[i], o, 0, &t[i]);
    if (rc == KS_OK)
        rc = alloc_firm_years(ctx, fy, (int64_t)t[T].n);
    for (size_t r = 0; rc == KS_OK && r < t[T].n; r++) {
        uint64_t key = t[T].key[r];
        int year_idx = KS_KEY_YEAR(key);
        int64_t city = largest_of(&t[C], &at[C], key), own = largest_of(&t[O], &at[O], key);
        fy->firm[r] = (int32_t)(o->offset + (int64_t)(key >> 32));
        fy->year[r] = (int16_t)(job->first_year + year_idx - 1);
        fy->city[r] = city >= 0 ? ref->cities[city].code4 : -1;
        fy->ownership[r] = (int8_t)(own >= 0 ? own : KS_OWN_OTHER);
        fy->trader[r] = (int8_t)(t[T].sum[r] > 0);
        fy->rows_kept[r] = sum_of(&t[R], &at[R], key);
        fy->value_kept[r] = (double)sum_of(&t[V], &at[V], key) / 1e6;
        if (fy->rows_kept[r] > 0)
            report->firms_kept[year_idx]++;
    }
    for (int i = 0; i < N; i++)
        free_sorted(&t[i]);
    return rc;
}

/* Distinct cities of the firm-years with kept rows, and distinct HS4
 * headings of /flows, per year: each rank marks its own, the marks are
 * combined over ranks (max of 0/1), and the report's data table reads the
 * counts instead of scanning records.h5. */
enum { KS_CITY_CODES = 10000 }; /* code4: 4-digit prefecture codes */

static int count_distinct(ks_ctx *ctx, const ks_job *job, const ks_refdata *ref, const ks_firm_years *fy,
                          const ks_sorted *flows, ks_report *report)
{
    const int ny = report->nyears, np = ref->products.n;
    int64_t *city = NULL, *product = NULL;
    int rc = ks_calloc(ctx, &city, (size_t)ny * KS_CITY_CODES, sizeof *city, "cities per year");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &product, (size_t)ny * (size_t)np, sizeof *product, "products per year");
    for (int64_t r = 0; rc == KS_OK && r < fy->n; r++) {
        int y = fy->year[r] - job->first_year + 1;
        if (fy->rows_kept[r] > 0 && fy->city[r] >= 0 && fy->city[r] < KS_CITY_CODES && y > 0 && y < ny)
            city[(size_t)y * KS_CITY_CODES + (size_t)fy->city[r]] = 1;
    }
    for (size_t i = 0; rc == KS_OK && i < flows->n; i++) {
        uint64_t k = flows->key[i];
        size_t y = (size_t)(k >> 56), prod = (size_t)((k & 0xffffff) >> 1); /* build_flows' key */
        if (y < (size_t)ny && prod < (size_t)np)
            product[y * (size_t)np + prod] = 1;
    }
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_mpi_max_i64(ctx, city, ny * KS_CITY_CODES);
    if (rc == KS_OK)
        rc = ks_mpi_max_i64(ctx, product, ny * np);
    for (int y = 0; rc == KS_OK && y < ny; y++) {
        report->cities[y] = report->products[y] = 0;
        for (int c = 0; c < KS_CITY_CODES; c++)
            report->cities[y] += city[(size_t)y * KS_CITY_CODES + (size_t)c];
        for (int q = 0; q < np; q++)
            report->products[y] += product[(size_t)y * (size_t)np + (size_t)q];
    }
    free(city);
    free(product);
    return rc;
}

/* ---- flows ---- */

typedef struct ks_flows {
    ks_sorted sorted;    /* key: year_idx << 56 | position << 24 | product << 1 | flow */
    int64_t *year_start; /* [nyears + 2] */
} ks_flows;

static int build_flows(ks_ctx *ctx, ks_aggregates *agg, int table, const ks_firm_order *o, int nyears,
                       ks_flows *fl)
{
    memset(fl, 0, sizeof *fl);
    KS_CHECK(sort_table(ctx, agg, table, o, 1, &fl->sorted));
    KS_CHECK(ks_calloc(ctx, &fl->year_start, (size_t)nyears + 3, sizeof *fl->year_start, "flows"));
    for (size_t i = 0; i < fl->sorted.n; i++)
        fl->year_start[(fl->sorted.key[i] >> 56) + 1]++;
    for (int y = 0; y <= nyears; y++)
        fl->year_start[y + 1] += fl->year_start[y];
    return KS_OK;
}

static void free_flows(ks_flows *fl)
{
    free_sorted(&fl->sorted);
    free(fl->year_start);
}

/* A year-major sorted table (ks_flows) as /<group>/<YYYY>/{firm, hs4,
 * <third>, value_usd}: each rank writes its firms' block of each year, at the
 * offset of the ranks before it.  The payload holds (product, flow) for
 * /flows and (product, partner) for /partner_imports. */
typedef enum { KS_YEARLY_FLOWS, KS_YEARLY_PARTNERS } ks_yearly_kind;

static int write_year(ks_ctx *ctx, hid_t file, const char *group, int year, const ks_refdata *ref,
                      const ks_flows *fl, int y, const ks_firm_order *o, ks_yearly_kind kind,
                      int64_t *total_out)
{
    int64_t lo = fl->year_start[y], n = fl->year_start[y + 1] - lo, offset = 0, total = n;
    int32_t *firm = NULL, *hs4 = NULL;
    int16_t *third = NULL;
    double *value = NULL;
    char name[64];
    hid_t g = H5I_INVALID_HID;
    int rc;
    KS_CHECK(ks_mpi_exscan_i64(ctx, n, &offset));
    KS_CHECK(ks_mpi_sum_i64(ctx, &total, 1));
    *total_out = total;
    rc = ks_calloc(ctx, &firm, (size_t)n + 1, sizeof *firm, group);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &hs4, (size_t)n + 1, sizeof *hs4, group);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &third, (size_t)n + 1, sizeof *third, group);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &value, (size_t)n + 1, sizeof *value, group);
    for (int64_t i = 0; rc == KS_OK && i < n; i++) {
        uint64_t k = fl->sorted.key[lo + i];
        uint32_t payload = (uint32_t)(k & 0xffffff);
        int shift = kind == KS_YEARLY_FLOWS ? 1 : 13;
        firm[i] = (int32_t)(o->offset + (int64_t)((k >> 24) & 0xffffffff));
        hs4[i] = ref->products.hs4[payload >> shift];
        third[i] = (int16_t)(payload & ((1u << shift) - 1));
        value[i] = (double)fl->sorted.sum[lo + i] / 1e6;
    }
    rc = ks_mpi_agree(ctx, rc);
    snprintf(name, sizeof name, "%s/%d", group, year);
    if (rc == KS_OK)
        rc = ks_h5_group(ctx, file, name, &g);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "firm", H5T_NATIVE_INT32, firm, n, offset, total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "hs4", H5T_NATIVE_INT32, hs4, n, offset, total);
    if (rc == KS_OK && kind == KS_YEARLY_FLOWS) {
        int8_t *flow = (int8_t *)third; /* narrow in place: 0 import, 1 export */
        for (int64_t i = 0; i < n; i++)
            flow[i] = (int8_t)third[i];
        rc = ks_h5_write_column(ctx, g, "flow", H5T_NATIVE_INT8, flow, n, offset, total);
    } else if (rc == KS_OK) {
        rc = ks_h5_write_column(ctx, g, "partner", H5T_NATIVE_INT16, third, n, offset, total);
    }
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "value_usd", H5T_NATIVE_DOUBLE, value, n, offset, total);
    if (rc == KS_OK)
        rc = ks_h5_attr_i64(ctx, g, "year", year);
    if (g >= 0)
        H5Gclose(g);
    free(firm);
    free(hs4);
    free(third);
    free(value);
    return rc;
}

static int write_yearly(ks_ctx *ctx, hid_t file, const char *group, const ks_job *job,
                        const ks_refdata *ref, const ks_flows *fl, const ks_firm_order *o,
                        ks_yearly_kind kind, int64_t *totals)
{
    int nyears = job->last_year - job->first_year + 1;
    for (int y = 1; y <= nyears; y++) {
        int64_t total = 0;
        KS_CHECK(write_year(ctx, file, group, job->first_year + y - 1, ref, fl, y, o, kind, &total));
        if (totals)
            totals[y] = total;
    }
    return KS_OK;
}

static int write_firms(ks_ctx *ctx, hid_t file, const ks_aggregates *agg, const ks_firm_order *o,
                       const ks_firm_years *fy)
{
    const char **ids = NULL;
    char *copies = NULL;
    size_t at = 0;
    int64_t total = o->n, fy_total = fy->n, fy_offset = 0;
    hid_t g = H5I_INVALID_HID;
    int rc;
    KS_CHECK(ks_mpi_sum_i64(ctx, &total, 1));
    KS_CHECK(ks_calloc(ctx, &ids, (size_t)o->n + 1, sizeof *ids, "firm ids"));
    rc = ks_calloc(ctx, &copies, agg->firms.bytes_len + (size_t)o->n + 1, 1, "firm ids");
    for (int64_t p = 0; rc == KS_OK && p < o->n; p++) {
        size_t len;
        const char *s = ks_intern_str(&agg->firms, o->by_pos[p], &len);
        memcpy(copies + at, s, len);
        ids[p] = copies + at;
        at += len + 1;
    }
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_h5_group(ctx, file, "firms", &g);
    if (rc == KS_OK)
        rc = ks_h5_write_strings(ctx, g, "id", ids, o->n, o->offset, total);
    if (g >= 0)
        H5Gclose(g);
    free(ids);
    free(copies);
    g = H5I_INVALID_HID;
    KS_CHECK(rc);
    KS_CHECK(ks_mpi_exscan_i64(ctx, fy->n, &fy_offset));
    KS_CHECK(ks_mpi_sum_i64(ctx, &fy_total, 1));
    KS_CHECK(ks_h5_group(ctx, file, "firm_years", &g));
    rc = ks_h5_write_column(ctx, g, "firm", H5T_NATIVE_INT32, fy->firm, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "year", H5T_NATIVE_INT16, fy->year, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "city", H5T_NATIVE_INT32, fy->city, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "ownership", H5T_NATIVE_INT8, fy->ownership, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "trader", H5T_NATIVE_INT8, fy->trader, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "rows_kept", H5T_NATIVE_INT64, fy->rows_kept, fy->n, fy_offset, fy_total);
    if (rc == KS_OK)
        rc = ks_h5_write_column(ctx, g, "value_kept_usd", H5T_NATIVE_DOUBLE, fy->value_kept, fy->n, fy_offset, fy_total);
    H5Gclose(g);
    return rc;
}

static int write_products(ks_ctx *ctx, hid_t file, const ks_refdata *ref)
{
    const ks_products *p = &ref->products;
    hid_t g;
    int rc;
    KS_CHECK(ks_h5_group(ctx, file, "products", &g));
    rc = ks_h5_write_root(ctx, g, "hs4", H5T_NATIVE_INT32, p->hs4, p->n);
    if (rc == KS_OK)
        rc = ks_h5_write_root(ctx, g, "hs2", H5T_NATIVE_INT16, p->hs2, p->n);
    if (rc == KS_OK)
        rc = ks_h5_write_strings(ctx, g, "description", (const char *const *)p->desc,
                                 ctx->rank == 0 ? p->n : 0, 0, p->n);
    H5Gclose(g);
    return rc;
}

static int write_cities(ks_ctx *ctx, hid_t file, const ks_refdata *ref)
{
    int n = ref->n_cities, rc = KS_OK;
    int32_t *code = NULL, *province = NULL;
    int8_t *region = NULL;
    double *lon = NULL, *lat = NULL;
    const char **name = NULL;
    hid_t g = H5I_INVALID_HID;
    KS_TRY(rc, ks_calloc(ctx, &code, (size_t)n, sizeof *code, "cities"), out);
    KS_TRY(rc, ks_calloc(ctx, &province, (size_t)n, sizeof *province, "cities"), out);
    KS_TRY(rc, ks_calloc(ctx, &region, (size_t)n, sizeof *region, "cities"), out);
    KS_TRY(rc, ks_calloc(ctx, &lon, (size_t)n, sizeof *lon, "cities"), out);
    KS_TRY(rc, ks_calloc(ctx, &lat, (size_t)n, sizeof *lat, "cities"), out);
    KS_TRY(rc, ks_calloc(ctx, &name, (size_t)n, sizeof *name, "cities"), out);
    for (int i = 0; i < n; i++) {
        code[i] = ref->cities[i].code4;
        province[i] = ref->cities[i].province;
        region[i] = ref->cities[i].region;
        lon[i] = ref->cities[i].lon;
        lat[i] = ref->cities[i].lat;
        name[i] = ref->cities[i].name;
    }
    KS_TRY(rc, ks_h5_group(ctx, file, "cities", &g), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "code", H5T_NATIVE_INT32, code, n), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "province", H5T_NATIVE_INT32, province, n), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "region", H5T_NATIVE_INT8, region, n), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "name", name, ctx->rank == 0 ? n : 0, 0, n), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "lon", H5T_NATIVE_DOUBLE, lon, n), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "lat", H5T_NATIVE_DOUBLE, lat, n), out);
out:
    if (g >= 0)
        H5Gclose(g);
    free(code);
    free(province);
    free(region);
    free(lon);
    free(lat);
    free(name);
    return rc;
}

/* Provinces, region names and ownership names: the code tables of the file. */
static int write_code_tables(ks_ctx *ctx, hid_t file, const ks_refdata *ref)
{
    int n = ref->n_provinces, rc = KS_OK;
    int32_t code[100];
    int8_t region[100], own_code[KS_NOWNERSHIP];
    const char *zh[100], *en[100], *regions[KS_NREGIONS], *own[KS_NOWNERSHIP], *own_zh[KS_NOWNERSHIP];
    hid_t g = H5I_INVALID_HID;
    for (int i = 0; i < n && i < 100; i++) {
        code[i] = ref->provinces[i].code;
        region[i] = ref->provinces[i].region;
        zh[i] = ref->provinces[i].name_zh;
        en[i] = ref->provinces[i].name_en;
    }
    for (int r = 0; r < KS_NREGIONS; r++)
        regions[r] = ks_region_name(r);
    for (int o = 0; o < KS_NOWNERSHIP; o++) {
        own_code[o] = (int8_t)o;
        own[o] = ks_ownership_name(o);
        own_zh[o] = ks_ownership_label_zh(o);
    }
    KS_TRY(rc, ks_h5_group(ctx, file, "provinces", &g), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "code", H5T_NATIVE_INT32, code, n), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "region", H5T_NATIVE_INT8, region, n), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "name_zh", zh, ctx->rank == 0 ? n : 0, 0, n), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "name_en", en, ctx->rank == 0 ? n : 0, 0, n), out);
    H5Gclose(g);
    g = H5I_INVALID_HID;
    KS_TRY(rc, ks_h5_group(ctx, file, "regions", &g), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "name", regions, ctx->rank == 0 ? KS_NREGIONS : 0, 0, KS_NREGIONS), out);
    H5Gclose(g);
    g = H5I_INVALID_HID;
    KS_TRY(rc, ks_h5_group(ctx, file, "ownership", &g), out);
    KS_TRY(rc, ks_h5_write_root(ctx, g, "code", H5T_NATIVE_INT8, own_code, KS_NOWNERSHIP), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "name", own, ctx->rank == 0 ? KS_NOWNERSHIP : 0, 0, KS_NOWNERSHIP), out);
    KS_TRY(rc, ks_h5_write_strings(ctx, g, "label_zh", own_zh, ctx->rank == 0 ? KS_NOWNERSHIP : 0, 0, KS_NOWNERSHIP), out);
out:
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

/* The report's columns, in the order of truth_counts.csv of synth. */
static int write_report(ks_ctx *ctx, hid_t file, const ks_job *job, const ks_report *r)
{
    int ny = r->nyears, rc = KS_OK;
    int32_t year[256];
    int64_t col[256];
    hid_t g;
    KS_CHECK(ks_h5_group(ctx, file, "ingest_report", &g));
    for (int y = 0; y < ny; y++)
        year[y] = y ? job->first_year + y - 1 : 0;
    rc = ks_h5_write_root(ctx, g, "year", H5T_NATIVE_INT32, year, ny);
    for (int c = -2; rc == KS_OK && c < KS_NREASONS + 6; c++) {
        const char *name;
        if (c == 0)
            continue; /* "kept" is written as c == -1 */
        for (int y = 0; y < ny; y++)
            col[y] = c == -2 ? KS_REPORT_AT(r, y, KS_COUNT_ROWS)
                   : c == -1 ? KS_REPORT_AT(r, y, KS_ROW_KEPT)
                   : c < KS_NREASONS ? KS_REPORT_AT(r, y, c)
                   : c == KS_NREASONS ? KS_REPORT_AT(r, y, KS_COUNT_SPLIT)
                   : c == KS_NREASONS + 1 ? r->flows[y]
                   : c == KS_NREASONS + 2 ? KS_REPORT_AT(r, y, KS_COUNT_VALUE)
                   : c == KS_NREASONS + 3 ? r->firms_kept[y]
                   : c == KS_NREASONS + 4 ? r->cities[y]
                   : r->products[y];
        name = c == -2 ? "rows" : c == -1 ? "kept" : c < KS_NREASONS ? ks_reason_name(c)
             : c == KS_NREASONS ? "split_rows" : c == KS_NREASONS + 1 ? "flows"
             : c == KS_NREASONS + 2 ? "value_kept_micro" : c == KS_NREASONS + 3 ? "firms_kept"
             : c == KS_NREASONS + 4 ? "cities" : "products";
        rc = ks_h5_write_root(ctx, g, name, H5T_NATIVE_INT64, col, ny);
    }
    if (rc == KS_OK)
        rc = ks_h5_attr_string(ctx, g, "note", "row 0 counts rows with no valid year; "
                               "value_kept_micro is in 1e-6 USD; see docs/hdf5.md");
    H5Gclose(g);
    return rc;
}

static int write_inputs(ks_ctx *ctx, hid_t file, const ks_inputs *in)
{
    const char *paths[4096], *enc[4096];
    int64_t bytes[4096];
    int n = in->n < 4096 ? in->n : 4096, rc;
    hid_t g;
    for (int i = 0; i < n; i++) {
        paths[i] = in->files[i].path;
        enc[i] = in->files[i].encoding == KS_ENC_GBK ? "gbk" : "utf-8";
        bytes[i] = (int64_t)in->files[i].size;
    }
    KS_CHECK(ks_h5_group(ctx, file, "inputs", &g));
    rc = ks_h5_write_strings(ctx, g, "path", paths, ctx->rank == 0 ? n : 0, 0, n);
    if (rc == KS_OK)
        rc = ks_h5_write_strings(ctx, g, "encoding", enc, ctx->rank == 0 ? n : 0, 0, n);
    if (rc == KS_OK)
        rc = ks_h5_write_root(ctx, g, "bytes", H5T_NATIVE_INT64, bytes, n);
    H5Gclose(g);
    return rc;
}

static int write_root_attrs(ks_ctx *ctx, hid_t file, const ks_job *job)
{
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_format", "records"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "format_version", KS_RECORDS_FORMAT_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_version", KS_VERSION));
    KS_CHECK(ks_h5_attr_string(ctx, file, "job", job->name));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "first_year", job->first_year));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "last_year", job->last_year));
    KS_CHECK(ks_h5_attr_string(ctx, file, "product_classification", "HS2007 headings (4 digits)"));
    KS_CHECK(ks_h5_attr_string(ctx, file, "split_rule",
                               "a code mapping to several HS2007 headings is split equally among them"));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "drop_traders", job->drop_traders));
    return ks_h5_attr_i64(ctx, file, "drop_processing", job->drop_processing);
}

/* /partners/name: the partner countries, sorted; /partner_imports/.../partner
 * indexes it.  Empty when the input has no partner_country column. */
static int write_partners(ks_ctx *ctx, hid_t file, const ks_strlist *partners)
{
    hid_t g;
    int rc;
    int64_t n = (int64_t)partners->n;
    KS_CHECK(ks_h5_group(ctx, file, "partners", &g));
    rc = ks_h5_write_strings(ctx, g, "name", (const char *const *)partners->items,
                             ctx->rank == 0 ? n : 0, 0, n);
    H5Gclose(g);
    return rc;
}

int ks_ingest_write(ks_ctx *ctx, const ks_job *job, const ks_refdata *ref, const ks_inputs *in,
                    ks_aggregates *agg, const ks_strlist *partners, ks_report *report,
                    const ks_stamp *stamp, const char *path)
{
    ks_firm_order order = {0};
    ks_firm_years fy = {0};
    ks_flows flows = {0}, partner_flows = {0};
    ks_h5_file out = {.id = H5I_INVALID_HID};
    int nyears = report->nyears - 1, rc;
    double t_lap = ks_now();
    rc = order_firms(ctx, agg, &order);
    if (rc == KS_OK)
        rc = build_flows(ctx, agg, KS_AGG_FLOWS, &order, nyears, &flows);
    if (rc == KS_OK)
        rc = build_flows(ctx, agg, KS_AGG_PARTNER, &order, nyears, &partner_flows);
    if (rc == KS_OK)
        rc = build_firm_years(ctx, job, ref, agg, &order, &fy, report);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    ks_debug_lap(ctx, "ingest", "the sorted tables", &t_lap);
    KS_TRY(rc, ks_mpi_sum_i64(ctx, report->firms_kept, report->nyears), done);
    KS_TRY(rc, count_distinct(ctx, job, ref, &fy, &flows.sorted, report), done);
    KS_TRY(rc, ks_mpi_agree(ctx, ks_h5_create(ctx, &out, path)), done);
    rc = write_root_attrs(ctx, out.id, job);
    if (rc == KS_OK)
        rc = write_products(ctx, out.id, ref);
    if (rc == KS_OK)
        rc = write_cities(ctx, out.id, ref);
    if (rc == KS_OK)
        rc = write_code_tables(ctx, out.id, ref);
    if (rc == KS_OK)
        rc = write_inputs(ctx, out.id, in);
    if (rc == KS_OK)
        rc = write_firms(ctx, out.id, agg, &order, &fy);
    ks_debug_lap(ctx, "ingest", "/firms and /firm_years", &t_lap);
    if (rc == KS_OK)
        rc = write_yearly(ctx, out.id, "flows", job, ref, &flows, &order, KS_YEARLY_FLOWS, report->flows);
    ks_debug_lap(ctx, "ingest", "/flows", &t_lap);
    if (rc == KS_OK)
        rc = write_partners(ctx, out.id, partners);
    if (rc == KS_OK)
        rc = write_yearly(ctx, out.id, "partner_imports", job, ref, &partner_flows, &order,
                          KS_YEARLY_PARTNERS, NULL);
    if (rc == KS_OK)
        rc = write_report(ctx, out.id, job, report);
    if (rc == KS_OK)
        rc = ks_stamp_write_h5(ctx, out.id, stamp); /* last: its wall time covers the writing */
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_h5_commit(ctx, &out);
    else
        ks_h5_abort(ctx, &out);
done:
    firm_order_free(&order);
    free_firm_years(&fy);
    free_flows(&flows);
    free_flows(&partner_flows);
    return rc;
}

/* The rejects file (CSV: file, line, reason, record), written collectively:
 * rank order is file order, so its content does not depend on the ranks. */
int ks_ingest_write_rejects(ks_ctx *ctx, const char *path, const ks_buf *rejects)
{
    static const char header[] = "file,line,reason,record\n";
    char tmp[KS_PATH_MAX + 16];
    int64_t mine = (int64_t)rejects->len, offset = 0;
    int rc = KS_OK;
    KS_CHECK(ks_fs_partial_name(ctx, path, tmp, sizeof tmp));
    KS_CHECK(ks_mpi_exscan_i64(ctx, mine, &offset));
    if (ctx->comm == MPI_COMM_NULL) {
        FILE *f = fopen(tmp, "wb");
        if (!f || fwrite(header, 1, sizeof header - 1, f) != sizeof header - 1 ||
            (mine && fwrite(rejects->data, 1, (size_t)mine, f) != (size_t)mine))
            rc = ks_fail(ctx, KS_EIO, "cannot write %s", tmp);
        if (f && fclose(f) != 0 && rc == KS_OK)
            rc = ks_fail(ctx, KS_EIO, "cannot write %s", tmp);
    } else {
        MPI_File fh;
        if (MPI_File_open(ctx->comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EIO, "cannot create %s", tmp);
        rc = ks_mpi_agree(ctx, rc);
        if (rc != KS_OK)
            return rc;
        MPI_File_set_size(fh, 0);
        if (mine > INT32_MAX)
            rc = ks_fail(ctx, KS_EIO, "more than 2 GiB of rejected rows on rank %d", ctx->rank);
        else if (MPI_File_write_at_all(fh, (MPI_Offset)(sizeof header - 1 + (size_t)offset),
                                       rejects->data, (int)mine, MPI_BYTE, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EIO, "cannot write %s", tmp);
        if (ctx->rank == 0 && rc == KS_OK &&
            MPI_File_write_at(fh, 0, header, (int)sizeof header - 1, MPI_BYTE, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            rc = ks_fail(ctx, KS_EIO, "cannot write %s", tmp);
        MPI_File_close(&fh);
    }
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (ctx->rank == 0 && rename(tmp, path) != 0)
        rc = ks_fail(ctx, KS_EIO, "cannot rename %s to %s", tmp, path);
    return ks_mpi_agree(ctx, rc);
}

void ks_ingest_print_report(const ks_ctx *ctx, const ks_job *job, const ks_report *r)
{
    int64_t tot[10] = {0};
    if (ctx->rank != 0)
        return;
    printf("\nIngest report (rows of the input; dropped rows by reason)\n\n");
    printf("| year | rows read | kept | bad | trader | processing | unknown city | unmapped HS | split | flows |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int y = 0; y < r->nyears; y++) {
        int64_t bad = 0, v[10];
        for (int c = KS_FIRST_BAD; c <= KS_LAST_BAD; c++)
            bad += KS_REPORT_AT(r, y, c);
        v[0] = KS_REPORT_AT(r, y, KS_COUNT_ROWS);
        v[1] = KS_REPORT_AT(r, y, KS_ROW_KEPT);
        v[2] = bad;
        v[3] = KS_REPORT_AT(r, y, KS_DROP_TRADER);
        v[4] = KS_REPORT_AT(r, y, KS_DROP_PROCESSING);
        v[5] = KS_REPORT_AT(r, y, KS_DROP_UNKNOWN_CITY);
        v[6] = KS_REPORT_AT(r, y, KS_DROP_UNMAPPED_HS);
        v[7] = KS_REPORT_AT(r, y, KS_COUNT_SPLIT);
        v[8] = r->flows[y];
        if (y == 0 && v[0] == 0)
            continue;
        if (y == 0)
            printf("| no valid year ");
        else
            printf("| %d ", job->first_year + y - 1);
        for (int k = 0; k < 9; k++) {
            printf("| %lld ", (long long)v[k]);
            tot[k] += v[k];
        }
        printf("|\n");
    }
    printf("| **total** ");
    for (int k = 0; k < 9; k++)
        printf("| **%lld** ", (long long)tot[k]);
    printf("|\n\n");
    fflush(stdout);
}
