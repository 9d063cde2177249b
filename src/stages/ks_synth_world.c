/* ks_synth_world.c - what every rank builds identically before simulating
 * firms: the preset's parameters, the latent product space with the true
 * proximity psi, the reverse concordances, the cities and the population
 * plan (docs/synth.md describes the model). */
#include "ks_synth_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ks_synth_params_for(ks_ctx *ctx, const char *preset, ks_synth_params *par)
{
    memset(par, 0, sizeof *par);
    if (strcmp(preset, "tiny") == 0) {
        par->n_firms_first = 150;
        par->n_firms_last = 400;
    } else if (strcmp(preset, "demo") == 0) {
        par->n_firms_first = 1200;
        par->n_firms_last = 3500;
    } else if (strcmp(preset, "full") == 0) {
        par->n_firms_first = 60000;
        par->n_firms_last = 300000;
    } else {
        return ks_fail(ctx, KS_EUSAGE, "synth preset '%s' is unknown: use tiny, demo or full",
                       preset);
    }
    par->survival = 0.92;
    par->trader_share = 0.065;
    par->n_anchor = 4;
    par->chapter_gap = 3.0;
    par->position_noise = 0.3;
    par->psi_scale = 3.0;
    par->band = 12;
    par->city_spread = 25.0;
    par->drift = 1.5;
    par->import_spread = 6.0;
    par->p_no_import = 0.15;
    par->p_explore = 0.08;
    par->lambda_import = 4.0;
    par->scale_sigma = 0.8;
    par->b0 = -2.6;
    par->a1 = 5.0;
    par->a2 = 0.9;
    par->a3 = -3.0;
    par->rho = 1.6;
    par->u_sd = 0.3;
    par->size_effect = 0.25;
    par->core_band = 3;
    par->value_mu = log(25000.0);
    par->value_sigma = 1.5;
    par->value_size = 0.7;
    par->rate_bad = 0.0003;
    par->rate_unknown_city = 0.0015;
    par->rate_unmapped = 0.0015;
    if (strcmp(preset, "full") == 0)
        par->lambda_import = 18.0; /* ~20 headings per firm-year, for benchmarks */
    return KS_OK;
}

int ks_synth_vintage_of_year(int year)
{
    return year <= 2006 ? KS_HS2002 : year <= 2011 ? KS_HS2007 : KS_HS2012;
}

double ks_synth_ring_dist(const ks_synth_world *w, double a, double b)
{
    double d = fmod(fabs(a - b), w->ring_len);
    return d > w->ring_len / 2 ? w->ring_len - d : d;
}

int ks_synth_nearest_product(const ks_synth_world *w, double x)
{
    double y = fmod(x, w->ring_len);
    int cell;
    if (y < 0)
        y += w->ring_len;
    cell = (int)(y / w->grid_step);
    if (cell >= w->n_grid)
        cell = w->n_grid - 1;
    return w->grid[cell];
}

/* Headings sit on a ring in code order; a gap separates chapters so that
 * headings of one chapter are closer to each other than to the next chapter. */
static int build_positions(ks_ctx *ctx, ks_synth_world *w)
{
    const ks_products *p = &w->ref->products;
    ks_rng r;
    int chapter_rank = 0;
    ks_rng_seed(&r, w->seed, 0, 0, KS_SS_WORLD);
    KS_CHECK(ks_calloc(ctx, &w->pos, (size_t)w->np, sizeof *w->pos, "synth product positions"));
    for (int i = 0; i < w->np; i++) {
        if (i > 0 && p->hs2[i] != p->hs2[i - 1])
            chapter_rank++;
        w->pos[i] = i + w->par.chapter_gap * chapter_rank + w->par.position_noise * ks_rng_normal(&r);
    }
    w->ring_len = w->np + w->par.chapter_gap * (chapter_rank + 1);
    return KS_OK;
}

/* A lookup table ring cell -> nearest heading, for drawing products near a
 * continuous capability.  The scan wraps around the ring. */
