/* ks_vmath_erfcx.h - erfcx(x) = exp(x^2) erfc(x), written once over a small
 * vector abstraction and included by each instruction-set file of ks_vmath,
 * so the AVX-512, AVX2 and scalar versions are the same sequence of exactly
 * rounded operations (+ - * / and fma, plus exact selections) and give the
 * same bits.  Coefficients: ks_erfcx_table.h (made by gen_erfcx.py, which
 * explains the choice of variable, pieces and degree).
 *
 * Before including, define (x86 semantics; a scalar version spells them out):
 *   KS_V, KS_M, KS_VI       vector, comparison mask, piece index types
 *   KS_ERFCX_FN             the name of the function to define
 *   KS_V_SET(c)             c in every lane
 *   KS_V_ADD/SUB/MUL/DIV(a, b)
 *   KS_V_FMA(a, b, c)       a * b + c, one rounding
 *   KS_V_FNMA(a, b, c)      c - a * b, one rounding
 *   KS_V_MIN(a, b)          a < b ? a : b   (minpd: b when either is NaN)
 *   KS_V_MAX(a, b)          a > b ? a : b
 *   KS_V_ABS(a)             a with the sign bit cleared
 *   KS_V_LT(a, b), KS_V_EQ(a, b), KS_V_ISNAN(a)   masks
 *   KS_V_IF(m, a, b)        m ? a : b per lane
 *   KS_V_ANY(m)             whether any lane of m is set
 *   KS_V_PIECE(m)           the piece index from m = j + 2^52 (j = 0..15)
 *   KS_V_TAB(row, j)        row[j] per lane (row: 16 doubles, 64-byte aligned)
 *   KS_V_POW2M1(m)          2^(k-1) from m = k + 1.5 * 2^52 (0 <= k <= 1024)
 * All are undefined again at the end, ready for the next instance. */
#include "ks_erfcx_table.h"

#ifndef KS_ERFCX_CAT
#define KS_ERFCX_CAT_(a, b) a##b
#define KS_ERFCX_CAT(a, b) KS_ERFCX_CAT_(a, b) /* KS_ERFCX_FN expanded first */
#endif
#ifdef __clang__
/* no expression below multiplies and adds, but clang would fuse a * b + c
 * even under -std=c17, and a fused and an unfused path differ in bits */
#pragma STDC FP_CONTRACT OFF
#endif

/* erfcx(a) for a = |x| >= 0 (a may be +inf or NaN: the caller mends NaN). */
static inline KS_V KS_ERFCX_CAT(KS_ERFCX_FN, _pos)(KS_V a)
{
    /* u = K/(K + a) to about 2^-100, as q + d: t + e = a + K exactly (Fast2Sum,
     * the larger operand first), r = K - q t exactly (the remainder of a
     * correctly rounded division is a double, and fma computes it), so
     * K/(t + e) = q + (r - q e)/(t + e), and q/K ~ 1/t is close enough for
     * the correction.  Plain u = K/(K + a) would carry up to 2.2e-16 relative
     * error, amplified K 2/sqrt(pi) = 3.7 times in erfcx near a = 0. */
    KS_V k = KS_V_SET(KS_ERFCX_K);
    KS_V t = KS_V_ADD(a, k);
    KS_V e = KS_V_ADD(KS_V_SUB(KS_V_MAX(a, k), t), KS_V_MIN(a, k));
    KS_V q = KS_V_DIV(k, t);
    KS_V r = KS_V_FNMA(q, t, k);
    KS_V d = KS_V_MUL(KS_V_FNMA(q, e, r), KS_V_MUL(q, KS_V_SET(KS_ERFCX_INV_K)));
    /* the piece: j = round(16 q - 1/2) clamped to 0..15, rounded by adding
     * 2^52 (NaN clamps to 0: MAX returns its second operand) */
    KS_V y = KS_V_FMA(q, KS_V_SET(KS_ERFCX_PIECES), KS_V_SET(-0.5));
    y = KS_V_MIN(KS_V_MAX(y, KS_V_SET(0.0)), KS_V_SET(KS_ERFCX_PIECES - 1));
    KS_VI j = KS_V_PIECE(KS_V_ADD(y, KS_V_SET(0x1p52)));
    /* s = u - centre = sh + d: q - centre is exact (q within a factor 2 of
     * the centre on pieces 1..15; the centre of piece 0 is 0) */
    KS_V sh = KS_V_SUB(q, KS_V_TAB(KS_ERFCX_TAB[KS_ERFCX_CENTRE], j));
    KS_V s = KS_V_ADD(sh, d);
    KS_V p = KS_V_TAB(KS_ERFCX_TAB[KS_ERFCX_C1 + KS_ERFCX_DEG - 1], j);
#pragma GCC unroll 16 /* straight-line code: the permutes then keep their rows in registers */
    for (int i = KS_ERFCX_DEG - 2; i >= 0; i--)
        p = KS_V_FMA(p, s, KS_V_TAB(KS_ERFCX_TAB[KS_ERFCX_C1 + i], j));
    /* the last step p s + c0 with s unrounded (sh + d) and the constant term
     * as hi + lo, hi added last, so neither s nor c0 adds a rounding of its
     * own (piece 0: p s, rounded once) */
    p = KS_V_FMA(p, sh, KS_V_FMA(p, d, KS_V_TAB(KS_ERFCX_TAB[KS_ERFCX_C0LO], j)));
    p = KS_V_ADD(KS_V_TAB(KS_ERFCX_TAB[KS_ERFCX_C0HI], j), p);
    /* a = inf made e (inf - inf) and so p NaN; erfcx(inf) = 0 */
    return KS_V_IF(KS_V_EQ(a, KS_V_SET((double)INFINITY)), KS_V_SET(0.0), p);
}

