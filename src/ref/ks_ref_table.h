/* ks_ref_table.h - internal to src/ref: reading one embedded reference CSV.
 *
 * Every reference table is a small UTF-8 CSV with a fixed header.  A table is
 * opened on its bytes with the column names it must have; each row must have
 * exactly those columns, and every complaint names the file as "data/<name>"
 * and the physical line, e.g. "data/hs/hs2007_hs4.csv:17: ...".
 *
 * The per-table readers take (name, bytes) rather than fetching the embedded
 * copy themselves, so that the unit tests can feed them broken tables. */
#ifndef KS_REF_TABLE_H
#define KS_REF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "ks_csv.h"
#include "ks_error.h"
#include "ks_refdata.h"

typedef struct ks_ref_table {
    const char *name;            /* path under data/, e.g. "hs/hs2007_hs4.csv" */
    const char *const *columns;  /* the expected header */
    int ncols;
    ks_csv_reader *reader;
    ks_csv_record rec;           /* the current row, valid until the next call */
} ks_ref_table;

/* Open buf[0..len) and check its header against columns[0..ncols). */
int ks_ref_table_open(ks_ctx *ctx, ks_ref_table *t, const char *name, const char *buf,
                      size_t len, const char *const *columns, int ncols);
/* Next data row into t->rec; *has_row is 0 at the end.  Rows with the wrong
 * number of fields or broken quoting are errors. */
int ks_ref_table_next(ks_ctx *ctx, ks_ref_table *t, int *has_row);
void ks_ref_table_close(ks_ref_table *t);

/* Fail with KS_EINPUT, prefixing "data/<name>:<line of the current row>: ". */
int ks_ref_table_fail(ks_ctx *ctx, const ks_ref_table *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Field `col` of the current row as a code of exactly `ndigits` digits. */
int ks_ref_table_code(ks_ctx *ctx, const ks_ref_table *t, int col, int ndigits, int32_t *out);
/* A year (4 digits, 1900-2100), or 0 when the field is blank. */
int ks_ref_table_year(ks_ctx *ctx, const ks_ref_table *t, int col, int16_t *out);
/* A decimal number in [lo, hi] (an optional leading '-'), or NaN when blank. */
int ks_ref_table_number(ks_ctx *ctx, const ks_ref_table *t, int col, double lo, double hi,
                        double *out);
/* A non-empty text copied into out[0..n) with its NUL; too long is an error. */
int ks_ref_table_text(ks_ctx *ctx, const ks_ref_table *t, int col, char *out, size_t n);
/* A non-empty text as a new NUL-terminated string the caller frees. */
int ks_ref_table_strdup(ks_ctx *ctx, const ks_ref_table *t, int col, char **out);
/* Whether field `col` is exactly the string s. */
int ks_ref_table_is(const ks_ref_table *t, int col, const char *s);

/* The table readers, in the order ks_refdata_load calls them: each needs the
 * tables read before it (chapters before headings, headings before the
 * concordances, HS2007 subheadings before the correlations, provinces before
 * prefectures, prefectures before the province-direct units). */
int ks_ref_read_chapters(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                         size_t len);
int ks_ref_read_headings(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                         size_t len);
int ks_ref_read_hs2007_identity(ks_ctx *ctx, ks_refdata *ref, const char *name,
                                const char *buf, size_t len);
int ks_ref_read_correlation(ks_ctx *ctx, ks_refdata *ref, int vintage, const char *name,
                            const char *buf, size_t len);
int ks_ref_read_provinces(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                          size_t len);
int ks_ref_read_prefectures(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                            size_t len);
int ks_ref_check_direct_units(ks_ctx *ctx, const ks_refdata *ref, const char *name,
                              const char *buf, size_t len);

/* Frees one concordance's arrays (also on a half-built one) and zeroes it. */
void ks_ref_free_concordance(ks_concordance *c);
void ks_ref_free_products(ks_refdata *ref);
void ks_ref_free_geo(ks_refdata *ref);

#endif
