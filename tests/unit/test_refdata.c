/* test_refdata.c - the embedded reference tables: counts, hand-checked
 * lookups read off the CSV files in data/, and the validation messages.
 *
 * Expected values come from data/PROVENANCE.md and from reading the files,
 * e.g. hs/hs2002_to_hs2007.csv has "847330,844399 / 847330 / 851770 /
 * 852990" (four headings) and hs/hs2012_to_hs2007.csv "010130,010110 /
 * 010190" (one heading, 0101). */
#include <math.h>
#include <string.h>
#include <time.h>

#include "ks_ref_table.h"
#include "ks_refdata.h"
#include "ks_test.h"

static ks_ctx g_ctx;
static ks_refdata g_ref;
static int g_loaded;

/* Load once for the read-only tests; the suite frees it at the end. */
static const ks_refdata *ref(void)
{
    if (!g_loaded) {
        ks_ctx_init(&g_ctx, MPI_COMM_NULL);
        if (ks_refdata_load(&g_ctx, &g_ref) != KS_OK)
            fprintf(stderr, "ks_refdata_load: %s\n", g_ctx.msg);
        g_loaded = 1;
    }
    return &g_ref;
}

/* The HS4 headings of a code's targets, as codes; returns how many. */
static int targets_hs4(int vintage, int32_t hs6, int32_t *out, int max)
{
    const ks_refdata *r = ref();
    int n = 0;
    const int32_t *t = ks_refdata_hs6_targets(r, vintage, hs6, &n);
    for (int i = 0; i < n && i < max; i++)
        out[i] = r->products.hs4[t[i]];
    return n;
}

static int city_code4(int64_t code, int ndigits)
{
    int c = ks_refdata_city_of_code(ref(), code, ndigits);
    return c < 0 ? -1 : ref()->cities[c].code4;
}

/* ---- loaded tables ----------------------------------------------------- */

static void test_load(void)
{
    const ks_refdata *r = ref();
    CU_ASSERT_EQUAL_FATAL(g_ctx.code, KS_OK);
    CU_ASSERT_EQUAL(r->products.n, 1221);
    CU_ASSERT_EQUAL(r->n_chapters, 96);
    CU_ASSERT_EQUAL(r->n_cities, 371);
    CU_ASSERT_EQUAL(r->n_provinces, 31);
}

static void test_products(void)
{
    const ks_products *p = &ref()->products;
    CU_ASSERT_EQUAL_FATAL(p->n, 1221);
    CU_ASSERT_EQUAL(p->hs4[0], 101);
    CU_ASSERT_EQUAL(p->hs4[p->n - 1], 9706);
    for (int i = 1; i < p->n; i++)
        CU_ASSERT_TRUE_FATAL(p->hs4[i - 1] < p->hs4[i]);
    for (int i = 0; i < p->n; i++) {
        CU_ASSERT_EQUAL_FATAL(p->index_of_hs4[p->hs4[i]], i);
        CU_ASSERT_EQUAL_FATAL(p->hs2[i], p->hs4[i] / 100);
    }
    /* a quoted description with a comma */
    CU_ASSERT_STRING_EQUAL(p->desc[0], "Horses, asses, mules and hinnies; live");
    CU_ASSERT_STRING_EQUAL(p->desc[p->n - 1], "Antiques; of an age exceeding one hundred years");
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), 101), 0);
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), 8473) >= 0, 1);
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), 7701), -1);
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), 9999), -1);
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), -1), -1);
    CU_ASSERT_EQUAL(ks_refdata_product_of_hs4(ref(), 10000), -1);
}

static void test_chapters(void)
{
    const ks_refdata *r = ref();
    int has77 = 0;
    CU_ASSERT_EQUAL_FATAL(r->n_chapters, 96);
    CU_ASSERT_EQUAL(r->chapters[0], 1);
    CU_ASSERT_EQUAL(r->chapters[95], 97);
    for (int i = 0; i < r->n_chapters; i++)
        has77 |= r->chapters[i] == 77;
    CU_ASSERT_FALSE(has77); /* reserved, does not exist */
}

