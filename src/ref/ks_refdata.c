/* ks_refdata.c - load every reference table from its embedded copy.
 *
 * This runs on every rank of every stage, so it reads only what the pipeline
 * uses (a few hundred KB of CSV) and builds flat arrays: a few milliseconds. */
#include "ks_refdata.h"

#include <string.h>

#include "ks_ref_table.h"

typedef int (*ks_ref_reader)(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                             size_t len);

/* One embedded table through its reader. */
static int ks_ref_read(ks_ctx *ctx, ks_refdata *ref, const char *name, ks_ref_reader reader)
{
    size_t len = 0;
    const char *buf = ks_embedded_file(name, &len);
    return reader(ctx, ref, name, buf, len);
}

static int ks_ref_read_conc(ks_ctx *ctx, ks_refdata *ref, int vintage, const char *name)
{
    size_t len = 0;
    const char *buf = ks_embedded_file(name, &len);
    return ks_ref_read_correlation(ctx, ref, vintage, name, buf, len);
}

static int ks_ref_check_units(ks_ctx *ctx, const ks_refdata *ref, const char *name)
{
    size_t len = 0;
    const char *buf = ks_embedded_file(name, &len);
    return ks_ref_check_direct_units(ctx, ref, name, buf, len);
}

/* In dependency order (see ks_ref_table.h). */
static int ks_ref_load_all(ks_ctx *ctx, ks_refdata *ref)
{
    KS_CHECK(ks_ref_read(ctx, ref, "hs/hs_chapters.csv", ks_ref_read_chapters));
    KS_CHECK(ks_ref_read(ctx, ref, "hs/hs2007_hs4.csv", ks_ref_read_headings));
    KS_CHECK(ks_ref_read(ctx, ref, "hs/hs2007_hs6.csv", ks_ref_read_hs2007_identity));
    KS_CHECK(ks_ref_read_conc(ctx, ref, KS_HS2002, "hs/hs2002_to_hs2007.csv"));
    KS_CHECK(ks_ref_read_conc(ctx, ref, KS_HS2012, "hs/hs2012_to_hs2007.csv"));
    KS_CHECK(ks_ref_read(ctx, ref, "geo/provinces.csv", ks_ref_read_provinces));
    KS_CHECK(ks_ref_read(ctx, ref, "geo/prefectures.csv", ks_ref_read_prefectures));
    KS_CHECK(ks_ref_check_units(ctx, ref, "geo/province_direct_units.csv"));
    return KS_OK;
}

int ks_refdata_load(ks_ctx *ctx, ks_refdata *ref)
{
    int rc;
    memset(ref, 0, sizeof *ref);
    memset(ref->province_region, -1, sizeof ref->province_region);
    rc = ks_ref_load_all(ctx, ref);
    if (rc != KS_OK) {
        ks_refdata_free(ref);
        return ks_fail_context(ctx, "loading the reference tables");
    }
    return KS_OK;
}

void ks_refdata_free(ks_refdata *ref)
{
    if (!ref)
        return;
    ks_ref_free_products(ref);
    ks_ref_free_geo(ref);
}