static int build_grid(ks_ctx *ctx, ks_synth_world *w)
{
    int j = 0;
    w->grid_step = 0.25;
    w->n_grid = (int)ceil(w->ring_len / w->grid_step);
    KS_CHECK(ks_calloc(ctx, &w->grid, (size_t)w->n_grid, sizeof *w->grid, "synth ring grid"));
    for (int c = 0; c < w->n_grid; c++) {
        double x = (c + 0.5) * w->grid_step;
        while (j + 1 < w->np && fabs(w->pos[j + 1] - x) <= fabs(w->pos[j] - x))
            j++;
        w->grid[c] = j;
        if (j == w->np - 1 || j == 0) {
            /* near the ends, the other end of the ring may be closer */
            int other = j == 0 ? w->np - 1 : 0;
            if (ks_synth_ring_dist(w, w->pos[other], x) < ks_synth_ring_dist(w, w->pos[j], x))
                w->grid[c] = other;
        }
    }
    return KS_OK;
}

static int build_psi(ks_ctx *ctx, ks_synth_world *w)
{
    int width = 2 * w->par.band + 1;
    double s2 = 2.0 * w->par.psi_scale * w->par.psi_scale;
    KS_CHECK(ks_calloc(ctx, &w->psi, (size_t)w->np * width, sizeof *w->psi, "synth psi band"));
    KS_CHECK(ks_calloc(ctx, &w->psi_rowsum, (size_t)w->np, sizeof *w->psi_rowsum, "synth psi sums"));
    for (int i = 0; i < w->np; i++) {
        for (int k = 0; k < width; k++) {
            int j = ((i + k - w->par.band) % w->np + w->np) % w->np;
            double d = ks_synth_ring_dist(w, w->pos[i], w->pos[j]);
            float v = (float)exp(-d * d / s2);
            w->psi[(size_t)i * width + k] = v;
            w->psi_rowsum[i] += v;
        }
    }
    return KS_OK;
}

/* rev[v][h]: the codes of vintage v whose targets include heading h, so
 * that a row for heading h can carry a code customs really used that year. */
static int build_reverse(ks_ctx *ctx, ks_synth_world *w, int v)
{
    const ks_concordance *c = &w->ref->conc[v];
    int32_t *fill;
    int rc;
    KS_CHECK(ks_calloc(ctx, &w->rev_off[v], (size_t)w->np + 1, sizeof(int32_t), "synth reverse index"));
    for (int k = 0; k < c->n_codes; k++)
        for (int32_t t = c->offset[c->codes[k]]; t < c->offset[c->codes[k] + 1]; t++)
            w->rev_off[v][c->targets[t] + 1]++;
    for (int h = 0; h < w->np; h++)
        w->rev_off[v][h + 1] += w->rev_off[v][h];
    KS_CHECK(ks_calloc(ctx, &w->rev_code[v], (size_t)w->rev_off[v][w->np] + 1, sizeof(int32_t),
                       "synth reverse codes"));
    rc = ks_calloc(ctx, &fill, (size_t)w->np, sizeof *fill, "synth reverse fill");
    if (rc != KS_OK)
        return rc;
    for (int k = 0; k < c->n_codes; k++)
        for (int32_t t = c->offset[c->codes[k]]; t < c->offset[c->codes[k] + 1]; t++) {
            int h = c->targets[t];
            w->rev_code[v][w->rev_off[v][h] + fill[h]++] = c->codes[k];
        }
    free(fill);
    return KS_OK;
}

/* Well-formed codes that vintage v does not know: codes of the other
 * vintages absent from v (e.g. an HS2012-only code in 2004), and 999999. */
static int build_unmapped(ks_ctx *ctx, ks_synth_world *w, int v)
{
    size_t cap = 1;
    int n;
    for (int o = 0; o < KS_NVINTAGES; o++)
        cap += (size_t)w->ref->conc[o].n_codes;
    KS_CHECK(ks_calloc(ctx, &w->unmapped[v], cap, sizeof(int32_t), "synth unmapped codes"));
    for (int o = 0; o < KS_NVINTAGES; o++) {
        const ks_concordance *c = &w->ref->conc[o];
        if (o == v)
            continue;
        for (int k = 0; k < c->n_codes; k++) {
            int32_t code = c->codes[k];
            ks_refdata_hs6_targets(w->ref, v, code, &n);
            if (n == 0)
                w->unmapped[v][w->n_unmapped[v]++] = code;
        }
    }
    ks_refdata_hs6_targets(w->ref, v, 999999, &n);
    if (n == 0)
        w->unmapped[v][w->n_unmapped[v]++] = 999999;
    return w->n_unmapped[v] > 0
               ? KS_OK
               : ks_fail(ctx, KS_EINTERNAL, "synth: no unmapped HS code found for vintage %d", v);
}

