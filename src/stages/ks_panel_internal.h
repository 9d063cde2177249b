/* ks_panel_internal.h - the pieces of stage `panel`, shared by its files and
 * by the unit tests (tests/unit/test_panel*.c, test_density.c).
 *
 *   ks_panel.c           the stage: open inputs, the year loop, the summary
 *   ks_panel_year.c      one year's baskets of this rank's firm-years
 *   ks_panel_scope.c     shared-scope baskets (city, province, nation,
 *                        city_hs2) across ranks, their density tables and
 *                        leave-one-out counts
 *   ks_panel_densities.c every declared density of a panel cell; relatedness.h5
 *   ks_panel_groups.c    quantiles, size terciles, market groups
 *   ks_panel_newexport.c products new to a firm, and their transform
 *   ks_panel_write.c     panel.h5: columns, attributes, streaming by year
 */
#ifndef KS_PANEL_INTERNAL_H
#define KS_PANEL_INTERNAL_H

#include <hdf5.h>
#include <stdint.h>

#include "ks_density.h"
#include "ks_error.h"
#include "ks_h5.h"
#include "ks_job.h"
#include "ks_records.h"

#define KS_PANEL_FORMAT_VERSION 1
#define KS_PANEL_CHAPTERS 128 /* HS2 chapters are 1..97: a 128-bit set per firm-year */
#define KS_PANEL_PROVINCES 100 /* province codes are 2 digits: the code is the group */
/* The sample rule keeps density_firm > threshold + KS_PANEL_TIE.  Densities
 * are ratios of small rationals, so many equal the threshold exactly (1/20 =
 * 0.05) and land a rounding error above or below it depending on the order
 * of the sum; the margin makes such ties fall out, in every implementation. */
#define KS_PANEL_TIE 1e-12
/* Imports, exports, and one partner-filtered import basket per declaration. */
#define KS_PANEL_MAX_BASKETS (KS_BASKET_FILTERED + KS_MAX_DENSITIES)

/* The partner filters of the declarations with `partners`: filter k keeps
 * imports from the partners with member[k][partner] set. */
typedef struct ks_partner_filters {
    int n;
    int n_partners;
    uint8_t *member[KS_MAX_DENSITIES];
} ks_partner_filters;

/* ---- one year's local firm-years and their baskets (ks_panel_year.c) ---- */

typedef struct ks_panel_year {
    int year;           /* 0 when there is no such year (before the first) */
    int64_t n;          /* this rank's firm-years of the year with rows_kept > 0 */
    int64_t *firm;      /* global firm index, ascending */
    int32_t *city;      /* index into the records' cities, -1 unknown */
    double *value;      /* value_kept_usd */
    int64_t *off[KS_PANEL_MAX_BASKETS];  /* per basket: basket of firm-year k is */
    int32_t *prod[KS_PANEL_MAX_BASKETS]; /* prod[b][off[b][k]..off[b][k+1]), ascending */
    uint64_t *chapters; /* [n][2]: chapters with any kept flow (the city_hs2 activity) */
} ks_panel_year;

/* The firm-years of `year` among fyb (rows_kept > 0) and their flows; with
 * filters (else NULL), also the partner-filtered import baskets from the
 * year's imports by partner. */
int ks_panel_year_build(ks_ctx *ctx, const ks_records *r, const ks_firm_year_block *fyb,
                        const ks_flow_block *flows, const ks_partner_filters *filters,
                        const ks_partner_block *by_partner, int year, ks_panel_year *out);
void ks_panel_year_free(ks_panel_year *y);
/* For every firm-year of `cur`, the index of the same firm in `prev`, or -1. */
void ks_panel_year_match(const ks_panel_year *cur, const ks_panel_year *prev, int64_t *index);

/* ---- shared scopes (ks_panel_scope.c) ---- */

/* The density table of one (basket, scope, lag) for one year, the same on
 * every rank: acc[g][i] = sum_{j in basket of group g} phi[i][j] (not yet
 * divided by the row sum).  Groups: city index, province code, 0 (nation),
 * city index (city_hs2: row c holds, for product i, the sum over the basket
 * of c's firms active in i's chapter). */
typedef struct ks_scope_table {
    ks_basket basket;
    ks_scope scope;
    int lag;
    int need_sole;      /* a declaration leaves the firm out */
    int available;      /* 0: the basket year precedes the data (lag in the first year) */
    int64_t n_groups;
    int p;
    double *acc;        /* [n_groups][p] */
    int64_t *count;     /* [n_groups][p] firms of g with j (city, province, nation; need_sole) */
    uint64_t *sole;     /* city_hs2 and need_sole: keys firm<<32 | city<<19 | chapter<<12 | j of
                           this rank's firms that alone in their (city, chapter) have j; sorted */
    int64_t n_sole;
} ks_scope_table;

/* The group of a firm-year of city index `city` in a scope; -1 when the
 * city is unknown. */
int64_t ks_scope_group(ks_scope scope, const ks_records *r, int32_t city);
/* Build t for basket year `basis` (NULL: not available) with this year's
 * phi; chapter_first/end: the product range of each chapter.  Collective. */
int ks_scope_build(ks_ctx *ctx, const ks_records *r, const ks_density_phi *phi,
                   const int *chapter_first, const int *chapter_end,
                   const ks_panel_year *basis, ks_scope_table *t);
void ks_scope_clear(ks_scope_table *t);

/* ---- densities of a cell (ks_panel_densities.c) ---- */

/* What a declaration needs to evaluate one cell (f, t, i). */
typedef struct ks_cell_basis {
    const ks_panel_year *cur;   /* year t */
    const ks_panel_year *basis; /* the basket year (t or t-1); NULL: not available */
    const int64_t *basis_index; /* cur firm-year -> basis firm-year (-1 none); NULL: the same */
} ks_cell_basis;

