/* ks_customs.h - what happens to a customs row: kept, or why it was dropped.
 *
 * Shared by ingest (which classifies rows) and synth (which plants rows of
 * each kind and writes how many it planted), so both speak of the same
 * reasons.  The order of the checks is part of the contract, because a row
 * with two faults is counted once, under the first that applies:
 *   1. bad rows (malformed: field count, quoting, year, flow, code, value),
 *      in the order of the enum below;
 *   2. trader (the firm name holds a trading-company keyword);
 *   3. processing (the trade mode is processing trade);
 *   4. unknown city (a well-formed location code that names no city);
 *   5. unmapped HS (a well-formed code absent from its year's vintage).
 * A row's report year is its year field when the field count is right and the
 * year is a number inside the job's years; otherwise 0 ("no valid year").
 */
#ifndef KS_CUSTOMS_H
#define KS_CUSTOMS_H

typedef enum ks_reason {
    KS_ROW_KEPT = 0,
    /* bad rows: written to the rejects file */
    KS_BAD_FIELD_COUNT,    /* number of fields differs from the header */
    KS_BAD_QUOTING,        /* text after a closing quote, unterminated quote */
    KS_BAD_ENCODING,       /* bytes that are not valid in the file's encoding */
    KS_BAD_YEAR,           /* year is not a number */
    KS_BAD_YEAR_RANGE,     /* year outside the job's years */
    KS_BAD_FIRM_ID,        /* empty firm id */
    KS_BAD_FLOW,           /* flow is neither import nor export */
    KS_BAD_HS_CODE,        /* code is not 6 or 8 digits */
    KS_BAD_VALUE,          /* value is not a number */
    KS_BAD_NEGATIVE,       /* value below zero */
    KS_BAD_CITY_CODE,      /* location code is not 4 or 6 digits */
    /* cleaning rules of method.md section 1 */
    KS_DROP_TRADER,
    KS_DROP_PROCESSING,
    KS_DROP_UNKNOWN_CITY,
    KS_DROP_UNMAPPED_HS,
    KS_NREASONS
} ks_reason;

#define KS_FIRST_BAD KS_BAD_FIELD_COUNT
#define KS_LAST_BAD KS_BAD_CITY_CODE

static inline int ks_reason_is_bad(int r) { return r >= KS_FIRST_BAD && r <= KS_LAST_BAD; }

/* Short machine name ("field_count", "trader", ...) used in records.h5, the
 * rejects file and the synth truth file. */
const char *ks_reason_name(int reason);

/* Flow codes of records. */
enum { KS_FLOW_IMPORT = 0, KS_FLOW_EXPORT = 1 };

/* Ownership categories (Chinese customs 企业性质). */
typedef enum ks_ownership {
    KS_OWN_OTHER = 0,     /* anything not recognised, kept as "other" */
    KS_OWN_SOE,           /* 国有企业 */
    KS_OWN_COLLECTIVE,    /* 集体企业 */
    KS_OWN_PRIVATE,       /* 私营企业 */
    KS_OWN_INDIVIDUAL,    /* 个体工商户 */
    KS_OWN_JOINT_VENTURE, /* 中外合资企业 */
    KS_OWN_COOPERATIVE,   /* 中外合作企业 */
    KS_OWN_FOREIGN,       /* 外商独资企业 */
    KS_NOWNERSHIP
} ks_ownership;

const char *ks_ownership_name(int ownership);    /* "soe", "private", ... */
const char *ks_ownership_label_zh(int ownership); /* 国有企业, ... ("" for other) */

/* Classification of UTF-8 text fields; the rules of method.md section 1. */
#include <stddef.h>

#include "ks_mem.h"

/* KS_FLOW_IMPORT for 进口/进/import/imports/I, KS_FLOW_EXPORT for 出口/出/export/
 * exports/E (ASCII case-insensitive), -1 otherwise. */
int ks_customs_flow(const char *s, size_t len);
/* 1 if the firm name contains one of the keywords (a trading company). */
int ks_customs_is_trader(const char *s, size_t len, const ks_strlist *keywords);
/* 1 if the trade mode equals one of `modes` or contains one of `keywords`. */
int ks_customs_is_processing(const char *s, size_t len, const ks_strlist *keywords,
                             const ks_strlist *modes);
/* The ownership category of a 企业性质 label: the seven standard labels or
 * their English names, then common variants (国有..., 民营..., 外资...). */
int ks_customs_ownership(const char *s, size_t len);

#endif