/* The CSR arrays are consistent: every known code has ascending distinct
 * targets, codes[] lists exactly the codes with targets. */
static void check_concordance(int vintage, int n_codes, int n_split)
{
    const ks_concordance *c = &ref()->conc[vintage];
    int known = 0, split = 0, k = 0;
    CU_ASSERT_EQUAL_FATAL(c->offset[0], 0);
    for (int32_t code = 0; code < 1000000; code++) {
        int n = c->offset[code + 1] - c->offset[code];
        CU_ASSERT_TRUE_FATAL(n >= 0);
        if (n == 0)
            continue;
        known++;
        split += n > 1;
        CU_ASSERT_TRUE_FATAL(k < c->n_codes && c->codes[k] == code);
        k++;
        for (int i = 1; i < n; i++)
            CU_ASSERT_TRUE_FATAL(c->targets[c->offset[code] + i - 1] <
                                 c->targets[c->offset[code] + i]);
    }
    CU_ASSERT_EQUAL(known, n_codes);
    CU_ASSERT_EQUAL(c->n_codes, n_codes);
    CU_ASSERT_EQUAL(split, n_split);
    CU_ASSERT_EQUAL(c->n_split, n_split);
}

static void test_concordance_counts(void)
{
    /* data/PROVENANCE.md: HS2002 5,224 codes, 146 across headings; HS2012
     * 5,205 codes, 33 across headings; 5,052 HS2007 subheadings. */
    check_concordance(KS_HS2002, 5224, 146);
    check_concordance(KS_HS2012, 5205, 33);
    check_concordance(KS_HS2007, 5052, 0);
}

static void test_hs2002_lookups(void)
{
    int32_t h[16];
    /* 282590 -> 282590, 285200: two headings */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2002, 282590, h, 16), 2);
    CU_ASSERT_EQUAL(h[0], 2825);
    CU_ASSERT_EQUAL(h[1], 2852);
    /* 847330 -> 844399, 847330, 851770, 852990: four headings */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2002, 847330, h, 16), 4);
    CU_ASSERT_EQUAL(h[0], 8443);
    CU_ASSERT_EQUAL(h[1], 8473);
    CU_ASSERT_EQUAL(h[2], 8517);
    CU_ASSERT_EQUAL(h[3], 8529);
    /* 030199 -> 030194, 030195, 030199: three subheadings, one heading */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2002, 30199, h, 16), 1);
    CU_ASSERT_EQUAL(h[0], 301);
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2002, 10110, h, 16), 1);
    CU_ASSERT_EQUAL(h[0], 101);
    CU_ASSERT_EQUAL(ref()->conc[KS_HS2002].codes[0], 10110);
}

static void test_hs2012_lookups(void)
{
    int32_t h[16];
    /* 010130 -> 010110, 010190: heading 0101 once */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2012, 10130, h, 16), 1);
    CU_ASSERT_EQUAL(h[0], 101);
    /* 030611 -> 030611, 160540 */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2012, 30611, h, 16), 2);
    CU_ASSERT_EQUAL(h[0], 306);
    CU_ASSERT_EQUAL(h[1], 1605);
    /* 285290 reaches 13 headings, 2830 ... 3824 */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2012, 285290, h, 16), 13);
    CU_ASSERT_EQUAL(h[0], 2830);
    CU_ASSERT_EQUAL(h[12], 3824);
}

static void test_unknown_and_identity(void)
{
    int32_t h[4];
    /* 010110 is HS2002/HS2007 but not HS2012 (horses became 010121/29) */
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2012, 10110, h, 4), 0);
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2002, 999999, h, 4), 0);
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2007, 10130, h, 4), 0);
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2007, -1, h, 4), 0);
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2007, 1000000, h, 4), 0);
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2002, 0, h, 4), 0);
    /* HS2007 is the identity at heading level */
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2007, 847330, h, 4), 1);
    CU_ASSERT_EQUAL(h[0], 8473);
    CU_ASSERT_EQUAL_FATAL(targets_hs4(KS_HS2007, 10110, h, 4), 1);
    CU_ASSERT_EQUAL(h[0], 101);
    /* HS2007 291636 exists, though no HS2012 code reaches it */
    CU_ASSERT_EQUAL(targets_hs4(KS_HS2007, 291636, h, 4), 1);
}

