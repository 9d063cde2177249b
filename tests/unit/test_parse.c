/* test_parse.c - exact parsing of integers, amounts and digit codes; every
 * expected value is worked out by hand. */
#include <string.h>

#include "ks_parse.h"
#include "ks_test.h"

static ks_parse_status micro(const char *s, int64_t *v)
{
    *v = -12345; /* a value the parser never produces, to see it untouched */
    return ks_parse_micro(s, strlen(s), v);
}

#define MICRO_OK(s, want)                                     \
    do {                                                      \
        int64_t v_;                                           \
        ks_parse_status st_ = micro((s), &v_);                \
        CU_ASSERT_EQUAL(st_, KS_PARSE_OK);                    \
        CU_ASSERT_EQUAL(v_, (int64_t)(want));                 \
        if (st_ != KS_PARSE_OK || v_ != (int64_t)(want))      \
            fprintf(stderr, "\n  micro(\"%s\"): status %d value %lld, want %lld\n", (s), \
                    (int)st_, (long long)v_, (long long)(want)); \
    } while (0)

#define MICRO_ST(s, want_st)                                  \
    do {                                                      \
        int64_t v_;                                           \
        ks_parse_status st_ = micro((s), &v_);                \
        CU_ASSERT_EQUAL(st_, (want_st));                      \
        if (st_ != (want_st))                                 \
            fprintf(stderr, "\n  micro(\"%s\"): status %d, want %d\n", (s), (int)st_, \
                    (int)(want_st));                          \
    } while (0)

static void test_trim(void)
{
    const char *s = " \t 12 \r";
    const char *p = s;
    size_t n = strlen(s);
    ks_parse_trim(&p, &n);
    CU_ASSERT(p == s + 3 && n == 2);
    p = "   ";
    n = 3;
    ks_parse_trim(&p, &n);
    CU_ASSERT(n == 0);
    p = "a b";
    n = 3;
    ks_parse_trim(&p, &n);
    CU_ASSERT(n == 3);
    p = "";
    n = 0;
    ks_parse_trim(&p, &n);
    CU_ASSERT(n == 0);
}

static void test_int64(void)
{
    int64_t v = 0;
    CU_ASSERT(ks_parse_int64("2002", 4, &v) == KS_PARSE_OK && v == 2002);
    CU_ASSERT(ks_parse_int64(" 7 ", 3, &v) == KS_PARSE_OK && v == 7);
    CU_ASSERT(ks_parse_int64("007", 3, &v) == KS_PARSE_OK && v == 7);
    CU_ASSERT(ks_parse_int64("+5", 2, &v) == KS_PARSE_OK && v == 5);
    CU_ASSERT(ks_parse_int64("-0", 2, &v) == KS_PARSE_OK && v == 0);
    CU_ASSERT(ks_parse_int64("9223372036854775807", 19, &v) == KS_PARSE_OK && v == INT64_MAX);
    CU_ASSERT(ks_parse_int64("9223372036854775808", 19, &v) == KS_PARSE_OVERFLOW);
    CU_ASSERT(ks_parse_int64("99999999999999999999999", 23, &v) == KS_PARSE_OVERFLOW);
    CU_ASSERT(ks_parse_int64("-3", 2, &v) == KS_PARSE_NEGATIVE);
    CU_ASSERT(ks_parse_int64("", 0, &v) == KS_PARSE_EMPTY);
    CU_ASSERT(ks_parse_int64(" \t", 2, &v) == KS_PARSE_EMPTY);
    CU_ASSERT(ks_parse_int64("1.0", 3, &v) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_int64("1 2", 3, &v) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_int64("-", 1, &v) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_int64("2e3", 3, &v) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_int64("x", 1, &v) == KS_PARSE_NOT_NUMBER);
    /* the length bounds the field: "12" of "123" */
    CU_ASSERT(ks_parse_int64("123", 2, &v) == KS_PARSE_OK && v == 12);
}

static void test_micro_plain(void)
{
    MICRO_OK("0", 0);
    MICRO_OK("12", 12000000);
    MICRO_OK("12.5", 12500000);
    MICRO_OK(" 12.5 ", 12500000);
    MICRO_OK("12.", 12000000);
    MICRO_OK(".5", 500000);
    MICRO_OK("0.000001", 1);
    MICRO_OK("1.234567", 1234567);
    MICRO_OK("+3", 3000000);
    MICRO_OK("000123.4500", 123450000);
    MICRO_OK("-0", 0);
    MICRO_OK("-0.000", 0);
    MICRO_OK("-.0e5", 0);
}

