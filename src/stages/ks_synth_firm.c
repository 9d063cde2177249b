/* ks_synth_firm.c - one firm's life: entry (city, capability, ownership,
 * name), yearly ageing, the import basket and the export decisions of the
 * planted model (docs/synth.md).  Every draw comes from a stream keyed by
 * (seed, firm index, year, purpose), so a firm behaves the same on any rank. */
#include "ks_synth_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Characters of brand names: none of 贸 易 进 出 口 外 商 边 物 流, so that a
 * producer's name can never hold a trading-company keyword. */
static const char *const brand_chars[] = {
    "华", "达", "盛", "兴", "隆", "昌", "泰", "丰", "宏", "鑫", "源", "恒", "通", "新", "益",
    "佳", "嘉", "瑞", "祥", "安", "康", "宝", "利", "发", "荣", "金", "银", "光", "明", "天",
    "宇", "鸿", "飞", "腾", "越", "凯", "旋", "博", "远", "科", "创", "美", "联", "合", "众",
    "力", "海", "峰", "龙", "凤", "锦", "绣", "中", "亚", "欧", "德", "亨", "顺", "和", "平",
    "永", "吉", "辉", "晨", "星", "宁"};
#define N_BRAND_CHARS (sizeof brand_chars / sizeof brand_chars[0])

static const char *const trader_keywords[] = {"贸易", "进出口", "出口", "进口",
                                              "外贸", "商贸", "边贸", "物流"};

static const char *const trader_suffix[] = {
    "贸易有限公司", "进出口有限公司", "国际贸易有限公司", "商贸有限公司", "外贸发展有限公司",
    "进口商品经营有限公司", "出口服务有限公司", "边贸有限公司", "国际物流有限公司"};

/* Producer suffix by the HS section of the firm's core product. */
static const char *producer_suffix(int hs2, uint64_t pick)
{
    static const char *const food[] = {"食品有限公司", "农业科技有限公司"};
    static const char *const chem[] = {"化工股份有限公司", "塑料制品有限公司", "制药有限公司"};
    static const char *const textile[] = {"纺织有限公司", "服装有限公司", "针织有限公司"};
    static const char *const metal[] = {"金属制品有限公司", "钢铁有限公司"};
    static const char *const machine[] = {"电子有限公司", "机械制造有限公司", "电器股份有限公司",
                                          "精密仪器有限公司"};
    static const char *const vehicle[] = {"汽车零部件有限公司", "船舶工业有限公司"};
    static const char *const other[] = {"实业有限公司", "科技有限公司", "家具有限公司",
                                        "工艺品有限公司"};
#define PICK(a) a[pick % (sizeof a / sizeof a[0])]
    if (hs2 <= 24)
        return PICK(food);
    if (hs2 <= 40)
        return PICK(chem);
    if (hs2 >= 50 && hs2 <= 67)
        return PICK(textile);
    if (hs2 >= 72 && hs2 <= 83)
        return PICK(metal);
    if (hs2 >= 84 && hs2 <= 85)
        return PICK(machine);
    if (hs2 >= 86 && hs2 <= 89)
        return PICK(vehicle);
    return PICK(other);
#undef PICK
}

static int has_trader_keyword(const char *name)
{
    for (size_t k = 0; k < sizeof trader_keywords / sizeof trader_keywords[0]; k++)
        if (strstr(name, trader_keywords[k]))
            return 1;
    return 0;
}

/* out = a b c d, cut (at a byte) when too long for out[n]; names are far
 * shorter than the buffers, so nothing is ever cut in practice. */
static void concat4(char *out, size_t n, const char *a, const char *b, const char *c,
                    const char *d)
{
    const char *parts[4] = {a, b, c, d};
    size_t len = 0;
    for (int k = 0; k < 4; k++)
        for (const char *p = parts[k]; *p && len + 1 < n; p++)
            out[len++] = *p;
    out[len] = '\0';
}

/* Now and then a name carries an ASCII comma, quotes or (rarely) a line
 * break, which the writer must quote per RFC 4180. */
static void name_oddity(char *name, size_t n, const char *city, ks_rng *r)
{
    double u = ks_rng_uniform(r);
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s", name);
    if (u < 0.008)
        concat4(name, n, tmp, ",", city, "分公司");
    else if (u < 0.014)
        concat4(name, n, "\"", tmp, "\"", "");
    else if (u < 0.0155)
        concat4(name, n, tmp, "\n(", city, ")");
}