static void test_provinces(void)
{
    const ks_refdata *r = ref();
    int count[KS_NREGIONS] = {0};
    for (int i = 0; i < r->n_provinces; i++) {
        CU_ASSERT_TRUE_FATAL(r->provinces[i].region >= 0 && r->provinces[i].region < KS_NREGIONS);
        count[r->provinces[i].region]++;
        CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, r->provinces[i].code),
                        r->provinces[i].region);
    }
    CU_ASSERT_EQUAL(count[KS_REGION_EAST], 10);
    CU_ASSERT_EQUAL(count[KS_REGION_CENTRAL], 6);
    CU_ASSERT_EQUAL(count[KS_REGION_WEST], 12);
    CU_ASSERT_EQUAL(count[KS_REGION_NORTHEAST], 3);
    CU_ASSERT_EQUAL(r->provinces[0].code, 11);
    CU_ASSERT_STRING_EQUAL(r->provinces[0].name_zh, "北京市");
    CU_ASSERT_STRING_EQUAL(r->provinces[0].name_en, "Beijing");
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, 50), KS_REGION_WEST); /* Chongqing */
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, 46), KS_REGION_EAST); /* Hainan */
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, 15), KS_REGION_WEST); /* Inner Mongolia */
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, 71), -1);             /* Taiwan */
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, -1), -1);
    CU_ASSERT_EQUAL(ks_refdata_region_of_province(r, 100), -1);
    CU_ASSERT_STRING_EQUAL(ks_region_name(KS_REGION_EAST), "East");
    CU_ASSERT_STRING_EQUAL(ks_region_name(KS_REGION_NORTHEAST), "Northeast");
    CU_ASSERT_STRING_EQUAL(ks_region_name(4), "unknown");
}

static void test_city_of_code(void)
{
    CU_ASSERT_EQUAL(city_code4(110105, 6), 1100);
    CU_ASSERT_EQUAL(city_code4(1100, 4), 1100);
    CU_ASSERT_EQUAL(city_code4(1101, 4), 1100);
    CU_ASSERT_EQUAL(city_code4(120000, 6), 1200);
    CU_ASSERT_EQUAL(city_code4(310115, 6), 3100);
    CU_ASSERT_EQUAL(city_code4(500101, 6), 5000);
    CU_ASSERT_EQUAL(city_code4(500230, 6), 5000);
    CU_ASSERT_EQUAL(city_code4(320583, 6), 3205);
    CU_ASSERT_EQUAL(city_code4(3205, 4), 3205);
    CU_ASSERT_EQUAL(city_code4(4190, 4), 4190);
    CU_ASSERT_EQUAL(city_code4(419001, 6), 4190);
    CU_ASSERT_EQUAL(city_code4(469001, 6), 4690);
    CU_ASSERT_EQUAL(city_code4(460025, 6), 4600);
    CU_ASSERT_EQUAL(city_code4(659001, 6), 6590);
    CU_ASSERT_EQUAL(city_code4(3414, 4), 3414); /* abolished 2011, still known */
    CU_ASSERT_EQUAL(city_code4(9999, 4), -1);
    CU_ASSERT_EQUAL(city_code4(710000, 6), -1); /* Taiwan */
    CU_ASSERT_EQUAL(city_code4(4400, 4), -1);   /* a province, not a city */
    CU_ASSERT_EQUAL(city_code4(32058, 5), -1);
    CU_ASSERT_EQUAL(city_code4(320583, 4), -1); /* digits and value disagree */
    CU_ASSERT_EQUAL(city_code4(-1, 6), -1);
    CU_ASSERT_EQUAL(city_code4(1000000, 6), -1);
    CU_ASSERT_EQUAL(city_code4(11010500, 8), -1);
}

