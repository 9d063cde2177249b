/* ks_vmath.c - see ks_vmath.h.  Each instruction set has its own loop in a
 * file compiled for it (ks_vmath_avx2.c, ks_vmath_avx512.c: CMakeLists.txt
 * gives them -mavx2 -mfma and -mavx512f, which sleef.h needs to declare the
 * wide functions) and entered only after the CPU has been asked
 * (__builtin_cpu_supports), so the rest of kspill stays baseline x86-64.
 * Elsewhere than x86-64 SLEEF's scalar functions are used.  erfcx is ours
 * (ks_vmath_erfcx.h), instantiated in each of those files and, one element
 * at a time, here. */
#include "ks_vmath.h"
#include "ks_vmath_isa.h"

#include <math.h>
#include <sleef.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define KS_VM_X86 1
#include <immintrin.h>
#endif

/* erfcx one element at a time (ks_vmath_erfcx.h), for SSE2, which has no
 * fma instruction, and for CPUs other than x86-64: the same operations as
 * the vector versions, fma() spelled out (-std=c17 contracts nothing), so
 * the same bits. */
static inline double scalar_min(double a, double b)
{
    return a < b ? a : b;
}

static inline double scalar_max(double a, double b)
{
    return a > b ? a : b;
}

static inline uint64_t scalar_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline double scalar_from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

#define KS_V double
#define KS_M int
#define KS_VI int
#define KS_ERFCX_FN erfcx_scalar
#define KS_V_SET(c) ((double)(c))
#define KS_V_ADD(a, b) ((a) + (b))
#define KS_V_SUB(a, b) ((a) - (b))
#define KS_V_MUL(a, b) ((a) * (b))
#define KS_V_DIV(a, b) ((a) / (b))
#define KS_V_FMA(a, b, c) fma(a, b, c)
#define KS_V_FNMA(a, b, c) fma(-(a), b, c)
#define KS_V_MIN(a, b) scalar_min(a, b)
#define KS_V_MAX(a, b) scalar_max(a, b)
#define KS_V_ABS(a) fabs(a)
#define KS_V_LT(a, b) ((a) < (b))
#define KS_V_EQ(a, b) ((a) == (b))
#define KS_V_ISNAN(a) isnan(a)
#define KS_V_IF(m, a, b) ((m) ? (a) : (b))
#define KS_V_ANY(m) (m)
#define KS_V_PIECE(m) ((int)(scalar_bits(m) & 15))
#define KS_V_TAB(row, j) ((row)[j])
#define KS_V_POW2M1(m) scalar_from_bits((scalar_bits(m) << 52) + (UINT64_C(1022) << 52))
#include "ks_vmath_erfcx.h"

static void erfcx_loop(int64_t n, const double *in, double *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = erfcx_scalar(in[i]);
}

#ifdef KS_VM_X86

#include "ks_vmath_loop.h"

static void apply_sse2(ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    switch (fn) {
    case KS_VM_EXP: KS_VM_LOOP(2, _mm_loadu_pd, _mm_storeu_pd, Sleef_expd2_u10sse2); break;
    case KS_VM_LOG: KS_VM_LOOP(2, _mm_loadu_pd, _mm_storeu_pd, Sleef_logd2_u10sse2); break;
    case KS_VM_LOG1P: KS_VM_LOOP(2, _mm_loadu_pd, _mm_storeu_pd, Sleef_log1pd2_u10sse2); break;
    case KS_VM_ERFC: KS_VM_LOOP(2, _mm_loadu_pd, _mm_storeu_pd, Sleef_erfcd2_u15sse2); break;
    case KS_VM_ERFCX: erfcx_loop(n, in, out); break;
    }
}

static ks_vm_isa widest(void)
{
    if (__builtin_cpu_supports("avx512f"))
        return KS_VM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return KS_VM_ISA_AVX2;
    return KS_VM_ISA_SSE2;
}

int ks_vm_apply_isa(ks_vm_isa isa, ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    ks_vm_isa have = widest();
    if (isa == KS_VM_ISA_AUTO)
        isa = have;
    if (isa < have) /* asked for a wider unit than the CPU has */
        return -1;
    switch (isa) {
    case KS_VM_ISA_AVX512: ks_vm_apply_avx512(fn, n, in, out); break;
    case KS_VM_ISA_AVX2: ks_vm_apply_avx2(fn, n, in, out); break;
    default: apply_sse2(fn, n, in, out); break;
    }
    return 0;
}

const char *ks_vm_isa_name(void)
{
    switch (widest()) {
    case KS_VM_ISA_AVX512: return "avx512f";
    case KS_VM_ISA_AVX2: return "avx2";
    default: return "sse2";
    }
}

#else /* not x86-64: SLEEF's scalar functions, the same everywhere */

int ks_vm_apply_isa(ks_vm_isa isa, ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    if (isa != KS_VM_ISA_AUTO && isa != KS_VM_ISA_SSE2)
        return -1;
    if (fn == KS_VM_ERFCX) {
        erfcx_loop(n, in, out);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = in[i];
        out[i] = fn == KS_VM_EXP ? Sleef_exp_u10(v)
                 : fn == KS_VM_LOG ? Sleef_log_u10(v)
                 : fn == KS_VM_LOG1P ? Sleef_log1p_u10(v) : Sleef_erfc_u15(v);
    }
    return 0;
}

const char *ks_vm_isa_name(void)
{
    return "scalar";
}

#endif

void ks_vm_apply(ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    (void)ks_vm_apply_isa(KS_VM_ISA_AUTO, fn, n, in, out);
}
