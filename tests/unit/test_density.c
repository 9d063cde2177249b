/* test_density.c - the density kernel and every density declaration (scope,
 * leave-one-out, lag, basket) on a 4-product, 3-firm case worked out by
 * hand.  The expected values are written as the fractions of the hand
 * calculation (sum of phi over the basket / row sum). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ks_density.h"
#include "ks_panel_internal.h"
#include "ks_test.h"

#define P 4
#define EPS 1e-15

/*        0    1    2    3         row sum */
static const double PHI[P * P] = {
    1.0, 0.5, 0.0, 0.25,  /* 1.75 */
    0.5, 1.0, 0.0, 0.5,   /* 2    */
    0.0, 0.0, 1.0, 0.25,  /* 1.25 */
    0.25, 0.5, 0.25, 1.0  /* 2    */
};

typedef struct fixture {
    double phi_t[P * P], rowsum[P];
    ks_density_phi ph;
} fixture;

static void setup(fixture *fx)
{
    ks_density_prepare(PHI, P, fx->phi_t, fx->rowsum);
    fx->ph.p = P;
    fx->ph.phi = PHI;
    fx->ph.phi_t = fx->phi_t;
    fx->ph.rowsum = fx->rowsum;
}

static void test_prepare(void)
{
    fixture fx;
    setup(&fx);
    CU_ASSERT_DOUBLE_EQUAL(fx.rowsum[0], 1.75, EPS);
    CU_ASSERT_DOUBLE_EQUAL(fx.rowsum[1], 2.0, EPS);
    CU_ASSERT_DOUBLE_EQUAL(fx.rowsum[2], 1.25, EPS);
    CU_ASSERT_DOUBLE_EQUAL(fx.rowsum[3], 2.0, EPS);
    CU_ASSERT_EQUAL(fx.phi_t[1 * P + 3], PHI[3 * P + 1]);
    CU_ASSERT_EQUAL(ks_density_ratio(0.0, 0.0), 0.0); /* 0/0 -> 0 */
}

static void test_accumulate_equals_gather(void)
{
    fixture fx;
    int32_t basket[] = {0, 3};
    double acc[P];
    setup(&fx);
    ks_density_accumulate(&fx.ph, basket, 2, 0, P, acc);
    CU_ASSERT_DOUBLE_EQUAL(acc[0], 1.25, EPS);
    CU_ASSERT_DOUBLE_EQUAL(acc[1], 1.0, EPS);
    CU_ASSERT_DOUBLE_EQUAL(acc[2], 0.25, EPS);
    CU_ASSERT_DOUBLE_EQUAL(acc[3], 1.25, EPS);
    for (int i = 0; i < P; i++) /* the two paths give the same bits */
        CU_ASSERT_EQUAL(memcmp(&acc[i], &(double){ks_density_gather(&fx.ph, i, basket, 2)}, sizeof(double)), 0);
}

/* Three baskets {0}, {}, {1, 2}; a product of zero row sum appended by
 * zeroing nothing: P = 4 rows, thresholds by hand. */