static void test_cities(void)
{
    const ks_refdata *r = ref();
    static const struct { int code4; int region; const char *name; } known[] = {
        {4401, KS_REGION_EAST, "广州市"},      {2101, KS_REGION_NORTHEAST, "沈阳市"},
        {5101, KS_REGION_WEST, "成都市"},      {4101, KS_REGION_CENTRAL, "郑州市"},
        {1100, KS_REGION_EAST, "北京市"},      {5000, KS_REGION_WEST, "重庆市"},
        {4690, KS_REGION_EAST, "省直辖县级行政区划"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int c = ks_refdata_city_of_code(r, known[i].code4, 4);
        CU_ASSERT_TRUE_FATAL(c >= 0);
        CU_ASSERT_EQUAL(r->cities[c].region, known[i].region);
        CU_ASSERT_EQUAL(r->cities[c].province, known[i].code4 / 100);
        CU_ASSERT_STRING_EQUAL(r->cities[c].name, known[i].name);
    }
    for (int i = 0; i < r->n_cities; i++) {
        CU_ASSERT_EQUAL_FATAL(r->city_index[r->cities[i].code4], i);
        if (i)
            CU_ASSERT_TRUE_FATAL(r->cities[i - 1].code4 < r->cities[i].code4);
    }
}

static void test_city_fields(void)
{
    const ks_refdata *r = ref();
    const ks_city *c;
    int with_point = 0;
    c = &r->cities[ks_refdata_city_of_code(r, 4401, 4)];
    CU_ASSERT_DOUBLE_EQUAL(c->lon, 113.280637, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c->lat, 23.125178, 1e-9);
    CU_ASSERT_EQUAL(c->valid_from, 0);
    CU_ASSERT_EQUAL(c->valid_to, 0);
    c = &r->cities[ks_refdata_city_of_code(r, 3414, 4)];
    CU_ASSERT_EQUAL(c->valid_from, 1999);
    CU_ASSERT_EQUAL(c->valid_to, 2011);
    c = &r->cities[ks_refdata_city_of_code(r, 5205, 4)];
    CU_ASSERT_EQUAL(c->valid_from, 2011);
    CU_ASSERT_EQUAL(c->valid_to, 0);
    c = &r->cities[ks_refdata_city_of_code(r, 4290, 4)];
    CU_ASSERT_TRUE(isnan(c->lon) && isnan(c->lat));
    for (int i = 0; i < r->n_cities; i++)
        with_point += !isnan(r->cities[i].lon);
    CU_ASSERT_EQUAL(with_point, 365); /* PROVENANCE: 365 of 371 rows */
}

static void test_load_time(void)
{
    ks_ctx ctx;
    ks_refdata r;
    struct timespec t0, t1;
    const int reps = 10;
    double ms;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < reps; i++) {
        CU_ASSERT_EQUAL_FATAL(ks_refdata_load(&ctx, &r), KS_OK);
        ks_refdata_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / reps;
    printf("\n    ks_refdata_load: %.2f ms per load ", ms);
    CU_ASSERT_TRUE(ms < 250.0); /* generous: sanitizer builds are several times slower */
    ks_refdata_free(&r); /* a second free is harmless */
}

/* ---- validation messages ----------------------------------------------- */

/* Run one reader on a literal table into a fresh struct; returns its code
 * and leaves the message in ctx. */
static int read_fresh(ks_ctx *ctx, int (*reader)(ks_ctx *, ks_refdata *, const char *,
                                                 const char *, size_t),
                      const char *name, const char *text)
{
    ks_refdata r;
    int rc;
    memset(&r, 0, sizeof r);
    ks_ctx_init(ctx, MPI_COMM_NULL);
    rc = reader(ctx, &r, name, text, strlen(text));
    ks_refdata_free(&r);
    return rc;
}

static void expect_error(int rc, const ks_ctx *ctx, const char *where, const char *what)
{
    CU_ASSERT_EQUAL(rc, KS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx->msg, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx->msg, what));
    if (!strstr(ctx->msg, where) || !strstr(ctx->msg, what))
        fprintf(stderr, "\n    message: %s\n", ctx->msg);
}

