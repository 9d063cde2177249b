/* ks_parse.c - exact, locale-free parsing of field values.
 *
 * No strtod/strtoll: they depend on the locale, accept forms customs data
 * must not ("inf", "nan", hex floats, leading blanks in odd places), and
 * strtod rounds through binary floating point, while amounts must be exact
 * micro-units so that totals do not depend on summation order.
 */
#include "ks_parse.h"

#include <string.h>

static inline int ks_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value of p[0..n), n <= 3: digit by digit. */
static inline int ks_digits_loop(const char *p, size_t n, uint64_t *value)
{
    uint64_t v = 0;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        bad |= d > 9;
        v = v * 10 + d;
    }
    *value = v;
    return !bad;
}

/* The value of p[0..n), n <= 18 (so it cannot overflow): 1 when every byte
 * is a digit, 0 otherwise.  The common case of every parser below: plain
 * digits (years, HS and city codes, amounts), eight at a time. */
#define KS_SHORT_DIGITS 18
static inline int ks_short_digits(const char *p, size_t n, int64_t *value)
{
    uint64_t top = 0, mid = 0, low = 0;
    int ok;
    if (n < 4) {
        ok = ks_digits_loop(p, n, &low);
    } else if (n <= 8) {
        ok = ks_parse_4_to_8_digits(p, n, &low);
    } else if (n <= 16) {
        size_t h = n - 8;
        ok = (h < 4 ? ks_digits_loop(p, h, &mid) : ks_parse_4_to_8_digits(p, h, &mid)) &&
             ks_parse_4_to_8_digits(p + h, 8, &low);
    } else {
        ok = ks_digits_loop(p, n - 16, &top) && ks_parse_4_to_8_digits(p + n - 16, 8, &mid) &&
             ks_parse_4_to_8_digits(p + n - 8, 8, &low);
    }
    *value = (int64_t)((top * 100000000ULL + mid) * 100000000ULL + low);
    return ok;
}

/* Append digit d to *acc; 0 on overflow. */
static inline int ks_push_digit(int64_t *acc, int d)
{
    int64_t v;
    if (__builtin_mul_overflow(*acc, 10, &v) || __builtin_add_overflow(v, d, &v))
        return 0;
    *acc = v;
    return 1;
}

/* An optional sign: 1 for '-', 0 otherwise; advances past it. */
static int ks_take_sign(const char **p, const char *end)
{
    if (*p < end && (**p == '+' || **p == '-'))
        return *(*p)++ == '-';
    return 0;
}

ks_parse_status ks_parse_int64_general(const char *ptr, size_t len, int64_t *out)
{
    const char *p, *end, *digits;
    int negative;
    int64_t v = 0;
    int nonzero = 0;
    ks_parse_trim(&ptr, &len);
    if (len == 0)
        return KS_PARSE_EMPTY;
    if (len <= KS_SHORT_DIGITS && ks_short_digits(ptr, len, &v)) {
        *out = v;
        return KS_PARSE_OK;
    }
    v = 0;
    p = ptr;
    end = ptr + len;
    negative = ks_take_sign(&p, end);
    digits = p;
    for (; p < end && ks_is_digit(*p); p++)
        nonzero |= *p != '0';
    if (p == digits || p != end)
        return KS_PARSE_NOT_NUMBER;
    if (negative && nonzero)
        return KS_PARSE_NEGATIVE;
    for (p = digits; p < end; p++)
        if (!ks_push_digit(&v, *p - '0'))
            return KS_PARSE_OVERFLOW;
    *out = v;
    return KS_PARSE_OK;
}

/* Exponents beyond this are saturated: any nonzero mantissa overflows (or
 * rounds to zero) long before, and saturation keeps the arithmetic in range. */
#define KS_EXP_LIMIT 1000000000LL

/* The digits of a decimal mantissa, integer part then fraction part, seen as
 * one digit string D: the value is D * 10^(exp - nfrac). */
typedef struct ks_mantissa {
    const char *ip;
    size_t nint;
    const char *fp;
    size_t nfrac;
    int64_t exp;
} ks_mantissa;

static inline int ks_mantissa_digit(const ks_mantissa *m, size_t i)
{
    return (i < m->nint ? m->ip[i] : m->fp[i - m->nint]) - '0';
}

/* Parse [sign] digits [. digits] [e [sign] digits], at least one mantissa
 * digit; the whole range must be used. */
static ks_parse_status ks_scan_decimal(const char *p, const char *end, int *negative, ks_mantissa *m)
{
    memset(m, 0, sizeof *m);
    *negative = ks_take_sign(&p, end);
    m->ip = p;
    while (p < end && ks_is_digit(*p))
        p++;
    m->nint = (size_t)(p - m->ip);
    m->fp = p;
    if (p < end && *p == '.') {
        m->fp = ++p;
        while (p < end && ks_is_digit(*p))
            p++;
        m->nfrac = (size_t)(p - m->fp);
    }
    if (m->nint + m->nfrac == 0)
        return KS_PARSE_NOT_NUMBER;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg;
        const char *e0;
        p++;
        eneg = ks_take_sign(&p, end);
        e0 = p;
        for (; p < end && ks_is_digit(*p); p++)
            if (m->exp < KS_EXP_LIMIT)
                m->exp = m->exp * 10 + (*p - '0');
        if (p == e0)
            return KS_PARSE_NOT_NUMBER;
        if (eneg)
            m->exp = -m->exp;
    }
    return p == end ? KS_PARSE_OK : KS_PARSE_NOT_NUMBER;
}

