/* ks_synth_rows.c - the rows of one firm-year: each traded product becomes
 * 1-4 rows (months, partner countries) that ingest must sum; a few rows get
 * one planted fault; and every row is counted under the reason ks_customs.h
 * gives it, in the order of checks it defines. */
#include "ks_synth_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const column_headers[KS_SYNTH_NCOLUMNS] = {
    "年份", "企业编码", "企业名称", "进口或出口", "商品编码", "金额",
    "贸易方式", "企业性质", "城市代码", "贸易国", "月份"};

const char *ks_synth_column_header(int column)
{
    return column >= 0 && column < KS_SYNTH_NCOLUMNS ? column_headers[column] : "";
}

int ks_synth_csv_header(ks_ctx *ctx, ks_buf *buf)
{
    for (int c = 0; c < KS_SYNTH_NCOLUMNS; c++)
        KS_CHECK(ks_buf_printf(ctx, buf, "%s%s", c ? "," : "", column_headers[c]));
    return ks_buf_append(ctx, buf, "\n", 1);
}

/* Planted fault kinds; each gives one reason (see fault_reason). */
enum {
    FV_FIELDS_SHORT, FV_FIELDS_LONG, FV_YEAR_TEXT, FV_YEAR_EARLY, FV_YEAR_LATE, FV_FIRM_EMPTY,
    FV_FLOW, FV_HS_5, FV_HS_7, FV_HS_LETTERS, FV_VALUE_TEXT, FV_VALUE_NEGATIVE,
    FV_CITY_LETTERS, FV_CITY_5, FV_N_BAD,
    FV_UNKNOWN_CITY = FV_N_BAD, FV_UNMAPPED_HS, FV_N, FV_NONE = -1
};

static int fault_reason(int fv)
{
    static const int reason[FV_N] = {
        KS_BAD_FIELD_COUNT, KS_BAD_FIELD_COUNT, KS_BAD_YEAR, KS_BAD_YEAR_RANGE, KS_BAD_YEAR_RANGE,
        KS_BAD_FIRM_ID, KS_BAD_FLOW, KS_BAD_HS_CODE, KS_BAD_HS_CODE, KS_BAD_HS_CODE,
        KS_BAD_VALUE, KS_BAD_NEGATIVE, KS_BAD_CITY_CODE, KS_BAD_CITY_CODE,
        KS_DROP_UNKNOWN_CITY, KS_DROP_UNMAPPED_HS};
    return reason[fv];
}

/* A fault that makes the year unusable moves the row to report year 0. */
static int fault_loses_year(int fv)
{
    return fv == FV_FIELDS_SHORT || fv == FV_FIELDS_LONG || fv == FV_YEAR_TEXT ||
           fv == FV_YEAR_EARLY || fv == FV_YEAR_LATE;
}

/* Which planted kinds go into this anchor firm-year, in order: kind v sits
 * in anchor firm v % n_anchor in year first + 7v mod nyears, so that every
 * kind occurs at least once whatever the preset. */
static int planted_faults(const ks_synth_world *w, const ks_synth_firm *f, int year, int *out)
{
    int n = 0;
    if (!f->anchor)
        return 0;
    for (int v = 0; v < FV_N; v++)
        if (v % w->par.n_anchor == f->index && year == w->first_year + (7 * v) % w->nyears)
            out[n++] = v;
    return n;
}

typedef struct ks_synth_row {
    char year[16];
    const char *firm_id;
    const char *flow;
    char hs[16];
    char value[32];
    const char *mode;
    char city[16];
    const char *partner;
    char month[8];
    int fields;   /* -1 one field short, +1 one too many */
} ks_synth_row;

static const char *const partners[] = {"US", "JP", "HK", "KR", "DE", "TW", "SG", "GB", "NL",
                                       "FR", "IT", "AU", "MY", "TH", "VN", "IN", "RU", "CA",
                                       "ID", "BR", "AE", "MX", "ES", "SA", "PH"};
static const double partner_cum[] = {15, 27, 38, 47, 54, 60, 64, 68, 71, 74, 76.5, 79.5, 82,
                                     84.5, 87, 89, 91, 93, 94.5, 96, 97, 98, 98.8, 99.5, 100};
#define N_PARTNERS ((int)(sizeof partners / sizeof partners[0]))