static void check_select(int threads)
{
    fixture fx;
    int64_t off[] = {0, 1, 1, 3};
    int32_t items[] = {0, 1, 2};
    ks_density_hits h;
    setup(&fx);
    omp_set_num_threads(threads);
    CU_ASSERT_EQUAL(ks_density_select(&fx.ph, 3, off, items, 0.3, 0, &h), 0);
    /* {0}: 1/1.75 = .571 (i0), .5/2 (i1) no, 0 (i2) no, .25/2 no;
     * {1,2}: .5/1.75 = .286 no, 1/2 (i1), 1/1.25 (i2), .75/2 = .375 (i3) */
    CU_ASSERT_EQUAL_FATAL(h.n, 4);
    CU_ASSERT_EQUAL(h.item[0], 0);
    CU_ASSERT_EQUAL(h.product[0], 0);
    CU_ASSERT_DOUBLE_EQUAL(h.value[0], 1 / 1.75, EPS);
    CU_ASSERT_EQUAL(h.item[1], 2);
    CU_ASSERT_EQUAL(h.product[1], 1);
    CU_ASSERT_DOUBLE_EQUAL(h.value[1], 0.5, EPS);
    CU_ASSERT_EQUAL(h.product[2], 2);
    CU_ASSERT_DOUBLE_EQUAL(h.value[2], 0.8, EPS);
    CU_ASSERT_EQUAL(h.product[3], 3);
    CU_ASSERT_DOUBLE_EQUAL(h.value[3], 0.375, EPS);
    ks_density_hits_free(&h);
    /* keep_all: every cell, zeros and the empty basket included */
    CU_ASSERT_EQUAL(ks_density_select(&fx.ph, 3, off, items, 0.0, 1, &h), 0);
    CU_ASSERT_EQUAL_FATAL(h.n, 12);
    CU_ASSERT_EQUAL(h.item[4], 1);
    CU_ASSERT_EQUAL(h.value[4], 0.0);
    CU_ASSERT_EQUAL(h.item[11], 2);
    CU_ASSERT_EQUAL(h.product[11], 3);
    ks_density_hits_free(&h);
    omp_set_num_threads(1);
}

static void test_select(void)
{
    for (int t = 1; t <= 4; t++)
        check_select(t);
}

/* ---- the declarations, on a hand-made year ---- */

/* Firm-years: firm, city, imports, exports, active chapters (bit h). */
typedef struct fy_def {
    int64_t firm;
    int32_t city;
    int n_imp;
    int32_t imp[3];
    int n_exp;
    int32_t exp[3];
} fy_def;

static int32_t HS4[P] = {101, 102, 201, 202};
static int16_t HS2[P] = {1, 1, 2, 2};
static int32_t CITY_CODE[2] = {1100, 1301};
static int32_t CITY_PROV[2] = {11, 11};
static int8_t CITY_REGION[2] = {0, 0};

static void make_records(ks_records *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "hand-made records");
    r->n_products = P;
    r->hs4 = HS4;
    r->hs2 = HS2;
    r->n_cities = 2;
    r->city_code = CITY_CODE;
    r->city_province = CITY_PROV;
    r->city_region = CITY_REGION;
    r->n_firms = 3;
}

static void make_year(ks_panel_year *y, int year, const fy_def *d, int n)
{
    memset(y, 0, sizeof *y);
    y->year = year;
    y->n = n;
    y->firm = calloc((size_t)n + 1, sizeof *y->firm);
    y->city = calloc((size_t)n + 1, sizeof *y->city);
    y->value = calloc((size_t)n + 1, sizeof *y->value);
    y->chapters = calloc(2 * (size_t)n + 2, sizeof *y->chapters);
    for (int b = 0; b < 2; b++) {
        y->off[b] = calloc((size_t)n + 1, sizeof *y->off[b]);
        y->prod[b] = calloc(3 * (size_t)n + 1, sizeof *y->prod[b]);
    }
    for (int k = 0; k < n; k++) {
        y->firm[k] = d[k].firm;
        y->city[k] = d[k].city;
        y->value[k] = 1;
        y->off[0][k + 1] = y->off[0][k] + d[k].n_imp;
        y->off[1][k + 1] = y->off[1][k] + d[k].n_exp;
        for (int e = 0; e < d[k].n_imp; e++) {
            y->prod[0][y->off[0][k] + e] = d[k].imp[e];
            y->chapters[2 * k] |= 1ull << HS2[d[k].imp[e]];
        }
        for (int e = 0; e < d[k].n_exp; e++) {
            y->prod[1][y->off[1][k] + e] = d[k].exp[e];
            y->chapters[2 * k] |= 1ull << HS2[d[k].exp[e]];
        }
    }
}

/* Year t: f0 in city 0 imports {0} exports {2} (chapters 1, 2); f1 in city 0
 * imports {1} (chapter 1); f2 in city 1 imports {0, 3} (chapters 1, 2).
 * Year t-1: f0 in city 0 imports {3}; f2 in city 0 (it moved) imports {1}. */