/* erfcx(x) = 2 exp(x^2) - E for x < 0, E = erfcx(-x) (exp is ours too, for
 * the same bits everywhere): x^2 = h + l exactly, h = k ln2 + r' (r' exact:
 * a multiple of 2^-54 below 1/2 in size), r = r' + l rounded, exp(r) = 1 + t
 * by its Taylor polynomial, and the result 4 (2^(k-1) (1 + t) - E/4) with
 * one rounding for the last two terms, so 1 + t is never rounded (that
 * would cost an ULP near x = 0-, where the result is 1).  x is clamped to
 * -27 (so that l stays finite) and h to 710: beyond h = 709.09 the result
 * overflows anyway, to inf, as it should. */
static inline KS_V KS_ERFCX_CAT(KS_ERFCX_FN, _neg)(KS_V x, KS_V e)
{
    x = KS_V_MAX(x, KS_V_SET(-27.0));
    KS_V h = KS_V_MUL(x, x);
    KS_V l = KS_V_FMA(x, x, KS_V_SUB(KS_V_SET(0.0), h));
    h = KS_V_MIN(h, KS_V_SET(710.0));
    KS_V m = KS_V_FMA(h, KS_V_SET(KS_ERFCX_INV_LN2), KS_V_SET(0x1.8p52));
    KS_V kd = KS_V_SUB(m, KS_V_SET(0x1.8p52));
    KS_V r = KS_V_FNMA(kd, KS_V_SET(KS_ERFCX_LN2_HI), h);
    r = KS_V_ADD(KS_V_FNMA(kd, KS_V_SET(KS_ERFCX_LN2_LO), r), l);
    KS_V p = KS_V_SET(KS_ERFCX_EXP_C[KS_ERFCX_EXP_DEG]);
#pragma GCC unroll 16
    for (int i = KS_ERFCX_EXP_DEG - 1; i >= 1; i--)
        p = KS_V_FMA(p, r, KS_V_SET(KS_ERFCX_EXP_C[i]));
    KS_V t = KS_V_MUL(p, r);
    KS_V scale = KS_V_POW2M1(m);
    KS_V y = KS_V_FMA(scale, t, KS_V_SUB(scale, KS_V_MUL(e, KS_V_SET(0.25))));
    return KS_V_MUL(y, KS_V_SET(4.0));
}

/* erfcx(x) for every x: NaN gives NaN (x itself), x < 0 the branch above,
 * computed only when a lane needs it. */
static inline KS_V KS_ERFCX_FN(KS_V x)
{
    KS_V res = KS_ERFCX_CAT(KS_ERFCX_FN, _pos)(KS_V_ABS(x));
    KS_M neg = KS_V_LT(x, KS_V_SET(0.0));
    if (KS_V_ANY(neg))
        res = KS_V_IF(neg, KS_ERFCX_CAT(KS_ERFCX_FN, _neg)(x, res), res);
    return KS_V_IF(KS_V_ISNAN(x), x, res);
}

#undef KS_V
#undef KS_M
#undef KS_VI
#undef KS_ERFCX_FN
#undef KS_V_SET
#undef KS_V_ADD
#undef KS_V_SUB
#undef KS_V_MUL
#undef KS_V_DIV
#undef KS_V_FMA
#undef KS_V_FNMA
#undef KS_V_MIN
#undef KS_V_MAX
#undef KS_V_ABS
#undef KS_V_LT
#undef KS_V_EQ
#undef KS_V_ISNAN
#undef KS_V_IF
#undef KS_V_ANY
#undef KS_V_PIECE
#undef KS_V_TAB
#undef KS_V_POW2M1