static const char *draw_mode(const ks_synth_firm *f, ks_rng *r, int *processing)
{
    double u = ks_rng_uniform(r);
    *processing = u < f->proc_share;
    if (*processing)
        return ks_rng_bernoulli(r, 0.6) ? "进料加工贸易" : "来料加工装配贸易";
    u = ks_rng_uniform(r);
    return u < 0.93 ? "一般贸易" : u < 0.97 ? "保税仓库进出境货物" : "边境小额贸易";
}

static void format_value(char *out, size_t n, int64_t cents, ks_rng *r)
{
    if (cents % 100 == 0 && ks_rng_bernoulli(r, 0.5))
        snprintf(out, n, "%lld", (long long)(cents / 100));
    else if (cents % 10 == 0)
        snprintf(out, n, "%lld.%lld", (long long)(cents / 100), (long long)(cents % 100 / 10));
    else
        snprintf(out, n, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
}

/* Apply fault kind fv to a row of `year`. */
static void apply_fault(const ks_synth_world *w, ks_synth_row *row, int fv, int year, int hs6,
                        const ks_synth_firm *f, ks_rng *r)
{
    int v = ks_synth_vintage_of_year(year);
    switch (fv) {
    case FV_FIELDS_SHORT: row->fields = -1; break;
    case FV_FIELDS_LONG: row->fields = 1; break;
    case FV_YEAR_TEXT: snprintf(row->year, sizeof row->year, "%dO%d", year / 100, year % 10); break;
    case FV_YEAR_EARLY: snprintf(row->year, sizeof row->year, "%d", 1999); break;
    case FV_YEAR_LATE: snprintf(row->year, sizeof row->year, "%d", 2031); break;
    case FV_FIRM_EMPTY: row->firm_id = ""; break;
    case FV_FLOW: row->flow = "转口"; break;
    case FV_HS_5: snprintf(row->hs, sizeof row->hs, "%05d", hs6 / 10); break;
    case FV_HS_7: snprintf(row->hs, sizeof row->hs, "%06d%d", hs6, (int)ks_rng_below(r, 10)); break;
    case FV_HS_LETTERS: snprintf(row->hs, sizeof row->hs, "%02dAB%04d", hs6 / 10000, hs6 % 10000); break;
    case FV_VALUE_TEXT: snprintf(row->value, sizeof row->value, "N/A"); break;
    case FV_VALUE_NEGATIVE: {
        /* values are far shorter than the buffer: shift right by one */
        size_t len = strnlen(row->value, sizeof row->value - 2);
        memmove(row->value + 1, row->value, len);
        row->value[0] = '-';
        row->value[len + 1] = '\0';
        break;
    }
    case FV_CITY_LETTERS: snprintf(row->city, sizeof row->city, "SZ%02d", (int)ks_rng_below(r, 100)); break;
    case FV_CITY_5: snprintf(row->city, sizeof row->city, "%.4s%d", f->location, (int)ks_rng_below(r, 10)); break;
    case FV_UNKNOWN_CITY: {
        int code = w->unknown_codes[ks_rng_below(r, (uint64_t)w->n_unknown)];
        if (ks_rng_bernoulli(r, 0.5))
            snprintf(row->city, sizeof row->city, "%04d", code);
        else
            snprintf(row->city, sizeof row->city, "%04d%02d", code, (int)ks_rng_below(r, 20));
        break;
    }
    case FV_UNMAPPED_HS: {
        int code = w->unmapped[v][ks_rng_below(r, (uint64_t)w->n_unmapped[v])];
        snprintf(row->hs, sizeof row->hs, "%06d%02d", code, (int)ks_rng_below(r, 100));
        break;
    }
    default: break;
    }
}

static int append_name(ks_ctx *ctx, ks_buf *buf, const char *name)
{
    if (!strpbrk(name, ",\"\r\n"))
        return ks_buf_append(ctx, buf, name, strlen(name));
    KS_CHECK(ks_buf_append(ctx, buf, "\"", 1));
    for (const char *p = name; *p; p++) {
        KS_CHECK(ks_buf_append(ctx, buf, p, 1));
        if (*p == '"')
            KS_CHECK(ks_buf_append(ctx, buf, "\"", 1));
    }
    return ks_buf_append(ctx, buf, "\"", 1);
}

static int write_row(ks_ctx *ctx, ks_buf *buf, const ks_synth_row *row, const ks_synth_firm *f)
{
    KS_CHECK(ks_buf_printf(ctx, buf, "%s,%s,", row->year, row->firm_id));
    KS_CHECK(append_name(ctx, buf, f->name));
    KS_CHECK(ks_buf_printf(ctx, buf, ",%s,%s,%s,%s,%s,%s,%s", row->flow, row->hs, row->value,
                           row->mode, ks_ownership_label_zh(f->ownership), row->city, row->partner));
    if (row->fields >= 0)
        KS_CHECK(ks_buf_printf(ctx, buf, ",%s", row->month));
    if (row->fields > 0)
        KS_CHECK(ks_buf_printf(ctx, buf, ",%s", "备注"));
    return ks_buf_append(ctx, buf, "\n", 1);
}

/* The state of one firm-year's emission. */
typedef struct rows_state {
    const ks_synth_world *w;
    const ks_synth_firm *f;
    int year, vintage;
    ks_rng r;
    int planted[FV_N], n_planted, n_eligible;
    int64_t *counts, *stats;
    ks_synth_scratch *s;
    int any_kept;
} rows_state;

static int pick_fault(rows_state *st)
{
    const ks_synth_params *p = &st->w->par;
    double u = ks_rng_uniform(&st->r);
    int k = st->n_eligible++;
    if (k < st->n_planted)
        return st->planted[k];
    if (u < p->rate_bad)
        return (int)ks_rng_below(&st->r, FV_N_BAD);
    if (u < p->rate_bad + p->rate_unknown_city)
        return FV_UNKNOWN_CITY;
    if (u < p->rate_bad + p->rate_unknown_city + p->rate_unmapped)
        return FV_UNMAPPED_HS;
    return FV_NONE;
}

static int count_kept(ks_ctx *ctx, rows_state *st, int64_t *c, int hs6, int flow, int64_t cents)
{
    int n;
    const int32_t *t = ks_refdata_hs6_targets(st->w->ref, st->vintage, hs6, &n);
    c[KS_TC_KEPT]++;
    c[KS_TC_VALUE_MICRO] += cents * 10000;
    c[KS_TC_SPLIT] += n > 1;
    st->any_kept = 1;
    /* a split row contributes a flow to each of its headings */
    KS_CHECK(ks_reserve(ctx, &st->s->keys, &st->s->cap_keys, st->s->n_keys + (size_t)n,
                        sizeof *st->s->keys, "synth flow keys"));
    for (int k = 0; k < n; k++)
        st->s->keys[st->s->n_keys++] = t[k] * 2 + flow;
    return KS_OK;
}

/* One row: its mode, its fault if any, its reason, then write and count. */
static int emit_row(ks_ctx *ctx, rows_state *st, ks_buf *buf, ks_synth_row *row, int hs6,
                    int flow, int64_t cents)
{
    int processing, fv = FV_NONE, reason, report;
    int64_t *c;
    row->mode = draw_mode(st->f, &st->r, &processing);
    st->stats[KS_ST_PROCESSING_ROWS] += processing;
    if (st->f->trader)
        reason = KS_DROP_TRADER;
    else if (processing)
        reason = KS_DROP_PROCESSING;
    else {
        /* faults only in ordinary rows of producers: one fault, one reason */
        fv = pick_fault(st);
        reason = fv == FV_NONE ? KS_ROW_KEPT : fault_reason(fv);
        if (fv != FV_NONE)
            apply_fault(st->w, row, fv, st->year, hs6, st->f, &st->r);
    }
    KS_CHECK(write_row(ctx, buf, row, st->f));
    report = fv != FV_NONE && fault_loses_year(fv) ? 0 : 1 + st->year - st->w->first_year;
    c = st->counts + (size_t)report * KS_TC_NCOLS;
    c[KS_TC_ROWS]++;
    if (reason != KS_ROW_KEPT) {
        c[KS_TC_REASON0 + reason - KS_BAD_FIELD_COUNT]++;
        return KS_OK;
    }
    return count_kept(ctx, st, c, hs6, flow, cents);
}

static int draw_code(rows_state *st, int h)
{
    const int32_t *off = st->w->rev_off[st->vintage];
    int32_t n = off[h + 1] - off[h];
    return n > 0 ? st->w->rev_code[st->vintage][off[h] + (int32_t)ks_rng_below(&st->r, (uint64_t)n)]
                 : -1;
}

/* Split `total` cents over n rows, each at least one dollar. */
static void split_value(int64_t total, int n, int64_t *part, ks_rng *r)
{
    double wgt[4], sum = 0;
    int64_t rest = total - 100 * n, given = 0;
    for (int k = 0; k < n; k++)
        sum += (wgt[k] = 0.2 + ks_rng_uniform(r));
    for (int k = 0; k < n; k++) {
        int64_t share = k + 1 < n ? (int64_t)floor((double)rest * wgt[k] / sum) : rest - given;
        given += share;
        part[k] = 100 + share;
    }
}

/* One firm x heading x flow: 1-4 rows in distinct months. */
static int emit_cell(ks_ctx *ctx, rows_state *st, ks_buf *buf, int h, int flow)
{
    static const double nrows_cum[4] = {0.45, 0.75, 0.90, 1.0};
    static const int suffixes[] = {0, 0, 0, 10, 90, 11, 19, 20, 29, 91, 99, 30};
    const ks_synth_params *p = &st->w->par;
    int main_code = draw_code(st, h), nrows, month = 1 + (int)ks_rng_below(&st->r, 12);
    int suffix = suffixes[ks_rng_below(&st->r, sizeof suffixes / sizeof suffixes[0])];
    int64_t total, parts[4];
    double usd;
    if (main_code < 0)
        return KS_OK; /* no code of this vintage reaches the heading */
    nrows = 1 + ks_rng_categorical(&st->r, nrows_cum, 4);
    usd = ks_rng_lognormal(&st->r, p->value_mu + p->value_size * log(st->f->scale), p->value_sigma);
    total = (int64_t)llround(fmin(usd, 1e10) * 100.0);
    if (total < 100 * nrows)
        total = 100 * nrows;
    split_value(total, nrows, parts, &st->r);
    for (int k = 0; k < nrows; k++) {
        ks_synth_row row;
        int code = k == 0 || ks_rng_bernoulli(&st->r, 0.8) ? main_code : draw_code(st, h);
        memset(&row, 0, sizeof row);
        snprintf(row.year, sizeof row.year, "%d", st->year);
        row.firm_id = st->f->id;
        row.flow = flow == KS_FLOW_IMPORT ? "进口" : "出口";
        snprintf(row.hs, sizeof row.hs, "%06d%02d", code, suffix);
        format_value(row.value, sizeof row.value, parts[k], &st->r);
        snprintf(row.city, sizeof row.city, "%s", st->f->location);
        row.partner = partners[ks_rng_categorical(&st->r, partner_cum, N_PARTNERS)];
        snprintf(row.month, sizeof row.month, "%d", (month - 1 + 3 * k) % 12 + 1);
        KS_CHECK(emit_row(ctx, st, buf, &row, code, flow, parts[k]));
    }
    return KS_OK;
}

static int cmp_key(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Distinct (heading, flow) keys of the firm-year's kept rows. */
static int count_distinct_keys(ks_synth_scratch *s)
{
    int n = 0;
    if (s->n_keys == 0)
        return 0; /* keys may still be NULL: qsort(NULL, 0) is undefined */
    qsort(s->keys, s->n_keys, sizeof *s->keys, cmp_key);
    for (size_t k = 0; k < s->n_keys; k++)
        n += k == 0 || s->keys[k] != s->keys[k - 1];
    return n;
}

int ks_synth_firm_rows(ks_ctx *ctx, const ks_synth_world *w, const ks_synth_firm *f,
                       int year, ks_buf *buf, int64_t *counts, int64_t *stats,
                       ks_synth_scratch *s)
{
    rows_state st;
    int64_t *c = counts + (size_t)(1 + year - w->first_year) * KS_TC_NCOLS;
    memset(&st, 0, sizeof st);
    st.w = w;
    st.f = f;
    st.year = year;
    st.vintage = ks_synth_vintage_of_year(year);
    st.counts = counts;
    st.stats = stats;
    st.s = s;
    s->n_keys = 0;
    ks_rng_seed(&st.r, w->seed, (uint64_t)f->index, (uint64_t)year, KS_SS_ROWS);
    st.n_planted = planted_faults(w, f, year, st.planted);
    for (int k = 0; k < f->n_imports; k++)
        KS_CHECK(emit_cell(ctx, &st, buf, f->imports[k], KS_FLOW_IMPORT));
    for (int k = 0; k < f->n_exports; k++)
        KS_CHECK(emit_cell(ctx, &st, buf, f->exports[k], KS_FLOW_EXPORT));
    c[KS_TC_FLOWS] += count_distinct_keys(s);
    c[KS_TC_FIRMS] += st.any_kept;
    return KS_OK;
}
