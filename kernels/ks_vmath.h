/* ks_vmath.h - elementwise exp, log, log1p, erfc and erfcx over arrays,
 * vectorised on the widest vector unit the CPU has.
 *
 * Why: a probit Newton iteration needs erfc, exp and a log for every row;
 * libm evaluates them one at a time and they were half of the iteration's
 * time.  exp, log, log1p and erfc are SLEEF's vector functions (Debian's
 * libsleef), accurate to 1.0 ULP (exp, log, log1p) and 1.5 ULP (erfc) over
 * the whole range, tails included.
 *
 * erfcx(x) = exp(x^2) erfc(x) is ours (SLEEF has none) and about 6 times
 * faster than SLEEF's erfc on AVX-512: the probit kernel gets erfc(a) =
 * exp(-a^2) erfcx(a) and the Mills ratio from it.  It is a polynomial of
 * degree 9 in u = K/(K + a), K = 3.25, on each of 16 equal pieces of
 * (0, 1], so one formula reaches from a = 0 to the 1/(a sqrt(pi)) tail; the
 * coefficients are derived with mpmath by kernels/gen_erfcx.py (which
 * explains the choices) into kernels/ks_erfcx_table.h, and the code is
 * kernels/ks_vmath_erfcx.h.  Relative error against mpmath (50 digits):
 *   x >= 0   about an ULP: at most 1.43e-16 (0.89 ULP) on [0, 40] and
 *            1.86e-16 (1.22 ULP) above, up to 1e300, in 2.3 million points
 *            (tests/unit/test_vmath.c holds it to 4e-16); erfcx(+inf) = 0;
 *            the result is subnormal beyond x = 2.5e307
 *   x < 0    2 exp(x^2) - erfcx(-x), with our own exp: at most 3.0e-16 in
 *            30000 points (tested to 4e-16); +inf below x = -26.6287,
 *            where it overflows
 *   NaN      NaN (x itself)
 * Unlike SLEEF's functions it gives the same bits on every instruction set
 * (AVX-512F, AVX2+FMA, SSE2, and the scalar code of other CPUs): all of them
 * run the same exactly rounded operations (+ - * / and fma) in the same
 * order, so a cluster that mixes CPUs gets the same erfcx everywhere.  On
 * SSE2 it runs one element at a time with libm's fma (slow there, exact).
 *
 * Every element goes through the same vector function whatever its position
 * (the tail of an array is padded to a whole vector), so a value never
 * depends on how rows are split among ranks and threads.  The unit is chosen
 * once per process from the CPU (AVX-512F, then AVX2+FMA, then SSE2); on one
 * machine the results are therefore always the same bits. */
#ifndef KS_VMATH_H
#define KS_VMATH_H

#include <stdint.h>

typedef enum { KS_VM_EXP, KS_VM_LOG, KS_VM_LOG1P, KS_VM_ERFC, KS_VM_ERFCX } ks_vm_fn;

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
