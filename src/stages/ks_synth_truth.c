/* ks_synth_truth.c - the truth files beside the synthetic data:
 * truth_counts.csv (what a correct ingest must count, per report year) and
 * truth.ini (preset, seed, planted parameters, totals, definitions). */
#include "ks_synth_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tc_name(int col)
{
    static const char *const tail[] = {"split_rows", "flows", "value_kept_micro", "firms_kept"};
    if (col == KS_TC_ROWS)
        return "rows";
    if (col == KS_TC_KEPT)
        return "kept";
    if (col < KS_TC_SPLIT)
        return ks_reason_name(KS_BAD_FIELD_COUNT + col - KS_TC_REASON0);
    return tail[col - KS_TC_SPLIT];
}

/* Write buf to dir/name through a temporary name. */
static int write_atomic(ks_ctx *ctx, const char *dir, const char *name, const ks_buf *buf)
{
    char tmp[KS_PATH_MAX], final[KS_PATH_MAX];
    FILE *fp;
    int n1 = snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    int n2 = snprintf(final, sizeof final, "%s/%s", dir, name);
    if (n1 < 0 || n2 < 0 || n1 >= (int)sizeof tmp || n2 >= (int)sizeof final)
        return ks_fail(ctx, KS_EUSAGE, "path %s/%s is too long", dir, name);
    fp = fopen(tmp, "wb");
    if (!fp)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
    if (fwrite(buf->data, 1, buf->len, fp) != buf->len) {
        fclose(fp);
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (fclose(fp) != 0)
        return ks_fail(ctx, KS_EIO, "cannot close %s: %s", tmp, strerror(errno));
    if (rename(tmp, final) != 0)
        return ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    return KS_OK;
}

static int counts_csv(ks_ctx *ctx, const ks_synth_world *w, const int64_t *counts, ks_buf *b)
{
    KS_CHECK(ks_buf_printf(ctx, b, "year"));
    for (int c = 0; c < KS_TC_NCOLS; c++)
        KS_CHECK(ks_buf_printf(ctx, b, ",%s", tc_name(c)));
    KS_CHECK(ks_buf_printf(ctx, b, "\n"));
    for (int k = 0; k <= w->nyears; k++) {
        KS_CHECK(ks_buf_printf(ctx, b, "%d", k == 0 ? 0 : w->first_year + k - 1));
        for (int c = 0; c < KS_TC_NCOLS; c++)
            KS_CHECK(ks_buf_printf(ctx, b, ",%lld", (long long)counts[k * KS_TC_NCOLS + c]));
        KS_CHECK(ks_buf_printf(ctx, b, "\n"));
    }
    return KS_OK;
}

static int ini_params(ks_ctx *ctx, const ks_synth_world *w, ks_buf *b)
{
    const ks_synth_params *p = &w->par;
    KS_CHECK(ks_buf_printf(ctx, b,
        "\n[population]\nfirms_total = %lld\nfirms_planned_first_year = %d\n"
        "firms_planned_last_year = %d\nsurvival = %g\ntrader_share = %g\nanchor_firms = %d\n"
        "cities = %d\n",
        (long long)w->n_firms, p->n_firms_first, p->n_firms_last, p->survival, p->trader_share,
        p->n_anchor, w->nc));
    KS_CHECK(ks_buf_printf(ctx, b,
        "\n[product_space]\nheadings = %d\nring_length = %g\nchapter_gap = %g\n"
        "position_noise = %g\npsi_scale = %g\npsi_band = %d\n",
        w->np, w->ring_len, p->chapter_gap, p->position_noise, p->psi_scale, p->band));
    KS_CHECK(ks_buf_printf(ctx, b,
        "\n[firms]\ncity_spread = %g\ncapability_drift = %g\nimport_spread = %g\n"
        "p_no_import = %g\np_explore = %g\nlambda_import = %g\nscale_sigma = %g\ncore_band = %d\n",
        p->city_spread, p->drift, p->import_spread, p->p_no_import, p->p_explore, p->lambda_import,
        p->scale_sigma, p->core_band));
    KS_CHECK(ks_buf_printf(ctx, b,
        "\n[export_model]\n; P(export) = Phi(b0 + a1*dF + a2*dC + a3*dF*dC + rho*exported_last_year + u)\n"
        "b0 = %g\na1 = %g\na2 = %g\na3 = %g\nrho = %g\nu_sd = %g\nsize_effect = %g\n",
        p->b0, p->a1, p->a2, p->a3, p->rho, p->u_sd, p->size_effect));
    return ks_buf_printf(ctx, b,
        "\n[values_and_faults]\nvalue_mu = %g\nvalue_sigma = %g\nvalue_size = %g\n"
        "rate_bad = %g\nrate_unknown_city = %g\nrate_unmapped_hs = %g\n",
        p->value_mu, p->value_sigma, p->value_size, p->rate_bad, p->rate_unknown_city,
        p->rate_unmapped);
}

static int ini_totals(ks_ctx *ctx, const ks_synth_world *w, const int64_t *counts,
                      const int64_t *stats, ks_buf *b)
{
    static const char *const stat_names[KS_ST_NSTATS] = {
        "firm_years", "trader_firm_years", "import_cells", "export_cells",
        "repeat_export_cells", "processing_rows", "soe_firm_years"};
    KS_CHECK(ks_buf_printf(ctx, b, "\n[totals]\n"));
    for (int c = 0; c < KS_TC_NCOLS; c++) {
        int64_t sum = 0;
        for (int k = 0; k <= w->nyears; k++)
            sum += counts[k * KS_TC_NCOLS + c];
        KS_CHECK(ks_buf_printf(ctx, b, "%s = %lld\n", tc_name(c), (long long)sum));
    }
    KS_CHECK(ks_buf_printf(ctx, b, "\n[model_stats]\n"));
    for (int s = 0; s < KS_ST_NSTATS; s++)
        KS_CHECK(ks_buf_printf(ctx, b, "%s = %lld\n", stat_names[s], (long long)stats[s]));
    return KS_OK;
}

static int ini_definitions(ks_ctx *ctx, ks_buf *b)
{
    return ks_buf_printf(ctx, b,
        "\n[definitions]\n"
        "year = report year of a row: its year field when the field count is right and the year is a number inside the synth years, else 0\n"
        "rows = data records (a quoted line break does not end a record) attributed to the report year\n"
        "kept = rows passing every check of ks_customs.h\n"
        "reasons = one column per reason field_count..unmapped_hs; a row is counted once, under the first reason in the order of ks_customs.h\n"
        "split_rows = kept rows whose 6-digit code maps in its year's vintage to more than one HS2007 heading\n"
        "flows = distinct (firm_id, year, HS2007 heading, flow) over kept rows; a split row counts for each of its headings\n"
        "value_kept_micro = exact sum of the values of kept rows in micro-USD\n"
        "firms_kept = distinct firm ids with at least one kept row in the year\n"
        "firm_years = live firms x years simulated (traders included)\n"
        "import_cells, export_cells = firm x heading x year cells drawn by the model, before rows and cleaning\n"
        "repeat_export_cells = export cells the firm also exported the year before\n");
}

int ks_synth_write_truth(ks_ctx *ctx, const ks_synth_options *opt, const ks_synth_world *w,
                         const int64_t *counts, const int64_t *stats)
{
    ks_buf csv = {0}, ini = {0};
    int rc = counts_csv(ctx, w, counts, &csv);
    if (rc == KS_OK)
        rc = ks_buf_printf(ctx, &ini,
            "; kspill synth: what was planted and what a correct ingest must count (docs/synth.md)\n"
            "[synth]\npreset = %s\nseed = %llu\nencoding = %s\nfirst_year = %d\nlast_year = %d\n"
            "vintages = HS2002 2002-2006, HS2007 2007-2011, HS2012 2012-2016\n",
            opt->preset, (unsigned long long)opt->seed,
            opt->encoding == KS_ENC_GBK ? "gbk" : "utf8", opt->first_year, opt->last_year);
    if (rc == KS_OK)
        rc = ini_params(ctx, w, &ini);
    if (rc == KS_OK)
        rc = ini_totals(ctx, w, counts, stats, &ini);
    if (rc == KS_OK)
        rc = ini_definitions(ctx, &ini);
    if (rc == KS_OK)
        rc = write_atomic(ctx, opt->outdir, "truth_counts.csv", &csv);
    if (rc == KS_OK)
        rc = write_atomic(ctx, opt->outdir, "truth.ini", &ini);
    ks_buf_free(&csv);
    ks_buf_free(&ini);
    return rc;
}