static const fy_def CUR[] = {{0, 0, 1, {0}, 1, {2}}, {1, 0, 1, {1}, 0, {0}}, {2, 1, 2, {0, 3}, 0, {0}}};
static const fy_def PREV[] = {{0, 0, 1, {3}, 0, {0}}, {2, 0, 1, {1}, 0, {0}}};

typedef struct world {
    fixture fx;
    ks_records r;
    ks_panel_year cur, prev;
    int64_t prev_index[3];
    ks_ctx ctx;
} world;

static void make_world(world *w)
{
    setup(&w->fx);
    make_records(&w->r);
    make_year(&w->cur, 2005, CUR, 3);
    make_year(&w->prev, 2004, PREV, 2);
    ks_panel_year_match(&w->cur, &w->prev, w->prev_index);
    ks_ctx_init(&w->ctx, MPI_COMM_NULL);
}

static void free_world(world *w)
{
    ks_panel_year_free(&w->cur);
    ks_panel_year_free(&w->prev);
}

/* density_<spec> of firm-year k for every product, against want[k][i]. */
static void check_spec(world *w, ks_scope scope, int loo, int lag, ks_basket basket,
                       const double want[3][P])
{
    ks_density_spec spec;
    ks_scope_table t;
    ks_cell_basis b = {&w->cur, lag ? &w->prev : &w->cur, lag ? w->prev_index : NULL};
    int first[KS_PANEL_CHAPTERS] = {0}, end[KS_PANEL_CHAPTERS] = {0};
    memset(&spec, 0, sizeof spec);
    memset(&t, 0, sizeof t);
    first[1] = 0, end[1] = 2, first[2] = 2, end[2] = 4;
    spec.scope = scope;
    spec.leave_one_out = loo;
    spec.lag = lag;
    spec.basket = basket;
    t.scope = scope;
    t.basket = basket;
    t.lag = lag;
    t.need_sole = loo;
    if (scope != KS_SCOPE_FIRM)
        CU_ASSERT_EQUAL_FATAL(ks_scope_build(&w->ctx, &w->r, &w->fx.ph, first, end, b.basis, &t), KS_OK);
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < P; i++) {
            double got = ks_density_cell(&spec, scope == KS_SCOPE_FIRM ? NULL : &t, &w->r,
                                         &w->fx.ph, &b, k, i);
            if (fabs(got - want[k][i]) > EPS)
                fprintf(stderr, "\nscope %d loo %d lag %d basket %d: firm-year %d product %d: "
                        "got %.17g, expected %.17g\n", scope, loo, lag, basket, k, i, got, want[k][i]);
            CU_ASSERT_DOUBLE_EQUAL(got, want[k][i], EPS);
            /* with firm-year k's list of sole products taken once (stage
             * panel's rows): the same bits */
            int32_t sole[P];
            int64_t n_sole = ks_density_sole(&spec, scope == KS_SCOPE_FIRM ? NULL : &t, &w->r, &b, k, sole);
            double again = ks_density_cell_sole(&spec, scope == KS_SCOPE_FIRM ? NULL : &t, &w->r, &w->fx.ph,
                                                &b, k, i, sole, n_sole);
            CU_ASSERT(memcmp(&got, &again, sizeof got) == 0 || (isnan(got) && isnan(again)));
        }
    ks_scope_clear(&t);
}

