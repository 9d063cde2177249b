/* ks_geo.c - provinces, their regions, and prefecture-level cities.
 *
 * A customs location code is a 6-digit county code or a 4-digit prefecture
 * code.  The study's unit is the prefecture-level city, and each of the four
 * municipalities (Beijing 11, Tianjin 12, Shanghai 31, Chongqing 50) is one
 * city, so every code of those provinces maps to its XX00 row.  Any other
 * code maps through its first four digits, which is also how the county codes
 * of the province-direct groups (4190, 4290, 4600, 4690, 6590) reach their
 * group row (data/PROVENANCE.md, docs/reference-data.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"
#include "ks_ref_table.h"

#define KS_CODE4_MAX 10000

const char *ks_region_name(int region)
{
    static const char *const names[KS_NREGIONS] = {"East", "Central", "West", "Northeast"};
    return region >= 0 && region < KS_NREGIONS ? names[region] : "unknown";
}

/* The province is a municipality counted as one city (codes 1100 ... 5000). */
static int ks_ref_is_municipality(int province)
{
    return province == 11 || province == 12 || province == 31 || province == 50;
}

int ks_refdata_city_of_code(const ks_refdata *ref, int64_t code, int ndigits)
{
    int64_t code4;
    if (ndigits == 6 && code >= 0 && code <= 999999)
        code4 = code / 100;
    else if (ndigits == 4 && code >= 0 && code <= 9999)
        code4 = code;
    else
        return -1;
    if (ks_ref_is_municipality((int)(code4 / 100)))
        code4 = code4 / 100 * 100;
    return ref->city_index ? ref->city_index[code4] : -1;
}

int ks_refdata_region_of_province(const ks_refdata *ref, int province)
{
    return province >= 0 && province < 100 ? ref->province_region[province] : -1;
}

/* ---- provinces --------------------------------------------------------- */

static int ks_ref_region_field(ks_ctx *ctx, const ks_ref_table *t, int col, int8_t *out)
{
    for (int r = 0; r < KS_NREGIONS; r++)
        if (ks_ref_table_is(t, col, ks_region_name(r))) {
            *out = (int8_t)r;
            return KS_OK;
        }
    return ks_ref_table_fail(ctx, t, "%s: \"%.*s\" is not East, Central, West or Northeast",
                             t->columns[col], (int)t->rec.fields[col].len,
                             t->rec.fields[col].ptr);
}

static int ks_ref_add_province(ks_ctx *ctx, const ks_ref_table *t, ks_refdata *ref,
                               size_t *cap)
{
    ks_province pv;
    memset(&pv, 0, sizeof pv);
    KS_CHECK(ks_ref_table_code(ctx, t, 0, 2, &pv.code));
    if (ref->n_provinces > 0 && pv.code <= ref->provinces[ref->n_provinces - 1].code)
        return ks_ref_table_fail(ctx, t, "province %02d is not in ascending order",
                                 (int)pv.code);
    KS_CHECK(ks_ref_table_text(ctx, t, 1, pv.name_zh, sizeof pv.name_zh));
    KS_CHECK(ks_ref_table_text(ctx, t, 2, pv.name_en, sizeof pv.name_en));
    KS_CHECK(ks_ref_region_field(ctx, t, 3, &pv.region));
    KS_CHECK(ks_reserve(ctx, &ref->provinces, cap, (size_t)ref->n_provinces + 1,
                        sizeof *ref->provinces, "provinces"));
    ref->provinces[ref->n_provinces++] = pv;
    ref->province_region[pv.code] = pv.region;
    return KS_OK;
}

int ks_ref_read_provinces(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                          size_t len)
{
    static const char *const cols[] = {"code", "name_zh", "name_en", "region"};
    ks_ref_table t;
    size_t cap = 0;
    int has = 0, rc;
    memset(ref->province_region, -1, sizeof ref->province_region);
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 4));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_add_province(ctx, &t, ref, &cap), done);
    }
    if (ref->n_provinces == 0)
        rc = ks_fail(ctx, KS_EINPUT, "data/%s: no provinces", name);
done:
    ks_ref_table_close(&t);
    return rc;
}

/* ---- prefecture-level cities ------------------------------------------- */

enum {
    KS_PF_CODE4, KS_PF_NAME, KS_PF_PROVINCE, KS_PF_LON, KS_PF_LAT, KS_PF_FROM, KS_PF_TO,
    KS_PF_SUCCESSOR, KS_PF_FORMER, KS_PF_NOTE, KS_PF_NCOLS
};

/* Fields of one city row; the successor, former names and note are
 * documentation and not kept. */
