/* ks_relatedness_internal.h - the parts of stage `relatedness` shared by its
 * files: ks_relatedness.c (the year loop and the output) and
 * ks_relatedness_baskets.c (from records.h5 to the baskets of one year). */
#ifndef KS_RELATEDNESS_INTERNAL_H
#define KS_RELATEDNESS_INTERNAL_H

#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h"
#include "ks_records.h"

#define KS_RELATEDNESS_FORMAT_VERSION 1

typedef struct ks_rel {
    const ks_job *job;
    ks_records rec;
    int64_t lo, hi;            /* this rank's firms [lo, hi) */
    int32_t P;                 /* products: the axis of every matrix */
    int nyears;                /* the job's years, first_year .. last_year */
    /* measure = coexport: per job year, the year's exports of this rank's
     * firms as ascending keys (firm - lo) * P + product; NULL outside the
     * window being built */
    uint64_t **keys;
    int64_t *nkeys;
    /* measure = rca: the regions, their codes ascending, and per job year
     * the export values X[region][product] in micro-dollars summed over all
     * ranks (so identical on every rank); NULL outside the window */
    int n_regions;
    int32_t *region_code;      /* [n_regions] city or province codes */
    int32_t *city_region;      /* [rec.n_cities] city index -> region index */
    ks_firm_year_block fy;     /* this rank's firm-years (their cities) */
    int64_t **X;
    /* the baskets of the year being built (CSR over units) */
    int64_t n_baskets;
    int64_t *offsets;          /* [n_baskets + 1] */
    int32_t *items;
    size_t items_cap;
    /* results of the year: summed over ranks */
    int64_t *C;                /* [P][P] */
    int64_t *k;                /* [P + 1]: ubiquity, then the units counted */
    double *phi;               /* [P][P], on every rank (each writes its rows) */
} ks_rel;

/* Load year `year` (firm exports, or the regions' export values summed over
 * ranks: collective for rca) into the window cache. */
int ks_rel_load_year(ks_ctx *ctx, ks_rel *rel, int year);
/* Drop a year that has left the window. */
void ks_rel_drop_year(ks_rel *rel, int year);
/* Build the baskets of year t's window [t-window+1, t] (within the job's
 * years) into rel->offsets/items. */
int ks_rel_baskets(ks_ctx *ctx, ks_rel *rel, int year);
/* The regions of measure = rca (cities or provinces) and this rank's
 * firm-years. */
int ks_rel_regions_init(ks_ctx *ctx, ks_rel *rel);
/* Free everything that ks_rel_load_year / ks_rel_regions_init allocated. */
void ks_rel_baskets_free(ks_rel *rel);

/* "firms", "cities" or "provinces": what the units of the counts are. */
const char *ks_rel_unit_name(const ks_job *job);

#endif
