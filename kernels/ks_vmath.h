/* ks_vmath.h - elementwise exp, log, log1p and erfc over arrays, vectorised
 * with SLEEF (Debian's libsleef) on the widest vector unit the CPU has.
 *
 * Why: a probit Newton iteration needs erfc, exp and a log for every row;
 * libm evaluates them one at a time and they were half of the iteration's
 * time.  SLEEF's vector functions are accurate to 1.0 ULP (exp, log, log1p)
 * and 1.5 ULP (erfc) over the whole range, tails included.
 *
 * Every element goes through the same vector function whatever its position
 * (the tail of an array is padded to a whole vector), so a value never
 * depends on how rows are split among ranks and threads.  The unit is chosen
 * once per process from the CPU (AVX-512F, then AVX2+FMA, then SSE2); on one
 * machine the results are therefore always the same bits. */
#ifndef KS_VMATH_H
#define KS_VMATH_H

#include <stdint.h>

typedef enum { KS_VM_EXP, KS_VM_LOG, KS_VM_LOG1P, KS_VM_ERFC } ks_vm_fn;

/* Instruction sets, widest first.  KS_VM_ISA_AUTO picks the widest present. */
typedef enum { KS_VM_ISA_AUTO, KS_VM_ISA_AVX512, KS_VM_ISA_AVX2, KS_VM_ISA_SSE2 } ks_vm_isa;

/* out[i] = fn(in[i]) for i < n; in and out may be the same array. */
void ks_vm_apply(ks_vm_fn fn, int64_t n, const double *in, double *out);

/* The same on a given instruction set (tests compare them); returns -1 and
 * does nothing when the CPU lacks it. */
int ks_vm_apply_isa(ks_vm_isa isa, ks_vm_fn fn, int64_t n, const double *in, double *out);

/* The instruction set ks_vm_apply uses on this CPU, as a name ("avx512f"). */
const char *ks_vm_isa_name(void);

#endif
