/* ks_vmath_isa.h - the loops of ks_vmath compiled for one instruction set
 * each (ks_vmath_avx2.c, ks_vmath_avx512.c); call only on a CPU that has it. */
#ifndef KS_VMATH_ISA_H
#define KS_VMATH_ISA_H

#include "ks_vmath.h"

void ks_vm_apply_avx2(ks_vm_fn fn, int64_t n, const double *in, double *out);
void ks_vm_apply_avx512(ks_vm_fn fn, int64_t n, const double *in, double *out);

#endif
