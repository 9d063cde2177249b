/* ks_vmath_avx512.c - ks_vmath's loops for -mavx512f (see ks_vmath_isa.h); this file
 * is compiled with -mavx512f and entered only when the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <sleef.h>

#include "ks_vmath_isa.h"
#include "ks_vmath_loop.h"

/* erfcx (ks_vmath_erfcx.h) on 8 lanes; a coefficient of each lane's piece is
 * picked from a row of 16 (two registers) by one permute, not a gather
 * (slow on AMD). */
#define KS_V __m512d
#define KS_M __mmask8
#define KS_VI __m512i
#define KS_ERFCX_FN erfcx_avx512
#define KS_V_SET(c) _mm512_set1_pd(c)
#define KS_V_ADD(a, b) _mm512_add_pd(a, b)
#define KS_V_SUB(a, b) _mm512_sub_pd(a, b)
#define KS_V_MUL(a, b) _mm512_mul_pd(a, b)
#define KS_V_DIV(a, b) _mm512_div_pd(a, b)
#define KS_V_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define KS_V_FNMA(a, b, c) _mm512_fnmadd_pd(a, b, c)
#define KS_V_MIN(a, b) _mm512_min_pd(a, b)
#define KS_V_MAX(a, b) _mm512_max_pd(a, b)
#define KS_V_ABS(a) _mm512_abs_pd(a)
#define KS_V_LT(a, b) _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ)
#define KS_V_EQ(a, b) _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ)
#define KS_V_ISNAN(a) _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q)
#define KS_V_IF(m, a, b) _mm512_mask_blend_pd(m, b, a)
#define KS_V_ANY(m) ((m) != 0)
#define KS_V_PIECE(m) _mm512_castpd_si512(m) /* the permute reads bits 0-3 */
#define KS_V_TAB(row, j) _mm512_permutex2var_pd(_mm512_load_pd(row), j, _mm512_load_pd((row) + 8))
#define KS_V_POW2M1(m)                                                                             \
    _mm512_castsi512_pd(_mm512_add_epi64(_mm512_slli_epi64(_mm512_castpd_si512(m), 52),            \
                                         _mm512_set1_epi64(1022LL << 52)))
#include "ks_vmath_erfcx.h"
_Static_assert(KS_ERFCX_PIECES == 16, "the look-up above takes rows of 16");

void ks_vm_apply_avx512(ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    switch (fn) {
    case KS_VM_EXP: KS_VM_LOOP(8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_expd8_u10avx512f); break;
    case KS_VM_LOG: KS_VM_LOOP(8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_logd8_u10avx512f); break;
    case KS_VM_LOG1P:
        KS_VM_LOOP(8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_log1pd8_u10avx512f);
        break;
    case KS_VM_ERFC:
        KS_VM_LOOP(8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_erfcd8_u15avx512f);
        break;
    case KS_VM_ERFCX: KS_VM_LOOP(8, _mm512_loadu_pd, _mm512_storeu_pd, erfcx_avx512); break;
    }
}
#endif
