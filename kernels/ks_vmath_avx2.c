/* ks_vmath_avx2.c - ks_vmath's loops for -mavx2 -mfma (see ks_vmath_isa.h); this file
 * is compiled with -mavx2 -mfma and entered only when the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <sleef.h>

#include "ks_vmath_isa.h"
#include "ks_vmath_loop.h"

/* erfcx (ks_vmath_erfcx.h) on 4 lanes.  A coefficient of each lane's piece
 * j is picked from its row of 16 without a gather (slow on AMD): each
 * quarter of the row is permuted with vpermd (two 32-bit halves per double,
 * indices 2(j mod 4) and 2(j mod 4) + 1), then bits 2 and 3 of j choose the
 * quarter by blends (blendv reads the sign bit, so j is shifted up to it). */
typedef struct {
    __m256i perm;        /* vpermd indices within a quarter */
    __m256d bit2, bit3;  /* bit 2 and bit 3 of j in the sign bit */
} avx2_piece;

static inline avx2_piece avx2_piece_of(__m256d m) /* m = j + 2^52 */
{
    __m256i b = _mm256_castpd_si256(m);
    __m256i lo = _mm256_slli_epi64(_mm256_and_si256(b, _mm256_set1_epi64x(3)), 1);
    __m256i hi = _mm256_slli_epi64(_mm256_add_epi64(lo, _mm256_set1_epi64x(1)), 32);
    avx2_piece p;
    p.perm = _mm256_or_si256(lo, hi);
    p.bit2 = _mm256_castsi256_pd(_mm256_slli_epi64(b, 61));
    p.bit3 = _mm256_castsi256_pd(_mm256_slli_epi64(b, 60));
    return p;
}

static inline __m256d avx2_quarter(const double *quarter, __m256i perm)
{
    __m256 v = _mm256_castpd_ps(_mm256_load_pd(quarter));
    return _mm256_castps_pd(_mm256_permutevar8x32_ps(v, perm));
}

static inline __m256d avx2_tab(const double *row, avx2_piece p)
{
    __m256d lo = _mm256_blendv_pd(avx2_quarter(row, p.perm), avx2_quarter(row + 4, p.perm), p.bit2);
    __m256d hi =
        _mm256_blendv_pd(avx2_quarter(row + 8, p.perm), avx2_quarter(row + 12, p.perm), p.bit2);
    return _mm256_blendv_pd(lo, hi, p.bit3);
}

#define KS_V __m256d
#define KS_M __m256d
#define KS_VI avx2_piece
#define KS_ERFCX_FN erfcx_avx2
#define KS_V_SET(c) _mm256_set1_pd(c)
#define KS_V_ADD(a, b) _mm256_add_pd(a, b)
#define KS_V_SUB(a, b) _mm256_sub_pd(a, b)
#define KS_V_MUL(a, b) _mm256_mul_pd(a, b)
#define KS_V_DIV(a, b) _mm256_div_pd(a, b)
#define KS_V_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define KS_V_FNMA(a, b, c) _mm256_fnmadd_pd(a, b, c)
#define KS_V_MIN(a, b) _mm256_min_pd(a, b)
#define KS_V_MAX(a, b) _mm256_max_pd(a, b)
#define KS_V_ABS(a) _mm256_andnot_pd(_mm256_set1_pd(-0.0), a)
#define KS_V_LT(a, b) _mm256_cmp_pd(a, b, _CMP_LT_OQ)
#define KS_V_EQ(a, b) _mm256_cmp_pd(a, b, _CMP_EQ_OQ)
#define KS_V_ISNAN(a) _mm256_cmp_pd(a, a, _CMP_UNORD_Q)
#define KS_V_IF(m, a, b) _mm256_blendv_pd(b, a, m)
#define KS_V_ANY(m) (_mm256_movemask_pd(m) != 0)
#define KS_V_PIECE(m) avx2_piece_of(m)
#define KS_V_TAB(row, j) avx2_tab(row, j)
#define KS_V_POW2M1(m)                                                                             \
    _mm256_castsi256_pd(_mm256_add_epi64(_mm256_slli_epi64(_mm256_castpd_si256(m), 52),            \
                                         _mm256_set1_epi64x(1022LL << 52)))
#include "ks_vmath_erfcx.h"
_Static_assert(KS_ERFCX_PIECES == 16, "the look-up above takes rows of 16");

void ks_vm_apply_avx2(ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    switch (fn) {
    case KS_VM_EXP: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_expd4_u10avx2); break;
    case KS_VM_LOG: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_logd4_u10avx2); break;
    case KS_VM_LOG1P:
        KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_log1pd4_u10avx2);
        break;
    case KS_VM_ERFC: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_erfcd4_u15avx2); break;
    case KS_VM_ERFCX: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, erfcx_avx2); break;
    }
}
#endif