static void test_errors_provinces(void)
{
    ks_ctx ctx;
    int rc;
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv", "code,name,name_en,region\n");
    expect_error(rc, &ctx, "data/geo/p.csv:1:", "\"name_zh\"");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv", "");
    expect_error(rc, &ctx, "data/geo/p.csv:1:", "empty");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv",
                    "code,name_zh,name_en,region\n11,a,b,East\n12,a,b\n");
    expect_error(rc, &ctx, "data/geo/p.csv:3:", "expected 4 fields, found 3");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv",
                    "code,name_zh,name_en,region\n11,a,b,South\n");
    expect_error(rc, &ctx, "data/geo/p.csv:2:", "South");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv",
                    "code,name_zh,name_en,region\n12,a,b,East\n11,a,b,East\n");
    expect_error(rc, &ctx, "data/geo/p.csv:3:", "ascending");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv",
                    "code,name_zh,name_en,region\n1,a,b,East\n");
    expect_error(rc, &ctx, "data/geo/p.csv:2:", "2-digit");
    rc = read_fresh(&ctx, ks_ref_read_provinces, "geo/p.csv",
                    "code,name_zh,name_en,region\n11,\"a,b\",\"Bei\"\"jing\",Northeast\n");
    CU_ASSERT_EQUAL(rc, KS_OK);
}

static void test_errors_headings(void)
{
    static const char chapters[] = "hs2,section,section_no,description\n01,I,1,Animals\n";
    ks_ctx ctx;
    ks_refdata r;
    int rc;
    memset(&r, 0, sizeof r);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_ref_read_chapters(&ctx, &r, "hs/c.csv", chapters,
                                               strlen(chapters)), KS_OK);
    /* quoting: a comma and a doubled quote inside a description */
    {
        static const char ok[] = "hs4,description\n0101,\"Horses, \"\"live\"\"\"\n";
        CU_ASSERT_EQUAL_FATAL(ks_ref_read_headings(&ctx, &r, "hs/h.csv", ok, strlen(ok)),
                              KS_OK);
        CU_ASSERT_EQUAL(r.products.n, 1);
        CU_ASSERT_STRING_EQUAL(r.products.desc[0], "Horses, \"live\"");
        ks_ref_free_products(&r);
    }
    CU_ASSERT_EQUAL_FATAL(ks_ref_read_chapters(&ctx, &r, "hs/c.csv", chapters,
                                               strlen(chapters)), KS_OK);
    {
        static const char bad[] = "hs4,description\n0101,a\n101,b\n";
        rc = ks_ref_read_headings(&ctx, &r, "hs/h.csv", bad, strlen(bad));
        expect_error(rc, &ctx, "data/hs/h.csv:3:", "4-digit");
        ks_ref_free_products(&r);
    }
    CU_ASSERT_EQUAL_FATAL(ks_ref_read_chapters(&ctx, &r, "hs/c.csv", chapters,
                                               strlen(chapters)), KS_OK);
    {
        static const char bad[] = "hs4,description\n0201,a\n";
        rc = ks_ref_read_headings(&ctx, &r, "hs/h.csv", bad, strlen(bad));
        expect_error(rc, &ctx, "data/hs/h.csv:2:", "chapter 02");
    }
    ks_refdata_free(&r);
}

/* A correlation table read into a scratch copy of the loaded tables, so that
 * the real HS2007 subheadings validate its to_hs6 column. */
static int read_correlation(ks_ctx *ctx, const char *text, int *n_codes, int *n_split)
{
    ks_refdata scratch = *ref();
    ks_concordance *c = &scratch.conc[KS_HS2002];
    int rc;
    memset(c, 0, sizeof *c);
    ks_ctx_init(ctx, MPI_COMM_NULL);
    rc = ks_ref_read_correlation(ctx, &scratch, KS_HS2002, "hs/x.csv", text, strlen(text));
    *n_codes = c->n_codes;
    *n_split = c->n_split;
    ks_ref_free_concordance(c);
    return rc;
}

