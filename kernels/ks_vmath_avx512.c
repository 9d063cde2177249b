/* ks_vmath_avx512.c - ks_vmath's loops for -mavx512f (see ks_vmath_isa.h); this file
 * is compiled with -mavx512f and entered only when the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <sleef.h>

#include "ks_vmath_isa.h"
#include "ks_vmath_loop.h"

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
    }
}
#endif