static void test_firm_scope(void)
{
    world w;
    const double firm[3][P] = {{1 / 1.75, .5 / 2, 0 / 1.25, .25 / 2},
                               {.5 / 1.75, 1 / 2., 0, .5 / 2},
                               {1.25 / 1.75, 1 / 2., .25 / 1.25, 1.25 / 2}};
    const double exports[3][P] = {{0, 0, 1 / 1.25, .25 / 2}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    /* lag: f0 had {3}; f1 and f2 (f2 had {1}) */
    const double lag[3][P] = {{.25 / 1.75, .5 / 2, .25 / 1.25, 1 / 2.},
                              {0, 0, 0, 0},
                              {.5 / 1.75, 1 / 2., 0, .5 / 2}};
    make_world(&w);
    check_spec(&w, KS_SCOPE_FIRM, 0, 0, KS_BASKET_IMPORTS, firm);
    check_spec(&w, KS_SCOPE_FIRM, 0, 0, KS_BASKET_EXPORTS, exports);
    check_spec(&w, KS_SCOPE_FIRM, 0, 1, KS_BASKET_IMPORTS, lag);
    free_world(&w);
}

static void test_city_scope(void)
{
    world w;
    /* city 0 = {0, 1}, city 1 = {0, 3} */
    const double city[3][P] = {{1.5 / 1.75, 1.5 / 2, 0, .75 / 2},
                               {1.5 / 1.75, 1.5 / 2, 0, .75 / 2},
                               {1.25 / 1.75, 1 / 2., .25 / 1.25, 1.25 / 2}};
    /* others: f0 sees f1's {1}, f1 sees f0's {0}, f2 is alone */
    const double loo[3][P] = {{.5 / 1.75, 1 / 2., 0, .5 / 2},
                              {1 / 1.75, .5 / 2, 0, .25 / 2},
                              {0, 0, 0, 0}};
    /* t-1: city 0 = {1 (f2), 3 (f0)}, city 1 empty.  f0 was in city 0: sees
     * {1}; f1 was absent: the whole {1, 3}; f2 is now in city 1: empty */
    const double lag_loo[3][P] = {{.5 / 1.75, 1 / 2., 0, .5 / 2},
                                  {.75 / 1.75, 1.5 / 2, .25 / 1.25, 1.5 / 2},
                                  {0, 0, 0, 0}};
    /* exports of city 0 = {2}; city 1 none */
    const double exp[3][P] = {{0, 0, 1 / 1.25, .25 / 2}, {0, 0, 1 / 1.25, .25 / 2}, {0, 0, 0, 0}};
    make_world(&w);
    check_spec(&w, KS_SCOPE_CITY, 0, 0, KS_BASKET_IMPORTS, city);
    check_spec(&w, KS_SCOPE_CITY, 1, 0, KS_BASKET_IMPORTS, loo);
    check_spec(&w, KS_SCOPE_CITY, 1, 1, KS_BASKET_IMPORTS, lag_loo);
    check_spec(&w, KS_SCOPE_CITY, 0, 0, KS_BASKET_EXPORTS, exp);
    free_world(&w);
}

static void test_province_nation(void)
{
    world w;
    /* both cities are in province 11: {0, 1, 3} */
    const double all[3][P] = {{1, 1, .25 / 1.25, 1.75 / 2}, {1, 1, .25 / 1.25, 1.75 / 2},
                              {1, 1, .25 / 1.25, 1.75 / 2}};
    /* counts 0:2, 1:1 (f1), 3:1 (f2): f0 keeps all, f1 loses 1, f2 loses 3 */
    const double loo[3][P] = {{1, 1, .25 / 1.25, 1.75 / 2},
                              {1.25 / 1.75, 1 / 2., .25 / 1.25, 1.25 / 2},
                              {1.5 / 1.75, 1.5 / 2, 0, .75 / 2}};
    make_world(&w);
    check_spec(&w, KS_SCOPE_PROVINCE, 0, 0, KS_BASKET_IMPORTS, all);
    check_spec(&w, KS_SCOPE_NATION, 0, 0, KS_BASKET_IMPORTS, all);
    check_spec(&w, KS_SCOPE_PROVINCE, 1, 0, KS_BASKET_IMPORTS, loo);
    check_spec(&w, KS_SCOPE_NATION, 1, 0, KS_BASKET_IMPORTS, loo);
    free_world(&w);
}

static void test_city_hs2(void)
{
    world w;
    /* city 0: chapter 1 (products 0, 1) has f0 and f1: {0, 1}; chapter 2
     * (products 2, 3) has f0 only: {0}.  City 1: f2 in both: {0, 3}. */
    const double cl[3][P] = {{1.5 / 1.75, 1.5 / 2, 0, .25 / 2},
                             {1.5 / 1.75, 1.5 / 2, 0, .25 / 2},
                             {1.25 / 1.75, 1 / 2., .25 / 1.25, 1.25 / 2}};
    /* f0: chapter 1 others = f1 {1}; chapter 2 nobody else.  f1: chapter 1
     * others = f0 {0}; chapter 2: f1 is not active there, the whole {0}.
     * f2 alone. */
    const double loo[3][P] = {{.5 / 1.75, 1 / 2., 0, 0},
                              {1 / 1.75, .5 / 2, 0, .25 / 2},
                              {0, 0, 0, 0}};
    /* t-1: city 0 has f0 ({3}, chapter 2) and f2 ({1}, chapter 1).  f0 now
     * in city 0: chapter 1 = {1}; chapter 2 = {3} minus f0's own = {}.
     * f1 (absent then): chapter 1 {1}, chapter 2 {3}.  f2 now in city 1,
     * which had nobody */
    const double lag_loo[3][P] = {{.5 / 1.75, 1 / 2., 0, 0},
                                  {.5 / 1.75, 1 / 2., .25 / 1.25, 1 / 2.},
                                  {0, 0, 0, 0}};
    make_world(&w);
    check_spec(&w, KS_SCOPE_CITY_HS2, 0, 0, KS_BASKET_IMPORTS, cl);
    check_spec(&w, KS_SCOPE_CITY_HS2, 1, 0, KS_BASKET_IMPORTS, loo);
    check_spec(&w, KS_SCOPE_CITY_HS2, 1, 1, KS_BASKET_IMPORTS, lag_loo);
    free_world(&w);
}

static void test_missing(void)
{
    world w;
    ks_density_spec spec;
    ks_scope_table t;
    ks_cell_basis none = {NULL, NULL, NULL}, now;
    int first[KS_PANEL_CHAPTERS] = {0}, end[KS_PANEL_CHAPTERS] = {0};
    make_world(&w);
    now.cur = now.basis = &w.cur;
    now.basis_index = NULL;
    none.cur = &w.cur;
    memset(&spec, 0, sizeof spec);
    memset(&t, 0, sizeof t);
    spec.scope = t.scope = KS_SCOPE_CITY;
    spec.lag = t.lag = 1;
    /* lag in the first year: no basket year, NaN */
    CU_ASSERT_EQUAL(ks_scope_build(&w.ctx, &w.r, &w.fx.ph, first, end, NULL, &t), KS_OK);
    CU_ASSERT(isnan(ks_density_cell(&spec, &t, &w.r, &w.fx.ph, &none, 0, 0)));
    ks_scope_clear(&t);
    /* unknown city: NaN for a shared scope */
    spec.lag = t.lag = 0;
    CU_ASSERT_EQUAL(ks_scope_build(&w.ctx, &w.r, &w.fx.ph, first, end, &w.cur, &t), KS_OK);
    w.cur.city[1] = -1;
    CU_ASSERT(isnan(ks_density_cell(&spec, &t, &w.r, &w.fx.ph, &now, 1, 0)));
    ks_scope_clear(&t);
    free_world(&w);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"row sums, transpose, 0/0", test_prepare},
        {"dense accumulation equals the row gather bit for bit", test_accumulate_equals_gather},
        {"select: threshold, keep_all, 1-4 threads", test_select},
        {"firm scope: imports, exports, lag", test_firm_scope},
        {"city scope: plain, leave-one-out, lagged leave-one-out, exports", test_city_scope},
        {"province and nation, with leave-one-out", test_province_nation},
        {"city_hs2 cluster, leave-one-out, lagged", test_city_hs2},
        {"missing: lag in the first year, unknown city", test_missing},
        {NULL, NULL}};
    return ks_test_run("density", cases);
}