static void test_errors_correlation(void)
{
    ks_ctx ctx;
    int rc, n = 0, split = 0;
    rc = read_correlation(&ctx, "from_hs6,to_hs6\n010110,010110\n010190,999999\n", &n, &split);
    expect_error(rc, &ctx, "data/hs/x.csv:3:", "999999");
    rc = read_correlation(&ctx, "from_hs6,to_hs6\n010110,010110\n010110,010110\n", &n, &split);
    expect_error(rc, &ctx, "data/hs/x.csv:3:", "repeats line 2");
    rc = read_correlation(&ctx, "from_hs6,to_hs6\n010110,10110\n", &n, &split);
    expect_error(rc, &ctx, "data/hs/x.csv:2:", "6-digit");
    rc = read_correlation(&ctx, "from,to\n", &n, &split);
    expect_error(rc, &ctx, "data/hs/x.csv:1:", "from_hs6");
    rc = read_correlation(&ctx, "from_hs6,to_hs6\n010110,\"010110\n", &n, &split);
    expect_error(rc, &ctx, "data/hs/x.csv:2:", "quoting");
    /* unsorted rows are fine; two subheadings of one heading count once */
    rc = read_correlation(&ctx, "from_hs6,to_hs6\n282590,285200\n010130,010190\n"
                          "010130,010110\n282590,282590\n", &n, &split);
    CU_ASSERT_EQUAL(rc, KS_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(split, 1);
}

static void test_errors_prefectures(void)
{
    static const char provinces[] = "code,name_zh,name_en,region\n11,a,b,East\n32,c,d,East\n";
    static const char head[] = "code4,name_zh,province_code,lon,lat,valid_from,valid_to,"
                               "successor_code4,former_names,note\n";
    static const struct { const char *row; const char *what; } bad[] = {
        {"3205,x,33,120.6,31.3,,,,,\n", "does not match"},
        {"3205,x,32,200,31.3,,,,,\n", "lon"},
        {"3205,x,32,120.6,,,,,,\n", "both"},
        {"3205,x,32,120.6,31.3,2011,2002,,,\n", "after"},
        {"3205,x,32,120.6,31.3,11,,,,\n", "year"},
        {"1101,x,11,116.4,39.9,,,,,\n", "one row 1100"},
        {"3205,,32,120.6,31.3,,,,,\n", "name_zh: empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ks_ctx ctx;
        ks_refdata r;
        char text[512];
        int rc;
        memset(&r, 0, sizeof r);
        ks_ctx_init(&ctx, MPI_COMM_NULL);
        CU_ASSERT_EQUAL_FATAL(ks_ref_read_provinces(&ctx, &r, "geo/p.csv", provinces,
                                                    strlen(provinces)), KS_OK);
        snprintf(text, sizeof text, "%s%s", head, bad[i].row);
        rc = ks_ref_read_prefectures(&ctx, &r, "geo/f.csv", text, strlen(text));
        expect_error(rc, &ctx, "data/geo/f.csv:2:", bad[i].what);
        ks_refdata_free(&r);
    }
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"load", test_load},
        {"products", test_products},
        {"chapters", test_chapters},
        {"concordance counts", test_concordance_counts},
        {"HS2002 lookups", test_hs2002_lookups},
        {"HS2012 lookups", test_hs2012_lookups},
        {"unknown codes and HS2007 identity", test_unknown_and_identity},
        {"provinces and regions", test_provinces},
        {"city of a location code", test_city_of_code},
        {"cities", test_cities},
        {"city fields", test_city_fields},
        {"load time", test_load_time},
        {"errors: provinces", test_errors_provinces},
        {"errors: headings", test_errors_headings},
        {"errors: correlation", test_errors_correlation},
        {"errors: prefectures", test_errors_prefectures},
        {NULL, NULL},
    };
    int rc = ks_test_run("refdata", cases);
    ks_refdata_free(&g_ref);
    return rc;
}