static int make_name(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f)
{
    const char *city = w->ref->cities[w->city_ref[f->city]].name;
    int core_hs2 = w->ref->products.hs2[ks_synth_nearest_product(w, f->cap)];
    for (int attempt = 0; attempt < 16; attempt++) {
        ks_rng r;
        char brand[16];
        int with_city;
        ks_rng_seed(&r, w->seed, (uint64_t)f->index, (uint64_t)attempt, KS_SS_NAME);
        snprintf(brand, sizeof brand, "%s%s", brand_chars[ks_rng_below(&r, N_BRAND_CHARS)],
                 brand_chars[ks_rng_below(&r, N_BRAND_CHARS)]);
        with_city = ks_rng_bernoulli(&r, 0.7) || attempt > 0;
        concat4(f->name, sizeof f->name, with_city ? city : "", brand,
                f->trader ? trader_suffix[ks_rng_below(&r, sizeof trader_suffix / sizeof trader_suffix[0])]
                          : producer_suffix(core_hs2, ks_rng_next(&r)), "");
        name_oddity(f->name, sizeof f->name, city, &r);
        if (has_trader_keyword(f->name) == f->trader)
            return KS_OK;
    }
    return ks_fail(ctx, KS_EINTERNAL, "synth: no name without trader keywords for firm %lld in %s",
                   (long long)f->index, city);
}

/* SOE share: higher in the Northeast and West, varying by city, falling
 * over time; foreign-invested firms concentrate in the East. */
static int draw_ownership(const ks_synth_world *w, int city, int year, ks_rng *r)
{
    static const double soe_base[KS_NREGIONS] = {0.10, 0.22, 0.28, 0.32};
    int region = w->ref->cities[w->city_ref[city]].region;
    double t = year - KS_SYNTH_MIN_YEAR;
    double soe = soe_base[region] * w->city_soe[city] * fmax(0.25, 1.0 - 0.05 * t);
    double foreign = region == KS_REGION_EAST ? 1.3 : 0.6;
    double wgt[KS_NOWNERSHIP] = {0};
    double cum[KS_NOWNERSHIP];
    soe = fmin(soe, 0.6);
    wgt[KS_OWN_COLLECTIVE] = 0.07 * fmax(0.3, 1.0 - 0.04 * t);
    wgt[KS_OWN_PRIVATE] = 0.45 * (1.0 + 0.05 * t);
    wgt[KS_OWN_INDIVIDUAL] = 0.03;
    wgt[KS_OWN_JOINT_VENTURE] = 0.17 * foreign;
    wgt[KS_OWN_COOPERATIVE] = 0.03 * foreign;
    wgt[KS_OWN_FOREIGN] = 0.25 * foreign;
    {
        double rest = 0;
        for (int k = 0; k < KS_NOWNERSHIP; k++)
            rest += wgt[k];
        wgt[KS_OWN_SOE] = rest * soe / (1.0 - soe);
    }
    for (int k = 0; k < KS_NOWNERSHIP; k++)
        cum[k] = (k ? cum[k - 1] : 0.0) + wgt[k];
    return ks_rng_categorical(r, cum, KS_NOWNERSHIP);
}

/* The location code as written: the prefecture code, or a county/district
 * code under it (municipalities: district codes like 110105). */
static void draw_location(const ks_synth_world *w, ks_synth_firm *f, ks_rng *r)
{
    const ks_city *c = &w->ref->cities[w->city_ref[f->city]];
    unsigned code4 = (unsigned)c->code4 % 10000u;
    int municipality = code4 % 100 == 0;
    if (ks_rng_bernoulli(r, 0.4) && !municipality) {
        snprintf(f->location, sizeof f->location, "%04u", code4);
    } else if (municipality) {
        unsigned prefix = code4 + (ks_rng_bernoulli(r, 0.85) ? 1u : 2u);
        snprintf(f->location, sizeof f->location, "%04u%02u", prefix,
                 1u + (unsigned)ks_rng_below(r, 16));
    } else {
        snprintf(f->location, sizeof f->location, "%04u%02u", code4,
                 1u + (unsigned)ks_rng_below(r, 30));
    }
}

