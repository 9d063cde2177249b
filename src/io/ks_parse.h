/* ks_parse.h - parsing of field values, exact and locale-free. */
#ifndef KS_PARSE_H
#define KS_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ks_parse_status {
    KS_PARSE_OK = 0,
    KS_PARSE_EMPTY,       /* only blanks */
    KS_PARSE_NOT_NUMBER,  /* not a decimal number */
    KS_PARSE_NEGATIVE,    /* a number below zero */
    KS_PARSE_OVERFLOW     /* too large for the representation */
} ks_parse_status;

static inline int ks_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trim leading and trailing blanks (space, tab, CR) of a field.  Inline:
 * ingest calls it for every field of every row. */
static inline void ks_parse_trim(const char **ptr, size_t *len)
{
    const char *p = *ptr;
    size_t n = *len;
    while (n > 0 && ks_is_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && ks_is_blank(p[n - 1]))
        n--;
    *ptr = p;
    *len = n;
}

/* A non-negative decimal integer (blanks around allowed). */
ks_parse_status ks_parse_int64(const char *ptr, size_t len, int64_t *out);

/* A non-negative decimal amount ("12", "12.5", "1.25e+06", "1.2E3", ".5") as
 * an exact count of micro-units (1e-6): 12.5 -> 12500000.  Digits beyond the
 * sixth decimal are rounded half away from zero.  Integer sums of micro-units
 * are exact, which makes totals independent of summation order (and so of the
 * number of ranks).  "-0" is 0; any other negative value is NEGATIVE. */
ks_parse_status ks_parse_micro(const char *ptr, size_t len, int64_t *out);

/* A code of digits only, e.g. an HS code or a city code: its value and the
 * number of digits (leading zeros count). */
ks_parse_status ks_parse_digits(const char *ptr, size_t len, int64_t *value, int *ndigits);

const char *ks_parse_status_text(ks_parse_status st);

#endif
