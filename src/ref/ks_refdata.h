/* ks_refdata.h - the reference tables: HS2007 products, the UN correlation
 * tables to HS2007, and China's prefecture-level cities, provinces and regions.
 *
 * The CSV files in data/ are embedded in the binary at build time (see
 * cmake/KsEmbed.cmake), so a job never depends on where data/ lies; their
 * provenance is data/PROVENANCE.md.  All lookups are O(1). */
#ifndef KS_REFDATA_H
#define KS_REFDATA_H

#include <stddef.h>
#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h" /* ks_vintage */

typedef enum ks_region {
    KS_REGION_EAST = 0,
    KS_REGION_CENTRAL = 1,
    KS_REGION_WEST = 2,
    KS_REGION_NORTHEAST = 3,
    KS_NREGIONS = 4
} ks_region;

/* "East", "Central", "West", "Northeast"; "unknown" for anything else. */
const char *ks_region_name(int region);

typedef struct ks_products {
    int n;            /* 1221 HS2007 headings */
    int32_t *hs4;     /* ascending, e.g. 101 for 0101 */
    int16_t *hs2;     /* chapter of each heading */
    char **desc;      /* UN Comtrade short text */
    int32_t *index_of_hs4; /* [10000]: position of an hs4 code, -1 if none */
} ks_products;

/* One vintage's HS6 codes mapped to HS2007 headings.  For code c (0..999999)
 * the distinct target headings (as product indices, ascending) are
 * targets[offset[c] .. offset[c+1]); none means the code is unknown in that
 * vintage.  HS2007 itself maps each HS2007 subheading to its own heading. */
typedef struct ks_concordance {
    int32_t *offset;   /* [1000001]: targets of code k are [offset[k], offset[k+1]) */
    int32_t *targets;  /* product indices */
    /* The same offsets for ingest's lookups, by heading: the 4 MB array
     * missed the caches at nearly every row, these 20 KB + ~250 KB do not.
     * block_of_hs4[k / 100] is 1 + the block of heading k / 100 (0: none of
     * its codes is known); block b holds base[b] and, for its 100 codes and
     * the next, rel[101 b + k % 100] = offset[k] - base[b]. */
    uint16_t *block_of_hs4; /* [10000] */
    int32_t *block_base;
    uint16_t *block_rel;
    int n_codes;       /* codes with at least one target */
    int n_split;       /* codes whose targets span more than one heading */
    int32_t *codes;    /* the n_codes known codes, ascending (for synth) */
} ks_concordance;

typedef struct ks_city {
    int32_t code4;         /* prefecture code, municipalities XX00 */
    int32_t province;      /* 2-digit province code */
    int8_t region;         /* ks_region */
    char name[64];         /* Chinese name, UTF-8 */
    double lon, lat;       /* NaN when unknown */
    int16_t valid_from;    /* 0 when in the first list */
    int16_t valid_to;      /* 0 when still in use; else the year abolished */
} ks_city;

typedef struct ks_province {
    int32_t code;          /* 2 digits */
    char name_zh[64];
    char name_en[64];
    int8_t region;
} ks_province;

typedef struct ks_refdata {
    ks_products products;
    ks_concordance conc[KS_NVINTAGES];
    int n_cities;
    ks_city *cities;           /* ascending code4 */
    int16_t *city_index;       /* [10000]: index of a code4, -1 if none */
    int n_provinces;
    ks_province *provinces;    /* ascending code */
    int8_t province_region[100]; /* region of a 2-digit code, -1 if none */
    int n_chapters;
    int16_t *chapters;         /* the 96 HS2 chapters, ascending */
} ks_refdata;

/* Load every table from the embedded copies.  On failure *ref is left empty
 * (freed) and the message names the table and line. */
int ks_refdata_load(ks_ctx *ctx, ks_refdata *ref);
/* Release everything; safe on a zeroed or already freed struct. */
void ks_refdata_free(ks_refdata *ref);

/* The product index of an HS2007 heading (e.g. 101 for 0101), -1 if none. */
static inline int ks_refdata_product_of_hs4(const ks_refdata *ref, int32_t hs4)
{
    return hs4 >= 0 && hs4 < 10000 ? ref->products.index_of_hs4[hs4] : -1;
}

/* Map a 6-digit code of `vintage` to its HS2007 headings (product indices);
 * *n = 0 when the code is not in that vintage's table. */
static inline const int32_t *ks_refdata_hs6_targets(const ks_refdata *ref, int vintage,
                                                    int32_t hs6, int *n)
{
    const ks_concordance *c = &ref->conc[vintage];
    const uint16_t *rel;
    uint32_t hs4 = (uint32_t)hs6 / 100u, b;
    if (hs6 < 0 || hs6 > 999999 || (b = c->block_of_hs4[hs4]) == 0) {
        *n = 0;
        return NULL;
    }
    rel = c->block_rel + (size_t)(b - 1) * 101 + ((uint32_t)hs6 - hs4 * 100u);
    *n = rel[1] - rel[0];
    return c->targets + c->block_base[b - 1] + rel[0];
}

/* The city (index into ref->cities) of a customs location code: a 6-digit
 * county code or a 4-digit prefecture code; every 11xxxx, 12xxxx, 31xxxx and
 * 50xxxx code is its municipality (1100, 1200, 3100, 5000).  -1 if unknown. */
int ks_refdata_city_of_code(const ks_refdata *ref, int64_t code, int ndigits);

/* Region of a 2-digit province code, -1 if unknown. */
int ks_refdata_region_of_province(const ks_refdata *ref, int province);

/* The raw bytes of an embedded data file by its path under data/, e.g.
 * "hs/hs2007_hs4.csv"; NULL if no such file. */
const char *ks_embedded_file(const char *name, size_t *len);

#endif