int ks_synth_firm_enter(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int64_t index)
{
    const ks_synth_params *p = &w->par;
    ks_rng r;
    int own_foreign;
    memset(f, 0, sizeof *f);
    ks_rng_seed(&r, w->seed, (uint64_t)index, 0, KS_SS_ENTRY);
    f->index = index;
    f->entry_year = ks_synth_entry_year(w, index);
    f->alive = 1;
    f->anchor = index < p->n_anchor;
    f->city = ks_rng_categorical(&r, w->city_cum, w->nc);
    f->cap = w->city_centre[f->city * KS_SYNTH_MAX_CENTRES +
                            (int)ks_rng_below(&r, (uint64_t)w->city_ncentre[f->city])] +
             p->city_spread * ks_rng_normal(&r);
    f->scale = ks_rng_lognormal(&r, -0.5 * p->scale_sigma * p->scale_sigma, p->scale_sigma);
    f->trader = !f->anchor && ks_rng_bernoulli(&r, p->trader_share);
    f->ownership = draw_ownership(w, f->city, f->entry_year, &r);
    own_foreign = f->ownership >= KS_OWN_JOINT_VENTURE;
    if (!f->anchor && ks_rng_bernoulli(&r, own_foreign ? 0.7 : 0.33))
        f->proc_share = 0.3 + 0.65 * ks_rng_uniform(&r);
    draw_location(w, f, &r);
    snprintf(f->id, sizeof f->id, "%04d%06llu", (int)w->ref->cities[w->city_ref[f->city]].code4,
             (unsigned long long)(((uint64_t)index * 738457u + w->id_offset) % 1000000u));
    return make_name(ctx, w, f);
}

void ks_synth_firm_free(ks_synth_firm *f)
{
    free(f->imports);
    free(f->exports);
    free(f->last_exports);
    memset(f, 0, sizeof *f);
}