/* The common form of an amount, "123", "123.45" or ".5": at most 12 digits
 * before the point and 6 after, no sign, no exponent.  Its micro-units are
 * exact without rounding: 1 and *out, or 0 for the general parser. */
static inline int ks_plain_micro(const char *p, size_t len, int64_t *out)
{
    static const int64_t scale[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    const char *dot = memchr(p, '.', len);
    size_t nint = dot ? (size_t)(dot - p) : len, nfrac = dot ? len - nint - 1 : 0;
    int64_t ip = 0, fp = 0;
    if (nint > 12 || nfrac > 6 || nint + nfrac == 0)
        return 0;
    if (!ks_short_digits(p, nint, &ip) || (dot && !ks_short_digits(dot + 1, nfrac, &fp)))
        return 0;
    *out = ip * 1000000 + fp * scale[nfrac];
    return 1;
}

ks_parse_status ks_parse_micro_general(const char *ptr, size_t len, int64_t *out)
{
    ks_mantissa m;
    int negative;
    ks_parse_status st;
    size_t n, i, first = 0, nkeep;
    int64_t shift, v = 0;

    ks_parse_trim(&ptr, &len);
    if (len == 0)
        return KS_PARSE_EMPTY;
    if (ks_plain_micro(ptr, len, out))
        return KS_PARSE_OK;
    st = ks_scan_decimal(ptr, ptr + len, &negative, &m);
    if (st != KS_PARSE_OK)
        return st;
    n = m.nint + m.nfrac;
    /* skip leading zeros: they decide neither the value nor overflow */
    while (first < n && ks_mantissa_digit(&m, first) == 0)
        first++;
    if (first == n) {
        *out = 0; /* zero, including "-0" and "0e999" */
        return KS_PARSE_OK;
    }
    if (negative)
        return KS_PARSE_NEGATIVE;
    /* micro-units = D * 10^shift; the significant digits are D[first..n) */
    shift = m.exp - (int64_t)m.nfrac + 6;
    if (shift >= 0) {
        if (n - first + (size_t)(shift > 20 ? 20 : shift) > 19)
            return KS_PARSE_OVERFLOW; /* 20 or more digits: beyond INT64_MAX */
        for (i = first; i < n; i++)
            if (!ks_push_digit(&v, ks_mantissa_digit(&m, i)))
                return KS_PARSE_OVERFLOW;
        for (int64_t k = 0; k < shift; k++)
            if (!ks_push_digit(&v, 0))
                return KS_PARSE_OVERFLOW;
        *out = v;
        return KS_PARSE_OK;
    }
    /* drop -shift digits from the right and round on the first dropped one */
    if ((int64_t)(n - first) <= -shift - 1) {
        *out = 0; /* below 0.1 micro-units: even the rounding digit is 0 */
        return KS_PARSE_OK;
    }
    nkeep = (size_t)((int64_t)n + shift);
    for (i = first; i < nkeep; i++)
        if (!ks_push_digit(&v, ks_mantissa_digit(&m, i)))
            return KS_PARSE_OVERFLOW;
    /* half away from zero: only the first dropped digit matters */
    if (ks_mantissa_digit(&m, nkeep) >= 5 && __builtin_add_overflow(v, 1, &v))
        return KS_PARSE_OVERFLOW;
    *out = v;
    return KS_PARSE_OK;
}

ks_parse_status ks_parse_digits_general(const char *ptr, size_t len, int64_t *value, int *ndigits)
{
    int64_t v = 0;
    ks_parse_trim(&ptr, &len);
    if (len == 0)
        return KS_PARSE_EMPTY;
    if (len <= KS_SHORT_DIGITS) {
        if (!ks_short_digits(ptr, len, &v))
            return KS_PARSE_NOT_NUMBER;
        *value = v;
        *ndigits = (int)len;
        return KS_PARSE_OK;
    }
    for (size_t i = 0; i < len; i++)
        if (!ks_is_digit(ptr[i]))
            return KS_PARSE_NOT_NUMBER;
    for (size_t i = 0; i < len; i++)
        if (!ks_push_digit(&v, ptr[i] - '0'))
            return KS_PARSE_OVERFLOW;
    if (len > (size_t)INT32_MAX)
        return KS_PARSE_OVERFLOW;
    *value = v;
    *ndigits = (int)len;
    return KS_PARSE_OK;
}

const char *ks_parse_status_text(ks_parse_status st)
{
    switch (st) {
    case KS_PARSE_OK:
        return "ok";
    case KS_PARSE_EMPTY:
        return "empty";
    case KS_PARSE_NOT_NUMBER:
        return "not a number";
    case KS_PARSE_NEGATIVE:
        return "negative";
    case KS_PARSE_OVERFLOW:
        return "too large";
    }
    return "unknown parse status";
}
