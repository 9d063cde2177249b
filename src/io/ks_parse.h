/* ks_parse.h - parsing of field values, exact and locale-free. */
#ifndef KS_PARSE_H
#define KS_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum ks_parse_status {
    KS_PARSE_OK = 0,
    KS_PARSE_EMPTY,       /* only blanks */
    KS_PARSE_NOT_NUMBER,  /* not a decimal number */
    KS_PARSE_NEGATIVE,    /* a number below zero */
    KS_PARSE_OVERFLOW     /* too large for the representation */
} ks_parse_status;

/* Space, tab or CR: a compare and a bit test (ingest asks for every field of
 * every row, twice). */
static inline __attribute__((always_inline)) int ks_is_blank(char c)
{
    unsigned u = (unsigned char)c;
    return u <= ' ' && (((uint64_t)1 << u) & ((uint64_t)1 << ' ' | (uint64_t)1 << '\t' | (uint64_t)1 << '\r'));
}

/* Trim leading and trailing blanks (space, tab, CR) of a field.  Inline:
 * ingest calls it for every field of every row. */
static inline __attribute__((always_inline)) void ks_parse_trim(const char **ptr, size_t *len)
{
    const char *p = *ptr;
    size_t n = *len;
    /* the common field: no blank at either end (bytes above ' ' never are) */
    if (n == 0 || ((unsigned char)p[0] > ' ' && (unsigned char)p[n - 1] > ' '))
        return;
    while (n > 0 && ks_is_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && ks_is_blank(p[n - 1]))
        n--;
    *ptr = p;
    *len = n;
}

/* The general parsers: every form the inline ones below accept, blanks
 * around, signs, exponents, long digit strings.  The inline ones take the
 * common forms themselves (ingest parses four numbers in every row) and
 * hand anything else to these, with the same results. */
ks_parse_status ks_parse_int64_general(const char *ptr, size_t len, int64_t *out);
ks_parse_status ks_parse_micro_general(const char *ptr, size_t len, int64_t *out);
ks_parse_status ks_parse_digits_general(const char *ptr, size_t len, int64_t *value, int *ndigits);

static inline uint32_t ks_parse_load32(const char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* The value of p[0..n), 4 <= n <= 8, eight digits at once (SWAR): the bytes
 * as one little-endian word, '0's in front of the shorter ones (two 4-byte
 * loads inside the field, the second one overlapping the first), checked
 * and folded pairwise.  1 when every byte is a digit. */
static inline __attribute__((always_inline)) int ks_parse_4_to_8_digits(const char *p, size_t n, uint64_t *value)
{
    const uint64_t zeros = 0x3030303030303030ULL, high = 0xF0F0F0F0F0F0F0F0ULL;
    unsigned pad = 8 * (unsigned)(8 - n);               /* bits of leading '0's */
    uint64_t head = ((uint64_t)ks_parse_load32(p) << pad) & 0xFFFFFFFFULL; /* p[0..n-4) at the top */
    uint64_t w = (zeros & (((uint64_t)1 << pad) - 1)) | head | (uint64_t)ks_parse_load32(p + n - 4) << 32;
    /* every byte 0x30..0x39: its high nibble is 3, and adding 6 keeps it 3 */
    if ((w & high) != zeros || ((w + 0x0606060606060606ULL) & high) != zeros)
        return 0;
    w -= zeros;
    w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;           /* pairs of digits */
    w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;         /* fours */
    *value = (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;           /* eight */
    return 1;
}

/* A non-negative decimal integer (blanks around allowed). */
static inline __attribute__((always_inline)) ks_parse_status ks_parse_int64(const char *ptr, size_t len, int64_t *out)
{
    uint64_t v;
    if (len >= 4 && len <= 8 && ks_parse_4_to_8_digits(ptr, len, &v)) {
        *out = (int64_t)v;
        return KS_PARSE_OK;
    }
    return ks_parse_int64_general(ptr, len, out);
}

/* The plain amount "123", "123.45" or ".5" (at most 12 digits before the
 * point and 6 after, nothing else) in micro-units, in one pass: 1 and *out,
 * or 0 for the general parser. */
static inline __attribute__((always_inline)) int ks_parse_plain_micro(const char *p, size_t len, int64_t *out)
{
    static const int64_t scale[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    uint64_t ip = 0, fp = 0;
    size_t i = 0, nint, nfrac = 0;
    unsigned d;
    for (; i < len && (d = (unsigned)(unsigned char)p[i] - '0') <= 9; i++)
        ip = ip * 10 + d;
    nint = i;
    if (nint > 12)
        return 0;
    if (i < len) {
        size_t f0;
        if (p[i] != '.')
            return 0;
        f0 = ++i;
        for (; i < len && (d = (unsigned)(unsigned char)p[i] - '0') <= 9 && i - f0 < 6; i++)
            fp = fp * 10 + d;
        nfrac = i - f0;
        if (i != len)
            return 0;
    }
    if (nint + nfrac == 0)
        return 0;
    *out = (int64_t)(ip * 1000000 + fp * (uint64_t)scale[nfrac]);
    return 1;
}

/* A non-negative decimal amount ("12", "12.5", "1.25e+06", "1.2E3", ".5") as
 * an exact count of micro-units (1e-6): 12.5 -> 12500000.  Digits beyond the
 * sixth decimal are rounded half away from zero.  Integer sums of micro-units
 * are exact, which makes totals independent of summation order (and so of the
 * number of ranks).  "-0" is 0; any other negative value is NEGATIVE. */
static inline __attribute__((always_inline)) ks_parse_status ks_parse_micro(const char *ptr, size_t len, int64_t *out)
{
    if (ks_parse_plain_micro(ptr, len, out))
        return KS_PARSE_OK;
    return ks_parse_micro_general(ptr, len, out);
}

/* A code of digits only, e.g. an HS code or a city code: its value and the
 * number of digits (leading zeros count). */
static inline __attribute__((always_inline)) ks_parse_status ks_parse_digits(const char *ptr, size_t len, int64_t *value, int *ndigits)
{
    uint64_t v;
    if (len >= 4 && len <= 8 && ks_parse_4_to_8_digits(ptr, len, &v)) {
        *value = (int64_t)v;
        *ndigits = (int)len;
        return KS_PARSE_OK;
    }
    return ks_parse_digits_general(ptr, len, value, ndigits);
}

const char *ks_parse_status_text(ks_parse_status st);

#endif