/* density_<spec> of firm-year k of b->cur and product i: firm scope from the
 * firm's own basket; shared scope from table t (NULL for firm scope). */
double ks_density_cell(const ks_density_spec *spec, const ks_scope_table *t,
                       const ks_records *r, const ks_density_phi *phi, const ks_cell_basis *b,
                       int64_t k, int i);

/* A leave-one-out density of a counted scope (city, province, nation)
 * subtracts, for every product i, the terms of the products firm-year k's
 * basket alone brings to its group (imported by no other firm there): the
 * same list for every i.  ks_density_sole writes that list into sole (room
 * for the basket) and returns its length, or -1 when spec leaves nothing out
 * for k (another kind of density, no basket, the basket's firm-year in
 * another group); ks_density_cell_sole is ks_density_cell with the list
 * given, the same bits, for the many rows of one firm-year. */
int64_t ks_density_sole(const ks_density_spec *spec, const ks_scope_table *t, const ks_records *r,
                        const ks_cell_basis *b, int64_t k, int32_t *sole);
double ks_density_cell_sole(const ks_density_spec *spec, const ks_scope_table *t, const ks_records *r,
                            const ks_density_phi *phi, const ks_cell_basis *b, int64_t k, int i,
                            const int32_t *sole, int64_t n_sole);

/* relatedness.h5: check its product axis against records.h5 (collective). */
int ks_panel_phi_open(ks_ctx *ctx, const ks_records *r, const char *path, hid_t *file);
/* Read /phi/<year> ([p][p]) into phi (independent read). */
int ks_panel_phi_read(ks_ctx *ctx, hid_t file, const char *path, int year, int p, double *phi);

/* ---- groups (ks_panel_groups.c) ---- */

/* numpy.quantile(x, q) with the default linear method, x sorted ascending,
 * n > 0, with numpy's arithmetic (so the cut points agree to the bit). */
double ks_quantile_sorted(const double *x, int64_t n, double q);
/* size: 0 small (<= q1), 1 middle (<= q2), 2 large; -1 when v is NaN. */
int ks_size_group(double v, double q1, double q2);
/* market: 0 low (< lo), 1 middle (lo <= s < hi), 2 high (>= hi). */
int ks_market_group(double share, double lo, double hi);
/* Tercile cuts of the finite values of x (n may be 0: cuts NaN). */
int ks_size_cuts(ks_ctx *ctx, const double *x, int64_t n, double *q1, double *q2);
/* Market groups of every (year, city) from the summed micro-dollars:
 * group[y*C + c] (-1 where the city has no trade), cuts[y*2 + 0/1]; pooled
 * (by_year 0): one set of shares over all years, copied to every year. */
int ks_market_groups(ks_ctx *ctx, int n_years, int n_cities, const int64_t *nonsoe,
                     const int64_t *total, double pct_low, double pct_high, int by_year,
                     int8_t *group, double *cuts);

/* ---- newexport (ks_panel_newexport.c) ---- */

/* How many of the sorted products exp[0..n) are not in the history bitset. */
int64_t ks_newexport_count(const uint64_t *history, const int32_t *exp, int64_t n);
void ks_newexport_remember(uint64_t *history, const int32_t *exp, int64_t n);
/* The transform of a count: log1p, log (NaN when 0) or the count. */
double ks_newexport_value(int64_t n, ks_newexport_transform how);

/* ---- panel.h5 (ks_panel_write.c) ---- */

/* One year's rows of this rank, in (firm, product) order. */
typedef struct ks_panel_rows {
    int64_t n;
    int64_t *firm;
    int16_t *year;
    int32_t *product;
    int16_t *industry;
    int32_t *city;
    int16_t *province;
    int8_t *region, *market, *size, *exported;
    double *density[KS_MAX_DENSITIES];
    double *tradevalue, *newexport;
} ks_panel_rows;

int ks_panel_rows_alloc(ks_ctx *ctx, ks_panel_rows *rows, int64_t n, int n_densities);
void ks_panel_rows_free(ks_panel_rows *rows);

#define KS_PANEL_FIXED_COLUMNS 12
typedef struct ks_panel_out {
    ks_h5_file file;
    hid_t panel;   /* /panel */
    hid_t dcity;   /* /density_city, or H5I_INVALID_HID */
    int n_densities;
    ks_h5_stream fixed[KS_PANEL_FIXED_COLUMNS];
    ks_h5_stream density[KS_MAX_DENSITIES];
    int64_t rows;
} ks_panel_out;

/* Create panel.h5 (temporary name), its columns and attributes, /firms,
 * /cities/code, /products/hs4.  Collective. */
int ks_panel_out_create(ks_ctx *ctx, const ks_job *job, const ks_records *r, int64_t lo,
                        int64_t hi, const double *market_cuts, ks_panel_out *o);
/* Append this rank's rows of a year (collective: offsets by exclusive scan). */
int ks_panel_out_year(ks_ctx *ctx, ks_panel_out *o, const ks_panel_rows *rows);
/* /density_city/<year> [C][P] from rank 0's values (collective). */
int ks_panel_out_city(ks_ctx *ctx, ks_panel_out *o, const char *spec_text, int year,
                      const double *values, int64_t n_cities, int p);
/* Close and rename (collective); abort removes the temporary file. */
int ks_panel_out_commit(ks_ctx *ctx, ks_panel_out *o);
void ks_panel_out_abort(ks_ctx *ctx, ks_panel_out *o);

/* "basket=imports; scope=city; leave_one_out=no; lag=0" */
void ks_density_spec_text(const ks_density_spec *d, char *buf, size_t n);

#endif