static void test_micro_exponent(void)
{
    MICRO_OK("1.25e+06", 1250000000000LL);
    MICRO_OK("1.2E3", 1200000000LL);
    MICRO_OK("1e0", 1000000);
    MICRO_OK("5e-6", 5);
    MICRO_OK("5e-7", 1);  /* 0.5 micro rounds up */
    MICRO_OK("4e-7", 0);
    MICRO_OK("5e-8", 0);  /* far below: rounding digit is 0 */
    MICRO_OK("123456789e-9", 123457); /* 0.123456789 */
    MICRO_OK("0e999999999999999999", 0);
    MICRO_OK("1e-999999999999999999", 0);
    MICRO_OK("12.5e1", 125000000);
    MICRO_OK(".1e1", 1000000);
}

static void test_micro_rounding(void)
{
    MICRO_OK("0.0000004", 0);
    MICRO_OK("0.0000005", 1);
    MICRO_OK("0.0000015", 2);   /* half away from zero, not to even */
    MICRO_OK("0.0000025", 3);
    MICRO_OK("1.2345674999", 1234567);
    MICRO_OK("1.2345675", 1234568);
    MICRO_OK("1.23456749999999999999", 1234567);
    MICRO_OK("2.9999995", 3000000); /* the carry runs through */
    MICRO_OK("0.00000049999", 0);
    MICRO_OK("0.1", 100000); /* not 100000.0000000000055 as a double would say */
    MICRO_OK("0.3", 300000);
    MICRO_OK("19.99", 19990000);
}

static void test_micro_overflow(void)
{
    /* INT64_MAX = 9223372036854775807 micro = 9223372036854.775807 */
    MICRO_OK("9223372036854.775807", INT64_MAX);
    MICRO_OK("9223372036854.7758069", INT64_MAX); /* rounds up to the max */
    MICRO_OK("9223372036854.7758064", INT64_MAX - 1);
    MICRO_ST("9223372036854.775808", KS_PARSE_OVERFLOW);
    MICRO_ST("9223372036854.7758075", KS_PARSE_OVERFLOW); /* rounding overflows */
    MICRO_ST("9223372036855", KS_PARSE_OVERFLOW);
    MICRO_OK("1e12", 1000000000000000000LL);
    MICRO_ST("1e13", KS_PARSE_OVERFLOW);
    MICRO_ST("1e999999999999", KS_PARSE_OVERFLOW);
    MICRO_ST("100000000000000000000000000000", KS_PARSE_OVERFLOW);
    MICRO_OK("0000000000000000000000000000001", 1000000);
}