static int ks_ref_city_fields(ks_ctx *ctx, const ks_ref_table *t, ks_city *c)
{
    /* China lies within about 73-136 E, 3-54 N; the bounds catch swapped or
     * shifted columns. */
    KS_CHECK(ks_ref_table_code(ctx, t, KS_PF_CODE4, 4, &c->code4));
    KS_CHECK(ks_ref_table_text(ctx, t, KS_PF_NAME, c->name, sizeof c->name));
    KS_CHECK(ks_ref_table_code(ctx, t, KS_PF_PROVINCE, 2, &c->province));
    KS_CHECK(ks_ref_table_number(ctx, t, KS_PF_LON, 70.0, 140.0, &c->lon));
    KS_CHECK(ks_ref_table_number(ctx, t, KS_PF_LAT, 0.0, 60.0, &c->lat));
    KS_CHECK(ks_ref_table_year(ctx, t, KS_PF_FROM, &c->valid_from));
    KS_CHECK(ks_ref_table_year(ctx, t, KS_PF_TO, &c->valid_to));
    if (isnan(c->lon) != isnan(c->lat))
        return ks_ref_table_fail(ctx, t, "lon and lat must both be given or both be blank");
    if (c->valid_from && c->valid_to && c->valid_from > c->valid_to)
        return ks_ref_table_fail(ctx, t, "valid_from %d is after valid_to %d",
                                 (int)c->valid_from, (int)c->valid_to);
    return KS_OK;
}

static int ks_ref_add_city(ks_ctx *ctx, const ks_ref_table *t, ks_refdata *ref, size_t *cap)
{
    ks_city c;
    memset(&c, 0, sizeof c);
    KS_CHECK(ks_ref_city_fields(ctx, t, &c));
    if (ref->n_cities > 0 && c.code4 <= ref->cities[ref->n_cities - 1].code4)
        return ks_ref_table_fail(ctx, t, "code4 %04d is not in ascending order", (int)c.code4);
    if (c.province != c.code4 / 100)
        return ks_ref_table_fail(ctx, t, "province_code %02d does not match code4 %04d",
                                 (int)c.province, (int)c.code4);
    if (ks_refdata_region_of_province(ref, c.province) < 0)
        return ks_ref_table_fail(ctx, t, "province %02d is not in geo/provinces.csv",
                                 (int)c.province);
    if (ks_ref_is_municipality(c.province) && c.code4 != c.province * 100)
        return ks_ref_table_fail(ctx, t, "municipality %02d must be one row %02d00",
                                 (int)c.province, (int)c.province);
    c.region = (int8_t)ks_refdata_region_of_province(ref, c.province);
    KS_CHECK(ks_reserve(ctx, &ref->cities, cap, (size_t)ref->n_cities + 1,
                        sizeof *ref->cities, "cities"));
    ref->cities[ref->n_cities] = c;
    ref->city_index[c.code4] = (int16_t)ref->n_cities;
    ref->n_cities++;
    return KS_OK;
}

int ks_ref_read_prefectures(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                            size_t len)
{
    static const char *const cols[KS_PF_NCOLS] = {
        "code4", "name_zh", "province_code", "lon", "lat", "valid_from", "valid_to",
        "successor_code4", "former_names", "note"};
    ks_ref_table t;
    size_t cap = 0;
    int has = 0, rc;
    if (ref->n_provinces == 0)
        return ks_fail(ctx, KS_EINTERNAL, "data/%s: read the provinces first", name);
    KS_CHECK(ks_calloc(ctx, &ref->city_index, KS_CODE4_MAX, sizeof *ref->city_index,
                       "city index"));
    for (int i = 0; i < KS_CODE4_MAX; i++)
        ref->city_index[i] = -1;
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, KS_PF_NCOLS));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_add_city(ctx, &t, ref, &cap), done);
    }
    if (ref->n_cities == 0)
        rc = ks_fail(ctx, KS_EINPUT, "data/%s: no cities", name);
done:
    ks_ref_table_close(&t);
    return rc;
}

/* ---- province-direct county units -------------------------------------- */

/* The members of the grouping codes are not kept, but each must reach its
 * group row through ks_refdata_city_of_code, which is what ingest relies on. */
static int ks_ref_check_direct_unit(ks_ctx *ctx, const ks_ref_table *t, const ks_refdata *ref)
{
    int32_t code6, group;
    int city;
    KS_CHECK(ks_ref_table_code(ctx, t, 0, 6, &code6));
    KS_CHECK(ks_ref_table_code(ctx, t, 2, 4, &group));
    city = ks_refdata_city_of_code(ref, code6, 6);
    if (city < 0 || ref->cities[city].code4 != group)
        return ks_ref_table_fail(ctx, t, "county %06d does not map to its group_code4 %04d "
                                 "in geo/prefectures.csv", (int)code6, (int)group);
    return KS_OK;
}

int ks_ref_check_direct_units(ks_ctx *ctx, const ks_refdata *ref, const char *name,
                              const char *buf, size_t len)
{
    static const char *const cols[] = {"code6", "name_zh", "group_code4", "province_code",
                                       "lon", "lat", "valid_from", "valid_to", "coord_source"};
    ks_ref_table t;
    int has = 0, rc;
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 9));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_check_direct_unit(ctx, &t, ref), done);
    }
done:
    ks_ref_table_close(&t);
    return rc;
}

void ks_ref_free_geo(ks_refdata *ref)
{
    free(ref->cities);
    free(ref->city_index);
    free(ref->provinces);
    ref->cities = NULL;
    ref->city_index = NULL;
    ref->provinces = NULL;
    ref->n_cities = 0;
    ref->n_provinces = 0;
    memset(ref->province_region, -1, sizeof ref->province_region);
}