/* Share of customs firms by province (roughly the real geography of trade:
 * ~78% East, Guangdong, Jiangsu, Zhejiang, Shanghai, Shandong and Fujian
 * first); provinces not listed get a small weight. */
static double province_weight(int province)
{
    static const struct { int code; double w; } table[] = {
        {44, .22}, {32, .15}, {33, .13}, {31, .08}, {37, .07}, {35, .05}, {11, .035},
        {12, .025}, {13, .012}, {46, .004}, {21, .035}, {22, .01}, {23, .015}, {14, .005},
        {34, .015}, {36, .01}, {41, .015}, {42, .02}, {43, .015}, {50, .012}, {51, .018},
        {52, .004}, {45, .01}, {53, .008}, {54, .0005}, {15, .004}, {61, .01}, {62, .003},
        {64, .0015}, {63, .0008}, {65, .008},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (table[k].code == province)
            return table[k].w;
    return 0.001;
}

static int city_usable(const ks_synth_world *w, const ks_city *c)
{
    int code = c->code4;
    if (code % 100 == 90 || code == 4600) /* province-administered county groups */
        return 0;
    if (c->valid_from != 0 && c->valid_from > w->first_year)
        return 0;
    if (c->valid_to != 0 && c->valid_to <= w->last_year)
        return 0;
    return c->region >= 0 && c->region < KS_NREGIONS;
}

/* Within a province the first codes (the capital, the old big cities) get
 * more firms: Zipf weights in code order, with a seeded jitter. */
static int build_cities(ks_ctx *ctx, ks_synth_world *w)
{
    const ks_refdata *ref = w->ref;
    int rank_in_province = 0, last_province = -1;
    size_t n = (size_t)ref->n_cities;
    KS_CHECK(ks_calloc(ctx, &w->city_ref, n, sizeof *w->city_ref, "synth cities"));
    KS_CHECK(ks_calloc(ctx, &w->city_cum, n, sizeof *w->city_cum, "synth city weights"));
    KS_CHECK(ks_calloc(ctx, &w->city_centre, n * KS_SYNTH_MAX_CENTRES, sizeof(double), "synth centres"));
    KS_CHECK(ks_calloc(ctx, &w->city_ncentre, n, sizeof(int), "synth centres"));
    KS_CHECK(ks_calloc(ctx, &w->city_soe, n, sizeof(double), "synth city SOE factors"));
    for (int i = 0; i < ref->n_cities; i++) {
        const ks_city *c = &ref->cities[i];
        ks_rng r;
        double weight;
        if (!city_usable(w, c))
            continue;
        ks_rng_seed(&r, w->seed, (uint64_t)c->code4, 0, KS_SS_CITY);
        rank_in_province = c->province == last_province ? rank_in_province + 1 : 0;
        last_province = c->province;
        weight = province_weight(c->province) / pow(rank_in_province + 1.0, 0.9) *
                 ks_rng_lognormal(&r, 0.0, 0.5);
        w->city_ref[w->nc] = i;
        w->city_cum[w->nc] = (w->nc > 0 ? w->city_cum[w->nc - 1] : 0.0) + weight;
        /* bigger cities have more specialisations */
        w->city_ncentre[w->nc] = 1 + (int)ks_rng_below(&r, weight > 0.01 ? 4 : 2);
        for (int k = 0; k < KS_SYNTH_MAX_CENTRES; k++)
            w->city_centre[w->nc * KS_SYNTH_MAX_CENTRES + k] = ks_rng_uniform(&r) * w->ring_len;
        w->city_soe[w->nc] = ks_rng_lognormal(&r, 0.0, 0.4);
        w->nc++;
    }
    if (w->nc == 0)
        return ks_fail(ctx, KS_EINPUT, "synth: no city of the reference tables is valid in %d-%d",
                       w->first_year, w->last_year);
    return KS_OK;
}

/* Location codes that are well formed but name no city: Taiwan, Hong Kong,
 * Macao, and 99xx codes some customs extracts carry. */
static void build_unknown_codes(ks_synth_world *w)
{
    static const int candidates[] = {7100, 8100, 8200, 9901, 9900, 9999};
    for (size_t k = 0; k < sizeof candidates / sizeof candidates[0]; k++)
        if (w->ref->city_index[candidates[k]] < 0 && w->n_unknown < 8)
            w->unknown_codes[w->n_unknown++] = candidates[k];
}

/* Planned live firms in a year: geometric growth from n_firms_first in 2002
 * to n_firms_last in 2016, whatever years are written. */
static double planned_firms(const ks_synth_params *p, int year)
{
    double t = (double)(year - KS_SYNTH_MIN_YEAR) / (KS_SYNTH_MAX_YEAR - KS_SYNTH_MIN_YEAR);
    return p->n_firms_first * pow((double)p->n_firms_last / p->n_firms_first, t);
}

/* Entrants per year so that the expected number of live firms follows the
 * plan: the first year written starts with its planned population. */
static int build_population(ks_ctx *ctx, ks_synth_world *w)
{
    const ks_synth_params *p = &w->par;
    KS_CHECK(ks_calloc(ctx, &w->entry_start, (size_t)w->nyears + 1, sizeof(int64_t), "synth plan"));
    w->entry_start[1] = llround(planned_firms(p, w->first_year));
    for (int k = 1; k < w->nyears; k++) {
        double entrants = planned_firms(p, w->first_year + k) -
                          p->survival * planned_firms(p, w->first_year + k - 1);
        w->entry_start[k + 1] = w->entry_start[k] + (entrants > 0 ? (int64_t)llround(entrants) : 0);
    }
    w->n_firms = w->entry_start[w->nyears];
    if (w->n_firms > 1000000)
        return ks_fail(ctx, KS_EINTERNAL, "synth: %lld firms do not fit 6-digit firm serials",
                       (long long)w->n_firms);
    w->id_offset = ks_rng_hash(w->seed, 0, 0, KS_SS_NAME) % 1000000;
    return KS_OK;
}

int ks_synth_entry_year(const ks_synth_world *w, int64_t firm)
{
    int k = 0;
    while (k + 1 < w->nyears && firm >= w->entry_start[k + 1])
        k++;
    return w->first_year + k;
}

int ks_synth_world_build(ks_ctx *ctx, ks_synth_world *w, const ks_refdata *ref,
                         const ks_synth_options *opt)
{
    memset(w, 0, sizeof *w);
    w->ref = ref;
    w->seed = opt->seed;
    snprintf(w->preset, sizeof w->preset, "%s", opt->preset);
    w->first_year = opt->first_year;
    w->last_year = opt->last_year;
    w->nyears = opt->last_year - opt->first_year + 1;
    if (opt->first_year < KS_SYNTH_MIN_YEAR || opt->last_year > KS_SYNTH_MAX_YEAR || w->nyears < 1)
        return ks_fail(ctx, KS_EUSAGE, "synth years %d-%d must lie inside %d-%d", opt->first_year,
                       opt->last_year, KS_SYNTH_MIN_YEAR, KS_SYNTH_MAX_YEAR);
    KS_CHECK(ks_synth_params_for(ctx, opt->preset, &w->par));
    w->np = ref->products.n;
    if (w->np < 2 * w->par.band + 1)
        return ks_fail(ctx, KS_EINPUT, "synth: only %d HS2007 headings in the tables", w->np);
    KS_CHECK(build_positions(ctx, w));
    KS_CHECK(build_grid(ctx, w));
    KS_CHECK(build_psi(ctx, w));
    for (int v = 0; v < KS_NVINTAGES; v++) {
        KS_CHECK(build_reverse(ctx, w, v));
        KS_CHECK(build_unmapped(ctx, w, v));
    }
    KS_CHECK(build_cities(ctx, w));
    build_unknown_codes(w);
    if (w->n_unknown == 0)
        return ks_fail(ctx, KS_EINTERNAL, "synth: every candidate unknown city code is a city");
    return build_population(ctx, w);
}

void ks_synth_world_free(ks_synth_world *w)
{
    free(w->pos);
    free(w->grid);
    free(w->psi);
    free(w->psi_rowsum);
    for (int v = 0; v < KS_NVINTAGES; v++) {
        free(w->rev_off[v]);
        free(w->rev_code[v]);
        free(w->unmapped[v]);
    }
    free(w->city_ref);
    free(w->city_cum);
    free(w->city_centre);
    free(w->city_ncentre);
    free(w->city_soe);
    free(w->entry_start);
    memset(w, 0, sizeof *w);
}