void ks_synth_firm_age(const ks_synth_world *w, ks_synth_firm *f, int year)
{
    ks_rng r;
    ks_rng_seed(&r, w->seed, (uint64_t)f->index, (uint64_t)year, KS_SS_YEAR);
    if (!f->anchor && !ks_rng_bernoulli(&r, w->par.survival)) {
        f->alive = 0;
        return;
    }
    f->cap += w->par.drift * ks_rng_normal(&r);
    f->scale *= exp(0.03 + 0.15 * ks_rng_normal(&r));
    /* privatisation of state and collective firms */
    if ((f->ownership == KS_OWN_SOE || f->ownership == KS_OWN_COLLECTIVE) &&
        ks_rng_bernoulli(&r, 0.03))
        f->ownership = KS_OWN_PRIVATE;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int push_i32(ks_ctx *ctx, int32_t **a, int *n, int *cap, int32_t v)
{
    size_t c = (size_t)*cap;
    KS_CHECK(ks_reserve(ctx, a, &c, (size_t)*n + 1, sizeof **a, "synth firm products"));
    *cap = (int)c;
    (*a)[(*n)++] = v;
    return KS_OK;
}

/* Import basket: products drawn around the firm's capability; bigger firms
 * import more products. */
int ks_synth_firm_imports(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int year,
                          ks_synth_scratch *s)
{
    const ks_synth_params *p = &w->par;
    ks_rng r;
    int64_t m;
    ks_rng_seed(&r, w->seed, (uint64_t)f->index, (uint64_t)year, KS_SS_IMPORTS);
    f->n_imports = 0;
    if (!f->anchor && ks_rng_bernoulli(&r, p->p_no_import))
        return KS_OK;
    m = 1 + ks_rng_poisson(&r, p->lambda_import * f->scale);
    if (f->anchor && m < 3)
        m = 3;
    if (m > 60)
        m = 60;
    for (int64_t k = 0; k < m; k++) {
        /* now and then an import unrelated to the capability: every heading
         * gets traded somewhere */
        int h = ks_rng_bernoulli(&r, p->p_explore)
                    ? (int)ks_rng_below(&r, (uint64_t)w->np)
                    : ks_synth_nearest_product(w, f->cap + p->import_spread * ks_rng_normal(&r));
        if (s->mark[h])
            continue;
        s->mark[h] = 1;
        KS_CHECK(push_i32(ctx, &f->imports, &f->n_imports, &f->cap_imports, h));
    }
    for (int k = 0; k < f->n_imports; k++)
        s->mark[f->imports[k]] = 0;
    if (f->anchor && f->n_imports == 0)
        KS_CHECK(push_i32(ctx, &f->imports, &f->n_imports, &f->cap_imports,
                          ks_synth_nearest_product(w, f->cap)));
    qsort(f->imports, (size_t)f->n_imports, sizeof *f->imports, cmp_i32);
    return KS_OK;
}

enum { MARK_IMPORT = 1, MARK_CAND = 2, MARK_LAST = 4 };

static void add_candidate(ks_synth_scratch *s, int *n, int i)
{
    if (!(s->mark[i] & MARK_CAND)) {
        s->mark[i] |= MARK_CAND;
        s->cand[(*n)++] = i;
    }
}

/* Candidates: the band around each import, last year's exports, and the
 * headings next to the firm's capability (so non-importers export too). */
static int collect_candidates(const ks_synth_world *w, const ks_synth_firm *f, ks_synth_scratch *s)
{
    int n = 0, band = w->par.band, core = ks_synth_nearest_product(w, f->cap);
    for (int k = 0; k < f->n_imports; k++)
        s->mark[f->imports[k]] |= MARK_IMPORT;
    for (int k = 0; k < f->n_last; k++)
        s->mark[f->last_exports[k]] |= MARK_LAST;
    for (int k = 0; k < f->n_imports; k++)
        for (int d = -band; d <= band; d++)
            add_candidate(s, &n, ((f->imports[k] + d) % w->np + w->np) % w->np);
    for (int k = 0; k < f->n_last; k++)
        add_candidate(s, &n, f->last_exports[k]);
    for (int d = -w->par.core_band; d <= w->par.core_band; d++)
        add_candidate(s, &n, ((core + d) % w->np + w->np) % w->np);
    qsort(s->cand, (size_t)n, sizeof *s->cand, cmp_i32);
    return n;
}

/* density of product i w.r.t. a basket (bitmap `has`, or the firm's import
 * marks when has == NULL): sum_j psi[i,j] x[j] / sum_j psi[i,j]. */
static double true_density(const ks_synth_world *w, int i, const uint8_t *has,
                           const uint8_t *mark)
{
    int band = w->par.band, width = 2 * band + 1;
    const float *row = w->psi + (size_t)i * width;
    double sum = 0;
    for (int k = 0; k < width; k++) {
        int j = ((i + k - band) % w->np + w->np) % w->np;
        if (has ? has[j] != 0 : (mark[j] & MARK_IMPORT) != 0)
            sum += row[k];
    }
    return sum / w->psi_rowsum[i];
}

int ks_synth_firm_exports(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int year,
                          const uint8_t *city_basket, ks_synth_scratch *s, int64_t *stats)
{
    const ks_synth_params *p = &w->par;
    const uint8_t *basket = city_basket + (size_t)f->city * w->np;
    ks_rng r;
    double u;
    int n, rc = KS_OK;
    ks_rng_seed(&r, w->seed, (uint64_t)f->index, (uint64_t)year, KS_SS_EXPORTS);
    u = p->u_sd * ks_rng_normal(&r) + p->size_effect * log(f->scale);
    f->n_exports = 0;
    n = collect_candidates(w, f, s);
    for (int k = 0; k < n && rc == KS_OK; k++) {
        int i = s->cand[k], last = (s->mark[i] & MARK_LAST) != 0;
        double df = true_density(w, i, NULL, s->mark);
        double dc = true_density(w, i, basket, NULL);
        double index = p->b0 + p->a1 * df + p->a2 * dc + p->a3 * df * dc + p->rho * last + u;
        if (ks_rng_uniform(&r) < ks_normal_cdf(index)) {
            rc = push_i32(ctx, &f->exports, &f->n_exports, &f->cap_exports, i);
            stats[KS_ST_REPEAT_EXPORT_CELLS] += last;
        }
    }
    for (int k = 0; k < n; k++)
        s->mark[s->cand[k]] = 0;
    for (int k = 0; k < f->n_imports; k++)
        s->mark[f->imports[k]] = 0;
    return rc;
}

int ks_synth_firm_roll(ks_ctx *ctx, ks_synth_firm *f)
{
    int32_t *tmp = f->last_exports;
    int cap = f->cap_last;
    (void)ctx;
    f->last_exports = f->exports;
    f->n_last = f->n_exports;
    f->cap_last = f->cap_exports;
    f->exports = tmp;
    f->cap_exports = cap;
    f->n_exports = 0;
    return KS_OK;
}
