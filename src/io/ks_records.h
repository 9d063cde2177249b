/* ks_records.h - reading records.h5 (written by ingest; layout in docs/hdf5.md)
 * in the later stages.  Ranks own contiguous ranges of the firm index, the
 * same partition for every stage, and read only their own rows. */
#ifndef KS_RECORDS_H
#define KS_RECORDS_H

#include <hdf5.h>
#include <stdint.h>

#include "ks_error.h"
#include "ks_mem.h"

typedef struct ks_records {
    hid_t file;
    char path[4096];
    int first_year, last_year;
    int n_products;
    int32_t *hs4;          /* [n_products] ascending: the product axis */
    int16_t *hs2;          /* [n_products] */
    int16_t product_of_hs4[10000]; /* index of each HS4 code, -1 if none */
    int n_cities;
    int32_t *city_code;    /* [n_cities] ascending prefecture codes */
    int32_t *city_province;
    int8_t *city_region;
    int64_t n_firms;
    int64_t n_firm_years;
} ks_records;

/* Open records.h5 on every rank and read its small tables (collective). */
int ks_records_open(ks_ctx *ctx, const char *path, ks_records *r);
void ks_records_close(ks_records *r);

/* This rank's firms: [lo, hi), an even split of 0..n_firms in rank order. */
void ks_records_firm_range(const ks_ctx *ctx, int64_t n_firms, int64_t *lo, int64_t *hi);

/* Index of a product code in r->hs4 (binary search), -1 if absent. */
int ks_records_product_index(const ks_records *r, int32_t hs4);
/* Index of a city code in r->city_code, -1 if absent. */
int ks_records_city_index(const ks_records *r, int32_t code);

/* The flows of one year for firms [lo, hi), in file order (firm, heading,
 * flow).  `product` is the index into r->hs4.  Arrays are malloc'ed. */
typedef struct ks_flow_block {
    int64_t n;
    int64_t *firm;
    int32_t *product;
    int8_t *flow;
    double *value;
} ks_flow_block;

int ks_records_read_flows(ks_ctx *ctx, const ks_records *r, int year, int64_t lo, int64_t hi,
                          ks_flow_block *out);
void ks_flow_block_free(ks_flow_block *b);

/* The partner countries of /partners/name (empty when ingest kept none). */
int ks_records_read_partners(ks_ctx *ctx, const ks_records *r, ks_strlist *names);

/* The imports by partner country of firms [lo, hi) in `year`
 * (/partner_imports/<YYYY>), in file order (firm, heading, partner). */
typedef struct ks_partner_block {
    int64_t n;
    int64_t *firm;
    int32_t *product;   /* index into r->hs4 */
    int16_t *partner;   /* index into the names of ks_records_read_partners */
    double *value;
} ks_partner_block;

int ks_records_read_partner_imports(ks_ctx *ctx, const ks_records *r, int year, int64_t lo,
                                    int64_t hi, ks_partner_block *out);
void ks_partner_block_free(ks_partner_block *b);

/* The firm-years of firms [lo, hi), in file order (firm, year). */
typedef struct ks_firm_year_block {
    int64_t n;
    int64_t *firm;
    int16_t *year;
    int32_t *city;        /* prefecture code, -1 unknown */
    int8_t *ownership;
    int8_t *trader;
    int64_t *rows_kept;
    double *value_kept;   /* USD, imports + exports of kept rows */
} ks_firm_year_block;

int ks_records_read_firm_years(ks_ctx *ctx, const ks_records *r, int64_t lo, int64_t hi,
                               ks_firm_year_block *out);
void ks_firm_year_block_free(ks_firm_year_block *b);

#endif