static void test_micro_rejects(void)
{
    MICRO_ST("", KS_PARSE_EMPTY);
    MICRO_ST("  ", KS_PARSE_EMPTY);
    MICRO_ST("-1", KS_PARSE_NEGATIVE);
    MICRO_ST("-0.0000001", KS_PARSE_NEGATIVE); /* a negative value, however small */
    MICRO_ST("-1e-20", KS_PARSE_NEGATIVE);
    MICRO_ST("1,234", KS_PARSE_NOT_NUMBER);
    MICRO_ST("abc", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1.2.3", KS_PARSE_NOT_NUMBER);
    MICRO_ST("inf", KS_PARSE_NOT_NUMBER);
    MICRO_ST("nan", KS_PARSE_NOT_NUMBER);
    MICRO_ST("-inf", KS_PARSE_NOT_NUMBER);
    MICRO_ST(".", KS_PARSE_NOT_NUMBER);
    MICRO_ST("-", KS_PARSE_NOT_NUMBER);
    MICRO_ST("e5", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1e", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1e+", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1 000", KS_PARSE_NOT_NUMBER);
    MICRO_ST("0x10", KS_PARSE_NOT_NUMBER);
    MICRO_ST("$5", KS_PARSE_NOT_NUMBER);
    MICRO_ST("5%", KS_PARSE_NOT_NUMBER);
    MICRO_ST("--1", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1e5.5", KS_PARSE_NOT_NUMBER);
    {
        /* the value is left alone on failure */
        int64_t v;
        CU_ASSERT(micro("x", &v) == KS_PARSE_NOT_NUMBER && v == -12345);
    }
}

static void test_digits(void)
{
    int64_t v = 0;
    int nd = 0;
    CU_ASSERT(ks_parse_digits("01012000", 8, &v, &nd) == KS_PARSE_OK && v == 1012000 && nd == 8);
    CU_ASSERT(ks_parse_digits(" 110000 ", 8, &v, &nd) == KS_PARSE_OK && v == 110000 && nd == 6);
    CU_ASSERT(ks_parse_digits("0", 1, &v, &nd) == KS_PARSE_OK && v == 0 && nd == 1);
    CU_ASSERT(ks_parse_digits("", 0, &v, &nd) == KS_PARSE_EMPTY);
    CU_ASSERT(ks_parse_digits("12a4", 4, &v, &nd) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_digits("+12", 3, &v, &nd) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_digits("-12", 3, &v, &nd) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_digits("12.0", 4, &v, &nd) == KS_PARSE_NOT_NUMBER);
    CU_ASSERT(ks_parse_digits("12345678901234567890", 20, &v, &nd) == KS_PARSE_OVERFLOW);
}

/* The lengths where the parsers' short path (plain digits, at most 18 of
 * them; amounts with at most 12 + 6 digits) hands over to the general one. */
static void test_short_path_edges(void)
{
    int64_t v = 0;
    int nd = 0;
    MICRO_OK("999999999999.999999", 999999999999999999LL); /* 12 + 6: the short path's largest */
    MICRO_OK("1234567890123.5", 1234567890123500000LL);   /* 13 before the point */
    MICRO_OK("1.2345675", 1234568);                         /* 7 after: rounded half away from 0 */
    MICRO_OK("1.2345665", 1234567);
    MICRO_OK("0000000000000000000001.5", 1500000);          /* leading zeros beyond 12 */
    MICRO_ST("1.2.3", KS_PARSE_NOT_NUMBER);
    MICRO_ST("12a", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1 2", KS_PARSE_NOT_NUMBER);
    MICRO_ST(".", KS_PARSE_NOT_NUMBER);
    MICRO_ST("1.:", KS_PARSE_NOT_NUMBER);                    /* ':' is '9' + 1 */
    MICRO_ST("/5", KS_PARSE_NOT_NUMBER);                     /* '/' is '0' - 1 */
    CU_ASSERT_EQUAL(ks_parse_int64("999999999999999999", 18, &v), KS_PARSE_OK);
    CU_ASSERT_EQUAL(v, 999999999999999999LL);
    CU_ASSERT_EQUAL(ks_parse_int64("9223372036854775807", 19, &v), KS_PARSE_OK);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    v = 7;
    CU_ASSERT_EQUAL(ks_parse_int64("9223372036854775808", 19, &v), KS_PARSE_OVERFLOW);
    CU_ASSERT_EQUAL(ks_parse_int64("20:2", 4, &v), KS_PARSE_NOT_NUMBER);
    CU_ASSERT_EQUAL(v, 7); /* untouched on failure */
    CU_ASSERT_EQUAL(ks_parse_digits("000000000000000042", 18, &v, &nd), KS_PARSE_OK);
    CU_ASSERT(v == 42 && nd == 18);
    CU_ASSERT_EQUAL(ks_parse_digits("0000000000000000042", 19, &v, &nd), KS_PARSE_OK);
    CU_ASSERT(v == 42 && nd == 19);
    CU_ASSERT_EQUAL(ks_parse_digits("8703/1", 6, &v, &nd), KS_PARSE_NOT_NUMBER);
    CU_ASSERT(v == 42 && nd == 19); /* untouched on failure */
}

/* Every length the short path takes (1 to 18 digits, parsed eight at a
 * time), with a non-digit at each position in turn: the bytes on either
 * side of '0'..'9', others with a high nibble of 3, a GBK lead byte whose
 * low nibble is a digit's, NUL.  The values are summed here digit by digit. */
static void test_digits_every_length(void)
{
    static const char digits[] = "917364528091736452";
    static const char bad[] = {'/', ':', ';', '?', '.', 'a', (char)0xB5, (char)0x33 | (char)0x80, '\0'};
    char buf[32];
    for (int n = 1; n <= 18; n++) {
        int64_t want = 0, v = -1;
        int nd = 0;
        for (int i = 0; i < n; i++)
            want = want * 10 + (digits[i] - '0');
        memcpy(buf, digits, (size_t)n);
        CU_ASSERT_EQUAL(ks_parse_digits(buf, (size_t)n, &v, &nd), KS_PARSE_OK);
        CU_ASSERT(v == want && nd == n);
        CU_ASSERT_EQUAL(ks_parse_int64(buf, (size_t)n, &v), KS_PARSE_OK);
        CU_ASSERT_EQUAL(v, want);
        for (int i = 0; i < n; i++) {
            for (size_t b = 0; b < sizeof bad; b++) {
                memcpy(buf, digits, (size_t)n);
                buf[i] = bad[b];
                if (ks_parse_digits(buf, (size_t)n, &v, &nd) != KS_PARSE_NOT_NUMBER)
                    fprintf(stderr, "\n  digits: byte 0x%02x at %d of %d accepted\n",
                            (unsigned char)bad[b], i, n);
                CU_ASSERT_EQUAL(ks_parse_digits(buf, (size_t)n, &v, &nd), KS_PARSE_NOT_NUMBER);
            }
        }
    }
}

/* The inline parsers' fast paths give what the general parsers give, on
 * random strings over digits, point, signs, exponents, blanks and bytes
 * next to the digits (a fixed LCG: the same strings every run). */
static void test_fast_paths_agree(void)
{
    static const char alphabet[] = "0123456789000999..+-eE /:\t";
    uint64_t state = 88172645463325252ULL;
    char buf[32];
    int disagreements = 0;
    for (int t = 0; t < 200000; t++) {
        size_t n;
        int64_t a = -7, b = -7;
        int na = -7, nb = -7;
        ks_parse_status sa, sb;
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        n = (size_t)(state >> 59) % 25;
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            /* mostly digits, so that long valid numbers come up */
            buf[i] = (state >> 60) < 11 ? (char)('0' + (state >> 33) % 10)
                                        : alphabet[(state >> 33) % (sizeof alphabet - 1)];
        }
        sa = ks_parse_micro(buf, n, &a);
        sb = ks_parse_micro_general(buf, n, &b);
        disagreements += sa != sb || (sa == KS_PARSE_OK && a != b);
        a = b = -7;
        sa = ks_parse_int64(buf, n, &a);
        sb = ks_parse_int64_general(buf, n, &b);
        disagreements += sa != sb || (sa == KS_PARSE_OK && a != b);
        a = b = -7;
        sa = ks_parse_digits(buf, n, &a, &na);
        sb = ks_parse_digits_general(buf, n, &b, &nb);
        disagreements += sa != sb || (sa == KS_PARSE_OK && (a != b || na != nb));
        if (disagreements == 1) {
            fprintf(stderr, "\n  fast and general parsers disagree on \"%.*s\"\n", (int)n, buf);
            disagreements++;
        }
    }
    CU_ASSERT_EQUAL(disagreements, 0);
}

static void test_status_text(void)
{
    CU_ASSERT_STRING_EQUAL(ks_parse_status_text(KS_PARSE_OK), "ok");
    CU_ASSERT_STRING_EQUAL(ks_parse_status_text(KS_PARSE_EMPTY), "empty");
    CU_ASSERT_STRING_EQUAL(ks_parse_status_text(KS_PARSE_NOT_NUMBER), "not a number");
    CU_ASSERT_STRING_EQUAL(ks_parse_status_text(KS_PARSE_NEGATIVE), "negative");
    CU_ASSERT_STRING_EQUAL(ks_parse_status_text(KS_PARSE_OVERFLOW), "too large");
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"trim", test_trim},
        {"int64", test_int64},
        {"micro plain", test_micro_plain},
        {"micro exponent", test_micro_exponent},
        {"micro rounding", test_micro_rounding},
        {"micro overflow", test_micro_overflow},
        {"micro rejects", test_micro_rejects},
        {"digits", test_digits},
        {"short path edges", test_short_path_edges},
        {"digits at every length", test_digits_every_length},
        {"fast paths agree", test_fast_paths_agree},
        {"status text", test_status_text},
        {NULL, NULL},
    };
    return ks_test_run("parse", cases);
}
