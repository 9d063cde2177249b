/* ks_vmath_avx2.c - ks_vmath's loops for -mavx2 -mfma (see ks_vmath_isa.h); this file
 * is compiled with -mavx2 -mfma and entered only when the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <sleef.h>

#include "ks_vmath_isa.h"
#include "ks_vmath_loop.h"

void ks_vm_apply_avx2(ks_vm_fn fn, int64_t n, const double *in, double *out)
{
    switch (fn) {
    case KS_VM_EXP: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_expd4_u10avx2); break;
    case KS_VM_LOG: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_logd4_u10avx2); break;
    case KS_VM_LOG1P:
        KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_log1pd4_u10avx2);
        break;
    case KS_VM_ERFC: KS_VM_LOOP(4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_erfcd4_u15avx2); break;
    }
}
#endif
